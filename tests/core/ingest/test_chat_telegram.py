"""Telegram Desktop exports: JSON (single chat and whole account) and HTML pages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from workstation.ingest.chat.telegram import TelegramHtmlParser, TelegramJsonParser
from workstation.ingest.records import (
    ImportOptions,
    ParsedEntity,
    ParsedEvent,
    ParseError,
)

TEXTS = ["i refuse to converse with you", "Hi nemesis", "we meet again",
         "you will not trick me this time"]
SENDERS = ["Jimmeny Marvelton", "Batman & Robin", "Jimmeny Marvelton", "Jimmeny Marvelton"]


def events(records: list) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent)]


def sender_of(ev: ParsedEvent):
    return next(p for p in ev.parties if p.role == "sender")


# --------------------------------------------------------------------- shared corpus

def test_json_chat_messages_authors_and_times(shared_data: Path) -> None:
    evs = events(list(TelegramJsonParser().parse(shared_data / "chat/telegram/result.json",
                                                 ImportOptions())))
    assert [e.kind for e in evs] == ["message"] * 4
    assert [e.body for e in evs] == TEXTS
    assert [sender_of(e).label for e in evs] == SENDERS
    assert [sender_of(e).value for e in evs] == [
        "user123450513", "user6565661032", "user123450513", "user123450513"]
    assert [e.ref for e in evs] == ["message 1", "message 2", "message 3", "message 4"]
    # date_unixtime wins over the naive local "date": 1692821483 = 20:11:23Z.
    assert evs[0].occurred_at == datetime(2023, 8, 23, 20, 11, 23, tzinfo=timezone.utc)
    # A personal chat: each message goes to the other participant.
    assert [p.value for p in evs[1].parties if p.role == "recipient"] == ["user123450513"]
    assert evs[0].properties["conversation"] == "Jimmeny"
    assert {p.platform for e in evs for p in e.parties} == {"telegram"}


def test_html_page_same_messages_with_inherited_sender(shared_data: Path) -> None:
    evs = events(list(TelegramHtmlParser().parse(shared_data / "chat/telegram/messages.html",
                                                 ImportOptions())))
    # The "23 August 2023" date separator is not an event.
    assert [e.kind for e in evs] == ["message"] * 4
    assert [e.body for e in evs] == TEXTS
    assert [sender_of(e).value for e in evs] == SENDERS
    assert evs[3].properties.get("sender_inherited") is True
    assert "sender_inherited" not in evs[2].properties
    # The page says UTC-08:00 (the fixture disagrees with the JSON's -07:00; we keep
    # what each file says).
    assert evs[0].occurred_at == datetime(2023, 8, 23, 13, 11, 23,
                                          tzinfo=timezone(timedelta(hours=-8)))
    assert evs[0].properties["time_text"] == "23.08.2023 13:11:23 UTC-08:00"
    assert [e.ref for e in evs] == ["message 1", "message 2", "message 3", "message 4"]


# --------------------------------------------------------------------- JSON variants

FULL_EXPORT = {
    "about": "Here is the data you requested. Remember: Telegram is ad free...",
    "personal_information": {"user_id": 100, "first_name": "Owen", "last_name": "Owner",
                             "phone_number": "+44 7700 900123", "username": "@owen"},
    "contacts": {"about": "...", "list": [
        {"user_id": 200, "first_name": "Cara", "last_name": "", "phone_number":
         "+1 202 555 0188", "date": "2023-01-01T10:00:00", "date_unixtime": "1672567200"}]},
    "chats": {"about": "...", "list": [
        {"name": "Cara", "type": "personal_chat", "id": 200, "messages": [
            {"id": 10, "type": "message", "date": "2023-03-01T10:00:00",
             "date_unixtime": "1677664800", "from": "Cara", "from_id": "user200",
             "text": ["see ", {"type": "mention", "text": "@dealer"}, " at ",
                      {"type": "text_link", "text": "this", "href": "https://example.org/x"}],
             "edited": "2023-03-01T10:05:00", "edited_unixtime": "1677665100",
             "forwarded_from": "Some Channel", "reply_to_message_id": 9},
            {"id": 11, "type": "message", "date": "2023-03-01T10:01:00",
             "date_unixtime": "1677664860", "from": "Owen Owner", "from_id": "user100",
             "photo": "photos/photo_1@01-03-2023_10-01-00.jpg", "photo_file_size": 52311,
             "width": 1280, "height": 960, "text": ""},
            {"id": 12, "type": "message", "date": "2023-03-01T10:02:00",
             "date_unixtime": "1677664920", "from": "Cara", "from_id": "user200",
             "file": "(File not included. Change data exporting settings to download.)",
             "file_name": "plans.pdf", "file_size": 1048576, "mime_type": "application/pdf",
             "text": "here"},
            {"id": 13, "type": "service", "date": "2023-03-01T10:03:00",
             "date_unixtime": "1677664980", "actor": "Cara", "actor_id": "user200",
             "action": "phone_call", "duration_seconds": 42, "discard_reason": "hangup",
             "text": ""},
        ]},
        {"name": "Crew", "type": "private_supergroup", "id": 300, "messages": [
            {"id": 1, "type": "service", "date": "2023-02-01T09:00:00",
             "date_unixtime": "1675242000", "actor": "Owen Owner", "actor_id": "user100",
             "action": "invite_members", "members": ["Cara"], "text": ""},
            {"id": 2, "type": "message", "date": "2023-02-01T09:01:00",
             "date_unixtime": "1675242060", "from": "Cara", "from_id": "user200",
             "text": "hi crew", "text_entities": [{"type": "plain", "text": "hi crew"}]},
        ]},
    ]},
    "left_chats": {"about": "...", "list": []},
}


def test_full_account_export(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(FULL_EXPORT), encoding="utf-8")
    p = TelegramJsonParser()
    assert p.sniff(path, path.read_bytes()[:65536]) >= 0.9
    records = list(p.parse(path, ImportOptions()))
    owner, contact = [r for r in records if isinstance(r, ParsedEntity)]
    assert (owner.party.value, owner.party.label) == ("user100", "Owen Owner")
    assert owner.party.properties["phone_number"] == "+44 7700 900123"
    assert contact.party.kind == "phone" and contact.links[0].kind == "contact_of"
    evs = events(records)
    assert [e.ref for e in evs] == ["chat 200 message 10", "chat 200 message 11",
                                    "chat 200 message 12", "chat 200 message 13",
                                    "chat 300 message 1", "chat 300 message 2"]
    text_msg, photo, file_msg, call, invite, group_msg = evs
    assert text_msg.body == "see @dealer at this"
    assert ("@dealer", "mentioned") in [(p.value, p.role) for p in text_msg.parties]
    assert text_msg.properties["urls"] == ["https://example.org/x"]
    assert text_msg.properties["forwarded_from"] == "Some Channel"
    assert text_msg.properties["reply_to_message_id"] == 9
    assert text_msg.properties["edited_at"] == "2023-03-01T10:05:00+00:00"
    assert [p.value for p in text_msg.parties if p.role == "recipient"] == ["user100"]
    att = photo.attachments[0]
    assert (att.name, att.size, att.mime, att.path) == (
        "photo_1@01-03-2023_10-01-00.jpg", 52311, "image/jpeg",
        "photos/photo_1@01-03-2023_10-01-00.jpg")
    assert photo.body is None
    pdf = file_msg.attachments[0]
    assert (pdf.name, pdf.size, pdf.mime, pdf.path) == (
        "plans.pdf", 1048576, "application/pdf", None)
    assert "not included" in file_msg.properties["media_not_included"]
    assert call.kind == "system" and call.properties["action"] == "phone_call"
    assert call.properties["duration_seconds"] == 42
    assert invite.kind == "system"
    assert ("Cara", "participant") in [(p.label, p.role) for p in invite.parties]
    # Supergroup messages go to the group, not to each member.
    assert [(p.kind, p.value, p.role) for p in group_msg.parties] == [
        ("account", "user200", "sender"), ("group", "channel300", "recipient")]


def test_truncated_json_names_file_and_position(tmp_path: Path, shared_data: Path) -> None:
    data = (shared_data / "chat/telegram/result.json").read_bytes()
    path = tmp_path / "result.json"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError) as exc:
        list(TelegramJsonParser().parse(path, ImportOptions()))
    assert exc.value.file == str(path)
    assert exc.value.ref and exc.value.ref.startswith("line ")
    assert str(path) in str(exc.value) and "column" in str(exc.value)


def test_json_over_the_size_cap_is_refused(shared_data: Path) -> None:
    with pytest.raises(ParseError, match="limit"):
        list(TelegramJsonParser(max_bytes=100).parse(shared_data / "chat/telegram/result.json",
                                                     ImportOptions()))


def test_json_that_is_not_telegram_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(ParseError, match="not a Telegram export"):
        list(TelegramJsonParser().parse(path, ImportOptions()))


# --------------------------------------------------------------------- HTML variants

def _page(messages: str) -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"/><title>Exported Data</title>
</head><body><div class="page_wrap"><div class="page_header"><div class="content">
<div class="text bold">Crew</div></div></div><div class="page_body chat_page">
<div class="history">{messages}</div></div></div></body></html>"""


PAGE1 = _page("""
<div class="message service" id="message-1"><div class="body details">1 March 2023</div></div>
<div class="message default clearfix" id="message5"><div class="body">
<div class="pull_right date details" title="01.03.2023 10:00:00 UTC+01:00">10:00</div>
<div class="from_name">Ann</div><div class="text">first<br>second line &amp; more</div></div></div>
<div class="message default clearfix" id="message6"><div class="body">
<div class="pull_right date details" title="01.03.2023 10:01:00 UTC+01:00">10:01</div>
<div class="from_name">Bob</div><div class="text">hi</div></div></div>
<div class="message default clearfix" id="message7"><div class="body">
<div class="pull_right date details" title="01.03.2023 10:02:00 UTC+01:00">10:02</div>
<div class="from_name">Cy</div><div class="text">hey</div></div></div>
""")

PAGE2 = _page("""
<div class="message default clearfix joined" id="message8"><div class="body">
<div class="pull_right date details" title="01.03.2023 10:03:00 UTC+01:00">10:03</div>
<div class="media_wrap clearfix"><a class="photo_wrap clearfix pull_left"
 href="photos/photo_3@01-03-2023_10-03-00.jpg"><img class="photo"
 src="photos/photo_3@01-03-2023_10-03-00_thumb.jpg"/></a></div>
<div class="text">look</div></div></div>
<div class="message service" id="message9"><div class="body details">Ann invited Dee</div></div>
<div class="message default clearfix" id="message10"><div class="body">
<div class="pull_right date details" title="01.03.2023 10:05:00">10:05</div>
<div class="from_name">Dee <span class="details">via @somebot</span></div>
<div class="reply_to details">In reply to <a href="#go_to_message8"
 onclick="return GoToMessage(8)">this message</a></div>
<div class="forwarded body"><div class="from_name">News Channel
 <span class="details"> 01.03.2023 09:00:00</span></div>
<div class="text">forwarded text</div></div>
<div class="media_wrap clearfix"><div class="media clearfix pull_left media_file">
<div class="fill pull_left"></div><div class="body"><div class="title bold">report.pdf</div>
<div class="description">Not included, change data exporting settings to download.</div>
<div class="status details">1.5 MB</div></div></div></div>
</div></div>
""")


def test_html_pages_joined_across_pages_service_media_reply(tmp_path: Path) -> None:
    (tmp_path / "messages.html").write_text(PAGE1, encoding="utf-8")
    page2 = tmp_path / "messages2.html"
    page2.write_text(PAGE2, encoding="utf-8")
    p = TelegramHtmlParser()
    first = events(list(p.parse(tmp_path / "messages.html", ImportOptions())))
    assert first[0].body == "first\nsecond line & more"
    evs = events(list(p.parse(page2, ImportOptions())))
    assert [e.kind for e in evs] == ["message", "system", "message"]
    joined, service, dee = evs
    # The joined message continues Cy's run from the previous page.
    assert sender_of(joined).value == "Cy"
    assert joined.attachments[0].path == "photos/photo_3@01-03-2023_10-03-00.jpg"
    assert joined.attachments[0].mime == "image/jpeg"
    assert service.body == "Ann invited Dee" and service.ref == "message 9"
    assert sender_of(dee).value == "Dee"  # "via @somebot" is not part of the name
    assert dee.body == "forwarded text"
    assert dee.properties["forwarded_from"] == "News Channel"
    assert dee.properties["reply_to_message_id"] == 8
    assert dee.occurred_at == datetime(2023, 3, 1, 10, 5)  # no offset given: naive
    att = dee.attachments[0]
    assert (att.name, att.path, att.size) == ("report.pdf", None, 1572864)
    # Only 2 senders on this page but 4 across the chat; on the page itself Cy and Dee.
    assert joined.properties["conversation"] == "Crew"


def test_html_without_messages_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "messages.html"
    path.write_text("<html><body><p>hello</p></body></html>")
    with pytest.raises(ParseError, match="no Telegram messages"):
        list(TelegramHtmlParser().parse(path, ImportOptions()))


# --------------------------------------------------------------------- JSON producer variants

def _msg(mid: int, **fields: object) -> dict:
    base: dict = {"id": mid, "type": "message", "date": "2024-01-02T10:00:00",
                  "date_unixtime": str(1704189600 + mid), "from": "Cara", "from_id": "user200",
                  "text": ""}
    base.update(fields)
    return base


NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"

VARIANT_CHAT = {
    # "messages" first: a chat's name and type may come after its messages.
    "messages": [
        _msg(1, text=["Call ", {"type": "phone", "text": "+1 202 555 0133"}, " or mail ",
                      {"type": "email", "text": "cara@example.org"}, ", pay to ",
                      {"type": "bank_card", "text": "4000 0000 0000 0002"}, " ",
                      {"type": "bold", "text": "today"}, " ",
                      {"type": "mention_name", "text": "Dan", "user_id": 400}, " ",
                      {"type": "hashtag", "text": "#deal"}, " ",
                      {"type": "link", "text": "https://example.org/a"}]),
        # Plain string text with the entities only in text_entities.
        _msg(2, text="see https://example.org/b",
             text_entities=[{"type": "plain", "text": "see "},
                            {"type": "link", "text": "https://example.org/b"}]),
        # A deleted account: "from" is null, the id remains.
        _msg(3, **{"from": None, "from_id": "user999", "text": "ghost"}),
        # No date_unixtime (older exports): the local wall time, naive.
        {"id": 4, "type": "message", "date": "2024-01-02T11:30:00", "from": "Cara",
         "from_id": "user200", "text": "old style"},
        _msg(5, file="voice_messages/audio_1@02-01-2024_10-00-05.ogg",
             media_type="voice_message", mime_type="audio/ogg", duration_seconds=7,
             file_size=12345),
        _msg(6, file=NOT_INCLUDED, thumbnail=NOT_INCLUDED, media_type="sticker",
             sticker_emoji="\U0001f600"),
        _msg(7, photo=NOT_INCLUDED, width=800, height=600),
        _msg(8, contact_information={"first_name": "Eve", "last_name": "Roe",
                                     "phone_number": "+1 202 555 0177"},
             contact_vcard="contacts/contact_1.vcf", contact_vcard_file_size=120),
        _msg(9, location_information={"latitude": 51.5007, "longitude": -0.1246},
             place_name="Cafe", address="1 High St"),
        _msg(10, poll={"question": "Where?", "closed": True, "total_voters": 3,
                       "answers": [{"text": "Here", "voters": 2, "chosen": True},
                                   {"text": "There", "voters": 1, "chosen": False}]}),
        _msg(11, forwarded_from=None, reply_to_message_id=2, edited="2024-01-02T12:00:00",
             text="reply, edited (no unixtime)"),
        {"id": 12, "type": "service", "date": "2024-01-02T10:20:00",
         "date_unixtime": "1704190800", "actor": "Cara", "actor_id": "user200",
         "action": "pin_message", "message_id": 2, "text": ""},
        {"id": 13, "type": "service", "date": "2024-01-02T10:21:00",
         "date_unixtime": "1704190860", "actor": "Owen", "actor_id": "user100",
         "action": "phone_call", "duration_seconds": 65, "text": ""},
    ],
    "name": "Cara", "type": "personal_chat", "id": 200,
}


def _parse_json(tmp_path: Path, data: object, **kw: object) -> list:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return list(TelegramJsonParser(**kw).parse(path, ImportOptions()))  # type: ignore[arg-type]


def test_json_text_entities_senders_and_times(tmp_path: Path) -> None:
    evs = {e.ref: e for e in events(_parse_json(tmp_path, VARIANT_CHAT))}
    first = evs["message 1"]
    assert first.body.startswith("Call +1 202 555 0133 or mail cara@example.org")
    mentioned = {(p.kind, p.value) for p in first.parties if p.role == "mentioned"}
    assert mentioned == {("phone", "+1 202 555 0133"), ("email", "cara@example.org"),
                         ("card", "4000000000000002"), ("account", "user400")}
    assert first.properties["urls"] == ["https://example.org/a"]
    assert first.properties["hashtags"] == ["#deal"]
    # Name and type came after the messages, yet the chat is read as a direct chat.
    assert first.properties["conversation"] == "Cara"
    assert sender_of(first).value == "user200"
    assert ("user100", "recipient") in [(p.value, p.role) for p in first.parties]
    assert evs["message 2"].properties["urls"] == ["https://example.org/b"]
    ghost = sender_of(evs["message 3"])
    assert (ghost.value, ghost.label, ghost.platform) == ("user999", None, "telegram")
    assert first.occurred_at == datetime(2024, 1, 2, 10, 0, 1, tzinfo=timezone.utc)
    assert evs["message 4"].occurred_at == datetime(2024, 1, 2, 11, 30)  # naive: no unixtime
    assert evs["message 11"].properties["edited_at"] == "2024-01-02T12:00:00"
    assert evs["message 11"].properties["reply_to_message_id"] == 2
    assert "forwarded_from" not in evs["message 11"].properties


def test_json_media_contacts_locations_polls_and_services(tmp_path: Path) -> None:
    evs = {e.ref: e for e in events(_parse_json(tmp_path, VARIANT_CHAT))}
    voice = evs["message 5"].attachments[0]
    assert (voice.name, voice.mime, voice.size, voice.path) == (
        "audio_1@02-01-2024_10-00-05.ogg", "audio/ogg", 12345,
        "voice_messages/audio_1@02-01-2024_10-00-05.ogg")
    assert evs["message 5"].properties["duration_seconds"] == 7
    sticker = evs["message 6"]
    assert (sticker.attachments[0].name, sticker.attachments[0].path) == ("sticker", None)
    assert sticker.properties["media_not_included"] == NOT_INCLUDED
    photo = evs["message 7"]
    assert (photo.attachments[0].name, photo.attachments[0].path) == ("photo", None)
    contact = evs["message 8"]
    assert ("phone", "+1 202 555 0177", "Eve Roe") in [
        (p.kind, p.value, p.label) for p in contact.parties if p.role == "mentioned"]
    assert [(a.name, a.mime, a.path) for a in contact.attachments] == [
        ("contact_1.vcf", "text/vcard", "contacts/contact_1.vcf")]
    loc = evs["message 9"].properties
    assert (loc["location"], loc["place_name"]) == (
        {"latitude": 51.5007, "longitude": -0.1246}, "Cafe")
    poll = evs["message 10"].properties["poll"]
    assert (poll["question"], poll["answers"], poll["votes"], poll["chosen"]) == (
        "Where?", ["Here", "There"], [2, 1], ["Here"])
    pin, call = evs["message 12"], evs["message 13"]
    assert (pin.kind, pin.properties["action"], pin.properties["target_message_id"]) == (
        "system", "pin_message", 2)
    assert (call.kind, call.properties["duration_seconds"]) == ("system", 65)
    assert [(p.value, p.role) for p in call.parties] == [("user100", "participant")]


def test_json_group_services_and_channel_senders(tmp_path: Path) -> None:
    chat = {"name": "Crew", "type": "private_supergroup", "id": 300, "messages": [
        {"id": 1, "type": "service", "date": "2024-01-02T09:00:00",
         "date_unixtime": "1704186000", "actor": "Owen", "actor_id": "user100",
         "action": "migrate_from_group", "title": "Crew (old)", "text": ""},
        {"id": 2, "type": "service", "date": "2024-01-02T09:01:00",
         "date_unixtime": "1704186060", "actor": "Owen", "actor_id": "user100",
         "action": "create_group", "title": "Crew", "members": ["Owen", "Cara", None],
         "text": ""},
        _msg(3, **{"from": "Crew", "from_id": "channel300", "text": "anonymous admin post",
                   "author": "Owen"}),
    ]}
    migrate, create, post = events(_parse_json(tmp_path, chat))
    assert (migrate.kind, migrate.properties["title"]) == ("system", "Crew (old)")
    assert [(p.label, p.role) for p in create.parties] == [
        ("Owen", "participant"), ("Owen", "participant"), ("Cara", "participant")]
    assert [(p.kind, p.value, p.role) for p in post.parties] == [
        ("account", "channel300", "sender"), ("group", "channel300", "recipient")]
    assert post.properties["author"] == "Owen"


def test_json_is_read_the_same_whatever_the_chunk_boundaries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import workstation.ingest.chat._common as common
    whole = _parse_json(tmp_path, FULL_EXPORT)
    for chunk in (1, 2, 7, 64):
        monkeypatch.setattr(common, "_CHUNK", chunk)
        assert _parse_json(tmp_path, FULL_EXPORT) == whole, chunk


def test_json_syntax_error_deep_in_the_file_names_its_line(tmp_path: Path) -> None:
    chat = {"name": "Crew", "type": "private_group", "id": 5,
            "messages": [_msg(i, text=f"message {i}") for i in range(1, 400)]}
    text = json.dumps(chat, indent=1)
    lines = text.split("\n")
    bad = next(i for i, ln in enumerate(lines) if '"message 300"' in ln)
    lines[bad] = lines[bad].replace('"message 300"', '"message 300" "oops"')
    path = tmp_path / "result.json"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ParseError) as exc:
        list(TelegramJsonParser().parse(path, ImportOptions()))
    assert exc.value.ref is not None and exc.value.ref.startswith(f"line {bad + 1} column")


def test_large_json_export_streams_with_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    padding = "lorem ipsum dolor sit amet " * 10
    n = 12000
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{\n "personal_information": {"user_id": 100, "first_name": "Owen"},\n'
                 ' "chats": {"about": "", "list": [\n')
        for c in range(3):
            fh.write((",\n" if c else "") + json.dumps(
                {"name": f"Chat {c}", "type": "private_supergroup", "id": 300 + c})[:-1]
                + ', "messages": [\n')
            fh.write(",\n".join(json.dumps(_msg(i, text=f"{i} {padding}",
                                                from_id=f"user{i % 50}"))
                                for i in range(n // 3)))
            fh.write("]}")
        fh.write("]}\n}\n")
    assert path.stat().st_size > 3_000_000
    import tracemalloc
    tracemalloc.start()
    try:
        count = sum(1 for r in TelegramJsonParser().parse(path, ImportOptions())
                    if isinstance(r, ParsedEvent))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < 8_000_000, f"peak {peak} bytes: the parser holds the file in memory"
