"""Outlook .msg (OLE2 compound file, [MS-OXMSG]) imported as mail, like an .eml.

olefile (what the importer reads with) cannot write a new compound file, so the .msg
files here are built by ``compound_file`` below: a minimal version-3 compound file
([MS-CFB]: 512-byte sectors, streams under 4096 bytes in the 64-byte-sector mini stream,
one FAT, no DIFAT sectors), holding the storages and streams ``msg_tree`` lays out as
Outlook does (a ``__properties_version1.0`` stream of 16-byte entries after a 32-, 24- or
8-byte header; one ``__substg1.0_IIIITTTT`` stream per variable-size property;
``__recip_version1.0_#N`` and ``__attach_version1.0_#N`` storages; an attached Outlook
item as a ``__substg1.0_3701000D`` storage). The layout was checked against Outlook-made
files (Unicode strings, attachments, an attached item, Exchange 2016 transport headers).
People and addresses are synthetic (example.com/example.org, documentation IP ranges).
"""

from __future__ import annotations

import hashlib
import struct
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from workstation.errors import WorkstationError
from workstation.ingest.chat import PARSERS
from workstation.ingest.chat.mail import EmlParser, MsgParser
from workstation.ingest.pipeline import detect, run_import
from workstation.ingest.records import ImportOptions, ParsedEvent, ParseError

UTC = timezone.utc

# --------------------------------------------------------------- compound file writer
_END, _FREE, _FATSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def compound_file(tree: dict[str, Any]) -> bytes:
    """A compound file of ``tree``: name -> bytes (a stream) or dict (a storage)."""
    entries: list[dict[str, Any]] = []

    def add(name: str, node: Any, typ: int) -> int:
        idx = len(entries)
        entries.append({"name": name, "type": typ, "kids": [], "start": 0, "size": 0,
                        "data": node if isinstance(node, bytes) else None,
                        "left": _NOSTREAM, "right": _NOSTREAM, "child": _NOSTREAM})
        if isinstance(node, dict):
            for k, v in node.items():
                entries[idx]["kids"].append(add(k, v, 1 if isinstance(v, dict) else 2))
        return idx

    add("Root Entry", tree, 5)

    def bst(ids: list[int]) -> int:  # siblings as a balanced tree, ordered as [MS-CFB] says
        if not ids:
            return _NOSTREAM
        mid = len(ids) // 2
        entries[ids[mid]]["left"] = bst(ids[:mid])
        entries[ids[mid]]["right"] = bst(ids[mid + 1:])
        return ids[mid]

    for e in entries:
        if e["type"] in (1, 5):
            e["child"] = bst(sorted(e["kids"], key=lambda i: (len(entries[i]["name"]),
                                                              entries[i]["name"].upper())))
    sectors: list[bytes] = []
    fat: list[int] = []

    def alloc(data: bytes) -> int:
        if not data:
            return _END
        start, n = len(sectors), (len(data) + 511) // 512
        sectors.extend(data[k * 512:(k + 1) * 512].ljust(512, b"\0") for k in range(n))
        fat.extend(range(start + 1, start + n))
        fat.append(_END)
        return start

    mini, minifat = bytearray(), list[int]()
    for e in entries:
        if e["type"] != 2:
            continue
        data = e["data"]
        e["size"] = len(data)
        if not data:
            e["start"] = _END
        elif len(data) < 4096:
            e["start"], n = len(mini) // 64, (len(data) + 63) // 64
            minifat.extend(range(e["start"] + 1, e["start"] + n))
            minifat.append(_END)
            mini += data.ljust(n * 64, b"\0")
        else:
            e["start"] = alloc(data)
    entries[0]["start"], entries[0]["size"] = alloc(bytes(mini)), len(mini)
    minifat_bytes = b"".join(struct.pack("<I", x) for x in minifat)
    minifat_start = alloc(minifat_bytes) if minifat else _END

    def direntry(e: dict[str, Any] | None) -> bytes:
        if e is None:
            return struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM,
                               _NOSTREAM, b"", 0, 0, 0, 0, 0)
        name = (e["name"] + "\0").encode("utf-16-le")
        assert len(name) <= 64, e["name"]
        return struct.pack("<64sHBBIII16sIQQIQ", name, len(name), e["type"], 1, e["left"],
                           e["right"], e["child"], b"", 0, 0, 0, e["start"], e["size"])

    slots = (len(entries) + 3) // 4 * 4
    directory = b"".join(direntry(entries[i] if i < len(entries) else None) for i in range(slots))
    dir_start = alloc(directory)
    n_fat = 1
    while len(sectors) + n_fat > n_fat * 128:
        n_fat += 1
    assert n_fat <= 109, "test files stay small: no DIFAT sectors"
    fat_first = len(sectors)
    fat.extend([_FATSECT] * n_fat)
    fat.extend([_FREE] * (n_fat * 128 - len(fat)))
    fat_bytes = b"".join(struct.pack("<I", x) for x in fat)
    sectors.extend(fat_bytes[k * 512:(k + 1) * 512] for k in range(n_fat))
    difat = [fat_first + k for k in range(n_fat)] + [_FREE] * (109 - n_fat)
    header = (_MAGIC + b"\0" * 16 + struct.pack("<HHHHH6sIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6,
                                                 b"", 0, n_fat, dir_start, 0, 4096,
                                                 minifat_start, len(minifat) and
                                                 (len(minifat_bytes) + 511) // 512, _END, 0)
              + b"".join(struct.pack("<I", x) for x in difat))
    assert len(header) == 512
    return header + b"".join(sectors)


# ------------------------------------------------------------------ .msg layout
PT_UNICODE, PT_STRING8, PT_BINARY, PT_LONG, PT_BOOL, PT_TIME, PT_OBJECT = (
    0x001F, 0x001E, 0x0102, 0x0003, 0x000B, 0x0040, 0x000D)


def _filetime(when: datetime) -> int:
    return (when - datetime(1601, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 10


def msg_tree(props: dict[int, Any], recipients: list[dict[int, Any]] = (),  # type: ignore[assignment]
             attachments: list[dict[int, Any]] = (), *, header: int = 32,  # type: ignore[assignment]
             codepage: str = "cp1252") -> dict[str, Any]:
    """The storage of one message object. ``props`` maps property tags (id << 16 | type) to
    values: str for 001F/001E (001E encoded in ``codepage``), bytes for 0102, int, bool,
    datetime for 0040, and for 000D a dict (a storage built by ``msg_tree``)."""
    out: dict[str, Any] = {}
    entries = []
    for tag, value in props.items():
        typ = tag & 0xFFFF
        name = f"__substg1.0_{tag:08X}"
        if typ == PT_UNICODE:
            out[name] = value.encode("utf-16-le")
            entries.append(struct.pack("<IIQ", tag, 6, len(out[name]) + 2))
        elif typ == PT_STRING8:
            out[name] = value.encode(codepage)
            entries.append(struct.pack("<IIQ", tag, 6, len(out[name]) + 1))
        elif typ == PT_BINARY:
            out[name] = value
            entries.append(struct.pack("<IIQ", tag, 6, len(value)))
        elif typ == PT_OBJECT:
            out[name] = value
            entries.append(struct.pack("<IIQ", tag, 6, 0xFFFFFFFF))
        elif typ == PT_TIME:
            entries.append(struct.pack("<IIQ", tag, 6, _filetime(value)))
        else:
            entries.append(struct.pack("<IIQ", tag, 6, int(value) & 0xFFFFFFFF))
    head = b"\0" * 8
    if header >= 24:
        head += struct.pack("<IIII", len(recipients), len(attachments), len(recipients),
                            len(attachments))
    head += b"\0" * (header - len(head))
    out["__properties_version1.0"] = head + b"".join(entries)
    for i, r in enumerate(recipients):
        out[f"__recip_version1.0_#{i:08X}"] = msg_tree(r, header=8, codepage=codepage)
    for i, a in enumerate(attachments):
        out[f"__attach_version1.0_#{i:08X}"] = msg_tree(a, header=8, codepage=codepage)
    return out


def write_msg(path: Path, props: dict[int, Any], recipients: list[dict[int, Any]] = (),  # type: ignore[assignment]
              attachments: list[dict[int, Any]] = (), codepage: str = "cp1252") -> Path:  # type: ignore[assignment]
    tree = msg_tree(props, recipients, attachments, codepage=codepage)
    tree["__nameid_version1.0"] = {"__substg1.0_00020102": b"", "__substg1.0_00030102": b"",
                                   "__substg1.0_00040102": b""}
    path.write_bytes(compound_file(tree))
    return path


def tag(pid: int, typ: int = PT_UNICODE) -> int:
    return pid << 16 | typ


def recipient(kind: int, name: str, address: str, addrtype: str = "SMTP",
              smtp: str | None = None) -> dict[int, Any]:
    r = {tag(0x0C15, PT_LONG): kind, tag(0x3001): name, tag(0x3002): addrtype,
         tag(0x3003): address}
    if smtp:
        r[tag(0x39FE)] = smtp
    return r


def lzfu(raw: bytes) -> bytes:
    """PR_RTF_COMPRESSED of ``raw`` ([MS-OXRTFCP]: greedy matches against the 4096-byte
    dictionary primed with the standard RTF prefix, then the end marker)."""
    prebuf = (b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss "
              b"\\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier"
              b"{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx")
    dictionary = bytearray(4096)
    dictionary[:len(prebuf)] = prebuf
    write, filled, pos, out = len(prebuf), len(prebuf), 0, bytearray()
    tokens: list[bytes] = []
    flags = 0

    def put(byte: int) -> None:
        nonlocal write, filled
        dictionary[write] = byte
        write, filled = (write + 1) % 4096, min(4096, filled + 1)

    def emit(token: bytes, is_ref: bool) -> None:
        nonlocal flags
        if is_ref:
            flags |= 1 << len(tokens)
        tokens.append(token)
        if len(tokens) == 8:
            flush()

    def flush() -> None:
        nonlocal flags
        out.append(flags)
        out.extend(b"".join(tokens))
        tokens.clear()
        flags = 0

    while pos < len(raw):
        best_len, best_off = 0, 0
        for off in range(filled):
            n = 0
            while n < 17 and pos + n < len(raw) and off != write and \
                    dictionary[(off + n) % 4096] == raw[pos + n] and (off + n) % 4096 != write:
                n += 1
            if n > best_len:
                best_len, best_off = n, off
        if best_len >= 2:
            emit(struct.pack(">H", best_off << 4 | (best_len - 2)), True)
            for i in range(best_len):
                put(raw[pos + i])
            pos += best_len
        else:
            emit(raw[pos:pos + 1], False)
            put(raw[pos])
            pos += 1
    emit(struct.pack(">H", write << 4), True)  # the end marker: a reference to here
    if tokens:
        flush()
    body = bytes(out)
    return struct.pack("<IIII", len(body) + 12, len(raw), 0x75465A4C, 0) + body


# ------------------------------------------------------------------ shared people
SENT = datetime(2024, 3, 4, 9, 15, 30, tzinfo=UTC)
DELIVERED = datetime(2024, 3, 4, 9, 16, 2, tzinfo=UTC)
PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes: a regular-sector stream
SMALL = b"meeting notes, synthetic\n"
HEADERS = (
    "Received: from mail.example.org (mail.example.org [203.0.113.45])\r\n"
    " by mx.example.com with ESMTPS id abc123; Mon, 4 Mar 2024 09:16:01 +0000\r\n"
    "Received: from [192.168.1.20] (host.example.net [198.51.100.77])\r\n"
    " by mail.example.org with ESMTPSA id def456; Mon, 4 Mar 2024 09:15:31 +0000\r\n"
    "X-Originating-IP: [198.51.100.77]\r\n"
    "From: Alice Example <alice@example.org>\r\n"
    "To: Bob Example <bob@example.com>, carol@example.com\r\n"
    "Cc: Dan Example <dan@example.net>\r\n"
    "Subject: Quarterly figures\r\n"
    "Date: Mon, 4 Mar 2024 09:15:30 +0000\r\n"
    "Message-ID: <q1-2024@example.org>\r\n"
    "X-Mailer: Microsoft Outlook 16.0\r\n\r\n")


def _outlook_msg(path: Path) -> Path:
    inner = msg_tree({tag(0x0037): "Earlier thread", tag(0x0C1A): "Erin Example",
                      tag(0x0C1E): "SMTP", tag(0x0C1F): "erin@example.org",
                      tag(0x0039, PT_TIME): datetime(2024, 3, 1, 8, 0, tzinfo=UTC),
                      tag(0x1000): "older text"},
                     [recipient(1, "Alice Example", "alice@example.org")],
                     [{tag(0x3705, PT_LONG): 1, tag(0x3707): "inner.txt",
                       tag(0x3701, PT_BINARY): SMALL}], header=24)
    props = {tag(0x001A): "IPM.Note", tag(0x0037): "Quarterly figures",
             tag(0x0C1A): "Alice Example", tag(0x0C1E): "SMTP",
             tag(0x0C1F): "alice@example.org", tag(0x0042): "Alice Example",
             tag(0x0064): "SMTP", tag(0x0065): "alice@example.org",
             tag(0x0039, PT_TIME): SENT, tag(0x0E06, PT_TIME): DELIVERED,
             tag(0x1000): "Figures attached.\r\nCall +1 202-555-0147 tomorrow.\r\n",
             tag(0x1035): "<q1-2024@example.org>", tag(0x007D): HEADERS,
             tag(0x0E07, PT_LONG): 0x11}
    recips = [recipient(1, "Bob Example", "bob@example.com"),
              recipient(1, "carol@example.com", "carol@example.com"),
              recipient(2, "Dan Example", "dan@example.net"),
              recipient(3, "Eve Example", "eve@example.com")]
    atts = [{tag(0x3705, PT_LONG): 1, tag(0x3707): "figures-2024-q1.xlsx",
             tag(0x3704): "FIGURE~1.XLS", tag(0x370E): "application/vnd.ms-excel",
             tag(0x3701, PT_BINARY): PAYLOAD},
            {tag(0x3705, PT_LONG): 5, tag(0x3001): "Earlier thread",
             tag(0x3701, PT_OBJECT): inner}]
    return write_msg(path, props, recips, atts)


def _equivalent_eml(path: Path) -> Path:
    msg = EmailMessage()
    msg["From"] = "Alice Example <alice@example.org>"
    msg["To"] = "Bob Example <bob@example.com>, carol@example.com"
    msg["Cc"] = "Dan Example <dan@example.net>"
    msg["Bcc"] = "Eve Example <eve@example.com>"
    msg["Subject"] = "Quarterly figures"
    msg["Date"] = format_datetime(SENT)
    msg["Message-ID"] = "<q1-2024@example.org>"
    msg.set_content("Figures attached.\nCall +1 202-555-0147 tomorrow.\n")
    msg.add_attachment(PAYLOAD, maintype="application", subtype="vnd.ms-excel",
                       filename="figures-2024-q1.xlsx")
    path.write_bytes(msg.as_bytes())
    return path


def _one(path: Path) -> ParsedEvent:
    [ev] = list(MsgParser().parse(path, ImportOptions()))
    assert isinstance(ev, ParsedEvent)
    return ev


# ------------------------------------------------------------------------- tests
def test_outlook_msg_reads_like_the_same_mail_as_eml(tmp_path: Path) -> None:
    path = _outlook_msg(tmp_path / "Quarterly figures.msg")
    assert MsgParser().sniff(path, path.read_bytes()[:65536]) >= 0.9
    assert detect(path).format == "email_msg"
    ev = _one(path)
    assert (ev.kind, ev.ref, ev.title) == ("message", "message 1", "Quarterly figures")
    assert ev.occurred_at == SENT and ev.occurred_at.tzinfo is not None
    assert ev.properties["received_at"] == "2024-03-04T09:16:02+00:00"
    assert ev.body == "Figures attached.\r\nCall +1 202-555-0147 tomorrow."
    assert ev.properties["message_id"] == "<q1-2024@example.org>"
    assert ev.properties["mailer"] == "Microsoft Outlook 16.0"
    assert "Received: from mail.example.org" in ev.properties["transport_headers"]
    assert [(p.kind, p.value, p.label, p.role, p.properties.get("header"))
            for p in ev.parties] == [
        ("email", "alice@example.org", "Alice Example", "sender", "from"),
        ("email", "bob@example.com", "Bob Example", "recipient", "to"),
        ("email", "carol@example.com", None, "recipient", "to"),
        ("email", "dan@example.net", "Dan Example", "recipient", "cc"),
        ("email", "eve@example.com", "Eve Example", "recipient", "bcc"),
        ("ip", "198.51.100.77", None, "origin", "x-originating-ip"),
        ("ip", "203.0.113.45", None, "relay", "received")]
    sheet, item = ev.attachments
    assert (sheet.name, sheet.mime, sheet.size, sheet.sha256) == (
        "figures-2024-q1.xlsx", "application/vnd.ms-excel", len(PAYLOAD),
        hashlib.sha256(PAYLOAD).hexdigest())
    assert sheet.md5 == hashlib.md5(PAYLOAD).hexdigest()
    assert item.name == "Earlier thread.msg" and item.size and len(item.sha256 or "") == 64
    [summary] = ev.properties["attached_messages"]
    assert summary == {"subject": "Earlier thread", "from": "erin@example.org",
                       "date": "2024-03-01T08:00:00+00:00",
                       "attachments": [{"name": "inner.txt", "size": len(SMALL),
                                        "sha256": hashlib.sha256(SMALL).hexdigest()}]}
    # The same mail as an .eml: the same sender and recipients, the same attachment hash.
    eml = list(EmlParser().parse(_equivalent_eml(tmp_path / "q.eml"), ImportOptions()))[0]
    assert isinstance(eml, ParsedEvent)
    emails = [(p.value, p.label, p.role, p.properties["header"]) for p in ev.parties
              if p.kind == "email"]
    assert emails == [(p.value, p.label, p.role, p.properties["header"])
                      for p in eml.parties if p.kind == "email"]
    assert eml.attachments[0].sha256 == sheet.sha256 and eml.occurred_at == ev.occurred_at


def test_msg_and_eml_import_into_the_same_entities(ws, tmp_path: Path) -> None:
    cid = ws.create_case("M1", "mail").id
    r1 = run_import(ws, cid, _outlook_msg(tmp_path / "q.msg"))
    assert (r1.format, r1.events, r1.messages) == ("email_msg", 1, 1)
    emails = {e.key for e in ws.list_entities(cid, kind="email")}
    assert emails == {"email:alice@example.org", "email:bob@example.com",
                      "email:carol@example.com", "email:dan@example.net",
                      "email:eve@example.com"}
    ips = {e.key for e in ws.list_entities(cid, kind="ip")}
    assert ips == {"ip:198.51.100.77", "ip:203.0.113.45"}
    before = len(ws.list_entities(cid))
    r2 = run_import(ws, cid, _equivalent_eml(tmp_path / "q.eml"))
    assert r2.format == "email_eml"
    assert {e.key for e in ws.list_entities(cid, kind="email")} == emails
    [msg_ev, eml_ev] = sorted(ws.list_events(cid), key=lambda e: e.properties.get("format", ""),
                              reverse=True)
    assert msg_ev.properties["format"] == "msg"
    assert {(p.entity_id, p.role) for p in msg_ev.parties if p.kind == "email"} == \
        {(p.entity_id, p.role) for p in eml_ev.parties if p.kind == "email"}
    assert msg_ev.ts_utc == eml_ev.ts_utc
    assert msg_ev.properties["attachments"][0]["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    alice = next(e for e in ws.list_entities(cid, kind="email") if e.key == "email:alice@example.org")
    assert alice.properties.get("display_name") == "Alice Example"
    assert len(ws.list_entities(cid)) >= before


EX_ALICE = "/O=EXAMPLEORG/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=ALICE"
EX_BOB = "/O=EXAMPLEORG/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=BOB"
EX_CAROL = "/O=EXAMPLEORG/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=CAROL"
EX_GONE = "/O=EXAMPLEORG/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=FORMER"


def test_exchange_addresses_resolve_to_smtp(ws, tmp_path: Path) -> None:
    # An internal mail as Exchange stores it: sender and recipients by X.500 DN; SMTP
    # addresses in PR_SENDER_SMTP_ADDRESS / PR_SMTP_ADDRESS or only in the headers.
    props = {tag(0x0037): "Internal", tag(0x0C1A): "Alice Example", tag(0x0C1E): "EX",
             tag(0x0C1F): EX_ALICE, tag(0x5D01): "alice@example.org",
             tag(0x0039, PT_TIME): SENT, tag(0x1000): "internal note",
             tag(0x007D): "From: Alice Example <alice@example.org>\r\n"
                          "To: Bob Example <bob@example.com>, Carol Example <carol@example.com>\r\n\r\n"}
    recips = [recipient(1, "Bob Example", EX_BOB, "EX", smtp="bob@example.com"),
              recipient(1, "Carol Example", EX_CAROL, "EX"),
              recipient(2, "Former Staff", EX_GONE, "EX")]
    path = write_msg(tmp_path / "internal.msg", props, recips)
    ev = _one(path)
    assert [(p.kind, p.value, p.platform, p.role, p.properties.get("header"))
            for p in ev.parties] == [
        ("email", "alice@example.org", None, "sender", "from"),
        ("email", "bob@example.com", None, "recipient", "to"),
        ("email", "carol@example.com", None, "recipient", "to"),  # from the To header
        ("account", EX_GONE, "exchange", "recipient", "cc")]
    assert ev.parties[0].properties["exchange_address"] == EX_ALICE
    gone = ev.parties[3]
    assert gone.label == "Former Staff"
    assert gone.properties["address_type"] == "EX" and gone.properties["unresolved"] is True
    cid = ws.create_case("EX", "x").id
    run_import(ws, cid, path)
    keys = {e.key for e in ws.list_entities(cid)}
    assert {"email:alice@example.org", "email:bob@example.com", "email:carol@example.com"} <= keys
    assert not any(k and k.startswith("email:/o=") for k in keys)


def test_exchange_sender_without_smtp_property_uses_the_headers(tmp_path: Path) -> None:
    props = {tag(0x0037): "x", tag(0x0C1A): "Alice Example", tag(0x0C1E): "EX",
             tag(0x0C1F): EX_ALICE, tag(0x0039, PT_TIME): SENT,
             tag(0x007D): "From: \"Example, Alice\" <alice@example.org>\r\n\r\n"}
    ev = _one(write_msg(tmp_path / "h.msg", props))
    assert [(p.kind, p.value, p.label) for p in ev.parties] == [
        ("email", "alice@example.org", "Alice Example")]
    # No headers either (a draft): kept as the Exchange address, marked so.
    props.pop(tag(0x007D))
    ev = _one(write_msg(tmp_path / "d.msg", props))
    [p] = ev.parties
    assert (p.kind, p.value, p.platform, p.label) == ("account", EX_ALICE, "exchange",
                                                      "Alice Example")
    assert p.properties["unresolved"] is True


def test_ansi_msg_strings_in_the_message_code_page(tmp_path: Path) -> None:
    # Outlook 2003 and older write 8-bit strings (001E) in the message's code page.
    props = {tag(0x0037, PT_STRING8): "Отчёт за март", tag(0x0C1A, PT_STRING8): "Иван Петров",
             tag(0x0C1E, PT_STRING8): "SMTP", tag(0x0C1F, PT_STRING8): "ivan@example.org",
             tag(0x1000, PT_STRING8): "Привет! Файл во вложении.",
             tag(0x3FFD, PT_LONG): 1251, tag(0x0039, PT_TIME): SENT}
    recips = [{tag(0x0C15, PT_LONG): 1, tag(0x3001, PT_STRING8): "Ольга",
               tag(0x3002, PT_STRING8): "SMTP", tag(0x3003, PT_STRING8): "olga@example.com"}]
    atts = [{tag(0x3705, PT_LONG): 1, tag(0x3707, PT_STRING8): "отчёт.txt",
             tag(0x3701, PT_BINARY): SMALL}]
    ev = _one(write_msg(tmp_path / "ansi.msg", props, recips, atts, codepage="cp1251"))
    assert ev.title == "Отчёт за март"
    assert ev.body == "Привет! Файл во вложении."
    assert [(p.value, p.label) for p in ev.parties] == [("ivan@example.org", "Иван Петров"),
                                                        ("olga@example.com", "Ольга")]
    assert ev.attachments[0].name == "отчёт.txt"
    assert ev.properties["string_encoding"] == "ansi (cp1251)"


def test_html_only_body_becomes_text(tmp_path: Path) -> None:
    html = ("<html><head><meta charset=\"utf-8\"><style>p{color:red}</style></head><body>"
            "<p>Hello <b>Bob</b> — café</p><script>alert(1)</script><p>Second line</p>"
            "</body></html>").encode("utf-8")
    ev = _one(write_msg(tmp_path / "html.msg", {tag(0x0037): "h", tag(0x1013, PT_BINARY): html,
                                                tag(0x0039, PT_TIME): SENT}))
    assert ev.body == "Hello Bob — café\n\nSecond line"
    assert ev.properties["body_source"] == "html"


def test_compressed_rtf_only_body_becomes_text(tmp_path: Path) -> None:
    rtf = (rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Arial;}{\f1\fnil\fcharset204 "
           rb"Arial Cyr;}}{\colortbl;\red0\green0\blue0;}\f0\fs20 Dear Bob,\par Caf\'e9 at "
           rb"10\u8364?, room {\b 4}.\par \f1 \'cf\'f0\'e8\'e2\'e5\'f2\par "
           rb"{\*\generator Riched20;}\u-10179?\u-8694?}")
    comp = lzfu(rtf)
    assert len(comp) < len(rtf) + 16  # references into the primed dictionary were used
    ev = _one(write_msg(tmp_path / "rtf.msg", {tag(0x0037): "r",
                                               tag(0x1009, PT_BINARY): comp,
                                               tag(0x0039, PT_TIME): SENT}))
    assert ev.body == "Dear Bob,\nCafé at 10€, room 4.\nПривет\n\U0001F60A"
    assert ev.properties["body_source"] == "rtf"
    # An RTF body that encapsulates HTML ([MS-OXRTFEX]): the HTML is de-encapsulated.
    enc = (rb"{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fswiss Arial;}}"
           rb"{\*\htmltag19 <html>}{\*\htmltag34 <head>}{\*\htmltag177 <style>p\{x:y\}</style>}{\*\htmltag41 </head>}"
           rb"{\*\htmltag50 <body>}\htmlrtf {\htmlrtf0 {\*\htmltag64 <p>}Hi \htmlrtf RTF only"
           rb"\htmlrtf0 there{\*\htmltag72 </p>}\htmlrtf\par\htmlrtf0}{\*\htmltag58 </body>}}")
    ev = _one(write_msg(tmp_path / "enc.msg", {tag(0x0037): "e", tag(0x1009, PT_BINARY): lzfu(enc)}))
    assert ev.body == "Hi there"
    assert ev.properties["body_source"] == "rtf_html"


def _xls_like(path: Path) -> Path:
    # Another OLE2 kind (an Excel 97 workbook's streams), renamed .msg.
    path.write_bytes(compound_file({"Workbook": b"\x09\x08\x10\x00" + b"\0" * 5000,
                                    "\x05SummaryInformation": b"\xfe\xff" + b"\0" * 200}))
    return path


def test_hostile_files_are_refused_and_the_database_is_unchanged(ws, tmp_path: Path) -> None:
    from tests.reliability.support import table_counts

    good = _outlook_msg(tmp_path / "good.msg").read_bytes()
    truncated = tmp_path / "truncated.msg"
    truncated.write_bytes(good[:len(good) // 2])
    # A stream whose directory entry declares ~4 GB (the file holds 25 KB).
    huge = bytearray(good)
    name = "__substg1.0_1000001F".encode("utf-16-le")
    at = huge.index(name)
    struct.pack_into("<I", huge, at + 120, 0xFFFFFF00)
    crafted = tmp_path / "huge-stream.msg"
    crafted.write_bytes(bytes(huge))
    xls = _xls_like(tmp_path / "budget.msg")
    garbage = tmp_path / "garbage.msg"
    garbage.write_bytes(_MAGIC + bytes(range(256)) * 8)
    cid = ws.create_case("H", "h").id
    before = table_counts(ws.db)
    for path, why in ((truncated, "corrupt or truncated"), (crafted, "huge-stream.msg"),
                      (xls, "not an Outlook message"), (garbage, "corrupt or truncated")):
        with pytest.raises(ParseError) as exc:
            list(MsgParser().parse(path, ImportOptions()))
        assert str(path) in str(exc.value) and why in str(exc.value), (path, exc.value)
        with pytest.raises(WorkstationError) as exc2:
            run_import(ws, cid, path, fmt="email_msg")
        assert path.name in str(exc2.value)
        assert table_counts(ws.db) == before
    # Content decides, not the name: the renamed workbook is nobody's mail.
    head = xls.read_bytes()[:65536]
    assert all(p.sniff(xls, head) < 0.5 for p in PARSERS if p.name.startswith("email"))
    assert MsgParser().sniff(truncated, truncated.read_bytes()[:65536]) == 0.0


def test_msg_is_claimed_by_the_msg_parser_only(tmp_path: Path) -> None:
    path = _outlook_msg(tmp_path / "q.msg")
    head = path.read_bytes()[:65536]
    scores = {p.name: p.sniff(path, head) for p in PARSERS}
    assert scores["email_msg"] >= 0.9
    assert all(v < 0.5 for k, v in scores.items() if k != "email_msg"), scores
    # The .eml importer, given a .msg by hand, points at the right one.
    with pytest.raises(ParseError, match="import it as an Outlook message"):
        list(EmlParser().parse(path, ImportOptions()))
