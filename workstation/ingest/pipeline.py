"""The one import pipeline every format goes through.

detect → preview → run (progress, cancel) → summary. A run is ONE write transaction: the
source row, every entity, event, party and link, and the audit entry commit together or
not at all, so a bad row (without skip-bad-rows), a cancel or a crash leaves the database
exactly as it was. Every row written points to its source and to where in the file it came
from. Re-importing a file already imported into the case (same SHA-256) changes nothing.

A folder (an unzipped chat export, a "Download your information" folder with many threads,
a folder of several WhatsApp chats) is imported the same way, as ONE import: the formats'
own sniffers find the exports in it (:func:`plan_folder`), every one is read in the same
transaction under one source row, and each record's provenance names the file inside the
folder ("WhatsApp Chat with Ann.txt: line 12"). The folder's SHA-256 is taken over the
sorted list of (relative path, size, SHA-256) of the files read, so importing the same
folder again changes nothing. Symbolic links are never followed; hidden and system files
(``.DS_Store``, ``__MACOSX/``, ``Thumbs.db``) are left out.

Threading: ``run_import`` blocks; the UI runs it in a worker and passes ``progress`` and
``cancel`` (anything with ``is_set()``).
"""

from __future__ import annotations

import hashlib
import itertools
import os
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
from workstation.ingest.formats import SUPERSEDES, all_parsers, folder_root, get_parser
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
class FolderPart:
    """One export found in a folder: the file (or the export folder) an importer reads."""

    path: Path
    rel: str          # relative to the chosen folder, forward slashes ("" for the folder itself)
    format: str
    label: str
    confidence: float


@dataclass(frozen=True)
class FolderPlan:
    """What a folder import reads (``parts``) and what else was looked at, with why not."""

    root: Path
    parts: tuple[FolderPart, ...]
    looked_at: tuple[tuple[str, str], ...]

    @property
    def format(self) -> str:
        return _combined_format([p.format for p in self.parts])


@dataclass(frozen=True)
class Detection:
    format: str
    label: str
    confidence: float
    candidates: tuple[tuple[str, float], ...]
    parts: tuple[FolderPart, ...] = ()   # for a folder: every export found in it


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
    #: A folder import: (path in the folder, format, events) of every export read.
    parts: tuple[tuple[str, str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The CLI.md shape, plus a few extra fields."""
        extra: dict[str, Any] = {}
        if self.parts:
            extra["parts"] = [{"path": rel, "format": f, "events": n} for rel, f, n in self.parts]
        out = {
            "source": self.source_id if self.duplicate_of is None else self.duplicate_of,
            "format": self.format, "events": self.events, "entities": self.entities,
            "skipped": self.skipped,
            "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in self.errors],
            "links": self.links, "duplicate": self.duplicate_of is not None,
            "warnings": list(self.warnings),
        }
        out.update(extra)
        return out


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


def _check_exists(path: Path) -> None:
    """BadInput unless ``path`` is a readable file or a folder."""
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise BadInput(f"{path}: cannot read the folder")
        return
    _head(path)


def detect(path: str | Path) -> Detection:
    """Which importer reads ``path``, from its content (not its name alone). For a folder,
    the exports found in it (``parts``); BadInput when it holds none."""
    p = Path(path)
    if p.is_dir():
        plan = plan_folder(p)
        label = _folder_label(plan)
        by_format: dict[str, float] = {}
        for part in plan.parts:
            by_format[part.format] = max(by_format.get(part.format, 0.0), part.confidence)
        return Detection(plan.format, label, min(x.confidence for x in plan.parts),
                         tuple(sorted(by_format.items(), key=lambda x: -x[1])[:5]), plan.parts)
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


# ---------------------------------------------------------------------- folders
#: Hidden files and what operating systems leave in folders: never an export.
_SYSTEM_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini", "$recycle.bin",
                           "system volume information", "ehthumbs.db"})
#: Photos, audio and video by their first bytes: an export's media, not read by sniffers.
_MEDIA_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"OggS", b"ID3",
                b"fLaC", b"\x1aE\xdf\xa3", b"#!AMR", b"\x00\x00\x01\x00")
LOOKED_AT_SHOWN = 25
MIN_CONFIDENCE = 0.3


def _is_system(name: str) -> bool:
    return name.startswith(".") or name.lower() in _SYSTEM_NAMES


def _is_media(head: bytes) -> bool:
    if head.startswith(_MEDIA_MAGIC):
        return True
    # RIFF (WEBP, WAV, AVI) and ISO media (MP4, MOV, HEIC, M4A): a type word at byte 4 or 8.
    return (head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE", b"AVI ")) or head[4:8] == b"ftyp"


def _best(parsers: Iterable[Any], path: Path, head: bytes) -> tuple[Any, float] | None:
    best: tuple[Any, float] | None = None
    for parser in parsers:
        try:
            score = float(parser.sniff(path, head))
        except Exception:  # a sniffer must never stop detection of the others
            score = 0.0
        if score >= MIN_CONFIDENCE and (best is None or score > best[1]):
            best = (parser, score)
    return best


def _rel(root: Path, path: Path) -> str:
    rel = path.relative_to(root).as_posix()
    return "" if rel == "." else rel


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def plan_folder(folder: str | Path, fmt: str | None = "auto") -> FolderPlan:
    """The exports in ``folder``, found by the importers' own sniffers: each file's content
    (and each sub-folder, for importers that read a whole export folder such as an unzipped
    Slack export) is offered to every sniffer, as :func:`detect` does for one file. Files
    inside an export folder an importer reads whole are that export's; a Telegram HTML
    export beside its result.json is left for the JSON (see ``formats.SUPERSEDES``).
    Symbolic links are not followed, hidden and system files are skipped, photos and other
    media are not offered to sniffers. BadInput, listing what was looked at, when nothing
    in the folder is importable."""
    root = Path(folder)
    if not root.is_dir():
        raise BadInput(f"{root}: not a folder")
    if fmt in (None, "", "auto"):
        parsers: tuple[Any, ...] = all_parsers()
    else:
        try:
            parsers = (get_parser(fmt),)
        except KeyError:
            raise UsageError(f"unknown format {fmt!r} (see `workstation formats`)") from None
    looked: list[tuple[str, str]] = []
    found: list[FolderPart] = []
    claimed: list[Path] = []

    def part(path: Path, parser: Any, score: float) -> FolderPart:
        return FolderPart(path, _rel(root, path), parser.name, parser.label, score)

    def walk_error(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        looked.append((_rel(root, where) + "/" if _inside(where, root) else str(where),
                       f"cannot read ({exc.strerror or exc})"))

    for top, dirs, files in os.walk(root, onerror=walk_error, followlinks=False):
        here = Path(top)
        kept = []
        for d in sorted(dirs):
            full = here / d
            if _is_system(d):
                looked.append((_rel(root, full) + "/", "hidden or system folder, skipped"))
            elif full.is_symlink():
                looked.append((_rel(root, full) + "/", "symbolic link, not followed"))
            else:
                kept.append(d)
        dirs[:] = kept
        whole = _best(parsers, here, b"")
        if whole is not None:  # an export read as a folder (unzipped Slack export)
            found.append(part(here, *whole))
            claimed.append(here)
            dirs[:] = []
            continue
        for name in sorted(files):
            full = here / name
            rel = _rel(root, full)
            if _is_system(name):
                looked.append((rel, "hidden or system file, skipped"))
                continue
            if full.is_symlink():
                looked.append((rel, "symbolic link, not followed"))
                continue
            if not full.is_file():
                looked.append((rel, "not a regular file"))
                continue
            try:
                head = _head(full)
            except BadInput as exc:
                looked.append((rel, str(exc).split(": ", 1)[-1]))
                continue
            if not head:
                looked.append((rel, "empty"))
            elif _is_media(head):
                looked.append((rel, "photo, audio or video"))
            elif (best := _best(parsers, full, head)) is None:
                looked.append((rel, "not a recognised format"))
            else:
                found.append(part(full, *best))
    # Importers that read the export folder around an entry file (a Discord package's
    # messages/index.json): the folder is the part, once, and its files are its own.
    parts: dict[tuple[str, Path], FolderPart] = {}
    for fp in found:
        export = folder_root(get_parser(fp.format), fp.path) if fp.path.is_file() else None
        if export is not None and export != fp.path:
            if not _inside(export, root):
                looked.append((fp.rel, f"{fp.label}: part of an export whose folder ({export}) "
                                       "is above the chosen one; choose that folder"))
                continue
            claimed.append(export)
            fp = FolderPart(export, _rel(root, export), fp.format, fp.label, fp.confidence)
        parts.setdefault((fp.format, fp.path), fp)
    chosen = [fp for fp in parts.values()
              if not any(_inside(fp.path, c) and fp.path != c for c in claimed)]
    kept_parts: list[FolderPart] = []
    for fp in chosen:
        over = next((o for o in chosen if fp.format in SUPERSEDES.get(o.format, ())
                     and _inside(fp.path, o.path.parent)), None)
        if over is not None:
            looked.append((fp.rel, f"{fp.label}: the same export as {over.rel} ({over.label}), "
                                   "which is read instead"))
        else:
            kept_parts.append(fp)
    kept_parts.sort(key=lambda fp: fp.rel)
    if not kept_parts:
        shown = [f"{rel or '.'} ({why})" for rel, why in looked[:LOOKED_AT_SHOWN]]
        more = f"; and {len(looked) - LOOKED_AT_SHOWN:,} more" if len(looked) > LOOKED_AT_SHOWN else ""
        if not looked:
            raise BadInput(f"{root}: the folder is empty; nothing to import")
        what = "no chat export, statement or booking list" if fmt in (None, "", "auto") else \
            f"nothing {parsers[0].label} reads"
        raise BadInput(f"{root}: {what} found in this folder; looked at {len(looked):,} "
                       f"item(s): {'; '.join(shown)}{more}")
    return FolderPlan(root, tuple(kept_parts), tuple(looked))


def _combined_format(formats: Iterable[str]) -> str:
    names = sorted(set(formats))
    joined = "+".join(names)
    return joined if len(joined) <= 64 else "mixed"


def _folder_label(plan: FolderPlan) -> str:
    counts: dict[str, int] = {}
    for part in plan.parts:
        counts[part.label] = counts.get(part.label, 0) + 1
    what = ", ".join(f"{n} × {label}" if n > 1 else label for label, n in counts.items())
    return f"folder {plan.root.name}: {what}"


def _files_under(folder: Path) -> Iterator[Path]:
    """The regular files of an export folder, as folder imports read them (no links, no
    hidden or system files), in a fixed order."""
    for top, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not _is_system(d) and not (Path(top) / d).is_symlink())
        for name in sorted(files):
            full = Path(top) / name
            if not _is_system(name) and not full.is_symlink() and full.is_file():
                yield full


def folder_digest(plan: FolderPlan) -> tuple[int, str, list[dict[str, Any]]]:
    """(total size, SHA-256, manifest) of the files a folder import reads: the SHA-256 of
    the sorted lines "relative path<TAB>size<TAB>SHA-256", one per file (every file of an
    export folder read whole, such as an unzipped Slack export). Deterministic: the same
    folder gives the same digest wherever it sits and whenever it is read."""
    entries: dict[str, tuple[int, str]] = {}
    for fp in plan.parts:
        for f in ([fp.path] if fp.path.is_file() else _files_under(fp.path)):
            rel = _rel(plan.root, f)
            if rel not in entries:
                try:
                    entries[rel] = file_digest(f)
                except OSError as exc:
                    raise BadInput(f"{plan.root}: {rel}: cannot read ({exc.strerror or exc})") from None
    h = hashlib.sha256()
    manifest = []
    for rel in sorted(entries):
        size, sha = entries[rel]
        h.update(f"{rel}\t{size}\t{sha}\n".encode("utf-8", "surrogateescape"))
        manifest.append({"path": rel, "size": size, "sha256": sha})
    return sum(size for size, _ in entries.values()), h.hexdigest(), manifest


def _parser_for(path: Path, fmt: str | None) -> Any:
    if fmt in (None, "", "auto"):
        return get_parser(detect(path).format)
    try:
        return get_parser(fmt)  # type: ignore[arg-type]
    except KeyError:
        raise UsageError(f"unknown format {fmt!r} (see `workstation formats`)") from None


@dataclass(frozen=True)
class _Read:
    """One parser run of an import: a file, or an export folder read whole."""

    path: Path
    prefix: str      # prepended to every record's ref ("" for a file imported alone)
    parser: Any
    size: int        # bytes, for progress

    @property
    def rel(self) -> str:
        return self.prefix.rstrip(": /")


def _plan(p: Path, fmt: str | None) -> tuple[list[_Read], FolderPlan | None]:
    """What an import of ``p`` reads: the file with its importer, or a folder's exports."""
    if not p.is_dir():
        parser = _parser_for(p, fmt)
        return [_Read(p, "", parser, _size(p))], None
    plan = plan_folder(p, fmt)
    reads = []
    for part in plan.parts:
        is_file = part.path.is_file()
        prefix = f"{part.rel}: " if is_file else (f"{part.rel}/" if part.rel else "")
        size = _size(part.path) if is_file else sum(_size(f) for f in _files_under(part.path))
        reads.append(_Read(part.path, prefix, get_parser(part.format), size))
    return reads, plan


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _with_ref(rec: Record, ref: str) -> Record:
    # A copy of the frozen record with its ref in the folder (no __init__: one per row).
    new = object.__new__(type(rec))
    object.__setattr__(new, "__dict__", {**rec.__dict__, "ref": ref})
    return new


def _read_records(read: _Read, options: ImportOptions) -> Iterator[Record]:
    records = _records(read.parser, read.path, options)
    if not read.prefix:
        return records
    prefix = read.prefix
    return (_with_ref(rec, prefix + rec.ref) for rec in records)


def preview(path: str | Path, *, fmt: str | None = "auto", options: ImportOptions | None = None,
            limit: int = 20) -> Preview:
    """The first ``limit`` records as the importer reads them, without writing anything.
    For a folder, the first records of its exports in turn (refs name the inner file)."""
    p = Path(path)
    _check_exists(p)
    reads, plan = _plan(p, fmt)
    opts = options or ImportOptions()
    records: list[Record] = []
    problems: list[RowProblem] = []
    try:
        # Through the same safety net as run_import (undecodable text, nesting, memory).
        for rec in itertools.islice(itertools.chain.from_iterable(
                _read_records(r, opts) for r in reads), limit * 3):
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
    if plan is not None:
        return Preview(plan.format, _folder_label(plan), tuple(records), tuple(problems))
    return Preview(reads[0].parser.name, reads[0].parser.label, tuple(records), tuple(problems))


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
    """Import ``path`` (a file, or a folder holding one or more exports) into case
    ``case_id`` in one transaction. See the module doc.

    Raises BadInput (file/row/field named; for a folder, the file inside it) on a bad
    file, or on a bad row unless ``skip_bad_rows``; Cancelled when ``cancel`` is set.
    Either way nothing is written.
    """
    p = Path(path)
    opts = options or ImportOptions(default_region=ws.settings.phone_region)
    zone = _zone(opts)
    _check_exists(p)
    ws.get_case(case_id)  # NotFound before any work
    reads, plan = _plan(p, fmt)
    manifest: list[dict[str, Any]] = []
    if plan is None:
        size, digest = file_digest(p)
        fmt_name = reads[0].parser.name
        label = reads[0].parser.label
    else:
        size, digest, manifest = folder_digest(plan)
        fmt_name, label = plan.format, _folder_label(plan)
    what = "folder" if plan is not None else "file"
    with ws.db.read() as conn:
        dup = conn.execute(select(s.source.c.id).where(
            s.source.c.case_id == case_id, s.source.c.sha256 == digest, s.source.c.deleted.is_(False))).first()
        # A file already imported on its own or inside a folder is not imported again as
        # part of another import (its events would be written twice).
        earlier = [(r.id, r.file_name, r.sha256, str(r.summary or "")) for r in conn.execute(
            select(s.source.c.id, s.source.c.file_name, s.source.c.sha256, s.source.c.summary).where(
                s.source.c.case_id == case_id, s.source.c.deleted.is_(False)).order_by(s.source.c.id))]
    if dup is None and plan is None:
        dup = next(((sid,) for sid, _n, _d, summary in earlier if digest in summary), None)
    if dup is not None:
        return ImportResult(None, fmt_name, 0, 0, 0, 0, (), (f"this {what} was already imported into the case",),
                            duplicate_of=dup[0])
    skipped_parts: list[str] = []
    if plan is not None:
        inner = {m["path"]: m["sha256"] for m in manifest}
        kept, first_seen = [], None
        for r in reads:
            sha = inner.get(r.rel) if r.path.is_file() else None
            seen = None if sha is None else (
                next(((sid, name) for sid, name, d, _summary in earlier if d == sha), None)
                or next(((sid, name) for sid, name, _d, summary in earlier if sha in summary), None))
            if seen is None:
                kept.append(r)
                continue
            first_seen = first_seen or seen[0]
            skipped_parts.append(f"{r.rel}: already imported into the case (source {seen[0]}, "
                                 f"{seen[1]}); not imported again")
        if not kept:
            return ImportResult(None, fmt_name, 0, 0, 0, 0, (), tuple(skipped_parts),
                                duplicate_of=first_seen)
        reads = kept
    report = progress or (lambda f, m: None)
    total = max(1, sum(r.size for r in reads))
    counters = _Counters(zone_name=str(zone))
    counters.warnings.extend(skipped_parts)
    report(0.0, f"reading {p.name} as {label}")
    stored_name = storable_name(p.name)
    parts_done: list[dict[str, Any]] = []
    current = reads[0]
    try:
        # Foreign keys unchecked per row: every reference the writer makes is to a row it has
        # just written or found in this transaction (tests run foreign_key_check afterwards).
        with ws.db.write(bulk=True, foreign_keys=False) as conn:
            source_id = conn.execute(insert(s.source).values(
                case_id=case_id, file_name=stored_name, file_size=size, sha256=digest, importer=fmt_name,
                options=_options_json(opts, skip_bad_rows), imported_by=ws.actor,
                imported_at=clock.utcnow_iso(), uid=new_uid(), origin=ws.db.device_id,
                hlc=ws.clock.now())).inserted_primary_key[0]
            with BulkWriter(ws, conn, case_id, source_id=source_id, background=True,
                            local_zone=zone) as w:
                resolver = _Resolver(ws, w, opts, counters)
                done = 0
                n = 0
                for current in reads:
                    events_before, skipped_before = counters.events, counters.skipped
                    tracker = textio.PositionTracker(current.path, current.size)
                    if plan is not None:
                        report(min(0.99, done / total), f"reading {current.rel or p.name} "
                                                        f"as {current.parser.label}")
                    with tracker:
                        for rec in _read_records(current, opts):
                            n += 1
                            if n % CANCEL_EVERY == 0:
                                if cancel is not None and cancel.is_set():
                                    raise Cancelled(f"import of {p.name} cancelled; nothing was saved")
                                report(min(0.99, (done + tracker.position) / total), f"{n:,} records")
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
                                _bad_row(p, RowError(getattr(rec, "ref", "?"), None, str(exc)), counters,
                                         skip_bad_rows)
                    done += current.size
                    if plan is not None:
                        part = {"path": current.rel, "format": current.parser.name,
                                "events": counters.events - events_before,
                                "skipped": counters.skipped - skipped_before}
                        if current.path.is_file():  # so a later import of it alone is a duplicate
                            part["sha256"] = next((m["sha256"] for m in manifest
                                                   if m["path"] == current.rel), None)
                        parts_done.append(part)
            created = dict(w.created)
            summary = {"events": counters.events, "messages": counters.messages,
                       "system_lines": counters.system, "entities": created["entities"],
                       "links": created["links"], "skipped": counters.skipped,
                       "errors": [e.__dict__ for e in counters.errors[:MAX_ERRORS_KEPT]],
                       "warnings": counters.warnings[:MAX_ERRORS_KEPT],
                       "system_line_texts": counters.system_lines}
            audit = {"case_id": case_id, "file": stored_name, "sha256": digest, "format": fmt_name,
                     "events": counters.events, "entities": created["entities"], "skipped": counters.skipped}
            if plan is not None:
                # What the folder's digest was taken over, and what each export gave.
                summary["folder"] = {"parts": parts_done, "files": manifest[:MAX_ERRORS_KEPT],
                                     "file_count": len(manifest)}
                audit["parts"] = [pd["path"] for pd in parts_done][:MAX_ERRORS_KEPT]
            conn.execute(s.source.update().where(s.source.c.id == source_id).values(summary=summary))
            ws.audit.append(conn, "import", "source", source_id, audit)
    except ParseError as exc:
        raise BadInput(str(exc) if exc.file else f"{current.path}: {exc}") from None
    except UnicodeEncodeError as exc:
        # A parser let through text that is not Unicode (a lone surrogate): refuse the file
        # (the transaction rolled back) rather than fail untyped at the database.
        raise BadInput(f"{current.path}: holds text that is not valid Unicode ({exc.reason} at "
                       f"{exc.object[max(0, exc.start - 20):exc.start]!r}…); nothing was imported") from None
    report(1.0, f"imported {counters.events:,} events from {p.name}")
    return ImportResult(source_id, fmt_name, counters.events, created["entities"], created["links"],
                        counters.skipped, tuple(counters.errors), tuple(counters.warnings), None,
                        counters.messages, counters.system,
                        tuple((pd["path"], pd["format"], pd["events"]) for pd in parts_done))


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


__all__ = ["detect", "preview", "run_import", "import_many", "plan_folder", "folder_digest",
           "ImportResult", "Detection", "FolderPart", "FolderPlan", "Preview", "RowProblem"]
