"""E-mail variants: mboxcl Content-Length, qmail Received hops, Thunderbird tags, the files
inside a TNEF winmail.dat, and what Outlook keeps only as .msg named properties
(structures of real files; people and addresses synthetic)."""

from __future__ import annotations

import base64
import hashlib
import struct
import uuid
from datetime import datetime, timezone
from pathlib import Path

from tests.core.ingest.test_chat_email import _one as one_eml
from tests.core.ingest.test_chat_email_msg import (
    PT_LONG,
    PT_TIME,
    compound_file,
    msg_tree,
    recipient,
    tag,
)
from tests.core.ingest.test_chat_email_msg import _one as one_msg
from workstation.ingest.chat.mail import MboxParser
from workstation.ingest.records import ImportOptions, ParsedEvent

UTC = timezone.utc


def mails(path: Path) -> list[ParsedEvent]:
    records = list(MboxParser().parse(path, ImportOptions()))
    assert all(isinstance(r, ParsedEvent) for r in records), records
    return [r for r in records if isinstance(r, ParsedEvent)]


def _mbox_mail(sender: str, when: str, subject: str, body: bytes, length: int | None) -> bytes:
    """One mboxcl2 entry: separator, headers with Content-Length, body (not quoted)."""
    head = (f"From {sender} {when}\n"
            f"From: {sender}\nTo: case@example.org\nSubject: {subject}\n"
            f"Date: {when}\n").encode()
    size = len(body) if length is None else length
    return head + f"Content-Length: {size}\n\n".encode() + body + b"\n"


# A mail quoting another one inline, separator line and all: mboxcl2 writers do not quote
# "From " lines, the Content-Length header tells where the body ends.
QUOTED = (b"See the mail below.\n\n"
          b"From dealer@example.net Sun Dec 31 10:00:00 2023\n"
          b"Subject: the drop\n\n"
          b"pier 9 at midnight\n")


def test_mboxcl2_content_length_keeps_an_unquoted_from_line_in_the_body(
        tmp_path: Path) -> None:
    path = tmp_path / "inbox"
    path.write_bytes(
        _mbox_mail("alice@example.com", "Mon Jan  1 12:00:00 2024", "fwd", QUOTED, None) +
        _mbox_mail("bob@example.org", "Tue Jan  2 12:00:00 2024", "reply", b"ok\n", None))
    events = mails(path)
    assert [(e.ref, e.title) for e in events] == [("message 1", "fwd"), ("message 2", "reply")]
    assert events[0].body == QUOTED.decode().strip()


def test_a_wrong_content_length_is_not_trusted(tmp_path: Path) -> None:
    # The declared end of the first body is not at a separator: split on the lines as
    # usual (mails edited after the mailbox wrote their length).
    path = tmp_path / "inbox"
    path.write_bytes(
        _mbox_mail("alice@example.com", "Mon Jan  1 12:00:00 2024", "one", b"short\n", 500) +
        _mbox_mail("bob@example.org", "Tue Jan  2 12:00:00 2024", "two", QUOTED, None))
    events = mails(path)
    assert [e.title for e in events] == ["one", "two"]
    assert events[0].body == "short"


RECEIVED_QMAIL = (
    b"Received: from mx.example.net (mx.example.net [198.51.100.20])\r\n"
    b"\tby mail.example.org with ESMTPS id 1; Mon, 01 Jan 2024 10:00:05 +0100\r\n"
    b"Received: from unknown (HELO laptop) (jdoe@192.0.2.44)\r\n"
    b"\tby mx.example.net with SMTP; Mon, 01 Jan 2024 10:00:03 +0100\r\n"
    b"Received: (qmail 4242 invoked by uid 89); 1 Jan 2024 09:00:02 -0000\r\n"
    b"From: jdoe@example.com\r\nTo: case@example.org\r\nSubject: hop\r\n"
    b"Date: Mon, 01 Jan 2024 10:00:00 +0100\r\n\r\nhello\r\n")


def test_qmail_received_hop_names_the_senders_ip(tmp_path: Path) -> None:
    ev = one_eml(tmp_path, RECEIVED_QMAIL)
    assert [(p.value, p.properties["hop"]) for p in ev.parties if p.kind == "ip"] == [
        ("192.0.2.44", 1), ("198.51.100.20", 2)]


def test_thunderbird_tags(tmp_path: Path) -> None:
    path = tmp_path / "Inbox"
    path.write_bytes(
        b"From - Mon Jan  1 12:00:00 2024\n"
        b"X-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\n"
        b"X-Mozilla-Keys: $label1 follow-up                    \n"
        b"From: alice@example.com\nTo: bob@example.org\nSubject: tagged\n"
        b"Date: Mon, 01 Jan 2024 12:00:00 +0000\n\nbody\n")
    [ev] = mails(path)
    assert ev.properties["tags"] == ["$label1", "follow-up"]
    assert ev.properties["mail_flags"] == ["read"]


# ------------------------------------------------------------------ TNEF (winmail.dat)
def _tnef_attr(level: int, aid: int, typ: int, data: bytes) -> bytes:
    return struct.pack("<BII", level, typ << 16 | aid, len(data)) + data + \
        struct.pack("<H", sum(data) & 0xFFFF)


def _mapi_unicode(pid: int, text: str) -> bytes:
    raw = text.encode("utf-16-le") + b"\0\0"
    return struct.pack("<HHII", 0x001F, pid, 1, len(raw)) + raw + b"\0" * (-len(raw) % 4)


def tnef(files: list[tuple[str, str | None, bytes]]) -> bytes:
    """A winmail.dat holding ``files``: (8.3 title, long name or None, bytes)."""
    out = struct.pack("<IH", 0x223E9F78, 0x0101)
    out += _tnef_attr(1, 0x9006, 0x0006, b"\0\0\1\0")  # attTnefVersion
    for title, long_name, data in files:
        out += _tnef_attr(2, 0x9002, 0x0006, b"\1\0" + b"\xff" * 4 + b"\0" * 6)
        out += _tnef_attr(2, 0x8010, 0x0001, title.encode("cp1252") + b"\0")
        out += _tnef_attr(2, 0x800F, 0x0006, data)
        props = [struct.pack("<HHi", 0x0003, 0x3705, 1)]  # PR_ATTACH_METHOD, a fixed one
        if long_name:
            props.append(_mapi_unicode(0x3707, long_name))
        out += _tnef_attr(2, 0x9005, 0x0006, struct.pack("<I", len(props)) + b"".join(props))
    return out


def test_files_inside_winmail_dat_are_listed_with_hashes(tmp_path: Path) -> None:
    report, notes = b"PK\x03\x04 not really a docx", b"plain notes"
    blob = tnef([("QUARTE~1.DOC", "Quarterly report \u20ac.docx", report),
                 ("NOTES.TXT", None, notes)])
    raw = (b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: report\r\n"
           b"Date: Mon, 04 Mar 2024 09:15:30 +0000\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
           b"--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
           b'--b\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
           b"Content-Transfer-Encoding: base64\r\n"
           b'Content-Disposition: attachment; filename="winmail.dat"\r\n\r\n' +
           base64.encodebytes(blob).replace(b"\n", b"\r\n") + b"--b--\r\n")
    ev = one_eml(tmp_path, raw)
    assert [(a.name, a.size) for a in ev.attachments] == [
        ("winmail.dat", len(blob)), ("Quarterly report \u20ac.docx", len(report)),
        ("NOTES.TXT", len(notes))]
    assert ev.attachments[1].sha256 == hashlib.sha256(report).hexdigest()
    assert ev.attachments[2].md5 == hashlib.md5(notes).hexdigest()
    assert ev.properties["tnef"] == [{"container": "winmail.dat",
                                      "files": ["Quarterly report \u20ac.docx", "NOTES.TXT"]}]


# ------------------------------------------------------------- .msg named properties
_PSETID_COMMON = uuid.UUID("00062008-0000-0000-c000-000000000046")
_PS_INTERNET_HEADERS = uuid.UUID("00020386-0000-0000-c000-000000000046")


def _name_map(entries: list[tuple[str, int | str, int]]) -> dict[str, bytes]:
    """The __nameid_version1.0 storage for (set, number or name, index) entries; set is
    "common", "public" (PS_PUBLIC_STRINGS) or "headers" (PS_INTERNET_HEADERS)."""
    guids = {"common": 3, "public": 2, "headers": 4}
    strings = b""
    table = b""
    for where, key, index in entries:
        if isinstance(key, str):
            name = key.encode("utf-16-le")
            ident, kind = len(strings), 1
            strings += struct.pack("<I", len(name)) + name + b"\0" * (-len(name) % 4)
        else:
            ident, kind = key, 0
        table += struct.pack("<IHH", ident, guids[where] << 1 | kind, index)
    return {"__substg1.0_00020102": _PSETID_COMMON.bytes_le + _PS_INTERNET_HEADERS.bytes_le,
            "__substg1.0_00030102": table, "__substg1.0_00040102": strings}


def test_msg_named_properties_account_categories_and_x_headers(tmp_path: Path) -> None:
    props = {tag(0x001A): "IPM.Note", tag(0x0037): "Meeting",
             tag(0x0C1A): "Alice Example", tag(0x0C1E): "SMTP",
             tag(0x0C1F): "alice@example.org",
             tag(0x0039, PT_TIME): datetime(2024, 3, 4, 9, 15, tzinfo=UTC),
             tag(0x1000): "see you there", tag(0x0E07, PT_LONG): 1,
             # Named: 0x8000 account name, 0x8002/0x8003 internet headers.
             tag(0x8000): "alice@example.org (work)",
             tag(0x8002): "[203.0.113.77]", tag(0x8003): "CaseMailer 2.1"}
    tree = msg_tree(props, [recipient(1, "Bob Example", "bob@example.com")])
    # Categories: a multi-valued string (0x8001, PtypMultipleString) in value streams.
    cats = ["Evidence", "Follow up"]
    tree["__substg1.0_8001101F"] = b"".join(
        struct.pack("<I", len(c.encode("utf-16-le")) + 2) for c in cats)
    for i, c in enumerate(cats):
        tree[f"__substg1.0_8001101F-{i:08X}"] = c.encode("utf-16-le") + b"\0\0"
    tree["__nameid_version1.0"] = _name_map([
        ("common", 0x8580, 0), ("public", "Keywords", 1),
        ("headers", "X-Originating-IP", 2), ("headers", "x-custom-client", 3)])
    path = tmp_path / "meeting.msg"
    path.write_bytes(compound_file(tree))
    ev = one_msg(path)
    assert ev.properties["account"] == "alice@example.org (work)"
    assert ev.properties["categories"] == ["Evidence", "Follow up"]
    assert ev.properties["internet_headers"] == {"x-originating-ip": "[203.0.113.77]",
                                                 "x-custom-client": "CaseMailer 2.1"}
    # No transport headers in this .msg: the sender's IP comes from the named property.
    assert [(p.value, p.role) for p in ev.parties if p.kind == "ip"] == [
        ("203.0.113.77", "origin")]
