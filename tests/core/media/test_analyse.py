"""One-read analysis of files, and the parallel batch runner."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import tempfile
import threading
import zipfile
from pathlib import Path

import pytest

from tests.core.media.gen import IMAGE_MAGIC, CrashingSource, encode, jpeg_bytes, noise, photo_like, png_bomb
from workstation.media.analyse import MediaAnalysis, MediaFailure, analyse_file, analyse_many
from workstation.media.hashing import hash_file
from workstation.media.images import heif_supported
from workstation.media.walk import MediaSource, iter_media_sources


def _images(folder: Path, count: int, size: tuple[int, int] = (320, 240)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"img{i:03d}.jpg"
        path.write_bytes(jpeg_bytes(*size, seed=i))
        paths.append(path)
    return paths


def test_image_file_hashes_and_decodes_from_one_read(tmp_path: Path) -> None:
    (path,) = _images(tmp_path, 1)
    data = path.read_bytes()
    result = analyse_file(path)
    assert isinstance(result, MediaAnalysis)
    assert (result.md5, result.sha1, result.sha256, result.size) == (
        hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest(), len(data))
    assert result.mime == "image/jpeg" and result.problem is None
    assert result.image is not None and (result.image.width, result.image.height) == (320, 240)


def test_non_image_is_hashed_only(tmp_path: Path) -> None:
    path = tmp_path / "blob.jpg"  # the name lies
    path.write_bytes(noise(3 << 20))
    result = analyse_file(path)
    assert isinstance(result, MediaAnalysis)
    assert result.mime == "application/octet-stream" and result.image is None and result.problem is None
    assert result.sha256 == hash_file(path).sha256


def test_failed_image_keeps_digests_and_says_why(tmp_path: Path, shared_data: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb())
    cut = tmp_path / "cut.jpg"
    full = jpeg_bytes(640, 480)
    cut.write_bytes(full[: len(full) // 3])
    for path, reason in ((bomb, "bomb"), (cut, "truncated")):
        result = analyse_file(path)
        assert isinstance(result, MediaAnalysis) and result.image is None
        assert result.problem_reason == reason and result.problem
        assert result.md5 == hash_file(path).md5
    heif = shared_data / "exif/heic/mobile/HMD_Nokia_8.3_5G_hdr.heif"
    result = analyse_file(heif)
    assert result.mime == "image/heic" and result.md5 == hash_file(heif).md5
    assert result.exif is not None and result.exif.gps_lat == pytest.approx(40.662993, abs=1e-5)
    if not heif_supported():
        assert result.problem_reason == "unsupported" and "HEIF" in result.problem


def test_vanished_file_is_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "soon-gone.jpg"
    path.write_bytes(b"x")
    (source,) = iter_media_sources(path)
    path.unlink()
    result = analyse_file(source)
    assert isinstance(result, MediaFailure) and result.reason == "vanished"
    assert str(path) in str(result)


def test_many_in_parallel_equals_sequential_with_progress(tmp_path: Path) -> None:
    _images(tmp_path / "src", 12)
    (tmp_path / "src" / "note.txt").write_bytes(b"plain text")
    calls: list[tuple[int, int, str]] = []
    parallel = list(analyse_many(iter_media_sources(tmp_path / "src"), workers=2,
                                 progress=lambda d, t, m: calls.append((d, t, m)), batch_size=2))
    sequential = list(analyse_many(iter_media_sources(tmp_path / "src"), workers=1))
    key = lambda r: r.display_path  # noqa: E731
    assert sorted(parallel, key=key) == sorted(sequential, key=key)
    assert len(parallel) == 13
    assert [c[0] for c in calls] == list(range(1, 14)) and {c[1] for c in calls} == {13}
    assert {c[2] for c in calls} == {r.display_path for r in parallel}
    decoded = [r for r in parallel if isinstance(r, MediaAnalysis) and r.image is not None]
    assert len(decoded) == 12


def test_cancel_stops_between_items(tmp_path: Path) -> None:
    paths = _images(tmp_path, 30, size=(200, 150))
    cancel = threading.Event()
    results = []
    for result in analyse_many(paths, workers=2, cancel=cancel, batch_size=1):
        results.append(result)
        cancel.set()
    assert 1 <= len(results) < 30
    sequential = []
    cancel2 = threading.Event()
    for result in analyse_many(paths, workers=1, cancel=cancel2):
        sequential.append(result)
        cancel2.set()
    assert len(sequential) == 1


def test_zip_with_traversal_and_bomb_still_analyses_the_rest(tmp_path: Path) -> None:
    archive = tmp_path / "phone.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("DCIM/one.jpg", jpeg_bytes(120, 90, seed=1))
        zf.writestr("../../etc/evil.jpg", jpeg_bytes(120, 90, seed=2))
        zf.writestr("bomb.bin", b"\x00" * (30 << 20))
        zf.writestr("DCIM/two.png", encode(photo_like(100, 80, seed=3), "PNG"))
    results = list(analyse_many(iter_media_sources(archive), workers=2))
    by_name = {r.display_path.split("!/")[1]: r for r in results}
    assert isinstance(by_name["../../etc/evil.jpg"], MediaFailure)
    assert by_name["../../etc/evil.jpg"].reason == "unsafe-path"
    assert isinstance(by_name["bomb.bin"], MediaFailure) and by_name["bomb.bin"].reason == "zip-bomb"
    for name in ("DCIM/one.jpg", "DCIM/two.png"):
        result = by_name[name]
        assert isinstance(result, MediaAnalysis) and result.image is not None, name
    with zipfile.ZipFile(archive) as zf:
        assert by_name["DCIM/one.jpg"].md5 == hashlib.md5(zf.read("DCIM/one.jpg")).hexdigest()
    assert sorted(os.listdir(tmp_path)) == ["phone.zip"]


def _image_files_under(folder: Path) -> list[Path]:
    found = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            try:
                with open(path, "rb") as stream:
                    head = stream.read(8)
            except OSError:
                continue
            if head.startswith(IMAGE_MAGIC):
                found.append(path)
    return found


@pytest.mark.parametrize("workers", [1, 2])
def test_thumbnails_never_touch_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    sources = _images(tmp_path / "src", 8)
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setenv("TEMP", str(scratch))
    monkeypatch.setenv("TMP", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR in this process
    # Fresh 'spawn' workers inherit the patched environment.
    results = list(analyse_many(sources, workers=workers, mp_context=multiprocessing.get_context("spawn")))
    assert all(isinstance(r, MediaAnalysis) and r.image and r.image.thumbnail_jpeg for r in results)
    assert _image_files_under(scratch) == []
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == [p.name for p in sources]


def test_a_crashing_worker_costs_only_its_file(tmp_path: Path) -> None:
    good = _images(tmp_path, 5, size=(100, 80))
    crash = CrashingSource(display_path="evil.jpg", size=1, path=str(good[0]))
    sources: list[MediaSource | Path] = [good[0], crash, *good[1:]]
    results = list(analyse_many(sources, workers=2, batch_size=2))
    by_path = {r.display_path: r for r in results}
    assert len(results) == 6
    assert isinstance(by_path["evil.jpg"], MediaFailure) and by_path["evil.jpg"].reason == "crash"
    assert all(isinstance(by_path[str(p)], MediaAnalysis) for p in good)
