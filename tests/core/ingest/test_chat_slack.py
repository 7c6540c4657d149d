"""Slack workspace export zips: the shared corpus export, generated ones, hostile archives."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from workstation.ingest.chat.safezip import SafeZip
from workstation.ingest.chat.slack import SlackZipParser
from workstation.ingest.records import (
    ImportOptions,
    ParsedEntity,
    ParsedEvent,
    ParseError,
    RowError,
)

P = SlackZipParser()


def events(records: list) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent)]


def test_corpus_export(shared_data: Path) -> None:
    path = shared_data / "chat/slack/slack_export.zip"
    assert P.sniff(path, path.read_bytes()[:65536]) >= 0.9
    records = list(P.parse(path, ImportOptions()))
    evs = events(records)
    assert len(evs) == 5
    assert sorted(e.kind for e in evs) == ["message"] * 4 + ["system"]
    by_channel: dict[str, list[str]] = {}
    for e in evs:
        by_channel.setdefault(e.properties["conversation"], []).append(e.body or "")
    assert by_channel == {
        "#example-channel": ["<@U0500003428> has joined the channel", "Example message"],
        "#general": ["Hello, world!", "Example in general"],
        "#random": ["Example random message"],
    }
    join = next(e for e in evs if e.kind == "system")
    assert join.properties["subtype"] == "channel_join"
    assert join.parties[0].value == "U0500003428"
    msg = next(e for e in evs if e.body == "Example message")
    sender = msg.parties[0]
    # Not in users.json: the label comes from the message's embedded user_profile.
    assert (sender.value, sender.label, sender.platform, sender.role) == (
        "U0500003428", "Example User", "slack", "sender")
    assert sender.properties["username"] == "someUser"
    assert [(p.kind, p.value, p.label) for p in msg.parties[1:]] == [
        ("group", "C0535BV3C6P", "#example-channel")]
    assert msg.occurred_at == datetime(2023, 4, 13, 19, 23, 49, 513479, tzinfo=timezone.utc)
    assert msg.ref == "example-channel/2023-04-13.json message 1681413829.513479"
    # users.json only holds the GitHub bot.
    users = [r for r in records if isinstance(r, ParsedEntity) and r.ref.startswith("users.json")]
    assert [(u.party.value, u.party.label, u.party.properties.get("bot")) for u in users] == [
        ("U050FRJNFQS", "GitHub", True)]


def _zip(path: Path, members: dict[str, object]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            data = content if isinstance(content, bytes) else json.dumps(content).encode()
            zf.writestr(name, data)
    return path


USERS = [{"id": "U1", "name": "ann", "real_name": "Ann Example",
          "profile": {"real_name": "Ann Example", "email": "ann@example.org",
                      "phone": "+1 202-555-0111"}},
         {"id": "U2", "name": "bo", "profile": {"real_name": "Bo Example"}}]


def test_dm_files_threads_and_bad_day_file(tmp_path: Path) -> None:
    path = _zip(tmp_path / "export.zip", {
        "users.json": USERS,
        "channels.json": [{"id": "C1", "name": "ops", "members": ["U1", "U2"]}],
        "dms.json": [{"id": "D1", "members": ["U1", "U2"]}],
        "ops/2024-01-01.json": [
            {"type": "message", "user": "U1", "ts": "1704103200.000100",
             "text": "see <@U2|bo> file", "files": [
                 {"id": "F1", "name": "plan.pdf", "mimetype": "application/pdf",
                  "size": 3210, "url_private": "https://files.example/plan.pdf"}],
             "reactions": [{"name": "eyes", "count": 1, "users": ["U2"]}]},
            {"type": "message", "user": "U2", "ts": "1704103300.000200",
             "thread_ts": "1704103200.000100", "text": "ok",
             "edited": {"user": "U2", "ts": "1704103310.000000"}},
            {"type": "message", "subtype": "channel_topic", "user": "U1",
             "ts": "1704103400.000300", "text": "set the channel topic: x"},
        ],
        "ops/2024-01-02.json": b"[{\"type\": \"message\", ",
        "D1/2024-01-03.json": [{"type": "message", "user": "U2", "ts": "1704276000.0",
                                "text": "private"}],
    })
    records = list(P.parse(path, ImportOptions()))
    ann = next(r for r in records if isinstance(r, ParsedEntity) and r.party.value == "U1"
               and r.ref.startswith("users.json"))
    assert sorted((link.kind, link.dst.kind, link.dst.value) for link in ann.links) == [
        ("uses", "email", "ann@example.org"), ("uses", "phone", "+1 202-555-0111")]
    members = [r for r in records if isinstance(r, ParsedEntity) and r.links
               and r.links[0].kind == "member_of"]
    assert sorted(m.party.value for m in members) == ["U1", "U2"]
    errors = [r for r in records if isinstance(r, RowError)]
    assert len(errors) == 1 and errors[0].ref == "ops/2024-01-02.json"
    assert "invalid JSON" in errors[0].message
    evs = events(records)
    # Conversation by conversation (folders in name order), each day in date order.
    assert [e.kind for e in evs] == ["message", "message", "message", "system"]
    dm, first, reply, topic = evs
    assert ("U2", "mentioned", "Bo Example") in [(p.value, p.role, p.label)
                                                 for p in first.parties]
    att = first.attachments[0]
    assert (att.name, att.mime, att.size) == ("plan.pdf", "application/pdf", 3210)
    assert first.properties["reactions"][0]["name"] == "eyes"
    assert reply.properties["thread_ts"] == "1704103200.000100"
    assert reply.properties["edited_at"].startswith("2024-01-01T10:01:50")
    assert topic.properties["subtype"] == "channel_topic"
    # A DM goes to the other member, not to a channel.
    assert [(p.value, p.role) for p in dm.parties] == [("U2", "sender"), ("U1", "recipient")]


@pytest.mark.parametrize("bad_name", ["../evil.json", "/etc/passwd", "a/../../b.json",
                                      "C:/Windows/x.json", "ok\\..\\..\\x.json"])
def test_path_traversal_member_is_refused(tmp_path: Path, bad_name: str) -> None:
    path = _zip(tmp_path / "export.zip", {"channels.json": [], "general/2024-01-01.json": [],
                                          bad_name: b"x"})
    with pytest.raises(ParseError) as exc:
        list(P.parse(path, ImportOptions()))
    assert "unsafe member name" in str(exc.value) and str(path) in str(exc.value)


def test_zip_bomb_ratio_and_total_cap(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "bomb.zip", {"channels.json": [],
                                        "general/2024-01-01.json": b" " * (8 * 1024 * 1024)})
    with pytest.raises(ParseError, match="compression ratio"):
        list(P.parse(bomb, ImportOptions()))
    ok = _zip(tmp_path / "ok.zip", {"channels.json": [], "general/2024-01-01.json": [1] * 500})
    with pytest.raises(ParseError, match="expands to more than"):
        list(SlackZipParser(max_total=100).parse(ok, ImportOptions()))


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("channels.json", "[]")
        info = zipfile.ZipInfo("general/2024-01-01.json")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ParseError, match="symbolic link"):
        SafeZip(path)


def test_not_a_zip_and_not_slack(tmp_path: Path) -> None:
    junk = tmp_path / "export.zip"
    junk.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ParseError, match="not a readable ZIP"):
        list(P.parse(junk, ImportOptions()))
    other = _zip(tmp_path / "photos.zip", {"a.jpg": b"\xff\xd8"})
    assert P.sniff(other, other.read_bytes()[:65536]) == 0.0
    with pytest.raises(ParseError, match="not a Slack export"):
        list(P.parse(other, ImportOptions()))


def test_export_zipped_inside_a_top_folder(tmp_path: Path) -> None:
    path = _zip(tmp_path / "Acme Slack export.zip", {
        "Acme Slack export/users.json": USERS,
        "Acme Slack export/channels.json": [{"id": "C9", "name": "ops", "members": ["U1"]}],
        "Acme Slack export/ops/2024-02-01.json": [
            {"type": "message", "user": "U1", "ts": "1706781600.0", "text": "hi"}],
    })
    assert P.sniff(path, path.read_bytes()[:65536]) >= 0.9
    [ev] = events(list(P.parse(path, ImportOptions())))
    assert (ev.body, ev.parties[0].label, ev.parties[1].value) == ("hi", "Ann Example", "C9")
    assert ev.ref == "Acme Slack export/ops/2024-02-01.json message 1706781600.0"


def test_member_without_a_name_is_refused_not_a_crash(tmp_path: Path) -> None:
    # A damaged central directory can give a member an empty name (zipfile then fails with
    # an IndexError of its own): refused by name like any unsafe member.
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("channels.json", b"[]")
        with zf.open(zipfile.ZipInfo(""), "w") as fh:
            fh.write(b"x")
    with pytest.raises(ParseError) as exc:
        list(P.parse(path, ImportOptions()))
    assert "unsafe member name (empty name)" in str(exc.value) and str(path) in str(exc.value)
