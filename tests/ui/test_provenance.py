"""A real chat export imported through the core, then read in the main window:
times in the display timezone, the source file in the table, provenance and history in
the details panel."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QItemSelectionModel

from workstation.ingest.pipeline import run_import


def test_imported_telegram_chat_shows_its_provenance(qtbot, window, ws, shared_data):  # noqa: ANN001
    export = shared_data / "chat" / "telegram" / "result.json"
    case_id = ws.create_case("2024-ICE-0200", "Chat review").id
    result = run_import(ws, case_id, export)
    assert result.events == 4
    window.case_navigator.reload()
    window.case_navigator.select_case_later(case_id)
    events = window.event_table
    qtbot.waitUntil(lambda: events.model.total() == 4 and not events.model.loading, timeout=5000)
    m = events.model
    # README: first message date_unixtime 1692821483 = 2023-08-23 20:11:23 UTC; display zone is UTC
    assert m.data(m.index(0, 0)) == "2023-08-23 20:11:23"
    texts = [m.record(r).body or m.record(r).title for r in range(4)]
    assert texts[0] == "i refuse to converse with you"
    assert m.data(m.index(0, 4)).startswith("result.json")

    events.view.selectionModel().select(m.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                        | QItemSelectionModel.SelectionFlag.Rows)
    details = window.details
    qtbot.waitUntil(lambda: details.data is not None and details.data.table == "event", timeout=5000)
    text = details.provenance_label.text()
    assert "result.json" in text and details.data.source is not None
    assert details.data.source.sha256 in text
    ev = details.data.record
    if ev.source_ref:
        assert ev.source_ref in text

    # the same instant in another display zone
    with qtbot.waitSignal(window.session.settingsChanged, timeout=5000):
        window.session.save_settings(replace(window.session.settings, display_timezone="America/Los_Angeles"))
    assert m.data(m.index(0, 0)) == "2023-08-23 13:11:23"

    # a party of that message is highlighted in the entity table
    parties = {p.entity_id for p in ev.parties}
    ent = window.entity_table.model
    qtbot.waitUntil(lambda: ent.total() > 0 and not ent.loading, timeout=5000)
    assert parties and {ent.id_at(r) for r in range(ent.rowCount()) if ent.is_highlighted(r)} == parties
