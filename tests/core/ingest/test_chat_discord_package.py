"""Discord's own data package ("Request all of my Data"): synthetic packages in the layouts
Discord has shipped (messages.json in c<id>/ folders with capitalised top folders since
2023-24; messages.csv in <id>/ or c<id>/ folders before), as a .zip and unpacked, imported
end to end into an encrypted case. People, cards and addresses are invented."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from workstation.errors import BadInput
from workstation.ingest.chat.discord_package import DiscordPackageParser
from workstation.ingest.pipeline import detect, run_import
from workstation.ingest.records import ImportOptions, ParsedEntity, ParsedEvent, RowError

P = DiscordPackageParser()

OWNER = "100000000000000001"
ROBIN = "200000000000000002"
MALLORY = "300000000000000003"
DM = "400000000000000004"
GENERAL = "500000000000000005"
GUILD = "600000000000000006"
GROUP = "700000000000000007"

USER = {
    "id": OWNER, "username": "casey.example", "discriminator": "0", "global_name": "Casey",
    "email": "casey@example.com", "verified": True, "phone": "+12025550143",
    "ip": "203.0.113.7",
    "connections": [
        {"type": "steam", "id": "76561190000000001", "name": "casey_steam", "revoked": False,
         "visibility": 1, "verified": True},
        {"type": "xbox", "id": "2535400000000001", "name": "CaseyXB", "revoked": False,
         "visibility": 0, "verified": True},
    ],
    "relationships": [
        {"id": ROBIN, "type": 1, "nickname": None,
         "user": {"id": ROBIN, "username": "robin.example", "global_name": "Robin",
                  "discriminator": "0", "avatar": None}},
        {"id": MALLORY, "type": 2,
         "user": {"id": MALLORY, "username": "mallory", "discriminator": "4321"}},
    ],
    "notes": {MALLORY: "sold me the account"},
    "payment_sources": [
        {"id": "900000000000000010", "type": 1, "invalid": False, "brand": "visa",
         "last_4": "4242", "expires_month": 4, "expires_year": 2027,
         "billing_address": {"name": "Casey Example", "line_1": "1 Test Street",
                             "line_2": None, "city": "Springfield", "state": "IL",
                             "postal_code": "62701", "country": "US"},
         "country": "US"},
        {"id": "900000000000000011", "type": 2, "invalid": False,
         "email": "casey.pay@example.org",
         "billing_address": {"name": "Casey Example", "line_1": "1 Test Street",
                             "city": "Springfield", "state": "IL", "postal_code": "62701",
                             "country": "US"}},
    ],
    "payments": [
        {"id": "910000000000000001", "created_at": "2023-02-01T10:00:00+00:00",
         "currency": "usd", "amount": 999, "status": 1, "description": "Nitro Monthly",
         "payment_source": {"id": "900000000000000010", "type": 1, "brand": "visa",
                            "last_4": "4242"}},
    ],
}

# (channel folder id, channel.json in the new and the old form, messages)
CHANNELS: list[tuple[str, dict[str, Any], dict[str, Any], list[dict[str, Any]]]] = [
    (DM, {"id": DM, "type": "DM", "recipients": [OWNER, ROBIN]},
     {"id": DM, "type": 1, "recipients": [OWNER, ROBIN]},
     [{"ID": 1100000000000000001, "Timestamp": "2023-03-04 12:34:56",
       "Contents": "call me at 202-555-0188\nor mail robin@example.org",
       "Attachments": "https://cdn.discordapp.com/attachments/4/5/photo%201.jpg?ex=0&is=1 "
                      "https://cdn.discordapp.com/attachments/4/6/notes.pdf"},
      {"ID": 1100000000000000002, "Timestamp": "2023-03-04 12:40:00.250000+00:00",
       "Contents": "ok, \"deal\", see you", "Attachments": ""}]),
    (GENERAL, {"id": GENERAL, "type": "GUILD_TEXT", "name": "general",
               "guild": {"id": GUILD, "name": "Example Guild"}},
     {"id": GENERAL, "type": 0, "name": "general",
      "guild": {"id": GUILD, "name": "Example Guild"}},
     [{"ID": 1100000000000000003, "Timestamp": "2023-03-05 08:00:00", "Contents": "hello all",
       "Attachments": ""},
      {"ID": 1100000000000000004, "Timestamp": "2023-03-05 08:01:00", "Contents": "",
       "Attachments": "https://cdn.discordapp.com/attachments/5/7/SPOILER_map.png"}]),
    (GROUP, {"id": GROUP, "type": "GROUP_DM", "name": "weekend plans",
             "recipients": [OWNER, ROBIN, MALLORY]},
     {"id": GROUP, "type": 3, "name": "weekend plans", "recipients": [OWNER, ROBIN, MALLORY]},
     [{"ID": 1100000000000000005, "Timestamp": "2023-03-06 21:15:00", "Contents": "saturday?",
       "Attachments": ""}]),
]
N_MESSAGES = sum(len(c[3]) for c in CHANNELS)

INDEX = {DM: "Direct Message with robin.example#0", GENERAL: "general in Example Guild",
         GROUP: "weekend plans", "800000000000000008": None}
ACTIVITY = "\n".join(json.dumps(e) for e in [
    {"event_type": "app_opened", "ip": "198.51.100.23", "city": "Springfield",
     "country_code": "US", "timestamp": "\"2023-03-01T09:00:00.000Z\""},
    {"event_type": "send_message", "ip": "198.51.100.23", "city": "Chicago",
     "timestamp": "\"2023-03-09T18:30:00.000Z\""},
    {"event_type": "app_opened", "ip": "198.51.100.23",
     "timestamp": "\"2023-02-27T07:00:00.000Z\""},
    {"event_type": "login", "ip": "2001:db8::5", "timestamp": "\"2023-03-02T12:00:00.000Z\""},
    {"event_type": "add_reaction", "emoji_name": "x", "timestamp": "\"2023-03-02T12:00:00Z\""},
]) + "\n"


def _csv(messages: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["ID", "Timestamp", "Contents", "Attachments"])
    for m in messages:
        # Old packages wrote microseconds and the UTC offset.
        stamp = m["Timestamp"] if "+" in m["Timestamp"] else m["Timestamp"] + ".000000+00:00"
        w.writerow([m["ID"], stamp, m["Contents"], m["Attachments"]])
    return out.getvalue().encode()


def package(*, form: str = "json", c_prefix: bool = True, capitals: bool = False,
            user: dict[str, Any] | None = USER) -> dict[str, bytes]:
    """A package's files by path: ``form`` "json" (2023 on) or "csv" (older)."""
    def top(name: str) -> str:
        return name.capitalize() if capitals else name

    files: dict[str, bytes] = {"README.txt": b"Welcome to your Discord Data Package!\n"}
    if user is not None:
        files[f"{top('account')}/user.json"] = json.dumps(user).encode()
    files[f"{top('messages')}/index.json"] = json.dumps(INDEX).encode()
    for cid, new, old, messages in CHANNELS:
        folder = f"{top('messages')}/{'c' if c_prefix else ''}{cid}"
        files[f"{folder}/channel.json"] = json.dumps(new if form == "json" else old).encode()
        if form == "json":
            files[f"{folder}/messages.json"] = json.dumps(messages).encode()
        else:
            files[f"{folder}/messages.csv"] = _csv(messages)
    files[f"{top('servers')}/index.json"] = json.dumps({GUILD: "Example Guild"}).encode()
    files[f"{top('activity')}/analytics/events-2023-00000-of-00001.json"] = ACTIVITY.encode()
    return files


def as_zip(path: Path, files: dict[str, bytes], folder: str = "") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(folder + name, data)
    return path


def as_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def state(ws, case_id: int) -> tuple[int, int, int, int]:
    return (ws.count_events(case_id), ws.count_entities(case_id), len(ws.list_sources(case_id)),
            len(ws.list_links(case_id=case_id)))


def _key_facts(records: list) -> tuple:
    """What a package says, whatever its layout: messages and the entities linked."""
    evs = sorted((e.properties["message_id"], e.occurred_at, e.body,
                  tuple((p.kind, p.value, p.role, p.label) for p in e.parties),
                  tuple((a.name, a.path) for a in e.attachments))
                 for e in records if isinstance(e, ParsedEvent))
    ents = sorted({(r.party.kind, r.party.value) for r in records if isinstance(r, ParsedEntity)})
    return tuple(evs), tuple(ents)


# ---------------------------------------------------------------------- end to end

def test_current_package_zip_is_imported_end_to_end(ws, tmp_path: Path) -> None:
    # A 2024 package (capitalised folders, messages.json, string channel types), zipped
    # inside a top folder.
    path = as_zip(tmp_path / "package.zip", package(form="json", capitals=True), "package/")
    assert detect(path).format == "discord_package"
    case_id = ws.create_case("DP-1", "discord package").id
    result = run_import(ws, case_id, path)
    assert (result.format, result.events, result.messages) == ("discord_package", N_MESSAGES,
                                                                N_MESSAGES)
    assert not result.errors

    entities = {e.id: e for e in ws.list_entities(case_id, limit=None)}
    by_key = {e.key or e.label: e for e in entities.values()}
    owner = by_key[f"account:discord:{OWNER}"]
    assert owner.label == f"Casey ({OWNER})"
    assert owner.properties["username"] == "casey.example" and owner.properties["package_owner"]
    events = ws.list_events(case_id, limit=None)
    assert len(events) == N_MESSAGES
    # Every message is the owner's.
    for ev in events:
        assert [p.entity_id for p in ev.parties if p.role == "sender"] == [owner.id]
    first = events[0]
    assert first.body == "call me at 202-555-0188\nor mail robin@example.org"
    assert first.occurred_at == datetime(2023, 3, 4, 12, 34, 56, tzinfo=timezone.utc)
    assert first.source_ref == f"Messages/c{DM}/messages.json message 1100000000000000001"
    # The DM goes to the other person, an account named from the relationships.
    assert [(p.label, p.kind) for p in first.parties if p.role == "recipient"] == [
        (f"Robin ({ROBIN})", "account")]
    assert [a["name"] for a in first.properties["attachments"]] == ["photo 1.jpg", "notes.pdf"]
    assert first.properties["attachments"][0]["path"].startswith(
        "https://cdn.discordapp.com/attachments/4/5/photo%201.jpg")
    # The pipeline extracted the identifiers in the text.
    assert {p.label for p in first.parties if p.role == "mentioned"} >= {"robin@example.org"}
    guild_msgs = [e for e in events if e.properties.get("conversation_id") == GENERAL]
    assert len(guild_msgs) == 2
    assert {(p.kind, p.label, p.role) for p in guild_msgs[0].parties if p.role != "sender"} == {
        ("group", "Example Guild #general", "recipient")}
    assert guild_msgs[0].properties["guild"] == "Example Guild"
    assert guild_msgs[1].body is None and \
        guild_msgs[1].properties["attachments"][0]["name"] == "SPOILER_map.png"
    [group_msg] = [e for e in events if e.properties.get("conversation_id") == GROUP]
    assert [(p.kind, p.label) for p in group_msg.parties if p.role == "recipient"] == [
        ("group", "weekend plans")]

    def name(entity_id: int) -> str:
        return entities[entity_id].key or entities[entity_id].label

    links = {(name(lk.src_id), lk.kind, name(lk.dst_id)) for lk in ws.list_links(case_id=case_id)}
    linked_from_owner = {(kind, dst) for src, kind, dst in links if src == owner.key}
    # Accounts on other platforms linked to the owner.
    assert ("owns", "account:steam:76561190000000001") in linked_from_owner
    assert ("owns", "account:xbox:2535400000000001") in linked_from_owner
    assert by_key["account:steam:76561190000000001"].properties["name"] == "casey_steam"
    # Friends and blocked users, the owner's note on one of them.
    assert ("associate_of", f"account:discord:{ROBIN}") in linked_from_owner
    assert by_key[f"account:discord:{ROBIN}"].properties["relationship"] == "friend"
    mallory = by_key[f"account:discord:{MALLORY}"]
    assert mallory.properties["username"] == "mallory#4321"
    assert ("related_to", mallory.key) in linked_from_owner
    assert mallory.properties["relationship"] == "blocked"
    assert mallory.properties["owner_note"] == "sold me the account"
    # The card (brand and last four), its billing name and address; the PayPal e-mail.
    card = next(e for e in entities.values() if e.kind == "card")
    assert ("uses", card.label) in linked_from_owner
    assert "4242" in card.label and card.properties["brand"] == "visa"
    assert card.properties["expires"] == "04/2027"
    assert card.properties["payments"][0]["amount"] == "9.99"
    assert ("Casey Example", "holder_of", card.label) in links
    address = next(e for e in entities.values() if e.kind == "address")
    assert "1 Test Street" in address.label
    assert ("Casey Example", "located_at", address.label) in links
    assert ("uses", "email:casey.pay@example.org") in linked_from_owner
    assert by_key["email:casey.pay@example.org"].properties["payment_method"] == "paypal"
    assert ("uses", "email:casey@example.com") in linked_from_owner
    assert ("uses", "phone:+12025550143") in linked_from_owner
    # Distinct IPs of the activity file with first and last seen, and the account's IP.
    ips = {e.label: e for e in entities.values() if e.kind == "ip"}
    assert {"198.51.100.23", "203.0.113.7"} <= set(ips)
    seen = ips["198.51.100.23"].properties
    assert (seen["first_seen"], seen["last_seen"], seen["activity_events"]) == (
        "2023-02-27T07:00:00.000Z", "2023-03-09T18:30:00.000Z", 3)
    assert seen["cities"] == ["Springfield", "Chicago"]
    assert ("uses", "ip:198.51.100.23") in linked_from_owner
    assert ("uses", "ip:203.0.113.7") in linked_from_owner
    assert len([e for e in ips if e.startswith("2001:db8")]) == 1
    # The server the owner is in, and the channel in it.
    assert ("member_of", "Example Guild") in linked_from_owner
    assert ("Example Guild #general", "member_of", "Example Guild") in links


def test_old_unpacked_package_with_csv_is_imported_through_its_index(ws, tmp_path: Path) -> None:
    # A 2020-21 package unpacked on a device: messages/<id>/messages.csv, numeric types.
    root = as_folder(tmp_path / "package", package(form="csv", c_prefix=False))
    entry = root / "messages" / "index.json"
    assert detect(entry).format == "discord_package"
    case_id = ws.create_case("DP-2", "old discord package").id
    result = run_import(ws, case_id, entry)
    assert (result.events, result.messages) == (N_MESSAGES, N_MESSAGES)
    events = ws.list_events(case_id, limit=None)
    first = events[0]
    assert first.body == "call me at 202-555-0188\nor mail robin@example.org"  # spans lines
    assert first.source_ref == f"messages/{DM}/messages.csv message 1100000000000000001"
    assert first.properties["channel_type"] == "DM"
    assert [p.label for p in first.parties if p.role == "recipient"] == [f"Robin ({ROBIN})"]
    assert events[1].body == 'ok, "deal", see you'
    assert events[1].occurred_at == datetime(2023, 3, 4, 12, 40, 0, 250000, tzinfo=timezone.utc)
    assert {p.label for e in events for p in e.parties if p.kind == "group"} == {
        "Example Guild #general", "weekend plans"}


@pytest.mark.parametrize("form", ["json", "csv"])
@pytest.mark.parametrize("c_prefix", [True, False])
@pytest.mark.parametrize("container", ["zip", "folder"])
def test_every_layout_says_the_same(tmp_path: Path, form: str, c_prefix: bool,
                                    container: str) -> None:
    files = package(form=form, c_prefix=c_prefix)
    path = as_zip(tmp_path / "p.zip", files) if container == "zip" else \
        as_folder(tmp_path / "p", files)
    records = list(P.parse(path, ImportOptions()))
    assert not [r for r in records if isinstance(r, RowError)]
    reference = list(P.parse(as_zip(tmp_path / "ref.zip", package()), ImportOptions()))
    assert _key_facts(records) == _key_facts(reference)
    assert len([r for r in records if isinstance(r, ParsedEvent)]) == N_MESSAGES


def test_without_account_file_the_owner_is_the_user_in_every_dm(tmp_path: Path) -> None:
    files = package(user=None)
    # One DM alone cannot tell the owner from the other person: the owner given for the
    # import decides.
    given = list(P.parse(as_zip(tmp_path / "p.zip", files), ImportOptions(owner=OWNER)))
    evs = [r for r in given if isinstance(r, ParsedEvent)]
    assert len(evs) == N_MESSAGES
    assert {p.value for e in evs for p in e.parties if p.role == "sender"} == {OWNER}
    alone = list(P.parse(tmp_path / "p.zip", ImportOptions()))
    assert not [p for r in alone if isinstance(r, ParsedEvent) for p in r.parties
                if p.role == "sender"]
    # With a second DM, the one user both have in common is the owner.
    other = "400000000000000099"
    files[f"messages/c{other}/channel.json"] = json.dumps(
        {"id": other, "type": "DM", "recipients": [MALLORY, OWNER]}).encode()
    files[f"messages/c{other}/messages.json"] = json.dumps(
        [{"ID": 1, "Timestamp": "2023-01-01 00:00:00", "Contents": "x", "Attachments": ""}]).encode()
    inferred = list(P.parse(as_zip(tmp_path / "q.zip", files), ImportOptions()))
    evs = [r for r in inferred if isinstance(r, ParsedEvent)]
    assert len(evs) == N_MESSAGES + 1
    assert {p.value for e in evs for p in e.parties if p.role == "sender"} == {OWNER}
    [dm] = [e for e in evs if e.properties["conversation_id"] == other]
    assert [p.value for p in dm.parties if p.role == "recipient"] == [MALLORY]


def test_dce_exports_are_still_dce(tmp_path: Path) -> None:
    dce = tmp_path / "Guild - general [901].json"
    dce.write_text(json.dumps({"guild": {"id": "900", "name": "G"},
                               "channel": {"id": "901", "name": "general"},
                               "messages": []}))
    assert detect(dce).format == "discord_json"
    stray = tmp_path / "stray" / "messages" / "index.json"
    stray.parent.mkdir(parents=True)
    stray.write_text(json.dumps({"1": "x"}))
    assert P.sniff(stray, stray.read_bytes()) == 0.0


# ---------------------------------------------------------------------- bad input

def _refused(ws, tmp_path: Path, path: Path, fmt: str | None = "auto") -> str:
    case_id = ws.create_case(f"DP-{path.stem}-{fmt}", "bad").id
    # Something already in the case, so "unchanged" means more than "empty".
    good = as_zip(tmp_path / "good.zip", package())
    run_import(ws, case_id, good)
    before = state(ws, case_id)
    with pytest.raises(BadInput) as exc:
        run_import(ws, case_id, path, fmt=fmt)
    assert state(ws, case_id) == before
    return str(exc.value)


def test_truncated_messages_json_names_file_and_message(ws, tmp_path: Path) -> None:
    files = package(form="json", capitals=True)
    rel = f"Messages/c{GENERAL}/messages.json"
    files[rel] = files[rel][:-40]
    message = _refused(ws, tmp_path, as_zip(tmp_path / "cut.zip", files))
    assert f"Messages/c{GENERAL}/messages.json message [2]" in message
    assert "invalid JSON" in message and "cut short" in message


def test_csv_with_a_broken_quote_names_file_and_row(ws, tmp_path: Path) -> None:
    files = package(form="csv", c_prefix=False)
    rel = f"messages/{GENERAL}/messages.csv"
    files[rel] = (b"ID,Timestamp,Contents,Attachments\r\n"
                  b"1100000000000000003,2023-03-05 08:00:00.000000+00:00,hello all,\r\n"
                  b"1100000000000000004,2023-03-05 08:01:00.000000+00:00,\"never closed,\r\n"
                  b"1100000000000000009,2023-03-05 08:02:00.000000+00:00,after,\r\n")
    root = as_folder(tmp_path / "pkg", files)
    message = _refused(ws, tmp_path, root / "messages" / "index.json")
    assert f"messages/{GENERAL}/messages.csv row 2 (line 3)" in message
    assert "quote" in message
    # With skip-bad-rows the rows before the break are kept and the break is reported.
    case_id = ws.create_case("DP-skip", "skip").id
    result = run_import(ws, case_id, root / "messages" / "index.json", skip_bad_rows=True)
    assert result.events == N_MESSAGES - 1 and result.skipped == 1
    assert result.errors[0].row == f"messages/{GENERAL}/messages.csv row 2 (line 3)"


def test_zip_bomb_is_refused(ws, tmp_path: Path) -> None:
    files = package()
    files["activity/analytics/events-2023-00000-of-00001.json"] = b" " * (8 * 1024 * 1024)
    message = _refused(ws, tmp_path, as_zip(tmp_path / "bomb.zip", files),
                       fmt="discord_package")
    assert "compression ratio" in message and "events-2023-00000-of-00001.json" in message


def test_a_zip_that_is_not_a_discord_package(ws, tmp_path: Path) -> None:
    other = as_zip(tmp_path / "photos.zip", {"DCIM/a.jpg": b"\xff\xd8\xff", "notes.txt": b"x"})
    assert P.sniff(other, other.read_bytes()[:65536]) == 0.0
    message = _refused(ws, tmp_path, other, fmt="discord_package")
    assert "not a Discord data package" in message and "photos.zip" in message
    assert "unrecognised format" in _refused(ws, tmp_path, other)


def test_unreadable_account_file_is_refused(ws, tmp_path: Path) -> None:
    files = package()
    files["account/user.json"] = b'{"id": "1", "username": '
    message = _refused(ws, tmp_path, as_zip(tmp_path / "acct.zip", files))
    assert "account/user.json line 1 column" in message
