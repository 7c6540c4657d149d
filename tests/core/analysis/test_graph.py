"""The link chart's core: building charts from the database, link bundles, layouts,
analysis, saved charts and the GraphML / i2 ANX exports. All people and identifiers are
synthetic (555-01xx phones, example.org mail, a test-range card)."""

from __future__ import annotations

import io
import json
import math
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from defusedxml import ElementTree as SafeET

from workstation.analysis import graph as G
from workstation.domain.service import Workstation
from workstation.errors import BadInput, Cancelled, NotFound, UsageError


@dataclass
class Case:
    ws: Workstation
    case: int
    other: int
    ids: dict[str, int]
    links: dict[str, int]


T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def make_cases(ws: Workstation) -> Case:
    """Case A: Alex (person) uses a phone and an e-mail, pays with a card, talks to Blair
    twice and once back, is loosely associated with Casey; a merchant shares events with
    Alex. Case B: Dana holds the same phone number."""
    case = ws.create_case("2024-LC-001", "Link chart case").id
    other = ws.create_case("2024-LC-002", "Other case").id
    e = {
        "alex": ws.add_entity(case, "person", "Alex Testperson").id,
        "phone": ws.add_entity(case, "phone", "+1 202-555-0142").id,
        "email": ws.add_entity(case, "email", "alex@example.org").id,
        "card": ws.add_entity(case, "card", "4111111111111111").id,
        "blair": ws.add_entity(case, "person", "Blair Samplewood").id,
        "casey": ws.add_entity(case, "person", "Casey Demoford").id,
        "shop": ws.add_entity(case, "organisation", "GIFT CARD PLAZA").id,
        "lonely": ws.add_entity(case, "vehicle", "Grey van").id,
        "dana": ws.add_entity(other, "person", "Dana Fictionby").id,
        "dana_phone": ws.add_entity(other, "phone", "+12025550142").id,
    }
    l = {
        "uses_phone": ws.add_link(e["alex"], e["phone"], "uses", confidence=0.9).id,
        "uses_email": ws.add_link(e["alex"], e["email"], "uses", confidence=0.6).id,
        "holder": ws.add_link(e["alex"], e["card"], "holder_of").id,
        "talk1": ws.add_link(e["alex"], e["blair"], "communicated_with").id,
        "talk2": ws.add_link(e["alex"], e["blair"], "communicated_with", confidence=0.7).id,
        "talk_back": ws.add_link(e["blair"], e["alex"], "communicated_with").id,
        "assoc": ws.add_link(e["blair"], e["casey"], "associate_of", confidence=0.3).id,
        "dana_uses": ws.add_link(e["dana"], e["dana_phone"], "uses").id,
    }
    for i in range(3):
        ws.add_event(case, "transaction", T0 + timedelta(hours=i), title=f"purchase {i}",
                     parties=[(e["card"], "payer"), (e["shop"], "merchant")])
    return Case(ws, case, other, e, l)


@pytest.fixture
def cs(ws: Workstation) -> Case:
    """A private copy, for tests that change the database."""
    return make_cases(ws)


@pytest.fixture(scope="module")
def ro(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Case]:
    """One copy shared by the tests that only read (building it costs a second)."""
    from tests.conftest import PASSPHRASE
    from workstation.store.database import Database

    target = tmp_path_factory.mktemp("graph") / "cases.db"
    shutil.copy2(template_db, target)
    ws = Workstation(Database.open(target, PASSPHRASE))
    yield make_cases(ws)
    ws.db.lock()


# ---------------------------------------------------------------------- building
def test_case_chart_holds_live_entities_and_their_links(cs: Case) -> None:
    ws, e = cs.ws, cs.ids
    gone = ws.add_entity(cs.case, "person", "Deleted Person").id
    ws.add_link(e["alex"], gone, "associate_of")
    ws.delete_entity(gone)
    chart = G.chart_from_case(ws, cs.case)
    assert set(chart.nodes) == {e[k] for k in ("alex", "phone", "email", "card", "blair", "casey", "shop", "lonely")}
    assert {l.link_id for l in chart.links.values()} == {v for k, v in cs.links.items() if k != "dana_uses"}
    node = chart.nodes[e["phone"]]
    assert (node.kind, node.key, node.case_number) == ("phone", "phone:+12025550142", "2024-LC-001")
    assert all(l.origin == "link" for l in chart.links.values())
    with pytest.raises(NotFound):
        G.chart_from_case(ws, 99_999)


def test_co_occurrence_links_count_shared_events(ro: Case) -> None:
    chart = G.chart_from_case(ro.ws, ro.case, co_occurrence=True)
    co = [l for l in chart.links.values() if l.origin == "co_occurs"]
    assert len(co) == 1
    assert {co[0].src_id, co[0].dst_id} == {ro.ids["card"], ro.ids["shop"]}
    assert co[0].weight == 3 and co[0].confidence == G.CO_OCCURS_CONFIDENCE and not co[0].directed


def test_merged_entities_are_shown_by_their_survivor(cs: Case) -> None:
    ws, e = cs.ws, cs.ids
    twin = ws.add_entity(cs.case, "person", "A. Testperson").id
    ws.add_link(twin, e["casey"], "associate_of")
    ws.merge_entities(e["alex"], [twin], "same person, same date of birth")
    chart = G.chart_from_entities(ws, [twin, e["casey"]])
    assert set(chart.nodes) == {e["alex"], e["casey"]}
    assert any({l.src_id, l.dst_id} == {e["alex"], e["casey"]} for l in chart.links.values())


def test_selection_chart_links_only_among_the_selection_and_marks_same_keys(ro: Case) -> None:
    e = ro.ids
    chart = G.chart_from_entities(ro.ws, [e["alex"], e["phone"], e["dana_phone"], e["lonely"]])
    kinds = sorted((l.origin, l.kind) for l in chart.links.values())
    assert kinds == [("link", "uses"), ("same_key", "same_key")]
    same = next(l for l in chart.links.values() if l.origin == "same_key")
    assert {same.src_id, same.dst_id} == {e["phone"], e["dana_phone"]}
    assert chart.case_ids == {ro.case, ro.other}


def test_expand_adds_neighbours_filtered_and_across_cases(ro: Case) -> None:
    ws, e = ro.ws, ro.ids
    start = G.chart_from_entities(ws, [e["alex"]])
    add = G.expand(ws, start, [e["alex"]])
    assert set(add.nodes) == {e["phone"], e["email"], e["card"], e["blair"]}
    assert {l.link_id for l in add.links.values()} == {ro.links[k] for k in
                                                       ("uses_phone", "uses_email", "holder", "talk1", "talk2", "talk_back")}
    only_uses = G.expand(ws, start, [e["alex"]], link_kinds=["uses"])
    assert set(only_uses.nodes) == {e["phone"], e["email"]}
    only_people = G.expand(ws, start, [e["alex"]], entity_kinds=["person"])
    assert set(only_people.nodes) == {e["blair"]}
    # Expanding what is already there adds nothing new.
    chart = start.merge(add)
    assert G.expand(ws, chart, [e["alex"]]).nodes == {}
    # The phone's twin in the other case arrives only across cases, with its connection.
    assert e["dana_phone"] not in G.expand(ws, chart, [e["phone"]]).nodes
    cross = G.expand(ws, chart, [e["phone"]], cross_case=True)
    assert set(cross.nodes) == {e["dana_phone"]}
    assert [l.origin for l in cross.links.values()] == ["same_key"]
    assert G.expand(ws, chart, [e["phone"]], cross_case=True, allowed_cases=[ro.case]).nodes == {}
    limited = G.expand(ws, start, [e["alex"]], limit=2)
    assert len(limited.nodes) == 2 and limited.truncated


def test_additions_bring_links_to_what_is_on_the_chart(ro: Case) -> None:
    e = ro.ids
    chart = G.chart_from_entities(ro.ws, [e["alex"], e["blair"]])
    add = G.chart_additions(ro.ws, chart, [e["casey"], e["alex"]])
    assert set(add.nodes) == {e["casey"]}
    assert [l.link_id for l in add.links.values()] == [ro.links["assoc"]]


# ---------------------------------------------------------------------- bundles and styles
def test_line_style_follows_confidence_thresholds() -> None:
    assert [G.line_style(c) for c in (1.0, 0.8, 0.79, 0.5, 0.49, 0.0)] == [
        "solid", "solid", "dashed", "dashed", "dotted", "dotted"]


def test_links_between_one_pair_are_summarised_by_multiplicity(ro: Case) -> None:
    e = ro.ids
    chart = G.chart_from_entities(ro.ws, [e["alex"], e["blair"]])
    single = G.summarise_links(chart.links.values(), "single")
    assert len(single) == 1
    b = single[0]
    assert b.count == 3 and b.forward + b.backward == 3 and b.arrow_at_a and b.arrow_at_b
    assert b.confidence == 1.0 and b.style == "solid" and b.label == "communicated with"
    directed = G.summarise_links(chart.links.values(), "directed")
    assert sorted(x.count for x in directed) == [1, 2]
    assert all(x.lanes == 2 for x in directed) and sorted(x.lane for x in directed) == [0, 1]
    two = next(x for x in directed if x.count == 2)
    assert (two.a, two.b) == (e["alex"], e["blair"]) and two.arrow_at_b and not two.arrow_at_a
    multiple = G.summarise_links(chart.links.values(), "multiple")
    assert len(multiple) == 3 and {x.count for x in multiple} == {1} and multiple[0].lanes == 3
    with pytest.raises(UsageError):
        G.summarise_links([], "bundled")


# ---------------------------------------------------------------------- layouts
def _community_graph(n: int, m: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    comm = rng.integers(0, max(1, n // 40), n)
    order = np.argsort(comm, kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    src = rng.integers(0, n, m)
    near = order[np.clip(rank[src] + rng.integers(-20, 21, m), 0, n - 1)]
    dst = np.where(rng.random(m) < 0.95, near, rng.integers(0, n, m))
    return np.stack([src, dst], axis=1)


def test_force_layout_is_deterministic_for_a_seed_and_separates_nodes() -> None:
    edges = _community_graph(600, 1500)
    a = G.force_layout(600, edges, seed=4)
    b = G.force_layout(600, edges, seed=4)
    c = G.force_layout(600, edges, seed=5)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    d = np.sqrt(((a[:, None, :] - a[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    assert d.min() > 5.0, "two nodes ended on top of each other"
    e = edges[edges[:, 0] != edges[:, 1]]
    linked = np.median(np.linalg.norm(a[e[:, 0]] - a[e[:, 1]], axis=1))
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, 600, (2000, 2))
    random_pairs = np.median(np.linalg.norm(a[pairs[:, 0]] - a[pairs[:, 1]], axis=1))
    assert linked < random_pairs / 2, "linked nodes should sit much closer than random pairs"


def test_force_layout_of_5000_nodes_is_fast_enough() -> None:
    edges = _community_graph(5000, 20000)
    t0 = time.process_time()
    pos = G.force_layout(5000, edges, seed=1)
    cpu = time.process_time() - t0
    assert pos.shape == (5000, 2) and np.isfinite(pos).all()
    # The target is 3 s wall time on a 2-core machine (see benchmarks/bench_linkchart.py);
    # CPU time keeps this check meaningful on a busy test machine.
    assert cpu < 6.0, f"force layout of 5k nodes / 20k edges took {cpu:.1f} s of CPU"


def test_incremental_layout_keeps_old_positions_and_places_new_nodes_near_neighbours() -> None:
    edges = _community_graph(300, 700)
    base = G.force_layout(300, edges, seed=2)
    # Two new nodes: one hanging off node 7, one off the first new node.
    P = np.vstack([base, np.zeros((2, 2))])
    more = np.vstack([edges, [[300, 7], [301, 300]]])
    known = np.r_[np.ones(300, bool), np.zeros(2, bool)]
    out = G.incremental_layout(302, more, P, known, seed=2)
    assert np.array_equal(out[:300], base)
    assert np.linalg.norm(out[300] - base[7]) < 3 * G.NODE_SPACING
    assert np.linalg.norm(out[301] - out[300]) < 3 * G.NODE_SPACING
    again = G.incremental_layout(302, more, P, known, seed=2)
    assert np.array_equal(out, again)


def test_compute_layout_keeps_pinned_and_hidden_nodes_in_place(ro: Case) -> None:
    chart = G.chart_from_case(ro.ws, ro.case)
    first = G.compute_layout(chart, "force", seed=1)
    pinned = {ro.ids["alex"]}
    for algorithm in G.LAYOUTS:
        out = G.compute_layout(chart, algorithm, positions=first, pinned=pinned, hidden={ro.ids["lonely"]}, seed=3)
        assert out[ro.ids["alex"]] == first[ro.ids["alex"]], algorithm
        assert ro.ids["lonely"] not in out, "hidden nodes are not laid out"
        assert len(out) == len(chart.nodes) - 1
    with pytest.raises(UsageError):
        G.compute_layout(chart, "spiral")


def test_compute_layout_incremental_moves_only_new_nodes(ro: Case) -> None:
    chart = G.chart_from_entities(ro.ws, [ro.ids["alex"], ro.ids["phone"], ro.ids["blair"]])
    pos = G.compute_layout(chart, "force", seed=0)
    bigger = chart.merge(G.expand(ro.ws, chart, [ro.ids["blair"]]))
    out = G.compute_layout(bigger, "force", positions=pos, incremental=True, seed=0)
    assert all(out[e] == p for e, p in pos.items())
    assert out[ro.ids["casey"]] != (0.0, 0.0)


def test_hierarchical_layout_puts_roots_on_top_and_neighbours_below() -> None:
    edges = [(0, 1), (0, 2), (1, 3), (2, 4), (5, 6)]
    P = G.hierarchical_layout(7, edges, roots=[0])
    assert P[0, 1] < P[1, 1] == P[2, 1] < P[3, 1] == P[4, 1]
    assert P[5, 1] == P[0, 1], "a separate component gets its own root on the top layer"
    assert len({tuple(p) for p in P.tolist()}) == 7


def test_circular_and_grouped_layouts() -> None:
    P = G.circular_layout(12)
    r = np.linalg.norm(P, axis=1)
    assert np.allclose(r, r[0])
    arc = 2 * math.pi * r[0] / 12
    assert arc >= G.NODE_SPACING - 1e-6
    groups = ["A"] * 10 + ["B"] * 6 + ["C"] * 3
    edges = [(i, i + 1) for i in range(9)] + [(10 + i, 11 + i) for i in range(5)] + [(16, 17)]
    Q = G.grouped_layout(19, edges, groups, seed=1)
    boxes = {}
    for g in "ABC":
        idx = [i for i, x in enumerate(groups) if x == g]
        boxes[g] = (Q[idx].min(axis=0), Q[idx].max(axis=0))
    for a in "ABC":
        for b in "ABC":
            if a < b:
                (alo, ahi), (blo, bhi) = boxes[a], boxes[b]
                overlap = (alo < bhi).all() and (blo < ahi).all()
                assert not overlap, f"groups {a} and {b} overlap"


def test_layout_honours_cancellation() -> None:
    class Stop:
        def is_set(self) -> bool:
            return True

    with pytest.raises(Cancelled):
        G.force_layout(50, [(0, 1)], cancel=Stop())


# ---------------------------------------------------------------------- analysis
def test_shortest_path_on_the_chart_and_hidden_nodes_block_it(ro: Case) -> None:
    e = ro.ids
    chart = G.chart_from_case(ro.ws, ro.case)
    path = G.shortest_path(chart, e["phone"], e["casey"])
    assert path is not None
    assert path.entity_ids == (e["phone"], e["alex"], e["blair"], e["casey"])
    assert path.hops[0] == (f"L{ro.links['uses_phone']}",)
    assert set(path.hops[1]) == {f"L{ro.links[k]}" for k in ("talk1", "talk2", "talk_back")}
    assert G.shortest_path(chart, e["phone"], e["lonely"]) is None
    assert G.shortest_path(chart, e["phone"], e["casey"], hidden={e["blair"]}) is None
    with pytest.raises(NotFound):
        G.shortest_path(chart, e["phone"], e["casey"], hidden={e["casey"]})


def test_centrality_degree_and_betweenness(ro: Case) -> None:
    e = ro.ids
    chart = G.chart_from_case(ro.ws, ro.case)
    deg = G.centrality(chart, "degree")
    assert deg[e["alex"]] == 1.0 and deg[e["lonely"]] == 0.0
    btw = G.centrality(chart, "betweenness")
    assert max(btw, key=btw.get) == e["alex"] and btw[e["phone"]] == 0.0
    assert btw[e["blair"]] > 0
    with pytest.raises(UsageError):
        G.centrality(chart, "pagerank")


def test_sampled_betweenness_finds_the_bridge_of_a_big_chart() -> None:
    # Two 500-node stars joined through one bridge node.
    nodes = {i: G.ChartNode(i, 1, "C-1", "person", f"p{i}") for i in range(1002)}
    links = {}
    for i in range(1, 500):
        links[f"L{i}"] = G.ChartLink(f"L{i}", 0, i, "uses", 1.0)
    for i in range(502, 1002):
        links[f"L{i}"] = G.ChartLink(f"L{i}", 501, i, "uses", 1.0)
    links["L9000"] = G.ChartLink("L9000", 0, 500, "uses", 1.0)
    links["L9001"] = G.ChartLink("L9001", 500, 501, "uses", 1.0)
    chart = G.ChartData(nodes, links)
    btw = G.centrality(chart, "betweenness", seed=3)
    top3 = sorted(btw, key=btw.get, reverse=True)[:3]
    assert set(top3) == {0, 500, 501}


# ---------------------------------------------------------------------- saved charts
def _state(cs: Case) -> G.ChartState:
    e = cs.ids
    return G.ChartState(
        positions={e["alex"]: (0.0, 0.0), e["phone"]: (150.5, -20.25), e["blair"]: (-140.0, 90.0)},
        hidden={e["blair"]}, pinned={e["alex"]},
        groups=[G.ChartGroup("Suspect devices", (e["alex"], e["phone"]), "#059669")],
        multiplicity="directed", co_occurrence=True, sizing="size:degree", view=(10.0, 20.0, 0.75))


def test_saved_chart_round_trip_is_audited_and_keyed_by_case_uid(cs: Case) -> None:
    ws = cs.ws
    state = _state(cs)
    changes = G.save_chart(ws, cs.case, "Working chart", state)
    assert changes.case_id == cs.case and changes.op == "created"
    loaded = G.load_chart(ws, cs.case, "Working chart")
    assert loaded == state
    uid = ws.get_case(cs.case).uid
    with ws.db.read() as conn:
        raw = ws.db.meta_get(conn, f"chart:{uid}:Working chart")
        audits = [a for a in ws.audit.entries(conn) if a.action == "chart.save"]
    assert raw is not None and json.loads(raw)["multiplicity"] == "directed"
    assert audits and audits[-1].details["name"] == "Working chart" and audits[-1].target_id == str(cs.case)
    assert G.save_chart(ws, cs.case, "Working chart", state).op == "updated"
    G.save_chart(ws, cs.case, "another", G.ChartState())
    assert [c.name for c in G.list_charts(ws, cs.case)] == ["another", "Working chart"]
    assert G.list_charts(ws, cs.other) == []
    G.delete_chart(ws, cs.case, "another")
    assert [c.name for c in G.list_charts(ws, cs.case)] == ["Working chart"]
    with pytest.raises(NotFound):
        G.load_chart(ws, cs.case, "another")
    with pytest.raises(NotFound):
        G.delete_chart(ws, cs.case, "another")
    with pytest.raises(UsageError):
        G.save_chart(ws, cs.case, "  ", state)
    with pytest.raises(NotFound):
        G.save_chart(ws, 99_999, "x", state)


def test_damaged_saved_chart_names_the_field(cs: Case) -> None:
    ws = cs.ws
    uid = ws.get_case(cs.case).uid
    bad = {"version": 1, "nodes": [[1, "left", 2]]}
    with ws.db.write() as conn:
        ws.db.meta_set(conn, G.chart_key(uid, "broken"), json.dumps(bad))
        ws.db.meta_set(conn, G.chart_key(uid, "future"), json.dumps({"version": 99}))
        ws.db.meta_set(conn, G.chart_key(uid, "garbage"), "{not json")
    with pytest.raises(BadInput, match="'nodes' item 0"):
        G.load_chart(ws, cs.case, "broken")
    with pytest.raises(BadInput, match="version"):
        G.load_chart(ws, cs.case, "future")
    with pytest.raises(BadInput, match="not JSON"):
        G.load_chart(ws, cs.case, "garbage")


# ---------------------------------------------------------------------- export
def test_graphml_round_trips_through_networkx(ro: Case) -> None:
    chart = G.chart_from_case(ro.ws, ro.case, co_occurrence=True)
    chart = chart.merge(G.chart_from_entities(ro.ws, [ro.ids["phone"], ro.ids["dana_phone"]]))
    pos = G.compute_layout(chart, "force", seed=1)
    buf = io.BytesIO()
    G.write_graphml(chart, buf, positions=pos)
    buf.seek(0)
    g = nx.read_graphml(buf, force_multigraph=True)
    assert set(g.nodes) == {f"n{e}" for e in chart.nodes}
    assert g.number_of_edges() == len(chart.links)
    for e, node in chart.nodes.items():
        attrs = g.nodes[f"n{e}"]
        assert (attrs["kind"], attrs["label"], attrs["key"], attrs["case"]) == (
            node.kind, node.label, node.key or "", node.case_number)
        assert attrs["x"] == pytest.approx(pos[e][0]) and attrs["y"] == pytest.approx(pos[e][1])
    seen = {}
    for u, v, key, attrs in g.edges(keys=True, data=True):
        seen[key] = (u, v, attrs)
    for lid, link in chart.links.items():
        u, v, attrs = seen[lid]
        assert (u, v) == (f"n{link.src_id}", f"n{link.dst_id}")
        assert attrs["kind"] == link.kind and attrs["confidence"] == pytest.approx(link.confidence)
        assert attrs["origin"] == link.origin
    # Hidden nodes stay out, with their links.
    buf = io.BytesIO()
    G.write_graphml(chart, buf, positions=pos, hidden={ro.ids["alex"]})
    buf.seek(0)
    g2 = nx.read_graphml(buf, force_multigraph=True)
    assert f"n{ro.ids['alex']}" not in g2 and g2.number_of_edges() < len(chart.links)


def test_anx_is_well_formed_i2_xml_with_every_entity_and_link(ro: Case, tmp_path) -> None:  # noqa: ANN001
    chart = G.chart_from_case(ro.ws, ro.case)
    pos = G.compute_layout(chart, "force", seed=1)
    target = tmp_path / "chart.anx"
    G.write_anx(chart, target, positions=pos, multiplicity="multiple")
    root = SafeET.parse(str(target)).getroot()
    assert root.tag == "Chart"
    for coll in ("StrengthCollection", "AttributeClassCollection", "EntityTypeCollection", "LinkTypeCollection",
                 "ChartItemCollection"):
        assert root.find(coll) is not None, coll
    entities = {el.get("EntityId"): el for el in root.iter("Entity")}
    assert set(entities) == {f"E{e}" for e in chart.nodes}
    for e, node in chart.nodes.items():
        item = next(ci for ci in root.find("ChartItemCollection") if ci.find("End/Entity") is not None
                    and ci.find("End/Entity").get("EntityId") == f"E{e}")
        assert item.get("Label") == node.label
        assert item.find("End/Entity/Icon/IconStyle").get("Type") == node.kind.replace("_", " ").title()
        assert int(item.get("XPosition")) == round(pos[e][0]) and int(item.find("End").get("Y")) == round(pos[e][1])
    types = {t.get("Name") for t in root.iter("EntityType")}
    assert {n.kind.replace("_", " ").title() for n in chart.nodes.values()} <= types
    links = list(root.iter("Link"))
    assert len(links) == len(chart.links)
    ends = {(l.get("End1Id"), l.get("End2Id")) for l in links}
    assert ends == {(f"E{l.src_id}", f"E{l.dst_id}") for l in chart.links.values()}
    strengths = {s.get("Name") for s in root.iter("Strength")}
    for l in links:
        style = l.find("LinkStyle")
        assert style.get("Strength") in strengths and style.get("MlStyle") == "MultiplicityMultiple"
    by_conf = {round(float(a.get("Value")), 2): ci.find("Link/LinkStyle").get("Strength")
               for ci in root.find("ChartItemCollection") if ci.find("Link") is not None
               for a in ci.iter("Attribute") if a.get("AttributeClassReference") == "AC4"}
    assert by_conf[0.9] == "Confirmed" and by_conf[0.6] == "Unconfirmed" and by_conf[0.3] == "Tentative"
    refs = {a.get("AttributeClassReference") for a in root.iter("Attribute")}
    assert refs <= {c.get("Id") for c in root.iter("AttributeClass")}


def test_anx_escapes_awkward_labels(cs: Case) -> None:
    ws = cs.ws
    odd = ws.add_entity(cs.case, "person", 'O\'Brien <"Ace"> & Co \x07').id
    chart = G.chart_from_entities(ws, [odd, cs.ids["alex"]])
    buf = io.BytesIO()
    G.write_anx(chart, buf)
    root = SafeET.fromstring(buf.getvalue())
    labels = [ci.get("Label") for ci in root.iter("ChartItem")]
    assert any(lbl.startswith('O\'Brien <"Ace"> & Co') for lbl in labels)


def test_exports_are_audited_with_their_digest(cs: Case, tmp_path) -> None:  # noqa: ANN001
    chart = G.chart_from_case(cs.ws, cs.case)
    target = tmp_path / "chart.graphml"
    G.write_graphml(chart, target)
    digest = G.record_chart_export(cs.ws, target, "graphml", case_id=cs.case, nodes=len(chart.nodes),
                                   links=len(chart.links))
    with cs.ws.db.read() as conn:
        last = list(cs.ws.audit.entries(conn))[-1]
    assert last.action == "chart.export" and last.details["sha256"] == digest
    assert last.details["format"] == "graphml" and last.details["target"] == str(target)
    with pytest.raises(BadInput):
        G.record_chart_export(cs.ws, tmp_path / "missing.png", "png", case_id=None, nodes=0, links=0)


def test_layouts_leave_room_for_every_label() -> None:
    # A dense star: thirty leaves pulled onto one hub, where labels would pile up.
    nodes = {i: G.ChartNode(i, 1, "C-1", "account", f"account_{i:03d}") for i in range(31)}
    links = {f"L{i}": G.ChartLink(f"L{i}", 0, i, "uses", 1.0) for i in range(1, 31)}
    links.update({f"L{100 + i}": G.ChartLink(f"L{100 + i}", i, i + 1, "uses", 1.0) for i in range(1, 30)})
    pos = G.compute_layout(G.ChartData(nodes, links), "force", seed=2)
    P = np.array([pos[i] for i in range(31)])
    w, h = G.LABEL_BOX
    dx = np.abs(P[:, None, 0] - P[None, :, 0])
    dy = np.abs(P[:, None, 1] - P[None, :, 1])
    overlap = (dx < w - 1) & (dy < h - 1)
    np.fill_diagonal(overlap, False)
    assert not overlap.any(), f"{overlap.sum() // 2} pairs of labels overlap"
    fixed = np.zeros(31, bool)
    fixed[0] = True
    Q = G.remove_overlaps(np.zeros((31, 2)) + np.arange(31)[:, None] * 0.01, fixed=fixed)
    assert np.array_equal(Q[0], np.zeros(2) + 0.0), "a fixed node does not move"
