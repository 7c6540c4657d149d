"""QIF shapes seen in real exports (second round), rebuilt with synthetic content.

Structures: a checkbook program's export with split lines (S/E/$) under an L category;
Quicken exports with T and U amounts; a Quicken AutoSwitch export of a checking and a
brokerage account where each BuyX/SellX is written in both sections; the GnuCash
example whose X action puts the account after the bar (``Category|[Account]``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from workstation.ingest.finance.qif import read_qif
from workstation.ingest.records import Notice, ParsedEvent, RowError


def _read(tmp_path: Path, text: str) -> tuple[list[ParsedEvent], list[Notice]]:
    path = tmp_path / "export.qif"
    path.write_text(text, encoding="utf-8")
    records = list(read_qif(path))
    assert not [r for r in records if isinstance(r, RowError)]
    return ([r for r in records if isinstance(r, ParsedEvent)],
            [r for r in records if isinstance(r, Notice)])


def test_splits_that_do_not_add_up_are_noticed(tmp_path: Path) -> None:
    events, notices = _read(tmp_path, (
        "!Type:Bank\nD10/11/23\nT-98.05\nN278\nPExample Card Co\nLBooks\nSBooks\n"
        "EAutumn term\n$-53.30\nSHousehold\nEExample Mart\n$-44.75\nMCard bill\n^\n"
        "D10/12/23\nT-100.00\nPExample Hardware\nSHome\n$-60.00\nSGarden\n$-30.00\n^\n"))
    good, bad = events
    assert good.properties["amount"] == Decimal("-98.05")
    assert bad.properties["amount"] == Decimal("-100.00")
    assert [s["amount"] for s in bad.properties["splits"]] == [Decimal("-60.00"),
                                                               Decimal("-30.00")]
    (notice,) = notices  # the first record's splits add up: nothing said
    assert notice.ref == "line 15"
    assert "-90.00" in notice.message and "-100.00" in notice.message


def test_u_amount_that_differs_from_t_is_noticed(tmp_path: Path) -> None:
    events, notices = _read(tmp_path, "!Type:Bank\nD01.05.2024\nT-5.00\nU-5.00\nPA\n^\n"
                                      "D13.05.2024\nT-5.00\nU-50.00\nPB\n^\n")
    assert [(e.occurred_at, e.properties["amount"]) for e in events] == [
        (datetime(2024, 5, 1), Decimal("-5.00")), (datetime(2024, 5, 13), Decimal("-5.00"))]
    (notice,) = notices
    assert notice.ref == "line 7" and "T -5.00 and U -50.00" in notice.message


QUICKEN_TWO_ACCOUNTS = """!Option:AutoSwitch
!Account
NChecking
TBank
^
NBrokerage
TInvst
^
!Clear:AutoSwitch
!Account
NChecking
TBank
^
!Type:Bank
D1/5'24
T-3,501.00
PBuy Example Widgets
L[Brokerage]
^
D1/9'24
T250.00
L[Brokerage]
^
D1/10'24
T-20.00
PExample Grocer
LFood
^
!Account
NBrokerage
TInvst
^
!Type:Invst
D1/5'24
NBuyX
YExample Widgets
I35.00
Q100
O1.00
T3,501.00
L[Checking]
$3,501.00
^
D1/9'24
NSellX
YExample Widgets
I25.00
Q10
T250.00
L[Checking]
$250.00
^
D1/12'24
NDivX
YExample Widgets
T4.00
L[Checking]
$4.00
^
"""


def test_buyx_written_in_both_accounts_is_counted_once(tmp_path: Path) -> None:
    events, notices = _read(tmp_path, QUICKEN_TWO_ACCOUNTS)
    by_ref = {e.ref: e for e in events}
    buy, sell, div = (by_ref["line 34"], by_ref["line 44"], by_ref["line 53"])
    assert (buy.properties["amount"], buy.properties["cash_account"]) == (
        Decimal("-3501.00"), "Checking")
    # The BuyX and SellX repeat Checking's own lines 15 and 20; the DivX has no twin.
    assert buy.properties["mirror_of"] == "line 15"
    assert sell.properties["mirror_of"] == "line 20"
    assert "mirror_of" not in div.properties
    checking = sum(e.properties["amount"] for e in events
                   if e.properties.get("cash_account", e.properties.get("account"))
                   == "Checking" and "mirror_of" not in e.properties)
    assert checking == Decimal("-3501.00") + Decimal("250.00") - Decimal("20.00") + \
        Decimal("4.00")
    (notice,) = notices
    assert "2 investment record(s)" in notice.message and "mirror_of" in notice.message


def test_x_action_with_the_account_after_the_bar(tmp_path: Path) -> None:
    events, _ = _read(tmp_path, "!Account\nNExample Broker\nTInvst\n^\n!Type:Invst\n"
                                "D3/29' 0\nNMiscExpX\nU36.00\nT36.00\nLFees|[Checking]\n^\n")
    (event,) = events
    assert event.occurred_at == datetime(2000, 3, 29)
    assert event.properties["cash_account"] == "Checking"
    assert event.properties["transfer_account"] == "Checking"
    assert event.properties["misc_category"] == "Fees"
    assert event.properties["amount"] == Decimal("-36.00")
