"""The sync fault rig: a real HQ in its own process, real encrypted laptops, sync runs in
forked children that are SIGKILLed (or that SIGKILL HQ) at chosen or random moments, and
the ledger that checks the Jepsen-style set properties afterwards.

Why fork. Each trial must cost a fraction of a second so that a thousand of them fit in a
few minutes: the test process has already imported everything and derived the laptops'
key once (``memo_kdf``), so a forked child opens its laptop in ~10 ms and starts syncing
at once. The parent holds no database connection and runs no thread while it forks (it
closes its laptops and disposes its HQ engine first); children always leave through
``os._exit`` and never return into pytest.

* :class:`ForkedHQ` — ``workstation.hq`` served by uvicorn over TLS on 127.0.0.1, in a
  forked child (SQLite or PostgreSQL store). ``kill()``/``stop()``/``start()`` restart it
  on the same port; its stderr goes to a log file that the tests scan for server errors.
* :func:`fork_sync` — ``sync_now`` of one laptop in a forked child, journalling every step
  it takes (``engine.TRACE_STEPS``) to an append-only file, one ``write(2)`` per line,
  and carrying out a :class:`KillPlan` (SIGKILL itself, or HQ, at the n-th occurrence of a
  step, at once or after a short random delay that lands inside a request or a commit).
* :class:`Ledger` — every push HQ acknowledged (from the journals: written before any
  kill can follow) and every record the laptops created; :meth:`Ledger.problems` checks
  0 acknowledged writes lost, 0 records duplicated or invented, 0 silent overwrites.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.support import PASSPHRASE_A

PASSPHRASE = PASSPHRASE_A

# ====================================================================== HQ in a process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ForkedHQ:
    """HQ served from a forked child process, restartable on the same port.

    ``service`` is a second :class:`HQService` over the same database, in this process,
    for what an administrator does beside the server (enrolment codes, bundle imports)
    and for reading HQ's state; it is disposed before every fork.
    """

    def __init__(self, db_url: str, folder: Path) -> None:
        from workstation.hq.server import make_dev_cert

        self.db_url = db_url
        self.folder = folder
        self.cert = make_dev_cert(folder / "tls")
        self.port = _free_port()
        self.log = folder / "hq-server.log"
        self.pid: int | None = None
        self.starts = 0
        self.deaths: Counter[str] = Counter()
        self._service: Any = None

    # ---------------------------------------------------------------- parent side
    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def service(self) -> Any:
        if self._service is None:
            from workstation.hq.service import HQService
            from workstation.hq.store import open_store

            self._service = HQService(open_store(self.db_url))
        return self._service

    def before_fork(self) -> None:
        """Close this process's pooled HQ connections (a child must not inherit them)."""
        if self._service is not None:
            self._service.store.dispose()

    def start(self, timeout: float = 30.0) -> ForkedHQ:
        _ = self.service  # the database is created and migrated here, before HQ's process opens it
        self.before_fork()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # ---- child: never returns
            code = 1
            try:
                os.close(r)
                _serve_child(self.db_url, self.port, self.cert, w, self.log)
                code = 0
            except BaseException:  # noqa: BLE001 - report and leave
                with contextlib.suppress(Exception):
                    traceback.print_exc()
            finally:
                os._exit(code)
        os.close(w)
        try:
            ready, _, _ = select.select([r], [], [], timeout)
            got = os.read(r, 1) if ready else b""
        finally:
            os.close(r)
        if got != b"R":
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise RuntimeError(f"HQ did not start; see {self.log}:\n{self.log_tail()}")
        self.pid = pid
        self.starts += 1
        return self

    def reap(self) -> str | None:
        """If HQ's process has ended, collect it and say how (``"SIGKILL"``, ``"exit 0"``)."""
        if self.pid is None:
            return None
        done, status = os.waitpid(self.pid, os.WNOHANG)
        if not done:
            return None
        self.pid = None
        how = f"signal {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status) \
            else f"exit {os.WEXITSTATUS(status)}"
        self.deaths[how] += 1
        return how

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 20.0) -> None:
        """Send ``sig`` and wait for the process to end (SIGKILL after ``timeout``)."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)
        deadline = time.monotonic() + timeout
        while self.reap() is None:
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)  # type: ignore[arg-type]
            time.sleep(0.002)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        if self._service is not None:
            self._service.store.dispose()

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-n:]
        except OSError:
            return ""

    def server_errors(self) -> list[str]:
        """Tracebacks HQ wrote (an unhandled error answered 500, or a crash at start)."""
        text = self.log_tail(10**7)
        return [chunk.strip()[-600:] for chunk in text.split("Traceback (most recent call last):")[1:]]


def _serve_child(db_url: str, port: int, cert: Any, ready_fd: int, log: Path) -> None:
    """HQ's process: log to ``log``, listen, say ready, open the store, serve until killed.

    Ready is said as soon as the port listens: connections made from then on wait in the
    backlog until HQ serves them (its store and app take ~0.1 s more), so the test goes on
    meanwhile. If HQ then fails to start, the log has why and the connections are reset.
    """
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    from workstation import clock

    clock.set_clock(None)  # HQ keeps real time; the laptops' clocks are the skewed ones
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say TCP (see hq.server).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.monotonic() + 20
    while True:  # a gracefully stopping predecessor may still hold the port for a moment
        try:
            sock.bind(("127.0.0.1", port))
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)
    sock.listen(128)
    os.write(ready_fd, b"R")
    os.close(ready_fd)
    import uvicorn

    from workstation.hq.app import create_app
    from workstation.hq.server import _config
    from workstation.hq.service import HQService
    from workstation.hq.store import open_store

    service = HQService(open_store(db_url))
    try:
        app = create_app(service)
        uvicorn.Server(_config(app, "127.0.0.1", port, cert.cert, cert.key, grace=1)).run(sockets=[sock])
    finally:
        service.store.dispose()


@contextlib.contextmanager
def forked_hq(backend: str, folder: Path) -> Iterator[ForkedHQ]:
    """A running :class:`ForkedHQ` over SQLite or a throw-away PostgreSQL database."""
    from tests.core.sync.helpers import hq_url_for

    with hq_url_for(backend, folder) as url:
        hq = ForkedHQ(url, folder)
        hq.start()
        try:
            yield hq
        finally:
            hq.stop()


# ====================================================================== laptops


@dataclass
class Lap:
    """One officer's laptop: a real SQLCipher file, enrolled with HQ."""

    name: str
    path: Path
    device_id: str
    skew: float = 0.0  # seconds its clock is off

    @contextlib.contextmanager
    def open(self) -> Iterator[Any]:
        """The laptop's Workstation, with the laptop's clock, locked again on leaving."""
        from workstation.domain.service import Workstation
        from workstation.store.database import Database

        with skewed(self.skew):
            db = Database.open(self.path, PASSPHRASE)
            try:
                yield Workstation(db)
            finally:
                db.lock()


@contextlib.contextmanager
def skewed(seconds: float) -> Iterator[None]:
    """Run with the core's clock ``seconds`` off real time."""
    from datetime import UTC, datetime, timedelta

    from workstation import clock

    delta = timedelta(seconds=seconds)
    clock.set_clock(lambda: datetime.now(UTC) + delta)
    try:
        yield
    finally:
        clock.set_clock(None)


def new_laptop(template: Path, folder: Path, name: str, hq: ForkedHQ, agency: str, skew: float = 0.0) -> Lap:
    """A copy of the template database with its own device id, enrolled with ``hq``."""
    from workstation.domain.service import Workstation
    from workstation.store.database import Database
    from workstation.sync.client import enroll

    path = folder / f"{name}.db"
    shutil.copy2(template, path)
    device = str(uuid.uuid4())
    db = Database.open(path, PASSPHRASE)
    try:
        with db.write() as conn:
            db.meta_set(conn, "device_id", device)
        db.device_id = device
        ws = Workstation(db)
        code = hq.service.create_enrolment(agency, f"officer-{name}")
        enroll(ws, hq.url, code, ca_cert=str(hq.cert.cert))
    finally:
        db.lock()
    return Lap(name, path, device, skew)


def uid_of(ws: Any, table: str, row_id: int) -> str:
    from sqlalchemy import select

    from workstation.sync.codec import SA_TABLES

    t = SA_TABLES[table]
    with ws.db.read() as conn:
        return str(conn.execute(select(t.c.uid).where(t.c.id == row_id)).scalar_one())


def bookkeeping(ws: Any) -> dict[str, int]:
    """What is left in the laptop's sync queues."""
    with ws.db.read() as conn:
        return {t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one())
                for t in ("sync_outbox", "sync_held", "sync_parked")}


def conflicts_of(ws: Any) -> list[dict[str, Any]]:
    """Every conflict the laptop kept (open or resolved)."""
    with ws.db.read() as conn:
        rows = conn.exec_driver_sql("SELECT tbl, row_uid, field, mine, mine_hlc, theirs, theirs_hlc, winner, "
                                    "resolved_at FROM sync_conflict ORDER BY id").fetchall()
    return [{"tbl": r[0], "uid": r[1], "field": r[2], "mine": json.loads(r[3]) if r[3] is not None else None,
             "mine_hlc": r[4] or "", "theirs": json.loads(r[5]) if r[5] is not None else None,
             "theirs_hlc": r[6] or "", "winner": r[7], "resolved": r[8] is not None} for r in rows]


def node_of(stamp: str) -> str:
    """The device that made a clock stamp (``""`` for the never-edited stamp)."""
    return stamp.split(".", 2)[2] if stamp.count(".") >= 2 else ""


# ====================================================================== forked sync runs


@dataclass
class KillPlan:
    """When to send ``sig`` to ``target`` (0: the sync process itself): at the ``nth``
    occurrence of trace ``step``, at once or ``delay`` seconds later. ``step=None``: no
    kill from inside (the parent may still kill on a timer)."""

    step: str | None = None
    nth: int = 1
    delay: float = 0.0
    target: int = 0
    sig: int = signal.SIGKILL


def fork_sync(lap: Lap, journal: Path, plan: KillPlan, *, batch: int, hq: ForkedHQ) -> int:
    """Fork a child that runs ``sync_now`` on ``lap`` (journalled, see the module doc)."""
    hq.before_fork()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # ---- child: never returns
        code = 70
        try:
            code = _sync_child(lap, journal, plan, batch)
        except BaseException:  # noqa: BLE001
            with contextlib.suppress(Exception):
                _journal_line(journal, {"step": "crash", "error": traceback.format_exc()[-2000:]})
        finally:
            os._exit(code)
    return pid


def _journal_line(path: Path, entry: dict[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def journal_writer(path: Path, extra: dict[str, Any] | None = None) -> Callable[[str, dict[str, Any]], None]:
    """A trace function that appends the steps (and what HQ acknowledged) to ``path``."""

    def trace(step: str, info: dict[str, Any]) -> None:
        entry: dict[str, Any] = {"step": step, **(extra or {})}
        if step == "push.answered":
            entry["records"] = info["records"]
            entry["conflicts"] = info["conflicts"]
        elif step == "pull.applied":
            entry["uids"] = info["uids"]
        _journal_line(path, entry)

    return trace


def _sync_child(lap: Lap, journal: Path, plan: KillPlan, batch: int) -> int:
    from workstation.errors import NetworkError, WorkstationError
    from workstation.sync.engine import sync_now

    write = journal_writer(journal, {"lap": lap.name})
    seen: Counter[str] = Counter()

    def fire() -> None:
        _journal_line(journal, {"step": "fire", "lap": lap.name})
        os.kill(plan.target or os.getpid(), plan.sig)

    def trace(step: str, info: dict[str, Any]) -> None:
        write(step, info)
        seen[step] += 1
        if plan.step == step and seen[step] == plan.nth:
            if plan.delay <= 0:
                fire()
            else:
                threading.Timer(plan.delay, fire).start()

    with lap.open() as ws:
        write("start", {})
        try:
            sync_now(ws, batch=batch, trace=trace)
        except NetworkError as exc:
            _journal_line(journal, {"step": "network-error", "error": str(exc)[:300]})
            return 3
        except WorkstationError as exc:
            _journal_line(journal, {"step": "error", "error": f"{type(exc).__name__}: {exc}"[:500]})
            return 4
    return 0


def wait_child(pid: int, timeout: float = 120.0) -> str:
    """Wait for a child; ``"ok"``, ``"exit N"`` or ``"signal NAME"`` (SIGKILL on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):
                return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
            code = os.WEXITSTATUS(status)
            return "ok" if code == 0 else f"exit {code}"
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.001)


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The journal's complete lines (a line cut by a kill is not one)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().split(b"\n"):
        if line:
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
    return out


def phase_of_hq_kill(entries: list[dict[str, Any]]) -> str:
    """Where the laptop was when HQ was signalled: the last step before ``fire`` (the
    laptop's own trace fired it), else its last step (the parent's timer fired it)."""
    fired = next((i for i, e in enumerate(entries) if e.get("step") == "fire"), len(entries))
    return phase_of(entries[:fired])


PHASES = {None: "before the first request", "start": "before the first request",
          "push.request": "push: request in flight", "push.answered": "push: acknowledged, not yet recorded",
          "push.recorded": "push: between batches", "pull.request": "pull: request in flight",
          "pull.answered": "pull: page received, being applied", "pull.applied": "pull: between pages",
          "done": "after the sync", "exit": "after the sync"}


def phase_of(entries: list[dict[str, Any]]) -> str:
    """Where a run was when it died: its last journalled step."""
    steps = [e["step"] for e in entries if e.get("step") in PHASES]
    return PHASES[steps[-1] if steps else None]


# ====================================================================== HQ's state


def hq_rows(hq: ForkedHQ, uids: Iterable[str] | None = None, case_uids: Iterable[str] | None = None,
            ) -> dict[str, dict[str, Any]]:
    """HQ's records (uid → t, case, seq, hlc, deleted, fields, stamps), all or some."""
    from sqlalchemy import select

    from workstation.hq.models import Record

    q = select(Record.uid, Record.tbl, Record.case_uid, Record.seq, Record.hlc, Record.deleted, Record.fields,
               Record.stamps)
    out: dict[str, dict[str, Any]] = {}
    filters: list[Any] = []
    if uids is not None:
        filters.append(("uid", sorted(set(uids))))
    if case_uids is not None:
        filters.append(("case", sorted(set(case_uids))))
    with hq.service.store.session() as s:
        if not filters:
            rows = s.execute(q).all()
        else:
            rows = []
            kind, values = filters[0]
            col = Record.uid if kind == "uid" else Record.case_uid
            for i in range(0, len(values), 500):
                rows.extend(s.execute(q.where(col.in_(values[i:i + 500]))).all())
    for r in rows:
        out[r.uid] = {"t": r.tbl, "case": r.case_uid, "seq": int(r.seq), "hlc": r.hlc, "deleted": bool(r.deleted),
                      "fields": r.fields if isinstance(r.fields, dict) else json.loads(r.fields),
                      "stamps": r.stamps if isinstance(r.stamps, dict) else json.loads(r.stamps)}
    return out


def hq_head(hq: ForkedHQ) -> int:
    with hq.service.store.session() as s:
        return int(hq.service.store.head(s))


def hq_problems(hq: ForkedHQ) -> list[str]:
    """SQLite's integrity check of HQ's database (PostgreSQL checks its own pages)."""
    if hq.service.store.dialect != "sqlite":
        return []
    with hq.service.store.engine.connect() as conn:
        rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
    return [] if rows == ["ok"] else [f"HQ database: {r}" for r in rows[:5]]


# ====================================================================== the ledger


@dataclass
class Ledger:
    """What the set test knows: records created on the laptops and pushes HQ acknowledged."""

    created: dict[str, str] = field(default_factory=dict)  # uid -> laptop that created it
    acked: list[dict[str, Any]] = field(default_factory=list)  # wire records HQ acknowledged
    answers: list[dict[str, Any]] = field(default_factory=list)  # HQ's answers, as journalled
    pushes: int = 0
    unjudged: int = 0

    def take(self, entries: Iterable[dict[str, Any]], note: str = "") -> list[dict[str, Any]]:
        """Add the acknowledged pushes of a journal; returns their records. ``note`` says
        how that run ended (kept with each answer, for the messages)."""
        got = []
        entries = list(entries)
        for i, e in enumerate(entries):
            if e.get("step") == "push.answered":
                self.pushes += 1
                got.extend({**r, "_by": e.get("lap")} for r in e["records"])
                last = i + 1 == len(entries) or entries[i + 1].get("step") != "push.recorded"
                self.answers.append({"lap": e.get("lap"), "uids": {r["uid"] for r in e["records"]},
                                     "conflicts": e["conflicts"], "note": note,
                                     "recorded": not last})
        self.acked.extend(got)
        return got

    def story(self, uid: str) -> list[str]:
        """HQ's answers that concerned ``uid`` (for failure messages)."""
        return [f"{a['lap']} push answered{'' if a['recorded'] else ' (answer NOT recorded: ' + a['note'] + ')'}"
                f" conflicts={[c for c in a['conflicts'] if c['uid'] == uid]}"
                for a in self.answers if uid in a["uids"]]

    # ---------------------------------------------------------------- properties
    @staticmethod
    def lost(records: Iterable[dict[str, Any]], hq: dict[str, dict[str, Any]]) -> list[str]:
        """Acknowledged writes HQ does not hold: a record missing, a field whose stamp went
        backwards, or the same stamp with another value, or a tombstone undone."""
        out = []
        for rec in records:
            have = hq.get(rec["uid"])
            if have is None:
                out.append(f"{rec['t']} {rec['uid']}: acknowledged, not at HQ")
                continue
            for name, value in rec["f"].items():
                mine = rec["s"].get(name, "")
                theirs = have["stamps"].get(name, "")
                if theirs < mine:
                    out.append(f"{rec['t']} {rec['uid']}.{name}: HQ's stamp {theirs!r} older than the "
                               f"acknowledged {mine!r}")
                elif theirs == mine and _norm(have["fields"].get(name)) != _norm(value):
                    out.append(f"{rec['t']} {rec['uid']}.{name}: HQ holds {have['fields'].get(name)!r} under the "
                               f"acknowledged stamp of {value!r}")
            if rec["deleted"] and not have["deleted"]:
                out.append(f"{rec['t']} {rec['uid']}: acknowledged tombstone undone at HQ")
        return out

    def overwritten(self, hq: dict[str, dict[str, Any]], conflicts: list[dict[str, Any]]) -> list[str]:
        """Silent overwrites: a device's last acknowledged value of a field that HQ no
        longer holds, replaced by another device's edit made without knowing it (that
        edit's base is older than the value's stamp), while no laptop kept the two as a
        conflict. (A device's earlier values, replaced by its own later edits, are not
        judged: it made the later edit knowing them.)"""
        kept: dict[tuple[str, str], list[str]] = {}
        for c in conflicts:
            kept.setdefault((c["uid"], c["field"]), []).extend([_norm(c["mine"]), _norm(c["theirs"])])
        bases: dict[tuple[str, str, str], list[str]] = {}
        last: dict[tuple[str, str, str], tuple[str, Any, dict[str, Any]]] = {}  # (uid, field, device)
        for rec in self.acked:
            for name, st in rec["s"].items():
                bases.setdefault((rec["uid"], name, st), []).append(rec.get("b", {}).get(name, ""))
            for name, value in rec["f"].items():
                st = rec["s"].get(name, "")
                key = (rec["uid"], name, node_of(st))
                if st and (key not in last or last[key][0] < st):
                    last[key] = (st, value, rec)
        out = []
        self.unjudged = 0
        for (uid, name, device), (mine, value, rec) in sorted(last.items()):
            have = hq.get(uid)
            if have is None:
                continue
            final = have["stamps"].get(name, "")
            if final <= mine or node_of(final) == device or _norm(have["fields"].get(name)) == _norm(value):
                continue
            seen = bases.get((uid, name, final))
            if seen is None:
                self.unjudged += 1  # the overwriting push's answer was never journalled
                continue
            if any(b >= mine for b in seen):
                continue  # the overwriting edit was made on a state that had this value
            if _norm(value) not in kept.get((uid, name), []):
                pushes = [(r["_by"], r["s"].get(name), r.get("b", {}).get(name), r["f"].get(name))
                          for r in self.acked if r["uid"] == uid]
                out.append(f"{rec['t']} {uid}.{name}: {value!r} ({mine}) overwritten by "
                           f"{have['fields'].get(name)!r} ({final}) with no conflict kept; "
                           f"history: {self.story(uid)}; pushes (by, stamp, base, value): {pushes}; "
                           f"conflicts kept: {[c for c in conflicts if c['uid'] == uid and c['field'] == name]}")
        return out


def _norm(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def false_conflicts(conflicts: list[dict[str, Any]]) -> list[str]:
    """Conflicts between two edits of the same device (not concurrent: one knew the other)."""
    return [f"{c['tbl']} {c['uid']}.{c['field']}: 'conflict' between {c['mine_hlc']} and {c['theirs_hlc']}"
            for c in conflicts if c["mine_hlc"] and node_of(c["mine_hlc"]) == node_of(c["theirs_hlc"])]


def wire_state(ws: Any) -> dict[str, dict[str, Any]]:
    """Every row of the laptop as it travels (uid → wire field values and ``deleted``),
    read in bulk. Only for laptops whose rows all travel (shared cases, nothing kept
    local); a row that could not travel is reported under ``"?"``."""
    from workstation.sync import codec
    from workstation.sync.protocol import TABLES

    out: dict[str, dict[str, Any]] = {}
    with ws.db.read() as conn:
        case_uid = dict(conn.exec_driver_sql('SELECT id, uid FROM "case"').fetchall())
        for t in TABLES:
            cols, specs = codec._specs(t)
            collist = ", ".join(f'"{c}"' for c in cols)
            rows = [tuple(r) for r in conn.exec_driver_sql(f'SELECT {collist} FROM "{t}"')]
            ids = [r[0] for r in rows]
            stamps = codec._field_rows(conn, t, ids)
            refs = codec._ref_maps(conn, t, cols, specs, rows)
            parties = codec._parties(conn, ids) if t == "event" else {}
            for r in rows:
                rec, why = codec._to_wire(t, cols, specs, r, case_uid[r[6]], stamps.get(r[0], {}), refs,
                                          parties.get(r[0], []), b"")
                if rec is None:
                    out[r[1]] = {"?": why, "deleted": bool(r[4])}
                else:
                    out[r[1]] = {**rec["f"], "deleted": rec["deleted"]}
    return out


def compare_nodes(states: dict[str, dict[str, dict[str, Any]]], hq: dict[str, dict[str, Any]]) -> list[str]:
    """Every laptop holds exactly HQ's records, with HQ's values (the same winner everywhere)."""
    out = []
    for name, rows in states.items():
        missing = hq.keys() - rows.keys()
        extra = rows.keys() - hq.keys()
        if missing:
            out.append(f"{name}: {len(missing)} HQ record(s) missing, e.g. {sorted(missing)[:3]}")
        if extra:
            out.append(f"{name}: {len(extra)} record(s) HQ does not hold, e.g. {sorted(extra)[:3]}")
        for uid in rows.keys() & hq.keys():
            mine, theirs = rows[uid], hq[uid]
            if mine["deleted"] != theirs["deleted"]:
                out.append(f"{name}: {uid} deleted={mine['deleted']} but at HQ {theirs['deleted']}")
            for f, v in theirs["fields"].items():
                if _norm(mine.get(f)) != _norm(v):
                    out.append(f"{name}: {uid}.{f} = {mine.get(f)!r}, HQ has {v!r}")
    return out


def sync_clean(lap: Lap, ledger: Ledger, journal: Path, *, batch: int = 50) -> Any:
    """One ordinary sync of ``lap`` in this process (journalled into ``ledger``)."""
    from workstation.sync.engine import sync_now

    with lap.open() as ws:
        report = sync_now(ws, batch=batch, trace=journal_writer(journal, {"lap": lap.name, "clean": True}))
    return report


def converge(laps: list[Lap], ledger: Ledger, journal: Path, *, rounds: int = 4, batch: int = 50) -> int:
    """Sync every laptop in turn until a whole round moves nothing. Returns rounds used."""
    start = len(read_journal(journal))
    for n in range(1, rounds + 1):
        moved = 0
        for lap in laps:
            r = sync_clean(lap, ledger, journal, batch=batch)
            moved += r.pushed + r.pulled + r.conflicts + r.parked
        if not moved:
            break
    ledger.take(read_journal(journal)[start:])
    return n


def signal_child(pid: int, sig: int) -> None:
    """Signal a child that may already have ended (a zombie until reaped: harmless)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
