"""Telegram Desktop exports split over pages (messages.html, messages2.html, ...) and the
JSON export's reactions with who reacted (structures of real exports; people synthetic)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from workstation.ingest.chat.telegram import TelegramHtmlParser, TelegramJsonParser
from workstation.ingest.records import ImportOptions, ParsedEvent

H = TelegramHtmlParser()
J = TelegramJsonParser()
TZ = timezone(timedelta(hours=2))


def _page(title: str, entries: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html>\n <head>\n  <meta charset="utf-8"/>\n'
        "<title>Exported Data</title>\n </head>\n <body>\n"
        '  <div class="page_wrap">\n   <div class="page_header">\n    <div class="content">\n'
        f'     <div class="text bold">\n{title}\n     </div>\n    </div>\n   </div>\n'
        '   <div class="page_body chat_page">\n    <div class="history">\n'
        + "\n".join(entries) + "\n    </div>\n   </div>\n  </div>\n </body>\n</html>\n")


def _sep(n: int, day: str) -> str:
    return (f'     <div class="message service" id="message-{n}">\n'
            f'      <div class="body details">\n{day}\n      </div>\n     </div>\n')


def _service(n: int, text: str) -> str:
    return (f'     <div class="message service" id="message{n}">\n'
            f'      <div class="body details">\n{text}\n      </div>\n     </div>\n')


def _msg(n: int, when: str, sender: str | None, text: str) -> str:
    joined = "" if sender else " joined"
    name = f'       <div class="from_name">\n{sender}\n       </div>\n' if sender else ""
    return (f'     <div class="message default clearfix{joined}" id="message{n}">\n'
            '      <div class="body">\n'
            f'       <div class="pull_right date details" title="{when} UTC+02:00">\n'
            f'{when[-8:-3]}\n       </div>\n{name}'
            f'       <div class="text">\n{text}\n       </div>\n      </div>\n     </div>\n')


def _export(tmp_path: Path) -> Path:
    d = tmp_path / "ChatExport_2024-03-02"
    d.mkdir()
    title = "Harbour Crew"
    (d / "messages.html").write_text(_page(title, [
        _sep(1, "1 March 2024"),
        _msg(101, "01.03.2024 21:00:00", "Dana Reef", "boat at nine"),
        _msg(102, "01.03.2024 21:05:00", "Eli Cove", "which pier"),
        _msg(103, "01.03.2024 23:58:30", "Fay Dock", "pier 4"),
    ]), encoding="utf-8")
    # Page 2: only two voices, and it opens with a run continued from page 1 across
    # midnight; then a date line and a notice with no time of its own.
    (d / "messages2.html").write_text(_page(title, [
        _msg(104, "01.03.2024 23:59:10", None, "bring cash"),
        _sep(2, "2 March 2024"),
        _service(105, "Dana Reef pinned a message"),
        _msg(106, "02.03.2024 00:10:00", "Dana Reef", "done"),
        _msg(107, "02.03.2024 00:12:00", "Eli Cove", "ok"),
    ]), encoding="utf-8")
    # Page 3 opens with a notice before any date line of its own.
    (d / "messages3.html").write_text(_page(title, [
        _service(108, "Eli Cove removed Fay Dock"),
        _msg(109, "02.03.2024 00:20:00", "Eli Cove", "she is out"),
    ]), encoding="utf-8")
    return d


def _events(path: Path) -> list[ParsedEvent]:
    return [r for r in H.parse(path, ImportOptions()) if isinstance(r, ParsedEvent)]


def test_each_page_is_the_same_group_chat_with_the_same_accounts(tmp_path: Path) -> None:
    d = _export(tmp_path)
    pages = [_events(d / name) for name in ("messages.html", "messages2.html",
                                            "messages3.html")]
    for evs in pages:
        for e in (e for e in evs if e.kind == "message"):
            # Sent to the one group, never to the other person of a two-voice page.
            assert [(p.kind, p.value) for p in e.parties if p.role == "recipient"] == [
                ("group", "Harbour Crew")], e.ref
    senders = [(e.ref, next(p.value for p in e.parties if p.role == "sender"))
               for evs in pages for e in evs if e.kind == "message"]
    assert senders == [("message 101", "Dana Reef"), ("message 102", "Eli Cove"),
                       ("message 103", "Fay Dock"), ("message 104", "Fay Dock"),
                       ("message 106", "Dana Reef"), ("message 107", "Eli Cove"),
                       ("message 109", "Eli Cove")]


def test_times_across_page_borders(tmp_path: Path) -> None:
    d = _export(tmp_path)
    page2 = _events(d / "messages2.html")
    assert [(e.ref, e.occurred_at) for e in page2] == [
        ("message 104", datetime(2024, 3, 1, 23, 59, 10, tzinfo=TZ)),
        # The notice after the "2 March" line: that day, before the next message.
        ("message 105", datetime(2024, 3, 2, 0, 0, tzinfo=TZ)),
        ("message 106", datetime(2024, 3, 2, 0, 10, tzinfo=TZ)),
        ("message 107", datetime(2024, 3, 2, 0, 12, tzinfo=TZ)),
    ]
    assert page2[1].properties["time_not_after"] == "2024-03-02T00:10:00+02:00"
    page3 = _events(d / "messages3.html")
    notice = page3[0]
    # No date line on page 3 before it: it runs on from page 2's last message.
    assert (notice.kind, notice.body) == ("system", "Eli Cove removed Fay Dock")
    assert notice.occurred_at == datetime(2024, 3, 2, 0, 12, tzinfo=TZ)
    assert notice.properties["time_source"] == "previous_message"
    assert notice.properties["time_not_after"] == "2024-03-02T00:20:00+02:00"


def test_json_reactions_keep_who_reacted_and_when(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({
        "name": "Harbour Crew", "type": "private_supergroup", "id": 1700000001,
        "messages": [{
            "id": 77, "type": "message", "date": "2024-03-01T21:00:00",
            "date_unixtime": "1709319600", "from": "Dana Reef", "from_id": "user5550001",
            "text": "boat at nine", "text_entities": [],
            "reactions": [
                {"type": "emoji", "count": 2, "emoji": "\U0001f44d", "recent": [
                    {"from": "Eli Cove", "from_id": "user5550002",
                     "date": "2024-03-01T21:01:05"},
                    {"from": "Fay Dock", "from_id": "user5550003",
                     "date": "2024-03-01T21:03:40"}]},
                {"type": "custom_emoji", "count": 1,
                 "document_id": "stickers/sticker (3).webp", "recent": [
                     {"from": "Eli Cove", "from_id": "user5550002",
                      "date": "2024-03-01T21:02:00"}]},
                {"type": "paid", "count": 50},
            ]}],
    }), encoding="utf-8")
    msg = next(r for r in J.parse(path, ImportOptions()) if isinstance(r, ParsedEvent))
    assert msg.properties["reactions"] == [
        {"type": "emoji", "count": 2, "emoji": "\U0001f44d", "recent": [
            {"from": "Eli Cove", "from_id": "user5550002", "date": "2024-03-01T21:01:05"},
            {"from": "Fay Dock", "from_id": "user5550003", "date": "2024-03-01T21:03:40"}]},
        {"type": "custom_emoji", "count": 1, "document_id": "stickers/sticker (3).webp",
         "recent": [{"from": "Eli Cove", "from_id": "user5550002",
                     "date": "2024-03-01T21:02:00"}]},
        {"type": "paid", "count": 50},
    ]
    # The people who reacted are on the message, once each, keyed like senders.
    assert [(p.value, p.label) for p in msg.parties if p.role == "reacted"] == [
        ("user5550002", "Eli Cove"), ("user5550003", "Fay Dock")]
