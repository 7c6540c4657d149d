"""QIF statements: the csv2ofx golden files and hand-written variants."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from workstation.ingest.finance.qif import QifParser, read_qif
from workstation.ingest.records import ImportOptions, ParsedEvent, ParseError, Record, RowError


def _events(records: list[Record]) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent)]


@pytest.fixture(scope="module")
def converted(shared_data: Path) -> Path:
    return shared_data / "finance" / "csv2ofx" / "converted"


def test_mint_qif_accounts_and_sum(converted: Path) -> None:
    events = _events(list(read_qif(converted / "mint.qif")))
    assert len(events) == 4
    by_account: dict[str, list[Decimal]] = {}
    for e in events:
        by_account.setdefault(e.properties["account"], []).append(e.properties["amount"])
    assert by_account == {"Checking": [Decimal("-1500.00"), Decimal("2000.00"),
                                       Decimal("-2500.00")],
                          "Savings": [Decimal("-1000.00")]}
    assert sum(e.properties["amount"] for e in events) == Decimal("-3000.00")
    assert all(len(e.properties["splits"]) == 1 for e in events)
    first = events[0]
    assert first.occurred_at == datetime(2015, 6, 12)
    assert first.title == "Transfer from Savings"
    assert first.properties["splits"][0] == {"category": "Savings", "memo": "Account Transfer",
                                             "amount": Decimal("-1500.00")}
    assert first.ref == "line 6"


@pytest.mark.parametrize(("name", "count", "total"), [
    ("mint_alt.qif", 2, "-500.00"), ("mint_extra.qif", 3, "-500.00"),
    ("stripe-all.qif", 5, "112.50"), ("stripe-default.qif", 5, "112.50"),
])
def test_golden_qif_sums(converted: Path, name: str, count: int, total: str) -> None:
    events = _events(list(read_qif(converted / name)))
    assert len(events) == count
    assert sum(e.properties["amount"] for e in events) == Decimal(total)


def test_stripe_qif_payees(converted: Path) -> None:
    events = _events(list(read_qif(converted / "stripe-all.qif")))
    assert [e.title for e in events] == ["Charles Darwin", "James Newton", "charles Darwin",
                                        "Steve Strong", "Big Customer"]
    assert events[-1].occurred_at == datetime(2021, 3, 16)
    assert all(e.properties["account"] == "Stripe" for e in events)
    default = _events(list(read_qif(converted / "stripe-default.qif")))
    # Without a payee the memo is the title, and no counterparty party is invented.
    assert default[0].title == "Entry ID: 316, Product: Big Event 2021"
    assert default[0].parties == ()
    assert default[-1].parties[0].value == "Big Customer"


def test_day_first_file_and_quicken_years(tmp_path: Path) -> None:
    path = tmp_path / "uk.qif"
    path.write_text("!Type:CCard\n"
                    "D03/04/2021\nT-12.50\nPTesco\n^\n"
                    "D25/04/2021\nT-1.00\nPCafe\n^\n", encoding="utf-8")
    events = _events(list(read_qif(path)))
    # 25/04 proves the file is day-first, so 03/04 is the 3rd of April.
    assert events[0].occurred_at == datetime(2021, 4, 3)
    assert events[0].parties[0].role == "merchant"
    quicken = tmp_path / "q.qif"
    quicken.write_text("!Type:Bank\nD6/ 1'15\nT1,234.56\nPSalary\nLIncome:Pay\nN1001\n^\n"
                       "D12/31/98\nU-20.00\nPShop\nL[Savings]\n^\n", encoding="cp1252")
    q = _events(list(read_qif(quicken)))
    assert q[0].occurred_at == datetime(2015, 6, 1)
    assert q[0].properties["amount"] == Decimal("1234.56")
    assert q[0].properties["category"] == "Income:Pay"
    assert q[0].properties["check_number"] == "1001"
    assert q[0].parties[0].role == "payer"
    assert q[1].occurred_at == datetime(1998, 12, 31)
    assert q[1].properties["transfer_account"] == "Savings"
    assert q[1].parties[0].role == "payee"


def test_decimal_comma_file(tmp_path: Path) -> None:
    path = tmp_path / "de.qif"
    path.write_text("!Type:Bank\nD24.12.2020\nT-1.234,50\nPMarkt\n^\n"
                    "D27.12.2020\nT12,00\nPRefund\n^\n", encoding="utf-8")
    events = _events(list(read_qif(path)))
    assert [e.properties["amount"] for e in events] == [Decimal("-1234.50"), Decimal("12.00")]
    assert events[0].occurred_at == datetime(2020, 12, 24)


def test_bad_records_are_row_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.qif"
    path.write_text("!Type:Bank\nD13/45/2020\nT1.00\n^\nD1/2/2020\nTabc\n^\nPNo date\nT5\n^\n"
                    "D1/3/2020\nT2.00\nPLast without caret\n", encoding="utf-8")
    records = list(read_qif(path))
    errors = [r for r in records if isinstance(r, RowError)]
    assert [(e.ref, e.field) for e in errors] == [("line 2", "D"), ("line 5", "T"),
                                                  ("line 8", "D")]
    (ok,) = _events(records)
    assert ok.title == "Last without caret"


def test_skips_category_lists_and_reads_investments(tmp_path: Path) -> None:
    path = tmp_path / "mixed.qif"
    path.write_text("!Type:Cat\nNFood\nE\n^\n"
                    "!Type:Invst\nD1/5/2021\nNBuy\nYACME Corp\nI10.5\nQ3\nT31.50\n^\n",
                    encoding="utf-8")
    (inv,) = _events(list(read_qif(path)))
    assert inv.properties["action"] == "Buy" and inv.properties["security"] == "ACME Corp"
    # Quicken writes the total unsigned: a Buy is money paid out.
    assert inv.properties["amount"] == Decimal("-31.50")
    assert inv.properties["total"] == Decimal("31.50")


def test_not_qif_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.qif"
    path.write_text("hello world\nthis is not qif\n", encoding="utf-8")
    with pytest.raises(ParseError, match="x.qif"):
        list(read_qif(path))


def test_sniff(converted: Path, shared_data: Path) -> None:
    parser = QifParser()
    for path in converted.glob("*.qif"):
        assert parser.sniff(path, path.read_bytes()[:65536]) > 0.9
    for other in ("chat/telegram/result.json", "chat/whatsapp/whatsapp_ios_chat.txt",
                  "finance/ofx/bank_medium.ofx", "finance/csv2ofx/test/mint.csv"):
        path = shared_data / other
        assert parser.sniff(path, path.read_bytes()[:65536]) == 0.0
    assert list(QifParser().parse(converted / "mint.qif", ImportOptions()))


# ---------------------------------------------------------------------------------------
# Producer variants, written here (synthetic names and accounts)
# ---------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "v.qif") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


QUICKEN_EXPORT = """!Option:AutoSwitch
!Account
NChecking
TBank
DMain account
^
NVisa 4000 0000 0000 0002
TCCard
^
!Clear:AutoSwitch
!Account
NChecking
TBank
^
!Type:Bank
D1/2'24
T-1,234.56
U-1,234.56
PCafé Élan
MGroceries
LFood:Groceries
N101
C*
^
!Account
NVisa 4000 0000 0000 0002
TCCard
^
!Type:CCard
D 1/ 3' 4
U-5.00
PCorner Shop
CX
^
"""


def test_quicken_account_list_autoswitch_and_cp1252(tmp_path: Path) -> None:
    path = _write(tmp_path, QUICKEN_EXPORT.replace("\n", "\r\n"), "cp1252")
    first, second = _events(list(read_qif(path)))
    assert first.title == "Café Élan"
    assert first.properties["account"] == "Checking"
    assert first.properties["account_type"] == "Bank"
    assert first.properties["amount"] == Decimal("-1234.56")
    assert first.occurred_at == datetime(2024, 1, 2)
    assert (first.properties["category"], first.properties["check_number"],
            first.properties["memo"]) == ("Food:Groceries", "101", "Groceries")
    assert first.properties["cleared_status"] == "cleared"
    # "Checking" is a label, not an identifier: no account entity is made of it.
    assert [p.kind for p in first.parties] == ["organisation"]
    # Only U (the other amount field) given; " 1/ 3' 4" is Quicken's padded 2004 date.
    assert second.properties["amount"] == Decimal("-5.00")
    assert second.occurred_at == datetime(2004, 1, 3)
    assert second.properties["account"] == "Visa 4000 0000 0000 0002"
    assert second.properties["cleared_status"] == "reconciled"
    # A card account named by its number: the card is a party of its transactions.
    assert [(p.kind, p.value, p.role) for p in second.parties] == [
        ("card", "4000000000000002", "payment_card"),
        ("organisation", "Corner Shop", "merchant")]


def test_account_list_alone_does_not_name_the_next_section(tmp_path: Path) -> None:
    path = _write(tmp_path, "!Option:AutoSwitch\n!Account\nNChecking\nTBank\n^\nNSavings\n"
                            "TBank\n^\n!Clear:AutoSwitch\n!Type:Bank\nD1/2/2024\nT1.00\n^\n")
    (event,) = _events(list(read_qif(path)))
    assert "account" not in event.properties  # it could be either listed account


def test_account_number_becomes_an_account_party(tmp_path: Path) -> None:
    path = _write(tmp_path, "!Account\nN12-3456-7890\nTBank\n^\n!Type:Bank\n"
                            "D1/2/2024\nT-9.99\nPShop\n^\n")
    (event,) = _events(list(read_qif(path)))
    accounts = [p for p in event.parties if p.kind == "account"]
    assert [(p.value, p.role) for p in accounts] == [("12-3456-7890", "account")]


@pytest.mark.parametrize(("written", "expected"), [
    ("1/2'24", datetime(2024, 1, 2)), ("01/02/2024", datetime(2024, 1, 2)),
    ("2024-01-02", datetime(2024, 1, 2)), ("1/ 2/98", datetime(1998, 1, 2)),
    (" 1/ 2' 4", datetime(2004, 1, 2)), ("12/31/1999", datetime(1999, 12, 31)),
])
def test_date_forms(tmp_path: Path, written: str, expected: datetime) -> None:
    path = _write(tmp_path, f"!Type:Cash\nD{written}\nT1.00\n^\n")
    (event,) = _events(list(read_qif(path)))
    assert event.occurred_at == expected


def test_day_first_decided_by_a_later_record(tmp_path: Path) -> None:
    # The first two dates are ambiguous; 13/02 at the end settles the whole file.
    path = _write(tmp_path, "!Type:Bank\nD01/02/2024\nT1\n^\nD03/02/2024\nT2\n^\n"
                            "D13/02/2024\nT3\n^\n")
    assert [e.occurred_at for e in _events(list(read_qif(path)))] == [
        datetime(2024, 2, 1), datetime(2024, 2, 3), datetime(2024, 2, 13)]
    # ... and month-first the other way round.
    path = _write(tmp_path, "!Type:Bank\nD01/02/2024\nT1\n^\nD02/13/2024\nT2\n^\n", name="m.qif")
    assert [e.occurred_at for e in _events(list(read_qif(path)))] == [
        datetime(2024, 1, 2), datetime(2024, 2, 13)]


def test_option_dmy_states_the_date_order(tmp_path: Path) -> None:
    path = _write(tmp_path, "!Option:DMY\n!Type:Bank\nD01/02/2024\nT1\n^\n")
    (event,) = _events(list(read_qif(path)))
    assert event.occurred_at == datetime(2024, 2, 1)


def test_splits_with_a_transfer_and_decimal_comma(tmp_path: Path) -> None:
    path = _write(tmp_path, "!Type:Bank\nD24.12.2020\nT-1.000,00\nPWarenhaus\nLHaushalt\n"
                            "SEssen\nEfood part\n$-600,00\nS[Sparkonto]\nEmove\n$-400,00\n^\n")
    (event,) = _events(list(read_qif(path)))
    assert event.properties["amount"] == Decimal("-1000.00")
    assert event.properties["splits"] == [
        {"category": "Essen", "memo": "food part", "amount": Decimal("-600.00")},
        {"transfer_account": "Sparkonto", "memo": "move", "amount": Decimal("-400.00")}]


def test_investment_numbers_are_decimals(tmp_path: Path) -> None:
    path = _write(tmp_path, "!Type:Invst\nD1/2/2024\nNBuy\nYExample Widgets\nI12.50\nQ10\n"
                            "O1.00\nT126.00\n^\nD1/3/2024\nNShrsIn\nYExample Widgets\nQ5\n^\n")
    buy, shares_in = _events(list(read_qif(path)))
    assert buy.title == "Buy Example Widgets"
    assert (buy.properties["price"], buy.properties["quantity"],
            buy.properties["commission"], buy.properties["amount"]) == (
        Decimal("12.50"), Decimal("10"), Decimal("1.00"), Decimal("-126.00"))
    assert shares_in.properties["amount"] is None
    assert shares_in.properties["cash_movement"] is False
    assert shares_in.properties["quantity"] == Decimal("5")


def test_unknown_header_is_reported_and_the_rest_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "!Type:Bank\nD1/2/2024\nT1.00\n^\n!Type Invoice\n!Frobnicate\n"
                            "Xjunk\n^\n!Type:Bank\nD1/3/2024\nT2.00\n^\n")
    records = list(read_qif(path))
    errors = [r for r in records if isinstance(r, RowError)]
    assert [(e.ref, "Frobnicate" in e.message) for e in errors] == [("line 6", True)]
    assert [e.properties["amount"] for e in _events(records)] == [Decimal("1.00"),
                                                                  Decimal("2.00")]


def test_blank_lines_crlf_and_missing_final_caret(tmp_path: Path) -> None:
    path = _write(tmp_path, "\r\n!Type:Bank\r\n\r\nD1/2/2024\r\nT-3.00\r\nPA\r\n^\r\n\r\n"
                            "D1/3/2024\r\nT-4.00\r\nPB")
    events = _events(list(read_qif(path)))
    assert [(e.title, e.properties["amount"]) for e in events] == [("A", Decimal("-3.00")),
                                                                  ("B", Decimal("-4.00"))]
    assert events[0].ref == "line 4"
