"""Digests in one pass and content sniffing by magic bytes (never by extension)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from tests.core.media.gen import encode, jpeg_bytes, noise, photo_like
from workstation.media.hashing import (FileDigest, hash_bytes, hash_file, hash_stream, sniff_file,
                                       sniff_type)

BRIDGE_MD5 = "d35c785545392755e7e4164457657269"


def test_hash_file_matches_hashlib_for_every_digest(tmp_path: Path) -> None:
    content = noise(3 * (1 << 20) + 12345)  # spans several chunks and a partial one
    path = tmp_path / "blob.bin"
    path.write_bytes(content)
    digest = hash_file(path, chunk=1 << 20)
    assert digest == FileDigest(len(content), hashlib.md5(content).hexdigest(),
                                hashlib.sha1(content).hexdigest(), hashlib.sha256(content).hexdigest())
    assert hash_bytes(content) == digest
    assert hash_stream(io.BytesIO(content), chunk=7777) == digest


def test_hash_file_reads_the_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = noise(5 << 20, seed=1)
    path = tmp_path / "blob.bin"
    path.write_bytes(content)
    calls = []
    real_open = open

    def counting_open(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[0])
        return real_open(*args, **kwargs)

    monkeypatch.setattr("builtins.open", counting_open)
    hash_file(path)
    assert len(calls) == 1


def test_empty_file_digests(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert hash_file(path).md5 == "d41d8cd98f00b204e9800998ecf8427e"
    assert hash_file(path).size == 0


def test_md5_of_the_reference_bridge_photo(shared_data: Path) -> None:
    for rel in ("pdq/reg-test-input/dih/bridge-1-original.jpg", "pdq/bridge-mods/aaa-orig.jpg"):
        assert hash_file(shared_data / rel).md5 == BRIDGE_MD5


def test_hash_file_missing_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "nope")


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (len(body) + 4).to_bytes(4, "big") + body + b"\x00" * 64


@pytest.mark.parametrize(("head", "mime"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    (b"GIF89a\x01\x00\x01\x00", "image/gif"),
    (b"GIF87a\x01\x00\x01\x00", "image/gif"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"RIFF\x24\x00\x00\x00AVI LIST", "video/x-msvideo"),
    (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", "image/bmp"),
    (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
    (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
    (_ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
    (_ftyp(b"mif1", b"mif1", b"heic"), "image/heic"),
    (_ftyp(b"mif1", b"mif1"), "image/heif"),
    (_ftyp(b"avif", b"mif1", b"avif"), "image/avif"),
    (_ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4"),
    (_ftyp(b"mp42", b"mp42", b"isom"), "video/mp4"),
    (_ftyp(b"qt  ", b"qt  "), "video/quicktime"),
    (_ftyp(b"3gp4", b"3gp4", b"isom"), "video/3gpp"),
    (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", "video/quicktime"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
     b"\x42\x82\x84webm\x42\x87\x81\x02", "video/webm"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
     b"\x42\x82\x88matroska", "video/x-matroska"),
    (bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + b"\x00" * 16, "video/x-ms-asf"),
    (b"FLV\x01\x05\x00\x00\x00\x09", "video/x-flv"),
    (b"\x00\x00\x01\xba\x44\x00\x04\x00", "video/mpeg"),
    (b"%PDF-1.7\n%\xe2\xe3", "application/pdf"),
    (b"PK\x03\x04\x14\x00\x00\x00", "application/zip"),
    (b"PK\x05\x06" + b"\x00" * 18, "application/zip"),
    (b"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07\x00\xcf\x90", "application/vnd.rar"),
    (b"Rar!\x1a\x07\x01\x00\x33\x92", "application/vnd.rar"),
    (b"hello, this is text", "application/octet-stream"),
    (b"", "application/octet-stream"),
    (b"BMP is not enough", "application/octet-stream"),
])
def test_sniff_type_by_magic(head: bytes, mime: str) -> None:
    assert sniff_type(head) == mime


def test_mpeg_transport_stream_needs_three_sync_bytes() -> None:
    packet = b"\x47" + b"\x00" * 187
    assert sniff_type(packet * 3) == "video/mp2t"
    assert sniff_type(b"\x47" + b"\x01" * 400) == "application/octet-stream"


def test_sniff_ignores_the_file_name() -> None:
    jpeg = jpeg_bytes(32, 32)
    assert sniff_type(jpeg[:4096], "holiday.txt") == "image/jpeg"
    assert sniff_type(b"plain text", "photo.jpg") == "application/octet-stream"


def test_pdf_header_after_junk_is_still_pdf() -> None:
    assert sniff_type(b"\x00" * 300 + b"%PDF-1.4\n") == "application/pdf"


def test_sniff_real_files_renamed(tmp_path: Path, shared_data: Path) -> None:
    # Content decides, whatever the name says.
    renamed = tmp_path / "notes.txt"
    renamed.write_bytes((shared_data / "pdq/misc-images/c.png").read_bytes())
    assert sniff_file(renamed) == "image/png"
    assert sniff_file(shared_data / "exif/heic/mobile/HMD_Nokia_8.3_5G_hdr.heif") == "image/heic"
    assert sniff_file(shared_data / "pdq/reg-test-input/dih/bridge-1-original.jpg") == "image/jpeg"
    gif = tmp_path / "x.bin"
    gif.write_bytes(encode(photo_like(16, 16).convert("P"), "GIF"))
    assert sniff_file(gif) == "image/gif"
    tiff = tmp_path / "y.dat"
    tiff.write_bytes(encode(photo_like(16, 16), "TIFF"))
    assert sniff_file(tiff) == "image/tiff"
    webp = tmp_path / "z"
    webp.write_bytes(encode(photo_like(16, 16), "WEBP"))
    assert sniff_file(webp) == "image/webp"
    bmp = tmp_path / "w"
    bmp.write_bytes(encode(photo_like(16, 16), "BMP"))
    assert sniff_file(bmp) == "image/bmp"
