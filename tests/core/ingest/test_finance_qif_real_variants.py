"""QIF shapes seen in real exports (Quicken, MS Money, German and French money managers,
a 1999 bank web export), rebuilt with synthetic content."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from workstation.ingest.finance.qif import read_qif
from workstation.ingest.records import Notice, ParsedEvent, RowError


def _write(tmp_path: Path, text: str, name: str = "export.qif",
           encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _events(path: Path) -> list[ParsedEvent]:
    records = list(read_qif(path))
    assert not [r for r in records if isinstance(r, RowError)]
    return [r for r in records if isinstance(r, ParsedEvent)]


def test_opening_balance_names_the_account_and_is_no_payee(tmp_path: Path) -> None:
    # MS Money / Quicken without an !Account block: the first record is the opening
    # balance, its category the account's own name in brackets.
    path = _write(tmp_path, "!Type:Bank\nD01/01/95\nT5,762.36\nCX\nPOpening Balance\n"
                            "L[Compte Alice]\n^\nD01/03/95\nT-405.00\nPExample Telecom\n"
                            "LMaison:Telephone\n^\nD01/26/95\nT-2,500.00\nMEconomies\n"
                            "L[Livret Alice]\n^\n", encoding="latin-1")
    opening, bill, saving = _events(path)
    assert opening.properties["type"] == "opening_balance"
    assert opening.properties["amount"] == Decimal("5762.36")
    assert "transfer_account" not in opening.properties
    assert opening.parties == ()  # "Opening Balance" is not an organisation
    assert [e.properties.get("account") for e in (opening, bill, saving)] == [
        "Compte Alice"] * 3
    assert saving.properties["transfer_account"] == "Livret Alice"


def test_translated_opening_balance_in_a_named_account(tmp_path: Path) -> None:
    # A German money manager: the account comes from !Account, the opening balance's
    # payee is in German, and it is the account's transfer to itself.
    path = _write(tmp_path, "!Option:MDY\n!Account\nNBeispielbank Giro\nTBank\n^\n"
                            "!Type:Bank \nD10.18.23\nU0.00\nT0.00\nCX\nPEröffnungssaldo\n"
                            "L[Beispielbank Giro]\n^\nD10.18.23\nU200.00\nT200.00\n"
                            "PAlice Example\nMSpende\nLSpenden/Privat\nSSpenden/Privat\n"
                            "ESpende\n$150.00\nSSpenden/Projekt 1\n$50.00\n^\n")
    opening, gift = _events(path)
    assert opening.properties["type"] == "opening_balance"
    assert opening.parties == ()
    assert gift.occurred_at == datetime(2023, 10, 18)
    assert (gift.properties["category"], gift.properties["class"]) == ("Spenden", "Privat")
    # A split's "Category/Class" is read like the transaction's own.
    assert [(s["category"], s.get("class"), s["amount"]) for s in gift.properties["splits"]] \
        == [("Spenden", "Privat", Decimal("150.00")), ("Spenden", "Projekt 1", Decimal("50.00"))]


def test_account_named_by_opening_balance_does_not_leak_into_the_next_type(
        tmp_path: Path) -> None:
    path = _write(tmp_path, "!Type:Bank\nD2/10'2020\nT0.00\nPOpening Balance\n"
                            "L[Alice Checking]\n^\nD2/11'2020\nT-25.00\nPExample Market\n^\n"
                            "!Type:Invst\nD2/14'2020\nNBuy\nYEXMPL\nI32.00\nQ10\nT320.00\n^\n")
    _opening, market, buy = _events(path)
    assert market.properties["account"] == "Alice Checking"
    assert "account" not in buy.properties
    assert buy.properties["action"] == "Buy"


def test_y2k_years_since_1900_and_payee_run_on(tmp_path: Path) -> None:
    # A 1999 bank web export: the year written as years since 1900 ("099"), the payee
    # glued to the date.
    path = _write(tmp_path, "!Type:Bank\nD03/25/099Share Withdrawal\nT-99.99\nC*\n"
                            "PShare Withdrawal\n^\nD01/04/100\nT10.00\nPExample Deposit\n^\n")
    first, second = _events(path)
    assert first.occurred_at == datetime(1999, 3, 25)
    assert first.properties["amount"] == Decimal("-99.99")
    assert second.occurred_at == datetime(2000, 1, 4)


# --- investment accounts -----------------------------------------------------------------
# Quicken's own export (the GnuCash test file and Quicken's examples): totals unsigned,
# actions padded with spaces, "^^" record ends, apostrophe years, X actions naming the
# other account in L with the moved cash on "$".
QUICKEN_INVST = (
    "!Account\nNAlice Brokerage\nTInvst\n^\n!Type:Invst\n"
    "D1/ 2' 5\nNXIn     \nT5,000.00\nMopen account\nL[Alice Checking]\n$5,000.00\n^^\n"
    "D1/ 3' 5\nNBuy     \nYExample Widgets\nI35        \nQ100      \nU3,509.95\n"
    "T3,509.95\nO9.95\n^^\n"
    "D1/ 5' 5\nNSellX   \nYExample Widgets\nI50\nQ10\nT490.05\nO9.95\nL[Alice Checking]\n"
    "$490.05\n^^\n"
    "D1/10' 5\nNDiv\nYExample Widgets\nU10.00\nT10.00\n^\n"
    "D1/10' 5\nNIntInc\nT2.50\n^\n"
    "D1/10' 5\nNCGLong\nYExample Fund\nT333.00\n^\n"
    "D1/11' 5\nNReinvDiv\nYExample Fund\nI38\nQ1\nU38.00\nT38.00\n^\n"
    "D1/12' 5\nNShrsIn\nYExample Gadgets\nI20\nQ200\nU4,000.00\nT4,000.00\n"
    "M200 shares added to account\n^\n"
    "D1/14' 5\nNStkSplit\nYExample Gadgets\nQ20\n^\n"
    "D1/14' 5\nNCash\nU-100.00\nT-100.00\nLBank Chrg\n^\n"
    "D1/25' 5\nNMargInt\nU25.00\nT25.00\n^\n"
    "D1/26' 5\nNMiscExpX\nT12.00\nL[Alice Checking]|Fees\n$12.00\n^\n"
    "D1/28' 5\nNXOut\nU500.00\nT500.00\nL[Alice Savings]\n$500.00\n^\n")


def test_quicken_investment_totals_become_signed_cash_flows(tmp_path: Path) -> None:
    events = _events(_write(tmp_path, QUICKEN_INVST))
    got = {e.properties["action_type"]: e for e in events}
    assert [(e.properties["action_type"], e.properties["amount"]) for e in events] == [
        ("XIn", Decimal("5000.00")), ("Buy", Decimal("-3509.95")),
        ("SellX", Decimal("490.05")), ("Div", Decimal("10.00")),
        ("IntInc", Decimal("2.50")), ("CGLong", Decimal("333.00")), ("ReinvDiv", None),
        ("ShrsIn", None), ("StkSplit", None), ("Cash", Decimal("-100.00")),
        ("MargInt", Decimal("-25.00")), ("MiscExpX", Decimal("-12.00")),
        ("XOut", Decimal("-500.00"))]
    # The padded action is read without its spaces; the written total is kept unsigned.
    buy = got["Buy"]
    assert buy.properties["action"] == "Buy"
    assert buy.properties["total"] == Decimal("3509.95")
    assert buy.properties["cash_movement"] is True
    assert buy.properties["cash_account"] == "Alice Brokerage"
    # An X action moves the other account's cash; XIn/XOut move this account's.
    assert got["SellX"].properties["cash_account"] == "Alice Checking"
    assert got["SellX"].properties["transfer_amount"] == Decimal("490.05")
    assert got["XOut"].properties["cash_account"] == "Alice Brokerage"
    assert got["XOut"].properties["transfer_account"] == "Alice Savings"
    assert got["MiscExpX"].properties["cash_account"] == "Alice Checking"
    assert got["MiscExpX"].properties["misc_category"] == "Fees"
    # Reinvested income and share moves: no cash, said so, the written value kept.
    reinvested = got["ReinvDiv"].properties
    assert (reinvested["cash_movement"], reinvested["reinvested"], reinvested["total"]) == (
        False, True, Decimal("38.00"))
    shares_in = got["ShrsIn"].properties
    assert shares_in["cash_movement"] is False and shares_in["total"] == Decimal("4000.00")
    assert "reinvested" not in shares_in
    # The investment account's cash: what came in less what went out.
    own = sum(e.properties["amount"] for e in events
              if e.properties.get("cash_account") == "Alice Brokerage")
    assert own == Decimal("5000.00") - Decimal("3509.95") + Decimal("10.00") + \
        Decimal("2.50") + Decimal("333.00") - Decimal("100.00") - Decimal("25.00") - \
        Decimal("500.00")


def test_investment_record_with_only_the_transferred_amount(tmp_path: Path) -> None:
    # quiffen writes an investment's money on "$" (amount transferred) with no T or U.
    path = _write(tmp_path, "!Type:Invst\nD2/14'2020\nNBuy\nYEXMPL\nI32.00\nQ3\nO4\n"
                            "$100.00\nPAlice Example\n^\n")
    (buy,) = _events(path)
    assert buy.properties["amount"] == Decimal("-100.00")
    assert buy.properties["total"] == Decimal("100.00")
    assert buy.parties[0].role == "payee"


def test_german_and_kmymoney_investment_spellings(tmp_path: Path) -> None:
    # German Quicken names the actions in German; KMyMoney writes "Shrsin" and a Buy paid
    # from checking as "Buy" with the account in L.
    path = _write(tmp_path, "!Type:Invst\nD03.01.2021\nNKauf\nYBeispiel AG\nI10\nQ5\n"
                            "T50.00\n^\nD04.01.2021\nNVerkaufX\nYBeispiel AG\nQ2\nT22.00\n"
                            "L[Girokonto]\n^\nD05.01.2021\nNReinvKur\nYBeispiel AG\nT3.00\n^\n"
                            "D06.01.2021\nNAktZu\nYBeispiel AG\nQ4\n^\n"
                            "D07.01.2021\nNShrsin\nYExample Fund\nQ4\n^\n"
                            "D08.01.2021\nNBuy\nYExample Fund\nI100.000000\nQ2\nT200.00\n"
                            "L[Alice Checking]\n^\n")
    kauf, verkauf, reinv, aktzu, shrsin, buy = _events(path)
    assert [e.properties["action_type"] for e in (kauf, verkauf, reinv, aktzu, shrsin, buy)] \
        == ["Buy", "SellX", "ReinvLg", "ShrsIn", "ShrsIn", "Buy"]
    assert (kauf.properties["amount"], verkauf.properties["amount"]) == (
        Decimal("-50.00"), Decimal("22.00"))
    assert verkauf.properties["cash_account"] == "Girokonto"
    assert reinv.properties["amount"] is None and reinv.properties["reinvested"] is True
    assert buy.properties["amount"] == Decimal("-200.00")
    assert buy.properties["cash_account"] == "Alice Checking"


def test_unknown_investment_action_keeps_its_total_and_says_so(tmp_path: Path) -> None:
    path = _write(tmp_path, "!Type:Invst\nD1/5/2024\nNTaxWithheld\nYExample Fund\nT7.50\n^\n"
                            "D1/6/2024\nNTaxWithheld\nT1.00\n^\n")
    records = list(read_qif(path))
    notices = [r for r in records if isinstance(r, Notice)]
    assert len(notices) == 1 and "TaxWithheld" in notices[0].message
    first, second = [r for r in records if isinstance(r, ParsedEvent)]
    assert first.properties["amount"] is None
    assert first.properties["total"] == Decimal("7.50")
    assert "cash_movement" not in first.properties
