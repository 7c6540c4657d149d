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
* Pidgin (text and HTML) and Adium (XML) logs of IRC and of every other IM protocol are
  handed to :mod:`workstation.ingest.chat.imlog` (the platform is the log's protocol)
* ZNC playback in any client's log: ``<***> Buffer Playback...`` ... ``<***> Playback
  Complete.`` around replayed lines whose text starts with their own ``[HH:MM:SS]``;
  those are dated by it (``properties["replayed"]``, the log's time in ``logged_at``)

Messages (including ``* nick action`` lines, ``properties["action"] = True``, and
``-nick- notice`` lines) are kind "message"; joins, parts, quits, nick and mode changes,
topics and kicks are kind "system". Nick columns may be padded and carry a channel mode
prefix (``<@nick>``, ``< +nick>``, ``<   nick>``); mIRC colour/bold codes are removed from
text. A nick change also carries a ``same_as`` link and a join/part/quit whose hostmask
holds an IP address names the IP. Because system events are kept only as source notes,
those two facts are also yielded as ParsedEntity records (the new nick with its
``same_as`` link; the account with a ``uses`` link to the IP), so they reach the chart.
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

import io
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from workstation.ingest.chat import imlog
from workstation.ingest.chat._common import account, group, head_text, looks_binary
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
_NAME_DATE = (re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"),
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
    rf"^(?P<mon>{_MON}) +(?P<d>\d{{1,2}}) (?P<h>\d{{2}}):(?P<mi>\d{{2}}):(?P<s>\d{{2}})[ \t]"
    r"(?P<rest>.*)$")
# dircproxy's default "[14 Jan 10:36]" (and the month-first form): day and month, no year.
_TS_DAY_MONTH = re.compile(
    rf"^\[(?:(?P<d>\d{{1,2}}) (?P<mon>{_MON})|(?P<mon2>{_MON}) (?P<d2>\d{{1,2}})),? "
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?\][ \t]?(?P<rest>.*)$", re.I)
_TS_BRACKET = re.compile(
    r"^\[(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?: ?(?P<ap>[AaPp][Mm]))?\][ \t]?"
    r"(?P<rest>.*)$")
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
# => <= (netsplit) -> (invite), Textual •.
_SYSTEM_PREFIX = re.compile(
    r"^(?:-!-|\*\*\*|-->|<--|<->|<-\*|<-x|=>|<=|->|---?|=!=|\u2022)(?:[ \t]|$)(?P<text>.*)$")
# mIRC formatting: colour (with optional fg,bg numbers), bold, italics, underline,
# strike, monospace, reverse, reset.
_FORMATTING = re.compile(r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|[\x02\x1d\x1f\x1e\x11\x16\x0f]")
_SYSTEM_ACTION = re.compile(
    r"^(?:Joins|Parts|Quits|Now talking in|Topic is|Set by|Disconnected|Attempting to "
    r"rejoin|Rejoined channel|Retrieving|Connecting to|Mode change|Your host|Notice|"
    r"Logging|Topic for)\b|^\S+ (?:\([^)]*\) |\[[^\]]*\] )?(?:has joined|has left|has quit|"
    r"is now known as|sets mode|changes topic|was kicked|has changed the topic|"
    r"Quit|Part|Join)\b")
_JOIN = re.compile(
    r"^(?:Joins: )?(?P<nick>[^\s:]+)(?: [\[(](?P<mask>[^\])]*)[\])])?"
    r"(?: has joined| joined the channel|$| ?\(|\s)")
_PART = re.compile(
    r"^(?:Parts: |Quits: )?(?P<nick>[^\s:]+)(?: [\[(](?P<mask>[^\])]*)[\])])?"
    r"(?: has (?:left|quit)| left the channel| quit IRC|$| ?\(|\s)")
# Konversation's first column for what is not a message: "[Join]<TAB>alice has joined".
_COMMAND_COLUMN = re.compile(
    r"^\[?(?:Join|Part|Quit|Nick|Kick|Topic|Mode|Info|Notify|Away|Notice|Error|DCC|Ban|"
    r"Invite|Channel|Server)\]?\t(?P<text>.*)$", re.I)
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
_KICKED = re.compile(r"^(?P<nick>\S+) was kicked (?:from \S+ )?by (?P<by>[^\s(\[]+)")
_KICKS = re.compile(r"^(?P<by>\S+) has kicked (?P<nick>[^\s(\[]+)")
_NICK = re.compile(r"^(?P<old>\S+) is now known as (?P<new>\S+)")


@dataclass
class _Stamp:
    """What a timestamp prefix said."""

    full: datetime | None  # the line carries its own date
    month_day: tuple[int, int] | None  # HexChat: month and day without a year
    clock: time
    rest: str
    weechat_prefix: str | None = None


def _decode(raw: bytes, encoding: str | None) -> str:
    if encoding:
        return raw.decode(encoding, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _clock(m: re.Match[str]) -> time | None:
    h, mi = int(m["h"]), int(m["mi"])
    s = int(m["s"]) if m["s"] else 0
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
        c = _clock(m)
        if c is None:
            return None
        return _Stamp(None, (_MONTHS[m["mon"].lower()[:3]], int(m["d"])), c, m["rest"])
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
    label = "IRC/IM log (irssi, WeeChat, HexChat, mIRC, ZNC, Pidgin, Adium)"

    def sniff(self, path: Path, head: bytes) -> float:
        if imlog.detect(head):
            return imlog.sniff(head)  # Pidgin / Adium: IRC and every other IM protocol
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
        for ln in lines:
            if any(rx.match(ln) for rx in _CTX_RES) or _SESSION_IDENT.match(ln):
                known += 1
                ctx += 1
                continue
            st = _stamp(ln)
            if st is None:
                continue
            body = _classify(st.rest, st.weechat_prefix)
            if body.kind != "unknown":
                known += 1
                chat += body.kind == "message" and (st.weechat_prefix is not None or
                                                    _MSG.match(st.rest) is not None)
        if chat == 0 or known / len(lines) < 0.6:
            return 0.0
        return 0.9 if ctx or chat >= 3 else 0.6

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        net, chan = self._names(path, options)
        platform = f"irc:{net}" if net else "irc"
        try:
            with path.open("rb") as fh:
                sample = fh.read(65536)
        except OSError as exc:
            raise ParseError(f"cannot read file: {exc.strerror or exc}", file=path) from exc
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
        yield from self._lines(path, encoding, platform, chan)

    @staticmethod
    def _names(path: Path, options: ImportOptions) -> tuple[str | None, str | None]:
        """(network, channel or query nick) from the options profile or the file's path."""
        profile = options.profile or {}
        net = profile.get("network")
        chan = profile.get("channel")
        stem = path.stem
        if stem.lower().endswith(".log") and re.search(r"\d{4}$", path.name):
            stem = stem[:-4]  # eggdrop "#chan.log.01Jan2024"
        m = re.match(r"^irc\.(?P<net>[^.]+)\.(?P<chan>.+)$", stem)  # WeeChat
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
               chan: str | None) -> Iterator[Record]:
        current: date | None = None
        for rx in _NAME_DATE:
            m = rx.search(path.name)
            if m:
                try:
                    current = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    current = None
                break
        if current is None:
            m = re.search(rf"(?<!\d)(\d{{2}})({_MON})(\d{{4}})(?!\d)", path.name, re.I)
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
        with path.open("rb") as fh:
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
                        yield RowError(ref=f"line {n}", field=None,
                                       message="not an IRC log line (no timestamp recognised)")
                    else:
                        any_line = True
                        yield from self._records(n, None, None, bare, platform, conv, base,
                                                 seen_ips, playback)
                    continue
                body = _classify(st.rest, st.weechat_prefix)
                if body.kind == "unknown":
                    yield RowError(ref=f"line {n}", field=None,
                                   message=f"unrecognised IRC line: {st.rest[:80]!r}")
                    continue
                any_line = True
                if body.kind == "system" and _EGG_DAY.match(body.text):
                    day = _context_date(body.text)  # eggdrop's "[00:00] --- Fri Jan  2 2004"
                    if day is not None:
                        current, year, last = day, day.year, None
                        continue
                occurred: datetime | None
                if st.full is not None:
                    occurred = st.full
                elif st.month_day is not None:
                    if year is None:
                        occurred = None
                    else:
                        month, day = st.month_day
                        if last is not None and month < last.month:
                            year += 1  # HexChat lines carry no year: Dec -> Jan
                        try:
                            occurred = datetime(year, month, day, st.clock.hour,
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
                yield from self._records(n, occurred, st, body, platform, conv, base, seen_ips,
                                         playback)
        if not any_line:
            raise ParseError("no IRC log line found", file=path)

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
    def _records(n: int, occurred: datetime | None, st: _Stamp | None, body: _Body,
                 platform: str, conv: Party | None, base: dict[str, Any],
                 seen_ips: set[tuple[str, str]], playback: bool = False) -> Iterator[Record]:
        """The event of one line, then the identity facts it states (see the module doc);
        a nick's use of an IP named on its message lines is stated once (``seen_ips``).
        During a ZNC playback a message is dated by the time ZNC wrote in front of it
        (the log's time is when it was replayed: ``properties["logged_at"]``)."""
        ref = f"line {n}"
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
                jm = _JOIN.match(text) if ("joined" in low or text.startswith("Joins:")) \
                    else None
                pm = _PART.match(text) if jm is None and (
                    "has left" in low or "has quit" in low or "left the channel" in low or
                    "quit irc" in low or text.startswith(("Parts:", "Quits:")) or
                    re.search(r"\) (?:quit|left|parted)\b", text) is not None) else None
                hit = jm or pm
                if hit:
                    props["event"] = "join" if jm else ("quit" if "quit" in low[:80] or
                                                         ") left irc:" in low
                                                         else "part")
                    who = account(hit["nick"], hit["nick"], platform, "participant")
                    parties.append(who)
                    mask = hit["mask"]
                    if not mask:
                        # Konversation: "alice has joined this channel (~alice@host)."
                        mm = re.search(r"\((?P<m>[^()\s]*@[^()\s]+)\)", text)
                        mask = mm["m"] if mm else None
                    if mask:
                        props["hostmask"] = mask
                        ip = _ip_party(mask)
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
