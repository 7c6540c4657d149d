"""Graphics items of the link chart: entity nodes, edge tiles, group boxes, overview dots.

Level of detail (``QStyleOptionGraphicsItem.levelOfDetailFromTransform``, 1.0 = 100 %):
node labels from :data:`LOD_NODE_LABEL` (text smaller than about 6 pixels is unreadable),
arrowheads from :data:`LOD_ARROWS`, link styles (dashes) from :data:`LOD_EDGE_STYLE`, link
labels and count badges from :data:`LOD_EDGE_LABEL`; and by density: when the view shows
more nodes or links than anyone can read, their labels wait for a closer zoom (the scene's
``node_labels_ok``/``edge_labels_ok``, set by the view once per frame). Links are not items: a few :class:`EdgeTileItem` s each draw the
links whose middle falls in their tile as a handful of batched paths, so a frame costs a
few Python calls per visible tile, not one per link.

The view sets ``DontSavePainterState``: every ``paint`` here sets the pen, brush and font
it uses and never changes the painter's transform, clip or opacity.

Thread: UI thread.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF, QTransform
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from workstation.analysis.graph import ChartNode
from ui.linkchart.paths import (
    clip_segments,
    kind_colour,
    kind_pixmap,
    kind_pixmap_exact,
    pick_size,
    polygons_path,
    segments_path,
)

if TYPE_CHECKING:
    from ui.linkchart.scene import ChartScene

LOD_NODE_LABEL = 0.55
LOD_ARROWS = 0.33
LOD_EDGE_STYLE = 0.22
LOD_EDGE_LABEL = 0.7
MAX_EDGE_LABELS = 300  # per tile and frame; beyond, the labels would be an unreadable carpet
BASE_RADIUS = 18.0
LABEL_WIDTH = 136.0
LABEL_PX = 11.0
CASE_PX = 9.0
EDGE_LABEL_PX = 9.5

Z_GROUP = -20.0
Z_EDGES = -10.0
Z_DOTS = -5.0
Z_NODE = 0.0
Z_NODE_SELECTED = 1.0


_metrics: list[QFontMetricsF] = []


def _label_metrics() -> QFontMetricsF:
    if not _metrics:
        _metrics.append(QFontMetricsF(_font(LABEL_PX)))
    return _metrics[0]


def _font(px: float, bold: bool = False) -> QFont:
    f = QFont()
    f.setPixelSize(max(1, int(round(px))))
    f.setBold(bold)
    return f


_log = logging.getLogger(__name__)
_reported: set[str] = set()


def safe_paint(fn: Callable[..., None]) -> Callable[..., None]:
    """Keep an exception inside ``paint`` from reaching Qt: PySide would try to print it
    from the middle of the C++ paint loop, which can bring the whole app down. The item
    is left partly drawn and the error is logged once per item class."""

    @functools.wraps(fn)
    def paint(self: QGraphicsItem, *args: Any) -> None:
        try:
            fn(self, *args)
        except Exception:  # noqa: BLE001 - see the docstring
            name = type(self).__name__
            if name not in _reported:
                _reported.add(name)
                _log.exception("painting a %s failed", name)

    return paint


def _mix(a: QColor, b: QColor, share_a: float) -> QColor:
    """``share_a`` of colour ``a`` over colour ``b``, as an opaque colour."""
    return QColor(int(a.red() * share_a + b.red() * (1 - share_a)),
                  int(a.green() * share_a + b.green() * (1 - share_a)),
                  int(a.blue() * share_a + b.blue() * (1 - share_a)))


class Palette:
    """Colours of the chart, from the app theme when available."""

    def __init__(self) -> None:
        try:
            from ui.theme import theme_colour

            self.text = theme_colour("text")
            self.muted = theme_colour("muted")
            self.base = theme_colour("base")
            self.highlight = theme_colour("highlight")
            self.htext = theme_colour("htext")
        except Exception:  # noqa: BLE001 - the chart must draw even without the theme module
            self.text, self.muted, self.base = QColor("#1f2937"), QColor("#6b7280"), QColor("#ffffff")
            self.highlight, self.htext = QColor("#2563eb"), QColor("#ffffff")
        # Opaque on purpose: antialiased lines in a translucent colour cost Qt's raster
        # engine about eight times as much to blend.
        self.edge = _mix(self.text, self.base, 0.62)
        self.edge_same_key = QColor("#9333ea")
        self.edge_co = QColor(self.muted)
        self.path = QColor("#f97316")
        self.label_bg = QColor(self.base)
        self.label_bg.setAlphaF(0.86)
        self.pin = QColor("#b91c1c")


class NodeItem(QGraphicsItem):
    """One entity: its kind's icon, its label below, rings for selection/path/centrality,
    a pin mark when pinned, and its case number when it belongs to another case."""

    def __init__(self, chart: ChartScene, node: ChartNode, index: int, foreign: bool = False) -> None:
        super().__init__()
        self.chart = chart
        self.index = index
        self.radius = BASE_RADIUS
        self.ring: QColor | None = None
        self.pinned = False
        self.on_path = False
        self.foreign = foreign
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setZValue(Z_NODE)
        self.set_node(node)

    # ------------------------------------------------------------------ data
    @property
    def entity_id(self) -> int:
        return self.node.entity_id

    def set_node(self, node: ChartNode, foreign: bool | None = None) -> None:
        self.node = node
        if foreign is not None:
            self.foreign = foreign
        fm = _label_metrics()
        width = fm.horizontalAdvance(node.label)
        if width > LABEL_WIDTH - 8:
            self._text = fm.elidedText(node.label, Qt.TextElideMode.ElideMiddle, LABEL_WIDTH - 8)
            width = fm.horizontalAdvance(self._text)
        else:
            self._text = node.label
        self._text_w = width + 8
        self._geometry()

    def tooltip(self) -> str:
        """Rich text for the node's tooltip (built when asked: thousands of nodes)."""
        node = self.node
        tip = f"<b>{_esc(node.label)}</b><br>{_esc(node.kind.replace('_', ' '))}"
        if node.key:
            tip += f"<br><tt>{_esc(node.key)}</tt>"
        tip += f"<br>Case {_esc(node.case_number)}"
        if self.pinned:
            tip += "<br><i>pinned</i>"
        return tip

    def set_radius(self, radius: float) -> None:
        if radius != self.radius:
            self.radius = radius
            self._geometry()

    def set_foreign(self, foreign: bool) -> None:
        if foreign != self.foreign:
            self.foreign = foreign
            self._geometry()

    def _geometry(self) -> None:
        self.prepareGeometryChange()
        r = self.radius
        self._icon_rect = QRectF(-r, -r, 2 * r, 2 * r)
        label_h = LABEL_PX + 6 + (CASE_PX + 3 if self.foreign else 0)
        w = max(LABEL_WIDTH, 2 * r + 16)
        self._label_rect = QRectF(-self._text_w / 2, r + 3, self._text_w, label_h)
        self._rect = QRectF(-w / 2, -r - 8, w, 2 * r + 8 + 3 + label_h + 2)
        shape = QPainterPath()
        shape.addEllipse(QPointF(0, 0), r + 2, r + 2)
        shape.addRect(self._label_rect)
        self._shape = shape

    # ------------------------------------------------------------------ QGraphicsItem
    def boundingRect(self) -> QRectF:
        return self._rect

    def shape(self) -> QPainterPath:
        return self._shape

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self.chart.node_moved(self)
        elif change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.setZValue(Z_NODE_SELECTED if value else Z_NODE)
            self.chart.node_selection_changed()
        return super().itemChange(change, value)

    @safe_paint
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        pal = self.chart.colours
        r = self.radius
        selected = self.isSelected()
        if self.on_path:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            pen = QPen(pal.path, 5.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawEllipse(QPointF(0, 0), r + 5, r + 5)
        if self.ring is not None:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(self.ring, 4.0))
            painter.drawEllipse(QPointF(0, 0), r + 2, r + 2)
        if lod * r < 2.5 and not self.chart.force_detail:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.highlight if selected else kind_colour(self.node.kind))
            painter.drawRect(self._icon_rect)
            return
        transform = painter.worldTransform()
        if transform.type().value <= QTransform.TransformationType.TxScale.value and not self.chart.force_detail:
            # Blit an icon rendered at exactly the on-screen size: scaling a pixmap
            # smoothly on every frame costs far more than drawing it 1:1.
            px = max(4, int(round(2 * r * lod)))
            pix = kind_pixmap_exact(self.node.kind, px, self.chart.pixel_ratio)
            centre = transform.map(QPointF(0, 0))
            painter.setWorldTransform(QTransform())
            painter.drawPixmap(QPointF(round(centre.x() - px / 2), round(centre.y() - px / 2)), pix)
            painter.setWorldTransform(transform)
        else:
            size = pick_size(2 * r * lod * self.chart.pixel_ratio)
            pix = kind_pixmap(self.node.kind, size)
            painter.drawPixmap(self._icon_rect, pix, QRectF(0, 0, size, size))
        if selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            pen = QPen(pal.highlight, 2.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawEllipse(QPointF(0, 0), r + 3, r + 3)
        if self.pinned and (lod > LOD_ARROWS or self.chart.force_detail):
            painter.setPen(QPen(pal.base, 1.2))
            painter.setBrush(pal.pin)
            painter.drawEllipse(QPointF(r * 0.72, -r * 0.72), 4.5, 4.5)
        chart = self.chart
        if not chart.force_detail and (lod < LOD_NODE_LABEL or not chart.node_labels_ok):
            return
        lr = self._label_rect
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(pal.highlight if selected else pal.label_bg)
        painter.drawRoundedRect(lr, 3, 3)
        painter.setPen(pal.htext if selected else pal.text)
        painter.setFont(chart.label_font)
        text = chart.static_text(self._text, chart.label_font)
        painter.drawStaticText(QPointF(-text.size().width() / 2, lr.y() + 2), text)
        if self.foreign:
            painter.setPen(pal.htext if selected else pal.muted)
            painter.setFont(chart.case_font)
            case = chart.static_text(self.node.case_number, chart.case_font)
            painter.drawStaticText(QPointF(-case.size().width() / 2, lr.y() + LABEL_PX + 5), case)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class EdgeTileItem(QGraphicsItem):
    """The links whose middle lies in one tile of the chart, drawn as batched paths.

    ``segments`` maps (style, colour class, state) to the segment end arrays (p0, p1);
    ``triangles`` maps (colour class, state) to arrowhead corners (m × 3 × 2);
    ``underlay`` holds the segments on a highlighted path; ``mid``/``bundle_index`` place
    the link labels. The owner (:class:`ChartScene`) fills these in and calls
    :meth:`set_extent`. When the tile lies wholly on screen its paths are built once and
    reused; otherwise each frame draws only the on-screen parts (see ``clip_segments``).
    The tile takes no mouse buttons, so a drag on the background starts a rubber band.
    """

    STYLE_PENS = {0: Qt.PenStyle.SolidLine, 1: Qt.PenStyle.DashLine, 2: Qt.PenStyle.DotLine}

    def __init__(self, chart: ChartScene) -> None:
        super().__init__()
        self.chart = chart
        self._rect = QRectF()
        self.segments: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.triangles: dict[tuple[int, int], np.ndarray] = {}
        self.underlay: tuple[np.ndarray, np.ndarray] = (np.zeros((0, 2)), np.zeros((0, 2)))
        self.mid = np.zeros((0, 2))
        self.bundle_index = np.zeros(0, np.int64)
        self._full: dict[Any, QPainterPath] = {}
        self.setZValue(Z_EDGES)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def set_data(self, segments: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]],
                 triangles: dict[tuple[int, int], np.ndarray], underlay: tuple[np.ndarray, np.ndarray],
                 mid: np.ndarray, bundle_index: np.ndarray, rect: QRectF) -> None:
        self.segments = segments
        self.triangles = triangles
        self.underlay = underlay
        self.mid = mid
        self.bundle_index = bundle_index
        self._full = {}
        self.prepareGeometryChange()
        self._rect = rect
        self.update()

    def clear(self) -> None:
        empty = np.zeros((0, 2))
        self.set_data({}, {}, (empty, empty), empty, np.zeros(0, np.int64), QRectF())

    def boundingRect(self) -> QRectF:
        return self._rect

    @property
    def paths(self) -> dict[tuple[int, int, int], QPainterPath]:
        """The whole tile's segment paths by (style, colour class, state)."""
        full = self._paths(None)
        return {key: full[key] for key in self.segments}

    def _colour(self, colour_class: int, state: int) -> QColor:
        pal = self.chart.colours
        if state == 1:
            return pal.highlight
        return (pal.edge, pal.edge_co, pal.edge_same_key)[colour_class]

    def _paths(self, clip: tuple[float, float, float, float] | None, with_all: bool = False) -> dict[Any, QPainterPath]:
        """Segment paths by key (plus "all" when asked): cached whole when ``clip`` is
        None, else only the parts inside the clip rectangle (one clipping pass)."""
        if clip is None and self.segments and all(k in self._full for k in self.segments) and (
                not with_all or "all" in self._full):
            return self._full
        keys = list(self.segments)
        if not keys:
            return {"all": QPainterPath()}
        p0 = np.concatenate([self.segments[k][0] for k in keys])
        p1 = np.concatenate([self.segments[k][1] for k in keys])
        code = np.repeat(np.arange(len(keys)), [len(self.segments[k][0]) for k in keys])
        if clip is not None:
            p0, p1, code = clip_segments(p0, p1, *clip, tags=code)
        out: dict[Any, QPainterPath] = {"all": segments_path(p0, p1)} if with_all else {}
        bounds = np.searchsorted(code, np.arange(len(keys) + 1))
        for i, k in enumerate(keys):
            out[k] = segments_path(p0[bounds[i]:bounds[i + 1]], p1[bounds[i]:bounds[i + 1]])
        if clip is None:
            self._full = {**self._full, **out}
        return out

    def _underlay(self, clip: tuple[float, float, float, float] | None) -> QPainterPath:
        p0, p1 = self.underlay
        if clip is not None:
            p0, p1 = clip_segments(p0, p1, *clip)
        return segments_path(p0, p1)

    def _arrows(self, key: tuple[int, int], clip: tuple[float, float, float, float] | None) -> QPainterPath:
        tri = self.triangles[key]
        if clip is None:
            cached = self._full.get(("arrows", key))
            if cached is None:
                cached = self._full[("arrows", key)] = polygons_path(tri)
            return cached
        left, top, right, bottom = clip
        tip = tri[:, 0, :]
        inside = (tip[:, 0] >= left) & (tip[:, 0] <= right) & (tip[:, 1] >= top) & (tip[:, 1] <= bottom)
        return polygons_path(tri[inside])

    def _visible(self, painter: QPainter, option: QStyleOptionGraphicsItem, lod: float) -> QRectF:
        """What of the scene this paint can reach: the device mapped back, the clip, and
        the exposed rectangle, with a margin for line caps and arrowheads."""
        inverse, ok = painter.worldTransform().inverted()
        device = painter.device()
        rect = option.exposedRect
        if ok and device is not None:
            rect = rect.intersected(inverse.mapRect(QRectF(0, 0, device.width(), device.height())))
        if painter.hasClipping():
            rect = rect.intersected(painter.clipBoundingRect())
        margin = 12.0 / max(lod, 1e-3)
        return rect.adjusted(-margin, -margin, margin, margin)

    @safe_paint
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        detail = self.chart.force_detail
        visible = self._visible(painter, option, lod)
        if visible.isEmpty():
            return
        clip = None if visible.contains(self._rect) else (visible.left(), visible.top(), visible.right(),
                                                          visible.bottom())
        # Qt strokes cosmetic lines about fifteen times faster with a clip rectangle set
        # than without one (a view's own repaint sets none), so set one for this tile.
        unclipped = not painter.hasClipping()
        if unclipped:
            painter.setClipRect(visible)
        try:
            self._paint_edges(painter, lod, detail, clip, visible)
        finally:
            if unclipped:
                painter.setClipping(False)

    def _paint_edges(self, painter: QPainter, lod: float, detail: bool, clip: tuple[float, float, float, float] | None,
                     visible: QRectF) -> None:
        pal = self.chart.colours
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if len(self.underlay[0]):
            pen = QPen(pal.path, 7.0)
            pen.setCosmetic(True)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.drawPath(self._underlay(clip))
        simple = (lod < LOD_EDGE_STYLE or self.chart.edges_dense) and not detail
        paths = self._paths(clip, with_all=simple)
        if simple:
            # Far out, or in a hairball of thousands of lines, dashes are noise and cost a
            # lot: one thin aliased pen for everything, selection still highlighted.
            aa = painter.testRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setPen(QPen(pal.edge, 0))
            painter.drawPath(paths["all"])
            for key in self.segments:
                if key[2] == 1:
                    painter.setPen(QPen(pal.highlight, 0))
                    painter.drawPath(paths[key])
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, aa)
            return
        for key in self.segments:
            style, colour, state = key
            # Cosmetic pens of width ≤ 1 keep Qt on its fast stroker; dashed wider pens
            # are an order of magnitude slower.
            pen = QPen(self._colour(colour, state), 1.6 if state and not style else 1.0)
            pen.setCosmetic(True)
            pen.setStyle(self.STYLE_PENS[style])
            painter.setPen(pen)
            painter.drawPath(paths[key])
        if lod >= LOD_ARROWS or detail:
            painter.setPen(Qt.PenStyle.NoPen)
            for akey in self.triangles:
                painter.setBrush(self._colour(*akey))
                painter.drawPath(self._arrows(akey, clip))
        if (lod >= LOD_EDGE_LABEL or detail) and len(self.mid):
            self._paint_labels(painter, visible, detail)

    def _paint_labels(self, painter: QPainter, r: QRectF, detail: bool) -> None:
        m = self.mid
        inside = ((m[:, 0] >= r.left() - 60) & (m[:, 0] <= r.right() + 60)
                  & (m[:, 1] >= r.top() - 20) & (m[:, 1] <= r.bottom() + 20))
        idx = np.flatnonzero(inside)
        chart = self.chart
        if not detail and (len(idx) > MAX_EDGE_LABELS or not chart.edge_labels_ok):
            return
        pal = chart.colours
        font = chart.edge_label_font
        painter.setFont(font)
        h = EDGE_LABEL_PX + 4
        # Highlighted links label first; a label that would cover one already drawn is
        # left out (its link still shows it on hover).
        states = chart.bundle_state[self.bundle_index[idx]]
        idx = idx[np.argsort(-states, kind="stable")]
        taken: set[tuple[int, int]] = set()
        for i in idx.tolist():
            b = int(self.bundle_index[i])
            text = chart.bundle_text[b]
            count = int(chart.bundle_count[b])
            x, y = float(m[i, 0]), float(m[i, 1])
            st = chart.static_text(text, font) if text else None
            w = st.size().width() + 6 if st is not None else 0.0
            badge = chart.static_text(f"×{count}", font) if count > 1 else None
            bw = badge.size().width() + 8 if badge is not None else 0.0
            left = x - (w + bw) / 2
            cells = {(cx, cy) for cx in range(int(left // 24), int((left + w + bw) // 24) + 1)
                     for cy in range(int((y - h / 2) // 12), int((y + h / 2) // 12) + 1)}
            if not detail and not cells.isdisjoint(taken):
                continue
            taken |= cells
            if st is not None:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(pal.label_bg)
                painter.drawRect(QRectF(left, y - h / 2, w, h))
                painter.setPen(pal.path if chart.bundle_state[b] == 2 else pal.text)
                painter.drawStaticText(QPointF(left + 3, y - st.size().height() / 2), st)
            if badge is not None:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(pal.text)
                painter.drawRoundedRect(QRectF(left + w + 1, y - h / 2, bw, h), h / 2, h / 2)
                painter.setPen(pal.base)
                painter.drawStaticText(QPointF(left + w + 5, y - badge.size().height() / 2), badge)


class GroupItem(QGraphicsItem):
    """A named box around some nodes (i2's group frame); drawn behind links and nodes."""

    def __init__(self, chart: ChartScene, name: str, colour: str) -> None:
        super().__init__()
        self.chart = chart
        self.name = name
        self.colour = QColor(colour)
        self._rect = QRectF()
        self.setZValue(Z_GROUP)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = rect.adjusted(0, -22, 0, 0) if not rect.isNull() else QRectF()
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    @safe_paint
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._rect.isNull():
            return
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        fill = QColor(self.colour)
        fill.setAlphaF(0.07)
        pen = QPen(self.colour, 1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawRoundedRect(self._rect, 14, 14)
        if lod >= 0.25 or self.chart.force_detail:
            painter.setPen(self.colour)
            painter.setFont(self.chart.group_font)
            painter.drawText(QRectF(self._rect.x() + 12, self._rect.y() + 3, self._rect.width() - 24, 18),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.name)


class DotsItem(QGraphicsItem):
    """Every node as a coloured dot: stands in for the node items when a very large chart
    is zoomed far out (one call draws thousands of dots)."""

    def __init__(self, chart: ChartScene) -> None:
        super().__init__()
        self.chart = chart
        self._rect = QRectF()
        self.groups: list[tuple[QColor, QPolygonF]] = []
        self.selected = QPolygonF()
        self.setZValue(Z_DOTS)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_points(self, rect: QRectF, groups: list[tuple[QColor, QPolygonF]], selected: QPolygonF) -> None:
        self.prepareGeometryChange()
        self._rect = rect
        self.groups = groups
        self.selected = selected
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    @safe_paint
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for colour, points in self.groups:
            pen = QPen(colour, 6.0)
            pen.setCosmetic(True)
            pen.setCapStyle(Qt.PenCapStyle.SquareCap)
            painter.setPen(pen)
            painter.drawPoints(points)
        if not self.selected.isEmpty():
            pen = QPen(self.chart.colours.highlight, 9.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawPoints(self.selected)


__all__ = ["BASE_RADIUS", "DotsItem", "EdgeTileItem", "GroupItem", "NodeItem", "Palette"]
