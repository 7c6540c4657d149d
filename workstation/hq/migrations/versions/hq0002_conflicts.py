"""Conflicts HQ found in pushes, kept so that each reaches its device even when the push
answer was lost (delivered again with the device's next pull).

Frozen DDL: this file never changes once released; later revisions alter the schema.

Revision ID: hq0002
Revises: hq0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hq0002"
down_revision = "hq0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hq_conflict",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("case_uid", sa.String(36), nullable=False),
        sa.Column("tbl", sa.String(16), nullable=False),
        sa.Column("record_uid", sa.String(36), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("mine", sa.Text, nullable=False),
        sa.Column("mine_stamp", sa.String(64), nullable=False),
        sa.Column("theirs", sa.Text, nullable=False),
        sa.Column("theirs_stamp", sa.String(64), nullable=False),
        sa.Column("winner", sa.String(8), nullable=False),
        sa.Column("detected_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_hq_conflict_device_seq", "hq_conflict", ["device_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_hq_conflict_device_seq", "hq_conflict")
    op.drop_table("hq_conflict")
