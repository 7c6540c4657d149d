"""Sync bookkeeping: change outbox, per-field clocks, held/parked rows, conflicts, and the
triggers that fill them for every writer.

Why triggers: rows are written by the service API, the bulk import writer, media analysis,
the demo builder and whatever comes next. A trigger records each change in the SAME
transaction as the change, whoever made it, so the outbox can never miss one and a crash
never leaves a change recorded without its row or the other way round.

* ``sync_outbox`` — one entry per row changed since HQ last acknowledged it, in a shared
  case; ``id`` is a change sequence (an entry is replaced, with a fresh id, on every change,
  so an acknowledgement of an older read never removes a newer change).
* ``sync_field`` — per-field clocks: ``hlc`` the stamp of the field's last edit here (the
  row's new ``hlc`` at that update), ``base`` the stamp last agreed with HQ.
* ``sync_held`` — rows of a shared case that may not travel now (marked keep-local, or
  pointing at a keep-local row); re-checked at every push.
* ``sync_parked`` — rows pulled from HQ whose references are not here yet.
* ``sync_conflict`` — true conflicts kept for the officer.
* ``sync_apply`` — while the sync client applies rows from HQ it holds a row here (inside
  its own transaction, invisible to others), and the triggers stand aside: applied rows are
  not local changes.

Frozen DDL: the field lists below are this revision's copy, not imported from the code.

Revision ID: 0003_sync
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sync"
down_revision = "0002"
branch_labels = None
depends_on = None

# Columns whose edits get a per-field clock, per table (local column names).
FIELDS: dict[str, tuple[str, ...]] = {
    "case": ("number", "title", "status", "agency", "lead_officer", "opened_at", "closed_at",
             "summary", "sharing", "shared_with", "timezone", "category_scheme", "deleted"),
    "source": ("file_name", "file_size", "sha256", "importer", "options", "imported_by",
               "imported_at", "summary", "deleted"),
    "entity": ("kind", "label", "key", "properties", "merged_into", "source_id", "source_ref",
               "deleted"),
    "link": ("src_id", "dst_id", "kind", "confidence", "properties", "source_id", "source_ref",
             "deleted"),
    "event": ("kind", "ts_utc", "utc_offset", "title", "body", "properties", "source_id",
              "source_ref", "deleted"),
    "media": ("path", "size", "mime", "md5", "sha1", "sha256", "pdq", "pdq_quality", "width",
              "height", "exif", "captured_utc", "gps_lat", "gps_lon", "category",
              "categorised_by", "categorised_at", "source_id", "deleted"),
    "note": ("target_type", "target_id", "body", "author", "deleted"),
}
CHILD_TABLES = ("source", "entity", "link", "event", "media", "note")

NOT_APPLYING = "NOT EXISTS (SELECT 1 FROM sync_apply)"


def _shared(case_expr: str) -> str:
    return (f'EXISTS (SELECT 1 FROM "case" c WHERE c.id = {case_expr} '
            "AND c.sharing != 'local' AND c.keep_local = 0)")


def _watched(table: str) -> str:
    """The columns whose update is a change to sync: the synced fields and keep_local (so
    that a row released from keep-local travels). Local bookkeeping columns (thumbnails,
    stacks, file times, updated_at) are not watched, so updating them sends nothing."""
    return ", ".join(f'"{c}"' for c in (*FIELDS[table], "keep_local"))


def _field_stamps(table: str) -> str:
    out = []
    for col in FIELDS[table]:
        out.append(
            f"INSERT INTO sync_field (tbl, row_id, field, hlc) SELECT '{table}', NEW.id, '{col}', NEW.hlc "
            f'WHERE NEW."{col}" IS NOT OLD."{col}" '
            "ON CONFLICT (tbl, row_id, field) DO UPDATE SET hlc = excluded.hlc;")
    return "\n  ".join(out)


def _triggers() -> list[str]:
    stmts: list[str] = []
    # Cases: a shared case travels; a case that stops being shared travels once more (HQ
    # withdraws it from other agencies); a case that becomes shared enqueues all its rows.
    becomes_shared = ("(NEW.sharing != 'local' AND NEW.keep_local = 0) AND NOT "
                      "(OLD.sharing != 'local' AND OLD.keep_local = 0)")
    enqueue_all = "\n  ".join(
        f"INSERT OR REPLACE INTO sync_outbox (tbl, row_id) SELECT '{t}', id FROM \"{t}\" "
        f"WHERE case_id = NEW.id AND {becomes_shared};" for t in CHILD_TABLES)
    stmts.append(f"""CREATE TRIGGER sync_case_ai AFTER INSERT ON "case"
WHEN {NOT_APPLYING} AND NEW.sharing != 'local' AND NEW.keep_local = 0 BEGIN
  INSERT OR REPLACE INTO sync_outbox (tbl, row_id) VALUES ('case', NEW.id);
END""")
    stmts.append(f"""CREATE TRIGGER sync_case_au AFTER UPDATE OF {_watched("case")} ON "case"
WHEN {NOT_APPLYING} BEGIN
  {_field_stamps("case")}
  INSERT OR REPLACE INTO sync_outbox (tbl, row_id) SELECT 'case', NEW.id
    WHERE NEW.sharing != 'local' OR OLD.sharing != 'local';
  {enqueue_all}
END""")
    for t in CHILD_TABLES:
        stmts.append(f"""CREATE TRIGGER sync_{t}_ai AFTER INSERT ON "{t}"
WHEN {NOT_APPLYING} AND {_shared("NEW.case_id")} BEGIN
  INSERT OR REPLACE INTO sync_outbox (tbl, row_id) VALUES ('{t}', NEW.id);
END""")
        stmts.append(f"""CREATE TRIGGER sync_{t}_au AFTER UPDATE OF {_watched(t)} ON "{t}"
WHEN {NOT_APPLYING} BEGIN
  {_field_stamps(t)}
  INSERT OR REPLACE INTO sync_outbox (tbl, row_id) SELECT '{t}', NEW.id WHERE {_shared("NEW.case_id")};
END""")
    # Parties travel inside their event: a party change is a change of the event. A new
    # party arrives with a new event (already enqueued); a moved or removed party (merge,
    # unmerge) gets a clock on the event's "parties" field, the newer of the event's stamp
    # and the last stamp the service issued (merge stamps before it moves parties).
    event_shared = _shared("(SELECT e.case_id FROM event e WHERE e.id = {ev})")
    party_stamp = ("INSERT INTO sync_field (tbl, row_id, field, hlc) SELECT 'event', e.id, 'parties', "
                   "max(e.hlc, coalesce((SELECT value FROM meta WHERE key = 'hlc_last'), '')) "
                   "FROM event e WHERE e.id = {ev} "
                   "ON CONFLICT (tbl, row_id, field) DO UPDATE SET hlc = excluded.hlc;")
    stmts.append(f"""CREATE TRIGGER sync_party_ai AFTER INSERT ON event_party
WHEN {NOT_APPLYING} AND {event_shared.format(ev="NEW.event_id")} BEGIN
  INSERT OR REPLACE INTO sync_outbox (tbl, row_id) VALUES ('event', NEW.event_id);
END""")
    stmts.append(f"""CREATE TRIGGER sync_party_au AFTER UPDATE OF event_id, entity_id, role ON event_party
WHEN {NOT_APPLYING} BEGIN
  {party_stamp.format(ev="NEW.event_id")}
  INSERT OR REPLACE INTO sync_outbox (tbl, row_id) SELECT 'event', NEW.event_id
    WHERE {event_shared.format(ev="NEW.event_id")};
  {party_stamp.format(ev="OLD.event_id")}
  INSERT OR REPLACE INTO sync_outbox (tbl, row_id) SELECT 'event', OLD.event_id
    WHERE OLD.event_id != NEW.event_id AND {event_shared.format(ev="OLD.event_id")};
END""")
    stmts.append(f"""CREATE TRIGGER sync_party_ad AFTER DELETE ON event_party
WHEN {NOT_APPLYING} BEGIN
  {party_stamp.format(ev="OLD.event_id")}
  INSERT OR REPLACE INTO sync_outbox (tbl, row_id) SELECT 'event', OLD.event_id
    WHERE {event_shared.format(ev="OLD.event_id")};
END""")
    return stmts


def upgrade() -> None:
    op.create_table(
        "sync_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tbl", sa.String(16), nullable=False),
        sa.Column("row_id", sa.Integer, nullable=False),
        sa.UniqueConstraint("tbl", "row_id", name="uq_sync_outbox_row"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sync_field",
        sa.Column("tbl", sa.String(16), primary_key=True),
        sa.Column("row_id", sa.Integer, primary_key=True),
        sa.Column("field", sa.String(32), primary_key=True),
        sa.Column("hlc", sa.String(64), nullable=False),
        sa.Column("base", sa.String(64), nullable=True),
    )
    op.create_table(
        "sync_held",
        sa.Column("tbl", sa.String(16), primary_key=True),
        sa.Column("row_id", sa.Integer, primary_key=True),
        sa.Column("reason", sa.String(64), nullable=False),
    )
    op.create_table(
        "sync_parked",
        sa.Column("uid", sa.String(36), primary_key=True),
        sa.Column("tbl", sa.String(16), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("parked_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "sync_conflict",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tbl", sa.String(16), nullable=False),
        sa.Column("row_uid", sa.String(36), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("mine", sa.Text, nullable=True),
        sa.Column("mine_hlc", sa.String(64), nullable=True),
        sa.Column("theirs", sa.Text, nullable=True),
        sa.Column("theirs_hlc", sa.String(64), nullable=True),
        sa.Column("winner", sa.String(8), nullable=False),
        sa.Column("detected_at", sa.String(32), nullable=False),
        sa.Column("resolved_at", sa.String(32), nullable=True),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("resolved_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_sync_conflict_row", "sync_conflict", ["tbl", "row_uid", "field"])
    op.create_table("sync_apply", sa.Column("flag", sa.Integer, nullable=False))
    for stmt in _triggers():
        op.execute(stmt)
    # Rows of cases that were already shared before this revision still have to travel.
    for t in ("case", *CHILD_TABLES):
        col = "id" if t == "case" else "case_id"
        op.execute(f"INSERT OR REPLACE INTO sync_outbox (tbl, row_id) SELECT '{t}', x.id FROM \"{t}\" x "
                   f"WHERE EXISTS (SELECT 1 FROM \"case\" c WHERE c.id = x.{col} AND c.sharing != 'local' "
                   "AND c.keep_local = 0)")


def downgrade() -> None:  # pragma: no cover
    raise NotImplementedError("downgrading a case database is not supported")
