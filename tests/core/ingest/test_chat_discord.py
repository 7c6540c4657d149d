"""DiscordChatExporter JSON and CSV (generated: no Discord export is in the shared corpus).

The layouts follow what the exporter writes in its old and new versions: fields present or
absent, timestamps with 0-7 fractional digits and local offsets, message kinds by name or
number, DMs under the pseudo guild "Direct Messages"."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from workstation.ingest.chat.discord import DiscordJsonParser
from tests.core.ingest.streaming import assert_truncated_file_fails_before_yielding
from workstation.ingest.records import ImportOptions, ParsedEvent, ParseError, RowError

P = DiscordJsonParser()


def author(uid: str, name: str, nick: str | None = None, bot: bool = False,
           disc: str = "0000") -> dict:
    return {"id": uid, "name": name, "discriminator": disc, "nickname": nick or name,
            "color": None, "isBot": bot, "roles": [], "avatarUrl": "https://cdn.example/a.png"}


GUILD_EXPORT = {
    "guild": {"id": "900", "name": "Test Server", "iconUrl": "https://cdn.example/i.png"},
    "channel": {"id": "901", "type": "GuildTextChat", "categoryId": "902",
                "category": "Text Channels", "name": "general", "topic": None},
    "dateRange": {"after": None, "before": None},
    "exportedAt": "2024-01-02T00:00:00+00:00",
    "messages": [
        {"id": "1001", "type": "GuildMemberJoin", "timestamp": "2024-01-01T10:00:00+00:00",
         "timestampEdited": None, "isPinned": False, "content": "",
         "author": author("11", "alice", "Ally"), "attachments": [], "embeds": [],
         "stickers": [], "reactions": [], "mentions": []},
        {"id": "1002", "type": "Default", "timestamp": "2024-01-01T10:01:00.123+01:00",
         "timestampEdited": "2024-01-01T10:02:00+01:00", "isPinned": True,
         "content": "hey <@22> see file", "author": author("11", "alice", "Ally"),
         "attachments": [{"id": "a1", "url": "general_Files/scan-ABCDE.png",
                          "fileName": "scan.png", "fileSizeBytes": 20480}],
         "embeds": [], "stickers": [],
         "reactions": [{"emoji": {"id": None, "name": "👍"}, "count": 2}],
         "mentions": [author("22", "bob", disc="4321")]},
        {"id": "1003", "type": "Reply", "timestamp": "2024-01-01T10:03:00+00:00",
         "content": "thanks", "author": author("22", "bob", disc="4321"),
         "attachments": [], "reference": {"messageId": "1002", "channelId": "901",
                                          "guildId": "900"}},
        {"id": "1004", "type": "ChannelPinnedMessage", "timestamp": "2024-01-01T10:04:00+00:00",
         "content": "Pinned a message.", "author": author("11", "alice", "Ally"),
         "reference": {"messageId": "1002"}},
        {"id": "1005", "type": "Default", "timestamp": "2024-01-01T10:05:00+00:00",
         "content": "beep", "author": author("33", "helperbot", bot=True)},
    ],
    "messageCount": 5,
}


def _write(tmp_path: Path, data: dict, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_guild_channel_export(tmp_path: Path) -> None:
    path = _write(tmp_path, GUILD_EXPORT)
    assert P.sniff(path, path.read_bytes()) >= 0.9
    evs = [r for r in P.parse(path, ImportOptions()) if isinstance(r, ParsedEvent)]
    assert [(e.kind, e.ref) for e in evs] == [
        ("system", "message 1001"), ("message", "message 1002"), ("message", "message 1003"),
        ("system", "message 1004"), ("message", "message 1005")]
    join, hello, reply, pin, bot = evs
    assert join.properties["message_type"] == "GuildMemberJoin"
    # A join is about its author, in this channel (the group is named for provenance).
    assert [(p.kind, p.value) for p in join.parties] == [("account", "11"), ("group", "901")]
    assert join.title == "Ally: Joined the server." if join.body else True
    assert hello.occurred_at == datetime(2024, 1, 1, 10, 1, 0, 123000,
                                         tzinfo=timezone(timedelta(hours=1)))
    sender = hello.parties[0]
    assert (sender.kind, sender.value, sender.label, sender.platform, sender.role) == (
        "account", "11", "Ally", "discord", "sender")
    assert sender.properties["username"] == "alice"
    assert [(p.kind, p.value, p.label, p.role) for p in hello.parties[1:]] == [
        ("group", "901", "Test Server #general", "recipient"),
        ("account", "22", "bob", "mentioned")]
    assert hello.parties[2].properties["username"] == "bob#4321"
    att = hello.attachments[0]
    assert (att.name, att.size, att.mime, att.path) == (
        "scan.png", 20480, "image/png", "general_Files/scan-ABCDE.png")
    assert hello.properties["reactions"] == [{"emoji": "👍", "count": 2}]
    assert hello.properties["pinned"] is True
    assert hello.properties["edited_at"].startswith("2024-01-01T10:02:00")
    assert hello.properties["conversation"] == "#general"
    assert reply.properties["reply_to_message_id"] == "1002"
    assert pin.kind == "system" and pin.body == "Pinned a message."
    assert bot.parties[0].properties["bot"] is True


def test_direct_message_export_goes_to_the_other_person(tmp_path: Path) -> None:
    dm = {
        "guild": {"id": "0", "name": "Direct Messages"},
        "channel": {"id": "555", "type": "DirectTextChat", "name": "bob"},
        "messages": [
            {"id": "1", "type": "Default", "timestamp": "2024-01-01T10:00:00+00:00",
             "content": "hi", "author": author("11", "alice")},
            {"id": "2", "type": "Default", "timestamp": "2024-01-01T10:01:00+00:00",
             "content": "yo", "author": author("22", "bob")},
        ],
    }
    evs = [r for r in P.parse(_write(tmp_path, dm), ImportOptions())
           if isinstance(r, ParsedEvent)]
    assert [[(p.value, p.role) for p in e.parties] for e in evs] == [
        [("11", "sender"), ("22", "recipient")], [("22", "sender"), ("11", "recipient")]]


def test_truncated_discord_json(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(GUILD_EXPORT)[:700])
    with pytest.raises(ParseError) as exc:
        list(P.parse(path, ImportOptions()))
    assert str(path) in str(exc.value) and "line 1 column" in str(exc.value)


def test_sniff_does_not_claim_other_chat_json(shared_data: Path) -> None:
    for rel in ("chat/telegram/result.json", "chat/messenger/facebook_chat.json"):
        path = shared_data / rel
        assert P.sniff(path, path.read_bytes()[:65536]) == 0.0


def _events(path: Path) -> list[ParsedEvent]:
    records = list(P.parse(path, ImportOptions()))
    assert not [r for r in records if isinstance(r, RowError)], records
    return [r for r in records if isinstance(r, ParsedEvent)]


def test_old_version_dm_without_channel_type_or_nickname(tmp_path: Path) -> None:
    # Early 2.x exports: no channel type, no nickname, real discriminators, 2-digit and
    # 7-digit fractions (.NET), local offsets.
    old = {
        "guild": {"id": "0", "name": "Direct Messages", "iconUrl": "x.png"},
        "channel": {"id": "777", "name": "bob", "topic": None},
        "messages": [
            {"id": "1", "type": "Default", "timestamp": "2019-02-19T16:40:50.82-05:00",
             "timestampEdited": None, "isPinned": False, "content": "hi bob",
             "author": {"id": "11", "name": "alice", "discriminator": "1234", "isBot": False},
             "attachments": [], "embeds": [], "reactions": []},
            {"id": "2", "type": "Default", "timestamp": "2019-02-19T16:41:00.1234567-05:00",
             "content": "hey", "author": {"id": "22", "name": "bob", "discriminator": "0042"}},
            {"id": "3", "type": "Default", "timestamp": "2019-02-19T21:42:00Z",
             "content": "ok", "author": {"id": "11", "name": "alice", "discriminator": "1234"}},
        ],
    }
    path = _write(tmp_path, old)
    assert P.sniff(path, path.read_bytes()) >= 0.9
    first, second, third = _events(path)
    est = timezone(timedelta(hours=-5))
    assert first.occurred_at == datetime(2019, 2, 19, 16, 40, 50, 820000, tzinfo=est)
    assert second.occurred_at == datetime(2019, 2, 19, 16, 41, 0, 123456, tzinfo=est)
    assert third.occurred_at == datetime(2019, 2, 19, 21, 42, tzinfo=timezone.utc)
    # A DM: addressed to the other person, not to a "Direct Messages" group.
    assert [(p.kind, p.value, p.role) for p in first.parties] == [
        ("account", "11", "sender"), ("account", "22", "recipient")]
    assert (first.parties[0].label, first.parties[0].properties["username"]) == (
        "alice", "alice#1234")
    assert first.properties["conversation"] == "bob"
    assert "guild" not in first.properties


def test_system_kinds_and_new_fields(tmp_path: Path) -> None:
    new_user = author("44", "dana_new", "Dana")  # new username: discriminator "0000"
    group_dm = {
        "guild": {"id": "0", "name": "Direct Messages"},
        "channel": {"id": "888", "type": "DirectGroupTextChat", "name": "Trip planning"},
        "exportedAt": "2024-05-01T12:00:00.5+02:00",
        "messages": [
            {"id": "10", "type": "RecipientAdd", "timestamp": "2024-04-01T10:00:00+02:00",
             "content": "Added Dana to the group.", "author": author("11", "alice"),
             "mentions": [new_user]},
            {"id": "11", "type": "Call", "timestamp": "2024-04-01T10:05:00+02:00",
             "callEndedTimestamp": "2024-04-01T10:17:30+02:00",
             "content": "Started a call that lasted 13 minutes.",
             "author": author("22", "bob", disc="4321")},
            {"id": "12", "type": "ThreadCreated", "timestamp": "2024-04-01T10:20:00+02:00",
             "content": "Started a thread.", "author": author("11", "alice")},
            {"id": "13", "type": "8", "timestamp": "2024-04-01T10:21:00+02:00",
             "content": "", "author": author("11", "alice")},
            {"id": "14", "type": "20", "timestamp": "2024-04-01T10:22:00+02:00",
             "content": "", "author": author("55", "pollbot", bot=True),
             "interaction": {"id": "9", "name": "roll", "user": new_user}},
            {"id": "15", "type": "Default", "timestamp": "2024-04-01T10:23:00+02:00",
             "content": "", "author": new_user,
             "reference": {"type": "Forward", "messageId": "3", "channelId": "1"},
             "forwardedMessage": {"timestamp": "2024-03-01T09:00:00+00:00",
                                  "content": "original words",
                                  "attachments": [{"id": "a", "url": "https://cdn.example/"
                                                   "att/1/2/map.png?ex=1&hm=2",
                                                   "fileName": "", "fileSizeBytes": 99}]}},
            {"id": "16", "type": "Reply", "timestamp": "2024-04-01T10:24:00+02:00",
             "content": "see https://example.org/x", "author": author("22", "bob", disc="4321"),
             "reference": {"type": "Default", "messageId": "15"},
             "attachments": [{"id": "b", "url": "Trip planning_Files\\photo-1A2B.jpg",
                              "fileName": "photo.jpg", "fileSizeBytes": 2048}],
             "embeds": [{"title": "Example page", "url": "https://example.org/x",
                         "description": "A page", "images": [], "fields": []}],
             "stickers": [{"id": "5", "name": "wave", "format": "Apng", "sourceUrl": "s.png"}],
             "reactions": [{"emoji": {"id": "", "name": "👍", "code": "thumbsup"}, "count": 2,
                            "users": [author("11", "alice"), new_user]}]},
        ],
        "messageCount": 7,
    }
    evs = _events(_write(tmp_path, group_dm))
    assert [e.kind for e in evs] == ["system", "system", "system", "system", "message",
                                     "message", "message"]
    add, call, thread, boost, command, fwd, reply = evs
    # The added user is named on the event, with the group it was added to.
    assert [(p.kind, p.value) for p in add.parties] == [
        ("account", "11"), ("account", "44"), ("group", "888")]
    assert "Added Dana to the group." in add.title
    assert call.properties["call_duration"] == 750
    assert call.properties["call_ended_at"] == "2024-04-01T10:17:30+02:00"
    assert thread.properties["message_type"] == "ThreadCreated"
    assert boost.properties["message_type"] == "8"
    assert command.properties["command"] == "roll"
    assert ("44", "participant") in [(p.value, p.role) for p in command.parties]
    assert command.parties[0].properties["bot"] is True
    assert fwd.body == "original words" and fwd.properties["forwarded"] is True
    assert fwd.properties["forwarded_from_message_id"] == "3"
    assert "reply_to_message_id" not in fwd.properties
    [map_png] = fwd.attachments
    assert (map_png.name, map_png.size, map_png.mime) == ("map.png", 99, "image/png")
    assert fwd.parties[0].properties["username"] == "dana_new"
    assert fwd.parties[0].label == "Dana"
    assert [(p.kind, p.value) for p in fwd.parties[1:]] == [("group", "888")]
    assert reply.properties["reply_to_message_id"] == "15"
    [photo] = reply.attachments
    assert (photo.name, photo.size, photo.path) == (
        "photo.jpg", 2048, "Trip planning_Files\\photo-1A2B.jpg")
    assert reply.properties["urls"] == ["https://example.org/x"]
    assert reply.properties["embeds"][0]["title"] == "Example page"
    assert reply.properties["stickers"] == ["wave"]
    assert reply.properties["reactions"] == [{"emoji": "👍", "count": 2, "users": ["11", "44"]}]
    assert reply.properties["exported_at"] == "2024-05-01T12:00:00.500000+02:00"


def test_unreadable_timestamp_is_kept_raw(tmp_path: Path) -> None:
    data = {"guild": {"id": "1", "name": "g"}, "channel": {"id": "2", "name": "c"},
            "messages": [{"id": "1", "type": "Default", "timestamp": "19-Feb-19 04:40 PM",
                          "content": "x", "author": author("11", "alice")}]}
    [ev] = _events(_write(tmp_path, data))
    assert ev.occurred_at is None and ev.properties["date_raw"] == "19-Feb-19 04:40 PM"


CSV_NEW = (
    '"AuthorID","Author","Date","Content","Attachments","Reactions"\n'
    '"11","alice","3/14/2024 9:05 PM","hello ""there""\nsecond line","",""\n'
    '"22","bob","3/15/2024 10:00 AM","","https://cdn.example/a/1/doc.pdf?ex=1,'
    'general_Files/pic.jpg","👍 (2),🎉 (1)"\n'
)


def test_csv_export(tmp_path: Path) -> None:
    path = tmp_path / "Test Server - general [901234567].csv"
    path.write_text(CSV_NEW, encoding="utf-8")
    assert P.sniff(path, path.read_bytes()) >= 0.8
    first, second = _events(path)
    assert first.occurred_at == datetime(2024, 3, 14, 21, 5)  # naive: local time, no zone
    assert first.body == 'hello "there"\nsecond line'
    assert [(p.kind, p.value, p.role) for p in first.parties] == [
        ("account", "11", "sender"), ("group", "901234567", "recipient")]
    assert first.parties[1].label == "Test Server - general"
    assert [a.name for a in second.attachments] == ["doc.pdf", "pic.jpg"]
    assert second.properties["reactions"] == [{"emoji": "👍", "count": 2},
                                              {"emoji": "🎉", "count": 1}]
    assert (first.ref, second.ref) == ("line 2", "line 4")


def test_old_csv_without_author_id_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "dm.csv"
    path.write_text('Author,Date,Content,Attachments,Reactions\n'
                    'alice#1234,07-Sep-20 07:42 PM,hi,,\n'
                    'bob#0042,31/31/2020 10:00,bad date,,\n'
                    'bob#0042,08-Sep-20 08:00 AM,too,many,columns,here\n', encoding="utf-8")
    records = list(P.parse(path, ImportOptions()))
    ev = records[0]
    assert isinstance(ev, ParsedEvent)
    assert ev.occurred_at == datetime(2020, 9, 7, 19, 42)
    assert (ev.parties[0].value, ev.parties[0].label) == ("alice#1234", "alice")
    errors = [r for r in records if isinstance(r, RowError)]
    assert [(e.ref, e.field) for e in errors] == [("line 3", "Date"), ("line 4", None)]


def test_csv_day_first_dates_decided_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gb.csv"
    path.write_text('"AuthorID","Author","Date","Content","Attachments","Reactions"\n'
                    '"1","a","02/03/2024 10:00","x","",""\n'
                    '"1","a","25/03/2024 10:00","y","",""\n', encoding="utf-8")
    assert [e.occurred_at for e in _events(path)] == [datetime(2024, 3, 2, 10, 0),
                                                      datetime(2024, 3, 25, 10, 0)]


@pytest.mark.parametrize("kind", ["html", "txt"])
def test_html_without_messages_is_refused_and_a_text_export_is_read(tmp_path: Path,
                                                                   kind: str) -> None:
    if kind == "html":
        text = ('<!DOCTYPE html>\n<html lang="en">\n<head><title>Test Server - general'
                '</title></head><body><div class="preamble"><div class="preamble__guild-icon-'
                'container"><img src="https://cdn.discordapp.com/x.png"></div></div>'
                '<div class="chatlog"><div class="chatlog__message-group">'
                '<span class="chatlog__author">alice</span></div></div></body></html>\n')
    else:
        text = ("=" * 62 + "\nGuild: Test Server\nChannel: Text Channels / general\n"
                + "=" * 62 + "\n\n[3/14/2024 9:05 PM] alice\nhello\n\n\n"
                + "=" * 62 + "\nExported 1 message(s)\n" + "=" * 62 + "\n")
    path = tmp_path / f"Test Server - general [901].{kind}"
    path.write_text(text, encoding="utf-8")
    assert P.sniff(path, path.read_bytes()) >= 0.5
    if kind == "txt":
        # The plain-text export is imported (tests/core/ingest/test_chat_discord_txt.py).
        [ev] = _events(path)
        assert (ev.body, ev.occurred_at) == ("hello", datetime(2024, 3, 14, 21, 5))
        assert ev.parties[0].value == "alice"
        return
    with pytest.raises(ParseError) as exc:
        list(P.parse(path, ImportOptions()))
    msg = str(exc.value)
    assert str(path) in msg and kind.upper() in msg and "JSON" in msg


# --- streaming: big exports, key order, truncation -------------------------------------

def _big_export(path: Path, n: int, *, fields_last: bool, truncate_at: int | None = None,
                ) -> None:
    """A channel export of ``n`` messages written the way the exporter streams it; with
    ``fields_last`` the guild and channel come after the messages."""
    head = {"guild": GUILD_EXPORT["guild"], "channel": GUILD_EXPORT["channel"],
            "exportedAt": "2024-01-02T00:00:00+00:00"}
    pad = "lorem ipsum dolor sit amet " * 6
    fields = json.dumps(head, indent=2)[1:-1].strip()
    with path.open("w", encoding="utf-8") as fh:
        fh.write("{\n")
        if not fields_last:
            fh.write(f"  {fields},\n")
        fh.write('  "messages": [\n')
        for i in range(n):
            msg = {"id": str(100000 + i), "type": "Default",
                   "timestamp": f"2024-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:"
                                f"{i % 60:02d}+00:00",
                   "content": f"note {i} {pad}", "author": author(str(i % 40), f"user{i % 40}"),
                   "attachments": [], "embeds": [], "reactions": [], "mentions": []}
            fh.write(("    " if i == 0 else ",\n    ") + json.dumps(msg))
        fh.write("\n  ]")
        fh.write(f",\n  {fields}" if fields_last else "")
        fh.write(f',\n  "messageCount": {n}\n}}\n')
    if truncate_at is not None:
        data = path.read_bytes()
        path.write_bytes(data[:truncate_at])


def test_large_export_streams_with_flat_memory_and_late_fields(tmp_path: Path) -> None:
    import tracemalloc
    path = tmp_path / "big.json"
    n = 20_000
    _big_export(path, n, fields_last=True)
    size = path.stat().st_size
    assert size > 5_000_000
    tracemalloc.start()
    try:
        count, first, last = 0, None, None
        for r in P.parse(path, ImportOptions()):
            assert isinstance(r, ParsedEvent), r
            count += 1
            first = first or r
            last = r
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < size // 4, f"peak {peak:,} bytes for a {size:,}-byte file: not streamed"
    # guild and channel come after the 20,000 messages, yet every message has them.
    assert first is not None and last is not None
    for ev in (first, last):
        assert (ev.properties["guild"], ev.properties["conversation"]) == (
            "Test Server", "#general")
        assert [(p.kind, p.value, p.label) for p in ev.parties[1:]] == [
            ("group", "901", "Test Server #general")]
    assert (first.ref, last.ref) == ("message 100000", f"message {100000 + n - 1}")


def test_fields_after_messages_give_the_same_records(tmp_path: Path) -> None:
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    _big_export(before, 30, fields_last=False)
    _big_export(after, 30, fields_last=True)
    assert _events(after) == _events(before)


def test_dm_detected_when_guild_and_channel_follow_the_messages(tmp_path: Path) -> None:
    msgs = [{"id": str(i), "type": "Default", "timestamp": f"2024-01-01T10:0{i}:00+00:00",
             "content": f"m{i}", "author": author(uid, name)}
            for i, (uid, name) in enumerate([("11", "alice"), ("11", "alice"), ("22", "bob")])]
    text = ('{"messages": ' + json.dumps(msgs) + ', "channel": {"id": "555", "type": '
            '"DirectTextChat", "name": "bob"}, "guild": {"id": "0", "name": "Direct Messages"}}')
    path = tmp_path / "dm.json"
    path.write_text(text, encoding="utf-8")
    evs = _events(path)
    # The first message already goes to bob, who only writes later in the file.
    assert [[(p.value, p.role) for p in e.parties] for e in evs] == [
        [("11", "sender"), ("22", "recipient")], [("11", "sender"), ("22", "recipient")],
        [("22", "sender"), ("11", "recipient")]]
    assert "guild" not in evs[0].properties and evs[0].properties["conversation"] == "bob"


def test_truncated_large_export_fails_before_yielding_and_names_the_line(
        tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    _big_export(path, 3000, fields_last=True)
    _big_export(path, 3000, fields_last=True, truncate_at=path.stat().st_size * 2 // 3)
    assert_truncated_file_fails_before_yielding(P, path)


def test_export_is_read_the_same_whatever_the_chunk_boundaries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import workstation.ingest.chat._common as common
    data = json.loads(json.dumps(GUILD_EXPORT))
    data["messages"][1]["content"] = "caf\u00e9 \U0001f44b \ud800 \\"
    escaped = tmp_path / "escaped.json"  # every non-ASCII character as a \u escape
    escaped.write_text(json.dumps(data, indent=1), encoding="ascii")
    data["messages"][1]["content"] = "caf\u00e9 \U0001f44b \\"
    raw = tmp_path / "raw.json"  # multi-byte UTF-8 split across reads
    raw.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    for path in (escaped, raw):
        monkeypatch.undo()
        whole = list(P.parse(path, ImportOptions()))
        assert len(whole) == 5
        for chunk in (1, 2, 7, 64):
            monkeypatch.setattr(common, "_CHUNK", chunk)
            assert list(P.parse(path, ImportOptions())) == whole, (path.name, chunk)
    assert whole[1].body == "caf\u00e9 \U0001f44b \\"


@pytest.mark.parametrize("text,expected", [
    ('[{"id": "1"}]', "no 'messages' list"),
    ('{"guild": {"id": "1"}, "messages": {"a": 1}}', "no 'messages' list"),
    ('{"messages": []} []', "Extra data"),
    ("", "Expecting value"),
])
def test_bad_top_level_is_a_parse_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError, match=expected) as exc:
        list(P.parse(path, ImportOptions()))
    assert exc.value.file == str(path)


def test_an_export_holding_fewer_messages_than_it_states_is_reported(ws, tmp_path: Path) -> None:
    from workstation.ingest.pipeline import preview, run_import

    case_id = ws.create_case("DC-1", "discord counts").id
    whole = run_import(ws, case_id, _write(tmp_path, GUILD_EXPORT, "whole.json"))
    assert not any("messageCount" in w for w in whole.warnings)

    # Two messages cut out of the list by hand (or an export stopped early): the count the
    # exporter wrote at the end no longer matches, and the officer is told so.
    cut = dict(GUILD_EXPORT, messages=GUILD_EXPORT["messages"][:3])
    path = _write(tmp_path, cut, "cut.json")
    result = run_import(ws, case_id, path)
    assert (result.messages, result.system_lines) == (2, 1)
    assert "messageCount: the export states 5 messages, the file holds 3" in result.warnings
    shown = preview(path)
    assert [(p.row, p.message) for p in shown.problems] == [
        ("messageCount", "the export states 5 messages, the file holds 3")]
    source = ws.list_sources(case_id)[-1]
    assert "messageCount: the export states 5 messages, the file holds 3" in source.summary["warnings"]
