"""Telegram Desktop and DiscordChatExporter exports record the size, SHA-256 and MD5 of
every attachment file that sits in the export's folder, read strictly inside that folder.

Exports are synthetic folders: the "photos" and files are bytes from a seeded generator.
Each export is imported end to end into an encrypted case and the stored attachments are
compared with the files.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from workstation.ingest.chat.telegram import TelegramJsonParser
from workstation.ingest.pipeline import run_import
from workstation.ingest.records import ImportOptions, ParsedEvent

from tests.core.ingest.test_chat_discord_html import (
    ALICE,
    V22_HEAD,
    V22_TAIL,
    at,
    content,
    sf,
    v23_header,
    v23_message,
)


def blob(path: Path, size: int, seed: int) -> bytes:
    """Write ``size`` seeded random bytes to ``path`` (parents made) and return them."""
    data = random.Random(seed).randbytes(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def digests(data: bytes) -> dict[str, Any]:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "md5": hashlib.md5(data).hexdigest()}


def hashed(att: dict[str, Any]) -> dict[str, Any]:
    return {k: att.get(k) for k in ("size", "sha256", "md5")}


def import_events(ws, path: Path) -> tuple[Any, list]:
    case_id = ws.create_case(f"ATT-{path.stem}", "attachment hashes").id
    result = run_import(ws, case_id, path)
    assert result.errors == ()
    return result, [e for e in ws.list_events(case_id) if e.source_id == result.source_id]


def attachments_by_name(events: list) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for e in events for a in e.properties.get("attachments", [])}


def tg_message(mid: int, **fields: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"id": mid, "type": "message", "date": "2024-03-01T10:00:00",
                           "date_unixtime": str(1709287200 + mid * 60), "from": "Dana Example",
                           "from_id": "user5550100", "text": f"message {mid}"}
    msg.update(fields)
    return msg


def tg_export(folder: Path, messages: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "result.json"
    path.write_text(json.dumps({"name": "Eli Example", "type": "personal_chat", "id": 5550200,
                                "messages": messages}, ensure_ascii=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------- Telegram JSON

def test_telegram_json_records_size_and_digests_of_files_in_the_export(ws, tmp_path: Path
                                                                       ) -> None:
    export = tmp_path / "Telegram Desktop" / "ChatExport_2024-03-01"
    photo = blob(export / "photos" / "photo_1@01-03-2024_10-01-00.jpg", 200_000, 1)
    report = blob(export / "files" / "report 1.pdf", 50_000, 2)
    voice = blob(export / "voice_messages" / "audio_1@01-03-2024_10-03-00.ogg", 12_345, 3)
    card = blob(export / "contacts" / "contact_1.vcf", 321, 4)
    sticker = blob(export / "stickers" / "sticker.webp", 4_096, 5)
    path = tg_export(export, [
        tg_message(1, photo="photos/photo_1@01-03-2024_10-01-00.jpg", photo_file_size=1,
                   width=800, height=600),
        tg_message(2, file="files/report 1.pdf", file_name="report 1.pdf",
                   file_size=50_000, mime_type="application/pdf"),
        tg_message(3, file="voice_messages/audio_1@01-03-2024_10-03-00.ogg",
                   media_type="voice_message", mime_type="audio/ogg", duration_seconds=4),
        tg_message(4, contact_vcard="contacts/contact_1.vcf",
                   contact_information={"first_name": "Fay", "phone_number": "+1 202 555 0147"}),
        tg_message(5, file="stickers/sticker.webp", media_type="sticker"),
        tg_message(6, file="stickers/sticker.webp", media_type="sticker"),
        # Named by the export but not beside it (deleted, or the folder copied in part).
        tg_message(7, photo="photos/photo_2@01-03-2024_10-07-00.jpg", photo_file_size=77_000),
        tg_message(8, file="(File not included. Change data exporting settings to download.)",
                   file_size=9_999, media_type="video_file"),
    ])
    result, evs = import_events(ws, path)
    assert result.warnings == ()
    atts = [e.properties["attachments"] for e in evs]
    assert [hashed(a[0]) for a in atts[:6]] == [
        digests(photo), digests(report), digests(voice), digests(card), digests(sticker),
        digests(sticker)]
    # The size stored is the file's, not the one the export states (photo_file_size 1).
    assert atts[0][0]["path"] == "photos/photo_1@01-03-2024_10-01-00.jpg"
    assert atts[3][0]["mime"] == "text/vcard"
    # A file that is not there is recorded by name (and stated size) only.
    assert hashed(atts[6][0]) == {"size": 77_000, "sha256": None, "md5": None}
    assert atts[6][0]["name"] == "photo_2@01-03-2024_10-07-00.jpg"
    assert hashed(atts[7][0]) == {"size": 9_999, "sha256": None, "md5": None}


def test_telegram_paths_leading_out_of_the_export_are_not_read(
        ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = blob(tmp_path / "secret.bin", 1_000, 9)
    export = tmp_path / "case" / "ChatExport_2024-03-01"
    (export / "photos").mkdir(parents=True)
    os.symlink(tmp_path / "secret.bin", export / "photos" / "photo_3.jpg")
    ok = blob(export / "files" / "ok.txt", 64, 10)
    path = tg_export(export, [
        tg_message(1, file="../../secret.bin", file_size=5),
        tg_message(2, photo="photos/photo_3.jpg"),
        tg_message(3, file=str(tmp_path / "secret.bin")),
        tg_message(4, file="files/..%2F..%2F..%2Fsecret.bin"),
        tg_message(5, file="files/ok.txt"),
    ])
    opened: list[str] = []
    real_open = os.open

    def spy(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        opened.append(os.path.realpath(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    result, evs = import_events(ws, path)
    monkeypatch.undo()
    atts = [e.properties["attachments"][0] for e in evs]
    assert [a["name"] for a in atts] == ["secret.bin", "photo_3.jpg", "secret.bin",
                                         "..%2F..%2F..%2Fsecret.bin", "ok.txt"]
    assert [a.get("sha256") for a in atts[:4]] == [None] * 4
    assert atts[0]["size"] == 5 and "path" not in atts[0]  # the stated size, not the file's
    assert "size" not in atts[1]
    assert hashed(atts[4]) == digests(ok)  # files inside the folder are still read
    assert os.path.realpath(tmp_path / "secret.bin") not in opened
    assert hashlib.sha256(secret).hexdigest() not in json.dumps([e.properties for e in evs])
    # Each refused path is reported with the message it belongs to.
    assert len(result.warnings) == 4
    for ref, written in (("message 1", "../../secret.bin"), ("message 2", "photos/photo_3.jpg"),
                         ("message 3", str(tmp_path / "secret.bin")),
                         ("message 4", "files/..%2F..%2F..%2Fsecret.bin")):
        assert any(w.startswith(f"{ref}: ") and repr(written) in w and "outside the export"
                   in w for w in result.warnings), (ref, result.warnings)


def test_telegram_attachment_is_hashed_in_blocks(tmp_path: Path) -> None:
    export = tmp_path / "ChatExport"
    size = 24 * 1024 * 1024
    data = blob(export / "video_files" / "clip.mp4", size, 11)
    path = tg_export(export, [tg_message(1, file="video_files/clip.mp4",
                                         media_type="video_file")])
    tracemalloc.start()
    try:
        evs = [r for r in TelegramJsonParser().parse(path, ImportOptions())
               if isinstance(r, ParsedEvent)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert evs[0].attachments[0].sha256 == hashlib.sha256(data).hexdigest()
    assert peak < size // 6, f"peak {peak / 2**20:.1f} MiB"


# --------------------------------------------------------------------- Telegram HTML

def tg_page(messages: str) -> str:
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"/><title>Exported Data</title>'
            '</head><body><div class="page_wrap"><div class="page_header"><div class="content">'
            '<div class="text bold">Eli Example</div></div></div><div class="page_body '
            f'chat_page"><div class="history">{messages}</div></div></div></body></html>')


def tg_html_message(mid: int, minute: int, media: str) -> str:
    return (f'<div class="message default clearfix" id="message{mid}"><div class="body">'
            f'<div class="pull_right date details" title="01.03.2024 10:{minute:02d}:00 '
            f'UTC+01:00">10:{minute:02d}</div><div class="from_name">Dana Example</div>'
            f'<div class="media_wrap clearfix">{media}</div></div></div>')


def test_telegram_html_hashes_media_and_reads_url_escaped_links(ws, tmp_path: Path) -> None:
    export = tmp_path / "ChatExport_2024-03-01"
    photo = blob(export / "photos" / "photo 2@01-03-2024_10-01-00.jpg", 150_000, 21)
    notes = blob(export / "files" / "notes.txt", 2_048, 22)
    page = tg_page(
        tg_html_message(1, 1, '<a class="photo_wrap clearfix pull_left" '
                              'href="photos/photo%202@01-03-2024_10-01-00.jpg"><img class="photo"'
                              ' src="photos/photo%202@01-03-2024_10-01-00_thumb.jpg"/></a>')
        + tg_html_message(2, 2, '<a class="media clearfix pull_left block_link media_file" '
                                'href="files/notes.txt"><div class="fill pull_left"></div>'
                                '<div class="body"><div class="title bold">notes.txt</div>'
                                '<div class="status details">2.0 KB</div></div></a>')
        + tg_html_message(3, 3, '<a class="media clearfix pull_left block_link media_voice_message"'
                                ' href="voice_messages/audio_1@01-03-2024_10-03-00.ogg"><div '
                                'class="body"><div class="title bold">Voice message</div>'
                                '<div class="status details">00:04, 6.0 KB</div></div></a>'))
    path = export / "messages.html"
    path.write_text(page, encoding="utf-8")
    result, evs = import_events(ws, path)
    assert result.format == "telegram_html" and result.warnings == ()
    first, second, third = (e.properties["attachments"][0] for e in evs)
    assert hashed(first) == digests(photo)
    assert hashed(second) == digests(notes)
    assert second["name"] == "notes.txt"
    # The voice message was not exported with the page: its name and the size shown only.
    assert third["name"] == "audio_1@01-03-2024_10-03-00.ogg"
    assert third.get("sha256") is None and third["size"] == 6_144


# --------------------------------------------------------------------- DiscordChatExporter

def dce_author() -> dict[str, Any]:
    return {"id": ALICE, "name": "alice_w", "discriminator": "0000", "nickname": "Alice",
            "isBot": False}


def dce_export(folder: Path, attachments: list[list[dict[str, Any]]]) -> Path:
    messages = [{"id": str(1000 + i), "type": "Default",
                 "timestamp": f"2024-03-01T10:{i:02d}:00+00:00", "content": f"file {i}",
                 "author": dce_author(), "attachments": atts}
                for i, atts in enumerate(attachments)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Test Server - Text Channels - general [1100000000000000001].json"
    path.write_text(json.dumps({"guild": {"id": "900", "name": "Test Server"},
                                "channel": {"id": "1100000000000000001", "type": "GuildTextChat",
                                            "name": "general", "category": "Text Channels"},
                                "messages": messages, "messageCount": len(messages)}),
                    encoding="utf-8")
    return path


def test_discord_json_media_export_records_file_digests(ws, tmp_path: Path) -> None:
    export = tmp_path / "discord"
    scan = blob(export / "Export_Files" / "scan-1A2B3.png", 90_000, 31)
    notes = blob(export / "Export_Files" / "notes-4C5D6.txt", 700, 32)
    os.mkfifo(export / "Export_Files" / "pipe-0A0B0.bin")  # not a file: never read
    path = dce_export(export, [
        [{"id": "1", "url": "Export_Files/scan-1A2B3.png", "fileName": "scan.png",
          "fileSizeBytes": 1}],
        # Written on Windows: the exporter keeps the system's separator in JSON.
        [{"id": "2", "url": "Export_Files\\notes-4C5D6.txt", "fileName": "notes.txt",
          "fileSizeBytes": 700}],
        [{"id": "3", "url": "https://cdn.discordapp.com/attachments/1/3/web.png",
          "fileName": "web.png", "fileSizeBytes": 5}],
        [{"id": "4", "url": "Export_Files/gone-7E8F9.png", "fileName": "gone.png",
          "fileSizeBytes": 4_000}],
        [{"id": "5", "url": "Export_Files/pipe-0A0B0.bin", "fileName": "pipe.bin"}],
    ])
    result, evs = import_events(ws, path)
    assert result.warnings == ()
    atts = attachments_by_name(evs)
    assert hashed(atts["scan.png"]) == digests(scan)
    assert hashed(atts["notes.txt"]) == digests(notes)
    assert hashed(atts["web.png"]) == {"size": 5, "sha256": None, "md5": None}
    assert hashed(atts["gone.png"]) == {"size": 4_000, "sha256": None, "md5": None}
    assert hashed(atts["pipe.bin"]) == {"size": None, "sha256": None, "md5": None}


def test_discord_media_outside_the_export_folder_is_named_only(ws, tmp_path: Path) -> None:
    # --media-dir pointing outside the output folder: the exporter writes absolute paths.
    blob(tmp_path / "media" / "scan-1A2B3.png", 900, 41)
    inside = blob(tmp_path / "discord" / "Export_Files" / "ok-2B3C4.txt", 80, 42)
    path = dce_export(tmp_path / "discord", [
        [{"id": "1", "url": str(tmp_path / "media" / "scan-1A2B3.png"), "fileName": "scan.png",
          "fileSizeBytes": 900}],
        [{"id": "2", "url": "../media/scan-1A2B3.png", "fileName": "scan again.png"}],
        [{"id": "3", "url": "Export_Files/ok-2B3C4.txt", "fileName": "ok.txt"}],
    ])
    result, evs = import_events(ws, path)
    atts = attachments_by_name(evs)
    assert atts["scan.png"].get("sha256") is None and atts["scan.png"]["size"] == 900
    assert "sha256" not in atts["scan again.png"] and "size" not in atts["scan again.png"]
    assert hashed(atts["ok.txt"]) == digests(inside)
    assert [w.split(":", 1)[0] for w in result.warnings] == ["message 1000", "message 1001"]
    assert all("outside the export folder" in w for w in result.warnings)


def test_discord_html_media_export_reads_url_encoded_links(ws, tmp_path: Path) -> None:
    export = tmp_path / "discord html"
    photo = blob(export / "general.html_Files" / "my photo-1A2B3.png", 120_000, 51)
    doc = blob(export / "general.html_Files" / "plan #2-9F8E7.pdf", 3_000, 52)
    m1, m2, m3 = sf(at(1, 10, 0)), sf(at(1, 10, 1)), sf(at(1, 10, 2))
    image = ('<div class="chatlog__attachment "><a href="general.html_Files/my%20photo-1A2B3.png">'
             '<img class="chatlog__attachment-media" src="general.html_Files/my%20photo-1A2B3.png"'
             ' alt="Image attachment" title="Image: my photo.png (117.19 KB)" loading="lazy">'
             '</a></div>')
    generic = ('<div class="chatlog__attachment "><div class="chatlog__attachment-generic">'
               '<div class="chatlog__attachment-generic-name"><a href="general.html_Files/'
               'plan%20%232-9F8E7.pdf">plan #2.pdf</a></div><div class="chatlog__attachment-'
               'generic-size">2.93 KB</div></div></div>')
    outside = ('<div class="chatlog__attachment "><div class="chatlog__attachment-generic">'
               '<div class="chatlog__attachment-generic-name"><a href="file:///'
               f'{(tmp_path / "elsewhere.txt").as_posix().lstrip("/")}">elsewhere.txt</a></div>'
               '</div></div>')
    blob(tmp_path / "elsewhere.txt", 10, 53)
    page = (V22_HEAD + '<div class="chatlog__message-group">\n'
            + v23_message(m1, first=v23_header(ALICE, "alice_w", "Alice", m1, "01-Mar-24 10:00"),
                          body=content("the photo") + image)
            + v23_message(m2, body=content("the plan") + generic)
            + v23_message(m3, body=content("from elsewhere") + outside)
            + "</div>\n" + V22_TAIL.format(n=3))
    path = export / "Test Server - Text Channels - general [1100000000000000001].html"
    path.write_text(page, encoding="utf-8")
    result, evs = import_events(ws, path)
    assert result.format == "discord_json"
    atts = attachments_by_name(evs)
    assert hashed(atts["my photo.png"]) == digests(photo)
    assert hashed(atts["plan #2.pdf"]) == digests(doc)
    assert atts["elsewhere.txt"].get("sha256") is None
    assert [w.split(":", 1)[0] for w in result.warnings] == [f"message {m3}"]
