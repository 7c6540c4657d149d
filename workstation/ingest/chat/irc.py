"""IRC client logs: irssi, WeeChat, HexChat/XChat, mIRC, ZNC, Konversation, ISO-stamped
loggers; Pidgin and Adium IM logs through :mod:`workstation.ingest.chat.imlog`.

Line shapes recognised (one parser, because users rename and concatenate logs freely):

* irssi     ``12:00 <@nick> text``, ``12:00  * nick waves``, ``12:00 -!- nick [u@h] has
  joined #chan``, ``--- Log opened Tue Jan 01 00:00:00 2019``, ``--- Day changed Wed Jan
  02 2019``
* WeeChat   ``2019-01-01 12:00:00<TAB>nick<TAB>text`` with ``-->``/``<--``/``--`` prefixes
* HexChat   ``**** BEGIN LOGGING AT Tue Jan  1 12:00:00 2019`` then ``Jan 01 12:00:00
  <nick><TAB>text``, ``-->``/``<--``/``---`` notices
* mIRC      ``Session Start: Tue Jan 01 00:00:00 2019``, ``[12:00] <nick> text``,
  ``[12:00] * nick action``, ``* Joins: nick (u@h)``
* ZNC       ``[12:00:00] <nick> text``, ``[12:00:00] *** Joins: nick (u@h)``; the date is
  in the file name (``2019-01-01.log``, ``#chan_20190101.log``)
* ISO       ``[2019-01-01 12:00:00] <nick> text`` (many bots), with an optional offset
  ``[2019-01-01T12:00:00-0400]`` (Textual), Textual's ``•`` notices
* Quassel   copied/exported chat: ``[12:00:00] <nick> text``, ``-->``/``<--`` joins and
  parts, ``<->`` nick changes, ``<-*`` kicks, ``-*- nick action``
* dircproxy ``[14 Jan 12:36] <nick!user@host> text``: day and month without a year (taken
  from the file name or a log-opened line; else kept in ``properties["month_day"]``), the
  sender's user@host in ``properties["hostmask"]`` (an IP there is linked like a join's)
* Konversation ``[Monday 01 January 2024] [12:00:00] <nick><TAB>text`` (each line dated;
  ``[Join]<TAB>...`` command columns are notices), The Lounge ``[2021-03-29T13:16:36.853Z]
  *** nick (u@h) quit (...)``, irssi with ``%z`` glued to the nick (``17:41 -0500<nick>``)
* mIRC with a custom stamp holding a date (``[05/01/2019 12:00:00]``; a day/month order
  the line leaves open is settled by the log's running date), or ``(12:00)``; HexChat with
  the month names of other locales (``Mär 05``, ``févr. 05``)
* LimeChat and Textual ``12:00 nick: text``, ``nick has joined (u@h)``, ``nick (u@h) left
  IRC.``; supybot/Limnoria ``*** nick <nick!u@h> has joined``; IRCCloud's export ``→``
  (join) ``←`` (part) ``⇐`` (quit) ``—`` (nick) lines, and its zip of
  ``<network>/<channel>.txt`` files (refs name the member); KVIrc's
  ``channel_#chan.network_2019.01.05.log`` names; gzip-compressed logs (``.log.gz``)
* Pidgin (text and HTML), Adium (XML) and Colloquy (XML) logs of IRC and of every other IM
  protocol are handed to :mod:`workstation.ingest.chat.imlog` (the platform is the log's
  protocol)
* ZNC playback in any client's log: ``<***> Buffer Playback...`` ... ``<***> Playback
  Complete.`` around replayed lines whose text starts with their own ``[HH:MM:SS]``;
  those are dated by it (``properties["replayed"]``, the log's time in ``logged_at``)

Messages (including ``* nick action`` lines, ``properties["action"] = True``, and
``-nick- notice`` lines) are kind "message"; joins, parts, quits, nick and mode changes,
topics and kicks are kind "system". Nick columns may be padded and carry a channel mode
prefix (``<@nick>``, ``< +nick>``, ``<   nick>``); mIRC colour/bold codes are removed from
text. A nick change also carries a ``same_as`` link and a join/part/quit whose hostmask
holds an IP address names the IP (so does any other system line that puts a user@host
after a nick, whatever the client's wording or language). Because system events are kept
only as source notes, those two facts are also yielded as ParsedEntity records (the new
nick with its ``same_as`` link; the account with a ``uses`` link to the IP), so they reach
the chart.
Lines with no timestamp at all (logging without timestamps) are kept undated.
Lines carrying only a time take their date from the latest log-opened/day-changed/session
line, else from the file name, and roll over at midnight; with no date at all
``occurred_at`` is None and the time is kept in ``properties["time"]``. Times are naive
(clients log the local time of the machine they ran on; the import's timezone option
places them) unless the line states an offset.

Files are read line by line as bytes and each line decoded on its own (UTF-8, else
cp1252), because IRC logs routinely mix encodings; memory stays flat.
"""

from __future__ import annotations

import gzip
import io
import ipaddress
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from workstation.ingest.chat import imlog
from workstation.ingest.chat._common import account, group, head_text, looks_binary
from workstation.ingest.chat.safezip import SafeZip
from workstation.ingest.records import (
    ImportOptions,
    ParsedEntity,
    ParsedEvent,
    ParsedLink,
    ParseError,
    Party,
    Record,
    RowError,
)
from workstation.ingest.textio import detect_encoding

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# Abbreviated month names that clients write with strftime's %b in other locales (German,
# French, Spanish, Italian, Dutch, Portuguese, Scandinavian, Russian); none of them names
# two different months, so one table serves every locale.
_LOCAL_MONTHS = {
    **{m: i for m, i in _MONTHS.items()},
    "jän": 1, "janv": 1, "ene": 1, "gen": 1, "янв": 1,
    "févr": 2, "fevr": 2, "fév": 2, "fev": 2, "фев": 2,
    "mär": 3, "mrz": 3, "mars": 3, "mrt": 3, "мар": 3,
    "avr": 4, "abr": 4, "апр": 4,
    "mai": 5, "mag": 5, "mei": 5, "maj": 5, "мая": 5, "май": 5,
    "juin": 6, "giu": 6, "июн": 6,
    "juil": 7, "lug": 7, "июл": 7,
    "août": 8, "aout": 8, "ago": 8, "авг": 8,
    "sept": 9, "set": 9, "сен": 9,
    "okt": 10, "ott": 10, "out": 10, "окт": 10,
    "ноя": 11,
    "déc": 12, "dez": 12, "dic": 12, "дек": 12,
}

# Date-context lines (no event of their own).
_CTX_RES = (
    re.compile(r"^--- Log (?:opened|closed) (?P<dt>.+)$"),
    re.compile(r"^--- Day changed (?P<dt>.+)$"),
    re.compile(r"^Session (?:Start|Close): (?P<dt>.+)$"),
    re.compile(r"^\*\*\*\* (?:BEGIN|ENDING) LOGGING AT (?P<dt>.+)$"),
    # Konversation's session intro: "*** Logfile started" then "*** on <date>".
    re.compile(r"^\*\*\* Logfile started(?P<dt>)$"),
    re.compile(r"^\*\*\* on (?P<dt>\w{3} \w{3} +\d{1,2} [\d:]+ \d{4})$"),
)
_SESSION_IDENT = re.compile(r"^Session (?:Ident|Time): ?(?P<v>.*)$")
_TEXT_DATE = re.compile(
    rf"(?:[A-Z][a-z]{{2}},? +)?(?P<mon>{_MON})[a-z]* +(?P<day>\d{{1,2}})"
    r"(?: +(?P<time>\d{1,2}:\d{2}(?::\d{2})?))? +(?P<year>\d{4})", re.I)
_ISO_DATE = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})")
_NAME_DATE = (re.compile(r"(?<!\d)(\d{4})([-.])(\d{2})\2(\d{2})(?!\d)"),
              re.compile(r"(?<!\d)(20\d{2}|19\d{2})(\d{2})(\d{2})(?!\d)"))

# Timestamp prefixes, most specific first.
_TS_WEECHAT = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2}) (?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"\t(?P<prefix>[^\t]*)\t(?P<text>.*)$")
_TS_ISO = re.compile(
    r"^\[?(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[ T](?P<h>\d{2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2}))?(?:[.,]\d+)?(?: ?(?P<tz>Z|[+-]\d{2}:?\d{2}))?\]?(?:[ \t]+|(?=<))"
    r"(?P<rest>.*)$")
_TS_HEXCHAT = re.compile(
    r"^(?P<mon>[^\W\d_]{3,5})\.? +(?P<d>\d{1,2}) (?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})[ \t]"
    r"(?P<rest>.*)$")
# mIRC (and other clients) with a custom stamp holding a numeric date: "[05/01/2019 12:00]",
# "[05.01.19 12:00:00]", "[2019/01/05 12:00]"; the day/month order is settled per line.
_TS_NUM_DATE = re.compile(
    r"^[\[(](?:(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?P<y>\d{4}|\d{2})|"
    r"(?P<y2>\d{4})/(?P<mo2>\d{1,2})/(?P<d2>\d{1,2})) +(?P<h>\d{1,2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2}))?(?: ?(?P<ap>[AaPp][Mm]))?[\])][ \t]?(?P<rest>.*)$")
# dircproxy's default "[14 Jan 10:36]" (and the month-first form): day and month, no year.
_TS_DAY_MONTH = re.compile(
    rf"^\[(?:(?P<d>\d{{1,2}}) (?P<mon>{_MON})|(?P<mon2>{_MON}) (?P<d2>\d{{1,2}})),? "
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?\][ \t]?(?P<rest>.*)$", re.I)
_TS_BRACKET = re.compile(
    r"^(?:\[(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?: ?(?P<ap>[AaPp][Mm]))?\]|"
    r"\((?P<h2>\d{1,2}):(?P<mi2>\d{2})(?::(?P<s2>\d{2}))?\))[ \t]?(?P<rest>.*)$")
# Konversation: "[Monday 01 January 2024] [12:34:56] <nick>\ttext" (the locale's long date,
# then the time); "[Mon Jan 1 2024] [12:34:56 PM] ..." with other locales.
_TS_KONV = re.compile(
    r"^\[(?P<date>[^\[\]]*?\d{1,4}[^\[\]]*?)\] \[(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"(?: ?(?P<ap>[AaPp][Mm]))?\][ \t]?(?P<rest>.*)$")
_TS_PLAIN = re.compile(r"^(?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?[ \t](?P<rest>.*)$")

# A nick never starts with "-" (RFC 2812), which keeps Quassel's "<->" and "<-*" apart.
_MSG = re.compile(r"^< *[~&@%+!]?(?P<nick>[^\s<>\-*=][^\s<>]*) *>[ \t]?(?P<text>.*)$")
_NOTICE = re.compile(r"^-(?P<nick>[^\s()\-:][^\s():]*?)(?:\([^)]*\))?(?::(?P<target>\S+))?-"
                     r"[ \t]?(?P<text>.*)$")
# ZNC's own voices: "<***> Buffer Playback..." around a replayed buffer, and module nicks
# ("<*status>", "<*buffextras> alice!u@h joined").
_ZNC_STATUS = re.compile(r"^< *\*(?P<name>[^\s<>]*) *>[ \t]?(?P<text>.*)$")
# A replayed line's own time, which ZNC puts in front of the text for clients without
# server-time ("[11:58:12] text"; some set a date too).
_REPLAY_TS = re.compile(
    r"^\[(?:(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[ T])?(?P<h>\d{1,2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2}))?\][ \t](?P<text>.*)$")
_ACTION = re.compile(r"^ ?(?:\*|-\*-)[ \t]+(?P<nick>\S+)[ \t](?P<text>.*)$")
# irssi -!-, ZNC ***, WeeChat/HexChat -->/<--/--/---, Quassel <-> (nick) <-* (kick)
# => <= (netsplit) -> (invite), Textual •, IRCCloud's export → (join) ← (part) ⇐ (quit)
# — (nick change, other notices).
_SYSTEM_PREFIX = re.compile(
    r"^(?:-!-|\*\*\*|-->|<--|<->|<-\*|<-x|=>|<=|->|---?|=!=|\u2022|\u2192|\u2190|\u21d0|"
    r"\u21d2|\u2014)(?:[ \t]|$)(?P<text>.*)$")
# mIRC formatting: colour (with optional fg,bg numbers), bold, italics, underline,
# strike, monospace, reverse, reset.
_FORMATTING = re.compile(r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|[\x02\x1d\x1f\x1e\x11\x16\x0f]")
_SYSTEM_ACTION = re.compile(
    r"^(?:Joins|Parts|Quits|Now talking in|Topic is|Set by|Disconnected|Attempting to "
    r"rejoin|Rejoined channel|Retrieving|Connecting to|Mode change|Your host|Notice|"
    r"Logging|Topic for|Joined channel|Channel mode is|Channel timestamp is|Socket closed)\b|"
    r"^\S+ (?:\([^)]*\) |\[[^\]]*\] )?(?:has joined|has left|has quit|"
    r"is now known as|sets mode|changes topic|was kicked|has changed the topic|"
    r"set the topic to|set [+-]\w|Quit|Part|Join)\b")
# Clients that write events with no prefix at all (LimeChat, Textual): "alice has joined
# (~a@h)", "alice (~a@h) joined the channel.", "bob has left IRC (Quit: x)", "bob kicked
# carol from the channel.", "bob has set topic: x".
_BARE_SYSTEM = re.compile(
    r"^\S+ (?:\([^)]*\) |\[[^\]]*\] |<[^>]*> )?(?:has joined\b|joined the channel\b|"
    r"has left\b|left the channel\b|left IRC\b|has quit\b|is now known as |changed nick to |"
    r"has kicked |kicked \S+ from |was kicked |has been kicked |has set topic:|"
    r"changed the topic to |"
    r"has changed mode:|sets mode\b|set mode\b)")
# LimeChat's and Textual's "nick: text" (an RFC 2812 nick, then a colon).
_COLON_MSG = re.compile(r"^(?P<nick>[A-Za-z\[\]\\`_^{|}][\w\[\]\\`^{|}\-]*): (?P<text>.*)$")
_JOIN = re.compile(
    r"^(?:Joins: )?(?P<nick>[^\s:]+)(?: [\[(](?P<mask>[^\])]*)[\])])?"
    r"(?: has joined| joined the channel|$| ?\(|\s)")
_PART = re.compile(
    r"^(?:Parts: |Quits: )?(?P<nick>[^\s:]+)(?: [\[(](?P<mask>[^\])]*)[\])])?"
    r"(?: has (?:left|quit)| left the channel| quit IRC|$| ?\(|\s)")
# Konversation's first column for what is not a message: "[Join]<TAB>alice has joined".
_COMMAND_WORDS = (r"(?:Join|Part|Quit|Nick|Kick|Topic|Mode|Info|Notify|Away|Notice|Error|DCC|"
                  r"Ban|Invite|Channel|Server)")
# (older Konversation separates the bracketed column with spaces: "[Nick]  a is now ...")
_COMMAND_COLUMN = re.compile(
    rf"^(?:\[?{_COMMAND_WORDS}\]?\t|\[{_COMMAND_WORDS}\] +)(?P<text>.*)$", re.I)
# Eggdrop: "Action: nick text", "Nick change: a -> b", "nick (u@h) joined #chan.",
# "nick (u@h) left irc: reason", "nick kicked from #chan by op: reason", "Topic changed
# on #chan by op!u@h: ...", "#chan: mode change '+o x' by op!u@h", and at midnight
# "--- Fri Jan  2 2004" (the new day).
_EGG_ACTION = re.compile(r"^Action: (?P<nick>[^\s:]+) (?P<text>.*)$")
_EGG_SYSTEM = re.compile(
    r"^(?:Nick change: \S+ -> \S+$|[^\s(]+ \([^)]*\) (?:joined|left) (?:[#&!+]|irc:)|"
    r"\S+ kicked from \S+ by |Topic changed on \S+ by |[#&!+]\S*: mode change )")
_EGG_NICK = re.compile(r"^Nick change: (?P<old>\S+) -> (?P<new>\S+)$")
_EGG_KICK = re.compile(r"^(?P<nick>\S+) kicked from \S+ by (?P<by>[^\s:!]+)")
_EGG_DAY = re.compile(rf"^(?:[A-Z][a-z]{{2}} )?{_MON} +\d{{1,2}},? \d{{4}}$")
_KICKED = re.compile(
    r"^(?P<nick>\S+) (?:was|has been) kicked (?:from (?:the channel|\S+) )?by (?P<by>[^\s(\[]+)")
_KICKS = re.compile(r"^(?P<by>\S+) (?:has )?kicked (?!from )(?P<nick>[^\s(\[]+)")
_NICK = re.compile(r"^(?P<old>\S+) (?:is now known as|changed nick to) (?P<new>\S+)")
# A user@host a system line names after its nick, in any client's (or language's) words:
# "(~a@h)", "[~a@h]", supybot's "<nick!~a@h>".
_MASK_AFTER_NICK = re.compile(
    r"^(?P<nick>[^\s:()\[\]<>]+) [\[(<](?:[^\s!\[\]()<>]+!)?(?P<mask>[^\s\[\]()<>]*@[^\s\[\]()<>]+)"
    r"[\])>]")


@dataclass
class _Stamp:
    """What a timestamp prefix said."""

    full: datetime | None  # the line carries its own date
    month_day: tuple[int, int] | None  # HexChat: month and day without a year
    clock: time
    rest: str
    weechat_prefix: str | None = None
    # A numeric date whose day/month order the line alone does not settle: the readings
    # that make a valid date, day-first reading first.
    dates: tuple[date, ...] = ()


def _decode(raw: bytes, encoding: str | None) -> str:
    if encoding:
        return raw.decode(encoding, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _clock(m: re.Match[str]) -> time | None:
    g = m.groupdict()
    if g.get("h") is None and g.get("h2") is not None:
        h, mi, sec = int(g["h2"]), int(g["mi2"]), g.get("s2")
    else:
        h, mi, sec = int(m["h"]), int(m["mi"]), m["s"]
    s = int(sec) if sec else 0
    ap = m.groupdict().get("ap")
    if ap:
        if h > 12:
            return None
        h = (h % 12) + (12 if ap.lower() == "pm" else 0)
    if h > 23 or mi > 59 or s > 60:
        return None
    return time(h, mi, min(s, 59))


def _stamp(line: str) -> _Stamp | None:
    m = _TS_WEECHAT.match(line)
    if m:
        c = _clock(m)
        if c is None:
            return None
        try:
            d = date(int(m["y"]), int(m["mo"]), int(m["d"]))
        except ValueError:
            return None
        return _Stamp(datetime.combine(d, c), None, c, m["text"], m["prefix"])
    m = _TS_ISO.match(line)
    if m:
        c = _clock(m)
        if c is None:
            return None
        try:
            d = date(int(m["y"]), int(m["mo"]), int(m["d"]))
        except ValueError:
            return None
        dt = datetime.combine(d, c)
        if m["tz"]:
            tz = m["tz"]
            if tz == "Z":
                dt = dt.replace(tzinfo=timezone.utc)
            else:
                sign = -1 if tz[0] == "-" else 1
                hh, mm = int(tz[1:3]), int(tz[-2:])
                dt = dt.replace(tzinfo=timezone(sign * timedelta(hours=hh, minutes=mm)))
        return _Stamp(dt, None, c, m["rest"])
    m = _TS_KONV.match(line)
    if m and re.search(r"\d{4}", m["date"]):
        c = _clock(m)
        start, _zone = imlog.header_start(m["date"])
        if c is not None and start is not None:
            return _Stamp(datetime.combine(start.date(), c), None, c, m["rest"])
    m = _TS_HEXCHAT.match(line)
    if m:
        mon = m["mon"].lower()
        month = _LOCAL_MONTHS.get(mon) or _LOCAL_MONTHS.get(mon[:3])
        c = _clock(m)
        if month is not None and c is not None and 1 <= int(m["d"]) <= 31:
            return _Stamp(None, (month, int(m["d"])), c, m["rest"])
    m = _TS_NUM_DATE.match(line)
    if m:
        c = _clock(m)
        if c is None:
            return None
        if m["y2"]:
            readings = [(int(m["y2"]), int(m["mo2"]), int(m["d2"]))]
        else:
            y = int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
            a, b = int(m["a"]), int(m["b"])
            readings = [(y, b, a), (y, a, b)] if a != b else [(y, b, a)]
        dates: list[date] = []
        for yy, mo, dd in readings:
            try:
                dates.append(date(yy, mo, dd))
            except ValueError:
                continue
        if not dates:
            return None
        if len(dates) == 1:
            return _Stamp(datetime.combine(dates[0], c), None, c, m["rest"])
        return _Stamp(None, None, c, m["rest"], dates=tuple(dates))
    m = _TS_DAY_MONTH.match(line)
    if m:
        c = _clock(m)
        day = int(m["d"] or m["d2"])
        if c is None or not 1 <= day <= 31:
            return None
        return _Stamp(None, (_MONTHS[(m["mon"] or m["mon2"]).lower()[:3]], day), c, m["rest"])
    for rx in (_TS_BRACKET, _TS_PLAIN):
        m = rx.match(line)
        if m:
            c = _clock(m)
            if c is None:
                return None
            return _Stamp(None, None, c, m["rest"])
    return None


def _context_date(text: str) -> date | None:
    m = _TEXT_DATE.search(text)
    if m:
        try:
            return date(int(m["year"]), _MONTHS[m["mon"].lower()[:3]], int(m["day"]))
        except ValueError:
            return None
    m = _ISO_DATE.search(text)
    if m:
        try:
            return date(int(m["y"]), int(m["m"]), int(m["d"]))
        except ValueError:
            return None
    return None


@dataclass
class _Body:
    kind: str  # message | system | unknown
    nick: str | None = None
    text: str = ""
    action: bool = False
    notice: bool = False
    mask: str | None = None  # user@host when the line names it (dircproxy "<nick!u@h>")
    znc: bool = False  # said by the ZNC bouncer itself
    colon: bool = False  # LimeChat/Textual "nick: text" (weaker evidence of an IRC log)


def _classify(rest: str, weechat_prefix: str | None) -> _Body:
    if weechat_prefix is not None:
        prefix = weechat_prefix.strip()
        if prefix in ("-->", "<--", "--", "=!=", "---", ""):
            return _Body("system", text=rest)
        if prefix == "*":
            m = re.match(r"^(?P<nick>\S+) (?P<text>.*)$", rest)
            if m:
                return _Body("message", m["nick"].lstrip("~&@%+"), m["text"], action=True)
            return _Body("system", text=rest)
        return _Body("message", prefix.lstrip("~&@%+!"), rest)
    m = _MSG.match(rest)
    if m:
        nick, bang, mask = m["nick"].partition("!")
        if bang and "@" in mask and nick:
            return _Body("message", nick, m["text"], mask=mask)
        return _Body("message", m["nick"], m["text"])
    m = _SYSTEM_PREFIX.match(rest)
    if m:
        return _Body("system", text=m["text"].strip())
    m = _ZNC_STATUS.match(rest)
    if m:
        return _Body("system", text=m["text"].strip(), znc=True)
    m = _ACTION.match(rest)
    if m:
        if _SYSTEM_ACTION.match(f"{m['nick']} {m['text']}"):
            return _Body("system", text=f"{m['nick']} {m['text']}")
        return _Body("message", m["nick"].lstrip("~&@%+"), m["text"], action=True)
    m = _NOTICE.match(rest)
    if m:
        return _Body("message", m["nick"], m["text"], notice=True)
    m = _COMMAND_COLUMN.match(rest)
    if m:
        return _Body("system", text=m["text"].strip())
    m = _EGG_ACTION.match(rest)
    if m:
        return _Body("message", m["nick"], m["text"], action=True)
    if _EGG_SYSTEM.match(rest):
        return _Body("system", text=rest.strip())
    if _BARE_SYSTEM.match(rest):
        return _Body("system", text=rest.strip())
    m = _COLON_MSG.match(rest)
    if m:
        return _Body("message", m["nick"], m["text"], colon=True)
    return _Body("unknown", text=rest)


def _replayed_time(m: re.Match[str], logged: datetime | None,
                   props: dict[str, Any]) -> datetime | None:
    """The time of a line ZNC replayed (``m``: its ``[HH:MM:SS]`` prefix), on the day of
    the replay or the day before; notes the replay in ``props``."""
    props["replayed"] = True
    c = _clock(m)
    if c is None:
        return logged
    if logged is not None:
        props["logged_at"] = logged.isoformat()
    if m["y"]:
        try:
            return datetime.combine(date(int(m["y"]), int(m["mo"]), int(m["d"])), c,
                                    tzinfo=logged.tzinfo if logged else None)
        except ValueError:
            return logged
    if logged is None:
        props["time"] = c.isoformat()
        return None
    when = logged.replace(hour=c.hour, minute=c.minute, second=c.second)
    return when - timedelta(days=1) if when > logged else when


_GZIP_MAGIC = b"\x1f\x8b"


def _gunzip_head(head: bytes) -> bytes:
    """The start of a gzip-compressed log (KVIrc's and logrotate's ``.log.gz``), or ``head``
    unchanged when it is not gzip data."""
    if not head.startswith(_GZIP_MAGIC):
        return head
    try:
        return zlib.decompressobj(wbits=31).decompress(head, 65536)
    except zlib.error:
        return head


def _open_log(path: Path) -> Any:
    """The log's bytes, decompressed on the fly when it is gzip data."""
    fh = path.open("rb")
    if fh.read(2) == _GZIP_MAGIC:
        fh.close()
        return gzip.open(path, "rb")
    fh.seek(0)
    return fh


def _zip_logs(names: list[str]) -> list[str]:
    """The text logs among a zip's members, in name order (macOS metadata left out)."""
    return sorted(n for n in names if n.lower().endswith((".txt", ".log")) and
                  not n.startswith("__MACOSX/") and not PurePosixPath(n).name.startswith("._"))


def _ip_party(mask: str) -> Party | None:
    host = mask.rsplit("@", 1)[-1].strip()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return Party(kind="ip", value=host, role="participant")


class IrcLogParser:
    """IRC log file from irssi, WeeChat, HexChat/XChat, mIRC, ZNC or an ISO-stamped logger.

    Streams the file line by line. Yields ParsedEvents ("message" or "system", ``ref``
    "line N"); an unrecognised non-blank line yields a RowError for that line. Raises
    ParseError for a binary file or one with no IRC line at all.
    """

    name = "irc_log"
    label = "IRC/IM log (irssi, WeeChat, HexChat, mIRC, ZNC and other IRC clients; Pidgin, Adium, Colloquy)"

    def sniff(self, path: Path, head: bytes) -> float:
        if head.startswith(b"PK\x03\x04"):
            return self._sniff_zip(path)
        if imlog.detect(head):
            return imlog.sniff(head)  # Pidgin / Adium: IRC and every other IM protocol
        head = _gunzip_head(head)
        text = head_text(head)
        if not text:
            return 0.0
        lines = [ln for ln in text.splitlines()[:80] if ln.strip()]
        if len(lines) > 1 and not text.endswith(("\n", "\r")):
            lines = lines[:-1]
        if not lines:
            return 0.0
        known = 0
        chat = 0
        ctx = 0
        colon = 0  # "nick: text" lines (LimeChat, Textual): chat only beside IRC events
        events = 0
        strong = 0  # events only IRC writes: a join/part/quit naming user@host, a nick change
        bare_known = bare_chat = 0  # lines logged without timestamps (mIRC's option)
        for ln in lines:
            if any(rx.match(ln) for rx in _CTX_RES) or _SESSION_IDENT.match(ln):
                known += 1
                ctx += 1
                continue
            st = _stamp(ln)
            if st is None:
                bare = _classify(ln, None)
                if bare.kind != "unknown" and not bare.colon:
                    bare_known += 1
                    bare_chat += bare.kind == "message" and _MSG.match(ln) is not None
                continue
            body = _classify(st.rest, st.weechat_prefix)
            if body.kind != "unknown":
                known += 1
                chat += body.kind == "message" and (st.weechat_prefix is not None or
                                                    _MSG.match(st.rest) is not None)
                colon += body.colon
                events += body.kind == "system"
                strong += body.kind == "system" and (
                    _NICK.search(body.text) is not None or
                    re.search(r"[(\[<][^()\[\]<>\s]*@[^()\[\]<>\s]+[)\]>]", body.text) is not None)
        if ctx:
            known, chat = known + bare_known, chat + bare_chat
        if chat == 0 and events and colon:
            chat = colon
        if chat == 0 or known / len(lines) < 0.6:
            return 0.0
        if strong:
            return 0.95
        return 0.9 if ctx or chat >= 3 else 0.6

    def _sniff_zip(self, path: Path) -> float:
        """A zip of text logs (IRCCloud's log export): most of its first logs look IRC."""
        try:
            with SafeZip(Path(path)) as zf:
                members = _zip_logs(zf.names())[:5]
                heads = [zf.open(m).read(65536) for m in members]
        except (ParseError, OSError, ValueError, EOFError, zlib.error):
            return 0.0
        if not heads:
            return 0.0
        hits = sum(self.sniff(Path(m), h) >= 0.6 for m, h in zip(members, heads, strict=True))
        return 0.9 if hits * 2 > len(heads) else 0.0

    def _zip(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        """Every text log in a zip (IRCCloud: "<network>/<channel>.txt"), each named by its
        member path in the refs; a member with no IRC line is a RowError."""
        with SafeZip(path) as zf:
            members = _zip_logs(zf.names())
            if not members:
                raise ParseError("a zip without .txt or .log files, not an IRC log export",
                                 file=path)
            for member in members:
                net, chan = self._names(Path(member), options)
                parent = PurePosixPath(member).parent.name
                if not net and parent and len(PurePosixPath(member).parts) >= 2:
                    net = re.sub(r"[ _-]*\(?\d+\)?$", "", parent) or parent
                platform = f"irc:{net}" if net else "irc"
                chan = chan or PurePosixPath(member).stem  # "<network>/<nick>.txt": a query
                try:
                    yield from self._lines(path, options.encoding, platform, chan, member, zf)
                except ParseError as exc:
                    if exc.ref != member:
                        raise
                    yield RowError(ref=member, field=None, message=exc.message)

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        try:
            with path.open("rb") as fh:
                is_zip = fh.read(4) == b"PK\x03\x04"
        except OSError as exc:
            raise ParseError(f"cannot read file: {exc.strerror or exc}", file=path) from exc
        if is_zip:
            yield from self._zip(path, options)
            return
        net, chan = self._names(path, options)
        platform = f"irc:{net}" if net else "irc"
        try:
            with _open_log(path) as fh:
                sample = fh.read(65536)
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"cannot read file: {getattr(exc, 'strerror', None) or exc}",
                             file=path) from exc
        if imlog.detect(sample):
            yield from imlog.parse(path, options)
            return
        encoding = options.encoding
        try:
            detected = detect_encoding(sample)
        except ParseError:
            raise ParseError("binary data, not an IRC log", file=path) from None
        if encoding is None and detected.startswith(("utf-16", "utf-32")):
            encoding = detected  # line splitting on bytes would cut UTF-16 apart
        if looks_binary(sample.decode(encoding or "utf-8", errors="replace")[:4096]) and \
                not (encoding or "").startswith("utf-16"):
            raise ParseError("binary data, not an IRC log", file=path)
        try:
            yield from self._lines(path, encoding, platform, chan)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise ParseError(f"damaged gzip data: {exc}", file=path) from exc

    @staticmethod
    def _names(path: Path, options: ImportOptions) -> tuple[str | None, str | None]:
        """(network, channel or query nick) from the options profile or the file's path."""
        profile = options.profile or {}
        net = profile.get("network")
        chan = profile.get("channel")
        stem = path.stem[:-4] if path.name.lower().endswith(".log.gz") else path.stem
        if stem.lower().endswith(".log") and re.search(r"\d{4}$", path.name):
            stem = stem[:-4]  # eggdrop "#chan.log.01Jan2024"
        m = re.match(r"^irc\.(?P<net>[^.]+)\.(?P<chan>.+)$", stem)  # WeeChat
        if m:
            net, chan = net or m["net"], chan or m["chan"]
        # KVIrc: "channel_#chan.network_2019.01.05.log", "query_nick.network_...".
        m = re.match(r"^(?:channel|query|deadchannel|deadquery|dccchat|console)_(?P<chan>.+)\."
                     r"(?P<net>[^.]+)_\d{4}\.\d{2}\.\d{2}$", stem)
        if m:
            net, chan = net or m["net"], chan or m["chan"]
        m = re.match(r"^(?P<net>[^#]+?)[-_.](?P<chan>[#&].+?)(?:[-_.]\d{4}-?\d{2}-?\d{2})?$",
                     stem)  # HexChat "libera-#chan", ZNC "libera_#chan_20190101"
        if m:
            net, chan = net or m["net"], chan or m["chan"]
        if not chan:
            m = re.match(r"^(?P<chan>[#&][^ ]+?)(?:[-_.]\d{4}-?\d{2}-?\d{2})?$", stem)
            if m:
                chan = m["chan"]
            elif path.parent.name.startswith(("#", "&")):
                chan = path.parent.name  # ZNC "#chan/2019-01-01.log"
        parts = [p.lower() for p in path.parts]
        dirs = path.parts[:-1]
        at = [i for i in range(len(dirs) - 1) if parts[i] == "moddata" and parts[i + 1] == "log"]
        if at:
            # ZNC: .../moddata/log/<network>/<window>/<date>.log (user-level module) or
            # .../networks/<network>/moddata/log/<window>/<date>.log (network-level).
            below = dirs[at[-1] + 2:]
            if len(below) >= 2:
                net = net or below[0]
                chan = chan or below[1]
            elif len(below) == 1:
                chan = chan or below[0]
        if not net:
            if "networks" in parts:  # ZNC moddata path users/<u>/networks/<net>/...
                i = parts.index("networks")
                if i + 1 < len(path.parts) - 1:
                    net = path.parts[i + 1]
        return (str(net) if net else None), (str(chan) if chan else None)

    def _lines(self, path: Path, encoding: str | None, platform: str,
               chan: str | None, member: str | None = None,
               archive: SafeZip | None = None) -> Iterator[Record]:
        """The records of one log: the file ``path``, or ``member`` of ``archive`` (refs
        then name the member)."""
        name = PurePosixPath(member).name if member else path.name
        where = f"{member}: " if member else ""
        current: date | None = None
        for rx in _NAME_DATE:
            m = rx.search(name)
            if m:
                ymd = [g for g in m.groups() if g not in ("-", ".")]
                try:
                    current = date(int(ymd[0]), int(ymd[1]), int(ymd[2]))
                except ValueError:
                    current = None
                break
        if current is None:
            m = re.search(rf"(?<!\d)(\d{{2}})({_MON})(\d{{4}})(?!\d)", name, re.I)
            if m:  # eggdrop's default log suffix ".%d%b%Y"
                try:
                    current = date(int(m.group(3)), _MONTHS[m.group(2).lower()[:3]],
                                   int(m.group(1)))
                except ValueError:
                    current = None
        year = current.year if current else None
        last: datetime | None = None
        conv: Party | None = None
        if chan:
            conv = group(chan, chan, platform) if chan[0] in "#&!+" else \
                account(chan, chan, platform, "recipient")
        base: dict[str, Any] = {"channel": "irc"}
        if chan:
            base["conversation"] = chan
        if platform != "irc":
            base["network"] = platform.split(":", 1)[1]
        any_line = False
        seen_ips: set[tuple[str, str]] = set()
        playback = False  # inside a ZNC "Buffer Playback..." ... "Playback Complete." run
        with (archive.open(member) if archive is not None and member else _open_log(path)) as fh:
            if encoding:
                stream: Any = io.TextIOWrapper(fh, encoding=encoding, errors="replace")
            else:
                stream = fh
            for n, raw in enumerate(stream, 1):
                line = (raw if isinstance(raw, str) else _decode(raw, None)).rstrip("\r\n")
                line = line.lstrip("\ufeff") if n == 1 else line
                if _FORMATTING.search(line):
                    line = _FORMATTING.sub("", line)
                if not line.strip():
                    continue
                ctx = self._context(line)
                if ctx is not None:
                    any_line = True
                    kind, value = ctx
                    if kind == "date" and isinstance(value, date):
                        current, year, last = value, value.year, None
                    elif kind == "ident" and value and not chan:
                        chan = str(value)
                        conv = group(chan, chan, platform) if chan[0] in "#&" else \
                            account(chan, chan, platform, "recipient")
                        base["conversation"] = chan
                    continue
                st = _stamp(line)
                if st is None:
                    # Clients can log without timestamps: keep recognisable lines, undated.
                    bare = _classify(line, None)
                    if bare.kind == "unknown":
                        yield RowError(ref=f"{where}line {n}", field=None,
                                       message="not an IRC log line (no timestamp recognised)")
                    else:
                        any_line = True
                        yield from self._records(f"{where}line {n}", None, None, bare,
                                                 platform, conv, base,
                                                 seen_ips, playback)
                    continue
                body = _classify(st.rest, st.weechat_prefix)
                if body.kind == "unknown":
                    yield RowError(ref=f"{where}line {n}", field=None,
                                   message=f"unrecognised IRC line: {st.rest[:80]!r}")
                    continue
                any_line = True
                if body.kind == "system" and _EGG_DAY.match(body.text):
                    day = _context_date(body.text)  # eggdrop's "[00:00] --- Fri Jan  2 2004"
                    if day is not None:
                        current, year, last = day, day.year, None
                        continue
                occurred: datetime | None
                if st.dates:
                    occurred = datetime.combine(self._reading(st.dates, current), st.clock)
                elif st.full is not None:
                    occurred = st.full
                elif st.month_day is not None:
                    if year is None:
                        occurred = None
                    else:
                        month, mday = st.month_day
                        if last is not None and month < last.month:
                            year += 1  # HexChat lines carry no year: Dec -> Jan
                        try:
                            occurred = datetime(year, month, mday, st.clock.hour,
                                                st.clock.minute, st.clock.second)
                        except ValueError:
                            occurred = None
                elif current is not None:
                    occurred = datetime.combine(current, st.clock)
                    if last is not None and last.tzinfo is None and \
                            occurred < last - timedelta(hours=12):
                        # Midnight passed with no day-changed line (mIRC, ZNC).
                        current = current + timedelta(days=1)
                        occurred = datetime.combine(current, st.clock)
                else:
                    occurred = None
                if occurred is not None:
                    last = occurred
                    if occurred.tzinfo is None:
                        current = occurred.date()
                if body.znc and body.text in ("Buffer Playback...", "Playback Complete."):
                    playback = body.text == "Buffer Playback..."
                yield from self._records(f"{where}line {n}", occurred, st, body, platform,
                                         conv, base, seen_ips,
                                         playback)
        if not any_line:
            raise ParseError("no IRC log line found", file=path, ref=member)

    @staticmethod
    def _reading(dates: tuple[date, ...], current: date | None) -> date:
        """The reading of an ambiguous numeric date (day-first, month-first) that fits the
        log's running date (the same day or a later one, nearest first); without one, the
        day-first reading."""
        if current is not None:
            later = [d for d in dates if d >= current]
            if later:
                return min(later, key=lambda d: d - current)
        return dates[0]

    @staticmethod
    def _context(line: str) -> tuple[str, object] | None:
        for rx in _CTX_RES:
            m = rx.match(line)
            if m:
                return "date", _context_date(m["dt"])
        m = _SESSION_IDENT.match(line)
        if m:
            return ("ident", m["v"].strip()) if line.startswith("Session Ident") else ("none", "")
        return None

    @staticmethod
    def _records(ref: str, occurred: datetime | None, st: _Stamp | None, body: _Body,
                 platform: str, conv: Party | None, base: dict[str, Any],
                 seen_ips: set[tuple[str, str]], playback: bool = False) -> Iterator[Record]:
        """The event of one line, then the identity facts it states (see the module doc);
        a nick's use of an IP named on its message lines is stated once (``seen_ips``).
        During a ZNC playback a message is dated by the time ZNC wrote in front of it
        (the log's time is when it was replayed: ``properties["logged_at"]``)."""
        props: dict[str, Any] = dict(base)
        if occurred is None and st is not None:
            props["time"] = st.clock.isoformat()
            if st.month_day is not None:
                # No year anywhere (file name, log-opened line): keep what the line says.
                props["month_day"] = "%02d-%02d" % st.month_day
        if body.kind == "system":
            text = body.text
            parties: list[Party] = []
            links: list[ParsedLink] = []
            facts: list[ParsedEntity] = []
            m = _NICK.search(text) or _EGG_NICK.match(text)
            km = _KICKED.match(text) or _KICKS.match(text) or _EGG_KICK.match(text)
            if m:
                old = account(m["old"], m["old"], platform, "participant")
                new_nick = m["new"].rstrip(".")
                new = account(new_nick, new_nick, platform, "participant")
                parties += [old, new]
                links.append(ParsedLink("same_as", old, new))
                props["event"] = "nick"
                facts.append(ParsedEntity(party=new, ref=ref, links=tuple(links)))
            elif km:
                props["event"] = "kick"
                parties.append(account(km["nick"], km["nick"], platform, "participant"))
                parties.append(account(km["by"], km["by"], platform, "actor"))
            else:
                low = text.lower()
                jm = _JOIN.match(text) if ("joined" in low or text.startswith("Joins:")) and \
                    not text.startswith("Joined channel") else None
                pm = _PART.match(text) if jm is None and (
                    "has left" in low or "has quit" in low or "left the channel" in low or
                    "quit irc" in low or "left irc" in low or
                    text.startswith(("Parts:", "Quits:")) or
                    re.search(r"[)>\]] (?:quit|left|parted)\b", low) is not None or
                    re.match(r"^[^\s:]+ (?:quit|left) [(\[]", low) is not None) else None
                hit = jm or pm
                if hit:
                    props["event"] = "join" if jm else ("quit" if "quit" in low[:80] or
                                                         "left irc" in low
                                                         else "part")
                    who = account(hit["nick"], hit["nick"], platform, "participant")
                    parties.append(who)
                    mask = hit["mask"]
                    if not mask or "@" not in mask:
                        # Konversation: "alice has joined this channel (~alice@host).";
                        # supybot: "alice <alice!~a@h> has joined #chan".
                        mm = re.search(r"\((?P<m>[^()\s]*@[^()\s]+)\)|"
                                       r"<(?:[^<>!\s]+!)?(?P<m2>[^<>\s]*@[^<>\s]+)>", text)
                        mask = (mm["m"] or mm["m2"]) if mm else mask
                    if mask:
                        props["hostmask"] = mask
                        ip = _ip_party(mask)
                        if ip is not None:
                            parties.append(ip)
                            facts.append(ParsedEntity(party=who, ref=ref, links=(
                                ParsedLink("uses", who, ip),)))
                else:
                    # An event this parser has no word for (another language, a client's
                    # own phrasing) that still names a nick's user@host: keep the IP link.
                    mm = _MASK_AFTER_NICK.match(text)
                    if mm:
                        who = account(mm["nick"], mm["nick"], platform, "participant")
                        props["hostmask"] = mm["mask"]
                        parties.append(who)
                        ip = _ip_party(mm["mask"])
                        if ip is not None:
                            parties.append(ip)
                            facts.append(ParsedEntity(party=who, ref=ref, links=(
                                ParsedLink("uses", who, ip),)))
            if conv is not None and parties:
                parties.append(conv)
            yield ParsedEvent(kind="system", occurred_at=occurred, ref=ref, title=text,
                              body=text or None, parties=tuple(parties), links=tuple(links),
                              properties=props)
            yield from facts
            return
        assert body.nick is not None
        text = body.text
        rm = _REPLAY_TS.match(text) if playback else None
        if rm is not None:
            occurred, text = _replayed_time(rm, occurred, props), rm["text"]
        parties = [account(body.nick, body.nick, platform, "sender")]
        if conv is not None and conv.value != body.nick:
            parties.append(conv)
        if body.action:
            props["action"] = True
        if body.notice:
            props["notice"] = True
        fact: ParsedEntity | None = None
        if body.mask:
            props["hostmask"] = body.mask
            ip = _ip_party(body.mask)
            if ip is not None and (body.nick, ip.value) not in seen_ips:
                seen_ips.add((body.nick, ip.value))
                fact = ParsedEntity(party=parties[0], ref=ref,
                                    links=(ParsedLink("uses", parties[0], ip),))
        yield ParsedEvent(kind="message", occurred_at=occurred, ref=ref, body=text,
                          parties=tuple(parties), properties=props)
        if fact is not None:
            yield fact
