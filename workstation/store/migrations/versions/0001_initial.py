"""Initial schema: cases, entities, links, events, parties, media, hash sets, sources,
notes, merge history, audit, and the full-text index with the triggers that keep it in
step with every insert, update and delete.

Frozen DDL: this file never changes once released; later revisions alter the schema.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = r"""
CREATE TABLE audit (
	seq INTEGER NOT NULL, 
	at VARCHAR(32) NOT NULL, 
	actor VARCHAR(128) NOT NULL, 
	action VARCHAR(64) NOT NULL, 
	target_type VARCHAR(32), 
	target_id TEXT, 
	details TEXT NOT NULL, 
	outcome VARCHAR(16) NOT NULL, 
	mac VARCHAR(64) NOT NULL, 
	PRIMARY KEY (seq)
);
CREATE TABLE "case" (
	id INTEGER NOT NULL, 
	number VARCHAR(64) NOT NULL, 
	title TEXT NOT NULL, 
	status VARCHAR(16) DEFAULT 'open' NOT NULL, 
	agency VARCHAR(128), 
	lead_officer VARCHAR(128), 
	opened_at VARCHAR(32) NOT NULL, 
	closed_at VARCHAR(32), 
	summary TEXT, 
	sharing VARCHAR(16) DEFAULT 'local' NOT NULL, 
	shared_with JSON DEFAULT '[]' NOT NULL, 
	timezone VARCHAR(64), 
	category_scheme VARCHAR(32), 
	created_at VARCHAR(32) NOT NULL, 
	updated_at VARCHAR(32) NOT NULL, 
	uid VARCHAR(36) NOT NULL, 
	origin VARCHAR(36) NOT NULL, 
	hlc VARCHAR(40) NOT NULL, 
	deleted BOOLEAN DEFAULT 0 NOT NULL, 
	keep_local BOOLEAN DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (number), 
	UNIQUE (uid)
);
CREATE TABLE meta (
	"key" VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);
CREATE TABLE note (
	id INTEGER NOT NULL, 
	case_id INTEGER NOT NULL, 
	target_type VARCHAR(16), 
	target_id INTEGER, 
	body TEXT NOT NULL, 
	author VARCHAR(128) NOT NULL, 
	created_at VARCHAR(32) NOT NULL, 
	updated_at VARCHAR(32) NOT NULL, 
	uid VARCHAR(36) NOT NULL, 
	origin VARCHAR(36) NOT NULL, 
	hlc VARCHAR(40) NOT NULL, 
	deleted BOOLEAN DEFAULT 0 NOT NULL, 
	keep_local BOOLEAN DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(case_id) REFERENCES "case" (id), 
	UNIQUE (uid)
);
CREATE INDEX ix_note_case ON note (case_id);
CREATE INDEX ix_note_target ON note (target_type, target_id);
CREATE TABLE source (
	id INTEGER NOT NULL, 
	case_id INTEGER, 
	file_name TEXT NOT NULL, 
	file_size INTEGER NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	importer VARCHAR(64) NOT NULL, 
	options JSON NOT NULL, 
	imported_by VARCHAR(128) NOT NULL, 
	imported_at VARCHAR(32) NOT NULL, 
	summary JSON, 
	uid VARCHAR(36) NOT NULL, 
	origin VARCHAR(36) NOT NULL, 
	hlc VARCHAR(40) NOT NULL, 
	deleted BOOLEAN DEFAULT 0 NOT NULL, 
	keep_local BOOLEAN DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(case_id) REFERENCES "case" (id), 
	UNIQUE (uid)
);
CREATE INDEX ix_source_case_sha ON source (case_id, sha256);
CREATE TABLE entity (
	id INTEGER NOT NULL, 
	case_id INTEGER NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	label TEXT NOT NULL, 
	"key" TEXT, 
	properties JSON DEFAULT '{}' NOT NULL, 
	sensitive TEXT, 
	merged_into INTEGER, 
	source_id INTEGER, 
	source_ref TEXT, 
	created_at VARCHAR(32) NOT NULL, 
	updated_at VARCHAR(32) NOT NULL, 
	uid VARCHAR(36) NOT NULL, 
	origin VARCHAR(36) NOT NULL, 
	hlc VARCHAR(40) NOT NULL, 
	deleted BOOLEAN DEFAULT 0 NOT NULL, 
	keep_local BOOLEAN DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(case_id) REFERENCES "case" (id), 
	FOREIGN KEY(merged_into) REFERENCES entity (id), 
	FOREIGN KEY(source_id) REFERENCES source (id), 
	UNIQUE (uid)
);
CREATE INDEX ix_entity_case_key ON entity (case_id, "key");
CREATE INDEX ix_entity_case_kind ON entity (case_id, kind);
CREATE INDEX ix_entity_key ON entity ("key");
CREATE TABLE event (
	id INTEGER NOT NULL, 
	case_id INTEGER NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	ts_utc INTEGER, 
	utc_offset INTEGER, 
	title TEXT DEFAULT '' NOT NULL, 
	body TEXT, 
	properties JSON DEFAULT '{}' NOT NULL, 
	source_id INTEGER, 
	source_ref TEXT, 
	created_at VARCHAR(32) NOT NULL, 
	uid VARCHAR(36) NOT NULL, 
	origin VARCHAR(36) NOT NULL, 
	hlc VARCHAR(40) NOT NULL, 
	deleted BOOLEAN DEFAULT 0 NOT NULL, 
	keep_local BOOLEAN DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(case_id) REFERENCES "case" (id), 
	FOREIGN KEY(source_id) REFERENCES source (id), 
	UNIQUE (uid)
);
CREATE INDEX ix_event_case_kind ON event (case_id, kind);
CREATE INDEX ix_event_case_ts ON event (case_id, ts_utc);
CREATE INDEX ix_event_source ON event (source_id);
CREATE TABLE hash_set (
	id INTEGER NOT NULL, 
	name TEXT NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	format VARCHAR(32) NOT NULL, 
	source_id INTEGER, 
	entry_count INTEGER DEFAULT 0 NOT NULL, 
	created_at VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(source_id) REFERENCES source (id)
);
CREATE TABLE media (
	id INTEGER NOT NULL, 
	case_id INTEGER NOT NULL, 
	path TEXT NOT NULL, 
	size INTEGER NOT NULL, 
	mime VARCHAR(64) NOT NULL, 
	md5 VARCHAR(32) NOT NULL, 
	sha1 VARCHAR(40) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	pdq VARCHAR(64), 
	pdq_quality INTEGER, 
	width INTEGER, 
	height INTEGER, 
	exif JSON, 
	captured_utc INTEGER, 
	gps_lat FLOAT, 
	gps_lon FLOAT, 
	thumbnail BLOB, 
	category VARCHAR(16), 
	categorised_by VARCHAR(128), 
	categorised_at VARCHAR(32), 
	stack_id INTEGER, 
	source_id INTEGER, 
	created_at VARCHAR(32) NOT NULL, 
	uid VARCHAR(36) NOT NULL, 
	origin VARCHAR(36) NOT NULL, 
	hlc VARCHAR(40) NOT NULL, 
	deleted BOOLEAN DEFAULT 0 NOT NULL, 
	keep_local BOOLEAN DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(case_id) REFERENCES "case" (id), 
	FOREIGN KEY(source_id) REFERENCES source (id), 
	UNIQUE (uid)
);
CREATE INDEX ix_media_case ON media (case_id);
CREATE INDEX ix_media_md5 ON media (md5);
CREATE INDEX ix_media_sha1 ON media (sha1);
CREATE INDEX ix_media_sha256 ON media (sha256);
CREATE TABLE event_party (
	id INTEGER NOT NULL, 
	event_id INTEGER NOT NULL, 
	entity_id INTEGER NOT NULL, 
	role VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(event_id) REFERENCES event (id), 
	FOREIGN KEY(entity_id) REFERENCES entity (id)
);
CREATE INDEX ix_event_party_entity ON event_party (entity_id, event_id);
CREATE INDEX ix_event_party_event ON event_party (event_id);
CREATE TABLE hash_entry (
	id INTEGER NOT NULL, 
	set_id INTEGER NOT NULL, 
	md5 VARCHAR(32), 
	sha1 VARCHAR(40), 
	sha256 VARCHAR(64), 
	pdq VARCHAR(64), 
	pdq_quality INTEGER, 
	category VARCHAR(16), 
	properties JSON DEFAULT '{}' NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(set_id) REFERENCES hash_set (id)
);
CREATE INDEX ix_hash_entry_md5 ON hash_entry (md5);
CREATE INDEX ix_hash_entry_sha1 ON hash_entry (sha1);
CREATE INDEX ix_hash_entry_sha256 ON hash_entry (sha256);
CREATE TABLE link (
	id INTEGER NOT NULL, 
	case_id INTEGER NOT NULL, 
	src_id INTEGER NOT NULL, 
	dst_id INTEGER NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	confidence FLOAT DEFAULT (1.0) NOT NULL, 
	properties JSON DEFAULT '{}' NOT NULL, 
	source_id INTEGER, 
	source_ref TEXT, 
	created_at VARCHAR(32) NOT NULL, 
	uid VARCHAR(36) NOT NULL, 
	origin VARCHAR(36) NOT NULL, 
	hlc VARCHAR(40) NOT NULL, 
	deleted BOOLEAN DEFAULT 0 NOT NULL, 
	keep_local BOOLEAN DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(case_id) REFERENCES "case" (id), 
	FOREIGN KEY(src_id) REFERENCES entity (id), 
	FOREIGN KEY(dst_id) REFERENCES entity (id), 
	FOREIGN KEY(source_id) REFERENCES source (id), 
	UNIQUE (uid)
);
CREATE INDEX ix_link_case ON link (case_id);
CREATE INDEX ix_link_dst ON link (dst_id);
CREATE INDEX ix_link_src ON link (src_id);
CREATE TABLE merge_history (
	id INTEGER NOT NULL, 
	survivor_id INTEGER NOT NULL, 
	merged_id INTEGER NOT NULL, 
	justification TEXT NOT NULL, 
	moved JSON NOT NULL, 
	actor VARCHAR(128) NOT NULL, 
	merged_at VARCHAR(32) NOT NULL, 
	undone_at VARCHAR(32), 
	undone_by VARCHAR(128), 
	PRIMARY KEY (id), 
	FOREIGN KEY(survivor_id) REFERENCES entity (id), 
	FOREIGN KEY(merged_id) REFERENCES entity (id)
);
"""

FTS = r"""
CREATE TABLE fts_defer (flag INTEGER NOT NULL);

CREATE VIRTUAL TABLE fts_event USING fts5(title, body, content='event', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE fts_entity USING fts5(label, key, content='entity', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE fts_note USING fts5(body, content='note', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE fts_case USING fts5(number, title, summary, content='case', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
"""

TRIGGERS = r"""

CREATE TRIGGER fts_event_ai AFTER INSERT ON event WHEN new.deleted = 0 AND NOT EXISTS (SELECT 1 FROM fts_defer) BEGIN
  INSERT INTO fts_event(rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER fts_event_ad AFTER DELETE ON event WHEN old.deleted = 0 BEGIN
  INSERT INTO fts_event(fts_event, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER fts_event_au AFTER UPDATE OF title, body, deleted ON event BEGIN
  INSERT INTO fts_event(fts_event, rowid, title, body) SELECT 'delete', old.id, old.title, old.body WHERE old.deleted = 0;
  INSERT INTO fts_event(rowid, title, body) SELECT new.id, new.title, new.body WHERE new.deleted = 0;
END;
CREATE TRIGGER fts_entity_ai AFTER INSERT ON entity WHEN new.deleted = 0 AND NOT EXISTS (SELECT 1 FROM fts_defer) BEGIN
  INSERT INTO fts_entity(rowid, label, key) VALUES (new.id, new.label, new.key);
END;
CREATE TRIGGER fts_entity_ad AFTER DELETE ON entity WHEN old.deleted = 0 BEGIN
  INSERT INTO fts_entity(fts_entity, rowid, label, key) VALUES ('delete', old.id, old.label, old.key);
END;
CREATE TRIGGER fts_entity_au AFTER UPDATE OF label, key, deleted ON entity BEGIN
  INSERT INTO fts_entity(fts_entity, rowid, label, key) SELECT 'delete', old.id, old.label, old.key WHERE old.deleted = 0;
  INSERT INTO fts_entity(rowid, label, key) SELECT new.id, new.label, new.key WHERE new.deleted = 0;
END;
CREATE TRIGGER fts_note_ai AFTER INSERT ON note WHEN new.deleted = 0 AND NOT EXISTS (SELECT 1 FROM fts_defer) BEGIN
  INSERT INTO fts_note(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER fts_note_ad AFTER DELETE ON note WHEN old.deleted = 0 BEGIN
  INSERT INTO fts_note(fts_note, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER fts_note_au AFTER UPDATE OF body, deleted ON note BEGIN
  INSERT INTO fts_note(fts_note, rowid, body) SELECT 'delete', old.id, old.body WHERE old.deleted = 0;
  INSERT INTO fts_note(rowid, body) SELECT new.id, new.body WHERE new.deleted = 0;
END;
CREATE TRIGGER fts_case_ai AFTER INSERT ON "case" WHEN new.deleted = 0 AND NOT EXISTS (SELECT 1 FROM fts_defer) BEGIN
  INSERT INTO fts_case(rowid, number, title, summary) VALUES (new.id, new.number, new.title, new.summary);
END;
CREATE TRIGGER fts_case_ad AFTER DELETE ON "case" WHEN old.deleted = 0 BEGIN
  INSERT INTO fts_case(fts_case, rowid, number, title, summary) VALUES ('delete', old.id, old.number, old.title, old.summary);
END;
CREATE TRIGGER fts_case_au AFTER UPDATE OF number, title, summary, deleted ON "case" BEGIN
  INSERT INTO fts_case(fts_case, rowid, number, title, summary) SELECT 'delete', old.id, old.number, old.title, old.summary WHERE old.deleted = 0;
  INSERT INTO fts_case(rowid, number, title, summary) SELECT new.id, new.number, new.title, new.summary WHERE new.deleted = 0;
END;
"""


def _statements(script: str) -> list[str]:
    out: list[str] = []
    buf: list[str] = []
    for line in script.strip().splitlines():
        buf.append(line)
        stmt = "\n".join(buf).strip()
        # Trigger bodies hold inner semicolons; a statement ends at "END;" for those.
        if stmt.upper().startswith("CREATE TRIGGER"):
            if stmt.upper().endswith("END;"):
                out.append(stmt)
                buf = []
        elif stmt.endswith(";"):
            out.append(stmt)
            buf = []
    return out


def upgrade() -> None:
    for script in (TABLES, FTS, TRIGGERS):
        for stmt in _statements(script):
            op.execute(stmt)


def downgrade() -> None:  # pragma: no cover - evidence databases are never downgraded
    raise NotImplementedError("downgrading a case database is not supported")
