"""Generated test media: noise, gradients and shapes drawn with numpy and Pillow."""

from __future__ import annotations

import io
import random
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw


def noise(size: int, seed: int = 0) -> bytes:
    """``size`` random-looking bytes, the same for the same seed (never os.urandom: a test's
    input must not change from one run to the next)."""
    return random.Random(seed).randbytes(size)


def photo_like(width: int = 640, height: int = 480, seed: int = 0) -> Image.Image:
    """An RGB image with a gradient, mild noise and a few filled shapes."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height)[:, None, None]
    x = np.linspace(0, 1, width)[None, :, None]
    base = rng.uniform(40, 200, 3) * (0.6 + 0.4 * x) * (0.7 + 0.3 * y)
    pixels = np.clip(base + rng.normal(0, 10, (height, width, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x0, x1 = sorted(int(v) for v in rng.integers(0, width, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height, 2))
        draw.ellipse((x0, y0, x1, y1), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return image


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def jpeg_bytes(width: int = 640, height: int = 480, seed: int = 0, quality: int = 90) -> bytes:
    return encode(photo_like(width, height, seed), "JPEG", quality=quality)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` 8-bit RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


# A source whose open() kills the worker process, standing in for a native decoder crash.
import os as _os  # noqa: E402
from dataclasses import dataclass as _dataclass  # noqa: E402

from workstation.media.walk import MediaSource as _MediaSource  # noqa: E402


@_dataclass(frozen=True, slots=True)
class CrashingSource(_MediaSource):
    """Kills the process that opens it (only ever opened in a worker)."""

    def open(self):  # type: ignore[no-untyped-def]
        _os._exit(3)
