"""Crash during writes: a child process imports, edits and re-keys a case database in a
loop while we SIGKILL it at a random moment, then we check what an officer relies on.

After every kill:

* exactly one of the two passphrases opens the file (a re-key is atomic), and it is the
  one the journal says unless a re-key was in flight;
* SQLCipher's page check and SQLite's integrity check find nothing;
* the audit chain verifies;
* every import is whole or absent (``store_problems``), every import the child saw
  committed is there with its counts, an interrupted one is either whole or absent;
* every entity edit, addition, deletion and note the child saw committed is there.

Short run: 6 kills. ``WORKSTATION_LONG_TESTS=1`` (or ``WORKSTATION_REL_CRASH_TRIALS``):
200+. The database is replaced by a fresh copy every ``RECYCLE`` trials to keep each
check fast.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.support import PASSPHRASE_A, PASSPHRASE_B, count, seed, store_problems

DRIVER = Path(__file__).with_name("crash_driver.py")
PASSPHRASES = (PASSPHRASE_A, PASSPHRASE_B)
RECYCLE = 12
READY_TIMEOUT_S = 60.0
MAX_KILL_DELAY_S = 2.5


@dataclass
class Expectations:
    """What the journals of earlier trials say must be in the database."""

    passphrase: int = 0
    imports: dict[int, tuple[int, str, int]] = field(default_factory=dict)  # source → case, sha, events
    labels: dict[int, set[str]] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    maybe_deleted: set[int] = field(default_factory=set)
    added: dict[str, int] = field(default_factory=dict)
    notes: set[str] = field(default_factory=set)


def _journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by the kill cannot happen with one write(2)
            out.append({"op": "garbled", "text": line})
    return out


def _in_flight(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The operation that had begun but not finished when the child died."""
    open_op: dict[str, Any] | None = None
    for e in entries:
        if e.get("phase") == "begin":
            open_op = e
        elif e.get("phase") == "done":
            open_op = None
    return open_op


def _apply_journal(exp: Expectations, entries: list[dict[str, Any]]) -> tuple[set[int], dict[str, Any] | None]:
    """Fold one trial's journal into the expectations; returns the passphrases allowed now."""
    flying = _in_flight(entries)
    for e in entries:
        if e.get("phase") != "done":
            continue
        if e["op"] == "rekey":
            exp.passphrase = e["to"]
        elif e["op"] == "import":
            exp.imports[e["source_id"]] = (e["case_id"], e["sha256"], e["events"])
        elif e["op"] == "edit":
            exp.labels[e["entity_id"]] = {e["label"]}
        elif e["op"] == "delete":
            exp.deleted.add(e["entity_id"])
        elif e["op"] == "add":
            exp.added[e["tag"]] = e["entity_id"]
        elif e["op"] == "note":
            exp.notes.add(e["tag"])
    allowed = {exp.passphrase}
    if flying is not None:
        if flying["op"] == "rekey":
            allowed.add(flying["to"])
        elif flying["op"] == "edit":
            eid = flying["entity_id"]
            if eid in exp.labels:
                exp.labels[eid].add(flying["label"])
        elif flying["op"] == "delete":
            exp.maybe_deleted.add(flying["entity_id"])
    return allowed, flying


def _check_expectations(ws: Any, exp: Expectations, flying: dict[str, Any] | None) -> list[str]:
    from sqlalchemy import select

    from workstation.store import schema as s

    problems: list[str] = []
    with ws.db.read() as conn:
        sources = {r.id: r for r in conn.execute(select(s.source))}
        for sid, (case_id, sha, events) in exp.imports.items():
            row = sources.get(sid)
            if row is None or row.case_id != case_id or row.sha256 != sha:
                problems.append(f"committed import (source {sid}) is missing")
                continue
            summary = row.summary if isinstance(row.summary, dict) else json.loads(row.summary or "{}")
            if int(summary.get("events", -1)) != events:
                problems.append(f"source {sid}: summary says {summary.get('events')} events, child saw {events}")
        entities = {r.id: r for r in conn.execute(select(s.entity.c.id, s.entity.c.label, s.entity.c.deleted,
                                                         s.entity.c.key))}
        for eid, labels in exp.labels.items():
            if eid in entities and entities[eid].label not in labels:
                problems.append(f"entity {eid}: label {entities[eid].label!r}, expected one of {sorted(labels)}")
        for eid in exp.deleted:
            if eid not in entities or not entities[eid].deleted:
                problems.append(f"entity {eid}: committed delete is not there")
        for tag, eid in exp.added.items():
            if eid not in entities or entities[eid].key != f"email:crash.{tag}@example.org":
                problems.append(f"entity added in step {tag} is missing")
        bodies = {r[0] for r in conn.execute(select(s.note.c.body))}
        for tag in exp.notes:
            if f"crash-test note {tag}" not in bodies:
                problems.append(f"note of step {tag} is missing")
        if flying is not None and flying["op"] == "import":
            found = [r for r in sources.values()
                     if r.sha256 == flying["sha256"] and r.case_id == flying["case_id"]]
            if len(found) > 1:
                problems.append("an interrupted import was stored twice")
    return problems


def _open_exactly_one(db_path: Path, allowed: set[int]) -> tuple[Any, int | None, list[str]]:
    """Try both passphrases: exactly one may open the file, and it must be an allowed one."""
    from workstation.errors import WrongPassphrase
    from workstation.store.database import Database

    opened: list[tuple[int, Any]] = []
    problems: list[str] = []
    for i, pw in enumerate(PASSPHRASES):
        try:
            opened.append((i, Database.open(db_path, pw)))
        except WrongPassphrase:
            continue
        except Exception as exc:  # any other failure to open is a finding
            problems.append(f"passphrase {i}: open failed with {type(exc).__name__}: {exc}")
    if len(opened) != 1:
        problems.append(f"{len(opened)} passphrases open the file (exactly one must)")
    for _, extra in opened[1:]:
        extra.lock()
    if not opened:
        return None, None, problems
    idx, db = opened[0]
    if idx not in allowed:
        problems.append(f"passphrase {idx} opens the file; the journal allows only {sorted(allowed)}")
    return db, idx, problems


def _kill_later(proc: subprocess.Popen[bytes], journal: Path, rng: random.Random) -> str:
    """SIGKILL the child at a random moment; returns when (for the figures)."""
    if rng.random() < 0.1:
        time.sleep(rng.uniform(0.05, 1.5))  # sometimes while it is still opening the database
        moment = "while opening"
    else:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists() and b'"ready"' in journal.read_bytes()[:200]:
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, MAX_KILL_DELAY_S))
        moment = "while writing"
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return moment


def run_crash_trials(template_db: Path, work: Path, trials: int, seed: int) -> dict[str, Any]:
    """Run ``trials`` kill-and-check rounds; returns counters and the problems found."""
    from workstation.domain.service import Workstation

    rng = random.Random(seed)
    db_path = work / "crash.db"
    tmpdir = work / "child-tmp"
    tmpdir.mkdir(exist_ok=True)
    exp = Expectations()
    stats: Counter[str] = Counter()
    failures: list[str] = []
    for trial in range(trials):
        if trial % RECYCLE == 0:
            for suffix in ("", "-wal", "-shm"):
                Path(str(db_path) + suffix).unlink(missing_ok=True)
            shutil.copy2(template_db, db_path)
            exp = Expectations()
        tdir = work / f"t{trial}"
        tdir.mkdir()
        journal = tdir / "journal.jsonl"
        cfg = {"db": str(db_path), "journal": str(journal), "work": str(tdir), "seed": seed * 100_000 + trial,
               "passphrases": list(PASSPHRASES), "passphrase": PASSPHRASES[exp.passphrase], "max_steps": 60}
        (tdir / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
        env = {**os.environ, "TMPDIR": str(tmpdir)}
        with (tdir / "stderr.txt").open("wb") as err:
            proc = subprocess.Popen([sys.executable, str(DRIVER), str(tdir / "config.json")],
                                    stdout=subprocess.DEVNULL, stderr=err, env=env)
            try:
                moment = _kill_later(proc, journal, rng)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=30)
        entries = _journal(journal)
        stats[moment] += 1
        problems: list[str] = []
        if proc.returncode != -signal.SIGKILL and not any(e.get("op") == "finished" for e in entries):
            tail = (tdir / "stderr.txt").read_text(encoding="utf-8", errors="replace")[-1500:]
            problems.append(f"the child died on its own (exit {proc.returncode}): {tail}")
        allowed, flying = _apply_journal(exp, entries)
        stats[f"in flight: {flying['op'] if flying else 'nothing'}"] += 1
        stats["imports committed"] = len(exp.imports)
        db, idx, open_problems = _open_exactly_one(db_path, allowed)
        problems += open_problems
        if db is not None:
            try:
                if flying is not None and flying["op"] == "rekey":
                    stats["rekey interrupted: " + ("new key" if idx == flying["to"] else "old key")] += 1
                exp.passphrase = idx if idx is not None else exp.passphrase
                report = store_problems(db)
                problems += report.problems
                problems += _check_expectations(Workstation(db), exp, flying)
            finally:
                db.lock()
        if problems:
            failures.append(f"trial {trial} (killed {moment}, in flight: {flying}): " + "; ".join(problems[:6]))
            if db is None:
                break  # the file cannot be opened any more: further trials would repeat this
        else:
            shutil.rmtree(tdir, ignore_errors=True)
    leftovers = sorted(p.name for p in tmpdir.iterdir())
    return {"trials": trials, "failures": failures, "stats": dict(stats), "tmp_leftovers": leftovers}


@pytest.mark.slow
def test_sigkill_during_imports_edits_and_rekey_leaves_a_sound_database(
        template_db: Path, tmp_path: Path, figures) -> None:  # noqa: ANN001
    trials = count("crash_trials", 6, 200)
    used = seed(5001)
    result = run_crash_trials(template_db, tmp_path, trials, used)
    figures.record("crash", "SIGKILL during import / edit / rekey → sound, whole-or-absent, audit ok",
                   result["trials"], len(result["failures"]), {**result["stats"], "seed": used})
    assert not result["failures"], f"seed {used}\n" + "\n".join(result["failures"][:5])
    assert not result["tmp_leftovers"], f"the child left temp files: {result['tmp_leftovers']}"
