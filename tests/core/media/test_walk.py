"""Walking folders and ZIP archives safely."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from tests.core.media.gen import jpeg_bytes, noise
from workstation.media.errors import SourceError
from workstation.media.walk import MediaSource, SourceProblem, iter_media_sources


def _split(items: list[MediaSource | SourceProblem]) -> tuple[list[MediaSource], list[SourceProblem]]:
    return ([i for i in items if isinstance(i, MediaSource)], [i for i in items if isinstance(i, SourceProblem)])


def test_folder_is_walked_recursively_in_order(tmp_path: Path) -> None:
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / "a.jpg").write_bytes(b"1")
    (tmp_path / "b" / "c.png").write_bytes(b"22")
    (tmp_path / "b" / "deep" / "d.bin").write_bytes(b"333")
    (tmp_path / "empty").mkdir()
    sources, problems = _split(list(iter_media_sources(tmp_path)))
    assert not problems
    assert [Path(s.display_path).relative_to(tmp_path).as_posix() for s in sources] == [
        "a.jpg", "b/c.png", "b/deep/d.bin"]
    assert [s.size for s in sources] == [1, 2, 3]
    with sources[2].open() as stream:
        assert stream.read() == b"333"


def test_symlinks_do_not_leave_the_tree(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"x")
    root = tmp_path / "evidence"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "real.jpg").write_bytes(b"y")
    os.symlink(outside / "secret.jpg", root / "link-out.jpg")
    os.symlink(outside, root / "dir-out")
    os.symlink(root / "sub" / "real.jpg", root / "link-in.jpg")
    os.symlink(root / "sub", root / "loop")  # a linked folder inside the tree: not re-entered
    os.symlink(root / "missing", root / "dangling")
    sources, problems = _split(list(iter_media_sources(root)))
    names = sorted(Path(s.display_path).name for s in sources)
    assert names == ["link-in.jpg", "real.jpg"]
    reasons = {Path(p.display_path).name: p.reason for p in problems}
    assert reasons == {"link-out.jpg": "symlink-outside", "dir-out": "symlink-outside", "dangling": "vanished"}


def test_missing_source_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    items = list(iter_media_sources(tmp_path / "gone"))
    assert len(items) == 1 and isinstance(items[0], SourceProblem) and items[0].reason == "vanished"


def test_single_file_source(tmp_path: Path) -> None:
    path = tmp_path / "one.jpg"
    path.write_bytes(jpeg_bytes(20, 20))
    (source,) = iter_media_sources(path)
    assert isinstance(source, MediaSource) and source.kind == "file" and source.display_path == str(path)


def _zip(path: Path, members: dict[str, bytes], **kwargs: object) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, **kwargs) as archive:  # type: ignore[arg-type]
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_members_are_read_in_memory_with_unsafe_paths_refused(tmp_path: Path) -> None:
    photo = jpeg_bytes(64, 48)
    archive = _zip(tmp_path / "seized.zip", {
        "DCIM/ok.jpg": photo,
        "../escape.jpg": photo,
        "/etc/abs.jpg": photo,
        "C:/win.jpg": photo,
        "a/../../up.jpg": photo,
        "dir/": b"",
    })
    sources, problems = _split(list(iter_media_sources(archive)))
    assert [s.display_path for s in sources] == [f"{archive}!/DCIM/ok.jpg"]
    assert {p.display_path.split("!/")[1]: p.reason for p in problems} == {
        "../escape.jpg": "unsafe-path", "/etc/abs.jpg": "unsafe-path", "C:/win.jpg": "unsafe-path",
        "a/../../up.jpg": "unsafe-path"}
    with sources[0].open() as stream:
        assert stream.read() == photo
    assert sorted(os.listdir(tmp_path)) == ["seized.zip"]  # nothing extracted


def test_zip_bomb_members_are_refused_per_member(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "bomb.zip", {
        "zeros.bin": b"\x00" * (40 << 20),  # ~40 KiB compressed, ratio ~1000
        "photo.jpg": jpeg_bytes(64, 48),
        "text.txt": b"hello " * 1000,  # highly compressible but small: fine
    })
    sources, problems = _split(list(iter_media_sources(archive)))
    assert [s.display_path.split("!/")[1] for s in sources] == ["photo.jpg", "text.txt"]
    assert len(problems) == 1 and problems[0].reason == "zip-bomb" and "ratio" in problems[0].message


def test_zip_caps_member_and_total_size(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "caps.zip", {f"f{i}.bin": noise(1000, seed=i) for i in range(5)})
    sources, problems = _split(list(iter_media_sources(archive, max_total_bytes=2500)))
    assert len(sources) == 2 and len(problems) == 3 and all(p.reason == "zip-bomb" for p in problems)
    sources, problems = _split(list(iter_media_sources(archive, max_member_bytes=999)))
    assert not sources and all(p.reason == "too-large" for p in problems)


def test_lying_member_is_stopped_by_the_stream_cap(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "lie.zip", {"big.bin": noise(5000)})
    source = MediaSource(display_path="x", size=100, path=str(archive), member="big.bin", max_bytes=100)
    with pytest.raises(SourceError, match="zip bomb"):
        with source.open() as stream:
            while stream.read(64):
                pass


def test_encrypted_member_flag_is_reported(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "enc.zip", {"locked.jpg": b"garbage", "open.jpg": b"data"})
    # Set the 'encrypted' flag of the first member in its local and central headers.
    raw = bytearray(archive.read_bytes())
    local = raw.index(b"PK\x03\x04")
    raw[local + 6] |= 0x1
    central = raw.index(b"PK\x01\x02")
    raw[central + 8] |= 0x1
    archive.write_bytes(bytes(raw))
    sources, problems = _split(list(iter_media_sources(archive)))
    assert [p.reason for p in problems] == ["encrypted"] and len(sources) == 1


def test_corrupt_zip_is_one_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    items = list(iter_media_sources(bad))
    assert len(items) == 1 and items[0].reason == "bad-archive"
