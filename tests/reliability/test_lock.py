"""Locking: auto-lock at the configured idle time, back-off on wrong passphrases, and a
lock that lands in the middle of an import.

The core has no back-off of its own (a wrong passphrase costs one SQLCipher key
derivation, ~0.3 s of PBKDF2-SHA512 × 256,000); the growing wait lives in the UI
(``ui.passphrase.Backoff`` driven by ``ui.unlock.UnlockDialog``), so it is tested through
the dialog with pytest-qt and a controllable clock. Auto-lock is ``ui.autolock.IdleWatcher``
(limit from ``Settings.autolock_minutes``, never over 30).
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from tests.reliability.support import PASSPHRASE_A, count, seed, store_problems, write_bank_csv
from workstation.errors import DatabaseLocked, UsageError, WorkstationError, WrongPassphrase
from workstation.settings import MAX_AUTOLOCK_MINUTES, Settings


class FakeClock:
    def __init__(self, t: float = 10_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def isolated_qsettings(tmp_path: Path, qapp):  # noqa: ANN001
    from PySide6.QtCore import QSettings

    folder = tmp_path / "qsettings"
    folder.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    return folder


def test_autolock_limit_is_never_above_30_minutes() -> None:
    for minutes in (0, 31, 45, 60 * 24):
        with pytest.raises(UsageError):
            Settings(autolock_minutes=minutes).validated()
    assert Settings.from_json('{"autolock_minutes": 600}').autolock_minutes <= MAX_AUTOLOCK_MINUTES, \
        "a hand-edited setting must not lift the limit"


def test_idle_watcher_locks_exactly_at_the_configured_time(qapp, figures) -> None:  # noqa: ANN001
    from PySide6.QtCore import QEvent, QObject, Qt
    from PySide6.QtGui import QKeyEvent

    from ui.autolock import IdleWatcher

    trials = count("idle_trials", 200, 5000)
    used = seed(2001)
    rng = random.Random(used)
    target = QObject()
    key = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Shift, Qt.KeyboardModifier.NoModifier)
    wrong: list[str] = []
    for trial in range(trials):
        clock = FakeClock()
        configured = rng.randint(1, 60)
        limit = min(configured, MAX_AUTOLOCK_MINUTES) * 60
        watcher = IdleWatcher(configured, now=clock)
        watcher.start()
        last_input = clock.t
        fired_at = None
        for _ in range(rng.randint(1, 30)):
            step = rng.randrange(4)
            if step == 0:
                clock.t += rng.uniform(0, 120)
            elif step == 1:
                clock.t += rng.uniform(0, limit * 1.2)
            else:  # right at the limit, or a millisecond before it
                clock.t = max(clock.t, last_input + limit - (0.001 if step == 2 else 0.0))
            if rng.random() < 0.3 and fired_at is None:
                watcher.eventFilter(target, key)  # the officer touched the keyboard
                last_input = clock.t
            fired = watcher.check()
            due = clock.t - last_input >= limit
            if fired and fired_at is None:
                fired_at = clock.t
                if not due:
                    wrong.append(f"trial {trial}: locked after {clock.t - last_input:.0f} s, limit {limit} s")
            elif fired:
                wrong.append(f"trial {trial}: locked twice without being re-armed")
            elif due and fired_at is None:
                wrong.append(f"trial {trial}: idle {clock.t - last_input:.0f} s ≥ {limit} s but not locked")
        watcher.stop()
    figures.record("lock", "auto-lock fires exactly at min(configured, 30) min of inactivity, once",
                   trials, len(wrong), {"seed": used})
    assert not wrong, (f"seed {used}", wrong[:5])


def test_failed_unlocks_back_off_with_a_growing_delay(qtbot, qapp, db_path: Path, isolated_qsettings,  # noqa: ANN001
                                                      monkeypatch: pytest.MonkeyPatch, figures) -> None:  # noqa: ANN001
    import ui.unlock
    from ui.passphrase import BACKOFF_CAP_S
    from ui.tasks import TaskRunner

    real_open = ui.unlock.open_database
    tried: list[str] = []

    def counting_open(path: str, passphrase: str):  # noqa: ANN202
        tried.append(passphrase)
        return real_open(path, passphrase)

    monkeypatch.setattr(ui.unlock, "open_database", counting_open)
    runner = TaskRunner()
    clock = FakeClock()
    dlg = ui.unlock.UnlockDialog(runner, None, initial_path=str(db_path), now=clock)
    qtbot.addWidget(dlg)
    dlg.show()
    attempts = count("backoff_attempts", 12, 16)
    waits: list[float] = []
    blocked = 0
    try:
        for i in range(attempts):
            dlg.passphrase_edit.setText(f"guess number {i}")
            before = len(tried)
            dlg.try_unlock()
            qtbot.waitUntil(lambda: not dlg._busy, timeout=10_000)
            assert len(tried) == before + 1, "an allowed attempt reaches the database"
            wait = dlg.backoff.remaining()
            waits.append(wait)
            assert (wait == 0) == dlg.unlock_button.isEnabled()
            if wait == 0:
                continue
            # Hammering Enter (or the button) while the wait runs reaches nothing.
            for _ in range(25):
                dlg.try_unlock()
                blocked += 1
            assert len(tried) == before + 1 and not dlg._busy
            clock.t += wait / 2
            dlg.try_unlock()
            blocked += 1
            assert len(tried) == before + 1, "half the wait is not enough"
            clock.t += wait / 2 + 0.001
            dlg._tick()
        assert waits[0] == 0, "one typo costs nothing"
        assert all(b >= a for a, b in zip(waits, waits[1:])), f"the wait never shrinks: {waits}"
        growing = [w for w in waits if 0 < w < BACKOFF_CAP_S]
        assert all(b > a for a, b in zip(growing, growing[1:])), f"the wait grows: {waits}"
        assert max(waits) <= BACKOFF_CAP_S
        # The right passphrase still works after the wait, and resets the count.
        unlocked = []
        dlg.unlocked.connect(lambda ws, _p: unlocked.append(ws))
        dlg.passphrase_edit.setText(PASSPHRASE_A)
        dlg.try_unlock()
        qtbot.waitUntil(lambda: bool(unlocked), timeout=10_000)
        assert dlg.backoff.failures == 0
        unlocked[0].db.lock()
    finally:
        runner.shutdown(10_000)
    cap_rate = 3600 / BACKOFF_CAP_S
    t0 = time.perf_counter()
    with pytest.raises(WrongPassphrase):
        from workstation.store.database import Database

        Database.open(db_path, "not the passphrase")
    kdf_s = time.perf_counter() - t0
    figures.record("lock", "wrong passphrases through the unlock dialog: extra attempts during the wait reach "
                   "the database", blocked, 0,
                   {"waits_s": waits, "ui_guesses_per_hour_at_cap": cap_rate,
                    "offline_seconds_per_guess_one_core": round(kdf_s, 3)})


def test_lock_in_the_middle_of_an_import_leaves_a_sound_database(db_path: Path, tmp_path: Path,
                                                                  figures) -> None:  # noqa: ANN001
    from workstation.domain.service import Workstation
    from workstation.ingest.pipeline import run_import
    from workstation.store.database import Database

    trials = count("lock_during_import", 2, 25)
    used = seed(2002)
    rng = random.Random(used)
    outcomes: dict[str, int] = {}
    problems: list[str] = []
    for trial in range(trials):
        db = Database.open(db_path, PASSPHRASE_A)
        ws = Workstation(db)
        case_id = ws.create_case(f"LOCK-{trial}", "Lock during import").ids[0]
        csv_path = write_bank_csv(tmp_path / f"lock-{trial}.csv", 3000, rng.randrange(1 << 30))
        result: list[object] = []

        def work() -> None:
            try:
                result.append(run_import(ws, case_id, csv_path))
            except WorkstationError as exc:
                result.append(exc)
            except BaseException as exc:  # noqa: BLE001 - an untyped error is the finding
                result.append(exc)

        t = threading.Thread(target=work)
        t.start()
        time.sleep(rng.uniform(0.0, 0.8))
        db.lock()
        t.join(60)
        assert not t.is_alive()
        got = result[0] if result else None
        kind = type(got).__name__
        outcomes[kind] = outcomes.get(kind, 0) + 1
        if not isinstance(got, (WorkstationError,)) and type(got).__name__ != "ImportResult":
            problems.append(f"trial {trial}: untyped {kind}: {got}")
        with pytest.raises(DatabaseLocked):
            ws.list_cases()
        db2 = Database.open(db_path, PASSPHRASE_A)
        try:
            problems += [f"trial {trial}: {p}" for p in store_problems(db2).problems]
        finally:
            db2.lock()
    figures.record("lock", "lock() while an import runs → typed outcome, sound database, whole-or-absent import",
                   trials, len(problems), {**outcomes, "seed": used})
    assert not problems, (f"seed {used}", problems[:5])
