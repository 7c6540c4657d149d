"""Auto-lock after inactivity, driven by a fake idle clock, through the whole app controller."""

from __future__ import annotations

import argparse
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import PASSPHRASE, seed_case
from ui.app import AppController
from ui.autolock import IdleWatcher
from workstation.domain.service import Workstation
from workstation.store.database import Database


class FakeClock:
    def __init__(self) -> None:
        self.t = 50_000.0

    def __call__(self) -> float:
        return self.t


def test_idle_watcher_fires_once_after_the_limit(qtbot) -> None:  # noqa: ANN001
    clock = FakeClock()
    watcher = IdleWatcher(15, now=clock)
    watcher.start()
    fired = []
    watcher.idleTimedOut.connect(lambda: fired.append(clock.t))
    clock.t += 14 * 60 + 59
    assert not watcher.check() and not fired
    clock.t += 1
    assert watcher.check() and len(fired) == 1
    clock.t += 600
    assert not watcher.check() and len(fired) == 1, "fires once until re-armed"
    watcher.reset()
    watcher.set_minutes(90)
    assert watcher.minutes == 30, "never longer than 30 minutes"
    watcher.stop()


def test_input_resets_the_idle_time(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QLineEdit

    clock = FakeClock()
    watcher = IdleWatcher(1, now=clock)
    watcher.start()
    edit = QLineEdit()
    qtbot.addWidget(edit)
    edit.show()
    clock.t += 59
    qtbot.keyClick(edit, Qt.Key.Key_A)
    assert watcher.idle_seconds() == 0
    clock.t += 59
    assert not watcher.check()
    clock.t += 1
    assert watcher.check()
    watcher.stop()


@pytest.fixture
def controller(qapp, db_path, qtbot):  # noqa: ANN001
    seeded = Workstation(Database.open(db_path, PASSPHRASE))
    ids = seed_case(seeded, events=5)
    seed_case(seeded, number="2024-ICE-0099", events=2)
    seeded.db.lock()
    clock = FakeClock()
    ctl = AppController(qapp, argparse.Namespace(db=str(db_path), passphrase_file=None, passphrase_stdin=False),
                        idle_now=clock)
    ctl.clock = clock
    ctl.ids = ids
    yield ctl
    if ctl.window is not None:
        if ctl.window.unlock_dialog is not None:
            ctl.window.unlock_dialog.close()
        ctl.window.close()
    if ctl.unlock_dialog is not None:
        ctl.unlock_dialog.close()
    ctl.runner.shutdown(5000)
    QApplication.processEvents()


def test_auto_lock_hides_data_and_unlock_restores_the_case(qtbot, controller):  # noqa: ANN001
    ctl = controller
    ctl.start()
    dlg = ctl.unlock_dialog
    assert dlg is not None and dlg.isVisible()
    dlg.passphrase_edit.setText(PASSPHRASE)
    with qtbot.waitSignal(ctl.windowShown, timeout=5000):
        dlg.unlock_button.click()
    window = ctl.window
    case_id = ctl.ids["case"]
    window.case_navigator.select_case_later(case_id)
    qtbot.waitUntil(lambda: window.case_navigator.model.rowCount() == 2, timeout=5000)
    window.case_navigator.select_case_later(case_id)
    qtbot.waitUntil(lambda: window.event_table.model.total() == 5, timeout=5000)
    assert ctl.idle.enabled and ctl.idle.minutes == 15

    ctl.clock.t += 10 * 60
    qtbot.keyClick(window.entity_table.filter_edit, Qt.Key.Key_Shift)  # officer still working
    ctl.clock.t += 14 * 60
    assert not ctl.idle.check(), "activity 14 minutes ago: not idle yet"
    ws = window.session.ws
    ctl.clock.t += 61
    assert ctl.idle.check()

    assert window.session.is_locked and ws.db.is_locked
    assert window.event_table.model.rowCount() == 0 and window.entity_table.model.rowCount() == 0
    assert window.case_navigator.model.rowCount() == 0
    assert not ctl.idle.enabled, "no idle checks while locked"
    unlock = window.unlock_dialog
    assert unlock is not None and unlock.isVisible()

    unlock.passphrase_edit.setText(PASSPHRASE)
    unlock.unlock_button.click()
    qtbot.waitUntil(lambda: not window.session.is_locked, timeout=5000)
    qtbot.waitUntil(lambda: window.hub.case_id == case_id and window.event_table.model.total() == 5,
                    timeout=5000)
    assert ctl.idle.enabled and ctl.idle.idle_seconds() == 0


def test_autolock_minutes_follow_settings(qtbot, controller):  # noqa: ANN001
    ctl = controller
    ctl.start(PASSPHRASE)  # scripted start: no typing
    qtbot.waitUntil(lambda: ctl.window is not None and not ctl.session.is_locked, timeout=5000)
    with qtbot.waitSignal(ctl.session.settingsChanged, timeout=5000):
        ctl.session.save_settings(replace(ctl.session.settings, autolock_minutes=2))
    assert ctl.idle.minutes == 2
    ctl.clock.t += 121
    assert ctl.idle.check() and ctl.session.is_locked
