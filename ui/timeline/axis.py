"""Axes of the timeline: a time axis that writes wall-clock times of a chosen time zone
(daylight saving included), and a lane axis with one elided label per lane.

The time axis places ticks on the zone's own boundaries (local midnight, the first of a
month, whole local hours) by stepping through wall-clock time, so a day tick in
America/Toronto sits at 00:00 Toronto time in winter and in summer alike. Values on the
axis are seconds since the epoch, UTC (pyqtgraph works in floats).

Thread: UI thread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF


@dataclass(frozen=True)
class TickStep:
    """One rung of the tick ladder: ``n`` units of ``unit``; ``chars`` is the widest label."""

    unit: str
    n: int
    seconds: float
    chars: int


_UNIT_S = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0, "day": 86400.0, "week": 7 * 86400.0,
           "month": 30.44 * 86400.0, "year": 365.25 * 86400.0}
_CHARS = {"ms": 12, "s": 8, "min": 10, "h": 10, "day": 6, "week": 6, "month": 4, "year": 4}
_LADDER: tuple[tuple[str, int], ...] = (
    ("ms", 1), ("ms", 2), ("ms", 5), ("ms", 10), ("ms", 20), ("ms", 50), ("ms", 100), ("ms", 200),
    ("ms", 500), ("s", 1), ("s", 2), ("s", 5), ("s", 10), ("s", 15), ("s", 30), ("min", 1), ("min", 2),
    ("min", 5), ("min", 10), ("min", 15), ("min", 30), ("h", 1), ("h", 2), ("h", 3), ("h", 6), ("h", 12),
    ("day", 1), ("day", 2), ("week", 1), ("month", 1), ("month", 3), ("month", 6), ("year", 1),
    ("year", 2), ("year", 5), ("year", 10), ("year", 25), ("year", 50), ("year", 100),
)
STEPS: tuple[TickStep, ...] = tuple(TickStep(u, n, n * _UNIT_S[u], _CHARS[u]) for u, n in _LADDER)
MAX_TICKS = 200
_MIN_S = -62_000_000_000.0   # year ~ 3 CE: datetime cannot go much further
_MAX_S = 253_000_000_000.0   # year ~ 9900


def choose_step(span_s: float, pixels: float, char_px: float, padding_px: float = 16.0) -> TickStep:
    """The finest step whose labels do not touch: spacing ≥ label width + padding."""
    if span_s <= 0 or pixels <= 0:
        return STEPS[len(STEPS) // 2]
    per_px = span_s / pixels
    for step in STEPS:
        if step.seconds / per_px >= step.chars * char_px + padding_px:
            return step
    return STEPS[-1]


def _local(ts_s: float, tz: tzinfo) -> datetime:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=ts_s)).astimezone(tz)


def _floor(local: datetime, step: TickStep) -> datetime:
    """The step boundary at or before ``local`` in wall-clock terms (naive)."""
    d = local.replace(tzinfo=None)
    if step.unit == "h":
        return d.replace(hour=d.hour - d.hour % step.n, minute=0, second=0, microsecond=0)
    if step.unit == "day":
        start = d.replace(hour=0, minute=0, second=0, microsecond=0)
        return start - timedelta(days=start.toordinal() % step.n)
    if step.unit == "week":
        start = d.replace(hour=0, minute=0, second=0, microsecond=0)
        return start - timedelta(days=start.weekday())
    if step.unit == "month":
        m0 = (d.month - 1) - (d.month - 1) % step.n
        return d.replace(month=m0 + 1, day=1, hour=0, minute=0, second=0, microsecond=0)
    year = d.year - d.year % step.n
    return d.replace(year=max(1, year), month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def _advance(d: datetime, step: TickStep) -> datetime:
    if step.unit == "h":
        return d + timedelta(hours=step.n)
    if step.unit == "day":
        return d + timedelta(days=step.n)
    if step.unit == "week":
        return d + timedelta(weeks=1)
    if step.unit == "month":
        months = d.month - 1 + step.n
        return d.replace(year=d.year + months // 12, month=months % 12 + 1)
    return d.replace(year=d.year + step.n)


def tick_values(start_s: float, end_s: float, step: TickStep, tz: tzinfo) -> list[float]:
    """Tick positions (UTC seconds) in [start, end] on ``step`` boundaries of zone ``tz``."""
    start_s, end_s = max(start_s, _MIN_S), min(end_s, _MAX_S)
    if end_s <= start_s:
        return []
    out: list[float] = []
    if step.unit in ("ms", "s", "min"):
        # Offsets are whole minutes, so these boundaries only need the offset at the start.
        off = (_local(start_s, tz).utcoffset() or timedelta(0)).total_seconds()
        size = step.seconds
        k = math.ceil((start_s + off) / size - 1e-9)
        while len(out) < MAX_TICKS:
            v = k * size - off
            if v > end_s:
                break
            out.append(round(v, 6))
            k += 1
        return out
    wall = _floor(_local(start_s, tz), step)
    while len(out) < MAX_TICKS:
        try:
            v = wall.replace(tzinfo=tz).timestamp()
        except (OverflowError, ValueError, OSError):
            break
        if v > end_s:
            break
        if v >= start_s and (not out or v > out[-1]):
            out.append(v)
        try:
            wall = _advance(wall, step)
        except (OverflowError, ValueError):
            break
    return out


def tick_label(ts_s: float, step: TickStep, tz: tzinfo) -> str:
    """The label of one tick: the time, or the date when the tick starts a day, a month
    or a year (so a zoomed-in axis still says which day it shows)."""
    try:
        d = _local(ts_s, tz)
    except (OverflowError, ValueError, OSError):
        return ""
    midnight = d.hour == 0 and d.minute == 0 and d.second == 0 and d.microsecond == 0
    if step.unit == "ms":
        return d.strftime("%H:%M:%S.") + f"{d.microsecond // 1000:03d}"
    if step.unit == "s":
        return d.strftime("%a %d %b") if midnight else d.strftime("%H:%M:%S")
    if step.unit in ("min", "h"):
        return d.strftime("%a %d %b") if midnight else d.strftime("%H:%M")
    if step.unit in ("day", "week"):
        if d.month == 1 and d.day == 1:
            return d.strftime("%Y")
        return d.strftime("%d %b")
    if step.unit == "month":
        return d.strftime("%Y") if d.month == 1 else d.strftime("%b")
    return d.strftime("%Y")


class ZonedTimeAxis(pg.AxisItem):
    """A bottom axis over UTC seconds that labels ticks in a chosen time zone."""

    def __init__(self, tz: tzinfo = UTC, **kwargs: object) -> None:
        super().__init__("bottom", **kwargs)
        self.tz: tzinfo = tz
        self.step: TickStep = STEPS[len(STEPS) // 2]
        self.enableAutoSIPrefix(False)

    def set_zone(self, tz: tzinfo) -> None:
        """Label in ``tz`` from now on (redraws the axis)."""
        self.tz = tz
        self.picture = None
        self.update()

    def _char_px(self) -> float:
        return QFontMetricsF(self.style.get("tickFont") or self.font()).averageCharWidth() * 1.05

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:  # noqa: N802,N803
        if not (math.isfinite(minVal) and math.isfinite(maxVal)) or maxVal <= minVal:
            return []
        self.step = choose_step(maxVal - minVal, size, self._char_px())
        return [(self.step.seconds, tick_values(minVal, maxVal, self.step, self.tz))]

    def tickStrings(self, values: Sequence[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        return [tick_label(v, self.step, self.tz) for v in values]

    def labels_for(self, start_s: float, end_s: float, pixels: float) -> list[tuple[float, str]]:
        """(position, label) of the ticks this axis draws for a range (tests, exports)."""
        levels = self.tickValues(start_s, end_s, pixels)
        if not levels:
            return []
        values = levels[0][1]
        return list(zip(values, self.tickStrings(values, 1.0, levels[0][0]), strict=True))


class LaneAxis(pg.AxisItem):
    """A left axis showing one label per lane (lane ``i`` sits at y = i), elided to fit."""

    def __init__(self, width_px: int = 190, **kwargs: object) -> None:
        super().__init__("left", **kwargs)
        self.labels: list[str] = []
        self.setWidth(width_px)
        self.setStyle(tickLength=0, autoExpandTextSpace=False)
        self.enableAutoSIPrefix(False)

    def set_lanes(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self.picture = None
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:  # noqa: N802,N803
        # An inverted ViewBox (lane 0 on top) hands the range over reversed.
        a, b = min(minVal, maxVal), max(minVal, maxVal)
        lo = max(0, math.ceil(a - 0.01))
        hi = min(len(self.labels) - 1, math.floor(b + 0.01))
        return [(1.0, [float(i) for i in range(lo, hi + 1)])]

    def tickStrings(self, values: Sequence[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        metrics = QFontMetricsF(self.style.get("tickFont") or self.font())
        room = max(20.0, self.width() - 14.0)
        out = []
        for v in values:
            i = int(round(v))
            text = self.labels[i] if 0 <= i < len(self.labels) else ""
            out.append(metrics.elidedText(text, Qt.TextElideMode.ElideRight, room))
        return out
