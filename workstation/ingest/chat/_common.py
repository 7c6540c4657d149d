"""Helpers shared by the chat and mail parsers (JSON reading, parties, times, text).

Nothing here touches the database; everything returns plain values or raises
:class:`~workstation.ingest.records.ParseError` naming the file and position.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

from workstation.ingest.records import Notice, ParseError, Party, Record, RowError
from workstation.ingest.textio import check_size, detect_encoding, open_text

#: Largest JSON export we load in one piece. json.load needs the whole document in
#: memory (several times its size as Python objects), so beyond this we refuse clearly
#: rather than let the machine swap.
MAX_JSON_BYTES = 2 * 1024**3
#: Default size cap for JSON exports read with :class:`JsonReader`. They are streamed, so
#: this is not a memory limit; it only stops a runaway input (a disk image picked by
#: mistake).
MAX_STREAMED_JSON_BYTES = 64 * 1024**3
#: Largest single JSON value (one message, one top-level field) decoded in one piece.
MAX_VALUE_CHARS = 256 * 1024 * 1024
#: Characters :class:`JsonReader` reads at a time unless told otherwise (looked up at each
#: read, so tests can shrink it to put chunk boundaries everywhere).
_CHUNK = 256 * 1024

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# Marks that chat exports put around names and placeholders (LRM/RLM, embeddings,
# isolates, BOM) - invisible, never part of an identifier.
BIDI_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_BIDI_RE = re.compile(f"[{BIDI_MARKS}]")


def strip_marks(text: str) -> str:
    """``text`` without bidirectional marks and surrounding whitespace."""
    return _BIDI_RE.sub("", text).strip()


def head_text(head: bytes) -> str:
    """The sniffing head decoded leniently (BOM and UTF-16 aware); "" for binary data."""
    try:
        enc = detect_encoding(head)
    except ParseError:
        return ""
    text = head.decode(enc, errors="ignore")
    return text.lstrip("\ufeff")


def json_keys_in_head(head: bytes) -> tuple[str, set[str]]:
    """(first non-blank character, set of object keys seen) for a JSON head, else ("", {})."""
    text = head_text(head).lstrip()
    if not text or text[0] not in "{[":
        return "", set()
    keys = set(re.findall(r'"([A-Za-z_][A-Za-z0-9_]{0,40})"\s*:', text))
    return text[0], keys


def load_json(path: Path, *, max_bytes: int = MAX_JSON_BYTES, encoding: str | None = None) -> Any:
    """Load a whole JSON document, refusing files over ``max_bytes``.

    Raises ParseError naming the file and the line/column of a syntax error (a truncated
    export ends with "Expecting ... line N column M"), or the reason it cannot be read.
    """
    check_size(path, max_bytes)
    with open_text(path, encoding=encoding) as fh:
        try:
            text = fh.read()
            data = json.loads(text)
            return without_lone_surrogates(data) if _SURROGATE_ESCAPE.search(text) else data
        except json.JSONDecodeError as exc:
            raise ParseError(f"invalid JSON: {exc.msg} (character {exc.pos})", file=path,
                             ref=f"line {exc.lineno} column {exc.colno}") from None
        except UnicodeDecodeError as exc:
            raise ParseError(f"undecodable bytes ({exc.reason}) with encoding {fh.encoding}",
                             file=path) from None


_WS_RE = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()

#: One place a :class:`JsonReader` can resume reading: (``fh.tell()`` cookie, character
#: offset of that point in the text, line breaks before it).
Mark = tuple[int, int, int]


class JsonReader:
    """Walks a JSON text stream with bounded memory, for exports too big to load whole.

    The caller steps through objects (:meth:`keys`) and arrays (:meth:`items`) and decodes
    just the values it wants, one at a time, with the standard decoder (:meth:`value`); so
    a file of millions of messages costs one message of memory, plus a read buffer of
    ``chunk`` characters. Every error is a ParseError naming the file and the line and
    column (plus the character offset), including a file that ends early; undecodable
    bytes are a ParseError too. Lone UTF-16 surrogate escapes are replaced by U+FFFD.

    Positions are character offsets in the decoded text: :attr:`start` is where the last
    decoded value began. With a ``marks`` list the reader appends a :data:`Mark` before
    each read (``fh`` must be seekable), so a second reader created with ``resume=mark``
    after ``fh.seek(mark[0])`` can go back to any value with :meth:`skip_to`. Not thread
    safe; it reads ``fh`` from its current position.
    """

    def __init__(self, fh: IO[str], path: Path, *, chunk: int | None = None,
                 marks: list[Mark] | None = None, resume: Mark | None = None) -> None:
        self.fh = fh
        self.path = path
        self.chunk = chunk
        self.marks = marks
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.lines_before = resume[2] if resume else 0  # line breaks in dropped text
        self.chars_before = resume[1] if resume else 0
        self.start = self.chars_before

    def _fill(self, want: int = 0) -> bool:
        if self.eof:
            return False
        if self.pos:
            self.lines_before += self.buf.count("\n", 0, self.pos)
            self.chars_before += self.pos
            self.buf = self.buf[self.pos:]
            self.pos = 0
        if self.marks is not None:
            try:
                cookie = self.fh.tell()
            except (OSError, ValueError):
                pass  # no mark here: the previous one still reaches this text
            else:
                self.marks.append((cookie, self.chars_before + len(self.buf),
                                   self.lines_before + self.buf.count("\n")))
        try:
            chunk = self.fh.read(max(want, self.chunk or _CHUNK))
        except UnicodeDecodeError as exc:
            raise ParseError(f"undecodable bytes ({exc.reason}) with encoding "
                             f"{getattr(self.fh, 'encoding', '?')}", file=self.path,
                             ref=self.where(len(self.buf))) from None
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def where(self, pos: int) -> str:
        """"line N column M" of buffer position ``pos``."""
        line = self.lines_before + self.buf.count("\n", 0, pos) + 1
        start = self.buf.rfind("\n", 0, pos) + 1
        return f"line {line} column {pos - start + 1}"

    def error(self, message: str, pos: int | None = None) -> ParseError:
        """A ParseError for invalid JSON at buffer position ``pos`` (default: here)."""
        at = self.pos if pos is None else pos
        return ParseError(f"invalid JSON: {message} (character {self.chars_before + at})",
                          file=self.path, ref=self.where(at))

    def peek(self) -> str:
        """The next non-blank character ("" at the end), not consumed."""
        while True:
            self.pos = _WS_RE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def value(self) -> Any:
        """Decode the next complete value (its offset is then in :attr:`start`)."""
        if self.peek() == "":
            raise self.error("Expecting value")
        self.start = self.chars_before + self.pos
        while True:
            try:
                val, end = _DECODER.raw_decode(self.buf, self.pos)
                # A number ending exactly at the buffer's end may go on in the next chunk.
                if end < len(self.buf) or self.eof:
                    start, self.pos = self.pos, end
                    if _SURROGATE_ESCAPE.search(self.buf, start, end):
                        val = without_lone_surrogates(val)
                    return val
            except json.JSONDecodeError as exc:
                # Past the buffer's tail the value is merely incomplete; inside it (or at
                # the end of the file) the text is wrong.
                if self.eof or (exc.pos < len(self.buf) - 16
                                and not exc.msg.startswith("Unterminated string")):
                    raise self.error(exc.msg, exc.pos) from None
            if len(self.buf) - self.pos > MAX_VALUE_CHARS:
                raise self.error(f"a single value runs over {MAX_VALUE_CHARS:,} characters")
            self._fill(len(self.buf) - self.pos)

    def skip_to(self, offset: int) -> None:
        """Move forward, without decoding, to character ``offset`` (a value's :attr:`start`
        learnt by an earlier reader of the same file)."""
        while offset - self.chars_before > len(self.buf):
            self.pos = len(self.buf)
            if not self._fill():
                raise self.error("the file ends early (did it change while being read?)")
        if offset - self.chars_before < self.pos:
            raise ValueError("JsonReader.skip_to cannot go backwards")
        self.pos = offset - self.chars_before

    def _expect(self, ch: str) -> None:
        got = self.peek()
        if got != ch:
            raise self.error(f"Expecting {ch!r}" + (f", found {got!r}" if got else
                                                    " (the file ends early)"))
        self.pos += 1

    def items(self) -> Iterator[None]:
        """Step through an array: the caller reads (or skips) one element per step."""
        self._expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield None
            ch = self.peek()
            self.pos += 1
            if ch == "]":
                return
            if ch != ",":
                self.pos -= 1
                raise self.error("Expecting ',' delimiter or ']'")

    def keys(self) -> Iterator[str]:
        """Step through an object: yields each key; the caller reads its value."""
        self._expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self.error("Expecting property name enclosed in double quotes")
            key = self.value()
            self._expect(":")
            yield key
            ch = self.peek()
            self.pos += 1
            if ch == "}":
                return
            if ch != ",":
                self.pos -= 1
                raise self.error("Expecting ',' delimiter or '}'")

    def end(self) -> None:
        """Raise unless only blanks are left (text after the document is an error)."""
        if self.peek() != "":
            raise self.error("Extra data")


@contextmanager
def open_json(path: Path, *, encoding: str | None = None, chunk: int | None = None,
              marks: list[Mark] | None = None) -> Iterator[JsonReader]:
    """A :class:`JsonReader` over ``path`` opened with the detected (or given) encoding;
    the file is closed on leaving the block."""
    with open_text(path, encoding=encoding) as fh:
        yield JsonReader(fh, path, chunk=chunk, marks=marks)


#: What :func:`walk_export` yields when the big array begins.
ARRAY_START = object()


def walk_export(reader: JsonReader, array_key: str, not_object: str,
                ) -> Iterator[tuple[str | None, Any]]:
    """Walk an export whose top level is an object holding one long array.

    In file order, yields ``(key, value)`` for every top-level field (decoded whole: they
    are small), except that for ``array_key`` holding an array it yields
    ``(array_key, ARRAY_START)`` and then ``(None, element)`` for each element, decoded
    one at a time (the element's offset is in ``reader.start``). Raises ParseError with
    ``not_object`` when the top level is not an object, and for any syntax error,
    including text after the document.
    """
    first = reader.peek()
    if first == "":
        raise reader.error("Expecting value")
    if first != "{":
        raise ParseError(not_object, file=reader.path, ref=reader.where(reader.pos))
    for key in reader.keys():
        if key == array_key and reader.peek() == "[":
            yield key, ARRAY_START
            for _ in reader.items():
                yield None, reader.value()
        else:
            yield key, reader.value()
    reader.end()


# A JSON "\\ud800" escape: json.loads keeps an unpaired one as a lone surrogate, which no
# database can store (paired ones, as in escaped emoji, become one character).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(value: Any) -> Any:
    """A loaded JSON value with every lone surrogate replaced by U+FFFD (walked only when
    the text has a surrogate escape at all)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    return value


# What an oddly shaped record in an otherwise readable export can raise while we map it.
ROW_EXCEPTIONS: tuple[type[Exception], ...] = (
    TypeError, ValueError, AttributeError, KeyError, IndexError, LookupError, OverflowError)


def guarded(ref: str, build: Callable[[], Record]) -> Record:
    """``build()``, or a RowError naming ``ref`` when the record has an unexpected shape."""
    try:
        return build()
    except ROW_EXCEPTIONS as exc:
        return RowError(ref=ref, field=None,
                        message=f"unreadable record ({type(exc).__name__}: {exc})")


def as_list(value: Any) -> list[Any]:
    """``value`` when it is a list, else an empty list (exports with a field of odd type)."""
    return value if isinstance(value, list) else []


def safe_relpath(value: str | None) -> str | None:
    """An attachment location as the export names it, or None when it is unsafe to resolve.

    URLs pass through. Local paths must be relative and stay inside the export folder: an
    absolute path or a ".." component in a suspect's export is not followed.
    """
    if not value:
        return None
    if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.I):
        return value
    norm = value.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or \
            any(part == ".." for part in norm.split("/")) or "\x00" in norm:
        return None
    return value


_HASH_BLOCK = 1 << 20
_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
_DRIVE = re.compile(r"^[A-Za-z]:")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
# Never follow a link at the last step, never block on a FIFO (checked as a regular file).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0) | \
    getattr(os, "O_NONBLOCK", 0)


@dataclass(frozen=True)
class FileHashes:
    """Size in bytes and lower-case hex SHA-256 (and MD5 when asked for) of a file."""

    size: int
    sha256: str
    md5: str | None = None


def hash_stream(fh: IO[bytes], *, md5: bool = False) -> FileHashes:
    """Hashes of everything left in ``fh``, read in 1 MiB blocks (memory stays flat)."""
    sha = hashlib.sha256()
    md = hashlib.md5(usedforsecurity=False) if md5 else None
    buffer = bytearray(_HASH_BLOCK)
    view = memoryview(buffer)
    size = 0
    readinto = getattr(fh, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buffer)
            block: Any = view[:n]
        else:
            block = fh.read(_HASH_BLOCK)
            n = len(block)
        if not n:
            break
        sha.update(block)
        if md is not None:
            md.update(block)
        size += n
    return FileHashes(size, sha.hexdigest(), md.hexdigest() if md is not None else None)


def hash_file(path: Path, *, md5: bool = False) -> FileHashes | None:
    """:func:`hash_stream` of the file at ``path``, or None when it cannot be read."""
    try:
        with Path(path).open("rb") as fh:
            return hash_stream(fh, md5=md5)
    except OSError:
        return None


class ExportFiles:
    """The files an export names beside itself (photos, voice notes, ``Export_Files/...``),
    hashed strictly inside the export's folder.

    A path is followed only when, read as written or URL-decoded (``%20``), it is relative,
    has no ``..`` part and, with every symbolic link resolved, still lies inside ``root``;
    only regular files are read, in blocks. A path that leaves the folder (absolute,
    ``..``, ``file:`` URL, a link pointing out) is never read: it is kept for a
    :class:`Notice` (:meth:`notices`). A web URL or a file that is not there gives None,
    silently. Digests are kept per file, so a sticker sent a thousand times is read once.
    Not thread-safe: one instance per parse.
    """

    def __init__(self, root: Path, *, md5: bool = True) -> None:
        self.root = Path(root)
        self.md5 = md5
        self._real_root = os.path.realpath(self.root)
        self._by_path: dict[str, FileHashes | None] = {}
        self._outside: list[str] = []

    def hashes(self, written: str | None) -> FileHashes | None:
        """Size and digests of the file the export names ``written``, or None."""
        if not written or "\x00" in written:
            return None
        candidates = [written]
        if _PERCENT.search(written):
            decoded = unquote(written)
            if decoded != written and "\x00" not in decoded:
                candidates.append(decoded)
        outside = False
        for cand in candidates:
            leaves, real = self._resolve(cand)
            outside = outside or leaves
            if real is not None:
                got = self._hash(real)
                if got is not None:
                    return got
        if outside:
            self._outside.append(written)
        return None

    def notices(self, ref: str) -> list[Notice]:
        """Notices for the paths refused since the last call, naming ``ref``."""
        out = [Notice(ref, f"attachment path {p!r} points outside the export folder: "
                           "recorded by name only, the file was not read")
               for p in self._outside]
        self._outside.clear()
        return out

    def _resolve(self, written: str) -> tuple[bool, str | None]:
        """(whether ``written`` leaves the folder, the real path to read or None)."""
        if _DRIVE.match(written) or written.lower().startswith("file:"):
            return True, None
        if _URL_SCHEME.match(written):
            return False, None  # a web link: nothing on disk to read
        norm = written.replace("\\", "/")
        parts = [p for p in norm.split("/") if p not in ("", ".")]
        if norm.startswith("/") or ".." in parts:
            return True, None
        if not parts:
            return False, None
        target = os.path.join(self.root, *parts)
        real = os.path.realpath(target)
        if real != self._real_root and not real.startswith(self._real_root.rstrip(os.sep) + os.sep):
            return True, None  # relative without "..": a symbolic link leads out
        return False, real

    def _hash(self, real: str) -> FileHashes | None:
        if real in self._by_path:
            return self._by_path[real]
        got: FileHashes | None = None
        try:
            fd = os.open(real, _OPEN_FLAGS)
        except OSError:
            return None  # not there (not cached: one name may be tried in two spellings)
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                with os.fdopen(fd, "rb") as fh:
                    fd = -1
                    got = hash_stream(fh, md5=self.md5)
        except OSError:
            got = None
        finally:
            if fd >= 0:
                os.close(fd)
        self._by_path[real] = got
        return got


def utc_from_unix(value: Any) -> datetime | None:
    """Aware UTC datetime from Unix seconds given as int, float or numeric string."""
    if value is None or value == "":
        return None
    try:
        text = str(value).strip()
        if "." in text:
            whole, frac = text.split(".", 1)
            micros = int((frac + "000000")[:6]) if frac else 0
            return _EPOCH + timedelta(seconds=int(whole), microseconds=micros)
        return _EPOCH + timedelta(seconds=int(text))
    except (ValueError, OverflowError):
        return None


def utc_from_ms(value: Any) -> datetime | None:
    """Aware UTC datetime from Unix milliseconds (int or numeric string)."""
    try:
        return _EPOCH + timedelta(milliseconds=int(value))
    except (TypeError, ValueError, OverflowError):
        return None


def parse_iso(value: Any) -> datetime | None:
    """A datetime from an ISO 8601 string (aware when it carries an offset or Z)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def guess_mime(name: str | None) -> str | None:
    """MIME type from a file name's extension, or None."""
    if not name:
        return None
    mime, _ = mimetypes.guess_type(name, strict=False)
    return mime


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 bytes stored as Latin-1 code points (Facebook's exports), when it round-trips.

    A correctly decoded string is returned unchanged: either it does not fit in Latin-1 or
    its Latin-1 bytes are not valid UTF-8.
    """
    if not text or text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def fix_mojibake_deep(value: Any) -> Any:
    """:func:`fix_mojibake` applied to every string (keys too) inside lists and dicts."""
    if isinstance(value, str):
        return fix_mojibake(value)
    if isinstance(value, list):
        return [fix_mojibake_deep(v) for v in value]
    if isinstance(value, dict):
        return {fix_mojibake_deep(k): fix_mojibake_deep(v) for k, v in value.items()}
    return value


def account(value: str, label: str | None, platform: str, role: str,
            properties: Mapping[str, Any] | None = None) -> Party:
    """An online-account party."""
    return Party(kind="account", value=value, role=role, label=label or None,
                 platform=platform, properties=dict(properties or {}))


def group(value: str, label: str | None, platform: str, role: str = "recipient") -> Party:
    """A group conversation (channel, group chat) as a party: the recipient of group messages."""
    return Party(kind="group", value=value, role=role, label=label or None, platform=platform)


def recipients_for(sender_value: str | None, members: Iterable[Party], role: str = "recipient",
                   ) -> tuple[Party, ...]:
    """The other members of a direct conversation, re-roled as recipients."""
    out = []
    for m in members:
        if m.value != sender_value:
            out.append(Party(kind=m.kind, value=m.value, role=role, label=m.label,
                             platform=m.platform, properties=m.properties))
    return tuple(out)


def parse_size_text(text: str) -> int | None:
    """Bytes from a human size such as "1.2 MB", "312 KB", "12 B" (approximate)."""
    m = re.search(r"([\d.,]+)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB)\b", text, re.I)
    if not m:
        return None
    try:
        number = float(m.group(1).replace(",", "."))
    except ValueError:
        return None
    unit = m.group(2).upper().replace("I", "")
    factor = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}[unit]
    return int(round(number * factor))


class _TextExtractor(HTMLParser):
    """Visible text of an HTML fragment with line breaks where blocks and <br> are."""

    _BLOCKS = frozenset({"p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4",
                         "h5", "h6", "blockquote", "pre", "section", "article", "header",
                         "footer", "hr", "dt", "dd"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            # Source line breaks inside HTML are just spaces when rendered.
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """The readable text of an HTML document or fragment (scripts and styles dropped)."""
    ex = _TextExtractor()
    ex.feed(html)
    ex.close()
    lines = [ln.strip().replace("\xa0", " ").strip() for ln in "".join(ex.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def looks_binary(text_sample: str) -> bool:
    """True when decoded text is mostly control characters (a binary file read as text)."""
    if not text_sample:
        return False
    bad = sum(1 for ch in text_sample if (ord(ch) < 32 and ch not in "\t\r\n\f\v")
              or ch == "\ufffd")
    return "\x00" in text_sample or bad > max(8, len(text_sample) // 20)
