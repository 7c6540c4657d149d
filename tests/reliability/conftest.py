"""Fixtures of the reliability tests (crash, tamper, leak, hostile input, lock).

The shared fixtures (``template_db``, ``db_path``, ``db``, ``ws``) come from
``tests/conftest.py``; this file adds the figures log and a memoised key derivation for
the tests that open one database thousands of times.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from tests.reliability.support import FigureLog


@pytest.fixture(scope="session")
def figures() -> FigureLog:
    """Where tests record their measured figures (printed by scripts/reliability.py)."""
    return FigureLog()


@pytest.fixture
def memo_kdf(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Remember PBKDF2 results by (passphrase, salt) for this test.

    The derivation is a pure function, so remembering it changes no outcome; it only
    spares 0.3 s per open when a test reopens the same file a thousand times. A flipped
    salt byte still derives a new (wrong) key.
    """
    from workstation.store import database

    monkeypatch.setattr(database, "_derive_key", functools.lru_cache(maxsize=64)(database._derive_key))
    yield
