"""End to end through the main window: create, link, edit, undo/redo, delete, lock, unlock."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from tests.ui.conftest import PASSPHRASE, seed_case
from ui.dialogs import CaseDialog, EntityDialog, EventDialog, LinkDialog


def _submit(qtbot, window, dialog) -> None:  # noqa: ANN001
    """Press OK and wait until the form closed (it stays open, showing why, if refused)."""
    problems: list[str] = []
    dialog.error_label.linkHovered  # noqa: B018 - the label exists
    dialog.ok_button.click()

    def closed() -> bool:
        if not shiboken6.isValid(dialog) or not dialog.isVisible():
            return True
        if dialog.error_label.isVisible():
            problems.append(dialog.error_label.text())
            return True
        return False
    qtbot.waitUntil(closed, timeout=5000)
    assert not problems, f"the form refused: {problems}"


def _entity_labels(window) -> list[str]:  # noqa: ANN001
    m = window.entity_table.model
    return [m.data(m.index(r, 0)) for r in range(m.rowCount())]


def test_create_link_edit_undo_lock_unlock(qtbot, window, ws, db_path):  # noqa: ANN001
    A = window.actions_by_name
    assert not A["new_entity"].isEnabled(), "no case open yet"

    # --- a case, through the dialog
    A["new_case"].trigger()
    dlg = window.active_dialog
    assert isinstance(dlg, CaseDialog)
    dlg.number_edit.setText("2024-ICE-0042")
    dlg.title_edit.setText("Operation Lantern")
    _submit(qtbot, window, dlg)
    case = ws.find_case("2024-ICE-0042")
    qtbot.waitUntil(lambda: window.hub.case_id == case.id, timeout=5000)
    assert window.case_navigator.model.items[0].number == "2024-ICE-0042"

    # --- two entities
    for kind, value in (("phone", "+1 202-555-0147"), ("person", "Sam Samplewood")):
        A["new_entity"].trigger()
        dlg = window.active_dialog
        assert isinstance(dlg, EntityDialog)
        dlg.kind_combo.setCurrentIndex(dlg.kind_combo.findData(kind))
        dlg.value_edit.setText(value)
        _submit(qtbot, window, dlg)
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 2, timeout=5000)
    stored = {e.kind: e for e in ws.list_entities(case.id)}
    assert stored["phone"].key == "phone:+12025550147"
    person = stored["person"]
    qtbot.waitUntil(lambda: window.hub.entities == {person.id}, timeout=5000)
    assert window.entity_table.selected_ids() == [person.id], "the new entity is selected"

    # --- an invalid value is refused inline and nothing is stored
    A["new_entity"].trigger()
    dlg = window.active_dialog
    dlg.kind_combo.setCurrentIndex(dlg.kind_combo.findData("email"))
    dlg.value_edit.setText("not an e-mail")
    dlg.ok_button.click()
    qtbot.waitUntil(lambda: dlg.error_label.isVisible(), timeout=5000)
    assert "not an e-mail" in dlg.error_label.text() and dlg.isVisible()
    dlg.reject()
    # the case creation and the two entity creations are undoable (the core restores a
    # deleted case under its number, so a redo after the undo succeeds)
    assert ws.count_entities(case.id) == 2 and window.session.undo_stack.count() == 3

    # --- a link from the person to the phone
    A["add_link"].trigger()
    dlg = window.active_dialog
    assert isinstance(dlg, LinkDialog) and dlg.source.id == person.id
    dlg.search_edit.setText("555")
    dlg.search()
    assert dlg.results.count() == 1
    dlg.kind_combo.setCurrentIndex(dlg.kind_combo.findData("uses"))
    _submit(qtbot, window, dlg)
    links = ws.list_links(case_id=case.id)
    assert [(lk.src_id, lk.dst_id, lk.kind) for lk in links] == [(person.id, stored["phone"].id, "uses")]
    qtbot.waitUntil(lambda: window.details.links_model.rowCount() == 1, timeout=5000)

    # --- edit the person's label
    A["edit"].trigger()
    dlg = window.active_dialog
    assert isinstance(dlg, EntityDialog) and dlg.entity.id == person.id
    dlg.label_edit.setText("Sam R. Samplewood")
    _submit(qtbot, window, dlg)
    assert ws.get_entity(person.id).label == "Sam R. Samplewood"
    qtbot.waitUntil(lambda: "Sam R. Samplewood" in _entity_labels(window), timeout=5000)

    # --- undo the edit, then the link; redo the link
    stack = window.session.undo_stack
    A["undo"].trigger()
    qtbot.waitUntil(lambda: ws.get_entity(person.id).label == "Sam Samplewood", timeout=5000)
    qtbot.waitUntil(lambda: "Sam Samplewood" in _entity_labels(window), timeout=5000)
    A["undo"].trigger()
    qtbot.waitUntil(lambda: ws.list_links(case_id=case.id) == [], timeout=5000)
    assert stack.canRedo()
    A["redo"].trigger()
    qtbot.waitUntil(lambda: len(ws.list_links(case_id=case.id)) == 1, timeout=5000)
    relinked = ws.list_links(case_id=case.id)[0]
    assert (relinked.src_id, relinked.dst_id, relinked.kind) == (person.id, stored["phone"].id, "uses")

    # --- lock: every record hidden, database locked, passphrase asked
    A["lock"].trigger()
    assert window.session.is_locked and ws.db.is_locked
    assert window.entity_table.model.rowCount() == 0 and window.event_table.model.rowCount() == 0
    assert window.case_navigator.model.rowCount() == 0
    assert window.details.properties_model.rowCount() == 0
    assert all(d.isHidden() for d in window.findChildren(QDockWidget))
    assert window.stack.currentWidget() is window.locked_page
    assert not A["new_entity"].isEnabled() and not A["undo"].isEnabled()
    unlock = window.unlock_dialog
    assert unlock is not None and unlock.isVisible() and unlock.path() == str(db_path)

    # --- unlock: the same case comes back with its data
    unlock.passphrase_edit.setText(PASSPHRASE)
    unlock.unlock_button.click()
    qtbot.waitUntil(lambda: not window.session.is_locked, timeout=5000)
    qtbot.waitUntil(lambda: window.hub.case_id == case.id, timeout=5000)
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 2, timeout=5000)
    assert sorted(_entity_labels(window)) == ["+1 202-555-0147", "Sam Samplewood"]
    assert not window.docks["entities"].isHidden() and window.stack.currentWidget() is window.view_tabs
    fresh = window.session.ws
    assert len(fresh.list_links(case_id=case.id)) == 1
    # the undo history survived the lock
    assert stack.canUndo()


def test_delete_key_and_undo_bring_entity_and_links_back(qtbot, window, ws):  # noqa: ANN001
    ids = seed_case(ws, events=6)
    window.case_navigator.reload()
    window.case_navigator.select_case_later(ids["case"])
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 4, timeout=5000)
    window.entity_table.view.setFocus()
    window._active_table = "entity"
    window.hub.select_entities([ids["person"]])
    assert window.entity_table.selected_ids() == [ids["person"]]
    window.actions_by_name["delete"].trigger()
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 3, timeout=5000)
    assert ws.count_entities(ids["case"]) == 3 and ws.list_links(case_id=ids["case"]) == []
    assert window.hub.entities == frozenset(), "a deleted entity leaves the selection"
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 4, timeout=5000)
    labels = {e.label for e in ws.list_entities(ids["case"])}
    assert "Alex Testperson" in labels
    links = ws.list_links(case_id=ids["case"])
    assert len(links) == 1 and links[0].kind == "uses"
    back = next(e for e in ws.list_entities(ids["case"]) if e.label == "Alex Testperson")
    assert links[0].src_id == back.id and links[0].dst_id == ids["phone"]


def test_new_event_with_selected_parties_then_edit_time_and_undo(qtbot, window, ws):  # noqa: ANN001
    ids = seed_case(ws, events=0)
    window.case_navigator.reload()
    window.case_navigator.select_case_later(ids["case"])
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 4, timeout=5000)
    window.hub.select_entities([ids["person"], ids["phone"]])
    window.actions_by_name["new_event"].trigger()
    dlg = window.active_dialog
    assert isinstance(dlg, EventDialog) and dlg.parties_table.rowCount() == 2
    dlg.kind_combo.setCurrentIndex(dlg.kind_combo.findData("call"))
    dlg.tz_combo.setCurrentText("Europe/London")
    from PySide6.QtCore import QDate, QDateTime, QTime

    dlg.time_edit.setDateTime(QDateTime(QDate(2024, 7, 1), QTime(14, 30, 0)))
    dlg.title_edit.setText("Call to the phone")
    _submit(qtbot, window, dlg)
    events = ws.list_events(ids["case"])
    assert len(events) == 1
    ev = events[0]
    assert ev.kind == "call" and ev.utc_offset == 60  # BST
    assert ev.occurred_at.isoformat() == "2024-07-01T14:30:00+01:00"
    assert {p.entity_id for p in ev.parties} == {ids["person"], ids["phone"]}
    qtbot.waitUntil(lambda: window.event_table.model.total() == 1, timeout=5000)
    model = window.event_table.model
    assert model.data(model.index(0, 0)) == "2024-07-01 13:30:00", "shown in the display zone (UTC)"

    window.edit_record("event", ev.id)
    dlg = window.active_dialog
    dlg.title_edit.setText("Call (edited)")
    _submit(qtbot, window, dlg)
    assert ws.get_event(ev.id).title == "Call (edited)"
    assert ws.get_event(ev.id).ts_utc == ev.ts_utc, "an untouched time is not rewritten"
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: ws.get_event(ev.id).title == "Call to the phone", timeout=5000)
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: ws.list_events(ids["case"]) == [], timeout=5000)
    window.actions_by_name["redo"].trigger()
    qtbot.waitUntil(lambda: len(ws.list_events(ids["case"])) == 1, timeout=5000)
    again = ws.list_events(ids["case"])[0]
    assert again.title == "Call to the phone" and {p.entity_id for p in again.parties} == {ids["person"], ids["phone"]}


def test_notes_on_case_and_entity_with_undo(qtbot, window, ws):  # noqa: ANN001
    ids = seed_case(ws, events=0)
    window.case_navigator.reload()
    window.case_navigator.select_case_later(ids["case"])
    qtbot.waitUntil(lambda: window.notes.target_title.text() == "Case notes", timeout=5000)
    window.notes.editor.setPlainText("Warrant requested for the phone records.")
    window.notes.save_button.click()
    qtbot.waitUntil(lambda: window.notes.model.rowCount() == 1, timeout=5000)
    assert ws.list_notes(ids["case"])[0].body == "Warrant requested for the phone records."

    window.hub.select_entities([ids["phone"]])
    qtbot.waitUntil(lambda: "Notes on entity" in window.notes.target_title.text(), timeout=5000)
    assert window.notes.model.rowCount() == 0
    window.notes.editor.setPlainText("Pay-as-you-go SIM.")
    window.notes.save_button.click()
    qtbot.waitUntil(lambda: window.notes.model.rowCount() == 1, timeout=5000)
    on_phone = ws.list_notes(ids["case"], target_type="entity", target_id=ids["phone"])
    assert [n.body for n in on_phone] == ["Pay-as-you-go SIM."]
    window.notes.view.setCurrentIndex(window.notes.model.index(0, 0))
    window.notes.editor.setPlainText("Pay-as-you-go SIM, bought with cash.")
    window.notes.save_button.click()
    qtbot.waitUntil(lambda: ws.list_notes(ids["case"], target_type="entity", target_id=ids["phone"])[0].body
                    == "Pay-as-you-go SIM, bought with cash.", timeout=5000)
    assert window.notes.delete_button.isEnabled(), "the edited note stays open in the editor"
    window.notes.delete_button.click()
    qtbot.waitUntil(lambda: ws.list_notes(ids["case"], target_type="entity", target_id=ids["phone"]) == [],
                    timeout=5000)
    # the command reaches the undo stack just after the database (its result is queued)
    qtbot.waitUntil(lambda: window.session.undo_stack.undoText() == "Delete note", timeout=5000)
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: len(ws.list_notes(ids["case"], target_type="entity", target_id=ids["phone"])) == 1,
                    timeout=5000)


def test_case_edit_and_sharing_shown_in_navigator(qtbot, window, ws):  # noqa: ANN001
    ids = seed_case(ws, events=2)
    window.case_navigator.reload()
    window.case_navigator.select_case_later(ids["case"])
    qtbot.waitUntil(lambda: window.hub.case_id == ids["case"], timeout=5000)
    model = window.case_navigator.model
    assert model.data(model.index(0, 5)) == "Local only"
    window.actions_by_name["edit_case"].trigger()
    dlg = window.active_dialog
    dlg.sharing_combo.setCurrentIndex(dlg.sharing_combo.findData("agencies"))
    dlg.shared_with_edit.setText("County Sheriff Cyber Unit")
    _submit(qtbot, window, dlg)
    assert ws.get_case(ids["case"]).shared_with == ("County Sheriff Cyber Unit",)
    qtbot.waitUntil(lambda: model.rowCount() and "County Sheriff" in model.data(model.index(0, 5)), timeout=5000)
    assert model.data(model.index(0, 5), Qt.ItemDataRole.DecorationRole) is not None


def test_delete_case_asks_first(qtbot, window, ws):  # noqa: ANN001
    ids = seed_case(ws, events=1)
    other = ws.create_case("2024-ICE-0099", "Operation Harbour").id
    window.case_navigator.reload()
    window.case_navigator.select_case_later(ids["case"])
    qtbot.waitUntil(lambda: window.hub.case_id == ids["case"], timeout=5000)
    questions = []
    window.confirm = lambda _w, _t, text: questions.append(text) or False
    window.actions_by_name["delete_case"].trigger()
    assert questions and "2024-ICE-0042" in questions[0]
    assert "cannot be undone" not in questions[0], "the core restores a deleted case: undo works"
    assert [c.id for c in ws.list_cases()] == [ids["case"], other], "declined: nothing deleted"
    window.confirm = lambda *_a: True
    window.actions_by_name["delete_case"].trigger()
    qtbot.waitUntil(lambda: [c.id for c in ws.list_cases()] == [other], timeout=5000)
    qtbot.waitUntil(lambda: window.case_navigator.model.rowCount() == 1, timeout=5000)
    assert window.hub.case_id is None and window.entity_table.model.rowCount() == 0
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: [c.id for c in ws.list_cases()] == [ids["case"], other], timeout=5000)
    assert ws.count_entities(ids["case"]) == 4, "the case comes back with its records, under its id"


def test_keyboard_shortcuts(qtbot, window, ws):  # noqa: ANN001
    from PySide6.QtGui import QKeySequence

    A = window.actions_by_name
    expected = {"new_case": "Ctrl+N", "lock": "Ctrl+L", "find": "Ctrl+F", "undo": "Ctrl+Z",
                "redo": "Ctrl+Shift+Z", "delete": "Del", "new_entity": "Ctrl+E"}
    for name, keys in expected.items():
        shortcuts = [s.toString() for s in A[name].shortcuts()]
        assert QKeySequence(keys).toString() in shortcuts, (name, shortcuts)

    ids = seed_case(ws, events=2)
    window.case_navigator.reload()
    window.case_navigator.select_case_later(ids["case"])
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 4, timeout=5000)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=2000)
    window.entity_table.view.setFocus()
    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.entity_table.view, Qt.Key.Key_F, shift_ctrl)
    qtbot.waitUntil(lambda: window.entity_table.filter_edit.hasFocus(), timeout=2000)
    qtbot.keyClick(window.entity_table.filter_edit, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.session.is_locked and window.unlock_dialog is not None
