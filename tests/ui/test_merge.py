"""Merge and unmerge from the main window: the dialog needs a justification, refuses
different kinds with the core's reason, merges; the details show the merge with Unmerge,
which gives back exactly the links and event parts; undo/redo; suggested duplicates."""

from __future__ import annotations

from datetime import timedelta

import shiboken6
from PySide6.QtCore import Qt

from tests.ui.conftest import T0, seed_case
from ui.dialogs_merge import DuplicatesDialog, DuplicatesModel, MergeDialog, MergeHistoryModel, load_duplicates, load_merge_rows


def _open_case(qtbot, window, case_id: int) -> None:  # noqa: ANN001
    window.case_navigator.reload()
    window.case_navigator.select_case_later(case_id)
    qtbot.waitUntil(lambda: window.hub.case_id == case_id, timeout=5000)


def _merge_dialog(qtbot, window, ids) -> MergeDialog:  # noqa: ANN001
    window.hub.select_entities(ids)
    qtbot.waitUntil(lambda: window.entity_table.selected_ids() == sorted(ids), timeout=5000)
    assert window.actions_by_name["merge"].isEnabled()
    window.actions_by_name["merge"].trigger()
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, MergeDialog), timeout=5000)
    return window.active_dialog


def _duplicate_phone(ws, ids) -> int:  # noqa: ANN001, ANN202
    """A second entity for the seeded phone (as an import that did not reuse makes), with
    a link and an event of its own."""
    dup = ws.add_entity(ids["case"], "phone", "202.555.0142", reuse=False).id
    ws.add_link(ids["email"], dup, "uses")
    ws.add_event(ids["case"], "call", T0 + timedelta(days=1), title="call from the duplicate",
                 parties=[(dup, "caller"), (ids["person"], "callee")])
    return dup


def test_merge_needs_a_justification_and_refuses_different_kinds(qtbot, window, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=3)
    _open_case(qtbot, window, ids["case"])
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 4, timeout=5000)
    window.hub.select_entities([ids["phone"]])
    assert not window.actions_by_name["merge"].isEnabled(), "one entity cannot be merged"

    dlg = _merge_dialog(qtbot, window, [ids["phone"], ids["email"]])
    assert dlg.survivor_list.count() == 2 and not dlg.kind_warning.isHidden()
    assert not dlg.ok_button.isEnabled(), "no justification yet"
    dlg.justification_edit.setPlainText("   \n ")
    assert not dlg.ok_button.isEnabled(), "blank text is no justification"
    dlg.justification_edit.setPlainText("Same subscriber in the carrier return.")
    assert dlg.ok_button.isEnabled()
    dlg.ok_button.click()
    qtbot.waitUntil(lambda: dlg.error_label.isVisible(), timeout=5000)
    assert "different kinds" in dlg.error_label.text(), "the core's reason is shown"
    assert dlg.isVisible() and window.session.undo_stack.count() == 0
    assert ws.merge_history(ids["phone"]) == [] and ws.get_entity(ids["email"]).merged_into is None
    dlg.reject()


def test_merge_then_unmerge_restores_links_and_events(qtbot, window, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=3)
    dup = _duplicate_phone(ws, ids)
    phone = ids["phone"]
    before = {e: ws.count_events(ids["case"], entity_id=e) for e in (phone, dup)}
    links_before = {lk.id: (lk.src_id, lk.dst_id) for lk in ws.list_links(case_id=ids["case"])}
    _open_case(qtbot, window, ids["case"])
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 5, timeout=5000)

    dlg = _merge_dialog(qtbot, window, [phone, dup])
    assert dlg.kind_warning.isHidden()
    assert dlg.survivor_id() == phone, "the older record is kept by default"
    dlg.justification_edit.setPlainText("Same number, imported twice from the two carrier returns.")
    dlg.ok_button.click()
    qtbot.waitUntil(lambda: not shiboken6.isValid(dlg) or not dlg.isVisible(), timeout=5000)
    assert ws.get_entity(dup).merged_into == phone
    assert ws.count_events(ids["case"], entity_id=phone) == before[phone] + before[dup]
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 4, timeout=5000)
    qtbot.waitUntil(lambda: window.hub.entities == {phone}, timeout=5000)

    history = window.merge_history
    qtbot.waitUntil(lambda: history.model.rowCount() == 1 and history.isVisible(), timeout=5000)
    m = history.model
    assert "Same number" in m.data(m.index(0, 4)) and m.data(m.index(0, 5)) == "in force"
    history.select_row(0)
    assert history.unmerge_button.isEnabled()
    history.unmerge_button.click()
    qtbot.waitUntil(lambda: ws.get_entity(dup).merged_into is None, timeout=5000)
    assert {e: ws.count_events(ids["case"], entity_id=e) for e in (phone, dup)} == before
    assert {lk.id: (lk.src_id, lk.dst_id) for lk in ws.list_links(case_id=ids["case"])} == links_before
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 5, timeout=5000)
    qtbot.waitUntil(lambda: m.rowCount() == 1 and m.data(m.index(0, 5)).startswith("undone"), timeout=5000)
    assert not history.unmerge_button.isEnabled()

    # undo the unmerge (merged again), then undo the merge (apart again)
    stack = window.session.undo_stack
    assert stack.count() == 2
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: ws.get_entity(dup).merged_into == phone, timeout=5000)
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: ws.get_entity(dup).merged_into is None, timeout=5000)
    assert {e: ws.count_events(ids["case"], entity_id=e) for e in (phone, dup)} == before
    window.actions_by_name["redo"].trigger()
    qtbot.waitUntil(lambda: ws.get_entity(dup).merged_into == phone, timeout=5000)
    window.actions_by_name["redo"].trigger()
    qtbot.waitUntil(lambda: ws.get_entity(dup).merged_into is None, timeout=5000)
    assert {lk.id: (lk.src_id, lk.dst_id) for lk in ws.list_links(case_id=ids["case"])} == links_before


def test_suggested_duplicates_open_the_merge_dialog(qtbot, window, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=0)
    dup = _duplicate_phone(ws, ids)
    _open_case(qtbot, window, ids["case"])
    dlg = window.show_duplicates()
    assert isinstance(dlg, DuplicatesDialog)
    qtbot.waitUntil(lambda: dlg.model.rowCount() == 1, timeout=5000)
    m = dlg.model
    assert "+1 202-555-0142" in m.data(m.index(0, 2)) and m.data(m.index(0, 0)) == "1.00"
    index = m.index(0, DuplicatesModel.MERGE_COLUMN)
    rect = dlg.view.visualRect(index)
    qtbot.mouseClick(dlg.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # one click
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, MergeDialog), timeout=5000)
    merge = window.active_dialog
    assert {merge.survivor_list.item(i).data(256) for i in range(2)} == {ids["phone"], dup}
    merge.justification_edit.setPlainText("Suggested: same normalised number.")
    merge.ok_button.click()
    qtbot.waitUntil(lambda: ws.get_entity(dup).merged_into == ids["phone"], timeout=5000)
    qtbot.waitUntil(lambda: dlg.model.rowCount() == 0, timeout=5000)
    assert "No duplicates" in dlg.status_label.text()
    dlg.close()


def test_merge_models_contract(qtmodeltester, session, ws) -> None:  # noqa: ANN001
    ids = seed_case(ws, events=0)
    dup = _duplicate_phone(ws, ids)
    dups = DuplicatesModel()
    dups.set_items(load_duplicates(ws, ids["case"]))
    qtmodeltester.check(dups)
    assert dups.rowCount() == 1 and {e.id for e in dups.item(0).entities} == {ids["phone"], dup}
    ws.merge_entities(ids["phone"], [dup], "test merge")
    model = MergeHistoryModel(session)
    model.set_items(load_merge_rows(ws, ids["phone"]))
    qtmodeltester.check(model)
    assert model.rowCount() == 1
    assert model.data(model.index(0, 0)).endswith(f"(#{dup})")
    assert model.data(model.index(0, 1)).endswith(f"(#{ids['phone']})")
    assert model.data(model.index(0, 4)) == "test merge"
