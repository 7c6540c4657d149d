"""Fixtures of the desktop-app tests.

* QSettings go to a per-test folder (never the developer's real settings).
* One encrypted template database is created per session (key derivation is slow) and
  copied for each test; tests then open their copy.
* Errors that would pop up a dialog are collected in ``ui_errors`` instead; a test fails
  if any error reached the officer that it did not expect.
* At teardown every worker is cancelled and waited for, and a still-visible top-level
  window fails the test (leaked windows).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

import ui.errors
from workstation.domain.service import Workstation
from workstation.store.database import Database

if TYPE_CHECKING:
    from ui.main_window import WorkspaceWidget
    from ui.session import Session

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated encrypted database (created once)."""
    path = tmp_path_factory.mktemp("template") / "template.cwdb"
    db = Database.create(path, PASSPHRASE)
    db.checkpoint()
    db.lock()
    return path


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    """A private copy of the template database."""
    target = tmp_path / "case.cwdb"
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(template_db) + suffix)
        if src.exists():
            shutil.copy2(src, Path(str(target) + suffix))
    return target


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path: Path, qapp: QApplication) -> Iterator[Path]:
    folder = tmp_path / "qsettings"
    folder.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder


class ErrorLog(list):
    """Errors that reached ``show_error`` during the test."""

    def expect(self, cls: type[BaseException]) -> BaseException:
        for i, exc in enumerate(self):
            if isinstance(exc, cls):
                return self.pop(i)
        raise AssertionError(f"expected a {cls.__name__} to be shown; got {list(self)!r}")


@pytest.fixture(autouse=True)
def ui_errors(qapp: QApplication) -> Iterator[ErrorLog]:
    log = ErrorLog()
    ui.errors.error_sink = lambda exc, _details: log.append(exc)
    yield log
    ui.errors.error_sink = None
    assert not log, f"unexpected errors shown to the officer: {list(log)!r}"


@pytest.fixture(autouse=True)
def no_leaked_windows(qapp: QApplication) -> Iterator[None]:
    """Fails a test that leaves a top-level window open (after qtbot closed its own)."""
    before = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
    yield
    QApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if w.isVisible() and id(w) not in before]
    for w in leaked:
        w.close()
    QApplication.processEvents()
    assert not leaked, f"windows left open: {[type(w).__name__ + ':' + w.windowTitle() for w in leaked]}"


@pytest.fixture
def ws(db_path: Path) -> Iterator[Workstation]:
    """An open Workstation over the test's database copy."""
    workstation = Workstation(Database.open(db_path, PASSPHRASE))
    yield workstation
    workstation.db.lock()


@pytest.fixture
def session(ws: Workstation, db_path: Path, qapp: QApplication) -> Iterator["Session"]:
    from ui.session import Session

    s = Session()
    s.attach(ws, db_path)
    yield s
    s.runner.shutdown(5000)
    s.close()
    QApplication.processEvents()


@pytest.fixture
def window(session: "Session", qtbot) -> Iterator["WorkspaceWidget"]:  # noqa: ANN001
    from ui.main_window import WorkspaceWidget

    w = WorkspaceWidget(session, restore_state=False)
    w.confirm = lambda *_a: True
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    yield w
    if w.unlock_dialog is not None:
        w.unlock_dialog.close()
    if w.active_dialog is not None:
        w.active_dialog.close()


T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))


def seed_case(ws: Workstation, number: str = "2024-ICE-0042", events: int = 30) -> dict[str, int]:
    """A small case: a person, a phone, an e-mail, a link, and events between them."""
    case = ws.create_case(number, "Operation Lantern", agency="Metro Police ICE Unit").id
    person = ws.add_entity(case, "person", "Alex Testperson").id
    phone = ws.add_entity(case, "phone", "+1 202-555-0142").id
    email = ws.add_entity(case, "email", "alex@example.org").id
    other = ws.add_entity(case, "phone", "+44 7700 900123").id
    ws.add_link(person, phone, "uses")
    for i in range(events):
        second = phone if i % 3 == 0 else email if i % 3 == 1 else other
        ws.add_event(case, "message", T0 + timedelta(minutes=7 * i), title=f"message {i}",
                     parties=[(second, "sender"), (person, "recipient")] if i % 3 else [(second, "sender")])
    return {"case": case, "person": person, "phone": phone, "email": email, "other": other}
