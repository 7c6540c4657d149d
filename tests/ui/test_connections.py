"""The connections panel: a planted overlap between two cases is listed with its score and
the core's explanation; one click goes to the other case and its item; "Elsewhere" lists
the other cases holding the selected entity."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt

from tests.ui.conftest import seed_case
from ui.views.connections import ConnectionsModel, ConnectionsWidget, OccurrencesModel, only_entities
from workstation.analysis.matching import case_connections, other_occurrences


def _two_cases_sharing_a_phone(ws):  # noqa: ANN001, ANN202
    """Case A (the seeded one) and case B holding the same phone (typed differently) and
    e-mail; a third case shares nothing."""
    a = seed_case(ws, events=2)
    b = ws.create_case("2024-ICE-0107", "Operation Tidewater").id
    b_phone = ws.add_entity(b, "phone", "(202) 555-0142").id  # same number as A's, another spelling
    ws.add_entity(b, "email", "ALEX@example.org")
    ws.add_entity(b, "person", "Robin Example")
    ws.add_entity(ws.create_case("2024-ICE-0200", "Operation Unrelated").id, "phone", "+1 202-555-0199")
    return a, b, b_phone


def _show_connections(qtbot, window, case_id: int) -> ConnectionsWidget:  # noqa: ANN001
    window.case_navigator.reload()
    window.case_navigator.select_case_later(case_id)
    qtbot.waitUntil(lambda: window.hub.case_id == case_id, timeout=5000)
    panel = window.connections
    window.docks["connections"].show()
    window.docks["connections"].raise_()
    qtbot.waitUntil(lambda: panel.title_label.text().startswith("Connections of"), timeout=5000)
    return panel


def _click(qtbot, view, index: QModelIndex) -> None:  # noqa: ANN001
    view.scrollTo(index)
    rect = view.visualRect(index)
    assert view.viewport().rect().contains(rect.center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_planted_overlap_is_listed_with_score_and_explanation(qtbot, window, ws) -> None:  # noqa: ANN001
    a, b, b_phone = _two_cases_sharing_a_phone(ws)
    panel = _show_connections(qtbot, window, a["case"])
    model = panel.model
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=5000)
    top = model.index(0, 0)
    assert model.data(top) == "2024-ICE-0107 — Operation Tidewater"
    expected = case_connections(ws, a["case"])[0]
    assert model.data(model.index(0, 1)) == f"{expected.score:.2f}" and expected.score > 0
    explanations = [model.data(model.index(r, 0, top)) for r in range(model.rowCount(top))]
    assert any("phone +1 202-555-0142 is in both cases" in e for e in explanations), explanations
    assert any("email alex@example.org is in both cases" in e for e in explanations), explanations
    assert all(e for e in explanations)
    assert "1 connected case" in panel.status_label.text()
    assert "Operation Unrelated" not in str([model.data(model.index(r, 0)) for r in range(model.rowCount())])


def test_one_click_goes_to_the_other_case_and_item(qtbot, window, ws) -> None:  # noqa: ANN001
    a, b, b_phone = _two_cases_sharing_a_phone(ws)
    panel = _show_connections(qtbot, window, a["case"])
    model = panel.model
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=5000)
    top = model.index(0, 0)
    phone_row = next(r for r in range(model.rowCount(top)) if "phone" in model.data(model.index(r, 0, top)))
    _click(qtbot, panel.view, model.index(phone_row, ConnectionsModel.GOTO_COLUMN, top))
    qtbot.waitUntil(lambda: window.hub.case_id == b, timeout=5000)
    qtbot.waitUntil(lambda: window.entity_table.selected_ids() == [b_phone], timeout=5000)
    assert window.hub.entities == {b_phone}
    # and the panel follows: now it shows B's connection back to A
    qtbot.waitUntil(lambda: model.rowCount() == 1 and model.connection(model.index(0, 0)).other_case_id
                    == a["case"], timeout=5000)
    _click(qtbot, panel.view, model.index(0, ConnectionsModel.GOTO_COLUMN))
    qtbot.waitUntil(lambda: window.hub.case_id == a["case"], timeout=5000)


def test_selected_entities_and_elsewhere(qtbot, window, ws) -> None:  # noqa: ANN001
    a, b, b_phone = _two_cases_sharing_a_phone(ws)
    panel = _show_connections(qtbot, window, a["case"])
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=5000)
    loaded: list[int] = []
    panel.occurrencesLoaded.connect(loaded.append)
    window.hub.select_entities([a["other"]])  # the UK phone is in no other case
    qtbot.waitUntil(lambda: loaded == [0], timeout=5000)
    assert "is in no other case" in panel.occurrences_label.text()
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("entities"))
    assert panel.model.rowCount() == 0 and "not connected" in panel.status_label.text()

    window.hub.select_entities([a["phone"]])
    qtbot.waitUntil(lambda: loaded[-1:] == [1], timeout=5000)
    assert panel.model.rowCount() == 1, "the phone's own connection"
    occ = panel.occurrences_model
    assert occ.data(occ.index(0, 0)) == "2024-ICE-0107" and occ.data(occ.index(0, 1)) == "+1 202-555-0142"
    assert "in 1 other case" in panel.occurrences_label.text()
    _click(qtbot, panel.occurrences_view, occ.index(0, OccurrencesModel.GOTO_COLUMN))
    qtbot.waitUntil(lambda: window.hub.case_id == b and window.hub.entities == {b_phone}, timeout=5000)


def test_hidden_panel_reads_nothing_until_shown(qtbot, session, ws) -> None:  # noqa: ANN001
    a, _b, _p = _two_cases_sharing_a_phone(ws)
    panel = ConnectionsWidget(session)
    qtbot.addWidget(panel)
    panel._refresh_timer.setInterval(20)  # the edit-burst delay, shortened for the test
    loaded: list[int] = []
    panel.loaded.connect(loaded.append)
    session.hub.select_case(a["case"])
    qtbot.wait(150)
    assert loaded == [] and panel.model.rowCount() == 0
    panel.show()
    qtbot.waitUntil(lambda: loaded == [1], timeout=5000)
    # a new shared identifier in another case shows up without asking
    c = ws.create_case("2024-ICE-0300", "Operation Keel").id
    session.emit_changes([session.ws.add_entity(c, "email", "alex@example.org")])
    qtbot.waitUntil(lambda: loaded[-1:] == [2], timeout=5000)


def test_models_contract(qtmodeltester, session, ws) -> None:  # noqa: ANN001
    a, b, b_phone = _two_cases_sharing_a_phone(ws)
    conns = case_connections(ws, a["case"])
    model = ConnectionsModel()
    model.set_connections(conns)
    qtmodeltester.check(model)
    assert model.rowCount(model.index(0, 0)) == len(conns[0].reasons)
    assert model.rowCount(model.index(0, 1)) == 0, "only the first column has children"
    only = only_entities(conns, frozenset({a["phone"]}))
    assert len(only) == 1 and [r.this_items for r in only[0].reasons] == [(a["phone"],)]
    assert only[0].score < conns[0].score
    occ = OccurrencesModel()
    occ.set_items(other_occurrences(ws, a["phone"]))
    qtmodeltester.check(occ)
    assert occ.item(0).entity_id == b_phone


def test_a_photo_sent_in_both_cases_chats_is_named_and_opens_the_message(qtbot, window, ws, tmp_path) -> None:  # noqa: ANN001
    from tests.core.analysis.test_attachment_matching import chat_case

    photo = bytes(range(256)) * 64
    a, _a_events = chat_case(ws, tmp_path, "2024-ICE-0301", {"beach.jpg": photo})
    b, b_events = chat_case(ws, tmp_path, "2024-ICE-0302", {"IMG_0007.jpg": photo})
    panel = _show_connections(qtbot, window, a)
    model = panel.model
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=5000)
    top = model.index(0, 0)
    titles = [model.reason(model.index(r, 0, top)) for r in range(model.rowCount(top))]
    reason = next(r for r in titles if r is not None and r.kind == "media_attachment")
    from ui.views.connections import reason_title

    assert reason_title(reason).startswith("Same file sent in a chat")  # not "Person …"
    row = titles.index(reason)
    # Its long explanation stays on the row's second line, not wrapped into a third that the
    # two-line row would cut in half (the whole text is the tooltip).
    from PySide6.QtWidgets import QStyleOptionViewItem

    cell = model.index(row, 0, top)
    option = QStyleOptionViewItem()
    option.initFrom(panel.view)
    doc = panel.view.itemDelegateForColumn(0)._document(option, cell, 250)
    assert doc.size().height() <= 2 * panel.view.fontMetrics().lineSpacing() + 8
    assert model.data(cell, Qt.ItemDataRole.ToolTipRole) == reason.explanation
    _click(qtbot, panel.view, model.index(row, ConnectionsModel.GOTO_COLUMN, top))
    qtbot.waitUntil(lambda: window.hub.case_id == b, timeout=5000)
    # The other side is a message: it is selected in the event table, not looked up as an entity.
    qtbot.waitUntil(lambda: window.event_table.selected_ids() == [b_events["IMG_0007.jpg"]], timeout=5000)
