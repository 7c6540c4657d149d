"""A window picked on the timeline filters the event table and the link chart."""

from __future__ import annotations

from datetime import timedelta

from tests.ui.conftest import T0, seed_case
from workstation.clock import to_micros


def test_timeline_range_filters_event_table_and_chart(qtbot, window, session) -> None:
    ids = seed_case(session.ws, events=30)
    quiet = session.ws.add_entity(ids["case"], "phone", "+1 202-555-0188").id
    session.hub.select_case(ids["case"])
    qtbot.waitUntil(lambda: window.event_table.model.rowCount() == 30, timeout=15000)
    chart = window.open_view("linkchart") or window.view("linkchart")
    chart.build_from_case()
    qtbot.waitUntil(lambda: quiet in chart.scene.nodes, timeout=15000)
    # Events are 7 minutes apart from T0: a 35-minute window holds events 0..4.
    start, end = to_micros(T0), to_micros(T0 + timedelta(minutes=35))
    window._time_range_selected(start, end)
    qtbot.waitUntil(lambda: window.event_table.model.rowCount() == 5, timeout=15000)
    qtbot.waitUntil(lambda: quiet in chart.scene.hidden, timeout=15000)
    assert ids["person"] not in chart.scene.hidden
    window._time_range_selected(None, None)
    qtbot.waitUntil(lambda: window.event_table.model.rowCount() == 30, timeout=15000)
    assert quiet not in chart.scene.hidden
