"""E-mail: single messages (.eml, Apple .emlx, Outlook .msg) and mailboxes (mbox family).

Outlook .msg files ([MS-OXMSG] compound files, read with olefile) give events of the same
shape and the same party values as .eml (see :class:`MsgParser`): an Exchange sender or
recipient is the SMTP address when the file or its transport headers give one. Of its
named properties, the sending account (``properties["account"]``), the categories
(``"categories"``) and the internet headers Outlook kept there (``"internet_headers"``;
an X-Originating-IP among them is the sender's IP) are read.

Each mail becomes one ParsedEvent (kind "message", ``properties["channel"] = "email"``):
From as sender, To/Cc/Bcc as recipients (``Party(kind="email")``, the header in
``properties["header"]``), Subject as title, Date as an aware datetime (naive when the
mail says ``-0000``, "zone unknown"), the text/plain body (else the text of the HTML
body; further inline text/plain parts are appended to it), and every attached file with
its name (RFC 2047/2231 names decoded), type, size, SHA-256 and MD5 of the decoded payload.
Other non-body parts (an inline text/calendar, a second HTML part) are attachments too.
A forwarded mail (message/rfc822) counts as one attachment; its own sender, subject, date
and attachments are summarised in ``properties["attached_messages"]``.

Also kept: the IP addresses of the "from" clauses of Received headers (``Party(kind="ip",
role="relay")``, hop 1 being the one nearest the sender; private, loopback and link-local
addresses left out), X-Originating-IP, Gmail Takeout labels and thread id
(``X-Gmail-Labels``/``X-GM-LABELS``, ``X-GM-THRID``) and Thunderbird's ``X-Mozilla-Status``
flags (a mail marked deleted but not yet compacted away is ``properties["deleted"]``) and
tags (``X-Mozilla-Keys``, ``properties["tags"]``). The files Outlook packed into a TNEF
``winmail.dat`` are listed after it as attachments of their own (name, size, hashes;
``properties["tnef"]`` says which). In an mbox, a mail's ``Content-Length`` (mboxcl,
mboxcl2) is trusted when the declared end of its body is at a separator or the end of the
file: a ``From `` line inside such a body does not split it.
With no readable Date header the time of the newest Received header is used
(``properties["date_source"] = "received"``), else, in an mbox, the time on the mail's
"From " separator line (``"mbox_separator"``: the delivery time the mailbox writer
stamped, naive unless the line states an offset); the Date text is kept raw.

mbox files are split on their "From " separator lines while streaming, so only one mail
is in memory at a time; the file is only ever opened read-only (``mailbox.mbox`` would
try to open evidence for writing). A separator is a "From " line after a blank line, or
anywhere when it is a full ctime date line (some writers leave out the blank line).
Body lines quoted as ``>From `` (mboxo/mboxrd) lose one ``>``, as mboxrd readers do, so
text and attachment hashes match the mail as sent; the number of such lines is in
``properties["mbox_unquoted"]`` (an mboxo file cannot tell quoting from a ``>From`` the
sender typed).
"""

from __future__ import annotations

import codecs
import hashlib
import ipaddress
import os
import re
import struct
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from workstation.ingest.chat._common import head_text, html_to_text, looks_binary
from workstation.ingest.records import (
    Attachment,
    ImportOptions,
    ParsedEvent,
    ParseError,
    Party,
    Record,
    RowError,
)

#: A mail larger than this is not parsed whole: the standard library's parser needs about
#: ten times a message's size in memory, so a 500 MB mail would need 5 GB. Its headers
#: are read instead (sender, recipients, date, subject) and the event says the body and
#: attachments were left out, and how big the mail is.
MAX_MESSAGE_BYTES = 36 * 1024**2
#: How much of an oversized mail is searched for the end of its header block.
HEADER_LIMIT = 1024 * 1024

_FIELD = re.compile(r"^([!-9;-~]+):[ \t]?")
_KEY_HEADERS = frozenset({"from", "to", "cc", "subject", "date", "message-id", "received",
                          "return-path", "mime-version", "delivered-to", "reply-to",
                          "x-mailer", "in-reply-to", "references", "content-type"})
_FROM_LINE = re.compile(rb"^From \S+.*\b\d{1,2}:\d{2}")
# The full ctime form ("From sender Mon Jan  1 12:00:00 2024", optionally with a zone
# before or after the year): trusted as a separator even without a blank line before it.
_STRICT_FROM_LINE = re.compile(
    rb"^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|"
    rb"Oct|Nov|Dec) +\d{1,2} +\d{1,2}:\d{2}(?::\d{2})?(?: +[+-]\d{4}| +[A-Z]{2,5})? +\d{4}"
    rb"(?: +[+-]\d{4})?\s*$")
_QUOTED_FROM = re.compile(rb"^>+From ")
# The date on a separator line: ctime order, with an optional numeric zone before or after
# the year ("Sun Aug  7 11:40:37 2022", "Wed Nov 22 15:43:06 +0000 2023").
_SEPARATOR_DATE = re.compile(
    r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|"
    r"Nov|Dec) +(?P<d>\d{1,2}) +(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"(?: +(?P<z1>[+-]\d{4})| +[A-Z]{2,5})? +(?P<y>\d{4})(?: +(?P<z2>[+-]\d{4}))?")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# "[203.0.113.9]", "[IPv6:2001:db8::1]", "(203.0.113.9)", and qmail's "(user@203.0.113.9)"
# or "(HELO x) (203.0.113.9)".
_RECEIVED_IP = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]{3,45})\]|"
                          r"\((?:[^()\s@]*@)?([0-9]{1,3}(?:\.[0-9]{1,3}){3})\)")
# Addresses that say nothing about who sent a mail (internal hops, the relay itself).
_NOT_TELLING = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16", "0.0.0.0/8", "::1/128", "fe80::/10", "fc00::/7", "::/128"))
_RECIPIENT_HEADERS = (("to", "recipient"), ("cc", "recipient"), ("bcc", "recipient"),
                      ("reply-to", "reply_to"))


def _header_score(text: str) -> int:
    """Number of well-known mail headers in the first header block of ``text``."""
    lines = text.splitlines()
    if lines and lines[0].strip().isdigit():
        lines = lines[1:]  # .emlx starts with the byte length of the message
    seen: set[str] = set()
    for i, line in enumerate(lines[:300]):
        if not line.strip():
            break
        if line[:1] in (" ", "\t") and i > 0:
            continue  # folded continuation of the previous header
        m = _FIELD.match(line)
        if not m:
            return 0 if i == 0 else len(seen)
        name = m.group(1).lower()
        if name in _KEY_HEADERS:
            seen.add(name)
    return len(seen)


def _addresses(msg: Message, header: str) -> list[tuple[str, str]]:
    """(display name, address) pairs of every instance of ``header``; tolerant of junk."""
    out: list[tuple[str, str]] = []
    for raw in msg.get_all(header, failobj=[]):
        try:
            addrs = getattr(raw, "addresses", None)
            if addrs is not None:
                out.extend((a.display_name or "", a.addr_spec or "") for a in addrs)
                continue
        except Exception:  # noqa: BLE001 - a malformed header must not stop the import
            pass
        out.extend(getaddresses([str(raw)]))
    return [(_raw_header_text(n).strip(), _raw_header_text(a).strip()) for n, a in out if a.strip()]


def _raw_header_text(text: str) -> str:
    """Header text with raw 8-bit bytes read properly. The email package keeps undeclared
    8-bit header bytes as lone surrogates (``"J\\udcc3\\udcbcrgen"``), which no database
    can store: read them as UTF-8 (RFC 6532 mail), else as Windows-1252 (older clients)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return re.sub("[\ud800-\udfff]", "\ufffd", text)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except Exception:  # noqa: BLE001 - unknown charsets, broken encodings
        pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        # A charset Python does not know ("x-unknown", a typo): UTF-8 when the bytes are
        # UTF-8, else Windows-1252, the usual truth behind such labels.
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("cp1252", errors="replace")


def _raw_header(msg: Message, name: str) -> str | None:
    """The first ``name`` header as written (folding undone), or None."""
    for key, value in msg.raw_items():
        if key.lower() == name:
            return re.sub(r"\r?\n[ \t]", " ", str(value))
    return None


def _subject(msg: Message) -> str:
    """The Subject, decoded; undeclared 8-bit bytes read as UTF-8 else Windows-1252 (the
    email package turns them into U+FFFD). Blanks around it are dropped: mailers that fold
    right after "Subject:" leave the folding space in front of the decoded text."""
    try:
        subject = str(msg.get("Subject", "") or "")
    except Exception:  # noqa: BLE001
        subject = ""
    if "\ufffd" in subject or not subject:
        raw = _raw_header(msg, "subject")
        if raw and "=?" not in raw and not raw.isascii():
            return _raw_header_text(raw).strip()
    return subject.strip()


def _received_ips(msg: Message) -> list[str]:
    """IPs of the "from" clauses of the Received headers, hop nearest the sender first."""
    out: list[str] = []
    for raw in reversed(msg.get_all("Received", failobj=[])):
        text = " ".join(str(raw).split())
        clause = re.split(r"\b(?:by|with|id|for)\b", text, maxsplit=1, flags=re.I)[0] \
            if text.lower().startswith("from ") else ""
        for m in _RECEIVED_IP.finditer(clause):
            candidate = m.group(1) or m.group(2)
            try:
                ip = ipaddress.ip_address(candidate)
            except ValueError:
                continue
            if ip.is_multicast or any(ip in net for net in _NOT_TELLING
                                      if net.version == ip.version):
                continue
            if str(ip) not in out:
                out.append(str(ip))
    return out


def _received_time(msg: Message) -> Any:
    """The time the newest Received header states (after its last ";"), or None."""
    for raw in msg.get_all("Received", failobj=[]):
        text = " ".join(str(raw).split())
        if ";" in text:
            try:
                return parsedate_to_datetime(text.rsplit(";", 1)[1].strip())
            except (TypeError, ValueError, IndexError):
                continue
    return None


def _leaves(msg: Message, in_alternative: bool = False) -> Iterator[tuple[Message, bool]]:
    """(leaf part, inside a multipart/alternative) in order, not descending into attached
    mails (message/rfc822)."""
    if msg.is_multipart() and msg.get_content_maintype() != "message":
        alt = in_alternative or msg.get_content_subtype() == "alternative"
        for sub in msg.get_payload():  # type: ignore[union-attr]
            if isinstance(sub, Message):
                yield from _leaves(sub, alt)
    else:
        yield msg, in_alternative


def _attachment(part: Message) -> Attachment:
    mime = part.get_content_type()
    name = part.get_filename()
    if mime == "message/rfc822":
        inner = _inner_message(part)
        data = b""
        if inner is not None:
            try:
                data = inner.as_bytes()
            except Exception:  # noqa: BLE001 - a broken inner mail: re-serialise leniently
                data = inner.as_bytes(policy=policy.compat32)
        if not name:
            subject = _subject(inner) if inner is not None else ""
            name = f"{subject.strip() or 'message'}.eml"
    else:
        decoded = part.get_payload(decode=True)
        data = decoded if isinstance(decoded, bytes) else b""
        if not name:
            cid = str(part.get("Content-ID", "")).strip("<> ")
            name = cid or "unnamed"
    return Attachment(name=_raw_header_text(name), mime=mime, size=len(data),
                      sha256=hashlib.sha256(data).hexdigest(),
                      md5=hashlib.md5(data, usedforsecurity=False).hexdigest())


# --- TNEF (winmail.dat, [MS-OXTNEF]) ---------------------------------------------------
# Outlook wraps a rich-text mail's attachments into one application/ms-tnef part: a
# signature, then attributes (level byte, 32-bit id whose high half is its type, 32-bit
# length, data, 16-bit checksum). attAttachRendData starts each attachment, attAttachTitle
# is its (short) name, attAttachData its bytes and attAttachment its MAPI properties, the
# long file name among them.
_TNEF_SIGNATURE = 0x223E9F78
_ATT_ATTACH_REND_DATA = 0x9002
_ATT_ATTACH_TITLE = 0x8010
_ATT_ATTACH_DATA = 0x800F
_ATT_ATTACHMENT = 0x9005
_TNEF_MAX_FILES = 1000
_MAPI_FIXED = {0x0002: 2, 0x0003: 4, 0x0004: 4, 0x0005: 8, 0x0006: 8, 0x0007: 8, 0x000A: 4,
               0x000B: 2, 0x0014: 8, 0x0040: 8, 0x0048: 16}


def _mapi_strings(data: bytes, codec: str) -> dict[int, str]:
    """The single-valued string properties of a TNEF MAPI property block (id -> text);
    stops quietly at the first thing it cannot read."""
    out: dict[int, str] = {}
    pos = 4
    try:
        (count,) = struct.unpack_from("<I", data, 0)
        for _ in range(min(count, 4096)):
            typ, pid = struct.unpack_from("<HH", data, pos)
            pos += 4
            if pid >= 0x8000:  # a named property: GUID, kind, then a number or a name
                (kind,) = struct.unpack_from("<I", data, pos + 16)
                pos += 20
                if kind == 0:
                    pos += 4
                else:
                    (n,) = struct.unpack_from("<I", data, pos)
                    pos += 4 + n + (-n % 4)
            multi, base = typ & 0x1000, typ & 0x0FFF
            if base in _MAPI_FIXED:
                values = 1
                if multi:
                    (values,) = struct.unpack_from("<I", data, pos)
                    pos += 4
                size = _MAPI_FIXED[base]
                pos += values * (size + (-size % 4))
            elif base in (0x001E, 0x001F, 0x0102, 0x000D):
                (values,) = struct.unpack_from("<I", data, pos)
                pos += 4
                for _v in range(min(values, 4096)):
                    (n,) = struct.unpack_from("<I", data, pos)
                    raw = data[pos + 4: pos + 4 + n]
                    if len(raw) < n:
                        return out
                    pos += 4 + n + (-n % 4)
                    if not multi and base in (0x001E, 0x001F):
                        text = raw.decode("utf-16-le" if base == 0x001F else codec, "replace")
                        out[pid] = text.split("\x00", 1)[0]
            else:
                return out
    except struct.error:
        pass
    return out


def tnef_files(data: bytes) -> list[Attachment]:
    """The files packed in a TNEF (winmail.dat) blob, by name with size and hashes; empty
    when the blob is not TNEF. A damaged blob gives the files read before the damage."""
    if len(data) < 6 or struct.unpack_from("<I", data, 0)[0] != _TNEF_SIGNATURE:
        return []
    files: list[dict[str, Any]] = []
    pos = 6
    while pos + 9 <= len(data) and len(files) <= _TNEF_MAX_FILES:
        level = data[pos]
        attr, length = struct.unpack_from("<II", data, pos + 1)
        value = data[pos + 9: pos + 9 + length]
        if len(value) < length:
            break
        pos += 9 + length + 2
        if level != 2:
            continue
        aid = attr & 0xFFFF
        if aid == _ATT_ATTACH_REND_DATA or not files:
            files.append({})
        if aid == _ATT_ATTACH_TITLE:
            files[-1]["title"] = value.split(b"\x00", 1)[0].decode("cp1252", "replace")
        elif aid == _ATT_ATTACH_DATA:
            files[-1]["data"] = value
        elif aid == _ATT_ATTACHMENT:
            strings = _mapi_strings(value, "cp1252")
            name = strings.get(_PR_ATTACH_LONG_FILENAME) or strings.get(_PR_DISPLAY_NAME)
            if name:
                files[-1]["long"] = name
            if strings.get(_PR_ATTACH_MIME_TAG):
                files[-1]["mime"] = strings[_PR_ATTACH_MIME_TAG]
    out: list[Attachment] = []
    for f in files:
        blob = f.get("data")
        name = (f.get("long") or f.get("title") or "").strip()
        if blob is None and not name:
            continue
        name = name or "unnamed"
        out.append(Attachment(
            name=name, mime=f.get("mime") or _guess_mime(name),
            size=len(blob) if blob is not None else None,
            sha256=hashlib.sha256(blob).hexdigest() if blob is not None else None,
            md5=hashlib.md5(blob, usedforsecurity=False).hexdigest() if blob is not None
            else None))
    return out


def _alternatives(msg: Message, a: Message, b: Message) -> bool:
    """Whether parts ``a`` and ``b`` are renderings of each other (share a
    multipart/alternative)."""
    def inside(node: Message, target: Message) -> bool:
        if node is target:
            return True
        if node.is_multipart() and node.get_content_maintype() != "message":
            return any(isinstance(sub, Message) and inside(sub, target)
                       for sub in node.get_payload())  # type: ignore[union-attr]
        return False

    for node in msg.walk():
        if node.get_content_type() == "multipart/alternative" and inside(node, a) and \
                inside(node, b):
            return True
    return False


def _inner_message(part: Message) -> Message | None:
    payload_obj = part.get_payload()
    inner = payload_obj[0] if isinstance(payload_obj, list) and payload_obj else None
    return inner if isinstance(inner, Message) else None


def _attached_summary(inner: Message) -> dict[str, Any]:
    """What an investigator wants to see of a forwarded mail without opening it."""
    out: dict[str, Any] = {"subject": _subject(inner)}
    senders = _addresses(inner, "from")
    if senders:
        out["from"] = senders[0][1]
    try:
        when = getattr(inner.get("Date"), "datetime", None)
    except Exception:  # noqa: BLE001
        when = None
    if when is not None:
        out["date"] = when.isoformat()
    if inner.get("Message-ID"):
        out["message_id"] = " ".join(str(inner["Message-ID"]).split())
    files = []
    for leaf, _alt in _leaves(inner):
        if leaf.get_content_disposition() == "attachment" or leaf.get_filename():
            att = _attachment(leaf)
            files.append({"name": att.name, "size": att.size, "sha256": att.sha256})
    if files:
        out["attachments"] = files
    return out


def _mozilla_flags(value: str) -> dict[str, Any]:
    try:
        flags = int(value.strip(), 16)
    except ValueError:
        return {}
    out: dict[str, Any] = {}
    for bit, key in ((0x1, "read"), (0x2, "replied"), (0x4, "flagged"), (0x1000, "forwarded")):
        if flags & bit:
            out.setdefault("mail_flags", []).append(key)
    if flags & 0x8:  # "expunged": deleted in Thunderbird, still in the file until compacted
        out["deleted"] = True
    return out


def separator_date(line: str) -> datetime | None:
    """The time on an mbox "From " separator line, or None (aware only with an offset)."""
    m = _SEPARATOR_DATE.search(line)
    if not m:
        return None
    try:
        when = datetime(int(m["y"]), _MONTHS.index(m["mon"].lower()) + 1, int(m["d"]),
                        int(m["h"]), int(m["mi"]), int(m["s"] or 0))
    except ValueError:
        return None
    zone = m["z1"] or m["z2"]
    if zone:
        minutes = int(zone[1:3]) * 60 + int(zone[3:])
        when = when.replace(tzinfo=timezone(timedelta(minutes=-minutes if zone[0] == "-"
                                                      else minutes)))
    return when


def _ip_parties(msg: Message) -> list[Party]:
    """The sender's own IP (X-Originating-IP, X-Sender-IP) and the relays' IPs of the
    Received headers, hop 1 nearest the sender."""
    parties: list[Party] = []
    origin: set[str] = set()
    for header in ("X-Originating-IP", "X-Sender-IP"):
        raw = str(msg.get(header, "") or "").strip(" []")
        if raw:
            origin.add(raw)
            parties.append(Party(kind="ip", value=raw, role="origin",
                                 properties={"header": header.lower()}))
    try:
        relays = _received_ips(msg)
    except Exception:  # noqa: BLE001 - odd Received headers must not cost the mail
        relays = []
    for hop, ip in enumerate(relays, 1):
        if ip not in origin:
            parties.append(Party(kind="ip", value=ip, role="relay",
                                 properties={"header": "received", "hop": hop}))
    return parties


def mail_event(msg: EmailMessage, ref: str, extra: dict[str, Any] | None = None,
               fallback_date: datetime | None = None) -> ParsedEvent:
    """One parsed mail as a ParsedEvent (see the module docstring for the mapping);
    ``fallback_date`` (an mbox separator's time) dates a mail that states no time."""
    props: dict[str, Any] = {"channel": "email"}
    if extra:
        props.update(extra)
    parties: list[Party] = []
    for name, addr in _addresses(msg, "from"):
        parties.append(Party(kind="email", value=addr, role="sender", label=name or None,
                             properties={"header": "from"}))
    senders = {p.value.lower() for p in parties}
    for name, addr in _addresses(msg, "sender"):
        if addr.lower() not in senders:
            parties.append(Party(kind="email", value=addr, role="sender", label=name or None,
                                 properties={"header": "sender"}))
    for header, role in _RECIPIENT_HEADERS:
        for name, addr in _addresses(msg, header):
            parties.append(Party(kind="email", value=addr, role=role, label=name or None,
                                 properties={"header": header}))
    parties.extend(_ip_parties(msg))
    subject = _subject(msg)
    occurred = None
    try:
        date_header = msg.get("Date")
        occurred = getattr(date_header, "datetime", None)
        if date_header is not None and occurred is None:
            props["date_raw"] = str(date_header)
    except Exception:  # noqa: BLE001 - an unparsable Date is kept raw, not fatal
        props["date_raw"] = str(msg.get_all("Date", failobj=[""])[0])
    if occurred is None:
        try:
            occurred = _received_time(msg)
        except Exception:  # noqa: BLE001
            occurred = None
        if occurred is not None:
            props["date_source"] = "received"
        elif fallback_date is not None:
            occurred = fallback_date
            props["date_source"] = "mbox_separator"
    labels = msg.get("X-Gmail-Labels") or msg.get("X-GM-LABELS")
    if labels:
        props["labels"] = [x.strip().strip('"') for x in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)',
                                                                   " ".join(str(labels).split()))
                           if x.strip()]
    if msg.get("X-GM-THRID"):
        props["thread_id"] = str(msg["X-GM-THRID"]).strip()
    if msg.get("X-Mozilla-Status"):
        props.update(_mozilla_flags(str(msg["X-Mozilla-Status"])))
    keys = " ".join(str(msg.get("X-Mozilla-Keys", "") or "").split())
    if keys:
        props["tags"] = keys.split()  # Thunderbird's tags ("$label1" = Important, ...)
    for header, key in (("Message-ID", "message_id"), ("In-Reply-To", "in_reply_to"),
                        ("References", "references"), ("X-Mailer", "mailer"),
                        ("User-Agent", "mailer")):
        value = msg.get(header)
        if value:
            text = " ".join(str(value).split())
            props[key] = text.split() if key == "references" else text
    body_parts: list[Message] = []
    body = ""
    try:
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
    except Exception:  # noqa: BLE001 - a malformed structure: every part is listed below
        plain = html = None
        props["body_unreadable"] = True
    if plain is not None and html is not None and not _alternatives(msg, plain, html):
        # An HTML-only message with a separate inline text part after it (Apple Mail's
        # text, picture, text): the HTML is the body and the text part is appended below.
        order = [id(leaf) for leaf, _alt in _leaves(msg)]
        if id(html) in order and id(plain) in order and \
                order.index(id(html)) < order.index(id(plain)):
            plain = None
    if plain is not None:
        body = _text_of(plain).strip()
        body_parts.append(plain)
    if html is not None:
        body_parts.append(html)
        if not body:
            body = html_to_text(_text_of(html))
    attachments: list[Attachment] = []
    attached_messages: list[dict[str, Any]] = []
    tnef: list[dict[str, Any]] = []
    extra_text: list[str] = []
    for part, in_alternative in _leaves(msg):
        if any(part is b for b in body_parts) or part is msg and not msg.is_multipart() and \
                part.get_content_maintype() == "text" and not part.get_filename():
            continue
        disposition = part.get_content_disposition()
        named = disposition == "attachment" or part.get_filename()
        if not named and in_alternative and part.get_content_maintype() == "text":
            continue  # another rendering of the body (text/watch-html, text/enriched)
        if not named and part.get_content_type() == "text/plain":
            text = _text_of(part).strip()
            if text:
                extra_text.append(text)  # Apple Mail: text, picture, more text
            continue
        attachments.append(_attachment(part))
        if part.get_content_type() in ("application/ms-tnef", "application/vnd.ms-tnef") or \
                attachments[-1].name.lower() == "winmail.dat":
            payload = part.get_payload(decode=True)
            inside = tnef_files(payload) if isinstance(payload, bytes) else []
            if inside:
                # The files Outlook packed into winmail.dat, listed (and hashed) like the
                # mail's own attachments; which ones came from it is in "tnef".
                attachments.extend(inside)
                tnef.append({"container": attachments[-1 - len(inside)].name,
                             "files": [a.name for a in inside]})
        if part.get_content_type() == "message/rfc822":
            inner = _inner_message(part)
            if inner is not None:
                try:
                    attached_messages.append(_attached_summary(inner))
                except Exception:  # noqa: BLE001 - the attachment itself is recorded
                    pass
    if extra_text:
        body = "\n\n".join([body, *extra_text]) if body else "\n\n".join(extra_text)
    if attached_messages:
        props["attached_messages"] = attached_messages
    if tnef:
        props["tnef"] = tnef
    if msg.defects:
        props["defects"] = [type(d).__name__ for d in msg.defects]
    return ParsedEvent(kind="message", occurred_at=occurred, ref=ref, title=subject,
                       body=body or None, parties=tuple(parties),
                       attachments=tuple(attachments), properties=props)


def _parse_bytes(data: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(msg, EmailMessage)
    return msg


def headers_only_event(head: bytes, size: int, limit: int, ref: str,
                       extra: dict[str, Any] | None = None,
                       fallback_date: datetime | None = None) -> ParsedEvent:
    """The event of a mail too large to parse whole, from its header block alone
    (``head``: the mail's first bytes). ``properties["body_omitted"]`` says why."""
    block = re.split(rb"\r?\n\r?\n", head[:HEADER_LIMIT], maxsplit=1)[0]
    msg = BytesParser(policy=policy.default).parsebytes(block + b"\n\n", headersonly=True)
    assert isinstance(msg, EmailMessage)
    content_type = str(msg.get("Content-Type", "") or "")
    # No body was read: describe the message as an empty text part, so nothing is taken
    # for an (empty) attachment.
    for header in ("Content-Type", "Content-Disposition", "Content-Transfer-Encoding"):
        del msg[header]
    msg["Content-Type"] = "text/plain"
    props = {**(extra or {}), "size": size,
             "body_omitted": f"the mail is {size:,} bytes, over the {limit:,}-byte limit for reading "
                             "a mail whole: headers only (body and attachments not read)"}
    if content_type:
        props["content_type"] = content_type
    return mail_event(msg, ref, props, fallback_date)


class EmlParser:
    """A single e-mail message (.eml; Apple Mail .emlx is accepted too).

    Yields one ParsedEvent. Raises ParseError for a binary file, one without mail
    headers, or one over ``max_bytes``.
    """

    name = "email_eml"
    label = "E-mail message (.eml)"

    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_bytes = max_bytes

    def sniff(self, path: Path, head: bytes) -> float:
        if head.startswith(b"From "):
            return 0.0
        score = _header_score(head_text(head))
        if score >= 4:
            return 0.95
        if score >= 2:
            return 0.8
        return 0.0

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        try:
            size = path.stat().st_size
            with path.open("rb") as fh:
                data = fh.read(HEADER_LIMIT) if size > self.max_bytes else fh.read()
        except OSError as exc:
            raise ParseError(f"cannot read file: {exc.strerror or exc}", file=path) from exc
        first, _, rest = data.partition(b"\n")
        if first.strip().isdigit():  # .emlx: byte count, the message, then a plist
            data = rest[: int(first.strip())]
        head = data[:8192]
        if data.startswith(_OLE_MAGIC):
            raise ParseError("an Outlook .msg file (OLE compound document), not a MIME "
                             "message: import it as an Outlook message (.msg)", file=path)
        if b"\x00" in head or looks_binary(head.decode("latin-1")):
            raise ParseError("binary data, not an e-mail message", file=path)
        if _header_score(head.decode("utf-8", errors="replace")) == 0:
            raise ParseError("no mail headers (From, To, Subject, Date...) at the start",
                             file=path, ref="line 1")
        try:
            if size > self.max_bytes:
                event = headers_only_event(data, size, self.max_bytes, "message 1")
            else:
                event = mail_event(_parse_bytes(data), "message 1")
        except Exception as exc:  # noqa: BLE001 - the email package raises many types
            raise ParseError(f"cannot read this mail ({type(exc).__name__}: {exc})",
                             file=path) from exc
        yield event


def _header_lines(lines: list[bytes]) -> list[bytes]:
    """The header block of a mail's first lines (up to the first blank line), capped."""
    out: list[bytes] = []
    total = 0
    for line in lines:
        if not line.strip() or total > HEADER_LIMIT:
            break
        out.append(line)
        total += len(line)
    return out


_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_CONTENT_LENGTH = re.compile(rb"^Content-Length:[ \t]*(\d{1,12})[ \t]*\r?\n?$", re.I)


def _mbox_lines(fh: Iterable[bytes]) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, line, is a separator) for each line of an mbox file.

    A candidate "From " line (after a blank line, or anywhere in full ctime form) is a
    separator only when the next line is a header line: an unquoted "From ..." sentence in
    a body (writers that forgot to quote it) stays body text.
    """
    pending: tuple[int, bytes] | None = None
    prev_blank = True
    for n, line in enumerate(fh, 1):
        if pending is not None:
            is_sep = bool(_HEADER_LINE.match(line))
            yield pending[0], pending[1], is_sep
            pending = None
            prev_blank = False
        if line.startswith(b"From ") and (prev_blank and _FROM_LINE.match(line) or
                                          _STRICT_FROM_LINE.match(line)):
            pending = (n, line)
            continue
        prev_blank = not line.strip()
        yield n, line, False
    if pending is not None:
        yield pending[0], pending[1], False


class _Peek:
    """Looks at a few bytes elsewhere in a file being streamed (a second read-only handle,
    opened on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: Any = None

    def separator_at(self, pos: int) -> bool:
        """Whether a "From " separator line (after blank lines) or the end of the file is
        at ``pos``: how mboxcl's Content-Length is checked before it is trusted."""
        try:
            if self.fh is None:
                self.fh = self.path.open("rb")
            if pos > os.fstat(self.fh.fileno()).st_size:
                return False
            self.fh.seek(pos)
            data = self.fh.read(64)
        except OSError:
            return False
        rest = data.lstrip(b"\r\n")
        return rest.startswith(b"From ") or (not rest and len(data) < 64)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()

    def __enter__(self) -> _Peek:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MboxParser:
    """A mailbox in mbox format (mboxo/mboxrd/mboxcl, Thunderbird, Google Takeout).

    Streams the file; yields one ParsedEvent per mail with ``ref`` "message N" and the
    separator line in ``properties["mbox_from"]``. A mail over ``max_message_bytes`` is
    read from its headers only (see :func:`headers_only_event`). Raises ParseError when
    the file does not start with a "From " separator line.
    """

    name = "email_mbox"
    label = "Mailbox (mbox)"

    def __init__(self, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_message_bytes = max_message_bytes

    def sniff(self, path: Path, head: bytes) -> float:
        first, _, rest = head.lstrip(b"\r\n").partition(b"\n")
        if not _FROM_LINE.match(first):
            return 0.0
        return 0.95 if _header_score(rest.decode("utf-8", errors="replace")) >= 2 else 0.6

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        try:
            fh = path.open("rb")
        except OSError as exc:
            raise ParseError(f"cannot read file: {exc.strerror or exc}", file=path) from exc
        with fh, _Peek(path) as peek:
            count = 0
            buf: list[bytes] = []
            size = 0
            oversize = False
            sep: bytes | None = None
            sep_line = 0
            unquoted = 0
            offset = 0  # file offset of the line after the current one
            in_headers = False
            declared: int | None = None  # mboxcl's Content-Length of the current mail
            body_end: int | None = None  # where that length says the body ends
            for n, line, is_sep in _mbox_lines(fh):
                offset += len(line)
                if is_sep and body_end is not None and offset - len(line) < body_end and \
                        peek.separator_at(body_end):
                    is_sep = False  # a "From " line inside a body whose length is declared
                if sep is not None and in_headers:
                    if not line.strip():
                        in_headers = False
                        if declared is not None:
                            body_end = offset + declared
                    elif declared is None:
                        cl = _CONTENT_LENGTH.match(line)
                        if cl:
                            declared = int(cl.group(1))
                if is_sep:
                    in_headers, declared, body_end = True, None, None
                    if sep is not None:
                        count += 1
                        yield self._finish(buf, oversize, sep, sep_line, count, size, unquoted)
                    elif buf and any(b.strip() for b in buf):
                        raise ParseError("not an mbox: text before the first 'From ' line",
                                         file=path, ref="line 1")
                    buf, size, oversize, sep, sep_line = [], 0, False, line, n
                    unquoted = 0
                    continue
                if sep is None:
                    if line.strip():
                        raise ParseError("not an mbox: the first line is not a 'From ' "
                                         "separator", file=path, ref=f"line {n}")
                    continue
                if line[:1] == b">" and _QUOTED_FROM.match(line):
                    line = line[1:]
                    unquoted += 1
                size += len(line)
                if size > self.max_message_bytes and not oversize:
                    oversize = True
                    buf = _header_lines(buf)  # keep only the header block
                elif not oversize:
                    buf.append(line)
            if sep is None:
                raise ParseError("not an mbox: no 'From ' separator line", file=path)
            count += 1
            yield self._finish(buf, oversize, sep, sep_line, count, size, unquoted)

    def _finish(self, buf: list[bytes], oversize: bool, sep: bytes, sep_line: int,
                count: int, size: int = 0, unquoted: int = 0) -> Record:
        ref = f"message {count}"
        if buf and not buf[-1].strip() and not oversize:
            buf = buf[:-1]  # the blank line belongs to the separator, not the mail
        extra: dict[str, Any] = {"mbox_from": sep.decode("utf-8", errors="replace").strip(),
                                 "mbox_line": sep_line}
        if unquoted:
            extra["mbox_unquoted"] = unquoted
        when = separator_date(extra["mbox_from"])
        try:
            if oversize:
                return headers_only_event(b"".join(buf), size, self.max_message_bytes, ref,
                                          extra, when)
            return mail_event(_parse_bytes(b"".join(buf)), ref, extra, when)
        except Exception as exc:  # noqa: BLE001 - one broken mail must not end the mailbox
            return RowError(ref=f"{ref} (line {sep_line})", field=None,
                            message=f"cannot read this mail ({type(exc).__name__}: {exc})")


# --- Outlook .msg ([MS-OXMSG]) -------------------------------------------------------
#
# A .msg is an OLE2 compound file (read with olefile, BSD licence): the message's fixed-size
# properties (integers, booleans, times) sit in its "__properties_version1.0" stream (a
# header of 32 bytes for the top-level message, 24 for an embedded one, 8 for a recipient
# or an attachment, then 16-byte entries: tag, flags, 8-byte value), each variable-size
# property in a stream of its own named "__substg1.0_" + property id + type in hex
# (001F: UTF-16LE string, 001E: 8-bit string in the message's code page, 0102: binary,
# 000D: an object storage). Recipients are the storages "__recip_version1.0_#XXXXXXXX",
# attachments "__attach_version1.0_#XXXXXXXX"; an attached Outlook item is a message
# storage (__substg1.0_3701000D) inside its attachment.

#: A .msg larger than this is refused (Outlook's own attachment limits keep real ones far
#: smaller); every stream is read whole, so memory is bounded by the file's size.
MSG_MAX_BYTES = 512 * 1024**2
#: Attached Outlook items inside attached items... deeper than this are listed by name only.
MSG_MAX_DEPTH = 8
#: Transport headers kept in ``properties["transport_headers"]``, at most.
MSG_HEADERS_KEPT = 256 * 1024

_PROPS = "__PROPERTIES_VERSION1.0"
_SUBSTG = "__SUBSTG1.0_"
_RECIP = "__RECIP_VERSION1.0_#"
_ATTACH = "__ATTACH_VERSION1.0_#"
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)
# Property ids ([MS-OXPROPS]).
_PR_SUBJECT = 0x0037
_PR_CLIENT_SUBMIT_TIME = 0x0039
_PR_SENT_REPRESENTING_NAME = 0x0042
_PR_SENT_REPRESENTING_ADDRTYPE = 0x0064
_PR_SENT_REPRESENTING_EMAIL = 0x0065
_PR_TRANSPORT_HEADERS = 0x007D
_PR_SENDER_NAME = 0x0C1A
_PR_SENDER_ADDRTYPE = 0x0C1E
_PR_SENDER_EMAIL = 0x0C1F
_PR_RECIPIENT_TYPE = 0x0C15
_PR_MESSAGE_DELIVERY_TIME = 0x0E06
_PR_MESSAGE_FLAGS = 0x0E07
_PR_BODY = 0x1000
_PR_RTF_COMPRESSED = 0x1009
_PR_HTML = 0x1013
_PR_INTERNET_MESSAGE_ID = 0x1035
_PR_INTERNET_REFERENCES = 0x1039
_PR_IN_REPLY_TO = 0x1042
_PR_MESSAGE_CLASS = 0x001A
_PR_DISPLAY_NAME = 0x3001
_PR_ADDRTYPE = 0x3002
_PR_EMAIL_ADDRESS = 0x3003
_PR_SMTP_ADDRESS = 0x39FE
_PR_ATTACH_DATA = 0x3701
_PR_ATTACH_FILENAME = 0x3704
_PR_ATTACH_METHOD = 0x3705
_PR_ATTACH_LONG_FILENAME = 0x3707
_PR_ATTACH_PATHNAME = 0x3708
_PR_ATTACH_LONG_PATHNAME = 0x370D
_PR_ATTACH_MIME_TAG = 0x370E
_PR_ATTACH_CONTENT_ID = 0x3712
_PR_INTERNET_CPID = 0x3FDE
_PR_MESSAGE_CODEPAGE = 0x3FFD
_PR_SENDER_SMTP = 0x5D01
_PR_SENT_REPRESENTING_SMTP = 0x5D02
_RECIPIENT_KINDS = {1: "to", 2: "cc", 3: "bcc"}
_ATTACH_METHODS = {0: "none", 1: "by_value", 2: "by_reference", 3: "by_reference_resolve",
                   4: "by_reference_only", 5: "embedded_message", 6: "ole", 7: "by_web_reference"}
# Windows code pages Python knows under another name.
_CODEPAGES = {65001: "utf-8", 65000: "utf-7", 1200: "utf-16-le", 1201: "utf-16-be",
              20127: "ascii", 20866: "koi8-r", 21866: "koi8-u", 50220: "iso2022-jp",
              50221: "iso2022-jp", 50222: "iso2022-jp", 51932: "euc-jp", 51949: "euc-kr",
              52936: "hz", 54936: "gb18030", 10000: "mac-roman", 10007: "mac-cyrillic",
              **{28590 + n: f"iso8859-{n}" for n in range(1, 16)}}


def _codec(codepage: int | None) -> str:
    """The Python codec of a Windows code page (Windows-1252 when unknown)."""
    if codepage:
        name = _CODEPAGES.get(codepage, f"cp{codepage}")
        try:
            codecs.lookup(name)
            return name
        except LookupError:
            pass
    return "cp1252"


def _filetime(value: int) -> datetime | None:
    """A FILETIME (100 ns ticks since 1601, UTC) as an aware datetime; None for 0/absurd."""
    if value <= 0 or value >= 0x7FFF_FFFF_FFFF_FFFF:
        return None
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


class _Ole:
    """A .msg compound file opened with olefile: directory index and bounded stream reads."""

    def __init__(self, ole: Any, path: Path, size: int) -> None:
        self.ole = ole
        self.path = path
        self.size = size
        self.read_total = 0
        self.named: dict[tuple[str, int | str], int] | None = None  # see _named_ids
        # children[parent path] = {UPPER-CASE name: name as written}; producers differ in
        # the case of the hex digits of stream names.
        self.children: dict[tuple[str, ...], dict[str, str]] = {}
        for entry in ole.listdir(streams=True, storages=True):
            parent = tuple(entry[:-1])
            self.children.setdefault(parent, {})[entry[-1].upper()] = entry[-1]

    def has(self, parent: tuple[str, ...], name: str) -> str | None:
        return self.children.get(parent, {}).get(name.upper())

    def stream(self, parent: tuple[str, ...], name: str) -> bytes | None:
        real = self.has(parent, name)
        if real is None:
            return None
        where = "/".join((*parent, real))
        if self.ole.get_type(where) != 2:  # STGTY_STREAM
            return None
        size = self.ole.get_size(where)
        if size > self.size:
            raise ParseError(f"stream {where} declares {size:,} bytes, more than the whole "
                             f"file ({self.size:,} bytes): a corrupt or crafted .msg",
                             file=self.path)
        self.read_total += size
        if self.read_total > 2 * self.size + (16 << 20):
            raise ParseError("the streams of this .msg share their sectors (more data "
                             "declared than the file holds): a corrupt or crafted .msg",
                             file=self.path)
        with self.ole.openstream(where) as fh:
            data = fh.read()
        return data

    def streams_under(self, parent: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
        """Every stream below storage ``parent`` (path relative to it, data), sorted."""
        for name in sorted(self.children.get(parent, {}).values()):
            full = (*parent, name)
            if full in self.children:
                for sub, data in self.streams_under(full):
                    yield f"{name}/{sub}", data
            else:
                blob = self.stream(parent, name)
                if blob is not None:
                    yield name, blob


class _MsgObject:
    """The properties of one message, recipient or attachment storage."""

    def __init__(self, ole: _Ole, where: tuple[str, ...], header: int,
                 codepage: int | None = None) -> None:
        self.ole = ole
        self.where = where
        self.fixed: dict[int, tuple[int, int]] = {}  # id -> (type, raw 8-byte value)
        data = ole.stream(where, _PROPS) or b""
        for off in range(header, len(data) - 15, 16):
            tag, _flags, value = struct.unpack_from("<IIQ", data, off)
            self.fixed.setdefault(tag >> 16, (tag & 0xFFFF, value))
        own = self.integer(_PR_MESSAGE_CODEPAGE) or self.integer(_PR_INTERNET_CPID)
        self.codepage = own or codepage
        self.ansi_strings = False
        self.unicode_strings = False

    def integer(self, pid: int) -> int | None:
        typ, value = self.fixed.get(pid, (0, 0))
        if typ == 0x0003:
            return struct.unpack("<i", struct.pack("<I", value & 0xFFFFFFFF))[0]
        if typ in (0x0002, 0x000B):
            return value & 0xFFFF
        if typ == 0x0014:
            return value
        return None

    def time(self, pid: int) -> datetime | None:
        typ, value = self.fixed.get(pid, (0, 0))
        return _filetime(value) if typ == 0x0040 else None

    def string(self, pid: int) -> str | None:
        raw = self.ole.stream(self.where, f"{_SUBSTG}{pid:04X}001F")
        if raw is not None:
            self.unicode_strings = True
            text = raw[: len(raw) - len(raw) % 2].decode("utf-16-le", errors="replace")
        else:
            raw = self.ole.stream(self.where, f"{_SUBSTG}{pid:04X}001E")
            if raw is None:
                return None
            self.ansi_strings = True
            text = raw.decode(_codec(self.codepage), errors="replace")
        return text.split("\x00", 1)[0]  # a terminating NUL (some writers store one)

    def binary(self, pid: int) -> bytes | None:
        return self.ole.stream(self.where, f"{_SUBSTG}{pid:04X}0102")

    def strings(self, pid: int) -> list[str]:
        """A multi-valued string property (PtypMultipleString/String8): the value streams
        "<stream>-00000000", "-00000001"... beside the stream of lengths."""
        out: list[str] = []
        for typ, codec in ((0x101F, "utf-16-le"), (0x101E, _codec(self.codepage))):
            lengths = self.ole.stream(self.where, f"{_SUBSTG}{pid:04X}{typ:04X}")
            if lengths is None:
                continue
            for i in range(min(len(lengths) // 4, 1024)):
                raw = self.ole.stream(self.where, f"{_SUBSTG}{pid:04X}{typ:04X}-{i:08X}")
                if raw is not None:
                    out.append(raw.decode(codec, errors="replace").split("\x00", 1)[0])
            break
        return out

    def storages(self, prefix: str) -> list[tuple[str, ...]]:
        names = self.ole.children.get(self.where, {})
        return [(*self.where, names[k]) for k in sorted(names)
                if k.startswith(prefix) and (*self.where, names[k]) in self.ole.children]


# --- Compressed RTF ([MS-OXRTFCP]) and RTF text ------------------------------------------
_RTF_PREBUF = (b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss "
               b"\\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier"
               b"{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx")
_RTF_MAX = 64 * 1024**2


def decompress_rtf(data: bytes) -> bytes:
    """The RTF of a PR_RTF_COMPRESSED value (LZFu compressed or MELA uncompressed)."""
    if len(data) < 16:
        raise ValueError("compressed RTF shorter than its 16-byte header")
    comp_size, raw_size, magic = struct.unpack_from("<III", data, 0)
    if magic == 0x414C454D:  # "MELA": stored uncompressed
        return data[16:16 + raw_size]
    if magic != 0x75465A4C:  # "LZFu"
        raise ValueError(f"unknown compressed RTF type 0x{magic:08x}")
    end = min(len(data), comp_size + 4)
    limit = min(raw_size, _RTF_MAX)
    dictionary = bytearray(4096)
    dictionary[: len(_RTF_PREBUF)] = _RTF_PREBUF
    write = len(_RTF_PREBUF)
    out = bytearray()
    pos = 16
    while pos < end and len(out) < limit:
        control = data[pos]
        pos += 1
        for bit in range(8):
            if pos >= end or len(out) >= limit:
                break
            if control & (1 << bit):
                if pos + 2 > end:
                    pos = end
                    break
                ref = (data[pos] << 8) | data[pos + 1]
                pos += 2
                offset, length = ref >> 4, (ref & 0xF) + 2
                if offset == write:
                    return bytes(out)  # the end marker
                for i in range(length):
                    byte = dictionary[(offset + i) % 4096]
                    out.append(byte)
                    dictionary[write] = byte
                    write = (write + 1) % 4096
            else:
                byte = data[pos]
                pos += 1
                out.append(byte)
                dictionary[write] = byte
                write = (write + 1) % 4096
    return bytes(out[:limit])


_RTF_TOKEN = re.compile(rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\(.)|([{}])|"
                        rb"([\r\n]+)|([^\\{}\r\n]+)", re.S)
_RTF_SKIP = frozenset({b"fonttbl", b"colortbl", b"stylesheet", b"info", b"pict", b"object",
                       b"header", b"footer", b"headerl", b"headerr", b"footerl", b"footerr",
                       b"listtable", b"listoverridetable", b"rsidtbl", b"generator",
                       b"xmlnstbl", b"themedata", b"colorschememapping", b"datastore",
                       b"latentstyles", b"filetbl", b"revtbl", b"pgdsctbl", b"fldinst"})
_RTF_CHARS = {b"par": "\n", b"line": "\n", b"sect": "\n", b"page": "\n", b"row": "\n",
              b"cell": "\t", b"tab": "\t", b"emdash": "\u2014", b"endash": "\u2013",
              b"lquote": "\u2018", b"rquote": "\u2019", b"ldblquote": "\u201c",
              b"rdblquote": "\u201d", b"bullet": "\u2022", b"emspace": " ", b"enspace": " "}


# RTF \fcharset numbers and the Windows code pages they stand for.
_RTF_CHARSETS = {0: 1252, 128: 932, 129: 949, 130: 1361, 134: 936, 136: 950, 161: 1253,
                 162: 1254, 163: 1258, 177: 1255, 178: 1256, 186: 1257, 204: 1251, 222: 874,
                 238: 1250, 77: 10000}


def rtf_text(rtf: bytes) -> tuple[str, bool]:
    """(text, is HTML) of an RTF document: plain text, or the HTML an RTF body encapsulates
    (``\\fromhtml1``, [MS-OXRTFEX]: the \\*\\htmltag groups and the text outside
    \\htmlrtf). 8-bit text is read in the code page of its font (\\fcharset), else of the
    document (\\ansicpg); \\uN characters as Unicode."""
    from_html = b"\\fromhtml" in rtf[:4096]
    default = "cp1252"
    fonts: dict[bytes, str] = {}
    font: bytes | None = None  # the font being described in the font table
    out: list[str] = []
    pending = bytearray()
    # Per group: [skipped, inside \htmlrtf, \uc count, codec, in the font table]
    stack: list[list[Any]] = []
    state: list[Any] = [False, False, 1, None, False]
    skip_chars = 0
    group_start = False

    def flush() -> None:
        if pending:
            out.append(pending.decode(state[3] or default, errors="replace"))
            pending.clear()

    for m in _RTF_TOKEN.finditer(rtf):
        word, param, hexbyte, symbol, brace, newline, text = m.groups()
        first_in_group, group_start = group_start, False
        hidden = state[0] or (state[1] and from_html)
        if brace == b"{":
            stack.append(state[:])
            group_start = True
            continue
        if brace == b"}":
            flush()
            state = stack.pop() if stack else [False, False, 1, None, False]
            continue
        if newline is not None:
            continue
        if skip_chars and (text or hexbyte or symbol):
            if text:
                n = min(skip_chars, len(text))
                skip_chars -= n
                text = text[n:]
                if not text:
                    continue
            else:
                skip_chars -= 1
                continue
        if word is not None:
            if state[4]:  # the font table: which code page each font's text is in
                if word == b"f" and param:
                    font = param
                elif word in (b"fcharset", b"cpg") and param and font is not None:
                    cp = int(param) if word == b"cpg" else _RTF_CHARSETS.get(int(param))
                    if cp:
                        fonts[font] = _codec(cp)
                continue
            if word == b"ansicpg" and param:
                flush()
                default = _codec(int(param))
            elif word == b"f" and param:
                flush()
                state[3] = fonts.get(param)
            elif word == b"htmlrtf":
                flush()
                state[1] = param != b"0"
            elif word == b"uc" and param:
                state[2] = int(param)
            elif word == b"u" and param:
                if not hidden:
                    flush()
                    out.append(chr(int(param) % 65536))
                skip_chars = state[2]
            elif word == b"fonttbl":
                state[0] = state[4] = True
            elif word in _RTF_SKIP and first_in_group:
                state[0] = True
            elif word.startswith(b"htmltag") and from_html:
                state[0] = state[1] = False  # \*\htmltagN: HTML markup of the document
            elif word in _RTF_CHARS and not hidden:
                flush()
                out.append("\r\n" if from_html and word == b"par" else _RTF_CHARS[word])
            continue
        if symbol is not None:
            if symbol == b"*":
                state[0] = True  # an ignorable destination, unless it is an htmltag
                continue
            if not hidden:
                if symbol in (b"\\", b"{", b"}"):
                    pending.extend(symbol)
                elif symbol == b"~":
                    flush()
                    out.append("\xa0")
                elif symbol in (b"\n", b"\r"):
                    flush()
                    out.append("\n")
            continue
        if hexbyte is not None:
            if not hidden:
                pending.append(int(hexbyte, 16))
            continue
        if text and not hidden:
            pending.extend(text)
    flush()
    # \uN gives UTF-16 code units: join surrogate pairs (emoji) into one character.
    joined = "".join(out).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return joined, from_html


def _html_of(raw: bytes, codepage: int | None) -> str:
    m = re.search(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_.:-]+)""", raw[:8192], re.I)
    for name in ([m.group(1).decode("ascii")] if m else []) + \
            ([_codec(codepage)] if codepage else []) + ["utf-8"]:
        try:
            return raw.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("cp1252", errors="replace")


def _msg_body(obj: _MsgObject, props: dict[str, Any]) -> str:
    """Plain text of the message: PR_BODY, else the text of the HTML body, else of the
    (compressed) RTF body; ``props["body_source"]`` says which when it is not PR_BODY."""
    body = obj.string(_PR_BODY)
    if body and body.strip():
        return body.strip()
    html_raw = obj.binary(_PR_HTML)
    html = _html_of(html_raw, obj.codepage) if html_raw else obj.string(_PR_HTML)
    if html and html.strip():
        props["body_source"] = "html"
        return html_to_text(html)
    rtf = obj.binary(_PR_RTF_COMPRESSED)
    if rtf:
        try:
            text, is_html = rtf_text(decompress_rtf(rtf))
        except (ValueError, struct.error, IndexError) as exc:
            props["body_unreadable"] = f"the RTF body cannot be decompressed ({exc})"
            return ""
        props["body_source"] = "rtf_html" if is_html else "rtf"
        text = html_to_text(text) if is_html else re.sub(r"\n{3,}", "\n\n", text)
        return "\n".join(line.rstrip() for line in text.strip().splitlines())
    return ""


def _is_exchange(addrtype: str | None, address: str | None) -> bool:
    return (addrtype or "").upper() == "EX" or (address or "").startswith("/")


def _header_addresses(headers: Message | None, name: str) -> list[tuple[str, str]]:
    if headers is None:
        return []
    try:
        return _addresses(headers, name)
    except Exception:  # noqa: BLE001 - broken transport headers must not cost the mail
        return []


def _address_party(name: str | None, addrtype: str | None, address: str | None,
                   smtp: str | None, role: str, header: str,
                   fallback: list[tuple[str, str]]) -> Party | None:
    """The party of one sender/recipient: the SMTP address (the same ``email`` entity as in
    an .eml); an Exchange (EX) address resolved through PR_SMTP_ADDRESS or the transport
    headers (``fallback``: their (name, address) pairs), else kept as an Exchange account."""
    name = (name or "").strip().strip("'\"").strip() or None
    address = (address or "").strip() or None
    smtp = (smtp or "").strip() or None
    if address is None and smtp is None:
        return None
    props: dict[str, Any] = {"header": header}
    value: str | None = None
    if address and not _is_exchange(addrtype, address) and "@" in address:
        value = address
    else:
        value = smtp if smtp and "@" in smtp else None
        if value is None:
            same = [a for n, a in fallback if name and n.strip().lower() == name.lower()]
            if same:
                value = same[0]
            elif len(fallback) == 1 and header in ("from", "sender"):
                value = fallback[0][1]
        if value is not None and address:
            props["exchange_address"] = address
        elif value is None:
            props.update(address_type=(addrtype or "EX").upper(), unresolved=True)
            return Party(kind="account", value=address or smtp or "", role=role, label=name,
                         platform="exchange", properties=props)
    if name and name.lower() == value.lower():
        name = None
    return Party(kind="email", value=value, role=role, label=name, properties=props)


def _parse_headers(text: str) -> EmailMessage | None:
    if not text.strip():
        return None
    try:
        msg = BytesParser(policy=policy.default).parsebytes(
            text.encode("utf-8", "surrogateescape").lstrip(b"\r\n") + b"\r\n\r\n",
            headersonly=True)
    except Exception:  # noqa: BLE001
        return None
    return msg if isinstance(msg, EmailMessage) else None


# Named properties ([MS-OXMSG] 2.2.3): the root's "__nameid_version1.0" storage maps
# (property set, number or name) to the id (0x8000 + index) a message's streams use.
_NAMEID = "__NAMEID_VERSION1.0"
_PS_PUBLIC_STRINGS = "00020329-0000-0000-c000-000000000046"
_PS_INTERNET_HEADERS = "00020386-0000-0000-c000-000000000046"
_PSETID_COMMON = "00062008-0000-0000-c000-000000000046"
_PID_LID_INTERNET_ACCOUNT_NAME = 0x8580
_NAMED_KEPT = 200  # X- headers kept from PS_INTERNET_HEADERS, at most


def _named_ids(ole: _Ole) -> dict[tuple[str, int | str], int]:
    """(property set GUID, number or lower-case name) -> property id, from the root's
    name map; empty when the file has none or it is damaged."""
    import uuid

    where = (ole.has((), _NAMEID) or "",)
    if not where[0]:
        return {}
    guids = ole.stream(where, "__substg1.0_00020102") or b""
    entries = ole.stream(where, "__substg1.0_00030102") or b""
    names = ole.stream(where, "__substg1.0_00040102") or b""
    out: dict[tuple[str, int | str], int] = {}
    for off in range(0, len(entries) - 7, 8):
        ident, index_kind, prop_index = struct.unpack_from("<IHH", entries, off)
        gi = index_kind >> 1
        if gi == 1:
            guid = "00020328-0000-0000-c000-000000000046"  # PS_MAPI
        elif gi == 2:
            guid = _PS_PUBLIC_STRINGS
        elif len(guids) >= (gi - 2) * 16:
            guid = str(uuid.UUID(bytes_le=guids[(gi - 3) * 16:(gi - 2) * 16]))
        else:
            continue
        key: int | str
        if index_kind & 1:
            if ident + 4 > len(names):
                continue
            (n,) = struct.unpack_from("<I", names, ident)
            key = names[ident + 4: ident + 4 + n].decode("utf-16-le", "replace").lower()
        else:
            key = ident
        out[(guid, key)] = 0x8000 + prop_index
    return out


def _named_parts(ole: _Ole, obj: _MsgObject, props: dict[str, Any],
                 parties: list[Party]) -> None:
    """What Outlook keeps only as named properties: the sending account, the categories,
    and the internet headers it did not keep as transport headers (X-Originating-IP...)."""
    named = ole.named if ole.named is not None else _named_ids(ole)
    ole.named = named
    if not named:
        return
    pid = named.get((_PSETID_COMMON, _PID_LID_INTERNET_ACCOUNT_NAME))
    account = obj.string(pid) if pid is not None else None
    if account:
        props["account"] = account
    pid = named.get((_PS_PUBLIC_STRINGS, "keywords"))
    categories = obj.strings(pid) if pid is not None else []
    if categories:
        props["categories"] = categories
    headers: dict[str, str] = {}
    for (guid, key), pid in sorted(named.items(), key=lambda kv: kv[1]):
        if guid != _PS_INTERNET_HEADERS or not isinstance(key, str):
            continue
        value = obj.string(pid)
        if value is not None and len(headers) < _NAMED_KEPT:
            headers[key] = " ".join(value.split())
    if headers:
        props["internet_headers"] = headers
    origin = {p.value for p in parties if p.kind == "ip" and p.role == "origin"}
    for header in ("x-originating-ip", "x-sender-ip"):
        raw = headers.get(header, "").strip(" []")
        if raw and raw not in origin:
            try:
                ipaddress.ip_address(raw)
            except ValueError:
                continue
            origin.add(raw)
            parties.append(Party(kind="ip", value=raw, role="origin",
                                 properties={"header": header, "source": "named_property"}))


def _storage_digest(ole: _Ole, where: tuple[str, ...]) -> tuple[int, str, str]:
    """(size, SHA-256, MD5) of an attached object storage: its streams in name order, each
    as its path, a NUL and its bytes (a stable fingerprint of the attached item)."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    for rel, data in ole.streams_under(where):
        for h in (sha, md5):
            h.update(rel.encode("utf-8") + b"\x00" + data)
        size += len(data)
    return size, sha.hexdigest(), md5.hexdigest()


def _msg_parts(ole: _Ole, obj: _MsgObject, depth: int) -> dict[str, Any]:
    """Everything read from one message storage, as plain values."""
    props: dict[str, Any] = {"channel": "email", "format": "msg"}
    headers_text = obj.string(_PR_TRANSPORT_HEADERS) or ""
    headers = _parse_headers(headers_text)
    parties: list[Party] = []
    from_pairs = _header_addresses(headers, "from")
    author = _address_party(obj.string(_PR_SENT_REPRESENTING_NAME),
                            obj.string(_PR_SENT_REPRESENTING_ADDRTYPE),
                            obj.string(_PR_SENT_REPRESENTING_EMAIL),
                            obj.string(_PR_SENT_REPRESENTING_SMTP), "sender", "from", from_pairs)
    sender = _address_party(obj.string(_PR_SENDER_NAME), obj.string(_PR_SENDER_ADDRTYPE),
                            obj.string(_PR_SENDER_EMAIL), obj.string(_PR_SENDER_SMTP),
                            "sender", "sender",
                            _header_addresses(headers, "sender") or from_pairs)
    if author is None:
        author = sender if sender is None else Party(
            kind=sender.kind, value=sender.value, role="sender", label=sender.label,
            platform=sender.platform, properties={**sender.properties, "header": "from"})
        sender = None
    if author is not None:
        parties.append(author)
    if sender is not None and author is not None and sender.value.lower() != author.value.lower():
        parties.append(sender)
    header_pairs = [p for h in ("to", "cc", "bcc") for p in _header_addresses(headers, h)]
    for where in obj.storages(_RECIP):
        r = _MsgObject(ole, where, 8, obj.codepage)
        kind = _RECIPIENT_KINDS.get((r.integer(_PR_RECIPIENT_TYPE) or 1) & 0x0FFFFFFF, "to")
        party = _address_party(r.string(_PR_DISPLAY_NAME), r.string(_PR_ADDRTYPE),
                               r.string(_PR_EMAIL_ADDRESS), r.string(_PR_SMTP_ADDRESS),
                               "recipient", kind, header_pairs)
        if party is not None:
            parties.append(party)
    for name, addr in _header_addresses(headers, "reply-to"):
        parties.append(Party(kind="email", value=addr, role="reply_to", label=name or None,
                             properties={"header": "reply-to"}))
    if headers is not None:
        parties.extend(_ip_parties(headers))
    try:
        _named_parts(ole, obj, props, parties)
    except ParseError:
        raise
    except Exception:  # noqa: BLE001 - a damaged name map must not cost the mail
        props["named_properties_unreadable"] = True
    sent = obj.time(_PR_CLIENT_SUBMIT_TIME)
    delivered = obj.time(_PR_MESSAGE_DELIVERY_TIME)
    occurred = sent
    if occurred is None and headers is not None:
        try:
            occurred = getattr(headers.get("Date"), "datetime", None)
        except Exception:  # noqa: BLE001
            occurred = None
        if occurred is not None:
            props["date_source"] = "header"
    if occurred is None and delivered is not None:
        occurred = delivered
        props["date_source"] = "delivered"
    if delivered is not None:
        props["received_at"] = delivered.isoformat()
    message_class = obj.string(_PR_MESSAGE_CLASS)
    if message_class:
        props["message_class"] = message_class
    for pid, header, key in ((_PR_INTERNET_MESSAGE_ID, "Message-ID", "message_id"),
                             (_PR_IN_REPLY_TO, "In-Reply-To", "in_reply_to"),
                             (_PR_INTERNET_REFERENCES, "References", "references"),
                             (None, "X-Mailer", "mailer"), (None, "User-Agent", "mailer")):
        value = obj.string(pid) if pid is not None else None
        if not value and headers is not None:
            try:
                value = str(headers.get(header) or "")
            except Exception:  # noqa: BLE001
                value = ""
        if value and key not in props:
            text = " ".join(value.split())
            props[key] = text.split() if key == "references" else text
    flags = obj.integer(_PR_MESSAGE_FLAGS)
    if flags is not None:
        marks = [k for bit, k in ((0x1, "read"), (0x8, "unsent"), (0x10, "attachments"),
                                  (0x2, "unmodified")) if flags & bit]
        if marks:
            props["mail_flags"] = marks
    if headers_text:
        props["transport_headers"] = headers_text[:MSG_HEADERS_KEPT]
    body = _msg_body(obj, props)
    attachments: list[Attachment] = []
    attached: list[dict[str, Any]] = []
    for where in obj.storages(_ATTACH):
        a = _MsgObject(ole, where, 8, obj.codepage)
        method = a.integer(_PR_ATTACH_METHOD) or 1
        name = (a.string(_PR_ATTACH_LONG_FILENAME) or a.string(_PR_ATTACH_FILENAME) or
                "").strip()
        display = (a.string(_PR_DISPLAY_NAME) or "").strip()
        mime = (a.string(_PR_ATTACH_MIME_TAG) or "").strip() or None
        storage = (*where, ole.has(where, f"{_SUBSTG}{_PR_ATTACH_DATA:04X}000D") or "")
        if storage[-1] and storage in ole.children:
            inner = None
            if (method == 5 or ole.has(storage, _PROPS)) and depth < MSG_MAX_DEPTH:
                inner = _msg_parts(ole, _MsgObject(ole, storage, 24, obj.codepage), depth + 1)
            size, sha, md5 = _storage_digest(ole, storage)
            if inner is not None:
                summary = {"subject": inner["title"]}
                senders = [p for p in inner["parties"] if p.role == "sender"]
                if senders:
                    summary["from"] = senders[0].value
                if inner["occurred"] is not None:
                    summary["date"] = inner["occurred"].isoformat()
                if inner["props"].get("message_id"):
                    summary["message_id"] = inner["props"]["message_id"]
                files = [{"name": x.name, "size": x.size, "sha256": x.sha256}
                         for x in inner["attachments"]]
                if files:
                    summary["attachments"] = files
                attached.append(summary)
                name = name or f"{inner['title'].strip() or 'message'}.msg"
                mime = mime or "application/vnd.ms-outlook"
            attachments.append(Attachment(name=name or display or "unnamed", mime=mime,
                                          size=size, sha256=sha, md5=md5))
            continue
        data = a.binary(_PR_ATTACH_DATA)
        if data is None:
            path_ = a.string(_PR_ATTACH_LONG_PATHNAME) or a.string(_PR_ATTACH_PATHNAME)
            attachments.append(Attachment(name=name or display or "unnamed", mime=mime,
                                          path=path_ or None))
            continue
        if not name:
            name = display or (a.string(_PR_ATTACH_CONTENT_ID) or "").strip("<> ") or "unnamed"
        attachments.append(Attachment(name=name, mime=mime or _guess_mime(name), size=len(data),
                                      sha256=hashlib.sha256(data).hexdigest(),
                                      md5=hashlib.md5(data, usedforsecurity=False).hexdigest()))
    if attached:
        props["attached_messages"] = attached
    if obj.ansi_strings and not obj.unicode_strings:
        props["string_encoding"] = f"ansi ({_codec(obj.codepage)})"
    return {"title": (obj.string(_PR_SUBJECT) or "").strip(), "occurred": occurred,
            "body": body, "parties": parties, "attachments": attachments, "props": props}


def _guess_mime(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


def _open_ole(path: Path) -> Any:
    import olefile  # type: ignore[import-untyped]

    return olefile.OleFileIO(str(path), raise_defects=olefile.DEFECT_INCORRECT)


def _looks_like_msg(children: dict[str, str]) -> bool:
    return _PROPS in children and any(k.startswith(_SUBSTG) for k in children)


class MsgParser:
    """A single Outlook message (.msg, an OLE2 compound file per [MS-OXMSG]).

    Yields one ParsedEvent of the same shape as :class:`EmlParser`'s (see
    :func:`_msg_parts`). An OLE2 file that is not an Outlook item (a Word or Excel file
    renamed .msg), a corrupt or truncated one, or one whose streams declare more data than
    the file holds is refused with a ParseError naming the file.
    """

    name = "email_msg"
    label = "Outlook message (.msg)"

    def __init__(self, max_bytes: int = MSG_MAX_BYTES) -> None:
        self.max_bytes = max_bytes

    def sniff(self, path: Path, head: bytes) -> float:
        if not head.startswith(_OLE_MAGIC):
            return 0.0
        try:
            with _open_ole(Path(path)) as ole:
                root = {e[0].upper(): e[0] for e in ole.listdir(streams=True, storages=True)
                        if len(e) == 1}
        except Exception:  # noqa: BLE001 - a broken compound file is nobody's
            return 0.0
        return 0.95 if _looks_like_msg(root) else 0.0

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        try:
            size = path.stat().st_size
            with path.open("rb") as fh:
                magic = fh.read(8)
        except OSError as exc:
            raise ParseError(f"cannot read file: {exc.strerror or exc}", file=path) from exc
        if magic != _OLE_MAGIC:
            raise ParseError("not an Outlook .msg file (no OLE2 compound file signature)",
                             file=path)
        if size > self.max_bytes:
            raise ParseError(f"the file is {size:,} bytes, over the {self.max_bytes:,}-byte "
                             "limit for an Outlook .msg", file=path)
        try:
            with _open_ole(path) as raw:
                ole = _Ole(raw, path, size)
                if not _looks_like_msg(ole.children.get((), {})):
                    raise ParseError(
                        "an OLE2 compound file but not an Outlook message (no "
                        "__properties_version1.0 and __substg1.0_ streams at its root): "
                        "perhaps a Word or Excel file", file=path)
                parts = _msg_parts(ole, _MsgObject(ole, (), 32), 0)
        except ParseError:
            raise
        except Exception as exc:  # noqa: BLE001 - olefile raises many types on bad input
            raise ParseError(f"corrupt or truncated Outlook .msg / OLE2 compound file "
                             f"({type(exc).__name__}: {exc})", file=path) from exc
        yield ParsedEvent(kind="message", occurred_at=parts["occurred"], ref="message 1",
                          title=parts["title"], body=parts["body"] or None,
                          parties=tuple(parts["parties"]),
                          attachments=tuple(parts["attachments"]), properties=parts["props"])
