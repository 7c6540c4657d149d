"""Seed samples for every importer and generators of hostile files.

``samples(work)`` gives, per parser name, real files from the shared corpus (or the
suite's own synthetic fixtures where the corpus has none: Discord, IRC, mbox, XLSX).
``hostile_corpus(work)`` writes the bad files of the hostile-input test: truncated, wrongly
encoded, huge fields, zip bombs, XML entity attacks, formula cells and random bytes. Each
hostile case names the parser it targets (``None``: let detection decide).
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.support import ROOT, SHARED_DATA

FIXTURES = ROOT / "tests" / "fixtures"
BIG = 50 * 1024 * 1024  # "huge field": a 50 MB cell, string or line

DISCORD = {
    "guild": {"id": "900", "name": "Test Server"},
    "channel": {"id": "901", "type": "GuildTextChat", "category": "Text", "name": "general"},
    "exportedAt": "2024-01-02T00:00:00+00:00",
    "messages": [
        {"id": "1002", "type": "Default", "timestamp": "2024-01-01T10:01:00.123+01:00",
         "content": "hey <@22> call +1 202-555-0147", "isPinned": False,
         "author": {"id": "11", "name": "alice", "discriminator": "0000", "nickname": "Ally", "isBot": False},
         "attachments": [{"id": "a1", "url": "general_Files/scan.png", "fileName": "scan.png", "fileSizeBytes": 2048}],
         "mentions": [{"id": "22", "name": "bob", "discriminator": "4321", "nickname": "bob"}]},
        {"id": "1003", "type": "Reply", "timestamp": "2024-01-01T10:03:00+00:00", "content": "thanks",
         "author": {"id": "22", "name": "bob", "discriminator": "4321", "nickname": "bob", "isBot": False},
         "reference": {"messageId": "1002"}},
    ],
    "messageCount": 2,
}

IRSSI = """--- Log opened Tue Jan 01 23:58:00 2019
23:58 -!- alice [~alice@203.0.113.7] has joined #case
23:58 < alice> anyone here? mail me at alice@example.org
23:59 <@bob> yes
23:59  * alice waves
--- Day changed Wed Jan 02 2019
00:01 -!- alice is now known as alice_
00:02 <+alice_> bye
--- Log closed Wed Jan 02 00:05:00 2019
"""


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def samples(work: Path) -> dict[str, list[Path]]:
    """Well-formed seed files per parser name (written to ``work`` when generated)."""
    work.mkdir(parents=True, exist_ok=True)
    d = SHARED_DATA
    discord = work / "discord.json"
    discord.write_text(json.dumps(DISCORD, ensure_ascii=False), encoding="utf-8")
    irc = work / "case.log"
    irc.write_text(IRSSI, encoding="utf-8")
    eml = d / "chat/email/fake-email-attachment.eml"
    mbox = work / "box.mbox"
    mbox.write_bytes(b"From alice@example.org Mon Jan  1 10:00:00 2024\n" + eml.read_bytes().replace(b"\nFrom ", b"\n>From ")
                     + b"\nFrom bob@example.org Tue Jan  2 11:00:00 2024\nFrom: bob@example.org\n"
                       b"To: alice@example.org\nSubject: re\nDate: Tue, 2 Jan 2024 11:00:00 +0000\n\nok\n")
    xlsx = _xlsx(work / "statement.xlsx", [
        ["Date", "Description", "Amount", "Card Number"],
        ["2024-01-05", "Coffee", -3.5, "4111111111111111"],
        ["2024-01-06", "Gift card", -50, "5555555555554444"],
    ])
    return {
        "telegram_json": [d / "chat/telegram/result.json"],
        "telegram_html": [d / "chat/telegram/messages.html"],
        "whatsapp_txt": [d / "chat/whatsapp/whatsapp_ios_chat.txt", d / "chat/whatsapp/whatsapp_mixed_formats_chat.txt"],
        "discord_json": [discord],
        "messenger_json": [d / "chat/messenger/facebook_chat.json"],
        "irc_log": [irc],
        "slack_zip": [d / "chat/slack/slack_export.zip"],
        "email_eml": [eml],
        "email_mbox": [mbox],
        "ofx": [d / "finance/ofx/checking.ofx", d / "finance/ofx/suncorp.ofx", d / "finance/ofx/anzcc.ofx"],
        "qif": [d / "finance/csv2ofx/converted/mint.qif", d / "finance/csv2ofx/converted/stripe-all.qif"],
        "transactions_table": [d / "finance/csv2ofx/test/stripe-all.csv", d / "finance/csv2ofx/test/pcmastercard.csv",
                               d / "finance/csv2ofx/test/mint.csv", xlsx],
        "booking_xml": [FIXTURES / "booking/bookings.xml", FIXTURES / "booking/niem_booking.xml"],
        "booking_table": [FIXTURES / "booking/bookings.csv"],
    }


# ---------------------------------------------------------------------- mutation
def rezip(data: bytes, mutate: Callable[[bytes], bytes], rng: random.Random) -> bytes:
    """Repack a zip with one member's bytes mutated (structure-aware fuzzing of zips)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    names = src.namelist()
    victim = rng.choice(names) if names else None
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in names:
            body = src.read(name)
            dst.writestr(name, mutate(body) if name == victim else body)
    return out.getvalue()


def mutate_bytes(data: bytes, rng: random.Random, others: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    """A few random edits of the kinds that break parsers: flips, cuts, inserts, splices."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(9)
        n = len(buf)
        pos = rng.randrange(n + 1)
        if op == 0 and n:
            buf[min(pos, n - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            del buf[pos:pos + rng.randint(1, 64)]
        elif op == 2:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 32))
        elif op == 3:
            buf = buf[:pos]
        elif op == 4 and n:
            a = rng.randrange(n)
            buf[pos:pos] = buf[a:a + rng.randint(1, 256)]
        elif op == 5:
            buf[pos:pos] = rng.choice([b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xed\xa0\x80", b"\r", b"\n\n",
                                       b'"', b"'", b"<", b"]]>", b"{", b"}", b"[", b",", b";", b"\t", b"\\",
                                       b"&amp;", b"&#0;", b"<!--", b"9" * 40, b"-", b"=", b"%"])
        elif op == 6 and others:
            other = rng.choice(others)
            if other:
                a = rng.randrange(len(other))
                buf[pos:pos] = other[a:a + rng.randint(1, 512)]
        elif op == 7 and n:
            a = rng.randrange(n)
            chunk = bytes(buf[a:a + rng.randint(1, 16)])
            buf[pos:pos] = chunk * rng.randint(2, 200)
        elif op == 8 and n:
            digits = b"0123456789"
            for i in range(pos, min(n, pos + 8)):
                if buf[i] in digits:
                    buf[i] = rng.choice(digits + b"-+.:/ ")
    return bytes(buf)


def mutate_file(src: Path, rng: random.Random, others: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    data = src.read_bytes()
    if data[:4] == b"PK\x03\x04" and rng.random() < 0.7:
        try:
            return rezip(data, lambda b: mutate_bytes(b, rng, others), rng)
        except zipfile.BadZipFile:
            pass
    return mutate_bytes(data, rng, others)


# ---------------------------------------------------------------------- hostile files
@dataclass(frozen=True)
class Hostile:
    """One hostile file: what it is, where it is, which parser it targets."""

    kind: str
    path: Path
    fmt: str | None
    must_fail: bool = False          # a file that must be refused (a bomb, an entity attack)
    forbidden: tuple[bytes, ...] = ()  # bytes that must never reach the database


def _zip_bomb_member(zf: zipfile.ZipFile, name: str, size: int, fill: bytes = b" ") -> None:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = 1  # type: ignore[attr-defined]  # fast to write; still > 1000:1 on one byte value
    with zf.open(info, "w", force_zip64=True) as fh:
        chunk = fill * (1 << 20)
        for _ in range(size >> 20):
            fh.write(chunk)


def _zip_compressed(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)


def hostile_corpus(work: Path, seeds: dict[str, list[Path]], rng: random.Random, *,
                   big: int = BIG, bomb: int = 300 << 20, members: int = 60_000) -> list[Hostile]:
    """Write the hostile files into ``work``; returns them with their targets."""
    work.mkdir(parents=True, exist_ok=True)
    out: list[Hostile] = []

    def add(kind: str, name: str, data: bytes, fmt: str | None, **kw: object) -> None:
        p = work / name
        p.write_bytes(data)
        out.append(Hostile(kind, p, fmt, **kw))  # type: ignore[arg-type]

    # Truncated, re-encoded and random-byte versions of every seed.
    for fmt, files in seeds.items():
        for i, src in enumerate(files[:2]):
            data = src.read_bytes()
            for frac in (0.1, 0.5, 0.93):
                add("truncated", f"{fmt}-{i}-cut{int(frac * 100)}{src.suffix}", data[: int(len(data) * frac)], fmt)
            if not data.startswith(b"PK"):
                try:
                    text = data.decode("utf-8-sig")
                except UnicodeDecodeError:
                    text = data.decode("latin-1")
                add("wrong encoding", f"{fmt}-{i}-utf16le-nobom{src.suffix}", text.encode("utf-16-le"), fmt)
                add("wrong encoding", f"{fmt}-{i}-utf32{src.suffix}", text.encode("utf-32"), fmt)
                bad = bytearray(data)
                for _ in range(20):
                    bad.insert(rng.randrange(len(bad)), rng.choice(b"\x80\x81\x8d\x8f\x90\x9d\xc0\xc1\xf5\xff"))
                add("wrong encoding", f"{fmt}-{i}-invalid-utf8{src.suffix}", bytes(bad), fmt)
                add("wrong encoding", f"{fmt}-{i}-surrogates{src.suffix}",
                    data[: len(data) // 2] + b"\xed\xa0\x80\xed\xbf\xbf" + data[len(data) // 2:], fmt)
            add("random bytes", f"{fmt}-{i}-random.bin", rng.randbytes(rng.randint(1, 1 << 16)), fmt)
            add("random bytes", f"{fmt}-{i}-head+random{src.suffix}", data[:64] + rng.randbytes(4096), fmt)

    # Huge fields.
    cell = b"A" * big
    add("huge field", "huge-cell.csv",
        b"Date,Description,Amount,Card Number\n2024-01-05,\"" + cell + b"\",-3.50,4111111111111111\n"
        b"2024-01-06,Coffee,-2.00,4111111111111111\n", "transactions_table")
    add("huge field", "huge-unterminated-quote.csv",
        b"Date,Description,Amount\n2024-01-05,\"" + cell + b"\n", "transactions_table")
    add("huge field", "huge-booking-cell.csv",
        b"Booking Number,Last Name,First Name,DOB,Charges\nC-1,Test,Alex,01/04/1990,\"" + cell + b"\"\n", "booking_table")
    tg = json.loads((SHARED_DATA / "chat/telegram/result.json").read_text(encoding="utf-8"))
    tg["messages"][0]["text"] = "B" * big
    add("huge field", "huge-string.json", json.dumps(tg).encode(), "telegram_json")
    msg = dict(DISCORD)
    msg["messages"] = [{**DISCORD["messages"][0], "content": "C" * big}]
    add("huge field", "huge-discord.json", json.dumps(msg).encode(), "discord_json")
    add("huge field", "huge-line.txt", b"01/02/2023, 10:00 - Alex: " + b"D" * big + b"\n", "whatsapp_txt")
    add("huge field", "huge-noline.log", b"23:58 < alice> " + b"E" * big, "irc_log")
    add("huge field", "huge-body.eml",
        b"From: a@example.org\nTo: b@example.org\nSubject: x\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\n" + b"F" * big,
        "email_eml")
    add("huge field", "huge-header.eml", b"Subject: " + b"G" * big + b"\n\nbody\n", "email_eml")
    add("huge field", "huge-memo.qif", b"!Type:Bank\nD01/02/2024\nT-5.00\nM" + b"H" * big + b"\n^\n", "qif")
    add("huge field", "huge-xml-text.xml",
        b'<?xml version="1.0"?><bookings><booking number="B-1"><person><last_name>' + b"I" * big
        + b"</last_name></person></booking></bookings>", "booking_xml")
    add("huge field", "deep-nesting.json", b"[" * 200_000 + b"]" * 200_000, "telegram_json")
    add("huge field", "deep-nesting-discord.json", b'{"messages":' + b"[" * 200_000 + b"]" * 200_000 + b"}",
        "discord_json")
    add("huge field", "deep-nesting.xml",
        b'<?xml version="1.0"?><bookings>' + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</bookings>", "booking_xml")

    # Zip bombs (XLSX, Slack, WhatsApp .zip) and a member whose header lies about its size.
    p = work / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        for src_name in ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
            with zipfile.ZipFile(seeds["transactions_table"][-1]) as real:
                zf.writestr(src_name, real.read(src_name))
        _zip_bomb_member(zf, "xl/worksheets/sheet1.xml", bomb)
    out.append(Hostile("zip bomb", p, "transactions_table", must_fail=True))
    p = work / "bomb-slack.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("users.json", "[]")
        zf.writestr("channels.json", json.dumps([{"id": "C1", "name": "general"}]))
        _zip_bomb_member(zf, "general/2024-01-01.json", bomb)
    out.append(Hostile("zip bomb", p, "slack_zip", must_fail=True))
    p = work / "bomb-whatsapp.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        _zip_bomb_member(zf, "WhatsApp Chat with Alex.txt", bomb, b"\n")
    out.append(Hostile("zip bomb", p, "whatsapp_txt", must_fail=True))
    p = work / "many-members-slack.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("users.json", "[]")
        zf.writestr("channels.json", json.dumps([{"id": "C1", "name": "general"}]))
        for i in range(members):
            zf.writestr(f"general/{i}.json", "[]")
    out.append(Hostile(f"zip bomb ({members:,} members)", p, "slack_zip"))
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w", zipfile.ZIP_DEFLATED) as zf:
        _zip_bomb_member(zf, "inner.json", 64 << 20)
    _zip_compressed(work / "nested-slack.zip", {"users.json": b"[]", "channels.json": b"[]",
                                                "general/2024-01-01.json": nested.getvalue()})
    out.append(Hostile("zip bomb", work / "nested-slack.zip", "slack_zip"))
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("WhatsApp Chat.txt", b"01/02/2023, 10:00 - Alex: hi\n" * 400_000)
    data = bytearray(raw.getvalue())
    # Declare a tiny uncompressed size in both headers: the reader must not trust it.
    lie = (12).to_bytes(4, "little")
    local = data.find(b"PK\x03\x04")
    data[local + 22:local + 26] = lie
    central = data.find(b"PK\x01\x02")
    data[central + 24:central + 28] = lie
    add("zip bomb", "lying-size-whatsapp.zip", bytes(data), "whatsapp_txt")

    # XML entity attacks: billion laughs and external entities (file and loopback URL).
    laughs = (b'<?xml version="1.0"?>\n<!DOCTYPE bookings [\n<!ENTITY lol "lol">\n'
              + b"".join(b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                         for i in range(1, 10))
              + b"]>\n")
    secret = work / "secret.txt"
    secret.write_bytes(b"TOP-SECRET-XXE-CANARY-7f3a")
    ext_file = f'<!DOCTYPE bookings [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'.encode()
    ext_url = b'<!DOCTYPE bookings [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/xxe">]>'
    ext_param = f'<!DOCTYPE bookings [<!ENTITY % p SYSTEM "{secret.as_uri()}"> %p;]>'.encode()
    booking = (b'<bookings><booking number="B-1"><person><last_name>%s</last_name><first_name>A</first_name>'
               b'<dob>1990-04-01</dob></person><booking_time>2024-03-02T23:40:00-05:00</booking_time>'
               b'<agency>X</agency></booking></bookings>')
    add("XXE", "laughs-booking.xml", laughs + booking % b"&lol9;", "booking_xml", must_fail=True)
    add("XXE", "external-file-booking.xml", b'<?xml version="1.0"?>\n' + ext_file + booking % b"&xxe;",
        "booking_xml", must_fail=True, forbidden=(b"TOP-SECRET-XXE-CANARY",))
    add("XXE", "external-url-booking.xml", b'<?xml version="1.0"?>\n' + ext_url + booking % b"&xxe;",
        "booking_xml", must_fail=True)
    add("XXE", "parameter-entity-booking.xml", b'<?xml version="1.0"?>\n' + ext_param + booking % b"A",
        "booking_xml", must_fail=True, forbidden=(b"TOP-SECRET-XXE-CANARY",))
    ofx2 = (b'<?xml version="1.0" encoding="UTF-8"?>\n<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" '
            b'OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n%s<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID>'
            b'<STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS><STMTRS><CURDEF>USD</CURDEF>'
            b'<BANKACCTFROM><BANKID>1</BANKID><ACCTID>12345</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>'
            b'<BANKTRANLIST><DTSTART>20240101</DTSTART><DTEND>20240131</DTEND><STMTTRN><TRNTYPE>DEBIT</TRNTYPE>'
            b'<DTPOSTED>20240105</DTPOSTED><TRNAMT>-3.50</TRNAMT><FITID>1</FITID><NAME>%s</NAME></STMTTRN>'
            b'</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>')
    laughs_ofx = laughs.replace(b"bookings", b"OFX").split(b"\n", 1)[1]
    add("XXE", "laughs.ofx", ofx2 % (laughs_ofx, b"&lol9;"), "ofx", must_fail=True)
    add("XXE", "external-file.ofx", ofx2 % (ext_file.replace(b"bookings", b"OFX"), b"&xxe;"), "ofx",
        must_fail=True, forbidden=(b"TOP-SECRET-XXE-CANARY",))
    add("XXE", "external-url.ofx", ofx2 % (ext_url.replace(b"bookings", b"OFX"), b"&xxe;"), "ofx", must_fail=True)

    # Formula cells: stored as the text written, never evaluated.
    formulas = ['=HYPERLINK("http://127.0.0.1:9/x","click")', "=2+3", "+SUM(1;2)", "-2+3+cmd|' /C calc'!A0",
                "@SUM(1+1)*cmd|' /C calc'!A0"]
    rows = "".join(f'2024-01-0{i + 1},"{f.replace(chr(34), chr(34) * 2)}",-1.00,4111111111111111\n'
                   for i, f in enumerate(formulas))
    add("formula cells", "formulas.csv", ("Date,Description,Amount,Card Number\n" + rows).encode(), "transactions_table")
    _xlsx(work / "formulas.xlsx", [["Date", "Description", "Amount", "Card Number"],
                                    *[[f"2024-01-0{i + 1}", f, -1, "4111111111111111"] for i, f in enumerate(formulas)]])
    out.append(Hostile("formula cells", work / "formulas.xlsx", "transactions_table"))
    return out


FORMULAS = ("=HYPERLINK(", "=2+3", "+SUM(1;2)", "-2+3+cmd", "@SUM(1+1)")


# ---------------------------------------------------------------------- hostile media
def _png_chunk(kind: bytes, body: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png(width: int, height: int, colour: int, idat: bytes, extra: bytes = b"") -> bytes:
    import struct

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + extra + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _zeros_deflated(n: int) -> bytes:
    import zlib

    c = zlib.compressobj(1)
    block = bytes(1 << 20)
    out = [c.compress(block) for _ in range(n >> 20)]
    out.append(c.compress(bytes(n % (1 << 20))))
    out.append(c.flush())
    return b"".join(out)


def media_corpus(work: Path, rng: random.Random, *, legal_side: int = 8000) -> list[Hostile]:
    """Hostile images for the media ingest: decompression bombs (a header claiming
    100,000 × 100,000; a real 20,000 × 20,000 stream; a JPEG claiming 65,500²), a large but
    legal image (``legal_side``², decoded under the pixel cap), a 50 MB zTXt text bomb,
    truncated and random files, and a zip mixing them."""
    import zlib

    from PIL import Image

    work.mkdir(parents=True, exist_ok=True)
    out: list[Hostile] = []

    def add(kind: str, name: str, data: bytes, must_fail: bool = False) -> Path:
        folder = work / name.rsplit(".", 1)[0]
        folder.mkdir(exist_ok=True)
        p = folder / name
        p.write_bytes(data)
        out.append(Hostile(kind, p, "media", must_fail=must_fail))
        return p

    add("decompression bomb", "header-100k.png", _png(100_000, 100_000, 0, zlib.compress(b"\x00" * 1024)), True)
    side = 20_000
    add("decompression bomb", "stream-20k.png", _png(side, side, 0, _zeros_deflated((side + 1) * side)), True)
    buf = io.BytesIO()
    Image.frombytes("RGB", (64, 48), rng.randbytes(64 * 48 * 3)).save(buf, "JPEG")
    plain_jpeg = buf.getvalue()
    jpeg = bytearray(plain_jpeg)
    sof = jpeg.find(b"\xff\xc0")
    jpeg[sof + 5:sof + 9] = (65_500).to_bytes(2, "big") * 2
    add("decompression bomb", "sof-65500.jpg", bytes(jpeg), True)
    add("large legal image", f"legal-{legal_side}.png",
        _png(legal_side, legal_side, 0, _zeros_deflated((legal_side + 1) * legal_side)))
    ztxt = _png_chunk(b"zTXt", b"Comment\x00\x00" + _zeros_deflated(50 << 20))
    add("text-chunk bomb", "ztxt-50mb.png", _png(8, 8, 0, zlib.compress(b"\x00" * 72), ztxt))
    good = io.BytesIO()
    Image.frombytes("RGB", (128, 96), rng.randbytes(128 * 96 * 3)).save(good, "PNG")
    add("truncated", "half.png", good.getvalue()[: len(good.getvalue()) // 2], True)
    add("truncated", "half.jpg", plain_jpeg[: len(plain_jpeg) // 2], True)
    add("random bytes", "noise.jpg", rng.randbytes(20_000))  # kept as an unknown file, hashed
    mixed = work / "mixed" / "mixed.zip"
    mixed.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(mixed, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.png", good.getvalue())
        zf.writestr("bomb.png", _png(100_000, 100_000, 0, zlib.compress(b"\x00" * 1024)))
        _zip_bomb_member(zf, "huge.bin", 256 << 20)
        zf.writestr("../escape.png", good.getvalue())
    out.append(Hostile("zip of hostile images", mixed, "media"))
    return out
