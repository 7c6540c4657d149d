"""Everything is reachable from the main window: menus open the import wizard, export and
report dialogs and the central views; undo of a delete brings the record back under its
id; the details panel toggles keep-local; the status bar shows sync state and leads to
conflict resolution; enrolment problems are explained in the form."""

from __future__ import annotations

import shiboken6
from PySide6.QtWidgets import QMenu

from tests.ui.conftest import seed_case
from ui.main_window import VIEWS, WorkspaceWidget
from ui.views.sync import ConflictsDialog, ConflictsModel, DeconflictionDialog, EnrolDialog
from workstation.sync import codec
from workstation.sync.conflicts import list_conflicts
from workstation.sync.deconflict import DeconflictHit
from workstation.sync.status import record_sync_state


def _open_case(qtbot, window, case_id: int) -> None:  # noqa: ANN001
    window.case_navigator.reload()
    window.case_navigator.select_case_later(case_id)
    qtbot.waitUntil(lambda: window.hub.case_id == case_id, timeout=5000)


def _menu_texts(window) -> dict[str, list[str]]:  # noqa: ANN001
    out: dict[str, list[str]] = {}
    for act in window.menuBar().actions():
        menu = act.menu()
        if isinstance(menu, QMenu):
            out[act.text().replace("&", "")] = [a.text().replace("&", "") for a in menu.actions()
                                                if a.isVisible() and not a.isSeparator()]
    return out


def test_every_capability_has_a_menu_entry(window) -> None:  # noqa: ANN001
    menus = _menu_texts(window)
    assert {"File", "Edit", "View", "Sync", "Help"} <= set(menus)
    assert {"Import…", "Ingest media folder…", "Import hash set…", "Export…", "Case report…"} <= set(menus["File"])
    assert {"Merge entities…", "Suggested duplicates…", "Search…", "Filter the table"} <= set(menus["Edit"])
    assert {"Events", "Timeline", "Link chart", "Media review", "Search", "Connections"} <= set(menus["View"])
    assert {"Sync now", "Conflicts…", "Check deconfliction", "Enrol with HQ…", "Write sync bundle…",
            "Read HQ acknowledgement…"} <= set(menus["Sync"])
    assert not window.actions_by_name["import"].isEnabled(), "import needs a case"


def test_menus_open_import_export_report(qtbot, window, ws) -> None:  # noqa: ANN001
    from ui.import_wizard import ImportWizardDialog
    from ui.reports import ExportDialog, ReportDialog

    ids = seed_case(ws, events=2)
    _open_case(qtbot, window, ids["case"])
    A = window.actions_by_name
    for name, cls in (("import", ImportWizardDialog), ("export", ExportDialog), ("report", ReportDialog)):
        assert A[name].isEnabled()
        A[name].trigger()
        dlg = window.side_dialog
        assert isinstance(dlg, cls) and dlg.isVisible(), name
        assert dlg.case_id == ids["case"]
        dlg.close()
        qtbot.waitUntil(lambda d=dlg: not shiboken6.isValid(d) or window.side_dialog is None, timeout=2000)


def test_view_tabs_open_close_and_come_back_after_restart(qtbot, window, session, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=4)
    _open_case(qtbot, window, ids["case"])
    tabs = window.view_tabs
    for name, (title, _icon, _pkg) in VIEWS.items():
        window.actions_by_name[f"view_{name}"].trigger()
        widget = window.view(name)
        assert widget is not None and window.current_view_name() == name
        assert tabs.currentWidget().isAncestorOf(widget) and widget.isVisible()
        assert tabs.tabText(tabs.currentIndex()) == title
    assert tabs.count() == 4
    window.actions_by_name["view_timeline"].trigger()  # already open: brought to the front, not duplicated
    assert tabs.count() == 4 and window.current_view_name() == "timeline"
    window.actions_by_name["view_events"].trigger()
    assert tabs.currentWidget() is window.event_table

    texts = [tabs.tabText(i) for i in range(tabs.count())]
    media = window.view("media")
    window.close_view_at(texts.index("Media review"))
    assert not window.is_view_open("media") and tabs.count() == 3
    window.actions_by_name["view_media"].trigger()  # reopened as it was
    assert window.view("media") is media and window.is_view_open("media") and tabs.count() == 4
    window.close_view_at(tabs.count() - 1)
    window.close_view_at(0)
    assert tabs.widget(0) is window.event_table, "the event table cannot be closed"
    window._store_views()

    second = WorkspaceWidget(session)  # restores the layout and, once unlocked, the tabs
    qtbot.addWidget(second)
    assert [second.view_tabs.tabText(i) for i in range(second.view_tabs.count())] == \
        ["Events", "Timeline", "Link chart"]
    assert second.view_tabs.currentWidget() is second.event_table


def test_undo_of_a_delete_keeps_the_id(qtbot, window, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=4)
    _open_case(qtbot, window, ids["case"])
    qtbot.waitUntil(lambda: window.event_table.model.total() == 4, timeout=5000)
    event_id = window.event_table.model.id_at(2)
    window.view_tabs.setCurrentWidget(window.event_table)
    window._active_table = "event"
    window.hub.select_events([event_id])
    window.actions_by_name["delete"].trigger()
    qtbot.waitUntil(lambda: window.event_table.model.total() == 3, timeout=5000)
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: window.event_table.model.total() == 4, timeout=5000)
    assert event_id in [e.id for e in ws.list_events(ids["case"])], "the same event, not a copy"
    assert window.event_table.model.row_of(event_id) is not None

    window._active_table = "entity"
    window.hub.select_entities([ids["phone"]])
    window.actions_by_name["delete"].trigger()
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 3, timeout=5000)
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 4, timeout=5000)
    assert ids["phone"] in ws.entity_ids(ids["case"])
    assert [(lk.src_id, lk.dst_id) for lk in ws.list_links(case_id=ids["case"])] == [(ids["person"], ids["phone"])]


def test_keep_local_toggle_in_the_details(qtbot, window, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=2)
    ws.update_case(ids["case"], sharing="hq")
    _open_case(qtbot, window, ids["case"])
    bar = window.record_sync_bar
    window.hub.select_entities([ids["email"]])
    qtbot.waitUntil(lambda: bar.isVisible() and bar.record is not None and bar.record.id == ids["email"],
                    timeout=5000)
    qtbot.waitUntil(lambda: bar.state_label.text() == "Sync: waiting to sync", timeout=5000)
    assert not bar.keep_local_check.isChecked()
    bar.keep_local_check.click()
    qtbot.waitUntil(lambda: ws.get_entity(ids["email"]).keep_local, timeout=5000)
    qtbot.waitUntil(lambda: bar.state_label.text() == "Sync: local only", timeout=5000)
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: not ws.get_entity(ids["email"]).keep_local, timeout=5000)
    qtbot.waitUntil(lambda: not bar.keep_local_check.isChecked(), timeout=5000)

    event_id, other_event = [e.id for e in ws.list_events(ids["case"])][:2]
    window.hub.select_events([event_id])
    qtbot.waitUntil(lambda: bar.record is not None and bar.table == "event", timeout=5000)
    bar.keep_local_check.click()
    qtbot.waitUntil(lambda: record_sync_state(ws, "event", event_id) == "local only", timeout=5000)
    qtbot.waitUntil(lambda: bar.state_label.text() == "Sync: local only", timeout=5000)
    assert bar.keep_local_check.isChecked(), "the details reloaded and still show the choice"
    # an event kept local earlier (another session) reads as such
    ws.update_event(other_event, keep_local=True)
    window.hub.select_events([other_event])
    qtbot.waitUntil(lambda: bar.record.id == other_event and bar.state_label.text() == "Sync: local only",
                    timeout=5000)
    assert bar.keep_local_check.isChecked()
    window.hub.select_events([event_id])
    qtbot.waitUntil(lambda: bar.record.id == event_id, timeout=5000)
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: record_sync_state(ws, "event", event_id) == "pending", timeout=5000)
    qtbot.waitUntil(lambda: not bar.keep_local_check.isChecked(), timeout=5000)


def test_status_bar_sync_state_and_conflict_resolution(qtbot, window, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=2)
    _open_case(qtbot, window, ids["case"])
    status = window.sync_status
    qtbot.waitUntil(lambda: "local only" in status.text(), timeout=5000)
    assert "not enrolled" in status.text()

    window.edit_record("case", ids["case"])
    dlg = window.active_dialog
    dlg.sharing_combo.setCurrentIndex(dlg.sharing_combo.findData("hq"))
    dlg.ok_button.click()
    qtbot.waitUntil(lambda: "waiting to sync" in status.text() and "changes waiting" in status.text(), timeout=5000)

    person = ws.get_entity(ids["person"])
    with ws.db.write() as conn:  # what a sync that met another laptop's edit leaves behind
        codec.record_conflict(conn, "entity", person.uid, "label", "Alex Testperson", "1", "Alex T. Person", "2",
                              "mine")
    status.refresh()
    qtbot.waitUntil(lambda: "1 conflict to resolve" in status.text(), timeout=5000)
    status.text_label.linkActivated.emit("conflicts")
    dlg = window.side_dialog
    assert isinstance(dlg, ConflictsDialog)
    qtbot.waitUntil(lambda: dlg.model.rowCount() == 1, timeout=5000)
    m = dlg.model
    assert (m.data(m.index(0, 2)), m.data(m.index(0, 3))) == ("Alex Testperson", "Alex T. Person")
    dlg.select_row(0)
    dlg.theirs_button.click()
    qtbot.waitUntil(lambda: ws.get_entity(ids["person"]).label == "Alex T. Person", timeout=5000)
    qtbot.waitUntil(lambda: dlg.model.rowCount() == 0, timeout=5000)
    assert list_conflicts(ws) == []
    qtbot.waitUntil(lambda: "conflict" not in status.text(), timeout=5000)
    dlg.close()


def test_sync_without_enrolment_asks_to_enrol_and_explains_failures(qtbot, window, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=1)
    _open_case(qtbot, window, ids["case"])
    qtbot.waitUntil(lambda: window.sync_status.summary is not None, timeout=5000)
    window.actions_by_name["sync_now"].trigger()
    dlg = window.active_dialog
    assert isinstance(dlg, EnrolDialog)
    dlg.ok_button.click()
    assert "HQ's address" in dlg.error_label.text()
    dlg.url_edit.setText("http://127.0.0.1:9")  # nothing listens there
    dlg.code_edit.setText("ABCD-EFGH")
    first = dlg.error_label.text()
    dlg.ok_button.click()
    qtbot.waitUntil(lambda: dlg.error_label.isVisible() and dlg.error_label.text() != first, timeout=15000)
    assert dlg.isVisible() and "127.0.0.1" in dlg.error_label.text(), dlg.error_label.text()
    dlg.reject()


def test_conflicts_model_contract(qtmodeltester, session, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=0)
    person = ws.get_entity(ids["person"])
    with ws.db.write() as conn:
        codec.record_conflict(conn, "entity", person.uid, "properties", {"dob": "1980-01-02"}, "1",
                              {"dob": "1980-02-01"}, "2", "theirs")
    model = ConflictsModel(session)
    model.set_items(list_conflicts(ws))
    qtmodeltester.check(model)
    assert model.data(model.index(0, 2)) == '{"dob": "1980-01-02"}'


def test_deconfliction_answer_is_shown_without_the_other_case(qtbot, qtmodeltester, window, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=0)
    _open_case(qtbot, window, ids["case"])
    hits = [DeconflictHit("phone", "+1 202-555-0142", "entity", ids["phone"], "CC-2023-118", "County Sheriff",
                          "+1 202-555-0188", "Det. Example", "det.example@example.org", False),
            DeconflictHit("email", "alex@example.org", "entity", ids["email"], "CC-2023-118", "County Sheriff",
                          "+1 202-555-0188", None, None, False)]
    qtbot.waitUntil(lambda: window.sync_status.summary is not None, timeout=5000)
    window.sync_status.set_deconfliction(ids["case"], hits)
    assert "1 other case hold the same identifiers" in window.sync_status.text()
    window.sync_status.text_label.linkActivated.emit("deconflict")
    dlg = window.side_dialog
    assert isinstance(dlg, DeconflictionDialog)
    qtmodeltester.check(dlg.model)
    m = dlg.model
    assert m.rowCount() == 2
    assert (m.data(m.index(0, 1)), m.data(m.index(0, 2))) == ("County Sheriff", "CC-2023-118")
    assert "Det. Example" in m.data(m.index(0, 3)) and m.data(m.index(1, 3)) == "+1 202-555-0188"
    dlg.close()
