"""Variants seen in real public exports (dircproxy IRC logs, Instagram/Messenger threads,
mbox files without a Date, Slack exports of free workspaces), rebuilt with synthetic
people, hosts and text: only the layout of the real files is reproduced."""

from __future__ import annotations

import base64
import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from workstation.domain.service import Workstation
from workstation.ingest.chat.irc import IrcLogParser
from workstation.ingest.chat.mail import EmlParser, MboxParser
from workstation.ingest.chat.messenger import MessengerJsonParser
from workstation.ingest.chat.slack import SlackZipParser
from workstation.ingest.pipeline import detect, run_import
from workstation.ingest.records import ImportOptions, ParsedEntity, ParsedEvent, RowError
from workstation.store.database import Database

UTC = timezone.utc


def _events(records: list) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent)]


def _mojibake(text: str) -> str:
    """Text as Facebook writes it: UTF-8 bytes as Latin-1 code points."""
    return text.encode("utf-8").decode("latin-1")


# dircproxy's default log: "[DD Mon HH:MM]" stamps without a year, senders as full
# "nick!user@host" masks, freenode-style "n=" idents.
DIRCPROXY = """\
[14 Jan 10:36] --> alice (n=alice@203.0.113.7) joined the channel
[14 Jan 11:32] *** You disconnected
[14 Jan 12:36] <alice!n=alice@203.0.113.7> -anyone here know a good editor?
[14 Jan 12:37] <bob!n=bob@198.51.100.23> +try the one on the wiki
[14 Jan 12:38] <bob!n=bob@198.51.100.23> +it is fine
[14 Jan 12:53] *** You connected
[14 Jan 23:59] <carol!n=carol@example/staff/carol> night all
[15 Jan 00:02] * bob waves
[15 Jan 08:42] <alice!n=alice@203.0.113.7> +morning
"""


def test_dircproxy_log_is_read_with_year_from_file_name_and_sender_masks(tmp_path: Path) -> None:
    path = tmp_path / "2019-01-14-dircproxy.log"
    path.write_text(DIRCPROXY, encoding="utf-8")
    assert detect(path).format == "irc_log"
    records = list(IrcLogParser().parse(path, ImportOptions()))
    assert not [r for r in records if isinstance(r, RowError)]
    msgs = [e for e in _events(records) if e.kind == "message"]
    assert [(e.parties[0].value, e.occurred_at) for e in msgs] == [
        ("alice", datetime(2019, 1, 14, 12, 36)),
        ("bob", datetime(2019, 1, 14, 12, 37)),
        ("bob", datetime(2019, 1, 14, 12, 38)),
        ("carol", datetime(2019, 1, 14, 23, 59)),
        ("bob", datetime(2019, 1, 15, 0, 2)),
        ("alice", datetime(2019, 1, 15, 8, 42)),
    ]
    assert msgs[1].properties["hostmask"] == "n=bob@198.51.100.23"
    assert msgs[3].properties["hostmask"] == "n=carol@example/staff/carol"
    assert msgs[4].properties.get("action") is True
    # bob never joined in this log: his IP comes from his message lines, stated once.
    uses = [(r.party.value, r.links[0].dst.value) for r in records
            if isinstance(r, ParsedEntity) and r.links and r.links[0].kind == "uses"]
    assert ("bob", "198.51.100.23") in uses and uses.count(("bob", "198.51.100.23")) == 1


def test_dircproxy_log_without_a_year_keeps_the_day(tmp_path: Path) -> None:
    path = tmp_path / "dircproxy-example.log"
    path.write_text(DIRCPROXY, encoding="utf-8")
    msgs = [e for e in _events(list(IrcLogParser().parse(path, ImportOptions())))
            if e.kind == "message"]
    assert len(msgs) == 6 and all(e.occurred_at is None for e in msgs)
    assert (msgs[0].properties["month_day"], msgs[0].properties["time"]) == ("01-14", "12:36:00")
    assert msgs[-1].properties["month_day"] == "01-15"


def test_dircproxy_log_imports_into_a_case(tmp_path: Path) -> None:
    path = tmp_path / "2019-01-14-dircproxy.log"
    path.write_text(DIRCPROXY, encoding="utf-8")
    ws = Workstation(Database.create(tmp_path / "c.db", "pass phrase here"))
    cid = ws.create_case("T1", "t").id
    result = run_import(ws, cid, path)
    assert (result.format, result.messages, result.skipped) == ("irc_log", 6, 0)
    keys = {e.key for e in ws.list_entities(cid)}
    assert {"account:irc:alice", "account:irc:bob", "account:irc:carol",
            "ip:198.51.100.23", "ip:203.0.113.7"} <= keys


def test_znc_buffer_playback_in_a_client_log(tmp_path: Path) -> None:
    # A client without server-time logs ZNC's replay at the time it reconnected; ZNC put
    # each line's own time in front of its text.
    path = tmp_path / "#case.log"
    path.write_text(
        "--- Log opened Tue Jan 01 12:00:00 2019\n"
        "12:05 -!- alice [~alice@203.0.113.7] has joined #case\n"
        "12:05 <***> Buffer Playback...\n"
        "12:05 <bob> [11:58:12] are you there?\n"
        "12:05 < carol> [23:59:01] late one\n"
        "12:05  * bob [11:59:00] waves\n"
        "12:05 <***> Playback Complete.\n"
        "12:06 <bob> [11:00] is not replayed now\n", encoding="utf-8")
    records = list(IrcLogParser().parse(path, ImportOptions()))
    assert not [r for r in records if isinstance(r, RowError)]
    msgs = [e for e in _events(records) if e.kind == "message"]
    assert [(e.parties[0].value, e.occurred_at, e.body) for e in msgs] == [
        ("bob", datetime(2019, 1, 1, 11, 58, 12), "are you there?"),
        ("carol", datetime(2018, 12, 31, 23, 59, 1), "late one"),
        ("bob", datetime(2019, 1, 1, 11, 59), "waves"),
        ("bob", datetime(2019, 1, 1, 12, 6), "[11:00] is not replayed now"),
    ]
    assert msgs[0].properties["replayed"] is True
    assert msgs[0].properties["logged_at"] == "2019-01-01T12:05:00"
    assert "replayed" not in msgs[-1].properties
    assert [e.body for e in _events(records) if e.kind == "system"][1:] == [
        "Buffer Playback...", "Playback Complete."]


def test_instagram_thread_notices_without_type_and_owner_ip(tmp_path: Path) -> None:
    # Instagram threads carry no "type" on messages; joins, reactions and call ends are
    # written as text, some without the actor's name in front.
    base = 1_600_000_000_000
    thread = {
        "participants": [{"name": "Alice Example"}, {"name": _mojibake("Bób Example")},
                         {"name": "Carol Example"}],
        "messages": [
            {"sender_name": "Alice Example", "timestamp_ms": base + 6000,
             "content": "the call ended badly, sorry"},
            {"sender_name": "Alice Example", "timestamp_ms": base + 5000,
             "content": "The video chat ended."},
            {"sender_name": _mojibake("Bób Example"), "timestamp_ms": base + 4000,
             "content": _mojibake("Reacted ❤️ to your message ")},
            {"sender_name": "Carol Example", "timestamp_ms": base + 3000,
             "content": "Carol Example made Alice Example an admin."},
            {"sender_name": "Alice Example", "timestamp_ms": base + 2000,
             "content": "hello all", "ip": "192.0.2.44"},
            {"sender_name": "Carol Example", "timestamp_ms": base + 1000,
             "content": "Carol Example joined the group.", "users": [{"name": "Carol Example"}]},
        ],
        "title": "Trip Group", "thread_path": "inbox/tripgroup_123",
    }
    folder = tmp_path / "your_instagram_activity" / "messages" / "inbox" / "tripgroup_123"
    folder.mkdir(parents=True)
    path = folder / "message_1.json"
    path.write_text(json.dumps(thread), encoding="utf-8")
    evs = _events(list(MessengerJsonParser().parse(path, ImportOptions())))
    assert [(e.kind, e.body) for e in evs] == [
        ("system", "Carol Example joined the group."),
        ("message", "hello all"),
        ("system", "Carol Example made Alice Example an admin."),
        ("system", "Reacted ❤️ to your message "),
        ("system", "The video chat ended."),
        ("message", "the call ended badly, sorry"),
    ]
    joined = evs[0]
    assert [p.value for p in joined.parties] == ["Carol Example"]
    hello = evs[1]
    assert hello.occurred_at == datetime(2020, 9, 13, 12, 26, 42, tzinfo=UTC)
    assert [(p.kind, p.value, p.role) for p in hello.parties if p.kind == "ip"] == [
        ("ip", "192.0.2.44", "origin")]
    assert evs[3].parties[0].value == "Bób Example"
    assert all(p.platform == "instagram" for e in evs for p in e.parties if p.kind == "account")


def test_mbox_mail_without_date_takes_the_separator_time(tmp_path: Path) -> None:
    path = tmp_path / "mail.mbox"
    path.write_bytes(
        b"From MAILER-DAEMON Sun Aug  7 11:40:37 2022 extra info\n"
        b"From: alice@example.com\nSubject: no date here\n\nHello\n\nFrom time to time\n\n"
        b"From 1234@xxx Wed Nov 22 15:43:06 +0100 2023\n"
        b"From: bob@example.org\nSubject: takeout style\n\nHi\n\n"
        b"From bob@example.org Thu Nov 23 09:00:00 2023\n"
        b"From: bob@example.org\nSubject: dated\nDate: Thu, 23 Nov 2023 10:00:00 +0200\n\nYo\n")
    evs = _events(list(MboxParser().parse(path, ImportOptions())))
    assert [(e.title, e.occurred_at, e.properties.get("date_source")) for e in evs] == [
        ("no date here", datetime(2022, 8, 7, 11, 40, 37), "mbox_separator"),
        ("takeout style", datetime(2023, 11, 22, 15, 43, 6,
                                   tzinfo=timezone(timedelta(hours=1))), "mbox_separator"),
        ("dated", datetime(2023, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=2))), None),
    ]
    assert evs[0].body == "Hello\n\nFrom time to time"


def test_slack_free_plan_files_bot_profiles_and_deleted_thread_parents(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    day = [
        {"type": "message", "subtype": "bot_message", "bot_id": "B01", "text": "Poll opened",
         "ts": "1677029631.029259", "bot_profile": {"id": "B01", "name": "Poll Helper"}},
        {"type": "message", "user": "U01", "ts": "1677029700.000100", "text": "see file",
         "files": [{"id": "F01", "name": "report.pdf", "mimetype": "application/pdf",
                    "size": 1200, "url_private": "https://files.example.com/report.pdf"},
                   {"id": "F02", "mode": "hidden_by_limit"},
                   {"id": "F03", "mode": "tombstone"}]},
        {"type": "message", "user": "U02", "ts": "1677029800.000200",
         "thread_ts": "1677029800.000200", "subtype": "tombstone", "hidden": True,
         "text": "This message was deleted.", "reply_count": 1},
    ]
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("channels.json", json.dumps([{"id": "C01", "name": "general",
                                                  "members": ["U01", "U02"]}]))
        zf.writestr("users.json", json.dumps([
            {"id": "U01", "name": "alice", "profile": {"real_name": "Alice Example"}},
            {"id": "U02", "name": "bob", "profile": {"real_name": "Bob Example"}}]))
        zf.writestr("general/2023-02-22.json", json.dumps(day))
    bot, files, gone = _events(list(SlackZipParser().parse(path, ImportOptions())))
    assert (bot.parties[0].value, bot.parties[0].label) == ("B01", "Poll Helper")
    assert bot.parties[0].properties.get("bot") is True
    assert [a.name for a in files.attachments] == ["report.pdf"]
    assert files.properties["files_unavailable"] == [
        {"id": "F02", "reason": "hidden_by_limit"}, {"id": "F03", "reason": "tombstone"}]
    assert gone.kind == "system" and gone.properties["deleted"] is True


def test_subject_folded_right_after_the_colon_has_no_leading_blank(tmp_path: Path) -> None:
    # Bulk mailers fold before the first encoded word ("Subject: \r\n =?UTF-8?B?...?=").
    def word(text: str) -> str:
        return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="

    path = tmp_path / "folded.eml"
    path.write_bytes((
        "Subject: \r\n " + word("Привет, ") + "\r\n " + word("мир!") + "\r\n"
        "From: " + word("Алиса Пример") + " <alice@example.com>\r\n"
        "To: bob@example.org\r\nDate: Sat, 15 Jul 2017 12:18:41 +0300 (MSK)\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nText\r\n"
    ).encode("ascii"))
    (event,) = _events(list(EmlParser().parse(path, ImportOptions())))
    assert event.title == "Привет, мир!"
    assert (event.parties[0].value, event.parties[0].label) == ("alice@example.com",
                                                                "Алиса Пример")
    assert event.occurred_at == datetime(2017, 7, 15, 12, 18, 41,
                                         tzinfo=timezone(timedelta(hours=3)))
