"""Cryptographic digests in one read pass, and content-type sniffing by magic bytes.

The type of a seized file is decided from its bytes, never from its name: offenders rename
files (``holiday.txt`` holding a JPEG) and carved files have no name at all.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

#: How many leading bytes :func:`sniff_type` wants to see (it copes with fewer).
SNIFF_BYTES = 4096

OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class FileDigest:
    """Size in bytes and lower-case hex MD5, SHA-1 and SHA-256 of a file's content."""

    size: int
    md5: str
    sha1: str
    sha256: str


class MultiHasher:
    """Feeds the same bytes to MD5, SHA-1 and SHA-256 so a file is read only once."""

    __slots__ = ("_md5", "_sha1", "_sha256", "size")

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Add the next bytes of the content."""
        self._md5.update(data)
        self._sha1.update(data)
        self._sha256.update(data)
        self.size += len(data)

    def digest(self) -> FileDigest:
        """The digests of everything fed so far."""
        return FileDigest(self.size, self._md5.hexdigest(), self._sha1.hexdigest(),
                          self._sha256.hexdigest())


def hash_bytes(data: bytes | bytearray | memoryview) -> FileDigest:
    """Digests of an in-memory content."""
    hasher = MultiHasher()
    hasher.update(data)
    return hasher.digest()


def hash_stream(stream: BinaryIO, chunk: int = 1 << 20) -> FileDigest:
    """Digests of everything left in ``stream``, read in ``chunk``-byte blocks."""
    hasher = MultiHasher()
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buffer)
            if not n:
                break
            hasher.update(view[:n])
        else:
            block = stream.read(chunk)
            if not block:
                break
            hasher.update(block)
    return hasher.digest()


def hash_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> FileDigest:
    """Size, MD5, SHA-1 and SHA-256 of the file at ``path`` in a single read pass.

    Raises ``OSError`` (FileNotFoundError, PermissionError...) when the file cannot be read.
    """
    with open(path, "rb", buffering=0) as stream:
        return hash_stream(stream, chunk)


# --- content sniffing -----------------------------------------------------------------

# ISO base-media (ftyp) brands. Several HEIF files carry a generic major brand (mif1)
# and name the codec only among the compatible brands, so all brands are looked at.
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_QUICKTIME_BRANDS = {b"qt  "}
_3GPP2_PREFIX = b"3g2"
_3GPP_PREFIX = b"3gp"
_M4A_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42",
               b"mp71", b"avc1", b"dash", b"M4V ", b"M4VH", b"M4VP", b"MSNV", b"NDAS",
               b"f4v ", b"mmp4", b"XAVC", b"MQT "}
_CR3_BRANDS = {b"crx "}
# Classic QuickTime files may lack ftyp and start directly with one of these atoms.
_QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_BMP_DIB_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


def _ftyp_type(head: bytes) -> str | None:
    """MIME of an ISO base-media file from its ftyp box, or None when there is none."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[0:4], "big")
    end = min(len(head), box_size if 16 <= box_size <= 4096 else 64)
    major = head[8:12]
    compatible = [head[i:i + 4] for i in range(16, end - 3, 4)]
    brands = [major, *compatible]

    def any_in(group: Iterable[bytes]) -> bool:
        return any(b in group for b in brands)

    if major in _AVIF_BRANDS:
        return "image/avif"
    if major in _HEIC_BRANDS:
        return "image/heic"
    if major in _HEIF_BRANDS:
        if any_in(_AVIF_BRANDS):
            return "image/avif"
        if any_in(_HEIC_BRANDS):
            return "image/heic"
        return "image/heif"
    if major in _CR3_BRANDS:
        return "image/x-canon-cr3"
    if major in _QUICKTIME_BRANDS:
        return "video/quicktime"
    if major.startswith(_3GPP2_PREFIX):
        return "video/3gpp2"
    if major.startswith(_3GPP_PREFIX):
        return "video/3gpp"
    if major in _M4A_BRANDS:
        return "audio/mp4"
    if major in _MP4_BRANDS or any_in(_MP4_BRANDS):
        return "video/mp4"
    if any_in(_HEIC_BRANDS):
        return "image/heic"
    # An unknown brand in a well-formed ftyp box is still ISO base media.
    return "video/mp4"


def _ebml_type(head: bytes) -> str:
    """Matroska or WebM, from the EBML DocType found in the header."""
    doc_type_at = head.find(b"\x42\x82", 4, 64)
    if doc_type_at != -1 and head[doc_type_at + 3:doc_type_at + 7] == b"webm":
        return "video/webm"
    return "video/x-matroska"


def sniff_type(head: bytes, name: str = "") -> str:
    """MIME type of a content from its first bytes (pass at least :data:`SNIFF_BYTES`).

    Decided only from magic numbers; ``name`` is accepted so callers can pass it along,
    but an extension never changes the answer. Recognises JPEG, PNG, GIF, WebP, BMP,
    TIFF, HEIC/HEIF/AVIF, MP4/MOV/3GP, AVI, MKV/WebM, WMV/ASF, FLV, MPEG (PS, ES, TS),
    PDF, ZIP, 7z and RAR (plus WAV and Canon CR3); anything else is
    ``application/octet-stream``.
    """
    del name  # deliberately unused: the extension is not evidence of the type
    h = bytes(head[:SNIFF_BYTES])
    if h.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if h.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if h.startswith(b"RIFF") and len(h) >= 12:
        form = h[8:12]
        if form == b"WEBP":
            return "image/webp"
        if form == b"AVI ":
            return "video/x-msvideo"
        if form == b"WAVE":
            return "audio/wav"
    if h.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "image/tiff"
    if h.startswith(b"BM") and len(h) >= 18:
        dib = int.from_bytes(h[14:18], "little")
        if dib in _BMP_DIB_SIZES:
            return "image/bmp"
    ftyp = _ftyp_type(h)
    if ftyp is not None:
        return ftyp
    if len(h) >= 8 and h[4:8] in _QT_ATOMS and int.from_bytes(h[0:4], "big") >= 8:
        return "video/quicktime"
    if h.startswith(b"\x1a\x45\xdf\xa3"):
        return _ebml_type(h)
    if h.startswith(_ASF_GUID):
        return "video/x-ms-asf"
    if h.startswith(b"FLV\x01"):
        return "video/x-flv"
    if h.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "video/mpeg"
    if len(h) >= 377 and h[0] == 0x47 and h[188] == 0x47 and h[376] == 0x47:
        return "video/mp2t"
    # PDF readers accept the header anywhere in the first KiB, and so do offenders.
    if h.find(b"%PDF-", 0, 1024) != -1:
        return "application/pdf"
    if h.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "application/zip"
    if h.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "application/x-7z-compressed"
    if h.startswith((b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")):
        return "application/vnd.rar"
    return OCTET_STREAM


#: Types :func:`workstation.media.images.analyse_image` tries to decode.
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp",
                         "image/tiff", "image/heic", "image/heif", "image/avif"})


def is_image_type(mime: str) -> bool:
    """True for the still-image types the image analysis handles."""
    return mime in IMAGE_TYPES


def sniff_file(path: str | os.PathLike[str]) -> str:
    """MIME type of the file at ``path`` (reads only its first bytes)."""
    with open(Path(path), "rb") as stream:
        return sniff_type(stream.read(SNIFF_BYTES))
