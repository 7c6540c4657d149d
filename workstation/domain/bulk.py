"""Fast writes of many rows in one transaction (imports, demo data, benchmarks).

The service API writes one row per call with its own audit entry; an import of a million
rows instead runs inside ONE write transaction and is audited once. ``BulkWriter`` is that
transaction's helper: it resolves entities by key with a cache, assigns row ids itself
(the write lock is held, so no one else can insert), and flushes events and their parties
with ``executemany`` in batches. On any exception the caller's transaction rolls back and
the database is exactly as before.

With ``background=True`` (the import pipeline) the batches are written by a thread of the
writer's own while the caller parses the next rows. Each batch goes to SQLite as ONE
statement over a JSON array (``INSERT ... SELECT ... FROM jsonb_each(?)``), so SQLite works
on it with the GIL released from the first row to the last; a per-row ``executemany`` in a
second thread would instead wait for the GIL on every row. The writer thread only ever
touches the connection while the caller does not (the caller's next use of the connection
is after :meth:`BulkWriter.finish`), and at most two batches wait for it (bounded memory).
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, func, select

from workstation import clock
from workstation.ids import new_uid
from workstation.store import schema as s

if TYPE_CHECKING:
    from workstation.domain.service import Workstation

BATCH = 5000
#: A batch is also flushed once its texts pass this many characters (memory stays bounded
#: when rows carry long bodies), and a batch this large is not turned into one JSON text —
#: SQLite would hold several copies of it — but bound row by row on the caller's thread.
BATCH_CHARS = 16 << 20
JSON_BATCH_CHARS = 4 << 20
# Datetimes go through ``default=str`` ("2024-01-02 03:04:05+00:00"), as json.dumps wrote them.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME

# An event row holds what differs per event: (id, kind, ts_utc, utc_offset, title, body,
# properties, source_ref, uid); what one writer gives all its events — (case_id, source_id,
# created_at, origin, hlc) — is bound once per batch as parameters ?10-?14 (?2-?6 over JSON).
_EVENT_COLUMNS = ("INSERT INTO event (id, case_id, kind, ts_utc, utc_offset, title, body, properties, "
                  "source_id, source_ref, created_at, uid, origin, hlc, deleted, keep_local)")
_EVENT_SQL = f"{_EVENT_COLUMNS} VALUES (?1,?10,?2,?3,?4,?5,?6,?7,?11,?8,?12,?9,?13,?14,0,0)"
_EVENT_JSON_SQL = (f"{_EVENT_COLUMNS} SELECT value->>0, ?2, value->>1, value->>2, value->>3, value->>4, "
                   "value->>5, value->>6, ?3, value->>7, ?4, value->>8, ?5, ?6, 0, 0 FROM jsonb_each(?1)")
_PARTY_SQL = "INSERT INTO event_party (id, event_id, entity_id, role) VALUES (?,?,?,?)"
_LINK_SQL = ("INSERT INTO link (id, case_id, src_id, dst_id, kind, confidence, properties, source_id, "
             "source_ref, created_at, uid, origin, hlc, deleted, keep_local) "
             "VALUES (?,?,?,?,?,?,'{}',?,?,?,?,?,?,0,0)")
_ENTITY_SQL = ("INSERT INTO entity (id, case_id, kind, label, key, properties, sensitive, source_id, "
               "source_ref, created_at, updated_at, uid, origin, hlc, deleted, keep_local) "
               "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0)")



def _from_json(sql: str) -> str:
    """The ``executemany`` statement above as one statement over a JSON array of rows."""
    head, values = sql.split(" VALUES ")
    columns = values.strip("()").split(",")
    picks = list(columns)
    # Positions count the '?' columns only: literal columns (0, '{}') are not in the rows.
    n = 0
    for i, c in enumerate(columns):
        if c == "?":
            picks[i] = f"value->>{n}"
            n += 1
    # jsonb_each, not json_each: SQLite parses the batch's text once into its binary form
    # and hands each row over as a slice of it; json_each would hand each row over as JSON
    # text, parsed again for the row's columns (a third of the event insert's time).
    return f"{head} SELECT {', '.join(picks)} FROM jsonb_each(?)"


# The keys of ?1 an entity lacks are added to it, its own values untouched; an entity that
# lacks none is left alone (no new clock, nothing to sync).
_NEW_KEYS = ("FROM json_each(?1) AS n WHERE NOT EXISTS (SELECT 1 FROM json_each(coalesce(entity.properties, "
             "'{}')) AS o WHERE o.key = n.key)")
_FILL_SQL = (f"UPDATE entity SET properties = json_patch(coalesce(properties, '{{}}'), "
             f"(SELECT json_group_object(n.key, n.value) {_NEW_KEYS})), updated_at = ?2, hlc = ?3 "
             f"WHERE id = ?4 AND EXISTS (SELECT 1 {_NEW_KEYS})")
_JSON_SQL = {sql: _from_json(sql) for sql in (_PARTY_SQL, _LINK_SQL, _ENTITY_SQL)}
_JSON_SQL[_EVENT_SQL] = _EVENT_JSON_SQL
#: Row uids end in these (see BulkWriter._uid).
_HEX3 = tuple(f"{i:03x}" for i in range(0x1000))


class BulkWriteFailed(Exception):
    """A batch failed in the background writer; ``original`` is the database's error.

    Not a ValueError: a failed batch is never one bad row to skip — the import stops and
    its transaction rolls back."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


#: While a writer thread runs, the interpreter hands the GIL over at least this often. The
#: driver takes the GIL back four times per statement (after the step, for the column
#: count, the last row id and the reset), and each time the writer waits up to this long
#: for the busy parser to let go: at the default 5 ms that was half of its wall time, at
#: 1 ms still ≈ 1.5 µs per imported row. Switches happen only when the writer asks.
_SWITCH_INTERVAL = 0.0001


class _BatchThread:
    """Runs the statements of each flushed batch, in order, on a thread of its own."""

    def __init__(self, cursor: Any, interrupt: Any) -> None:
        self._cursor = cursor
        self._interrupt = interrupt
        self._jobs: queue.Queue[list[tuple[str, Any, bool]] | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._stop = False
        self._saved_interval = sys.getswitchinterval()
        if self._saved_interval > _SWITCH_INTERVAL:
            sys.setswitchinterval(_SWITCH_INTERVAL)
        self._thread = threading.Thread(target=self._run, name="bulk-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._error is None and not self._stop:
                    for sql, params, many in job:
                        if many:
                            self._cursor.executemany(sql, params)
                        else:
                            self._cursor.execute(sql, params)
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc
            finally:
                self._jobs.task_done()

    def check(self) -> None:
        if self._error is not None:
            raise BulkWriteFailed(self._error) from self._error

    def submit(self, job: list[tuple[str, Any, bool]]) -> None:
        self.check()
        self._jobs.put(job)

    def drain(self) -> None:
        """Wait until every batch is written; raise the first failure."""
        self._jobs.join()
        self.check()

    def close(self, *, abandon: bool = False) -> None:
        """Stop the thread. ``abandon``: skip waiting batches and interrupt the running
        statement (the transaction is about to roll back)."""
        if abandon:
            self._stop = True
            if self._thread.is_alive() and self._jobs.unfinished_tasks:
                self._interrupt()
        self._jobs.put(None)
        self._thread.join()
        if sys.getswitchinterval() == _SWITCH_INTERVAL < self._saved_interval:
            sys.setswitchinterval(self._saved_interval)


def _rows_json(rows: list[tuple[Any, ...]]) -> bytes | None:
    try:
        blob = orjson.dumps(rows)
    except (orjson.JSONEncodeError, TypeError):
        return None  # text that is not Unicode: executemany reports it as SQLite sees it
    # SQLite's JSON functions would cut a text at a NUL character; bind such rows as they are.
    return None if b"\\u0000" in blob else blob


def _json(value: Mapping[str, Any] | None) -> str:
    """Compact JSON of a property map; values JSON lacks (Decimal, datetime) as their text."""
    if not value:
        return "{}"
    try:
        return orjson.dumps(value, default=str, option=_ORJSON_OPTIONS).decode()
    except (orjson.JSONEncodeError, TypeError):
        # Text that is not Unicode (a lone surrogate) or a key orjson refuses: the standard
        # encoder writes it as it always did, and the database refuses it with a clear error.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


_NAIVE_EPOCH = datetime(1970, 1, 1)


def _fixed_offset(zone: tzinfo | None) -> timedelta | None:
    """The zone's offset when it never changes (``UTC``, ``timezone(timedelta(...))``);
    None for zones with rules (``ZoneInfo``), which are asked per time."""
    return zone.utcoffset(None) if isinstance(zone, timezone) else None


class BulkWriter:
    """Collects rows for one case inside an open write transaction ``conn``.

    Rows go through prepared ``executemany`` on the transaction's own DB-API cursor (the
    ORM-free fast path); the SQL above must match ``store.schema`` — the import tests
    read every column back through the service API.
    """

    def __init__(self, ws: Workstation, conn: Connection, case_id: int, *,
                 source_id: int | None = None, background: bool = False,
                 local_zone: tzinfo | None = None) -> None:
        self.ws = ws
        # Naive event times are read in ``local_zone`` (the import's zone option); without
        # one they are refused. A fixed zone (UTC) is applied by arithmetic, per row.
        self.local_zone = local_zone
        self._local_offset = _fixed_offset(local_zone)
        self._local_minutes = (int(self._local_offset.total_seconds() // 60)
                               if self._local_offset is not None else 0)
        self.conn = conn
        self.case_id = case_id
        self.source_id = source_id
        self.now = clock.utcnow_iso()
        self.origin = ws.db.device_id
        self._hlc = ws.clock.now()
        self._pending_chars = 0
        self._heavy = False
        self._uid_prefix = ""
        self._uid_left = 0
        self._uid_next = 0
        self._cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        self._cursor.execute("INSERT INTO fts_defer (flag) VALUES (1)")
        # The per-row sync triggers stand aside too (flag 2 in sync_apply): when the case is
        # shared, each flush queues its new rows for sync in one statement per table.
        self._cursor.execute("INSERT INTO sync_apply (flag) VALUES (2)")
        self._shared = bool(self._cursor.execute(
            'SELECT sharing != \'local\' AND keep_local = 0 FROM "case" WHERE id = ?',
            (case_id,)).fetchone()[0])
        self._finished = False
        self._next = {
            t.name: int(conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one()) + 1
            for t in (s.entity, s.event, s.event_party, s.link)
        }
        self._entities: dict[tuple[str, str], int] = {}
        self._new_entities: list[tuple[Any, ...]] = []
        # Properties a later sighting adds to an entity (an address's display name from a
        # later mail, a card's brand from a later row): written after the rows, existing
        # values kept. ``_created_props``: what this import created each entity with.
        self._created_props: dict[int, Mapping[str, Any]] = {}
        self._fills: dict[int, dict[str, Any]] = {}
        self._events: list[tuple[Any, ...]] = []
        self._parties: list[tuple[Any, ...]] = []
        self._links: list[tuple[Any, ...]] = []
        self._link_seen: set[tuple[int, int, str]] = set()
        self.created = {"entities": 0, "events": 0, "links": 0}
        # Existing entities of the case, so a re-import links to them instead of duplicating.
        for eid, kind, key, label in conn.execute(
                select(s.entity.c.id, s.entity.c.kind, s.entity.c.key, s.entity.c.label).where(
                    s.entity.c.case_id == case_id, s.entity.c.deleted.is_(False),
                    s.entity.c.merged_into.is_(None))):
            self._entities[(kind, key or f"label:{label.casefold()}")] = eid
        dbapi = conn.connection.dbapi_connection  # type: ignore[union-attr]
        self._thread = _BatchThread(self._cursor, dbapi.interrupt) if background else None

    def _uid(self) -> str:
        """A row uid: a fresh UUIDv7 every 4,096 rows, its last 12 bits counting in between
        (still unique, still in time order for the unique index; one clock read and one
        random draw per 4,096 rows instead of per row)."""
        if not self._uid_left:
            first = new_uid()
            self._uid_prefix = first[:-3]
            self._uid_next = 0
            self._uid_left = 0x1000
        n = self._uid_next
        self._uid_next = n + 1
        self._uid_left -= 1
        return self._uid_prefix + _HEX3[n]

    def _id(self, table: str) -> int:
        n = self._next[table]
        self._next[table] = n + 1
        return n

    def entity(self, kind: str, label: str, key: str | None = None, *,
               properties: Mapping[str, Any] | None = None, sensitive: str | None = None,
               ref: str | None = None, dedupe: str | None = None) -> int:
        """Id of the case's entity with this key (or kind+label when it has no key, or the
        caller's ``dedupe`` identity such as name+DOB); created on first sight."""
        k = (kind, key or dedupe or f"label:{label.casefold()}")
        found = self._entities.get(k)
        if found is not None:
            if properties:
                self.add_properties(found, properties)
            return found
        eid = self._id("entity")
        props = _json(properties)
        if properties:
            self._created_props[eid] = properties
        self._new_entities.append((
            eid, self.case_id, kind, label, key, props, sensitive, self.source_id, ref,
            self.now, self.now, new_uid(), self.origin, self._hlc))
        self._entities[k] = eid
        self.created["entities"] += 1
        self._pending_chars += len(label) + len(props)
        return eid

    def add_properties(self, eid: int, properties: Mapping[str, Any]) -> None:
        """Give entity ``eid`` (of this case) the ``properties`` it lacks, its own values
        kept; written when the import finishes."""
        base = self._created_props.get(eid)
        if base is not None and all(k in base for k in properties):
            return
        have = self._fills.setdefault(eid, {})
        for k, v in properties.items():
            if (base is None or k not in base) and v is not None:
                have.setdefault(k, v)

    def _write_fills(self) -> None:
        """Add the properties later sightings gave (see ``add_properties``) to entities that lack
        them, through the ordinary update triggers (field clocks, sync outbox): run after
        the import's own rows, with the triggers back."""
        fills = [(eid, _json(props)) for eid, props in self._fills.items() if props]
        self._fills = {}
        if not fills:
            return
        hlc = self.ws.clock.now()
        self._cursor.executemany(_FILL_SQL, [(props, self.now, hlc, eid) for eid, props in fills])

    def event(self, kind: str, when: datetime | None, *, title: str = "", body: str | None = None,
              properties: Mapping[str, Any] | None = None, parties: Sequence[tuple[int, str]] = (),
              ref: str | None = None) -> int:
        ts = off = None
        if when is not None:
            if when.tzinfo is None and self._local_offset is not None:
                delta = when - _NAIVE_EPOCH - self._local_offset
                ts = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
                off = self._local_minutes
            else:
                if when.tzinfo is None and self.local_zone is not None:
                    when = when.replace(tzinfo=self.local_zone)
                offset = when.utcoffset()
                if offset is None:
                    raise ValueError("event times must be timezone-aware")
                ts, off = clock.to_micros(when), int(offset.total_seconds() // 60)
        nxt = self._next
        eid = nxt["event"]
        nxt["event"] = eid + 1
        props = _json(properties)
        self._events.append((eid, kind, ts, off, title, body, props, ref, self._uid()))
        self._pending_chars += len(title) + len(props) + (len(body) if body else 0)
        if parties:
            pid = nxt["event_party"]
            append = self._parties.append
            # Each (entity, role) once; dict.fromkeys keeps the order.
            for entity_id, role in (dict.fromkeys(parties) if len(parties) > 1 else parties):
                append((pid, eid, entity_id, role))
                pid += 1
            nxt["event_party"] = pid
        self.created["events"] += 1
        if len(self._events) >= BATCH or self._pending_chars >= BATCH_CHARS:
            self.flush()
        return eid

    def link(self, src: int, dst: int, kind: str, *, confidence: float = 1.0,
             ref: str | None = None) -> None:
        """A link, once per (src, dst, kind) within this writer."""
        if src == dst or (src, dst, kind) in self._link_seen:
            return
        self._link_seen.add((src, dst, kind))
        self._links.append((
            self._id("link"), self.case_id, src, dst, kind, confidence, self.source_id, ref,
            self.now, new_uid(), self.origin, self._hlc))
        self.created["links"] += 1

    def flush(self) -> None:
        """Write what is pending (entities first: events and links refer to them) and
        index the new rows for full-text search in one statement per table."""
        job: list[tuple[str, Any, bool]] = []
        self._heavy = self._pending_chars >= JSON_BATCH_CHARS
        self._pending_chars = 0
        if self._new_entities:
            lo, hi = self._new_entities[0][0], self._new_entities[-1][0]
            self._rows(job, _ENTITY_SQL, self._new_entities)
            job.append(("INSERT INTO fts_entity (rowid, label, key) SELECT id, label, key FROM entity "
                        "WHERE id BETWEEN ? AND ? AND deleted = 0", (lo, hi), False))
            self._queue_for_sync(job, "entity", lo, hi)
            self._new_entities = []
        if self._events:
            lo, hi = self._events[0][0], self._events[-1][0]
            self._rows(job, _EVENT_SQL, self._events,
                       (self.case_id, self.source_id, self.now, self.origin, self._hlc))
            job.append(("INSERT INTO fts_event (rowid, title, body) SELECT id, title, body FROM event "
                        "WHERE id BETWEEN ? AND ? AND deleted = 0", (lo, hi), False))
            self._queue_for_sync(job, "event", lo, hi)  # with its parties: they travel inside it
            self._events = []
        if self._parties:
            self._rows(job, _PARTY_SQL, self._parties)
            self._parties = []
        if self._links:
            lo, hi = self._links[0][0], self._links[-1][0]
            self._rows(job, _LINK_SQL, self._links)
            self._queue_for_sync(job, "link", lo, hi)
            self._links = []
        if not job:
            return
        if self._thread is not None and not self._heavy:
            self._thread.submit(job)
        else:
            if self._thread is not None:
                self._thread.drain()  # the connection is ours again until the next submit
            try:
                for sql, params, many in job:
                    if many:
                        self._cursor.executemany(sql, params)
                    else:
                        self._cursor.execute(sql, params)
            except Exception as exc:
                # Part of a batch may be in: the whole transaction must go, never one row.
                raise BulkWriteFailed(exc) from exc

    def _rows(self, job: list[tuple[str, Any, bool]], sql: str, rows: list[tuple[Any, ...]],
              shared: tuple[Any, ...] = ()) -> None:
        """Queue ``rows`` for ``sql``; ``shared``: the values every row has (bound once)."""
        blob = _rows_json(rows) if self._thread is not None and not self._heavy else None
        if blob is not None:
            job.append((_JSON_SQL[sql], (blob, *shared), False))
        else:
            # Bound row by row: on the caller's thread (a second thread would wait for the
            # GIL at every row), so the whole batch goes there.
            self._heavy = True
            job.append((sql, [row + shared for row in rows] if shared else rows, True))

    def _queue_for_sync(self, job: list[tuple[str, Any, bool]], table: str, lo: int, hi: int) -> None:
        """What the insert triggers would have queued, for a whole batch of new rows."""
        if self._shared:
            job.append((f"INSERT OR REPLACE INTO sync_outbox (tbl, row_id) SELECT '{table}', id FROM {table} "
                        "WHERE id BETWEEN ? AND ? AND keep_local = 0", (lo, hi), False))

    def finish(self) -> dict[str, int]:
        """Flush and give the full-text triggers back to everyone. Must run before commit."""
        if not self._finished:
            try:
                self.flush()
                if self._thread is not None:
                    self._thread.drain()
            except BulkWriteFailed as failed:
                raise failed.original from None
            finally:
                if self._thread is not None:
                    self._thread.close(abandon=True)
                    self._thread = None
            self._cursor.execute("DELETE FROM fts_defer")
            self._cursor.execute("DELETE FROM sync_apply WHERE flag = 2")
            self._write_fills()
            self._finished = True
        return dict(self.created)

    def abandon(self) -> None:
        """Stop the background writer without writing what waits (the caller rolls back)."""
        if self._thread is not None:
            self._thread.close(abandon=True)
            self._thread = None

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        # A batch that failed in the background leaves as the database's own error (typed
        # by the store like any other), not as the wrapper that kept it from reading as one
        # bad row inside the caller's loop.
        if exc_type is None:
            self.finish()
        else:
            self.abandon()
            if isinstance(exc, BulkWriteFailed):
                raise exc.original from None
