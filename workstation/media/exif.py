"""EXIF facts an investigator uses: camera, capture time (with its UTC offset) and place.

Two readers feed one interpreter: Pillow's ``getexif()`` (fast, already parsed when the
image is opened) and ``exifread`` as a fallback for files Pillow cannot parse or cannot
open at all (HEIF without a decoder plugin). Both are reduced to a neutral
``tag name -> value`` mapping, so the odd forms real cameras write are handled once:

* GPS coordinates as degrees/minutes/seconds, degrees with fractional minutes and zero
  seconds (Kodak), a single decimal-degree value, or signed rationals (Nokia);
* empty or broken GPS IFDs (Canon 40D, PlayStation screenshots): no location, no error;
* zero-length and space/NUL-padded strings, ``0000:00:00 00:00:00`` dates;
* a corrupt MakerNote: the standard tags still come through (MakerNotes are never read).

Times: ``captured_local`` is the camera's wall-clock time as written (naive).
``offset_minutes`` comes from OffsetTimeOriginal (then OffsetTimeDigitized); when absent it
is derived from the GPS receiver's UTC time-of-day compared with the local time, rounded to
15 minutes (the GPS date is not trusted: Nikon writes a wrong one). ``captured_utc`` is the
local time minus that offset, timezone-aware (UTC), or None when the offset is unknown.
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

_log = logging.getLogger(__name__)

# Tag numbers (EXIF 2.32 / TIFF 6). Only the ones we interpret.
_IFD_EXIF = 0x8769
_IFD_GPS = 0x8825
_T_MAKE, _T_MODEL, _T_ORIENTATION, _T_SOFTWARE, _T_DATETIME = 0x010F, 0x0110, 0x0112, 0x0131, 0x0132
_T_DT_ORIGINAL, _T_DT_DIGITIZED = 0x9003, 0x9004
_T_OFFSET, _T_OFFSET_ORIGINAL, _T_OFFSET_DIGITIZED = 0x9010, 0x9011, 0x9012
_T_SUBSEC_ORIGINAL, _T_SUBSEC_DIGITIZED = 0x9291, 0x9292
_G_LAT_REF, _G_LAT, _G_LON_REF, _G_LON = 1, 2, 3, 4
_G_ALT_REF, _G_ALT, _G_TIME, _G_DATE = 5, 6, 7, 29

# Neutral names used between the readers and the interpreter.
_IFD0_NAMES = {_T_MAKE: "make", _T_MODEL: "model", _T_ORIENTATION: "orientation",
               _T_SOFTWARE: "software", _T_DATETIME: "datetime",
               # some writers misplace these in IFD0; the Exif IFD wins when both exist
               _T_DT_ORIGINAL: "datetime_original", _T_OFFSET_ORIGINAL: "offset_original"}
_EXIF_NAMES = {_T_DT_ORIGINAL: "datetime_original", _T_DT_DIGITIZED: "datetime_digitized",
               _T_OFFSET: "offset", _T_OFFSET_ORIGINAL: "offset_original",
               _T_OFFSET_DIGITIZED: "offset_digitized", _T_SUBSEC_ORIGINAL: "subsec_original",
               _T_SUBSEC_DIGITIZED: "subsec_digitized"}
_GPS_NAMES = {_G_LAT_REF: "gps_lat_ref", _G_LAT: "gps_lat", _G_LON_REF: "gps_lon_ref",
              _G_LON: "gps_lon", _G_ALT_REF: "gps_alt_ref", _G_ALT: "gps_alt",
              _G_TIME: "gps_time", _G_DATE: "gps_date"}
_EXIFREAD_NAMES = {
    "Image Make": "make", "Image Model": "model", "Image Orientation": "orientation",
    "Image Software": "software", "Image DateTime": "datetime",
    "Image DateTimeOriginal": "datetime_original",
    "EXIF DateTimeOriginal": "datetime_original", "EXIF DateTimeDigitized": "datetime_digitized",
    "EXIF OffsetTime": "offset", "EXIF OffsetTimeOriginal": "offset_original",
    "EXIF OffsetTimeDigitized": "offset_digitized",
    "EXIF SubSecTimeOriginal": "subsec_original", "EXIF SubSecTimeDigitized": "subsec_digitized",
    "GPS GPSLatitudeRef": "gps_lat_ref", "GPS GPSLatitude": "gps_lat",
    "GPS GPSLongitudeRef": "gps_lon_ref", "GPS GPSLongitude": "gps_lon",
    "GPS GPSAltitudeRef": "gps_alt_ref", "GPS GPSAltitude": "gps_alt",
    "GPS GPSTimeStamp": "gps_time", "GPS GPSDate": "gps_date", "GPS GPSDateStamp": "gps_date",
}

#: Offsets that exist in civil time: UTC-12:00 ... UTC+14:00.
_MIN_OFFSET_MIN, _MAX_OFFSET_MIN = -12 * 60, 14 * 60


@dataclass(frozen=True, slots=True)
class ExifInfo:
    """The EXIF facts of one image. Every field is None when the file does not state it.

    ``offset_source`` says where ``offset_minutes`` came from: ``"OffsetTimeOriginal"``,
    ``"OffsetTimeDigitized"``, ``"gps"`` (derived from GPS time) or None.
    ``modified_local`` is IFD0 DateTime, which editing software rewrites, so it is kept
    apart from the capture time.
    """

    make: str | None = None
    model: str | None = None
    captured_local: datetime | None = None
    offset_minutes: int | None = None
    captured_utc: datetime | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = None
    orientation: int | None = None
    software: str | None = None
    modified_local: datetime | None = None
    offset_source: str | None = None

    @property
    def has_location(self) -> bool:
        """True when both latitude and longitude are known."""
        return self.gps_lat is not None and self.gps_lon is not None


# --- readers ---------------------------------------------------------------------------

def raw_tags_from_pillow(exif: Any) -> dict[str, Any]:
    """Neutral tag mapping from a Pillow ``Image.Exif``; a broken sub-IFD is skipped."""
    raw: dict[str, Any] = {}
    for tag, name in _IFD0_NAMES.items():
        value = exif.get(tag)
        if value is not None:
            raw[name] = value
    for ifd, names in ((_IFD_EXIF, _EXIF_NAMES), (_IFD_GPS, _GPS_NAMES)):
        try:
            sub = exif.get_ifd(ifd)
        except Exception as exc:  # a malformed sub-IFD must not cost the other tags
            _log.debug("EXIF sub-IFD %#x unreadable: %s", ifd, exc)
            continue
        if not isinstance(sub, Mapping):
            continue
        for tag, name in names.items():
            value = sub.get(tag)
            if value is not None:
                raw[name] = value
    return raw


def raw_tags_from_exifread(data: bytes) -> dict[str, Any]:
    """Neutral tag mapping read with exifread (JPEG, TIFF, HEIF, PNG, WebP)."""
    import exifread  # imported lazily: only needed for files Pillow cannot read

    logging.getLogger("exifread").setLevel(logging.ERROR)
    try:
        tags = exifread.process_file(io.BytesIO(data), details=False)
    except Exception as exc:  # exifread raises a zoo of exceptions on bad input
        _log.debug("exifread failed: %s", exc)
        return {}
    raw: dict[str, Any] = {}
    for key, name in _EXIFREAD_NAMES.items():
        tag = tags.get(key)
        if tag is None:
            continue
        values = getattr(tag, "values", tag)
        if isinstance(values, list) and len(values) == 1 and name not in ("gps_lat", "gps_lon", "gps_time"):
            values = values[0]
        if name not in raw or key.startswith("EXIF"):
            raw[name] = values
    return raw


def read_exif(data: bytes, image: Any | None = None) -> ExifInfo | None:
    """EXIF facts of an encoded image, or None when it carries no EXIF at all.

    ``image`` may be the already-opened Pillow image of ``data`` (saves a second parse).
    Never raises for malformed metadata: what can be read is returned.
    """
    raw: dict[str, Any] = {}
    if image is not None:
        try:
            exif = image.getexif()
            raw = raw_tags_from_pillow(exif) if len(exif) else {}
        except Exception as exc:
            _log.debug("Pillow EXIF failed, trying exifread: %s", exc)
            raw = raw_tags_from_exifread(data)
    else:
        raw = raw_tags_from_exifread(data)
    if not raw:
        return None
    return interpret(raw)


# --- interpretation ---------------------------------------------------------------------

def _text(value: Any) -> str | None:
    """A clean string: bytes decoded, NULs and padding stripped, empty -> None."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).split(b"\x00", 1)[0].decode("utf-8", "replace")
    elif isinstance(value, (list, tuple)):
        return None
    value = str(value).replace("\x00", " ").strip()
    return value or None


def _number(value: Any) -> float | None:
    """A finite float from an int, float, Fraction, Pillow IFDRational or exifread Ratio."""
    if value is None or isinstance(value, (str, bytes, bytearray)):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        num, den = getattr(value, "numerator", None), getattr(value, "denominator", None)
        if num is None or not den:
            return None
        result = float(num) / float(den)
    return result if math.isfinite(result) else None


def _numbers(value: Any) -> list[float | None]:
    if isinstance(value, (list, tuple)):
        return [_number(v) for v in value]
    return [_number(value)]


def _ref(value: Any) -> str | None:
    text = _text(value)
    return text[0].upper() if text else None


def _coordinate(value: Any, ref: Any, limit: float) -> float | None:
    """Decimal degrees from the forms cameras write; None when absent or impossible."""
    parts = _numbers(value)
    if not parts or parts[0] is None or any(p is None for p in parts[:3]):
        return None
    degrees = parts[0]
    minutes = parts[1] if len(parts) > 1 else 0.0
    seconds = parts[2] if len(parts) > 2 else 0.0
    assert degrees is not None and minutes is not None and seconds is not None
    negative = degrees < 0 or minutes < 0 or seconds < 0  # signed rationals without a ref
    result = abs(degrees) + abs(minutes) / 60.0 + abs(seconds) / 3600.0
    if _ref(ref) in ("S", "W"):
        negative = True
    if result > limit:
        return None
    return -result if negative else result


def _altitude(value: Any, ref: Any) -> float | None:
    parts = _numbers(value)
    if not parts or parts[0] is None:
        return None
    alt = parts[0]
    ref_value = ref
    if isinstance(ref, (bytes, bytearray)):
        ref_value = ref[0] if ref else 0
    elif isinstance(ref, (list, tuple)):
        ref_value = ref[0] if ref else 0
    if _number(ref_value) == 1:  # 1 = below sea level
        alt = -abs(alt)
    return alt


_DT_RE = re.compile(
    r"^\s*(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?")
_OFFSET_RE = re.compile(r"^\s*([+-])(\d{1,2}):?(\d{2})\s*$")


def parse_exif_datetime(value: Any) -> tuple[datetime | None, int | None]:
    """(naive datetime, embedded offset in minutes) from an EXIF date string.

    Accepts ``YYYY:MM:DD HH:MM:SS`` and the variants writers produce (``-`` separators,
    ``T``, fractional seconds, a trailing ``Z``/``+hh:mm``). Blank or zero dates give None.
    """
    text = _text(value)
    if not text:
        return None, None
    match = _DT_RE.match(text)
    if not match:
        return None, None
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    if year < 1800:
        return None, None
    try:
        # Some cameras write second 60 for a leap second; clamp rather than lose the date.
        stamp = datetime(year, month, day, hour, minute, min(second, 59), micro)
    except ValueError:
        return None, None
    zone = match.group(8)
    offset = None
    if zone == "Z":
        offset = 0
    elif zone:
        offset = parse_offset(zone)
    return stamp, offset


def parse_offset(value: Any) -> int | None:
    """Minutes east of UTC from an OffsetTime string (``+03:00``, ``-0530``); else None."""
    text = _text(value)
    if not text:
        return None
    match = _OFFSET_RE.match(text)
    if not match:
        return None
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    if int(match.group(3)) >= 60:
        return None
    minutes = -minutes if match.group(1) == "-" else minutes
    if not _MIN_OFFSET_MIN <= minutes <= _MAX_OFFSET_MIN:
        return None
    return minutes


def _subsec(value: Any) -> int:
    text = _text(value)
    if not text:
        return 0
    digits = re.match(r"\d+", text.strip())
    return int(digits.group(0)[:6].ljust(6, "0")) if digits else 0


def _gps_seconds(value: Any) -> float | None:
    parts = _numbers(value)
    if len(parts) != 3 or any(p is None for p in parts):
        return None
    h, m, s = parts  # type: ignore[misc]
    assert h is not None and m is not None and s is not None
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 61):
        return None
    return h * 3600.0 + m * 60.0 + s


def _gps_date(value: Any) -> date | None:
    text = _text(value)
    if not text:
        return None
    match = re.match(r"^(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})", text)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def offset_from_gps(local: datetime, gps_time: Any, gps_date: Any = None) -> int | None:
    """UTC offset in minutes, rounded to 15, from local capture time vs GPS UTC time.

    When the GPS date gives a plausible offset (-12h..+14h) the full timestamps are used;
    otherwise (missing or wrong GPS date, as Nikon writes) only the time of day is compared
    and the difference is folded into -10h..+14h.
    """
    seconds = _gps_seconds(gps_time)
    if seconds is None:
        return None
    utc_day = _gps_date(gps_date)
    diff: float | None = None
    if utc_day is not None:
        utc = datetime.combine(utc_day, datetime.min.time()) + timedelta(seconds=seconds)
        full = (local - utc).total_seconds()
        if _MIN_OFFSET_MIN * 60 - 450 <= full <= _MAX_OFFSET_MIN * 60 + 450:
            diff = full
    if diff is None:
        local_seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        diff = (local_seconds - seconds) % 86400.0
        if diff > _MAX_OFFSET_MIN * 60 + 450:
            diff -= 86400.0
    minutes = int(round(diff / 900.0)) * 15
    if not _MIN_OFFSET_MIN <= minutes <= _MAX_OFFSET_MIN:
        return None
    return minutes


def _orientation(value: Any) -> int | None:
    number = _number(value[0] if isinstance(value, (list, tuple)) and value else value)
    if number is None or number != int(number) or not 1 <= int(number) <= 8:
        return None
    return int(number)


def interpret(raw: Mapping[str, Any]) -> ExifInfo:
    """Turn a neutral tag mapping (see the readers) into :class:`ExifInfo`."""
    captured, embedded_offset = parse_exif_datetime(raw.get("datetime_original"))
    subsec_key = "subsec_original"
    offset_keys = (("offset_original", "OffsetTimeOriginal"),
                   ("offset_digitized", "OffsetTimeDigitized"))
    if captured is None:
        captured, embedded_offset = parse_exif_datetime(raw.get("datetime_digitized"))
        subsec_key = "subsec_digitized"
        offset_keys = (("offset_digitized", "OffsetTimeDigitized"),)
    if captured is not None and captured.microsecond == 0:
        captured = captured.replace(microsecond=_subsec(raw.get(subsec_key)))
    modified, _ = parse_exif_datetime(raw.get("datetime"))

    offset: int | None = None
    offset_source: str | None = None
    for key, label in offset_keys:
        offset = parse_offset(raw.get(key))
        if offset is not None:
            offset_source = label
            break
    if offset is None and embedded_offset is not None:
        offset, offset_source = embedded_offset, "DateTimeOriginal"
    if offset is None and captured is not None and raw.get("gps_time") is not None:
        offset = offset_from_gps(captured, raw.get("gps_time"), raw.get("gps_date"))
        offset_source = "gps" if offset is not None else None

    lat = _coordinate(raw.get("gps_lat"), raw.get("gps_lat_ref"), 90.0)
    lon = _coordinate(raw.get("gps_lon"), raw.get("gps_lon_ref"), 180.0)
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):
        # Half a position is no position, and 0,0 is what receivers write without a fix.
        lat = lon = None
    alt = _altitude(raw.get("gps_alt"), raw.get("gps_alt_ref")) if lat is not None else None

    captured_utc = None
    if captured is not None and offset is not None:
        captured_utc = (captured - timedelta(minutes=offset)).replace(tzinfo=timezone.utc)
    return ExifInfo(
        make=_text(raw.get("make")), model=_text(raw.get("model")),
        captured_local=captured, offset_minutes=offset, captured_utc=captured_utc,
        gps_lat=lat, gps_lon=lon, gps_alt=alt,
        orientation=_orientation(raw.get("orientation")), software=_text(raw.get("software")),
        modified_local=modified, offset_source=offset_source,
    )
