"""The one import pipeline every format goes through.

detect → preview → run (progress, cancel) → summary. A run is ONE write transaction: the
source row, every entity, event, party and link, and the audit entry commit together or
not at all, so a bad row (without skip-bad-rows), a cancel or a crash leaves the database
exactly as it was. Every row written points to its source and to where in the file it came
from. Re-importing a file already imported into the case (same SHA-256) changes nothing.

Threading: ``run_import`` blocks; the UI runs it in a worker and passes ``progress`` and
``cancel`` (anything with ``is_set()``).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import insert, select

from workstation import clock
from workstation.domain.bulk import BulkWriter
from workstation.domain.models import IDENTIFIER_KINDS
from workstation.domain.service import Workstation
from workstation.errors import BadInput, Cancelled, UsageError
from workstation.ids import new_uid
from workstation.text import storable_name
from workstation.ingest import textio
from workstation.ingest.formats import all_parsers, get_parser
from workstation.ingest.records import (
    ImportOptions,
    Notice,
    ParsedEntity,
    ParsedEvent,
    ParsedLink,
    ParseError,
    Party,
    Record,
    RowError,
)
from workstation.store import schema as s

Progress = Callable[[float, str], None]
HEAD_BYTES = 65536
MAX_ERRORS_KEPT = 1000
CANCEL_EVERY = 500
# Events whose text is scanned for identifiers (phones, e-mails, URLs, IPs, cards).
EXTRACT_KINDS = frozenset({"message", "note", "call", "other"})


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Detection:
    format: str
    label: str
    confidence: float
    candidates: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class RowProblem:
    row: str
    field: str | None
    message: str


@dataclass(frozen=True)
class Preview:
    format: str
    label: str
    records: tuple[Record, ...]
    problems: tuple[RowProblem, ...]


@dataclass(frozen=True)
class ImportResult:
    source_id: int | None
    format: str
    events: int
    entities: int
    links: int
    skipped: int
    errors: tuple[RowProblem, ...]
    warnings: tuple[str, ...] = ()
    duplicate_of: int | None = None
    messages: int = 0
    system_lines: int = 0

    def to_json(self) -> dict[str, Any]:
        """The CLI.md shape, plus a few extra fields."""
        return {
            "source": self.source_id if self.duplicate_of is None else self.duplicate_of,
            "format": self.format, "events": self.events, "entities": self.entities,
            "skipped": self.skipped,
            "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in self.errors],
            "links": self.links, "duplicate": self.duplicate_of is not None,
            "warnings": list(self.warnings),
        }


# ---------------------------------------------------------------------- detection
def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(HEAD_BYTES)
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror or exc})") from None


def detect(path: str | Path) -> Detection:
    """Which importer reads ``path``, from its content (not its name alone)."""
    p = Path(path)
    head = _head(p)
    if not head:
        raise BadInput(f"{p}: the file is empty")
    scores: list[tuple[str, float]] = []
    for parser in all_parsers():
        try:
            score = float(parser.sniff(p, head))
        except Exception:  # a sniffer must never stop detection of the others
            score = 0.0
        if score > 0:
            scores.append((parser.name, score))
    scores.sort(key=lambda x: -x[1])
    if not scores or scores[0][1] < 0.3:
        kind = "binary data" if b"\x00" in head[:4096] and not head.startswith((b"\xff\xfe", b"\xfe\xff")) else "content"
        raise BadInput(f"{p}: unrecognised format ({kind} matches no importer); "
                       "choose one with --format (see `workstation formats`)")
    best = get_parser(scores[0][0])
    return Detection(best.name, best.label, scores[0][1], tuple(scores[:5]))


def _parser_for(path: Path, fmt: str | None) -> Any:
    if fmt in (None, "", "auto"):
        return get_parser(detect(path).format)
    try:
        return get_parser(fmt)  # type: ignore[arg-type]
    except KeyError:
        raise UsageError(f"unknown format {fmt!r} (see `workstation formats`)") from None


def preview(path: str | Path, *, fmt: str | None = "auto", options: ImportOptions | None = None,
            limit: int = 20) -> Preview:
    """The first ``limit`` records as the importer reads them, without writing anything."""
    p = Path(path)
    parser = _parser_for(p, fmt)
    opts = options or ImportOptions()
    records: list[Record] = []
    problems: list[RowProblem] = []
    try:
        # Through the same safety net as run_import (undecodable text, nesting, memory).
        for rec in itertools.islice(_records(parser, p, opts), limit * 3):
            if isinstance(rec, RowError):
                problems.append(RowProblem(rec.ref, rec.field, rec.message))
            elif isinstance(rec, Notice):
                problems.append(RowProblem(rec.ref, None, rec.message))
            else:
                records.append(rec)
            if len(records) >= limit:
                break
    except ParseError as exc:
        raise BadInput(str(exc)) from None
    return Preview(parser.name, parser.label, tuple(records), tuple(problems))


# ---------------------------------------------------------------------- run
def file_digest(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


@dataclass
class _Counters:
    events: int = 0
    messages: int = 0
    system: int = 0
    system_lines: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    zone_name: str = "UTC"


class _Resolver:
    """Parties → entity ids for one import (normalising identifiers, cached)."""

    def __init__(self, ws: Workstation, writer: BulkWriter, options: ImportOptions, counters: _Counters) -> None:
        self.ws = ws
        self.w = writer
        self.options = options
        self.counters = counters
        # (kind, value, platform) → (entity id, the party last resolved to it); a person
        # with a date of birth is kept under (kind, value, platform, dob).
        self._cache: dict[tuple[Any, ...], tuple[int, Party]] = {}
        self._mentioned: dict[str, int] = {}
        # Parsers hand over one ParsedLink object per distinct link (a card's holder on every
        # row of a statement): by identity, each is written once. Holding the object keeps
        # its id from being reused by another.
        self.links_written: dict[int, ParsedLink] = {}
        self._fp_key = ws.fingerprint_key

    def entity(self, party: Party, ref: str) -> int:
        ck: tuple[Any, ...] = (party.kind, party.value, party.platform)
        if party.kind == "person" and party.properties.get("dob"):
            # Namesakes born on different days are different people (see ``dedupe``).
            ck = (*ck, party.properties["dob"])
        hit = self._cache.get(ck)
        if hit is not None:
            found, seen = hit
            # The same party object (parsers reuse one per card, per sender) or one that
            # says the same: nothing new. Another label or more properties (a display name
            # in a later mail) go to the writer, which adds what the entity lacks.
            if seen is party or (seen.label == party.label and seen.properties == party.properties):
                return found
        kind = party.kind.strip().lower() or "other"
        value = (party.value or "").strip()
        label = party.label or value
        if kind not in IDENTIFIER_KINDS:
            # Names padded to a fixed width ("PRUNE        NEW YORK" on a card statement)
            # or wrapped over lines are the same name as written plainly: one entity.
            value = " ".join(value.split())
            label = " ".join(label.split())
        props: dict[str, Any] = dict(party.properties)
        if party.platform:
            props.setdefault("platform", party.platform)
        key: str | None = None
        sensitive: str | None = None
        if kind == "card" and value.lower().startswith("last4:"):
            last4 = value.split(":", 1)[1].strip()[-4:]
            label = party.label or f"•••• {last4}"
            props.update(last4=last4, partial=True)
        elif kind in IDENTIFIER_KINDS:
            try:
                shown, key, nprops, sensitive = self.ws.normalise(kind, value, platform=party.platform,
                                                                  region=self.options.default_region)
                props = {**nprops, **props}
                if kind == "account" and party.label and party.label != shown:
                    label = f"{party.label} ({shown})"
                else:
                    label = shown if kind != "account" else (party.label or shown)
                if (kind in ("email", "phone") and party.label
                        and party.label not in (shown, value)):
                    # The name a mail or a contact card gave the address ("Alice Example
                    # <alice@…>"): the entity is the address, the name is kept on it.
                    props.setdefault("display_name", party.label)
            except BadInput as exc:
                if kind == "account":
                    platform = (party.platform or "unknown").lower()
                    key = f"account:{platform}:{' '.join(value.split()).lower()}"
                    label = party.label or value
                else:
                    props["unnormalised"] = True
                    if hit is None and len(self.counters.warnings) < MAX_ERRORS_KEPT:
                        self.counters.warnings.append(f"{ref}: {exc}")
        if hit is not None:
            # Seen before under this party's own value: the same entity, whatever label the
            # writer would key it by now; it gains what it lacked.
            self.w.add_properties(hit[0], props)
            self._cache[ck] = (hit[0], party)
            return hit[0]
        dedupe = None
        if kind == "person" and props.get("dob"):
            dedupe = f"person:{label.casefold()}|{props['dob']}"
        eid = self.w.entity(kind, label or value or kind, key, properties=props, sensitive=sensitive,
                            ref=ref, dedupe=dedupe)
        self._cache[ck] = (eid, party)
        return eid

    def mentions(self, text: str, ref: str) -> list[tuple[int, str]]:
        from workstation.analysis.identifiers import extract

        out = []
        for found in extract(text, region=self.options.default_region or self.ws.settings.phone_region,
                             card_key=self._fp_key):
            ident = found.identifier
            eid = self._mentioned.get(ident.key)
            if eid is None:
                eid = self.w.entity(ident.kind, ident.display, ident.key, properties=dict(ident.properties),
                                    sensitive=ident.sensitive if self.ws.settings.keep_full_card_numbers else None,
                                    ref=ref)
                self._mentioned[ident.key] = eid
            out.append((eid, "mentioned"))
        return out


_LINKS_REMEMBERED = 50_000


def _zone(options: ImportOptions) -> Any:
    if not options.timezone:
        return UTC
    try:
        return ZoneInfo(options.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown timezone {options.timezone!r}") from None


def run_import(ws: Workstation, case_id: int, path: str | Path, *, fmt: str | None = "auto",
               options: ImportOptions | None = None, skip_bad_rows: bool = False,
               progress: Progress | None = None, cancel: CancelToken | None = None) -> ImportResult:
    """Import ``path`` into case ``case_id`` in one transaction. See the module doc.

    Raises BadInput (file/row/field named) on a bad file, or on a bad row unless
    ``skip_bad_rows``; Cancelled when ``cancel`` is set. Either way nothing is written.
    """
    p = Path(path)
    opts = options or ImportOptions(default_region=ws.settings.phone_region)
    zone = _zone(opts)
    _head(p)
    ws.get_case(case_id)  # NotFound before any work
    size, digest = file_digest(p)
    with ws.db.read() as conn:
        dup = conn.execute(select(s.source.c.id).where(
            s.source.c.case_id == case_id, s.source.c.sha256 == digest, s.source.c.deleted.is_(False))).first()
    parser = _parser_for(p, fmt)
    if dup is not None:
        return ImportResult(None, parser.name, 0, 0, 0, 0, (), ("this file was already imported into the case",),
                            duplicate_of=dup[0])
    report = progress or (lambda f, m: None)
    tracker = textio.PositionTracker(p, size)
    counters = _Counters(zone_name=str(zone))
    report(0.0, f"reading {p.name} as {parser.label}")
    stored_name = storable_name(p.name)
    try:
        # Foreign keys unchecked per row: every reference the writer makes is to a row it has
        # just written or found in this transaction (tests run foreign_key_check afterwards).
        with tracker, ws.db.write(bulk=True, foreign_keys=False) as conn:
            source_id = conn.execute(insert(s.source).values(
                case_id=case_id, file_name=stored_name, file_size=size, sha256=digest, importer=parser.name,
                options=_options_json(opts, skip_bad_rows), imported_by=ws.actor,
                imported_at=clock.utcnow_iso(), uid=new_uid(), origin=ws.db.device_id,
                hlc=ws.clock.now())).inserted_primary_key[0]
            with BulkWriter(ws, conn, case_id, source_id=source_id, background=True,
                            local_zone=zone) as w:
                resolver = _Resolver(ws, w, opts, counters)
                for n, rec in enumerate(_records(parser, p, opts), 1):
                    if n % CANCEL_EVERY == 0:
                        if cancel is not None and cancel.is_set():
                            raise Cancelled(f"import of {p.name} cancelled; nothing was saved")
                        report(min(0.99, tracker.fraction()), f"{n:,} records")
                    if isinstance(rec, RowError):
                        _bad_row(p, rec, counters, skip_bad_rows)
                        continue
                    if isinstance(rec, Notice):
                        if len(counters.warnings) < MAX_ERRORS_KEPT:
                            counters.warnings.append(f"{rec.ref}: {rec.message}")
                        continue
                    try:
                        if isinstance(rec, ParsedEvent):
                            _write_event(w, resolver, rec, zone, counters)
                        elif isinstance(rec, ParsedEntity):
                            resolver.entity(rec.party, rec.ref)
                            for lk in rec.links:
                                w.link(resolver.entity(lk.src, rec.ref), resolver.entity(lk.dst, rec.ref),
                                       lk.kind, confidence=lk.confidence, ref=rec.ref)
                    except (ValueError, TypeError) as exc:
                        _bad_row(p, RowError(getattr(rec, "ref", "?"), None, str(exc)), counters, skip_bad_rows)
            created = dict(w.created)
            summary = {"events": counters.events, "messages": counters.messages,
                       "system_lines": counters.system, "entities": created["entities"],
                       "links": created["links"], "skipped": counters.skipped,
                       "errors": [e.__dict__ for e in counters.errors[:MAX_ERRORS_KEPT]],
                       "warnings": counters.warnings[:MAX_ERRORS_KEPT],
                       "system_line_texts": counters.system_lines}
            conn.execute(s.source.update().where(s.source.c.id == source_id).values(summary=summary))
            ws.audit.append(conn, "import", "source", source_id, {
                "case_id": case_id, "file": stored_name, "sha256": digest, "format": parser.name,
                "events": counters.events, "entities": created["entities"], "skipped": counters.skipped})
    except ParseError as exc:
        raise BadInput(str(exc) if exc.file else f"{p}: {exc}") from None
    except UnicodeEncodeError as exc:
        # A parser let through text that is not Unicode (a lone surrogate): refuse the file
        # (the transaction rolled back) rather than fail untyped at the database.
        raise BadInput(f"{p}: holds text that is not valid Unicode ({exc.reason} at "
                       f"{exc.object[max(0, exc.start - 20):exc.start]!r}…); nothing was imported") from None
    report(1.0, f"imported {counters.events:,} events from {p.name}")
    return ImportResult(source_id, parser.name, counters.events, created["entities"], created["links"],
                        counters.skipped, tuple(counters.errors), tuple(counters.warnings), None,
                        counters.messages, counters.system)


def _records(parser: Any, path: Path, options: ImportOptions) -> Iterator[Record]:
    try:
        yield from parser.parse(path, options)
    except UnicodeDecodeError as exc:
        raise ParseError(f"undecodable text ({exc.reason}) at byte {exc.start}", file=path) from None
    except RecursionError:
        raise ParseError("structure nested too deeply", file=path) from None
    except MemoryError:
        raise ParseError("file too large to read", file=path) from None


def _bad_row(path: Path, err: RowError, counters: _Counters, skip: bool) -> None:
    if not skip:
        where = f"{path}: {err.ref}" + (f": field {err.field!r}" if err.field else "")
        raise BadInput(f"{where}: {err.message} (nothing was imported; use --skip-bad-rows to skip such rows)")
    counters.skipped += 1
    if len(counters.errors) < MAX_ERRORS_KEPT:
        counters.errors.append(RowProblem(err.ref, err.field, err.message))


def _write_event(w: BulkWriter, resolver: _Resolver, rec: ParsedEvent, zone: Any, counters: _Counters) -> None:
    # This runs once per imported row: plain local code, no helper calls it can do without.
    when = rec.occurred_at  # a naive time is read in the import's zone by the writer
    if rec.kind == "system":
        # "X joined", "messages are end-to-end encrypted": not messages, so not events; kept
        # with the source (who joined when can still matter to an investigator). Who they
        # name (the added member, a nick's new name, a joining IP) is kept as entities and
        # links all the same: often the only place an account shows up.
        for pt in rec.parties:
            resolver.entity(pt, rec.ref)
        _write_links(w, resolver, rec)
        counters.system += 1
        if len(counters.system_lines) < MAX_ERRORS_KEPT:
            if when is not None and when.tzinfo is None:
                when = when.replace(tzinfo=zone)
            counters.system_lines.append({"ref": rec.ref, "at": when.isoformat() if when else None,
                                          "text": (rec.body or rec.title or "")[:500]})
        return
    ref = rec.ref
    entity = resolver.entity
    parties = [(entity(pt, ref), pt.role) for pt in rec.parties]
    # Decimal amounts are stored as their exact text by the writer's JSON encoder.
    props = rec.properties
    if rec.attachments:
        props = dict(props)
        props["attachments"] = [{k: v for k, v in a.__dict__.items() if v is not None} for a in rec.attachments]
    if rec.occurred_at is not None and rec.occurred_at.tzinfo is None:
        props = {**props, "time_zone_assumed": counters.zone_name}
    if rec.kind in EXTRACT_KINDS and rec.body:
        parties.extend(resolver.mentions(rec.body, rec.ref))
    w.event(rec.kind, when, title=rec.title or "", body=rec.body, properties=props, parties=parties, ref=ref)
    if rec.links:
        _write_links(w, resolver, rec)
    counters.events += 1
    if rec.kind == "message":
        counters.messages += 1


def _write_links(w: BulkWriter, resolver: _Resolver, rec: ParsedEvent) -> None:
    entity, ref = resolver.entity, rec.ref
    written = resolver.links_written
    for lk in rec.links:
        if written.get(id(lk)) is lk:
            continue  # the parser's same link object as on an earlier row: already written
        w.link(entity(lk.src, ref), entity(lk.dst, ref), lk.kind, confidence=lk.confidence, ref=ref)
        if len(written) >= _LINKS_REMEMBERED:
            written.clear()
        written[id(lk)] = lk


def _options_json(options: ImportOptions, skip: bool) -> dict[str, Any]:
    d = {k: v for k, v in options.__dict__.items() if v is not None}
    d["skip_bad_rows"] = skip
    return d


def import_many(ws: Workstation, case_id: int, paths: Iterable[str | Path], **kw: Any) -> list[ImportResult]:
    """Import several files, each in its own transaction (one bad file spoils only itself)."""
    return [run_import(ws, case_id, p, **kw) for p in paths]


__all__ = ["detect", "preview", "run_import", "import_many", "ImportResult", "Detection", "Preview",
           "RowProblem"]
