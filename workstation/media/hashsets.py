"""Hash-set readers (and a VICS writer): known-bad, known-good and alert lists.

Formats read, each streamed so a set of millions of lines never sits in memory:

``vics_json``
    Project VIC VICS JSON, 1.x (``{"odata.metadata": ..., "value": [media...]}``) and 2.0
    (``{"@odata.context": ..., "value": [{case..., "Media": [media...]}]}``). Keys are matched
    case-insensitively; hashes may sit on the media record, in its ``MediaFiles`` and in
    ``AlternativeHashes`` (``{"HashName": "PDQ", "HashValue": ...}``). A media record whose
    files carry other hashes yields one entry per distinct hash combination.
``rds_sqlite``
    NIST NSRL RDS v3 as published since 2022: an SQLite database (``RDS_2024.03.1_modern_
    minimal.db``, and the full modern/android/ios/legacy sets) with a ``FILE`` table or
    view (``sha256, sha1, md5[, crc32], file_name, file_size, package_id``) beside
    ``PKG``/``OS``/``MFG``/``VERSION``. Recognised by its schema, never by its name; opened
    read-only and immutable, streamed through a cursor in primary-key order so each
    distinct (SHA-256, SHA-1, MD5) becomes one entry (``package_count`` tells how many
    FILE rows it summarises). ``VERSION`` lands in the reader's ``metadata``.
``nsrl_csv`` / ``rds_csv`` / ``hash_csv`` / ``pdq_csv``
    CSV with a header: legacy NSRL ``"SHA-1","MD5","CRC32","FileName","FileSize",
    "ProductCode","OpSystemCode","SpecialCode"``, RDSv3 exports (``sha256,sha1,md5,
    file_name,file_size,...``), or any CSV with a hash column (comma, tab, semicolon or
    pipe separated; EnCase-style ``"Name","Hash Value","SHA1 Value","Logical Size"``
    too). Unmapped columns are kept in ``properties`` under their header name. The
    headerless flat files tools write from an RDS (``sqlite3`` list/CSV output of
    ``FILE``, ``sha256|sha1|md5|crc32|file_name|file_size|package_id``, or v2-style rows
    ``sha1,md5,crc32,name,size,product,os,special``) are read with the implied header.

NSRL sets (``nsrl_csv``, ``rds_csv``, ``rds_sqlite``) list *known software*, not known
content: the reader says so with ``known_good`` / ``metadata["known_good"]`` so the
caller can file them as ignorable (known-good) rather than as alerts. Entries are not
marked one by one; the set's kind is the caller's decision, as for the v2 CSV.
``hash_list``
    md5sum / sha1sum / sha256sum output (``<hex> *name``, ``<hex>  name``, escaped names
    starting with ``\\``), BSD style ``MD5 (name) = <hex>``, or bare hashes one per line.
    The hash type follows the length: 32 MD5, 40 SHA-1, 64 SHA-256.
``pdq_list``
    ``<64 hex>[,quality][,label]`` per line. A file of bare 64-hex lines is SHA-256 unless
    its name mentions ``pdq``; pass ``fmt="pdq_list"`` to say so explicitly.
``hashdeep``
    hashdeep/md5deep audit files (``%%%% HASHDEEP-1.0`` and a ``%%%% size,md5,...`` header).
``tsk_idx``
    The Sleuth Kit's sorted index (``<HASH>|<offset>``); names are looked up in the indexed
    database file when it sits beside the index.

Everywhere: ``#`` comment lines and blank lines are skipped; CRLF, CR, UTF-8 (with or
without BOM), UTF-16 with BOM and Windows-1252 file names are read. Hashes are returned
lower-case. A bad line never stops the import: it is counted in ``error_count`` and the
first ``max_errors_kept`` are kept with their line numbers in ``errors``. A file that is
not a hash set at all raises :class:`HashSetError` (on detection, or when the first 100
content lines are all bad).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, TextIO

from workstation.media.errors import HashSetError

__all__ = ["KNOWN_GOOD_FORMATS", "HashSetEntry", "HashSetFormat", "HashSetReader", "LineError",
           "detect_hashset_format", "read_hashset", "write_vics_json"]


class HashSetFormat(StrEnum):
    """The hash-set formats :func:`detect_hashset_format` can name."""

    VICS_JSON = "vics_json"
    NSRL_CSV = "nsrl_csv"
    RDS_CSV = "rds_csv"
    HASH_CSV = "hash_csv"
    PDQ_CSV = "pdq_csv"
    HASH_LIST = "hash_list"
    PDQ_LIST = "pdq_list"
    HASHDEEP = "hashdeep"
    TSK_IDX = "tsk_idx"
    RDS_SQLITE = "rds_sqlite"


#: Formats whose entries are known software (NIST NSRL): ignorable, never alerts.
KNOWN_GOOD_FORMATS: frozenset[str] = frozenset(
    {HashSetFormat.NSRL_CSV, HashSetFormat.RDS_CSV, HashSetFormat.RDS_SQLITE})


Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class HashSetEntry:
    """One known file: its hashes and what the set says about it.

    Hashes are lower-case hex (MD5 32, SHA-1 40, SHA-256 64, PDQ 64 digits) or None;
    at least one is set. ``category`` is the set's own code as a string (VICS ``"1"``...),
    interpreted with a category scheme by the caller. Booleans are None when the set does
    not say. ``properties`` keeps every other field the set carries, by its own name.
    ``line`` is where the entry starts in the file (not part of equality).
    """

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    category: str | None = None
    series: str | None = None
    victim_identified: bool | None = None
    offender_identified: bool | None = None
    is_distributed: bool | None = None
    tags: tuple[str, ...] = ()
    file_name: str | None = None
    size: int | None = None
    properties: dict[str, Scalar] = field(default_factory=dict, hash=False)
    pdq_quality: int | None = None
    line: int | None = field(default=None, compare=False)

    @property
    def hashes(self) -> dict[str, str]:
        """The hashes that are set, by kind (``md5``, ``sha1``, ``sha256``, ``pdq``)."""
        return {k: v for k, v in (("md5", self.md5), ("sha1", self.sha1),
                                  ("sha256", self.sha256), ("pdq", self.pdq)) if v}


@dataclass(frozen=True)
class LineError:
    """A line (or record) that could not be read, with the reason and a snippet of it."""

    line: int
    message: str
    text: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class _BadLine(Exception):
    """Internal: raised by a line parser, turned into a LineError by the reader."""


# --- hash validation -------------------------------------------------------------------

_HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
_LENGTH_KIND = {32: "md5", 40: "sha1", 64: "sha256"}


def _hex(value: Any, length: int, name: str) -> str | None:
    """Lower-case hex of exactly ``length`` digits, None for empty, _BadLine otherwise."""
    if value is None:
        return None
    text = str(value).strip()
    if text.lower().startswith("0x"):
        text = text[2:]
    if not text:
        return None
    if len(text) != length or not _HEX_RE.match(text):
        raise _BadLine(f"invalid {name} {text[:80]!r} (expected {length} hex digits)")
    return text.lower()


def _md5(v: Any) -> str | None:
    return _hex(v, 32, "MD5")


def _sha1(v: Any) -> str | None:
    return _hex(v, 40, "SHA-1")


def _sha256(v: Any) -> str | None:
    return _hex(v, 64, "SHA-256")


def _pdq(v: Any) -> str | None:
    return _hex(v, 64, "PDQ")


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _BadLine(f"invalid {name} {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip().replace(",", "").replace("_", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise _BadLine(f"invalid {name} {str(value)[:40]!r}") from None
        if not number.is_integer():
            raise _BadLine(f"invalid {name} {str(value)[:40]!r}") from None
        return int(number)


def _quality(value: Any) -> int | None:
    quality = _int(value, "PDQ quality")
    if quality is not None and not 0 <= quality <= 100:
        raise _BadLine(f"PDQ quality {quality} outside 0..100")
    return quality


_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


def _bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _category(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dict):
        # {"CategoryID": 1, "Name": "..."} / {"Code": "A"} / {"Id": 2} / {"Value": 1}
        lower = _ci(value)
        for key in ("categorycode", "code", "categoryid", "id", "value", "categoryname", "name"):
            if lower.get(key) is not None and not isinstance(lower.get(key), (dict, list)):
                return _category(lower[key])
        return None
    text = str(value).strip()
    return text or None


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = _ci(value).get("name")
        if value is None:
            return None
    text = str(value).strip()
    return text or None


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        parts: list[Any] = re.split(r"[;,|]", value)
    elif isinstance(value, list):
        parts = value
    else:
        parts = [value]
    tags: list[str] = []
    for part in parts:
        if isinstance(part, dict):
            lower = _ci(part)
            part = lower.get("name", lower.get("tag", lower.get("value")))
        if part is None:
            continue
        text = str(part).strip()
        if text and text not in tags:
            tags.append(text)
    return tuple(tags)


_KEY_CACHE: dict[str, str] = {}
_KEY_STRIP = re.compile(r"[\s_\-]")


def _norm_key(key: str) -> str:
    """A JSON key lower-cased with '-', '_' and spaces removed (memoised: keys repeat)."""
    norm = _KEY_CACHE.get(key)
    if norm is None:
        norm = _KEY_STRIP.sub("", str(key)).lower()
        if len(_KEY_CACHE) < 10_000:
            _KEY_CACHE[key] = norm
    return norm


def _ci(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Keys normalised by :func:`_norm_key` (first occurrence wins)."""
    result: dict[str, Any] = {}
    for key, value in mapping.items():
        result.setdefault(_norm_key(key), value)
    return result


def _scalar(value: Any) -> Scalar:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# --- text input ------------------------------------------------------------------------

def _open_text(path: Path) -> TextIO:
    """Text stream with BOM-aware decoding and universal newlines.

    UTF-8 is assumed without a BOM; bytes that are not UTF-8 are kept as surrogates and
    re-read as Windows-1252 per line (see :func:`_fix_text`).
    """
    raw = open(path, "rb")
    head = raw.read(4)
    raw.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not head.startswith(codecs.BOM_UTF32_LE):
        return io.TextIOWrapper(raw, encoding="utf-16", newline=None)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline=None)


def _fix_text(line: str) -> str:
    """Undo surrogate escapes: the line's raw bytes were not UTF-8, read them as cp1252."""
    try:
        line.encode("utf-8")
        return line
    except UnicodeEncodeError:
        return line.encode("utf-8", "surrogateescape").decode("cp1252", "replace")


def _numbered_lines(stream: TextIO) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, start=1):
        yield number, _fix_text(line.rstrip("\r\n"))


def _is_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith(("#", "//", ";"))


# --- format detection ------------------------------------------------------------------

_TSK_HEADER_RE = re.compile(r"^0{30,}\|")
_TSK_LINE_RE = re.compile(r"^[0-9A-Fa-f]{32,64}\|\d+\s*$")
_GNU_RE = re.compile(r"^\\?([0-9a-fA-F]{20,128})(?:(?:\s+|\s*[,;|]\s*)\*?(.*))?$")
_GNU_STRICT_RE = re.compile(r"^\\?([0-9a-fA-F]{20,128}) ([ *])(.*)$")  # '<hex> <' '|'*'><name>'
_BSD_RE = re.compile(r"^(MD5|SHA1|SHA-1|SHA256|SHA-256|SHA2-256)\s*\((.*)\)\s*=\s*([0-9a-fA-F]+)\s*$",
                     re.IGNORECASE)
_PDQ_LINE_RE = re.compile(r"^([0-9a-fA-F]{64})\s*(?:[,;\t|]\s*(.*))?$")
_PDQ_QUALITY_RE = re.compile(r"^[0-9a-fA-F]{64}\s*[,;\t|]\s*(100|\d{1,2})\s*(?:$|[,;\t|])")

_COLUMN_ALIASES: dict[str, str] = {}
for _target, _names in {
    "md5": ("md5", "md5hash", "hashmd5", "md5sum", "md5digest", "md5value", "md5hashvalue"),
    "sha1": ("sha1", "sha1hash", "hashsha1", "sha1sum", "sha1digest", "sha1value", "sha1hashvalue"),
    "sha256": ("sha256", "sha256hash", "hashsha256", "sha256sum", "sha2256", "sha256digest",
               "sha256value", "sha256hashvalue"),
    "pdq": ("pdq", "pdqhash", "pdqhex", "hashpdq", "pdqdigest", "signalvalue"),
    "pdq_quality": ("quality", "pdqquality"),
    "hash": ("hash", "hashvalue", "digest", "value"),
    "file_name": ("filename", "name", "file", "mediafilename", "originalname"),
    "size": ("filesize", "size", "mediasize", "bytes", "sizebytes", "length", "logicalsize"),
    "category": ("category", "cat", "classification", "categoryid"),
    "series": ("series", "seriesname"),
    "victim_identified": ("victimidentified",),
    "offender_identified": ("offenderidentified",),
    "is_distributed": ("isdistributed", "distributed"),
    "tags": ("tags", "tag", "labels", "label"),
}.items():
    for _name in _names:
        _COLUMN_ALIASES[_name] = _target


# Headerless flat files written from an RDS: the column order is implied by the hashes.
_RDS_V3_COLUMNS = ["sha256", "sha1", "md5", "crc32", "file_name", "file_size", "package_id"]
_NSRL_V2_COLUMNS = ["SHA-1", "MD5", "CRC32", "FileName", "FileSize", "ProductCode", "OpSystemCode",
                    "SpecialCode"]
_HEADERLESS_SHAPES = (((64, 40, 32), _RDS_V3_COLUMNS, "rds_csv"), ((40, 32, 8), _NSRL_V2_COLUMNS, "nsrl_csv"))


def _headerless_shape(line: str) -> tuple[list[str], str, str] | None:
    """(implied header, format, delimiter) when ``line`` is a headerless RDS/NSRL row."""
    if not line.strip():
        return None
    delimiter = _sniff_delimiter(line)
    fields = [f.strip().strip('"') for f in next(csv.reader([line], delimiter=delimiter), [])]
    for lengths, header, fmt in _HEADERLESS_SHAPES:
        if len(fields) >= len(lengths) + 1 and all(
                len(f) == n and _HEX_RE.match(f) for f, n in zip(fields, lengths)):
            return header, fmt, delimiter
    return None


def _norm_header(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.strip().strip('"').lower())


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "\t", "|", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header_mapping(fields: list[str]) -> dict[int, str] | None:
    """Column index -> target field, or None when the row is not a hash-set header."""
    mapping: dict[int, str] = {}
    for i, name in enumerate(fields):
        target = _COLUMN_ALIASES.get(_norm_header(name))
        if target and target not in mapping.values():
            mapping[i] = target
    kinds = set(mapping.values())
    if not kinds & {"md5", "sha1", "sha256", "pdq", "hash"}:
        return None
    if "hash" in kinds and len(kinds & {"md5", "sha1", "sha256", "pdq"}) == 0 and len(fields) > 1:
        # 'value' alone is too weak a signal unless the row looks like a header overall.
        if any(_HEX_RE.match(f.strip().strip('"')) and len(f.strip()) >= 32 for f in fields):
            return None
    return mapping


def _head_lines(path: Path, limit: int = 200, max_chars: int = 1 << 18) -> list[str]:
    """The first ``limit`` lines, reading at most ``max_chars`` characters (a binary file
    picked by mistake may have no line breaks at all)."""
    with _open_text(path) as stream:
        try:
            head = stream.read(max_chars)
            more = bool(stream.read(1))
        except UnicodeDecodeError as exc:  # UTF-16 declared but broken
            raise HashSetError(f"cannot decode text: {exc}", file=str(path)) from exc
    lines = head.splitlines()
    if more and lines and not head.endswith(("\n", "\r")):
        lines.pop()  # cut mid-line
    return [_fix_text(line) for line in lines[:limit]]


_JSON_HINTS = ('"md5"', '"sha1"', '"sha256"', '"mediafiles"', '"media"', 'odata', '"value"', '"md5hash"',
               '"sha1hash"', '"alternativehashes"', '"media_files"')


def _looks_like_json(path: Path) -> bool:
    with _open_text(path) as stream:
        head = stream.read(4096)
    return head.lstrip().startswith(("{", "["))


def detect_hashset_format(path: str | os.PathLike[str]) -> str:
    """The :class:`HashSetFormat` value of the file at ``path``.

    Decided from the content (first lines / JSON keys); the file name only breaks the
    tie between bare SHA-256 and bare PDQ lines. Raises :class:`HashSetError` naming the
    file when it is not a hash set in any known format, and ``OSError`` if unreadable.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise HashSetError("empty file, not a hash set", file=str(path))
    if _is_sqlite(path):
        _close_quietly(_open_rds(path)[0])  # raises naming the file when it is not an RDS
        return HashSetFormat.RDS_SQLITE
    if _looks_like_json(path):
        with _open_text(path) as stream:
            head = stream.read(1 << 16).lower()
        if any(k in head for k in _JSON_HINTS):
            return HashSetFormat.VICS_JSON
        raise HashSetError("JSON file without VICS media records (no MD5/SHA1/Media keys)",
                           file=str(path))
    lines = [line for line in _head_lines(path) if line.strip()]
    if not lines:
        raise HashSetError("no content lines, not a hash set", file=str(path))
    if lines[0].startswith("%%%% HASHDEEP") or lines[0].startswith("%%%% size,"):
        return HashSetFormat.HASHDEEP
    content = [line for line in lines if not _is_comment(line)]
    if not content:
        raise HashSetError("only comments, no hash lines", file=str(path))
    if _TSK_HEADER_RE.match(content[0]) or (
            sum(bool(_TSK_LINE_RE.match(line)) for line in content) >= max(1, len(content) * 0.8)):
        return HashSetFormat.TSK_IDX
    first = content[0]
    shape = _headerless_shape(first)
    if shape is not None and sum(_headerless_shape(line) is not None for line in content[:100]) >= \
            max(1, min(len(content), 100) // 2):
        return HashSetFormat(shape[1])
    header = next(csv.reader([first], delimiter=_sniff_delimiter(first)), [])
    mapping = _header_mapping(header)
    if mapping is not None:
        norm = {_norm_header(h) for h in header}
        kinds = set(mapping.values())
        if {"sha1", "md5", "crc32"} <= norm and ("productcode" in norm or "opsystemcode" in norm):
            return HashSetFormat.NSRL_CSV
        if {"sha256", "filename", "filesize"} <= norm and any("file_" in h.lower() for h in header):
            return HashSetFormat.RDS_CSV
        if "pdq" in kinds and not kinds & {"md5", "sha1", "sha256"}:
            return HashSetFormat.PDQ_CSV
        return HashSetFormat.HASH_CSV
    sample = content[:100]
    hash_lines = sum(1 for line in sample if _GNU_RE.match(line.strip()) or _BSD_RE.match(line.strip()))
    if hash_lines < max(1, len(sample) // 2):
        raise HashSetError(
            f"not a hash set: {len(sample) - hash_lines} of the first {len(sample)} lines are not "
            "hash lines, and there is no CSV header naming a hash column", file=str(path))
    # '<64 hex>,<0..100>' is a PDQ line with its quality; '<64 hex>,name' could be either.
    with_quality = sum(1 for line in sample if _PDQ_QUALITY_RE.match(line.strip()))
    if with_quality >= max(1, len(sample) // 2):
        return HashSetFormat.PDQ_LIST
    if "pdq" in path.name.lower() and all(_PDQ_LINE_RE.match(line.strip()) for line in sample):
        return HashSetFormat.PDQ_LIST
    return HashSetFormat.HASH_LIST


# --- the reader --------------------------------------------------------------------------

class HashSetReader:
    """Iterates the entries of one hash-set file; counts and keeps bad lines.

    Iterate it once (``for entry in reader``); afterwards ``entry_count``, ``error_count``
    and ``errors`` tell what was read and skipped. ``format`` is the detected (or given)
    format. Raises :class:`HashSetError` from the iteration when the file turns out not to
    be a hash set (first 100 content lines all bad, or malformed JSON structure).
    """

    FAIL_AFTER_BAD_LINES = 100

    def __init__(self, path: str | os.PathLike[str], fmt: str | None = None, *,
                 max_errors_kept: int = 200, resolve_idx_names: bool = True) -> None:
        self.path = Path(path)
        self.format = HashSetFormat(fmt) if fmt else HashSetFormat(detect_hashset_format(self.path))
        self.max_errors_kept = max_errors_kept
        self.resolve_idx_names = resolve_idx_names
        self.entry_count = 0
        self.error_count = 0
        self.errors: list[LineError] = []
        self.metadata: dict[str, Scalar] = {}
        #: True for NIST NSRL sets (v2 CSV, RDS v3 CSV/SQLite): known software, ignorable.
        self.known_good = self.format in KNOWN_GOOD_FORMATS
        if self.known_good:
            self.metadata["known_good"] = True
            self.metadata["publisher"] = "NIST NSRL"

    def _error(self, line: int, message: str, text: str = "") -> None:
        self.error_count += 1
        if len(self.errors) < self.max_errors_kept:
            self.errors.append(LineError(line, message, text[:200]))
        if self.entry_count == 0 and self.error_count >= self.FAIL_AFTER_BAD_LINES:
            raise HashSetError(
                f"not a {self.format.value} hash set: the first {self.error_count} records are "
                f"all invalid (first: {self.errors[0]})", file=str(self.path), line=line)

    def __iter__(self) -> Iterator[HashSetEntry]:
        parser = {
            HashSetFormat.VICS_JSON: self._iter_vics,
            HashSetFormat.NSRL_CSV: self._iter_csv,
            HashSetFormat.RDS_CSV: self._iter_csv,
            HashSetFormat.HASH_CSV: self._iter_csv,
            HashSetFormat.PDQ_CSV: self._iter_csv,
            HashSetFormat.HASH_LIST: self._iter_hash_list,
            HashSetFormat.PDQ_LIST: self._iter_pdq_list,
            HashSetFormat.HASHDEEP: self._iter_hashdeep,
            HashSetFormat.TSK_IDX: self._iter_tsk_idx,
            HashSetFormat.RDS_SQLITE: self._iter_rds_sqlite,
        }[self.format]
        for entry in parser():
            self.entry_count += 1
            yield entry

    # -- line formats --

    def _iter_lines(self) -> Iterator[tuple[int, str]]:
        with _open_text(self.path) as stream:
            try:
                yield from _numbered_lines(stream)
            except UnicodeDecodeError as exc:
                raise HashSetError(f"cannot decode text: {exc}", file=str(self.path)) from exc

    def _iter_hash_list(self) -> Iterator[HashSetEntry]:
        for number, line in self._iter_lines():
            if _is_comment(line):
                continue
            try:
                yield _parse_sum_line(line, number)
            except _BadLine as exc:
                self._error(number, str(exc), line)

    def _iter_pdq_list(self) -> Iterator[HashSetEntry]:
        for number, line in self._iter_lines():
            if _is_comment(line):
                continue
            try:
                yield _parse_pdq_line(line, number)
            except _BadLine as exc:
                self._error(number, str(exc), line)

    def _iter_csv(self) -> Iterator[HashSetEntry]:
        lines = ((n, l) for n, l in self._iter_lines())
        mapping: dict[int, str] | None = None
        header: list[str] = []
        delimiter = ","
        for number, line in lines:
            if _is_comment(line) and mapping is None:
                continue
            if mapping is None:
                shape = (_headerless_shape(line)
                         if self.format in (HashSetFormat.NSRL_CSV, HashSetFormat.RDS_CSV) else None)
                if shape is not None:
                    # A headerless RDS/NSRL flat file: this line is data, the header implied.
                    header, delimiter = list(shape[0]), shape[2]
                    mapping = _header_mapping(header)
                    self.metadata["implied_header"] = ",".join(header)
                else:
                    delimiter = _sniff_delimiter(line)
                    header = next(csv.reader([line], delimiter=delimiter), [])
                    mapping = _header_mapping(header)
                    if mapping is None:
                        raise HashSetError("CSV header names no hash column "
                                           f"(found: {', '.join(h.strip() for h in header)[:200]})",
                                           file=str(self.path), line=number)
                    continue
            assert mapping is not None
            if not line.strip():
                continue
            try:
                row = next(csv.reader([line], delimiter=delimiter))
            except csv.Error as exc:
                self._error(number, f"malformed CSV: {exc}", line)
                continue
            if [c.strip().lower() for c in row] == [h.strip().lower() for h in header]:
                continue  # a repeated header (concatenated exports)
            try:
                yield _entry_from_row(row, header, mapping, number)
            except _BadLine as exc:
                self._error(number, str(exc), line)

    def _iter_hashdeep(self) -> Iterator[HashSetEntry]:
        columns: list[str] | None = None
        for number, line in self._iter_lines():
            if line.startswith("%%%%"):
                body = line[4:].strip()
                if body.lower().startswith("size,") or "," in body and not body.upper().startswith("HASHDEEP"):
                    columns = [c.strip().lower() for c in body.split(",")]
                continue
            if line.startswith("##") or not line.strip():
                continue
            if columns is None:
                self._error(number, "data line before the %%%% column header", line)
                continue
            parts = line.split(",", len(columns) - 1)
            if len(parts) != len(columns):
                self._error(number, f"expected {len(columns)} fields, found {len(parts)}", line)
                continue
            try:
                values = dict(zip(columns, parts))
                yield _checked(HashSetEntry(
                    md5=_md5(values.get("md5")), sha1=_sha1(values.get("sha1")),
                    sha256=_sha256(values.get("sha256")),
                    file_name=values.get("filename") or None,
                    size=_int(values.get("size"), "size"), line=number,
                    properties={k: v for k, v in values.items()
                                if k not in ("md5", "sha1", "sha256", "filename", "size") and v}))
            except _BadLine as exc:
                self._error(number, str(exc), line)

    def _iter_tsk_idx(self) -> Iterator[HashSetEntry]:
        database: Path | None = None
        db_stream: IO[bytes] | None = None
        try:
            for number, line in self._iter_lines():
                if not line.strip():
                    continue
                hash_part, _, rest = line.partition("|")
                hash_part, rest = hash_part.strip(), rest.strip()
                if set(hash_part) <= {"0", "1"} and set(hash_part[:-1]) == {"0"}:
                    # Header records: ...000|<database type>, ...001|<database name>.
                    if hash_part.endswith("1"):
                        self.metadata["database"] = rest
                        candidate = self.path.with_name(Path(rest).name)
                        if self.resolve_idx_names and candidate.is_file():
                            database = candidate
                            db_stream = open(database, "rb")
                    else:
                        self.metadata["database_type"] = rest
                    continue
                try:
                    kind = _LENGTH_KIND.get(len(hash_part))
                    if kind is None or not _HEX_RE.match(hash_part):
                        raise _BadLine(f"invalid hash {hash_part[:80]!r}")
                    offset = _int(rest, "offset")
                    name = _name_at(db_stream, offset) if db_stream is not None and offset is not None else None
                    yield HashSetEntry(**{kind: hash_part.lower()}, file_name=name, line=number,
                                       properties={"offset": offset})
                except _BadLine as exc:
                    self._error(number, str(exc), line)
        finally:
            if db_stream is not None:
                db_stream.close()

    # -- NSRL RDS v3 (SQLite) --

    def _iter_rds_sqlite(self) -> Iterator[HashSetEntry]:
        path = str(self.path)
        conn, layout = _open_rds(self.path)
        self.metadata.update(layout.version)
        row_number = 0
        try:
            cursor = conn.execute(layout.query)
            cursor.arraysize = 4096
            group: list[Any] | None = None
            key: tuple[Any, ...] | None = None
            count = 0
            while True:
                try:
                    rows = cursor.fetchmany()
                except sqlite3.Error as exc:
                    raise HashSetError(f"corrupt NSRL RDS database ({exc}) after {row_number:,} FILE rows",
                                       file=path) from None
                if not rows:
                    break
                for row in rows:
                    row_number += 1
                    row_key = tuple(row[:3])
                    if row_key == key:
                        count += 1
                        continue
                    if group is not None:
                        entry = self._rds_entry(group, count, layout)
                        if entry is not None:
                            yield entry
                    group, key, count = [*row[:7], row_number], row_key, 1
            if group is not None:
                entry = self._rds_entry(group, count, layout)
                if entry is not None:
                    yield entry
        finally:
            _close_quietly(conn)

    def _rds_entry(self, row: list[Any], count: int, layout: "_RdsLayout") -> HashSetEntry | None:
        """One entry from the first FILE row of a run of rows with the same hashes."""
        sha256, sha1, md5, crc32, file_name, file_size, package_id, row_number = row
        try:
            properties: dict[str, Scalar] = {}
            if crc32 is not None and str(crc32).strip():
                properties["crc32"] = str(crc32).strip().lower()
            if package_id is not None:
                properties["package_id"] = package_id if isinstance(package_id, int) else str(package_id)
            if count > 1:
                properties["package_count"] = count
            return _checked(HashSetEntry(
                sha256=_sha256(_db_hex(sha256)), sha1=_sha1(_db_hex(sha1)), md5=_md5(_db_hex(md5)),
                file_name=str(file_name) if file_name not in (None, "") else None,
                size=_int(file_size, "file_size"), properties=properties, line=row_number))
        except _BadLine as exc:
            self._error(row_number, f"{layout.relation} row {row_number}: {exc}",
                        "|".join("" if v is None else str(v) for v in row[:7]))
            return None

    # -- VICS JSON --

    def _iter_vics(self) -> Iterator[HashSetEntry]:
        produced = 0
        with _open_text(self.path) as text:
            stream = _JsonStream(text, str(self.path))
            for line, record in _walk_json(stream):
                try:
                    entries = _entries_from_media(record, line)
                except _BadLine as exc:
                    self._error(line, str(exc), json.dumps(record)[:200])
                    continue
                produced += len(entries)
                yield from entries
            if stream.peek() is not None:
                raise stream.error("unexpected content after the end of the JSON document")
        if produced == 0 and self.error_count == 0:
            raise HashSetError("no VICS media records found (no object with MD5, SHA1, SHA256 or "
                               "MediaFiles keys)", file=str(self.path))


def read_hashset(path: str | os.PathLike[str], fmt: str | None = None, **options: Any) -> HashSetReader:
    """A :class:`HashSetReader` for ``path`` (format detected unless ``fmt`` is given)."""
    return HashSetReader(path, fmt, **options)


# --- NSRL RDS v3 SQLite ----------------------------------------------------------------

_SQLITE_MAGIC = b"SQLite format 3\x00"


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as stream:
        return stream.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC


def _close_quietly(conn: sqlite3.Connection) -> None:
    try:
        conn.close()
    except sqlite3.Error:  # pragma: no cover - closing a read-only handle
        pass


def _db_hex(value: Any) -> Any:
    """A hash column value as text: RDS stores upper-case hex text; raw bytes are hexed."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return value


@dataclass(frozen=True)
class _RdsLayout:
    relation: str
    query: str
    ordered: bool
    version: dict[str, Scalar]


_RDS_HASH_COLUMNS = ("sha256", "sha1", "md5")


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _open_rds(path: Path) -> tuple[sqlite3.Connection, _RdsLayout]:
    """A read-only, immutable connection to an NSRL RDS v3 database and how to read it.

    Raises :class:`HashSetError` naming the file when it is not an SQLite database, is
    corrupt, or has no ``FILE`` table/view of the RDS shape.
    """
    name = str(path)
    try:
        conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise HashSetError(f"cannot open as an SQLite database ({exc})", file=name) from None
    try:
        try:
            relations = {str(r[1]).lower(): (str(r[0]), str(r[1])) for r in conn.execute(
                "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view')")}
            file_rel = relations.get("file")
            columns: dict[str, str] = {}
            if file_rel is not None:
                columns = {str(c[1]).lower(): str(c[1]) for c in conn.execute(
                    f"PRAGMA table_info({_quote_ident(file_rel[1])})")}
        except sqlite3.Error as exc:
            raise HashSetError(f"corrupt or unreadable SQLite database ({exc})", file=name) from None
        hash_columns = [c for c in _RDS_HASH_COLUMNS if c in columns]
        if file_rel is None or not hash_columns or "file_name" not in columns or "package_id" not in columns:
            found = ", ".join(sorted(v[1] for v in relations.values())[:20]) or "none"
            raise HashSetError(
                "SQLite database is not an NSRL RDS v3: it has no FILE table or view with "
                f"sha256/sha1/md5, file_name and package_id columns (tables and views: {found})",
                file=name)
        select = [f"{_quote_ident(columns[c])}" if c in columns else "NULL"
                  for c in ("sha256", "sha1", "md5", "crc32", "file_name", "file_size", "package_id")]
        base = f"SELECT {', '.join(select)}, 0 FROM {_quote_ident(file_rel[1])}"
        order = f"{base} ORDER BY {', '.join(_quote_ident(columns[c]) for c in hash_columns)}"
        try:
            # Primary-key order (NIST's FILE key starts with sha256, sha1, md5) streams each
            # distinct hash as one run. Without such an index SQLite would sort the whole
            # table in temporary storage first: then read in stored order instead.
            plan = " ".join(str(r[-1]) for r in conn.execute(f"EXPLAIN QUERY PLAN {order}"))
        except sqlite3.Error as exc:
            raise HashSetError(f"corrupt or unreadable SQLite database ({exc})", file=name) from None
        ordered = "TEMP B-TREE" not in plan.upper()
        version: dict[str, Scalar] = {}
        if "version" in relations:
            try:
                row = conn.execute(f"SELECT * FROM {_quote_ident(relations['version'][1])} LIMIT 1")
                names = [d[0] for d in row.description]
                first = row.fetchone()
                if first is not None:
                    version = {f"rds_{k.lower()}": _scalar(v) for k, v in zip(names, first)}
            except sqlite3.Error:
                version = {}
        version["rds_relation"] = file_rel[1]
        version["distinct"] = ordered
        # The row number is filled in by the reader; ``0`` keeps the tuple shape.
        return conn, _RdsLayout(file_rel[1], order if ordered else base, ordered, version)
    except BaseException:
        _close_quietly(conn)
        raise


def _checked(entry: HashSetEntry) -> HashSetEntry:
    if not (entry.md5 or entry.sha1 or entry.sha256 or entry.pdq):
        raise _BadLine("no hash in record")
    return entry


def _name_at(stream: IO[bytes], offset: int) -> str | None:
    """File name from the md5sum-style line at ``offset`` of a TSK database file."""
    try:
        stream.seek(offset)
        raw = stream.readline(4096)
    except (OSError, ValueError):
        return None
    try:
        return _parse_sum_line(_fix_text(raw.decode("utf-8", "surrogateescape")).rstrip("\r\n"), 0).file_name
    except _BadLine:
        return None


def _unescape_gnu(name: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r", "\\": "\\"}.get(m.group(1), m.group(0)), name)


def _parse_sum_line(line: str, number: int) -> HashSetEntry:
    text = line.strip()
    bsd = _BSD_RE.match(text)
    if bsd:
        algo = bsd.group(1).upper().replace("-", "").replace("SHA2256", "SHA256")
        digest, name = bsd.group(3), bsd.group(2)
        expected = {"MD5": 32, "SHA1": 40, "SHA256": 64}[algo]
        if len(digest) != expected:
            raise _BadLine(f"{algo} digest has {len(digest)} hex digits, expected {expected}")
        kind = _LENGTH_KIND[expected]
        return HashSetEntry(**{kind: digest.lower()}, file_name=name or None, line=number)
    strict = _GNU_STRICT_RE.match(line.lstrip())
    gnu = strict or _GNU_RE.match(line.lstrip())
    if not gnu:
        raise _BadLine("not a hash line (expected '<hex> <name>' or 'MD5 (name) = <hex>')")
    # coreutils: one space, then ' ' (text mode) or '*' (binary mode), then the name as is.
    digest = (strict or gnu).group(1)
    tail: str | None = strict.group(3) if strict else gnu.group(2)
    kind = _LENGTH_KIND.get(len(digest))
    if kind is None:
        raise _BadLine(f"unsupported digest length {len(digest)} (MD5 32, SHA-1 40, SHA-256 64)")
    if tail is not None:
        tail = tail.rstrip()
        if line.lstrip().startswith("\\"):
            tail = _unescape_gnu(tail)
    return HashSetEntry(**{kind: digest.lower()}, file_name=tail or None, line=number)


def _parse_pdq_line(line: str, number: int) -> HashSetEntry:
    text = line.strip()
    match = _PDQ_LINE_RE.match(text)
    if not match:
        raise _BadLine("not a PDQ line (expected '<64 hex>[,quality][,label]')")
    rest = match.group(2)
    quality: int | None = None
    tags: tuple[str, ...] = ()
    if rest:
        parts = re.split(r"\s*[,;\t|]\s*", rest, maxsplit=1)
        if parts[0].strip().isdigit():
            quality = _quality(parts[0])
            label = parts[1] if len(parts) > 1 else ""
        else:
            label = rest
        label = label.strip().strip('"')
        tags = (label,) if label else ()
    return HashSetEntry(pdq=match.group(1).lower(), pdq_quality=quality, tags=tags, line=number)


def _entry_from_row(row: list[str], header: list[str], mapping: dict[int, str], number: int) -> HashSetEntry:
    values: dict[str, str] = {}
    properties: dict[str, Scalar] = {}
    for i, cell in enumerate(row):
        cell = cell.strip()
        target = mapping.get(i)
        if target:
            values[target] = cell
        elif cell and i < len(header):
            properties[header[i].strip()] = cell
        elif cell:
            properties[f"column{i + 1}"] = cell
    md5, sha1, sha256 = _md5(values.get("md5")), _sha1(values.get("sha1")), _sha256(values.get("sha256"))
    generic = values.get("hash", "").strip()
    if generic:
        kind = _LENGTH_KIND.get(len(generic))
        if kind is None or not _HEX_RE.match(generic):
            raise _BadLine(f"invalid hash {generic[:80]!r}")
        if kind == "md5":
            md5 = md5 or generic.lower()
        elif kind == "sha1":
            sha1 = sha1 or generic.lower()
        else:
            sha256 = sha256 or generic.lower()
    return _checked(HashSetEntry(
        md5=md5, sha1=sha1, sha256=sha256, pdq=_pdq(values.get("pdq")),
        pdq_quality=_quality(values.get("pdq_quality")),
        category=_category(values.get("category")), series=_text_or_none(values.get("series")),
        victim_identified=_bool(values.get("victim_identified") or None),
        offender_identified=_bool(values.get("offender_identified") or None),
        is_distributed=_bool(values.get("is_distributed") or None),
        tags=_tags(values.get("tags")), file_name=values.get("file_name") or None,
        size=_int(values.get("size"), "file size"), properties=properties, line=number))


# --- streaming JSON ------------------------------------------------------------------------

_WS = re.compile(r"[ \t\r\n]*")
_TOO_BIG = object()


class _JsonStream:
    """Just enough of an incremental JSON reader to stream huge VICS arrays.

    Containers are walked token by token; every other value (and each record) is decoded
    whole with ``json.JSONDecoder.raw_decode`` on a sliding text buffer, so memory holds
    one record at a time, not the document.
    """

    _READ = 1 << 20
    _REAL_ERROR_DISTANCE = 1 << 22

    def __init__(self, text: TextIO, name: str) -> None:
        self._text = text
        self._name = name
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._line = 1  # line number at buffer index _counted
        self._counted = 0
        self._decoder = json.JSONDecoder()

    def _fill(self, at_least: int = 0) -> bool:
        if self._eof:
            return False
        if self._pos > (1 << 20):
            self.line()
            self._buf = self._buf[self._pos:]
            self._pos = self._counted = 0
        chunk = self._text.read(max(self._READ, at_least))
        if not chunk:
            self._eof = True
            return False
        self._buf += _fix_text(chunk)
        return True

    def line(self) -> int:
        """Line number (1-based) of the current position; counted incrementally."""
        self._line += self._buf.count("\n", self._counted, self._pos)
        self._counted = self._pos
        return self._line

    def error(self, message: str) -> HashSetError:
        return HashSetError(f"malformed JSON: {message}", file=self._name, line=self.line())

    def peek(self) -> str | None:
        """Next non-whitespace character (not consumed), None at the end."""
        while True:
            self._pos = _WS.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return None

    def take(self, expected: str) -> None:
        char = self.peek()
        if char != expected:
            raise self.error(f"expected {expected!r}, found {char!r}")
        self._pos += 1

    def value(self) -> Any:
        """Decode the next complete value."""
        if self.peek() is None:
            raise self.error("unexpected end of file")
        read_size = self._READ
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if len(self._buf) - exc.pos > self._REAL_ERROR_DISTANCE or not self._fill(read_size):
                    raise self.error(exc.msg) from None
                read_size *= 2
                continue
            if end >= len(self._buf) and not self._eof:
                # A number at the buffer edge may continue in the next chunk.
                if self._fill(read_size):
                    continue
            self._pos = end
            return value

    def value_if_small(self, limit: int) -> Any:
        """Decode the next value if it completes within ``limit`` characters, else
        return ``_TOO_BIG`` without consuming anything (the caller walks it instead)."""
        read_size = self._READ
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError:
                if len(self._buf) - self._pos > limit or not self._fill(read_size):
                    return _TOO_BIG
                read_size = min(read_size * 2, limit)
                continue
            self._pos = end
            return value


_WHOLE_LIMIT = 4 << 20  # records up to this size are decoded in one call
_MAX_DEPTH = 8

_STREAM_KEYS = {"value", "media", "medias", "mediaitems", "items", "records", "cases", "mediacollection"}

# Key spellings of VICS producers (Project VIC 1.x/2.0, Griffeye, X-Ways, CAID exports),
# compared after _norm_key (lower case, no '_', '-' or spaces).
_MD5_KEYS = ("md5", "md5hash", "hashmd5", "md5value")
_SHA1_KEYS = ("sha1", "sha1hash", "hashsha1", "sha1value")
_SHA256_KEYS = ("sha256", "sha256hash", "hashsha256", "sha2256", "sha256value")
_PDQ_KEYS = ("pdq", "pdqhash")
_PHOTODNA_KEYS = ("photodna", "photodnahash", "pdna")
_CATEGORY_KEYS = ("category", "categoryid", "categorycode")
_SIZE_KEYS = ("mediasize", "filesize", "size")
_FILE_NAME_KEYS = ("filename", "name", "originalfilename", "mediafilename")
_FILE_PATH_KEYS = ("filepath", "path", "fullpath")
_FILES_KEYS = ("mediafiles", "mediafile")

_MEDIA_KEYS = {*_MD5_KEYS, *_SHA1_KEYS, *_SHA256_KEYS, *_PDQ_KEYS, *_FILES_KEYS, *_PHOTODNA_KEYS,
               "alternativehashes"}

# The VICS keys mapped to entry fields; everything else goes to ``properties``.
_VICS_KNOWN = {*_MD5_KEYS, *_SHA1_KEYS, *_SHA256_KEYS, *_PDQ_KEYS, *_PHOTODNA_KEYS, *_CATEGORY_KEYS,
               *_SIZE_KEYS, *_FILES_KEYS, "pdqquality", "series", "seriesname", "victimidentified",
               "isvictimidentified", "offenderidentified", "isoffenderidentified", "isdistributed",
               "distributed", "tags", "filename", "alternativehashes"}


def _is_media(record: Mapping[str, Any]) -> bool:
    return any(_norm_key(key) in _MEDIA_KEYS for key in record)


def _walk_json(stream: _JsonStream) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, media record) for every media record in the document."""
    first = stream.peek()
    if first == "[":
        yield from _walk_array(stream, 0)
    elif first == "{":
        yield from _walk_object(stream, 0)
    else:
        raise stream.error("the document is neither an object nor an array")


def _walk_array(stream: _JsonStream, depth: int) -> Iterator[tuple[int, dict[str, Any]]]:
    stream.take("[")
    if stream.peek() == "]":
        stream.take("]")
        return
    while True:
        if stream.peek() == "{":
            line = stream.line()
            whole = stream.value_if_small(_WHOLE_LIMIT)
            if whole is _TOO_BIG:
                yield from _walk_object(stream, depth + 1)
            else:
                yield from _walk_decoded(whole, line, depth + 1)
        elif stream.peek() == "[" and depth < _MAX_DEPTH:
            yield from _walk_array(stream, depth + 1)
        else:
            stream.value()
        char = stream.peek()
        if char == ",":
            stream.take(",")
        elif char == "]":
            stream.take("]")
            return
        else:
            raise stream.error(f"expected ',' or ']' in array, found {char!r}")


def _walk_nested(value: Any, line: int, depth: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """Media records inside a container that is not itself a media record (a case, a
    ``Cases`` list, a vendor's wrapper object...)."""
    if depth >= _MAX_DEPTH:
        return
    if isinstance(value, dict):
        yield from _walk_decoded(value, line, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_nested(item, line, depth)


def _walk_decoded(obj: dict[str, Any], line: int, depth: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """Like :func:`_walk_object` for an object already decoded in memory."""
    record: dict[str, Any] = {}
    for key, value in obj.items():
        if _norm_key(key) in _STREAM_KEYS and depth < _MAX_DEPTH and isinstance(value, (list, dict)):
            yield from _walk_nested(value, line, depth)
        else:
            record[key] = value
    if _is_media(record):
        yield line, record
    else:
        for value in record.values():
            if isinstance(value, (list, dict)):
                yield from _walk_nested(value, line, depth)


def _walk_object(stream: _JsonStream, depth: int) -> Iterator[tuple[int, dict[str, Any]]]:
    line = stream.line()
    stream.take("{")
    record: dict[str, Any] = {}
    containers: list[tuple[int, Any]] = []
    if stream.peek() == "}":
        stream.take("}")
        return
    while True:
        key = stream.value()
        if not isinstance(key, str):
            raise stream.error("object key is not a string")
        stream.take(":")
        norm = _norm_key(key)
        char = stream.peek()
        if norm in _STREAM_KEYS and depth < _MAX_DEPTH and char == "[":
            yield from _walk_array(stream, depth)
        elif norm not in _VICS_KNOWN and depth < _MAX_DEPTH and char in ("[", "{"):
            # An unknown container: small ones may be a field of this record (kept, and
            # searched for media records below if this is no media record); one too big
            # to be a field is a wrapper around media records, walked without decoding it.
            value_line = stream.line()
            value = stream.value_if_small(_WHOLE_LIMIT)
            if value is _TOO_BIG:
                if char == "[":
                    yield from _walk_array(stream, depth + 1)
                else:
                    yield from _walk_object(stream, depth + 1)
            else:
                record[key] = value
                containers.append((value_line, value))
        else:
            record[key] = stream.value()
        char = stream.peek()
        if char == ",":
            stream.take(",")
        elif char == "}":
            stream.take("}")
            break
        else:
            raise stream.error(f"expected ',' or '}}' in object, found {char!r}")
    if _is_media(record):
        yield line, record
    else:
        for value_line, value in containers:
            yield from _walk_nested(value, value_line, depth)


def _first(lower: Mapping[str, Any], names: Iterable[str]) -> Any:
    """The first value under one of ``names`` that is not empty."""
    for name in names:
        value = lower.get(name)
        if value is not None and value != "":
            return value
    return None


def _hash_kind(name: str) -> str:
    """A hash algorithm's name reduced to our key: 'SHA-256' -> 'sha256', 'PDQHash' -> 'pdq'."""
    key = re.sub(r"[^0-9a-z]", "", name.lower())
    if key in ("sha256", "sha2256", "sha256hash"):
        return "sha256"
    if key in ("pdq", "pdqhash"):
        return "pdq"
    if key in ("md5", "md5hash"):
        return "md5"
    if key in ("sha1", "sha1hash"):
        return "sha1"
    if key in _PHOTODNA_KEYS:
        return "photodna"
    return key


def _alternative_hashes(value: Any) -> tuple[dict[str, str], dict[str, Scalar]]:
    """({'sha256': .., 'pdq': ..}, extra properties) from an AlternativeHashes list (or a
    ``{"SHA256": "..", "PDQ": ".."}`` mapping, as some tools write it)."""
    found: dict[str, str] = {}
    extra: dict[str, Scalar] = {}
    if isinstance(value, dict):
        value = [{"HashName": k, "HashValue": v} for k, v in value.items()]
    if not isinstance(value, list):
        return found, extra
    for item in value:
        if not isinstance(item, dict):
            continue
        lower = _ci(item)
        name = str(_first(lower, ("hashname", "name", "type", "hashtype", "algorithm", "hashalgorithm"))
                   or "").strip()
        digest = _first(lower, ("hashvalue", "value", "hash", "digest"))
        kind = _hash_kind(name)
        if digest is None or not kind:
            continue
        if kind in ("sha256", "pdq", "md5", "sha1"):
            found[kind] = str(digest)
            if kind == "pdq" and lower.get("quality") is not None:
                found["pdqquality"] = str(lower.get("quality"))
        elif kind == "photodna":
            extra["hash:PhotoDNA"] = _scalar(digest)
        else:
            extra[f"hash:{name}"] = _scalar(digest)
    return found, extra


def _file_name_and_path(fl: Mapping[str, Any]) -> tuple[str | None, str | None]:
    name = _text_or_none(_first(fl, _FILE_NAME_KEYS))
    path = _text_or_none(_first(fl, _FILE_PATH_KEYS))
    if name is None and path is not None:
        name = re.split(r"[\\/]", path.rstrip("\\/"))[-1] or None
    return name, path


def _entries_from_media(record: dict[str, Any], line: int) -> list[HashSetEntry]:
    lower = _ci(record)
    alternative, extra = _alternative_hashes(lower.get("alternativehashes"))
    properties: dict[str, Scalar] = {}
    for key, value in record.items():
        if _norm_key(key) not in _VICS_KNOWN:
            properties[key] = _scalar(value)
    properties.update(extra)
    photodna = _first(lower, _PHOTODNA_KEYS)
    if photodna is not None:
        properties.setdefault("hash:PhotoDNA", _scalar(photodna))  # kept: we cannot compute it
    files_value = _first(lower, _FILES_KEYS) or []
    if isinstance(files_value, dict):
        files_value = [files_value]
    files = [f for f in files_value if isinstance(f, dict)] if isinstance(files_value, list) else []
    common = dict(
        category=_category(_first(lower, _CATEGORY_KEYS)),
        series=_text_or_none(_first(lower, ("series", "seriesname"))),
        victim_identified=_bool(_first(lower, ("victimidentified", "isvictimidentified"))),
        offender_identified=_bool(_first(lower, ("offenderidentified", "isoffenderidentified"))),
        is_distributed=_bool(_first(lower, ("isdistributed", "distributed"))), tags=_tags(lower.get("tags")),
        line=line)
    pdq_value = _first(lower, _PDQ_KEYS) or alternative.get("pdq")
    quality_value = lower.get("pdqquality", alternative.get("pdqquality"))
    size = _int(_first(lower, _SIZE_KEYS), "MediaSize")
    md5 = _md5(_first(lower, _MD5_KEYS) or alternative.get("md5"))
    sha1 = _sha1(_first(lower, _SHA1_KEYS) or alternative.get("sha1"))
    sha256 = _sha256(_first(lower, _SHA256_KEYS) or alternative.get("sha256"))
    name = _text_or_none(lower.get("filename"))
    path: str | None = None
    first_name: str | None = None
    first_path: str | None = None
    others: list[tuple[tuple[str | None, str | None, str | None], str | None, str | None, int | None]] = []
    for f in files:
        fl = _ci(f)
        f_alt, _ = _alternative_hashes(fl.get("alternativehashes"))
        f_name, f_path = _file_name_and_path(fl)
        first_name = first_name or f_name
        first_path = first_path or f_path
        hashes = (_md5(_first(fl, _MD5_KEYS) or f_alt.get("md5")),
                  _sha1(_first(fl, _SHA1_KEYS) or f_alt.get("sha1")),
                  _sha256(_first(fl, _SHA256_KEYS) or f_alt.get("sha256")))
        if not any(hashes):
            continue
        if all(not a or not b or a == b for a, b in zip(hashes, (md5, sha1, sha256))):
            # The same content as the media record: fill in what the record lacks.
            md5, sha1, sha256 = md5 or hashes[0], sha1 or hashes[1], sha256 or hashes[2]
            if name is None:
                name, path = f_name, f_path
        else:
            # Another content under the same media record (a variant file): its own entry.
            others.append((hashes, f_name, f_path, _int(_first(fl, _SIZE_KEYS), "FileSize")))
    if path is None and name is None:
        path = first_path

    def props(file_path: str | None) -> dict[str, Scalar]:
        if file_path is None or "FilePath" in properties:
            return dict(properties)
        return {**properties, "FilePath": file_path}

    entries: list[HashSetEntry] = []
    seen: set[tuple[str | None, str | None, str | None]] = set()
    if md5 or sha1 or sha256 or pdq_value:
        seen.add((md5, sha1, sha256))
        entries.append(HashSetEntry(md5=md5, sha1=sha1, sha256=sha256, pdq=_pdq(pdq_value),
                                    pdq_quality=_quality(quality_value), file_name=name or first_name,
                                    size=size, properties=props(path), **common))
    for hashes, f_name, f_path, f_size in others:
        if hashes in seen:
            continue
        seen.add(hashes)
        entries.append(HashSetEntry(md5=hashes[0], sha1=hashes[1], sha256=hashes[2], file_name=f_name,
                                    size=f_size, properties=props(f_path), **common))
    if not entries:
        if photodna is not None or "hash:PhotoDNA" in properties:
            raise _BadLine("media record has only a PhotoDNA hash (kept nowhere: PhotoDNA cannot be "
                           "matched here) and no MD5, SHA-1, SHA-256 or PDQ")
        raise _BadLine("media record without any MD5, SHA-1, SHA-256 or PDQ hash")
    return entries


# --- VICS writer ---------------------------------------------------------------------------

_VICS_CONTEXT = {
    "2.0": ("@odata.context", "http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml/$metadata#Cases"),
    "1.3": ("odata.metadata", "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml/$metadata#Media"),
}


def _vics_media(entry: HashSetEntry, media_id: int) -> dict[str, Any]:
    media: dict[str, Any] = {}
    props = dict(entry.properties)
    media["MediaID"] = props.pop("MediaID", media_id)
    if entry.category is not None:
        numeric = entry.category.isdigit() and str(int(entry.category)) == entry.category
        media["Category"] = int(entry.category) if numeric else entry.category
    if entry.md5:
        media["MD5"] = entry.md5.upper()
    if entry.sha1:
        media["SHA1"] = entry.sha1.upper()
    if entry.size is not None:
        media["MediaSize"] = entry.size
    for key, value in (("VictimIdentified", entry.victim_identified),
                       ("OffenderIdentified", entry.offender_identified),
                       ("IsDistributed", entry.is_distributed)):
        if value is not None:
            media[key] = value
    if entry.series is not None:
        media["Series"] = entry.series
    if entry.tags:
        media["Tags"] = list(entry.tags)
    alternative: list[dict[str, Any]] = []
    if entry.sha256:
        alternative.append({"HashName": "SHA256", "HashValue": entry.sha256.upper()})
    if entry.pdq:
        pdq: dict[str, Any] = {"HashName": "PDQ", "HashValue": entry.pdq}
        if entry.pdq_quality is not None:
            pdq["Quality"] = entry.pdq_quality
        alternative.append(pdq)
    extra_hashes = {k: v for k, v in props.items() if k.startswith("hash:")}
    for key, value in extra_hashes.items():
        alternative.append({"HashName": key[5:], "HashValue": value})
        props.pop(key)
    if alternative:
        media["AlternativeHashes"] = alternative
    if entry.file_name is not None:
        media_file: dict[str, Any] = {"FileName": entry.file_name}
        if entry.md5:
            media_file["MD5"] = entry.md5.upper()
        if entry.sha1:
            media_file["SHA1"] = entry.sha1.upper()
        media["MediaFiles"] = [media_file]
    for key, value in props.items():
        # Never let a free-form property shadow a field the reader maps.
        if _norm_key(key) not in _VICS_KNOWN and key not in media:
            media[key] = value
    return media


def write_vics_json(entries: Iterable[HashSetEntry], fp: IO[str], version: str = "2.0", *,
                    case_number: str | None = None, source_application: str = "Case Workstation") -> int:
    """Write ``entries`` as a VICS JSON document to the text stream ``fp``; returns the count.

    ``version`` is ``"2.0"`` (media inside one case record) or ``"1.3"`` (``"1.x"``/``"1"``
    accepted: a flat media list). Streams: entries are written as they come. SHA-256 and
    PDQ (with quality) go to ``AlternativeHashes``; the file name to ``MediaFiles``;
    ``properties`` become extra keys (a ``MediaID`` property is reused, otherwise media are
    numbered from 1). :func:`read_hashset` reads the result back to equal entries.
    """
    key = "2.0" if version.startswith("2") else "1.3" if version.startswith("1") else None
    if key is None:
        raise ValueError(f"unsupported VICS version {version!r} (use '2.0' or '1.3')")
    context_key, context_value = _VICS_CONTEXT[key]
    fp.write("{\n  " + json.dumps(context_key) + ": " + json.dumps(context_value) + ",\n")
    indent = "      " if key == "2.0" else "    "
    if key == "2.0":
        case = {"CaseNumber": case_number or "", "SourceApplicationName": source_application}
        fp.write('  "value": [\n    {\n')
        for k, v in case.items():
            fp.write(f"      {json.dumps(k)}: {json.dumps(v)},\n")
        fp.write('      "Media": [')
    else:
        fp.write('  "value": [')
    count = 0
    for count, entry in enumerate(entries, start=1):
        fp.write(("\n" if count == 1 else ",\n") + indent + "  "
                 + json.dumps(_vics_media(entry, count), ensure_ascii=False))
    if key == "2.0":
        fp.write(("\n" + indent if count else "") + "]\n    }\n  ]\n}\n")
    else:
        fp.write(("\n  " if count else "") + "]\n}\n")
    return count
