"""Importing a FOLDER: unzipped chat exports (Telegram Desktop, WhatsApp, Discord, Slack,
Facebook/Instagram "Download your information") found by content and imported as ONE
source in one transaction, with refs naming the file inside the folder."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from tests.core.ingest.test_chat_discord_package import N_MESSAGES as DISCORD_MESSAGES
from tests.core.ingest.test_chat_discord_package import as_folder, package
from tests.core.test_cli import run
from workstation.errors import BadInput
from workstation.ingest.chat.slack import SlackZipParser
from workstation.ingest.pipeline import detect, preview, run_import
from workstation.ingest.records import ImportOptions, ParsedEvent

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)


def write(root: Path, files: dict[str, object]) -> Path:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        elif isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            target.write_text(json.dumps(content), encoding="utf-8")
    return root


def snapshot(ws) -> dict:
    return {**ws.counts(), "audit": ws.audit.verify().entries}


def manual_digest(root: Path, rels: list[str]) -> str:
    """The folder digest as documented: SHA-256 over sorted "path<TAB>size<TAB>sha256" lines."""
    lines = []
    for rel in sorted(rels):
        data = (root / rel).read_bytes()
        lines.append(f"{rel}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


@pytest.fixture
def case_id(ws) -> int:
    return ws.create_case("FOLD-1", "Folder imports", timezone="UTC").id


# ---------------------------------------------------------------------- synthetic exports

def whatsapp_chat(peer: str, lines: list[str]) -> str:
    head = "[1/5/24, 9:00:00 AM] {p}: \u200eMessages and calls are end-to-end encrypted.\n".format(p=peer)
    return head + "".join(f"[1/5/24, 9:{i + 1:02d}:00 AM] {who}: {text}\n"
                          for i, (who, text) in enumerate(line.split(": ", 1) for line in lines))


def whatsapp_folder(root: Path) -> Path:
    """Two unzipped WhatsApp exports side by side, with media and the litter macOS and
    Windows leave in folders."""
    return write(root, {
        "Ann Example/_chat.txt": whatsapp_chat("Ann Example", [
            "Ann Example: meet at the usual place", "Owen Owner: ok, 555-0100 if late",
            "Ann Example: \u200e<attached: 00000005-PHOTO-2024-01-05-09-03-00.jpg>"]),
        "Ann Example/00000005-PHOTO-2024-01-05-09-03-00.jpg": JPEG,
        "Bo Example/WhatsApp Chat with Bo Example.txt": whatsapp_chat("Bo Example", [
            "Bo Example: got the parcel", "Owen Owner: good"]),
        "Bo Example/.DS_Store": b"\x00\x00\x00\x01Bud1" + bytes(64),
        "__MACOSX/Ann Example/._chat.txt": whatsapp_chat("Mallory", ["Mallory: not real"]),
        "Thumbs.db": b"\xd0\xcf\x11\xe0" + bytes(64),
    })


def messenger_thread(title: str, path: str, messages: list[tuple[str, str]]) -> dict:
    return {"participants": [{"name": title}, {"name": "Owen Owner"}],
            "messages": [{"sender_name": who, "timestamp_ms": 1704445200000 - i * 60000,
                          "content": text, "type": "Generic", "is_geoblocked_for_viewer": False}
                         for i, (who, text) in enumerate(messages)],
            "title": title, "is_still_participant": True, "thread_type": "Regular",
            "thread_path": path}


def messenger_dyi(root: Path) -> Path:
    """A 2024 "Download your information" folder with two Messenger threads."""
    inbox = "your_facebook_activity/messages/inbox"
    return write(root, {
        f"{inbox}/annexample_1234/message_1.json": messenger_thread(
            "Ann Example", "inbox/annexample_1234",
            [("Ann Example", "where are you"), ("Owen Owner", "on my way"), ("Ann Example", "ok")]),
        f"{inbox}/annexample_1234/photos/1234_5678.jpg": JPEG,
        f"{inbox}/boexample_5678/message_1.json": messenger_thread(
            "Bo Example", "inbox/boexample_5678", [("Bo Example", "call me at bo@example.org")]),
        "your_facebook_activity/messages/autofill_information.json": {"autofill_information_v2": {}},
        "index.html": "<html><body>Your information</body></html>",
    })


TELEGRAM_ACCOUNT = {
    "about": "Here is the data you requested.",
    "personal_information": {"user_id": 100, "first_name": "Owen", "last_name": "Owner",
                             "phone_number": "+1 202 555 0100"},
    "chats": {"about": "...", "list": [
        {"name": "Cara", "type": "personal_chat", "id": 200, "messages": [
            {"id": 10, "type": "message", "date": "2024-01-05T10:00:00", "date_unixtime": "1704448800",
             "from": "Cara", "from_id": "user200", "text": "hello",
             "text_entities": [{"type": "plain", "text": "hello"}]},
            {"id": 11, "type": "message", "date": "2024-01-05T10:01:00", "date_unixtime": "1704448860",
             "from": "Owen Owner", "from_id": "user100", "photo": "photos/photo_1@05-01-2024_10-01-00.jpg",
             "text": ""}]},
        {"name": "Crew", "type": "private_group", "id": 300, "messages": [
            {"id": 1, "type": "service", "date": "2024-01-04T09:00:00", "date_unixtime": "1704358800",
             "actor": "Owen Owner", "actor_id": "user100", "action": "create_group", "title": "Crew",
             "members": ["Cara"], "text": ""},
            {"id": 2, "type": "message", "date": "2024-01-04T09:01:00", "date_unixtime": "1704358860",
             "from": "Cara", "from_id": "user200", "text": "hi crew",
             "text_entities": [{"type": "plain", "text": "hi crew"}]},
            {"id": 3, "type": "message", "date": "2024-01-04T09:02:00", "date_unixtime": "1704358920",
             "from": "Owen Owner", "from_id": "user100", "text": "hi",
             "text_entities": [{"type": "plain", "text": "hi"}]}]},
    ]},
}

TELEGRAM_PAGE = """<!DOCTYPE html><html><head><title>Exported Data</title></head><body>
<div class="page_wrap"><div class="page_header"><div class="text bold">Cara</div></div>
<div class="history">
<div class="message default clearfix" id="message10"><div class="body">
<div class="pull_right date details" title="05.01.2024 10:00:00 UTC+00:00">10:00</div>
<div class="from_name">Cara</div><div class="text">hello</div></div></div>
</div></div></body></html>"""


def telegram_folder(root: Path) -> Path:
    """Telegram Desktop's ChatExport folder, exported as "JSON and HTML" (both forms of the
    same chats side by side) with its media."""
    return write(root, {
        "result.json": TELEGRAM_ACCOUNT,
        "messages.html": TELEGRAM_PAGE,
        "css/style.css": ".page_wrap { background-color: #fff; }\n",
        "js/script.js": "function CheckLocation() { return true; }\n",
        "photos/photo_1@05-01-2024_10-01-00.jpg": JPEG,
    })


SLACK_FILES: dict[str, object] = {
    "users.json": [{"id": "U1", "name": "ann", "real_name": "Ann Example",
                    "profile": {"real_name": "Ann Example", "email": "ann@example.org"}},
                   {"id": "U2", "name": "bo", "profile": {"real_name": "Bo Example"}}],
    "channels.json": [{"id": "C1", "name": "general", "members": ["U1", "U2"]},
                      {"id": "C2", "name": "ops", "members": ["U1"]}],
    "integration_logs.json": [],
    "general/2024-01-05.json": [
        {"type": "message", "subtype": "channel_join", "user": "U2", "text": "<@U2> has joined",
         "ts": "1704445200.000100"},
        {"type": "message", "user": "U1", "text": "hello <@U2>", "ts": "1704445260.000200"},
        {"type": "message", "user": "U2", "text": "hi", "ts": "1704445320.000300"}],
    "general/2024-01-06.json": [
        {"type": "message", "user": "U1", "text": "day two", "ts": "1704531600.000100"}],
    "ops/2024-01-05.json": [
        {"type": "message", "user": "U1", "text": "ops note", "ts": "1704445400.000100"}],
}
SLACK_MESSAGES = 4 + 0  # general: 2 + 1, ops: 1 (the join is a system line)


def slack_folder(root: Path) -> Path:
    return write(root, dict(SLACK_FILES, **{".DS_Store": b"\x00\x00\x00\x01Bud1",
                                            "__MACOSX/._users.json": b"\x00\x05\x16\x07"}))


def slack_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in SLACK_FILES.items():
            zf.writestr(name, json.dumps(content))
    return path


# ---------------------------------------------------------------------- WhatsApp

def test_whatsapp_folder_of_two_chats_is_one_import(ws, case_id, tmp_path: Path) -> None:
    root = whatsapp_folder(tmp_path / "WhatsApp exports")
    # A symbolic link to a chat outside the folder is never followed.
    outside = write(tmp_path / "elsewhere", {"_chat.txt": whatsapp_chat("Eve", ["Eve: secret"])})
    try:
        os.symlink(outside / "_chat.txt", root / "link_chat.txt")
        os.symlink(outside, root / "linked folder")
    except (OSError, NotImplementedError):  # pragma: no cover - no symlinks on this system
        pass
    d = detect(root)
    assert d.format == "whatsapp_txt"
    assert [p.rel for p in d.parts] == ["Ann Example/_chat.txt",
                                        "Bo Example/WhatsApp Chat with Bo Example.txt"]

    res = run_import(ws, case_id, root)
    assert (res.format, res.events, res.messages, res.skipped) == ("whatsapp_txt", 5, 5, 0)
    sources = ws.list_sources(case_id)
    assert len(sources) == 1
    src = ws.get_source(res.source_id)
    assert src.file_name == "WhatsApp exports" and src.importer == "whatsapp_txt"
    read = ["Ann Example/_chat.txt", "Bo Example/WhatsApp Chat with Bo Example.txt"]
    assert src.sha256 == manual_digest(root, read)
    assert src.file_size == sum((root / r).stat().st_size for r in read)
    events = ws.list_events(case_id, limit=None)
    assert len(events) == 5 and all(e.source_id == res.source_id for e in events)
    refs = sorted(e.source_ref for e in events)
    assert refs[0].startswith("Ann Example/_chat.txt: line ")
    assert refs[-1].startswith("Bo Example/WhatsApp Chat with Bo Example.txt: line ")
    bodies = {e.body for e in events}
    assert "secret" not in bodies and "not real" not in bodies  # the link, __MACOSX
    assert "got the parcel" in bodies and "meet at the usual place" in bodies
    # The photo exported beside the chat is matched to its message.
    photo = next(e for e in events if e.properties.get("attachments"))
    attached = photo.properties["attachments"][0]
    assert attached["name"] == "00000005-PHOTO-2024-01-05-09-03-00.jpg"
    assert attached.get("sha256") == hashlib.sha256(JPEG).hexdigest()


def test_reimporting_the_same_folder_changes_nothing(ws, case_id, tmp_path: Path) -> None:
    root = whatsapp_folder(tmp_path / "wa")
    first = run_import(ws, case_id, root)
    before = snapshot(ws)
    again = run_import(ws, case_id, root)
    assert again.duplicate_of == first.source_id and again.events == 0
    assert "already imported" in again.warnings[0]
    assert snapshot(ws) == before
    # The same files copied elsewhere (another name, a fresh .DS_Store): still the same folder.
    copy = whatsapp_folder(tmp_path / "copy of wa")
    (copy / ".DS_Store").write_bytes(b"different litter")
    assert run_import(ws, case_id, copy).duplicate_of == first.source_id
    # One more message in Bo's chat: a new import of that chat; Ann's unchanged chat is not
    # written a second time.
    with (root / "Bo Example/WhatsApp Chat with Bo Example.txt").open("a", encoding="utf-8") as fh:
        fh.write("[1/6/24, 8:00:00 AM] Bo Example: one more\n")
    third = run_import(ws, case_id, root)
    assert third.duplicate_of is None and third.events == 3
    assert any(w.startswith("Ann Example/") and "already imported" in w for w in third.warnings)


# ---------------------------------------------------------------------- Messenger DYI

def test_messenger_dyi_folder_imports_every_thread(ws, case_id, tmp_path: Path) -> None:
    root = messenger_dyi(tmp_path / "facebook-owen-2024-01-05")
    res = run_import(ws, case_id, root)
    assert (res.format, res.events) == ("messenger_json", 4)
    assert [(p, n) for p, _, n in res.parts] == [
        ("your_facebook_activity/messages/inbox/annexample_1234/message_1.json", 3),
        ("your_facebook_activity/messages/inbox/boexample_5678/message_1.json", 1)]
    events = ws.list_events(case_id, limit=None)
    by_thread = {}
    for e in events:
        by_thread.setdefault(e.source_ref.split(": ")[0], []).append(e.body)
    assert sorted(by_thread["your_facebook_activity/messages/inbox/annexample_1234/message_1.json"]) == \
        ["ok", "on my way", "where are you"]
    assert all(": messages[" in e.source_ref for e in events)
    assert len(ws.list_sources(case_id)) == 1
    # The e-mail in Bo's message is extracted as usual.
    assert any(ent.key == "email:bo@example.org" for ent in ws.list_entities(case_id, kind="email"))


def test_a_corrupt_file_in_the_folder_leaves_the_database_unchanged(ws, case_id, tmp_path: Path) -> None:
    root = messenger_dyi(tmp_path / "dyi")
    bad = root / "your_facebook_activity/messages/inbox/boexample_5678/message_1.json"
    bad.write_text(bad.read_text()[:-40], encoding="utf-8")  # cut short
    before = snapshot(ws)
    with pytest.raises(BadInput) as err:
        run_import(ws, case_id, root)
    message = str(err.value)
    assert "boexample_5678/message_1.json" in message and "line" in message
    assert snapshot(ws) == before and ws.list_sources(case_id) == []


def test_a_bad_row_in_one_export_names_the_inner_file_and_row(ws, case_id, tmp_path: Path) -> None:
    root = slack_folder(tmp_path / "slack")
    write(root, {"ops/2024-01-06.json": "[{\"type\": \"message\", \"user\": \"U1\", \"text\": \"x\"}]"})
    whatsapp_folder(tmp_path / "phone")
    before = snapshot(ws)
    with pytest.raises(BadInput) as err:
        run_import(ws, case_id, tmp_path)
    assert "ops/2024-01-06.json [0]" in str(err.value) and "'ts'" in str(err.value)
    assert snapshot(ws) == before
    res = run_import(ws, case_id, tmp_path, skip_bad_rows=True)
    assert res.skipped == 1 and res.errors[0].row == "slack/ops/2024-01-06.json [0]"
    assert res.format == "slack_zip+whatsapp_txt" and res.events == SLACK_MESSAGES + 5


# ---------------------------------------------------------------------- Telegram

def test_telegram_chat_export_folder_with_json_and_html(ws, case_id, tmp_path: Path) -> None:
    root = telegram_folder(tmp_path / "ChatExport_2024-01-05")
    d = detect(root)
    # The HTML is the same export as result.json: read once, from the JSON.
    assert [(p.rel, p.format) for p in d.parts] == [("result.json", "telegram_json")]
    res = run_import(ws, case_id, root)
    assert (res.format, res.messages) == ("telegram_json", 4)
    refs = {e.source_ref for e in ws.list_events(case_id, limit=None)}
    assert all(r.startswith("result.json: ") for r in refs)
    src = ws.get_source(res.source_id)
    assert src.file_name == "ChatExport_2024-01-05" and src.sha256 == manual_digest(root, ["result.json"])


# ---------------------------------------------------------------------- Slack

def test_slack_parser_reads_the_unzipped_folder_as_the_zip(tmp_path: Path) -> None:
    parser = SlackZipParser()
    folder = slack_folder(tmp_path / "slack export")
    zipped = slack_zip(tmp_path / "slack.zip")
    assert parser.sniff(folder, b"") >= 0.9
    from_folder = list(parser.parse(folder, ImportOptions()))
    from_zip = list(parser.parse(zipped, ImportOptions()))
    assert from_folder == from_zip
    assert sum(isinstance(r, ParsedEvent) and r.kind == "message" for r in from_folder) == SLACK_MESSAGES


def test_slack_folder_never_follows_links_out(tmp_path: Path) -> None:
    folder = slack_folder(tmp_path / "slack")
    outside = write(tmp_path / "outside", {"2024-01-07.json": [
        {"type": "message", "user": "U1", "text": "from outside", "ts": "1704618000.000100"}]})
    try:
        os.symlink(outside, folder / "random")
        os.symlink(outside / "2024-01-07.json", folder / "ops" / "2024-01-07.json")
    except (OSError, NotImplementedError):  # pragma: no cover
        pytest.skip("no symbolic links here")
    bodies = [r.body for r in SlackZipParser().parse(folder, ImportOptions()) if isinstance(r, ParsedEvent)]
    assert "from outside" not in bodies and "ops note" in bodies


def test_unzipped_slack_export_imports_like_the_zip(ws, case_id, tmp_path: Path) -> None:
    root = slack_folder(tmp_path / "Acme Slack export Jan 1 2024 - Jan 6 2024")
    res = run_import(ws, case_id, root)
    assert (res.format, res.messages, res.system_lines) == ("slack_zip", SLACK_MESSAGES, 1)
    refs = {e.source_ref for e in ws.list_events(case_id, limit=None)}
    assert "general/2024-01-05.json message 1704445260.000200" in refs
    src = ws.get_source(res.source_id)
    assert src.sha256 == manual_digest(root, sorted(SLACK_FILES))
    other = ws.create_case("FOLD-2", "zip").id
    zres = run_import(ws, other, slack_zip(tmp_path / "slack.zip"))
    assert (zres.events, zres.entities, zres.links) == (res.events, res.entities, res.links)


# ---------------------------------------------------------------------- Discord

def test_discord_package_folder(ws, case_id, tmp_path: Path) -> None:
    root = as_folder(tmp_path / "package", package(form="json"))
    d = detect(root)
    assert [(p.rel, p.format) for p in d.parts] == [("", "discord_package")]
    res = run_import(ws, case_id, root)
    assert (res.format, res.messages) == ("discord_package", DISCORD_MESSAGES)
    # Inside a folder holding more: the package's files are the package's, refs name them.
    case2 = ws.create_case("FOLD-2", "mixed").id
    whatsapp_folder(tmp_path / "phone")
    res2 = run_import(ws, case2, tmp_path, fmt="auto")
    assert res2.format == "discord_package+whatsapp_txt"
    assert res2.messages == DISCORD_MESSAGES + 5
    refs = [e.source_ref for e in ws.list_events(case2, limit=None)]
    assert sum(r.startswith("package/messages/") for r in refs) == DISCORD_MESSAGES


# ---------------------------------------------------------------------- nothing to import

def test_a_folder_with_nothing_importable_lists_what_was_looked_at(ws, case_id, tmp_path: Path) -> None:
    root = write(tmp_path / "stuff", {"notes.txt": "shopping: milk, eggs\n", "photos/a.jpg": JPEG,
                                      ".DS_Store": b"\x00\x00\x00\x01Bud1"})
    with pytest.raises(BadInput) as err:
        run_import(ws, case_id, root)
    message = str(err.value)
    assert "notes.txt (not a recognised format)" in message
    assert "photos/a.jpg (photo, audio or video)" in message and ".DS_Store" in message
    assert ws.list_sources(case_id) == []


# ---------------------------------------------------------------------- CLI

@pytest.fixture
def cli_db(tmp_path: Path, passphrase_file: Path, capsys) -> list[str]:
    base = ["--db", str(tmp_path / "cli.db"), "--passphrase-file", str(passphrase_file)]
    assert run(capsys, *base, "init")[0] == 0
    assert run(capsys, *base, "case", "add", "C-7", "Folders")[0] == 0
    return base


def test_cli_imports_a_folder_with_json_output(cli_db, capsys, tmp_path: Path) -> None:
    root = messenger_dyi(tmp_path / "exports" / "dyi")
    whatsapp_folder(tmp_path / "exports" / "wa")
    code, out, err = run(capsys, *cli_db, "--json", "import", "C-7", str(tmp_path / "exports"))
    assert code == 0, err
    result = json.loads(out)
    # events = messages across all the folder's chats (system lines are not messages)
    assert (result["events"], result["skipped"], result["errors"]) == (4 + 5, 0, [])
    assert result["format"] == "messenger_json+whatsapp_txt" and isinstance(result["source"], int)
    assert len(result["parts"]) == 4
    code, out, _ = run(capsys, *cli_db, "--json", "import", "C-7", str(tmp_path / "exports"))
    again = json.loads(out)
    assert code == 0 and again["duplicate"] and again["source"] == result["source"] and again["events"] == 0
    code, out, _ = run(capsys, *cli_db, "--json", "info")
    assert json.loads(out)["counts"]["events"] == 9
    assert root.is_dir()


def test_cli_folder_with_nothing_importable_exits_4(cli_db, capsys, tmp_path: Path) -> None:
    root = write(tmp_path / "empty-ish", {"readme.md": "# nothing here\n", "Thumbs.db": b"\xd0\xcf"})
    code, out, err = run(capsys, *cli_db, "import", "C-7", str(root))
    assert code == 4 and out == ""
    assert "readme.md (not a recognised format)" in err and "Thumbs.db" in err


def test_cli_preview_and_formats_of_a_folder(cli_db, capsys, tmp_path: Path) -> None:
    root = whatsapp_folder(tmp_path / "wa")
    code, out, _ = run(capsys, *cli_db, "formats", str(root))
    assert code == 0 and "Ann Example/_chat.txt: whatsapp_txt" in out
    pv = preview(root, limit=3)
    assert pv.format == "whatsapp_txt" and pv.records[0].ref.startswith("Ann Example/_chat.txt: line ")


def test_a_chat_imported_alone_is_not_imported_again_with_its_folder(ws, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    ann = folder / "WhatsApp Chat with Ann Example.txt"
    ben = folder / "WhatsApp Chat with Ben Example.txt"
    folder.mkdir()
    ann.write_text("1/5/24, 10:00 - Ann Example: one\n1/5/24, 10:01 - Ann Example: two\n", encoding="utf-8")
    ben.write_text("1/6/24, 11:00 - Ben Example: three\n", encoding="utf-8")
    case_id = ws.create_case("DUP-1", "one chat first").id
    alone = run_import(ws, case_id, ann)
    assert alone.events == 2
    both = run_import(ws, case_id, folder)
    # Ann's chat is the same file: skipped and said so; only Ben's messages are new.
    assert both.events == 1 and ws.count_events(case_id) == 3
    assert any("WhatsApp Chat with Ann Example.txt: already imported" in w for w in both.warnings)
    # The other way round: a chat imported as part of a folder, then on its own.
    again = run_import(ws, case_id, ben)
    assert again.duplicate_of == both.source_id and ws.count_events(case_id) == 3
    # A folder whose every export was imported before changes nothing.
    other = tmp_path / "copy"
    other.mkdir()
    (other / ann.name).write_bytes(ann.read_bytes())
    nothing = run_import(ws, case_id, other)
    assert nothing.duplicate_of == alone.source_id and ws.count_events(case_id) == 3
