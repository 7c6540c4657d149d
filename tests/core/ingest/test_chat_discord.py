"""DiscordChatExporter JSON (generated: no Discord export is in the shared corpus)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from workstation.ingest.chat.discord import DiscordJsonParser
from workstation.ingest.records import ImportOptions, ParsedEvent, ParseError

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
    assert [p.value for p in join.parties] == ["11"]
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
