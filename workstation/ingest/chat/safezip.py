"""Reading untrusted ZIP archives (chat exports) without extracting them.

An export zip comes from a suspect's device or a provider and is treated as hostile:
members with absolute paths, ``..`` components, drive letters or symlinks are refused
(even though we never extract, such names are a sign of tampering and would be dangerous
to any tool that does), as are encrypted members, archives whose declared uncompressed
size is over a cap, and members whose compression ratio betrays a zip bomb. Reads are
bounded by the declared size.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import IO

from workstation.ingest.records import ParseError

MAX_TOTAL_BYTES = 2 * 1024**3
MAX_RATIO = 200
_RATIO_FLOOR = 1024 * 1024  # tiny members compress absurdly well (JSON "[]") and are harmless
# What a damaged member raises while it is being decompressed: a bad CRC or size
# (BadZipFile), a corrupt deflate stream (zlib.error), a cut-off archive (EOFError).
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError)


class _MemberStream(io.RawIOBase):
    """A member's bytes as a raw stream whose read errors are ParseErrors naming the member
    (the damage of a member often shows only at its end: the CRC check)."""

    def __init__(self, raw: IO[bytes], path: Path, name: str) -> None:
        super().__init__()
        self._raw = raw
        self._path = path
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._raw.read(len(buffer))
        except _READ_ERRORS as exc:
            raise ParseError(f"damaged member ({exc})", file=self._path, ref=f"member {self._name!r}") from None
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def member_name_problem(name: str) -> str | None:
    """Why a member name is unsafe, or None when it is fine."""
    norm = name.replace("\\", "/")
    if not norm:
        return "empty name"
    if norm.startswith("/"):
        return "absolute path"
    if re.match(r"^[A-Za-z]:", norm):
        return "drive-letter path"
    if any(part == ".." for part in norm.split("/")):
        return "'..' path component"
    if "\x00" in norm:
        return "NUL in name"
    return None


class SafeZip:
    """A validated read-only view of a ZIP archive. Use as a context manager."""

    def __init__(self, path: Path, *, max_total: int = MAX_TOTAL_BYTES,
                 max_ratio: int = MAX_RATIO) -> None:
        self.path = Path(path)
        try:
            self._zf = zipfile.ZipFile(self.path)
        except _READ_ERRORS as exc:  # also an unsupported zip version (NotImplementedError)
            raise ParseError(f"not a readable ZIP archive ({exc})", file=self.path) from None
        try:
            self._validate(max_total, max_ratio)
        except ParseError:
            self._zf.close()
            raise
        self.infos = {i.filename.replace("\\", "/"): i for i in self._zf.infolist()
                      if not i.is_dir()}

    def _validate(self, max_total: int, max_ratio: int) -> None:
        total = 0
        for info in self._zf.infolist():
            problem = member_name_problem(info.filename)
            if problem:
                raise ParseError(f"unsafe member name ({problem}); the archive is refused",
                                 file=self.path, ref=f"member {info.filename!r}")
            mode = info.external_attr >> 16
            if mode and stat.S_ISLNK(mode):
                raise ParseError("symbolic link inside the archive; the archive is refused",
                                 file=self.path, ref=f"member {info.filename!r}")
            if info.flag_bits & 0x1:
                raise ParseError("encrypted member; cannot read it",
                                 file=self.path, ref=f"member {info.filename!r}")
            total += info.file_size
            if total > max_total:
                raise ParseError(f"archive expands to more than {max_total:,} bytes",
                                 file=self.path)
            if info.file_size > _RATIO_FLOOR and (
                    info.compress_size == 0 or info.file_size / info.compress_size > max_ratio):
                raise ParseError(
                    f"compression ratio over {max_ratio}:1 (a zip bomb?); the archive is refused",
                    file=self.path, ref=f"member {info.filename!r}")

    def names(self) -> list[str]:
        """Member file names (forward slashes), in archive order."""
        return list(self.infos)

    def read(self, name: str) -> bytes:
        """A member's bytes; never more than its declared size."""
        info = self.infos[name]
        try:
            with self._zf.open(info) as fh:
                data = fh.read(info.file_size + 1)
        except _READ_ERRORS as exc:
            raise ParseError(f"cannot read member ({exc})", file=self.path,
                             ref=f"member {name!r}") from None
        if len(data) > info.file_size:
            raise ParseError("member is larger than declared; the archive is refused",
                             file=self.path, ref=f"member {name!r}")
        return data

    def open(self, name: str) -> IO[bytes]:
        """A buffered binary stream over a member (zipfile stops at the declared size and
        checks the CRC); a damaged member raises ParseError while it is read."""
        try:
            raw = self._zf.open(self.infos[name])
        except _READ_ERRORS as exc:
            raise ParseError(f"cannot read member ({exc})", file=self.path,
                             ref=f"member {name!r}") from None
        return io.BufferedReader(_MemberStream(raw, self.path, name))

    def close(self) -> None:
        self._zf.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
