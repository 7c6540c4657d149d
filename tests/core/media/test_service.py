"""Seized media in the encrypted case database: ingest, resume, EXIF events, stacks, hash
sets and matching, categorising, reveal audit, bad inputs and the VICS export."""

from __future__ import annotations

import gc
import hashlib
import io
import json
import os
import random
import shutil
import tempfile
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from tests.core.media import gen
from workstation import clock
from workstation.errors import BadInput, NotFound, UsageError
from workstation.media import service as media
from workstation.media.hashsets import HashSetEntry, read_hashset, write_vics_json

BRIDGE_MD5 = "d35c785545392755e7e4164457657269"
# PDQ of the bridge original from ThreatExchange's Python reference (shared/data README).
BRIDGE_PDQ = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"


def _case(ws, number: str = "2024-MEDIA-01", **kw) -> int:  # noqa: ANN001
    return ws.create_case(number, "Seized laptop", **kw).id


def _images(folder: Path, count: int, *, start: int = 0, size: tuple[int, int] = (320, 240)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + count):
        p = folder / f"img{i:03d}.jpg"
        p.write_bytes(gen.jpeg_bytes(size[0], size[1], seed=i))
        out.append(p)
    return out


def _by_name(ws, case_id: int) -> dict[str, media.MediaInfo]:  # noqa: ANN001
    return {m.name: m for m in media.list_media(ws, case_id, include_known_good=True, limit=None)}


def _audit(ws, action: str) -> list:  # noqa: ANN001
    with ws.db.read() as conn:
        return [e for e in ws.audit.entries(conn) if e.action == action]


# ---------------------------------------------------------------------- ingest
def test_ingest_records_hashes_type_image_facts_and_encrypted_thumbnails(ws, tmp_path: Path) -> None:
    case = _case(ws)
    src = tmp_path / "seized"
    jpegs = _images(src / "DCIM", 3)
    # A PNG with a misleading name: the type comes from content.
    png = src / "holiday.jpg.txt"
    png.write_bytes(gen.encode(gen.photo_like(200, 100, seed=9), "PNG"))
    # A video header (no decoder needed: listed with its hashes, no thumbnail).
    video = src / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + gen.noise(5000))

    result = media.ingest_media(ws, case, src, workers=2)

    assert (result.added, result.skipped, result.failures, result.cancelled) == (5, 0, (), False)
    rows = _by_name(ws, case)
    for path in [*jpegs, png, video]:
        data = path.read_bytes()
        row = rows[path.name]
        assert (row.md5, row.sha1, row.sha256, row.size) == (
            hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(),
            hashlib.sha256(data).hexdigest(), len(data))
        assert row.path == str(path)
    assert rows["holiday.jpg.txt"].mime == "image/png"
    assert (rows["holiday.jpg.txt"].width, rows["holiday.jpg.txt"].height) == (200, 100)
    assert rows["img000.jpg"].mime == "image/jpeg" and rows["img000.jpg"].pdq_quality >= 50
    assert len(rows["img000.jpg"].pdq) == 64
    clip = rows["clip.mp4"]
    assert clip.mime == "video/mp4" and clip.is_video and not clip.has_thumbnail and clip.pdq is None
    thumb = media.get_thumbnail(ws, rows["img001.jpg"].id)
    with Image.open(io.BytesIO(thumb)) as im:
        assert im.format == "JPEG" and max(im.size) <= 256
    assert media.get_thumbnail(ws, clip.id) is None
    # The thumbnails live only inside the encrypted file: no JFIF marker readable on disk.
    marker = thumb[:11]
    for f in ws.db.path.parent.glob(ws.db.path.name + "*"):
        assert marker not in f.read_bytes(), f
    src_info = ws.get_source(result.source_id)
    assert src_info.importer == "media" and src_info.summary["status"] == "complete"
    assert src_info.summary["added"] == 5
    assert [e.details["added"] for e in _audit(ws, "media.ingest")] == [5]
    assert _audit(ws, "media.ingest.start")


def test_exif_capture_events_and_gps_locations(ws, tmp_path: Path, shared_data: Path) -> None:
    case = _case(ws, timezone="Europe/London")
    src = tmp_path / "phone"
    src.mkdir()
    for rel in ("exif/jpg/gps/DSCN0010.jpg", "exif/jpg/hdr/iphone_hdr_NO.jpg", "exif/jpg/Kodak_CX7530.jpg"):
        shutil.copy(shared_data / rel, src)
    result = media.ingest_media(ws, case, src, workers=1)
    assert result.added == 3 and result.events == 3 and result.locations == 3

    events = {e.properties["path"].rsplit("/", 1)[-1]: e for e in ws.list_events(case)}
    nikon = events["DSCN0010.jpg"]
    assert nikon.kind == "media_capture"
    assert nikon.ts_utc == clock.to_micros(datetime(2008, 10, 22, 14, 28, 39, tzinfo=UTC))
    assert nikon.utc_offset == 120
    (party,) = nikon.parties
    assert (party.kind, party.role, party.label) == ("location", "location", "43.467448, 11.885127")
    place = ws.get_entity(party.entity_id)
    assert place.properties["lat"] == pytest.approx(43.467448, abs=1e-6)
    assert place.properties["lon"] == pytest.approx(11.885127, abs=1e-6)
    iphone = events["iphone_hdr_NO.jpg"]
    assert iphone.utc_offset == 120
    assert abs(iphone.ts_utc - clock.to_micros(datetime(2015, 4, 10, 18, 12, 23, tzinfo=UTC))) < 1_000_000
    madrid = ws.get_entity(iphone.parties[0].entity_id)
    assert madrid.properties["lat"] == pytest.approx(40.446972, abs=1e-5)
    assert madrid.properties["alt"] == pytest.approx(639.59, abs=0.05)
    # No offset in the file: the case's zone is assumed (BST in August), and that is said.
    kodak = events["Kodak_CX7530.jpg"]
    assert kodak.properties["time_zone_assumed"] == "Europe/London"
    assert kodak.ts_utc == clock.to_micros(datetime(2005, 8, 13, 8, 47, 23, tzinfo=UTC))
    assert ws.get_entity(kodak.parties[0].entity_id).properties["lat"] == pytest.approx(-0.3713, abs=1e-4)
    rows = _by_name(ws, case)
    assert rows["DSCN0010.jpg"].gps_lat == pytest.approx(43.467448, abs=1e-6)
    assert rows["DSCN0010.jpg"].captured_utc == nikon.ts_utc
    assert rows["DSCN0010.jpg"].exif["make"] == "NIKON"
    # Re-ingesting the same folder adds no second event or location.
    again = media.ingest_media(ws, case, src, workers=1)
    assert (again.added, again.skipped, again.events) == (0, 3, 0)
    assert len(ws.list_events(case)) == 3 and len(ws.list_entities(case, kind="location")) == 3


def test_bridge_edits_stack_with_the_original(ws, tmp_path: Path, shared_data: Path) -> None:
    case = _case(ws)
    src = tmp_path / "bridge"
    shutil.copytree(shared_data / "pdq/bridge-mods", src)
    shutil.copy(shared_data / "pdq/reg-test-input/dih/bridge-1-original.jpg", src)
    shutil.copy(shared_data / "pdq/reg-test-input/pen-and-coaster.png", src)
    media.ingest_media(ws, case, src, workers=2, batch_rows=4)
    rows = _by_name(ws, case)
    bridges = [m for name, m in rows.items() if name != "pen-and-coaster.png"]
    assert len(bridges) == 13
    stack = {m.stack_id for m in bridges}
    assert len(stack) == 1 and None not in stack
    assert stack.pop() == min(m.id for m in bridges)
    assert all(m.stack_size == 13 for m in bridges)
    assert rows["pen-and-coaster.png"].stack_id is None
    # Reviewed as one: the grid lists one tile for the stack and one for the pen.
    tiles = media.media_ids(ws, case)
    assert len(tiles) == 2
    assert sorted(media.media_ids(ws, case, stack_id=rows["aaa-orig.jpg"].stack_id)) == sorted(m.id for m in bridges)
    assert rows["aaa-orig.jpg"].md5 == rows["bridge-1-original.jpg"].md5 == BRIDGE_MD5


def test_cancelled_ingest_keeps_committed_batches_and_resumes_without_rereading(
        ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = _case(ws)
    src = tmp_path / "card"
    files = _images(src, 24, size=(96, 64))

    class StopAfter:
        def __init__(self, n: int) -> None:
            self.calls, self.n = 0, n

        def is_set(self) -> bool:
            return self.calls >= self.n

    stop = StopAfter(11)

    def progress(fraction: float | None, message: str) -> None:
        if message.endswith(".jpg"):
            stop.calls += 1

    first = media.ingest_media(ws, case, src, workers=1, batch_rows=5, progress=progress, cancel=stop)
    assert first.cancelled and 5 <= first.added < 24
    assert ws.get_source(first.source_id).summary["status"] == "cancelled"
    assert _audit(ws, "media.ingest")[-1].outcome == "cancelled"
    kept = media.list_media(ws, case, limit=None)
    assert len(kept) == first.added

    seen: list[str] = []
    real = media.analyse_many

    def spy(sources, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        sources = list(sources)
        seen.extend(s.display_path for s in sources)
        return real(sources, *args, **kwargs)

    monkeypatch.setattr(media, "analyse_many", spy)
    second = media.ingest_media(ws, case, src, workers=1, batch_rows=5)
    assert not second.cancelled
    assert (second.added, second.skipped) == (24 - first.added, first.added)
    assert len(seen) == 24 - first.added  # files already in the case were not read again
    assert not {m.path for m in kept} & set(seen)
    paths = [m.path for m in media.list_media(ws, case, limit=None)]
    assert sorted(paths) == sorted(str(f) for f in files) and len(set(paths)) == 24

    # A file whose metadata changed is read again, but the same content is not added twice;
    # its new mtime is recorded so the next run skips it unread.
    os.utime(files[0], ns=(1_000_000_000, 1_000_000_000))
    seen.clear()
    third = media.ingest_media(ws, case, src, workers=1)
    assert (third.added, third.skipped, seen) == (0, 24, [str(files[0])])
    seen.clear()
    media.ingest_media(ws, case, src, workers=1)
    assert seen == []
    # Changed content at the same path is new evidence: a second row.
    files[1].write_bytes(gen.jpeg_bytes(96, 64, seed=999))
    fourth = media.ingest_media(ws, case, src, workers=1)
    assert fourth.added == 1
    assert len(media.list_media(ws, case, limit=None)) == 25


@pytest.mark.parametrize("workers", [1, 2])
def test_no_image_file_is_written_outside_the_encrypted_database(
        ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    scratch = tmp_path / "scratch-tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)
    case = _case(ws)
    src = tmp_path / "sources"
    _images(src, 6)
    (src / "pic.png").write_bytes(gen.encode(gen.photo_like(300, 200, seed=3), "PNG"))
    result = media.ingest_media(ws, case, src, workers=workers)
    assert result.added == 7
    assert all(m.has_thumbnail for m in media.list_media(ws, case))

    def leaks(folder: Path) -> list[Path]:
        found = []
        for path in folder.rglob("*"):
            if not path.is_file() or src in path.parents:
                continue
            data = path.read_bytes()
            if (data.startswith((b"\xff\xd8\xff", b"\x89PNG")) or b"\xff\xd8\xff\xe0\x00\x10JFIF" in data
                    or b"\x89PNG\r\n\x1a\n" in data):
                found.append(path)
        return found

    assert leaks(scratch) == []
    assert leaks(ws.db.path.parent) == []  # the database folder: only the encrypted file


def test_bad_inputs_are_recorded_per_file_and_the_rest_is_ingested(ws, tmp_path: Path) -> None:
    case = _case(ws)
    src = tmp_path / "mixed"
    good = _images(src, 2)
    (src / "bomb.png").write_bytes(gen.png_bomb())
    (src / "cut.jpg").write_bytes(gen.jpeg_bytes(320, 240, seed=50)[:1500])
    doomed = src / "zz-vanishes.jpg"
    doomed.write_bytes(gen.jpeg_bytes(64, 64, seed=51))

    def progress(_f: float | None, message: str) -> None:
        if message.endswith("bomb.png") and doomed.exists():
            doomed.unlink()  # gone between listing and reading

    result = media.ingest_media(ws, case, src, workers=1, progress=progress)
    assert result.added == 4
    problems = {Path(p.path).name: p.reason for p in result.problems}
    assert set(problems) == {"bomb.png", "cut.jpg"}
    assert problems["bomb.png"] == "bomb" and problems["cut.jpg"] in ("truncated", "corrupt")
    assert [(Path(f.path).name, f.reason) for f in result.failures] == [("zz-vanishes.jpg", "vanished")]
    rows = _by_name(ws, case)
    assert rows["bomb.png"].problem and not rows["bomb.png"].has_thumbnail
    assert rows["bomb.png"].md5 == hashlib.md5((src / "bomb.png").read_bytes()).hexdigest()
    assert all(rows[p.name].has_thumbnail and rows[p.name].problem is None for p in good)
    summary = ws.get_source(result.source_id).summary
    assert summary["failed"] == 1 and summary["failures"][0]["reason"] == "vanished"
    assert {p["path"].rsplit("/", 1)[-1] for p in summary["problems"]} == {"bomb.png", "cut.jpg"}

    # A ZIP with a path-traversal member and a zip bomb: both refused, the rest ingested.
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("photos/ok.jpg", gen.jpeg_bytes(120, 90, seed=60))
        zf.writestr("../../etc/evil.jpg", gen.jpeg_bytes(120, 90, seed=61))
        zf.writestr("huge.bin", b"\x00" * (40 << 20))
    zipped = media.ingest_media(ws, case, archive, workers=1)
    assert zipped.added == 1
    reasons = {f.path.split("!/", 1)[1]: f.reason for f in zipped.failures}
    assert reasons == {"../../etc/evil.jpg": "unsafe-path", "huge.bin": "zip-bomb"}
    ok = _by_name(ws, case)["ok.jpg"]
    assert ok.path == f"{archive}!/photos/ok.jpg" and ok.has_thumbnail
    src_row = ws.get_source(zipped.source_id)
    assert src_row.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()

    with pytest.raises(BadInput, match="no such file"):
        media.ingest_media(ws, case, tmp_path / "missing")
    with pytest.raises(NotFound):
        media.ingest_media(ws, 999, src)


# ---------------------------------------------------------------------- hash sets
def test_sleuthkit_md5_set_imports_and_does_not_match_the_bridge(ws, tmp_path: Path, shared_data: Path) -> None:
    case = _case(ws)
    src = tmp_path / "b"
    src.mkdir()
    shutil.copy(shared_data / "pdq/bridge-mods/aaa-orig.jpg", src)
    media.ingest_media(ws, case, src, workers=1)
    res = media.import_hashset(ws, shared_data / "hashsets/testmd5.dat", kind="known_bad", name="TSK tools")
    assert (res.entries, res.format, res.error_count) == (28, "hash_list", 0)
    assert (res.matches, res.alerts) == (0, 0)
    (info,) = media.list_hashsets(ws)
    assert (info.name, info.kind, info.entry_count) == ("TSK tools", "known_bad", 28)
    (row,) = media.list_media(ws, case)
    assert row.md5 == BRIDGE_MD5 and row.alert is None and media.list_matches(ws, row.id) == []
    assert media.list_alerts(ws, case) == []
    with ws.db.read() as conn:
        hit = conn.exec_driver_sql("SELECT count(*) FROM hash_entry WHERE md5 = ?",
                                   ("bd3e22ee541712202db9343c9dd89474",)).scalar()
    assert hit == 1
    again = media.import_hashset(ws, shared_data / "hashsets/testmd5.dat")
    assert again.duplicate_of == res.set_id and len(media.list_hashsets(ws)) == 1
    assert _audit(ws, "hashset.import")[0].details["entries"] == 28


def _vics(path: Path, entries: list[HashSetEntry]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        write_vics_json(entries, fh, "2.0")
    return path


def test_known_bad_vics_set_matches_precategorises_and_alerts(ws, tmp_path: Path) -> None:
    case = _case(ws)
    src = tmp_path / "s"
    files = _images(src, 4)
    target = files[2].read_bytes()
    decoys = [HashSetEntry(md5=hashlib.md5(f"decoy{i}".encode()).hexdigest(), category="1") for i in range(5)]
    set_file = _vics(tmp_path / "vics.json", [*decoys, HashSetEntry(
        md5=hashlib.md5(target).hexdigest(), sha1=hashlib.sha1(target).hexdigest(), category="1",
        series="Synthetic-Series")])
    media.ingest_media(ws, case, src, workers=1)
    # A human decision is never overridden by a hash set.
    human = _by_name(ws, case)["img001.jpg"]
    media.categorise(ws, [human.id], "2")
    extra = _vics(tmp_path / "vics2.json", [HashSetEntry(md5=human.md5, category="1")])

    res = media.import_hashset(ws, set_file, kind="known_bad", name="ICSE-sample")
    assert res.entries == 6 and res.format == "vics_json"
    assert (res.alerts, res.categorised) == (1, 1) and res.matches == 2  # md5 and sha1
    rows = _by_name(ws, case)
    hit = rows["img002.jpg"]
    assert (hit.category, hit.categorised_by, hit.alert) == ("1", "hashset:ICSE-sample", "known_bad")
    assert {m.kind for m in media.list_matches(ws, hit.id)} == {"md5", "sha1"}
    (alert,) = media.list_alerts(ws, case)
    assert (alert.media_id, alert.set_kind, alert.match_kind, alert.category) == (hit.id, "known_bad", "md5", "1")
    assert all(rows[n].category is None for n in ("img000.jpg", "img003.jpg"))
    assert _audit(ws, "media.precategorise")[0].details["media_ids"] == [hit.id]
    assert media.media_ids(ws, case, alerts_only=True) == [hit.id]

    media.import_hashset(ws, extra, kind="known_bad", name="second")
    again = _by_name(ws, case)["img001.jpg"]
    assert again.category == "2" and again.categorised_by == ws.actor and again.alert == "known_bad"

    # Sets imported first match files at ingest time.
    media.acknowledge_alert(ws, alert.id)
    assert _by_name(ws, case)["img002.jpg"].alert is None
    later = tmp_path / "later"
    later.mkdir()
    (later / "copy.jpg").write_bytes(target)
    res2 = media.ingest_media(ws, case, later, workers=1)
    assert res2.alerts == 1 and res2.matches == 2
    copy = _by_name(ws, case)["copy.jpg"]
    assert copy.category == "1" and copy.alert == "known_bad" and copy.stack_id == hit.id


def test_known_good_set_hides_matching_files(ws, tmp_path: Path) -> None:
    case = _case(ws)
    src = tmp_path / "os"
    files = _images(src, 3)
    listing = tmp_path / "nsrl-like.md5"
    listing.write_text(f"{hashlib.md5(files[0].read_bytes()).hexdigest()} *system.jpg\n"
                       f"{hashlib.md5(b'other').hexdigest()} *other.dll\n")
    media.ingest_media(ws, case, src, workers=1)
    before = media.media_ids(ws, case)
    res = media.import_hashset(ws, listing, kind="known_good")
    assert res.matches == 1 and res.alerts == 0
    shown = media.media_ids(ws, case)
    hidden = _by_name(ws, case)["img000.jpg"]
    assert hidden.known_good and hidden.id not in shown and len(shown) == len(before) - 1
    assert hidden.id in media.media_ids(ws, case, include_known_good=True)
    assert all(m.name != "img000.jpg" for m in media.list_media(ws, case))


def test_pdq_near_duplicate_of_a_set_entry_is_matched_and_low_quality_ignored(
        ws, tmp_path: Path, shared_data: Path) -> None:
    case = _case(ws)
    src = tmp_path / "p"
    src.mkdir()
    shutil.copy(shared_data / "pdq/bridge-mods/blur-a-lot.jpg", src)
    shutil.copy(shared_data / "pdq/reg-test-input/pen-and-coaster.png", src)
    shutil.copy(shared_data / "pdq/misc-images/small.jpg", src)
    _images(src, 3)  # more files than set entries: the import indexes the case's files
    media.ingest_media(ws, case, src, workers=1)
    small = _by_name(ws, case)["small.jpg"]
    assert small.pdq_quality is not None and small.pdq_quality < 50
    pdq_list = tmp_path / "watch-pdq.txt"
    pdq_list.write_text(f"{BRIDGE_PDQ},100,bridge\n{small.pdq},100,flat\n")
    res = media.import_hashset(ws, pdq_list, kind="alert", name="watch", fmt="pdq_list")
    assert res.entries == 2
    rows = _by_name(ws, case)
    (match,) = media.list_matches(ws, rows["blur-a-lot.jpg"].id)
    assert match.kind == "pdq" and 0 < match.distance <= 31 and match.set_kind == "alert"
    assert rows["blur-a-lot.jpg"].alert == "alert"
    assert rows["blur-a-lot.jpg"].category is None  # a near match alerts; it never categorises
    assert media.list_matches(ws, rows["pen-and-coaster.png"].id) == []
    assert media.list_matches(ws, small.id) == []  # quality <= 49: its PDQ is not evidence
    (alert,) = media.list_alerts(ws, case)
    assert alert.match_kind == "pdq" and alert.distance == match.distance
    # A tighter threshold finds nothing.
    with ws.db.write() as conn:
        conn.exec_driver_sql("DELETE FROM media_alert")
        conn.exec_driver_sql("DELETE FROM hash_match")
    assert media.match_hashsets(ws, case_id=case, max_distance=2).matches == 0
    # Matching the case against every set goes through the cached index of the sets: same answer.
    assert media.match_hashsets(ws, case_id=case).matches == 1
    assert media.list_matches(ws, rows["blur-a-lot.jpg"].id) == [match]


def _live_pdq_indexes(min_entries: int) -> int:
    from workstation.media.pdq import PDQIndex

    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, PDQIndex) and len(o) >= min_entries)


def test_hashset_pdq_index_is_released_at_lock_and_never_serves_another_database(
        template_db: Path, tmp_path: Path, shared_data: Path) -> None:
    """The in-memory index of the sets' PDQ hashes (large: ~140 MB per million entries)
    goes when the database is locked, and the next database unlocked builds its own, even
    when its sets look the same (same ids and sizes)."""
    from tests.conftest import PASSPHRASE
    from workstation.domain.service import Workstation
    from workstation.store.database import Database

    entries = 25_000  # above the size where the index builds its bucket tables
    rng = random.Random(8)
    noise = [f"{rng.getrandbits(256):064x}" for _ in range(entries - 1)]
    lists = {"a": [BRIDGE_PDQ, *noise], "b": [*noise, f"{rng.getrandbits(256):064x}"]}  # b: nothing near the bridge
    src = tmp_path / "seized"
    src.mkdir()
    shutil.copy(shared_data / "pdq/bridge-mods/blur-a-lot.jpg", src)

    def unlock(name: str) -> Workstation:
        path = tmp_path / f"{name}.db"
        if not path.exists():
            shutil.copy2(template_db, path)
        return Workstation(Database.open(path, PASSPHRASE))

    def prepare(name: str) -> Workstation:
        ws = unlock(name)
        case = _case(ws)
        media.ingest_media(ws, case, src, workers=1)
        listing = tmp_path / f"{name}-pdq.txt"
        listing.write_text("".join(f"{h},100\n" for h in lists[name]))
        media.import_hashset(ws, listing, kind="alert", name="watch", fmt="pdq_list", match=False)
        return ws

    before = _live_pdq_indexes(entries)
    ws_a = prepare("a")
    case_a = ws_a.list_cases()[0].id
    tracemalloc.start()
    try:
        assert media.match_hashsets(ws_a, case_id=case_a).matches == 1  # builds and keeps the sets' index
        assert _live_pdq_indexes(entries) == before + 1
        held = tracemalloc.get_traced_memory()[0]
        ws_a.db.lock()
        assert _live_pdq_indexes(entries) == before  # dropped with the lock...
        released = held - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert released > entries * 100  # ...and its memory with it

    # The next database, with a set of the same id and size, matches against its own entries.
    ws_b = prepare("b")
    try:
        case_b = ws_b.list_cases()[0].id
        assert media.match_hashsets(ws_b, case_id=case_b).matches == 0
        assert media.list_alerts(ws_b, case_b) == []
    finally:
        ws_b.db.lock()
    assert _live_pdq_indexes(entries) == before
    # Unlocked again, the first database rebuilds its index and still finds the near copy.
    ws_a = unlock("a")
    try:
        with ws_a.db.write() as conn:
            conn.exec_driver_sql("DELETE FROM media_alert")
            conn.exec_driver_sql("DELETE FROM hash_match")
        assert media.match_hashsets(ws_a, case_id=case_a).matches == 1
    finally:
        ws_a.db.lock()


# ---------------------------------------------------------------------- categorising, reveal, export
def test_categorising_a_stack_applies_to_every_member_and_is_audited(ws, tmp_path: Path, shared_data: Path) -> None:
    case = _case(ws)
    src = tmp_path / "bridge"
    shutil.copytree(shared_data / "pdq/bridge-mods", src)
    shutil.copy(shared_data / "pdq/reg-test-input/pen-and-coaster.png", src)
    media.ingest_media(ws, case, src, workers=1)
    rows = _by_name(ws, case)
    blur = rows["blur-a-little.jpg"]
    ch = media.categorise(ws, [blur.id], "1")
    assert len(ch.ids) == 12 and ch.table == "media" and ch.case_id == case
    after = _by_name(ws, case)
    for name, row in after.items():
        if name == "pen-and-coaster.png":
            assert row.category is None
        else:
            assert (row.category, row.categorised_by) == ("1", ws.actor) and row.categorised_at
    (entry,) = _audit(ws, "media.categorise")
    assert entry.details["count"] == 12 and entry.details["category"] == "1"
    assert entry.details["previous"] == {"None": sorted(ch.ids)}
    single = media.categorise(ws, [blur.id], "4", whole_stack=False)
    assert single.ids == (blur.id,)
    assert sorted({m.category for m in media.list_media(ws, case, stack_id=blur.stack_id)}) == ["1", "4"]
    assert media.media_ids(ws, case, category="1", collapse_stacks=False) == sorted(set(ch.ids) - {blur.id})
    assert media.media_ids(ws, case, uncategorised=True) == [after["pen-and-coaster.png"].id]
    with pytest.raises(BadInput, match="not in scheme vic_us"):
        media.categorise(ws, [blur.id], "9")
    with pytest.raises(NotFound):
        media.categorise(ws, [123456], "1")


def test_case_scheme_decides_the_valid_codes(ws, tmp_path: Path) -> None:
    case = _case(ws)
    _images(tmp_path / "x", 2)
    media.ingest_media(ws, case, tmp_path / "x", workers=1)
    assert media.case_scheme(ws, case).name == "vic_us"
    media.set_case_scheme(ws, case, "uk_caid")
    ids = media.media_ids(ws, case)
    media.categorise(ws, [ids[0]], "A")
    with pytest.raises(BadInput):
        media.categorise(ws, [ids[1]], "1")
    with pytest.raises(UsageError, match="A"):
        media.set_case_scheme(ws, case, "vic_us")
    with pytest.raises(UsageError, match="unknown category scheme"):
        media.set_case_scheme(ws, case, "made_up")
    assert media.media_ids(ws, case, uncategorised=True) == [ids[1]]
    assert [e.details for e in _audit(ws, "case.category_scheme")] == [{"from": "vic_us", "to": "uk_caid"}]


def test_reveal_is_audited(ws, tmp_path: Path) -> None:
    case = _case(ws)
    _images(tmp_path / "r", 1)
    media.ingest_media(ws, case, tmp_path / "r", workers=1)
    (mid,) = media.media_ids(ws, case)
    seq = media.record_reveal(ws, mid)
    (entry,) = _audit(ws, "media.reveal")
    assert (entry.seq, entry.target_type, entry.target_id, entry.details["case_id"]) == (seq, "media", str(mid), case)
    with pytest.raises(NotFound):
        media.record_reveal(ws, mid + 100)
    media.record_reveal(ws, mid, how="keyhole")
    assert [e.details.get("how") for e in _audit(ws, "media.reveal")] == [None, "keyhole"]
    assert ws.audit.verify().ok


def test_export_vics_writes_categorised_hashes_atomically_and_audits(ws, tmp_path: Path) -> None:
    case = _case(ws)
    src = tmp_path / "e"
    files = _images(src, 4)
    shutil.copy(files[0], src / "dup-of-0.jpg")
    media.ingest_media(ws, case, src, workers=1)
    rows = _by_name(ws, case)
    media.categorise(ws, [rows["img000.jpg"].id], "1")
    media.categorise(ws, [rows["img003.jpg"].id], "3")
    media.categorise(ws, [rows["img002.jpg"].id], "0")  # the unreviewed code is not exported
    out_dir = tmp_path / "share"
    out_dir.mkdir()
    out = out_dir / "case.json"
    res = media.export_vics(ws, case, out)
    assert res.count == 2 and sorted(p.name for p in out_dir.iterdir()) == ["case.json"]
    read = {e.md5: e for e in read_hashset(out)}
    assert {md5: e.category for md5, e in read.items()} == {rows["img000.jpg"].md5: "1", rows["img003.jpg"].md5: "3"}
    assert read[rows["img003.jpg"].md5].sha256 == rows["img003.jpg"].sha256
    assert read[rows["img003.jpg"].md5].pdq == rows["img003.jpg"].pdq
    assert json.loads(out.read_text())["value"][0]["CaseNumber"] == "2024-MEDIA-01"
    (entry,) = _audit(ws, "media.export_vics")
    assert entry.details["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() == res.sha256
    with pytest.raises(BadInput, match="folder does not exist"):
        media.export_vics(ws, case, tmp_path / "nowhere" / "x.json")
