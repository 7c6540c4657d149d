"""Timeline benchmark: redraw time of the timeline view over a million-event case.

Builds (or reuses, with ``--db``) an *encrypted* case database filled by the demo generator
(``build_demo(ws, events=N)`` puts nearly all events in the first case), then measures
offscreen:

* loading the case into the timeline index (one indexed scan; runs off the UI thread in
  the app) and building each lane arrangement;
* for lanes by entity and by kind, at several zoom levels from the whole span down to one
  minute: 30 pan steps of 10 % of the window (sweeping to and fro over the data) and 10
  zoom steps (±20 %), each step timed as
  ``redraw`` (the data work: window lookup, bucket counts or points, item updates) and as
  ``frame`` (redraw plus painting the whole plot, ``QWidget.grab``);
* the tooltip lookup under the pointer;
* for comparison, the same windows counted straight from SQL (``GROUP BY`` over the
  ``(case_id, ts_utc)`` index, and the index range scan for the points levels).

Target: frame p95 ≤ 50 ms at every zoom level. "frame CPU" is the UI thread's own CPU time
for the step: on a shared machine the wall-clock figures include waiting for a core.

    .venv/bin/python benchmarks/bench_timeline.py                       # 1,000,000 events, temp DB
    .venv/bin/python benchmarks/bench_timeline.py --db /tmp/demo1m.db   # build once, reuse later
    .venv/bin/python benchmarks/bench_timeline.py --events 200000 --json out.json
    .venv/bin/python benchmarks/bench_timeline.py --screenshot docs/screenshots/timeline.png

``--screenshot`` renders the timeline over the default demo data set instead (lanes by
entity in the case's zone, an account selected elsewhere, one event selected, a range)
and saves the picture.

Runtime: building 1M demo events takes about 2 minutes; the measurements about 1 minute.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

US = 1_000_000
HOUR = 3600 * US
DAY = 24 * HOUR
LEVELS: tuple[tuple[str, int | None], ...] = (
    ("whole span", None), ("9 days", 9 * DAY), ("1 day", DAY), ("6 h", 6 * HOUR), ("1 h", HOUR),
    ("10 min", 10 * 60 * US), ("1 min", 60 * US),
)
PASSPHRASE = "bench passphrase"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t) * 1000, out


def open_or_build(path: Path | None, events: int) -> tuple[Any, Path, bool]:
    from workstation.demo import build_demo
    from workstation.domain.service import Workstation
    from workstation.store.database import Database

    temp = path is None
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="bench_timeline_")) / "demo.db"
    if path.exists():
        print(f"reusing {path}")
        db = Database.open(path, PASSPHRASE)
        return Workstation(db), path, temp
    print(f"building {events:,} demo events in {path} (encrypted) …", flush=True)
    db = Database.create(path, PASSPHRASE)
    ws = Workstation(db)
    ms, summary = timed(lambda: build_demo(ws, events=events))
    print(f"  built {summary['events']:,} events, {summary['entities']:,} entities in {ms / 1000:.1f} s")
    db.checkpoint()
    return ws, path, temp


def screenshot(target: Path, theme: str) -> int:
    """Render the timeline over the default demo data and save it as ``target``."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from ui.selection import SelectionHub
    from ui.theme import apply_theme
    from ui.timeline import TimelineWidget
    from workstation.demo import build_demo
    from workstation.domain.service import Workstation
    from workstation.store.database import Database

    apply_theme(app, theme)  # type: ignore[arg-type]
    folder = Path(tempfile.mkdtemp(prefix="timeline_shot_"))
    try:
        ws = Workstation(Database.create(folder / "demo.db", PASSPHRASE))
        build_demo(ws)
        hub = SelectionHub()
        w = TimelineWidget(ws, hub)
        w.resize(1440, 760)
        w.show()
        hub.select_case(1)
        w.set_zone("case")
        assert w.index is not None and w.layout_ is not None
        start = int(w.index.ts[0]) + 3 * HOUR
        w.set_visible_range(start, start + int(2.5 * DAY))
        account = next(lane.record_id for lane in w.layout_.lanes if lane.kind == "account")
        assert account is not None
        hub.select_entities({account}, origin="entity table")
        hub.select_events({int(w.index.ids[w.index.rows_of_entities([account])[5]])}, origin="event table")
        w.set_range(start + 20 * HOUR, start + 30 * HOUR)
        w.redraw()
        app.processEvents()
        target.parent.mkdir(parents=True, exist_ok=True)
        w.grab().save(str(target))
        print(f"saved {target}")
        w.close()
        ws.db.lock()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=None, help="database to reuse (built there if missing)")
    ap.add_argument("--steps", type=int, default=30, help="pan steps per zoom level")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    ap.add_argument("--width", type=int, default=1600)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--screenshot", type=Path, default=None, help="save a picture of the demo timeline instead")
    ap.add_argument("--theme", choices=("light", "dark"), default="light")
    args = ap.parse_args()
    if args.screenshot is not None:
        return screenshot(args.screenshot, args.theme)

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from ui.selection import SelectionHub
    from ui.timeline import TimelineWidget
    from workstation.analysis import timeline as tl

    ws, path, temp = open_or_build(args.db, args.events)
    results: dict[str, Any] = {"events_requested": args.events, "levels": []}
    try:
        case_id = max(ws.list_cases(), key=lambda c: c.event_count).id
        def load() -> Any:
            return tl.load_index(ws, [case_id])

        load_ms, index = timed(load)
        load2_ms, index = timed(load)
        print(f"\nindex load: {len(index):,} events, {index.party_row.size:,} party marks: "
              f"{load_ms:.0f} ms (first), {load2_ms:.0f} ms (again)")
        results.update(events=len(index), party_marks=int(index.party_row.size), load_ms=[load_ms, load2_ms])
        for mode in tl.LANE_MODES:
            ms, lay = timed(partial(index.layout, mode))
            print(f"layout {mode:6}: {len(lay.lanes):3} lanes, {len(lay):>9,} marks, {ms:6.1f} ms")
            results[f"layout_{mode}_ms"] = ms

        hub = SelectionHub()
        w = TimelineWidget(ws, hub)
        w.resize(args.width, args.height)
        w.show()
        app.processEvents()
        hub.select_case(case_id)
        app.processEvents()
        extent = index.extent
        assert extent is not None
        # The demo packs the events into the first days; the arrest comes weeks later.
        dense_start = int(index.ts[len(index) // 50])
        print(f"\nwidget {args.width}×{args.height} offscreen; {args.steps} pan steps (10 %) + 10 zoom steps "
              f"per level. ms: median / p95")
        header = (f"{'lanes':6} {'level':11} {'mode':8} {'marks in view':>14} {'redraw':>15} {'frame':>15}"
                  f" {'frame CPU':>15} {'SQL count':>10}")
        print(header)
        print("-" * len(header))
        for mode in ("entity", "kind"):
            w.set_lane_mode(mode)
            for name, span in LEVELS:
                if span is None:
                    a0, span_us = extent[0] - 3600 * US, extent[1] - extent[0] + 7200 * US
                else:
                    a0, span_us = dense_start, span
                w.set_visible_range(a0, a0 + span_us)
                w.redraw()
                w.graphics.grab()
                redraws: list[float] = []
                frames: list[float] = []
                cpu: list[float] = []
                marks: list[int] = []
                modes: set[str] = set()
                # Pan right five steps, back five, and so on: the window stays over the data.
                sweep = [(i % 10) + 1 if (i // 10) % 2 == 0 else 10 - (i % 10) for i in range(args.steps)]
                steps = [(a0 + int(k * span_us * 0.1) - span_us // 2, span_us) for k in sweep]
                centre = a0 + span_us // 2
                for i in range(10):
                    s = int(span_us * (0.8 if i % 2 == 0 else 1.25 * 0.8 + 0.2))
                    steps.append((centre - s // 2, s))
                for start, width in steps:
                    c0 = time.thread_time()
                    t0 = time.perf_counter()
                    w.set_visible_range(start, start + width)
                    got = w.redraw()
                    t1 = time.perf_counter()
                    w.graphics.grab()
                    t2 = time.perf_counter()
                    cpu.append((time.thread_time() - c0) * 1000)
                    redraws.append((t1 - t0) * 1000)
                    frames.append((t2 - t0) * 1000)
                    marks.append(w.layout_.count(start, start + width) if w.layout_ is not None else 0)
                    modes.add(got)
                sql_ms = float("nan")
                if mode == "kind":
                    if span is not None and span <= HOUR:
                        sql_ms, _r = timed(lambda: tl.sql_window_events(ws, case_id, a0, a0 + span_us))
                    else:
                        bucket = tl.nice_bucket_us(span_us, int(w.vb.width() / 4))
                        sql_ms, _r = timed(partial(tl.sql_bucket_counts, ws, case_id, a0, a0 + span_us, bucket))
                row = {
                    "lanes": mode, "level": name, "mode": "/".join(sorted(modes)),
                    "marks_median": int(statistics.median(marks)),
                    "redraw_median_ms": statistics.median(redraws), "redraw_p95_ms": pct(redraws, 0.95),
                    "frame_median_ms": statistics.median(frames), "frame_p95_ms": pct(frames, 0.95),
                    "frame_cpu_median_ms": statistics.median(cpu), "frame_cpu_p95_ms": pct(cpu, 0.95),
                    "sql_ms": sql_ms,
                }
                results["levels"].append(row)
                sql_text = "" if sql_ms != sql_ms else f"{sql_ms:10.0f}"
                print(f"{mode:6} {name:11} {row['mode']:8} {row['marks_median']:>14,} "
                      f"{row['redraw_median_ms']:6.1f} / {row['redraw_p95_ms']:6.1f} "
                      f"{row['frame_median_ms']:6.1f} / {row['frame_p95_ms']:6.1f} "
                      f"{row['frame_cpu_median_ms']:6.1f} / {row['frame_cpu_p95_ms']:6.1f} {sql_text}")
        # Tooltip under the pointer at the points level (one event read by id).
        w.set_lane_mode("entity")
        w.set_visible_range(dense_start, dense_start + 10 * 60 * US)
        w.redraw()
        tips: list[float] = []
        for k in range(40):
            row_i = len(index) // 50 + k
            pos = w.event_scene_pos(int(index.ids[row_i]))
            if pos is not None:
                ms, _t = timed(partial(w.tooltip_at, pos))
                tips.append(ms)
        if tips:
            print(f"\ntooltip lookup (reads the event by id): median {statistics.median(tips):.1f} ms, "
                  f"p95 {pct(tips, 0.95):.1f} ms")
            results["tooltip_ms"] = {"median": statistics.median(tips), "p95": pct(tips, 0.95)}
        worst = max(r["frame_p95_ms"] for r in results["levels"])
        print(f"\nworst frame p95: {worst:.1f} ms (target ≤ 50 ms)")
        results["worst_frame_p95_ms"] = worst
        w.close()
        if args.json:
            args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    finally:
        ws.db.lock()
        if temp:
            shutil.rmtree(path.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
