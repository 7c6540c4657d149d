"""What the officer reads about imported records: the details panel, the event table and
the import preview, for the nested properties today's importers write (charges, arrestee
descriptors, polls, shared contacts, attachments, positions, amounts).

Every input is generated here: synthetic people, numbers and text in the shape of the
real exports (an NYPD-style open-data arrest list, a booking roster with one row per
charge, a Telegram Desktop result.json, an iOS WhatsApp export, an OFX investment
statement, a card CSV).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from workstation.ingest.pipeline import run_import
from ui.import_wizard import ImportWizardDialog
from ui.models import EventTableModel
from ui.views.details import DetailsWidget

NYPD = (
    "ARREST_KEY,ARREST_DATE,PD_CD,PD_DESC,KY_CD,OFNS_DESC,LAW_CODE,LAW_CAT_CD,ARREST_BORO,"
    "ARREST_PRECINCT,JURISDICTION_CODE,AGE_GROUP,PERP_SEX,PERP_RACE,X_COORD_CD,Y_COORD_CD,"
    "Latitude,Longitude\n"
    '900000101,01/15/2024,109,"ASSAULT 2,1,UNCLASSIFIED",106,FELONY ASSAULT,PL 1200502,F,K,77,0,'
    "25-44,M,BLACK,1001234,185432,40.6712,-73.9301\n"
)
ROSTER = (
    "Booking Number,Last Name,First Name,DOB,Sex,Booking Date,Arresting Agency,Charge,Statute,"
    "Degree,Bond Amount,Bond Type\n"
    'B24-0001,Example,Alice,1990-04-02,F,03/01/2024 14:30,Metro PD,Burglary 2nd Degree,PL 140.25,F2,'
    '"$5,000.00",Cash\n'
    "B24-0001,Example,Alice,1990-04-02,F,03/01/2024 14:30,Metro PD,Criminal Mischief,PL 145.00,MA,"
    "$500.00,Surety\n"
    "B24-0001,Example,Alice,1990-04-02,F,03/01/2024 14:30,Metro PD,Resisting Arrest,PL 205.30,MA,,ROR\n"
)
TELEGRAM = """{
 "name": "Bob Sample", "type": "personal_chat", "id": 5550001,
 "messages": [
  {"id": 1, "type": "message", "date": "2024-03-01T10:02:00", "date_unixtime": "1709287320",
   "from": "Alice Example", "from_id": "user1001", "text": "", "text_entities": [],
   "poll": {"question": "Which day works?", "closed": false, "total_voters": 3,
            "answers": [{"text": "Monday", "voters": 2, "chosen": true},
                        {"text": "Friday", "voters": 1, "chosen": false}]}},
  {"id": 2, "type": "message", "date": "2024-03-01T10:03:00", "date_unixtime": "1709287380",
   "from": "Bob Sample", "from_id": "user1002", "text": "", "text_entities": [],
   "contact_information": {"first_name": "Carol", "last_name": "Placeholder",
                           "phone_number": "+44 7700 900456"},
   "contact_vcard": "(File not included. Change data exporting settings to download.)"},
  {"id": 3, "type": "message", "date": "2024-03-01T10:04:00", "date_unixtime": "1709287440",
   "from": "Bob Sample", "from_id": "user1002", "text": "", "text_entities": [],
   "location_information": {"latitude": 51.507351, "longitude": -0.127758}}
 ]
}
"""
OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20240405120000[-5:EST]<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>
<INVSTMTMSGSRSV1><INVSTMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<INVSTMTRS><DTASOF>20240405120000[-5:EST]<CURDEF>USD
<INVACCTFROM><BROKERID>example.com<ACCTID>9990001</INVACCTFROM>
<INVTRANLIST><DTSTART>20240301<DTEND>20240405
<BUYSTOCK><INVBUY><INVTRAN><FITID>T1<DTTRADE>20240301143000[-5:EST]<MEMO>Buy</INVTRAN><SECID><UNIQUEID>000000AA1<UNIQUEIDTYPE>CUSIP</SECID><UNITS>100<UNITPRICE>25.50<COMMISSION>9.95<TOTAL>-2559.95<SUBACCTSEC>CASH<SUBACCTFUND>CASH</INVBUY><BUYTYPE>BUY</BUYSTOCK>
</INVTRANLIST>
<INVPOSLIST>
<POSSTOCK><INVPOS><SECID><UNIQUEID>000000AA1<UNIQUEIDTYPE>CUSIP</SECID><HELDINACCT>CASH<POSTYPE>LONG<UNITS>100<UNITPRICE>27.10<MKTVAL>2710.00<DTPRICEASOF>20240405120000[-5:EST]</INVPOS></POSSTOCK>
</INVPOSLIST>
</INVSTMTRS></INVSTMTTRNRS></INVSTMTMSGSRSV1>
<SECLISTMSGSRSV1><SECLIST>
<STOCKINFO><SECINFO><SECID><UNIQUEID>000000AA1<UNIQUEIDTYPE>CUSIP</SECID><SECNAME>ACME Widgets Inc<TICKER>ACMW</SECINFO></STOCKINFO>
</SECLIST></SECLISTMSGSRSV1>
</OFX>
"""
WHATSAPP = ("[01/03/2024, 09:00:00] Alice Example: Hello Bob\n"
            "[01/03/2024, 09:01:12] Bob Sample: \u200eimage omitted\n")
CARDS = ("Transaction Date,Post Date,Description,Category,Type,Amount,Card No.\n"
         "03/01/2024,03/02/2024,COFFEE SHOP EXAMPLE,Food & Drink,Sale,-4.50,4242\n")


# Case numbers must be unique in a database: a counter, not a hash of the file name (str
# hashes change from run to run, so two names could meet in four digits on some runs).
_CASE_NUMBERS = itertools.count(1)


def _import(ws, tmp_path: Path, name: str, text: str) -> int:  # noqa: ANN001
    case_id = ws.create_case(f"2024-UI-{next(_CASE_NUMBERS):04d}", "Imports").id
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    run_import(ws, case_id, path)
    return case_id


def _details(qtbot, session, table: str, record_id: int,  # noqa: ANN001
             size: tuple[int, int] | None = None) -> tuple[DetailsWidget, dict[str, str]]:
    w = DetailsWidget(session)
    qtbot.addWidget(w)
    if size is not None:  # shown at a panel's real size, so widths can be checked
        w.resize(*size)
        w.show()
    with qtbot.waitSignal(w.loaded, timeout=5000):
        w.show_record(table, record_id)
    m = w.properties_model
    rows = {m.data(m.index(r, 0)): m.data(m.index(r, 1)) for r in range(m.rowCount())}
    return w, rows


def _tooltip(w: DetailsWidget, label: str) -> str:
    m = w.properties_model
    for r in range(m.rowCount()):
        if m.data(m.index(r, 0)) == label:
            return m.data(m.index(r, 1), Qt.ItemDataRole.ToolTipRole)
    raise AssertionError(f"no row {label!r}")


def _no_raw_dumps(rows: dict[str, str]) -> None:
    for label, value in rows.items():
        assert not value.startswith(("{", "[{", "[\"")), f"{label}: raw JSON shown: {value}"
        assert "_" not in label or label.startswith("Column"), f"snake_case label shown: {label}"
        assert value not in ("True", "False", "None"), f"{label}: Python value shown: {value}"


def _event(ws, case_id: int, kind: str, predicate=lambda ev: True):  # noqa: ANN001, ANN202
    return next(ev for ev in ws.list_events(case_id, kinds=[kind]) if predicate(ev))


def test_booking_charges_read_as_one_line_each_with_statute_level_and_bond(qtbot, session, ws, tmp_path):  # noqa: ANN001
    case_id = _import(ws, tmp_path, "roster.csv", ROSTER)
    ev = _event(ws, case_id, "booking")
    w, rows = _details(qtbot, session, "event", ev.id)
    _no_raw_dumps(rows)
    assert rows["Charge 1 of 3"] == "Burglary 2nd Degree — statute PL 140.25 · felony (F2) · bond 5,000.00 (Cash)"
    assert rows["Charge 2 of 3"].startswith("Criminal Mischief — statute PL 145.00 · misdemeanor (MA)")
    assert rows["Charge 3 of 3"].endswith("bond: ROR")
    assert "Bond: 5,000.00" in _tooltip(w, "Charge 1 of 3")
    assert rows["Booking number"] == "B24-0001"
    assert rows["Most serious level"] == "Felony"
    assert rows["Arrestee"] == "Alice Example — Person"
    # The roster wrote no zone: the panel says so rather than show "UTC+00:00" as a fact.
    assert rows["Source offset"] == "none in the file (read as UTC)"
    assert rows["Booking time"] == "2024-03-01 14:30:00 (no zone in the file; read as UTC)"


def test_anonymised_arrest_shows_descriptors_place_and_the_files_own_columns(qtbot, session, ws, tmp_path):  # noqa: ANN001
    case_id = _import(ws, tmp_path, "arrests.csv", NYPD)
    ev = _event(ws, case_id, "arrest")
    w, rows = _details(qtbot, session, "event", ev.id)
    _no_raw_dumps(rows)
    assert rows["Arrestee · Age"] == "25-44"
    assert rows["Arrestee · Sex"] == "M"
    assert rows["Place · Precinct"] == "77"
    assert rows["Column “OFNS_DESC”"] == "FELONY ASSAULT"
    assert rows["Charge 1 of 1"].startswith("ASSAULT 2,1,UNCLASSIFIED — statute PL 1200502")
    # The list gives a date only: no invented midnight, and the subtitle says the same.
    if ev.properties.get("time_precision") == "day":
        assert rows["Time"].startswith("2024-01-15 (date only")
        assert "00:00:00" not in w.subtitle_label.text()


def test_telegram_poll_contact_and_location_are_spelled_out(qtbot, session, ws, tmp_path):  # noqa: ANN001
    case_id = _import(ws, tmp_path, "result.json", TELEGRAM)
    events = ws.list_events(case_id, kinds=["message"])
    poll = next(ev for ev in events if "poll" in ev.properties)
    w, rows = _details(qtbot, session, "event", poll.id)
    _no_raw_dumps(rows)
    assert w.title_label.text() == "Poll: Which day works?"
    assert rows["Poll"] == "Which day works? (open, 3 voters)"
    assert rows["Poll option 1"] == "Monday — 2 votes (the exporting account's choice)"
    assert rows["Poll option 2"] == "Friday — 1 vote"

    contact = next(ev for ev in events if "contact" in ev.properties)
    w, rows = _details(qtbot, session, "event", contact.id)
    _no_raw_dumps(rows)
    assert rows["Shared contact"] == "Carol Placeholder, +44 7700 900456"
    assert rows["Attachment"] == "contact.vcf (text/vcard, file not included in the export)"
    assert rows["Media"] == "not included in the export"
    assert rows["Mentioned"] == "+44 7700 900456 — Phone"

    place = next(ev for ev in events if "location" in ev.properties)
    w, rows = _details(qtbot, session, "event", place.id)
    assert rows["Location"] == "51.507351, -0.127758"

    # The event table names what each message is, though none has text.
    model = EventTableModel(session)
    model.set_query(case_id=case_id)
    qtbot.waitUntil(lambda: model.rowCount() == 3 and not model.loading, timeout=5000)
    titles = [model.data(model.index(r, 2)) for r in range(3)]
    assert titles == ["Poll: Which day works?", "Shared contact: Carol Placeholder, +44 7700 900456",
                      "Location: 51.507351, -0.127758"]


def test_whatsapp_omitted_media_is_named(qtbot, session, ws, tmp_path):  # noqa: ANN001
    case_id = _import(ws, tmp_path, "WhatsApp Chat - Bob Sample.txt", WHATSAPP)
    ev = _event(ws, case_id, "message", lambda e: e.properties.get("media_omitted"))
    w, rows = _details(qtbot, session, "event", ev.id)
    _no_raw_dumps(rows)
    assert w.title_label.text() == "Image omitted"
    assert rows["Media"] == "image omitted from the export"
    assert rows["Sender"] == "Bob Sample — Online account"


def test_investment_statement_amounts_carry_their_currency(qtbot, session, ws, tmp_path):  # noqa: ANN001
    case_id = _import(ws, tmp_path, "statement.ofx", OFX)
    buy = _event(ws, case_id, "transaction")
    w, rows = _details(qtbot, session, "event", buy.id)
    _no_raw_dumps(rows)
    assert rows["Amount"] == "-2,559.95 USD"
    assert rows["Unit price"] == "25.50 USD"
    assert rows["Transaction ID (FITID)"] == "T1"

    position = _event(ws, case_id, "other", lambda e: e.properties.get("type") == "POSITION")
    w, rows = _details(qtbot, session, "event", position.id)
    _no_raw_dumps(rows)
    assert rows["Market value"] == "2,710.00 USD"
    assert rows["Position kind"] == "Stock"
    # An aware time property is shown in the display zone, its own offset in the tooltip.
    assert rows["Price as of"] == "2024-04-05 17:00:00 (UTC)"
    assert "2024-04-05 12:00:00 at the source (UTC-05:00)" in _tooltip(w, "Price as of")

    model = EventTableModel(session)
    model.set_query(case_id=case_id, kind="transaction")
    qtbot.waitUntil(lambda: model.rowCount() == 1 and not model.loading, timeout=5000)
    assert model.data(model.index(0, 2)).endswith(" · -2,559.95 USD")
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Time (UTC)"


def test_card_amount_without_currency_and_card_entity(qtbot, session, ws, tmp_path):  # noqa: ANN001
    case_id = _import(ws, tmp_path, "cards.csv", CARDS)
    ev = _event(ws, case_id, "transaction")
    _w, rows = _details(qtbot, session, "event", ev.id)
    _no_raw_dumps(rows)
    assert rows["Amount"] == "-4.50 (currency not stated)"
    card = next(p for p in ev.parties if p.kind == "card")
    _w, rows = _details(qtbot, session, "entity", card.entity_id)
    _no_raw_dumps(rows)
    assert rows["Last 4 digits"] == "4242"


def test_email_entity_shows_the_name_the_mail_gave_it(qtbot, session, ws):  # noqa: ANN001
    case_id = ws.create_case("2024-UI-9001", "Mail").id
    email = ws.add_entity(case_id, "email", "alice@example.org",
                          properties={"display_name": "Alice Example"}).id
    w, rows = _details(qtbot, session, "entity", email)
    assert w.title_label.text() == "Alice Example <alice@example.org>"
    assert rows["Name given by the source"] == "Alice Example"
    assert rows["Domain"] == "example.org"


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("result.json", TELEGRAM, ["Poll: Which day works?",
                               # the export's card file is named, like any attachment
                               "Shared contact: Carol Placeholder, +44 7700 900456 📎 contact.vcf"]),
    ("cards.csv", CARDS, ["COFFEE SHOP EXAMPLE [-4.50]"]),
])
def test_import_preview_names_records_and_explains_them(qtbot, session, tmp_path, name, text, expected):  # noqa: ANN001
    case_id = session.ws.create_case("2024-UI-9002", "Preview").id
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    wiz = ImportWizardDialog(session, case_id, path=path)
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.next()
    table = wiz.mapping_page.preview_table
    qtbot.waitUntil(lambda: table.rowCount() >= len(expected), timeout=10000)
    assert [table.item(r, 3).text() for r in range(len(expected))] == expected
    if name == "result.json":
        assert "Poll option 1: Monday — 2 votes" in table.item(0, 3).toolTip()
    else:
        assert table.item(0, 4).text() == "Payment card: •••• 4242"
        assert table.item(0, 3).toolTip().startswith("Amount: -4.50 (currency not stated)")
    wiz.close()


FOREIGN_OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX><CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<CCSTMTRS><CURDEF>USD<CCACCTFROM><ACCTID>4000000000000002</CCACCTFROM>
<BANKTRANLIST><DTSTART>20240301<DTEND>20240331
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240306120000<DTUSER>20240305120000<TRNAMT>-100.00
<FITID>T1<NAME>HOTEL CENTRAL PARIS<CURRENCY><CURRATE>1.0825<CURSYM>EUR</CURRENCY></STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>-108.25<DTASOF>20240331</LEDGERBAL></CCSTMTRS></CCSTMTTRNRS>
</CREDITCARDMSGSRSV1></OFX>
"""


def test_foreign_currency_card_purchase_reads_in_both_currencies(qtbot, session, ws, tmp_path):  # noqa: ANN001
    """A card purchase made in euros on a dollar card: the details say both amounts, each
    with its money, when the card was used and when the bank posted it — in words."""
    case_id = _import(ws, tmp_path, "card.ofx", FOREIGN_OFX)
    ev = _event(ws, case_id, "transaction")
    _w, rows = _details(qtbot, session, "event", ev.id)
    _no_raw_dumps(rows)
    assert rows["Amount"] == "-100.00 EUR"
    assert rows["In the account's currency"] == "-108.25 USD"
    assert "Account currency" not in rows
    assert rows["Dated by"] == "the day the card was used (DTUSER)"
    assert rows["Posted by the bank"].startswith("2024-03-06")
