"""Old binary Excel (.xls), OpenDocument, and "Excel" downloads that are an HTML page or
tab-separated text, read through the real importers.

Banks, card issuers and records systems still export .xls (BIFF8, Excel 97-2003), and
many a bank's ".xls" download is really an HTML table or tab-separated text with an
Excel name. They are read as received (the SHA-256 recorded is the file's own), never
converted. The .xls files are made here by a small BIFF8 writer (:func:`write_xls`):
no maintained library writes .xls, so the test builds the compound file and the
workbook stream itself, following [MS-CFB] and [MS-XLS]. Every person, card number and
amount below is made up (card numbers in test ranges, example.com addresses).
"""

from __future__ import annotations

import hashlib
import struct
import time as clock
import tracemalloc
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from workstation.errors import BadInput
from workstation.ingest.finance.table import TransactionTableParser
from workstation.ingest.pipeline import detect, run_import
from workstation.ingest.records import ImportOptions, ParseError
from workstation.ingest.tabular import MappingProfile, iter_mapped_rows, iter_raw_rows, sniff_table

TORONTO = ZoneInfo("America/Toronto")
OPTIONS = ImportOptions(timezone="America/Toronto", default_region="US")


# ----------------------------------------------------------------------- a BIFF8 writer
#
# A compound file (MS-CFB version 3: 512-byte sectors, one FAT, no mini stream) holding a
# "Workbook" stream (MS-XLS BIFF8): the globals substream (BOF, CODEPAGE 1200, DATEMODE,
# five FONTs, FORMAT 164 = the date format asked for, XF 0-14 style records, XF 15 for
# General cells and XF 16 for date cells, a BOUNDSHEET8 per sheet, the SST, EOF) and a
# worksheet substream per sheet (BOF, DIMENSIONS, one record per cell, EOF).

_SECTOR = 512
_END, _FATSECT, _FREE = 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _record(typ: int, data: bytes) -> bytes:
    assert len(data) <= 8224, "a BIFF8 record holds at most 8224 bytes (no CONTINUE here)"
    return struct.pack("<HH", typ, len(data)) + data


def _xl_string(text: str, cch_bytes: int = 2) -> bytes:
    """XLUnicodeString (16-bit length) or ShortXLUnicodeString (8-bit), stored UTF-16LE."""
    return struct.pack("<H" if cch_bytes == 2 else "<B", len(text)) + b"\x01" + text.encode("utf-16-le")


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE2 compound file holding ``streams`` in its root storage. Each stream is
    padded to at least 4096 bytes so that it lives in ordinary sectors."""
    names = list(streams)
    datas = [s.ljust(max(4096, -(-len(s) // _SECTOR) * _SECTOR), b"\0") for s in streams.values()]
    n_dir = -(-(len(names) + 1) // 4)
    n_data = sum(len(d) // _SECTOR for d in datas)
    n_fat = 1
    while n_fat * 128 < n_fat + n_dir + n_data:
        n_fat += 1
    assert n_fat <= 109, "more FAT sectors than the header's DIFAT holds"
    fat = [_FATSECT] * n_fat
    dir_start = len(fat)
    fat += [dir_start + i + 1 for i in range(n_dir - 1)] + [_END]
    starts = []
    for d in datas:
        starts.append(len(fat))
        fat += [len(fat) + i + 1 for i in range(len(d) // _SECTOR - 1)] + [_END]
    fat += [_FREE] * (n_fat * 128 - len(fat))

    def entry(name: str, typ: int, child: int, right: int, start: int, size: int) -> bytes:
        raw = (name + "\0").encode("utf-16-le")
        return (raw.ljust(64, b"\0") + struct.pack("<HBBIII", len(raw), typ, 1, _FREE, right, child)
                + b"\0" * 36 + struct.pack("<IQ", start, size))

    entries = [entry("Root Entry", 5, 1 if names else _FREE, _FREE, _END, 0)]
    for i, (name, d) in enumerate(zip(names, datas)):
        # Siblings chained to the right: a degenerate but valid tree (all nodes black).
        entries.append(entry(name, 2, _FREE, i + 2 if i + 1 < len(names) else _FREE, starts[i], len(d)))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<9I", 0, n_fat, dir_start, 0, 4096, _END, 0, _END, 0)
              + struct.pack("<109I", *(list(range(n_fat)) + [_FREE] * (109 - n_fat))))
    assert len(header) == _SECTOR
    return (header + struct.pack(f"<{len(fat)}I", *fat)
            + b"".join(entries).ljust(n_dir * _SECTOR, b"\0") + b"".join(datas))


def formula(value: Any, tokens: bytes = b"\x1e\x01\x00") -> tuple[str, Any, bytes]:
    """A formula cell whose producer cached ``value`` (default tokens: ``=1``)."""
    return ("=", value, tokens)


def biff8_workbook(sheets: list[tuple[str, list[list[Any]]]], *, date1904: bool = False,
                   date_format: str = "dd/mm/yyyy", encrypted: bool = False,
                   dimensions: tuple[int, int] | None = None) -> bytes:
    """The Workbook stream. Cells: str -> LABELSST; bool -> BOOLERR; int/float -> NUMBER
    (General); date/datetime -> NUMBER holding the serial in the workbook's date mode,
    formatted ``date_format``; :func:`formula` -> FORMULA (+ STRING for a text result);
    None -> no record. ``dimensions`` overrides the (rows, columns) the sheets declare."""
    strings: dict[str, int] = {}
    total = 0
    for _, rows in sheets:
        for cell in (c for row in rows for c in row if isinstance(c, str)):
            strings.setdefault(cell, len(strings))
            total += 1
    epoch = datetime(1904, 1, 1) if date1904 else datetime(1899, 12, 30)

    def serial(value: date) -> float:
        delta = (value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)) - epoch
        return delta.days + delta.seconds / 86400

    def worksheet(rows: list[list[Any]]) -> bytes:
        out = [_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 6))]
        nrows, ncols = dimensions or (len(rows), max((len(r) for r in rows), default=0))
        out.append(_record(0x0200, struct.pack("<IIHHH", 0, nrows, 0, ncols, 0)))
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                at = struct.pack("<HH", r, c)
                if cell is None:
                    continue
                if isinstance(cell, tuple):
                    _, value, tokens = cell
                    result = b"\0" * 6 + b"\xff\xff" if isinstance(value, str) else struct.pack("<d", value)
                    out.append(_record(0x0006, at + struct.pack("<H", 15) + result
                                       + struct.pack("<HIH", 0, 0, len(tokens)) + tokens))
                    if isinstance(value, str):
                        out.append(_record(0x0207, _xl_string(value)))
                elif isinstance(cell, str):
                    out.append(_record(0x00FD, at + struct.pack("<HI", 15, strings[cell])))
                elif isinstance(cell, bool):
                    out.append(_record(0x0205, at + struct.pack("<HBB", 15, int(cell), 0)))
                elif isinstance(cell, date):
                    out.append(_record(0x0203, at + struct.pack("<Hd", 16, serial(cell))))
                else:
                    out.append(_record(0x0203, at + struct.pack("<Hd", 15, float(cell))))
        out.append(_record(0x000A, b""))
        return b"".join(out)

    def xf(fmt: int, style: bool) -> bytes:
        return _record(0x00E0, struct.pack("<HHHBBBBIIH", 0, fmt, 0xFFF5 if style else 0x0001,
                                           0x20, 0, 0, 0, 0, 0, 0x20C0))

    def globals_(offsets: list[int]) -> bytes:
        parts = [_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 6))]
        if encrypted:  # FILEPASS: RC4 CryptoAPI (the header's contents do not matter here)
            parts.append(_record(0x002F, struct.pack("<HHH", 1, 4, 2) + b"\0" * 48))
        parts.append(_record(0x0042, struct.pack("<H", 1200)))
        parts.append(_record(0x0022, struct.pack("<H", int(date1904))))
        font = _record(0x0031, struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0)
                       + _xl_string("Arial", 1))
        parts += [font] * 5
        parts.append(_record(0x041E, struct.pack("<H", 164) + _xl_string(date_format)))
        parts += [xf(0, True) for _ in range(15)] + [xf(0, False), xf(164, False)]
        for (name, _), offset in zip(sheets, offsets):
            parts.append(_record(0x0085, struct.pack("<IBB", offset, 0, 0) + _xl_string(name, 1)))
        parts.append(_record(0x00FC, struct.pack("<II", total, len(strings))
                             + b"".join(_xl_string(s) for s in strings)))
        parts.append(_record(0x000A, b""))
        return b"".join(parts)

    bodies = [worksheet(rows) for _, rows in sheets]
    offsets, at = [], len(globals_([0] * len(sheets)))
    for body in bodies:
        offsets.append(at)
        at += len(body)
    return globals_(offsets) + b"".join(bodies)


def write_xls(path: Path, rows: list[list[Any]] | None = None, *,
              sheets: list[tuple[str, list[list[Any]]]] | None = None, **kw: Any) -> Path:
    """Write a BIFF8 .xls of one sheet ``rows`` (or of ``sheets``)."""
    path.write_bytes(compound_file({"Workbook": biff8_workbook(sheets or [("Sheet1", rows or [])], **kw)}))
    return path


def biff5_workbook(sheet_name: str, rows: list[list[Any]], codepage: int = 1252) -> bytes:
    """A BIFF5 (Excel 5/95) "Book" stream: 8-bit text in the workbook's code page, LABEL
    records instead of a shared string table, 16-byte XFs, 10-byte DIMENSIONS."""
    enc = f"cp{codepage}"

    def worksheet() -> bytes:
        out = [_record(0x0809, struct.pack("<HHHH", 0x0500, 0x0010, 0x0DBB, 0x07CC)),
               _record(0x0200, struct.pack("<HHHHH", 0, len(rows), 0, max(map(len, rows)), 0))]
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                at = struct.pack("<HHH", r, c, 15)
                if isinstance(cell, str):
                    raw = cell.encode(enc)
                    out.append(_record(0x0204, at + struct.pack("<H", len(raw)) + raw))
                elif cell is not None:
                    out.append(_record(0x0203, at + struct.pack("<d", float(cell))))
        return b"".join(out) + _record(0x000A, b"")

    def globals_(offset: int) -> bytes:
        name = sheet_name.encode(enc)
        return b"".join([
            _record(0x0809, struct.pack("<HHHH", 0x0500, 0x0005, 0x0DBB, 0x07CC)),
            _record(0x0042, struct.pack("<H", codepage)), _record(0x0022, struct.pack("<H", 0)),
            *[_record(0x00E0, struct.pack("<8H", 0, 0, 0xFFF5 if i < 15 else 1, 0x20, 0, 0, 0, 0))
              for i in range(16)],
            _record(0x0085, struct.pack("<IBBB", offset, 0, 0, len(name)) + name),
            _record(0x000A, b"")])

    return globals_(len(globals_(0))) + worksheet()


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


@pytest.fixture
def case_id(ws) -> int:
    return ws.create_case("XLS-1", "Spreadsheets", timezone="America/Toronto").id


def _snapshot(ws) -> dict:
    return {**ws.counts(), "audit": ws.audit.verify().entries}


def _events(ws, case_id: int, kind: str | None = None) -> list:
    return [e for e in ws.list_events(case_id, limit=None) if kind is None or e.kind == kind]


def _signature(ws, case_id: int) -> list[tuple]:
    """What an investigator sees of each transaction, independent of the file's type."""
    return [(e.kind, e.occurred_at, e.title, Decimal(str(e.properties.get("amount"))), e.properties.get("currency"),
             e.properties.get("merchant"), e.properties.get("card_last4"), e.source_ref)
            for e in _events(ws, case_id)]


# ----------------------------------------------------------------------- card statements

CARD_ROWS: list[list[Any]] = [
    ["Transaction Date", "Posted Date", "Card No.", "Description", "Category", "Debit", "Credit"],
    [date(2024, 3, 1), date(2024, 3, 2), 4242, "EXAMPLE COFFEE CO", "Dining", 4.75, None],
    [date(2024, 3, 3), date(2024, 3, 4), 4242, "SAMPLE HARDWARE #12", "Merchandise", 120.0, None],
    [date(2024, 3, 5), date(2024, 3, 5), 4242, "PAYMENT THANK YOU", "Payment", None, 500.0],
    [date(2024, 3, 9), date(2024, 3, 11), 4242, "TEST AIRLINES 0142", "Travel", 389.2, None],
]


def _card_csv(path: Path) -> Path:
    lines = [",".join(CARD_ROWS[0])]
    for row in CARD_ROWS[1:]:
        cells = [c.isoformat() if isinstance(c, date) else "" if c is None
                 else f"{c:.2f}" if isinstance(c, float) else str(c) for c in row]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_card_statement_xls_imports_the_same_events_as_xlsx_and_csv(ws, tmp_path: Path) -> None:
    xls = write_xls(tmp_path / "card.xls", CARD_ROWS)
    xlsx = write_xlsx(tmp_path / "card.xlsx", CARD_ROWS)
    csv = _card_csv(tmp_path / "card.csv")
    assert detect(xls).format == "transactions_table"
    seen = {}
    for path in (xls, xlsx, csv):
        case = ws.create_case(f"C-{path.suffix}", "Card", timezone="America/Toronto").id
        result = run_import(ws, case, path, options=OPTIONS)
        assert (result.format, result.events, result.errors) == ("transactions_table", 4, ())
        seen[path.suffix] = _signature(ws, case)
        if path is xls:
            (source,) = ws.list_sources(case)
            assert source.sha256 == hashlib.sha256(xls.read_bytes()).hexdigest()  # as received
    assert seen[".xls"] == seen[".xlsx"] == seen[".csv"]
    assert [(row[1].date(), row[3], row[6], row[7]) for row in seen[".xls"]] == [
        (date(2024, 3, 1), Decimal("-4.75"), "4242", "row 2"),
        (date(2024, 3, 3), Decimal("-120"), "4242", "row 3"),
        (date(2024, 3, 5), Decimal("500"), "4242", "row 4"),
        (date(2024, 3, 9), Decimal("-389.2"), "4242", "row 5")]


# ----------------------------------------------------------------------- booking rosters

def test_booking_roster_xls(ws, case_id, tmp_path: Path) -> None:
    path = write_xls(tmp_path / "roster.xls", [
        ["EXAMPLE COUNTY SHERIFF'S OFFICE"],
        ["Booking #", "Last Name", "First Name", "DOB", "Booking Date", "Charge"],
        ["X-1", "Testperson", "Alex", date(1990, 4, 1), datetime(2024, 3, 2, 23, 40), "Burglary"],
        ["X-1", "Testperson", "Alex", date(1990, 4, 1), datetime(2024, 3, 2, 23, 40), "Theft"],
        ["X-2", "Sample", "Robin", date(1985, 5, 31), datetime(2024, 3, 3, 1, 5), "Trespass"],
    ], date_format="m/d/yyyy h:mm")
    assert detect(path).format == "booking_table"
    result = run_import(ws, case_id, path, options=OPTIONS)
    assert (result.events, result.errors) == (2, ())
    bookings = _events(ws, case_id, "booking")
    assert [(b.title, b.occurred_at) for b in bookings] == [
        ("Booking X-1", datetime(2024, 3, 2, 23, 40, tzinfo=TORONTO)),
        ("Booking X-2", datetime(2024, 3, 3, 1, 5, tzinfo=TORONTO))]
    assert [c["description"] for c in bookings[0].properties["charges"]] == ["Burglary", "Theft"]
    people = {p.label: p.properties.get("dob") for p in ws.list_entities(case_id, kind="person")}
    assert people == {"Alex Testperson": "1990-04-01", "Robin Sample": "1985-05-31"}


def test_excel_95_biff5_statement(ws, case_id, tmp_path: Path) -> None:
    path = tmp_path / "konto.xls"
    path.write_bytes(compound_file({"Book": biff5_workbook("Kontoauszug", [
        ["Buchungstag", "Verwendungszweck", "Betrag"],
        ["01.03.2024", "Café Example", -4.5],
        ["02.03.2024", "Miete Beispielstraße", -700.0],
    ])}))
    assert list(iter_raw_rows(path))[1] == (2, ["01.03.2024", "Café Example", -4.5])
    result = run_import(ws, case_id, path, options=ImportOptions(timezone="Europe/Berlin", default_region="DE"))
    assert (result.events, result.errors) == (2, ())
    got = sorted((e.occurred_at.date(), Decimal(str(e.properties["amount"]))) for e in _events(ws, case_id))
    assert got == [(date(2024, 3, 1), Decimal("-4.5")), (date(2024, 3, 2), Decimal("-700"))]


# ----------------------------------------------------------------------- cell values

@pytest.mark.parametrize("date1904", [False, True], ids=["1900-mode", "1904-mode"])
def test_date_formatted_cells_whole_numbers_text_and_the_1904_date_mode(tmp_path: Path, date1904: bool) -> None:
    path = write_xls(tmp_path / "cells.xls", [
        ["Date", "Text", "Amount", "Serial as a number", "Flag"],
        [datetime(2024, 2, 29, 14, 30), "Café Ünïcode", 40.0, 45351, True],
        [date(1999, 12, 31), None, -12.5, 1.5, False],
    ], date1904=date1904)
    rows = list(iter_raw_rows(path))
    assert rows == [
        (1, ["Date", "Text", "Amount", "Serial as a number", "Flag"]),
        (2, [datetime(2024, 2, 29, 14, 30), "Café Ünïcode", 40, 45351, True]),
        (3, [datetime(1999, 12, 31), None, -12.5, 1.5, False]),
    ]
    # Whole numbers come out as int (as the XLSX path gives them), not 40.0.
    assert type(rows[1][1][2]) is int and type(rows[1][1][3]) is int


def test_1904_workbook_imports_the_right_dates(ws, case_id, tmp_path: Path) -> None:
    path = write_xls(tmp_path / "mac.xls", CARD_ROWS, date1904=True)
    result = run_import(ws, case_id, path, options=OPTIONS)
    assert result.events == 4
    days = sorted(e.occurred_at.date() for e in _events(ws, case_id))
    assert days == [date(2024, 3, 1), date(2024, 3, 3), date(2024, 3, 5), date(2024, 3, 9)]


def test_formula_cells_give_the_cached_values_and_sheets_are_chosen_as_for_xlsx(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "two.xls", sheets=[
        ("Summary", [["Total", formula(27.5)], ["Label", formula("Example total")]]),
        ("Transactions", [["Date", "Amount"], [date(2024, 1, 2), 3]]),
    ])
    assert list(iter_raw_rows(path)) == [(1, ["Total", 27.5]), (2, ["Label", "Example total"])]
    assert list(iter_raw_rows(path, sheet="Transactions")) == [
        (1, ["Date", "Amount"]), (2, [datetime(2024, 1, 2), 3])]
    profile = MappingProfile(name="p", columns={"date": "Date", "amount": "Amount"}, sheet="Transactions")
    [row] = list(iter_mapped_rows(path, profile))
    assert row.ref == "row 2" and row.values == {"date": datetime(2024, 1, 2), "amount": 3}
    with pytest.raises(ParseError) as info:
        list(iter_raw_rows(path, sheet="Nope"))
    assert "two.xls" in str(info.value) and "Summary, Transactions" in str(info.value)


# ----------------------------------------------------------------------- HTML and TSV ".xls"

HTML_EXPORT = """<html xmlns:o="urn:schemas-microsoft-com:office:office">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">
<style>td {{ mso-number-format:"\\@"; }}</style>
</head>
<body>
<table border=1>
<tr><td>Account</td><td>12345678</td></tr>
<tr><td colspan=2>Statement 01/03/2024 - 31/03/2024</td></tr>
</table>
<table border=1>
<tr><th>Date</th><th>Description</th><th>Amount</th><th>Balance</th></tr>
<tr><td>01/03/2024</td><td>Caf\xe9   &amp; Bakery<br>Example   Street</td><td>-4,75</td><td>995,25</td></tr>
<tr><td>03/03/2024</td><td>  SALARY
EXAMPLE LTD </td><td>1.500,00</td><td>2.495,25</td>
<tr><td>05/03/2024<td>Rent<td>-700,00<td>1.795,25
</table>
</body></html>
"""


def test_html_table_saved_as_xls_imports_as_a_bank_statement(ws, case_id, tmp_path: Path) -> None:
    path = tmp_path / "Umsaetze.xls"
    path.write_bytes(HTML_EXPORT.format().encode("cp1252"))
    rows = list(iter_raw_rows(path))
    assert rows[:4] == [(1, ["Account", "12345678"]), (2, ["Statement 01/03/2024 - 31/03/2024", ""]),
                        (3, []), (4, ["Date", "Description", "Amount", "Balance"])]
    assert rows[4] == (5, ["01/03/2024", "Café & Bakery Example Street", "-4,75", "995,25"])
    assert rows[5][1][1] == "SALARY EXAMPLE LTD"        # whitespace collapsed
    assert rows[6] == (7, ["05/03/2024", "Rent", "-700,00", "1.795,25"])  # cells never closed
    assert detect(path).format == "transactions_table"
    result = run_import(ws, case_id, path, options=ImportOptions(timezone="Europe/Berlin", default_region="DE"))
    assert (result.events, result.errors) == (3, ())
    got = sorted((e.occurred_at.date(), Decimal(str(e.properties["amount"]))) for e in _events(ws, case_id))
    assert got == [(date(2024, 3, 1), Decimal("-4.75")), (date(2024, 3, 3), Decimal("1500.00")),
                   (date(2024, 3, 5), Decimal("-700.00"))]


def test_html_xls_in_utf16_with_spans(tmp_path: Path) -> None:
    page = ("<table><tr><td rowspan=2>A</td><td colspan=2>B</td><td>C</td></tr>"
            "<tr><td>D</td><td>E</td></tr><tr><td>F</td><td>G &lt;x&gt; &#233;</td></tr></table>")
    path = tmp_path / "export.xls"
    path.write_bytes(b"\xff\xfe" + page.encode("utf-16-le"))
    assert list(iter_raw_rows(path)) == [
        (1, ["A", "B", "", "C"]), (2, ["", "D", "E"]), (3, ["F", "G <x> é"])]


def test_tab_separated_text_saved_as_xls(ws, case_id, tmp_path: Path) -> None:
    # Excel's "Unicode Text": UTF-16 with a BOM, tab-separated, here with a title line.
    text = ("Kontoauszug Example Bank\r\n"
            "Buchungstag\tVerwendungszweck\tBetrag\r\n"
            "01.03.2024\tEXAMPLE MARKT SAGT DANKE\t-23,40\r\n"
            "02.03.2024\tGehalt Example GmbH\t2.100,00\r\n")
    path = tmp_path / "umsatz.xls"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    assert detect(path).format == "transactions_table"
    result = run_import(ws, case_id, path, options=ImportOptions(timezone="Europe/Berlin", default_region="DE"))
    assert (result.events, result.errors) == (2, ())
    got = sorted((e.occurred_at.date(), Decimal(str(e.properties["amount"]))) for e in _events(ws, case_id))
    assert got == [(date(2024, 3, 1), Decimal("-23.40")), (date(2024, 3, 2), Decimal("2100.00"))]


# ----------------------------------------------------------------------- hostile files

def _refused(ws, case_id: int, path: Path, *words: str) -> str:
    before = _snapshot(ws)
    with pytest.raises(BadInput) as info:
        run_import(ws, case_id, path, fmt="transactions_table", options=OPTIONS)
    message = str(info.value)
    assert str(path) in message or path.name in message
    for word in words:
        assert word in message, message
    assert _snapshot(ws) == before
    return message


def test_truncated_and_corrupt_xls_are_refused_with_the_database_unchanged(ws, case_id, tmp_path: Path) -> None:
    good = write_xls(tmp_path / "good.xls", CARD_ROWS).read_bytes()
    truncated = tmp_path / "truncated.xls"
    truncated.write_bytes(good[: len(good) // 2])
    _refused(ws, case_id, truncated, "damaged or truncated")
    # The workbook stream's records overwritten with noise behind an intact container.
    noisy = bytearray(good)
    for i in range(2048 + 200, len(noisy), 7):
        noisy[i] = (i * 31) & 0xFF
    corrupt = tmp_path / "corrupt.xls"
    corrupt.write_bytes(bytes(noisy))
    _refused(ws, case_id, corrupt)
    assert TransactionTableParser().sniff(truncated, truncated.read_bytes()[:65536]) == pytest.approx(0.3)


def test_password_protected_xls_is_refused_by_name(ws, case_id, tmp_path: Path) -> None:
    path = write_xls(tmp_path / "locked.xls", CARD_ROWS, encrypted=True)
    _refused(ws, case_id, path, "locked.xls", "password-protected")
    # An encrypted .xlsx is an OLE2 file too, holding an EncryptedPackage stream.
    xlsx = tmp_path / "locked2.xls"
    xlsx.write_bytes(compound_file({"EncryptionInfo": b"\x04\x00\x04\x00" + bytes(100),
                                    "EncryptedPackage": bytes(5000)}))
    _refused(ws, case_id, xlsx, "password-protected")


def test_xls_declaring_billions_of_rows_is_refused_fast_with_little_memory(ws, case_id, tmp_path: Path) -> None:
    path = write_xls(tmp_path / "huge.xls", CARD_ROWS, dimensions=(4_000_000_000, 60_000))
    assert path.stat().st_size < 16_384
    tracemalloc.start()
    started = clock.perf_counter()
    try:
        with pytest.raises(ParseError) as info:
            list(iter_raw_rows(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert clock.perf_counter() - started < 2.0 and peak < 8 << 20
    assert "huge.xls" in str(info.value) and "sheet 'Sheet1'" in str(info.value)
    assert "4,000,000,000 rows" in str(info.value)
    _refused(ws, case_id, path, "beyond what an .xls can hold")


def test_xls_with_more_cells_than_the_limit_is_refused(ws, case_id, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import workstation.ingest.tabular as tabular

    monkeypatch.setattr(tabular, "XLS_MAX_CELLS", 20)
    path = write_xls(tmp_path / "many.xls", CARD_ROWS * 3)
    _refused(ws, case_id, path, "more than 20 cells")


def test_damaged_ods_and_other_ole2_files_are_named_not_misread(ws, case_id, tmp_path: Path) -> None:
    ods = tmp_path / "statement.ods"
    with zipfile.ZipFile(ods, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")  # namespace missing
    _refused(ws, case_id, ods, "content.xml")
    assert detect(ods).format == "transactions_table"   # so the import says why
    # An Outlook message is an OLE2 file too: the table importers do not claim it.
    msg = tmp_path / "note.msg"
    msg.write_bytes(compound_file({"__substg1.0_0037001F": "Subject".encode("utf-16-le")}))
    head = msg.read_bytes()[:65536]
    assert sniff_table(msg, head, "transaction") == 0.0 and sniff_table(msg, head, "booking") == 0.0
    doc = tmp_path / "notes.xls"
    doc.write_bytes(msg.read_bytes())
    _refused(ws, case_id, doc, "without a workbook stream")


def test_hostile_html_xls_is_refused_or_bounded(ws, case_id, tmp_path: Path) -> None:
    comment = tmp_path / "comment.xls"
    comment.write_bytes(b"<html><table><tr><td>Date</td><td>Amount</td></tr><!--" + b"x" * (6 << 20))
    _refused(ws, case_id, comment, "unterminated tag or comment")
    wide = tmp_path / "wide.xls"
    wide.write_text("<table><tr><td colspan=999999999>x</td><td>y</td></tr></table>", encoding="utf-8")
    [(number, row)] = list(iter_raw_rows(wide))
    assert number == 1 and len(row) == 16_384 and row[0] == "x"   # Excel's column limit


# ----------------------------------------------------------------------- a real producer's .xls

def test_xls_written_by_libreoffice_reads_like_its_xlsx(ws, case_id, tmp_path: Path) -> None:
    """The writer above follows the specifications; this checks a real producer's BIFF8
    (LibreOffice's own: SST with CONTINUE, MULRK, STYLE records...) reads the same."""
    import shutil
    import subprocess

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: the in-test BIFF8 writer covers .xls")
    rows = CARD_ROWS + [[datetime(2024, 3, 10, 14, 30), date(2024, 3, 11), 4242, "Café Ünïcode", "Other", 12.34, None]]
    xlsx = write_xlsx(tmp_path / "card.xlsx", rows)
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                    "--convert-to", "xls", "--outdir", str(tmp_path / "out"), str(xlsx)],
                   check=True, capture_output=True, timeout=180)
    xls = tmp_path / "out" / "card.xls"
    assert xls.read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    assert list(iter_raw_rows(xls)) == list(iter_raw_rows(xlsx))
    result = run_import(ws, case_id, xls, options=OPTIONS)
    assert (result.events, result.errors) == (5, ())
