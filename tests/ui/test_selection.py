"""Linked selection: one SelectionHub shared by the entity and event tables."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt

from tests.ui.conftest import seed_case
from ui.selection import SelectionHub


def _open_case(qtbot, window, case_id: int, entities: int, events: int) -> None:  # noqa: ANN001
    window.case_navigator.reload()
    window.case_navigator.select_case_later(case_id)
    qtbot.waitUntil(lambda: window.entity_table.model.total() == entities
                    and window.event_table.model.total() == events, timeout=5000)


def _highlighted_rows(table) -> set[int]:  # noqa: ANN001
    m = table.model
    return {r for r in range(m.rowCount())
            if m.data(m.index(r, 2), Qt.ItemDataRole.BackgroundRole) is not None}


def test_hub_emits_once_and_carries_origin(qtbot) -> None:  # noqa: ANN001
    hub = SelectionHub()
    got = []
    hub.entitiesSelected.connect(lambda ids, origin: got.append((ids, origin)))
    hub.select_entities([3, 1], origin="a")
    hub.select_entities([1, 3], origin="b")  # same set: no echo, no loop
    assert got == [(frozenset({1, 3}), "a")]
    hub.select_case(7)
    assert hub.entities == frozenset() and got[-1] == (frozenset(), None)


def test_selecting_an_entity_highlights_its_events(qtbot, window, ws):  # noqa: ANN001
    ids = seed_case(ws, events=12)
    _open_case(qtbot, window, ids["case"], 4, 12)
    entity_view = window.entity_table.view
    row = window.entity_table.model.row_of(ids["other"])
    # a real click on the entity row
    rect = entity_view.visualRect(window.entity_table.model.index(row, 0))
    qtbot.mouseClick(entity_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.hub.entities == {ids["other"]}
    events = window.event_table
    expected = {r for r in range(events.model.rowCount())
                if ids["other"] in {p.entity_id for p in events.model.record(r).parties}}
    assert expected and _highlighted_rows(events) == expected
    assert len(expected) == 4  # every third message involves the other phone

    # "Only selected entity" narrows the event list to those events
    events.only_selected_check.setChecked(True)
    qtbot.waitUntil(lambda: events.model.total() == 4, timeout=5000)
    events.only_selected_check.setChecked(False)
    qtbot.waitUntil(lambda: events.model.total() == 12, timeout=5000)


def test_selecting_events_selects_them_everywhere_and_marks_parties(qtbot, window, ws):  # noqa: ANN001
    ids = seed_case(ws, events=9)
    _open_case(qtbot, window, ids["case"], 4, 9)
    events = window.event_table
    sm = events.view.selectionModel()
    sm.select(events.model.index(1, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
              | QItemSelectionModel.SelectionFlag.Rows)
    ev = events.model.record(1)
    assert window.hub.events == {ev.id}
    parties = {p.entity_id for p in ev.parties}
    assert parties == {ids["email"], ids["person"]}
    ent = window.entity_table.model
    marked = {ent.id_at(r) for r in range(ent.rowCount()) if ent.is_highlighted(r)}
    assert marked == parties
    # the details panel follows the selected event
    qtbot.waitUntil(lambda: window.details.data is not None and window.details.data.table == "event",
                    timeout=5000)
    assert window.details.data.record.id == ev.id


def test_hub_selection_selects_rows_in_the_entity_table(qtbot, window, ws):  # noqa: ANN001
    ids = seed_case(ws, events=3)
    _open_case(qtbot, window, ids["case"], 4, 3)
    window.hub.select_entities([ids["phone"], ids["email"]], origin="link chart")
    assert sorted(window.entity_table.selected_ids()) == sorted([ids["phone"], ids["email"]])
    # and the table's own changes go back to the hub
    window.entity_table.view.clearSelection()
    assert window.hub.entities == frozenset()


def test_selection_survives_a_reload_after_an_edit(qtbot, window, ws):  # noqa: ANN001
    ids = seed_case(ws, events=3)
    _open_case(qtbot, window, ids["case"], 4, 3)
    window.hub.select_entities([ids["phone"]])
    window.session.mutate(lambda w: w.add_entity(ids["case"], "person", "Robin Notreal"))
    qtbot.waitUntil(lambda: window.entity_table.model.total() == 5 and not window.entity_table.model.loading,
                    timeout=5000)
    assert window.entity_table.selected_ids() == [ids["phone"]]
