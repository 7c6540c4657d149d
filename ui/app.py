"""Application start: QApplication, theme, error hooks, unlock, main window, auto-lock.

``run_gui(args)`` is what ``workstation`` (no subcommand) calls: ``args.db`` names the
database (else the most recent one, else the profile's default path), and
``--passphrase-file`` / ``--passphrase-stdin`` unlock without the dialog (scripted starts,
the benchmark). Nothing but paths and window layout is stored outside the database.

Thread: UI thread.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from workstation.domain.service import Workstation
from ui.appstate import APPLICATION, ORGANISATION, app_settings, last_case, recent_databases
from ui.autolock import IdleWatcher, idle_clock
from ui.errors import install_excepthooks, show_error
from ui.main_window import WorkspaceWidget
from ui.session import Session
from ui.tasks import CancelToken, ProgressFn, TaskRunner
from ui.theme import THEMES, apply_theme, current_theme, icon
from ui.unlock import UnlockDialog, open_database


def default_database_path(args: argparse.Namespace | None) -> str:
    """``--db``, else the most recently used database, else the profile's default path."""
    if args is not None and getattr(args, "db", None):
        return str(Path(args.db).expanduser())
    recent = recent_databases()
    if recent:
        return recent[0]
    from workstation.cli import default_db_path

    return str(default_db_path())


def ensure_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), named so QSettings land in the right place."""
    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setWindowIcon(icon("app"))
    return app


def remembered_theme() -> str:
    """The theme used last (the real choice is in the locked database's settings)."""
    value = str(app_settings().value("ui/theme", "light"))
    return value if value in THEMES else "light"


class AppController(QObject):
    """Unlock → workspace → (lock → unlock)* → quit, plus the idle auto-lock.

    ``idle_now`` is the idle clock (tests pass a fake one).
    """

    windowShown = Signal(object)   # WorkspaceWidget

    def __init__(self, app: QApplication, args: argparse.Namespace | None = None, *,
                 idle_now: Callable[[], float] = idle_clock) -> None:
        super().__init__()
        self.app = app
        self.args = args
        self.runner = TaskRunner(self)
        self.session = Session(self.runner, self)
        self.window: WorkspaceWidget | None = None
        self.unlock_dialog: UnlockDialog | None = None
        self.idle = IdleWatcher(15, now=idle_now, parent=self)
        self.idle.idleTimedOut.connect(self.auto_lock)
        self.session.attached.connect(self._attached)
        self.session.detached.connect(self.idle.stop)
        self.session.settingsChanged.connect(lambda s: self.idle.set_minutes(s.autolock_minutes))

    # ------------------------------------------------------------------ start
    def start(self, passphrase: str | None = None) -> None:
        """Show the unlock dialog, or unlock directly with ``passphrase``."""
        path = default_database_path(self.args)
        dlg = UnlockDialog(self.runner, None, initial_path=path)
        dlg.unlocked.connect(self.open_workspace)
        dlg.rejected.connect(self._start_rejected)
        self.unlock_dialog = dlg
        # Build the (hidden, locked) main window while the officer types: it is then only
        # shown after the unlock instead of being built on the critical path.
        QTimer.singleShot(0, self.prepare_window)
        if passphrase is not None and os.path.exists(path):
            dlg.passphrase_edit.setText(passphrase)
            dlg.show()
            dlg.try_unlock()
        else:
            if not os.path.exists(path):
                dlg.tabs.setCurrentIndex(1 if not recent_databases() else 0)
                dlg.new_path_edit.setText(path)
            dlg.show()

    def prepare_window(self) -> WorkspaceWidget:
        """The main window, created once (hidden until a database is unlocked)."""
        if self.window is None:
            self.window = WorkspaceWidget(self.session)
            self.window.closed.connect(self._window_closed)
            for child in self.window.findChildren(QWidget):
                child.ensurePolished()
        return self.window

    def _start_rejected(self) -> None:
        self.unlock_dialog = None
        if self.window is None or not self.window.isVisible():
            self.app.quit()  # never unlocked: nothing else is open

    def open_workspace(self, ws: Workstation, path: str) -> WorkspaceWidget:
        """Show the main window over a freshly unlocked Workstation."""
        self.unlock_dialog = None
        self.prepare_window()
        assert self.window is not None
        uid = last_case(path)
        self.session.attach(ws, path)
        if uid:
            for case in ws.list_cases(with_counts=False):
                if case.uid == uid:
                    self.window.case_navigator.select_case_later(case.id)
                    break
        self.window.show()
        self.window.raise_()
        self.windowShown.emit(self.window)
        return self.window

    def _attached(self) -> None:
        settings = self.session.settings
        self.idle.set_minutes(settings.autolock_minutes)
        self.idle.start()
        # Restyling the whole app costs most of a second: only when the theme differs.
        if settings.theme in THEMES and settings.theme != current_theme():
            apply_theme(self.app, settings.theme)
            app_settings().setValue("ui/theme", settings.theme)

    def auto_lock(self) -> None:
        """The idle limit passed: lock now."""
        if self.window is not None:
            self.window.lock()
        self.idle.stop()

    def _window_closed(self) -> None:
        self.idle.stop()
        self.runner.shutdown(3000)
        self.app.quit()


def _scripted_passphrase(args: argparse.Namespace | None) -> str | None:
    if args is None:
        return None
    if getattr(args, "passphrase_file", None) or getattr(args, "passphrase_stdin", False) \
            or os.environ.get("WORKSTATION_PASSPHRASE_FILE"):
        from workstation.cli import read_passphrase

        return read_passphrase(args)
    return None


def run_gui(args: argparse.Namespace | None = None) -> int:
    """Start the desktop app; returns the exit code when the last window closes."""
    from workstation.errors import WorkstationError

    try:
        passphrase = _scripted_passphrase(args)
    except WorkstationError as exc:
        print(f"workstation: {exc}", file=sys.stderr)
        return exc.exit_code
    app = ensure_application()
    apply_theme(app, remembered_theme())
    controller = AppController(app, args)
    install_excepthooks(lambda: controller.window)
    app.setQuitOnLastWindowClosed(False)
    try:
        controller.start(passphrase)
    except Exception as exc:  # noqa: BLE001 - report and still give the officer a window
        show_error(None, exc)
    return int(app.exec())


__all__ = ["run_gui", "AppController", "ensure_application", "open_database", "CancelToken", "ProgressFn"]
