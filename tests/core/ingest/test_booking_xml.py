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
         "description": "Assault with a deadly weapon", "level": "felony"},
        {"code": "90Z", "statute": "PC 148", "severity": "misdemeanor",
         "description": "Resisting an officer", "level": "misdemeanor"}]
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
                                              "severity": "misdemeanor",
                                              "level": "misdemeanor"}]
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


# ---------------------------------------------------------------------------------------
# NIEM variants, written here (invented people and agencies)
# ---------------------------------------------------------------------------------------

NIEM_NS = ('xmlns:j="http://release.niem.gov/niem/domains/jxdm/7.0/" '
           'xmlns:nc="http://release.niem.gov/niem/niem-core/5.0/" '
           'xmlns:structures="http://release.niem.gov/niem/structures/5.0/"')


def _write(tmp_path: Path, text: str, name: str = "niem.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_niem_booking_with_nested_arrest_activity(tmp_path: Path) -> None:
    path = _write(tmp_path, f"""<?xml version="1.0"?>
<j:BookingReport {NIEM_NS}>
 <j:Booking>
  <nc:ActivityDate><nc:DateTime>2024-02-03T04:05:06-06:00</nc:DateTime></nc:ActivityDate>
  <j:BookingAgencyRecordIdentification>
   <nc:IdentificationID>BK-100</nc:IdentificationID>
  </j:BookingAgencyRecordIdentification>
  <j:BookingSubject><nc:RoleOfPerson>
   <nc:PersonBirthDate><nc:Date>1991-02-03</nc:Date></nc:PersonBirthDate>
   <nc:PersonName><nc:PersonGivenName>Taylor</nc:PersonGivenName>
    <nc:PersonSurName>Sampleton</nc:PersonSurName></nc:PersonName>
  </nc:RoleOfPerson></j:BookingSubject>
  <j:Arrest>
   <nc:ActivityDate><nc:DateTime>2024-02-03T01:00:00-06:00</nc:DateTime></nc:ActivityDate>
   <j:ArrestAgency><nc:OrganizationName>Example PD</nc:OrganizationName></j:ArrestAgency>
   <j:ArrestCharge><j:ChargeDescriptionText>Theft</j:ChargeDescriptionText></j:ArrestCharge>
  </j:Arrest>
  <j:Charge><j:ChargeDescriptionText>Burglary</j:ChargeDescriptionText></j:Charge>
 </j:Booking>
 <j:Booking>
  <j:BookingAgencyRecordIdentification>
   <nc:IdentificationID>BK-101</nc:IdentificationID>
  </j:BookingAgencyRecordIdentification>
  <j:BookingSubject><nc:RoleOfPerson><nc:PersonName>
   <nc:PersonSurName>Onlyname</nc:PersonSurName></nc:PersonName></nc:RoleOfPerson>
  </j:BookingSubject>
 </j:Booking>
</j:BookingReport>""")
    events = _events(list(read_booking_xml(path)))
    assert [(e.kind, e.ref) for e in events] == [
        ("booking", "booking 1"), ("arrest", "booking 1 (arrest)"), ("booking", "booking 2")]
    booking, arrest, bare = events
    cst = timezone(timedelta(hours=-6))
    assert booking.properties["booking_number"] == "BK-100"
    assert booking.occurred_at == datetime(2024, 2, 3, 4, 5, 6, tzinfo=cst)
    assert arrest.occurred_at == datetime(2024, 2, 3, 1, 0, tzinfo=cst)
    assert booking.parties[0].value == "Sampleton, Taylor"
    assert booking.parties[0].properties == {"dob": "1991-02-03"}
    assert [c["description"] for c in booking.properties["charges"]] == ["Theft", "Burglary"]
    assert booking.properties["agency"] == "Example PD"
    # Optional fields missing: still a booking, with no time and no charges.
    assert bare.properties["booking_number"] == "BK-101" and bare.occurred_at is None
    assert bare.parties[0].value == "Onlyname" and bare.properties["charges"] == []


def test_niem_references_and_an_arrest_only_report(tmp_path: Path) -> None:
    path = _write(tmp_path, f"""<?xml version="1.0"?>
<j:ArrestReport {NIEM_NS}>
 <j:Arrest>
  <nc:ActivityDate><nc:Date>2024-02-03-06:00</nc:Date></nc:ActivityDate>
  <j:ArrestSubject><nc:RoleOfPerson structures:ref="P1"/></j:ArrestSubject>
  <j:ArrestOfficial><nc:RoleOfPerson structures:ref="P2"/></j:ArrestOfficial>
  <j:ArrestCharge structures:ref="C1"/>
 </j:Arrest>
 <nc:Person structures:id="P2"><nc:PersonName><nc:PersonGivenName>Olive</nc:PersonGivenName>
  <nc:PersonSurName>Officerly</nc:PersonSurName></nc:PersonName></nc:Person>
 <nc:Person structures:id="P1"><nc:PersonName><nc:PersonGivenName>Sam</nc:PersonGivenName>
  <nc:PersonSurName>Refperson</nc:PersonSurName></nc:PersonName>
  <nc:PersonBirthDate><nc:Date>1980-01-01</nc:Date></nc:PersonBirthDate></nc:Person>
 <j:Charge structures:id="C1"><j:ChargeDescriptionText>Theft</j:ChargeDescriptionText>
 </j:Charge>
</j:ArrestReport>""")
    (arrest,) = _events(list(read_booking_xml(path)))
    assert (arrest.kind, arrest.ref) == ("arrest", "arrest 1")
    # An xs:date's zone is not read as a time of day.
    assert arrest.occurred_at == datetime(2024, 2, 3)
    subject = arrest.parties[0]
    assert (subject.value, subject.role, dict(subject.properties)) == (
        "Refperson, Sam", "arrestee", {"dob": "1980-01-01"})
    # The officer, given by reference too, is not taken for the arrestee.
    assert arrest.properties["arresting_officer"] == "Olive Officerly"
    assert arrest.properties["charges"] == [{"description": "Theft"}]


def test_bad_date_names_element_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, f"""<?xml version="1.0"?>
<j:BookingReport {NIEM_NS}>
 <j:Booking>
  <j:BookingAgencyRecordIdentification><nc:IdentificationID>BK-1</nc:IdentificationID>
  </j:BookingAgencyRecordIdentification>
  <nc:ActivityDate><nc:DateTime>2024-13-45T09:00</nc:DateTime></nc:ActivityDate>
  <j:BookingSubject><nc:RoleOfPerson><nc:PersonName><nc:PersonSurName>Xample</nc:PersonSurName>
  </nc:PersonName></nc:RoleOfPerson></j:BookingSubject>
 </j:Booking>
</j:BookingReport>""")
    (error,) = list(read_booking_xml(path))
    assert isinstance(error, RowError)
    assert (error.ref, error.field) == ("booking 1", "booking_time")
    assert "<ActivityDate>" in error.message and "line 6" in error.message
    assert "2024-13-45" in error.message


def test_bad_date_in_our_form_names_its_element() -> None:
    path = FIXTURES / "bookings.xml"
    line = next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if "25:99" in text)
    records = list(read_booking_xml(path))
    (bad,) = [r for r in records if isinstance(r, RowError) and r.field == "booking_time"]
    assert "<booking_time>" in bad.message and f"line {line}" in bad.message


def test_file_without_bookings_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "<bookings>\n</bookings>\n", name="empty.xml")
    with pytest.raises(ParseError) as info:
        list(read_booking_xml(path))
    assert "empty.xml" in str(info.value) and "no booking" in str(info.value)


def test_deeply_nested_booking_does_not_crash(tmp_path: Path) -> None:
    depth = 20_000
    path = _write(tmp_path, '<bookings><booking number="B-1"><person><last_name>Deep'
                            '</last_name></person>' + "<a>" * depth + "x" + "</a>" * depth
                            + "</booking></bookings>", name="deep.xml")
    (event,) = _events(list(read_booking_xml(path)))
    assert event.parties[0].value == "Deep"
