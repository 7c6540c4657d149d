"""What the app remembers between runs, outside the encrypted database (QSettings).

Only harmless things live here: recently opened database *paths* (never a passphrase),
window geometry, dock layout and splitter positions. Stored state that cannot be read
(corrupt, from another version, for a screen that is gone) is ignored: the app still
starts, with its default layout.

Thread: UI thread.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QApplication, QMainWindow, QSplitter, QWidget

ORGANISATION = "CaseWorkstation"
APPLICATION = "Case Workstation"
MAX_RECENT = 8
STATE_VERSION = 1


def app_settings() -> QSettings:
    """The app's QSettings (INI format, per user)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, "workstation")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    try:
        return [str(v) for v in value if v]
    except TypeError:
        return []


def recent_databases(existing_only: bool = True) -> list[str]:
    """Recently opened database paths, newest first (missing files dropped)."""
    paths = _as_list(app_settings().value("recent/databases"))
    out: list[str] = []
    for p in paths:
        if p not in out and (not existing_only or os.path.isfile(p)):
            out.append(p)
    return out[:MAX_RECENT]


def remember_database(path: str | os.PathLike[str]) -> None:
    """Put ``path`` first in the recent list (the path only)."""
    full = str(Path(path).expanduser().resolve())
    paths = [p for p in recent_databases(existing_only=False) if p != full]
    s = app_settings()
    s.setValue("recent/databases", [full, *paths][:MAX_RECENT])
    s.sync()


def forget_database(path: str) -> None:
    s = app_settings()
    s.setValue("recent/databases", [p for p in recent_databases(existing_only=False) if p != path])
    s.sync()


def _bytes(value: Any) -> QByteArray | None:
    if isinstance(value, QByteArray) and not value.isEmpty():
        return value
    if isinstance(value, (bytes, bytearray)) and value:
        return QByteArray(bytes(value))
    return None


def save_window_state(window: QMainWindow, splitters: dict[str, QSplitter]) -> None:
    """Geometry, docks/toolbars and named splitters of ``window``."""
    s = app_settings()
    s.beginGroup("window")
    s.setValue("version", STATE_VERSION)
    s.setValue("geometry", window.saveGeometry())
    s.setValue("state", window.saveState(STATE_VERSION))
    for name, splitter in splitters.items():
        s.setValue(f"splitter/{name}", splitter.saveState())
    s.endGroup()
    s.sync()


def restore_window_state(window: QMainWindow, splitters: dict[str, QSplitter]) -> bool:
    """Restore what ``save_window_state`` stored. False (and defaults kept) when anything
    stored is unusable; never raises."""
    s = app_settings()
    ok = True
    try:
        s.beginGroup("window")
        try:
            geometry = _bytes(s.value("geometry"))
            state = _bytes(s.value("state"))
            version = s.value("version")
            if geometry is not None:
                ok = window.restoreGeometry(geometry) and ok
            if state is not None and str(version) == str(STATE_VERSION):
                ok = window.restoreState(state, STATE_VERSION) and ok
            for name, splitter in splitters.items():
                raw = _bytes(s.value(f"splitter/{name}"))
                if raw is not None:
                    ok = splitter.restoreState(raw) and ok
        finally:
            s.endGroup()
    except Exception:  # noqa: BLE001 - stored state must never stop the app starting
        ok = False
    ensure_on_screen(window)
    return ok


def ensure_on_screen(window: QWidget) -> None:
    """Move/resize ``window`` onto an available screen when its geometry is off every one."""
    app = QApplication.instance()
    if app is None:
        return
    screens = QApplication.screens()
    if not screens:
        return
    frame = window.frameGeometry()
    if any(sc.availableGeometry().intersects(frame) for sc in screens) and frame.width() > 100:
        return
    area = QApplication.primaryScreen().availableGeometry()
    width = min(max(window.width(), 1100), area.width())
    height = min(max(window.height(), 700), area.height())
    window.resize(width, height)
    window.move(area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2)


def _case_key(db_path: str) -> str:
    # A digest keeps the key INI-safe and stable between runs.
    digest = hashlib.sha256(str(Path(db_path).expanduser().resolve()).encode("utf-8")).hexdigest()[:24]
    return f"lastcase/{digest}"


def remember_case(db_path: str, case_uid: str | None) -> None:
    """Which case was open last in this database (its uid, not its content)."""
    s = app_settings()
    key = _case_key(db_path)
    if case_uid:
        s.setValue(key, case_uid)
    else:
        s.remove(key)
    s.sync()


def last_case(db_path: str) -> str | None:
    s = app_settings()
    value = s.value(_case_key(db_path))
    return str(value) if value else None
