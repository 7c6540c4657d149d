"""Events known to the day only, on the timeline: the hover text gives the date and says
the time of day is unknown (never the stored midnight as if it were a time, in any zone);
the edit form says so too, keeps the mark on an unrelated edit and drops it once the
officer enters a time of day. The events come from a real import of a date-only card
statement, as an officer would get them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ui.formatting import event_time_tooltip
from ui.timeline import TimelineWidget
from workstation.analysis import timeline as tl
from workstation.domain.service import Workstation
from workstation.ingest.pipeline import run_import
from workstation.ingest.records import ImportOptions

US = 1_000_000
TORONTO = ZoneInfo("America/Toronto")


@pytest.fixture
def statement_case(ws: Workstation, tmp_path: Path) -> int:
    case_id = ws.create_case("TP-UI-1", "Card statement", timezone="America/Toronto").id
    path = tmp_path / "card.csv"
    path.write_text("Transaction Date,Description,Amount\n"
                    "2024-01-05,GIFT CARD PLAZA,-25.00\n"
                    "2024-01-05 13:45:10,CORNER GROCERY,-12.00\n"
                    "2024-01-06 09:12:00,HOTEL CENTRAL,-80.00\n", encoding="utf-8")
    run_import(ws, case_id, path, options=ImportOptions(timezone="America/Toronto"))
    return case_id


@pytest.fixture
def timeline(session: Any, statement_case: int, qtbot: Any) -> Iterator[TimelineWidget]:
    w = TimelineWidget(session, session.hub)
    qtbot.addWidget(w)
    w.resize(1200, 640)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.loaded, timeout=10_000):
        session.hub.select_case(statement_case)
    w.set_lane_mode("kind")
    w.set_visible_range(tl.to_us(datetime(2024, 1, 4, 12, tzinfo=TORONTO)),
                        tl.to_us(datetime(2024, 1, 6, 12, tzinfo=TORONTO)))
    w.redraw()
    yield w
    if w.active_dialog is not None:
        w.active_dialog.close()


def _event(ws: Workstation, case_id: int, title: str) -> Any:
    (ev,) = [e for e in ws.list_events(case_id, limit=None) if e.title == title]
    return ev


def test_hover_gives_the_date_and_says_the_time_is_unknown(timeline: TimelineWidget, ws: Workstation,
                                                            statement_case: int, qtbot: Any) -> None:
    day = _event(ws, statement_case, "GIFT CARD PLAZA")
    timed = _event(ws, statement_case, "CORNER GROCERY")
    assert timeline.mode == "points"
    timeline.set_zone("utc")
    pos = timeline.event_scene_pos(day.id)
    assert pos is not None
    tip = timeline.tooltip_at(pos)
    assert tip is not None
    first_lines = tip.splitlines()[:2]
    assert first_lines == ["GIFT CARD PLAZA", "Transaction · 2024-01-05 · time of day unknown"]
    # Where the mark sits is said as such, not as the time of the payment.
    assert "Drawn across the whole day from 2024-01-05 05:00:00 UTC" in tip
    assert "At the source" not in tip
    # The statement's timed rows read as before.
    timed_pos = timeline.event_scene_pos(timed.id)
    assert timed_pos is not None
    timed_tip = timeline.tooltip_at(timed_pos) or ""
    assert "2024-01-05 18:45:10 UTC" in timed_tip and "unknown" not in timed_tip
    # The same text when the pointer rests on the mark.
    qtbot.mouseMove(timeline.graphics.viewport(), timeline.viewport_pos(pos))
    qtbot.waitUntil(lambda: timeline.hover_text == tip, timeout=3000)


def test_shared_time_texts_give_the_date_only(ws: Workstation, statement_case: int) -> None:
    from ui.formatting import format_event_time

    day = _event(ws, statement_case, "GIFT CARD PLAZA")
    timed = _event(ws, statement_case, "CORNER GROCERY")
    # In a zone where the stored midnight falls on the day before, the day is still the
    # source's day.
    assert format_event_time(day, "Asia/Tokyo") == "2024-01-05 (time of day unknown)"
    assert format_event_time(timed, "UTC") == "2024-01-05 18:45:10"
    tip = event_time_tooltip(day, "UTC")
    assert tip.startswith("2024-01-05, time of day unknown")
    assert "05:00:00" not in tip


def test_the_edit_form_keeps_the_mark_until_a_time_is_entered(timeline: TimelineWidget, ws: Workstation,
                                                               statement_case: int, qtbot: Any) -> None:
    day = _event(ws, statement_case, "GIFT CARD PLAZA")
    timeline.set_zone("utc")
    dlg = timeline.edit_event(day.id)
    assert dlg is not None
    assert any("time of day unknown" in lab.text() for lab in dlg.findChildren(type(dlg.zone_label)))
    # A new title only: still a day.
    dlg.title_edit.setText("GIFT CARD PLAZA (online)")
    dlg.submit()
    qtbot.waitUntil(lambda: ws.get_event(day.id).title == "GIFT CARD PLAZA (online)", timeout=5000)
    assert ws.get_event(day.id).properties["time_precision"] == "day"
    # The officer learns the time (14:20 in Toronto): the time is known from now on.
    dlg = timeline.edit_event(day.id)
    assert dlg is not None
    dlg.time_edit.setDateTime(dlg.time_edit.dateTime().addSecs(14 * 3600 + 20 * 60))
    dlg.submit()
    qtbot.waitUntil(lambda: "time_precision" not in ws.get_event(day.id).properties, timeout=5000)
    edited = ws.get_event(day.id)
    assert edited.ts_utc - day.ts_utc == (14 * 3600 + 20 * 60) * US
    assert edited.occurred_at is not None and day.occurred_at is not None
    assert edited.occurred_at.astimezone(TORONTO).hour == 14
    assert edited.occurred_at - day.occurred_at == timedelta(hours=14, minutes=20)


def test_events_without_a_title_say_what_they_are_in_the_tooltip(timeline: TimelineWidget) -> None:
    # A poll or an omitted picture has no title or text: the hover says what it is.
    from workstation.domain.models import EventInfo

    def event(props: dict) -> EventInfo:
        return EventInfo(id=1, uid="u", case_id=1, kind="message", ts_utc=1_700_000_000_000_000,
                         utc_offset=0, title="", body=None, properties=props, source_id=None,
                         source_ref=None)

    assert timeline.event_tooltip(event({"poll": {"question": "Which day works?"}})
                                  ).splitlines()[0] == "Poll: Which day works?"
    assert timeline.event_tooltip(event({"media_omitted": True, "media_kind": "image"})
                                  ).splitlines()[0] == "Image omitted"


def test_a_day_only_event_shows_across_its_day_at_any_hour(timeline: TimelineWidget, ws: Workstation,
                                                           statement_case: int, session: Any, qtbot: Any) -> None:
    """Zoomed in on the afternoon of 5 January, the purchase known only by its date is
    there beside the one timed at 13:45 — a band across the day, counted in view, and a
    click on the band anywhere in the afternoon selects it (before, the mark sat at its
    midnight and an afternoon view left it out)."""
    from PySide6.QtCore import QPointF, Qt

    day = _event(ws, statement_case, "GIFT CARD PLAZA")
    timed = _event(ws, statement_case, "CORNER GROCERY")
    timeline.set_visible_range(tl.to_us(datetime(2024, 1, 5, 13, tzinfo=TORONTO)),
                               tl.to_us(datetime(2024, 1, 5, 16, tzinfo=TORONTO)))
    timeline.redraw()
    assert timeline.mode == "points"
    assert "2 marks in view" in timeline.status_label.text()
    assert timeline.span_bars.isVisible()
    assert len(timeline.span_bars.opts["x0"]) == 1
    start = timeline.span_bars.opts["x0"][0]
    assert start == tl.to_us(datetime(2024, 1, 5, tzinfo=TORONTO)) / US
    assert start + timeline.span_bars.opts["width"][0] == tl.to_us(datetime(2024, 1, 6, tzinfo=TORONTO)) / US
    timed_pos = timeline.event_scene_pos(timed.id)
    assert timed_pos is not None
    lane_y = timeline.vb.mapSceneToView(timed_pos).y()  # one lane: both are transactions
    at_1530 = timeline.vb.mapViewToScene(QPointF(tl.to_us(datetime(2024, 1, 5, 15, 30, tzinfo=TORONTO)) / US, lane_y))
    tip = timeline.tooltip_at(at_1530)
    assert tip is not None and tip.splitlines()[0] == "GIFT CARD PLAZA"
    qtbot.mouseClick(timeline.graphics.viewport(), Qt.MouseButton.LeftButton, pos=timeline.viewport_pos(at_1530))
    assert session.hub.events == {day.id}
    # The timed purchase's own dot still wins where it is drawn.
    assert timeline.tooltip_at(timed_pos).splitlines()[0] == "CORNER GROCERY"
    # A view of the next morning leaves the day behind.
    timeline.set_visible_range(tl.to_us(datetime(2024, 1, 6, 8, tzinfo=TORONTO)),
                               tl.to_us(datetime(2024, 1, 6, 11, tzinfo=TORONTO)))
    timeline.redraw()
    assert "1 mark in view" in timeline.status_label.text()
    assert not timeline.span_bars.isVisible()
