"""Arrest lists as police open-data portals and jail scrapers publish them.

The layouts (column names, date and time writing, codes) are those of the public NYPD,
LAPD, Chicago, Baltimore and Dallas arrest datasets and of a county roster scraper; every
value here is made up (example streets, invented numbers). Those open-data lists are
anonymised: no name at all, so each record is an arrest, not a booking of somebody.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from workstation.ingest.booking.table import BookingTableParser, read_bookings
from workstation.ingest.pipeline import detect, run_import
from workstation.ingest.records import ImportOptions, ParsedEvent, RowError

NEW_YORK = ZoneInfo("America/New_York")


def _csv(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _events(path: Path, options: ImportOptions | None = None) -> list[ParsedEvent]:
    records = list(read_bookings(path, options=options))
    errors = [r for r in records if isinstance(r, RowError)]
    assert errors == []
    return [r for r in records if isinstance(r, ParsedEvent)]


NYPD = [
    "ARREST_KEY,ARREST_DATE,PD_CD,PD_DESC,KY_CD,OFNS_DESC,LAW_CODE,LAW_CAT_CD,ARREST_BORO,"
    "ARREST_PRECINCT,JURISDICTION_CODE,AGE_GROUP,PERP_SEX,PERP_RACE,X_COORD_CD,Y_COORD_CD,"
    "Latitude,Longitude,New Georeferenced Column",
    '900000001,01/03/2023,109,"ASSAULT 2,1,UNCLASSIFIED",106,FELONY ASSAULT,PL 1200502,F,K,'
    '73,0,25-44,M,BLACK,1000001,180001,40.667,-73.911,POINT (-73.911 40.667)',
    '900000002,01/05/2023,905,"INTOXICATED DRIVING,ALCOHOL",347,INTOXICATED & IMPAIRED '
    'DRIVING,VTL11920U3,M,Q,109,0,45-64,F,WHITE HISPANIC,1000002,180002,,,',
    "900000003,01/06/2023,101,ASSAULT 3,344,ASSAULT 3 & RELATED OFFENSES,PL 1200001,(null),M,"
    "14,0,<18,M,UNKNOWN,1000003,180003,40.750,-73.990,POINT (-73.990 40.750)",
]


def test_nypd_arrests_without_names_come_in_as_arrests(ws, tmp_path: Path) -> None:
    case_id = ws.create_case("AR-1", "Open-data arrests", timezone="America/New_York").id
    path = _csv(tmp_path, "NYPD_Arrest_Data_YTD.csv", NYPD)
    assert detect(path).format == "booking_table"
    result = run_import(ws, case_id, path, options=ImportOptions(timezone="America/New_York"))
    assert result.errors == ()
    arrests = [e for e in ws.list_events(case_id, limit=None) if e.kind == "arrest"]
    assert [e.title for e in arrests] == ["Arrest 900000001", "Arrest 900000002",
                                          "Arrest 900000003"]
    assert ws.list_entities(case_id, kind="person") == []  # nobody is made up
    first = arrests[0]
    assert first.occurred_at == datetime(2023, 1, 3, tzinfo=NEW_YORK)
    assert first.properties["arrest_number"] == "900000001"
    assert first.properties["charges"] == [
        {"description": "ASSAULT 2,1,UNCLASSIFIED", "code": "109", "statute": "PL 1200502",
         "severity": "F", "level": "felony"}]
    assert first.properties["level"] == "felony"
    assert first.properties["arrestee"] == {"sex": "M", "race": "BLACK", "age": "25-44"}
    assert first.properties["place"] == {"area": "K", "precinct": "73"}
    assert (first.properties["lat"], first.properties["lon"]) == (40.667, -73.911)
    assert arrests[1].properties["level"] == "misdemeanor"
    assert "lat" not in arrests[1].properties  # empty coordinates: no place invented
    # NYPD writes "(null)" for a missing category: no severity, no level.
    assert arrests[2].properties["charges"] == [
        {"description": "ASSAULT 3", "code": "101", "statute": "PL 1200001"}]
    places = sorted(e.label for e in ws.list_entities(case_id, kind="location"))
    assert places == ["40.667000, -73.911000", "40.750000, -73.990000"]


LAPD = [
    "Report ID,Report Type,Arrest Date,Time,Area ID,Area Name,Reporting District,Age,Sex Code,"
    "Descent Code,Charge Group Code,Charge Group Description,Arrest Type Code,Charge,"
    "Charge Description,Disposition Description,Address,Cross Street,LAT,LON,Location,"
    "Booking Date,Booking Time,Booking Location,Booking Location Code",
    "7000001,BOOKING,01/02/2023 12:00:00 AM,1430,12,77th Street,1241,34,M,H,05,Burglary,F,"
    "459PC,BURGLARY,MISDEMEANOR COMPLAINT FILED,1300 W  EXAMPLE AV,,33.9746,-118.2985,"
    "POINT (-118.2985 33.9746),01/02/2023 12:00:00 AM,1615,77TH ST REGIONAL JAIL SECTION,4278",
    "7000002,RFC,01/04/2023 12:00:00 AM,45,01,Central,0152,27,F,B,,,M,41.27LAMC,"
    "DRINKING IN PUBLIC,,5TH,SAMPLE,34.0451,-118.2487,POINT (-118.2487 34.0451),,,,",
]


def test_lapd_arrest_and_booking_times_in_military_writing(tmp_path: Path) -> None:
    path = _csv(tmp_path, "Arrest_Data_from_2020_to_Present.csv", LAPD)
    first, booking, second = _events(path)
    assert (first.kind, booking.kind, second.kind) == ("arrest", "booking", "arrest")
    assert first.occurred_at == datetime(2023, 1, 2, 14, 30)
    assert booking.occurred_at == datetime(2023, 1, 2, 16, 15)
    assert booking.ref == "row 2 (booking)"
    # "45" is the number 0045: a quarter to one in the morning.
    assert second.occurred_at == datetime(2023, 1, 4, 0, 45)
    assert first.properties["charges"] == [
        {"description": "BURGLARY", "severity": "F", "code": "459PC",
         "disposition": "MISDEMEANOR COMPLAINT FILED", "level": "felony"}]
    assert first.properties["arrestee"] == {"sex": "M", "race": "H", "age": 34}
    assert first.properties["place"]["area"] == "77th Street"
    shown = {(p.kind, p.role): p.value for p in second.parties}
    assert shown[("address", "arrest_location")] == "5TH & SAMPLE"
    assert shown[("location", "arrest_location")] == "34.045100, -118.248700"
    assert not any(p.kind == "person" for p in second.parties)


CHICAGO = [
    "CB_NO,CASE_NUMBER,ARREST_DATE,RACE,CHARGE_1_STATUTE,CHARGE_1_DESCRIPTION,CHARGE_1_TYPE,"
    "CHARGE_1_CLASS,CHARGE_2_STATUTE,CHARGE_2_DESCRIPTION,CHARGE_2_TYPE,CHARGE_2_CLASS,"
    "CHARGE_3_STATUTE,CHARGE_3_DESCRIPTION,CHARGE_3_TYPE,CHARGE_3_CLASS,CHARGES_STATUTE,"
    "CHARGES_DESCRIPTION,CHARGES_TYPE,CHARGES_CLASS",
    "30000001,JX100001,01/02/2023 11:25:00 PM,BLACK,720 ILCS 5.0/12-3.2-A-1,DOMESTIC BATTERY,M,A,"
    "720 ILCS 5.0/21-1-A-1,CRIMINAL DAMAGE TO PROPERTY,F,4,,,,,"
    "720 ILCS 5.0/12-3.2-A-1 | 720 ILCS 5.0/21-1-A-1,DOMESTIC BATTERY | CRIMINAL DAMAGE TO "
    "PROPERTY,M | F,A | 4",
    "30000002,,2023-01-03T08:05:00.000,WHITE,625 ILCS 5.0/11-501-A-2,DUI - ALCOHOL,M,A,,,,,,,,,"
    "625 ILCS 5.0/11-501-A-2,DUI - ALCOHOL,M,A",
]


def test_chicago_numbered_charge_columns_give_one_charge_each(tmp_path: Path) -> None:
    path = _csv(tmp_path, "Arrests.csv", CHICAGO)
    assert BookingTableParser().sniff(path, path.read_bytes()) >= 0.5
    first, second = _events(path)
    assert first.kind == "arrest" and first.title == "Arrest 30000001"
    assert first.occurred_at == datetime(2023, 1, 2, 23, 25)
    assert first.properties["charges"] == [
        {"description": "DOMESTIC BATTERY", "statute": "720 ILCS 5.0/12-3.2-A-1",
         "severity": "M", "class": "A", "court_case": "JX100001", "level": "misdemeanor"},
        {"description": "CRIMINAL DAMAGE TO PROPERTY", "statute": "720 ILCS 5.0/21-1-A-1",
         "severity": "F", "class": "4", "court_case": "JX100001", "level": "felony"}]
    assert first.properties["level"] == "felony"
    assert first.properties["arrestee"] == {"race": "BLACK"}
    assert second.occurred_at == datetime(2023, 1, 3, 8, 5)
    assert [c["description"] for c in second.properties["charges"]] == ["DUI - ALCOHOL"]


BALTIMORE = [
    "Arrest,Age,Sex,Race,ArrestDate,ArrestTime,ArrestLocation,IncidentOffense,IncidentLocation,"
    "Charge,ChargeDescription,District,Post,Neighborhood,Longitude,Latitude,Location 1",
    "19000001,21,M,B,02/28/2019,11:45,1 EXAMPLE ST,Unknown Offense,1 EXAMPLE ST,1 1111,"
    "CDS VIOLATION,Southwest,835,Sampletown,-76.651425000000,39.287927000000,",
    '19000002,28,F,W,02/28/2019,15:04,,Unknown Offense,,1 1137,"THEFT: $100 TO UNDER $1,500",'
    ",,,0,0,",
]


def test_baltimore_arrest_date_and_time_columns_and_unknown_coordinates(
        ws, tmp_path: Path) -> None:
    case_id = ws.create_case("AR-2", "Baltimore-style").id
    path = _csv(tmp_path, "BPD_Arrests.csv", BALTIMORE)
    result = run_import(ws, case_id, path)
    assert result.errors == ()
    first, second = (e for e in ws.list_events(case_id, limit=None) if e.kind == "arrest")
    assert first.properties["arrest_time"] == "2019-02-28T11:45:00"
    assert first.properties["charges"] == [{"description": "CDS VIOLATION", "code": "1 1111"}]
    assert first.properties["place"] == {"arrest_location": "1 EXAMPLE ST",
                                         "area": "Sampletown", "precinct": "Southwest"}
    assert second.properties["charges"] == [{"description": "THEFT: $100 TO UNDER $1,500",
                                             "code": "1 1137"}]
    # 0/0 is Baltimore's "not geocoded", not a point in the Atlantic.
    assert "lat" not in second.properties and "place" not in second.properties
    assert [e.label for e in ws.list_entities(case_id, kind="location")] == [
        "39.287927, -76.651425"]
    assert [e.label for e in ws.list_entities(case_id, kind="address")] == ["1 EXAMPLE ST"]


DALLAS = [
    "Incident Number w/ Year,Arrest Number,Arrest Date,Arrest Time,Arrest Day of the Week,"
    "Arrest Address,Arrest Zipcode,Arrest City,Arrest State,Arrest Location,"
    "Arrestee Age At Arrest Time,Arrestee Race,Arrestee Sex,Arrest Charge,Severity of Charge,"
    "Latitude,Longitude",
    "000123-2023,23-000456,01/02/2023 12:00:00 AM,02:30 PM,Monday,1000 EXAMPLE AVE,75201,"
    "SAMPLEVILLE,TX,Street,34,Black,Male,PUBLIC INTOXICATION,Misdemeanor C,32.78,-96.80",
    "000124-2023,23-000457,01/03/2023 12:00:00 AM,11:15 PM,Tuesday,200 SAMPLE ST,75215,"
    "SAMPLEVILLE,TX,Residence,29,White,Female,AGG ASSAULT W/DEADLY WEAPON,Felony 2nd Degree,,",
]


def test_dallas_severity_words_and_arrest_address(tmp_path: Path) -> None:
    path = _csv(tmp_path, "Police_Arrests.csv", DALLAS)
    first, second = _events(path)
    assert first.occurred_at == datetime(2023, 1, 2, 14, 30)
    assert second.occurred_at == datetime(2023, 1, 3, 23, 15)
    assert (first.properties["level"], second.properties["level"]) == ("misdemeanor", "felony")
    assert first.properties["arrestee"] == {"sex": "M", "race": "Black", "age": 34}
    address = next(p for p in first.parties if p.kind == "address")
    assert (address.value, address.role) == ("1000 EXAMPLE AVE, SAMPLEVILLE, TX 75201",
                                              "arrest_location")
    # Dallas's "Arrest Location" is the kind of premises, kept under its header.
    assert first.properties["other_columns"]["Arrest Location"] == "Street"


def test_named_roster_with_summary_and_numbered_charge_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path, "lee_county.csv", [
        "Booking_Number,Full_Name,First_Name,Last_Name,DOB,Sex,Race,Arrest_Date,Arrest_Time,"
        "Booking_Date,Booking_Time,Agency,Charges,Charge_1,Charge_1_Statute,Charge_1_Bond,"
        "Charge_2,Charge_2_Statute,Charge_2_Bond,Bond_Amount,Bond_Type,Case_Number",
        '2023-00101,"EXAMPLE, ALICE B",ALICE,EXAMPLE,01/02/1990,F,W,01/02/2023,14:30,'
        "01/02/2023,16:10,EXAMPLE COUNTY SHERIFF,BATTERY | RESIST W/O VIOLENCE,BATTERY,784.03,"
        "500.00,RESIST W/O VIOLENCE,843.02,250.00,750.00,SURETY,23-CF-000001",
    ])
    booking = next(e for e in _events(path) if e.kind == "booking")
    assert booking.parties[0].label == "ALICE EXAMPLE"
    assert booking.properties["charges"] == [
        {"description": "BATTERY", "statute": "784.03", "bond_amount": "500.00",
         "bond_type": "SURETY", "court_case": "23-CF-000001"},
        {"description": "RESIST W/O VIOLENCE", "statute": "843.02", "bond_amount": "250.00",
         "bond_type": "SURETY", "court_case": "23-CF-000001"}]


def test_a_nameless_row_in_a_named_roster_is_still_an_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, "roster.csv", [
        "Booking Number,Name,Sex,Arrest Date,Charge",
        'B-1,"Example, Alice",F,2024-03-01,Theft',
        "B-2,,M,2024-03-02,Fraud",
    ])
    records = list(read_bookings(path))
    assert [(r.ref, r.field) for r in records if isinstance(r, RowError)] == [
        ("row 3", "last_name")]


@pytest.mark.parametrize("header", [
    "Booking ID,Booking Date,Charges,Amount",          # a hotel's reservations
    "Report ID,Report Date,Charge,Total",               # an invoice report
    "Arrest Number,Arrest Date",                        # nothing about the arrest
])
def test_tables_that_are_no_arrest_list_are_not_claimed(tmp_path: Path, header: str) -> None:
    path = _csv(tmp_path, "other.csv", [header, ",".join(["X-1", "2024-03-01", "12.50", "3"][
        :len(header.split(","))])])
    assert BookingTableParser().sniff(path, path.read_bytes()) == 0.0
