"""Background work: plain core functions run on worker threads, reported through signals.

A task is any callable ``fn(progress, cancel) -> result`` where ``progress(fraction,
message)`` takes a fraction in 0..1 (or None when unknown) and ``cancel.is_set()`` says
the officer asked to stop (the function then raises ``Cancelled`` or returns early). The
function knows nothing about Qt.

Work runs in lanes, each a QThreadPool: ``db`` (long database jobs: imports, hashing; one
at a time), ``edit`` (undoable edits: one thread so they apply in the order given),
``read`` (reads for views: id lists, counts; three threads, urgent ones first) and ``net`` (HQ sync).
The runnable's signals live on a separate QObject created on the UI thread, so results,
progress and errors arrive on the UI thread as queued signals; progress is throttled so
a chatty function cannot flood the event loop.

Thread: ``TaskRunner`` and ``TaskPanelWidget`` belong to the UI thread; the submitted
function runs on a worker thread.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workstation.errors import Cancelled

LANES: dict[str, int] = {"db": 1, "edit": 1, "read": 3, "net": 1}
PROGRESS_INTERVAL_S = 0.05


class CancelToken:
    """Set by the UI to ask a running function to stop. Thread: any."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()

    def raise_if_set(self) -> None:
        """Raise ``Cancelled`` when cancellation was asked for (for loops in task code)."""
        if self._event.is_set():
            raise Cancelled("cancelled")


class ProgressFn(Protocol):
    def __call__(self, fraction: float | None, message: str = "") -> None: ...


TaskFn = Callable[[ProgressFn, CancelToken], Any]


class TaskState(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class TaskInfo:
    """State of one submitted task, as the UI sees it. Thread: UI (mutated by the runner)."""

    id: int
    title: str
    lane: str
    visible: bool
    token: CancelToken
    state: TaskState = TaskState.QUEUED
    fraction: float | None = None
    message: str = ""
    error: BaseException | None = None
    details: str = ""
    result: Any = None

    @property
    def finished(self) -> bool:
        return self.state in (TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED)

    def cancel(self) -> None:
        """Ask the task to stop (a queued task will not start)."""
        self.token.set()


class _TaskSignals(QObject):
    """Signals of one runnable; created on the UI thread so receivers get queued calls."""

    started = Signal(int)
    progressed = Signal(int, object, str)
    succeeded = Signal(int, object)
    failed = Signal(int, object, str)
    cancelled = Signal(int)


class _TaskRunnable(QRunnable):
    """Runs one task function on a pool thread. Thread: worker."""

    def __init__(self, task_id: int, fn: TaskFn, token: CancelToken, signals: _TaskSignals) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self._id = task_id
        self._fn = fn
        self._token = token
        self._signals = signals
        self._last_emit = 0.0

    def _progress(self, fraction: float | None, message: str = "") -> None:
        now = time.monotonic()
        final = fraction is not None and fraction >= 1.0
        if final or now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_emit = now
            self._signals.progressed.emit(self._id, fraction, message)

    def run(self) -> None:
        if self._token.is_set():
            self._signals.cancelled.emit(self._id)
            return
        self._signals.started.emit(self._id)
        try:
            result = self._fn(self._progress, self._token)
        except Cancelled:
            self._signals.cancelled.emit(self._id)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the UI
            self._signals.failed.emit(self._id, exc, traceback.format_exc())
        else:
            if self._token.is_set() and result is None:
                self._signals.cancelled.emit(self._id)
            else:
                self._signals.succeeded.emit(self._id, result)


@dataclass
class _Pending:
    info: TaskInfo
    runnable: _TaskRunnable
    signals: _TaskSignals
    on_done: Callable[[Any], None] | None
    on_error: Callable[[BaseException, str], None] | None
    on_cancel: Callable[[], None] | None


class TaskRunner(QObject):
    """Submits task functions to lanes and reports their life on the UI thread.

    Thread: UI thread (submit, cancel, shutdown); callbacks are called on the UI thread.
    """

    taskAdded = Signal(object)      # TaskInfo
    taskUpdated = Signal(object)    # TaskInfo (progress, state)
    taskFinished = Signal(object)   # TaskInfo (done, failed or cancelled)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pools: dict[str, QThreadPool] = {}
        for lane, threads in LANES.items():
            pool = QThreadPool(self)
            pool.setMaxThreadCount(threads)
            pool.setExpiryTimeout(30_000)
            self._pools[lane] = pool
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._closed = False

    # ------------------------------------------------------------------ submit
    def submit(self, fn: TaskFn, *, title: str, lane: str = "db", visible: bool = True,
               on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException, str], None] | None = None,
               on_cancel: Callable[[], None] | None = None, priority: int = 0) -> TaskInfo:
        """Queue ``fn`` on ``lane``; returns its TaskInfo (cancel with ``info.cancel()``).

        Queued tasks of a lane start highest ``priority`` first, then in submission order.

        Without ``on_error`` a failure of an invisible task goes to ``show_error``; a
        visible task's failure stays in the task panel with its details.
        """
        if lane not in self._pools:
            raise ValueError(f"unknown lane {lane!r} (use {', '.join(self._pools)})")
        if self._closed:
            raise RuntimeError("the task runner is shut down")
        task_id = next(self._ids)
        info = TaskInfo(task_id, title, lane, visible, CancelToken())
        signals = _TaskSignals()
        signals.started.connect(self._on_started, Qt.ConnectionType.QueuedConnection)
        signals.progressed.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        signals.succeeded.connect(self._on_succeeded, Qt.ConnectionType.QueuedConnection)
        signals.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        signals.cancelled.connect(self._on_cancelled, Qt.ConnectionType.QueuedConnection)
        runnable = _TaskRunnable(task_id, fn, info.token, signals)
        self._pending[task_id] = _Pending(info, runnable, signals, on_done, on_error, on_cancel)
        self.taskAdded.emit(info)
        self._pools[lane].start(runnable, priority)
        return info

    # ------------------------------------------------------------------ queries
    def active(self, lane: str | None = None) -> list[TaskInfo]:
        """Tasks not finished yet (optionally of one lane)."""
        return [p.info for p in self._pending.values() if lane is None or p.info.lane == lane]

    def cancel_all(self, lane: str | None = None) -> None:
        for p in list(self._pending.values()):
            if lane is None or p.info.lane == lane:
                p.info.cancel()

    def wait(self, timeout_ms: int = 5000, lanes: tuple[str, ...] | None = None) -> bool:
        """Block until the lanes' threads are idle (True) or the timeout passed (False).

        Only for shutdown and lock, after ``cancel_all``: cancelled functions return fast.
        Results are still delivered afterwards through the event loop.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        ok = True
        for lane in lanes or tuple(self._pools):
            left = max(0, int((deadline - time.monotonic()) * 1000))
            ok = self._pools[lane].waitForDone(left) and ok
        return ok

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything, wait for the workers, and refuse new work. Thread: UI."""
        self._closed = True
        self.cancel_all()
        for pool in self._pools.values():
            pool.clear()
        ok = self.wait(timeout_ms)
        for p in list(self._pending.values()):
            p.signals.deleteLater()
        self._pending.clear()
        return ok

    # ------------------------------------------------------------------ signal slots
    @Slot(int)
    def _on_started(self, task_id: int) -> None:
        p = self._pending.get(task_id)
        if p is not None:
            p.info.state = TaskState.RUNNING
            self.taskUpdated.emit(p.info)

    @Slot(int, object, str)
    def _on_progress(self, task_id: int, fraction: float | None, message: str) -> None:
        p = self._pending.get(task_id)
        if p is not None and not p.info.finished:
            p.info.fraction = None if fraction is None else min(1.0, max(0.0, float(fraction)))
            if message:
                p.info.message = message
            self.taskUpdated.emit(p.info)

    def _finish(self, task_id: int) -> _Pending | None:
        p = self._pending.pop(task_id, None)
        if p is not None:
            p.signals.deleteLater()
        return p

    @Slot(int, object)
    def _on_succeeded(self, task_id: int, result: Any) -> None:
        p = self._finish(task_id)
        if p is None:
            return
        p.info.state = TaskState.DONE
        p.info.fraction = 1.0
        p.info.result = result
        self.taskFinished.emit(p.info)
        if p.on_done is not None:
            p.on_done(result)

    @Slot(int, object, str)
    def _on_failed(self, task_id: int, exc: BaseException, details: str) -> None:
        p = self._finish(task_id)
        if p is None:
            return
        p.info.state = TaskState.FAILED
        p.info.error = exc
        p.info.details = details
        p.info.message = str(exc) or type(exc).__name__
        self.taskFinished.emit(p.info)
        if p.on_error is not None:
            p.on_error(exc, details)
        elif not p.info.visible:
            from ui.errors import show_error

            show_error(None, exc, details)

    @Slot(int)
    def _on_cancelled(self, task_id: int) -> None:
        p = self._finish(task_id)
        if p is None:
            return
        p.info.state = TaskState.CANCELLED
        p.info.message = "Cancelled"
        self.taskFinished.emit(p.info)
        if p.on_cancel is not None:
            p.on_cancel()


# ---------------------------------------------------------------------- the task panel
class TaskRowWidget(QFrame):
    """One task in the panel: title, message, progress, cancel / details / dismiss."""

    dismissed = Signal(int)

    def __init__(self, info: TaskInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from ui.theme import icon

        self.setObjectName("taskRow")
        self.info = info
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(6)
        self.title_label = QLabel(info.title)
        self.title_label.setObjectName("sectionLabel")
        top.addWidget(self.title_label, 1)
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(icon("cancel"))
        self.cancel_button.setToolTip("Cancel this task")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.clicked.connect(self._cancel)
        top.addWidget(self.cancel_button)
        self.details_button = QPushButton("Details…")
        self.details_button.clicked.connect(self._details)
        self.details_button.hide()
        top.addWidget(self.details_button)
        self.dismiss_button = QToolButton()
        self.dismiss_button.setText("✕")
        self.dismiss_button.setToolTip("Remove from the list")
        self.dismiss_button.setAutoRaise(True)
        self.dismiss_button.clicked.connect(lambda: self.dismissed.emit(self.info.id))
        self.dismiss_button.hide()
        top.addWidget(self.dismiss_button)
        layout.addLayout(top)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(False)
        layout.addWidget(self.progress_bar)
        self.message_label = QLabel()
        self.message_label.setObjectName("mutedLabel")
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)
        self.refresh()

    def refresh(self) -> None:
        """Show the task's current state. Thread: UI."""
        info = self.info
        if info.fraction is None and not info.finished:
            self.progress_bar.setRange(0, 0)  # unknown length: busy indicator
        else:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int((info.fraction or 0.0) * 1000))
        state_text = {
            TaskState.QUEUED: "Waiting…", TaskState.RUNNING: info.message or "Working…",
            TaskState.DONE: info.message or "Done", TaskState.CANCELLED: "Cancelled",
            TaskState.FAILED: f"Failed: {info.message}",
        }[info.state]
        if info.state == TaskState.DONE and info.message:
            state_text = f"Done — {info.message}"
        self.message_label.setText(state_text)
        self.message_label.setObjectName("errorLabel" if info.state == TaskState.FAILED else "mutedLabel")
        self.message_label.style().unpolish(self.message_label)
        self.message_label.style().polish(self.message_label)
        self.cancel_button.setVisible(not info.finished)
        self.cancel_button.setEnabled(not info.token.is_set())
        self.details_button.setVisible(info.state == TaskState.FAILED)
        self.dismiss_button.setVisible(info.finished)
        self.progress_bar.setVisible(info.state != TaskState.FAILED)

    @Slot()
    def _cancel(self) -> None:
        self.info.cancel()
        self.message_label.setText("Cancelling…")
        self.cancel_button.setEnabled(False)

    @Slot()
    def _details(self) -> None:
        from ui.errors import show_error

        if self.info.error is not None:
            show_error(self, self.info.error, self.info.details)


class TaskPanelWidget(QWidget):
    """Lists visible tasks with progress bars, cancel buttons and error details.

    Finished tasks stay ``linger_ms`` then leave; failed ones stay until dismissed.
    Thread: UI.
    """

    attentionRequested = Signal()

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None, linger_ms: int = 8000) -> None:
        super().__init__(parent)
        self.runner = runner
        self.linger_ms = linger_ms
        self.rows: dict[int, TaskRowWidget] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(6)
        self.empty_label = QLabel("No background tasks.")
        self.empty_label.setObjectName("mutedLabel")
        outer.addWidget(self.empty_label)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        holder = QWidget()
        self._rows_layout = QVBoxLayout(holder)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setSpacing(6)
        self._rows_layout.addStretch(1)
        scroll.setWidget(holder)
        outer.addWidget(scroll, 1)
        runner.taskAdded.connect(self._added)
        runner.taskUpdated.connect(self._updated)
        runner.taskFinished.connect(self._finished)

    @Slot(object)
    def _added(self, info: TaskInfo) -> None:
        if not info.visible:
            return
        row = TaskRowWidget(info)
        row.dismissed.connect(self.remove_row)
        self.rows[info.id] = row
        self._rows_layout.insertWidget(self._rows_layout.count() - 1, row)
        self.empty_label.hide()

    @Slot(object)
    def _updated(self, info: TaskInfo) -> None:
        row = self.rows.get(info.id)
        if row is not None:
            row.refresh()

    @Slot(object)
    def _finished(self, info: TaskInfo) -> None:
        row = self.rows.get(info.id)
        if row is None:
            return
        row.refresh()
        if info.state == TaskState.FAILED:
            self.attentionRequested.emit()
        else:
            QTimer.singleShot(self.linger_ms, self, lambda i=info.id: self.remove_row(i))

    @Slot(int)
    def remove_row(self, task_id: int) -> None:
        row = self.rows.pop(task_id, None)
        if row is not None:
            row.hide()
            row.deleteLater()
        self.empty_label.setVisible(not self.rows)
