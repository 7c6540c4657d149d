"""SMS Backup & Restore (Android) XML backups: sms-*.xml and calls-*.xml.

The files rebuild the structure the app writes (XML declaration with single quotes, the
"File Created By" comment, the sms.xsl stylesheet instruction, <smses count backup_set
backup_date type>, every sms attribute, MMS parts with a SMIL part, addrs with 137/151/130
codes, "null" for absent values, "(Unknown)" contact names) with fictional numbers
(+1 202-555-01xx, +44 7700 900xxx) and synthetic text.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import tracemalloc
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from workstation.errors import BadInput
from workstation.ingest.chat.sms import SmsBackupParser
from workstation.ingest.pipeline import detect, run_import
from workstation.ingest.records import ImportOptions, Notice, ParsedEvent, ParseError

UTC = timezone.utc
HEADER = ("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n"
          "<!--File Created By SMS Backup & Restore v10.20.002 on 02/01/2024 10:15:00-->\n"
          '<?xml-stylesheet type="text/xsl" href="sms.xsl"?>\n')


def tiny_png() -> bytes:
    """A real 2x1 RGB PNG, generated."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    raw = b"\x00" + bytes([255, 0, 0, 0, 0, 255])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


PNG = tiny_png()


def sms(address: str, date_ms: int, kind: int, body: str, contact: str = "(Unknown)",
        date_sent: int = 0) -> str:
    return (f'  <sms protocol="0" address="{address}" date="{date_ms}" type="{kind}" '
            f'subject="null" body="{body}" toa="null" sc_toa="null" '
            f'service_center="{"+12025550100" if kind == 1 else "null"}" read="1" status="-1" '
            f'locked="0" date_sent="{date_sent}" sub_id="1" readable_date="Jan 2, 2024 9:00:00 AM" '
            f'contact_name="{contact}" />\n')


def mms(date_ms: int, box: int, address: str, contact: str, parts: list[str],
        addrs: list[tuple[str, int]]) -> str:
    return (f'  <mms date="{date_ms}" rr="null" sub="null" ct_t="application/vnd.wap.multipart.related" '
            f'read_status="null" seen="1" msg_box="{box}" address="{address}" sub_cs="null" '
            f'resp_st="null" retr_st="null" d_tm="null" text_only="0" exp="null" locked="0" '
            f'm_id="mid{date_ms}" st="null" retr_txt_cs="null" retr_txt="null" creator="null" '
            f'date_sent="{date_ms // 1000 - 2}" read="1" m_size="2048" rpt_a="null" ct_cls="null" '
            f'pri="null" sub_id="1" tr_id="t{date_ms}" resp_txt="null" ct_l="null" m_cls="personal" '
            f'd_rpt="null" v="18" m_type="{132 if box == 1 else 128}" '
            f'readable_date="Jan 2, 2024 9:10:00 AM" contact_name="{contact}">\n'
            "    <parts>\n"
            '      <part seq="-1" ct="application/smil" name="null" chset="null" cd="null" '
            'fn="null" cid="&lt;smil&gt;" cl="smil.xml" ctt_s="null" ctt_t="null" '
            'text="&lt;smil&gt;&lt;body&gt;&lt;par dur=&quot;5000ms&quot;&gt;&lt;/par&gt;'
            '&lt;/body&gt;&lt;/smil&gt;" />\n'
            + "".join(parts) + "    </parts>\n    <addrs>\n"
            + "".join(f'      <addr address="{a}" type="{t}" charset="106" />\n' for a, t in addrs)
            + "    </addrs>\n  </mms>\n")


def text_part(seq: int, text: str) -> str:
    return (f'      <part seq="{seq}" ct="text/plain" name="null" chset="106" cd="null" fn="null" '
            f'cid="&lt;text{seq}&gt;" cl="text{seq}.txt" ctt_s="null" ctt_t="null" text="{text}" />\n')


def media_part(seq: int, ct: str, name: str, data: str) -> str:
    return (f'      <part seq="{seq}" ct="{ct}" name="{name}" chset="null" cd="null" fn="null" '
            f'cid="&lt;{name}&gt;" cl="{name}" ctt_s="null" ctt_t="null" text="null" '
            f'data="{data}" />\n')


def smses(records: list[str], count: int | None = None) -> str:
    n = len(records) if count is None else count
    return (HEADER + f'<smses count="{n}" backup_set="0f4b6c2e-1d1a-4c63-9b7e-2f3a8c1d5e60" '
                     f'backup_date="1704190500000" type="full">\n' + "".join(records) + "</smses>\n")


# 2024-01-02 09:00:00 UTC
T0 = 1704186000000
RECORDS = [
    sms("+12025550147", T0 + 123, 1, "Meet at the usual place &#55357;&#56832;", "Alex Example",
        date_sent=T0 - 4000),
    sms("(202) 555-0147", T0 + 60_000, 2, "On my way&#10;10 minutes"),
    sms("+447700900123", T0 + 120_000, 3, "draft never sent"),
    sms("+447700900124", T0 + 180_000, 5, "this one failed"),
    mms(T0 + 600_000, 1, "+12025550147~+447700900123~+12025550199", "Alex Example, Sam Sample",
        [text_part(0, "Group photo &#55357;&#56397;"),
         media_part(1, "image/png", "IMG_0001.png", base64.b64encode(PNG).decode())],
        [("+12025550147", 137), ("+447700900123", 151), ("+12025550199", 151),
         ("+12025550188", 130)]),
    mms(T0 + 660_000, 2, "+447700900123", "Sam Sample",
        [text_part(0, "sending you the voice note"),
         media_part(1, "audio/amr", "note.amr", base64.b64encode(b"#!AMR\n" + bytes(40)).decode())],
        [("insert-address-token", 137), ("+447700900123", 151)]),
]


def write(tmp_path: Path, text: str, name: str = "sms-20240102101500.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def events(path: Path, options: ImportOptions | None = None) -> list[ParsedEvent]:
    return [r for r in SmsBackupParser().parse(path, options or ImportOptions())
            if isinstance(r, ParsedEvent)]


def new_case(ws, number: str = "SMS-1") -> int:  # noqa: ANN001
    return ws.create_case(number, "SMS backup").id


def keys_by_role(ws, ev) -> list[tuple[str, str | None]]:  # noqa: ANN001
    ents = {e.id: e for e in ws.get_entities([p.entity_id for p in ev.parties])}
    return [(p.role, ents[p.entity_id].key) for p in ev.parties if p.role != "mentioned"]


# --- messages through the pipeline ------------------------------------------------------

def test_backup_imports_every_sms_and_mms_as_messages(ws, tmp_path: Path) -> None:
    case_id = new_case(ws)
    path = write(tmp_path, smses(RECORDS))
    assert detect(path).format == "sms_backup_xml"
    res = run_import(ws, case_id, path)
    assert (res.format, res.events, res.messages) == ("sms_backup_xml", 6, 6)
    evs = ws.list_events(case_id)
    assert [e.kind for e in evs] == ["message"] * 6
    # Times: the epoch milliseconds, in UTC (readable_date is only what the phone showed).
    assert evs[0].occurred_at == datetime(2024, 1, 2, 9, 0, 0, 123000, tzinfo=UTC)
    assert evs[1].occurred_at == datetime(2024, 1, 2, 9, 1, tzinfo=UTC)
    assert evs[0].properties["sent_at"] == "2024-01-02T08:59:56+00:00"
    assert evs[0].properties["readable_date"] == "Jan 2, 2024 9:00:00 AM"
    # Directions: received → the other party sent it; sent → the other party received it.
    assert [(e.properties["box"], e.properties["direction"]) for e in evs[:4]] == [
        ("inbox", "incoming"), ("sent", "outgoing"), ("draft", "outgoing"),
        ("failed", "outgoing")]
    assert keys_by_role(ws, evs[0]) == [("sender", "phone:+12025550147")]
    assert keys_by_role(ws, evs[1]) == [("recipient", "phone:+12025550147")]
    assert "not_sent" not in evs[1].properties
    assert evs[2].properties["not_sent"] == "a draft, never sent"
    assert evs[3].properties["not_sent"] == "sending failed"
    # The owner is not in the file: left out, and the message says so.
    assert "not named" in evs[0].properties["device_owner"]
    # Body: XML line breaks and emoji written as UTF-16 surrogate pair references.
    assert evs[0].body == "Meet at the usual place \U0001F600"
    assert evs[1].body == "On my way\n10 minutes"
    # "(202) 555-0147" and "+12025550147" are one phone entity, labelled with the contact.
    phones = {e.key: e for e in ws.list_entities(case_id) if e.kind == "phone"}
    assert set(phones) >= {"phone:+12025550147", "phone:+447700900123", "phone:+447700900124",
                           "phone:+12025550199", "phone:+12025550188"}
    assert phones["phone:+12025550147"].properties.get("display_name") == "Alex Example"


def test_group_mms_sender_recipients_text_and_attachment_hash(ws, tmp_path: Path) -> None:
    case_id = new_case(ws)
    run_import(ws, case_id, write(tmp_path, smses(RECORDS)))
    group, voice = ws.list_events(case_id)[4:]
    assert keys_by_role(ws, group) == [
        ("sender", "phone:+12025550147"), ("recipient", "phone:+447700900123"),
        ("recipient", "phone:+12025550199"), ("recipient", "phone:+12025550188")]
    assert group.properties["cc"] == ["+12025550188"]
    assert group.properties["group"] is True
    assert group.properties["contact_name"] == "Alex Example, Sam Sample"
    # The text part is the body (SMIL layout ignored), the image an attachment.
    assert group.body == "Group photo \U0001F44D"
    assert group.properties["attachments"] == [{
        "name": "IMG_0001.png", "mime": "image/png", "size": len(PNG),
        "sha256": hashlib.sha256(PNG).hexdigest()}]
    # MMS date_sent is in seconds.
    assert group.properties["sent_at"] == "2024-01-02T09:09:58+00:00"
    # Sent MMS: the app's "insert-address-token" stands for the owner's own number.
    assert keys_by_role(ws, voice) == [("recipient", "phone:+447700900123")]
    audio = b"#!AMR\n" + bytes(40)
    [att] = voice.properties["attachments"]
    assert (att["mime"], att["size"], att["sha256"]) == (
        "audio/amr", len(audio), hashlib.sha256(audio).hexdigest())


def test_owner_option_adds_the_phone_owner(tmp_path: Path) -> None:
    path = write(tmp_path, smses(RECORDS[:2]))
    got = events(path, ImportOptions(owner="+1 202 555 0111"))
    assert [(p.kind, p.value, p.role) for p in got[0].parties] == [
        ("phone", "+12025550147", "sender"), ("phone", "+12025550111", "recipient")]
    assert [(p.kind, p.value, p.role) for p in got[1].parties] == [
        ("phone", "+12025550111", "sender"), ("phone", "+12025550147", "recipient")]


def test_numbers_without_country_code_use_the_import_region(tmp_path: Path) -> None:
    path = write(tmp_path, smses([sms("07700 900125", T0, 1, "hiya", "Pat Placeholder")]))
    [ev] = events(path, ImportOptions(default_region="GB"))
    [party] = ev.parties
    assert (party.kind, party.value, party.label) == ("phone", "+447700900125", "Pat Placeholder")


def test_sms_number_is_the_same_entity_as_in_a_whatsapp_chat(ws, tmp_path: Path) -> None:
    case_id = new_case(ws)
    chat = tmp_path / "WhatsApp Chat with Alex.txt"
    chat.write_text("02/01/2024, 08:00 - Alex: text me on +1 202-555-0147\n"
                    "02/01/2024, 08:01 - Sam: ok\n", encoding="utf-8")
    run_import(ws, case_id, chat, options=ImportOptions(timezone="UTC"))
    [before] = [e for e in ws.list_entities(case_id) if e.key == "phone:+12025550147"]
    run_import(ws, case_id, write(tmp_path, smses(RECORDS[:1])))
    assert [e.id for e in ws.list_entities(case_id) if e.key == "phone:+12025550147"] == [before.id]
    sms_events = [e for e in ws.list_events(case_id, entity_id=before.id)
                  if e.properties.get("channel") == "sms"]
    assert len(sms_events) == 1


# --- calls ------------------------------------------------------------------------------

def call(number: str, duration: int, date_ms: int, kind: int, contact: str = "(Unknown)",
         presentation: int = 1) -> str:
    return (f'  <call number="{number}" duration="{duration}" date="{date_ms}" type="{kind}" '
            f'presentation="{presentation}" subscription_id="1" post_dial_digits="" '
            f'subscription_component_name="com.android.phone/com.android.services.telephony.'
            f'TelephonyConnectionService" readable_date="Jan 2, 2024 9:00:00 AM" '
            f'contact_name="{contact}" />\n')


CALLS = (HEADER.replace("sms.xsl", "calls.xsl")
         + '<calls count="6" backup_set="6a1f0e44-7c52-4f0e-8d8b-3c2b1a0f9e77" '
           'backup_date="1704190500000" type="full">\n'
         + call("+12025550147", 125, T0, 1, "Alex Example")
         + call("+447700900123", 42, T0 + 3_600_000, 2, "Sam Sample")
         + call("+12025550147", 0, T0 + 7_200_000, 3, "Alex Example")
         + call("+447700900124", 0, T0 + 7_300_000, 5)
         + call("+12025550166", 0, T0 + 7_400_000, 6)
         + call("", 0, T0 + 7_500_000, 3, presentation=2)
         + "</calls>\n")


def test_calls_import_as_call_events_with_durations(ws, tmp_path: Path) -> None:
    case_id = new_case(ws)
    path = write(tmp_path, CALLS, "calls-20240102101500.xml")
    assert detect(path).format == "sms_backup_xml"
    res = run_import(ws, case_id, path)
    assert (res.events, res.messages) == (6, 0)
    evs = ws.list_events(case_id)
    assert {e.kind for e in evs} == {"call"}
    assert [(e.properties["call_type"], e.properties["direction"],
             e.properties["duration_seconds"]) for e in evs] == [
        ("incoming", "incoming", 125), ("outgoing", "outgoing", 42), ("missed", "incoming", 0),
        ("rejected", "incoming", 0), ("blocked", "incoming", 0), ("missed", "incoming", 0)]
    assert [e.title for e in evs] == [
        "Incoming call (2 min 5 s)", "Outgoing call (42 s)", "Missed call", "Rejected call",
        "Blocked call (refused list)", "Missed call"]
    assert evs[1].occurred_at == datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    assert keys_by_role(ws, evs[0]) == [("caller", "phone:+12025550147")]
    assert keys_by_role(ws, evs[1]) == [("receiver", "phone:+447700900123")]
    assert evs[0].properties["contact_name"] == "Alex Example"
    # A withheld number: no party, and the event says why.
    assert evs[5].parties == () and evs[5].properties["number_withheld"] == "restricted"


# --- bad input --------------------------------------------------------------------------

def test_truncated_backup_is_refused_and_imports_nothing(ws, tmp_path: Path) -> None:
    from tests.reliability.support import table_counts

    case_id = new_case(ws)
    text = smses(RECORDS)
    cut = text[: text.index("<mms")]  # four complete messages, then the file stops
    path = write(tmp_path, cut)
    with pytest.raises(ParseError) as exc:
        list(SmsBackupParser().parse(path, ImportOptions()))
    assert exc.value.file == str(path)
    assert exc.value.ref.startswith(f"line {cut.count(chr(10)) + 1} ")
    assert "ends before" in exc.value.message
    before = table_counts(ws.db)
    with pytest.raises(BadInput, match=r"sms-20240102101500\.xml: line \d+ column \d+: the file ends"):
        run_import(ws, case_id, path)
    assert table_counts(ws.db) == before
    assert ws.list_events(case_id) == []


def test_external_entity_is_refused(ws, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CANARY", encoding="utf-8")
    text = ("<?xml version='1.0' encoding='UTF-8' standalone='no' ?>\n"
            f'<!DOCTYPE smses [<!ENTITY x SYSTEM "file://{secret}">]>\n'
            '<smses count="1">\n' + sms("+12025550147", T0, 1, "&x;") + "</smses>\n")
    path = write(tmp_path, text)
    assert detect(path).format == "sms_backup_xml"
    case_id = new_case(ws)
    with pytest.raises(BadInput, match="refused: the XML declares a DTD") as exc:
        run_import(ws, case_id, path)
    assert "CANARY" not in str(exc.value)
    assert ws.list_events(case_id) == [] and ws.list_sources(case_id) == []


def test_other_xml_is_not_claimed(tmp_path: Path) -> None:
    parser = SmsBackupParser()
    for name, text in [
        ("feed.xml", "<?xml version='1.0'?><rss><channel><item>smses calls</item></channel></rss>"),
        ("bookings.xml", '<?xml version="1.0"?><bookings><booking number="B-1"/></bookings>'),
        ("calls.txt", "calls count=3 <call number=1>"),
        ("nested.xml", '<?xml version="1.0"?><backup><smses count="1"></smses></backup>'),
    ]:
        path = write(tmp_path, text, name)
        assert parser.sniff(path, path.read_bytes()) == 0.0, name
    path = write(tmp_path, "<?xml version='1.0'?><rss><item/></rss>", "feed2.xml")
    with pytest.raises(ParseError, match="not an SMS Backup & Restore file"):
        list(parser.parse(path, ImportOptions()))


def test_corrupt_media_part_is_a_notice_not_a_failed_import(ws, tmp_path: Path) -> None:
    bad = mms(T0, 1, "+12025550147", "Alex Example",
              [text_part(0, "see pic"), media_part(1, "image/jpeg", "IMG_0002.jpg", "AAA*not base64")],
              [("+12025550147", 137)])
    case_id = new_case(ws)
    res = run_import(ws, case_id, write(tmp_path, smses([bad, RECORDS[0]])))
    assert res.messages == 2
    assert any(w.startswith("mms 1 (line 5): MMS part 1 (IMG_0002.jpg, image/jpeg): the base64 "
                            "data is corrupt") for w in res.warnings), res.warnings
    ev = ws.list_events(case_id)[0]
    assert ev.body == "see pic"
    assert ev.properties["attachments"] == [{"name": "IMG_0002.jpg", "mime": "image/jpeg"}]
    assert ev.properties["unreadable_parts"] == ["IMG_0002.jpg"]
    assert keys_by_role(ws, ev) == [("sender", "phone:+12025550147")]


def test_count_mismatch_and_lone_surrogates_are_notices(tmp_path: Path) -> None:
    path = write(tmp_path, smses([sms("+12025550147", T0, 1, "half &#55357; an emoji")], count=3))
    got = list(SmsBackupParser().parse(path, ImportOptions()))
    [ev] = [r for r in got if isinstance(r, ParsedEvent)]
    assert ev.body == "half \ufffd an emoji"
    notices = [r.message for r in got if isinstance(r, Notice)]
    assert 'the backup states count="3" but holds 1 messages' in notices
    assert any("replaced by U+FFFD" in n for n in notices)


def test_large_backup_streams_with_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "sms-big.xml"
    blob = base64.b64encode(bytes(range(256)) * 4096).decode()  # 1 MiB of media per MMS
    with path.open("w", encoding="utf-8") as fh:
        fh.write(HEADER + '<smses count="8020">\n')
        for i in range(8_000):
            fh.write(sms("+12025550147", T0 + i * 1000, 1 + i % 2, f"message {i} &#55357;&#56832;"))
        for i in range(20):
            fh.write(mms(T0 + i, 1, "+12025550147", "Alex Example",
                         [media_part(0, "video/mp4", f"v{i}.mp4", blob)], [("+12025550147", 137)]))
        fh.write("</smses>\n")
    assert path.stat().st_size > 25 * 1024 * 1024
    events(write(tmp_path, smses(RECORDS)))  # phone metadata and caches loaded once, before
    tracemalloc.start()
    try:
        n = 0
        for rec in SmsBackupParser().parse(path, ImportOptions()):
            assert isinstance(rec, ParsedEvent)
            n += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 8_020
    # About one MMS part's base64 (1.4 MB) with the parser's buffers around it, whatever
    # the file's size (kept, the 20 parts alone would be 28 MB).
    assert peak < 18 * 1024 * 1024, peak
