"""OFX/QFX shapes seen in real downloads (third round), rebuilt with synthetic content.

Structures: a broker's investment download whose statement status is a warning (12251,
position download not supported: the server sent the transactions it has); a server
that answers a failed sign-on with the code alone (15500, no MESSAGE); a neobank's card
statement (UUID account, ``[-3:GMT]`` dates) for a period without transactions.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.core.ingest.test_finance_ofx_real_variants import (
    HEADER,
    _records,
    _signon,
    _write,
)
from workstation.ingest.finance.ofx import OfxParser
from workstation.ingest.records import ImportOptions, Notice, ParsedEntity, ParsedEvent, ParseError


def _broker(status: str) -> str:
    return ("<OFX>" + _signon("EXAMPLE BROKER", "4321") +
            "<INVSTMTMSGSRSV1><INVSTMTTRNRS><TRNUID>1<STATUS>" + status + "</STATUS>"
            "<INVSTMTRS><DTASOF>20240331<CURDEF>USD<INVACCTFROM><BROKERID>broker.example"
            "<ACCTID>77001</INVACCTFROM><INVTRANLIST><DTSTART>20240301<DTEND>20240331"
            "<INVBANKTRAN><STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240305<TRNAMT>500.00"
            "<FITID>X1<NAME>ACH DEPOSIT</STMTTRN><SUBACCTFUND>CASH</INVBANKTRAN>"
            "<INCOME><INVTRAN><FITID>D1<DTTRADE>20240315</INVTRAN><SECID><UNIQUEID>000000009"
            "<UNIQUEIDTYPE>CUSIP</SECID><INCOMETYPE>DIV<TOTAL>12.34<SUBACCTSEC>CASH"
            "<SUBACCTFUND>CASH</INCOME></INVTRANLIST></INVSTMTRS></INVSTMTTRNRS>"
            "</INVSTMTMSGSRSV1></OFX>")


def test_warning_status_keeps_the_statement_and_says_so(tmp_path: Path) -> None:
    path = _write(tmp_path, _broker("<CODE>12251<SEVERITY>WARN"), "broker.qfx")
    records = _records(path)  # strict: a warning is no failure
    events = [r for r in records if isinstance(r, ParsedEvent)]
    assert [e.properties["amount"] for e in events] == [Decimal("500.00"), Decimal("12.34")]
    (notice,) = [r for r in records if isinstance(r, Notice)]
    assert notice.ref == "statement 1"
    assert "12251" in notice.message and "position download not supported" in notice.message


def test_error_status_is_still_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _broker("<CODE>2003<SEVERITY>ERROR"), "broker.qfx")
    with pytest.raises(ParseError) as info:
        _records(path)
    assert "account not found" in str(info.value) and "2003" in str(info.value)


def test_failed_sign_on_without_a_message_says_what_the_code_means(tmp_path: Path) -> None:
    path = _write(tmp_path, "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>15500"
                            "<SEVERITY>ERROR</STATUS><DTSERVER>20240301<LANGUAGE>ENG"
                            "</SONRS></SIGNONMSGSRSV1></OFX>")
    with pytest.raises(ParseError) as info:
        _records(path)
    assert "15500" in str(info.value) and "wrong user ID or password" in str(info.value)


def test_card_statement_without_transactions_is_said(tmp_path: Path) -> None:
    text = ("<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>\n\n"
            "<DTSERVER>20240402000000[-3:GMT]<LANGUAGE>POR</SONRS></SIGNONMSGSRSV1>\n\n"
            "<CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>1001<STATUS><CODE>0<SEVERITY>INFO"
            "</STATUS>\n\n<CCSTMTRS><CURDEF>BRL<CCACCTFROM>"
            "<ACCTID>0f0e0d0c-2222-4a4a-8b8b-123456789abc</CCACCTFROM>\n\n<BANKTRANLIST>"
            "<DTSTART>20240224000000[-3:GMT]<DTEND>20240326000000[-3:GMT]</BANKTRANLIST>"
            "<LEDGERBAL><BALAMT>0.00<DTASOF>20240325000000[-3:GMT]</LEDGERBAL></CCSTMTRS>"
            "</CCSTMTTRNRS></CREDITCARDMSGSRSV1></OFX>\n")
    path = tmp_path / "nubank.ofx"
    path.write_text(HEADER.rstrip("\n") + "\n" + text, encoding="ascii")
    records = list(OfxParser().parse(path, ImportOptions()))
    assert not [r for r in records if isinstance(r, ParsedEvent)]
    (account,) = [r for r in records if isinstance(r, ParsedEntity)]
    assert account.party.properties["ledger_balance"] == Decimal("0.00")
    (notice,) = [r for r in records if isinstance(r, Notice)]
    assert "no transactions" in notice.message
    assert "2024-02-24 … 2024-03-26" in notice.message
