"""Slack exports in the shapes of real ones: an Enterprise Grid export (``org_users.json``),
DMs and group DMs as slackdump and Slack write them (``dms.json``/``mpims.json``), thread
replies, bots, joins and leaves, and file stubs that hold no file. People are synthetic."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from workstation.ingest.chat.slack import SlackZipParser
from workstation.ingest.records import ImportOptions, ParsedEntity, ParsedEvent

P = SlackZipParser()


def _zip(path: Path, members: dict[str, object]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, json.dumps(content, indent=2))
    return path


ORG_USERS = [
    {"id": "W0AAA0001", "team_id": "E0ORG0001", "name": "ana.k", "real_name": "Ana Kestrel",
     "profile": {"real_name": "Ana Kestrel", "display_name": "ana",
                 "email": "ana.kestrel@example.com"}},
    {"id": "W0AAA0002", "team_id": "E0ORG0001", "name": "ben.o", "real_name": "Ben Osprey",
     "profile": {"real_name": "Ben Osprey", "email": "ben.osprey@example.com"}},
    {"id": "W0AAA0003", "team_id": "E0ORG0001", "name": "cy.h", "real_name": "Cy Heron",
     "profile": {"real_name": "Cy Heron"}},
]


def _grid_export(tmp_path: Path) -> Path:
    profile = {"real_name": "Ana Kestrel", "display_name": "ana", "name": "ana.k",
               "team": "T0WS00001"}
    return _zip(tmp_path / "grid.zip", {
        # Enterprise Grid: the people are in org_users.json; there is no users.json.
        "org_users.json": ORG_USERS,
        "channels.json": [{"id": "C0CHAN001", "name": "deals",
                           "members": ["W0AAA0001", "W0AAA0002"]}],
        "dms.json": [{"id": "D0DM00001", "created": 1704067200,
                      "members": ["W0AAA0001", "W0AAA0002"]}],
        "mpims.json": [{"id": "G0MPIM001", "name": "mpdm-ana.k--ben.o--cy.h-1",
                        "is_mpim": True, "created": 1704067200,
                        "members": ["W0AAA0001", "W0AAA0002", "W0AAA0003"],
                        "purpose": {"value": "Group messaging with: @ana.k @ben.o @cy.h"}}],
        "deals/2024-01-02.json": [
            {"type": "message", "subtype": "channel_join", "user": "W0AAA0002",
             "ts": "1704186000.000100", "text": "<@W0AAA0002> has joined the channel"},
            {"client_msg_id": "0b1c", "type": "message", "user": "W0AAA0001",
             "text": "contract attached", "ts": "1704186060.000200",
             "thread_ts": "1704186060.000200", "reply_count": 1,
             "replies": [{"user": "W0AAA0002", "ts": "1704186120.000300"}],
             "user_team": "E0ORG0001", "source_team": "E0ORG0001", "user_profile": profile,
             "files": [
                 {"id": "F0FILE001", "name": "contract.pdf", "mimetype": "application/pdf",
                  "size": 48213, "mode": "hosted",
                  "url_private": "https://files.example.com/F0FILE001/contract.pdf"},
                 # A deleted or no longer reachable file: only a stub is left.
                 {"id": "F0FILE002", "mode": "file_access", "file_access": "file_not_found"},
             ]},
            {"type": "message", "user": "W0AAA0002", "text": "signed",
             "ts": "1704186120.000300", "thread_ts": "1704186060.000200",
             "parent_user_id": "W0AAA0001"},
            {"type": "message", "subtype": "bot_message", "bot_id": "B0BOT0001",
             "username": "deal-tracker", "text": "Deal 7 moved to Won",
             "ts": "1704186180.000400"},
            {"type": "message", "subtype": "channel_leave", "user": "W0AAA0002",
             "ts": "1704186240.000500", "text": "<@W0AAA0002> has left the channel"},
        ],
        "D0DM00001/2024-01-02.json": [
            {"type": "message", "user": "W0AAA0002", "text": "call me",
             "ts": "1704186300.000600"}],
        "mpdm-ana.k--ben.o--cy.h-1/2024-01-03.json": [
            {"type": "message", "user": "W0AAA0003", "text": "all three of us",
             "ts": "1704272400.000700"}],
    })


def test_enterprise_grid_export_names_people_from_org_users(tmp_path: Path) -> None:
    path = _grid_export(tmp_path)
    assert P.sniff(path, path.read_bytes()[:65536]) >= 0.9
    records = list(P.parse(path, ImportOptions()))
    people = {r.party.value: r for r in records if isinstance(r, ParsedEntity)
              and r.ref.startswith(("users.json", "org_users.json"))}
    assert sorted(people) == ["W0AAA0001", "W0AAA0002", "W0AAA0003"]
    assert [(lk.kind, lk.dst.value) for lk in people["W0AAA0002"].links] == [
        ("uses", "ben.osprey@example.com")]
    evs = {e.body: e for e in records if isinstance(e, ParsedEvent)}
    # Labels come from org_users.json even where a message carries no user_profile.
    who = {body: next((p.value, p.label) for p in e.parties if p.role in ("sender",
                                                                        "participant"))
           for body, e in evs.items()}
    assert who["signed"] == ("W0AAA0002", "Ben Osprey")
    assert who["call me"] == ("W0AAA0002", "Ben Osprey")
    assert who["all three of us"] == ("W0AAA0003", "Cy Heron")
    assert who["Deal 7 moved to Won"] == ("B0BOT0001", "deal-tracker")
    join = evs["<@W0AAA0002> has joined the channel"]
    leave = evs["<@W0AAA0002> has left the channel"]
    assert (join.kind, leave.kind) == ("system", "system")
    assert (join.parties[0].label, leave.parties[0].label) == ("Ben Osprey", "Ben Osprey")


def test_grid_dm_mpim_threads_and_file_stubs(tmp_path: Path) -> None:
    records = list(P.parse(_grid_export(tmp_path), ImportOptions()))
    evs = {e.body: e for e in records if isinstance(e, ParsedEvent)}
    post = evs["contract attached"]
    # The hosted file is an attachment; the stub is not a file anyone can see.
    assert [(a.name, a.size) for a in post.attachments] == [("contract.pdf", 48213)]
    assert post.properties["files_unavailable"] == [
        {"id": "F0FILE002", "reason": "file_not_found"}]
    assert post.properties["reply_count"] == 1
    assert evs["signed"].properties["thread_ts"] == "1704186060.000200"
    dm = evs["call me"]
    assert [(p.value, p.role) for p in dm.parties] == [("W0AAA0002", "sender"),
                                                       ("W0AAA0001", "recipient")]
    mpim = evs["all three of us"]
    assert [(p.kind, p.value, p.label) for p in mpim.parties if p.role == "recipient"] == [
        ("group", "G0MPIM001", "mpdm-ana.k--ben.o--cy.h-1")]
    assert mpim.properties["conversation_id"] == "G0MPIM001"
