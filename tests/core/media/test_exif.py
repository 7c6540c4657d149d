"""EXIF against the exif-samples corpus (expected_exif.csv) and the odd forms cameras write."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image

from tests.core.media.gen import photo_like
from workstation.media.exif import (interpret, offset_from_gps, parse_exif_datetime, parse_offset,
                                    read_exif)
from workstation.media.images import analyse_image


def _rows(shared_data: Path) -> list[dict[str, str]]:
    with open(shared_data / "exif/expected_exif.csv", newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _exif_of(path: Path):  # type: ignore[no-untyped-def]
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        return read_exif(data, image)


def test_expected_exif_for_every_jpeg(shared_data: Path) -> None:
    rows = [r for r in _rows(shared_data) if r["path"].startswith("jpg/")]
    assert len(rows) >= 38
    for row in rows:
        info = _exif_of(shared_data / "exif" / row["path"])
        where = row["path"]
        if "No EXIF information found" in row["dump_notes"]:
            assert info is None, where
            continue
        assert info is not None, where
        assert info.make == (row["make"] or None), where
        assert info.model == (row["model"] or None), where
        if row["datetime_original"]:
            expected = datetime.strptime(row["datetime_original"], "%Y:%m:%d %H:%M:%S")
            assert info.captured_local is not None and info.captured_local.replace(microsecond=0) == expected, where
        else:
            assert info.captured_local is None, where
        if row["image_datetime"]:
            assert info.modified_local == datetime.strptime(row["image_datetime"], "%Y:%m:%d %H:%M:%S"), where
        if row["gps_lat_deg"]:
            assert info.gps_lat == pytest.approx(float(row["gps_lat_deg"]), abs=1e-5), where
            assert info.gps_lon == pytest.approx(float(row["gps_lon_deg"]), abs=1e-5), where
        else:
            assert info.gps_lat is None and info.gps_lon is None, where
        if row["gps_alt_m"]:
            assert info.gps_alt == pytest.approx(float(row["gps_alt_m"]), abs=0.01), where
        orientation_names = {"Horizontal (normal)": 1, "Mirrored horizontal": 2, "Rotated 180": 3,
                             "Mirrored vertical": 4, "Mirrored horizontal then rotated 90 CCW": 5,
                             "Rotated 90 CW": 6, "Mirrored horizontal then rotated 90 CW": 7,
                             "Rotated 90 CCW": 8}
        if row["orientation"]:
            assert info.orientation == orientation_names[row["orientation"]], where


def test_offsets_derived_from_gps_time(shared_data: Path) -> None:
    iphone = _exif_of(shared_data / "exif/jpg/hdr/iphone_hdr_NO.jpg")
    assert iphone.offset_minutes == 120 and iphone.offset_source == "gps"
    assert iphone.captured_utc.replace(microsecond=0) == datetime(2015, 4, 10, 18, 12, 23, tzinfo=timezone.utc)
    # Nikon writes GPSDate 2008:10:23 for a 10-22 photo: the time of day still gives +2h.
    nikon = _exif_of(shared_data / "exif/jpg/gps/DSCN0010.jpg")
    assert nikon.offset_minutes == 120
    assert nikon.captured_utc == datetime(2008, 10, 22, 14, 28, 39, tzinfo=timezone.utc)


def test_nokia_offset_plus_three(shared_data: Path) -> None:
    nokia = _exif_of(shared_data / "exif/jpg/mobile/HMD_Nokia_8.3_5G.jpg")
    assert nokia.offset_minutes == 180
    assert nokia.captured_local == datetime(2022, 8, 14, 14, 12, 31)
    assert nokia.captured_utc == datetime(2022, 8, 14, 11, 12, 31, tzinfo=timezone.utc)
    # The offset the phone wrote and the GPS-derived offset agree.
    assert offset_from_gps(nokia.captured_local, (11, 12, 32), "2022:08:14") == 180


def test_special_files(shared_data: Path) -> None:
    broken_gps = _exif_of(shared_data / "exif/jpg/tests/45-gps_ifd.jpg")
    assert broken_gps.make == "Polyphony Digital Inc." and not broken_gps.has_location
    assert _exif_of(shared_data / "exif/jpg/invalid/image01551.jpg") is None
    corrupt_makernote = _exif_of(shared_data / "exif/jpg/tests/87_OSError.jpg")
    assert corrupt_makernote.model == "NIKON D70s"
    assert corrupt_makernote.captured_local == datetime(2005, 12, 14, 14, 39, 47)
    assert corrupt_makernote.gps_lat == pytest.approx(43.785594, abs=1e-5)
    canon = _exif_of(shared_data / "exif/jpg/Canon_40D.jpg")
    assert canon.model == "Canon EOS 40D" and not canon.has_location
    zero_length = _exif_of(shared_data / "exif/jpg/tests/67-0_length_string.jpg")
    assert zero_length.make == "samsung" and zero_length.gps_alt == pytest.approx(340.0)
    kodak = _exif_of(shared_data / "exif/jpg/Kodak_CX7530.jpg")
    assert kodak.gps_lat == pytest.approx(-0.3713, abs=1e-5)  # fractional minutes, zero seconds
    assert kodak.gps_lon == pytest.approx(36.056417, abs=1e-5)
    assert kodak.offset_minutes is None and kodak.captured_utc is None  # no GPS time, no offset tag


def test_heif_exif_read_without_decoder(shared_data: Path) -> None:
    row = next(r for r in _rows(shared_data) if r["path"].startswith("heic/"))
    info = read_exif((shared_data / "exif" / row["path"]).read_bytes())
    assert info is not None
    assert info.make is None and info.model is None
    assert info.gps_lat == pytest.approx(float(row["gps_lat_deg"]), abs=1e-5)
    assert info.gps_lon == pytest.approx(float(row["gps_lon_deg"]), abs=1e-5)
    assert info.gps_alt == pytest.approx(float(row["gps_alt_m"]), abs=0.01)
    assert info.orientation == 1


def test_generated_image_without_exif_has_none() -> None:
    out = io.BytesIO()
    photo_like(64, 48).save(out, "JPEG")
    assert analyse_image(out.getvalue()).exif is None


def test_written_exif_round_trips_through_pillow() -> None:
    image = photo_like(64, 48)
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x0110] = "Model X  "
    exif[0x0112] = 6
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2021:03:04 05:06:07"
    sub[0x9011] = "-05:30"
    sub[0x9291] = "25"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "S", (Fraction(33), Fraction(52), Fraction(3030, 100))
    gps[3], gps[4] = "W", (Fraction(151), Fraction(12), Fraction(0))
    gps[5], gps[6] = b"\x01", Fraction(125, 10)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    result = analyse_image(out.getvalue())
    info = result.exif
    assert info.make == "TestCam" and info.model == "Model X"
    assert info.orientation == 6 and (result.width, result.height) == (48, 64)
    assert info.captured_local == datetime(2021, 3, 4, 5, 6, 7, 250000)
    assert info.offset_minutes == -330 and info.offset_source == "OffsetTimeOriginal"
    assert info.captured_utc == datetime(2021, 3, 4, 10, 36, 7, 250000, tzinfo=timezone.utc)
    assert info.gps_lat == pytest.approx(-(33 + 52 / 60 + 30.3 / 3600))
    assert info.gps_lon == pytest.approx(-(151 + 12 / 60))
    assert info.gps_alt == pytest.approx(-12.5)  # AltitudeRef 1: below sea level


@pytest.mark.parametrize(("text", "expected"), [
    ("2008:10:22 16:28:39", (datetime(2008, 10, 22, 16, 28, 39), None)),
    ("2008-10-22T16:28:39", (datetime(2008, 10, 22, 16, 28, 39), None)),
    ("2008:10:22 16:28:39.123", (datetime(2008, 10, 22, 16, 28, 39, 123000), None)),
    ("2008:10:22 16:28:39+02:00", (datetime(2008, 10, 22, 16, 28, 39), 120)),
    ("2008:10:22 16:28:39Z", (datetime(2008, 10, 22, 16, 28, 39), 0)),
    ("2008:10:22 16:28:39\x00", (datetime(2008, 10, 22, 16, 28, 39), None)),
    ("0000:00:00 00:00:00", (None, None)),
    ("    :  :     :  :  ", (None, None)),
    ("2008:13:45 10:00:00", (None, None)),
    ("", (None, None)),
    (None, (None, None)),
    (b"2010:01:02 03:04:05\x00", (datetime(2010, 1, 2, 3, 4, 5), None)),
])
def test_parse_exif_datetime(text: object, expected: tuple[object, object]) -> None:
    assert parse_exif_datetime(text) == expected


@pytest.mark.parametrize(("text", "minutes"), [
    ("+03:00", 180), ("-05:30", -330), ("+0545", 345), (" +02:00\x00", 120), ("+14:00", 840),
    ("+15:00", None), ("-13:00", None), ("   :  ", None), ("", None), ("+02:75", None),
])
def test_parse_offset(text: str, minutes: int | None) -> None:
    assert parse_offset(text) == minutes


def test_offset_from_gps_rounds_and_folds() -> None:
    local = datetime(2020, 6, 1, 0, 30, 0)
    assert offset_from_gps(local, (22, 31, 10)) == 120  # crosses midnight, no GPS date
    assert offset_from_gps(local, (5, 0, 0), "2020:06:01") == -270  # date makes -4:30 exact
    assert offset_from_gps(datetime(2020, 6, 1, 12, 0), (12, 4, 0)) == 0
    assert offset_from_gps(datetime(2020, 6, 1, 12, 0), (99, 0, 0)) is None


def test_interpret_handles_odd_gps_forms() -> None:
    # Signed rationals without refs (Nokia-style negatives), one-value decimal degrees.
    info = interpret({"gps_lat": [Fraction(-12, 1), Fraction(30, 1), Fraction(0)],
                      "gps_lon": [Fraction(455, 10)]})
    assert info.gps_lat == pytest.approx(-12.5) and info.gps_lon == pytest.approx(45.5)
    # 0/0 rationals and a half position give no location.
    assert interpret({"gps_lat": [Fraction(1), Fraction(2)], "gps_lon": None}).gps_lat is None
    assert interpret({"gps_lat": (0.0, 0.0, 0.0), "gps_lon": (0.0, 0.0, 0.0)}).has_location is False
    assert interpret({"gps_lat": (95, 0, 0), "gps_lon": (10, 0, 0)}).gps_lat is None
    assert interpret({"make": b"Cam\x00\x00garbage", "model": "   "}).make == "Cam"
    assert interpret({"model": "   "}).model is None
