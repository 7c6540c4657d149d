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
    # The writer quoted the body line as ">From "; reading undoes it (mboxrd rule).
    assert first.body == "Body of mail 1\nFrom here on"
    assert first.properties["mbox_unquoted"] == 1
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


def _one(tmp_path: Path, raw: bytes, name: str = "m.eml") -> ParsedEvent:
    path = tmp_path / name
    path.write_bytes(raw)
    [ev] = list(EmlParser().parse(path, ImportOptions()))
    assert isinstance(ev, ParsedEvent)
    return ev


def test_mboxrd_quoting_and_separator_without_blank_line(tmp_path: Path) -> None:
    path = tmp_path / "Inbox"  # Thunderbird: no extension, "From - " separators
    path.write_bytes(
        b"From - Mon Jan 01 10:00:00 2024\n"
        b"X-Mozilla-Status: 0001\nFrom: a@example.org\nTo: b@example.org\n"
        b"Subject: one\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\n"
        b"first line\n>From the start\n>>From quoted twice\n"
        b"From - Mon Jan 01 11:00:00 2024\n"  # no blank line before the separator
        b"X-Mozilla-Status: 0009\nFrom: b@example.org\nTo: a@example.org\n"
        b"Subject: two\nDate: Mon, 1 Jan 2024 11:00:00 +0000\n\n"
        b"From what I saw at 10:30 it is fine\n")
    assert MboxParser().sniff(path, path.read_bytes()) >= 0.9
    one, two = list(MboxParser().parse(path, ImportOptions()))
    assert one.body == "first line\nFrom the start\n>From quoted twice"
    assert one.properties["mbox_unquoted"] == 2
    assert (one.properties["mail_flags"], one.properties.get("deleted")) == (["read"], None)
    # A body line that merely starts with "From " after a blank line is not a separator.
    assert two.title == "two" and two.body == "From what I saw at 10:30 it is fine"
    assert two.properties["deleted"] is True  # Thunderbird "expunged", not yet compacted


def test_charsets_and_encoded_words(tmp_path: Path) -> None:
    ev = _one(tmp_path, (
        b"From: =?koi8-r?B?6dfBzg==?= <ivan@example.org>\n"
        b"To: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\n"
        b"Subject: =?iso-2022-jp?B?GyRCJDMkcyRLJEEkTxsoQg==?= / =?UTF-8?Q?caf=C3=A9?=\n"
        b"Date: Tue, 2 Jan 2024 09:00:00 +0300\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"xx\"\n\n"
        b"--xx\nContent-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n"
        + "Привет".encode("koi8-r") + b"\n"
        b"--xx\nContent-Type: application/pdf; name=\"=?iso-8859-1?Q?r=E9sum=E9.pdf?=\"\n"
        b"Content-Disposition: attachment; filename=\"=?iso-8859-1?Q?r=E9sum=E9.pdf?=\"\n"
        b"Content-Transfer-Encoding: base64\n\naGVsbG8=\n"
        b"--xx\nContent-Type: application/octet-stream\n"
        b"Content-Disposition: attachment;\n filename*0*=UTF-8''%C3%BCber;\n"
        b" filename*1*=%20sicht.txt\n\nabcd\n"
        b"--xx--\n"))
    assert ev.title == "こんにちは / café"
    assert [(p.value, p.label) for p in ev.parties] == [("ivan@example.org", "Иван"),
                                                         ("andre@example.org", "André")]
    assert ev.body == "Привет"
    # The line break before a boundary belongs to the boundary: "abcd" is 4 bytes.
    assert [(a.name, a.size) for a in ev.attachments] == [("résumé.pdf", 5),
                                                          ("über sicht.txt", 4)]
    assert ev.attachments[0].sha256 == hashlib.sha256(b"hello").hexdigest()


@pytest.mark.parametrize(("charset", "text"), [
    ("iso-8859-1", "Grüße, café"), ("windows-1252", "“quoted” – €5"),
    ("koi8-r", "Съешь же ещё"), ("iso-2022-jp", "日本語のメール")])
def test_body_charsets(tmp_path: Path, charset: str, text: str) -> None:
    ev = _one(tmp_path, b"From: a@example.org\nSubject: s\nDate: Tue, 2 Jan 2024 09:00:00 "
                        b"+0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset="
              + charset.encode() + b"\n\n" + text.encode(charset) + b"\n")
    assert ev.body == text


def test_undeclared_8bit_subject_and_unknown_charset(tmp_path: Path) -> None:
    ev = _one(tmp_path, b"From: a@example.org\nSubject: Caf\xe9 cr\xe8me\n"
                        b"Content-Type: text/plain; charset=x-unheard-of\n\nna\xefve\n")
    assert ev.title == "Café crème"
    assert ev.body == "naïve"


def test_html_only_alternative_and_inline_extras(tmp_path: Path) -> None:
    ev = _one(tmp_path, (
        b"From: a@example.org\nTo: b@example.org\nSubject: s\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"m\"\n\n"
        b"--m\nContent-Type: multipart/alternative; boundary=\"a\"\n\n"
        b"--a\nContent-Type: text/watch-html; charset=utf-8\n\n<b>watch</b>\n"
        b"--a\nContent-Type: text/html; charset=utf-8\n\n<p>Hello <b>HTML</b></p><p>Bye</p>\n"
        b"--a--\n"
        b"--m\nContent-Type: image/jpeg\nContent-Disposition: inline\n"
        b"Content-Transfer-Encoding: base64\n\n/9j/4A==\n"
        b"--m\nContent-Type: text/plain; charset=utf-8\n\nText after the picture\n"
        b"--m\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\n\n"
        b"BEGIN:VCALENDAR\nEND:VCALENDAR\n"
        b"--m--\n"))
    assert ev.body == "Hello HTML\n\nBye\n\nText after the picture"
    assert [a.mime for a in ev.attachments] == ["image/jpeg", "text/calendar"]
    assert ev.attachments[0].size == 4


def test_received_headers_give_ips_and_a_fallback_date(tmp_path: Path) -> None:
    ev = _one(tmp_path, (
        b"Received: from mx.example.net (mx.example.net [198.51.100.20])\n"
        b"\tby inbox.example.org (Postfix) with ESMTPS id 1A2B\n"
        b"\tfor <b@example.org>; Wed, 3 Jan 2024 10:00:05 +0100\n"
        b"Received: from internal.example.net (internal [10.1.2.3])\n"
        b"\tby mx.example.net with SMTP; Wed, 3 Jan 2024 09:00:03 +0000\n"
        b"Received: from [192.0.2.77] (helo=laptop) by internal.example.net\n"
        b"\twith esmtpsa (TLS1.3); Wed, 3 Jan 2024 09:00:01 +0000\n"
        b"Received: from localhost (localhost [127.0.0.1]) by laptop; Wed, 3 Jan 2024 "
        b"09:00:00 +0000\n"
        b"From: a@example.org\nTo: b@example.org\nSubject: no date\n"
        b"Message-ID: <x@example.org>\n\nbody\n"))
    assert [(p.value, p.role, p.properties.get("hop")) for p in ev.parties if p.kind == "ip"] == [
        ("192.0.2.77", "relay", 1), ("198.51.100.20", "relay", 2)]
    assert ev.occurred_at == datetime(2024, 1, 3, 9, 0, 5, tzinfo=UTC)
    assert ev.properties["date_source"] == "received"


def test_address_lists_groups_and_takeout_labels(tmp_path: Path) -> None:
    ev = _one(tmp_path, (
        b"From: \"Doe, Jane\" <jane@example.org>\n"
        b"To: Team: ann@example.org, \"Bo B.\" <bo@example.net>;, undisclosed-recipients:;\n"
        b"Cc: Cy Comment <cy@example.com>\nBcc: dee@example.com\n"
        b"Subject: plan\nDate: Thu, 4 Jan 2024 08:00:00 -0500\n"
        b"X-GM-THRID: 1787654321098765432\n"
        b"X-Gmail-Labels: Inbox,Important,\"Work, 2024\",Category Personal\n\nhi\n"))
    assert [(p.value, p.label, p.role, p.properties["header"]) for p in ev.parties] == [
        ("jane@example.org", "Doe, Jane", "sender", "from"),
        ("ann@example.org", None, "recipient", "to"),
        ("bo@example.net", "Bo B.", "recipient", "to"),
        ("cy@example.com", "Cy Comment", "recipient", "cc"),
        ("dee@example.com", None, "recipient", "bcc")]
    assert ev.properties["labels"] == ["Inbox", "Important", "Work, 2024", "Category Personal"]
    assert ev.properties["thread_id"] == "1787654321098765432"


def _write_eml(tmp_path: Path, msg: EmailMessage) -> Path:
    path = tmp_path / "fwd.eml"
    path.write_bytes(msg.as_bytes())
    return path


def test_nested_forward_is_summarised(tmp_path: Path) -> None:
    outer = _mail(5)
    outer.add_attachment(_mail(4, attach=b"inner secret"))
    [ev] = list(EmlParser().parse(_write_eml(tmp_path, outer), ImportOptions()))
    [inner] = ev.properties["attached_messages"]
    assert inner["subject"] == "Mail 4 — ünïcode" and inner["from"] == "sender4@example.org"
    assert inner["date"] == "2024-01-04T09:30:00+00:00"
    assert inner["attachments"] == [{"name": "blob.bin", "size": 12,
                                     "sha256": hashlib.sha256(b"inner secret").hexdigest()}]


def test_outlook_msg_is_named(tmp_path: Path) -> None:
    path = tmp_path / "note.msg"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000))
    with pytest.raises(ParseError, match="Outlook .msg") as exc:
        list(EmlParser().parse(path, ImportOptions()))
    assert str(path) in str(exc.value)


def test_large_mbox_streams_one_mail_at_a_time(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "big.mbox"
    filler = ("lorem ipsum dolor sit amet " * 3 + "\n") * 300
    with path.open("w", encoding="utf-8") as fh:
        for i in range(150):
            fh.write(f"From x{i}@example.org Mon Jan  1 10:00:00 2024\n"
                     f"From: x{i}@example.org\nSubject: m{i}\n"
                     f"Date: Mon, 1 Jan 2024 10:00:00 +0000\n\n{filler}\n")
    assert path.stat().st_size > 3_000_000
    tracemalloc.start()
    try:
        n = 0
        for rec in MboxParser().parse(path, ImportOptions()):
            assert isinstance(rec, ParsedEvent)
            n += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 150
    assert peak < 1_500_000, f"peak {peak} bytes: the mailbox is held in memory"
