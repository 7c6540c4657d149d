"""Cross-case matching: every planted overlap found and explained, nothing else."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from tests.core.analysis.conftest import World, add_media, at
from workstation.analysis.matching import (
    CaseConnection,
    _pdq_matrix,
    case_connections,
    dob_agreement,
    other_occurrences,
    pdq_distances,
)
from workstation.domain.service import Workstation
from workstation.errors import NotFound, UsageError


def by_number(conns: list[CaseConnection]) -> dict[str, CaseConnection]:
    return {c.other_case_number: c for c in conns}


def reasons(conn: CaseConnection, kind: str) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    return {r.key_or_desc: (r.this_items, r.other_items) for r in conn.reasons if r.kind == kind}


def test_only_cases_with_planted_overlaps_are_connected(world: World) -> None:
    conns = by_number(case_connections(world.ws, world.cases["001"]))
    assert set(conns) == {"C-2024-002", "C-2024-003", "C-2024-006"}
    # 004 shares nothing; 005 has a John Smith with another date of birth.
    assert case_connections(world.ws, world.cases["004"]) == []
    # 005's John Smith has another date of birth than 001's and 002's: only the name-only
    # John Smith of 006 remains, as a weak hint.
    other_dob = case_connections(world.ws, world.cases["005"])
    assert [c.other_case_number for c in other_dob] == ["C-2024-006"]
    assert [r.key_or_desc.startswith("name only") for r in other_dob[0].reasons] == [True]


def test_phone_card_and_ip_in_the_time_window(world: World) -> None:
    c = by_number(case_connections(world.ws, world.cases["001"]))["C-2024-002"]
    ident = reasons(c, "identifier")
    ws = world.ws
    phone_key = ws.get_entity(world.ids["a_phone"]).key
    card_key = ws.get_entity(world.ids["a_card"]).key
    assert ident == {
        phone_key: ((world.ids["a_phone"],), (world.ids["b_phone"],)),
        card_key: ((world.ids["a_card"],), (world.ids["b_card"],)),
        "ip:198.51.100.7": ((world.ids["a_ip_near"],), (world.ids["b_ip_near"],)),
    }
    by_key = {r.key_or_desc: r for r in c.reasons}
    assert "10.0 h apart" in by_key["ip:198.51.100.7"].explanation
    assert "•••• 1111" in by_key[card_key].explanation and "4111" not in by_key[card_key].explanation
    assert "+1 202-555-0143" in by_key[phone_key].explanation
    assert all(r.explanation and r.weight > 0 for r in c.reasons)
    assert c.score == pytest.approx(sum(r.weight for r in c.reasons), abs=1e-3)


def test_edited_image_matches_by_pdq_and_person_by_name_and_dob(world: World) -> None:
    c = by_number(case_connections(world.ws, world.cases["001"]))["C-2024-002"]
    pdq = [r for r in c.reasons if r.kind == "media_pdq"]
    assert len(pdq) == 1
    assert (pdq[0].this_items, pdq[0].other_items) == ((world.ids["a_media"],), (world.ids["b_media"],))
    distance = int(pdq[0].key_or_desc.rsplit(" ", 1)[1])
    assert 0 < distance <= 31
    person = [r for r in c.reasons if r.kind == "person"]
    assert len(person) == 1
    assert (person[0].this_items, person[0].other_items) == ((world.ids["a_person"],), (world.ids["b_person"],))
    assert "dates of birth" in person[0].explanation


def test_account_email_and_identical_file(world: World) -> None:
    c = by_number(case_connections(world.ws, world.cases["001"]))["C-2024-003"]
    assert reasons(c, "identifier") == {
        "account:telegram:jimmy_t": ((world.ids["a_acct"],), (world.ids["c_acct"],)),
        "email:jo@example.org": ((world.ids["a_email"],), (world.ids["c_email"],)),
    }
    exact = [r for r in c.reasons if r.kind == "media_exact"]
    assert len(exact) == 1 and exact[0].key_or_desc.startswith("sha256:")
    assert (exact[0].this_items, exact[0].other_items) == ((world.ids["a_media"],), (world.ids["c_media"],))
    # The identical file is not counted a second time as a near-duplicate.
    assert not [r for r in c.reasons if r.kind == "media_pdq"]


def test_name_only_person_match_scores_low(world: World) -> None:
    conns = by_number(case_connections(world.ws, world.cases["001"]))
    weak = conns["C-2024-006"]
    assert [r.kind for r in weak.reasons] == ["person"]
    assert "weak hint" in weak.reasons[0].explanation
    strong = [r for r in conns["C-2024-002"].reasons if r.kind == "person"][0]
    assert weak.reasons[0].weight < strong.weight / 3
    assert weak.score < conns["C-2024-002"].score and weak.score < conns["C-2024-003"].score


def test_matching_is_symmetric(world: World) -> None:
    back = by_number(case_connections(world.ws, world.cases["002"]))["C-2024-001"]
    keys = set(reasons(back, "identifier"))
    assert "ip:198.51.100.7" in keys and "ip:203.0.113.9" not in keys and "ip:192.168.1.20" not in keys
    assert reasons(back, "identifier")["ip:198.51.100.7"] == ((world.ids["b_ip_near"],), (world.ids["a_ip_near"],))


def test_ip_window_and_local_addresses_are_configurable(world: World) -> None:
    narrow = by_number(case_connections(world.ws, world.cases["001"], ip_window=timedelta(hours=5)))
    assert "ip:198.51.100.7" not in reasons(narrow["C-2024-002"], "identifier")
    wide = by_number(case_connections(world.ws, world.cases["001"], ip_window=timedelta(days=5)))
    assert {"ip:198.51.100.7", "ip:203.0.113.9"} <= set(reasons(wide["C-2024-002"], "identifier"))
    assert "ip:192.168.1.20" not in reasons(wide["C-2024-002"], "identifier")
    local = by_number(case_connections(world.ws, world.cases["001"], include_local_ips=True))
    assert "ip:192.168.1.20" in reasons(local["C-2024-002"], "identifier")


def test_kinds_option_limits_the_evidence(world: World) -> None:
    only_media = by_number(case_connections(world.ws, world.cases["001"], kinds=("media_exact",)))
    assert set(only_media) == {"C-2024-003"}
    with pytest.raises(UsageError):
        case_connections(world.ws, world.cases["001"], kinds=("telepathy",))
    with pytest.raises(NotFound):
        case_connections(world.ws, 9999)


def test_rare_identifiers_weigh_more_than_common_ones(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    cases = [ws.create_case(f"R-{i}", f"rarity {i}").id for i in range(8)]
    for c in cases:  # a number every case holds (a switchboard, say)
        ws.add_entity(c, "phone", "+1 202-555-0100")
    ws.add_entity(cases[0], "phone", "+1 202-555-0177")
    ws.add_entity(cases[1], "phone", "+1 202-555-0177")
    conns = by_number(case_connections(ws, cases[0]))
    assert set(conns) == {f"R-{i}" for i in range(1, 8)}
    two = {r.key_or_desc: r for r in conns["R-1"].reasons}
    assert two["phone:+12025550177"].weight > 2 * two["phone:+12025550100"].weight
    assert two["phone:+12025550177"].cases_with_key == 2 and two["phone:+12025550100"].cases_with_key == 8
    assert "2 of 8 cases" in two["phone:+12025550177"].explanation
    assert conns["R-1"].score > conns["R-2"].score
    assert next(iter(conns)) == "R-1"  # strongest first
    assert [c.other_case_number for c in case_connections(ws, cases[0])][0] == "R-1"


def test_merged_and_deleted_entities(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    a = ws.create_case("M-1", "merges").id
    b = ws.create_case("M-2", "other").id
    survivor = ws.add_entity(a, "phone", "+1 202-555-0150").id
    dup = ws.add_entity(a, "phone", "+1 202-555-0151").id
    ws.merge_entities(survivor, [dup], "the same handset, two SIMs recorded as one")
    there = ws.add_entity(b, "phone", "+1 202-555-0151").id
    conn = case_connections(ws, a)[0]
    assert conn.reasons[0].this_items == (survivor,)
    assert [(o.case_number, o.entity_id) for o in other_occurrences(ws, dup)] == [("M-2", there)]
    assert [(o.case_number, o.entity_id) for o in other_occurrences(ws, survivor)] == [("M-2", there)]
    assert [o.entity_id for o in other_occurrences(ws, there)] == [survivor]
    ws.delete_entity(there)
    assert case_connections(ws, a) == []
    assert other_occurrences(ws, survivor) == []
    # A deleted case is no longer a match either.
    again = ws.add_entity(b, "phone", "+1 202-555-0150").id
    assert [o.entity_id for o in other_occurrences(ws, survivor)] == [again]
    ws.delete_case(b)
    assert case_connections(ws, a) == []


def test_other_occurrences_of_identifier_and_person(world: World) -> None:
    occ = other_occurrences(world.ws, world.ids["a_phone"])
    assert [(o.case_number, o.entity_id, o.key) for o in occ] == [
        ("C-2024-002", world.ids["b_phone"], "phone:+12025550143")]
    people = other_occurrences(world.ws, world.ids["a_person"])
    # Same name and date of birth only: not the other-DOB nor the no-DOB John Smith.
    assert [(o.case_number, o.entity_id) for o in people] == [("C-2024-002", world.ids["b_person"])]
    assert other_occurrences(world.ws, world.ids["d_phone"]) == []
    with pytest.raises(NotFound):
        other_occurrences(world.ws, 999_999)


def test_low_quality_pdq_is_ignored(fresh_ws: Workstation, shared_data: object) -> None:
    ws = fresh_ws
    a = ws.create_case("P-1", "a").id
    b = ws.create_case("P-2", "b").id
    h = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"
    add_media(ws, a, path="x.jpg", sha256="11" * 32, md5="22" * 16, pdq=h, quality=80)
    add_media(ws, b, path="y.jpg", sha256="33" * 32, md5="44" * 16, pdq=h, quality=49)
    assert case_connections(ws, a) == []
    add_media(ws, b, path="z.jpg", sha256="55" * 32, md5="66" * 16, pdq=h, quality=50)
    assert [r.kind for r in case_connections(ws, a)[0].reasons] == ["media_pdq"]
    # A malformed stored hash is skipped, not a crash.
    add_media(ws, b, path="bad.jpg", sha256="77" * 32, md5="88" * 16, pdq="not-hex", quality=90)
    assert len(case_connections(ws, a)) == 1


def test_pdq_distance_matches_the_reference_implementation() -> None:
    # Java reference hashes of the bridge photo and its 90° rotation: distance 120
    # (ThreatExchange PDQHasherTest, quoted in shared/data/README.md).
    orig = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    rot90 = "30a10efd71cc3d429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af"
    q, _ = _pdq_matrix([orig])
    p, ok = _pdq_matrix([rot90, orig, "zz"])
    assert list(ok) == [0, 1]
    assert pdq_distances(q, p).tolist() == [[120, 0]]
    assert pdq_distances(q, np.zeros((0, 4), np.uint64)).shape == (1, 0)


@pytest.mark.parametrize(("a", "b", "agree"), [
    ("1980-01-02", "1980-01-02", True),
    ("1980-01-02", "02/01/1980", True),     # day first
    ("1980-01-02", "01/02/1980", True),     # month first
    ("1980-01-02", "2 January 1980", True),
    ("1980-01-02", "1980", True),
    ("1980-01-02", "1980-01", True),
    ("1980-01-02", "1981-01-02", False),
    ("1980-01-02", "1975-05-05", False),
    ("13/01/1980", "1980-01-13", True),
    ("13/01/1980", "1980-13-01", None),     # impossible date: unreadable
    ("1980-01-02", None, None),
    ("", "1980-01-02", None),
])
def test_date_of_birth_agreement(a: str | None, b: str | None, agree: bool | None) -> None:
    assert dob_agreement(a, b) is agree


def test_ip_only_counts_with_events_on_both_sides(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    a = ws.create_case("I-1", "a").id
    b = ws.create_case("I-2", "b").id
    ip_a = ws.add_entity(a, "ip", "203.0.113.50").id
    ws.add_entity(b, "ip", "203.0.113.50")
    ws.add_event(a, "login", at("2024-05-01T00:00:00"), parties=[(ip_a, "ip")])
    assert case_connections(ws, a) == []  # no dated use in case b


def test_alias_of_a_merged_person_matches_for_the_survivor(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    a = ws.create_case("AL-1", "alias").id
    b = ws.create_case("AL-2", "other").id
    main = ws.add_entity(a, "person", "Robert Kline", properties={"dob": "1984-09-30"}).id
    alias = ws.add_entity(a, "person", "Bobby Klein", properties={"dob": "1984-09-30"}).id
    ws.merge_entities(main, [alias], "alias given at booking")
    there = ws.add_entity(b, "person", "Klein, Bobby", properties={"dob": "30/09/1984"}).id
    conns = case_connections(ws, a)
    assert [c.other_case_number for c in conns] == ["AL-2"]
    (reason,) = conns[0].reasons
    assert (reason.kind, reason.this_items, reason.other_items) == ("person", (main,), (there,))
    assert "Bobby Klein" in reason.explanation
    back = case_connections(ws, b)[0].reasons[0]
    assert back.other_items == (main,)
