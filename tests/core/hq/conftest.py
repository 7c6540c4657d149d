"""Fixtures: the HQ server suite runs against SQLite and, when reachable, PostgreSQL
(a uniquely named database created and dropped per module)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.core.sync.helpers import Laptop, laptop_factory, running_hq


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def hq(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with running_hq(request.param, tmp_path_factory.mktemp(f"hq-{request.param}")) as server:
        yield server


@pytest.fixture
def laptops(template_db: Path, tmp_path: Path, hq) -> Iterator[Callable[..., Laptop]]:
    with laptop_factory(template_db, tmp_path, hq) as make:
        yield make
