"""Transactions from tabular exports (CSV or XLSX): bank, card and payment statements.

Each data row becomes one ``ParsedEvent(kind="transaction")``:

* ``occurred_at``: the date (with the time column when there is one); naive unless the
  file states a zone (a ``(UTC)`` header, a time-zone column, the profile's zone). A row
  that gives its day and no time (a date-only cell, a blank time cell, or a column that
  writes "00:00:00" / "12:00:00 AM" on every row) stays at midnight and is marked
  ``properties["time_precision"] = "day"``; midnight written in a column that holds
  other times is a time.
* ``title``: the merchant (or the profile's default merchant), else the description,
  else the type.
* ``properties``: ``amount`` (Decimal, a debit negative), ``currency`` (ISO, upper
  case, when known: stated by the row, the amount's sign or code, the header or the
  profile; else, with ``currency_assumed`` True, the import region's dollar when a bare
  ``$`` says dollar, or the region's own money when the layout is a built-in of that
  region's banks), ``description``,
  ``reference``, ``type``, ``category``, ``mcc`` and ``mcc_description``, ``posted_at``
  (ISO), ``fee``, ``balance``, ``status``, ``card_last4``, ``account``, ``cash_movement``
  (False on a PayPal row whose "Balance Impact" is "Memo": an authorisation or hold, kept
  with its amount for the timeline but moving no money), ``columns`` (the
  row's other non-empty cells, as text), and for a layout recognised by the shape of its
  rows (no header line) ``profile`` and ``profile_chosen_by="row shape"``.
* ``parties``: the card (``kind="card"``, the full number or ``"last4:1234"`` when only
  the last four digits are known; role ``payment_card``; also from an account cell that
  names a card, Cash App's "Visa Debit 0987", which then gives no account), the merchant
  (``organisation``/``merchant``), the cardholder (``person``/``cardholder``, with a
  ``holder_of`` link to the card), the customer of a payment processor
  (``person``/``payer``), the ship-to name of an order (``person``/``recipient``), an
  account number (``account``/``account``, only when it looks like a number — a name such
  as "Checking" stays a property; an IBAN is written without spaces; the profile's
  ``default_account`` when the file names its account only above the table), the other
  side's account (``account``/``counterparty_account``, linked with ``holder_of`` from the
  merchant), and IP (``source_ip``), e-mail and phone parties (linked with ``uses`` from
  the customer or cardholder when there is one).

Rows that are not transactions by the profile's rules (a pending or cancelled order, a
repeated header, a blank row) are skipped and counted in :class:`ReadStats`; so are a
statement's summary lines ("Total", "Closing balance", a "Beginning balance" line without
an amount), which have no date or no amount and would otherwise read as bad rows. A file
that writes each transaction over two lines (the second without a date or amount:
Fintro's card statement) has them joined, decided once per file from its first rows.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from workstation.ingest.finance.mcc import mcc_description, normalise_mcc
from workstation.ingest.records import (
    ImportOptions,
    Notice,
    ParsedEvent,
    ParsedLink,
    ParseError,
    Party,
    Record,
    RowError,
)
from workstation.ingest.tabular import (
    PLAIN_AMOUNT,
    ClockSurvey,
    DateReader,
    choose_profile,
    currency_amount_field,
    sniff_table,
    MappedRow,
    MappingProfile,
    _note_line,
    ReadStats,
    decide_file_conventions,
    iter_mapped_rows,
    parse_amount,
    resolve_zone,
    strip_accents,
    zone_for_profile,
)

_BRANDS = (
    ("american express", "American Express"), ("amex", "American Express"),
    ("mastercard", "Mastercard"), ("master card", "Mastercard"), ("visa", "Visa"),
    ("discover", "Discover"), ("diners", "Diners Club"), ("jcb", "JCB"),
    ("unionpay", "UnionPay"), ("maestro", "Maestro"),
)


# Words that say a text is about a card, in a card column: a brand, "card" in the
# languages of the layouts we read, "debit"/"credit" (Cash App's "Visa Debit").
_CARD_WORD = (r"(?:\w*card|cart[ea]|\w*karte|tarjeta|kaart|debit|credit|visa|amex|"
              r"american\s+express|discover|maestro|jcb|unionpay|diners(?:\s+club)?)")
_WORDS_THEN_LAST4 = re.compile(
    rf"(?i)\b{_CARD_WORD}\b(?:\s*(?:nr|no|num(?:ber|ero|éro)?|n[°º])\.?)?[\s:#\-–]*"
    r"(?<![\d.,/])(\d{4})[\s).]*$")
# In an account column only a brand or the word "card" makes the text a card ("Credit
# Union Savings 1234" stays an account).
_CARD_NAMED = re.compile(r"(?i)\b(?:\w*card|cart[ea]|\w*karte|tarjeta|kaart)\b")


class _FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class CardRef:
    """What a row says about the card used."""

    number: str | None = None
    last4: str | None = None
    brand: str | None = None

    @property
    def party_value(self) -> str | None:
        if self.number:
            return self.number
        if self.last4:
            return f"last4:{self.last4}"
        return None


def card_from_text(number_text: Any = None, last4_text: Any = None) -> CardRef:
    """Read a card from a number column and/or a "last 4" column.

    A full number is 12-19 digits (spaces and dashes allowed). Masked numbers
    (``**** 1234``, ``XXXX-XXXX-XXXX-1234``) and texts such as ``Visa ending in 1234``
    give the last four digits; a brand named in the text is kept.
    """
    number: str | None = None
    last4: str | None = None
    brand: str | None = None
    for raw in (number_text, last4_text):
        if raw is None:
            continue
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        text = str(raw).strip().strip("'")  # BMO writes '5191...' to keep it text
        if not text:
            continue
        low = text.lower()
        for word, name in _BRANDS:
            if word in low:
                brand = brand or name
                break
        compact = re.sub(r"[\s\-]", "", text)
        if compact.isdigit() and 12 <= len(compact) <= 19 and raw is number_text:
            number = compact
            last4 = compact[-4:]
            continue
        m = (re.search(r"(?i)ending\s+(?:in\s+)?(?:with\s+)?[:#]?\s*(\d{4})\b", text)
             # The digits after the words that name a card (Cash App's "Visa Debit 0987",
             # "Karte Nr. 1234"); only a run of four standing alone at the end, so a date,
             # an amount or a phone number ("05/2024", "12.50", "555-0123") is none.
             or _WORDS_THEN_LAST4.search(text)
             or re.search(r"[*xX•·.]{2,}[\s\-]*(\d{4})\b", text)
             or re.search(r"(?i)(?:visa|mastercard|amex|card|discover)\s*[-–:#]\s*(\d{4})\b",
                          text)
             # One mark before the digits (Venmo's "Visa Debit *0040"): a card only when
             # the text says so, since a bank account is written the same way.
             or (brand or re.search(r"(?i)\b(?:card|debit|credit)\b", text))
             and re.search(r"(?:^|\s)[*xX•]\s?(\d{4})$", text))
        if m:
            last4 = last4 or m.group(1)
        elif compact.isdigit() and 4 <= len(compact) <= 19:
            last4 = last4 or compact[-4:]
    return CardRef(number, last4, brand)


_MISSING = object()
_MEMO_LIMIT = 50_000


def _looks_like_account_number(text: str) -> bool:
    return sum(c.isdigit() for c in text) >= 4


_IBAN = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}")


def _account_value(text: Any) -> str:
    """An account number as the entity is keyed: an IBAN without the spaces it is often
    printed with (one account must be one entity whichever file names it)."""
    value = _unquoted(str(text).strip())
    return value.replace(" ", "").upper() if _IBAN.fullmatch(value.upper()) else value


def _unquoted(text: str) -> str:
    """Text without the apostrophe a spreadsheet export puts before a cell to keep it text
    (NatWest's ``'EXAMPLE STORE``, Lloyds' ``'30-99-50``), or the pair of them ASN puts
    around a description (``'DIVIDEND 27/06/2022'``)."""
    if text[:1] != "'":
        return text
    return text[1:-1] if len(text) > 1 and text[-1] == "'" else text[1:]


# A statement's own summary lines: a total (nothing but the word, maybe what it totals,
# and figures) or an opening/closing balance line (whatever follows).
_SUMMARY_LINE = re.compile(
    r"^(?:(?:sub-?|grand\s+)?totals?|summe|gesamt|gesamtsumme|totaal|totale|montant total|"
    r"saldo|solde|balance)(?:\s+(?:debits?|credits?|withdrawals?|deposits?|amount|fees|"
    r"transactions))?[^a-z]*$"
    r"|^(?:(?:opening|closing|beginning|ending|starting|previous|new|final)\s+balance|"
    r"balance\s+(?:brought|carried)\s+forward|(?:anfangs|end|schluss|eind|begin)saldo|"
    r"(?:neuer|alter)\s+saldo|solde\s+(?:initial|final|precedent|nouveau)|nouveau\s+solde|"
    r"kontostand|saldo\s+(?:koncowe|poczatkowe|otwarcia|zamkniecia)|"
    r"(?:pocatecni|konecny|pociatocny)\s+zustatok?)\b")


# In the date column, where no transaction's text stands, any line that starts with a
# total is one ("Total Pending Check and other Credit(s)", Schwab's pending block).
_TOTAL_IN_DATE = re.compile(r"^(?:sub-?|grand\s+)?totals?\b")


def _is_summary_line(row: MappedRow) -> bool:
    """Whether a row that failed to convert is the statement's total or balance line:
    it has no date (or the summary word stands in the date column) or no amount, and
    one of its texts is such a line. A real transaction with a bad date or amount is not
    (it stays a row error)."""
    v = row.values
    when = v.get("date")
    if isinstance(when, str) and _TOTAL_IN_DATE.match(strip_accents(when.strip().lower())):
        return True
    texts = [x for x in (v.get("date"), v.get("description"), v.get("merchant"), v.get("type"),
                         v.get("amount"), *row.extra.values()) if isinstance(x, str)]
    # mBank writes its closing balance's label in the amount column, after a "#".
    summary = [x for x in texts
               if _SUMMARY_LINE.match(strip_accents(x.strip().lstrip("#").lower()))]
    if not summary:
        return False
    no_date = "date" not in v or v["date"] in summary
    no_amount = not any(f in v for f in ("amount", "debit", "credit"))
    return no_date or no_amount


def _is_note_row(row: MappedRow) -> bool:
    """Whether a row that failed to convert is a note padded to the table's width: text
    that is no date written in the date column, every other cell empty (the disclaimer
    under Fidelity's account history, "The data and information in this spreadsheet
    ...,,,,,,,,,,,"). A row with anything else filled in stays a row error."""
    v = row.values
    when = v.get("date")
    return (len(v) == 1 and not row.extra and isinstance(when, str)
            and _note_line(when))


# Type-column words that say only which way money went (not what kind of payment it was).
_DIRECTION_WORDS = frozenset({"debit", "credit", "dr", "cr", "d", "c", "db", "af", "bij",
                              "soll", "haben", "s", "h", "debet", "k"})
_DIRECTION_SCAN_ROWS = 1000


def _direction_from_type_column(path: Path, profile: MappingProfile, options: ImportOptions,
                                decimal_comma: bool | None) -> MappingProfile:
    """A guessed profile whose type column holds only DEBIT/CREDIT-like words and whose
    amounts are all unsigned reads its amounts' sign from that column (Yodlee's "Base
    Type"); a header alone cannot say so. Any other profile is returned unchanged."""
    if not (profile.name == "guessed" and profile.sign == "negative_is_debit"
            and "type" in profile.columns and "amount" in profile.columns):
        return profile
    seen = False
    try:
        rows = iter_mapped_rows(path, profile, encoding=options.encoding)
        for row in itertools.islice(rows, _DIRECTION_SCAN_ROWS):
            if isinstance(row, RowError) or "type" not in row.values:
                continue
            if strip_accents(str(row.values["type"]).strip().lower()) not in _DIRECTION_WORDS:
                return profile
            try:
                if parse_amount(row.values.get("amount"), decimal_comma=decimal_comma).value < 0:
                    return profile
            except ValueError:
                continue
            seen = True
    except ParseError:
        return profile  # the real pass reports it
    return replace(profile, sign="type_column") if seen else profile


# What a bare "$" means where a statement comes from (the import's region, ISO 3166): the
# dollar of a country or territory that calls its money so, or the peso that is written
# with the same sign.
_DOLLAR_SIGN = "$"
#: The home currency of regions with built-in bank layouts whose money is not a dollar.
_HOME_CURRENCY: dict[str, str] = {"GB": "GBP"}
_DOLLAR_BY_REGION: dict[str, str] = {
    **dict.fromkeys(("US", "PR", "GU", "VI", "AS", "MP", "UM", "EC", "SV", "TL", "FM", "MH",
                     "PW", "BQ", "TC", "VG"), "USD"),
    "CA": "CAD",
    **dict.fromkeys(("AU", "CX", "CC", "NF", "KI", "NR", "TV"), "AUD"),
    **dict.fromkeys(("NZ", "CK", "NU", "PN", "TK"), "NZD"),
    **dict.fromkeys(("AG", "AI", "DM", "GD", "KN", "LC", "MS", "VC"), "XCD"),
    "SG": "SGD", "HK": "HKD", "TW": "TWD", "BN": "BND", "FJ": "FJD", "SB": "SBD",
    "JM": "JMD", "BS": "BSD", "BB": "BBD", "BZ": "BZD", "BM": "BMD", "KY": "KYD",
    "TT": "TTD", "GY": "GYD", "SR": "SRD", "LR": "LRD", "NA": "NAD",
    "MX": "MXN", "AR": "ARS", "CL": "CLP", "CO": "COP", "UY": "UYU", "DO": "DOP",
}


class _RowConverter:
    """Turns mapped rows of one file into transactions, with the file's conventions.

    ``region`` is the import's: an amount that states no currency, in a file and profile
    that state none either, is taken to be in the region's dollar when a bare ``$`` is
    written with it, or in the region's money when the profile is the layout of a bank of
    that region, and is marked ``currency_assumed``; otherwise its currency stays unknown. ``provenance`` is
    added to every transaction's properties (how the layout was chosen).
    """

    def __init__(self, profile: MappingProfile, dates: DateReader,
                 decimal_comma: bool | None, *, region: str | None = None,
                 provenance: Mapping[str, Any] | None = None) -> None:
        self.p = profile
        self.dates = dates
        self.decimal_comma = decimal_comma
        region = (region or "").strip().upper()
        self.region_dollar = _DOLLAR_BY_REGION.get(region)
        # A bank's own built-in layout read in its own country is in that country's money.
        self.layout_currency = (self.region_dollar or _HOME_CURRENCY.get(region or "")
                                if profile.region == region else None)
        # A money column's header that says only "$" (Fidelity's "Amount ($)"): a dollar,
        # which one the region says, as a "$" written in the cells.
        self.header_dollar = profile.currency == _DOLLAR_SIGN
        self.currency = None if self.header_dollar else profile.currency
        self.provenance = dict(provenance or {})
        self._currency_amounts = tuple((currency_amount_field(code), code)
                                       for code in profile.amount_by_currency)
        self.debit_words = {strip_accents(w.lower()) for w in profile.debit_words}
        self.credit_words = {strip_accents(w.lower()) for w in profile.credit_words}
        # A statement repeats a few hundred cards, merchants and codes over millions of
        # rows: what is read from them (immutable values) is read once per file.
        self._memo: dict[tuple[Any, ...], Any] = {}
        self.know_columns(None)

    def know_columns(self, fields: Any) -> None:
        """The fields the file's columns map to (None: any): rows are only asked for those."""
        def present(keys: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(k for k in keys if fields is None or (k[0] if isinstance(k, tuple) else k) in fields)

        self._text_keys = present(("description", "reference", "type", "category", "status", "memo"))
        self._amount_keys = present(("fee", "balance"))
        self._ident_keys = present((("ip", "ip", "source_ip"), ("email", "email", "email"),
                                    ("phone", "phone", "phone")))

    def _memoised(self, key: tuple[Any, ...], make: Any) -> Any:
        found = self._memo.get(key, _MISSING)
        if found is _MISSING:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            found = self._memo[key] = make()
        return found

    def _card_party(self, number: Any, last4: Any, brand_cell: Any,
                    fingerprint: Any) -> tuple[Party | None, str | None]:
        card = card_from_text(number, last4)
        if not card.party_value:
            return None, None
        cprops: dict[str, Any] = {}
        if card.last4:
            cprops["last4"] = card.last4
        brand = str(brand_cell) if brand_cell is not None else card.brand
        if brand:
            cprops["brand"] = brand
        if fingerprint is not None:
            cprops["fingerprint"] = str(fingerprint)
        return Party(kind="card", value=card.party_value, role="payment_card",
                     properties=cprops), card.last4

    def _card_in_account(self, text: str) -> tuple[Party, str] | None:
        """The card an account cell names (a brand or the word "card" with its last four
        digits or masked number), else None."""
        card = card_from_text(None, text)
        if card.last4 is None or not (card.brand or _CARD_NAMED.search(text)):
            return None
        party, last4 = self._card_party(None, text, None, None)
        return (party, last4) if party is not None and last4 else None

    @staticmethod
    def _mcc(value: Any) -> tuple[str, str | None]:
        code = normalise_mcc(value)
        return code or str(value), (mcc_description(code) if code else None)

    def _amount(self, fld: str, value: Any) -> tuple[Decimal, str | None, str | None]:
        try:
            a = parse_amount(value, decimal_comma=self.decimal_comma,
                             thousands=self.p.thousands)
        except ValueError as exc:
            raise _FieldError(fld, str(exc)) from None
        return a.value, a.currency or (_DOLLAR_SIGN if a.symbol == _DOLLAR_SIGN else None), a.marker

    def signed_amount(self, v: Mapping[str, Any]) -> tuple[Decimal, str | None]:
        """The row's amount, signed by the profile's convention, and the currency the row
        gives it: an ISO code, ``"$"`` for a bare dollar sign (which dollar is the
        region's), or None."""
        sign = self.p.sign
        if sign == "debit_credit_columns" or ("amount" not in v and ("debit" in v or "credit" in v)):
            total = Decimal(0)
            currency = None
            if "debit" not in v and "credit" not in v:
                raise _FieldError("amount", "neither a debit nor a credit amount")
            if "debit" in v:
                value, currency, _ = self._amount("debit", v["debit"])
                total -= abs(value)
            if "credit" in v:
                value, cur2, _ = self._amount("credit", v["credit"])
                total += abs(value)
                currency = currency or cur2
            return total, currency
        if "amount" in v:
            raw, column_currency = v["amount"], None
        else:
            raw, column_currency = self._amount_in_currency_column(v)
        if (sign == "negative_is_debit" and self.decimal_comma is not True and type(raw) is str
                and PLAIN_AMOUNT.fullmatch(raw)):
            return Decimal(raw), column_currency  # "-12.50": what parse_amount would read
        value, currency, marker = self._amount("amount", raw)
        if column_currency and currency in (None, _DOLLAR_SIGN):
            currency = column_currency
        if marker == "DR":
            return -abs(value), currency
        if marker == "CR":
            return abs(value), currency
        if sign == "positive_is_debit":
            return -value, currency
        if sign == "type_column":
            word = strip_accents(str(v.get("type", "")).strip().lower())
            if word in self.debit_words:
                return -abs(value), currency
            if word in self.credit_words:
                return abs(value), currency
            if not word:
                raise _FieldError("type", "empty debit/credit type")
            raise _FieldError("type", f"unknown debit/credit type {v.get('type')!r}")
        return value, currency

    def _amount_in_currency_column(self, v: Mapping[str, Any]) -> tuple[Any, str]:
        """The amount a row fills in, and the currency of its column, on a statement with
        one amount column per currency (``amount_by_currency``)."""
        for key, code in self._currency_amounts:
            if key in v:
                return v[key], code
        raise _FieldError("amount", "empty amount")

    def occurred_at(self, v: Mapping[str, Any]) -> datetime:
        if "date" not in v:
            raise _FieldError("date", "empty date")
        try:
            dt = self.dates.parse(v["date"], v.get("time"))
        except ValueError as exc:
            fld = "time" if str(exc).startswith("not a time") else "date"
            raise _FieldError(fld, str(exc)) from None
        if "timezone" in v and dt.tzinfo is None:
            try:
                zone: tzinfo = resolve_zone(str(v["timezone"]))
            except ValueError as exc:
                raise _FieldError("timezone", str(exc)) from None
            dt = dt.replace(tzinfo=zone)
        return dt

    def convert(self, row: MappedRow) -> ParsedEvent:
        v = row.values
        when = self.occurred_at(v)
        amount, written_currency = self.signed_amount(v)
        currency = None
        if "currency" in v:
            currency = str(v["currency"]).strip().upper() or None
        dollar_sign = written_currency == _DOLLAR_SIGN
        if dollar_sign:
            written_currency = None
        currency = currency or written_currency or self.currency
        props: dict[str, Any] = {"amount": amount, "currency": currency}
        # A row read as midnight may have a date and no time: say so (rows with a time
        # are past this at the first test).
        if not (when.hour or when.minute or when.second or when.microsecond) and (
                self.dates.untimed(v["time"], "time", True) if "time" in v
                else self.dates.untimed(v["date"], "date")):
            props["time_precision"] = "day"
        if currency is None:
            assumed = (self.region_dollar if dollar_sign or self.header_dollar
                       else self.layout_currency)
            if assumed:
                props["currency"] = assumed
                props["currency_assumed"] = True
        if self.provenance:
            props.update(self.provenance)
        if "posted_date" in v:
            try:
                posted = self.dates.parse(v["posted_date"])
            except ValueError as exc:
                raise _FieldError("posted_date", str(exc)) from None
            props["posted_at"] = posted.isoformat()
        for key in self._text_keys:
            if key in v:
                text = str(v[key])
                props[key] = _unquoted(text) if text[:1] == "'" else text
        for key in self._amount_keys:
            if key in v:
                try:
                    props[key] = parse_amount(v[key], decimal_comma=self.decimal_comma,
                                              thousands=self.p.thousands).value
                except ValueError:
                    props[key] = str(v[key])
        memo = self._memo
        if "mcc" in v:
            raw_mcc = v["mcc"]
            found = memo.get(("mcc", raw_mcc))
            code, desc = found if found is not None else self._memoised(("mcc", raw_mcc), lambda: self._mcc(raw_mcc))
            props["mcc"] = code
            if desc:
                props["mcc_description"] = desc
        if row.extra:
            props["columns"] = {k: _as_text(x) for k, x in row.extra.items()}
            if _moves_no_money(row.extra):
                # A PayPal authorisation or hold: kept for the timeline with its amount
                # shown, but marked as the project marks rows that move no cash, so a sum
                # of the account's money does not count it beside the payment it becomes.
                props["cash_movement"] = False

        parties: list[Party] = []
        links: list[ParsedLink] = []
        card_key = ("card", v.get("card_number"), v.get("card_last4"), v.get("card_brand"),
                    v.get("card_fingerprint"))
        found = memo.get(card_key)
        card_party, last4 = (found if found is not None
                             else self._memoised(card_key, lambda: self._card_party(*card_key[1:])))
        if card_party is not None:
            if last4:
                props["card_last4"] = last4
            parties.append(card_party)
        merchant = _unquoted(str(v["merchant"])) if "merchant" in v else self.p.default_merchant
        merchant_party: Party | None = None
        if merchant:
            merchant_party = self._memoised(("merchant", merchant), lambda: Party(
                kind="organisation", value=merchant, role="merchant"))
            parties.append(merchant_party)
        person: Party | None = None
        if "cardholder" in v:
            holder_name = str(v["cardholder"])
            holder = memo.get(("holder", holder_name)) or self._memoised(("holder", holder_name), lambda: Party(
                kind="person", value=holder_name, role="cardholder"))
            parties.append(holder)
            person = holder
            if card_party is not None:
                links.append(memo.get(("holder_of", holder_name, card_key)) or self._memoised(
                    ("holder_of", holder_name, card_key), lambda: ParsedLink(
                    "holder_of", holder, card_party)))
        if "customer" in v:
            customer = Party(kind="person", value=str(v["customer"]), role="payer")
            parties.append(customer)
            person = customer
        if "ship_to" in v:
            parties.append(Party(kind="person", value=str(v["ship_to"]), role="recipient"))
        if "account" in v or self.p.default_account:
            acct = _account_value(v.get("account") or self.p.default_account)
            props["account"] = acct
            # Cash App names the card it paid with in its "Account" column ("Visa Debit
            # 0987"): that is the card, not an account.
            named_card = (self._memoised(("card in account", acct),
                                         lambda: self._card_in_account(acct))
                          if card_party is None else None)
            if named_card is not None:
                card_party, props["card_last4"] = named_card
                parties.append(card_party)
                if "cardholder" in v:
                    links.append(ParsedLink("holder_of", parties[[p.role for p in parties]
                                                                 .index("cardholder")], card_party))
            elif _looks_like_account_number(acct):
                parties.append(Party(kind="account", value=acct, role="account"))
        if "counterparty_account" in v and (theirs := _account_value(v["counterparty_account"])):
            props["counterparty_account"] = theirs
            if _looks_like_account_number(theirs):
                account = self._memoised(("their account", theirs), lambda: Party(
                    kind="account", value=theirs, role="counterparty_account"))
                parties.append(account)
                if merchant_party is not None:
                    links.append(self._memoised(("account holder", merchant, theirs), lambda: ParsedLink(
                        "holder_of", merchant_party, account)))
        for key, kind, role in self._ident_keys:
            if key in v:
                ident = Party(kind=kind, value=str(v[key]), role=role)
                parties.append(ident)
                if person is not None and kind != "ip":
                    links.append(ParsedLink("uses", person, ident))
        title = (merchant or props.get("description")
                 or str(v.get("customer") or props.get("type") or props.get("reference") or ""))
        return ParsedEvent(kind="transaction", occurred_at=when, ref=row.ref, title=title,
                           parties=tuple(parties), links=tuple(links), properties=props)


# PayPal's activity download says per row whether it changed the balance: "Debit",
# "Credit", or "Memo" for authorisations, holds and pending lines that move no money.
_BALANCE_IMPACT_HEADERS = frozenset({"balance impact", "auswirkung auf guthaben",
                                     "impact sur le solde"})
_NO_MONEY_IMPACTS = frozenset({"memo", "mémo"})


def _moves_no_money(extra: Mapping[str, Any]) -> bool:
    return any(str(value).strip().lower() in _NO_MONEY_IMPACTS
               for header, value in extra.items()
               if " ".join(str(header).lower().split()) in _BALANCE_IMPACT_HEADERS)


def _as_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


_CONTINUATION_SCAN_ROWS = 200


def _continues_row_above(row: MappedRow, money: tuple[str, ...]) -> bool:
    """Whether a row is the rest of the transaction above it: no date and no amount, but
    text (the second line of a Belgian card statement's transaction: its merchant)."""
    v = row.values
    return "date" not in v and not any(f in v for f in money) and bool(v or row.extra)


def _has_continuation_lines(path: Path, profile: MappingProfile, options: ImportOptions,
                            money: tuple[str, ...]) -> bool:
    """Whether the file writes transactions over two or more lines: among its first rows,
    lines without a date or amount (and no summary line) follow at least two dated rows,
    and none comes before the first. Decided once per file; a file that does not is read
    row by row as before (such a line there stays an error)."""
    dated_above = False
    joined = 0
    try:
        rows = iter_mapped_rows(path, profile, encoding=options.encoding)
        for row in itertools.islice(rows, _CONTINUATION_SCAN_ROWS):
            if isinstance(row, RowError):
                dated_above = False
                continue
            if _continues_row_above(row, money):
                if _is_summary_line(row):
                    dated_above = False
                    continue
                if not dated_above:
                    return False
                joined += 1
            else:
                dated_above = "date" in row.values
    except ParseError:
        return False  # the real pass reports it
    return joined >= 2


def _join_continuations(rows: Iterator[MappedRow | RowError], money: tuple[str, ...],
                        stats: ReadStats) -> Iterator[MappedRow | RowError]:
    """Rows with their continuation lines joined in: a field the first line leaves empty
    is taken from the next, a text both give is joined with a space."""
    held: MappedRow | None = None
    for row in rows:
        if isinstance(row, MappedRow) and held is not None and _continues_row_above(row, money) \
                and not _is_summary_line(row):
            values, extra = dict(held.values), dict(held.extra)
            for target, more in ((values, row.values), (extra, row.extra)):
                for key, cell in more.items():
                    if key not in target:
                        target[key] = cell
                    elif isinstance(cell, str) and isinstance(target[key], str):
                        target[key] = f"{target[key]} {cell}"
            held = MappedRow(held.number, values, extra)
            stats.skipped["continuation line (joined to the row above)"] += 1
            continue
        if held is not None:
            yield held
            held = None
        if isinstance(row, MappedRow):
            held = row
        else:
            yield row
    if held is not None:
        yield held


def _date_header(stats: ReadStats) -> str | None:
    idx = stats.column_index.get("date")
    if stats.header is None or idx is None or idx >= len(stats.header):
        return None
    return stats.header[idx]


def read_transactions(path: str | Path, profile: MappingProfile | None = None,
                      options: ImportOptions | None = None,
                      stats: ReadStats | None = None) -> Iterator[Record]:
    """Stream the transactions of a CSV/XLSX statement (see the module docstring).

    ``profile`` None: the options' profile, else the one recognised by header, else the
    headerless layout the rows fit (recorded on every transaction as ``profile`` with
    ``profile_chosen_by="row shape"``, since no header confirms it). ``stats`` receives
    counts of rows read and skipped (with reasons). Raises ParseError when the file cannot
    be read or no layout applies; yields RowError for a bad row.
    """
    p = Path(path)
    options = options or ImportOptions()
    stats = stats if stats is not None else ReadStats()
    provenance: dict[str, str] = {}
    if profile is None:
        profile = choose_profile(p, options, "transaction")
        if not profile.has_header and options.profile is None:
            provenance = {"profile": profile.name, "profile_chosen_by": "row shape"}
    elif profile.target != "transaction":
        raise ParseError(f"mapping profile {profile.name!r} is not for transactions", file=p)
    dayfirst, decimal_comma = decide_file_conventions(
        p, profile, date_fields=("date", "posted_date"),
        amount_fields=("amount", "debit", "credit",
                       *map(currency_amount_field, profile.amount_by_currency)),
        encoding=options.encoding, default_region=options.default_region)
    profile = _direction_from_type_column(p, profile, options, decimal_comma)
    dates = DateReader(profile.date_formats, dayfirst, zone_for_profile(profile, None))
    dates.survey = ClockSurvey(p, profile, {"date": False, "time": True},
                               encoding=options.encoding)
    converter = _RowConverter(profile, dates, decimal_comma, region=options.default_region,
                              provenance=provenance)
    zone_known = False
    skip_values = {k: {s.lower() for s in vals} for k, vals in profile.skip_values.items()}
    if provenance:
        yield Notice("layout", f"no header line: read as {profile.label or profile.name} "
                               f"({profile.name}), the one built-in layout its rows fit")
    rows: Iterator[MappedRow | RowError] = iter_mapped_rows(p, profile, encoding=options.encoding,
                                                            stats=stats)
    money = ("amount", "debit", "credit", *map(currency_amount_field, profile.amount_by_currency))
    if _has_continuation_lines(p, profile, options, money):
        rows = _join_continuations(rows, money, stats)
    for row in rows:
        if not zone_known:
            # The header is read with the first row: "Created (UTC)" says the zone.
            dates.zone = zone_for_profile(profile, _date_header(stats))
            if stats.column_index:
                # A "Pending Transactions" line above the rows gives them a status.
                converter.know_columns(set(stats.column_index) | ({"status"} if stats.sections
                                                                   else set()))
            zone_known = True
        if isinstance(row, RowError):
            yield row
            continue
        reason = None
        for fld, vals in skip_values.items():
            value = row.values.get(fld)
            if value is not None and str(value).strip().lower() in vals:
                reason = f"{fld} is {str(value).strip().lower()!r}"
                break
        if reason is None:
            for fld in profile.skip_if_blank:
                if fld not in row.values:
                    reason = f"no {fld}"
                    break
        if reason is not None:
            stats.skipped[reason] += 1
            continue
        try:
            yield converter.convert(row)
        except _FieldError as exc:
            if _is_summary_line(row):
                stats.skipped["summary line"] += 1
                continue
            if _is_note_row(row):
                stats.skipped["note line"] += 1
                continue
            yield RowError(ref=row.ref, field=exc.field, message=exc.message)


class TransactionTableParser:
    """Parser for CSV/XLSX statements (Parser protocol)."""

    name = "transactions_table"
    label = "Bank, card or payment statement (CSV, Excel or LibreOffice)"

    def sniff(self, path: Path, head: bytes) -> float:
        """Confidence 0..1 from the header row (see :func:`sniff_table`)."""
        try:
            return sniff_table(Path(path), head, "transaction")
        except (ParseError, OSError, UnicodeError):
            return 0.0

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        """Stream the file's transactions (see :func:`read_transactions`)."""
        return read_transactions(path, None, options)
