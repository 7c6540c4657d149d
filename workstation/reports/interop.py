"""Interoperability with other investigation tools: FollowTheMoney (Aleph, OpenAleph,
ftm tooling) entities as JSON lines, out and in, and GraphML link charts in (Gephi, yEd,
Cytoscape, networkx, and our own export).

Export (``write_ftm``): entities become the closest FtM schema — Person (name,
birthDate, and the e-mail addresses and phones the person uses), Organization, UserAccount
(online accounts; also e-mail addresses and phone numbers, which FtM has as properties
rather than things: a UserAccount with ``email`` or ``phone`` is what Aleph cross-references),
BankAccount (cards, masked — never the number), Vehicle, Address, and Asset for the
rest. Every entity carries ``keywords: cw:kind=<kind>`` so our own import restores the
kind exactly. Links become Ownership, Associate, Membership, Employment or UnknownLink
(``role`` = our link kind); transactions become Payment, messages Message, other events
Event. FtM ids are our record uids (stable across exports). Each line is validated with
the followthemoney library before it is written.

Import (``import_ftm``, ``import_graphml``): the whole file is read and checked FIRST.
Problems — unreadable lines, unknown FtM schemata, entities or edges missing ids,
references to entities that are neither in the file nor in the case ("dangling"),
hyperedges — are collected with where they are (line / node / edge and field). With any
problem and ``allow_partial=False`` nothing is imported and :class:`InteropProblems`
(a BadInput) lists them; with ``allow_partial=True`` every record without a problem is
imported and the problems are returned as skipped rows. Known but unsupported FtM
schemata (documents, notes, mentions) and values FtM itself rejects are warnings.

Provenance follows the import pipeline: one write transaction holds the ``source`` row
(file name, size, SHA-256, importer, options), every row (pointing to its source and its
line or node/edge id) and the audit entry; the same file imported twice into one case
changes nothing. XML is parsed with defusedxml (no entity expansion, no DTD).

Threading: blocking; ``progress(fraction, message)`` and ``cancel.is_set()`` as in ingest.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, insert, select

from workstation import clock
from workstation.domain.bulk import BulkWriter
from workstation.domain.models import IDENTIFIER_KINDS, LINK_KINDS
from workstation.errors import BadInput, Cancelled, UsageError
from workstation.ids import new_uid
from workstation.ingest.pipeline import ImportResult, RowProblem, file_digest
from workstation.reports.masking import entity_display
from workstation.store import schema as s
from workstation.text import json_object

if TYPE_CHECKING:
    from workstation.domain.service import Workstation

Progress = Callable[[float, str], None]
KIND_MARK = "cw:kind="
EVENT_MARK = "cw:event="
MAX_PROBLEMS_SHOWN = 20
MAX_KEPT = 1000
CANCEL_EVERY = 500


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


class InteropProblems(BadInput):
    """The file has problems and the officer did not choose to import the rest.

    ``problems`` lists them (where, field, message); ``importable`` counts the records
    that would be imported with ``allow_partial=True``. Nothing was written.
    """

    def __init__(self, path: Path, problems: Sequence[RowProblem], importable: int) -> None:
        self.path = path
        self.problems = tuple(problems)
        self.importable = importable
        shown = "; ".join(f"{p.row}" + (f" field {p.field!r}" if p.field else "") + f": {p.message}"
                          for p in self.problems[:MAX_PROBLEMS_SHOWN])
        more = f" (and {len(self.problems) - MAX_PROBLEMS_SHOWN} more)" if len(self.problems) > MAX_PROBLEMS_SHOWN else ""
        super().__init__(f"{path}: {len(self.problems)} problem(s): {shown}{more}. Nothing was imported; "
                         f"{importable} record(s) are fine — import them with --allow-partial "
                         "(the problems are then skipped and listed)")


def _model() -> Any:
    try:
        from followthemoney import model
    except ImportError as exc:  # an optional, heavy dependency (ICU): say so plainly
        raise UsageError("FollowTheMoney support is not installed on this workstation "
                         f"(pip install 'followthemoney>=4.0'): {exc}") from None
    return model


# ====================================================================== FtM export
_KIND_SCHEMA: dict[str, str] = {
    "person": "Person", "organisation": "Organization", "account": "UserAccount", "email": "UserAccount",
    "phone": "UserAccount", "card": "BankAccount", "bank_account": "BankAccount", "vehicle": "Vehicle",
    "address": "Address", "location": "Address",
}
_HOLDS = ("uses", "holder_of", "owns")


def _ftm_date(ts_us: int | None) -> str | None:
    if ts_us is None:
        return None
    return clock.from_micros(int(ts_us)).strftime("%Y-%m-%dT%H:%M:%S")


def _entity_proxy(model: Any, r: Any, props: dict[str, Any], held: Mapping[int, list[tuple[str, str]]]) -> Any:
    kind = r.kind
    schema = _KIND_SCHEMA.get(kind, "Asset")
    e = model.make_entity(schema)
    e.id = r.uid
    label = entity_display(kind, r.label, props) if kind == "card" else r.label
    e.add("keywords", f"{KIND_MARK}{kind}")
    if schema == "Person":
        e.add("name", label)
        if props.get("dob"):
            e.add("birthDate", str(props["dob"]), quiet=True)
        for what, value in held.get(r.id, ()):
            e.add(what, value, quiet=True)
    elif schema == "UserAccount":
        if kind == "email":
            addr = (r.key or "").removeprefix("email:") or r.label
            e.add("username", addr)
            e.add("email", addr, quiet=True)
            e.add("service", "email")
        elif kind == "phone":
            number = props.get("e164") or r.label
            e.add("username", str(number))
            e.add("phone", str(number), quiet=True)
            e.add("service", "phone")
        else:
            e.add("username", str(props.get("handle") or r.label))
            if props.get("platform"):
                e.add("service", str(props["platform"]))
        e.add("name", label)
    elif schema == "BankAccount":
        e.add("name", label)
        if kind == "card":
            brand = props.get("brand")
            e.add("accountType", f"payment card ({brand})" if brand else "payment card")
        else:
            e.add("accountNumber", r.label, quiet=True)
    elif schema == "Address":
        e.add("full", label)
        for ours, theirs in (("lat", "latitude"), ("lon", "longitude"), ("latitude", "latitude"),
                             ("longitude", "longitude")):
            if props.get(ours) is not None:
                e.add(theirs, str(props[ours]), quiet=True)
    else:
        e.add("name", label)
        if kind == "vehicle" and props.get("plate"):
            e.add("registrationNumber", str(props["plate"]), quiet=True)
    return e


def _holder_values(conn: Connection, case_id: int, ents: Mapping[int, Any]) -> dict[int, list[tuple[str, str]]]:
    """Person/organisation id → the ('email' | 'phone', value) they use or hold (by link)."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    q = select(s.link.c.src_id, s.link.c.dst_id, s.link.c.kind).where(
        s.link.c.case_id == case_id, s.link.c.deleted.is_(False), s.link.c.kind.in_(_HOLDS))
    for src, dst, _kind in conn.execute(q):
        a, b = ents.get(src), ents.get(dst)
        if a is None or b is None or a.kind not in ("person", "organisation"):
            continue
        if b.kind == "email":
            out[src].append(("email", (b.key or "").removeprefix("email:") or b.label))
        elif b.kind == "phone":
            out[src].append(("phone", str(json_object(b.properties).get("e164") or b.label)))
    return out


def _link_proxy(model: Any, uid: str, kind: str, conf: float, a: tuple[str, str], b: tuple[str, str]) -> Any:
    (auid, aschema), (buid, bschema) = a, b
    sa, sb = model.get(aschema), model.get(bschema)
    legal, asset = model.get("LegalEntity"), model.get("Asset")
    if kind in ("holder_of", "owns") and sa.is_a(legal) and sb.is_a(asset):
        e = model.make_entity("Ownership")
        e.add("owner", auid)
        e.add("asset", buid)
        e.add("role", kind)
    elif kind == "associate_of" and aschema == bschema == "Person":
        e = model.make_entity("Associate")
        e.add("person", auid)
        e.add("associate", buid)
        e.add("relationship", kind)
    elif kind == "member_of" and sa.is_a(legal) and bschema == "Organization":
        e = model.make_entity("Membership")
        e.add("member", auid)
        e.add("organization", buid)
        e.add("role", kind)
    elif kind == "employed_by" and aschema == "Person" and sb.is_a(model.get("Organization")):
        e = model.make_entity("Employment")
        e.add("employee", auid)
        e.add("employer", buid)
        e.add("role", kind)
    else:
        e = model.make_entity("UnknownLink")
        e.add("subject", auid)
        e.add("object", buid)
        e.add("role", kind)
    e.id = uid
    if conf < 1.0:
        e.add("summary", f"confidence: {conf:.2f}")
    return e


def _event_proxy(model: Any, r: Any, parties: Sequence[tuple[str, int]], ents: Mapping[int, Any],
                 schema_of: Mapping[int, tuple[str, str]], owner_of: Mapping[int, str]) -> Any:
    props = json_object(r.properties)
    legal = model.get("LegalEntity")
    date = _ftm_date(r.ts_utc)

    def is_(eid: int, schema: str) -> bool:
        return eid in schema_of and model.get(schema_of[eid][1]).is_a(model.get(schema))

    if r.kind == "transaction":
        e = model.make_entity("Payment")
        for role, eid in parties:
            if eid not in schema_of:
                continue
            uid = schema_of[eid][0]
            if is_(eid, "BankAccount"):
                e.add("beneficiaryAccount" if role in ("payee_account", "beneficiary_account") else "payerAccount", uid)
            elif is_(eid, "LegalEntity"):
                if role in ("merchant", "payee", "beneficiary", "recipient"):
                    e.add("beneficiary", uid)
                else:
                    e.add("payer", uid)
        if props.get("amount") not in (None, ""):
            e.add("amount", str(props["amount"]), quiet=True)
        if props.get("currency"):
            e.add("currency", str(props["currency"]), quiet=True)
        e.add("description", r.title or "transaction", quiet=True)
        if r.body:
            e.add("purpose", r.body, quiet=True)
    elif r.kind == "message":
        e = model.make_entity("Message")
        for role, eid in parties:
            if eid not in schema_of:
                continue
            uid, schema = schema_of[eid]
            sending = role in ("sender", "from", "author")
            if schema == "UserAccount":
                e.add("senderAccount" if sending else "recipientAccount", uid)
                owner = owner_of.get(eid)
                if sending and owner:
                    e.add("sender", owner)
            elif model.get(schema).is_a(legal):
                e.add("sender" if sending else "recipients", uid)
        e.add("bodyText", r.body or "", quiet=True)
        if r.title:
            e.add("title", r.title, quiet=True)
        e.add("keywords", f"{EVENT_MARK}{r.kind}")
    else:
        e = model.make_entity("Event")
        e.add("name", r.title or r.kind.replace("_", " "))
        if r.body:
            e.add("description", r.body, quiet=True)
        e.add("keywords", f"{EVENT_MARK}{r.kind}")
        if props.get("starred") is True:
            e.add("important", "true", quiet=True)
        for role, eid in parties:
            if eid not in schema_of:
                continue
            ent = ents.get(eid)
            if model.get(schema_of[eid][1]).is_a(legal):
                e.add("organizer" if role in ("organizer", "organiser") else "involved", schema_of[eid][0])
            elif ent is not None and ent.kind in ("phone", "email", "ip"):
                value = (ent.key or "").split(":", 1)[-1] or ent.label
                e.add({"phone": "phoneMentioned", "email": "emailMentioned", "ip": "ipMentioned"}[ent.kind],
                      value, quiet=True)
    e.id = r.uid
    if date:
        e.add("date", date, quiet=True)
    return e


def _line(model: Any, proxy: Any) -> str:
    data = proxy.to_dict()
    # Validation is the library's own: a line we write is a line FtM tooling accepts.
    model.get(data["schema"]).validate(data)
    return json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n"


def write_ftm(ws: Workstation, conn: Connection, case_id: int, fh: IO[bytes], *,
              tick: Callable[[int], None] | None = None) -> int:
    """Write the case (entities, links, events) as FtM JSON lines to ``fh``; returns the
    number of lines. Reads in the caller's transaction ``conn``."""
    model = _model()
    step = tick or (lambda n: None)
    E = s.entity
    rows = conn.execute(select(E.c.id, E.c.uid, E.c.kind, E.c.label, E.c.key, E.c.properties).where(
        E.c.case_id == case_id, E.c.deleted.is_(False), E.c.merged_into.is_(None)).order_by(E.c.id)).fetchall()
    ents = {r.id: r for r in rows}
    held = _holder_values(conn, case_id, ents)
    schema_of: dict[int, tuple[str, str]] = {}
    owner_of: dict[int, str] = {}
    n = 0
    for r in rows:
        proxy = _entity_proxy(model, r, json_object(r.properties), held)
        schema_of[r.id] = (r.uid, proxy.schema.name)
        fh.write(_line(model, proxy).encode("utf-8"))
        n += 1
        step(n)
    for lk in conn.execute(select(s.link.c.uid, s.link.c.src_id, s.link.c.dst_id, s.link.c.kind,
                                 s.link.c.confidence).where(
            s.link.c.case_id == case_id, s.link.c.deleted.is_(False)).order_by(s.link.c.id)):
        if lk.src_id not in schema_of or lk.dst_id not in schema_of or lk.src_id == lk.dst_id:
            continue
        if lk.kind in _HOLDS and ents[lk.src_id].kind == "person" and ents[lk.dst_id].kind == "account":
            owner_of.setdefault(lk.dst_id, schema_of[lk.src_id][0])
        proxy = _link_proxy(model, lk.uid, lk.kind, float(lk.confidence), schema_of[lk.src_id], schema_of[lk.dst_id])
        fh.write(_line(model, proxy).encode("utf-8"))
        n += 1
        step(n)
    ev = s.event
    batch: list[Any] = []

    def flush() -> int:
        count = 0
        parties: dict[int, list[tuple[str, int]]] = defaultdict(list)
        ids = [b.id for b in batch]
        for i in range(0, len(ids), 900):
            q = select(s.event_party.c.event_id, s.event_party.c.role, s.event_party.c.entity_id).where(
                s.event_party.c.event_id.in_(ids[i:i + 900])).order_by(s.event_party.c.id)
            for p in conn.execute(q):
                parties[p.event_id].append((p.role, p.entity_id))
        for b in batch:
            proxy = _event_proxy(model, b, parties.get(b.id, ()), ents, schema_of, owner_of)
            fh.write(_line(model, proxy).encode("utf-8"))
            count += 1
        batch.clear()
        return count

    q = select(ev.c.id, ev.c.uid, ev.c.kind, ev.c.ts_utc, ev.c.title, ev.c.body, ev.c.properties).where(
        ev.c.case_id == case_id, ev.c.deleted.is_(False)).order_by(ev.c.ts_utc, ev.c.id)
    for row in conn.execute(q).yield_per(2000):
        batch.append(row)
        if len(batch) >= 2000:
            n += flush()
            step(n)
    if batch:
        n += flush()
        step(n)
    return n


# ====================================================================== import: common
@dataclass
class _Plan:
    """What an import will write, resolved and checked before the transaction opens."""

    entities: list[dict[str, Any]] = field(default_factory=list)  # ref, kind, value, label, props, key_id
    links: list[dict[str, Any]] = field(default_factory=list)     # ref, src, dst, kind, confidence
    events: list[dict[str, Any]] = field(default_factory=list)    # ref, kind, when, title, body, props, parties
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return len(self.entities) + len(self.links) + len(self.events)

    def warn(self, text: str) -> None:
        if len(self.warnings) < MAX_KEPT:
            self.warnings.append(text)


def _snake(text: str) -> str:
    t = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(text).strip())
    t = re.sub(r"[^0-9a-zA-Z]+", "_", t).strip("_").lower()
    return t[:32]


def _existing(conn: Connection, case_id: int) -> tuple[dict[str, int], set[str], set[str]]:
    """uid → entity id of the case's live entities; uids of its links and events."""
    ents = {r.uid: r.id for r in conn.execute(select(s.entity.c.uid, s.entity.c.id).where(
        s.entity.c.case_id == case_id, s.entity.c.deleted.is_(False), s.entity.c.merged_into.is_(None)))}
    links = {r[0] for r in conn.execute(select(s.link.c.uid).where(s.link.c.case_id == case_id))}
    events = {r[0] for r in conn.execute(select(s.event.c.uid).where(s.event.c.case_id == case_id))}
    return ents, links, events


def _run_plan(ws: Workstation, case_id: int, path: Path, importer: str, plan: _Plan, *, allow_partial: bool,
              existing: Mapping[str, int], progress: Progress, cancel: CancelToken | None,
              size: int, digest: str) -> ImportResult:
    if plan.problems and not allow_partial:
        raise InteropProblems(path, plan.problems, plan.records)
    total = max(plan.records, 1)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if done % CANCEL_EVERY == 0:
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"import of {path.name} cancelled; nothing was saved")
            progress(0.3 + 0.65 * done / total, f"{done:,} of {total:,} records")

    with ws.db.write() as conn:
        source_id: int = conn.execute(insert(s.source).values(
            case_id=case_id, file_name=path.name, file_size=size, sha256=digest, importer=importer,
            options={"allow_partial": allow_partial}, imported_by=ws.actor, imported_at=clock.utcnow_iso(),
            uid=new_uid(), origin=ws.db.device_id, hlc=ws.clock.now())).inserted_primary_key[0]  # type: ignore[index]
        with BulkWriter(ws, conn, case_id, source_id=source_id) as w:
            ids: dict[str, int] = dict(existing)
            for ent in plan.entities:
                ids[ent["id"]] = _write_entity(ws, w, ent, plan)
                for extra_kind, value in ent.get("also", ()):
                    other = _write_entity(ws, w, {"ref": ent["ref"], "kind": extra_kind, "value": value,
                                                  "label": None, "props": {}, "id": None}, plan)
                    w.link(ids[ent["id"]], other, "uses", ref=ent["ref"])
                step()
            for lk in plan.links:
                w.link(ids[lk["src"]], ids[lk["dst"]], lk["kind"], confidence=lk["confidence"], ref=lk["ref"])
                step()
            for ev in plan.events:
                parties = []
                for ref_id, role in ev["parties"]:
                    parties.append((ids[ref_id], role))
                for kind, value, role in ev.get("values", ()):
                    parties.append((_write_entity(ws, w, {"ref": ev["ref"], "kind": kind, "value": value,
                                                          "label": None, "props": {}, "id": None}, plan), role))
                w.event(ev["kind"], ev["when"], title=ev["title"], body=ev["body"], properties=ev["props"],
                        parties=parties, ref=ev["ref"])
                step()
        created = dict(w.created)
        summary = {"events": created["events"], "entities": created["entities"], "links": created["links"],
                   "skipped": len(plan.problems),
                   "errors": [p.__dict__ for p in plan.problems[:MAX_KEPT]], "warnings": plan.warnings[:MAX_KEPT]}
        conn.execute(s.source.update().where(s.source.c.id == source_id).values(summary=summary))
        ws.audit.append(conn, "import", "source", source_id, {
            "case_id": case_id, "file": path.name, "sha256": digest, "format": importer,
            "events": created["events"], "entities": created["entities"], "links": created["links"],
            "skipped": len(plan.problems)})
    progress(1.0, f"imported {path.name}")
    return ImportResult(source_id, importer, created["events"], created["entities"], created["links"],
                        len(plan.problems), tuple(plan.problems), tuple(plan.warnings))


def _write_entity(ws: Workstation, w: BulkWriter, ent: Mapping[str, Any], plan: _Plan) -> int:
    """Normalise identifier kinds (their key is what matching joins on) and write."""
    kind = ent["kind"]
    value = str(ent.get("value") or ent.get("label") or kind).strip() or kind
    label = ent.get("label") or value
    props: dict[str, Any] = dict(ent.get("props") or {})
    key: str | None = None
    sensitive: str | None = None
    card_digits = re.sub(r"\D", "", value) if kind == "card" else ""
    if kind in IDENTIFIER_KINDS and not (kind == "card" and len(card_digits) < 12):
        try:
            shown, key, nprops, sensitive = ws.normalise(kind, value, platform=props.get("platform"))
            props = {**nprops, **props}
            label = shown if kind != "account" else (ent.get("label") or shown)
        except BadInput as exc:
            if kind == "account":
                platform = str(props.get("platform") or "unknown").lower()
                key = f"account:{platform}:{' '.join(value.split()).lower()}"
            else:
                props["unnormalised"] = True
                plan.warn(f"{ent['ref']}: {exc}")
    if kind == "card":
        digits = re.sub(r"\D", "", label)
        if not key and digits:
            props.setdefault("last4", digits[-4:])
            props["partial"] = True
        label = entity_display("card", label, props)
        if not ws.settings.keep_full_card_numbers:
            sensitive = None
    dedupe = f"import:{ent['id']}" if ent.get("id") and not key else None
    return w.entity(kind, label, key, properties=props, sensitive=sensitive, ref=ent["ref"], dedupe=dedupe)


def _prepare(ws: Workstation, case_id: int, path: str | Path) -> tuple[Path, int, str, int | None]:
    p = Path(path)
    if not p.exists():
        raise BadInput(f"{p}: no such file")
    if p.is_dir():
        raise BadInput(f"{p}: is a folder, not a file")
    ws.get_case(case_id)
    try:
        size, digest = file_digest(p)
    except OSError as exc:
        raise BadInput(f"{p}: cannot read ({exc.strerror or exc})") from None
    if size == 0:
        raise BadInput(f"{p}: the file is empty")
    with ws.db.read() as conn:
        dup = conn.execute(select(s.source.c.id).where(
            s.source.c.case_id == case_id, s.source.c.sha256 == digest, s.source.c.deleted.is_(False))).first()
    return p, size, digest, (dup[0] if dup else None)


# ====================================================================== FtM import
_SCHEMA_KIND: dict[str, str] = {
    "Person": "person", "Organization": "organisation", "Company": "organisation", "PublicBody": "organisation",
    "LegalEntity": "organisation", "UserAccount": "account", "BankAccount": "bank_account",
    "Vehicle": "vehicle", "Vessel": "vehicle", "Airplane": "vehicle", "Address": "address",
    "RealEstate": "address", "CryptoWallet": "crypto_wallet", "Asset": "asset", "Security": "asset",
    "Territory": "location", "Position": "position", "Project": "project", "CourtCase": "court_case",
    "Contract": "contract", "License": "license", "Trip": "trip", "CallForTenders": "tender",
    "Package": "asset", "Risk": "risk",
}
_EDGE_KIND: dict[str, str] = {
    "Ownership": "owns", "Associate": "associate_of", "Membership": "member_of", "Employment": "employed_by",
    "Family": "related_to", "UnknownLink": "related_to", "Directorship": "member_of", "Control": "related_to",
    "Representation": "related_to", "Succession": "related_to", "Debt": "paid", "Occupancy": "related_to",
    "Documentation": "mentions", "CourtCaseParty": "related_to", "ProjectParticipant": "member_of",
    "ContractAward": "related_to",
}
_EVENT_SCHEMATA = ("Payment", "Message", "Email", "Call", "Event")
_SKIPPED_SCHEMATA_NOTE = "documents, notes, mentions and values are not case records"


def _marker(proxy: Any, prefix: str) -> str | None:
    for kw in proxy.get("keywords", quiet=True):
        if kw.startswith(prefix):
            value = _snake(kw[len(prefix):])
            if value:
                return value
    return None


def _ftm_kind(proxy: Any) -> str:
    marked = _marker(proxy, KIND_MARK)
    if marked:
        return marked
    name = proxy.schema.name
    if name == "UserAccount":
        service = (proxy.first("service", quiet=True) or "").lower()
        if proxy.get("email", quiet=True) and service in ("", "email", "e-mail", "mail"):
            return "email"
        if proxy.get("phone", quiet=True) and service in ("", "phone", "telephone", "mobile"):
            return "phone"
        return "account"
    if name == "BankAccount":
        kind = " ".join(proxy.get("accountType", quiet=True)).lower()
        return "card" if "card" in kind else "bank_account"
    return _SCHEMA_KIND.get(name) or _snake(name) or "other"


def _ftm_entity(proxy: Any, ref: str) -> dict[str, Any]:
    kind = _ftm_kind(proxy)
    label = proxy.caption or proxy.id
    value = label
    props: dict[str, Any] = {}
    also: list[tuple[str, str]] = []
    if kind == "email":
        value = proxy.first("email", quiet=True) or proxy.first("username", quiet=True) or label
        label = None
    elif kind == "phone":
        value = proxy.first("phone", quiet=True) or proxy.first("username", quiet=True) or label
        label = None
    elif kind == "account":
        value = proxy.first("username", quiet=True) or label
        service = proxy.first("service", quiet=True)
        if service:
            props["platform"] = service.lower()
        name = proxy.first("name", quiet=True)
        label = name if name and name != value else None
    elif kind == "card":
        value = label
    elif kind == "person":
        dob = proxy.first("birthDate", quiet=True)
        if dob:
            props["dob"] = dob
    if kind in ("person", "organisation"):
        also += [("email", v) for v in proxy.get("email", quiet=True)]
        also += [("phone", v) for v in proxy.get("phone", quiet=True)]
    extra: dict[str, Any] = {}
    for prop, values in proxy.properties.items():
        if prop in ("name", "keywords", "birthDate", "username", "service", "email", "phone") or not values:
            continue
        if proxy.schema.properties[prop].type.name == "entity":
            continue
        extra[prop] = values if len(values) > 1 else values[0]
    if extra:
        props["ftm"] = extra
    props["ftm_schema"] = proxy.schema.name
    return {"id": proxy.id, "ref": ref, "kind": kind, "value": value, "label": label, "props": props, "also": also}


def _parse_ftm_date(text: str | None) -> tuple[datetime | None, str | None]:
    """An FtM date (a prefix of ISO 8601, UTC when no offset) → (aware datetime, precision)."""
    if not text:
        return None, None
    t = text.strip().replace(" ", "T")
    precision = {4: "year", 7: "month", 10: "day", 13: "hour", 16: "minute"}.get(len(t))
    padded = t
    if len(t) == 4:
        padded = t + "-01-01"
    elif len(t) == 7:
        padded = t + "-01"
    elif len(t) == 13:
        padded = t + ":00"
    try:
        dt = datetime.fromisoformat(padded.replace("Z", "+00:00"))
    except ValueError:
        return None, None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt, precision


def _iter_ftm(path: Path, plan: _Plan) -> Iterator[tuple[str, dict[str, Any]]]:
    """(ref, raw dict) for each entity in a JSON-lines file or a JSON array file; nested
    entity objects (Aleph API style) are yielded too and replaced by their id."""
    with path.open("rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise BadInput(f"{path}: not a JSON document ({exc})") from None
        items: Iterable[tuple[str, Any]] = ((f"item {i}", d) for i, d in enumerate(data, 1))
    else:
        def lines() -> Iterator[tuple[str, Any]]:
            with path.open("r", encoding="utf-8-sig", errors="strict") as fh:
                n = 0
                while True:
                    try:
                        line = fh.readline()
                    except UnicodeDecodeError as exc:
                        raise BadInput(f"{path}: line {n + 1}: not UTF-8 text ({exc.reason})") from None
                    if not line:
                        break
                    n += 1
                    if not line.strip():
                        continue
                    try:
                        yield f"line {n}", json.loads(line)
                    except (ValueError, RecursionError) as exc:
                        why = getattr(exc, "msg", None) or "nested too deeply"
                        plan.problems.append(RowProblem(f"line {n}", None, f"not a JSON object ({why})"))
        items = lines()
    for ref, raw in items:
        if not isinstance(raw, dict):
            plan.problems.append(RowProblem(ref, None, "not a JSON object"))
            continue
        yield from _flatten(ref, raw)


def _flatten(ref: str, raw: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    props = raw.get("properties")
    if isinstance(props, dict):
        flat: dict[str, Any] = {}
        for k, values in props.items():
            vals = values if isinstance(values, list) else [values]
            out = []
            for v in vals:
                if isinstance(v, dict) and "schema" in v:
                    yield from _flatten(ref, v)
                    out.append(v.get("id"))
                else:
                    out.append(v)
            flat[k] = out
        raw = {**raw, "properties": flat}
    yield ref, raw


def plan_ftm(ws: Workstation, path: Path, existing: Mapping[str, int], existing_links: set[str],
             existing_events: set[str]) -> _Plan:
    """Read and check an FtM file completely (no writes)."""
    model = _model()
    plan = _Plan()
    proxies: list[tuple[str, Any]] = []
    seen: dict[str, str] = {}
    for ref, raw in _iter_ftm(path, plan):
        schema_name = raw.get("schema")
        if not isinstance(schema_name, str) or not schema_name:
            plan.problems.append(RowProblem(ref, "schema", "no schema given"))
            continue
        schema = model.get(schema_name)
        if schema is None:
            plan.problems.append(RowProblem(ref, "schema", f"unknown FollowTheMoney schema {schema_name!r}"))
            continue
        eid = raw.get("id")
        if not isinstance(eid, str) or not eid.strip():
            plan.problems.append(RowProblem(ref, "id", f"{schema_name} without an id"))
            continue
        given_props = raw.get("properties")
        raw_props: dict[str, Any] = given_props if isinstance(given_props, dict) else {}
        unknown = [k for k in raw_props if k not in schema.properties]
        if unknown:
            plan.warn(f"{ref}: {schema_name} has no propert{'y' if len(unknown) == 1 else 'ies'} "
                      f"{', '.join(map(repr, unknown))} (ignored)")
        try:
            proxy = model.get_proxy({"id": eid, "schema": schema_name,
                                     "properties": {k: [str(v) for v in vs if v is not None] if isinstance(vs, list) else [str(vs)]
                                                    for k, vs in raw_props.items() if k in schema.properties}},
                                    cleaned=False)
        except Exception as exc:  # noqa: BLE001 - the library's own validation errors
            plan.problems.append(RowProblem(ref, None, f"{schema_name} {eid}: {exc}"))
            continue
        kept = sum(len(v) for v in proxy.properties.values())
        given = sum(len(v) if isinstance(v, list) else 1 for k, v in raw_props.items() if k in schema.properties)
        if kept < given:
            plan.warn(f"{ref}: {given - kept} value(s) of {schema_name} {eid} are not valid for their "
                      "property type and were dropped")
        if eid in seen:
            plan.warn(f"{ref}: {schema_name} {eid} appears again (first at {seen[eid]}); merged")
        seen.setdefault(eid, ref)
        proxies.append((ref, proxy))
    # Merge repeated ids (FtM fragments) into one proxy each.
    merged: dict[str, tuple[str, Any]] = {}
    for ref, proxy in proxies:
        if proxy.id in merged:
            try:
                merged[proxy.id][1].merge(proxy)
            except Exception as exc:  # noqa: BLE001 - incompatible schemata of one id
                plan.problems.append(RowProblem(ref, "schema", f"{proxy.id}: cannot merge with the earlier "
                                                               f"fragment ({exc})"))
        else:
            merged[proxy.id] = (ref, proxy)
    thing = model.get("Thing")
    entity_ids = {pid for pid, (_r, p) in merged.items() if p.schema.is_a(thing) and p.schema.name not in _EVENT_SCHEMATA
                  and not _is_document(model, p.schema)}
    known = set(entity_ids) | set(existing)

    def ref_ok(ref: str, prop: str, target: str | None) -> bool:
        if target and target in known:
            return True
        plan.problems.append(RowProblem(ref, prop, f"refers to entity {target!r}, which is neither in the file "
                                                   "nor in the case"))
        return False

    for pid, (ref, proxy) in merged.items():
        schema = proxy.schema
        if pid in entity_ids:
            if pid in existing:
                continue  # the case already holds this very record (an earlier export of ours)
            plan.entities.append(_ftm_entity(proxy, ref))
        elif schema.edge and schema.name != "Payment":
            if pid in existing_links:
                continue
            srcs = proxy.get(schema.edge_source, quiet=True)
            dsts = proxy.get(schema.edge_target, quiet=True)
            if not srcs or not dsts:
                missing = schema.edge_source if not srcs else schema.edge_target
                plan.problems.append(RowProblem(ref, missing, f"{schema.name} {pid} has no {missing}"))
                continue
            if not all(ref_ok(ref, schema.edge_source, x) for x in srcs) or \
                    not all(ref_ok(ref, schema.edge_target, x) for x in dsts):
                continue
            role = proxy.first("role", quiet=True) or proxy.first("relationship", quiet=True)
            kind = _snake(role) if role and _snake(role) else _EDGE_KIND.get(schema.name, _snake(schema.name))
            if role and _snake(role) not in LINK_KINDS and schema.name in _EDGE_KIND:
                kind = _snake(role) or _EDGE_KIND[schema.name]
            conf = 1.0
            m = re.search(r"confidence:\s*([01](?:\.\d+)?)", " ".join(proxy.get("summary", quiet=True)))
            if m:
                conf = min(1.0, max(0.0, float(m.group(1))))
            for a in srcs:
                for b in dsts:
                    if a != b:
                        plan.links.append({"ref": ref, "src": a, "dst": b, "kind": kind, "confidence": conf})
        elif schema.name in _EVENT_SCHEMATA:
            if pid in existing_events:
                continue
            ev = _ftm_event(proxy, ref, ref_ok)
            if ev is not None:
                plan.events.append(ev)
        else:
            plan.warn(f"{ref}: {schema.name} {pid} not imported ({_SKIPPED_SCHEMATA_NOTE})")
    return plan


def _is_document(model: Any, schema: Any) -> bool:
    doc = model.get("Document")
    return bool(doc is not None and schema.is_a(doc))


def _ftm_event(proxy: Any, ref: str, ref_ok: Callable[[str, str, str | None], bool]) -> dict[str, Any] | None:
    name = proxy.schema.name
    roles: tuple[tuple[str, str], ...] = {
        "Payment": (("payer", "payer"), ("beneficiary", "payee"), ("payerAccount", "payment_card"),
                    ("beneficiaryAccount", "payee_account")),
        "Message": (("sender", "sender"), ("senderAccount", "sender"), ("recipients", "recipient"),
                    ("recipientAccount", "recipient")),
        "Email": (("emitters", "sender"), ("recipients", "recipient")),
        "Call": (("caller", "caller"), ("receiver", "receiver")),
        "Event": (("involved", "participant"), ("organizer", "organizer")),
    }[name]
    parties: list[tuple[str, str]] = []
    for prop, role in roles:
        for target in proxy.get(prop, quiet=True):
            if not ref_ok(ref, prop, target):
                return None
            parties.append((target, role))
    values: list[tuple[str, str, str]] = []
    if name == "Call":
        values += [("phone", v, "caller") for v in proxy.get("callerNumber", quiet=True)]
        values += [("phone", v, "receiver") for v in proxy.get("receiverNumber", quiet=True)]
    if name in ("Event", "Message", "Email"):
        for prop, kind in (("phoneMentioned", "phone"), ("emailMentioned", "email"), ("ipMentioned", "ip")):
            values += [(kind, v, "mentioned") for v in proxy.get(prop, quiet=True)]
    date_text = (proxy.first("date", quiet=True) or proxy.first("startDate", quiet=True)
                 or proxy.first("authoredAt", quiet=True))
    when, precision = _parse_ftm_date(date_text)
    props: dict[str, Any] = {"ftm_schema": name}
    if precision:
        props["time_precision"] = precision
    if name == "Payment":
        kind = "transaction"
        title = proxy.first("description", quiet=True) or proxy.first("summary", quiet=True) or "payment"
        body = proxy.first("purpose", quiet=True)
        amount = proxy.first("amount", quiet=True)
        if amount:
            props["amount"] = amount
        if proxy.first("currency", quiet=True):
            props["currency"] = proxy.first("currency", quiet=True).upper()
    elif name in ("Message", "Email"):
        kind = "message"
        title = proxy.first("subject", quiet=True) or proxy.first("title", quiet=True) or "message"
        body = proxy.first("bodyText", quiet=True)
    elif name == "Call":
        kind = "call"
        title = "call"
        body = None
        if proxy.first("duration", quiet=True):
            props["duration_s"] = proxy.first("duration", quiet=True)
    else:
        kind = _marker(proxy, EVENT_MARK) or "other"
        title = proxy.first("name", quiet=True) or kind
        body = proxy.first("description", quiet=True) or proxy.first("summary", quiet=True)
        if (proxy.first("important", quiet=True) or "").lower() == "true":
            props["starred"] = True
    return {"ref": ref, "kind": kind, "when": when, "title": title, "body": body, "props": props,
            "parties": parties, "values": values}


def import_ftm(ws: Workstation, case_id: int, path: str | Path, *, allow_partial: bool = False,
               progress: Progress | None = None, cancel: CancelToken | None = None) -> ImportResult:
    """Import FollowTheMoney entities (JSON lines, or a JSON array) into case ``case_id``.

    See the module docstring. Raises InteropProblems (BadInput) when the file has problems
    and ``allow_partial`` is False, BadInput for an unreadable file, Cancelled; nothing
    is written in any of those cases.
    """
    report = progress or (lambda f, m: None)
    p, size, digest, dup = _prepare(ws, case_id, path)
    if dup is not None:
        return ImportResult(None, "ftm", 0, 0, 0, 0, (), ("this file was already imported into the case",),
                            duplicate_of=dup)
    report(0.05, f"checking {p.name}")
    with ws.db.read() as conn:
        existing, links, events = _existing(conn, case_id)
    plan = plan_ftm(ws, p, existing, links, events)
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"import of {p.name} cancelled; nothing was saved")
    return _run_plan(ws, case_id, p, "ftm", plan, allow_partial=allow_partial, existing=existing,
                     progress=report, cancel=cancel, size=size, digest=digest)


# ====================================================================== GraphML import
_LABEL_ATTRS = ("label", "name", "title", "caption", "shared name", "display name", "displayname", "text")
_KIND_ATTRS = ("kind", "type", "entity_type", "entity type", "entitytype", "category", "class", "node type",
               "icon", "group")
_EDGE_KIND_ATTRS = ("kind", "type", "relationship", "relation", "interaction", "label", "edge label", "link type",
                    "edge type", "role")
_GRAPH_META = {"x", "y", "z", "size", "r", "g", "b", "color", "colour", "uid", "case", "case_id", "link_id",
               "origin", "weight", "confidence", "key", "id", "shared interaction", "selected"}
_KIND_SYNONYMS: dict[str, str] = {
    "organization": "organisation", "org": "organisation", "company": "organisation",
    "organisation": "organisation", "business": "organisation", "merchant": "organisation",
    "telephone": "phone", "mobile": "phone", "mobile_phone": "phone", "cell": "phone", "phone_number": "phone",
    "e_mail": "email", "mail": "email", "email_address": "email",
    "ip_address": "ip", "ipaddress": "ip", "ipv4": "ip", "ipv6": "ip",
    "credit_card": "card", "payment_card": "card", "debit_card": "card",
    "user": "account", "username": "account", "screen_name": "account", "online_account": "account",
    "internet_user": "account", "user_account": "account", "handle": "account",
    "website": "url", "web_page": "url", "webpage": "url", "link": "url",
    "computer": "device", "mobile_device": "device", "handset": "device",
    "people": "person", "individual": "person", "suspect": "person", "victim": "person",
    "car": "vehicle", "bank_account": "bank_account", "account_number": "bank_account",
    "place": "location", "domain_name": "domain",
}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if "}" in tag else tag


def _typed(value: str, kind: str) -> Any:
    v = value.strip()
    try:
        if kind in ("int", "long"):
            return int(v)
        if kind in ("float", "double"):
            return float(v)
        if kind == "boolean":
            return v.lower() in ("true", "1", "yes")
    except ValueError:
        return value
    return value


def _kind_word(value: Any) -> str:
    word = _snake(str(value))
    if not word:
        return ""
    if word in _KIND_SYNONYMS:
        return _KIND_SYNONYMS[word]
    from workstation.domain.models import ENTITY_KINDS

    if word in ENTITY_KINDS:
        return word
    if word.endswith("s") and word[:-1] in ENTITY_KINDS:
        return word[:-1]
    return word


def _graphml_label(elem: Any) -> str | None:
    """yEd/yFiles graphics: the text of the first NodeLabel / EdgeLabel inside."""
    for sub in elem.iter():
        if _local(sub.tag) in ("NodeLabel", "EdgeLabel") and (sub.text or "").strip():
            return (sub.text or "").strip()
    return None


def plan_graphml(ws: Workstation, path: Path) -> _Plan:
    """Read and check a GraphML file completely (no writes)."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError as XmlParseError
    from defusedxml.ElementTree import parse as xml_parse

    plan = _Plan()
    try:
        tree = xml_parse(str(path), forbid_dtd=True)
    except DefusedXmlException as exc:
        raise BadInput(f"{path}: refused: the XML uses {type(exc).__name__} features "
                       "(DTDs and entities are not allowed in GraphML we read)") from None
    except XmlParseError as exc:
        raise BadInput(f"{path}: not well-formed XML ({exc})") from None
    root = tree.getroot()
    if _local(root.tag) != "graphml":
        raise BadInput(f"{path}: not a GraphML file (root element <{_local(root.tag)}>)")
    keys: dict[str, tuple[str, str, str, Any]] = {}  # id → (name, type, for, default)
    for k in root:
        if _local(k.tag) != "key":
            continue
        kid = k.get("id") or ""
        name = k.get("attr.name") or k.get("yfiles.type") or kid
        ktype = (k.get("attr.type") or "string").lower()
        default = None
        for d in k:
            if _local(d.tag) == "default":
                default = _typed(d.text or "", ktype)
        keys[kid] = (name, ktype, (k.get("for") or "all").lower(), default)
        if k.get("yfiles.type"):
            keys[kid] = (f"yfiles:{k.get('yfiles.type')}", "xml", (k.get("for") or "all").lower(), None)
    graphs = [g for g in root.iter() if _local(g.tag) == "graph"]
    if not graphs:
        raise BadInput(f"{path}: the GraphML file holds no <graph>")

    def data_of(elem: Any, target: str) -> dict[str, Any]:
        out = {name: default for kid, (name, _t, scope, default) in keys.items()
               if default is not None and scope in (target, "all")}
        for d in elem:
            if _local(d.tag) != "data":
                continue
            kid = d.get("key") or ""
            name, ktype, _scope, _default = keys.get(kid, (kid, "string", "all", None))
            if ktype == "xml" or name.startswith("yfiles:"):
                label = _graphml_label(d)
                if label:
                    out.setdefault("_graphics_label", label)
                continue
            out[name] = _typed(d.text or "", ktype)
        return out

    def pick(data: Mapping[str, Any], names: Sequence[str]) -> Any:
        low = {k.lower(): v for k, v in data.items()}
        for n in names:
            v = low.get(n)
            if v not in (None, ""):
                return v
        return None

    nodes: dict[str, dict[str, Any]] = {}
    for g in graphs:
        for n in g:
            tag = _local(n.tag)
            if tag == "node":
                nid = n.get("id")
                ref = f"node {nid}"
                if not nid:
                    plan.problems.append(RowProblem("node (no id)", "id", "a node without an id"))
                    continue
                if nid in nodes:
                    plan.problems.append(RowProblem(ref, "id", "the same node id appears twice"))
                    continue
                data = data_of(n, "node")
                label = pick(data, _LABEL_ATTRS) or data.get("_graphics_label") or nid
                kind = _kind_word(pick(data, _KIND_ATTRS) or "") or "other"
                if not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
                    kind = "other"
                props = {k: v for k, v in data.items()
                         if not k.startswith("_") and k.lower() not in _GRAPH_META
                         and k.lower() not in _LABEL_ATTRS and k.lower() not in _KIND_ATTRS}
                key = data.get("key") or ""
                entry = {"id": f"graphml:{nid}", "ref": ref, "kind": kind, "value": str(label),
                         "label": str(label) if kind not in IDENTIFIER_KINDS or kind == "account" else None,
                         "props": props}
                if kind == "account" and "platform" not in props and isinstance(key, str) and key.count(":") >= 2:
                    entry["props"] = {**props, "platform": key.split(":")[1]}
                nodes[nid] = entry
            elif tag == "hyperedge":
                plan.problems.append(RowProblem(f"hyperedge {n.get('id') or ''}".strip(), None,
                                                "hyperedges (one edge joining many nodes) are not supported"))
    plan.entities.extend(nodes.values())
    count = 0
    for g in graphs:
        # Undirected edges are kept as written, from source to target (a link has a direction).
        for e in g:
            if _local(e.tag) != "edge":
                continue
            count += 1
            eid = e.get("id") or f"#{count}"
            ref = f"edge {eid}"
            src, dst = e.get("source"), e.get("target")
            bad = False
            for prop, target in (("source", src), ("target", dst)):
                if not target or target not in nodes:
                    plan.problems.append(RowProblem(ref, prop, f"refers to node {target!r}, which is not in the file"))
                    bad = True
            if bad:
                continue
            if src == dst:
                plan.warn(f"{ref}: a link from node {src} to itself is not kept")
                continue
            data = data_of(e, "edge")
            kind = _snake(str(pick(data, _EDGE_KIND_ATTRS) or data.get("_graphics_label") or "")) or "related_to"
            conf = pick(data, ("confidence",))
            if conf is None:
                w = pick(data, ("weight",))
                conf = w if isinstance(w, (int, float)) and 0 <= w <= 1 else 1.0
            try:
                conf = min(1.0, max(0.0, float(conf)))
            except (TypeError, ValueError):
                conf = 1.0
            plan.links.append({"ref": ref, "src": f"graphml:{src}", "dst": f"graphml:{dst}", "kind": kind,
                               "confidence": conf})
    return plan


def import_graphml(ws: Workstation, case_id: int, path: str | Path, *, allow_partial: bool = False,
                   progress: Progress | None = None, cancel: CancelToken | None = None) -> ImportResult:
    """Import a GraphML graph (nodes → entities, edges → links) into case ``case_id``.

    Node kind and label come from the usual attribute names of Gephi, yEd, Cytoscape,
    networkx and our own export (kind/type/category, label/name/NodeLabel); identifier
    kinds are normalised so they match other cases. Same error contract as
    :func:`import_ftm`.
    """
    report = progress or (lambda f, m: None)
    p, size, digest, dup = _prepare(ws, case_id, path)
    if dup is not None:
        return ImportResult(None, "graphml", 0, 0, 0, 0, (), ("this file was already imported into the case",),
                            duplicate_of=dup)
    report(0.05, f"checking {p.name}")
    plan = plan_graphml(ws, p)
    # Dangling edges make their nodes no less importable; a partial import keeps them.
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"import of {p.name} cancelled; nothing was saved")
    return _run_plan(ws, case_id, p, "graphml", plan, allow_partial=allow_partial, existing={},
                     progress=report, cancel=cancel, size=size, digest=digest)


__all__ = ["write_ftm", "import_ftm", "import_graphml", "plan_ftm", "plan_graphml", "InteropProblems"]
