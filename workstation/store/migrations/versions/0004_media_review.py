"""Seized-media review: hash-set matches, case alerts, resumable ingest bookkeeping.

* ``media.file_mtime_ns`` — the file's modification time when it was ingested (for an
  archive member: the archive's). With path and size it lets a re-run of an interrupted
  ingest skip files already in the case without reading them again.
* ``media.problem`` — why the image part of a file could not be analysed (decompression
  bomb, truncated data, unsupported format); its digests are still valid for matching.
* ``hash_match`` — one row per (media, hash-set entry, hash kind) match, with the PDQ
  Hamming distance (0 for exact digests). Local bookkeeping: it never travels.
* ``media_alert`` — a case-level alert per (media, set) when a file matches a known-bad or
  alert set, until the officer acknowledges it.
* Indexes for the review grid (media by path, stack, category) and for per-set queries of
  hash entries (building a PDQ index of one set).

Only additions: ``ALTER TABLE ... ADD COLUMN`` keeps the media table (and the sync
triggers of 0003_sync on it) in place.

Revision ID: 0004_media
Revises: 0003_sync
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_media"
down_revision = "0003_sync"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("media", sa.Column("file_mtime_ns", sa.Integer, nullable=True))
    op.add_column("media", sa.Column("problem", sa.Text, nullable=True))
    op.create_index("ix_media_case_path", "media", ["case_id", "path"])
    op.create_index("ix_media_case_stack", "media", ["case_id", "stack_id"])
    op.create_index("ix_media_case_category", "media", ["case_id", "category"])
    op.create_index("ix_hash_entry_set", "hash_entry", ["set_id"])
    op.create_table(
        "hash_match",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("media_id", sa.Integer, sa.ForeignKey("media.id"), nullable=False),
        sa.Column("set_id", sa.Integer, sa.ForeignKey("hash_set.id"), nullable=False),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("hash_entry.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("distance", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("media_id", "entry_id", "kind", name="uq_hash_match"),
    )
    op.create_index("ix_hash_match_media", "hash_match", ["media_id"])
    op.create_index("ix_hash_match_set", "hash_match", ["set_id"])
    op.create_table(
        "media_alert",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("case.id"), nullable=False),
        sa.Column("media_id", sa.Integer, sa.ForeignKey("media.id"), nullable=False),
        sa.Column("set_id", sa.Integer, sa.ForeignKey("hash_set.id"), nullable=False),
        sa.Column("set_kind", sa.String(16), nullable=False),
        sa.Column("match_kind", sa.String(8), nullable=False),
        sa.Column("distance", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("acknowledged_at", sa.String(32), nullable=True),
        sa.Column("acknowledged_by", sa.String(128), nullable=True),
        sa.UniqueConstraint("media_id", "set_id", name="uq_media_alert"),
    )
    op.create_index("ix_media_alert_case", "media_alert", ["case_id"])


def downgrade() -> None:  # pragma: no cover
    raise NotImplementedError("downgrading a case database is not supported")
