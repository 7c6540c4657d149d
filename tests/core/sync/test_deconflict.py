"""Deconfliction: another agency's officer learns that someone else holds the same phone,
e-mail, card or media file — and whom to call — but nothing of that case's contents."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import insert

from tests.core.sync.helpers import RecordingTransport
from workstation.errors import UsageError
from workstation.store import schema as s
from workstation.sync.deconflict import deconflict
from workstation.sync.engine import sync_now

CARD = "4111 1111 1111 1111"


def add_media(ws, case_id: int, content: bytes) -> int:
    now = "2024-03-01T12:00:00.000000Z"
    with ws.db.write() as conn:
        return conn.execute(insert(s.media).values(
            case_id=case_id, path="seized/IMG_0001.JPG", size=len(content), mime="image/jpeg",
            md5=hashlib.md5(content).hexdigest(), sha1=hashlib.sha1(content).hexdigest(),
            sha256=hashlib.sha256(content).hexdigest(), created_at=now, **ws._stamp())).inserted_primary_key[0]


def test_another_agency_learns_who_to_call_and_nothing_else(laptops, hq) -> None:
    owner = laptops("owner", agency="DC-NCA", officer="DS Ada Owner", agency_name="National Crime Agency",
                    agency_contact="+44 7700 900001", officer_contact="ada.owner@nca.example")
    other = laptops("other", agency="DC-FBI", officer="SA Bea Other")
    cid = owner.ws.create_case("OWN-77", "Operation Nightjar", sharing="hq", summary="covert details").id
    owner.ws.add_entity(cid, "phone", "+1 202-555-0188", label="Nightjar burner")
    owner.ws.add_entity(cid, "email", "Nightjar.Target@Example.com")
    owner.ws.add_entity(cid, "card", CARD)
    add_media(owner.ws, cid, b"synthetic image bytes 0001")
    hidden = owner.ws.add_entity(cid, "phone", "+1 202-555-0199").id
    owner.ws.update_entity(hidden, keep_local=True)
    sync_now(owner.ws)

    # The other agency's case is local only: deconfliction sends fingerprints, nothing else.
    oc = other.ws.create_case("FBI-1", "Their own case", sharing="local").id
    other.ws.add_entity(oc, "phone", "(202) 555-0188")
    other.ws.add_entity(oc, "email", "nightjar.target@example.com")
    other.ws.add_entity(oc, "card", CARD)
    other.ws.add_entity(oc, "phone", "+1 202-555-0199")  # held locally by the owner: never matchable
    other.ws.add_entity(oc, "phone", "+1 202-555-0111")  # nobody else has it
    add_media(other.ws, oc, b"synthetic image bytes 0001")

    wire: list[RecordingTransport] = []
    hits = deconflict(other.ws, oc, wrap=lambda inner: wire.append(RecordingTransport(inner)) or wire[-1])
    kinds = sorted(h.kind for h in hits)
    assert kinds == ["card", "email", "md5", "phone", "sha256"]
    for h in hits:
        assert (h.agency, h.agency_contact, h.officer, h.officer_contact) == (
            "National Crime Agency", "+44 7700 900001", "DS Ada Owner", "ada.owner@nca.example")
        assert not h.same_agency and len(h.ref) == 12
    assert len({h.ref for h in hits}) == 1
    # What went out: keyed fingerprints only, no identifiers in clear.
    sent = b"".join(wire[0].bodies)
    for clear in (b"555-0188", b"5550188", b"nightjar", b"4111", b"Their own case"):
        assert clear not in sent.lower()
    # What came back: who to call, never the case's number, title, summary or labels.
    with_answer = str([h.__dict__ for h in hits])
    for content in ("OWN-77", "Nightjar", "covert", "burner", owner.ws.get_case(cid).uid):
        assert content not in with_answer

    # The owner's own other case matching its first one is reported as the same agency.
    oc2 = owner.ws.create_case("OWN-78", "Follow-up", sharing="hq").id
    owner.ws.add_entity(oc2, "phone", "+1 202-555-0188")
    sync_now(owner.ws)
    [mine] = deconflict(owner.ws, oc2)
    assert mine.same_agency and mine.kind == "phone"


def test_cases_kept_local_are_never_deconflicted(laptops, hq) -> None:
    lap = laptops("a")
    cid = lap.ws.create_case("KL-1", "Kept", sharing="local").id
    lap.ws.update_case(cid, keep_local=True)
    with pytest.raises(UsageError, match="kept on this laptop only"):
        deconflict(lap.ws, cid)


def test_cards_entered_before_enrolment_are_rekeyed_to_hq_fingerprints(laptops, hq) -> None:
    """A laptop fingerprints cards with a key of its own until it enrols; enrolling adopts
    HQ's key and re-keys the cards already held, so every enrolled laptop matches them."""
    from tests.core.sync.helpers import enrol

    early = laptops("early", enrolled=False)
    cid = early.ws.create_case("PRE-1", "Before enrolment").id
    before = early.ws.get_entity(early.ws.add_entity(cid, "card", CARD).id).key
    enrol(early.ws, hq, "DC-REKEY", "officer-early")
    after = early.ws.list_entities(cid, kind="card")[0].key
    late = laptops("late", agency="DC-REKEY")  # enrolled first, card typed afterwards
    late_cid = late.ws.create_case("POST-1", "After enrolment").id
    typed_after = late.ws.get_entity(late.ws.add_entity(late_cid, "card", CARD).id).key
    assert after != before and after == typed_after
    # The session uses the adopted key at once: the same card typed again is the same entity.
    assert early.ws.add_entity(cid, "card", CARD).op == "existing"
