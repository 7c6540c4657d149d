"""OFX/QFX statements against the shared corpus (values from /work/shared/data/README.md)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from workstation.ingest.finance.ofx import (
    OfxParser,
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
