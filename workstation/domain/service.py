"""The service API: the only door the UI, the CLI and the HQ tooling use into a case database.

Everything here takes and returns plain values (ids, strings, frozen dataclasses from
``domain.models``). Every mutation runs in one write transaction, writes one audit entry
in that same transaction, stamps the syncable row (uid, origin, hybrid-logical clock) and
returns a :class:`Changes` value saying what changed.

Thread-safety: a Workstation may be shared between threads (the database serialises
writers). Calls block on I/O; the UI runs them in workers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update
from sqlalchemy import text as sql_text

from workstation import clock
from workstation.audit.trail import AuditTrail
from workstation.domain.models import (
    CASE_STATUSES,
    ENTITY_KINDS,
    IDENTIFIER_KINDS,
    SHARING_CHOICES,
    CaseInfo,
    Changes,
    EntityInfo,
    EventInfo,
    LinkInfo,
    MergeInfo,
    NoteInfo,
    PartyInfo,
    SourceInfo,
)
from workstation.errors import BadInput, NotFound, UsageError
from workstation.ids import new_uid
from workstation.settings import Settings
from workstation.store import schema as s
from workstation.store.database import Database
from workstation.sync.hlc import HybridClock

CASE_FIELDS = ("title", "status", "agency", "lead_officer", "summary", "sharing", "shared_with",
               "timezone", "keep_local", "closed_at", "category_scheme")
ENTITY_FIELDS = ("label", "properties", "keep_local")
EVENT_FIELDS = ("title", "body", "properties", "kind", "keep_local")


def _json_obj(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        return json.loads(value)
    return dict(value)


class Workstation:
    """Service facade over one unlocked database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.audit = AuditTrail(db)
        with db.read() as conn:
            last = db.meta_get(conn, "hlc_last")
            fp = db.meta_get(conn, "fingerprint_key")
            raw_settings = db.meta_get(conn, "settings")
        self.clock = HybridClock(db.device_id or "local", last)
        self._fingerprint_key = bytes.fromhex(fp) if fp else b""
        self.settings = Settings.from_json(raw_settings)

    # ------------------------------------------------------------------ helpers
    @property
    def actor(self) -> str:
        return self.db.actor

    def _stamp(self) -> dict[str, Any]:
        return {"uid": new_uid(), "origin": self.db.device_id, "hlc": self.clock.now()}

    def _touch(self, conn: Connection) -> str:
        stamp = self.clock.now()
        self.db.meta_set(conn, "hlc_last", stamp)
        return stamp

    def _require(self, conn: Connection, table: Any, row_id: int, what: str) -> Any:
        row = conn.execute(select(table).where(table.c.id == row_id)).first()
        if row is None or getattr(row, "deleted", False):
            raise NotFound(f"no {what} with id {row_id}")
        return row

    # ------------------------------------------------------------------ settings
    def save_settings(self, settings: Settings) -> Changes:
        settings = settings.validated()
        with self.db.write() as conn:
            self.db.meta_set(conn, "settings", settings.to_json())
            self.audit.append(conn, "settings.update", "settings", None, settings.to_dict())
        self.settings = settings
        return Changes("settings", "updated", ())

    # ------------------------------------------------------------------ cases
    def create_case(self, number: str, title: str, *, agency: str | None = None,
                    lead_officer: str | None = None, summary: str | None = None,
                    sharing: str = "local", shared_with: Sequence[str] = (),
                    timezone: str | None = None, opened_at: datetime | None = None) -> Changes:
        number = (number or "").strip()
        title = (title or "").strip()
        if not number:
            raise UsageError("a case needs a number")
        if not title:
            raise UsageError("a case needs a title")
        if sharing not in SHARING_CHOICES:
            raise UsageError(f"sharing must be one of {', '.join(SHARING_CHOICES)}")
        now = clock.utcnow_iso()
        with self.db.write() as conn:
            exists = conn.execute(select(s.case.c.id).where(s.case.c.number == number)).first()
            if exists:
                raise UsageError(f"case number {number!r} already exists")
            case_id = conn.execute(insert(s.case).values(
                number=number, title=title, status="open", agency=agency, lead_officer=lead_officer,
                opened_at=clock.iso(opened_at) if opened_at else now, summary=summary,
                sharing=sharing, shared_with=list(shared_with), timezone=timezone,
                created_at=now, updated_at=now, **self._stamp())).inserted_primary_key[0]
            self.audit.append(conn, "case.create", "case", case_id, {"number": number, "title": title})
            self._touch(conn)
        return Changes("case", "created", (case_id,), case_id)

    def update_case(self, case_id: int, **fields: Any) -> Changes:
        unknown = set(fields) - set(CASE_FIELDS)
        if unknown:
            raise UsageError(f"cannot change case field(s): {', '.join(sorted(unknown))}")
        if "status" in fields and fields["status"] not in CASE_STATUSES:
            raise UsageError(f"status must be one of {', '.join(CASE_STATUSES)}")
        if "sharing" in fields and fields["sharing"] not in SHARING_CHOICES:
            raise UsageError(f"sharing must be one of {', '.join(SHARING_CHOICES)}")
        if "title" in fields and not str(fields["title"] or "").strip():
            raise UsageError("a case needs a title")
        values = dict(fields)
        if "shared_with" in values:
            values["shared_with"] = list(values["shared_with"])
        if values.get("status") == "closed" and "closed_at" not in values:
            values["closed_at"] = clock.utcnow_iso()
        with self.db.write() as conn:
            before = self._require(conn, s.case, case_id, "case")
            values.update(updated_at=clock.utcnow_iso(), hlc=self._touch(conn))
            conn.execute(update(s.case).where(s.case.c.id == case_id).values(**values))
            self.audit.append(conn, "case.update", "case", case_id, {
                k: {"from": getattr(before, k), "to": fields[k]} for k in fields})
        return Changes("case", "updated", (case_id,), case_id)

    def delete_case(self, case_id: int) -> Changes:
        with self.db.write() as conn:
            self._require(conn, s.case, case_id, "case")
            hlc = self._touch(conn)
            conn.execute(update(s.case).where(s.case.c.id == case_id).values(deleted=True, hlc=hlc))
            self.audit.append(conn, "case.delete", "case", case_id, {})
        return Changes("case", "deleted", (case_id,), case_id)

    def _case_info(self, r: Any, counts: tuple[int, int] = (0, 0)) -> CaseInfo:
        shared = r.shared_with if isinstance(r.shared_with, list) else json.loads(r.shared_with or "[]")
        return CaseInfo(r.id, r.uid, r.number, r.title, r.status, r.agency, r.lead_officer,
                        r.opened_at, r.closed_at, r.summary, r.sharing, tuple(shared), r.timezone,
                        bool(r.keep_local), counts[0], counts[1])

    def list_cases(self, *, include_closed: bool = True, with_counts: bool = True) -> list[CaseInfo]:
        with self.db.read() as conn:
            q = select(s.case).where(s.case.c.deleted.is_(False)).order_by(s.case.c.number)
            if not include_closed:
                q = q.where(s.case.c.status != "closed")
            rows = conn.execute(q).fetchall()
            counts: dict[int, tuple[int, int]] = {}
            if with_counts and rows:
                ent = dict(conn.execute(
                    select(s.entity.c.case_id, func.count()).where(
                        s.entity.c.deleted.is_(False), s.entity.c.merged_into.is_(None))
                    .group_by(s.entity.c.case_id)).fetchall())
                evt = dict(conn.execute(
                    select(s.event.c.case_id, func.count()).where(s.event.c.deleted.is_(False))
                    .group_by(s.event.c.case_id)).fetchall())
                counts = {r.id: (ent.get(r.id, 0), evt.get(r.id, 0)) for r in rows}
            return [self._case_info(r, counts.get(r.id, (0, 0))) for r in rows]

    def get_case(self, case_id: int) -> CaseInfo:
        with self.db.read() as conn:
            return self._case_info(self._require(conn, s.case, case_id, "case"))

    def find_case(self, ref: str | int) -> CaseInfo:
        """A case by number, or by id when ``ref`` is all digits and no number matches."""
        with self.db.read() as conn:
            row = conn.execute(select(s.case).where(
                s.case.c.number == str(ref), s.case.c.deleted.is_(False))).first()
            if row is None and str(ref).isdigit():
                row = conn.execute(select(s.case).where(
                    s.case.c.id == int(ref), s.case.c.deleted.is_(False))).first()
            if row is None:
                raise NotFound(f"no case {ref!r}")
            return self._case_info(row)

    # ------------------------------------------------------------------ entities
    def normalise(self, kind: str, value: str, *, platform: str | None = None,
                  region: str | None = None) -> tuple[str, str | None, dict[str, Any], str | None]:
        """(label, key, properties, sensitive) for an entity of ``kind`` written as ``value``.

        Identifier kinds get their normalised key; a value that is not a valid identifier
        raises BadInput naming it. ``region``: the country of phone numbers written without
        one (default: the settings' phone region).
        """
        from workstation.analysis.identifiers import IdentifierError, normalize

        value = (value or "").strip()
        if not value:
            raise BadInput(f"an empty {kind} value")
        if kind not in IDENTIFIER_KINDS:
            return value, None, {}, None
        try:
            ident = normalize(kind, value, region=region or self.settings.phone_region,
                              card_key=self._fingerprint_key, platform=platform)
        except IdentifierError as exc:
            raise BadInput(f"{kind} {value!r}: {exc}") from None
        return ident.display, ident.key, dict(ident.properties), ident.sensitive

    def add_entity(self, case_id: int, kind: str, value: str, *, label: str | None = None,
                   properties: Mapping[str, Any] | None = None, platform: str | None = None,
                   source_id: int | None = None, source_ref: str | None = None,
                   reuse: bool = True) -> Changes:
        """Create an entity. For identifier kinds the value is normalised; when the case
        already holds an entity with the same key and ``reuse`` is set, that entity's id is
        returned with op ``"existing"`` instead of creating a duplicate."""
        kind = (kind or "").strip().lower()
        if not kind or not kind.replace("_", "").isalnum():
            raise UsageError(f"invalid entity kind {kind!r}")
        shown, key, props, sensitive = self.normalise(kind, value, platform=platform)
        props.update(properties or {})
        now = clock.utcnow_iso()
        with self.db.write() as conn:
            self._require(conn, s.case, case_id, "case")
            if key and reuse:
                found = conn.execute(select(s.entity.c.id).where(
                    s.entity.c.case_id == case_id, s.entity.c.key == key,
                    s.entity.c.deleted.is_(False), s.entity.c.merged_into.is_(None))).first()
                if found:
                    return Changes("entity", "existing", (found[0],), case_id)
            eid = conn.execute(insert(s.entity).values(
                case_id=case_id, kind=kind, label=(label or shown).strip(), key=key,
                properties=props, sensitive=sensitive if self.settings.keep_full_card_numbers else None,
                source_id=source_id, source_ref=source_ref, created_at=now, updated_at=now,
                **self._stamp())).inserted_primary_key[0]
            self.audit.append(conn, "entity.create", "entity", eid,
                              {"case_id": case_id, "kind": kind, "label": label or shown})
            self._touch(conn)
        return Changes("entity", "created", (eid,), case_id)

    def update_entity(self, entity_id: int, **fields: Any) -> Changes:
        unknown = set(fields) - set(ENTITY_FIELDS)
        if unknown:
            raise UsageError(f"cannot change entity field(s): {', '.join(sorted(unknown))}")
        if "label" in fields and not str(fields["label"] or "").strip():
            raise UsageError("an entity needs a label")
        with self.db.write() as conn:
            before = self._require(conn, s.entity, entity_id, "entity")
            values = dict(fields)
            if "properties" in values:
                values["properties"] = dict(values["properties"])
            values.update(updated_at=clock.utcnow_iso(), hlc=self._touch(conn))
            conn.execute(update(s.entity).where(s.entity.c.id == entity_id).values(**values))
            self.audit.append(conn, "entity.update", "entity", entity_id, {
                k: {"from": _json_obj(getattr(before, k)) if k == "properties" else getattr(before, k),
                    "to": fields[k]} for k in fields})
        return Changes("entity", "updated", (entity_id,), before.case_id)

    def delete_entity(self, entity_id: int) -> Changes:
        with self.db.write() as conn:
            row = self._require(conn, s.entity, entity_id, "entity")
            hlc = self._touch(conn)
            conn.execute(update(s.entity).where(s.entity.c.id == entity_id).values(deleted=True, hlc=hlc))
            links = [r[0] for r in conn.execute(select(s.link.c.id).where(
                or_(s.link.c.src_id == entity_id, s.link.c.dst_id == entity_id),
                s.link.c.deleted.is_(False)))]
            if links:
                conn.execute(update(s.link).where(s.link.c.id.in_(links)).values(deleted=True, hlc=hlc))
            self.audit.append(conn, "entity.delete", "entity", entity_id, {"links_removed": len(links)})
        return Changes("entity", "deleted", (entity_id,), row.case_id, {"links": tuple(links)})

    def _entity_info(self, r: Any) -> EntityInfo:
        return EntityInfo(r.id, r.uid, r.case_id, r.kind, r.label, r.key, _json_obj(r.properties),
                          r.merged_into, r.source_id, r.source_ref, r.created_at, bool(r.keep_local))

    def get_entity(self, entity_id: int) -> EntityInfo:
        with self.db.read() as conn:
            return self._entity_info(self._require(conn, s.entity, entity_id, "entity"))

    def get_entities(self, ids: Iterable[int]) -> list[EntityInfo]:
        ids = list(ids)
        with self.db.read() as conn:
            rows = conn.execute(select(s.entity).where(s.entity.c.id.in_(ids))).fetchall()
        by_id = {r.id: self._entity_info(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def _entity_query(self, case_id: int, kind: str | None, text: str | None, include_merged: bool):
        q = select(s.entity).where(s.entity.c.case_id == case_id, s.entity.c.deleted.is_(False))
        if not include_merged:
            q = q.where(s.entity.c.merged_into.is_(None))
        if kind:
            q = q.where(s.entity.c.kind == kind)
        if text:
            like = f"%{text}%"
            q = q.where(or_(s.entity.c.label.like(like), s.entity.c.key.like(like)))
        return q

    def list_entities(self, case_id: int, *, kind: str | None = None, text: str | None = None,
                      offset: int = 0, limit: int | None = 1000, include_merged: bool = False) -> list[EntityInfo]:
        q = self._entity_query(case_id, kind, text, include_merged).order_by(s.entity.c.id).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        with self.db.read() as conn:
            return [self._entity_info(r) for r in conn.execute(q)]

    def count_entities(self, case_id: int, *, kind: str | None = None, text: str | None = None) -> int:
        q = self._entity_query(case_id, kind, text, False).with_only_columns(func.count())
        with self.db.read() as conn:
            return int(conn.execute(q).scalar_one())

    def entity_ids(self, case_id: int, *, kind: str | None = None, text: str | None = None,
                   order: str = "id", descending: bool = False) -> list[int]:
        """All live entity ids of a case in display order (for lazy Qt models)."""
        col = {"id": s.entity.c.id, "kind": s.entity.c.kind, "label": s.entity.c.label,
               "key": s.entity.c.key, "created_at": s.entity.c.created_at}.get(order, s.entity.c.id)
        q = self._entity_query(case_id, kind, text, False).with_only_columns(s.entity.c.id)
        q = q.order_by(col.desc() if descending else col, s.entity.c.id)
        with self.db.read() as conn:
            return [r[0] for r in conn.execute(q)]

    # ------------------------------------------------------------------ links
    def add_link(self, src_id: int, dst_id: int, kind: str, *, confidence: float = 1.0,
                 properties: Mapping[str, Any] | None = None, source_id: int | None = None,
                 source_ref: str | None = None) -> Changes:
        if src_id == dst_id:
            raise UsageError("a link needs two different entities")
        if not 0.0 <= confidence <= 1.0:
            raise UsageError("confidence must be between 0 and 1")
        kind = (kind or "").strip().lower()
        if not kind:
            raise UsageError("a link needs a kind")
        with self.db.write() as conn:
            a = self._require(conn, s.entity, src_id, "entity")
            self._require(conn, s.entity, dst_id, "entity")
            lid = conn.execute(insert(s.link).values(
                case_id=a.case_id, src_id=src_id, dst_id=dst_id, kind=kind, confidence=confidence,
                properties=dict(properties or {}), source_id=source_id, source_ref=source_ref,
                created_at=clock.utcnow_iso(), **self._stamp())).inserted_primary_key[0]
            self.audit.append(conn, "link.create", "link", lid,
                              {"src": src_id, "dst": dst_id, "kind": kind, "confidence": confidence})
            self._touch(conn)
        return Changes("link", "created", (lid,), a.case_id)

    def delete_link(self, link_id: int) -> Changes:
        with self.db.write() as conn:
            row = self._require(conn, s.link, link_id, "link")
            conn.execute(update(s.link).where(s.link.c.id == link_id).values(
                deleted=True, hlc=self._touch(conn)))
            self.audit.append(conn, "link.delete", "link", link_id, {})
        return Changes("link", "deleted", (link_id,), row.case_id)

    def _link_info(self, r: Any) -> LinkInfo:
        return LinkInfo(r.id, r.uid, r.case_id, r.src_id, r.dst_id, r.kind, r.confidence,
                        _json_obj(r.properties), r.source_id, r.source_ref)

    def list_links(self, *, case_id: int | None = None, entity_id: int | None = None,
                   limit: int | None = None) -> list[LinkInfo]:
        q = select(s.link).where(s.link.c.deleted.is_(False)).order_by(s.link.c.id)
        if case_id is not None:
            q = q.where(s.link.c.case_id == case_id)
        if entity_id is not None:
            q = q.where(or_(s.link.c.src_id == entity_id, s.link.c.dst_id == entity_id))
        if limit is not None:
            q = q.limit(limit)
        with self.db.read() as conn:
            return [self._link_info(r) for r in conn.execute(q)]

    # ------------------------------------------------------------------ events
    def add_event(self, case_id: int, kind: str, occurred_at: datetime | None, *, title: str = "",
                  body: str | None = None, properties: Mapping[str, Any] | None = None,
                  parties: Sequence[tuple[int, str]] = (), source_id: int | None = None,
                  source_ref: str | None = None) -> Changes:
        """Record a dated fact. ``occurred_at`` must be timezone-aware (its offset is kept)."""
        kind = (kind or "").strip().lower()
        if not kind:
            raise UsageError("an event needs a kind")
        ts, off = _split_time(occurred_at)
        with self.db.write() as conn:
            self._require(conn, s.case, case_id, "case")
            eid = conn.execute(insert(s.event).values(
                case_id=case_id, kind=kind, ts_utc=ts, utc_offset=off, title=title or "", body=body,
                properties=dict(properties or {}), source_id=source_id, source_ref=source_ref,
                created_at=clock.utcnow_iso(), **self._stamp())).inserted_primary_key[0]
            for entity_id, role in parties:
                ent = self._require(conn, s.entity, entity_id, "entity")
                if ent.case_id != case_id:
                    raise UsageError(f"entity {entity_id} belongs to another case")
                conn.execute(insert(s.event_party).values(event_id=eid, entity_id=entity_id, role=role))
            self.audit.append(conn, "event.create", "event", eid,
                              {"case_id": case_id, "kind": kind, "parties": len(parties)})
            self._touch(conn)
        return Changes("event", "created", (eid,), case_id)

    def update_event(self, event_id: int, *, occurred_at: datetime | None | str = "unchanged",
                     **fields: Any) -> Changes:
        unknown = set(fields) - set(EVENT_FIELDS)
        if unknown:
            raise UsageError(f"cannot change event field(s): {', '.join(sorted(unknown))}")
        values = dict(fields)
        if "properties" in values:
            values["properties"] = dict(values["properties"])
        if occurred_at != "unchanged":
            values["ts_utc"], values["utc_offset"] = _split_time(occurred_at)  # type: ignore[arg-type]
        with self.db.write() as conn:
            row = self._require(conn, s.event, event_id, "event")
            values["hlc"] = self._touch(conn)
            conn.execute(update(s.event).where(s.event.c.id == event_id).values(**values))
            self.audit.append(conn, "event.update", "event", event_id, {"fields": sorted(values)})
        return Changes("event", "updated", (event_id,), row.case_id)

    def delete_event(self, event_id: int) -> Changes:
        with self.db.write() as conn:
            row = self._require(conn, s.event, event_id, "event")
            conn.execute(update(s.event).where(s.event.c.id == event_id).values(
                deleted=True, hlc=self._touch(conn)))
            self.audit.append(conn, "event.delete", "event", event_id, {})
        return Changes("event", "deleted", (event_id,), row.case_id)

    def _event_query(self, case_id: int, start: int | None, end: int | None,
                     kinds: Sequence[str] | None, entity_id: int | None):
        q = select(s.event)
        if entity_id is not None:
            # Drive from the entity's parties (hundreds of rows), not from the case's time
            # index (millions): SQLite would otherwise walk the whole case in time order.
            mine = select(s.event_party.c.event_id).where(
                s.event_party.c.entity_id == entity_id).distinct().subquery()
            q = q.join(mine, mine.c.event_id == s.event.c.id)
        q = q.where(s.event.c.case_id == case_id, s.event.c.deleted.is_(False))
        if start is not None:
            q = q.where(s.event.c.ts_utc >= start)
        if end is not None:
            q = q.where(s.event.c.ts_utc < end)
        if kinds:
            q = q.where(s.event.c.kind.in_(list(kinds)))
        return q

    @staticmethod
    def _entity_event_ids(case_id: int, entity_id: int, start: int | None, end: int | None,
                          kinds: Sequence[str] | None, *, ordered: bool = True,
                          limit: int | None = None, offset: int = 0) -> Any:
        """SQL for the ids of the live events of one entity in a case, filtered (and put in
        time order, then paged) from the covering index ``ix_event_live`` alone.

        An entity's events are scattered over the whole file; reading their table rows
        just to sort them would decrypt a page per event. SQLite would pick the table for
        an id lookup, hence ``INDEXED BY`` (which SQLAlchemy cannot say for SQLite)."""
        where = ["e.case_id = :case_id", "e.deleted = 0"]
        params: dict[str, Any] = {"case_id": case_id, "entity_id": entity_id}
        if start is not None:
            where.append("e.ts_utc >= :start")
            params["start"] = start
        if end is not None:
            where.append("e.ts_utc < :end")
            params["end"] = end
        binds = []
        if kinds:
            where.append("e.kind IN :kinds")
            params["kinds"] = list(kinds)
            binds.append(bindparam("kinds", expanding=True))
        sql = ("SELECT e.id FROM event AS e INDEXED BY ix_event_live JOIN (SELECT DISTINCT event_id "
               "FROM event_party WHERE entity_id = :entity_id) AS p ON p.event_id = e.id WHERE "
               + " AND ".join(where))
        if ordered:
            sql += " ORDER BY e.ts_utc, e.id"
        if limit is not None or offset:
            sql += " LIMIT :limit OFFSET :offset"
            params.update(limit=-1 if limit is None else limit, offset=offset)
        return sql_text(sql).bindparams(*binds, **params)

    def list_events(self, case_id: int, *, start: int | None = None, end: int | None = None,
                    kinds: Sequence[str] | None = None, entity_id: int | None = None,
                    offset: int = 0, limit: int | None = 1000, with_parties: bool = True) -> list[EventInfo]:
        """Events of a case in time order; ``start``/``end`` in UTC microseconds."""
        if entity_id is not None:
            page = self._entity_event_ids(case_id, entity_id, start, end, kinds, limit=limit, offset=offset)
            q = select(s.event).where(s.event.c.id.in_(page)).order_by(s.event.c.ts_utc, s.event.c.id)
        else:
            q = self._event_query(case_id, start, end, kinds, None).order_by(
                s.event.c.ts_utc, s.event.c.id).offset(offset)
            if limit is not None:
                q = q.limit(limit)
        with self.db.read() as conn:
            rows = conn.execute(q).fetchall()
            parties = self._parties(conn, [r.id for r in rows]) if with_parties else {}
        return [self._event_info(r, parties.get(r.id, ())) for r in rows]

    def count_events(self, case_id: int, *, start: int | None = None, end: int | None = None,
                     kinds: Sequence[str] | None = None, entity_id: int | None = None) -> int:
        if entity_id is not None:
            ids = self._entity_event_ids(case_id, entity_id, start, end, kinds, ordered=False)
            q = select(func.count()).select_from(ids.columns(s.event.c.id).subquery())
        else:
            q = self._event_query(case_id, start, end, kinds, None).with_only_columns(func.count())
        with self.db.read() as conn:
            return int(conn.execute(q).scalar_one())

    def event_ids(self, case_id: int, *, start: int | None = None, end: int | None = None,
                  kinds: Sequence[str] | None = None, entity_id: int | None = None,
                  order: str = "ts_utc", descending: bool = False, text: str | None = None,
                  limit: int | None = None) -> list[int]:
        """Event ids in display order. ``text`` filters by words in title or body (every
        word, as a prefix) through the full-text index, not a scan."""
        col = {"ts_utc": s.event.c.ts_utc, "kind": s.event.c.kind, "title": s.event.c.title,
               "id": s.event.c.id}.get(order, s.event.c.ts_utc)
        q = self._event_query(case_id, start, end, kinds, entity_id).with_only_columns(s.event.c.id)
        match = _prefix_match(text)
        if match:
            q = q.where(s.event.c.id.in_(
                sql_text("SELECT rowid FROM fts_event WHERE fts_event MATCH :m").bindparams(m=match)))
        q = q.order_by(col.desc() if descending else col, s.event.c.id)
        if limit is not None:
            q = q.limit(limit)
        with self.db.read() as conn:
            return [r[0] for r in conn.execute(q)]

    def get_events(self, ids: Iterable[int], *, with_parties: bool = True) -> list[EventInfo]:
        ids = list(ids)
        out: dict[int, EventInfo] = {}
        with self.db.read() as conn:
            for chunk in _chunks(ids, 900):
                rows = conn.execute(select(s.event).where(s.event.c.id.in_(chunk))).fetchall()
                parties = self._parties(conn, [r.id for r in rows]) if with_parties else {}
                out.update({r.id: self._event_info(r, parties.get(r.id, ())) for r in rows})
        return [out[i] for i in ids if i in out]

    def get_event(self, event_id: int) -> EventInfo:
        found = self.get_events([event_id])
        if not found:
            raise NotFound(f"no event with id {event_id}")
        return found[0]

    def _parties(self, conn: Connection, event_ids: Sequence[int]) -> dict[int, tuple[PartyInfo, ...]]:
        out: dict[int, list[PartyInfo]] = {}
        for chunk in _chunks(list(event_ids), 900):
            q = select(s.event_party.c.event_id, s.event_party.c.entity_id, s.event_party.c.role,
                       s.entity.c.kind, s.entity.c.label).join(
                s.entity, s.entity.c.id == s.event_party.c.entity_id).where(
                s.event_party.c.event_id.in_(chunk)).order_by(s.event_party.c.id)
            for r in conn.execute(q):
                out.setdefault(r.event_id, []).append(PartyInfo(r.entity_id, r.role, r.kind, r.label))
        return {k: tuple(v) for k, v in out.items()}

    def _event_info(self, r: Any, parties: tuple[PartyInfo, ...]) -> EventInfo:
        return EventInfo(r.id, r.uid, r.case_id, r.kind, r.ts_utc, r.utc_offset, r.title, r.body,
                         _json_obj(r.properties), r.source_id, r.source_ref, parties, bool(r.keep_local))

    # ------------------------------------------------------------------ restore
    _RESTORABLE = {"case": s.case, "entity": s.entity, "link": s.link, "event": s.event, "note": s.note}

    def restore(self, table: str, row_id: int) -> Changes:
        """Undo a delete: bring a tombstoned record back (same id, new clock stamp)."""
        t = self._RESTORABLE.get(table)
        if t is None:
            raise UsageError(f"cannot restore a {table}")
        with self.db.write() as conn:
            row = conn.execute(select(t).where(t.c.id == row_id)).first()
            if row is None:
                raise NotFound(f"no {table} with id {row_id}")
            if not row.deleted:
                return Changes(table, "unchanged", (row_id,), getattr(row, "case_id", row_id))
            if table == "case":
                clash = conn.execute(select(s.case.c.id).where(
                    s.case.c.number == row.number, s.case.c.deleted.is_(False), s.case.c.id != row_id)).first()
                if clash:
                    raise UsageError(f"case number {row.number!r} is in use by another case")
            conn.execute(update(t).where(t.c.id == row_id).values(deleted=False, hlc=self._touch(conn)))
            self.audit.append(conn, f"{table}.restore", table, row_id, {})
        case_id = row_id if table == "case" else row.case_id
        return Changes(table, "restored", (row_id,), case_id)

    @property
    def fingerprint_key(self) -> bytes:
        """The keyed-fingerprint secret for card numbers (matching typed numbers to keys)."""
        return self._fingerprint_key

    def adopt_fingerprint_key(self, conn: Connection, key: bytes) -> int:
        """In the caller's write transaction: make ``key`` the database's fingerprint key and
        recompute the matching key of every card whose full number is held. Returns how many
        cards were re-keyed. Call :meth:`use_fingerprint_key` once the transaction commits."""
        from workstation.analysis.identifiers import card_fingerprint

        if self.db.meta_get(conn, "fingerprint_key") == key.hex():
            return 0
        self.db.meta_set(conn, "fingerprint_key", key.hex())
        rows = conn.execute(select(s.entity.c.id, s.entity.c.sensitive).where(
            s.entity.c.kind == "card", s.entity.c.sensitive.is_not(None))).fetchall()
        held = [r for r in rows if r.sensitive and r.sensitive.isdigit()]
        if not held:
            return 0
        hlc = self._touch(conn)
        for r in held:
            conn.execute(update(s.entity).where(s.entity.c.id == r.id).values(
                key="card:" + card_fingerprint(r.sensitive, key), hlc=hlc))
        return len(held)

    def use_fingerprint_key(self, key: bytes) -> None:
        """Match card numbers with ``key`` from now on in this session (after
        :meth:`adopt_fingerprint_key` committed it)."""
        self._fingerprint_key = bytes(key)

    # ------------------------------------------------------------------ notes
    def add_note(self, case_id: int, body: str, *, target_type: str | None = None,
                 target_id: int | None = None) -> Changes:
        if not (body or "").strip():
            raise UsageError("a note needs text")
        if (target_type is None) != (target_id is None):
            raise UsageError("a note target needs both a type and an id")
        tables = {"entity": s.entity, "event": s.event, "link": s.link, "media": s.media}
        now = clock.utcnow_iso()
        with self.db.write() as conn:
            self._require(conn, s.case, case_id, "case")
            if target_type is not None:
                if target_type not in tables:
                    raise UsageError(f"notes can be attached to {', '.join(tables)}")
                self._require(conn, tables[target_type], int(target_id), target_type)  # type: ignore[arg-type]
            nid = conn.execute(insert(s.note).values(
                case_id=case_id, target_type=target_type, target_id=target_id, body=body,
                author=self.actor, created_at=now, updated_at=now, **self._stamp())).inserted_primary_key[0]
            self.audit.append(conn, "note.create", "note", nid,
                              {"case_id": case_id, "target_type": target_type, "target_id": target_id})
            self._touch(conn)
        return Changes("note", "created", (nid,), case_id)

    def update_note(self, note_id: int, body: str) -> Changes:
        if not (body or "").strip():
            raise UsageError("a note needs text")
        with self.db.write() as conn:
            row = self._require(conn, s.note, note_id, "note")
            conn.execute(update(s.note).where(s.note.c.id == note_id).values(
                body=body, updated_at=clock.utcnow_iso(), hlc=self._touch(conn)))
            self.audit.append(conn, "note.update", "note", note_id, {})
        return Changes("note", "updated", (note_id,), row.case_id)

    def delete_note(self, note_id: int) -> Changes:
        with self.db.write() as conn:
            row = self._require(conn, s.note, note_id, "note")
            conn.execute(update(s.note).where(s.note.c.id == note_id).values(
                deleted=True, hlc=self._touch(conn)))
            self.audit.append(conn, "note.delete", "note", note_id, {})
        return Changes("note", "deleted", (note_id,), row.case_id)

    def list_notes(self, case_id: int, *, target_type: str | None = None,
                   target_id: int | None = None) -> list[NoteInfo]:
        q = select(s.note).where(s.note.c.case_id == case_id, s.note.c.deleted.is_(False))
        if target_type is not None:
            q = q.where(s.note.c.target_type == target_type, s.note.c.target_id == target_id)
        with self.db.read() as conn:
            return [NoteInfo(r.id, r.uid, r.case_id, r.target_type, r.target_id, r.body, r.author,
                             r.created_at, r.updated_at)
                    for r in conn.execute(q.order_by(s.note.c.created_at))]

    # ------------------------------------------------------------------ merge
    def merge_entities(self, survivor_id: int, merged_ids: Sequence[int], justification: str) -> Changes:
        """Fold ``merged_ids`` into ``survivor_id``: their links and event parties move to the
        survivor; the merged entities stay (``merged_into`` set) so the merge can be undone."""
        if not (justification or "").strip():
            raise UsageError("a merge needs a written justification")
        merged_ids = [m for m in dict.fromkeys(merged_ids) if m != survivor_id]
        if not merged_ids:
            raise UsageError("nothing to merge")
        now = clock.utcnow_iso()
        history: list[int] = []
        with self.db.write() as conn:
            surv = self._require(conn, s.entity, survivor_id, "entity")
            if surv.merged_into is not None:
                raise UsageError(f"entity {survivor_id} is itself merged into {surv.merged_into}")
            hlc = self._touch(conn)
            for mid in merged_ids:
                other = self._require(conn, s.entity, mid, "entity")
                if other.kind != surv.kind:
                    raise UsageError(
                        f"cannot merge a {other.kind} ({other.label}) into a {surv.kind} ({surv.label}): "
                        "entities of different kinds are different things")
                if other.merged_into is not None:
                    raise UsageError(f"entity {mid} is already merged into {other.merged_into}")
                src_links = [r[0] for r in conn.execute(select(s.link.c.id).where(s.link.c.src_id == mid))]
                dst_links = [r[0] for r in conn.execute(select(s.link.c.id).where(s.link.c.dst_id == mid))]
                parties = [r[0] for r in conn.execute(
                    select(s.event_party.c.id).where(s.event_party.c.entity_id == mid))]
                if src_links:
                    conn.execute(update(s.link).where(s.link.c.id.in_(src_links)).values(src_id=survivor_id, hlc=hlc))
                if dst_links:
                    conn.execute(update(s.link).where(s.link.c.id.in_(dst_links)).values(dst_id=survivor_id, hlc=hlc))
                if parties:
                    conn.execute(update(s.event_party).where(s.event_party.c.id.in_(parties)).values(entity_id=survivor_id))
                conn.execute(update(s.entity).where(s.entity.c.id == mid).values(merged_into=survivor_id, hlc=hlc))
                hid = conn.execute(insert(s.merge_history).values(
                    survivor_id=survivor_id, merged_id=mid, justification=justification,
                    moved={"src_links": src_links, "dst_links": dst_links, "parties": parties},
                    actor=self.actor, merged_at=now)).inserted_primary_key[0]
                history.append(hid)
                self.audit.append(conn, "entity.merge", "entity", survivor_id,
                                  {"merged": mid, "justification": justification, "merge_id": hid})
        return Changes("entity", "merged", (survivor_id, *merged_ids), surv.case_id, {"merge_ids": tuple(history)})

    def unmerge(self, merge_id: int) -> Changes:
        """Undo one merge: the merged entity gets back exactly the links and parties it had."""
        now = clock.utcnow_iso()
        with self.db.write() as conn:
            h = conn.execute(select(s.merge_history).where(s.merge_history.c.id == merge_id)).first()
            if h is None:
                raise NotFound(f"no merge with id {merge_id}")
            if h.undone_at is not None:
                raise UsageError(f"merge {merge_id} was already undone at {h.undone_at}")
            moved = _json_obj(h.moved)
            hlc = self._touch(conn)
            if moved.get("src_links"):
                conn.execute(update(s.link).where(s.link.c.id.in_(moved["src_links"])).values(src_id=h.merged_id, hlc=hlc))
            if moved.get("dst_links"):
                conn.execute(update(s.link).where(s.link.c.id.in_(moved["dst_links"])).values(dst_id=h.merged_id, hlc=hlc))
            if moved.get("parties"):
                conn.execute(update(s.event_party).where(s.event_party.c.id.in_(moved["parties"])).values(entity_id=h.merged_id))
            conn.execute(update(s.entity).where(s.entity.c.id == h.merged_id).values(merged_into=None, hlc=hlc))
            conn.execute(update(s.merge_history).where(s.merge_history.c.id == merge_id).values(
                undone_at=now, undone_by=self.actor))
            case_id = conn.execute(select(s.entity.c.case_id).where(s.entity.c.id == h.survivor_id)).scalar_one()
            self.audit.append(conn, "entity.unmerge", "entity", h.survivor_id,
                              {"restored": h.merged_id, "merge_id": merge_id})
        return Changes("entity", "unmerged", (h.survivor_id, h.merged_id), case_id)

    def merge_history(self, entity_id: int) -> list[MergeInfo]:
        with self.db.read() as conn:
            rows = conn.execute(select(s.merge_history).where(or_(
                s.merge_history.c.survivor_id == entity_id, s.merge_history.c.merged_id == entity_id))
                .order_by(s.merge_history.c.id)).fetchall()
        return [MergeInfo(r.id, r.survivor_id, r.merged_id, r.justification, r.actor, r.merged_at, r.undone_at)
                for r in rows]

    # ------------------------------------------------------------------ sources / info
    def get_source(self, source_id: int) -> SourceInfo:
        with self.db.read() as conn:
            r = conn.execute(select(s.source).where(s.source.c.id == source_id)).first()
        if r is None:
            raise NotFound(f"no source with id {source_id}")
        return SourceInfo(r.id, r.case_id, r.file_name, r.file_size, r.sha256, r.importer,
                          _json_obj(r.options), r.imported_by, r.imported_at,
                          _json_obj(r.summary) if r.summary is not None else None)

    def list_sources(self, case_id: int) -> list[SourceInfo]:
        with self.db.read() as conn:
            ids = [r[0] for r in conn.execute(select(s.source.c.id).where(
                s.source.c.case_id == case_id).order_by(s.source.c.id))]
        return [self.get_source(i) for i in ids]

    def history(self, target_type: str, target_id: int, limit: int = 200) -> list[Any]:
        """Audit entries about one record, oldest first."""
        with self.db.read() as conn:
            return list(self.audit.entries(conn, target_type=target_type, target_id=target_id, limit=limit))

    def counts(self) -> dict[str, int]:
        """Live rows per table (tombstones excluded), for ``info``."""
        out: dict[str, int] = {}
        with self.db.read() as conn:
            for name, table in (("cases", s.case), ("entities", s.entity), ("links", s.link),
                                ("events", s.event), ("media", s.media), ("notes", s.note),
                                ("sources", s.source)):
                out[name] = int(conn.execute(select(func.count()).select_from(table).where(
                    table.c.deleted.is_(False))).scalar_one())
            out["event_parties"] = int(conn.execute(select(func.count()).select_from(s.event_party)).scalar_one())
            out["hash_sets"] = int(conn.execute(select(func.count()).select_from(s.hash_set)).scalar_one())
            out["hash_entries"] = int(conn.execute(select(func.count()).select_from(s.hash_entry)).scalar_one())
            out["audit_entries"] = int(conn.execute(select(func.count()).select_from(s.audit)).scalar_one())
        return out

    def record_export(self, action: str, target: str, digest: str, details: Mapping[str, Any] | None = None) -> None:
        """Audit an explicit export (path and digest of what was written)."""
        d = {"target": target, "sha256": digest, **(details or {})}
        self.audit.append_in_new_tx(action, "export", None, d)

    # ------------------------------------------------------------------ sync conflicts
    def list_conflicts(self, case_id: int | None = None) -> list[Any]:
        """Open sync conflicts (optionally of one case): see ``sync.conflicts``."""
        from workstation.sync.conflicts import list_conflicts

        return list_conflicts(self, case_id)

    def resolve_conflict(self, conflict_id: int, choice: str, value: Any = None) -> Changes:
        """Resolve a sync conflict: keep ``"mine"``, keep ``"theirs"``, or ``"edit"`` to ``value``."""
        from workstation.sync.conflicts import resolve_conflict

        return resolve_conflict(self, conflict_id, choice, value)


def _split_time(occurred_at: datetime | None) -> tuple[int | None, int | None]:
    if occurred_at is None:
        return None, None
    if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
        raise UsageError("event times must carry a timezone or UTC offset")
    off = occurred_at.utcoffset()
    assert off is not None
    return clock.to_micros(occurred_at), int(off.total_seconds() // 60)


def _prefix_match(text: str | None) -> str | None:
    """An FTS5 MATCH string requiring every word of ``text`` as a prefix; words are quoted,
    so no user text is ever read as query syntax."""
    words = [w.replace('"', '""') for w in (text or "").split() if w.strip('"')]
    return " ".join(f'"{w}"*' for w in words) or None


def _chunks(items: list[int], n: int) -> Iterable[list[int]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


__all__ = ["Workstation", "ENTITY_KINDS"]
