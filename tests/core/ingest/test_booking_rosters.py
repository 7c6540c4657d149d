"""Jail rosters, booking logs and arrest reports as agencies' systems export them.

Every sample is made up here (synthetic names, example addresses, made-up ORI codes);
most go through the real pipeline into an encrypted case database and are read back.
"""

from __future__ import annotations

import tracemalloc
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from workstation.errors import BadInput
from workstation.ingest.booking.table import MAX_ROWS_PER_BOOKING, read_bookings
from workstation.ingest.pipeline import detect, run_import
from workstation.ingest.records import ImportOptions, ParsedEvent, Record, RowError
from workstation.ingest.tabular import ReadStats

TORONTO = ZoneInfo("America/Toronto")
OPTIONS = ImportOptions(timezone="America/Toronto")


@pytest.fixture
def case_id(ws) -> int:
    return ws.create_case("BK-1", "Booking lists", timezone="America/Toronto").id


def _csv(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _xlsx(tmp_path: Path, name: str, rows: list[list]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    sheet = wb.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


def _bookings(records: list[Record]) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent) and r.kind == "booking"]


def _errors(records: list[Record]) -> list[tuple[str, str | None]]:
    return [(r.ref, r.field) for r in records if isinstance(r, RowError)]


def _snapshot(ws) -> dict:
    return {**ws.counts(), "audit": ws.audit.verify().entries}


def _events(ws, case_id: int, kind: str) -> list:
    return [e for e in ws.list_events(case_id, limit=None) if e.kind == kind]


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TORONTO)


# --------------------------------------------------------------------- one row per charge

PER_CHARGE = [
    "Booking Number,Name,DOB,Booking Date,Booking Time,Statute,Charge Description,Degree,"
    "Bond Amount,Bond Type,Case Number,Disposition,Housing Unit",
    '24-0101,"TESTPERSON, ALEX",04/01/1990,03/02/2024,2340,ORC 2911.12,BURGLARY,F2,'
    '"$25,000.00",SURETY,CR-24-1001,PENDING,B-POD',
    '24-0101,"TESTPERSON, ALEX",04/01/1990,03/02/2024,2340,ORC 2913.02,THEFT,M1,'
    '"$2,500.00",CASH,CR-24-1001,,B-POD',
    '24-0101,"TESTPERSON, ALEX",04/01/1990,03/02/2024,2340,ORC 2909.06,CRIMINAL DAMAGING,M2,'
    'NO BOND,,CR-24-1002,DISMISSED,C-POD',
    '24-0102,"EXAMPLESSON, JORDAN",05/31/1985,03/03/2024,0815,ORC 4511.19,OVI,M1,'
    '"1,000",CASH,TR-24-77,,A-POD',
]


def test_one_row_per_charge_is_one_booking_with_every_charge(ws, case_id, tmp_path: Path) -> None:
    path = _csv(tmp_path, "charges.csv", PER_CHARGE)
    first, second = _bookings(list(read_bookings(path, options=OPTIONS)))
    assert (first.ref, second.ref) == ("rows 2-4", "row 5")
    assert first.properties["charges"] == [
        {"description": "BURGLARY", "statute": "ORC 2911.12", "severity": "F2",
         "bond_amount": "25000.00", "bond_type": "SURETY", "court_case": "CR-24-1001",
         "disposition": "PENDING", "level": "felony"},
        {"description": "THEFT", "statute": "ORC 2913.02", "severity": "M1",
         "bond_amount": "2500.00", "bond_type": "CASH", "court_case": "CR-24-1001",
         "level": "misdemeanor"},
        {"description": "CRIMINAL DAMAGING", "statute": "ORC 2909.06", "severity": "M2",
         "bond_amount": "NO BOND", "court_case": "CR-24-1002", "disposition": "DISMISSED",
         "level": "misdemeanor"}]
    assert first.properties["level"] == "felony"  # the most serious charge
    # A column nobody knows is kept, and so is a value that changes between the rows.
    assert first.properties["other_columns"] == {"Housing Unit": "B-POD"}
    assert first.properties["varying"] == {"Housing Unit": ["C-POD"]}

    result = run_import(ws, case_id, path, options=OPTIONS)
    assert (result.events, result.skipped, result.errors) == (2, 0, ())
    stored = _events(ws, case_id, "booking")
    assert [(e.title, e.source_ref, len(e.properties["charges"])) for e in stored] == [
        ("Booking 24-0101", "rows 2-4", 3), ("Booking 24-0102", "row 5", 1)]
    assert stored[0].occurred_at == _local(2024, 3, 2, 23, 40)
    assert stored[0].properties["charges"][1]["statute"] == "ORC 2913.02"
    people = {p.label: p.properties for p in ws.list_entities(case_id, kind="person")}
    assert people == {"ALEX TESTPERSON": {"dob": "1990-04-01"},
                      "JORDAN EXAMPLESSON": {"dob": "1985-05-31"}}


def test_report_style_rows_print_the_person_once(tmp_path: Path) -> None:
    path = _csv(tmp_path, "report.csv", [
        "Booking #,Inmate Name,Booking Date,Charge,Statute",
        'B-7,"SAMPLE, ROBIN",2024-03-05 10:00,Assault,PC 240',
        ",,,Battery,PC 242",
        ",,,Vandalism,PC 594",
        'B-8,"PLACEHOLDER, JAMIE",2024-03-05 11:00,Trespass,PC 602',
    ])
    records = list(read_bookings(path))
    assert _errors(records) == []
    first, second = _bookings(records)
    assert first.ref == "rows 2-4"
    assert [(c["description"], c["statute"]) for c in first.properties["charges"]] == [
        ("Assault", "PC 240"), ("Battery", "PC 242"), ("Vandalism", "PC 594")]
    assert second.parties[0].label == "JAMIE PLACEHOLDER"


def test_charges_listed_in_one_cell_are_paired_with_their_statutes(tmp_path: Path) -> None:
    path = _csv(tmp_path, "one_row.csv", [
        "Booking Number,Last Name,First Name,Booking Date,Charges,Statute,Bond,Cell",
        "C-1,Testperson,Alex,2024-03-01,Theft; Burglary,2913.02; 2911.12,500; 10000,4B",
        "C-2,Sample,Robin,2024-03-01,Possession; intent to sell,2925.11,2500,",
    ])
    first, second = _bookings(list(read_bookings(path)))
    assert first.properties["charges"] == [
        {"description": "Theft", "statute": "2913.02", "bond_amount": "500"},
        {"description": "Burglary", "statute": "2911.12", "bond_amount": "10000"}]
    # "Cell" is no header we know: kept as written with the booking.
    assert first.properties["other_columns"] == {"Cell": "4B"}
    # One statute for what reads as two charges: one charge, as written.
    assert second.properties["charges"] == [
        {"description": "Possession; intent to sell", "statute": "2925.11",
         "bond_amount": "2500"}]


def test_booking_number_listed_again_later_is_kept_and_marked(ws, case_id, tmp_path: Path) -> None:
    path = _csv(tmp_path, "unsorted.csv", [
        "Booking Number,Last Name,First Name,DOB,Booking Date,Charge",
        "B-1,Testperson,Alex,1990-04-01,2024-03-01,Theft",
        "B-1,Testperson,Alex,1990-04-01,2024-03-01,Fraud",
        "B-2,Sample,Robin,1985-05-31,2024-03-01,Trespass",
        "B-1,Testperson,Alex,1990-04-01,2024-03-01,Forgery",
    ])
    bookings = _bookings(list(read_bookings(path)))
    assert [(b.title, b.ref, b.properties.get("listed_again")) for b in bookings] == [
        ("Booking B-1", "rows 2-3", None), ("Booking B-2", "row 4", None),
        ("Booking B-1 (listed again)", "row 5", True)]
    assert sum(len(b.properties["charges"]) for b in bookings) == 4  # none dropped

    run_import(ws, case_id, path, options=OPTIONS)
    assert len(_events(ws, case_id, "booking")) == 3
    assert sorted(p.label for p in ws.list_entities(case_id, kind="person")) == [
        "Alex Testperson", "Robin Sample"]


def test_same_number_for_another_person_is_another_booking(tmp_path: Path) -> None:
    path = _csv(tmp_path, "clash.csv", [
        "Booking Number,Name,DOB,Booking Date,Charge",
        '7,"TESTPERSON, ALEX",1990-04-01,2024-03-01,Theft',
        '7,"SAMPLE, ROBIN",1985-05-31,2024-03-01,Fraud',
        '7,"SAMPLE, ROBIN",1985-05-31,2024-03-02,Fraud',
    ])
    bookings = _bookings(list(read_bookings(path)))
    assert [(b.ref, b.parties[0].label) for b in bookings] == [
        ("row 2", "ALEX TESTPERSON"), ("row 3", "ROBIN SAMPLE"), ("row 4", "ROBIN SAMPLE")]
    assert [b.properties.get("listed_again") for b in bookings] == [None, True, True]


def test_a_booking_longer_than_the_limit_is_cut_into_marked_parts(tmp_path: Path) -> None:
    rows = MAX_ROWS_PER_BOOKING + 5
    path = _csv(tmp_path, "long.csv", ["Booking Number,Name,Booking Date,Charge"] + [
        f'L-1,"TESTPERSON, ALEX",2024-03-01,Count {i}' for i in range(rows)])
    bookings = _bookings(list(read_bookings(path)))
    assert [len(b.properties["charges"]) for b in bookings] == [MAX_ROWS_PER_BOOKING, 5]
    assert bookings[1].title == "Booking L-1 (listed again)"


def _roster(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Booking Number,Name,DOB,Booking Date,Booking Time,Statute,Charge,Bond\n")
        for i in range(rows):
            fh.write(f'{i // 3},"TESTPERSON{i // 3}, ALEX",04/21/1990,03/25/2024,1430,'
                     f'ORC {i},Charge {i},500\n')
    return path


def _peak_while_streaming(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for r in read_bookings(path) if isinstance(r, ParsedEvent))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_list_grows(tmp_path: Path) -> None:
    small_count, small_peak = _peak_while_streaming(_roster(tmp_path / "small.csv", 2_000))
    big_count, big_peak = _peak_while_streaming(_roster(tmp_path / "big.csv", 20_000))
    assert (small_count, big_count) == (667, 6_667)
    # 18,000 more rows, under 1 MB more at the peak: nothing is kept per row or booking.
    assert big_peak - small_peak < 1_000_000, (small_peak, big_peak)


# --------------------------------------------------------------------- names, ages, people


def test_name_forms_with_suffixes(tmp_path: Path) -> None:
    path = _csv(tmp_path, "names.csv", [
        "Booking Number,Name,Booking Date",
        'N-1,"TESTPERSON JR, ALEX B",2024-03-01',
        'N-2,"Sample, Robin Q III",2024-03-01',
        "N-3,Casey Q Example Jr.,2024-03-01",
        'N-4,"Jordan Placeholder, Sr.",2024-03-01',
        "N-5,Maria de la Testa,2024-03-01",
    ])
    people = [b.parties[0] for b in _bookings(list(read_bookings(path)))]
    assert [(p.value, p.label, p.properties.get("suffix")) for p in people] == [
        ("TESTPERSON, ALEX B JR", "ALEX TESTPERSON JR", "JR"),
        ("Sample, Robin Q III", "Robin Sample III", "III"),
        ("Example, Casey Q Jr", "Casey Example Jr", "Jr"),
        ("Placeholder, Jordan Sr", "Jordan Placeholder Sr", "Sr"),
        ("de la Testa, Maria", "Maria de la Testa", None)]


def test_separate_name_columns_with_a_suffix_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "split.csv", [
        "Booking No,Last Name,First Name,Middle Name,Suffix,Booking Date",
        "S-1,Testperson,Alex,Bo,II,2024-03-01",
        "S-2,Sample Jr,Robin,,,2024-03-01",
    ])
    people = [b.parties[0] for b in _bookings(list(read_bookings(path)))]
    assert [(p.value, p.label, p.properties["suffix"]) for p in people] == [
        ("Testperson, Alex Bo II", "Alex Testperson II", "II"),
        ("Sample, Robin Jr", "Robin Sample Jr", "Jr")]


def test_age_without_date_of_birth_is_kept_and_no_birth_date_invented(
        ws, case_id, tmp_path: Path) -> None:
    path = _csv(tmp_path, "ages.csv", [
        "Booking Number,Name,Age,Booking Date,Charge",
        'A-1,"TESTPERSON, ALEX",34,03/01/2024,Theft',
    ])
    run_import(ws, case_id, path, options=OPTIONS)
    (person,) = ws.list_entities(case_id, kind="person")
    assert person.properties == {"age": 34}
    (booking,) = _events(ws, case_id, "booking")
    assert booking.properties["age"] == 34


def test_codes_and_physical_description_are_person_properties(ws, case_id, tmp_path: Path) -> None:
    path = _csv(tmp_path, "roster.csv", [
        "Booking Number,Last Name,First Name,DOB,Sex,Race,Height,Weight (lbs),Hair,Eyes,"
        "Booking Date",
        "R-1,Testperson,Alex,1990-04-01,M,W,5'10\",180,BRO,BLU,2024-03-01",
        "R-2,Sample,Robin,1985-05-31,F,B,504,125,BLK,BRO,2024-03-01",
        "R-3,Placeholder,Jamie,1979-12-31,U,H,,,,,2024-03-01",
        "R-4,Examplesson,Jordan,2001-07-04,M,A,6'01\",210,RED,GRN,2024-03-01",
    ])
    result = run_import(ws, case_id, path, options=OPTIONS)
    assert result.errors == ()
    people = {p.label: dict(p.properties) for p in ws.list_entities(case_id, kind="person")}
    assert people == {
        "Alex Testperson": {"dob": "1990-04-01", "sex": "M", "race": "W", "height": "5'10\"",
                            "weight": "180 lbs", "hair": "BRO", "eyes": "BLU"},
        "Robin Sample": {"dob": "1985-05-31", "sex": "F", "race": "B", "height": "504",
                         "weight": "125 lbs", "hair": "BLK", "eyes": "BRO"},
        "Jamie Placeholder": {"dob": "1979-12-31", "sex": "U", "race": "H"},
        "Jordan Examplesson": {"dob": "2001-07-04", "sex": "M", "race": "A", "height": "6'01\"",
                               "weight": "210 lbs", "hair": "RED", "eyes": "GRN"},
    }


def test_namesakes_with_different_birth_dates_are_two_people(ws, case_id, tmp_path: Path) -> None:
    path = _csv(tmp_path, "namesakes.csv", [
        "Booking Number,Name,DOB,Booking Date",
        'D-1,"TESTPERSON, ALEX",1990-04-01,2024-03-01',
        'D-2,"TESTPERSON, ALEX",1961-11-23,2024-03-02',
    ])
    run_import(ws, case_id, path, options=OPTIONS)
    assert sorted(p.properties["dob"] for p in ws.list_entities(case_id, kind="person")) == [
        "1961-11-23", "1990-04-01"]


def test_a_namesakes_address_links_to_the_person_with_that_birth_date(ws, case_id, tmp_path: Path) -> None:
    path = _csv(tmp_path, "namesakes_addresses.csv", [
        "Booking Number,Name,DOB,Booking Date,Address,City",
        'E-1,"TESTPERSON, ALEX",,2024-03-01,1 First Example St,Springfield',
        'E-2,"TESTPERSON, ALEX",1961-11-23,2024-03-02,2 Second Example Ave,Testville',
    ])
    run_import(ws, case_id, path, options=OPTIONS)
    people = {p.properties.get("dob"): p.id for p in ws.list_entities(case_id, kind="person")}
    addresses = {a.id: a.label for a in ws.list_entities(case_id, kind="address")}
    lived = {(link.src_id, addresses[link.dst_id]) for link in ws.list_links(case_id=case_id)
             if link.kind == "resides_at"}
    assert lived == {(people[None], "1 First Example St, Springfield"),
                     (people["1961-11-23"], "2 Second Example Ave, Testville")}


# --------------------------------------------------------------------- dates and times


def test_booking_date_and_time_in_separate_columns_in_any_writing(tmp_path: Path) -> None:
    path = _csv(tmp_path, "times.csv", [
        "Booking Number,Name,Booking Date,Booking Time,Arrest Date,Arrest Time",
        'T-1,"A, B",03/02/2024,1430,03/02/2024,0930',
        'T-2,"A, B",03/02/2024,14:30,03/02/2024,9:05 AM',
        'T-3,"A, B",03/02/2024,2:30 PM,03/02/2024,930',
        'T-4,"A, B",2024-03-02,1430 hrs,2024-03-02,09:30:15',
        'T-5,"A, B",45353,14:30,,',
    ])
    records = list(read_bookings(path))
    assert _errors(records) == []
    bookings = _bookings(records)
    assert [b.occurred_at for b in bookings] == [datetime(2024, 3, 2, 14, 30)] * 5
    assert [b.properties.get("arrest_time") for b in bookings] == [
        "2024-03-02T09:30:00", "2024-03-02T09:05:00", "2024-03-02T09:30:00",
        "2024-03-02T09:30:15", None]


@pytest.mark.parametrize("later,first_booking", [
    ("25/03/2024", datetime(2024, 2, 1)),   # a day above 12 first: the file is day-first
    ("03/25/2024", datetime(2024, 1, 2)),   # a month-first file
])
def test_day_or_month_first_is_decided_by_the_file(tmp_path: Path, later: str,
                                                   first_booking: datetime) -> None:
    path = _csv(tmp_path, "order.csv", [
        "Booking Number,Name,Booking Date",
        'O-1,"A, B",01/02/2024',
        'O-2,"A, B",04/03/2024',
        f'O-3,"A, B",{later}',
    ])
    bookings = _bookings(list(read_bookings(path)))
    assert bookings[0].occurred_at == first_booking
    assert bookings[2].occurred_at == datetime(2024, 3, 25)


def test_uk_custody_export_reads_day_first_without_a_telling_date(tmp_path: Path) -> None:
    path = _csv(tmp_path, "custody.csv", [
        "Custody Number,Surname,Forenames,Date of Birth,Custody Date,Custody Time,Offence,"
        "Force,Postcode",
        "CUS/0001/24,TESTPERSON,ALEX BO,01/04/1990,02/03/2024,21:15,Theft from shop,"
        "Example Constabulary,ZZ1 1ZZ",
    ])
    (booking,) = _bookings(list(read_bookings(path, options=ImportOptions(default_region="GB"))))
    assert booking.occurred_at == datetime(2024, 3, 2, 21, 15)
    assert booking.parties[0].properties["dob"] == "1990-04-01"
    roles = {p.role: p.value for p in booking.parties}
    assert roles["arresting_agency"] == "Example Constabulary"
    assert roles["address_of_record"] == "ZZ1 1ZZ"


def test_plain_date_and_time_of_a_booking_log(tmp_path: Path) -> None:
    path = _csv(tmp_path, "log.csv", [
        "Booking #,Name,Date,Time,Charge",
        'G-1,"TESTPERSON, ALEX",2024-03-01,2215,Theft',
    ])
    (booking,) = _bookings(list(read_bookings(path)))
    assert booking.occurred_at == datetime(2024, 3, 1, 22, 15)


def test_release_columns_that_say_the_person_is_still_held(tmp_path: Path) -> None:
    path = _csv(tmp_path, "release.csv", [
        "Booking Number,Name,Booking Date,Release Date,Release Time",
        'R-1,"A, B",2024-03-01,N/A,N/A',
        'R-2,"A, B",2024-03-01,In custody,',
        'R-3,"A, B",2024-03-01,Still in custody,',
        'R-4,"A, B",2024-03-01,,',
        'R-5,"A, B",2024-03-01,IN-CUSTODY,--',
        'R-6,"A, B",2024-03-01,00/00/0000,',
        'R-7,"A, B",2024-03-01,2024-03-04,0800',
    ])
    records = list(read_bookings(path))
    assert _errors(records) == []
    releases = [r for r in records if isinstance(r, ParsedEvent) and r.kind == "release"]
    assert [(r.ref, r.occurred_at) for r in releases] == [("row 8 (release)",
                                                          datetime(2024, 3, 4, 8, 0))]
    assert [b.properties.get("custody_status") for b in _bookings(records)] == [
        None, "In custody", "Still in custody", None, "IN-CUSTODY", None, None]


def test_xlsx_with_title_rows_serial_dates_and_a_totals_line(ws, case_id, tmp_path: Path) -> None:
    from openpyxl.utils.datetime import to_excel

    path = _xlsx(tmp_path, "roster.xlsx", [
        ["EXAMPLE COUNTY SHERIFF'S OFFICE"],
        ["Daily Booking Report", None, None, None, None],
        ["Run date:", datetime(2024, 3, 3, 6, 0)],
        [],
        ["Booking #", "Last Name", "First Name", "DOB", "Booking Date", "Booking Time",
         "Charge", "Release Date", None, None],
        ["X-1", "Testperson", "Alex", int(to_excel(date(1990, 4, 1))),
         datetime(2024, 3, 2), time(23, 40), "Burglary", "In Custody"],
        ["X-1", "Testperson", "Alex", int(to_excel(date(1990, 4, 1))),
         datetime(2024, 3, 2), time(23, 40), "Theft", "In Custody"],
        ["X-2", "Sample", "Robin", datetime(1985, 5, 31), to_excel(datetime(2024, 3, 3, 1, 5)),
         None, "Trespass", int(to_excel(date(2024, 3, 4)))],
        ["X-3", "Placeholder", "Jamie", None, int(to_excel(date(2024, 3, 3))), 1430,
         "Loitering", "N/A"],
        [],
        ["Total Bookings: 3", None, None, None, None, None, None, None],
    ])
    assert detect(path).format == "booking_table"
    stats = ReadStats()
    assert _errors(list(read_bookings(path, stats=stats))) == []
    assert stats.skipped["report line"] == 1

    result = run_import(ws, case_id, path, options=OPTIONS)
    assert (result.events, result.errors) == (4, ())  # 3 bookings, 1 release
    bookings = _events(ws, case_id, "booking")
    assert [(b.title, b.occurred_at) for b in bookings] == [
        ("Booking X-1", _local(2024, 3, 2, 23, 40)), ("Booking X-2", _local(2024, 3, 3, 1, 5)),
        ("Booking X-3", _local(2024, 3, 3, 14, 30))]
    assert [c["description"] for c in bookings[0].properties["charges"]] == ["Burglary", "Theft"]
    (release,) = _events(ws, case_id, "release")
    assert release.occurred_at == _local(2024, 3, 4)
    people = {p.label: p.properties.get("dob") for p in ws.list_entities(case_id, kind="person")}
    assert people == {"Alex Testperson": "1990-04-01", "Robin Sample": "1985-05-31",
                      "Jamie Placeholder": None}


# --------------------------------------------------------------------- agencies, officers


ARREST_REPORT = [
    "EXAMPLE CITY POLICE DEPARTMENT",
    "Arrest Report - 03/01/2024 to 03/07/2024",
    "",
    "Arrest No,Arrestee Name,Arrest Date,Arrest Time,Offense,Agency,ORI,Arresting Officer,"
    "Badge,Street,City,State,Zip,,,",
    'A-1,"TESTPERSON, ALEX",03/01/2024,2215,Theft,Example City PD,ZZ0420000,'
    '"SAMPLE, J",4521,12 Example Ave,Springfield,ZZ,00002,,,',
    'A-2,"SAMPLE, ROBIN",03/02/2024,0105,Trespass,,ZZ0420000,"SAMPLE, J #4521",,'
    ",,,,,,",
    'A-3,"PLACEHOLDER, JAMIE",03/02/2024,1830,Fraud,ZZ0990000,,Ofc. Example (77),,'
    "3 Sample Rd,Testville,ZZ,00003,,,",
    "",
    "Total Arrests: 3",
    "Page 1 of 1",
]


def test_arrest_report_with_header_lines_footer_and_trailing_columns(
        ws, case_id, tmp_path: Path) -> None:
    path = _csv(tmp_path, "arrests.csv", ARREST_REPORT)
    assert detect(path).format == "booking_table"
    result = run_import(ws, case_id, path, options=OPTIONS)
    assert (result.events, result.errors) == (3, ())
    bookings = _events(ws, case_id, "booking")
    assert [(b.title, b.occurred_at) for b in bookings] == [
        ("Booking A-1", _local(2024, 3, 1, 22, 15)), ("Booking A-2", _local(2024, 3, 2, 1, 5)),
        ("Booking A-3", _local(2024, 3, 2, 18, 30))]
    assert [(b.properties.get("agency"), b.properties.get("agency_ori")) for b in bookings] == [
        ("Example City PD", "ZZ0420000"), ("ORI ZZ0420000", "ZZ0420000"),
        ("ORI ZZ0990000", "ZZ0990000")]
    organisations = {o.label: o.properties for o in ws.list_entities(case_id, kind="organisation")}
    assert organisations == {"Example City PD": {"ori": "ZZ0420000"},
                             "ORI ZZ0420000": {"ori": "ZZ0420000"},
                             "ORI ZZ0990000": {"ori": "ZZ0990000"}}
    officers = {p.label: p.properties for p in ws.list_entities(case_id, kind="person")
                if "badge" in p.label}
    # The same officer whether the badge has its own column or follows the name.
    assert officers == {"SAMPLE, J (badge 4521)": {"badge": "4521"},
                        "Ofc. Example (badge 77)": {"badge": "77"}}
    addresses = sorted(a.label for a in ws.list_entities(case_id, kind="address"))
    assert addresses == ["12 Example Ave, Springfield, ZZ 00002", "3 Sample Rd, Testville, ZZ 00003"]
    ids = {e.label: e.id for e in ws.list_entities(case_id, limit=None)}
    links = {(lk.src_id, lk.dst_id, lk.kind) for lk in ws.list_links(case_id=case_id)}
    assert (ids["SAMPLE, J (badge 4521)"], ids["Example City PD"], "member_of") in links
    assert (ids["ALEX TESTPERSON"], ids["12 Example Ave, Springfield, ZZ 00002"],
            "resides_at") in links


def test_printed_report_repeats_its_title_and_header_on_each_page(tmp_path: Path) -> None:
    path = _csv(tmp_path, "printed.csv", [
        "EXAMPLE COUNTY SHERIFF'S OFFICE",
        "Booking Log",
        "Booking Number,Name,Booking Date,Charge",
        'P-1,"TESTPERSON, ALEX",2024-03-01 08:00,Theft',
        "Page 1 of 2",
        "EXAMPLE COUNTY SHERIFF'S OFFICE",
        "Booking Log",
        "Booking Number,Name,Booking Date,Charge",
        'P-2,"SAMPLE, ROBIN",2024-03-01 09:00,Fraud',
        "Page 2 of 2",
        "*** End of Report ***",
    ])
    stats = ReadStats()
    records = list(read_bookings(path, stats=stats))
    assert _errors(records) == []
    assert [b.title for b in _bookings(records)] == ["Booking P-1", "Booking P-2"]
    assert stats.skipped["report line"] == 5
    assert stats.skipped["repeated header line"] == 1


def test_a_line_that_is_neither_data_nor_the_report_s_own_is_an_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, "stray.csv", [
        "Booking Number,Name,Booking Date,Charge",
        'P-1,"TESTPERSON, ALEX",2024-03-01 08:00,Theft',
        "see attached supplement",
    ])
    assert _errors(list(read_bookings(path))) == [("row 3", None)]


def test_headers_that_state_a_format_unit_or_end_in_a_colon(tmp_path: Path) -> None:
    path = _csv(tmp_path, "notes.csv", [
        'Booking No:,"Name (Last, First)",DOB (DD/MM/YYYY),Booking Date (DD/MM/YYYY),'
        "Booking Time (24h),Charge*,Weight (kg)",
        'H-1,"TESTPERSON, ALEX",01/04/1990,02/03/2024,2340,Theft,82',
    ])
    (booking,) = _bookings(list(read_bookings(path)))
    assert booking.occurred_at == datetime(2024, 3, 2, 23, 40)
    assert booking.parties[0].properties == {"dob": "1990-04-01", "weight": "82 kg"}
    assert booking.properties["charges"] == [{"description": "Theft"}]


def test_rows_without_booking_numbers_group_by_person_and_booking_date(tmp_path: Path) -> None:
    path = _csv(tmp_path, "nonumbers.csv", [
        "Name,DOB,Booking Date,Charge",
        '"TESTPERSON, ALEX",1990-04-01,2024-03-01,Theft',
        '"TESTPERSON, ALEX",1990-04-01,2024-03-01,Fraud',
        '"TESTPERSON, ALEX",1990-04-01,2024-03-09,Trespass',
        '"SAMPLE, ROBIN",1985-05-31,2024-03-09,Trespass',
    ])
    bookings = _bookings(list(read_bookings(path)))
    assert [(b.ref, len(b.properties["charges"])) for b in bookings] == [
        ("rows 2-3", 2), ("row 4", 1), ("row 5", 1)]


# --------------------------------------------------------------------- bad rows


BAD = [
    "Booking Number,Name,Booking Date,Arrest Date,Charge",
    'B-1,"TESTPERSON, ALEX",2024-03-01,2024-02-29,Theft',
    'B-1,"TESTPERSON, ALEX",2024-03-01,2024-02-30,Fraud',
    "B-2,,2024-03-02,,Trespass",
    'B-3,"SAMPLE, ROBIN",2024-03-03,,Loitering',
]


def test_bad_row_in_a_booking_names_its_row_and_field_and_saves_nothing(
        ws, case_id, tmp_path: Path) -> None:
    path = _csv(tmp_path, "bad.csv", BAD)
    before = _snapshot(ws)
    with pytest.raises(BadInput) as exc:
        run_import(ws, case_id, path, options=OPTIONS)
    assert "bad.csv: row 3: field 'arrest_date'" in str(exc.value)
    assert _snapshot(ws) == before

    result = run_import(ws, case_id, path, options=OPTIONS, skip_bad_rows=True)
    assert [(e.row, e.field) for e in result.errors] == [("row 3", "arrest_date"),
                                                         ("row 4", "last_name")]
    stored = _events(ws, case_id, "booking")
    assert [(b.title, [c["description"] for c in b.properties["charges"]]) for b in stored] == [
        ("Booking B-1", ["Theft"]), ("Booking B-3", ["Loitering"])]


def test_broken_xlsx_booking_date_aborts_the_import(ws, case_id, tmp_path: Path) -> None:
    path = _xlsx(tmp_path, "broken.xlsx", [
        ["Booking #", "Name", "Booking Date", "Booking Time", "Charge"],
        ["K-1", "TESTPERSON, ALEX", datetime(2024, 3, 1), time(8, 0), "Theft"],
        ["K-2", "SAMPLE, ROBIN", "31/31/2024", "0800", "Fraud"],
    ])
    before = _snapshot(ws)
    with pytest.raises(BadInput) as exc:
        run_import(ws, case_id, path, options=OPTIONS)
    assert "broken.xlsx: row 3: field 'booking_date'" in str(exc.value)
    assert _snapshot(ws) == before


def test_a_broken_line_between_the_rows_is_still_an_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, "ragged.csv", [
        "Booking Number,Name,Booking Date,Charge",
        'B-1,"TESTPERSON, ALEX",2024-03-01,Theft',
        "B-1,oops",
        'B-2,"SAMPLE, ROBIN",2024-03-02,Fraud',
    ])
    records = list(read_bookings(path))
    assert _errors(records) == [("row 3", None)]
    assert [b.ref for b in _bookings(records)] == ["row 2", "row 4"]


# --------------------------------------------------------------------- profiles and workbooks


def _without_dimension(path: Path) -> None:
    """Rewrite a workbook as producers that omit the sheet's <dimension> element do: its
    rows then end at their last filled cell."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as zin:
        parts = {name: zin.read(name) for name in zin.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet], n = re.subn(rb"<dimension [^>]*/>", b"", parts[sheet])
    assert n == 1
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)


def test_workbook_without_dimension_gives_rows_ending_at_their_last_filled_cell(
        ws, case_id, tmp_path: Path) -> None:
    path = _xlsx(tmp_path, "ragged.xlsx", [
        ["Booking Number", "Name", "Booking Date", "Charge", "Release Date"],
        ["R-1", "TESTPERSON, ALEX", datetime(2024, 3, 2, 9, 30), "Theft", datetime(2024, 3, 3, 10, 0)],
        ["R-2", "SAMPLE, ROBIN", datetime(2024, 3, 2, 11, 0), "Trespass"],
        ["R-3", "PLACEHOLDER, JAMIE", datetime(2024, 3, 2, 12, 15)],
    ])
    _without_dimension(path)

    result = run_import(ws, case_id, path, options=OPTIONS)
    assert (result.events, result.errors) == (4, ())  # 3 bookings, 1 release
    bookings = _events(ws, case_id, "booking")
    assert [(b.title, [c.get("description") for c in b.properties["charges"]]) for b in bookings] == [
        ("Booking R-1", ["Theft"]), ("Booking R-2", ["Trespass"]), ("Booking R-3", [])]


def test_short_csv_line_is_still_a_wrong_column_count(tmp_path: Path) -> None:
    path = _csv(tmp_path, "short.csv", [
        "Booking Number,Name,Booking Date,Charge",
        'S-1,"TESTPERSON, ALEX",03/02/2024,Theft',
        'S-2,"SAMPLE, ROBIN",03/02/2024',
    ])
    errors = [r for r in read_bookings(path) if isinstance(r, RowError)]
    assert [(e.ref, e.message) for e in errors] == [("row 3", "expected 4 columns, found 3")]


def test_saved_profile_maps_charge_and_person_details_by_position(tmp_path: Path) -> None:
    from workstation.ingest.tabular import MappingProfile

    # Headers no guesser knows: the unit's saved profile names the columns by position.
    path = _csv(tmp_path, "cad_export.csv", [
        "BKG,NM,BDT,OFF_DESC,OFF_STAT,OFF_LVL,BND,AGE_YRS,HT_IN",
        'P-1,"TESTPERSON, ALEX",2024-03-02 09:30,Burglary,ORC 2911.12,F2,"$25,000.00",33,70',
        'P-1,"TESTPERSON, ALEX",2024-03-02 09:30,Theft,ORC 2913.02,M1,500,33,70',
    ])
    profile = MappingProfile(name="cad", target="booking", columns={
        "booking_number": 0, "full_name": 1, "booking_time": 2, "charges": 3, "statute": 4,
        "severity": 5, "bond_amount": 6, "age": 7, "height": 8})
    records = list(read_bookings(path, profile))
    assert _errors(records) == []
    (booking,) = _bookings(records)
    assert [(c["description"], c["statute"], c["severity"], c["bond_amount"])
            for c in booking.properties["charges"]] == [
        ("Burglary", "ORC 2911.12", "F2", "25000.00"), ("Theft", "ORC 2913.02", "M1", "500")]
    (person,) = [p for p in booking.parties if p.role == "arrestee"]
    assert (person.properties.get("age"), person.properties.get("height")) == (33, "70")
