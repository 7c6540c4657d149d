"""Fixtures of the report/export tests: a demo database built once per session and copied
per test (the demo has people, identifiers, a shared test card, media with thumbnails)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))
FULL_CARD = "4111111111111111"  # a payment-network test number (Luhn-valid, never issued)


@pytest.fixture(scope="session")
def demo_template(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic demo (16 cases, ~400 events, media) in an encrypted file."""
    from workstation.demo import build_demo
    from workstation.domain.service import Workstation
    from workstation.store.database import Database

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy2(template_db, path)
    db = Database.open(path, PASSPHRASE)
    build_demo(Workstation(db), events=400, cases=16)
    db.checkpoint()
    db.lock()
    return path


@pytest.fixture
def demo_ws(demo_template: Path, tmp_path: Path) -> Iterator[object]:
    from workstation.domain.service import Workstation
    from workstation.store.database import Database

    target = tmp_path / "demo.db"
    shutil.copy2(demo_template, target)
    ws = Workstation(Database.open(target, PASSPHRASE))
    yield ws
    ws.db.lock()


@pytest.fixture
def card_case(demo_ws):  # noqa: ANN001, ANN201
    """The demo case holding the planted shared card (…4444), plus a chat message and a
    note in which someone typed a full test card number."""
    ws = demo_ws
    case = ws.find_case("DEMO-2024-003")
    person = next(e for e in ws.list_entities(case.id, kind="person"))
    ws.add_event(case.id, "message", T0, title="card sent in chat",
                 body=f"use my card {FULL_CARD[:4]} {FULL_CARD[4:8]} {FULL_CARD[8:12]} {FULL_CARD[12:]} tonight",
                 parties=[(person.id, "sender")])
    ws.add_note(case.id, f"Suspect read out card {FULL_CARD} on the call.")
    return case
