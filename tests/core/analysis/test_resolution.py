"""Duplicate suggestions, merge rules and personas."""

from __future__ import annotations

import pytest

from workstation.analysis.resolution import create_persona, list_personas, suggest_duplicates
from workstation.domain.service import Workstation
from workstation.errors import NotFound, UsageError


def pairs(ws: Workstation, case_id: int | None = None) -> dict[tuple[int, ...], str]:
    return {d.entity_ids: d.basis for d in suggest_duplicates(ws, case_id)}


def test_same_key_twice_in_a_case_is_suggested(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    case = ws.create_case("D-1", "dups").id
    a = ws.add_entity(case, "phone", "+1 202-555-0160").id
    b = ws.add_entity(case, "phone", "(202) 555-0160", reuse=False).id
    c = ws.add_entity(case, "phone", "202 555 0160", reuse=False).id
    other = ws.create_case("D-2", "other").id
    ws.add_entity(other, "phone", "+1 202-555-0160")  # another case: not a duplicate
    dups = suggest_duplicates(ws, case)
    assert [(d.entity_ids, d.basis, d.score) for d in dups] == [((a, b, c), "same_key", 1.0)]
    assert "phone:+12025550160" in dups[0].reason
    assert suggest_duplicates(ws, other) == []


def test_similar_people_need_an_agreeing_dob_or_a_shared_identifier(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    case = ws.create_case("D-3", "people").id
    p1 = ws.add_entity(case, "person", "Anna Kowalska", properties={"dob": "1991-07-14"}).id
    p2 = ws.add_entity(case, "person", "Kowalska, Ana", properties={"dob": "14/07/1991"}).id
    p3 = ws.add_entity(case, "person", "Anna Kowalska", properties={"dob": "1985-02-02"}).id  # other DOB
    p4 = ws.add_entity(case, "person", "Peter Novak").id
    p5 = ws.add_entity(case, "person", "Petr Novak").id          # no DOB, nothing shared
    p6 = ws.add_entity(case, "person", "Marek Horvath").id
    p7 = ws.add_entity(case, "person", "Marek Horvat").id
    ws.add_entity(case, "person", "Zofia Nowak", properties={"dob": "1991-07-14"})  # same DOB, other name
    phone = ws.add_entity(case, "phone", "+44 7700 900456").id
    ws.add_link(p6, phone, "uses")
    ws.add_link(phone, p7, "used_by")
    got = pairs(ws, case)
    assert got == {(p1, p2): "person_dob", (p6, p7): "person_identifier"}
    assert (p1, p3) not in got and (p2, p3) not in got and (p4, p5) not in got
    reason = {d.entity_ids: d.reason for d in suggest_duplicates(ws, case)}
    assert "+44 7700 900456" in reason[(p6, p7)]
    assert "date of birth" in reason[(p1, p2)]
    # Across all cases gives the same (duplicates are only ever within one case).
    assert pairs(ws) == got


def test_merge_refuses_different_kinds_and_clears_the_suggestion(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    case = ws.create_case("D-4", "merge").id
    p1 = ws.add_entity(case, "person", "Ivan Petrov", properties={"dob": "1970-03-03"}).id
    p2 = ws.add_entity(case, "person", "Petrov, Ivan", properties={"dob": "1970-03-03"}).id
    phone = ws.add_entity(case, "phone", "+1 202-555-0199").id
    with pytest.raises(UsageError, match="different kinds"):
        ws.merge_entities(p1, [phone], "not the same thing")
    assert pairs(ws, case) == {(p1, p2): "person_dob"}
    merge_id = ws.merge_entities(p1, [p2], "same date of birth, name order swapped").extra["merge_ids"][0]
    assert suggest_duplicates(ws, case) == []
    ws.unmerge(merge_id)
    assert pairs(ws, case) == {(p1, p2): "person_dob"}
    with pytest.raises(NotFound):
        suggest_duplicates(ws, 424242)


def test_persona_links_accounts_with_confidence(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    case = ws.create_case("PS-1", "personas").id
    a1 = ws.add_entity(case, "account", "shadow_fox", platform="telegram").id
    a2 = ws.add_entity(case, "account", "shadowfox99", platform="instagram").id
    mail = ws.add_entity(case, "email", "shadow.fox@example.net").id
    persona = create_persona(ws, [a1, a2, mail], "Shadow Fox", 0.8,
                             "same avatar photo and writing style on both platforms")
    assert persona.account_ids == (a1, a2, mail) and len(persona.link_ids) == 3
    listed = list_personas(ws, case)
    assert listed == [persona]
    links = ws.list_links(entity_id=persona.entity_id)
    assert {(lk.dst_id, lk.kind, lk.confidence) for lk in links} == {(a1, "uses", 0.8), (a2, "uses", 0.8),
                                                                     (mail, "uses", 0.8)}
    person = ws.get_entity(persona.entity_id)
    assert person.kind == "person" and person.label == "Shadow Fox"
    assert person.properties["persona_justification"].startswith("same avatar")
    # Removing one account's link leaves the persona with the others.
    ws.delete_link(persona.link_ids[0])
    assert list_personas(ws, case)[0].account_ids == (a2, mail)


def test_persona_uses_survivors_of_merged_accounts(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    case = ws.create_case("PS-2", "personas").id
    a1 = ws.add_entity(case, "account", "wolf", platform="telegram").id
    a2 = ws.add_entity(case, "account", "wolf_backup", platform="telegram").id
    ws.merge_entities(a1, [a2], "backup account of the same login")
    persona = create_persona(ws, [a1, a2], "Wolf", 0.6, "handles from the seized phone")
    assert persona.account_ids == (a1,)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"confidence": 1.5}, UsageError, "between 0 and 1"),
    ({"confidence": "high"}, UsageError, "a number"),
    ({"justification": "  "}, UsageError, "justification"),
    ({"label": ""}, UsageError, "label"),
    ({"accounts": []}, UsageError, "at least one account"),
    ({"accounts": "person"}, UsageError, "is not an account"),
    ({"accounts": "two_cases"}, UsageError, "one case"),
    ({"accounts": [987654]}, NotFound, "987654"),
])
def test_persona_refuses_bad_input(fresh_ws: Workstation, kwargs: dict, error: type, message: str) -> None:
    ws = fresh_ws
    case = ws.create_case("PS-3", "bad").id
    other = ws.create_case("PS-4", "other").id
    a1 = ws.add_entity(case, "account", "owl", platform="telegram").id
    person = ws.add_entity(case, "person", "Some One").id
    a_other = ws.add_entity(other, "account", "owl2", platform="telegram").id
    named = {"person": [a1, person], "two_cases": [a1, a_other]}
    wanted = kwargs.get("accounts", [a1])
    accounts = named[wanted] if isinstance(wanted, str) else wanted
    args = {"label": "Owl", "confidence": 0.5, "justification": "same IP logins", **kwargs}
    before = len(ws.list_entities(case))
    with pytest.raises(error, match=message):
        create_persona(ws, accounts, args["label"], args["confidence"], args["justification"])
    assert len(ws.list_entities(case)) == before
    assert list_personas(ws, case) == []
