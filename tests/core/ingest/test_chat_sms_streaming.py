"""SMS Backup & Restore: MMS part data (base64 in an XML attribute) is read as a stream.

A backup holding one large video must import with memory that does not grow with the
video, and still record each attachment's name, type, size and SHA-256. The backups are
generated to disk a slice at a time (never held whole) from the same synthetic building
blocks as test_chat_sms.py: fictional +1 202-555-01xx numbers, pseudo-random "video" bytes.
"""

from __future__ import annotations

import base64
import hashlib
import random
import tracemalloc
from pathlib import Path

import pytest

from tests.core.ingest.test_chat_sms import (
    PNG, T0, keys_by_role, media_part, mms, new_case, sms, smses, text_part)
from workstation.errors import BadInput
from workstation.ingest.chat.sms import SmsBackupParser
from workstation.ingest.pipeline import run_import
from workstation.ingest.records import ImportOptions, ParseError

MARK = "@@DATA@@"
# Line breaks some app versions write inside base64, as bytes and as character references.
WRAPS = ["\n", "&#10;", "\r\n", "&#13;&#10;", "&#x0A;", "\r", " "]


class Written:
    """What went into a generated part: its decoded bytes' size and SHA-256, and the line
    breaks written inside its base64."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.size = 0
        self.lines = 0


def write_part_data(fh, size: int, seed: int, wrap: bool) -> Written:  # noqa: ANN001
    """Write ``size`` pseudo-random bytes as base64, 768 KiB at a time; when ``wrap``,
    one slice in four is wrapped every 76 characters with the WRAPS in turn."""
    rng = random.Random(seed)
    got = Written()
    step = 3 * 256 * 1024
    turn = 0
    left = size
    n = 0
    while left > 0:
        raw = rng.randbytes(min(step, left))
        left -= len(raw)
        got.hash.update(raw)
        got.size += len(raw)
        text = base64.b64encode(raw).decode()
        n += 1
        if wrap and n % 4 == 1:
            lines = [text[i:i + 76] for i in range(0, len(text), 76)]
            out = []
            for line in lines:
                sep = WRAPS[turn % len(WRAPS)]
                out += (line, sep)
                got.lines += line_breaks(sep)
                turn += 1
            text = "".join(out)
        fh.write(text)
    return got


def line_breaks(text: str) -> int:
    """Line breaks as an XML parser counts them (CR LF, CR and LF each one)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def big_backup(path: Path, size: int, wrap: bool, cut_at: int | None = None) -> tuple[Written, int]:
    """A backup of two SMS, an MMS with a text part and a ``size``-byte video, an MMS with
    a small photo, an MMS whose media is not in the backup ("null" and empty data) and a
    last SMS. Returns what the video holds and the line the last SMS starts on. With
    ``cut_at``, the file stops after that many characters of the video's base64."""
    head = smses([], count=6).split("</smses>")[0]
    video = mms(T0 + 1_000, 1, "+12025550147", "Alex Example",
                [text_part(0, "the clip &#55357;&#56832;"),
                 media_part(1, "video/mp4", "VID_0001.mp4", MARK)],
                [("+12025550147", 137)])
    before, after = video.split(MARK)
    photo = mms(T0 + 2_000, 2, "+12025550147", "Alex Example",
                [media_part(0, "text/plain", "note.txt",
                            base64.b64encode("a text part in data".encode()).decode()),
                 media_part(1, "image/png", "IMG_0001.png", base64.b64encode(PNG).decode())],
                [("+12025550147", 151)])
    gone = mms(T0 + 3_000, 1, "+12025550147", "Alex Example",
               [media_part(0, "image/jpeg", "IMG_0002.jpg", "null"),
                media_part(1, "image/jpeg", "IMG_0003.jpg", "&#10;")],
               [("+12025550147", 137)])
    with path.open("w", encoding="utf-8", newline="") as fh:
        text = (head + sms("+12025550147", T0, 1, "first")
                + sms("+12025550147", T0 + 500, 2, "second") + before)
        fh.write(text)
        lines = line_breaks(text)
        if cut_at is not None:
            rng = random.Random(1)
            fh.write(base64.b64encode(rng.randbytes(cut_at * 3 // 4 + 3)).decode()[:cut_at])
            return Written(), 0
        got = write_part_data(fh, size, seed=42, wrap=wrap)
        text = after + photo + gone
        fh.write(text)
        lines += got.lines + line_breaks(text)
        fh.write(sms("+12025550147", T0 + 4_000, 1, "last") + "</smses>\n")
    return got, lines + 1


def test_large_mms_video_imports_with_flat_memory_and_its_hash(ws, tmp_path: Path) -> None:
    size = 48 * 1024 * 1024
    path = tmp_path / "sms-20240102101500.xml"
    video, last_line = big_backup(path, size, wrap=True)
    assert path.stat().st_size > 64 * 1024 * 1024
    case_id = new_case(ws)
    run_import(ws, case_id, _small(tmp_path))  # phone metadata and caches loaded before
    tracemalloc.start()
    try:
        res = run_import(ws, case_id, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Kept whole, the video's base64 (64 MiB) would be held by the parser and again as
    # text: hundreds of MB. Streamed, a few buffers of about a megabyte.
    assert peak < size // 3, f"peak {peak / 2**20:.1f} MiB"
    assert (res.events, res.messages) == (6, 6)
    evs = [e for e in ws.list_events(case_id) if e.source_id == res.source_id]
    first, second, clip, photo, gone, last = evs
    assert clip.body == "the clip \U0001F600"
    assert clip.properties["attachments"] == [{
        "name": "VID_0001.mp4", "mime": "video/mp4", "size": size,
        "sha256": video.hash.hexdigest()}]
    assert keys_by_role(ws, clip) == [("sender", "phone:+12025550147")]
    # A text part given as data is the body; the photo is an attachment.
    assert photo.body == "a text part in data"
    assert photo.properties["attachments"] == [{
        "name": "IMG_0001.png", "mime": "image/png", "size": len(PNG),
        "sha256": hashlib.sha256(PNG).hexdigest()}]
    # data="null" and data of only a line break: the media was not in the backup.
    assert gone.properties["media_not_in_backup"] == ["IMG_0002.jpg", "IMG_0003.jpg"]
    assert [a.get("sha256") for a in gone.properties["attachments"]] == [None, None]
    # Provenance: the line numbers after a wrapped 64 MiB value are still the file's.
    assert last.body == "last"
    assert last.source_ref == f"sms 6 (line {last_line})"
    assert res.warnings == ()


def _small(tmp_path: Path) -> Path:
    """A one-message backup imported first, so phone metadata and caches are loaded
    before memory is measured."""
    path = tmp_path / "sms-warm.xml"
    path.write_text(smses([sms("+12025550147", T0 - 10_000, 1, "warm up")]), encoding="utf-8")
    return path


def test_truncated_inside_a_large_part_names_the_record_and_imports_nothing(
        ws, tmp_path: Path) -> None:
    from tests.reliability.support import table_counts

    path = tmp_path / "sms-20240102101500.xml"
    big_backup(path, 0, wrap=False, cut_at=6 * 1024 * 1024 + 5)
    case_id = new_case(ws)
    with pytest.raises(ParseError) as exc:
        list(SmsBackupParser().parse(path, ImportOptions()))
    assert exc.value.file == str(path)
    assert exc.value.field == "data"
    assert "the file ends before the backup does" in exc.value.message
    # The message says which record and which part the cut fell in.
    assert "inside mms 3 (line 7) in the base64 data of MMS part 1" in exc.value.message
    before = table_counts(ws.db)
    with pytest.raises(BadInput, match=r"sms-20240102101500\.xml: line \d+ column \d+: "
                                       r"field 'data': the file ends .*mms 3 \(line 7\)"):
        run_import(ws, case_id, path)
    assert table_counts(ws.db) == before
    assert ws.list_events(case_id) == []


@pytest.mark.parametrize("damage, expected", [
    ("<", "not well-formed XML: invalid token in mms 1 (line 5)"),
    ("&undefined;", "not well-formed XML (undefined entity) in mms 1 (line 5)"),
    ("\x01", "not well-formed XML: invalid token in mms 1 (line 5)"),
])
def test_data_that_is_not_well_formed_xml_is_still_refused(
        tmp_path: Path, damage: str, expected: str) -> None:
    """Streaming the data must not let through what the XML parser refuses; the error
    now names the record it is in."""
    blob = base64.b64encode(bytes(range(256)) * 64).decode()
    bad = mms(T0, 1, "+12025550147", "Alex Example",
              [media_part(0, "image/jpeg", "IMG_0004.jpg", blob[:100] + damage + blob[100:])],
              [("+12025550147", 137)])
    path = tmp_path / "sms-bad.xml"
    path.write_text(smses([bad, sms("+12025550147", T0, 1, "after")]), encoding="utf-8")
    with pytest.raises(ParseError) as exc:
        list(SmsBackupParser().parse(path, ImportOptions()))
    assert exc.value.message.startswith(expected), exc.value.message
    assert exc.value.ref.startswith("line 8 ")  # the part's line: the placeholder kept the lines


def test_invalid_base64_in_a_large_part_is_a_notice_naming_where(ws, tmp_path: Path) -> None:
    """A damaged video: the message and the others import, the attachment is listed
    without hash, and the notice says which character is wrong and where."""
    blob = base64.b64encode(bytes(range(256)) * 24 * 1024).decode()  # 6 MiB of media
    bad = mms(T0, 1, "+12025550147", "Alex Example",
              [text_part(0, "see clip"),
               media_part(1, "video/mp4", "VID_0002.mp4",
                          blob[:4_000_000] + "*" + blob[4_000_000:]),
               media_part(2, "image/png", "IMG_0005.png", base64.b64encode(PNG).decode())],
              [("+12025550147", 137)])
    path = tmp_path / "sms-20240102101500.xml"
    path.write_text(smses([bad, sms("+12025550147", T0 + 1, 1, "after")]), encoding="utf-8")
    case_id = new_case(ws)
    res = run_import(ws, case_id, path)
    assert res.messages == 2
    assert [w for w in res.warnings if "VID_0002" in w] == [
        "mms 1 (line 5): MMS part 1 (VID_0002.mp4, video/mp4): the base64 data is corrupt "
        "(not base64: '*' at character 4000001); it is listed without size or hash"]
    clip, after = ws.list_events(case_id)
    assert clip.body == "see clip"
    assert clip.properties["unreadable_parts"] == ["VID_0002.mp4"]
    assert clip.properties["attachments"] == [
        {"name": "VID_0002.mp4", "mime": "video/mp4"},
        {"name": "IMG_0005.png", "mime": "image/png", "size": len(PNG),
         "sha256": hashlib.sha256(PNG).hexdigest()}]
    assert after.body == "after"
