"""Facebook Messenger JSON: the shared corpus thread plus generated layouts."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from workstation.ingest.chat.messenger import MessengerJsonParser
from tests.core.ingest.streaming import assert_truncated_file_fails_before_yielding
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


def _write_thread(folder: Path, name: str, thread: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    # What Facebook writes: ASCII-only JSON whose non-ASCII text is mojibake escapes.
    path.write_text(json.dumps(thread, ensure_ascii=True), encoding="ascii")
    return path


def test_media_kinds_calls_and_mojibake_in_every_field(tmp_path: Path) -> None:
    thread = {
        "participants": [{"name": _mojibake("Renée Ødegård")}, {"name": "Sam Sample"}],
        "messages": [
            {"sender_name": "Sam Sample", "timestamp_ms": 1700000600000, "type": "Call",
             "content": "Sam Sample started a video call.", "call_duration": 0,
             "missed": True, "is_geoblocked_for_viewer": False},
            {"sender_name": _mojibake("Renée Ødegård"), "timestamp_ms": 1700000500000,
             "type": "Share", "content": "look",
             "share": {"link": "https://example.org/a", "share_text": _mojibake("Ça va")}},
            {"sender_name": "Sam Sample", "timestamp_ms": 1700000400000, "type": "Generic",
             "sticker": {"uri": "messages/stickers_used/369239263222822.png"}},
            {"sender_name": _mojibake("Renée Ødegård"), "timestamp_ms": 1700000300000,
             "type": "Generic",
             "videos": [{"uri": "messages/inbox/sam_42/videos/clip.mp4",
                         "creation_timestamp": 1700000290,
                         "thumbnail": {"uri": "messages/inbox/sam_42/videos/thumb.jpg"}}],
             "audio_files": [{"uri": "messages/inbox/sam_42/audio/voice.aac",
                              "creation_timestamp": 1700000295}],
             "files": [{"uri": "messages/inbox/sam_42/files/" + _mojibake("Übersicht.pdf")}],
             "gifs": [{"uri": "messages/inbox/sam_42/gifs/dance.gif"}],
             "reactions": [{"reaction": _mojibake("😆"), "actor": "Sam Sample",
                            "timestamp": 1700000310}]},
            {"sender_name": "Sam Sample", "timestamp_ms": 1700000200000, "type": "Generic",
             "photos": [{"uri": "../../etc/passwd", "creation_timestamp": 1700000100}]},
        ],
        "title": _mojibake("Renée Ødegård"), "is_still_participant": True,
        "thread_type": "Regular", "thread_path": "inbox/reneeodegard_42",
    }
    path = _write_thread(tmp_path / "messages" / "inbox" / "reneeodegard_42", "message_1.json",
                         thread)
    assert P.sniff(path, path.read_bytes()) >= 0.9
    records = list(P.parse(path, ImportOptions()))
    assert not [r for r in records if isinstance(r, ParsedEntity)]  # a 1:1 thread
    evs = [r for r in records if isinstance(r, ParsedEvent)]
    photo, media, sticker, share, call = evs
    # The unsafe ../ path is recorded by name but never resolved.
    assert (photo.attachments[0].name, photo.attachments[0].path) == ("passwd", None)
    assert [a.name for a in media.attachments] == ["clip.mp4", "voice.aac", "Übersicht.pdf",
                                                  "dance.gif"]
    assert [a.mime for a in media.attachments][:2] == ["video/mp4", "audio/aac"]
    assert media.parties[0].value == "Renée Ødegård"
    assert [(p.value, p.role) for p in media.parties[1:]] == [("Sam Sample", "recipient")]
    assert media.properties["reactions"][0]["reaction"] == "😆"
    assert media.properties["reactions"][0]["at"] == "2023-11-14T22:18:30+00:00"
    assert media.properties["conversation"] == "Renée Ødegård"
    assert sticker.properties["sticker"] is True and sticker.attachments[0].mime == "image/png"
    assert share.kind == "message" and share.properties["share_text"] == "Ça va"
    assert call.kind == "system"
    assert (call.properties["call_duration"], call.properties["missed"]) == (0, True)


def test_thread_split_over_several_files_shares_one_conversation(tmp_path: Path) -> None:
    folder = tmp_path / "your_activity_across_facebook" / "messages" / "inbox" / "club_7"
    common = {"participants": [{"name": "Ann"}, {"name": "Bo"}, {"name": "Cy"}],
              "title": "Club", "thread_type": "RegularGroup", "thread_path": "inbox/club_7"}
    newer = _write_thread(folder, "message_1.json", dict(common, messages=[
        {"sender_name": "Cy", "timestamp_ms": 1600000300000, "content": "newest"}]))
    older = _write_thread(folder, "message_2.json", dict(common, messages=[
        {"sender_name": "Ann", "timestamp_ms": 1600000100000, "content": "oldest"},
        {"sender_name": "Bo", "timestamp_ms": 1600000000000, "type": "Subscribe",
         "content": "Bo added Ann to the group.", "users": [{"name": "Ann"}]}]))
    convs = set()
    for path in (older, newer):
        for e in events(path):
            convs.add(e.properties["conversation_id"])
            if e.kind == "message":
                assert [(p.kind, p.value) for p in e.parties[1:]] == [("group", "inbox/club_7")]
    assert convs == {"inbox/club_7"}
    add = events(older)[0]
    assert add.kind == "system"
    assert [p.value for p in add.parties] == ["Bo", "Ann"]


def test_first_2018_layout_seconds_and_plain_participants(tmp_path: Path) -> None:
    # Spring 2018: "timestamp" in seconds, participants as names without the owner.
    thread = {"participants": ["Pat Example"], "title": "Pat Example",
              "thread_path": "inbox/PatExample_9", "is_still_participant": True,
              "messages": [
                  {"sender_name": "Pat Example", "timestamp": 1522000060, "content": "yes",
                   "type": "Generic"},
                  {"sender_name": "Owner Person", "timestamp": 1522000000,
                   "content": "coming?", "type": "Generic"}]}
    path = _write_thread(tmp_path, "message.json", thread)
    evs = events(path)
    assert [e.occurred_at for e in evs] == [datetime(2018, 3, 25, 17, 46, 40, tzinfo=UTC),
                                            datetime(2018, 3, 25, 17, 47, 40, tzinfo=UTC)]
    # The owner, missing from the list, is still the other side of the conversation.
    assert [(p.value, p.role) for p in evs[0].parties] == [("Owner Person", "sender"),
                                                           ("Pat Example", "recipient")]
    assert [(p.value, p.role) for p in evs[1].parties] == [("Pat Example", "sender"),
                                                           ("Owner Person", "recipient")]


def test_e2ee_group_with_unsent_and_reactions(tmp_path: Path) -> None:
    thread = {"participants": ["Ann Example", "Bo Example", "Cy Example"],
              "threadName": "Weekend",
              "messages": [
                  {"isUnsent": True, "media": [], "reactions": [], "senderName": "Cy Example",
                   "text": "", "timestamp": 1714000120000, "type": "text"},
                  {"isUnsent": False, "media": [], "senderName": "Bo Example",
                   "reactions": [{"actor": "Ann Example", "reaction": "❤"}],
                   "text": "https://example.org/plan", "timestamp": 1714000060000,
                   "type": "link"}]}
    path = tmp_path / "Weekend_1.json"
    path.write_text(json.dumps(thread, ensure_ascii=False), encoding="utf-8")
    assert P.sniff(path, path.read_bytes()) >= 0.9
    records = list(P.parse(path, ImportOptions()))
    assert [r.party.value for r in records if isinstance(r, ParsedEntity)] == [
        "Ann Example", "Bo Example", "Cy Example"]
    link, unsent = [r for r in records if isinstance(r, ParsedEvent)]
    assert link.properties["reactions"] == [{"reaction": "❤", "actor": "Ann Example"}]
    assert [(p.kind, p.value) for p in link.parties] == [("account", "Bo Example"),
                                                         ("group", "Weekend")]
    assert unsent.properties["deleted"] is True and unsent.body is None


# --- streaming: big threads, key order, truncation -------------------------------------

def _big_thread(path: Path, n: int, *, fields_last: bool) -> None:
    """A newest-first thread of ``n`` messages as Facebook writes it (ASCII with mojibake
    escapes, indented); with ``fields_last`` participants and title follow the messages."""
    fields = {"participants": [{"name": _mojibake("Zoë Sample")}, {"name": "Sam Sample"}],
              "title": _mojibake("Zoë Sample"), "is_still_participant": True,
              "thread_type": "Regular", "thread_path": "inbox/zoesample_42"}
    pad = "lorem ipsum dolor sit amet " * 3
    body = json.dumps(fields, indent=2)[1:-1].strip()
    with path.open("w", encoding="ascii") as fh:
        fh.write("{\n")
        if not fields_last:
            fh.write(f"  {body},\n")
        fh.write('  "messages": [\n')
        for i in range(n):
            msg = {"sender_name": _mojibake("Zoë Sample") if i % 3 else "Sam Sample",
                   "timestamp_ms": 1700000000000 - i * 1000,
                   "content": _mojibake(f"n\u00b0{n - i} {pad}"), "type": "Generic",
                   "is_geoblocked_for_viewer": False}
            fh.write(("    " if i == 0 else ",\n    ")
                     + json.dumps(msg, indent=2).replace("\n", "\n    "))
        fh.write("\n  ]")
        fh.write(f",\n  {body}" if fields_last else "")
        fh.write("\n}\n")


def test_large_thread_streams_with_flat_memory_and_late_fields(tmp_path: Path) -> None:
    import tracemalloc
    path = tmp_path / "message_1.json"
    n = 20_000
    _big_thread(path, n, fields_last=True)
    size = path.stat().st_size
    assert size > 5_000_000
    tracemalloc.start()
    try:
        count, first, last, prev = 0, None, None, None
        for r in P.parse(path, ImportOptions()):
            assert isinstance(r, ParsedEvent), r
            count += 1
            assert prev is None or prev.occurred_at <= r.occurred_at  # oldest first
            first, last, prev = first or r, r, r
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < size // 4, f"peak {peak:,} bytes for a {size:,}-byte file: not streamed"
    assert first is not None and last is not None
    assert (first.ref, first.body) == (f"messages[{n - 1}]", "n\u00b01 " + "lorem ipsum "
                                       "dolor sit amet " * 3)
    assert last.ref == "messages[0]" and last.body.startswith(f"n\u00b0{n} lorem")
    # participants, title and thread_path come after the messages, yet apply to all.
    for ev in (first, last):
        assert ev.properties["conversation"] == "Zoë Sample"
        assert ev.properties["conversation_id"] == "inbox/zoesample_42"
    assert [(p.value, p.role) for p in first.parties] == [("Zoë Sample", "sender"),
                                                          ("Sam Sample", "recipient")]


def test_fields_after_messages_give_the_same_records(tmp_path: Path) -> None:
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    _big_thread(before, 40, fields_last=False)
    _big_thread(after, 40, fields_last=True)
    records = list(P.parse(after, ImportOptions()))
    assert records == list(P.parse(before, ImportOptions()))
    assert len(records) == 40


def test_group_found_from_thread_type_after_the_messages(tmp_path: Path) -> None:
    msgs = [{"sender_name": "Ann", "timestamp_ms": 1600000000000, "content": "hi"}]
    path = tmp_path / "message_1.json"
    path.write_text('{"messages": ' + json.dumps(msgs) + ', "participants": [{"name": '
                    '"Ann"}, {"name": "Bo"}], "title": "Club", "thread_type": "RegularGroup",'
                    ' "thread_path": "inbox/club_7"}', encoding="ascii")
    records = list(P.parse(path, ImportOptions()))
    assert [r.party.value for r in records if isinstance(r, ParsedEntity)] == ["Ann", "Bo"]
    ev = records[-1]
    assert isinstance(ev, ParsedEvent)
    assert [(p.kind, p.value) for p in ev.parties] == [("account", "Ann"),
                                                       ("group", "inbox/club_7")]


def test_truncated_thread_fails_before_yielding_and_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "message_1.json"
    _big_thread(path, 2000, fields_last=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    assert_truncated_file_fails_before_yielding(P, path, encoding="ascii")


def test_thread_is_read_the_same_whatever_the_chunk_boundaries(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import workstation.ingest.chat._common as common
    import workstation.ingest.chat.messenger as messenger
    # Out of time order (an edited export), with ties, escapes and raw UTF-8.
    times = [5, 3, 9, 3, 1, 7, 7, 2, 8, 6, 4, 0]
    msgs = [{"sender_name": "Ann" if i % 2 else _mojibake("Zoë"),
             "timestamp_ms": 1600000000000 + t * 1000,
             "content": f"#{i} " + (_mojibake("Grüße 👋") if i != 4 else "lone \ud800")}
            for i, t in enumerate(times)]
    thread = {"participants": [{"name": "Ann"}], "messages": msgs, "title": "T"}
    escaped = tmp_path / "escaped.json"
    escaped.write_text(json.dumps(thread, indent=1), encoding="ascii")
    msgs[4]["content"] = "#4 lone"
    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps(thread, ensure_ascii=False), encoding="utf-8")
    for path in (escaped, raw):
        monkeypatch.undo()
        whole = events(path)
        # Oldest first; the file reads newest first, so equal times keep the reverse of
        # the file's order.
        assert [e.body.split()[0] for e in whole] == [
            "#11", "#4", "#7", "#3", "#1", "#10", "#0", "#9", "#6", "#5", "#8", "#2"]
        assert whole[0].body == "#11 Grüße 👋"
        for chunk, window in ((1, 1), (2, 40), (7, 300), (64, 5000)):
            monkeypatch.setattr(common, "_CHUNK", chunk)
            monkeypatch.setattr(messenger, "_SEEK_CHUNK", chunk)
            monkeypatch.setattr(messenger, "_WINDOW_CHARS", window)
            assert events(path) == whole, (path.name, chunk, window)
    assert events(escaped)[1].body == "#4 lone \ufffd"
