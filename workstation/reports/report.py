"""The case report: a PDF or HTML document an officer hands to a prosecutor or a partner
agency, built from the case database.

Contents (the officer picks the sections; the cover is always there): cover (case number,
title, unit/agency, lead officer, dates, who prepared it, and the database state it was
made from), summary, people and their identifiers, all identifiers, key events, the
timeline and link chart as figures, a media summary by category (counts and hashes only —
never a picture of media), sources with their SHA-256, and an audit excerpt.

Reproducibility: everything is read in ONE read transaction together with the state
digest (:mod:`workstation.reports.state`), and the digest is printed on every page. Two
reports made from the same state carry the same digest (and the same content, apart
from the generation time).

Safety: card numbers print masked (``•••• 1234``), including any found in free text; no
image bytes of media are ever read (thumbnail columns are not even selected); the file is
written atomically in the target folder and the export is audited with its SHA-256.

Threading: :func:`build_report` blocks; the UI runs it in a worker with ``progress``
and ``cancel``. Raises NotFound (unknown case), UsageError (bad section or format),
StorageError (target not writable), Cancelled.
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, String, and_, cast, func, or_, select, text
from sqlalchemy import case as sql_case

from workstation import clock
from workstation.errors import Cancelled, NotFound, UsageError
from workstation.reports.atomic import atomic_write
from workstation.reports.document import (
    Document,
    FigureBlock,
    Heading,
    KeyValues,
    PageBreak,
    Para,
    Table,
    render_html,
    render_pdf,
)
from workstation.reports.figures import (
    ChartNode,
    TimelineBins,
    bucket_name,
    choose_bucket_us,
    link_chart_figure,
    timeline_figure,
)
from workstation.reports.masking import entity_display, mask_cards
from workstation.reports.state import CaseState, case_state
from workstation.store import schema as s
from workstation.text import json_object

if TYPE_CHECKING:
    from workstation.domain.service import Workstation

Progress = Callable[[float, str], None]


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


SECTIONS: tuple[str, ...] = ("summary", "people", "identifiers", "events", "timeline", "link_chart",
                             "media", "sources", "audit")
SECTION_TITLES: dict[str, str] = {
    "summary": "Summary", "people": "People and their identifiers", "identifiers": "Identifiers",
    "events": "Key events", "timeline": "Timeline", "link_chart": "Link chart",
    "media": "Media summary", "sources": "Sources", "audit": "Audit excerpt",
}
FORMATS: tuple[str, ...] = ("pdf", "html")
MARKING = "LAW ENFORCEMENT SENSITIVE — contains case information; handle and store accordingly"
IDENTIFIER_KINDS = ("phone", "email", "account", "card", "ip", "url", "domain", "device", "bank_account",
                    "vehicle", "address")
KEY_EVENT_KINDS = ("arrest", "booking", "release")
MAX_PEOPLE = 200
MAX_IDENTIFIERS = 400
MAX_MEDIA_HASHES = 1000
MAX_AUDIT = 40
MAX_CASE_NOTES = 20
MAX_CHART_NODES = 45
EXCERPT = 220


@dataclass(frozen=True)
class ReportInfo:
    """What was written: where, its SHA-256 and size, pages (PDF), and the state digest."""

    path: Path
    fmt: str
    sha256: str
    size: int
    pages: int | None
    state: CaseState
    sections: tuple[str, ...]
    case_number: str
    generated_at: str

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.fmt, "sha256": self.sha256, "size": self.size,
                "pages": self.pages, "state_digest": self.state.digest, "audit_seq": self.state.audit_seq,
                "sections": list(self.sections), "case": self.case_number, "generated_at": self.generated_at}


def parse_sections(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Sections from a comma list or an iterable, in report order; UsageError naming an
    unknown one. ``None``/``all`` means every section."""
    if value is None:
        return SECTIONS
    items = [v.strip().lower().replace("-", "_") for v in (value.split(",") if isinstance(value, str) else value)]
    items = [v for v in items if v]
    if not items or items == ["all"]:
        return SECTIONS
    aliases = {"chart": "link_chart", "links": "link_chart", "linkchart": "link_chart",
               "key_events": "events", "hashes": "media", "cover": None}
    chosen = set()
    for v in items:
        v2 = aliases.get(v, v)
        if v2 is None:
            continue
        if v2 not in SECTIONS:
            raise UsageError(f"unknown report section {v!r}; choose from {', '.join(SECTIONS)}")
        chosen.add(v2)
    return tuple(sec for sec in SECTIONS if sec in chosen)


# ====================================================================== reading
def _zone(name: str | None, fallback: str) -> tzinfo:
    for candidate in (name, fallback, "UTC"):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return UTC


def _when(ts_us: int | None, tz: tzinfo, *, seconds: bool = False) -> str:
    if ts_us is None:
        return "undated"
    dt = clock.from_micros(int(ts_us)).astimezone(tz)
    return dt.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " " + (_offset(dt))


def _offset(dt: datetime, prefix: str = "") -> str:
    off = dt.utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{prefix}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _iso_local(text_iso: str | None, tz: tzinfo) -> str:
    if not text_iso:
        return ""
    try:
        dt = datetime.fromisoformat(text_iso.replace("Z", "+00:00"))
    except ValueError:
        return text_iso
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M ") + _offset(dt.astimezone(tz))


def _excerpt(text_: str | None, n: int = EXCERPT) -> str:
    t = " ".join((text_ or "").split())
    return t if len(t) <= n else t[: n - 1] + "…"


@dataclass
class _Entity:
    id: int
    kind: str
    label: str
    key: str | None
    props: dict[str, Any]
    events: int = 0
    first: int | None = None
    last: int | None = None
    links: int = 0

    @property
    def shown(self) -> str:
        return entity_display(self.kind, self.label, self.props)


@dataclass
class _Data:
    case: Any
    scheme: str
    tz: tzinfo
    tz_name: str
    state: CaseState
    entities: dict[int, _Entity] = field(default_factory=dict)
    links: list[tuple[int, int, int, str, float]] = field(default_factory=list)
    event_kinds: Counter[str] = field(default_factory=Counter)
    first_ts: int | None = None
    last_ts: int | None = None
    undated: int = 0
    notes: list[Any] = field(default_factory=list)
    note_count: int = 0
    sources: list[Any] = field(default_factory=list)
    media_total: int = 0
    media_by_cat: Counter[str | None] = field(default_factory=Counter)
    media_rows: list[Any] = field(default_factory=list)
    key_events: list[Any] = field(default_factory=list)
    key_mode: str = "sample"
    starred: int = 0
    parties: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    bins: TimelineBins | None = None
    audit_rows: list[Any] = field(default_factory=list)


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("the report was cancelled; no file was written")


def _collect(ws: Workstation, conn: Connection, case_id: int, sections: Sequence[str],
             key_events: int, report: Progress, cancel: CancelToken | None) -> _Data:
    crow = conn.execute(select(s.case).where(s.case.c.id == case_id, s.case.c.deleted.is_(False))).first()
    if crow is None:
        raise NotFound(f"no case with id {case_id}")
    case = ws._case_info(crow)
    tz = _zone(crow.timezone, ws.settings.display_timezone)
    state = case_state(ws, case_id, conn=conn)
    d = _Data(case=case, scheme=crow.category_scheme or "vic_us", tz=tz,
              tz_name=getattr(tz, "key", None) or str(tz), state=state)
    report(0.08, "reading entities")
    _check(cancel)
    E = s.entity
    for r in conn.execute(select(E.c.id, E.c.kind, E.c.label, E.c.key, E.c.properties).where(
            E.c.case_id == case_id, E.c.deleted.is_(False), E.c.merged_into.is_(None)).order_by(E.c.id)):
        d.entities[r.id] = _Entity(r.id, r.kind, r.label, r.key, json_object(r.properties))
    for r in conn.execute(select(s.link.c.id, s.link.c.src_id, s.link.c.dst_id, s.link.c.kind,
                                 s.link.c.confidence).where(
            s.link.c.case_id == case_id, s.link.c.deleted.is_(False)).order_by(s.link.c.id)):
        d.links.append((r.id, r.src_id, r.dst_id, r.kind, float(r.confidence)))
        for end in (r.src_id, r.dst_id):
            if end in d.entities:
                d.entities[end].links += 1
    report(0.15, "counting events")
    _check(cancel)
    ev = s.event
    live = and_(ev.c.case_id == case_id, ev.c.deleted.is_(False))
    for kind, n in conn.execute(select(ev.c.kind, func.count()).where(live).group_by(ev.c.kind)):
        d.event_kinds[kind] = int(n)
    lo, hi, undated = conn.execute(select(func.min(ev.c.ts_utc), func.max(ev.c.ts_utc),
                                          func.sum(sql_case((ev.c.ts_utc.is_(None), 1), else_=0))).where(live)).one()
    d.first_ts, d.last_ts, d.undated = lo, hi, int(undated or 0)
    # Participation per entity: how many events, first and last seen.
    ep = s.event_party
    q = (select(ep.c.entity_id, func.count(func.distinct(ep.c.event_id)), func.min(ev.c.ts_utc), func.max(ev.c.ts_utc))
         .select_from(ep.join(ev, ev.c.id == ep.c.event_id)).where(live).group_by(ep.c.entity_id))
    for eid, n, first, last in conn.execute(q):
        ent = d.entities.get(eid)
        if ent is not None:
            ent.events, ent.first, ent.last = int(n), first, last
    report(0.3, "choosing key events")
    _check(cancel)
    if "events" in sections:
        _key_events(conn, d, case_id, key_events)
    if "timeline" in sections and d.first_ts is not None:
        report(0.4, "timeline")
        d.bins = _bins(conn, case_id, d.first_ts, d.last_ts or d.first_ts, tz, d.undated)
    _check(cancel)
    if "summary" in sections:
        nq = select(s.note).where(s.note.c.case_id == case_id, s.note.c.deleted.is_(False))
        d.note_count = int(conn.execute(nq.with_only_columns(func.count())).scalar_one())
        d.notes = list(conn.execute(nq.where(s.note.c.target_type.is_(None)).order_by(s.note.c.created_at)
                               .limit(MAX_CASE_NOTES)).fetchall())
    if "sources" in sections or "summary" in sections:
        d.sources = list(conn.execute(select(s.source.c.id, s.source.c.file_name, s.source.c.file_size,
                                        s.source.c.sha256, s.source.c.importer, s.source.c.imported_by,
                                        s.source.c.imported_at).where(
            s.source.c.case_id == case_id, s.source.c.deleted.is_(False)).order_by(s.source.c.id)).fetchall())
    report(0.45, "media hashes")
    M = s.media
    mlive = and_(M.c.case_id == case_id, M.c.deleted.is_(False))
    for cat, n in conn.execute(select(M.c.category, func.count()).where(mlive).group_by(M.c.category)):
        d.media_by_cat[cat] = int(n)
        d.media_total += int(n)
    if "media" in sections:
        # Hashes and sizes only: the thumbnail column is never selected.
        d.media_rows = list(conn.execute(select(M.c.id, M.c.category, M.c.md5, M.c.sha256, M.c.size, M.c.mime)
                                    .where(mlive).order_by(M.c.category.is_(None), M.c.category, M.c.id)
                                    .limit(MAX_MEDIA_HASHES)).fetchall())
    _check(cancel)
    if "audit" in sections:
        report(0.5, "audit excerpt")
        d.audit_rows = _audit_rows(conn, case_id, state.audit_seq)
    return d


def _key_events(conn: Connection, d: _Data, case_id: int, limit: int) -> None:
    """Starred events when there are any; else a sample: arrests/bookings, the first event
    of each kind, then the events joining the most connected entities, varied by parties
    (at most two events with the same set) so one busy card does not fill the list."""
    ev = s.event
    live = and_(ev.c.case_id == case_id, ev.c.deleted.is_(False))
    starred_expr = func.json_extract(ev.c.properties, "$.starred")
    d.starred = int(conn.execute(select(func.count()).where(live, starred_expr == 1)).scalar_one())
    cols = (ev.c.id, ev.c.kind, ev.c.ts_utc, ev.c.title, ev.c.body, ev.c.properties)
    if d.starred:
        d.key_mode = "starred"
        rows: list[Any] = list(conn.execute(select(*cols).where(live, starred_expr == 1)
                                            .order_by(ev.c.ts_utc, ev.c.id).limit(limit)).fetchall())
    else:
        d.key_mode = "sample"
        chosen: dict[int, Any] = {}
        for r in conn.execute(select(*cols).where(live, ev.c.kind.in_(KEY_EVENT_KINDS))
                              .order_by(ev.c.ts_utc, ev.c.id).limit(max(1, limit // 3))):
            chosen[r.id] = r
        for kind in sorted(d.event_kinds):
            if len(chosen) >= limit:
                break
            first = conn.execute(select(*cols).where(live, ev.c.kind == kind, ev.c.ts_utc.is_not(None))
                                 .order_by(ev.c.ts_utc, ev.c.id).limit(1)).first()
            if first is not None:
                chosen.setdefault(first.id, first)
        if len(chosen) < limit:
            # Score = sum over an event's parties of how many events each party is in (how
            # connected); SQLite ranks all events, Python only varies the best few hundred.
            score_sql = text(
                "WITH live AS (SELECT id FROM event WHERE case_id = :c AND deleted = 0), "
                "deg AS (SELECT ep.entity_id AS eid, COUNT(*) AS d FROM event_party ep "
                "        WHERE ep.event_id IN (SELECT id FROM live) GROUP BY ep.entity_id) "
                "SELECT ep.event_id AS id, e.kind AS kind, SUM(deg.d) AS score, "
                "group_concat(ep.entity_id) AS ents "
                "FROM event_party ep JOIN deg ON deg.eid = ep.entity_id JOIN event e ON e.id = ep.event_id "
                "WHERE ep.event_id IN (SELECT id FROM live) "
                "GROUP BY ep.event_id ORDER BY score DESC, ep.event_id LIMIT :n")
            seen_sig: Counter[str] = Counter()
            per_kind: Counter[str] = Counter(r.kind for r in chosen.values())
            # No kind takes the whole list: busy cards would otherwise crowd out the chats.
            kind_cap = max(3, limit // max(1, len(d.event_kinds) - 1))
            picks: list[int] = []
            for r in conn.execute(score_sql, {"c": case_id, "n": max(400, limit * 20)}):
                if r.id in chosen:
                    continue
                sig = ",".join(sorted(set(str(r.ents).split(","))))
                if seen_sig[sig] >= 2 or per_kind[r.kind] >= kind_cap:
                    continue
                seen_sig[sig] += 1
                per_kind[r.kind] += 1
                picks.append(int(r.id))
                if len(chosen) + len(picks) >= limit:
                    break
            for chunk_start in range(0, len(picks), 500):
                for r in conn.execute(select(*cols).where(ev.c.id.in_(picks[chunk_start:chunk_start + 500]))):
                    chosen[r.id] = r
        rows = sorted(chosen.values(), key=lambda r: (r.ts_utc is None, r.ts_utc or 0, r.id))[:limit]
    d.key_events = rows
    ids = [r.id for r in rows]
    if ids:
        ep = s.event_party
        for p in conn.execute(select(ep.c.event_id, ep.c.entity_id, ep.c.role).where(
                ep.c.event_id.in_(ids)).order_by(ep.c.id)):
            d.parties.setdefault(p.event_id, []).append((p.role, p.entity_id))


def _bins(conn: Connection, case_id: int, lo: int, hi: int, tz: tzinfo, undated: int) -> TimelineBins:
    span = max(hi - lo, 1)
    bucket = choose_bucket_us(span, 60)
    # Align buckets of a day or more to local midnight so bars are calendar days.
    first_local = clock.from_micros(lo).astimezone(tz)
    off = int((first_local.utcoffset() or timedelta(0)).total_seconds() * 1_000_000)
    start = ((lo + off) // bucket) * bucket - off
    n = int((hi - start) // bucket) + 1
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * n)
    q = text("SELECT (ts_utc - :start) / :bucket AS b, kind, COUNT(*) AS n FROM event "
             "WHERE case_id = :c AND deleted = 0 AND ts_utc IS NOT NULL GROUP BY b, kind")
    for b, kind, cnt in conn.execute(q, {"start": start, "bucket": bucket, "c": case_id}):
        if 0 <= int(b) < n:
            counts[kind][int(b)] += int(cnt)
    return TimelineBins(start, bucket, n, dict(counts), undated)


def _audit_rows(conn: Connection, case_id: int, head_seq: int) -> list[Any]:
    """The newest entries (up to the stated head) about this case or its records."""
    sub_ids = {
        "entity": select(cast(s.entity.c.id, String)).where(s.entity.c.case_id == case_id),
        "event": select(cast(s.event.c.id, String)).where(s.event.c.case_id == case_id),
        "link": select(cast(s.link.c.id, String)).where(s.link.c.case_id == case_id),
        "note": select(cast(s.note.c.id, String)).where(s.note.c.case_id == case_id),
        "source": select(cast(s.source.c.id, String)).where(s.source.c.case_id == case_id),
    }
    a = s.audit
    about = [and_(a.c.target_type == "case", a.c.target_id == str(case_id)),
             a.c.details.like(f'%"case_id": {case_id},%'), a.c.details.like(f'%"case_id": {case_id}}}')]
    about += [and_(a.c.target_type == t, a.c.target_id.in_(q)) for t, q in sub_ids.items()]
    rows = conn.execute(select(a).where(a.c.seq <= head_seq, or_(*about)).order_by(a.c.seq.desc())
                        .limit(MAX_AUDIT)).fetchall()
    return list(reversed(rows))


# ====================================================================== building
def _chart(ws: Workstation, d: _Data, cancel: CancelToken | None) -> tuple[list[ChartNode], list[tuple[int, int, str]], dict[int, tuple[float, float]], int]:
    """The most connected entities (linked ones first) and their positions."""
    weight = {eid: e.links * 3 + min(e.events, 50) for eid, e in d.entities.items()}
    linked = [eid for eid, e in d.entities.items() if e.links]
    pool = linked or [eid for eid, e in d.entities.items() if e.events]
    top = sorted(pool, key=lambda i: (-weight[i], i))[:MAX_CHART_NODES]
    keep = set(top)
    nodes = [ChartNode(i, d.entities[i].shown, d.entities[i].kind, float(weight[i] or 1)) for i in sorted(keep)]
    edges = [(a, b, k) for _id, a, b, k, _c in d.links if a in keep and b in keep and a != b]
    positions = _layout(nodes, edges, cancel)
    return nodes, edges, positions, len(pool)


def _layout(nodes: Sequence[ChartNode], edges: Sequence[tuple[int, int, str]],
            cancel: CancelToken | None) -> dict[int, tuple[float, float]]:
    """Positions from the link chart's own force layout (analysis.graph) when available,
    so the report looks like the chart the officer works with; networkx otherwise."""
    if not nodes:
        return {}
    try:
        from workstation.analysis import graph as g

        chart = g.ChartData(
            {n.id: g.ChartNode(n.id, 0, "", n.kind, n.label) for n in nodes},
            {f"L{i}": g.ChartLink(f"L{i}", a, b, k, 1.0) for i, (a, b, k) in enumerate(edges)})
        return g.compute_layout(chart, "force", seed=7, cancel=cancel)
    except ImportError:
        import networkx as nx

        G = nx.Graph()
        G.add_nodes_from(n.id for n in nodes)
        G.add_edges_from((a, b) for a, b, _k in edges)
        pos = nx.spring_layout(G, seed=7)
        return {int(k): (float(v[0]), float(v[1])) for k, v in pos.items()}


def _category_labels(scheme_name: str) -> dict[str, tuple[str, bool]]:
    try:
        from workstation.media.categories import load_schemes

        scheme = load_schemes().get(scheme_name) or load_schemes().get("vic_us")
    except Exception:  # noqa: BLE001 - a broken scheme file must not stop a report
        return {}
    if scheme is None:
        return {}
    return {c.code: (c.label, c.known_bad) for c in scheme.categories}


def _document(ws: Workstation, d: _Data, sections: Sequence[str], generated: datetime,
              cancel: CancelToken | None, report: Progress) -> Document:
    c = d.case
    tz = d.tz
    digest = d.state
    doc = Document(title=f"Case report {c.number} — {c.title}", case_number=c.number,
                   footer=f"Case {c.number} · state {digest.short} · generated {generated.astimezone(tz):%Y-%m-%d %H:%M} "
                          f"{_offset(generated.astimezone(tz), 'UTC')}",
                   marking=MARKING)
    # ---------------------------------------------------------------- cover
    doc.add(Para("CASE REPORT", "muted"), Heading(c.number, 0), Para(mask_cards(c.title)))
    doc.add(KeyValues([
        ("Case number", c.number),
        ("Title", mask_cards(c.title)),
        ("Unit / agency", c.agency or "—"),
        ("Lead officer", c.lead_officer or "—"),
        ("Status", c.status + (f" (closed {_iso_local(c.closed_at, tz)})" if c.closed_at else "")),
        ("Opened", _iso_local(c.opened_at, tz)),
        ("Report date", f"{generated.astimezone(tz):%Y-%m-%d %H:%M} {_offset(generated.astimezone(tz))}"),
        ("Prepared by", f"{ws.settings.officer_name} ({ws.actor})" if ws.settings.officer_name else ws.actor),
        ("Times shown in", f"{d.tz_name} (the case's time zone)"),
        ("Sections", ", ".join(SECTION_TITLES[x] for x in sections) or "cover only"),
    ]))
    doc.add(Heading("Database state", 2))
    doc.add(Para("This report was made from one consistent snapshot of the case database. The state "
                 "digest below is SHA-256 over every record of the case (identity and version stamp, "
                 "in id order) and the audit trail up to the entry named. The same database state "
                 "always gives the same digest; run `workstation report CASE --state` to compare.",
                 "small"))
    doc.add(KeyValues([("State digest (SHA-256)", digest.digest),
                       ("Audit trail up to entry", f"#{digest.audit_seq}" + (f" (MAC {digest.audit_mac[:16]}…)" if digest.audit_mac else "")),
                       ("Records covered", f"{digest.rows:,}")], mono=frozenset({"State digest (SHA-256)"})))
    doc.add(PageBreak())
    n = len(sections)
    for i, sec in enumerate(sections):
        _check(cancel)
        report(0.55 + 0.2 * i / max(n, 1), f"section {SECTION_TITLES[sec]}")
        doc.add(Heading(SECTION_TITLES[sec], 1, sec))
        getattr(_Sections, sec)(ws, d, doc, cancel)
    return doc


class _Sections:
    """One function per section: (ws, data, document, cancel) → adds blocks."""

    @staticmethod
    def summary(ws: Workstation, d: _Data, doc: Document, cancel: CancelToken | None) -> None:
        c = d.case
        if c.summary:
            doc.add(Para(mask_cards(c.summary)))
        kinds = Counter(e.kind for e in d.entities.values())
        span = ("—" if d.first_ts is None else f"{_when(d.first_ts, d.tz)} to {_when(d.last_ts, d.tz)}")
        doc.add(KeyValues([
            ("Entities", f"{len(d.entities):,}" + (" — " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in kinds.most_common()) if kinds else "")),
            ("Events", f"{sum(d.event_kinds.values()):,}" + (" — " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in d.event_kinds.most_common()) if d.event_kinds else "")),
            ("Time span", span + (f"; {d.undated:,} undated" if d.undated else "")),
            ("Links", f"{len(d.links):,}"),
            ("Media files", f"{d.media_total:,}"),
            ("Sources imported", f"{len(d.sources):,}"),
            ("Notes", f"{d.note_count:,}"),
            ("Sharing", {"local": "kept on this workstation", "hq": "shared with HQ",
                         "agencies": "shared with " + (", ".join(c.shared_with) or "named agencies")}.get(c.sharing, c.sharing)),
        ]))
        if d.notes:
            doc.add(Heading("Case notes", 2))
            doc.add(Table(["Written", "By", "Note"],
                          [[_iso_local(n.created_at, d.tz), n.author, _excerpt(mask_cards(n.body), 600)] for n in d.notes],
                          widths=[0.2, 0.15, 0.65]))

    @staticmethod
    def people(ws: Workstation, d: _Data, doc: Document, cancel: CancelToken | None) -> None:
        persons = [e for e in d.entities.values() if e.kind == "person"]
        if not persons:
            doc.add(Para("No people recorded in this case.", "muted"))
            return
        neighbours: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for _id, a, b, kind, _c in d.links:
            neighbours[a].append((kind, b))
            neighbours[b].append((kind, a))
        persons.sort(key=lambda e: (-(e.links * 3 + e.events), e.label.casefold()))
        rows = []
        for p in persons[:MAX_PEOPLE]:
            idents = []
            for kind, other in neighbours.get(p.id, ()):
                o = d.entities.get(other)
                if o is None or o.kind == "person":
                    continue
                idents.append(f"{o.kind.replace('_', ' ')}: {o.shown} ({kind.replace('_', ' ')})")
            associates = [d.entities[o].shown for k, o in neighbours.get(p.id, ())
                          if o in d.entities and d.entities[o].kind == "person"]
            details = []
            if p.props.get("dob"):
                details.append(f"born {p.props['dob']}")
            if p.props.get("role"):
                details.append(str(p.props["role"]))
            if associates:
                details.append("associates: " + ", ".join(sorted(set(associates))))
            rows.append([p.shown, "; ".join(details) or "—", "\n".join(idents) or "—", f"{p.events:,}"])
        doc.add(Table(["Person", "Details", "Identifiers (link)", "Events"], rows,
                      widths=[0.2, 0.28, 0.42, 0.1], numeric=frozenset({3}),
                      note=(f"{len(persons) - MAX_PEOPLE:,} more people not listed." if len(persons) > MAX_PEOPLE else None)))

    @staticmethod
    def identifiers(ws: Workstation, d: _Data, doc: Document, cancel: CancelToken | None) -> None:
        idents = [e for e in d.entities.values() if e.kind in IDENTIFIER_KINDS]
        if not idents:
            doc.add(Para("No identifiers recorded in this case.", "muted"))
            return
        idents.sort(key=lambda e: (IDENTIFIER_KINDS.index(e.kind), -e.events, e.label.casefold()))
        shown = sorted(idents, key=lambda e: -e.events)[:MAX_IDENTIFIERS]
        keep = {e.id for e in shown}
        rows = []
        for e in idents:
            if e.id not in keep:
                continue
            rows.append([e.kind.replace("_", " "), e.shown, _ident_detail(e), f"{e.events:,}",
                         _when(e.first, d.tz) if e.first is not None else "—",
                         _when(e.last, d.tz) if e.last is not None else "—"])
        doc.add(Table(["Kind", "Identifier", "Detail", "Events", "First seen", "Last seen"], rows,
                      widths=[0.08, 0.26, 0.16, 0.08, 0.21, 0.21], numeric=frozenset({3}),
                      note="Payment cards are shown masked; the full number never leaves the database in a report."
                      + (f" {len(idents) - len(rows):,} less active identifiers not listed (see the entities export)."
                         if len(idents) > len(rows) else "")))

    @staticmethod
    def events(ws: Workstation, d: _Data, doc: Document, cancel: CancelToken | None) -> None:
        if not d.key_events:
            doc.add(Para("No events recorded in this case.", "muted"))
            return
        if d.key_mode == "starred":
            doc.add(Para(f"The {len(d.key_events):,} events the investigator starred"
                         + (f" (of {d.starred:,})" if d.starred > len(d.key_events) else "") + ", in time order.", "muted"))
        else:
            doc.add(Para("No event is starred in this case, so this is a sample: arrests and bookings, the "
                         "first event of each kind, and the events joining the most connected entities, "
                         "in time order. Star events in the timeline to choose them yourself.", "muted"))
        rows = []
        for r in d.key_events:
            parties = []
            for role, eid in d.parties.get(r.id, ()):
                ent = d.entities.get(eid)
                parties.append(f"{role.replace('_', ' ')}: {ent.shown if ent else f'#{eid}'}")
            props = json_object(r.properties)
            what = mask_cards(r.title or r.kind)
            if r.kind == "transaction" and props.get("amount") not in (None, ""):
                what += f" — {_money(props.get('amount'))} {props.get('currency') or ''}".rstrip()
            body = _excerpt(mask_cards(r.body))
            rows.append([_when(r.ts_utc, d.tz), r.kind.replace("_", " "), what + (f"\n{body}" if body else ""),
                         "\n".join(parties) or "—"])
        doc.add(Table(["When", "Kind", "What", "Parties"], rows, widths=[0.21, 0.1, 0.41, 0.28]))

    @staticmethod
    def timeline(ws: Workstation, d: _Data, doc: Document, cancel: CancelToken | None) -> None:
        if d.bins is None:
            doc.add(Para("No dated events in this case.", "muted"))
            return
        fig = timeline_figure(d.bins, d.tz, title=f"Events per {bucket_name(d.bins.bucket_us)}")
        total = sum(sum(v) for v in d.bins.counts.values())
        doc.add(FigureBlock(fig, f"Figure 1 — {total:,} dated events per {bucket_name(d.bins.bucket_us)} by kind, "
                                 f"{_when(d.first_ts, d.tz)} to {_when(d.last_ts, d.tz)} ({d.tz_name})."
                                 + (f" {d.undated:,} undated events are not drawn." if d.undated else "")))

    @staticmethod
    def link_chart(ws: Workstation, d: _Data, doc: Document, cancel: CancelToken | None) -> None:
        nodes, edges, positions, pool = _chart(ws, d, cancel)
        fig = link_chart_figure(nodes, edges, positions, title="Link chart")
        cap = (f"Figure 2 — {len(nodes):,} entities and {len(edges):,} links"
               + (f" (the {len(nodes):,} most connected of {pool:,})" if pool > len(nodes) else "")
               + ". Node size grows with links and events; colours show the entity kind.")
        doc.add(FigureBlock(fig, cap))
        kinds = Counter(k for _i, _a, _b, k, _c in d.links)
        if kinds:
            doc.add(Para("Links by kind: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in kinds.most_common()), "small"))

    @staticmethod
    def media(ws: Workstation, d: _Data, doc: Document, cancel: CancelToken | None) -> None:
        if not d.media_total:
            doc.add(Para("No media files recorded in this case.", "muted"))
            return
        labels = _category_labels(d.scheme)
        doc.add(Para("Counts and hashes only. This report never contains a picture of seized media.", "muted"))
        rows = []
        for cat, n in sorted(d.media_by_cat.items(), key=lambda kv: (kv[0] is None, str(kv[0]))):
            label, bad = labels.get(str(cat), (None, False)) if cat is not None else ("not yet categorised", False)
            rows.append([str(cat) if cat is not None else "—", label or "(not in the scheme)",
                         "yes" if bad else "no", f"{n:,}"])
        rows.append(["", "Total", "", f"{d.media_total:,}"])
        doc.add(Table(["Code", f"Category ({d.scheme})", "Known-bad", "Files"], rows,
                      widths=[0.1, 0.6, 0.12, 0.18], numeric=frozenset({3})))
        doc.add(Heading("Hashes", 2))
        hrows = [[str(r.category) if r.category is not None else "—", r.md5, r.sha256, f"{r.size:,}"]
                 for r in d.media_rows]
        doc.add(Table(["Cat.", "MD5", "SHA-256", "Bytes"], hrows, widths=[0.05, 0.27, 0.58, 0.10],
                      mono=frozenset({1, 2}), numeric=frozenset({3}),
                      note=(f"First {len(hrows):,} of {d.media_total:,} files; the VICS or CSV export lists all."
                            if d.media_total > len(hrows) else None)))

    @staticmethod
    def sources(ws: Workstation, d: _Data, doc: Document, cancel: CancelToken | None) -> None:
        if not d.sources:
            doc.add(Para("Nothing was imported into this case from a file (records were entered by hand).", "muted"))
            return
        rows = [[str(r.id), r.file_name, r.importer, f"{r.file_size:,}", f"{_iso_local(r.imported_at, d.tz)}\n{r.imported_by}",
                 r.sha256] for r in d.sources]
        doc.add(Table(["#", "File", "Read as", "Bytes", "Imported", "SHA-256"], rows,
                      widths=[0.05, 0.22, 0.12, 0.1, 0.18, 0.33], mono=frozenset({5}), numeric=frozenset({0, 3}),
                      note="Every imported record points to its source and to its row or offset in the file; "
                           "the SHA-256 proves the file imported is the file in evidence."))

    @staticmethod
    def audit(ws: Workstation, d: _Data, doc: Document, cancel: CancelToken | None) -> None:
        ver = ws.audit.verify()
        doc.add(Para(("The audit trail verifies: " if ver.ok else "WARNING — the audit trail does NOT verify: ")
                     + ver.message + ".", "muted" if ver.ok else "warning"))
        if not d.audit_rows:
            doc.add(Para("No audit entries about this case.", "muted"))
            return
        rows = []
        for r in d.audit_rows:
            try:
                det = json.loads(r.details)
            except ValueError:
                det = {}
            summary = ", ".join(f"{k}={_short(v)}" for k, v in sorted(det.items()) if k not in ("case_id",))[:200]
            rows.append([str(r.seq), _iso_local(r.at, d.tz), r.actor, r.action,
                         f"{r.target_type or ''} {r.target_id or ''}".strip(), mask_cards(summary)])
        doc.add(Table(["#", "When", "Who", "Action", "Target", "Details"], rows,
                      widths=[0.06, 0.17, 0.12, 0.13, 0.1, 0.42], numeric=frozenset({0}),
                      note=f"The last {len(rows)} entries about this case up to entry #{d.state.audit_seq}."))


def _money(value: Any) -> str:
    """An amount as written on a statement: two decimals, thousands separated."""
    from decimal import Decimal, InvalidOperation

    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


def _short(v: Any) -> str:
    t = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    return t if len(t) <= 60 else t[:59] + "…"


def _ident_detail(e: _Entity) -> str:
    p = e.props
    if e.kind == "account":
        return str(p.get("platform") or "")
    if e.kind == "card":
        return " ".join(x for x in (str(p.get("brand") or ""), "(partial)" if p.get("partial") else "") if x)
    if e.kind == "phone":
        return " ".join(str(x) for x in (p.get("region") or "", p.get("type") or "") if x).replace("_", " ")
    if e.kind == "email":
        return str(p.get("domain") or "")
    if e.kind == "ip":
        return f"IPv{p['version']}" if p.get("version") else ""
    return ""


# ====================================================================== entry point
def build_report(ws: Workstation, case_id: int, out_path: str | Path, *, fmt: str = "pdf",
                 sections: str | Iterable[str] | None = None, progress: Progress | None = None,
                 cancel: CancelToken | None = None, key_events: int = 25, page_size: str = "A4",
                 generated_at: datetime | None = None) -> ReportInfo:
    """Write the report of case ``case_id`` to ``out_path`` as ``fmt`` (pdf | html).

    ``sections`` chooses what follows the cover (see :data:`SECTIONS`; default all).
    Reads one snapshot; renders in memory; writes atomically; audits the export
    (``report.pdf`` / ``report.html`` with path and SHA-256). See the module docstring for
    errors. Thread: a worker (blocks for seconds on large cases).
    """
    fmt = (fmt or "").lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(f"report format must be one of {', '.join(FORMATS)}")
    chosen = parse_sections(sections)
    report = progress or (lambda f, m: None)
    generated = generated_at or clock.utcnow()
    from workstation.reports.atomic import check_target

    check_target(out_path)  # a bad target fails before any work
    report(0.02, "reading the case")
    with ws.db.read() as conn:
        data = _collect(ws, conn, case_id, chosen, max(1, key_events), report, cancel)
    _check(cancel)
    doc = _document(ws, data, chosen, generated, cancel, report)
    _check(cancel)
    report(0.8, f"rendering {fmt.upper()}")
    pages: int | None = None
    if fmt == "pdf":
        buf = io.BytesIO()
        pages = render_pdf(doc, buf, page_size=page_size)
        payload = buf.getvalue()
    else:
        payload = render_html(doc).encode("utf-8")
    _check(cancel)
    report(0.95, "writing the file")
    with atomic_write(out_path) as (fh, result):
        fh.write(payload)
    ws.record_export(f"report.{fmt}", str(result.path), result.sha256, {
        "case_id": case_id, "case": data.case.number, "sections": list(chosen), "bytes": result.size,
        "state_digest": data.state.digest, "audit_seq": data.state.audit_seq})
    report(1.0, f"report written to {result.path.name}")
    return ReportInfo(result.path, fmt, result.sha256, result.size, pages, data.state, chosen,
                      data.case.number, clock.iso(generated))


__all__ = ["build_report", "ReportInfo", "SECTIONS", "SECTION_TITLES", "FORMATS", "parse_sections"]
