"""OFX/QFX statements against the shared corpus (values from /work/shared/data/README.md)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from workstation.ingest.finance.ofx import (
    OfxParser,
    parse_ofx_amount,
    parse_ofx_datetime,
    parse_sgml,
    read_ofx,
)
from workstation.ingest.records import (
    ImportOptions,
    ParsedEntity,
    ParsedEvent,
    ParseError,
    Record,
    RowError,
)

STRICT = ImportOptions()
LENIENT = ImportOptions(strict=False)


@pytest.fixture(scope="module")
def ofx_dir(shared_data: Path) -> Path:
    return shared_data / "finance" / "ofx"


def _records(path: Path, options: ImportOptions = STRICT) -> list[Record]:
    return list(OfxParser().parse(path, options))


def _events(records: list[Record]) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent)]


def _entities(records: list[Record]) -> list[ParsedEntity]:
    return [r for r in records if isinstance(r, ParsedEntity)]


def test_bank_medium(ofx_dir: Path) -> None:
    path = ofx_dir / "bank_medium.ofx"
    doc = read_ofx(path)
    assert (doc.header["OFXHEADER"], doc.header["DATA"], doc.header["VERSION"],
            doc.header["ENCODING"], doc.header["CHARSET"]) == ("100", "OFXSGML", "102",
                                                                "USASCII", "1252")
    assert doc.syntax == "sgml"
    records = _records(path)
    (account,) = _entities(records)
    assert account.party.kind == "account"
    assert account.party.value == "12300 000012345678"
    assert account.party.platform == "bank:160000100"
    props = account.party.properties
    assert props["branch"] == "00" and props["account_type"] == "CHECKING"
    assert props["currency"] == "CAD"
    assert props["ledger_balance"] == Decimal("382.34")
    assert props["available_balance"] == Decimal("682.34")
    assert props["ledger_balance_as_of"].startswith("2009-05-23T12:20:17")
    assert props["available_balance_as_of"].startswith("2009-05-23T12:20:17")
    assert props["statement_start"] == "2009-04-01T00:00:00"
    assert props["statement_end"] == "2009-05-23T12:20:17"
    events = _events(records)
    assert len(events) == 3
    first = events[0]
    assert first.kind == "transaction"
    assert first.title == "MCDONALD'S #112"
    assert first.properties["type"] == "POS"
    assert first.properties["amount"] == Decimal("-6.60")
    assert first.properties["currency"] == "CAD"
    assert first.occurred_at is not None and first.occurred_at.utcoffset() == timedelta(hours=-5)
    assert first.occurred_at.astimezone(timezone.utc) == datetime(2009, 4, 1, 17, 20, 17,
                                                                  tzinfo=timezone.utc)
    assert [e.title for e in events[1:]] == ["Joe's Bald Hairstyles", "CONNIE'S HAIR D"]
    assert sum(e.properties["amount"] for e in events) == Decimal("-345.27")
    # The account is a party of each transaction, the payee another.
    kinds = {(p.kind, p.role) for p in first.parties}
    assert ("account", "account") in kinds and ("organisation", "payee") in kinds
    assert first.ref.startswith("transaction 1") and "line" in first.ref


def test_anzcc_credit_card(ofx_dir: Path) -> None:
    records = _records(ofx_dir / "anzcc.ofx")
    (account,) = _entities(records)
    assert account.party.kind == "card"
    assert account.party.value == "1234123412341234"
    assert account.party.properties["ledger_balance"] == Decimal("-123.45")
    assert account.party.properties["available_balance"] == Decimal("123.45")
    (txn,) = _events(records)
    assert txn.properties["amount"] == Decimal("-5.50")
    assert txn.properties["type"] == "DEBIT"
    assert txn.properties["memo"] == "SOME MEMO"
    assert txn.properties["currency"] == "AUD"
    assert txn.occurred_at == datetime(2017, 5, 8)
    card = [p for p in txn.parties if p.kind == "card"]
    assert card and card[0].value == "1234123412341234" and card[0].role == "payment_card"


def test_checking_with_intuit_extensions(ofx_dir: Path) -> None:
    records = _records(ofx_dir / "checking.ofx")
    (account,) = _entities(records)
    assert account.party.value == "1452687~7"
    assert account.party.platform == "bank:5472369148"
    assert account.party.properties["ledger_balance"] == Decimal("100.99")
    assert account.party.properties["available_balance"] == Decimal("75.99")
    events = _events(records)
    assert [e.properties["amount"] for e in events] == [Decimal("0.01"), Decimal("-34.51"),
                                                       Decimal("-25.00")]
    assert sum(e.properties["amount"] for e in events) == Decimal("-59.50")
    assert events[2].properties["check_number"] == "319"
    assert all(e.properties["currency"] == "USD" for e in events)
    assert events[0].occurred_at == datetime(2011, 3, 31, 12)   # no offset given: naive


def test_multiple_accounts(ofx_dir: Path) -> None:
    records = _records(ofx_dir / "multiple_accounts2.ofx")
    accounts = _entities(records)
    assert [(a.party.value, a.party.properties["account_type"]) for a in accounts] == [
        ("9100", "CHECKING"), ("9200", "SAVINGS")]
    assert {a.party.platform for a in accounts} == {"bank:123"}
    assert [a.party.properties["ledger_balance"] for a in accounts] == [Decimal(111),
                                                                         Decimal(222)]
    assert _events(records) == []


def test_suncorp_cdata_and_memo_spacing(ofx_dir: Path) -> None:
    (txn,) = _events(_records(ofx_dir / "suncorp.ofx"))
    assert txn.title == "EFTPOS WDL HANDYWAY ALDI STORE"
    assert txn.properties["memo"] == "EFTPOS WDL HANDYWAY ALDI STORE   GEELONG WEST VICAU"
    assert txn.properties["amount"] == Decimal("-16.85")


def test_v102_empty_tags_lenient(ofx_dir: Path) -> None:
    path = ofx_dir / "ofx-v102-empty-tags.ofx"
    doc = read_ofx(path)
    (stmt,) = doc.statements
    assert stmt.account_id == "12345678" and stmt.bank_id == "NPBS"
    assert stmt.branch_id == "" and stmt.account_type == ""
    assert stmt.currency is None
    curdef_warnings = [w for w in stmt.warnings if "Currency definition was empty" in w]
    assert len(curdef_warnings) == 1
    assert curdef_warnings[0].startswith(
        "Currency definition was empty for <stmtrs><curdef></curdef>")
    records = _records(path, LENIENT)
    (account,) = _entities(records)
    assert account.party.properties["currency"] is None
    assert any("Currency definition" in w for w in account.party.properties["warnings"])
    (txn,) = _events(records)
    assert txn.properties["amount"] == Decimal("12.34")
    assert txn.occurred_at == datetime(2018, 5, 7)
    assert "fitid" not in txn.properties
    # Strict mode refuses the empty ledger balance, naming the field.
    with pytest.raises(ParseError) as info:
        _records(path, STRICT)
    assert info.value.field == "LEDGERBAL.BALAMT"


def test_account_listing(ofx_dir: Path) -> None:
    records = _records(ofx_dir / "account_listing_aggregation.ofx")
    accounts = _entities(records)
    assert [(a.party.kind, a.party.value, a.party.label) for a in accounts] == [
        ("account", "0000000001", "USAA SAVINGS"),
        ("account", "0000000002", "FOUR STAR CHECKING"),
        ("account", "00000000000003", "LINE OF CREDIT"),
        ("card", "4111111111111111", "MY CREDIT CARD"),
    ]
    assert [a.party.properties.get("account_type") for a in accounts] == [
        "SAVINGS", "CHECKING", "CREDITLINE", None]
    assert {a.party.platform for a in accounts[:3]} == {"bank:314074269"}
    assert all(a.party.properties["institution"] == "USAA" for a in accounts)


def test_statement_error_strict_and_lenient(ofx_dir: Path) -> None:
    path = ofx_dir / "error_message.ofx"
    with pytest.raises(ParseError) as info:
        _records(path, STRICT)
    assert "General Server Error" in str(info.value) and "2000" in str(info.value)
    assert "error_message.ofx" in str(info.value)
    records = _records(path, LENIENT)
    errors = [r for r in records if isinstance(r, RowError)]
    assert len(errors) == 1 and "General Server Error" in errors[0].message
    assert _events(records) == []


def test_signon_files(ofx_dir: Path) -> None:
    ok = read_ofx(ofx_dir / "signon_success.ofx").signon
    assert ok is not None and (ok.code, ok.severity, ok.message) == (0, "INFO",
                                                                     "Login successful")
    quiet = read_ofx(ofx_dir / "signon_success_no_message.ofx").signon
    assert quiet is not None and (quiet.code, quiet.severity, quiet.message) == (0, "INFO", "")
    fail_doc = read_ofx(ofx_dir / "signon_fail.ofx")
    assert fail_doc.signon is not None and fail_doc.signon.code == 15500
    assert fail_doc.signon.severity == "ERROR"
    for options in (STRICT, LENIENT):
        with pytest.raises(ParseError) as info:
            _records(ofx_dir / "signon_fail.ofx", options)
        assert "invalid identification code" in str(info.value) and "15500" in str(info.value)
    # A successful sign-on with nothing else is reported as "nothing to import".
    with pytest.raises(ParseError, match="no statement"):
        _records(ofx_dir / "signon_success.ofx")


def test_bank_small_reports_no_statement(ofx_dir: Path) -> None:
    for options in (STRICT, LENIENT):
        with pytest.raises(ParseError) as info:
            _records(ofx_dir / "bank_small.ofx", options)
        assert "no statement or account list" in str(info.value)
        assert "bank_small.ofx" in str(info.value)


def test_fail_nice_date_missing(ofx_dir: Path) -> None:
    path = ofx_dir / "fail_nice" / "date_missing.ofx"
    with pytest.raises(ParseError) as info:
        _records(path, STRICT)
    assert info.value.field == "DTPOSTED"
    records = _records(path, LENIENT)
    errors = [r for r in records if isinstance(r, RowError)]
    assert _events(records) == [] and len(errors) == 3
    assert all(e.field == "DTPOSTED" for e in errors)
    assert "2012" in errors[2].message  # the invalid 2012-02-31 is named


def test_fail_nice_decimal_error(ofx_dir: Path) -> None:
    path = ofx_dir / "fail_nice" / "decimal_error.ofx"
    with pytest.raises(ParseError):
        _records(path, STRICT)
    records = _records(path, LENIENT)
    errors = [r for r in records if isinstance(r, RowError)]
    assert _events(records) == [] and len(errors) == 1
    assert "$120" in errors[0].message


def test_fail_nice_empty_balance(ofx_dir: Path) -> None:
    path = ofx_dir / "fail_nice" / "empty_balance.ofx"
    with pytest.raises(ParseError) as info:
        _records(path, STRICT)
    assert "BALAMT" in (info.value.field or "")
    records = _records(path, LENIENT)
    (account,) = _entities(records)
    assert "ledger_balance" not in account.party.properties
    assert "available_balance" not in account.party.properties
    (txn,) = _events(records)
    assert txn.properties["amount"] == Decimal("120") and txn.title == "Foobar"


def test_intrabank_transfers(shared_data: Path) -> None:
    events = _events(_records(shared_data / "finance/csv2ofx/converted/mint.ofx"))
    assert len(events) == 4
    assert sum(e.properties["amount"] for e in events) == Decimal("-3000.00")
    assert {p.role for p in events[0].parties} == {"from_account", "to_account"}


@pytest.mark.parametrize(("name", "count", "total", "currency"), [
    ("amazon.ofx", 2, "-11.64", "USD"), ("pcmastercard.ofx", 2, "-50.31", "CAD"),
    ("stripe-default.ofx", 5, "112.50", "CAD"), ("stripe-all.ofx", 5, "112.50", "CAD"),
])
def test_golden_csv2ofx_outputs(shared_data: Path, name: str, count: int, total: str,
                                currency: str) -> None:
    events = _events(_records(shared_data / "finance/csv2ofx/converted" / name))
    assert len(events) == count
    assert sum(e.properties["amount"] for e in events) == Decimal(total)
    assert {e.properties["currency"] for e in events} == {currency}


@pytest.mark.parametrize(("text", "expected"), [
    ("20090401122017.000[-5:EST]", datetime(2009, 4, 1, 12, 20, 17,
                                            tzinfo=timezone(timedelta(hours=-5)))),
    ("20180521052952.749[-7:PDT]", datetime(2018, 5, 21, 5, 29, 52, 749000,
                                            tzinfo=timezone(timedelta(hours=-7)))),
    ("20200101120000[0:GMT]", datetime(2020, 1, 1, 12, tzinfo=timezone.utc)),
    ("20200101120000[+5.30:IST]", datetime(2020, 1, 1, 12,
                                           tzinfo=timezone(timedelta(hours=5, minutes=30)))),
    ("20200101120000[-3.5:NST]", datetime(2020, 1, 1, 12,
                                          tzinfo=timezone(timedelta(hours=-3, minutes=-30)))),
    ("20170508", datetime(2017, 5, 8)),
])
def test_ofx_datetimes(text: str, expected: datetime) -> None:
    got = parse_ofx_datetime(text)
    assert got == expected and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["", "20120231", "201120000000", "2018-05-07",
                                  "20180804093914:014"])
def test_ofx_datetimes_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ofx_datetime(text)


def test_sgml_unclosed_empty_leaf_does_not_swallow_siblings() -> None:
    root = parse_sgml("<OFX><STMTTRN><TRNTYPE>DEBIT<NAME><MEMO>hello<TRNAMT>-1</STMTTRN></OFX>")
    trn = root.first("STMTTRN")
    assert trn is not None
    assert [c.tag for c in trn.children] == ["TRNTYPE", "NAME", "MEMO", "TRNAMT"]
    assert trn.value("NAME") == "" and trn.value("MEMO") == "hello"


def test_truncated_ofx_never_crashes(ofx_dir: Path, tmp_path: Path) -> None:
    data = (ofx_dir / "bank_medium.ofx").read_bytes()
    for cut in (40, 300, 700, 1000, 1300, len(data) - 120):
        path = tmp_path / f"cut{cut}.ofx"
        path.write_bytes(data[:cut])
        for options in (STRICT, LENIENT):
            try:
                records = _records(path, options)
            except ParseError as exc:
                assert f"cut{cut}.ofx" in str(exc)
                continue
            assert all(isinstance(r, (ParsedEvent, ParsedEntity, RowError)) for r in records)


def test_xml_ofx_with_entities_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.ofx"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE OFX [<!ENTITY x SYSTEM '
                    '"file:///etc/passwd">]>\n<OFX><SIGNONMSGSRSV1/><X>&x;</X></OFX>\n')
    with pytest.raises(ParseError) as info:
        _records(path)
    assert "evil.ofx" in str(info.value) and "refused" in str(info.value)


def test_binary_file_named_ofx(tmp_path: Path) -> None:
    path = tmp_path / "junk.qfx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 8)
    with pytest.raises(ParseError, match="junk.qfx"):
        _records(path)


def test_sniff(ofx_dir: Path, shared_data: Path) -> None:
    parser = OfxParser()
    for path in sorted(ofx_dir.rglob("*.ofx")):
        assert parser.sniff(path, path.read_bytes()[:65536]) >= 0.8, path.name
    for other in ("chat/telegram/result.json", "chat/whatsapp/whatsapp_ios_chat.txt",
                  "chat/telegram/messages.html", "finance/csv2ofx/test/mint.csv",
                  "finance/csv2ofx/converted/mint.qif"):
        path = shared_data / other
        assert parser.sniff(path, path.read_bytes()[:65536]) == 0.0, other


# ---------------------------------------------------------------------------------------
# Producer variants, written here (synthetic accounts; test-range card numbers)
# ---------------------------------------------------------------------------------------

SGML_HEADER = ("OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\n"
               "ENCODING:USASCII\r\nCHARSET:1252\r\nCOMPRESSION:NONE\r\nOLDFILEUID:NONE\r\n"
               "NEWFILEUID:NONE\r\n\r\n")

CARD_BODY = (
    "<OFX>\r\n<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
    "<DTSERVER>20240105<LANGUAGE>ENG<INTU.BID>3000</SONRS></SIGNONMSGSRSV1>\r\n"
    "<CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>\r\n"
    "<CCSTMTRS><CURDEF>EUR<CCACCTFROM><ACCTID>4000000000000002</CCACCTFROM>\r\n"
    "<BANKTRANLIST><DTSTART>20240101<DTEND>20240131\r\n"
    "<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240102120000.000[-7]<TRNAMT>-1.234,56<FITID>A1"
    "<SIC>5411<NAME>Café Müller & Söhne<MEMO>AT&T &amp; co &lt;x&gt;"
    "<CURRENCY><CURRATE>1.10<CURSYM>USD</CURRENCY></STMTTRN>\r\n"
    "<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240103[+5.5:IST]<TRNAMT>+12,50<FITID>A2"
    "<PAYEE><NAME>Payee Co<ADDR1>1 Test Road<CITY>Testville<POSTALCODE>00001</PAYEE>"
    "<ORIGCURRENCY><CURRATE>0.9<CURSYM>GBP</ORIGCURRENCY></STMTTRN>\r\n"
    "<STMTTRN><TRNTYPE>CHECK<DTPOSTED>20240104000000[0:GMT]<TRNAMT>1,234.56<FITID>A3"
    "<CHECKNUM>1001<NAME>Cheque deposit</STMTTRN>\r\n"
    "</BANKTRANLIST><LEDGERBAL><BALAMT>-10,00<DTASOF>20240131</LEDGERBAL>"
    "<AVAILBAL><BALAMT>100<DTASOF>20240131</AVAILBAL></CCSTMTRS></CCSTMTTRNRS>"
    "</CREDITCARDMSGSRSV1></OFX>\r\n")


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_sgml_card_statement_with_european_amounts_and_currencies(tmp_path: Path) -> None:
    path = _write(tmp_path, "card.qfx", SGML_HEADER + CARD_BODY, "cp1252")
    records = _records(path)
    (card,) = _entities(records)
    assert (card.party.kind, card.party.value) == ("card", "4000000000000002")
    assert card.party.properties["ledger_balance"] == Decimal("-10.00")
    first, second, third = _events(records)
    # cp1252 name, raw "&" in SGML text and decoded entities.
    assert first.title == "Café Müller & Söhne"
    assert first.properties["memo"] == "AT&T & co <x>"
    assert first.properties["amount"] == Decimal("-1234.56")
    # <CURRENCY>: the amount is in that currency, CURRATE converts to CURDEF.
    assert first.properties["currency"] == "USD"
    assert first.properties["exchange_rate"] == Decimal("1.10")
    assert first.properties["mcc"] == "5411"
    assert first.properties["mcc_description"] == "Grocery Stores, Supermarkets"
    assert first.occurred_at == datetime(2024, 1, 2, 12, tzinfo=timezone(timedelta(hours=-7)))
    merchant = [p for p in first.parties if p.kind == "organisation"]
    assert merchant[0].role == "merchant" and merchant[0].value == "Café Müller & Söhne"
    # <ORIGCURRENCY>: the amount stays in CURDEF; the original currency is noted.
    assert second.properties["amount"] == Decimal("12.50")
    assert second.properties["currency"] == "EUR"
    assert second.properties["original_currency"] == "GBP"
    assert second.properties["exchange_rate"] == Decimal("0.9")
    assert second.title == "Payee Co"
    payee = [p for p in second.parties if p.kind == "organisation"][0]
    assert payee.properties["city"] == "Testville"
    assert second.occurred_at is not None
    assert second.occurred_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert third.properties["amount"] == Decimal("1234.56")
    assert third.properties["check_number"] == "1001"
    assert third.properties["type"] == "CHECK"
    assert third.occurred_at == datetime(2024, 1, 4, tzinfo=timezone.utc)
    assert [e.properties["fitid"] for e in (first, second, third)] == ["A1", "A2", "A3"]


def test_declared_charset_is_a_hint(tmp_path: Path) -> None:
    # A UTF-8 file that says CHARSET:1252 (common) must not become "CafÃ©".
    utf8 = _write(tmp_path, "utf8.ofx", SGML_HEADER + CARD_BODY, "utf-8")
    assert _events(_records(utf8))[0].title == "Café Müller & Söhne"
    # ISO-8859-1 declared, but the bank wrote Windows-1252 (the euro sign is 0x80).
    latin = _write(tmp_path, "latin.ofx",
                   SGML_HEADER.replace("CHARSET:1252", "CHARSET:8859-1")
                   + CARD_BODY.replace("Café", "€ Café"), "cp1252")
    assert _events(_records(latin))[0].title == "€ Café Müller & Söhne"


@pytest.mark.parametrize("header", [
    "\n\nOFXHEADER: 100\nDATA: OFXSGML\nVERSION: 102\nENCODING: UTF-8\nCHARSET: NONE\n\n",
    "OFXHEADER:100 DATA:OFXSGML VERSION:102 SECURITY:NONE ENCODING:USASCII CHARSET:1252 "
    "COMPRESSION:NONE OLDFILEUID:NONE NEWFILEUID:NONE\n",
])
def test_header_layouts(tmp_path: Path, header: str) -> None:
    path = _write(tmp_path, "h.ofx", header + CARD_BODY, "utf-8")
    assert OfxParser().sniff(path, path.read_bytes()) >= 0.9
    doc = read_ofx(path)
    assert doc.header["OFXHEADER"] == "100" and doc.header["DATA"] == "OFXSGML"
    assert [e.title for e in _events(_records(path))][0] == "Café Müller & Söhne"


def test_cr_only_line_ends_keep_line_numbers(tmp_path: Path) -> None:
    crlf = _write(tmp_path, "crlf.ofx", SGML_HEADER + CARD_BODY, "cp1252")
    cr = _write(tmp_path, "cr.ofx", (SGML_HEADER + CARD_BODY).replace("\r\n", "\r"), "cp1252")
    assert [e.ref for e in _events(_records(cr))] == [e.ref for e in _events(_records(crlf))]
    assert _events(_records(cr))[1].ref == "transaction 2, line 17"


XML_OFX = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
<DTSERVER>20240105</DTSERVER><LANGUAGE>ENG</LANGUAGE></SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY>
</STATUS><STMTRS><CURDEF>GBP</CURDEF><BANKACCTFROM><BANKID>000000</BANKID>
<ACCTID>87654321</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM><BANKTRANLIST>
<STMTTRN><TRNTYPE>POS</TRNTYPE><DTPOSTED>20240102</DTPOSTED><TRNAMT>-3.50</TRNAMT>
<FITID>9</FITID><NAME>M&amp;S FOOD</NAME><MEMO>Shop</MEMO></STMTTRN>
<STMTTRN><TRNTYPE>XFER</TRNTYPE><DTPOSTED>20240103</DTPOSTED><TRNAMT>-50.00</TRNAMT>
<FITID>10</FITID><NAME>To savings</NAME><BANKACCTTO><BANKID>000000</BANKID>
<ACCTID>11223344</ACCTID><ACCTTYPE>SAVINGS</ACCTTYPE></BANKACCTTO></STMTTRN>
</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""


def test_ofx2_xml_header_and_raw_ampersand_fallback(tmp_path: Path) -> None:
    good = _write(tmp_path, "v2.ofx", XML_OFX)
    doc = read_ofx(good)
    assert doc.syntax == "xml"
    assert (doc.header["OFXHEADER"], doc.header["VERSION"]) == ("200", "211")
    events = _events(_records(good))
    assert events[0].title == "M&S FOOD" and events[0].properties["currency"] == "GBP"
    assert events[1].properties["to_account"] == "11223344"
    # A raw "&" makes the XML ill-formed; the tolerant reader still reads it the same.
    bad = _write(tmp_path, "v2bad.ofx", XML_OFX.replace("M&amp;S", "M&S"))
    assert read_ofx(bad).syntax == "sgml"
    assert [e.title for e in _events(_records(bad))] == ["M&S FOOD", "To savings"]


MULTI = SGML_HEADER + """<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20240105
<FI><ORG>Example Bank<FID>999</FI></SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1>
<STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS><CURDEF>USD
<BANKACCTFROM><BANKID>011000015<ACCTID>111<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><STMTTRN><TRNTYPE>ATM<DTPOSTED>20240102<TRNAMT>-20.00<FITID>1<NAME>ATM
</STMTTRN></BANKTRANLIST><LEDGERBAL><BALAMT>100.00<DTASOF>20240131</LEDGERBAL></STMTRS>
</STMTTRNRS>
<STMTTRNRS><TRNUID>2<STATUS><CODE>2000<SEVERITY>ERROR<MESSAGE>Account unavailable</STATUS>
</STMTTRNRS>
<STMTTRNRS><TRNUID>3<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS><CURDEF>USD
<BANKACCTFROM><BANKID>011000015<ACCTID>222<ACCTTYPE>SAVINGS</BANKACCTFROM>
<BANKTRANLIST><STMTTRN><TRNTYPE>INT<DTPOSTED>20240131<TRNAMT>0.42<FITID>2<NAME>Interest
</STMTTRN></BANKTRANLIST></STMTRS></STMTTRNRS>
</BANKMSGSRSV1>
<CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>4<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<CCSTMTRS><CURDEF>USD<CCACCTFROM><ACCTID>4000000000000002</CCACCTFROM>
<BANKTRANLIST><STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240103<TRNAMT>-5.00<FITID>3<NAME>Coffee
</STMTTRN></BANKTRANLIST></CCSTMTRS></CCSTMTTRNRS></CREDITCARDMSGSRSV1>
</OFX>
"""


def test_bank_and_card_statements_in_one_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "multi.ofx", MULTI)
    with pytest.raises(ParseError) as info:
        _records(path, STRICT)
    assert "Account unavailable" in str(info.value) and info.value.ref == "statement 2"
    records = _records(path, LENIENT)
    assert [(a.party.kind, a.party.value) for a in _entities(records)] == [
        ("account", "111"), ("account", "222"), ("card", "4000000000000002")]
    assert all(a.party.properties["institution"] == "Example Bank" for a in _entities(records))
    (error,) = [r for r in records if isinstance(r, RowError)]
    assert error.ref == "statement 2" and "2000" in error.message
    events = _events(records)
    assert [(e.title, e.properties["amount"]) for e in events] == [
        ("ATM", Decimal("-20.00")), ("Interest", Decimal("0.42")), ("Coffee", Decimal("-5.00"))]
    owners = [[p.value for p in e.parties if p.kind in ("account", "card")] for e in events]
    assert owners == [["111"], ["222"], ["4000000000000002"]]
    roles = [[p.role for p in e.parties if p.kind == "organisation"] for e in events]
    assert roles == [["payee"], ["payer"], ["merchant"]]


INVEST = """<?xml version="1.0" encoding="UTF-8"?>
<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX><INVSTMTMSGSRSV1><INVSTMTTRNRS><TRNUID>1</TRNUID>
<STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
<INVSTMTRS><DTASOF>20240131</DTASOF><CURDEF>USD</CURDEF>
<INVACCTFROM><BROKERID>broker.example</BROKERID><ACCTID>INV-9</ACCTID></INVACCTFROM>
<INVTRANLIST><DTSTART>20240101</DTSTART><DTEND>20240131</DTEND>
<BUYSTOCK><INVBUY><INVTRAN><FITID>B1</FITID><DTTRADE>20240110</DTTRADE></INVTRAN>
<SECID><UNIQUEID>000000000</UNIQUEID><UNIQUEIDTYPE>CUSIP</UNIQUEIDTYPE></SECID>
<UNITS>10</UNITS><UNITPRICE>12.5</UNITPRICE><COMMISSION>1.00</COMMISSION>
<TOTAL>-126.00</TOTAL><SUBACCTSEC>CASH</SUBACCTSEC><SUBACCTFUND>CASH</SUBACCTFUND>
</INVBUY><BUYTYPE>BUY</BUYTYPE></BUYSTOCK>
<INVBANKTRAN><STMTTRN><TRNTYPE>CREDIT</TRNTYPE><DTPOSTED>20240102</DTPOSTED>
<TRNAMT>500.00</TRNAMT><FITID>C1</FITID><NAME>Deposit</NAME></STMTTRN>
<SUBACCTFUND>CASH</SUBACCTFUND></INVBANKTRAN>
<TRANSFER><INVTRAN><FITID>T1</FITID><DTTRADE>20240115</DTTRADE></INVTRAN>
<SECID><UNIQUEID>000000000</UNIQUEID><UNIQUEIDTYPE>CUSIP</UNIQUEIDTYPE></SECID>
<SUBACCTSEC>CASH</SUBACCTSEC><UNITS>5</UNITS><TFERACTION>IN</TFERACTION>
<POSTYPE>LONG</POSTYPE></TRANSFER>
</INVTRANLIST><INVBAL><AVAILCASH>374.00</AVAILCASH></INVBAL></INVSTMTRS>
</INVSTMTTRNRS></INVSTMTMSGSRSV1>
<SECLISTMSGSRSV1><SECLIST><STOCKINFO><SECINFO><SECID><UNIQUEID>000000000</UNIQUEID>
<UNIQUEIDTYPE>CUSIP</UNIQUEIDTYPE></SECID><SECNAME>Example Widgets Inc</SECNAME>
<TICKER>EXWI</TICKER></SECINFO></STOCKINFO></SECLIST></SECLISTMSGSRSV1></OFX>
"""


@pytest.mark.parametrize("syntax", ["xml", "sgml"])
def test_investment_statement(tmp_path: Path, syntax: str) -> None:
    text = INVEST
    if syntax == "sgml":  # OFX 1.x: the same without the leaf end tags
        body = text[text.index("<OFX>"):]
        for leaf in ("TRNUID", "CODE", "SEVERITY", "DTASOF", "CURDEF", "FITID", "DTTRADE",
                     "UNITS", "TOTAL", "TRNAMT", "NAME", "AVAILCASH", "TICKER"):
            body = body.replace(f"</{leaf}>", "")
        text = "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n" + body
    records = _records(_write(tmp_path, "inv.ofx", text))
    (account,) = _entities(records)
    assert (account.party.kind, account.party.value, account.party.platform) == (
        "account", "INV-9", "broker:broker.example")
    assert account.party.properties["available_balance"] == Decimal("374.00")
    buy, deposit, transfer = _events(records)
    assert buy.occurred_at == datetime(2024, 1, 10)
    assert buy.properties["amount"] == Decimal("-126.00") and buy.properties["currency"] == "USD"
    assert buy.properties["type"] == "BUYSTOCK"
    assert (buy.properties["security"], buy.properties["ticker"]) == ("Example Widgets Inc",
                                                                      "EXWI")
    assert (buy.properties["units"], buy.properties["unit_price"],
            buy.properties["commission"]) == (Decimal("10"), Decimal("12.5"), Decimal("1.00"))
    assert "Example Widgets Inc" in buy.title
    assert deposit.title == "Deposit" and deposit.properties["amount"] == Decimal("500.00")
    assert deposit.properties["subaccount"] == "CASH"
    # Shares moved in without money: kept, with no amount.
    assert transfer.properties["amount"] is None and transfer.properties["units"] == Decimal("5")


@pytest.mark.parametrize(("text", "expected"), [
    ("-1.234,56", "-1234.56"), ("1,234.56", "1234.56"), ("+12,50", "12.50"), ("+12", "12"),
    ("-.5", "-0.5"), ("1 234,56", "1234.56"), ("12.", "12"),
])
def test_ofx_amount_forms(text: str, expected: str) -> None:
    assert parse_ofx_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["$120", "1,23,4", "12-", "abc", "1.234.567"])
def test_ofx_amounts_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ofx_amount(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("20240102120000.123", datetime(2024, 1, 2, 12, 0, 0, 123000)),
    ("20240102120000[-7]", datetime(2024, 1, 2, 12, tzinfo=timezone(timedelta(hours=-7)))),
    ("20240102[+5.5:IST]", datetime(2024, 1, 2, tzinfo=timezone(timedelta(hours=5,
                                                                          minutes=30)))),
    ("20240102120000[-0500]", datetime(2024, 1, 2, 12, tzinfo=timezone(timedelta(hours=-5)))),
    ("202401021230", datetime(2024, 1, 2, 12, 30)),
])
def test_more_ofx_datetimes(text: str, expected: datetime) -> None:
    got = parse_ofx_datetime(text)
    assert got == expected and got.utcoffset() == expected.utcoffset()
