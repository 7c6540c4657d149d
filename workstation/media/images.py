"""Still-image analysis: dimensions, PDQ perceptual hash, EXIF and an in-memory thumbnail.

Safety first, because seized media is hostile input:

* the declared pixel count is checked against a cap *before* any pixel is decoded
  (decompression bombs such as a PNG header claiming 100000 x 100000 fail in microseconds);
* truncated or malformed data is a :class:`CorruptImageError`, never a half-decoded picture
  passed on as evidence (Pillow's ``LOAD_TRUNCATED_IMAGES`` is never switched on);
* the thumbnail only ever exists as JPEG bytes in memory: nothing is written to disk.

Speed: PDQ reduces every image to 64 x 64 luma, so decoding at full resolution is waste.
JPEGs are decoded with DCT scaling (``Image.draft``) to the smallest size whose long side
is still at least ``pdq_side`` (512), other formats are box-reduced by an integer factor;
the hash is then that of the image resized (triangle filter) to a long side of ``pdq_side``.
On the PDQ reference corpus this keeps every hash within 10 bits of the reference
implementations (tolerance 16); see ``tests/core/media/test_images_pdq.py``.
``pdq_side=None`` hashes the full-resolution image (bit-exact with the Java reference on the
bridge photo).

That resize and PDQ's own first steps (luma; two passes of an edge-normalised box filter of
width ceil(side / 128) along each axis; 64 evenly spaced samples) are all linear, so they
collapse into one 64 x n weight matrix per axis, built once per image size
(:func:`_pdq_axis`). The 64 x 64 luma buffer comes from a few weighted sums per sample
instead of resizing the picture and filtering every pixel (about 0.4 ms instead of 4 ms
for a megapixel photo), and ``pdqhash`` hashes that buffer, on which its filter is the
identity. The hashes are those of the resize-then-hash path (bit for bit on the reference
corpus, within 2 bits on generated photos of odd sizes). Images already within
``pdq_side`` go to ``pdqhash`` unchanged.

Pixel modes: EXIF orientation is applied before hashing and thumbnailing. Alpha is dropped
for PDQ (what the reference tools do, so hashes interoperate) and composited over white for
the thumbnail. 16-bit and 32-bit greyscale are scaled to 8 bits (``>> 8``), not clipped, so
the hash describes the picture a viewer shows. Palette, CMYK, 1-bit and YCbCr become RGB.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pdqhash
from PIL import Image, UnidentifiedImageError

from workstation.media.errors import (CorruptImageError, DecompressionBombError, MediaError,
                                      UnsupportedFormatError)
from workstation.media.exif import ExifInfo, read_exif
from workstation.media.hashing import SNIFF_BYTES, sniff_type

#: Default cap on declared pixels (the same as Pillow's hard limit, ~179 megapixels:
#: above any camera, below what would exhaust a laptop when decoded).
DEFAULT_MAX_PIXELS = 2 * 89_478_485
DEFAULT_THUMB_SIZE = 256
DEFAULT_PDQ_SIDE = 512
THUMB_JPEG_QUALITY = 80

_HEIF_TYPES = {"image/heic", "image/heif"}
_heif_lock = threading.Lock()
_heif_state: bool | None = None


@dataclass(frozen=True, slots=True)
class ImageAnalysis:
    """What the image analysis found.

    ``width``/``height`` are the full-resolution dimensions as displayed (after EXIF
    orientation). ``pdq_hex`` is 64 lower-case hex digits; ``pdq_quality`` 0..100 (below 50
    the hash is not reliable for matching). ``thumbnail_jpeg`` is a JPEG whose long side
    is at most the requested thumbnail size. ``format`` is Pillow's format name
    (``"JPEG"``, ``"PNG"``...) and ``frames`` the frame/page count (1 for stills).
    """

    width: int
    height: int
    pdq_hex: str
    pdq_quality: int
    exif: ExifInfo | None
    thumbnail_jpeg: bytes
    format: str = ""
    frames: int = 1


def heif_supported() -> bool:
    """True when the optional ``pillow-heif`` plugin is importable (registered on first use)."""
    global _heif_state
    with _heif_lock:
        if _heif_state is None:
            try:
                import pillow_heif  # type: ignore[import-not-found]

                pillow_heif.register_heif_opener()
                _heif_state = True
            except Exception:  # not installed, or a broken native library
                _heif_state = False
        return _heif_state


def _read_input(data: bytes | bytearray | memoryview | str | os.PathLike[str]) -> tuple[bytes, str | None]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data), None
    path = Path(data)
    try:
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise MediaError(f"cannot read file: {exc.strerror or exc}", source=str(path),
                         reason="unreadable") from exc


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Open (header only) and enforce the pixel cap before anything is decoded."""
    mime = sniff_type(data[:SNIFF_BYTES])
    if mime in _HEIF_TYPES and not heif_supported():
        kind = "HEIC" if mime == "image/heic" else "HEIF"
        raise UnsupportedFormatError(
            f"unsupported format: HEIF ({kind}) cannot be decoded by this installation "
            "(the optional pillow-heif package is not installed)")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise DecompressionBombError(f"decompression bomb refused: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedFormatError(f"unsupported format: not a recognised image ({mime})") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise CorruptImageError(f"corrupt image header: {exc}") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise CorruptImageError(f"image declares an empty size {width}x{height}")
    if width * height > max_pixels:
        raise DecompressionBombError(
            f"decompression bomb refused: image declares {width}x{height} = {width * height:,} "
            f"pixels, above the cap of {max_pixels:,}")
    return image


def _decode(image: Image.Image, target: int | None) -> Image.Image:
    """Decode the first frame, shrunk cheaply while the long side stays >= ``target``."""
    if target and image.format in ("JPEG", "MPO"):
        width, height = image.size
        scale = target / max(width, height)
        if scale < 1.0:
            # draft() keeps each side >= the request, so ask for the aspect-correct size.
            image.draft("RGB", (max(1, int(width * scale + 0.999)), max(1, int(height * scale + 0.999))))
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise DecompressionBombError(f"decompression bomb refused: {exc}") from exc
    except OSError as exc:
        text = str(exc)
        if "truncated" in text:
            raise CorruptImageError(f"truncated image: {text}", reason="truncated") from exc
        raise CorruptImageError(f"corrupt image data: {text}") from exc
    except (SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error) as exc:
        raise CorruptImageError(f"corrupt image data: {exc}") from exc
    if target:
        factor = max(image.size) // target
        if factor >= 2:
            try:
                image = image.reduce(factor)
            except ValueError:  # a mode reduce() does not handle: reduce after conversion
                pass
    return image


_TRANSPOSE = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


def apply_orientation(image: Image.Image, orientation: int | None) -> Image.Image:
    """The image as it should be displayed for EXIF orientation 1..8 (others: unchanged)."""
    for step in _TRANSPOSE.get(orientation or 1, ()):
        image = image.transpose(step)
    return image


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    """Greyscale with more than 8 bits -> 'L', scaled rather than clipped."""
    array = np.asarray(image)
    if image.mode == "F":
        array = np.nan_to_num(array.astype(np.float64))
        low, high = float(array.min()), float(array.max())
        if 0.0 <= low and high <= 1.0:
            out = array * 255.0
        elif 0.0 <= low and high <= 255.0:
            out = array
        else:
            out = (array - low) * (255.0 / (high - low)) if high > low else np.zeros_like(array)
        return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))
    values = array.astype(np.int64)
    if values.min() < 0 or values.max() > 0xFFFF:
        low, high = int(values.min()), int(values.max())
        values = (values - low) * 255 // max(1, high - low)
    elif image.mode.startswith("I;16") or values.max() > 255:
        values = values >> 8
    return Image.fromarray(values.astype(np.uint8))


def to_rgb(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """(RGB image for hashing, RGBA image for thumbnails when it has transparency, else None)."""
    mode = image.mode
    if mode == "RGB":
        return image, None
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        mode = image.mode
        if mode == "RGB":
            return image, None
    if mode.startswith("I") or mode == "F":
        return _scale_to_8bit(image).convert("RGB"), None
    if mode in ("RGBA", "LA", "RGBa", "La", "PA"):
        rgba = image.convert("RGBA")
        return image.convert("RGB"), rgba
    try:
        return image.convert("RGB"), None
    except (ValueError, OSError) as exc:
        raise UnsupportedFormatError(f"unsupported pixel mode {mode!r}: {exc}") from exc


def _resize_long_side(image: Image.Image, side: int) -> Image.Image:
    width, height = image.size
    long_side = max(width, height)
    if long_side <= side:
        return image
    scale = side / long_side
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=None)


def pdq_of_rgb(rgb: Image.Image) -> tuple[str, int]:
    """PDQ hash (64 hex digits) and quality of an RGB image, as ``pdqhash`` computes them."""
    array = np.asarray(rgb)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ValueError("pdq_of_rgb needs an 8-bit RGB image")
    vector, quality = pdqhash.compute(np.ascontiguousarray(array))
    return _bits_to_hex(vector), int(quality)


def _bits_to_hex(vector: Any) -> str:
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex()


# ---------------------------------------------------------------- PDQ of a reduced image
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
_OFFSETS = np.array([(r, g, b) for r in range(-2, 3) for g in range(-2, 3) for b in range(-2, 3)])
#: For a fraction f/256 of a grey level: the (dr, dg, db) offsets whose luma adds closest to it.
_OFFSET_FOR_FRACTION = _OFFSETS[np.abs(
    (_OFFSETS @ _LUMA_WEIGHTS)[None, :] - ((np.arange(256) + 0.5) / 256)[:, None]).argmin(axis=1)]


def _box_window(n: int) -> int:
    """Width of the box filter PDQ uses along an axis of ``n`` samples reduced to 64."""
    return max(1, (n + 127) // 128)


def _resize_rows(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Banded weights (row i: ``weights[i]`` from column ``starts[i]``) of a triangle-filter
    resize of ``n`` samples to ``m`` (m <= n), the filter widened by the reduction factor
    so every input sample counts."""
    scale = n / m
    support = max(scale, 1.0)
    centres = (np.arange(m) + 0.5) * scale
    lo = np.maximum((centres - support + 0.5).astype(np.int64), 0)
    hi = np.minimum((centres + support + 0.5).astype(np.int64), n)
    k = int((hi - lo).max())
    x = lo[:, None] + np.arange(k)[None, :]
    w = np.maximum(0.0, 1.0 - np.abs((x - centres[:, None] + 0.5) / support))
    w[x >= hi[:, None]] = 0.0
    return lo, w / w.sum(axis=1, keepdims=True)


def _box_rows(m: int, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Banded weights of PDQ's edge-normalised box filter over ``m`` samples, output at
    ``positions``: the mean of the window, cut short at the ends."""
    w = _box_window(m)
    half = (w + 2) // 2
    lo = np.maximum(positions + half - w, 0)
    hi = np.minimum(positions + half - 1, m - 1)
    k = np.arange(w)[None, :]
    return lo, np.where(k <= (hi - lo)[:, None], 1.0 / (hi - lo + 1)[:, None], 0.0)


def _compose(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray],
             width: int) -> tuple[np.ndarray, np.ndarray]:
    """The banded product of banded ``a`` (rows x m) and ``b`` (m x ``width``)."""
    a_starts, a_weights = a
    b_starts, b_weights = b
    rows, ka = a_weights.shape
    kb = b_weights.shape[1]
    middle = np.minimum(a_starts[:, None] + np.arange(ka)[None, :], len(b_starts) - 1)  # zero weight past the end
    columns = b_starts[middle][:, :, None] + np.arange(kb)[None, None, :]
    dense = np.zeros((rows, width + kb))
    np.add.at(dense, (np.arange(rows)[:, None, None], columns), a_weights[:, :, None] * b_weights[middle])
    dense = dense[:, :width]
    nonzero = dense != 0
    first = nonzero.argmax(axis=1)
    span = width - nonzero[:, ::-1].argmax(axis=1) - first
    k = int(span.max())
    index = np.minimum(first[:, None] + np.arange(k)[None, :], width - 1)
    return first, np.where(np.arange(k)[None, :] < span[:, None], np.take_along_axis(dense, index, axis=1), 0.0)


@functools.lru_cache(maxsize=256)
def _pdq_axis(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """One axis of "resize ``n`` samples to ``m``, then PDQ's filter and its 64 samples" as
    (indices, weights), each (64, K): sample s is ``sum(x[indices[s]] * weights[s])``."""
    samples = ((np.arange(64) + 0.5) * m / 64).astype(np.int64)
    # Sampling after the second box pass, then the first pass, then the resize.
    op = _compose(_box_rows(m, samples), _box_rows(m, np.arange(m)), m)
    if m != n:
        op = _compose(op, _resize_rows(n, m), n)
    starts, weights = op
    indices = np.minimum(starts[:, None] + np.arange(weights.shape[1])[None, :], n - 1)
    weights = weights.astype(np.float32)
    indices.setflags(write=False)  # cached: shared by every later image of this size
    weights.setflags(write=False)
    return indices, weights


def _pdq_buffer(rgb: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """PDQ's 64 x 64 luma buffer of ``rgb`` resized to ``size`` (float, 0..255)."""
    luma = np.asarray(rgb.convert("F"))  # Pillow: the same ITU-R 601 luma pdqhash computes, in float
    col_idx, col_w = _pdq_axis(rgb.width, size[0])
    row_idx, row_w = _pdq_axis(rgb.height, size[1])
    columns = np.einsum("hsk,sk->hs", luma[:, col_idx], col_w)
    return np.einsum("skc,sk->sc", columns[row_idx], row_w)


def _pdq_rgb_of_buffer(buffer: np.ndarray) -> Image.Image:
    """A 64 x 64 RGB image whose luma, as ``pdqhash`` computes it, is ``buffer``.

    ``pdqhash`` takes 8-bit RGB; plain grey would round the buffer to whole levels, which
    moves bits of flat pictures. Spreading each value over R, G and B (offsets of -2..2
    around it) keeps the luma within 0.03 of the value."""
    values = np.clip(buffer, 0.0, 255.0)
    base = np.clip(np.floor(values), 2, 253)
    fraction = np.clip(((values - base) * 256).astype(np.int64), 0, 255)
    rgb = base[:, :, None] + _OFFSET_FOR_FRACTION[fraction]
    edge = (values < 2) | (values >= 254)
    rgb[edge] = np.rint(values[edge])[:, None]
    return Image.fromarray(np.ascontiguousarray(rgb.astype(np.uint8)), "RGB")


def pdq_input(rgb: Image.Image, pdq_side: int | None = DEFAULT_PDQ_SIDE) -> Image.Image:
    """What :func:`analyse_image` hands to ``pdqhash`` for an RGB image: the image itself
    when it is within ``pdq_side`` (or ``pdq_side`` is None), else a 64 x 64 image standing
    for it resized to a long side of ``pdq_side`` (see the module doc)."""
    width, height = rgb.size
    if not pdq_side or max(width, height) <= pdq_side:
        return rgb
    scale = pdq_side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return _pdq_rgb_of_buffer(_pdq_buffer(rgb, size))


def pdq_dihedral_of_rgb(rgb: Image.Image) -> tuple[list[str], int]:
    """The 8 dihedral PDQ hashes (original, rot90, rot180, rot270, flipx, flipy,
    flip-plus-1, flip-minus-1) of an RGB image and its quality, in one pass."""
    vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(np.asarray(rgb)))
    return [_bits_to_hex(v) for v in vectors], int(quality)


def load_for_pdq(data: bytes | str | os.PathLike[str], *, pdq_side: int | None = DEFAULT_PDQ_SIDE,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode, orient and convert an image exactly as :func:`analyse_image` hashes it
    (:func:`pdq_input`: 64 x 64 for an image larger than ``pdq_side``)."""
    raw, source = _read_input(data)
    try:
        image = _open(raw, max_pixels)
        exif = read_exif(raw, image)
        image = _decode(image, pdq_side)
        image = apply_orientation(image, exif.orientation if exif else None)
        rgb, _ = to_rgb(image)
        return pdq_input(rgb, pdq_side)
    except MediaError as exc:
        raise exc.with_source(source) if source else exc


def _thumbnail(image: Image.Image, size: int) -> bytes:
    # An integer box reduction first is several times cheaper than a filtered resize of
    # the same span, and a box filter is a fine anti-alias for a review thumbnail.
    factor = max(image.size) // size
    if factor >= 2:
        image = image.reduce(factor)
    thumb = _resize_long_side(image, size)
    if thumb.mode == "RGBA":
        background = Image.new("RGBA", thumb.size, (255, 255, 255, 255))
        thumb = Image.alpha_composite(background, thumb).convert("RGB")
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=THUMB_JPEG_QUALITY)
    return out.getvalue()


def analyse_image(data: bytes | bytearray | memoryview | str | os.PathLike[str], *,
                  thumb_size: int = DEFAULT_THUMB_SIZE, max_pixels: int = DEFAULT_MAX_PIXELS,
                  pdq_side: int | None = DEFAULT_PDQ_SIDE,
                  exif: ExifInfo | None | bool = True) -> ImageAnalysis:
    """Analyse one still image given as encoded bytes or a path.

    Returns dimensions, PDQ hash and quality, EXIF (None when the file has none) and a JPEG
    thumbnail (long side <= ``thumb_size``) built in memory. ``pdq_side`` is the long side
    the image is reduced to before PDQ (None: full resolution). ``exif`` may be a
    pre-computed :class:`ExifInfo` (or None) to skip re-reading it.

    Raises :class:`DecompressionBombError` when the declared size exceeds ``max_pixels``,
    :class:`CorruptImageError` for truncated/malformed data, :class:`UnsupportedFormatError`
    for formats this build cannot decode (HEIF without pillow-heif, non-images). Safe to call
    from several threads or processes at once.
    """
    raw, source = _read_input(data)
    try:
        image = _open(raw, max_pixels)
        frames = int(getattr(image, "n_frames", 1) or 1)
        fmt = image.format or ""
        width, height = image.size
        info = read_exif(raw, image) if exif is True else (exif or None)
        orientation = info.orientation if info else None
        target = max(pdq_side or 0, thumb_size) if pdq_side else None
        decoded = _decode(image, target)
        decoded = apply_orientation(decoded, orientation)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        rgb, rgba = to_rgb(decoded)
        pdq_hex, quality = pdq_of_rgb(pdq_input(rgb, pdq_side))
        thumbnail = _thumbnail(rgba if rgba is not None else rgb, thumb_size)
    except MediaError as exc:
        raise exc.with_source(source) if source else exc
    except MemoryError as exc:
        raise DecompressionBombError("image too large to decode in memory", source=source) from exc
    return ImageAnalysis(width=width, height=height, pdq_hex=pdq_hex, pdq_quality=quality,
                         exif=info, thumbnail_jpeg=thumbnail, format=fmt, frames=frames)
