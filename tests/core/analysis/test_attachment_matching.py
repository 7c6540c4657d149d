"""Cross-case connections through files sent in chats: the same photo sent in two cases'
chats, or sent in one case's chat and seized on a device in another, ties the cases, with
the message, the file name and the exact SHA-256 match in the explanation.

Chat exports are synthetic Telegram Desktop folders (tests/core/ingest); photos are
generated JPEG bytes; names and ids are invented.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from workstation.analysis.matching import MatchReason, case_connections
from workstation.ingest.pipeline import run_import
from workstation.media import service as media
from workstation.store.database import Database
from workstation.store.migrate import current_revision, head_revision

from tests.conftest import PASSPHRASE
from tests.core.ingest.test_chat_attachment_hashes import tg_export, tg_message
from tests.core.media import gen

PHOTO = gen.jpeg_bytes(160, 120, seed=41)
OTHER_PHOTO = gen.jpeg_bytes(160, 120, seed=42)
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()


def chat_case(ws, tmp_path: Path, number: str, photos: dict[str, bytes]) -> tuple[int, dict[str, int]]:
    """A case holding one imported Telegram chat whose messages each send one photo
    (file name -> bytes); returns the case id and the event id of each photo's message."""
    case_id = ws.create_case(number, f"chat of {number}").id
    export = tmp_path / number / "ChatExport_2024-03-01"
    messages = []
    for i, (name, data) in enumerate(photos.items(), start=1):
        (export / "photos").mkdir(parents=True, exist_ok=True)
        (export / "photos" / name).write_bytes(data)
        messages.append(tg_message(i, photo=f"photos/{name}", width=160, height=120))
    result = run_import(ws, case_id, tg_export(export, messages))
    assert result.errors == ()
    events = {}
    for e in ws.list_events(case_id):
        for att in e.properties.get("attachments", []):
            events[att["name"]] = e.id
    return case_id, events


def attachment_reasons(ws, case_id: int, other_case: int) -> list[MatchReason]:
    for c in case_connections(ws, case_id):
        if c.other_case_id == other_case:
            return [r for r in c.reasons if r.kind == "media_attachment"]
    return []


def test_same_photo_sent_in_two_cases_chats_connects_them(ws, tmp_path: Path) -> None:
    a, a_events = chat_case(ws, tmp_path, "2024-CHAT-A", {"photo_1.jpg": PHOTO, "photo_2.jpg": OTHER_PHOTO})
    b, b_events = chat_case(ws, tmp_path, "2024-CHAT-B", {"IMG_0007.jpg": PHOTO})
    c, _ = chat_case(ws, tmp_path, "2024-CHAT-C", {"unrelated.jpg": gen.jpeg_bytes(160, 120, seed=43)})

    # (The synthetic chats share their participants too: only file evidence is looked at.)
    conns = case_connections(ws, a, kinds=("media_attachment",))
    assert [x.other_case_number for x in conns] == ["2024-CHAT-B"]  # C shares no file
    (reason,) = conns[0].reasons
    assert reason.kind == "media_attachment"
    assert reason.key_or_desc == f"sha256:{PHOTO_SHA}"
    assert (reason.this_table, reason.this_items) == ("event", (a_events["photo_1.jpg"],))
    assert (reason.other_table, reason.other_items) == ("event", (b_events["IMG_0007.jpg"],))
    assert reason.label == "photo_1.jpg"
    assert reason.weight > 0 and conns[0].score == reason.weight
    assert "'photo_1.jpg'" in reason.explanation and "'IMG_0007.jpg'" in reason.explanation
    assert "SHA-256 match" in reason.explanation and PHOTO_SHA[:16] in reason.explanation
    assert f"message {a_events['photo_1.jpg']} here" in reason.explanation
    assert f"message {b_events['IMG_0007.jpg']} there" in reason.explanation
    # Seen from the other case, the same tie the other way round.
    (back,) = attachment_reasons(ws, b, a)
    assert (back.this_items, back.other_items) == ((b_events["IMG_0007.jpg"],), (a_events["photo_1.jpg"],))
    assert case_connections(ws, c, kinds=("media_attachment",)) == []
    # The tie is a reason among the others of the full connection, adding to its score.
    full = {x.other_case_id: x for x in case_connections(ws, a)}
    assert reason in full[b].reasons and full[b].score > full[c].score


def test_photo_sent_in_a_chat_matches_a_file_seized_in_another_case(ws, tmp_path: Path) -> None:
    a, a_events = chat_case(ws, tmp_path, "2024-CHAT-A", {"photo_1.jpg": PHOTO})
    seized = ws.create_case("2024-PHONE-B", "Seized phone").id
    disk = tmp_path / "phone"
    (disk / "DCIM").mkdir(parents=True)
    (disk / "DCIM" / "IMG_2044.jpg").write_bytes(PHOTO)
    (disk / "DCIM" / "IMG_2045.jpg").write_bytes(OTHER_PHOTO + b"x")
    media.ingest_media(ws, seized, disk, workers=1)
    (item,) = [m for m in media.list_media(ws, seized) if m.sha256 == PHOTO_SHA]

    (reason,) = attachment_reasons(ws, a, seized)
    assert (reason.this_table, reason.this_items) == ("event", (a_events["photo_1.jpg"],))
    assert (reason.other_table, reason.other_items) == ("media", (item.id,))
    assert reason.explanation.startswith(
        f"'photo_1.jpg' sent with message {a_events['photo_1.jpg']} here is exactly the same file as "
        f"'IMG_2044.jpg' seized there (media {item.id}) (SHA-256 match, {PHOTO_SHA[:16]}…); 2 of 2 cases hold it")
    # And from the device's case: the seized file was sent in the other case's chat.
    (back,) = attachment_reasons(ws, seized, a)
    assert (back.this_table, back.this_items) == ("media", (item.id,))
    assert (back.other_table, back.other_items) == ("event", (a_events["photo_1.jpg"],))
    assert back.explanation.startswith(f"'IMG_2044.jpg' seized here (media {item.id}) is exactly the same file as "
                                       f"'photo_1.jpg' sent with message {a_events['photo_1.jpg']} there")
    assert back.weight == reason.weight > 0


def test_deleted_or_edited_messages_no_longer_tie_cases(ws, tmp_path: Path) -> None:
    a, a_events = chat_case(ws, tmp_path, "2024-CHAT-A", {"photo_1.jpg": PHOTO})
    b, b_events = chat_case(ws, tmp_path, "2024-CHAT-B", {"IMG_0007.jpg": PHOTO, "IMG_0008.jpg": OTHER_PHOTO})
    c, c_events = chat_case(ws, tmp_path, "2024-CHAT-C", {"copy.jpg": OTHER_PHOTO})
    assert attachment_reasons(ws, a, b)
    ws.delete_event(b_events["IMG_0007.jpg"])
    assert attachment_reasons(ws, a, b) == []
    assert case_connections(ws, a, kinds=("media_attachment",)) == []
    ws.restore("event", b_events["IMG_0007.jpg"])
    assert attachment_reasons(ws, a, b)
    # An edit that removes the attachment from the message ends the tie as well.
    assert attachment_reasons(ws, c, b)
    ev = ws.get_event(c_events["copy.jpg"])
    ws.update_event(ev.id, properties={k: v for k, v in ev.properties.items() if k != "attachments"})
    assert attachment_reasons(ws, c, b) == []


def test_upgrade_backfills_attachments_of_existing_messages(ws, db_path: Path, tmp_path: Path) -> None:
    a, a_events = chat_case(ws, tmp_path, "2024-CHAT-A", {"photo_1.jpg": PHOTO})
    b, b_events = chat_case(ws, tmp_path, "2024-CHAT-B", {"IMG_0007.jpg": PHOTO})
    # Take the file back to the revision before the attachment index: the events stay.
    with ws.db.write() as conn:
        for trigger in ("event_attachment_ai", "event_attachment_au", "event_attachment_ad"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS event_attachment")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0005_event_idx'")
    ws.db.lock()
    old = tmp_path / "old.db"
    shutil.copy2(db_path, old)
    db = Database.open(old, PASSPHRASE)
    try:
        assert current_revision(db) == head_revision()
        from workstation.domain.service import Workstation

        ws2 = Workstation(db)
        (reason,) = attachment_reasons(ws2, a, b)
        assert (reason.this_items, reason.other_items) == ((a_events["photo_1.jpg"],), (b_events["IMG_0007.jpg"],))
        assert reason.label == "photo_1.jpg"
        # The triggers came with it: a later deletion is seen.
        ws2.delete_event(b_events["IMG_0007.jpg"])
        assert attachment_reasons(ws2, a, b) == []
    finally:
        db.lock()
