"""Shared reading of tabular exports (CSV, XLSX, .xls) and column-mapping profiles.

Bank statements, card exports, payment-processor reports and jail booking lists arrive
as spreadsheets whose columns differ by producer and language. A :class:`MappingProfile`
says which source column holds which of our fields and how to read dates and amounts;
built-in profiles cover known layouts, :func:`auto_profile` recognises them by header
(falling back to a multilingual guesser), and an investigator can save their own profile
(``to_dict``/``from_dict`` are JSON-safe and versioned; the lead's pipeline stores them).

Reading is streaming: CSV rows come from :mod:`csv` over :func:`textio.open_text` (any
line ending, BOM, UTF-16, cp1252) and XLSX rows from openpyxl in read-only mode, after a
zip-bomb check. Old binary Excel (.xls, BIFF5/BIFF8) is read with xlrd, which holds the
one sheet read in memory (an .xls has at most 65,536 rows; limits in XLS_MAX_*, checked
before xlrd parses the sheet). Many banks' ".xls" downloads are an HTML page of tables
or tab-separated text: they are told apart by content and read as HTML (the standard
library's html.parser, streamed) or as CSV. Nothing else here loads a whole file into
memory; where a file-wide decision is needed (day-first dates, decimal comma) a bounded
pre-scan pass decides it first. A file is never converted: what is read is the file
received (its SHA-256 is the one the import records).

Errors: a file that cannot be read raises :class:`ParseError` naming the file; a row that
cannot be read becomes a :class:`RowError` (``ref="row N"``, N being the spreadsheet row
number, header = row 1) and reading goes on. Blank rows and repeated header lines are
skipped and counted in :class:`ReadStats`, not reported as errors.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import struct
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple, Union, cast

from workstation.ingest.opendoc import is_ods, is_spreadsheetml, iter_ods, iter_spreadsheetml
from workstation.ingest.records import ImportOptions, ParseError, RowError, forced_date_order, read_head
from workstation.ingest.textio import check_size, open_text

PROFILE_VERSION = 1

TRANSACTION_FIELDS: tuple[str, ...] = (
    "date", "time", "posted_date", "amount", "debit", "credit", "currency", "merchant",
    "description", "mcc", "card_number", "card_last4", "cardholder", "account", "ip",
    "email", "phone", "reference", "type", "category",
    # Beyond the common core: payment-processor and order-history exports.
    "timezone", "card_brand", "card_fingerprint", "customer", "ship_to", "status", "fee",
    "balance", "memo",
    # Bank statements name the other side's account (IBAN) beside its name.
    "counterparty_account",
)

BOOKING_FIELDS: tuple[str, ...] = (
    "booking_number", "last_name", "first_name", "middle_name", "full_name", "dob", "sex",
    "race", "charges", "arrest_time", "arrest_date", "booking_time", "booking_date",
    "release_time", "release_date", "agency", "arresting_officer", "address", "city",
    "state", "postal_code", "phone", "email", "timezone",
    # Per charge (one row per charge, or beside a single charge column).
    "statute", "code", "severity", "counts", "bond_amount", "bond_type", "court_case",
    "disposition", "warrant",
    # About the person and the arrest.
    "suffix", "age", "height", "weight", "hair", "eyes", "agency_ori", "officer_badge",
)

_CHARGE_N = re.compile(r"^charge_(\d{1,3})$")

SIGN_CONVENTIONS = ("negative_is_debit", "positive_is_debit", "debit_credit_columns",
                    "type_column")

DEFAULT_DEBIT_WORDS: tuple[str, ...] = (
    "debit", "dr", "d", "db", "withdrawal", "withdrawl", "payment", "purchase", "sale",
    "af", "soll", "s", "lastschrift", "débit", "debito", "débito", "cargo", "out", "sent",
    "debet",
)
DEFAULT_CREDIT_WORDS: tuple[str, ...] = (
    "credit", "cr", "c", "deposit", "refund", "bij", "haben", "h", "gutschrift", "crédit",
    "credito", "crédito", "abono", "in", "received",
    # Baltic statements' D/K column (kreditas, kredīts, kreedit).
    "k",
)

CSV_DELIMITERS = (",", ";", "\t", "|")

# XLSX guard: checked on the zip's central directory before openpyxl touches the file.
XLSX_MAX_MEMBERS = 10_000
XLSX_MAX_TOTAL_UNCOMPRESSED = 1 << 30          # 1 GiB of XML is far beyond any real export
XLSX_MAX_MEMBER_UNCOMPRESSED = 512 << 20
XLSX_MAX_RATIO = 200                            # real sheet XML compresses 5-50x
XLSX_RATIO_MIN_SIZE = 1 << 20                   # small members may compress absurdly well

ColumnRef = Union[str, int, tuple[str, ...]]


class ProfileError(ValueError):
    """A mapping profile is malformed (unknown field, bad sign convention, newer version)."""


# ---------------------------------------------------------------------------------------
# Profiles
# ---------------------------------------------------------------------------------------


def normalise_header(text: Any) -> str:
    """A header cell as compared with profile column names: case, spacing and ``_`` folded."""
    s = "" if text is None else str(text)
    s = s.replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s_]+", " ", s)


@dataclass(frozen=True)
class MappingProfile:
    """How to read one tabular layout.

    ``columns`` maps our field names (:data:`TRANSACTION_FIELDS` or
    :data:`BOOKING_FIELDS`, plus ``charge_1``, ``charge_2``... for bookings) to a source
    column: a header text (compared case-insensitively, ``_`` = space), a 0-based column
    index (for files without a header), or a tuple of alternative header texts (the first
    one present is used).

    ``date_formats`` is ``"auto"`` (ISO, numeric D/M/Y in any order, month names in
    several languages, then dateutil) or a tuple of :func:`datetime.strptime` formats
    tried in order. ``dayfirst`` None means decide per file from the values (a day above
    12 settles it), falling back to the import's region. ``decimal_comma`` None means
    decide per file likewise. ``skip_values`` maps a field to values (case-insensitive)
    that mark a row as "not a transaction" (a pending order), and ``skip_if_blank`` names
    fields whose emptiness does (a cancelled order without a total): such rows are
    skipped and counted in :class:`ReadStats`, not reported as errors.
    ``default_account`` is the statement's own account when the file names it once
    above the table (``IBAN;DE89...``) rather than on every row.
    ``amount_by_currency`` maps ISO codes to amount columns, for statements with one
    amount column per currency (RBC's ``CAD$`` and ``USD$``): a row's amount is the first
    of them it fills, in that column's currency. ``region`` is the country (ISO 3166) of
    the bank whose layout this is: when it is the import's region too, amounts that state
    no currency are in that country's dollar, marked as assumed (see ``finance.table``).
    """

    name: str
    target: str = "transaction"
    columns: Mapping[str, ColumnRef] = field(default_factory=dict)
    label: str = ""
    date_formats: Union[str, tuple[str, ...]] = "auto"
    dayfirst: bool | None = None
    decimal_comma: bool | None = None
    thousands: str | None = None
    sign: str = "negative_is_debit"
    debit_words: tuple[str, ...] = DEFAULT_DEBIT_WORDS
    credit_words: tuple[str, ...] = DEFAULT_CREDIT_WORDS
    currency: str | None = None
    skip_rows: int = 0
    has_header: bool = True
    delimiter: str | None = None
    timezone: str | None = None
    sheet: str | None = None
    skip_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    skip_if_blank: tuple[str, ...] = ()
    default_merchant: str | None = None
    default_account: str | None = None
    amount_by_currency: Mapping[str, ColumnRef] = field(default_factory=dict)
    region: str | None = None

    def __post_init__(self) -> None:
        if self.target not in ("transaction", "booking"):
            raise ProfileError(f"profile {self.name!r}: unknown target {self.target!r}")
        allowed = TRANSACTION_FIELDS if self.target == "transaction" else BOOKING_FIELDS
        for key, ref in self.columns.items():
            if key not in allowed and not (self.target == "booking" and _CHARGE_N.match(key)):
                raise ProfileError(f"profile {self.name!r}: unknown {self.target} field {key!r}")
            if not isinstance(ref, (str, int, tuple)) or isinstance(ref, bool):
                raise ProfileError(f"profile {self.name!r}: bad column for {key!r}: {ref!r}")
        for code, ref in self.amount_by_currency.items():
            if self.target != "transaction" or not re.fullmatch(r"[A-Z]{3}", code):
                raise ProfileError(f"profile {self.name!r}: bad amount currency {code!r}")
            if not isinstance(ref, (str, int, tuple)) or isinstance(ref, bool):
                raise ProfileError(f"profile {self.name!r}: bad column for {code!r}: {ref!r}")
        if self.region is not None:
            region = str(self.region).strip().upper()
            if not re.fullmatch(r"[A-Z]{2}", region):
                raise ProfileError(f"profile {self.name!r}: bad region {self.region!r}")
            object.__setattr__(self, "region", region)
        if self.sign not in SIGN_CONVENTIONS:
            raise ProfileError(f"profile {self.name!r}: unknown sign convention {self.sign!r}")
        if self.delimiter is not None and (len(self.delimiter) != 1 or self.delimiter in "\"\r\n"):
            raise ProfileError(f"profile {self.name!r}: bad delimiter {self.delimiter!r}")
        if self.skip_rows < 0:
            raise ProfileError(f"profile {self.name!r}: skip_rows must be >= 0")
        if not isinstance(self.date_formats, str):
            object.__setattr__(self, "date_formats", tuple(self.date_formats))
        elif self.date_formats != "auto":
            object.__setattr__(self, "date_formats", (self.date_formats,))
        if self.currency:
            object.__setattr__(self, "currency", self.currency.strip().upper())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (lists, not tuples) carrying ``version``."""
        out: dict[str, Any] = {"version": PROFILE_VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("columns", "amount_by_currency"):
                value = {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
            elif f.name == "skip_values":
                value = {k: list(v) for k, v in value.items()}
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MappingProfile:
        """Rebuild a profile saved with :meth:`to_dict`. Raises ProfileError when invalid.

        A dict with only ``name`` naming a built-in profile returns that profile.
        """
        if not isinstance(data, Mapping):
            raise ProfileError("a mapping profile must be a JSON object")
        version = data.get("version", PROFILE_VERSION)
        if not isinstance(version, int) or version > PROFILE_VERSION:
            raise ProfileError(f"mapping profile version {version!r} is newer than this program")
        if set(data) <= {"name", "version"} and data.get("name") in BUILTIN_PROFILES:
            return BUILTIN_PROFILES[data["name"]]
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue  # written by a newer minor version; harmless to ignore
            if key in ("columns", "amount_by_currency"):
                if not isinstance(value, Mapping):
                    raise ProfileError(f"profile {key!r} must be an object")
                value = {str(k): tuple(v) if isinstance(v, list) else v for k, v in value.items()}
            elif key == "skip_values":
                value = {str(k): tuple(str(x) for x in v) for k, v in (value or {}).items()}
            elif key in ("debit_words", "credit_words", "skip_if_blank"):
                value = tuple(str(x) for x in value)
            elif key == "date_formats" and isinstance(value, list):
                value = tuple(value)
            kwargs[key] = value
        if "name" not in kwargs:
            raise ProfileError("a mapping profile needs a name")
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ProfileError(f"bad mapping profile: {exc}") from None


def _p(name: str, label: str, columns: Mapping[str, ColumnRef], **kw: Any) -> MappingProfile:
    return MappingProfile(name=name, label=label, columns=dict(columns), **kw)


BUILTIN_PROFILES: dict[str, MappingProfile] = {p.name: p for p in (
    _p("capitalone", "Capital One card export",
       {"date": "Transaction Date", "posted_date": "Posted Date", "card_last4": "Card No.",
        "description": "Description", "category": "Category", "debit": "Debit",
        "credit": "Credit"},
       sign="debit_credit_columns", currency="USD"),
    _p("pcmastercard", "PC Financial Mastercard export",
       {"merchant": "Merchant Name", "card_last4": "Card Used For Transaction", "date": "Date",
        "time": "Time", "amount": "Amount"},
       sign="positive_is_debit", currency="CAD", dayfirst=False),
    _p("stripe_all", "Stripe payments export (all columns)",
       {"reference": "id", "description": "description", "date": ("created (utc)", "created"),
        "amount": "amount", "currency": "currency", "fee": "fee", "status": "status",
        "customer": "customer_description", "email": "customer_email",
        "card_last4": "card_last4", "card_brand": "card_brand", "cardholder": "card_name",
        "card_fingerprint": "card_fingerprint"}),
    _p("stripe_default", "Stripe payments export (default columns)",
       {"reference": "id", "description": "description", "date": ("created (utc)", "created"),
        "amount": "amount", "currency": "currency", "fee": "fee", "status": "status",
        "customer": "customer_description", "email": "customer_email"}),
    _p("mint", "Mint transactions export",
       {"date": "Date", "merchant": "Description", "description": "Original Description",
        "amount": "Amount", "type": "Transaction Type", "category": "Category",
        "account": "Account Name", "memo": "Notes"},
       sign="type_column", dayfirst=False),
    _p("mint_headerless", "Mint transactions export without a header line",
       {"date": 0, "merchant": 1, "description": 2, "amount": 3, "type": 4, "category": 5,
        "account": 6},
       sign="type_column", dayfirst=False, has_header=False),
    _p("amazon_orders", "Amazon order history report (one row per order)",
       {"reference": "order id", "description": "items", "ship_to": "to", "date": "date",
        "amount": "total", "card_last4": "payments"},
       sign="positive_is_debit", currency="USD", default_merchant="Amazon",
       skip_values={"date": ("pending",)}, skip_if_blank=("amount",)),
    _p("amazon_retail", "Amazon 'Retail.OrderHistory' data-request export",
       {"reference": "Order ID", "date": "Order Date", "amount": "Total Owed",
        "currency": "Currency", "description": "Product Name", "ship_to": "Shipping Address",
        "card_last4": "Payment Instrument Type", "status": "Order Status"},
       sign="positive_is_debit", default_merchant="Amazon",
       skip_values={"status": ("cancelled", "canceled")}),
    _p("paypal_activity", "PayPal activity download",
       {"date": "Date", "time": "Time", "timezone": ("TimeZone", "Time Zone"),
        "merchant": "Name", "type": "Type", "status": "Status", "currency": "Currency",
        "amount": ("Gross", "Amount"), "fee": "Fee", "email": "From Email Address",
        "reference": "Transaction ID", "balance": "Balance"}),
    # Venmo's statement: a peer-to-peer payment names both sides (one of them the account
    # holder). Rows without an ID are the statement's balance and disclaimer lines.
    _p("venmo", "Venmo statement",
       {"reference": "ID", "date": "Datetime", "type": "Type", "status": "Status",
        "description": "Note", "customer": "From", "ship_to": "To",
        "amount": "Amount (total)", "card_last4": "Funding Source"},
       currency="USD", skip_if_blank=("reference",)),
    # Card issuers whose amounts are the card holder's debt: a charge is positive, which
    # no header says. Their description is the merchant's descriptor.
    _p("amex", "American Express card activity",
       {"date": "Date", "merchant": "Description", "cardholder": "Card Member",
        "card_last4": "Account #", "amount": "Amount"},
       sign="positive_is_debit"),
    # American Express's longer export (US and UK): what the statement shows and the
    # merchant's address beside the five columns above (or without the card member's
    # two). A charge is positive here too.
    _p("amex_extended", "American Express card activity (with extended details)",
       {"date": "Date", "merchant": "Description", "amount": "Amount",
        "memo": "Extended Details", "description": "Appears On Your Statement As",
        "reference": "Reference", "category": "Category"},
       sign="positive_is_debit"),
    _p("amex_extended_member", "American Express card activity (with extended details)",
       {"date": "Date", "merchant": "Description", "cardholder": "Card Member",
        "card_last4": "Account #", "amount": "Amount", "memo": "Extended Details",
        "description": "Appears On Your Statement As", "reference": "Reference",
        "category": "Category"},
       sign="positive_is_debit"),
    # Apple Card (Wallet's export): a purchase is positive, a payment or credit negative.
    _p("applecard", "Apple Card transactions",
       {"date": "Transaction Date", "posted_date": "Clearing Date",
        "description": "Description", "merchant": "Merchant", "category": "Category",
        "type": "Type", "amount": "Amount (USD)", "cardholder": "Purchased By"},
       sign="positive_is_debit", currency="USD", dayfirst=False),
    _p("discover", "Discover card statement",
       {"date": "Trans. Date", "posted_date": "Post Date", "merchant": "Description",
        "amount": "Amount", "category": "Category"},
       sign="positive_is_debit", currency="USD", dayfirst=False),
    _p("wellsfargo_headerless", "Wells Fargo account activity (no header line)",
       {"date": 0, "amount": 1, "reference": 3, "description": 4},
       currency="USD", dayfirst=False, has_header=False),
    # Canada. Chequing descriptions name the kind of transaction and then the other side;
    # card descriptions are the merchant's descriptor.
    _p("rbc", "RBC Royal Bank account and card activity",
       {"account": "Account Number", "date": "Transaction Date", "reference": "Cheque Number",
        "description": "Description 1", "merchant": "Description 2"},
       amount_by_currency={"CAD": "CAD$", "USD": "USD$"}, dayfirst=False, region="CA"),
    _p("td_headerless", "TD Canada Trust account or card activity (no header line)",
       {"date": 0, "description": 1, "debit": 2, "credit": 3, "balance": 4},
       sign="debit_credit_columns", dayfirst=False, has_header=False, region="CA"),
    _p("cibc_headerless", "CIBC account activity (no header line)",
       {"date": 0, "description": 1, "debit": 2, "credit": 3},
       sign="debit_credit_columns", dayfirst=False, has_header=False, region="CA"),
    _p("cibc_card_headerless", "CIBC credit card activity (no header line)",
       {"date": 0, "merchant": 1, "debit": 2, "credit": 3, "card_number": 4},
       sign="debit_credit_columns", dayfirst=False, has_header=False, region="CA"),
    _p("scotiabank_headerless", "Scotiabank account activity (no header line)",
       {"date": 0, "amount": 1, "type": 3, "description": 4},
       dayfirst=False, has_header=False, region="CA"),
    _p("bmo_card", "BMO credit card transactions",
       {"reference": "Item #", "card_number": "Card #", "date": "Transaction Date",
        "posted_date": "Posting Date", "amount": "Transaction Amount",
        "merchant": "Description"},
       sign="positive_is_debit", dayfirst=False, region="CA"),
    _p("bmo_bank", "BMO bank account transactions",
       {"card_number": "First Bank Card", "type": "Transaction Type", "date": "Date Posted",
        "amount": "Transaction Amount", "description": "Description"},
       dayfirst=False, region="CA"),
    _p("tangerine", "Tangerine account or card transactions",
       {"date": "Date", "type": "Transaction", "merchant": "Name", "description": "Memo",
        "amount": "Amount"},
       dayfirst=False, region="CA"),
    # Desjardins (AccèsD): branch, folio and kind of account, date, sequence number,
    # description, cheque, withdrawal, deposit, then interest, capital, advance and
    # repayment (loans and lines of credit) and the balance.
    _p("desjardins_headerless", "Desjardins (AccèsD) account activity (no header line)",
       {"account": 1, "date": 3, "reference": 4, "description": 5, "debit": 7, "credit": 8,
        "balance": 13},
       sign="debit_credit_columns", has_header=False, region="CA"),
    _p("nbc", "National Bank (Banque Nationale) account activity",
       {"date": "Date", "description": "Description", "category": "Catégorie",
        "debit": "Débit", "credit": "Crédit", "balance": "Solde"},
       sign="debit_credit_columns", region="CA"),
    # Swedbank in Lithuania, Latvia and Estonia: one layout in three languages. The amount
    # is unsigned beside a D/K column; the opening and closing balance and the period's
    # turnover are rows too, told apart by their code (AS, LS, K2).
    _p("swedbank_baltic", "Swedbank (Lithuania, Latvia, Estonia) account statement",
       {"account": ("Sąskaitos Nr.", "Klienta konts", "Kliendi konto"),
        "date": ("Data", "Datums", "Kuupäev"),
        "merchant": ("Gavėjas", "Saņēmējs/Maksātājs", "Saaja/Maksja"),
        "description": ("Paaiškinimai", "Informācija saņēmējam", "Selgitus"),
        "amount": ("Suma", "Summa"), "currency": ("Valiuta", "Valūta", "Valuuta"),
        "type": ("D/K", "Debets/Kredīts", "Deebet/Kreedit"),
        "reference": ("Įrašo Nr.", "Arhīva kods", "Arhiveerimistunnus"),
        "category": ("Kodas", "Maksājuma veids", "Tehingu tüüp")},
       sign="type_column", debit_words=("D",), credit_words=("K",),
       skip_values={"category": ("AS", "LS", "K2")}),
    # The Netherlands. De Volksbank (ASN, SNS, RegioBank): no header line; 19 columns, the
    # balance before the mutation ahead of its amount, the description in single quotes.
    _p("volksbank_nl_headerless", "ASN, SNS or RegioBank transactions (no header line)",
       {"date": 0, "account": 1, "counterparty_account": 2, "merchant": 3, "currency": 9,
        "amount": 10, "posted_date": 12, "type": 14, "reference": 15, "description": 17},
       dayfirst=True, has_header=False, region="NL"),
    # ABN AMRO's tab-separated .TAB download: no header line; the account, its currency,
    # the booking date, the balance before and after, the value date, the signed amount
    # and the description (the other side inside it).
    _p("abnamro_headerless", "ABN AMRO transactions (.TAB, no header line)",
       {"account": 0, "currency": 1, "date": 2, "balance": 4, "posted_date": 5, "amount": 6,
        "description": 7},
       dayfirst=True, has_header=False, region="NL"),
    # United Kingdom.
    _p("barclays", "Barclays account activity",
       {"reference": "Number", "date": "Date", "account": "Account", "amount": "Amount",
        "type": "Subcategory", "description": "Memo"},
       dayfirst=True, region="GB"),
    _p("lloyds", "Lloyds, Halifax or Bank of Scotland account activity",
       {"date": "Transaction Date", "type": "Transaction Type", "account": "Account Number",
        "description": "Transaction Description", "debit": "Debit Amount",
        "credit": "Credit Amount", "balance": "Balance"},
       sign="debit_credit_columns", dayfirst=True, region="GB"),
    _p("natwest", "NatWest or RBS account activity",
       {"date": "Date", "type": "Type", "description": "Description", "amount": "Value",
        "balance": "Balance", "account": "Account Number"},
       dayfirst=True, region="GB"),
    _p("hsbc_uk_headerless", "HSBC UK account activity (no header line)",
       {"date": 0, "description": 1, "amount": 2},
       dayfirst=True, has_header=False, region="GB"),
    # Australia.
    _p("commbank_headerless", "CommBank (Commonwealth Bank) transactions (no header line)",
       {"date": 0, "amount": 1, "description": 2, "balance": 3},
       dayfirst=True, has_header=False, region="AU"),
    _p("anz_headerless", "ANZ transactions (no header line)",
       {"date": 0, "amount": 1, "description": 2},
       dayfirst=True, has_header=False, region="AU"),
    _p("westpac", "Westpac transactions",
       {"account": "Bank Account", "date": "Date", "description": "Narrative",
        "debit": "Debit Amount", "credit": "Credit Amount", "balance": "Balance",
        "category": "Categories", "reference": "Serial"},
       sign="debit_credit_columns", dayfirst=True, region="AU"),
)}

# Built-ins that are only chosen explicitly or by the shape of their rows (no header to
# recognise them by).
_EXPLICIT_ONLY = frozenset(name for name, p in BUILTIN_PROFILES.items() if not p.has_header)


def builtin_profile(name: str) -> MappingProfile:
    """The built-in profile called ``name``. Raises ProfileError when there is none."""
    try:
        return BUILTIN_PROFILES[name]
    except KeyError:
        raise ProfileError(f"no built-in mapping profile {name!r}") from None


def _ref_names(ref: ColumnRef) -> tuple[str, ...]:
    if isinstance(ref, int):
        return ()
    if isinstance(ref, str):
        return (normalise_header(ref),)
    return tuple(normalise_header(r) for r in ref)


def _profile_matches(profile: MappingProfile, headers: set[str]) -> int:
    """How many of the profile's columns are present; 0 if any mapped column is absent."""
    if not profile.has_header:
        return 0
    hits = 0
    for ref in (*profile.columns.values(), *profile.amount_by_currency.values()):
        names = _ref_names(ref)
        if not names or not any(n in headers for n in names):
            return 0
        hits += 1
    return hits


# Header synonyms of the generic guesser, per field, in English, French, German, Spanish,
# Dutch, the Nordic and Baltic languages, Czech and Polish (and the odd Italian/Portuguese
# word). Order matters: earlier is preferred, and a
# column taken by an earlier field is not offered to a later one. Money columns are
# matched without a currency or sign written into the header ("Amount (EUR)", "Belastung
# CHF", "Withdrawal (-)"): see :func:`_header_keys`.
_TX_SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": ("transaction date", "trans date", "trans. date", "trade date", "transaction time",
             "date",
             "datum", "belegdatum", "einkaufsdatum", "buchungstag", "buchungsdatum", "buchung",
             "transaktionsdatum", "fecha",
             "fecha operación", "fecha operacion", "fecha de operación", "date opération",
             "date operation", "date de l'opération", "date de transaction", "transactiedatum",
             "boekdatum", "data", "data operazione", "timestamp", "datetime", "created",
             "created (utc)", "date (utc)", "order date", "purchase date", "booking date",
             "started date", "datums", "kuupäev", "bokföringsdag", "bokföringsdatum",
             "transaktionsdag", "kirjauspäivä", "päivämäärä", "dato", "bogføringsdato",
             # Belgian (the execution date), Czech, Slovak and Polish.
             "uitvoeringsdatum", "date d'exécution", "date d'execution", "datum provedení",
             "datum transakce", "dátum transakcie", "data operacji", "data transakcji",
             # Fidelity's account history: the day the entry was run.
             "run date", "transfer date",
             # ABN AMRO's spreadsheet download (the .TAB's columns, named).
             "transactiondate"),
    "time": ("time", "transaction time", "uhrzeit", "zeit", "heure", "hora", "tijd", "ora",
             "trade time"),
    "posted_date": ("posted date", "post date", "posting date", "posted", "valuta",
                    "valutadatum", "wertstellung", "wertstellungstag", "wertstellungsdatum",
                    "date de valeur",
                    "fecha valor",
                    "rentedatum", "data valuta", "settlement date", "value date",
                    "completed date", "date valeur", "datum zaúčtování", "data księgowania",
                    "data waluty", "f. valor", "booked", "valuedate"),
    "amount": ("amount", "transaction amount", "betrag", "umsatz", "montant", "importe",
               "bedrag", "importo", "valor", "total", "gross", "brutto", "brut",
               "net amount", "value", "suma", "summa", "belopp", "beløb", "beløp", "määrä",
               "objem", "částka", "zaúčtovaná částka", "suma transakcie", "kwota",
               "kwota transakcji (waluta rachunku)", "kwota operacji", "cantidad",
               # GnuCash's register export: with the book's currency sign, then without.
               "amount with sym", "amount num."),
    "debit": ("debit", "debits", "debit amount", "withdrawal", "withdrawals", "money out",
              "paid out", "soll", "ausgang", "belastung", "belastungen", "lastschrift",
              "débit", "cargo", "cargos", "debe", "uitgaven", "af"),
    "credit": ("credit", "credits", "credit amount", "deposit", "deposits", "money in",
               "paid in", "haben", "eingang", "gutschrift", "gutschriften", "crédit",
               "abono", "abonos", "haber", "inkomsten", "bij"),
    "currency": ("currency", "ccy", "currency code", "währung", "waehrung", "whg", "devise",
                 "monnaie", "moneda", "divisa", "munteenheid", "munt", "valuta code",
                 "valutacode", "valutasoort", "valiuta", "valūta", "valuuta", "valuutta",
                 "valuta rekening", "devise du compte", "měna", "mena", "měna účtu", "waluta",
                 "waluta rachunku", "ccy.", "mutationcode"),
    "merchant": ("merchant", "merchant name", "payee", "payee name", "name", "naam", "nom",
                 "name / description", "naam / omschrijving", "empfänger",
                 "zahlungsempfänger", "beguenstigter/zahlungspflichtiger",
                 "auftraggeber/empfänger", "auftraggeber / empfänger",
                 "bénéficiaire", "beneficiaire", "comercio", "beneficiario", "counterparty",
                 "counter party", "tegenpartij", "naam tegenpartij", "tegenrekeninghouder",
                 "naam tegenrekening", "partner name", "store", "store name", "vendor",
                 "gavėjas", "saņēmējs/maksātājs", "saaja/maksja", "beneficiary's name",
                 "beneficiary name", "beneficiary", "název protiúčtu", "nazev protiuctu",
                 "protistrana", "nadawca/odbiorca", "odbiorca/nadawca", "dane kontrahenta",
                 "kontrahent", "nom de la contrepartie", "naam van de tegenpartij",
                 "name des zahlungsbeteiligten", "name zahlungsbeteiligter",
                 "name of sender/receiver"),
    # UBS: "Description1" (the other side) before a "Description" naming the account.
    "description": ("description1", "description 1", "description", "transaction description",
                    "details", "narrative",
                    "particulars", "memo", "omschrijving", "omschrijving-1", "mededelingen",
                    "beschreibung", "verwendungszweck", "umsatztext", "buchungstext", "libellé",
                    "libelle", "libellé de l'opération", "descripción", "descripcion",
                    "concepto", "descrizione", "descrição", "reference text",
                    "payment reference", "original description", "reason",
                    "umsatzbeschreibung", "paaiškinimai", "informācija saņēmējam", "selgitus",
                    "zpráva pro příjemce", "opis operacji", "opis transakcji", "tytuł",
                    "tytuł operacji", "communication", "mededeling", "action",
                    "transaction details", "référence de paiement", "referencia de pago",
                    "causale", "booking text", "transactions", "merchant/description",
                    "notes"),
    "mcc": ("mcc", "merchant category code", "category code", "sic", "mcc code"),
    "card_number": ("card number", "card no", "card no.", "card", "pan", "kartennummer",
                    "numéro de carte", "numero de carte", "número de tarjeta",
                    "numero de tarjeta", "kaartnummer"),
    "card_last4": ("card last 4", "card last4", "last 4", "last4", "last four",
                   "card last four digits", "card ending", "card used for transaction"),
    "cardholder": ("cardholder", "card holder", "cardholder name", "card holder full name",
                   "card member", "card name", "name on card", "karteninhaber", "titulaire",
                   "titular", "kaarthouder", "account/cardholder", "konto-/karteninhaber"),
    "account": ("bsb / account number", "accountnumber", "account", "account number",
                "account no", "account name", "iban",
                "iban/bban", "konto", "kontonummer", "auftragskonto", "compte",
                "numéro de compte", "cuenta", "número de cuenta", "rekening",
                "rekeningnummer", "sąskaitos nr.", "klienta konts", "kliendi konto",
                "číslo účtu", "rachunek", "numero di conto", "full account name"),
    "counterparty_account": ("counterparty account", "counterparty iban", "partner iban",
                             "payee account number", "tegenrekening", "tegenrekeningnummer",
                             "tegenrekening iban/bban", "kontonummer/iban",
                             "iban zahlungsbeteiligter", "iban tegenpartij",
                             "beneficiary's account", "beneficiary account", "protiúčet",
                             "číslo protiúčtu", "numer konta", "nr rachunku",
                             "rachunek kontrahenta", "contrepartie", "tegenrekening iban",
                             "iban des zahlungsbeteiligten"),
    "ip": ("ip", "ip address", "ip addr", "client ip", "ip adresse", "adresse ip",
           "dirección ip", "ip-adres"),
    "email": ("email", "e-mail", "email address", "e-mail address", "customer email",
              "from email address", "absender e-mail-adresse", "de l'adresse email",
              "courriel", "correo", "correo electrónico"),
    "phone": ("phone", "phone number", "telephone", "telefon", "téléphone", "teléfono",
              "telefoon", "mobile"),
    "reference": ("reference", "ref", "reference number", "transaction id", "id",
                  "referenz", "référence", "referencia", "referentie", "kenmerk",
                  "transactiereferentie", "transaktionscode", "numéro de transaction",
                  "transferwise id", "fitid", "order id", "check #", "check number",
                  "check no", "check or slip #", "archive id", "id pohybu", "id transakce",
                  "volgnummer", "numéro de séquence", "numero de sequence"),
    "type": ("type", "transaction type", "trans type", "debit/credit", "dr/cr", "cr/dr",
             "af bij", "af/bij", "buchungsart", "soll/haben", "type d'opération",
             "tipo", "typ", "mutatiesoort", "indicator", "base type", "buchungstext",
             "posting text", "creditdebet", "credit/debet", "debet/credit", "d/k",
             "debets/kredīts", "deebet/kreedit", "d/c", "(d/c)", "c/d", "(c/d)",
             "typ transakcji", "typ operacji", "type de transaction", "transaction",
             "transaktionstyp", "tipo de transacción", "tipo di transazione"),
    "category": ("category", "kategorie", "catégorie", "categorie", "categoría", "categoria",
                 "kategoria", "full category path", "sector", "branche"),
    "balance": ("balance", "running balance", "runningbalance", "running bal.", "saldo",
                "saldo na trn", "saldo na mutatie", "solde", "kontostand", "guthaben",
                "saldo po operacji", "saldo po transakcji", "zůstatek", "current balance",
                "endsaldo",
                "available balance"),
    "status": ("status", "state", "statut", "état", "etat", "estado"),
    "timezone": ("timezone", "time zone", "zeitzone", "fuseau horaire", "zona horaria"),
    "fee": ("fee", "fees", "total fees", "gebühr", "gebühren", "frais", "comisión",
            "commission fee", "commission", "poplatek"),
}
# Headers of a column that only says which way the money went (amounts are unsigned).
_DIRECTION_HEADERS = frozenset({"debit/credit", "dr/cr", "cr/dr", "af bij", "af/bij",
                                "soll/haben", "indicator", "creditdebet", "credit/debet",
                                "debet/credit", "d/k", "debets/kredīts", "deebet/kreedit",
                                "d/c", "(d/c)", "c/d", "(c/d)"})
# An account number's header (not a bare "Account", which names the statement's own
# account or funding source even beside the other side's name: Cash App).
_ACCOUNT_NUMBER_HEADERS = frozenset({"account number", "account no", "kontonummer",
                                     "numéro de compte", "número de cuenta", "numero di conto",
                                     "rekeningnummer"})
# A column naming the currency of the amount just before it, when the statement's own
# currency is elsewhere.
_ORIGINAL_CURRENCY_HEADERS = frozenset({"original currency", "originalwährung",
                                        "monnaie d'origine", "devise d'origine"})
# Money columns: matched on the header without its currency or sign designation.
_MONEY_FIELDS = frozenset({"amount", "debit", "credit", "balance", "fee"})

_BOOKING_SYNONYMS: dict[str, tuple[str, ...]] = {
    # Jail management and records systems (US/Canada), UK custody records, and the
    # CamelCase field names some of them export ("BookingNumber", "ArrestDate").
    "booking_number": ("booking number", "booking no", "booking no.", "booking #",
                       "booking id", "booking num", "booking nbr", "bookingnumber",
                       "bookingno", "bookingid", "book number", "book no", "book #",
                       "bkg #", "bkg no", "bkg number", "booking", "custody number",
                       "custody no", "custody record number", "custody record no",
                       "jail number", "jail id", "arrest number", "arrest no", "arrest #",
                       "arrest id", "inmate number", "inmate id", "inmate #", "inmate no",
                       # Police open-data arrest lists: NYPD "ARREST_KEY", Chicago "CB_NO"
                       # (central booking number), LAPD "Report ID", Baltimore "Arrest".
                       "arrest key", "arrestnumber", "arrest nbr", "arrest num", "arrestid",
                       "cb no", "cb number", "cb #", "central booking number",
                       "report id", "report number", "arrest report number", "arrest"),
    "last_name": ("last name", "lastname", "surname", "family name", "last", "lname",
                  "last nm", "name last", "arrestee last name", "defendant last name",
                  "inmate last name", "subject last name"),
    "first_name": ("first name", "firstname", "given name", "given names", "forename",
                   "forenames", "first", "fname", "first nm", "name first",
                   "arrestee first name", "defendant first name", "inmate first name",
                   "subject first name"),
    "middle_name": ("middle name", "middlename", "middle", "middle names", "middle initial",
                    "mi", "m.i.", "mname", "middle nm"),
    "full_name": ("name", "full name", "fullname", "inmate name", "arrestee", "arrestee name",
                  "arrestee's name", "defendant", "defendant name", "person name", "inmate",
                  "offender", "offender name", "subject name", "detainee", "detainee name",
                  "detained person", "prisoner", "prisoner name", "accused", "accused name",
                  "name (last, first)", "name (last, first middle)", "last, first",
                  "last, first middle", "last name, first name"),
    "dob": ("dob", "date of birth", "birth date", "birthdate", "d.o.b.", "d.o.b",
            "dateofbirth", "birth dt", "birthday"),
    "sex": ("sex", "gender", "sex code", "gender code", "perp sex", "arrestee sex",
            "arrestee gender", "suspect sex", "subject sex", "defendant sex"),
    "race": ("race", "ethnicity", "race code", "race/ethnicity", "ethnic origin",
             "ethnicity code", "self defined ethnicity", "officer defined ethnicity",
             "perp race", "arrestee race", "suspect race", "subject race", "descent code",
             "descent", "defendant race"),
    # A description before a bare "Charge": beside one, "Charge" holds the charge's code
    # (LAPD "459PC", Baltimore "1 1111"), kept as the charge's code by the reader.
    "charges": ("charges", "charge description", "charge desc", "chargedescription",
                "charge", "arrest charge", "arrest charges", "pd desc", "offense",
                "offenses", "offence", "offences", "charge(s)", "offense description",
                "offence description", "offense desc", "statute description", "crime",
                "crimes", "charge text", "charge name"),
    "arrest_time": ("arrest date/time", "arrest datetime", "arrest date time",
                    "arrest timestamp", "arrested at", "arrest date and time",
                    "arrest date & time", "arrestdatetime", "date/time of arrest",
                    "date and time of arrest", "date/time arrested"),
    "arrest_date": ("arrest date", "date arrested", "arrested", "date of arrest", "arrest dt",
                    "arrestdate", "arr date", "arrested date", "arrested on"),
    "booking_time": ("booking date/time", "booking datetime", "booking date time",
                     "booked at", "book date/time", "booking timestamp",
                     "booking date and time", "booking date & time", "bookingdatetime",
                     "date/time booked", "booked date/time", "date/time of booking",
                     "intake date/time", "admission date/time", "commitment date/time",
                     "custody date/time"),
    "booking_date": ("booking date", "book date", "date booked", "booked", "booked date",
                     "booking dt", "bookingdate", "bkg date", "date of booking", "booked on",
                     "intake date", "admission date", "admit date", "commitment date",
                     "commit date", "custody date"),
    "release_time": ("release date/time", "release datetime", "released at",
                     "release date and time", "release date & time", "releasedatetime",
                     "date/time released", "discharge date/time"),
    # Not "projected"/"scheduled release date": a planned date is no release.
    "release_date": ("release date", "date released", "released", "release dt",
                     "releasedate", "rel date", "date of release", "released on",
                     "discharge date", "date discharged", "date out", "out date"),
    "agency": ("agency", "arresting agency", "arrest agency", "agency name",
               "arresting agency name", "arrest agency name", "agencyname",
               "arresting department", "arresting dept", "department", "police agency",
               "law enforcement agency", "arresting force", "police force", "force", "ori"),
    "arresting_officer": ("arresting officer", "officer", "officer name", "arrest officer",
                          "arresting officer name", "arrestingofficer", "arresting ofc",
                          "arr officer", "arresting deputy", "deputy", "arresting trooper",
                          "officer in charge", "oic"),
    "address": ("address", "street", "street address", "residence", "home address",
                "address line 1", "address 1", "address1", "addr", "residence address",
                "res address", "street 1", "address of record", "home street"),
    "city": ("city", "town", "city/town", "res city", "residence city", "home city",
             "municipality"),
    "state": ("state", "province", "region", "st", "state/province", "prov", "state code",
              "res state", "home state"),
    "postal_code": ("zip", "zip code", "zipcode", "postal code", "postcode", "post code",
                    "zip/postal code", "postal", "zip5", "res zip", "home zip"),
    "phone": ("phone", "phone number", "telephone", "home phone", "contact phone"),
    "email": ("email", "e-mail", "email address"),
}
# Booking time columns that hold only the time of day, joined to the matching date column.
_BOOKING_TIME_OF_DAY: dict[str, tuple[str, ...]] = {
    "arrest_time": ("arrest time", "time arrested", "time of arrest", "arrest tm",
                    "arresttime", "arr time"),
    "booking_time": ("booking time", "book time", "time booked", "bkg time", "bookingtime",
                     "booked time", "time of booking", "intake time", "admission time",
                     "admit time", "commitment time", "commit time", "custody time"),
    "release_time": ("release time", "time released", "rel time", "releasetime",
                     "discharge time", "time of release", "time out", "out time"),
}


def _without_note(header: str) -> str:
    """A header without the note report tools add at its end: "booking date (mm/dd/yyyy)",
    "dob [dd.mm.yyyy]", "dob:" → "booking date", "dob", "dob" (string steps: a pattern
    took seconds on a header of a hundred thousand colons)."""
    if header.endswith((":", "*")):
        return header.rstrip(":*").rstrip()
    for opening, closing in ("()", "[]"):
        if header.endswith(closing):
            start = header.rfind(opening)
            if start >= 0 and closing not in header[start + 1:-1]:
                return header[:start].rstrip()
    return header


# Headers of an anonymised arrest list's per-charge or arrestee columns (read by the
# booking reader): with an arrest number and date they tell such a list from other tables.
_ARREST_DETAIL_HEADERS = re.compile(
    r"(?:charge|offen[cs]e)s?\s*(?:\d{1,2}\s*)?(?:statute|description|desc|type|class|level|"
    r"degree|code)|law cat cd|law code|pd cd|severity of charge|arrest type code|age group|"
    r"age|arrestee age.*|age at arrest")


def _anonymised_arrests(columns: Mapping[str, ColumnRef], norm: Sequence[str]) -> bool:
    """Whether the columns found without a name are a police arrest list (NYPD, LAPD,
    Chicago, Baltimore, Dallas open data): an arrest number and an arrest date, and
    charges or the arrestee's descriptors. A booking date alone is not enough: a hotel's
    "Booking ID, Booking Date, Charges" is no arrest."""
    if "booking_number" not in columns:
        return False
    if any(k.startswith("arrest_") for k in columns):
        return ("charges" in columns or "sex" in columns or "race" in columns
                or any(_ARREST_DETAIL_HEADERS.fullmatch(h) for h in norm))
    return (any(k.startswith("booking_") and k != "booking_number" for k in columns)
            and "charges" in columns and ("sex" in columns or "race" in columns))


def guess_profile(headers: Sequence[Any], target: str = "transaction") -> MappingProfile | None:
    """A profile built from common header names, or None when the essentials are missing.

    Transactions need a date and an amount (or debit/credit columns); bookings need a
    name plus a booking number, a date or charges, or, in a police arrest list without
    names (:func:`_anonymised_arrests`), an arrest number and date.
    """
    if target == "transaction":
        return _guess_transaction_profile(headers)
    norm = [normalise_header(h) for h in headers]
    taken: set[int] = set()
    columns: dict[str, ColumnRef] = {}
    synonyms = _TX_SYNONYMS if target == "transaction" else _BOOKING_SYNONYMS
    for fld, names in synonyms.items():
        if target == "transaction" and fld not in TRANSACTION_FIELDS:
            continue
        for name in names:
            if name in norm and norm.index(name) not in taken:
                idx = norm.index(name)
                columns[fld] = str(headers[idx]).replace("\ufeff", "").strip()
                taken.add(idx)
                break
    if target == "booking":
        # Report tools add a format, unit or colon: "Booking Date (MM/DD/YYYY)", "DOB:".
        loose = [_without_note(h) for h in norm]
        for fld, names in _BOOKING_SYNONYMS.items():
            for name in names if fld not in columns else ():
                if name in loose and loose.index(name) not in taken:
                    columns[fld] = str(headers[loose.index(name)]).replace("\ufeff", "").strip()
                    taken.add(loose.index(name))
                    break
        for fld, names in _BOOKING_TIME_OF_DAY.items():
            for name in names:
                if name in loose and loose.index(name) not in taken:
                    date_field = fld.replace("_time", "_date")
                    if date_field not in columns:
                        continue
                    # "Booking Date" + "Booking Time": keep them apart, joined when read.
                    columns[fld] = str(headers[loose.index(name)]).strip()
                    taken.add(loose.index(name))
                    break
        for idx, h in enumerate(norm):
            m = re.fullmatch(r"(?:charge|offense|offence)\s*#?\s*(\d{1,2})", h)
            if m and idx not in taken:
                columns[f"charge_{int(m.group(1))}"] = str(headers[idx]).strip()
                taken.add(idx)
        has_id = "booking_number" in columns
        has_name = "full_name" in columns or "last_name" in columns
        has_fact = any(k.startswith(("charge", "arrest", "booking_")) for k in columns)
        if not has_name and not _anonymised_arrests(columns, norm):
            return None
        if has_name and not (has_id or has_fact):
            return None
        if "arrest_date" in columns and "arrest_time" not in columns and "time" in norm and (
                norm.index("time") not in taken):
            # An arrest list's plain "Time" beside its "Arrest Date" (LAPD, Wichita).
            columns["arrest_time"] = str(headers[norm.index("time")]).strip()
            taken.add(norm.index("time"))
        if (has_id or "charges" in columns) and not any(
                k.endswith(("_date", "_time")) and not k.startswith("release") for k in columns):
            # A booking log's plain "Date"/"Time" is when the person was booked. Only read
            # so once the list is known to be bookings: a statement has a "Date" too.
            for fld, name in (("booking_date", "date"), ("booking_time", "time")):
                if name in norm and norm.index(name) not in taken and (
                        fld == "booking_date" or "booking_date" in columns):
                    columns[fld] = str(headers[norm.index(name)]).strip()
                    taken.add(norm.index(name))
        # A date header that states its order settles the file's: "DOB (DD/MM/YYYY)".
        stated = " ".join(normalise_header(ref) for fld, ref in columns.items()
                          if fld == "dob" or fld.endswith(("_date", "_time")))
        dayfirst = (True if re.search(r"\bdd[-/.]mm\b", stated)
                    else False if re.search(r"\bmm[-/.]dd\b", stated) else None)
        return MappingProfile(name="guessed", label="Guessed from header names",
                              target="booking", columns=columns, dayfirst=dayfirst)
    return None


_HEADER_SIGN = re.compile(r"\s*\(\s*[-+\u2212]\s*\)$")
_HEADER_CURRENCY = re.compile(r"\s*[(\[]\s*(?:[Ii]n\s+)?([A-Z]{3}|€|£|\$)\s*[)\]]$"
                              r"|\s(?:[Ii]n\s+)?([A-Z]{3}|€|£)$")
# The currency signs a header may stand for a code with (DKB's "Betrag (€)"): only those
# that name one currency. A "$" (Fidelity's "Amount ($)") stays "$": the import region's
# dollar, marked as assumed, as a "$" written in the cells is.
_HEADER_SIGN_CODES = {"€": "EUR", "£": "GBP"}


def _header_keys(text: Any) -> tuple[str, str, str | None]:
    """How a header cell is compared with the synonyms: ``(key, money_key, currency)``.

    ``key`` is the normalised header without the ``*`` that marks a required column
    (Xero's ``*Date``) or the ``#`` that starts a column name (mBank's ``#Kwota``).
    ``money_key`` also drops what a money column's header adds to its name: a sign
    (``Withdrawal (-)``) and a currency code written in capitals (``Amount (EUR)``,
    ``Belastung CHF``, ``Gutschrift in CHF``) or a sign that names one currency
    (``Betrag (€)``), returned as ``currency``.
    """
    raw = "" if text is None else str(text).replace("\ufeff", "").strip().strip("*").strip()
    if raw[:1] == "#" and raw[1:2].isalpha():
        raw = raw[1:]
    money = _HEADER_SIGN.sub("", raw)
    currency = None
    m = _HEADER_CURRENCY.search(money)
    if m and m.start() > 0:
        currency = m.group(1) or m.group(2)
        currency = _HEADER_SIGN_CODES.get(currency, currency)
        money = money[:m.start()]
    return normalise_header(raw), normalise_header(money), currency


def _guess_transaction_profile(headers: Sequence[Any]) -> MappingProfile | None:
    """The transaction branch of :func:`guess_profile`.

    Beyond matching synonyms it reads what a bank's header says about the values: the
    currency of an ``Amount (GBP)`` column, a posting date as the only date, and, when a
    name such as ``Währung`` appears twice (ING's balance and amount currencies), the
    one after the amount column (named by position, since its name is ambiguous).
    """
    keyed = [_header_keys(h) for h in headers]
    norm = [normalise_header(h) for h in headers]
    taken: set[int] = set()
    index: dict[str, int] = {}
    for fld, names in _TX_SYNONYMS.items():
        keys = [k[1] if fld in _MONEY_FIELDS else k[0] for k in keyed]
        for name in names:
            free = [i for i, k in enumerate(keys) if k == name and i not in taken]
            if not free:
                continue
            idx = free[0]
            if fld == "currency" and len(free) > 1:
                money_at = index.get("amount", index.get("debit", index.get("credit", -1)))
                idx = next((i for i in free if i > money_at), idx)
            index[fld] = idx
            taken.add(idx)
            break
    direction = next((i for i, k in enumerate(keyed)
                      if k[0] in _DIRECTION_HEADERS and i not in taken), None)
    if direction is None and "type" in index and keyed[index["type"]][0] in _DIRECTION_HEADERS:
        direction = index["type"]
    if direction is not None and not any(f in index for f in ("amount", "debit", "credit")):
        # Nationwide's midata export: beside a "Type", "Debit/Credit" holds the signed
        # amount itself ("-£4.50", "+£2,100.00"), not the way it went.
        if index.get("type") == direction:
            del index["type"]
        index["amount"] = direction
        taken.add(direction)
    elif direction is not None and "amount" in index:
        # A column that only says which way the money went ("(D/C)") is the one the sign
        # is read from, even beside a column called "Type" (SEB's payment kind, kept with
        # the row's other columns).
        if "type" in index:
            taken.discard(index["type"])
        index["type"] = direction
        taken.add(direction)
    if ("debit" in index and "credit" in index and "amount" in index
            and keyed[index["amount"] + 1: index["amount"] + 2] != []
            and keyed[index["amount"] + 1][0] in _ORIGINAL_CURRENCY_HEADERS):
        # UBS's card export: "Amount" is in the currency paid in (named beside it); what
        # the card was charged or credited is in "Debit"/"Credit".
        del index["amount"]
    if "date" not in index and "posted_date" in index:
        index["date"] = index.pop("posted_date")  # Chase: "Posting Date" is the only date
    elif "date" not in index and "time" in index:
        index["date"] = index.pop("time")  # Up: "Time" is the only date (a timestamp)
    if ("account" in index and "merchant" in index and "counterparty_account" not in index
            and index["account"] == index["merchant"] + 1
            and keyed[index["account"]][0] in _ACCOUNT_NUMBER_HEADERS):
        # N26's older export: "Payee, Account number" is the payee's account, not the
        # statement's own.
        index["counterparty_account"] = index.pop("account")
    if "date" not in index:
        return None
    sign = "negative_is_debit"
    if "amount" not in index:
        if "debit" in index or "credit" in index:
            sign = "debit_credit_columns"
        else:
            return None
    elif "type" in index and keyed[index["type"]][0] in _DIRECTION_HEADERS:
        # A column that only says which way the money went: amounts are unsigned.
        sign = "type_column"
    currency = next((keyed[index[f]][2] for f in ("amount", "debit", "credit")
                     if f in index and keyed[index[f]][2]), None)
    columns: dict[str, ColumnRef] = {
        fld: idx if norm.count(norm[idx]) > 1 else str(headers[idx]).replace("\ufeff", "").strip()
        for fld, idx in index.items()}
    return MappingProfile(name="guessed", label="Guessed from header names",
                          columns=columns, sign=sign, currency=currency)


def auto_profile(headers: Sequence[Any], target: str = "transaction") -> MappingProfile | None:
    """The built-in profile whose columns all appear in ``headers`` (most specific wins),
    else the generic guess, else None."""
    present = {normalise_header(h) for h in headers}
    best: tuple[int, MappingProfile] | None = None
    for profile in BUILTIN_PROFILES.values():
        if profile.target != target or profile.name in _EXPLICIT_ONLY:
            continue
        score = _profile_matches(profile, present)
        if score and (best is None or score > best[0]):
            best = (score, profile)
    if best is not None:
        return best[1]
    return guess_profile(headers, target)


# ---------------------------------------------------------------------------------------
# Amounts
# ---------------------------------------------------------------------------------------

_SYMBOLS: tuple[tuple[str, str | None], ...] = (
    ("US$", "USD"), ("CA$", "CAD"), ("C$", "CAD"), ("AU$", "AUD"), ("A$", "AUD"),
    ("NZ$", "NZD"), ("HK$", "HKD"), ("S$", "SGD"), ("R$", "BRL"), ("MX$", "MXN"),
    ("$", None), ("€", "EUR"), ("£", "GBP"), ("¥", None), ("₹", "INR"), ("₽", "RUB"),
    ("₩", "KRW"), ("₺", "TRY"), ("₪", "ILS"), ("₫", "VND"), ("₴", "UAH"), ("₦", "NGN"),
    ("₱", "PHP"), ("฿", "THB"), ("zł", "PLN"), ("kr.", None), ("kr", None), ("Fr.", "CHF"),
    ("Kč", "CZK"), ("Ft", "HUF"), ("lei", "RON"), ("R", "ZAR"),
)
_MINUS = "-\u2212\u2012\u2013"
_SPACES = "\u00a0\u202f\u2009\u2007 "


@dataclass(frozen=True)
class ParsedAmount:
    """An amount as written: signed value, currency stated beside it, CR/DR marker, and
    a currency sign that names no single currency (``$``, ``¥``, ``kr``): which one it
    is depends on where the statement comes from, which the text does not say."""

    value: Decimal
    currency: str | None = None
    marker: str | None = None  # "CR" or "DR" when the text carried one
    symbol: str | None = None


def _strip_amount_decorations(s: str) -> tuple[str, bool, str | None, str | None, str | None]:
    negative = False
    currency: str | None = None
    marker: str | None = None
    symbol: str | None = None
    for _ in range(8):
        before = s
        s = s.strip(_SPACES)
        if len(s) >= 2 and s[0] == "(" and s[-1] == ")":
            negative = not negative
            s = s[1:-1]
            continue
        if s and s[0] in _MINUS:
            negative = not negative
            s = s[1:]
            continue
        if s and s[-1] in _MINUS:
            negative = not negative
            s = s[:-1]
            continue
        if s.startswith("+"):
            s = s[1:]
            continue
        if s.endswith("+"):
            s = s[:-1]
            continue
        m = re.search(r"(?i)(?:^|(?<=[\d\s.)]))(CR|DR)\.?$", s)
        if m:
            marker = m.group(1).upper()
            s = s[: m.start()]
            continue
        m = re.match(r"(?i)^(CR|DR)\.?(?=[\s\d(])", s)
        if m:
            marker = m.group(1).upper()
            s = s[m.end():]
            continue
        m = re.match(r"^([A-Za-z]{3})(?=[\s\d(+\-$€£¥\u2212])", s) or re.search(
            r"(?<=[\s\d)])([A-Za-z]{3})$", s)
        if m:
            currency = m.group(1).upper()
            s = s[: m.start()] + s[m.end():]
            continue
        for sym, code in _SYMBOLS:
            if s.startswith(sym) and (len(sym) > 1 or not sym.isalpha()):
                s = s[len(sym):]
            elif s.endswith(sym) and not (sym == "R" and not s[:-1].rstrip(_SPACES)):
                s = s[: -len(sym)]
            else:
                continue
            currency = currency or code
            symbol = symbol or (None if code else sym)
            break
        if s == before:
            break
    return s.strip(_SPACES), negative, currency, marker, symbol


def infer_decimal_comma(text: str) -> bool | None:
    """What one written amount says about the file's decimal separator (None: nothing)."""
    body, *_ = _strip_amount_decorations(text)
    body = body.replace("'", "").replace("’", "")
    for ch in _SPACES:
        body = body.replace(ch, "")
    if not re.fullmatch(r"[\d.,]*\d[\d.,]*", body):
        return None
    has_c, has_d = "," in body, "." in body
    if has_c and has_d:
        return body.rfind(",") > body.rfind(".")
    if has_c:
        tail = body.rsplit(",", 1)[1]
        if body.count(",") > 1:
            return False
        return None if len(tail) == 3 else True
    if has_d:
        tail = body.rsplit(".", 1)[1]
        if body.count(".") > 1:
            return True
        return None if len(tail) == 3 else False
    return None


PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,6})?")


def parse_amount(text: Any, *, decimal_comma: bool | None = None,
                 thousands: str | None = None) -> ParsedAmount:
    """Read a written amount exactly, as :class:`Decimal`.

    Handles ``1,000.00``, ``1.000,00`` and ``1 000,00`` (``decimal_comma`` True; None
    decides from the text itself, a lone group of 3 digits after the separator being read
    as thousands), ``1'000.00``, negatives as ``-12.50``, ``(12.50)``, ``12.50-`` and
    ``−12.50``, currency symbols and ISO codes on either side (``€``, ``CAD``, ``C$``...;
    a bare ``$`` names no currency and is returned in ``symbol``), and ``CR``/``DR``
    markers (returned in ``marker``; the sign is left as written).
    Raises ValueError for anything else, including an empty cell.
    """
    if isinstance(text, Decimal):
        return ParsedAmount(text)
    if isinstance(text, bool):
        raise ValueError(f"not an amount: {text!r}")
    if isinstance(text, int):
        return ParsedAmount(Decimal(text))
    if isinstance(text, float):
        if text != text or text in (float("inf"), float("-inf")):
            raise ValueError(f"not an amount: {text!r}")
        return ParsedAmount(Decimal(repr(text)))
    raw = "" if text is None else str(text)
    if decimal_comma is not True and PLAIN_AMOUNT.fullmatch(raw):
        # The common case (``-12.50``) without the general machinery below.
        return ParsedAmount(Decimal(raw))
    if not raw.strip(_SPACES):
        raise ValueError("empty amount")
    body, negative, currency, marker, symbol = _strip_amount_decorations(raw)
    body = body.replace("'", "").replace("’", "")
    if thousands:
        body = body.replace(thousands, "")
    for ch in _SPACES:
        body = body.replace(ch, "")
    if not re.fullmatch(r"[\d.,]*\d[\d.,]*", body):
        raise ValueError(f"not an amount: {raw.strip()!r}")
    dc = decimal_comma
    if dc is None:
        dc = bool(infer_decimal_comma(body))
    integer = body.rsplit("," if dc else ".", 1)[0] if (("," if dc else ".") in body) else body
    groups = re.split(r"[.,]", integer)
    # Thousands groups are 3 digits (Indian lakh grouping also has 2-digit ones, but the
    # last is always 3): "12.34.56" is not an amount, "1,23,456" is.
    if len(groups) > 1 and (len(groups[-1]) != 3 or any(len(g) not in (2, 3)
                                                        for g in groups[1:])):
        raise ValueError(f"not an amount: {raw.strip()!r}")
    if dc:
        body = body.replace(".", "").replace(",", ".")
    else:
        body = body.replace(",", "")
    if body.count(".") > 1:
        raise ValueError(f"not an amount: {raw.strip()!r}")
    try:
        value = Decimal(body)
    except InvalidOperation:
        raise ValueError(f"not an amount: {raw.strip()!r}") from None
    return ParsedAmount(-value if negative else value, currency, marker,
                        None if currency else symbol)


# ---------------------------------------------------------------------------------------
# Dates and times
# ---------------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {}
for _num, _names in enumerate((
        ("jan", "january", "janv", "janvier", "januar", "jän", "jänner", "ene", "enero",
         "januari", "gen", "gennaio", "janeiro"),
        ("feb", "february", "févr", "fevr", "février", "fevrier", "februar", "febrero",
         "februari", "febbraio", "fev", "fevereiro"),
        ("mar", "march", "mars", "märz", "maerz", "mär", "marzo", "maart", "mrt", "março",
         "marco"),
        ("apr", "april", "avr", "avril", "abr", "abril", "aprile"),
        ("may", "mai", "mayo", "mei", "mag", "maggio", "maio"),
        ("jun", "june", "juin", "juni", "junio", "giu", "giugno", "junho"),
        ("jul", "july", "juil", "juillet", "juli", "julio", "lug", "luglio", "julho"),
        ("aug", "august", "août", "aout", "ago", "agosto", "augustus"),
        ("sep", "sept", "september", "septembre", "septiembre", "set", "settembre",
         "setembro"),
        ("oct", "october", "octobre", "okt", "oktober", "octubre", "ott", "ottobre", "out",
         "outubro"),
        ("nov", "november", "novembre", "noviembre", "novembro"),
        ("dec", "december", "déc", "décembre", "decembre", "dez", "dezember", "dic",
         "diciembre", "dicembre", "dezembro"),
), start=1):
    for _n in _names:
        _MONTHS[_n] = _num

_NUMERIC_DATE = re.compile(
    r"^(\d{1,4})\s*([./\-])\s*(\d{1,2})\s*([./\-']|'\s*)\s*(\d{1,4})\.?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# Zone abbreviations as exports write them after a time (Cash App's "16:12:36 EST") or in
# a zone column (PayPal's "PST"), as fixed offsets: the abbreviation says which half of the
# year it is.
_ZONE_ABBREVIATIONS: dict[str, int] = {
    "PST": -8, "PDT": -7, "MST": -7, "MDT": -6, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4,
    "AKST": -9, "AKDT": -8, "HST": -10, "CET": 1, "CEST": 2,
    "MEZ": 1, "MESZ": 2,  # German for CET/CEST (PayPal's German download)
    "BST": 1, "WET": 0, "WEST": 1, "EET": 2, "EEST": 3, "AEST": 10, "AEDT": 11}
_TIME = re.compile(
    r"^(\d{1,2})[:.h](\d{2})(?:[:.](\d{2})(?:[.,](\d{1,6})\d*)?)?\s*"
    r"(?:([AaPp])\.?\s*[Mm]\.?)?\s*(Z|UTC|GMT|[+\-]\d{2}:?\d{2}|"
    + "|".join(sorted(_ZONE_ABBREVIATIONS, key=len, reverse=True)) + r")?$")
_WEEKDAY = re.compile(
    r"^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)


def _two_digit_year(yy: int, apostrophe: bool) -> int:
    if apostrophe:
        return 2000 + yy
    this_year = date.today().year
    return 2000 + yy if 2000 + yy <= this_year + 1 else 1900 + yy


def parse_time_of_day(text: str) -> tuple[time, tzinfo | None]:
    """``13:12``, ``13:12:05.250``, ``06:50 PM``, ``6.50pm``, ``10h30``, with optional
    ``Z``/``+02:00``. Raises ValueError."""
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(f"not a time: {text.strip()!r}")
    hour, minute = int(m.group(1)), int(m.group(2))
    second = int(m.group(3) or 0)
    micro = int((m.group(4) or "0").ljust(6, "0")[:6])
    ampm = m.group(5)
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"not a time: {text.strip()!r}")
        hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
    tz = _parse_offset(m.group(6)) if m.group(6) else None
    return time(hour, minute, second, micro), tz


def _parse_offset(text: str) -> tzinfo:
    t = text.strip().upper()
    if t in ("Z", "UTC", "GMT"):
        return timezone.utc
    if t in _ZONE_ABBREVIATIONS:
        return timezone(timedelta(hours=_ZONE_ABBREVIATIONS[t]), t)
    m = re.fullmatch(r"([+\-])(\d{2}):?(\d{2})", t)
    if not m:
        raise ValueError(f"not a UTC offset: {text!r}")
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    return timezone(-delta if m.group(1) == "-" else delta)


def resolve_zone(text: str) -> tzinfo:
    """An IANA zone name, ``UTC``/``GMT``, an offset like ``+02:00``, or a common
    abbreviation (PST, PDT, EST, CET...). Raises ValueError."""
    t = text.strip()
    if t.upper() in _ZONE_ABBREVIATIONS:
        return timezone(timedelta(hours=_ZONE_ABBREVIATIONS[t.upper()]), t.upper())
    m = re.fullmatch(r"(?:UTC|GMT)?\s*([+\-])(\d{1,2})(?::?(\d{2}))?", t, re.IGNORECASE)
    if m:
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        return timezone(-delta if m.group(1) == "-" else delta)
    if t.upper() in ("UTC", "GMT", "Z"):
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(t)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {t!r}") from None


def _split_date_time(s: str) -> tuple[str, str | None]:
    if len(s) > 64:
        return s, None  # no date and time is this long (the pattern is slow on long runs)
    m = re.match(r"^(.*?\d)\.?(?:\s*[T ,]\s*|\s+)(\d{1,2}[:.h]\d{2}.*)$", s)
    if m and re.search(r"\d", m.group(1)):
        return m.group(1).strip(), m.group(2).strip()
    return s, None


def date_order_hint(text: Any) -> bool | None:
    """True if a written date is certainly day-first, False if certainly month-first."""
    if not isinstance(text, str):
        return None
    s, _ = _split_date_time(text.strip())
    m = _NUMERIC_DATE.match(s)
    if not m or len(m.group(1)) == 4:
        return None
    a, b = int(m.group(1)), int(m.group(3))
    if a > 12 and b <= 12:
        return True
    if b > 12 and a <= 12:
        return False
    if m.group(2) == "." and a <= 12 and b <= 12:
        return True  # dotted numeric dates (12.01.2024) are day-first wherever they are written
    return None


_ISO_START = re.compile(r"\d{4}-\d{2}-\d{2}")


class DateReader:
    """Reads the dates of one file with one decided convention.

    ``formats`` "auto" or strptime formats; ``dayfirst`` decides D/M/Y vs M/D/Y for
    all-numeric dates (None: month first). ``zone`` is attached to naive results when the
    file states its zone (a "(UTC)" header, a profile timezone).
    """

    def __init__(self, formats: Union[str, tuple[str, ...]] = "auto", dayfirst: bool | None = None,
                 zone: tzinfo | None = None) -> None:
        self.formats = formats
        self.dayfirst = bool(dayfirst)
        self.zone = zone
        # Set by readers of tables: which columns write real times (see ``untimed``).
        self.survey: ClockSurvey | None = None

    def untimed(self, value: Any, field: str, time_cell: bool = False) -> bool:
        """Whether a cell that was read as midnight gives the day only, not a time of day
        (the event is then marked ``time_precision: "day"``; its time stays midnight).

        A date written without a time is a day. Midnight written out ("2024-01-05
        00:00:00", LAPD's "01/05/2024 12:00:00 AM", a workbook's date cell) is a time when
        the column ``field`` writes other times elsewhere, and the day only when it never
        does (``survey``; without one, written midnight is taken as a time). Only asked of
        values read as midnight, never of the rows that have a time."""
        clock = written_clock(value, time_cell)
        if clock == "midnight":
            return self.survey is not None and not self.survey.timed(field)
        return clock == "none"

    def parse(self, value: Any, time_value: Any = None) -> datetime:
        """A datetime from a cell (and an optional separate time cell). Raises ValueError."""
        if time_value is None and type(value) is str and self.formats == "auto" and _ISO_START.match(value):
            # Most exports write ISO-8601 ("2024-01-02 03:04:05"): read it without the
            # general machinery below (which would come to the same answer).
            try:
                dt = datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                if dt.tzinfo is None and self.zone is not None:
                    dt = dt.replace(tzinfo=self.zone)
                return dt
        dt = self._parse_date(value)
        if time_value is not None and not (isinstance(time_value, str) and not time_value.strip()):
            if isinstance(time_value, time):
                t, tz = time_value, time_value.tzinfo
            elif isinstance(time_value, datetime):
                t, tz = time_value.time(), time_value.tzinfo
            else:
                t, tz = parse_time_of_day(str(time_value))
            dt = datetime.combine(dt.date(), t.replace(tzinfo=None), tzinfo=tz or dt.tzinfo)
        if dt.tzinfo is None and self.zone is not None:
            dt = dt.replace(tzinfo=self.zone)
        return dt

    def _parse_date(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        if value is None:
            raise ValueError("empty date")
        s = str(value).strip().strip(_SPACES)
        if not s:
            raise ValueError("empty date")
        if self.formats != "auto":
            for fmt in self.formats:
                try:
                    return datetime.strptime(s, fmt)
                except ValueError:
                    continue
            raise ValueError(f"date {s!r} does not match {', '.join(self.formats)}")
        return self._auto(s)

    def _auto(self, s: str) -> datetime:
        original = s
        iso = s[:-1] + "+00:00" if s.endswith("Z") else s
        try:
            if re.match(r"^\d{4}-\d{2}-\d{2}", iso):
                return datetime.fromisoformat(iso)
        except ValueError:
            pass
        s = _WEEKDAY.sub("", s)
        date_part, time_part = _split_date_time(s)
        d = self._date_only(date_part)
        if d is None:
            return self._dateutil(original)
        if time_part is None:
            return datetime(d.year, d.month, d.day)
        try:
            t, tz = parse_time_of_day(time_part)
        except ValueError:
            return self._dateutil(original)
        return datetime.combine(d, t, tzinfo=tz)

    def _date_only(self, s: str) -> date | None:
        m = _COMPACT_DATE.match(s)
        if m:
            return _mkdate(int(m.group(1)), int(m.group(2)), int(m.group(3)), s)
        m = _NUMERIC_DATE.match(s)
        if m:
            a, sep1, b, sep2, c = m.groups()
            apostrophe = "'" in sep2
            if len(a) == 4:
                return _mkdate(int(a), int(b), int(c), s)
            if len(a) > 2:
                raise ValueError(f"not a date: {s!r}")
            if len(c) == 4:
                year = int(c)
            elif apostrophe and len(c) <= 2:
                year = 2000 + int(c)  # Quicken's 6/12'15 (and 1/5' 2) mean 20xx
            elif len(c) == 2:
                year = _two_digit_year(int(c), False)
            else:
                raise ValueError(f"not a date: {s!r}")
            x, y = int(a), int(b)
            if x > 12 and y <= 12:
                day, month = x, y
            elif y > 12 and x <= 12:
                month, day = x, y
            elif self.dayfirst:
                day, month = x, y
            else:
                month, day = x, y
            return _mkdate(year, month, day, s)
        # Month written as a word, in any of several languages.
        tokens = re.findall(r"[^\W\d_]+\.?|\d+", s.lower())
        words = [t.rstrip(".") for t in tokens if not t[0].isdigit()]
        nums = [t for t in tokens if t[0].isdigit()]
        month_words = [w for w in words if w in _MONTHS]
        if len(month_words) == 1 and len(nums) == 2 and len(words) <= 3:
            month = _MONTHS[month_words[0]]
            first, second = nums
            if len(first) == 4:
                year, day = int(first), int(second)
            else:
                day = int(first)
                year = int(second) if len(second) == 4 else _two_digit_year(int(second), False)
            return _mkdate(year, month, day, s)
        return None

    def _dateutil(self, s: str) -> datetime:
        from dateutil import parser as du

        if not re.search(r"\d", s) or _TIME.match(s):
            raise ValueError(f"not a date: {s!r}")  # dateutil would invent today's date
        try:
            # dateutil fills what the text lacks from its default (today, unless told):
            # two different defaults show whether a year, month or day was invented.
            got = du.parse(s, dayfirst=self.dayfirst, default=_FILL_A)
            other = du.parse(s, dayfirst=self.dayfirst, default=_FILL_B)
        except (ValueError, OverflowError, TypeError, ArithmeticError):
            # ArithmeticError: dateutil lets decimal.InvalidOperation out of a seconds
            # field of 40 digits ("09:0999…9:00").
            raise ValueError(f"not a date: {s!r}") from None
        missing = [part for part in ("year", "month", "day") if getattr(got, part) != getattr(other, part)]
        if missing:
            raise ValueError(f"incomplete date {s!r}: no {' or '.join(missing)}")
        return got


_FILL_A = datetime(2000, 1, 1)
_FILL_B = datetime(2001, 2, 2)
_MIDNIGHT = time(0)
_SERIAL_DAY = re.compile(r"^\d{5}(?:\.\d+)?$")  # an Excel serial day pasted as text
_HOURS_SUFFIX = re.compile(r"(?i)\s*(?:hrs?|hours)\.?$")


def written_clock(value: Any, time_cell: bool = False) -> str:
    """The time of day a date cell (``time_cell``: a time cell) writes: "none" (a date
    only), "midnight" (00:00 written out) or "time" (any other, or one not understood).

    Cells come as a file has them: text in any of the forms :class:`DateReader` reads,
    a workbook's datetime/date/time, an Excel serial number (its fraction the time), a
    military time ("1430", "0000") in a time column."""
    if isinstance(value, datetime):
        return "midnight" if value.time() == _MIDNIGHT else "time"
    if isinstance(value, time):
        return "midnight" if value.replace(tzinfo=None) == _MIDNIGHT else "time"
    if isinstance(value, date):
        return "none"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if time_cell and 0 <= value < 1:  # a workbook's day fraction
            return "midnight" if value == 0 else "time"
        if not time_cell:
            return "none" if float(value).is_integer() else "time"
        value = str(int(value)) if float(value).is_integer() else str(value)
    s = _WEEKDAY.sub("", str(value).strip().strip(_SPACES))
    if not s:
        return "none"
    if time_cell:
        text = _HOURS_SUFFIX.sub("", s)
        if text.isdecimal() and len(text) <= 4:  # military time
            return "midnight" if int(text) == 0 else "time"
        try:
            t, _ = parse_time_of_day(text)
        except ValueError:
            pass  # a date (and time) written in the time column: read as a date cell
        else:
            return "midnight" if t == _MIDNIGHT else "time"
    if s.isdecimal() or _SERIAL_DAY.match(s):
        if len(s) > 8 and s.isdecimal():  # compact "20240105120000"
            return "midnight" if int(s[8:]) == 0 else "time"
        return "none" if float(s).is_integer() else "time"
    iso = s[:-1] + "+00:00" if s.endswith("Z") else s
    if _ISO_START.match(iso):
        try:
            dt = datetime.fromisoformat(iso)
        except ValueError:
            pass
        else:
            if len(iso) <= 10:
                return "none"
            return "midnight" if dt.time() == _MIDNIGHT else "time"
    _, time_part = _split_date_time(s)
    if time_part is None:
        return "none"
    try:
        t, _ = parse_time_of_day(time_part)
    except ValueError:
        return "time"
    return "midnight" if t == _MIDNIGHT else "time"


class ClockSurvey:
    """Which date (and time) columns of one file write real times of day.

    A column that writes midnight on every row (LAPD's arrest dates "01/05/2024 12:00:00
    AM", a workbook's date cells) gives days: its midnight is no time. The same midnight
    in a column whose other rows hold times is one. Whether a column writes any other
    time is read from its first ``max_rows`` rows, once, when first asked: only files
    that write midnight out ever ask, and a column of real times shows one within its
    first rows, so the scan stops there. ``fields`` maps each field to whether it is a
    time cell. A file that cannot be read again leaves every column untimed.
    """

    def __init__(self, path: str | Path, profile: MappingProfile, fields: Mapping[str, bool], *,
                 encoding: str | None = None, max_rows: int = 2000) -> None:
        self.path = Path(path)
        self.profile = profile
        self.fields = dict(fields)
        self.encoding = encoding
        self.max_rows = max_rows
        self._timed: frozenset[str] | None = None

    def timed(self, field: str) -> bool:
        """Whether the column of ``field`` writes a time of day other than midnight."""
        if self._timed is None:
            self._timed = self._scan()
        return field in self._timed

    def _scan(self) -> frozenset[str]:
        found: set[str] = set()
        # A generator: closed below, so its file is closed now rather than when collected.
        rows = cast(Generator[MappedRow | RowError, None, None],
                    iter_mapped_rows(self.path, self.profile, encoding=self.encoding))
        try:
            for i, row in enumerate(rows):
                if i >= self.max_rows or len(found) == len(self.fields):
                    break
                if isinstance(row, RowError):
                    continue
                for fld, time_cell in self.fields.items():
                    value = row.values.get(fld)
                    if (fld not in found and value is not None
                            and written_clock(value, time_cell) == "time"):
                        found.add(fld)
        except (ParseError, OSError, UnicodeError, ValueError):
            pass  # the import's own pass reports what is wrong with the file
        finally:
            rows.close()
        return frozenset(found)


def _mkdate(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"not a valid date: {text!r}") from None


def region_dayfirst(region: str | None) -> bool:
    """Whether dates written in ``region`` are day-first when a file does not say."""
    return (region or "US").upper() not in {"US", "PH", "FM", "MH", "PW", "GU", "AS", "PR",
                                            "VI", "MP", "UM", "BZ", "CA"}


# ---------------------------------------------------------------------------------------
# Reading raw rows
# ---------------------------------------------------------------------------------------


def is_xlsx(path: Path, head: bytes | None = None) -> bool:
    """Whether the file is a zip container (XLSX/XLSM) by its magic, not its name."""
    if head is None:
        with Path(path).open("rb") as fh:
            head = fh.read(4)
    return head[:4] == b"PK\x03\x04"


def check_zip_safe(path: Path) -> None:
    """Refuse a zip whose directory promises too much: too many members, too many bytes
    once inflated, or an absurd compression ratio (a zip bomb). Reads only the central
    directory; raises ParseError naming the file."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ParseError(f"not a readable XLSX (zip) file: {exc}", file=path) from None
    if len(infos) > XLSX_MAX_MEMBERS:
        raise ParseError(f"refused: the workbook has {len(infos)} parts (limit "
                         f"{XLSX_MAX_MEMBERS}); possible zip bomb", file=path)
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > XLSX_MAX_MEMBER_UNCOMPRESSED:
            raise ParseError(f"refused: part {info.filename!r} inflates to {info.file_size} "
                             "bytes; possible zip bomb", file=path)
        if info.file_size > XLSX_RATIO_MIN_SIZE:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > XLSX_MAX_RATIO:
                raise ParseError(f"refused: part {info.filename!r} has compression ratio "
                                 f"{ratio:.0f}:1 (limit {XLSX_MAX_RATIO}:1); possible zip bomb",
                                 file=path)
    if total > XLSX_MAX_TOTAL_UNCOMPRESSED:
        raise ParseError(f"refused: the workbook inflates to {total} bytes; possible zip bomb",
                         file=path)


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet holds a formula (a streaming scan of the sheet XML, far
    cheaper than a second workbook pass when, as usual, there is none)."""
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.startswith("xl/worksheets/"):
                    continue
                tail = b""
                with zf.open(info) as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        if _FORMULA_TAG.search(tail + chunk):
                            return True
                        tail = chunk[-16:]
    except Exception:  # a damaged part is reported by the workbook reader itself
        return False
    return False


def _pick_sheet(wb: Any, sheet: str | None, path: Path) -> Any:
    if sheet is not None:
        if sheet not in wb.sheetnames:
            raise ParseError(f"no sheet named {sheet!r} (sheets: {', '.join(wb.sheetnames)})",
                             file=path)
        return wb[sheet]
    if not wb.worksheets:
        raise ParseError("the workbook has no worksheet", file=path)
    return wb.worksheets[0]


def _iter_xlsx(path: Path, sheet: str | None) -> Iterator[tuple[int, list[Any]]]:
    """Rows of the sheet as the workbook shows them: a formula cell gives the value its
    producer cached, and its formula text (never evaluated) when nothing was cached, so
    the cell's content is kept as written rather than lost."""
    check_zip_safe(path)
    books: list[Any] = []
    try:
        from openpyxl import load_workbook

        books.append(load_workbook(path, read_only=True, data_only=True))
        if _has_formulas(path):
            books.append(load_workbook(path, read_only=True, data_only=False))
    except ParseError:
        raise
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        for wb in books:
            wb.close()
        raise ParseError(f"not a readable XLSX workbook: {exc}", file=path) from None
    try:
        sheets = [_pick_sheet(wb, sheet, path) for wb in books]
        try:
            if len(sheets) == 1:
                for number, row in enumerate(sheets[0].iter_rows(values_only=True), start=1):
                    yield number, list(row)
            else:
                pairs = zip(sheets[0].iter_rows(values_only=True), sheets[1].iter_rows(values_only=True))
                for number, (shown, written) in enumerate(pairs, start=1):
                    yield number, [w if v is None and isinstance(w, str) and w.startswith("=") else v
                                   for v, w in itertools.zip_longest(shown, written)]
        except ParseError:
            raise
        except Exception as exc:
            raise ParseError(f"broken worksheet data: {exc}", file=path) from None
    finally:
        for wb in books:
            wb.close()


# --- Old binary Excel (.xls), OpenDocument, and "Excel" downloads that are HTML ---------
#
# .xls (BIFF8, Excel 97-2003, and BIFF5, Excel 5/95) is read with xlrd (pure Python, reads
# only .xls). xlrd copies the workbook stream of the OLE2 container into memory (the file
# itself is memory-mapped) and, opened ``on_demand``, parses only the sheet asked for,
# holding that sheet's cells (at most 65,536 rows x 256 columns in the format) until the
# rows have been yielded. Before xlrd parses a sheet, _check_xls_sheet walks the sheet's
# record headers (a few bytes each, no cell data kept) and refuses a sheet that declares
# more rows or columns than the format allows or holds more than XLS_MAX_CELLS cells, so
# the memory the parse takes stays bounded whatever the file claims. A password-protected
# workbook (a FILEPASS record; or an encrypted .xlsx, which is an OLE2 file too) is
# refused by name. Formula cells give the value the producer cached (never evaluated).
XLS_MAX_BYTES = 256 << 20          # Excel's own limits make a full .xls about 250 MB
XLS_MAX_CELLS = 8_000_000          # ~65,536 rows x 122 columns; ~300 MB of Python cells
XLS_MAX_ROWS = 65_536
XLS_MAX_COLUMNS = 256

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_XLS_SUFFIXES = {".xls", ".xlt"}


def is_xls(path: Path, head: bytes | None = None) -> bool:
    """Whether the file is an OLE2 compound file (old binary Excel, by its magic)."""
    if head is None:
        with Path(path).open("rb") as fh:
            head = fh.read(8)
    return head[:8] == _OLE_MAGIC


def is_spreadsheet(path: Path, head: bytes | None = None) -> bool:
    """Whether the file is a workbook (XLSX/XLSM zip, .xls OLE2, OpenDocument or Excel 2003
    XML) by content: its cells are typed values and its rows may stop at their last
    filled cell."""
    if head is None:
        head = read_head(Path(path))
    return (is_xlsx(path, head) or is_xls(path, head) or is_ods(path, head)
            or is_spreadsheetml(path, head))


class _Discard:
    """xlrd's log sink: its warnings about odd records would otherwise go to stdout (and
    a file of many odd records must not fill memory with them)."""

    def write(self, text: str) -> int:
        return len(text)


_XLS_CELL_RECORDS = {0x0203: 1, 0x00FD: 1, 0x0204: 1, 0x027E: 1, 0x0205: 1, 0x0006: 1,
                     0x00D6: 1, 0x0003: 1, 0x0004: 1, 0x0002: 1}  # NUMBER, LABELSST, LABEL...
_XLS_MULRK = 0x00BD
_XLS_DIMENSIONS = (0x0200, 0x0000)
_XLS_EOF = 0x000A


def _check_xls_sheet(path: Path, book: Any, index: int, name: str) -> None:
    """Refuse a sheet that declares more rows or columns than an .xls can hold (a
    DIMENSIONS record promising billions of rows in a file of a few KB) or that holds more
    than XLS_MAX_CELLS cells, before xlrd builds it. Walks record headers only."""
    mem = getattr(book, "mem", None)
    positions = getattr(book, "_sh_abs_posn", None)
    if mem is None or positions is None or index >= len(positions):
        return  # an xlrd without these internals: the file-size cap still bounds the parse
    biff8 = getattr(book, "biff_version", 80) >= 80
    pos = positions[index]
    end = min(len(mem), getattr(book, "stream_len", len(mem)) + getattr(book, "base", 0))
    cells = 0
    where = f"sheet {name!r}"
    while pos + 4 <= end:
        typ, size = struct.unpack_from("<HH", mem, pos)
        body = pos + 4
        pos = body + size
        if typ == _XLS_EOF:
            break
        if typ in _XLS_DIMENSIONS:
            if biff8 and size >= 12:
                first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", mem, body)
            elif size >= 8:
                first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", mem, body)
            else:
                continue
            if last_row > XLS_MAX_ROWS or last_col > XLS_MAX_COLUMNS:
                raise ParseError(
                    f"refused: the sheet declares {last_row:,} rows and {last_col:,} columns, "
                    f"beyond what an .xls can hold ({XLS_MAX_ROWS:,} x {XLS_MAX_COLUMNS}); "
                    "the file is damaged or crafted", file=path, ref=where)
        elif typ == _XLS_MULRK:
            cells += max(0, (size - 6) // 6)
        elif typ in _XLS_CELL_RECORDS:
            cells += 1
        if cells > XLS_MAX_CELLS:
            raise ParseError(f"refused: the sheet holds more than {XLS_MAX_CELLS:,} cells",
                             file=path, ref=where)


def _xls_failure(path: Path, exc: BaseException) -> ParseError:
    """The ParseError for an .xls that xlrd could not open."""
    text = str(exc).strip() or type(exc).__name__
    if "encrypted" in text.lower():
        return ParseError("the workbook is password-protected (encrypted); ask the source "
                          "for an export without a password to open it", file=path)
    if "can't find workbook" in text.lower():
        names: list[str] = []
        try:
            from xlrd import compdoc

            doc = compdoc.CompDoc(path.read_bytes(), logfile=_Discard())
            names = [d.name for d in doc.dirlist]
        except Exception:
            pass
        if "EncryptedPackage" in names:
            return ParseError("the workbook is a password-protected (encrypted) Excel file; "
                              "ask the source for an export without a password to open it",
                              file=path)
        return ParseError("not an Excel workbook: an OLE2 compound file without a workbook "
                          "stream (a Word document or an Outlook message?)", file=path)
    return ParseError(f"not a readable .xls workbook (damaged or truncated): {text}",
                      file=path)


_WHOLE_LIMIT = float(2 ** 53)


def _xls_row(types: Sequence[int], values: Sequence[Any], epoch: datetime, from_excel: Any,
             errors: Mapping[int, str]) -> list[Any]:
    """xlrd cells as the XLSX path gives them: date-formatted numbers as datetime (a time
    of day alone as time, via openpyxl's own conversion), whole numbers as int, booleans
    as bool, errors as their text ("#DIV/0!"), empty cells as None."""
    row: list[Any] = []
    for ctype, value in zip(types, values):
        if ctype == 1:  # XL_CELL_TEXT
            row.append(value)
        elif ctype == 2:  # XL_CELL_NUMBER
            row.append(int(value) if value.is_integer() and -_WHOLE_LIMIT < value < _WHOLE_LIMIT
                       else value)
        elif ctype == 3:  # XL_CELL_DATE, by the cell's number format and the date mode
            try:
                row.append(from_excel(value, epoch))
            except (OverflowError, ValueError, TypeError):
                row.append(value)  # no date in range: the number as written; the row says so
        elif ctype == 4:  # XL_CELL_BOOLEAN
            row.append(bool(value))
        elif ctype == 5:  # XL_CELL_ERROR
            row.append(errors.get(value, "#ERROR"))
        else:  # XL_CELL_EMPTY, XL_CELL_BLANK
            row.append(None)
    return row


def _iter_xls(path: Path, sheet: str | None) -> Iterator[tuple[int, list[Any]]]:
    """Rows of an .xls sheet (the named one, else the first worksheet, as for XLSX), each
    padded to the sheet's width. Row numbers are as Excel shows them (first row = 1)."""
    check_size(path, XLS_MAX_BYTES, ".xls workbooks")
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True, ragged_rows=True,
                                  logfile=_Discard(), verbosity=0)
    except Exception as exc:  # xlrd raises many types for a damaged file
        raise _xls_failure(path, exc) from None
    try:
        names = book.sheet_names()
        if sheet is not None:
            if sheet not in names:
                raise ParseError(f"no sheet named {sheet!r} (sheets: {', '.join(names)})",
                                 file=path)
            index = names.index(sheet)
        elif not names:
            raise ParseError("the workbook has no worksheet", file=path)
        else:
            index = 0
        where = f"sheet {names[index]!r}"
        _check_xls_sheet(path, book, index, names[index])
        try:
            ws = book.sheet_by_index(index)
        except Exception as exc:
            text = str(exc).strip() or type(exc).__name__
            raise ParseError(f"broken worksheet data (damaged or truncated): {text}",
                             file=path, ref=where) from None
        from openpyxl.utils.datetime import from_excel
        from xlrd import error_text_from_code

        epoch = datetime(1904, 1, 1) if book.datemode == 1 else datetime(1899, 12, 30)
        width = ws.ncols
        for rowx in range(ws.nrows):
            row = _xls_row(ws.row_types(rowx), ws.row_values(rowx), epoch, from_excel,
                           error_text_from_code)
            if len(row) < width:
                row.extend([None] * (width - len(row)))
            yield rowx + 1, row
    finally:
        book.release_resources()


_HTML_START = re.compile(r"<\s*(?:!doctype\s+html|html|head|meta|body|table|style|title|tr|td|th)\b",
                         re.IGNORECASE)
_HTML_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_SPREADSHEET_ML = re.compile(r"urn:schemas-microsoft-com:office:spreadsheet|<\s*(?:ss:)?Workbook\b")
HTML_MAX_COLUMNS = 16_384          # Excel's own column limit
HTML_MAX_CELL_CHARS = 1 << 20      # a cell's text (the CSV path's field limit is smaller)
HTML_MAX_NESTING = 64              # tables inside tables
HTML_MAX_WAITING = 50_000          # finished rows held behind a row still open
HTML_MAX_PENDING = 4 << 20         # characters of an unfinished tag or comment


def _head_text(head: bytes) -> str:
    """The start of a file as text, for telling markup from delimited text."""
    from workstation.ingest.textio import detect_encoding

    try:
        enc = detect_encoding(head[:65536])
    except ParseError:
        return ""
    return head.decode(enc, errors="ignore").lstrip("\ufeff \t\r\n")


def markup_kind(head: bytes) -> str | None:
    """"html" for a file (a bank's ".xls" download) that is an HTML page, "spreadsheetml"
    for an Excel 2003 XML spreadsheet, None otherwise (decided by content)."""
    text = _head_text(head)
    if not text.startswith("<"):
        return None
    start = text[:65536]
    if text.startswith("<?xml") and _SPREADSHEET_ML.search(start) and not re.search(
            r"<\s*html\b", start, re.IGNORECASE):
        return "spreadsheetml"
    if _HTML_START.search(start):
        return "html"
    return None


class _TableRows(HTMLParser):
    """Rows of the tables of an HTML page, in document order, as Excel lays them out when
    it opens the page: every <tr> is a row (a nested table's rows too, in their place),
    a cell's text with its whitespace collapsed, a colspan leaving the cells it covers
    empty and a rowspan pushing the cells of the rows below it to the right. Tables
    follow one another with an empty row between them. Script and style text is not
    cell text; character references are the standard ones (html.unescape)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.done: list[list[str]] = []     # finished rows, in order, not yet taken
        self._slots: list[list[Any]] = []   # rows in order of their <tr>: [cells, finished]
        self._tables: list[dict[str, Any]] = []
        self._skip = 0                       # inside <script>/<style>
        self.tables_seen = 0

    # A table: {"row": slot or None, "cell": list of text parts or None, "span": col->rows
    # left, "colspan": the open cell's colspan}.
    def _close_cell(self, table: dict[str, Any]) -> None:
        if table["cell"] is None or table["row"] is None:
            table["cell"] = None
            return
        text = " ".join("".join(table["cell"]).split())
        cells = table["row"][0]
        cells.append(text)
        cells.extend([""] * (table["colspan"] - 1))
        self._skip_spanned(table)
        table["cell"] = None

    def _skip_spanned(self, table: dict[str, Any]) -> None:
        cells = table["row"][0]
        while len(cells) < HTML_MAX_COLUMNS and table["above"].get(len(cells), 0) > 0:
            cells.append("")

    def _close_row(self, table: dict[str, Any]) -> None:
        self._close_cell(table)
        slot = table["row"]
        if slot is None:
            return
        for col, left in list(table["span"].items()):
            if left > 0:
                table["span"][col] = left - 1
        for col, rows in table["new_span"].items():
            table["span"][col] = max(table["span"].get(col, 0), rows)
        table["new_span"] = {}
        del slot[0][HTML_MAX_COLUMNS:]
        slot[1] = True
        table["row"] = None
        self._flush()

    def _flush(self) -> None:
        # A row still open (one holding a nested table) keeps the rows after it waiting,
        # at most HTML_MAX_WAITING of them: past that it is given out as it stands.
        while self._slots and (self._slots[0][1] or len(self._slots) > HTML_MAX_WAITING):
            cells, finished = self._slots.pop(0)
            self.done.append(cells if finished else list(cells))  # later cells go nowhere

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
            return
        if tag == "table":
            if self.tables_seen and not self._tables:
                self._slots.append([[], True])  # an empty row between top-level tables
                self._flush()
            self.tables_seen += 1
            if len(self._tables) >= HTML_MAX_NESTING:
                raise ValueError(f"tables nested more than {HTML_MAX_NESTING} deep")
            self._tables.append({"row": None, "cell": None, "span": {}, "new_span": {},
                                 "above": {}, "colspan": 1, "cell_len": 0})
            return
        if not self._tables:
            return
        table = self._tables[-1]
        if tag == "tr":
            self._close_row(table)
            slot: list[Any] = [[], False]
            self._slots.append(slot)
            table["row"] = slot
            table["above"] = {c: n for c, n in table["span"].items() if n > 0}
            self._skip_spanned(table)
        elif tag in ("td", "th"):
            if table["row"] is None:  # a cell without its <tr>
                self.handle_starttag("tr", [])
            self._close_cell(table)
            values = dict(attrs)
            colspan = _span(values.get("colspan"), HTML_MAX_COLUMNS)
            rowspan = _span(values.get("rowspan"), XLS_MAX_ROWS * 16)
            start = len(table["row"][0])
            if rowspan > 1:
                for col in range(start, min(start + colspan, HTML_MAX_COLUMNS)):
                    table["new_span"][col] = rowspan - 1
            table["colspan"] = colspan
            table["cell"] = []
            table["cell_len"] = 0
        elif tag == "br" and table["cell"] is not None:
            table["cell"].append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "table":
            self.handle_starttag(tag, attrs)
        if tag in ("td", "th") and self._tables:
            self._close_cell(self._tables[-1])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
            return
        if not self._tables:
            return
        table = self._tables[-1]
        if tag == "table":
            self._close_row(table)
            self._tables.pop()
        elif tag == "tr":
            self._close_row(table)
        elif tag in ("td", "th"):
            self._close_cell(table)

    def handle_data(self, data: str) -> None:
        if self._skip or not self._tables:
            return
        table = self._tables[-1]
        if table["cell"] is not None:
            table["cell"].append(data)
            table["cell_len"] += len(data)
            if table["cell_len"] > HTML_MAX_CELL_CHARS:
                raise ValueError(f"a cell of more than {HTML_MAX_CELL_CHARS:,} characters")

    def finish(self) -> None:
        self.close()
        while self._tables:
            self._close_row(self._tables.pop())
        for slot in self._slots:
            slot[1] = True
        self._flush()


def _span(text: str | None, limit: int) -> int:
    try:
        return max(1, min(int(str(text).strip()), limit))
    except (TypeError, ValueError):
        return 1


def _iter_html(path: Path, encoding: str | None) -> Iterator[tuple[int, list[Any]]]:
    """Rows of the tables of an HTML page saved with an Excel name (see _TableRows),
    streamed: the page is parsed in chunks and rows are yielded as they close. The
    encoding is the one given, else the BOM's, else the page's <meta charset>, else
    detected as for CSV."""
    if encoding is None:
        head = read_head(path)
        if not head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            found = _HTML_CHARSET.search(head)
            if found:
                try:
                    encoding = codecs.lookup(found.group(1).decode("ascii")).name
                except LookupError:
                    encoding = None
    parser = _TableRows()
    number = 0
    with open_text(path, encoding) as fh:
        try:
            for chunk in iter(lambda: fh.read(1 << 16), ""):
                parser.feed(chunk)
                if len(parser.rawdata) > HTML_MAX_PENDING:
                    raise ValueError("an unterminated tag or comment of more than "
                                     f"{HTML_MAX_PENDING:,} characters")
                for row in parser.done:
                    number += 1
                    yield number, row
                parser.done.clear()
            parser.finish()
        except UnicodeDecodeError as exc:
            raise ParseError(f"cannot decode the text: {exc.reason}", file=path,
                             ref=f"row {number + 1}") from None
        except ValueError as exc:
            raise ParseError(f"refused: {exc}", file=path, ref=f"row {number + 1}") from None
    for row in parser.done:
        number += 1
        yield number, row
    if not parser.tables_seen:
        raise ParseError("an HTML page without a table: no rows to read", file=path)


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample: csv.Sniffer restricted to , ; TAB |, checked by how
    consistently it splits the first lines; falls back to the most consistent of those."""
    lines = [ln for ln in re.split(r"\r\n|\r|\n", sample) if ln.strip()][:30]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line
    if not lines:
        return ","

    def score(delim: str) -> tuple[int, int]:
        counts = Counter(len(r) for r in csv.reader(lines, delimiter=delim))
        width, freq = counts.most_common(1)[0]
        return (freq if width > 1 else 0, width)

    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(CSV_DELIMITERS))
        chosen = score(sniffed.delimiter) if sniffed.delimiter in CSV_DELIMITERS else (0, 0)
        if chosen[0] >= max(1, len(lines) // 2):
            # The sniffer may take the decimal comma of one amount per line ("-0,42") for
            # the delimiter of a semicolon file: another that splits as many lines as
            # consistently into more columns is the one.
            wider = [d for d in CSV_DELIMITERS if d != sniffed.delimiter
                     and score(d)[0] >= chosen[0] and score(d)[1] > chosen[1]]
            return max(wider, key=score) if wider else sniffed.delimiter
    except csv.Error:
        pass
    best = max(CSV_DELIMITERS, key=lambda d: score(d))
    return best if score(best)[0] else ","


def _iter_csv(path: Path, encoding: str | None, delimiter: str | None) -> Iterator[tuple[int, list[Any]]]:
    if delimiter is None:
        try:
            with open_text(path, encoding) as fh:
                sample = fh.read(64 * 1024)
        except UnicodeDecodeError as exc:
            raise ParseError(f"cannot decode the text: {exc.reason}", file=path) from None
        if "\x00" in sample:
            raise ParseError("binary data, not a CSV file", file=path)
        delimiter = sniff_delimiter(sample)
    fh = open_text(path, encoding, newline="")
    number = 0
    try:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            for row in reader:
                number += 1
                yield number, row
        except UnicodeDecodeError as exc:  # from reading the next row (not from the consumer)
            raise ParseError(f"cannot decode the text: {exc.reason}", file=path,
                             ref=f"row {number + 1}") from None
        except csv.Error as exc:
            msg = str(exc)
            if "NUL" in msg:
                msg = "binary data (NUL byte), not a CSV file"
            raise ParseError(msg, file=path, ref=f"row {number + 1}") from None
    finally:
        fh.close()


def iter_raw_rows(path: str | Path, *, encoding: str | None = None, delimiter: str | None = None,
                  sheet: str | None = None) -> Iterator[tuple[int, list[Any]]]:
    """Stream ``(row number, cells)`` from a CSV, XLSX, .xls, OpenDocument (.ods/.fods) or
    Excel 2003 XML file, or an HTML page of tables (an "Excel" download from many banks),
    decided by content, not name.

    Row numbers are as a spreadsheet shows them (first record = 1; a quoted field spanning
    lines is still one row). CSV and HTML cells are strings; XLSX and .xls cells are
    Python values (dates as datetime, whole numbers as int). ``sheet`` names the
    workbook's sheet (default: the first). Raises ParseError for a file that cannot be
    read at all.
    """
    p = Path(path)
    head = read_head(p)
    if is_xls(p, head):
        yield from _iter_xls(p, sheet)
    elif is_ods(p, head):  # before the zip test (an .ods is a zip) and the markup test (.fods)
        yield from iter_ods(p, sheet)
    elif is_xlsx(p, head):
        yield from _iter_xlsx(p, sheet)
    else:
        markup = markup_kind(head)
        if markup == "html":
            yield from _iter_html(p, encoding)
        elif markup == "spreadsheetml":
            yield from iter_spreadsheetml(p, sheet)
        else:
            yield from _iter_csv(p, encoding, delimiter)


def _rows_end_early(path: Path) -> bool:
    """Whether the file's rows may stop at their last filled cell (a workbook, or an HTML
    page whose rows omit trailing cells), so a short row is padded, not an error."""
    with path.open("rb") as fh:
        head = fh.read(65536)
    return is_spreadsheet(path, head) or markup_kind(head) == "html"


_YEAR_FIRST = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:\D|$)")


def _first_char_may_match(cell: Any, first: str) -> bool:
    """False when ``cell`` certainly does not normalise to a header name starting with
    ``first`` (normalising only drops a BOM and leading blanks and lowers the case)."""
    if not isinstance(cell, str):
        return cell is not None
    text = cell.replace("\ufeff", "").lstrip()
    return not text or not first or text[0].lower()[:1] == first


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def read_header(path: str | Path, *, encoding: str | None = None, max_rows: int = 20,
                sheet: str | None = None) -> list[Any] | None:
    """The first non-blank row of the file (the header, when it has one), or None."""
    for number, row in iter_raw_rows(path, encoding=encoding, sheet=sheet):
        if number > max_rows:
            break
        if not all(_blank(c) for c in row):
            return row
    return None


@dataclass
class ReadStats:
    """What a read did besides yielding records: rows seen and rows skipped, by reason."""

    rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    missing_columns: list[str] = field(default_factory=list)
    profile: MappingProfile | None = None
    header: list[str] | None = None
    column_index: dict[str, int] = field(default_factory=dict)
    # Whether a section line ("Pending Transactions") marked rows with a status.
    sections: bool = False


class MappedRow(NamedTuple):
    """One data row with its cells keyed by our field names (absent/blank cells omitted).

    A named tuple, not a dataclass: one is made per row of files with millions of rows."""

    number: int
    values: Mapping[str, Any]
    extra: Mapping[str, Any]

    @property
    def ref(self) -> str:
        return f"row {self.number}"


def _cell_text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


def iter_mapped_rows(path: str | Path, profile: MappingProfile, *, encoding: str | None = None,
                     stats: ReadStats | None = None) -> Iterator[MappedRow | RowError]:
    """Stream the rows of ``path`` mapped through ``profile``.

    Skips ``profile.skip_rows`` rows, then blank rows, takes the header (when the profile
    has one), and yields a :class:`MappedRow` per data row or a :class:`RowError` for a row
    with the wrong number of columns. Repeated header lines and blank rows are skipped
    and counted in ``stats``. Raises ParseError when a required column is missing.
    """
    p = Path(path)
    stats = stats if stats is not None else ReadStats()
    stats.profile = profile
    header: list[str] | None = None
    header_norm: list[str] | None = None
    header_first = ""
    index: dict[str, int] | None = None
    index_items: list[tuple[str, int]] = []
    unused: list[int] = []
    width: int | None = None
    read_width = 0  # the columns a field reads: a shorter row lacks one of them
    # Without a header the first row sets the width: its trailing empty cells (a CIBC
    # row without a credit) are columns the profile reads, not padding.
    min_width = 0 if profile.has_header else 1 + max(
        (r for r in (*profile.columns.values(), *profile.amount_by_currency.values())
         if isinstance(r, int)), default=-1)
    skipped_leading = 0
    overflow: bool | None = None  # decided at the first row longer than the header
    section: str | None = None  # the status a "Pending Transactions" line gives the rows below
    try:
        spreadsheet = _rows_end_early(p)
    except OSError:
        spreadsheet = False  # iter_raw_rows names the problem
    for number, row in iter_raw_rows(p, encoding=encoding, delimiter=profile.delimiter,
                                     sheet=profile.sheet):
        if skipped_leading < profile.skip_rows:
            skipped_leading += 1
            continue
        # Exporters pad rows with trailing empty cells; they carry nothing.
        while row and (width is None or len(row) > width) and len(row) > min_width and _blank(row[-1]):
            row.pop()
        if not row or (_blank(row[0]) and all(_blank(c) for c in row)):
            stats.skipped["blank row"] += 1
            continue
        if index is None:
            if profile.has_header:
                header = [_cell_text(c) for c in row]
                header_norm = [normalise_header(h) for h in header]
                header_first = header_norm[0][:1]
                index = _resolve_columns(p, profile, header_norm, stats)
                stats.header, stats.column_index = header, dict(index)
                width = len(header)
                index_items = list(index.items())
                read_width = 1 + max(index.values(), default=-1)
                used = set(index.values())
                unused = _extra_columns(header, used)
                continue
            index = _resolve_columns(p, profile, None, stats)
            stats.column_index = dict(index)
            width = max(len(row), min_width)
            index_items = list(index.items())
            read_width = 1 + max(index.values(), default=-1)
            unused = []
        # Cheap first-cell tests before normalising the whole row (this runs for every row):
        # a header cell cannot become the first header name when its first letter differs.
        c0 = row[0]
        if (header_norm is not None and len(row) == len(header_norm)
                and (type(c0) is not str or c0[:1].lower() == header_first or not c0[:1].isalnum())
                and _first_char_may_match(c0, header_first)
                and normalise_header(row[0]) == header_norm[0]
                and [normalise_header(c) for c in row] == header_norm):
            stats.skipped["repeated header line"] += 1
            continue
        stats.rows += 1
        assert width is not None
        if len(row) < width and (spreadsheet or len(row) >= read_width):
            # A workbook stores only the cells that hold something: without a <dimension>
            # its rows end at their last filled cell. Some CSV exporters likewise end a
            # line early (Swedbank's trailing client-code columns); a short CSV line is
            # an error only when it lacks a column a field reads.
            row.extend([None] * (width - len(row)))
        if len(row) != width:
            if len(row) > width and not spreadsheet:
                if overflow is None:
                    overflow = _overflow_column(p, profile, encoding, header, index)
                if overflow:
                    # The exporter wrote the last column's text as several cells.
                    row[width - 1:] = [" | ".join(t for c in row[width - 1:] if (t := c.strip()))]
            elif (len(row) <= 2 and not spreadsheet and profile.target == "transaction"
                  and _note_line(row[0]) and all(_blank(c) or _note_line(c) for c in row)):
                # (Fidelity's '"Date downloaded" 12/31/2021, 9:11 AM' is two such cells.)
                stats.rows -= 1
                stats.skipped["note line"] += 1
                # A line that opens a block of pending (or posted) rows: Schwab's
                # "Pending Transactions" above its "Posted Transactions".
                heading = _SECTION_LINE.match(strip_accents(str(row[0]).strip().lower()))
                if heading and len(row) == 1:
                    section = "pending" if heading.group(1) else None
                    stats.sections = True
                continue
            elif (len(row) < width and not spreadsheet and profile.target == "transaction"
                  and _note_line(row[0]) and index is not None and "date" in index
                  and (index["date"] >= len(row) or _note_line(row[index["date"]]))):
                # A short line below the table that names a figure: Nationwide's
                # "Arranged Overdraft Limit","20/08/2025","£100.00". No transaction has
                # words where its date belongs.
                stats.rows -= 1
                stats.skipped["note line"] += 1
                continue
            if len(row) != width:
                yield RowError(ref=f"row {number}", field=None,
                               message=f"expected {width} columns, found {len(row)}")
                continue
        try:  # every cell text (CSV): the quick way
            values: dict[str, Any] = {fld: cell for fld, idx in index_items if (cell := row[idx].strip())}
        except AttributeError:  # numbers, dates or empty cells of a spreadsheet
            values = {}
            for fld, idx in index_items:
                cell = row[idx]
                if isinstance(cell, str):
                    cell = cell.strip()
                    if cell:
                        values[fld] = cell
                elif cell is not None:
                    values[fld] = cell
        extra: dict[str, Any] = {}
        if unused:
            for i, name in unused:
                cell = row[i] if i < len(row) else None
                if not _blank(cell):
                    extra[name] = cell.strip() if isinstance(cell, str) else cell
        if section is not None and "status" not in values:
            values["status"] = section
        yield MappedRow(number, values, extra)
    if index is None and profile.has_header:
        raise ParseError("the file has no header row (it is empty)", file=p)


# Fields whose column may hold free text that an exporter splits over several cells.
_FREE_TEXT_FIELDS = frozenset({"description", "memo"})


def _overflow_column(path: Path, profile: MappingProfile, encoding: str | None,
                     header: list[str] | None, index: Mapping[str, int]) -> bool:
    """Whether cells beyond the header's width are the last column's text continued
    (Austrian banks write a transaction's text lines as separate cells after the
    header's last column, "Umsatztext"). Only so when the last column is a free-text
    column (or one no field reads) and the file is not comma-separated: a comma file's
    extra cells may be an unquoted decimal comma ("12,50") that shifted every column
    after it, which must stay an error."""
    if header is None or not header[-1]:
        return False
    last = len(header) - 1
    if any(i == last and fld not in _FREE_TEXT_FIELDS for fld, i in index.items()):
        return False
    delimiter = profile.delimiter
    if delimiter is None:
        try:
            with open_text(path, encoding) as fh:
                delimiter = sniff_delimiter(fh.read(64 * 1024))
        except (OSError, UnicodeError):
            return False
    return delimiter in (";", "\t", "|")


def _note_line(cell: Any) -> bool:
    """Whether a line of one cell below a statement's table is a note ("* noch nicht
    ausgeführte Umsätze"), not a transaction cut short: text that is no date or amount."""
    text = cell.strip() if isinstance(cell, str) else ""
    return bool(text) and _amount_or_none(text) is None and not _DATED_TEXT.match(text)


# A line of one cell that heads a block of a statement's rows by their status.
_SECTION_LINE = re.compile(r"^(?:(pending)|posted|cleared|completed|booked)\s+"
                           r"(?:transactions?|activity|items?)$")
_DATED_TEXT = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{8}\b")


def _extra_columns(header: list[str], used: set[int]) -> list[tuple[int, str]]:
    """(index, name) of the columns no field maps, kept with each row under their header:
    a header written twice gets "Note (2)", an empty one "column 7", so no cell is lost."""
    out: list[tuple[int, str]] = []
    seen: Counter[str] = Counter()
    for i, name in enumerate(header):
        name = name or f"column {i + 1}"
        seen[name] += 1
        if i not in used:
            out.append((i, name if seen[name] == 1 else f"{name} ({seen[name]})"))
    return out


_REQUIRED = {
    "transaction": (("date",), ("amount", "debit", "credit")),
    "booking": (("booking_number", "full_name", "last_name"),),
}


def currency_amount_field(code: str) -> str:
    """The key under which a mapped row holds the amount column of currency ``code``
    (see ``MappingProfile.amount_by_currency``)."""
    return f"amount {code}"


def _resolve_columns(path: Path, profile: MappingProfile, header_norm: list[str] | None,
                     stats: ReadStats) -> dict[str, int]:
    index: dict[str, int] = {}
    by_currency = {currency_amount_field(c): ref for c, ref in profile.amount_by_currency.items()}
    for fld, ref in itertools.chain(profile.columns.items(), by_currency.items()):
        if isinstance(ref, int):
            index[fld] = ref
            continue
        if header_norm is None:
            raise ParseError(f"profile {profile.name!r} names column {ref!r} for {fld!r} but "
                             "the file has no header", file=path)
        for name in _ref_names(ref):
            if name in header_norm:
                index[fld] = header_norm.index(name)
                break
        else:
            stats.missing_columns.append(fld)
    for group in _REQUIRED[profile.target]:
        if not any(f in index for f in group) and not (
                "amount" in group and any(f in index for f in by_currency)):
            wanted = " or ".join(repr(str(profile.columns.get(f, f))) for f in group)
            raise ParseError(f"column {wanted} not found in the header (profile "
                             f"{profile.name!r})", file=path, field=group[0])
    return index


def decide_file_conventions(path: str | Path, profile: MappingProfile, *,
                            date_fields: Iterable[str], amount_fields: Iterable[str],
                            encoding: str | None = None, default_region: str | None = None,
                            max_rows: int = 100_000) -> tuple[bool, bool | None]:
    """Decide (dayfirst, decimal_comma) for a file whose profile leaves them open.

    Scans rows (streaming) until both are settled by an unambiguous value or
    ``max_rows`` rows were seen. Undecided dates fall back to the region's custom;
    undecided decimals stay None (each value then decides for itself).
    """
    dayfirst = profile.dayfirst
    decimal_comma = profile.decimal_comma
    need_dates = dayfirst is None and profile.date_formats == "auto"
    need_amounts = decimal_comma is None
    date_fields = tuple(date_fields)
    amount_fields = tuple(amount_fields)
    if need_dates or need_amounts:
        stats = ReadStats()
        try:
            for i, row in enumerate(iter_mapped_rows(path, profile, encoding=encoding,
                                                     stats=stats)):
                if i >= max_rows or not (need_dates or need_amounts):
                    break
                if isinstance(row, RowError):
                    continue
                if need_dates:
                    for f in date_fields:
                        value = row.values.get(f)
                        if _YEAR_FIRST.match(value.strip() if isinstance(value, str) else ""):
                            # A file writes its dates one way: year-first (ISO) dates leave
                            # no day/month order to decide, so there is no need to read on.
                            need_dates = False
                            break
                        hint = date_order_hint(value)
                        if hint is not None:
                            dayfirst, need_dates = hint, False
                            break
                if need_amounts:
                    for f in amount_fields:
                        v = row.values.get(f)
                        if isinstance(v, str):
                            hint = infer_decimal_comma(v)
                            if hint is not None:
                                decimal_comma, need_amounts = hint, False
                                break
        except ParseError:
            pass  # the real pass reports it, with the row
    if dayfirst is None:
        dayfirst = region_dayfirst(default_region)
    return dayfirst, decimal_comma


def zone_for_profile(profile: MappingProfile, header_of_date: str | None) -> tzinfo | None:
    """The zone a file's naive times are in, when the file says: the profile's timezone,
    or "UTC" written in the date column's header (``Created (UTC)``)."""
    if profile.timezone:
        return resolve_zone(profile.timezone)
    if header_of_date and re.search(r"\butc\b", normalise_header(header_of_date)):
        return timezone.utc
    return None


def profile_with(profile: MappingProfile, **changes: Any) -> MappingProfile:
    """A copy of ``profile`` with fields changed (validated again)."""
    return replace(profile, **changes)


def text_sample_rows(head: bytes, max_rows: int = 5) -> list[list[str]]:
    """The first non-blank CSV rows of a file head (for sniffing), or [] if not CSV-like."""
    from workstation.ingest.textio import detect_encoding

    try:
        enc = detect_encoding(head[:65536])
    except ParseError:
        return []
    text = head.decode(enc, errors="ignore")
    if "\x00" in text:
        return []
    delim = sniff_delimiter(text[:16384])
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delim):
            if row and any(c.strip() for c in row):
                rows.append(row)
                if len(rows) >= max_rows:
                    break
    except csv.Error:
        return rows
    return rows


def strip_accents(text: str) -> str:
    """Text without combining accents (for loose word comparisons)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# ---------------------------------------------------------------------------------------
# Choosing a profile; sniffing
# ---------------------------------------------------------------------------------------


def profile_from_options(options: ImportOptions, target: str) -> MappingProfile | None:
    """The profile the import options carry, checked against ``target``."""
    if options.profile is None:
        return None
    try:
        profile = MappingProfile.from_dict(options.profile)
    except ProfileError as exc:
        raise ParseError(f"bad mapping profile: {exc}") from None
    if profile.target != target:
        raise ParseError(f"mapping profile {profile.name!r} is for {profile.target} records, "
                         f"not {target} records")
    return profile


def choose_profile(path: Path, options: ImportOptions, target: str) -> MappingProfile:
    """The options' profile, else the one recognised from the header, else (a statement
    without a header line) the one headerless built-in layout its first rows fit (see
    :func:`headerless_layouts`). Raises ParseError, naming the candidate layouts when the
    rows fit several or none. A date order the officer gave (``options.date_order``)
    settles a profile's open day/month order."""
    profile = _choose_profile(path, options, target)
    order = forced_date_order(options, path)
    if order is not None and profile.dayfirst is None:
        profile = replace(profile, dayfirst=order == "dmy")
    return profile


def _choose_profile(path: Path, options: ImportOptions, target: str) -> MappingProfile:
    try:
        profile = profile_from_options(options, target)
    except ParseError as exc:
        raise ParseError(exc.message, file=path) from None
    if profile is not None:
        return profile
    first: list[Any] | None = None
    rows: list[tuple[int, list[Any]]] = []
    for number, row in iter_raw_rows(path, encoding=options.encoding):
        if number > HEADER_SEARCH_ROWS:
            break
        if not all(_blank(c) for c in row):
            first = first if first is not None else row
            rows.append((number, row))
    if first is None:
        raise ParseError("the file is empty", file=path)
    found = find_header(rows, target)
    if found is None:
        shown = ", ".join(repr(str(h)) for h in first[:12] if h is not None)
        if target == "transaction":
            fits = headerless_layouts(row for _, row in rows)
            if len(fits) == 1:
                return BUILTIN_PROFILES[fits[0]]
            if fits or _looks_like_data_row(first):
                which = (f"its rows fit more than one built-in layout without a header "
                         f"({', '.join(fits)})" if fits else
                         f"its rows fit none of the built-in layouts without a header "
                         f"({', '.join(ROW_SHAPES)})")
                raise ParseError(f"the file has no header line (its first row is data: {shown}); "
                                 f"{which}: choose a mapping profile that names the columns by "
                                 "position", file=path)
        raise ParseError(f"no known {target} column layout in the header ({shown}); choose "
                         "a mapping profile", file=path)
    return found[1]


HEADER_SEARCH_ROWS = 30


def find_header(rows: Sequence[tuple[int, Sequence[Any]]], target: str
                ) -> tuple[int, MappingProfile] | None:
    """The first row (by number) that a built-in profile recognises as its header, else
    the first the guesser does; the profile skips the rows above it (bank exports often
    put the account name and period above the header)."""
    guessed: tuple[int, MappingProfile] | None = None
    last_text_row = 0  # blank rows after it are skipped anyway (and counted as blank)
    account: str | None = None  # "IBAN;DE89..." above a statement's table
    for number, row in rows:
        if all(_blank(c) for c in row):
            continue
        if sum(1 for c in row if not _blank(c)) < 2:
            last_text_row = number
            continue
        profile = auto_profile(list(row), target)
        if profile is None:
            last_text_row = number
            if target == "transaction":
                account = account or _preamble_account(row)
            continue
        if last_text_row:
            profile = replace(profile, skip_rows=profile.skip_rows + last_text_row)
        if account and "account" not in profile.columns:
            profile = replace(profile, default_account=account)
        if profile.name != "guessed":
            return number, profile
        guessed = guessed or (number, profile)
    return guessed


_ACCOUNT_LABELS = frozenset(_TX_SYNONYMS["account"])


def _preamble_account(row: Sequence[Any]) -> str | None:
    """The account a "label, value" line above the table names (``IBAN;DE89 3704...``,
    ``Account:,12345678``), else None."""
    cells = [c for c in row if not _blank(c)]
    if len(cells) != 2 or normalise_header(cells[0]).rstrip(":").strip() not in _ACCOUNT_LABELS:
        return None
    return str(cells[1]).strip()


def _looks_like_data_row(row: Sequence[Any]) -> bool:
    """Whether a row reads as a transaction rather than a header: one cell a date and
    another an amount (a file without a header line starts with such a row)."""
    date_at = next((i for i, c in enumerate(row) if isinstance(c, (date, datetime)) or (
        isinstance(c, str) and (_NUMERIC_DATE.match(c.strip()) or _COMPACT_DATE.match(c.strip())
                                or _ISO_START.match(c.strip())))), None)
    if date_at is None:
        return False
    for i, cell in enumerate(row):
        if i == date_at or _blank(cell) or isinstance(cell, bool):
            continue
        try:
            parse_amount(cell)
        except ValueError:
            continue
        return True
    return False


# The rows of the headerless built-in layouts, column by column, by which a file without a
# header is recognised. Kinds: "date"; "amount" (signed); "unsigned" (0 or more);
# "debit"/"credit" (an amount or empty, not both on one row); "balance" (an amount or
# empty, running: see _balances_run); "text" (not empty, not a number); "card" (a card
# number, masked or not); "direction" (one of the profile's debit/credit words); "any"
# (empty too); "=X" (exactly X).
ROW_SHAPES: dict[str, tuple[str, ...]] = {
    "mint_headerless": ("date", "text", "text", "unsigned", "direction", "any", "any"),
    "wellsfargo_headerless": ("date", "amount", "=*", "any", "text"),
    "td_headerless": ("date", "text", "debit", "credit", "balance"),
    "cibc_headerless": ("date", "text", "debit", "credit"),
    "cibc_card_headerless": ("date", "text", "debit", "credit", "card"),
    "scotiabank_headerless": ("date", "amount", "=-", "text", "any"),
    "desjardins_headerless": ("any", "any", "any", "date", "any", "text", "any", "debit",
                              "credit", "any", "any", "any", "any", "balance"),
    "hsbc_uk_headerless": ("date", "text", "amount"),
    "commbank_headerless": ("date", "amount", "text", "balance"),
    "anz_headerless": ("date", "amount", "text"),
    "abnamro_headerless": ("any", "text", "date", "any", "balance", "date", "amount", "text"),
    "volksbank_nl_headerless": ("date", "text", "any", "any", "any", "any", "any", "text",
                                "any", "text", "amount", "date", "date", "any", "text",
                                "any", "any", "any", "any"),
}
SHAPE_ROWS = HEADER_SEARCH_ROWS
# Card numbers as statements print them: 12-19 digits, the middle ones possibly masked.
_CARD_CELL = re.compile(r"(?=(?:[\d*Xx•#][\s-]?){12,19}$)[\d*Xx•#][\d*Xx•#\s-]*\d{4}")


def headerless_layouts(rows: Iterable[Sequence[Any]]) -> list[str]:
    """The headerless built-in profiles whose row shape (:data:`ROW_SHAPES`) the first
    :data:`SHAPE_ROWS` non-blank rows fit: every row has the layout's number of columns and
    all but one in five (a bad row is reported when read, not here) hold in each column
    what the layout's does, with a running balance that runs."""
    data = list(itertools.islice((list(r) for r in rows if not all(_blank(c) for c in r)),
                                 SHAPE_ROWS))
    if not data:
        return []
    return [name for name, shape in ROW_SHAPES.items()
            if _rows_fit(BUILTIN_PROFILES[name], shape, data)]


def _rows_fit(profile: MappingProfile, shape: tuple[str, ...], rows: list[list[Any]]) -> bool:
    reader = DateReader(profile.date_formats, profile.dayfirst)
    words = {strip_accents(w.lower()) for w in (*profile.debit_words, *profile.credit_words)}
    account_at = profile.columns.get("account")
    misfits = 0
    steps: list[tuple[Any, Decimal, Decimal] | None] = []
    for row in rows:
        money = _row_money(row, shape, reader, profile.dayfirst, words) if len(row) == len(shape) else None
        if money is None:
            misfits += 1
        amount, balance = money or (None, None)
        steps.append(None if amount is None or balance is None else (
            row[account_at] if isinstance(account_at, int) else None, amount, balance))
    return misfits <= len(rows) // 5 and misfits < len(rows) and _balances_run(steps)


def _row_money(row: Sequence[Any], shape: tuple[str, ...], reader: DateReader,
               dayfirst: bool | None, words: set[str]) -> tuple[Decimal | None, Decimal | None] | None:
    """The (signed amount, balance) of a row that fits ``shape``, either None when the row
    does not say; None when the row does not fit."""
    amount: Decimal | None = None
    balance: Decimal | None = None
    sides = 0
    for kind, cell in zip(shape, row):
        if kind == "any":
            continue
        blank = _blank(cell)
        text = cell.strip() if isinstance(cell, str) else ""
        if kind[0] == "=":
            fits = text == kind[1:]
        elif kind == "date":
            fits = not blank and _is_date_cell(cell, reader, dayfirst)
        elif kind == "text":
            fits = bool(text) and _amount_or_none(text) is None
        elif kind == "card":
            fits = bool(_CARD_CELL.fullmatch(text.strip("'")))
        elif kind == "direction":
            fits = strip_accents(text.lower()) in words
        else:
            value = None if blank else _amount_or_none(cell)
            fits = value is not None or (blank and kind in ("debit", "credit", "balance"))
            if kind == "unsigned":
                fits = fits and value is not None and value >= 0
            elif kind == "amount":
                amount = value
            elif kind == "balance":
                balance = value
            elif value:  # a debit or credit other than 0
                sides += 1
                amount = -abs(value) if kind == "debit" else abs(value)
        if not fits:
            return None
    return None if sides > 1 else (amount, balance)


def _amount_or_none(cell: Any) -> Decimal | None:
    try:
        return parse_amount(cell).value
    except ValueError:
        return None


def _is_date_cell(cell: Any, reader: DateReader, dayfirst: bool | None) -> bool:
    """Whether a cell is a date written as the layout writes them (a numeric date whose
    day and month order contradicts the layout's is not)."""
    if isinstance(cell, (date, datetime)):
        return True
    if not isinstance(cell, str):
        return False
    text = cell.strip()
    if dayfirst is not None and date_order_hint(text) not in (None, dayfirst):
        return False
    try:
        if reader.formats != "auto":
            reader.parse(text)
            return True
        return reader._date_only(_split_date_time(_WEEKDAY.sub("", text))[0]) is not None
    except ValueError:
        return False


def _balances_run(steps: Sequence[tuple[Any, Decimal, Decimal] | None]) -> bool:
    """Whether each row's balance follows from its neighbour's and the amounts, the same
    way for every row: oldest row first (balance = previous balance + amount) or newest
    first (previous balance = balance + previous amount), and the amount counted for the
    balance (an account) or against it (a card statement's balance owed). Steps are
    (account, amount, balance), None for a row missing either figure; such rows, and rows
    of different accounts, do not chain. No chain at all passes (nothing contradicts)."""
    pairs = [(prev, cur) for prev, cur in zip(steps, steps[1:])
             if prev is not None and cur is not None and prev[0] == cur[0]]
    if not pairs:
        return True
    for owed in (1, -1):
        if all(cur[2] - prev[2] == owed * cur[1] for prev, cur in pairs):
            return True
        if all(prev[2] - cur[2] == owed * prev[1] for prev, cur in pairs):
            return True
    return False


_TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".tab", ""}
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_ODS_SUFFIXES = {".ods", ".ots", ".fods"}


def sniff_table(path: Path, head: bytes, target: str) -> float:
    """Confidence that ``path`` is a tabular export of ``target`` records.

    Recognised built-in layouts score 0.9, guessed ones 0.6 (lower for unusual
    suffixes). A workbook that fails the zip-bomb check or an .xls that cannot be read
    score 0.3 for transactions so the import reports why it was refused. Named .xls, an
    OLE2 workbook, a zip workbook, an OpenDocument spreadsheet (.ods, flat .fods), an
    Excel 2003 XML workbook (.xml or named .xls), an HTML page of tables and tab-separated
    text are all read by content; an OLE2 file with another name (a Word document, an Outlook
    message) is not claimed. A statement without a header line scores 0.6
    when its rows fit one headerless built-in layout, else 0.35 (its import then says
    that a mapping profile is needed).
    """
    suffix = path.suffix.lower()
    xls_named = suffix in _XLS_SUFFIXES
    ods = is_ods(path, head)
    sml = not ods and is_spreadsheetml(path, head)
    markup = None if is_spreadsheet(path, head) else markup_kind(head)
    if (is_xls(path, head) or is_xlsx(path, head) or ods or sml
            or (xls_named and markup is not None)):
        if is_xls(path, head) and not xls_named:
            return 0.0  # other OLE2 files: Word documents, Outlook messages
        if ods and suffix not in _ODS_SUFFIXES and not xls_named:
            return 0.0
        if sml and suffix != ".xml" and not xls_named:
            return 0.0
        if is_xlsx(path, head) and not ods and suffix not in _XLSX_SUFFIXES and not xls_named:
            return 0.0
        try:
            if is_xlsx(path, head):
                check_zip_safe(path)
            rows: list[tuple[int, list[Any]]] = []
            for number, row in iter_raw_rows(path):
                if number > HEADER_SEARCH_ROWS:
                    break
                rows.append((number, row))
        except ParseError:
            return 0.3 if target == "transaction" else 0.0
    else:
        first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if first in (b"{", b"[", b"<") or markup is not None:
            return 0.0  # JSON, XML and HTML are other parsers' business
        rows = list(enumerate(text_sample_rows(head, max_rows=HEADER_SEARCH_ROWS), start=1))
    found = find_header(rows, target)
    if found is None:
        if target != "transaction":
            return 0.0
        data = [r for _, r in rows if not all(_blank(c) for c in r)]
        if len(headerless_layouts(data)) == 1:
            return 0.6  # as sure as a header the guesser read
        # No header at all, but every row a transaction of one width: claim the file (just
        # above the pipeline's floor) so that reading it says a mapping profile is needed.
        data = data[:5]
        if (data and len(data[0]) >= 3
                and all(len(r) == len(data[0]) and _looks_like_data_row(r) for r in data)):
            return 0.35
        return 0.0
    number, profile = found
    score = 0.6 if profile.name == "guessed" else 0.9
    if number > 1:
        score -= 0.1  # a header below other lines is less certain
    if (suffix not in _TEXT_SUFFIXES and suffix not in _XLSX_SUFFIXES and not xls_named
            and not (ods and suffix in _ODS_SUFFIXES) and not (sml and suffix == ".xml")):
        score *= 0.5  # (a ".xls" of tab-separated text or HTML is a common bank download)
    return score
