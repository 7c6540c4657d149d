"""The link chart panel, driven as an officer would: clicks and double-clicks on nodes,
the shared selection, saving and reopening, exports, and what the picture shows (icons,
line styles, labels by zoom). Synthetic people and identifiers only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from defusedxml import ElementTree as SafeET
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication

from tests.core.analysis.test_graph import Case, make_cases
from workstation.analysis import graph as G
from workstation.domain.service import Workstation
from ui.linkchart import ChartScene, LinkChartWidget
from ui.linkchart.items import LOD_NODE_LABEL
from ui.linkchart.paths import has_icon, kind_pixmap


@pytest.fixture
def cs(ws: Workstation) -> Case:
    return make_cases(ws)


@pytest.fixture
def chart(session, cs: Case, qtbot) -> Iterator[LinkChartWidget]:  # noqa: ANN001
    """A chart panel running its work inline (no worker), showing case A."""
    w = LinkChartWidget(session, session.hub, None, auto_build=False)
    qtbot.addWidget(w)
    w.resize(1100, 760)
    w.show()
    session.hub.select_case(cs.case, None)
    w.build_from_case(cs.case)
    assert len(w.scene.nodes) == 8
    yield w


def _click(qtbot, w: LinkChartWidget, entity_id: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # noqa: ANN001
    item = w.scene.nodes[entity_id]
    w.view.centerOn(item)
    QApplication.processEvents()
    qtbot.mouseClick(w.view.viewport(), Qt.MouseButton.LeftButton, modifier, w.view.mapFromScene(item.pos()))
    QApplication.processEvents()


def _render(scene: ChartScene, source: QRectF, size: int, *, antialias: bool = True) -> QImage:
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(QColor("#ffffff"))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, antialias)
    scene.render(p, QRectF(0, 0, size, size), source, Qt.AspectRatioMode.IgnoreAspectRatio)
    p.end()
    return img


def _dark(img: QImage, x: int, y: int) -> float:
    c = img.pixelColor(x, y)
    return 1.0 - (c.red() + c.green() + c.blue()) / (3 * 255)


# ---------------------------------------------------------------------- what is shown
def test_entities_show_their_kind_icon_and_a_fallback_for_unknown_kinds(chart: LinkChartWidget, cs: Case) -> None:
    scene = chart.scene
    assert {it.node.kind for it in scene.nodes.values()} == {"person", "phone", "email", "card", "organisation",
                                                            "vehicle"}
    person = scene.nodes[cs.ids["alex"]]
    r = person.radius
    source = QRectF(person.x() - 50, person.y() - 50, 100, 100)
    img = _render(scene, source, 100)
    # The icon's disc is drawn in the person colour just inside its rim.
    rim = img.pixelColor(50, int(50 - r * 0.85))
    if has_icon("person"):
        assert abs(rim.blue() - 0xEB) < 40 and rim.red() < 90, rim.name()
    # A kind without a picture still gets a visible, distinct shape.
    assert not has_icon("weapon")
    pix = kind_pixmap("weapon", 32).toImage()
    assert not pix.isNull() and pix.pixelColor(16, 3).alpha() > 0 and pix.pixelColor(0, 0).alpha() == 0


def test_confidence_is_shown_by_line_style(session, ws: Workstation, qtbot) -> None:  # noqa: ANN001
    case = ws.create_case("LS-1", "styles").id
    ids = [ws.add_entity(case, "person", f"P{i}").id for i in range(6)]
    for (a, b), conf in zip(((0, 1), (2, 3), (4, 5)), (0.9, 0.6, 0.3), strict=True):
        ws.add_link(ids[a], ids[b], "associate_of", confidence=conf)
    scene = ChartScene()
    data = G.chart_from_case(ws, case)
    pos = {ids[0]: (0, 0), ids[1]: (400, 0), ids[2]: (0, 200), ids[3]: (400, 200), ids[4]: (0, 400), ids[5]: (400, 400)}
    scene.set_chart(data, pos)
    img = _render(scene, QRectF(0, -100, 600, 600), 600, antialias=False)
    runs = {}
    for row, conf in ((100, 0.9), (300, 0.6), (500, 0.3)):
        ink = [max(_dark(img, x, y) for y in range(row - 2, row + 3)) > 0.25 for x in range(40, 160)]
        runs[conf] = sum(1 for i in range(1, len(ink)) if ink[i] and not ink[i - 1]) + (1 if ink[0] else 0)
        assert sum(ink) > 20, f"no line drawn for confidence {conf}"
    assert runs[0.9] <= 2, runs            # solid: one unbroken line
    assert 8 <= runs[0.6] <= 30, runs      # dashed
    assert runs[0.3] > runs[0.6] * 1.4, runs   # dotted: many more, shorter marks
    styles = {b.confidence: b.style for b in scene.bundles}
    assert styles == {0.9: "solid", 0.6: "dashed", 0.3: "dotted"}


def test_labels_are_dropped_when_zoomed_out(chart: LinkChartWidget, cs: Case) -> None:
    scene = chart.scene
    item = scene.nodes[cs.ids["lonely"]]

    def label_ink(zoom: float) -> float:
        half = 100 / zoom
        src = QRectF(item.x() - half, item.y() - half, 2 * half, 2 * half)
        img = _render(scene, src, 200)
        # The label band sits just under the icon.
        y0 = int(100 + (item.radius + 4) * zoom)
        y1 = int(100 + (item.radius + 16) * zoom) + 1
        return sum(_dark(img, x, y) for x in range(60, 140) for y in range(y0, y1))

    assert label_ink(1.0) > 15
    assert label_ink(LOD_NODE_LABEL * 0.6) == pytest.approx(0.0, abs=1.0)


def test_several_links_between_two_entities_are_summarised(chart: LinkChartWidget, cs: Case) -> None:
    scene = chart.scene
    a, b = cs.ids["alex"], cs.ids["blair"]
    pair = [x for x in scene.bundles if {x.a, x.b} == {a, b}]
    assert len(pair) == 1 and pair[0].count == 3 and pair[0].arrow_at_a and pair[0].arrow_at_b
    i = scene.bundles.index(pair[0])
    assert scene.bundle_count[i] == 3 and scene.bundle_text[i] == "communicated with"
    chart.set_multiplicity("multiple")
    lanes = [j for j, x in enumerate(scene.bundles) if {x.a, x.b} == {a, b}]
    assert len(lanes) == 3
    starts = {tuple(np.round(scene._b_p0[j], 3)) for j in lanes}
    assert len(starts) == 3, "parallel links are drawn side by side, not on top of each other"
    chart.set_multiplicity("directed")
    assert sorted(scene.bundles[j].count for j, x in enumerate(scene.bundles) if {x.a, x.b} == {a, b}) == [1, 2]


# ---------------------------------------------------------------------- building and expanding
def test_double_click_expands_a_node_with_its_neighbours(session, cs: Case, qtbot) -> None:  # noqa: ANN001
    w = LinkChartWidget(session, session.hub, None, auto_build=False)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    w.build_from_entities([cs.ids["blair"]], case_id=cs.case)
    assert set(w.scene.nodes) == {cs.ids["blair"]}
    before = w.scene.positions()
    item = w.scene.nodes[cs.ids["blair"]]
    w.view.centerOn(item)
    qtbot.mouseDClick(w.view.viewport(), Qt.MouseButton.LeftButton, pos=w.view.mapFromScene(item.pos()))
    assert set(w.scene.nodes) == {cs.ids["blair"], cs.ids["alex"], cs.ids["casey"]}
    assert w.scene.positions()[cs.ids["blair"]] == before[cs.ids["blair"]], "existing nodes keep their place"
    assert {l.link_id for l in w.scene.chart.links.values()} == {cs.links[k] for k in
                                                                 ("talk1", "talk2", "talk_back", "assoc")}
    # Expanding by kind, and across cases where the same phone is held elsewhere.
    w.expand([cs.ids["alex"]], entity_kinds=["phone"])
    assert cs.ids["phone"] in w.scene.nodes and cs.ids["email"] not in w.scene.nodes
    w.expand([cs.ids["phone"]])
    assert cs.ids["dana_phone"] not in w.scene.nodes
    w.expand([cs.ids["phone"]], cross_case=True)
    assert cs.ids["dana_phone"] in w.scene.nodes
    assert w.scene.nodes[cs.ids["dana_phone"]].foreign, "an entity of another case is marked as such"
    assert any(l.origin == "same_key" for l in w.scene.chart.links.values())


def test_hide_pin_group_and_layouts(chart: LinkChartWidget, cs: Case) -> None:
    scene = chart.scene
    scene.select_ids([cs.ids["alex"]])
    chart.toggle_pin()
    assert scene.pinned == {cs.ids["alex"]} and scene.nodes[cs.ids["alex"]].pinned
    where = scene.positions()[cs.ids["alex"]]
    for algorithm in ("hierarchical", "circular", "grouped", "force"):
        chart.run_layout(algorithm)
        assert scene.positions()[cs.ids["alex"]] == where, f"{algorithm} moved a pinned node"
    chart.run_layout("force")
    first = scene.positions()
    chart.run_layout("force")
    assert scene.positions() == first, "the same seed gives the same layout"
    chart.hide_nodes([cs.ids["casey"]])
    assert not scene.nodes[cs.ids["casey"]].isVisible()
    assert all(cs.ids["casey"] not in (x.a, x.b) for x in scene.bundles)
    scene.select_ids([cs.ids["phone"], cs.ids["email"]])
    chart.group_selected("Devices")
    box = scene.group_item("Devices").boundingRect()
    for e in (cs.ids["phone"], cs.ids["email"]):
        assert box.contains(scene.nodes[e].sceneBoundingRect().center())
    chart.show_hidden()
    assert scene.nodes[cs.ids["casey"]].isVisible() and not scene.hidden


def test_shortest_path_marks_exactly_the_path_items(chart: LinkChartWidget, cs: Case, qtbot) -> None:  # noqa: ANN001
    e = cs.ids
    _click(qtbot, chart, e["phone"])
    _click(qtbot, chart, e["casey"], Qt.KeyboardModifier.ControlModifier)
    assert set(chart.scene.selected_ids()) == {e["phone"], e["casey"]}
    path = chart.find_path()
    assert path is not None and path.entity_ids == (e["phone"], e["alex"], e["blair"], e["casey"])
    nodes, bundle_keys = chart.scene.path_items()
    assert nodes == {e["phone"], e["alex"], e["blair"], e["casey"]}
    expected = {x.key for x in chart.scene.bundles
                if frozenset((x.a, x.b)) in {frozenset((e["phone"], e["alex"])), frozenset((e["alex"], e["blair"])),
                                             frozenset((e["blair"], e["casey"]))}}
    assert bundle_keys == expected and len(expected) == 3
    assert not any(chart.scene.nodes[x].on_path for x in (e["email"], e["card"], e["shop"], e["lonely"]))
    chart.clear_path()
    assert chart.scene.path_items() == (set(), set())
    chart.scene.select_ids([e["phone"], e["lonely"]])
    assert chart.find_path() is None and "not connected" in chart.message_label.text()


def test_centrality_sizes_the_most_connected_entity_largest(chart: LinkChartWidget, cs: Case) -> None:
    chart.set_sizing("size:degree")
    radii = {e: it.radius for e, it in chart.scene.nodes.items()}
    assert max(radii, key=radii.get) == cs.ids["alex"]
    assert radii[cs.ids["lonely"]] < radii[cs.ids["alex"]]
    chart.set_sizing("colour:betweenness")
    assert chart.scene.nodes[cs.ids["alex"]].ring is not None
    assert len({it.radius for it in chart.scene.nodes.values()}) == 1
    chart.set_sizing("none")
    assert all(it.ring is None for it in chart.scene.nodes.values())


# ---------------------------------------------------------------------- shared selection
def test_selection_is_shared_both_ways(chart: LinkChartWidget, session, cs: Case, qtbot) -> None:  # noqa: ANN001
    hub = session.hub
    seen: list[tuple[frozenset, object]] = []
    hub.entitiesSelected.connect(lambda ids, origin: seen.append((ids, origin)))
    _click(qtbot, chart, cs.ids["card"])
    qtbot.waitUntil(lambda: hub.entities == frozenset({cs.ids["card"]}), timeout=2000)
    assert seen[-1][1] is chart
    _click(qtbot, chart, cs.ids["alex"], Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: hub.entities == frozenset({cs.ids["card"], cs.ids["alex"]}), timeout=2000)
    # A table (another origin) selects entities: the chart follows without echoing back.
    table = object()
    n_before = len(seen)
    hub.select_entities({cs.ids["email"], cs.ids["shop"], 999_999}, table)
    QApplication.processEvents()
    assert set(chart.scene.selected_ids()) == {cs.ids["email"], cs.ids["shop"]}
    assert all(origin is table for _ids, origin in seen[n_before:])
    assert hub.entities == frozenset({cs.ids["email"], cs.ids["shop"], 999_999})


def test_rubber_band_selects_nodes_in_the_dragged_area(chart: LinkChartWidget, session, cs: Case, qtbot) -> None:  # noqa: ANN001
    scene, view = chart.scene, chart.view
    view.fit()
    QApplication.processEvents()
    rect = scene.items_rect()
    tl = view.mapFromScene(rect.topLeft()) - QPoint(5, 5)
    br = view.mapFromScene(rect.bottomRight()) + QPoint(5, 5)
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=tl)
    for k in range(1, 6):
        qtbot.mouseMove(vp, tl + (br - tl) * (k / 5))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=br)
    qtbot.waitUntil(lambda: session.hub.entities == frozenset(scene.nodes), timeout=2000)


def test_dragging_a_node_moves_its_links(chart: LinkChartWidget, cs: Case, qtbot) -> None:  # noqa: ANN001
    scene, view = chart.scene, chart.view
    view.set_zoom(1.0)
    item = scene.nodes[cs.ids["email"]]
    view.centerOn(item)
    QApplication.processEvents()
    start = view.mapFromScene(item.pos())
    before = item.pos()
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, 6):
        qtbot.mouseMove(vp, start + QPoint(12 * k, 8 * k))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + QPoint(60, 40))
    QApplication.processEvents()
    moved = item.pos() - before
    assert moved.x() == pytest.approx(60, abs=2) and moved.y() == pytest.approx(40, abs=2)
    i = next(j for j, x in enumerate(scene.bundles) if cs.ids["email"] in (x.a, x.b))
    end = scene._b_p1[i] if scene.bundles[i].b == cs.ids["email"] else scene._b_p0[i]
    assert end[0] == pytest.approx(item.x()) and end[1] == pytest.approx(item.y())
    assert chart.dirty


# ---------------------------------------------------------------------- saving and exports
def test_saved_chart_reopens_exactly_as_it_was(chart: LinkChartWidget, cs: Case, ws: Workstation) -> None:
    scene = chart.scene
    scene.set_positions({cs.ids["alex"]: (123.25, -45.5)})
    chart.hide_nodes([cs.ids["lonely"]])
    chart.pin([cs.ids["phone"]])
    scene.select_ids([cs.ids["card"], cs.ids["shop"]])
    chart.group_selected("Money")
    chart.set_multiplicity("directed")
    chart.view.set_zoom(0.8)
    saved_positions = scene.positions()
    chart.save_chart("Working")
    assert chart.chart_name == "Working" and not chart.dirty
    assert [c.name for c in G.list_charts(ws, cs.case)] == ["Working"]
    chart.clear()
    assert not scene.nodes
    chart.open_chart("Working")
    assert set(scene.nodes) == set(saved_positions)
    for e, (x, y) in scene.positions().items():
        assert (x, y) == pytest.approx(saved_positions[e], abs=0.01)
    assert scene.hidden == {cs.ids["lonely"]} and not scene.nodes[cs.ids["lonely"]].isVisible()
    assert scene.pinned == {cs.ids["phone"]} and scene.nodes[cs.ids["phone"]].pinned
    assert scene.groups["Money"].members == tuple(sorted((cs.ids["card"], cs.ids["shop"])))
    assert scene.multiplicity == "directed"
    assert chart.view.zoom() == pytest.approx(0.8, rel=0.01)


def test_exports_write_files_that_read_back(chart: LinkChartWidget, cs: Case, ws: Workstation, tmp_path: Path) -> None:
    png = chart.export_png(tmp_path / "chart.png")
    img = QImage(str(png))
    assert not img.isNull() and img.width() > 200
    svg = chart.export_svg(tmp_path / "chart.svg")
    root = SafeET.parse(str(svg)).getroot()
    assert root.tag.endswith("svg")
    assert "Alex Testperson" in svg.read_text(encoding="utf-8")
    gml = chart.export_graphml(tmp_path / "chart.graphml")
    g = nx.read_graphml(gml, force_multigraph=True)
    assert g.number_of_nodes() == 8 and g.number_of_edges() == len(chart.scene.chart.links)
    anx = chart.export_anx(tmp_path / "chart.anx")
    assert len(list(SafeET.parse(str(anx)).getroot().iter("Entity"))) == 8
    with ws.db.read() as conn:
        exports = [a for a in ws.audit.entries(conn) if a.action == "chart.export"]
    assert [a.details["format"] for a in exports] == ["png", "svg", "graphml", "anx"]


# ---------------------------------------------------------------------- workers and the session
def test_work_runs_in_the_task_runner_and_a_lock_clears_the_chart(session, cs: Case, qtbot) -> None:  # noqa: ANN001
    w = LinkChartWidget(session, session.hub, session.runner)
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    session.hub.select_case(cs.case, None)     # small case: charted automatically, in a worker
    qtbot.waitUntil(lambda: len(w.scene.nodes) == 8, timeout=10_000)
    assert not w.busy
    w.scene.select_ids([cs.ids["blair"]])
    w.expand()
    qtbot.waitUntil(lambda: not w.busy, timeout=10_000)
    assert cs.ids["casey"] in w.scene.nodes
    w.run_layout("circular")
    qtbot.waitUntil(lambda: not w.busy, timeout=10_000)
    r = [np.hypot(*p) for p in w.scene.positions().values()]
    assert max(r) - min(r) < 1e-6 * max(r) + 1e-3
    session.detach()
    assert not w.scene.nodes and w.case_id is None


def test_edits_elsewhere_refresh_the_chart(chart: LinkChartWidget, session, cs: Case, ws: Workstation, qtbot) -> None:  # noqa: ANN001
    ws.update_entity(cs.ids["alex"], label="Alex T. Testperson")
    changes = ws.delete_entity(cs.ids["lonely"])
    session.emit_changes([changes])
    qtbot.waitUntil(lambda: cs.ids["lonely"] not in chart.scene.nodes, timeout=3000)
    assert chart.scene.nodes[cs.ids["alex"]].node.label == "Alex T. Testperson"


def test_lines_are_clipped_to_what_is_on_screen() -> None:
    from ui.linkchart.paths import clip_segments

    p0 = np.array([[0, 0], [5, 5], [-10, 5], [-10, -10], [5, -10]], float)
    p1 = np.array([[3, 3], [20, 5], [20, 5], [-5, -5], [5, 20]], float)
    q0, q1, tags = clip_segments(p0, p1, 0, 0, 10, 10, tags=np.array([0, 0, 1, 1, 2]))
    assert q0.tolist() == [[0, 0], [5, 5], [0, 5], [5, 0]]
    assert q1.tolist() == [[3, 3], [10, 5], [10, 5], [5, 10]]
    assert tags.tolist() == [0, 0, 1, 2], "wholly hidden segments are dropped, order kept"


def test_far_out_a_big_chart_draws_dots_and_keeps_the_selection(chart: LinkChartWidget, cs: Case,
                                                                monkeypatch) -> None:  # noqa: ANN001
    import ui.linkchart.scene as scene_mod

    monkeypatch.setattr(scene_mod, "OVERVIEW_MIN_NODES", 5)   # this chart stands in for a 20k-node one
    scene, view = chart.scene, chart.view
    scene.select_ids([cs.ids["alex"]])
    view.set_zoom(0.1)
    assert scene.overview
    assert all(it.opacity() == 0.0 for it in scene.nodes.values())
    assert scene.selected_ids() == [cs.ids["alex"]], "the selection survives the switch"
    item = scene.nodes[cs.ids["phone"]]
    src = QRectF(item.x() - 50, item.y() - 50, 100, 100)
    img = _render(scene, src, 100)
    centre = img.pixelColor(50, 50)
    assert (centre.red(), centre.green(), centre.blue()) == (0x05, 0x96, 0x69), centre.name()  # the phone colour
    view.set_zoom(1.0)
    assert not scene.overview and all(it.opacity() == 1.0 for it in scene.nodes.values())


def test_link_tooltip_lists_every_link_of_a_line(chart: LinkChartWidget, cs: Case) -> None:
    scene = chart.scene
    b = next(x for x in scene.bundles if {x.a, x.b} == {cs.ids["alex"], cs.ids["blair"]})
    text = chart.view.bundle_tooltip(b)
    assert "Alex Testperson" in text and "Blair Samplewood" in text
    assert text.count("communicated with") == 3 and "confidence 70%" in text
    i = scene.bundles.index(b)
    mid = QPointF(*((scene._b_p0[i] + scene._b_p1[i]) / 2).tolist())
    assert scene.bundle_at(mid, 3.0) == b
    phone_tip = scene.nodes[cs.ids["phone"]].tooltip()
    assert "phone:+12025550142" in phone_tip and "2024-LC-001" in phone_tip
