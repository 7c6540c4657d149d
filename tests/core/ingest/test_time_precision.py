"""Events whose source gives a day and no time of day.

A statement or arrest list that writes only dates is stored at midnight of the import's
zone (the stored time never changes), and the event says the time is unknown:
``properties["time_precision"] == "day"`` (the convention of Telegram's service entries
and the FollowTheMoney import). Midnight written out in a column that holds real times is
a time; written out on every row (LAPD's "12:00:00 AM", OFX's "000000") it is not.
Everything goes through ``run_import`` into a case database and is read back through the
service API, as the timeline reads it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from workstation.ingest.pipeline import run_import
from workstation.ingest.records import ImportOptions

NEW_YORK = ZoneInfo("America/New_York")


def _import(ws, tmp_path: Path, name: str, text: str, *, newline: str = "\n",
            number: str = "TP-1") -> list:
    case_id = ws.create_case(number, "Day-only dates", timezone="America/New_York").id
    path = tmp_path / name
    path.write_text(text.replace("\n", newline), encoding="utf-8")
    result = run_import(ws, case_id, path, options=ImportOptions(
        timezone="America/New_York", default_region="US"))
    assert result.errors == ()
    return list(ws.list_events(case_id, limit=None))


def _wall(ev) -> time:
    """The event's stored time of day, in the zone it was imported in."""
    return ev.occurred_at.astimezone(NEW_YORK).time()


def _by_title(events: list) -> dict:
    return {e.title: e for e in events}


# --- card / bank CSV --------------------------------------------------------------------

def test_card_csv_with_a_date_column_and_no_time_marks_each_day(ws, tmp_path: Path) -> None:
    evs = _import(ws, tmp_path, "card.csv",
                  "Transaction Date,Description,Amount,Card Number\n"
                  "2024-01-05,GIFT CARD PLAZA,-25.00,4000000000000002\n"
                  "01/06/2024,QUICKFUEL 221,-40.10,4000000000000002\n")
    assert len(evs) == 2
    for ev in evs:
        assert ev.properties["time_precision"] == "day"
        assert _wall(ev) == time(0)  # still stored at midnight of the import's zone
    assert evs[0].occurred_at == datetime(2024, 1, 5, tzinfo=NEW_YORK)


def test_midnight_in_a_column_of_real_times_is_a_time(ws, tmp_path: Path) -> None:
    evs = _by_title(_import(ws, tmp_path, "card.csv",
                            "Transaction Date,Description,Amount\n"
                            "2024-01-05 13:45:10,CORNER GROCERY,-12.00\n"
                            "2024-01-06 00:00:00,NIGHT TAXI,-30.00\n"
                            "2024-01-06 08:02:55,PHOTO PRINT HUB,-4.50\n"
                            "2024-01-07,HOTEL CENTRAL,-80.00\n"))
    for title in ("CORNER GROCERY", "NIGHT TAXI", "PHOTO PRINT HUB"):
        assert "time_precision" not in evs[title].properties
    # Midnight written out in a column of real times is a time like any other...
    assert evs["NIGHT TAXI"].occurred_at == datetime(2024, 1, 6, tzinfo=NEW_YORK)
    # ...and a date written alone in the same column is a day.
    assert evs["HOTEL CENTRAL"].properties["time_precision"] == "day"


def test_midnight_on_every_row_of_a_date_column_is_a_day(ws, tmp_path: Path) -> None:
    evs = _import(ws, tmp_path, "card.csv",
                  "Date,Description,Amount\n"
                  "01/05/2024 12:00:00 AM,HOTEL CENTRAL,-120.00\n"
                  "01/07/2024 12:00:00 AM,RIDE SHARE CO,-18.20\n"
                  "01/09/2024 12:00:00 AM,VPN SECURE LTD,-9.99\n")
    assert [e.properties.get("time_precision") for e in evs] == ["day", "day", "day"]
    assert [_wall(e) for e in evs] == [time(0)] * 3


def test_a_blank_time_cell_gives_its_row_the_day_only(ws, tmp_path: Path) -> None:
    evs = _by_title(_import(ws, tmp_path, "bank.csv",
                            "Date,Time,Description,Amount\n"
                            "2024-02-01,09:30,CORNER GROCERY,-5.00\n"
                            "2024-02-02,,MONEY WIRE EXPRESS,-500.00\n"
                            "2024-02-03,00:00,NIGHT TAXI,-22.00\n"
                            "2024-02-04,17:12,PHOTO PRINT HUB,-3.00\n"))
    assert evs["MONEY WIRE EXPRESS"].properties["time_precision"] == "day"
    assert _wall(evs["MONEY WIRE EXPRESS"]) == time(0)
    for title in ("CORNER GROCERY", "NIGHT TAXI", "PHOTO PRINT HUB"):
        assert "time_precision" not in evs[title].properties


def test_a_workbook_of_date_cells_gives_days(ws, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    sheet = wb.active
    sheet.append(["Transaction Date", "Description", "Amount"])
    sheet.append([datetime(2024, 3, 1), "CORNER GROCERY", -7.5])
    sheet.append([datetime(2024, 3, 2), "HOTEL CENTRAL", -99.0])
    path = tmp_path / "statement.xlsx"
    wb.save(path)
    case_id = ws.create_case("TP-2", "Workbook", timezone="America/New_York").id
    run_import(ws, case_id, path, options=ImportOptions(timezone="America/New_York"))
    evs = ws.list_events(case_id, limit=None)
    assert [e.properties.get("time_precision") for e in evs] == ["day", "day"]


# --- OFX ----------------------------------------------------------------------------------

_OFX_HEAD = ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
             "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n")


def _ofx(*posted: str) -> str:
    trns = "".join(
        f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>{d}<TRNAMT>-{i + 1}.00<FITID>T{i}"
        f"<NAME>Merchant {i}</STMTTRN>\n" for i, d in enumerate(posted))
    return (_OFX_HEAD + "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
            "<DTSERVER>20240110<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\n"
            "<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>\n"
            "<STMTRS><CURDEF>USD<BANKACCTFROM><BANKID>111000025<ACCTID>12345678"
            "<ACCTTYPE>CHECKING</BANKACCTFROM>\n<BANKTRANLIST><DTSTART>20240101"
            f"<DTEND>20240110\n{trns}</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n")


def test_ofx_date_only_dtposted_is_a_day(ws, tmp_path: Path) -> None:
    evs = _by_title(_import(ws, tmp_path, "stmt.ofx",
                            _ofx("20240105", "20240106[-5:EST]", "20240107093000"),
                            newline="\r\n"))
    assert evs["Merchant 0"].properties["time_precision"] == "day"
    assert evs["Merchant 0"].occurred_at == datetime(2024, 1, 5, tzinfo=NEW_YORK)
    assert evs["Merchant 1"].properties["time_precision"] == "day"
    assert evs["Merchant 1"].occurred_at == datetime(2024, 1, 6, tzinfo=timezone(timedelta(hours=-5)))
    assert "time_precision" not in evs["Merchant 2"].properties


def test_ofx_writing_the_same_placeholder_time_on_every_transaction(ws, tmp_path: Path) -> None:
    evs = _import(ws, tmp_path, "stmt.qfx",
                  _ofx("20240105000000.000[-5:EST]", "20240106000000.000[-5:EST]",
                       "20240108000000.000[-5:EST]"))
    assert [e.properties.get("time_precision") for e in evs] == ["day"] * 3
    # Kept as written: midnight at the file's own offset.
    assert [e.occurred_at.utcoffset() for e in evs] == [timedelta(hours=-5)] * 3
    assert [e.occurred_at.time() for e in evs] == [time(0)] * 3


def test_ofx_noon_on_every_transaction_is_a_placeholder_too(ws, tmp_path: Path) -> None:
    evs = _import(ws, tmp_path, "stmt.ofx", _ofx("20240105120000", "20240106120000"))
    assert [e.properties.get("time_precision") for e in evs] == ["day", "day"]
    assert [_wall(e) for e in evs] == [time(12)] * 2
    # A purchase and its fee posted in the same second of one day are real times.
    pair = _import(ws, tmp_path, "pair.ofx", _ofx("20240105143015", "20240105143015"),
                   number="TP-2")
    assert [e.properties.get("time_precision") for e in pair] == [None, None]


def test_ofx_with_real_times_keeps_a_midnight_one(ws, tmp_path: Path) -> None:
    evs = _import(ws, tmp_path, "stmt.ofx",
                  _ofx("20240105000000", "20240106141503", "20240107081122", "20240108"))
    assert [e.properties.get("time_precision") for e in evs] == [None, None, None, "day"]


# --- QIF ----------------------------------------------------------------------------------

def test_every_qif_transaction_is_a_day(ws, tmp_path: Path) -> None:
    evs = _import(ws, tmp_path, "export.qif",
                  "!Type:CCard\nD1/5'24\nT-25.00\nPGift Card Plaza\n^\n"
                  "D01/06/2024\nT-40.10\nPQuickfuel 221\n^\n")
    assert [e.properties.get("time_precision") for e in evs] == ["day", "day"]
    assert evs[0].occurred_at == datetime(2024, 1, 5, tzinfo=NEW_YORK)


# --- arrest / booking lists -------------------------------------------------------------

def test_arrest_list_with_a_date_and_no_time_column(ws, tmp_path: Path) -> None:
    evs = _import(ws, tmp_path, "NYPD_Arrest_Data_YTD.csv",
                  "ARREST_KEY,ARREST_DATE,PD_DESC,LAW_CAT_CD,ARREST_BORO,AGE_GROUP,PERP_SEX\n"
                  "900000001,01/05/2024,ASSAULT 3,M,K,25-44,M\n"
                  "900000002,01/06/2024,PETIT LARCENY,M,Q,18-24,F\n")
    arrests = [e for e in evs if e.kind == "arrest"]
    assert len(arrests) == 2
    assert [e.properties.get("time_precision") for e in arrests] == ["day", "day"]
    assert arrests[0].occurred_at == datetime(2024, 1, 5, tzinfo=NEW_YORK)


LAPD = (
    "Report ID,Report Type,Arrest Date,Time,Area Name,Age,Sex Code,Descent Code,Charge,"
    "Charge Description,Booking Date,Booking Time\n"
    "7000001,BOOKING,01/02/2024 12:00:00 AM,1430,77th Street,34,M,H,459PC,BURGLARY,"
    "01/02/2024 12:00:00 AM,1615\n"
    "7000002,RFC,01/04/2024 12:00:00 AM,,Central,27,F,B,41.27LAMC,DRINKING IN PUBLIC,,\n"
    "7000003,RFC,01/05/2024 12:00:00 AM,0000,Central,41,M,W,41.27LAMC,DRINKING IN PUBLIC,,\n"
)


def test_lapd_midnight_date_column_with_a_blank_time(ws, tmp_path: Path) -> None:
    evs = _import(ws, tmp_path, "Arrest_Data_from_2020_to_Present.csv", LAPD)
    by_ref = {e.source_ref: e for e in evs}
    timed, untimed, at_midnight = by_ref["row 2"], by_ref["row 3"], by_ref["row 4"]
    assert _wall(timed) == time(14, 30) and "time_precision" not in timed.properties
    assert "time_precision" not in by_ref["row 2 (booking)"].properties
    # "12:00:00 AM" is in every row of the date column: with no time beside it, a day.
    assert untimed.properties["time_precision"] == "day"
    assert untimed.occurred_at == datetime(2024, 1, 4, tzinfo=NEW_YORK)
    # "0000" written in the time column is midnight, known.
    assert "time_precision" not in at_midnight.properties
    assert _wall(at_midnight) == time(0)
    assert len(evs) == 4


def test_named_booking_roster_with_dates_only(ws, tmp_path: Path) -> None:
    evs = _import(ws, tmp_path, "roster.csv",
                  "Booking Number,Last Name,First Name,DOB,Booking Date,Arrest Date,Charges\n"
                  "B-1001,Example,Alice,1990-02-03,2024-01-05 16:20,2024-01-05,THEFT\n"
                  "B-1002,Sample,Bob,1985-07-08,2024-01-06 09:05,2024-01-06 08:40,DUI\n")
    got = {(e.kind, e.properties.get("booking_number")): e for e in evs}
    booked, arrested = got[("booking", "B-1001")], got[("arrest", "B-1001")]
    assert "time_precision" not in booked.properties
    assert arrested.properties["time_precision"] == "day"
    assert _wall(arrested) == time(0)
    assert "time_precision" not in got[("arrest", "B-1002")].properties


def test_booking_xml_with_an_xs_date(ws, tmp_path: Path) -> None:
    evs = _import(ws, tmp_path, "bookings.xml",
                  "<?xml version='1.0'?>\n<bookings>\n<booking>\n"
                  "<booking_number>X-1</booking_number><last_name>Example</last_name>"
                  "<first_name>Alice</first_name>\n"
                  "<arrest_time>2024-03-02</arrest_time>"
                  "<booking_time>2024-03-02T23:40:00-05:00</booking_time>\n"
                  "<charges><charge><description>THEFT</description></charge></charges>\n"
                  "</booking>\n</bookings>\n")
    got = {e.kind: e for e in evs}
    assert "time_precision" not in got["booking"].properties
    assert got["arrest"].properties["time_precision"] == "day"
