"""The unlock dialog: backoff on wrong passphrases, error messages, create with strength meter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.conftest import PASSPHRASE
from ui.appstate import app_settings, recent_databases
from ui.passphrase import Backoff, backoff_delay, estimate_strength
from ui.tasks import TaskRunner
from ui.unlock import UnlockDialog


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def runner(qapp):  # noqa: ANN001
    r = TaskRunner()
    yield r
    r.shutdown(5000)


@pytest.fixture
def dialog(qtbot, runner, db_path):  # noqa: ANN001
    clock = FakeClock()
    dlg = UnlockDialog(runner, None, initial_path=str(db_path), now=clock)
    dlg.clock = clock
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def _attempt(qtbot, dlg, passphrase: str) -> None:  # noqa: ANN001
    dlg.passphrase_edit.setText(passphrase)
    dlg.unlock_button.click()
    qtbot.waitUntil(lambda: not dlg._busy, timeout=5000)


def test_backoff_sequence_grows() -> None:
    assert [backoff_delay(n) for n in range(1, 7)] == [0, 1, 2, 4, 8, 16]
    assert backoff_delay(40) == 300
    clock = FakeClock()
    b = Backoff(clock)
    assert b.record_failure() == 0 and b.remaining() == 0
    assert b.record_failure() == 1 and b.remaining() == 1
    clock.t += 0.5
    assert b.remaining() == pytest.approx(0.5)
    b.record_success()
    assert b.remaining() == 0 and b.failures == 0


def test_strength_meter_flags_weak_and_common() -> None:
    assert estimate_strength("password1").weak
    assert estimate_strength("Summer2024!").weak, "a common word with a suffix is still common"
    assert estimate_strength("P@ssw0rd").weak
    assert estimate_strength("qwertyuiop").weak
    assert estimate_strength("aaaaaaaaaaaaaaaa").weak
    assert estimate_strength("k7#Q").weak
    short = estimate_strength("Xk3$mz!q")
    assert short.score <= 2 and short.problems
    strong = estimate_strength("orange tractor whispers 47 lanterns")
    assert strong.score == 4 and not strong.weak


def test_wrong_passphrase_slows_down_with_countdown(qtbot, dialog, ui_errors):  # noqa: ANN001
    _attempt(qtbot, dialog, "wrong one")
    assert "Wrong passphrase" in dialog.status_label.text()
    assert dialog.unlock_button.isEnabled(), "the first wrong attempt costs no wait"
    waits = []
    for _ in range(3):
        _attempt(qtbot, dialog, "still wrong")
        assert not dialog.unlock_button.isEnabled()
        assert dialog.unlock_button.text().startswith("Wait ")
        waits.append(int(dialog.unlock_button.text().split()[1]))
        # pressing Enter while waiting does nothing
        dialog.try_unlock()
        assert not dialog._busy
        dialog.clock.t += waits[-1]
        dialog._tick()
        assert dialog.unlock_button.isEnabled()
    assert waits == [1, 2, 4]
    unlocked = []
    dialog.unlocked.connect(lambda ws, path: unlocked.append((ws, path)))
    _attempt(qtbot, dialog, PASSPHRASE)
    assert unlocked and unlocked[0][0].list_cases() == []
    assert dialog.backoff.failures == 0
    unlocked[0][0].db.lock()
    assert not ui_errors


def test_unlock_runs_off_the_ui_thread(qtbot, dialog):  # noqa: ANN001
    dialog.passphrase_edit.setText(PASSPHRASE)
    got = []
    dialog.unlocked.connect(lambda ws, p: got.append(ws))
    dialog.unlock_button.click()
    # click() returned before the key derivation finished: the dialog shows it is busy.
    assert dialog._busy and dialog.unlock_button.text() == "Unlocking…"
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    got[0].db.lock()


def test_clear_message_for_a_file_that_is_not_a_database(qtbot, dialog, tmp_path):  # noqa: ANN001
    plain = tmp_path / "plain.db"
    plain.write_bytes(b"SQLite format 3\x00" + bytes(4080))  # an unencrypted SQLite file
    dialog.path_combo.setCurrentText(str(plain))
    _attempt(qtbot, dialog, "anything")
    assert "not an encrypted case database" in dialog.status_label.text()
    assert dialog.backoff.failures == 0, "only wrong passphrases count towards the backoff"
    empty = tmp_path / "empty.cwdb"
    empty.write_bytes(b"")
    dialog.path_combo.setCurrentText(str(empty))
    _attempt(qtbot, dialog, "anything")
    assert "empty or truncated" in dialog.status_label.text()
    dialog.path_combo.setCurrentText(str(tmp_path / "missing.cwdb"))
    dialog.passphrase_edit.setText("x")
    dialog.try_unlock()
    assert "There is no database" in dialog.status_label.text()


def test_create_requires_matching_and_acknowledged_weak_passphrase(qtbot, dialog, tmp_path):  # noqa: ANN001
    dialog.tabs.setCurrentIndex(1)
    target = tmp_path / "new.cwdb"
    dialog.new_path_edit.setText(str(target))
    dialog.new_pass_edit.setText("password1")
    dialog.confirm_edit.setText("password1")
    assert "Very weak" in dialog.strength_label.text()
    assert dialog.weak_check.isVisibleTo(dialog) and not dialog.create_button.isEnabled()
    dialog.weak_check.setChecked(True)
    assert dialog.create_button.isEnabled()
    dialog.new_pass_edit.setText("violet harbour kettle 93 drums")
    assert "differ" in dialog.strength_label.text() and not dialog.create_button.isEnabled()
    dialog.confirm_edit.setText("violet harbour kettle 93 drums")
    assert dialog.strength_label.text().startswith("Strong") and dialog.create_button.isEnabled()
    got = []
    dialog.unlocked.connect(lambda ws, p: got.append((ws, p)))
    dialog.create_button.click()
    qtbot.waitUntil(lambda: bool(got), timeout=10000)
    ws, path = got[0]
    assert Path(path) == target.resolve() and target.exists()
    ws.db.lock()
    # Only the path is remembered, never the passphrase.
    assert recent_databases()[0] == str(target.resolve())
    app_settings().sync()
    stored = "".join(p.read_text() for p in Path(app_settings().fileName()).parent.rglob("*") if p.is_file())
    assert "violet" not in stored and "harbour" not in stored


def test_locked_mode_only_reopens_the_same_database(qtbot, runner, db_path):  # noqa: ANN001
    dlg = UnlockDialog(runner, None, locked_path=str(db_path))
    qtbot.addWidget(dlg)
    dlg.show()
    assert not dlg.path_combo.isEnabled() and not dlg.tabs.isTabVisible(1)
    assert dlg.path() == str(db_path)


@pytest.mark.parametrize(("exc", "words"), [
    ("WrongPassphrase", "Wrong passphrase"),
    ("NotADatabase", "not an encrypted case database"),
    ("DatabaseTooNew", "newer version"),
    ("IntegrityFailure", "integrity check"),
    ("StorageError", "Cannot use this location"),
    ("UsageError", "no such database file"),
])
def test_each_core_error_has_its_own_message(exc: str, words: str) -> None:
    import workstation.errors as errors
    from ui.unlock import unlock_message

    error = getattr(errors, exc)("/cases/x.cwdb: no such database file")
    message = unlock_message(error, "/cases/x.cwdb")
    assert words in message
