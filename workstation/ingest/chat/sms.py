"""Android "SMS Backup & Restore" (SyncTech, formerly Ritesh Sahu) XML backups.

Two kinds of file, told apart by their root element:

* ``sms-<date>.xml``: ``<smses count="N">`` holding ``<sms .../>`` and ``<mms>`` elements.
  An ``<sms>`` carries everything in attributes: ``address`` (the other party), ``date``
  (Unix milliseconds, UTC), ``type`` (1 received, 2 sent, 3 draft, 4 outbox, 5 failed,
  6 queued), ``body``, ``subject``, ``read``, ``status`` (-1 none, 0 complete, 32 pending,
  64 failed), ``locked``, ``date_sent``, ``service_center``, ``sub_id`` (the SIM),
  ``readable_date`` (the phone's display text only) and ``contact_name`` ("(Unknown)" when
  the number was not in the phone's contacts). An ``<mms>`` has the same kind of metadata
  (``msg_box`` instead of ``type``, ``sub`` for the subject, ``m_type``, ``m_id``,
  ``address`` as a "~"-joined list), ``<parts><part seq ct name chset cd fn cid cl ctt_s
  ctt_t text data/></parts>`` (``data`` is base64: a photo, video, sound or contact card)
  and ``<addrs><addr address type charset/></addrs>`` (type 137 from, 151 to, 130 cc,
  129 bcc). The app writes absent values as the text "null".
* ``calls-<date>.xml``: ``<calls count="N">`` holding ``<call number duration date type
  presentation subscription_id post_dial_digits readable_date contact_name/>``; ``type`` 1
  incoming, 2 outgoing, 3 missed, 4 voicemail, 5 rejected, 6 refused list (blocked), 7
  answered on another device; ``presentation`` 1 allowed, 2 restricted, 3 unknown, 4
  payphone; ``duration`` in seconds.

Each sms/mms is a ``ParsedEvent(kind="message")``, each call a ``ParsedEvent(kind="call")``
(``properties["direction"]``, ``["call_type"]``, ``["duration_seconds"]``; the other party
as ``role="caller"`` or ``"receiver"``). Times are aware UTC datetimes from ``date``;
``date_sent`` is kept as ``properties["sent_at"]`` (MMS store it in seconds, SMS in
milliseconds; the magnitude tells). The other party is a ``Party(kind="phone")`` with
the number in E.164, read with the import's default region when written without a
country code, and ``contact_name`` as its label (an e-mail address written as an MMS
address is a ``Party(kind="email")``; a short code or alphanumeric sender that is no phone
number is an ``account`` on platform "sms"). The backup does not say whose phone it is:
the owner is the sender of sent messages and the recipient of received ones only when
``options.owner`` names them (a phone number, else a person's name); otherwise the
owner is left out and ``properties["device_owner"]`` says so. Messages that were never
sent (draft, outbox, failed, queued) say so in ``properties["box"]`` and
``properties["not_sent"]``.

An MMS with several addresses is a group message: the 137 address is the sender and the
others its recipients (``properties["cc"]``/``["bcc"]`` list those that were copies). Its
text parts, in ``seq`` order, are the body; SMIL layout parts are ignored; any other part
is an :class:`Attachment` with name, content type and the size and SHA-256 of its decoded
``data``. A part whose base64 is corrupt (a character that is not base64, data after the
padding) is listed without hash or size and gives a :class:`Notice` naming the message,
the part and the first bad character: the rest of the backup still imports.

The file is read as a stream and memory stays flat whatever the size of the backup or of
one attachment: each record is cleared once read, and the ``data`` of every part - an
attribute, which any XML parser would build whole - is taken out of the bytes before they
reach the parser and hashed as it is read (:class:`_PartDataScanner`); the parser sees a
placeholder naming what was read. Line breaks and ``&#10;`` references inside the base64
are allowed; a value that is not well-formed XML is still left to the parser to refuse.
The parser is defusedxml's: a DTD, entity declaration or external reference is refused; a
file that is not well-formed XML - a truncated backup above all, even one cut inside a
part's data - raises ParseError naming the file, line and the record it stops in, so the
pipeline imports nothing rather than the records before the cut. Android's XML writer stores emoji
as two character references to UTF-16 surrogates (``&#55357;&#56832;``), which no XML
parser accepts: such pairs are turned into the one character they encode before parsing
(a lone surrogate, or a reference to a character XML forbids, becomes U+FFFD and a Notice
counts them). A ``count`` that does not match the records read is a Notice too.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import secrets
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from workstation.analysis.identifiers import IdentifierError, normalize_phone
from workstation.ingest.chat._common import head_text
from workstation.ingest.records import (
    Attachment,
    ImportOptions,
    Notice,
    ParsedEvent,
    ParseError,
    Party,
    Record,
    RowError,
)

PLATFORM = "sms"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_SMS_BOX = {1: "inbox", 2: "sent", 3: "draft", 4: "outbox", 5: "failed", 6: "queued"}
# Android's Telephony.BaseMmsColumns.MESSAGE_BOX_*.
_MMS_BOX = {1: "inbox", 2: "sent", 3: "draft", 4: "outbox", 5: "failed"}
_NOT_SENT = {"draft": "a draft, never sent", "outbox": "in the outbox, not yet sent",
             "failed": "sending failed", "queued": "queued to be sent, not yet sent"}
_SMS_STATUS = {0: "complete", 32: "pending", 64: "failed"}
_ADDR_TYPES = {137: "from", 151: "to", 130: "cc", 129: "bcc"}
# type → (call_type, direction, title)
_CALL_TYPES = {
    1: ("incoming", "incoming", "Incoming call"),
    2: ("outgoing", "outgoing", "Outgoing call"),
    3: ("missed", "incoming", "Missed call"),
    4: ("voicemail", "incoming", "Voicemail"),
    5: ("rejected", "incoming", "Rejected call"),
    6: ("blocked", "incoming", "Blocked call (refused list)"),
    7: ("answered_externally", "incoming", "Call answered on another device"),
}
_PRESENTATION = {1: "allowed", 2: "restricted", 3: "unknown", 4: "payphone"}
# Android's own stand-ins for a number it was not given (old call logs).
_WITHHELD_NUMBERS = {"-1": "unknown", "-2": "restricted", "-3": "payphone", "-4": "unknown"}
# MMS part charsets (IANA MIBenum) that differ from UTF-8.
_CHARSETS = {3: "ascii", 4: "latin-1", 1000: "utf-16-be", 1013: "utf-16-be", 1014: "utf-16-le",
             1015: "utf-16", 2026: "big5", 17: "shift_jis", 2025: "gb2312", 36: "euc-kr"}
_NULLS = frozenset({"", "null"})
_UNKNOWN_NAMES = frozenset({"", "null", "(unknown)", "unknown"})

#: Base64 characters decoded per step (a multiple of 4): bounds the extra memory of a part.
_B64_STEP = 1 << 20
#: Largest text part decoded from base64 data into the body.
_MAX_TEXT_PART = 4 * 1024 * 1024
_WS_DELETE = str.maketrans("", "", " \t\r\n")


# ---------------------------------------------------------------------- character references

_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_REF_AT_END = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));\Z")


def _ref_value(m: re.Match[bytes]) -> int:
    return int(m.group(1), 16) if m.group(1) is not None else int(m.group(2))


def _xml_char_ok(cp: int) -> bool:
    return (cp in (0x9, 0xA, 0xD) or 0x20 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD
            or 0x10000 <= cp <= 0x10FFFF)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _CharRefFilter:
    """A read-only byte stream over ``raw`` in which a pair of character references to a
    UTF-16 surrogate pair becomes one reference to the character it encodes; a lone
    surrogate or a character XML does not allow becomes U+FFFD (counted in ``replaced``).

    Line breaks are untouched, so the XML parser's line numbers stay those of the file.
    A reference or pair is never split between two reads: the tail that could be the start
    of one is held back until more bytes come.
    """

    def __init__(self, raw: _Readable, chunk: int = 1 << 20) -> None:
        self.raw = raw
        self.chunk = chunk
        self.pending = b""
        self.out = b""
        self.pos = 0
        self.eof = False
        self.replaced = 0

    def read(self, size: int = -1) -> bytes:
        # Bytes ready are handed out from ``out`` by position (no copy of the rest per read).
        while not self.eof and (size < 0 or len(self.out) - self.pos < size):
            data = self.raw.read(self.chunk)
            rest = self.out[self.pos:]
            self.pos = 0
            if not data:
                self.eof = True
                self.out = rest + self._fix(self.pending)
                self.pending = b""
                break
            buf = self.pending + data
            cut = self._safe_cut(buf)
            self.out = rest + self._fix(buf[:cut])
            self.pending = buf[cut:]
        if size < 0:
            size = len(self.out) - self.pos
        got = self.out[self.pos:self.pos + size]
        self.pos += len(got)
        return got

    @staticmethod
    def _safe_cut(buf: bytes) -> int:
        cut = len(buf)
        amp = buf.rfind(b"&", max(0, cut - 24))
        if amp != -1 and buf.find(b";", amp) == -1:
            cut = amp  # a reference cut in two: wait for its end
        m = _REF_AT_END.search(buf, max(0, cut - 24), cut)
        if m is not None and 0xD800 <= _ref_value(m) <= 0xDBFF:
            cut = m.start()  # a high surrogate: its low half may come with the next read
        return cut

    def _fix(self, buf: bytes) -> bytes:
        if b"&#" not in buf:
            return buf
        parts: list[bytes] = []
        pos = 0
        pending_high: re.Match[bytes] | None = None
        for m in _CHAR_REF.finditer(buf):
            value = _ref_value(m)
            if pending_high is not None:
                if m.start() == pending_high.end() and 0xDC00 <= value <= 0xDFFF:
                    cp = 0x10000 + ((_ref_value(pending_high) - 0xD800) << 10) + (value - 0xDC00)
                    parts.append(buf[pos:pending_high.start()])
                    parts.append(b"&#%d;" % cp)
                    pos = m.end()
                    pending_high = None
                    continue
                parts.append(buf[pos:pending_high.start()])
                parts.append(b"&#65533;")
                self.replaced += 1
                pos = pending_high.end()
                pending_high = None
            if 0xD800 <= value <= 0xDBFF:
                pending_high = m
            elif not _xml_char_ok(value):
                parts.append(buf[pos:m.start()])
                parts.append(b"&#65533;")
                self.replaced += 1
                pos = m.end()
        if pending_high is not None:
            parts.append(buf[pos:pending_high.start()])
            parts.append(b"&#65533;")
            self.replaced += 1
            pos = pending_high.end()
        parts.append(buf[pos:])
        return b"".join(parts)


# ---------------------------------------------------------------------- streamed part data

#: Bytes of the file read at a time by :class:`_PartDataScanner`.
_SCAN_CHUNK = 1 << 20
_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_XML_WS = b" \t\r\n"
# Markup that is, or may hide, a <part> start tag: the tag itself, a comment, CDATA, a PI.
_MARKUP = re.compile(
    rb"<(?:!--|!\[CDATA\[|\?|(?:[A-Za-z_][\w.\-]*:)?[pP][aA][rR][tT](?=[ \t\r\n/>]))")
_ATTR_START = re.compile(rb"[ \t\r\n]*([^ \t\r\n=/>\"'<]+)[ \t\r\n]*=[ \t\r\n]*([\"'])")
_TAG_END = re.compile(rb"[ \t\r\n]*/?>")
_NOT_B64 = re.compile(rb"[^A-Za-z0-9+/= \t\r\n]")
# What makes an attribute value not well-formed XML (or not ASCII): left for expat to judge.
_XML_HAZARD = re.compile(rb"[&<\x00-\x08\x0b\x0c\x0e-\x1f\x80-\xff]")
_NAMED_REF = re.compile(rb"&(amp|lt|gt|quot|apos);")
_TAG_ATTR = {name: re.compile(rb"[ \t\r\n]" + name + rb"[ \t\r\n]*=[ \t\r\n]*([\"'])(.*?)\1", re.S)
             for name in (b"ct", b"seq")}
#: Bytes of a <part> start tag kept (for its ct and seq) while its data streams past.
_TAG_KEEP = 64 * 1024
#: A tag that holds no quote or ">" within this many bytes is not well-formed: left to expat.
_TAG_LOOKAHEAD = 4096


@dataclass
class _PartData:
    """What the scanner read in one part's ``data`` instead of handing it to the parser."""

    seq: str | None
    chars: int = 0
    size: int = 0
    sha256: str | None = None
    corrupt: str | None = None
    missing: bool = False
    text: bytes | None = None


class _B64Stream:
    """Base64 given in pieces of any length (base64 characters only, whitespace already
    taken out) decoded into a size and SHA-256; the bytes are kept only for a text part,
    and only up to ``_MAX_TEXT_PART`` characters. The first fault is kept in ``error`` and
    decoding stops there."""

    def __init__(self, keep: bool) -> None:
        self.hash = hashlib.sha256()
        self.size = 0
        self.chars = 0
        self.head = b""
        self.carry = b""
        self.padded = False
        self.kept: bytearray | None = bytearray() if keep else None
        self.error: str | None = None

    def feed(self, clean: bytes) -> None:
        if not clean:
            return
        at = self.chars
        self.chars += len(clean)
        if len(self.head) < 8:
            self.head += clean[:8 - len(self.head)]
        if self.error is not None:
            return
        if self.padded:
            self.error = f"data after the closing '=' padding (character {at + 1})"
            return
        piece = self.carry + clean if self.carry else clean
        k = len(piece) - len(piece) % 4
        self.carry = piece[k:]
        if k:
            self._decode(piece if k == len(piece) else piece[:k])

    def invalid(self, what: str) -> None:
        self.chars += 1
        if self.error is None:
            self.error = f"not base64: {what} at character {self.chars}"

    def _decode(self, piece: bytes) -> None:
        try:
            raw = binascii.a2b_base64(piece, strict_mode=True)
        except binascii.Error as exc:
            self.error = str(exc) or "invalid base64"
            return
        self.hash.update(raw)
        self.size += len(raw)
        self.padded = piece.endswith(b"=")
        if self.kept is not None:
            if self.chars > _MAX_TEXT_PART:
                self.kept = None
            else:
                self.kept += raw

    def finish(self, seq: str | None) -> _PartData:
        if self.carry and self.error is None:
            self._decode(self.carry + b"=" * (-len(self.carry) % 4))
        if self.chars == 0 or (self.chars == 4 and self.head.lower() == b"null"):
            return _PartData(seq, missing=True)  # the app's "null": media not in the backup
        if self.error is not None:
            return _PartData(seq, self.chars, corrupt=self.error)
        return _PartData(seq, self.chars, self.size, self.hash.hexdigest(),
                         text=bytes(self.kept) if self.kept is not None else None)


class _PartDataScanner:
    """A read-only byte stream over the backup in which the value of every MMS part's
    ``data`` attribute is replaced by a short placeholder naming an entry of ``found``,
    where the value's decoded size and SHA-256 are kept: the base64 is hashed as it is
    read and never held whole, by us or by expat (which would build the whole attribute).

    Only as much XML is understood as finding those values takes: comments, CDATA and
    processing instructions are passed over (a "<part" in them is no tag), and no other
    tag needs reading, as a "<" cannot stand in an attribute value. Inside the value,
    line breaks and character references to whitespace (``&#10;``, which some app versions
    write) are skipped; the line breaks are repeated in the placeholder so the parser's
    line numbers stay those of the file. A value that is not well-formed XML (a "<", an
    unknown entity, a control character) or not ASCII is left to the parser from that
    point on, so it is judged as before: refused, or a corrupt part.
    """

    def __init__(self, raw: BinaryIO, chunk: int = _SCAN_CHUNK) -> None:
        self.raw = raw
        self.chunk = chunk
        self.buf = b""
        self.pos = 0
        self.eof = False
        self.done = False
        self.out: list[bytes] = []
        self.state = "text"
        self.skip_to = b""
        self.quote = b""
        self.tag = bytearray()
        self.stream: _B64Stream | None = None
        self.lines = 0
        self.last_cr = False
        self.serial = 0
        #: Placeholder prefix: random per file, so no value in a file can pose as one.
        self.prefix = f"#part-data-{secrets.token_hex(6)}-"
        self.found: dict[int, _PartData] = {}
        #: The part whose data the end of the file cut off, if it did.
        self.cut_off: _PartData | None = None

    def read(self, size: int = -1) -> bytes:
        while not self.out and not self.done:
            data = self.raw.read(self.chunk)
            rest = self.buf[self.pos:]
            self.buf = rest + data if rest else data
            self.pos = 0
            if not data:
                self.eof = True
            self._scan()
            if self.eof:
                self._finish()
                self.done = True
        got = b"".join(self.out)
        self.out = []
        return got

    def pop(self, value: str | None) -> _PartData | None:
        """The entry a ``data`` value names, if it is a placeholder (removed from ``found``)."""
        if not value or not value.startswith(self.prefix):
            return None
        m = re.match(r"\d+", value[len(self.prefix):])
        hit = self.found.pop(int(m.group()), None) if m else None
        return hit or _PartData(None, corrupt="the data could not be read")

    # ------------------------------------------------------------------ states
    def _emit(self, end: int) -> None:
        if end > self.pos:
            self.out.append(self.buf[self.pos:end])
            if self.state in ("tag", "value") and len(self.tag) < _TAG_KEEP:
                self.tag += self.buf[self.pos:min(end, self.pos + _TAG_KEEP)]
            self.pos = end

    def _scan(self) -> None:
        """Pass on what can be passed on; leave in ``buf`` only what needs more bytes."""
        buf = self.buf
        while self.pos < len(buf):
            if self.state == "text":
                m = _MARKUP.search(buf, self.pos)
                if m is None:
                    # Hold back a "<" near the end: it may start a tag the next read completes.
                    lt = buf.rfind(b"<", max(self.pos, len(buf) - 64))
                    self._emit(lt if lt != -1 and not self.eof else len(buf))
                    return
                self._emit(m.start())
                token = m.group()
                if token in (b"<!--", b"<![CDATA[", b"<?"):
                    self._emit(m.end())
                    self.state = "skip"
                    self.skip_to = {b"<!--": b"-->", b"<?": b"?>"}.get(token, b"]]>")
                else:
                    self.tag = bytearray()
                    self.state = "tag"
                    self._emit(m.end())
            elif self.state == "skip":
                i = buf.find(self.skip_to, self.pos)
                if i == -1:
                    keep = 0 if self.eof else len(self.skip_to) - 1  # a terminator cut in two
                    self._emit(max(self.pos, len(buf) - keep))
                    return
                self._emit(i + len(self.skip_to))
                self.state = "text"
            elif self.state == "tag":
                m = _TAG_END.match(buf, self.pos)
                if m is not None:
                    self._emit(m.end())
                    self.state = "text"
                    continue
                m = _ATTR_START.match(buf, self.pos)
                if m is None:
                    ahead = buf[self.pos:self.pos + _TAG_LOOKAHEAD]
                    if (not self.eof and len(ahead) < _TAG_LOOKAHEAD
                            and not re.search(rb"[\"'>]", ahead)):
                        return  # the attribute's name or "=" continues in the next read
                    self.state = "text"  # not well-formed: expat will say so
                    continue
                self._emit(m.end())
                self.quote = m.group(2)
                if m.group(1) == b"data":
                    ct = _TAG_ATTR[b"ct"].search(self.tag)
                    keep = ct is None or ct.group(2).strip().lower() == b"text/plain"
                    self.stream = _B64Stream(keep)
                    self.lines = 0
                    self.last_cr = False
                    self.state = "data"
                else:
                    self.state = "value"
            elif self.state == "value":
                i = buf.find(self.quote, self.pos)
                if i == -1:
                    self._emit(len(buf))
                    return
                self._emit(i + 1)
                self.state = "tag"
            else:  # data
                i = buf.find(self.quote, self.pos)
                end = len(buf) if i == -1 else i
                if i == -1 and not self.eof:
                    amp = buf.rfind(b"&", max(self.pos, end - 16), end)
                    if amp != -1 and b";" not in buf[amp:end]:
                        end = amp  # a reference cut in two: wait for its end
                stop = self._data(buf, self.pos, end)
                self.pos = stop
                if stop < end:
                    # Not base64 nor well-formed: the parser reads the rest of the value.
                    byte = buf[stop]
                    assert self.stream is not None
                    self.stream.invalid("a non-ASCII character" if byte >= 0x80 else
                                        "an '&' that is no character reference" if byte == 0x26
                                        else repr(chr(byte)))
                    self._close(quote=False)
                    self.state = "text"
                elif i != -1:
                    self._close(quote=True)
                    self.pos = i + 1
                    self.state = "tag"
                else:
                    return

    def _data(self, buf: bytes, start: int, end: int) -> int:
        """Decode ``buf[start:end]`` of a data value; the index where it stopped (``end``, or
        the byte the parser must judge)."""
        stream = self.stream
        assert stream is not None
        seg = buf[start:end]
        pattern = _NOT_B64 if stream.error is None else _XML_HAZARD
        bad = pattern.search(seg)
        if bad is None:
            self._clean(seg, stream)
            return end
        p = 0
        while bad is not None:
            j = bad.start()
            self._clean(seg[p:j], stream)
            self.last_cr = False
            byte = seg[j]
            if byte == 0x26:  # "&"
                m = _CHAR_REF.match(seg, j)
                if m is not None:
                    cp = _ref_value(m)
                    if cp in (0x9, 0xA, 0xD, 0x20):
                        pass
                    elif cp in _B64_ALPHABET:
                        stream.feed(bytes((cp,)))
                    else:
                        stream.invalid(f"the character reference {m.group().decode()}")
                    p = m.end()
                elif (m := _NAMED_REF.match(seg, j)) is not None:
                    stream.invalid(f"the entity {m.group().decode()}")
                    p = m.end()
                else:
                    return start + j
            elif byte == 0x3C or byte < 0x20 or byte >= 0x80:
                return start + j
            else:
                stream.invalid(repr(chr(byte)))
                p = j + 1
            pattern = _NOT_B64 if stream.error is None else _XML_HAZARD
            bad = pattern.search(seg, p)
        self._clean(seg[p:], stream)
        return end

    def _clean(self, seg: bytes, stream: _B64Stream) -> None:
        """Base64 and XML whitespace: the line breaks counted, the rest decoded."""
        if not seg:
            return
        lines = seg.count(b"\n")
        if lines and self.last_cr and seg[0] == 0x0A:
            lines -= 1  # "\r" + "\n" across two reads: one line break, counted with the "\r"
        crs = seg.count(b"\r")
        if crs:
            lines += crs - seg.count(b"\r\n")
        self.lines += lines
        self.last_cr = seg[-1] == 0x0D
        stream.feed(seg.translate(None, _XML_WS))

    def _close(self, quote: bool) -> None:
        assert self.stream is not None
        seq = _TAG_ATTR[b"seq"].search(self.tag)
        info = self.stream.finish(seq.group(2).decode("utf-8", "replace").strip() if seq else None)
        self.stream = None
        self.serial += 1
        self.found[self.serial] = info
        self.out.append(f"{self.prefix}{self.serial}".encode() + b"\n" * self.lines
                        + (self.quote if quote else b""))

    def _finish(self) -> None:
        if self.state == "data":
            self.pos = len(self.buf)
            self._close(quote=False)
            self.cut_off = self.found[self.serial]
            self.cut_off.corrupt = "cut off by the end of the file"
        else:
            self._emit(len(self.buf))
        self.state = "text"


# ---------------------------------------------------------------------- XML reading

class _Target:
    """A tree builder that queues ("start"/"end", element, line) events for the caller; the
    line (of the start tag) is noted for records, the children of the root."""

    def __init__(self) -> None:
        self._builder = ET.TreeBuilder()
        self.expat: Any = None
        self.depth = 0
        self.events: list[tuple[str, Any, int | None]] = []
        self.records = 0
        #: The record expat is inside (as "mms 5 (line 40)"), to say where a file stops.
        self.open_record: str | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> Any:
        elem = self._builder.start(tag, attrib)
        self.depth += 1
        line = self.expat.CurrentLineNumber if self.depth == 2 and self.expat is not None else None
        if line is not None:
            name = _local(tag)
            if name in ("sms", "mms", "call"):
                self.records += 1
                self.open_record = f"{name} {self.records} (line {line})"
            else:
                self.open_record = f"<{tag}> (line {line})"
        self.events.append(("start", elem, line))
        return elem

    def end(self, tag: str) -> Any:
        if self.depth == 2:
            self.open_record = None
        self.depth -= 1
        elem = self._builder.end(tag)
        self.events.append(("end", elem, None))
        return elem

    def data(self, data: str) -> None:
        self._builder.data(data)

    def close(self) -> Any:
        return self._builder.close()


#: Bytes fed to expat at a time; doubled while a single token (a large MMS part's base64)
#: is still incomplete. Expat 2.5 scans an unfinished token again from its start at each
#: feed, so small feeds would make a 50 MB attribute cost gigabytes of scanning.
_FEED = 256 << 10
_FEED_MAX = 16 << 20


def _xml_events(stream: _CharRefFilter, parser: Any, target: _Target,
                ) -> Iterator[tuple[str, Any, int | None]]:
    """Feed ``stream`` to ``parser`` and yield the events its target queued, as they come."""
    size = _FEED
    while True:
        data = stream.read(size)
        if not data:
            parser.close()
        else:
            parser.feed(data)
        events = target.events
        if events:
            target.events = []
            size = _FEED
            yield from events
        elif size < _FEED_MAX:
            size *= 2
        if not data:
            return


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _val(elem: Any, name: str) -> str | None:
    """An attribute's value, None when absent or the app's "null"."""
    v = elem.get(name)
    if v is None:
        return None
    s = v.strip()
    return None if s.lower() in _NULLS else v


def _contact(elem: Any) -> str | None:
    """``contact_name``, None when the app wrote "(Unknown)" (not in the phone's contacts)."""
    v = elem.get("contact_name")
    return v.strip() if v and v.strip().lower() not in _UNKNOWN_NAMES else None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _from_ms(value: str | None) -> datetime | None:
    n = _int(value)
    if n is None:
        return None
    try:
        return _EPOCH + timedelta(milliseconds=n)
    except OverflowError:
        return None


def _sent_at(value: str | None) -> datetime | None:
    """``date_sent``: milliseconds for SMS, seconds for MMS (as Android stores them); 0 is
    "not known"."""
    n = _int(value)
    if not n or n < 0:
        return None
    try:
        return _EPOCH + (timedelta(milliseconds=n) if n >= 100_000_000_000 else timedelta(seconds=n))
    except OverflowError:
        return None


def _split_addresses(value: str | None) -> list[str]:
    if not value:
        return []
    return [a.strip() for a in re.split(r"[~;,]", value) if a.strip()]


def _b64_digest(data: str) -> tuple[int, str]:
    """(decoded size, SHA-256) of base64 text, decoded a slice at a time. Raises
    binascii.Error when the text is not valid base64."""
    h = hashlib.sha256()
    size = 0
    carry = ""
    for i in range(0, len(data), _B64_STEP):
        piece = carry + data[i:i + _B64_STEP].translate(_WS_DELETE)
        k = len(piece) - len(piece) % 4
        if k:
            chunk = binascii.a2b_base64(piece[:k], strict_mode=True)
            h.update(chunk)
            size += len(chunk)
        carry = piece[k:]
    if carry:
        chunk = binascii.a2b_base64(carry + "=" * (-len(carry) % 4), strict_mode=True)
        h.update(chunk)
        size += len(chunk)
    return size, h.hexdigest()


class SmsBackupParser:
    """SMS Backup & Restore XML backups: messages (sms-*.xml) and call logs (calls-*.xml)."""

    name = "sms_backup_xml"
    label = "SMS Backup & Restore (Android) messages or call log (XML)"

    def sniff(self, path: Path, head: bytes) -> float:
        text = head_text(head[:16384]).lstrip(" \t\r\n")
        if not text.startswith("<"):
            return 0.0
        text = re.sub(r"<\?.*?\?>|<!--.*?-->", "", text, flags=re.S).lstrip(" \t\r\n")
        if text.startswith("<!DOCTYPE"):
            # Claimed all the same, so the parser refuses the DTD by name.
            text = re.sub(r"^<!DOCTYPE(?:[^\[>]*\[.*?\]\s*>|[^>]*>)", "", text, flags=re.S).lstrip()
        m = re.match(r"<(smses|calls)(?=[\s>/])([^>]*)>?", text)
        if not m:
            return 0.0
        attrs = m.group(2)
        rest = text[m.end():m.end() + 4096]
        if m.group(1) == "smses":
            if "count=" in attrs or re.search(r"<(sms|mms)[\s>/]", rest) or not rest.strip():
                return 0.95
            return 0.6
        if re.search(r"<call\s[^>]*\bnumber=", rest) or "count=" in attrs:
            return 0.95
        return 0.4

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import DefusedXMLParser

        p = Path(path)
        try:
            fh = p.open("rb")
        except OSError as exc:
            raise ParseError(f"cannot read file: {exc.strerror or exc}", file=p) from None
        with fh:
            scanner = _PartDataScanner(fh)
            stream = _CharRefFilter(scanner)
            target = _Target()
            parser = DefusedXMLParser(target=target, forbid_dtd=True)
            target.expat = parser.parser
            root: Any = None
            kind = ""
            stated: int | None = None
            records = 0
            others: Counter[str] = Counter()
            parts: list[dict[str, Any]] = []
            record_lines: dict[int, int] = {}
            reader = _Reader(p, options, scanner)
            try:
                for event, elem, line in _xml_events(stream, parser, target):
                    if event == "start":
                        if line is not None:
                            record_lines[id(elem)] = line
                        if root is None:
                            root = elem
                            kind = _local(elem.tag)
                            if kind not in ("smses", "calls"):
                                raise ParseError(
                                    f"not an SMS Backup & Restore file: the root element is "
                                    f"<{elem.tag}>, not <smses> or <calls>", file=p)
                            stated = _int(elem.get("count"))
                        continue
                    if elem is root:
                        continue
                    tag = _local(elem.tag)
                    line = record_lines.pop(id(elem), None)
                    if line is None:
                        # Inside a record: an MMS part is summarised and freed at once.
                        if tag == "part":
                            parts.append(reader.part(elem))
                            elem.clear()
                        continue
                    records += 1
                    if kind == "smses" and tag == "sms":
                        yield reader.sms(elem, records, line)
                    elif kind == "smses" and tag == "mms":
                        yield from reader.mms(elem, records, line, parts)
                    elif kind == "calls" and tag == "call":
                        yield reader.call(elem, records, line)
                    else:
                        records -= 1
                        others[tag] += 1
                        for e in elem.iter():  # a <part> out of place: forget its data
                            scanner.pop(e.get("data"))
                    parts = []
                    elem.clear()
                    root.remove(elem)
            except (DefusedXmlException, ET.ParseError) as exc:
                if isinstance(exc, DefusedXmlException):
                    raise ParseError(f"refused: the XML declares a DTD, entities or external "
                                     f"references ({type(exc).__name__}); an SMS Backup & "
                                     f"Restore file has none", file=p) from None
                line_no, col = getattr(exc, "position", (None, None)) or (None, None)
                msg = str(exc).split(": line", 1)[0]
                ends_early = "no element found" in msg or "unclosed token" in msg
                field = None
                if ends_early:
                    what = "the file ends before the backup does (truncated?)"
                    if target.open_record is not None:
                        what += f", inside {target.open_record}"
                    cut = scanner.cut_off
                    if cut is not None:
                        field = "data"
                        what += (" in the base64 data of MMS part "
                                 + (f"{cut.seq} " if cut.seq else "")
                                 + f"({cut.chars:,} characters read)")
                    what += "; nothing of it is imported"
                else:
                    if msg.startswith("not well-formed"):
                        detail = msg[len("not well-formed"):].strip(" ()") or "invalid token"
                        what = f"not well-formed XML: {detail}"
                    else:
                        what = f"not well-formed XML ({msg})"
                    if target.open_record is not None:
                        what += f" in {target.open_record}"
                    if msg.startswith("not well-formed"):
                        what += " (a damaged file, or bytes that are not UTF-8)"
                raise ParseError(what, file=p, ref=(f"line {line_no} column {(col or 0) + 1}"
                                                    if line_no else None), field=field) from None
            except (LookupError, ValueError) as exc:
                raise ParseError(f"cannot read the XML's declared encoding: {exc}", file=p) from None
        if root is None:
            raise ParseError("empty file: no XML element", file=p)
        what = "calls" if kind == "calls" else "messages"
        if stated is not None and stated != records:
            yield Notice("file", f"the backup states count=\"{stated}\" but holds {records} "
                                 f"{what}")
        for tag, n in sorted(others.items()):
            yield Notice("file", f"{n} <{tag}> element(s) that are not {what} were ignored")
        if stream.replaced:
            yield Notice("file", f"{stream.replaced} character reference(s) to characters XML "
                                 "does not allow (lone UTF-16 surrogates, control characters) "
                                 "were replaced by U+FFFD")


class _Reader:
    """Builds the records of one backup."""

    def __init__(self, path: Path, options: ImportOptions,
                 scanner: _PartDataScanner | None = None) -> None:
        self.path = path
        self.scanner = scanner
        self.region = options.default_region or None
        self.owner = (options.owner or "").strip() or None
        self._owner_party: dict[str, Party] = {}
        self._known: dict[str, tuple[str, str]] = {}

    # ------------------------------------------------------------------ parties
    def party(self, raw: str, role: str, label: str | None = None) -> Party | None:
        value = raw.strip()
        if not value or value.lower() in ("null", "insert-address-token"):
            return None
        if label is not None and label.strip().lower() in _UNKNOWN_NAMES:
            label = None
        kind, norm = self._identify(value)
        return Party(kind=kind, value=norm, role=role, label=label,
                     platform=PLATFORM if kind == "account" else None)

    def _identify(self, value: str) -> tuple[str, str]:
        """(kind, value) of an address; cached, as a backup names the same few numbers
        over and over."""
        hit = self._known.get(value)
        if hit is not None:
            return hit
        if "@" in value and " " not in value:
            hit = ("email", value)
        else:
            try:
                hit = ("phone", normalize_phone(value, self.region).properties["e164"])
            except IdentifierError:
                # A short code or an alphanumeric sender name ("72404", "BANK-ALERT").
                hit = ("account", value)
        if len(self._known) >= 100_000:
            self._known.clear()
        self._known[value] = hit
        return hit

    def owner_party(self, role: str) -> Party | None:
        if self.owner is None:
            return None
        hit = self._owner_party.get(role)
        if hit is None:
            try:
                e164 = normalize_phone(self.owner, self.region).properties["e164"]
                hit = Party(kind="phone", value=e164, role=role)
            except IdentifierError:
                hit = Party(kind="person", value=self.owner, role=role)
            self._owner_party[role] = hit
        return hit

    def _owner_props(self, props: dict[str, Any]) -> None:
        if self.owner is None:
            props["device_owner"] = ("not named: the backup does not say whose phone it is "
                                     "(import with --owner to add the owner's number)")
        else:
            props["device_owner"] = self.owner

    @staticmethod
    def _ref(tag: str, n: int, line: int) -> str:
        return f"{tag} {n} (line {line})"

    def _time(self, elem: Any, ref: str) -> datetime | RowError:
        raw = elem.get("date")
        when = _from_ms(raw)
        if when is None:
            return RowError(ref=ref, field="date",
                            message=f"no readable time: date={raw!r} is not Unix milliseconds")
        return when

    @staticmethod
    def _common(elem: Any, props: dict[str, Any]) -> None:
        sent = _sent_at(elem.get("date_sent"))
        if sent is not None:
            props["sent_at"] = sent.isoformat()
        for attr, key in (("readable_date", "readable_date"), ("service_center", "service_center"),
                          ("m_id", "mms_id")):
            v = _val(elem, attr)
            if v:
                props[key] = v.strip()
        sim = _val(elem, "sub_id")
        if sim is not None and sim.strip() not in ("-1",):
            props["sim"] = sim.strip()
        read = _int(elem.get("read"))
        if read in (0, 1):
            props["read"] = bool(read)
        if _int(elem.get("locked")) == 1:
            props["locked"] = True

    # ------------------------------------------------------------------ sms
    def sms(self, elem: Any, n: int, line: int) -> Record:
        ref = self._ref("sms", n, line)
        when = self._time(elem, ref)
        if isinstance(when, RowError):
            return when
        type_raw = _val(elem, "type")
        type_no = _int(type_raw)
        box = _SMS_BOX.get(type_no) if type_no is not None else None
        props: dict[str, Any] = {"channel": PLATFORM, "box": box or f"unknown ({type_raw})"}
        contact = _contact(elem)
        address = _val(elem, "address")
        if address:
            props["address"] = address
        if contact:
            props["contact_name"] = contact
        addresses = _split_addresses(address)
        label = contact if len(addresses) == 1 else None
        parties: list[Party] = []
        if box == "inbox":
            props["direction"] = "incoming"
            parties += [pt for a in addresses if (pt := self.party(a, "sender", label))]
            owner = self.owner_party("recipient")
            if owner:
                parties.append(owner)
        elif box is not None:
            props["direction"] = "outgoing"
            owner = self.owner_party("sender")
            if owner:
                parties.append(owner)
            parties += [pt for a in addresses if (pt := self.party(a, "recipient", label))]
            if box in _NOT_SENT:
                props["not_sent"] = _NOT_SENT[box]
        else:
            props["direction"] = "unknown"
            parties += [pt for a in addresses if (pt := self.party(a, "participant", label))]
        self._owner_props(props)
        status = _int(elem.get("status"))
        if status in _SMS_STATUS:
            props["delivery_status"] = _SMS_STATUS[status]
        self._common(elem, props)
        subject = _val(elem, "subject")
        body = elem.get("body")
        return ParsedEvent(kind="message", occurred_at=when, ref=ref, title=subject or "",
                           body=body if body else None, parties=tuple(parties),
                           properties=props)

    # ------------------------------------------------------------------ mms
    def part(self, elem: Any) -> dict[str, Any]:
        """What one MMS part holds. Its ``data`` is normally a placeholder for what the
        scanner read of it; when the scanner did not see it (a file not in an ASCII-based
        encoding) it is the base64 itself, decoded here as it was read."""
        data = _val(elem, "data")
        streamed = self.scanner.pop(data) if self.scanner is not None else None
        ct = (_val(elem, "ct") or "").strip().lower()
        seq = _int(elem.get("seq"))
        out: dict[str, Any] = {"ct": ct, "seq": seq if seq is not None else 0}
        if ct == "application/smil" or ct.endswith("/smil"):
            out["skip"] = True
            return out
        if ct == "text/plain":
            text = _val(elem, "text")
            if text is None:
                raw: bytes | None = None
                if streamed is not None:
                    raw = streamed.text if streamed.corrupt is None else None
                elif data is not None and len(data) <= _MAX_TEXT_PART:
                    try:
                        raw = binascii.a2b_base64(data.translate(_WS_DELETE), strict_mode=True)
                    except binascii.Error:
                        raw = None
                if raw is not None:
                    try:
                        text = raw.decode(_CHARSETS.get(_int(elem.get("chset")) or 106, "utf-8"),
                                          errors="replace")
                    except LookupError:
                        text = None
            out["text"] = text
            return out
        name = next((v.strip().strip("<>") for v in (_val(elem, "name"), _val(elem, "fn"),
                                                      _val(elem, "cl"), _val(elem, "cid"))
                     if v and v.strip().strip("<>")), None)
        out["name"] = name or f"part {out['seq']}"
        out["mime"] = ct or None
        if streamed is not None:
            if streamed.missing:
                out["missing"] = True
            elif streamed.corrupt is not None:
                out["corrupt"] = streamed.corrupt
            else:
                out["size"], out["sha256"] = streamed.size, streamed.sha256
            return out
        if data is None:
            out["missing"] = True
            return out
        try:
            out["size"], out["sha256"] = _b64_digest(data)
        except (binascii.Error, ValueError) as exc:
            out["corrupt"] = str(exc) or "invalid base64"
        return out

    def mms(self, elem: Any, n: int, line: int, parts: list[dict[str, Any]]) -> Iterator[Record]:
        ref = self._ref("mms", n, line)
        when = self._time(elem, ref)
        if isinstance(when, RowError):
            yield when
            return
        box_raw = _val(elem, "msg_box")
        box_no = _int(box_raw)
        box = _MMS_BOX.get(box_no) if box_no is not None else None
        props: dict[str, Any] = {"channel": PLATFORM, "mms": True,
                                 "box": box or f"unknown ({box_raw})"}
        m_type = _int(elem.get("m_type"))
        if m_type is not None:
            props["mms_type"] = m_type
        address = _val(elem, "address")
        contact = _contact(elem)
        if address:
            props["address"] = address
        if contact:
            props["contact_name"] = contact
        listed = _split_addresses(address)
        # One other party: the contact name is theirs. Several: the app joins their names
        # with commas (a name may hold one too), so they stay on the message only.
        label = contact if len(listed) == 1 else None
        first = self.party(listed[0], "x") if label else None
        labelled = first.value if first is not None else None

        parties: list[Party] = []
        seen: set[tuple[str, str, str]] = set()

        def add(pt: Party | None) -> None:
            if pt is not None and (pt.kind, pt.value, pt.role) not in seen:
                seen.add((pt.kind, pt.value, pt.role))
                parties.append(pt)

        copies: dict[str, list[str]] = {}
        addrs = [a for a in elem.iter() if _local(a.tag) == "addr"]
        has_sender = False
        for a in addrs:
            kind = _ADDR_TYPES.get(_int(a.get("type")) or 0, "to")
            raw = _val(a, "address") or ""
            probe = self.party(raw, "x")
            if probe is None:
                continue
            lab = label if probe.value == labelled else None
            role = "sender" if kind == "from" else "recipient"
            has_sender = has_sender or role == "sender"
            add(Party(kind=probe.kind, value=probe.value, role=role, label=lab,
                      platform=probe.platform))
            if kind in ("cc", "bcc"):
                copies.setdefault(kind, []).append(probe.value)
        if not addrs:
            role = "sender" if box == "inbox" and len(listed) == 1 else (
                "participant" if box == "inbox" else "recipient")
            for raw in listed:
                add(self.party(raw, role, label))
            has_sender = role == "sender"
        if box == "inbox":
            props["direction"] = "incoming"
            owner = self.owner_party("recipient")
            if owner and not any(p.value == owner.value for p in parties):
                add(owner)
        elif box is not None:
            props["direction"] = "outgoing"
            owner = self.owner_party("sender")
            if owner and not has_sender:
                parties.insert(0, owner)
            if box in _NOT_SENT:
                props["not_sent"] = _NOT_SENT[box]
        else:
            props["direction"] = "unknown"
        props.update(copies)
        if len([p for p in parties if p.role == "recipient"]) > 1:
            props["group"] = True
        self._owner_props(props)
        self._common(elem, props)

        texts: list[tuple[int, str]] = []
        attachments: list[Attachment] = []
        for info in parts:
            if info.get("skip"):
                continue
            if "text" in info:
                if info["text"]:
                    texts.append((info["seq"], info["text"]))
                continue
            if info.get("corrupt"):
                yield Notice(ref, f"MMS part {info['seq']} ({info['name']}, {info['mime']}): "
                                  f"the base64 data is corrupt ({info['corrupt']}); it is listed "
                                  "without size or hash")
                props.setdefault("unreadable_parts", []).append(info["name"])
            elif info.get("missing"):
                props.setdefault("media_not_in_backup", []).append(info["name"])
            attachments.append(Attachment(name=info["name"], mime=info["mime"],
                                          size=info.get("size"), sha256=info.get("sha256")))
        body = "\n".join(t for _, t in sorted(texts, key=lambda x: x[0])) or None
        subject = _val(elem, "sub")
        yield ParsedEvent(kind="message", occurred_at=when, ref=ref, title=subject or "",
                          body=body, parties=tuple(parties), attachments=tuple(attachments),
                          properties=props)

    # ------------------------------------------------------------------ calls
    def call(self, elem: Any, n: int, line: int) -> Record:
        ref = self._ref("call", n, line)
        when = self._time(elem, ref)
        if isinstance(when, RowError):
            return when
        type_raw = _val(elem, "type")
        type_no = _int(type_raw)
        call_type, direction, title = _CALL_TYPES.get(
            type_no if type_no is not None else -1,
            (f"unknown ({type_raw})", "unknown", "Call"))
        props: dict[str, Any] = {"channel": "phone", "call_type": call_type,
                                 "direction": direction}
        duration = _int(elem.get("duration"))
        if duration is not None and duration >= 0:
            props["duration_seconds"] = duration
            if duration and call_type in ("incoming", "outgoing", "answered_externally"):
                mins, secs = divmod(duration, 60)
                title += f" ({mins} min {secs} s)" if mins else f" ({secs} s)"
        number = (_val(elem, "number") or "").strip()
        presentation = _PRESENTATION.get(_int(elem.get("presentation")) or 1, "allowed")
        withheld = _WITHHELD_NUMBERS.get(number) if number else "unknown"
        if presentation != "allowed":
            withheld = presentation
        contact = _contact(elem)
        if contact:
            props["contact_name"] = contact
        if number:
            props["number"] = number
        post_dial = _val(elem, "post_dial_digits")
        if post_dial and post_dial.strip():
            props["post_dial_digits"] = post_dial.strip()
        sim = _val(elem, "subscription_id")
        if sim and sim.strip() not in ("-1",):
            props["sim"] = sim.strip()
        v = _val(elem, "readable_date")
        if v:
            props["readable_date"] = v.strip()
        parties: list[Party] = []
        other_role = "receiver" if direction == "outgoing" else "caller"
        owner_role = "caller" if direction == "outgoing" else "receiver"
        if withheld:
            props["number_withheld"] = withheld
        else:
            other = self.party(number, other_role, contact)
            if other is not None:
                parties.append(other)
        owner = self.owner_party(owner_role)
        if owner is not None:
            parties.insert(0 if owner_role == "caller" else len(parties), owner)
        self._owner_props(props)
        return ParsedEvent(kind="call", occurred_at=when, ref=ref, title=title, body=None,
                           parties=tuple(parties), properties=props)
