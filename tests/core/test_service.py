"""The service API: what the UI, CLI and HQ tooling can do, and what each change records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from workstation.domain.models import EntityInfo
from workstation.errors import BadInput, NotFound, UsageError


@pytest.fixture
def case_id(ws) -> int:
    return ws.create_case("2024-ICE-0042", "Luring investigation", agency="Metro ICE",
                          lead_officer="Det. Samplewood").id


def test_case_lifecycle(ws, case_id) -> None:
    ch = ws.update_case(case_id, status="closed", sharing="hq")
    assert (ch.table, ch.op, ch.ids) == ("case", "updated", (case_id,))
    info = ws.get_case(case_id)
    assert info.status == "closed" and info.closed_at and info.sharing == "hq"
    with pytest.raises(UsageError, match="already exists"):
        ws.create_case("2024-ICE-0042", "dup")
    with pytest.raises(UsageError, match="status"):
        ws.update_case(case_id, status="archived-ish")
    ws.delete_case(case_id)
    assert ws.list_cases() == []
    with pytest.raises(NotFound):
        ws.get_case(case_id)


def test_identifier_entities_are_normalised_and_deduplicated(ws, case_id) -> None:
    a = ws.add_entity(case_id, "phone", "+1 (202) 555-0143")
    b = ws.add_entity(case_id, "phone", "202.555.0143")
    assert a.op == "created" and b.op == "existing" and a.id == b.id
    phone = ws.get_entity(a.id)
    assert phone.key == "phone:+12025550143"
    card = ws.get_entity(ws.add_entity(case_id, "card", "4111 1111 1111 1111").id)
    assert card.label.endswith("1111") and "4111111111111111" not in card.label
    assert card.key.startswith("card:") and "4111111111111111" not in card.key
    with pytest.raises(BadInput, match="card"):
        ws.add_entity(case_id, "card", "4111 1111 1111 1112")  # fails Luhn


def test_events_keep_offset_and_parties(ws, case_id) -> None:
    p = ws.add_entity(case_id, "person", "Alex Testperson", properties={"dob": "1990-01-02"}).id
    acc = ws.add_entity(case_id, "account", "@alex_t", platform="telegram").id
    ws.add_link(p, acc, "uses", confidence=0.7)
    when = datetime(2024, 3, 1, 14, 5, tzinfo=timezone(timedelta(hours=-5)))
    ev = ws.add_event(case_id, "message", when, title="chat", body="see you at the park",
                      parties=[(acc, "sender")])
    info = ws.get_event(ev.id)
    assert info.occurred_at == when and info.utc_offset == -300
    assert info.occurred_at.astimezone(UTC).hour == 19
    assert [(x.entity_id, x.role) for x in info.parties] == [(acc, "sender")]
    assert ws.count_events(case_id, entity_id=acc) == 1
    with pytest.raises(UsageError, match="timezone"):
        ws.add_event(case_id, "message", datetime(2024, 3, 1, 14, 5))


def test_notes_and_tombstones(ws, case_id) -> None:
    e = ws.add_entity(case_id, "email", "Jo@Example.org").id
    n = ws.add_note(case_id, "Seen on two platforms", target_type="entity", target_id=e)
    assert [x.body for x in ws.list_notes(case_id, target_type="entity", target_id=e)] == ["Seen on two platforms"]
    ws.update_note(n.id, "Seen on three platforms")
    ws.delete_note(n.id)
    assert ws.list_notes(case_id) == []
    # Deletes are tombstones: the row is still there for sync, marked deleted.
    with ws.db.read() as conn:
        assert conn.exec_driver_sql("SELECT deleted FROM note WHERE id = ?", (n.id,)).scalar() == 1


def test_merge_and_unmerge_restore_everything(ws, case_id) -> None:
    a = ws.add_entity(case_id, "person", "Jon Testperson").id
    b = ws.add_entity(case_id, "person", "Jonathan Testperson").id
    acc = ws.add_entity(case_id, "account", "jt99", platform="kik").id
    lk = ws.add_link(b, acc, "uses").id
    ev = ws.add_event(case_id, "booking", datetime(2024, 1, 1, tzinfo=UTC), parties=[(b, "arrestee")]).id
    ch = ws.merge_entities(a, [b], "Same DOB and booking photo match")
    assert ws.get_entity(b).merged_into == a
    assert ws.list_links(entity_id=a)[0].id == lk
    assert ws.get_event(ev).parties[0].entity_id == a
    assert [x.id for x in ws.list_entities(case_id, kind="person")] == [a]
    ws.unmerge(ch.extra["merge_ids"][0])
    assert ws.get_entity(b).merged_into is None
    assert ws.list_links(entity_id=b)[0].id == lk
    assert ws.get_event(ev).parties[0].entity_id == b
    hist = ws.merge_history(a)
    assert hist[0].justification == "Same DOB and booking photo match" and hist[0].undone_at


def test_merge_refuses_different_kinds_and_missing_reason(ws, case_id) -> None:
    p = ws.add_entity(case_id, "person", "Alex").id
    ph = ws.add_entity(case_id, "phone", "+44 7700 900123").id
    with pytest.raises(UsageError, match="different kinds"):
        ws.merge_entities(p, [ph], "typo")
    with pytest.raises(UsageError, match="justification"):
        ws.merge_entities(p, [ph], "  ")


def test_every_mutation_is_audited(ws, case_id) -> None:
    e = ws.add_entity(case_id, "person", "Sam Example").id
    ws.update_entity(e, label="Samuel Example")
    history = ws.history("entity", e)
    assert [h.action for h in history] == ["entity.create", "entity.update"]
    assert history[1].details["label"] == {"from": "Sam Example", "to": "Samuel Example"}
    assert ws.audit.verify().ok


def test_values_are_frozen_plain_data(ws, case_id) -> None:
    info = ws.get_entity(ws.add_entity(case_id, "person", "Riley").id)
    assert isinstance(info, EntityInfo)
    with pytest.raises(AttributeError):
        info.label = "changed"  # type: ignore[misc]


def test_lazy_listing_ids_and_pages(ws, case_id) -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(25):
        ws.add_event(case_id, "note", base + timedelta(hours=25 - i), title=f"e{i}")
    ids = ws.event_ids(case_id)
    assert len(ids) == 25
    page = ws.get_events(ids[:10])
    assert [e.title for e in page] == [f"e{i}" for i in range(24, 14, -1)]


def test_restore_brings_back_deleted_records(ws, case_id) -> None:
    e = ws.add_entity(case_id, "person", "Quinn Example").id
    ws.delete_entity(e)
    assert ws.list_entities(case_id) == []
    ch = ws.restore("entity", e)
    assert ch.op == "restored" and [x.id for x in ws.list_entities(case_id)] == [e]
    ws.delete_case(case_id)
    ws.restore("case", case_id)
    assert ws.get_case(case_id).number == "2024-ICE-0042"
    assert [h.action for h in ws.history("entity", e)][-1] == "entity.restore"


def test_event_ids_text_filter_uses_the_index(ws, case_id) -> None:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    a = ws.add_event(case_id, "message", t, body="meet at the skate park").id
    ws.add_event(case_id, "message", t, body="nothing here")
    b = ws.add_event(case_id, "message", t, title="Parking fine", body='quote " inside').id
    assert ws.event_ids(case_id, text="park") == [a, b]
    assert ws.event_ids(case_id, text="skate park") == [a]
    assert ws.event_ids(case_id, text='"') == ws.event_ids(case_id)  # a lone quote is no query
    assert ws.event_ids(case_id, text="park", limit=1) == [a]


def test_events_of_an_entity_are_filtered_ordered_and_paged_like_any_other_event_query(ws, case_id) -> None:
    """The entity path reads an index instead of the table: it must give exactly what a
    plain filter over all the case's events gives (times, kinds, deletions, pages)."""
    import random

    rnd = random.Random(7)
    other_case = ws.create_case("2024-ICE-0043", "Other").id
    people = [ws.add_entity(case_id, "person", f"Person {i}").id for i in range(4)]
    stranger = ws.add_entity(other_case, "person", "Elsewhere").id
    base = datetime(2024, 3, 1, tzinfo=UTC)
    made = []
    for i in range(120):
        who = rnd.sample(people, 2)
        when = None if i % 29 == 0 else base + timedelta(minutes=rnd.randrange(0, 5000))
        kind = rnd.choice(["message", "transaction", "call"])
        # The same person twice in one event (sender and recipient) counts once.
        parties = [(who[0], "sender"), (who[0] if i % 11 == 0 else who[1], "recipient")]
        made.append(ws.add_event(case_id, kind, when, title=f"e{i}", parties=parties).id)
    ws.add_event(other_case, "message", base, title="not this case", parties=[(stranger, "sender")])
    for eid in made[::9]:
        ws.delete_event(eid)
    everything = ws.list_events(case_id, limit=None)
    start = int((base + timedelta(minutes=1000)).timestamp() * 1_000_000)
    end = int((base + timedelta(minutes=4000)).timestamp() * 1_000_000)
    target = people[1]
    for kinds in (None, ["message", "call"]):
        for lo, hi in ((None, None), (start, end)):
            expected = [e.id for e in everything
                        if any(p.entity_id == target for p in e.parties)
                        and (kinds is None or e.kind in kinds)
                        and (lo is None or (e.ts_utc is not None and lo <= e.ts_utc < hi))]
            assert expected, "the fixture must give the filter something to find"
            got = [e.id for e in ws.list_events(case_id, entity_id=target, start=lo, end=hi, kinds=kinds,
                                                limit=None)]
            assert got == expected
            assert ws.count_events(case_id, entity_id=target, start=lo, end=hi, kinds=kinds) == len(expected)
            pages = [e.id for off in range(0, len(expected), 7)
                     for e in ws.list_events(case_id, entity_id=target, start=lo, end=hi, kinds=kinds,
                                             offset=off, limit=7)]
            assert pages == expected
    assert ws.list_events(case_id, entity_id=stranger) == []
