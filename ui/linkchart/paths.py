"""Fast QPainterPath construction from numpy arrays, and the icon pixmaps of entity kinds.

A chart of 20,000 links cannot afford one Python call per line per frame. Lines are
batched into a few QPainterPaths per tile; building such a path element by element from
Python would cost tens of milliseconds, so we write Qt's own serialised form of a path
(``QDataStream << QPainterPath``: element count, then type/x/y per element, then the
index of the last sub-path start and the fill rule, big-endian) with numpy and read it
back in one call.

Thread: UI thread (QPixmap); the numpy parts are pure.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from importlib import resources

import numpy as np
from PySide6.QtCore import QByteArray, QDataStream, QIODevice, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPixmap, QPolygonF
from PySide6.QtSvg import QSvgRenderer

_ELEMENT = np.dtype([("t", ">i4"), ("x", ">f8"), ("y", ">f8")])
_MOVE, _LINE = 0, 1

# Colours of the kinds (the circle of each icon); also used for dots when zoomed far out
# and for the fallback shape of a kind without an icon.
KIND_COLOURS: dict[str, str] = {
    "person": "#2563eb", "account": "#7c3aed", "email": "#0891b2", "phone": "#059669", "card": "#d97706",
    "ip": "#475569", "device": "#4b5563", "url": "#0284c7", "domain": "#0369a1", "address": "#b45309",
    "organisation": "#9333ea", "vehicle": "#be123c", "bank_account": "#a16207", "location": "#16a34a",
}
_FALLBACK_COLOUR = "#64748b"
ICON_SIZES: tuple[int, ...] = (16, 32, 64, 128)


def _from_elements(elements: np.ndarray, last_start: int) -> QPainterPath:
    head = np.array([len(elements)], ">i4").tobytes()
    tail = np.array([last_start, 0], ">i4").tobytes()  # cStart, Qt::OddEvenFill
    data = QByteArray(head + elements.tobytes() + tail)
    path = QPainterPath()
    stream = QDataStream(data, QIODevice.OpenModeFlag.ReadOnly)
    stream >> path
    return path


def segments_path(p0: np.ndarray, p1: np.ndarray) -> QPainterPath:
    """One path holding the line segments p0[i] → p1[i] (arrays of shape m × 2)."""
    m = len(p0)
    if m == 0:
        return QPainterPath()
    el = np.empty(2 * m, _ELEMENT)
    el["t"][0::2] = _MOVE
    el["t"][1::2] = _LINE
    el["x"][0::2] = p0[:, 0]
    el["y"][0::2] = p0[:, 1]
    el["x"][1::2] = p1[:, 0]
    el["y"][1::2] = p1[:, 1]
    return _from_elements(el, 2 * m - 2)


def clip_segments(p0: np.ndarray, p1: np.ndarray, left: float, top: float, right: float,
                  bottom: float, tags: np.ndarray | None = None) -> Any:
    """The parts of segments p0[i] → p1[i] inside a rectangle (Liang–Barsky, vectorised);
    segments wholly outside are dropped. With ``tags`` (one value per segment, sorted)
    a third array gives the kept segments' tags, still sorted.

    Qt's rasteriser walks a cosmetic line's whole length even where it is clipped away,
    so a chart zoomed in on a hairball of long links would spend seconds on pixels
    nobody sees; clipping first makes a frame cost what is on screen.
    """
    if len(p0) == 0:
        return (p0, p1) if tags is None else (p0, p1, tags)
    x0, y0, x1, y1 = p0[:, 0], p0[:, 1], p1[:, 0], p1[:, 1]
    inside = ((x0 >= left) & (x0 <= right) & (y0 >= top) & (y0 <= bottom)
              & (x1 >= left) & (x1 <= right) & (y1 >= top) & (y1 <= bottom))
    outside = (((x0 < left) & (x1 < left)) | ((x0 > right) & (x1 > right))
               | ((y0 < top) & (y1 < top)) | ((y0 > bottom) & (y1 > bottom)))
    cross = ~inside & ~outside
    if not cross.any():
        return (p0[inside], p1[inside]) if tags is None else (p0[inside], p1[inside], tags[inside])
    a, b = p0[cross], p1[cross]
    d = b - a
    t0 = np.zeros(len(a))
    t1 = np.ones(len(a))
    keep = np.ones(len(a), bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-d[:, 0], a[:, 0] - left), (d[:, 0], right - a[:, 0]),
                     (-d[:, 1], a[:, 1] - top), (d[:, 1], bottom - a[:, 1])):
            t = q / p
            neg, pos = p < 0, p > 0
            keep &= (p != 0) | (q >= 0)
            np.maximum(t0, t, out=t0, where=neg)
            np.minimum(t1, t, out=t1, where=pos)
    keep &= t0 <= t1
    # Rebuild in the original order so tagged runs stay contiguous.
    q0, q1 = p0.copy(), p1.copy()
    q0[cross] = a + d * t0[:, None]
    q1[cross] = a + d * t1[:, None]
    take = inside.copy()
    take[np.flatnonzero(cross)[keep]] = True
    if tags is None:
        return q0[take], q1[take]
    return q0[take], q1[take], tags[take]


def polygons_path(polys: np.ndarray) -> QPainterPath:
    """One path of closed polygons (array m × k × 2: m polygons of k corners each)."""
    m, k = polys.shape[0], polys.shape[1] if polys.ndim == 3 else 0
    if m == 0 or k == 0:
        return QPainterPath()
    el = np.empty((m, k + 1), _ELEMENT)
    el["t"][:, 0] = _MOVE
    el["t"][:, 1:] = _LINE
    el["x"][:, :k] = polys[:, :, 0]
    el["y"][:, :k] = polys[:, :, 1]
    el["x"][:, k] = polys[:, 0, 0]
    el["y"][:, k] = polys[:, 0, 1]
    return _from_elements(el.reshape(-1), (m - 1) * (k + 1))


def points_polygon(points: np.ndarray) -> QPolygonF:
    """A QPolygonF of the rows of ``points`` (m × 2), through its serialised form."""
    m = len(points)
    if m == 0:
        return QPolygonF()
    body = np.ascontiguousarray(points, dtype=">f8").tobytes()
    data = QByteArray(np.array([m], ">u4").tobytes() + body)
    poly = QPolygonF()
    stream = QDataStream(data, QIODevice.OpenModeFlag.ReadOnly)
    stream >> poly
    return poly


def kind_colour(kind: str) -> QColor:
    return QColor(KIND_COLOURS.get(kind, _FALLBACK_COLOUR))


@lru_cache(maxsize=64)
def _svg(kind: str) -> bytes | None:
    if not re.fullmatch(r"[a-z0-9_]+", kind or ""):
        return None
    try:
        return resources.files("resources").joinpath("icons", f"{kind}.svg").read_bytes()
    except (FileNotFoundError, OSError, ModuleNotFoundError):
        return None


def _fallback(kind: str, size: int) -> QPixmap:
    """A kind without an icon: a circle in a neutral colour with the kind's initial."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(kind_colour(kind))
    p.drawEllipse(QRectF(size * 0.04, size * 0.04, size * 0.92, size * 0.92))
    font = QFont()
    font.setPixelSize(max(6, int(size * 0.5)))
    font.setBold(True)
    p.setFont(font)
    p.setPen(QColor("#ffffff"))
    p.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, (kind[:1] or "?").upper())
    p.end()
    return pix


_pixmaps: dict[tuple[str, int], QPixmap] = {}


def kind_pixmap(kind: str, size: int) -> QPixmap:
    """The icon of an entity kind at ``size`` pixels (one of :data:`ICON_SIZES`), from
    ``resources/icons/<kind>.svg``; a drawn fallback when the kind has no icon."""
    key = (kind, size)
    pix = _pixmaps.get(key)
    if pix is not None:
        return pix
    data = _svg(kind)
    renderer = QSvgRenderer(QByteArray(data)) if data else None
    if renderer is None or not renderer.isValid():
        pix = _fallback(kind, size)
    else:
        pix = QPixmap(size, size)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(p, QRectF(0, 0, size, size))
        p.end()
    _pixmaps[key] = pix
    return pix


_exact: dict[tuple[str, int, float], QPixmap] = {}
_EXACT_LIMIT = 600


def kind_pixmap_exact(kind: str, pixels: int, ratio: float = 1.0) -> QPixmap:
    """The icon of ``kind`` rendered at exactly ``pixels`` logical pixels (for a 1:1
    blit); cached, the cache emptied when it grows past a few hundred sizes."""
    key = (kind, pixels, ratio)
    pix = _exact.get(key)
    if pix is not None:
        return pix
    if len(_exact) > _EXACT_LIMIT:
        _exact.clear()
    device = max(1, int(round(pixels * ratio)))
    data = _svg(kind)
    renderer = QSvgRenderer(QByteArray(data)) if data else None
    if renderer is None or not renderer.isValid():
        pix = _fallback(kind, device)
    else:
        pix = QPixmap(device, device)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(p, QRectF(0, 0, device, device))
        p.end()
    pix.setDevicePixelRatio(ratio)
    _exact[key] = pix
    return pix


def has_icon(kind: str) -> bool:
    """Whether ``resources/icons`` has a picture for ``kind``."""
    return _svg(kind) is not None


def pick_size(pixels: float) -> int:
    """The smallest cached icon size at least ``pixels`` wide (the largest one beyond)."""
    for size in ICON_SIZES:
        if size >= pixels:
            return size
    return ICON_SIZES[-1]
