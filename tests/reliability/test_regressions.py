"""The defects the reliability runs found, pinned down one by one (each fixed at its root).

* a damaged zip member (corrupt deflate stream, bad CRC, a header that lies about the
  size) or an unsupported zip version escaped the Slack and WhatsApp importers as
  ``zlib.error`` / ``BadZipFile`` / ``NotImplementedError`` (fixed in ``chat/safezip.py``);
* an XML declaration naming an unknown or multi-byte encoding escaped the booking XML
  reader as ``LookupError`` / ``ValueError``; a Shift_JIS booking file could not be read
  at all (fixed in ``booking/xmlform.py``);
* ``preview`` (the import wizard's first step) lacked the pipeline's safety net:
  a file nested too deeply escaped as ``RecursionError`` (fixed in ``ingest/pipeline.py``);
* dateutil lets ``decimal.InvalidOperation`` out for a time whose seconds run to 40
  digits: a booking date escaped untyped, and so did matching a date of birth written
  that way (fixed in ``ingest/tabular.py`` and ``analysis/matching.py``);
* a 50 MB e-mail needed 600 MB to read (the standard library's parser takes ~10x a
  message's size) and the limit for one mail was 512 MB (5 GB of memory): a mail over
  36 MB is now read from its headers only and says so (fixed in ``chat/mail.py``);
* lone surrogates: the email package keeps raw 8-bit header bytes (a UTF-8 sender name
  written without encoding, as RFC 6532 mail does) as lone surrogates, json.loads keeps
  an unpaired "\\ud800" escape, and a file name that is not UTF-8 on disk arrives the
  same way: the import then failed untyped at the database. Headers are now read as
  UTF-8 else Windows-1252 (``chat/mail.py``), unpaired JSON escapes become U+FFFD
  (``chat/_common.py``, ``chat/slack.py``), a file name is stored with ``\\xe9`` escapes
  and anything else such is refused as BadInput (``ingest/pipeline.py``);
* an XLSX formula cell without a cached value was imported as nothing, losing what the
  cell said (fixed in ``ingest/tabular.py``: its formula text, never evaluated);
* a damaged page met while reading the schema revision at open escaped as an untyped
  SQLAlchemy error (fixed in ``store/database.py``);
* the audit chain: truncation plus an anchor rewritten from values already in the table,
  and deleting the whole trail with its anchor, verified as sound (fixed in
  ``audit/trail.py``: the anchor carries its own MAC; an empty trail never verifies).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.reliability.support import SHARED_DATA
from workstation.errors import BadInput
from workstation.ingest.formats import get_parser
from workstation.ingest.pipeline import _records, preview
from workstation.ingest.records import ImportOptions, ParsedEvent, ParseError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHARED_DATA_DIR = SHARED_DATA


def read_all(fmt: str, path: Path) -> list[object]:
    return list(_records(get_parser(fmt), path, ImportOptions()))


def _slack_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("users.json", json.dumps([{"id": f"U{i}", "name": f"user{i}"} for i in range(300)]))
        zf.writestr("channels.json", json.dumps([{"id": "C1", "name": "general"}]))
        zf.writestr("general/2024-01-01.json", json.dumps([{"type": "message", "user": "U1", "text": "hi",
                                                            "ts": "1704103200.000100"}]))
    return out.getvalue()


def test_corrupt_deflate_stream_in_slack_zip_is_a_parse_error(tmp_path: Path) -> None:
    data = bytearray(_slack_zip())
    start = data.find(b"users.json") + len(b"users.json")
    for i in range(start + 20, start + 60):
        data[i] ^= 0x5A
    path = tmp_path / "slack.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(ParseError, match="member"):
        read_all("slack_zip", path)


def test_unsupported_zip_version_is_a_parse_error(tmp_path: Path) -> None:
    data = bytearray(_slack_zip())
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0:
        data[pos + 6:pos + 8] = (84).to_bytes(2, "little")  # "version needed to extract" 8.4
        pos += 4
    path = tmp_path / "slack.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(ParseError, match="zip"):
        read_all("slack_zip", path)


def test_whatsapp_zip_whose_header_lies_about_the_size_is_a_parse_error(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("WhatsApp Chat with Alex.txt", "01/02/2023, 10:00 - Alex: hi\n" * 5000)
    data = bytearray(raw.getvalue())
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(sig)
        data[at + off:at + off + 4] = (12).to_bytes(4, "little")
    path = tmp_path / "chat.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(ParseError, match="damaged member|CRC"):
        read_all("whatsapp_txt", path)


def _booking(encoding_name: str, codec: str) -> bytes:
    text = (FIXTURES / "booking/bookings.xml").read_text(encoding="utf-8")
    text = text.replace('encoding="UTF-8"', f'encoding="{encoding_name}"').replace("Testperson", "試験者")
    return text.encode(codec)


@pytest.mark.parametrize("name", ["TTF-8", "base64", "x-unknown-charset"])
def test_booking_xml_with_an_unknown_declared_encoding_is_a_parse_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / "b.xml"
    path.write_bytes(_booking(name, "utf-8"))
    with pytest.raises(ParseError, match="encoding"):
        read_all("booking_xml", path)


@pytest.mark.parametrize("name", ["Shift_JIS", "EUC-JP", "GB18030"])
def test_booking_xml_in_a_multibyte_code_page_is_read(tmp_path: Path, name: str) -> None:
    path = tmp_path / "b.xml"
    path.write_bytes(_booking(name, name))
    events = [r for r in read_all("booking_xml", path) if isinstance(r, ParsedEvent)]
    assert events and any("試験者" in p.value for e in events for p in e.parties)


@pytest.mark.parametrize("content,expected", [
    (b"[" * 200_000 + b"]" * 200_000, "top level is not an object"),
    (b'{"name": "x", "type": "personal_chat", "id": 1, "messages": ['
     + b"[" * 200_000 + b"]" * 200_000 + b"]}", "nested too deeply"),
    (b'{"name": "x", "messages": [{"id": 1, "text": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}]}",
     "nested too deeply"),
])
def test_preview_of_a_deeply_nested_file_is_a_typed_error(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(content)
    with pytest.raises(BadInput, match=expected):
        preview(path, fmt="telegram_json")


def test_xlsx_formula_without_cached_value_is_kept_as_written(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Date", "Description", "Amount", "Card Number"])
    ws.append(["2024-01-05", '=HYPERLINK("http://127.0.0.1:9/x","click")', -3.5, "4111111111111111"])
    ws.append(["2024-01-06", "=2+3", -1, "4111111111111111"])
    path = tmp_path / "f.xlsx"
    wb.save(path)
    events = [r for r in read_all("transactions_table", path) if isinstance(r, ParsedEvent)]
    texts = [str(e.properties.get("description") or e.title) for e in events]
    assert texts == ['=HYPERLINK("http://127.0.0.1:9/x","click")', "=2+3"], "stored as written, never evaluated"


def _raw(ws, sql: str, *params: object) -> None:  # noqa: ANN001
    with ws.db.write() as conn:
        conn.exec_driver_sql(sql, params)


def test_truncation_with_the_anchor_moved_back_by_copying_is_detected(ws) -> None:  # noqa: ANN001
    from workstation.audit.trail import AuditTrail

    for i in range(5):
        ws.create_case(f"R-{i}", f"Regression {i}")
    with ws.db.read() as conn:
        seq, mac = conn.exec_driver_sql("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1 OFFSET 2").one()
    _raw(ws, "DELETE FROM audit WHERE seq > ?", seq)
    _raw(ws, "UPDATE meta SET value = ? WHERE key = 'audit_head'", f"{seq}:{mac}")
    res = AuditTrail(ws.db).verify()
    assert not res.ok and "anchor" in res.message


def test_an_emptied_trail_is_detected(ws) -> None:  # noqa: ANN001
    from workstation.audit.trail import AuditTrail

    ws.create_case("R-E", "Regression")
    _raw(ws, "DELETE FROM audit")
    _raw(ws, "DELETE FROM meta WHERE key = 'audit_head'")
    res = AuditTrail(ws.db).verify()
    assert not res.ok and "empty" in res.message


def test_a_date_whose_seconds_overflow_dateutil_is_a_bad_row_not_a_crash(tmp_path: Path) -> None:
    text = (FIXTURES / "booking/bookings.xml").read_text(encoding="utf-8")
    text = text.replace("2024-03-04T09:00:00-05:00", "2024-03-04T09:0" + "9" * 40 + "0:00-05:00", 1)
    assert "9" * 40 in text
    path = tmp_path / "b.xml"
    path.write_text(text, encoding="utf-8")
    from workstation.ingest.records import RowError

    records = read_all("booking_xml", path)
    assert any(isinstance(r, RowError) for r in records)


def test_matching_a_dob_whose_seconds_overflow_dateutil_does_not_crash() -> None:
    from workstation.analysis.matching import dob_agreement

    # Unreadable as a date: "cannot tell", never an exception out of cross-case matching.
    assert dob_agreement("01 Apr 1990 09:0" + "9" * 40 + "0:00", "1990-04-01") is None


def _mail(body: bytes, subject: str = "big one") -> bytes:
    return (b"From: Alex <alex@example.org>\nTo: sam@example.org\nSubject: " + subject.encode()
            + b"\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\n"
              b"Content-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\n" + body
            + b"\n--XX--\n")


def test_an_oversized_mail_is_kept_by_its_headers_with_bounded_memory(tmp_path: Path) -> None:
    import re as _re

    from workstation.ingest.chat.mail import EmlParser, MboxParser

    path = tmp_path / "big.eml"
    path.write_bytes(_mail(b"F" * (3 << 20)))
    clear = Path("/proc/self/clear_refs")
    clear.write_text("5")
    events = list(EmlParser(max_bytes=1 << 20).parse(path, ImportOptions()))
    peak_mb = int(_re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())[1]) / 1024
    rss_mb = int(_re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text())[1]) / 1024
    (ev,) = events
    assert isinstance(ev, ParsedEvent) and ev.title == "big one" and ev.body is None and not ev.attachments
    assert [p.value for p in ev.parties if p.role == "sender"] == ["alex@example.org"]
    assert "headers only" in ev.properties["body_omitted"] and ev.properties["size"] == path.stat().st_size
    assert ev.occurred_at is not None and ev.occurred_at.year == 2024
    assert peak_mb - rss_mb < 16, "the body of an oversized mail is never loaded"
    box = tmp_path / "box.mbox"
    box.write_bytes(b"From alex@example.org Mon Jan  1 10:00:00 2024\n" + _mail(b"small", "first")
                    + b"\nFrom alex@example.org Mon Jan  1 11:00:00 2024\n" + _mail(b"G" * (3 << 20), "second")
                    + b"\nFrom alex@example.org Mon Jan  1 12:00:00 2024\n" + _mail(b"small", "third"))
    got = list(MboxParser(max_message_bytes=1 << 20).parse(box, ImportOptions()))
    assert [e.title for e in got] == ["first", "second", "third"]
    assert got[0].body == "small" and got[1].body is None and "body_omitted" in got[1].properties


def test_raw_utf8_and_8bit_mail_headers_are_read_not_crashing_the_import(ws, tmp_path: Path) -> None:  # noqa: ANN001
    from workstation.ingest.pipeline import run_import

    case_id = ws.create_case("R-MAIL", "Raw headers").ids[0]
    names = []
    for i, raw_name in enumerate((b"J\xc3\xbcrgen M\xc3\xbcller", b"Fran\xe7ois L\xe9ger", b"\xc1\xc1 broken")):
        path = tmp_path / f"m{i}.eml"
        path.write_bytes(b"From: " + raw_name + b" <sender" + str(i).encode() + b"@example.org>\nTo: b@example.org\n"
                         b"Subject: hello\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\nhi\n")
        (event,) = read_all("email_eml", path)
        names += [p.label for p in event.parties if p.role == "sender"]  # type: ignore[union-attr]
        assert run_import(ws, case_id, path).events == 1
    assert names[:2] == ["Jürgen Müller", "François Léger"], "UTF-8 first, then Windows-1252"
    assert len(ws.list_events(case_id)) == 3 and ws.audit.verify().ok


def test_lone_surrogate_escapes_in_a_json_export_do_not_fail_the_import(ws, tmp_path: Path) -> None:  # noqa: ANN001
    from workstation.ingest.pipeline import run_import

    data = json.loads((SHARED_DATA_DIR / "chat/telegram/result.json").read_text(encoding="utf-8"))
    data["messages"][0]["text"] = "before \ud800 after \U0001F600"
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data, ensure_ascii=True), encoding="utf-8")
    case_id = ws.create_case("R-JSON", "Lone surrogate").ids[0]
    res = run_import(ws, case_id, path)
    bodies = [e.body for e in ws.list_events(case_id)]
    assert res.events > 0 and "before \ufffd after \U0001F600" in bodies


def test_a_file_whose_name_is_not_utf8_imports_with_an_escaped_name(ws, tmp_path: Path) -> None:  # noqa: ANN001
    import os

    from workstation.ingest.pipeline import run_import

    raw = os.fsencode(tmp_path) + b"/chat-caf\xe9.txt"
    with open(raw, "wb") as fh:
        fh.write(b"01/02/2023, 10:00 - Alex: hi\n")
    case_id = ws.create_case("R-NAME", "Odd name").ids[0]
    res = run_import(ws, case_id, os.fsdecode(raw))
    assert res.events == 1 and ws.get_source(res.source_id).file_name == "chat-caf\\xe9.txt"


def test_text_that_is_not_unicode_is_refused_typed_and_leaves_nothing(ws, tmp_path: Path,  # noqa: ANN001
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from tests.reliability.support import table_counts
    from workstation.ingest.pipeline import run_import

    parser = get_parser("irc_log")

    def bad_parse(path: Path, options: ImportOptions):  # noqa: ANN202
        yield ParsedEvent(kind="message", occurred_at=datetime(2024, 1, 1, tzinfo=UTC), ref="line 1",
                          title="bad \udcff text")

    monkeypatch.setattr(parser, "parse", bad_parse)
    path = tmp_path / "x.log"
    path.write_text("23:58 < alice> hi\n", encoding="utf-8")
    case_id = ws.create_case("R-SUR", "Surrogates").ids[0]
    before = table_counts(ws.db)
    with pytest.raises(BadInput, match="not valid Unicode"):
        run_import(ws, case_id, path, fmt="irc_log")
    assert table_counts(ws.db) == before


def test_media_ingest_of_a_file_whose_name_is_not_utf8(ws, tmp_path: Path) -> None:  # noqa: ANN001
    import os

    pytest.importorskip("workstation.media.service")
    from PIL import Image

    from workstation.media.service import ingest_media

    folder = tmp_path / "seized"
    folder.mkdir()
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 10)).save(buf, "PNG")
    with open(os.fsencode(folder) + b"/caf\xe9.png", "wb") as fh:
        fh.write(buf.getvalue())
    case_id = ws.create_case("R-MEDIA", "Odd media name").ids[0]
    res = ingest_media(ws, case_id, folder, workers=1)
    assert res.added == 1
    from workstation.media.service import list_media

    (only,) = list_media(ws, case_id)
    assert only.path.endswith("caf\\xe9.png")  # shown with the raw byte escaped
    again = ingest_media(ws, case_id, folder, workers=1)
    assert again.added == 0  # resumable: the escaped name is found again
