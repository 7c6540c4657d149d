"""North American card and bank exports whose real samples the importer first got wrong,
imported with no profile.

Each case rebuilds the structure of a producer's real export (header names and order, lines
above and below the table, quoting, line endings, date and amount writing) with made-up
people, merchants and amounts: Apple Card (a purchase written positive, a payment
negative), American Express's longer export in its US and UK forms (with and without the
card member's columns), Fidelity's account history (padded blank lines above, a "Run Date"
and an "Amount ($)" header, a disclaimer below), Charles Schwab's checking export (a block
of pending rows under a "Pending Transactions" line, with its total), Wealthsimple's (a
"transaction" kind column) and a credit union's ("CURRENT BALANCE"). Same pattern as
``test_finance_csv_real_variants``: through ``run_import`` into an encrypted case database,
read back the way an investigator sees it.
The last tests guard layouts that were already read right.
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

NEW_YORK, LONDON, TORONTO = "America/New_York", "Europe/London", "America/Toronto"

_APPLE_CARD = Layout(
    # A purchase is positive and a payment negative (the card holder's debt); the merchant
    # has its own column beside the descriptor; "Purchased By" names the card user.
    "apple_card", "Apple Card Transactions - January 2025.csv", _lines(
        "Transaction Date,Clearing Date,Description,Merchant,Category,Type,Amount (USD),"
        "Purchased By",
        "01/14/2025,01/15/2025,EXAMPLE COFFEE 1234 EXAMPLE ST PORTLAND 97201 OR USA,"
        "Example Coffee,Restaurants,Purchase,4.75,Jane Example",
        "01/20/2025,01/20/2025,ACH DEPOSIT INTERNET TRANSFER FROM ACCOUNT ENDING IN 0000,"
        "Ach Deposit Internet Transfer From Account Ending In 0000,Payment,Payment,-250.00,"
        "Jane Example",
        '01/22/2025,01/23/2025,EXAMPLE OUTFITTERS ONLINE,Example Outfitters,Shopping,Purchase,'
        '"1,234.56",John Example',
        "01/25/2025,01/26/2025,EXAMPLE OUTFITTERS RETURN,Example Outfitters,Shopping,Credit,"
        "-19.99,John Example"),
    (Tx("row 2", "2025-01-14T00:00:00-05:00", "-4.75", "USD", "Example Coffee",
        merchant="Example Coffee", holder="Jane Example",
        props={"posted_at": "2025-01-15T00:00:00", "type": "Purchase",
               "category": "Restaurants",
               "description": "EXAMPLE COFFEE 1234 EXAMPLE ST PORTLAND 97201 OR USA"}),
     Tx("row 3", "2025-01-20T00:00:00-05:00", "250.00", "USD",
        "Ach Deposit Internet Transfer From Account Ending In 0000",
        merchant="Ach Deposit Internet Transfer From Account Ending In 0000",
        holder="Jane Example", props={"type": "Payment"}),
     Tx("row 4", "2025-01-22T00:00:00-05:00", "-1234.56", "USD", "Example Outfitters",
        merchant="Example Outfitters", holder="John Example"),
     Tx("row 5", "2025-01-25T00:00:00-05:00", "19.99", "USD", "Example Outfitters",
        merchant="Example Outfitters", holder="John Example", props={"type": "Credit"})),
    newline="\r\n", timezone=NEW_YORK)

_AMEX_EXTENDED = Layout(
    # The longer export without the card member's columns: a charge is positive, a
    # payment or refund negative; the reference is written in single quotes.
    "amex_extended", "activity.csv", _lines(
        "Date,Description,Amount,Extended Details,Appears On Your Statement As,Address,"
        "City/State,Zip Code,Country,Reference,Category",
        '01/15/2025,EXAMPLE BOOKS,49.99,"EXAMPLE BOOKS ONLINE\nexample.com",'
        "EXAMPLE BOOKS*AB12C,1 EXAMPLE WAY,\"SEATTLE\nWA\",98101,UNITED STATES,"
        "'320250150000001',Merchandise & Supplies-Internet Purchase",
        "01/18/2025,AUTOPAY PAYMENT - THANK YOU,-500.00,,,,,,,'320250180000002',",
        "01/19/2025,EXAMPLE GRILL,-10.50,REFUND,EXAMPLE GRILL 0042,2 EXAMPLE ST,"
        "DENVER/CO,80202,UNITED STATES,'320250190000003',Restaurant-Restaurant"),
    (Tx("row 2", "2025-01-15T00:00:00-05:00", "-49.99", None, "EXAMPLE BOOKS",
        merchant="EXAMPLE BOOKS",
        props={"reference": "320250150000001", "description": "EXAMPLE BOOKS*AB12C",
               "category": "Merchandise & Supplies-Internet Purchase",
               "memo": "EXAMPLE BOOKS ONLINE\nexample.com",
               "columns": {"Address": "1 EXAMPLE WAY", "City/State": "SEATTLE\nWA",
                           "Zip Code": "98101", "Country": "UNITED STATES"}}),
     Tx("row 3", "2025-01-18T00:00:00-05:00", "500.00", None, "AUTOPAY PAYMENT - THANK YOU",
        merchant="AUTOPAY PAYMENT - THANK YOU", props={"reference": "320250180000002"}),
     Tx("row 4", "2025-01-19T00:00:00-05:00", "10.50", None, "EXAMPLE GRILL",
        merchant="EXAMPLE GRILL", props={"memo": "REFUND"})),
    timezone=NEW_YORK)

_AMEX_EXTENDED_MEMBER = Layout(
    # The same with the card member and the account's last digits ("-41006").
    "amex_extended_member", "activity.csv", _lines(
        "Date,Description,Card Member,Account #,Amount,Extended Details,"
        "Appears On Your Statement As,Address,City/State,Zip Code,Country,Reference,Category",
        "01/15/2025,EXAMPLE STREAMING,JANE Q EXAMPLE,-41006,15.49,EXAMPLE STREAMING "
        "800-555-0100,EXAMPLE STREAMING,,\"LOS GATOS\nCA\",95032,UNITED STATES,"
        "'320250150000011',Entertainment-Media",
        "01/16/2025,ONLINE PAYMENT - THANK YOU,JOHN EXAMPLE,-42004,-300.00,,,,,,,"
        "'320250160000012',"),
    (Tx("row 2", "2025-01-15T00:00:00-05:00", "-15.49", None, "EXAMPLE STREAMING",
        merchant="EXAMPLE STREAMING", card="•••• 1006", holder="JANE Q EXAMPLE",
        props={"reference": "320250150000011", "category": "Entertainment-Media",
               "card_last4": "1006"}),
     Tx("row 3", "2025-01-16T00:00:00-05:00", "300.00", None, "ONLINE PAYMENT - THANK YOU",
        merchant="ONLINE PAYMENT - THANK YOU", card="•••• 2004", holder="JOHN EXAMPLE",
        props={"reference": "320250160000012"})),
    timezone=NEW_YORK)

_AMEX_UK = Layout(
    # American Express UK: the same columns with "Town/City" and "Postcode", day-first dates.
    "amex_uk", "activity.csv", _lines(
        "Date,Description,Card Member,Account #,Amount,Extended Details,"
        "Appears On Your Statement As,Address,Town/City,Postcode,Country,Reference,Category",
        "14/02/2025,EXAMPLE GROCER 1234 LONDON,MR J EXAMPLE,-11004,23.50,,EXAMPLE GROCER 1234,"
        "1 EXAMPLE ROAD,LONDON,SW1A 1AA,UNITED KINGDOM,'AT250450012345678',"
        "General Purchases-Groceries",
        "16/02/2025,PAYMENT RECEIVED - THANK YOU,MR J EXAMPLE,-11004,-200.00,,,,,,,"
        "'AT250470012345679',"),
    (Tx("row 2", "2025-02-14T00:00:00+00:00", "-23.50", None, "EXAMPLE GROCER 1234 LONDON",
        merchant="EXAMPLE GROCER 1234 LONDON", card="•••• 1004", holder="MR J EXAMPLE",
        props={"reference": "AT250450012345678", "category": "General Purchases-Groceries",
               "columns": {"Address": "1 EXAMPLE ROAD", "Town/City": "LONDON",
                           "Postcode": "SW1A 1AA", "Country": "UNITED KINGDOM"}}),
     Tx("row 3", "2025-02-16T00:00:00+00:00", "200.00", None, "PAYMENT RECEIVED - THANK YOU",
        merchant="PAYMENT RECEIVED - THANK YOU", card="•••• 1004", holder="MR J EXAMPLE")),
    timezone=LONDON, region="GB")

_FIDELITY_CMA = Layout(
    # Five lines of bare separators above the header; the action as the text, the amount
    # in dollars by its header only ("Amount ($)"); a disclaimer padded to the table's
    # width below, and the download time.
    "fidelity_cma", "History_for_Account_Z12345678.csv", ",,,,,,,,,,,\n" * 5 + _lines(
        "Run Date,Action,Symbol,Security Description,Security Type,Quantity,Price ($),"
        "Commission ($),Fees ($),Accrued Interest ($),Amount ($),Settlement Date",
        "01/27/2025, DIRECT DEBIT EXAMPLE UTILITY AUTOPAY (Cash),  , No Description,Cash,,,,,,"
        "-120.5,",
        "01/23/2025, DIRECT DEPOSIT EXAMPLE CORP PAYROLL (Cash),  , No Description,Cash,,,,,,"
        "2042.12,",
        "01/17/2025,Check Paid # 1001 (Cash),  , No Description,Cash,,,,,,-1000,",
    ) + ",,,,,,,,,,,\n" * 3 + _lines(
        "The data and information in this spreadsheet is provided to you solely for your use "
        "and is not for distribution. The spreadsheet is provided for,,,,,,,,,,,",
        '"informational purposes only, and is not intended to provide advice, nor should it '
        'be construed as an offer to sell, a solicitation of an offer to buy or a",,,,,,,,,,,',
        ",,,,,,,,,,,",
        "Date downloaded 01/28/2025 10:28 am,,,,,,,,,,,"),
    (Tx("row 7", "2025-01-27T00:00:00-05:00", "-120.5", "USD",
        "DIRECT DEBIT EXAMPLE UTILITY AUTOPAY (Cash)",
        props={"currency_assumed": True, "columns": {
            "Security Description": "No Description", "Security Type": "Cash"}}),
     Tx("row 8", "2025-01-23T00:00:00-05:00", "2042.12", "USD",
        "DIRECT DEPOSIT EXAMPLE CORP PAYROLL (Cash)"),
     Tx("row 9", "2025-01-17T00:00:00-05:00", "-1000", "USD", "Check Paid # 1001 (Cash)")),
    timezone=NEW_YORK)

_FIDELITY_HSA = Layout(
    # The older history: blank lines and the account kind above the header, dates with a
    # leading space, and the download time below as '"Date downloaded" <date>, <time>'.
    "fidelity_hsa", "History_for_Account_123456789.csv", "\n\n\nBrokerage\n\n" + _lines(
        "Run Date,Action,Symbol,Security Description,Security Type,Quantity,Price ($),"
        "Commission ($),Fees ($),Accrued Interest ($),Amount ($),Settlement Date",
        " 12/01/2024, TRANSFERRED TO VS 000-000000-0 (Cash), , No Description,Cash,,,,,,-888,",
        " 11/22/2024, DIRECT DEPOSIT EXAMPLE HEALTH (Cash), , No Description,Cash,,,,,,"
        "1100.00,",
        " 07/31/2024, INTEREST EARNED EXAMPLE DEPOSIT SWEEP (QXMPQ) (Cash), QXMPQ, "
        "EXAMPLE DEPOSIT SWEEP,Cash,,,,,,0.01,",
        "", "", "",
        '"The data and information in this spreadsheet is provided to you solely for your '
        'use and is not for distribution."',
        "",
        '"Date downloaded" 12/31/2024, 9:11 AM'),
    (Tx("row 7", "2024-12-01T00:00:00-05:00", "-888", "USD",
        "TRANSFERRED TO VS 000-000000-0 (Cash)"),
     Tx("row 8", "2024-11-22T00:00:00-05:00", "1100.00", "USD",
        "DIRECT DEPOSIT EXAMPLE HEALTH (Cash)"),
     Tx("row 9", "2024-07-31T00:00:00-04:00", "0.01", "USD",
        "INTEREST EARNED EXAMPLE DEPOSIT SWEEP (QXMPQ) (Cash)",
        props={"columns": {"Symbol": "QXMPQ", "Security Description": "EXAMPLE DEPOSIT SWEEP",
                           "Security Type": "Cash"}})),
    timezone=NEW_YORK)

_SCHWAB_PENDING = Layout(
    # Pending rows in a block of their own above the posted ones, each block under a line
    # that names it; the pending block's total has no date.
    "schwab_pending", "Checking_XXX000_Transactions_20250510-134136.csv", _lines(
        '"Transactions  for Checking account ...000 as of 05/10/2025 01:41:36 PM ET"',
        '"Date","Type","Check #","Description","Withdrawal (-)","Deposit (+)","RunningBalance"',
        '"Pending Transactions"',
        '"Total Pending Check and other Credit(s)","","","","","$0.00",""',
        '"05/09/2025","","","EXAMPLE CASH SERVICE EXAMPLETOWN, CA, US","$130.00","",""',
        '"Posted Transactions"',
        '"04/30/2025","INTADJUST","","Interest Paid","","$1.00","$3,951.00"',
        '"04/25/2025","VISA","","EXAMPLE GROCERY","$50.00","","$3,950.00"',
        '"04/14/2025","ACH","","Electronic Deposit","","$5,000.00","$5,000.00"'),
    (Tx("row 5", "2025-05-09T00:00:00-04:00", "-130.00", "USD",
        "EXAMPLE CASH SERVICE EXAMPLETOWN, CA, US",
        props={"status": "pending", "currency_assumed": True}),
     Tx("row 7", "2025-04-30T00:00:00-04:00", "1.00", "USD", "Interest Paid",
        props={"status": None, "type": "INTADJUST", "balance": "3951.00"}),
     Tx("row 8", "2025-04-25T00:00:00-04:00", "-50.00", "USD", "EXAMPLE GROCERY",
        props={"status": None}),
     Tx("row 9", "2025-04-14T00:00:00-04:00", "5000.00", "USD", "Electronic Deposit")),
    timezone=NEW_YORK)

_WEALTHSIMPLE = Layout(
    # Lower-case headers, every cell quoted; "transaction" is the kind of entry.
    "wealthsimple", "monthly-statement-transactions-chequing-2025-04-01.csv", _lines(
        '"date","transaction","description","amount","balance"',
        '"2025-04-01","INT","Interest earned","12.34","5123.45"',
        '"2025-04-02","SPEND","Example Coffee","-4.56","5118.89"',
        '"2025-04-15","AFT_IN","Direct deposit from EXAMPLE EMPLOYER","1234.56","6353.45" '),
    (Tx("row 2", "2025-04-01T00:00:00-04:00", "12.34", None, "Interest earned",
        props={"type": "INT", "balance": "5123.45"}),
     Tx("row 3", "2025-04-02T00:00:00-04:00", "-4.56", None, "Example Coffee",
        props={"type": "SPEND"}),
     Tx("row 4", "2025-04-15T00:00:00-04:00", "1234.56", None,
        "Direct deposit from EXAMPLE EMPLOYER", props={"type": "AFT_IN"})),
    timezone=TORONTO, region="CA")

_CREDIT_UNION = Layout(
    # A credit union's export (DCU): capitals, a dollar sign inside the minus, the running
    # balance as "CURRENT BALANCE".
    "credit_union", "Main_Checking_Account_Transactions.csv", _lines(
        '"DATE","TRANSACTION TYPE","DESCRIPTION","AMOUNT","ID","MEMO","CURRENT BALANCE"',
        '"12/31/2024","DEBIT","TRANSFER TO MBR ***0000 ACCT 4 - SWEEP ACCOUNT","-$7,971.39",'
        '"ZXhhbXBsZTE=","","$500.00"',
        '"12/30/2024","CREDIT","ELECTRONIC DEPOSIT - EXAMPLE INC","$6,000.36","ZXhhbXBsZTI=","",'
        '"$8,471.39"'),
    (Tx("row 2", "2024-12-31T00:00:00-05:00", "-7971.39", "USD",
        "TRANSFER TO MBR ***0000 ACCT 4 - SWEEP ACCOUNT",
        props={"type": "DEBIT", "balance": "500.00", "currency_assumed": True}),
     Tx("row 3", "2024-12-30T00:00:00-05:00", "6000.36", "USD",
        "ELECTRONIC DEPOSIT - EXAMPLE INC", props={"reference": "ZXhhbXBsZTI="})),
    timezone=NEW_YORK)

LAYOUTS = (_APPLE_CARD, _AMEX_EXTENDED, _AMEX_EXTENDED_MEMBER, _AMEX_UK, _FIDELITY_CMA,
           _FIDELITY_HSA, _SCHWAB_PENDING, _WEALTHSIMPLE, _CREDIT_UNION)


@pytest.mark.parametrize("layout", LAYOUTS, ids=[lay.id for lay in LAYOUTS])
def test_real_variant_imports_without_a_profile(ws, case_id, tmp_path: Path,
                                                layout: Layout) -> None:
    result, _ = import_layout(ws, case_id, tmp_path, layout)
    assert result.errors == ()


# --- guards: layouts already read right stay so ------------------------------------------

_CHASE_CARD = Layout(
    # Chase's card export writes a purchase negative itself ("Sale"), a payment positive.
    "chase_card", "Chase1234_Activity20250416.CSV", _lines(
        "Transaction Date,Post Date,Description,Category,Type,Amount,Memo",
        "04/09/2025,04/09/2025,AUTOMATIC PAYMENT - THANK,,Payment,123.45,",
        "04/03/2025,04/05/2025,EXAMPLE.COM/BILL,Shopping,Sale,-1.23,",
        "04/01/2025,04/02/2025,EXAMPLE  INC.,Professional Services,Sale,-4.00,"),
    (Tx("row 2", "2025-04-09T00:00:00-04:00", "123.45", None, "AUTOMATIC PAYMENT - THANK",
        props={"type": "Payment"}),
     Tx("row 3", "2025-04-03T00:00:00-04:00", "-1.23", None, "EXAMPLE.COM/BILL",
        props={"posted_at": "2025-04-05T00:00:00", "category": "Shopping", "type": "Sale"}),
     Tx("row 4", "2025-04-01T00:00:00-04:00", "-4.00", None, "EXAMPLE  INC.")),
    timezone=NEW_YORK)

_BOFA_CARD = Layout(
    # Bank of America's card export: signed from the holder's side, the payee as merchant.
    "bofa_card", "January2025_1234.csv", _lines(
        "Posted Date,Reference Number,Payee,Address,Amount",
        '01/07/2025,24492150000000000000001,"EXAMPLE DELIVERY 650-555-0100 CA",'
        '"650-555-0100  CA ",-75.99',
        '01/08/2025,31286000000000000000002,"CASH REWARDS STATEMENT CREDIT","",55.16'),
    (Tx("row 2", "2025-01-07T00:00:00-05:00", "-75.99", None,
        "EXAMPLE DELIVERY 650-555-0100 CA", merchant="EXAMPLE DELIVERY 650-555-0100 CA",
        props={"reference": "24492150000000000000001"}),
     Tx("row 3", "2025-01-08T00:00:00-05:00", "55.16", None, "CASH REWARDS STATEMENT CREDIT",
        merchant="CASH REWARDS STATEMENT CREDIT")),
    newline="\r\n", timezone=NEW_YORK)

_BARCLAYS_US = Layout(
    # Barclays US (Delaware): the bank, account and balance above the header; signed
    # amounts beside a DEBIT/CREDIT "Category".
    "barclays_us", "CreditCard_20250317.csv", _lines(
        "Barclays Bank Delaware",
        "Account Number: XXXXXXXXXXXX0000",
        "Account Balance as of March 17 2025:    $12.34",
        "",
        "Transaction Date,Description,Category,Amount",
        '03/11/2025,"EXAMPLE AUDIOBOOKS*AB12C","DEBIT",-14.95',
        '02/25/2025,"PAYMENT RECV\'D CHECKFREE","CREDIT",100.50'),
    (Tx("row 6", "2025-03-11T00:00:00-04:00", "-14.95", None, "EXAMPLE AUDIOBOOKS*AB12C",
        props={"category": "DEBIT"}),
     Tx("row 7", "2025-02-25T00:00:00-05:00", "100.50", None, "PAYMENT RECV'D CHECKFREE")),
    timezone=NEW_YORK)

_PAYPAL_EN = Layout(
    # PayPal's English activity download: gross, fee and net; an authorisation is kept
    # with its type and status.
    "paypal_en", "Download.CSV", _lines(
        '"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee","Net",'
        '"From Email Address","To Email Address","Transaction ID","Reference Txn ID",'
        '"Balance","Balance Impact"',
        '"01/03/2025","13:57:10","PST","Example Rides, Inc","General Authorization","Pending",'
        '"USD","-42.92","0.00","-42.92","buyer@example.com","rides@example.org",'
        '"0A000000000000001","","0.00","Memo"',
        '"01/09/2025","14:30:00","PST","Ana Example","Payment","Completed","USD","1,500.00",'
        '"-58.80","1,441.20","ana@example.com","seller@example.org","0A000000000000002","",'
        '"1,441.20","Credit"'),
    (Tx("row 2", "2025-01-03T13:57:10-08:00", "-42.92", "USD", "Example Rides, Inc",
        merchant="Example Rides, Inc",
        props={"type": "General Authorization", "status": "Pending",
               "columns": {"Net": "-42.92", "To Email Address": "rides@example.org",
                           "Balance Impact": "Memo"}}),
     Tx("row 3", "2025-01-09T14:30:00-08:00", "1500.00", "USD", "Ana Example",
        merchant="Ana Example", props={"fee": "-58.80", "balance": "1441.20",
                                       "reference": "0A000000000000002"})),
    timezone=NEW_YORK)

GUARDS = (_CHASE_CARD, _BOFA_CARD, _BARCLAYS_US, _PAYPAL_EN)


@pytest.mark.parametrize("layout", GUARDS, ids=[lay.id for lay in GUARDS])
def test_layout_already_read_right_stays_right(ws, case_id, tmp_path: Path,
                                               layout: Layout) -> None:
    import_layout(ws, case_id, tmp_path, layout)
