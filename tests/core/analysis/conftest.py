"""Shared test data for the analysis tests: small cases built through the service API with
planted overlaps (synthetic people and numbers), plus media rows whose hashes come from
the real reference images of the external corpus (``shared/data/pdq``)."""

from __future__ import annotations

import csv
import hashlib
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workstation.domain.service import Workstation
from workstation.store import schema
from workstation.store.database import Database

from tests.conftest import PASSPHRASE


def new_workstation(folder: Path, name: str = "cases.db", template: Path | None = None) -> Workstation:
    """A Workstation on a new database: a copy of the session template when given."""
    if template is not None:
        shutil.copy2(template, folder / name)
        return Workstation(Database.open(folder / name, PASSPHRASE))
    return Workstation(Database.create(folder / name, PASSPHRASE))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add_media(ws: Workstation, case_id: int, *, path: str, data: bytes | None = None, sha256: str | None = None,
              md5: str | None = None, pdq: str | None = None, quality: int | None = None) -> int:
    """Insert a media row directly (the media service is another module's job)."""
    if data is not None:
        sha256 = hashlib.sha256(data).hexdigest()
        md5 = hashlib.md5(data).hexdigest()
        sha1 = hashlib.sha1(data).hexdigest()
        size = len(data)
    else:
        seed = (sha256 or path).encode()
        sha256 = sha256 or hashlib.sha256(seed).hexdigest()
        md5 = md5 or hashlib.md5(seed).hexdigest()
        sha1 = hashlib.sha1(seed).hexdigest()
        size = 1000
    with ws.db.write() as conn:
        return int(conn.execute(schema.media.insert().values(
            case_id=case_id, path=path, size=size, mime="image/jpeg", md5=md5, sha1=sha1, sha256=sha256,
            pdq=pdq, pdq_quality=quality, created_at="2024-03-01T00:00:00.000000Z",
            uid=str(uuid.uuid4()), origin=ws.db.device_id, hlc=ws.clock.now())).inserted_primary_key[0])


def pdq_reference(shared: Path) -> dict[str, str]:
    """path -> PDQ hex from the corpus' expected values (Python reference and WASM rows)."""
    out: dict[str, str] = {}
    with open(shared / "pdq" / "expected_pdq.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["implementation"].startswith(("python reference", "wasm")):
                out.setdefault(row["path"], row["expected_pdq_hex"])
    return out


@dataclass
class World:
    ws: Workstation
    cases: dict[str, int] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


def _entity(world: World, name: str, case: str, kind: str, value: str, **kw: object) -> int:
    ch = world.ws.add_entity(world.cases[case], kind, value, **kw)  # type: ignore[arg-type]
    world.ids[name] = ch.id
    return ch.id


def _login(world: World, case: str, ip: str, when: str) -> None:
    world.ws.add_event(world.cases[case], "login", at(when), title=f"login from {when}",
                       parties=[(world.ids[ip], "ip")])


def build_world(ws: Workstation, shared: Path) -> World:
    w = World(ws)
    for number, title in (("C-2024-001", "Operation Bridge"), ("C-2024-002", "Card fraud ring"),
                          ("C-2024-003", "Online grooming"), ("C-2024-004", "Unrelated burglary"),
                          ("C-2024-005", "Other John Smith"), ("C-2024-006", "Name only")):
        w.cases[number[-3:]] = ws.create_case(number, title, summary=f"synthetic case {title}").id
    pdq = pdq_reference(shared)

    # --- case 001: the case we ask about
    _entity(w, "a_person", "001", "person", "John Smith", properties={"dob": "1980-01-02"})
    _entity(w, "a_phone", "001", "phone", "+1 202-555-0143")
    _entity(w, "a_card", "001", "card", "4111 1111 1111 1111")
    _entity(w, "a_acct", "001", "account", "jimmy_t", platform="telegram")
    _entity(w, "a_email", "001", "email", "jo@example.org")
    _entity(w, "a_ip_near", "001", "ip", "198.51.100.7")
    _entity(w, "a_ip_far", "001", "ip", "203.0.113.9")
    _entity(w, "a_ip_local", "001", "ip", "192.168.1.20")
    for ip in ("a_ip_near", "a_ip_far", "a_ip_local"):
        _login(w, "001", ip, "2024-03-01T10:00:00")
    ws.add_link(w.ids["a_person"], w.ids["a_phone"], "uses")
    ws.add_link(w.ids["a_person"], w.ids["a_card"], "holder_of")
    ws.add_link(w.ids["a_person"], w.ids["a_acct"], "uses")
    w.ids["a_msg"] = ws.add_event(
        w.cases["001"], "message", at("2024-03-02T09:15:00"), title="telegram message",
        body="Meet at the Café near the bridge tomorrow, bring the cash",
        parties=[(w.ids["a_acct"], "sender")]).id
    w.ids["a_msg2"] = ws.add_event(
        w.cases["001"], "message", at("2024-03-02T09:20:00"), title="telegram message",
        body="if late call me on +1 (202) 555-0143", parties=[(w.ids["a_acct"], "sender")]).id
    w.ids["a_txn"] = ws.add_event(w.cases["001"], "transaction", at("2024-03-03T12:00:00"),
                                  title="card payment", body="Bridge Hardware store cash back",
                                  parties=[(w.ids["a_card"], "payer")]).id
    w.ids["a_note"] = ws.add_note(w.cases["001"], "Suspect probably uses a burner phone").id
    bridge = (shared / "pdq" / "reg-test-input" / "dih" / "bridge-1-original.jpg").read_bytes()
    w.ids["a_media"] = add_media(ws, w.cases["001"], path="bridge.jpg", data=bridge,
                                 pdq=pdq["reg-test-input/dih/bridge-1-original.jpg"], quality=100)

    # --- case 002: same phone and card written differently, near IP use, similar person, edited image
    _entity(w, "b_person", "002", "person", "Smith, Jon", properties={"dob": "1980-01-02"})
    _entity(w, "b_phone", "002", "phone", "(202) 555-0143")
    _entity(w, "b_card", "002", "card", "4111-1111-1111-1111")
    _entity(w, "b_ip_near", "002", "ip", "198.51.100.7")
    _entity(w, "b_ip_far", "002", "ip", "203.0.113.9")
    _entity(w, "b_ip_local", "002", "ip", "192.168.1.20")
    _login(w, "002", "b_ip_near", "2024-03-01T20:00:00")   # 10 h after case 001's use
    _login(w, "002", "b_ip_far", "2024-03-05T10:00:00")    # 4 days later: outside the window
    _login(w, "002", "b_ip_local", "2024-03-01T10:30:00")  # same time, but a home-network address
    w.ids["b_media"] = add_media(
        ws, w.cases["002"], path="edited.jpg",
        data=(shared / "pdq" / "bridge-mods" / "sharpen-a-lot.jpg").read_bytes(),
        pdq=pdq["bridge-mods/sharpen-a-lot.jpg"], quality=90)

    # --- case 003: same account and e-mail in other spellings, byte-identical image
    _entity(w, "c_acct", "003", "account", "@Jimmy_T", platform="Telegram")
    _entity(w, "c_email", "003", "email", "JO@EXAMPLE.ORG")
    w.ids["c_media"] = add_media(ws, w.cases["003"], path="copy.jpg",
                                 data=(shared / "pdq" / "bridge-mods" / "aaa-orig.jpg").read_bytes(),
                                 pdq=pdq["bridge-mods/aaa-orig.jpg"], quality=100)
    w.ids["c_msg"] = ws.add_event(w.cases["003"], "message", at("2024-02-10T18:00:00"), title="chat",
                                  body="the bridge photos are ready", parties=[(w.ids["c_acct"], "sender")]).id

    # --- case 004: shares nothing (a low-quality copy of the bridge hash must not count)
    _entity(w, "d_person", "004", "person", "Maria Garcia", properties={"dob": "1990-05-05"})
    _entity(w, "d_phone", "004", "phone", "+44 7700 900123")
    _entity(w, "d_phone_dup", "004", "phone", "+44 (0)7700-900-123", reuse=False)  # an import that did not reuse
    _entity(w, "d_card", "004", "card", "5555 5555 5555 4444")
    _entity(w, "d_acct", "004", "account", "maria_g", platform="telegram")
    _entity(w, "d_ip", "004", "ip", "198.51.100.99")
    _login(w, "004", "d_ip", "2024-03-01T10:00:00")
    add_media(ws, w.cases["004"], path="pen.png", sha256="ab" * 32, md5="cd" * 16,
              pdq=pdq["misc-images/c.png"], quality=100)
    add_media(ws, w.cases["004"], path="flat.jpg", sha256="ef" * 32, md5="01" * 16,
              pdq=pdq["reg-test-input/dih/bridge-1-original.jpg"], quality=10)

    # --- case 005: same name, different date of birth
    _entity(w, "e_person", "005", "person", "John Smith", properties={"dob": "1975-05-05"})
    # --- case 006: same name, no date of birth
    _entity(w, "f_person", "006", "person", "John Smith")
    return w


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, template_db: Path) -> Iterator[World]:
    ws = new_workstation(tmp_path_factory.mktemp("world"), template=template_db)
    try:
        yield build_world(ws, shared_data)
    finally:
        ws.db.lock()


@pytest.fixture()
def fresh_ws(ws: Workstation) -> Workstation:
    """An empty case database (a copy of the session template)."""
    return ws
