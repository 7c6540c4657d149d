"""Statement exports whose real samples the importer first got wrong, imported with no profile.

Each case reproduces the structure of a producer's real export (header names and order,
lines above the header, date and amount writing, ragged lines, summary rows) with made-up
people, accounts and amounts: Venmo's statement, Knab's and de Volksbank's (ASN, SNS,
RegioBank) Dutch exports, DKB's credit-card export, Swedbank's Baltic statement and the
old Revolut layout. Same pattern as ``test_finance_csv_layouts``: through ``run_import``
into an encrypted case database, read back the way an investigator sees it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.ingest.test_finance_csv_layouts import (  # noqa: F401 (case_id: fixture)
    Layout,
    Tx,
    _lines,
    case_id,
    import_layout,
)
from workstation.errors import BadInput
from workstation.ingest.pipeline import run_import
from workstation.ingest.records import ImportOptions

AMSTERDAM, BERLIN, VILNIUS = "Europe/Amsterdam", "Europe/Berlin", "Europe/Vilnius"

_VENMO = Layout(
    # Two lines above the header, an unnamed first column, "- $25.00"/"+ $40.00" totals,
    # a beginning-balance row under the header and the ending balance with the disclaimer
    # at the bottom (rows without an ID).
    "venmo", "venmo_statement.csv", _lines(
        "Account Statement - (@Alice-Example) ,,,,,,,,,,,,,,,,,,,,,",
        "Account Activity,,,,,,,,,,,,,,,,,,,,,",
        ",ID,Datetime,Type,Status,Note,From,To,Amount (total),Amount (tip),Amount (tax),"
        "Amount (fee),Tax Rate,Tax Exempt,Funding Source,Destination,Beginning Balance,"
        "Ending Balance,Statement Period Venmo Fees,Terminal Location,Year to Date Venmo Fees,"
        "Disclaimer",
        ",,,,,,,,,,,,,,,,$0.00,,,,,",
        ",1000000000000000001,2024-01-12T19:11:43,Payment,Complete,Dinner,Alice Example,"
        "Bob Example,- $25.00,,0,,0,,Visa Debit *0040,,,,,Venmo,,",
        ",1000000000000000002,2024-01-13T08:05:39,Payment,Complete,Tickets,Carol Example,"
        'Alice Example,"+ $1,040.00",,0,,0,,,Venmo balance,,,,Venmo,,',
        ",1000000000000000003,2024-01-14T10:00:00,Standard Transfer,Issued,,,,- $15.00,,,,,,,"
        "Example Bank *1234,,,,Venmo,,",
        ',,,,,,,,,,,,,,,,,"$1,000.00",$0.00,,$0.00,"In case of errors or questions about your '
        'electronic transfers, contact us."'),
    (Tx("row 5", "2024-01-12T19:11:43+00:00", "-25.00", "USD", "Dinner", card="•••• 0040",
        props={"reference": "1000000000000000001", "type": "Payment", "status": "Complete"}),
     Tx("row 6", "2024-01-13T08:05:39+00:00", "1040.00", "USD", "Tickets"),
     # A transfer to the bank names no card: the bank account is no card.
     Tx("row 7", "2024-01-14T10:00:00+00:00", "-15.00", "USD", "Standard Transfer",
        props={"status": "Issued"})))

_KNAB = Layout(
    # A title line, then a header whose CreditDebet column gives the sign of unsigned
    # amounts; the other side by name and account number; the currency as Valutacode.
    "knab", "Knab_transactieoverzicht.csv", _lines(
        "KNAB EXPORT;;;;;;;;;;;;;;;;",
        "Rekeningnummer;Transactiedatum;Valutacode;CreditDebet;Bedrag;Tegenrekeningnummer;"
        "Tegenrekeninghouder;Valutadatum;Betaalwijze;Omschrijving;Type betaling;"
        "Machtigingsnummer;Incassant ID;Adres;Referentie;Boekdatum;",
        '"NL91ABNA0417164300";"21-06-2024";"EUR";"D";"827,75";"FR1420041010050500013M02606";'
        '"Alex Example";"21-06-2024";"Overboeking";"Huur juni";"";"";"";"";"REF0000000000001";'
        '"21-06-2024";',
        '"NL91ABNA0417164300";"13-06-2024";"EUR";"C";"2500";"NL02ABNA0123456789";'
        '"Example Werkgever BV";"14-06-2024";"Ontvangen betaling";"Salaris";"";"";"";"";'
        '"REF0000000000002";"14-06-2024";'),
    (Tx("row 3", "2024-06-21T00:00:00+02:00", "-827.75", "EUR", "Alex Example",
        merchant="Alex Example", account="NL91ABNA0417164300",
        counterparty_account="FR1420041010050500013M02606",
        props={"type": "D", "description": "Huur juni"}),
     Tx("row 4", "2024-06-13T00:00:00+02:00", "2500", "EUR", "Example Werkgever BV",
        merchant="Example Werkgever BV", account="NL91ABNA0417164300",
        counterparty_account="NL02ABNA0123456789",
        props={"posted_at": "2024-06-14T00:00:00"})),
    timezone=AMSTERDAM, region="NL")

_VOLKSBANK = Layout(
    # No header line; 19 columns: booking date, own and other account, the other side's
    # name and address, the account's currency and balance before the mutation, the
    # mutation's currency and amount, journal and value date, codes, the description in
    # single quotes and the statement number.
    "volksbank", "transactie-historie_NL91ABNA0417164300_20240717204133.csv", _lines(
        "17-06-2024,NL91ABNA0417164300,NL02ABNA0123456789,Example Fonds BV,,,,EUR,130.44,EUR,"
        "223.77,17-06-2024,17-06-2024,2754,NGM,51392971,,,26",
        "17-06-2024,NL91ABNA0417164300,NL69INGB0123456789,Example Card Services BV,,,,EUR,354.21,"
        "EUR,-200.00,17-06-2024,18-06-2024,9856,IDM,51402299,,'Betaling aan Example Card "
        "Services 2024-06-17 14:21',26",
        "25-06-2024,NL91ABNA0417164300,,,,,,EUR,154.21,EUR,-2.20,25-06-2024,25-06-2024,7241,MSC,"
        "50951652,,'Kosten gebruik betaalrekening',26"),
    (Tx("row 1", "2024-06-17T00:00:00+02:00", "223.77", "EUR", "Example Fonds BV",
        merchant="Example Fonds BV", account="NL91ABNA0417164300",
        counterparty_account="NL02ABNA0123456789",
        props={"type": "NGM", "profile": "volksbank_nl_headerless"}),
     Tx("row 2", "2024-06-17T00:00:00+02:00", "-200.00", "EUR", "Example Card Services BV",
        merchant="Example Card Services BV", account="NL91ABNA0417164300",
        counterparty_account="NL69INGB0123456789",
        props={"description": "Betaling aan Example Card Services 2024-06-17 14:21",
               "posted_at": "2024-06-18T00:00:00"}),
     Tx("row 3", "2024-06-25T00:00:00+02:00", "-2.20", "EUR", "Kosten gebruik betaalrekening",
        account="NL91ABNA0417164300")),
    timezone=AMSTERDAM, region="NL")

_DKB_CARD = Layout(
    # The card and period above the header; "Belegdatum" is when the card was used and
    # "Wertstellung" when it was booked; the descriptor is the "Umsatzbeschreibung".
    "dkb_card", "1234________1234.csv", _lines(
        '"Kreditkarte:";"4930********1234 Kreditkarte";',
        "",
        '"Von:";"07.02.2024";',
        '"Bis:";"05.03.2024";',
        '"Saldo:";"-76.77 EUR";',
        '"Datum:";"05.03.2024";',
        "",
        '"Umsatz abgerechnet";"Wertstellung";"Belegdatum";"Umsatzbeschreibung";"Betrag (EUR)";'
        '"Ursprünglicher Betrag";',
        '"Nein";"04.03.2024";"02.03.2024";"EXAMPLE TANKSTELLE";"-95,00";"";',
        '"Ja";"23.02.2024";"22.02.2024";"HabenzinsenZ 000000057";"0,21";"";',
        '"Ja";"14.02.2024";"13.02.2024";"EXAMPLE SHOP LONDON";"-1.234,50";"1.055,00 GBP";'),
    (Tx("row 9", "2024-03-02T00:00:00+01:00", "-95.00", "EUR", "EXAMPLE TANKSTELLE",
        props={"posted_at": "2024-03-04T00:00:00", "description": "EXAMPLE TANKSTELLE"}),
     Tx("row 10", "2024-02-22T00:00:00+01:00", "0.21", "EUR", "HabenzinsenZ 000000057"),
     Tx("row 11", "2024-02-13T00:00:00+01:00", "-1234.50", "EUR", "EXAMPLE SHOP LONDON")),
    encoding="cp1252", timezone=BERLIN, region="DE")

_DKB_CARD_2023 = Layout(
    # The later layout: the currency as a sign in the amount's header.
    "dkb_card_2023", "12-03-2024_Umsatzliste_Visa Kreditkarte_1234.csv", _lines(
        '"Karte";"Visa Kreditkarte";"4930 **** **** 1234"',
        '""',
        '"Saldo vom 12.03.2024:";"-76,77 €"',
        '""',
        '"Belegdatum";"Wertstellung";"Status";"Beschreibung";"Umsatztyp";"Betrag (€)";'
        '"Fremdwährungsbetrag"',
        '"02.03.24";"04.03.24";"Gebucht";"EXAMPLE TANKSTELLE";"Im Geschäft";"-95,00";""',
        '"22.02.24";"23.02.24";"Gebucht";"Example Gutschrift";"Gutschrift";"12,10";""'),
    (Tx("row 6", "2024-03-02T00:00:00+01:00", "-95.00", "EUR", "EXAMPLE TANKSTELLE",
        props={"status": "Gebucht", "posted_at": "2024-03-04T00:00:00"}),
     Tx("row 7", "2024-02-22T00:00:00+01:00", "12.10", "EUR", "Example Gutschrift")),
    encoding="utf-8-sig", timezone=BERLIN, region="DE")

_SWEDBANK_LT = Layout(
    # An unnamed second column (the record type), an unsigned amount beside a D/K column,
    # the opening balance, turnovers and closing balance as rows (codes AS, K2, LS), and
    # lines that end before the header's last columns.
    "swedbank_lt", "ataskaita.csv", _lines(
        '"Sąskaitos Nr.","","Data","Gavėjas","Paaiškinimai","Suma","Valiuta","D/K","Įrašo Nr.",'
        '"Kodas","Įmokos kodas","Dok. Nr.","Kliento kodas mokėtojo IS","Kliento kodas",'
        '"Pradinis mokėtojas","Galutinis gavėjas",',
        '"LT121000011101001000","10","2024-01-01","","Likutis pradžiai","2123.82","EUR","K","",'
        '"AS","","",',
        '"LT121000011101001000","20","2024-01-02","Example Kavinė","PIRKINYS 2023.12.30 14.34 EUR '
        'Example Kavinė Vilnius","14.34","EUR","D","2024010200041787","K","","","",',
        '"LT121000011101001000","20","2024-01-05","Jonas Pavyzdys","Skola","600.00","EUR","K",'
        '"2024010500000001","MK","","","",',
        '"LT121000011101001000","82","2024-01-31","","Apyvarta","14.34","EUR","D","","K2","","",',
        '"LT121000011101001000","82","2024-01-31","","Apyvarta","600.00","EUR","K","","K2","","",',
        '"LT121000011101001000","86","2024-01-31","","Likutis pabaigai","2709.48","EUR","K","",'
        '"LS","","",',
        ""),
    (Tx("row 3", "2024-01-02T00:00:00+02:00", "-14.34", "EUR", "Example Kavinė",
        merchant="Example Kavinė", account="LT121000011101001000",
        props={"reference": "2024010200041787"}),
     Tx("row 4", "2024-01-05T00:00:00+02:00", "600.00", "EUR", "Jonas Pavyzdys",
        merchant="Jonas Pavyzdys", account="LT121000011101001000")),
    timezone=VILNIUS, region="LT")

_REVOLUT_2019 = Layout(
    # The old Revolut layout: the only text column is "Reference" (the merchant), paid
    # out and in as two columns whose header names the currency.
    "revolut_2019", "Revolut-EUR-Statement-Sep-2019.csv", _lines(
        "Completed Date;Reference;Paid Out (EUR);Paid In (EUR);Exchange Out;Exchange In; "
        "Balance (EUR);Category",
        "2019 September 15;Example Shop;21.97;;GBP 19.35;;139.78;groceries",
        "2019 September 9;Top-Up by *1234;;200.00;;;824.01;general"),
    (Tx("row 2", "2019-09-15T00:00:00+02:00", "-21.97", "EUR", "Example Shop",
        props={"reference": "Example Shop", "category": "groceries"}),
     Tx("row 3", "2019-09-09T00:00:00+02:00", "200.00", "EUR", "Top-Up by *1234")),
    timezone=BERLIN, region="DE")

_TYPE_DEBET = Layout(
    # Dutch and Nordic banks write the direction as "Debet"/"Credit" in a plain type column.
    "type_debet", "export.csv", _lines(
        "Datum,Rekening,Bedrag,Type,Naam",
        "02-01-2024,NL91ABNA0417164300,\"12,50\",Debet,Example Winkel",
        "03-01-2024,NL91ABNA0417164300,\"100,00\",Credit,Alex Example"),
    (Tx("row 2", "2024-01-02T00:00:00+01:00", "-12.50", None, "Example Winkel",
        merchant="Example Winkel", account="NL91ABNA0417164300"),
     Tx("row 3", "2024-01-03T00:00:00+01:00", "100.00", None, "Alex Example",
        merchant="Alex Example", account="NL91ABNA0417164300")),
    timezone=AMSTERDAM, region="NL")

LAYOUTS = (_VENMO, _KNAB, _VOLKSBANK, _DKB_CARD, _DKB_CARD_2023, _SWEDBANK_LT, _REVOLUT_2019,
           _TYPE_DEBET)


@pytest.mark.parametrize("layout", LAYOUTS, ids=[lay.id for lay in LAYOUTS])
def test_real_variant_imports_without_a_profile(ws, case_id, tmp_path: Path,
                                                layout: Layout) -> None:
    import_layout(ws, case_id, tmp_path, layout)


def test_venmo_names_both_sides_and_skips_balance_rows(ws, case_id, tmp_path: Path) -> None:
    result, events = import_layout(ws, case_id, tmp_path, _VENMO)
    sides = [sorted((p.role, p.label) for p in e.parties if p.role in ("payer", "recipient"))
             for e in events]
    assert sides == [[("payer", "Alice Example"), ("recipient", "Bob Example")],
                     [("payer", "Carol Example"), ("recipient", "Alice Example")], []]
    # The balances and the disclaimer are no transactions, and no errors either.
    assert result.errors == ()


def test_swedbank_short_line_lacking_a_read_column_is_still_an_error(
        ws, case_id, tmp_path: Path) -> None:
    path = tmp_path / "ataskaita.csv"
    header = _SWEDBANK_LT.text.splitlines()[0]
    path.write_text(_lines(header, '"LT121000011101001000","20","2024-01-02","Example Kavinė",'
                                   '"PIRKINYS","14.34","EUR"'), encoding="utf-8")
    before = ws.counts()
    with pytest.raises(BadInput) as caught:
        run_import(ws, case_id, path, options=ImportOptions(timezone=VILNIUS))
    assert "ataskaita.csv" in str(caught.value) and "row 2" in str(caught.value)
    assert "expected 16 columns, found 7" in str(caught.value)
    assert ws.counts() == before
