"""QIF (Quicken Interchange Format) statements.

A QIF file is a list of records, one field per line (first character = field code),
each record ended by ``^``; ``!Type:Bank`` (``CCard``, ``Cash``, ``Oth A``, ``Oth L``,
``Invst``...) headers set the kind of the records that follow, and an ``!Account`` block
naming one account names the account of the next ``!Type`` section (a block listing
several, Quicken's AutoSwitch account list, names none). Category, class, memorised and
price lists are skipped; an unknown ``!`` header gives a RowError and its records are
skipped. ``!Option:DMY``/``MDY`` states the date order. A header may put a space for
the colon (``!type bank``, a French bank's web export). Encoding: as ``textio`` detects it
(a short Western file is cp1252, Windows Quicken's and MS Money's, not the Baltic or DOS
code page a detector names for it).

Fields read: D date, T/U amount, P payee, M memo, N check number (investment: action),
L category (``[Account]`` = transfer), C cleared, A address lines, splits (S category,
E memo, $ amount, % percent) and the investment fields Y security, I price, Q quantity,
O commission, $ amount transferred.

Dates: ``M/D'YY`` (Quicken writes the apostrophe for 2000 and later, ``1/4' 0``, and a
slash for the 1990s, ``12/31/99``; writers that put the apostrophe before every year
exist, so ``'80``-``'99`` are 1980-1999, never 2099, with a Notice once per file),
``M/D/YYYY``, ``D/M/YYYY``, ``D.M.YYYY``, ``M-D-YYYY``, ``YYYY-MM-DD``, spaces
(`` 1/ 2/98``), and the Y2K-bug years since 1900 (``3/25/099``, ``1/13/19100``; payee
text run on after the date ignored). Whether a file is day-first is decided per file by a
first pass that looks for a value above 12 (else the import's region decides); the same
pass decides a decimal comma.

Each record → ``ParsedEvent(kind="transaction", ref="line N")``, at midnight of its day
and marked ``time_precision: "day"`` (QIF writes no time of day), with properties amount
(Decimal, as signed in the file: QIF already writes debits negative; T, else U; for
investments see below), account and account_type, memo, check_number, category /
transfer_account, cleared (as written) and cleared_status ("cleared" for ``*``/``c``,
"reconciled" for ``X``/``R``), address, splits (list of dicts: category or
transfer_account, memo, amount, percent) and, for investments, action, security, and
price, quantity, commission as Decimal.

Investment records: Quicken, MS Money and KMyMoney write the total unsigned (a Buy of
3,500 is ``T3,500.00``) and the action (N) says which way the money went. ``amount`` is
made the signed cash flow of ``cash_account``, as an OFX TOTAL is (Buy -3,500, Sell,
Div, IntInc, CGLong... +, MiscExp, MargInt, XOut -); the "X" actions move the cash of
the account named in L (``cash_account``), XIn/XOut that of the investment account.
A negative written total reverses the action's direction (a refunded expense).
``total`` keeps the written total (T, else U, else ``$`` when the writer gives only
that), ``transfer_amount`` the ``$`` line, ``action_type`` the action's Quicken name
(German and older spellings such as ``Kauf``, ``AktZu``, ``ShtSell`` mapped). Records
that move no cash (ReinvDiv/ReinvInt/ReinvLg/ReinvSh/ReinvMd: ``reinvested`` True;
ShrsIn, ShrsOut, StkSplit, Reminder, Grant, Vest, Expire) have ``amount`` None and
``cash_movement`` False; cash records have ``cash_movement`` True. An unknown action
keeps its total with no amount and gives a Notice once per action. Quicken writes the
cash leg of a BuyX/SellX/DivX... twice when it exports both accounts: on the investment
record (``cash_account`` Checking) and as a transfer in Checking's own section. The
investment record then gets ``mirror_of`` ("line N", the cash account's record) so a
sum of amounts skips it, and a Notice says how many were marked. The L line of an X
action names the account in brackets before or after the bar (``[Checking]|Fees``,
``Fees|[Checking]``).

Notices: splits whose amounts do not add up to the record's amount (the amount is
kept), and a U amount that differs from T (T is used).

The payee is an ``organisation`` party (role ``merchant`` in a credit-card section, else
``payee`` for a debit, ``payer`` for a credit and ``participant`` for an investment
record without an amount). The opening balance (the account's transfer to itself,
``L[Account]``, whatever the payee's language) has ``type="opening_balance"`` and no
payee party; without an ``!Account`` block, an "Opening Balance" record's ``[Account]``
names the section's account. An account whose name is a number (4+ digits) is a party
too: a ``card`` (digits only) in a credit-card section when the name holds a card
number, else an ``account``; a label such as "Checking" makes no entity. QIF has no
currency: ``currency`` is None unless the options' profile sets one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from workstation.ingest.records import (
    ImportOptions,
    Notice,
    ParsedEvent,
    ParseError,
    Party,
    Record,
    RowError,
    forced_date_order,
)
from workstation.ingest.tabular import (
    DateReader,
    date_order_hint,
    infer_decimal_comma,
    parse_amount,
    region_dayfirst,
    written_clock,
)
from workstation.ingest.textio import open_text

_SKIPPED_TYPES = {"cat", "class", "memorized", "prices", "security", "invitem", "template"}
_HEADER = re.compile(r"^!(type|account|option|clear)\b", re.IGNORECASE)


@dataclass
class _Record:
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    address: list[str] = field(default_factory=list)
    splits: list[dict[str, str]] = field(default_factory=list)


def _lines(path: Path, encoding: str | None) -> Iterator[tuple[int, str]]:
    fh = open_text(path, encoding)
    number = 0
    try:
        while True:
            try:
                line = fh.readline()
            except UnicodeDecodeError as exc:
                raise ParseError(f"cannot decode the text: {exc.reason}", file=path,
                                 ref=f"line {number + 1}") from None
            if not line:
                break
            number += 1
            if "\x00" in line:
                raise ParseError("binary data, not a QIF file", file=path, ref=f"line {number}")
            yield number, line.rstrip("\r\n")
    finally:
        fh.close()


@dataclass
class _Section:
    type: str = "bank"            # lower-case QIF type word
    account: str | None = None
    account_type: str | None = None


@dataclass
class _Options:
    """What ``!Option:`` lines state for the whole file."""

    dayfirst: bool | None = None  # !Option:DMY / !Option:MDY


def _records(path: Path, encoding: str | None, options: _Options | None = None
             ) -> Iterator[tuple[_Section, _Record | RowError]]:
    """Transaction records with the section they belong to (skipped lists left out),
    and a RowError for each unknown ``!`` header (its records are skipped).

    Accounts: an ``!Account`` block names the account of the ``!Type`` section that
    follows. A block listing several accounts (Quicken's account list, usually between
    ``!Option:AutoSwitch`` and ``!Clear:AutoSwitch``) only lists them: the following
    section's account is unknown until a block naming a single account.
    """
    section = _Section()
    accounts: list[dict[str, str]] = []   # the current !Account block, one dict per record
    in_account_block = False
    skipping = False
    current: _Record | None = None
    saw_header = False
    for number, line in _lines(path, encoding):
        if not line.strip():
            continue
        if line.startswith("!"):
            current = None
            m = _HEADER.match(line)
            if not m:
                if not saw_header:
                    raise ParseError(f"not a QIF file: unknown header {line.strip()!r}",
                                     file=path, ref=f"line {number}")
                in_account_block, skipping = False, True
                yield section, RowError(ref=f"line {number}", field=None,
                                        message=f"unknown QIF header {line.strip()!r}: "
                                                "its records are skipped")
                continue
            saw_header = True
            word = m.group(1).lower()
            # "!Type:Bank"; Credit Lyonnais's web export writes "!type bank".
            arg = line[m.end():].strip().lstrip(":").strip().lower()
            if word == "account":
                in_account_block, skipping = True, False
                accounts = [{}]
            elif word == "option" and options is not None and arg in ("dmy", "mdy"):
                options.dayfirst = arg == "dmy"
            elif word == "type":
                in_account_block = False
                skipping = arg in _SKIPPED_TYPES
                named = [a for a in accounts if a.get("N")]
                if len(named) == 1:
                    section = _Section(type=arg or "bank", account=named[0]["N"],
                                       account_type=named[0].get("T") or arg or None)
                elif len(named) > 1:  # an account list: nothing tells which one follows
                    section = _Section(type=arg or "bank", account=None, account_type=arg or None)
                elif (arg or "bank") == section.type:  # the same account goes on
                    section = _Section(type=section.type, account=section.account,
                                       account_type=(section.account_type if section.account
                                                     else arg or None))
                else:  # another kind of account, not named
                    section = _Section(type=arg or "bank", account_type=arg or None)
                accounts = []
            continue
        if not saw_header:
            raise ParseError("not a QIF file: no !Type or !Account header", file=path,
                             ref=f"line {number}")
        code, value = line[0], line[1:].strip()
        if in_account_block:
            if code == "^":
                accounts.append({})
            else:
                accounts[-1].setdefault(code, value)
            continue
        if skipping:
            continue
        if code == "^":
            if current is not None and (current.fields or current.splits):
                _name_from_opening_balance(section, current)
                yield section, current
            current = None
            continue
        if current is None:
            current = _Record(line=number)
        if code == "A":
            current.address.append(value)
        elif code == "S":
            current.splits.append({"category": value})
        elif code in ("E", "$", "%") and current.splits:
            current.splits[-1].setdefault({"E": "memo", "$": "amount", "%": "percent"}[code],
                                          value)
        else:
            current.fields.setdefault(code, value)
    if current is not None and (current.fields or current.splits):
        _name_from_opening_balance(section, current)
        yield section, current  # a last record without its "^" (truncated or sloppy writer)


_TRANSFER = re.compile(r"\[(.*)\](?:/(.*))?")


def _name_from_opening_balance(section: _Section, rec: _Record) -> None:
    """Quicken and MS Money start an account's records with "Opening Balance" and the
    category ``[Account name]``: without an ``!Account`` block this is the only place
    the account is named."""
    if section.account is not None or rec.fields.get("P", "").lower() != "opening balance":
        return
    m = _TRANSFER.fullmatch(rec.fields.get("L", ""))
    if m and m.group(1).strip():
        section.account = m.group(1).strip()


def _is_opening_balance(section: _Section, rec: _Record) -> bool:
    """The opening balance is written as a transfer from the account to itself
    (``L[Account]`` in that account's own section), whatever the payee's language
    ("Opening Balance", "Eröffnungssaldo", "Solde initial")."""
    m = _TRANSFER.fullmatch(rec.fields.get("L", ""))
    return bool(m and section.account and m.group(1).strip() == section.account)


def _decide(path: Path, options: ImportOptions) -> tuple[bool, bool | None]:
    """The file's date order and decimal mark, from its first unambiguous values.

    An ``!Option:DMY``/``MDY`` line decides the date order; else the first date with a
    part above 12; else the import's region.
    """
    stated = _Options()
    dayfirst: bool | None = None
    decimal_comma: bool | None = None
    for _section, rec in _records(path, options.encoding, stated):
        if isinstance(rec, RowError):
            continue
        if dayfirst is None and rec.fields.get("D"):
            dayfirst = date_order_hint(_clean_date(rec.fields["D"]))
        if decimal_comma is None:
            for code in ("T", "U", "$"):
                if rec.fields.get(code):
                    decimal_comma = infer_decimal_comma(rec.fields[code])
                    if decimal_comma is not None:
                        break
        if dayfirst is not None and decimal_comma is not None and stated.dayfirst is not None:
            break
    if stated.dayfirst is not None:
        dayfirst = stated.dayfirst
    forced = forced_date_order(options, path)
    if forced is not None:
        dayfirst = forced == "dmy"  # the officer's word over the file's
    if dayfirst is None:
        dayfirst = region_dayfirst(options.default_region)
    return dayfirst, decimal_comma


def read_qif(path: str | Path, options: ImportOptions | None = None) -> Iterator[Record]:
    """Stream the transactions of a QIF file (see the module docstring).

    Raises ParseError for a file that is not QIF; yields RowError for a record with a
    missing or unreadable date or amount.
    """
    p = Path(path)
    options = options or ImportOptions()
    currency = None
    if options.profile and isinstance(options.profile, dict) and options.profile.get("currency"):
        currency = str(options.profile["currency"]).upper()
    dayfirst, decimal_comma = _decide(p, options)
    dates = DateReader("auto", dayfirst)
    unknown_actions: set[str] = set()
    said_apostrophe = False
    mirrors = _cash_side_transfers(p, options, dates, decimal_comma)
    mirrored: list[str] = []
    for section, rec in _records(p, options.encoding):
        if isinstance(rec, RowError):
            yield rec
            continue
        ref = f"line {rec.line}"
        f = rec.fields
        invest = section.type.startswith("inv")
        try:
            if "D" not in f:
                raise _Bad("D", "missing date")
            date_text = _clean_date(f["D"])
            try:
                when = dates.parse(date_text)
            except ValueError as exc:
                raise _Bad("D", str(exc)) from None
            amount: Decimal | None = None
            # T is the amount; U (Quicken 2005+) repeats it, and a few writers give only U.
            code = "T" if f.get("T") else "U"
            if f.get(code):
                amount = _amount(f[code], decimal_comma, code)
            elif not invest:
                raise _Bad("T", "missing amount")
            other: Decimal | None = None
            if code == "T" and f.get("U"):
                try:
                    other = parse_amount(f["U"], decimal_comma=decimal_comma).value
                except ValueError:
                    other = None
            moved: Decimal | None = None  # an investment's "$": the cash transferred
            if invest and f.get("$"):
                moved = _amount(f["$"], decimal_comma, "$")
        except _Bad as exc:
            yield RowError(ref=ref, field=exc.field, message=exc.message)
            continue
        if not said_apostrophe and _apostrophe_1900s(f["D"]):
            said_apostrophe = True
            yield Notice(ref=ref, message=(
                f"date {f['D'].strip()!r}: Quicken writes an apostrophe before the year for "
                "2000 and later, but this file puts one before years of the 1990s too; "
                f"apostrophe years '{_APOSTROPHE_1900S}-'99 are read as "
                f"19{_APOSTROPHE_1900S}-1999"))
        if other is not None and amount is not None and other != amount:
            yield Notice(ref=ref, message=(
                f"the two amounts differ: T {f['T']} and U {f['U']}; T is used"))
        cash: dict[str, Any] = {}
        if invest:
            amount, cash = _investment_cash(f.get("N", ""), amount, moved, f.get("L", ""),
                                            section.account)
            if (cash.get("cash_account") and amount is not None
                    and cash.get("action_type", "").endswith("X")):
                twin = mirrors.pop((cash["cash_account"], section.account or "", when,
                                    amount), None)
                if twin is not None:
                    cash["mirror_of"] = twin
                    mirrored.append(ref)
            if cash.get("unknown_action") and cash["unknown_action"] not in unknown_actions:
                unknown_actions.add(cash["unknown_action"])
                yield Notice(ref=ref, message=(
                    f"unknown investment action {cash['unknown_action']!r}: its written "
                    "total is kept (property total) but no signed amount is given"))
            cash.pop("unknown_action", None)
        props: dict[str, Any] = {"amount": amount, "currency": currency, **cash}
        if written_clock(date_text) != "time":
            props["time_precision"] = "day"  # QIF dates have no time of day
        if section.account:
            props["account"] = section.account
        if section.account_type:
            props["account_type"] = section.account_type
        for key, code in (("memo", "M"), ("cleared", "C")):
            if f.get(code):
                props[key] = f[code]
        status = _CLEARED.get(f.get("C", "").strip().lower())
        if status:
            props["cleared_status"] = status
        if f.get("N"):
            props["action" if invest else "check_number"] = f["N"]
        category = f.get("L")
        opening = _is_opening_balance(section, rec)
        if opening:
            props["type"] = "opening_balance"
        elif category:
            # An investment's "X" action may add the income or expense category after a
            # bar: "[Checking]|_DivInc".
            category, bar, misc = category.partition("|") if invest else (category, "", "")
            if bar and _TRANSFER.fullmatch(misc.strip()) and not _TRANSFER.fullmatch(
                    category.strip()):
                category, misc = misc, category  # "Fees|[Checking]": account after the bar
            if bar and misc.strip():
                props["misc_category"] = misc.strip()
            m = re.fullmatch(r"\[(.*)\](?:/(.*))?", category)
            if m:
                props["transfer_account"] = m.group(1)
                if m.group(2):
                    props["class"] = m.group(2)
            else:
                cat, _, cls = category.partition("/")
                props["category"] = cat
                if cls:
                    props["class"] = cls
        if rec.address:
            props["address"] = ", ".join(a for a in rec.address if a)
        if invest:
            if f.get("Y"):
                props["security"] = f["Y"]
            for key, code in (("price", "I"), ("quantity", "Q"), ("commission", "O")):
                if f.get(code):
                    try:
                        props[key] = parse_amount(f[code], decimal_comma=decimal_comma).value
                    except ValueError:
                        props[key] = f[code]
        if rec.splits:
            splits = []
            for split in rec.splits:
                item: dict[str, Any] = {}
                category = split.get("category", "")
                m = re.fullmatch(r"\[(.*)\](?:/(.*))?", category)
                if m:  # a split moved to another account
                    item["transfer_account"] = m.group(1)
                    if m.group(2):
                        item["class"] = m.group(2)
                else:  # "Category/Class", as on the transaction's own L line
                    cat, _, cls = category.partition("/")
                    item["category"] = cat
                    if cls:
                        item["class"] = cls
                if split.get("memo"):
                    item["memo"] = split["memo"]
                if split.get("amount"):
                    try:
                        item["amount"] = parse_amount(split["amount"],
                                                      decimal_comma=decimal_comma).value
                    except ValueError:
                        item["amount_text"] = split["amount"]
                if split.get("percent"):
                    item["percent"] = split["percent"]
                splits.append(item)
            props["splits"] = splits
            parts = [a for a in (item.get("amount") for item in splits)
                     if isinstance(a, Decimal)]
            if amount is not None and not invest and parts and len(parts) == len(splits):
                total = sum(parts, Decimal(0))
                if total != amount and total != -amount:
                    yield Notice(ref=ref, message=(
                        f"the splits add up to {total}, not to the amount {amount}: "
                        "the amount is kept; the splits are as written"))
        # "Opening Balance" (or its translation) is a label, not someone paid.
        payee = None if opening else f.get("P")
        parties: list[Party] = []
        if section.account and _looks_like_account_number(section.account):
            card = _card_number(section.account) if section.type == "ccard" else None
            if card:
                parties.append(Party(kind="card", value=card, role="payment_card",
                                     label=section.account))
            else:
                parties.append(Party(kind="account", value=section.account, role="account"))
        if payee:
            if section.type == "ccard":
                role = "merchant"
            elif amount is None:
                role = "participant" if invest else "payer"
            else:
                role = "payee" if amount < 0 else "payer"
            parties.append(Party(kind="organisation", value=payee, role=role))
        action = f"{f.get('N', '')} {f.get('Y', '')}".strip() if invest else ""
        title = ("Opening balance" if opening else payee) or action or f.get("M") or ""
        yield ParsedEvent(kind="transaction", occurred_at=when, ref=ref, title=title,
                          parties=tuple(parties), properties=props)
    if mirrored:
        yield Notice(ref=mirrored[0], message=(
            f"{len(mirrored)} investment record(s) ({', '.join(mirrored)}) repeat a transfer "
            "that the cash account's own section also lists: they are marked mirror_of "
            "(the cash account's record) so that a sum counts the money once"))


def _cash_side_transfers(path: Path, options: ImportOptions, dates: DateReader,
                         decimal_comma: bool | None
                         ) -> dict[tuple[str, str, Any, Decimal], str]:
    """The transfers written in named non-investment sections, keyed (account, other
    account, date, amount) → "line N": Quicken writes a BuyX/SellX/DivX once in the
    investment account, its cash leg (the amount the cash account paid or received)
    with it, and the same money again in the cash account's own section as a transfer
    to the investment account."""
    out: dict[tuple[str, str, Any, Decimal], str] = {}
    for section, rec in _records(path, options.encoding):
        if isinstance(rec, RowError) or section.type.startswith("inv") or not section.account:
            continue
        m = _TRANSFER.fullmatch(rec.fields.get("L", "").strip())
        code = "T" if rec.fields.get("T") else "U"
        if not m or not rec.fields.get(code) or not rec.fields.get("D"):
            continue
        try:
            when = dates.parse(_clean_date(rec.fields["D"]))
            amount = parse_amount(rec.fields[code], decimal_comma=decimal_comma).value
        except ValueError:
            continue
        out.setdefault((section.account, m.group(1).strip(), when, amount), f"line {rec.line}")
    return out


_CLEARED = {"*": "cleared", "c": "cleared", "x": "reconciled", "r": "reconciled"}


# Investment actions (the N line): Quicken's names, as MS Money writes them too, with the
# spellings of German Quicken and older versions. Quicken writes every total unsigned:
# the action says which way the money went. Each name maps to how the total moves cash
# (+1 in, -1 out, 0 no cash at all, None signed as written) and whose cash it is: the
# account named in L for the "X" actions ("linked": the money comes from or goes to
# another account directly), the investment account's own for a transfer in or out
# (L names the other end), and for the rest the investment account's unless L names an
# account (KMyMoney writes a Buy paid from checking as "Buy" with "L[Checking]").
_INCOME = ("Div", "IntInc", "CGLong", "CGMid", "CGShort", "MiscInc", "RtrnCap")
_ACTIONS: dict[str, tuple[str, int | None, str]] = {}


def _define_actions() -> None:
    table: list[tuple[str, int | None, str, tuple[str, ...]]] = [
        ("Buy", -1, "own", ("cvrshrt", "kauf")),
        ("BuyX", -1, "linked", ("cvrshrtx", "kaufx")),
        ("Sell", 1, "own", ("shtsell", "verkauf")),
        ("SellX", 1, "linked", ("shtsellx", "verkaufx")),
        ("MiscExp", -1, "own", ()), ("MiscExpX", -1, "linked", ()),
        ("MargInt", -1, "own", ()), ("MargIntX", -1, "linked", ()),
        # Exercising options pays the strike price (when the file gives a total).
        ("Exercise", -1, "own", ()), ("ExercisX", -1, "linked", ("exercisex",)),
        # Cash moved between this account and the one in L: the sign is this account's.
        ("XIn", 1, "transfer", ()), ("XOut", -1, "transfer", ()),
        ("ContribX", 1, "transfer", ()), ("WithdrwX", -1, "transfer", ("withdrawx",)),
        ("Cash", None, "transfer", ()),
        # Reinvested income buys shares at once: no cash moves.
        ("ReinvDiv", 0, "reinvested", ()), ("ReinvInt", 0, "reinvested", ("reinvzin",)),
        ("ReinvLg", 0, "reinvested", ("reinvkur",)), ("ReinvSg", 0, "reinvested", ("reinvksp",)),
        ("ReinvSh", 0, "reinvested", ()), ("ReinvMd", 0, "reinvested", ()),
        # Shares moved, split or granted without money; a reminder is a note.
        ("ShrsIn", 0, "none", ("aktzu",)), ("ShrsOut", 0, "none", ("aktab",)),
        ("StkSplit", 0, "none", ("aktsplit",)), ("Reminder", 0, "none", ("erinnerg",)),
        ("Grant", 0, "none", ()), ("Vest", 0, "none", ()), ("Expire", 0, "none", ()),
        ("Reprice", 0, "none", ()),
    ]
    aliases = {"IntInc": ("int",), "IntIncX": ("intx",), "CGLong": ("kapgew",),
               "CGLongX": ("kapgewx",), "CGShort": ("k.gewsp",), "CGShortX": ("k.gewspx",)}
    for name in _INCOME:
        table.append((name, 1, "own", aliases.get(name, ())))
        table.append((f"{name}X", 1, "linked", aliases.get(f"{name}X", ())))
    for name, sign, whose, others in table:
        for spelling in (name, *others):
            _ACTIONS[spelling.lower()] = (name, sign, whose)


_define_actions()


def _investment_cash(action: str, written: Decimal | None, moved: Decimal | None,
                     category: str, account: str | None
                     ) -> tuple[Decimal | None, dict[str, Any]]:
    """The signed amount of an investment record and what says how cash moved.

    The amount is the cash flow of ``cash_account`` (negative = paid out), like an OFX
    TOTAL: a Buy of 3,500 is -3,500. A negative written total reverses the action's
    direction (Quicken writes a refunded expense so). Records that move no cash
    (reinvested income, shares in or out, splits, reminders) have no amount and
    ``cash_movement`` False; ``total`` keeps the total as written either way (T, else U,
    else the transferred "$" when the writer gives only that). An unknown action leaves
    the amount empty; with no action at all the total is taken as signed.
    """
    total = written if written is not None else moved
    extra: dict[str, Any] = {}
    if total is not None:
        extra["total"] = total
    if moved is not None:
        extra["transfer_amount"] = moved
    name = action.strip()
    if not name:
        return total, extra
    known = _ACTIONS.get(name.lower())
    if known is None:
        extra["unknown_action"] = name
        return None, extra
    canonical, sign, whose = known
    extra["action_type"] = canonical
    if sign == 0:
        extra["cash_movement"] = False
        if whose == "reinvested":
            extra["reinvested"] = True
        return None, extra
    linked = ""
    for part in category.split("|"):  # "[Checking]|_DivInc", or "Fees|[Checking]"
        m = _TRANSFER.fullmatch(part.strip())
        if m:
            linked = m.group(1).strip()
            break
    cash_account = account if whose == "transfer" else (linked or account)
    if cash_account:
        extra["cash_account"] = cash_account
    if total is None:
        return None, extra
    extra["cash_movement"] = True
    return (total if sign is None else sign * total), extra


def _looks_like_account_number(name: str) -> bool:
    """An account "name" that is a number ("1234-5678", "Visa 4000...0002") identifies
    the account; a label such as "Checking" does not, and makes no entity."""
    return sum(c.isdigit() for c in name) >= 4


def _card_number(name: str) -> str | None:
    """The card number in a credit-card account's name ("Visa 4000 0000 0000 0002")."""
    m = re.search(r"\d[\d \-]{10,}\d", name)
    digits = re.sub(r"\D", "", m.group(0)) if m else ""
    return digits if 12 <= len(digits) <= 19 else None


class _Bad(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _clean_date(text: str) -> str:
    # Quicken pads with spaces ("6/ 1'15", "12/ 5/98").
    if re.fullmatch(r"[\d\s/.'\-]+", text):
        text = re.sub(r"\s+", "", text)
    # Software with the Y2K bug wrote the year as years since 1900 ("3/25/099" for 1999,
    # "1/4/100" for 2000), some with the payee run on after it ("03/25/099Share
    # Withdrawal"): the date is what comes first.
    m = re.fullmatch(r"(\d{1,2}[/.\-]\d{1,2}[/.\-])([01]\d\d)(?:\s*[^\d\s].*)?", text)
    if m:
        return f"{m.group(1)}{1900 + int(m.group(2))}"
    # The same bug printed "19" before it: "1/13/19100" is 2000.
    m = re.fullmatch(r"(\d{1,2}[/.\-]\d{1,2}[/.\-])19(1\d\d)", text)
    if m:
        return f"{m.group(1)}{1900 + int(m.group(2))}"
    # Quicken writes a two-digit year after an apostrophe for 2000 and later ("1/31'01",
    # "3/29' 0") and after a slash for the 1990s ("12/31/99"). A few other writers put
    # the apostrophe before every year: "12/31'99" is then 1999, never 2099. Years '80
    # to '99 are read as 1980-1999 (no QIF writer predates 1980; see _APOSTROPHE_1900S).
    m = re.fullmatch(r"(\d{1,2})([/.\-])(\d{1,2})'(\d{1,2})", text)
    if m:
        year = int(m.group(4))
        year += 1900 if year >= _APOSTROPHE_1900S else 2000
        return f"{m.group(1)}{m.group(2)}{m.group(3)}{m.group(2)}{year}"
    return text


# An apostrophe year from here on is of the 1900s: "'99" is 1999, as written by the
# programs that put the apostrophe before every year. Quicken itself (apostrophe only
# for 2000+) will not write '80 before 2080.
_APOSTROPHE_1900S = 80


def _apostrophe_1900s(text: str) -> bool:
    """Whether a date writes an apostrophe year read as 19xx ("12/31'99")."""
    m = re.search(r"'\s*(\d{1,2})\s*$", text)
    return bool(m and int(m.group(1)) >= _APOSTROPHE_1900S)


def _amount(text: str, decimal_comma: bool | None, code: str) -> Decimal:
    try:
        return parse_amount(text, decimal_comma=decimal_comma).value
    except ValueError as exc:
        raise _Bad(code, str(exc)) from None


def sniff_qif(head: bytes) -> float:
    """0.95 when the first non-blank line is a QIF header (``!Type:``, ``!Account``...)."""
    text = head[:4096].decode("latin-1").lstrip("\ufeff\xef\xbb\xbf \t\r\n")
    if re.match(r"!(Type:|Account\b|Option:|Clear:)", text, re.IGNORECASE):
        return 0.95
    return 0.0


class QifParser:
    """QIF statements (Parser protocol)."""

    name = "qif"
    label = "QIF (Quicken) statement"

    def sniff(self, path: Path, head: bytes) -> float:
        """High when the file starts with a QIF header line."""
        return sniff_qif(head)

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        """Stream the file's transactions (see :func:`read_qif`)."""
        yield from read_qif(path, options)
