"""Colours of the timeline: one per event kind, readable on the light and the dark theme
and distinguishable by most colour-blind officers (hues spread, lightness varied).

Thread: UI thread (QColor/QPixmap).
"""

from __future__ import annotations

import zlib
from functools import lru_cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

KIND_COLOURS: dict[str, str] = {
    "message": "#2f7fd8",
    "transaction": "#e69500",
    "arrest": "#d6322f",
    "booking": "#9b4fd0",
    "release": "#139c8c",
    "login": "#3aa346",
    "media_capture": "#d94f9c",
    "note": "#6b7a8f",
    "call": "#10a6c9",
    "system": "#9aa5b1",
    "other": "#9a6b2f",
}
# Kinds nobody planned for (importers may add some) get one of these, chosen by name so a
# kind keeps its colour from case to case.
SPARE_COLOURS: tuple[str, ...] = ("#7cab1a", "#f0641e", "#5a5fd6", "#0b8fd6", "#c2185b", "#8d7b5a",
                                  "#00897b", "#b0871c")


def kind_colour(kind: str) -> QColor:
    """The colour of an event kind (stable for unknown kinds)."""
    hex_ = KIND_COLOURS.get(kind) or SPARE_COLOURS[zlib.crc32(kind.encode("utf-8")) % len(SPARE_COLOURS)]
    return QColor(hex_)


@lru_cache(maxsize=64)
def kind_swatch(kind: str, size: int = 12) -> QIcon:
    """A round swatch of the kind's colour, for menus and the legend."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = kind_colour(kind)
    p.setBrush(colour)
    p.setPen(colour.darker(140))
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pix)
