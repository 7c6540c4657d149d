"""E-mail: the corpus .eml, generated mbox/emlx files and bad input."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from workstation.ingest.chat.mail import EmlParser, MboxParser
from workstation.ingest.records import ImportOptions, ParsedEvent, ParseError

UTC = timezone.utc


def test_corpus_eml(shared_data: Path) -> None:
    path = shared_data / "chat/email/fake-email-attachment.eml"
    assert EmlParser().sniff(path, path.read_bytes()) >= 0.9
    assert MboxParser().sniff(path, path.read_bytes()) == 0.0
    [ev] = list(EmlParser().parse(path, ImportOptions()))
    assert isinstance(ev, ParsedEvent) and ev.kind == "message"
    assert ev.title == "Fake email with attachment"
    assert ev.occurred_at == datetime(2022, 12, 23, 18, 8, 48, tzinfo=UTC)
    assert ev.occurred_at.utcoffset().total_seconds() == -6 * 3600  # offset kept
    assert ev.properties["channel"] == "email"
    assert ev.properties["message_id"].startswith("<CAPgNNXSzLVJ")
    assert [(p.kind, p.value, p.label, p.role) for p in ev.parties] == [
        ("email", "maxwell@example.org", "Maxwell Testman", "sender"),
        ("email", "maxwell@example.org", "Maxwell Testman", "recipient")]
    # text/plain preferred over the HTML alternative.
    assert ev.body.startswith("Hello!\n\nHere's the attachments!")
    assert "<div" not in ev.body
    [att] = ev.attachments
    content = b"Hey this is a fake attachment!"
    assert (att.name, att.mime, att.size) == ("fake-attachment.txt", "text/plain", len(content))
    assert att.sha256 == hashlib.sha256(content).hexdigest()
    assert att.md5 == hashlib.md5(content).hexdigest()


def _mail(i: int, *, html_only: bool = False, attach: bytes | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Sender {i} <sender{i}@example.org>"
    msg["To"] = "Ann <ann@example.org>, bo@example.net"
    msg["Cc"] = "Cy <cy@example.com>"
    msg["Subject"] = f"Mail {i} — ünïcode"
    msg["Date"] = format_datetime(datetime(2024, 1, i, 9, 30, tzinfo=UTC))
    msg["Message-ID"] = f"<m{i}@example.org>"
    if i > 1:
        msg["In-Reply-To"] = f"<m{i - 1}@example.org>"
    if html_only:
        msg.set_content("<html><body><p>Hello <b>there</b></p><script>x()</script>"
                        "<p>From the <i>HTML</i></p></body></html>", subtype="html")
    else:
        msg.set_content(f"Body of mail {i}\nFrom here on\n")
    if attach is not None:
        msg.add_attachment(attach, maintype="application", subtype="octet-stream",
                           filename="blob.bin")
    return msg


def test_mbox_with_three_mails(tmp_path: Path) -> None:
    payload = random.Random(5).randbytes(3000)
    mails = [_mail(1), _mail(2, attach=payload), _mail(3, html_only=True)]
    path = tmp_path / "inbox.mbox"
    with path.open("wb") as fh:
        for i, m in enumerate(mails, 1):
            fh.write(f"From sender{i}@example.org Mon Jan  {i} 09:30:00 2024\n".encode())
            fh.write(m.as_bytes().replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From "))
            fh.write(b"\n")
    p = MboxParser()
    assert p.sniff(path, path.read_bytes()[:65536]) >= 0.9
    assert EmlParser().sniff(path, path.read_bytes()[:65536]) == 0.0
    evs = list(p.parse(path, ImportOptions()))
    assert [e.ref for e in evs] == ["message 1", "message 2", "message 3"]
    assert [e.title for e in evs] == [f"Mail {i} — ünïcode" for i in (1, 2, 3)]
    assert [e.occurred_at for e in evs] == [datetime(2024, 1, i, 9, 30, tzinfo=UTC)
                                            for i in (1, 2, 3)]
    first, second, third = evs
    assert first.body == "Body of mail 1\n>From here on"
    assert [(p.value, p.role, p.properties["header"]) for p in first.parties] == [
        ("sender1@example.org", "sender", "from"), ("ann@example.org", "recipient", "to"),
        ("bo@example.net", "recipient", "to"), ("cy@example.com", "recipient", "cc")]
    assert second.properties["in_reply_to"] == "<m1@example.org>"
    [att] = second.attachments
    assert (att.name, att.size, att.sha256) == (
        "blob.bin", 3000, hashlib.sha256(payload).hexdigest())
    assert third.body == "Hello there\n\nFrom the HTML"
    assert third.attachments == ()
    assert first.properties["mbox_from"].startswith("From sender1@example.org")


def test_forwarded_mail_is_one_attachment(tmp_path: Path) -> None:
    outer = _mail(5)
    inner = _mail(4, attach=b"inner secret")
    outer.add_attachment(inner)
    path = tmp_path / "fwd.eml"
    path.write_bytes(outer.as_bytes())
    [ev] = list(EmlParser().parse(path, ImportOptions()))
    [att] = ev.attachments
    assert att.mime == "message/rfc822"
    assert att.name == "Mail 4 — ünïcode.eml"
    assert att.size and att.size > 100


def test_emlx(tmp_path: Path) -> None:
    data = _mail(2).as_bytes()
    path = tmp_path / "12345.emlx"
    path.write_bytes(f"{len(data)}\n".encode() + data +
                     b'<?xml version="1.0"?><plist><dict></dict></plist>')
    assert EmlParser().sniff(path, path.read_bytes()) >= 0.8
    [ev] = list(EmlParser().parse(path, ImportOptions()))
    assert ev.title == "Mail 2 — ünïcode" and "plist" not in (ev.body or "")


def test_binary_and_headerless_files_are_refused(tmp_path: Path) -> None:
    blob = tmp_path / "x.eml"
    blob.write_bytes(random.Random(9).randbytes(5000))
    with pytest.raises(ParseError, match="binary"):
        list(EmlParser().parse(blob, ImportOptions()))
    with pytest.raises(ParseError, match="not an mbox"):
        list(MboxParser().parse(blob, ImportOptions()))
    text = tmp_path / "notes.eml"
    text.write_text("Dear diary,\ntoday nothing happened.\n")
    with pytest.raises(ParseError, match="no mail headers"):
        list(EmlParser().parse(text, ImportOptions()))


def test_unparsable_date_is_kept_raw(tmp_path: Path) -> None:
    path = tmp_path / "odd.eml"
    path.write_bytes(b"From: a@example.org\nTo: b@example.org\nSubject: x\n"
                     b"Date: sometime last week\n\nhello\n")
    [ev] = list(EmlParser().parse(path, ImportOptions()))
    assert ev.occurred_at is None
    assert ev.properties["date_raw"] == "sometime last week"
    assert ev.body == "hello"
