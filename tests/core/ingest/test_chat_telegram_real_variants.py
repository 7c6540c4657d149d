"""Telegram Desktop export variants seen in real exports that the main suite did not cover.

The HTML reproduces the markup Telegram Desktop writes for polls, locations, venues, calls
and shared contacts; the JSON the bare numeric ``from_id`` of 2019-2021 exports. People,
numbers and texts are synthetic.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from workstation.ingest.chat.telegram import TelegramHtmlParser, TelegramJsonParser
from workstation.ingest.records import ImportOptions, ParsedEntity, ParsedEvent


def events(records: list) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent)]


def _page(messages: str) -> str:
    return f"""<!DOCTYPE html>
<html>
 <head>
  <meta charset="utf-8"/>
<title>Exported Data</title>
 </head>
 <body onload="CheckLocation();">
  <div class="page_wrap">
   <div class="page_header">
    <div class="content">
     <div class="text bold">
Alice Example
     </div>
    </div>
   </div>
   <div class="page_body chat_page">
    <div class="history">
{messages}
    </div>
   </div>
  </div>
 </body>
</html>
"""


def _message(mid: int, minute: int, sender: str | None, inner: str) -> str:
    joined = "" if sender else " joined"
    head = f"""
      <div class="pull_left userpic_wrap">
       <div class="userpic userpic2" style="width: 42px; height: 42px">
        <div class="initials" style="line-height: 42px">
XX
        </div>
       </div>
      </div>""" if sender else ""
    name = f"""
       <div class="from_name">
{sender}
       </div>""" if sender else ""
    return f"""
     <div class="message default clearfix{joined}" id="message{mid}">{head}
      <div class="body">
       <div class="pull_right date details" title="05.03.2024 10:{minute:02d}:00 UTC+01:00">
10:{minute:02d}
       </div>{name}
       <div class="media_wrap clearfix">
{inner}
       </div>
      </div>
     </div>"""


def _generic(tag: str, kind: str, href: str | None, title: str, status: str = "",
             desc: str = "") -> str:
    link = "block_link " if href else ""
    attr = f' href="{href}"' if href else ""
    parts = [f'<div class="title bold">\n{title}\n</div>']
    if desc:
        parts.append(f'<div class="description">\n{desc}\n</div>')
    if status:
        parts.append(f'<div class="status details">\n{status}\n</div>')
    body = "\n".join(parts)
    return (f'<{tag} class="media clearfix pull_left {link}media_{kind}"{attr}>\n'
            f'<div class="fill pull_left">\n</div>\n<div class="body">\n{body}\n</div>\n</{tag}>')


POLL = """
        <div class="media_poll">
         <div class="question bold">
Lunch where?
         </div>
         <div class="details">
Anonymous poll
         </div>
         <div class="answer">
- Pizza <span class="details">2 votes, chosen vote</span>
         </div>
         <div class="answer">
- Soup <span class="details">1 vote</span>
         </div>
         <div class="answer">
- Salad
         </div>
         <div class="total details\t">
3 votes
         </div>
        </div>"""

MAPS = "https://maps.google.com/maps?q={0},{1}&amp;ll={0},{1}&amp;z=16"


def _html(tmp_path: Path) -> list[ParsedEvent]:
    page = _page("".join([
        _message(10, 0, "Alice Example", POLL),
        _message(11, 1, None, _generic("a", "location", MAPS.format("48.858400", "2.294500"),
                                       "Location", "48.858400, 2.294500")),
        _message(12, 2, None, _generic("a", "venue", MAPS.format("51.500700", "-0.124600"),
                                       "Example Cafe", desc="1 Example Street, Exampletown")),
        _message(13, 3, "Bob Example", _generic("div", "call success", None, "Alice Example",
                                                "Outgoing (34 seconds)")),
        _message(14, 4, None, _generic("a", "contact", "contacts/contact_1.vcf",
                                       "Carol Example", "+44 20 7946 0000 - vCard")),
        _message(15, 5, None, _generic("div", "voice_message", None, "Voice message",
                                       "00:05, 12.3 KB",
                                       "Not included, change data exporting settings to "
                                       "download.")),
    ]))
    path = tmp_path / "messages.html"
    path.write_text(page, encoding="utf-8")
    return events(list(TelegramHtmlParser().parse(path, ImportOptions())))


def test_html_poll_is_read_like_the_json_poll(tmp_path: Path) -> None:
    poll = _html(tmp_path)[0]
    assert poll.properties["poll"] == {
        "question": "Lunch where?", "answers": ["Pizza", "Soup", "Salad"],
        "votes": [2, 1, 0], "chosen": ["Pizza"], "total_voters": 3, "closed": False}


def test_html_location_and_venue_give_coordinates(tmp_path: Path) -> None:
    _, location, venue, *_ = _html(tmp_path)
    assert location.properties["location"] == {"latitude": 48.8584, "longitude": 2.2945}
    assert location.attachments == ()
    assert venue.properties["location"] == {"latitude": 51.5007, "longitude": -0.1246}
    assert venue.properties["place_name"] == "Example Cafe"
    assert venue.properties["address"] == "1 Example Street, Exampletown"


def test_html_call_is_a_notice_between_both_people_not_an_attachment(tmp_path: Path) -> None:
    call = _html(tmp_path)[3]
    assert call.kind == "system"
    assert call.attachments == ()
    assert call.properties["action"] == "phone_call"
    assert call.properties["duration_seconds"] == 34
    assert call.properties["call_status"] == "Outgoing"
    assert {p.value for p in call.parties} == {"Bob Example", "Alice Example"}
    assert call.occurred_at == datetime(2024, 3, 5, 10, 3,
                                        tzinfo=timezone(timedelta(hours=1)))


def test_html_shared_contact_gives_the_phone_number(tmp_path: Path) -> None:
    contact, voice = _html(tmp_path)[4:]
    phones = [p for p in contact.parties if p.kind == "phone"]
    assert [(p.value, p.label, p.role) for p in phones] == [
        ("+44 20 7946 0000", "Carol Example", "mentioned")]
    assert [(a.name, a.mime, a.path) for a in contact.attachments] == [
        ("contact_1.vcf", "text/vcard", "contacts/contact_1.vcf")]
    assert [a.name for a in voice.attachments] == ["Voice message"]
    assert voice.attachments[0].size == round(12.3 * 1024)


def test_json_numeric_from_id_of_older_exports_names_users_like_newer_ones(
        tmp_path: Path) -> None:
    doc = {
        "personal_information": {"user_id": 5550001, "first_name": "Alice",
                                 "last_name": "Example"},
        "chats": {"list": [{"name": "Bob Example", "type": "personal_chat", "id": 5550002,
                            "messages": [
            {"id": 1, "type": "message", "date": "2020-05-01T10:00:00", "from": "Alice Example",
             "from_id": 5550001, "text": "hello"},
            {"id": 2, "type": "message", "date": "2020-05-01T10:01:00", "from": "Bob Example",
             "from_id": 5550002, "text": "hi"},
            {"id": 3, "type": "service", "date": "2020-05-01T10:02:00", "actor": "Bob Example",
             "actor_id": 5550002, "action": "pin_message", "message_id": 1, "text": ""}]}]},
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    records = list(TelegramJsonParser().parse(path, ImportOptions()))
    owner = next(r for r in records if isinstance(r, ParsedEntity)).party
    hello, hi, pin = events(records)
    assert owner.value == "user5550001"
    assert [p.value for p in hello.parties if p.role == "sender"] == ["user5550001"]
    assert [p.value for p in hi.parties if p.role == "sender"] == ["user5550002"]
    assert [p.value for p in hi.parties if p.role == "recipient"] == ["user5550001"]
    assert [p.value for p in pin.parties] == ["user5550002"]


def test_json_chats_without_id_are_told_apart_in_refs(tmp_path: Path) -> None:
    # Early whole-account exports gave chats a name but no id.
    chat = {"name": "Book Club", "messages": [
        {"type": "message", "date_unixtime": "1544006350", "from": "Alice Example",
         "text": "minimal message"}]}
    other = {"name": "Chess Club", "messages": chat["messages"]}
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"chats": {"list": [chat, other]}}), encoding="utf-8")
    evs = events(list(TelegramJsonParser().parse(path, ImportOptions())))
    assert [e.ref for e in evs] == ["chat 'Book Club' message #1",
                                    "chat 'Chess Club' message #1"]


# --------------------------------------------- HTML service entries: no time in the markup

def _service(mid: int, text: str) -> str:
    """A service entry as Telegram Desktop writes it: a body with text and no time; a
    negative id is a date separator."""
    return f"""
     <div class="message service" id="message{mid}">
      <div class="body details">
{text}
      </div>
     </div>"""


def _text_message(mid: int, stamp: str, sender: str | None, text: str) -> str:
    joined = "" if sender else " joined"
    name = f'\n       <div class="from_name">\n{sender}\n       </div>' if sender else ""
    return f"""
     <div class="message default clearfix{joined}" id="message{mid}">
      <div class="body">
       <div class="pull_right date details" title="{stamp}">
{stamp[11:16]}
       </div>{name}
       <div class="text">
{text}
       </div>
      </div>
     </div>"""


def _service_page(tmp_path: Path) -> list[ParsedEvent]:
    page = _page("".join([
        _service(-1, "12 March 2023"),
        _service(20, "Alice Example created group &laquo;Example Group&raquo;"),
        _text_message(21, "12.03.2023 09:15:00 UTC+01:00", "Alice Example", "hello"),
        _service(22, "Alice Example invited Bob Example"),
        _service(23, "Alice Example pinned this message"),
        _text_message(24, "12.03.2023 18:40:10 UTC+01:00", "Bob Example", "hi all"),
        _service(-2, "13 March 2023"),
        _service(25, "Bob Example changed group title to &laquo;Renamed&raquo;"),
        _service(-3, "26 March 2023"),
        _text_message(26, "26.03.2023 08:00:00 UTC+02:00", "Alice Example", "summer time"),
        _service(27, "Carol Example joined group by link from Alice Example"),
    ]))
    path = tmp_path / "messages.html"
    path.write_text(page, encoding="utf-8")
    return events(list(TelegramHtmlParser().parse(path, ImportOptions())))


CET, CEST = timezone(timedelta(hours=1)), timezone(timedelta(hours=2))


def test_html_service_entries_get_the_time_before_them_and_say_so(tmp_path: Path) -> None:
    evs = _service_page(tmp_path)
    invited, pinned = evs[2], evs[3]
    assert [e.kind for e in (invited, pinned)] == ["system", "system"]
    for ev in (invited, pinned):
        assert ev.occurred_at == datetime(2023, 3, 12, 9, 15, tzinfo=CET)
        assert ev.properties["time_source"] == "previous_message"
        assert ev.properties["time_not_after"] == "2023-03-12T18:40:10+01:00"
        assert "time_precision" not in ev.properties
    # Order on a timeline stays the page's order.
    assert evs[1].occurred_at <= invited.occurred_at <= evs[4].occurred_at


def test_html_service_entry_first_of_its_day_gets_the_day_only(tmp_path: Path) -> None:
    evs = _service_page(tmp_path)
    created, renamed = evs[0], evs[5]
    # Before the day's first message: the start of the separator's day, flagged as a day,
    # in the offset of that day's messages.
    assert created.occurred_at == datetime(2023, 3, 12, tzinfo=CET)
    assert created.properties["time_source"] == "date_separator"
    assert created.properties["time_precision"] == "day"
    assert created.properties["time_not_after"] == "2023-03-12T09:15:00+01:00"
    # A day with no message at all: the day from its separator, not the previous day's time.
    assert renamed.occurred_at is not None
    assert renamed.occurred_at.date() == date(2023, 3, 13)
    assert renamed.properties["time_source"] == "date_separator"
    assert "time_not_after" not in renamed.properties


def test_html_service_entry_after_the_last_message(tmp_path: Path) -> None:
    joined = _service_page(tmp_path)[-1]
    assert joined.occurred_at == datetime(2023, 3, 26, 8, 0, tzinfo=CEST)
    assert joined.properties["time_source"] == "previous_message"
    assert "time_not_after" not in joined.properties


def test_html_date_separators_are_still_not_events(tmp_path: Path) -> None:
    evs = _service_page(tmp_path)
    assert len(evs) == 8
    assert not any((e.body or "").endswith("March 2023") for e in evs)
