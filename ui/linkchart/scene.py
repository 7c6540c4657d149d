"""The chart scene: node items, batched links, groups, hidden/pinned state and highlights.

The scene holds the chart's data (a core ``ChartData``) and mirrors it as items. Node
positions live in a numpy array kept in step with the items (an item reports its own
moves), so links, group boxes and hit tests are computed with numpy, not per item.

What changed → what is recomputed:

* nodes or links added/removed, hidden set, multiplicity → the link bundles
  (:meth:`_rebuild_bundles`), then the link geometry;
* a node moved, selection, path highlight, radius → the link geometry only
  (:meth:`refresh_geometry`, coalesced to once per event-loop turn).

Thread: UI thread.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QStaticText, QTransform
from PySide6.QtWidgets import QGraphicsScene

from workstation.analysis.graph import (
    MULTIPLICITIES,
    ChartData,
    ChartGroup,
    ChartLink,
    ChartPath,
    ChartState,
    LinkBundle,
    summarise_links,
)
from ui.linkchart.items import (
    BASE_RADIUS,
    CASE_PX,
    EDGE_LABEL_PX,
    LABEL_PX,
    DotsItem,
    EdgeTileItem,
    GroupItem,
    NodeItem,
    Palette,
    _font,
)
from ui.linkchart.paths import kind_colour, points_polygon

SIZINGS: tuple[str, ...] = ("none", "size:degree", "size:betweenness", "colour:degree", "colour:betweenness")
GROUP_COLOURS: tuple[str, ...] = ("#2563eb", "#059669", "#d97706", "#9333ea", "#be123c", "#0891b2", "#4b5563")
LANE_GAP = 9.0
ARROW_LEN = 11.0
ARROW_HALF = 4.5
MAX_NODE_LABELS = 600       # node labels in view beyond which none are drawn (unreadable anyway)
MAX_EDGE_LABELS_VIEW = 400  # the same for link labels
DENSE_EDGES = 1500          # links in view beyond which line styles are drawn plain (a hairball)
OVERVIEW_MIN_NODES = 2500  # below this many nodes the items are cheap enough at any zoom


def _heat(v: float) -> QColor:
    """Blue (low) → amber → red (high) for a centrality in 0..1."""
    v = min(1.0, max(0.0, v))
    stops = ((0.0, (37, 99, 235)), (0.5, (245, 158, 11)), (1.0, (220, 38, 38)))
    for (a, ca), (b, cb) in zip(stops, stops[1:], strict=False):
        if v <= b:
            t = (v - a) / (b - a)
            return QColor(*(int(round(x + (y - x) * t)) for x, y in zip(ca, cb, strict=True)))
    return QColor(*stops[-1][1])


class ChartScene(QGraphicsScene):
    """Items and state of one link chart. See the module doc for what is recomputed when."""

    chartChanged = Signal()        # nodes, links, hidden, pins or groups changed
    nodesMoved = Signal()          # the officer dragged nodes (positions are chart state)
    selectionSettled = Signal()    # node selection changed (once per event-loop turn)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.colours = Palette()
        self.setBackgroundBrush(self.colours.base)
        self.label_font = _font(LABEL_PX)
        self.case_font = _font(CASE_PX)
        self.group_font = _font(13, bold=True)
        self.edge_label_font = _font(EDGE_LABEL_PX)
        self.force_detail = False
        self.node_labels_ok = True
        self.edge_labels_ok = True
        self.edges_dense = False
        self._static: dict[tuple[str, int], QStaticText] = {}
        # Icons are picked for this many device pixels per logical pixel (HiDPI screens).
        self.pixel_ratio = 1.0
        self.home_case: int | None = None
        self.chart = ChartData()
        self.nodes: dict[int, NodeItem] = {}
        self.ids: list[int] = []
        self.pos = np.zeros((0, 2))
        self.radius = np.zeros(0)
        self.hidden: set[int] = set()
        self.pinned: set[int] = set()
        self.groups: dict[str, ChartGroup] = {}
        self.multiplicity = "single"
        self.sizing = "none"
        self.centrality_values: dict[int, float] = {}
        self.path: ChartPath | None = None
        self.bundles: list[LinkBundle] = []
        self.bundle_text: list[str] = []
        self.bundle_count = np.zeros(0, np.int64)
        self.bundle_state = np.zeros(0, np.int8)
        self._ba = np.zeros(0, np.int64)
        self._bb = np.zeros(0, np.int64)
        self._b_style = np.zeros(0, np.int8)
        self._b_colour = np.zeros(0, np.int8)
        self._b_arrow_a = np.zeros(0, bool)
        self._b_arrow_b = np.zeros(0, bool)
        self._b_lane = np.zeros(0)
        self._b_p0 = np.zeros((0, 2))
        self._b_p1 = np.zeros((0, 2))
        self._tiles: list[EdgeTileItem] = []
        self._group_items: dict[str, GroupItem] = {}
        self._dots: DotsItem | None = None
        self.overview = False
        self._bulk = 0
        self._geometry_timer = QTimer(self)
        self._geometry_timer.setSingleShot(True)
        self._geometry_timer.setInterval(0)
        self._geometry_timer.timeout.connect(self.refresh_geometry)
        self._selection_timer = QTimer(self)
        self._selection_timer.setSingleShot(True)
        self._selection_timer.setInterval(0)
        self._selection_timer.timeout.connect(self._selection_settled)
        self._moved_by_user = False

    # ================================================================== building
    def clear_chart(self) -> None:
        """Remove everything (the scene is empty afterwards)."""
        self._bulk += 1
        try:
            self.clearSelection()
            self.clear()
        finally:
            self._bulk -= 1
        self.chart = ChartData()
        self.nodes = {}
        self.ids = []
        self.pos = np.zeros((0, 2))
        self.radius = np.zeros(0)
        self.hidden, self.pinned, self.groups = set(), set(), {}
        self.centrality_values = {}
        self.path = None
        self._tiles = []
        self._group_items = {}
        self._dots = None
        self.overview = False
        self._rebuild_bundles()
        self.chartChanged.emit()

    def set_chart(self, chart: ChartData, positions: Mapping[int, tuple[float, float]], *,
                  home_case: int | None = None, state: ChartState | None = None) -> None:
        """Show ``chart`` with ``positions`` (nodes without one start at the origin), and
        the hidden/pinned/groups/options of ``state`` when reopening a saved chart."""
        self.clear_chart()
        self.home_case = home_case
        if state is not None:
            self.multiplicity = state.multiplicity if state.multiplicity in MULTIPLICITIES else "single"
        self._add_nodes(chart, positions)
        self.chart = ChartData(dict(chart.nodes), dict(chart.links), chart.truncated)
        if state is not None:
            self.hidden = {i for i in state.hidden if i in self.nodes}
            self.pinned = {i for i in state.pinned if i in self.nodes}
            for e in self.hidden:
                self.nodes[e].setVisible(False)
            for e in self.pinned:
                self.nodes[e].pinned = True
            for g in state.groups:
                self._add_group_item(ChartGroup(g.name, tuple(m for m in g.members if m in self.nodes), g.colour))
        self._rebuild_bundles()
        self.refresh_geometry()
        self.chartChanged.emit()

    def add_chart(self, additions: ChartData, positions: Mapping[int, tuple[float, float]]) -> list[int]:
        """Add nodes and links (new ones only) and place the given nodes; returns the ids
        of the nodes that were new."""
        new = ChartData({i: n for i, n in additions.nodes.items() if i not in self.nodes},
                        {k: l for k, l in additions.links.items()
                         if (l.src_id in self.nodes or l.src_id in additions.nodes)
                         and (l.dst_id in self.nodes or l.dst_id in additions.nodes)})
        self._add_nodes(new, positions)
        self.chart = self.chart.merge(new)
        self.chart.truncated = self.chart.truncated or additions.truncated
        self.set_positions({e: p for e, p in positions.items() if e in self.nodes}, refresh=False)
        self._rebuild_bundles()
        self.refresh_geometry()
        self.chartChanged.emit()
        return list(new.nodes)

    def replace_data(self, chart: ChartData) -> None:
        """New data for the nodes already shown (labels, links after an edit); nodes that
        disappeared from ``chart`` are removed, positions are kept."""
        gone = [e for e in self.nodes if e not in chart.nodes]
        if gone:
            self.remove_nodes(gone, rebuild=False)
        for e, node in chart.nodes.items():
            item = self.nodes.get(e)
            if item is not None and item.node != node:
                item.set_node(node, self._is_foreign(node.case_id))
        self.chart = ChartData({e: n for e, n in chart.nodes.items() if e in self.nodes},
                               {k: l for k, l in chart.links.items() if l.src_id in self.nodes and l.dst_id in self.nodes},
                               chart.truncated)
        self._rebuild_bundles()
        self.refresh_geometry()
        self.chartChanged.emit()

    def remove_nodes(self, entity_ids: Iterable[int], *, rebuild: bool = True) -> None:
        """Take nodes off the chart (with their links, pins and group memberships)."""
        gone = {e for e in entity_ids if e in self.nodes}
        if not gone:
            return
        self._bulk += 1
        try:
            for e in gone:
                self.removeItem(self.nodes.pop(e))
        finally:
            self._bulk -= 1
        keep = [i for i, e in enumerate(self.ids) if e not in gone]
        self.ids = [self.ids[i] for i in keep]
        self.pos = self.pos[keep]
        self.radius = self.radius[keep]
        for i, e in enumerate(self.ids):
            self.nodes[e].index = i
        self.chart = self.chart.without(gone)
        self.hidden -= gone
        self.pinned -= gone
        for name, g in list(self.groups.items()):
            self.groups[name] = ChartGroup(g.name, tuple(m for m in g.members if m not in gone), g.colour)
        if self.path is not None and gone & set(self.path.entity_ids):
            self.set_path(None, refresh=False)
        if rebuild:
            self._rebuild_bundles()
            self.refresh_geometry()
            self.chartChanged.emit()

    def _is_foreign(self, case_id: int) -> bool:
        return self.home_case is not None and case_id != self.home_case

    def _add_nodes(self, chart: ChartData, positions: Mapping[int, tuple[float, float]]) -> None:
        fresh = [e for e in sorted(chart.nodes) if e not in self.nodes]
        if not fresh:
            return
        start = len(self.ids)
        self.ids.extend(fresh)
        coords = np.array([positions.get(e, (0.0, 0.0)) for e in fresh], np.float64).reshape(-1, 2)
        self.pos = np.vstack([self.pos, coords])
        self.radius = np.concatenate([self.radius, np.full(len(fresh), BASE_RADIUS)])
        self._bulk += 1
        try:
            for j, e in enumerate(fresh):
                node = chart.nodes[e]
                item = NodeItem(self, node, start + j, self._is_foreign(node.case_id))
                x, y = coords[j].tolist()
                item.setPos(x, y)
                self.addItem(item)
                self.nodes[e] = item
        finally:
            self._bulk -= 1

    # ================================================================== positions
    def positions(self, *, visible_only: bool = False) -> dict[int, tuple[float, float]]:
        """Entity id → (x, y) of every node (or only the visible ones)."""
        out: dict[int, tuple[float, float]] = {}
        coords = self.pos.tolist()
        for i, e in enumerate(self.ids):
            if visible_only and e in self.hidden:
                continue
            out[e] = (coords[i][0], coords[i][1])
        return out

    def set_positions(self, positions: Mapping[int, tuple[float, float]], *, refresh: bool = True) -> None:
        """Move nodes (unknown ids are ignored)."""
        self._bulk += 1
        try:
            for e, (x, y) in positions.items():
                item = self.nodes.get(e)
                if item is None:
                    continue
                x, y = float(x), float(y)
                item.setPos(x, y)
                self.pos[item.index] = (x, y)
        finally:
            self._bulk -= 1
        if refresh:
            self.refresh_geometry()

    def node_moved(self, item: NodeItem) -> None:
        """Called by a node item whenever it moved (layout or drag)."""
        if self._bulk:
            return
        p = item.pos()
        self.pos[item.index] = (p.x(), p.y())
        self._moved_by_user = True
        self._geometry_timer.start()

    def node_selection_changed(self) -> None:
        if not self._bulk:
            self._selection_timer.start()

    def _selection_settled(self) -> None:
        self.refresh_geometry()
        self.selectionSettled.emit()

    def items_rect(self, entity_ids: Iterable[int] | None = None) -> QRectF:
        """Scene rectangle around the given (default: visible) nodes with their labels."""
        ids = [e for e in (entity_ids if entity_ids is not None else self.ids)
               if e in self.nodes and e not in self.hidden]
        if not ids:
            return QRectF()
        idx = np.array([self.nodes[e].index for e in ids])
        lo = self.pos[idx].min(axis=0)
        hi = self.pos[idx].max(axis=0)
        r = float(self.radius[idx].max())
        return QRectF(QPointF(lo[0] - 80, lo[1] - r - 10), QPointF(hi[0] + 80, hi[1] + r + 40))

    # ================================================================== hidden / pinned / groups
    def set_hidden(self, entity_ids: Iterable[int], hidden: bool = True) -> None:
        ids = {e for e in entity_ids if e in self.nodes}
        if not ids:
            return
        self._bulk += 1
        try:
            for e in ids:
                if hidden:
                    self.nodes[e].setSelected(False)
                self.nodes[e].setVisible(not hidden)
        finally:
            self._bulk -= 1
        self.hidden = (self.hidden | ids) if hidden else (self.hidden - ids)
        if hidden and self.path is not None and ids & set(self.path.entity_ids):
            self.set_path(None, refresh=False)
        self._rebuild_bundles()
        self.refresh_geometry()
        self.chartChanged.emit()
        self.selectionSettled.emit()

    def show_all(self) -> None:
        self.set_hidden(set(self.hidden), hidden=False)

    def set_pinned(self, entity_ids: Iterable[int], pinned: bool = True) -> None:
        ids = {e for e in entity_ids if e in self.nodes}
        for e in ids:
            self.nodes[e].pinned = pinned
            self.nodes[e].update()
        self.pinned = (self.pinned | ids) if pinned else (self.pinned - ids)
        self.chartChanged.emit()

    def _add_group_item(self, group: ChartGroup) -> None:
        self.groups[group.name] = group
        item = GroupItem(self, group.name, group.colour)
        self.addItem(item)
        self._group_items[group.name] = item

    def add_group(self, name: str, entity_ids: Iterable[int], colour: str | None = None) -> ChartGroup:
        """Put a named box around these nodes (replacing a group of the same name)."""
        members = tuple(sorted(e for e in set(entity_ids) if e in self.nodes))
        if colour is None:
            colour = GROUP_COLOURS[len(self.groups) % len(GROUP_COLOURS)]
        self.remove_group(name, emit=False)
        group = ChartGroup(name, members, colour)
        self._add_group_item(group)
        self.refresh_geometry()
        self.chartChanged.emit()
        return group

    def remove_group(self, name: str, *, emit: bool = True) -> None:
        self.groups.pop(name, None)
        item = self._group_items.pop(name, None)
        if item is not None:
            self.removeItem(item)
        if emit:
            self.chartChanged.emit()

    def groups_of(self, entity_id: int) -> list[str]:
        return [g.name for g in self.groups.values() if entity_id in g.members]

    # ================================================================== selection
    def selected_ids(self) -> list[int]:
        """Entity ids of the selected nodes, in chart order."""
        chosen = [it.entity_id for it in self.selectedItems() if isinstance(it, NodeItem)]
        return sorted(chosen, key=lambda e: self.nodes[e].index)

    def select_ids(self, entity_ids: Iterable[int]) -> None:
        """Make exactly these (visible) nodes selected."""
        want = {e for e in entity_ids if e in self.nodes and e not in self.hidden}
        self._bulk += 1
        try:
            for it in self.selectedItems():
                if isinstance(it, NodeItem) and it.entity_id not in want:
                    it.setSelected(False)
            for e in want:
                if not self.nodes[e].isSelected():
                    self.nodes[e].setSelected(True)
        finally:
            self._bulk -= 1
        self.refresh_geometry()

    # ================================================================== highlight / centrality / options
    def set_path(self, path: ChartPath | None, *, refresh: bool = True) -> None:
        """Highlight a path (nodes and the links between consecutive nodes); None clears."""
        if self.path is not None:
            for e in self.path.entity_ids:
                if e in self.nodes:
                    self.nodes[e].on_path = False
                    self.nodes[e].update()
        self.path = path
        if path is not None:
            for e in path.entity_ids:
                if e in self.nodes:
                    self.nodes[e].on_path = True
                    self.nodes[e].update()
        if refresh:
            self.refresh_geometry()

    def path_items(self) -> tuple[set[int], set[str]]:
        """(node ids, bundle keys) currently marked as on the path: what the officer sees."""
        nodes = {e for e, it in self.nodes.items() if it.on_path}
        keys = {self.bundles[i].key for i in np.flatnonzero(self.bundle_state == 2).tolist()}
        return nodes, keys

    def set_centrality(self, values: Mapping[int, float], sizing: str) -> None:
        """Size (radius 0.75–2.2 × normal) or colour (blue → red ring) nodes by ``values``
        (0..1 per entity); ``sizing`` is one of :data:`SIZINGS` ("none" resets)."""
        self.sizing = sizing if sizing in SIZINGS else "none"
        self.centrality_values = dict(values) if self.sizing != "none" else {}
        by_size = self.sizing.startswith("size:")
        by_colour = self.sizing.startswith("colour:")
        for e, item in self.nodes.items():
            v = self.centrality_values.get(e, 0.0)
            r = BASE_RADIUS * (0.75 + 1.45 * math.sqrt(v)) if by_size else BASE_RADIUS
            item.set_radius(r)
            self.radius[item.index] = r
            item.ring = _heat(v) if by_colour else None
            item.update()
        self.refresh_geometry()
        self.chartChanged.emit()

    def set_multiplicity(self, mode: str) -> None:
        if mode not in MULTIPLICITIES:
            raise ValueError(f"multiplicity must be one of {', '.join(MULTIPLICITIES)}")
        self.multiplicity = mode
        self._rebuild_bundles()
        self.refresh_geometry()
        self.chartChanged.emit()

    def set_overview(self, on: bool) -> None:
        """Far out on a very large chart, draw dots instead of node items (the items stay,
        selectable and in place, only transparent)."""
        on = bool(on) and len(self.nodes) >= OVERVIEW_MIN_NODES
        if on == self.overview:
            return
        self.overview = on
        self._bulk += 1
        try:
            for item in self.nodes.values():
                item.setOpacity(0.0 if on else 1.0)
        finally:
            self._bulk -= 1
        if on and self._dots is None:
            self._dots = DotsItem(self)
            self.addItem(self._dots)
        if self._dots is not None:
            self._dots.setVisible(on)
        self.refresh_geometry()

    # ================================================================== state
    def state(self, view: tuple[float, float, float] | None = None, co_occurrence: bool = False) -> ChartState:
        return ChartState(self.positions(), set(self.hidden), set(self.pinned), list(self.groups.values()),
                          self.multiplicity, co_occurrence, self.sizing, view)

    # ================================================================== bundles and geometry
    def visible_links(self) -> list[ChartLink]:
        shown = {e for e in self.nodes if e not in self.hidden}
        return [l for l in self.chart.links.values() if l.src_id in shown and l.dst_id in shown]

    def _rebuild_bundles(self) -> None:
        self.bundles = summarise_links(self.visible_links(), self.multiplicity)
        n = len(self.bundles)
        index = {e: it.index for e, it in self.nodes.items()}
        self._ba = np.array([index[b.a] for b in self.bundles], np.int64)
        self._bb = np.array([index[b.b] for b in self.bundles], np.int64)
        self._b_style = np.array([{"solid": 0, "dashed": 1, "dotted": 2}[b.style] for b in self.bundles], np.int8)
        self._b_colour = np.array([2 if "same_key" in b.origins else 1 if b.origins == ("co_occurs",) else 0
                                   for b in self.bundles], np.int8)
        self._b_arrow_a = np.array([b.arrow_at_a for b in self.bundles], bool)
        self._b_arrow_b = np.array([b.arrow_at_b for b in self.bundles], bool)
        self._b_lane = np.array([(b.lane - (b.lanes - 1) / 2) * LANE_GAP for b in self.bundles], np.float64)
        self.bundle_count = np.array([b.count for b in self.bundles], np.int64)
        self.bundle_state = np.zeros(n, np.int8)
        self.bundle_text = [self._bundle_text(b) for b in self.bundles]

    def _bundle_text(self, b: LinkBundle) -> str:
        """What a line says: its stored link kinds; derived connections only when the line
        has nothing else to say (the tooltip lists everything)."""
        kinds = [k for k in b.kinds if k not in ("co_occurs", "same_key")]
        if kinds:
            names = [k.replace("_", " ") for k in kinds]
            return ", ".join(names) if len(names) <= 2 else f"{names[0]}, {names[1]} +{len(names) - 2}"
        if "same_key" in b.origins:
            return "same identifier"
        weight = sum(self.chart.links[i].weight for i in b.link_ids if i in self.chart.links)
        return f"shared events ({weight})" if weight > 1 else "shared event"

    def refresh_geometry(self) -> None:
        """Recompute link lines, arrowheads, tiles, group boxes and overview dots from the
        node positions (cheap: numpy over all links, then a few paths per tile)."""
        self._geometry_timer.stop()
        if self._moved_by_user:
            self._moved_by_user = False
            self.nodesMoved.emit()
        self._update_states()
        self._build_tiles()
        self._update_groups()
        if self.overview and self._dots is not None:
            self._update_dots()

    def _update_states(self) -> None:
        n = len(self.bundles)
        state = np.zeros(n, np.int8)
        if n:
            selected = np.zeros(len(self.ids), bool)
            for it in self.selectedItems():
                if isinstance(it, NodeItem):
                    selected[it.index] = True
            state[selected[self._ba] | selected[self._bb]] = 1
            if self.path is not None:
                on_path = self.path.link_ids
                for i, b in enumerate(self.bundles):
                    if on_path.intersection(b.link_ids):
                        state[i] = 2
        self.bundle_state = state

    def _build_tiles(self) -> None:
        n = len(self.bundles)
        if n == 0:
            for t in self._tiles:
                t.clear()
            self._b_p0 = self._b_p1 = np.zeros((0, 2))
            return
        p0 = self.pos[self._ba].copy()
        p1 = self.pos[self._bb].copy()
        d = p1 - p0
        length = np.sqrt((d * d).sum(axis=1))
        tiny = length < 1e-6
        length[tiny] = 1.0
        u = d / length[:, None]
        u[tiny] = (1.0, 0.0)
        normal = np.stack([-u[:, 1], u[:, 0]], axis=1)
        ra, rb = self.radius[self._ba], self.radius[self._bb]
        lane = np.clip(self._b_lane, -0.8 * np.minimum(ra, rb), 0.8 * np.minimum(ra, rb))
        p0 += normal * lane[:, None]
        p1 += normal * lane[:, None]
        self._b_p0, self._b_p1 = p0, p1
        mid = (p0 + p1) / 2
        # Tiles: about 8 × 8 over the chart at most, none smaller than 1000 units (each
        # tile costs a few calls per frame; lines are clipped to the screen anyway).
        lo = np.minimum(p0.min(axis=0), p1.min(axis=0))
        hi = np.maximum(p0.max(axis=0), p1.max(axis=0))
        size = max(1000.0, float(max(hi - lo)) / 8.0)
        cols = int((hi[0] - lo[0]) // size) + 1
        tile_of = ((mid[:, 1] - lo[1]) // size).astype(np.int64) * cols + ((mid[:, 0] - lo[0]) // size).astype(np.int64)
        order = np.argsort(tile_of, kind="stable")
        bounds = np.flatnonzero(np.diff(tile_of[order])) + 1
        groups = np.split(order, bounds)
        # Arrowheads at each end that has one: tip at the node's rim.
        tips_b = p1 - u * (rb + 2)[:, None]
        tips_a = p0 + u * (ra + 2)[:, None]
        while len(self._tiles) < len(groups):
            tile = EdgeTileItem(self)
            self.addItem(tile)
            self._tiles.append(tile)
        for tile, members in zip(self._tiles, groups, strict=False):
            self._fill_tile(tile, members, p0, p1, u, normal, tips_a, tips_b)
        for tile in self._tiles[len(groups):]:
            tile.clear()

    def _fill_tile(self, tile: EdgeTileItem, members: np.ndarray, p0: np.ndarray, p1: np.ndarray,
                   u: np.ndarray, normal: np.ndarray, tips_a: np.ndarray, tips_b: np.ndarray) -> None:
        state = self.bundle_state[members]
        style = self._b_style[members]
        colour = self._b_colour[members]
        code = style.astype(np.int64) * 100 + colour.astype(np.int64) * 10 + np.minimum(state, 1)
        segments = {}
        for c in np.unique(code).tolist():
            sel = members[code == c]
            segments[(c // 100, (c // 10) % 10, c % 10)] = (p0[sel], p1[sel])
        on_path = members[state == 2]
        arrows: dict[tuple[int, int], list[np.ndarray]] = {}
        for tips, direction, has in ((tips_b, -1.0, self._b_arrow_b), (tips_a, 1.0, self._b_arrow_a)):
            sel = members[has[members]]
            if not len(sel):
                continue
            tip = tips[sel]
            back = tip + direction * u[sel] * ARROW_LEN
            tri = np.stack([tip, back + normal[sel] * ARROW_HALF, back - normal[sel] * ARROW_HALF], axis=1)
            acode = self._b_colour[sel].astype(np.int64) * 10 + np.minimum(self.bundle_state[sel], 1)
            for c in np.unique(acode).tolist():
                arrows.setdefault((c // 10, c % 10), []).append(tri[acode == c])
        # Parallel lines carry their labels at staggered points so the texts do not pile up.
        t = np.clip(0.5 + (self._b_lane[members] / LANE_GAP) * 0.17, 0.2, 0.8)
        mid = p0[members] + (p1[members] - p0[members]) * t[:, None]
        lo = np.minimum(p0[members].min(axis=0), p1[members].min(axis=0))
        hi = np.maximum(p0[members].max(axis=0), p1[members].max(axis=0))
        tile.set_data(segments, {k: np.concatenate(v) for k, v in arrows.items()}, (p0[on_path], p1[on_path]),
                      mid, members, QRectF(QPointF(lo[0] - 90, lo[1] - 24), QPointF(hi[0] + 90, hi[1] + 24)))

    def _update_groups(self) -> None:
        for name, item in self._group_items.items():
            g = self.groups.get(name)
            members = [e for e in (g.members if g else ()) if e in self.nodes and e not in self.hidden]
            if not members:
                item.set_rect(QRectF())
                continue
            rect = self.items_rect(members)
            item.set_rect(rect.adjusted(-18, -10, 18, 8))

    def _update_dots(self) -> None:
        assert self._dots is not None
        shown = np.array([e not in self.hidden for e in self.ids], bool)
        kinds: dict[str, list[int]] = {}
        for i, e in enumerate(self.ids):
            if shown[i]:
                kinds.setdefault(self.nodes[e].node.kind, []).append(i)
        groups = [(kind_colour(k), points_polygon(self.pos[idx])) for k, idx in sorted(kinds.items())]
        sel = [it.index for it in self.selectedItems() if isinstance(it, NodeItem)]
        rect = self.items_rect()
        self._dots.set_points(rect, groups, points_polygon(self.pos[sel]) if sel else points_polygon(np.zeros((0, 2))))

    # ================================================================== per frame
    def begin_frame(self, visible: QRectF) -> None:
        """Called by the view before it draws: decide whether labels are worth drawing at
        this density (numpy over the node and link arrays; no per-item Python)."""
        x0, y0, x1, y1 = visible.left(), visible.top(), visible.right(), visible.bottom()
        if len(self.pos):
            p = self.pos
            shown = int(((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)).sum())
            self.node_labels_ok = shown <= MAX_NODE_LABELS
        if len(self._b_p0):
            m = (self._b_p0 + self._b_p1) / 2
            shown = int(((m[:, 0] >= x0) & (m[:, 0] <= x1) & (m[:, 1] >= y0) & (m[:, 1] <= y1)).sum())
            self.edge_labels_ok = shown <= MAX_EDGE_LABELS_VIEW
            self.edges_dense = shown > DENSE_EDGES

    def static_text(self, text: str, font: QFont) -> QStaticText:
        """A laid-out text, cached (drawing it is several times cheaper than drawText)."""
        key = (text, id(font))
        st = self._static.get(key)
        if st is None:
            if len(self._static) > 50_000:
                self._static.clear()
            st = QStaticText(text)
            st.setTextFormat(Qt.TextFormat.PlainText)
            st.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
            st.prepare(QTransform(), font)
            self._static[key] = st
        return st

    # ================================================================== hit tests
    def bundle_at(self, point: QPointF, tolerance: float) -> LinkBundle | None:
        """The link line nearest to ``point`` within ``tolerance`` scene units."""
        if not len(self.bundles) or not len(self._b_p0):
            return None
        q = np.array([point.x(), point.y()])
        a, b = self._b_p0, self._b_p1
        ab = b - a
        denom = (ab * ab).sum(axis=1)
        denom[denom == 0] = 1.0
        t = np.clip(((q - a) * ab).sum(axis=1) / denom, 0.0, 1.0)
        closest = a + ab * t[:, None]
        dist = np.sqrt(((closest - q) ** 2).sum(axis=1))
        i = int(np.argmin(dist))
        return self.bundles[i] if dist[i] <= tolerance else None

    def node_at(self, point: QPointF) -> NodeItem | None:
        for it in self.items(point):
            if isinstance(it, NodeItem) and it.isVisible():
                return it
        return None

    @property
    def edge_tiles(self) -> list[EdgeTileItem]:
        return [t for t in self._tiles if not t.boundingRect().isNull()]

    def group_item(self, name: str) -> GroupItem | None:
        return self._group_items.get(name)


__all__ = ["GROUP_COLOURS", "SIZINGS", "ChartScene"]
