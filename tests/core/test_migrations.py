"""Schema migrations: upgrade an old file safely, refuse a newer one, match the code's schema."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from workstation.domain.service import Workstation
from workstation.errors import DatabaseTooNew
from workstation.store import schema
from workstation.store.database import Database
from workstation.store.migrate import current_revision, head_revision

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "schema_0001.db"
FIXTURE_PASS = "fixture-passphrase"


def test_migrated_schema_matches_the_code(db) -> None:
    with db.engine.connect() as conn:
        # FTS5 virtual tables and their shadow tables are made by raw DDL, not modelled.
        ctx = MigrationContext.configure(conn, opts={
            "include_name": lambda name, type_, parent: not (
                type_ == "table" and name.startswith("fts_") and name != "fts_defer")})
        diffs = compare_metadata(ctx, schema.metadata)
    assert diffs == []
    assert current_revision(db) == head_revision()


def test_upgrade_from_first_schema_keeps_data_and_copies_file_aside(tmp_path: Path) -> None:
    target = tmp_path / "old.db"
    shutil.copy2(FIXTURE, target)
    original = target.read_bytes()
    db = Database.open(target, FIXTURE_PASS)
    try:
        assert current_revision(db) == head_revision() != "0001"
        ws = Workstation(db)
        assert [c.number for c in ws.list_cases()] == ["OLD-001"]
        events = ws.list_events(ws.list_cases()[0].id)
        assert [e.body for e in events] == ["findable fixture text"]
        # New tables of later revisions are usable.
        with db.read() as conn:
            assert conn.execute(schema.mapping_profile.select()).fetchall() == []
    finally:
        db.lock()
    backups = sorted(tmp_path.glob("old.db.pre-*.bak"))
    assert len(backups) == 1
    assert backups[0].read_bytes() == original
    # Opening again migrates nothing and makes no further copy.
    Database.open(target, FIXTURE_PASS).lock()
    assert len(sorted(tmp_path.glob("old.db.pre-*.bak"))) == 1


def test_database_newer_than_the_code_is_refused(db, db_path: Path) -> None:
    from tests.conftest import PASSPHRASE

    with db.write() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    db.lock()
    with pytest.raises(DatabaseTooNew, match="newer version"):
        Database.open(db_path, PASSPHRASE)
