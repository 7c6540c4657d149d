"""The search panel: Ctrl+F, ranked hits with highlighted (escaped) snippets, filters,
inline syntax errors, paging, stale answers dropped, and open-in-context."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt

import ui.views.search as search_view
from tests.ui.conftest import T0, seed_case
from ui.views.search import HitRole, HtmlRole, SearchResultsModel
from workstation.analysis.search import SearchHit, SearchResults


def _open_case(qtbot, window, case_id: int) -> None:  # noqa: ANN001
    window.case_navigator.reload()
    window.case_navigator.select_case_later(case_id)
    qtbot.waitUntil(lambda: window.hub.case_id == case_id, timeout=5000)


def _search(qtbot, panel, text: str) -> None:  # noqa: ANN001
    answers: list[int] = []
    panel.searched.connect(answers.append)
    panel.query_edit.setFocus()
    panel.query_edit.clear()
    qtbot.keyClicks(panel.query_edit, text)
    qtbot.waitUntil(lambda: bool(answers) and panel.request is not None and panel.request.text == text,
                    timeout=5000)
    panel.searched.disconnect(answers.append)


def _double_click_row(qtbot, view, row: int) -> None:  # noqa: ANN001
    view.scrollTo(view.model().index(row, 0))
    rect = view.visualRect(view.model().index(row, 0))
    assert view.viewport().rect().contains(rect.center())
    # as a real double click: press/release first (the view pairs the double click with it)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_ctrl_f_opens_the_panel_and_focuses_the_box(qtbot, window, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=2)
    _open_case(qtbot, window, ids["case"])
    assert window.docks["search"].isHidden(), "the panel waits until it is asked for"
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    window.entity_table.view.setFocus()
    qtbot.keyClick(window.entity_table.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.search_panel.query_edit.hasFocus(), timeout=2000)
    assert not window.docks["search"].isHidden()


def test_typing_shows_ranked_hits_with_escaped_highlighted_snippets(qtbot, window, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=3)
    ev = ws.add_event(ids["case"], "message", T0 + timedelta(hours=5), title="Meeting",
                      body="burner handover at the <b>dock</b> gate, bring cash").id
    window.focus_search()
    panel = window.search_panel
    _search(qtbot, panel, "handover")
    model = panel.model
    assert model.rowCount() == 1
    hit = model.data(model.index(0, 0), HitRole)
    assert (hit.kind, hit.id, hit.case_number) == ("event", ev, "2024-ICE-0042")
    rich = model.data(model.index(0, 0), HtmlRole)
    assert "<b>handover</b>" in rich, rich
    assert "&lt;b&gt;dock&lt;/b&gt;" in rich, "markup written in evidence is shown as text, never rendered"
    assert model.data(model.index(0, 1)) == "Message"
    assert model.data(model.index(0, 2)) == "2024-ICE-0042"
    assert "1 match" in panel.status_text()

    _search(qtbot, panel, "+1 (202) 555-0142")  # an identifier typed another way finds the phone
    kinds = {model.data(model.index(r, 0), HitRole).kind for r in range(model.rowCount())}
    assert "entity" in kinds


def test_bad_syntax_is_explained_inline_without_a_dialog(qtbot, window, ws) -> None:  # noqa: ANN001
    seed_case(ws, events=2)
    window.focus_search()
    panel = window.search_panel
    messages: list[str] = []
    panel.failed.connect(messages.append)
    qtbot.keyClicks(panel.query_edit, '"unclosed phrase')
    qtbot.waitUntil(lambda: bool(messages), timeout=5000)
    assert panel.status_is_error()
    assert "never closed" in panel.status_text() and "column 1" in panel.status_text()
    assert panel.model.rowCount() == 0
    assert window.active_dialog is None
    # fixing the query clears the message (the conftest fails the test if a dialog was shown)
    qtbot.keyClick(panel.query_edit, Qt.Key.Key_QuoteDbl)
    qtbot.waitUntil(lambda: not panel.status_is_error(), timeout=5000)


def test_only_the_answer_to_the_last_query_is_shown(qtbot, session, ws) -> None:  # noqa: ANN001
    seed_case(ws, events=6)
    ws.add_event(ws.find_case("2024-ICE-0042").id, "note", T0, title="handover planned")
    panel = search_view.SearchPanelWidget(session)
    qtbot.addWidget(panel)
    shown: list[int] = []
    panel.searched.connect(shown.append)
    for text in ("message", "mess", "message 4", "handover"):
        panel.set_query(text)
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    qtbot.wait(200)
    titles = [panel.model.hit(r).title for r in range(panel.model.rowCount())]
    assert titles == ["handover planned"], titles
    assert len(shown) == 1, "answers to older queries are dropped"


def test_scope_kind_and_date_filters(qtbot, window, ws) -> None:  # noqa: ANN001
    a = seed_case(ws, events=3)
    b = seed_case(ws, "2024-ICE-0043", events=3)
    _open_case(qtbot, window, a["case"])
    panel = window.search_panel
    window.focus_search()
    _search(qtbot, panel, "message")
    cases = {panel.model.hit(r).case_id for r in range(panel.model.rowCount())}
    assert cases == {a["case"], b["case"]}, "all cases by default"

    answers: list[int] = []
    panel.searched.connect(answers.append)
    panel.scope_combo.setCurrentIndex(panel.scope_combo.findData("case"))
    qtbot.waitUntil(lambda: bool(answers), timeout=5000)
    assert {panel.model.hit(r).case_id for r in range(panel.model.rowCount())} == {a["case"]}

    answers.clear()
    _search(qtbot, panel, "testperson")
    assert {panel.model.hit(r).kind for r in range(panel.model.rowCount())} == {"entity"}
    answers.clear()
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findText("Events"))
    qtbot.waitUntil(lambda: bool(answers), timeout=5000)
    assert panel.model.rowCount() == 0 and "No matches in this case" in panel.status_text()

    answers.clear()
    _search(qtbot, panel, "message")
    assert panel.model.rowCount() == 3
    answers.clear()
    panel.from_edit.setDate(panel.from_edit.date().fromString("2023-01-01", "yyyy-MM-dd"))
    panel.to_edit.setDate(panel.to_edit.date().fromString("2023-12-31", "yyyy-MM-dd"))
    panel.dates_check.setChecked(True)  # every message is from March 2024
    qtbot.waitUntil(lambda: bool(answers) and panel.model.rowCount() == 0, timeout=5000)
    answers.clear()
    panel.to_edit.setDate(panel.to_edit.date().fromString("2024-03-01", "yyyy-MM-dd"))
    qtbot.waitUntil(lambda: bool(answers) and panel.model.rowCount() == 3, timeout=5000)


def test_more_hits_page_in_and_a_capped_total_says_so(qtbot, session, ws, monkeypatch) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=0)
    for i in range(120):
        ws.add_event(ids["case"], "message", T0 + timedelta(minutes=i), title=f"transfer {i}")
    panel = search_view.SearchPanelWidget(session)
    qtbot.addWidget(panel)
    _search(qtbot, panel, "transfer")
    assert panel.model.rowCount() == search_view.PAGE and panel.model.canFetchMore()
    assert "120 matches" in panel.status_text()
    panel.model.fetchMore()  # (the view itself asks for more while it has room to show them)
    qtbot.waitUntil(lambda: panel.model.rowCount() > search_view.PAGE, timeout=5000)
    if panel.model.canFetchMore():
        panel.model.fetchMore()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 120, timeout=5000)
    assert not panel.model.canFetchMore()
    assert len({panel.model.hit(r).id for r in range(120)}) == 120

    real = search_view.search

    def capped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        r = real(*args, **kwargs)
        return SearchResults(r.hits, 1000, True, r.query)
    monkeypatch.setattr(search_view, "search", capped)
    _search(qtbot, panel, "transfer 1*")
    assert "1,000+ matches" in panel.status_text()


def test_double_click_opens_the_hit_in_its_case(qtbot, window, ws) -> None:  # noqa: ANN001
    a = seed_case(ws, events=3)
    b = seed_case(ws, "2024-ICE-0043", events=0)
    target_entity = ws.add_entity(b["case"], "email", "zed.quartermain@example.net").id
    target_event = ws.add_event(b["case"], "message", T0, title="quartermain ledger photo").id
    _open_case(qtbot, window, a["case"])
    window.entity_table.filter_edit.setText("alex")  # a filter that would hide the record
    window.focus_search()
    panel = window.search_panel
    _search(qtbot, panel, "quartermain")
    rows = {panel.model.hit(r).kind: r for r in range(panel.model.rowCount())}
    assert set(rows) == {"entity", "event"}

    _double_click_row(qtbot, panel.view, rows["entity"])
    qtbot.waitUntil(lambda: window.hub.case_id == b["case"], timeout=5000)
    qtbot.waitUntil(lambda: window.entity_table.selected_ids() == [target_entity], timeout=5000)
    assert window.hub.entities == {target_entity}
    assert window.entity_table.filter_edit.text() == ""
    qtbot.waitUntil(lambda: window.details.title_label.text() == "zed.quartermain@example.net", timeout=5000)

    _double_click_row(qtbot, panel.view, rows["event"])
    qtbot.waitUntil(lambda: window.event_table.selected_ids() == [target_event], timeout=5000)
    assert window.view_tabs.currentWidget() is window.event_table and window.hub.events == {target_event}


def test_a_case_hit_selects_the_case_and_locking_clears_everything(qtbot, window, ws) -> None:  # noqa: ANN001
    a = seed_case(ws, events=1)
    b = ws.create_case("2024-ICE-0077", "Operation Whitecap").id
    _open_case(qtbot, window, a["case"])
    window.focus_search()
    panel = window.search_panel
    _search(qtbot, panel, "whitecap")
    assert panel.model.rowCount() == 1 and panel.model.hit(0).kind == "case"
    _double_click_row(qtbot, panel.view, 0)
    qtbot.waitUntil(lambda: window.hub.case_id == b, timeout=5000)
    window.lock()
    assert panel.model.rowCount() == 0 and panel.query_edit.text() == ""


def test_results_model_contract(qtbot, qtmodeltester, session) -> None:  # noqa: ANN001
    model = SearchResultsModel(session)
    hits = [SearchHit("event", i, 1, "C-1", f"title {i}", f"«w{i}» and more", 1.0 / (i + 1), None, "message")
            for i in range(60)]
    model.set_results(SearchResults(hits, 75, False))
    asked: list[int] = []
    model.moreRequested.connect(asked.append)
    qtmodeltester.check(model)
    rich = model.data(model.index(3, 0), HtmlRole)
    assert rich.startswith("title 3<br>") and "<b>w3</b> and more" in rich
    model.fetchMore()
    model.fetchMore()
    assert asked == [60], "one page is asked for at a time"


def test_a_date_only_hit_shows_its_date_not_a_midnight_time(qtbot, window, ws) -> None:  # noqa: ANN001
    from dataclasses import replace
    from datetime import datetime, timezone

    ids = seed_case(ws, events=2)
    plus_one = timezone(timedelta(hours=1))
    # A card statement line dated 2024-03-01 only (stored at midnight in the import's zone)
    # and a chat message with a real time, both found by the same word.
    dated = ws.add_event(ids["case"], "transaction", datetime(2024, 3, 1, tzinfo=plus_one),
                         title="Card purchase KIOSK ZEBRA", properties={"time_precision": "day"}).id
    timed = ws.add_event(ids["case"], "message", datetime(2024, 3, 1, 15, 0, tzinfo=plus_one),
                         title="Message", body="meet me at kiosk zebra").id
    window.session.save_settings(replace(window.session.settings, display_timezone="America/New_York"))
    window.focus_search()
    panel = window.search_panel
    _search(qtbot, panel, "zebra")
    model = panel.model
    shown = {model.data(model.index(r, 0), HitRole).id: model.data(model.index(r, 3))
             for r in range(model.rowCount())}
    # In New York the stored midnight would read "2024-02-29 18:00:00": the wrong day, and a time
    # the statement never gave.
    assert shown[dated] == "2024-03-01 (time of day unknown)"
    assert shown[timed] == "2024-03-01 09:00:00"
