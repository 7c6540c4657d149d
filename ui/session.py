"""The officer's working session: the open Workstation, the task lanes, the shared
selection, the undo stack, and one ``changed`` signal every view listens to.

The Session outlives a lock: ``detach()`` locks the database and forgets the
Workstation; ``attach()`` after the next unlock brings a new one, keeping the undo
stack and the selection hub (the same case is selected again). Work submitted before a
lock never delivers into the next unlock: every callback is tied to the generation it
was submitted in.

Thread: UI thread. Functions handed to ``read``/``mutate``/``run_task`` run on workers
and receive the Workstation (which is thread-safe).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from workstation.domain.models import Changes, SourceInfo
from workstation.domain.service import Workstation
from workstation.errors import DatabaseLocked, NotFound
from workstation.settings import Settings
from ui.errors import show_error
from ui.selection import SelectionHub
from ui.tasks import CancelToken, ProgressFn, TaskInfo, TaskRunner

T = TypeVar("T")


def _as_changes(result: Any) -> list[Changes]:
    if isinstance(result, Changes):
        return [result]
    if isinstance(result, (list, tuple)):
        return [c for c in result if isinstance(c, Changes)]
    return []


class Session(QObject):
    """One officer's session over one database path. Thread: UI thread."""

    changed = Signal(object)          # Changes, after a mutation committed
    settingsChanged = Signal(object)  # Settings
    attached = Signal()               # unlocked: a Workstation is available
    detached = Signal()               # locked: views must drop every record they show

    def __init__(self, runner: TaskRunner | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner or TaskRunner(self)
        self.hub = SelectionHub(self)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(200)
        self.path: Path | None = None
        self._ws: Workstation | None = None
        self._generation = 0
        self._latest: dict[object, int] = {}
        self._sources: dict[int, SourceInfo | None] = {}
        self._id_map: dict[tuple[str, int], int] = {}

    # ------------------------------------------------------------------ lifecycle
    @property
    def ws(self) -> Workstation:
        """The open Workstation; DatabaseLocked while locked."""
        if self._ws is None:
            raise DatabaseLocked("the database is locked; unlock it with the passphrase")
        return self._ws

    @property
    def is_locked(self) -> bool:
        return self._ws is None

    @property
    def generation(self) -> int:
        """Increases on every attach and detach; stale callbacks compare against it."""
        return self._generation

    @property
    def settings(self) -> Settings:
        return self._ws.settings if self._ws is not None else Settings()

    def attach(self, ws: Workstation, path: Path | str | None = None) -> None:
        """Use ``ws`` (freshly unlocked). Emits ``attached`` then ``settingsChanged``."""
        if self._ws is not None and self._ws is not ws:
            self.detach()
        self._ws = ws
        self.path = Path(path) if path is not None else Path(ws.db.path)
        self._generation += 1
        self._sources.clear()
        self.attached.emit()
        self.settingsChanged.emit(ws.settings)

    def detach(self, wait_ms: int = 5000) -> None:
        """Lock: cancel and wait for work, lock the database, tell views to clear."""
        if self._ws is None:
            return
        ws = self._ws
        self._generation += 1
        self._latest.clear()
        self.runner.cancel_all()
        self.runner.wait(wait_ms)
        self._ws = None
        self._sources.clear()
        try:
            ws.db.lock()
        finally:
            self.detached.emit()

    def close(self) -> None:
        """End the session for good (window closing): lock and drop the undo history."""
        self.detach()
        self.undo_stack.clear()

    # ------------------------------------------------------------------ work helpers
    def _guard(self, generation: int, fn: Callable[..., None] | None) -> Callable[..., None] | None:
        if fn is None:
            return None

        def call(*args: Any) -> None:
            if generation == self._generation and self._ws is not None:
                fn(*args)
        return call

    def read(self, fn: Callable[[Workstation], T], on_done: Callable[[T], None], *,
             key: object | None = None, on_error: Callable[[BaseException, str], None] | None = None,
             title: str = "Loading", urgent: bool = False) -> TaskInfo | None:
        """Run a short read on the ``read`` lane; ``on_done(result)`` on the UI thread.

        With ``key``, only the newest read per key delivers (older answers are dropped),
        so a view that re-queries while typing never shows a stale list. ``urgent`` reads
        (a first screenful) jump the queue ahead of slow ones (full lists, counts).
        """
        if self._ws is None:
            return None
        ws = self._ws
        generation = self._generation

        def work(_progress: ProgressFn, cancel: CancelToken) -> T:
            return fn(ws)

        done = self._guard(generation, on_done)
        if key is not None:
            inner = done
            stamp = self._latest.get(key, 0) + 1
            self._latest[key] = stamp

            def done(result: T, _s: int = stamp) -> None:  # type: ignore[misc]
                if self._latest.get(key) == _s and inner is not None:
                    inner(result)

        def failed(exc: BaseException, details: str) -> None:
            if generation != self._generation or isinstance(exc, DatabaseLocked) and self._ws is None:
                return
            if on_error is not None:
                on_error(exc, details)
            else:
                show_error(None, exc, details)

        return self.runner.submit(work, title=title, lane="read", visible=False,
                                  on_done=done, on_error=failed, priority=10 if urgent else 0)

    def mutate(self, fn: Callable[[Workstation], Any], *, title: str = "Saving",
               on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException, str], None] | None = None) -> TaskInfo | None:
        """Run an edit on the ``edit`` lane (one at a time, in submission order).

        Every ``Changes`` the function returns (alone or in a list) is re-emitted on
        ``changed`` before ``on_done(result)``. Errors go to ``on_error`` or ``show_error``.
        """
        if self._ws is None:
            show_error(None, DatabaseLocked("the database is locked; unlock it first"))
            return None
        ws = self._ws
        generation = self._generation

        def work(_progress: ProgressFn, cancel: CancelToken) -> Any:
            return fn(ws)

        def done(result: Any) -> None:
            if generation != self._generation:
                return
            self.emit_changes(_as_changes(result))
            if on_done is not None:
                on_done(result)

        def failed(exc: BaseException, details: str) -> None:
            if generation != self._generation:
                return
            if on_error is not None:
                on_error(exc, details)
            else:
                show_error(None, exc, details)

        return self.runner.submit(work, title=title, lane="edit", visible=False,
                                  on_done=done, on_error=failed)

    def run_task(self, fn: Callable[[Workstation, ProgressFn, CancelToken], Any], *, title: str,
                 lane: str = "db", on_done: Callable[[Any], None] | None = None) -> TaskInfo | None:
        """A long, visible job (import, hashing, sync) shown in the task panel.

        ``fn(ws, progress, cancel)`` is a plain core function; returned Changes are
        re-emitted on ``changed``.
        """
        if self._ws is None:
            return None
        ws = self._ws
        generation = self._generation

        def work(progress: ProgressFn, cancel: CancelToken) -> Any:
            return fn(ws, progress, cancel)

        def done(result: Any) -> None:
            if generation != self._generation:
                return
            self.emit_changes(_as_changes(result))
            if on_done is not None:
                on_done(result)

        return self.runner.submit(work, title=title, lane=lane, visible=True, on_done=done)

    def emit_changes(self, changes: Iterable[Changes]) -> None:
        """Re-emit mutation results for the views (UI thread)."""
        for ch in changes:
            if ch.table == "entity" and ch.op == "deleted":
                self.hub.forget(entities=ch.ids)
            elif ch.table == "event" and ch.op == "deleted":
                self.hub.forget(events=ch.ids)
            elif ch.table == "case" and ch.op == "deleted" and self.hub.case_id in ch.ids:
                self.hub.select_case(None)
            self.changed.emit(ch)

    # ------------------------------------------------------------------ settings
    def save_settings(self, settings: Settings, on_done: Callable[[Settings], None] | None = None,
                      on_error: Callable[[BaseException, str], None] | None = None) -> None:
        """Validate and store ``settings`` through the core; emits ``settingsChanged``."""

        def work(ws: Workstation) -> Changes:
            return ws.save_settings(settings)

        def done(_changes: Any) -> None:
            self.settingsChanged.emit(self.settings)
            if on_done is not None:
                on_done(self.settings)

        self.mutate(work, title="Saving settings", on_done=done, on_error=on_error)

    # ------------------------------------------------------------------ small cached reads
    def source(self, source_id: int | None) -> SourceInfo | None:
        """The import source ``source_id`` (cached; None when absent). Thread: UI."""
        if source_id is None or self._ws is None:
            return None
        if source_id not in self._sources:
            try:
                self._sources[source_id] = self._ws.get_source(source_id)
            except NotFound:
                self._sources[source_id] = None
        return self._sources[source_id]

    # ------------------------------------------------------------------ undo id mapping
    def resolve(self, table: str, record_id: int) -> int:
        """The current id of a record an undo command knew as ``record_id``.

        When undo has to re-create a record (no restore in the service), it gets a new
        id; later commands still hold the old one and find the new one here.
        """
        seen = set()
        while (table, record_id) in self._id_map and record_id not in seen:
            seen.add(record_id)
            record_id = self._id_map[(table, record_id)]
        return record_id

    def remap(self, table: str, old_id: int, new_id: int) -> None:
        """Thread: any (called from edit-lane work; dict assignment is atomic)."""
        if old_id != new_id:
            self._id_map[(table, old_id)] = new_id


def service_supports(fn: Callable[..., Any], parameter: str) -> bool:
    """Whether a service method accepts keyword ``parameter`` (adapts to core versions)."""
    try:
        return parameter in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def chunked(items: Sequence[int], n: int) -> Iterable[Sequence[int]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]
