"""DiscordChatExporter plain-text (TXT) exports, in the structure each generation of the
exporter's PlainText writer gives them, with synthetic people, servers and files.

The layouts follow the exporter's own writer code and templates (Tyrrrz/DiscordChatExporter:
the 2.x scriban templates with their aligned "Guild:    " header and "Messages:"/"Range:"
lines, the Core.Rendering renderer with "{Attachment}" per file, the 2.2x Domain writer and
the current Core writer with "{Attachments}", "{Embed}", "{Stickers}", "{Reactions}",
"(pinned)", system notifications' fixed sentences and the closing "Exported N message(s)").
Dates are written the way .NET formats them in the exporting computer's locale ("g"), or
the 2.x default "dd-MMM-yy hh:mm tt", or Unix milliseconds ("unixms").
"""

from __future__ import annotations

import json
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import pytest

from workstation.ingest.chat.discord import DiscordJsonParser
from workstation.ingest.records import ImportOptions, Notice, ParsedEvent, ParseError, RowError

P = DiscordJsonParser()
RULE = "=" * 62
NNBSP = "\u202f"  # .NET on ICU writes a narrow no-break space before AM/PM
CHANNEL_ID = "1100000000000000001"
NAME = f"Test Server - Text Channels - general [{CHANNEL_ID}].txt"


def parse(path: Path, options: ImportOptions | None = None,
          ) -> tuple[list[ParsedEvent], list[Notice]]:
    records = list(P.parse(path, options or ImportOptions()))
    assert not [r for r in records if isinstance(r, RowError)], records
    return ([r for r in records if isinstance(r, ParsedEvent)],
            [r for r in records if isinstance(r, Notice)])


def write(tmp_path: Path, text: str, name: str = NAME) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def preamble(guild: str = "Test Server", channel: str = "Text Channels / general",
             extra: str = "") -> str:
    return f"{RULE}\nGuild: {guild}\nChannel: {channel}\n{extra}{RULE}\n\n"


def message(when: str, who: str, text: str = "", sections: str = "",
            pinned: bool = False) -> str:
    """One message as the 2.2x and later writers put it: header, text, a blank line, the
    sections (each ending in a blank line), then a blank line."""
    head = f"[{when}] {who}" + (" (pinned)" if pinned else "")
    return f"{head}\n" + (f"{text}\n" if text else "") + "\n" + sections + "\n"


def postamble(n: int) -> str:
    return f"{RULE}\nExported {n:,} message(s)\n{RULE}\n"


# --- the current writer (2.27 on): en-US dates, every section ----------------------------

CURRENT = (
    preamble(extra="Topic: planning the\ntrip in March\nAfter: 3/1/2024 12:00" + NNBSP
           + "AM\n")
    + message(f"3/14/2024 9:05{NNBSP}PM", "alice_w", "Joined the server.")
    + message(f"3/14/2024 9:06{NNBSP}PM", "alice_w",
              "first line\n\n[1] the list starts here\n[3/14/2024 9:05 PM] alice_w quoted\n"
              "{Embed} is just a word here")
    + message(f"3/14/2024 9:07{NNBSP}PM", "bob#4321", "plans attached",
              "{Attachments}\nhttps://cdn.discordapp.com/attachments/111/222/itinerary.pdf\n"
              "general.txt_Files/map-1A2B3.png\n\n"
              "{Embed}\nhttps://example.org/trip\nTrip planner\nA site about trips\n\n"
              "{Reactions}\n👍 (2) 🎉\n", pinned=True)
    + message(f"3/14/2024 9:08{NNBSP}PM", "carol_c", "",
              "{Stickers}\nhttps://media.discordapp.net/stickers/749054660769218631.png\n\n")
    + message(f"3/14/2024 10:15{NNBSP}PM", "bob#4321",
              "Started a call that lasted 3 minutes.")
    + message(f"3/15/2024 12:01{NNBSP}AM", "alice_w", "[x] done\nnext line")
    + postamble(6)
)


def test_current_layout(tmp_path: Path) -> None:
    path = write(tmp_path, CURRENT)
    assert P.sniff(path, path.read_bytes()[:65536]) >= 0.9
    evs, notices = parse(path)
    assert [(e.kind, e.ref) for e in evs] == [
        ("system", "line 9"), ("message", "line 13"), ("message", "line 21"),
        ("message", "line 36"), ("system", "line 42"), ("message", "line 46")]
    join, text, files, sticker, call, late = evs
    # Naive: the exporting computer's local time; the import's zone is applied later.
    assert [e.occurred_at for e in evs] == [
        datetime(2024, 3, 14, 21, 5), datetime(2024, 3, 14, 21, 6),
        datetime(2024, 3, 14, 21, 7), datetime(2024, 3, 14, 21, 8),
        datetime(2024, 3, 14, 22, 15), datetime(2024, 3, 15, 0, 1)]
    assert files.properties["date_raw"] == "3/14/2024 9:07 PM"
    assert join.properties["message_type"] == "GuildMemberJoin"
    assert join.title == "alice_w: Joined the server."
    assert call.properties["message_type"] == "Call"
    assert call.properties["call_duration"] == 180
    # Blank lines and lines starting with "[" inside a message stay in it.
    assert text.body == ("first line\n\n[1] the list starts here\n[3/14/2024 9:05 PM] alice_w "
                         "quoted\n{Embed} is just a word here")
    assert late.body == "[x] done\nnext line"
    assert [(p.kind, p.value, p.label, p.role) for p in files.parties] == [
        ("account", "bob#4321", "bob", "sender"),
        ("group", CHANNEL_ID, "Test Server #general", "recipient")]
    assert files.parties[0].properties["identified_by"].startswith("user name")
    assert files.body == "plans attached"
    assert [(a.name, a.mime, a.path) for a in files.attachments] == [
        ("itinerary.pdf", "application/pdf",
         "https://cdn.discordapp.com/attachments/111/222/itinerary.pdf"),
        ("map-1A2B3.png", "image/png", "general.txt_Files/map-1A2B3.png")]
    assert files.properties["pinned"] is True
    assert files.properties["reactions"] == [{"emoji": "👍", "count": 2},
                                             {"emoji": "🎉", "count": 1}]
    assert files.properties["embeds"] == [{"url": "https://example.org/trip",
                                           "text": "Trip planner\nA site about trips"}]
    assert sticker.body is None and sticker.properties["sticker_urls"] == [
        "https://media.discordapp.net/stickers/749054660769218631.png"]
    assert files.properties["guild"] == "Test Server"
    assert files.properties["conversation"] == "#general"
    assert files.properties["export_after_text"] == "3/1/2024 12:00 AM"
    assert [n.ref for n in notices] == ["dates"]
    assert "local time" in notices[0].message and "month first" in notices[0].message


# --- 2.2x: day-first dates decided by a later day, old discriminators, a DM ------------

def test_day_first_dates_are_decided_by_a_later_day_above_12(tmp_path: Path) -> None:
    text = (preamble("Direct Messages", "Private / bob")
            + message("05/03/2024 21:05", "alice#1234", "hi bob")
            + message("05/03/2024 21:07", "bob#0042", "hi",
                      "{Reactions}\n❤️ (2) 😂 \n")
            + message("11/03/2024 08:00", "alice#1234", "still there?")
            + message("14/03/2024 09:30", "bob#0042", "late reply")
            + postamble(4))
    evs, notices = parse(write(tmp_path, text, "Direct Messages - Private - bob [777].txt"))
    assert [e.occurred_at for e in evs] == [
        datetime(2024, 3, 5, 21, 5), datetime(2024, 3, 5, 21, 7),
        datetime(2024, 3, 11, 8, 0), datetime(2024, 3, 14, 9, 30)]
    assert "'14/03/2024 09:30' (line 20)" in notices[-1].message
    assert [e.parties[0].value for e in evs] == ["alice#1234", "bob#0042", "alice#1234",
                                                 "bob#0042"]
    # A DM: each message goes to the other person (who only writes later).
    assert [(p.value, p.role) for p in evs[0].parties] == [
        ("alice#1234", "sender"), ("bob#0042", "recipient")]
    assert evs[1].properties["reactions"] == [{"emoji": "❤️", "count": 2},
                                              {"emoji": "😂", "count": 1}]
    assert "guild" not in evs[0].properties and evs[0].properties["conversation"] == "bob"


def test_undecidable_day_month_order_is_refused_unless_given(tmp_path: Path) -> None:
    text = (preamble() + message("03/04/2024 10:00", "alice_w", "one")
            + message("05/06/2024 11:00", "bob#4321", "two") + postamble(2))
    path = write(tmp_path, text)
    with pytest.raises(ParseError) as exc:
        list(P.parse(path, ImportOptions()))
    err = exc.value
    assert (err.file, err.ref, err.field) == (str(path), "line 6", "date")
    assert "day or the month" in err.message and "no day above 12" in err.message
    assert "date_order" in err.message
    # With the order given in the import options the file is read that way.
    evs, notices = parse(path, ImportOptions(profile={"date_order": "dmy"}))
    assert [e.occurred_at for e in evs] == [datetime(2024, 4, 3, 10, 0),
                                            datetime(2024, 6, 5, 11, 0)]
    assert "dmy as given in the import options" in notices[-1].message
    evs, _ = parse(path, ImportOptions(profile={"date_order": "mdy"}))
    assert evs[0].occurred_at == datetime(2024, 3, 4, 10, 0)


# --- older generations -----------------------------------------------------------------

def test_core_rendering_layout_with_default_date_format(tmp_path: Path) -> None:
    # 2.1x renderer: "Messages:"/"Range:" in the header, "{Attachment}" before each file,
    # the 2.x default date format, no closing line.
    text = (f"{RULE}\nGuild: Test Server\nChannel: general\nTopic: \nMessages: 3\nRange: \n"
            f"{RULE}\n\n"
            "[19-Feb-18 04:40 PM] alice#1234\nhi all\n\n"
            "{Attachment}\nhttps://cdn.discordapp.com/attachments/1/2/notes.txt\n\n"
            "{Attachment}\nhttps://cdn.discordapp.com/attachments/1/3/photo.jpg\n\n"
            "[19-Feb-18 04:52 PM] bob#0042\nanyone?\n\n"
            "{Embed}\nhttps://example.com/page\nA page\n\n"
            "[20-Feb-18 09:01 AM] alice#1234\nmorning\n\n")
    evs, notices = parse(write(tmp_path, text, "Test Server - general.txt"))
    assert [(e.body, e.occurred_at) for e in evs] == [
        ("hi all", datetime(2018, 2, 19, 16, 40)), ("anyone?", datetime(2018, 2, 19, 16, 52)),
        ("morning", datetime(2018, 2, 20, 9, 1))]
    assert [a.name for a in evs[0].attachments] == ["notes.txt", "photo.jpg"]
    assert evs[1].properties["urls"] == ["https://example.com/page"]
    assert evs[0].parties[1].value == "general"  # no channel id in the name or the header
    # This generation writes no closing line: its absence is not reported.
    assert [n.ref for n in notices] == ["dates"]


def test_early_templates_with_aligned_header_and_grouped_messages(tmp_path: Path) -> None:
    # The first template: "name#1234 [date]" over a run of messages, bare attachment URLs.
    text = (f"{RULE}\nGuild:    Test Server\nChannel:  general\nTopic:    \n"
            f"Messages: 3\n{RULE}\n\n"
            "alice#1234 [19-Feb-18 04:40 PM]\nhi all\nsecond message of the run\n"
            "https://cdn.discordapp.com/attachments/1/2/scan.png\n\n"
            "bob#0042 [19-Feb-18 04:52 PM]\nyes\n\n")
    evs, notices = parse(write(tmp_path, text, "general.txt"))
    assert [(e.parties[0].value, e.body) for e in evs] == [
        ("alice#1234", "hi all\nsecond message of the run"), ("bob#0042", "yes")]
    assert [a.name for a in evs[0].attachments] == ["scan.png"]
    assert evs[1].occurred_at == datetime(2018, 2, 19, 16, 52)
    assert "layout" in [n.ref for n in notices]
    # The next template: "[date] name#1234", with "Range:".
    text = (f"{RULE}\nGuild:    Test Server\nChannel:  general\nTopic:    \nMessages: 2\n"
            f"Range:    \n{RULE}\n\n"
            "[19-Feb-18 04:40 PM] alice#1234\nhi\nhttps://cdn.discordapp.com/attachments/1/2/a.gif\n"
            "\n\n[19-Feb-18 04:41 PM] bob#0042\nhello\n\n\n")
    evs, _ = parse(write(tmp_path, text, "general2.txt"))
    assert [(e.body, [a.name for a in e.attachments]) for e in evs] == [
        ("hi", ["a.gif"]), ("hello", [])]


def test_unix_time_format_is_exact_utc(tmp_path: Path) -> None:
    text = (preamble() + message("1710450300000", "alice_w", "at an instant")
            + message("1710450360000", "new_user#0000", "a minute later") + postamble(2))
    evs, notices = parse(write(tmp_path, text))
    # "#0000" marks the new unique user names: the name alone, as from HTML and JSON.
    assert [e.parties[0].value for e in evs] == ["alice_w", "new_user"]
    assert [e.occurred_at for e in evs] == [datetime(2024, 3, 14, 21, 5, tzinfo=timezone.utc),
                                            datetime(2024, 3, 14, 21, 6, tzinfo=timezone.utc)]
    assert notices == []


# --- files cut short, counts -----------------------------------------------------------

def test_truncated_file_keeps_what_was_read_and_says_so(tmp_path: Path) -> None:
    cut = CURRENT[:CURRENT.index("[x] done") + len("[x] do")]
    evs, notices = parse(write(tmp_path, cut))
    assert len(evs) == 6 and evs[-1].body == "[x] do"
    assert evs[-1].properties["incomplete"] is True
    assert [n.ref for n in notices] == ["end of file", "line 46", "dates"]
    assert "cut short" in notices[0].message and "6 messages were read" in notices[0].message
    # Cut between two messages: five whole ones and the warning.
    between = CURRENT[:CURRENT.index("[3/15/2024")]
    evs, notices = parse(write(tmp_path, between, "between.txt"))
    assert len(evs) == 5 and not any(e.properties.get("incomplete") for e in evs)
    assert [n.ref for n in notices] == ["end of file", "dates"]
    # A stated count that does not match (messages cut out by hand) is reported.
    edited = CURRENT.replace("Exported 6 message(s)", "Exported 8 message(s)")
    _, notices = parse(write(tmp_path, edited, "edited.txt"))
    assert [(n.ref, n.message) for n in notices[:1]] == [
        ("Exported", "the export states 8 messages, the file holds 6")]


def test_cut_inside_the_header_block_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, f"{RULE}\nGuild: Test Server\nChannel: Text Chan")
    with pytest.raises(ParseError) as exc:
        list(P.parse(path, ImportOptions()))
    assert exc.value.file == str(path) and "cut short" in exc.value.message


# --- the same people as in the other formats ------------------------------------------

OLD_HTML = ('<!DOCTYPE html>\n<html lang="en">\n<head><title>Test Server - general</title>'
            '<style>.chatlog__message-group { }</style></head>\n<body>\n<div class="info">'
            '<div class="info__guild-icon-container"><img class="info__guild-icon" src="x.png" />'
            '</div><div class="info__metadata"><div class="info__guild-name">Test Server</div>'
            '<div class="info__channel-name">general</div><div class="info__channel-message-'
            'count">1 messages</div></div></div>\n<div class="chatlog">\n'
            '<div class="chatlog__message-group"><div class="chatlog__author-avatar-container">'
            '<img class="chatlog__author-avatar" src="a.png" /></div><div class="chatlog__messages">'
            '<span class="chatlog__author-name" title="alice#1234">alice</span>'
            '<span class="chatlog__timestamp">19-Feb-18 04:40 PM</span>'
            '<div class="chatlog__content">hi from the page</div></div></div>\n</div>\n'
            '</body>\n</html>\n')


def test_txt_author_is_the_same_entity_as_on_an_html_page_without_ids(ws, tmp_path: Path,
                                                                      ) -> None:
    from workstation.ingest.pipeline import run_import

    case_id = ws.create_case("DC-TXT", "discord txt").id
    html = tmp_path / "Test Server - general [901234567].html"
    html.write_text(OLD_HTML, encoding="utf-8")
    txt = write(tmp_path, preamble(channel="general")
                + message("2/19/2018 4:45 PM", "alice#1234", "hi from the text file")
                + message("2/19/2018 4:46 PM", "dave_d", "hello") + postamble(2),
                "Test Server - general [901234567].txt")
    # A JSON export of the channel knows alice by her user id: another entity, as nothing
    # in the TXT or the old page ties the name to that id.
    data = {"guild": {"id": "900", "name": "Test Server"},
            "channel": {"id": "901234567", "type": "GuildTextChat", "name": "general"},
            "messages": [{"id": "1001", "type": "Default",
                          "timestamp": "2018-02-19T16:47:00+00:00", "content": "json",
                          "author": {"id": "11", "name": "alice", "discriminator": "1234"}}]}
    jpath = tmp_path / "export.json"
    jpath.write_text(json.dumps(data), encoding="utf-8")
    for path in (html, txt, jpath):
        run_import(ws, case_id, path, options=ImportOptions(timezone="Europe/Berlin"))
    keys = sorted(e.key for e in ws.list_entities(case_id) if e.kind == "account")
    assert keys == ["account:discord:11", "account:discord:alice#1234",
                    "account:discord:dave_d"]
    # The TXT's local times take the import's zone: 4:45 PM in Berlin is 15:45 UTC.
    [ev] = [e for e in ws.list_events(case_id) if e.body == "hi from the text file"]
    assert ev.occurred_at == datetime(2018, 2, 19, 15, 45, tzinfo=timezone.utc)
    assert ev.properties["date_raw"] == "2/19/2018 4:45 PM"


# --- size --------------------------------------------------------------------------------

def test_large_txt_export_streams_with_flat_memory(tmp_path: Path) -> None:
    n = 40000
    path = tmp_path / NAME
    with path.open("w", encoding="utf-8") as fh:
        fh.write(preamble())
        for i in range(n):
            fh.write(message(f"3/{1 + i // 2000}/2024 {i // 60 % 12 + 1}:{i % 60:02d} PM",
                             f"user{i % 40}", f"note {i} " + "lorem ipsum dolor " * 8))
        fh.write(postamble(n))
    size = path.stat().st_size
    assert size > 5_000_000
    tracemalloc.start()
    try:
        count, last = 0, None
        for r in P.parse(path, ImportOptions(profile={"date_order": "mdy"})):
            if isinstance(r, ParsedEvent):
                count, last = count + 1, r
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < size // 4, f"peak {peak:,} bytes for a {size:,}-byte file: not streamed"
    assert last is not None and last.body.startswith(f"note {n - 1} ")


def test_the_officer_gives_the_date_order_on_the_command_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """CLI.md's import with --date-order: an export whose dates never show a day above 12
    is refused (exit 4) naming the line and saying how to give the order; with
    --date-order dmy it imports with 3 April, and the choice is kept with the source."""
    import json

    from tests.conftest import PASSPHRASE
    from workstation.cli import main
    from workstation.domain.service import Workstation
    from workstation.store.database import Database

    text = (preamble() + message("03/04/2024 10:00", "alice_w", "one")
            + message("05/06/2024 11:00", "bob#4321", "two") + postamble(2))
    path = write(tmp_path, text)
    db = tmp_path / "case.db"
    ws = Workstation(Database.create(db, PASSPHRASE))
    ws.create_case("2024-DO-1", "Date order")
    ws.db.lock()
    pp = tmp_path / "pp"
    pp.write_text(PASSPHRASE, encoding="utf-8")
    base = ["--db", str(db), "--passphrase-file", str(pp)]
    assert main([*base, "import", "2024-DO-1", str(path)]) == 4
    err = capsys.readouterr().err
    assert "line 6" in err and "--date-order" in err
    assert main([*base, "--json", "import", "2024-DO-1", str(path), "--date-order", "dmy"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 2
    ws = Workstation(Database.open(db, PASSPHRASE))
    try:
        case = ws.find_case("2024-DO-1")
        times = sorted(e.occurred_at.replace(tzinfo=None) for e in ws.list_events(case.id, limit=None))
        assert times == [datetime(2024, 4, 3, 10, 0), datetime(2024, 6, 5, 11, 0)]
        (src,) = ws.list_sources(case.id)
        assert src.options["date_order"] == "dmy"
    finally:
        ws.db.lock()
