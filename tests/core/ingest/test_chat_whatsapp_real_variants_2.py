"""WhatsApp export variants from a second round of real exports (iOS 2023-2026, nl/de/es/en).

Every input is written here with synthetic people, numbers and text; only the structure
(where the caption stands relative to the placeholder, the invisible marks, the notice
wordings) follows the real exports.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from workstation.ingest.chat.whatsapp import WhatsAppParser
from workstation.ingest.records import ImportOptions, ParsedEvent

P = WhatsAppParser()
LRM = "\u200e"


def parse(path: Path) -> list[ParsedEvent]:
    return [r for r in P.parse(path, ImportOptions()) if isinstance(r, ParsedEvent)]


def sender(ev: ParsedEvent) -> str:
    return next(p.value for p in ev.parties if p.role == "sender")


def write(tmp_path: Path, lines: list[str], name: str = "_chat.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------- caption first, placeholder last (iOS 2025+)

def test_caption_before_attached_tag_keeps_caption_and_file(tmp_path: Path) -> None:
    (tmp_path / "00000034-PHOTO-2026-02-16-12-33-47.jpg").write_bytes(b"\xff\xd8fake")
    path = write(tmp_path, [
        f"[16/2/2026, 12:29:03 pm] ~ Alice Example: {LRM}Messages and calls are end-to-end "
        "encrypted. Only people in this chat can read, listen to, or share them.",
        f"{LRM}[16/2/2026, 12:33:47 pm] ~ Alice Example: This is our dog. "
        f"{LRM}<attached: 00000034-PHOTO-2026-02-16-12-33-47.jpg>",
        f"{LRM}[16/2/2026, 12:46:28 pm] Bob Example: This is the garden ",
        "and the shed",
        f"Nice to see you all {LRM}<attached: 00000050-PHOTO-2026-02-16-12-46-28.jpg>",
        f"{LRM}[16/2/2026, 12:47:00 pm] Bob Example: {LRM}<attached: "
        "00000051-VIDEO-2026-02-16-12-47-00.mp4>",
    ])
    evs = [e for e in parse(path) if e.kind == "message"]
    assert [(sender(e), e.occurred_at) for e in evs] == [
        ("~ Alice Example", datetime(2026, 2, 16, 12, 33, 47)),
        ("Bob Example", datetime(2026, 2, 16, 12, 46, 28)),
        ("Bob Example", datetime(2026, 2, 16, 12, 47))]
    assert evs[0].body == "This is our dog."
    assert [a.name for a in evs[0].attachments] == ["00000034-PHOTO-2026-02-16-12-33-47.jpg"]
    assert evs[0].attachments[0].size == 6 and evs[0].attachments[0].sha256
    assert evs[1].body == "This is the garden \nand the shed\nNice to see you all"
    assert [a.name for a in evs[1].attachments] == ["00000050-PHOTO-2026-02-16-12-46-28.jpg"]
    assert evs[2].body is None and len(evs[2].attachments) == 1


def test_edited_caption_before_attached_tag(tmp_path: Path) -> None:
    path = write(tmp_path, [
        f"[03/11/2023, 09:39:23] Alice Example: Look at this {LRM}<attached: "
        f"00000007-PHOTO-2023-11-03-09-39-23.jpg> {LRM}<This message was edited>",
        "[03/11/2023, 09:41:49] Bob Example: nice",
    ])
    ev = parse(path)[0]
    assert ev.body == "Look at this"
    assert [a.name for a in ev.attachments] == ["00000007-PHOTO-2023-11-03-09-39-23.jpg"]
    assert ev.properties["edited"] is True


def test_caption_before_typed_placeholder_in_another_locale(tmp_path: Path) -> None:
    path = write(tmp_path, [
        f"[18-09-2025, 15:26:15] Familiegroep: {LRM}Berichten en oproepen worden end-to-end "
        "versleuteld. Alleen mensen in deze chat kunnen ze lezen, beluisteren of delen.",
        f"{LRM}[22-09-2025, 21:56:48] ~ Anna Voorbeeld: Deze is wel leuk. "
        f"{LRM}afbeelding weggelaten",
        f"{LRM}[22-09-2025, 22:02:10] ~ Anna Voorbeeld: {LRM}afbeelding weggelaten",
        "[22-09-2025, 22:03:00] Piet Voorbeeld: the last part read: image omitted",
    ])
    evs = [e for e in parse(path) if e.kind == "message"]
    assert [e.body for e in evs] == ["Deze is wel leuk.", None,
                                     "the last part read: image omitted"]
    assert [len(e.attachments) for e in evs] == [1, 1, 0]
    assert evs[0].properties["media_omitted"] is True
    assert evs[0].properties["media_kind"] == "image"
    assert evs[0].occurred_at == datetime(2025, 9, 22, 21, 56, 48)
    # Text ending in the placeholder words without WhatsApp's mark stays text.
    assert "media_omitted" not in evs[2].properties


# ---------------------------------------------------------- deleted by a group admin

def test_message_deleted_by_an_admin_is_a_deleted_message_of_its_sender(
        tmp_path: Path) -> None:
    path = write(tmp_path, [
        f"[28/2/24, 9:59:02] Grupo Ejemplo: {LRM}Los mensajes y las llamadas están cifrados "
        "de extremo a extremo. Nadie fuera de este chat, ni siquiera WhatsApp, puede leerlos "
        "ni escucharlos.",
        "[28/2/24, 10:10:41] Marta Ejemplo: hola",
        f"[6/3/24, 22:05:06] Luis Ejemplo: {LRM}Un admin., Marta Ejemplo, eliminó este "
        "mensaje.",
        "[6/3/24, 22:06:00] Luis Ejemplo: This message was deleted by admin Marta Ejemplo",
        f"[6/3/24, 22:07:16] Luis Ejemplo: {LRM}Se eliminó este mensaje.",
    ])
    evs = [e for e in parse(path) if e.kind == "message"]
    assert [sender(e) for e in evs] == ["Marta Ejemplo", "Luis Ejemplo", "Luis Ejemplo",
                                        "Luis Ejemplo"]
    assert [e.properties.get("deleted") for e in evs] == [None, True, True, True]
    assert [e.properties.get("deleted_by_admin") for e in evs] == [
        None, "Marta Ejemplo", "Marta Ejemplo", None]
    assert [e.body for e in evs[1:]] == [None, None, None]
    assert evs[1].occurred_at == datetime(2024, 3, 6, 22, 5, 6)
