"""OFX/QFX shapes seen in real downloads (second round), rebuilt with synthetic content.

Structures: a US bank's card download that writes every transaction's own FITID as its
CORRECTFITID (``[0:UTC]`` zones, indented SGML); a store card's QFX with closed tags,
``.000[0:GMT]`` dates, DTUSER before DTPOSTED and an unrelated CORRECTFITID without
CORRECTACTION; corrections as the OFX spec defines them; per-transaction CURRENCY and
ORIGCURRENCY; a lower-case, BOM-prefixed UTF-8 download with blank lines after the
header that repeats a FITID; a broker's BUY written with a positive TOTAL.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from workstation.ingest.finance.ofx import OfxParser
from workstation.ingest.records import ImportOptions, Notice, ParsedEvent

HEADER = ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
          "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n")


def _card_file(transactions: str, currency: str = "USD") -> str:
    return (HEADER + "<OFX>\n <SIGNONMSGSRSV1>\n  <SONRS>\n   <STATUS>\n    <CODE>0\n"
            "    <SEVERITY>INFO\n   </STATUS>\n   <DTSERVER>20240527150022[0:UTC]\n"
            "   <LANGUAGE>ENG\n   <FI>\n    <ORG>Example Card Bank\n    <FID>9999\n   </FI>\n"
            "   <INTU.BID>9999\n  </SONRS>\n </SIGNONMSGSRSV1>\n <CREDITCARDMSGSRSV1>\n"
            "  <CCSTMTTRNRS>\n   <TRNUID>20240527150022[0:UTC]\n   <STATUS>\n    <CODE>0\n"
            "    <SEVERITY>INFO\n   </STATUS>\n   <CCSTMTRS>\n"
            f"    <CURDEF>{currency}\n    <CCACCTFROM>\n     <ACCTID>4111111111111111\n"
            "    </CCACCTFROM>\n    <BANKTRANLIST>\n     <DTSTART>20240417160000[0:UTC]\n"
            "     <DTEND>20240516160000[0:UTC]\n" + transactions +
            "    </BANKTRANLIST>\n    <LEDGERBAL>\n     <BALAMT>-100.00\n"
            "     <DTASOF>20240516000000[0:UTC]\n    </LEDGERBAL>\n   </CCSTMTRS>\n"
            "  </CCSTMTTRNRS>\n </CREDITCARDMSGSRSV1>\n</OFX>\n")


def _trn(fitid: str, amount: str, name: str, extra: str = "",
         posted: str = "20240417160000[0:UTC]") -> str:
    return (f"     <STMTTRN>\n      <TRNTYPE>DEBIT\n      <DTPOSTED>{posted}\n"
            f"      <TRNAMT>{amount}\n      <FITID>{fitid}\n{extra}"
            f"      <NAME>{name}\n     </STMTTRN>\n")


def _read(tmp_path: Path, text: str, name: str = "statement.qfx") -> tuple[list, list]:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    records = list(OfxParser().parse(path, ImportOptions()))
    return ([r for r in records if isinstance(r, ParsedEvent)],
            [r for r in records if isinstance(r, Notice)])


def test_replace_and_delete_in_one_statement_count_once(tmp_path: Path) -> None:
    events, notices = _read(tmp_path, _card_file(
        _trn("T1", "-10.00", "EXAMPLE CAFE") +
        _trn("T2", "-25.00", "EXAMPLE BOOKS") +
        _trn("T1b", "-12.00", "EXAMPLE CAFE",
             "      <CORRECTFITID>T1\n      <CORRECTACTION>REPLACE\n") +
        _trn("T2d", "-25.00", "EXAMPLE BOOKS",
             "      <CORRECTFITID>T2\n      <CORRECTACTION>DELETE\n") +
        # The bank writes its own FITID as CORRECTFITID on ordinary lines: no correction.
        _trn("T3", "-7.00", "EXAMPLE GROCER",
             "      <CORRECTFITID>T3\n      <CORRECTACTION>REPLACE\n")))
    # The café's corrected amount only; the deleted purchase not at all.
    assert [(e.title, e.properties["amount"]) for e in events] == [
        ("EXAMPLE CAFE", Decimal("-12.00")), ("EXAMPLE GROCER", Decimal("-7.00"))]
    assert events[0].properties["corrects_fitid"] == "T1"
    assert events[0].properties["correct_action"] == "REPLACE"
    assert "corrects_fitid" not in events[1].properties
    assert events[1].occurred_at == datetime(2024, 4, 17, 16, tzinfo=timezone.utc)
    assert sum(e.properties["amount"] for e in events) == Decimal("-19.00")
    assert len(notices) == 2
    messages = [n.message for n in notices]
    assert any("replaces FITID T1" in m and "not imported" in m for m in messages)
    assert any("deletes FITID T2" in m and "neither is imported" in m for m in messages)


def test_corrections_of_an_earlier_download(tmp_path: Path) -> None:
    events, notices = _read(tmp_path, _card_file(
        _trn("N1", "-40.00", "EXAMPLE HOTEL",
             "      <CORRECTFITID>OLD-7\n      <CORRECTACTION>REPLACE\n") +
        _trn("N2", "-5.00", "EXAMPLE KIOSK",
             "      <CORRECTFITID>OLD-8\n      <CORRECTACTION>DELETE\n")))
    # The replacement stands (marked); a deletion entry moved no money.
    assert [(e.title, e.properties["corrects_fitid"]) for e in events] == [
        ("EXAMPLE HOTEL", "OLD-7")]
    assert [n.ref for n in notices] == ["transaction 1, line 42", "transaction 2, line 51"]
    assert "earlier download" in notices[0].message
    assert "deletes FITID OLD-8" in notices[1].message


def test_purchase_moment_is_dtuser_with_closed_tags_and_milliseconds(tmp_path: Path) -> None:
    # A store card's QFX: closed tags, .000[0:GMT], bought on the 30th, posted on the
    # 31st, and a CORRECTFITID of its own making without any CORRECTACTION.
    trn = ("<STMTTRN><TRNTYPE>DEBIT</TRNTYPE>"
           "<DTPOSTED>20231231000000.000[0:GMT]</DTPOSTED>"
           "<DTUSER>20231230000000.000[0:GMT]</DTUSER><TRNAMT>-9.9600</TRNAMT>"
           "<FITID>01950000000000000000000120231230</FITID>"
           "<CORRECTFITID>0195$0001$20231231$$9.96$0001</CORRECTFITID>"
           "<REFNUM>00000000000000000000001</REFNUM><NAME>00001234 EXAMPLETOWN MI</NAME>"
           "<SIC>5310</SIC></STMTTRN>\n"
           "<STMTTRN><TRNTYPE>DEBIT</TRNTYPE>"
           "<DTPOSTED>20240102000000.000[0:GMT]</DTPOSTED>"
           "<DTUSER>20240105000000.000[0:GMT]</DTUSER><TRNAMT>-1.00</TRNAMT>"
           "<FITID>2</FITID><NAME>LATE USER DATE</NAME></STMTTRN>\n")
    events, notices = _read(tmp_path, _card_file(trn))
    first, second = events
    assert first.occurred_at == datetime(2023, 12, 30, tzinfo=timezone.utc)
    assert first.properties["posted_at"] == "2023-12-31T00:00:00+00:00"
    assert first.properties["date_basis"] == "DTUSER"
    assert first.properties["time_precision"] == "day"
    assert first.properties["mcc"] == "5310"
    assert not notices and "corrects_fitid" not in first.properties
    # A "user date" after the posting is no purchase moment: DTPOSTED stays.
    assert second.occurred_at == datetime(2024, 1, 2, tzinfo=timezone.utc)
    assert "date_basis" not in second.properties


def test_foreign_currency_amounts_with_the_converted_one(tmp_path: Path) -> None:
    trn = (_trn("F1", "-100.00", "EXAMPLE HOTEL PARIS",
                "      <CURRENCY>\n       <CURRATE>1.0825\n       <CURSYM>EUR\n"
                "      </CURRENCY>\n") +
           _trn("F2", "-73.40", "EXAMPLE CAFE LONDON",
                "      <ORIGCURRENCY>\n       <CURRATE>1.25\n       <CURSYM>GBP\n"
                "      </ORIGCURRENCY>\n") +
           _trn("F3", "-5.00", "EXAMPLE SHOP",
                "      <CURRENCY>\n       <CURRATE>1.0\n       <CURSYM>USD\n"
                "      </CURRENCY>\n"))
    events, _ = _read(tmp_path, _card_file(trn))
    eur, gbp, usd = (e.properties for e in events)
    # CURRENCY: the amount is in euros; the card account paid amount x rate dollars.
    assert (eur["amount"], eur["currency"]) == (Decimal("-100.00"), "EUR")
    assert (eur["account_amount"], eur["account_currency"]) == (Decimal("-108.25"), "USD")
    # ORIGCURRENCY: the amount is the account's dollars; made as amount / rate pounds.
    assert (gbp["amount"], gbp["currency"]) == (Decimal("-73.40"), "USD")
    assert (gbp["original_amount"], gbp["original_currency"]) == (Decimal("-58.72"), "GBP")
    assert gbp["exchange_rate"] == Decimal("1.25")
    # The statement's own currency at rate 1: nothing to convert.
    assert "account_amount" not in usd and usd["currency"] == "USD"


def test_repeated_fitid_in_a_lower_case_bom_file_is_kept_and_said(tmp_path: Path) -> None:
    body = ("\ufeffOFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nENCODING:UTF-8\r\n"
            "CHARSET:NONE\r\n\r\n\r\n\r\n<ofx><bankmsgsrsv1><stmttrnrs><trnuid>1<status>"
            "<code>0<severity>INFO</status><stmtrs><curdef>EUR<bankacctfrom>"
            "<bankid>10020030<acctid>000123456<accttype>CHECKING</bankacctfrom>"
            "<banktranlist><stmttrn><trntype>DEBIT<dtposted>20240105<trnamt>-10.00"
            "<fitid>A1<memo>Café Exemple</stmttrn><stmttrn><trntype>DEBIT"
            "<dtposted>20240106<trnamt>-10.00<fitid>A1<payee><name>Example Shop"
            "<addr1>1 Example Road<city>Exampletown<postalcode>00000</payee></stmttrn>"
            "</banktranlist></stmtrs></stmttrnrs></bankmsgsrsv1></ofx>")
    path = tmp_path / "lower.ofx"
    path.write_bytes(body.encode("utf-8"))
    records = list(OfxParser().parse(path, ImportOptions()))
    events = [r for r in records if isinstance(r, ParsedEvent)]
    assert [(e.title, e.properties["amount"]) for e in events] == [
        ("Café Exemple", Decimal("-10.00")), ("Example Shop", Decimal("-10.00"))]
    assert events[1].parties[-1].properties["city"] == "Exampletown"
    (notice,) = [r for r in records if isinstance(r, Notice)]
    assert "FITID A1" in notice.message and "2 transactions" in notice.message
    assert "all are kept" in notice.message


def test_buy_with_a_positive_total_is_flagged(tmp_path: Path) -> None:
    text = (HEADER + "<OFX><INVSTMTMSGSRSV1><INVSTMTTRNRS><TRNUID>1<STATUS><CODE>0"
            "<SEVERITY>INFO</STATUS><INVSTMTRS><DTASOF>20240301<CURDEF>USD<INVACCTFROM>"
            "<BROKERID>broker.example.com<ACCTID>999000</INVACCTFROM><INVTRANLIST>"
            "<DTSTART>20240101<DTEND>20240301<BUYSTOCK><INVBUY><INVTRAN><FITID>B1"
            "<DTTRADE>20240105</INVTRAN><SECID><UNIQUEID>000000000<UNIQUEIDTYPE>CUSIP"
            "</SECID><UNITS>10<UNITPRICE>5<COMMISSION>1<TOTAL>51.00<SUBACCTSEC>CASH"
            "<SUBACCTFUND>CASH</INVBUY><BUYTYPE>BUY</BUYSTOCK><SELLSTOCK><INVSELL><INVTRAN>"
            "<FITID>S1<DTTRADE>20240106</INVTRAN><SECID><UNIQUEID>000000000"
            "<UNIQUEIDTYPE>CUSIP</SECID><UNITS>-2<UNITPRICE>6<TOTAL>12.00</INVSELL>"
            "<SELLTYPE>SELL</SELLSTOCK></INVTRANLIST></INVSTMTRS></INVSTMTTRNRS>"
            "</INVSTMTMSGSRSV1></OFX>")
    events, notices = _read(tmp_path, text, "broker.ofx")
    buy, sell = events
    # Kept as written, titled by the security even without a security list.
    assert buy.properties["amount"] == Decimal("51.00")
    assert buy.title == "BUYSTOCK 000000000"
    (notice,) = notices
    assert notice.ref == buy.ref
    assert "positive TOTAL" in notice.message and "sign" in notice.message
    assert sell.properties["amount"] == Decimal("12.00")
