"""Analyse seized files: digests, content type and (for images) PDQ, EXIF and thumbnail.

:func:`analyse_file` reads each file exactly once: the bytes are fed to MD5/SHA-1/SHA-256
as they are read, and an image is decoded from the same in-memory bytes. Non-image files
(videos, archives...) are streamed through the digests without being held in memory.

:func:`analyse_many` spreads the work over worker processes (hashing and decoding are
CPU-bound, so threads would serialise on the GIL for the decode part). It is a plain core
function for a background job: a ``progress(done, total, message)`` callback, a ``cancel``
object with ``is_set()`` checked between items, results yielded as they finish. A worker
that dies on a hostile file (a crash inside a native decoder) costs only that file: the
pool is restarted and the other files of its batch are retried one by one.

A file whose image part fails (unsupported HEIF, decompression bomb, truncated data) is
still a :class:`MediaAnalysis`: its digests are valid for hash-set matching, and
``problem`` says what went wrong. :class:`MediaFailure` is for files that could not be
read at all (vanished, unreadable, refused archive members).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import sys
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from workstation.media.errors import MediaError, SourceError
from workstation.media.exif import ExifInfo, read_exif
from workstation.media.hashing import SNIFF_BYTES, MultiHasher, is_image_type, sniff_type
from workstation.media.images import (DEFAULT_MAX_PIXELS, DEFAULT_PDQ_SIDE, DEFAULT_THUMB_SIZE,
                                      ImageAnalysis, analyse_image)
from workstation.media.video import VideoInfo, is_iso_video_type, read_video_metadata
from workstation.media.walk import MediaSource, SourceProblem

#: Images larger than this (bytes) are hashed but not decoded.
DEFAULT_MAX_IMAGE_BYTES = 256 << 20
_CHUNK = 1 << 20
_M_TRIM_THRESHOLD = -1  # mallopt() parameters (glibc malloc.h)
_M_MMAP_THRESHOLD = -3


class CancelToken(Protocol):
    """Anything with ``is_set()``, e.g. ``threading.Event``."""

    def is_set(self) -> bool: ...


ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class MediaAnalysis:
    """Result for one readable file.

    ``mime`` is sniffed from content. ``image`` is set when the file decoded as a still
    image; ``exif`` is set whenever EXIF could be read (also for HEIF files this build
    cannot decode). ``video`` is set for an MP4/MOV/3GP file whose boxes could be read;
    its camera, capture time and place are also given as ``exif``, so a video takes the
    same path as a photo. ``problem``/``problem_reason`` explain a failed image or video
    metadata analysis (reasons as :class:`~workstation.media.errors.MediaError.reason`).
    """

    display_path: str
    size: int
    md5: str
    sha1: str
    sha256: str
    mime: str
    image: ImageAnalysis | None = None
    exif: ExifInfo | None = None
    problem: str | None = None
    problem_reason: str | None = None
    source: MediaSource | None = field(default=None, compare=False, repr=False)
    video: VideoInfo | None = None


@dataclass(frozen=True)
class MediaFailure:
    """A file that could not be read at all; ``reason`` is a short tag, ``message`` says why."""

    display_path: str
    reason: str
    message: str
    source: MediaSource | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.display_path}: {self.message}"


@dataclass(frozen=True)
class AnalysisOptions:
    """Knobs passed to every worker."""

    thumb_size: int = DEFAULT_THUMB_SIZE
    max_pixels: int = DEFAULT_MAX_PIXELS
    pdq_side: int | None = DEFAULT_PDQ_SIDE
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES


def _as_source(item: MediaSource | str | os.PathLike[str]) -> MediaSource:
    if isinstance(item, MediaSource):
        return item
    path = Path(item)
    try:
        size = path.stat().st_size
    except OSError:
        size = -1
    return MediaSource(display_path=str(path), size=size, path=str(path))


def _read_head(stream: Any, hasher: MultiHasher) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < SNIFF_BYTES:
        block = stream.read(SNIFF_BYTES - got)
        if not block:
            break
        parts.append(block)
        got += len(block)
    head = b"".join(parts)
    hasher.update(head)
    return head


def analyse_file(source: MediaSource | SourceProblem | str | os.PathLike[str],
                 options: AnalysisOptions | None = None) -> MediaAnalysis | MediaFailure:
    """Analyse one file in a single read; never raises for bad input (see module doc)."""
    if isinstance(source, SourceProblem):
        return MediaFailure(source.display_path, source.reason, source.message)
    opts = options or AnalysisOptions()
    src = _as_source(source)
    hasher = MultiHasher()
    data: bytes | None = None
    try:
        with src.open() as stream:
            head = _read_head(stream, hasher)
            mime = sniff_type(head)
            keep = is_image_type(mime) and src.size <= opts.max_image_bytes
            kept: list[bytes] = [head] if keep else []
            kept_size = len(head)
            while True:
                block = stream.read(_CHUNK)
                if not block:
                    break
                hasher.update(block)
                if keep:
                    kept_size += len(block)
                    if kept_size > opts.max_image_bytes:  # the file grew, or a header lied
                        keep, kept = False, []
                    else:
                        kept.append(block)
            if keep:
                data = b"".join(kept)
    except FileNotFoundError as exc:
        return MediaFailure(src.display_path, "vanished", f"file disappeared: {exc.strerror or exc}", src)
    except SourceError as exc:
        return MediaFailure(src.display_path, exc.reason, exc.message, src)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        return MediaFailure(src.display_path, "corrupt", f"corrupt archive member: {exc}", src)
    except (RuntimeError, NotImplementedError) as exc:  # encrypted / unsupported compression
        return MediaFailure(src.display_path, "unreadable", f"cannot decompress member: {exc}", src)
    except OSError as exc:
        return MediaFailure(src.display_path, "unreadable", f"cannot read: {exc.strerror or exc}", src)
    digest = hasher.digest()
    image: ImageAnalysis | None = None
    exif: ExifInfo | None = None
    video: VideoInfo | None = None
    problem: str | None = None
    reason: str | None = None
    if is_iso_video_type(mime):
        # A second, seeking pass that reads only box headers and moov's metadata boxes.
        try:
            with src.open() as stream:
                video = read_video_metadata(stream, digest.size)
            exif = video.to_exif()
        except MediaError as exc:
            problem, reason = f"video metadata unreadable: {exc.message}", exc.reason
        except OSError as exc:
            problem, reason = f"video metadata unreadable: {exc.strerror or exc}", "unreadable"
        except Exception as exc:  # a reader bug must not cost the file's digests
            problem, reason = f"video metadata reader failed: {type(exc).__name__}: {exc}", "error"
    elif is_image_type(mime):
        if data is None:
            problem, reason = (f"image larger than {opts.max_image_bytes:,} bytes: hashed, not decoded",
                               "too-large")
        else:
            try:
                image = analyse_image(data, thumb_size=opts.thumb_size, max_pixels=opts.max_pixels,
                                      pdq_side=opts.pdq_side)
                exif = image.exif
            except MediaError as exc:
                problem, reason = exc.message, exc.reason
            except Exception as exc:  # a decoder bug must not cost the file's digests
                problem, reason = f"image decoder failed: {type(exc).__name__}: {exc}", "error"
            if image is None:
                try:
                    exif = read_exif(data)
                except Exception:  # metadata is a bonus here; the problem is already noted
                    exif = None
    return MediaAnalysis(display_path=src.display_path, size=digest.size, md5=digest.md5,
                         sha1=digest.sha1, sha256=digest.sha256, mime=mime, image=image, exif=exif,
                         problem=problem, problem_reason=reason, source=src, video=video)


def _analyse_batch(batch: list[MediaSource], options: AnalysisOptions) -> list[MediaAnalysis | MediaFailure]:
    """Worker entry point (module level so it pickles)."""
    return [analyse_file(item, options) for item in batch]


def _init_worker() -> None:
    """Worker start: keep freed image buffers in the process heap (glibc).

    Each image allocates and frees a few buffers of about a megabyte (the file, the
    decoded picture, its luma). By default glibc serves those from fresh mmap()s and hands
    them back at once, so every image pays some 700 page faults (about a third of the CPU
    time of an image). Raising the mmap and trim thresholds lets the heap reuse them. Only
    the workers are tuned: they are ours, the caller's process is not."""
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt(_M_MMAP_THRESHOLD, 16 << 20)  # larger ones (huge images) still go straight back
    mallopt(_M_TRIM_THRESHOLD, 64 << 20)


def _default_context() -> Any:
    # forkserver: workers fork from a clean single-threaded server (safe when the caller
    # runs Qt threads) and start fast after the first pool; spawn where it is missing.
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods and sys.platform != "darwin":
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["workstation.media.analyse"])
        return context
    return multiprocessing.get_context("spawn")


def analyse_many(sources: Iterable[MediaSource | SourceProblem | str | os.PathLike[str]],
                 workers: int | None = None, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None, *, options: AnalysisOptions | None = None,
                 batch_size: int = 8, mp_context: Any = None) -> Iterator[MediaAnalysis | MediaFailure]:
    """Analyse many files in parallel; yields each result as soon as it is ready.

    ``workers`` defaults to ``os.cpu_count()``; 1 runs in the calling process. Sources
    that are :class:`SourceProblem` items come back as :class:`MediaFailure` at once.
    ``progress(done, total, message)`` is called from the calling thread after every
    result (message: the file just finished). When ``cancel.is_set()`` the function stops
    submitting work, drops queued batches, waits for running ones and returns quietly.
    """
    opts = options or AnalysisOptions()
    items = list(sources)
    total = len(items)
    done = 0

    def report(result: MediaAnalysis | MediaFailure) -> MediaAnalysis | MediaFailure:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, result.display_path)
        return result

    runnable: list[MediaSource] = []
    for item in items:
        if isinstance(item, SourceProblem):
            yield report(analyse_file(item))
        else:
            runnable.append(_as_source(item))
    if not runnable:
        return
    worker_count = max(1, workers if workers is not None else (os.cpu_count() or 1))
    if worker_count == 1 or len(runnable) == 1:
        for source in runnable:
            if cancel is not None and cancel.is_set():
                return
            yield report(analyse_file(source, opts))
        return

    size = max(1, min(batch_size, len(runnable) // (worker_count * 4) or 1))
    queue: deque[tuple[list[MediaSource], bool]] = deque(
        (runnable[i:i + size], False) for i in range(0, len(runnable), size))
    context = mp_context or _default_context()
    while queue:
        pool = ProcessPoolExecutor(max_workers=worker_count, mp_context=context, initializer=_init_worker)
        running: dict[Future[list[MediaAnalysis | MediaFailure]], tuple[list[MediaSource], bool]] = {}
        broken = False
        try:
            while queue or running:
                if cancel is not None and cancel.is_set():
                    return
                while queue and len(running) < worker_count * 2:
                    # A file retried after a crash runs alone, so a second crash is its own.
                    if queue[0][1] and running:
                        break
                    batch, isolated = queue.popleft()
                    try:
                        future = pool.submit(_analyse_batch, batch, opts)
                    except BrokenProcessPool:
                        # A worker died before its own future said so: this batch goes back
                        # first, and the dead pool's futures are handled as they fail below.
                        queue.appendleft((batch, isolated))
                        break
                    running[future] = (batch, isolated)
                    if isolated:
                        break
                if not running:
                    break
                finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    batch, isolated = running.pop(future)
                    try:
                        results = future.result()
                    except BrokenProcessPool:
                        broken = True
                        if isolated:
                            # It ran alone and killed its worker: report it and move on.
                            yield report(MediaFailure(batch[0].display_path, "crash",
                                                      "the decoder crashed on this file", batch[0]))
                        else:
                            queue.extendleft(([one], True) for one in reversed(batch))
                        continue
                    for result in results:
                        yield report(result)
                if broken:
                    # Every unfinished batch died with the pool: retry their files one by one.
                    for batch, _isolated in running.values():
                        queue.extendleft(([one], True) for one in reversed(batch))
                    running.clear()
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
