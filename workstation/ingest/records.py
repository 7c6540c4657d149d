"""The neutral records every importer yields, whatever the source format.

A parser turns one file into a stream of these plain values; the ingest pipeline
(``workstation.ingest.pipeline``) is the only place that writes them to the database.
Parsers therefore never touch the store, and can be tested on their own.

Conventions a parser follows:

* ``ref`` names where a record came from in the file, the way an officer would look it
  up: ``"row 12"``, ``"line 40"``, ``"message 1234"``, ``"byte 5120"``. It is stored as the
  record's provenance.
* ``occurred_at`` is an aware ``datetime`` when the file states an offset or zone, and a
  naive one when it does not (WhatsApp, most CSVs). The pipeline localises naive times
  with the import's timezone option and keeps the offset it applied.
* Money is carried as ``Decimal`` (never float) in ``properties["amount"]`` with
  ``properties["currency"]`` (ISO 4217, upper case) when known. A debit is negative.
* A parser never raises for one bad row when it can go on: it yields a :class:`RowError`
  and the pipeline decides (abort, or skip-bad-rows). A file that cannot be read at all
  raises :class:`ParseError`. What is worth knowing but wrong with nothing (a count the
  export states that does not match) is a :class:`Notice`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, Union


class ParseError(Exception):
    """The file cannot be parsed. Carries where, so the message names file, row and field."""

    def __init__(self, message: str, *, file: str | Path | None = None, ref: str | None = None,
                 field: str | None = None) -> None:
        self.file = str(file) if file is not None else None
        self.ref = ref
        self.field = field
        self.message = message
        parts = [p for p in (self.file, ref, f"field {field!r}" if field else None) if p]
        super().__init__(f"{': '.join(parts)}: {message}" if parts else message)


@dataclass(frozen=True)
class Party:
    """An entity an event or link refers to, by identity as written in the file.

    ``kind`` is an entity kind: person, account, email, phone, card, ip, device, url,
    address, organisation, vehicle, merchant (an organisation that is paid), or any
    other lower-case word. ``value`` is the raw identifier (phone number, e-mail, card
    number, handle, IP) or, for people and organisations, the name. ``platform`` is set
    for online accounts ("telegram", "whatsapp", "discord", "messenger", "irc:libera"...).
    ``role`` is the party's role in the event (sender, recipient, participant, payer,
    merchant, cardholder, arrestee, account_holder, mentioned...).
    """

    kind: str
    value: str
    role: str = "participant"
    label: str | None = None
    platform: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message, recorded by name (and hash/size when the export has them)."""

    name: str
    mime: str | None = None
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None
    path: str | None = None  # as the export names it, relative to the export folder


@dataclass(frozen=True)
class ParsedLink:
    """A link between two parties stated by the source (card holder of a card, ...)."""

    kind: str  # holder_of, owns, uses, member_of, communicated_with, same_as, ...
    src: Party
    dst: Party
    confidence: float = 1.0


_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, init=False)
class ParsedEvent:
    """One dated fact: a chat message, a card transaction, an arrest or booking...

    ``kind``: message, transaction, arrest, booking, release, login, media_capture, note,
    system (a chat system line such as "X joined": kept, but not counted as a message).
    """

    kind: str
    occurred_at: datetime | None
    ref: str
    title: str
    body: str | None
    parties: tuple[Party, ...]
    links: tuple[ParsedLink, ...]
    attachments: tuple[Attachment, ...]
    properties: Mapping[str, Any]

    def __init__(self, kind: str, occurred_at: datetime | None, ref: str, title: str = "",
                 body: str | None = None, parties: tuple[Party, ...] = (),
                 links: tuple[ParsedLink, ...] = (), attachments: tuple[Attachment, ...] = (),
                 properties: Mapping[str, Any] = _EMPTY) -> None:
        # One per imported row: all fields in one step (a frozen dataclass's own __init__
        # sets them one by one through object.__setattr__, a third of a microsecond each).
        object.__setattr__(self, "__dict__", {
            "kind": kind, "occurred_at": occurred_at, "ref": ref, "title": title, "body": body,
            "parties": parties, "links": links, "attachments": attachments,
            "properties": properties})


@dataclass(frozen=True)
class ParsedEntity:
    """An entity stated without an event (an account in an OFX account list, ...)."""

    party: Party
    ref: str
    links: tuple[ParsedLink, ...] = ()


@dataclass(frozen=True)
class RowError:
    """One row/record that could not be read. The parser goes on after yielding it."""

    ref: str
    field: str | None
    message: str


@dataclass(frozen=True)
class Notice:
    """Something about the file the officer should know that is not an error: an export
    that states more messages than it holds, an assumption the parser had to make. The
    pipeline keeps it with the import's warnings (on the source row and in the summary)."""

    ref: str
    message: str


Record = Union[ParsedEvent, ParsedEntity, RowError, Notice]


@dataclass(frozen=True)
class ImportOptions:
    """Options that change how a file is read. Stored with the source row for provenance."""

    timezone: str | None = None          # IANA zone for naive times (None: UTC)
    default_region: str = "US"           # phone numbers without a country code
    profile: Mapping[str, Any] | None = None  # a column-mapping profile (see ingest.profiles)
    encoding: str | None = None          # force an encoding instead of detecting it
    owner: str | None = None             # the device owner / account holder of a chat export
    strict: bool = True                  # OFX and friends: reject a statement with errors
    date_order: str | None = None        # "dmy" / "mdy" for all-digit dates (None: from the file)


HEAD_BYTES = 65536


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of ``path`` (what sniffing and format checks look at);
    ParseError naming the file when it cannot be read."""
    try:
        with Path(path).open("rb") as fh:
            return fh.read(size)
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=path) from None


DATE_ORDERS = ("dmy", "mdy")


def forced_date_order(options: ImportOptions, path: Path | None = None) -> str | None:
    """The day/month order the officer gave for all-digit dates ("dmy" or "mdy"): the
    import option, else a profile's ``date_order``; None to decide from the file. Raises
    ParseError for any other value."""
    profile = options.profile if isinstance(options.profile, Mapping) else {}
    given = options.date_order or profile.get("date_order")
    if not given:
        return None
    order = str(given).strip().lower()
    if order not in DATE_ORDERS:
        raise ParseError(f"date order {given!r} is not 'dmy' (day first) or 'mdy' (month first)",
                         file=path, field="date_order")
    return order


class Parser(Protocol):
    """What every importer module provides (registered in ``workstation.ingest.formats``)."""

    name: str   # stable id, e.g. "telegram_json"
    label: str  # for people, e.g. "Telegram Desktop export (result.json)"

    def sniff(self, path: Path, head: bytes) -> float:
        """Confidence 0..1 that ``path`` is this format. ``head`` is its first 64 KiB."""

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        """Stream the file's records. Raises ParseError when the file cannot be read at all."""
