"""Auto-lock after inactivity.

An application-wide event filter notes the time of every keyboard, mouse, wheel and touch
input; a timer checks every few seconds whether the idle time reached the limit
(``Settings.autolock_minutes``: default 15, never more than 30) and then emits
``idleTimedOut``. The clock counts time asleep (a laptop closed for an hour must lock on
wake), and is injectable: tests call ``check(now)`` with a fake time.

Thread: UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication

from workstation.settings import MAX_AUTOLOCK_MINUTES

CHECK_INTERVAL_MS = 5000

_ACTIVITY = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove,
    QEvent.Type.Wheel, QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TabletPress,
    QEvent.Type.Shortcut,
})


def idle_clock() -> float:
    """Seconds on a clock that keeps counting while the machine sleeps."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is not None:
        try:
            return time.clock_gettime(boottime)
        except OSError:
            pass
    return time.time()


class IdleWatcher(QObject):
    """Emits ``idleTimedOut`` once after ``minutes`` without input; ``reset()`` re-arms."""

    idleTimedOut = Signal()

    def __init__(self, minutes: int = 15, *, now: Callable[[], float] = idle_clock,
                 check_interval_ms: int = CHECK_INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._now = now
        self.minutes = minutes
        self.set_minutes(minutes)
        self.last_activity = now()
        self.enabled = False
        self._fired = False
        self._timer = QTimer(self)
        self._timer.setInterval(check_interval_ms)
        self._timer.timeout.connect(self.check)

    def set_minutes(self, minutes: int) -> None:
        """Idle limit in minutes, clamped to 1 … MAX_AUTOLOCK_MINUTES."""
        self.minutes = max(1, min(MAX_AUTOLOCK_MINUTES, int(minutes)))

    def start(self) -> None:
        """Watch input from now on (after an unlock)."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
            app.installEventFilter(self)
        self.enabled = True
        self.reset()
        self._timer.start()

    def stop(self) -> None:
        """Stop watching (while locked)."""
        self.enabled = False
        self._timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def reset(self, now: float | None = None) -> None:
        self.last_activity = self._now() if now is None else now
        self._fired = False

    def idle_seconds(self, now: float | None = None) -> float:
        return max(0.0, (self._now() if now is None else now) - self.last_activity)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY:
            self.last_activity = self._now()
        return False

    @Slot()
    def check(self, now: float | None = None) -> bool:
        """Emit ``idleTimedOut`` when idle long enough; returns whether it fired."""
        if not self.enabled or self._fired:
            return False
        if self.idle_seconds(now) >= self.minutes * 60:
            self._fired = True
            self.idleTimedOut.emit()
            return True
        return False
