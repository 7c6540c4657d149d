"""Picture exports of the chart: PNG (the scene rendered into an image) and SVG
(QSvgGenerator from QtSvg, part of PySide6-Essentials). GraphML and i2 ANX are written by
the core (``workstation.analysis.graph``).

Both render every visible node with its label whatever the zoom (the scene's
``force_detail``), on the chart's background colour.

Thread: UI thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator

from workstation.errors import StorageError, UsageError
from ui.linkchart.scene import ChartScene

MAX_PIXELS = 8000  # longest side of a PNG export


def _source(scene: ChartScene) -> QRectF:
    rect = scene.items_rect()
    if rect.isNull():
        raise UsageError("the chart is empty: nothing to export")
    return rect.adjusted(-30, -30, 30, 30)


def render_image(scene: ChartScene, *, scale: float = 1.5) -> QImage:
    """The whole visible chart as an image, ``scale`` pixels per scene unit (reduced so
    the longest side stays within 8,000 pixels)."""
    source = _source(scene)
    scale = min(scale, MAX_PIXELS / max(source.width(), source.height()))
    size = QSize(max(1, int(source.width() * scale)), max(1, int(source.height() * scale)))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(scene.colours.base)
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
                           | QPainter.RenderHint.TextAntialiasing)
    scene.force_detail = True
    try:
        scene.render(painter, QRectF(0, 0, size.width(), size.height()), source, Qt.AspectRatioMode.KeepAspectRatio)
    finally:
        scene.force_detail = False
        painter.end()
    return image


def export_png(scene: ChartScene, path: str | Path, *, scale: float = 1.5) -> Path:
    """Write the chart as PNG; StorageError when the file cannot be written."""
    p = Path(path)
    if not render_image(scene, scale=scale).save(str(p), "PNG"):  # type: ignore[call-overload]
        raise StorageError(f"{p}: the picture could not be written")
    return p


def export_svg(scene: ChartScene, path: str | Path, *, title: str = "Link chart") -> Path:
    """Write the chart as SVG (vector: lines, shapes, text; icons as embedded images)."""
    p = Path(path)
    source = _source(scene)
    gen = QSvgGenerator()
    gen.setFileName(str(p))
    gen.setSize(QSize(int(source.width()), int(source.height())))
    gen.setViewBox(QRectF(0, 0, source.width(), source.height()))
    gen.setTitle(title)
    gen.setDescription("Case Workstation link chart")
    painter = QPainter()
    if not painter.begin(gen):
        raise StorageError(f"{p}: the SVG file could not be written")
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    scene.force_detail = True
    try:
        painter.fillRect(QRectF(0, 0, source.width(), source.height()), scene.colours.base)
        scene.render(painter, QRectF(0, 0, source.width(), source.height()), source,
                     Qt.AspectRatioMode.KeepAspectRatio)
    finally:
        scene.force_detail = False
        painter.end()
    if not p.exists() or p.stat().st_size == 0:
        raise StorageError(f"{p}: the SVG file could not be written")
    return p
