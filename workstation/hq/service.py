"""HQ's core: identities, authorisation, merging pushed records, serving pulls,
deconfliction and offline bundles. The web API (``hq.app``) and the admin CLI both call it.

Authorisation. A case belongs to the agency whose device first pushed it. It is readable
and writable by that agency, plus — when its (merged) case row says ``sharing =
'agencies'`` — by the agencies (code or name) and officers (``officer:NAME`` or, for one
officer, ``officer:NAME@AGENCY``) listed in ``shared_with``; nothing else. Only the owning
agency may change who a case is shared with. Every entry point checks access, and a case
the caller may not see is reported exactly like one that does not exist
(:class:`CaseNotFound`, answered 404).

Merging. Per field, the newer stamp wins; a field the device changed since its base while
HQ's copy also changed since that base is a true conflict: reported back to the device
(which keeps it for the officer), and still won by the newer stamp so that every copy
converges. Replaying a batch changes nothing (equal stamps are skipped, the change
sequence only moves on a real change).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, cast

from sqlalchemy import Table, Text, bindparam, func, insert, or_, select
from sqlalchemy import cast as cast_
from sqlalchemy.orm import Session

from workstation import clock
from workstation.errors import BadInput, NotFound, UsageError
from workstation.hq.models import (
    Agency,
    AuditEntry,
    BundleLog,
    Case,
    ConflictNote,
    Device,
    EnrolmentCode,
    Fingerprint,
    Grant,
    Officer,
    Record,
)
from workstation.hq.store import HQStore
from workstation.sync.crypto import WrongRecipient, open_sealed, read_header, seal
from workstation.sync.hlc import HybridClock
from workstation.sync.protocol import (
    DELETED,
    FIELD_TYPES,
    TABLE_RANK,
    AckedRecord,
    BundleAck,
    BundlePush,
    CaseSummary,
    Conflict,
    DeconflictMatch,
    DeconflictRequest,
    DeconflictResponse,
    ProtocolError,
    PullResponse,
    PushResponse,
    WireRecord,
    stamp_node,
    validate_record,
)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
CODE_LENGTH = 16  # 80 bits
CODE_TTL_HOURS = 72
PROTECTED_CASE_FIELDS = ("sharing", "shared_with")
_RECORDS = cast(Table, Record.__table__)
_FPS = cast(Table, Fingerprint.__table__)


class CaseNotFound(NotFound):
    """No such case — or one the caller may not see (the two are never told apart)."""

    def __init__(self) -> None:
        super().__init__("case not found")


class EnrolmentRefused(UsageError):
    """A wrong, used or expired enrolment code, or a device id already enrolled."""


@dataclass(frozen=True)
class DeviceContext:
    """Who is calling: the authenticated device, its officer and agency."""

    device_id: str
    officer_id: int
    officer: str
    agency_id: int
    agency_code: str
    agency: str


@dataclass
class _Row:
    """HQ's merged state of one record while a push works on it."""

    uid: str
    tbl: str
    case_uid: str
    hlc: str
    deleted: bool
    fields: dict[str, Any]
    stamps: dict[str, str]


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class _Raw:
    """``executemany`` straight on the session's DB-API connection (same transaction):
    the bulk path of a push, several times cheaper than per-row parameter processing.
    SQL is written with ``?`` and adapted to the driver's parameter style."""

    def __init__(self, session: Session) -> None:
        conn = session.connection()
        self.cursor = conn.connection.cursor()
        self.format = conn.dialect.paramstyle in ("format", "pyformat")

    def executemany(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if self.format:
            sql = sql.replace("%", "%%").replace("?", "%s")
        self.cursor.executemany(sql, rows)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _printable(text: str) -> str:
    """``text`` with NUL characters spelt out: PostgreSQL text columns cannot hold them, and
    an audit row must never fail to be written because of what a caller sent."""
    return text.replace("\x00", "\\x00")


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _chunks(items: Sequence[Any], n: int = 500) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


class HQService:
    """HQ's operations over one :class:`HQStore`. Thread-safe (writes are serialised)."""

    def __init__(self, store: HQStore) -> None:
        self.store = store
        self.clock = HybridClock("hq")
        self._inserted_since_analyze = 0

    # ================================================================== identities
    def create_enrolment(self, agency_code: str, officer: str, *, agency_name: str | None = None,
                         agency_contact: str | None = None, officer_contact: str | None = None,
                         ttl_hours: int = CODE_TTL_HOURS) -> str:
        """Register the agency and officer if new and issue a one-time enrolment code
        (shown once; HQ keeps only its hash)."""
        agency_code = (agency_code or "").strip()
        officer = (officer or "").strip()
        if not agency_code or not officer:
            raise UsageError("enrolment needs an agency and an officer")
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        now = clock.utcnow()
        with self.store.write_lock, self.store.session() as session, session.begin():
            ag = session.execute(select(Agency).where(func.lower(Agency.code) == agency_code.lower())).scalar()
            if ag is None:
                ag = Agency(code=agency_code, name=agency_name or agency_code, contact=agency_contact,
                            created_at=clock.iso(now))
                session.add(ag)
                session.flush()
            else:
                if agency_name:
                    ag.name = agency_name
                if agency_contact:
                    ag.contact = agency_contact
            off = session.execute(select(Officer).where(Officer.agency_id == ag.id, Officer.name == officer)).scalar()
            if off is None:
                off = Officer(agency_id=ag.id, name=officer, contact=officer_contact, created_at=clock.iso(now))
                session.add(off)
                session.flush()
            elif officer_contact:
                off.contact = officer_contact
            session.add(EnrolmentCode(code_hash=token_hash(code), officer_id=off.id, created_at=clock.iso(now),
                                      expires_at=clock.iso(now + timedelta(hours=ttl_hours))))
            self._audit(session, None, "CLI", "hq enroll", None, 200, "code issued",
                        f"agency={ag.code} officer={off.name}")
        return "-".join(code[i:i + 4] for i in range(0, CODE_LENGTH, 4))

    def enrol(self, code: str, device_id: str, sign_pub: str, box_pub: str,
              label: str = "") -> tuple[DeviceContext, str]:
        """Redeem a one-time code: register the device, return its context and token."""
        if "\x00" in label:
            # Checked before the code is spent. (PostgreSQL cannot store it; no label needs it.)
            raise ProtocolError("the device label may not contain NUL characters")
        now = clock.utcnow_iso()
        token = secrets.token_urlsafe(32)  # 256 bits
        with self.store.write_lock, self.store.session() as session, session.begin():
            ec = session.execute(select(EnrolmentCode).where(
                EnrolmentCode.code_hash == token_hash(normalise_code(code))).with_for_update()).scalar()
            if ec is None or ec.used_at is not None or ec.expires_at < now:
                raise EnrolmentRefused("the enrolment code is wrong, already used or expired")
            dev = session.get(Device, device_id)
            if dev is not None and dev.revoked_at is None:
                raise EnrolmentRefused("this device is already enrolled; HQ must revoke it before it can enrol again")
            if dev is None:
                dev = Device(id=device_id, officer_id=ec.officer_id, token_hash=token_hash(token), sign_pub=sign_pub,
                             box_pub=box_pub, label=label, enrolled_at=now)
                session.add(dev)
            else:
                dev.officer_id, dev.token_hash = ec.officer_id, token_hash(token)
                dev.sign_pub, dev.box_pub = sign_pub, box_pub
                dev.label, dev.enrolled_at, dev.revoked_at = label, now, None
            ec.used_at, ec.device_id = now, device_id
            session.flush()
            ctx = self._context(session, dev)
        return ctx, token

    def _context(self, session: Session, dev: Device) -> DeviceContext:
        off = session.get(Officer, dev.officer_id)
        assert off is not None
        ag = session.get(Agency, off.agency_id)
        assert ag is not None
        return DeviceContext(dev.id, off.id, off.name, ag.id, ag.code, ag.name)

    def authenticate(self, token: str) -> tuple[DeviceContext | None, str | None]:
        """(context, None) for a valid token; (None, device id or None) otherwise — the
        device id when the token belongs to a revoked device (for rate limiting)."""
        with self.store.session() as session:
            dev = session.execute(select(Device).where(Device.token_hash == token_hash(token))).scalar()
            if dev is None:
                return None, None
            if dev.revoked_at is not None:
                return None, dev.id
            return self._context(session, dev), None

    def device_context(self, device_id: str) -> DeviceContext | None:
        with self.store.session() as session:
            dev = session.get(Device, device_id)
            if dev is None or dev.revoked_at is not None:
                return None
            return self._context(session, dev)

    def revoke(self, device_id: str) -> bool:
        """Revoke a device: its next request is refused. False when unknown or revoked."""
        with self.store.write_lock, self.store.session() as session, session.begin():
            dev = session.get(Device, device_id)
            if dev is None or dev.revoked_at is not None:
                return False
            dev.revoked_at = clock.utcnow_iso()
            self._audit(session, None, "CLI", "hq revoke", None, 200, "revoked", f"device={device_id}")
        return True

    def list_devices(self) -> list[dict[str, Any]]:
        with self.store.session() as session:
            rows = session.execute(select(Device, Officer, Agency).join(Officer, Officer.id == Device.officer_id)
                                   .join(Agency, Agency.id == Officer.agency_id).order_by(Device.enrolled_at)).all()
            return [{"device_id": d.id, "officer": o.name, "agency": a.code, "label": d.label,
                     "enrolled_at": d.enrolled_at, "revoked_at": d.revoked_at} for d, o, a in rows]

    # ================================================================== audit
    def _audit(self, session: Session, ctx: DeviceContext | None, method: str, endpoint: str,
               cases: Iterable[str] | None, status: int, outcome: str, detail: str | None = None,
               ip: str | None = None, device_id: str | None = None) -> None:
        case_text = None
        if cases:
            lst = sorted(set(cases))
            case_text = ",".join(lst[:50]) + (f",…(+{len(lst) - 50})" if len(lst) > 50 else "")
        p = _printable
        dev = ctx.device_id if ctx else device_id
        session.add(AuditEntry(at=clock.utcnow_iso(), ip=ip and p(ip), device_id=dev and p(dev),
                               officer_id=ctx.officer_id if ctx else None, agency_id=ctx.agency_id if ctx else None,
                               method=p(method)[:8], endpoint=p(endpoint)[:200], cases=case_text and p(case_text),
                               status=status, outcome=p(outcome)[:32], detail=detail and p(detail)))

    def audit_request(self, ctx: DeviceContext | None, method: str, endpoint: str, cases: Iterable[str] | None,
                      status: int, outcome: str, *, ip: str | None = None, device_id: str | None = None,
                      detail: str | None = None) -> None:
        """One audit row for one API request (its own transaction)."""
        with self.store.session() as session, session.begin():
            self._audit(session, ctx, method, endpoint, cases, status, outcome, detail, ip, device_id)

    def audit_entries(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.store.session() as session:
            rows = session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)).scalars().all()
            return [{"at": r.at, "ip": r.ip, "device_id": r.device_id, "officer_id": r.officer_id,
                     "agency_id": r.agency_id, "method": r.method, "endpoint": r.endpoint, "cases": r.cases,
                     "status": r.status, "outcome": r.outcome, "detail": r.detail} for r in reversed(rows)]

    # ================================================================== access
    def _visible(self, session: Session, ctx: DeviceContext, case_uids: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for chunk in _chunks(sorted(set(case_uids))):
            out.update(session.execute(select(Grant.case_uid).where(
                Grant.case_uid.in_(chunk), or_(Grant.agency_id == ctx.agency_id,
                                               Grant.officer_id == ctx.officer_id))).scalars())
        return out

    def _grant_subquery(self, ctx: DeviceContext) -> Any:
        return select(Grant.case_uid).where(or_(Grant.agency_id == ctx.agency_id, Grant.officer_id == ctx.officer_id))

    def _require_case(self, session: Session, ctx: DeviceContext, case_uid: str) -> Case:
        case = session.get(Case, case_uid)
        if case is None or case_uid not in self._visible(session, ctx, [case_uid]):
            raise CaseNotFound()
        return case

    def _grants_for(self, session: Session, case: Case) -> set[tuple[str, int]]:
        want: set[tuple[str, int]] = {("agency", case.owner_agency_id), ("officer", case.owner_officer_id)}
        if case.sharing == "agencies":
            # A name with a NUL matches no agency or officer (and PostgreSQL refuses it as a parameter).
            names = [str(x).strip() for x in (case.shared_with or []) if str(x).strip() and "\x00" not in str(x)]
            officers = [n.split(":", 1)[1].strip() for n in names if n.lower().startswith("officer:")]
            agencies = [n.lower() for n in names if not n.lower().startswith("officer:")]
            if agencies:
                for ag in session.execute(select(Agency).where(or_(
                        func.lower(Agency.code).in_(agencies), func.lower(Agency.name).in_(agencies)))).scalars():
                    want.add(("agency", ag.id))
            for spec in officers:
                # "officer:NAME@AGENCY" names one officer; "officer:NAME" every officer of that name.
                name, _, code = spec.partition("@")
                q = select(Officer.id).where(Officer.name == name.strip())
                if code.strip():
                    q = q.join(Agency, Agency.id == Officer.agency_id).where(
                        func.lower(Agency.code) == code.strip().lower())
                for off_id in session.execute(q).scalars():
                    want.add(("officer", off_id))
        return want

    def _refresh_grants(self, session: Session, case: Case) -> bool:
        """Make the grant rows match the case's sharing; True when someone gained access."""
        want = self._grants_for(session, case)
        have_rows = session.execute(select(Grant).where(Grant.case_uid == case.uid)).scalars().all()
        have = {("agency", g.agency_id) if g.agency_id is not None else ("officer", g.officer_id): g
                for g in have_rows}
        for key, g in have.items():
            if key not in want:
                session.delete(g)
        gained = False
        for kind, ident in want - set(have):
            session.add(Grant(case_uid=case.uid, agency_id=ident if kind == "agency" else None,
                              officer_id=ident if kind == "officer" else None))
            gained = True
        return gained

    def _resequence(self, session: Session, case_uid: str) -> None:
        """Give every record of a case a new place in the change sequence, so that
        someone who just gained access pulls all of it from their current cursor."""
        uids = session.execute(select(Record.uid).where(Record.case_uid == case_uid)
                               .order_by(Record.seq)).scalars().all()
        if not uids:
            return
        first = self.store.next_seqs(session, len(uids))
        rt = _RECORDS
        session.execute(rt.update().where(rt.c.uid == bindparam("b_uid")),
                        [{"b_uid": u, "seq": first + i, "changed_by": None} for i, u in enumerate(uids)])

    # ================================================================== push
    def push(self, ctx: DeviceContext, records: Sequence[WireRecord], *,
             audit: tuple[str, str, str | None] | None = None) -> PushResponse:
        """Merge a batch of records from ``ctx``'s device (all or nothing). ``audit``
        (method, endpoint, address) writes the request's audit row in the same transaction.

        Raises ProtocolError (bad field or value, nothing applied) or CaseNotFound (a
        record of a case the device may not write, or that HQ does not hold and the batch
        does not create; nothing applied).
        """
        for rec in records:
            validate_record(rec)
            if "\x00" in rec.origin:
                raise ProtocolError(f"record {rec.uid} ({rec.t}): 'origin' may not contain NUL characters")
        ordered = sorted(records, key=lambda r: TABLE_RANK[r.t])
        conflicts: list[Conflict] = []
        ignored: list[str] = []
        rt = _RECORDS
        with self.store.write_lock, self.store.session() as session, session.begin():
            if self.store.dialect == "postgresql":
                # Take the sequence row lock first: pushes are then ordered end to end.
                self.store.next_seqs(session, 0)
            existing: dict[str, _Row] = {}
            for chunk in _chunks([r.uid for r in ordered]):
                for r in session.execute(select(rt.c.uid, rt.c.tbl, rt.c.case_uid, rt.c.hlc, rt.c.deleted,
                                                rt.c.fields, rt.c.stamps).where(rt.c.uid.in_(chunk))):
                    existing[r.uid] = _Row(r.uid, r.tbl, r.case_uid, r.hlc, bool(r.deleted), r.fields, r.stamps)
            case_uids = {r.case for r in ordered}
            cases: dict[str, Case] = {}
            for chunk in _chunks(sorted(case_uids)):
                cases.update({c.uid: c for c in session.execute(select(Case).where(Case.uid.in_(chunk))).scalars()})
            writable = self._visible(session, ctx, cases)
            created_here = {r.uid for r in ordered if r.t == "case" and r.uid not in cases}
            for rec in ordered:
                if rec.case in cases:
                    if rec.case not in writable:
                        raise CaseNotFound()
                elif rec.case not in created_here:
                    raise CaseNotFound()
                old = existing.get(rec.uid)
                if old is not None and (old.case_uid != rec.case or old.tbl != rec.t):
                    raise CaseNotFound()
                if old is None:
                    missing = [n for n in FIELD_TYPES[rec.t] if n not in rec.f]
                    if missing:
                        raise ProtocolError(f"record {rec.uid} ({rec.t}): a new record needs every field; "
                                            f"missing {', '.join(missing)}")
            # -------------------------------------------------------- merge
            now = clock.utcnow_iso()
            new_rows: list[dict[str, Any]] = []
            changed: list[tuple[_Row, bool]] = []
            fps: dict[str, tuple[str, Sequence[str]]] = {}
            touched_cases: set[str] = set()
            max_hlc = ""
            seen_new: set[str] = set()
            for rec in ordered:
                if rec.hlc > max_hlc:
                    max_hlc = rec.hlc
                if rec.t == "case" and rec.uid not in cases:
                    case = Case(uid=rec.uid, owner_agency_id=ctx.agency_id, owner_officer_id=ctx.officer_id,
                                sharing=str(rec.f.get("sharing") or "hq"),
                                shared_with=list(cast(list, rec.f.get("shared_with") or [])),
                                ref=self._case_ref(rec.uid), created_at=now)
                    session.add(case)
                    cases[rec.uid] = case
                    touched_cases.add(rec.uid)
                old = existing.get(rec.uid)
                if old is None:
                    if rec.uid in seen_new:
                        continue  # the same new record twice in one batch: the first one stands
                    seen_new.add(rec.uid)
                    new_rows.append({"uid": rec.uid, "tbl": rec.t, "case_uid": rec.case, "hlc": rec.hlc,
                                     "origin": rec.origin, "deleted": rec.deleted, "fields": dict(rec.f),
                                     "stamps": dict(rec.s), "changed_by": ctx.device_id, "updated_at": now})
                    fps[rec.uid] = (rec.case, [] if rec.deleted else rec.fp)
                    continue
                is_owner = cases[rec.case].owner_agency_id == ctx.agency_id
                did, exact = self._merge(old, rec, is_owner, conflicts, ignored, ctx.device_id)
                if did:
                    changed.append((old, exact))
                    fps[rec.uid] = (rec.case, [] if old.deleted else rec.fp)
                    if rec.t == "case":
                        touched_cases.add(rec.uid)
            if max_hlc:
                self.clock.observe(max_hlc)
            if touched_cases:
                session.flush()  # new cases exist before their records refer to them
            n = len(new_rows) + len(changed)
            if n:
                seq = self.store.next_seqs(session, n)
                for new in new_rows:
                    new["seq"] = seq
                    seq += 1
                cur = _Raw(session)
                if new_rows:
                    cur.executemany(
                        "INSERT INTO hq_record (uid, tbl, case_uid, seq, hlc, origin, deleted, fields, stamps, "
                        "changed_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [(r["uid"], r["tbl"], r["case_uid"], r["seq"], r["hlc"], r["origin"], bool(r["deleted"]),
                          _dumps(r["fields"]), _dumps(r["stamps"]), r["changed_by"], r["updated_at"])
                         for r in new_rows])
                if changed:
                    upd = []
                    for merged, exact in changed:
                        upd.append((seq, merged.hlc, bool(merged.deleted), _dumps(merged.fields), _dumps(merged.stamps),
                                    ctx.device_id if exact else None, now, merged.uid))
                        seq += 1
                    cur.executemany("UPDATE hq_record SET seq = ?, hlc = ?, deleted = ?, fields = ?, stamps = ?, "
                                    "changed_by = ?, updated_at = ? WHERE uid = ?", upd)
                stale = [(u,) for u in fps if u in existing]
                if stale:
                    cur.executemany("DELETE FROM hq_fingerprint WHERE record_uid = ?", stale)
                fp_rows = [(fp, cu, uid) for uid, (cu, lst) in fps.items() for fp in dict.fromkeys(lst)]
                if fp_rows:
                    cur.executemany("INSERT INTO hq_fingerprint (fp, case_uid, record_uid) VALUES (?, ?, ?)", fp_rows)
            won = [c for c in conflicts if c.winner == "mine"]
            if won:
                self._keep_conflicts(session, ctx, won, {r.uid: r.case for r in ordered}, now)
            for uid in touched_cases:
                case = cases[uid]
                fields = existing[uid].fields if uid in existing else next(
                    (r["fields"] for r in new_rows if r["uid"] == uid), {})
                case.sharing = str(fields.get("sharing") or "hq")
                case.shared_with = list(fields.get("shared_with") or [])
                session.flush()
                if self._refresh_grants(session, case) and uid not in created_here:
                    session.flush()
                    self._resequence(session, uid)
            head = self.store.head(session)
            if audit is not None:
                self._audit(session, ctx, audit[0], audit[1], case_uids, 200, "ok",
                            f"records={len(records)} changed={n} conflicts={len(conflicts)}", audit[2])
        self._maybe_analyze(len(new_rows))
        return PushResponse(accepted=len(records), changed=n, conflicts=conflicts, ignored=ignored, head=head)

    def _keep_conflicts(self, session: Session, ctx: DeviceContext, conflicts: Sequence[Conflict],
                        case_of: dict[str, str], now: str) -> None:
        """Keep conflicts this push won for the device's next pull (same transaction). Only
        those: HQ now holds the device's value, so if the answer is lost nothing else could
        tell that another device's value was overwritten. A conflict the device lost is
        found again when it sends its change again (HQ still holds the winner)."""
        seq = self.store.next_seqs(session, len(conflicts))
        session.execute(insert(ConflictNote), [
            {"seq": seq + i, "device_id": ctx.device_id, "case_uid": case_of[c.uid], "tbl": c.t, "record_uid": c.uid,
             "field": c.field, "mine": _dumps(c.mine), "mine_stamp": c.mine_stamp, "theirs": _dumps(c.value),
             "theirs_stamp": c.stamp, "winner": c.winner, "detected_at": now} for i, c in enumerate(conflicts)])

    def _conflicts_for(self, session: Session, ctx: DeviceContext, since: int, upto: int,
                       case_uid: str | None) -> list[dict[str, Any]]:
        """The device's kept conflicts in (since, upto] of the change sequence, in cases it
        may still see, as the wire's Conflict objects."""
        ct = cast(Table, ConflictNote.__table__)
        q = select(ct.c.tbl, ct.c.record_uid, ct.c.field, ct.c.theirs, ct.c.theirs_stamp, ct.c.winner, ct.c.mine,
                   ct.c.mine_stamp).where(ct.c.device_id == ctx.device_id, ct.c.seq > since, ct.c.seq <= upto)
        q = q.where(ct.c.case_uid == case_uid) if case_uid is not None else q.where(
            ct.c.case_uid.in_(self._grant_subquery(ctx)))
        return [{"t": r[0], "uid": r[1], "field": r[2], "value": json.loads(r[3]), "stamp": r[4], "winner": r[5],
                 "mine": json.loads(r[6]), "mine_stamp": r[7]} for r in session.execute(q.order_by(ct.c.seq))]

    def _maybe_analyze(self, inserted: int) -> None:
        """PostgreSQL plans the pull query from table statistics; after a large first push
        they are stale until autovacuum catches up, and pulls then scan instead of walking
        the sequence index (4x slower measured). Refresh them after every 20,000 new rows."""
        if self.store.dialect != "postgresql":
            return
        self._inserted_since_analyze += inserted
        if self._inserted_since_analyze >= 20_000:
            self._inserted_since_analyze = 0
            with self.store.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE hq_record")
                conn.commit()

    def _case_ref(self, uid: str) -> str:
        return hmac.new(self.store.ref_key, uid.encode(), hashlib.sha256).hexdigest()[:12].upper()

    def _merge(self, row: _Row, rec: WireRecord, is_owner: bool, conflicts: list[Conflict],
               ignored: list[str], device_id: str) -> tuple[bool, bool]:
        """Merge ``rec`` into HQ's ``row`` field by field. Returns (changed, exact) where
        exact means HQ's row is now exactly what the device sent. HQ's value stamped by the
        pushing device itself is never in conflict with what it sends (that device made
        its newer edit knowing it, or is sending an older one again)."""
        fields = dict(row.fields)
        stamps = dict(row.stamps)
        did = False
        exact = True
        for name, value in rec.f.items():
            in_s = rec.s.get(name, "")
            hq_s = stamps.get(name, "")
            if rec.t == "case" and name in PROTECTED_CASE_FIELDS and not is_owner:
                if in_s > hq_s and fields.get(name) != value:
                    # Only the owning agency decides who sees its case: keep HQ's value and
                    # stamp it anew so that the device takes it back on its next pull.
                    self.clock.observe(in_s)
                    stamps[name] = self.clock.now()
                    ignored.append(f"{rec.uid}:{name}")
                    did, exact = True, False
                elif fields.get(name) != value:
                    exact = False
                continue
            if in_s == hq_s:
                if fields.get(name) != value:
                    exact = False
                continue
            base = rec.b.get(name)
            if base is not None and hq_s > base and stamp_node(hq_s) != device_id:
                winner: Literal["mine", "theirs"] = "mine" if in_s > hq_s else "theirs"
                if fields.get(name) != value:
                    conflicts.append(Conflict(t=rec.t, uid=rec.uid, field=name, value=fields.get(name),
                                              stamp=hq_s, winner=winner, mine=value, mine_stamp=in_s))
                if winner == "theirs":
                    exact = False
                    continue
            elif in_s < hq_s:
                if fields.get(name) != value:
                    exact = False
                continue
            if fields.get(name) != value or stamps.get(name, "") != in_s:
                fields[name] = value
                stamps[name] = in_s
                did = True
        if any(name not in rec.f for name in fields):
            exact = False
        if rec.deleted and not row.deleted:
            row.deleted = True
            stamps[DELETED] = rec.s.get(DELETED, rec.hlc)
            did = True
        elif row.deleted and not rec.deleted:
            exact = False
        if did:
            row.fields = fields
            row.stamps = stamps
            if rec.hlc > row.hlc:
                row.hlc = rec.hlc
        return did, exact

    # ================================================================== pull
    def pull(self, ctx: DeviceContext, since: int, limit: int, *, case_uid: str | None = None) -> PullResponse:
        """Records visible to ``ctx`` changed after ``since`` (HQ's sequence), oldest first,
        leaving out those that are exactly what this device itself last pushed."""
        return PullResponse.model_validate_json(self.pull_json(ctx, since, limit, case_uid=case_uid))

    def pull_json(self, ctx: DeviceContext, since: int, limit: int, *, case_uid: str | None = None) -> bytes:
        """:meth:`pull` as the JSON document the API sends. The stored field and stamp
        documents are spliced in as they are (HQ validated them on the way in), which
        spares a decode and re-encode of every record."""
        limit = max(1, min(limit, 5000))
        since = max(-1, min(since, 2**63 - 1))  # the sequence is a 64-bit integer; SQL refuses larger
        rt = _RECORDS
        with self.store.session() as session, session.begin():
            if case_uid is not None:
                self._require_case(session, ctx, case_uid)
            head = self.store.head(session)
            q = select(rt.c.seq, rt.c.tbl, rt.c.uid, rt.c.case_uid, rt.c.hlc, rt.c.origin, rt.c.deleted,
                       cast_(rt.c.fields, Text), cast_(rt.c.stamps, Text)).where(
                rt.c.seq > since, rt.c.seq <= head,
                or_(rt.c.changed_by.is_(None), rt.c.changed_by != ctx.device_id))
            if case_uid is not None:
                q = q.where(rt.c.case_uid == case_uid)
            else:
                q = q.where(rt.c.case_uid.in_(self._grant_subquery(ctx)))
            rows = session.execute(q.order_by(rt.c.seq).limit(limit)).all()
            more = len(rows) == limit
            nxt = rows[-1][0] if more else max(head, since)
            # The device's own conflicts up to the same cursor: they are saved with it.
            conflicts = self._conflicts_for(session, ctx, since, nxt, case_uid)
        q_ = json.dumps
        parts = [f'{{"t":{q_(r[1])},"uid":{q_(r[2])},"case":{q_(r[3])},"hlc":{q_(r[4])},"origin":{q_(r[5])},'
                 f'"deleted":{"true" if r[6] else "false"},"f":{r[7]},"s":{r[8]}}}' for r in rows]
        tail = f'"next":{int(nxt)},"head":{int(head)},"more":{"true" if more else "false"}'
        if conflicts:
            tail += f',"conflicts":{_dumps(conflicts)}'
        return f'{{"records":[{",".join(parts)}],{tail}}}'.encode()

    # ================================================================== cases
    def _summaries(self, session: Session, ctx: DeviceContext, uids: Sequence[str]) -> list[CaseSummary]:
        out = []
        for uid in uids:
            case = session.get(Case, uid)
            assert case is not None
            ag = session.get(Agency, case.owner_agency_id)
            count, last = session.execute(select(func.count(), func.coalesce(func.max(Record.seq), 0)).where(
                Record.case_uid == uid)).one()
            out.append(CaseSummary(uid=uid, owner_agency=ag.name if ag else "?", sharing=case.sharing,
                                   records=int(count), last_seq=int(last), mine=case.owner_agency_id == ctx.agency_id))
        return out

    def cases(self, ctx: DeviceContext) -> list[CaseSummary]:
        with self.store.session() as session:
            uids = session.execute(self._grant_subquery(ctx).distinct()).scalars().all()
            return self._summaries(session, ctx, sorted(uids))

    def case(self, ctx: DeviceContext, case_uid: str) -> CaseSummary:
        with self.store.session() as session:
            self._require_case(session, ctx, case_uid)
            return self._summaries(session, ctx, [case_uid])[0]

    # ================================================================== deconfliction
    def deconflict(self, ctx: DeviceContext, req: DeconflictRequest) -> DeconflictResponse:
        """Which OTHER cases hold these fingerprints: their owning agency and contacts
        only, never their contents."""
        with self.store.session() as session:
            if req.case is not None:
                self._require_case(session, ctx, req.case)
            fps = sorted({i.fp for i in req.items})
            hits: dict[tuple[str, str], None] = {}
            for chunk in _chunks(fps):
                q = select(Fingerprint.fp, Fingerprint.case_uid).where(Fingerprint.fp.in_(chunk))
                if req.case is not None:
                    q = q.where(Fingerprint.case_uid != req.case)
                for fp, cu in session.execute(q):
                    hits[(fp, cu)] = None
            live_cases: dict[str, Case | None] = {}
            matches = []
            for fp, cu in hits:
                if cu not in live_cases:
                    c = session.get(Case, cu)
                    crow = session.get(Record, cu)
                    live_cases[cu] = c if c is not None and (crow is None or not crow.deleted) else None
                c = live_cases[cu]
                if c is None:
                    continue
                ag = session.get(Agency, c.owner_agency_id)
                off = session.get(Officer, c.owner_officer_id)
                matches.append(DeconflictMatch(fp=fp, ref=c.ref, agency=ag.name if ag else "?",
                                               agency_contact=ag.contact if ag else None,
                                               officer=off.name if off else None,
                                               officer_contact=off.contact if off else None,
                                               same_agency=c.owner_agency_id == ctx.agency_id))
        matches.sort(key=lambda m: (m.fp, m.ref))
        return DeconflictResponse(matches=matches)

    # ================================================================== bundles
    def import_bundle(self, data: bytes, *, source: str = "bundle") -> tuple[bytes, dict[str, Any]]:
        """Verify, decrypt and apply a laptop's sealed bundle; return the sealed
        acknowledgement (encrypted to that device, signed by HQ) and a summary.

        Raises BundleError (tampered / not from that device / not sealed for this HQ's
        key), WrongRecipient (another HQ), BadInput (bad content). Nothing is applied
        unless every check passed.
        """
        header, _ = read_header(data, source=source)
        if header.hq != self.store.hq_id:
            raise WrongRecipient(f"{source}: this bundle is for another HQ ({header.hq}), not this one "
                                 f"({self.store.hq_id}); nothing was applied")
        with self.store.session() as session:
            dev = session.get(Device, header.sender)
            if dev is None or dev.revoked_at is not None:
                raise WrongRecipient(f"{source}: the sending device {header.sender} is not enrolled here "
                                     "(or was revoked); nothing was applied")
            sign_pub, box_pub = dev.sign_pub, dev.box_pub
            ctx = self._context(session, dev)
        _, payload = open_sealed(data, expect_kind="push", expect_hq=self.store.hq_id, expect_recipient="hq",
                                 sender_sign_pub=sign_pub, recipient_box_key=self.store.box_key, source=source)
        try:
            push = BundlePush.model_validate(payload)
        except ValueError as exc:
            raise BadInput(f"{source}: the bundle content is not a valid sync batch: {str(exc)[:300]}") from None
        try:
            result = self.push(ctx, push.records)
        except ProtocolError as exc:
            raise BadInput(f"{source}: {exc}; nothing was applied") from None
        except CaseNotFound:
            raise BadInput(f"{source}: the bundle holds records of a case this device may not write "
                           "(or that HQ does not hold); nothing was applied") from None
        records: list[WireRecord] = []
        conflicts = list(result.conflicts)
        cursor = push.cursor
        while True:
            page = self.pull(ctx, cursor, 5000)
            records.extend(page.records)
            conflicts.extend(page.conflicts)  # this push's again, and any an earlier answer lost
            cursor = page.next
            if not page.more:
                break
        ack = BundleAck(bundle_id=header.bundle_id, outbox_upto=push.outbox_upto,
                        acked=[AckedRecord(t=r.t, uid=r.uid, s=r.s) for r in push.records],
                        conflicts=conflicts, records=records, next=cursor, head=result.head)
        sealed, _ = seal(ack.model_dump(mode="json"), kind="ack", hq_id=self.store.hq_id, sender="hq",
                         recipient=ctx.device_id, recipient_box_pub=box_pub, sender_sign_key=self.store.sign_key)
        with self.store.write_lock, self.store.session() as session, session.begin():
            if session.get(BundleLog, header.bundle_id) is None:
                session.add(BundleLog(id=header.bundle_id, device_id=ctx.device_id, imported_at=clock.utcnow_iso(),
                                      records=len(push.records), changed=result.changed))
            self._audit(session, ctx, "CLI", "hq import-bundle", {r.case for r in push.records}, 200, "ok",
                        f"bundle={header.bundle_id} records={len(push.records)} changed={result.changed}")
        summary = {"bundle": header.bundle_id, "device": ctx.device_id, "officer": ctx.officer,
                   "agency": ctx.agency_code, "records": len(push.records), "changed": result.changed,
                   "conflicts": len(result.conflicts), "returned": len(records)}
        return sealed, summary
