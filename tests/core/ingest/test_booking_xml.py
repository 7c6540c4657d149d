"""Arrest/booking records in XML (synthetic people only)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from workstation.ingest.booking.xmlform import BookingXmlParser, read_booking_xml
from workstation.ingest.records import ImportOptions, ParsedEvent, ParseError, Record, RowError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "booking"


def _events(records: list[Record]) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent)]


def test_our_xml_form() -> None:
    records = list(BookingXmlParser().parse(FIXTURES / "bookings.xml", ImportOptions()))
    events = _events(records)
    assert [(e.kind, e.ref) for e in events] == [
        ("booking", "booking 1"), ("arrest", "booking 1 (arrest)"),
        ("release", "booking 1 (release)"), ("booking", "booking 2")]
    first = events[0]
    est = timezone(timedelta(hours=-5))
    assert first.title == "Booking B-24-0001"
    assert first.occurred_at == datetime(2024, 3, 2, 23, 40, tzinfo=est)
    assert events[1].occurred_at == datetime(2024, 3, 2, 21, 15, tzinfo=est)
    assert events[2].occurred_at == datetime(2024, 3, 4, 9, 0, tzinfo=est)
    assert first.properties["charges"] == [
        {"code": "13A", "statute": "PC 245(a)", "severity": "felony",
         "description": "Assault with a deadly weapon"},
        {"code": "90Z", "statute": "PC 148", "severity": "misdemeanor",
         "description": "Resisting an officer"}]
    assert first.properties["release_time"] == "2024-03-04T09:00:00-05:00"
    assert first.properties["agency"] == "Example County Sheriff"
    person = first.parties[0]
    assert (person.value, person.label, person.role) == ("Testperson, Alex", "Alex Testperson",
                                                         "arrestee")
    assert person.properties == {"dob": "1990-04-01", "sex": "M"}
    kinds = {(p.kind, p.role) for p in first.parties}
    assert {("address", "address_of_record"), ("organisation", "arresting_agency"),
            ("phone", "phone")} <= kinds
    assert {l.kind for l in first.links} == {"resides_at", "member_of", "uses"}
    # Attributes instead of elements; charges in one text.
    second = events[3]
    assert second.properties["booking_number"] == "B-24-0002"
    assert second.occurred_at == datetime(2024, 3, 5, 8, 30)
    assert second.parties[0].properties == {"dob": "1985-05-31", "sex": "F"}
    assert [c["description"] for c in second.properties["charges"]] == [
        "Possession of stolen property", "Trespass"]
    errors = [r for r in records if isinstance(r, RowError)]
    assert [(e.ref, e.field) for e in errors] == [("booking 3", "booking_time"),
                                                  ("booking 4", "last_name")]


def test_niem_style_names() -> None:
    events = _events(list(read_booking_xml(FIXTURES / "niem_booking.xml")))
    assert [e.kind for e in events] == ["booking", "arrest", "booking"]
    booking = events[0]
    assert booking.properties["booking_number"] == "NB-77"
    assert booking.occurred_at == datetime(2023, 7, 14, 3, 5, tzinfo=timezone.utc)
    assert booking.parties[0].value == "Samplefield, Robin Q"
    assert booking.parties[0].properties == {"dob": "1979-12-24", "sex": "F"}
    assert booking.properties["agency"] == "Example State Patrol"
    assert booking.properties["charges"] == [{"statute": "VC 23152",
                                              "description": "Driving under the influence",
                                              "severity": "misdemeanor"}]
    other = events[2]
    assert other.properties["booking_number"] == "NB-78"
    assert other.parties[0].value == "Placeholder, Jamie"
    assert other.occurred_at == datetime(2023, 7, 15)


@pytest.mark.parametrize("doc", [
    '<?xml version="1.0"?>\n<!DOCTYPE bookings [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    '<bookings><booking number="1"><person><last_name>&x;</last_name></person></booking>'
    '</bookings>',
    '<?xml version="1.0"?>\n<!DOCTYPE bookings [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
    '\n<bookings><booking number="&b;"/></bookings>',
    '<?xml version="1.0"?>\n<!DOCTYPE bookings SYSTEM "http://example.invalid/b.dtd">\n'
    '<bookings/>',
])
def test_dtd_and_entities_are_refused(tmp_path: Path, doc: str) -> None:
    path = tmp_path / "evil.xml"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(ParseError) as info:
        list(read_booking_xml(path))
    assert "evil.xml" in str(info.value) and "refused" in str(info.value)


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text('<bookings>\n<booking number="1">\n<person><last_name>X</person>\n'
                    '</booking></bookings>', encoding="utf-8")
    with pytest.raises(ParseError) as info:
        list(read_booking_xml(path))
    assert "broken.xml" in str(info.value) and info.value.ref == "line 3"


def test_other_xml_is_not_a_booking_file(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text("<rss><channel><title>x</title></channel></rss>", encoding="utf-8")
    assert BookingXmlParser().sniff(path, path.read_bytes()) == 0.0
    with pytest.raises(ParseError, match="not a booking XML"):
        list(read_booking_xml(path))


def test_sniff() -> None:
    for name in ("bookings.xml", "niem_booking.xml"):
        path = FIXTURES / name
        assert BookingXmlParser().sniff(path, path.read_bytes()) >= 0.9
