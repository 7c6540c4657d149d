"""WhatsApp and Messenger HTML exports read the media beside them strictly inside the
export folder: a symbolic link placed beside a chat that points to a file elsewhere on the
officer's machine is recorded by name only (and named in a notice with its message), a
FIFO never makes the import hang, and the files that are inside are hashed as before.

Every export is a synthetic folder imported end to end into an encrypted case; the
"secret" files sit in tmp_path outside the export folder.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from workstation.ingest.chat.discord_package import DiscordPackageParser
from workstation.ingest.formats import folder_root, get_parser
from workstation.ingest.pipeline import run_import

from tests.core.ingest.test_chat_attachment_hashes import blob, digests, hashed
from tests.core.ingest.test_chat_messenger_html import _inner, _pager, _write, page_2021, records

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo") or not hasattr(os, "symlink"),
                                reason="needs symbolic links and FIFOs (POSIX)")


NOT_READ = {"size": None, "sha256": None, "md5": None}


def spy_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Real paths of every file opened through os.open or open() from now on."""
    opened: list[str] = []
    real_os_open, real_io_open = os.open, io.open

    def os_spy(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        opened.append(os.path.realpath(file))
        return real_os_open(file, flags, *args, **kwargs)

    def io_spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, bytes, os.PathLike)):
            opened.append(os.path.realpath(file))
        return real_io_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_spy)
    monkeypatch.setattr(io, "open", io_spy)
    monkeypatch.setattr(builtins, "open", io_spy)
    return opened


def import_case(ws, path: Path, monkeypatch: pytest.MonkeyPatch
                ) -> tuple[Any, list, list[str]]:
    case_id = ws.create_case(f"LNK-{path.stem[:20]}", "media links").id
    opened = spy_opens(monkeypatch)
    try:
        result = run_import(ws, case_id, path)
    finally:
        monkeypatch.undo()
    assert result.errors == ()
    evs = [e for e in ws.list_events(case_id) if e.source_id == result.source_id]
    return result, evs, opened


def assert_refused(warnings: tuple[str, ...], expected: list[tuple[str, str]]) -> None:
    """Exactly one notice per refused path, naming its message and the path as written."""
    assert len(warnings) == len(expected), warnings
    for ref, written in expected:
        assert any(w.startswith(f"{ref}: ") and repr(written) in w
                   and "outside the export folder" in w for w in warnings), (ref, warnings)


# --------------------------------------------------------------------- WhatsApp

@pytest.mark.timeout(60)
def test_whatsapp_media_links_out_of_the_folder_are_not_read(
        ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = blob(tmp_path / "secret.jpg", 3_000, 1)
    (tmp_path / "card.vcf").write_text(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Hidden Person\nTEL:+1 202 555 0199\nEND:VCARD\n",
        encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.opus")
    export = tmp_path / "case" / "WhatsApp Chat with Bo Sample"
    photo = blob(export / "IMG-20240313-WA0001.jpg", 40_000, 2)
    os.symlink(tmp_path / "secret.jpg", export / "IMG-20240313-WA0002.jpg")
    os.symlink(tmp_path / "pipe.opus", export / "PTT-20240313-WA0003.opus")
    os.mkfifo(export / "VID-20240313-WA0004.mp4")  # inside, but no regular file
    os.symlink(tmp_path / "card.vcf", export / "Cy Sample.vcf")
    os.symlink("IMG-20240313-WA0001.jpg", export / "IMG-20240313-WA0005.jpg")  # stays inside
    chat = export / "WhatsApp Chat with Bo Sample.txt"
    chat.write_text(
        "13/03/2024, 10:00 - Ann Example: IMG-20240313-WA0001.jpg (file attached)\n"
        "13/03/2024, 10:01 - Ann Example: IMG-20240313-WA0002.jpg (file attached)\n"
        "13/03/2024, 10:02 - Bo Sample: PTT-20240313-WA0003.opus (file attached)\n"
        "13/03/2024, 10:03 - Bo Sample: VID-20240313-WA0004.mp4 (file attached)\n"
        "13/03/2024, 10:04 - Ann Example: Cy Sample.vcf (file attached)\n"
        "13/03/2024, 10:05 - Ann Example: IMG-20240313-WA0005.jpg (file attached)\n",
        encoding="utf-8")

    result, evs, opened = import_case(ws, chat, monkeypatch)

    atts = [e.properties["attachments"][0] for e in sorted(evs, key=lambda e: e.occurred_at)]
    assert [a["name"] for a in atts] == [
        "IMG-20240313-WA0001.jpg", "IMG-20240313-WA0002.jpg", "PTT-20240313-WA0003.opus",
        "VID-20240313-WA0004.mp4", "Cy Sample.vcf", "IMG-20240313-WA0005.jpg"]
    # Inside the folder: hashed as before (a link that stays inside is followed).
    assert hashed(atts[0]) == digests(photo)
    assert hashed(atts[5]) == digests(photo)
    # Out of the folder, or no regular file: by name only.
    assert [hashed(a) for a in atts[1:5]] == [NOT_READ] * 4
    assert atts[1]["path"] == "IMG-20240313-WA0002.jpg"
    for target in ("secret.jpg", "pipe.opus", "card.vcf"):
        assert os.path.realpath(tmp_path / target) not in opened, target
    stored = json.dumps([[e.properties, [p.label for p in e.parties]] for e in evs])
    assert hashlib.sha256(secret).hexdigest() not in stored
    # The contact card outside was not read: only the name its file carries is kept.
    assert "555 0199" not in stored and "Hidden Person" not in stored
    card = next(e for e in evs if e.properties["attachments"][0]["name"] == "Cy Sample.vcf")
    assert card.properties["contact"] == {"name": "Cy Sample"}
    assert [p.kind for p in card.parties if p.role == "mentioned"] == []
    assert_refused(result.warnings, [("line 2", "IMG-20240313-WA0002.jpg"),
                                     ("line 3", "PTT-20240313-WA0003.opus"),
                                     ("line 5", "Cy Sample.vcf")])


# --------------------------------------------------------------------- Messenger HTML

def messenger_thread(thread: Path, base: str) -> Path:
    """A 2021-style thread page with four photos, newest first (message 1 .. 4)."""
    def media(name: str) -> str:
        uri = f"messages/inbox/{thread.name}/photos/{name}"
        return _inner(media=f'<div><a href="{uri}"><img src="{uri}" class="_2yuc _3-96" />'
                            '</a></div>')

    return _write(thread / "message_1.html", page_2021("Bo Sample", [
        ("Ann Example", media("fifo.jpg"), "Mar 13, 2024 10:04:00am"),
        ("Bo Sample", media("pipe.jpg"), "Mar 13, 2024 10:03:00am"),
        ("Ann Example", media("out.jpg"), "Mar 13, 2024 10:02:00am"),
        ("Bo Sample", media("in.jpg"), "Mar 13, 2024 10:01:00am"),
    ], base=base))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("layout", ["whole export", "thread copied out alone"])
def test_messenger_html_media_links_out_of_the_folder_are_not_read(
        ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    secret = blob(tmp_path / "secret.jpg", 2_500, 3)
    os.mkfifo(tmp_path / "pipe")
    if layout == "whole export":
        thread = tmp_path / "dyi" / "facebook-annexample" / "messages" / "inbox" / "bo_ab12cd"
    else:  # the page's ../../../ then names a folder with no such files in it
        thread = tmp_path / "dyi" / "copy" / "bo_ab12cd"
    photo = blob(thread / "photos" / "in.jpg", 30_000, 4)
    os.symlink(tmp_path / "secret.jpg", thread / "photos" / "out.jpg")
    os.symlink(tmp_path / "pipe", thread / "photos" / "pipe.jpg")
    os.mkfifo(thread / "photos" / "fifo.jpg")
    page = messenger_thread(thread, "../../../")

    result, evs, opened = import_case(ws, page, monkeypatch)

    atts = {e.source_ref: e.properties["attachments"][0] for e in evs}
    assert [atts[f"message {n}"]["name"] for n in (1, 2, 3, 4)] == [
        "fifo.jpg", "pipe.jpg", "out.jpg", "in.jpg"]
    assert hashed(atts["message 4"]) == digests(photo)
    assert [hashed(atts[f"message {n}"]) for n in (1, 2, 3)] == [NOT_READ] * 3
    assert atts["message 3"]["path"] == "messages/inbox/bo_ab12cd/photos/out.jpg"
    assert os.path.realpath(tmp_path / "secret.jpg") not in opened
    assert os.path.realpath(tmp_path / "pipe") not in opened
    assert hashlib.sha256(secret).hexdigest() not in json.dumps([e.properties for e in evs])
    written = ("messages/inbox/bo_ab12cd/photos/{}" if layout == "whole export"
               else "photos/{}")  # relative to the folder it was looked up in
    assert_refused(result.warnings, [("message 2", written.format("pipe.jpg")),
                                     ("message 3", written.format("out.jpg"))])


# --------------------------------------------------------------------- Discord package

def test_discord_package_parser_says_which_folder_it_reads(tmp_path: Path) -> None:
    package = tmp_path / "package"
    (package / "messages" / "c5550100").mkdir(parents=True)
    index = package / "messages" / "index.json"
    index.write_text('{"5550100": "Direct Message with bo.sample#0"}', encoding="utf-8")
    parser = DiscordPackageParser()
    assert parser.folder_root(index) == package
    assert parser.folder_root(package) == package
    assert parser.folder_root(tmp_path) == package  # the one package inside
    stray = tmp_path / "elsewhere" / "index.json"
    stray.parent.mkdir()
    stray.write_text("{}", encoding="utf-8")
    assert parser.folder_root(stray) is None
    # The pipeline's registry asks the parser itself.
    assert folder_root(get_parser("discord_package"), index) == package


def test_messenger_first_page_linked_from_outside_is_not_read_for_participants(tmp_path: Path) -> None:
    # A later page asks message_1.html beside it for the thread's participants: a link
    # planted there pointing elsewhere must not be followed.
    elsewhere = tmp_path / "elsewhere"
    part = ('<div class="pam _3-95 _2pi0 _2lej uiBoxWhite noborder"><div>Participants: '
            'Planted Person, Other Planted and Third Planted</div></div>')
    planted = _write(elsewhere / "message_1.html", page_2021("Club", [
        ("Planted Person", _inner("x"), "Sep 13, 2020 12:26:40pm")], pager=_pager("club_7", 2) + part))
    folder = tmp_path / "messages" / "inbox" / "club_7"
    older = _write(folder / "message_2.html", page_2021("Club", [
        ("Bo Sample", _inner("oldest"), "Sep 13, 2020 12:00:00pm")], pager=_pager("club_7", 2)))
    (folder / "message_1.html").symlink_to(planted)
    names = {r.party.value for r in records(older) if hasattr(r, "party")}
    assert "Planted Person" not in names and "Third Planted" not in names
