"""HQ's own storage: SQLAlchemy models (SQLite embedded by default, PostgreSQL in production).

HQ is a peer that holds the shared part of the cases: one row per synced record (its latest
merged state, per-field stamps and a place in HQ's change sequence), the cases' ownership
and who they are shared with, identities (agencies, officers, enrolled devices), keyed
fingerprints for deconfliction, and an audit row per request. Schema changes go through
HQ's own Alembic scripts (``workstation/hq/migrations``); this module is the head revision.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Agency(Base):
    __tablename__ = "hq_agency"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[str] = mapped_column(String(32))


class Officer(Base):
    __tablename__ = "hq_officer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("hq_agency.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[str] = mapped_column(String(32))


class Device(Base):
    __tablename__ = "hq_device"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("hq_officer.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sign_pub: Mapped[str] = mapped_column(String(64))
    box_pub: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(128), default="")
    enrolled_at: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_seen_at: Mapped[str | None] = mapped_column(String(32), nullable=True)


class EnrolmentCode(Base):
    __tablename__ = "hq_enrolment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("hq_officer.id"))
    created_at: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[str] = mapped_column(String(32))
    used_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Case(Base):
    """A case HQ holds: who owns it (the agency whose device pushed it first) and with whom
    it is shared (its case row's ``sharing`` / ``shared_with``, as merged)."""

    __tablename__ = "hq_case"
    uid: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_agency_id: Mapped[int] = mapped_column(ForeignKey("hq_agency.id"), index=True)
    owner_officer_id: Mapped[int] = mapped_column(ForeignKey("hq_officer.id"))
    sharing: Mapped[str] = mapped_column(String(16))
    shared_with: Mapped[list] = mapped_column(JSON)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[str] = mapped_column(String(32))


class Grant(Base):
    """Read/write access to a case for an agency or one officer (owner included)."""

    __tablename__ = "hq_grant"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_uid: Mapped[str] = mapped_column(ForeignKey("hq_case.uid"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("hq_agency.id"), nullable=True, index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("hq_officer.id"), nullable=True, index=True)


class Record(Base):
    """The merged state of one synced row. ``seq`` is HQ's change sequence: it grows on
    every change, so a device pulls ``seq > cursor``. ``changed_by`` is the device whose
    push made the row exactly what it is (that device need not pull it back)."""

    __tablename__ = "hq_record"
    uid: Mapped[str] = mapped_column(String(36), primary_key=True)
    tbl: Mapped[str] = mapped_column(String(16))
    case_uid: Mapped[str] = mapped_column(String(36), index=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    hlc: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    fields: Mapped[dict] = mapped_column(JSON)
    stamps: Mapped[dict] = mapped_column(JSON)
    changed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[str] = mapped_column(String(32))


Index("ix_hq_record_case_seq", Record.case_uid, Record.seq)


class ConflictNote(Base):
    """A true conflict HQ found in a device's push: reported in the push answer and again
    with that device's next pull (``seq`` is a place in the change sequence), so that a
    lost answer never loses it. ``mine``: what the device sent; ``theirs``: what HQ held."""

    __tablename__ = "hq_conflict"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    device_id: Mapped[str] = mapped_column(String(64))
    case_uid: Mapped[str] = mapped_column(String(36))
    tbl: Mapped[str] = mapped_column(String(16))
    record_uid: Mapped[str] = mapped_column(String(36))
    field: Mapped[str] = mapped_column(String(32))
    mine: Mapped[str] = mapped_column(Text)  # JSON text
    mine_stamp: Mapped[str] = mapped_column(String(64))
    theirs: Mapped[str] = mapped_column(Text)  # JSON text
    theirs_stamp: Mapped[str] = mapped_column(String(64))
    winner: Mapped[str] = mapped_column(String(8))
    detected_at: Mapped[str] = mapped_column(String(32))


Index("ix_hq_conflict_device_seq", ConflictNote.device_id, ConflictNote.seq)


class Fingerprint(Base):
    __tablename__ = "hq_fingerprint"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fp: Mapped[str] = mapped_column(String(90), index=True)
    case_uid: Mapped[str] = mapped_column(String(36), index=True)
    record_uid: Mapped[str] = mapped_column(String(36), index=True)


class Counter(Base):
    __tablename__ = "hq_counter"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Secret(Base):
    """HQ's own keys (bundle keypairs, fingerprint key, instance id), made at first start."""

    __tablename__ = "hq_secret"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AuditEntry(Base):
    """One row per request: who (device, officer, agency, address), which endpoint and
    cases, and the outcome. Never tokens, keys or record contents."""

    __tablename__ = "hq_audit"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[str] = mapped_column(String(32), index=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    officer_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agency_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    method: Mapped[str] = mapped_column(String(8))
    endpoint: Mapped[str] = mapped_column(String(200))
    cases: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class BundleLog(Base):
    __tablename__ = "hq_bundle"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[str] = mapped_column(String(32))
    records: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
