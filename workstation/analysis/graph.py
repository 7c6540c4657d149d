"""The link chart's core: what is on a chart, how it is laid out, analysed, saved and exported.

No Qt here. The chart view (``ui/linkchart``) draws what these functions compute; the CLI
and tests call them directly.

Model
    A chart holds :class:`ChartNode` s (entities) and :class:`ChartLink` s. A link is a
    stored link row (``origin="link"``), or a derived connection: two entities that take
    part in the same events (``"co_occurs"``, optional), or two entities of different
    cases that carry the same normalised identifier key (``"same_key"`` — the cross-case
    connection). Several links between one pair are drawn as one :class:`LinkBundle`
    according to the chart's *multiplicity* (as i2 Analyst's Notebook does): ``single``
    (one line per pair), ``directed`` (one line per direction) or ``multiple`` (one line per
    link). Confidence becomes the line style: solid ≥ 0.8, dashed ≥ 0.5, dotted below —
    i2's Confirmed / Unconfirmed / Tentative strengths.

Building
    :func:`chart_from_case`, :func:`chart_from_entities` (a selection or search results)
    and :func:`expand` (neighbours of some nodes, filtered by link and entity kind,
    optionally across cases through same-key entities) read the database through
    ``ws.db.read()``; merged entities are represented by their survivor and tombstones are
    ignored.

Layouts
    :func:`force_layout` (Fruchterman–Reingold; beyond a couple of hundred nodes the
    repulsion is exact only between nodes of neighbouring grid cells, and the rest comes
    from the cell masses convolved with the FR kernel by FFT, so 5,000 nodes / 20,000
    edges take about 1.5 s of one core), :func:`hierarchical_layout`
    (layers by BFS from roots), :func:`circular_layout`, :func:`grouped_layout` (one block
    per case) and :func:`incremental_layout` (existing nodes keep their place exactly;
    new ones start next to their neighbours). Force layouts then pack separate components
    side by side and :func:`remove_overlaps` nudges apart nodes whose labels would
    collide. All are deterministic for a given seed.
    :func:`compute_layout` applies one to a chart honouring pinned and hidden nodes; it
    takes ``progress(fraction, message)`` and a cancel token (``is_set()``), so the UI
    runs it as a background task.

Analysis
    :func:`shortest_path` and :func:`centrality` (degree, or betweenness sampled with
    ``k`` pivots on big charts) over the visible chart, with networkx.

Saved charts
    :func:`save_chart` / :func:`load_chart` / :func:`list_charts` / :func:`delete_chart`
    keep a :class:`ChartState` (positions, hidden, pinned, groups, options) as JSON in the
    ``meta`` table under ``chart:<case uid>:<name>``; saving and deleting are audited.

Export
    :func:`write_graphml` (networkx; node and edge attributes kind, label, key, case,
    confidence…) and :func:`write_anx` (i2 Analyst's Notebook ANX XML written by us:
    ``Chart`` with strength, attribute class, entity type and link type collections and a
    ``ChartItemCollection`` of ``End/Entity/Icon/IconStyle`` and ``Link/LinkStyle``
    items). :func:`record_chart_export` audits a written file (any format, PNG/SVG too).

Thread-safety: every function is safe from a worker thread; database functions open their
own transaction.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import xml.etree.ElementTree as ET
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Protocol

import networkx as nx
import numpy as np
from sqlalchemy import Connection, and_, func, or_, select

from workstation import clock
from workstation.domain.models import Changes
from workstation.errors import BadInput, Cancelled, NotFound, UsageError
from workstation.store import schema as s

__all__ = [
    "ANX_ICON_FILES",
    "CENTRALITY_MEASURES",
    "LAYOUTS",
    "MULTIPLICITIES",
    "ChartData",
    "ChartGroup",
    "ChartLink",
    "ChartNode",
    "ChartPath",
    "ChartState",
    "LinkBundle",
    "SavedChart",
    "centrality",
    "chart_additions",
    "chart_from_case",
    "chart_from_entities",
    "chart_key",
    "circular_layout",
    "compute_layout",
    "delete_chart",
    "expand",
    "force_layout",
    "grouped_layout",
    "hierarchical_layout",
    "incremental_layout",
    "line_style",
    "list_charts",
    "pack_components",
    "remove_overlaps",
    "load_chart",
    "record_chart_export",
    "save_chart",
    "shortest_path",
    "summarise_links",
    "write_anx",
    "write_graphml",
]

MULTIPLICITIES: tuple[str, ...] = ("single", "directed", "multiple")
LAYOUTS: tuple[str, ...] = ("force", "hierarchical", "circular", "grouped")
CENTRALITY_MEASURES: tuple[str, ...] = ("degree", "betweenness")
LINK_ORIGINS: tuple[str, ...] = ("link", "co_occurs", "same_key")

# Ideal distance between linked nodes, in scene units (an icon is about 36 wide and its
# label up to about 150): the layouts space nodes so labels rarely collide.
NODE_SPACING = 150.0
# Room a node needs on the chart: its icon and up to about 140 units of label below it.
LABEL_BOX: tuple[float, float] = (136.0, 62.0)
CO_OCCURS_CONFIDENCE = 0.5
MAX_CHART_NODES = 50_000
MAX_NAME_LENGTH = 80
STATE_VERSION = 1
_CHUNK = 900
# Above this many nodes the force layout uses the grid approximation.
_EXACT_LIMIT = 200
# Betweenness is exact up to this many nodes, sampled with this many pivots above.
_BETWEENNESS_EXACT = 600
_BETWEENNESS_PIVOTS = 256


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


Progress = Callable[[float | None, str], None]


def _no_progress(_fraction: float | None, _message: str = "") -> None:
    return None


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("layout cancelled")


# ====================================================================== the model
@dataclass(frozen=True)
class ChartNode:
    """An entity on the chart. ``case_number`` names its case (for labels and grouping)."""

    entity_id: int
    case_id: int
    case_number: str
    kind: str
    label: str
    key: str | None = None


@dataclass(frozen=True)
class ChartLink:
    """One connection between two chart nodes.

    ``id`` is unique on the chart: ``L<link id>`` for a stored link, ``C<a>-<b>`` for a
    co-occurrence (``weight`` = number of shared events), ``K<a>-<b>`` for a same-key
    connection between cases. Co-occurrences and same-key connections have no direction.
    """

    id: str
    src_id: int
    dst_id: int
    kind: str
    confidence: float
    origin: str = "link"
    link_id: int | None = None
    case_id: int | None = None
    weight: int = 1

    @property
    def directed(self) -> bool:
        return self.origin == "link"


@dataclass
class ChartData:
    """Nodes and links of a chart (or the additions an expansion brings).

    ``truncated`` says a limit cut the result short (the officer is told).
    """

    nodes: dict[int, ChartNode] = field(default_factory=dict)
    links: dict[str, ChartLink] = field(default_factory=dict)
    truncated: bool = False

    def merge(self, other: ChartData) -> ChartData:
        """A new chart holding both (entries of ``other`` win on equal ids)."""
        return ChartData({**self.nodes, **other.nodes}, {**self.links, **other.links},
                         self.truncated or other.truncated)

    def without(self, entity_ids: Iterable[int]) -> ChartData:
        """A new chart without these nodes and the links touching them."""
        gone = set(entity_ids)
        return ChartData({i: n for i, n in self.nodes.items() if i not in gone},
                         {k: l for k, l in self.links.items() if l.src_id not in gone and l.dst_id not in gone},
                         self.truncated)

    def links_of(self, entity_id: int) -> list[ChartLink]:
        return [l for l in self.links.values() if entity_id in (l.src_id, l.dst_id)]

    @property
    def case_ids(self) -> set[int]:
        return {n.case_id for n in self.nodes.values()}


@dataclass(frozen=True)
class LinkBundle:
    """The links drawn as one line (see :func:`summarise_links`).

    ``a``/``b`` are the two ends (``a < b`` except in ``directed`` and ``multiple`` mode,
    where ``a`` is the source); ``forward``/``backward`` count the directed links a→b and
    b→a, ``undirected`` the rest; ``confidence`` is the strongest link's (the line style
    shows the best evidence; the tooltip lists every link); ``lane`` numbers the lines
    between the same two nodes (0 for the first) so the view can fan them out.
    """

    key: str
    a: int
    b: int
    link_ids: tuple[str, ...]
    kinds: tuple[str, ...]
    forward: int
    backward: int
    undirected: int
    confidence: float
    origins: tuple[str, ...]
    lane: int = 0
    lanes: int = 1

    @property
    def count(self) -> int:
        return len(self.link_ids)

    @property
    def arrow_at_b(self) -> bool:
        return self.forward > 0

    @property
    def arrow_at_a(self) -> bool:
        return self.backward > 0

    @property
    def style(self) -> str:
        return line_style(self.confidence)

    @property
    def label(self) -> str:
        """What the line says: the kind (``uses``), or the kinds (``uses, owns``)."""
        names = [k.replace("_", " ") for k in self.kinds]
        if len(names) <= 2:
            return ", ".join(names)
        return f"{names[0]}, {names[1]} +{len(names) - 2}"


def line_style(confidence: float) -> str:
    """``solid`` for confidence ≥ 0.8, ``dashed`` for ≥ 0.5, ``dotted`` below."""
    if confidence >= 0.8:
        return "solid"
    if confidence >= 0.5:
        return "dashed"
    return "dotted"


def summarise_links(links: Iterable[ChartLink], mode: str = "single") -> list[LinkBundle]:
    """Bundle links for drawing, like i2's link multiplicity.

    ``single``: one bundle per pair of nodes (arrows at whichever ends links point to);
    ``directed``: one bundle per direction (undirected links join the a→b bundle of the
    pair, ``a < b``); ``multiple``: one bundle per link. Bundles come in a stable order
    (by pair, then link id) and carry ``lane``/``lanes`` for fanning out parallel lines.
    Raises UsageError for an unknown mode.
    """
    if mode not in MULTIPLICITIES:
        raise UsageError(f"multiplicity must be one of {', '.join(MULTIPLICITIES)}")
    groups: dict[tuple[Any, ...], list[ChartLink]] = defaultdict(list)
    for link in links:
        lo, hi = sorted((link.src_id, link.dst_id))
        if mode == "single":
            groups[(lo, hi)].append(link)
        elif mode == "directed":
            if link.directed:
                groups[(lo, hi, link.src_id, link.dst_id)].append(link)
            else:
                groups[(lo, hi, lo, hi)].append(link)
        else:
            groups[(lo, hi, link.id)].append(link)
    bundles: list[LinkBundle] = []
    def order(k: tuple[Any, ...]) -> tuple[Any, ...]:
        return k if mode != "multiple" else (k[0], k[1], _link_sort_key(k[2]))

    for gkey in sorted(groups, key=order):
        members = sorted(groups[gkey], key=lambda l: _link_sort_key(l.id))
        lo, hi = gkey[0], gkey[1]
        if mode == "single":
            a, b = lo, hi
        elif mode == "directed":
            a, b = gkey[2], gkey[3]
        else:
            only = members[0]
            a, b = (only.src_id, only.dst_id) if only.directed else (lo, hi)
        forward = sum(1 for l in members if l.directed and (l.src_id, l.dst_id) == (a, b))
        backward = sum(1 for l in members if l.directed and (l.src_id, l.dst_id) == (b, a))
        kinds = tuple(dict.fromkeys(l.kind for l in members))
        key = f"{a}-{b}" if mode != "multiple" else members[0].id
        if mode == "directed":
            key = f"{a}>{b}"
        bundles.append(LinkBundle(key, a, b, tuple(l.id for l in members), kinds, forward, backward,
                                  len(members) - forward - backward, max(l.confidence for l in members),
                                  tuple(dict.fromkeys(l.origin for l in members))))
    # Number parallel lines between the same two nodes.
    per_pair: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, bnd in enumerate(bundles):
        per_pair[(min(bnd.a, bnd.b), max(bnd.a, bnd.b))].append(i)
    for idxs in per_pair.values():
        if len(idxs) > 1:
            for lane, i in enumerate(idxs):
                bundles[i] = replace(bundles[i], lane=lane, lanes=len(idxs))
    return bundles


def _link_sort_key(link_id: str) -> tuple[str, int, int]:
    m = re.fullmatch(r"([A-Z])(\d+)(?:-(\d+))?", link_id)
    if not m:
        return (link_id, 0, 0)
    return (m.group(1), int(m.group(2)), int(m.group(3) or 0))


# ====================================================================== building from the database
def _survivors(conn: Connection, ids: Iterable[int]) -> dict[int, int]:
    """Each live id → the live entity that stands for it (itself, or what it was merged into)."""
    want = {int(i) for i in ids}
    rows: dict[int, tuple[int | None, bool]] = {}
    frontier = set(want)
    while frontier:
        batch = list(frontier)
        frontier = set()
        for chunk in _chunks(batch):
            for r in conn.execute(select(s.entity.c.id, s.entity.c.merged_into, s.entity.c.deleted)
                                  .where(s.entity.c.id.in_(chunk))):
                rows[int(r.id)] = (r.merged_into, bool(r.deleted))
                if r.merged_into is not None and int(r.merged_into) not in rows:
                    frontier.add(int(r.merged_into))
    out: dict[int, int] = {}
    for i in want:
        cur, seen = i, set()
        while cur in rows and rows[cur][0] is not None and cur not in seen:
            seen.add(cur)
            cur = int(rows[cur][0])  # type: ignore[arg-type]
        if cur in rows and not rows[cur][1] and rows[cur][0] is None:
            out[i] = cur
    return out


def _chunks(items: Sequence[int], n: int = _CHUNK) -> Iterable[Sequence[int]]:
    items = list(items)
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _live_entity_filter() -> Any:
    return and_(s.entity.c.deleted.is_(False), s.entity.c.merged_into.is_(None))


def _node_query() -> Any:
    return (select(s.entity.c.id, s.entity.c.case_id, s.case.c.number, s.entity.c.kind, s.entity.c.label,
                   s.entity.c.key)
            .join(s.case, s.case.c.id == s.entity.c.case_id)
            .where(_live_entity_filter(), s.case.c.deleted.is_(False)))


def _node(r: Any) -> ChartNode:
    return ChartNode(int(r.id), int(r.case_id), str(r.number), str(r.kind), str(r.label), r.key)


def _load_nodes(conn: Connection, ids: Iterable[int]) -> dict[int, ChartNode]:
    out: dict[int, ChartNode] = {}
    for chunk in _chunks(sorted(set(ids))):
        for r in conn.execute(_node_query().where(s.entity.c.id.in_(chunk))):
            out[int(r.id)] = _node(r)
    return out


def _link(r: Any) -> ChartLink:
    return ChartLink(f"L{r.id}", int(r.src_id), int(r.dst_id), str(r.kind), float(r.confidence), "link",
                     int(r.id), int(r.case_id))


_LINK_COLS = (s.link.c.id, s.link.c.src_id, s.link.c.dst_id, s.link.c.kind, s.link.c.confidence, s.link.c.case_id)


def _links_among(conn: Connection, ids: Collection[int], touching: Collection[int] | None = None) -> dict[str, ChartLink]:
    """Live links with both ends in ``ids`` (and, if given, one end in ``touching``)."""
    members = set(ids)
    probe = sorted(set(touching) if touching is not None else members)
    out: dict[str, ChartLink] = {}
    for chunk in _chunks(probe):
        q = select(*_LINK_COLS).where(s.link.c.deleted.is_(False),
                                      or_(s.link.c.src_id.in_(chunk), s.link.c.dst_id.in_(chunk)))
        for r in conn.execute(q):
            if int(r.src_id) in members and int(r.dst_id) in members and r.src_id != r.dst_id:
                out[f"L{r.id}"] = _link(r)
    return out


def _co_occurrences(conn: Connection, ids: Collection[int], touching: Collection[int] | None = None) -> dict[str, ChartLink]:
    """Pairs of chart nodes that are parties to the same live events (one link per pair)."""
    members = set(ids)
    probe = sorted(set(touching) if touching is not None else members)
    a, b = s.event_party.alias("a"), s.event_party.alias("b")
    counts: dict[tuple[int, int], set[int]] = defaultdict(set)
    for chunk in _chunks(probe):
        q = (select(a.c.entity_id, b.c.entity_id.label("other"), a.c.event_id)
             .join(b, and_(b.c.event_id == a.c.event_id, b.c.entity_id != a.c.entity_id))
             .join(s.event, s.event.c.id == a.c.event_id)
             .where(a.c.entity_id.in_(chunk), s.event.c.deleted.is_(False)))
        for r in conn.execute(q):
            x, y = int(r.entity_id), int(r.other)
            if x in members and y in members:
                counts[(min(x, y), max(x, y))].add(int(r.event_id))
    return {f"C{x}-{y}": ChartLink(f"C{x}-{y}", x, y, "co_occurs", CO_OCCURS_CONFIDENCE, "co_occurs", weight=len(ev))
            for (x, y), ev in counts.items()}


def _same_key_links(nodes: Mapping[int, ChartNode]) -> dict[str, ChartLink]:
    """Same identifier key held by nodes of different cases: the cross-case connections."""
    by_key: dict[str, list[ChartNode]] = defaultdict(list)
    for n in nodes.values():
        if n.key:
            by_key[n.key].append(n)
    out: dict[str, ChartLink] = {}
    for group in by_key.values():
        if len(group) < 2:
            continue
        group = sorted(group, key=lambda n: n.entity_id)
        # A chain through the holders in case order is enough to show they are one thing.
        for x, y in zip(group, group[1:], strict=False):
            if x.case_id != y.case_id:
                out[f"K{x.entity_id}-{y.entity_id}"] = ChartLink(
                    f"K{x.entity_id}-{y.entity_id}", x.entity_id, y.entity_id, "same_key", 1.0, "same_key")
    return out


def _derived(conn: Connection, nodes: Mapping[int, ChartNode], co_occurrence: bool,
             touching: Collection[int] | None = None) -> dict[str, ChartLink]:
    out = _links_among(conn, nodes.keys(), touching)
    if co_occurrence:
        out.update(_co_occurrences(conn, nodes.keys(), touching))
    out.update(_same_key_links(nodes))
    return out


def chart_from_case(ws: Any, case_id: int, *, co_occurrence: bool = False,
                    max_nodes: int = MAX_CHART_NODES) -> ChartData:
    """Every live entity of a case and the links between them (``co_occurrence`` adds a
    ``co_occurs`` link for each pair sharing events). More than ``max_nodes`` entities are
    cut to the first ``max_nodes`` by id, with ``truncated`` set. Raises NotFound for an
    unknown or deleted case."""
    with ws.db.read() as conn:
        case = conn.execute(select(s.case.c.id).where(s.case.c.id == case_id, s.case.c.deleted.is_(False))).first()
        if case is None:
            raise NotFound(f"no case with id {case_id}")
        rows = conn.execute(_node_query().where(s.entity.c.case_id == case_id)
                            .order_by(s.entity.c.id).limit(max_nodes + 1)).fetchall()
        truncated = len(rows) > max_nodes
        nodes = {int(r.id): _node(r) for r in rows[:max_nodes]}
        links: dict[str, ChartLink] = {}
        q = select(*_LINK_COLS).where(s.link.c.case_id == case_id, s.link.c.deleted.is_(False))
        for r in conn.execute(q):
            if int(r.src_id) in nodes and int(r.dst_id) in nodes and r.src_id != r.dst_id:
                links[f"L{r.id}"] = _link(r)
        # Links stored in another case but joining two of these entities count too.
        if not truncated:
            links.update(_links_among(conn, nodes.keys()))
        if co_occurrence:
            links.update(_co_occurrences(conn, nodes.keys()))
    return ChartData(nodes, links, truncated)


def chart_from_entities(ws: Any, entity_ids: Iterable[int], *, co_occurrence: bool = False) -> ChartData:
    """A chart of the given entities (a selection, or search results) and the links among
    them; merged ids are replaced by their survivor, deleted ones dropped. Entities of
    several cases may be mixed: same-key connections between them are added."""
    ids = list(dict.fromkeys(int(i) for i in entity_ids))
    if len(ids) > MAX_CHART_NODES:
        raise UsageError(f"a chart holds at most {MAX_CHART_NODES} entities ({len(ids)} asked)")
    with ws.db.read() as conn:
        surv = _survivors(conn, ids)
        nodes = _load_nodes(conn, surv.values())
        links = _derived(conn, nodes, co_occurrence)
    return ChartData(nodes, links)


def chart_additions(ws: Any, chart: ChartData, entity_ids: Iterable[int], *,
                    co_occurrence: bool = False) -> ChartData:
    """What adding ``entity_ids`` (e.g. search results) to ``chart`` brings: those not on
    it yet and every link between them and what the chart holds (same-key connections
    and, with ``co_occurrence``, shared events included)."""
    ids = [int(i) for i in entity_ids]
    with ws.db.read() as conn:
        surv = _survivors(conn, ids)
        new_nodes = _load_nodes(conn, {i for i in surv.values() if i not in chart.nodes})
        if len(chart.nodes) + len(new_nodes) > MAX_CHART_NODES:
            raise UsageError(f"a chart holds at most {MAX_CHART_NODES} entities")
        if not new_nodes:
            return ChartData()
        everything = {**chart.nodes, **new_nodes}
        links = _links_among(conn, everything.keys(), new_nodes.keys())
        if co_occurrence:
            links.update(_co_occurrences(conn, everything.keys(), new_nodes.keys()))
        links.update({k: l for k, l in _same_key_links(everything).items()
                      if l.src_id in new_nodes or l.dst_id in new_nodes})
    return ChartData(new_nodes, links)


def _other_case_holders(ws: Any, conn: Connection, seeds: Mapping[int, ChartNode],
                        allowed_cases: Collection[int] | None, limit: int) -> set[int]:
    """Entities of other cases holding the same identifier as a seed (the service's
    cross-case matcher when available; a plain key join otherwise)."""
    found: set[int] = set()
    try:
        from workstation.analysis.matching import other_occurrences
    except ImportError:  # pragma: no cover - the matcher ships with the app
        other_occurrences = None  # type: ignore[assignment]
    if other_occurrences is not None and len(seeds) <= 200:
        for eid in seeds:
            for occ in other_occurrences(ws, eid):
                if allowed_cases is None or occ.case_id in allowed_cases:
                    found.add(int(occ.entity_id))
            if len(found) > limit:
                break
        return found
    keys = {n.key for n in seeds.values() if n.key}
    seed_cases = {n.case_id for n in seeds.values()}
    for chunk in _chunks(sorted(keys)):  # type: ignore[arg-type]
        q = (select(s.entity.c.id, s.entity.c.case_id, s.entity.c.key)
             .join(s.case, s.case.c.id == s.entity.c.case_id)
             .where(s.entity.c.key.in_(chunk), _live_entity_filter(), s.case.c.deleted.is_(False)))
        for r in conn.execute(q):
            if allowed_cases is not None and int(r.case_id) not in allowed_cases:
                continue
            if int(r.case_id) in seed_cases and len(seed_cases) == 1:
                continue
            found.add(int(r.id))
    return found


def expand(ws: Any, chart: ChartData, entity_ids: Iterable[int], *,
           link_kinds: Collection[str] | None = None, entity_kinds: Collection[str] | None = None,
           cross_case: bool = False, allowed_cases: Collection[int] | None = None,
           co_occurrence: bool = False, limit: int = 500) -> ChartData:
    """What expanding ``entity_ids`` adds to ``chart``: their neighbours through live links
    (only links of ``link_kinds`` and neighbours of ``entity_kinds`` when given), entities
    sharing events with them when ``co_occurrence`` is set, and — with ``cross_case`` —
    entities of other cases carrying the same identifier key (restricted to
    ``allowed_cases`` when given), together with every link (of any kind) between the new
    nodes and what the chart holds. At most ``limit`` new nodes (closest ids first; ``truncated``
    set when more were found). Nodes already on the chart are not repeated."""
    seeds_wanted = [int(i) for i in entity_ids]
    present = set(chart.nodes)
    kinds_ok = set(entity_kinds) if entity_kinds else None
    lkinds = {k.lower() for k in link_kinds} if link_kinds else None
    with ws.db.read() as conn:
        surv = _survivors(conn, seeds_wanted)
        seeds = {i: chart.nodes[i] for i in surv.values() if i in chart.nodes}
        missing = [i for i in surv.values() if i not in seeds]
        seeds.update(_load_nodes(conn, missing))
        candidates: set[int] = set()
        for chunk in _chunks(sorted(seeds)):
            q = select(s.link.c.src_id, s.link.c.dst_id, s.link.c.kind).where(
                s.link.c.deleted.is_(False), or_(s.link.c.src_id.in_(chunk), s.link.c.dst_id.in_(chunk)))
            for r in conn.execute(q):
                if lkinds is not None and str(r.kind).lower() not in lkinds:
                    continue
                for end in (int(r.src_id), int(r.dst_id)):
                    if end not in seeds:
                        candidates.add(end)
        if co_occurrence and (lkinds is None or "co_occurs" in lkinds):
            a, b = s.event_party.alias("a"), s.event_party.alias("b")
            for chunk in _chunks(sorted(seeds)):
                q = (select(b.c.entity_id).distinct()
                     .join(a, a.c.event_id == b.c.event_id)
                     .join(s.event, s.event.c.id == a.c.event_id)
                     .where(a.c.entity_id.in_(chunk), s.event.c.deleted.is_(False)))
                candidates.update(int(r[0]) for r in conn.execute(q) if int(r[0]) not in seeds)
        if cross_case and (lkinds is None or "same_key" in lkinds):
            candidates.update(_other_case_holders(ws, conn, seeds, allowed_cases, limit))
        candidates -= present
        candidates -= set(seeds)
        new_nodes = _load_nodes(conn, candidates)
        if kinds_ok is not None:
            new_nodes = {i: n for i, n in new_nodes.items() if n.kind in kinds_ok}
        truncated = len(new_nodes) > limit
        if truncated:
            new_nodes = {i: new_nodes[i] for i in sorted(new_nodes)[:limit]}
        # Seeds asked for but not on the chart yet come along.
        for i, n in seeds.items():
            if i not in present:
                new_nodes.setdefault(i, n)
        everything = {**chart.nodes, **new_nodes}
        # The kind filter chooses which neighbours come; once on the chart, every link
        # among its entities shows (as a refresh would show it anyway).
        links = _links_among(conn, everything.keys(), new_nodes.keys()) if new_nodes else {}
        if co_occurrence and new_nodes:
            links.update(_co_occurrences(conn, everything.keys(), new_nodes.keys()))
        same = {k: l for k, l in _same_key_links(everything).items()
                if l.src_id in new_nodes or l.dst_id in new_nodes}
        links.update(same)
    return ChartData(new_nodes, links, truncated)


# ====================================================================== layouts
def _as_edges(edges: Any, n: int) -> np.ndarray:
    arr = np.asarray(edges, dtype=np.int64).reshape(-1, 2) if len(edges) else np.zeros((0, 2), np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise UsageError("an edge refers to a node index outside the layout")
    return arr[arr[:, 0] != arr[:, 1]]


def _ragged_arange(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for every (s, c), without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    ends = np.cumsum(counts)
    offsets = np.repeat(starts - (ends - counts), counts)
    return offsets + np.arange(total, dtype=np.int64)


def _repulsion_exact(P: np.ndarray, k2: float, cutoff2: float | None = None) -> np.ndarray:
    dx = P[:, 0][:, None] - P[:, 0][None, :]
    dy = P[:, 1][:, None] - P[:, 1][None, :]
    d2 = dx * dx + dy * dy
    w = k2 / np.maximum(d2, 0.01 * k2)
    if cutoff2 is not None:
        w[d2 > cutoff2] = 0.0
    np.fill_diagonal(w, 0.0)
    return np.stack([(w * dx).sum(axis=1), (w * dy).sum(axis=1)], axis=1)


def _repulsion_grid(P: np.ndarray, k2: float, k: float, max_cells: int,
                    far: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """FR repulsion: exact between nodes of the same or adjacent grid cells (first array),
    and through cell centroids (mass-weighted) from all farther cells (second array,
    zero when ``far`` is False). Cells are at least ``k`` wide."""
    n = len(P)
    X, Y = P[:, 0], P[:, 1]
    lo_x, lo_y = float(X.min()), float(Y.min())
    span = max(float(X.max()) - lo_x, float(Y.max()) - lo_y) + 1e-6
    g = int(max(1, min(max_cells, span // k)))
    h = span / g
    cx = np.minimum(((X - lo_x) / h).astype(np.int64), g - 1)
    cy = np.minimum(((Y - lo_y) / h).astype(np.int64), g - 1)
    cid = cy * g + cx
    order = np.argsort(cid, kind="stable")
    # Work in cell order so the gathers below read memory mostly in sequence.
    SX, SY = X[order], Y[order]
    fx_s = np.zeros(n)
    fy_s = np.zeros(n)
    floor = 0.01 * k2
    for I, J in _adjacent_cell_pairs(cx, cy, g, order):
        ddx = SX[I] - SX[J]
        ddy = SY[I] - SY[J]
        w = k2 / np.maximum(ddx * ddx + ddy * ddy, floor)
        ddx *= w
        ddy *= w
        fx_s += np.bincount(I, ddx, n) - np.bincount(J, ddx, n)
        fy_s += np.bincount(I, ddy, n) - np.bincount(J, ddy, n)
    near_f = np.empty_like(P)
    near_f[order, 0] = fx_s
    near_f[order, 1] = fy_s
    if not far:
        return near_f, np.zeros_like(P)
    return near_f, _far_field(cid, g, h, k2)


@functools.lru_cache(maxsize=8)
def _far_kernel(g: int) -> tuple[np.ndarray, np.ndarray]:
    """FFTs of the unit far-field kernel Δ/|Δ|² (zero on adjacent cells) for a g×g grid."""
    off = np.arange(-(g - 1), g)
    dy, dx = np.meshgrid(off, off, indexing="ij")
    r2 = (dx * dx + dy * dy).astype(np.float64)
    adjacent = (np.abs(dx) <= 1) & (np.abs(dy) <= 1)
    r2[adjacent] = 1.0
    shape = (3 * g, 3 * g)
    kx = np.where(adjacent, 0.0, dx / r2)
    ky = np.where(adjacent, 0.0, dy / r2)
    return np.fft.rfft2(kx, shape), np.fft.rfft2(ky, shape)


def _far_field(cid: np.ndarray, g: int, h: float, k2: float) -> np.ndarray:
    """Repulsion on each node from every grid cell not adjacent to its own: the cell
    masses convolved (by FFT) with the FR kernel k²·Δ/|Δ|², evaluated at cell centres."""
    n = len(cid)
    far_f = np.zeros((n, 2))
    if g < 3:
        return far_f
    mass = np.bincount(cid, minlength=g * g).reshape(g, g).astype(np.float64)
    kx, ky = _far_kernel(g)
    shape = (3 * g, 3 * g)
    fm = np.fft.rfft2(mass, shape) * (k2 / h)
    fx = np.fft.irfft2(fm * kx, shape)[g - 1:2 * g - 1, g - 1:2 * g - 1]
    fy = np.fft.irfft2(fm * ky, shape)[g - 1:2 * g - 1, g - 1:2 * g - 1]
    far_f[:, 0] = fx.reshape(-1)[cid]
    far_f[:, 1] = fy.reshape(-1)[cid]
    return far_f


def force_layout(n: int, edges: Any, *, init: np.ndarray | None = None, fixed: np.ndarray | None = None,
                 weights: np.ndarray | None = None, seed: int = 0, iterations: int | None = None,
                 k: float = NODE_SPACING, temperature: float | None = None, gravity: float = 1.0,
                 progress: Progress | None = None, cancel: CancelToken | None = None,
                 max_cells: int = 128, far_field: bool = True) -> np.ndarray:
    """Fruchterman–Reingold positions (n × 2) for ``n`` nodes and ``edges`` (index pairs).

    ``init`` gives starting positions (random in a square sized for ``n`` otherwise, from
    ``seed``); rows where ``fixed`` is True never move. Repulsion is exact up to a few
    hundred nodes, then approximated on a grid (see module doc). ``gravity`` pulls every
    node gently to the centre so separate components stay in view. Without ``far_field``
    nodes repel only neighbours within a few ``k`` (used to settle new nodes among fixed
    ones without the whole chart pushing them out). Deterministic for a given input and
    seed. Raises Cancelled when ``cancel`` is set.
    """
    progress = progress or _no_progress
    E = _as_edges(edges, n)
    if n == 0:
        return np.zeros((0, 2))
    rng = np.random.default_rng(seed)
    side = k * math.sqrt(n) * 1.2
    P = (np.array(init, dtype=np.float64, copy=True) if init is not None
         else rng.uniform(-side / 2, side / 2, size=(n, 2)))
    if P.shape != (n, 2):
        raise UsageError(f"initial positions must be {n} × 2")
    moving = np.ones(n, bool) if fixed is None else ~np.asarray(fixed, bool)
    if n == 1 or not moving.any():
        return P
    W = np.ones(len(E)) if weights is None else np.asarray(weights, np.float64)
    if iterations is None:
        iterations = 300 if n <= 100 else 200 if n <= 1000 else 150 if n <= 6000 else 90
    k2 = k * k
    span = float(max(np.ptp(P[:, 0]), np.ptp(P[:, 1]), k))
    t0 = temperature if temperature is not None else max(span / 8.0, k)
    t_end = k * 0.02
    centre_fixed = P[~moving].mean(axis=0) if (~moving).any() else None
    exact = n <= _EXACT_LIMIT
    for it in range(iterations):
        if it % 5 == 0:
            _check(cancel)
            progress(it / iterations, "Laying out")
        if exact:
            F = _repulsion_exact(P, k2, None if far_field else 9 * k2)
        else:
            near_f, far_f = _repulsion_grid(P, k2, k, max_cells, far=far_field)
            F = near_f + far_f
        if len(E):
            d = P[E[:, 0]] - P[E[:, 1]]
            dist = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]) + 1e-9
            w = W * dist / k
            fx, fy = w * d[:, 0], w * d[:, 1]
            F[:, 0] -= np.bincount(E[:, 0], fx, n) - np.bincount(E[:, 1], fx, n)
            F[:, 1] -= np.bincount(E[:, 0], fy, n) - np.bincount(E[:, 1], fy, n)
        centre = centre_fixed if centre_fixed is not None else P[moving].mean(axis=0)
        F -= gravity * (P - centre)
        length = np.sqrt(F[:, 0] * F[:, 0] + F[:, 1] * F[:, 1]) + 1e-9
        t = t0 * (t_end / t0) ** (it / max(1, iterations - 1))
        step = np.minimum(length, t) / length
        step[~moving] = 0.0
        P += F * step[:, None]
    progress(1.0, "Laid out")
    if centre_fixed is None:
        P -= P.mean(axis=0)
    return P


def incremental_layout(n: int, edges: Any, init: np.ndarray, known: np.ndarray, *, seed: int = 0,
                       k: float = NODE_SPACING, iterations: int = 60, progress: Progress | None = None,
                       cancel: CancelToken | None = None) -> np.ndarray:
    """Place new nodes (rows where ``known`` is False) next to their already placed
    neighbours and relax them; rows where ``known`` is True keep their position exactly.

    A new node starts at its placed neighbours' centroid plus a small seeded offset; new
    nodes reached only through other new nodes follow in BFS order; unconnected ones go on
    a ring outside the chart. Then a short force layout moves only the new nodes.
    """
    E = _as_edges(edges, n)
    known = np.asarray(known, bool).copy()
    P = np.array(init, dtype=np.float64, copy=True)
    if P.shape != (n, 2):
        raise UsageError(f"initial positions must be {n} × 2")
    if known.all() or n == 0:
        return P
    rng = np.random.default_rng(seed)
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b in E.tolist():
        adj[a].append(b)
        adj[b].append(a)
    placed = known.copy()
    pending = [i for i in range(n) if not placed[i]]
    for _round in range(n):
        progressed = False
        still: list[int] = []
        for i in pending:
            nb = [j for j in adj[i] if placed[j]]
            if nb:
                centre = P[nb].mean(axis=0)
                angle = rng.uniform(0, 2 * math.pi)
                radius = k * rng.uniform(0.6, 1.0)
                P[i] = centre + radius * np.array([math.cos(angle), math.sin(angle)])
                placed[i] = True
                progressed = True
            else:
                still.append(i)
        pending = still
        if not pending or not progressed:
            break
    if pending:
        if placed.any():
            c = P[placed].mean(axis=0)
            r = float(np.max(np.linalg.norm(P[placed] - c, axis=1))) + 2 * k
        else:
            c, r = np.zeros(2), k * math.sqrt(len(pending))
        for j, i in enumerate(pending):
            a = 2 * math.pi * j / len(pending)
            P[i] = c + r * np.array([math.cos(a), math.sin(a)])
    if not known.any():
        return force_layout(n, E, init=P, seed=seed, k=k, progress=progress, cancel=cancel)
    # The fixed nodes hold the frame: no gravity, no far-field push (the chart's own
    # balance of repulsion and gravity would fling a lone newcomer outwards), and a low
    # temperature so new nodes only settle around where they were put.
    return force_layout(n, E, init=P, fixed=known, seed=seed, k=k, iterations=iterations,
                        temperature=k * 0.5, gravity=0.0, far_field=False, progress=progress, cancel=cancel)


def hierarchical_layout(n: int, edges: Any, roots: Iterable[int] = (), *, layer_gap: float = NODE_SPACING * 1.2,
                        node_gap: float = NODE_SPACING, sweeps: int = 4) -> np.ndarray:
    """Layers by breadth-first distance from ``roots`` (indices), top to bottom.

    Components holding no root get their best-connected node as root and sit to the
    right. Within a layer nodes are ordered by the mean position of their neighbours in
    the layers above and below (barycentre sweeps), which untangles most crossings.
    """
    E = _as_edges(edges, n)
    if n == 0:
        return np.zeros((0, 2))
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b in E.tolist():
        adj[a].append(b)
        adj[b].append(a)
    degree = np.array([len(a) for a in adj])
    layer = np.full(n, -1, np.int64)
    component = np.full(n, -1, np.int64)
    root_list = [r for r in dict.fromkeys(int(r) for r in roots) if 0 <= r < n]
    comp_no = 0

    def bfs(starts: list[int], comp: int) -> None:
        q = deque(starts)
        for r0 in starts:
            layer[r0] = 0
            component[r0] = comp
        while q:
            u = q.popleft()
            for v in adj[u]:
                if layer[v] < 0:
                    layer[v] = layer[u] + 1
                    component[v] = comp
                    q.append(v)

    if root_list:
        bfs(root_list, comp_no)
        comp_no += 1
    while (layer < 0).any():
        rest = np.flatnonzero(layer < 0)
        start = int(rest[np.argmax(degree[rest])])
        bfs([start], comp_no)
        comp_no += 1
    P = np.zeros((n, 2))
    x_offset = 0.0
    for comp in range(comp_no):
        members = np.flatnonzero(component == comp)
        layers: dict[int, list[int]] = defaultdict(list)
        for v in sorted(members.tolist(), key=lambda v: (-degree[v], v)):
            layers[int(layer[v])].append(v)
        depth = max(layers) + 1
        rank = np.zeros(n)
        for lv in range(depth):
            for i, v in enumerate(layers[lv]):
                rank[v] = i
        for sweep in range(sweeps):
            order = range(1, depth) if sweep % 2 == 0 else range(depth - 2, -1, -1)
            ref = -1 if sweep % 2 == 0 else 1
            for lv in order:
                def bary(v: int, lv: int = lv, ref: int = ref) -> float:
                    nb = [rank[u] for u in adj[v] if layer[u] == lv + ref]
                    return float(np.mean(nb)) if nb else float(rank[v])
                layers[lv].sort(key=lambda v: (bary(v), v))
                for i, v in enumerate(layers[lv]):
                    rank[v] = i
        width = max(len(vs) for vs in layers.values())
        for lv, vs in layers.items():
            x0 = x_offset + (width - len(vs)) * node_gap / 2
            for i, v in enumerate(vs):
                P[v] = (x0 + i * node_gap, lv * layer_gap)
        x_offset += width * node_gap + node_gap * 1.5
    P[:, 0] -= (P[:, 0].max() + P[:, 0].min()) / 2
    return P


def circular_layout(n: int, order: Sequence[int] | None = None, *, spacing: float = NODE_SPACING) -> np.ndarray:
    """Nodes evenly on one circle, in ``order`` (indices) or index order, at least
    ``spacing`` apart along the circle."""
    if n == 0:
        return np.zeros((0, 2))
    seq = list(order) if order is not None else list(range(n))
    if sorted(seq) != list(range(n)):
        raise UsageError("the circular order must name every node once")
    radius = max(spacing, spacing * n / (2 * math.pi))
    P = np.zeros((n, 2))
    for i, v in enumerate(seq):
        a = 2 * math.pi * i / n - math.pi / 2
        P[v] = (radius * math.cos(a), radius * math.sin(a))
    return P


def grouped_layout(n: int, edges: Any, groups: Sequence[Any], *, seed: int = 0, k: float = NODE_SPACING,
                   progress: Progress | None = None, cancel: CancelToken | None = None) -> np.ndarray:
    """One block per group (``groups[i]`` is node i's group, e.g. its case), each laid out
    by force on its own links, blocks packed in rows, biggest first."""
    E = _as_edges(edges, n)
    if n == 0:
        return np.zeros((0, 2))
    progress = progress or _no_progress
    members: dict[Any, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    index_of = np.zeros(n, np.int64)
    blocks: list[tuple[Any, list[int], np.ndarray]] = []
    done = 0
    for g, vs in members.items():
        for j, v in enumerate(vs):
            index_of[v] = j
        vset = set(vs)
        local = [(index_of[a], index_of[b]) for a, b in E.tolist() if a in vset and b in vset]
        P = force_layout(len(vs), local, seed=seed, k=k, cancel=cancel)
        blocks.append((g, vs, P))
        done += len(vs)
        progress(done / n, "Laying out groups")
    blocks.sort(key=lambda b: (-len(b[1]), str(b[0])))
    total_area = sum((np.ptp(P[:, 0]) + k * 2) * (np.ptp(P[:, 1]) + k * 2) for _, _, P in blocks)
    row_width = max(math.sqrt(total_area) * 1.3, k * 4)
    out = np.zeros((n, 2))
    x = y = row_h = 0.0
    margin = k * 1.5
    for _g, vs, P in blocks:
        w, h = float(np.ptp(P[:, 0])), float(np.ptp(P[:, 1]))
        if x > 0 and x + w > row_width:
            x, y, row_h = 0.0, y + row_h + margin, 0.0
        out[vs] = P - P.min(axis=0) + np.array([x, y])
        x += w + margin
        row_h = max(row_h, h)
    out -= (out.max(axis=0) + out.min(axis=0)) / 2
    return out


def _components(n: int, edges: np.ndarray) -> list[np.ndarray]:
    """Connected components (arrays of node indices), biggest first, ties by lowest index."""
    parent = np.arange(n)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for a, b in edges.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(n)], np.int64)
    comps = [np.flatnonzero(roots == r) for r in np.unique(roots)]
    comps.sort(key=lambda c: (-len(c), int(c[0])))
    return comps


def pack_components(P: np.ndarray, edges: Any, *, k: float = NODE_SPACING) -> np.ndarray:
    """Rearrange a layout so each connected component keeps its own shape but the
    components sit side by side in rows (biggest first), and unlinked nodes form a tidy
    grid below them — instead of drifting far apart as repulsion pushes them."""
    n = len(P)
    E = _as_edges(edges, n)
    comps = _components(n, E)
    blocks = [c for c in comps if len(c) > 1]
    singles = np.concatenate([c for c in comps if len(c) == 1]) if any(len(c) == 1 for c in comps) else np.zeros(0, np.int64)
    out = np.array(P, dtype=np.float64, copy=True)
    margin = k * 1.2
    total_area = sum((np.ptp(P[c, 0]) + margin) * (np.ptp(P[c, 1]) + margin) for c in blocks) + len(singles) * k * k
    row_width = max(math.sqrt(max(total_area, 1.0)) * 1.25, k * 6)
    x = y = row_h = 0.0
    for c in blocks:
        w, h = float(np.ptp(P[c, 0])), float(np.ptp(P[c, 1]))
        if x > 0 and x + w > row_width:
            x, y, row_h = 0.0, y + row_h + margin, 0.0
        out[c] = P[c] - P[c].min(axis=0) + np.array([x, y])
        x += w + margin
        row_h = max(row_h, h)
    if len(singles):
        top = y + row_h + margin if blocks else 0.0
        width = max(row_width, k)
        per_row = max(1, int(width // k))
        for j, i in enumerate(sorted(singles.tolist())):
            out[i] = ((j % per_row) * k, top + (j // per_row) * k * 0.8)
    out -= (out.max(axis=0) + out.min(axis=0)) / 2
    return out


def _adjacent_cell_pairs(cx: np.ndarray, cy: np.ndarray, g: int,
                         order: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For nodes in grid cells (``cx``, ``cy`` on a g×g grid) sorted by cell (``order``):
    the pairs (I, J) of positions in that order whose cells are the same or adjacent, each
    unordered pair once, one batch per half-neighbourhood offset (so memory stays at one
    batch)."""
    n = len(cx)
    cid = cy * g + cx
    counts = np.bincount(cid, minlength=g * g)
    starts = np.cumsum(counts) - counts
    scx, scy = cx[order], cy[order]
    pos = np.arange(n, dtype=np.int64)
    for dx, dy in ((0, 0), (1, 0), (-1, 1), (0, 1), (1, 1)):
        if (dx, dy) == (0, 0):
            cc = cid[order]
            begin = pos + 1
            rep = starts[cc] + counts[cc] - begin
        else:
            nxc, nyc = scx + dx, scy + dy
            valid = (nxc >= 0) & (nxc < g) & (nyc < g)
            nb = np.where(valid, nyc * g + nxc, 0)
            begin = starts[nb]
            rep = np.where(valid, counts[nb], 0)
        if rep.any():
            yield np.repeat(pos, rep), _ragged_arange(begin, rep)


def _near_pairs(P: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j by cell order) of nodes in the same or adjacent grid cells of
    size ``cell``: every pair closer than ``cell`` in both axes is among them."""
    n = len(P)
    lo = P.min(axis=0)
    c = np.floor((P - lo) / cell).astype(np.int64)
    g = int(c.max()) + 1 if n else 1
    cid = c[:, 1] * g + c[:, 0]
    order = np.argsort(cid, kind="stable")
    out_i, out_j = [], []
    for I, J in _adjacent_cell_pairs(c[:, 0], c[:, 1], g, order):
        out_i.append(order[I])
        out_j.append(order[J])
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_i), np.concatenate(out_j)


def remove_overlaps(P: np.ndarray, *, size: tuple[float, float] = LABEL_BOX, fixed: np.ndarray | None = None,
                    iterations: int = 80) -> np.ndarray:
    """Nudge nodes apart until their boxes (icon and label, ``size`` wide and high) no
    longer overlap, each pair moving along the axis where it overlaps least; rows where
    ``fixed`` is True stay. Force layouts leave dense spots where labels would collide;
    this is the tidy-up an analyst would otherwise do by hand. Deterministic."""
    P = np.array(P, dtype=np.float64, copy=True)
    n = len(P)
    if n < 2:
        return P
    w, h = size
    movable = np.ones(n, bool) if fixed is None else ~np.asarray(fixed, bool)
    for _ in range(iterations):
        I, J = _near_pairs(P, max(w, h))
        if not len(I):
            break
        dx = P[J, 0] - P[I, 0]
        dy = P[J, 1] - P[I, 1]
        ox = w - np.abs(dx)
        oy = h - np.abs(dy)
        hit = (ox > 0.5) & (oy > 0.5)
        if not hit.any():
            break
        I, J, dx, dy, ox, oy = I[hit], J[hit], dx[hit], dy[hit], ox[hit], oy[hit]
        along_x = ox / w <= oy / h
        # Coincident nodes get a direction from their indices so the result stays stable.
        sx = np.where(dx != 0, np.sign(dx), np.where((I + J) % 2 == 0, 1.0, -1.0))
        sy = np.where(dy != 0, np.sign(dy), np.where((I + J) % 2 == 0, 1.0, -1.0))
        push = np.zeros((len(I), 2))
        push[along_x, 0] = sx[along_x] * ox[along_x] / 2
        push[~along_x, 1] = sy[~along_x] * oy[~along_x] / 2
        mi, mj = movable[I], movable[J]
        # A pair with one fixed end: the movable one takes the whole step.
        scale_i = np.where(mj, 1.0, 2.0) * mi
        scale_j = np.where(mi, 1.0, 2.0) * mj
        delta = np.zeros((n, 2))
        np.add.at(delta, I, -push * scale_i[:, None])
        np.add.at(delta, J, push * scale_j[:, None])
        # Several overlaps at once would overshoot; move part of the way each round.
        P += delta * 0.6
    return P


def _visible_graph(chart: ChartData, hidden: Collection[int]) -> tuple[list[int], np.ndarray]:
    ids = sorted(i for i in chart.nodes if i not in hidden)
    index = {e: i for i, e in enumerate(ids)}
    pairs = {(min(index[l.src_id], index[l.dst_id]), max(index[l.src_id], index[l.dst_id]))
             for l in chart.links.values() if l.src_id in index and l.dst_id in index and l.src_id != l.dst_id}
    edges = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    return ids, edges


def compute_layout(chart: ChartData, algorithm: str = "force", *,
                   positions: Mapping[int, tuple[float, float]] | None = None,
                   pinned: Collection[int] = (), hidden: Collection[int] = (), roots: Collection[int] = (),
                   groups: Sequence[ChartGroup] = (), incremental: bool = False, seed: int = 0,
                   progress: Progress | None = None, cancel: CancelToken | None = None) -> dict[int, tuple[float, float]]:
    """New positions for the visible nodes of ``chart`` (hidden ones keep theirs).

    ``algorithm`` is one of :data:`LAYOUTS`; ``grouped`` makes one block per case.
    Pinned nodes that have a position keep it in every algorithm (force layouts work
    around them). With ``incremental`` only nodes without a position move (force layout
    only). Members of a user group are pulled together in force layouts. Raises
    UsageError for an unknown algorithm and Cancelled when ``cancel`` is set.
    """
    if algorithm not in LAYOUTS:
        raise UsageError(f"layout must be one of {', '.join(LAYOUTS)}")
    positions = dict(positions or {})
    ids, edges = _visible_graph(chart, set(hidden))
    n = len(ids)
    index = {e: i for i, e in enumerate(ids)}
    known = np.array([e in positions for e in ids], bool)
    pin = np.array([e in pinned and e in positions for e in ids], bool)
    init = np.array([positions.get(e, (0.0, 0.0)) for e in ids], np.float64).reshape(n, 2)
    weights = np.ones(len(edges))
    extra: list[tuple[int, int]] = []
    for grp in groups:
        inside = [index[m] for m in grp.members if m in index]
        extra.extend((inside[0], m) for m in inside[1:])
    if extra:
        edges = np.vstack([edges, np.array(extra, np.int64)])
        weights = np.concatenate([weights, np.full(len(extra), 0.5)])
    if algorithm == "force":
        if incremental and known.any():
            P = incremental_layout(n, edges, init, known, seed=seed, progress=progress, cancel=cancel)
            P = remove_overlaps(P, fixed=known)
        else:
            start = None
            if pin.any():
                # Pinned nodes stay; the others start scattered around them, from the seed.
                side = NODE_SPACING * math.sqrt(n) * 1.2
                start = np.random.default_rng(seed).uniform(-side / 2, side / 2, size=(n, 2))
                start += init[pin].mean(axis=0)
                start[pin] = init[pin]
            P = force_layout(n, edges, init=start, fixed=pin if pin.any() else None,
                             weights=weights, seed=seed, progress=progress, cancel=cancel)
            if not pin.any():
                P = pack_components(P, edges)
            if n <= 5000:
                P = remove_overlaps(P, fixed=pin)
    elif algorithm == "hierarchical":
        P = hierarchical_layout(n, edges[: len(edges) - len(extra)], [index[r] for r in roots if r in index])
    elif algorithm == "circular":
        kinds = {e: chart.nodes[e] for e in ids}
        deg = np.bincount(edges.reshape(-1), minlength=n) if len(edges) else np.zeros(n, np.int64)
        order = sorted(range(n), key=lambda i: (kinds[ids[i]].case_number, kinds[ids[i]].kind, -deg[i], ids[i]))
        P = circular_layout(n, order)
    else:
        P = grouped_layout(n, edges[: len(edges) - len(extra)], [chart.nodes[e].case_number for e in ids],
                           seed=seed, progress=progress, cancel=cancel)
        if n <= 5000:
            P = remove_overlaps(P, fixed=pin)
    if pin.any() and algorithm != "force":
        P[pin] = init[pin]
    return {e: (float(P[i, 0]), float(P[i, 1])) for i, e in enumerate(ids)}


# ====================================================================== analysis
@dataclass(frozen=True)
class ChartPath:
    """A shortest path on the chart: nodes in order and, per hop, the chart link ids
    joining the two nodes (all of them: the bundle drawn between them)."""

    entity_ids: tuple[int, ...]
    hops: tuple[tuple[str, ...], ...]

    @property
    def link_ids(self) -> frozenset[str]:
        return frozenset(i for hop in self.hops for i in hop)


def _simple_graph(chart: ChartData, hidden: Collection[int]) -> nx.Graph:
    g = nx.Graph()
    hid = set(hidden)
    g.add_nodes_from(i for i in chart.nodes if i not in hid)
    for l in chart.links.values():
        if l.src_id in g and l.dst_id in g and l.src_id != l.dst_id:
            if g.has_edge(l.src_id, l.dst_id):
                g.edges[l.src_id, l.dst_id]["links"].append(l.id)
            else:
                g.add_edge(l.src_id, l.dst_id, links=[l.id])
    return g


def shortest_path(chart: ChartData, source: int, target: int, *, hidden: Collection[int] = ()) -> ChartPath | None:
    """The shortest path (fewest hops, links in either direction) between two visible
    nodes, or None when they are not connected. Ties are broken deterministically (by
    node id). Raises NotFound when either node is not on the chart or hidden."""
    g = _simple_graph(chart, hidden)
    for e in (source, target):
        if e not in g:
            raise NotFound(f"entity {e} is not shown on the chart")
    if source == target:
        return ChartPath((source,), ())
    # BFS with sorted neighbours so equal-length alternatives always resolve the same way.
    prev: dict[int, int] = {source: source}
    q = deque([source])
    while q and target not in prev:
        u = q.popleft()
        for v in sorted(g.adj[u]):
            if v not in prev:
                prev[v] = u
                q.append(v)
    if target not in prev:
        return None
    nodes = [target]
    while nodes[-1] != source:
        nodes.append(prev[nodes[-1]])
    nodes.reverse()
    hops = tuple(tuple(sorted(g.edges[a, b]["links"], key=_link_sort_key)) for a, b in zip(nodes, nodes[1:], strict=False))
    return ChartPath(tuple(nodes), hops)


def centrality(chart: ChartData, measure: str = "degree", *, hidden: Collection[int] = (),
               k: int | None = None, seed: int = 0) -> dict[int, float]:
    """Each visible node's centrality scaled to 0..1 (1 = the most central).

    ``degree`` counts distinct neighbours; ``betweenness`` is networkx's, exact up to
    600 nodes and estimated from ``k`` seeded pivots above that (default: 256, fewer on
    very big charts — at least 32 — so it stays within seconds).
    """
    if measure not in CENTRALITY_MEASURES:
        raise UsageError(f"centrality must be one of {', '.join(CENTRALITY_MEASURES)}")
    g = _simple_graph(chart, hidden)
    if g.number_of_nodes() == 0:
        return {}
    if measure == "degree":
        raw = {v: float(d) for v, d in g.degree()}
    else:
        n = g.number_of_nodes()
        # Each pivot is one breadth-first search over the whole chart: scale the sample to
        # the chart so a big one still answers within seconds.
        budget = max(32, min(_BETWEENNESS_PIVOTS, 1_500_000 // max(1, n + g.number_of_edges())))
        pivots = k if k is not None else (None if n <= _BETWEENNESS_EXACT else budget)
        if pivots is not None:
            pivots = min(pivots, n)
        raw = nx.betweenness_centrality(g, k=pivots, seed=seed if pivots else None, normalized=True)
    top = max(raw.values()) if raw else 0.0
    return {int(v): (float(x) / top if top > 0 else 0.0) for v, x in raw.items()}


# ====================================================================== saved charts
@dataclass(frozen=True)
class ChartGroup:
    """A named box drawn around some nodes (``colour`` as ``#rrggbb``)."""

    name: str
    members: tuple[int, ...]
    colour: str = "#2563eb"


@dataclass
class ChartState:
    """Everything needed to reopen a chart as it was.

    ``positions`` lists every node on the chart (hidden ones too); ``view`` is the view's
    centre and zoom (x, y, scale) when the view saved it.
    """

    positions: dict[int, tuple[float, float]] = field(default_factory=dict)
    hidden: set[int] = field(default_factory=set)
    pinned: set[int] = field(default_factory=set)
    groups: list[ChartGroup] = field(default_factory=list)
    multiplicity: str = "single"
    co_occurrence: bool = False
    sizing: str = "none"
    view: tuple[float, float, float] | None = None

    def to_json(self) -> str:
        return json.dumps({
            "version": STATE_VERSION,
            "nodes": [[e, round(x, 2), round(y, 2)] for e, (x, y) in sorted(self.positions.items())],
            "hidden": sorted(self.hidden), "pinned": sorted(self.pinned),
            "groups": [{"name": g.name, "members": list(g.members), "colour": g.colour} for g in self.groups],
            "multiplicity": self.multiplicity, "co_occurrence": self.co_occurrence, "sizing": self.sizing,
            "view": list(self.view) if self.view is not None else None,
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, where: str = "saved chart") -> ChartState:
        """Parse what :meth:`to_json` wrote; BadInput naming the field when it is damaged."""
        try:
            raw = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise BadInput(f"{where}: not JSON ({exc})") from None
        if not isinstance(raw, dict):
            raise BadInput(f"{where}: not a chart")
        version = raw.get("version")
        if not isinstance(version, int) or version > STATE_VERSION:
            raise BadInput(f"{where}: field 'version' is {version!r}; this app reads up to {STATE_VERSION}")

        def ints(name: str) -> set[int]:
            value = raw.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
                raise BadInput(f"{where}: field {name!r} must be a list of entity ids")
            return set(value)

        positions: dict[int, tuple[float, float]] = {}
        nodes = raw.get("nodes", [])
        if not isinstance(nodes, list):
            raise BadInput(f"{where}: field 'nodes' must be a list")
        for i, item in enumerate(nodes):
            if (not isinstance(item, list) or len(item) != 3 or not isinstance(item[0], int)
                    or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in item[1:])):
                raise BadInput(f"{where}: field 'nodes' item {i} must be [entity id, x, y]")
            positions[item[0]] = (float(item[1]), float(item[2]))
        groups: list[ChartGroup] = []
        for i, g in enumerate(raw.get("groups", [])):
            if (not isinstance(g, dict) or not isinstance(g.get("name"), str)
                    or not isinstance(g.get("members"), list) or not all(isinstance(m, int) for m in g["members"])):
                raise BadInput(f"{where}: field 'groups' item {i} must have a name and member ids")
            colour: str = g["colour"] if isinstance(g.get("colour"), str) else "#2563eb"
            groups.append(ChartGroup(g["name"], tuple(g["members"]), colour))
        multiplicity = raw.get("multiplicity", "single")
        if multiplicity not in MULTIPLICITIES:
            raise BadInput(f"{where}: field 'multiplicity' is {multiplicity!r}")
        view = raw.get("view")
        if view is not None and (not isinstance(view, list) or len(view) != 3
                                 or not all(isinstance(v, (int, float)) for v in view)):
            raise BadInput(f"{where}: field 'view' must be [x, y, scale]")
        sizing = raw.get("sizing", "none")
        return cls(positions, ints("hidden"), ints("pinned"), groups, multiplicity,
                   bool(raw.get("co_occurrence", False)), sizing if isinstance(sizing, str) else "none",
                   tuple(float(v) for v in view) if view is not None else None)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SavedChart:
    """A saved chart of a case, as listed."""

    name: str
    saved_at: str
    saved_by: str
    nodes: int


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise UsageError("a chart needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise UsageError(f"a chart name has at most {MAX_NAME_LENGTH} characters")
    if any(ord(c) < 32 for c in name):
        raise UsageError("a chart name cannot contain control characters")
    return name


def chart_key(case_uid: str, name: str) -> str:
    """The ``meta`` key a chart is stored under."""
    return f"chart:{case_uid}:{name}"


def _case_uid(conn: Connection, case_id: int) -> str:
    row = conn.execute(select(s.case.c.uid).where(s.case.c.id == case_id, s.case.c.deleted.is_(False))).first()
    if row is None:
        raise NotFound(f"no case with id {case_id}")
    return str(row[0])


def save_chart(ws: Any, case_id: int, name: str, state: ChartState) -> Changes:
    """Store ``state`` as the case's chart ``name`` (replacing one of that name), audited
    as ``chart.save``. Raises NotFound for an unknown case, UsageError for a bad name."""
    name = _clean_name(name)
    if state.multiplicity not in MULTIPLICITIES:
        raise UsageError(f"multiplicity must be one of {', '.join(MULTIPLICITIES)}")
    payload = json.loads(state.to_json())
    payload["saved_at"] = clock.utcnow_iso()
    payload["saved_by"] = ws.actor
    text = json.dumps(payload, separators=(",", ":"))
    with ws.db.write() as conn:
        key = chart_key(_case_uid(conn, case_id), name)
        existed = ws.db.meta_get(conn, key) is not None
        ws.db.meta_set(conn, key, text)
        ws.audit.append(conn, "chart.save", "case", case_id,
                        {"name": name, "nodes": len(state.positions), "replaced": existed})
    return Changes("chart", "updated" if existed else "created", (case_id,), case_id, {"name": name})


def load_chart(ws: Any, case_id: int, name: str) -> ChartState:
    """The saved chart ``name`` of a case. NotFound when there is none; BadInput when the
    stored text is damaged."""
    with ws.db.read() as conn:
        text = ws.db.meta_get(conn, chart_key(_case_uid(conn, case_id), name))
    if text is None:
        raise NotFound(f"no saved chart {name!r} in case {case_id}")
    return ChartState.from_json(text, f"saved chart {name!r}")


def list_charts(ws: Any, case_id: int) -> list[SavedChart]:
    """The case's saved charts by name."""
    with ws.db.read() as conn:
        prefix = chart_key(_case_uid(conn, case_id), "")
        rows = conn.execute(select(s.meta.c.key, s.meta.c.value).where(
            func.substr(s.meta.c.key, 1, len(prefix)) == prefix)).fetchall()
    out: list[SavedChart] = []
    for r in rows:
        try:
            raw = json.loads(r.value)
            nodes = len(raw.get("nodes", []))
            out.append(SavedChart(r.key[len(prefix):], str(raw.get("saved_at", "")), str(raw.get("saved_by", "")), nodes))
        except (ValueError, AttributeError):
            out.append(SavedChart(r.key[len(prefix):], "", "", 0))
    out.sort(key=lambda c: c.name.lower())
    return out


def delete_chart(ws: Any, case_id: int, name: str) -> Changes:
    """Remove a saved chart (audited as ``chart.delete``); NotFound when there is none."""
    with ws.db.write() as conn:
        key = chart_key(_case_uid(conn, case_id), name)
        if ws.db.meta_get(conn, key) is None:
            raise NotFound(f"no saved chart {name!r} in case {case_id}")
        conn.execute(s.meta.delete().where(s.meta.c.key == key))
        ws.audit.append(conn, "chart.delete", "case", case_id, {"name": name})
    return Changes("chart", "deleted", (case_id,), case_id, {"name": name})


# ====================================================================== export
def _open_target(target: str | Path | IO[bytes]) -> tuple[IO[bytes], bool]:
    if isinstance(target, (str, Path)):
        return open(target, "wb"), True
    return target, False


def write_graphml(chart: ChartData, target: str | Path | IO[bytes], *,
                  positions: Mapping[int, tuple[float, float]] | None = None,
                  hidden: Collection[int] = (), include_hidden: bool = False) -> None:
    """Write the chart as GraphML (a directed multigraph, one edge per link).

    Node attributes: kind, label, key ("" when none), case (number), case_id, x, y (when
    positioned); edge attributes: kind, confidence, origin, link_id (-1 for derived
    links), weight. Hidden nodes are left out unless ``include_hidden``.
    """
    g = nx.MultiDiGraph(name="Case Workstation link chart")
    hid = set() if include_hidden else set(hidden)
    pos = positions or {}
    for e, node in sorted(chart.nodes.items()):
        if e in hid:
            continue
        attrs: dict[str, Any] = {"kind": node.kind, "label": node.label, "key": node.key or "",
                                 "case": node.case_number, "case_id": node.case_id}
        if e in pos:
            attrs["x"], attrs["y"] = float(pos[e][0]), float(pos[e][1])
        g.add_node(f"n{e}", **attrs)
    for lid in sorted(chart.links, key=_link_sort_key):
        link = chart.links[lid]
        a, b = f"n{link.src_id}", f"n{link.dst_id}"
        if a in g and b in g:
            g.add_edge(a, b, key=link.id, kind=link.kind, confidence=float(link.confidence), origin=link.origin,
                       link_id=link.link_id if link.link_id is not None else -1, weight=link.weight)
    fh, close = _open_target(target)
    try:
        nx.write_graphml(g, fh, encoding="utf-8", prettyprint=True)
    finally:
        if close:
            fh.close()


# i2 standard icon names for our entity kinds (i2 falls back to its default icon for any
# name its icon library lacks).
ANX_ICON_FILES: dict[str, str] = {
    "person": "Person", "account": "Internet User", "email": "Email", "phone": "Mobile Phone",
    "card": "Credit Card", "ip": "IP Address", "device": "Computer", "url": "Web Page",
    "domain": "Domain", "address": "Address", "organisation": "Organisation", "vehicle": "Vehicle",
    "bank_account": "Bank Account", "location": "Location",
}
_ANX_STRENGTHS = (("Confirmed", "DotStyleSolid"), ("Unconfirmed", "DotStyleDashed"), ("Tentative", "DotStyleDotted"))
_ANX_MULTIPLICITY = {"single": "MultiplicitySingle", "directed": "MultiplicityDirected",
                     "multiple": "MultiplicityMultiple"}
_ANX_ATTRIBUTES = (("AC1", "Key", "AttText"), ("AC2", "Case", "AttText"), ("AC3", "Entity id", "AttNumber"),
                   ("AC4", "Confidence", "AttNumber"), ("AC5", "Link id", "AttNumber"))
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_text(value: Any) -> str:
    return _XML_BAD.sub("\ufffd", str(value))


def _strength(confidence: float) -> str:
    return {"solid": "Confirmed", "dashed": "Unconfirmed", "dotted": "Tentative"}[line_style(confidence)]


def _title(kind: str) -> str:
    return kind.replace("_", " ").title()


def write_anx(chart: ChartData, target: str | Path | IO[bytes], *,
              positions: Mapping[int, tuple[float, float]] | None = None, hidden: Collection[int] = (),
              multiplicity: str = "single") -> None:
    """Write the chart as i2 Analyst's Notebook ANX XML (UTF-8).

    Structure: ``Chart`` (IdReferenceLinking false: links name their ends by
    ``Entity/@EntityId``) holding a ``StrengthCollection`` (Confirmed / Unconfirmed /
    Tentative = solid / dashed / dotted, from confidence), an ``AttributeClassCollection``
    (Key, Case, Entity id, Confidence, Link id), an ``EntityTypeCollection`` (one type per
    entity kind, with an i2 icon name), a ``LinkTypeCollection`` and the
    ``ChartItemCollection``: one ``ChartItem`` per visible entity (``End/Entity/Icon/
    IconStyle``, position, attributes) and one per link (``Link`` with ``LinkStyle``:
    arrow, strength, multiplicity).
    """
    if multiplicity not in MULTIPLICITIES:
        raise UsageError(f"multiplicity must be one of {', '.join(MULTIPLICITIES)}")
    pos = positions or {}
    hid = set(hidden)
    nodes = {e: n for e, n in chart.nodes.items() if e not in hid}
    root = ET.Element("Chart", {"IdReferenceLinking": "false", "Rigorous": "false"})
    strengths = ET.SubElement(root, "StrengthCollection")
    for name, dots in _ANX_STRENGTHS:
        ET.SubElement(strengths, "Strength", {"Name": name, "DotStyle": dots})
    classes = ET.SubElement(root, "AttributeClassCollection")
    for ac_id, name, kind in _ANX_ATTRIBUTES:
        ET.SubElement(classes, "AttributeClass", {
            "Id": ac_id, "Name": name, "Type": kind, "ShowValue": "true", "Visible": "false",
            "UserCanAdd": "true", "UserCanRemove": "true", "DecimalPlaces": "2" if name == "Confidence" else "0"})
    types = ET.SubElement(root, "EntityTypeCollection")
    for kind in sorted({n.kind for n in nodes.values()}):
        ET.SubElement(types, "EntityType", {"Id": f"ET_{kind}", "Name": _title(kind),
                                            "IconFile": ANX_ICON_FILES.get(kind, "General"),
                                            "PreferredRepresentation": "RepresentAsIcon"})
    ltypes = ET.SubElement(root, "LinkTypeCollection")
    ET.SubElement(ltypes, "LinkType", {"Id": "LT_link", "Name": "Link", "Colour": "0"})
    items = ET.SubElement(root, "ChartItemCollection")
    for e in sorted(nodes):
        node = nodes[e]
        x, y = pos.get(e, (0.0, 0.0))
        item = ET.SubElement(items, "ChartItem", {"Label": _xml_text(node.label), "DateSet": "false",
                                                  "XPosition": str(int(round(x)))})
        end = ET.SubElement(item, "End", {"Y": str(int(round(y)))})
        ent = ET.SubElement(end, "Entity", {"EntityId": f"E{e}", "Identity": _xml_text(f"{node.label} [{e}]")})
        icon = ET.SubElement(ent, "Icon")
        ET.SubElement(icon, "IconStyle", {"Type": _title(node.kind)})
        attrs = ET.SubElement(item, "AttributeCollection")
        if node.key:
            ET.SubElement(attrs, "Attribute", {"AttributeClassReference": "AC1", "Value": _xml_text(node.key)})
        ET.SubElement(attrs, "Attribute", {"AttributeClassReference": "AC2", "Value": _xml_text(node.case_number)})
        ET.SubElement(attrs, "Attribute", {"AttributeClassReference": "AC3", "Value": str(e)})
    for lid in sorted(chart.links, key=_link_sort_key):
        link = chart.links[lid]
        if link.src_id not in nodes or link.dst_id not in nodes:
            continue
        item = ET.SubElement(items, "ChartItem", {"Label": _xml_text(link.kind.replace("_", " ")), "DateSet": "false"})
        el = ET.SubElement(item, "Link", {"End1Id": f"E{link.src_id}", "End2Id": f"E{link.dst_id}"})
        ET.SubElement(el, "LinkStyle", {
            "Type": "Link", "ArrowStyle": "ArrowOnHead" if link.directed else "ArrowNone",
            "Strength": _strength(link.confidence), "MlStyle": _ANX_MULTIPLICITY[multiplicity], "LineWidth": "1"})
        attrs = ET.SubElement(item, "AttributeCollection")
        ET.SubElement(attrs, "Attribute", {"AttributeClassReference": "AC4", "Value": f"{link.confidence:.2f}"})
        if link.link_id is not None:
            ET.SubElement(attrs, "Attribute", {"AttributeClassReference": "AC5", "Value": str(link.link_id)})
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    fh, close = _open_target(target)
    try:
        fh.write(data)
        if not data.endswith(b"\n"):
            fh.write(b"\n")
    finally:
        if close:
            fh.close()


def record_chart_export(ws: Any, path: str | Path, fmt: str, *, case_id: int | None, nodes: int,
                        links: int) -> str:
    """Audit an export the officer asked for (``chart.export`` with the file's SHA-256).
    Returns the digest. Raises BadInput when the file cannot be read back."""
    p = Path(path)
    try:
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError as exc:
        raise BadInput(f"{p}: cannot read the exported chart back ({exc.strerror or exc})") from None
    ws.record_export("chart.export", str(p), digest,
                     {"format": fmt, "case_id": case_id, "nodes": nodes, "links": links})
    return digest


def entities_active_between(ws: Any, case_id: int, start_us: int | None, end_us: int | None) -> frozenset[int]:
    """Ids of the case's entities that take part in an event inside [start, end) (UTC
    microseconds) — what a chart filtered to a timeline window keeps visible. An event known
    to the day only counts as the whole day (``timeline.covered_until``)."""
    from sqlalchemy import text

    from workstation.analysis.timeline import MAX_COVER_US, overlap_sql

    params: dict[str, Any] = {"case": case_id}
    if start_us is not None:
        params.update(start=int(start_us), wide=int(start_us) - MAX_COVER_US)
    if end_us is not None:
        params["end"] = int(end_us)
    window = overlap_sql("e", ":start" if start_us is not None else "", ":end" if end_us is not None else "")
    sql = ("SELECT DISTINCT ep.entity_id FROM event_party AS ep JOIN event AS e ON e.id = ep.event_id "
           f"WHERE e.case_id = :case AND e.deleted = 0 AND {window}")
    with ws.db.read() as conn:
        return frozenset(r[0] for r in conn.execute(text(sql), params))
