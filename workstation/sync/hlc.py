"""Hybrid logical clock stamps for syncable rows.

A stamp is ``"<physical ms, 15 digits>.<counter, 5 digits>.<device id>"``: comparing two
stamps as strings orders them by time, then counter, then device, so every node picks the
same winner for concurrent edits even when wall clocks disagree.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from workstation import clock


@dataclass(frozen=True, order=True)
class Stamp:
    millis: int
    counter: int
    node: str

    def __str__(self) -> str:
        return f"{self.millis:015d}.{self.counter:05d}.{self.node}"

    @classmethod
    def parse(cls, text: str) -> Stamp:
        try:
            ms, ctr, node = text.split(".", 2)
            return cls(int(ms), int(ctr), node)
        except ValueError:
            raise ValueError(f"not a clock stamp: {text!r}") from None


class HybridClock:
    """Thread-safe HLC. ``now()`` for local events, ``observe()`` when a remote stamp arrives."""

    def __init__(self, node: str, last: str | None = None) -> None:
        self.node = node
        self._lock = threading.Lock()
        self._last = Stamp.parse(last) if last else Stamp(0, 0, node)

    def now(self) -> str:
        wall = int(clock.utcnow().timestamp() * 1000)
        with self._lock:
            if wall > self._last.millis:
                self._last = Stamp(wall, 0, self.node)
            else:
                self._last = Stamp(self._last.millis, self._last.counter + 1, self.node)
            return str(self._last)

    def observe(self, remote: str) -> None:
        other = Stamp.parse(remote)
        wall = int(clock.utcnow().timestamp() * 1000)
        with self._lock:
            ms = max(wall, self._last.millis, other.millis)
            if ms == self._last.millis == other.millis:
                ctr = max(self._last.counter, other.counter) + 1
            elif ms == self._last.millis:
                ctr = self._last.counter + 1
            elif ms == other.millis:
                ctr = other.counter + 1
            else:
                ctr = 0
            self._last = Stamp(ms, ctr, self.node)

    @property
    def last(self) -> str:
        return str(self._last)
