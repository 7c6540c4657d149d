"""OFX/QFX shapes seen in real downloads, rebuilt with synthetic content.

Each test reproduces the STRUCTURE of a published download (how the card account is
written, how several documents or sign-ons share one file, a response that is no
statement) with invented numbers and names.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from workstation.ingest.finance.ofx import OfxParser
from workstation.ingest.records import (
    ImportOptions,
    ParsedEntity,
    ParsedEvent,
    ParseError,
    RowError,
)

HEADER = ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
          "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n")


def _signon(org: str, fid: str) -> str:
    return ("<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
            f"<DTSERVER>20240301120000[-5:EST]<LANGUAGE>ENG<FI><ORG>{org}<FID>{fid}</FI>"
            "</SONRS></SIGNONMSGSRSV1>")


def _card_statement(acct: str, amount: str = "-42.10", name: str = "EXAMPLE BOOKSHOP",
                    currency: str = "USD") -> str:
    return ("<CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>"
            f"<CCSTMTRS><CURDEF>{currency}<CCACCTFROM><ACCTID>{acct}</CCACCTFROM>"
            "<BANKTRANLIST><DTSTART>20240201<DTEND>20240301"
            f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240215120000[-5:EST]<TRNAMT>{amount}"
            f"<FITID>C-1<NAME>{name}</STMTTRN></BANKTRANLIST>"
            "<LEDGERBAL><BALAMT>-42.10<DTASOF>20240301</LEDGERBAL></CCSTMTRS></CCSTMTTRNRS>"
            "</CREDITCARDMSGSRSV1>")


def _bank_statement(acct: str) -> str:
    return ("<BANKMSGSRSV1><STMTTRNRS><TRNUID>2<STATUS><CODE>0<SEVERITY>INFO</STATUS>"
            "<STMTRS><CURDEF>USD<BANKACCTFROM><BANKID>011000015<ACCTID>" + acct +
            "<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST><DTSTART>20240201<DTEND>20240301"
            "<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240220<TRNAMT>1500.00<FITID>B-1"
            "<NAME>ALICE EXAMPLE PAYROLL</STMTTRN></BANKTRANLIST>"
            "<LEDGERBAL><BALAMT>1500.00<DTASOF>20240301</LEDGERBAL></STMTRS></STMTTRNRS>"
            "</BANKMSGSRSV1>")


def _write(tmp_path: Path, body: str, name: str = "statement.qfx") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="ascii")
    return path


def _records(path: Path) -> list:
    return list(OfxParser().parse(path, ImportOptions()))


@pytest.mark.parametrize(("acctid", "last4"), [
    ("6789", "6789"),                     # issuers that give the last four digits only
    ("XXXXXXXXXXXX6789", "6789"),         # masked with X
    ("************6789", "6789"),         # masked with *
    ("XXXX-XXXX-XXXX-6789", "6789"),      # masked in groups
    ("411111******6789", "6789"),         # first six and last four kept
])
def test_card_statement_with_a_masked_or_partial_number(tmp_path: Path, acctid: str,
                                                       last4: str) -> None:
    path = _write(tmp_path, "<OFX>" + _signon("EXAMPLE CARD CO", "5555") +
                  _card_statement(acctid) + "</OFX>")
    records = _records(path)
    (account,) = [r for r in records if isinstance(r, ParsedEntity)]
    assert (account.party.kind, account.party.value) == ("card", f"last4:{last4}")
    assert account.party.properties["last4"] == last4
    (event,) = [r for r in records if isinstance(r, ParsedEvent)]
    assert event.properties["amount"] == Decimal("-42.10")
    assert ("card", f"last4:{last4}", "payment_card") in [
        (p.kind, p.value, p.role) for p in event.parties]


def test_masked_card_is_stored_as_a_partial_card_without_warnings(ws, tmp_path: Path) -> None:
    from workstation.ingest.pipeline import run_import

    path = _write(tmp_path, "<OFX>" + _signon("EXAMPLE CARD CO", "5555") +
                  _card_statement("XXXXXXXXXXXX6789") + "</OFX>")
    case_id = ws.create_case("OFX-1", "masked card").id
    result = run_import(ws, case_id, path)
    assert result.events == 1
    assert not [w for w in result.warnings if "card" in w]
    with ws.db.read() as conn:
        rows = conn.execute(text(
            "select label, properties from entity where kind = 'card'")).all()
    assert len(rows) == 1
    props = json.loads(rows[0].properties) if isinstance(rows[0].properties, str) \
        else rows[0].properties
    assert props["last4"] == "6789" and props.get("partial") is True
    assert "unnormalised" not in props


def test_card_statement_keyed_by_the_issuer_reference(tmp_path: Path) -> None:
    # Some issuers write their own reference for the card account (a UUID), no number.
    ref = "0f0e0d0c-1111-4a4a-8b8b-123456789abc"
    path = _write(tmp_path, "<OFX>" + _signon("EXAMPLE NEOBANK", "7777") +
                  _card_statement(ref, currency="BRL") + "</OFX>")
    records = _records(path)
    (account,) = [r for r in records if isinstance(r, ParsedEntity)]
    assert (account.party.kind, account.party.value) == ("account", ref)
    assert account.party.platform == "card:7777"
    (event,) = [r for r in records if isinstance(r, ParsedEvent)]
    assert event.properties["currency"] == "BRL"
    assert [(p.kind, p.value) for p in event.parties][0] == ("account", ref)


def test_card_account_forms() -> None:
    from workstation.ingest.finance.ofx import card_account

    assert card_account("4111 1111 1111 1111") == ("number", "4111111111111111")
    assert card_account("1234") == ("last4", "1234")
    assert card_account("CARD-ACCOUNT-7") == ("account", "CARD-ACCOUNT-7")


def test_two_ofx_documents_saved_in_one_file(tmp_path: Path) -> None:
    # Downloads appended one after the other: every statement must be read, not the first.
    path = _write(tmp_path, "<OFX>" + _signon("FIRST BANK", "101") +
                  _card_statement("4111111111111111") + "</OFX>\n<OFX>" +
                  _signon("SECOND BANK", "202") + _bank_statement("55501234") + "</OFX>\n")
    records = _records(path)
    accounts = [r.party for r in records if isinstance(r, ParsedEntity)]
    assert [(a.kind, a.value) for a in accounts] == [("card", "4111111111111111"),
                                                     ("account", "55501234")]
    assert [a.properties["institution"] for a in accounts] == ["FIRST BANK", "SECOND BANK"]
    events = [r for r in records if isinstance(r, ParsedEvent)]
    assert [e.properties["amount"] for e in events] == [Decimal("-42.10"), Decimal("1500.00")]


def test_combined_download_names_each_statement_institution(tmp_path: Path) -> None:
    # One <OFX> holding each institution's sign-on followed by its statements.
    path = _write(tmp_path, "<OFX>" + _signon("FIRST BANK", "101") +
                  _card_statement("4111111111111111") + _signon("SECOND BANK", "202") +
                  _bank_statement("55501234") + "</OFX>\n")
    accounts = [r.party for r in _records(path) if isinstance(r, ParsedEntity)]
    assert [(a.value, a.properties["institution"], a.properties["institution_id"])
            for a in accounts] == [("4111111111111111", "FIRST BANK", "101"),
                                   ("55501234", "SECOND BANK", "202")]


def test_profile_response_is_refused_saying_what_it_is(tmp_path: Path) -> None:
    path = tmp_path / "profile.ofx"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<?OFX OFXHEADER="200" VERSION="200" SECURITY="NONE" OLDFILEUID="NONE" '
        'NEWFILEUID="NONE"?>\n<OFX><PROFMSGSRSV1><PROFTRNRS><TRNUID>1</TRNUID><STATUS>'
        "<CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS><PROFRS><MSGSETLIST>"
        "<SIGNONMSGSET><SIGNONMSGSETV1><MSGSETCORE><VER>1</VER></MSGSETCORE>"
        "</SIGNONMSGSETV1></SIGNONMSGSET></MSGSETLIST><DTPROFUP>20240101</DTPROFUP>"
        "<FINAME>Example Broker</FINAME></PROFRS></PROFTRNRS></PROFMSGSRSV1>"
        "<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>"
        "<DTSERVER>20240101</DTSERVER><LANGUAGE>ENG</LANGUAGE></SONRS></SIGNONMSGSRSV1>"
        "</OFX>\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"no statement.*profile"):
        _records(path)


# --- investment holdings and balances ----------------------------------------------------
# A fund company's download (Vanguard, TIAA-CREF): one SGML line, a position list with
# DTPRICEASOF per holding, the security names in SECLIST; a broker's (the OFX spec's
# example, an Interactive Brokers-like file) adds a BALLIST under INVBAL.


def _investment_download(positions: str, trans: str = "", ballist: str = "") -> str:
    return ("<OFX>" + _signon("EXAMPLE FUNDS", "9001") +
            "<INVSTMTMSGSRSV1><INVSTMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>"
            "<INVSTMTRS><DTASOF>20240331160000.000[-5:EST]<CURDEF>USD"
            "<INVACCTFROM><BROKERID>funds.example<ACCTID>0000111122</INVACCTFROM>"
            "<INVTRANLIST><DTSTART>20240301<DTEND>20240331" + trans + "</INVTRANLIST>"
            "<INVPOSLIST>" + positions + "</INVPOSLIST>"
            "<INVBAL><AVAILCASH>120.50<MARGINBALANCE>-50.00<SHORTBALANCE>0" + ballist +
            "</INVBAL></INVSTMTRS></INVSTMTTRNRS></INVSTMTMSGSRSV1>"
            "<SECLISTMSGSRSV1><SECLIST><MFINFO><SECINFO><SECID><UNIQUEID>000000001"
            "<UNIQUEIDTYPE>CUSIP</SECID><SECNAME>Example Index Fund<TICKER>EXIDX</SECINFO>"
            "<MFTYPE>OPENEND</MFINFO></SECLIST></SECLISTMSGSRSV1></OFX>")


_FUND_POSITION = ("<POSMF><INVPOS><SECID><UNIQUEID>000000001<UNIQUEIDTYPE>CUSIP</SECID>"
                  "<HELDINACCT>CASH<POSTYPE>LONG<UNITS>102.5<UNITPRICE>100.00"
                  "<MKTVAL>10250.00<DTPRICEASOF>20240328160000.000[-5:EST]"
                  "<MEMO>Price as of date based on closing price</INVPOS>"
                  "<REINVDIV>Y<REINVCG>Y</POSMF>")
_OTHER_POSITION = ("<POSOTHER><INVPOS><SECID><UNIQUEID>000000002<UNIQUEIDTYPE>CUSIP</SECID>"
                   "<HELDINACCT>CASH<POSTYPE>LONG<UNITS>40<UNITPRICE>1<MKTVAL>40.00"
                   "</INVPOS></POSOTHER>")


def test_holdings_become_dated_positions_not_transactions(tmp_path: Path) -> None:
    records = _records(_write(tmp_path, _investment_download(_FUND_POSITION + _OTHER_POSITION)))
    events = [r for r in records if isinstance(r, ParsedEvent)]
    assert [e.kind for e in events] == ["other", "other"]
    fund, other = events
    assert "amount" not in fund.properties  # a holding is no money moving
    assert fund.properties["type"] == "POSITION"
    assert fund.properties["position_kind"] == "POSMF"
    assert (fund.properties["security"], fund.properties["ticker"]) == (
        "Example Index Fund", "EXIDX")
    assert (fund.properties["units"], fund.properties["unit_price"],
            fund.properties["market_value"]) == (Decimal("102.5"), Decimal("100.00"),
                                                 Decimal("10250.00"))
    assert fund.properties["currency"] == "USD"
    # Held when the statement was made; the price's own date is kept.
    assert fund.occurred_at.isoformat() == "2024-03-31T16:00:00-05:00"
    assert fund.properties["price_as_of"] == "2024-03-28T16:00:00-05:00"
    assert other.occurred_at == fund.occurred_at and "price_as_of" not in other.properties
    assert other.properties["security_id"] == "000000002"
    assert "Example Index Fund" in fund.title and "102.5" in fund.title
    assert [(p.kind, p.value, p.role) for p in fund.parties] == [
        ("account", "0000111122", "account")]
    (account,) = [r for r in records if isinstance(r, ParsedEntity)]
    assert account.party.properties["positions_count"] == 2


def test_balance_list_and_margin_are_kept_on_the_account(tmp_path: Path) -> None:
    ballist = ("<BALLIST><BAL><NAME>Margin Interest Rate<DESC>Current rate on margin"
               "<BALTYPE>PERCENT<VALUE>7.85<DTASOF>20240331</BAL>"
               "<BAL><NAME>ENDING CASH<DESC>ENDING CASH BALANCE<BALTYPE>DOLLAR"
               "<VALUE>2.00</BAL></BALLIST>")
    records = _records(_write(tmp_path, _investment_download("", ballist=ballist)))
    (account,) = [r for r in records if isinstance(r, ParsedEntity)]
    props = account.party.properties
    assert props["available_balance"] == Decimal("120.50")
    assert props["margin_balance"] == Decimal("-50.00")
    assert props["balances"] == [
        {"name": "Margin Interest Rate", "description": "Current rate on margin",
         "type": "PERCENT", "value": Decimal("7.85"), "as_of": "2024-03-31T00:00:00"},
        {"name": "ENDING CASH", "description": "ENDING CASH BALANCE", "type": "DOLLAR",
         "value": Decimal("2.00")}]


def test_bad_holding_is_named_strict_and_skipped_lenient(tmp_path: Path) -> None:
    bad = _OTHER_POSITION.replace("<MKTVAL>40.00", "<MKTVAL>forty")
    path = _write(tmp_path, _investment_download(_FUND_POSITION + bad))
    with pytest.raises(ParseError) as info:
        _records(path)
    assert info.value.ref.startswith("position 2") and info.value.field == "MKTVAL"
    records = list(OfxParser().parse(path, ImportOptions(strict=False)))
    errors = [r for r in records if isinstance(r, RowError)]
    assert [(e.ref.split(",")[0], e.field) for e in errors] == [("position 2", "MKTVAL")]
    assert len([r for r in records if isinstance(r, ParsedEvent)]) == 1


def test_reinvested_income_moves_no_cash(tmp_path: Path) -> None:
    trans = ("<REINVEST><INVTRAN><FITID>R-1<DTTRADE>20240315<MEMO>Dividend reinvested"
             "</INVTRAN><SECID><UNIQUEID>000000001<UNIQUEIDTYPE>CUSIP</SECID>"
             "<INCOMETYPE>DIV<TOTAL>-30.00<SUBACCTSEC>CASH<UNITS>0.2913<UNITPRICE>103.00"
             "</REINVEST>"
             "<BUYMF><INVBUY><INVTRAN><FITID>B-1<DTTRADE>20240305</INVTRAN><SECID>"
             "<UNIQUEID>000000001<UNIQUEIDTYPE>CUSIP</SECID><UNITS>20<UNITPRICE>100.00"
             "<COMMISSION>4.95<TOTAL>-2004.95<SUBACCTSEC>CASH<SUBACCTFUND>CASH</INVBUY>"
             "<BUYTYPE>BUY</BUYMF>")
    records = _records(_write(tmp_path, _investment_download("", trans=trans)))
    reinvest, buy = [r for r in records if isinstance(r, ParsedEvent)]
    assert reinvest.properties["amount"] is None
    assert reinvest.properties["total"] == Decimal("-30.00")
    assert reinvest.properties["cash_movement"] is False
    assert reinvest.properties["reinvested"] is True
    assert buy.properties["amount"] == Decimal("-2004.95")
    assert buy.properties["cash_movement"] is True


def test_positions_and_balances_are_stored(ws, tmp_path: Path) -> None:
    from workstation.ingest.pipeline import run_import

    ballist = "<BALLIST><BAL><NAME>ENDING CASH<BALTYPE>DOLLAR<VALUE>2.00</BAL></BALLIST>"
    path = _write(tmp_path, _investment_download(_FUND_POSITION, ballist=ballist))
    case_id = ws.create_case("OFX-2", "holdings").id
    result = run_import(ws, case_id, path)
    assert result.events == 1
    with ws.db.read() as conn:
        (event,) = conn.execute(text("select kind, properties from event")).all()
        (entity,) = conn.execute(text(
            "select properties from entity where kind = 'account'")).all()
    props = json.loads(event.properties) if isinstance(event.properties, str) \
        else event.properties
    assert event.kind == "other" and props["market_value"] == "10250.00"
    account = json.loads(entity.properties) if isinstance(entity.properties, str) \
        else entity.properties
    assert account["balances"] == [{"name": "ENDING CASH", "type": "DOLLAR", "value": "2.00"}]


def test_positions_without_account_and_with_a_placeholder_price_date(tmp_path: Path) -> None:
    # A Firstrade QFX: no INVACCTFROM, every DTPRICEASOF 19900101, SECNAME padded and
    # followed by the broker's code.
    body = ("<OFX><INVSTMTMSGSRSV1><INVSTMTTRNRS><INVSTMTRS>"
            "<DTASOF>20260605000000</DTASOF><CURDEF>USD</CURDEF><INVPOSLIST>"
            "<POSSTOCK><INVPOS><SECID><UNIQUEID>X000001</UNIQUEID><UNIQUEIDTYPE>CUSIP"
            "</UNIQUEIDTYPE></SECID><HELDINACCT>CASH</HELDINACCT><POSTYPE>LONG</POSTYPE>"
            "<UNITS>6.00000</UNITS><UNITPRICE>25.10</UNITPRICE><MKTVAL>150.60</MKTVAL>"
            "<DTPRICEASOF>19900101</DTPRICEASOF><MEMO>EXAMPLE WIDGETS INC</MEMO></INVPOS>"
            "</POSSTOCK></INVPOSLIST><INVBAL><AVAILCASH>17.73</AVAILCASH></INVBAL>"
            "</INVSTMTRS></INVSTMTTRNRS></INVSTMTMSGSRSV1><SECLISTMSGSRSV1><SECLIST>"
            "<STOCKINFO><SECINFO><SECID><UNIQUEID>X000001</UNIQUEID><UNIQUEIDTYPE>CUSIP"
            "</UNIQUEIDTYPE></SECID><SECNAME>EXAMPLE WIDGETS INC           X000001</SECNAME>"
            "<TICKER>EXWI</TICKER></SECINFO></STOCKINFO></SECLIST></SECLISTMSGSRSV1></OFX>")
    records = _records(_write(tmp_path, body))
    (position,) = [r for r in records if isinstance(r, ParsedEvent)]
    assert position.occurred_at.year == 2026  # not 1990
    assert position.properties["price_as_of"].startswith("1990-01-01")
    assert position.title == "Position: 6.00000 EXAMPLE WIDGETS INC X000001 (EXWI)"
    assert position.parties == ()
