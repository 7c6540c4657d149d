"""OpenDocument spreadsheets (.ods, flat .fods) and Excel 2003 XML spreadsheets
(SpreadsheetML), read row by row as the XLSX reader reads a workbook.

The .ods files are built here with zipfile and a hand-written content.xml that follows
OpenDocument 1.3 (part 3, "Tables"): the ``mimetype`` part first and stored, a
META-INF/manifest.xml, cells typed by ``office:value-type`` with their value in
``office:value`` / ``office:date-value`` / ``office:time-value`` /
``office:boolean-value``, runs of equal cells and rows written once with
``table:number-columns-repeated`` / ``table:number-rows-repeated`` (LibreOffice ends a
sheet with a million empty rows that way), merged cells as ``table:number-columns-spanned``
followed by ``table:covered-table-cell``. The SpreadsheetML files follow Microsoft's
"XML Spreadsheet 2003" schema (``ss:Index`` gaps, ``ss:MergeAcross``, ``ss:Data
ss:Type``). All names and amounts are made up.
"""

from __future__ import annotations

import shutil
import subprocess
import time as clock
import tracemalloc
import zipfile
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from workstation.ingest.opendoc import (
    ODS_MAX_COLUMNS,
    ODS_MAX_ROWS,
    is_ods,
    is_spreadsheetml,
    iter_ods,
    iter_spreadsheetml,
)
from workstation.ingest.records import ParseError

ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"'
)


def content_xml(tables: str, prolog: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}\n'
            f'<office:document-content {NAMESPACES} office:version="1.3">'
            '<office:automatic-styles/><office:body><office:spreadsheet>'
            f'{tables}</office:spreadsheet></office:body></office:document-content>')


def manifest_xml(media_type: str = ODS_TYPE, extra: str = "") -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
            'manifest:version="1.3">'
            f'<manifest:file-entry manifest:full-path="/" manifest:version="1.3" '
            f'manifest:media-type="{media_type}"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
            f'{extra}</manifest:file-entry></manifest:manifest>')


def write_ods(path: Path, tables: str | None = None, *, content: str | bytes | None = None,
              media_type: str = ODS_TYPE, manifest_extra: str = "") -> Path:
    """An .ods as LibreOffice lays it out: ``mimetype`` first and stored (so the type
    can be read at a fixed offset), then the manifest and the compressed content."""
    if content is None:
        content = content_xml(tables or "")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), media_type, compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", manifest_xml(media_type, manifest_extra),
                    compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


def cell(value_type: str, shown: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("__", ":").replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (f'<table:table-cell office:value-type="{value_type}" calcext:value-type="{value_type}"'
            f'{extra}><text:p>{shown}</text:p></table:table-cell>')


def text(shown: str) -> str:
    return cell("string", shown)


# The trailing runs LibreOffice writes to fill the sheet out to its limits.
TRAILING_ROWS = ('<table:table-row table:number-rows-repeated="{n}">'
                 '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>')

STATEMENT = (
    '<table:table table:name="Transactions">'
    '<table:table-column table:number-columns-repeated="16384"/>'
    # row 1: the header
    '<table:table-row>' + "".join(text(h) for h in (
        "Date", "Description", "Amount", "Currency", "Time", "Posted", "Rate")) +
    '<table:table-cell table:number-columns-repeated="16377"/></table:table-row>'
    # row 2: one cell of each type
    '<table:table-row>'
    + cell("date", "05/03/2024", office__date_value="2024-03-05")
    + text("COFFEE SHOP &amp; BAKERY")
    + cell("currency", "€12.50", office__value="12.5", office__currency="EUR")
    + text("EUR")
    + cell("time", "14:30", office__time_value="PT14H30M00S")
    + cell("boolean", "TRUE", office__boolean_value="true")
    + cell("percentage", "15%", office__value="0.15")
    + '<table:table-cell table:number-columns-repeated="16377"/></table:table-row>'
    # row 3: a date-time, a cell of two paragraphs with spacing marks and a comment, a
    # currency with cents, a merged cell over two columns, an error, a time LibreOffice
    # wrote a hair short of 09:30
    '<table:table-row>'
    + cell("date", "06/03/2024 09:15", office__date_value="2024-03-06T09:15:30")
    + '<table:table-cell office:value-type="string" calcext:value-type="string">'
      '<office:annotation><dc:creator>Analyst</dc:creator><text:p>checked</text:p></office:annotation>'
      '<text:p>Transfer<text:s text:c="3"/>to<text:tab/><text:span>ACME</text:span> Ltd</text:p>'
      '<text:p>ref<text:s/>4471<text:line-break/>end</text:p></table:table-cell>'
    + cell("currency", "-1 234,56 €", office__value="-1234.56", office__currency="EUR")
    + '<table:table-cell table:number-columns-spanned="2" office:value-type="string">'
      '<text:p>merged note</text:p></table:table-cell>'
      '<table:covered-table-cell office:value-type="string"><text:p>hidden</text:p>'
      '</table:covered-table-cell>'
    + '<table:table-cell office:value-type="string" office:string-value="" '
      'calcext:value-type="error" table:formula="of:=1/0"><text:p>#DIV/0!</text:p>'
      '</table:table-cell>'
    + cell("time", "09:30", office__time_value="PT09H29M59.999999984S")
    + '</table:table-row>'
    # rows 4-5: blank, written once
    '<table:table-row table:number-rows-repeated="2">'
    '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
    # row 6: three equal numbers written once, a gap of four empty cells, then text
    '<table:table-row>'
    + cell("float", "3", office__value="3", table__number_columns_repeated="3")
    + '<table:table-cell table:number-columns-repeated="4"/>' + text("end")
    + '</table:table-row>'
    # rows 7-8: one row written once for two equal rows, inside a row group
    '<table:table-row-group><table:table-row table:number-rows-repeated="2">'
    + text("dup") + cell("float", "0.1", office__value="0.1")
    + '</table:table-row></table:table-row-group>'
    + TRAILING_ROWS.format(n=ODS_MAX_ROWS - 8)
    + '</table:table>'
)

BOOKINGS = (
    '<table:table table:name="Bookings">'
    '<table:table-header-rows><table:table-row>' + text("Name") + text("Booked")
    + '</table:table-row></table:table-header-rows>'
    '<table:table-row>' + text("DOE, JANE") + cell(
        "date", "2023-11-30 23:05", office__date_value="2023-11-30T23:05:00") + '</table:table-row>'
    + TRAILING_ROWS.format(n=1048574) + '</table:table>'
)

EXPECTED_STATEMENT = [
    (1, ["Date", "Description", "Amount", "Currency", "Time", "Posted", "Rate"]),
    (2, [datetime(2024, 3, 5), "COFFEE SHOP & BAKERY", 12.5, "EUR", time(14, 30), True, 0.15]),
    (3, [datetime(2024, 3, 6, 9, 15, 30), "Transfer   to\tACME Ltd\nref 4471\nend", -1234.56,
         "merged note", None, "#DIV/0!", time(9, 30)]),
    (4, []),
    (5, []),
    (6, [3, 3, 3, None, None, None, None, "end"]),
    (7, ["dup", 0.1]),
    (8, ["dup", 0.1]),
]


@pytest.fixture()
def statement(tmp_path: Path) -> Path:
    return write_ods(tmp_path / "statement.ods", STATEMENT + BOOKINGS)


def test_ods_rows_cells_and_row_numbers(statement: Path) -> None:
    rows = list(iter_ods(statement, None))
    assert rows == EXPECTED_STATEMENT
    # The types the XLSX reader gives: whole numbers int, others float, dates datetime.
    assert [type(c) for c in rows[1][1]] == [datetime, str, float, str, time, bool, float]
    assert type(rows[5][1][0]) is int


def test_ods_trailing_runs_are_not_allocated(statement: Path) -> None:
    """LibreOffice's million empty rows of 16,384 empty cells cost neither time nor memory."""
    tracemalloc.start()
    started = clock.perf_counter()
    try:
        rows = list(iter_ods(statement, None))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rows) == 8
    assert peak < 5 << 20
    assert clock.perf_counter() - started < 5


def test_ods_sheet_by_name(statement: Path) -> None:
    assert list(iter_ods(statement, "Bookings")) == [
        (1, ["Name", "Booked"]), (2, ["DOE, JANE", datetime(2023, 11, 30, 23, 5)])]
    with pytest.raises(ParseError) as info:
        list(iter_ods(statement, "Arrests"))
    assert info.value.file == str(statement)
    assert "no sheet named 'Arrests' (sheets: Transactions, Bookings)" in str(info.value)


def test_ods_rows_are_fresh_lists(statement: Path) -> None:
    """Readers pad and trim the rows they get in place: equal rows must not share a list."""
    rows = dict(iter_ods(statement, None))
    rows[7].append("changed")
    assert rows[8] == ["dup", 0.1]


def test_ods_same_values_as_the_xlsx_reader(tmp_path: Path) -> None:
    """The same cells typed in LibreOffice and in Excel come out the same."""
    from openpyxl import Workbook

    from workstation.ingest.tabular import _iter_xlsx

    values = [datetime(2024, 3, 5), "COFFEE", 12.5, 3, time(14, 30), True, 0.15]
    wb = Workbook()
    ws = wb.active
    ws.append(values)
    ws["A1"].number_format = "yyyy-mm-dd"
    ws["E1"].number_format = "hh:mm"
    wb.save(tmp_path / "same.xlsx")
    ods = write_ods(tmp_path / "same.ods", '<table:table table:name="S"><table:table-row>'
                    + cell("date", "2024-03-05", office__date_value="2024-03-05T00:00:00")
                    + text("COFFEE") + cell("float", "12.50", office__value="12.5")
                    + cell("float", "3", office__value="3")
                    + cell("time", "14:30", office__time_value="PT14H30M00S")
                    + cell("boolean", "TRUE", office__boolean_value="true")
                    + cell("percentage", "15%", office__value="0.15")
                    + '</table:table-row></table:table>')
    assert list(iter_ods(ods, None)) == list(_iter_xlsx(tmp_path / "same.xlsx", None))


def test_ods_durations_and_odd_values(tmp_path: Path) -> None:
    ods = write_ods(tmp_path / "odd.ods", '<table:table table:name="S"><table:table-row>'
                    + cell("time", "36:00", office__time_value="PT36H00M00S")
                    + cell("date", "2024-03-05 14:00 +02", office__date_value="2024-03-05T14:00:00+02:00")
                    + cell("float", "n/a", office__value="not-a-number")
                    + cell("date", "sometime", office__date_value="yesterday")
                    + '<table:table-cell><text:p>untyped</text:p></table:table-cell>'
                    + '</table:table-row></table:table>')
    assert list(iter_ods(ods, None)) == [(1, [
        timedelta(hours=36), datetime(2024, 3, 5, 14, tzinfo=timezone(timedelta(hours=2))),
        "n/a", "sometime", "untyped"])]


def test_flat_ods(tmp_path: Path) -> None:
    body = content_xml(STATEMENT).replace("office:document-content", "office:document").replace(
        'office:version="1.3"', f'office:version="1.3" office:mimetype="{ODS_TYPE}"')
    fods = tmp_path / "statement.fods"
    fods.write_text(body, encoding="utf-8")
    assert is_ods(fods)
    assert list(iter_ods(fods, None)) == EXPECTED_STATEMENT


def test_ods_detection(tmp_path: Path, statement: Path) -> None:
    from openpyxl import Workbook

    assert is_ods(statement)
    # A writer that puts the mimetype part elsewhere is still recognised by its parts.
    late = tmp_path / "late.ods"
    with zipfile.ZipFile(late, "w") as zf:
        zf.writestr("content.xml", content_xml(BOOKINGS))
        zf.writestr("mimetype", ODS_TYPE)
    assert is_ods(late)
    assert list(iter_ods(late, None))[0] == (1, ["Name", "Booked"])
    Workbook().save(tmp_path / "book.xlsx")
    shutil.copy(tmp_path / "book.xlsx", tmp_path / "renamed.ods")
    assert not is_ods(tmp_path / "book.xlsx")
    assert not is_ods(tmp_path / "renamed.ods")
    odt = write_ods(tmp_path / "letter.odt", "", media_type="application/vnd.oasis.opendocument.text")
    assert not is_ods(odt)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_ods_written_by_libreoffice(tmp_path: Path) -> None:
    csv = tmp_path / "tx.csv"
    csv.write_text("Date,Description,Amount\n2024-03-05,COFFEE,12.5\n2024-03-06,RENT,-800\n",
                   encoding="utf-8")
    subprocess.run(["soffice", "--headless", "--convert-to", "ods", "--outdir", str(tmp_path),
                    str(csv)], check=True, capture_output=True, timeout=120)
    rows = list(iter_ods(tmp_path / "tx.ods", None))
    assert rows == [(1, ["Date", "Description", "Amount"]),
                    (2, [datetime(2024, 3, 5), "COFFEE", 12.5]),
                    (3, [datetime(2024, 3, 6), "RENT", -800])]


# --------------------------------------------------------------------------- hostile .ods

def refused(path: Path, sheet: str | None = None, reader: Any = iter_ods) -> ParseError:
    with pytest.raises(ParseError) as info:
        list(reader(path, sheet))
    assert info.value.file == str(path)
    assert str(path) in str(info.value)
    return info.value


def test_ods_zip_bomb_refused_before_inflating(tmp_path: Path) -> None:
    bomb = write_ods(tmp_path / "bomb.ods", content=content_xml(" " * (8 << 20)))
    assert "zip bomb" in str(refused(bomb))


def test_ods_entity_expansion_refused(tmp_path: Path) -> None:
    laughs = ('<!DOCTYPE office:document-content [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;'
              '&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
    ods = write_ods(tmp_path / "laughs.ods", content=content_xml(
        '<table:table table:name="S"><table:table-row>' + text("&c;")
        + '</table:table-row></table:table>', prolog=laughs))
    assert "DTD" in str(refused(ods))


def test_ods_external_entity_refused(tmp_path: Path) -> None:
    prolog = '<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    ods = write_ods(tmp_path / "xxe.ods", content=content_xml(
        '<table:table table:name="S"><table:table-row>' + text("&secret;")
        + '</table:table-row></table:table>', prolog=prolog))
    error = refused(ods)
    assert "refused" in str(error) and "root:" not in str(error)


def test_ods_truncated_content(tmp_path: Path) -> None:
    whole = content_xml(STATEMENT)
    ods = write_ods(tmp_path / "cut.ods", content=whole[:whole.index("<text:p>end</text:p>") + 10])
    rows: list[Any] = []
    with pytest.raises(ParseError) as info:
        for row in iter_ods(ods, None):
            rows.append(row)
    # The rows before the cut; the blank rows 4-5 only count once a filled row follows.
    assert rows == EXPECTED_STATEMENT[:3]
    assert info.value.file == str(ods) and info.value.ref == "row 6"
    assert "damaged or truncated" in str(info.value)


def test_ods_truncated_file(tmp_path: Path, statement: Path) -> None:
    cut = tmp_path / "cut-file.ods"
    cut.write_bytes(statement.read_bytes()[:600])
    assert "not a readable OpenDocument spreadsheet" in str(refused(cut))


def test_not_an_ods(tmp_path: Path) -> None:
    from openpyxl import Workbook

    Workbook().save(tmp_path / "renamed.ods")
    assert "an Excel (.xlsx) workbook under another name" in str(refused(tmp_path / "renamed.ods"))
    odt = write_ods(tmp_path / "letter.ods", "", media_type="application/vnd.oasis.opendocument.text")
    assert "not a spreadsheet" in str(refused(odt))
    other = tmp_path / "photos.ods"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("a.txt", "hello")
    assert "no content.xml" in str(refused(other))
    locked = write_ods(tmp_path / "locked.ods", content=b"\x8f\x02binary",
                       manifest_extra='<manifest:encryption-data manifest:checksum="x"/>')
    assert "password-protected" in str(refused(locked))
    empty = write_ods(tmp_path / "empty.ods", "")
    assert "no worksheet" in str(refused(empty))


def test_ods_repeat_bomb_refused(tmp_path: Path) -> None:
    """A few bytes claiming a million rows of 16,384 filled cells."""
    ods = write_ods(tmp_path / "repeat.ods", '<table:table table:name="S">'
                    '<table:table-row table:number-rows-repeated="1000000">'
                    + cell("float", "1", office__value="1", table__number_columns_repeated="16384")
                    + '</table:table-row></table:table>')
    started = clock.perf_counter()
    assert "repeat" in str(refused(ods))
    assert clock.perf_counter() - started < 5


def test_ods_cells_beyond_the_sheet_refused(tmp_path: Path) -> None:
    wide = write_ods(tmp_path / "wide.ods", '<table:table table:name="S"><table:table-row>'
                     f'<table:table-cell table:number-columns-repeated="{ODS_MAX_COLUMNS}"/>'
                     + text("far") + '</table:table-row></table:table>')
    assert f"column {ODS_MAX_COLUMNS + 1:,}" in str(refused(wide))
    deep = write_ods(tmp_path / "deep.ods", '<table:table table:name="S">'
                     '<table:table-row table:number-rows-repeated="2000000000"><table:table-cell/>'
                     '</table:table-row><table:table-row>' + text("far")
                     + '</table:table-row></table:table>')
    assert "beyond the 1,048,576 rows" in str(refused(deep))


# --------------------------------------------------------------------------- SpreadsheetML

SPREADSHEET_ML = """<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:o="urn:schemas-microsoft-com:office:office"
 xmlns:x="urn:schemas-microsoft-com:office:excel"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:html="http://www.w3.org/TR/REC-html40">
 <DocumentProperties xmlns="urn:schemas-microsoft-com:office:office"><Author>Records</Author></DocumentProperties>
 <Styles><Style ss:ID="d"><NumberFormat ss:Format="Short Date"/></Style></Styles>
 <Worksheet ss:Name="Arrests">
  <Table ss:ExpandedColumnCount="6" ss:ExpandedRowCount="7" x:FullColumns="1" x:FullRows="1">
   <Column ss:Width="80"/>
   <Row>
    <Cell><Data ss:Type="String">Name</Data></Cell>
    <Cell><Data ss:Type="String">Booked</Data></Cell>
    <Cell><Data ss:Type="String">Time</Data></Cell>
    <Cell><Data ss:Type="String">Bond</Data></Cell>
    <Cell><Data ss:Type="String">Released</Data></Cell>
    <Cell><Data ss:Type="String">Notes</Data></Cell>
   </Row>
   <Row>
    <Cell><Data ss:Type="String">DOE, JANE</Data></Cell>
    <Cell ss:StyleID="d"><Data ss:Type="DateTime">2023-11-30T23:05:00.000</Data></Cell>
    <Cell><Data ss:Type="DateTime">1899-12-31T14:30:00.000</Data></Cell>
    <Cell><Data ss:Type="Number">2500</Data></Cell>
    <Cell><Data ss:Type="Boolean">0</Data></Cell>
    <Cell><ss:Data ss:Type="String" xmlns="http://www.w3.org/TR/REC-html40"><B>Held</B> for court</ss:Data><Comment ss:Author="Clerk"><ss:Data><B>internal</B></ss:Data></Comment></Cell>
   </Row>
   <Row ss:Index="4">
    <Cell ss:Index="2" ss:MergeAcross="1"><Data ss:Type="String">wide</Data></Cell>
    <Cell><Data ss:Type="Number">-12.75</Data></Cell>
    <Cell ss:Index="6"><Data ss:Type="Error">#DIV/0!</Data></Cell>
   </Row>
   <Row ss:Span="1"/>
   <Row><Cell ss:Formula="=R[-3]C+1"><Data ss:Type="Number">2501</Data></Cell><Cell/></Row>
  </Table>
 </Worksheet>
 <Worksheet ss:Name="Other"><Table><Row><Cell><Data ss:Type="String">x</Data></Cell></Row></Table></Worksheet>
</Workbook>
"""


def test_spreadsheetml_rows(tmp_path: Path) -> None:
    path = tmp_path / "arrests.xls"
    path.write_text(SPREADSHEET_ML, encoding="utf-8")
    assert is_spreadsheetml(path) and not is_ods(path)
    assert list(iter_spreadsheetml(path, None)) == [
        (1, ["Name", "Booked", "Time", "Bond", "Released", "Notes"]),
        (2, ["DOE, JANE", datetime(2023, 11, 30, 23, 5), time(14, 30), 2500, False,
             "Held for court"]),
        (3, []),
        (4, [None, "wide", None, -12.75, None, "#DIV/0!"]),
        (5, []),
        (6, []),
        (7, [2501]),
    ]
    assert list(iter_spreadsheetml(path, "Other")) == [(1, ["x"])]
    assert "no sheet named 'Bookings' (sheets: Arrests, Other)" in str(
        refused(path, "Bookings", iter_spreadsheetml))


def test_spreadsheetml_hostile(tmp_path: Path) -> None:
    laughs = tmp_path / "laughs.xml"
    laughs.write_text(SPREADSHEET_ML.replace(
        '<?mso-application progid="Excel.Sheet"?>',
        '<?mso-application progid="Excel.Sheet"?><!DOCTYPE Workbook [<!ENTITY a "lol">]>').replace(
        ">DOE, JANE<", ">&a;<"), encoding="utf-8")
    assert "DTD" in str(refused(laughs, reader=iter_spreadsheetml))
    cut = tmp_path / "cut.xml"
    cut.write_text(SPREADSHEET_ML[:SPREADSHEET_ML.index('<Row ss:Index="4">') + 30], encoding="utf-8")
    error = refused(cut, reader=iter_spreadsheetml)
    assert "damaged or truncated" in str(error) and error.ref == "row 4"  # cut inside row 4
    backwards = tmp_path / "backwards.xml"
    backwards.write_text(SPREADSHEET_ML.replace('<Cell ss:Index="6">', '<Cell ss:Index="2">'),
                         encoding="utf-8")
    assert "out of order" in str(refused(backwards, reader=iter_spreadsheetml))
    far = tmp_path / "far.xml"
    far.write_text(SPREADSHEET_ML.replace('<Row ss:Index="4">', '<Row ss:Index="99999999">'),
                   encoding="utf-8")
    assert "beyond" in str(refused(far, reader=iter_spreadsheetml))


# ------------------------------------------------------------- through the import pipeline

def _card_statement_ods(path: Path) -> Path:
    rows = [("Date", "Description", "Amount", "Card Number")]
    body = ('<table:table table:name="Sheet1">'
            '<table:table-row>' + "".join(text(h) for h in rows[0]) + '</table:table-row>'
            '<table:table-row>' + cell("date", "05/01/2024", office__date_value="2024-01-05")
            + text("CORNER GROCERY") + cell("float", "-12.5", office__value="-12.5")
            + text("4111 1111 1111 1111") + '</table:table-row>'
            '<table:table-row>' + cell("date", "06/01/2024", office__date_value="2024-01-06")
            + text("GIFT CARD PLAZA") + cell("currency", "-50.00 €", office__value="-50",
                                             office__currency="EUR")
            + text("4111 1111 1111 1111") + '</table:table-row>'
            + TRAILING_ROWS.format(n=ODS_MAX_ROWS - 3) + '</table:table>')
    return write_ods(path, body)


def test_ods_card_statement_imports_end_to_end(ws, tmp_path: Path) -> None:
    from decimal import Decimal

    from workstation.ingest.pipeline import detect, run_import

    path = _card_statement_ods(tmp_path / "statement.ods")
    assert detect(path).format == "transactions_table"
    case_id = ws.create_case("ODS-1", "LibreOffice statement").id
    result = run_import(ws, case_id, path)
    assert (result.errors, result.events) == ((), 2)
    events = sorted(ws.list_events(case_id, limit=None), key=lambda e: e.ts_utc)
    assert [e.title for e in events] == ["CORNER GROCERY", "GIFT CARD PLAZA"]
    assert [Decimal(str(e.properties["amount"])) for e in events] == [Decimal("-12.5"), Decimal("-50")]
    assert [e.label for e in ws.list_entities(case_id, kind="card")] == ["•••• 1111"]
    # Re-importing the same file changes nothing.
    again = run_import(ws, case_id, path)
    assert again.duplicate_of == result.source_id and ws.count_events(case_id) == 2


def test_excel_2003_xml_booking_list_imports_end_to_end(ws, tmp_path: Path) -> None:
    from workstation.ingest.pipeline import detect, run_import

    path = tmp_path / "bookings.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">\n'
        ' <Worksheet ss:Name="Bookings"><Table>\n'
        '  <Row>' + "".join(f'<Cell><Data ss:Type="String">{h}</Data></Cell>' for h in (
            "Booking Number", "Last Name", "First Name", "Date of Birth", "Booking Date",
            "Charge")) + '</Row>\n'
        '  <Row><Cell><Data ss:Type="String">B-1001</Data></Cell>'
        '<Cell><Data ss:Type="String">DOE</Data></Cell><Cell><Data ss:Type="String">JANE</Data></Cell>'
        '<Cell><Data ss:Type="DateTime">1990-02-03T00:00:00.000</Data></Cell>'
        '<Cell><Data ss:Type="DateTime">2024-03-01T22:15:00.000</Data></Cell>'
        '<Cell><Data ss:Type="String">THEFT</Data></Cell></Row>\n'
        ' </Table></Worksheet>\n</Workbook>\n', encoding="utf-8")
    assert detect(path).format == "booking_table"
    case_id = ws.create_case("SML-1", "Excel 2003 booking list").id
    result = run_import(ws, case_id, path)
    assert (result.errors, result.events) == ((), 1)
    people = ws.list_entities(case_id, kind="person")
    assert len(people) == 1 and "DOE" in people[0].label.upper()
