"""E-mail: single messages (.eml, Apple .emlx) and mailboxes (mbox family).

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
flags (a mail marked deleted but not yet compacted away is ``properties["deleted"]``).
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

import hashlib
import ipaddress
import re
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
_RECEIVED_IP = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]{3,45})\]|\(([0-9]{1,3}(?:\.[0-9]{1,3}){3})\)")
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
                             "message: save it as .eml (or export the mailbox) first", file=path)
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
        with fh:
            count = 0
            buf: list[bytes] = []
            size = 0
            oversize = False
            sep: bytes | None = None
            sep_line = 0
            unquoted = 0
            for n, line, is_sep in _mbox_lines(fh):
                if is_sep:
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
