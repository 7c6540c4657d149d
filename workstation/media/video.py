"""Metadata of ISO base media files (MP4, MOV/QuickTime, 3GP/3G2, M4V): what phones record.

A small streaming box reader of our own (no external binary, no third-party parser): it
walks boxes by their headers and seeks over everything it does not need, so a 4 GB
``mdat`` costs one seek, and a ``moov`` written at the end of the file (iPhone originals)
is found by skipping the ``mdat`` by its size. Only boxes inside ``moov`` that carry
metadata are read, each capped in size.

Box header (ISO/IEC 14496-12 §4.2; Apple QuickTime File Format, "Atoms"): 32-bit size and
4-byte type; size 1 means a 64-bit ``largesize`` follows; size 0 means "to the end of the
enclosing box" (at top level: the end of the file). A box that claims more than its parent
(or the file) holds, a size smaller than its own header, boxes nested deeper than
:data:`MAX_DEPTH` or more than :data:`MAX_BOXES` boxes stop the reader with a
:class:`VideoMetadataError` naming the box, its path and its offset. Nothing here raises
anything else for bad input.

What is read:

* ``moov/mvhd``: creation and modification time (seconds since 1904-01-01 UTC; 0 means
  absent, as many Android phones write), time scale and duration;
* ``moov/trak/tkhd`` + ``trak/mdia/hdlr``: the video track's width/height and the rotation
  of its transformation matrix; the handler types of every track;
* Apple QuickTime metadata (``moov/meta`` with ``keys`` + ``ilst``, also written by Android's
  MediaMuxer): ``com.apple.quicktime.creationdate`` (ISO 8601 with the UTC offset: the best
  source of local time and offset), ``.location.ISO6709``, ``.make``, ``.model``,
  ``.software``; ``com.android.version``/``.manufacturer``/``.model``;
* user data (``udta``): QuickTime text atoms ``©xyz`` (ISO 6709, written by Android and
  Samsung), ``©day``, ``©mak``, ``©mod``, ``©swr``, ``©too``; iTunes-style ``udta/meta/ilst``
  items of the same names; the 3GPP ``loci`` box (TS 26.244: longitude, latitude,
  altitude as 16.16 fixed point).

Times: the capture time comes from the Apple creationdate, else from ``©day`` (when it has
a time of day), else from ``mvhd`` read as UTC. A local time without an offset gets its
offset from the difference with ``mvhd`` (rounded to 15 minutes) when that is a real,
non-zero UTC offset. ``mvhd`` alone is read as UTC, as the specifications ask and phones
(iPhone, Android's MPEG4Writer) do; some camcorders write local time there, which nothing
in the file can reveal (``time_source`` = ``mvhd`` tells the reader where the time came from). When ``mvhd`` holds exactly the local wall time of a creationdate whose offset is
not zero, ``mvhd_local_time`` flags it (some Android phones write local time there).
"""

from __future__ import annotations

import math
import os
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO

from workstation.media.errors import MediaError
from workstation.media.exif import ExifInfo, parse_exif_datetime

__all__ = ["VIDEO_TYPES", "MAX_DEPTH", "MAX_BOXES", "VideoInfo", "VideoMetadataError",
           "is_iso_video_type", "read_video_metadata", "read_video_file", "parse_iso6709"]

#: MIME types (as :func:`workstation.media.hashing.sniff_type` gives them) read here.
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/3gpp", "video/3gpp2"})
#: Deepest box nesting followed (real files need 5: moov/udta/meta/ilst/item/data).
MAX_DEPTH = 16
#: Most boxes looked at in one file (top level and inside moov together).
MAX_BOXES = 50_000
#: Largest metadata leaf read into memory; bigger ones (cover art...) are skipped.
MAX_LEAF = 1 << 20
_SKIP_CHUNK = 1 << 20
_EPOCH_1904 = datetime(1904, 1, 1, tzinfo=timezone.utc)
_MIN_OFFSET_MIN, _MAX_OFFSET_MIN = -12 * 60, 14 * 60
#: Containers descended into wherever they appear.
_CONTAINERS = frozenset({"moov", "trak", "mdia", "udta", "meta", "ilst"})
# Apple / Android mdta keys and iTunes/QuickTime user-data names -> our field names.
_KEY_FIELDS = {
    "com.apple.quicktime.creationdate": "creationdate",
    "com.apple.quicktime.location.iso6709": "location",
    "com.apple.quicktime.make": "make",
    "com.apple.quicktime.model": "model",
    "com.apple.quicktime.software": "software",
    "com.android.manufacturer": "android_make",
    "com.android.model": "android_model",
    "com.android.version": "android_version",
    "\xa9xyz": "udta_location",
    "\xa9day": "day",
    "\xa9mak": "udta_make",
    "\xa9mod": "udta_model",
    "\xa9swr": "udta_software",
    "\xa9too": "encoder",
}


class VideoMetadataError(MediaError):
    """The box structure of a video is broken or hostile; its digests are still valid."""

    reason = "corrupt"


def is_iso_video_type(mime: str) -> bool:
    """True for the ISO base media / QuickTime video types this module reads."""
    return mime in VIDEO_TYPES


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """Metadata of one video. Every field is None when the file does not state it.

    ``width``/``height`` are as displayed (the track rotation applied, like a photo's EXIF
    orientation); ``coded_width``/``coded_height`` are the track header's own values.
    ``time_source`` says where the capture time came from (``com.apple.quicktime.creationdate``,
    ``©day`` or ``mvhd``), ``offset_source`` where its UTC offset came from.
    """

    brand: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    coded_width: int | None = None
    coded_height: int | None = None
    rotation: int | None = None
    handlers: tuple[str, ...] = ()
    mvhd_created_utc: datetime | None = None
    mvhd_modified_utc: datetime | None = None
    mvhd_local_time: bool = False
    creation_date: str | None = None
    captured_local: datetime | None = None
    offset_minutes: int | None = None
    captured_utc: datetime | None = None
    time_source: str | None = None
    offset_source: str | None = None
    make: str | None = None
    model: str | None = None
    software: str | None = None
    encoder: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = None
    location_source: str | None = None
    moov_offset: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def has_location(self) -> bool:
        return self.gps_lat is not None and self.gps_lon is not None

    def to_exif(self) -> ExifInfo:
        """The same facts as a photo's EXIF gives them (camera, capture time, place)."""
        return ExifInfo(make=self.make, model=self.model, captured_local=self.captured_local,
                        offset_minutes=self.offset_minutes, captured_utc=self.captured_utc,
                        gps_lat=self.gps_lat, gps_lon=self.gps_lon, gps_alt=self.gps_alt,
                        software=self.software, offset_source=self.offset_source)

    def properties(self) -> dict[str, Any]:
        """Video-only facts for the media row's metadata document (JSON-ready)."""
        out: dict[str, Any] = {}
        for key in ("brand", "duration", "rotation", "coded_width", "coded_height", "creation_date",
                    "time_source", "location_source", "encoder", "moov_offset"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.handlers:
            out["handlers"] = list(self.handlers)
        for key in ("mvhd_created_utc", "mvhd_modified_utc"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.isoformat()
        if self.mvhd_local_time:
            out["mvhd_local_time"] = True
        if self.notes:
            out["notes"] = list(self.notes)
        return out


# --- reading --------------------------------------------------------------------------

class _Reader:
    """Forward reads at absolute offsets over a stream; seeks when it can, else discards."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream = stream
        self.size = size
        self.pos = 0
        self._last: tuple[int, bytes] = (0, b"")
        try:
            self.seekable = bool(stream.seekable())  # type: ignore[attr-defined]
        except (AttributeError, OSError):
            self.seekable = False
        if self.seekable:
            self.pos = stream.tell()

    def _goto(self, offset: int) -> None:
        if offset == self.pos:
            return
        if self.seekable:
            self.stream.seek(offset)
            self.pos = offset
            return
        if offset < self.pos:  # the walk only moves forward; this would be a bug
            raise VideoMetadataError(f"cannot go back to offset {offset:,} in a one-way stream")
        while self.pos < offset:
            got = self.stream.read(min(_SKIP_CHUNK, offset - self.pos))
            if not got:
                raise VideoMetadataError(f"file ends at offset {self.pos:,}, before {offset:,}",
                                         reason="truncated")
            self.pos += len(got)

    def read_at(self, offset: int, n: int) -> bytes:
        last_at, last = self._last
        if last_at <= offset and offset + n <= last_at + len(last):
            return last[offset - last_at:offset - last_at + n]  # a peek read again (one-way streams)
        self._goto(offset)
        parts: list[bytes] = []
        want = n
        while want > 0:
            got = self.stream.read(want)
            if not got:
                break
            parts.append(got)
            want -= len(got)
        data = b"".join(parts)
        self.pos += len(data)
        if len(data) < n:
            raise VideoMetadataError(f"file ends at offset {self.pos:,} inside a box that needs "
                                     f"{n:,} bytes from offset {offset:,}", reason="truncated")
        self._last = (offset, data)
        return data


@dataclass(frozen=True, slots=True)
class _Box:
    kind: str
    start: int
    body: int  # first byte after the header
    end: int

    @property
    def size(self) -> int:
        return self.end - self.body


def _fourcc(raw: bytes) -> str:
    return raw.decode("latin-1")


def _shown(kind: str) -> str:
    return repr(kind) if kind.isprintable() else repr(kind.encode("latin-1"))


@dataclass
class _Track:
    handler: str | None = None
    width: float | None = None
    height: float | None = None
    rotation: int | None = None


@dataclass
class _State:
    reader: _Reader
    boxes: int = 0
    tracks: list[_Track] = field(default_factory=list)
    mvhd: tuple[int, int, int, int] | None = None  # created, modified, timescale, duration
    values: dict[str, Any] = field(default_factory=dict)
    loci: tuple[float, float, float] | None = None
    notes: list[str] = field(default_factory=list)

    def put(self, name: str, value: Any) -> None:
        field_name = _KEY_FIELDS.get(name.lower() if name.startswith("com.") else name)
        if field_name is not None and value not in (None, "") and field_name not in self.values:
            self.values[field_name] = value


def _children(state: _State, start: int, end: int, depth: int, path: str) -> Iterator[_Box]:
    """The boxes between ``start`` and ``end``; raises for a box that lies about its size."""
    if depth > MAX_DEPTH:
        raise VideoMetadataError(f"boxes nested deeper than {MAX_DEPTH} levels at {path}")
    reader = state.reader
    offset = start
    where = path or "the file"
    while end - offset >= 8:
        state.boxes += 1
        if state.boxes > MAX_BOXES:
            raise VideoMetadataError(f"more than {MAX_BOXES:,} boxes (at offset {offset:,} in {where})")
        size, raw_kind = struct.unpack(">I4s", reader.read_at(offset, 8))
        kind = _fourcc(raw_kind)
        header = 8
        if size == 1:
            if end - offset < 16:
                raise VideoMetadataError(f"box {_shown(kind)} at offset {offset:,} in {where} is cut short")
            (size,) = struct.unpack(">Q", reader.read_at(offset + 8, 8))
            header = 16
        elif size == 0:
            if not kind.strip("\x00"):
                return  # a zero terminator (QuickTime user data may end with one)
            size = end - offset
        if size < header:
            raise VideoMetadataError(
                f"box {_shown(kind)} at offset {offset:,} in {where} declares {size:,} bytes, "
                f"less than its own {header}-byte header")
        if offset + size > end:
            holder = f"box {path}" if path else "the file"
            raise VideoMetadataError(
                f"box {_shown(kind)} at offset {offset:,} claims {size:,} bytes but {holder} has only "
                f"{end - offset:,} left", reason="truncated" if not path else "corrupt")
        yield _Box(kind, offset, offset + header, offset + size)
        offset += size


def _read_body(state: _State, box: _Box, limit: int = MAX_LEAF) -> bytes | None:
    if box.size > limit:
        return None
    return state.reader.read_at(box.body, box.size)


def _walk(state: _State, box: _Box, depth: int, path: str, track: _Track | None,
          keys: list[str] | None = None) -> None:
    """Visit the children of container ``box`` (path ``path``)."""
    body = box.body
    if box.kind == "meta":
        # ISO 'meta' is a full box (4 bytes version/flags); QuickTime's is not. A QuickTime
        # meta starts with a child's size, which is never 0.
        # (8 bytes are peeked: the child header read next is served from them.)
        if box.size >= 8 and state.reader.read_at(body, 8)[:4] == b"\x00\x00\x00\x00":
            body += 4
        keys = None
    for child in _children(state, body, box.end, depth, path):
        kind = child.kind
        child_path = f"{path}/{kind}"
        if box.kind == "ilst":
            _ilst_item(state, child, keys, depth + 1, child_path)
        elif kind == "trak":
            new = _Track()
            state.tracks.append(new)
            _walk(state, child, depth + 1, child_path, new)
        elif kind in _CONTAINERS:
            _walk(state, child, depth + 1, child_path, track, keys)
        elif kind == "mvhd" and box.kind == "moov":
            _mvhd(state, child)
        elif kind == "tkhd" and track is not None:
            _tkhd(state, child, track)
        elif kind == "hdlr" and box.kind == "mdia" and track is not None:
            if child.size >= 12:  # version/flags, pre_defined (QuickTime: 'mhlr'), handler_type
                track.handler = _fourcc(state.reader.read_at(child.body + 8, 4))
        elif kind == "keys" and box.kind == "meta":
            keys = _keys(state, child)  # applies to the 'ilst' that follows in this meta
        elif kind == "loci":
            _loci(state, child)
        elif kind.startswith("\xa9") and box.kind == "udta":
            _udta_text(state, child)


def _mvhd(state: _State, box: _Box) -> None:
    data = _read_body(state, box, 4096)
    if data is None or len(data) < 4:
        return
    if data[0] == 1 and len(data) >= 32:
        created, modified, scale, duration = struct.unpack(">QQIQ", data[4:32])
        unknown = 0xFFFFFFFFFFFFFFFF
    elif len(data) >= 20:
        created, modified, scale, duration = struct.unpack(">IIII", data[4:20])
        unknown = 0xFFFFFFFF
    else:
        return
    if state.mvhd is None:
        state.mvhd = (created, modified, scale, -1 if duration == unknown else duration)


def _tkhd(state: _State, box: _Box, track: _Track) -> None:
    data = _read_body(state, box, 4096)
    if data is None or len(data) < 4:
        return
    matrix_at = 52 if data[0] == 1 else 40
    if len(data) < matrix_at + 44:
        return
    a, b = struct.unpack(">ii", data[matrix_at:matrix_at + 8])
    width, height = struct.unpack(">II", data[matrix_at + 36:matrix_at + 44])
    track.width, track.height = width / 65536.0, height / 65536.0
    if a or b:
        track.rotation = int(round(math.degrees(math.atan2(b, a)))) % 360


def _keys(state: _State, box: _Box) -> list[str] | None:
    data = _read_body(state, box)
    if data is None or len(data) < 8:
        return None
    (count,) = struct.unpack(">I", data[4:8])
    keys: list[str] = []
    at = 8
    while len(keys) < count and at + 8 <= len(data):
        (size,) = struct.unpack(">I", data[at:at + 4])
        if size < 8 or at + size > len(data):
            state.notes.append(f"keys box at offset {box.start:,}: entry {len(keys) + 1} is malformed")
            break
        keys.append(data[at + 8:at + size].decode("utf-8", "replace"))
        at += size
    return keys


def _data_value(payload: bytes) -> Any:
    """The value of a QuickTime/iTunes 'data' atom body (type, locale, value)."""
    if len(payload) < 8:
        return None
    well_known = int.from_bytes(payload[1:4], "big") if payload[0] == 0 else -1
    value = payload[8:]
    if well_known in (1, 4):
        return value.decode("utf-8", "replace").rstrip("\x00").strip() or None
    if well_known in (2, 5):
        return value.decode("utf-16-be", "replace").rstrip("\x00").strip() or None
    if well_known in (21, 22) and 1 <= len(value) <= 8:
        return int.from_bytes(value, "big", signed=well_known == 21)
    if well_known == 23 and len(value) == 4:
        return struct.unpack(">f", value)[0]
    if well_known == 24 and len(value) == 8:
        return struct.unpack(">d", value)[0]
    if well_known == 0:  # implicit: text in practice for the items read here
        try:
            return value.decode("utf-8").rstrip("\x00").strip() or None
        except UnicodeDecodeError:
            return None
    return None


def _ilst_item(state: _State, item: _Box, keys: list[str] | None, depth: int, path: str) -> None:
    """One metadata item: its name is a 1-based index into 'keys' (mdta) or a four-char code."""
    raw = item.kind.encode("latin-1")
    index = int.from_bytes(raw, "big")
    if keys is not None and 1 <= index <= len(keys):
        name = keys[index - 1]
    else:
        name = item.kind
    if (name.lower() if name.startswith("com.") else name) not in _KEY_FIELDS:
        return
    for child in _children(state, item.body, item.end, depth, path):
        if child.kind != "data":
            continue
        payload = _read_body(state, child, 1 << 16)
        if payload is None:
            continue
        value = _data_value(payload)
        if value is not None:
            state.put(name, value)
            return


def _text(raw: bytes) -> str | None:
    if raw.startswith((b"\xfe\xff", b"\xff\xfe")):
        text = raw.decode("utf-16", "replace")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("mac_roman")
    text = text.replace("\x00", " ").strip()
    return text or None


def _udta_text(state: _State, box: _Box) -> None:
    """A QuickTime user-data text atom: (16-bit length, 16-bit language, text)..., or a 'data' atom."""
    if box.kind not in _KEY_FIELDS:
        return
    data = _read_body(state, box, 1 << 16)
    if data is None or len(data) < 4:
        return
    if data[4:8] == b"data" and len(data) >= 16:
        (size,) = struct.unpack(">I", data[:4])
        value = _data_value(data[8:min(size, len(data))]) if size >= 16 else None
    else:
        length = int.from_bytes(data[:2], "big")
        value = _text(data[4:4 + length])
    if value is not None:
        state.put(box.kind, value)


def _loci(state: _State, box: _Box) -> None:
    """3GPP location box: version/flags, language, name\\0, role, lon, lat, alt (16.16)."""
    data = _read_body(state, box, 1 << 16)
    if data is None or len(data) < 6:
        return
    at = 6
    if data[at:at + 2] in (b"\xfe\xff", b"\xff\xfe"):  # UTF-16 name, 2-byte terminator
        end = at + 2
        while end + 1 < len(data) and data[end:end + 2] != b"\x00\x00":
            end += 2
        at = end + 2
    else:
        end = data.find(b"\x00", at)
        if end < 0:
            return
        at = end + 1
    at += 1  # role
    if at + 12 > len(data):
        return
    lon, lat, alt = (v / 65536.0 for v in struct.unpack(">iii", data[at:at + 12]))
    if state.loci is None:
        state.loci = (lat, lon, alt)


# --- interpretation -------------------------------------------------------------------

_ISO6709_RE = re.compile(r"^\s*([+-]\d+(?:\.\d*)?)([+-]\d+(?:\.\d*)?)([+-]\d+(?:\.\d*)?)?(?:CRS.*)?/?\s*$")


def _iso6709_part(text: str, degree_digits: int, limit: float) -> float | None:
    sign = -1.0 if text[0] == "-" else 1.0
    body = text[1:]
    whole, _, frac = body.partition(".")
    frac_value = float("0." + frac) if frac else 0.0
    n = len(whole)
    if n == degree_digits:  # ±DD.DDDD
        value = int(whole) + frac_value
    elif n == degree_digits + 2:  # ±DDMM.MMMM
        minutes = int(whole[-2:]) + frac_value
        if minutes >= 60:
            return None
        value = int(whole[:-2]) + minutes / 60.0
    elif n == degree_digits + 4:  # ±DDMMSS.SSSS
        minutes, seconds = int(whole[-4:-2]), int(whole[-2:]) + frac_value
        if minutes >= 60 or seconds >= 60:
            return None
        value = int(whole[:-4]) + minutes / 60.0 + seconds / 3600.0
    else:
        return None
    if value > limit:
        return None
    return sign * value


def parse_iso6709(text: Any) -> tuple[float, float, float | None] | None:
    """(latitude, longitude, altitude or None) from an ISO 6709 string such as
    ``+37.3318-122.0302+012.000/``; None when it is not one (or is 0,0: no fix)."""
    if not isinstance(text, str):
        return None
    match = _ISO6709_RE.match(text)
    if not match:
        return None
    lat = _iso6709_part(match.group(1), 2, 90.0)
    lon = _iso6709_part(match.group(2), 3, 180.0)
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):
        return None
    alt = float(match.group(3)) if match.group(3) else None
    return lat, lon, alt


def _mac_time(seconds: int) -> datetime | None:
    """A 1904-epoch time; 0 (and anything before 1970, a writer's wrong epoch) is absent."""
    if seconds <= 0:
        return None
    try:
        stamp = _EPOCH_1904 + timedelta(seconds=seconds)
    except OverflowError:
        return None
    if not 1970 <= stamp.year <= 2200:
        return None
    return stamp


def _offset_against(local: datetime, utc: datetime) -> int | None:
    """UTC offset (minutes, rounded to 15) of a local wall time vs the same instant in UTC."""
    diff = (local - utc.replace(tzinfo=None)).total_seconds()
    minutes = int(round(diff / 900.0)) * 15
    if abs(diff - minutes * 60) > 120 or not _MIN_OFFSET_MIN <= minutes <= _MAX_OFFSET_MIN:
        return None
    return minutes


def _interpret(state: _State, brand: str | None, moov_offset: int) -> VideoInfo:
    values = state.values
    notes = list(state.notes)
    created = modified = None
    duration: float | None = None
    if state.mvhd is not None:
        c, m, scale, dur = state.mvhd
        created, modified = _mac_time(c), _mac_time(m)
        if c and created is None:
            notes.append(f"mvhd creation time {c} is not a plausible date: ignored")
        if scale > 0 and dur >= 0:
            duration = round(dur / scale, 3)

    # Capture time: creationdate, then ©day with a time of day, then mvhd as UTC.
    local: datetime | None = None
    offset: int | None = None
    time_source = offset_source = raw_date = None
    for key, label in (("creationdate", "com.apple.quicktime.creationdate"), ("day", "\xa9day")):
        text = values.get(key)
        if not isinstance(text, str) or not re.search(r"\d[T ]\d", text):
            continue  # a year alone ("2010") is no capture time
        stamp, zone = parse_exif_datetime(text)
        if stamp is None:
            continue
        local, offset, time_source, raw_date = stamp, zone, label, text
        if zone is not None:
            offset_source = label
        break
    mvhd_local = False
    if local is not None and created is not None:
        if offset is None:
            # mvhd equal to the local time says nothing (UTC+0 there, or mvhd written in
            # local time): then the offset stays unknown and the case's zone is assumed.
            offset = _offset_against(local, created) or None
            if offset is not None:
                offset_source = "mvhd"
        elif offset != 0 and abs((created.replace(tzinfo=None) - local).total_seconds()) <= 2:
            mvhd_local = True
            notes.append("mvhd creation time holds the local wall time, not UTC")
    if local is None and created is not None:
        local, offset = created.replace(tzinfo=None), 0
        time_source = offset_source = "mvhd"
    captured_utc = None
    if local is not None and offset is not None:
        captured_utc = (local - timedelta(minutes=offset)).replace(tzinfo=timezone.utc)

    # Place: Apple key, then ©xyz, then 3GPP loci.
    lat = lon = alt = None
    location_source = None
    for key, label in (("location", "com.apple.quicktime.location.ISO6709"), ("udta_location", "\xa9xyz")):
        parsed = parse_iso6709(values.get(key))
        if parsed is not None:
            (lat, lon, alt), location_source = parsed, label
            break
        if values.get(key) is not None:
            notes.append(f"{label} value {str(values.get(key))[:40]!r} is not an ISO 6709 position")
    if lat is None and state.loci is not None:
        la, lo, al = state.loci
        if -90 <= la <= 90 and -180 <= lo <= 180 and not (la == 0 and lo == 0):
            lat, lon, alt, location_source = la, lo, al, "loci"

    def pick(*names: str) -> str | None:
        for name in names:
            value = values.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    software = pick("software", "udta_software")
    if software is None and pick("android_version"):
        software = f"Android {pick('android_version')}"

    video = next((t for t in state.tracks if t.handler == "vide" and t.width and t.height), None)
    if video is None:
        video = next((t for t in state.tracks if t.width and t.height), None)
    width = height = coded_w = coded_h = rotation = None
    if video is not None:
        coded_w, coded_h = int(round(video.width or 0)), int(round(video.height or 0))
        rotation = video.rotation or 0
        width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
    handlers = tuple(t.handler for t in state.tracks if t.handler)
    return VideoInfo(
        brand=brand, duration=duration, width=width, height=height, coded_width=coded_w,
        coded_height=coded_h, rotation=rotation, handlers=handlers, mvhd_created_utc=created,
        mvhd_modified_utc=modified, mvhd_local_time=mvhd_local, creation_date=raw_date,
        captured_local=local, offset_minutes=offset, captured_utc=captured_utc,
        time_source=time_source, offset_source=offset_source,
        make=pick("make", "udta_make", "android_make"), model=pick("model", "udta_model", "android_model"),
        software=software, encoder=pick("encoder"), gps_lat=lat, gps_lon=lon, gps_alt=alt,
        location_source=location_source, moov_offset=moov_offset, notes=tuple(notes))


def read_video_metadata(stream: BinaryIO, size: int) -> VideoInfo:
    """Metadata of the ISO base media file in ``stream`` (``size`` bytes from its current
    position). Reads box headers and the metadata boxes of ``moov`` only.

    Raises :class:`VideoMetadataError` (naming the box and its offset) for a file whose
    boxes lie about their sizes, nest too deep, are truncated, or that has no ``moov``.
    """
    state = _State(_Reader(stream, size))
    base = state.reader.pos
    end = base + size
    brand: str | None = None
    moov: _Box | None = None
    for box in _children(state, base, end, 0, ""):
        if box.kind == "ftyp" and brand is None and box.size >= 4:
            brand = _fourcc(state.reader.read_at(box.body, 4)).strip() or None
        elif box.kind == "moov":
            moov = box
            break
    if moov is None:
        raise VideoMetadataError("no 'moov' box (the recording may have been cut off before it was "
                                 "finalised)", reason="truncated")
    _walk(state, moov, 1, "moov", None)
    return _interpret(state, brand, moov.start - base)


def read_video_file(path: str | os.PathLike[str]) -> VideoInfo:
    """:func:`read_video_metadata` of the file at ``path``."""
    with open(path, "rb") as stream:
        return read_video_metadata(stream, os.fstat(stream.fileno()).st_size)
