"""Shared tabular reading: amounts, dates, profiles, CSV dialects, XLSX and its guard."""

from __future__ import annotations

import itertools
import json
import time
import tracemalloc
import zipfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workstation.ingest.records import ParseError, RowError
from workstation.ingest.tabular import (
    BUILTIN_PROFILES,
    DateReader,
    MappedRow,
    MappingProfile,
    ProfileError,
    ReadStats,
    auto_profile,
    check_zip_safe,
    headerless_layouts,
    iter_mapped_rows,
    iter_raw_rows,
    parse_amount,
    sniff_delimiter,
)


@pytest.mark.parametrize(("text", "decimal_comma", "value", "currency", "marker"), [
    ("1,000.00", None, "1000.00", None, None),
    ("1.000,00", True, "1000.00", None, None),
    ("1.000,00", None, "1000.00", None, None),
    ("1 234,56", None, "1234.56", None, None),
    ("1\u00a0234,56 €", None, "1234.56", "EUR", None),
    ("1'234.50", None, "1234.50", None, None),
    ("(12.50)", None, "-12.50", None, None),
    ("12.50-", None, "-12.50", None, None),
    ("-$1,234.56", None, "-1234.56", None, None),
    ("$-5", None, "-5", None, None),
    ("\u221212,00", None, "-12.00", None, None),
    ("£7.99", None, "7.99", "GBP", None),
    ("CAD 25.00", None, "25.00", "CAD", None),
    ("25.00 usd", None, "25.00", "USD", None),
    ("C$3.10", None, "3.10", "CAD", None),
    ("45.00 CR", None, "45.00", None, "CR"),
    ("45.00DR", None, "45.00", None, "DR"),
    ("+0.01", None, "0.01", None, None),
    ("12,5", None, "12.5", None, None),
    ("1,234", False, "1234", None, None),
    ("1.234", True, "1234", None, None),
])
def test_parse_amount_variants(text: str, decimal_comma: bool | None, value: str,
                               currency: str | None, marker: str | None) -> None:
    a = parse_amount(text, decimal_comma=decimal_comma)
    assert a.value == Decimal(value)
    assert isinstance(a.value, Decimal)
    assert a.currency == currency
    assert a.marker == marker


@pytest.mark.parametrize("text", ["", "  ", "abc", "12.34.56", "1,2,3.4.5", "$", "--"])
def test_parse_amount_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text)


def _group(digits: str, sep: str) -> str:
    parts = []
    while len(digits) > 3:
        parts.insert(0, digits[-3:])
        digits = digits[:-3]
    parts.insert(0, digits)
    return sep.join(parts)


@settings(max_examples=150, deadline=None)
@given(cents=st.integers(min_value=-10**11, max_value=10**11),
       style=st.sampled_from(["en", "de", "fr", "ch", "paren", "trailing"]))
def test_parse_amount_reads_what_locales_write(cents: int, style: str) -> None:
    value = Decimal(cents) / 100
    units, frac = f"{abs(value):.2f}".split(".")
    body = {
        "en": f"{_group(units, ',')}.{frac}", "de": f"{_group(units, '.')},{frac}",
        "fr": f"{_group(units, chr(0x202f))},{frac}", "ch": f"{_group(units, chr(39))}.{frac}",
        "paren": f"{_group(units, ',')}.{frac}", "trailing": f"{_group(units, ',')}.{frac}",
    }[style]
    if value < 0:
        body = {"paren": f"({body})", "trailing": f"{body}-"}.get(style, f"-{body}")
    decimal_comma = style in ("de", "fr")
    assert parse_amount(body, decimal_comma=decimal_comma).value == value


def test_parse_amount_keeps_excel_numbers_exact() -> None:
    assert parse_amount(0.1).value == Decimal("0.1")
    assert parse_amount(12).value == Decimal(12)


@pytest.mark.parametrize(("text", "dayfirst", "expected"), [
    ("2021-02-03 13:12", None, datetime(2021, 2, 3, 13, 12)),
    ("6/12/15", False, datetime(2015, 6, 12)),
    ("6/12/15", True, datetime(2015, 12, 6)),
    ("25/12/2015", False, datetime(2015, 12, 25)),    # a day above 12 settles it
    ("6/12'15", False, datetime(2015, 6, 12)),         # Quicken's apostrophe year
    ("1/ 5' 2".replace(" ", ""), False, datetime(2002, 1, 5)),
    ("25.12.2015 10:30", True, datetime(2015, 12, 25, 10, 30)),
    ("20151225", None, datetime(2015, 12, 25)),
    ("Dec 20, 2022", None, datetime(2022, 12, 20)),
    ("20 déc. 2022", None, datetime(2022, 12, 20)),
    ("3. März 2021", None, datetime(2021, 3, 3)),
    ("12 de enero de 2020", None, datetime(2020, 1, 12)),
    ("01/10/2019 06:50 PM", False, datetime(2019, 1, 10, 18, 50)),
])
def test_date_reader_formats(text: str, dayfirst: bool | None, expected: datetime) -> None:
    assert DateReader("auto", dayfirst).parse(text) == expected


def test_date_reader_aware_and_separate_time() -> None:
    r = DateReader("auto", False)
    assert r.parse("2022-12-20T10:00:00Z") == datetime(2022, 12, 20, 10, tzinfo=timezone.utc)
    got = r.parse("01/10/2019", "06:50 PM")
    assert got == datetime(2019, 1, 10, 18, 50)
    utc = DateReader("auto", False, timezone.utc).parse("2021-02-03 13:12")
    assert utc.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["pending", "2012-02-31", "31/31/2020", "", "13:12"])
def test_date_reader_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        DateReader("auto", False).parse(text)


def test_date_reader_explicit_formats() -> None:
    r = DateReader(("%d-%m-%Y", "%Y/%m/%d"), None)
    assert r.parse("05-06-2020") == datetime(2020, 6, 5)
    assert r.parse("2020/06/05") == datetime(2020, 6, 5)
    with pytest.raises(ValueError, match="does not match"):
        r.parse("June 5 2020")


def test_profile_round_trips_through_json() -> None:
    for profile in BUILTIN_PROFILES.values():
        data = json.loads(json.dumps(profile.to_dict()))
        assert data["version"] == 1
        assert MappingProfile.from_dict(data) == profile
    custom = MappingProfile(name="mine", columns={"date": 0, "amount": ("Betrag", "Amount")},
                            date_formats=("%d.%m.%Y",), decimal_comma=True, delimiter=";")
    assert MappingProfile.from_dict(json.loads(json.dumps(custom.to_dict()))) == custom


def test_profile_validation() -> None:
    with pytest.raises(ProfileError, match="unknown transaction field"):
        MappingProfile(name="x", columns={"colour": "A"})
    with pytest.raises(ProfileError, match="sign"):
        MappingProfile(name="x", sign="sideways")
    with pytest.raises(ProfileError, match="newer"):
        MappingProfile.from_dict({"name": "x", "version": 99})
    assert MappingProfile.from_dict({"name": "mint_headerless"}) is BUILTIN_PROFILES[
        "mint_headerless"]
    MappingProfile(name="b", target="booking", columns={"charge_3": "Offense 3"})


@pytest.mark.parametrize(("headers", "name"), [
    (["Transaction Date", "Posted Date", "Card No.", "Description", "Category", "Debit",
      "Credit"], "capitalone"),
    (["Merchant Name", "Card Used For Transaction", "Date", "Time", "Amount"], "pcmastercard"),
    (["id", "Description", "Seller Message", "Created (UTC)", "Amount", "Amount Refunded",
      "Currency", "Fee", "Status", "Customer Description", "Customer Email"],
     "stripe_default"),
    (["Date", "Description", "Original Description", "Amount", "Transaction Type",
      "Category", "Account Name", "Labels", "Notes"], "mint"),
])
def test_auto_profile_recognises_known_layouts(headers: list[str], name: str) -> None:
    profile = auto_profile(headers)
    assert profile is not None and profile.name == name


@pytest.mark.parametrize(("headers", "expect"), [
    (["Buchungstag", "Valuta", "Verwendungszweck", "Betrag", "Währung"],
     {"date": "Buchungstag", "amount": "Betrag", "description": "Verwendungszweck",
      "currency": "Währung", "posted_date": "Valuta"}),
    (["Date opération", "Libellé", "Débit", "Crédit"],
     {"date": "Date opération", "description": "Libellé", "debit": "Débit",
      "credit": "Crédit"}),
    (["Fecha", "Concepto", "Importe", "Saldo"],
     {"date": "Fecha", "description": "Concepto", "amount": "Importe", "balance": "Saldo"}),
    (["Datum", "Naam / Omschrijving", "Rekening", "Tegenrekening", "Code", "Af Bij",
      "Bedrag (EUR)", "Mededelingen"],
     {"date": "Datum", "merchant": "Naam / Omschrijving", "amount": "Bedrag (EUR)",
      "type": "Af Bij"}),
])
def test_generic_guesser_in_several_languages(headers: list[str], expect: dict[str, str]) -> None:
    profile = auto_profile(headers)
    assert profile is not None and profile.name == "guessed"
    for fld, col in expect.items():
        assert profile.columns[fld] == col
    if "debit" in expect:
        assert profile.sign == "debit_credit_columns"
    if expect.get("type") == "Af Bij":
        assert profile.sign == "type_column"


@pytest.mark.parametrize(("headers", "expect", "currency"), [
    (["Date", "Counter Party", "Amount (GBP)", "Balance (GBP)"],
     {"merchant": "Counter Party", "amount": "Amount (GBP)", "balance": "Balance (GBP)"}, "GBP"),
    (["Datum", "Buchungstext", "Belastung CHF", "Gutschrift in CHF", "Saldo CHF"],
     {"debit": "Belastung CHF", "credit": "Gutschrift in CHF", "balance": "Saldo CHF"}, "CHF"),
    (["Date", "Type", "Check #", "Description", "Withdrawal (-)", "Deposit (+)"],
     {"debit": "Withdrawal (-)", "credit": "Deposit (+)", "reference": "Check #"}, None),
    (["*Date", "*Amount", "Payee", "Description"],
     {"date": "*Date", "amount": "*Amount", "merchant": "Payee"}, None),
    (["Details", "Posting Date", "Description", "Amount"], {"date": "Posting Date"}, None),
    # A capitalised word after a non-money column is not a currency ("Card CVV" no card).
    (["Date", "Card CVV", "Amount"], {"amount": "Amount"}, None),
])
def test_guesser_reads_what_money_headers_add(headers: list[str], expect: dict[str, str],
                                              currency: str | None) -> None:
    profile = auto_profile(headers)
    assert profile is not None and profile.name == "guessed"
    assert {k: profile.columns.get(k) for k in expect} == expect
    assert profile.currency == currency
    assert "card_number" not in profile.columns and "posted_date" not in profile.columns


def test_guesser_takes_the_currency_beside_the_amount_when_the_name_repeats() -> None:
    # ING Germany: the balance's currency, then the amount's, both called "Währung".
    headers = ["Buchung", "Valuta", "Auftraggeber/Empfänger", "Buchungstext",
               "Verwendungszweck", "Saldo", "Währung", "Betrag", "Währung"]
    profile = auto_profile(headers)
    assert profile is not None
    assert profile.columns["amount"] == "Betrag" and profile.columns["currency"] == 8
    assert profile.columns["type"] == "Buchungstext"
    assert profile.columns["description"] == "Verwendungszweck"


@pytest.mark.parametrize(("text", "hint"), [
    ("05.02.2024", True), ("05.02.24", True), ("05/02/2024", None), ("05-02-2024", None),
    ("13/02/2024", True), ("02/13/2024", False),
])
def test_date_order_hint(text: str, hint: bool | None) -> None:
    from workstation.ingest.tabular import date_order_hint

    assert date_order_hint(text) is hint


def test_guesser_refuses_non_statements() -> None:
    assert auto_profile(["name", "email", "phone"]) is None
    assert auto_profile(["[8/15/23", " 9:12:43 AM] Dr. Feather: hello"]) is None


@pytest.mark.parametrize(("sample", "delim"), [
    ("a;b;c\n1;2,5;3\n4;5,5;6\n", ";"),
    ("a\tb\tc\n1\t2\t3\n", "\t"),
    ("a|b|c\n1|2|3\n", "|"),
    ('"x, y",b\n"1, 2",3\n', ","),
])
def test_sniff_delimiter(sample: str, delim: str) -> None:
    assert sniff_delimiter(sample) == delim


@pytest.mark.parametrize(("encoding", "newline"), [
    ("utf-8-sig", "\r\n"), ("utf-16", "\n"), ("cp1252", "\r"), ("utf-8", "\n")])
def test_csv_encodings_and_line_endings(tmp_path: Path, encoding: str, newline: str) -> None:
    text = newline.join(["Datum;Omschrijving;Bedrag", "01-02-2020;Café Crème;-3,50",
                         "02-02-2020;Bäckerei;12,00", ""])
    path = tmp_path / "stmt.csv"
    path.write_bytes(text.encode(encoding))
    # textio's detector cannot tell cp1252 from cp1250 on a sample this short; the
    # import's encoding option is how an investigator settles it.
    rows = list(iter_raw_rows(path, encoding="cp1252" if encoding == "cp1252" else None))
    assert rows[0] == (1, ["Datum", "Omschrijving", "Bedrag"])
    assert rows[1][1][1] == "Café Crème"
    assert len(rows) == 3


def test_mapped_rows_errors_and_skips(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("Date,Description,Amount\n"
                    "2020-01-01,A,1.00\n"
                    "\n"
                    "2020-01-02,B\n"
                    "Date,Description,Amount\n"
                    "2020-01-03,C,3.00,,\n", encoding="utf-8")
    profile = auto_profile(["Date", "Description", "Amount"])
    assert profile is not None
    stats = ReadStats()
    out = list(iter_mapped_rows(path, profile, stats=stats))
    assert [type(r) for r in out] == [MappedRow, RowError, MappedRow]
    err = out[1]
    assert isinstance(err, RowError) and err.ref == "row 4" and "3 columns" in err.message
    assert stats.skipped["repeated header line"] == 1
    assert stats.skipped["blank row"] == 1
    last = out[2]
    assert isinstance(last, MappedRow) and last.ref == "row 6"   # trailing empty cells tolerated


def test_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("When,What\n2020-01-01,x\n", encoding="utf-8")
    profile = MappingProfile(name="p", columns={"date": "Date", "amount": "Amount"})
    with pytest.raises(ParseError) as info:
        list(iter_mapped_rows(path, profile))
    assert "s.csv" in str(info.value) and "'Date'" in str(info.value)


def test_binary_file_renamed_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "statement.csv"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(ParseError) as info:
        list(iter_raw_rows(path))
    assert "statement.csv" in str(info.value)


def test_xlsx_rows_are_streamed_with_types(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Date", "Description", "Amount"])
    ws.append([datetime(2021, 5, 4, 10, 30), "Coffee", -3.5])
    ws.append([None, None, None])
    ws.append(["05/06/2021", "Refund", 12])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    rows = list(iter_raw_rows(path))
    assert rows[0][1] == ["Date", "Description", "Amount"]
    assert rows[1][1][0] == datetime(2021, 5, 4, 10, 30)
    assert rows[1][1][2] == -3.5


def _zip_bomb(path: Path, size: int = 60 << 20) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                member.write(block)


def test_zip_bomb_disguised_as_xlsx_is_refused_fast(tmp_path: Path) -> None:
    path = tmp_path / "statement.xlsx"
    _zip_bomb(path)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ParseError) as info:
            list(iter_raw_rows(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2.0
    assert peak < 8 << 20
    assert "statement.xlsx" in str(info.value) and "zip bomb" in str(info.value)


def test_zip_guard_member_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import workstation.ingest.tabular as tabular

    monkeypatch.setattr(tabular, "XLSX_MAX_MEMBERS", 5)
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(6):
            zf.writestr(f"part{i}.xml", "<x/>")
    with pytest.raises(ParseError, match="parts"):
        check_zip_safe(path)


def test_truncated_xlsx_is_a_parse_error(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Date", "Amount"])
    good = tmp_path / "good.xlsx"
    wb.save(good)
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ParseError) as info:
        list(iter_raw_rows(bad))
    assert "bad.xlsx" in str(info.value)


def test_csv_reading_is_streaming(tmp_path: Path) -> None:
    """A large CSV is read row by row: memory stays far below the file's size."""
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Date,Description,Amount\n")
        line = "2020-01-01," + "x" * 1500 + ",1.00\n"
        for _ in range(8_000):   # ~12 MB
            fh.write(line)
    profile = auto_profile(["Date", "Description", "Amount"])
    assert profile is not None
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_mapped_rows(path, profile))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 8_000
    assert peak < 4 << 20


@pytest.mark.parametrize("text,missing", [("2024-02", "day"), ("Feb 2024", "day"), ("2024", "month or day"),
                                          ("March 3", "year")])
def test_incomplete_dates_are_refused_not_completed_from_today(text: str, missing: str) -> None:
    with pytest.raises(ValueError, match=f"incomplete date .*no {missing}"):
        DateReader("auto", False).parse(text)
    assert DateReader("auto", False).parse("3 March 2024") == datetime(2024, 3, 3)


@pytest.mark.parametrize(("text", "currency", "symbol"), [
    ("$45.67", None, "$"), ("-45.67 $", None, "$"), ("C$45.67", "CAD", None),
    ("US$45.67", "USD", None), ("USD $45.67", "USD", None), ("45.67", None, None),
    ("¥1200", None, "¥"), ("€5", "EUR", None)])
def test_parse_amount_reports_a_sign_that_names_no_currency(text: str, currency: str | None,
                                                            symbol: str | None) -> None:
    a = parse_amount(text)
    assert (a.currency, a.symbol) == (currency, symbol)


def test_headerless_first_row_keeps_its_empty_last_column(tmp_path: Path) -> None:
    # Date, description, debit, credit: a first row without a credit still has 4 columns.
    path = tmp_path / "cibc.csv"
    path.write_text("2024-01-12,EXAMPLE GROCER,45.67,\n2024-01-15,EXAMPLE EMPLOYER,,2100.00\n",
                    encoding="utf-8")
    profile = MappingProfile(name="p", columns={"date": 0, "description": 1, "debit": 2,
                                                "credit": 3},
                             sign="debit_credit_columns", has_header=False)
    out = list(iter_mapped_rows(path, profile))
    assert [type(r) for r in out] == [MappedRow, MappedRow]
    assert [dict(r.values) for r in out if isinstance(r, MappedRow)] == [
        {"date": "2024-01-12", "description": "EXAMPLE GROCER", "debit": "45.67"},
        {"date": "2024-01-15", "description": "EXAMPLE EMPLOYER", "credit": "2100.00"}]


def test_headerless_row_too_short_for_the_profile_is_a_row_error(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("2024-01-12,EXAMPLE GROCER\n", encoding="utf-8")
    (err,) = list(iter_mapped_rows(path, BUILTIN_PROFILES["anz_headerless"]))
    assert isinstance(err, RowError) and err.ref == "row 1" and "3 columns" in err.message


_TD_ROWS = [["01/12/2024", "EXAMPLE GROCER", "45.67", "", "1234.56"],
            ["01/15/2024", "EXAMPLE EMPLOYER", "", "2100.00", "3334.56"],
            ["01/16/2024", "TFR-TO C/C", "500.00", "", "2834.56"]]


@pytest.mark.parametrize(("rows", "fits"), [
    (_TD_ROWS, ["td_headerless"]),                                    # oldest first
    (_TD_ROWS[::-1], ["td_headerless"]),                              # newest first
    ([r[:4] + [b] for r, b in zip(_TD_ROWS, ("500.00", "-1600.00", "-1100.00"))],
     ["td_headerless"]),                                              # a card's balance owed
    ([r[:4] + [b] for r, b in zip(_TD_ROWS, ("1234.56", "1.00", "2.00"))], []),  # no balance
    ([r[:2] + [r[2] or "1.00", r[3] or "1.00", r[4]] for r in _TD_ROWS], []),  # both sides
    ([["2024-01-12", "EXAMPLE", "45.67", "", "4500********1234"]], ["cibc_card_headerless"]),
    ([["13/01/2024", "-45.67", "EXAMPLE"], ["15/01/2024", "2100.00", "EXAMPLE"]],
     ["anz_headerless"]),
    # Month first, which an Australian bank never writes: not ANZ's.
    ([["01/13/2024", "-45.67", "EXAMPLE"], ["01/15/2024", "2100.00", "EXAMPLE"]], []),
])
def test_headerless_layouts_by_row_shape(rows: list[list[str]], fits: list[str]) -> None:
    assert headerless_layouts(rows) == fits


def test_headerless_layouts_read_only_the_first_rows() -> None:
    def rows() -> Any:
        balance = Decimal("1000.00")
        for day in range(1, 31):
            balance -= Decimal("1.25")
            yield [f"01/{day:02d}/2024", "EXAMPLE", "1.25", "", str(balance)]
        while True:  # the rest of a file far too large to read for a guess
            yield ["not", "a", "row", "of", "it"]
    assert headerless_layouts(rows()) == ["td_headerless"]


@pytest.mark.parametrize("changes", [{"region": "Canada"}, {"amount_by_currency": {"cad": "CAD$"}},
                                     {"amount_by_currency": {"CAD": 1.5}}])
def test_profile_validation_of_region_and_currency_columns(changes: dict[str, Any]) -> None:
    with pytest.raises(ProfileError):
        MappingProfile(name="x", **changes)


def test_a_file_of_blank_lines_is_refused_as_having_no_header(tmp_path: Path) -> None:
    # Read with a profile that expects a header: nothing to map is an error naming the
    # file, not an import of nothing.
    from workstation.ingest.tabular import BUILTIN_PROFILES, iter_mapped_rows

    path = tmp_path / "statement.csv"
    path.write_text("\n,,,\n  \n", encoding="utf-8")
    with pytest.raises(ParseError, match="no header row") as err:
        list(iter_mapped_rows(path, BUILTIN_PROFILES["amex"]))
    assert str(err.value.file) == str(path)
