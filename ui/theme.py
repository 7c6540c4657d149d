"""Look of the app: light/dark themes (QSS + palette) and the SVG icon set.

Themes and icons are package data of the ``resources`` package, read with
``importlib.resources`` so they work from a checkout, a wheel or a frozen build.
Monochrome action icons use ``currentColor``, replaced by the theme's text colour on load.

Thread: UI thread only (QIcon/QPixmap creation).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QStyleFactory

THEMES: tuple[str, ...] = ("light", "dark")
ICON_SIZES: tuple[int, ...] = (16, 20, 24, 32, 48)

# Event kinds that share a picture with another kind, and the fallbacks per family.
_EVENT_ICON = {"media_capture": "media", "system": "event", "other": "event"}
_ENTITY_FALLBACK = "entity"
_EVENT_FALLBACK = "event"

_PALETTES: dict[str, dict[str, str]] = {
    "light": {
        "window": "#f3f4f6", "base": "#ffffff", "alt": "#f8fafc", "text": "#1f2937",
        "muted": "#6b7280", "button": "#ffffff", "highlight": "#2563eb", "htext": "#ffffff",
        "border": "#d1d5db", "tooltip": "#111827", "link": "#1d4ed8", "bright": "#b91c1c",
    },
    "dark": {
        "window": "#1b1f24", "base": "#22272e", "alt": "#262c34", "text": "#e5e7eb",
        "muted": "#9ca3af", "button": "#2d333b", "highlight": "#3b82f6", "htext": "#ffffff",
        "border": "#3d444d", "tooltip": "#f3f4f6", "link": "#60a5fa", "bright": "#f87171",
    },
}

_current_theme = "light"


def _read_resource(*parts: str) -> bytes:
    node = resources.files("resources")
    for part in parts:
        node = node.joinpath(part)
    return node.read_bytes()


def theme_colour(role: str, theme: str | None = None) -> QColor:
    """A named colour of the current (or given) theme: text, muted, highlight, border…"""
    return QColor(_PALETTES[theme or _current_theme][role])


def current_theme() -> str:
    """The theme applied last ("light" before any is applied)."""
    return _current_theme


def load_stylesheet(theme: str) -> str:
    """The QSS text of ``theme`` from resources/themes (raises ValueError for unknown names)."""
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r} (use {' or '.join(THEMES)})")
    return _read_resource("themes", f"{theme}.qss").decode("utf-8")


def _palette(theme: str) -> QPalette:
    c = _PALETTES[theme]
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: c["window"], QPalette.ColorRole.WindowText: c["text"],
        QPalette.ColorRole.Base: c["base"], QPalette.ColorRole.AlternateBase: c["alt"],
        QPalette.ColorRole.Text: c["text"], QPalette.ColorRole.Button: c["button"],
        QPalette.ColorRole.ButtonText: c["text"], QPalette.ColorRole.Highlight: c["highlight"],
        QPalette.ColorRole.HighlightedText: c["htext"], QPalette.ColorRole.ToolTipBase: c["base"],
        QPalette.ColorRole.ToolTipText: c["text"], QPalette.ColorRole.Link: c["link"],
        QPalette.ColorRole.PlaceholderText: c["muted"], QPalette.ColorRole.BrightText: c["bright"],
        QPalette.ColorRole.Mid: c["border"], QPalette.ColorRole.Midlight: c["alt"],
        QPalette.ColorRole.Dark: c["border"],
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(c["muted"]))
    return pal


def apply_theme(app: QApplication, theme: str) -> None:
    """Switch the whole application to ``theme`` (Fusion style, palette, stylesheet)."""
    global _current_theme
    qss = load_stylesheet(theme)
    _current_theme = theme
    app.setStyle(QStyleFactory.create("Fusion"))
    app.setPalette(_palette(theme))
    app.setStyleSheet(qss)
    icon.cache_clear()


@lru_cache(maxsize=256)
def icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg`` rendered crisp at the usual sizes.

    Unknown names give an empty QIcon rather than an error: a missing picture must never
    stop the app.
    """
    try:
        svg = _read_resource("icons", f"{name}.svg").decode("utf-8")
    except (FileNotFoundError, OSError):
        return QIcon()
    svg = svg.replace("currentColor", _PALETTES[_current_theme]["text"])
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    result = QIcon()
    if not renderer.isValid():
        return result
    for size in ICON_SIZES:
        pix = QPixmap(size, size)
        pix.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pix)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        result.addPixmap(pix)
    return result


def entity_icon(kind: str) -> QIcon:
    """Icon of an entity kind (person, phone, card…); a neutral dot for unknown kinds."""
    found = icon(kind)
    return found if not found.isNull() else icon(_ENTITY_FALLBACK)


def event_icon(kind: str) -> QIcon:
    """Icon of an event kind (message, transaction, arrest…); a calendar for the rest."""
    found = icon(_EVENT_ICON.get(kind, kind))
    return found if not found.isNull() else icon(_EVENT_FALLBACK)


def sharing_icon(sharing: str) -> QIcon:
    """Icon of a case's sharing choice (local / hq / agencies)."""
    return icon(f"sharing_{sharing}") if sharing in ("local", "hq", "agencies") else QIcon()
