"""Report figures drawn without Qt: a timeline density chart and a link-chart drawing.

A figure is a list of simple shapes (lines, rectangles, circles, text) in a coordinate
system with the origin at the top left, measured in points. The same figure renders to
SVG for the HTML report and to a reportlab ``Drawing`` for the PDF, so both formats show
the same picture as vectors (crisp when zoomed, and no raster image in the file: a
report never carries a picture of seized media, and carries no picture at all).

Pure functions; no I/O. Thread: any.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from html import escape
from typing import Any

# Colours by entity kind and event kind: distinguishable, print-safe on white.
KIND_COLOURS: dict[str, str] = {
    "person": "#1f5fa8", "account": "#7a3fb0", "email": "#2a8a8a", "phone": "#2f8f3a",
    "card": "#c0392b", "ip": "#b8860b", "device": "#6d6d6d", "url": "#d35400", "domain": "#d35400",
    "address": "#8e5b2e", "organisation": "#34495e", "vehicle": "#566573", "bank_account": "#a93226",
    "location": "#8e5b2e",
    "message": "#1f5fa8", "transaction": "#c0392b", "login": "#b8860b", "arrest": "#111111",
    "booking": "#111111", "release": "#566573", "call": "#2f8f3a", "media_capture": "#7a3fb0",
    "note": "#6d6d6d", "system": "#aab7b8", "other": "#95a5a6",
}
FALLBACK_COLOURS = ("#16a085", "#8e44ad", "#2c3e50", "#d4ac0d", "#cb4335", "#1abc9c", "#5d6d7e")
AXIS = "#444444"
GRID = "#dddddd"
MUTED = "#777777"


def colour_for(kind: str) -> str:
    """A stable colour for a kind (known kinds have their own; others hash to a palette)."""
    if kind in KIND_COLOURS:
        return KIND_COLOURS[kind]
    return FALLBACK_COLOURS[sum(kind.encode("utf-8")) % len(FALLBACK_COLOURS)]


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = AXIS
    width: float = 0.6
    opacity: float = 1.0


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str | None = None
    stroke: str | None = None
    width: float = 0.5


@dataclass(frozen=True)
class Circle:
    cx: float
    cy: float
    r: float
    fill: str
    stroke: str = "#ffffff"
    width: float = 0.8


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float = 7.0
    fill: str = AXIS
    anchor: str = "start"  # start | middle | end
    bold: bool = False


Shape = Line | Rect | Circle | Text


@dataclass
class Figure:
    """Shapes on a ``width`` × ``height`` point canvas (origin top left)."""

    width: float
    height: float
    title: str
    shapes: list[Shape] = field(default_factory=list)

    def add(self, shape: Shape) -> None:
        self.shapes.append(shape)


# ---------------------------------------------------------------------- timeline
@dataclass(frozen=True)
class TimelineBins:
    """Event counts per time bucket and kind: ``counts[kind][i]`` for bucket ``i``
    starting at ``start_us + i * bucket_us`` (UTC microseconds)."""

    start_us: int
    bucket_us: int
    n: int
    counts: Mapping[str, Sequence[int]]
    undated: int = 0


_NICE_BUCKETS_S = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400,
                   91 * 86400, 365 * 86400)


def choose_bucket_us(span_us: int, target: int = 60) -> int:
    """A readable bucket width (minutes … years) giving about ``target`` bars."""
    want = max(1, span_us // max(1, target)) / 1_000_000
    for s in _NICE_BUCKETS_S:
        if s >= want:
            return s * 1_000_000
    return _NICE_BUCKETS_S[-1] * 1_000_000


def bucket_name(bucket_us: int) -> str:
    """'hour', 'day', 'week'... for captions."""
    s = bucket_us // 1_000_000
    names = {60: "minute", 300: "5 minutes", 900: "15 minutes", 3600: "hour", 3 * 3600: "3 hours",
             6 * 3600: "6 hours", 86400: "day", 7 * 86400: "week", 30 * 86400: "30 days",
             91 * 86400: "quarter", 365 * 86400: "year"}
    return names.get(s, f"{s} s")


def _fmt_tick(us: int, tz: tzinfo, bucket_us: int) -> str:
    dt = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)).astimezone(tz)
    if bucket_us >= 30 * 86400 * 1_000_000:
        return dt.strftime("%b %Y")
    if bucket_us >= 86400 * 1_000_000:
        return dt.strftime("%d %b %Y")
    return dt.strftime("%d %b %H:%M")


def timeline_figure(bins: TimelineBins, tz: tzinfo, *, width: float = 480, height: float = 190,
                    title: str = "Events over time") -> Figure:
    """A stacked bar chart of events per bucket, coloured by event kind, with a legend."""
    fig = Figure(width, height, title)
    left, right, top, bottom = 34.0, 8.0, 8.0, 44.0
    pw, ph = width - left - right, height - top - bottom
    kinds = sorted(bins.counts, key=lambda k: -sum(bins.counts[k]))
    totals = [sum(bins.counts[k][i] for k in kinds) for i in range(bins.n)]
    peak = max(totals) if totals else 0
    step = _nice_step(max(peak, 1) / 4)
    ymax = step * max(1, math.ceil(max(peak, 1) / step))
    # Grid and y labels at whole, round counts.
    tick = 0.0
    while tick <= ymax + 1e-9:
        y = top + ph - tick / ymax * ph
        fig.add(Line(left, y, left + pw, y, GRID if tick else AXIS, 0.5))
        fig.add(Text(left - 3, y + 2.5, f"{tick:,.0f}", 6.5, MUTED, "end"))
        tick += step
    if bins.n:
        bw = pw / bins.n
        gap = min(1.0, bw * 0.15)
        for i in range(bins.n):
            y = top + ph
            for k in reversed(kinds):
                c = bins.counts[k][i]
                if not c:
                    continue
                h = c / ymax * ph
                y -= h
                fig.add(Rect(left + i * bw + gap / 2, y, max(bw - gap, 0.4), h, colour_for(k)))
        # About six date ticks along the x axis.
        step = max(1, math.ceil(bins.n / 6))
        for i in range(0, bins.n + 1, step):
            x = left + i * bw
            fig.add(Line(x, top + ph, x, top + ph + 3, AXIS, 0.5))
            fig.add(Text(x, top + ph + 11, _fmt_tick(bins.start_us + i * bins.bucket_us, tz, bins.bucket_us),
                         6.2, MUTED, "middle"))
    # Legend.
    x = left
    y = height - 12
    for k in kinds[:8]:
        label = f"{k.replace('_', ' ')} ({sum(bins.counts[k]):,})"
        fig.add(Rect(x, y - 6, 7, 7, colour_for(k)))
        fig.add(Text(x + 10, y, label, 6.8, AXIS))
        x += 16 + len(label) * 3.7
        if x > width - 60:
            break
    return fig


def _nice_step(v: float) -> float:
    """The smallest whole 1/2/5 × 10^n step at least ``v`` (never below 1: counts)."""
    if v <= 1:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 5, 10):
        if m * exp >= v:
            return float(m * exp)
    return float(10 * exp)


# ---------------------------------------------------------------------- link chart
@dataclass(frozen=True)
class ChartNode:
    id: int
    label: str
    kind: str
    weight: float = 1.0


def link_chart_figure(nodes: Sequence[ChartNode], edges: Sequence[tuple[int, int, str]],
                      positions: Mapping[int, tuple[float, float]], *, width: float = 480,
                      height: float = 360, title: str = "Link chart") -> Figure:
    """Nodes at ``positions`` (any coordinates; scaled to fit) joined by their links,
    coloured by entity kind, labelled, with a kind legend."""
    fig = Figure(width, height, title)
    if not nodes:
        fig.add(Text(width / 2, height / 2, "No linked entities in this case.", 9, MUTED, "middle"))
        return fig
    legend_h = 16.0
    pad = 28.0
    xs = [positions[n.id][0] for n in nodes]
    ys = [positions[n.id][1] for n in nodes]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx = (width - 2 * pad - 40) / (x1 - x0) if x1 > x0 else 0.0
    sy = (height - 2 * pad - legend_h) / (y1 - y0) if y1 > y0 else 0.0

    def place(nid: int) -> tuple[float, float]:
        px, py = positions[nid]
        return (pad + 20 + (px - x0) * sx if sx else width / 2,
                pad + (py - y0) * sy if sy else (height - legend_h) / 2)

    placed = {n.id: place(n.id) for n in nodes}
    fig.add(Rect(0.5, 0.5, width - 1, height - 1, None, GRID, 0.5))
    for a, b, _kind in edges:
        if a in placed and b in placed:
            (ax, ay), (bx, by) = placed[a], placed[b]
            fig.add(Line(ax, ay, bx, by, "#9aa5b1", 0.7))
    wmax = max(n.weight for n in nodes) or 1.0
    for n in nodes:
        x, y = placed[n.id]
        r = 3.2 + 4.0 * math.sqrt(max(n.weight, 0.0) / wmax)
        fig.add(Circle(x, y, r, colour_for(n.kind)))
    for n in nodes:
        x, y = placed[n.id]
        label = n.label if len(n.label) <= 26 else n.label[:25] + "…"
        fig.add(Text(x, y - 6.5, label, 5.8, "#222222", "middle"))
    kinds = sorted({n.kind for n in nodes})
    x = 8.0
    y = height - 6
    for k in kinds:
        fig.add(Circle(x + 3, y - 2.5, 3, colour_for(k), colour_for(k), 0))
        fig.add(Text(x + 9, y, k.replace("_", " "), 6.5, AXIS))
        x += 18 + len(k) * 3.6
    return fig


# ---------------------------------------------------------------------- renderers
def to_svg(fig: Figure) -> str:
    """The figure as a standalone SVG element (text escaped; no external references)."""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {fig.width:g} {fig.height:g}" '
           f'width="100%" role="img" aria-label="{escape(fig.title)}" '
           'font-family="DejaVu Sans, Verdana, Arial, sans-serif">',
           f"<title>{escape(fig.title)}</title>"]
    for sh in fig.shapes:
        if isinstance(sh, Line):
            op = f' stroke-opacity="{sh.opacity:g}"' if sh.opacity < 1 else ""
            out.append(f'<line x1="{sh.x1:.2f}" y1="{sh.y1:.2f}" x2="{sh.x2:.2f}" y2="{sh.y2:.2f}" '
                       f'stroke="{sh.stroke}" stroke-width="{sh.width:g}"{op}/>')
        elif isinstance(sh, Rect):
            fill = sh.fill or "none"
            stroke = f' stroke="{sh.stroke}" stroke-width="{sh.width:g}"' if sh.stroke else ""
            out.append(f'<rect x="{sh.x:.2f}" y="{sh.y:.2f}" width="{sh.w:.2f}" height="{sh.h:.2f}" '
                       f'fill="{fill}"{stroke}/>')
        elif isinstance(sh, Circle):
            out.append(f'<circle cx="{sh.cx:.2f}" cy="{sh.cy:.2f}" r="{sh.r:.2f}" fill="{sh.fill}" '
                       f'stroke="{sh.stroke}" stroke-width="{sh.width:g}"/>')
        elif isinstance(sh, Text):
            weight = ' font-weight="bold"' if sh.bold else ""
            out.append(f'<text x="{sh.x:.2f}" y="{sh.y:.2f}" font-size="{sh.size:g}" fill="{sh.fill}" '
                       f'text-anchor="{sh.anchor}"{weight}>{escape(sh.text)}</text>')
    out.append("</svg>")
    return "".join(out)


def to_drawing(fig: Figure, font: str = "Helvetica", bold_font: str = "Helvetica-Bold",
               scale: float = 1.0) -> Any:
    """The figure as a reportlab ``Drawing`` (a flowable for PDF documents)."""
    from reportlab.graphics.shapes import Circle as RCircle
    from reportlab.graphics.shapes import Drawing, Group, String
    from reportlab.graphics.shapes import Line as RLine
    from reportlab.graphics.shapes import Rect as RRect
    from reportlab.lib.colors import HexColor

    h = fig.height
    d = Drawing(fig.width * scale, fig.height * scale)
    g = Group()
    if scale != 1.0:
        g.scale(scale, scale)
    for sh in fig.shapes:
        if isinstance(sh, Line):
            g.add(RLine(sh.x1, h - sh.y1, sh.x2, h - sh.y2, strokeColor=HexColor(sh.stroke),
                        strokeWidth=sh.width))
        elif isinstance(sh, Rect):
            g.add(RRect(sh.x, h - sh.y - sh.h, sh.w, sh.h,
                        fillColor=HexColor(sh.fill) if sh.fill else None,
                        strokeColor=HexColor(sh.stroke) if sh.stroke else None,
                        strokeWidth=sh.width if sh.stroke else 0))
        elif isinstance(sh, Circle):
            g.add(RCircle(sh.cx, h - sh.cy, sh.r, fillColor=HexColor(sh.fill),
                          strokeColor=HexColor(sh.stroke) if sh.width else None, strokeWidth=sh.width))
        elif isinstance(sh, Text):
            g.add(String(sh.x, h - sh.y, sh.text, fontName=bold_font if sh.bold else font,
                         fontSize=sh.size, fillColor=HexColor(sh.fill), textAnchor=sh.anchor))
    d.add(g)
    return d


__all__ = ["Figure", "Line", "Rect", "Circle", "Text", "TimelineBins", "ChartNode", "timeline_figure",
           "link_chart_figure", "to_svg", "to_drawing", "colour_for", "choose_bucket_us", "bucket_name"]
