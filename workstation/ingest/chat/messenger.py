"""Facebook Messenger (and Instagram DM) JSON from "Download Your Information".

Two layouts:

* classic ``message_1.json``: ``participants`` [{name}], ``messages`` newest first with
  ``sender_name``, ``timestamp_ms``, ``content``, ``photos``/``videos``/``audio_files``/
  ``files``/``gifs`` [{uri, creation_timestamp}], ``sticker`` {uri}, ``share`` {link,
  share_text}, ``reactions``, ``type`` ("Generic", "Share", "Call", "Subscribe",
  "Unsubscribe"...), ``is_unsent``, ``call_duration``; ``thread_type`` "Regular" or
  "RegularGroup", and on older exports ``ip`` (the address the owner sent from, kept as
  an "origin" IP party). Strings are "mojibake": UTF-8 bytes written as Latin-1 code points; we
  repair them when the repair round-trips. The first exports (spring 2018) had
  ``timestamp`` in seconds and ``participants`` as plain names without the account owner.
  A long thread is split over ``message_1.json``, ``message_2.json``...: each file is
  imported on its own and they share the thread's ``thread_path`` as conversation id.
* end-to-end-encrypted chats (2024+): ``participants`` [names], ``threadName``,
  ``messages`` with ``senderName``, ``timestamp`` (ms), ``text``, ``media`` [{uri}],
  ``isUnsent``.

Group and call notices written as ordinary text (no ``type``, as on Instagram) are
recognised by their wording: "<name> joined the group.", "<name> made <name> an admin.",
and the nameless "Reacted ❤ to your message", "The video chat ended.".

Messages are yielded oldest first. ``ref`` is the message's position in the file
(``messages[i]``): the export has no message ids.

The file is streamed so memory stays flat however long the thread: a first pass reads
the thread's small fields wherever they sit (Facebook puts ``participants`` first and
``title`` after the messages), each message's sender, time and character offset, and
checks the whole file's syntax before anything is yielded; the second decodes the
messages again, a window at a time, in time order (for a newest-first file, back to
front). What is held is a window of messages plus 16 bytes a message (offset and time).
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import unicodedata
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any

from workstation.ingest.chat._common import (
    ARRAY_START,
    MAX_STREAMED_JSON_BYTES,
    ExportFiles,
    FileHashes,
    JsonReader,
    Mark,
    account,
    as_list,
    check_size,
    fix_mojibake,
    fix_mojibake_deep,
    group,
    guarded,
    guess_mime,
    head_text,
    json_keys_in_head,
    open_json,
    recipients_for,
    safe_relpath,
    utc_from_ms,
    walk_export,
)
from workstation.ingest.records import (
    Attachment,
    ImportOptions,
    Notice,
    ParsedEntity,
    ParsedEvent,
    ParsedLink,
    ParseError,
    Party,
    Record,
    RowError,
    forced_date_order,
)
from workstation.ingest.textio import open_text

_SYSTEM_TYPES = frozenset({"subscribe", "unsubscribe", "call", "plan", "groupinvite",
                           "admintext", "system"})
_MEDIA_KEYS = ("photos", "videos", "audio_files", "files", "gifs", "media")
# Messenger writes group and call notices as ordinary "Generic" messages in the sender's
# name ("X named the group ...", "You added Y to the group.").
_NOTICE_RE = re.compile(
    r"^(?:named the group|added .{1,80} to the group|removed .{1,80} from the group|"
    r"left the group|joined the group|created the group|changed the group (?:photo|name|"
    r"description|image)|removed the group (?:photo|name|description)|changed the chat "
    r"theme|changed the theme|set the emoji to|set the quick reaction|set (?:the|your|his|"
    r"her|their|its) (?:own )?nickname|set the nickname for |set .{1,80}'s nickname|cleared "
    r"the nickname|cleared (?:his|her|their|your) (?:own )?nickname|started a (?:video |"
    r"audio )?(?:call|chat)|joined the (?:video |audio )?(?:call|chat)|ended the (?:video |"
    r"audio )?(?:call|chat)|missed a (?:video |audio )?(?:call|chat)|pinned a message|"
    r"unpinned a message|turned (?:on|off) disappearing|turned (?:on|off) member approval|"
    r"made .{1,80} an admin|removed .{1,80} as (?:a )?(?:group )?admin|(?:is|are) now an "
    r"admin|started sharing (?:their |his |her |your )?(?:live )?location|stopped sharing "
    r"(?:their |his |her |your )?(?:live )?location)", re.I)
# Notices written without the actor's name in front (Instagram's reaction and like notes,
# the calls' end, the "now connected" greeting of a new thread).
_BARE_NOTICE_RE = re.compile(
    r"^(?:reacted .{1,40} to your message|liked a message|the (?:video |audio )?(?:call|chat) "
    r"ended|you are now connected on messenger|you can now message and call each other\b.*|"
    r"say hi to your new facebook friend\b.{0,80}|you missed a (?:video |audio )?(?:call|chat)"
    r"(?: from .{1,80})?)[.!]?$", re.I)


def _when(raw: Any) -> Any:
    """A message time in milliseconds: the first exports wrote seconds (``timestamp``)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return raw
    return raw * 1000 if abs(raw) < 10**11 else raw  # 10**11 s is the year 5138


#: Top-level fields of a thread file that we use (the rest are skipped).
_THREAD_FIELDS = frozenset({"participants", "title", "threadName", "thread_path",
                            "thread_type"})
#: Read size while learning message offsets: a resumed read starts at most this many
#: characters before the message it wants.
_SEEK_CHUNK = 64 * 1024
#: Characters of messages decoded and held at a time while yielding in time order.
_WINDOW_CHARS = 128 * 1024
#: For a file out of time order (each window then needs a read over the file), the
#: window grows so that the file is read at most this many more times.
_MAX_REREADS = 64


def _sort_time(msg: dict[str, Any]) -> float:
    """The time a message sorts by (0 when it has none)."""
    raw = _when(msg.get("timestamp_ms", msg.get("timestamp")))
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return 0.0
    try:
        return float(raw)
    except OverflowError:
        return math.inf if raw > 0 else -math.inf


def _read_back(path: Path, encoding: str | None, order: Sequence[int], in_order: bool,
               starts: array[int], marks: list[Mark]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, message) for the message indexes in ``order``, decoded again from the file.

    ``starts`` holds each message's character offset and ``marks`` the points where
    reading can resume (both from the first pass). ``order`` is taken a window at a time
    (about ``_WINDOW_CHARS`` of messages): the window's messages are decoded in file
    order, jumping over the text between them, then yielded in ``order``. When
    ``in_order`` (file order or its reverse) each window is one stretch of the file, so
    this is one more pass with flat memory; otherwise windows are larger so the file is
    read at most ``_MAX_REREADS`` more times. Raises ParseError if the file no longer
    matches the first pass.
    """
    n = len(starts)
    offsets = [m[1] for m in marks]
    budget = _WINDOW_CHARS
    if not in_order and n:
        budget = max(budget, (starts[-1] - starts[0]) // _MAX_REREADS)
    reader: JsonReader | None = None
    with open_text(path, encoding=encoding) as fh:
        first = 0
        while first < len(order):
            last, size = first, 0
            while last < len(order) and (last == first or size < budget):
                j = order[last]
                size += starts[j + 1] - starts[j] if j + 1 < n else 0
                last += 1
            msgs: dict[int, dict[str, Any]] = {}
            for j in sorted(order[first:last]):
                k = bisect_right(offsets, starts[j]) - 1
                if reader is None or starts[j] < reader.chars_before + reader.pos or \
                        offsets[k] > reader.chars_before + len(reader.buf):
                    # Behind the reader, or past what it has read: jump to it.
                    fh.seek(marks[k][0])
                    reader = JsonReader(fh, path, chunk=_SEEK_CHUNK, resume=marks[k])
                reader.skip_to(starts[j])
                msg = reader.value()
                if not isinstance(msg, dict):
                    raise ParseError("the file changed while it was being read", file=path,
                                     ref=reader.where(reader.pos))
                msgs[j] = msg
            for j in order[first:last]:
                yield j, msgs.pop(j)
            first = last


class MessengerJsonParser:
    """Facebook Messenger / Instagram DM JSON thread (``message_N.json``).

    Yields ParsedEvents oldest first: "message" for messages, "system" for calls,
    joins/leaves and group notices; and, for group threads, one ParsedEntity per
    participant linked ``member_of`` the group. Times are aware UTC from milliseconds.
    Raises ParseError for invalid or truncated JSON (line and column; raised before the
    first record), a missing ``messages`` list or a file over ``max_bytes``.
    """

    name = "messenger_json"
    label = "Facebook Messenger / Instagram messages (Download Your Information JSON)"

    def __init__(self, max_bytes: int = MAX_STREAMED_JSON_BYTES) -> None:
        self.max_bytes = max_bytes

    def sniff(self, path: Path, head: bytes) -> float:
        first, keys = json_keys_in_head(head)
        if first != "{" or "messages" not in keys and "participants" not in keys:
            return 0.0
        if keys & {"from_id", "date_unixtime", "guild"}:
            return 0.0
        if keys & {"sender_name", "timestamp_ms", "thread_path"}:
            return 0.95
        if "participants" in keys and keys & {"senderName", "threadName"}:
            return 0.9
        return 0.0

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        check_size(path, self.max_bytes)
        # Pass 1: the thread's small fields (wherever they sit), each message's sender,
        # time and offset, and the whole file's syntax, before anything is yielded.
        fields: dict[str, Any] = {}
        senders: dict[str, None] = {}
        starts: array[int] = array("q")
        times: array[float] = array("d")
        marks: list[Mark] = []
        has_list = False
        with open_json(path, encoding=options.encoding, chunk=_SEEK_CHUNK,
                       marks=marks) as reader:
            for key, value in walk_export(reader, "messages",
                                          "not a Messenger export: no 'messages' list"):
                if key is None:
                    if isinstance(value, dict):
                        starts.append(reader.start)
                        times.append(_sort_time(value))
                        s = value.get("sender_name", value.get("senderName"))
                        if isinstance(s, str) and s:
                            senders.setdefault(fix_mojibake(s))
                elif key == "messages":
                    has_list = value is ARRAY_START
                elif key in _THREAD_FIELDS:
                    fields[key] = value
        if not has_list:
            raise ParseError("not a Messenger export: no 'messages' list", file=path)
        data: dict[str, Any] = fix_mojibake_deep(fields)
        platform = "instagram" if any("instagram" in part.lower() for part in path.parts) \
            else "messenger"
        names: list[str] = []
        for p in as_list(data.get("participants")):
            name = p.get("name") if isinstance(p, dict) else p
            if isinstance(name, str) and name and name not in names:
                names.append(name)
        listed = len(names)
        # Senders missing from the list: the account owner (left out of the first exports)
        # and people who have since left a group.
        known = set(names)
        names.extend(s for s in senders if s not in known)
        thread_type = str(data.get("thread_type") or "").lower()
        if thread_type:
            is_group = thread_type == "regulargroup"
        else:
            # Without a thread type the listed participants decide; the senders only when
            # there is no list (a stray sender is more often a renamed account).
            is_group = listed > 2 if listed else len(names) > 2
        title = data.get("title") or data.get("threadName")
        thread = data.get("thread_path") or title
        base: dict[str, Any] = {"channel": platform}
        if title:
            base["conversation"] = title
        if data.get("thread_path"):
            base["conversation_id"] = data["thread_path"]
        members = [self._party(n, "participant", platform) for n in names]
        conv: Party | None = None
        if is_group:
            conv = group(str(thread or path.parent.name), title, platform)
            for i, member in enumerate(members):
                yield ParsedEntity(party=member,
                                   ref=f"participants[{i}]" if i < listed else "messages",
                                   links=(ParsedLink("member_of", member, conv),))

        # Oldest first: the file is newest first, so reverse it (ties keep their relative
        # order); sort only when the times are out of order.
        n = len(starts)
        order: Sequence[int] = range(n - 1, -1, -1) if n > 1 and times[0] > times[-1] \
            else range(n)
        in_order = all(times[order[k]] <= times[order[k + 1]] for k in range(n - 1))
        if not in_order:
            order = sorted(order, key=times.__getitem__)
        # Pass 2: read the messages back in that order.
        for index, raw in _read_back(path, options.encoding, order, in_order, starts, marks):
            msg = fix_mojibake_deep(raw)
            yield guarded(f"messages[{index}]",
                          lambda: self._event(msg, index, base, members, conv, platform))

    @staticmethod
    def _party(name: str, role: str, platform: str) -> Party:
        return account(name, name, platform, role, {"identified_by": "display name"})

    def _event(self, msg: dict[str, Any], index: int, base: dict[str, Any],
               members: list[Party], conv: Party | None, platform: str) -> ParsedEvent:
        ref = f"messages[{index}]"
        sender_name = msg.get("sender_name", msg.get("senderName"))
        raw_ts = msg.get("timestamp_ms", msg.get("timestamp"))
        occurred = utc_from_ms(_when(raw_ts))
        text = msg.get("content", msg.get("text"))
        body = text if isinstance(text, str) and text else None
        mtype = str(msg.get("type") or "")
        props: dict[str, Any] = dict(base)
        if mtype:
            props["message_type"] = mtype
        sender = self._party(sender_name, "sender", platform) \
            if isinstance(sender_name, str) and sender_name else None
        system = mtype.lower() in _SYSTEM_TYPES or (
            body is not None and isinstance(sender_name, str) and sender_name
            and mtype.lower() in ("", "generic")
            and self._is_notice(body, sender_name))
        if system:
            if msg.get("call_duration") is not None:
                props["call_duration"] = msg["call_duration"]
            if msg.get("missed") is not None:
                props["missed"] = msg["missed"]
            parties: list[Party] = []
            if sender is not None:
                parties.append(self._party(sender.value, "participant", platform))
            for u in as_list(msg.get("users")):
                if isinstance(u, dict) and u.get("name") and \
                        all(p.value != u["name"] for p in parties):
                    parties.append(self._party(u["name"], "participant", platform))
            title = body or f"{sender_name or 'someone'}: {mtype or 'notice'}"
            return ParsedEvent(kind="system", occurred_at=occurred, ref=ref, title=title,
                               body=body, parties=tuple(parties), properties=props)
        parties = [sender] if sender else []
        if conv is not None:
            parties.append(conv)
        else:
            parties.extend(recipients_for(sender.value if sender else None, members))
        attachments: list[Attachment] = []
        for key in _MEDIA_KEYS:
            for item in as_list(msg.get(key)):
                if isinstance(item, dict) and item.get("uri"):
                    attachments.append(self._attachment(str(item["uri"])))
                    created = utc_from_ms(_when(item.get("creation_timestamp")))
                    if created is not None and isinstance(item.get("creation_timestamp"), int):
                        props.setdefault("media_created_at", []).append(created.isoformat())
        sticker = msg.get("sticker")
        if isinstance(sticker, dict) and sticker.get("uri"):
            attachments.append(self._attachment(str(sticker["uri"])))
            props["sticker"] = True
        share = msg.get("share")
        if isinstance(share, dict):
            if share.get("link"):
                props["urls"] = [share["link"]]
            if share.get("share_text"):
                props["share_text"] = share["share_text"]
            if share.get("original_content_owner"):  # Instagram shared posts
                props["shared_from"] = share["original_content_owner"]
        if msg.get("call_duration") is not None:
            props["call_duration"] = msg["call_duration"]
        ip = msg.get("ip")
        if isinstance(ip, str) and ip.strip() and sender is not None:
            # Older exports name the IP address the account owner sent from.
            parties.append(Party(kind="ip", value=ip.strip(), role="origin",
                                 properties={"field": "ip"}))
        if msg.get("is_unsent") or msg.get("isUnsent"):
            props["deleted"] = True
        if msg.get("is_taken_down"):
            props["taken_down"] = True
        reactions = []
        for r in as_list(msg.get("reactions")):
            if isinstance(r, dict):
                item = {"reaction": r.get("reaction"), "actor": r.get("actor")}
                at = utc_from_ms(_when(r.get("timestamp")))
                if at is not None and isinstance(r.get("timestamp"), int):
                    item["at"] = at.isoformat()
                reactions.append(item)
        if reactions:
            props["reactions"] = reactions
        return ParsedEvent(kind="message", occurred_at=occurred, ref=ref, body=body,
                           parties=tuple(parties), attachments=tuple(attachments),
                           properties=props)

    @staticmethod
    def _is_notice(body: str, sender_name: str) -> bool:
        if _BARE_NOTICE_RE.match(body.strip()):
            return True
        for who in (sender_name, "You"):
            if body.startswith(who + " ") and _NOTICE_RE.match(body[len(who) + 1:]):
                return True
        return False

    @staticmethod
    def _attachment(uri: str) -> Attachment:
        name = Path(uri).name or uri
        return Attachment(name=name, mime=guess_mime(name), path=safe_relpath(uri))


# ---------------------------------------------------------------------------------------
# HTML pages ("Download your information" in its default HTML format)
# ---------------------------------------------------------------------------------------
#
# Checked against real pages of several years (2017-2026 data, Facebook and Instagram,
# English, Vietnamese, Chinese and Filipino accounts). The class names are obfuscated and
# change between years (``_2lej``/``_3-96 _2let`` in 2018-2021, ``_a6-g``/``_a6-p`` from
# 2022, ``<main>``/``<h2>`` from 2025), so nothing here depends on them. What has stayed:
#
# * the messages sit in the element with ``role="main"``, one block per message, newest
#   first; a block's first child names the sender, its last child holds the time and the
#   children between hold the content;
# * the content is a wrapper whose children are, in order: (unused), the text, a shared
#   link block (texts and an ``<a href>``), media (``<a href>``/``<img>``/``<video>``/
#   ``<audio>`` with paths relative to the export folder, which ``<base href>`` points at)
#   and reactions (``<ul><li>`` "emoji + name", on Instagram with the time in brackets);
# * other direct children of the main element: the pager of a split thread (``<a
#   role="button">`` links to message_N.html), Instagram's group header ("Participants: A,
#   B and C", one child) and group-invite line (two children, no time).
#
# The text is proper UTF-8 (no latin-1 mojibake as in the JSON export); Instagram writes
# some reaction emoji as hex digits of their UTF-8 bytes ("e29da4Name"), undone here.
# Times are the account's locale, with no zone: read as naive times (the import's zone).

_MONTH_FORMS: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "janvier", "janv", "januar", "jänner", "enero", "ene", "janeiro",
        "gennaio", "gen", "januari", "tammikuu", "styczeń", "stycznia", "sty", "ocak", "oca",
        "январь", "января", "янв", "січень", "січня", "січ", "leden", "ledna", "ianuarie",
        "ian", "január", "ιανουαρίου", "ιανουάριος", "ιαν"),
    2: ("february", "feb", "février", "févr", "fevr", "februar", "febrero", "fevereiro",
        "fev", "febbraio", "februari", "helmikuu", "luty", "lutego", "lut", "şubat", "şub",
        "февраль", "февраля", "фев", "февр", "лютий", "лютого", "лют", "únor", "února",
        "februarie", "február", "febr", "φεβρουαρίου", "φεβρουάριος", "φεβ"),
    3: ("march", "mar", "mars", "märz", "mär", "mrz", "marzo", "março", "marco", "maart",
        "mrt", "marts", "maret", "mac", "maaliskuu", "marzec", "marca", "mart", "март",
        "марта", "мар", "березень", "березня", "бер", "březen", "března", "martie",
        "március", "márc", "μαρτίου", "μάρτιος", "μαρ"),
    4: ("april", "apr", "avril", "avr", "abril", "abr", "aprile", "huhtikuu", "kwiecień",
        "kwietnia", "kwi", "nisan", "nis", "апрель", "апреля", "апр", "квітень", "квітня",
        "кві", "duben", "dubna", "aprilie", "április", "ápr", "απριλίου", "απρίλιος", "απρ"),
    5: ("may", "mai", "mayo", "maio", "maggio", "mag", "mei", "maj", "toukokuu", "maja",
        "mayıs", "май", "мая", "травень", "травня", "тра", "květen", "května", "május",
        "máj", "μαΐου", "μάιος", "μαΐ", "μαι"),
    6: ("june", "jun", "juin", "juni", "junio", "junho", "giugno", "giu", "kesäkuu",
        "czerwiec", "czerwca", "cze", "haziran", "haz", "июнь", "июня", "июн", "червень",
        "червня", "чер", "červen", "června", "iunie", "iun", "június", "jún", "ιουνίου",
        "ιούνιος", "ιουν"),
    7: ("july", "jul", "juillet", "juil", "juli", "julio", "julho", "luglio", "lug", "julai",
        "heinäkuu", "lipiec", "lipca", "lip", "temmuz", "tem", "июль", "июля", "июл",
        "липень", "липня", "červenec", "července", "iulie", "iul", "július", "júl",
        "ιουλίου", "ιούλιος", "ιουλ"),
    8: ("august", "aug", "août", "aout", "agosto", "ago", "augustus", "augusti", "agustus",
        "agu", "agt", "ogos", "elokuu", "sierpień", "sierpnia", "sie", "ağustos", "ağu",
        "август", "августа", "авг", "серпень", "серпня", "сер", "srpen", "srpna",
        "augusztus", "αυγούστου", "αύγουστος", "αυγ"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "setiembre", "setembro",
        "set", "settembre", "syyskuu", "wrzesień", "września", "wrz", "eylül", "eyl",
        "сентябрь", "сентября", "сен", "сент", "вересень", "вересня", "вер", "září",
        "septembrie", "szeptember", "szept", "σεπτεμβρίου", "σεπτέμβριος", "σεπ"),
    10: ("october", "oct", "octobre", "oktober", "okt", "octubre", "outubro", "out",
         "ottobre", "ott", "lokakuu", "październik", "października", "paź", "ekim", "eki",
         "октябрь", "октября", "окт", "жовтень", "жовтня", "жов", "říjen", "října",
         "octombrie", "október", "οκτωβρίου", "οκτώβριος", "οκτ"),
    11: ("november", "nov", "novembre", "noviembre", "novembro", "marraskuu", "listopad",
         "listopada", "lis", "kasım", "kas", "ноябрь", "ноября", "ноя", "нояб", "листопад",
         "листопада", "listopadu", "noiembrie", "noi", "νοεμβρίου", "νοέμβριος", "νοε"),
    12: ("december", "dec", "décembre", "déc", "dezember", "dez", "diciembre", "dic",
         "dezembro", "dicembre", "desember", "des", "disember", "dis", "joulukuu", "grudzień",
         "grudnia", "gru", "aralık", "ara", "декабрь", "декабря", "дек", "грудень", "грудня",
         "гру", "prosinec", "prosince", "decembrie", "δεκεμβρίου", "δεκέμβριος", "δεκ"),
}


def _fold(text: str) -> str:
    """Lower case without accents (for matching month names and markers)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


_MONTHS: dict[str, int] = {}
for _month, _forms in _MONTH_FORMS.items():
    for _form in _forms:
        _MONTHS.setdefault(_fold(_form), _month)
#: Full month names (5+ letters) that inflected forms start with ("tammikuuta").
_MONTH_STEMS = sorted((f, m) for f, m in _MONTHS.items() if len(f) >= 5)

_LETTER = r"[^\W\d_]"
_AMPM_RE = re.compile(
    rf"(?<!{_LETTER})(?:(?P<am>a\.? ?m\.?|sa|sang|π\.? ?μ\.?)|(?P<pm>p\.? ?m\.?|ch|chieu|toi|"
    rf"μ\.? ?μ\.?))(?!{_LETTER})|(?P<am2>上午|午前|오전)|(?P<pm2>下午|午後|오후)")
_CLOCK_RE = re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?::(\d{2}))?(?!\d)")
_DOT_CLOCK_RE = re.compile(r"(?<![\d.])(\d{1,2}) ?[.h] ?(\d{2})(?:\.(\d{2}))?(?![\d.])")
_YEAR_RE = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_YMD_RE = re.compile(r"(?<!\d)(\d{4}) ?[./-] ?(\d{1,2}) ?[./-] ?(\d{1,2})(?!\d)")
_XYY_RE = re.compile(r"(?<!\d)(\d{1,2}) ?([./-]) ?(\d{1,2}) ?\2 ?(\d{4})(?!\d)")
_CJK_MONTH_RE = re.compile(r"(\d{1,2}) ?[月월]")
_CJK_DAY_RE = re.compile(r"(\d{1,2}) ?[日일]")
_VI_MONTH_RE = re.compile(r"thang ?(\d{1,2})(?!\d)")
_WORD_RE = re.compile(rf"{_LETTER}+")
_NUMBER_RE = re.compile(r"(?<!\d)(\d{1,2})(?!\d)")


class _BadDate(ValueError):
    """A message time that cannot be read (the message says why)."""


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.digit(ch)) if ch.isdigit() and not ch.isascii() else ch
                   for ch in text)


def read_local_time(text: str) -> tuple[datetime | None, datetime | None]:
    """A locale-formatted time of a Facebook/Instagram HTML page as naive datetimes.

    Returns (day-first reading, month-first reading): the same datetime twice unless the
    date is all digits with the day and month both 12 or less and nothing telling their
    order ("05/01/2024"); one of them is None when the digits only fit the other order.
    Reads month names of the main European languages (full, abbreviated, inflected),
    Chinese/Japanese/Korean year-month-day markers, Vietnamese "tháng N", day.month.year
    dates and year-first numeric dates, with 12-hour markers (am/pm, 上午/下午, 午前/午後,
    오전/오후, SA/CH...). Raises _BadDate naming what is missing or contradictory.
    """
    raw = text
    s = _ascii_digits(unicodedata.normalize("NFKC", text)).replace("\u202f", " ")
    s = _fold(" ".join(s.split()))
    half = None
    m = _AMPM_RE.search(s)
    if m:
        half = "am" if (m.group("am") or m.group("am2")) else "pm"
        s = s[:m.start()] + " " + s[m.end():]
    clock = _CLOCK_RE.search(s) or _DOT_CLOCK_RE.search(s)
    if not clock:
        raise _BadDate(f"no time of day in {raw!r}")
    hour, minute = int(clock.group(1)), int(clock.group(2))
    second = int(clock.group(3) or 0)
    if half is not None:
        if not 1 <= hour <= 12:
            raise _BadDate(f"hour {hour} with an am/pm marker in {raw!r}")
        hour = hour % 12 + (12 if half == "pm" else 0)
    d = s[:clock.start()] + " " + s[clock.end():]
    years = _YEAR_RE.findall(d)
    if len(years) != 1:
        raise _BadDate(f"no four-digit year in {raw!r}" if not years else
                       f"more than one year in {raw!r}")
    year = int(years[0])
    if not 1995 <= year <= 2100:
        raise _BadDate(f"year {year} out of range in {raw!r} (another calendar?)")
    words = [w for w in _WORD_RE.findall(d)]

    def build(day: int, month: int) -> datetime | None:
        try:
            return datetime(year, month, day, hour, minute, second)
        except ValueError:
            return None

    numeric = _YMD_RE.search(d)
    if numeric:
        got = build(int(numeric.group(3)), int(numeric.group(2)))
        if got is None:
            raise _BadDate(f"no such date in {raw!r}")
        return got, got
    numeric = _XYY_RE.search(d)
    if numeric:
        a, sep, b = int(numeric.group(1)), numeric.group(2), int(numeric.group(3))
        day_first = build(a, b)
        month_first = None if sep == "." else build(b, a)  # dots: always day.month.year
        if day_first is None and month_first is None:
            raise _BadDate(f"no such date in {raw!r}")
        return day_first, month_first
    month: int | None = None
    for rx in (_CJK_MONTH_RE, _VI_MONTH_RE):
        mm = rx.search(d)
        if mm:
            month = int(mm.group(1))
            d = d[:mm.start()] + " " + d[mm.end():]
            break
    day_m = _CJK_DAY_RE.search(d)
    if month is None:
        found = set()
        for w in words:
            if w in _MONTHS:
                found.add(_MONTHS[w])
            else:
                found.update(mm for stem, mm in _MONTH_STEMS if w.startswith(stem))
        if len(found) > 1:
            raise _BadDate(f"more than one month name in {raw!r}")
        if not found:
            raise _BadDate(f"no month in {raw!r} (language not supported?)")
        month = found.pop()
    if day_m:
        day = int(day_m.group(1))
    else:
        rest = _NUMBER_RE.findall(_YEAR_RE.sub(" ", d))
        if len(rest) != 1:
            raise _BadDate(f"no day of the month in {raw!r}" if not rest else
                           f"cannot tell the day of the month in {raw!r}")
        day = int(rest[0])
    got = build(day, month)
    if got is None:
        raise _BadDate(f"no such date in {raw!r}")
    return got, got


_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                        "meta", "param", "source", "track", "wbr"})
_MEDIA_TAGS = {"img": "src", "video": "src", "audio": "src", "source": "src", "a": "href"}
_THREAD_DIRS = ("inbox", "archived_threads", "filtered_threads", "message_requests",
                "e2ee_cutover")
_THREAD_IN_URI = re.compile(r"(?:^|/)messages/((?:" + "|".join(_THREAD_DIRS) + r")/[^/]+)/")
_GENERATED_BY = re.compile(r"\bGenerated by (.{1,200}?) on ")
_PARTICIPANTS_SPLIT = re.compile(
    r",\s*|\s+(?:and|et|und|y|e|i|и|ve|en|och|og|dan|és|a|și|και|và|at|ja|та|і)\s+")
_HEX_EMOJI = re.compile(r"^((?:[0-9a-f]{2}){2,8})(?=\S)")
_REACTION_AT = re.compile(r"\s*\(([^()]*\d[^()]*)\)\s*$")
# Call lines of Messenger's HTML (the JSON marks them with type "Call"; the HTML only has
# the wording, English here).
_HTML_CALL_RE = re.compile(
    r"^(?:.{1,80} called you|you called .{1,80}|.{1,80} missed your (?:video |audio )?call|"
    r"you missed a (?:video |audio )?call from .{1,80}|the (?:video |audio )?call ended|"
    r"(?:video |audio )?call ended)[.!]?$", re.I)
#: Largest text gathered for one message block (a runaway page is refused, not loaded).
_MAX_BLOCK_CHARS = 16 * 1024 * 1024


class _Node:
    """One element of a message block (the rest of the page is never kept)."""

    __slots__ = ("tag", "attrs", "kids")

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.kids: list[_Node | str] = []

    def elements(self) -> list[_Node]:
        return [k for k in self.kids if isinstance(k, _Node)]

    def text(self) -> str:
        out: list[str] = []
        self._text(out)
        return "".join(out)

    def _text(self, out: list[str]) -> None:
        for k in self.kids:
            if isinstance(k, str):
                out.append(k)
            elif k.tag == "br":
                out.append("\n")
            else:
                k._text(out)

    def walk(self) -> Iterator[_Node]:
        yield self
        for k in self.kids:
            if isinstance(k, _Node):
                yield from k.walk()


def _clean(text: str) -> str:
    lines = [" ".join(ln.replace("\xa0", " ").split()) for ln in text.split("\n")]
    return "\n".join(ln for ln in lines).strip()


class _MessengerPage(HTMLParser):
    """Streams one HTML page: collects the header fields and hands each direct child
    block of the main element to ``on_block`` as a small tree, then forgets it."""

    def __init__(self, on_block: Any) -> None:
        super().__init__(convert_charrefs=True)
        self.on_block = on_block
        self.title: list[str] = []
        self.base: str | None = None
        self.header_text: list[str] = []
        self.instagram = False
        self.main_seen = False
        self.main_closed = False
        self.thread_hrefs: set[str] = set()
        self._stack: list[str] = []
        self._main_at = -1          # stack depth of the main element
        self._nodes: list[_Node] = []  # open elements of the current block
        self._block_pos: tuple[int, int] = (0, 0)
        self._block_chars = 0
        self._in_title = False
        self._skip = 0              # inside <style>/<script>

    # -- tags ------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs if k in ("href", "src", "role", "datetime")}
        self._open(tag, a, void=tag in _VOID_TAGS)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs if k in ("href", "src", "role", "datetime")}
        self._open(tag, a, void=True)

    def _open(self, tag: str, a: dict[str, str], void: bool) -> None:
        if tag == "base" and self.base is None and "href" in a:
            self.base = a["href"]
        if tag == "img" and "instagram-logo" in a.get("src", "").lower() and not self._nodes:
            self.instagram = True
        if tag in ("style", "script") and not void:
            self._skip += 1
        if tag == "title" and not void:
            self._in_title = True
        href = a.get("href", "")
        if href and re.search(r"(?:^|/)message_\d+\.html?$", href):
            self.thread_hrefs.add(href)
        if self._nodes:
            node = _Node(tag, a)
            self._nodes[-1].kids.append(node)
            if not void:
                self._nodes.append(node)
                self._stack.append(tag)
            return
        if self.main_seen and not self.main_closed and len(self._stack) == self._main_at + 1:
            node = _Node(tag, a)
            self._block_pos = self.getpos()
            self._block_chars = 0
            if void:
                self.on_block(node, self._block_pos)
            else:
                self._nodes.append(node)
                self._stack.append(tag)
            return
        if void:
            return
        self._stack.append(tag)
        if a.get("role") == "main" and not self.main_seen:
            self.main_seen = True
            self._main_at = len(self._stack) - 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)
        if tag == "title":
            self._in_title = False
        if tag in _VOID_TAGS or tag not in self._stack:
            return  # a stray end tag
        # Close up to the matching element (browsers' tolerance for unclosed children).
        while self._stack:
            top = self._stack.pop()
            depth = len(self._stack)
            if self._nodes and depth > self._main_at:
                node = self._nodes.pop()
                if not self._nodes:
                    self.on_block(node, self._block_pos)
            elif self.main_seen and depth == self._main_at and not self.main_closed:
                self.main_closed = True
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title.append(data)
        if self._nodes:
            self._block_chars += len(data)
            if self._block_chars > _MAX_BLOCK_CHARS:
                raise ParseError(f"a message block holds over {_MAX_BLOCK_CHARS:,} characters "
                                 "of text", ref=self._where(self._block_pos))
            self._nodes[-1].kids.append(data)
        elif not self.main_seen and sum(map(len, self.header_text)) < 4096:
            self.header_text.append(data)

    @staticmethod
    def _where(pos: tuple[int, int]) -> str:
        return f"line {pos[0]} column {pos[1] + 1}"

    @property
    def in_block(self) -> bool:
        return bool(self._nodes)


def _hex_emoji(text: str) -> str:
    """Instagram writes some reaction emoji as the hex digits of their UTF-8 bytes."""
    m = _HEX_EMOJI.match(text)
    if m:
        try:
            emoji = bytes.fromhex(m.group(1)).decode("utf-8")
        except ValueError:
            return text
        if emoji and all(not ch.isascii() for ch in emoji):
            return emoji + text[m.end():]
    return text


def _split_reaction(text: str) -> tuple[str, str]:
    """("❤", "Ann") from "❤ Ann" / "❤Ann": the reaction is the run of non-letters in front."""
    i = 0
    while i < len(text) and not (text[i].isalnum()):
        i += 1
    return text[:i].strip(), text[i:].strip()


def _is_local(uri: str) -> bool:
    return bool(uri) and not re.match(r"^(?:[a-z][a-z0-9+.-]*:|#|//)", uri, re.I)


class _Block:
    """What one message block of the page says (kept as JSON in the spill file)."""

    @staticmethod
    def read(node: _Node) -> tuple[str, Any]:
        """("message", fields) / ("participants", names) / ("other", None)."""
        kids = node.elements()
        if not kids or any(k.tag == "a" for k in kids):
            return "other", None  # the pager of a split thread, or nothing
        if len(kids) == 1:
            text = _clean(kids[0].text())
            if ":" in text and not kids[0].elements():
                return "participants", text
            return "other", None
        last = kids[-1]
        if len(kids) == 2 and (any(e.tag != "div" or e.elements() for e in last.elements())
                               or not re.search(r"\d", last.text())):
            return "other", None  # Instagram's group invite-link line
        fields: dict[str, Any] = {"sender": _clean(kids[0].text()),
                                  "time": _clean(last.text())}
        body: list[str] = []
        media: list[str] = []
        urls: list[str] = []
        shares: list[str] = []
        reactions: list[list[str]] = []
        for content in kids[1:-1]:
            wrapper = content
            inner = content.elements()
            if len(inner) == 1 and not _clean("".join(k for k in content.kids
                                                      if isinstance(k, str))):
                wrapper = inner[0]
            parts = wrapper.elements()
            if len(parts) >= 2 and not _clean("".join(k for k in wrapper.kids
                                                       if isinstance(k, str))):
                text_parts = [parts[0], parts[1]]
                others = parts[2:]
            else:
                text_parts, others = [wrapper], []
            for part in text_parts:
                _Block._scan(part, body, media, urls, shares, reactions, text_part=True)
            for part in others:
                _Block._scan(part, body, media, urls, shares, reactions, text_part=False)
        text = "\n".join(t for t in body if t)
        fields.update(text=text or None, media=media, urls=urls, shares=shares,
                      reactions=reactions)
        return "message", fields

    @staticmethod
    def _scan(part: _Node, body: list[str], media: list[str], urls: list[str],
              shares: list[str], reactions: list[list[str]], text_part: bool) -> None:
        links = False
        for n in part.walk():
            if n.tag == "ul":
                for li in n.elements():
                    reactions.append(_Block._reaction(li))
            attr = _MEDIA_TAGS.get(n.tag)
            uri = n.attrs.get(attr, "") if attr else ""
            if uri and _is_local(uri):
                if uri not in media:
                    media.append(uri)
            elif uri.lower().startswith(("http://", "https://")):
                links = True
                if uri not in urls:
                    urls.append(uri)
        texts = _Block._texts(part)
        if text_part:
            body.append(_clean("\n".join(texts)) if texts else "")
        elif links:
            shares.extend(t for t in texts if t not in urls)
        else:
            body.extend(texts)

    @staticmethod
    def _texts(node: _Node) -> list[str]:
        """The texts of ``node`` outside reactions and media, one per block element."""
        out: list[str] = []
        cur: list[str] = []

        def walk(n: _Node) -> None:
            for k in n.kids:
                if isinstance(k, str):
                    cur.append(k)
                elif k.tag == "br":
                    cur.append("\n")
                elif k.tag in ("ul", "img", "video", "audio"):
                    continue
                elif k.tag == "a" and _is_local(k.attrs.get("href", "")):
                    continue
                elif k.tag in ("div", "p", "li", "section", "h2", "h3"):
                    flush()
                    walk(k)
                    flush()
                else:
                    walk(k)

        def flush() -> None:
            t = _clean("".join(cur))
            cur.clear()
            if t:
                out.append(t)

        walk(node)
        flush()
        return out

    @staticmethod
    def _reaction(li: _Node) -> list[str]:
        text = _clean(li.text())
        at = ""
        m = _REACTION_AT.search(text)
        if m:
            at, text = m.group(1).strip(), text[:m.start()]
        reaction, actor = _split_reaction(_hex_emoji(text))
        return [reaction, actor, at]


class _PageFiles:
    """The files a message page links to, read strictly inside an export folder.

    A link is looked up from the export folder the page's ``<base href>`` names, else in
    the thread's own folder (a thread copied out without the rest of the export), each
    through :class:`ExportFiles`. A link refused as leading out of its folder is not
    tried elsewhere; it waits for :meth:`notices`. Not thread-safe: one per page.
    """

    def __init__(self, root: Path | None, thread: Path) -> None:
        self.export = ExportFiles(root) if root is not None else None
        self.thread_name = thread.name
        self.thread = ExportFiles(thread)
        self._refused: list[Notice] = []

    def hashes(self, uri: str) -> FileHashes | None:
        """Size and digests of the file ``uri`` names, or None (not there, refused)."""
        rel = safe_relpath(uri)
        tries: list[tuple[ExportFiles, str]] = []
        if self.export is not None:
            tries.append((self.export, uri))
        if rel is not None:
            parts = rel.replace("\\", "/").split("/")
            if self.thread_name in parts:
                tail = "/".join(parts[parts.index(self.thread_name) + 1:])
                tries.append((self.thread, tail))
        elif self.export is None:
            tries.append((self.thread, uri))  # nothing is read: only the refusal is noted
        for files, written in tries:
            got = files.hashes(written)
            refused = files.notices("")
            if refused:
                self._refused.extend(refused)
                return None
            if got is not None:
                return got
        return None

    def notices(self, ref: str) -> list[Notice]:
        """Notices for the links refused since the last call, naming ``ref``."""
        out = [replace(n, ref=ref) for n in self._refused]
        self._refused.clear()
        return out


def _epoch_seconds(when: datetime | None) -> float:
    return (when - datetime(1970, 1, 1)).total_seconds() if when is not None else math.nan


class MessengerHtmlParser:
    """Facebook Messenger / Instagram DM thread page in HTML (``message_N.html``).

    The default format of "Download your information". Yields the same records as the
    JSON importer: "message" and "system" ParsedEvents oldest first, ParsedEntity
    ``member_of`` links for a group; senders are ``account`` parties with the same values
    (display name, platform "messenger" or "instagram"), the conversation id is the
    thread's ``inbox/<folder>`` path as in the JSON, so a person is one entity whichever
    format a thread came in. Times are the page's locale text read as naive times (the
    import's zone). ``ref`` is "message N", N counting the page's message blocks from the
    top (the newest). Attachments keep the export's relative path and, when the file is
    in the export folder beside the page, its size, SHA-256 and MD5. Only files inside
    that folder are read: a link leading out of it (``..``, absolute, a symbolic link
    pointing out) is recorded by name and yields a Notice with the message's ref, and a
    FIFO is never opened.

    The page is streamed (html.parser) and its messages spilled to a temporary file, so
    memory stays flat however long the thread. The whole page is read before the first
    record: a cut-off page (main element or a message not closed), a page with no main
    element (not such an export), or one where no message time can be read raise
    ParseError naming the file and element; one unreadable time among readable ones is a
    RowError for that message. All-digit dates ("05/01/2024") take their day/month order
    from the other dates of the page; when none settles it, ParseError.
    """

    name = "messenger_html"
    label = "Facebook Messenger / Instagram messages (Download Your Information HTML)"

    def __init__(self, max_bytes: int = MAX_STREAMED_JSON_BYTES) -> None:
        self.max_bytes = max_bytes

    def sniff(self, path: Path, head: bytes) -> float:
        text = head_text(head)
        low = text[:4096].lower()
        if "<html" not in low and "<!doctype html" not in low:
            return 0.0
        if 'class="page_wrap"' in text:  # Telegram's export
            return 0.0
        markers = ("static.xx.fbcdn.net", "Instagram-Logo.png", "uiBoxWhite", "._a6-g{",
                   "._2lej{", "._a706{", "._4t5n{", 'class="_a706"', 'class="_4t5n"')
        if not any(m in text for m in markers):
            return 0.0
        score = 0.6
        if re.fullmatch(r"message_\d+\.html?", Path(path).name, re.I):
            score += 0.25
        if 'role="main"' in text or '<base href="../' in text:
            score += 0.1
        return min(score, 0.95)

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        check_size(path, self.max_bytes, "HTML exports")
        with tempfile.TemporaryFile() as spill:
            yield from self._parse(path, options, spill)

    def _parse(self, path: Path, options: ImportOptions, spill: IO[bytes]) -> Iterator[Record]:
        # Pass 1: the whole page, each message spilled with its offset and both readings
        # of its time; nothing is yielded before the page is known to be whole.
        offsets: array[int] = array("q")
        t_day: array[float] = array("d")
        t_month: array[float] = array("d")
        senders: dict[str, None] = {}
        participants: list[str] = []
        state: dict[str, Any] = {"n": 0, "bad": 0, "first_bad": None, "ambiguous": None,
                                 "messages_seen": False}

        def on_block(node: _Node, pos: tuple[int, int]) -> None:
            kind, value = _Block.read(node)
            if kind == "participants" and not state["messages_seen"] and not participants:
                names = value.partition(":")[2]
                participants.extend(n.strip() for n in _PARTICIPANTS_SPLIT.split(names)
                                    if n.strip())
                return
            if kind != "message":
                return
            state["messages_seen"] = True
            state["n"] += 1
            value["n"] = state["n"]
            value["pos"] = list(pos)
            try:
                a, b = read_local_time(value["time"])
            except _BadDate as exc:
                a = b = None
                value["bad"] = str(exc)
                state["bad"] += 1
                if state["first_bad"] is None:
                    state["first_bad"] = (state["n"], pos, str(exc))
            else:
                if a != b and a is not None and b is not None and state["ambiguous"] is None:
                    state["ambiguous"] = (state["n"], pos, value["time"])
            if value["sender"]:
                senders.setdefault(value["sender"])
            offsets.append(spill.tell())
            t_day.append(_epoch_seconds(a))
            t_month.append(_epoch_seconds(b))
            spill.write(json.dumps(value, ensure_ascii=False).encode("utf-8") + b"\n")

        page = _MessengerPage(on_block)
        try:
            with open_text(path, encoding=options.encoding) as fh:
                while chunk := fh.read(1 << 16):
                    page.feed(chunk)
            page.close()
        except UnicodeDecodeError as exc:
            raise ParseError(f"undecodable bytes ({exc.reason})", file=path) from None
        except ParseError as exc:
            raise ParseError(exc.message, file=path, ref=exc.ref) from None
        where = _MessengerPage._where
        if not page.main_seen:
            raise ParseError("not a Facebook/Instagram message page: no element with "
                             'role="main"', file=path)
        if page.in_block or not page.main_closed:
            at = f"message {state['n'] + 1}" if page.in_block else "the end of the page"
            raise ParseError(f"the page ends early at {at} (truncated file?)", file=path,
                             ref=where(page.getpos()))
        n = len(offsets)
        if n and state["bad"] == n:
            num, pos, why = state["first_bad"]
            raise ParseError(f"cannot read the message times: {why}", file=path,
                             ref=f"message {num} ({where(pos)})", field="time")
        # Day/month order of all-digit dates: the order every readable date allows.
        day_ok = all(not math.isnan(t_day[i]) or math.isnan(t_month[i]) for i in range(n))
        month_ok = all(not math.isnan(t_month[i]) or math.isnan(t_day[i]) for i in range(n))
        forced = forced_date_order(options, path)
        if forced is not None:
            day_ok, month_ok = forced == "dmy", forced == "mdy"
        elif state["ambiguous"] is not None and day_ok and month_ok:
            num, pos, raw = state["ambiguous"]
            raise ParseError(f"cannot tell day from month in dates such as {raw!r}: no date "
                             "on this page settles the order (give the date order: dmy or mdy)",
                             file=path, ref=f"message {num} ({where(pos)})", field="time")
        times = t_day if day_ok or not month_ok else t_month
        day_first = times is t_day

        platform = "instagram" if page.instagram or any(
            "instagram" in part.lower() for part in path.parts) else "messenger"
        title = _clean("".join(page.title)) or None
        thread = self._thread_path(path, page)
        owner = None
        g = _GENERATED_BY.search(" ".join("".join(page.header_text).split()))
        if g:
            owner = g.group(1).strip()
        if not participants:
            # A later page of a split thread: the participants line is on the first one.
            participants = self._first_page_participants(path, options)
        names = list(dict.fromkeys(participants))
        listed = len(names)
        known = set(names)
        names.extend(s for s in senders if s not in known)
        is_group = listed > 2 if listed else len(names) > 2
        if owner and owner not in names and not is_group:
            names.append(owner)  # the other side of a one-to-one thread
        base: dict[str, Any] = {"channel": platform}
        if title:
            base["conversation"] = title
        if thread:
            base["conversation_id"] = thread
        members = [MessengerJsonParser._party(nm, "participant", platform) for nm in names]
        conv: Party | None = None
        if is_group:
            conv = group(str(thread or title or path.parent.name), title, platform)
            for i, member in enumerate(members):
                yield ParsedEntity(party=member,
                                   ref=f"participants[{i}]" if i < listed else "messages",
                                   links=(ParsedLink("member_of", member, conv),))

        # Oldest first: the page is newest first. A message whose time cannot be read
        # keeps its place next to the one after it on the page.
        keys = array("d", times)
        for i in range(n - 1, -1, -1):
            if math.isnan(keys[i]):
                keys[i] = keys[i + 1] if i + 1 < n else -math.inf
        order: Sequence[int] = range(n - 1, -1, -1)
        if not all(keys[order[k]] <= keys[order[k + 1]] for k in range(n - 1)):
            order = sorted(order, key=keys.__getitem__)
        files = _PageFiles(self._export_root(path, page.base), path.parent)
        mkevent = self._event
        for i in order:
            spill.seek(offsets[i])
            msg = json.loads(spill.readline())
            ref = f"message {msg['n']}"
            if msg.get("bad"):
                yield RowError(ref=f"{ref} ({where(tuple(msg['pos']))})", field="time",
                               message=f"cannot read the message time: {msg['bad']}")
                continue
            a, b = read_local_time(msg["time"])
            occurred = a if day_first else b
            yield guarded(ref, lambda: mkevent(msg, ref, occurred, base, members, conv,
                                               platform, files, day_first))
            yield from files.notices(ref)

    @staticmethod
    def _first_page_participants(path: Path, options: ImportOptions) -> list[str]:
        """The participants line of ``message_1.html`` beside a later page, read up to
        its first message only; [] when there is none."""
        m = re.fullmatch(r"message_(\d+)(\.html?)", path.name, re.I)
        first = path.with_name(f"message_1{m.group(2)}") if m and m.group(1) != "1" else None
        # Only a regular file of the thread's own folder: a link there may point anywhere.
        if first is None or first.is_symlink() or not first.is_file():
            return []
        found: list[str] = []

        class _Done(Exception):
            pass

        def on_block(node: _Node, pos: tuple[int, int]) -> None:
            kind, value = _Block.read(node)
            if kind == "participants":
                found.extend(n.strip() for n in
                             _PARTICIPANTS_SPLIT.split(value.partition(":")[2]) if n.strip())
            if kind in ("participants", "message"):
                raise _Done

        page = _MessengerPage(on_block)
        try:
            with open_text(first, encoding=options.encoding) as fh:
                while chunk := fh.read(1 << 16):
                    page.feed(chunk)
        except (_Done, ParseError, UnicodeDecodeError, OSError):
            pass
        return found

    @staticmethod
    def _thread_path(path: Path, page: _MessengerPage) -> str | None:
        """``inbox/<folder>`` as the JSON's ``thread_path``: from where the page sits,
        else from its pager links."""
        parent = path.parent
        if parent.parent.name in _THREAD_DIRS:
            return f"{parent.parent.name}/{parent.name}"
        for href in sorted(page.thread_hrefs):
            m = _THREAD_IN_URI.search(href)
            if m:
                return m.group(1)
        return None

    @staticmethod
    def _export_root(path: Path, base: str | None) -> Path | None:
        """The export folder the page's relative links start from (its ``<base href>``)."""
        if base is None or not re.fullmatch(r"(?:\.\./)*(?:\./)?", base.strip()):
            return None
        return Path(os.path.normpath(path.parent / base.strip())) if base.strip() else \
            path.parent

    def _event(self, msg: dict[str, Any], ref: str, occurred: datetime | None,
               base: dict[str, Any], members: list[Party], conv: Party | None,
               platform: str, files: _PageFiles, day_first: bool) -> ParsedEvent:
        sender_name = msg["sender"] or None
        body = msg["text"]
        props: dict[str, Any] = dict(base)
        sender = MessengerJsonParser._party(sender_name, "sender", platform) \
            if sender_name else None
        if body is not None and not msg["media"] and not msg["shares"] and (
                _HTML_CALL_RE.match(body.strip()) or
                (sender_name and MessengerJsonParser._is_notice(body, sender_name))):
            parties = [MessengerJsonParser._party(sender_name, "participant", platform)] \
                if sender_name else []
            return ParsedEvent(kind="system", occurred_at=occurred, ref=ref, title=body,
                               body=body, parties=tuple(parties), properties=props)
        parties: list[Party] = [sender] if sender else []
        if conv is not None:
            parties.append(conv)
        else:
            parties.extend(recipients_for(sender_name, members))
        attachments = [self._attachment(uri, files) for uri in msg["media"]]
        if any("stickers_used" in uri for uri in msg["media"]):
            props["sticker"] = True
        if msg["urls"]:
            props["urls"] = msg["urls"]
        if msg["shares"]:
            props["share_text"] = msg["shares"][0]
            if len(msg["shares"]) > 1:
                props["shared_from"] = msg["shares"][1]
        reactions = []
        for reaction, actor, at in msg["reactions"]:
            item: dict[str, Any] = {"reaction": reaction or None, "actor": actor or None}
            if at:
                try:
                    a, b = read_local_time(at)
                except _BadDate:
                    item["at_text"] = at
                else:
                    when = a if day_first else b
                    if when is not None:
                        item["at"] = when.isoformat()
            reactions.append(item)
        if reactions:
            props["reactions"] = reactions
        return ParsedEvent(kind="message", occurred_at=occurred, ref=ref, body=body,
                           parties=tuple(parties), attachments=tuple(attachments),
                           properties=props)

    @staticmethod
    def _attachment(uri: str, files: _PageFiles) -> Attachment:
        name = Path(uri).name or uri
        got = files.hashes(uri)
        return Attachment(name=name, mime=guess_mime(name), size=got.size if got else None,
                          sha256=got.sha256 if got else None, md5=got.md5 if got else None,
                          path=safe_relpath(uri))
