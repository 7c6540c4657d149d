"""Two (or more) real encrypted laptops and one real HQ over TLS: what travels, how edits
merge, how conflicts are kept and resolved, and that everyone converges."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.core.sync.helpers import RecordingTransport, synced_rows
from workstation import clock
from workstation.errors import Cancelled
from workstation.hq.models import Record
from workstation.sync.conflicts import list_conflicts, resolve_conflict
from workstation.sync.engine import sync_now
from workstation.sync.status import record_sync_state, sync_status

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def hq_count(hq, case_uid: str) -> int:
    with hq.service.store.session() as s:
        return int(s.execute(select(func.count()).select_from(Record).where(Record.case_uid == case_uid)).scalar_one())


def test_only_shared_records_travel_and_local_ones_never_leave(laptops, hq) -> None:
    a, b = laptops("a"), laptops("b")
    ws = a.ws
    shared = ws.create_case("S-1", "Shared luring case", sharing="hq").id
    phone = ws.add_entity(shared, "phone", "+1 202-555-0150").id
    person = ws.add_entity(shared, "person", "Visible Suspect").id
    ws.add_link(phone, person, "uses")
    ws.add_event(shared, "message", T0, title="hello", body="meet me", parties=[(phone, "sender")])
    informant = ws.add_entity(shared, "person", "Informant Quill").id
    ws.update_entity(informant, keep_local=True)
    hidden_link = ws.add_link(phone, informant, "communicated_with").id
    ws.add_note(shared, "Quill says the meet is Friday", target_type="entity", target_id=informant)
    ws.add_event(shared, "message", T0, title="to informant", parties=[(phone, "sender"), (informant, "recipient")])
    local = ws.create_case("L-1", "Local-only case Marlowe", sharing="local").id
    ws.add_entity(local, "email", "marlowe@example.org")
    kept = ws.create_case("K-1", "Kept case Vance", sharing="hq").id
    ws.add_entity(kept, "person", "Vance Kept")
    ws.update_case(kept, keep_local=True)

    rec: list[RecordingTransport] = []

    def wrap(inner):
        rec.append(RecordingTransport(inner))
        return rec[0]

    report = sync_now(ws, wrap=wrap)
    assert report.pushed >= 6 and report.held == 3
    wire = b"".join(rec[0].bodies)
    for secret in (b"Informant Quill", b"Quill says", b"Marlowe", b"marlowe@example.org", b"Vance",
                   ws.get_entity(informant).uid.encode(), ws.get_case(local).uid.encode(),
                   ws.get_case(kept).uid.encode()):
        assert secret not in wire
    sent_tables = {r["t"] for r in rec[0].sent_records()}
    assert sent_tables == {"case", "entity", "link", "event"}
    # The event to the informant travelled without that party.
    events = [r for r in rec[0].sent_records() if r["t"] == "event"]
    assert sorted(len(e["f"]["parties"]) for e in events) == [1, 1]
    assert record_sync_state(ws, "entity", phone) == "synced"
    assert record_sync_state(ws, "entity", informant) == "local only"
    assert record_sync_state(ws, "link", hidden_link) == "local only"
    assert sync_status(ws, shared).state == "synced"
    assert sync_status(ws, local).state == "local only"
    assert sync_status(ws, kept).state == "local only"

    sync_now(b.ws)
    assert [c.number for c in b.ws.list_cases()] == ["S-1"]
    got = b.ws.find_case("S-1")
    assert sorted(e.label for e in b.ws.list_entities(got.id)) == ["+1 202-555-0150", "Visible Suspect"]
    assert len(b.ws.list_links(case_id=got.id)) == 1
    assert b.ws.list_notes(got.id) == []
    assert synced_rows(a.ws) == synced_rows(b.ws)


def test_edits_of_different_fields_merge_and_everyone_converges(laptops, hq) -> None:
    a, b = laptops("a"), laptops("b")
    cid = a.ws.create_case("M-1", "Merge case", sharing="hq").id
    ent = a.ws.add_entity(cid, "person", "Jon Smyth").id
    ev = a.ws.add_event(cid, "message", T0, title="first", body="body one").id
    note = a.ws.add_note(cid, "to be removed").id
    sync_now(a.ws)
    sync_now(b.ws)
    bcid = b.ws.find_case("M-1").id
    bent = next(e.id for e in b.ws.list_entities(bcid))
    bev = b.ws.list_events(bcid)[0].id
    # Concurrent edits on two laptops, to different fields of the same records.
    a.ws.update_entity(ent, label="Jonathan Smyth")
    b.ws.update_entity(bent, properties={"dob": "1985-02-03"})
    a.ws.update_event(ev, body="body two")
    b.ws.update_event(bev, title="renamed")
    a.ws.delete_note(note)
    b.ws.add_entity(bcid, "email", "smyth@example.com")
    for _ in range(2):
        sync_now(a.ws)
        sync_now(b.ws)
    assert list_conflicts(a.ws) == [] and list_conflicts(b.ws) == []
    for ws in (a.ws, b.ws):
        case = ws.find_case("M-1")
        person = next(e for e in ws.list_entities(case.id) if e.kind == "person")
        assert person.label == "Jonathan Smyth" and person.properties == {"dob": "1985-02-03"}
        event = ws.list_events(case.id)[0]
        assert (event.title, event.body) == ("renamed", "body two")
        assert ws.list_notes(case.id) == []
        assert len(ws.list_entities(case.id)) == 2
    assert synced_rows(a.ws) == synced_rows(b.ws)
    assert hq_count(hq, a.ws.get_case(cid).uid) == 5  # case, 2 entities, event, note (tombstone)


@pytest.mark.parametrize("keep", ["mine", "theirs"])
def test_same_field_on_two_laptops_is_a_kept_conflict(laptops, hq, keep: str) -> None:
    a, b = laptops("a"), laptops("b")
    cid = a.ws.create_case(f"C-{keep}", "Conflict case", sharing="hq").id
    ent = a.ws.add_entity(cid, "person", "Original Name").id
    sync_now(a.ws)
    sync_now(b.ws)
    bent = b.ws.list_entities(b.ws.find_case(f"C-{keep}").id)[0].id
    a.ws.update_entity(ent, label="Name From A")
    b.ws.update_entity(bent, label="Name From B")
    b.ws.update_entity(bent, properties={"note": "B also set this"})
    sync_now(a.ws)
    report = sync_now(b.ws)
    assert report.conflicts == 1
    [c] = list_conflicts(b.ws)
    assert (c.table, c.field, c.mine, c.theirs) == ("entity", "label", "Name From B", "Name From A")
    assert record_sync_state(b.ws, "entity", bent) == "conflict"
    assert sync_status(b.ws, b.ws.find_case(f"C-{keep}").id).state == "conflict"
    # Until resolved, both laptops hold the same (newer) value; neither edit is lost.
    sync_now(a.ws)
    assert a.ws.get_entity(ent).label == b.ws.get_entity(bent).label == c.current
    resolve_conflict(b.ws, c.id, keep)
    assert list_conflicts(b.ws) == []
    for _ in range(2):
        sync_now(b.ws)
        sync_now(a.ws)
    want = "Name From B" if keep == "mine" else "Name From A"
    assert a.ws.get_entity(ent).label == b.ws.get_entity(bent).label == want
    assert a.ws.get_entity(ent).properties == {"note": "B also set this"}
    assert list_conflicts(a.ws) == [] and list_conflicts(b.ws) == []
    assert synced_rows(a.ws) == synced_rows(b.ws)


def test_conflict_resolved_by_an_edit(laptops, hq) -> None:
    a, b = laptops("a"), laptops("b")
    cid = a.ws.create_case("C-edit", "Conflict case", sharing="hq").id
    ev = a.ws.add_event(cid, "message", T0, title="t0").id
    sync_now(a.ws)
    sync_now(b.ws)
    bev = b.ws.list_events(b.ws.find_case("C-edit").id)[0].id
    b.ws.update_event(bev, title="from B")
    a.ws.update_event(ev, title="from A")
    sync_now(b.ws)
    sync_now(a.ws)
    [c] = list_conflicts(a.ws)
    assert (c.mine, c.theirs) == ("from A", "from B")
    resolve_conflict(a.ws, c.id, "edit", "agreed title")
    sync_now(a.ws)
    sync_now(b.ws)
    assert a.ws.get_event(ev).title == b.ws.get_event(bev).title == "agreed title"


def test_references_map_between_laptops_by_uid(laptops, hq) -> None:
    a, b = laptops("a"), laptops("b")
    # Give B some unrelated rows first so its local ids differ from A's.
    other = b.ws.create_case("B-own", "Local noise").id
    for i in range(3):
        b.ws.add_entity(other, "person", f"Noise {i}")
    cid = a.ws.create_case("R-1", "Refs", sharing="hq").id
    p1 = a.ws.add_entity(cid, "person", "Alpha").id
    p2 = a.ws.add_entity(cid, "person", "Bravo").id
    sync_now(a.ws)
    sync_now(b.ws)
    bcid = b.ws.find_case("R-1").id
    ids = {e.label: e.id for e in b.ws.list_entities(bcid)}
    assert ids["Alpha"] != p1
    b.ws.add_link(ids["Alpha"], ids["Bravo"], "associate_of")
    b.ws.add_event(bcid, "call", T0, title="call", parties=[(ids["Bravo"], "caller"), (ids["Alpha"], "callee")])
    b.ws.add_note(bcid, "about Bravo", target_type="entity", target_id=ids["Bravo"])
    b.ws.merge_entities(ids["Alpha"], [ids["Bravo"]], "same person (B's view)")
    sync_now(b.ws)
    sync_now(a.ws)
    [lk] = a.ws.list_links(case_id=cid)
    assert (lk.src_id, lk.dst_id) == (p1, p1)  # the merge moved the link end onto Alpha
    [ev] = a.ws.list_events(cid)
    assert [(p.entity_id, p.role) for p in ev.parties] == [(p1, "caller"), (p1, "callee")]
    [note] = a.ws.list_notes(cid)
    assert (note.target_type, note.target_id) == ("entity", p2)
    assert a.ws.get_entity(p2).merged_into == p1
    assert synced_rows(a.ws) == synced_rows(b.ws)


def test_skewed_clocks_still_converge_and_causality_wins(laptops, hq) -> None:
    a, b = laptops("a"), laptops("b")
    real = datetime.now(UTC)
    try:
        clock.set_clock(lambda: real + timedelta(hours=24))  # A runs a day fast
        cid = a.ws.create_case("SK-1", "Skew", sharing="hq").id
        ent = a.ws.add_entity(cid, "person", "Fast Clock").id
        a.ws.update_entity(ent, label="Set on the fast laptop")
        sync_now(a.ws)
        clock.set_clock(lambda: real - timedelta(hours=24))  # B runs a day slow
        sync_now(b.ws)
        bent = b.ws.list_entities(b.ws.find_case("SK-1").id)[0].id
        # B saw A's edit; B's later edit must win although B's wall clock is 48 h behind.
        b.ws.update_entity(bent, label="Set later on the slow laptop")
        b.ws.add_entity(b.ws.find_case("SK-1").id, "person", "Slow Clock")
        sync_now(b.ws)
        clock.set_clock(lambda: real + timedelta(hours=24))
        sync_now(a.ws)
        sync_now(b.ws)
    finally:
        clock.set_clock(None)
    assert a.ws.get_entity(ent).label == "Set later on the slow laptop"
    assert list_conflicts(a.ws) == [] and list_conflicts(b.ws) == []
    assert synced_rows(a.ws) == synced_rows(b.ws)


def test_access_withdrawn_by_the_owner_does_not_block_other_cases(laptops, hq) -> None:
    from workstation.sync.client import load_enrolment

    a = laptops("a", agency="AG-W1-" + str(id(hq)))
    b = laptops("b", agency="AG-W2-" + str(id(hq)))
    cid = a.ws.create_case("W-1", "Joint for a while", sharing="agencies",
                           shared_with=[load_enrolment(b.ws).agency_code]).id
    a.ws.add_entity(cid, "person", "Joint Person")
    sync_now(a.ws)
    sync_now(b.ws)
    a.ws.update_case(cid, sharing="hq")  # the owner withdraws B's access
    sync_now(a.ws)
    joint = b.ws.find_case("W-1").id
    ent = b.ws.list_entities(joint)[0].id
    b.ws.update_entity(ent, label="Edited after withdrawal")
    own = b.ws.create_case("W-B", "B's own", sharing="hq").id
    mine = b.ws.add_entity(own, "person", "B's Person").id
    report = sync_now(b.ws)  # must not fail: the other case still syncs
    assert report.pushed == 2 and record_sync_state(b.ws, "entity", mine) == "synced"
    assert record_sync_state(b.ws, "entity", ent) == "pending"
    status = sync_status(b.ws, joint)
    assert status.refused == 1 and status.state == "pending"
    assert a.ws.list_entities(cid)[0].label == "Joint Person"
    sync_now(b.ws)  # and keeps working on later runs


def test_progress_is_reported_and_cancel_stops_between_batches(laptops, hq) -> None:
    a = laptops("a")
    cid = a.ws.create_case("P-1", "Progress", sharing="hq").id
    for i in range(30):
        a.ws.add_entity(cid, "person", f"Person {i}")
    seen: list[float] = []
    stop = threading.Event()

    def progress(fraction: float, message: str) -> None:
        seen.append(fraction)
        if len(seen) == 2:
            stop.set()

    with pytest.raises(Cancelled):
        sync_now(a.ws, progress, stop, batch=10)
    assert hq_count(hq, a.ws.get_case(cid).uid) == 20  # the two acknowledged batches stay
    seen.clear()
    report = sync_now(a.ws, progress, batch=10)
    assert report.pushed == 11
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert hq_count(hq, a.ws.get_case(cid).uid) == 31
