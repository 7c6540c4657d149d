"""Bank exports of Canada, the United Kingdom and Australia, imported with no profile chosen.

Same pattern as ``test_finance_csv_layouts``: one small synthetic sample per producer's
layout (RBC, TD, CIBC bank and card, Scotiabank, BMO, Tangerine, Desjardins, National
Bank; Barclays, Lloyds, Nationwide, HSBC UK, NatWest; CommBank, ANZ, Westpac) through
``run_import`` into an encrypted case database, read back as an investigator sees it.
Several of these banks write no header line: their layout is recognised by the shape of
the rows, and each transaction records which built-in layout was taken.

Amounts that state no currency are in the import region's dollar only when something
says dollar (a "$", an RBC "CAD$" column, a built-in layout of a bank of that region),
marked ``currency_assumed``; a bare number with no such clue keeps no currency.

All names, accounts and card numbers are made up (test-range card numbers).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.ingest.test_finance_csv_layouts import (  # noqa: F401 (case_id: fixture)
    Layout,
    Tx,
    _lines,
    _row_number,
    case_id,
    import_layout,
)
from workstation.errors import BadInput
from workstation.ingest.pipeline import run_import
from workstation.ingest.records import ImportOptions
from workstation.ingest.tabular import BUILTIN_PROFILES, ROW_SHAPES

TORONTO, LONDON, SYDNEY = "America/Toronto", "Europe/London", "Australia/Sydney"
ASSUMED = {"currency_assumed": True}
STATED = {"currency_assumed": None}


def _shape(name: str) -> dict[str, str]:
    return {"profile": name, "profile_chosen_by": "row shape"}


LAYOUTS: tuple[Layout, ...] = (
    # ------------------------------------------------------------------ Canada
    Layout(
        "rbc", "csv62147.csv", _lines(
            '"Account Type","Account Number","Transaction Date","Cheque Number","Description 1",'
            '"Description 2","CAD$","USD$"',
            'Chequing,00102-1234567,1/12/2024,,"Interac purchase - 1234","EXAMPLE GROCER TORONTO",'
            '-45.67,',
            'Chequing,00102-1234567,1/15/2024,,"Payroll Deposit","EXAMPLE EMPLOYER INC",2100.00,',
            'Chequing,00102-1234567,1/16/2024,123,"Cheque - 123",,-300.00,',
            'Savings,00102-7654321,1/17/2024,,"Transfer","WWW TRF DDA - 1234",,-500.00'),
        (Tx("row 2", "2024-01-12T00:00:00-05:00", "-45.67", "CAD", "EXAMPLE GROCER TORONTO",
            merchant="EXAMPLE GROCER TORONTO", account="00102-1234567",
            props={"description": "Interac purchase - 1234", **STATED}),
         Tx("row 3", "2024-01-15T00:00:00-05:00", "2100.00", "CAD", "EXAMPLE EMPLOYER INC",
            merchant="EXAMPLE EMPLOYER INC", account="00102-1234567"),
         Tx("row 4", "2024-01-16T00:00:00-05:00", "-300.00", "CAD", "Cheque - 123",
            account="00102-1234567", props={"reference": "123"}),
         # The amount in the USD$ column of a US-dollar account is in US dollars.
         Tx("row 5", "2024-01-17T00:00:00-05:00", "-500.00", "USD", "WWW TRF DDA - 1234",
            merchant="WWW TRF DDA - 1234", account="00102-7654321", props=STATED)),
        timezone=TORONTO, region="CA"),
    Layout(
        "td", "accountactivity.csv", _lines(
            "01/12/2024,EXAMPLE GROCER #123,45.67,,1234.56",
            "01/15/2024,PAYROLL DEP EXAMPLE INC,,2100.00,3334.56",
            "01/16/2024,TFR-TO C/C,500.00,,2834.56",
            "02/30/2024,SEND E-TFR ***abc,20.00,,2814.56",
            "01/18/2024,MONTHLY ACCOUNT FEE,3.95,,2810.61"),
        (Tx("row 1", "2024-01-12T00:00:00-05:00", "-45.67", "CAD", "EXAMPLE GROCER #123",
            props={"balance": "1234.56", **ASSUMED, **_shape("td_headerless")}),
         Tx("row 2", "2024-01-15T00:00:00-05:00", "2100.00", "CAD", "PAYROLL DEP EXAMPLE INC",
            props={"balance": "3334.56", **ASSUMED}),
         Tx("row 3", "2024-01-16T00:00:00-05:00", "-500.00", "CAD", "TFR-TO C/C"),
         Tx("row 5", "2024-01-18T00:00:00-05:00", "-3.95", "CAD", "MONTHLY ACCOUNT FEE")),
        timezone=TORONTO, region="CA", errors=(("row 4", "date"),)),
    Layout(
        "cibc", "cibc.csv", _lines(
            "2024-01-12,Point of Sale - Interac RETAIL PURCHASE 000001234567 EXAMPLE GROCER,45.67,",
            "2024-01-15,Electronic Funds Transfer PAY EXAMPLE EMPLOYER INC,,2100.00",
            "2024-01-16,Internet Banking INTERNET TRANSFER 000000123456,500.00,"),
        (Tx("row 1", "2024-01-12T00:00:00-05:00", "-45.67", "CAD",
            "Point of Sale - Interac RETAIL PURCHASE 000001234567 EXAMPLE GROCER",
            props={**ASSUMED, **_shape("cibc_headerless")}),
         Tx("row 2", "2024-01-15T00:00:00-05:00", "2100.00", "CAD",
            "Electronic Funds Transfer PAY EXAMPLE EMPLOYER INC"),
         Tx("row 3", "2024-01-16T00:00:00-05:00", "-500.00", "CAD",
            "Internet Banking INTERNET TRANSFER 000000123456")),
        timezone=TORONTO, region="CA"),
    Layout(
        "cibc_card", "cibc.csv", _lines(
            "2024-01-12,EXAMPLE RESTAURANT TORONTO ON,32.10,,4500********1234",
            "2024-01-14,PAYMENT THANK YOU/PAIEMENT MERCI,,250.00,4500********1234",
            "2024-01-15,EXAMPLE ONLINE STORE VANCOUVER BC,19.99,,4500********5678"),
        (Tx("row 1", "2024-01-12T00:00:00-05:00", "-32.10", "CAD", "EXAMPLE RESTAURANT TORONTO ON",
            merchant="EXAMPLE RESTAURANT TORONTO ON", card="•••• 1234",
            props={**ASSUMED, **_shape("cibc_card_headerless")}),
         Tx("row 2", "2024-01-14T00:00:00-05:00", "250.00", "CAD", "PAYMENT THANK YOU/PAIEMENT MERCI",
            merchant="PAYMENT THANK YOU/PAIEMENT MERCI", card="•••• 1234"),
         Tx("row 3", "2024-01-15T00:00:00-05:00", "-19.99", "CAD",
            "EXAMPLE ONLINE STORE VANCOUVER BC", merchant="EXAMPLE ONLINE STORE VANCOUVER BC",
            card="•••• 5678")),
        timezone=TORONTO, region="CA"),
    Layout(
        "scotiabank", "pcbanking.csv", _lines(
            '"1/12/2024","-45.67","-","POS PURCHASE","EXAMPLE GROCER TORONTO ON"',
            '"1/15/2024","2100.00","-","PAYROLL DEP.","EXAMPLE EMPLOYER INC"',
            '"1/16/2024","-12.50","-","SERVICE CHARGE",""'),
        (Tx("row 1", "2024-01-12T00:00:00-05:00", "-45.67", "CAD", "EXAMPLE GROCER TORONTO ON",
            props={"type": "POS PURCHASE", **ASSUMED, **_shape("scotiabank_headerless")}),
         Tx("row 2", "2024-01-15T00:00:00-05:00", "2100.00", "CAD", "EXAMPLE EMPLOYER INC"),
         # No description: the kind of transaction stands in for it.
         Tx("row 3", "2024-01-16T00:00:00-05:00", "-12.50", "CAD", "SERVICE CHARGE")),
        timezone=TORONTO, region="CA"),
    Layout(
        "bmo_card", "statement.csv", _lines(
            "Following data is valid as of 20240116103000 (Year/Month/Day/Hour/Minute/Second)",
            "",
            "Item #,Card #,Transaction Date,Posting Date,Transaction Amount,Description",
            "1,'5555555555554444',20240112,20240113,45.67,EXAMPLE GROCER TORONTO ON",
            "2,'5555555555554444',20240114,20240114,-250.00,PAYMENT RECEIVED - THANK YOU",
            "3,'5555555555554444',20240115,20240116,19.99,EXAMPLE STREAMING 800-555-0100 ON"),
        (Tx("row 4", "2024-01-12T00:00:00-05:00", "-45.67", "CAD", "EXAMPLE GROCER TORONTO ON",
            merchant="EXAMPLE GROCER TORONTO ON", card="•••• 4444",
            props={"posted_at": "2024-01-13T00:00:00", "reference": "1", **ASSUMED}),
         Tx("row 5", "2024-01-14T00:00:00-05:00", "250.00", "CAD", "PAYMENT RECEIVED - THANK YOU",
            merchant="PAYMENT RECEIVED - THANK YOU", card="•••• 4444"),
         Tx("row 6", "2024-01-15T00:00:00-05:00", "-19.99", "CAD",
            "EXAMPLE STREAMING 800-555-0100 ON", merchant="EXAMPLE STREAMING 800-555-0100 ON",
            card="•••• 4444")),
        timezone=TORONTO, region="CA"),
    Layout(
        "tangerine", "Chequing.CSV", _lines(
            "Date,Transaction,Name,Memo,Amount",
            "1/12/2024,DEBIT,EXAMPLE GROCER,Interac Purchase ~ Toronto ON,-45.67",
            "1/15/2024,CREDIT,EXAMPLE EMPLOYER INC,Payroll Deposit,2100.00",
            "1/16/2024,OTHER,Interest Paid,Interest,0.42"),
        (Tx("row 2", "2024-01-12T00:00:00-05:00", "-45.67", "CAD", "EXAMPLE GROCER",
            merchant="EXAMPLE GROCER",
            props={"description": "Interac Purchase ~ Toronto ON", "type": "DEBIT", **ASSUMED}),
         Tx("row 3", "2024-01-15T00:00:00-05:00", "2100.00", "CAD", "EXAMPLE EMPLOYER INC",
            merchant="EXAMPLE EMPLOYER INC"),
         Tx("row 4", "2024-01-16T00:00:00-05:00", "0.42", "CAD", "Interest Paid",
            merchant="Interest Paid")),
        timezone=TORONTO, region="CA"),
    Layout(
        "desjardins", "releve.csv", _lines(
            '"815-30001","0123456","EOP","2024/01/12","00001",'
            '"Paiement facture - AccèsD Internet /Hydro Exemple","","85.40","","","","","",'
            '"1149.16"',
            '"815-30001","0123456","EOP","2024/01/15","00002","Dépôt paie /Employeur Exemple inc.",'
            '"","","2100.00","","","","","3249.16"',
            '"815-30001","0123456","EOP","2024/01/16","00003","Retrait au GA /Caisse Exemple","",'
            '"100.00","","","","","","3149.16"'),
        (Tx("row 1", "2024-01-12T00:00:00-05:00", "-85.40", "CAD",
            "Paiement facture - AccèsD Internet /Hydro Exemple", account="0123456",
            props={"reference": "00001", "balance": "1149.16", **ASSUMED,
                   **_shape("desjardins_headerless")}),
         Tx("row 2", "2024-01-15T00:00:00-05:00", "2100.00", "CAD",
            "Dépôt paie /Employeur Exemple inc.", account="0123456"),
         Tx("row 3", "2024-01-16T00:00:00-05:00", "-100.00", "CAD", "Retrait au GA /Caisse Exemple",
            account="0123456")),
        encoding="cp1252", newline="\r\n", timezone=TORONTO, region="CA"),
    Layout(
        "national_bank", "releve-compte.csv", _lines(
            "Date;Description;Catégorie;Débit;Crédit;Solde",
            "2024-01-12;EXAMPLE EPICERIE MONTREAL QC;Épicerie;45,67;;1234,56",
            "2024-01-15;PAIE EMPLOYEUR EXEMPLE;Revenus;;2100,00;3334,56",
            "2024-01-16;VIREMENT INTERAC;Transferts;1250,00;;2084,56"),
        (Tx("row 2", "2024-01-12T00:00:00-05:00", "-45.67", "CAD", "EXAMPLE EPICERIE MONTREAL QC",
            props={"category": "Épicerie", "balance": "1234.56", **ASSUMED}),
         Tx("row 3", "2024-01-15T00:00:00-05:00", "2100.00", "CAD", "PAIE EMPLOYEUR EXEMPLE"),
         Tx("row 4", "2024-01-16T00:00:00-05:00", "-1250.00", "CAD", "VIREMENT INTERAC")),
        timezone=TORONTO, region="CA"),
    # ------------------------------------------------------------------ United Kingdom
    # No pound sign and no currency column: a UK bank's own layout, imported with the UK as
    # the region, is in pounds — assumed, and marked so.
    Layout(
        "barclays", "data.csv", _lines(
            "Number,Date,Account,Amount,Subcategory,Memo",
            ",12/01/2024,20-00-00 12345678,-45.67,PAYMENT,EXAMPLE STORE\tON 11 JAN          BCC",
            ",15/01/2024,20-00-00 12345678,2100.00,DIRECTDEP,EXAMPLE EMPLOYER LTD SALARY",
            "000123,16/01/2024,20-00-00 12345678,-300.00,CHEQUE,CHEQUE 000123"),
        (Tx("row 2", "2024-01-12T00:00:00+00:00", "-45.67", "GBP",
            "EXAMPLE STORE\tON 11 JAN          BCC", account="20-00-00 12345678",
            props={"type": "PAYMENT", **ASSUMED}),
         Tx("row 3", "2024-01-15T00:00:00+00:00", "2100.00", "GBP", "EXAMPLE EMPLOYER LTD SALARY",
            account="20-00-00 12345678"),
         Tx("row 4", "2024-01-16T00:00:00+00:00", "-300.00", "GBP", "CHEQUE 000123",
            account="20-00-00 12345678", props={"reference": "000123"})),
        timezone=LONDON, region="GB"),
    Layout(
        "lloyds", "12345678_20240116_1030.csv", _lines(
            "Transaction Date,Transaction Type,Sort Code,Account Number,Transaction Description,"
            "Debit Amount,Credit Amount,Balance",
            "16/01/2024,DEB,'30-99-50,12345678,EXAMPLE STORE CD 1234,45.67,,3288.89",
            "15/01/2024,BGC,'30-99-50,12345678,EXAMPLE EMPLOYER LTD,,2100.00,3334.56",
            "12/01/2024,DD,'30-99-50,12345678,EXAMPLE ENERGY,85.00,,1234.56"),
        (Tx("row 2", "2024-01-16T00:00:00+00:00", "-45.67", "GBP", "EXAMPLE STORE CD 1234",
            account="12345678", props={"type": "DEB", "balance": "3288.89", **ASSUMED}),
         Tx("row 3", "2024-01-15T00:00:00+00:00", "2100.00", "GBP", "EXAMPLE EMPLOYER LTD",
            account="12345678"),
         Tx("row 4", "2024-01-12T00:00:00+00:00", "-85.00", "GBP", "EXAMPLE ENERGY",
            account="12345678")),
        timezone=LONDON, region="GB"),
    Layout(
        "nationwide", "Statement Download 2024-Jan-16 10-30-00.csv", _lines(
            '"Account Name:","FlexAccount ****12345"',
            '"Account Balance:","£3,245.06"',
            '"Available Balance: ","£3,245.06"',
            "",
            '"Date","Transaction type","Description","Paid out","Paid in","Balance"',
            '"12 Jan 2024","Contactless Payment","EXAMPLE CAFE LONDON","£4.50","","£1,230.06"',
            '"15 Jan 2024","Bank credit EXAMPLE EMPLOYER LTD","EXAMPLE EMPLOYER LTD","",'
            '"£2,100.00","£3,330.06"',
            '"16 Jan 2024","Direct debit","EXAMPLE ENERGY","£85.00","","£3,245.06"'),
        (Tx("row 6", "2024-01-12T00:00:00+00:00", "-4.50", "GBP", "EXAMPLE CAFE LONDON",
            account="FlexAccount ****12345",
            props={"type": "Contactless Payment", "balance": "1230.06", **STATED}),
         Tx("row 7", "2024-01-15T00:00:00+00:00", "2100.00", "GBP", "EXAMPLE EMPLOYER LTD",
            account="FlexAccount ****12345"),
         Tx("row 8", "2024-01-16T00:00:00+00:00", "-85.00", "GBP", "EXAMPLE ENERGY",
            account="FlexAccount ****12345")),
        encoding="cp1252", newline="\r\n", timezone=LONDON, region="GB"),
    Layout(
        "hsbc_uk", "TransactionHistory.csv", _lines(
            "12/01/2024,EXAMPLE STORE LONDON,-45.67",
            '15/01/2024,EXAMPLE EMPLOYER LTD,"2,100.00"',
            '16/01/2024,EXAMPLE LETTINGS RENT,"-1,250.00"',
            "17/01/2024,EXAMPLE BOOKSHOP,12.34.56",
            "18/01/2024,EXAMPLE TRANSPORT,-2.80"),
        (Tx("row 1", "2024-01-12T00:00:00+00:00", "-45.67", "GBP", "EXAMPLE STORE LONDON",
            props={**ASSUMED, **_shape("hsbc_uk_headerless")}),
         Tx("row 2", "2024-01-15T00:00:00+00:00", "2100.00", "GBP", "EXAMPLE EMPLOYER LTD"),
         Tx("row 3", "2024-01-16T00:00:00+00:00", "-1250.00", "GBP", "EXAMPLE LETTINGS RENT"),
         Tx("row 5", "2024-01-18T00:00:00+00:00", "-2.80", "GBP", "EXAMPLE TRANSPORT")),
        timezone=LONDON, region="GB", errors=(("row 4", "amount"),)),
    Layout(
        "natwest", "STATEMENT.csv", _lines(
            "",
            "Date, Type, Description, Value, Balance, Account Name, Account Number",
            "",
            "12/01/2024,POS,\"'4829 11JAN24 , EXAMPLE STORE , LONDON GB\",-45.67,1234.56,"
            "\"'J EXAMPLE\",\"'601234-12345678\",",
            "15/01/2024,BAC,\"'EXAMPLE EMPLOYER LTD , SALARY\",2100.00,3334.56,\"'J EXAMPLE\","
            "\"'601234-12345678\",",
            "16/01/2024,D/D,\"'EXAMPLE ENERGY\",-85.00,3249.56,\"'J EXAMPLE\",\"'601234-12345678\","),
        (Tx("row 4", "2024-01-12T00:00:00+00:00", "-45.67", "GBP",
            "4829 11JAN24 , EXAMPLE STORE , LONDON GB", account="601234-12345678",
            props={"type": "POS", "balance": "1234.56", **ASSUMED}),
         Tx("row 5", "2024-01-15T00:00:00+00:00", "2100.00", "GBP", "EXAMPLE EMPLOYER LTD , SALARY",
            account="601234-12345678"),
         Tx("row 6", "2024-01-16T00:00:00+00:00", "-85.00", "GBP", "EXAMPLE ENERGY",
            account="601234-12345678")),
        timezone=LONDON, region="GB"),
    # ------------------------------------------------------------------ Australia
    Layout(
        "commbank", "CSVData.csv", _lines(
            '16/01/2024,"-85.00","EXAMPLE ENERGY DIRECT DEBIT 123456","+3249.56"',
            '15/01/2024,"+2100.00","SALARY EXAMPLE EMPLOYER PTY","+3334.56"',
            '12/01/2024,"-45.67","EXAMPLE STORE SYDNEY NS AUS Card xx1234 Value Date: 10/01/2024",'
            '"+1234.56"'),
        (Tx("row 1", "2024-01-16T00:00:00+11:00", "-85.00", "AUD",
            "EXAMPLE ENERGY DIRECT DEBIT 123456",
            props={"balance": "3249.56", **ASSUMED, **_shape("commbank_headerless")}),
         Tx("row 2", "2024-01-15T00:00:00+11:00", "2100.00", "AUD", "SALARY EXAMPLE EMPLOYER PTY"),
         Tx("row 3", "2024-01-12T00:00:00+11:00", "-45.67", "AUD",
            "EXAMPLE STORE SYDNEY NS AUS Card xx1234 Value Date: 10/01/2024")),
        timezone=SYDNEY, region="AU"),
    Layout(
        "anz", "ANZ.csv", _lines(
            '12/01/2024,"-45.67","EXAMPLE STORE SYDNEY AU"',
            '15/01/2024,"2100.00","PAYMENT FROM EXAMPLE EMPLOYER"',
            '16/01/2024,"-85.00","EXAMPLE ENERGY"'),
        (Tx("row 1", "2024-01-12T00:00:00+11:00", "-45.67", "AUD", "EXAMPLE STORE SYDNEY AU",
            props={**ASSUMED, **_shape("anz_headerless")}),
         Tx("row 2", "2024-01-15T00:00:00+11:00", "2100.00", "AUD", "PAYMENT FROM EXAMPLE EMPLOYER"),
         Tx("row 3", "2024-01-16T00:00:00+11:00", "-85.00", "AUD", "EXAMPLE ENERGY")),
        timezone=SYDNEY, region="AU"),
    Layout(
        "westpac", "Data_export_16012024.csv", _lines(
            "Bank Account,Date,Narrative,Debit Amount,Credit Amount,Balance,Categories,Serial",
            "032000123456,16/01/2024,DEBIT CARD PURCHASE EXAMPLE STORE SYDNEY AU,45.67,,1234.56,"
            "POS,",
            "032000123456,15/01/2024,DEPOSIT EXAMPLE EMPLOYER PTY SALARY,,2100.00,1280.23,DEP,",
            "032000123456,12/01/2024,WITHDRAWAL CHEQUE 000123,300.00,,-819.77,CHQ,000123"),
        (Tx("row 2", "2024-01-16T00:00:00+11:00", "-45.67", "AUD",
            "DEBIT CARD PURCHASE EXAMPLE STORE SYDNEY AU", account="032000123456",
            props={"category": "POS", "balance": "1234.56", **ASSUMED}),
         Tx("row 3", "2024-01-15T00:00:00+11:00", "2100.00", "AUD",
            "DEPOSIT EXAMPLE EMPLOYER PTY SALARY", account="032000123456"),
         Tx("row 4", "2024-01-12T00:00:00+11:00", "-300.00", "AUD", "WITHDRAWAL CHEQUE 000123",
            account="032000123456", props={"reference": "000123"})),
        timezone=SYDNEY, region="AU"),
)


@pytest.mark.parametrize("layout", LAYOUTS, ids=[lay.id for lay in LAYOUTS])
def test_layout_imports_without_a_profile(ws, case_id, tmp_path: Path, layout: Layout) -> None:
    result, events = import_layout(ws, case_id, tmp_path, layout)
    # Whether a currency was assumed is the same on every row of one file.
    assert len({e.properties.get("currency_assumed") for e in events}) == 1
    # A layout recognised by its rows rather than a header says which it took, on every
    # transaction and once among the import's warnings.
    (chosen,) = {e.properties.get("profile") for e in events}
    layout_notes = [w for w in result.warnings if w.startswith("layout: no header line")]
    assert len(layout_notes) == (1 if chosen else 0)
    if chosen:
        assert f"({chosen})" in layout_notes[0]


@pytest.mark.parametrize("layout", [lay for lay in LAYOUTS if lay.errors],
                         ids=[lay.id for lay in LAYOUTS if lay.errors])
def test_bad_row_of_a_headerless_layout_names_row_and_field(ws, case_id, tmp_path: Path,
                                                            layout: Layout) -> None:
    path = layout.write(tmp_path)
    before = ws.counts()
    with pytest.raises(BadInput) as caught:
        run_import(ws, case_id, path, options=ImportOptions(timezone=layout.timezone,
                                                            default_region=layout.region))
    (row, fld), = layout.errors
    message = str(caught.value)
    assert path.name in message and f"{row}: field {fld!r}" in message
    assert ws.counts() == before


def _layout(layout_id: str) -> Layout:
    return next(lay for lay in LAYOUTS if lay.id == layout_id)


@pytest.mark.parametrize(("layout_id", "region", "currency", "assumed"), [
    ("td", "CA", "CAD", True),
    ("td", "US", None, None),      # a Canadian bank's layout says nothing of US dollars
    ("anz", "AU", "AUD", True),
    ("anz", "NZ", None, None),
    ("rbc", "US", "CAD", None),    # the CAD$ column says so wherever the import is made
])
def test_a_banks_layout_says_dollar_only_in_its_own_region(
        ws, case_id, tmp_path: Path, layout_id: str, region: str, currency: str | None,
        assumed: bool | None) -> None:
    layout = _layout(layout_id)
    path = layout.write(tmp_path)
    run_import(ws, case_id, path, options=ImportOptions(default_region=region),
               skip_bad_rows=True)
    events = ws.list_events(case_id, limit=None)
    first = min(events, key=lambda e: _row_number(e.source_ref))
    assert (first.properties["currency"], first.properties.get("currency_assumed")) == (
        currency, assumed)


_DOLLAR_STATEMENT = _lines(
    "Date,Description,Amount",
    '2024-01-12,EXAMPLE GROCER,"-$45.67"',
    "2024-01-15,EXAMPLE EMPLOYER,2100.00",
    "2024-01-16,EXAMPLE AIRLINE,US$-300.00",
    "2024-01-17,EXAMPLE CAFE,-4.50 CAD")


@pytest.mark.parametrize(("region", "dollar"), [
    ("CA", "CAD"), ("US", "USD"), ("AU", "AUD"), ("NZ", "NZD"), ("GB", None), ("DE", None)])
def test_a_dollar_sign_is_the_import_regions_dollar(ws, case_id, tmp_path: Path, region: str,
                                                     dollar: str | None) -> None:
    path = tmp_path / "statement.csv"
    path.write_text(_DOLLAR_STATEMENT, encoding="utf-8")
    run_import(ws, case_id, path, options=ImportOptions(default_region=region))
    events = sorted(ws.list_events(case_id, limit=None), key=lambda e: _row_number(e.source_ref))
    assert [(e.properties["amount"], e.properties["currency"], e.properties.get("currency_assumed"))
            for e in events] == [
        ("-45.67", dollar, True if dollar else None),
        ("2100.00", None, None),     # a bare number with no clue: no currency invented
        ("-300.00", "USD", None),    # "US$" says which dollar
        ("-4.50", "CAD", None)]


def test_headerless_built_ins_are_only_recognised_by_rows() -> None:
    headerless = {name for name, p in BUILTIN_PROFILES.items() if not p.has_header}
    assert headerless == set(ROW_SHAPES)
    for name, shape in ROW_SHAPES.items():
        profile = BUILTIN_PROFILES[name]
        # The shape describes the columns the profile reads as the profile reads them.
        for fld, kinds in (("date", {"date"}), ("amount", {"amount", "unsigned"}),
                           ("debit", {"debit"}), ("credit", {"credit"}),
                           ("balance", {"balance"}), ("card_number", {"card"})):
            if fld in profile.columns:
                assert shape[profile.columns[fld]] in kinds, (name, fld)  # type: ignore[index]
        assert max(i for i in profile.columns.values() if isinstance(i, int)) < len(shape)
