"""IRC and IM client logs beyond the IRC clients: Pidgin (text and HTML), Adium (XML),
Konversation, irssi with an offset, The Lounge (structures of real logs; people synthetic)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from workstation.ingest.chat import PARSERS
from workstation.ingest.chat.irc import IrcLogParser
from workstation.ingest.records import ImportOptions, ParsedEntity, ParsedEvent, ParseError

P = IrcLogParser()
EST = timezone(timedelta(hours=-5))


def run(path: Path, **opts: object) -> list:
    return list(P.parse(path, ImportOptions(**opts)))  # type: ignore[arg-type]


def evs(records: list) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent)]


def sender(e: ParsedEvent) -> tuple[str, str | None] | None:
    p = next((p for p in e.parties if p.role == "sender"), None)
    return (p.value, p.platform) if p else None


def recipients(e: ParsedEvent) -> list[tuple[str, str]]:
    return [(p.kind, p.value) for p in e.parties if p.role == "recipient"]


def write(base: Path, rel: str, text: str) -> Path:
    path = base / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def claimed_only_by_irc(path: Path) -> None:
    head = path.read_bytes()[:65536]
    scores = {p.name: p.sniff(path, head) for p in PARSERS}
    assert scores["irc_log"] >= 0.8, scores
    assert all(v < 0.5 for k, v in scores.items() if k != "irc_log"), scores


PIDGIN_IRC_TXT = """\
Conversation with #case at Mon 01 Jan 2024 11:58:02 PM EST on agent7@irc.example.org (irc)
(11:58:02 PM) The topic for #case is: evidence room
(11:58:10 PM) carol entered the room.
(11:59:01 PM) carol: anyone here?
(11:59:30 PM) agent7: yes
(11:59:45 PM) ***carol waves
(12:00:20 AM) dave: the drop is at
pier 9, not pier 4
(12:01:00 AM) carol is now known as carol_
(12:02:00 AM) carol_ left the room (quit: Ping timeout: 240 seconds).
"""


def test_pidgin_text_irc_log_dates_each_line_from_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "logs/irc/agent7@irc.example.org/#case.chat/"
                           "2024-01-01.235802-0500EST.txt", PIDGIN_IRC_TXT)
    claimed_only_by_irc(path)
    records = run(path)
    events = evs(records)
    msgs = [e for e in events if e.kind == "message"]
    assert [(sender(e), e.occurred_at, e.body) for e in msgs] == [
        (("carol", "irc:irc.example.org"), datetime(2024, 1, 1, 23, 59, 1, tzinfo=EST),
         "anyone here?"),
        (("agent7", "irc:irc.example.org"), datetime(2024, 1, 1, 23, 59, 30, tzinfo=EST), "yes"),
        (("carol", "irc:irc.example.org"), datetime(2024, 1, 1, 23, 59, 45, tzinfo=EST),
         "waves"),
        # 12 AM after 11 PM: the next day; the second line continues the message.
        (("dave", "irc:irc.example.org"), datetime(2024, 1, 2, 0, 0, 20, tzinfo=EST),
         "the drop is at\npier 9, not pier 4"),
    ]
    assert msgs[2].properties["action"] is True
    assert all(recipients(e) == [("group", "#case")] for e in msgs)
    system = [e for e in events if e.kind == "system"]
    assert [e.properties.get("event") for e in system] == [None, "join", "nick", "part"]
    # "(quit: Ping timeout...)" holds ": " but is not a message from "carol_ left the room".
    assert system[-1].body == "carol_ left the room (quit: Ping timeout: 240 seconds)."
    assert [p.value for p in system[-1].parties if p.kind == "account"] == ["carol_"]
    assert not [r for r in records if not isinstance(r, (ParsedEvent, ParsedEntity))]


PIDGIN_AIM_TXT = """\
Conversation with Night Owl 42 at Tue 05 Mar 2024 09:15:00 PST on casefile agent (aim)
(09:15:00) casefile agent: did you get the package?
(09:15:40) NightOwl42: yes, all 3
(2024-03-04 22:10:00) NightOwl42: sent this while you were offline
(09:16:02) NightOwl42 <AUTO-REPLY>: I am away from my computer
(09:16:10) NightOwl42 has gone away.
"""


def test_pidgin_text_aim_log_keys_accounts_on_aim_from_the_header(tmp_path: Path) -> None:
    # No date in the file name: the header's date, times naive, the zone kept.
    path = write(tmp_path, "nightowl42-conversation.txt", PIDGIN_AIM_TXT)
    claimed_only_by_irc(path)
    events = evs(run(path))
    msgs = [e for e in events if e.kind == "message"]
    # AIM screen names ignore case and spaces: "Night Owl 42" is account "nightowl42".
    assert [(sender(e), recipients(e), e.occurred_at, e.body) for e in msgs] == [
        (("casefileagent", "aim"), [("account", "nightowl42")],
         datetime(2024, 3, 5, 9, 15), "did you get the package?"),
        (("nightowl42", "aim"), [("account", "casefileagent")],
         datetime(2024, 3, 5, 9, 15, 40), "yes, all 3"),
        (("nightowl42", "aim"), [("account", "casefileagent")],
         datetime(2024, 3, 4, 22, 10), "sent this while you were offline"),
        (("nightowl42", "aim"), [("account", "casefileagent")],
         datetime(2024, 3, 5, 9, 16, 2), "I am away from my computer"),
    ]
    assert msgs[2].properties["delayed"] is True
    assert msgs[3].properties["auto_reply"] is True
    assert all(e.properties["zone"] == "PST" and e.properties["channel"] == "im"
               for e in msgs)
    assert events[-1].kind == "system" and events[-1].body == "NightOwl42 has gone away."


PIDGIN_XMPP_HTML = (
    '<html><head><meta http-equiv="content-type" content="text/html; charset=UTF-8">'
    "<title>Conversation with fence@chat.example.net at Sun 10 Nov 2019 10:00:00 PM CET on "
    "courier@example.org/laptop (jabber)</title></head><body><h3>Conversation with "
    "fence@chat.example.net at Sun 10 Nov 2019 10:00:00 PM CET on courier@example.org/laptop "
    "(jabber)</h3>\n"
    '<font color="#16569E"><font size="2">(10:00:05 PM)</font> <b>Courier Joe:</b></font> '
    "price &gt; 400?<br/>\n"
    '<font color="#A82F2F"><font size="2">(11:59:58 PM)</font> <b>Fence:</b></font> '
    '<span style="font-family: Helvetica;">no<br/>350 max</span><br/>\n'
    '<font size="2">(12:00:30 AM)</font><b> Fence has signed off.</b><br/>\n'
    '<font color="#A82F2F"><font size="2">(12:01:00 AM)</font> <b>Fence &lt;AUTO-REPLY&gt;:'
    "</b></font> offline<br/>\n"
    "</body></html>\n")


def test_pidgin_html_xmpp_log_maps_aliases_by_direction(tmp_path: Path) -> None:
    path = write(tmp_path, "logs/jabber/courier@example.org/fence@chat.example.net/"
                           "2019-11-10.220000+0100CET.html", PIDGIN_XMPP_HTML)
    claimed_only_by_irc(path)
    cet = timezone(timedelta(hours=1))
    events = evs(run(path))
    assert [(e.kind, sender(e), recipients(e), e.occurred_at, e.body) for e in events] == [
        # Sent (blue) is the log's own account, received (red) the buddy; a bare JID.
        ("message", ("courier@example.org", "xmpp"), [("account", "fence@chat.example.net")],
         datetime(2019, 11, 10, 22, 0, 5, tzinfo=cet), "price > 400?"),
        ("message", ("fence@chat.example.net", "xmpp"), [("account", "courier@example.org")],
         datetime(2019, 11, 10, 23, 59, 58, tzinfo=cet), "no\n350 max"),
        ("system", None, [], datetime(2019, 11, 11, 0, 0, 30, tzinfo=cet),
         "Fence has signed off."),
        ("message", ("fence@chat.example.net", "xmpp"), [("account", "courier@example.org")],
         datetime(2019, 11, 11, 0, 1, tzinfo=cet), "offline"),
    ]
    labels = {p.value: p.label for e in events for p in e.parties if p.role == "sender"}
    assert labels == {"courier@example.org": "Courier Joe", "fence@chat.example.net": "Fence"}
    assert events[-1].properties["auto_reply"] is True


ADIUM_ICQ = """\
<?xml version="1.0" encoding="UTF-8" ?>
<chat xmlns="http://purl.org/net/ulf/ns/0.4-02" account="555010001" service="ICQ">\
<event type="windowOpened" sender="555010001" time="2008-06-01T21:14:05+02:00"/>
<message sender="555010002" time="2008-06-01T21:14:05+02:00" alias="Mara"><div>\
<span style="color: #000000;">meet at the <b>old</b> mill</span></div></message>
<message sender="555010001" time="2008-06-01T21:15:40+02:00"><div><span>ok&apos; 10pm\
</span></div></message>
<status type="offline" sender="555010002" time="2008-06-01T21:20:00+02:00"/>
</chat>
"""


def test_adium_chatlog_bundle_on_icq(tmp_path: Path) -> None:
    # Adium 1.x: "<buddy> (<stamp>).chatlog" is a folder holding the XML of the same name.
    rel = ("Logs/ICQ.555010001/555010002/555010002 (2008-06-01T21.14.05+0200).chatlog/"
           "555010002 (2008-06-01T21.14.05+0200).xml")
    path = write(tmp_path, rel, ADIUM_ICQ)
    claimed_only_by_irc(path)
    cest = timezone(timedelta(hours=2))
    events = evs(run(path))
    msgs = [e for e in events if e.kind == "message"]
    assert [(sender(e), recipients(e), e.occurred_at, e.body) for e in msgs] == [
        (("555010002", "icq"), [("account", "555010001")],
         datetime(2008, 6, 1, 21, 14, 5, tzinfo=cest), "meet at the old mill"),
        (("555010001", "icq"), [("account", "555010002")],
         datetime(2008, 6, 1, 21, 15, 40, tzinfo=cest), "ok' 10pm"),
    ]
    assert msgs[0].properties["alias"] == "Mara"
    assert [(e.properties["event"], e.occurred_at) for e in events if e.kind == "system"] == [
        ("windowOpened", datetime(2008, 6, 1, 21, 14, 5, tzinfo=cest)),
        ("offline", datetime(2008, 6, 1, 21, 20, tzinfo=cest))]


def test_broken_adium_xml_is_a_parse_error_naming_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "x (2008-06-01T21.14.05+0200).chatlog",
                 ADIUM_ICQ.replace("</message>\n<status", "</messag>\n<status"))
    with pytest.raises(ParseError) as exc:
        run(path)
    assert str(path) in str(exc.value) and "line 4 column" in str(exc.value)


KONVERSATION = """\

*** Logfile started
*** on Mon Jan 1 23:59:00 2024

[Monday 01 January 2024] [23:59:10] [Join]\tcarol has joined this channel (~carol@198.51.100.4).
[Monday 01 January 2024] [23:59:30] <carol>\thello there
[Tuesday 02 January 2024] [00:00:05] * carol\twaves
[Tue Jan 2 2024] [01:02:03 PM] <dave>\tlater
"""


def test_konversation_lines_carry_their_own_date(tmp_path: Path) -> None:
    path = write(tmp_path, "libera_#case.log", KONVERSATION)
    claimed_only_by_irc(path)
    records = run(path)
    events = evs(records)
    assert [(e.kind, sender(e), e.occurred_at, e.body if e.kind == "message" else None)
            for e in events] == [
        ("system", None, datetime(2024, 1, 1, 23, 59, 10), None),
        ("message", ("carol", "irc:libera"), datetime(2024, 1, 1, 23, 59, 30), "hello there"),
        ("message", ("carol", "irc:libera"), datetime(2024, 1, 2, 0, 0, 5), "waves"),
        ("message", ("dave", "irc:libera"), datetime(2024, 1, 2, 13, 2, 3), "later"),
    ]
    join = events[0]
    assert join.properties["event"] == "join"
    assert {(p.kind, p.value) for p in join.parties} >= {("account", "carol"),
                                                         ("ip", "198.51.100.4")}


def test_irssi_offset_stamp_glued_to_the_nick_and_the_lounge_quits(tmp_path: Path) -> None:
    irssi = write(tmp_path, "case.log", (
        "--- Log opened Wed Mar 15 17:41:27 2017\n"
        "2017-03-15 17:41 -0500<erin> meet me downstairs\n"
        "2017-03-15 17:44 -0500<frank> ok\n"))
    claimed_only_by_irc(irssi)
    assert [(sender(e), e.occurred_at, e.body) for e in evs(run(irssi))] == [
        (("erin", "irc"), datetime(2017, 3, 15, 17, 41, tzinfo=EST), "meet me downstairs"),
        (("frank", "irc"), datetime(2017, 3, 15, 17, 44, tzinfo=EST), "ok")]
    lounge = write(tmp_path, "oftc/#case.log", (
        "[2021-03-29T14:09:34.402Z] *** gina (~gina@192.0.2.55) quit (Server closed "
        "connection)\n"
        "[2021-03-29T14:10:01.000Z] <hank> she dropped\n"))
    events = evs(run(lounge))
    assert events[0].properties["event"] == "quit"
    assert {(p.kind, p.value) for p in events[0].parties} >= {("account", "gina"),
                                                              ("ip", "192.0.2.55")}


EGGDROP = """\
[23:58] gina (~gina@192.0.2.55) joined #case.
[23:59] <gina> anyone?
[23:59] Action: gina waves
[00:00] --- Tue Jan  2 2024
[00:01] Nick change: gina -> gina_
[00:02] gina_ (~gina@192.0.2.55) left irc: Client closed
[00:03] hank kicked from #case by ops: flood
"""


def test_eggdrop_log_named_by_its_day_suffix(tmp_path: Path) -> None:
    path = write(tmp_path, "logs/#case.log.01Jan2024", EGGDROP)
    records = run(path)
    events = evs(records)
    assert not [r for r in records if not isinstance(r, (ParsedEvent, ParsedEntity))]
    assert [(e.kind, e.occurred_at, e.properties.get("event"), sender(e)) for e in events] == [
        ("system", datetime(2024, 1, 1, 23, 58), "join", None),
        ("message", datetime(2024, 1, 1, 23, 59), None, ("gina", "irc")),
        ("message", datetime(2024, 1, 1, 23, 59), None, ("gina", "irc")),
        ("system", datetime(2024, 1, 2, 0, 1), "nick", None),
        ("system", datetime(2024, 1, 2, 0, 2), "quit", None),
        ("system", datetime(2024, 1, 2, 0, 3), "kick", None),
    ]
    assert events[2].properties["action"] is True and events[2].body == "waves"
    assert all(recipients(e) == [("group", "#case")] for e in events if e.kind == "message")
    renamed = [r for r in records if isinstance(r, ParsedEntity)
               and r.links and r.links[0].kind == "same_as"]
    assert [(r.links[0].src.value, r.links[0].dst.value) for r in renamed] == [("gina", "gina_")]
