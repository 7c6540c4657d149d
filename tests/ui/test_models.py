"""Qt models over the service API: model-tester checks, lazy paging, service sort/filter."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt

from tests.ui.conftest import seed_case
from ui.models import (
    CaseListModel,
    EntityTableModel,
    EventTableModel,
    HistoryModel,
    LinkListModel,
    NoteListModel,
    PropertiesModel,
)


def _settled(qtbot, model) -> None:  # noqa: ANN001
    """Wait for the whole id list (a first screenful may be shown before it)."""
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)


def _load(qtbot, model, case_id: int) -> None:  # noqa: ANN001
    model.set_query(case_id=case_id)
    _settled(qtbot, model)


def test_entity_model_passes_modeltester_and_sorts_through_service(qtbot, qtmodeltester, session, ws):
    ids = seed_case(ws)
    model = EntityTableModel(session)
    _load(qtbot, model, ids["case"])
    assert model.rowCount() == 4
    qtmodeltester.check(model, force_py=True)
    labels = [model.data(model.index(r, 0)) for r in range(model.rowCount())]
    assert labels == sorted(labels)
    model.sort(0, Qt.SortOrder.DescendingOrder)
    _settled(qtbot, model)
    assert [model.data(model.index(r, 0)) for r in range(model.rowCount())] == sorted(labels, reverse=True)
    model.set_query(text="202-555")
    _settled(qtbot, model)
    assert model.rowCount() == 1
    assert "555" in model.data(model.index(0, 0))
    assert model.data(model.index(0, 1)) == "Phone"


def test_event_model_pages_rows_lazily_and_shows_display_timezone(qtbot, qtmodeltester, session, ws):
    ids = seed_case(ws, events=45)
    model = EventTableModel(session)
    model.PAGE_ROWS = 10
    model.EXPOSE_ROWS = 20
    resets = []
    model.modelReset.connect(lambda: resets.append(model.total()))
    _load(qtbot, model, ids["case"])
    assert model.total() == 45
    assert resets in ([20], [45]), "the full list extends the first screenful without a second reset"
    assert model.rowCount() == 20 and model.canFetchMore(QModelIndex())
    assert not model._pages, "no row values are read before a view asks for them"
    assert model.data(model.index(0, 2)) == "message 0"
    assert list(model._pages) == [0], "only the page of the requested row was fetched"
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 45 and not model.canFetchMore(QModelIndex())
    assert model.data(model.index(44, 2)) == "message 44"
    qtmodeltester.check(model, force_py=True)
    # 09:00 at UTC+1 is 08:00 UTC; the default display zone is UTC.
    assert model.data(model.index(0, 0)) == "2024-03-01 08:00:00"
    from dataclasses import replace

    with qtbot.waitSignal(session.settingsChanged, timeout=5000):
        session.save_settings(replace(session.settings, display_timezone="America/New_York"))
    assert model.data(model.index(0, 0)) == "2024-03-01 03:00:00"
    tip = model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert "UTC+01:00" in tip and "08:00:00 UTC" in tip


def test_event_model_sort_descending_and_kind_filter(qtbot, session, ws):
    ids = seed_case(ws, events=12)
    from tests.ui.conftest import T0

    ws.add_event(ids["case"], "transaction", T0, title="gift card purchase")
    model = EventTableModel(session)
    _load(qtbot, model, ids["case"])
    model.sort(0, Qt.SortOrder.DescendingOrder)
    _settled(qtbot, model)
    assert model.data(model.index(0, 2)) == "message 11"
    model.set_query(kind="transaction")
    _settled(qtbot, model)
    assert model.total() == 1 and model.data(model.index(0, 2)) == "gift card purchase"
    model.set_query(kind=None, text="MESSAGE 1")
    _settled(qtbot, model)
    assert {model.data(model.index(r, 2)) for r in range(model.rowCount())} == {"message 1", "message 10",
                                                                              "message 11"}


def test_edit_refreshes_only_the_changed_row(qtbot, session, ws):
    ids = seed_case(ws, events=3)
    model = EntityTableModel(session)
    _load(qtbot, model, ids["case"])
    row = model.row_of(ids["person"])
    assert model.data(model.index(row, 0)) == "Alex Testperson"
    with qtbot.waitSignal(model.dataChanged, timeout=5000):
        session.mutate(lambda w: w.update_entity(ids["person"], label="Alex T. Testperson"))
    assert model.data(model.index(row, 0)) == "Alex T. Testperson"


def test_small_models_pass_modeltester(qtbot, qtmodeltester, session, ws):
    ids = seed_case(ws, events=3)
    cases = CaseListModel()
    cases.set_items(ws.list_cases())
    qtmodeltester.check(cases, force_py=True)
    assert cases.data(cases.index(0, 3)) == "4" and cases.data(cases.index(0, 4)) == "3"
    assert cases.data(cases.index(0, 5)) == "Local only"

    props = PropertiesModel()
    props.set_pairs([("Kind", "Phone"), ("raw", {"a": 1}), ("none", None)])
    qtmodeltester.check(props, force_py=True)
    assert props.data(props.index(1, 1)) == '{"a": 1}'

    links = LinkListModel()
    person = ws.get_entity(ids["person"])
    phone = ws.get_entity(ids["phone"])
    links.set_links(person.id, ws.list_links(entity_id=person.id), {phone.id: phone})
    qtmodeltester.check(links, force_py=True)
    assert links.data(links.index(0, 0)) == "→ uses"
    assert links.data(links.index(0, 1)) == phone.label

    ws.add_note(ids["case"], "First line\nsecond line")
    notes = NoteListModel(session)
    notes.set_items(ws.list_notes(ids["case"]))
    qtmodeltester.check(notes, force_py=True)
    assert notes.data(notes.index(0, 2)) == "First line"

    history = HistoryModel(session)
    history.set_items(ws.history("entity", person.id))
    qtmodeltester.check(history, force_py=True)
    assert history.data(history.index(0, 2)) == "entity.create"


def test_models_clear_on_lock(qtbot, session, ws):
    ids = seed_case(ws, events=5)
    model = EventTableModel(session)
    _load(qtbot, model, ids["case"])
    assert model.rowCount() == 5
    session.detach()
    assert model.rowCount() == 0 and model.total() == 0
