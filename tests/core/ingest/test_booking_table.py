"""Arrest/booking lists in CSV and XLSX (synthetic people only)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from workstation.ingest.booking import PARSERS
from workstation.ingest.booking.table import BookingTableParser, read_bookings
from workstation.ingest.finance.table import TransactionTableParser
from workstation.ingest.records import ImportOptions, ParsedEvent, ParseError, Record, RowError
from workstation.ingest.tabular import MappingProfile, auto_profile

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "booking"


def _events(records: list[Record]) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent)]


def test_csv_bookings_with_guessed_profile() -> None:
    records = list(BookingTableParser().parse(FIXTURES / "bookings.csv", ImportOptions()))
    events = _events(records)
    assert [(e.kind, e.ref) for e in events] == [
        ("booking", "row 2"), ("arrest", "row 2 (arrest)"),
        ("booking", "row 3"), ("release", "row 3 (release)")]
    booking = events[0]
    assert booking.title == "Booking C-100"
    # 31/05/1985 further down makes the whole file day-first: 02/03/2024 is 2 March.
    assert booking.occurred_at == datetime(2024, 3, 2, 23, 40)
    assert events[1].occurred_at == datetime(2024, 3, 2, 21, 15)
    assert booking.properties["charges"] == [{"description": "Burglary"},
                                             {"description": "Theft"},
                                             {"description": "Vandalism"}]
    assert booking.properties["arrest_time"] == "2024-03-02T21:15:00"
    person = booking.parties[0]
    assert (person.kind, person.value, person.label, person.role) == (
        "person", "Testperson, Alex", "Alex Testperson", "arrestee")
    assert person.properties == {"dob": "1990-04-01", "sex": "M"}
    roles = {(p.kind, p.role): p.value for p in booking.parties}
    assert roles[("address", "address_of_record")] == "1 Test Street, Springfield, ZZ 00001"
    assert roles[("organisation", "arresting_agency")] == "Example County Sheriff"
    assert roles[("person", "arresting_officer")] == "Officer Sample"
    assert events[3].occurred_at == datetime(2024, 3, 6)
    errors = [r for r in records if isinstance(r, RowError)]
    assert [(e.ref, e.field) for e in errors] == [("row 4", "booking_date"), ("row 5", None)]
    assert "yesterday" in errors[0].message


def test_charge_columns_and_separate_full_name(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("Inmate Name,Booking Date/Time,Charge 1,Charge 2,Gender\n"
                    "Casey Q Example,2024-01-02 03:04,Theft,Fraud,female\n"
                    '"Sample, Robin",2024-01-03 05:06,,,\n', encoding="utf-8")
    events = _events(list(read_bookings(path)))
    assert events[0].parties[0].value == "Example, Casey Q"
    assert events[0].parties[0].label == "Casey Example"
    assert events[0].parties[0].properties["sex"] == "F"
    assert events[0].properties["charges"] == [{"description": "Theft"},
                                               {"description": "Fraud"}]
    assert events[0].title == "Booking"
    assert events[1].parties[0].value == "Sample, Robin"


def test_xlsx_bookings_with_explicit_profile(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Nr", "Surname", "Given", "Born", "Booked", "Offences"])
    ws.append(["X-1", "Testperson", "Alex", datetime(1990, 4, 1), datetime(2024, 2, 1, 8, 0),
               "Assault | Theft"])
    path = tmp_path / "jail.xlsx"
    wb.save(path)
    profile = MappingProfile(name="jail", target="booking", columns={
        "booking_number": "Nr", "last_name": "Surname", "first_name": "Given", "dob": "Born",
        "booking_time": "Booked", "charges": "Offences"})
    (event,) = _events(list(BookingTableParser().parse(
        path, ImportOptions(profile=profile.to_dict()))))
    assert event.occurred_at == datetime(2024, 2, 1, 8, 0)
    assert event.parties[0].properties["dob"] == "1990-04-01"
    assert len(event.properties["charges"]) == 2


def test_booking_and_statement_sniffers_do_not_overlap(shared_data: Path) -> None:
    path = FIXTURES / "bookings.csv"
    head = path.read_bytes()
    assert BookingTableParser().sniff(path, head) >= 0.5
    assert TransactionTableParser().sniff(path, head) == 0.0
    mint = shared_data / "finance/csv2ofx/test/mint.csv"
    assert BookingTableParser().sniff(mint, mint.read_bytes()) == 0.0
    for other in ("chat/telegram/result.json", "chat/whatsapp/whatsapp_ios_chat.txt",
                  "chat/messenger/facebook_chat.json", "finance/ofx/anzcc.ofx"):
        p = shared_data / other
        for parser in PARSERS:
            assert parser.sniff(p, p.read_bytes()[:65536]) == 0.0, (parser.name, other)


def test_guesser_needs_a_person_and_a_fact() -> None:
    assert auto_profile(["Name", "Amount"], "booking") is None
    profile = auto_profile(["Booking #", "Last", "First", "Arrest Date", "Arrest Time"],
                           "booking")
    assert profile is not None
    assert profile.columns["arrest_date"] == "Arrest Date"
    assert profile.columns["arrest_time"] == "Arrest Time"


def test_unknown_layout_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("colour,size\nred,3\n", encoding="utf-8")
    with pytest.raises(ParseError, match="no known booking column layout"):
        list(read_bookings(path))
