"""IRC logs of more clients and client settings: mIRC custom stamps and quits, HexChat in
other locales, supybot, The Lounge, LimeChat, Textual, IRCCloud, KVIrc (structures of the
clients' real logs; nicks, hosts and addresses synthetic)."""

from __future__ import annotations

import gzip
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.core.ingest.test_chat_irc_variants_2 import (
    claimed_only_by_irc,
    evs,
    recipients,
    run,
    sender,
    write,
)
from workstation.ingest.chat import PARSERS
from workstation.ingest.records import ParsedEntity, ParsedEvent, RowError


def detected_as_irc(path: Path) -> None:
    """The IRC parser is the one detection picks (another may also see a chat in it)."""
    head = path.read_bytes()[:65536]
    scores = {p.name: p.sniff(path, head) for p in PARSERS}
    assert scores["irc_log"] >= 0.8, scores
    assert all(v < scores["irc_log"] for k, v in scores.items() if k != "irc_log"), scores


def ip_links(records: list) -> list[tuple[str, str]]:
    """(nick, IP) of every "uses" fact, in order."""
    return [(link.src.value, link.dst.value) for r in records if isinstance(r, ParsedEntity)
            for link in r.links if link.kind == "uses"]


def renames(records: list) -> list[tuple[str, str]]:
    return [(link.src.value, link.dst.value) for r in records if isinstance(r, ParsedEntity)
            for link in r.links if link.kind == "same_as"]


def events_of(records: list) -> list[tuple]:
    return [(e.kind, e.occurred_at, e.properties.get("event"), sender(e),
             e.body if e.kind == "message" else None) for e in evs(records)]


def no_errors(records: list) -> None:
    assert not [r for r in records if isinstance(r, RowError)], \
        [r for r in records if isinstance(r, RowError)]


MIRC_CUSTOM = """\
Session Start: Mon Dec 31 23:58:00 2018
Session Ident: #case
[31/12/2018 23:58:10] * alice (~alice@198.51.100.7) has joined #case
[31/12/2018 23:59:00] <alice> stamp with a date
[01/01/2019 00:00:30] <bob> happy new year
[01/01/2019 00:02:00] * alice (~alice@198.51.100.7) Quit (Quit: leaving)
"""


def test_mirc_custom_dated_stamp_and_its_quit_line(tmp_path: Path) -> None:
    path = write(tmp_path, "logs/#case.log", MIRC_CUSTOM)
    claimed_only_by_irc(path)
    records = run(path)
    no_errors(records)
    assert events_of(records) == [
        ("system", datetime(2018, 12, 31, 23, 58, 10), "join", None, None),
        ("message", datetime(2018, 12, 31, 23, 59), None, ("alice", "irc"), "stamp with a date"),
        # "01/01" could be either order; the day after the session's day is meant.
        ("message", datetime(2019, 1, 1, 0, 0, 30), None, ("bob", "irc"), "happy new year"),
        ("system", datetime(2019, 1, 1, 0, 2), "quit", None, None),
    ]
    # mIRC's "nick (u@h) Quit (...)" is a quit: the IP is linked to the nick both times.
    assert ip_links(records) == [("alice", "198.51.100.7"), ("alice", "198.51.100.7")]


def test_mirc_month_first_stamp_is_read_from_the_session_date(tmp_path: Path) -> None:
    # US Windows settings: mm/dd/yyyy. 03/04 is 4 March after a session started 3 March.
    path = write(tmp_path, "#case.log", (
        "Session Start: Sun Mar 03 22:00:00 2019\n"
        "[03/03/2019 22:00] <alice> evening\n"
        "[03/04/2019 09:15] <alice> morning\n"
        "[03/13/2019 10:00] <alice> ten days later\n"))
    assert [e.occurred_at for e in evs(run(path))] == [
        datetime(2019, 3, 3, 22), datetime(2019, 3, 4, 9, 15), datetime(2019, 3, 13, 10)]


def test_mirc_log_without_timestamps_is_recognised(tmp_path: Path) -> None:
    path = write(tmp_path, "#case.log", (
        "Session Start: Tue Jan 01 20:00:00 2019\n"
        "Session Ident: #case\n"
        "* Now talking in #case\n"
        "* alice (~alice@198.51.100.7) has joined #case\n"
        "<alice> no stamps here\n"
        "* alice waves\n"
        "<bob> ok\n"
        "Session Close: Tue Jan 01 21:00:00 2019\n"))
    claimed_only_by_irc(path)
    records = run(path)
    assert [(sender(e), e.body) for e in evs(records) if e.kind == "message"] == [
        (("alice", "irc"), "no stamps here"), (("alice", "irc"), "waves"),
        (("bob", "irc"), "ok")]
    assert ip_links(records) == [("alice", "198.51.100.7")]


HEXCHAT_DE = """\
**** BEGIN LOGGING AT Tue Mar  5 23:58:00 2019

Mär 05 23:58:01 -->\talice (~alice@198.51.100.7) hat #case betreten
Mär 05 23:58:02 <alice>\thallo
Mär 05 23:59:59 *\talice winkt
Okt 07 10:00:00 <bob>\tspäter
Dez 31 23:59:00 <bob>\tsilvester
Jan 01 00:01:00 <bob>\tneujahr
"""


def test_hexchat_with_german_month_names(tmp_path: Path) -> None:
    path = write(tmp_path, "libera-#case.log", HEXCHAT_DE)
    claimed_only_by_irc(path)
    records = run(path)
    no_errors(records)
    assert [(e.kind, e.occurred_at, e.body if e.kind == "message" else None)
            for e in evs(records)] == [
        ("system", datetime(2019, 3, 5, 23, 58, 1), None),
        ("message", datetime(2019, 3, 5, 23, 58, 2), "hallo"),
        ("message", datetime(2019, 3, 5, 23, 59, 59), "winkt"),
        ("message", datetime(2019, 10, 7, 10), "später"),
        ("message", datetime(2019, 12, 31, 23, 59), "silvester"),
        ("message", datetime(2020, 1, 1, 0, 1), "neujahr"),
    ]
    # A join worded in German still links the nick to the IP of its host mask.
    assert ip_links(records) == [("alice", "198.51.100.7")]


def test_hexchat_with_french_month_names(tmp_path: Path) -> None:
    path = write(tmp_path, "libera-#case.log", (
        "**** BEGIN LOGGING AT Tue Feb  5 23:58:00 2019\n"
        "févr. 05 23:58:01 <alice>\tsalut\n"
        "juil. 06 10:00:00 <alice>\tjuillet\n"
        "août 07 10:00:00 <alice>\taoût\n"
        "déc. 08 10:00:00 <alice>\tdécembre\n"))
    assert [e.occurred_at for e in evs(run(path))] == [
        datetime(2019, 2, 5, 23, 58, 1), datetime(2019, 7, 6, 10), datetime(2019, 8, 7, 10),
        datetime(2019, 12, 8, 10)]


SUPYBOT = """\
2019-01-05T23:58:00  *** alice <alice!~alice@198.51.100.7> has joined #case
2019-01-05T23:58:01  <alice> hi
2019-01-05T23:58:04  *** alice <alice!~alice@198.51.100.7> has quit IRC (Quit: bye)
2019-01-05T23:58:05  *** bob <bob!bob@2001:db8::25> has left #case (later)
"""


def test_supybot_channel_logger_host_masks(tmp_path: Path) -> None:
    path = write(tmp_path, "ChannelLogger/libera/#case/#case.2019-01-05.log", SUPYBOT)
    records = run(path)
    no_errors(records)
    assert [e.properties.get("event") for e in evs(records)] == ["join", None, "quit", "part"]
    assert ip_links(records) == [("alice", "198.51.100.7"), ("alice", "198.51.100.7"),
                                 ("bob", "2001:db8::25")]
    assert evs(records)[0].properties["hostmask"] == "~alice@198.51.100.7"


def test_the_lounge_nick_change(tmp_path: Path) -> None:
    path = write(tmp_path, "logs/alice/libera/#case.log", (
        "[2021-03-29T13:16:37.853Z] <alice> hi\n"
        "[2021-03-29T13:16:39.853Z] *** alice changed nick to alice_away\n"
        "[2021-03-29T13:16:41.000Z] <alice_away> back later\n"))
    records = run(path)
    nick = evs(records)[1]
    assert nick.properties["event"] == "nick"
    assert nick.occurred_at == datetime(2021, 3, 29, 13, 16, 39, tzinfo=timezone.utc)
    assert renames(records) == [("alice", "alice_away")]


LIMECHAT = """\
23:58 alice has joined (~alice@198.51.100.7)
23:58 alice: hi, see http://example.com/x
23:59 bob: who is that?
23:59 alice is now known as alice_
00:01 alice_ has left IRC (Quit: bye)
00:02 bob has kicked carol (flood)
"""


def test_limechat_nick_colon_messages(tmp_path: Path) -> None:
    path = write(tmp_path, "LimeChat/libera/#case_20190105.txt", LIMECHAT)
    claimed_only_by_irc(path)
    records = run(path)
    no_errors(records)
    assert events_of(records) == [
        ("system", datetime(2019, 1, 5, 23, 58), "join", None, None),
        ("message", datetime(2019, 1, 5, 23, 58), None, ("alice", "irc"),
         "hi, see http://example.com/x"),
        ("message", datetime(2019, 1, 5, 23, 59), None, ("bob", "irc"), "who is that?"),
        ("system", datetime(2019, 1, 5, 23, 59), "nick", None, None),
        ("system", datetime(2019, 1, 6, 0, 1), "quit", None, None),
        ("system", datetime(2019, 1, 6, 0, 2), "kick", None, None),
    ]
    assert ip_links(records) == [("alice", "198.51.100.7")]
    assert renames(records) == [("alice", "alice_")]
    assert all(recipients(e) == [("group", "#case")] for e in evs(records)
               if e.kind == "message")


TEXTUAL = """\
[23:58:00] alice (~alice@198.51.100.7) joined the channel.
[23:58:01] alice: hi
[23:58:04] alice (~alice@198.51.100.7) left IRC. (Quit: bye)
[23:58:05] bob (~bob@203.0.113.5) left the channel. (later)
[23:58:06] bob kicked carol from the channel. (flood)
"""


def test_textual_plain_text_log(tmp_path: Path) -> None:
    path = write(tmp_path, "Textual Logs/libera (4F2A)/Channels/#case/2019-01-05.txt",
                 TEXTUAL)
    # "[23:58:01] alice: hi" is also how a WhatsApp export looks; the host masks say IRC.
    detected_as_irc(path)
    records = run(path)
    no_errors(records)
    assert events_of(records) == [
        ("system", datetime(2019, 1, 5, 23, 58), "join", None, None),
        ("message", datetime(2019, 1, 5, 23, 58, 1), None, ("alice", "irc"), "hi"),
        ("system", datetime(2019, 1, 5, 23, 58, 4), "quit", None, None),
        ("system", datetime(2019, 1, 5, 23, 58, 5), "part", None, None),
        ("system", datetime(2019, 1, 5, 23, 58, 6), "kick", None, None),
    ]
    kick = evs(records)[-1]
    assert [(p.value, p.role) for p in kick.parties if p.kind == "account"] == [
        ("carol", "participant"), ("bob", "actor")]
    assert ip_links(records) == [("alice", "198.51.100.7"), ("alice", "198.51.100.7"),
                                 ("bob", "203.0.113.5")]


IRCCLOUD = """\
[2019-01-05 23:58:00] * Joined channel #case
[2019-01-05 23:58:00] → alice joined (~alice@198.51.100.7)
[2019-01-05 23:58:01] <alice> hi
[2019-01-05 23:58:02] * alice waves
[2019-01-05 23:58:03] — alice is now known as alice_
[2019-01-05 23:58:04] ⇐ alice_ quit (~alice@198.51.100.7): Quit: bye
[2019-01-05 23:58:05] ← bob left (~bob@203.0.113.5): later
[2019-01-05 23:58:07] * bob set the topic to meet at 9
[2019-01-05 23:58:08] * bob set +o dave
[2019-01-05 23:58:09] * Channel mode is +nt
"""


def test_irccloud_export_arrows(tmp_path: Path) -> None:
    path = write(tmp_path, "irccloud-export/libera/#case.txt", IRCCLOUD)
    detected_as_irc(path)
    records = run(path)
    no_errors(records)
    assert events_of(records) == [
        ("system", datetime(2019, 1, 5, 23, 58), None, None, None),
        ("system", datetime(2019, 1, 5, 23, 58), "join", None, None),
        ("message", datetime(2019, 1, 5, 23, 58, 1), None, ("alice", "irc"), "hi"),
        ("message", datetime(2019, 1, 5, 23, 58, 2), None, ("alice", "irc"), "waves"),
        ("system", datetime(2019, 1, 5, 23, 58, 3), "nick", None, None),
        ("system", datetime(2019, 1, 5, 23, 58, 4), "quit", None, None),
        ("system", datetime(2019, 1, 5, 23, 58, 5), "part", None, None),
        # Topic and mode lines are notices, not someone's action.
        ("system", datetime(2019, 1, 5, 23, 58, 7), None, None, None),
        ("system", datetime(2019, 1, 5, 23, 58, 8), None, None, None),
        ("system", datetime(2019, 1, 5, 23, 58, 9), None, None, None),
    ]
    # "Joined channel" is the user's own client talking: no account "Joined".
    assert not [p for p in evs(records)[0].parties if p.kind == "account"]
    assert ip_links(records) == [("alice", "198.51.100.7"), ("alice_", "198.51.100.7"),
                                 ("bob", "203.0.113.5")]
    assert renames(records) == [("alice", "alice_")]


def test_irccloud_log_export_zip(tmp_path: Path) -> None:
    path = tmp_path / "irccloud-export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("irccloud-export/libera/#case.txt", IRCCLOUD)
        zf.writestr("irccloud-export/oftc/dave.txt",
                    "[2019-01-06 10:00:00] <dave> other network\n"
                    "[2019-01-06 10:00:05] <agent7> noted\n")
        zf.writestr("irccloud-export/oftc/notes.txt", "not a log at all\n")
    claimed_only_by_irc(path)
    records = run(path)
    msgs = [e for e in evs(records) if e.kind == "message"]
    assert [(e.ref, sender(e), recipients(e), e.occurred_at) for e in msgs] == [
        ("irccloud-export/libera/#case.txt: line 3", ("alice", "irc:libera"),
         [("group", "#case")], datetime(2019, 1, 5, 23, 58, 1)),
        ("irccloud-export/libera/#case.txt: line 4", ("alice", "irc:libera"),
         [("group", "#case")], datetime(2019, 1, 5, 23, 58, 2)),
        # A query log is named after the other nick.
        ("irccloud-export/oftc/dave.txt: line 1", ("dave", "irc:oftc"), [],
         datetime(2019, 1, 6, 10)),
        ("irccloud-export/oftc/dave.txt: line 2", ("agent7", "irc:oftc"),
         [("account", "dave")], datetime(2019, 1, 6, 10, 0, 5)),
    ]
    assert ip_links(records)[0] == ("alice", "198.51.100.7")
    errors = [r for r in records if isinstance(r, RowError)]
    assert [(r.ref, r.message) for r in errors] == [
        ("irccloud-export/oftc/notes.txt: line 1",
         "not an IRC log line (no timestamp recognised)"),
        ("irccloud-export/oftc/notes.txt", "no IRC log line found")]


KVIRC = """\
[23:58:00] alice [~alice@198.51.100.7] has joined #case
[23:58:01] <alice> hi
[23:58:02] carol has been kicked from #case by bob (flood)
"""


def test_kvirc_file_name_gives_network_channel_and_date(tmp_path: Path) -> None:
    path = write(tmp_path, "log/channel_#case.libera_2019.01.05.log", KVIRC)
    records = run(path)
    no_errors(records)
    msgs = [e for e in evs(records) if e.kind == "message"]
    assert [(sender(e), recipients(e), e.occurred_at) for e in msgs] == [
        (("alice", "irc:libera"), [("group", "#case")], datetime(2019, 1, 5, 23, 58, 1))]
    kick = evs(records)[-1]
    assert kick.properties["event"] == "kick"
    assert [(p.value, p.role) for p in kick.parties if p.kind == "account"] == [
        ("carol", "participant"), ("bob", "actor")]


def test_gzip_compressed_log(tmp_path: Path) -> None:
    path = tmp_path / "channel_#case.libera_2019.01.05.log.gz"
    path.write_bytes(gzip.compress(KVIRC.encode("utf-8")))
    claimed_only_by_irc(path)
    records = run(path)
    assert [(e.kind, e.occurred_at) for e in evs(records)][:2] == [
        ("system", datetime(2019, 1, 5, 23, 58)), ("message", datetime(2019, 1, 5, 23, 58, 1))]
    assert ip_links(records) == [("alice", "198.51.100.7")]


def test_konversation_bracketed_command_column_with_spaces(tmp_path: Path) -> None:
    path = write(tmp_path, "#case.log", (
        "[23:58:00] [Join]  alice has joined this channel (~alice@198.51.100.7).\n"
        "[23:58:01] <alice>\thi\n"
        "[23:58:02] [Kick]  carol has been kicked from the channel by bob (flood).\n"))
    records = run(path)
    no_errors(records)
    assert [e.properties.get("event") for e in evs(records)] == ["join", None, "kick"]
    assert isinstance(records[0], ParsedEvent) and ip_links(records) == [
        ("alice", "198.51.100.7")]


COLLOQUY = """\
<?xml version="1.0" encoding="UTF-8"?>
<log began="2019-01-05 23:58:00 +0100" source="irc://irc.libera.chat/%23case">
<event id="e1" name="memberJoined" occurred="2019-01-05 23:58:01 +0100"><message>\
<span class="member">alice</span> joined the chat room.</message>\
<who hostmask="~alice@198.51.100.7">alice</who></event>
<envelope><sender nickname="alice" hostmask="~alice@198.51.100.7">alice</sender>\
<message id="m1" received="2019-01-05 23:58:05 +0100">meet at <b>nine</b></message>\
<message id="m2" received="2019-01-05 23:58:09 +0100" action="yes">waves</message></envelope>
<envelope><sender self="yes" nickname="agent7">agent7</sender>\
<message id="m3" received="2019-01-06 00:00:01 +0100">ok</message></envelope>
<event id="e2" name="memberNewNickname" occurred="2019-01-06 00:01:00 +0100"><message>\
<span class="member">alice</span> is now known as <span class="member">alice_</span>.\
</message></event>
</log>
"""


def test_colloquy_transcript(tmp_path: Path) -> None:
    path = write(tmp_path, "Colloquy Transcripts/#case 01-05-19.colloquyTranscript", COLLOQUY)
    claimed_only_by_irc(path)
    records = run(path)
    no_errors(records)
    cet = timezone(timedelta(hours=1))
    assert events_of(records) == [
        ("system", datetime(2019, 1, 5, 23, 58, 1, tzinfo=cet), "join", None, None),
        ("message", datetime(2019, 1, 5, 23, 58, 5, tzinfo=cet), None,
         ("alice", "irc:irc.libera.chat"), "meet at nine"),
        ("message", datetime(2019, 1, 5, 23, 58, 9, tzinfo=cet), None,
         ("alice", "irc:irc.libera.chat"), "waves"),
        ("message", datetime(2019, 1, 6, 0, 0, 1, tzinfo=cet), None,
         ("agent7", "irc:irc.libera.chat"), "ok"),
        ("system", datetime(2019, 1, 6, 0, 1, tzinfo=cet), "nick", None, None),
    ]
    msgs = [e for e in evs(records) if e.kind == "message"]
    assert msgs[1].properties["action"] is True and msgs[2].properties["own"] is True
    assert all(recipients(e) == [("group", "#case")] for e in msgs)
    assert ip_links(records) == [("alice", "198.51.100.7")]
    assert renames(records) == [("alice", "alice_")]
