"""HQ's first schema: identities, cases and grants, records with their change sequence,
fingerprints, counters, secrets, request audit, imported bundles.

Frozen DDL: this file never changes once released; later revisions alter the schema.

Revision ID: hq0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hq0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hq_agency",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("contact", sa.String(200), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "hq_officer",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agency_id", sa.Integer, sa.ForeignKey("hq_agency.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("contact", sa.String(200), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_hq_officer_agency_id", "hq_officer", ["agency_id"])
    op.create_table(
        "hq_device",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("officer_id", sa.Integer, sa.ForeignKey("hq_officer.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("sign_pub", sa.String(64), nullable=False),
        sa.Column("box_pub", sa.String(64), nullable=False),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("enrolled_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
        sa.Column("last_seen_at", sa.String(32), nullable=True),
    )
    op.create_index("ix_hq_device_officer_id", "hq_device", ["officer_id"])
    op.create_table(
        "hq_enrolment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("officer_id", sa.Integer, sa.ForeignKey("hq_officer.id"), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("used_at", sa.String(32), nullable=True),
        sa.Column("device_id", sa.String(64), nullable=True),
    )
    op.create_table(
        "hq_case",
        sa.Column("uid", sa.String(36), primary_key=True),
        sa.Column("owner_agency_id", sa.Integer, sa.ForeignKey("hq_agency.id"), nullable=False),
        sa.Column("owner_officer_id", sa.Integer, sa.ForeignKey("hq_officer.id"), nullable=False),
        sa.Column("sharing", sa.String(16), nullable=False),
        sa.Column("shared_with", sa.JSON, nullable=False),
        sa.Column("ref", sa.String(16), nullable=False, unique=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_hq_case_owner_agency_id", "hq_case", ["owner_agency_id"])
    op.create_table(
        "hq_grant",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_uid", sa.String(36), sa.ForeignKey("hq_case.uid"), nullable=False),
        sa.Column("agency_id", sa.Integer, sa.ForeignKey("hq_agency.id"), nullable=True),
        sa.Column("officer_id", sa.Integer, sa.ForeignKey("hq_officer.id"), nullable=True),
    )
    op.create_index("ix_hq_grant_case_uid", "hq_grant", ["case_uid"])
    op.create_index("ix_hq_grant_agency_id", "hq_grant", ["agency_id"])
    op.create_index("ix_hq_grant_officer_id", "hq_grant", ["officer_id"])
    op.create_table(
        "hq_record",
        sa.Column("uid", sa.String(36), primary_key=True),
        sa.Column("tbl", sa.String(16), nullable=False),
        sa.Column("case_uid", sa.String(36), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("hlc", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("stamps", sa.JSON, nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_hq_record_case_uid", "hq_record", ["case_uid"])
    op.create_index("ix_hq_record_case_seq", "hq_record", ["case_uid", "seq"])
    op.create_table(
        "hq_fingerprint",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("fp", sa.String(90), nullable=False),
        sa.Column("case_uid", sa.String(36), nullable=False),
        sa.Column("record_uid", sa.String(36), nullable=False),
    )
    op.create_index("ix_hq_fingerprint_fp", "hq_fingerprint", ["fp"])
    op.create_index("ix_hq_fingerprint_case_uid", "hq_fingerprint", ["case_uid"])
    op.create_index("ix_hq_fingerprint_record_uid", "hq_fingerprint", ["record_uid"])
    op.create_table(
        "hq_counter",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "hq_secret",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "hq_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("device_id", sa.String(64), nullable=True),
        sa.Column("officer_id", sa.Integer, nullable=True),
        sa.Column("agency_id", sa.Integer, nullable=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("cases", sa.Text, nullable=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_hq_audit_at", "hq_audit", ["at"])
    op.create_index("ix_hq_audit_device_id", "hq_audit", ["device_id"])
    op.create_table(
        "hq_bundle",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.String(32), nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("changed", sa.Integer, nullable=False),
    )
    op.execute("INSERT INTO hq_counter (name, value) VALUES ('seq', 0)")


def downgrade() -> None:  # pragma: no cover
    raise NotImplementedError("downgrading the HQ database is not supported")
