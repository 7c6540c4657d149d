"""FollowTheMoney and GraphML imports: round trips with our own exports, files written by
other tools, atomic refusal of problem files, partial import on request, provenance."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workstation.errors import BadInput
from workstation.reports.exports import export_case
from workstation.reports.interop import InteropProblems, import_ftm, import_graphml
from workstation.store import schema as s


def counts(ws, case_id: int) -> tuple[int, int, int]:  # noqa: ANN001
    return (len(ws.list_entities(case_id, limit=None)), len(ws.list_links(case_id=case_id)),
            ws.count_events(case_id))


def sources(ws) -> int:  # noqa: ANN001
    with ws.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(s.source)).scalar_one())


def write_lines(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


def test_ftm_round_trip_keeps_kinds_keys_links_and_events(demo_ws, tmp_path: Path) -> None:
    case = demo_ws.find_case("DEMO-2024-003")
    out = tmp_path / "c.ftm.json"
    export_case(demo_ws, case.id, "ftm", out)
    target = demo_ws.create_case("FTM-IN", "FtM import").id
    result = import_ftm(demo_ws, target, out)
    assert result.errors == () and result.source_id is not None
    assert counts(demo_ws, target) == counts(demo_ws, case.id)
    # Cards travel masked (no number, no fingerprint), so they come back by their label.
    def ident(e):  # noqa: ANN001, ANN202
        return (e.kind, e.label if e.kind == "card" else e.key or e.label)

    before = sorted(ident(e) for e in demo_ws.list_entities(case.id, limit=None))
    after = sorted(ident(e) for e in demo_ws.list_entities(target, limit=None))
    assert after == before
    kinds = sorted(ev.kind for ev in demo_ws.list_events(target, limit=None))
    assert kinds == sorted(ev.kind for ev in demo_ws.list_events(case.id, limit=None))
    tx = next(ev for ev in demo_ws.list_events(target, limit=None) if ev.kind == "transaction")
    src_tx = next(ev for ev in demo_ws.list_events(case.id, limit=None) if ev.kind == "transaction")
    assert tx.ts_utc == src_tx.ts_utc and tx.properties["amount"] == src_tx.properties["amount"]
    assert {p.role for p in tx.parties} >= {"payer", "payee", "payment_card"}
    # Provenance: every row points at the source with the file's SHA-256, and at its line.
    src = demo_ws.get_source(result.source_id)
    assert src.sha256 == hashlib.sha256(out.read_bytes()).hexdigest() and src.importer == "ftm"
    ent = demo_ws.list_entities(target, kind="person")[0]
    assert ent.source_id == result.source_id and ent.source_ref.startswith("line ")
    # The same file again changes nothing.
    again = import_ftm(demo_ws, target, out)
    assert again.duplicate_of == result.source_id and counts(demo_ws, target) == counts(demo_ws, case.id)


def test_ftm_from_another_tool_nested_and_as_array(ws, tmp_path: Path) -> None:
    case_id = ws.create_case("ALEPH-1", "From Aleph").id
    person = {"id": "p1", "schema": "Person", "properties": {
        "name": ["Casey Example"], "birthDate": ["1991-02-03", "not a date"], "email": ["Casey@Example.ORG"],
        "phone": ["+1 202-555-0142"], "nationality": ["ca"]}}
    company = {"id": "c1", "schema": "Company", "properties": {"name": ["Gift Card Plaza Ltd"]}}
    data = [
        person, company,
        {"id": "o1", "schema": "Ownership", "properties": {"owner": [person], "asset": [
            {"id": "v1", "schema": "Vehicle", "properties": {"name": ["Grey van"], "registrationNumber": ["ABC123"]}}]}},
        {"id": "pay1", "schema": "Payment", "properties": {"payer": ["p1"], "beneficiary": ["c1"],
                                                          "amount": ["120.50"], "currency": ["usd"],
                                                          "date": ["2024-03"]}},
        {"id": "call1", "schema": "Call", "properties": {"caller": ["p1"], "receiverNumber": ["+1 202-555-0177"],
                                                        "date": ["2024-03-05T10:15:00"], "duration": ["65"]}},
    ]
    path = tmp_path / "aleph.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = import_ftm(ws, case_id, path)
    assert result.errors == ()
    ents = {(e.kind, e.label) for e in ws.list_entities(case_id, limit=None)}
    assert ("person", "Casey Example") in ents and ("organisation", "Gift Card Plaza Ltd") in ents
    assert ("vehicle", "Grey van") in ents
    keys = {e.key for e in ws.list_entities(case_id, limit=None)}
    assert {"email:casey@example.org", "phone:+12025550142", "phone:+12025550177"} <= keys
    assert any("not valid for their property type" in w for w in result.warnings)
    casey = next(e for e in ws.list_entities(case_id, kind="person"))
    assert casey.properties["dob"] == "1991-02-03"
    link_kinds = {lk.kind for lk in ws.list_links(case_id=case_id)}
    assert {"owns", "uses"} <= link_kinds
    events = {ev.kind: ev for ev in ws.list_events(case_id, limit=None)}
    pay = events["transaction"]
    assert pay.properties["amount"] == "120.5" or pay.properties["amount"] == "120.50"
    assert pay.properties["currency"] == "USD" and pay.properties["time_precision"] == "month"
    assert pay.occurred_at.isoformat().startswith("2024-03-01T00:00:00")
    assert {p.role for p in events["call"].parties} == {"caller", "receiver"}


def test_ftm_problems_refuse_everything_unless_partial(ws, tmp_path: Path) -> None:
    case_id = ws.create_case("BAD-1", "Problems").id
    path = write_lines(tmp_path / "bad.ftm", [
        {"id": "p1", "schema": "Person", "properties": {"name": ["Alex Testperson"]}},
        {"id": "x1", "schema": "Spaceship", "properties": {"name": ["Nope"]}},
        {"id": "l1", "schema": "UnknownLink", "properties": {"subject": ["p1"], "object": ["ghost"], "role": ["uses"]}},
        {"id": "a1", "schema": "UserAccount", "properties": {"username": ["shadowfox_22"], "service": ["telegram"]}},
        {"id": "l2", "schema": "UnknownLink", "properties": {"subject": ["p1"], "object": ["a1"], "role": ["uses"]}},
    ])
    with path.open("a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    before = (counts(ws, case_id), sources(ws))
    with pytest.raises(InteropProblems) as err:
        import_ftm(ws, case_id, path)
    problems = {(p.row, p.field) for p in err.value.problems}
    assert problems == {("line 2", "schema"), ("line 3", "object"), ("line 6", None)}
    assert "Spaceship" in str(err.value) and "ghost" in str(err.value) and "line 3" in str(err.value)
    assert err.value.importable == 3 and err.value.exit_code == 4
    assert (counts(ws, case_id), sources(ws)) == before  # atomic: nothing at all
    result = import_ftm(ws, case_id, path, allow_partial=True)
    assert result.skipped == 3 and {p.row for p in result.errors} == {"line 2", "line 3", "line 6"}
    assert counts(ws, case_id) == (2, 1, 0)
    link = ws.list_links(case_id=case_id)[0]
    assert link.kind == "uses" and link.source_ref == "line 5"
    assert ws.get_source(result.source_id).summary["skipped"] == 3


def test_ftm_unreadable_file_is_bad_input(ws, tmp_path: Path) -> None:
    case_id = ws.create_case("BAD-2", "Binary").id
    path = tmp_path / "x.ftm"
    path.write_bytes(b"\x00\xff\xfe garbage \x80\x81\n")
    with pytest.raises(BadInput, match="line 1"):
        import_ftm(ws, case_id, path, allow_partial=True)
    with pytest.raises(BadInput, match="no such file"):
        import_ftm(ws, case_id, tmp_path / "missing.ftm")


def test_graphml_round_trip_of_our_export(demo_ws, tmp_path: Path) -> None:
    case = demo_ws.find_case("DEMO-2024-011")
    out = tmp_path / "c.graphml"
    export_case(demo_ws, case.id, "graphml", out)
    target = demo_ws.create_case("GML-IN", "GraphML import").id
    result = import_graphml(demo_ws, target, out)
    assert result.errors == ()
    n_ent, n_links, _ = counts(demo_ws, case.id)
    assert counts(demo_ws, target)[:2] == (n_ent, n_links)
    src_keys = {e.key for e in demo_ws.list_entities(case.id, limit=None) if e.key and e.kind != "card"}
    dst_keys = {e.key for e in demo_ws.list_entities(target, limit=None) if e.key}
    assert src_keys <= dst_keys  # identifiers still match across cases after the trip
    assert all(e.source_ref.startswith("node ") for e in demo_ws.list_entities(target, limit=None))


YED = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:y="http://www.yworks.com/xml/graphml">
  <key for="node" id="d0" yfiles.type="nodegraphics"/>
  <key for="node" id="d1" attr.name="Type" attr.type="string"/>
  <key for="edge" id="d2" attr.name="relationship" attr.type="string"/>
  <key for="edge" id="d3" attr.name="weight" attr.type="double"><default>0.7</default></key>
  <graph edgedefault="undirected" id="G">
    <node id="n0"><data key="d1">Person</data>
      <data key="d0"><y:ShapeNode><y:NodeLabel>Jordan Samplewood</y:NodeLabel></y:ShapeNode></data></node>
    <node id="n1"><data key="d1">Telephone</data>
      <data key="d0"><y:ShapeNode><y:NodeLabel>+1 (202) 555-0177</y:NodeLabel></y:ShapeNode></data></node>
    <node id="n2"><data key="d1">Organization</data>
      <data key="d0"><y:ShapeNode><y:NodeLabel>Ride Share Co</y:NodeLabel></y:ShapeNode></data></node>
    <node id="n3"><data key="d1">E-mail</data>
      <data key="d0"><y:ShapeNode><y:NodeLabel>jordan@example.org</y:NodeLabel></y:ShapeNode></data></node>
    <edge id="e0" source="n0" target="n1"><data key="d2">uses</data></edge>
    <edge id="e1" source="n0" target="n2"><data key="d2">employed by</data><data key="d3">0.4</data></edge>
    <edge id="e2" source="n0" target="n3"/>
    <edge id="e3" source="n0" target="n9"><data key="d2">uses</data></edge>
    <hyperedge><endpoint node="n0"/><endpoint node="n1"/><endpoint node="n2"/></hyperedge>
  </graph>
</graphml>
"""


def test_graphml_from_yed_with_problems(ws, tmp_path: Path) -> None:
    case_id = ws.create_case("YED-1", "From yEd").id
    path = tmp_path / "chart.graphml"
    path.write_text(YED, encoding="utf-8")
    with pytest.raises(InteropProblems) as err:
        import_graphml(ws, case_id, path)
    assert {(p.row, p.field) for p in err.value.problems} == {("edge e3", "target"), ("hyperedge", None)}
    assert counts(ws, case_id) == (0, 0, 0)
    result = import_graphml(ws, case_id, path, allow_partial=True)
    assert result.skipped == 2
    ents = {e.kind: e for e in ws.list_entities(case_id, limit=None)}
    assert ents["person"].label == "Jordan Samplewood"
    assert ents["phone"].key == "phone:+12025550177"
    assert ents["organisation"].label == "Ride Share Co"
    assert ents["email"].key == "email:jordan@example.org"
    links = {lk.kind: lk for lk in ws.list_links(case_id=case_id)}
    assert set(links) == {"uses", "employed_by", "related_to"}
    assert links["employed_by"].confidence == pytest.approx(0.4)
    assert links["uses"].confidence == pytest.approx(0.7)  # the key's default weight


def test_graphml_with_entities_is_refused(ws, tmp_path: Path) -> None:
    case_id = ws.create_case("XXE-1", "Hostile").id
    path = tmp_path / "bomb.graphml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n'
                    '<graphml><graph><node id="&lol2;"/></graph></graphml>\n', encoding="utf-8")
    with pytest.raises(BadInput, match="refused"):
        import_graphml(ws, case_id, path)
    path.write_text("<graphml><graph><node id='a'>", encoding="utf-8")
    with pytest.raises(BadInput, match="not well-formed"):
        import_graphml(ws, case_id, path)
    path.write_text("<svg/>", encoding="utf-8")
    with pytest.raises(BadInput, match="not a GraphML file"):
        import_graphml(ws, case_id, path)
    assert sources(ws) == 0


GEPHI = """<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
<key attr.name="label" attr.type="string" for="node" id="label"/>
<key attr.name="Edge Label" attr.type="string" for="edge" id="edgelabel"/>
<key attr.name="weight" attr.type="double" for="edge" id="weight"/>
<key attr.name="Category" attr.type="string" for="node" id="category"/>
<key attr.name="r" attr.type="int" for="node" id="r"/>
<key attr.name="x" attr.type="float" for="node" id="x"/>
<key attr.name="notes" attr.type="string" for="node" id="notes"/>
<graph edgedefault="directed">
<node id="0"><data key="label">Avery Mockridge</data><data key="category">people</data><data key="r">12</data>
<data key="x">-10.5</data><data key="notes">seen at the park</data></node>
<node id="1"><data key="label">203.0.113.9</data><data key="category">IP Address</data></node>
<edge id="0" source="0" target="1"><data key="edgelabel">logged in from</data><data key="weight">2.0</data></edge>
</graph>
</graphml>
"""

CYTOSCAPE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <key id="name" for="node" attr.name="name" attr.type="string"/>
    <key id="type" for="node" attr.name="type" attr.type="string"/>
    <key id="interaction" for="edge" attr.name="interaction" attr.type="string"/>
    <key id="sharedname" for="all" attr.name="shared name" attr.type="string"/>
    <graph edgedefault="undirected">
        <node id="n1"><data key="name">quinn_4</data><data key="type">username</data>
            <data key="sharedname">quinn_4</data></node>
        <node id="n2"><data key="name">Quinn Notreal</data><data key="type">Person</data></node>
        <edge source="n2" target="n1"><data key="interaction">uses</data></edge>
    </graph>
</graphml>
"""


@pytest.mark.parametrize("text,expect", [
    (GEPHI, {("person", "Avery Mockridge"), ("ip", "203.0.113.9")}),
    (CYTOSCAPE, {("account", "quinn_4"), ("person", "Quinn Notreal")}),
])
def test_graphml_from_gephi_and_cytoscape(ws, tmp_path: Path, text: str, expect: set) -> None:
    case_id = ws.create_case("GRAPH-X", "Other tools").id
    path = tmp_path / "g.graphml"
    path.write_text(text, encoding="utf-8")
    result = import_graphml(ws, case_id, path)
    assert result.errors == () and result.links == 1
    assert {(e.kind, e.label) for e in ws.list_entities(case_id, limit=None)} == expect
    link = ws.list_links(case_id=case_id)[0]
    assert link.kind in ("logged_in_from", "uses") and link.confidence == 1.0
    person = ws.list_entities(case_id, kind="person")[0]
    if person.label == "Avery Mockridge":
        assert person.properties["notes"] == "seen at the park" and "r" not in person.properties
