"""Instant-messenger client logs: Pidgin/libpurple (plain text and HTML), Adium (XML) and
Colloquy (XML transcripts).

These clients logged every protocol they spoke (IRC, AIM, ICQ, Jabber/XMPP, Google Talk,
Yahoo!, MSN, Facebook chat...), one file per conversation window. They are read by the
IRC log importer (:class:`workstation.ingest.chat.irc.IrcLogParser` hands such a file to
:func:`parse`), and the platform of every account is the protocol the log names, so
``aimbuddy`` on AIM and ``aimbuddy`` on ICQ stay two accounts.

Pidgin (``logs/<protocol>/<account>/<buddy or chat>.chat/<date>.<time><offset><zone>.txt``)

* first line ``Conversation with <buddy> at <date> on <account> (<protocol>)``; in HTML
  logs the same sentence is the ``<title>`` and an ``<h3>``;
* then one line per entry: ``(12:34:56) alias: text``, ``(12:34:56 PM) ...`` (the
  machine's 12-hour clock), ``(2011-12-09 01:24:03) ...`` or ``(12/09/2011 01:24:03 AM)``
  (a date on the line: an offline message delivered late), ``(..) ***nick action``,
  ``(..) alias <AUTO-REPLY>: text``, ``(..) system text`` ("x entered the room.");
  continuation lines of a multi-line text follow without a time;
* HTML: ``<font color="#A82F2F"><font size="2">(time)</font> <b>alias:</b></font> text``
  (received; ``#16569E`` sent, ``#062585`` action, ``#FF0000`` error), system lines in a
  bare ``<font size="2">(time)</font><b> text</b>``; ``<span>`` wrappers are accepted too.

Lines carry a time only. The date (and the UTC offset) comes from the file name, else from
the header; a time earlier than the previous line's by over an hour means midnight passed.
With an offset in the file name times are aware; otherwise they are naive (the import's
timezone option places them) and the zone abbreviation is kept in ``properties["zone"]``.

Pidgin logs a sender's *alias* (display name), not the account: in a one-to-one log the
alias is mapped to the log's own account or the buddy when it equals either (or, in HTML,
by the sent/received colour); otherwise the alias itself is the account value and
``properties["alias_only"]`` says so. In a chat log (``.chat`` folder, an IRC channel)
the nick is the account.

Adium (``<name> (2007-03-25T12.31.28-0400).chatlog``, an XML file or a folder holding one)

* ``<chat account=".." service="AIM|ICQ|GTalk|Jabber|Yahoo!|MSN|Facebook|IRC">`` holding
  ``<message sender time alias [auto]>`` with XHTML text, ``<status type sender time>``
  and ``<event type sender time>``; every time carries its offset.

Colloquy (``<channel or nick> <mm-dd-yy>.colloquyTranscript``, Mac IRC client)

* ``<log began=".." source="irc://server/%23chan">`` holding ``<envelope>`` elements (a
  ``<sender nickname hostmask [self="yes"]>`` then its ``<message received=".."
  [action="yes"]>`` XHTML texts) and ``<event name="memberJoined|memberParted|..."
  occurred="..">`` notices (a ``<message>`` sentence; the member's ``hostmask`` on a child).
  Times are "2009-01-05 12:00:05 +0100" (with offset). The platform is ``irc:<server>``;
  a hostmask naming an IP links the nick to it (``uses``), and a nick change states
  ``same_as``, as in the IRC log importer.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from workstation.ingest.chat._common import (
    account,
    check_size,
    group,
    head_text,
    html_to_text,
    looks_binary,
)
from workstation.ingest.records import (
    ImportOptions,
    ParsedEntity,
    ParsedEvent,
    ParseError,
    ParsedLink,
    Party,
    Record,
    RowError,
    read_head,
)

#: Largest Pidgin HTML / Adium XML log read in one piece (one conversation window each).
MAX_LOG_BYTES = 256 * 1024 * 1024

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"

_HEADER = re.compile(
    r"^Conversation with (?P<who>.+?) at (?P<date>.+?) on (?P<acct>.*?) "
    r"\((?P<proto>[A-Za-z0-9_!. -]{1,32})\)\s*$")
_HTML_HEADER = re.compile(r"<title>\s*(?P<h>Conversation with .*?)\s*</title>", re.I | re.S)
_ADIUM_ROOT = re.compile(r"<chat\b[^>]*\b(?:xmlns=\"http://purl\.org/net/ulf/ns/0\.4-0\d\"|"
                         r"service=)[^>]*>", re.S)
_ADIUM_ROOT_ACCOUNT = re.compile(r"<chat\b[^>]*\baccount=", re.S)
_COLLOQUY_ROOT = re.compile(r"<log\b[^>]*\b(?:began|source)=\"", re.S)
_COLLOQUY_EVENTS = {"memberjoined": "join", "memberparted": "part", "memberquit": "quit",
                    "membernewnickname": "nick", "memberkicked": "kick",
                    "topicchanged": "topic", "membermodechanged": "mode"}

# "2011-12-09.011343-0800PST.txt", "2024-01-01.123456+0100CET.html", Windows zone names.
_NAME_STAMP = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})\.(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})"
    r"(?P<off>[+-]\d{4})?(?P<zone>[^./\\]*)\.(?:txt|html?)$", re.I)
# Adium: "buddy (2007-03-25T12.31.28-0400).chatlog" / ".xml".
_ADIUM_NAME = re.compile(r"^(?P<who>.+?) \((?P<stamp>\d{4}-\d{2}-\d{2}T[\d.]+[+-]?\d*)\)")

_CLOCK = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?: ?(?P<ap>[AaPp]\.?[Mm]\.?))?"
_HEADER_DATES = (
    # "Fri 09 Dec 2011 01:13:43 PM PST" (en_US %c), "Fri, 09 Dec 2011 ..."
    re.compile(rf"(?P<d>\d{{1,2}})\.? (?P<mon>{_MON}) (?P<y>\d{{4}})(?:,? {_CLOCK})?", re.I),
    # "Fri Dec  9 01:13:43 2011" (C locale %c), "Dec 9, 2011 1:13:43 AM"
    re.compile(rf"(?P<mon>{_MON}) +(?P<d>\d{{1,2}}),?(?: {_CLOCK})? (?P<y>\d{{4}})", re.I),
    re.compile(rf"(?P<mon>{_MON}) +(?P<d>\d{{1,2}}),? (?P<y>\d{{4}})(?:,? {_CLOCK})?", re.I),
    re.compile(rf"(?P<y>\d{{4}})-(?P<m>\d{{2}})-(?P<d>\d{{2}})(?:[ T]{_CLOCK})?"),
    re.compile(rf"(?P<m>\d{{1,2}})/(?P<d>\d{{1,2}})/(?P<y>\d{{2,4}})(?:,? {_CLOCK})?"),
    re.compile(rf"(?P<d>\d{{1,2}})\.(?P<m>\d{{1,2}})\.(?P<y>\d{{2,4}})(?:,? {_CLOCK})?"),
)
_ZONE_WORD = re.compile(r"(?:\d|[AaPp][Mm])\s+(?P<z>[A-Z]{2,5}|[+-]\d{4})\s*$")

# "(12:34:56)", "(1:02:03 PM)", "(2011-12-09 01:24:03)", "(12/09/2011 01:24:03 AM)".
_LINE_STAMP = re.compile(
    r"^\((?:(?P<date>\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})[ T])?"
    rf"{_CLOCK}\) ?(?P<rest>.*)$", re.S)

# What libpurple writes for presence and room changes: never "alias: text" messages even
# when they hold a ": " ("x left the room (quit: bye).").
_SYSTEM_TEXT = re.compile(
    r"^(?P<nick>.+?) (?:entered the room|left the room|has joined|has left|has quit|"
    r"is now known as|has gone away|is no longer away|has become idle|is no longer idle|"
    r"signed on|signed off|logged in|logged out|has changed the topic to|"
    r"has set the topic to|is mobile|is no longer mobile|has been kicked|was kicked|"
    r"kicked |changed status|has closed the conversation|is typing)\b", re.S)
_SYSTEM_START = re.compile(
    r"^(?:The topic for |mode \(|You are now known as |You have been kicked|"
    r"Unable to send message|A message may not have been sent|Topic for |"
    r"The following message received from |Auto-response|OTR )", re.S)
_NICK_CHANGE = re.compile(r"^(?P<old>\S+) is now known as (?P<new>\S+?)\.?$")
_ROOM = re.compile(r"^(?P<nick>\S+) (?:\[(?P<mask>[^\]]*)\] )?(?P<verb>entered|left) the room")

# HTML entry starts: an optional colour wrapper, then the small-print time.
_HTML_ENTRY = re.compile(
    r"(?:<(?:font|span)\s+(?:color=\"(?P<c1>#[0-9A-Fa-f]{6})\"|style=\"color:\s*"
    r"(?P<c2>#[0-9A-Fa-f]{6});?\")\s*>\s*)?"
    r"<(?:font\s+size=\"2\"|span\s+style=\"font-size:\s*smaller;?\")\s*>\s*"
    r"\((?P<ts>[^()<]{4,40})\)\s*</(?:font|span)>", re.I)
_HTML_BOLD = re.compile(r"^\s*<b>(?P<b>.*?)</b>\s*(?:</(?:font|span)>)?(?P<rest>.*)$",
                        re.S | re.I)
_SENT, _RECEIVED, _ACTION_COLOUR, _WHISPER, _ERROR = (
    "#16569e", "#a82f2f", "#062585", "#6c2585", "#ff0000")

# Service names as written by Pidgin (prpl icon names) and Adium, to one platform each.
_PLATFORMS = {
    "jabber": "xmpp", "xmpp": "xmpp", "gtalk": "xmpp", "google talk": "xmpp",
    "aim": "aim", "icq": "icq", "yahoo": "yahoo", "yahoo!": "yahoo", "yahoojapan": "yahoo",
    "msn": "msn", "facebook": "facebook", "irc": "irc", "gadu-gadu": "gadu-gadu",
    "gg": "gadu-gadu", "mobileme": "aim", "mac": "aim", "dotmac": "aim",
}


def _platform(proto: str) -> str:
    p = proto.strip().lower()
    return _PLATFORMS.get(p, p or "im")


def _norm(value: str, platform: str) -> str:
    """An account identifier as the service compares them."""
    v = value.strip()
    if platform in ("aim", "icq"):
        return v.replace(" ", "").lower()
    if platform in ("xmpp", "facebook", "msn", "yahoo"):
        return v.split("/", 1)[0].lower()  # bare JID: a resource is one device, not the user
    return v


def detect(head: bytes) -> str | None:
    """"pidgin_txt", "pidgin_html" or "adium_xml" for the start of such a log, else None."""
    text = head_text(head)
    if not text:
        return None
    start = text.lstrip()[:4096]
    first = start.split("\n", 1)[0].rstrip("\r")
    if _HEADER.match(first):
        return "pidgin_txt"
    low = start[:2048].lower()
    if low.startswith(("<html", "<!doctype")) and _HTML_HEADER.search(start) and \
            _HEADER.match(html.unescape(_HTML_HEADER.search(start)["h"])):  # type: ignore[index]
        return "pidgin_html"
    if (low.startswith("<?xml") or low.startswith("<chat")) and _ADIUM_ROOT.search(start) and \
            _ADIUM_ROOT_ACCOUNT.search(start):
        return "adium_xml"
    if (low.startswith("<?xml") or low.startswith("<log")) and _COLLOQUY_ROOT.search(start) and \
            re.search(r"<(?:envelope|event)\b", start):
        return "colloquy_xml"
    return None


def sniff(head: bytes) -> float:
    return 0.95 if detect(head) else 0.0


def _clock(m: re.Match[str]) -> time | None:
    if m["h"] is None:
        return None
    h, mi = int(m["h"]), int(m["mi"])
    s = int(m["s"]) if m["s"] else 0
    ap = m["ap"]
    if ap:
        if not 1 <= h <= 12:
            return None
        h = (h % 12) + (12 if ap[0] in "pP" else 0)
    if h > 23 or mi > 59 or s > 60:
        return None
    return time(h, mi, min(s, 59))


def _ymd(y: str, mo: int, d: str) -> date | None:
    year = int(y)
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        return date(year, mo, int(d))
    except ValueError:
        return None


def header_start(text: str) -> tuple[datetime | None, str | None]:
    """(start, zone abbreviation) from a header's date as the machine's locale wrote it."""
    zone = _ZONE_WORD.search(text)
    for rx in _HEADER_DATES:
        m = rx.search(text)
        if not m:
            continue
        gd = m.groupdict()
        if gd.get("mon"):
            mo = _MONTHS.get(gd["mon"].lower()[:3])
        else:
            mo = int(gd["m"])
            if rx.pattern.startswith("(?P<m>") and mo > 12 >= int(gd["d"]):  # D/M/Y
                mo, gd = int(gd["d"]), {**gd, "d": gd["m"]}
        if not mo:
            continue
        day = _ymd(gd["y"], mo, gd["d"])
        if day is None:
            continue
        clock = _clock(m) if gd.get("h") else time(0, 0)
        return datetime.combine(day, clock or time(0, 0)), (zone["z"] if zone else None)
    return None, (zone["z"] if zone else None)


@dataclass
class _Conv:
    """What a log says about its conversation."""

    platform: str
    name: str  # buddy, room or channel as the log names it
    owner: str | None  # the log's own account
    is_chat: bool
    network: str | None = None
    start: datetime | None = None
    zone: str | None = None
    base: dict[str, Any] = field(default_factory=dict)
    conv_party: Party | None = None
    owner_party: Party | None = None
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> account value


def _conversation(path: Path, who: str, acct: str, proto: str, header_date: str | None,
                  options: ImportOptions) -> _Conv:
    platform = _platform(proto)
    profile = options.profile or {}
    owner = acct.strip().rstrip("/") or None
    network = profile.get("network")
    if platform == "irc" and owner and "@" in owner:
        owner, _, server = owner.partition("@")  # "nick@irc.libera.chat"
        network = network or server
    if platform == "irc" and network:
        platform = f"irc:{network}"
    is_chat = path.parent.name.lower().endswith(".chat") or who[:1] in "#&" or \
        any(f"@{room}." in who for room in ("conference", "groupchat", "muc", "rooms"))
    conv = _Conv(platform=platform, name=who, owner=owner, is_chat=is_chat, network=network)
    m = _NAME_STAMP.search(path.name)
    if m:
        try:
            start = datetime(int(m["y"]), int(m["mo"]), int(m["d"]), int(m["h"]),
                             int(m["mi"]), int(m["s"]))
        except ValueError:
            start = None
        if start is not None:
            if m["off"]:
                off = m["off"]
                delta = timedelta(hours=int(off[1:3]), minutes=int(off[3:5]))
                start = start.replace(tzinfo=timezone(-delta if off[0] == "-" else delta))
            conv.start = start
            conv.zone = (m["zone"] or "").replace("%20", " ").strip() or None
    if header_date:
        hdr_start, hdr_zone = header_start(header_date)
        if conv.start is None:
            conv.start = hdr_start
        conv.zone = conv.zone or hdr_zone
    conv.base = {"channel": "im" if not platform.startswith("irc") else "irc",
                 "client": "pidgin", "conversation": who, "service": proto}
    if platform.startswith("irc") and network:
        conv.base["network"] = network
    if conv.zone and (conv.start is None or conv.start.tzinfo is None):
        conv.base["zone"] = conv.zone
    if is_chat:
        conv.conv_party = group(who, who, platform)
    else:
        conv.conv_party = account(_norm(who, platform), who, platform, "recipient")
    if owner:
        conv.owner_party = account(_norm(owner, platform), owner, platform, "recipient")
    return conv


def _local(value: str) -> str:
    return re.split(r"[@/]", value, maxsplit=1)[0].lower()


def _sender(conv: _Conv, alias: str, colour: str | None) -> tuple[Party, bool]:
    """The sender's account party for an alias; True when only the alias is known."""
    alias = alias.strip()
    plat = conv.platform
    if conv.is_chat:
        return account(_norm(alias, plat), alias, plat, "sender"), False
    if alias in conv.aliases:
        return account(conv.aliases[alias], alias, plat, "sender"), False
    buddy, owner = conv.name, conv.owner
    value: str | None = None
    low = alias.lower()
    if colour == _SENT and owner:
        value = _norm(owner, plat)
    elif colour == _RECEIVED:
        value = _norm(buddy, plat)
    elif _norm(alias, plat) == _norm(buddy, plat) or low == _local(buddy):
        value = _norm(buddy, plat)
    elif owner and (_norm(alias, plat) == _norm(owner, plat) or low == _local(owner)):
        value = _norm(owner, plat)
    if value is None:
        return account(_norm(alias, plat), alias, plat, "sender"), True
    conv.aliases[alias] = value
    return account(value, alias, plat, "sender"), False


def _recipients(conv: _Conv, sender: Party) -> list[Party]:
    if conv.is_chat:
        return [conv.conv_party] if conv.conv_party else []
    out: list[Party] = []
    buddy = conv.conv_party
    own = conv.owner_party
    if buddy is not None and sender.value != buddy.value:
        out.append(buddy)
    if own is not None and sender.value != own.value and \
            (buddy is None or sender.value == buddy.value):
        out.append(own)
    return out


class _Clock:
    """Turns line times into datetimes: the log's start date, midnight rollovers."""

    def __init__(self, conv: _Conv) -> None:
        self.conv = conv
        self.last: datetime | None = conv.start

    def when(self, stamp: re.Match[str], props: dict[str, Any]) -> datetime | None:
        c = _clock(stamp)
        if c is None:
            return None
        tz = self.conv.start.tzinfo if self.conv.start is not None else None
        if stamp["date"]:
            d = _line_date(stamp["date"])
            if d is not None:
                # A dated line is a message sent while offline and delivered late: its own
                # date, without moving the running clock.
                props["delayed"] = True
                return datetime.combine(d, c).replace(tzinfo=tz)
        if self.last is None:
            props["time"] = c.isoformat()
            return None
        when = datetime.combine(self.last.date(), c).replace(tzinfo=self.last.tzinfo)
        if when < self.last - timedelta(hours=1):
            when += timedelta(days=1)  # midnight passed
        self.last = when
        return when


def _line_date(text: str) -> date | None:
    if "-" in text:
        y, m, d = text.split("-")
        return _ymd(y, int(m), d)
    parts = re.split(r"[/.]", text)
    a, b, y = int(parts[0]), int(parts[1]), parts[2]
    if "." in text or a > 12:
        a, b = b, a  # day first
    return _ymd(y, a, str(b))


def _system(n: int, occurred: datetime | None, text: str, conv: _Conv,
            props: dict[str, Any]) -> ParsedEvent:
    parties: list[Party] = []
    plat = conv.platform
    m = _NICK_CHANGE.match(text)
    r = _ROOM.match(text)
    if m:
        props["event"] = "nick"
        parties += [account(_norm(m["old"], plat), m["old"], plat, "participant"),
                    account(_norm(m["new"], plat), m["new"], plat, "participant")]
    elif r:
        props["event"] = "join" if r["verb"] == "entered" else "part"
        parties.append(account(_norm(r["nick"], plat), r["nick"], plat, "participant"))
        if r["mask"]:
            props["hostmask"] = r["mask"]
    if parties and conv.conv_party is not None:
        parties.append(conv.conv_party)
    return ParsedEvent(kind="system", occurred_at=occurred, ref=f"line {n}", title=text,
                       body=text or None, parties=tuple(parties), properties=props)


def _message(n: int, occurred: datetime | None, who: str, text: str, conv: _Conv,
             props: dict[str, Any], colour: str | None = None) -> ParsedEvent:
    if who.endswith("<AUTO-REPLY>"):
        who = who[: -len("<AUTO-REPLY>")].rstrip()
        props["auto_reply"] = True
    sender, alias_only = _sender(conv, who, colour)
    if alias_only:
        props["alias_only"] = True
    parties = (sender, *_recipients(conv, sender))
    return ParsedEvent(kind="message", occurred_at=occurred, ref=f"line {n}", body=text,
                       parties=parties, properties=props)


def _entry(n: int, occurred: datetime | None, rest: str, conv: _Conv,
           props: dict[str, Any]) -> ParsedEvent:
    """One text-log entry after its time: message, action, whisper or system line."""
    if rest.startswith("***") and len(rest) > 3 and not rest.startswith("****"):
        nick, _, text = rest[3:].partition(" ")
        props["action"] = True
        return _message(n, occurred, nick, text, conv, props)
    if _SYSTEM_TEXT.match(rest) or _SYSTEM_START.match(rest):
        return _system(n, occurred, rest, conv, props)
    m = re.match(r"^\*(?P<who>[^*\s][^*]*)\* (?P<text>.*)$", rest, re.S)
    if m:
        props["whisper"] = True
        return _message(n, occurred, m["who"], m["text"], conv, props)
    who, sep, text = rest.partition(": ")
    if not sep and rest.endswith(":"):
        who, sep, text = rest[:-1], ":", ""
    if sep and who and len(who) <= 80 and "\n" not in who:
        return _message(n, occurred, who, text, conv, props)
    return _system(n, occurred, rest, conv, props)


def _read_text(path: Path, options: ImportOptions) -> str:
    check_size(path, MAX_LOG_BYTES, "instant-messenger logs")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=path) from exc
    if options.encoding:
        text = raw.decode(options.encoding, errors="replace")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
    text = text.lstrip("\ufeff")
    if looks_binary(text[:4096]):
        raise ParseError("binary data, not an instant-messenger log", file=path)
    return text


def parse(path: Path, options: ImportOptions) -> Iterator[Record]:
    """Records of a Pidgin or Adium log (ParseError when it is neither)."""
    path = Path(path)
    head = read_head(path)
    kind = detect(head)
    if kind == "pidgin_txt":
        yield from _pidgin_txt(path, options)
    elif kind == "pidgin_html":
        yield from _pidgin_html(path, options)
    elif kind == "adium_xml":
        yield from _adium(path, options)
    elif kind == "colloquy_xml":
        yield from _colloquy(path, options)
    else:
        raise ParseError("not a Pidgin, Adium or Colloquy log", file=path)


def _pidgin_txt(path: Path, options: ImportOptions) -> Iterator[Record]:
    text = _read_text(path, options)
    lines = text.splitlines()
    hm = _HEADER.match(lines[0].rstrip()) if lines else None
    if hm is None:
        raise ParseError("not a Pidgin log: the first line is not \"Conversation with ... "
                         "at ... on ... (protocol)\"", file=path, ref="line 1")
    conv = _conversation(path, hm["who"], hm["acct"], hm["proto"], hm["date"], options)
    clock = _Clock(conv)
    pending: tuple[int, datetime | None, list[str], dict[str, Any]] | None = None

    def flush() -> Iterator[Record]:
        if pending is not None:
            n, when, parts, props = pending
            yield _entry(n, when, "\n".join(parts).rstrip(), conv, props)

    for n, line in enumerate(lines[1:], 2):
        m = _LINE_STAMP.match(line)
        if m is None or _clock(m) is None:
            if pending is not None:
                pending[2].append(line)  # the next line of a multi-line text
            elif line.strip():
                yield RowError(ref=f"line {n}", field=None,
                               message="not a Pidgin log entry (no \"(time)\" in front)")
            continue
        yield from flush()
        props = dict(conv.base)
        pending = (n, clock.when(m, props), [m["rest"]], props)
    yield from flush()


def _pidgin_html(path: Path, options: ImportOptions) -> Iterator[Record]:
    text = _read_text(path, options)
    hm = _HTML_HEADER.search(text)
    header = _HEADER.match(html.unescape(hm["h"]).strip()) if hm else None
    if header is None:
        raise ParseError("not a Pidgin HTML log: no \"Conversation with ...\" title",
                         file=path, ref="line 1")
    conv = _conversation(path, header["who"], header["acct"], header["proto"],
                         header["date"], options)
    clock = _Clock(conv)
    body_at = text.find("</h3>")
    body_at = body_at + 5 if body_at >= 0 else hm.end()  # type: ignore[union-attr]
    starts = list(_HTML_ENTRY.finditer(text, body_at))
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        chunk = text[m.end():end]
        chunk = re.sub(r"(?is)</body>\s*</html>\s*$", "", chunk)
        n = text.count("\n", 0, m.start()) + 1
        stamp = _LINE_STAMP.match(f"({m['ts'].strip()})")
        props = dict(conv.base)
        if stamp is None or _clock(stamp) is None:
            yield RowError(ref=f"line {n}", field="time",
                           message=f"unreadable time {m['ts']!r} in a Pidgin log entry")
            continue
        when = clock.when(stamp, props)
        colour = (m["c1"] or m["c2"] or "").lower() or None
        b = _HTML_BOLD.match(chunk)
        if b is None:
            body = html_to_text(chunk)
            yield _system(n, when, body, conv, props)
            continue
        bold = html_to_text(b["b"])
        rest = html_to_text(b["rest"])
        if colour == _ERROR or colour is None and not bold.endswith(":"):
            props["error"] = colour == _ERROR or None
            if props["error"] is None:
                del props["error"]
            yield _system(n, when, " ".join(x for x in (bold, rest) if x), conv, props)
        elif bold.startswith("***"):
            props["action"] = True
            yield _message(n, when, bold[3:], rest, conv, props)
        elif colour == _WHISPER:
            props["whisper"] = True
            yield _message(n, when, bold.rstrip(":"), rest, conv, props)
        else:
            who = bold[:-1] if bold.endswith(":") else bold
            yield _message(n, when, who, rest, conv, props,
                           colour if colour in (_SENT, _RECEIVED) else None)


def _adium_text(elem: Any) -> str:
    from xml.etree.ElementTree import tostring

    inner = "".join(tostring(ch, encoding="unicode") for ch in elem)
    inner = html.escape(elem.text or "", quote=False) + inner
    inner = re.sub(r"<(/?)(?:html:)?(\w+)[^>]*?xmlns(?::\w+)?=\"[^\"]*\"", r"<\1\2", inner)
    return html_to_text(inner)


def _xml_root(path: Path, options: ImportOptions, what: str) -> Any:
    """The root element of an XML log (DTDs and entities refused)."""
    from xml.etree.ElementTree import ParseError as XmlError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    text = _read_text(path, options)
    try:
        return fromstring(re.sub(r"^<\?xml[^>]*\?>", "", text.lstrip()), forbid_dtd=True)
    except XmlError as exc:
        line, col = getattr(exc, "position", (0, 0))
        raise ParseError(f"invalid XML in {what}: {exc}", file=path,
                         ref=f"line {line} column {col + 1}") from None
    except DefusedXmlException as exc:
        raise ParseError(f"refused XML construct in {what} ({exc})", file=path) from None


def _colloquy_time(value: str | None) -> datetime | None:
    """A Colloquy time ("2009-01-05 12:00:05 +0100", or ISO 8601), None if unreadable."""
    if not value:
        return None
    text = value.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _mask_ip(mask: str | None) -> Party | None:
    import ipaddress

    host = (mask or "").rsplit("@", 1)[-1].strip()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return Party(kind="ip", value=host, role="participant")


def _colloquy(path: Path, options: ImportOptions) -> Iterator[Record]:
    from urllib.parse import unquote, urlsplit

    root = _xml_root(path, options, "a Colloquy transcript")
    if root.tag.rsplit("}", 1)[-1] != "log":
        raise ParseError("not a Colloquy transcript: the root element is not <log>", file=path)
    source = urlsplit(root.get("source") or "")
    scheme = (source.scheme or "irc").lower()
    host = source.hostname or ""
    platform = f"irc:{host}" if scheme in ("irc", "ircs") and host else \
        (scheme if scheme not in ("irc", "ircs") else "irc")
    target = unquote(source.path.lstrip("/")) or \
        re.sub(r" \d{1,2}-\d{1,2}-\d{2,4}$", "", path.stem)
    base: dict[str, Any] = {"channel": "irc" if platform.startswith("irc") else "im",
                            "client": "colloquy"}
    conv: Party | None = None
    if target:
        base["conversation"] = target
        conv = group(target, target, platform) if target[:1] in "#&!+" else \
            account(target, target, platform, "recipient")
    if host:
        base["network"] = host
    seen_ips: set[tuple[str, str]] = set()

    def uses(who: Party, mask: str | None, ref: str) -> Iterator[Record]:
        ip = _mask_ip(mask)
        if ip is not None and (who.value, ip.value) not in seen_ips:
            seen_ips.add((who.value, ip.value))
            yield ParsedEntity(party=who, ref=ref, links=(ParsedLink("uses", who, ip),))

    for i, el in enumerate(root, 1):
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "envelope":
            sender_el = next((c for c in el if c.tag.rsplit("}", 1)[-1] == "sender"), None)
            nick = ((sender_el.get("nickname") or sender_el.text or "").strip()
                    if sender_el is not None else "")
            mask = sender_el.get("hostmask") if sender_el is not None else None
            msgs = [c for c in el if c.tag.rsplit("}", 1)[-1] == "message"]
            for j, m in enumerate(msgs, 1):
                ref = f"envelope {i} message {j}"
                if not nick:
                    yield RowError(ref=ref, field="sender",
                                   message="Colloquy <envelope> without a sender nickname")
                    continue
                props = dict(base)
                if m.get("action") == "yes":
                    props["action"] = True
                if sender_el is not None and sender_el.get("self") == "yes":
                    props["own"] = True
                if mask:
                    props["hostmask"] = mask
                when = _colloquy_time(m.get("received"))
                if when is None and m.get("received"):
                    props["time_raw"] = m.get("received")
                party = account(nick, nick, platform, "sender")
                to = [conv] if conv is not None and conv.value != nick else []
                yield ParsedEvent(kind="message", occurred_at=when, ref=ref,
                                  body=_adium_text(m), parties=(party, *to), properties=props)
                yield from uses(party, mask, ref)
        elif tag == "event":
            ref = f"event {i}"
            props = dict(base)
            name = (el.get("name") or "").strip()
            event = _COLLOQUY_EVENTS.get(name.lower())
            props["event"] = event or name or "event"
            text_el = next((c for c in el if c.tag.rsplit("}", 1)[-1] == "message"), None)
            text = _adium_text(text_el) if text_el is not None else name
            parties: list[Party] = []
            facts: list[Record] = []
            masked = [c for c in el.iter() if c is not el and c.get("hostmask")]
            who_el = next((c for c in el if c.tag.rsplit("}", 1)[-1] in ("who", "member")),
                          None)
            who_nick = (who_el.get("nickname") or who_el.text or "").strip() \
                if who_el is not None else ""
            nm = re.match(r"^(?P<old>\S+) is now known as (?P<new>\S+?)\.?$", text)
            if event == "nick" and nm:
                old = account(nm["old"], nm["old"], platform, "participant")
                new = account(nm["new"], nm["new"], platform, "participant")
                parties += [old, new]
                link = ParsedLink("same_as", old, new)
                facts.append(ParsedEntity(party=new, ref=ref, links=(link,)))
            elif who_nick:
                parties.append(account(who_nick, who_nick, platform, "participant"))
            for c in masked:
                props["hostmask"] = c.get("hostmask")
                ip = _mask_ip(c.get("hostmask"))
                if ip is not None and parties:
                    parties.append(ip)
                    facts.extend(uses(parties[0], c.get("hostmask"), ref))
            if conv is not None and parties:
                parties.append(conv)
            yield ParsedEvent(kind="system", occurred_at=_colloquy_time(el.get("occurred")),
                              ref=ref, title=text, body=text or None, parties=tuple(parties),
                              properties=props)
            yield from facts


def _adium(path: Path, options: ImportOptions) -> Iterator[Record]:
    root = _xml_root(path, options, "an Adium log")
    if root.tag.rsplit("}", 1)[-1] != "chat":
        raise ParseError("not an Adium log: the root element is not <chat>", file=path)
    service = root.get("service") or ""
    acct = root.get("account") or ""
    name = path.stem
    if path.parent.name.lower().endswith(".chatlog") and not _ADIUM_NAME.match(name):
        name = path.parent.stem
    nm = _ADIUM_NAME.match(name)
    who = nm["who"] if nm else name
    # Adium: "<Service>.<account>/<buddy>/<buddy> (stamp).chatlog"
    conv = _conversation(path, who, acct, service, None, options)
    conv.base["client"] = "adium"
    senders = {m.get("sender") for m in root if m.tag.rsplit("}", 1)[-1] == "message"}
    senders.discard(None)
    own = _norm(acct, conv.platform) if acct else None
    others = {_norm(s, conv.platform) for s in senders if s} - {own}  # type: ignore[arg-type]
    if len(others) > 1 or any(st.get("type") == "purple" for st in root):
        conv.is_chat = True
        conv.conv_party = group(who, who, conv.platform)
    for i, el in enumerate(root, 1):
        tag = el.tag.rsplit("}", 1)[-1]
        ref = f"element {i}"
        props = dict(conv.base)
        when_text = el.get("time")
        when: datetime | None = None
        if when_text:
            try:
                when = datetime.fromisoformat(when_text.strip().replace("Z", "+00:00"))
            except ValueError:
                yield RowError(ref=ref, field="time",
                               message=f"unreadable time {when_text!r} in an Adium <{tag}>")
                continue
        if tag == "message":
            sender = el.get("sender") or ""
            if not sender:
                yield RowError(ref=ref, field="sender", message="Adium <message> without sender")
                continue
            if el.get("auto") == "true":
                props["auto_reply"] = True
            if el.get("alias"):
                props["alias"] = el.get("alias")
            plat = conv.platform
            party = account(_norm(sender, plat), el.get("alias") or sender, plat, "sender")
            yield ParsedEvent(kind="message", occurred_at=when, ref=ref, body=_adium_text(el),
                              parties=(party, *_recipients(conv, party)), properties=props)
        elif tag in ("status", "event"):
            props["event"] = el.get("type") or tag
            sender = el.get("sender")
            body = _adium_text(el) or f"{sender or ''} {el.get('type') or tag}".strip()
            parties: tuple[Party, ...] = ()
            if sender:
                parties = (account(_norm(sender, conv.platform), sender, conv.platform,
                                   "participant"),)
            yield ParsedEvent(kind="system", occurred_at=when, ref=ref, title=body, body=body,
                              parties=parties, properties=props)
