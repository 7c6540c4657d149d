"""The chart view: zoom on the wheel, pan with the middle button (or Space + drag),
rubber-band selection, link tooltips, and the level-of-detail switches that depend on
the zoom (antialiasing, overview dots on huge charts).

Thread: UI thread.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QFont, QKeyEvent, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsView, QToolTip, QWidget

from ui.linkchart.scene import ChartScene

MIN_ZOOM = 0.01
MAX_ZOOM = 8.0
OVERVIEW_ZOOM = 0.25     # below: dots instead of node items (only on large charts)
ANTIALIAS_ZOOM = 0.3     # below: no antialiasing (lines of a few pixels gain nothing from it)


class ChartView(QGraphicsView):
    """A QGraphicsView tuned for big charts. See the module doc."""

    zoomChanged = Signal(float)
    nodeActivated = Signal(int)                 # double-click on a node: its entity id
    contextRequested = Signal(object, QPoint)   # entity id under the cursor (or None), global pos

    def __init__(self, scene: ChartScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.chart = scene
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
                            | QPainter.RenderHint.TextAntialiasing)
        self.setOptimizationFlags(QGraphicsView.OptimizationFlag.DontSavePainterState
                                  | QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        scene.pixel_ratio = max(1.0, self.devicePixelRatioF())
        self._space = False
        self.hint = "No chart yet. Build one from the case or from selected entities."

    # ------------------------------------------------------------------ zoom
    def zoom(self) -> float:
        """The current scale (1.0 = 100 %)."""
        return self.transform().m11()

    def set_zoom(self, scale: float) -> None:
        scale = min(MAX_ZOOM, max(MIN_ZOOM, scale))
        factor = scale / self.zoom()
        if abs(factor - 1.0) > 1e-9:
            self.scale(factor, factor)
        self._zoomed()

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom() * factor)

    def fit(self, rect: QRectF | None = None) -> None:
        """Show ``rect`` (default: every visible node) whole, at most at 100 %."""
        rect = rect if rect is not None else self.chart.items_rect()
        if rect.isNull() or rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.set_zoom(1.0)
            self.centerOn(rect.center())
        self._zoomed()

    def centre(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def _zoomed(self) -> None:
        z = self.zoom()
        self.setRenderHint(QPainter.RenderHint.Antialiasing, z >= ANTIALIAS_ZOOM)
        self.chart.set_overview(z < OVERVIEW_ZOOM)
        self.zoomChanged.emit(z)

    # ------------------------------------------------------------------ events
    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(1.0015 ** delta)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
            return
        if event.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(1.25)
            return
        if event.key() == Qt.Key.Key_Minus:
            self.zoom_by(0.8)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            now = event.position().toPoint()
            delta = now - self._pan_from
            self._pan_from = now
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton and self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        node = self.chart.node_at(self.mapToScene(event.position().toPoint()))
        if node is not None and event.button() == Qt.MouseButton.LeftButton:
            self.nodeActivated.emit(node.entity_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        node = self.chart.node_at(self.mapToScene(event.pos()))
        if node is not None and not node.isSelected():
            self.chart.select_ids([node.entity_id])
            self.chart.selectionSettled.emit()
        self.contextRequested.emit(node.entity_id if node is not None else None, event.globalPos())
        event.accept()

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            pos = event.pos()  # type: ignore[attr-defined]
            scene_pos = self.mapToScene(pos)
            node = self.chart.node_at(scene_pos)
            if node is not None:
                QToolTip.showText(event.globalPos(), node.tooltip(), self)  # type: ignore[attr-defined]
                return True
            bundle = self.chart.bundle_at(scene_pos, 6.0 / max(self.zoom(), 1e-6))
            if bundle is not None:
                QToolTip.showText(event.globalPos(), self.bundle_tooltip(bundle), self)  # type: ignore[attr-defined]
                return True
            QToolTip.hideText()
        return super().viewportEvent(event)

    def bundle_tooltip(self, bundle) -> str:  # noqa: ANN001 - LinkBundle
        nodes = self.chart.chart.nodes
        a, b = nodes.get(bundle.a), nodes.get(bundle.b)
        lines = [f"<b>{_esc(a.label if a else '?')}</b> — <b>{_esc(b.label if b else '?')}</b>"]
        for lid in bundle.link_ids[:12]:
            link = self.chart.chart.links.get(lid)
            if link is None:
                continue
            arrow = "→" if link.directed else "—"
            src = nodes.get(link.src_id)
            extra = f", {link.weight} events" if link.origin == "co_occurs" else ""
            lines.append(f"{_esc(src.label if src else '?')} {arrow} {_esc(link.kind.replace('_', ' '))}"
                         f" (confidence {link.confidence:.0%}{extra})")
        if bundle.count > 12:
            lines.append(f"… and {bundle.count - 12} more")
        return "<br>".join(lines)

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        # Once per frame, before any item: let the scene judge label density for the whole
        # view (not the exposed part, or a partial update would disagree with the rest).
        try:
            self.chart.begin_frame(self.mapToScene(self.viewport().rect()).boundingRect())
        except Exception:  # noqa: BLE001 - an exception must not escape into Qt's paint loop
            logging.getLogger(__name__).exception("judging the label density failed")
        super().drawBackground(painter, rect)

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        if self.chart.nodes:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor(self.chart.colours.muted))
        font = QFont()
        font.setPointSize(11)
        painter.setFont(font)
        painter.drawText(QRectF(self.viewport().rect()), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                         self.hint)
        painter.restore()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
