"""Sync runs: push then pull over the network, or the same changes by hand in sealed
bundle files.

Change tracking (design). Triggers installed by migration ``0003_sync`` put every row that
changes in a shared case on the ``sync_outbox`` — whoever writes it, in the writer's own
transaction — and stamp each edited field in ``sync_field``. Rows applied from HQ are
written while ``sync_apply`` is held, so they are not mistaken for local changes and do
not echo back. A push reads the outbox in batches (cases first, then sources, entities,
links, events, media, notes), sends them, and on HQ's acknowledgement removes exactly the
entries it sent — an entry replaced by a newer change meanwhile stays — and moves the
fields' agreed *base* stamps forward, all in one transaction.

Pull. HQ numbers every change in one increasing sequence. The laptop asks for changes after
its cursor, applies a batch and stores the new cursor in the SAME transaction, so a cut
connection resumes exactly where the last committed batch ended, and a replayed batch is
a no-op (stamps compare equal).

Cancelling stops between batches: what HQ already acknowledged, and what was already
applied here, stays (each batch is complete and consistent on its own).

Tracing. ``sync_now(trace=...)`` is told each step as it happens (see :data:`TRACE_STEPS`):
diagnostics, and the reliability suite, which kills the process or HQ at these points and
keeps the acknowledged records as its ledger. A trace function must not touch the database.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, select

from workstation import clock
from workstation.errors import BadInput, Cancelled, NetworkError, StorageError
from workstation.store import schema as s
from workstation.sync import codec
from workstation.sync.client import HQClient, HQRefused, TransportWrap, connect, require_enrolment
from workstation.sync.crypto import open_sealed, seal
from workstation.sync.protocol import DEFAULT_BATCH, BundleAck, Conflict, PullResponse, PushResponse, WireRecord

Progress = Callable[[float, str], None]
Trace = Callable[[str, dict[str, Any]], None]

#: The steps ``trace(step, info)`` hears, in order, per batch or page:
#: ``push.request`` (``records``: the wire records about to be sent), ``push.answered``
#: (HQ acknowledged them: ``records``, ``conflicts``; not yet recorded here),
#: ``push.recorded`` (the acknowledgement is committed here), ``pull.request``
#: (``since``), ``pull.answered`` (``records``: how many, ``next``; nothing applied yet),
#: ``pull.applied`` (``uids`` applied and ``cursor`` saved, committed), then ``done``.
TRACE_STEPS = ("push.request", "push.answered", "push.recorded", "pull.request", "pull.answered", "pull.applied",
               "done")


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class SyncReport:
    """What one sync run did. ``pushed``: records HQ acknowledged; ``pulled``: records
    that changed something here; ``conflicts``: new true conflicts kept for the officer;
    ``parked``: records from HQ waiting for rows they refer to; ``held``: rows of shared
    cases kept back as local-only; bytes are on the wire (compressed)."""

    pushed: int = 0
    pulled: int = 0
    unchanged: int = 0
    conflicts: int = 0
    parked: int = 0
    held: int = 0
    batches: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    cursor: int = 0
    seconds: float = 0.0


def read_page(raw: bytes) -> PullResponse:
    """A page of changes from HQ. HQ is authenticated and pinned and validated every
    record when it was pushed, so the records are taken as they are (building them
    unvalidated is several times faster); only the page's shape is checked here, and
    the applier refuses unknown fields and incomplete new records."""
    try:
        doc = json.loads(raw)
        records = [WireRecord.model_construct(t=r["t"], uid=r["uid"], case=r["case"], hlc=r["hlc"],
                                              origin=r["origin"], deleted=bool(r["deleted"]), f=r["f"], s=r["s"],
                                              b={}, fp=[]) for r in doc["records"]]
        if any(r.t not in codec.SA_TABLES or not isinstance(r.f, dict) or not isinstance(r.s, dict)
               for r in records):
            raise ValueError("a record of an unknown kind or shape")
        conflicts = [Conflict.model_validate(c) for c in doc.get("conflicts") or ()]
        return PullResponse.model_construct(records=records, next=int(doc["next"]), head=int(doc["head"]),
                                            more=bool(doc["more"]), conflicts=conflicts)
    except (ValueError, KeyError, TypeError) as exc:
        raise NetworkError(f"HQ sent changes this laptop cannot read: {str(exc)[:300]}") from None


def _state_get(conn: Connection, key: str) -> str | None:
    return conn.execute(select(s.sync_state.c.value).where(s.sync_state.c.key == key)).scalar()


def _state_set(conn: Connection, key: str, value: str) -> None:
    conn.exec_driver_sql("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)", (key, value))


def cursor_of(conn: Connection) -> int:
    return int(_state_get(conn, "cursor") or 0)


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("sync cancelled; batches already acknowledged or applied are kept")


def _observe(ws: Any, conn: Connection, max_hlc: str) -> None:
    if max_hlc:
        ws.clock.observe(max_hlc)
        ws.db.meta_set(conn, "hlc_last", ws.clock.last)


def apply_records(ws: Any, conn: Connection, records: list[WireRecord]) -> codec.ApplyResult:
    """Apply records from HQ inside the caller's write transaction (parked ones retried)."""
    applier = codec.Applier(conn, ws.db.device_id)
    try:
        res = applier.apply(records)
        if res.inserted or res.updated:
            applier.retry_parked()
        _observe(ws, conn, res.max_hlc)
    finally:
        applier.close()
    return res


def keep_conflicts(conn: Connection, conflicts: list[Conflict]) -> int:
    """Keep conflicts HQ found in this laptop's pushes (each once; see codec.record_conflict).
    Returns how many were new here."""
    new = 0
    for c in conflicts:
        if c.t in codec.SA_TABLES:
            new += codec.record_conflict(conn, c.t, c.uid, c.field, c.mine, c.mine_stamp, c.value, c.stamp, c.winner)
    return new


def _push_rows(ws: Any, client: HQClient, rows: list[codec.OutRow],
               trace: Trace | None = None) -> tuple[int, int, int]:
    """Push one batch and record HQ's acknowledgement. When HQ answers "case not found"
    (the case's owner withdrew this agency's access, or HQ lost the case) the batch is
    sent again case by case and the refused cases' rows are held here, so that one lost
    case never blocks the others. Returns (acknowledged, held, conflicts)."""
    records = [r.record for r in rows]
    if trace:
        trace("push.request", {"records": records})
    try:
        answer = PushResponse.model_validate(client.request("POST", "/v1/push", body={"records": records}))
    except HQRefused as exc:
        if exc.status != 404:
            raise
        by_case: dict[str, list[codec.OutRow]] = {}
        for r in rows:
            by_case.setdefault(r.record["case"], []).append(r)
        if len(by_case) == 1:
            with ws.db.write() as conn:
                codec.hold(conn, rows, "HQ refused: no access to this case")
            return 0, len(rows), 0
        totals = [0, 0, 0]
        for part in by_case.values():
            for i, v in enumerate(_push_rows(ws, client, part, trace)):
                totals[i] += v
        return totals[0], totals[1], totals[2]
    if trace:
        trace("push.answered", {"records": records, "conflicts": [c.model_dump() for c in answer.conflicts]})
    with ws.db.write() as conn:
        codec.acknowledge(conn, rows, answer.conflicts)
        _state_set(conn, "last_push_at", clock.utcnow_iso())
    if trace:
        trace("push.recorded", {"records": len(rows)})
    return len(rows), 0, len(answer.conflicts)


def sync_now(ws: Any, progress: Progress | None = None, cancel: CancelToken | None = None, *,
             wrap: TransportWrap | None = None, batch: int = DEFAULT_BATCH,
             client: HQClient | None = None, trace: Trace | None = None) -> SyncReport:
    """Push this laptop's changes to HQ, then pull HQ's. Blocks (run it in a worker).

    ``progress(fraction, message)`` is called after each batch; ``cancel.is_set()`` is
    checked between batches (raises Cancelled); ``trace(step, info)`` hears every step
    (:data:`TRACE_STEPS`). Raises UsageError when not enrolled and NetworkError (exit
    code 6) when HQ is unreachable or refuses.
    """
    started = time.monotonic()
    enr = require_enrolment(ws)
    own = client is None
    client = client or connect(ws, wrap=wrap)
    pushed = pulled = unchanged = conflicts = parked = held = batches = 0
    try:
        # ---------------------------------------------------------------- push
        with ws.db.write() as conn:
            codec.release_held(conn)
            upto = codec.outbox_upto(conn)
            total = max(codec.pending_count(conn, upto), 1)
        pos = (0, 0)
        while True:
            _check(cancel)
            with ws.db.write() as conn:
                b, pos = codec.collect_batch(conn, limit=batch, upto=upto, fp_key=enr.fingerprint_key, after=pos)
            held += b.held
            if not b.rows:
                if b.dropped or b.held:
                    continue
                break
            done, refused, found = _push_rows(ws, client, b.rows, trace)
            pushed += done
            held += refused
            conflicts += found
            batches += 1
            if progress:
                progress(min(0.5, 0.5 * pushed / total), f"sent {pushed} of about {total} changes")
        # ---------------------------------------------------------------- pull
        with ws.db.read() as conn:
            cursor = cursor_of(conn)
        first = cursor
        while True:
            _check(cancel)
            if trace:
                trace("pull.request", {"since": cursor})
            page = read_page(client.request("GET", "/v1/changes", params={"since": cursor, "limit": batch},
                                            raw=True))
            if trace:
                trace("pull.answered", {"records": len(page.records), "next": page.next})
            with ws.db.write() as conn:
                res = apply_records(ws, conn, page.records) if page.records else codec.ApplyResult()
                res.conflicts += keep_conflicts(conn, page.conflicts)
                if page.next > cursor or page.records:
                    cursor = max(cursor, page.next)
                    _state_set(conn, "cursor", str(cursor))
                _state_set(conn, "last_pull_at", clock.utcnow_iso())
            if trace:
                trace("pull.applied", {"uids": [r.uid for r in page.records], "cursor": cursor})
            pulled += res.inserted + res.updated
            unchanged += res.unchanged
            conflicts += res.conflicts
            parked += res.parked
            batches += 1
            if progress:
                span = max(page.head - first, 1)
                progress(0.5 + 0.5 * min(1.0, (cursor - first) / span), f"received {pulled} changes")
            if not page.more:
                break
        with ws.db.read() as conn:
            parked = int(conn.exec_driver_sql("SELECT count(*) FROM sync_parked").scalar_one())
        if pushed or pulled or conflicts:  # a sync that moved nothing did nothing worth a record
            ws.audit.append_in_new_tx("sync.run", "hq", None, {
                "hq": enr.hq_url, "pushed": pushed, "pulled": pulled, "conflicts": conflicts,
                "held": held, "parked": parked, "cursor": cursor})
    finally:
        if own:
            client.close()
    if trace:
        trace("done", {"pushed": pushed, "pulled": pulled, "conflicts": conflicts})
    if progress:
        progress(1.0, "sync finished")
    return SyncReport(pushed, pulled, unchanged, conflicts, parked, held, batches, client.bytes_sent,
                      client.bytes_received, cursor, time.monotonic() - started)


# ====================================================================== bundles
@dataclass(frozen=True)
class BundleReport:
    """An exported bundle (``records`` in it) or an imported acknowledgement."""

    path: str
    bundle_id: str
    records: int
    pulled: int = 0
    conflicts: int = 0
    parked: int = 0
    held: int = 0


def export_bundle(ws: Any, out: str | os.PathLike[str], progress: Progress | None = None,
                  cancel: CancelToken | None = None) -> BundleReport:
    """Write every pending change into a bundle sealed to HQ and signed by this device.

    The changes stay pending until HQ's acknowledgement bundle is imported (importing the
    acknowledgement of an older bundle again is harmless). Raises UsageError when not
    enrolled, StorageError when ``out`` cannot be written.
    """
    enr = require_enrolment(ws)
    path = Path(out)
    records: list[dict[str, Any]] = []
    held = 0
    with ws.db.write() as conn:
        codec.release_held(conn)
        upto = codec.outbox_upto(conn)
        cursor = cursor_of(conn)
        pos = (0, 0)
        while True:
            _check(cancel)
            b, pos = codec.collect_batch(conn, limit=5000, upto=upto, fp_key=enr.fingerprint_key, after=pos)
            held += b.held
            if not b.rows and not (b.dropped or b.held):
                break
            records.extend(r.record for r in b.rows)
            if progress:
                progress(0.5, f"collected {len(records)} changes")
        payload = {"records": records, "cursor": cursor, "outbox_upto": upto}
        data, header = seal(payload, kind="push", hq_id=enr.hq_id, sender=enr.device_id, recipient="hq",
                            recipient_box_pub=enr.hq_box_pub, sender_sign_key=enr.sign_key)
        tmp = path.with_name(path.name + ".part")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"{path}: cannot write the bundle ({exc.strerror or exc})") from None
        _state_set(conn, "last_bundle_out", json.dumps({"id": header.bundle_id, "at": header.created_at,
                                                        "records": len(records), "outbox_upto": upto}))
        ws.audit.append(conn, "sync.export_bundle", "export", None, {
            "target": path.name, "sha256": hashlib.sha256(data).hexdigest(), "bundle": header.bundle_id,
            "records": len(records)})
    if progress:
        progress(1.0, "bundle written")
    return BundleReport(str(path), header.bundle_id, len(records), held=held)


def import_bundle(ws: Any, src: str | os.PathLike[str]) -> BundleReport:
    """Import HQ's acknowledgement bundle: verify HQ's signature and the addressing,
    decrypt, then in one transaction take the acknowledged changes off the outbox and
    apply what HQ sent back. Raises BundleError (tampered), WrongRecipient (another HQ or
    device), BadInput; nothing is applied unless every check passed."""
    enr = require_enrolment(ws)
    path = Path(src)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the bundle ({exc.strerror or exc})") from None
    header, payload = open_sealed(data, expect_kind="ack", expect_hq=enr.hq_id, expect_recipient=enr.device_id,
                                  sender_sign_pub=enr.hq_sign_pub, recipient_box_key=enr.box_key, source=str(path))
    try:
        ack = BundleAck.model_validate(payload)
    except ValueError as exc:
        raise BadInput(f"{path}: the acknowledgement content is not valid: {str(exc)[:300]}") from None
    with ws.db.write() as conn:
        conn.exec_driver_sql("DELETE FROM sync_outbox WHERE id <= ?", (ack.outbox_upto,))
        ids: dict[str, dict[str, int]] = {}
        for a in ack.acked:
            ids.setdefault(a.t, {})[a.uid] = 0
        for t, m in ids.items():
            table = codec.SA_TABLES[t]
            uids = list(m)
            for chunk in codec._chunks(uids):
                for uid, i in conn.execute(select(table.c.uid, table.c.id).where(table.c.uid.in_(chunk))):
                    m[uid] = i
        codec.advance_bases(conn, [(a.t, ids[a.t][a.uid], a.s) for a in ack.acked if ids[a.t].get(a.uid)])
        for a in ack.acked:
            if a.t == "case":
                _state_set(conn, f"hq_case:{a.uid}", "1")
        for c in ack.conflicts:
            if c.mine_stamp:
                codec.record_conflict(conn, c.t, c.uid, c.field, c.mine, c.mine_stamp, c.value, c.stamp, c.winner)
                continue
            table = codec.SA_TABLES[c.t]
            row = conn.execute(select(table).where(table.c.uid == c.uid)).first()
            mine = codec.wire_value_of(conn, c.t, c.field, row) if row is not None else None
            codec.record_conflict(conn, c.t, c.uid, c.field, mine, "", c.value, c.stamp, c.winner)
        res = apply_records(ws, conn, ack.records)
        _state_set(conn, "cursor", str(max(cursor_of(conn), ack.next)))
        _state_set(conn, "last_pull_at", clock.utcnow_iso())
        ws.audit.append(conn, "sync.import_bundle", "hq", None, {
            "bundle": ack.bundle_id, "acknowledged": len(ack.acked), "received": len(ack.records),
            "conflicts": len(ack.conflicts) + res.conflicts})
    return BundleReport(str(path), ack.bundle_id, len(ack.acked), res.inserted + res.updated,
                        len(ack.conflicts) + res.conflicts, res.parked)
