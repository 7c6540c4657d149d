"""More statement exports whose real samples the importer first got wrong, imported with no
profile.

Each case rebuilds the structure of a producer's real export (header names and order, lines
above and below the table, separators, quoting, encoding, date and amount writing) with
made-up people, accounts and amounts: SEB Estonia's English export (a "(D/C)" column beside
a "Type" column), Fintro's (BNP Paribas Fortis) Belgian account and Visa exports, Livebank's
Austrian export (the text spilling over cells past the header), Sparda-Bank's German export
(a note line under the table), Fio banka's Czech exports, mBank's Polish exports and
Satispay's Italian export. Same pattern as ``test_finance_csv_real_variants``: through
``run_import`` into an encrypted case database, read back the way an investigator sees it.
The last tests guard layouts that were already read right, or rightly refused.
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
from workstation.ingest.pipeline import detect, run_import
from workstation.ingest.records import ImportOptions

TALLINN, BRUSSELS, VIENNA, BERLIN = "Europe/Tallinn", "Europe/Brussels", "Europe/Vienna", "Europe/Berlin"
PRAGUE, WARSAW, ROME, LONDON = "Europe/Prague", "Europe/Warsaw", "Europe/Rome", "Europe/London"

_SEB_EE = Layout(
    # The amount is unsigned; "(D/C)" says which way it went, beside a "Type" column that
    # gives the kind of payment (MK, TT). The other side is the "beneficiary" both ways.
    # The header's last name ends in a space; lines end in a separator.
    "seb_ee", "statement.csv", _lines(
        "Account;Document No.;Date;Beneficiary's account;\"Beneficiary's name\";BIC/SWIFT;Type;"
        "(D/C);Amount;Reference no.;Archive ID;\"Description\";Commission fee;Currency;"
        "ID code/Registry code ",
        '"EE382200221020145685";"";"04.07.2024";"";"Example Pank";"";"TT";"D";2,95;"";'
        '"RO0000000001";"Monthly package fee";0;"EUR";',
        '"EE382200221020145685";"CLR00000002";"05.07.2024";"";"EXAMPLE MARKET\\TALLINN";'
        '"EEUHEE2X";"MK";"D";1013,56;"";"RO0000000002";"04/07/2024 16:52 kaart...000040 '
        'EXAMPLE MARKET/TALLINN/EST #000001";0;"EUR";',
        '"EE382200221020145685";"";"06.07.2024";"EE471000001020145685";"Mari Näidis";"HABAEE2X";'
        '"MK";"C";30,00;"";"RO0000000003";"Invoice 12";0;"EUR";"49001010000"',
        ""),
    (Tx("row 2", "2024-07-04T00:00:00+03:00", "-2.95", "EUR", "Example Pank",
        merchant="Example Pank", account="EE382200221020145685",
        props={"type": "D", "reference": "RO0000000001", "description": "Monthly package fee"}),
     Tx("row 3", "2024-07-05T00:00:00+03:00", "-1013.56", "EUR", "EXAMPLE MARKET\\TALLINN",
        merchant="EXAMPLE MARKET\\TALLINN", account="EE382200221020145685",
        props={"columns": {"Document No.": "CLR00000002", "BIC/SWIFT": "EEUHEE2X",
                           "Type": "MK"}}),
     Tx("row 4", "2024-07-06T00:00:00+03:00", "30.00", "EUR", "Mari Näidis",
        merchant="Mari Näidis", account="EE382200221020145685",
        counterparty_account="EE471000001020145685", props={"type": "C"})),
    timezone=TALLINN, region="EE")

_FINTRO = Layout(
    # Dutch headers: "Uitvoeringsdatum" (when it was done) and "Valutadatum"; the account's
    # currency as "Valuta rekening"; the card and merchant only inside "Details".
    "fintro", "Fintro_export.csv", _lines(
        "Volgnummer;Uitvoeringsdatum;Valutadatum;Bedrag;Valuta rekening;Details;Rekeningnummer",
        "2024-0003;27/02/2024;26/02/2024;-191,13;EUR;MET KAART 5555 04XX XXXX X100 2 EXAMPLE "
        "SHOP 26/02/2024 UITGEVOERD OP 26-02 VALUTADATUM : 26/02/2024;BE68539007547034",
        "2024-0002;25/02/2024;27/02/2024;-1.012,48;EUR;EXAMPLE ZIEKENHUIS BE71096123456769 VIA "
        "MOBILE BANKING MEDEDELING : 000000000097 VALUTADATUM : 27/02/2024;BE68539007547034",
        "2024-0001;24/02/2024;24/02/2024;250,00;EUR;STORTING VAN JAN VOORBEELD VALUTADATUM : "
        "24/02/2024;BE68539007547034"),
    (Tx("row 2", "2024-02-27T00:00:00+01:00", "-191.13", "EUR",
        "MET KAART 5555 04XX XXXX X100 2 EXAMPLE SHOP 26/02/2024 UITGEVOERD OP 26-02 "
        "VALUTADATUM : 26/02/2024", account="BE68539007547034",
        props={"posted_at": "2024-02-26T00:00:00", "reference": "2024-0003"}),
     Tx("row 3", "2024-02-25T00:00:00+01:00", "-1012.48", "EUR",
        "EXAMPLE ZIEKENHUIS BE71096123456769 VIA MOBILE BANKING MEDEDELING : 000000000097 "
        "VALUTADATUM : 27/02/2024", account="BE68539007547034",
        props={"posted_at": "2024-02-27T00:00:00"}),
     Tx("row 4", "2024-02-24T00:00:00+01:00", "250.00", "EUR",
        "STORTING VAN JAN VOORBEELD VALUTADATUM : 24/02/2024", account="BE68539007547034")),
    encoding="cp1252", timezone=BRUSSELS, region="BE")

_FINTRO_VISA = Layout(
    # Each card transaction takes two lines: the dates and amount, then a line with only
    # the merchant and "Name##value" cells.
    "fintro_visa", "Fintro_visa.csv", _lines(
        "Uitvoeringsdatum;Valutadatum;Bedrag;Valuta rekening;Details;Wisselkoers;Gerelateerde kost",
        "30/01/2024;31/01/2024;-39,28;EUR;;;",
        ";;;;Example Dorfladen         CH - 00000  WENGEN;Wisselkoers##1,0501528;"
        "Gerelateerde kost##+0,00",
        "28/01/2024;29/01/2024;-23,99;EUR;;;",
        ";;;;Example Kiosk             CH - 04133  PRATTELN;Wisselkoers##;Gerelateerde kost##",
        "07/01/2024;08/01/2024;+1,50;EUR;;;",
        ";;;;PP*EXAMPLE                GB - 00000  35300000001;Wisselkoers##;"
        "Gerelateerde kost##"),
    (Tx("row 2", "2024-01-30T00:00:00+01:00", "-39.28", "EUR",
        "Example Dorfladen         CH - 00000  WENGEN",
        props={"posted_at": "2024-01-31T00:00:00",
               "columns": {"Wisselkoers": "Wisselkoers##1,0501528",
                           "Gerelateerde kost": "Gerelateerde kost##+0,00"}}),
     Tx("row 4", "2024-01-28T00:00:00+01:00", "-23.99", "EUR",
        "Example Kiosk             CH - 04133  PRATTELN"),
     Tx("row 6", "2024-01-07T00:00:00+01:00", "1.50", "EUR",
        "PP*EXAMPLE                GB - 00000  35300000001")),
    encoding="cp1252", timezone=BRUSSELS, region="BE")

_LIVEBANK = Layout(
    # The "Umsatztext" lines are written as separate cells after the header's last column.
    "livebank_at", "umsaetze.csv", _lines(
        "Kontonummer;Auszugsnummer;Buchungsdatum;Valutadatum;Umsatzzeit;Zahlungsreferenz;Waehrung;"
        "Betrag;Buchungstext;Umsatztext",
        '12345678;1;2024-07-03;2024-07-03;2024-07-03-08.21.36.47192;"";EUR;150,00;'
        '"Datenträger-Umsatz";Example GmbH;"Gehalt Juli";"REF: 000000000000000000000001"',
        '12345678;1;2024-07-01;2024-07-01;2024-07-01-09.08.26.618116;"";EUR;0,00;"Verständigung";'
        '"Änderungsmitteilung";"Bonuszins 0,60 % ab 01.07.2024";"Details siehe example.org"',
        '12345678;1;2024-06-10;2024-06-10;2024-06-10-10.09.26.114844;"";EUR;-1.100,00;'
        '"Internetauftrag";"Miete Juni";"Max Beispiel"'),
    (Tx("row 2", "2024-07-03T00:00:00+02:00", "150.00", "EUR",
        "Example GmbH | Gehalt Juli | REF: 000000000000000000000001", account="12345678",
        props={"type": "Datenträger-Umsatz", "posted_at": "2024-07-03T00:00:00"}),
     Tx("row 3", "2024-07-01T00:00:00+02:00", "0.00", "EUR",
        "Änderungsmitteilung | Bonuszins 0,60 % ab 01.07.2024 | Details siehe example.org",
        account="12345678"),
     Tx("row 4", "2024-06-10T00:00:00+02:00", "-1100.00", "EUR", "Miete Juni | Max Beispiel",
        account="12345678", props={"type": "Internetauftrag"})),
    timezone=VIENNA, region="AT")

_SPARDA = Layout(
    # A title, the holder and a one-row summary table above the header; a note line
    # ("* ...") under the table; "Wertstellungstag" is the value date.
    "sparda", "umsaetze-1234567-2024-02-13-12-00-00.csv", _lines(
        '"Kontoumsätze SpardaGiro Online"',
        "",
        '"Kontoinhaber:";"Erika Beispiel"',
        '"Kundennummer:";"1234567"',
        "",
        '"Umsätze ab";"Enddatum";"Kontonummer";"Saldo";"Währung"',
        '"01.01.2024";"15.02.2024";"1234567";"12.345,67";"EUR"',
        '"Weitere gewählte Suchoptionen:";"keine"',
        "",
        "",
        '"Buchungstag";"Wertstellungstag";"Verwendungszweck";"Umsatz";"Währung"',
        '"20.01.2024";"22.01.2024";"01234 EXAMPLE BURGER 19.01.2024 19.20.53 EUR 11,99 GIROCARD";'
        '"-11,99";"EUR";""',
        '"29.01.2024";"29.01.2024";"Example Arbeit GmbH SEPA-LOHN/GEHALT SVWZ+ Gehalt 01.2024";'
        '"2.432,10";"EUR";""',
        '"* noch nicht ausgeführte Umsätze"'),
    (Tx("row 12", "2024-01-20T00:00:00+01:00", "-11.99", "EUR",
        "01234 EXAMPLE BURGER 19.01.2024 19.20.53 EUR 11,99 GIROCARD",
        props={"posted_at": "2024-01-22T00:00:00"}),
     Tx("row 13", "2024-01-29T00:00:00+01:00", "2432.10", "EUR",
        "Example Arbeit GmbH SEPA-LOHN/GEHALT SVWZ+ Gehalt 01.2024")),
    encoding="cp1252", timezone=BERLIN, region="DE")

_FIO_API = Layout(
    # Fio banka's CSV statement: "key;value" lines (the account, its IBAN, balances,
    # period) above the table; Czech headers; "Objem" is the signed amount.
    "fio_cz", "Fio_2345678901.csv", _lines(
        "accountId;2345678901",
        "bankId;2010",
        "currency;CZK",
        "iban;CZ6520100000002345678901",
        "bic;FIOBCZPPXXX",
        "openingBalance;4789,51",
        "closingBalance;27990,51",
        "dateStart;01.06.2024",
        "dateEnd;30.06.2024",
        "idFrom;20000000001",
        "idTo;20000000003",
        "",
        "ID pohybu;Datum;Objem;Měna;Protiúčet;Název protiúčtu;Kód banky;Název banky;KS;VS;SS;"
        "Uživatelská identifikace;Zpráva pro příjemce;Typ;Provedl;Upřesnění;Komentář;BIC;"
        "ID pokynu",
        "20000000001;02.06.2024;-1500,00;CZK;2400000001;Jan Příklad;2010;Fio banka, a.s.;0308;"
        "123;;Nájem;Nájem červen;Bezhotovostní platba;;;;;30000000001",
        "20000000002;15.06.2024;25000,00;CZK;1000000001;Example s.r.o.;0800;"
        "Česká spořitelna, a.s.;;;;Mzda;Mzda 06/2024;Bezhotovostní příjem;;;;;",
        "20000000003;16.06.2024;-299,00;CZK;;;;;;;;Nákup: EXAMPLE SHOP, Praha;;Platba kartou;"
        "Jan Příklad;299,00 CZK;;;"),
    (Tx("row 14", "2024-06-02T00:00:00+02:00", "-1500.00", "CZK", "Jan Příklad",
        merchant="Jan Příklad", account="CZ6520100000002345678901",
        counterparty_account="2400000001",
        props={"reference": "20000000001", "description": "Nájem červen",
               "type": "Bezhotovostní platba"}),
     Tx("row 15", "2024-06-15T00:00:00+02:00", "25000.00", "CZK", "Example s.r.o.",
        merchant="Example s.r.o.", account="CZ6520100000002345678901",
        counterparty_account="1000000001"),
     Tx("row 16", "2024-06-16T00:00:00+02:00", "-299.00", "CZK", "Platba kartou",
        account="CZ6520100000002345678901",
        props={"columns": {"Uživatelská identifikace": "Nákup: EXAMPLE SHOP, Praha",
                           "Provedl": "Jan Příklad", "Upřesnění": "299,00 CZK"}})),
    timezone=PRAGUE, region="CZ")

_FIO_WEB = Layout(
    # The internet banking's export: UTF-8 with a BOM, CRLF, every value quoted.
    "fio_cz_web", "Pohyby_na_uctu-2345678901_20240601-20240630.csv", _lines(
        '"Datum";"Objem";"Měna";"Protiúčet";"Kód banky";"Zpráva pro příjemce";"Poznámka";"Typ";'
        '"VS"',
        '"02.06.2024";"-1500,00";"CZK";"2400000001";"2010";"Nájem";"Nájem červen";'
        '"Bezhotovostní platba";"123"',
        '"15.06.2024";"25000,00";"CZK";"1000000001";"0800";"Mzda";"";"Bezhotovostní příjem";""'),
    (Tx("row 2", "2024-06-02T00:00:00+02:00", "-1500.00", "CZK", "Nájem",
        counterparty_account="2400000001",
        props={"columns": {"Kód banky": "2010", "Poznámka": "Nájem červen", "VS": "123"}}),
     Tx("row 3", "2024-06-15T00:00:00+02:00", "25000.00", "CZK", "Mzda",
        counterparty_account="1000000001")),
    encoding="utf-8-sig", newline="\r\n", timezone=PRAGUE, region="CZ")

_MBANK = Layout(
    # mBank's "Lista operacji": the bank's address, the period, the accounts and a
    # per-currency summary above the table; headers start with "#"; lines end in ";"; the
    # amount carries its currency; a description may span lines inside its quotes.
    "mbank_pl", "lista_operacji_20240901_20240930.csv", _lines(
        "mBank S.A. Bankowość Detaliczna;",
        "Skrytka Pocztowa 2108;",
        "90-959 Łódź 2;",
        "",
        "#Za okres:;",
        "01.09.2024;30.09.2024;",
        "",
        "#zgodnie z wybranymi filtrami wyszukiwania;",
        "#dla rachunków:;",
        "mKonto Intensive - 61109010140000071219812874;",
        "",
        "#Waluta;#Wpływy;#Wydatki;",
        "PLN;50,00;-1 132,72;",
        "",
        "#Data operacji;#Opis operacji;#Rachunek;#Kategoria;#Kwota;",
        '2024-09-18;"EXAMPLE SKLEP  ZAKUP PRZY UŻYCIU KARTY W KRAJU          ";"Moje konto";'
        '"Żywność i chemia domowa";-118,72 PLN;;',
        '2024-09-19;"EXAMPLE PAY  WWW.EXAMPLE.COM',
        '     BLIK ZAKUP E-COMMERCE   ";"Moje konto";"Przejazdy";-1 014,00 PLN;;',
        '2024-09-19;"PRZELEW PRZYCHODZĄCY";"Moje konto";"Wpływy";50,00 PLN;;',
        ""),
    (Tx("row 16", "2024-09-18T00:00:00+02:00", "-118.72", "PLN",
        "EXAMPLE SKLEP  ZAKUP PRZY UŻYCIU KARTY W KRAJU",
        props={"category": "Żywność i chemia domowa", "account": "Moje konto"}),
     Tx("row 17", "2024-09-19T00:00:00+02:00", "-1014.00", "PLN",
        "EXAMPLE PAY  WWW.EXAMPLE.COM\r\n     BLIK ZAKUP E-COMMERCE"),
     Tx("row 18", "2024-09-19T00:00:00+02:00", "50.00", "PLN", "PRZELEW PRZYCHODZĄCY")),
    encoding="utf-8-sig", newline="\r\n", timezone=WARSAW, region="PL")

_MBANK_2 = Layout(
    # The other mBank layout: booking and operation dates, title and other side, the other
    # side's account between apostrophes ('' when there is none), and the closing balance
    # as a last line whose label stands in the amount column.
    "mbank_pl_2", "operacje.csv", _lines(
        "mBank S.A. Bankowość Detaliczna;",
        "#Za okres:;",
        "01.08.2024;31.08.2024;",
        "#Waluta;",
        "PLN;",
        "#Numer rachunku;",
        "61109010140000071219812874;",
        "#Saldo początkowe;0,00 PLN;",
        "#Data księgowania;#Data operacji;#Opis operacji;#Tytuł;#Nadawca/Odbiorca;#Numer konta;"
        "#Kwota;#Saldo po operacji;",
        "2024-08-02;2024-08-01;PRZELEW PRZYCHODZĄCY;\"Zwrot za bilety\";\"Anna Przykładowa\";"
        "'27114020040000300201355387';1 010,00;1 010,00;",
        "2024-08-03;2024-08-03;OPŁATA;\"Opłata za kartę\";\"\";'';-10,00;1 000,00;",
        ";;;;;;#Saldo końcowe;1 000,00 PLN;"),
    (Tx("row 10", "2024-08-01T00:00:00+02:00", "1010.00", None, "Anna Przykładowa",
        merchant="Anna Przykładowa", counterparty_account="27114020040000300201355387",
        props={"posted_at": "2024-08-02T00:00:00", "description": "PRZELEW PRZYCHODZĄCY",
               "columns": {"#Tytuł": "Zwrot za bilety"}}),
     Tx("row 11", "2024-08-03T00:00:00+02:00", "-10.00", None, "OPŁATA",
        props={"balance": "1000.00", "counterparty_account": None})),
    timezone=WARSAW, region="PL")

_SATISPAY = Layout(
    # Italian month abbreviations and a period after the year: "24 lug 2024. 02:59:45".
    "satispay", "satispay-statement.csv", _lines(
        "id,name,state,kind,date,amount,currency,extra info",
        '00000000-0000-4000-8000-000000000001,"Ricarica Satispay",APPROVED,BANK,'
        '"24 lug 2024. 02:59:45","30,40 ",EUR,""',
        '00000000-0000-4000-8000-000000000002,"Mario Esempio",APPROVED,P2P,'
        '"22 giu 2024. 19:45:52","-17,00 ",EUR,"Il biglietto 🎟️"',
        '00000000-0000-4000-8000-000000000003,"Caffè Esempio",APPROVED,C2B,'
        '"1 mar 2022. 09:44:27","-1.002,40 ",EUR,""'),
    (Tx("row 2", "2024-07-24T02:59:45+02:00", "30.40", "EUR", "Ricarica Satispay",
        merchant="Ricarica Satispay",
        props={"reference": "00000000-0000-4000-8000-000000000001", "status": "APPROVED"}),
     Tx("row 3", "2024-06-22T19:45:52+02:00", "-17.00", "EUR", "Mario Esempio",
        merchant="Mario Esempio", props={"columns": {"kind": "P2P",
                                                     "extra info": "Il biglietto 🎟️"}}),
     Tx("row 4", "2022-03-01T09:44:27+01:00", "-1002.40", "EUR", "Caffè Esempio",
        merchant="Caffè Esempio")),
    timezone=ROME, region="IT")

LAYOUTS = (_SEB_EE, _FINTRO, _FINTRO_VISA, _LIVEBANK, _SPARDA, _FIO_API, _FIO_WEB, _MBANK,
           _MBANK_2, _SATISPAY)


@pytest.mark.parametrize("layout", LAYOUTS, ids=[lay.id for lay in LAYOUTS])
def test_real_variant_imports_without_a_profile(ws, case_id, tmp_path: Path,
                                                layout: Layout) -> None:
    result, _ = import_layout(ws, case_id, tmp_path, layout)
    assert result.errors == ()


def test_headerless_semicolon_export_is_refused_naming_its_cells(
        ws, case_id, tmp_path: Path) -> None:
    # easybank (Austria): no header; the one decimal comma per line ("-0,42") is no
    # delimiter. The file is claimed and refused with its first row split as written.
    path = tmp_path / "easybank.csv"
    path.write_text(_lines(
        "AT611904300234573201;Einbehaltene KESt                BG/000000001     ;01.01.2024;"
        "31.12.2023;-0,42;EUR",
        "AT611904300234573201;Zinsen HABEN                     BG/000000002     ;01.01.2024;"
        "31.12.2023;+1,23;EUR",
        "AT611904300234573201;Example Versand GmbH             FE/000000005     ;19.01.2024;"
        "20.01.2024;-1.001,00;EUR"), encoding="cp1252")
    assert detect(path).format == "transactions_table"
    before = ws.counts()
    with pytest.raises(BadInput) as caught:
        run_import(ws, case_id, path, options=ImportOptions(timezone=VIENNA, default_region="AT"))
    message = str(caught.value)
    assert "easybank.csv" in message and "no header line" in message
    assert "'AT611904300234573201', 'Einbehaltene KESt" in message and "'-0,42', 'EUR'" in message
    assert ws.counts() == before


# --- guards: layouts already read right, or rightly refused, stay so ----------------------

_OBERBANK = Layout(
    # Both sides named in their own columns; signed amounts.
    "oberbank", "oberbank.csv", _lines(
        "Buchungsdatum;Wertstellung;Betrag;Währung;Auftraggebername;Auftraggeber IBAN/Kto.Nr.;"
        "Auftraggeber BIC/BLZ;Empfängername;Empfänger IBAN/Kto.Nr.;Empfänger BIC/BLZ;Text;"
        "Verwendungszweck",
        "15.03.2024;15.03.2024;-11,00;EUR;;;;;;;Zahlungsreferenz, Example Empfänger;",
        "15.03.2024;18.03.2024;1.011,00;EUR;Example Auftraggeber;AT611904300234573201;BKAUATWW;"
        "Erika Beispiel;AT483200000012345864;RLNWATWW;Example Auftraggeber, Rechnung 1;"
        "Rechnung 1"),
    (Tx("row 2", "2024-03-15T00:00:00+01:00", "-11.00", "EUR", "",
        props={"columns": {"Text": "Zahlungsreferenz, Example Empfänger"}}),
     Tx("row 3", "2024-03-15T00:00:00+01:00", "1011.00", "EUR", "Rechnung 1",
        props={"posted_at": "2024-03-18T00:00:00"})),
    timezone=VIENNA, region="AT")

_ING_DE = Layout(
    # The statement's details as "key;value" lines above the header, "Währung" twice.
    "ing_de", "Umsatzanzeige_DE89370400440532013000_20240628.csv", _lines(
        "Umsatzanzeige;Datei erstellt am: 28.06.2024 16:57",
        "",
        "IBAN;DE89 3704 0044 0532 0130 00",
        "Kontoname;Girokonto",
        "Bank;ING",
        "Kunde;Erika Beispiel",
        "Zeitraum;01.06.2024 - 28.06.2024",
        "Saldo;150,00;EUR",
        "",
        "Sortierung;Datum absteigend",
        "",
        "In der CSV-Datei finden Sie alle bereits gebuchten Umsätze.",
        "",
        "Buchung;Valuta;Auftraggeber/Empfänger;Buchungstext;Verwendungszweck;Saldo;Währung;"
        "Betrag;Währung",
        "28.06.2024;28.06.2024;Example Payments S.A.;Lastschrift;Example Blumen;150,00;EUR;"
        "-5,50;EUR",
        "27.06.2024;27.06.2024;Max Beispiel;Gutschrift;Monatliche Überweisung;155,50;EUR;"
        "1.050,00;EUR"),
    (Tx("row 15", "2024-06-28T00:00:00+02:00", "-5.50", "EUR", "Example Payments S.A.",
        merchant="Example Payments S.A.", account="DE89370400440532013000",
        props={"type": "Lastschrift", "balance": "150.00"}),
     Tx("row 16", "2024-06-27T00:00:00+02:00", "1050.00", "EUR", "Max Beispiel",
        merchant="Max Beispiel", account="DE89370400440532013000")),
    encoding="cp1252", timezone=BERLIN, region="DE")

GUARDS = (_OBERBANK, _ING_DE)


@pytest.mark.parametrize("layout", GUARDS, ids=[lay.id for lay in GUARDS])
def test_layout_already_read_right_stays_right(ws, case_id, tmp_path: Path,
                                               layout: Layout) -> None:
    import_layout(ws, case_id, tmp_path, layout)


@pytest.mark.parametrize(("name", "text", "region", "expected"), [
    # A card statement whose charges are unsigned and whose credits are marked "CR" in an
    # unnamed column (John Lewis Partnership card): read without a profile every charge
    # would be money in, so it is not claimed (a mapping profile reads it).
    ("jlp_card.csv", _lines("Date Processed,Description,Amount,",
                            "28-Mar-2024,EXAMPLE BOOKS  EXAMPLE.CO.UK  LUX,£99.99,",
                            '21-Apr-2024,DIRECT DEBIT TRANSACTION,"+ £1,234.56",CR'),
     "GB", "unrecognised format"),
    # The money in an unnamed column after the currency (DEGIRO's "Mutatie,,"): refused,
    # not read with the currency as the amount.
    ("Account.csv", _lines("Datum,Tijd,Valutadatum,Product,ISIN,Omschrijving,FX,Mutatie,,Saldo,,"
                           "Order Id",
                           '27-12-2024,08:14,27-12-2024,EXAMPLE ETF,NL0000000000,Dividend,,EUR,'
                           '"0,19",EUR,"13,88",'),
     "NL", "unrecognised format"),
    # Raiffeisen (Austria) without a header line: no built-in layout has its columns.
    ("raiffeisen.csv", _lines(
        '28.06.2024;"Kapitalertragsteuer";01.07.2024;-0,15;EUR;28.06.2024 00:00:31:010;',
        '04.07.2024;"Gutschrift  Auftraggeber:  Example GmbH";04.07.2024;123,60;EUR;'
        '04.07.2024 01:11:46:701;'),
     "AT", "the file has no header line (its first row is data: '28.06.2024'"),
])
def test_layout_that_cannot_be_read_reliably_is_refused(ws, case_id, tmp_path: Path, name: str,
                                                        text: str, region: str,
                                                        expected: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    before = ws.counts()
    with pytest.raises(BadInput) as caught:
        run_import(ws, case_id, path, options=ImportOptions(default_region=region))
    assert name in str(caught.value) and expected in str(caught.value)
    assert ws.counts() == before


def test_extra_cells_of_a_comma_file_stay_an_error(ws, case_id, tmp_path: Path) -> None:
    # An unquoted decimal comma splits the amount and shifts the cells after it: the row is
    # reported, not read with the text column swallowing the rest.
    path = tmp_path / "export.csv"
    path.write_text(_lines("Date,Amount,Description",
                           "2024-01-02,-12.50,Example Shop",
                           "2024-01-03,-7,25,Example Cafe"), encoding="utf-8")
    before = ws.counts()
    with pytest.raises(BadInput) as caught:
        run_import(ws, case_id, path, options=ImportOptions())
    assert "row 3" in str(caught.value) and "expected 3 columns, found 4" in str(caught.value)
    assert ws.counts() == before


def test_one_line_without_date_or_amount_is_not_joined_to_the_row_above(
        ws, case_id, tmp_path: Path) -> None:
    # Only a file that writes its transactions over two lines throughout has its lines
    # joined; a lone line without a date or amount stays an error naming its row.
    path = tmp_path / "export.csv"
    path.write_text(_lines("Datum;Bedrag;Omschrijving;Tegenrekening",
                           "02-01-2024;-12,50;Example Winkel;NL91ABNA0417164300",
                           "03-01-2024;100,00;Alex Example;NL02ABNA0123456789",
                           ";;Example Winkel;NL91ABNA0417164300"), encoding="utf-8")
    before = ws.counts()
    with pytest.raises(BadInput) as caught:
        run_import(ws, case_id, path, options=ImportOptions(default_region="NL"))
    assert "row 4" in str(caught.value) and "'date'" in str(caught.value)
    assert ws.counts() == before
