"""Atomic, durable file output for exports and reports.

An export is either complete at its target path or absent: bytes go to a temporary file
created in the TARGET folder (so the final ``os.replace`` is a rename on one file system,
never a copy across devices), are fsync'd, and only then replace the target; the folder
entry is fsync'd too. Any failure (read-only location, permission denied, disk full,
cancel, a bug in the writer) removes the temporary file and leaves a previous file at the
target untouched. OS failures become :class:`StorageError` naming the path.

Thread: any (no shared state).
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workstation.errors import StorageError, UsageError

CHUNK = 1 << 20


def _why(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EDQUOT:
        return "the disk quota is exceeded"
    if exc.errno == errno.EROFS:
        return "the location is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (the folder is read-only or not yours)"
    return exc.strerror or str(exc)


def storage_error(path: Path, exc: OSError) -> StorageError:
    """A StorageError naming ``path`` and saying in words why the write failed."""
    return StorageError(f"cannot write {path}: {_why(exc)}; nothing was written")


class AtomicFile(io.RawIOBase):
    """The binary stream an :func:`atomic_write` block writes to (a temporary file).

    Counts and hashes what passes through ``write`` so the caller learns the SHA-256 of
    the finished file without reading it again.
    """

    def __init__(self, fd: int, temp_path: Path) -> None:
        super().__init__()
        self._fd = fd
        self.temp_path = temp_path
        self._sha = hashlib.sha256()
        self.size = 0
        self.discarding = False

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.discarding:
            # After a failure, writers that still flush on close (zip archives, buffers)
            # write into the void instead of raising again from a finaliser.
            return len(data)
        view = memoryview(data).cast("B")
        total = 0
        while total < len(view):
            n = os.write(self._fd, view[total:])
            total += n
        self._sha.update(view)
        self.size += total
        return total

    def fileno(self) -> int:
        return self._fd

    def hexdigest(self) -> str:
        return self._sha.hexdigest()

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if not self.closed and self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)
        super().close()


class AtomicResult:
    """Filled in when the :func:`atomic_write` block completes: final path, size, SHA-256."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self.sha256 = ""


def check_target(path: str | os.PathLike[str]) -> Path:
    """The absolute target path, or a clear error when it cannot be an export target
    (no such folder, the folder is a file, the target is a folder)."""
    target = Path(path).expanduser()
    if not target.name or target.name in (".", ".."):
        raise UsageError(f"{path}: give a file name to write to")
    target = target.absolute()
    parent = target.parent
    if not parent.exists():
        raise StorageError(f"cannot write {target}: the folder {parent} does not exist; nothing was written")
    if not parent.is_dir():
        raise StorageError(f"cannot write {target}: {parent} is not a folder; nothing was written")
    if target.is_dir():
        raise StorageError(f"cannot write {target}: it is a folder; choose a file name")
    return target


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[tuple[io.BufferedWriter, AtomicResult]]:
    """Write a file atomically and durably; see the module docstring.

    Yields ``(stream, result)``: a buffered binary stream (wrap it in ``io.TextIOWrapper``
    for text and ``detach()`` the wrapper at the end); after the block ``result`` holds the
    final path, size and SHA-256. Raises StorageError on OS failures.
    """
    target = check_target(path)
    temp = target.parent / f".{target.name}.{secrets.token_hex(6)}.part"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    except OSError as exc:
        raise storage_error(target, exc) from None
    raw = AtomicFile(fd, temp)
    # Buffered: fewer system calls, and a short write by the OS is retried, never lost.
    stream = io.BufferedWriter(raw, buffer_size=CHUNK)  # type: ignore[type-var]
    result = AtomicResult(target)
    try:
        yield stream, result  # type: ignore[misc]
        stream.flush()
        raw.sync()
        result.size = raw.size
        result.sha256 = raw.hexdigest()
        stream.close()
        os.replace(temp, target)
        _sync_folder(target.parent)
    except BaseException as exc:
        raw.discarding = True
        try:
            stream.close()
        except (OSError, ValueError):
            pass
        try:
            raw.close()
        except OSError:
            pass
        try:
            temp.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass  # best effort: the original error matters more
        if isinstance(exc, OSError):
            # Writers inside the block only write to the stream, so an OSError is about
            # the target location (full, read-only, vanished), not about the case data.
            raise storage_error(target, exc) from None
        raise


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory fsync."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_of(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file on disk, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


__all__ = ["atomic_write", "AtomicFile", "AtomicResult", "check_target", "sha256_of", "storage_error"]
