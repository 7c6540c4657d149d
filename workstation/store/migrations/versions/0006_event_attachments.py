"""Event attachments by hash: ``event_attachment``, derived from event properties.

Chat and mail importers record the files sent with a message in
``event.properties['attachments']`` (name, mime, size, sha256, md5, path). Cross-case
matching wants "which events of other cases carry a file with this SHA-256 / MD5" as an
index seek, not a scan of every event's JSON, so each attachment with a digest gets a row
here: ``(event_id, case_id, sha256, md5, name)``, indexed on each digest.

Kept in step by triggers, like the sync bookkeeping of 0003_sync, so every writer — the
bulk import writer, service edits, merges, rows applied by sync — is covered in the same
transaction without knowing about the table:

* after INSERT of an event with an ``attachments`` array: its rows are added. The ``WHEN``
  clause first looks for the text ``"attachments"`` (a byte search), so an event without
  attachments — nearly every row of an import — costs no JSON parse at all;
* after UPDATE OF properties or case_id: the event's rows are rebuilt;
* after DELETE: its rows go.

A tombstoned event (``deleted = 1``) keeps its rows; readers join ``event`` and skip it, so
undeleting needs nothing here. Local derived data: not synced, no sync triggers on it.
Digests are stored lower-case, and only when they have the right length (64 / 32 hex).

Frozen DDL: this revision's own copy, not imported from the code.

Revision ID: 0006_event_att
Revises: 0005_event_idx
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_event_att"
down_revision = "0005_event_idx"
branch_labels = None
depends_on = None


def _has_attachments(row: str) -> str:
    # instr() first: no JSON parse for the events (almost all) that name no attachments;
    # json_valid() keeps a malformed property text from failing the writer's statement.
    return (f"instr({row}.properties, '\"attachments\"') > 0 AND json_valid({row}.properties) "
            f"AND json_type({row}.properties, '$.attachments') = 'array'")


def _rows_of(row: str) -> str:
    """INSERT of the hashed attachments of event ``row``: ``NEW`` in a trigger, ``event``
    (every row of the table) for the backfill."""
    sha = "a.value ->> 'sha256'"
    md5 = "a.value ->> 'md5'"
    return (
        "INSERT INTO event_attachment (event_id, case_id, sha256, md5, name) "
        f"SELECT {row}.id, {row}.case_id, "
        f"CASE WHEN length({sha}) = 64 THEN lower({sha}) END, "
        f"CASE WHEN length({md5}) = 32 THEN lower({md5}) END, "
        "a.value ->> 'name' "
        f"FROM {'event, ' if row == 'event' else ''}json_each({row}.properties, '$.attachments') AS a "
        f"WHERE a.type = 'object' AND (length({sha}) = 64 OR length({md5}) = 32)")


TRIGGERS = {
    "event_attachment_ai": (
        f"CREATE TRIGGER event_attachment_ai AFTER INSERT ON event WHEN {_has_attachments('NEW')} "
        f"BEGIN {_rows_of('NEW')}; END"),
    "event_attachment_au": (
        "CREATE TRIGGER event_attachment_au AFTER UPDATE OF properties, case_id ON event "
        "WHEN instr(OLD.properties, '\"attachments\"') > 0 OR instr(NEW.properties, '\"attachments\"') > 0 "
        "BEGIN DELETE FROM event_attachment WHERE event_id = OLD.id; "
        f"{_rows_of('NEW')} AND {_has_attachments('NEW')}; END"),
    "event_attachment_ad": (
        "CREATE TRIGGER event_attachment_ad AFTER DELETE ON event "
        "WHEN instr(OLD.properties, '\"attachments\"') > 0 "
        "BEGIN DELETE FROM event_attachment WHERE event_id = OLD.id; END"),
}


def upgrade() -> None:
    op.create_table(
        "event_attachment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("md5", sa.String(32), nullable=True),
        sa.Column("name", sa.Text, nullable=True),
    )
    # Backfill before the indexes: one sorted build each instead of row-by-row inserts.
    op.execute(f"{_rows_of('event')} AND {_has_attachments('event')}")
    op.create_index("ix_event_attachment_sha256", "event_attachment", ["sha256", "case_id"])
    op.create_index("ix_event_attachment_md5", "event_attachment", ["md5", "case_id"])
    op.create_index("ix_event_attachment_event", "event_attachment", ["event_id"])
    op.create_index("ix_event_attachment_case", "event_attachment", ["case_id"])
    for ddl in TRIGGERS.values():
        op.execute(ddl)


def downgrade() -> None:  # pragma: no cover
    raise NotImplementedError("downgrading a case database is not supported")
