"""The encrypted store: what an officer relies on when a laptop is lost or a file is damaged."""

from __future__ import annotations

import hashlib
import os
import random
import re
import sqlite3
import stat
from pathlib import Path

import pytest
import sqlcipher3

from tests.conftest import PASSPHRASE
from workstation.errors import (
    DatabaseLocked,
    IntegrityFailure,
    NotADatabase,
    StorageError,
    UsageError,
    WrongPassphrase,
)
from workstation.store.database import Database


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_file_is_encrypted_and_plain_sqlite_cannot_read_it(ws, db_path: Path) -> None:
    ws.create_case("C-1", "Canary case TOPSECRETCANARY")
    ws.db.checkpoint()
    raw = db_path.read_bytes()
    assert not raw.startswith(b"SQLite format 3\x00")
    assert b"TOPSECRETCANARY" not in raw
    conn = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    conn.close()


def test_bare_sqlcipher_opens_the_file_with_the_passphrase(ws, db_path: Path) -> None:
    ws.create_case("C-7", "Readable with the passphrase")
    ws.db.checkpoint()
    # No project code: the SQLCipher 4 defaults and the passphrase are all it takes.
    conn = sqlcipher3.connect(str(db_path))
    conn.execute("PRAGMA key = 'correct horse battery staple'")
    rows = conn.execute('SELECT number, title FROM "case"').fetchall()
    conn.close()
    assert rows == [("C-7", "Readable with the passphrase")]


def test_cipher_settings_asserted_at_open(db) -> None:
    st = db.cipher_settings()
    assert st.cipher_version.startswith("4.")
    assert st.kdf_iter >= 256000
    assert st.hmac is True
    assert st.temp_store == 2
    assert st.journal_mode == "wal"
    assert st.synchronous == 2


def test_wrong_passphrase_is_typed_and_leaves_file_unchanged(ws, db_path: Path) -> None:
    ws.create_case("C-1", "Before")
    ws.db.lock()
    before = _digest(db_path)
    listing = sorted(p.name for p in db_path.parent.iterdir())
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        Database.open(db_path, "not the passphrase")
    assert _digest(db_path) == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == listing


def test_passphrase_with_quotes_and_unicode(tmp_path: Path) -> None:
    tricky = "it's a \"quote\"; DROP TABLE x; -- ünïcødé"
    path = tmp_path / "q.db"
    Database.create(path, tricky).lock()
    db = Database.open(path, tricky)
    db.lock()
    conn = sqlcipher3.connect(str(path))
    conn.execute("PRAGMA key = '%s'" % tricky.replace("'", "''"))
    assert conn.execute("SELECT count(*) FROM meta").fetchone()[0] >= 3
    conn.close()


def test_change_passphrase_rekeys_every_page(ws, db_path: Path) -> None:
    from workstation.domain.service import Workstation

    ws.create_case("C-9", "Survives rekey")
    ws.db.change_passphrase("a brand new passphrase")
    ws.db.lock()
    with pytest.raises(WrongPassphrase):
        Database.open(db_path, PASSPHRASE)
    db = Database.open(db_path, "a brand new passphrase")
    w2 = Workstation(db)
    assert [c.number for c in w2.list_cases()] == ["C-9"]
    assert w2.audit.verify().ok
    with db.read() as conn:
        actions = [e.action for e in w2.audit.entries(conn)]
    assert actions[-1] == "database.passwd"
    db.lock()
    conn = sqlcipher3.connect(str(db_path))
    conn.execute("PRAGMA key = 'a brand new passphrase'")
    assert conn.execute('SELECT count(*) FROM "case"').fetchone()[0] == 1
    conn.close()


def test_flipped_bytes_are_detected(ws, db_path: Path) -> None:
    for i in range(30):
        ws.create_case(f"C-{i}", "Padding " * 40)
    ws.db.checkpoint()
    ws.db.lock()
    data = bytearray(db_path.read_bytes())
    # Flip one byte in the middle of the second page (page 1 carries the salt).
    data[4096 + 2000] ^= 0x5A
    db_path.write_bytes(bytes(data))
    db = Database.open(db_path, PASSPHRASE, migrate=False)
    problems = db.integrity_check()
    db.lock()
    assert problems, "a flipped byte must be reported"
    assert any("cipher" in p or "sqlite" in p for p in problems)


def test_a_damaged_first_page_is_not_mistaken_for_a_wrong_passphrase(ws, db_path: Path) -> None:
    for i in range(10):
        ws.create_case(f"P-{i}", "Padding " * 40)
    ws.db.checkpoint()
    ws.db.lock()
    data = bytearray(db_path.read_bytes())
    data[1000] ^= 0x21  # inside page 1, after the salt
    db_path.write_bytes(bytes(data))
    with pytest.raises(IntegrityFailure, match="passphrase is right but the first page"):
        Database.open(db_path, PASSPHRASE)
    with pytest.raises(WrongPassphrase):
        Database.open(db_path, "not the passphrase at all")
    assert db_path.read_bytes() == bytes(data), "a refused open must not touch the file"


@pytest.mark.parametrize("content,expected", [
    (b"", "empty or truncated"),
    (b"SQLite format 3\x00" + b"\x00" * 4080, "plain (unencrypted) SQLite"),
])
def test_not_a_database(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(content)
    with pytest.raises(NotADatabase, match=re.escape(expected)):
        Database.open(path, PASSPHRASE)


def test_random_file_reads_as_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(random.Random(8192).randbytes(8192))  # fixed noise: same input every run
    with pytest.raises(WrongPassphrase, match="not a case database"):
        Database.open(path, PASSPHRASE)


def test_truncated_database_is_reported(ws, db_path: Path) -> None:
    for i in range(40):
        ws.create_case(f"T-{i}", "x" * 300)
    ws.db.checkpoint()
    ws.db.lock()
    data = db_path.read_bytes()
    db_path.write_bytes(data[: len(data) // 2 + 123])
    try:
        db = Database.open(db_path, PASSPHRASE, migrate=False)
    except Exception as exc:  # a clear typed error is acceptable at open...
        from workstation.errors import WorkstationError

        assert isinstance(exc, WorkstationError)
        return
    problems = db.integrity_check()  # ...otherwise the integrity check must say so
    db.lock()
    assert problems


def test_create_refuses_existing_and_readonly(tmp_path: Path, db_path: Path) -> None:
    with pytest.raises(UsageError, match="already exists"):
        Database.create(db_path, PASSPHRASE)
    with pytest.raises(StorageError, match="does not exist"):
        Database.create(tmp_path / "missing" / "new.db", PASSPHRASE)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(ro, os.W_OK):  # running as root: permissions do not bind
            pytest.skip("root ignores directory permissions")
        with pytest.raises(StorageError, match="read-only"):
            Database.create(ro / "new.db", PASSPHRASE)
    finally:
        ro.chmod(stat.S_IRWXU)


def test_full_disk_during_write_keeps_committed_data(ws) -> None:
    from workstation.errors import StorageError

    ws.create_case("KEEP-1", "Committed before the disk filled")
    with ws.db.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    # Simulate a full disk: SQLite answers SQLITE_FULL once the file may not grow.
    with ws.db.write() as conn:
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages + 1}")
    with pytest.raises(StorageError, match="disk is full"):
        with ws.db.write() as conn:
            for i in range(200):
                conn.exec_driver_sql(
                    "INSERT INTO note(case_id, body, author, created_at, updated_at, uid, origin, hlc) "
                    "VALUES (1, ?, 'x', 'x', 'x', ?, 'o', 'h')", ("y" * 4000, f"u{i}"))
    assert [c.number for c in ws.list_cases()] == ["KEEP-1"]
    assert ws.list_notes(ws.list_cases()[0].id) == []


def test_lock_forgets_the_key(ws) -> None:
    ws.db.lock()
    assert ws.db.is_locked
    with pytest.raises(DatabaseLocked):
        ws.list_cases()


def test_read_only_and_full_file_systems_get_clear_errors_and_lose_nothing(small_filesystem) -> None:
    from workstation.domain.service import Workstation

    mnt, remount = small_filesystem
    path = mnt / "case.db"
    ws = Workstation(Database.create(path, PASSPHRASE))
    case_id = ws.create_case("RO-1", "On a small disk").id
    ws.db.lock()
    before = path.read_bytes()
    remount("ro")
    with pytest.raises(StorageError, match="location is read-only"):
        Database.open(path, PASSPHRASE)
    with pytest.raises(StorageError, match="read-only"):
        Database.create(mnt / "new.db", PASSPHRASE)
    assert path.read_bytes() == before
    remount("rw")
    # A real full disk: notes are written until the file system has no room left.
    ws = Workstation(Database.open(path, PASSPHRASE))
    written = 0
    with pytest.raises(StorageError, match="disk is full"):
        for _ in range(1000):
            ws.add_note(case_id, "z" * 20_000)
            written += 1
    assert written > 0
    assert [c.number for c in ws.list_cases()] == ["RO-1"]
    assert len(ws.list_notes(case_id)) == written, "every note committed before the disk filled is kept"
    ws.db.lock()
    reopened = Database.open(path, PASSPHRASE)
    assert reopened.integrity_check() == []
    reopened.lock()


def test_bulk_write_is_durable_at_commit_and_folded_in_afterwards(ws, db_path: Path) -> None:
    """A bulk transaction (an import) commits into the WAL and returns; the copy into the
    main file happens afterwards on the database's own thread, and lock() waits for it."""
    case_id = ws.create_case("BULK-1", "Bulk").id
    with ws.db.write(bulk=True) as conn:
        cur = conn.connection.dbapi_connection.cursor()
        cur.executemany("INSERT INTO note (case_id, body, created_at, updated_at, author, uid, origin, hlc) "
                        "VALUES (?, ?, '2024-01-01', '2024-01-01', 'tester', ?, 'dev', 'h')",
                        [(case_id, "x" * 2000, f"uid-{i}") for i in range(3000)])
    # Every pooled connection still checkpoints on its own commits as SQLite does by default.
    conns = [ws.db.engine.connect() for _ in range(4)]
    try:
        assert {c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() for c in conns} == {1000}
    finally:
        for c in conns:
            c.close()
    ws.db.lock()
    assert not Path(str(db_path) + "-wal").exists()
    conn = sqlcipher3.connect(str(db_path))  # the main file alone holds every row
    conn.execute(f"PRAGMA key = '{PASSPHRASE}'")
    assert conn.execute("SELECT count(*) FROM note WHERE body = ?", ("x" * 2000,)).fetchone()[0] == 3000
    conn.close()


def test_bulk_write_survives_the_process_dying_before_the_checkpoint(db_path: Path) -> None:
    """Killed right after an import returned (its WAL not yet copied): nothing is lost."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from workstation.store.database import Database
        from workstation.domain.service import Workstation
        ws = Workstation(Database.open({str(db_path)!r}, {PASSPHRASE!r}))
        case_id = ws.create_case("BULK-2", "Killed").id
        with ws.db.write(bulk=True) as conn:
            conn.connection.dbapi_connection.executemany(
                "INSERT INTO note (case_id, body, created_at, updated_at, author, uid, origin, hlc) "
                "VALUES (?, ?, '2024-01-01', '2024-01-01', 'tester', ?, 'dev', 'h')",
                [(case_id, "y" * 2000, f"uid-{{i}}") for i in range(3000)])
        os.kill(os.getpid(), 9)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    db = Database.open(db_path, PASSPHRASE)
    try:
        assert db.integrity_check() == []
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM note WHERE body = ?", ("y" * 2000,)).scalar() == 3000
    finally:
        db.lock()
