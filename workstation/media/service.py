"""Seized media in the case database: ingest, hash sets, matching, stacks, review, export.

The pure media core (``analyse``, ``walk``, ``pdq``, ``hashsets``, ``categories``) reads
files; this module puts what it finds into the encrypted case database and is the only way
the UI and the CLI reach seized media. Everything takes and returns plain values (ids and
frozen dataclasses); thumbnails leave the database only as JPEG bytes in memory, for the
review grid to blur before it draws them. Nothing here writes an image to disk.

Ingest (:func:`ingest_media`) is **resumable**, unlike file imports: rows are committed in
batches (``batch_rows`` files per transaction), so a cancel or a crash keeps what was
committed, and a re-run skips every file already in the case with the same path, size and
modification time without reading it again (a file whose metadata changed is read, and
skipped when its SHA-256 is the one already recorded at that path). Each batch commits its
media rows, the EXIF ``media_capture`` events and ``location`` entities, the hash-set
matches, alerts and duplicate stacks together.

Hash sets (:func:`import_hashset`) are all-or-nothing like file imports. Matching runs
after an ingest batch and after a hash-set import: exact MD5/SHA-1/SHA-256 through the
database indexes, and PDQ near-duplicates within ``max_distance`` bits (default 31) through
a :class:`~workstation.media.pdq.PDQIndex` of every PDQ entry of every set, built once and
cached per database until a set is added. Matches with a known-bad or alert set raise a
case alert; exact matches with a known-bad set pre-categorise a file nobody has
categorised yet (``categorised_by = "hashset:<set name>"``); exact matches with a
known-good set hide the file from the review lists by default.

Duplicate stacks: files of a case with the same SHA-256, or whose PDQ hashes are chained
within ``max_distance`` bits (quality >= 50), share ``media.stack_id`` (the lowest media id
of the stack). A stack is reviewed as one: categorising any member categorises them all.

Threading: every function blocks on I/O; the UI calls them from worker lanes. Long calls
take ``progress(fraction, message)`` (fraction None when unknown) and a ``cancel`` object
with ``is_set()``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, and_, exists, func, or_, select, update
from sqlalchemy.sql import Select

from workstation import clock
from workstation.domain.bulk import BulkWriter
from workstation.domain.models import Changes
from workstation.errors import BadInput, Cancelled, NotFound, UsageError
from workstation.ids import new_uid
from workstation.media.analyse import AnalysisOptions, MediaAnalysis, MediaFailure, analyse_many
from workstation.media.categories import Category, CategoryScheme, load_schemes
from workstation.media.errors import HashSetError, InvalidHashError
from workstation.media.exif import ExifInfo
from workstation.media.hashsets import HashSetEntry, HashSetReader, write_vics_json
from workstation.media.pdq import DEFAULT_MAX_DISTANCE, DEFAULT_MIN_QUALITY, PDQIndex
from workstation.media.walk import ARCHIVE_SEPARATOR, MediaSource, SourceProblem, iter_media_sources
from workstation.store import schema as s

if TYPE_CHECKING:
    from workstation.domain.service import Workstation

__all__ = [
    "HASHSET_KINDS", "DEFAULT_SCHEME", "MediaProblem", "MediaIngestResult", "MediaInfo",
    "HashSetInfo", "HashSetImportResult", "HashMatchInfo", "MediaAlertInfo", "MatchSummary",
    "VicsExport", "ingest_media", "import_hashset", "list_hashsets", "match_hashsets",
    "restack", "case_scheme", "set_case_scheme", "schemes", "categorise", "stack_members",
    "media_ids", "count_media", "get_media", "list_media", "get_thumbnail", "get_thumbnails",
    "list_matches", "list_alerts", "acknowledge_alert", "record_reveal", "export_vics",
]

HASHSET_KINDS: tuple[str, ...] = ("known_bad", "known_good", "alert")
ALERT_KINDS: tuple[str, ...] = ("known_bad", "alert")
DEFAULT_SCHEME = "vic_us"
DEFAULT_BATCH_ROWS = 200
#: Sources handed to one analyse_many call: bounds the memory of an ingest of millions.
SOURCE_CHUNK = 2000
MAX_PROBLEMS_KEPT = 1000
_ENTRY_BATCH = 20_000
_IN_CHUNK = 900  # SQLite's parameter limit is 999 on old builds


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


Progress = Callable[[float | None, str], None]


def _no_progress(_fraction: float | None, _message: str = "") -> None:
    return None


# ====================================================================== value types
@dataclass(frozen=True)
class MediaProblem:
    """A file of an ingest that could not be (fully) analysed: where, a short reason tag
    (``bomb``, ``corrupt``, ``unsafe-path``, ``zip-bomb``, ``vanished``...) and why."""

    path: str
    reason: str
    message: str


@dataclass(frozen=True)
class MediaIngestResult:
    """What one ingest run did.

    ``added`` media rows were written; ``skipped`` files were already in the case;
    ``failures`` could not be read at all (no row); ``problems`` were hashed and stored but
    their image part failed (a row without thumbnail/PDQ). ``cancelled`` is True when the
    run stopped early: everything counted here is committed and a re-run resumes.
    """

    source_id: int
    path: str
    total: int
    added: int
    skipped: int
    failures: tuple[MediaProblem, ...]
    problems: tuple[MediaProblem, ...]
    events: int
    locations: int
    matches: int
    alerts: int
    stacked: int
    cancelled: bool
    seconds: float
    media_ids: tuple[int, ...] = field(default=(), repr=False)
    case_id: int | None = None

    @property
    def changes(self) -> Changes:
        """The Changes value views refresh on."""
        return Changes("media", "imported", self.media_ids, self.case_id, {"source_id": self.source_id})

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source_id, "path": self.path, "total": self.total, "added": self.added,
            "skipped": self.skipped, "failed": len(self.failures), "events": self.events,
            "locations": self.locations, "matches": self.matches, "alerts": self.alerts,
            "stacked": self.stacked, "cancelled": self.cancelled, "seconds": round(self.seconds, 3),
            "failures": [asdict(p) for p in self.failures],
            "problems": [asdict(p) for p in self.problems],
        }


@dataclass(frozen=True)
class MediaInfo:
    """One media row as the review grid and the CLI see it (never the thumbnail bytes).

    ``stack_size`` counts the live members of its stack (1 when alone). ``alert`` is the
    kind of the most serious unacknowledged alert of the stack (``known_bad``, ``alert``)
    or None; ``known_good`` is True when the file matched a known-good set exactly.
    """

    id: int
    uid: str
    case_id: int
    path: str
    size: int
    mime: str
    md5: str
    sha1: str
    sha256: str
    pdq: str | None
    pdq_quality: int | None
    width: int | None
    height: int | None
    captured_utc: int | None
    gps_lat: float | None
    gps_lon: float | None
    category: str | None
    categorised_by: str | None
    categorised_at: str | None
    stack_id: int | None
    stack_size: int
    alert: str | None
    known_good: bool
    problem: str | None
    has_thumbnail: bool
    source_id: int | None
    exif: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The file name (the member name for an archive member)."""
        tail = self.path.rsplit(ARCHIVE_SEPARATOR, 1)[-1]
        return PurePosixPath(tail.replace("\\", "/")).name or tail

    @property
    def is_video(self) -> bool:
        return self.mime.startswith("video/")

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")


@dataclass(frozen=True)
class HashSetInfo:
    id: int
    name: str
    kind: str
    format: str
    entry_count: int
    created_at: str
    source_id: int | None


@dataclass(frozen=True)
class HashSetImportResult:
    """An imported hash set: its id, how many entries were stored and how many lines were
    bad (``errors`` keeps the first ones with line numbers), and what matching found."""

    set_id: int
    name: str
    kind: str
    format: str
    entries: int
    error_count: int
    errors: tuple[str, ...]
    matches: int = 0
    alerts: int = 0
    categorised: int = 0
    duplicate_of: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"set": self.set_id, "name": self.name, "kind": self.kind, "format": self.format,
                "entries": self.entries, "error_count": self.error_count, "errors": list(self.errors),
                "matches": self.matches, "alerts": self.alerts, "categorised": self.categorised,
                "duplicate": self.duplicate_of is not None}


@dataclass(frozen=True)
class HashMatchInfo:
    media_id: int
    set_id: int
    set_name: str
    set_kind: str
    entry_id: int
    kind: str
    distance: int
    category: str | None


@dataclass(frozen=True)
class MediaAlertInfo:
    id: int
    case_id: int
    media_id: int
    path: str
    set_id: int
    set_name: str
    set_kind: str
    match_kind: str
    distance: int
    category: str | None
    created_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None


@dataclass(frozen=True)
class MatchSummary:
    """New hash-set matches, new alerts and pre-categorised files of one matching run."""

    matches: int = 0
    alerts: int = 0
    categorised: int = 0

    def __add__(self, other: MatchSummary) -> MatchSummary:
        return MatchSummary(self.matches + other.matches, self.alerts + other.alerts,
                            self.categorised + other.categorised)


@dataclass(frozen=True)
class VicsExport:
    path: str
    count: int
    sha256: str


# ====================================================================== schemes
@functools.lru_cache(maxsize=1)
def schemes() -> dict[str, CategoryScheme]:
    """The category schemes shipped with the app, by name (loaded once)."""
    return load_schemes()


def _scheme(name: str | None) -> CategoryScheme:
    all_schemes = schemes()
    return all_schemes.get(name or DEFAULT_SCHEME) or all_schemes[DEFAULT_SCHEME]


def case_scheme(ws: Workstation, case_id: int) -> CategoryScheme:
    """The category scheme of a case (``vic_us`` until one is chosen). NotFound for no case."""
    with ws.db.read() as conn:
        row = conn.execute(select(s.case.c.category_scheme, s.case.c.deleted).where(
            s.case.c.id == case_id)).first()
    if row is None or row.deleted:
        raise NotFound(f"no case with id {case_id}")
    return _scheme(row.category_scheme)


def set_case_scheme(ws: Workstation, case_id: int, scheme: str) -> Changes:
    """Choose the category scheme of a case (audited).

    Raises UsageError for an unknown scheme, or when files of the case carry categories
    the new scheme does not have (they would become meaningless).
    """
    known = schemes()
    if scheme not in known:
        raise UsageError(f"unknown category scheme {scheme!r} (use {', '.join(sorted(known))})")
    new = known[scheme]
    with ws.db.write() as conn:
        row = conn.execute(select(s.case).where(s.case.c.id == case_id)).first()
        if row is None or row.deleted:
            raise NotFound(f"no case with id {case_id}")
        used = {c for (c,) in conn.execute(select(s.media.c.category).distinct().where(
            s.media.c.case_id == case_id, s.media.c.deleted.is_(False), s.media.c.category.is_not(None)))}
        foreign = sorted(c for c in used if new.by_code(c) is None)
        if foreign:
            raise UsageError(
                f"case {row.number}: files are categorised with {', '.join(foreign)}, which scheme "
                f"{scheme} does not have; re-categorise them first")
        conn.execute(update(s.case).where(s.case.c.id == case_id).values(
            category_scheme=scheme, updated_at=clock.utcnow_iso(), hlc=ws._touch(conn)))
        ws.audit.append(conn, "case.category_scheme", "case", case_id,
                        {"from": row.category_scheme or DEFAULT_SCHEME, "to": scheme})
    return Changes("case", "updated", (case_id,), case_id)


# ====================================================================== PDQ index of hash sets
# The index lives in ``Database.caches`` (key below), which ``Database.lock()`` empties: its
# ~140 MB per million entries are released at lock and never serve another database.
_index_lock = threading.Lock()
_SET_INDEX_CACHE = "media.hashset_pdq_index"


def _raw_cursor(conn: Connection) -> Any:
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _sets_version(conn: Connection) -> tuple[tuple[int, int], ...]:
    # Sets are immutable once imported, so (id, entry count) of every set is its version.
    return tuple((int(a), int(b)) for a, b in conn.execute(
        select(s.hash_set.c.id, s.hash_set.c.entry_count).order_by(s.hash_set.c.id)))


def _set_pdq_index(ws: Workstation, conn: Connection) -> PDQIndex:
    """A PDQ index over every PDQ entry of every hash set (ids: hash_entry ids), built once
    per database and set version, then served from memory until the database is locked."""
    version = _sets_version(conn)
    caches = ws.db.caches
    with _index_lock:
        cached = caches.get(_SET_INDEX_CACHE)
        if cached is not None and cached[0] == version:
            return cached[1]
    cur = _raw_cursor(conn)
    cur.execute("SELECT id, pdq, pdq_quality FROM hash_entry WHERE pdq IS NOT NULL")
    index = PDQIndex(min_quality=DEFAULT_MIN_QUALITY)
    while True:
        rows = cur.fetchmany(50_000)
        if not rows:
            break
        try:
            index.extend(rows)
        except InvalidHashError:
            index.extend(r for r in rows if _valid_pdq(r[1]))
    index.build()
    with _index_lock:
        caches[_SET_INDEX_CACHE] = (version, index)
        if ws.db.is_locked:
            # Locked while it was being built: lock() empties the caches after it drops the
            # engine, so whichever came second, the index is not kept.
            caches.pop(_SET_INDEX_CACHE, None)
    return index


def _valid_pdq(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)


# ====================================================================== ingest
_MEDIA_SQL = (
    "INSERT INTO media (id, case_id, path, size, mime, md5, sha1, sha256, pdq, pdq_quality, width, "
    "height, exif, captured_utc, gps_lat, gps_lon, thumbnail, source_id, created_at, uid, origin, "
    "hlc, deleted, keep_local, file_mtime_ns, problem) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0,?,?)")


@dataclass
class _Existing:
    id: int
    size: int
    mtime: int | None
    sha256: str


@dataclass
class _IngestState:
    ws: Workstation
    case_id: int
    source_id: int
    zone: Any
    zone_name: str
    max_distance: int
    total: int
    done: int = 0
    added: int = 0
    skipped: int = 0
    events: int = 0
    locations: int = 0
    matches: int = 0
    alerts: int = 0
    stacked: int = 0
    failures: list[MediaProblem] = field(default_factory=list)
    problems: list[MediaProblem] = field(default_factory=list)
    failure_count: int = 0
    problem_count: int = 0
    media_ids: list[int] = field(default_factory=list)
    case_index: PDQIndex | None = None
    existing: dict[str, list[_Existing]] = field(default_factory=dict)
    mtimes: dict[str, int | None] = field(default_factory=dict)

    def fail(self, problem: MediaProblem) -> None:
        self.failure_count += 1
        if len(self.failures) < MAX_PROBLEMS_KEPT:
            self.failures.append(problem)

    def note_problem(self, problem: MediaProblem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(problem)

    def summary(self, status: str) -> dict[str, Any]:
        return {"status": status, "total": self.total, "added": self.added, "skipped": self.skipped,
                "failed": self.failure_count, "image_problems": self.problem_count,
                "events": self.events, "locations": self.locations, "matches": self.matches,
                "alerts": self.alerts,
                "failures": [asdict(p) for p in self.failures],
                "problems": [asdict(p) for p in self.problems]}


def _zone_of(name: str | None) -> tuple[Any, str]:
    if not name:
        return UTC, "UTC"
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        return UTC, "UTC"


def _file_digest(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def _mtime_ns(source: MediaSource) -> int | None:
    # An archive member has no mtime of its own we can trust; the archive's stands for it.
    try:
        return os.stat(source.path).st_mtime_ns
    except OSError:
        return None


def _exif_json(exif: ExifInfo | None, analysis: MediaAnalysis) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    if exif is not None:
        for key, value in asdict(exif).items():
            if value is None:
                continue
            out[key] = value.isoformat() if isinstance(value, datetime) else value
    if analysis.image is not None:
        if analysis.image.format:
            out["format"] = analysis.image.format
        if analysis.image.frames and analysis.image.frames > 1:
            out["frames"] = analysis.image.frames
    if analysis.video is not None:
        # Duration (seconds), rotation, brand, mvhd times and where time/place came from.
        out.update(analysis.video.properties())
    return out or None


def _dimensions(analysis: MediaAnalysis) -> tuple[int | None, int | None]:
    """Width and height as displayed: the decoded image's, or the video track's."""
    if analysis.image is not None:
        return analysis.image.width, analysis.image.height
    if analysis.video is not None:
        return analysis.video.width, analysis.video.height
    return None, None


def _capture_time(exif: ExifInfo | None, zone: Any) -> tuple[datetime | None, bool]:
    """The capture time as an aware datetime (with the photo's own offset when known) and
    whether the zone had to be assumed."""
    if exif is None or exif.captured_local is None:
        return None, False
    if exif.offset_minutes is not None:
        return exif.captured_local.replace(tzinfo=timezone(timedelta(minutes=exif.offset_minutes))), False
    return exif.captured_local.replace(tzinfo=zone), True


def _chunks_of(items: Iterable[Any], n: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _load_existing(conn: Connection, case_id: int, paths: Sequence[str]) -> dict[str, list[_Existing]]:
    out: dict[str, list[_Existing]] = {}
    m = s.media.c
    for chunk in _chunks_of(paths, _IN_CHUNK):
        for r in conn.execute(select(m.id, m.path, m.size, m.file_mtime_ns, m.sha256).where(
                m.case_id == case_id, m.deleted.is_(False), m.path.in_(chunk))):
            out.setdefault(r.path, []).append(_Existing(r.id, r.size, r.file_mtime_ns, r.sha256))
    return out


def _case_pdq_index(conn: Connection, case_id: int) -> PDQIndex:
    cur = _raw_cursor(conn)
    cur.execute("SELECT id, pdq, pdq_quality FROM media WHERE case_id = ? AND deleted = 0 "
                "AND pdq IS NOT NULL", (case_id,))
    index = PDQIndex(min_quality=DEFAULT_MIN_QUALITY)
    index.extend(r for r in cur.fetchall() if _valid_pdq(r[1]))
    return index


def ingest_media(ws: Workstation, case_id: int, path: str | os.PathLike[str], *,
                 workers: int | None = None, progress: Progress | None = None,
                 cancel: CancelToken | None = None, batch_rows: int = DEFAULT_BATCH_ROWS,
                 max_distance: int = DEFAULT_MAX_DISTANCE,
                 options: AnalysisOptions | None = None) -> MediaIngestResult:
    """Ingest a folder (recursively), a ZIP archive or one file into case ``case_id``.

    Originals stay where they are (only their path is recorded). Each file is read once
    (MD5, SHA-1, SHA-256 together; type from content); images also get dimensions, PDQ and
    quality, EXIF (a ``media_capture`` event at the capture time and, with GPS, a
    ``location`` entity linked to it) and a thumbnail stored encrypted in the database;
    videos (MP4/MOV/3GP) the same capture event and place from their QuickTime/ISO metadata,
    with size, rotation and duration (see :mod:`workstation.media.video`).
    Work is spread over ``workers`` processes (default: every core). Resumable; see the
    module doc. Per-file failures (bombs, truncated images, unsafe archive members,
    vanished files) are recorded in the result and the source summary, and the ingest goes
    on. Returns with ``cancelled=True`` when ``cancel`` was set (committed rows stay).

    Raises NotFound for an unknown case, BadInput when ``path`` does not exist.
    """
    started = time.perf_counter()
    root = Path(path)
    if not root.exists():
        raise BadInput(f"{root}: no such file or folder")
    if batch_rows < 1:
        raise UsageError("batch_rows must be at least 1")
    case = ws.get_case(case_id)
    report = progress or _no_progress
    zone, zone_name = _zone_of(case.timezone)
    report(None, f"listing {root.name}")
    total = sum(1 for _ in iter_media_sources(root))
    kind = "folder" if root.is_dir() else "file"
    file_size, digest = 0, "0" * 64
    if kind == "file":
        try:
            file_size, digest = _file_digest(root)
        except OSError as exc:
            raise BadInput(f"{root}: cannot read ({exc.strerror or exc})") from None
        with root.open("rb") as fh:
            if fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06"):
                kind = "zip"
    now = clock.utcnow_iso()
    opts = {"path": str(root.resolve()), "kind": kind, "workers": workers, "batch_rows": batch_rows,
            "max_distance": max_distance}
    with ws.db.write() as conn:
        source_id = int(conn.execute(s.source.insert().values(
            case_id=case_id, file_name=root.name or str(root), file_size=file_size, sha256=digest,
            importer="media", options=opts, imported_by=ws.actor, imported_at=now,
            summary={"status": "running", "total": total}, **_stamp(ws))).inserted_primary_key[0])  # type: ignore[index]
        ws.audit.append(conn, "media.ingest.start", "source", source_id,
                        {"case_id": case_id, "path": str(root), "files": total})
        case_index = _case_pdq_index(conn, case_id)
    state = _IngestState(ws, case_id, source_id, zone, zone_name, max_distance, total,
                         case_index=case_index)
    status = "failed"
    try:
        for chunk in _chunks_of(iter_media_sources(root), SOURCE_CHUNK):
            if cancel is not None and cancel.is_set():
                break
            _ingest_chunk(state, chunk, workers, report, cancel, batch_rows, options)
        status = "cancelled" if cancel is not None and cancel.is_set() else "complete"
    finally:
        _finish_ingest(state, root, kind, status)
    seconds = time.perf_counter() - started
    if status == "complete":
        report(1.0, f"{state.added:,} files added, {state.skipped:,} already in the case")
    return MediaIngestResult(
        source_id=source_id, path=str(root), total=total, added=state.added, skipped=state.skipped,
        failures=tuple(state.failures), problems=tuple(state.problems), events=state.events,
        locations=state.locations, matches=state.matches, alerts=state.alerts, stacked=state.stacked,
        cancelled=status == "cancelled", seconds=seconds, media_ids=tuple(state.media_ids),
        case_id=case_id)


def _stamp(ws: Workstation) -> dict[str, Any]:
    return {"uid": new_uid(), "origin": ws.db.device_id, "hlc": ws.clock.now()}


def _ingest_chunk(state: _IngestState, chunk: list[MediaSource | SourceProblem], workers: int | None,
                  report: Progress, cancel: CancelToken | None, batch_rows: int,
                  options: AnalysisOptions | None) -> None:
    paths = [item.display_path for item in chunk if isinstance(item, MediaSource)]
    with state.ws.db.read() as conn:
        state.existing = _load_existing(conn, state.case_id, paths)
    todo: list[MediaSource | SourceProblem] = []
    state.mtimes = {}
    for item in chunk:
        if isinstance(item, SourceProblem):
            todo.append(item)
            continue
        mtime = _mtime_ns(item)
        known = state.existing.get(item.display_path, ())
        if any(e.size == item.size and (e.mtime is None or e.mtime == mtime) for e in known):
            state.skipped += 1
            state.done += 1
            continue
        state.mtimes[item.display_path] = mtime
        todo.append(item)
    total = max(state.total, 1)
    base = state.done
    if state.done:
        report(min(0.99, state.done / total), f"{state.skipped:,} files already in the case")

    def inner(done: int, _total: int, message: str) -> None:
        report(min(0.99, (base + done) / total), message)

    pending: list[MediaAnalysis | MediaFailure] = []
    results = analyse_many(todo, workers, inner, cancel, options=options)
    try:
        for result in results:
            pending.append(result)
            if len(pending) >= batch_rows:
                _write_batch(state, pending)
                pending = []
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()  # a failed write must not leave the worker pool running
    if pending:
        _write_batch(state, pending)
    state.done = base + len(todo)


def _write_batch(state: _IngestState, batch: list[MediaAnalysis | MediaFailure]) -> None:
    """One transaction: media rows, capture events and locations, matches, alerts, stacks."""
    ws = state.ws
    now = clock.utcnow_iso()
    case_index = state.case_index
    assert case_index is not None  # built when the ingest started
    with ws.db.write() as conn:
        hlc = ws._touch(conn)
        next_id = int(conn.execute(select(func.coalesce(func.max(s.media.c.id), 0))).scalar_one()) + 1
        rows: list[tuple[Any, ...]] = []
        captures: list[tuple[int, str, MediaAnalysis]] = []
        refreshed: list[tuple[int | None, int]] = []
        new_rows: list[tuple[int, str, str | None, int | None]] = []
        for result in batch:
            if isinstance(result, MediaFailure):
                state.fail(MediaProblem(result.display_path, result.reason, result.message))
                continue
            known = state.existing.get(result.display_path, ())
            same = next((e for e in known if e.sha256 == result.sha256), None)
            mtime = state.mtimes.get(result.display_path)
            if same is not None:
                # Same content at the same path (only its metadata changed): nothing new.
                refreshed.append((mtime, same.id))
                state.skipped += 1
                continue
            mid = next_id
            next_id += 1
            uid = new_uid()
            image = result.image
            exif = result.exif
            when, assumed = _capture_time(exif, state.zone)
            exif_doc = _exif_json(exif, result)
            if assumed and exif_doc is not None:
                exif_doc["time_zone_assumed"] = state.zone_name
            pdq = image.pdq_hex if image is not None else None
            quality = image.pdq_quality if image is not None else None
            width, height = _dimensions(result)
            rows.append((
                mid, state.case_id, result.display_path, result.size, result.mime, result.md5,
                result.sha1, result.sha256, pdq, quality, width, height,
                json.dumps(exif_doc, ensure_ascii=False) if exif_doc else None,
                clock.to_micros(when) if when is not None else None,
                exif.gps_lat if exif is not None else None, exif.gps_lon if exif is not None else None,
                image.thumbnail_jpeg if image is not None else None,
                state.source_id, now, uid, ws.db.device_id, hlc, mtime, result.problem))
            new_rows.append((mid, result.sha256, pdq, quality))
            if result.problem:
                state.note_problem(MediaProblem(result.display_path, result.problem_reason or "error",
                                                result.problem))
            if exif is not None and (exif.captured_local is not None or exif.has_location):
                captures.append((mid, uid, result))
        cur = _raw_cursor(conn)
        if rows:
            cur.executemany(_MEDIA_SQL, rows)
        if refreshed:
            cur.executemany("UPDATE media SET file_mtime_ns = ? WHERE id = ?", refreshed)
        if captures:
            _write_captures(state, conn, captures)
        ids = [r[0] for r in new_rows]
        if ids:
            found = _match_media_rows(ws, conn, ids, state.max_distance)
            state.matches += found.matches
            state.alerts += found.alerts
            case_index.extend((mid, pdq, q) for mid, _sha, pdq, q in new_rows if pdq)
            state.stacked += _restack_rows(conn, state.case_id, new_rows, case_index, state.max_distance)
        state.added += len(rows)
        state.media_ids.extend(ids)
        conn.execute(update(s.source).where(s.source.c.id == state.source_id).values(
            summary=state.summary("running")))


def _write_captures(state: _IngestState, conn: Connection,
                    captures: list[tuple[int, str, MediaAnalysis]]) -> None:
    with BulkWriter(state.ws, conn, state.case_id, source_id=state.source_id) as w:
        for mid, uid, result in captures:
            exif = result.exif
            assert exif is not None
            when, assumed = _capture_time(exif, state.zone)
            parties: list[tuple[int, str]] = []
            if exif.has_location:
                lat, lon = float(exif.gps_lat), float(exif.gps_lon)  # type: ignore[arg-type]
                props: dict[str, Any] = {"lat": lat, "lon": lon}
                if exif.gps_alt is not None:
                    props["alt"] = exif.gps_alt
                before = w.created["entities"]
                loc = w.entity("location", f"{lat:.6f}, {lon:.6f}", None, properties=props,
                               ref=result.display_path, dedupe=f"geo:{lat:.6f},{lon:.6f}")
                state.locations += w.created["entities"] - before
                parties.append((loc, "location"))
            camera = " ".join(p for p in (exif.make, exif.model) if p)
            name = PurePosixPath(result.display_path.rsplit(ARCHIVE_SEPARATOR, 1)[-1].replace("\\", "/")).name
            props_ev: dict[str, Any] = {"media_id": mid, "media_uid": uid, "path": result.display_path,
                                        "sha256": result.sha256}
            if camera:
                props_ev["camera"] = camera
            if exif.offset_source:
                props_ev["offset_source"] = exif.offset_source
            if assumed:
                props_ev["time_zone_assumed"] = state.zone_name
            if result.video is not None:
                if result.video.time_source:
                    props_ev["time_source"] = result.video.time_source
                if result.video.mvhd_local_time:
                    props_ev["mvhd_local_time"] = True
            if exif.has_location:
                props_ev.update(lat=exif.gps_lat, lon=exif.gps_lon)
            what = "Video" if result.video is not None else "Photo"
            w.event("media_capture", when, title=f"{what} {name}" + (f" ({camera})" if camera else ""),
                    properties=props_ev, parties=parties, ref=result.display_path)
            state.events += 1


def _finish_ingest(state: _IngestState, root: Path, kind: str, status: str) -> None:
    """Record the outcome on the source row and in the audit trail (best effort when the
    run failed: the error itself is what the caller sees)."""
    ws = state.ws
    try:
        with ws.db.write() as conn:
            values: dict[str, Any] = {"summary": state.summary(status)}
            if kind == "folder":
                values["sha256"], values["file_size"] = _manifest_digest(conn, state.case_id, root)
            conn.execute(update(s.source).where(s.source.c.id == state.source_id).values(**values))
            ws.audit.append(conn, "media.ingest", "source", state.source_id, {
                "case_id": state.case_id, "path": str(root), "added": state.added,
                "skipped": state.skipped, "failed": state.failure_count, "status": status},
                outcome="ok" if status == "complete" else status)
    except Exception:
        if status != "failed":
            raise


def _manifest_digest(conn: Connection, case_id: int, root: Path) -> tuple[str, int]:
    """SHA-256 over the sorted ``sha256  path`` lines of the folder's files in the case, and
    their total size: the same folder content gives the same digest on any re-run."""
    prefix = str(root).rstrip(os.sep) + os.sep
    like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    h = hashlib.sha256()
    total = 0
    cur = _raw_cursor(conn)
    cur.execute("SELECT path, sha256, size FROM media WHERE case_id = ? AND deleted = 0 AND path LIKE ? "
                "ESCAPE '\\' ORDER BY path, id", (case_id, like))
    for path, sha, size in cur:
        h.update(f"{sha}  {path}\n".encode("utf-8", "surrogateescape"))
        total += int(size)
    return h.hexdigest(), total


# ====================================================================== matching
def _match_media_rows(ws: Workstation, conn: Connection, media_ids: Sequence[int],
                      max_distance: int, set_ids: Sequence[int] | None = None) -> MatchSummary:
    """Match the given media rows against the hash sets (all, or ``set_ids``); record new
    matches, raise alerts, pre-categorise. Runs inside the caller's write transaction."""
    if not media_ids:
        return MatchSummary()
    has_sets = conn.execute(select(func.count()).select_from(s.hash_set)).scalar_one()
    if not has_sets:
        return MatchSummary()
    now = clock.utcnow_iso()
    found = 0
    set_filter = ""
    params: list[Any] = []
    if set_ids is not None:
        # Unary + keeps SQLite on the digest index: the set index would scan the whole set per file.
        set_filter = f" AND +e.set_id IN ({','.join('?' * len(set_ids))})"
        params = list(set_ids)
    cur = _raw_cursor(conn)
    for chunk in _chunks_of(media_ids, _IN_CHUNK - len(params)):
        marks = ",".join("?" * len(chunk))
        for kind in ("md5", "sha1", "sha256"):
            cur.execute(
                f"INSERT OR IGNORE INTO hash_match (media_id, set_id, entry_id, kind, distance, created_at) "
                f"SELECT m.id, e.set_id, e.id, '{kind}', 0, ? FROM media m "
                f"JOIN hash_entry e ON e.{kind} = m.{kind} WHERE m.id IN ({marks}){set_filter}",
                [now, *chunk, *params])
            found += max(cur.rowcount, 0)  # rows actually inserted (OR IGNORE skips known ones)
    pdq_rows: list[tuple[int, str]] = []
    for chunk in _chunks_of(media_ids, _IN_CHUNK):
        marks = ",".join("?" * len(chunk))
        cur.execute(f"SELECT id, pdq FROM media WHERE id IN ({marks}) AND pdq IS NOT NULL "
                    f"AND (pdq_quality IS NULL OR pdq_quality >= ?)", [*chunk, DEFAULT_MIN_QUALITY])
        pdq_rows.extend((int(a), str(b)) for a, b in cur.fetchall() if _valid_pdq(b))
    if pdq_rows:
        hits = _pdq_hits(ws, conn, pdq_rows, max_distance, set_ids)
        if hits:
            cur.executemany(
                "INSERT OR IGNORE INTO hash_match (media_id, set_id, entry_id, kind, distance, created_at) "
                "VALUES (?,?,?,'pdq',?,?)", [(mid, sid, eid, dist, now) for mid, sid, eid, dist in hits])
            found += max(cur.rowcount, 0)
    alerts, categorised = _apply_matches(ws, conn, media_ids)
    return MatchSummary(found, alerts, categorised)


def _pdq_hits(ws: Workstation, conn: Connection, pdq_rows: Sequence[tuple[int, str]], max_distance: int,
              set_ids: Sequence[int] | None) -> list[tuple[int, int, int, int]]:
    """(media id, set id, entry id, distance) of every PDQ entry within ``max_distance`` of
    the given media hashes. The larger side is indexed: a few files against millions of
    entries query the cached index of the sets; a small new set against a large case
    indexes the case's files and queries each entry once."""
    hits: list[tuple[int, int, int, int]] = []
    if set_ids is not None:
        marks = ",".join("?" * len(set_ids))
        # Only "fewer than the files?" matters: stop counting there.
        entries = int(conn.exec_driver_sql(
            f"SELECT count(*) FROM (SELECT 1 FROM hash_entry WHERE set_id IN ({marks}) AND pdq IS NOT NULL "
            f"LIMIT {len(pdq_rows)})", tuple(set_ids)).scalar_one())
        if entries < len(pdq_rows):
            index = PDQIndex(((mid, pdq, None) for mid, pdq in pdq_rows), min_quality=DEFAULT_MIN_QUALITY)
            cur = _raw_cursor(conn)
            cur.execute(f"SELECT id, set_id, pdq, pdq_quality FROM hash_entry WHERE set_id IN ({marks}) "
                        "AND pdq IS NOT NULL", tuple(set_ids))
            for eid, sid, pdq, quality in cur.fetchall():
                if (quality is not None and quality < DEFAULT_MIN_QUALITY) or not _valid_pdq(pdq):
                    continue
                hits.extend((int(mid), int(sid), int(eid), dist)  # type: ignore[call-overload]
                            for mid, dist in index.query(pdq, max_distance))
            return hits
    index = _set_pdq_index(ws, conn)
    if not len(index):
        return hits
    found: list[tuple[int, int, int]] = []
    for mid, pdq in pdq_rows:
        found.extend((mid, int(eid), dist) for eid, dist in index.query(pdq, max_distance))  # type: ignore[call-overload]
    if found:
        entry_set = _entry_sets(conn, {f[1] for f in found})
        wanted = set(set_ids) if set_ids is not None else None
        hits = [(mid, entry_set[eid], eid, dist) for mid, eid, dist in found
                if eid in entry_set and (wanted is None or entry_set[eid] in wanted)]
    return hits


def _entry_sets(conn: Connection, entry_ids: set[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    e = s.hash_entry.c
    for chunk in _chunks_of(sorted(entry_ids), _IN_CHUNK):
        out.update((int(a), int(b)) for a, b in conn.execute(select(e.id, e.set_id).where(e.id.in_(chunk))))
    return out


def _apply_matches(ws: Workstation, conn: Connection, media_ids: Sequence[int]) -> tuple[int, int]:
    """Alerts for matches with known-bad/alert sets and pre-categorisation of uncategorised
    files from exact known-bad matches. Returns (new alerts, files categorised)."""
    now = clock.utcnow_iso()
    cur = _raw_cursor(conn)
    alerts = 0
    candidates: list[tuple[int, int, str, str]] = []
    for chunk in _chunks_of(media_ids, _IN_CHUNK):
        marks = ",".join("?" * len(chunk))
        # Exact matches first, then the nearest PDQ: with OR IGNORE the first row per
        # (media, set) is the one the alert keeps.
        cur.execute(
            "INSERT OR IGNORE INTO media_alert (case_id, media_id, set_id, set_kind, match_kind, distance, "
            "category, created_at) SELECT m.case_id, hm.media_id, hm.set_id, hs.kind, hm.kind, hm.distance, "
            "he.category, ? FROM hash_match hm JOIN hash_set hs ON hs.id = hm.set_id "
            "JOIN hash_entry he ON he.id = hm.entry_id JOIN media m ON m.id = hm.media_id "
            f"WHERE hm.media_id IN ({marks}) AND hs.kind IN ('known_bad', 'alert') AND m.deleted = 0 "
            "ORDER BY hm.media_id, hm.set_id, hm.distance, hm.id", [now, *chunk])
        alerts += max(cur.rowcount, 0)
        cur.execute(
            "SELECT m.id, m.case_id, he.category, hs.name FROM hash_match hm "
            "JOIN hash_set hs ON hs.id = hm.set_id JOIN hash_entry he ON he.id = hm.entry_id "
            "JOIN media m ON m.id = hm.media_id "
            f"WHERE hm.media_id IN ({marks}) AND hs.kind = 'known_bad' AND hm.kind != 'pdq' "
            "AND he.category IS NOT NULL AND m.deleted = 0 "
            "ORDER BY m.id, hs.id, he.id", list(chunk))
        candidates.extend((int(a), int(b), str(c), str(d)) for a, b, c, d in cur.fetchall())
    if not candidates:
        return alerts, 0
    case_schemes: dict[int, CategoryScheme] = {}
    current = {int(r.id): (r.category, r.case_id) for chunk in _chunks_of(sorted({c[0] for c in candidates}), _IN_CHUNK)
               for r in conn.execute(select(s.media.c.id, s.media.c.category, s.media.c.case_id).where(
                   s.media.c.id.in_(chunk)))}
    chosen: dict[int, tuple[str, str]] = {}
    for mid, cid, code, set_name in candidates:
        if mid in chosen:
            continue
        scheme = case_schemes.get(cid)
        if scheme is None:
            row = conn.execute(select(s.case.c.category_scheme).where(s.case.c.id == cid)).first()
            scheme = case_schemes[cid] = _scheme(row[0] if row else None)
        category = scheme.by_code(code)
        existing = current.get(mid, (None, cid))[0]
        if category is None or (existing is not None and existing != scheme.default):
            continue  # a code this scheme lacks, or a human already decided: leave it
        chosen[mid] = (category.code, set_name)
    if not chosen:
        return alerts, 0
    hlc = ws._touch(conn)
    cur.executemany("UPDATE media SET category = ?, categorised_by = ?, categorised_at = ?, hlc = ? "
                    "WHERE id = ?", [(code, f"hashset:{name}", now, hlc, mid) for mid, (code, name) in chosen.items()])
    by_case: dict[int, list[int]] = {}
    for mid in chosen:
        by_case.setdefault(current[mid][1], []).append(mid)
    for cid, mids in by_case.items():
        ws.audit.append(conn, "media.precategorise", "case", cid, {
            "count": len(mids), "media_ids": mids[:1000],
            "sets": sorted({chosen[m][1] for m in mids}),
            "categories": sorted({chosen[m][0] for m in mids})})
    return alerts, len(chosen)


def match_hashsets(ws: Workstation, *, case_id: int | None = None, set_ids: Sequence[int] | None = None,
                   max_distance: int = DEFAULT_MAX_DISTANCE, progress: Progress | None = None,
                   cancel: CancelToken | None = None) -> MatchSummary:
    """Match the media of one case (or of every case) against the hash sets (all, or
    ``set_ids``): exact digests and PDQ within ``max_distance``. One write transaction per
    case; a cancel between cases keeps the cases already done. Idempotent."""
    if not 0 <= max_distance <= 256:
        raise UsageError("max_distance must be between 0 and 256 bits")
    report = progress or _no_progress
    with ws.db.read() as conn:
        q = select(s.case.c.id).where(s.case.c.deleted.is_(False)).order_by(s.case.c.id)
        if case_id is not None:
            q = q.where(s.case.c.id == case_id)
        cases = [int(r[0]) for r in conn.execute(q)]
    if case_id is not None and not cases:
        raise NotFound(f"no case with id {case_id}")
    total = MatchSummary()
    for n, cid in enumerate(cases):
        if cancel is not None and cancel.is_set():
            break
        report(n / max(len(cases), 1), f"matching case {n + 1} of {len(cases)}")
        with ws.db.write() as conn:
            ids = [int(r[0]) for r in conn.execute(select(s.media.c.id).where(
                s.media.c.case_id == cid, s.media.c.deleted.is_(False)).order_by(s.media.c.id))]
            if ids:
                total = total + _match_media_rows(ws, conn, ids, max_distance, set_ids)
    report(1.0, f"{total.matches:,} matches, {total.alerts:,} alerts")
    return total


# ====================================================================== stacks
def _restack_rows(conn: Connection, case_id: int, new_rows: Sequence[tuple[int, str, str | None, int | None]],
                  index: PDQIndex, max_distance: int) -> int:
    """Join ``new_rows`` (id, sha256, pdq, quality) to the stacks of their case: same
    SHA-256, or PDQ within ``max_distance`` (index must already hold the new rows). Merged
    stacks take the lowest member id. Returns how many rows changed stack."""
    parent: dict[Any, Any] = {}

    def find(x: Any) -> Any:
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(a: Any, b: Any) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb

    for mid, _sha, pdq, quality in new_rows:
        find(mid)
        if pdq and (quality is None or quality >= DEFAULT_MIN_QUALITY) and len(index):
            for other, _d in index.query(pdq, max_distance):
                if other != mid:
                    union(mid, int(other))  # type: ignore[call-overload]
    m = s.media.c
    shas = sorted({r[1] for r in new_rows})
    by_sha: dict[str, list[int]] = {}
    for chunk in _chunks_of(shas, _IN_CHUNK):
        for r in conn.execute(select(m.id, m.sha256).where(
                m.case_id == case_id, m.deleted.is_(False), m.sha256.in_(chunk))):
            by_sha.setdefault(r.sha256, []).append(int(r.id))
    for ids in by_sha.values():
        for other in ids[1:]:
            union(ids[0], other)
    nodes = [x for x in parent if isinstance(x, int)]
    if len({find(x) for x in nodes}) == len(nodes):
        return 0  # nothing joined anything
    current: dict[int, int | None] = {}
    for chunk in _chunks_of(nodes, _IN_CHUNK):
        current.update((int(r.id), r.stack_id) for r in conn.execute(
            select(m.id, m.stack_id).where(m.id.in_(chunk))))
    stack_ids = sorted({sid for sid in current.values() if sid is not None})
    for chunk in _chunks_of(stack_ids, _IN_CHUNK):
        for r in conn.execute(select(m.id, m.stack_id).where(
                m.case_id == case_id, m.deleted.is_(False), m.stack_id.in_(chunk))):
            current[int(r.id)] = r.stack_id
            union(int(r.id), ("stack", r.stack_id))
    for mid, sid in list(current.items()):
        if sid is not None:
            union(mid, ("stack", sid))
    groups: dict[Any, list[int]] = {}
    for x in list(parent):
        if isinstance(x, int) and x in current:
            groups.setdefault(find(x), []).append(x)
    changes: list[tuple[int | None, int]] = []
    for members in groups.values():
        target = min(members) if len(members) > 1 else None
        changes.extend((target, mid) for mid in members if current.get(mid) != target)
    if changes:
        _raw_cursor(conn).executemany("UPDATE media SET stack_id = ? WHERE id = ?", changes)
    return len(changes)


def restack(ws: Workstation, case_id: int, *, max_distance: int = DEFAULT_MAX_DISTANCE) -> int:
    """Recompute every duplicate stack of a case (e.g. with another distance). Returns how
    many files are in a stack afterwards."""
    ws.get_case(case_id)
    with ws.db.write() as conn:
        conn.execute(update(s.media).where(s.media.c.case_id == case_id).values(stack_id=None))
        rows = [(int(r.id), r.sha256, r.pdq, r.pdq_quality) for r in conn.execute(
            select(s.media.c.id, s.media.c.sha256, s.media.c.pdq, s.media.c.pdq_quality).where(
                s.media.c.case_id == case_id, s.media.c.deleted.is_(False)))]
        index = _case_pdq_index(conn, case_id)
        _restack_rows(conn, case_id, rows, index, max_distance)
        stacked = int(conn.execute(select(func.count()).select_from(s.media).where(
            s.media.c.case_id == case_id, s.media.c.stack_id.is_not(None))).scalar_one())
        ws.audit.append(conn, "media.restack", "case", case_id,
                        {"max_distance": max_distance, "stacked": stacked})
    return stacked


def stack_members(ws: Workstation, media_id: int) -> list[int]:
    """Ids of every live file in the stack of ``media_id`` (just itself when alone)."""
    with ws.db.read() as conn:
        return _stack_members(conn, [media_id])


def _stack_members(conn: Connection, media_ids: Sequence[int]) -> list[int]:
    m = s.media.c
    rows: list[Any] = []
    for chunk in _chunks_of(list(media_ids), _IN_CHUNK):
        rows.extend(conn.execute(select(m.id, m.stack_id, m.deleted).where(m.id.in_(chunk))))
    found = {int(r.id) for r in rows if not r.deleted}
    missing = [i for i in media_ids if i not in found]
    if missing:
        raise NotFound(f"no media with id {missing[0]}")
    out = set(found)
    stacks = sorted({int(r.stack_id) for r in rows if r.stack_id is not None})
    for chunk in _chunks_of(stacks, _IN_CHUNK):
        out.update(int(r[0]) for r in conn.execute(select(m.id).where(
            m.stack_id.in_(chunk), m.deleted.is_(False))))
    return sorted(out)


# ====================================================================== categorising
def categorise(ws: Workstation, media_ids: int | Sequence[int], code: str | int, *,
               whole_stack: bool = True) -> Changes:
    """Give files a category of their case's scheme (the scheme's unreviewed code resets
    them). With ``whole_stack`` (the default) every member of their stacks gets it too.
    Who and when are recorded on each row; one audit entry lists the files and their
    previous categories.

    Raises NotFound for an unknown id, BadInput for a code the case's scheme does not have,
    UsageError when the files belong to different cases.
    """
    ids = [media_ids] if isinstance(media_ids, int) else [int(i) for i in media_ids]
    if not ids:
        raise UsageError("no files to categorise")
    now = clock.utcnow_iso()
    with ws.db.write() as conn:
        members = _stack_members(conn, ids) if whole_stack else _stack_members_exact(conn, ids)
        m = s.media.c
        rows: list[Any] = []
        for chunk in _chunks_of(members, _IN_CHUNK):
            rows.extend(conn.execute(select(m.id, m.case_id, m.category).where(m.id.in_(chunk))))
        cases = {int(r.case_id) for r in rows}
        if len(cases) != 1:
            raise UsageError("files of different cases cannot be categorised together")
        case_id = cases.pop()
        scheme_name = conn.execute(select(s.case.c.category_scheme).where(s.case.c.id == case_id)).scalar()
        scheme = _scheme(scheme_name)
        category = scheme.by_code(code)
        if category is None:
            raise BadInput(f"category {code!r} is not in scheme {scheme.name} "
                           f"(use {', '.join(c.code for c in scheme.categories)})")
        hlc = ws._touch(conn)
        for chunk in _chunks_of(members, _IN_CHUNK):
            conn.execute(update(s.media).where(m.id.in_(chunk)).values(
                category=category.code, categorised_by=ws.actor, categorised_at=now, hlc=hlc))
        previous: dict[str, list[int]] = {}
        for r in rows:
            previous.setdefault(str(r.category), []).append(int(r.id))
        ws.audit.append(conn, "media.categorise", "case", case_id, {
            "category": category.code, "scheme": scheme.name, "media_ids": members[:1000],
            "count": len(members), "requested": ids[:1000], "previous": previous})
    return Changes("media", "updated", tuple(members), case_id, {"category": category.code})


def _stack_members_exact(conn: Connection, ids: Sequence[int]) -> list[int]:
    m = s.media.c
    found: set[int] = set()
    for chunk in _chunks_of(list(ids), _IN_CHUNK):
        found.update(int(r[0]) for r in conn.execute(select(m.id).where(m.id.in_(chunk), m.deleted.is_(False))))
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"no media with id {missing[0]}")
    return sorted(found)


# ====================================================================== listing
def _known_good_clause() -> Any:
    hm, hs = s.hash_match, s.hash_set
    good = exists(select(hm.c.id).select_from(hm.join(hs, hs.c.id == hm.c.set_id)).where(
        hm.c.media_id == s.media.c.id, hs.c.kind == "known_good", hm.c.kind != "pdq"))
    return good


def _alert_clause() -> Any:
    a = s.media_alert
    return exists(select(a.c.id).where(a.c.media_id == s.media.c.id))


def _filtered(case_id: int, *, category: str | None, uncategorised: bool, alerts_only: bool,
              stack_id: int | None, include_known_good: bool, scheme: CategoryScheme) -> Select[Any]:
    m = s.media.c
    q = select(m.id).where(m.case_id == case_id, m.deleted.is_(False))
    if category is not None:
        cat = scheme.by_code(category)
        if cat is None:
            raise BadInput(f"category {category!r} is not in scheme {scheme.name}")
        if cat.code == scheme.default:
            uncategorised = True
        else:
            q = q.where(m.category == cat.code)
    if uncategorised:
        q = q.where(or_(m.category.is_(None), m.category == scheme.default))
    if alerts_only:
        q = q.where(_alert_clause())
    if stack_id is not None:
        q = q.where(or_(m.stack_id == stack_id, and_(m.stack_id.is_(None), m.id == stack_id)))
    if not include_known_good:
        q = q.where(or_(~_known_good_clause(), _alert_clause()))
    return q


def media_ids(ws: Workstation, case_id: int, *, category: str | None = None, uncategorised: bool = False,
              alerts_only: bool = False, stack_id: int | None = None, include_known_good: bool = False,
              collapse_stacks: bool = True) -> list[int]:
    """Ids of the case's files that pass the filters, in ingest order (for lazy models).

    ``collapse_stacks`` gives one id per duplicate stack (its first matching member);
    ``stack_id`` lists the members of one stack. Files that matched a known-good set
    exactly are left out unless ``include_known_good`` (or they also raised an alert).
    """
    scheme = case_scheme(ws, case_id)
    q = _filtered(case_id, category=category, uncategorised=uncategorised, alerts_only=alerts_only,
                  stack_id=stack_id, include_known_good=include_known_good, scheme=scheme)
    if collapse_stacks and stack_id is None:
        inner = q.add_columns(func.coalesce(s.media.c.stack_id, s.media.c.id).label("grp")).subquery()
        q2 = select(func.min(inner.c.id)).group_by(inner.c.grp).order_by(func.min(inner.c.id))
        with ws.db.read() as conn:
            return [int(r[0]) for r in conn.execute(q2)]
    with ws.db.read() as conn:
        return [int(r[0]) for r in conn.execute(q.order_by(s.media.c.id))]


def count_media(ws: Workstation, case_id: int, **filters: Any) -> int:
    """How many files :func:`media_ids` would list with the same filters."""
    return len(media_ids(ws, case_id, **filters))


_INFO_COLUMNS = [c for c in s.media.c if c.name not in ("thumbnail",)]


def get_media(ws: Workstation, ids: Iterable[int]) -> list[MediaInfo]:
    """The files with these ids, in the order given (unknown ids are left out)."""
    wanted = [int(i) for i in ids]
    if not wanted:
        return []
    m = s.media.c
    with ws.db.read() as conn:
        rows: dict[int, Any] = {}
        thumbs: set[int] = set()
        for chunk in _chunks_of(wanted, _IN_CHUNK):
            for r in conn.execute(select(*_INFO_COLUMNS, (m.thumbnail.is_not(None)).label("has_thumb")).where(
                    m.id.in_(chunk), m.deleted.is_(False))):
                rows[int(r.id)] = r
                if r.has_thumb:
                    thumbs.add(int(r.id))
        stacks = sorted({int(r.stack_id) for r in rows.values() if r.stack_id is not None})
        sizes: dict[int, int] = {}
        members: dict[int, list[int]] = {}
        for chunk in _chunks_of(stacks, _IN_CHUNK):
            for sr in conn.execute(select(m.id, m.stack_id).where(m.stack_id.in_(chunk), m.deleted.is_(False))):
                members.setdefault(int(sr.stack_id), []).append(int(sr.id))
        sizes = {k: len(v) for k, v in members.items()}
        all_ids = set(rows) | {i for v in members.values() for i in v}
        alerts: dict[int, str] = {}
        good: set[int] = set()
        for chunk in _chunks_of(sorted(all_ids), _IN_CHUNK):
            for ar in conn.execute(select(s.media_alert.c.media_id, s.media_alert.c.set_kind).where(
                    s.media_alert.c.media_id.in_(chunk), s.media_alert.c.acknowledged_at.is_(None))):
                if alerts.get(int(ar.media_id)) != "known_bad":
                    alerts[int(ar.media_id)] = ar.set_kind
            good.update(int(r[0]) for r in conn.execute(
                select(s.hash_match.c.media_id).join(s.hash_set, s.hash_set.c.id == s.hash_match.c.set_id).where(
                    s.hash_match.c.media_id.in_(chunk), s.hash_set.c.kind == "known_good",
                    s.hash_match.c.kind != "pdq")))
    out: list[MediaInfo] = []
    for i in wanted:
        found = rows.get(i)
        if found is None:
            continue
        r = found
        group = members.get(int(r.stack_id), [i]) if r.stack_id is not None else [i]
        kinds = {alerts[g] for g in group if g in alerts}
        alert = "known_bad" if "known_bad" in kinds else ("alert" if kinds else None)
        exif = r.exif if isinstance(r.exif, dict) else (json.loads(r.exif) if r.exif else {})
        out.append(MediaInfo(
            id=int(r.id), uid=r.uid, case_id=int(r.case_id), path=r.path, size=int(r.size), mime=r.mime,
            md5=r.md5, sha1=r.sha1, sha256=r.sha256, pdq=r.pdq, pdq_quality=r.pdq_quality, width=r.width,
            height=r.height, captured_utc=r.captured_utc, gps_lat=r.gps_lat, gps_lon=r.gps_lon,
            category=r.category, categorised_by=r.categorised_by, categorised_at=r.categorised_at,
            stack_id=r.stack_id, stack_size=sizes.get(int(r.stack_id), 1) if r.stack_id is not None else 1,
            alert=alert, known_good=i in good, problem=r.problem, has_thumbnail=i in thumbs,
            source_id=r.source_id, exif=exif))
    return out


def list_media(ws: Workstation, case_id: int, *, category: str | None = None, uncategorised: bool = False,
               alerts_only: bool = False, include_known_good: bool = False, stack_id: int | None = None,
               offset: int = 0, limit: int | None = 1000) -> list[MediaInfo]:
    """Every file of a case passing the filters (stacks not collapsed), ingest order."""
    ids = media_ids(ws, case_id, category=category, uncategorised=uncategorised, alerts_only=alerts_only,
                    include_known_good=include_known_good, stack_id=stack_id, collapse_stacks=False)
    ids = ids[offset:] if limit is None else ids[offset:offset + limit]
    return get_media(ws, ids)


def get_thumbnail(ws: Workstation, media_id: int) -> bytes | None:
    """The thumbnail JPEG bytes of a file (decrypted in memory only), None when it has none.

    The caller must protect the reviewer (blur, greyscale) before showing it."""
    with ws.db.read() as conn:
        row = conn.execute(select(s.media.c.thumbnail, s.media.c.deleted).where(s.media.c.id == media_id)).first()
    if row is None or row.deleted:
        raise NotFound(f"no media with id {media_id}")
    return bytes(row.thumbnail) if row.thumbnail is not None else None


def get_thumbnails(ws: Workstation, ids: Iterable[int]) -> dict[int, bytes]:
    """Thumbnail bytes by id for those of ``ids`` that have one (see :func:`get_thumbnail`)."""
    out: dict[int, bytes] = {}
    m = s.media.c
    with ws.db.read() as conn:
        for chunk in _chunks_of([int(i) for i in ids], _IN_CHUNK):
            for r in conn.execute(select(m.id, m.thumbnail).where(
                    m.id.in_(chunk), m.thumbnail.is_not(None), m.deleted.is_(False))):
                out[int(r.id)] = bytes(r.thumbnail)
    return out


def record_reveal(ws: Workstation, media_id: int, *, seconds: float | None = None, how: str | None = None) -> int:
    """Audit that the officer revealed the unprotected thumbnail of a file ("media.reveal").
    Call it before the pixels are shown. ``how`` says which way (``"hold"``: the whole
    picture while held; ``"keyhole"``: only a circle around the pointer). Returns the
    audit sequence number."""
    with ws.db.write() as conn:
        row = conn.execute(select(s.media.c.case_id, s.media.c.sha256, s.media.c.deleted).where(
            s.media.c.id == media_id)).first()
        if row is None or row.deleted:
            raise NotFound(f"no media with id {media_id}")
        details: dict[str, Any] = {"case_id": int(row.case_id), "sha256": row.sha256}
        if seconds is not None:
            details["seconds"] = round(float(seconds), 3)
        if how is not None:
            details["how"] = how
        return ws.audit.append(conn, "media.reveal", "media", media_id, details)


def list_matches(ws: Workstation, media_id: int) -> list[HashMatchInfo]:
    """The hash-set matches of one file, exact ones first."""
    hm, hs, he = s.hash_match.c, s.hash_set.c, s.hash_entry.c
    q = (select(hm.media_id, hm.set_id, hs.name, hs.kind.label("set_kind"), hm.entry_id, hm.kind,
                hm.distance, he.category)
         .select_from(s.hash_match.join(s.hash_set, hs.id == hm.set_id).join(s.hash_entry, he.id == hm.entry_id))
         .where(hm.media_id == media_id).order_by(hm.distance, hm.id))
    with ws.db.read() as conn:
        return [HashMatchInfo(int(r.media_id), int(r.set_id), r.name, r.set_kind, int(r.entry_id), r.kind,
                              int(r.distance), r.category) for r in conn.execute(q)]


def list_alerts(ws: Workstation, case_id: int, *, include_acknowledged: bool = True) -> list[MediaAlertInfo]:
    """The case's hash-set alerts, newest first."""
    a, hs, m = s.media_alert.c, s.hash_set.c, s.media.c
    q = (select(s.media_alert, hs.name.label("set_name"), m.path)
         .select_from(s.media_alert.join(s.hash_set, hs.id == a.set_id).join(s.media, m.id == a.media_id))
         .where(a.case_id == case_id, m.deleted.is_(False)).order_by(a.id.desc()))
    if not include_acknowledged:
        q = q.where(a.acknowledged_at.is_(None))
    with ws.db.read() as conn:
        return [MediaAlertInfo(int(r.id), int(r.case_id), int(r.media_id), r.path, int(r.set_id), r.set_name,
                               r.set_kind, r.match_kind, int(r.distance), r.category, r.created_at,
                               r.acknowledged_at, r.acknowledged_by) for r in conn.execute(q)]


def acknowledge_alert(ws: Workstation, alert_id: int) -> Changes:
    """Mark an alert as seen by the officer (audited)."""
    with ws.db.write() as conn:
        row = conn.execute(select(s.media_alert).where(s.media_alert.c.id == alert_id)).first()
        if row is None:
            raise NotFound(f"no alert with id {alert_id}")
        if row.acknowledged_at is None:
            conn.execute(update(s.media_alert).where(s.media_alert.c.id == alert_id).values(
                acknowledged_at=clock.utcnow_iso(), acknowledged_by=ws.actor))
            ws.audit.append(conn, "media.alert.acknowledge", "media", row.media_id,
                            {"alert_id": alert_id, "case_id": row.case_id})
    return Changes("media", "updated", (int(row.media_id),), int(row.case_id), {"alert": alert_id})


# ====================================================================== hash sets
_ENTRY_SQL = ("INSERT INTO hash_entry (set_id, md5, sha1, sha256, pdq, pdq_quality, category, properties) "
              "VALUES (?,?,?,?,?,?,?,?)")


def _entry_row(set_id: int, entry: HashSetEntry) -> tuple[Any, ...]:
    props: dict[str, Any] = {}
    for key in ("series", "victim_identified", "offender_identified", "is_distributed", "file_name", "size"):
        value = getattr(entry, key)
        if value is not None:
            props[key] = value
    if entry.tags:
        props["tags"] = list(entry.tags)
    for key, value in entry.properties.items():
        props.setdefault(key, value)
    return (set_id, entry.md5, entry.sha1, entry.sha256, entry.pdq, entry.pdq_quality, entry.category,
            json.dumps(props, ensure_ascii=False, separators=(",", ":")) if props else "{}")


def import_hashset(ws: Workstation, path: str | os.PathLike[str], *, kind: str | None = None,
                   name: str | None = None, fmt: str | None = None, progress: Progress | None = None,
                   cancel: CancelToken | None = None, match: bool = True,
                   max_distance: int = DEFAULT_MAX_DISTANCE) -> HashSetImportResult:
    """Import a hash set (VICS JSON 1.x/2.0, NSRL/RDS CSV, md5sum/sha1sum/sha256sum lists,
    PDQ lists, hashdeep, TSK index; ``fmt`` None detects it) in one transaction with its
    source row and an audit entry, then match every case's media against it (``match``).

    ``kind``: ``known_bad`` (matches raise alerts and pre-categorise), ``known_good``
    (matches are hidden from review), ``alert`` (matches raise alerts only); None: as the
    file says (an NSRL reference set of known software is known good, anything else known
    bad). An NSRL set is never imported as known bad (every system file would raise an
    alert): UsageError. Bad lines are
    skipped and counted. Importing the same file again returns the existing set
    (``duplicate_of``). Raises BadInput for a file that is not a hash set, UsageError for a
    bad kind/format, Cancelled (nothing kept) when cancelled.
    """
    if kind is not None and kind not in HASHSET_KINDS:
        raise UsageError(f"hash-set kind must be one of {', '.join(HASHSET_KINDS)}")
    p = Path(path)
    if not p.is_file():
        raise BadInput(f"{p}: no such file" if not p.exists() else f"{p}: is not a file")
    report = progress or _no_progress
    try:
        size, digest = _file_digest(p)
    except OSError as exc:
        raise BadInput(f"{p}: cannot read ({exc.strerror or exc})") from None
    with ws.db.read() as conn:
        dup = conn.execute(select(s.hash_set).join(s.source, s.source.c.id == s.hash_set.c.source_id).where(
            s.source.c.sha256 == digest, s.source.c.importer.like("hashset:%"))).first()
    if dup is not None:
        return HashSetImportResult(int(dup.id), dup.name, dup.kind, dup.format, int(dup.entry_count), 0,
                                   ("this file was already imported as a hash set",), duplicate_of=int(dup.id))
    try:
        reader = HashSetReader(p, fmt or None)
    except ValueError:
        raise UsageError(f"unknown hash-set format {fmt!r}") from None
    except HashSetError as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        raise BadInput(f"{p}: cannot read ({exc.strerror or exc})") from None
    if kind is None:
        kind = "known_good" if reader.known_good else "known_bad"
    elif kind == "known_bad" and reader.known_good:
        raise UsageError(f"{p.name} is an NSRL reference set of known software files ({reader.format.value}): "
                         "import it as known good (or as an alert list), not as known bad")
    set_name = (name or p.stem).strip() or p.name
    now = clock.utcnow_iso()
    report(None, f"reading {p.name} as {reader.format.value}")
    try:
        with ws.db.write() as conn:
            source_id = int(conn.execute(s.source.insert().values(
                case_id=None, file_name=p.name, file_size=size, sha256=digest,
                importer=f"hashset:{reader.format.value}", options={"kind": kind, "name": set_name, "format": fmt},
                imported_by=ws.actor, imported_at=now, **_stamp(ws))).inserted_primary_key[0])  # type: ignore[index]
            set_id = int(conn.execute(s.hash_set.insert().values(
                name=set_name, kind=kind, format=reader.format.value, source_id=source_id, entry_count=0,
                created_at=now)).inserted_primary_key[0])  # type: ignore[index]
            cur = _raw_cursor(conn)
            count = 0
            for chunk in _chunks_of(reader, _ENTRY_BATCH):
                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"import of {p.name} cancelled; nothing was saved")
                cur.executemany(_ENTRY_SQL, [_entry_row(set_id, e) for e in chunk])
                count += len(chunk)
                report(None, f"{count:,} entries")
            if count == 0:
                raise BadInput(f"{p}: no valid entries (first problem: "
                               f"{reader.errors[0] if reader.errors else 'empty'})")
            errors = tuple(str(e) for e in reader.errors)
            conn.execute(update(s.hash_set).where(s.hash_set.c.id == set_id).values(entry_count=count))
            conn.execute(update(s.source).where(s.source.c.id == source_id).values(summary={
                "entries": count, "error_count": reader.error_count, "errors": list(errors),
                "set_id": set_id, "format": reader.format.value}))
            ws.audit.append(conn, "hashset.import", "hash_set", set_id, {
                "name": set_name, "kind": kind, "format": reader.format.value, "file": p.name,
                "sha256": digest, "entries": count, "bad_lines": reader.error_count})
    except HashSetError as exc:
        raise BadInput(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{p}: undecodable text ({exc.reason})") from None
    found = MatchSummary()
    if match:
        found = match_hashsets(ws, set_ids=[set_id], max_distance=max_distance, progress=report, cancel=cancel)
    return HashSetImportResult(set_id, set_name, kind, reader.format.value, count, reader.error_count, errors,
                               found.matches, found.alerts, found.categorised)


def list_hashsets(ws: Workstation) -> list[HashSetInfo]:
    """Every imported hash set, oldest first."""
    with ws.db.read() as conn:
        return [HashSetInfo(int(r.id), r.name, r.kind, r.format, int(r.entry_count), r.created_at, r.source_id)
                for r in conn.execute(select(s.hash_set).order_by(s.hash_set.c.id))]


# ====================================================================== export
def export_vics(ws: Workstation, case_id: int, out_path: str | os.PathLike[str], *,
                version: str = "2.0") -> VicsExport:
    """Write the case's categorised files (one entry per distinct SHA-256; the scheme's
    unreviewed code left out) as VICS JSON for other units, atomically (a temporary file
    in the target folder, then renamed), and audit the export with its digest."""
    case = ws.get_case(case_id)
    scheme = case_scheme(ws, case_id)
    target = Path(out_path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise BadInput(f"{folder}: folder does not exist")
    if target.is_dir():
        raise BadInput(f"{target}: is a folder; give a file name")
    m = s.media.c
    with ws.db.read() as conn:
        rows = conn.execute(select(m.id, m.path, m.size, m.md5, m.sha1, m.sha256, m.pdq, m.pdq_quality,
                                   m.category).where(
            m.case_id == case_id, m.deleted.is_(False), m.category.is_not(None),
            m.category != scheme.default).order_by(m.id)).fetchall()
    seen: set[str] = set()
    entries: list[HashSetEntry] = []
    for r in rows:
        if r.sha256 in seen:
            continue
        seen.add(r.sha256)
        name = PurePosixPath(r.path.rsplit(ARCHIVE_SEPARATOR, 1)[-1].replace("\\", "/")).name
        entries.append(HashSetEntry(md5=r.md5, sha1=r.sha1, sha256=r.sha256, pdq=r.pdq,
                                    pdq_quality=r.pdq_quality if r.pdq else None, category=r.category,
                                    file_name=name, size=int(r.size)))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise BadInput(f"{folder}: cannot write here ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            count = write_vics_json(entries, fh, version, case_number=case.number)
            fh.flush()
            os.fsync(fh.fileno())
        digest = _file_digest(Path(tmp))[1]
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    ws.record_export("media.export_vics", str(target), digest,
                     {"case_id": case_id, "entries": count, "version": version, "scheme": scheme.name})
    return VicsExport(str(target), count, digest)


def category_of(scheme: CategoryScheme, code: str | None) -> Category:
    """The category a stored code means in ``scheme`` (its unreviewed one for None/unknown)."""
    return scheme.by_code(code) or scheme.unreviewed
