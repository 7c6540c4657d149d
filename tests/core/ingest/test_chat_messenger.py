"""Facebook Messenger JSON: the shared corpus thread plus generated layouts."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from workstation.ingest.chat.messenger import MessengerJsonParser
from workstation.ingest.records import ImportOptions, ParsedEntity, ParsedEvent

P = MessengerJsonParser()
UTC = timezone.utc


def events(path: Path) -> list[ParsedEvent]:
    return [r for r in P.parse(path, ImportOptions()) if isinstance(r, ParsedEvent)]


def test_corpus_thread_chronological(shared_data: Path) -> None:
    evs = events(shared_data / "chat/messenger/facebook_chat.json")
    assert len(evs) == 11 and all(e.kind == "message" for e in evs)
    texts = [e for e in evs if e.body]
    assert len(texts) == 10
    first, last = evs[0], evs[-1]
    assert first.occurred_at == datetime(2023, 2, 4, 22, 17, 2, 673000, tzinfo=UTC)
    assert first.body.startswith("Hi! Im interested in your bag")
    assert first.parties[0].value == "User 1"
    assert last.occurred_at == datetime(2023, 2, 5, 11, 46, 11, 851000, tzinfo=UTC)
    assert (last.parties[0].value, last.body) == ("User 2", "Bye!")
    assert [e.occurred_at for e in evs] == sorted(e.occurred_at for e in evs)
    photo = next(e for e in evs if e.attachments)
    assert photo.body is None
    assert photo.occurred_at == datetime(2023, 2, 5, 11, 4, 20, 730000, tzinfo=UTC)
    assert photo.parties[0].value == "User 2"
    assert (photo.attachments[0].name, photo.attachments[0].path) == (
        "url_of_some_picture.jpg", "url_of_some_picture.jpg")
    # ref points back at the object in the (newest-first) file.
    assert (first.ref, last.ref, photo.ref) == ("messages[10]", "messages[0]", "messages[6]")
    assert [(p.value, p.role) for p in first.parties] == [("User 1", "sender"),
                                                          ("User 2", "recipient")]
    assert first.properties["conversation"] == "User 1 and User 2 chat"


def _mojibake(text: str) -> str:
    return text.encode("utf-8").decode("latin-1")


def test_mojibake_repaired_and_group_notices_are_system(tmp_path: Path) -> None:
    thread = {
        "participants": [{"name": _mojibake("Zoë")}, {"name": "Ann"}, {"name": "Bo"}],
        "messages": [
            {"sender_name": "Ann", "timestamp_ms": 1700000300000,
             "content": "Ann named the group Trip.", "type": "Generic"},
            {"sender_name": "Bo", "timestamp_ms": 1700000200000, "type": "Call",
             "content": "Bo started a call.", "call_duration": 65},
            {"sender_name": _mojibake("Zoë"), "timestamp_ms": 1700000100000,
             "content": _mojibake("Grüße 👋 — café"), "type": "Generic",
             "reactions": [{"reaction": _mojibake("❤"), "actor": "Ann"}],
             "share": {"link": "https://example.org/p"}},
            {"sender_name": "Ann", "timestamp_ms": 1700000000000, "type": "Unsubscribe",
             "content": "Ann left the group.", "users": [{"name": "Ann"}]},
            {"sender_name": "Bo", "timestamp_ms": 1700000050000, "is_unsent": True,
             "type": "Generic"},
        ],
        "title": "Trip", "thread_type": "RegularGroup", "thread_path": "inbox/trip_123",
    }
    path = tmp_path / "message_1.json"
    path.write_text(json.dumps(thread), encoding="utf-8")
    records = list(P.parse(path, ImportOptions()))
    members = [r for r in records if isinstance(r, ParsedEntity)]
    assert [m.party.value for m in members] == ["Zoë", "Ann", "Bo"]
    assert {m.links[0].kind for m in members} == {"member_of"}
    evs = [r for r in records if isinstance(r, ParsedEvent)]
    assert [e.kind for e in evs] == ["system", "message", "message", "system", "system"]
    leave, unsent, zoe, call, named = evs
    assert zoe.body == "Grüße 👋 — café"
    assert zoe.parties[0].value == "Zoë"
    assert zoe.properties["reactions"] == [{"reaction": "❤", "actor": "Ann"}]
    assert zoe.properties["urls"] == ["https://example.org/p"]
    assert [(p.kind, p.value) for p in zoe.parties[1:]] == [("group", "inbox/trip_123")]
    assert unsent.properties["deleted"] is True and unsent.body is None
    assert call.properties["call_duration"] == 65
    assert named.body == "Ann named the group Trip."
    assert leave.properties["message_type"] == "Unsubscribe"


def test_correct_utf8_is_left_alone(tmp_path: Path) -> None:
    thread = {"participants": [{"name": "Zoë"}, {"name": "Ann"}],
              "messages": [{"sender_name": "Zoë", "timestamp_ms": 1, "content": "café ½"}]}
    path = tmp_path / "message_1.json"
    path.write_text(json.dumps(thread, ensure_ascii=False), encoding="utf-8")
    assert events(path)[0].body == "café ½"


def test_e2ee_layout(tmp_path: Path) -> None:
    thread = {
        "participants": ["Ann Example", "Bo Example"],
        "threadName": "Ann Example",
        "messages": [
            {"isUnsent": False, "media": [{"uri": "./media/abc.jpg"}], "reactions": [],
             "senderName": "Bo Example", "text": "", "timestamp": 1714000060000,
             "type": "media"},
            {"isUnsent": False, "media": [], "reactions": [], "senderName": "Ann Example",
             "text": "hello", "timestamp": 1714000000000, "type": "text"},
        ],
    }
    path = tmp_path / "Ann_Example_1.json"
    path.write_text(json.dumps(thread), encoding="utf-8")
    assert P.sniff(path, path.read_bytes()) >= 0.9
    evs = events(path)
    assert [(e.parties[0].value, e.body) for e in evs] == [("Ann Example", "hello"),
                                                           ("Bo Example", None)]
    assert evs[1].attachments[0].name == "abc.jpg"
    assert evs[0].occurred_at == datetime(2024, 4, 24, 23, 6, 40, tzinfo=UTC)
    assert [(p.value, p.role) for p in evs[0].parties] == [("Ann Example", "sender"),
                                                           ("Bo Example", "recipient")]
