"""Bank and payment-app exports whose real layouts the importer first got wrong, imported
with no profile.

Each case rebuilds a producer's real export (header names and order, lines above and
below the table, quoting, date, time and amount writing) with made-up people, merchants,
accounts and amounts: Cash App (a zone abbreviation after the time, the other side in its
own column), NAB (the text in "Transaction Details"), Up Bank (a "Time" timestamp as the
only date), UBS (the account and card exports), EQ Bank ("Transfer date"), N26's older
export in English, Spanish and Italian (the payee's account beside the payee), ING Spain
("F. VALOR", "IMPORTE (€)"), Nationwide's midata download (the signed amount under
"Debit/Credit", a figure line below the table), the GnuCash register export ("Amount With
Sym", weekday dates, amounts in parentheses) and ABN AMRO's headerless .TAB download.
Same pattern as ``test_finance_csv_real_variants``: through ``run_import`` into an
encrypted case database, read back the way an investigator sees it.
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

NEW_YORK, SYDNEY, ZURICH = "America/New_York", "Australia/Sydney", "Europe/Zurich"
BERLIN, MADRID, ROME = "Europe/Berlin", "Europe/Madrid", "Europe/Rome"
LONDON, TORONTO, AMSTERDAM = "Europe/London", "America/Toronto", "Europe/Amsterdam"

_CASH_APP = Layout(
    # The time carries its zone as an abbreviation (read without an import zone); the
    # other side and the note have their own columns; "$" amounts beside a currency.
    "cash_app", "cash_app_report_btc.csv", _lines(
        '"Transaction ID","Date","Transaction Type","Currency","Amount","Fee","Net Amount",'
        '"Asset Type","Asset Price","Asset Amount","Status","Notes","Name of sender/receiver",'
        '"Account"',
        '"abc1de","2024-01-07 16:12:36 EST","Cash Card Debit","USD","-$2.90","$0","-$2.90",'
        '"","","","CARD CHARGED","EXAMPLE TRANSIT","","Visa Debit 0987"',
        '"fgh2ij","2024-06-06 19:19:48 EDT","Sent P2P","USD","-$10","$0","-$10",,"",,'
        '"PAYMENT SENT","lunch","John Example","Visa Debit 0987"',
        '"klm3no","2024-01-05 10:00:00 PST","Received P2P","USD","$1,250.50","-$0.50",'
        '"$1,250","","","","PAYMENT DEPOSITED","rent","Jane Example","Your Cash"'),
    (Tx("row 2", "2024-01-07T16:12:36-05:00", "-2.90", "USD", "EXAMPLE TRANSIT",
        card="•••• 0987",
        props={"description": "EXAMPLE TRANSIT", "type": "Cash Card Debit",
               "reference": "abc1de"}),
     Tx("row 3", "2024-06-06T19:19:48-04:00", "-10", "USD", "John Example",
        merchant="John Example", card="•••• 0987",
        props={"description": "lunch", "status": "PAYMENT SENT"}),
     Tx("row 4", "2024-01-05T10:00:00-08:00", "1250.50", "USD", "Jane Example",
        merchant="Jane Example", props={"fee": "-0.50"})))

_NAB = Layout(
    # An unnamed column between the account and the kind; the text under "Transaction
    # Details", the merchant (when a card was used) under "Merchant Name".
    "nab", "Transactions.csv", _lines(
        "Date,Amount,Account Number,,Transaction Type,Transaction Details,Balance,Category,"
        "Merchant Name",
        "19 Jan 24,-45.67,083-000 12-345-6789,,EFTPOS DEBIT,V1234 18/01 EXAMPLE GROCER SYDNEY,"
        "1234.56,Groceries,Example Grocer",
        "20 Jan 24,2100.00,083-000 12-345-6789,,SALARY,EXAMPLE PTY LTD PAYROLL,3334.56,Income,"),
    (Tx("row 2", "2024-01-19T00:00:00+11:00", "-45.67", None, "Example Grocer",
        merchant="Example Grocer", account="083-000 12-345-6789",
        props={"description": "V1234 18/01 EXAMPLE GROCER SYDNEY", "balance": "1234.56"}),
     Tx("row 3", "2024-01-20T00:00:00+11:00", "2100.00", None, "EXAMPLE PTY LTD PAYROLL",
        account="083-000 12-345-6789", props={"type": "SALARY"})),
    timezone=SYDNEY, region="AU")

_UP_BANK = Layout(
    # "Time" is the only date (the settlement day follows at the end); the total of a
    # purchase includes its round-up; the currency is in the money columns' headers.
    "up_bank", "up_transactions.csv", _lines(
        "Time,BSB / Account Number,Account name,Transaction Type,Payee,Description,Category,"
        "Tags,Subtotal (AUD),Currency,Subtotal (Transaction Currency),Round Up (AUD),"
        "Total (AUD),Payment Method,Settled Date",
        "2024-01-12 14:05,633-123 / 123456789,Spending,Purchase,Example Grocer,"
        "EXAMPLE GROCER SYDNEY,Groceries,,-45.67,AUD,-45.67,-0.33,-46.00,Debit Card,"
        "2024-01-13",
        "2024-01-15 09:00,633-123 / 123456789,Spending,Transfer,Jane Example,Rent,,,500.00,"
        "AUD,500.00,,500.00,,2024-01-15"),
    (Tx("row 2", "2024-01-12T14:05:00+11:00", "-46.00", "AUD", "Example Grocer",
        merchant="Example Grocer", account="633-123 / 123456789",
        props={"description": "EXAMPLE GROCER SYDNEY", "type": "Purchase"}),
     Tx("row 3", "2024-01-15T09:00:00+11:00", "500.00", "AUD", "Jane Example",
        merchant="Jane Example", account="633-123 / 123456789")),
    timezone=SYDNEY, region="AU")

_UBS = Layout(
    # The account's details as "key:;value;" lines above the table; the trade date and
    # time, then the booking and value dates; a debit written negative in "Debit"; the
    # other side in "Description1", the kind in "Description2"; lines end in ";".
    "ubs", "transactions.csv", _lines(
        "Account number:;0000 00000000.00;",
        "IBAN:;CH93 0076 2011 6238 5295 7;",
        "From:;2024-01-01;",
        "Until:;2024-01-31;",
        "Opening balance:;1234.56;",
        "Closing balance:;3288.89;",
        "Valued in:;CHF;",
        "Numbers of transactions in this period:;2;",
        "",
        "Trade date;Trade time;Booking date;Value date;Currency;Debit;Credit;Individual amount;"
        "Balance;Transaction no.;Description1;Description2;Description3;Footnotes;",
        "2024-01-12;14:05:00;2024-01-13;2024-01-13;CHF;-45.67;;;1188.89;9930012345678901;"
        '"Beispiel Markt AG;Beispielweg 1; 8000 Zürich; CH";Debit card payment;'
        '"Transaction no. 9930012345678901";;',
        "2024-01-15;;2024-01-15;2024-01-15;CHF;;2100.00;;3288.89;9930012345678902;"
        '"Beispiel Arbeitgeber AG";Salary Payment;"Reason for payment: Lohn Januar";;'),
    (Tx("row 11", "2024-01-12T14:05:00+01:00", "-45.67", "CHF",
        "Beispiel Markt AG;Beispielweg 1; 8000 Zürich; CH", account="0000 00000000.00",
        props={"posted_at": "2024-01-13T00:00:00", "balance": "1188.89"}),
     Tx("row 12", "2024-01-15T00:00:00+01:00", "2100.00", "CHF", "Beispiel Arbeitgeber AG",
        account="0000 00000000.00")),
    encoding="utf-8-sig", timezone=ZURICH, region="CH")

_UBS_CARD = Layout(
    # A "sep=;" line; "Amount" is in the currency paid in (named beside it), what the card
    # was charged is in "Debit" (unsigned) or "Credit"; "Booked" is the posting day.
    "ubs_card", "card_transactions.csv", _lines(
        "sep=;",
        "Account number;Card number;Account/Cardholder;Purchase date;Booking text;Sector;"
        "Amount;Original currency;Rate;Currency;Debit;Credit;Booked",
        "0000 0000 0000;4111 11XX XXXX 1111;ERIKA BEISPIEL;18.01.2024;"
        "EXAMPLE BOOKS LONDON GBR;Bookstores;20.00;GBP;1.10;CHF;22.00;;19.01.2024",
        "0000 0000 0000;4111 11XX XXXX 1111;ERIKA BEISPIEL;20.01.2024;Payment received;;"
        "100.00;CHF;;CHF;;100.00;20.01.2024"),
    (Tx("row 3", "2024-01-18T00:00:00+01:00", "-22.00", "CHF", "EXAMPLE BOOKS LONDON GBR",
        card="•••• 1111", holder="ERIKA BEISPIEL", account="0000 0000 0000",
        props={"posted_at": "2024-01-19T00:00:00", "category": "Bookstores"}),
     Tx("row 4", "2024-01-20T00:00:00+01:00", "100.00", "CHF", "Payment received",
        card="•••• 1111", holder="ERIKA BEISPIEL", account="0000 0000 0000")),
    encoding="latin-1", timezone=ZURICH, region="CH")

_EQ_BANK = Layout(
    # "Transfer date" with the month in capitals, "$" amounts, the running balance.
    "eq_bank", "EQ_Bank_Transactions.csv", _lines(
        "Transfer date,Description,Amount,Balance",
        '03 MAY 2024,Interac e-Transfer From: JANE EXAMPLE,$250.00,"$1,234.56"',
        '05 MAY 2024,Withdrawal to EXAMPLE BANK,-$45.67,"$1,188.89"'),
    (Tx("row 2", "2024-05-03T00:00:00-04:00", "250.00", "CAD",
        "Interac e-Transfer From: JANE EXAMPLE", props={"balance": "1234.56"}),
     Tx("row 3", "2024-05-05T00:00:00-04:00", "-45.67", "CAD", "Withdrawal to EXAMPLE BANK")),
    timezone=TORONTO, region="CA")

_N26_OLD_EN = Layout(
    # N26's older export: "Account number" beside "Payee" is the payee's account.
    "n26_old_en", "n26-csv-transactions.csv", _lines(
        '"Date","Payee","Account number","Transaction type","Payment reference","Category",'
        '"Amount (EUR)","Amount (Foreign Currency)","Type Foreign Currency","Exchange Rate"',
        '"2019-01-12","Beispiel Markt","","MasterCard Payment","","Food & Groceries","-45.67",'
        '"","",""',
        '"2019-01-15","Erika Mustermann","DE89370400440532013000","Income","Miete","Income",'
        '"450.0","","",""'),
    (Tx("row 2", "2019-01-12T00:00:00+01:00", "-45.67", "EUR", "Beispiel Markt",
        merchant="Beispiel Markt", props={"type": "MasterCard Payment"}),
     Tx("row 3", "2019-01-15T00:00:00+01:00", "450.0", "EUR", "Erika Mustermann",
        merchant="Erika Mustermann", counterparty_account="DE89370400440532013000",
        props={"description": "Miete"})),
    timezone=BERLIN, region="DE")

_N26_OLD_ES = Layout(
    # The same in Spanish: the amount is the "Cantidad (EUR)".
    "n26_old_es", "n26-csv-transactions.csv", _lines(
        '"Fecha","Beneficiario","Número de cuenta","Tipo de transacción","Referencia de pago",'
        '"Categoría","Cantidad (EUR)","Cantidad (Divisa extranjera)","Tipo de divisa extranjera",'
        '"Tipo de cambio"',
        '"2019-01-12","Panadería Ejemplo","","Pago con MasterCard","","Alimentación","-4.56",'
        '"","",""',
        '"2019-01-15","Juana Ejemplo","ES9121000418450200051332","Ingreso","Alquiler",'
        '"Ingresos","450.0","","",""'),
    (Tx("row 2", "2019-01-12T00:00:00+01:00", "-4.56", "EUR", "Panadería Ejemplo",
        merchant="Panadería Ejemplo", props={"type": "Pago con MasterCard"}),
     Tx("row 3", "2019-01-15T00:00:00+01:00", "450.0", "EUR", "Juana Ejemplo",
        merchant="Juana Ejemplo", counterparty_account="ES9121000418450200051332",
        props={"description": "Alquiler"})),
    timezone=MADRID, region="ES")

_N26_OLD_IT = Layout(
    # And in Italian: the reference is the "Causale".
    "n26_old_it", "n26-csv-transactions.csv", _lines(
        '"Data","Beneficiario","Numero di conto","Tipo di transazione","Causale","Categoria",'
        '"Importo (EUR)","Importo (Valuta estera)","Tipo di valuta estera","Tasso di cambio"',
        '"2019-01-15","Maria Esempio","IT60X0542811101000000123456","Entrata","Affitto",'
        '"Entrate","450.0","","",""'),
    (Tx("row 2", "2019-01-15T00:00:00+01:00", "450.0", "EUR", "Maria Esempio",
        merchant="Maria Esempio", counterparty_account="IT60X0542811101000000123456",
        props={"description": "Affitto", "type": "Entrata"}),),
    timezone=ROME, region="IT")

_ING_ES = Layout(
    # ING Spain: the account above the header, the value date as the only date, the
    # currency as a sign in the money headers, decimal commas.
    "ing_es", "movimientos.csv", _lines(
        "Número de cuenta:,ES91 2100 0418 4502 0005 1332",
        "Titular:,Juana Ejemplo",
        "",
        "F. VALOR,CATEGORÍA,SUBCATEGORÍA,DESCRIPCIÓN,COMENTARIO,IMAGEN,IMPORTE (€),SALDO (€)",
        '12/01/2024,Alimentación,Supermercados,Pago en SUPERMERCADO EJEMPLO MADRID,,,'
        '"-45,67","1.234,56"',
        '15/01/2024,Nómina y otras prestaciones,Nómina,Nómina recibida EJEMPLO SL,,,'
        '"2.100,00","3.334,56"'),
    (Tx("row 5", "2024-01-12T00:00:00+01:00", "-45.67", "EUR",
        "Pago en SUPERMERCADO EJEMPLO MADRID", account="ES9121000418450200051332",
        props={"category": "Alimentación", "balance": "1234.56"}),
     Tx("row 6", "2024-01-15T00:00:00+01:00", "2100.00", "EUR", "Nómina recibida EJEMPLO SL",
        account="ES9121000418450200051332")),
    timezone=MADRID, region="ES")

_NATIONWIDE_MIDATA = Layout(
    # The midata download: the signed amount under "Debit/Credit" ("-£4.50", "+£..."),
    # the overdraft limit on a short line below the table.
    "nationwide_midata", "midata1234.csv", _lines(
        '"Account Number:","****12345"',
        "",
        '"Date","Type","Merchant/Description","Debit/Credit","Balance"',
        '"12/01/2024","Visa purchase","EXAMPLE CAFE GB","-£4.50","£1,230.06"',
        '"15/01/2024","Bank credit EXAMPLE EMPLOYER","EXAMPLE EMPLOYER","+£2,100.00",'
        '"£3,330.06"',
        "",
        '"Arranged Overdraft Limit","16/01/2024","£100.00"'),
    (Tx("row 4", "2024-01-12T00:00:00+00:00", "-4.50", "GBP", "EXAMPLE CAFE GB",
        account="****12345", props={"type": "Visa purchase", "balance": "1230.06"}),
     Tx("row 5", "2024-01-15T00:00:00+00:00", "2100.00", "GBP", "EXAMPLE EMPLOYER",
        account="****12345")),
    encoding="cp1252", newline="\r\n", timezone=LONDON, region="GB")

_GNUCASH_REGISTER = Layout(
    # GnuCash's "Export transactions" from a register (simple layout): weekday dates, the
    # amount with the book's currency sign and a negative one in parentheses.
    "gnucash_register", "transactions.csv", _lines(
        '"Date","Account Name","Number","Description","Full Category Path","Reconcile",'
        '"Amount With Sym","Amount Num.","Rate/Price"',
        '"Fri, 01/12/2024","Checking Account","","Example Grocer","Expenses:Groceries","n",'
        '"$(45.67)","(45.67)","1.0000"',
        '"Mon, 01/15/2024","Checking Account","1001","Example Corp Payroll","Income:Salary",'
        '"c","$2,100.00","2,100.00","1.0000"'),
    (Tx("row 2", "2024-01-12T00:00:00-05:00", "-45.67", "USD", "Example Grocer",
        props={"category": "Expenses:Groceries", "account": "Checking Account"}),
     Tx("row 3", "2024-01-15T00:00:00-05:00", "2100.00", "USD", "Example Corp Payroll",
        props={"description": "Example Corp Payroll"})),
    timezone=NEW_YORK)

_ABN_AMRO_TAB = Layout(
    # No header line; tab-separated: account, currency, booking date, the balance before
    # and after, the value date, the signed amount (decimal comma), the description.
    "abn_amro_tab", "TXT240116103000.TAB", _lines(
        "123456789\tEUR\t20240112\t1234,56\t1188,89\t20240112\t-45,67\t"
        "BEA   NR:ABC123   12.01.24/14.05 VOORBEELD BAKKERIJ,PAS123",
        "123456789\tEUR\t20240115\t1188,89\t3288,89\t20240115\t2100,00\t"
        "SEPA Overboeking IBAN: NL02ABNA0123456789 BIC: ABNANL2A Naam: VOORBEELD BV"),
    (Tx("row 1", "2024-01-12T00:00:00+01:00", "-45.67", "EUR",
        "BEA   NR:ABC123   12.01.24/14.05 VOORBEELD BAKKERIJ,PAS123", account="123456789",
        props={"balance": "1188.89", "profile_chosen_by": "row shape"}),
     Tx("row 2", "2024-01-15T00:00:00+01:00", "2100.00", "EUR",
        "SEPA Overboeking IBAN: NL02ABNA0123456789 BIC: ABNANL2A Naam: VOORBEELD BV",
        account="123456789", props={"balance": "3288.89"})),
    timezone=AMSTERDAM, region="NL")

LAYOUTS = (_CASH_APP, _NAB, _UP_BANK, _UBS, _UBS_CARD, _EQ_BANK, _N26_OLD_EN, _N26_OLD_ES,
           _N26_OLD_IT, _ING_ES, _NATIONWIDE_MIDATA, _GNUCASH_REGISTER, _ABN_AMRO_TAB)


@pytest.mark.parametrize("layout", LAYOUTS, ids=[lay.id for lay in LAYOUTS])
def test_real_variant_imports_without_a_profile(ws, case_id, tmp_path: Path,
                                                layout: Layout) -> None:
    result, _ = import_layout(ws, case_id, tmp_path, layout)
    assert result.errors == ()
