"""CSV/XLSX statements: the csv2ofx layouts with the built-in profiles, and bad input."""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from workstation.ingest.finance import PARSERS
from workstation.ingest.finance.table import TransactionTableParser, card_from_text, read_transactions
from workstation.ingest.records import (
    ImportOptions,
    ParsedEvent,
    ParseError,
    Party,
    Record,
    RowError,
)
from workstation.ingest.tabular import BUILTIN_PROFILES, MappingProfile, ReadStats


def _events(records: list[Record]) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent)]


def _party(event: ParsedEvent, kind: str, role: str | None = None) -> Party | None:
    return next((p for p in event.parties if p.kind == kind and (role is None or p.role == role)),
                None)


@pytest.fixture(scope="module")
def csv_dir(shared_data: Path) -> Path:
    return shared_data / "finance" / "csv2ofx" / "test"


def test_amazon_orders(csv_dir: Path) -> None:
    stats = ReadStats()
    records = list(read_transactions(csv_dir / "amazon.csv", stats=stats))
    assert stats.profile is not None and stats.profile.name == "amazon_orders"
    # We import every completed order, including the one csv2ofx excluded by card (9876);
    # pending orders, the cancelled one (no total) and the repeated header are skipped and
    # counted, not errors.
    assert not [r for r in records if isinstance(r, RowError)]
    events = _events(records)
    assert [(e.properties["reference"], e.properties["amount"]) for e in events] == [
        ("112-1635210-7125801", Decimal("-4.22")), ("111-3273904-8117030", Decimal("-7.42")),
        ("114-5269613-6941034", Decimal("-34.12"))]
    assert sum(e.properties["amount"] for e in events[:2]) == Decimal("-11.64")
    assert stats.skipped == {"date is 'pending'": 2, "no amount": 1,
                             "repeated header line": 1}
    first = events[0]
    assert first.title == "Amazon" and first.occurred_at == datetime(2022, 12, 20)
    assert first.properties["currency"] == "USD"
    assert first.properties["description"].startswith("Goof Off Household")
    card = _party(first, "card")
    assert card is not None and card.value == "last4:1234" and card.properties["brand"] == "Visa"
    assert _party(events[2], "card").value == "last4:9876"  # type: ignore[union-attr]
    assert _party(first, "person", "recipient").value == "John Doe"  # type: ignore[union-attr]


def test_capitalone(csv_dir: Path) -> None:
    events = _events(list(read_transactions(csv_dir / "capitalone.csv")))
    assert [(e.title, e.properties["amount"]) for e in events] == [
        ("Airplanes R Us", Decimal("-1000.00")), ("CAPITAL ONE AUTOPAY PYMT", Decimal("1000.00"))]
    assert sum(e.properties["amount"] for e in events) == 0
    assert all(e.properties["posted_at"] == "2016-01-02T00:00:00" for e in events)
    assert all(_party(e, "card").value == "last4:1234" for e in events)  # type: ignore[union-attr]
    assert events[0].properties["category"] == "Other Travel"


def test_pcmastercard_spend_is_debit(csv_dir: Path) -> None:
    events = _events(list(read_transactions(csv_dir / "pcmastercard.csv")))
    assert [(e.title, e.properties["amount"], e.occurred_at) for e in events] == [
        ("Mobil", Decimal("-36.33"), datetime(2019, 1, 10, 18, 50)),
        ("APL*ITUNES.COM/BILL", Decimal("-13.98"), datetime(2018, 12, 15, 17, 8))]
    assert sum(e.properties["amount"] for e in events) == Decimal("-50.31")
    assert {e.properties["currency"] for e in events} == {"CAD"}
    assert [_party(e, "card").value for e in events] == ["last4:1234", "last4:4567"]  # type: ignore[union-attr]
    assert _party(events[0], "organisation", "merchant").value == "Mobil"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["stripe-default.csv", "stripe-all.csv"])
def test_stripe(csv_dir: Path, name: str) -> None:
    stats = ReadStats()
    events = _events(list(read_transactions(csv_dir / name, stats=stats)))
    assert len(events) == 5
    assert [e.properties["amount"] for e in events] == [Decimal(x) for x in (
        "25.00", "27.50", "25.00", "25.00", "10.00")]
    assert sum(e.properties["amount"] for e in events) == Decimal("112.50")
    assert {e.properties["currency"] for e in events} == {"CAD"}   # "cad" upper-cased
    assert events[0].occurred_at == datetime(2021, 2, 3, 13, 12)
    assert min(e.occurred_at for e in events) == datetime(2021, 2, 2, 23, 21)  # type: ignore[type-var]
    last = events[-1]
    assert last.properties["description"] == "Invoice 396BEA86-0001"
    assert _party(last, "person", "payer").value == "Big Customer"  # type: ignore[union-attr]
    assert _party(last, "email").value == "info@bigcustomer.example.com"  # type: ignore[union-attr]
    assert last.properties["fee"] == Decimal("0.59")
    if name == "stripe-default.csv":
        assert stats.profile is not None and stats.profile.name == "stripe_default"
        assert all(_party(e, "person") is None for e in events[:4])
        return
    assert stats.profile is not None and stats.profile.name == "stripe_all"
    holders = [_party(e, "person", "cardholder").value for e in events[:4]]  # type: ignore[union-attr]
    assert holders == ["Charles Darwin", "James Newton", "charles Darwin", "Steve Strong"]
    cards = [_party(e, "card") for e in events[:4]]
    assert {c.value for c in cards if c} == {"last4:0000"}
    assert {c.properties["fingerprint"] for c in cards if c} == {"ZBSdSbi8kMtMmdzP"}
    link = events[0].links[0]
    assert (link.kind, link.src.value, link.dst.value) == ("holder_of", "Charles Darwin",
                                                           "last4:0000")


def test_stripe_created_utc_header_gives_aware_times(tmp_path: Path) -> None:
    path = tmp_path / "payments.csv"
    path.write_text('"id","Description","Created (UTC)","Amount","Currency","Status",'
                    '"Customer Description","Customer Email","Fee"\n'
                    'ch_1,"Test",2021-02-03 13:12,25.00,usd,Paid,,,0.50\n', encoding="utf-8")
    (event,) = _events(list(read_transactions(path)))
    assert event.occurred_at is not None and event.occurred_at.utcoffset() == timedelta(0)


def test_mint_cr_only_line_endings(csv_dir: Path) -> None:
    assert b"\n" not in (csv_dir / "mint.csv").read_bytes()
    events = _events(list(read_transactions(csv_dir / "mint.csv")))
    assert [e.properties["amount"] for e in events] == [Decimal(x) for x in (
        "-1000.00", "-1500.00", "2000.00", "-2500.00")]
    assert sum(e.properties["amount"] for e in events) == Decimal("-3000.00")
    assert events[0].occurred_at == datetime(2015, 6, 12)
    assert events[0].properties["account"] == "Savings"
    assert _party(events[0], "account") is None   # "Savings" is a name, not a number


def test_mint_extra_duplicated_header(csv_dir: Path) -> None:
    stats = ReadStats()
    records = list(read_transactions(csv_dir / "mint_extra.csv", stats=stats))
    assert not [r for r in records if isinstance(r, RowError)]
    assert sum(e.properties["amount"] for e in _events(records)) == Decimal("-3000.00")
    assert len(_events(records)) == 4
    assert stats.skipped["repeated header line"] == 1
    assert stats.skipped["blank row"] == 3


def test_mint_headerless_is_recognised_by_its_rows(csv_dir: Path) -> None:
    path = csv_dir / "mint_headerless.csv"
    stats = ReadStats()
    chosen = _events(list(read_transactions(path, stats=stats)))
    assert stats.profile is not None and stats.profile.name == "mint_headerless"
    # No header confirms the layout: every transaction says how it was chosen.
    assert {(e.properties["profile"], e.properties["profile_chosen_by"]) for e in chosen} == {
        ("mint_headerless", "row shape")}
    options = ImportOptions(profile=BUILTIN_PROFILES["mint_headerless"].to_dict())
    events = _events(list(TransactionTableParser().parse(path, options)))
    assert "profile" not in events[0].properties  # chosen by the investigator
    for found in (chosen, events):
        assert len(found) == 4
        assert sum(e.properties["amount"] for e in found) == Decimal("-3000.00")
        assert [e.ref for e in found] == ["row 1", "row 2", "row 3", "row 4"]


def test_generic_european_statement(tmp_path: Path) -> None:
    path = tmp_path / "umsaetze.csv"
    path.write_text("Buchungstag;Valuta;Empfänger;Verwendungszweck;Betrag;Währung\n"
                    "01.03.2021;02.03.2021;Bäckerei Beispiel;Brötchen;-3,50;EUR\n"
                    "15.03.2021;15.03.2021;Arbeitgeber GmbH;Gehalt März;2.345,67;EUR\n",
                    encoding="cp1252")
    events = _events(list(read_transactions(path, options=ImportOptions(encoding="cp1252"))))
    assert [e.properties["amount"] for e in events] == [Decimal("-3.50"), Decimal("2345.67")]
    assert events[0].occurred_at == datetime(2021, 3, 1)
    assert events[0].title == "Bäckerei Beispiel"
    assert events[0].properties["posted_at"].startswith("2021-03-02")
    assert events[0].properties["currency"] == "EUR"


def test_generic_card_export_with_identifiers(tmp_path: Path) -> None:
    path = tmp_path / "card.csv"
    path.write_text("Transaction Date,Card Number,Cardholder,Merchant,MCC,Amount,IP Address,"
                    "Email,Phone\n"
                    "2024-01-05 10:00,4111 1111 1111 1111,Alex Testperson,Example Games,5816,"
                    "$19.99 DR,192.0.2.10,alex@example.com,+1 202-555-0147\n", encoding="utf-8")
    (event,) = _events(list(read_transactions(path)))
    assert event.properties["amount"] == Decimal("-19.99")
    assert event.properties["mcc"] == "5816"
    assert event.properties["mcc_description"] == "Digital Goods: Games"
    card = _party(event, "card")
    assert card is not None and card.value == "4111111111111111"
    holder = _party(event, "person", "cardholder")
    assert holder is not None
    assert {(l.kind, l.src.value, l.dst.value) for l in event.links} == {
        ("holder_of", "Alex Testperson", "4111111111111111"),
        ("uses", "Alex Testperson", "alex@example.com"),
        ("uses", "Alex Testperson", "+1 202-555-0147")}
    assert _party(event, "ip").value == "192.0.2.10"  # type: ignore[union-attr]


def test_bad_rows_name_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("Date,Description,Amount\n"
                    "2020-01-01,ok,1.00\n"
                    "2020-01-02,short row\n"
                    "2020-13-45,bad date,2.00\n"
                    "2020-01-04,bad amount,12 apples\n"
                    "2020-01-05,ok again,3.00\n", encoding="utf-8")
    records = list(read_transactions(path))
    errors = [r for r in records if isinstance(r, RowError)]
    assert [(e.ref, e.field) for e in errors] == [("row 3", None), ("row 4", "date"),
                                                  ("row 5", "amount")]
    assert "columns" in errors[0].message and "12 apples" in errors[2].message
    assert [e.properties["amount"] for e in _events(records)] == [Decimal("1.00"), Decimal("3.00")]


def test_binary_file_renamed_csv(tmp_path: Path) -> None:
    path = tmp_path / "statement.csv"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40)
    with pytest.raises(ParseError, match="statement.csv"):
        list(TransactionTableParser().parse(path, ImportOptions()))
    assert TransactionTableParser().sniff(path, path.read_bytes()[:65536]) == 0.0


def test_xlsx_statement(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Statement for card ending 1111"])   # a title row above the header
    ws.append(["Date", "Description", "Amount"])
    ws.append([datetime(2021, 5, 4, 10, 30), "Coffee", -3.5])
    ws.append(["05/06/2021", "Refund", 12])
    ws.append(["not a date", "Junk", 1])
    path = tmp_path / "stmt.xlsx"
    wb.save(path)
    profile = MappingProfile(name="xl", columns={"date": "Date", "description": "Description",
                                                 "amount": "Amount"}, skip_rows=1,
                             dayfirst=True)
    records = list(read_transactions(path, profile))
    events = _events(records)
    assert [(e.occurred_at, e.properties["amount"]) for e in events] == [
        (datetime(2021, 5, 4, 10, 30), Decimal("-3.5")), (datetime(2021, 6, 5), Decimal("12"))]
    (err,) = [r for r in records if isinstance(r, RowError)]
    assert err.ref == "row 5" and err.field == "date"
    # Without a profile the header is found below the title row.
    assert TransactionTableParser().sniff(path, path.read_bytes()[:65536]) == pytest.approx(0.5)
    auto = _events(list(read_transactions(path, options=ImportOptions(default_region="GB"))))
    assert [e.properties["amount"] for e in auto] == [Decimal("-3.5"), Decimal("12")]


def test_header_below_account_lines(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Account:,12345678\nPeriod:,2021-01-01 to 2021-01-31\n\n"
                    "Transaction Date,Posted Date,Card No.,Description,Category,Debit,Credit\n"
                    "2021-01-05,2021-01-06,1234,Shop,Other,10.00,\n", encoding="utf-8")
    stats = ReadStats()
    (event,) = _events(list(read_transactions(path, stats=stats)))
    assert stats.profile is not None and stats.profile.name == "capitalone"
    assert stats.profile.skip_rows == 2 and stats.skipped["blank row"] == 1
    assert event.ref == "row 5" and event.properties["amount"] == Decimal("-10.00")


def test_zip_bomb_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "statement.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(40):
                member.write(b"\0" * (1 << 20))
    parser = TransactionTableParser()
    assert parser.sniff(path, path.read_bytes()[:65536]) == pytest.approx(0.3)
    with pytest.raises(ParseError, match="zip bomb"):
        list(parser.parse(path, ImportOptions()))


def test_profile_target_is_checked(csv_dir: Path) -> None:
    booking = MappingProfile(name="b", target="booking", columns={"full_name": "Name"})
    with pytest.raises(ParseError, match="booking"):
        list(TransactionTableParser().parse(csv_dir / "mint.csv",
                                            ImportOptions(profile=booking.to_dict())))


@pytest.mark.parametrize(("number", "last4", "expected"), [
    ("4111-1111-1111-1111", None, ("4111111111111111", "1111")),
    ("**** 1234", None, (None, "1234")),
    (None, "Visa ending in 1234: December 24, 2022: $4.22; ", (None, "1234")),
    (None, "Mastercard - 5678", (None, "5678")),
    (None, "XXXXXXXXXXXX4444", (None, "4444")),
    (None, 1234, (None, "1234")),
])
def test_card_from_text(number: object, last4: object,
                        expected: tuple[str | None, str | None]) -> None:
    card = card_from_text(number, last4)
    assert (card.number, card.last4) == expected


def test_sniff_claims_statements_only(csv_dir: Path, shared_data: Path) -> None:
    parser = TransactionTableParser()
    for name in ("amazon.csv", "capitalone.csv", "mint.csv", "mint_extra.csv",
                 "pcmastercard.csv", "stripe-all.csv", "stripe-default.csv"):
        path = csv_dir / name
        assert parser.sniff(path, path.read_bytes()[:65536]) >= 0.9, name
    for other in ("chat/telegram/result.json", "chat/messenger/facebook_chat.json",
                  "chat/whatsapp/whatsapp_ios_chat.txt",
                  "chat/whatsapp/whatsapp_mixed_formats_chat.txt",
                  "chat/telegram/messages.html", "finance/ofx/bank_medium.ofx",
                  "finance/csv2ofx/converted/mint.qif", "finance/mcc/mcc_codes.csv"):
        path = shared_data / other
        for p in PARSERS:
            if p.name == "ofx" and other.endswith(".ofx"):
                continue
            if p.name == "qif" and other.endswith(".qif"):
                continue
            assert p.sniff(path, path.read_bytes()[:65536]) == 0.0, (p.name, other)


def test_paypal_activity_with_zone_column(tmp_path: Path) -> None:
    path = tmp_path / "Download.CSV"
    path.write_text(
        '\ufeff"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee","Net",'
        '"From Email Address","To Email Address","Transaction ID","Balance"\n'
        '"1/2/2020","10:00:00","PST","Example Shop","Express Checkout Payment","Completed",'
        '"USD","-1,234.56","0.00","-1,234.56","buyer@example.com","shop@example.com",'
        '"9AB12345CD6789012","100.00"\n', encoding="utf-8")
    stats = ReadStats()
    (event,) = _events(list(read_transactions(path, stats=stats)))
    assert stats.profile is not None and stats.profile.name == "paypal_activity"
    assert event.properties["amount"] == Decimal("-1234.56")
    assert event.occurred_at is not None
    assert event.occurred_at.utcoffset() == timedelta(hours=-8)
    assert event.occurred_at.replace(tzinfo=None) == datetime(2020, 1, 2, 10, 0)
    assert event.properties["reference"] == "9AB12345CD6789012"
    assert _party(event, "organisation", "merchant").value == "Example Shop"  # type: ignore[union-attr]


def test_amazon_retail_order_history(tmp_path: Path) -> None:
    path = tmp_path / "Retail.OrderHistory.1.csv"
    path.write_text(
        '"Website","Order ID","Order Date","Currency","Unit Price","Total Owed",'
        '"Payment Instrument Type","Order Status","Shipping Address","Product Name"\n'
        '"Amazon.com","111-0000000-0000001","2022-12-20T18:23:45Z","USD","4.22","4.46",'
        '"Visa - 1234","Closed","Alex Testperson 1 Test Street","Light bulb"\n'
        '"Amazon.com","111-0000000-0000002","2022-12-21T10:00:00.000Z","USD","9.99","0",'
        '"Visa - 1234","Cancelled","Alex Testperson 1 Test Street","Lamp"\n', encoding="utf-8")
    stats = ReadStats()
    (event,) = _events(list(read_transactions(path, stats=stats)))
    assert stats.skipped["status is 'cancelled'"] == 1
    assert event.properties["amount"] == Decimal("-4.46")
    assert event.title == "Amazon"
    assert _party(event, "card").value == "last4:1234"  # type: ignore[union-attr]
    assert event.occurred_at is not None and event.occurred_at.utcoffset() == timedelta(0)


def test_ambiguous_dates_follow_region_and_profile_zone(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("Date,Description,Amount\n03/04/2021,Shop,-1.00\n", encoding="utf-8")
    (us,) = _events(list(read_transactions(path, options=ImportOptions(default_region="US"))))
    (gb,) = _events(list(read_transactions(path, options=ImportOptions(default_region="GB"))))
    assert us.occurred_at == datetime(2021, 3, 4)
    assert gb.occurred_at == datetime(2021, 4, 3)
    zoned = MappingProfile(name="z", columns={"date": "Date", "amount": "Amount"},
                           timezone="Europe/Berlin", dayfirst=True)
    (berlin,) = _events(list(read_transactions(path, zoned)))
    assert berlin.occurred_at is not None
    assert berlin.occurred_at.utcoffset() == timedelta(hours=2)   # CEST on 3 April


def test_summary_lines_are_skipped_but_bad_rows_are_not(tmp_path: Path) -> None:
    path = tmp_path / "statement.csv"
    path.write_text("Date,Description,Amount,Balance\n"
                    "01/02/2024,Opening balance as of 01/02/2024,,100.00\n"
                    "01/03/2024,TOTAL WINE & MORE 123,-25.00,75.00\n"
                    "01/45/2024,TOTAL WINE & MORE 123,-5.00,70.00\n"
                    ",TOTAL WINE & MORE 123,,\n"
                    "Total,,-25.00,\n"
                    "Closing balance,,,75.00\n", encoding="utf-8")
    stats = ReadStats()
    records = list(read_transactions(path, stats=stats))
    assert [e.properties["amount"] for e in _events(records)] == [Decimal("-25.00")]
    errors = [r for r in records if isinstance(r, RowError)]
    assert [(e.ref, e.field) for e in errors] == [("row 4", "date"), ("row 5", "date")]
    assert stats.skipped["summary line"] == 3


def test_repeated_currency_header_reads_the_amounts_currency(tmp_path: Path) -> None:
    path = tmp_path / "Umsatzanzeige.csv"
    path.write_text("Buchung;Valuta;Auftraggeber/Empfänger;Buchungstext;Verwendungszweck;Saldo;"
                    "Währung;Betrag;Währung\n"
                    "15.01.2024;15.01.2024;Example Store;Lastschrift;Kauf;1.234,56;EUR;-12,00;USD\n",
                    encoding="utf-8")
    (event,) = _events(list(read_transactions(path)))
    assert (event.properties["amount"], event.properties["currency"]) == (Decimal("-12.00"), "USD")


@pytest.mark.parametrize(("rows", "amounts"), [
    # Only direction words and unsigned amounts: the column gives the sign.
    (["2024-01-02,Shop,4.75,DEBIT", "2024-01-03,Salary,100.00,CREDIT"], ["-4.75", "100.00"]),
    # Signed amounts: kept as written whatever the type column says.
    (["2024-01-02,Shop,-4.75,DEBIT", "2024-01-03,Salary,100.00,CREDIT"], ["-4.75", "100.00"]),
    # A kind of payment, not a direction: amounts kept as written.
    (["2024-01-02,Shop,4.75,Payment", "2024-01-03,Salary,100.00,Payment"], ["4.75", "100.00"]),
])
def test_type_column_gives_the_sign_only_when_it_says_debit_or_credit(
        tmp_path: Path, rows: list[str], amounts: list[str]) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Date,Description,Amount,Transaction Type\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    events = _events(list(read_transactions(path)))
    assert [e.properties["amount"] for e in events] == [Decimal(a) for a in amounts]


def test_officer_given_date_order_settles_ambiguous_statement_dates(tmp_path: Path) -> None:
    """No date on the statement shows a day above 12: read by the import region (US:
    month first) unless the officer gives the order; a QIF file likewise."""
    path = tmp_path / "card.csv"
    path.write_text("Date,Description,Amount\n03/04/2024,KIOSK A,-12.50\n05/06/2024,KIOSK B,-3.00\n",
                    encoding="utf-8")
    guessed = _events(list(read_transactions(path, options=ImportOptions(default_region="US"))))
    given = _events(list(read_transactions(path, options=ImportOptions(default_region="US", date_order="dmy"))))
    assert [e.occurred_at.date() for e in guessed] == [datetime(2024, 3, 4).date(), datetime(2024, 5, 6).date()]
    assert [e.occurred_at.date() for e in given] == [datetime(2024, 4, 3).date(), datetime(2024, 6, 5).date()]
    qif = tmp_path / "card.qif"
    qif.write_text("!Type:CCard\nD03/04/2024\nT-12.50\nPKIOSK A\n^\n", encoding="utf-8")
    from workstation.ingest.finance.qif import read_qif

    (ev,) = _events(list(read_qif(qif, ImportOptions(default_region="US", date_order="dmy"))))
    assert ev.occurred_at.date() == datetime(2024, 4, 3).date()
    with pytest.raises(ParseError, match="not 'dmy'"):
        list(read_transactions(path, options=ImportOptions(date_order="ymd")))
