"""Reviewer protection: thumbnails are blurred and greyed in memory before anything draws them.

The database hands out thumbnail JPEG bytes; :func:`protect` decodes them into a QImage
and, before that image leaves the function, replaces its pixels with a heavily blurred
(downscaled to a few pixels, then smoothly enlarged) and/or greyscale version. The clear
image is decoded only by :func:`decode_clear`, which the review grid calls for the one
tile the officer deliberately reveals, after the reveal was audited.

Thread: any (QImage, unlike QPixmap, may be used off the UI thread), so the read lane
prepares protected images and the UI thread only paints them. The bytes are decoded by
Pillow, not by ``QImage.loadFromData``: Qt's image readers probe their plugins (the SVG
one opens a QTextStream, which connects a signal) while the binding keeps the GIL, and a
UI thread disconnecting a signal holds Qt's connection lock while it waits for the GIL —
the two threads then wait for each other forever.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

#: Long side the picture is reduced to before it is enlarged again: what survives of it.
BLUR_SIDE = 10


def decode_clear(data: bytes) -> QImage:
    """The unprotected picture (only for a reveal). A null QImage when undecodable."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return QImage()
    w, h = rgb.size
    # The QImage reads the bytes in place: copy() gives it pixels of its own.
    return QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def protect_image(image: QImage, *, blur: bool = True, grey: bool = True) -> QImage:
    """A protected copy of ``image``: blurred beyond recognition and/or greyscale."""
    if image.isNull():
        return image
    out = image.convertToFormat(QImage.Format.Format_RGB32)
    if blur:
        w, h = out.width(), out.height()
        scale = BLUR_SIDE / max(w, h)
        small = out.scaled(max(1, round(w * scale)), max(1, round(h * scale)),
                           Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
        # Two smooth enlargements: one step from ten pixels leaves visible diamonds.
        middle = small.scaled(max(1, w // 4), max(1, h // 4), Qt.AspectRatioMode.IgnoreAspectRatio,
                              Qt.TransformationMode.SmoothTransformation)
        out = middle.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
    if grey:
        out = out.convertToFormat(QImage.Format.Format_Grayscale8)
    return out


def protect(data: bytes, *, blur: bool = True, grey: bool = True) -> QImage:
    """Decode thumbnail bytes straight into their protected form (null when undecodable)."""
    return protect_image(decode_clear(data), blur=blur, grey=grey)
