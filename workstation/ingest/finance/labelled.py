"""Transactions from "Label: value" block statements (Santander UK's .txt download).

Some banks' text downloads are not tables: a few lines about the statement, then one
block of ``Label: value`` lines per transaction, blocks parted by blank lines::

    From: 01/01/2024 to 31/01/2024

    Account: XXXX XXXX XXXX 1234

    Date: 05/01/2024
    Description: CARD PAYMENT TO EXAMPLE SHOP,12.50 GBP, RATE 1.00/GBP ON 03-01-2024
    Amount: -12.50 GBP
    Balance: 1234.56 GBP

Which labels a bank writes, and what each one means, is data (:class:`BlockLayout`, one
per bank in :data:`LAYOUTS`): add a layout to read another bank's block format.

Each block becomes one ``ParsedEvent(kind="transaction")``:

* ``occurred_at``: the date, naive, at midnight, ``properties["time_precision"] = "day"``.
* ``title``: the counterparty read from the description (the merchant of a card payment),
  else the description.
* ``properties``: ``amount`` (Decimal, signed as written: a payment out is negative),
  ``currency`` (stated beside the amount, else the layout's, with ``currency_assumed``),
  ``description``, ``balance``, ``account`` and ``statement_period`` (from the lines above
  the blocks), what a card payment's description adds (``card_used_on``,
  ``original_amount``, ``original_currency``, ``exchange_rate``), and ``columns`` for any
  label the layout does not know.
* ``parties``: the statement's account (``account``/``account``) and the counterparty
  (``organisation``/``merchant``).

Files are read as UTF-8, else Windows-1252 (Santander writes the latter, with
non-breaking spaces after the labels). A block without a date or amount, or with one that
cannot be read, is a :class:`RowError` naming its line; a file that is not such a
statement raises :class:`ParseError` naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from workstation.ingest.records import (
    ImportOptions,
    ParsedEvent,
    ParseError,
    Party,
    Record,
    RowError,
)
from workstation.ingest.tabular import parse_amount

MAX_FILE_BYTES = 64 << 20          # years of daily transactions are a few megabytes
MAX_LINE_CHARS = 10_000


@dataclass(frozen=True)
class Counterparty:
    """How a description names the other side: ``pattern``'s group ``name`` is it; its
    other named groups (``card_used_on``, ``original_amount``, ``original_currency``,
    ``exchange_rate``) are kept as properties."""

    pattern: re.Pattern[str]
    role: str = "merchant"


@dataclass(frozen=True)
class BlockLayout:
    """One bank's block statement.

    ``header`` maps a label written above the blocks (lower case, without its colon) to
    what it gives: ``period`` (``"<date> to <date>"``) or ``account``. ``fields`` maps a
    label inside a block to our field: ``date``, ``description``, ``amount``, ``balance``.
    A block starts at the label whose field is ``date``. ``date_format`` is a
    :func:`datetime.strptime` format; ``currency`` the bank's own money.
    """

    name: str
    label: str
    header: Mapping[str, str]
    fields: Mapping[str, str]
    date_format: str
    currency: str | None = None
    counterparties: tuple[Counterparty, ...] = field(default_factory=tuple)

    def label_of(self, wanted: str) -> str:
        return next(k for k, v in self.fields.items() if v == wanted)


def _described(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


SANTANDER_UK = BlockLayout(
    name="santander_uk_txt",
    label="Santander UK statement download (.txt)",
    header={"from": "period", "account": "account"},
    fields={"date": "date", "description": "description", "amount": "amount",
            "balance": "balance"},
    date_format="%d/%m/%Y",
    currency="GBP",
    counterparties=(
        # "CARD PAYMENT TO EXAMPLE SHOP,12.50 GBP, RATE 1.00/GBP ON 03-01-2024": the shop,
        # what was paid in its currency, the rate, and the day the card was used.
        Counterparty(_described(
            r"^CARD PAYMENT TO (?P<name>.+?)"
            r"(?:,\s*(?P<original_amount>[\d,]+\.\d+)\s+(?P<original_currency>[A-Z]{3}))?"
            r"(?:,\s*RATE\s+(?P<exchange_rate>[\d.]+)/[A-Z]{3})?"
            r"(?:,?\s+ON\s+(?P<card_used_on>\d{2}-\d{2}-\d{4}))?\s*$")),
        # A direct debit goes to a company ("DIRECT DEBIT PAYMENT TO EXAMPLE ENERGY REF
        # 123, MANDATE NO 0012"). Transfers and receipts name people or firms alike: their
        # text stays in the description.
        Counterparty(_described(r"^DIRECT DEBIT PAYMENT TO (?P<name>.+?)"
                                r"(?:\s+REF(?:ERENCE)?\b.*|\s*,\s*MANDATE NO\b.*)?$")),
    ),
)

#: Every block layout, tried in order.
LAYOUTS: tuple[BlockLayout, ...] = (SANTANDER_UK,)

# "Label: value" with whatever spaces (non-breaking ones too) around the colon.
_LABELLED = re.compile(r"^\s*([A-Za-z][A-Za-z ./&'()-]{0,40}?)\s*:\s*(.*?)\s*$")
_PERIOD = re.compile(r"^(\S+)\s+to\s+(\S+)$", re.IGNORECASE)
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " "})


def _decode(data: bytes, encoding: str | None, path: Path) -> str:
    if encoding:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise ParseError(f"cannot read the file as {encoding}: {exc}", file=path) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, line.translate(_SPACES)) for n, line in enumerate(text.splitlines(), 1)]


def _split(line: str) -> tuple[str, str] | None:
    m = _LABELLED.match(line)
    if m is None:
        return None
    return " ".join(m.group(1).lower().split()), m.group(2).strip()


def _layout_of(lines: list[tuple[int, str]]) -> BlockLayout | None:
    """The layout whose header labels stand above its first block, and whose first
    block has every field of the layout in order; None when none fits."""
    filled = [(n, line) for n, line in lines if line.strip()]
    for layout in LAYOUTS:
        names = list(layout.fields)
        start = names[0]
        header_seen: set[str] = set()
        for i, (_, line) in enumerate(filled):
            parts = _split(line)
            if parts is None:
                break
            label, value = parts
            if label == start:
                block = [_split(x) for _, x in filled[i:i + len(names)]]
                if (header_seen == set(layout.header)
                        and [b[0] if b else None for b in block] == names):
                    return layout
                break
            if label not in layout.header:
                break
            if layout.header[label] == "period" and not _PERIOD.match(value):
                break
            header_seen.add(label)
    return None


def _read_date(text: str, fmt: str) -> date:
    return datetime.strptime(text.strip(), fmt).date()


class _Reader:
    def __init__(self, path: Path, layout: BlockLayout) -> None:
        self.path = path
        self.layout = layout
        self.account: str | None = None
        self.period: str | None = None
        self._parties: dict[tuple[str, str, str], Party] = {}

    def party(self, kind: str, value: str, role: str) -> Party:
        key = (kind, value, role)
        found = self._parties.get(key)
        if found is None:
            found = self._parties[key] = Party(kind=kind, value=value, role=role)
        return found

    def header_line(self, n: int, label: str, value: str) -> RowError | None:
        what = self.layout.header[label]
        if what == "account":
            self.account = " ".join(value.split()) or None
            return None
        m = _PERIOD.match(value)
        if m is None:
            return RowError(f"line {n}", label, f"not a statement period: {value!r}")
        try:
            start, end = (_read_date(x, self.layout.date_format) for x in m.groups())
        except ValueError:
            return RowError(f"line {n}", label, f"not a statement period: {value!r}")
        self.period = f"{start.isoformat()}/{end.isoformat()}"
        return None

    def block(self, lines: list[tuple[int, str, str]]) -> Record:
        """One transaction from a block's (line number, label, value) lines."""
        first = lines[0][0]
        fields = self.layout.fields
        values: dict[str, tuple[int, str]] = {}
        columns: dict[str, str] = {}
        for n, label, value in lines:
            key = fields.get(label)
            if key is None:
                columns[label] = value
            elif key in values:
                return RowError(f"line {n}", key, f"a second {label.title()!r} line in the "
                                                  f"transaction that starts on line {first}")
            else:
                values[key] = (n, value)
        for key in ("date", "amount"):
            if not values.get(key, (0, ""))[1]:
                return RowError(f"line {first}", key,
                                f"the transaction has no {self.layout.label_of(key).title()!r}")
        n, text = values["date"]
        try:
            day = _read_date(text, self.layout.date_format)
        except ValueError:
            return RowError(f"line {n}", "date", f"not a date: {text!r}")
        n, text = values["amount"]
        try:
            amount = parse_amount(text, decimal_comma=False, thousands=",")
        except ValueError:
            return RowError(f"line {n}", "amount", f"not an amount: {text!r}")
        props: dict[str, Any] = {"amount": amount.value, "currency": amount.currency,
                                 "time_precision": "day"}
        if amount.currency is None and self.layout.currency:
            props["currency"] = self.layout.currency
            props["currency_assumed"] = True
        if "balance" in values and values["balance"][1]:
            n, text = values["balance"]
            try:
                props["balance"] = parse_amount(text, decimal_comma=False, thousands=",").value
            except ValueError:
                return RowError(f"line {n}", "balance", f"not an amount: {text!r}")
        description = " ".join(values.get("description", (0, ""))[1].split())
        if description:
            props["description"] = description
        if self.account:
            props["account"] = self.account
        if self.period:
            props["statement_period"] = self.period
        if columns:
            props["columns"] = columns
        parties: list[Party] = []
        if self.account:
            parties.append(self.party("account", self.account, "account"))
        title = description
        other = self.counterparty(description, props)
        if other is not None:
            parties.append(other)
            title = other.value
        return ParsedEvent(kind="transaction", occurred_at=datetime(day.year, day.month, day.day),
                           ref=f"line {first}", title=title, parties=tuple(parties),
                           properties=props)

    def counterparty(self, description: str, props: dict[str, Any]) -> Party | None:
        for rule in self.layout.counterparties:
            m = rule.pattern.match(description)
            if m is None or not m.group("name").strip(" ,"):
                continue
            for key, value in m.groupdict().items():
                if key == "name" or value is None:
                    continue
                if key == "card_used_on":
                    try:
                        props[key] = datetime.strptime(value, "%d-%m-%Y").date().isoformat()
                    except ValueError:
                        props[key] = value
                elif key in ("original_amount", "exchange_rate"):
                    props[key] = Decimal(value.replace(",", ""))
                else:
                    props[key] = value.upper()
            return self.party("organisation", m.group("name").strip(" ,"), rule.role)
        return None


def read_statement(path: str | Path, options: ImportOptions | None = None) -> Iterator[Record]:
    """Stream the transactions of a block statement (see the module docstring).

    Raises ParseError naming the file when it cannot be read or is no block statement of
    a known layout; yields RowError (ref ``"line N"``) for a block that cannot be read.
    """
    p = Path(path)
    options = options or ImportOptions()
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ParseError(f"file too large for a statement ({size} bytes)", file=p)
        data = p.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=p) from None
    if b"\x00" in data:
        raise ParseError("binary data, not a text statement", file=p)
    lines = _lines(_decode(data, options.encoding, p))
    layout = _layout_of(lines)
    if layout is None:
        raise ParseError("not a 'Label: value' block statement of a known bank (no statement "
                         "lines such as 'From: … to …' and 'Account: …' above a block of "
                         "'Date:', 'Description:', 'Amount:', 'Balance:' lines)", file=p)
    yield from _records(p, layout, lines)


def _records(path: Path, layout: BlockLayout, lines: list[tuple[int, str]]) -> Iterator[Record]:
    reader = _Reader(path, layout)
    start = next(iter(layout.fields))
    block: list[tuple[int, str, str]] = []
    in_blocks = False
    for n, line in lines:
        if len(line) > MAX_LINE_CHARS:
            raise ParseError(f"line {n} is {len(line)} characters long; not a statement line",
                             file=path)
        if not line.strip():
            if block:
                yield reader.block(block)
                block = []
            continue
        parts = _split(line)
        if parts is None:
            yield RowError(f"line {n}", None, f"not a 'Label: value' line: {line.strip()[:80]!r}")
            continue
        label, value = parts
        if not in_blocks and label != start:
            if label in layout.header:
                err = reader.header_line(n, label, value)
                if err is not None:
                    yield err
            else:
                yield RowError(f"line {n}", label, f"unknown statement line {label.title()!r}")
            continue
        in_blocks = True
        if label == start and block:
            yield reader.block(block)  # a block not followed by a blank line
            block = []
        block.append((n, label, value))
    if block:
        yield reader.block(block)


class LabelledStatementParser:
    """Parser for "Label: value" block statements (Parser protocol)."""

    name = "labelled_statement"
    label = "Bank statement in 'Label: value' blocks (Santander UK .txt)"

    def sniff(self, path: Path, head: bytes) -> float:
        """0.95 when the head opens with a known layout's statement lines followed by a
        complete first block; 0 otherwise (so an e-mail's "From:"/"Date:" header, a chat
        or a table is never taken)."""
        if not head or b"\x00" in head[:4096]:
            return 0.0
        text = head[:8192]
        try:
            decoded = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            decoded = text.decode("cp1252", errors="replace")
        lines = _lines(decoded)[:40]
        return 0.95 if _layout_of(lines) is not None else 0.0

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        """Stream the file's transactions (see :func:`read_statement`)."""
        return read_statement(path, options)


__all__ = ["BlockLayout", "Counterparty", "LAYOUTS", "LabelledStatementParser",
           "SANTANDER_UK", "read_statement"]
