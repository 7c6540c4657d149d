"""The one place errors reach the officer: ``show_error`` and the uncaught-error hooks.

Typed core errors get a short, plain message (their text names the file, row or field);
anything else is a bug and says so, with the traceback in a details pane. Cancellation is
silent. ``install_excepthooks`` routes ``sys.excepthook`` and ``threading.excepthook`` here;
errors raised on worker threads are marshalled to the UI thread through a queued signal.

Thread: ``show_error`` runs on the UI thread; ``ErrorRelay.report`` may be called from any.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.errors import (
    AccessDenied,
    BadInput,
    Cancelled,
    DatabaseLocked,
    DatabaseTooNew,
    IntegrityFailure,
    NetworkError,
    NotADatabase,
    NotFound,
    StorageError,
    UsageError,
    WorkstationError,
    WrongPassphrase,
)

# Most specific first: the first matching class names the dialog title and the advice.
_TITLES: tuple[tuple[type[BaseException], str, str], ...] = (
    (WrongPassphrase, "Wrong passphrase",
     "Check the passphrase (and Caps Lock) and try again. Nothing was changed."),
    (DatabaseLocked, "Database locked", "Unlock the database, or close the other program using it."),
    (DatabaseTooNew, "Database from a newer version",
     "This database was written by a newer version of Case Workstation. Update the app to open it."),
    (NotADatabase, "Not a case database", "Choose an encrypted Case Workstation database file."),
    (IntegrityFailure, "Integrity problem",
     "The file failed verification. Keep it unchanged and contact your technical support."),
    (StorageError, "Cannot write", "Check the disk space and that the location is writable."),
    (NetworkError, "Headquarters unreachable", "Your work is kept locally; try again when connected."),
    (NotFound, "Not found", "The record may have been deleted meanwhile."),
    (AccessDenied, "Access denied", ""),
    (BadInput, "Cannot use this input", ""),
    (UsageError, "Cannot do that", ""),
    (WorkstationError, "Something went wrong", ""),
)


def describe_error(exc: BaseException) -> tuple[str, str, str]:
    """(title, message, advice) for ``exc``; unknown exception types are reported as bugs."""
    for cls, title, advice in _TITLES:
        if isinstance(exc, cls):
            return title, str(exc) or cls.__name__, advice
    return ("Unexpected error",
            f"An internal error occurred: {type(exc).__name__}: {exc}",
            "This is a bug in Case Workstation. Your data is safe; the details below help fix it.")


def format_details(exc: BaseException, tb: TracebackType | str | None = None) -> str:
    """The text of the details pane: the traceback when there is one."""
    if isinstance(tb, str):
        return tb
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


class ErrorDialog(QDialog):
    """A short message, advice, and a collapsible details pane (traceback for bugs).

    Thread: UI thread.
    """

    def __init__(self, parent: QWidget | None, exc: BaseException, details: str | None = None) -> None:
        super().__init__(parent)
        self.exc = exc
        title, message, advice = describe_error(exc)
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(10)
        heading = QLabel(title)
        heading.setObjectName("sectionLabel")
        self.message_label = QLabel(message)
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(heading)
        layout.addWidget(self.message_label)
        if advice:
            advice_label = QLabel(advice)
            advice_label.setObjectName("mutedLabel")
            advice_label.setWordWrap(True)
            layout.addWidget(advice_label)
        text = details if details is not None else format_details(exc)
        self.details_edit = QPlainTextEdit(text)
        self.details_edit.setReadOnly(True)
        self.details_edit.setMinimumHeight(180)
        self.details_edit.setVisible(False)
        layout.addWidget(self.details_edit)
        buttons = QHBoxLayout()
        self.details_button = QPushButton("Show details")
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._toggle_details)
        self.details_button.setVisible(bool(text.strip()))
        buttons.addWidget(self.details_button)
        buttons.addStretch(1)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        box.accepted.connect(self.accept)
        buttons.addWidget(box)
        layout.addLayout(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    @Slot(bool)
    def _toggle_details(self, shown: bool) -> None:
        self.details_edit.setVisible(shown)
        self.details_button.setText("Hide details" if shown else "Show details")
        self.adjustSize()


# Tests replace this to observe errors without dialogs (``None`` = show dialogs).
error_sink: Callable[[BaseException, str | None], None] | None = None
_open_dialogs: list[ErrorDialog] = []


def show_error(parent: QWidget | None, exc: BaseException, details: str | None = None) -> ErrorDialog | None:
    """Tell the officer about ``exc``: a non-blocking dialog (None for a cancellation).

    Thread: UI thread only; from workers, use ``ErrorRelay.report``.
    """
    if isinstance(exc, Cancelled):
        return None
    if error_sink is not None:
        error_sink(exc, details)
        return None
    dlg = ErrorDialog(parent, exc, details)
    _open_dialogs.append(dlg)
    dlg.finished.connect(lambda _r, d=dlg: _open_dialogs.remove(d) if d in _open_dialogs else None)
    dlg.setWindowModality(Qt.WindowModality.WindowModal if parent else Qt.WindowModality.ApplicationModal)
    dlg.show()
    return dlg


def close_error_dialogs() -> None:
    """Close every open error dialog (on lock: their text may quote case data)."""
    for dlg in list(_open_dialogs):
        dlg.close()
    _open_dialogs.clear()


class ErrorRelay(QObject):
    """Carries errors from any thread to ``show_error`` on the UI thread (queued signal)."""

    reported = Signal(object, str)

    def __init__(self, parent_widget: Callable[[], QWidget | None] = lambda: None) -> None:
        super().__init__()
        self._parent_widget = parent_widget
        self.reported.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def report(self, exc: BaseException, details: str | None = None) -> None:
        """Thread: any."""
        self.reported.emit(exc, details if details is not None else format_details(exc))

    @Slot(object, str)
    def _show(self, exc: BaseException, details: str) -> None:
        show_error(self._parent_widget(), exc, details)


_relay: ErrorRelay | None = None


def _log(text: str) -> None:
    # A windowed build may have no stderr at all.
    stream = sys.__stderr__
    if stream is not None:
        stream.write(text)
_previous_hooks: tuple[Any, Any] | None = None


def install_excepthooks(parent_widget: Callable[[], QWidget | None] = lambda: None) -> ErrorRelay:
    """Route uncaught exceptions of every thread to ``show_error``. Call once, UI thread."""
    global _relay, _previous_hooks
    if _relay is None:
        _relay = ErrorRelay(parent_widget)
        _previous_hooks = (sys.excepthook, threading.excepthook)

        def _sys_hook(tp: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
            if issubclass(tp, KeyboardInterrupt):
                app = QApplication.instance()
                if app is not None:
                    app.quit()
                return
            _log("".join(traceback.format_exception(tp, value, tb)))
            assert _relay is not None
            _relay.report(value, format_details(value, tb))

        def _thread_hook(args: threading.ExceptHookArgs) -> None:
            if args.exc_value is None:
                return
            _log("".join(traceback.format_exception(
                args.exc_type, args.exc_value, args.exc_traceback)))
            assert _relay is not None
            _relay.report(args.exc_value, format_details(args.exc_value, args.exc_traceback))

        sys.excepthook = _sys_hook
        threading.excepthook = _thread_hook
    return _relay


def uninstall_excepthooks() -> None:
    """Restore the hooks found by ``install_excepthooks`` (tests, shutdown)."""
    global _relay, _previous_hooks
    if _previous_hooks is not None:
        sys.excepthook, threading.excepthook = _previous_hooks
    _previous_hooks = None
    if _relay is not None:
        _relay.deleteLater()
    _relay = None
