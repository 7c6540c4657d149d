"""Oddly shaped input never crashes a chat parser: a bad record is a RowError, a bad file a
ParseError, anything else a bug."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.ingest.chat import PARSERS
from workstation.ingest.chat.discord import DiscordJsonParser
from workstation.ingest.chat.irc import IrcLogParser
from workstation.ingest.chat.messenger import MessengerJsonParser
from workstation.ingest.chat.slack import SlackZipParser
from workstation.ingest.chat.telegram import TelegramJsonParser
from workstation.ingest.chat.whatsapp import WhatsAppParser
from workstation.ingest.records import (
    ImportOptions,
    ParsedEntity,
    ParsedEvent,
    ParseError,
    RowError,
)

ODD_VALUES = [None, 0, -1, 1.5, "", "x", [], {}, [1, "a", {}, None], {"a": [1]}, True]

BASE_MESSAGES = {
    "telegram": {"id": 1, "type": "message", "date": "2023-01-01T00:00:00",
                 "date_unixtime": "1672531200", "from": "A", "from_id": "user1",
                 "text": "hi", "photo": "photos/a.jpg", "photo_file_size": 10,
                 "reactions": [], "forwarded_from": "B", "edited": "2023-01-01T00:00:01",
                 "text_entities": [{"type": "plain", "text": "hi"}], "action": "x",
                 "actor": "A", "members": ["B"], "media_type": "sticker",
                 "location_information": {"latitude": 1, "longitude": 2},
                 "poll": {"question": "q", "answers": [{"text": "a"}]}},
    "discord": {"id": "1", "type": "Default", "timestamp": "2024-01-01T00:00:00+00:00",
                "content": "hi", "author": {"id": "9", "name": "n"},
                "attachments": [{"fileName": "a.png", "fileSizeBytes": 3}],
                "mentions": [{"id": "8", "name": "m"}], "reactions": [],
                "reference": {"messageId": "0"}, "timestampEdited": None},
    "messenger": {"sender_name": "A", "timestamp_ms": 1, "content": "hi",
                  "photos": [{"uri": "a.jpg"}], "reactions": [], "share": {"link": "l"},
                  "type": "Generic", "users": [{"name": "B"}], "sticker": {"uri": "s.png"}},
}


def _variants(base: dict) -> list[dict]:
    out = []
    for key in base:
        for value in ODD_VALUES:
            msg = dict(base)
            msg[key] = value
            out.append(msg)
    return out


def _check(records: list) -> None:
    for r in records:
        assert isinstance(r, (ParsedEvent, ParsedEntity, RowError)), r


def test_telegram_odd_fields(tmp_path: Path) -> None:
    msgs = _variants(BASE_MESSAGES["telegram"])
    msgs += [dict(m, type="service") for m in msgs]
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"name": "c", "type": "personal_chat", "id": 5,
                                "messages": msgs}))
    records = list(TelegramJsonParser().parse(path, ImportOptions()))
    _check(records)
    assert len(records) == len(msgs)


def test_discord_odd_fields(tmp_path: Path) -> None:
    msgs = _variants(BASE_MESSAGES["discord"])
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"guild": {"id": "1", "name": "g"},
                                "channel": {"id": "2", "name": "c"}, "messages": msgs}))
    records = list(DiscordJsonParser().parse(path, ImportOptions()))
    _check(records)
    assert len(records) == len(msgs)


def test_messenger_odd_fields(tmp_path: Path) -> None:
    msgs = _variants(BASE_MESSAGES["messenger"])
    path = tmp_path / "message_1.json"
    path.write_text(json.dumps({"participants": [{"name": "A"}, {"name": "B"}],
                                "messages": msgs}))
    records = [r for r in MessengerJsonParser().parse(path, ImportOptions())]
    _check(records)
    assert len(records) == len(msgs)


@pytest.mark.parametrize("top", [[], 5, "x", {"messages": 5}, {"messages": {"a": 1}},
                                 {"chats": {"list": 3}}])
def test_json_parsers_odd_top_level(tmp_path: Path, top: object) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(top))
    for parser in (TelegramJsonParser(), DiscordJsonParser(), MessengerJsonParser()):
        try:
            _check(list(parser.parse(path, ImportOptions())))
        except ParseError:
            pass


def test_slack_odd_shapes(tmp_path: Path) -> None:
    path = tmp_path / "s.zip"
    msgs = [dict({"type": "message", "user": "U1", "ts": "1.0", "text": "t"}, **{k: v})
            for k in ("user", "ts", "text", "files", "reactions", "edited", "user_profile",
                      "subtype") for v in ODD_VALUES]
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("users.json", json.dumps({"not": "a list"}))
        zf.writestr("channels.json", json.dumps([{"name": "c", "members": 5}, 3]))
        zf.writestr("c/2024-01-01.json", json.dumps(msgs))
        zf.writestr("c/2024-01-02.json", json.dumps({"x": 1}))
    records = list(SlackZipParser().parse(path, ImportOptions()))
    _check(records)
    assert sum(isinstance(r, (ParsedEvent, RowError)) for r in records) >= len(msgs)


_LINES = st.lists(st.one_of(
    st.text(max_size=60),
    st.sampled_from(["[8/15/23, 9:12:33 AM] A: hi", "15/08/2023, 09:12 - B: yo",
                     "23:59 <nick> x", "--- Day changed Wed Jan 02 2019",
                     "[12:00] * Joins: n (u@h)", "2019-01-01 12:00:00\tn\tt",
                     "[99/99/99, 99:99:99] X: y", "[31/31/23, 9:00:00] Z: q"])),
    min_size=1, max_size=15)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_LINES)
def test_line_parsers_never_crash(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "fuzz.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    for parser in (WhatsAppParser(), IrcLogParser()):
        try:
            _check(list(parser.parse(path, ImportOptions())))
        except ParseError:
            pass


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000))
def test_sniff_never_crashes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "blob"
    path.write_bytes(data)
    for parser in PARSERS:
        score = parser.sniff(path, data[:65536])
        assert 0.0 <= score <= 1.0
