"""Arrest and booking exports of a second round of real layouts, rebuilt with made-up values.

The structures are those of: the Georgia jail scrapers of a bail-reform project (Cobb and
DeKalb county rosters: "inmate_"-prefixed columns, "booking_timestamp" with a US zone
abbreviation, a birth year alone, charges and degrees listed with " | "), the Wichita
police daily arrest lists (pipe-delimited, an unnamed index column, "Arrests" listing the
charges with ";", "No arrests listed."), Connecticut DOC's anonymised list of accused
pre-trial inmates (an identifier, the latest admission date, the offence with its class
code padded to the end), an OJBC (NIEM 3.0) booking report whose arrest, charges and
location are declared beside the booking and referenced, and an anonymised NIEM arrest
report. Every name, number, street and date here is invented.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from workstation.ingest.booking.table import read_bookings
from workstation.ingest.booking.xmlform import read_booking_xml
from workstation.ingest.pipeline import detect, run_import
from workstation.ingest.records import ParsedEvent, RowError

EST = timezone(timedelta(hours=-5))


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _events(records: list) -> list[ParsedEvent]:
    errors = [r for r in records if isinstance(r, RowError)]
    assert errors == []
    return [r for r in records if isinstance(r, ParsedEvent)]


GEORGIA_SCRAPER = [
    "county_name,timestamp,url,inmate_id,inmate_lastname,inmate_firstname,inmate_middlename,"
    "inmate_sex,inmate_race,inmate_age,inmate_dob,inmate_address,booking_timestamp,"
    "release_timestamp,processing_numbers,agency,facility,charges,severity,bond_amount,"
    "current_status,court_dates,days_jailed,other,notes",
    # This scraper writes the degree under "charges" and the charge under "severity".
    'samplecounty,2017-11-14 15:22:44 EST,http://jail.example.org/d?id=900001,900001,'
    'TESTPERSON,ALEX,BEA,m,white,40,1977,"1 EXAMPLE TERRACE SAMPLETOWN,GA 30000",'
    '2017-11-11 00:42:00 EST,2017-11-11 04:12:00 EST,Case #17000001,GA0000000, ,'
    'Misdemeanor | Felony ,Speeding (Misdemeanor) | Possession of Example Substance (Felony) ,'
    '"$1,300.00 -Bond, $100.00 -Example Fund, ", , ,0," Unindicted 1 , Address where arrested: '
    '1 EXAMPLE TER",note',
    'samplecounty,2017-11-14 15:22:45 EST,http://jail.example.org/d?id=900002,900002,'
    'EXAMPLE,ROBIN,, f,black,21,1996,"2 SAMPLE LN SAMPLETOWN,GA 30001",'
    '2017-11-11 01:09:00 est, ,Case #16-M-0001,GA0000200,3S2,Misdemeanor ,'
    'Probation Violation ,"$0.00 -Bond, ", , ,3,,',
]


def test_georgia_jail_scraper_with_prefixed_columns(ws, tmp_path: Path) -> None:
    path = _write(tmp_path, "samplecounty_2017-11-14.csv", GEORGIA_SCRAPER)
    assert detect(path).format == "booking_table"
    case_id = ws.create_case("BK-GA", "Georgia scraper", timezone="America/New_York").id
    result = run_import(ws, case_id, path)
    assert result.errors == ()
    events = sorted(ws.list_events(case_id, limit=None), key=lambda e: e.occurred_at)
    bookings = [e for e in events if e.kind == "booking"]
    assert [e.title for e in bookings] == ["Booking 900001", "Booking 900002"]
    first, second = bookings
    # "EST" is UTC-5, and the lower-case "est" of the next row too.
    assert first.occurred_at == datetime(2017, 11, 11, 5, 42, tzinfo=UTC)
    assert second.occurred_at == datetime(2017, 11, 11, 6, 9, tzinfo=UTC)
    assert [e.occurred_at for e in events if e.kind == "release"] == [
        datetime(2017, 11, 11, 9, 12, tzinfo=UTC)]
    # Two charges with their own degrees; the one bond is the booking's, not each charge's.
    assert first.properties["charges"] == [
        {"description": "Speeding (Misdemeanor)", "severity": "Misdemeanor",
         "level": "misdemeanor"},
        {"description": "Possession of Example Substance (Felony)", "severity": "Felony",
         "level": "felony"}]
    assert first.properties["level"] == "felony"
    assert first.properties["bond_amount"].startswith("$1,300.00 -Bond")
    assert first.properties["agency_ori"] == "GA0000000"
    people = {p.label: p for p in ws.list_entities(case_id, kind="person")}
    assert sorted(people) == ["ALEX TESTPERSON", "ROBIN EXAMPLE"]
    # A birth year alone is kept as a year, not turned into the 1st of January.
    alex = people["ALEX TESTPERSON"].properties
    assert alex["birth_year"] == 1977 and "dob" not in alex and alex["sex"] == "M"


def test_dekalb_variant_with_iso_offsets(tmp_path: Path) -> None:
    path = _write(tmp_path, "dekalb.csv", [
        "county_name,inmate_id,inmate_lastname,inmate_firstname,inmate_middlename,inmate_sex,"
        "inmate_race,inmate_dob,booking_timestamp,release_timestamp,agency,charges",
        "samplecounty,1300001,EXAMPLE,JORDAN,LEE,Male,White,1960-06-19T00:00:00-04:00,"
        "2007-01-23T13:22:02-05:00,2007-01-24T19:22:08-05:00,Example Police Department,"
        "SIMPLE BATTERY -/MISD/-",
    ])
    booking, release = _events(list(read_bookings(path)))
    person = booking.parties[0]
    assert (person.value, person.properties["dob"]) == ("EXAMPLE, JORDAN LEE", "1960-06-19")
    assert booking.occurred_at == datetime(2007, 1, 23, 13, 22, 2, tzinfo=EST)
    assert release.occurred_at == datetime(2007, 1, 24, 19, 22, 8, tzinfo=EST)
    assert booking.properties["agency"] == "Example Police Department"


WICHITA = [
    "|Name|Birthdate|Age|Race|Sex|Date|Time|Address|Arrests|Incidents|Warrants|Tags",
    "0|TESTPERSON, ALEX B|06/13/1996|23|BLACK|FEMALE|01/03/2020|00:10|600 S EXAMPLE|"
    "No arrests listed.|AUTO LIC VIOL |17TM000001;17TM000002|Warrants",
    "3|EXAMPLE, ROBIN E|12/29/1999|20|WHITE|MALE|01/03/2020|01:45|N SAMPLE|"
    "POSSESSION OF DRUG PARAPHERNALIA;DEFECTIVE HEADLIGHT|POSSESSION OF PARAPHERNALIA||"
    "Drug Paraphernalia;Vehicle / Traffic Violation",
]


def test_wichita_pipe_list_with_arrests_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "01-03-20.csv", WICHITA)
    assert detect(path).format == "booking_table"
    first, second = _events(list(read_bookings(path)))
    assert first.occurred_at == datetime(2020, 1, 3, 0, 10)
    assert first.parties[0].properties["dob"] == "1996-06-13"
    # "No arrests listed." (held on warrants only) is no charge.
    assert first.properties["charges"] == []
    assert first.properties["other_columns"]["Warrants"] == "17TM000001;17TM000002"
    assert second.properties["charges"] == [
        {"description": "POSSESSION OF DRUG PARAPHERNALIA"},
        {"description": "DEFECTIVE HEADLIGHT"}]
    assert second.parties[0].label == "ROBIN EXAMPLE"


CONNECTICUT = [
    "DOWNLOAD DATE,IDENTIFIER,LATEST ADMISSION DATE,RACE,GENDER,AGE,BOND AMOUNT,OFFENSE,"
    "FACILITY,DETAINER",
    "07/01/2016,ZZTESTAA,05/21/2016,BLACK,M,32,150000,"
    "CRIMINAL ATTEMPT ASSAULT 1ST            DF,EXAMPLE CC,NONE",
    "07/01/2016,ZZTESTBB,06/29/2016,WHITE,F,35,5000,LARCENY 6TH DEG         CM,SAMPLE CI,NONE",
]


def test_connecticut_anonymised_pretrial_admissions(ws, tmp_path: Path) -> None:
    path = _write(tmp_path, "Accused_Pre-Trial_Inmates.csv", CONNECTICUT)
    assert detect(path).format == "booking_table"
    case_id = ws.create_case("BK-CT", "CT pre-trial").id
    result = run_import(ws, case_id, path)
    assert result.errors == ()
    events = ws.list_events(case_id, limit=None)
    assert sorted(e.title for e in events) == ["Booking ZZTESTAA", "Booking ZZTESTBB"]
    assert {e.kind for e in events} == {"booking"}
    assert ws.list_entities(case_id, kind="person") == []  # anonymised: nobody made up
    first = next(e for e in events if e.title == "Booking ZZTESTAA")
    assert first.properties["time_precision"] == "day"
    assert first.properties["booking_time"] == "2016-05-21T00:00:00"
    assert first.properties["charges"] == [
        {"description": "CRIMINAL ATTEMPT ASSAULT 1ST", "bond_amount": "150000",
         "severity": "DF", "level": "felony"}]
    assert first.properties["arrestee"] == {"sex": "M", "race": "BLACK", "age": 32}
    # The day of the download is no event: kept as written.
    assert first.properties["other_columns"]["DOWNLOAD DATE"] == "07/01/2016"
    second = next(e for e in events if e.title == "Booking ZZTESTBB")
    assert second.properties["level"] == "misdemeanor"


OJBC_BOOKING = """<?xml version="1.0" encoding="UTF-8"?>
<br-doc:BookingReport xmlns:br-doc="http://ojbc.org/IEPD/Exchange/BookingReport/1.0"
    xmlns:j="http://release.niem.gov/niem/domains/jxdm/5.1/"
    xmlns:nc="http://release.niem.gov/niem/niem-core/3.0/"
    xmlns:structures="http://release.niem.gov/niem/structures/3.0/">
  <nc:Person structures:id="Person_01">
    <nc:PersonBirthDate><nc:Date>1970-02-03</nc:Date></nc:PersonBirthDate>
    <nc:PersonName><nc:PersonGivenName>Alex</nc:PersonGivenName>
      <nc:PersonSurName>Testperson</nc:PersonSurName></nc:PersonName>
    <j:PersonSexCode>M</j:PersonSexCode>
  </nc:Person>
  <j:Booking structures:id="Booking_01">
    <nc:ActivityDate><nc:DateTime>2013-12-17T09:30:00</nc:DateTime></nc:ActivityDate>
    <j:BookingAgencyRecordIdentification><nc:IdentificationID>BK-555</nc:IdentificationID>
    </j:BookingAgencyRecordIdentification>
    <j:BookingSubject><nc:RoleOfPerson structures:ref="Person_01"/></j:BookingSubject>
    <j:Arrest structures:ref="Arrest_01"/>
  </j:Booking>
  <j:Arrest structures:id="Arrest_01">
    <j:ArrestAgency><nc:OrganizationName>Example Police Department</nc:OrganizationName>
    </j:ArrestAgency>
    <j:ArrestCharge structures:ref="Charge_01"/>
    <j:ArrestLocation structures:ref="Loc_01"/>
  </j:Arrest>
  <j:Charge structures:id="Charge_01">
    <j:ChargeSeverityText>Felony</j:ChargeSeverityText>
    <j:ChargeDescriptionText>Burglary</j:ChargeDescriptionText>
    <j:ChargeDisposition><nc:DispositionText>Held</nc:DispositionText></j:ChargeDisposition>
    <j:ChargeStatute><j:StatuteCodeSectionIdentification>
      <nc:IdentificationID>13-1507</nc:IdentificationID>
    </j:StatuteCodeSectionIdentification></j:ChargeStatute>
  </j:Charge>
  <nc:Location structures:id="Loc_01">
    <nc:Address>
      <nc:LocationStreet><nc:StreetNumberText>392</nc:StreetNumberText>
        <nc:StreetName>Example Ave</nc:StreetName></nc:LocationStreet>
      <nc:LocationCityName>Sampleton</nc:LocationCityName>
      <nc:LocationStateUSPostalServiceCode>NY</nc:LocationStateUSPostalServiceCode>
    </nc:Address>
  </nc:Location>
</br-doc:BookingReport>
"""


def test_ojbc_booking_report_with_referenced_arrest(tmp_path: Path) -> None:
    path = tmp_path / "BookingReport.xml"
    path.write_text(OJBC_BOOKING, encoding="utf-8")
    # The arrest declared beside the booking is that booking's, not a nameless record.
    (booking,) = _events(list(read_booking_xml(path)))
    assert booking.title == "Booking BK-555"  # not the element id "Booking_01"
    assert booking.occurred_at == datetime(2013, 12, 17, 9, 30)
    assert booking.properties["charges"] == [
        {"statute": "13-1507", "description": "Burglary", "severity": "Felony",
         "disposition": "Held", "level": "felony"}]
    shown = {(p.kind, p.role): p.value for p in booking.parties}
    assert shown[("person", "arrestee")] == "Testperson, Alex"
    # The arrest's location is where the arrest happened, not where the person lives.
    assert shown[("address", "arrest_location")] == "392 Example Ave, Sampleton, NY"
    assert ("address", "address_of_record") not in shown
    assert booking.properties["agency"] == "Example Police Department"


NIEM_ANONYMOUS = """<?xml version="1.0" encoding="UTF-8"?>
<ar:ArrestReport xmlns:ar="http://example.org/ArrestReport/1.0"
    xmlns:j="http://release.niem.gov/niem/domains/jxdm/6.0/"
    xmlns:nc="http://release.niem.gov/niem/niem-core/4.0/">
  <j:Arrest>
    <nc:ActivityIdentification><nc:IdentificationID>AR-0001</nc:IdentificationID>
    </nc:ActivityIdentification>
    <nc:ActivityDate><nc:DateTime>2024-03-02T21:15:00</nc:DateTime></nc:ActivityDate>
    <j:ArrestCharge><j:ChargeDescriptionText>Theft</j:ChargeDescriptionText>
      <j:ChargeSeverityText>Misdemeanor</j:ChargeSeverityText></j:ArrestCharge>
    <j:ArrestLocation><nc:Address><nc:AddressFullText>100 Example St</nc:AddressFullText>
    </nc:Address></j:ArrestLocation>
  </j:Arrest>
  <j:Arrest>
    <nc:ActivityDate><nc:Date>2024-03-03</nc:Date></nc:ActivityDate>
    <j:ArrestCharge><j:ChargeDescriptionText>Assault</j:ChargeDescriptionText></j:ArrestCharge>
  </j:Arrest>
  <j:Arrest><j:ArrestAgency><nc:OrganizationName>Example PD</nc:OrganizationName>
  </j:ArrestAgency></j:Arrest>
</ar:ArrestReport>
"""


def test_anonymised_niem_arrest_report_imports_arrests(ws, tmp_path: Path) -> None:
    path = tmp_path / "arrests.xml"
    path.write_text(NIEM_ANONYMOUS, encoding="utf-8")
    records = list(read_booking_xml(path))
    first, second = (r for r in records if isinstance(r, ParsedEvent))
    assert (first.kind, first.title) == ("arrest", "Arrest AR-0001")
    assert first.occurred_at == datetime(2024, 3, 2, 21, 15)
    assert first.properties["charges"] == [
        {"description": "Theft", "severity": "Misdemeanor", "level": "misdemeanor"}]
    assert [(p.kind, p.role, p.value) for p in first.parties] == [
        ("address", "arrest_location", "100 Example St")]
    assert second.properties["time_precision"] == "day"
    # An arrest that gives nothing to import is named, not silently dropped.
    (error,) = (r for r in records if isinstance(r, RowError))
    assert error.ref == "arrest 3" and "no person, number, date or charge" in error.message
    case_id = ws.create_case("BK-NIEM", "NIEM arrests").id
    result = run_import(ws, case_id, path, skip_bad_rows=True)
    assert [e.title for e in ws.list_events(case_id, limit=None) if e.kind == "arrest"] == [
        "Arrest AR-0001", "Arrest"]
    assert len(result.errors) == 1
    assert ws.list_entities(case_id, kind="person") == []


def test_alias_only_roster_saved_as_an_html_xls_is_detected(tmp_path: Path) -> None:
    """A jail scraper's roster whose headers only the aliases know ("inmate_lastname",
    "booking_timestamp"), downloaded as an ".xls" that is an HTML table: detected as an
    arrest/booking list and read like the CSV."""
    from html import escape

    from workstation.ingest.pipeline import detect

    header = ["county_name", "inmate_id", "inmate_lastname", "inmate_firstname", "inmate_sex", "inmate_dob",
              "booking_timestamp", "agency", "charges"]
    row = ["samplecounty", "1300001", "EXAMPLE", "JORDAN", "Male", "1960-06-19", "2007-01-23 13:22:02",
           "Example Police Department", "SIMPLE BATTERY"]
    cells = "".join(f"<tr>{''.join(f'<td>{escape(c)}</td>' for c in r)}</tr>" for r in (header, row))
    path = tmp_path / "roster.xls"
    path.write_text(f"<html><head><meta charset='utf-8'></head><body><table>{cells}</table></body></html>",
                    encoding="utf-8")
    assert detect(path).format == "booking_table"
    (booking,) = [r for r in read_bookings(path) if getattr(r, "kind", None) == "booking"]
    assert booking.parties[0].value == "EXAMPLE, JORDAN"
