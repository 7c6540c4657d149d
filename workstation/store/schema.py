"""The current schema of the local case database, as SQLAlchemy Core tables.

Migrations (``store/migrations``) create and upgrade the file; this module describes the
head revision for queries. ``tests/core/test_migrations.py`` proves the two agree.

Times: ``*_at`` columns are ISO-8601 UTC text with microseconds (sortable, readable in the
sqlcipher shell); event times are integer microseconds since the Unix epoch in UTC
(``ts_utc``) plus the original UTC offset in minutes (``utc_offset``, NULL when the source
did not state one), because timeline range queries over millions of rows want integers.

Every syncable table has ``uid`` (UUID text), ``origin`` (device id), ``hlc`` (hybrid
logical clock stamp) and ``deleted`` (tombstone); a delete of a syncable row is a
tombstone update, never a physical delete.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()


def _sync_columns() -> list[Column]:
    return [
        Column("uid", String(36), nullable=False, unique=True),
        Column("origin", String(36), nullable=False),
        Column("hlc", String(40), nullable=False),
        Column("deleted", Boolean, nullable=False, server_default=text("0")),
        Column("keep_local", Boolean, nullable=False, server_default=text("0")),
    ]


meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

source = Table(
    "source",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("case.id"), nullable=True),
    Column("file_name", Text, nullable=False),
    Column("file_size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("importer", String(64), nullable=False),
    Column("options", JSON, nullable=False),
    Column("imported_by", String(128), nullable=False),
    Column("imported_at", String(32), nullable=False),
    Column("summary", JSON, nullable=True),
    *_sync_columns(),
)
Index("ix_source_case_sha", source.c.case_id, source.c.sha256)

case = Table(
    "case",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(64), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'open'")),
    Column("agency", String(128), nullable=True),
    Column("lead_officer", String(128), nullable=True),
    Column("opened_at", String(32), nullable=False),
    Column("closed_at", String(32), nullable=True),
    Column("summary", Text, nullable=True),
    Column("sharing", String(16), nullable=False, server_default=text("'local'")),
    Column("shared_with", JSON, nullable=False, server_default=text("'[]'")),
    Column("timezone", String(64), nullable=True),
    Column("category_scheme", String(32), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    *_sync_columns(),
)

entity = Table(
    "entity",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("case.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("label", Text, nullable=False),
    Column("key", Text, nullable=True),
    Column("properties", JSON, nullable=False, server_default=text("'{}'")),
    Column("sensitive", Text, nullable=True),
    Column("merged_into", Integer, ForeignKey("entity.id"), nullable=True),
    Column("source_id", Integer, ForeignKey("source.id"), nullable=True),
    Column("source_ref", Text, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    *_sync_columns(),
)
Index("ix_entity_case_kind", entity.c.case_id, entity.c.kind)
Index("ix_entity_key", entity.c.key)
Index("ix_entity_case_key", entity.c.case_id, entity.c.key)

link = Table(
    "link",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("case.id"), nullable=False),
    Column("src_id", Integer, ForeignKey("entity.id"), nullable=False),
    Column("dst_id", Integer, ForeignKey("entity.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("confidence", Float, nullable=False, server_default=text("1.0")),
    Column("properties", JSON, nullable=False, server_default=text("'{}'")),
    Column("source_id", Integer, ForeignKey("source.id"), nullable=True),
    Column("source_ref", Text, nullable=True),
    Column("created_at", String(32), nullable=False),
    *_sync_columns(),
)
Index("ix_link_src", link.c.src_id)
Index("ix_link_dst", link.c.dst_id)
Index("ix_link_case", link.c.case_id)

event = Table(
    "event",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("case.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ts_utc", Integer, nullable=True),
    Column("utc_offset", Integer, nullable=True),
    Column("title", Text, nullable=False, server_default=text("''")),
    Column("body", Text, nullable=True),
    Column("properties", JSON, nullable=False, server_default=text("'{}'")),
    Column("source_id", Integer, ForeignKey("source.id"), nullable=True),
    Column("source_ref", Text, nullable=True),
    Column("created_at", String(32), nullable=False),
    *_sync_columns(),
)
Index("ix_event_case_ts", event.c.case_id, event.c.ts_utc, event.c.deleted)
# Revision 0005: the events of one entity are filtered and ordered from this index alone.
Index("ix_event_live", event.c.id, event.c.case_id, event.c.deleted, event.c.ts_utc, event.c.kind)
Index("ix_event_case_kind", event.c.case_id, event.c.kind)
Index("ix_event_source", event.c.source_id)

event_party = Table(
    "event_party",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", Integer, ForeignKey("event.id"), nullable=False),
    Column("entity_id", Integer, ForeignKey("entity.id"), nullable=False),
    Column("role", String(32), nullable=False),
)
Index("ix_event_party_event", event_party.c.event_id)
Index("ix_event_party_entity", event_party.c.entity_id, event_party.c.event_id)

hash_set = Table(
    "hash_set",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),  # known_bad | known_good | alert
    Column("format", String(32), nullable=False),
    Column("source_id", Integer, ForeignKey("source.id"), nullable=True),
    Column("entry_count", Integer, nullable=False, server_default=text("0")),
    Column("created_at", String(32), nullable=False),
)

hash_entry = Table(
    "hash_entry",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("set_id", Integer, ForeignKey("hash_set.id"), nullable=False),
    Column("md5", String(32), nullable=True),
    Column("sha1", String(40), nullable=True),
    Column("sha256", String(64), nullable=True),
    Column("pdq", String(64), nullable=True),
    Column("pdq_quality", Integer, nullable=True),
    Column("category", String(16), nullable=True),
    Column("properties", JSON, nullable=False, server_default=text("'{}'")),
)
Index("ix_hash_entry_md5", hash_entry.c.md5)
Index("ix_hash_entry_sha1", hash_entry.c.sha1)
Index("ix_hash_entry_sha256", hash_entry.c.sha256)
Index("ix_hash_entry_set", hash_entry.c.set_id)

media = Table(
    "media",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("case.id"), nullable=False),
    Column("path", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("mime", String(64), nullable=False),
    Column("md5", String(32), nullable=False),
    Column("sha1", String(40), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("pdq", String(64), nullable=True),
    Column("pdq_quality", Integer, nullable=True),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("exif", JSON, nullable=True),
    Column("captured_utc", Integer, nullable=True),
    Column("gps_lat", Float, nullable=True),
    Column("gps_lon", Float, nullable=True),
    Column("thumbnail", LargeBinary, nullable=True),
    Column("category", String(16), nullable=True),
    Column("categorised_by", String(128), nullable=True),
    Column("categorised_at", String(32), nullable=True),
    Column("stack_id", Integer, nullable=True),
    Column("source_id", Integer, ForeignKey("source.id"), nullable=True),
    Column("created_at", String(32), nullable=False),
    *_sync_columns(),
    # Added in revision 0004_media (local bookkeeping, never synced): the file's mtime at
    # ingest (resumable re-runs skip unchanged files unread) and why its image part failed.
    Column("file_mtime_ns", Integer, nullable=True),
    Column("problem", Text, nullable=True),
)
Index("ix_media_case", media.c.case_id)
Index("ix_media_md5", media.c.md5)
Index("ix_media_sha1", media.c.sha1)
Index("ix_media_sha256", media.c.sha256)
Index("ix_media_case_path", media.c.case_id, media.c.path)
Index("ix_media_case_stack", media.c.case_id, media.c.stack_id)
Index("ix_media_case_category", media.c.case_id, media.c.category)

note = Table(
    "note",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("case.id"), nullable=False),
    Column("target_type", String(16), nullable=True),  # entity | event | link | media | None (case)
    Column("target_id", Integer, nullable=True),
    Column("body", Text, nullable=False),
    Column("author", String(128), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    *_sync_columns(),
)
Index("ix_note_case", note.c.case_id)
Index("ix_note_target", note.c.target_type, note.c.target_id)

merge_history = Table(
    "merge_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("survivor_id", Integer, ForeignKey("entity.id"), nullable=False),
    Column("merged_id", Integer, ForeignKey("entity.id"), nullable=False),
    Column("justification", Text, nullable=False),
    Column("moved", JSON, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("merged_at", String(32), nullable=False),
    Column("undone_at", String(32), nullable=True),
    Column("undone_by", String(128), nullable=True),
)

audit = Table(
    "audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=True),
    Column("target_id", Text, nullable=True),
    Column("details", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("mac", String(64), nullable=False),
)

# Added in revision 0002.
mapping_profile = Table(
    "mapping_profile",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("target", String(32), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Added in revision 0003_sync: sync bookkeeping (see that migration for the why). The
# triggers that fill sync_outbox and sync_field are raw DDL in the migration.
sync_outbox = Table(
    "sync_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tbl", String(16), nullable=False),
    Column("row_id", Integer, nullable=False),
    UniqueConstraint("tbl", "row_id", name="uq_sync_outbox_row"),
    sqlite_autoincrement=True,
)

sync_field = Table(
    "sync_field",
    metadata,
    Column("tbl", String(16), primary_key=True),
    Column("row_id", Integer, primary_key=True),
    Column("field", String(32), primary_key=True),
    Column("hlc", String(64), nullable=False),
    Column("base", String(64), nullable=True),
)

sync_held = Table(
    "sync_held",
    metadata,
    Column("tbl", String(16), primary_key=True),
    Column("row_id", Integer, primary_key=True),
    Column("reason", String(64), nullable=False),
)

sync_parked = Table(
    "sync_parked",
    metadata,
    Column("uid", String(36), primary_key=True),
    Column("tbl", String(16), nullable=False),
    Column("record", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("parked_at", String(32), nullable=False),
)

sync_conflict = Table(
    "sync_conflict",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tbl", String(16), nullable=False),
    Column("row_uid", String(36), nullable=False),
    Column("field", String(32), nullable=False),
    Column("mine", Text, nullable=True),
    Column("mine_hlc", String(64), nullable=True),
    Column("theirs", Text, nullable=True),
    Column("theirs_hlc", String(64), nullable=True),
    Column("winner", String(8), nullable=False),
    Column("detected_at", String(32), nullable=False),
    Column("resolved_at", String(32), nullable=True),
    Column("resolution", String(16), nullable=True),
    Column("resolved_by", String(128), nullable=True),
)
Index("ix_sync_conflict_row", sync_conflict.c.tbl, sync_conflict.c.row_uid, sync_conflict.c.field)

sync_apply = Table(
    "sync_apply",
    metadata,
    Column("flag", Integer, nullable=False),
)

# Added in revision 0004_media: hash-set matches of seized media and the case alerts they
# raise (local bookkeeping; see workstation/media/service.py).
hash_match = Table(
    "hash_match",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("media_id", Integer, ForeignKey("media.id"), nullable=False),
    Column("set_id", Integer, ForeignKey("hash_set.id"), nullable=False),
    Column("entry_id", Integer, ForeignKey("hash_entry.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # md5 | sha1 | sha256 | pdq
    Column("distance", Integer, nullable=False, server_default=text("0")),
    Column("created_at", String(32), nullable=False),
    UniqueConstraint("media_id", "entry_id", "kind", name="uq_hash_match"),
)
Index("ix_hash_match_media", hash_match.c.media_id)
Index("ix_hash_match_set", hash_match.c.set_id)

media_alert = Table(
    "media_alert",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("case.id"), nullable=False),
    Column("media_id", Integer, ForeignKey("media.id"), nullable=False),
    Column("set_id", Integer, ForeignKey("hash_set.id"), nullable=False),
    Column("set_kind", String(16), nullable=False),  # known_bad | alert
    Column("match_kind", String(8), nullable=False),  # md5 | sha1 | sha256 | pdq
    Column("distance", Integer, nullable=False, server_default=text("0")),
    Column("category", String(16), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("acknowledged_at", String(32), nullable=True),
    Column("acknowledged_by", String(128), nullable=True),
    UniqueConstraint("media_id", "set_id", name="uq_media_alert"),
)
Index("ix_media_alert_case", media_alert.c.case_id)

# While a bulk writer holds a row here (inside its own transaction, invisible to others),
# the per-row insert triggers skip the full-text index and the writer indexes each batch
# with one INSERT ... SELECT instead: 3-4x faster imports, same transaction.
fts_defer = Table(
    "fts_defer",
    metadata,
    Column("flag", Integer, nullable=False),
)

# Full-text index tables (FTS5, external content) and their triggers are created by the
# migrations with raw DDL; SQLAlchemy does not model virtual tables.
FTS_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "fts_event": ("event", ("title", "body")),
    "fts_entity": ("entity", ("label", "key")),
    "fts_note": ("note", ("body",)),
    "fts_case": ("case", ("number", "title", "summary")),
}
FTS_TABLES = tuple(FTS_SOURCES)

# Added in revision 0006_event_att: the hashed attachments of events (chat photos, mail
# files), one row each, derived from ``event.properties['attachments']`` and kept in step by
# triggers (see that migration). Local derived data: never synced, no tombstones — the
# event's own ``deleted`` says whether a row counts. No foreign key: the triggers own it.
event_attachment = Table(
    "event_attachment",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", Integer, nullable=False),
    Column("case_id", Integer, nullable=False),
    Column("sha256", String(64), nullable=True),
    Column("md5", String(32), nullable=True),
    Column("name", Text, nullable=True),
)
Index("ix_event_attachment_sha256", event_attachment.c.sha256, event_attachment.c.case_id)
Index("ix_event_attachment_md5", event_attachment.c.md5, event_attachment.c.case_id)
Index("ix_event_attachment_event", event_attachment.c.event_id)
Index("ix_event_attachment_case", event_attachment.c.case_id)
