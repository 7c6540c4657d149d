"""Video metadata (MP4/MOV/3GP): capture time and offset, place, camera, size and duration
become the same media_capture event and media properties as a photo's EXIF; hostile box
structures cost only that file's metadata, never the ingest.

The files are built here with a small box writer (layouts per ISO/IEC 14496-12 and Apple's
QuickTime File Format; the Android ``©xyz`` atom as AOSP's MPEG4Writer writes it). The
"picture" data is random noise in a dummy ``mdat``: no real footage.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workstation import clock
from workstation.media import service as media

MAC_EPOCH_DELTA = 2_082_844_800  # seconds from 1904-01-01 to 1970-01-01


# ---------------------------------------------------------------------- box writer
def box(kind: str, *parts: bytes) -> bytes:
    """A box: 32-bit size, four-char type (latin-1, so '©xyz' is 0xA9 'xyz'), payload."""
    payload = b"".join(parts)
    return struct.pack(">I", 8 + len(payload)) + kind.encode("latin-1") + payload


def full_box(kind: str, *parts: bytes, version: int = 0, flags: int = 0) -> bytes:
    """A full box: one byte version and three bytes flags before the payload."""
    return box(kind, bytes([version]) + flags.to_bytes(3, "big"), *parts)


def mac_time(when: datetime | None) -> int:
    """Seconds since 1904-01-01 as mvhd stores them; 0 for None (what some Android phones write)."""
    return 0 if when is None else int(when.timestamp()) + MAC_EPOCH_DELTA


def matrix(degrees: int) -> bytes:
    """The 3x3 transformation matrix {a b u c d v x y w} for a rotation, as AOSP writes it."""
    a, b, c, d = {0: (1, 0, 0, 1), 90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}[degrees]
    return struct.pack(">9i", a << 16, b << 16, 0, c << 16, d << 16, 0, 0, 0, 1 << 30)


def mvhd(created: datetime | None, *, timescale: int = 600, duration: int = 0,
         modified: datetime | None = None, version: int = 0, raw_created: int | None = None) -> bytes:
    c = raw_created if raw_created is not None else mac_time(created)
    m = mac_time(modified or created)
    times = (struct.pack(">QQIQ", c, m, timescale, duration) if version == 1
             else struct.pack(">IIII", c, m, timescale, duration))
    rest = struct.pack(">IH10x", 0x00010000, 0x0100) + matrix(0) + bytes(24) + struct.pack(">I", 3)
    return full_box("mvhd", times, rest, version=version)


def tkhd(width: int, height: int, rotation: int = 0, track_id: int = 1) -> bytes:
    head = struct.pack(">IIIII", 0, 0, track_id, 0, 0)
    middle = bytes(8) + struct.pack(">hhhH", 0, 0, 0, 0)
    return full_box("tkhd", head, middle, matrix(rotation), struct.pack(">II", width << 16, height << 16), flags=3)


def hdlr(handler: str, name: bytes = b"Handler\x00") -> bytes:
    return full_box("hdlr", bytes(4), handler.encode("latin-1"), bytes(12), name)


def trak(handler: str, width: int = 0, height: int = 0, rotation: int = 0) -> bytes:
    return box("trak", tkhd(width, height, rotation), box("mdia", full_box("mdhd", bytes(20)), hdlr(handler)))


def qt_text(kind: str, text: str, lang: int = 0x15C7) -> bytes:
    """A QuickTime user-data text atom: 16-bit length, 16-bit language, text (AOSP: 'eng')."""
    raw = text.encode("utf-8")
    return box(kind, struct.pack(">HH", len(raw), lang), raw)


def mdta_meta(items: dict[str, str]) -> bytes:
    """QuickTime metadata: meta (not a full box) with hdlr 'mdta', keys and ilst (1-based indexes)."""
    keys = full_box("keys", struct.pack(">I", len(items)),
                    *(struct.pack(">I", 8 + len(k)) + b"mdta" + k.encode() for k in items))
    values = (box("data", struct.pack(">II", 1, 0), v.encode("utf-8")) for v in items.values())
    ilst = box("ilst", *(box(struct.pack(">I", i).decode("latin-1"), data) for i, data in enumerate(values, 1)))
    return box("meta", hdlr("mdta", b"\x00"), keys, ilst)


def movie(moov: bytes, *, moov_first: bool, brand: bytes = b"isom", mdat_bytes: int = 40_000,
          seed: int = 0) -> bytes:
    """ftyp + moov + mdat, or ftyp + mdat + moov (iPhone originals: moov at the end)."""
    ftyp = box("ftyp", brand, struct.pack(">I", 0x200), brand, b"mp41")
    mdat = box("mdat", _noise(mdat_bytes, seed))
    return ftyp + (moov + mdat if moov_first else mdat + moov)


def _noise(n: int, seed: int) -> bytes:
    return hashlib.shake_256(f"noise-{seed}".encode()).digest(n)


def iphone_mov(*, mvhd_time: datetime | None, creationdate: str, rotation: int = 90) -> bytes:
    moov = box("moov",
               mvhd(mvhd_time, timescale=600, duration=7500),  # 12.5 s
               trak("vide", 1920, 1080, rotation), trak("soun"),
               mdta_meta({"com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/",
                          "com.apple.quicktime.make": "Apple",
                          "com.apple.quicktime.model": "iPhone 12",
                          "com.apple.quicktime.software": "16.5",
                          "com.apple.quicktime.creationdate": creationdate}))
    return movie(moov, moov_first=False, brand=b"qt  ")


def _case(ws, tz: str | None = None) -> int:  # noqa: ANN001
    kw = {"timezone": tz} if tz else {}
    return ws.create_case("2024-VIDEO-01", "Seized phone", **kw).id


def _rows(ws, case: int) -> dict[str, media.MediaInfo]:  # noqa: ANN001
    return {m.name: m for m in media.list_media(ws, case, include_known_good=True, limit=None)}


def _events(ws, case: int) -> dict:  # noqa: ANN001
    return {e.properties["path"].rsplit("/", 1)[-1]: e for e in ws.list_events(case)}


# ---------------------------------------------------------------------- tests
def test_iphone_mov_with_moov_at_the_end_gives_local_time_offset_place_and_camera(ws, tmp_path: Path) -> None:
    case = _case(ws, "Europe/London")
    src = tmp_path / "DCIM"
    src.mkdir()
    (src / "IMG_0001.MOV").write_bytes(iphone_mov(
        mvhd_time=datetime(2023, 6, 1, 8, 20, 30, tzinfo=UTC), creationdate="2023-06-01T10:20:30+0200"))

    result = media.ingest_media(ws, case, src, workers=2)

    assert (result.added, result.events, result.locations, result.problems) == (1, 1, 1, ())
    (event,) = ws.list_events(case)
    assert event.kind == "media_capture" and event.title == "Video IMG_0001.MOV (Apple iPhone 12)"
    assert event.ts_utc == clock.to_micros(datetime(2023, 6, 1, 8, 20, 30, tzinfo=UTC))
    assert event.utc_offset == 120  # Paris summer time, from the creationdate: not the case's zone
    assert event.properties["camera"] == "Apple iPhone 12"
    assert event.properties["offset_source"] == "com.apple.quicktime.creationdate"
    assert "time_zone_assumed" not in event.properties
    (party,) = event.parties
    assert (party.kind, party.label) == ("location", "48.858400, 2.294500")
    place = ws.get_entity(party.entity_id).properties
    assert (place["lat"], place["lon"], place["alt"]) == (48.8584, 2.2945, 35.0)
    row = _rows(ws, case)["IMG_0001.MOV"]
    assert row.mime == "video/quicktime" and row.is_video
    # 1920x1080 sensor frame, rotated 90 degrees: shown in portrait, like an EXIF-rotated photo.
    assert (row.width, row.height) == (1080, 1920)
    assert row.exif["duration"] == 12.5 and row.exif["rotation"] == 90
    assert (row.exif["make"], row.exif["model"], row.exif["software"]) == ("Apple", "iPhone 12", "16.5")
    assert row.captured_utc == event.ts_utc
    assert (row.gps_lat, row.gps_lon) == (48.8584, 2.2945)
    assert not row.has_thumbnail and row.problem is None


def test_video_inside_a_zip_is_read_through_the_one_way_member_stream(ws, tmp_path: Path) -> None:
    case = _case(ws)
    archive = tmp_path / "takeout.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:  # members cannot seek
        zf.writestr("Photos/IMG_0002.MOV", iphone_mov(
            mvhd_time=datetime(2023, 6, 1, 8, 20, 30, tzinfo=UTC), creationdate="2023-06-01T10:20:30+0200"))

    result = media.ingest_media(ws, case, archive, workers=1)

    assert (result.added, result.events, result.problems) == (1, 1, ())
    (event,) = ws.list_events(case)
    assert (event.ts_utc, event.utc_offset) == (clock.to_micros(datetime(2023, 6, 1, 8, 20, 30, tzinfo=UTC)), 120)
    assert event.properties["path"].endswith("takeout.zip!/Photos/IMG_0002.MOV")
    assert (_rows(ws, case)["IMG_0002.MOV"].width, _rows(ws, case)["IMG_0002.MOV"].height) == (1080, 1920)


def test_android_mp4_with_moov_first_udta_xyz_and_mvhd_in_utc(ws, tmp_path: Path) -> None:
    case = _case(ws, "America/New_York")
    src = tmp_path / "Camera"
    src.mkdir()
    moov = box("moov",
               mvhd(datetime(2022, 2, 3, 4, 5, 6, tzinfo=UTC), timescale=1000, duration=4321, version=1),
               trak("vide", 1280, 720, 0), trak("soun"),
               box("udta", qt_text("\xa9xyz", "+37.3318-122.0302/"), qt_text("\xa9mak", "samsung"),
                   qt_text("\xa9mod", "SM-G991B")),
               mdta_meta({"com.android.version": "13"}))
    (src / "VID_20220203.mp4").write_bytes(movie(moov, moov_first=True, seed=1))

    result = media.ingest_media(ws, case, src, workers=1)

    assert (result.added, result.events, result.locations, result.problems) == (1, 1, 1, ())
    event = _events(ws, case)["VID_20220203.mp4"]
    # Only mvhd says when: read as UTC (offset 0), not as the case's New York time.
    assert event.ts_utc == clock.to_micros(datetime(2022, 2, 3, 4, 5, 6, tzinfo=UTC))
    assert event.utc_offset == 0
    assert event.properties["offset_source"] == "mvhd" and event.properties["time_source"] == "mvhd"
    assert "time_zone_assumed" not in event.properties
    assert event.properties["camera"] == "samsung SM-G991B"
    assert (event.properties["lat"], event.properties["lon"]) == (37.3318, -122.0302)
    assert event.parties[0].label == "37.331800, -122.030200"
    row = _rows(ws, case)["VID_20220203.mp4"]
    assert (row.mime, row.width, row.height) == ("video/mp4", 1280, 720)
    assert row.exif["duration"] == 4.321 and row.exif["software"] == "Android 13"
    assert row.exif["location_source"] == "\xa9xyz"
    assert row.exif["mvhd_created_utc"] == "2022-02-03T04:05:06+00:00"


def test_android_mvhd_zero_invents_no_time(ws, tmp_path: Path) -> None:
    case = _case(ws, "Europe/London")
    src = tmp_path / "WhatsApp"
    src.mkdir()
    moov = box("moov", mvhd(None, timescale=90000, duration=270000), trak("vide", 640, 360),
               box("udta", qt_text("\xa9too", "Lavf58.76.100")))
    (src / "VID-20240101-WA0001.mp4").write_bytes(movie(moov, moov_first=True, seed=2))
    # A year alone in ©day (as iTunes writes it) is no capture time either.
    moov2 = box("moov", mvhd(None, duration=600), trak("vide", 320, 240), box("udta", qt_text("\xa9day", "2010")))
    (src / "year-only.mov").write_bytes(movie(moov2, moov_first=False, brand=b"qt  ", seed=3))

    result = media.ingest_media(ws, case, src, workers=1)

    assert (result.added, result.events, result.locations, result.problems) == (2, 0, 0, ())
    assert ws.list_events(case) == []
    rows = _rows(ws, case)
    wa = rows["VID-20240101-WA0001.mp4"]
    assert wa.captured_utc is None and wa.gps_lat is None
    assert (wa.width, wa.height, wa.exif["duration"]) == (640, 360, 3.0)
    assert "captured_local" not in wa.exif and "mvhd_created_utc" not in wa.exif
    assert rows["year-only.mov"].captured_utc is None and rows["year-only.mov"].exif["duration"] == 1.0


def test_mvhd_holding_local_wall_time_is_flagged_and_the_creationdate_wins(ws, tmp_path: Path) -> None:
    case = _case(ws)
    src = tmp_path / "phone"
    src.mkdir()
    # The phone wrote 10:20:30 local into mvhd (meant to be UTC); creationdate says +02:00.
    (src / "clip.mov").write_bytes(iphone_mov(
        mvhd_time=datetime(2023, 6, 1, 10, 20, 30, tzinfo=UTC), creationdate="2023-06-01T10:20:30+0200",
        rotation=0))

    media.ingest_media(ws, case, src, workers=1)

    (event,) = ws.list_events(case)
    assert event.ts_utc == clock.to_micros(datetime(2023, 6, 1, 8, 20, 30, tzinfo=UTC))
    assert event.utc_offset == 120 and event.properties["mvhd_local_time"] is True
    row = _rows(ws, case)["clip.mov"]
    assert row.exif["mvhd_local_time"] is True
    assert row.exif["notes"] == ["mvhd creation time holds the local wall time, not UTC"]
    assert (row.width, row.height) == (1920, 1080)


def test_local_day_without_offset_takes_it_from_mvhd_and_loci_gives_the_place(ws, tmp_path: Path) -> None:
    case = _case(ws, "Asia/Tokyo")
    src = tmp_path / "cam"
    src.mkdir()
    loci = full_box("loci", struct.pack(">H", 0x15C7), b"Harbour\x00", b"\x00",
                    struct.pack(">iii", round(151.2093 * 65536), round(-33.8688 * 65536), 0), b"earth\x00\x00")
    moov = box("moov", mvhd(datetime(2021, 4, 5, 10, 7, 8, tzinfo=UTC), duration=600),
               trak("vide", 176, 144),
               box("udta", qt_text("\xa9day", "2021-04-05T20:07:08"), loci))
    (src / "clip.3gp").write_bytes(movie(moov, moov_first=True, brand=b"3gp4", seed=4))

    media.ingest_media(ws, case, src, workers=1)

    (event,) = ws.list_events(case)
    assert event.utc_offset == 600 and event.properties["offset_source"] == "mvhd"
    assert event.ts_utc == clock.to_micros(datetime(2021, 4, 5, 10, 7, 8, tzinfo=UTC))
    assert event.properties["lat"] == pytest.approx(-33.8688, abs=1e-4)
    assert event.properties["lon"] == pytest.approx(151.2093, abs=1e-4)
    assert _rows(ws, case)["clip.3gp"].mime == "video/3gpp"


def _hostile(src: Path) -> dict[str, bytes]:
    good_moov = box("moov", mvhd(datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC), duration=600), trak("vide", 320, 240))
    ftyp = box("ftyp", b"isom", bytes(4), b"isom")
    # mdat's 64-bit largesize claims 4 GiB in a 30 kB file, moov after it.
    liar = ftyp + struct.pack(">I4sQ", 1, b"mdat", 4 << 30) + _noise(30_000, 5) + good_moov
    # trak inside trak inside trak ... 200 levels deep.
    nest = box("tkhd", bytes(84))
    for _ in range(200):
        nest = box("trak", nest)
    deep = ftyp + box("moov", mvhd(datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)), nest) + box("mdat", _noise(5000, 6))
    # The moov says 10,000 bytes; the file ends long before (a copy cut short).
    cut = (box("ftyp", b"qt  ", bytes(4), b"qt  ") + box("mdat", _noise(5000, 7))
           + struct.pack(">I", 10_000) + good_moov[4:60])
    # A child of trak that claims more than its parent holds.
    inner = box("moov", mvhd(None), box("trak", struct.pack(">I4s", 5000, b"tkhd") + bytes(84)))
    overflow = ftyp + inner + box("mdat", _noise(3000, 8))
    # A box declaring size 4: smaller than its own header.
    tiny = ftyp + struct.pack(">I4s", 4, b"free") + good_moov
    files = {"a-liar.mp4": liar, "b-deep.mp4": deep, "c-cut.mov": cut, "d-overflow.mp4": overflow,
             "e-tiny.mp4": tiny, "z-good.mp4": ftyp + good_moov + box("mdat", _noise(2000, 9))}
    src.mkdir()
    for name, data in files.items():
        (src / name).write_bytes(data)
    return files


def test_hostile_box_structures_ingest_as_plain_hashed_files_with_a_note(ws, tmp_path: Path) -> None:
    case = _case(ws)
    src = tmp_path / "hostile"
    files = _hostile(src)

    result = media.ingest_media(ws, case, src, workers=1)

    assert result.added == 6 and result.failures == () and result.events == 1
    notes = {Path(p.path).name: (p.reason, p.message) for p in result.problems}
    assert set(notes) == {"a-liar.mp4", "b-deep.mp4", "c-cut.mov", "d-overflow.mp4", "e-tiny.mp4"}
    assert notes["a-liar.mp4"] == ("truncated", "video metadata unreadable: box 'mdat' at offset 20 claims "
                                                "4,294,967,296 bytes but the file has only 30,312 left")
    assert notes["b-deep.mp4"][0] == "corrupt"
    assert notes["b-deep.mp4"][1].startswith("video metadata unreadable: boxes nested deeper than 16 levels at "
                                             "moov/trak/trak/")
    assert notes["c-cut.mov"] == ("truncated", "video metadata unreadable: box 'moov' at offset 5,028 claims "
                                               "10,000 bytes but the file has only 60 left")
    assert notes["d-overflow.mp4"] == ("corrupt", "video metadata unreadable: box 'tkhd' at offset 144 claims "
                                                  "5,000 bytes but box moov/trak has only 92 left")
    assert "'free' at offset 20 in the file declares 4 bytes, less than its own 8-byte header" in notes["e-tiny.mp4"][1]
    rows = _rows(ws, case)
    for name, data in files.items():
        row = rows[name]
        assert row.sha256 == hashlib.sha256(data).hexdigest() and row.size == len(data)
        assert row.mime == "video/mp4" if name.endswith(".mp4") else row.mime == "video/quicktime"
        if name == "z-good.mp4":
            assert row.problem is None and (row.width, row.height) == (320, 240) and row.captured_utc is not None
        else:
            assert row.problem == notes[name][1] and row.width is None and row.captured_utc is None
    summary = ws.get_source(result.source_id).summary
    assert {p["path"].rsplit("/", 1)[-1] for p in summary["problems"]} == set(notes)


class _VirtualHugeFile(io.RawIOBase):
    """A 6 GiB file that exists only as its box layout: ftyp, a 64-bit mdat, then moov.
    Counts the bytes handed out, so a reader that reads the mdat would be caught."""

    def __init__(self, head: bytes, mdat_payload: int, tail: bytes) -> None:
        self.head, self.tail = head, tail
        self.tail_at = len(head) + mdat_payload
        self.size = self.tail_at + len(tail)
        self.pos = 0
        self.handed = 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else (self.pos + offset if whence == 1 else self.size + offset)
        return self.pos

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n < 0 else min(n, self.size - self.pos)
        out = bytearray()
        for i in range(self.pos, self.pos + n):
            if i < len(self.head):
                out.append(self.head[i])
            elif i >= self.tail_at:
                out.append(self.tail[i - self.tail_at])
            else:
                out.append(0)
        self.pos += n
        self.handed += n
        return bytes(out)


def test_moov_after_a_6_gib_mdat_is_found_by_skipping_it() -> None:
    from workstation.media.video import read_video_metadata

    payload = 6 << 30
    head = box("ftyp", b"qt  ", bytes(4), b"qt  ") + struct.pack(">I4sQ", 1, b"mdat", 16 + payload)
    tail = box("moov", mvhd(datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC), duration=600 * 3600),
               trak("vide", 3840, 2160, 270))
    stream = _VirtualHugeFile(head, payload, tail)

    info = read_video_metadata(stream, stream.size)

    assert info.captured_utc == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert (info.width, info.height, info.rotation, info.duration) == (2160, 3840, 270, 3600.0)
    assert info.moov_offset == len(head) + payload
    assert stream.handed < 2048  # headers and moov's small boxes only
    assert math.isclose(info.duration or 0, 3600.0)


def test_iso6709_positions_in_the_forms_writers_use() -> None:
    from workstation.media.video import parse_iso6709

    assert parse_iso6709("+37.3318-122.0302+012.000/") == (37.3318, -122.0302, 12.0)  # Apple
    assert parse_iso6709("-33.8688+151.2093/") == (-33.8688, 151.2093, None)  # Android ©xyz
    lat, lon, _ = parse_iso6709("+4012.5-07530.25/")  # degrees and decimal minutes
    assert (round(lat, 6), round(lon, 6)) == (40.208333, -75.504167)
    lat, lon, _ = parse_iso6709("+401230-0753015CRSWGS_84/")  # degrees, minutes, seconds
    assert (round(lat, 6), round(lon, 6)) == (40.208333, -75.504167)
    for bad in ("+91.0000-122.0000/", "+37.33-190.00/", "+00.0000+000.0000/", "37.3,-122.0", "", None):
        assert parse_iso6709(bad) is None, bad
