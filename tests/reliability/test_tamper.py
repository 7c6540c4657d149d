"""Tamper evidence: random byte flips in the database (and its WAL), and edits of the audit
trail made by an attacker who holds the passphrase.

Byte flips. Every flipped byte of the encrypted file must be noticed by one of: the open
failing with a typed error, ``integrity_check()`` reporting a problem, or the audit chain
failing to verify. Each way is counted.

WAL flips. A flip in a write-ahead-log frame makes SQLite's recovery treat that frame and
every later one as a torn write and drop them: the database stays consistent and opens,
but the transactions in those frames are gone. That is SQLite's crash recovery, not
something the page MACs can see (the frames are never read). The test counts these
separately ("WAL tail dropped"), and checks the promise that matters at rest: a locked
database has no WAL to tamper with.

Audit edits. The attacker opens the file with a bare sqlcipher3 connection and the key
derived from the passphrase, and edits, deletes, reorders, truncates, inserts or rewrites
the chain-head anchor by copying values already in the file. ``AuditTrail.verify()`` must
catch every one. Out of scope, stated honestly: the attacker holding the passphrase can
also read the audit key from ``meta`` and recompute every MAC; no design that keeps the
key inside the file it protects can stop that.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3

from tests.reliability.support import PASSPHRASE_A, SHARED_DATA, count, seed, table_counts, write_bank_csv
from workstation.audit.trail import AuditTrail
from workstation.domain.service import Workstation
from workstation.errors import WorkstationError
from workstation.ingest.pipeline import run_import
from workstation.store.database import Database

SALT_BYTES = 16


def _populate(ws: Workstation, work: Path, *, entities: int = 40) -> None:
    case_id = ws.create_case("TAMPER-1", "Tamper subject").ids[0]
    run_import(ws, case_id, SHARED_DATA / "chat/whatsapp/whatsapp_ios_chat.txt")
    run_import(ws, case_id, SHARED_DATA / "chat/telegram/result.json")
    run_import(ws, case_id, write_bank_csv(work / "small.csv", 300, 7))
    ids = []
    for i in range(entities):
        ids.append(ws.add_entity(case_id, "phone", f"+1 202-555-01{i % 100:02d}", reuse=False).ids[0])
    for i, eid in enumerate(ids):
        ws.update_entity(eid, label=f"burner {i}")
        ws.add_note(case_id, f"note {i} about burner {i}", target_type="entity", target_id=eid)


@pytest.fixture(scope="module")
def subject(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A populated database at rest (checkpointed, locked), and a copy with a live WAL."""
    work = tmp_path_factory.mktemp("tamper")
    rest = work / "rest.db"
    shutil.copy2(template_db, rest)
    db = Database.open(rest, PASSPHRASE_A)
    ws = Workstation(db)
    _populate(ws, work)
    db.checkpoint()
    # Writes after the checkpoint stay in the WAL while the database is open; copy that
    # state aside (what a crash or a copied-while-open file leaves on disk).
    case_id = ws.find_case("TAMPER-1").id
    for i in range(25):
        ws.add_note(case_id, f"late note {i}")
        ws.add_entity(case_id, "email", f"late{i}@example.org")
    live = work / "live.db"
    shutil.copy2(rest, live)
    for suffix in ("-wal", "-shm"):
        shutil.copy2(Path(str(rest) + suffix), Path(str(live) + suffix))
    db.lock()
    assert not Path(str(rest) + "-wal").exists() or Path(str(rest) + "-wal").stat().st_size == 0
    return {"rest": rest, "live": live}


def _flip(data: bytearray, rng: random.Random, lo: int = 0) -> int:
    pos = rng.randrange(lo, len(data))
    data[pos] ^= rng.randrange(1, 256)
    return pos


def _detect(path: Path, expected: dict[str, int] | None = None) -> str:
    """How (if at all) the product notices a damaged file."""
    try:
        db = Database.open(path, PASSPHRASE_A)
    except WorkstationError as exc:
        return f"open refused: {type(exc).__name__}"
    except Exception as exc:  # an untyped error is itself a finding
        return f"UNTYPED {type(exc).__name__}: {exc}"
    try:
        try:
            if db.integrity_check():
                return "integrity_check"
        except WorkstationError as exc:
            return f"integrity_check raised {type(exc).__name__}"
        try:
            ver = AuditTrail(db).verify()
        except WorkstationError as exc:
            return f"audit verify raised {type(exc).__name__}"
        if not ver.ok:
            return "audit verify"
        if expected is not None:
            try:
                now = table_counts(db)
            except WorkstationError as exc:
                return f"reading raised {type(exc).__name__}"
            if now != expected:
                return "WAL tail dropped"
        return "UNDETECTED"
    except Exception as exc:
        return f"UNTYPED {type(exc).__name__}: {exc}"
    finally:
        db.lock()


def test_database_byte_flips_are_all_detected(subject: dict[str, Path], tmp_path: Path, memo_kdf: None,
                                               figures) -> None:  # noqa: ANN001
    trials = count("tamper_flips", 50, 1000)
    used = seed(1001)
    rng = random.Random(used)
    pristine = subject["rest"].read_bytes()
    target = tmp_path / "flipped.db"
    ways: Counter[str] = Counter()
    bad: list[str] = []
    for _ in range(trials):
        data = bytearray(pristine)
        pos = _flip(data, rng)
        target.write_bytes(data)
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        way = _detect(target)
        ways[way] += 1
        if way.startswith(("UNTYPED", "UNDETECTED")):
            bad.append(f"byte {pos} (page {pos // 4096 + 1}): {way}")
    figures.record("tamper", "random byte flip in the database file → detected", trials, len(bad),
                   {**ways, "file_bytes": len(pristine)})
    assert not bad, f"{len(bad)} of {trials} flips not detected (seed {used}): {bad[:10]}"


def test_a_flip_in_every_single_page_is_detected(subject: dict[str, Path], tmp_path: Path, memo_kdf: None,
                                                figures) -> None:  # noqa: ANN001
    """Not left to chance: one flipped byte in each page of the file in turn (the schema
    page, the migration stamp, the audit pages, free pages...)."""
    pristine = subject["rest"].read_bytes()
    page = 4096
    used = seed(1002)
    rng = random.Random(used)
    target = tmp_path / "page.db"
    ways: Counter[str] = Counter()
    bad: list[str] = []
    pages = len(pristine) // page
    for n in range(pages):
        data = bytearray(pristine)
        pos = _flip(data, rng, lo=n * page) if n == pages - 1 else n * page + rng.randrange(page)
        if n != pages - 1:
            data[pos] ^= rng.randrange(1, 256)
        target.write_bytes(data)
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        way = _detect(target)
        ways[way] += 1
        if way.startswith(("UNTYPED", "UNDETECTED")):
            bad.append(f"page {n + 1} byte {pos}: {way}")
    figures.record("tamper", "one byte flipped in each page of the database file in turn → detected", pages,
                   len(bad), {**ways, "seed": used})
    assert not bad, (f"seed {used}", bad[:10])


def test_wal_byte_flips_never_pass_silently_as_good_data(subject: dict[str, Path], tmp_path: Path,
                                                         memo_kdf: None, figures) -> None:  # noqa: ANN001
    trials = count("tamper_wal_flips", 30, 400)
    used = seed(1003)
    rng = random.Random(used)
    db_bytes = subject["live"].read_bytes()
    wal = bytearray(Path(str(subject["live"]) + "-wal").read_bytes())
    shm = Path(str(subject["live"]) + "-shm").read_bytes()
    assert len(wal) > 32, "the subject should have a WAL with frames"
    target = tmp_path / "walflip.db"

    def place(wal_bytes: bytes, with_index: bool = False) -> None:
        # With the crashed process's WAL index (-shm) SQLite trusts the index and reads the
        # frames; without it, it rebuilds the index by checking every frame's checksum.
        target.write_bytes(db_bytes)
        Path(str(target) + "-wal").write_bytes(wal_bytes)
        if with_index:
            Path(str(target) + "-shm").write_bytes(shm)
        else:
            Path(str(target) + "-shm").unlink(missing_ok=True)

    place(bytes(wal))
    db = Database.open(target, PASSPHRASE_A, migrate=False)
    expected = table_counts(db)
    db.lock()
    ways: Counter[str] = Counter()
    bad: list[str] = []
    for _ in range(trials):
        data = bytearray(wal)
        pos = _flip(data, rng)
        with_index = rng.random() < 0.5
        place(bytes(data), with_index)
        way = _detect(target, expected)
        ways[("with -shm: " if with_index else "no -shm: ") + way] += 1
        if way.startswith(("UNTYPED", "UNDETECTED")):
            bad.append(f"WAL byte {pos}: {way}")
    figures.record("tamper", "random byte flip in a live WAL → detected or whole tail dropped", trials, len(bad),
                   {**ways, "wal_bytes": len(wal)})
    assert not bad, f"{len(bad)} of {trials} WAL flips passed as good data (seed {used}): {bad[:10]}"


def test_a_locked_database_leaves_no_wal_behind(subject: dict[str, Path]) -> None:
    wal = Path(str(subject["rest"]) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


# ---------------------------------------------------------------------- audit trail edits
def _raw_key(path: Path, passphrase: str) -> str:
    """What an attacker with the passphrase derives (SQLCipher 4's documented KDF)."""
    salt = path.read_bytes()[:SALT_BYTES]
    return hashlib.pbkdf2_hmac("sha512", passphrase.encode(), salt, 256_000, 32).hex()


class Attacker:
    """A bare sqlcipher3 connection holding the key; restores the pristine trail between trials."""

    def __init__(self, path: Path, key_hex: str) -> None:
        self.conn = sqlcipher3.connect(str(path), isolation_level=None)
        self.conn.execute(f"PRAGMA key = \"x'{key_hex}'\"")
        self.conn.execute("PRAGMA busy_timeout = 10000")
        self.conn.execute("CREATE TEMP TABLE pristine_audit AS SELECT * FROM main.audit")
        self.conn.execute("CREATE TEMP TABLE pristine_meta AS SELECT * FROM main.meta")
        self.cols = [r[1] for r in self.conn.execute("PRAGMA main.table_info(audit)")]

    def rows(self) -> list[dict[str, Any]]:
        cur = self.conn.execute("SELECT * FROM main.audit ORDER BY seq")
        return [dict(zip(self.cols, r, strict=True)) for r in cur]

    def head(self) -> str:
        return self.conn.execute("SELECT value FROM main.meta WHERE key = 'audit_head'").fetchone()[0]

    def run(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        for sql, params in statements:
            self.conn.execute(sql, params)
        self.conn.execute("COMMIT")

    def restore(self) -> None:
        self.run([("DELETE FROM main.audit", ()),
                  ("INSERT INTO main.audit SELECT * FROM temp.pristine_audit", ()),
                  ("DELETE FROM main.meta", ()),
                  ("INSERT INTO main.meta SELECT * FROM temp.pristine_meta", ())])


Mutation = Callable[[Attacker, random.Random, list[dict[str, Any]]], list[tuple[str, tuple[Any, ...]]]]
EDITABLE = ("at", "actor", "action", "target_type", "target_id", "details", "outcome", "mac")


def _edit_field(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    row = rng.choice(rows)
    col = rng.choice(EDITABLE)
    old = row[col]
    choices: list[Any] = [r[col] for r in rows if r[col] != old]
    if col == "details":
        d = json.loads(old)
        d["tampered"] = True
        choices.append(json.dumps(d, sort_keys=True))
    elif col == "at":
        choices.append(old[:-8] + "999999Z" if old[-8:] != "999999Z" else old[:-8] + "000000Z")
    elif col == "mac":
        choices.append(hashlib.sha256(rng.randbytes(16)).hexdigest())
    else:
        choices.append(f"{old or ''}x")
    return [(f"UPDATE main.audit SET {col} = ? WHERE seq = ?", (rng.choice(choices), row["seq"]))]


def _delete_one(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    return [("DELETE FROM main.audit WHERE seq = ?", (rng.choice(rows)["seq"],))]


def _delete_and_renumber(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    seq = rng.choice(rows[:-1])["seq"]
    top = rows[-1]["seq"]
    last = rows[-2]
    return [("DELETE FROM main.audit WHERE seq = ?", (seq,)),
            ("UPDATE main.audit SET seq = -(seq - 1) WHERE seq > ?", (seq,)),
            ("UPDATE main.audit SET seq = -seq WHERE seq < 0", ()),
            # and point the anchor at what is now the last entry (values copied, no key needed)
            ("UPDATE main.meta SET value = ? WHERE key = 'audit_head'", (f"{top - 1}:{last['mac']}",))]


def _swap(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    x, y = rng.sample([r["seq"] for r in rows], 2)
    return [("UPDATE main.audit SET seq = -1 WHERE seq = ?", (x,)),
            ("UPDATE main.audit SET seq = ? WHERE seq = ?", (x, y)),
            ("UPDATE main.audit SET seq = ? WHERE seq = -1", (y,))]


def _swap_content(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    r1, r2 = rng.sample(rows, 2)
    sets = ", ".join(f"{c} = ?" for c in EDITABLE)
    return [(f"UPDATE main.audit SET {sets} WHERE seq = ?", (*[r2[c] for c in EDITABLE], r1["seq"])),
            (f"UPDATE main.audit SET {sets} WHERE seq = ?", (*[r1[c] for c in EDITABLE], r2["seq"]))]


def _truncate(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    k = rng.randint(1, min(20, len(rows) - 1))
    return [("DELETE FROM main.audit WHERE seq > ?", (rows[-1]["seq"] - k,))]


def _truncate_and_reanchor(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    k = rng.randint(1, min(20, len(rows) - 1))
    keep = rows[-1 - k]
    # Rewrite the anchor in the shape it has now, with values copied from the kept entry.
    parts = a.head().split(":")
    parts[0], parts[1] = str(keep["seq"]), keep["mac"]
    return [("DELETE FROM main.audit WHERE seq > ?", (keep["seq"],)),
            ("UPDATE main.meta SET value = ? WHERE key = 'audit_head'", (":".join(parts[:2]),))]


def _truncate_and_copy_anchor(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    k = rng.randint(1, min(20, len(rows) - 1))
    keep = rows[-1 - k]
    parts = a.head().split(":")
    parts[0], parts[1] = str(keep["seq"]), keep["mac"]
    return [("DELETE FROM main.audit WHERE seq > ?", (keep["seq"],)),
            ("UPDATE main.meta SET value = ? WHERE key = 'audit_head'", (":".join(parts),))]


def _wipe(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    return [("DELETE FROM main.audit", ()), ("DELETE FROM main.meta WHERE key = 'audit_head'", ())]


def _drop_anchor(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    return [("DELETE FROM main.meta WHERE key = 'audit_head'", ())]


def _insert_copy(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    """Append a replayed entry (an old one copied to the end) and move the anchor to it."""
    src = rng.choice(rows)
    seq = rows[-1]["seq"] + 1
    cols = ", ".join(a.cols)
    vals = [seq if c == "seq" else src[c] for c in a.cols]
    return [(f"INSERT INTO main.audit ({cols}) VALUES ({', '.join('?' * len(vals))})", tuple(vals)),
            ("UPDATE main.meta SET value = ? WHERE key = 'audit_head'", (f"{seq}:{src['mac']}",))]


def _insert_middle(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    """Make room in the middle and insert a forged entry that reuses a real MAC."""
    at = rng.choice(rows[1:])["seq"]
    src = rng.choice(rows)
    cols = ", ".join(a.cols)
    vals = [at if c == "seq" else src[c] for c in a.cols]
    if "details" in a.cols:
        vals[a.cols.index("details")] = json.dumps({"forged": True})
    return [("UPDATE main.audit SET seq = -(seq + 1) WHERE seq >= ?", (at,)),
            ("UPDATE main.audit SET seq = -seq WHERE seq < 0", ()),
            (f"INSERT INTO main.audit ({cols}) VALUES ({', '.join('?' * len(vals))})", tuple(vals))]


def _rewrite_key(a: Attacker, rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    """Replace the audit key itself (then forge nothing: every MAC stops verifying)."""
    return [("UPDATE main.meta SET value = ? WHERE key = 'audit_key'", (rng.randbytes(32).hex(),))]


MUTATIONS: dict[str, Mutation] = {
    "edit a field": _edit_field,
    "delete an entry": _delete_one,
    "delete + renumber + re-anchor": _delete_and_renumber,
    "swap two seq numbers": _swap,
    "swap two entries' contents": _swap_content,
    "truncate the end": _truncate,
    "truncate + re-anchor (copied mac)": _truncate_and_reanchor,
    "truncate + copy the anchor's shape": _truncate_and_copy_anchor,
    "delete the whole trail and anchor": _wipe,
    "delete the anchor": _drop_anchor,
    "replay an old entry at the end": _insert_copy,
    "insert a forged entry in the middle": _insert_middle,
    "replace the audit key": _rewrite_key,
}


@pytest.fixture
def audited(subject: dict[str, Path], tmp_path: Path) -> Iterator[tuple[Database, Attacker]]:
    path = tmp_path / "audited.db"
    shutil.copy2(subject["rest"], path)
    db = Database.open(path, PASSPHRASE_A)
    attacker = Attacker(path, _raw_key(path, PASSPHRASE_A))
    yield db, attacker
    attacker.conn.close()
    db.lock()


def test_audit_trail_edits_by_a_passphrase_holder_are_all_detected(audited: tuple[Database, Attacker],
                                                                    figures) -> None:  # noqa: ANN001
    db, attacker = audited
    trials = count("audit_edits", 60, 1000)
    used = seed(1004)
    rng = random.Random(used)
    rows = attacker.rows()
    assert len(rows) > 100 and AuditTrail(db).verify().ok
    names = list(MUTATIONS)
    tried: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    for i in range(trials):
        name = names[i % len(names)] if i < len(names) else rng.choice(names)
        attacker.run(MUTATIONS[name](attacker, rng, rows))
        tried[name] += 1
        if AuditTrail(db).verify().ok:
            missed[name] += 1
        attacker.restore()
        if i % 50 == 0:
            assert AuditTrail(db).verify().ok, "restoring the pristine trail failed"
    figures.record("tamper", "audit-trail edit by a passphrase holder (no MAC recomputation) → verify fails",
                   trials, sum(missed.values()), {"tried": dict(tried), "missed": dict(missed)})
    assert not missed, f"undetected audit edits (seed {used}): {dict(missed)}"
