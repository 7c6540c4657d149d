"""Reading text files of unknown encoding, streaming.

Exports arrive as UTF-8 (with or without BOM), UTF-16 (Windows tools, some WhatsApp
exports) or a Windows code page (cp1252 CSVs from banks). We decide from the BOM, then
from a sample (UTF-8 must decode strictly; otherwise charset-normalizer chooses), and
then read the whole file as a stream with that codec, so memory stays flat.
"""

from __future__ import annotations

import codecs
import contextvars
import io
import re
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from workstation.ingest.records import ParseError

SAMPLE_BYTES = 256 * 1024
_SINGLE_BYTE_LATIN = frozenset("""
latin_1 iso8859_1 iso8859_2 iso8859_3 iso8859_4 iso8859_9 iso8859_10 iso8859_13 iso8859_14
iso8859_15 iso8859_16 cp1250 cp1252 cp1254 cp1257 cp1258
""".split())
# DOS and old Mac code pages: on a short Western sample the detector often names one of these
# (a bank CSV line "Café Müller €" comes back as cp1125, Ukrainian DOS; a QIF as cp775).
_DOS_OR_MAC = re.compile(r"cp(?:4\d\d|7\d\d|8\d\d|1125)|mac_\w+")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def detect_encoding(sample: bytes) -> str:
    """The codec name for a file whose first bytes are ``sample``."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if not sample:
        return "utf-8"
    # UTF-16 without BOM: many NULs in alternating positions.
    if len(sample) >= 4:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
            return "utf-16-le"
        if even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
            return "utf-16-be"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample's end is still UTF-8.
        if exc.start >= len(sample) - 3 and exc.reason.startswith("unexpected end"):
            return "utf-8"
    if b"\x00" in sample:
        raise ParseError("binary data, not a text file")
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        if best is not None and best.encoding:
            enc = best.encoding
            try:
                enc = codecs.lookup(enc).name.replace("-", "_")
            except LookupError:
                pass
            # Western exports are cp1252 far more often than its single-byte cousins, and on
            # short samples the detector cannot tell them apart ("Crème" read as cp1250
            # gives "Crčme"), nor from a DOS or Mac page: take cp1252 whenever it decodes
            # the sample at all. A real DOS Cyrillic text has letters cp1252 cannot decode.
            if enc in _SINGLE_BYTE_LATIN or _DOS_OR_MAC.fullmatch(enc):
                try:
                    sample.decode("cp1252")
                    return "cp1252"
                except UnicodeDecodeError:
                    return enc
            return enc
    except Exception:  # pragma: no cover - detector failure falls back below
        pass
    return "cp1252"


def check_size(path: Path, max_bytes: int, what: str = "JSON exports") -> int:
    """The size of ``path`` in bytes; ParseError when it cannot be read or is over
    ``max_bytes`` (the message names the limit and ``what`` it applies to)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=path) from exc
    if size > max_bytes:
        raise ParseError(f"file is {size:,} bytes, over the {max_bytes:,}-byte limit for {what}",
                         file=path)
    return size


def open_text(path: str | Path, encoding: str | None = None, newline: str | None = None) -> TextIO:
    """Open ``path`` for streaming text reading with a detected (or given) encoding.

    Undecodable bytes raise ``UnicodeDecodeError`` while reading; callers turn that into a
    ParseError naming the line. Raises ParseError for a binary file.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=p) from exc
    if encoding is None:
        try:
            encoding = detect_encoding(sample)
        except ParseError as exc:
            raise ParseError(exc.message, file=p) from None
    return io.TextIOWrapper(open_binary(p), encoding=encoding, errors="strict", newline=newline)


class PositionTracker:
    """While active (``with tracker:``), files of ``path`` opened through this module report
    how far they have been read, so the pipeline can show real progress for streaming parsers."""

    def __init__(self, path: str | Path, size: int) -> None:
        self.path = Path(path).resolve()
        self.size = max(size, 1)
        self.position = 0
        self._token: contextvars.Token[PositionTracker | None] | None = None

    def fraction(self) -> float:
        return min(1.0, self.position / self.size)

    def __enter__(self) -> PositionTracker:
        self._token = _TRACKER.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _TRACKER.reset(self._token)


_TRACKER: contextvars.ContextVar[PositionTracker | None] = contextvars.ContextVar("ingest_tracker", default=None)


class _TrackedFile(io.FileIO):
    def __init__(self, path: Path, tracker: PositionTracker) -> None:
        super().__init__(path, "rb")
        self._tracker = tracker

    def readinto(self, b: Any) -> int | None:  # type: ignore[override]
        n = super().readinto(b)
        if n:
            self._tracker.position = max(self._tracker.position, self.tell())
        return n


def open_binary(path: str | Path) -> BinaryIO:
    """Open ``path`` for buffered binary reading (progress-tracked during an import)."""
    p = Path(path)
    tracker = _TRACKER.get()
    try:
        if tracker is not None and p.resolve() == tracker.path:
            return io.BufferedReader(_TrackedFile(p, tracker), buffer_size=1 << 16)
        return p.open("rb")
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=p) from exc


def read_head_text(path: str | Path, limit: int = 65536) -> str:
    """The first ``limit`` bytes of a file as text (best effort, for format sniffing)."""
    with Path(path).open("rb") as fh:
        sample = fh.read(limit)
    try:
        enc = detect_encoding(sample)
    except ParseError:
        return ""
    return sample.decode(enc, errors="ignore")
