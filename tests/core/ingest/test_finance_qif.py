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
    assert inv.properties["amount"] == Decimal("31.50")


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
