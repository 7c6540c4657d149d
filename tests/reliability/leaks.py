"""Scanning folders for plaintext that must never be on disk outside an explicit export.

A finding is a file holding a canary string (UTF-8, UTF-16-LE or UTF-16-BE), an image
signature (a file that starts as JPEG or PNG, the full 8-byte PNG signature anywhere, a
JPEG start followed by a JFIF/Exif marker anywhere), or a 64-byte chunk cut from one of
the session's own images (a copy of image data, even without its header).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8\xff"
_JPEG_MARKER = re.compile(rb"\xff\xd8\xff[\xe0-\xef].{2}(?:JFIF|Exif)", re.S)
MAX_SCAN_BYTES = 512 << 20


@dataclass(frozen=True)
class Finding:
    path: str
    what: str


def _needles(canaries: Iterable[str]) -> list[tuple[str, bytes]]:
    out = []
    for c in canaries:
        out += [(f"canary {c} (utf-8)", c.encode("utf-8")), (f"canary {c} (utf-16-le)", c.encode("utf-16-le")),
                (f"canary {c} (utf-16-be)", c.encode("utf-16-be"))]
    return out


def scan_file(path: Path, needles: list[tuple[str, bytes]], chunks: list[bytes]) -> list[Finding]:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_SCAN_BYTES)
    except OSError:
        return []  # vanished or unreadable (a socket, a lock file)
    found = [Finding(str(path), what) for what, needle in needles if needle in data]
    if data.startswith(JPEG_START):
        found.append(Finding(str(path), "a JPEG file"))
    elif data.startswith(PNG_SIGNATURE[:4]):
        found.append(Finding(str(path), "a PNG file"))
    if PNG_SIGNATURE in data:
        found.append(Finding(str(path), "PNG signature inside"))
    if _JPEG_MARKER.search(data):
        found.append(Finding(str(path), "JPEG header inside"))
    for i, chunk in enumerate(chunks):
        if chunk in data:
            found.append(Finding(str(path), f"bytes of session image #{i}"))
    return found


def scan(roots: Iterable[Path], canaries: Iterable[str], image_chunks_hex: Iterable[str] = (),
         *, exclude: Iterable[Path] = ()) -> list[Finding]:
    """Every finding under ``roots`` (recursively), skipping ``exclude`` folders."""
    needles = _needles(canaries)
    chunks = [bytes.fromhex(h) for h in image_chunks_hex]
    skip = [p.resolve() for p in exclude]
    out: list[Finding] = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            continue
        files = [root] if root.is_file() else (p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        for f in files:
            rf = f.resolve()
            if any(rf == s or s in rf.parents for s in skip):
                continue
            out += scan_file(f, needles, chunks)
    return out


def files_under(roots: Iterable[Path]) -> list[str]:
    """Every file under ``roots`` (for the report when a leak is found)."""
    out = []
    for root in roots:
        if Path(root).is_dir():
            out += sorted(str(p) for p in Path(root).rglob("*") if p.is_file())
    return out
