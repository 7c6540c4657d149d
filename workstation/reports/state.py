"""The database state a report or export was made from, as one reproducible digest.

A report states which state of the database it shows, so anyone holding the database can
check later that a printed report still matches it (or see that the case changed since).
The digest is SHA-256 over, in this order:

* a format tag (``cw-case-state/1``) and the case row's ``uid``, ``hlc`` and tombstone;
* every row of the case in ``entity``, ``link``, ``event``, ``note``, ``source`` and
  ``media`` in id order (tombstones included: a delete is a change), each as table name,
  ``uid``, ``hlc``, tombstone flag; entities also by ``merged_into`` and media by their
  category, which change without a new uid;
* the event parties of the case's events (event uid, entity uid, role) in id order;
* the audit-trail head at the last entry that changed data: its sequence number and MAC.
  Entries that only record reading the data out (exports, reports, media reveals) are
  skipped, so printing a report twice gives the same digest and the second report is a
  faithful reproduction of the first.

Same rows and same audit head → same digest; any audited or stamped change → a new one.
Reads only; one read transaction, so the digest is of one consistent snapshot.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from workstation.store import schema as s

if TYPE_CHECKING:
    from workstation.domain.service import Workstation

FORMAT_TAG = "cw-case-state/1"
# Audit actions that record reading data out, not changing it (prefix match).
READ_ONLY_ACTIONS: tuple[str, ...] = ("export", "report", "media.reveal", "media.view", "reveal", "view.")
READ_ONLY_TARGETS: tuple[str, ...] = ("export", "report")
_FETCH = 5000


@dataclass(frozen=True)
class CaseState:
    """The digest of one case's state and the audit entry it stops at."""

    digest: str
    audit_seq: int
    audit_mac: str
    rows: int

    @property
    def short(self) -> str:
        """The first 16 hex digits, for page footers."""
        return self.digest[:16]


def _is_read_only(action: str, target_type: str | None) -> bool:
    return (target_type or "") in READ_ONLY_TARGETS or action.startswith(READ_ONLY_ACTIONS)


def audit_head(conn: Connection) -> tuple[int, str]:
    """(seq, mac) of the newest audit entry that changed data; (0, '') for none."""
    q = select(s.audit.c.seq, s.audit.c.mac, s.audit.c.action, s.audit.c.target_type).order_by(
        s.audit.c.seq.desc())
    for row in conn.execute(q).yield_per(200):
        if not _is_read_only(row.action, row.target_type):
            return int(row.seq), str(row.mac)
    return 0, ""


def _feed(h: Any, *parts: Any) -> None:
    h.update("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8"))
    h.update(b"\x1e")


def _feed_rows(h: Any, cursor: Any, tag: str) -> int:
    """Hash every row of an executed DB-API cursor (in batches: a case may hold millions)."""
    n = 0
    while True:
        rows = cursor.fetchmany(_FETCH)
        if not rows:
            return n
        n += len(rows)
        h.update("".join(tag + "\x1f" + "\x1f".join("" if v is None else str(v) for v in r) + "\x1e"
                         for r in rows).encode("utf-8"))


def case_state(ws: Workstation, case_id: int, *, conn: Connection | None = None) -> CaseState:
    """The state digest of case ``case_id`` (see the module docstring).

    Raises NotFound for an unknown case. With ``conn`` it reads in the caller's
    transaction (a report reads its content and its digest from one snapshot).
    """
    if conn is None:
        with ws.db.read() as c:
            return case_state(ws, case_id, conn=c)
    from workstation.errors import NotFound

    case = conn.execute(select(s.case.c.uid, s.case.c.hlc, s.case.c.deleted).where(
        s.case.c.id == case_id)).first()
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    h = hashlib.sha256()
    _feed(h, FORMAT_TAG, "case", case.uid, case.hlc, int(bool(case.deleted)))
    rows = 1
    # Plain DB-API cursor on the same transaction: millions of rows, so no ORM row objects.
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for table, extra in (("entity", ", merged_into"), ("link", ""), ("event", ""), ("note", ""),
                             ("source", ""), ("media", ", category")):
            cur.execute(f"SELECT uid, hlc, deleted{extra} FROM {table} WHERE case_id = ? ORDER BY id",  # noqa: S608 - fixed names
                        (case_id,))
            rows += _feed_rows(h, cur, table)
        cur.execute("SELECT ev.uid, en.uid, ep.role FROM event_party ep "
                    "JOIN event ev ON ev.id = ep.event_id JOIN entity en ON en.id = ep.entity_id "
                    "WHERE ev.case_id = ? ORDER BY ep.id", (case_id,))
        rows += _feed_rows(h, cur, "party")
    finally:
        cur.close()
    seq, mac = audit_head(conn)
    _feed(h, "audit", seq, mac)
    return CaseState(h.hexdigest(), seq, mac, rows)


__all__ = ["CaseState", "case_state", "audit_head", "READ_ONLY_ACTIONS"]
