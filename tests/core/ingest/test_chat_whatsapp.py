"""WhatsApp text exports: the shared corpus files plus generated locale variants."""

from __future__ import annotations

import hashlib
import random
import tracemalloc
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from workstation.ingest.chat.whatsapp import WhatsAppParser
from workstation.ingest.records import ImportOptions, ParsedEvent, ParseError, RowError

P = WhatsAppParser()
NNBSP = "\u202f"
LRM = "\u200e"


def parse(path: Path, **opts: object) -> list:
    return list(P.parse(path, ImportOptions(**opts)))  # type: ignore[arg-type]


def events(records: list) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent)]


def sender(ev: ParsedEvent) -> str:
    return next(p.value for p in ev.parties if p.role == "sender")


def write(tmp_path: Path, text: str, name: str = "chat.txt", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------- shared corpus

def test_ios_export_counts_times_and_authors(shared_data: Path) -> None:
    evs = events(parse(shared_data / "chat/whatsapp/whatsapp_ios_chat.txt"))
    messages = [e for e in evs if e.kind == "message"]
    texts = [e for e in messages if e.body]
    placeholders = [e for e in messages if e.attachments]
    systems = [e for e in evs if e.kind == "system"]
    assert (len(texts), len(placeholders), len(systems)) == (8, 3, 1)
    assert "end-to-end encrypted" in (systems[0].body or "")
    assert systems[0].ref == "line 1"
    assert all(not e.body for e in placeholders)
    assert [a.name for e in placeholders for a in e.attachments] == ["image omitted"] * 3
    assert all(e.properties["media_kind"] == "image" for e in placeholders)
    assert texts[0].occurred_at == datetime(2023, 8, 15, 9, 12, 43)
    assert texts[-1].occurred_at == datetime(2023, 8, 15, 21, 25, 16)  # 9:25:16 PM
    assert texts[0].occurred_at.tzinfo is None  # the pipeline applies the zone
    assert "I spotted a rare Hyacinth Macaw yesterday in the Amazon Rainforest. Such a " \
           "magnificent creature!" in (texts[0].body or "")
    by_author: dict[str, int] = {}
    for e in texts:
        by_author[sender(e)] = by_author.get(sender(e), 0) + 1
    assert by_author == {"Dr. Feather": 4, "Jungle Jane": 4}
    # A two-person chat: the other person is the recipient.
    first = texts[0]
    assert [(p.value, p.role, p.platform) for p in first.parties] == [
        ("Dr. Feather", "sender", "whatsapp"), ("Jungle Jane", "recipient", "whatsapp")]
    assert first.properties["date_order"] == "mdy"


def test_mixed_formats_file_reads_eight_text_messages_in_order(shared_data: Path) -> None:
    evs = events(parse(shared_data / "chat/whatsapp/whatsapp_mixed_formats_chat.txt"))
    texts = [(e.properties.get("push_name"), sender(e), e.body) for e in evs
             if e.kind == "message" and e.body]
    assert [(s, b) for _, s, b in texts] == [
        ("James", "Hi here"),
        ("User name", "Message 123"),
        ("User 2", "Bye!"),
        ("User 1", "And let me know if anything changes"),
        ("~ User name 2", "Of course!"),
        ("~ User 2", "See you!"),
        ("User 1", "Hello"),
        ("User 2", "Goodbye"),
    ]
    by_ref = {e.ref: e for e in evs}
    # The malformed "3:22_AM" header is read (03:22) but flagged, naming the line.
    odd = by_ref["line 4"]
    assert odd.occurred_at == datetime(2023, 1, 23, 3, 22)
    assert odd.properties["malformed_header"] == "1/23/23, 3:22_AM"
    assert "malformed_header" not in by_ref["line 3"].properties
    # "~ " marks a push name: the label is the bare name, the value keeps the mark.
    push = by_ref["line 5"].parties[0]
    assert (push.value, push.label, push.properties.get("push_name")) == (
        "~ User name 2", "User name 2", True)
    # Each date shape decided on its own: dotted is day-first, slashed month-first
    # (1/23/23 decides), year-first is unambiguous.
    assert by_ref["line 1"].occurred_at == datetime(2023, 5, 5, 15, 48, 11)
    assert by_ref["line 2"].occurred_at == datetime(2021, 11, 8, 9, 41, 32)
    assert by_ref["line 6"].occurred_at == datetime(2023, 5, 4, 16, 13, 23)
    assert by_ref["line 7"].occurred_at == datetime(2022, 7, 19, 23, 32)  # 11:32 PM
    assert by_ref["line 8"].occurred_at == datetime(2022, 7, 20, 11, 32)  # 11:32 am
    # The last two lines: media placeholder and deleted message, not text messages.
    assert by_ref["line 9"].attachments[0].name == "<Media omitted>"
    assert by_ref["line 9"].body is None
    assert by_ref["line 10"].properties["deleted"] is True
    assert by_ref["line 10"].body is None
    # Seven distinct senders: a group, so the recipient is the conversation itself.
    assert by_ref["line 1"].parties[1].kind == "group"


# --------------------------------------------------------------------- locales

ANDROID_DMY = """\
14/08/2023, 21:05 - Messages and calls are end-to-end encrypted. Tap to learn more.
14/08/2023, 21:05 - Alice: Are we still on for tomorrow?
14/08/2023, 21:07 - Bob: Yes
03/09/2023, 08:15 - Alice: Good morning
"""

ANDROID_MDY = f"""\
8/14/23, 9:05{NNBSP}PM - Alice: Are we still on for tomorrow?
8/14/23, 9:07{NNBSP}PM - Bob: Yes
9/3/23, 8:15{NNBSP}AM - Alice: Good morning
"""


def test_android_day_first_locale(tmp_path: Path) -> None:
    evs = events(parse(write(tmp_path, ANDROID_DMY)))
    assert [e.kind for e in evs] == ["system", "message", "message", "message"]
    assert evs[3].occurred_at == datetime(2023, 9, 3, 8, 15)  # 3 September, not 9 March
    assert evs[3].properties["date_order"] == "dmy"
    assert evs[3].properties["date_order_basis"] == "evidence"
    assert evs[0].parties == ()


def test_android_month_first_locale_with_narrow_nbsp(tmp_path: Path) -> None:
    evs = events(parse(write(tmp_path, ANDROID_MDY)))
    assert [e.occurred_at for e in evs] == [
        datetime(2023, 8, 14, 21, 5), datetime(2023, 8, 14, 21, 7),
        datetime(2023, 9, 3, 8, 15)]
    assert {e.properties["date_order"] for e in evs} == {"mdy"}


@pytest.mark.parametrize(("text", "order", "basis", "expected"), [
    ("05/06/2023, 10:00 - A: x\n05/06/2023, 10:01 - B: y\n", "dmy", "fallback",
     datetime(2023, 6, 5, 10, 0)),
    ("05/06/23, 10:00 AM - A: x\n05/06/23, 10:01 AM - B: y\n", "mdy", "fallback",
     datetime(2023, 5, 6, 10, 0)),
    ("[05.06.23, 10:00:00] A: x\n", "dmy", "locale", datetime(2023, 6, 5, 10, 0)),
    # German placeholder text: a day-first locale even though the dates are ambiguous.
    (f"[05/06/23, 10:00:00] A: {LRM}Bild weggelassen\n[05/06/23, 10:00:05] B: ok\n",
     "dmy", "locale", datetime(2023, 6, 5, 10, 0)),
])
def test_ambiguous_dates_fall_back_and_record_the_decision(
        tmp_path: Path, text: str, order: str, basis: str, expected: datetime) -> None:
    evs = events(parse(write(tmp_path, text)))
    assert evs[0].occurred_at == expected
    assert (evs[0].properties["date_order"], evs[0].properties["date_order_basis"]) == (
        order, basis)


def test_profile_can_force_the_date_order(tmp_path: Path) -> None:
    path = write(tmp_path, "05/06/23, 10:00 AM - A: x\n")
    evs = events(parse(path, profile={"date_order": "dmy"}))
    assert evs[0].occurred_at == datetime(2023, 6, 5, 10, 0)
    assert evs[0].properties["date_order_basis"] == "profile"


@pytest.mark.parametrize(("line", "when", "name", "body"), [
    ("[8/15/23, 9:12:33 AM] Ann: hi", datetime(2023, 8, 15, 9, 12, 33), "Ann", "hi"),
    (f"[8/15/23, 9:12:33{NNBSP}PM] Ann: hi", datetime(2023, 8, 15, 21, 12, 33), "Ann", "hi"),
    ("8/15/23, 9:12 pm - Ann: hi", datetime(2023, 8, 15, 21, 12), "Ann", "hi"),
    ("15/8/2023, 9:12 p.m. - Ann: hi", datetime(2023, 8, 15, 21, 12), "Ann", "hi"),
    ("15/8/2023, 9:12 p. m. - Ann: hi", datetime(2023, 8, 15, 21, 12), "Ann", "hi"),
    ("[15.08.23, 21:12:33] Ann: hi", datetime(2023, 8, 15, 21, 12, 33), "Ann", "hi"),
    ("15.08.23, 21:12 - Ann: hi", datetime(2023, 8, 15, 21, 12), "Ann", "hi"),
    ("[2023/8/15, 21:12:33] Ann: hi", datetime(2023, 8, 15, 21, 12, 33), "Ann", "hi"),
    ("2023-08-15 21:12 - Ann: hi", datetime(2023, 8, 15, 21, 12), "Ann", "hi"),
    ("2023. 8. 15. 오후 9:12 - Ann: hi", datetime(2023, 8, 15, 21, 12), "Ann", "hi"),
    ("2023/8/15 下午9:12 - Ann: hi", datetime(2023, 8, 15, 21, 12), "Ann", "hi"),
    (f"{LRM}[8/15/23, 12:05:00 AM] {LRM}Ann: hi", datetime(2023, 8, 15, 0, 5), "Ann", "hi"),
    ("[8/15/23, 9:12:33 AM] ~\u00a0Ann: hi", datetime(2023, 8, 15, 9, 12, 33), "~ Ann", "hi"),
    ("8/15/23, 9:12 AM - \u202a+1 202-555-0143\u202c: hi", datetime(2023, 8, 15, 9, 12),
     "+1 202-555-0143", "hi"),
])
def test_header_variants(tmp_path: Path, line: str, when: datetime, name: str,
                         body: str) -> None:
    # A second line with a day > 12 pins the order of ambiguous slashed dates.
    evs = events(parse(write(tmp_path, line + "\n")))
    assert len(evs) == 1
    ev = evs[0]
    assert (ev.kind, ev.occurred_at, sender(ev), ev.body) == ("message", when, name, body)


def test_phone_number_sender_is_recognised(tmp_path: Path) -> None:
    ev = events(parse(write(tmp_path, "8/15/23, 9:12 AM - \u202a+1 202-555-0143\u202c: hi\n")))[0]
    assert ev.parties[0].properties["phone"] == "+12025550143"


# --------------------------------------------------------------------- content

def test_multiline_messages_and_garbage_line_are_continuations(tmp_path: Path) -> None:
    text = (
        "[8/15/23, 9:00:00 AM] Ann: first line\n"
        "second line\n"
        "\n"
        "fourth line after a blank\n"
        "[8/15/23, 9:01:00 AM] Bob: reply\n"
        "\x01\x02%%% ### garbage ### \ufffd\n"
        "[8/15/23, 9:02:00 AM] Ann: last\n"
    )
    records = parse(write(tmp_path, text))
    assert not [r for r in records if isinstance(r, RowError)]
    evs = events(records)
    assert [e.ref for e in evs] == ["line 1", "line 5", "line 7"]
    assert evs[0].body == "first line\nsecond line\n\nfourth line after a blank"
    assert evs[1].body == "reply\n\x01\x02%%% ### garbage ### \ufffd"
    assert evs[2].body == "last"


def test_utf16_export_with_bom(tmp_path: Path) -> None:
    text = f"[8/15/23, 9:12:33{NNBSP}AM] Zoë: Grüße 👋\r\nnoch eine Zeile\r\n" \
           f"[8/15/23, 9:13:00{NNBSP}PM] Émile: ça va\r\n"
    path = write(tmp_path, text, encoding="utf-16")
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    evs = events(parse(path))
    assert [(sender(e), e.body) for e in evs] == [
        ("Zoë", "Grüße 👋\nnoch eine Zeile"), ("Émile", "ça va")]
    assert evs[1].occurred_at == datetime(2023, 8, 15, 21, 13)
    assert P.sniff(path, path.read_bytes()[:65536]) >= 0.6


def test_attachments_placeholders_and_edits(tmp_path: Path) -> None:
    (tmp_path / "00000012-PHOTO-2023-08-15-09-12-48.jpg").write_bytes(b"\xff\xd8" + b"0" * 98)
    text = (
        f"[8/15/23, 9:12:48 AM] Ann: {LRM}<attached: 00000012-PHOTO-2023-08-15-09-12-48.jpg>\n"
        "8/15/23, 9:13 AM - Bob: IMG-20230815-WA0001.jpg (file attached)\n"
        "look at this\n"
        f"[8/15/23, 9:14:00 AM] Ann: {LRM}audio omitted\n"
        f"[8/15/23, 9:15:00 AM] Ann: {LRM}report.pdf • {LRM}3 pages {LRM}document omitted\n"
        f"[8/15/23, 9:16:00 AM] Bob: fixed typo {LRM}<This message was edited>\n"
        f"[8/15/23, 9:17:00 AM] Ann: {LRM}You deleted this message.\n"
        "[8/15/23, 9:18:00 AM] Bob: where? https://maps.google.com/?q=51.5007,-0.1246\n"
    )
    evs = events(parse(write(tmp_path, text)))
    assert all(e.kind == "message" for e in evs)
    ios, android, audio, doc, edited, deleted, loc = evs
    att = ios.attachments[0]
    assert (att.name, att.mime, att.size, att.path) == (
        "00000012-PHOTO-2023-08-15-09-12-48.jpg", "image/jpeg", 100,
        "00000012-PHOTO-2023-08-15-09-12-48.jpg")
    assert att.sha256 == hashlib.sha256(b"\xff\xd8" + b"0" * 98).hexdigest()
    assert ios.body is None
    assert android.attachments[0].name == "IMG-20230815-WA0001.jpg"
    assert android.attachments[0].size is None  # not exported alongside
    assert android.body == "look at this"  # the caption
    assert audio.properties["media_kind"] == "audio" and audio.body is None
    assert doc.properties["media_kind"] == "document"
    assert doc.attachments[0].name.startswith("report.pdf")
    assert (edited.body, edited.properties["edited"]) == ("fixed typo", True)
    assert deleted.properties["deleted"] is True and deleted.body is None
    assert loc.properties["location"] == {"latitude": 51.5007, "longitude": -0.1246}


def test_group_chat_system_lines_and_conversation_party(tmp_path: Path) -> None:
    text = (
        "15/08/2023, 09:00 - Ann created group \"Trip: planning\"\n"
        "15/08/2023, 09:00 - Ann added Bob\n"
        "15/08/2023, 09:01 - Bob: hello all\n"
        "15/08/2023, 09:02 - Bob left\n"
        "15/08/2023, 09:03 - Ann: bye\n"
    )
    path = write(tmp_path, text, name="WhatsApp Chat with Trip planning.txt")
    evs = events(parse(path))
    assert [e.kind for e in evs] == ["system", "system", "message", "system", "message"]
    assert evs[0].title == 'Ann created group "Trip: planning"'
    msg = evs[2]
    assert msg.properties["conversation"] == "Trip planning"
    assert [(p.kind, p.value, p.role) for p in msg.parties] == [
        ("account", "Bob", "sender"), ("group", "Trip planning", "recipient")]


def test_impossible_date_is_a_row_error_naming_the_line(tmp_path: Path) -> None:
    text = "[13/08/23, 09:00:00] Ann: a\n[31/02/23, 09:00:00] Ann: b\n[14/08/23, 09:00:00] Bob: c\n"
    records = parse(write(tmp_path, text))
    errors = [r for r in records if isinstance(r, RowError)]
    assert [(e.ref, e.field) for e in errors] == [("line 2", "date")]
    assert [e.body for e in events(records)] == ["a", "c"]


def test_ios_export_zip_with_media(tmp_path: Path) -> None:
    photo = random.Random(1).randbytes(5000)
    chat = (f"[8/15/23, 9:12:33 AM] Ann: hi\n"
            f"[8/15/23, 9:12:48 AM] Bob: {LRM}<attached: 00000002-PHOTO-2023-08-15.jpg>\n"
            f"[8/15/23, 9:13:00 AM] Bob: {LRM}<attached: ../../outside.jpg>\n")
    (tmp_path / "outside.jpg").write_bytes(b"must not be read")
    path = tmp_path / "WhatsApp Chat - Ann.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("_chat.txt", chat.encode("utf-8"))
        zf.writestr("00000002-PHOTO-2023-08-15.jpg", photo)
    assert P.sniff(path, path.read_bytes()[:65536]) >= 0.9
    evs = events(parse(path))
    assert [e.body for e in evs] == ["hi", None, None]
    att = evs[1].attachments[0]
    assert (att.size, att.sha256) == (5000, hashlib.sha256(photo).hexdigest())
    # A name climbing out of the export is neither read nor handed on as a path.
    outside = evs[2].attachments[0]
    assert (outside.name, outside.size, outside.sha256, outside.path) == (
        "../../outside.jpg", None, None, None)
    assert evs[0].properties["conversation"] == "Ann"
    assert [(p.value, p.role) for p in evs[0].parties] == [("Ann", "sender"),
                                                          ("Bob", "recipient")]


def test_zip_without_chat_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.jpg", b"x")
    assert P.sniff(path, path.read_bytes()) == 0.0
    with pytest.raises(ParseError, match="no WhatsApp chat text"):
        parse(path)


# --------------------------------------------------------------------- bad input

def test_binary_file_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "photo.txt"
    path.write_bytes(random.Random(7).randbytes(20000))
    with pytest.raises(ParseError) as exc:
        parse(path)
    assert str(path) in str(exc.value)


def test_text_without_any_header_is_a_parse_error(tmp_path: Path) -> None:
    path = write(tmp_path, "just some notes\nnothing to see\n")
    with pytest.raises(ParseError, match="no WhatsApp message header"):
        parse(path)


def test_text_before_the_first_header_is_reported(tmp_path: Path) -> None:
    records = parse(write(tmp_path, "exported by a tool\n[8/15/23, 9:00:00 AM] Ann: hi\n"))
    assert isinstance(records[0], RowError) and records[0].ref == "line 1"
    assert events(records)[0].body == "hi"


def test_sniff_accepts_exports_and_rejects_csv(tmp_path: Path) -> None:
    chat = write(tmp_path, ANDROID_DMY)
    csv = write(tmp_path, "date,time,name,text\n15/08/2023,21:05,Alice,hi\n", name="x.csv")
    assert P.sniff(chat, chat.read_bytes()) >= 0.9
    assert P.sniff(csv, csv.read_bytes()) == 0.0


def test_large_file_streams_with_flat_memory(tmp_path: Path) -> None:
    # Long lines keep the allocation count (and tracemalloc's cost) low per megabyte.
    path = tmp_path / "big.txt"
    padding = "lorem ipsum dolor sit amet " * 14
    with path.open("w", encoding="utf-8") as fh:
        for i in range(6000):
            fh.write(f"[8/{1 + i % 28}/23, 9:{i % 60:02d}:00 AM] Person {i % 7}: message "
                     f"number {i} {padding}\n")
    assert path.stat().st_size > 2_000_000
    it = P.parse(path, ImportOptions())
    tracemalloc.start()
    try:
        count = sum(1 for r in it if isinstance(r, ParsedEvent))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 6000
    # The encoding sniffer reads a 256 KiB sample; everything else is one line at a time.
    assert peak < 1_000_000, f"peak {peak} bytes: the parser holds the file in memory"


# --------------------------------------------------------------------- producer variants

@pytest.mark.parametrize(("line", "when"), [
    # Greek, Arabic (Arabic-Indic digits, Arabic comma, RLM), Persian-style markers.
    ("2/1/24, 3:04 μ.μ. - Ann: hi", datetime(2024, 1, 2, 15, 4)),
    ("\u0662/\u0661/\u0662\u0664\u060c \u0663:\u0660\u0664 \u0645 - Ann: hi",
     datetime(2024, 1, 2, 15, 4)),
    # Spanish with a no-break space inside "p. m.": a day-first locale.
    ("2/1/24, 3:04 p.\u00a0m. - Ann: hi", datetime(2024, 1, 2, 15, 4)),
    # Thai phones write Buddhist-era years (2567 = 2024).
    ("2/1/2567 15:04 - Ann: hi", datetime(2024, 1, 2, 15, 4)),
    # Turkish, Brazilian and Dutch Android: no comma after the date.
    ("02.01.2024 15:04 - Ann: hi", datetime(2024, 1, 2, 15, 4)),
    ("02/01/2024 15:04 - Ann: hi", datetime(2024, 1, 2, 15, 4)),
    ("02-01-2024 15:04 - Ann: hi", datetime(2024, 1, 2, 15, 4)),
    # Korean iOS, Japanese Android, Canadian French.
    ("[2024. 1. 2. 오후 3:04:05] Ann: hi", datetime(2024, 1, 2, 15, 4, 5)),
    ("2024/01/02 15:04 - Ann: hi", datetime(2024, 1, 2, 15, 4)),
    ("2024-01-02 15 h 04 - Ann: hi", datetime(2024, 1, 2, 15, 4)),
    ("[2024. 01. 02. du. 3:04:05] Ann: hi", datetime(2024, 1, 2, 15, 4, 5)),
])
def test_more_locale_headers(tmp_path: Path, line: str, when: datetime) -> None:
    evs = events(parse(write(tmp_path, line + "\n")))
    assert [(e.kind, e.occurred_at, sender(e), e.body) for e in evs] == [
        ("message", when, "Ann", "hi")]


def test_thai_buddhist_year_is_recorded(tmp_path: Path) -> None:
    ev = events(parse(write(tmp_path, "14/1/2567 15:04 - Ann: hi\n")))[0]
    assert ev.occurred_at == datetime(2024, 1, 14, 15, 4)
    assert ev.properties["calendar"] == "buddhist"


@pytest.mark.parametrize(("dates", "order", "expected_last"), [
    # Day-first 12-hour phone (en-AU): every number is <= 12, the days run on.
    (["01/03/24", "02/03/24", "03/03/24", "05/03/24"], "dmy", datetime(2024, 3, 5, 9, 0)),
    (["3/1/24", "3/2/24", "3/3/24", "3/5/24"], "mdy", datetime(2024, 3, 5, 9, 0)),
    # Month end: 11/03 -> 12/03 -> 01/04 reads as a two-week span only day-first.
    (["11/03/24", "12/03/24", "01/04/24"], "dmy", datetime(2024, 4, 1, 9, 0)),
])
def test_day_month_order_decided_from_the_whole_files_chronology(
        tmp_path: Path, dates: list[str], order: str, expected_last: datetime) -> None:
    text = "".join(f"{d}, 9:00 am - {'Ann' if i % 2 else 'Bob'}: m{i}\n"
                   for i, d in enumerate(dates))
    evs = events(parse(write(tmp_path, text)))
    assert {(e.properties["date_order"], e.properties["date_order_basis"]) for e in evs} == {
        (order, "chronology")}
    assert evs[-1].occurred_at == expected_last


def test_late_unambiguous_date_decides_for_the_whole_file(tmp_path: Path) -> None:
    lines = [f"0{d}/01/2024, 10:00 - Ann: early {d}" for d in range(1, 10)]
    lines += ["03/02/2024, 10:00 - Bob: still ambiguous", "25/02/2024, 10:00 - Bob: decides"]
    evs = events(parse(write(tmp_path, "\n".join(lines) + "\n")))
    assert evs[0].occurred_at == datetime(2024, 1, 1, 10, 0)
    assert evs[9].occurred_at == datetime(2024, 2, 3, 10, 0)
    assert evs[0].properties["date_order_basis"] == "evidence"


def test_ios_location_and_poll_keep_their_sender(tmp_path: Path) -> None:
    text = (
        "[02/01/2024, 10:11:12] Ann: where are you\n"
        f"[02/01/2024, 10:11:30] Bob: {LRM}Location: https://maps.google.com/?q=51.5007,-0.1246\n"
        f"[02/01/2024, 10:12:00] Bob: {LRM}POLL:\n{LRM}Meet where?\n"
        f"{LRM}OPTION: Station (2 votes)\n{LRM}OPTION: Cafe (0 votes)\n"
        "02/01/2024, 10:13 - Ann: location: https://maps.google.com/?q=-33.8568,151.2153\n"
    )
    loc, poll, android = events(parse(write(tmp_path, text)))[1:]
    assert (loc.kind, sender(loc)) == ("message", "Bob")
    assert loc.properties["location"] == {"latitude": 51.5007, "longitude": -0.1246}
    assert [p.value for p in loc.parties if p.role == "recipient"] == ["Ann"]
    assert (poll.kind, sender(poll)) == ("message", "Bob")
    assert poll.properties["poll"] == {"question": "Meet where?", "answers": [
        {"text": "Station", "votes": 2}, {"text": "Cafe", "votes": 0}]}
    assert android.properties["location"] == {"latitude": -33.8568, "longitude": 151.2153}


def test_ios_call_notice_names_the_caller(tmp_path: Path) -> None:
    text = (f"[02/01/2024, 10:11:12] Ann: hi\n[02/01/2024, 10:11:40] Bob: {LRM}Missed voice call\n"
            f"[02/01/2024, 10:12:00] Bob: {LRM}Video call, {LRM}12 min\n")
    _, missed, video = events(parse(write(tmp_path, text)))
    assert missed.kind == "system"
    assert [(p.value, p.role) for p in missed.parties] == [("Bob", "participant")]
    assert missed.properties["call"] == {"media": "voice", "missed": True}
    assert video.properties["call"] == {"media": "video", "missed": False,
                                        "duration_text": "12 min"}


def test_android_attachment_names_with_parentheses(tmp_path: Path) -> None:
    text = ("02/01/2024, 10:11 - Ann: Invoice (1).pdf (file attached)\n"
            "02/01/2024, 10:12 - Bob: see notes.txt (draft)\n")
    doc, plain = events(parse(write(tmp_path, text)))
    assert [a.name for a in doc.attachments] == ["Invoice (1).pdf"]
    assert doc.attachments[0].mime == "application/pdf" and doc.body is None
    assert plain.attachments == () and plain.body == "see notes.txt (draft)"


def test_contact_card_in_zip_gives_the_contacts_phone(tmp_path: Path) -> None:
    vcf = ("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;;;\r\nFN:Jane Doe\r\n"
           "TEL;type=CELL;waid=12025550188:+1 202-555-0188\r\nEND:VCARD\r\n")
    chat = (f"[02/01/2024, 10:11:12] Ann: hi\n"
            f"[02/01/2024, 10:11:20] Bob: {LRM}<attached: 00000003-Jane Doe.vcf>\n"
            "02/01/2024, 10:12 - Ann: Sam Roe.vcf (file attached)\n")
    path = tmp_path / "WhatsApp Chat - Ann.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("_chat.txt", chat)
        zf.writestr("00000003-Jane Doe.vcf", vcf)
    _, card, missing = events(parse(path))
    assert card.attachments[0].mime == "text/vcard"
    assert card.attachments[0].size == len(vcf.encode())
    assert card.properties["contact"] == {"name": "Jane Doe", "phones": ["+1 202-555-0188"]}
    assert ("phone", "+1 202-555-0188", "mentioned", "Jane Doe") in [
        (p.kind, p.value, p.role, p.label) for p in card.parties]
    # Not exported: the file name still tells whose card it was.
    assert missing.properties["contact"] == {"name": "Sam Roe"}
    assert [p.kind for p in missing.parties] == ["account", "account"]


def test_android_system_lines_of_a_group(tmp_path: Path) -> None:
    text = (
        "02/01/2024, 10:00 - Messages and calls are end-to-end encrypted. No one outside of "
        "this chat, not even WhatsApp, can read or listen to them. Tap to learn more.\n"
        "02/01/2024, 10:00 - Ann created group \"Plans\"\n"
        "02/01/2024, 10:01 - Ann added Bob\n"
        "02/01/2024, 10:02 - Ann changed the subject from \"Plans: old\" to \"Plans: new\"\n"
        "02/01/2024, 10:03 - Bob's security code changed. Tap to learn more.\n"
        "02/01/2024, 10:04 - Bob: This message was deleted\n"
        "02/01/2024, 10:05 - Ann: You deleted this message\n"
        "02/01/2024, 10:06 - Ann: meet at 5 <This message was edited>\n"
        "02/01/2024, 10:07 - Bob left\n"
    )
    evs = events(parse(write(tmp_path, text)))
    assert [e.kind for e in evs] == ["system"] * 5 + ["message"] * 3 + ["system"]
    assert all(e.parties == () for e in evs if e.kind == "system")
    assert evs[3].title == 'Ann changed the subject from "Plans: old" to "Plans: new"'
    assert [(sender(e), e.body, e.properties.get("deleted")) for e in evs[5:7]] == [
        ("Bob", None, True), ("Ann", None, True)]
    assert (evs[7].body, evs[7].properties["edited"]) == ("meet at 5", True)
    assert evs[5].parties[1].kind == "group"


def test_ios_group_with_phone_number_senders(tmp_path: Path) -> None:
    text = (f"[02/01/2024, 10:00:00] Plans: {LRM}Ann added \u202a+1 202-555-0150\u202c\n"
            "[02/01/2024, 10:00:05] \u202a+1 202-555-0150\u202c: hello\n"
            "[02/01/2024, 10:00:09] Ann: welcome\n")
    added, hello, welcome = events(parse(write(tmp_path, text)))
    assert added.kind == "system" and added.properties["chat_label"] == "Plans"
    who = hello.parties[0]
    assert (who.kind, who.value, who.platform, who.properties["phone"]) == (
        "account", "+1 202-555-0150", "whatsapp", "+12025550150")
    assert hello.parties[1].value == "Plans"  # the group, named by its system lines


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    text = "\ufeff[13/01/2024, 10:11:12] Ann: hi\r\nsecond line\r\n[13/01/2024, 10:11:13] Bob: yo\r\n"
    path = write(tmp_path, text)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    records = parse(path)
    assert not [r for r in records if isinstance(r, RowError)]
    assert [(sender(e), e.body) for e in events(records)] == [
        ("Ann", "hi\nsecond line"), ("Bob", "yo")]
    assert P.sniff(path, path.read_bytes()) >= 0.6


# --------------------------------------------------------------------- non-Gregorian calendars

def fa(text: str) -> str:
    """``text`` with Persian (extended Arabic-Indic) digits, as a phone set to Persian writes."""
    return text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def ar(text: str) -> str:
    """``text`` with Arabic-Indic digits, as a phone set to Arabic writes."""
    return text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


# 1403 is a Jalali leap year: Esfand has a 30th day, and Nowruz 1404 follows it.
PERSIAN_NOWRUZ = fa(
    "1403/12/29، 11:45 ب.ظ. - Dara: last shopping before the holidays\n"
    "1403/12/30، 8:10 ق.ظ. - Sima: see you at the station\n"
    "1404/1/1، 12:05 ق.ظ. - Dara: happy new year\n"
    "1404/1/2، 3:20 ب.ظ. - Sima: thanks\n")


def test_persian_digits_are_read_in_the_jalali_calendar(tmp_path: Path) -> None:
    evs = events(parse(write(tmp_path, PERSIAN_NOWRUZ)))
    assert [(sender(e), e.occurred_at) for e in evs] == [
        ("Dara", datetime(2025, 3, 19, 23, 45)),
        ("Sima", datetime(2025, 3, 20, 8, 10)),   # 30 Esfand 1403 (leap year)
        ("Dara", datetime(2025, 3, 21, 0, 5)),    # Nowruz: 1 Farvardin 1404
        ("Sima", datetime(2025, 3, 22, 15, 20)),
    ]
    assert {(e.properties["calendar"], e.properties["calendar_basis"]) for e in evs} == {
        ("jalali", "locale")}


def test_latin_digit_jalali_dates_decided_by_the_dates(tmp_path: Path) -> None:
    # 1402 read as Hijri would be 1982, before WhatsApp; 31 Shahrivar exists only in Jalali.
    text = ("1402/6/31, 21:05 - Dara: the office closes early tomorrow\n"
            "1402/7/15, 09:30 - Sima: noted\n")
    evs = events(parse(write(tmp_path, text)))
    assert [e.occurred_at for e in evs] == [datetime(2023, 9, 22, 21, 5),
                                            datetime(2023, 10, 7, 9, 30)]
    assert evs[0].properties["calendar"] == "jalali"
    assert evs[0].properties["calendar_basis"] == "dates"


def test_arabic_digits_are_read_in_the_umm_al_qura_calendar(tmp_path: Path) -> None:
    # Ramadan 1445 had 30 days (1 Ramadan = 11 March 2024, 30 Ramadan = 9 April 2024).
    text = ar("1/9/1445، 9:30 م - Huda: Ramadan mubarak\n"
              "27/9/1445، 11:02 ص - Omar: dinner at seven?\n"
              "30/9/1445، 6:45 م - Huda: the last evening\n")
    evs = events(parse(write(tmp_path, text)))
    assert [e.occurred_at for e in evs] == [datetime(2024, 3, 11, 21, 30),
                                            datetime(2024, 4, 6, 11, 2),
                                            datetime(2024, 4, 9, 18, 45)]
    assert {(e.properties["calendar"], e.properties["date_order"]) for e in evs} == {
        ("hijri", "dmy")}


def test_ios_arabic_header_with_era_marker(tmp_path: Path) -> None:
    # The Arabic short date of the Islamic calendar: RLMs after the numbers, "هـ" era mark.
    line = ar("[15\u200f/9\u200f/1445 هـ، 9:30:15 م] Huda: hi\n")
    evs = events(parse(write(tmp_path, line)))
    assert [(e.occurred_at, e.properties["calendar"]) for e in evs] == [
        (datetime(2024, 3, 25, 21, 30, 15), "hijri")]


def test_latin_digit_hijri_year_is_told_from_whatsapps_lifetime(tmp_path: Path) -> None:
    # 1446 as a Jalali year would be 2067: only the Hijri reading is a WhatsApp date.
    evs = events(parse(write(tmp_path, "1/9/1446, 21:00 - Omar: first iftar\n")))
    assert [(e.occurred_at, e.properties["calendar"]) for e in evs] == [
        (datetime(2025, 3, 1, 21, 0), "hijri")]


@pytest.mark.parametrize(("line", "why"), [
    (fa("1402/13/1، 10:00 - Sima: x"), "Jalali"),      # there is no 13th month
    (fa("1402/12/30، 10:00 - Sima: x"), "Jalali"),     # 1402 is no leap year
    (ar("30/10/1445، 10:00 - Omar: x"), "Hijri"),      # Shawwal 1445 had 29 days
])
def test_impossible_calendar_date_is_a_row_error(tmp_path: Path, line: str, why: str) -> None:
    first = fa("1402/12/1، 09:00 - Dara: x") if why == "Jalali" else ar(
        "29/10/1445، 09:00 - Huda: x")
    records = parse(write(tmp_path, f"{first}\n{line}\n"))
    errors = [r for r in records if isinstance(r, RowError)]
    assert [(e.ref, e.field) for e in errors] == [("line 2", "date")]
    assert "impossible date" in errors[0].message and why in errors[0].message
    assert len(events(records)) == 1


def test_date_in_no_calendar_with_latin_digits_is_a_parse_error(tmp_path: Path) -> None:
    path = write(tmp_path, "1402/12/29, 10:00 - Dara: x\n1402/13/01, 10:00 - Sima: y\n")
    with pytest.raises(ParseError) as err:
        parse(path)
    assert err.value.file == str(path) and err.value.ref == "line 2"
    assert "1402/13/01" in err.value.message
    assert "Jalali" in err.value.message and "Hijri" in err.value.message


# 1429 exists in both calendars, and neither reading is a WhatsApp date: Hijri 1429 is
# 2008, before WhatsApp; Jalali 1429 is 2050 (this test holds until 2049).
AMBIGUOUS = "1429/3/14, 10:00 - Dara: hello\n1429/3/15, 11:00 - Sima: hello back\n"


def test_year_valid_in_both_calendars_is_not_guessed(tmp_path: Path) -> None:
    path = write(tmp_path, AMBIGUOUS)
    with pytest.raises(ParseError) as err:
        parse(path)
    assert err.value.file == str(path) and err.value.ref == "line 1"
    message = err.value.message
    # Says what each calendar would make of the dates, and how to choose.
    assert "Jalali" in message and "2050-06-04" in message
    assert "Hijri" in message and "2008-03-22" in message
    assert '"calendar"' in message


@pytest.mark.parametrize(("calendar", "expected"), [
    ("jalali", [datetime(2050, 6, 4, 10, 0), datetime(2050, 6, 5, 11, 0)]),
    ("hijri", [datetime(2008, 3, 22, 10, 0), datetime(2008, 3, 23, 11, 0)]),
])
def test_profile_chooses_the_calendar(tmp_path: Path, calendar: str,
                                      expected: list[datetime]) -> None:
    evs = events(parse(write(tmp_path, AMBIGUOUS), profile={"calendar": calendar}))
    assert [e.occurred_at for e in evs] == expected
    assert {(e.properties["calendar"], e.properties["calendar_basis"]) for e in evs} == {
        (calendar, "profile")}


def test_unknown_profile_calendar_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="calendar"):
        parse(write(tmp_path, AMBIGUOUS), profile={"calendar": "mayan"})


def test_jalali_export_imported_at_the_right_utc_instants(ws, tmp_path: Path) -> None:
    from datetime import UTC

    from workstation.ingest.pipeline import run_import

    case_id = ws.create_case("CAL-1", "Calendar case", timezone="Asia/Tehran").id
    res = run_import(ws, case_id, write(tmp_path, PERSIAN_NOWRUZ, "WhatsApp Chat with Sima.txt"),
                     options=ImportOptions(timezone="Asia/Tehran"))
    assert (res.format, res.events) == ("whatsapp_txt", 4)
    got = [e.occurred_at.astimezone(UTC) for e in ws.list_events(case_id)]
    assert [t.isoformat() for t in got] == [  # Tehran is UTC+03:30 all year
        "2025-03-19T20:15:00+00:00", "2025-03-20T04:40:00+00:00",
        "2025-03-20T20:35:00+00:00", "2025-03-22T11:50:00+00:00"]


def test_impossible_jalali_date_imports_nothing(ws, tmp_path: Path) -> None:
    from workstation.errors import BadInput
    from workstation.ingest.pipeline import run_import

    case_id = ws.create_case("CAL-2", "Calendar case", timezone="Asia/Tehran").id
    text = PERSIAN_NOWRUZ + fa("1404/13/01، 9:00 ق.ظ. - Dara: typo day\n")
    with pytest.raises(BadInput, match="line 5"):
        run_import(ws, case_id, write(tmp_path, text), options=ImportOptions(timezone="Asia/Tehran"))
    assert ws.list_events(case_id) == []


@pytest.mark.parametrize("name", ["WhatsApp Chat with Trip planning (2).txt",
                                  "WhatsApp Chat with Trip planning - Copy.txt",
                                  "WhatsApp Chat with Trip planning - Copy (3).txt"])
def test_a_chat_saved_twice_is_still_the_same_conversation(tmp_path: Path, name: str) -> None:
    # The browser's "(2)" or the file manager's "- Copy" is no part of the group's name:
    # otherwise the second download became a second group.
    text = "15/08/2023, 09:01 - Bob: hello all\n15/08/2023, 09:02 - Ann: hi\n15/08/2023, 09:03 - Cy: yo\n"
    msg = events(parse(write(tmp_path, text, name=name)))[0]
    assert msg.properties["conversation"] == "Trip planning"
    assert ("group", "Trip planning", "recipient") in [(p.kind, p.value, p.role) for p in msg.parties]
