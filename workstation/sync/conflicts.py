"""True sync conflicts, kept for the officer to resolve.

A conflict is one field of one record edited here and at HQ (by another laptop) since the
two last agreed. Sync never drops either edit: the newer one (by HLC) is in the record for
now so that every copy agrees, and both are kept here. Resolving writes the chosen value as
a new local edit, which then travels and wins everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

from workstation import clock
from workstation.domain.models import Changes
from workstation.errors import NotFound, UsageError
from workstation.store import schema as s
from workstation.sync import codec
from workstation.sync.protocol import ProtocolError, check_field_value

CHOICES = ("mine", "theirs", "edit")


@dataclass(frozen=True)
class ConflictInfo:
    """One conflict. ``mine``/``theirs`` are the two values (record references as uids);
    ``current`` is what the record holds now; ``winner`` which of the two that is."""

    id: int
    table: str
    row_uid: str
    row_id: int | None
    case_id: int | None
    field: str
    mine: Any
    theirs: Any
    current: Any
    winner: str
    label: str
    detected_at: str
    resolved_at: str | None = None
    resolution: str | None = None


def _label(t: str, row: Any) -> str:
    if row is None:
        return f"{t} (not on this laptop)"
    for attr in ("label", "title", "number", "file_name", "path"):
        v = getattr(row, attr, None) if attr in row._fields else None
        if v:
            return f"{t} {str(v)[:60]}"
    if t == "note":
        return f"note {str(row.body)[:60]}"
    return f"{t} {row.id}"


def list_conflicts(ws: Any, case_id: int | None = None, *, include_resolved: bool = False) -> list[ConflictInfo]:
    """Open conflicts (optionally of one case), oldest first."""
    out: list[ConflictInfo] = []
    with ws.db.read() as conn:
        q = select(s.sync_conflict).order_by(s.sync_conflict.c.id)
        if not include_resolved:
            q = q.where(s.sync_conflict.c.resolved_at.is_(None))
        for c in conn.execute(q).fetchall():
            table = codec.SA_TABLES.get(c.tbl)
            row = conn.execute(select(table).where(table.c.uid == c.row_uid)).first() if table is not None else None
            row_case = None if row is None else (row.id if c.tbl == "case" else row.case_id)
            if case_id is not None and row_case != case_id:
                continue
            current = codec.wire_value_of(conn, c.tbl, c.field, row) if row is not None else None
            out.append(ConflictInfo(c.id, c.tbl, c.row_uid, row.id if row is not None else None, row_case, c.field,
                                    json.loads(c.mine) if c.mine is not None else None,
                                    json.loads(c.theirs) if c.theirs is not None else None, current, c.winner,
                                    _label(c.tbl, row), c.detected_at, c.resolved_at, c.resolution))
    return out


def resolve_conflict(ws: Any, conflict_id: int, choice: str, value: Any = None) -> Changes:
    """Resolve a conflict: keep ``"mine"``, keep ``"theirs"``, or ``"edit"`` to ``value``.

    The chosen value becomes a new local edit (stamped now, so it wins at HQ and on every
    other laptop at their next sync); nothing is written when the record already holds it.
    Raises NotFound (no such open conflict or record), UsageError (bad choice or value).
    """
    if choice not in CHOICES:
        raise UsageError(f"resolve a conflict with one of: {', '.join(CHOICES)}")
    if choice == "edit" and value is None:
        raise UsageError("an edit needs the new value")
    with ws.db.write() as conn:
        c = conn.execute(select(s.sync_conflict).where(s.sync_conflict.c.id == conflict_id)).first()
        if c is None:
            raise NotFound(f"no conflict with id {conflict_id}")
        if c.resolved_at is not None:
            raise UsageError(f"conflict {conflict_id} was already resolved ({c.resolution})")
        target = {"mine": json.loads(c.mine) if c.mine is not None else None,
                  "theirs": json.loads(c.theirs) if c.theirs is not None else None}.get(choice, value)
        table = codec.SA_TABLES[c.tbl]
        row = conn.execute(select(table).where(table.c.uid == c.row_uid)).first()
        if row is None:
            raise NotFound(f"the {c.tbl} of conflict {conflict_id} is not on this laptop")
        try:
            if c.field != "parties":
                check_field_value(c.tbl, c.field, target)
        except ProtocolError as exc:
            raise UsageError(f"cannot set {c.tbl} {c.field}: {exc}") from None
        current = codec.wire_value_of(conn, c.tbl, c.field, row)
        changed = current != target
        if changed:
            hlc = ws._touch(conn)
            try:
                if c.field == "parties":
                    parties = [(codec.local_value_of(conn, "link", "src", uid), role) for uid, role in target or []]
                    conn.execute(update(table).where(table.c.id == row.id).values(hlc=hlc))
                    conn.execute(delete(s.event_party).where(s.event_party.c.event_id == row.id))
                    if parties:
                        conn.execute(insert(s.event_party), [
                            {"event_id": row.id, "entity_id": e, "role": r} for e, r in parties])
                else:
                    tt = row.target_type if c.field == "target" else None
                    local = codec.local_value_of(conn, c.tbl, c.field, target, tt)
                    values: dict[str, Any] = {codec.column_of(c.field): local, "hlc": hlc}
                    if "updated_at" in table.c and c.tbl != "note":
                        values["updated_at"] = clock.utcnow_iso()
                    conn.execute(update(table).where(table.c.id == row.id).values(**values))
            except codec.Unresolved as exc:
                raise UsageError(f"cannot use that value: {exc}") from None
        conn.execute(update(s.sync_conflict).where(s.sync_conflict.c.id == conflict_id).values(
            resolved_at=clock.utcnow_iso(), resolution=choice, resolved_by=ws.actor))
        ws.audit.append(conn, "sync.resolve_conflict", c.tbl, row.id, {
            "conflict": conflict_id, "field": c.field, "choice": choice, "changed": changed})
    case_id = row.id if c.tbl == "case" else row.case_id
    return Changes(c.tbl, "updated" if changed else "resolved", (row.id,), case_id)
