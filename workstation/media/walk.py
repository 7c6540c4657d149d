"""Enumerate the files of a seized-media source: a folder tree or a ZIP archive.

Nothing is ever extracted to disk. A :class:`MediaSource` is a small picklable handle
(it can be sent to a worker process) whose :meth:`MediaSource.open` returns a fresh binary
stream: the file itself, or the archive member decompressed on the fly under a byte cap.

Problems are items, not exceptions: a file that vanished, cannot be read, a symlink
leading out of the tree, an archive member with an absolute or ``..`` path, an encrypted
member, or a member that looks like a zip bomb (declared size above the cap, compression
ratio beyond ``max_ratio``, or the archive's total beyond ``max_total_bytes``) is yielded as
a :class:`SourceProblem` and the iteration goes on.

Display paths: files keep their path; archive members are shown as
``<archive path>!/<member path>``.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from workstation.media.errors import SourceError
from workstation.text import storable_name

#: Largest single archive member read into memory (larger ones are refused).
DEFAULT_MAX_MEMBER_BYTES = 1 << 30
#: Largest total of declared member sizes analysed from one archive.
DEFAULT_MAX_TOTAL_BYTES = 64 << 30
#: Highest compression ratio accepted for members larger than RATIO_FLOOR_BYTES.
DEFAULT_MAX_RATIO = 100.0
RATIO_FLOOR_BYTES = 1 << 20

ARCHIVE_SEPARATOR = "!/"


@dataclass(frozen=True, slots=True)
class MediaSource:
    """One file to analyse. ``size`` is the size on disk or the member's declared size.

    ``open()`` returns a new binary stream each call (the caller closes it). For an archive
    member the stream raises :class:`SourceError` if it would yield more than
    ``max_bytes`` (a lying header).
    """

    display_path: str
    size: int
    path: str
    member: str | None = None
    max_bytes: int = DEFAULT_MAX_MEMBER_BYTES

    def __post_init__(self) -> None:
        # ``path`` opens the file as the OS names it; ``display_path`` is what gets stored
        # and shown, so it must be valid Unicode even for a name that is not UTF-8 on disk.
        object.__setattr__(self, "display_path", storable_name(self.display_path))

    @property
    def kind(self) -> Literal["file", "zip-member"]:
        """``"file"`` or ``"zip-member"``."""
        return "file" if self.member is None else "zip-member"

    def open(self) -> BinaryIO:
        """A fresh binary stream of the content. Raises ``OSError`` or :class:`SourceError`."""
        if self.member is None:
            return open(self.path, "rb")
        archive = zipfile.ZipFile(self.path)
        try:
            inner = archive.open(self.member)
        except Exception:
            archive.close()
            raise
        return _CappedMember(inner, archive, self.max_bytes, self.display_path)


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A source that cannot be analysed, and why. ``reason`` is a short tag:
    ``unreadable``, ``vanished``, ``symlink-outside``, ``unsafe-path``, ``encrypted``,
    ``zip-bomb``, ``too-large``, ``bad-archive``."""

    display_path: str
    reason: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "display_path", storable_name(self.display_path))
        object.__setattr__(self, "message", storable_name(self.message))

    def __str__(self) -> str:
        return f"{self.display_path}: {self.message}"


class _CappedMember:
    """A read-only stream over an archive member that refuses to exceed ``limit`` bytes."""

    def __init__(self, inner: BinaryIO, archive: zipfile.ZipFile, limit: int, name: str) -> None:
        self._inner = inner
        self._archive = archive
        self._limit = limit
        self._name = name
        self._count = 0

    def read(self, size: int = -1) -> bytes:
        # Ask for at most one byte beyond the limit: enough to detect a lying header.
        allowed = self._limit - self._count + 1
        data = self._inner.read(allowed if size is None or size < 0 else min(size, allowed))
        self._count += len(data)
        if self._count > self._limit:
            raise SourceError(f"archive member expands beyond {self._limit:,} bytes (zip bomb?)",
                              source=self._name, reason="zip-bomb")
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._archive.close()

    def __enter__(self) -> "_CappedMember":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def readable(self) -> bool:
        return True


def _unsafe_member(name: str) -> str | None:
    """Why a member path is unsafe (absolute, drive, UNC, parent traversal), else None."""
    normalised = name.replace("\\", "/")
    if normalised.startswith("/"):
        return "absolute path"
    if len(normalised) >= 2 and normalised[1] == ":":
        return "drive-letter path"
    if any(part == ".." for part in PurePosixPath(normalised).parts):
        return "path escapes the archive ('..')"
    if "\x00" in name:
        return "NUL in path"
    return None


def iter_zip_sources(path: str | os.PathLike[str], *,
                     max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
                     max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
                     max_ratio: float = DEFAULT_MAX_RATIO) -> Iterator[MediaSource | SourceProblem]:
    """The members of a ZIP archive as sources (directories skipped), with per-member
    problems for unsafe paths, encryption and bomb-like sizes."""
    archive_path = str(path)
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        yield SourceProblem(archive_path, "bad-archive", f"cannot read ZIP archive: {exc}")
        return
    total = 0
    with archive:
        try:
            infos = archive.infolist()
        except Exception as exc:  # pragma: no cover - infolist is read at open time
            yield SourceProblem(archive_path, "bad-archive", f"cannot list ZIP archive: {exc}")
            return
        for info in infos:
            if info.is_dir():
                continue
            display = f"{archive_path}{ARCHIVE_SEPARATOR}{info.filename}"
            unsafe = _unsafe_member(info.filename)
            if unsafe:
                yield SourceProblem(display, "unsafe-path", f"unsafe member path refused: {unsafe}")
                continue
            if info.flag_bits & 0x1:
                yield SourceProblem(display, "encrypted", "encrypted member (password needed)")
                continue
            declared = info.file_size
            if declared > max_member_bytes:
                yield SourceProblem(display, "too-large",
                                    f"member declares {declared:,} bytes, above the cap of {max_member_bytes:,}")
                continue
            compressed = max(info.compress_size, 1)
            if declared > RATIO_FLOOR_BYTES and declared / compressed > max_ratio:
                yield SourceProblem(display, "zip-bomb",
                                    f"possible zip bomb: {compressed:,} bytes expand to {declared:,} "
                                    f"(ratio {declared / compressed:,.0f}, cap {max_ratio:,.0f})")
                continue
            if total + declared > max_total_bytes:
                yield SourceProblem(display, "zip-bomb",
                                    f"archive total would exceed {max_total_bytes:,} bytes; member skipped")
                continue
            total += declared
            yield MediaSource(display_path=display, size=declared, path=archive_path,
                              member=info.filename, max_bytes=min(max_member_bytes, declared))


def _is_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as stream:
            return stream.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def iter_media_sources(path: str | os.PathLike[str], *,
                       max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
                       max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
                       max_ratio: float = DEFAULT_MAX_RATIO) -> Iterator[MediaSource | SourceProblem]:
    """Every file under a folder (recursively, sorted by name), the members of a ZIP
    archive, or the single file given.

    Symlinks are never followed out of the tree: a link to a file inside the tree is
    listed, a link pointing elsewhere (or dangling) is a :class:`SourceProblem`, and linked
    directories are not entered (their files are reached through the real path, and
    cycles are impossible). ZIP archives *inside* a folder are listed as files, not opened.
    """
    root = Path(path)
    try:
        root_stat = root.stat()
    except OSError as exc:
        yield SourceProblem(str(root), "vanished" if isinstance(exc, FileNotFoundError) else "unreadable",
                            f"cannot access source: {exc.strerror or exc}")
        return
    if stat.S_ISREG(root_stat.st_mode):
        if _is_zip(root):
            yield from iter_zip_sources(root, max_member_bytes=max_member_bytes,
                                        max_total_bytes=max_total_bytes, max_ratio=max_ratio)
        else:
            yield MediaSource(display_path=str(root), size=root_stat.st_size, path=str(root))
        return
    if not stat.S_ISDIR(root_stat.st_mode):
        yield SourceProblem(str(root), "unreadable", "not a regular file or folder")
        return
    real_root = os.path.realpath(root)
    yield from _walk_dir(root, real_root)


def _inside(real_path: str, real_root: str) -> bool:
    return real_path == real_root or real_path.startswith(real_root.rstrip(os.sep) + os.sep)


def _walk_dir(folder: Path, real_root: str) -> Iterator[MediaSource | SourceProblem]:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        yield SourceProblem(str(folder), "unreadable", f"cannot list folder: {exc.strerror or exc}")
        return
    for entry in entries:
        entry_path = Path(entry.path)
        try:
            if entry.is_symlink():
                real = os.path.realpath(entry_path)
                if not _inside(real, real_root):
                    yield SourceProblem(str(entry_path), "symlink-outside",
                                        f"symbolic link to {real} outside the source folder; not followed")
                    continue
                try:
                    target = os.stat(real)
                except OSError:
                    yield SourceProblem(str(entry_path), "vanished", "dangling symbolic link")
                    continue
                if stat.S_ISREG(target.st_mode):
                    yield MediaSource(display_path=str(entry_path), size=target.st_size, path=str(entry_path))
                continue  # linked folders inside the tree are walked through their real path
            if entry.is_dir(follow_symlinks=False):
                yield from _walk_dir(entry_path, real_root)
            elif entry.is_file(follow_symlinks=False):
                size = entry.stat(follow_symlinks=False).st_size
                yield MediaSource(display_path=str(entry_path), size=size, path=str(entry_path))
        except FileNotFoundError:
            yield SourceProblem(str(entry_path), "vanished", "file disappeared while listing")
        except OSError as exc:
            yield SourceProblem(str(entry_path), "unreadable", f"cannot read: {exc.strerror or exc}")
