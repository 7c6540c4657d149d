"""Fixtures: a real HQ (uvicorn, TLS, on 127.0.0.1) per test module, and enrolled laptops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.core.sync.helpers import Laptop, laptop_factory, running_hq


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with running_hq("sqlite", tmp_path_factory.mktemp("hq")) as server:
        yield server


@pytest.fixture
def laptops(template_db: Path, tmp_path: Path, hq) -> Iterator[Callable[..., Laptop]]:
    """``make(name, agency=None, officer=None, enrolled=True)`` → an enrolled laptop (see
    :func:`tests.core.sync.helpers.laptop_factory`)."""
    with laptop_factory(template_db, tmp_path, hq) as make:
        yield make
