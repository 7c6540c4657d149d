"""Hostile and malformed input against the booking-list reader and WhatsApp's calendars.

What a user must see for any file, however broken: its records, a RowError naming the
row/line and field, or a ParseError naming the file; never an untyped exception, never a
hang on a long cell or line, memory that does not grow with the file, and (through
``run_import``) a database left exactly as it was when the import stops.

Every file here is made up: synthetic names, dates and numbers.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.errors import BadInput
from workstation.ingest.booking.table import MAX_ROWS_PER_BOOKING, read_bookings
from workstation.ingest.chat.whatsapp import WhatsAppParser
from workstation.ingest.pipeline import run_import
from workstation.ingest.records import ImportOptions, ParsedEvent, ParseError, Record, RowError
from workstation.ingest.tabular import MappingProfile

# Deterministic, bounded and quick: these run on every commit.
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

HEADER = ["Booking Number", "Last Name", "First Name", "DOB", "Booking Date", "Booking Time",
          "Charges", "Bond Amount", "Counts", "Age", "Arresting Officer", "Release Date",
          "Weight (lbs)", "Statute"]
ROW = ["24-0001", "TESTPERSON", "ALEX", "04/21/1990", "03/02/2024", "1430", "THEFT", "$500",
       "1", "33", "SAMPLE, J #4521", "N/A", "180", "ORC 2913.02"]


def _csv(path: Path, rows: list[list]) -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _row(**cells: object) -> list:
    """ROW with some cells replaced, by header ("Booking_Time" for "Booking Time")."""
    row: list = list(ROW)
    for name, value in cells.items():
        row[HEADER.index(name.replace("_", " "))] = value
    return row


# A placeholder number written by openpyxl, then replaced in the sheet XML by a number
# text openpyxl refuses to write (1E+400 reads back as infinity).
_PLACEHOLDER = 1234.5678


def _workbook(path: Path, rows: list[list], raw: str | None = None,
              texts: dict[str, str] | None = None) -> Path:
    """An XLSX of ``rows``; a cell holding ``_PLACEHOLDER`` gets the number text ``raw``,
    a text cell holding a key of ``texts`` its value (openpyxl cuts text at 32,767
    characters). Stored uncompressed: a megabyte of "!" is no zip bomb."""
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    swaps = {f"<v>{_PLACEHOLDER}</v>": f"<v>{raw}</v>"} if raw is not None else {}
    swaps.update({f"<t>{k}</t>": f'<t xml:space="preserve">{v}</t>'
                  for k, v in (texts or {}).items()})
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("xl/worksheets/"):
                for old, new in swaps.items():
                    data = data.replace(old.encode(), new.encode())
            info.compress_type = zipfile.ZIP_STORED
            dst.writestr(info, data)
    return path


def _read(path: Path, profile: MappingProfile | None = None) -> list[Record]:
    """The records of a booking list, checking the contract on the way: only events and
    row errors naming a row come out (a ParseError propagates)."""
    records = list(read_bookings(path, profile))
    for r in records:
        assert isinstance(r, (ParsedEvent, RowError)), r
        if isinstance(r, RowError):
            assert re.fullmatch(r"rows? \d+", r.ref), r
            assert r.message
    return records


def _bookings(records: list[Record]) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent) and r.kind == "booking"]


def _errors(records: list[Record]) -> list[tuple[str, str | None]]:
    return [(r.ref, r.field) for r in records if isinstance(r, RowError)]


# --------------------------------------------------------------------- workbook numbers


@pytest.mark.parametrize(("column", "raw", "field"), [
    ("Booking Time", "1E+400", "booking_time"),            # reads back as infinity
    ("Booking Time", "-1E+400", "booking_time"),
    ("Booking Time", "-0.25", "booking_time"),
    ("Booking Time", "99999999999999999999", "booking_time"),
    ("Booking Date", "2958465.9999999995", "booking_date"),  # rounds past 9999-12-31
    ("Booking Date", "99999999999999999999", "booking_date"),
    ("Booking Date", "-1E+400", "booking_date"),
    ("Release Date", "1E+400", "release_date"),
])
def test_out_of_range_workbook_numbers_are_errors_of_their_field(
        tmp_path: Path, column: str, raw: str, field: str) -> None:
    path = _workbook(tmp_path / "numbers.xlsx",
                     [HEADER, _row(**{column: _PLACEHOLDER}), _row(Booking_Number="24-0002")],
                     raw)
    records = _read(path)
    assert _errors(records) == [("row 2", field)]
    assert [b.title for b in _bookings(records)] == ["Booking 24-0002"]


def test_serial_date_rounding_past_the_year_9999_says_so(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "late.xlsx", [HEADER, _row(Booking_Date=_PLACEHOLDER)],
                     "2958465.9999999995")
    [error] = [r for r in _read(path) if isinstance(r, RowError)]
    assert "9999" in error.message


@pytest.mark.parametrize(("raw", "shown"), [
    ("2958465.9999999995", "2958465.9999999995"), ("1E+400", "inf"), ("-1E+400", "-inf")])
def test_out_of_range_birth_date_is_kept_as_written(tmp_path: Path, raw: str,
                                                    shown: str) -> None:
    path = _workbook(tmp_path / "dob.xlsx", [HEADER, _row(DOB=_PLACEHOLDER)], raw)
    [booking] = _bookings(_read(path))
    person = booking.parties[0].properties
    assert "dob" not in person and person["dob_text"] == shown


def test_time_a_hair_before_midnight_stays_on_its_day(tmp_path: Path) -> None:
    # 0.9999999999 of a day is 23:59:59.9999; rounded to whole milliseconds it must not
    # become midnight at the start of the same day.
    path = _workbook(tmp_path / "late.xlsx", [HEADER, _row(Booking_Time=_PLACEHOLDER)],
                     "0.9999999999")
    [booking] = _bookings(_read(path))
    assert booking.occurred_at is not None
    assert booking.occurred_at.replace(tzinfo=None) == datetime(2024, 3, 2, 23, 59, 59, 999000)


@pytest.mark.parametrize(("age", "counts", "kept_age", "kept_counts"), [
    ("\u00b2", "\u00b3", "\u00b2", "\u00b3"),  # superscripts: digits, but no number
    ("\u0663\u0664", "\u0662", 34, 2),        # Arabic-Indic digits are numbers
    ("\u096a\u0968", "\u0967", 42, 1),        # Devanagari
])
def test_digits_of_other_scripts_in_age_and_counts(
        tmp_path: Path, age: str, counts: str, kept_age: object, kept_counts: object) -> None:
    path = _csv(tmp_path / "digits.csv", [HEADER, _row(Age=age, Counts=counts)])
    [booking] = _bookings(_read(path))
    assert booking.properties["age"] == kept_age
    assert booking.properties["charges"][0]["counts"] == kept_counts


# --------------------------------------------------------------------- long cells

LONG = 100_000  # near the CSV reader's 128 KiB cell limit


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("column", "cell"), [
    ("Booking Number", "!" * LONG + "x"),
    ("Last Name", "-" * LONG + "x"),
    ("DOB", "/" * LONG + "x"),
    ("Booking Date", "!" * LONG + "x"),
    ("Booking Time", "!" * LONG + "x"),
    ("Release Date", "?" * LONG + "x"),
    ("Age", "!" * LONG + "x"),
    ("Weight (lbs)", "!" * LONG + "x"),
    ("Arresting Officer", "SAMPLE 1" + "1" * LONG + " x"),
    ("Arresting Officer", "SAMPLE" + " " * LONG + "x"),
    ("Arresting Officer", "SAMPLE" + "," * LONG + "x"),
    ("Charges", ";" * LONG),
])
def test_a_long_cell_is_read_in_linear_time(tmp_path: Path, column: str, cell: str) -> None:
    path = _csv(tmp_path / "long.csv", [HEADER, _row(**{column: cell}),
                                        _row(Booking_Number="24-0002")])
    records = _read(path)
    assert [b.properties["booking_number"] for b in _bookings(records)][-1] == "24-0002"


@pytest.mark.timeout(20)
@pytest.mark.parametrize("header", ["(" * LONG, "Weight" + " (" * (LONG // 2),
                                    "Statute" + ":" * LONG + "x"])
def test_a_long_header_is_read_in_linear_time(tmp_path: Path, header: str) -> None:
    # The list's own profile: the columns beside it are still told apart by their headers
    # (statute, bond, weight with its unit...), the long one among them.
    profile = MappingProfile(name="jail list", target="booking", columns={
        "booking_number": "Booking Number", "last_name": "Last Name", "first_name": "First Name"})
    path = _csv(tmp_path / "long_header.csv", [[*HEADER, header], [*ROW, "v"]])
    [booking] = _bookings(_read(path, profile))
    assert booking.parties[0].properties["weight"] == "180 lbs"
    assert booking.properties["other_columns"][header] == "v"


@pytest.mark.timeout(20)
def test_megabyte_workbook_cells_are_read(tmp_path: Path) -> None:
    mega = 1 << 20
    # The first row's date settles the day/month order before the long cells are met.
    path = _workbook(tmp_path / "mega.xlsx", [HEADER, _row(Booking_Date="25/12/2023"), _row(
        Booking_Number="NUMBER", Arresting_Officer="OFFICER", Booking_Time="TIME", DOB="BIRTH")],
        texts={"NUMBER": "!" * mega + "7", "OFFICER": "SAMPLE" + " " * mega + "x",
               "TIME": "1430" + " " * mega + "hrs", "BIRTH": "!" * mega + "x"})
    [_, booking] = _bookings(_read(path))
    assert len(booking.properties["booking_number"]) == mega + 1
    assert booking.properties["arresting_officer"] == "SAMPLE" + " " * mega + "x"
    assert booking.occurred_at is not None and booking.occurred_at.hour == 14
    assert booking.parties[0].properties["dob_text"].endswith("!x")


# --------------------------------------------------------------------- fuzzing the reader

_SCRIPT_DIGITS = "0123456789\u0660\u0661\u06f1\u0967\u00b2\u00b9\uff11"
_CELL_TEXT = st.text(
    alphabet=st.sampled_from(list(_SCRIPT_DIGITS + "/-:.,;| $#()AaPpMmJjRrNn\u200e\u202e\u00a0")),
    max_size=14)
_CELL = st.one_of(
    _CELL_TEXT,
    st.sampled_from(["", "N/A", "In custody", "00/00/0000", "2400", "2460", "930", "0",
                     "45352", "45352.5", "99999", "99999999999999999999", "-1", "nan", "inf",
                     "2:30 PM", "13:99", "24:00", "31/31/2024", "02/30/2024", "1E+400",
                     "DOE JR, JOHN", "Robin Sample, Jr.", ", ,", "JR", "III, IV", "#", "##4521",
                     "Total bookings: 3", "Page 2 of 5", "NO BOND", "$1e400", "$-0"]))


@FUZZ
@given(rows=st.lists(st.lists(_CELL, min_size=len(HEADER), max_size=len(HEADER)),
                     min_size=1, max_size=8),
       numbers=st.sampled_from(["24-1", "24-2", ""]))
def test_any_csv_cells_give_events_or_row_errors(tmp_path: Path, rows: list[list[str]],
                                                 numbers: str) -> None:
    # A few booking numbers, so that rows are grouped, split and listed again.
    for i, row in enumerate(rows):
        row[0] = row[0] if i % 3 else numbers
    try:
        _read(_csv(tmp_path / "fuzz.csv", [HEADER, *rows]))
    except ParseError as exc:
        assert exc.file == str(tmp_path / "fuzz.csv")


_WORKBOOK_NUMBER = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0.0, 0.5, 0.9999999999, 1.0, 59.0, 60.0, 61.0, 10_000.0, 45352.25,
                     2_958_465.0, 2_958_465.9999, -45352.0, 1e300]))


@FUZZ
@given(cells=st.lists(st.one_of(_WORKBOOK_NUMBER, _CELL), min_size=len(HEADER),
                      max_size=len(HEADER)),
       raw=st.sampled_from(["1E+400", "-1E+400", "2958465.9999999995", "-0", "4.9E-324"]),
       where=st.integers(min_value=3, max_value=len(HEADER) - 1))
def test_any_workbook_numbers_give_events_or_row_errors(
        tmp_path: Path, cells: list, raw: str, where: int) -> None:
    cells[1] = "TESTPERSON"
    cells[where] = _PLACEHOLDER
    try:
        _read(_workbook(tmp_path / "fuzz.xlsx", [HEADER, cells], raw))
    except ParseError as exc:
        assert exc.file == str(tmp_path / "fuzz.xlsx")


_VALID = "\n".join(",".join(r) for r in [HEADER, ROW, _row(Booking_Number="24-0002",
                                                               Charges="FRAUD; TRESPASS",
                                                               Statute="ORC 1; ORC 2")]) + "\n"


@FUZZ
@given(data=st.data())
def test_mutated_and_random_files_give_records_or_a_parse_error(tmp_path: Path,
                                                                data: st.DataObject) -> None:
    raw = _VALID.encode()
    how = data.draw(st.sampled_from(["bytes", "truncate", "insert", "delimiter", "header"]))
    if how == "bytes":
        raw = data.draw(st.binary(max_size=400))
    elif how == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    elif how == "insert":
        at = data.draw(st.integers(0, len(raw)))
        piece = data.draw(st.sampled_from(
            ["\x00", "\u200f", "\u202e", '"', "\n", "\r", ",,,,", ";", "\ufeff", "\udcff",
             "," * 10_000]))
        raw = raw[:at] + piece.encode("utf-8", "surrogatepass") + raw[at:]
    elif how == "delimiter":
        raw = raw.replace(b",", data.draw(st.sampled_from([b";", b"\t", b"|", b" ", b""])))
    else:  # empty, duplicate or missing header names
        names = data.draw(st.lists(st.sampled_from(HEADER + [""]), min_size=1,
                                   max_size=len(HEADER)))
        raw = (",".join(names) + "\n").encode() + raw.split(b"\n", 1)[1]
    path = tmp_path / "mutated.csv"
    path.write_bytes(raw)
    try:
        _read(path)
    except ParseError as exc:
        assert exc.file == str(path)


# --------------------------------------------------------------------- grouping at scale


def test_thousands_of_rows_with_one_booking_number(tmp_path: Path) -> None:
    rows = 2 * MAX_ROWS_PER_BOOKING + 500
    path = _csv(tmp_path / "one.csv", [HEADER] + [
        _row(Booking_Number="24-0009", Charges=f"COUNT {i}") for i in range(rows)])
    bookings = _bookings(_read(path))
    assert [(b.ref, b.title) for b in bookings] == [
        (f"rows 2-{MAX_ROWS_PER_BOOKING + 1}", "Booking 24-0009"),
        (f"rows {MAX_ROWS_PER_BOOKING + 2}-{2 * MAX_ROWS_PER_BOOKING + 1}",
         "Booking 24-0009 (listed again)"),
        (f"rows {2 * MAX_ROWS_PER_BOOKING + 2}-{rows + 1}", "Booking 24-0009 (listed again)")]
    charges = [c["description"] for b in bookings for c in b.properties["charges"]]
    assert charges == [f"COUNT {i}" for i in range(rows)]


def test_one_booking_number_for_two_people_in_turn(tmp_path: Path) -> None:
    path = _csv(tmp_path / "turns.csv", [HEADER] + [
        _row(Last_Name=("TESTPERSON", "SAMPLE")[i % 2], Charges=f"COUNT {i}")
        for i in range(3000)])
    bookings = _bookings(_read(path))
    assert len(bookings) == 3000
    assert [b.properties.get("listed_again", False) for b in bookings[:3]] == [False, True, True]
    assert sum(1 for b in bookings if b.properties.get("listed_again")) == 2999


def test_thousands_of_alternating_booking_numbers(tmp_path: Path) -> None:
    path = _csv(tmp_path / "alternating.csv", [HEADER] + [
        _row(Booking_Number=("24-A", "24-B")[i % 2], Charges=f"COUNT {i}") for i in range(4000)])
    bookings = _bookings(_read(path))
    assert [b.ref for b in bookings] == [f"row {n}" for n in range(2, 4002)]
    assert [b.title for b in bookings[:3]] == ["Booking 24-A", "Booking 24-B",
                                               "Booking 24-A (listed again)"]
    assert sum(1 for b in bookings if b.properties.get("listed_again")) == 3998


def test_200k_row_list_streams_with_flat_memory(tmp_path: Path) -> None:
    # One booking per 5 rows. tracemalloc would make this take half a minute; the
    # interpreter's count of live memory blocks costs nothing to read, and grows with
    # anything kept per row or per booking.
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Booking Number,Name,DOB,Booking Date,Charge\n")
        for i in range(200_000):
            fh.write(f'{i // 5},"TESTPERSON{i // 5}, ALEX",04/21/1990,2024-03-25,Count {i}\n')
    blocks: list[int] = []
    bookings = 0
    for record in read_bookings(path):
        assert isinstance(record, ParsedEvent)
        bookings += 1
        if bookings % 4_000 == 0:
            blocks.append(sys.getallocatedblocks())
    assert bookings == 40_000
    # From the first sample (20,000 rows in) to the last: fewer than 2,000 more blocks
    # (keeping one small object per booking would add about 36,000).
    assert max(blocks) - blocks[0] < 2_000, blocks


# --------------------------------------------------------------------- nothing half-imported


def _snapshot(ws) -> dict:
    return {**ws.counts(), "audit": ws.audit.verify().entries}


GOOD = [HEADER, ROW, _row(Booking_Number="24-0002")]


def _infinite_time(tmp_path: Path) -> Path:
    return _workbook(tmp_path / "infinite_time.xlsx",
                     [*GOOD, _row(Booking_Number="24-0003", Booking_Time=_PLACEHOLDER)], "1E+400")


def _late_serial_date(tmp_path: Path) -> Path:
    return _workbook(tmp_path / "late_serial.xlsx",
                     [*GOOD, _row(Booking_Number="24-0003", Booking_Date=_PLACEHOLDER)],
                     "2958465.9999999995")


def _truncated_workbook(tmp_path: Path) -> Path:
    whole = _workbook(tmp_path / "whole.xlsx", GOOD).read_bytes()
    path = tmp_path / "truncated.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _binary_tail(tmp_path: Path) -> Path:
    # Past the first 64 KiB (what format detection looks at), so the reader meets it after
    # 1,500 bookings were read.
    path = _csv(tmp_path / "binary_tail.csv",
                [HEADER] + [_row(Booking_Number=f"24-{n:04d}") for n in range(1, 1501)])
    path.write_bytes(path.read_bytes() + b"24-1501,\x00\x01\x02\n")
    return path


@pytest.fixture
def imported_case(ws, tmp_path: Path) -> int:
    """A case holding one booking already, so "unchanged" is not "empty"."""
    case_id = ws.create_case("HX-1", "Hostile lists", timezone="America/Toronto").id
    run_import(ws, case_id, _csv(tmp_path / "first.csv", [HEADER, _row(Booking_Number="24-0000")]),
               options=ImportOptions(timezone="America/Toronto"))
    return case_id


@pytest.mark.parametrize(("make", "named"), [
    (_infinite_time, "infinite_time.xlsx: row 4: field 'booking_time'"),
    (_late_serial_date, "late_serial.xlsx: row 4: field 'booking_date'"),
    (_truncated_workbook, "truncated.xlsx: not a readable XLSX"),
    (_binary_tail, "binary_tail.csv: row 1502: expected 14 columns"),
])
def test_a_broken_booking_file_leaves_the_database_as_it_was(
        ws, imported_case: int, tmp_path: Path, make, named: str) -> None:
    before = _snapshot(ws)
    assert before["events"] >= 1
    with pytest.raises(BadInput) as exc:
        run_import(ws, imported_case, make(tmp_path),
                   options=ImportOptions(timezone="America/Toronto"))
    assert named in str(exc.value)
    assert _snapshot(ws) == before


def test_an_infinite_bond_is_stored_as_written_not_dropped(ws, imported_case: int,
                                                            tmp_path: Path) -> None:
    # JSON has no infinity: stored as a number it would come back empty.
    path = _workbook(tmp_path / "infinite_bond.xlsx",
                     [HEADER, _row(Booking_Number="24-0004", Bond_Amount=_PLACEHOLDER)], "1E+400")
    run_import(ws, imported_case, path, options=ImportOptions(timezone="America/Toronto"))
    [stored] = [e for e in ws.list_events(imported_case, limit=None)
                if e.title == "Booking 24-0004"]
    assert stored.properties["charges"][0]["bond_amount"] == "inf"


def test_an_age_in_superscript_digits_is_imported_as_written(ws, imported_case: int,
                                                               tmp_path: Path) -> None:
    path = _csv(tmp_path / "superscript_age.csv", [*GOOD, _row(Booking_Number="24-0003",
                                                               Age="\u00b2")])
    result = run_import(ws, imported_case, path, options=ImportOptions(timezone="America/Toronto"))
    assert (result.events, result.errors) == (3, ())
    ages = {e.title: e.properties.get("age") for e in ws.list_events(imported_case, limit=None)}
    assert (ages["Booking 24-0002"], ages["Booking 24-0003"]) == (33, "\u00b2")


# --------------------------------------------------------------------- WhatsApp calendars

WA = WhatsAppParser()


def _fa(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def _ar(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


def _chat(path: Path, text: str, **options: object) -> list[Record]:
    """The records of a chat export, checking the contract on the way."""
    path.write_text(text, encoding="utf-8")
    records = list(WA.parse(path, ImportOptions(**options)))  # type: ignore[arg-type]
    for r in records:
        assert isinstance(r, (ParsedEvent, RowError)), r
        if isinstance(r, RowError):
            assert re.fullmatch(r"line \d+", r.ref), r
    return records


@pytest.mark.parametrize(("text", "bad_line", "why"), [
    (_ar("1/2/1342، 10:00 - Huda: x\n"), 1, "1343-1500"),  # before the Umm al-Qura tables
    (_ar("1/2/1501، 10:00 - Huda: x\n"), 1, "1343-1500"),  # and after them
    (_ar("1/2/1445، 10:00 - Huda: x\n1/0/1445، 10:00 - Huda: y\n"), 2, "month"),
    (_ar("30/1/1445، 10:00 - Huda: x\n"), 1, "day"),      # Muharram 1445 had 29 days
    (_fa("1402/0/1، 10:00 - Dara: x\n"), 1, "month"),
    (_fa("1402/1/32، 10:00 - Dara: x\n"), 1, "day"),
    (_fa("1402/1/1، 10:00 - Dara: x\n1402/1/0، 10:00 - Dara: y\n"), 2, "day"),
])
def test_impossible_dates_in_a_decided_calendar_are_row_errors_saying_why(
        tmp_path: Path, text: str, bad_line: int, why: str) -> None:
    records = _chat(tmp_path / "chat.txt", text)
    errors = [r for r in records if isinstance(r, RowError)]
    assert [(e.ref, e.field) for e in errors] == [(f"line {bad_line}", "date")]
    assert "impossible date" in errors[0].message and why in errors[0].message


def test_jalali_years_at_both_ends_of_the_era_range_are_read(tmp_path: Path) -> None:
    records = _chat(tmp_path / "chat.txt",
                    _fa("1599/1/1، 10:00 - Dara: x\n1300/1/1، 10:00 - Dara: y\n"))
    assert [(r.occurred_at.year, r.properties["calendar"]) for r in records] == [
        (2220, "jalali"), (1921, "jalali")]


@pytest.mark.parametrize(("header", "line", "why"), [
    ("1/2/1300, 10:00 - Omar: x", 1, "1343-1500"),  # Jalali 1921, before WhatsApp
    ("1/2/1599, 10:00 - Omar: x", 1, "1343-1500"),  # Jalali 2220, in the future
    ("1343/1/1, 10:00 - Omar: x", 1, "before WhatsApp existed"),  # Hijri 1924, Jalali 1964
    ("1402/6/1, 10:00 - Omar: x\n1445/13/1, 10:00 - Omar: y", 2, "month"),
])
def test_a_calendar_no_date_fits_is_refused_naming_the_line(
        tmp_path: Path, header: str, line: int, why: str) -> None:
    path = tmp_path / "chat.txt"
    with pytest.raises(ParseError) as err:
        _chat(path, header + "\n")
    assert (err.value.file, err.value.ref, err.value.field) == (str(path), f"line {line}", "date")
    message = err.value.message
    assert "Jalali" in message and "Hijri" in message and why in message


@pytest.mark.parametrize(("year", "calendar"), [
    ("0", None), ("00", None), ("99", None), ("1299", None), ("1600", None),
    ("2400", "buddhist"), ("9999", "buddhist")])
def test_years_outside_the_calendar_range_are_read_by_their_range(
        tmp_path: Path, year: str, calendar: str | None) -> None:
    records = _chat(tmp_path / "chat.txt", f"31/12/{year}, 23:59 - Omar: x\n")
    [event] = records
    assert isinstance(event, ParsedEvent) and event.properties.get("calendar") == calendar
    assert (event.occurred_at.month, event.occurred_at.day) == (12, 31)


_DIGITS = {"latin": "0123456789", "persian": "۰۱۲۳۴۵۶۷۸۹", "arabic": "٠١٢٣٤٥٦٧٨٩",
           "devanagari": "०१२३४५६७८९", "fullwidth": "０１２３４５６７８９"}


@st.composite
def _header_line(draw: st.DrawFn) -> str:
    year = draw(st.sampled_from([0, 1, 23, 99, 1299, 1300, 1342, 1343, 1387, 1402, 1403,
                                 1429, 1445, 1500, 1501, 1599, 1600, 2009, 2024, 2400, 2567,
                                 9999]))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    year_first = draw(st.booleans())
    sep = draw(st.sampled_from("./-"))
    date = (f"{year}{sep}{month}{sep}{day}" if year_first
            else f"{day}{sep}{month}{sep}{year}")
    if draw(st.booleans()):
        date = date.translate(str.maketrans("0123456789", draw(st.sampled_from(
            list(_DIGITS.values())))))
    era = draw(st.sampled_from(["", " هـ"]))
    clock = f"{draw(st.integers(0, 25))}:{draw(st.integers(0, 60)):02d}"
    marker = draw(st.sampled_from(["", " AM", " PM", " ق.ظ.", " ب.ظ.", " ص", " م"]))
    mark = draw(st.sampled_from(["", "\u200e", "\u200f", "\u202e", "\x00"]))
    name = draw(st.sampled_from(["Dara", "Sima", "~ Omar", "+44 7700 900123"]))
    if draw(st.booleans()):
        return f"{mark}[{date}{era}، {clock}{marker}] {name}: x"
    return f"{mark}{date}{era}, {clock}{marker} - {name}: x"


@FUZZ
@given(lines=st.lists(_header_line(), min_size=1, max_size=6),
       calendar=st.sampled_from([None, "jalali", "hijri", "gregorian"]))
def test_any_header_dates_give_messages_row_errors_or_a_named_refusal(
        tmp_path: Path, lines: list[str], calendar: str | None) -> None:
    path = tmp_path / "chat.txt"
    try:
        records = _chat(path, "\n".join(lines) + "\n",
                        profile={"calendar": calendar} if calendar else None)
    except ParseError as exc:
        assert exc.file == str(path)
        # A calendar chosen in the profile is never second-guessed.
        assert calendar is None or "cannot tell the calendar" not in exc.message
        return
    for r in records:
        if isinstance(r, RowError):  # a first line that a stray character kept from a header
            assert (r.field == "date" and "impossible date" in r.message) or (
                r.field is None and "before the first WhatsApp message header" in r.message)
        else:
            assert isinstance(r.occurred_at, datetime)


@FUZZ
@given(raw=st.binary(max_size=600))
def test_random_bytes_are_no_chat_or_a_chat(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "random.txt"
    path.write_bytes(raw)
    try:
        records = list(WA.parse(path, ImportOptions()))
    except ParseError as exc:
        assert exc.file is not None and str(path) in exc.file
        return
    assert all(isinstance(r, (ParsedEvent, RowError)) for r in records)


MEGA = 1 << 20
HEAD = "1/2/23, 10:00 - Ann: "


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("text", "messages"), [
    (HEAD + "hi\n" + "\u200e" * MEGA + "x\n", 1),            # a line of bidi marks
    ("\u200f" * MEGA + "[" + "\u200e" * MEGA + "x\n" + HEAD + "hi\n", 1),
    (HEAD + "a" + " " * MEGA + "x <edited>\n", 1),           # looks like an edit marker
    (HEAD + "a" + "\u200e" * MEGA + "x >\n", 1),
    (HEAD + "maps.google.com/?q=1" * (MEGA // 20) + "\n", 1),  # a location link, again
    (HEAD + "maps.google.com" * (MEGA // 15) + "\n", 1),
    (HEAD + "https://maps.google.com/?" + "hl=en&" * (MEGA // 6) + "q=1\n", 1),
])
def test_a_megabyte_line_is_read_in_linear_time(tmp_path: Path, text: str,
                                                messages: int) -> None:
    records = _chat(tmp_path / "chat.txt", text)
    assert sum(isinstance(r, ParsedEvent) for r in records) == messages


def test_location_after_many_parameters_is_still_found(tmp_path: Path) -> None:
    text = HEAD + "https://maps.google.com/maps?hl=en&z=15&t=m&q=45.4215,-75.6972\n"
    [event] = _chat(tmp_path / "chat.txt", text)
    assert event.properties["location"] == {"latitude": 45.4215, "longitude": -75.6972}


def test_edited_marker_after_spaces_and_marks_is_removed(tmp_path: Path) -> None:
    text = HEAD + "see you at 8 \u200e  <This message was edited>\n"
    [event] = _chat(tmp_path / "chat.txt", text)
    assert (event.body, event.properties.get("edited")) == ("see you at 8", True)


def test_a_refused_calendar_leaves_the_database_as_it_was(ws, tmp_path: Path) -> None:
    case_id = ws.create_case("HX-2", "Hostile chats", timezone="Asia/Tehran").id
    before = _snapshot(ws)
    path = tmp_path / "WhatsApp Chat with Omar.txt"
    path.write_text("1/2/1300, 10:00 - Omar: x\n1/3/1300, 10:00 - Dara: y\n", encoding="utf-8")
    with pytest.raises(BadInput, match="line 1"):
        run_import(ws, case_id, path, options=ImportOptions(timezone="Asia/Tehran"))
    assert _snapshot(ws) == before


# --------------------------------------------------------------------- shared table reading


@pytest.mark.timeout(20)
def test_long_runs_in_date_cells_and_headers_do_not_stall_the_reader(tmp_path: Path) -> None:
    from workstation.ingest.tabular import DateReader, guess_profile

    # A time cell padded with a hundred thousand spaces, a header of colons: both once took
    # minutes (patterns that backtrack over the run); now a clear error / a plain guess.
    with pytest.raises(ValueError):
        DateReader().parse("03/02/2024", "1430" + " " * 100_000 + "hrs")
    with pytest.raises(ValueError):
        DateReader().parse("1" + " " * 100_000 + "x")
    profile = guess_profile(["Booking Number", "Name", "Statute" + ":" * 100_000, "Booking Date"],
                            "booking")
    assert profile is not None and profile.columns["booking_number"] == "Booking Number"
    assert guess_profile(["Booking No:", "Name", "DOB (DD/MM/YYYY)", "Charge [text]"],
                         "booking").columns == {
        "booking_number": "Booking No:", "full_name": "Name", "dob": "DOB (DD/MM/YYYY)",
        "charges": "Charge [text]"}


def test_a_header_written_twice_or_left_empty_loses_no_cell(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("Booking Number,Name,Booking Date,Note,Note,,Statute,Statute\n"
                    'N-1,"TESTPERSON, ALEX",2024-03-02 09:30,first,second,unnamed,ORC 1,ORC 2\n',
                    encoding="utf-8")
    (booking,) = [r for r in read_bookings(path) if isinstance(r, ParsedEvent)]
    other = booking.properties["other_columns"]
    assert (other["Note"], other["Note (2)"], other["column 6"]) == ("first", "second", "unnamed")
    statutes = [booking.properties["charges"][0].get("statute"), other.get("Statute (2)")]
    assert statutes == ["ORC 1", "ORC 2"]
