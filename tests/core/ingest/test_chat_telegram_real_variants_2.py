"""Telegram Desktop result.json shapes its JSON writer emits that the earlier rounds missed.

The fields follow what Telegram Desktop's export writer puts in a message: custom service
entries with only an ``information_text``, per-action details (game score, proximity
alert), games, invoices (an object written as a string holding its JSON), and venues
without a valid point. People, ids and values are synthetic.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from workstation.ingest.chat.telegram import TelegramJsonParser
from workstation.ingest.records import ImportOptions, ParsedEvent


def _export(tmp_path: Path, messages: list[dict[str, Any]]) -> list[ParsedEvent]:
    base = 1678615200
    for i, msg in enumerate(messages, 1):
        msg.setdefault("id", i)
        msg.setdefault("type", "message")
        msg.setdefault("date", datetime.fromtimestamp(base + 60 * i, timezone.utc)
                       .strftime("%Y-%m-%dT%H:%M:%S"))
        msg.setdefault("date_unixtime", str(base + 60 * i))
        msg.setdefault("text", "")
        msg.setdefault("text_entities", [])
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"name": "Example Group", "type": "private_supergroup",
                                "id": 1000000001, "messages": messages}, indent=1),
                    encoding="utf-8")
    return [r for r in TelegramJsonParser().parse(path, ImportOptions())
            if isinstance(r, ParsedEvent)]


def test_custom_service_entry_shows_its_information_text(tmp_path: Path) -> None:
    ev = _export(tmp_path, [
        {"type": "service", "actor": "Alice Example", "actor_id": "user111",
         "information_text": "Alice Example turned on the example notice"}])[0]
    assert ev.kind == "system"
    assert ev.title == "Alice Example turned on the example notice"
    assert ev.body == "Alice Example turned on the example notice"
    assert [p.value for p in ev.parties] == ["user111"]


def test_service_action_details_are_kept(tmp_path: Path) -> None:
    score, near, ttl = _export(tmp_path, [
        {"type": "service", "actor": "Bob Example", "actor_id": "user222",
         "action": "score_in_game", "game_message_id": 5, "score": 420},
        {"type": "service", "action": "proximity_reached", "from": "Alice Example",
         "from_id": "user111", "to": "Bob Example", "to_id": "user222", "distance": 150},
        {"type": "service", "actor": "Alice Example", "actor_id": "user111",
         "action": "set_messages_ttl", "period": 86400}])
    assert (score.properties["score"], score.properties["game_message_id"]) == (420, 5)
    assert near.title == "Alice Example proximity reached"
    assert near.properties["distance"] == 150
    assert [p.value for p in near.parties] == ["user111", "user222"]
    assert ttl.properties["period"] == 86400
    assert ttl.occurred_at == datetime(2023, 3, 12, 10, 3, tzinfo=timezone.utc)


def test_game_invoice_and_venue_without_point_are_not_empty_messages(tmp_path: Path) -> None:
    game, invoice, venue = _export(tmp_path, [
        {"from": "Bob Example", "from_id": "user222", "via_bot": "@examplegamebot",
         "game_title": "Lumber Example", "game_description": "Chop wood",
         "game_link": "https://t.me/examplegamebot?game=lumber"},
        {"from": "Shop Example Bot", "from_id": "user333",
         "invoice_information": json.dumps({"title": "Example order",
                                            "description": "Two items", "amount": 1250,
                                            "currency": "EUR"}, indent=1)},
        {"from": "Alice Example", "from_id": "user111", "place_name": "Example Cafe",
         "address": "1 Example Street"}])
    assert game.properties["game"]["game_title"] == "Lumber Example"
    assert game.properties["via_bot"] == "@examplegamebot"
    assert invoice.properties["invoice"] == {"title": "Example order",
                                             "description": "Two items", "amount": 1250,
                                             "currency": "EUR"}
    assert (venue.properties["place_name"], venue.properties["address"]) == (
        "Example Cafe", "1 Example Street")
    assert "location" not in venue.properties
