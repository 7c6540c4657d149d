"""Local rows ↔ wire records, on the laptop.

Outgoing (:func:`collect_batch`): the next rows of the outbox become wire records, with
their references turned into uids, their per-field stamps and bases, and deconfliction
fingerprints. Rows that may not travel are sorted out here, in the same write transaction
that takes them off the outbox:

* rows of a case that is not shared (or is kept local) are dropped: the case becoming
  shared re-enqueues all of its rows (a trigger does it);
* rows marked keep-local, or pointing at a keep-local row (a link to a keep-local person, a
  note on a keep-local event, an entity merged into a keep-local one), are *held*: they
  are re-examined at every push and travel once nothing keeps them back;
* parties of an event that are keep-local entities are left out of the event's party list.

Incoming (:class:`Applier`): wire records are applied field by field (newest stamp wins;
a true conflict is kept), references are mapped uid → local id, and a record whose
references are not here yet is parked and retried after every batch. Applying happens
with ``sync_apply`` held, so the change triggers do not mistake it for a local edit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from workstation import clock
from workstation.store import schema as s
from workstation.sync.protocol import (
    DELETED,
    FIELD_TYPES,
    TABLES,
    Conflict,
    ProtocolError,
    WireRecord,
    check_names,
    stamp_node,
)

SA_TABLES = {"case": s.case, "source": s.source, "entity": s.entity, "link": s.link,
             "event": s.event, "media": s.media, "note": s.note}
# Wire field name → local column, where they differ (references travel as uids).
COLUMN_OF = {"source": "source_id", "src": "src_id", "dst": "dst_id", "target": "target_id"}
WIRE_OF = {v: k for k, v in COLUMN_OF.items()}
REF_TABLE = {"source": "source", "src": "entity", "dst": "entity", "merged_into": "entity"}
IDENTIFIER_KINDS = ("phone", "email", "card", "account", "ip", "url", "domain")
LOCAL_NOW_COLUMNS = {"case": ("updated_at",), "entity": ("updated_at",), "note": ("updated_at",)}
# Per table, in column order: each wire field and how it becomes a column value on insert.
_INSERT_PLAN: dict[str, list[tuple[str, str]]] = {
    t: [(n, "parties" if c == "parties" else "ref" if c.startswith("ref:")
         else "json" if c.rstrip("?") in ("json", "list") else "plain") for n, c in fields.items()]
    for t, fields in FIELD_TYPES.items()}
_encode = json.JSONEncoder(ensure_ascii=False).encode
# Per table: the wire fields that point at other rows, and which table ("*": target_type).
_REFS: dict[str, list[tuple[str, str]]] = {
    t: [(n, "parties" if c == "parties" else c.rstrip("?")[4:]) for n, c in fields.items()
        if c == "parties" or c.startswith("ref:")] for t, fields in FIELD_TYPES.items()}


def column_of(wire_field: str) -> str:
    return COLUMN_OF.get(wire_field, wire_field)


def wire_of(column: str) -> str:
    return WIRE_OF.get(column, column)


def _chunks(items: Sequence[Any], n: int = 900) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _json_value(value: Any) -> Any:
    """A JSON column value as a plain object (some rows hold it as text)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def fingerprint(fp_key: bytes, kind: str, match_key: str) -> str:
    """The keyed deconfliction fingerprint ``<kind>:<HMAC-SHA256 hex>`` of a match key."""
    return f"{kind}:" + hmac.new(fp_key, match_key.encode("utf-8"), hashlib.sha256).hexdigest()


def entity_fingerprint(fp_key: bytes, kind: str, key: str | None, sensitive: str | None) -> str | None:
    """Fingerprint of an identifier entity, comparable across laptops.

    Non-card keys are already normalised plain values; a card key is an HMAC under a key
    that may be this laptop's own, so when the full number is kept it is re-keyed with the
    HQ-wide fingerprint key first.
    """
    if not fp_key or kind not in IDENTIFIER_KINDS or not key:
        return None
    if kind == "card" and sensitive and sensitive.isdigit():
        from workstation.analysis.identifiers import card_fingerprint

        key = "card:" + card_fingerprint(sensitive, fp_key)
    return fingerprint(fp_key, kind, key)


def media_fingerprints(fp_key: bytes, md5: str | None, sha256: str | None) -> list[str]:
    out = []
    if fp_key and sha256:
        out.append(fingerprint(fp_key, "sha256", "sha256:" + sha256.lower()))
    if fp_key and md5:
        out.append(fingerprint(fp_key, "md5", "md5:" + md5.lower()))
    return out


# ====================================================================== outgoing
@dataclass
class OutRow:
    """One row taken off the outbox for a push: where it came from and what travels
    (``record``: the wire record as plain JSON values)."""

    tbl: str
    row_id: int
    outbox_id: int
    record: dict[str, Any]


@dataclass
class Batch:
    rows: list[OutRow] = field(default_factory=list)
    dropped: int = 0
    held: int = 0


@dataclass(frozen=True)
class _Spec:
    name: str  # wire name
    index: int  # column position in the row tuple
    kind: str  # str, text, int, float, json, list, ref, parties
    ref: str | None  # referenced table ("*" = by target_type)


_SPECS: dict[str, tuple[list[str], list[_Spec]]] = {}


def _specs(t: str) -> tuple[list[str], list[_Spec]]:
    """Columns to read for table ``t`` and how each wire field is built from them."""
    if t not in _SPECS:
        cols = ["id", "uid", "hlc", "origin", "deleted", "keep_local", "case_id" if t != "case" else "id"]
        specs = []
        for name, code in FIELD_TYPES[t].items():
            base = code.rstrip("?")
            if base == "parties":
                specs.append(_Spec(name, -1, "parties", None))
                continue
            col = column_of(name)
            if col not in cols:
                cols.append(col)
            kind, ref = (("ref", base[4:]) if base.startswith("ref:") else (base, None))
            specs.append(_Spec(name, cols.index(col), kind, ref))
        for extra in ("kind", "key", "sensitive", "md5", "sha256", "target_type"):
            if extra in SA_TABLES[t].c and extra not in cols:
                cols.append(extra)
        _SPECS[t] = (cols, specs)
    return _SPECS[t]


def release_held(conn: Connection) -> int:
    """Put every held row back on the outbox to be examined again. Returns how many."""
    n = conn.exec_driver_sql("SELECT count(*) FROM sync_held").scalar_one()
    if n:
        conn.exec_driver_sql("INSERT OR REPLACE INTO sync_outbox (tbl, row_id) SELECT tbl, row_id FROM sync_held")
        conn.exec_driver_sql("DELETE FROM sync_held")
    return int(n)


def outbox_upto(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM sync_outbox").scalar_one())


def pending_count(conn: Connection, upto: int | None = None) -> int:
    if upto is None:
        return int(conn.exec_driver_sql("SELECT count(*) FROM sync_outbox").scalar_one())
    return int(conn.exec_driver_sql("SELECT count(*) FROM sync_outbox WHERE id <= ?", (upto,)).scalar_one())


def known_cases(conn: Connection) -> set[str]:
    """Uids of cases HQ has acknowledged or sent us."""
    return {r[0][len("hq_case:"):] for r in conn.exec_driver_sql(
        "SELECT key FROM sync_state WHERE key LIKE 'hq_case:%'")}


def collect_batch(conn: Connection, *, limit: int, upto: int, fp_key: bytes,
                  after: tuple[int, int] = (0, 0)) -> tuple[Batch, tuple[int, int]]:
    """Take up to ``limit`` outbox entries (id ≤ ``upto``, tables in dependency order,
    after position ``after`` = (table rank, row id)) and turn the ones that may travel
    into wire records. Returns the batch and the position to continue after. Must run in
    a write transaction: dropped entries leave the outbox and held ones move to
    ``sync_held`` right here."""
    batch = Batch()
    entries: list[tuple[str, int, int]] = []
    pos = after
    for rank, t in enumerate(TABLES):
        if len(entries) >= limit or rank < after[0]:
            continue
        start = after[1] if rank == after[0] else 0
        rows = conn.exec_driver_sql(
            "SELECT id, row_id FROM sync_outbox WHERE tbl = ? AND row_id > ? AND id <= ? ORDER BY row_id LIMIT ?",
            (t, start, upto, limit - len(entries))).fetchall()
        entries.extend((t, r[1], r[0]) for r in rows)
        if rows:
            pos = (rank, rows[-1][1])
    if not entries:
        return batch, pos
    by_table: dict[str, list[tuple[int, int]]] = {}
    for t, row_id, oid in entries:
        by_table.setdefault(t, []).append((row_id, oid))
    known = known_cases(conn)
    cases: dict[int, tuple[str, str, bool]] = {}  # id -> (uid, sharing, keep_local)
    drop: list[tuple[str, int]] = []
    hold: list[tuple[str, int, str]] = []

    def load_cases(ids: Iterable[int]) -> None:
        missing = [i for i in set(ids) if i is not None and i not in cases]
        for chunk in _chunks(missing):
            marks = ",".join("?" * len(chunk))
            for cid, uid, sharing, kl in conn.exec_driver_sql(
                    f'SELECT id, uid, sharing, keep_local FROM "case" WHERE id IN ({marks})', tuple(chunk)):
                cases[cid] = (uid, sharing, bool(kl))

    for t in TABLES:
        items = by_table.get(t)
        if not items:
            continue
        cols, specs = _specs(t)
        ids = [i for i, _ in items]
        oid_of = dict(items)
        found: dict[int, tuple[Any, ...]] = {}
        collist = ", ".join(f'"{c}"' for c in cols)
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for got in conn.exec_driver_sql(f'SELECT {collist} FROM "{t}" WHERE id IN ({marks})', tuple(chunk)):
                found[got[0]] = tuple(got)
        load_cases([r[6] for r in found.values()])
        stamps = _field_rows(conn, t, ids)
        refs = _ref_maps(conn, t, cols, specs, found.values())
        parties = _parties(conn, ids) if t == "event" else {}
        for row_id in ids:
            r = found.get(row_id)
            if r is None:
                drop.append((t, row_id))
                continue
            c = cases.get(r[6])
            if c is None or c[2] or (c[1] == "local" and (t != "case" or c[0] not in known)):
                drop.append((t, row_id))
                continue
            if t != "case" and r[5]:
                hold.append((t, row_id, "keep local"))
                continue
            rec, why = _to_wire(t, cols, specs, r, c[0], stamps.get(row_id, {}), refs, parties.get(row_id, []),
                                fp_key)
            if rec is None:
                hold.append((t, row_id, why))
                continue
            batch.rows.append(OutRow(t, row_id, oid_of[row_id], rec))
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    if drop or hold:
        cur.executemany("DELETE FROM sync_outbox WHERE tbl = ? AND row_id = ?",
                        [(t, i) for t, i in drop] + [(t, i) for t, i, _ in hold])
    if hold:
        cur.executemany("INSERT OR REPLACE INTO sync_held (tbl, row_id, reason) VALUES (?, ?, ?)", hold)
    batch.dropped, batch.held = len(drop), len(hold)
    return batch, pos


def _field_rows(conn: Connection, t: str, ids: Sequence[int]) -> dict[int, dict[str, tuple[str, str | None]]]:
    out: dict[int, dict[str, tuple[str, str | None]]] = {}
    for chunk in _chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        for row_id, fld, hlc, base in conn.exec_driver_sql(
                f"SELECT row_id, field, hlc, base FROM sync_field WHERE tbl = ? AND row_id IN ({marks})",
                (t, *chunk)):
            out.setdefault(row_id, {})[fld] = (hlc, base)
    return out


def _ref_maps(conn: Connection, t: str, cols: list[str], specs: list[_Spec],
              rows: Iterable[tuple[Any, ...]]) -> dict[str, dict[int, tuple[str, bool]]]:
    """(uid, keep-local flag) of every row the given rows point at, per table."""
    want: dict[str, set[int]] = {}
    tt_index = cols.index("target_type") if "target_type" in cols else -1
    ref_specs = [sp for sp in specs if sp.kind == "ref"]
    if not ref_specs:
        return {}
    for r in rows:
        for sp in ref_specs:
            v = r[sp.index]
            if v is None:
                continue
            target = r[tt_index] if sp.ref == "*" else sp.ref
            if target in SA_TABLES:
                want.setdefault(target, set()).add(v)
    out: dict[str, dict[int, tuple[str, bool]]] = {}
    for table_name, ids in want.items():
        m: dict[int, tuple[str, bool]] = {}
        for chunk in _chunks(sorted(ids)):
            marks = ",".join("?" * len(chunk))
            for i, uid, kl in conn.exec_driver_sql(
                    f'SELECT id, uid, keep_local FROM "{table_name}" WHERE id IN ({marks})', tuple(chunk)):
                m[i] = (uid, bool(kl))
        out[table_name] = m
    return out


def _parties(conn: Connection, event_ids: Sequence[int]) -> dict[int, list[tuple[str, bool, str]]]:
    out: dict[int, list[tuple[str, bool, str]]] = {}
    for chunk in _chunks(list(event_ids)):
        marks = ",".join("?" * len(chunk))
        for ev, uid, kl, role in conn.exec_driver_sql(
                "SELECT p.event_id, e.uid, e.keep_local, p.role FROM event_party p JOIN entity e "
                f"ON e.id = p.entity_id WHERE p.event_id IN ({marks}) ORDER BY p.id", tuple(chunk)):
            out.setdefault(ev, []).append((uid, bool(kl), role))
    return out


def _to_wire(t: str, cols: list[str], specs: list[_Spec], r: tuple[Any, ...], case_uid: str,
             stamps: dict[str, tuple[str, str | None]], refs: dict[str, dict[int, tuple[str, bool]]],
             parties: list[tuple[str, bool, str]], fp_key: bytes) -> tuple[dict[str, Any] | None, str]:
    f: dict[str, Any] = {}
    for sp in specs:
        if sp.kind == "parties":
            f[sp.name] = [[uid, role] for uid, kl, role in parties if not kl]
            continue
        value = r[sp.index]
        if value is None:
            f[sp.name] = None
        elif sp.kind == "ref":
            target = r[cols.index("target_type")] if sp.ref == "*" else sp.ref
            ref = refs.get(target or "", {}).get(value)
            if ref is None:
                if sp.name == "source":  # provenance outside any case does not travel
                    f[sp.name] = None
                    continue
                return None, f"refers to a missing {target}"
            if ref[1]:
                return None, f"refers to a keep-local {target}"
            f[sp.name] = ref[0]
        elif sp.kind in ("json", "list"):
            f[sp.name] = _json_value(value)
        elif sp.kind == "float":
            f[sp.name] = float(value)
        else:
            f[sp.name] = value
    st: dict[str, str] = {}
    base: dict[str, str] = {}
    for col, (hlc, b) in stamps.items():
        name = wire_of(col)
        st[name] = hlc
        if b is None or hlc > b:
            base[name] = b or ""
    deleted = bool(r[4])
    fps: list[str] = []
    if not deleted and fp_key:
        if t == "entity":
            fp = entity_fingerprint(fp_key, r[cols.index("kind")], r[cols.index("key")], r[cols.index("sensitive")])
            if fp:
                fps.append(fp)
        elif t == "media":
            fps.extend(media_fingerprints(fp_key, r[cols.index("md5")], r[cols.index("sha256")]))
    return {"t": t, "uid": r[1], "case": case_uid, "hlc": r[2], "origin": r[3] or "unknown",
            "deleted": deleted, "f": f, "s": st, "b": base, "fp": fps}, ""


def acknowledge(conn: Connection, rows: Sequence[OutRow], conflicts: Sequence[Conflict] = ()) -> None:
    """HQ has these rows: take them off the outbox (unless changed again since they were
    read), move their bases forward, remember the cases HQ knows, keep the conflicts."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cur.executemany("DELETE FROM sync_outbox WHERE tbl = ? AND row_id = ? AND id = ?",
                    [(r.tbl, r.row_id, r.outbox_id) for r in rows])
    advance_bases(conn, [(r.tbl, r.row_id, r.record["s"]) for r in rows])
    cases = {r.record["case"] for r in rows if r.tbl == "case"}
    cur.executemany("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, '1')",
                    [(f"hq_case:{u}",) for u in cases])
    if conflicts:
        mine = {(r.record["t"], r.record["uid"]): r.record for r in rows}
        for c in conflicts:
            rec = mine.get((c.t, c.uid))
            if rec is None:
                continue
            if c.mine_stamp:
                record_conflict(conn, c.t, c.uid, c.field, c.mine, c.mine_stamp, c.value, c.stamp, c.winner)
            else:  # an HQ that does not say what it compared against: the record as sent
                record_conflict(conn, c.t, c.uid, c.field, rec["f"].get(c.field), rec["s"].get(c.field, ""),
                                c.value, c.stamp, c.winner)


def hold(conn: Connection, rows: Sequence[OutRow], reason: str) -> None:
    """Take rows off the outbox and hold them (re-examined at the next push)."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cur.executemany("DELETE FROM sync_outbox WHERE tbl = ? AND row_id = ? AND id = ?",
                    [(r.tbl, r.row_id, r.outbox_id) for r in rows])
    cur.executemany("INSERT OR REPLACE INTO sync_held (tbl, row_id, reason) VALUES (?, ?, ?)",
                    [(r.tbl, r.row_id, reason) for r in rows])


def advance_bases(conn: Connection, items: Iterable[tuple[str, int, dict[str, str]]]) -> None:
    """Bases only move forward (an old acknowledgement replayed changes nothing)."""
    params = []
    for tbl, row_id, stamps in items:
        for name, st in stamps.items():
            col = DELETED if name == DELETED else ("parties" if name == "parties" else column_of(name))
            params.append((st, tbl, row_id, col, st))
    if params:
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cur.executemany("UPDATE sync_field SET base = ? WHERE tbl = ? AND row_id = ? AND field = ? "
                        "AND (base IS NULL OR base < ?)", params)


SUPERSEDED = "superseded"


def record_conflict(conn: Connection, tbl: str, uid: str, fld: str, mine: Any, mine_hlc: str,
                    theirs: Any, theirs_hlc: str, winner: str) -> bool:
    """Keep a true conflict. The same conflict (record, field and both stamps) is kept once,
    however often it is reported (HQ reports it in the push answer and again with the
    pull). One conflict per record and field is open: a newer one closes the older as
    ``superseded`` — kept, so no value that lost is ever forgotten — and an older one
    reported late is kept already closed. Returns True when the conflict is new here."""
    sc = s.sync_conflict
    same = conn.execute(select(sc.c.id).where(
        sc.c.tbl == tbl, sc.c.row_uid == uid, sc.c.field == fld, sc.c.mine_hlc == mine_hlc,
        sc.c.theirs_hlc == theirs_hlc)).first()
    if same:
        return False
    now = clock.utcnow_iso()
    values = dict(tbl=tbl, row_uid=uid, field=fld, mine=json.dumps(mine), mine_hlc=mine_hlc, theirs=json.dumps(theirs),
                  theirs_hlc=theirs_hlc, winner=winner, detected_at=now)
    newest = max(mine_hlc, theirs_hlc)
    open_ = conn.execute(select(sc.c.id, sc.c.mine_hlc, sc.c.theirs_hlc).where(
        sc.c.tbl == tbl, sc.c.row_uid == uid, sc.c.field == fld, sc.c.resolved_at.is_(None))).fetchall()
    if any(max(o.mine_hlc or "", o.theirs_hlc or "") > newest for o in open_):
        values.update(resolved_at=now, resolution=SUPERSEDED, resolved_by="sync")
    elif open_:
        conn.execute(update(sc).where(sc.c.id.in_([o.id for o in open_])).values(
            resolved_at=now, resolution=SUPERSEDED, resolved_by="sync"))
    conn.execute(insert(sc).values(**values))
    return True


# ====================================================================== incoming
class Unresolved(Exception):
    """A reference of an incoming record is not here (yet)."""


@dataclass
class ApplyResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    parked: int = 0
    conflicts: int = 0
    max_hlc: str = ""


class Applier:
    """Applies wire records inside one open write transaction ``conn`` (the caller commits
    them together with the pull cursor). Holds ``sync_apply`` while it works."""

    def __init__(self, conn: Connection, device: str = "") -> None:
        self.conn = conn
        self.device = device
        self.ids: dict[str, dict[str, int]] = {t: {} for t in TABLES}
        self.result = ApplyResult()
        self.now = clock.utcnow_iso()
        self._next: dict[str, int] = {}
        self._queued: dict[str, list[tuple[tuple[Any, ...], list[tuple[int, str]], list[tuple[Any, ...]]]]] = {}
        self._state: list[tuple[str]] = []
        self._numbers: set[str] = set()
        conn.exec_driver_sql("INSERT INTO sync_apply (flag) VALUES (1)")
        # Like the bulk import writer: new rows are indexed for full-text search per batch
        # with one INSERT ... SELECT instead of one trigger run per row (same transaction).
        conn.exec_driver_sql("INSERT INTO fts_defer (flag) VALUES (1)")

    def close(self) -> None:
        for t in list(self._queued):
            self._flush(t)
        self.conn.exec_driver_sql("DELETE FROM sync_apply")
        self.conn.exec_driver_sql("DELETE FROM fts_defer")

    # ---------------------------------------------------------------- lookups
    def _preload(self, records: Sequence[WireRecord]) -> None:
        """Look up, in a few queries, the local ids of every uid the batch mentions."""
        want: dict[str, set[str]] = {t: set() for t in TABLES}
        for rec in records:
            want[rec.t].add(rec.uid)
            want["case"].add(rec.case)
            f = rec.f
            for name, target in _REFS[rec.t]:
                v = f.get(name)
                if v is None:
                    continue
                if name == "parties":
                    if isinstance(v, list):
                        want["entity"].update(p[0] for p in v if isinstance(p, list) and p and isinstance(p[0], str))
                    continue
                tt = f.get("target_type") if target == "*" else target
                if isinstance(tt, str) and tt in want and isinstance(v, str):
                    want[tt].add(v)
        for t, uids in want.items():
            known = self.ids[t]
            missing = [u for u in uids if u not in known]
            for chunk in _chunks(missing):
                marks = ",".join("?" * len(chunk))
                for uid, i in self.conn.exec_driver_sql(f'SELECT uid, id FROM "{t}" WHERE uid IN ({marks})',
                                                        tuple(chunk)):
                    known[uid] = i

    def _id(self, t: str, uid: str) -> int:
        i = self.ids[t].get(uid)
        if i is None:
            raise Unresolved(f"{t} {uid} is not here yet")
        return i

    # ---------------------------------------------------------------- entry point
    def apply(self, records: Sequence[WireRecord]) -> ApplyResult:
        """Apply a batch; records whose references are missing are parked.

        New rows are written with ``executemany`` per table (ids assigned here: the write
        lock is held), in dependency order, so that later tables can refer to them."""
        self._preload(records)
        pending = sorted(records, key=lambda r: TABLES.index(r.t))
        while pending:
            left: list[tuple[WireRecord, str]] = []
            for t in TABLES:
                group = [r for r in pending if r.t == t]
                if not group:
                    continue
                for rec in group:
                    try:
                        self._apply_one(rec)
                    except Unresolved as exc:
                        left.append((rec, str(exc)))
                    except ProtocolError as exc:
                        self._park(rec, f"invalid: {exc}")
                self._flush(t)
            if len(left) == len(pending) or not left:
                for rec, why in left:
                    self._park(rec, why)
                break
            pending = [r for r, _ in left]
        return self.result

    def retry_parked(self) -> int:
        """Try the parked records again; returns how many could be applied now."""
        rows = self.conn.execute(select(s.sync_parked.c.uid, s.sync_parked.c.record)).fetchall()
        if not rows:
            return 0
        records = [WireRecord.model_validate_json(r.record) for r in rows]
        before = len(rows)
        self.conn.execute(delete(s.sync_parked))
        parked_before = self.result.parked
        self.apply(records)
        still = self.result.parked - parked_before
        self.result.parked = parked_before
        return before - still

    def _park(self, rec: WireRecord, why: str) -> None:
        self.conn.exec_driver_sql(
            "INSERT OR REPLACE INTO sync_parked (uid, tbl, record, reason, parked_at) VALUES (?, ?, ?, ?, ?)",
            (rec.uid, rec.t, rec.model_dump_json(), why, self.now))
        self.result.parked += 1

    # ---------------------------------------------------------------- one record
    def _local_value(self, rec: WireRecord, name: str, value: Any) -> Any:
        """Wire value → local column value (uids → ids)."""
        code = FIELD_TYPES[rec.t][name]
        if value is None or not code.startswith("ref:"):
            return value
        tt = rec.f.get("target_type") if name == "target" else REF_TABLE[name]
        if tt not in SA_TABLES:
            raise ProtocolError(f"record {rec.uid}: a note target needs a target type")
        return self._id(tt, value)

    def _apply_one(self, rec: WireRecord) -> None:
        # Records come from HQ (pinned, authenticated), which validated every value on the
        # way in; here only the field names are checked, so a newer HQ's fields are refused.
        check_names(rec)
        if rec.hlc > self.result.max_hlc:
            self.result.max_hlc = rec.hlc
        case_id = None if rec.t == "case" else self._id("case", rec.case)
        local_id = self.ids[rec.t].get(rec.uid)
        if local_id is None:
            self._queue_insert(rec, case_id)
        else:
            for t in list(self._queued):  # a merge may point at rows still queued
                self._flush(t)
            self._merge(rec, local_id)

    def _resolve_parties(self, value: Any) -> list[tuple[int, str]]:
        return [(self._id("entity", uid), role) for uid, role in value]

    # ---------------------------------------------------------------- new rows, in bulk
    def _insert_columns(self, t: str) -> list[str]:
        cols = [column_of(n) for n in FIELD_TYPES[t] if n != "parties"]
        if t != "case":
            cols.append("case_id")
        return ["id", *cols, *LOCAL_NOW_COLUMNS.get(t, ()), "uid", "origin", "hlc", "deleted", "keep_local"]

    def _next_id(self, t: str) -> int:
        if t not in self._next:
            self._next[t] = int(self.conn.exec_driver_sql(f'SELECT coalesce(max(id), 0) FROM "{t}"').scalar_one()) + 1
        n = self._next[t]
        self._next[t] = n + 1
        return n

    def _queue_insert(self, rec: WireRecord, case_id: int | None) -> None:
        t = rec.t
        f = rec.f
        if len(f) != len(FIELD_TYPES[t]):
            missing = [n for n in FIELD_TYPES[t] if n not in f]
            raise ProtocolError(f"record {rec.uid} ({t}): missing field(s) {', '.join(missing)}")
        values: list[Any] = []
        parties: list[tuple[int, str]] = []
        for name, kind in _INSERT_PLAN[t]:
            v = f[name]
            if v is not None:
                if kind == "ref":
                    v = self._local_value(rec, name, v)
                elif kind == "json":
                    v = _encode(v)
                elif kind == "parties":
                    parties = self._resolve_parties(v)
                    continue
            elif kind == "parties":
                continue
            values.append(v)
        if t == "case":
            agency = f.get("agency")
            values[0] = self._free_case_number(values[0], agency if isinstance(agency, str) else None)
        else:
            values.append(case_id)
        new_id = self._next_id(t)
        row = (new_id, *values, *([self.now] * len(LOCAL_NOW_COLUMNS.get(t, ()))), rec.uid, rec.origin, rec.hlc,
               int(rec.deleted), 0)
        self._queued.setdefault(t, []).append(
            (row, parties, [(t, new_id, self._stamp_column(n), st, st) for n, st in rec.s.items()] if rec.s else []))
        self.ids[t][rec.uid] = new_id
        if t == "case":
            self._state.append((f"hq_case:{rec.uid}",))
        self.result.inserted += 1

    def _flush(self, t: str) -> None:
        q = self._queued.pop(t, None)
        if not q:
            return
        cols = self._insert_columns(t)
        cur = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        names = ", ".join(f'"{c}"' for c in cols)
        cur.executemany(f'INSERT INTO "{t}" ({names}) VALUES ({", ".join("?" * len(cols))})', [x[0] for x in q])
        parties = [(row[0], e, role) for row, ps, _ in q for e, role in ps]
        if parties:
            cur.executemany("INSERT INTO event_party (event_id, entity_id, role) VALUES (?, ?, ?)", parties)
        stamps = [st for _, _, sts in q for st in sts]
        if stamps:
            cur.executemany("INSERT OR REPLACE INTO sync_field (tbl, row_id, field, hlc, base) VALUES (?, ?, ?, ?, ?)",
                            stamps)
        if self._state:
            cur.executemany("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, '1')", self._state)
            self._state.clear()
        for fts, (table, fcols) in s.FTS_SOURCES.items():
            if table == t:
                names = ", ".join(fcols)
                cur.execute(f'INSERT INTO {fts} (rowid, {names}) SELECT id, {names} FROM "{t}" '
                            "WHERE id BETWEEN ? AND ? AND deleted = 0", (q[0][0][0], q[-1][0][0]))

    @staticmethod
    def _stamp_column(name: str) -> str:
        return name if name in (DELETED, "parties") else column_of(name)

    def _free_case_number(self, number: str, agency: str | None) -> str:
        """Case numbers are unique per laptop; another agency's case may share one."""
        candidate = number
        n = 1
        while candidate in self._numbers or self.conn.execute(
                select(s.case.c.id).where(s.case.c.number == candidate)).first():
            n += 1
            tag = agency or "HQ"
            candidate = f"{number} [{tag}]" if n == 2 else f"{number} [{tag} {n}]"
        self._numbers.add(candidate)
        return candidate

    def _merge(self, rec: WireRecord, local_id: int) -> None:
        """Field by field: the newer stamp wins; a field edited here since the last
        agreement with HQ *and* there since then is a true conflict (kept, and still won
        by the newer stamp so that every node ends up with the same value)."""
        table = SA_TABLES[rec.t]
        row = self.conn.execute(select(table).where(table.c.id == local_id)).first()
        assert row is not None
        local = _field_rows(self.conn, rec.t, [local_id]).get(local_id, {})
        updates: dict[str, Any] = {}
        stamp_updates: list[tuple[str, str, str]] = []  # (column, hlc, base)
        new_parties: list[tuple[int, str]] | None = None
        for name in FIELD_TYPES[rec.t]:
            if name not in rec.f:
                continue
            col = self._stamp_column(name)
            rs = rec.s.get(name, "")
            ls, lb = local.get(col, ("", None))
            lb = lb or ""
            pending = ls > lb
            if rs == ls:
                if lb < rs:
                    stamp_updates.append((col, ls, rs))
                continue
            if pending and rs > lb and self.device and stamp_node(rs) == self.device:
                # HQ sends back an edit of ours whose acknowledgement never arrived: ours
                # pending here is newer (or it is that very edit); HQ has agreed on it.
                if rs <= ls:
                    stamp_updates.append((col, ls, rs))
                    continue
            if pending and rs > lb:
                mine = wire_value_of(self.conn, rec.t, name, row)
                winner = "theirs" if rs > ls else "mine"
                if mine != rec.f[name] and record_conflict(self.conn, rec.t, rec.uid, name, mine, ls, rec.f[name],
                                                           rs, winner):
                    self.result.conflicts += 1
                if winner == "mine":
                    stamp_updates.append((col, ls, rs))  # agreed base is now HQ's; ours still to push
                    continue
            elif pending or rs < ls:
                continue  # what HQ sends is older than what we agreed on: stale
            if name == "parties":
                new_parties = self._resolve_parties(rec.f[name])
            else:
                updates[column_of(name)] = self._local_value(rec, name, rec.f[name])
            stamp_updates.append((col, rs, rs))
        if rec.deleted and not row.deleted:
            updates["deleted"] = True
            rs = rec.s.get(DELETED, rec.hlc)
            stamp_updates.append((DELETED, rs, rs))
        changed = {k: v for k, v in updates.items() if _differs(getattr(row, k), v)}
        if rec.t == "case" and "number" in changed:
            changed["number"] = self._free_case_number(changed["number"], row.agency)
        parties_changed = False
        if new_parties is not None:
            have = [(r.entity_id, r.role) for r in self.conn.execute(
                select(s.event_party.c.entity_id, s.event_party.c.role).where(
                    s.event_party.c.event_id == local_id).order_by(s.event_party.c.id))]
            if have != new_parties:
                parties_changed = True
                self.conn.execute(delete(s.event_party).where(s.event_party.c.event_id == local_id))
                if new_parties:
                    self.conn.execute(insert(s.event_party), [
                        {"event_id": local_id, "entity_id": e, "role": r} for e, r in new_parties])
        value_changed = bool(changed) or parties_changed
        if value_changed:
            for col in LOCAL_NOW_COLUMNS.get(rec.t, ()):
                changed[col] = self.now
        if rec.hlc > (row.hlc or ""):
            changed["hlc"] = rec.hlc
        if changed:
            self.conn.execute(update(table).where(table.c.id == local_id).values(**changed))
        if stamp_updates:
            self.conn.connection.dbapi_connection.cursor().executemany(  # type: ignore[union-attr]
                "INSERT INTO sync_field (tbl, row_id, field, hlc, base) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (tbl, row_id, field) DO UPDATE SET hlc = excluded.hlc, base = excluded.base",
                [(rec.t, local_id, c, h, b) for c, h, b in stamp_updates])
        if value_changed:
            self.result.updated += 1
        else:
            self.result.unchanged += 1


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, str) and not isinstance(b, str):
        return _json_value(a) != b
    return bool(a != b)


def local_value_of(conn: Connection, t: str, name: str, value: Any, target_type: str | None = None) -> Any:
    """A wire value as the local column value (uids → ids); raises Unresolved."""
    code = FIELD_TYPES[t][name]
    if value is None or not code.startswith("ref:"):
        return value
    tt = target_type if name == "target" else REF_TABLE[name]
    table = SA_TABLES[tt]  # type: ignore[index]
    found = conn.execute(select(table.c.id).where(table.c.uid == value)).scalar()
    if found is None:
        raise Unresolved(f"{tt} {value} is not on this laptop")
    return found


def wire_value_of(conn: Connection, t: str, name: str, row: Any) -> Any:
    """The current wire value of field ``name`` of local ``row``."""
    if name == "parties":
        return [[u, r] for u, _, r in _parties(conn, [row.id]).get(row.id, [])]
    code = FIELD_TYPES[t][name]
    value = getattr(row, column_of(name))
    if value is None:
        return None
    if code.startswith("ref:"):
        tt = row.target_type if name == "target" else REF_TABLE[name]
        table = SA_TABLES[tt]
        return conn.execute(select(table.c.uid).where(table.c.id == value)).scalar()
    if code.rstrip("?") in ("json", "list"):
        return _json_value(value)
    if code.rstrip("?") == "float":
        return float(value)
    return value
