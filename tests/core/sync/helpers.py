"""Shared test helpers for the sync client and HQ suites: real HQ servers (SQLite or a
throw-away PostgreSQL database), real encrypted laptops, and transports that record or
cut the wire."""

from __future__ import annotations

import gzip
import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSPHRASE

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN):
            return True
    except Exception:
        return False


@contextmanager
def postgres_database() -> Iterator[str]:
    """A uniquely named PostgreSQL database for one test module, dropped afterwards."""
    import psycopg

    name = f"cws_hq_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def hq_url_for(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "postgres":
        if not postgres_available():
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp / 'hq.db'}"


@contextmanager
def running_hq(backend: str, tmp: Path, **kw: Any) -> Iterator[Any]:
    """A started ``RunningHQ`` with TLS over ``backend`` ("sqlite" or "postgres"; the latter
    skips the test when PostgreSQL is not reachable)."""
    from workstation.hq.server import RunningHQ

    with hq_url_for(backend, tmp) as url:
        server = RunningHQ(url, tls_dir=tmp / "tls", **kw).start()
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def laptop_factory(template_db: Path, tmp_path: Path, hq: Any) -> Iterator[Any]:
    """``make(name, agency=None, officer=None, enrolled=True, **enrol_kw)`` → a laptop (a copy
    of the template database), enrolled at ``hq`` unless told not to. By default all laptops
    of one factory belong to one agency of their own, so a test never pulls what earlier
    tests shared; every laptop is closed at the end."""
    made: list[Laptop] = []
    default_agency = f"AG-{uuid.uuid4().hex[:8]}"

    def make(name: str, agency: str | None = None, officer: str | None = None, enrolled: bool = True,
             **kw: Any) -> Laptop:
        lap = Laptop.copy_of(template_db, tmp_path, name)
        made.append(lap)
        if enrolled:
            enrol(lap.ws, hq, agency or default_agency, officer or f"officer-{name}", **kw)
        return lap

    try:
        yield make
    finally:
        for lap in made:
            lap.close()


class Laptop:
    """A real encrypted case database with its own device id (a second officer's laptop)."""

    def __init__(self, path: Path) -> None:
        from workstation.domain.service import Workstation
        from workstation.store.database import Database

        self.path = path
        db = Database.open(path, PASSPHRASE)
        device = str(uuid.uuid4())
        with db.write() as conn:
            db.meta_set(conn, "device_id", device)
        db.device_id = device
        self.ws = Workstation(db)

    @classmethod
    def copy_of(cls, template: Path, folder: Path, name: str) -> Laptop:
        target = folder / f"{name}.db"
        shutil.copy2(template, target)
        return cls(target)

    def reopen(self) -> None:
        from workstation.domain.service import Workstation
        from workstation.store.database import Database

        self.ws.db.lock()
        self.ws = Workstation(Database.open(self.path, PASSPHRASE))

    def close(self) -> None:
        self.ws.db.lock()


class RecordingTransport(httpx.BaseTransport):
    """Wraps the real transport and keeps every request body as sent (decompressed)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.bodies: list[bytes] = []
        self.urls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        self.bodies.append(body)
        self.urls.append(str(request.url))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

    def sent_records(self) -> list[dict[str, Any]]:
        out = []
        for b in self.bodies:
            if b:
                out.extend(json.loads(b).get("records", []))
        return out


class CutTransport(httpx.BaseTransport):
    """The connection dies after ``ok`` requests: the request of that number reaches HQ
    (``after_send``) or not, but its answer never comes back."""

    def __init__(self, inner: httpx.BaseTransport, ok: int, *, after_send: bool = True) -> None:
        self.inner = inner
        self.ok = ok
        self.after_send = after_send
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        if self.count > self.ok:
            if self.after_send:
                self.inner.handle_request(request).read()
            raise httpx.ReadError("connection cut (test)")
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def enrol(ws: Any, hq: Any, agency: str, officer: str, **kw: Any) -> Any:
    from workstation.sync.client import enroll

    code = hq.service.create_enrolment(agency, officer, **kw)
    return enroll(ws, hq.url, code, ca_cert=str(hq.cert.cert) if hq.cert else None)


def synced_rows(ws: Any) -> dict[str, dict[str, Any]]:
    """Every row that travels, as the wire sees it (uid → field values; parties that are
    local-only entities left out), for comparing two laptops."""
    from sqlalchemy import select

    from workstation.sync import codec
    from workstation.sync.protocol import FIELD_TYPES
    from workstation.sync.status import record_sync_state

    out: dict[str, dict[str, Any]] = {}
    rows: list[tuple[str, Any]] = []
    with ws.db.read() as conn:
        for t, table in codec.SA_TABLES.items():
            rows.extend((t, r) for r in conn.execute(select(table)).fetchall())
    local_uids = {r.uid for t, r in rows if record_sync_state(ws, t, r.id) == "local only"}
    with ws.db.read() as conn:
        for t, r in rows:
            if r.uid in local_uids:
                continue
            vals = {n: codec.wire_value_of(conn, t, n, r) for n in FIELD_TYPES[t]}
            if t == "event":
                vals["parties"] = [p for p in vals["parties"] if p[0] not in local_uids]
            vals["deleted"] = bool(r.deleted)
            out[r.uid] = vals
    return out


class LimiterClock:
    """Stands in for the ``time`` module of ``workstation.hq.app`` so that HQ's auth-failure
    back-off reads a clock the test moves by hand (``advance``) instead of the wall clock:
    a slow request on a loaded machine can no longer outlive a block the test expects to
    hold, and waits are exact. Everything but ``monotonic`` is the real ``time``."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)


def frozen_limiter_clock(monkeypatch: pytest.MonkeyPatch) -> LimiterClock:
    """Install a :class:`LimiterClock` for HQ's rate limiter for the rest of the test."""
    import workstation.hq.app as hq_app

    clock = LimiterClock()
    monkeypatch.setattr(hq_app, "time", clock)
    return clock
