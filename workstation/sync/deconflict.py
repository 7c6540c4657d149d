"""Deconfliction: does another case — maybe another agency's — hold the same phone,
e-mail, account, card or media file?

Only keyed fingerprints leave the laptop (HMAC-SHA256 under the HQ-wide fingerprint key of
the identifier's normalised key, or of the media file's SHA-256 / MD5), and only for
records that may travel (nothing kept local). HQ answers with the owning unit and whom to
call — never the other case's contents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from workstation.errors import NotFound, UsageError
from workstation.store import schema as s
from workstation.sync import codec
from workstation.sync.client import TransportWrap, connect, require_enrolment
from workstation.sync.protocol import MAX_DECONFLICT_ITEMS, DeconflictResponse


@dataclass(frozen=True)
class DeconflictHit:
    """Another case holds ``what`` (an identifier or media file of this case)."""

    kind: str
    what: str
    record_table: str
    record_id: int
    ref: str
    agency: str
    agency_contact: str | None
    officer: str | None
    officer_contact: str | None
    same_agency: bool


def deconflict(ws: Any, case_id: int, *, wrap: TransportWrap | None = None) -> list[DeconflictHit]:
    """Ask HQ which other cases share this case's identifiers and media hashes.

    Raises UsageError for a case kept local (nothing about it leaves the laptop),
    NotFound for an unknown case, NetworkError when HQ is unreachable or refuses.
    """
    enr = require_enrolment(ws)
    key = enr.fingerprint_key
    with ws.db.read() as conn:
        case = conn.execute(select(s.case).where(s.case.c.id == case_id, s.case.c.deleted.is_(False))).first()
        if case is None:
            raise NotFound(f"no case with id {case_id}")
        if case.keep_local:
            raise UsageError(f"case {case.number} is kept on this laptop only; nothing about it is sent to HQ")
        items: dict[str, list[tuple[str, str, str, int]]] = {}
        for r in conn.execute(select(s.entity.c.id, s.entity.c.kind, s.entity.c.key, s.entity.c.sensitive,
                                     s.entity.c.label).where(
                s.entity.c.case_id == case_id, s.entity.c.deleted.is_(False), s.entity.c.keep_local.is_(False),
                s.entity.c.key.is_not(None))):
            fp = codec.entity_fingerprint(key, r.kind, r.key, r.sensitive)
            if fp:
                items.setdefault(fp, []).append((r.kind, r.label, "entity", r.id))
        for r in conn.execute(select(s.media.c.id, s.media.c.md5, s.media.c.sha256, s.media.c.path).where(
                s.media.c.case_id == case_id, s.media.c.deleted.is_(False), s.media.c.keep_local.is_(False))):
            for fp in codec.media_fingerprints(key, r.md5, r.sha256):
                kind = fp.split(":", 1)[0]
                shown = (r.sha256 if kind == "sha256" else r.md5) or ""
                items.setdefault(fp, []).append((kind, shown, "media", r.id))
        at_hq = conn.exec_driver_sql("SELECT 1 FROM sync_state WHERE key = ?",
                                     (f"hq_case:{case.uid}",)).first() is not None
    hits: list[DeconflictHit] = []
    fps = sorted(items)
    with connect(ws, wrap=wrap) as client:
        for i in range(0, max(len(fps), 1), MAX_DECONFLICT_ITEMS):
            chunk = fps[i:i + MAX_DECONFLICT_ITEMS]
            if not chunk:
                break
            answer = DeconflictResponse.model_validate(client.request("POST", "/v1/deconflict", body={
                "case": case.uid if at_hq else None, "items": [{"fp": f} for f in chunk]}))
            for m in answer.matches:
                for kind, what, table, rid in items.get(m.fp, []):
                    hits.append(DeconflictHit(kind, what, table, rid, m.ref, m.agency, m.agency_contact,
                                              m.officer, m.officer_contact, m.same_agency))
    ws.audit.append_in_new_tx("sync.deconflict", "case", case_id, {"identifiers": len(fps), "matches": len(hits)})
    return hits
