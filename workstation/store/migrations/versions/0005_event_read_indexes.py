"""Indexes that let the common event queries read index pages only.

On an encrypted store every table page read from disk is decrypted and authenticated, so a
query that touches a thousand scattered event rows costs a thousand page decrypts. Two
changes keep the hot reads inside small, cache-resident indexes:

* ``ix_event_case_ts`` gains ``deleted``: a time-window count and the first page of a
  window are answered from the index alone (live rows are found without the table).
* ``ix_event_live`` (``id, case_id, deleted, ts_utc, kind``): the events of one entity
  (a few hundred to thousands, scattered over the file) are filtered and put in time
  order from this index; only the page of rows shown is then read from the table.

Revision ID: 0005_event_idx
Revises: 0004_media
"""

from __future__ import annotations

from alembic import op

revision = "0005_event_idx"
down_revision = "0004_media"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_event_case_ts", table_name="event")
    op.create_index("ix_event_case_ts", "event", ["case_id", "ts_utc", "deleted"])
    op.create_index("ix_event_live", "event", ["id", "case_id", "deleted", "ts_utc", "kind"])


def downgrade() -> None:
    op.drop_index("ix_event_live", table_name="event")
    op.drop_index("ix_event_case_ts", table_name="event")
    op.create_index("ix_event_case_ts", "event", ["case_id", "ts_utc"])
