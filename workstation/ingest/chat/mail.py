"""E-mail: single messages (.eml, Apple .emlx) and mailboxes (mbox family).

Each mail becomes one ParsedEvent (kind "message", ``properties["channel"] = "email"``):
From as sender, To/Cc/Bcc as recipients (``Party(kind="email")``, the header in
``properties["header"]``), Subject as title, Date as an aware datetime (naive when the
mail says ``-0000``, "zone unknown"), the text/plain body (else the text of the HTML
body), and every attached file with its name, type, size, SHA-256 and MD5 of the decoded
payload. A forwarded mail (message/rfc822) counts as one attachment.

mbox files are split on their "From " separator lines while streaming, so only one mail
is in memory at a time; the file is only ever opened read-only (``mailbox.mbox`` would
try to open evidence for writing).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
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
        return payload.decode("utf-8", errors="replace")


def _leaves(msg: Message) -> Iterator[Message]:
    """Leaf parts in order, not descending into attached mails (message/rfc822)."""
    if msg.is_multipart() and msg.get_content_maintype() != "message":
        for sub in msg.get_payload():  # type: ignore[union-attr]
            if isinstance(sub, Message):
                yield from _leaves(sub)
    else:
        yield msg


def _attachment(part: Message) -> Attachment:
    mime = part.get_content_type()
    name = part.get_filename()
    if mime == "message/rfc822":
        payload_obj = part.get_payload()
        inner = payload_obj[0] if isinstance(payload_obj, list) and payload_obj else None
        data = inner.as_bytes() if isinstance(inner, Message) else b""
        if not name:
            subject = str(inner.get("Subject", "") if inner is not None else "").strip()
            name = f"{subject or 'message'}.eml"
    else:
        decoded = part.get_payload(decode=True)
        data = decoded if isinstance(decoded, bytes) else b""
        if not name:
            cid = str(part.get("Content-ID", "")).strip("<> ")
            name = cid or "unnamed"
    return Attachment(name=_raw_header_text(name), mime=mime, size=len(data),
                      sha256=hashlib.sha256(data).hexdigest(),
                      md5=hashlib.md5(data, usedforsecurity=False).hexdigest())


def mail_event(msg: EmailMessage, ref: str, extra: dict[str, Any] | None = None) -> ParsedEvent:
    """One parsed mail as a ParsedEvent (see the module docstring for the mapping)."""
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
    for header in ("X-Originating-IP", "X-Sender-IP"):
        raw = str(msg.get(header, "") or "").strip(" []")
        if raw:
            parties.append(Party(kind="ip", value=raw, role="origin",
                                 properties={"header": header.lower()}))
    try:
        subject = str(msg.get("Subject", "") or "")
    except Exception:  # noqa: BLE001
        subject = ""
    occurred = None
    try:
        date_header = msg.get("Date")
        occurred = getattr(date_header, "datetime", None)
        if date_header is not None and occurred is None:
            props["date_raw"] = str(date_header)
    except Exception:  # noqa: BLE001 - an unparsable Date is kept raw, not fatal
        props["date_raw"] = str(msg.get_all("Date", failobj=[""])[0])
    for header, key in (("Message-ID", "message_id"), ("In-Reply-To", "in_reply_to"),
                        ("References", "references"), ("X-Mailer", "mailer"),
                        ("User-Agent", "mailer")):
        value = msg.get(header)
        if value:
            text = " ".join(str(value).split())
            props[key] = text.split() if key == "references" else text
    body_parts: list[Message] = []
    body = ""
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    if plain is not None:
        body = _text_of(plain).strip()
        body_parts.append(plain)
    if html is not None:
        body_parts.append(html)
        if not body:
            body = html_to_text(_text_of(html))
    attachments: list[Attachment] = []
    for part in _leaves(msg):
        if any(part is b for b in body_parts) or part is msg and not msg.is_multipart() and \
                part.get_content_maintype() == "text" and not part.get_filename():
            continue
        disposition = part.get_content_disposition()
        if disposition == "attachment" or part.get_filename() or \
                part.get_content_maintype() not in ("text", "multipart"):
            attachments.append(_attachment(part))
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
                       extra: dict[str, Any] | None = None) -> ParsedEvent:
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
    return mail_event(msg, ref, props)


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
            prev_blank = True
            for n, line in enumerate(fh, 1):
                if prev_blank and line.startswith(b"From ") and _FROM_LINE.match(line):
                    if sep is not None:
                        count += 1
                        yield self._finish(buf, oversize, sep, sep_line, count, size)
                    elif buf and any(b.strip() for b in buf):
                        raise ParseError("not an mbox: text before the first 'From ' line",
                                         file=path, ref="line 1")
                    buf, size, oversize, sep, sep_line = [], 0, False, line, n
                    prev_blank = False
                    continue
                if sep is None:
                    if line.strip():
                        raise ParseError("not an mbox: the first line is not a 'From ' "
                                         "separator", file=path, ref=f"line {n}")
                    continue
                prev_blank = not line.strip()
                size += len(line)
                if size > self.max_message_bytes and not oversize:
                    oversize = True
                    buf = _header_lines(buf)  # keep only the header block
                elif not oversize:
                    buf.append(line)
            if sep is None:
                raise ParseError("not an mbox: no 'From ' separator line", file=path)
            count += 1
            yield self._finish(buf, oversize, sep, sep_line, count, size)

    def _finish(self, buf: list[bytes], oversize: bool, sep: bytes, sep_line: int,
                count: int, size: int = 0) -> Record:
        ref = f"message {count}"
        if buf and not buf[-1].strip() and not oversize:
            buf = buf[:-1]  # the blank line belongs to the separator, not the mail
        extra = {"mbox_from": sep.decode("utf-8", errors="replace").strip(),
                 "mbox_line": sep_line}
        try:
            if oversize:
                return headers_only_event(b"".join(buf), size, self.max_message_bytes, ref, extra)
            return mail_event(_parse_bytes(b"".join(buf)), ref, extra)
        except Exception as exc:  # noqa: BLE001 - one broken mail must not end the mailbox
            return RowError(ref=f"{ref} (line {sep_line})", field=None,
                            message=f"cannot read this mail ({type(exc).__name__}: {exc})")
