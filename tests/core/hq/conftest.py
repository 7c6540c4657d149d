"""Fixtures: the HQ server suite runs against SQLite and, when reachable, PostgreSQL
(a uniquely named database created and dropped per module)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.core.sync.helpers import Laptop, enrol, hq_url_for


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def hq(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from workstation.hq.server import RunningHQ

    tmp = tmp_path_factory.mktemp(f"hq-{request.param}")
    with hq_url_for(request.param, tmp) as url:
        server = RunningHQ(url, tls_dir=tmp / "tls").start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def laptops(template_db: Path, tmp_path: Path, hq) -> Iterator[Callable[..., Laptop]]:
    made: list[Laptop] = []
    default_agency = f"AG-{uuid.uuid4().hex[:8]}"

    def make(name: str, agency: str | None = None, officer: str | None = None, enrolled: bool = True,
             **kw: object) -> Laptop:
        lap = Laptop.copy_of(template_db, tmp_path, name)
        made.append(lap)
        if enrolled:
            enrol(lap.ws, hq, agency or default_agency, officer or f"officer-{name}", **kw)
        return lap

    yield make
    for lap in made:
        lap.close()
