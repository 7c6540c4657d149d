"""Shortest paths between two entities over the link chart.

Within a case, paths follow live links in either direction. With ``cross_case=True`` they
may also step between entities that carry the same identifier key (the same phone, card,
account… held by two cases, or twice in one case) — a virtual ``same_key`` hop with no
link id — so an officer can see *how* a suspect in one case reaches someone in another.

Only the part of the chart within reach is loaded: the neighbourhood of the source up to
``ceil(max_len / 2)`` hops and of the target up to the rest, which contains every path of
at most ``max_len`` hops; then networkx enumerates the shortest simple paths.

Merged entities are represented by their survivor (links move to it on merge).
Thread-safety: read-only, safe from workers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx
from sqlalchemy import Connection, text

from workstation.analysis.matching import _survivors
from workstation.errors import NotFound, UsageError

__all__ = ["Path", "shortest_paths"]

MAX_NODES = 200_000
_CHUNK = 900


@dataclass(frozen=True)
class Path:
    """A path from the source to the target entity.

    ``entity_ids`` lists the entities in order; ``link_ids[i]`` joins ``entity_ids[i]`` and
    ``entity_ids[i + 1]`` (None for a virtual same-key hop); ``hops[i]`` names that step
    (the link kind, or ``same_key:<key>``); ``case_ids[i]`` is the case of each entity.
    """

    entity_ids: tuple[int, ...]
    link_ids: tuple[int | None, ...]
    hops: tuple[str, ...] = ()
    case_ids: tuple[int, ...] = ()

    @property
    def length(self) -> int:
        return len(self.link_ids)


def _marks(ids: Iterable[int]) -> str:
    return ", ".join(str(int(i)) for i in ids)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


class _Loader:
    def __init__(self, conn: Connection, case_id: int | None, cross_case: bool) -> None:
        self.conn = conn
        self.case_id = case_id
        self.cross_case = cross_case
        self.graph = nx.Graph()
        self.case_of: dict[int, int] = {}
        self.expanded: set[int] = set()

    def _add_edge(self, u: int, v: int, link_id: int | None, hop: str, confidence: float) -> None:
        if u == v:
            return
        cur = self.graph.get_edge_data(u, v)
        # Prefer a real link over a virtual hop, then the more confident link, then the older.
        rank = (link_id is not None, confidence, -(link_id or 0))
        if cur is None or rank > cur["rank"]:
            self.graph.add_edge(u, v, link_id=link_id, hop=hop, rank=rank)

    def expand(self, frontier: set[int]) -> None:
        """Load the edges of every ``frontier`` entity not loaded yet."""
        todo = [n for n in frontier if n not in self.expanded]
        self.expanded.update(todo)
        for chunk in _chunks(todo):
            m = _marks(chunk)
            case_clause = " AND l.case_id = :c" if self.case_id is not None else ""
            rows = self.conn.execute(text(
                "SELECT l.id, l.src_id, l.dst_id, l.kind, l.confidence FROM link AS l "
                "JOIN entity AS a ON a.id = l.src_id JOIN entity AS b ON b.id = l.dst_id "
                f"WHERE (l.src_id IN ({m}) OR l.dst_id IN ({m})) AND l.deleted = 0 "
                f"AND a.deleted = 0 AND b.deleted = 0 AND a.merged_into IS NULL AND b.merged_into IS NULL"
                f"{case_clause}"), {"c": self.case_id}).fetchall()
            for r in rows:
                self._add_edge(int(r.src_id), int(r.dst_id), int(r.id), r.kind, float(r.confidence))
            if self.cross_case:
                self._same_key(chunk)

    def _same_key(self, chunk: list[int]) -> None:
        m = _marks(chunk)
        # The keys of each node and of everything merged into it.
        mine = self.conn.execute(text(
            f"SELECT COALESCE(merged_into, id) AS owner, key FROM entity WHERE key IS NOT NULL AND deleted = 0 "
            f"AND (id IN ({m}) OR merged_into IN ({m}))")).fetchall()
        by_key: dict[str, set[int]] = {}
        for r in mine:
            by_key.setdefault(r.key, set()).add(int(r.owner))
        for key, owners in by_key.items():
            rows = self.conn.execute(text(
                'SELECT e.id FROM entity AS e JOIN "case" AS c ON c.id = e.case_id '
                "WHERE e.key = :k AND e.deleted = 0 AND c.deleted = 0"), {"k": key}).fetchall()
            surv = _survivors(self.conn, [int(r.id) for r in rows])
            holders = {s for s in surv.values() if s is not None}
            for o in owners:
                for h in holders:
                    if h != o:
                        self._add_edge(o, h, None, f"same_key:{key}", 0.0)

    def load_cases(self) -> None:
        nodes = list(self.graph.nodes)
        for chunk in _chunks(nodes):
            for r in self.conn.execute(text(f"SELECT id, case_id FROM entity WHERE id IN ({_marks(chunk)})")):
                self.case_of[int(r.id)] = int(r.case_id)


def _bfs(loader: _Loader, start: int, depth: int) -> None:
    """Load every edge within ``depth`` hops of ``start`` (stops growing at MAX_NODES)."""
    g = loader.graph
    g.add_node(start)
    visited = {start}
    frontier = {start}
    for _ in range(depth):
        if not frontier or g.number_of_nodes() > MAX_NODES:
            break
        loader.expand(frontier)
        frontier = {nb for n in frontier for nb in g.neighbors(n)} - visited
        visited |= frontier


def shortest_paths(ws: Any, src_entity_id: int, dst_entity_id: int, *, cross_case: bool = False,
                   max_len: int = 6, limit: int = 5) -> list[Path]:
    """Up to ``limit`` shortest simple paths of at most ``max_len`` hops from one entity
    to another, shortest first (ties in a stable order). Without ``cross_case`` both
    entities must be in one case and only that case's links are followed; otherwise an
    empty list is returned. Raises NotFound for a missing/deleted entity, UsageError for
    ``max_len`` outside 1–12 or ``limit`` outside 1–100.
    """
    if not 1 <= max_len <= 12:
        raise UsageError("max_len must be between 1 and 12 hops")
    if not 1 <= limit <= 100:
        raise UsageError("limit must be between 1 and 100 paths")
    with ws.db.read() as conn:
        surv = _survivors(conn, [src_entity_id, dst_entity_id])
        for orig in (src_entity_id, dst_entity_id):
            if surv.get(orig) is None:
                raise NotFound(f"no entity with id {orig}")
        src, dst = int(surv[src_entity_id]), int(surv[dst_entity_id])  # type: ignore[arg-type]
        cases = {int(r.id): int(r.case_id) for r in conn.execute(text(
            f"SELECT id, case_id FROM entity WHERE id IN ({_marks({src, dst})})"))}
        if src == dst:
            return [Path((src,), (), (), (cases[src],))]
        if not cross_case and cases[src] != cases[dst]:
            return []
        loader = _Loader(conn, None if cross_case else cases[src], cross_case)
        r1 = math.ceil(max_len / 2)
        _bfs(loader, src, r1)
        _bfs(loader, dst, max_len - r1)
        loader.load_cases()
    g = loader.graph
    if dst not in g or src not in g:
        return []
    out: list[Path] = []
    try:
        for nodes in nx.shortest_simple_paths(g, src, dst):
            if len(nodes) - 1 > max_len or len(out) >= limit:
                break
            edges = [g.edges[u, v] for u, v in zip(nodes, nodes[1:], strict=False)]
            out.append(Path(tuple(int(n) for n in nodes), tuple(e["link_id"] for e in edges),
                            tuple(e["hop"] for e in edges), tuple(loader.case_of.get(int(n), 0) for n in nodes)))
    except nx.NetworkXNoPath:
        return []
    return out
