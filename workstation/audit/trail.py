"""The tamper-evident, append-only audit trail.

Each entry's MAC is HMAC-SHA256 over the previous entry's MAC and the entry's canonical
JSON form, keyed with a random key kept inside the encrypted database. Editing, deleting
or reordering entries breaks the chain at that point; removing entries from the end
(truncation) is caught by the chain head, which is anchored in the ``meta`` table and
advanced in the same transaction as each append. The anchor carries its own MAC, so it
cannot be moved back by copying an older entry's seq and MAC into it, and an empty trail
never verifies (every database records its creation).

Limit: someone holding the passphrase can read the audit key from ``meta`` and recompute
every MAC; the chain proves only that no edit was made without that key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from workstation import clock
from workstation.store import schema

if TYPE_CHECKING:
    from workstation.store.database import Database

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    details: Mapping[str, Any]
    outcome: str
    mac: str


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    entries: int
    first_bad_seq: int | None
    message: str


def _canonical(seq: int, at: str, actor: str, action: str, target_type: str | None,
               target_id: str | None, details: str, outcome: str) -> bytes:
    return json.dumps([seq, at, actor, action, target_type, target_id, details, outcome],
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _mac(key: bytes, prev: str, body: bytes) -> str:
    return hmac.new(key, prev.encode("ascii") + body, hashlib.sha256).hexdigest()


def _anchor(key: bytes, seq: int, mac: str) -> str:
    """The ``meta`` anchor of the chain head: ``seq:mac:tag``. The tag binds seq and MAC
    under the key, so an anchor cannot be forged from values already in the table."""
    tag = hmac.new(key, f"audit-head:{seq}:{mac}".encode("ascii"), hashlib.sha256).hexdigest()
    return f"{seq}:{mac}:{tag}"


class AuditTrail:
    """Appends to and verifies the audit trail of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._key: bytes | None = None

    def _load_key(self, conn: Connection) -> bytes:
        if self._key is None:
            hexkey = self.db.meta_get(conn, "audit_key")
            if hexkey is None:
                raise RuntimeError("audit key missing from the database")
            self._key = bytes.fromhex(hexkey)
        return self._key

    def append(self, conn: Connection, action: str, target_type: str | None,
               target_id: int | str | None, details: Mapping[str, Any] | None = None,
               outcome: str = "ok", actor: str | None = None) -> int:
        """Append one entry inside the caller's write transaction. Returns its seq."""
        key = self._load_key(conn)
        last = conn.execute(
            select(schema.audit.c.seq, schema.audit.c.mac).order_by(schema.audit.c.seq.desc()).limit(1)
        ).first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        at = clock.utcnow_iso()
        who = actor or self.db.actor
        tid = None if target_id is None else str(target_id)
        det = json.dumps(dict(details or {}), ensure_ascii=False, sort_keys=True, default=str)
        mac = _mac(key, prev, _canonical(seq, at, who, action, target_type, tid, det, outcome))
        conn.execute(insert(schema.audit).values(
            seq=seq, at=at, actor=who, action=action, target_type=target_type, target_id=tid,
            details=det, outcome=outcome, mac=mac))
        self.db.meta_set(conn, "audit_head", _anchor(key, seq, mac))
        return seq

    def append_in_new_tx(self, action: str, target_type: str | None, target_id: int | str | None,
                         details: Mapping[str, Any] | None = None, outcome: str = "ok") -> int:
        with self.db.write() as conn:
            return self.append(conn, action, target_type, target_id, details, outcome)

    def entries(self, conn: Connection, *, since_seq: int = 0, limit: int | None = None,
                target_type: str | None = None, target_id: int | str | None = None) -> Iterator[AuditEntry]:
        q = select(schema.audit).where(schema.audit.c.seq > since_seq).order_by(schema.audit.c.seq)
        if target_type is not None:
            q = q.where(schema.audit.c.target_type == target_type)
        if target_id is not None:
            q = q.where(schema.audit.c.target_id == str(target_id))
        if limit is not None:
            q = q.limit(limit)
        for r in conn.execute(q):
            yield AuditEntry(r.seq, r.at, r.actor, r.action, r.target_type, r.target_id,
                             json.loads(r.details), r.outcome, r.mac)

    def verify(self) -> AuditVerification:
        """Walk the whole chain; report the first entry that does not verify."""
        with self.db.read() as conn:
            key = self._load_key(conn)
            head = self.db.meta_get(conn, "audit_head")
            prev = GENESIS
            expected_seq = 1
            count = 0
            for r in conn.execute(select(schema.audit).order_by(schema.audit.c.seq)):
                if r.seq != expected_seq:
                    return AuditVerification(False, count, expected_seq,
                                             f"entry {expected_seq} is missing (next entry is {r.seq})")
                body = _canonical(r.seq, r.at, r.actor, r.action, r.target_type, r.target_id,
                                  r.details, r.outcome)
                if not hmac.compare_digest(_mac(key, prev, body), r.mac):
                    return AuditVerification(False, count, r.seq,
                                             f"entry {r.seq} ({r.action}) was altered or moved")
                prev = r.mac
                expected_seq += 1
                count += 1
            if head is None:
                if count:
                    return AuditVerification(False, count, count, "the chain head anchor is missing")
                return AuditVerification(False, 0, 1, "the trail is empty: every database records at "
                                                      "least its creation, so entries were removed")
            try:
                head_seq_text, head_mac, _tag = head.split(":")
                head_seq = int(head_seq_text)
            except ValueError:
                return AuditVerification(False, count, None, "the chain head anchor is damaged "
                                                             "(or has no authentication tag)")
            if not hmac.compare_digest(_anchor(key, head_seq, head_mac), head):
                return AuditVerification(False, count, None, "the chain head anchor was altered")
            if head_seq != count or not hmac.compare_digest(head_mac, prev):
                first_bad = count + 1 if head_seq > count else head_seq
                return AuditVerification(
                    False, count, first_bad,
                    f"the trail ends at entry {count} but the anchored head is entry {head_seq}: "
                    "entries were removed from the end or the anchor was altered")
            return AuditVerification(True, count, None, f"{count} entries verified")
