"""The app-wide selection every view shares (tables now; timeline, link chart, media later).

A view that changes the selection calls ``select_entities``/``select_events`` with itself
as ``origin``; the hub stores the new sets and emits ``entitiesSelected``/``eventsSelected``
with that origin so the originating view can ignore its own echo. Setting the same set
again emits nothing, so two views mirroring each other cannot loop.

Thread: UI thread only.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QObject, Signal


class SelectionHub(QObject):
    """Current case, selected entity ids and selected event ids, with change signals."""

    caseSelected = Signal(object, object)       # case id | None, origin
    entitiesSelected = Signal(frozenset, object)  # entity ids, origin
    eventsSelected = Signal(frozenset, object)    # event ids, origin

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._case_id: int | None = None
        self._entities: frozenset[int] = frozenset()
        self._events: frozenset[int] = frozenset()

    # ------------------------------------------------------------------ state
    @property
    def case_id(self) -> int | None:
        return self._case_id

    @property
    def entities(self) -> frozenset[int]:
        """Ids of the selected entities."""
        return self._entities

    @property
    def events(self) -> frozenset[int]:
        """Ids of the selected events."""
        return self._events

    # ------------------------------------------------------------------ changes
    def select_case(self, case_id: int | None, origin: object = None) -> None:
        """Make ``case_id`` current; clears the record selections when the case changes."""
        if case_id == self._case_id:
            return
        self._case_id = case_id
        self._entities = frozenset()
        self._events = frozenset()
        self.caseSelected.emit(case_id, origin)
        self.entitiesSelected.emit(self._entities, origin)
        self.eventsSelected.emit(self._events, origin)

    def select_entities(self, ids: Iterable[int], origin: object = None) -> None:
        new = frozenset(int(i) for i in ids)
        if new != self._entities:
            self._entities = new
            self.entitiesSelected.emit(new, origin)

    def select_events(self, ids: Iterable[int], origin: object = None) -> None:
        new = frozenset(int(i) for i in ids)
        if new != self._events:
            self._events = new
            self.eventsSelected.emit(new, origin)

    def forget(self, *, entities: Iterable[int] = (), events: Iterable[int] = ()) -> None:
        """Drop deleted records from the selection (emits only when something changed)."""
        gone_entities, gone_events = set(entities), set(events)
        if gone_entities & self._entities:
            self.select_entities(self._entities - gone_entities)
        if gone_events & self._events:
            self.select_events(self._events - gone_events)

    def clear(self) -> None:
        """Forget everything (on lock)."""
        self._case_id = None
        self._entities = frozenset()
        self._events = frozenset()
        self.caseSelected.emit(None, None)
        self.entitiesSelected.emit(self._entities, None)
        self.eventsSelected.emit(self._events, None)
