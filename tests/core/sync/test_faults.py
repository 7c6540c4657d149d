"""Faults on the way: connections cut mid-push and mid-pull, a client killed with SIGKILL,
HQ restarted mid-sync, batches replayed. After resuming, every acknowledged record is at
HQ exactly once and both laptops hold the same rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSPHRASE
from tests.core.sync.helpers import CutTransport, RecordingTransport, synced_rows
from workstation.domain.bulk import BulkWriter
from workstation.errors import NetworkError
from workstation.hq.models import Record
from workstation.sync.client import connect
from workstation.sync.engine import apply_records, sync_now
from workstation.sync.protocol import PullResponse

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def fill(ws, number: str, n: int) -> int:
    cid = ws.create_case(number, "Many rows", sharing="hq").id
    with ws.db.write() as conn, BulkWriter(ws, conn, cid) as bw:
        for i in range(n):
            p = bw.entity("phone", f"+1 202-555-{i % 10000:04d}", f"phone:+1202555{i:04d}")
            bw.event("call", T0, title=f"call {i}", parties=[(p, "caller")])
    return cid


def hq_uids(hq, case_uid: str) -> list[str]:
    with hq.service.store.session() as s:
        return list(s.execute(select(Record.uid).where(Record.case_uid == case_uid)).scalars())


def hq_count(hq, case_uid: str) -> int:
    with hq.service.store.session() as s:
        return int(s.execute(select(func.count()).select_from(Record).where(Record.case_uid == case_uid)).scalar_one())


def local_count(ws) -> int:
    """Rows of every kind that travel, on this laptop."""
    return len(synced_rows(ws))


def outbox_size(ws) -> int:
    with ws.db.read() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM sync_outbox").scalar_one())


@pytest.mark.parametrize("after_send", [True, False], ids=["answer-lost", "request-lost"])
def test_push_cut_mid_way_resumes_without_loss_or_duplicates(laptops, hq, after_send: bool) -> None:
    a, b = laptops("a"), laptops("b")
    cid = fill(a.ws, f"F-{after_send}", 120)
    with pytest.raises(NetworkError):
        sync_now(a.ws, wrap=lambda inner: CutTransport(inner, 2, after_send=after_send), batch=50)
    case_uid = a.ws.get_case(cid).uid
    uids = hq_uids(hq, case_uid)
    assert len(uids) == (150 if after_send else 100)  # whatever reached HQ is there once
    assert outbox_size(a.ws) == 241 - 100  # only acknowledged batches left the outbox
    report = sync_now(a.ws, batch=50)
    assert report.pushed == 141
    uids = hq_uids(hq, case_uid)
    assert len(uids) == len(set(uids)) == 241
    assert outbox_size(a.ws) == 0
    sync_now(b.ws)
    assert synced_rows(a.ws) == synced_rows(b.ws)


def test_pull_cut_mid_way_resumes_from_the_saved_cursor(laptops, hq) -> None:
    a, b = laptops("a"), laptops("b")
    fill(a.ws, "F-pull", 150)
    sync_now(a.ws)
    with pytest.raises(NetworkError):
        sync_now(b.ws, wrap=lambda inner: CutTransport(inner, 2), batch=100)
    with b.ws.db.read() as conn:
        cursor = int(conn.exec_driver_sql("SELECT value FROM sync_state WHERE key = 'cursor'").scalar_one())
    assert cursor > 0
    assert 0 < local_count(b.ws) <= 200  # two pages applied, the third lost
    sync_now(b.ws, batch=100)
    assert synced_rows(a.ws) == synced_rows(b.ws)
    assert local_count(b.ws) == local_count(a.ws)


def test_replayed_batches_change_nothing(laptops, hq) -> None:
    a, b = laptops("a"), laptops("b")
    cid = a.ws.create_case("RP-1", "Replay", sharing="hq").id
    ent = a.ws.add_entity(cid, "person", "Replay Person").id
    a.ws.update_entity(ent, label="Replay Person (edited)")
    rec: list[RecordingTransport] = []
    sync_now(a.ws, wrap=lambda inner: rec.append(RecordingTransport(inner)) or rec[-1])
    push_body = next(bd for bd, u in zip(rec[0].bodies, rec[0].urls) if u.endswith("/v1/push"))
    with hq.service.store.session() as s:
        head = hq.service.store.head(s)
    with connect(a.ws) as client:
        for _ in range(3):
            answer = client.request("POST", "/v1/push", body=push_body)
            assert answer["changed"] == 0 and answer["conflicts"] == []
    with hq.service.store.session() as s:
        assert hq.service.store.head(s) == head
    # Pulled pages applied three times change nothing either.
    sync_now(b.ws)
    with connect(b.ws) as client:
        page = PullResponse.model_validate(client.request("GET", "/v1/changes", params={"since": 0}))
    before = synced_rows(b.ws)
    for _ in range(3):
        with b.ws.db.write() as conn:
            res = apply_records(b.ws, conn, page.records)
        assert (res.inserted, res.updated, res.conflicts) == (0, 0, 0)
    assert synced_rows(b.ws) == before
    assert outbox_size(b.ws) == 0


def test_hq_restart_mid_sync(laptops, hq) -> None:
    a, b = laptops("a"), laptops("b")
    fill(a.ws, "F-restart", 100)

    class RestartOnThird(CutTransport):
        def handle_request(self, request):  # type: ignore[no-untyped-def]
            self.count += 1
            if self.count == 3:
                hq.stop()
                hq.start()
            return self.inner.handle_request(request)

    try:
        sync_now(a.ws, wrap=lambda inner: RestartOnThird(inner, 0), batch=40)
    except NetworkError:
        pass  # the request in flight during the restart may be lost; the next run resumes
    sync_now(a.ws, batch=40)
    assert outbox_size(a.ws) == 0
    sync_now(b.ws, batch=40)
    assert synced_rows(a.ws) == synced_rows(b.ws)
    uids = hq_uids(hq, a.ws.get_case(a.ws.find_case("F-restart").id).uid)
    assert len(uids) == len(set(uids)) == 201


_CLIENT = """
import sys
from workstation.domain.service import Workstation
from workstation.store.database import Database
from workstation.sync.engine import sync_now
ws = Workstation(Database.open(sys.argv[1], open(sys.argv[2], encoding="utf-8").readline().rstrip("\\n")))
try:
    sync_now(ws, batch=100)
finally:
    ws.db.lock()
"""


def _cli_sync(db: os.PathLike[str], passfile: os.PathLike[str]) -> subprocess.Popen[bytes]:
    """A sync client in its own process (the core, without the CLI's start-up cost)."""
    return subprocess.Popen([sys.executable, "-c", _CLIENT, str(db), str(passfile)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=os.getcwd())


def _wait_then_kill(proc: subprocess.Popen[bytes], progressed) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if progressed():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.03)
    proc.kill()
    raise AssertionError("the sync subprocess made no progress")


LONG = os.environ.get("WORKSTATION_LONG_TESTS") == "1"


@pytest.mark.parametrize("rows,kills", [pytest.param(250, 1, id="short"), pytest.param(
    1500, 4, id="long", marks=pytest.mark.skipif(not LONG, reason="set WORKSTATION_LONG_TESTS=1"))])
def test_client_killed_with_sigkill_resumes_exactly_once(laptops, hq, passphrase_file, rows: int,
                                                         kills: int) -> None:
    a, b = laptops("a"), laptops("b")
    cid = fill(a.ws, f"F-kill-{rows}", rows)
    case_uid = a.ws.get_case(cid).uid
    total = local_count(a.ws)
    a.close()
    killed = 0
    for _ in range(kills):
        seen = hq_count(hq, case_uid)
        proc = _cli_sync(a.path, passphrase_file)
        killed += _wait_then_kill(proc, lambda: hq_count(hq, case_uid) > seen + 150)
    assert killed >= max(1, kills - 1)
    done = _cli_sync(a.path, passphrase_file)
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err.decode()
    uids = hq_uids(hq, case_uid)
    assert len(uids) == len(set(uids)) == total
    a.reopen()
    assert outbox_size(a.ws) == 0
    # The pulling side, killed mid-pull a few times, ends with everything exactly once.
    b.close()
    from workstation.store.database import Database

    probe = Database.open(b.path, PASSPHRASE)
    try:
        def cursor() -> int:
            with probe.read() as conn:
                v = conn.exec_driver_sql("SELECT value FROM sync_state WHERE key = 'cursor'").scalar()
            return int(v or 0)

        for _ in range(kills):
            start = cursor()
            proc = _cli_sync(b.path, passphrase_file)
            _wait_then_kill(proc, lambda: cursor() > start + 150)
    finally:
        probe.lock()
    done = _cli_sync(b.path, passphrase_file)
    assert done.wait(timeout=120) == 0
    b.reopen()
    assert synced_rows(a.ws) == synced_rows(b.ws)
    assert local_count(b.ws) == total
