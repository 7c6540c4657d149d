"""Card references written after words, PayPal's "Memo" rows, and Santander UK's .txt
statement of "Label: value" blocks.

Files rebuild the producers' real layouts with made-up people, merchants, cards and
amounts, and go through ``run_import`` into an encrypted case database, read back the way
an investigator sees them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.core.ingest.test_finance_csv_layouts import _lines, case_id  # noqa: F401
from workstation.errors import BadInput
from workstation.ingest.finance.labelled import LabelledStatementParser
from workstation.ingest.finance.table import card_from_text
from workstation.ingest.formats import all_parsers
from workstation.ingest.pipeline import detect, run_import
from workstation.ingest.records import ImportOptions

NBSP = "\u00a0"


def _events(ws, case_id: int) -> list:
    return sorted(ws.list_events(case_id, limit=None),
                  key=lambda e: int((e.source_ref or "x 0").split()[-1]))


def _roles(event) -> dict[str, str]:
    return {p.role: p.label for p in event.parties}


# --- 1. card digits written after words ---------------------------------------------

_AFTER_WORDS = (("Visa Debit 0987", "0987", "Visa"), ("Karte Nr. 1234", "1234", None),
                ("Tarjeta 4321", "4321", None), ("Mastercard Credit - 5678", "5678", "Mastercard"))
_READ_BEFORE = (("MASTERCARD ending in 1234", "1234", "Mastercard"),
                ("Card •••• 5678", "5678", None), ("Debit Card x4321", "4321", None),
                ("VISA ****1234", "1234", "Visa"), ("Carte 4974 XXXX XXXX 1234", "1234", None))
_NO_CARD = ("Card 05/2024", "Visa 12.50", "Debit 555-0123", "Card 2024-01-05", "Your Cash",
            "Savings", "Credit 1,234")


def test_card_digits_after_words_give_the_cards_last_four_and_nothing_else_does() -> None:
    seen = [(t, card_from_text(None, t)) for t, _, _ in (*_AFTER_WORDS, *_READ_BEFORE)]
    assert [(t, c.last4, c.brand, c.party_value) for t, c in seen] == [
        (t, last4, brand, f"last4:{last4}") for t, last4, brand in (*_AFTER_WORDS, *_READ_BEFORE)]
    # A date, an amount or a phone number after a card word is no card.
    assert {t: card_from_text(None, t).party_value for t in _NO_CARD} == dict.fromkeys(_NO_CARD)
    # A full number is kept whole, as before.
    card = card_from_text("4111 1111 1111 1111", None)
    assert (card.number, card.last4) == ("4111111111111111", "1111")


_CASH_APP = _lines(
    '"Transaction ID","Date","Transaction Type","Currency","Amount","Fee","Net Amount",'
    '"Asset Type","Asset Price","Asset Amount","Status","Notes","Name of sender/receiver",'
    '"Account"',
    '"abc1de","2024-01-07 16:12:36 EST","Cash Card Debit","USD","-$2.90","$0","-$2.90",'
    '"","","","CARD CHARGED","EXAMPLE TRANSIT","","Visa Debit 0987"',
    '"fgh2ij","2024-01-08 09:00:00 EST","Cash Card Debit","USD","-$4.10","$0","-$4.10",'
    '"","","","CARD CHARGED","EXAMPLE CAFE","","Visa Debit 0987"',
    '"klm3no","2024-01-05 10:00:00 PST","Received P2P","USD","$1,250.50","-$0.50",'
    '"$1,250","","","","PAYMENT DEPOSITED","rent","Jane Example","Your Cash"')


def test_cash_app_card_named_in_the_account_column_is_one_card_entity(
        ws, case_id: int, tmp_path: Path) -> None:
    path = tmp_path / "cash_app_report_btc.csv"
    path.write_text(_CASH_APP, encoding="utf-8")
    run_import(ws, case_id, path, options=ImportOptions(default_region="US"))
    first, second, received = _events(ws, case_id)
    assert _roles(first)["payment_card"] == "•••• 0987" and "account" not in _roles(first)
    assert first.properties["card_last4"] == "0987"
    assert first.properties["account"] == "Visa Debit 0987"  # as written, still shown
    cards = ws.list_entities(case_id, kind="card")
    assert [(c.label, c.properties.get("brand")) for c in cards] == [("•••• 0987", "Visa")]
    assert ws.list_entities(case_id, kind="account") == []
    assert "payment_card" in _roles(second) and "payment_card" not in _roles(received)


# --- 2. PayPal's "Memo" rows -------------------------------------------------------

_PAYPAL = _lines(
    '"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee","Net",'
    '"From Email Address","To Email Address","Transaction ID","Reference Txn ID",'
    '"Balance","Balance Impact"',
    '"01/03/2025","13:57:10","PST","Example Rides, Inc","General Authorization","Pending",'
    '"USD","-42.92","0.00","-42.92","buyer@example.com","rides@example.org",'
    '"0A000000000000001","","0.00","Memo"',
    '"01/04/2025","08:00:00","PST","Example Rides, Inc","Express Checkout Payment",'
    '"Completed","USD","-42.92","0.00","-42.92","buyer@example.com","rides@example.org",'
    '"0A000000000000003","0A000000000000001","-42.92","Debit"',
    '"01/09/2025","14:30:00","PST","Ana Example","Payment","Completed","USD","1,500.00",'
    '"-58.80","1,441.20","ana@example.com","seller@example.org","0A000000000000002","",'
    '"1,398.28","Credit"')


def test_paypal_memo_row_is_kept_with_its_amount_but_moves_no_cash(
        ws, case_id: int, tmp_path: Path) -> None:
    path = tmp_path / "Download.CSV"
    path.write_text(_PAYPAL, encoding="utf-8")
    result = run_import(ws, case_id, path, options=ImportOptions(timezone="America/New_York"))
    assert result.events == 3  # the authorisation stays on the timeline
    hold, payment, received = _events(ws, case_id)
    assert hold.title == payment.title == "Example Rides, Inc"
    assert hold.properties["amount"] == "-42.92"  # visible as written
    assert hold.properties["cash_movement"] is False
    assert "cash_movement" not in payment.properties
    assert "cash_movement" not in received.properties
    # What moved through the account: the payment once, not the hold beside it.
    moved = sum(Decimal(e.properties["amount"]) for e in (hold, payment, received)
                if e.properties.get("cash_movement") is not False)
    assert moved == Decimal("1457.08")


# --- 3. Santander UK's .txt statement -----------------------------------------------

def _santander(*blocks: str, account: str = "XXXX XXXX XXXX 1234") -> bytes:
    """A Santander UK download as the bank writes it: Windows-1252, CRLF, a non-breaking
    space after each label and around the amounts."""
    head = (f"From:{NBSP}01/01/2024 to 31/01/2024\r\n\r\n"
            f"Account:{NBSP}{account}\r\n\r\n")
    return (head + "\r\n".join(blocks)).encode("cp1252")


def _block(day: str, description: str, amount: str, balance: str) -> str:
    return (f"Date:{NBSP}{day}\r\nDescription:{NBSP}{description}\r\n"
            f"Amount:{NBSP}{amount}{NBSP}\r\nBalance:{NBSP}{balance}{NBSP}\r\n")


_STATEMENT = _santander(
    _block("05/01/2024", "CARD PAYMENT TO EXAMPLE SHOP,12.50 GBP, RATE 1.00/GBP ON 03-01-2024",
           "-12.50", "1234.56"),
    _block("04/01/2024", "DIRECT DEBIT PAYMENT TO EXAMPLE ENERGY REF 000123, MANDATE NO 0012",
           "-1,050.00", "1247.06"),
    _block("02/01/2024", "FASTER PAYMENTS RECEIPT REF.RENT FROM J EXAMPLE", "500.00",
           "2297.06"),
    _block("02/01/2024", "CARD PAYMENT TO CAFÉ EXAMPLE ON 01-01-2024", "-3.20", "1797.06"))


def test_santander_txt_statement_imports_one_transaction_per_block(
        ws, case_id: int, tmp_path: Path) -> None:
    path = tmp_path / "Statement.txt"
    path.write_bytes(_STATEMENT)
    assert detect(path).format == "labelled_statement"
    result = run_import(ws, case_id, path, options=ImportOptions(timezone="Europe/London"))
    assert result.events == 4
    shop, energy, rent, cafe = _events(ws, case_id)
    assert shop.source_ref == "line 5"
    assert shop.title == "EXAMPLE SHOP"
    assert _roles(shop) == {"account": "XXXX XXXX XXXX 1234", "merchant": "EXAMPLE SHOP"}
    p = shop.properties
    assert (p["amount"], p["currency"], p["balance"]) == ("-12.50", "GBP", "1234.56")
    assert p["description"].startswith("CARD PAYMENT TO EXAMPLE SHOP,12.50 GBP")
    assert p["card_used_on"] == "2024-01-03"
    assert p["statement_period"] == "2024-01-01/2024-01-31"
    assert shop.ts_utc is not None and p["time_precision"] == "day"
    assert (energy.title, energy.properties["amount"]) == ("EXAMPLE ENERGY", "-1050.00")
    # A receipt names no merchant: the description is its title, the account its party.
    assert rent.title == "FASTER PAYMENTS RECEIPT REF.RENT FROM J EXAMPLE"
    assert rent.properties["amount"] == "500.00"
    assert _roles(rent) == {"account": "XXXX XXXX XXXX 1234"}
    assert cafe.title == "CAFÉ EXAMPLE"  # read from Windows-1252
    accounts = ws.list_entities(case_id, kind="account")
    assert [a.label for a in accounts] == ["XXXX XXXX XXXX 1234"]


def test_bad_santander_block_stops_the_import_naming_file_and_line(
        ws, case_id: int, tmp_path: Path) -> None:
    path = tmp_path / "Statement.txt"
    path.write_bytes(_santander(
        _block("05/01/2024", "CARD PAYMENT TO EXAMPLE SHOP", "-12.50", "1234.56"),
        _block("31/02/2024", "CARD PAYMENT TO EXAMPLE BAR", "-5.00", "1229.56")))
    before = ws.counts()
    with pytest.raises(BadInput) as caught:
        run_import(ws, case_id, path, options=ImportOptions(timezone="Europe/London"))
    message = str(caught.value)
    assert str(path) in message and "line 10" in message and "31/02/2024" in message
    assert ws.counts() == before

    path.write_bytes(_santander(
        _block("05/01/2024", "CARD PAYMENT TO EXAMPLE SHOP", "twelve", "1234.56")))
    with pytest.raises(BadInput) as caught:
        run_import(ws, case_id, path, options=ImportOptions(timezone="Europe/London"))
    assert "line 7" in str(caught.value) and "'amount'" in str(caught.value)
    assert ws.counts() == before


def test_block_statement_is_claimed_only_by_its_reader(tmp_path: Path) -> None:
    path = tmp_path / "Statement.txt"
    path.write_bytes(_STATEMENT)
    head = path.read_bytes()
    scores = {p.name: p.sniff(path, head) for p in all_parsers()}
    assert scores["labelled_statement"] >= 0.9
    assert all(v < 0.3 for name, v in scores.items() if name != "labelled_statement"), scores


def test_block_reader_takes_no_other_format(shared_data: Path, tmp_path: Path) -> None:
    reader = LabelledStatementParser()
    files = [p for p in (shared_data / "finance").rglob("*") if p.is_file()]
    files += [p for p in (shared_data / "chat").rglob("*") if p.is_file()]
    assert len(files) > 20
    # An e-mail's header has "From:" and "Date:" lines, and a note may have "Amount:".
    mail = tmp_path / "note.eml"
    mail.write_text("From: a@example.com\nDate: Tue, 2 Jan 2024 10:00:00 +0000\n"
                    "Subject: payment\n\nAmount: 12.50\nBalance: 3.00\n")
    no_account = tmp_path / "no_account.txt"
    no_account.write_bytes(_STATEMENT.replace(b"Account:", b"Konto:"))
    for path in [*files, mail, no_account]:
        assert reader.sniff(path, path.read_bytes()[:65536]) == 0.0, path
