"""WhatsApp iOS exports whose U+200E marks were stripped (copied through an editor, a
messaging app or a forensic tool's text export): notices written under a name are told from
messages by their exact wording (WhatsApp's own string tables) and the names they carry.

People, numbers and texts are synthetic; the line structure follows real iOS exports.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from workstation.ingest.chat.whatsapp import WhatsAppParser
from workstation.ingest.records import ImportOptions, ParsedEvent

P = WhatsAppParser()


def parse(path: Path) -> list[ParsedEvent]:
    return [r for r in P.parse(path, ImportOptions()) if isinstance(r, ParsedEvent)]


def sender(ev: ParsedEvent) -> str | None:
    return next((p.value for p in ev.parties if p.role == "sender"), None)


def write(tmp_path: Path, lines: list[str], name: str = "_chat.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_english_notices_without_marks_are_system_lines(tmp_path: Path) -> None:
    path = write(tmp_path, [
        "[16/2/2026, 12:29:03] Alice Example: Messages and calls are end-to-end encrypted. "
        "Only people in this chat can read, listen to, or share them.",
        "[16/2/2026, 12:30:00] Alice Example: Alice Example created group “Hiking 2026”",
        "[16/2/2026, 12:30:01] Alice Example: Alice Example added Bob Example and Carla Example",
        "[16/2/2026, 12:31:00] Bob Example: hello all",
        "[16/2/2026, 12:32:00] Carla Example: Carla Example changed the group description",
        "[16/2/2026, 12:33:00] Carla Example: hi Bob",
        "[16/2/2026, 12:34:00] Dan Example: Dan Example joined using this group's invite link",
        "[16/2/2026, 12:35:00] Bob Example: Your security code with Bob Example changed. "
        "Tap to learn more.",
        "[16/2/2026, 12:36:00] Bob Example: Bob Example turned on disappearing messages. All "
        "new messages will disappear from this chat 7 days after they’re sent.",
        "[16/2/2026, 12:37:00] Dan Example: Dan Example left",
    ])
    evs = parse(path)
    assert [e.kind for e in evs] == ["system", "system", "system", "message", "system",
                                     "message", "system", "system", "system", "system"]
    assert [(sender(e), e.body) for e in evs if e.kind == "message"] == [
        ("Bob Example", "hello all"), ("Carla Example", "hi Bob")]
    assert [e.properties.get("notice") for e in evs if e.kind == "system"] == [
        None, "created", "added", "description", "joined", "security_code",
        "disappearing_on", "left"]
    assert evs[9].title == "Dan Example left"
    assert evs[9].occurred_at == datetime(2026, 2, 16, 12, 37)


def test_notices_under_the_group_name_in_other_locales(tmp_path: Path) -> None:
    # iOS writes group notices under the group's name, which never writes a message.
    path = write(tmp_path, [
        "[03.05.24, 09:00:00] Wandergruppe: Anna Beispiel hat die Gruppe „Wandergruppe“ "
        "erstellt",
        "[03.05.24, 09:00:05] Wandergruppe: Anna Beispiel hat Ben Beispiel hinzugefügt",
        "[03.05.24, 09:01:00] Anna Beispiel: Hallo Ben",
        "[03.05.24, 09:02:00] Ben Beispiel: Hallo",
        "[03.05.24, 09:03:00] Wandergruppe: Ben Beispiel hat die Gruppe verlassen",
    ])
    evs = parse(path)
    assert [e.kind for e in evs] == ["system", "system", "message", "message", "system"]
    assert {sender(e) for e in evs if e.kind == "message"} == {"Anna Beispiel",
                                                               "Ben Beispiel"}
    assert evs[0].properties["conversation"] == "Wandergruppe"


@pytest.mark.parametrize("notice", [
    "Luis Ejemplo salió", "Luis Ejemplo se unió usando el enlace de invitación de este grupo",
    "Luis Ejemplo cambió el asunto de “Viaje” a “Viaje 2024”",
    "Luis Ejemplo a ajouté Marta Ejemplo", "Luis Ejemplo entrou usando o link de convite "
    "deste grupo", "Luis Ejemplo mudou o ícone deste grupo", "Luis Ejemplo ha abbandonato",
    "Luis Ejemplo heeft de groep verlaten", "Luis Ejemplo покинул(-а) группу",
    "Luis Ejemplo is deelnemer geworden via de uitnodigingslink van deze groep",
])
def test_notice_under_its_own_persons_name_in_other_locales(tmp_path: Path,
                                                            notice: str) -> None:
    path = write(tmp_path, [
        "[3/5/24, 09:00:00] Marta Ejemplo: hola",
        f"[3/5/24, 09:01:00] Luis Ejemplo: {notice}",
        "[3/5/24, 09:02:00] Luis Ejemplo: hola Marta",
    ])
    evs = parse(path)
    assert [(e.kind, sender(e)) for e in evs] == [
        ("message", "Marta Ejemplo"), ("system", None), ("message", "Luis Ejemplo")]
    assert evs[1].body == notice


def test_only_the_exact_notice_is_one_not_a_message_sounding_like_it(tmp_path: Path) -> None:
    path = write(tmp_path, [
        "[16/2/2026, 12:30:00] Alice Example: where is Bob?",
        "[16/2/2026, 12:31:00] Carla Example: Bob Example left",  # about someone else
        "[16/2/2026, 12:32:00] Bob Example: Bob Example added",  # not a full sentence
        "[16/2/2026, 12:33:00] Alice Example: Alice Example left",  # continued below
        "an hour ago, sorry",
        "[16/2/2026, 12:34:00] Bob Example: I left",
        "[16/2/2026, 12:35:00] Carla Example: see you",
        "[16/2/2026, 12:36:00] Carla Example: Carla Example left",  # the real notice
    ])
    evs = parse(path)
    assert [(e.kind, sender(e)) for e in evs] == [
        ("message", "Alice Example"), ("message", "Carla Example"),
        ("message", "Bob Example"), ("message", "Alice Example"), ("message", "Bob Example"),
        ("message", "Carla Example"), ("system", None)]
    assert evs[1].body == "Bob Example left"
    assert evs[3].body == "Alice Example left\nan hour ago, sorry"
