"""What the UI shows about sync: per case and per record.

Record states: ``"local only"`` (never travels: the case is not shared or kept local, the
record is kept local, or it points at a kept-local record), ``"conflict"`` (an open
conflict on one of its fields), ``"pending"`` (changed here since HQ last acknowledged
it), ``"synced"`` (HQ holds exactly this).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from workstation.errors import NotFound, UsageError
from workstation.store import schema as s
from workstation.sync import codec
from workstation.sync.client import load_enrolment

LOCAL_ONLY = "local only"
PENDING = "pending"
SYNCED = "synced"
CONFLICT = "conflict"
CHILD_TABLES = ("source", "entity", "link", "event", "media", "note")


@dataclass(frozen=True)
class CaseSyncStatus:
    """Sync state of one case. ``state`` is the record states' summary (a conflict
    outranks pending, pending outranks synced); counts are records: ``held`` kept back
    as local-only, ``refused`` changes HQ would not take (access to the case withdrawn
    by its owner), ``parked`` records from HQ waiting for rows they refer to."""

    case_id: int
    number: str
    sharing: str
    shared_with: tuple[str, ...]
    keep_local: bool
    state: str
    enrolled: bool
    at_hq: bool
    pending: int
    held: int
    refused: int
    conflicts: int
    parked: int
    last_push_at: str | None
    last_pull_at: str | None
    hq_url: str | None


def _count_case(conn: Any, table: str, case_id: int, t: str) -> int:
    if t == "case":
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table} WHERE tbl = 'case' AND row_id = ?",
                                        (case_id,)).scalar_one())
    return int(conn.exec_driver_sql(
        f'SELECT count(*) FROM {table} o JOIN "{t}" x ON x.id = o.row_id WHERE o.tbl = ? AND x.case_id = ?',
        (t, case_id)).scalar_one())


def sync_status(ws: Any, case_id: int) -> CaseSyncStatus:
    """The sync state of one case (raises NotFound for an unknown case)."""
    enr = load_enrolment(ws)
    with ws.db.read() as conn:
        c = conn.execute(select(s.case).where(s.case.c.id == case_id)).first()
        if c is None:
            raise NotFound(f"no case with id {case_id}")
        shared = c.shared_with if isinstance(c.shared_with, list) else json.loads(c.shared_with or "[]")
        local = c.sharing == "local" or bool(c.keep_local)
        pending = sum(_count_case(conn, "sync_outbox", case_id, t) for t in ("case", *CHILD_TABLES))
        held = sum(_count_case(conn, "sync_held", case_id, t) for t in ("case", *CHILD_TABLES))
        refused = sum(int(conn.exec_driver_sql(
            f'SELECT count(*) FROM sync_held o JOIN "{t}" x ON x.id = o.row_id WHERE o.tbl = ? AND '
            f"{'x.id' if t == 'case' else 'x.case_id'} = ? AND o.reason LIKE 'HQ refused%'",
            (t, case_id)).scalar_one()) for t in ("case", *CHILD_TABLES))
        held -= refused
        conflicts = 0
        for t in ("case", *CHILD_TABLES):
            if t == "case":
                q = ("SELECT count(*) FROM sync_conflict k WHERE k.resolved_at IS NULL AND k.tbl = 'case' "
                     "AND k.row_uid = ?")
                conflicts += int(conn.exec_driver_sql(q, (c.uid,)).scalar_one())
            else:
                q = (f'SELECT count(*) FROM sync_conflict k JOIN "{t}" x ON x.uid = k.row_uid '
                     "WHERE k.resolved_at IS NULL AND k.tbl = ? AND x.case_id = ?")
                conflicts += int(conn.exec_driver_sql(q, (t, case_id)).scalar_one())
        parked = 0
        for (rec,) in conn.exec_driver_sql("SELECT record FROM sync_parked"):
            try:
                if json.loads(rec).get("case") == c.uid:
                    parked += 1
            except ValueError:
                continue
        at_hq = conn.exec_driver_sql("SELECT 1 FROM sync_state WHERE key = ?",
                                     (f"hq_case:{c.uid}",)).first() is not None
        last_push = conn.exec_driver_sql("SELECT value FROM sync_state WHERE key = 'last_push_at'").scalar()
        last_pull = conn.exec_driver_sql("SELECT value FROM sync_state WHERE key = 'last_pull_at'").scalar()
    if local:
        state = LOCAL_ONLY
    elif conflicts:
        state = CONFLICT
    elif pending or refused or not at_hq:
        state = PENDING
    else:
        state = SYNCED
    return CaseSyncStatus(case_id, c.number, c.sharing, tuple(shared), bool(c.keep_local), state, enr is not None,
                          at_hq, pending, held, refused, conflicts, parked, last_push, last_pull,
                          enr.hq_url if enr else None)


def record_sync_state(ws: Any, table: str, row_id: int) -> str:
    """``'local only' | 'pending' | 'synced' | 'conflict'`` for one record."""
    if table not in codec.SA_TABLES:
        raise UsageError(f"{table} records do not sync")
    t = codec.SA_TABLES[table]
    with ws.db.read() as conn:
        r = conn.execute(select(t).where(t.c.id == row_id)).first()
        if r is None:
            raise NotFound(f"no {table} with id {row_id}")
        case = conn.execute(select(s.case.c.sharing, s.case.c.keep_local).where(
            s.case.c.id == (r.id if table == "case" else r.case_id))).first()
        if case is None or case.sharing == "local" or case.keep_local or (table != "case" and r.keep_local):
            return LOCAL_ONLY
        reason = conn.exec_driver_sql("SELECT reason FROM sync_held WHERE tbl = ? AND row_id = ?",
                                      (table, row_id)).scalar()
        if reason is not None and not reason.startswith("HQ refused"):
            return LOCAL_ONLY
        if conn.exec_driver_sql("SELECT 1 FROM sync_conflict WHERE tbl = ? AND row_uid = ? AND resolved_at IS NULL",
                                (table, r.uid)).first():
            return CONFLICT
        if reason is not None or conn.exec_driver_sql(
                "SELECT 1 FROM sync_outbox WHERE tbl = ? AND row_id = ?", (table, row_id)).first():
            return PENDING
    return SYNCED
