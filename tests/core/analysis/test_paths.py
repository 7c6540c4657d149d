"""Shortest link paths within a case and across cases through shared identifiers."""

from __future__ import annotations

import pytest

from tests.core.analysis.conftest import World
from workstation.analysis.paths import shortest_paths
from workstation.domain.service import Workstation
from workstation.errors import NotFound, UsageError


def test_path_within_a_case_follows_links_either_way(world: World) -> None:
    ws = world.ws
    paths = shortest_paths(ws, world.ids["a_acct"], world.ids["a_card"])
    assert len(paths) == 1
    p = paths[0]
    assert p.entity_ids == (world.ids["a_acct"], world.ids["a_person"], world.ids["a_card"])
    links = {(lk.src_id, lk.dst_id): lk.id for lk in ws.list_links(case_id=world.cases["001"])}
    assert p.link_ids == (links[(world.ids["a_person"], world.ids["a_acct"])],
                          links[(world.ids["a_person"], world.ids["a_card"])])
    assert p.hops == ("uses", "holder_of") and p.length == 2
    assert shortest_paths(ws, world.ids["a_acct"], world.ids["a_card"], max_len=1) == []


def test_cross_case_path_steps_through_shared_keys(world: World) -> None:
    ws = world.ws
    src, dst = world.ids["c_acct"], world.ids["b_card"]
    assert shortest_paths(ws, src, dst) == []  # different cases, links only
    paths = shortest_paths(ws, src, dst, cross_case=True)
    assert [p.entity_ids for p in paths] == [
        (src, world.ids["a_acct"], world.ids["a_person"], world.ids["a_card"], dst)]
    p = paths[0]
    assert p.link_ids[0] is None and p.link_ids[-1] is None
    assert p.hops[0] == "same_key:account:telegram:jimmy_t"
    assert p.case_ids == (world.cases["003"], world.cases["001"], world.cases["001"], world.cases["001"],
                          world.cases["002"])
    assert shortest_paths(ws, src, dst, cross_case=True, max_len=3) == []
    # No shared key and no link: no path at all.
    assert shortest_paths(ws, src, world.ids["d_person"], cross_case=True) == []


def test_several_paths_shortest_first_and_deleted_links_break_them(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    case = ws.create_case("G-1", "graph").id
    n = {name: ws.add_entity(case, "person", name).id for name in ("A", "B", "C", "D", "E")}
    ab = ws.add_link(n["A"], n["B"], "associate_of").id
    ws.add_link(n["B"], n["E"], "associate_of")
    ws.add_link(n["A"], n["C"], "associate_of")
    ws.add_link(n["C"], n["D"], "associate_of")
    ws.add_link(n["D"], n["E"], "associate_of")
    paths = shortest_paths(ws, n["A"], n["E"])
    assert [p.entity_ids for p in paths] == [(n["A"], n["B"], n["E"]), (n["A"], n["C"], n["D"], n["E"])]
    assert len(shortest_paths(ws, n["A"], n["E"], limit=1)) == 1
    ws.delete_link(ab)
    assert [p.entity_ids for p in shortest_paths(ws, n["A"], n["E"])] == [(n["A"], n["C"], n["D"], n["E"])]
    assert shortest_paths(ws, n["A"], n["A"])[0].entity_ids == (n["A"],)
    with pytest.raises(NotFound):
        shortest_paths(ws, n["A"], 999_999)
    with pytest.raises(UsageError):
        shortest_paths(ws, n["A"], n["E"], max_len=0)


def test_merged_entity_is_reached_as_its_survivor(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    case = ws.create_case("G-2", "graph").id
    a = ws.add_entity(case, "person", "Alpha").id
    b = ws.add_entity(case, "person", "Bravo").id
    b2 = ws.add_entity(case, "person", "Bravo (alias)").id
    c = ws.add_entity(case, "person", "Charlie").id
    ws.add_link(a, b, "associate_of")
    ws.add_link(b2, c, "associate_of")
    assert shortest_paths(ws, a, c) == []
    ws.merge_entities(b, [b2], "alias")
    assert [p.entity_ids for p in shortest_paths(ws, a, c)] == [(a, b, c)]
    assert [p.entity_ids for p in shortest_paths(ws, b2, c)] == [(b, c)]
