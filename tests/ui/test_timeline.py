"""The timeline view: selection both ways, range filter, time zones, level of detail,
manual events, stars and tags, saved views, exports, lock.

Clicks and drags are synthetic mouse events on the plot's viewport at the scene position
of an event mark; assertions look at what is drawn (item types, points) and at what the
database stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from defusedxml import ElementTree
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import T0, seed_case
from ui.selection import SelectionHub
from ui.timeline import TimelineWidget
from workstation.analysis import timeline as tl
from workstation.domain.bulk import BulkWriter
from workstation.domain.service import Workstation

US = 1_000_000


def _us(dt: datetime) -> int:
    return tl.to_us(dt)


@pytest.fixture
def seeded(ws: Workstation) -> dict[str, int]:
    ids = seed_case(ws)
    ws.update_case(ids["case"], timezone="America/Toronto")
    return ids


@pytest.fixture
def timeline(session: Any, seeded: dict[str, int], qtbot: Any) -> Iterator[TimelineWidget]:
    w = TimelineWidget(session, session.hub)
    qtbot.addWidget(w)
    w.resize(1200, 640)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.loaded, timeout=10_000):
        session.hub.select_case(seeded["case"])
    yield w
    if w.active_dialog is not None:
        w.active_dialog.close()


def click(qtbot: Any, w: TimelineWidget, scene_pos: QPointF, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
          button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    qtbot.mouseClick(w.graphics.viewport(), button, modifier, w.viewport_pos(scene_pos))


def double_click(qtbot: Any, w: TimelineWidget, scene_pos: QPointF) -> None:
    """What a real double click delivers: press, release, double-click, release (QTest's
    mouseDClick alone sends only the double-click event)."""
    vp, pos = w.graphics.viewport(), w.viewport_pos(scene_pos)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(vp, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=pos)


def drag(w: TimelineWidget, start: QPoint, end: QPoint, modifier: Qt.KeyboardModifier) -> None:
    """A real press-move-release drag with the button held during the moves."""
    vp = w.graphics.viewport()
    from PySide6.QtTest import QTest

    QTest.mousePress(vp, Qt.MouseButton.LeftButton, modifier, start)
    for i in range(1, 6):
        p = QPointF(start + (end - start) * (i / 5))
        ev = QMouseEvent(QEvent.Type.MouseMove, p, QPointF(vp.mapToGlobal(p.toPoint())), Qt.MouseButton.NoButton,
                         Qt.MouseButton.LeftButton, modifier)
        QApplication.sendEvent(vp, ev)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, modifier, end)


def zoom_to(w: TimelineWidget, start: datetime, end: datetime) -> None:
    w.set_visible_range(_us(start), _us(end))
    w.redraw()


# ---------------------------------------------------------------------- selection
def test_click_selects_the_event_and_its_parties(timeline: TimelineWidget, session: Any, ws: Workstation,
                                                 seeded: dict[str, int], qtbot: Any) -> None:
    zoom_to(timeline, T0 - timedelta(minutes=10), T0 + timedelta(hours=1))
    assert timeline.mode == "points"
    target = ws.list_events(seeded["case"], limit=4)[2]  # message 2: other phone → person
    pos = timeline.event_scene_pos(target.id, lane_key=f"entity:{seeded['person']}")
    assert pos is not None
    click(qtbot, timeline, pos)
    assert session.hub.events == {target.id}
    assert session.hub.entities == {p.entity_id for p in target.parties} == {seeded["other"], seeded["person"]}
    # The selected event is ringed where it was clicked.
    xs, ys = timeline.sel_scatter.getData()
    assert len(xs) == 2  # its mark in each of its two party lanes
    assert min(abs(xs - target.ts_utc / US)) < 1e-3
    # Ctrl+click adds a second event; a click on empty space clears.
    second = ws.list_events(seeded["case"], limit=5)[4]
    click(qtbot, timeline, timeline.event_scene_pos(second.id), Qt.KeyboardModifier.ControlModifier)
    assert session.hub.events == {target.id, second.id}
    empty = timeline.vb.mapViewToScene(QPointF(_us(T0 + timedelta(minutes=55)) / US, 0.0))
    click(qtbot, timeline, empty)
    assert session.hub.events == frozenset() and session.hub.entities == frozenset()


def test_selection_made_elsewhere_is_highlighted(timeline: TimelineWidget, session: Any, ws: Workstation,
                                                 seeded: dict[str, int]) -> None:
    zoom_to(timeline, T0 - timedelta(minutes=10), T0 + timedelta(hours=5))
    session.hub.select_entities({seeded["phone"]}, origin="entity table")
    expected = set(ws.event_ids(seeded["case"], entity_id=seeded["phone"]))
    assert expected and timeline.highlighted_event_ids() == expected
    xs, _ys = timeline.rel_scatter.getData()
    lay = timeline.layout_
    a, b = lay.window(*timeline.visible_range())
    marks = np.isin(lay.rows[a:b], timeline.index.rows_of_ids(expected)).sum()
    assert len(xs) == marks >= len(expected)
    lane = timeline.layout_.lane_index(f"entity:{seeded['phone']}")
    assert any(t.isVisible() and abs(t.getRegion()[0] - (lane - 0.5)) < 1e-6 for t in timeline._lane_tints)
    one = sorted(expected)[0]
    session.hub.select_events({one}, origin="event table")
    xs, _ys = timeline.sel_scatter.getData()
    assert len(xs) >= 1 and min(abs(xs - ws.get_event(one).ts_utc / US)) < 1e-3
    # An event selected elsewhere, outside the window, is brought into view.
    late = ws.list_events(seeded["case"], limit=None)[-1]
    zoom_to(timeline, T0, T0 + timedelta(minutes=20))
    session.hub.select_events({late.id}, origin="event table")
    a, b = timeline.visible_range()
    assert a <= late.ts_utc <= b


# ---------------------------------------------------------------------- range
def test_shift_drag_selects_a_time_range(timeline: TimelineWidget, qtbot: Any) -> None:
    zoom_to(timeline, T0, T0 + timedelta(hours=4))
    got: list[tuple[Any, Any]] = []
    timeline.rangeSelected.connect(lambda a, b: got.append((a, b)))
    y = 0.0
    p1 = timeline.viewport_pos(timeline.vb.mapViewToScene(QPointF(_us(T0 + timedelta(hours=1)) / US, y)))
    p2 = timeline.viewport_pos(timeline.vb.mapViewToScene(QPointF(_us(T0 + timedelta(hours=2)) / US, y)))
    drag(timeline, p1, p2, Qt.KeyboardModifier.ShiftModifier)
    assert len(got) == 1
    start, end = got[0]
    per_px = 4 * 3600 * US / timeline.vb.width()
    assert abs(start - _us(T0 + timedelta(hours=1))) <= 2 * per_px
    assert abs(end - _us(T0 + timedelta(hours=2))) <= 2 * per_px
    assert timeline.range_item is not None and timeline.range_us == (start, end)
    # Panning afterwards does not change the range; the view moved, the filter did not.
    timeline.set_visible_range(_us(T0 + timedelta(hours=1)), _us(T0 + timedelta(hours=5)))
    assert timeline.range_us == (start, end) and len(got) == 1
    timeline.set_range(_us(T0), _us(T0 + timedelta(minutes=30)))
    assert got[-1] == (_us(T0), _us(T0 + timedelta(minutes=30)))
    timeline.clear_range()
    assert got[-1] == (None, None) and timeline.range_item is None


def test_overview_window_drives_the_detail_view_and_follows_it(timeline: TimelineWidget) -> None:
    timeline.region.setRegion((_us(T0 + timedelta(hours=1)) / US, _us(T0 + timedelta(hours=2)) / US))
    a, b = timeline.visible_range()
    assert abs(a - _us(T0 + timedelta(hours=1))) < US and abs(b - _us(T0 + timedelta(hours=2))) < US
    zoom_to(timeline, T0, T0 + timedelta(minutes=30))
    ra, rb = timeline.region.getRegion()
    assert abs(ra - _us(T0) / US) < 1 and abs(rb - _us(T0 + timedelta(minutes=30)) / US) < 1
    timeline.zoom_to_selection()  # nothing selected: the view stays
    assert abs(timeline.visible_range()[0] - _us(T0)) < US


# ---------------------------------------------------------------------- time zones
def test_time_zone_switch_changes_ticks_and_tooltips(timeline: TimelineWidget, ws: Workstation,
                                                     seeded: dict[str, int], qtbot: Any) -> None:
    zoom_to(timeline, T0 - timedelta(minutes=10), T0 + timedelta(hours=1))
    ev = ws.list_events(seeded["case"], limit=1)[0]  # 2024-03-01 09:00 at UTC+01:00 = 08:00Z
    pos = timeline.event_scene_pos(ev.id)
    a, b = timeline.visible_range()
    timeline.set_zone("utc")
    utc_ticks = timeline.time_axis.labels_for(a / US, b / US, timeline.vb.width())
    utc_tip = timeline.tooltip_at(pos)
    timeline.set_zone("case")
    toronto_ticks = timeline.time_axis.labels_for(a / US, b / US, timeline.vb.width())
    toronto_tip = timeline.tooltip_at(pos)
    assert "2024-03-01 08:00:00 UTC" in utc_tip
    assert "2024-03-01 03:00:00 America/Toronto (UTC\u221205:00)" in toronto_tip
    assert "At the source: 2024-03-01 09:00:00 (UTC+01:00)" in toronto_tip
    # Same instants, labels five hours apart.
    assert [v for v, _ in utc_ticks] == [v for v, _ in toronto_ticks]
    utc_labels = dict(utc_ticks)
    assert any(utc_labels[v] == "08:00" and lab == "03:00" for v, lab in toronto_ticks)
    assert "America/Toronto" in timeline.zone_combo.currentText()
    # Pointing at the mark puts the same text in the plot's tooltip.
    qtbot.mouseMove(timeline.graphics.viewport(), timeline.viewport_pos(pos))
    qtbot.waitUntil(lambda: timeline.hover_text == toronto_tip, timeout=3000)
    assert timeline.vb.toolTip() == toronto_tip


def test_axis_ticks_follow_daylight_saving() -> None:
    from zoneinfo import ZoneInfo

    from ui.timeline.axis import STEPS, tick_label, tick_values

    toronto = ZoneInfo("America/Toronto")
    day = next(s for s in STEPS if s.unit == "day" and s.n == 1)
    start = datetime(2024, 3, 8, tzinfo=UTC).timestamp()
    end = datetime(2024, 3, 13, tzinfo=UTC).timestamp()
    ticks = tick_values(start, end, day, toronto)
    # Local midnights: 05:00Z before the switch on 10 March, 04:00Z after it.
    hours = [datetime.fromtimestamp(t, UTC).hour for t in ticks]
    assert hours == [5, 5, 5, 4, 4]
    assert [tick_label(t, day, toronto) for t in ticks] == ["08 Mar", "09 Mar", "10 Mar", "11 Mar", "12 Mar"]


# ---------------------------------------------------------------------- level of detail
@pytest.fixture
def big_case(ws: Workstation) -> dict[str, int]:
    """50,000 events over ten days in one case (bulk-written like an import)."""
    case = ws.create_case("2024-BIG-0001", "Large chat case", timezone="America/Toronto").id
    rng = np.random.default_rng(7)
    start = datetime(2024, 1, 8, tzinfo=UTC)
    offsets = np.sort(rng.integers(0, 10 * 86400, 50_000))
    with ws.db.write() as conn:
        w = BulkWriter(ws, conn, case)
        people = [w.entity("person", f"Person {i}", None) for i in range(6)]
        tz = timezone(timedelta(hours=-5))
        for i, off in enumerate(offsets.tolist()):
            kind = "message" if i % 5 else "transaction"
            w.event(kind, (start + timedelta(seconds=off)).astimezone(tz), title=f"e{i}",
                    parties=((people[i % 6], "sender"), (people[(i + 1) % 6], "recipient")))
        w.finish()
    return {"case": case}


def test_zoomed_out_draws_buckets_and_zoomed_in_draws_points(session: Any, big_case: dict[str, int],
                                                             qtbot: Any, ws: Workstation) -> None:
    w = TimelineWidget(session, session.hub)
    qtbot.addWidget(w)
    w.resize(1200, 600)
    w.show()
    with qtbot.waitSignal(w.loaded, timeout=20_000):
        session.hub.select_case(big_case["case"])
    w.set_lane_mode("kind")
    w.fit_all()
    assert w.redraw() == "buckets"
    bars = [b for b in w._kind_bars.values() if b.isVisible()]
    assert bars and not any(s.isVisible() for s in w._kind_scatter.values())
    heights = np.concatenate([np.asarray(b.opts["height"]) for b in bars])
    assert (heights > 0).all()
    # Every visible event is in some bar: the bucket totals equal the count in view.
    a, b = w.visible_range()
    assert w._buckets.counts.sum() == ws.count_events(big_case["case"], start=w._buckets.first_us,
                                                      end=w._buckets.first_us + w._buckets.n_buckets * w._buckets.bucket_us)
    assert w._buckets.counts.sum() == 50_000
    # Ten minutes hold about 35 events: dots, one per event, in their kind lanes.
    start = datetime(2024, 1, 12, 12, tzinfo=UTC)
    zoom_to(w, start, start + timedelta(minutes=10))
    assert w.mode == "points"
    shown = [s for s in w._kind_scatter.values() if s.isVisible()]
    assert shown and not any(b.isVisible() for b in w._kind_bars.values())
    n_points = sum(len(s.getData()[0]) for s in shown)
    assert n_points == ws.count_events(big_case["case"], start=_us(start), end=_us(start + timedelta(minutes=10)))
    # Entity lanes: each event twice (sender and recipient lanes).
    w.set_lane_mode("entity")
    assert sum(len(s.getData()[0]) for s in w._kind_scatter.values() if s.isVisible()) == 2 * n_points
    # Clicking a bar zooms into it.
    w.fit_all()
    w.redraw()
    lane = 0
    bucket = int(np.argmax(w._buckets.counts[lane].sum(axis=1)))
    centre = (w._buckets.first_us + (bucket + 0.5) * w._buckets.bucket_us) / US
    width = w._buckets.bucket_us
    first = w._buckets.first_us + bucket * width
    y = lane + 0.3
    click(qtbot, w, w.vb.mapViewToScene(QPointF(centre, y)))
    a, b = w.visible_range()
    assert abs(a - first) < US and abs(b - (first + width)) < US


# ---------------------------------------------------------------------- manual events, stars, tags
def test_add_a_manual_event_by_double_click_then_edit_it(timeline: TimelineWidget, ws: Workstation, session: Any,
                                                         seeded: dict[str, int], qtbot: Any) -> None:
    zoom_to(timeline, T0 - timedelta(hours=1), T0 + timedelta(hours=4))
    timeline.set_zone("utc")
    lane = timeline.layout_.lane_index(f"entity:{seeded['person']}")
    at = T0 + timedelta(hours=3, minutes=31)  # no event there
    scene = timeline.vb.mapViewToScene(QPointF(_us(at) / US, float(lane)))
    double_click(qtbot, timeline, scene)
    qtbot.waitUntil(lambda: timeline.active_dialog is not None, timeout=3000)
    dlg = timeline.active_dialog
    # Prefilled: the time under the pointer (to the minute) and the lane's entity as a party.
    when = dlg.occurred_at()
    assert abs((when - at).total_seconds()) < 60 and when.utcoffset() == timedelta(0)
    assert dlg.parties_list.count() == 1
    dlg.title_edit.setText("Meeting seen on CCTV")
    dlg.kind_combo.setCurrentIndex(dlg.kind_combo.findData("note"))
    dlg.tags_edit.setText("cctv, key moment")
    dlg.star_check.setChecked(True)
    before = len(timeline.index)
    dlg.submit()
    qtbot.waitUntil(lambda: timeline.active_dialog is None and len(timeline.index) == before + 1, timeout=5000)
    created = [e for e in ws.list_events(seeded["case"], limit=None) if e.title == "Meeting seen on CCTV"]
    assert len(created) == 1
    ev = created[0]
    assert ev.kind == "note" and abs(ev.ts_utc - _us(at)) < 60 * US
    assert ev.properties == {"starred": True, "tags": ["cctv", "key moment"]}
    assert [(p.entity_id, p.role) for p in ev.parties] == [(seeded["person"], "participant")]
    assert session.hub.events == {ev.id}
    # Edit: new time and title; the index moves the event.
    dlg = timeline.edit_event(ev.id)
    assert dlg.title_edit.text() == "Meeting seen on CCTV" and dlg.star_check.isChecked()
    dlg.title_edit.setText("Meeting (corrected)")
    dlg.time_edit.setDateTime(dlg.time_edit.dateTime().addSecs(3600))
    dlg.submit()
    qtbot.waitUntil(lambda: ws.get_event(ev.id).title == "Meeting (corrected)", timeout=5000)
    edited = ws.get_event(ev.id)
    assert edited.ts_utc - ev.ts_utc == 3600 * US
    qtbot.waitUntil(lambda: int(timeline.index.ts[timeline.index.row_of_id(ev.id)]) == edited.ts_utc, timeout=5000)
    # The edit is one undo step on the app's stack.
    session.undo_stack.undo()
    qtbot.waitUntil(lambda: ws.get_event(ev.id).title == "Meeting seen on CCTV", timeout=5000)


def test_a_refused_event_keeps_the_form_open(timeline: TimelineWidget, ui_errors: Any) -> None:
    dlg = timeline.add_event_at(_us(T0))
    dlg.tags_edit.setText("x" * 100)
    dlg.submit()
    assert dlg.isVisible() and "longer than" in dlg.error_label.text()
    dlg.close()


def test_star_and_tags_from_the_context_menu_are_stored(timeline: TimelineWidget, ws: Workstation,
                                                        seeded: dict[str, int], qtbot: Any) -> None:
    zoom_to(timeline, T0 - timedelta(minutes=10), T0 + timedelta(hours=1))
    ev = ws.list_events(seeded["case"], limit=2)[1]
    menu = timeline.build_context_menu(timeline.event_scene_pos(ev.id))
    texts = [a.text() for a in menu.actions()]
    assert "Star" in texts and "Tags…" in texts and "Edit event…" in texts
    next(a for a in menu.actions() if a.text() == "Star").trigger()
    qtbot.waitUntil(lambda: ws.get_event(ev.id).properties.get("starred") is True, timeout=5000)
    qtbot.waitUntil(lambda: bool(timeline.index.starred[timeline.index.row_of_id(ev.id)]), timeout=5000)
    dlg = timeline.edit_tags(ev.id)
    dlg.tags_edit.setText("alibi, Second look")
    dlg.submit()
    qtbot.waitUntil(lambda: ws.get_event(ev.id).properties.get("tags") == ["alibi", "Second look"], timeout=5000)
    qtbot.waitUntil(lambda: timeline.tag_combo.findData("alibi") >= 0, timeout=5000)
    assert "★ starred" in timeline.tooltip_at(timeline.event_scene_pos(ev.id))
    # Filters: starred only shows that one event; the tag filter too.
    timeline.starred_check.setChecked(True)
    assert [int(timeline.index.ids[r]) for r in timeline.layout_.rows] == [ev.id] * len(ev.parties)
    timeline.starred_check.setChecked(False)
    timeline.tag_combo.setCurrentIndex(timeline.tag_combo.findData("Second look"))
    assert {int(timeline.index.ids[r]) for r in timeline.layout_.rows} == {ev.id}
    menu = timeline.build_context_menu(timeline.event_scene_pos(ev.id))
    assert "Unstar" in [a.text() for a in menu.actions()]


def test_without_a_session_edits_run_directly(ws: Workstation, seeded: dict[str, int], qtbot: Any) -> None:
    hub = SelectionHub()
    w = TimelineWidget(ws, hub)
    qtbot.addWidget(w)
    w.resize(1000, 500)
    hub.select_case(seeded["case"])
    assert w.index is not None and len(w.index) == 30
    ev = ws.list_events(seeded["case"], limit=1)[0]
    w.set_starred([ev.id], True)
    assert ws.get_event(ev.id).properties == {"starred": True}
    assert bool(w.index.starred[w.index.row_of_id(ev.id)])


# ---------------------------------------------------------------------- views, export, lock
def test_saved_view_round_trip(timeline: TimelineWidget, ws: Workstation, seeded: dict[str, int], qtbot: Any) -> None:
    timeline.set_lane_mode("kind")
    timeline.set_zone("case")
    zoom_to(timeline, T0 + timedelta(hours=1), T0 + timedelta(hours=3))
    timeline.set_range(_us(T0 + timedelta(hours=1, minutes=30)), _us(T0 + timedelta(hours=2)))
    timeline.set_filter(tl.TimelineFilter(hidden_kinds=frozenset({"call"}), starred_only=False, tag=None))
    saved = timeline.current_view()
    dlg = timeline.open_save_view_dialog()
    dlg.name_combo.setCurrentText("Evening of 1 March")
    dlg.submit()
    qtbot.waitUntil(lambda: tl.list_views(ws, seeded["case"]) == ["Evening of 1 March"], timeout=5000)
    qtbot.waitUntil(lambda: timeline.active_dialog is None, timeout=3000)
    timeline.set_lane_mode("entity")
    timeline.set_zone("utc")
    timeline.clear_range()
    timeline.set_filter(tl.TimelineFilter())
    timeline.fit_all()
    got: list[tuple[Any, Any]] = []
    timeline.rangeSelected.connect(lambda a, b: got.append((a, b)))
    timeline.apply_view("Evening of 1 March")
    assert timeline.current_view() == saved
    assert timeline.lane_mode == "kind" and timeline.zone_choice == "case"
    assert got == [(saved.range_start_us, saved.range_end_us)]
    timeline._fill_views_menu()
    assert "Evening of 1 March" in [a.text() for a in timeline.views_menu.actions()]


def test_export_png_and_svg(timeline: TimelineWidget, tmp_path: Path, ws: Workstation) -> None:
    png = timeline.export_image(tmp_path / "timeline.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    svg = timeline.export_image(tmp_path / "timeline.svg")
    root = ElementTree.fromstring(svg.read_bytes())
    assert root.tag.endswith("svg")
    assert "2024-ICE-0042" in svg.read_text(encoding="utf-8")
    with ws.db.read() as conn:
        exports = [e for e in ws.audit.entries(conn) if e.action == "timeline.export"]
    assert [(e.details["target"], e.details["format"]) for e in exports] == [(str(png), "png"), (str(svg), "svg")]
    assert exports[0].details["sha256"] == __import__("hashlib").sha256(data).hexdigest()
    with pytest.raises(Exception, match="png or .svg"):
        timeline.export_image(tmp_path / "timeline.pdf")


def test_lock_drops_everything_shown(timeline: TimelineWidget, session: Any, qtbot: Any) -> None:
    assert timeline.index is not None
    session.detach()
    assert timeline.index is None and timeline.layout_ is None and timeline.mode == "empty"
    assert all(not s.isVisible() for s in timeline._kind_scatter.values())


def test_lanes_that_do_not_fit_scroll(timeline: TimelineWidget, qtbot: Any) -> None:
    n = len(timeline.layout_.lanes)
    assert not timeline.lane_scroll.isEnabled()
    timeline.resize(900, 260)

    def shown() -> int:
        y0, y1 = timeline.vb.viewRange()[1]
        return round(y1 - y0)
    qtbot.waitUntil(lambda: timeline.lane_scroll.isEnabled() and shown() < n
                    and "lanes 1–" in timeline.status_label.text(), timeout=3000)
    timeline.lane_scroll.setValue(timeline.lane_scroll.maximum())
    y0, y1 = timeline.vb.viewRange()[1]
    assert abs(y1 - (n - 0.5)) < 1e-6
    # The lane axis now labels the last lanes.
    (_spacing, values), = timeline.lane_axis.tickValues(y0, y1, 100.0)
    assert values[-1] == n - 1 and values[0] == n - shown()
    assert timeline.lane_axis.tickStrings(values, 1.0, 1.0)[-1].startswith(timeline.layout_.lanes[-1].label[:6])


def test_wheel_box_zoom_and_zoom_to_selection(timeline: TimelineWidget, session: Any, ws: Workstation,
                                              seeded: dict[str, int], qtbot: Any) -> None:
    from PySide6.QtGui import QWheelEvent

    zoom_to(timeline, T0, T0 + timedelta(hours=4))
    lanes_before = timeline.vb.viewRange()[1]
    vp = timeline.graphics.viewport()
    centre = timeline.viewport_pos(timeline.vb.mapViewToScene(QPointF(_us(T0 + timedelta(hours=2)) / US, 1.0)))
    wheel = QWheelEvent(QPointF(centre), QPointF(vp.mapToGlobal(centre)), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, wheel)
    a, b = timeline.visible_range()
    assert b - a < 4 * 3600 * US * 0.9 and a <= _us(T0 + timedelta(hours=2)) <= b  # zoomed in around the pointer
    assert timeline.vb.viewRange()[1] == lanes_before  # time only
    # Box zoom: drag a span, the window becomes that span (lanes untouched).
    timeline.box_button.click()
    zoom_to(timeline, T0, T0 + timedelta(hours=4))
    p1 = timeline.viewport_pos(timeline.vb.mapViewToScene(QPointF(_us(T0 + timedelta(hours=1)) / US, 0.5)))
    p2 = timeline.viewport_pos(timeline.vb.mapViewToScene(QPointF(_us(T0 + timedelta(hours=3)) / US, 1.5)))
    drag(timeline, p1, p2, Qt.KeyboardModifier.NoModifier)
    a, b = timeline.visible_range()
    per_px = 4 * 3600 * US / timeline.vb.width()
    assert abs(a - _us(T0 + timedelta(hours=1))) <= 2 * per_px and abs(b - _us(T0 + timedelta(hours=3))) <= 2 * per_px
    assert timeline.vb.viewRange()[1] == lanes_before
    timeline.box_button.click()
    # Zoom to selection: the selected events' span, padded.
    events = ws.list_events(seeded["case"], limit=None)
    picked = [events[3].id, events[9].id]
    session.hub.select_events(picked, origin="event table")
    timeline.fit_all()
    timeline.zoom_sel_button.click()
    a, b = timeline.visible_range()
    assert a < events[3].ts_utc < events[9].ts_utc < b
    assert b - a < (events[9].ts_utc - events[3].ts_utc) * 1.5


def test_edits_elsewhere_show_up(timeline: TimelineWidget, session: Any, ws: Workstation, seeded: dict[str, int],
                                 qtbot: Any) -> None:
    from ui.commands import UpdateCommand, execute

    # Renaming an entity (as the details pane would) relabels its lane without a reload.
    execute(session, UpdateCommand(session, "entity", seeded["person"], {"label": "Alex Testperson"},
                                   {"label": "Alex T. (suspect)"}, "Rename"))
    lane = timeline.layout_.lane_index(f"entity:{seeded['person']}")
    qtbot.waitUntil(lambda: timeline.layout_.lanes[lane].label == "Alex T. (suspect)", timeout=5000)
    assert timeline.lane_axis.labels[lane].startswith("Alex T. (suspect)")
    # Deleting an event elsewhere takes it off the timeline.
    gone = ws.list_events(seeded["case"], limit=1)[0].id
    session.mutate(lambda w: w.delete_event(gone))
    qtbot.waitUntil(lambda: timeline.index.row_of_id(gone) is None, timeout=5000)
    assert len(timeline.index) == 29


def test_an_empty_case_offers_today(session: Any, ws: Workstation, qtbot: Any) -> None:
    case = ws.create_case("2024-EMPTY-1", "Nothing yet").id
    w = TimelineWidget(session, session.hub)
    qtbot.addWidget(w)
    w.resize(900, 400)
    w.show()
    with qtbot.waitSignal(w.loaded, timeout=10_000):
        session.hub.select_case(case)
    assert w.redraw() == "empty" and "no dated events" in w.empty_text.toPlainText()
    a, b = w.visible_range()
    now = _us(datetime.now(UTC))
    assert a < now < b
    dlg = w.add_event_at((a + b) // 2)
    dlg.title_edit.setText("first note")
    dlg.submit()
    qtbot.waitUntil(lambda: w.index is not None and len(w.index) == 1, timeout=5000)
    assert w.redraw() == "points"


def test_starring_a_selection_is_one_undo_step(timeline: TimelineWidget, session: Any, ws: Workstation,
                                               seeded: dict[str, int], qtbot: Any) -> None:
    ids = [e.id for e in ws.list_events(seeded["case"], limit=6)]
    session.hub.select_events(ids, origin="event table")
    empty = timeline.vb.mapViewToScene(QPointF(_us(T0 - timedelta(hours=5)) / US, 0.0))
    menu = timeline.build_context_menu(empty)
    next(a for a in menu.actions() if a.text() == "Star 6 selected").trigger()
    qtbot.waitUntil(lambda: all(ws.get_event(i).properties.get("starred") for i in ids), timeout=5000)
    qtbot.waitUntil(lambda: int(timeline.index.starred.sum()) == 6, timeout=5000)
    assert session.undo_stack.count() == 1
    session.undo_stack.undo()
    qtbot.waitUntil(lambda: not any(ws.get_event(i).properties.get("starred") for i in ids), timeout=5000)
    qtbot.waitUntil(lambda: int(timeline.index.starred.sum()) == 0, timeout=5000)
