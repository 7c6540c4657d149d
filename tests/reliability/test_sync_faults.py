"""HQ sync under faults, counted: damaged sealed bundles (both directions) and a client
SIGKILLed at random moments of an online sync.

* Bundles: random byte flips, cuts and insertions in a laptop's push bundle must be
  refused by HQ with a typed error and change nothing at HQ; the same for HQ's
  acknowledgement bundle at the laptop (the outbox and the database stay as they were).
  The undamaged bundles still import afterwards.
* SIGKILL: ``workstation sync`` (the CLI, a child process) is killed at a random moment,
  several times; after each kill the laptop's database is sound (page check, audit chain,
  imports whole); a final sync leaves every record at HQ exactly once and the outbox empty.

HQ runs in-process on 127.0.0.1 (TLS with a throw-away certificate), its store in SQLite.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.reliability.support import PASSPHRASE_A, count, store_problems, table_counts

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

pytest.importorskip("workstation.sync.engine")
pytest.importorskip("workstation.hq.server")


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from workstation.hq.server import RunningHQ

    tmp = tmp_path_factory.mktemp("hq")
    server = RunningHQ(f"sqlite:///{tmp / 'hq.db'}", tls_dir=tmp / "tls").start()
    try:
        yield server
    finally:
        server.stop()


def _laptop(template_db: Path, folder: Path, name: str, hq: object) -> object:
    from tests.core.sync.helpers import Laptop, enrol

    lap = Laptop.copy_of(template_db, folder, name)
    enrol(lap.ws, hq, f"AG-REL-{name}-{random.randrange(1 << 30)}", f"officer-{name}")
    return lap


def _hq_count(hq: object, case_uid: str | None = None) -> int:
    from sqlalchemy import func, select

    from workstation.hq.models import Record

    q = select(func.count()).select_from(Record)
    if case_uid is not None:
        q = q.where(Record.case_uid == case_uid)
    with hq.service.store.session() as s:  # type: ignore[attr-defined]
        return int(s.execute(q).scalar_one())


def _damage(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    how = rng.randrange(4)
    pos = rng.randrange(len(buf))
    if how == 0:
        buf[pos] ^= rng.randrange(1, 256)
    elif how == 1:
        del buf[pos:pos + rng.randint(1, 64)]
    elif how == 2:
        buf[pos:pos] = rng.randbytes(rng.randint(1, 16))
    else:
        buf = buf[:pos]
    return bytes(buf) if bytes(buf) != data else bytes(buf) + b"x"


def test_damaged_bundles_are_refused_and_apply_nothing(template_db: Path, tmp_path: Path, hq, figures) -> None:  # noqa: ANN001
    from workstation.errors import WorkstationError
    from workstation.sync.engine import export_bundle, import_bundle

    lap = _laptop(template_db, tmp_path, "bundle", hq)
    ws = lap.ws  # type: ignore[attr-defined]
    cid = ws.create_case("REL-BUNDLE", "Bundle tamper", sharing="hq").ids[0]
    for i in range(20):
        ws.add_entity(cid, "phone", f"+1 202-555-01{i:02d}")
    ws.add_event(cid, "message", T0, title="sealed message")
    bundle = tmp_path / "push.bundle"
    export_bundle(ws, bundle)
    push = bundle.read_bytes()
    trials = count("bundle_damage", 40, 500)
    rng = random.Random()
    ways: Counter[str] = Counter()
    bad: list[str] = []
    before = _hq_count(hq)
    for i in range(trials):
        try:
            hq.service.import_bundle(_damage(push, rng), source=f"damaged-{i}")
            bad.append(f"push trial {i}: accepted")
        except WorkstationError as exc:
            ways[f"push: {type(exc).__name__}"] += 1
        except Exception as exc:  # an untyped error is a finding
            bad.append(f"push trial {i}: untyped {type(exc).__name__}: {exc}")
        if _hq_count(hq) != before:
            bad.append(f"push trial {i}: HQ changed")
            before = _hq_count(hq)
    ack, summary = hq.service.import_bundle(push, source="push.bundle")
    assert summary["records"] >= 21
    state = table_counts(ws.db)
    ack_path = tmp_path / "damaged.ack"
    for i in range(trials):
        ack_path.write_bytes(_damage(ack, rng))
        try:
            import_bundle(ws, ack_path)
            bad.append(f"ack trial {i}: accepted")
        except WorkstationError as exc:
            ways[f"ack: {type(exc).__name__}"] += 1
        except Exception as exc:
            bad.append(f"ack trial {i}: untyped {type(exc).__name__}: {exc}")
        if table_counts(ws.db) != state:
            bad.append(f"ack trial {i}: the laptop changed")
            state = table_counts(ws.db)
    ack_path.write_bytes(ack)
    import_bundle(ws, ack_path)
    with ws.db.read() as conn:
        outbox = conn.exec_driver_sql("SELECT count(*) FROM sync_outbox").scalar_one()
    lap.close()  # type: ignore[attr-defined]
    figures.record("sync", "damaged sealed bundle (push at HQ, ack at laptop) → refused, typed, nothing applied",
                   2 * trials, len(bad), dict(ways))
    assert not bad, bad[:5]
    assert outbox == 0, "the undamaged acknowledgement still clears the outbox"


def _cli_sync(db: Path, passfile: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    code = "import sys; from workstation.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, "--db", str(db), "--passphrase-file", str(passfile),
                             "sync", "--batch", "100"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


@pytest.mark.slow
def test_sync_killed_at_random_moments_ends_exactly_once(template_db: Path, tmp_path: Path, hq,  # noqa: ANN001
                                                         figures) -> None:  # noqa: ANN001
    from workstation.domain.bulk import BulkWriter
    from workstation.store.database import Database

    lap = _laptop(template_db, tmp_path, "killed", hq)
    ws = lap.ws  # type: ignore[attr-defined]
    rows = 1000
    cid = ws.create_case("REL-KILL", "Killed sync", sharing="hq").ids[0]
    with ws.db.write() as conn, BulkWriter(ws, conn, cid) as bw:
        for i in range(rows):
            p = bw.entity("phone", f"+1 202-555-{i % 10000:04d}", f"phone:+1202555{i:04d}")
            bw.event("call", T0, title=f"call {i}", parties=[(p, "caller")])
    case_uid = ws.get_case(cid).uid
    from tests.core.sync.helpers import synced_rows

    total = len(synced_rows(ws))
    lap.close()  # type: ignore[attr-defined]
    passfile = tmp_path / "pass.txt"
    passfile.write_text(PASSPHRASE_A + "\n", encoding="utf-8")
    env = {**os.environ}
    trials = count("sync_kills", 2, 20)
    rng = random.Random()
    problems: list[str] = []
    progress = []
    for trial in range(trials):
        seen = _hq_count(hq, case_uid)
        proc = _cli_sync(lap.path, passfile, env)  # type: ignore[attr-defined]
        # Wait for the push to be under way (start-up takes a while), then a random moment.
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and _hq_count(hq, case_uid) == seen:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        progress.append(_hq_count(hq, case_uid))
        db = Database.open(lap.path, PASSPHRASE_A)  # type: ignore[attr-defined]
        try:
            problems += [f"kill {trial}: {p}" for p in store_problems(db).problems]
        finally:
            db.lock()
        if progress[-1] >= total:
            break
    done = _cli_sync(lap.path, passfile, env)  # type: ignore[attr-defined]
    try:
        _, err = done.communicate(timeout=300)
    finally:
        if done.poll() is None:
            done.kill()
            done.wait()
    if done.returncode != 0:
        problems.append(f"the final sync failed: {err.decode(errors='replace')[-800:]}")
    from sqlalchemy import select

    from workstation.hq.models import Record

    with hq.service.store.session() as s:
        uids = list(s.execute(select(Record.uid).where(Record.case_uid == case_uid)).scalars())
    if len(uids) != len(set(uids)) or len(uids) != total:
        problems.append(f"HQ holds {len(uids)} records ({len(set(uids))} distinct) of {total}")
    db = Database.open(lap.path, PASSPHRASE_A)  # type: ignore[attr-defined]
    try:
        with db.read() as conn:
            outbox = conn.exec_driver_sql("SELECT count(*) FROM sync_outbox").scalar_one()
        if outbox:
            problems.append(f"{outbox} changes left in the outbox after the final sync")
    finally:
        db.lock()
    figures.record("sync", "CLI sync SIGKILLed at random moments → sound laptop DB; final sync: every record at "
                   "HQ exactly once", len(progress), len(problems),
                   {"records": total, "hq_records_after_each_kill": progress})
    assert not problems, problems[:5]
