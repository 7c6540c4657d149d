"""Bank and card CSV exports as units receive them, imported with no profile chosen.

One small synthetic sample per producer's layout (N26, Starling, Monzo, Revolut, Rabobank,
ING NL, ING DiBa, Sparkasse CAMT, a Swiss bank, Schwab, Chase, Bank of America, American
Express, Citi, Discover, Xero, Yodlee, Payoneer, Outbank, PayPal in German and French,
Wise), each run through ``run_import`` into a real encrypted case database and read back
the way an investigator sees it: how many transactions, when (with the offset the import
applied), the signed amount and currency, the counterparty, the card or account.

All names, IBANs and card numbers are made up (test IBANs, test-range card numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from workstation.errors import BadInput
from workstation.ingest.pipeline import detect, run_import
from workstation.ingest.records import ImportOptions
from workstation.ingest.tabular import BUILTIN_PROFILES

NBSP, NNBSP = "\u00a0", "\u202f"


@dataclass(frozen=True)
class Tx:
    """One transaction as the case shows it after the import."""

    ref: str
    when: str                       # ISO-8601 with the offset the import stored
    amount: str
    currency: str | None
    title: str
    merchant: str | None = None     # the organisation entity paid or paying
    card: str | None = None         # card entity label (masked)
    holder: str | None = None       # cardholder entity
    account: str | None = None      # the statement's own account entity
    counterparty_account: str | None = None
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    id: str
    file_name: str
    text: str
    txs: tuple[Tx, ...]
    encoding: str = "utf-8"
    newline: str = "\n"
    timezone: str | None = None
    region: str = "US"
    errors: tuple[tuple[str, str | None], ...] = ()   # (row, field) of genuinely bad rows

    def write(self, folder: Path) -> Path:
        text = self.text.replace("\n", self.newline)
        data = (b"\xff\xfe" + text.encode("utf-16-le") if self.encoding == "utf-16-le-bom"
                else text.encode(self.encoding))
        path = folder / self.file_name
        path.write_bytes(data)
        return path


def _lines(*lines: str) -> str:
    return "\n".join(lines) + "\n"


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "n26", "n26-csv-transactions.csv", _lines(
            '"Booking Date","Value Date","Partner Name","Partner Iban","Type","Payment Reference",'
            '"Account Name","Amount (EUR)","Original Amount","Original Currency","Exchange Rate"',
            '"2024-01-12","2024-01-12","Bäckerei Beispiel","","Presentment","","Main Account",'
            '"-3.80","-3.80","EUR","1.0"',
            '"2024-01-13","2024-01-14","Example Airline","","Presentment","","Main Account",'
            '"-120.40","-130.50","USD","0.9226"',
            '"2024-01-15","2024-01-15","Erika Mustermann","DE89370400440532013000","Credit Transfer",'
            '"Rent share January","Main Account","450.00","","",""'),
        (Tx("row 2", "2024-01-12T00:00:00+01:00", "-3.80", "EUR", "Bäckerei Beispiel",
            merchant="Bäckerei Beispiel", props={"posted_at": "2024-01-12T00:00:00"}),
         Tx("row 3", "2024-01-13T00:00:00+01:00", "-120.40", "EUR", "Example Airline",
            merchant="Example Airline", props={"posted_at": "2024-01-14T00:00:00"}),
         Tx("row 4", "2024-01-15T00:00:00+01:00", "450.00", "EUR", "Erika Mustermann",
            merchant="Erika Mustermann", counterparty_account="DE89370400440532013000",
            props={"description": "Rent share January", "type": "Credit Transfer"})),
        timezone="Europe/Berlin"),
    Layout(
        "starling", "StarlingStatement_2024-01.csv", _lines(
            "Date,Counter Party,Reference,Type,Amount (GBP),Balance (GBP),Spending Category,Notes",
            "12/01/2024,Corner Cafe,CORNER CAFE LONDON,CONTACTLESS,-4.50,995.50,EATING_OUT,",
            "13/01/2024,Alex Example,Rent,FASTER PAYMENT,-650.00,345.50,PAYMENTS,",
            '15/01/2024,Example Employer Ltd,SALARY JAN,FASTER PAYMENT,"2,100.00","2,445.50",INCOME,'),
        (Tx("row 2", "2024-01-12T00:00:00+00:00", "-4.50", "GBP", "Corner Cafe",
            merchant="Corner Cafe", props={"balance": "995.50"}),
         Tx("row 3", "2024-01-13T00:00:00+00:00", "-650.00", "GBP", "Alex Example",
            merchant="Alex Example"),
         Tx("row 4", "2024-01-15T00:00:00+00:00", "2100.00", "GBP", "Example Employer Ltd",
            merchant="Example Employer Ltd", props={"balance": "2445.50"}))),
    Layout(
        "monzo", "MonzoDataExport.csv", _lines(
            "Transaction ID,Date,Time,Type,Name,Emoji,Category,Amount,Currency,Local amount,"
            "Local currency,Notes and #tags,Address,Receipt,Description,Category split,Money Out,"
            "Money In",
            "tx_0000AbCdEf1,12/07/2024,08:15:42,Card payment,Corner Cafe,☕,Eating out,-4.50,GBP,"
            "-4.50,GBP,,1 Example Street,,CORNER CAFE LONDON GBR,,-4.50,",
            "tx_0000AbCdEf2,13/07/2024,19:02:10,Card payment,Example Bistro,,Eating out,-28.60,GBP,"
            "-33.20,EUR,,,,EXAMPLE BISTRO PARIS FRA,,-28.60,",
            'tx_0000AbCdEf3,15/07/2024,09:00:00,Faster payment,Example Employer Ltd,,Income,'
            '"1,500.00",GBP,"1,500.00",GBP,,,,SALARY,,,"1,500.00"'),
        (Tx("row 2", "2024-07-12T08:15:42+01:00", "-4.50", "GBP", "Corner Cafe",
            merchant="Corner Cafe", props={"reference": "tx_0000AbCdEf1"}),
         Tx("row 3", "2024-07-13T19:02:10+01:00", "-28.60", "GBP", "Example Bistro",
            merchant="Example Bistro"),
         Tx("row 4", "2024-07-15T09:00:00+01:00", "1500.00", "GBP", "Example Employer Ltd",
            merchant="Example Employer Ltd")),
        encoding="utf-8-sig", timezone="Europe/London"),
    Layout(
        "revolut", "account-statement_2024-01-01_2024-01-31_en_000000.csv", _lines(
            "Type,Product,Started Date,Completed Date,Description,Amount,Fee,Currency,State,Balance",
            "CARD_PAYMENT,Current,2024-01-12 10:15:32,2024-01-13 08:00:01,Example Market,-23.45,"
            "0.00,EUR,COMPLETED,976.55",
            "TOPUP,Current,2024-01-14 09:00:00,2024-01-14 09:00:02,Top-Up by *1111,200.00,0.00,EUR,"
            "COMPLETED,1176.55",
            "EXCHANGE,Current,2024-01-15 12:30:00,2024-01-15 12:30:00,Exchanged to USD,-100.00,"
            "0.50,EUR,COMPLETED,1076.05",
            "CARD_PAYMENT,Current,2024-01-16 18:45:10,,Example Cinema,-12.00,0.00,EUR,PENDING,"),
        (Tx("row 2", "2024-01-12T10:15:32+00:00", "-23.45", "EUR", "Example Market",
            props={"posted_at": "2024-01-13T08:00:01", "status": "COMPLETED",
                   "type": "CARD_PAYMENT"}),
         Tx("row 3", "2024-01-14T09:00:00+00:00", "200.00", "EUR", "Top-Up by *1111"),
         Tx("row 4", "2024-01-15T12:30:00+00:00", "-100.00", "EUR", "Exchanged to USD",
            props={"fee": "0.50"}),
         Tx("row 5", "2024-01-16T18:45:10+00:00", "-12.00", "EUR", "Example Cinema",
            props={"status": "PENDING"}))),
    Layout(
        "rabobank", "CSV_A_NL91RABO0417164300_EUR_20240101_20240131.csv", _lines(
            '"IBAN/BBAN","Munt","BIC","Volgnr","Datum","Rentedatum","Bedrag","Saldo na trn",'
            '"Tegenrekening IBAN/BBAN","Naam tegenpartij","Naam uiteindelijke partij",'
            '"Naam initiërende partij","BIC tegenpartij","Code","Batch ID","Transactiereferentie",'
            '"Machtigingskenmerk","Incassant ID","Betalingskenmerk","Omschrijving-1",'
            '"Omschrijving-2","Omschrijving-3","Reden retour","Oorspr bedrag","Oorspr munt","Koers"',
            '"NL91RABO0417164300","EUR","RABONL2U","000000000000007213","2024-01-12","2024-01-12",'
            '"-4,56","+1230,00","NL20INGB0001234567","Voorbeeld Bakkerij B.V.","","","INGBNL2A",'
            '"bc","","","","","","Brood","","","","","",""',
            '"NL91RABO0417164300","EUR","RABONL2U","000000000000007214","2024-01-13","2024-01-13",'
            '"+1,23","+1231,23","","Jan Voorbeeld","","","","cb","","","","","","Terugbetaling",'
            '"","","","","",""',
            '"NL91RABO0417164300","EUR","RABONL2U","000000000000007215","2024-01-15","2024-01-15",'
            '"-1250,00","-18,77","NL02ABNA0123456789","Verhuur Voorbeeld","","","ABNANL2A","ei",'
            '"","","","","","Huur januari","","","","","",""'),
        (Tx("row 2", "2024-01-12T00:00:00+01:00", "-4.56", "EUR", "Voorbeeld Bakkerij B.V.",
            merchant="Voorbeeld Bakkerij B.V.", account="NL91RABO0417164300",
            counterparty_account="NL20INGB0001234567",
            props={"description": "Brood", "balance": "1230.00"}),
         Tx("row 3", "2024-01-13T00:00:00+01:00", "1.23", "EUR", "Jan Voorbeeld",
            merchant="Jan Voorbeeld", account="NL91RABO0417164300"),
         Tx("row 4", "2024-01-15T00:00:00+01:00", "-1250.00", "EUR", "Verhuur Voorbeeld",
            merchant="Verhuur Voorbeeld", account="NL91RABO0417164300",
            counterparty_account="NL02ABNA0123456789", props={"balance": "-18.77"})),
        timezone="Europe/Amsterdam"),
    Layout(
        "ing_nl", "NL69INGB0123456789_01-01-2024_31-01-2024.csv", _lines(
            '"Datum";"Naam / Omschrijving";"Rekening";"Tegenrekening";"Code";"Af Bij";'
            '"Bedrag (EUR)";"Mutatiesoort";"Mededelingen";"Saldo na mutatie";"Tag"',
            '"20240112";"Albert Voorbeeld Den Haag";"NL69INGB0123456789";"";"BA";"Af";"12,34";'
            '"Betaalautomaat";"Pasvolgnr: 001 12-01-2024 14:05 Transactie: 1A2B3C";"987,66";""',
            '"20240113";"J. Voorbeeld";"NL69INGB0123456789";"NL20INGB0001234567";"OV";"Bij";'
            '"250,00";"Overschrijving";"Naam: J. Voorbeeld Omschrijving: Terugbetaling";"1237,66";""',
            '"20240115";"Voorbeeld Verzekeringen NV";"NL69INGB0123456789";"NL02ABNA0123456789";'
            '"IC";"Af";"1045,50";"Incasso";"Omschrijving: Premie";"192,16";""'),
        (Tx("row 2", "2024-01-12T00:00:00+01:00", "-12.34", "EUR", "Albert Voorbeeld Den Haag",
            merchant="Albert Voorbeeld Den Haag", account="NL69INGB0123456789",
            props={"type": "Af"}),
         Tx("row 3", "2024-01-13T00:00:00+01:00", "250.00", "EUR", "J. Voorbeeld",
            merchant="J. Voorbeeld", account="NL69INGB0123456789",
            counterparty_account="NL20INGB0001234567"),
         Tx("row 4", "2024-01-15T00:00:00+01:00", "-1045.50", "EUR", "Voorbeeld Verzekeringen NV",
            merchant="Voorbeeld Verzekeringen NV", account="NL69INGB0123456789",
            counterparty_account="NL02ABNA0123456789", props={"balance": "192.16"})),
        timezone="Europe/Amsterdam"),
    Layout(
        "ing_diba", "Umsatzanzeige_DE89370400440532013000_20240116.csv", _lines(
            "Umsatzanzeige;Datei erstellt am: 16.01.2024 09:30",
            ";Letztes Update: aktuell",
            "",
            "IBAN;DE89 3704 0044 0532 0130 00",
            "Kontoname;Girokonto",
            "Bank;ING",
            "Kunde;Erika Mustermann",
            "Zeitraum;01.01.2024 - 15.01.2024",
            "Saldo;1.234,56;EUR",
            "",
            "Sortierung;Datum absteigend",
            "",
            "In der CSV-Datei finden Sie alle bereits gebuchten Umsätze. Die vorgemerkten Umsätze "
            "werden nicht aufgenommen, auch wenn sie in Ihrem Internetbanking angezeigt werden.",
            "",
            "Buchung;Valuta;Auftraggeber/Empfänger;Buchungstext;Verwendungszweck;Saldo;Währung;"
            "Betrag;Währung",
            "15.01.2024;15.01.2024;Beispiel Supermarkt GmbH;Lastschrift;Einkauf 14.01.;1.234,56;"
            "EUR;-45,67;EUR",
            "12.01.2024;12.01.2024;Erika Mustermann;Gutschrift;Umbuchung;1.280,23;EUR;2.500,00;EUR",
            "05.01.2024;05.01.2024;Beispiel Stadtwerke;Lastschrift;Abschlag Strom;-1.219,77;EUR;"
            "-85,00;EUR"),
        (Tx("row 16", "2024-01-15T00:00:00+01:00", "-45.67", "EUR", "Beispiel Supermarkt GmbH",
            merchant="Beispiel Supermarkt GmbH", account="DE89370400440532013000",
            props={"type": "Lastschrift", "description": "Einkauf 14.01.",
                   "balance": "1234.56"}),
         Tx("row 17", "2024-01-12T00:00:00+01:00", "2500.00", "EUR", "Erika Mustermann",
            merchant="Erika Mustermann", account="DE89370400440532013000"),
         Tx("row 18", "2024-01-05T00:00:00+01:00", "-85.00", "EUR", "Beispiel Stadtwerke",
            merchant="Beispiel Stadtwerke", account="DE89370400440532013000")),
        encoding="utf-8-sig", timezone="Europe/Berlin"),
    Layout(
        "sparkasse_camt", "20240117-12345678-umsatz.CSV", _lines(
            '"Buchungstag";"Valutadatum";"Buchungstext";"Verwendungszweck";'
            '"Beguenstigter/Zahlungspflichtiger";"Kontonummer/IBAN";"BIC (SWIFT-Code)";"Betrag";'
            '"Waehrung";"Info"',
            '"12.01.24";"12.01.24";"FOLGELASTSCHRIFT";"Strom Januar";"Stadtwerke Beispielstadt";'
            '"DE02100100100006820101";"PBNKDEFFXXX";"-85,00";"EUR";"Umsatz gebucht"',
            '"15.01.24";"15.01.24";"GUTSCHR. UEBERWEISUNG";"Gehalt Januar";"Beispiel GmbH & Co. KG";'
            '"DE02500105170137075030";"INGDDEFFXXX";"2.345,67";"EUR";"Umsatz gebucht"',
            '"16.01.24";"16.01.24";"KARTENZAHLUNG";"Bäckerei Müller Köln";"Bäckerei Müller";"";"";'
            '"-3,20";"EUR";"Umsatz vorgemerkt"',
            '"30.02.24";"30.02.24";"LASTSCHRIFT";"Fehlbuchung";"Beispiel";"";"";"-1,00";"EUR";'
            '"Umsatz gebucht"'),
        (Tx("row 2", "2024-01-12T00:00:00+01:00", "-85.00", "EUR", "Stadtwerke Beispielstadt",
            merchant="Stadtwerke Beispielstadt", counterparty_account="DE02100100100006820101",
            props={"type": "FOLGELASTSCHRIFT", "description": "Strom Januar"}),
         Tx("row 3", "2024-01-15T00:00:00+01:00", "2345.67", "EUR", "Beispiel GmbH & Co. KG",
            merchant="Beispiel GmbH & Co. KG", counterparty_account="DE02500105170137075030"),
         Tx("row 4", "2024-01-16T00:00:00+01:00", "-3.20", "EUR", "Bäckerei Müller",
            merchant="Bäckerei Müller")),
        encoding="cp1252", timezone="Europe/Berlin", errors=(("row 5", "date"),)),
    Layout(
        "swiss", "Kontoauszug_CH9300762011623852957.csv", _lines(
            "Datum;Buchungstext;Belastung CHF;Gutschrift CHF;Valuta;Saldo CHF",
            "01.02.2024;Einkauf Beispiel-Markt Zürich;45.90;;01.02.2024;1'234.50",
            "05.02.2024;Lohn Beispiel AG;;5’600.00;05.02.2024;6'834.50",
            "10.02.2024;Miete Februar;2'150.00;;10.02.2024;4'684.50",
            ";Schlusssaldo;;;;4'684.50"),
        (Tx("row 2", "2024-02-01T00:00:00+00:00", "-45.90", "CHF", "Einkauf Beispiel-Markt Zürich",
            props={"balance": "1234.50"}),
         Tx("row 3", "2024-02-05T00:00:00+00:00", "5600.00", "CHF", "Lohn Beispiel AG"),
         Tx("row 4", "2024-02-10T00:00:00+00:00", "-2150.00", "CHF", "Miete Februar",
            props={"posted_at": "2024-02-10T00:00:00"}))),
    Layout(
        "schwab", "Checking_XXX1234_Transactions_20240116.csv", _lines(
            '"Transactions  for Checking account ...1234 as of 01/16/2024 10:00:00 AM ET"',
            '"Date","Type","Check #","Description","Withdrawal (-)","Deposit (+)","RunningBalance"',
            '"01/12/2024","ATM","","ATM WITHDRAWAL EXAMPLE BANK 0112","$200.00","","$1,034.56"',
            '"01/10/2024","CHECK","1043","CHECK 1043","$1,250.00","","$1,234.56"',
            '"01/05/2024","DEPOSIT","","PAYROLL EXAMPLE CORP","","$2,484.56","$2,484.56"',
            '"Total","","","","$1,450.00","$2,484.56",""'),
        # "$" names no currency: in a US import it is read as US dollars, marked assumed.
        (Tx("row 3", "2024-01-12T00:00:00-05:00", "-200.00", "USD", "ATM WITHDRAWAL EXAMPLE BANK 0112",
            props={"balance": "1034.56", "type": "ATM", "currency_assumed": True}),
         Tx("row 4", "2024-01-10T00:00:00-05:00", "-1250.00", "USD", "CHECK 1043",
            props={"reference": "1043", "currency_assumed": True}),
         Tx("row 5", "2024-01-05T00:00:00-05:00", "2484.56", "USD", "PAYROLL EXAMPLE CORP")),
        timezone="America/New_York"),
    Layout(
        "chase", "Chase1234_Activity_20240116.CSV", _lines(
            "Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #",
            "DEBIT,01/16/2024,EXAMPLE COFFEE 1234 SEATTLE WA,-5.75,DEBIT_CARD,1234.56,,",
            "CREDIT,01/12/2024,EXAMPLE PAYROLL PPD ID: 1234567890,2100.00,ACH_CREDIT,1240.31,,",
            "CHECK,01/10/2024,CHECK 1042,-200.00,CHECK_PAID,-859.69,1042,",
            "DSLIP,01/09/2024,DEPOSIT ID NUMBER 123456,300.00,DEPOSIT,-659.69,,"),
        (Tx("row 2", "2024-01-16T00:00:00-05:00", "-5.75", None, "EXAMPLE COFFEE 1234 SEATTLE WA",
            props={"type": "DEBIT_CARD", "balance": "1234.56"}),
         Tx("row 3", "2024-01-12T00:00:00-05:00", "2100.00", None,
            "EXAMPLE PAYROLL PPD ID: 1234567890"),
         Tx("row 4", "2024-01-10T00:00:00-05:00", "-200.00", None, "CHECK 1042",
            props={"reference": "1042"}),
         Tx("row 5", "2024-01-09T00:00:00-05:00", "300.00", None, "DEPOSIT ID NUMBER 123456")),
        timezone="America/New_York"),
    Layout(
        "bank_of_america", "stmt.csv", _lines(
            "Description,,Summary Amt.",
            'Beginning balance as of 01/01/2024,,"1,000.00"',
            'Total credits,,"2,500.00"',
            'Total debits,,"-1,245.67"',
            'Ending balance as of 01/31/2024,,"2,254.33"',
            "",
            "Date,Description,Amount,Running Bal.",
            '01/01/2024,Beginning balance as of 01/01/2024,,"1,000.00"',
            '01/02/2024,"EXAMPLE EMPLOYER DES:PAYROLL ID:XXXXX12345 PPD","2,500.00","3,500.00"',
            '01/05/2024,"CHECKCARD 0104 EXAMPLE GROCERY SEATTLE WA","-45.67","3,454.33"',
            '01/20/2024,"Online Banking transfer to CHK 5678","-1,200.00","2,254.33"'),
        (Tx("row 9", "2024-01-02T00:00:00-08:00", "2500.00", None,
            "EXAMPLE EMPLOYER DES:PAYROLL ID:XXXXX12345 PPD", props={"balance": "3500.00"}),
         Tx("row 10", "2024-01-05T00:00:00-08:00", "-45.67", None,
            "CHECKCARD 0104 EXAMPLE GROCERY SEATTLE WA"),
         Tx("row 11", "2024-01-20T00:00:00-08:00", "-1200.00", None,
            "Online Banking transfer to CHK 5678")),
        timezone="America/Los_Angeles"),
    Layout(
        "amex", "activity.csv", _lines(
            "Date,Description,Card Member,Account #,Amount",
            "01/12/2024,EXAMPLE COFFEE SHOP NEW YORK NY,JANE Q EXAMPLE,-41006,4.75",
            "01/14/2024,ONLINE PAYMENT - THANK YOU,JANE Q EXAMPLE,-41006,-500.00",
            '01/15/2024,EXAMPLE AIRLINES 0123456789,JOHN EXAMPLE,-42004,"1,234.56"'),
        (Tx("row 2", "2024-01-12T00:00:00+00:00", "-4.75", None, "EXAMPLE COFFEE SHOP NEW YORK NY",
            merchant="EXAMPLE COFFEE SHOP NEW YORK NY", card="•••• 1006", holder="JANE Q EXAMPLE"),
         Tx("row 3", "2024-01-14T00:00:00+00:00", "500.00", None, "ONLINE PAYMENT - THANK YOU",
            merchant="ONLINE PAYMENT - THANK YOU", card="•••• 1006", holder="JANE Q EXAMPLE"),
         Tx("row 4", "2024-01-15T00:00:00+00:00", "-1234.56", None, "EXAMPLE AIRLINES 0123456789",
            merchant="EXAMPLE AIRLINES 0123456789", card="•••• 2004", holder="JOHN EXAMPLE"))),
    Layout(
        "citi", "Citi_Card_Export.CSV", _lines(
            "Status,Date,Description,Debit,Credit",
            'Cleared,01/12/2024,"EXAMPLE HARDWARE STORE 123 AUSTIN TX",54.32,',
            'Cleared,01/14/2024,"ONLINE PAYMENT, THANK YOU",,-250.00',
            'Cleared,01/15/2024,"EXAMPLE STREAMING SVC 800-555-0100 CA",15.99,',
            "Status,Date,Description,Debit,Credit"),
        (Tx("row 2", "2024-01-12T00:00:00+00:00", "-54.32", None,
            "EXAMPLE HARDWARE STORE 123 AUSTIN TX", props={"status": "Cleared"}),
         Tx("row 3", "2024-01-14T00:00:00+00:00", "250.00", None, "ONLINE PAYMENT, THANK YOU"),
         Tx("row 4", "2024-01-15T00:00:00+00:00", "-15.99", None,
            "EXAMPLE STREAMING SVC 800-555-0100 CA"))),
    Layout(
        "discover", "Discover-Statement-20240116.csv", _lines(
            "Trans. Date,Post Date,Description,Amount,Category",
            "01/12/2024,01/13/2024,EXAMPLE GROCERY #123 CHICAGO IL,67.89,Supermarkets",
            "01/14/2024,01/14/2024,INTERNET PAYMENT - THANK YOU,-300.00,Payments and Credits",
            "01/15/2024,01/16/2024,EXAMPLE GAS STATION 456 CHICAGO IL,40.00,Gasoline",
            "01/16/2024,01/17/2024,EXAMPLE BAD ROW,12.34.56,Merchandise"),
        (Tx("row 2", "2024-01-12T00:00:00+00:00", "-67.89", "USD", "EXAMPLE GROCERY #123 CHICAGO IL",
            merchant="EXAMPLE GROCERY #123 CHICAGO IL",
            props={"posted_at": "2024-01-13T00:00:00", "category": "Supermarkets"}),
         Tx("row 3", "2024-01-14T00:00:00+00:00", "300.00", "USD", "INTERNET PAYMENT - THANK YOU",
            merchant="INTERNET PAYMENT - THANK YOU"),
         Tx("row 4", "2024-01-15T00:00:00+00:00", "-40.00", "USD",
            "EXAMPLE GAS STATION 456 CHICAGO IL", merchant="EXAMPLE GAS STATION 456 CHICAGO IL")),
        errors=(("row 5", "amount"),)),
    Layout(
        "xero", "xero-statement-import.csv", _lines(
            "*Date,*Amount,Payee,Description,Reference,Check Number",
            "12/01/2024,(45.00),Example Stationers Ltd,Printer paper,INV-0042,",
            "13/01/2024,1200.00,Example Client Ltd,Invoice payment,INV-0043,",
            "15/01/2024,-89.95,Example Telecom,Phone bill,,000123"),
        (Tx("row 2", "2024-01-12T00:00:00+00:00", "-45.00", None, "Example Stationers Ltd",
            merchant="Example Stationers Ltd",
            props={"description": "Printer paper", "reference": "INV-0042"}),
         Tx("row 3", "2024-01-13T00:00:00+00:00", "1200.00", None, "Example Client Ltd",
            merchant="Example Client Ltd"),
         Tx("row 4", "2024-01-15T00:00:00+00:00", "-89.95", None, "Example Telecom",
            merchant="Example Telecom")),
        region="NZ"),
    Layout(
        "yodlee_unicode_text", "yodlee_transactions.txt", _lines(
            "Transaction Date\tPost Date\tOriginal Description\tMerchant\tCategory\tBase Type\t"
            "Amount\tCurrency\tAccount Number\tStatus",
            "12 Jan 2024\t13 Jan 2024\tEXAMPLE COFFEE #123 SEATTLE WA\tExample Coffee\tRestaurants\t"
            "DEBIT\t4.75\tUSD\txxxx5678\tPOSTED",
            "14 Jan 2024\t14 Jan 2024\tPAYROLL EXAMPLE CORP\tExample Corp\tPaychecks/Salary\tCREDIT\t"
            "2100.00\tUSD\txxxx5678\tPOSTED",
            "15 Jan 2024\t16 Jan 2024\tEXAMPLE UTILITY AUTOPAY\tExample Utility\tUtilities\tDEBIT\t"
            "89.10\tUSD\txxxx5678\tPOSTED"),
        (Tx("row 2", "2024-01-12T00:00:00+00:00", "-4.75", "USD", "Example Coffee",
            merchant="Example Coffee", account="xxxx5678",
            props={"description": "EXAMPLE COFFEE #123 SEATTLE WA", "type": "DEBIT"}),
         Tx("row 3", "2024-01-14T00:00:00+00:00", "2100.00", "USD", "Example Corp",
            merchant="Example Corp", account="xxxx5678"),
         Tx("row 4", "2024-01-15T00:00:00+00:00", "-89.10", "USD", "Example Utility",
            merchant="Example Utility", account="xxxx5678")),
        encoding="utf-16-le-bom", newline="\r\n"),
    Layout(
        "payoneer", "Payoneer_Transactions.csv", _lines(
            "Transaction Date,Transaction Time,Time Zone,Transaction ID,Description,Credit Amount,"
            "Debit Amount,Currency,Transfer Amount,Transfer Amount Currency,Status,Running Balance,"
            "Additional Description,Store Name,Source,Target",
            '"Jan 12, 2024",14:35:10,UTC+02:00,PO-000000001,Payment from Example Marketplace,'
            '"1,250.00",,USD,,,Completed,"1,250.00",,,Example Marketplace,',
            '"Jan 13, 2024",09:05:00,UTC+02:00,PO-000000002,Withdrawal to bank account,,"1,000.00",'
            'USD,925.10,EUR,Completed,250.00,,,,Bank account ***4321',
            '"Jan 15, 2024",22:10:45,UTC+02:00,PO-000000003,Card purchase,,12.99,USD,,,Completed,'
            '237.01,,Example Software Inc,,'),
        (Tx("row 2", "2024-01-12T14:35:10+02:00", "1250.00", "USD", "Payment from Example Marketplace",
            props={"reference": "PO-000000001", "status": "Completed", "balance": "1250.00"}),
         Tx("row 3", "2024-01-13T09:05:00+02:00", "-1000.00", "USD", "Withdrawal to bank account"),
         Tx("row 4", "2024-01-15T22:10:45+02:00", "-12.99", "USD", "Example Software Inc",
            merchant="Example Software Inc", props={"description": "Card purchase"}))),
    Layout(
        "outbank", "Outbank_Export_20240116.csv", _lines(
            "#;Account Name;Account;Bank;Date;Value Date;Amount;Currency;Name;Number;Bank;Reason;"
            "Category;Subcategory;Category-Path;Tags;Note;Posting Text",
            "1;Girokonto;DE12500105170648489890;ING;12.01.2024;12.01.2024;-45,67;EUR;"
            "Beispiel Supermarkt GmbH;;;Einkauf;Lebensmittel;;Lebensmittel;;;Lastschrift",
            "2;Girokonto;DE12500105170648489890;ING;13.01.2024;13.01.2024;12,50-;EUR;Beispiel Kiosk;"
            ";;Zeitschrift;Freizeit;;Freizeit;;;Kartenzahlung",
            "3;Girokonto;DE12500105170648489890;ING;15.01.2024;15.01.2024;2 500,00;EUR;"
            "Erika Mustermann;DE89370400440532013000;COBADEFFXXX;Umbuchung;;;;;;Gutschrift"),
        (Tx("row 2", "2024-01-12T00:00:00+01:00", "-45.67", "EUR", "Beispiel Supermarkt GmbH",
            merchant="Beispiel Supermarkt GmbH", account="DE12500105170648489890",
            props={"description": "Einkauf", "type": "Lastschrift"}),
         Tx("row 3", "2024-01-13T00:00:00+01:00", "-12.50", "EUR", "Beispiel Kiosk",
            merchant="Beispiel Kiosk", account="DE12500105170648489890"),
         Tx("row 4", "2024-01-15T00:00:00+01:00", "2500.00", "EUR", "Erika Mustermann",
            merchant="Erika Mustermann", account="DE12500105170648489890")),
        timezone="Europe/Berlin"),
    Layout(
        "paypal_de", "Download.CSV", _lines(
            '"Datum","Uhrzeit","Zeitzone","Name","Typ","Status","Währung","Brutto","Gebühr","Netto",'
            '"Absender E-Mail-Adresse","Empfänger E-Mail-Adresse","Transaktionscode","Guthaben"',
            '"12.01.2024","14:35:10","MEZ","Beispiel Shop GmbH","Website-Zahlung","Abgeschlossen",'
            '"EUR","-1.234,56","0,00","-1.234,56","erika@example.org","shop@example.com",'
            '"1AB23456CD789012E","100,00"',
            '"13.01.2024","09:00:00","MEZ","Max Beispiel","Zahlung erhalten","Abgeschlossen","EUR",'
            '"50,00","-1,70","48,30","max@example.com","erika@example.org","2AB23456CD789012F",'
            '"148,30"',
            '"14.07.2024","18:20:00","MESZ","Beispiel Verlag","Allgemeine Abbuchung",'
            '"Abgeschlossen","EUR","-9,99","0,00","-9,99","erika@example.org","verlag@example.com",'
            '"3AB23456CD789012G","138,31"'),
        (Tx("row 2", "2024-01-12T14:35:10+01:00", "-1234.56", "EUR", "Beispiel Shop GmbH",
            merchant="Beispiel Shop GmbH",
            props={"reference": "1AB23456CD789012E", "type": "Website-Zahlung",
                   "status": "Abgeschlossen", "fee": "0.00", "balance": "100.00"}),
         Tx("row 3", "2024-01-13T09:00:00+01:00", "50.00", "EUR", "Max Beispiel",
            merchant="Max Beispiel", props={"fee": "-1.70"}),
         Tx("row 4", "2024-07-14T18:20:00+02:00", "-9.99", "EUR", "Beispiel Verlag",
            merchant="Beispiel Verlag")),
        encoding="utf-8-sig"),
    Layout(
        "paypal_fr", "Download.CSV", _lines(
            '"Date","Heure","Fuseau horaire","Nom","Type","État","Devise","Brut","Frais","Net",'
            '"De l\'adresse email","À l\'adresse email","Numéro de transaction","Solde"',
            f'"12/01/2024","10:00:00","CET","Boutique Exemple","Paiement sur site marchand",'
            f'"Terminé","EUR","-1{NBSP}234,56","0,00","-1{NBSP}234,56","jeanne@example.org",'
            f'"boutique@example.com","4AB23456CD789012H","15,44"',
            '"13/01/2024","11:30:00","CET","Jean Exemple","Paiement reçu","Terminé","EUR","75,00",'
            '"-2,40","72,60","jean@example.com","jeanne@example.org","5AB23456CD789012J","88,04"',
            f'"20/07/2024","16:45:00","CEST","Agence Exemple","Paiement sur site marchand",'
            f'"Terminé","EUR","-2{NNBSP}000,00","0,00","-2{NNBSP}000,00","jeanne@example.org",'
            f'"agence@example.com","6AB23456CD789012K","-1{NBSP}911,96"'),
        (Tx("row 2", "2024-01-12T10:00:00+01:00", "-1234.56", "EUR", "Boutique Exemple",
            merchant="Boutique Exemple",
            props={"reference": "4AB23456CD789012H", "status": "Terminé", "balance": "15.44"}),
         Tx("row 3", "2024-01-13T11:30:00+01:00", "75.00", "EUR", "Jean Exemple",
            merchant="Jean Exemple", props={"fee": "-2.40"}),
         Tx("row 4", "2024-07-20T16:45:00+02:00", "-2000.00", "EUR", "Agence Exemple",
            merchant="Agence Exemple", props={"balance": "-1911.96"})),
        encoding="utf-8-sig"),
    Layout(
        "wise", "statement_12345678_EUR_2024-01-01_2024-01-31.csv", _lines(
            '"TransferWise ID",Date,Amount,Currency,Description,"Payment Reference","Running Balance",'
            '"Exchange From","Exchange To","Exchange Rate","Payer Name","Payee Name",'
            '"Payee Account Number",Merchant,"Card Last Four Digits","Card Holder Full Name",'
            'Attachment,Note,"Total fees"',
            'CARD-1234567,12-01-2024,-23.40,EUR,"Card transaction of 23.40 EUR issued by Example Cafe '
            'BERLIN",,976.60,,,,,,,"Example Cafe",1111,"Erika Mustermann",,,0.00',
            'TRANSFER-2345678,13-01-2024,-150.00,EUR,"Sent money to Alex Example","Rent share",826.60,'
            ',,,,"Alex Example",DE89370400440532013000,,,,,,0.00',
            'TRANSFER-3456789,15-01-2024,500.00,EUR,"Received money from Sam Example",Refund,1326.60,'
            ',,,"Sam Example",,,,,,,,0.00'),
        (Tx("row 2", "2024-01-12T00:00:00+00:00", "-23.40", "EUR", "Example Cafe",
            merchant="Example Cafe", card="•••• 1111", holder="Erika Mustermann",
            props={"reference": "CARD-1234567", "fee": "0.00", "balance": "976.60"}),
         Tx("row 3", "2024-01-13T00:00:00+00:00", "-150.00", "EUR", "Sent money to Alex Example",
            counterparty_account="DE89370400440532013000"),
         Tx("row 4", "2024-01-15T00:00:00+00:00", "500.00", "EUR",
            "Received money from Sam Example"))),
)

_ROLES = {"merchant": "merchant", "payment_card": "card", "cardholder": "holder",
          "account": "account", "counterparty_account": "counterparty_account"}


def _row_number(ref: str | None) -> int:
    return int((ref or "row 0").split()[-1])


def _as_seen(event: Any, expected: Tx) -> Tx:
    """The event as an investigator reads it back, in the shape of the expectation."""
    roles: dict[str, str] = {}
    for party in event.parties:
        if party.role in _ROLES:
            roles[_ROLES[party.role]] = party.label
    props = {k: event.properties.get(k) for k in expected.props}
    return Tx(event.source_ref, event.occurred_at.isoformat(), event.properties["amount"],
              event.properties.get("currency"), event.title, props=props, **roles)


@pytest.fixture
def case_id(ws) -> int:
    return ws.create_case("LAY-1", "Statement layouts").id


def import_layout(ws, case_id: int, tmp_path: Path, layout: Layout) -> tuple[Any, list[Any]]:
    """Import a layout's file with no profile chosen and check what every layout must give:
    the format detected, the row errors, and each transaction as the layout expects it.
    Returns the import's result and its events in row order."""
    path = layout.write(tmp_path)
    assert detect(path).format == "transactions_table"
    options = ImportOptions(timezone=layout.timezone, default_region=layout.region)
    result = run_import(ws, case_id, path, options=options, skip_bad_rows=bool(layout.errors))
    assert [(e.row, e.field) for e in result.errors] == list(layout.errors)
    assert result.events == len(layout.txs)
    events = sorted(ws.list_events(case_id, limit=None), key=lambda e: _row_number(e.source_ref))
    assert [_as_seen(e, tx) for e, tx in zip(events, layout.txs)] == list(layout.txs)
    assert len(events) == len(layout.txs)
    return result, events


@pytest.mark.parametrize("layout", LAYOUTS, ids=[lay.id for lay in LAYOUTS])
def test_layout_imports_without_a_profile(ws, case_id, tmp_path: Path, layout: Layout) -> None:
    _, events = import_layout(ws, case_id, tmp_path, layout)
    # Naive statement times were read in the import's zone, and the event says so.
    assumed = {e.properties.get("time_zone_assumed") for e in events}
    if all(tx.when[11:19] == "00:00:00" for tx in layout.txs):
        assert assumed == {layout.timezone or "UTC"}


def test_bad_rows_stop_the_import_naming_file_row_and_field(ws, case_id, tmp_path: Path) -> None:
    sparkasse = next(lay for lay in LAYOUTS if lay.id == "sparkasse_camt")
    path = sparkasse.write(tmp_path)
    before = ws.counts()
    with pytest.raises(BadInput) as caught:
        run_import(ws, case_id, path, options=ImportOptions(timezone="Europe/Berlin"))
    message = str(caught.value)
    assert path.name in message and "row 5" in message and "date" in message
    assert "30.02.24" in message
    assert ws.counts() == before


_WELLS_FARGO = _lines(
    '"01/12/2024","-45.67","*","","PURCHASE AUTHORIZED ON 01/10 EXAMPLE GROCERY SEATTLE WA '
    'S000000000000000 CARD 1234"',
    '"01/15/2024","2100.00","*","","EXAMPLE PAYROLL DIRECT DEP 240115"',
    '"01/16/2024","-12.00","*","1043","CHECK # 1043"')


def test_headerless_statement_of_no_known_shape_asks_for_a_mapping_profile(
        ws, case_id, tmp_path: Path) -> None:
    # Date, amount, then two texts: no built-in layout without a header has these columns.
    path = tmp_path / "export.csv"
    path.write_text(_lines("01/12/2024,-45.67,EXAMPLE GROCERY,Groceries",
                           "01/15/2024,2100.00,EXAMPLE PAYROLL,Income"), encoding="utf-8")
    before = ws.counts()
    with pytest.raises(BadInput) as caught:
        run_import(ws, case_id, path)
    message = str(caught.value)
    assert "export.csv" in message and "mapping profile" in message
    assert "no header" in message and "fit none" in message
    # The candidates are named, so the investigator can pick the right one.
    assert "wellsfargo_headerless" in message and "td_headerless" in message
    assert ws.counts() == before


def test_headerless_statement_fitting_two_layouts_is_refused_naming_both(
        ws, case_id, tmp_path: Path) -> None:
    # One row whose last cell is both a card number (CIBC card) and an amount (a TD
    # balance): nothing tells the two apart, so nothing is guessed.
    path = tmp_path / "one.csv"
    path.write_text(_lines("2024-01-12,EXAMPLE STORE,45.67,,5555555555554444"),
                    encoding="utf-8")
    before = ws.counts()
    with pytest.raises(BadInput) as caught:
        run_import(ws, case_id, path)
    message = str(caught.value)
    assert "more than one" in message and "mapping profile" in message
    assert "(td_headerless, cibc_card_headerless)" in message
    assert ws.counts() == before


@pytest.mark.parametrize("explicit", [False, True], ids=["by row shape", "chosen"])
def test_headerless_wells_fargo_statement(ws, case_id, tmp_path: Path, explicit: bool) -> None:
    path = tmp_path / "Checking1.csv"
    path.write_text(_WELLS_FARGO, encoding="utf-8")
    options = ImportOptions(profile={"name": "wellsfargo_headerless"} if explicit else None)
    result = run_import(ws, case_id, path, options=options)
    assert result.events == 3
    events = sorted(ws.list_events(case_id, limit=None), key=lambda e: _row_number(e.source_ref))
    assert [(e.source_ref, e.occurred_at.isoformat(), e.properties["amount"],
             e.properties["currency"], e.title.split()[0]) for e in events] == [
        ("row 1", "2024-01-12T00:00:00+00:00", "-45.67", "USD", "PURCHASE"),
        ("row 2", "2024-01-15T00:00:00+00:00", "2100.00", "USD", "EXAMPLE"),
        ("row 3", "2024-01-16T00:00:00+00:00", "-12.00", "USD", "CHECK")]
    assert events[2].properties.get("reference") == "1043"
    assert BUILTIN_PROFILES["wellsfargo_headerless"].has_header is False
    # A layout recognised by its rows says so on each transaction; a chosen one needs not.
    chosen_by = {(e.properties.get("profile"), e.properties.get("profile_chosen_by"))
                 for e in events}
    assert chosen_by == ({(None, None)} if explicit else {("wellsfargo_headerless", "row shape")})
