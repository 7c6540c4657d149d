"""The unlock dialog: open a recent or chosen database, or create a new one.

The key derivation (≈0.2–0.4 s) and any migration run on a worker; the dialog stays
responsive and shows "Unlocking…". Consecutive wrong passphrases slow down (0, 1, 2, 4,
8 … s): the button is disabled meanwhile with a countdown driven by a QTimer, never by
sleeping. Each core error gets its own plain message. Recent databases are remembered
by path only.

Thread: UI thread; ``open_database``/``create_database`` run on the read lane.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.domain.service import Workstation
from workstation.errors import (
    DatabaseTooNew,
    IntegrityFailure,
    NotADatabase,
    StorageError,
    UsageError,
    WrongPassphrase,
)
from workstation.store.database import Database
from ui.appstate import recent_databases, remember_database
from ui.errors import describe_error
from ui.passphrase import Backoff, estimate_strength
from ui.tasks import CancelToken, ProgressFn, TaskRunner
from ui.theme import icon

DB_FILTER = "Case databases (*.cwdb *.db);;All files (*)"
DEFAULT_SUFFIX = ".cwdb"


def open_database(path: str, passphrase: str) -> Workstation:
    """Unlock ``path`` and build its Workstation. Thread: worker."""
    db = Database.open(path, passphrase)
    try:
        return Workstation(db)
    except BaseException:
        db.lock()
        raise


def create_database(path: str, passphrase: str) -> Workstation:
    """Create an encrypted database at ``path`` and build its Workstation. Thread: worker."""
    db = Database.create(path, passphrase)
    try:
        return Workstation(db)
    except BaseException:
        db.lock()
        raise


def unlock_message(exc: BaseException, path: str) -> str:
    """What the unlock dialog says for each core error."""
    name = Path(path).name or path
    if isinstance(exc, WrongPassphrase):
        return ("Wrong passphrase (or this file is not a case database). "
                "Check Caps Lock and the keyboard layout, then try again.")
    if isinstance(exc, NotADatabase):
        return f"“{name}” is not an encrypted case database (or it is damaged). {exc}"
    if isinstance(exc, DatabaseTooNew):
        return f"“{name}” was written by a newer version of Case Workstation. Update the app to open it."
    if isinstance(exc, IntegrityFailure):
        return f"“{name}” failed its integrity check. Keep the file unchanged and contact support. ({exc})"
    if isinstance(exc, StorageError):
        return f"Cannot use this location: {exc}"
    if isinstance(exc, UsageError):
        return str(exc)
    title, message, _advice = describe_error(exc)
    return f"{title}: {message}"


class UnlockDialog(QDialog):
    """Open (recent / browse) or create a database; emits ``unlocked(ws, path)``.

    With ``locked_path`` it only re-opens that database (after a lock).
    ``now`` drives the backoff (tests inject a fake clock).
    """

    unlocked = Signal(object, str)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None, *,
                 locked_path: str | None = None, initial_path: str | None = None,
                 now: Callable[[], float] | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.locked_path = locked_path
        self.backoff = Backoff(now) if now is not None else Backoff()
        self._busy = False
        self.setWindowTitle("Unlock — Case Workstation" if locked_path else "Case Workstation")
        self.setWindowIcon(icon("app"))
        self.setMinimumWidth(520)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 18)
        outer.setSpacing(12)
        head = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(icon("app").pixmap(44, 44))
        head.addWidget(logo)
        titles = QVBoxLayout()
        title = QLabel("Case Workstation")
        title.setObjectName("titleLabel")
        self.subtitle = QLabel("Locked — enter your passphrase to continue." if locked_path
                               else "Open your encrypted case database, or create one.")
        self.subtitle.setObjectName("subtitleLabel")
        titles.addWidget(title)
        titles.addWidget(self.subtitle)
        head.addLayout(titles, 1)
        outer.addLayout(head)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_open_page(initial_path), "Open")
        self.tabs.addTab(self._build_create_page(), "Create new")
        if locked_path:
            self.tabs.setTabVisible(1, False)
            self.tabs.tabBar().hide()
        outer.addWidget(self.tabs)

        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setObjectName("errorLabel")
        self.status_label.hide()
        outer.addWidget(self.status_label)

        self._countdown = QTimer(self)
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self._tick)
        self.tabs.currentChanged.connect(self._tab_changed)
        self._refresh_buttons()

    # ------------------------------------------------------------------ pages
    def _build_open_page(self, initial_path: str | None) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(12, 14, 12, 12)
        form.setSpacing(10)
        row = QHBoxLayout()
        self.path_combo = QComboBox()
        self.path_combo.setEditable(True)
        self.path_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.path_combo.setMinimumContentsLength(34)
        paths = [self.locked_path] if self.locked_path else recent_databases()
        if initial_path and initial_path not in paths:
            paths.insert(0, initial_path)
        for p in paths:
            self.path_combo.addItem(p)
        if initial_path:
            self.path_combo.setCurrentText(initial_path)
        line = self.path_combo.lineEdit()
        if line is not None:
            line.setPlaceholderText("Path of the case database")
        row.addWidget(self.path_combo, 1)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setAutoDefault(False)
        self.browse_button.clicked.connect(self._browse_open)
        row.addWidget(self.browse_button)
        if self.locked_path:
            self.path_combo.setEnabled(False)
            self.browse_button.hide()
        form.addRow("Database", row)
        self.passphrase_edit = QLineEdit()
        self.passphrase_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase_edit.setPlaceholderText("Passphrase")
        self.passphrase_edit.returnPressed.connect(self.try_unlock)
        self.passphrase_edit.textChanged.connect(lambda _t: self._refresh_buttons())
        form.addRow("Passphrase", self.passphrase_edit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.quit_button = QPushButton("Quit")
        self.quit_button.setAutoDefault(False)
        self.quit_button.clicked.connect(self.reject)
        buttons.addWidget(self.quit_button)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self.try_unlock)
        buttons.addWidget(self.unlock_button)
        form.addRow(buttons)
        return page

    def _build_create_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(12, 14, 12, 12)
        form.setSpacing(10)
        row = QHBoxLayout()
        self.new_path_edit = QLineEdit()
        self.new_path_edit.setPlaceholderText("Where to keep the new database")
        row.addWidget(self.new_path_edit, 1)
        browse = QPushButton("Browse…")
        browse.setAutoDefault(False)
        browse.clicked.connect(self._browse_new)
        row.addWidget(browse)
        form.addRow("New database", row)
        self.new_pass_edit = QLineEdit()
        self.new_pass_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_pass_edit.setPlaceholderText("At least 12 characters, or several words")
        self.confirm_edit = QLineEdit()
        self.confirm_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm_edit.setPlaceholderText("Repeat the passphrase")
        form.addRow("Passphrase", self.new_pass_edit)
        form.addRow("Repeat", self.confirm_edit)
        self.strength_bar = QProgressBar()
        self.strength_bar.setObjectName("strengthBar")
        self.strength_bar.setRange(0, 5)  # score + 1: even "very weak" shows a red sliver
        self.strength_bar.setTextVisible(False)
        self.strength_label = QLabel()
        self.strength_label.setObjectName("mutedLabel")
        self.strength_label.setWordWrap(True)
        meter = QVBoxLayout()
        meter.setSpacing(4)
        meter.addWidget(self.strength_bar)
        meter.addWidget(self.strength_label)
        form.addRow("Strength", meter)
        self.weak_check = QCheckBox("Use this weak passphrase anyway")
        self.weak_check.hide()
        self.weak_check.toggled.connect(lambda _b: self._refresh_buttons())
        form.addRow("", self.weak_check)
        note = QLabel("There is no way to recover a forgotten passphrase: keep it safe.")
        note.setObjectName("warningLabel")
        note.setWordWrap(True)
        form.addRow("", note)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.create_button = QPushButton("Create database")
        self.create_button.clicked.connect(self.try_create)
        buttons.addWidget(self.create_button)
        form.addRow(buttons)
        for edit in (self.new_path_edit, self.new_pass_edit, self.confirm_edit):
            edit.textChanged.connect(lambda _t: self._update_strength())
        self._update_strength()
        return page

    # ------------------------------------------------------------------ helpers
    def path(self) -> str:
        return self.locked_path or self.path_combo.currentText().strip()

    def show_status(self, text: str, kind: str = "errorLabel") -> None:
        self.status_label.setObjectName(kind)
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))

    def _refresh_buttons(self) -> None:
        wait = self.backoff.remaining()
        if self._busy:
            self.unlock_button.setEnabled(False)
            self.unlock_button.setText("Unlocking…")
        elif wait > 0:
            self.unlock_button.setEnabled(False)
            self.unlock_button.setText(f"Wait {math.ceil(wait)} s")
        else:
            self.unlock_button.setText("Unlock")
            self.unlock_button.setEnabled(bool(self.passphrase_edit.text()))
        strength = estimate_strength(self.new_pass_edit.text())
        ready = (bool(self.new_path_edit.text().strip()) and bool(self.new_pass_edit.text())
                 and self.new_pass_edit.text() == self.confirm_edit.text()
                 and (not strength.weak or self.weak_check.isChecked()))
        self.create_button.setEnabled(ready and not self._busy)
        self.create_button.setText("Creating…" if self._busy and self.tabs.currentIndex() == 1
                                   else "Create database")

    @Slot(int)
    def _tab_changed(self, _index: int) -> None:
        if not self._busy:
            self.show_status("")
        self._refresh_buttons()

    @Slot()
    def _tick(self) -> None:
        if self.backoff.remaining() <= 0:
            self._countdown.stop()
        self._refresh_buttons()

    def _update_strength(self) -> None:
        s = estimate_strength(self.new_pass_edit.text())
        self.strength_bar.setValue(s.score + 1 if self.new_pass_edit.text() else 0)
        self.strength_bar.setProperty("level", str(s.score))
        self.strength_bar.style().unpolish(self.strength_bar)
        self.strength_bar.style().polish(self.strength_bar)
        text = s.label if self.new_pass_edit.text() else ""
        if s.problems and self.new_pass_edit.text():
            text += " — " + " ".join(s.problems)
        mismatch = self.confirm_edit.text() and self.confirm_edit.text() != self.new_pass_edit.text()
        if mismatch:
            text += ("\n" if text else "") + "The two passphrases differ."
        self.strength_label.setText(text)
        self.weak_check.setVisible(bool(self.new_pass_edit.text()) and s.weak)
        if not s.weak:
            self.weak_check.setChecked(False)
        self._refresh_buttons()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for w in (self.passphrase_edit, self.path_combo, self.new_pass_edit, self.confirm_edit,
                  self.new_path_edit, self.tabs.tabBar()):
            w.setEnabled(not busy and not (w is self.path_combo and self.locked_path))
        self._refresh_buttons()

    @Slot()
    def _browse_open(self) -> None:
        start = os.path.dirname(self.path()) or str(Path.home())
        path, _f = QFileDialog.getOpenFileName(self, "Open case database", start, DB_FILTER)
        if path:
            self.path_combo.setCurrentText(path)
            self.passphrase_edit.setFocus()

    @Slot()
    def _browse_new(self) -> None:
        path, _f = QFileDialog.getSaveFileName(self, "New case database", str(Path.home() / f"cases{DEFAULT_SUFFIX}"),
                                               DB_FILTER)
        if path:
            if not Path(path).suffix:
                path += DEFAULT_SUFFIX
            self.new_path_edit.setText(path)

    # ------------------------------------------------------------------ actions
    @Slot()
    def try_unlock(self) -> None:
        """Unlock the chosen database with the typed passphrase (worker thread)."""
        if self._busy or self.backoff.remaining() > 0:
            return
        path = self.path()
        passphrase = self.passphrase_edit.text()
        if not path:
            self.show_status("Choose the database to open.")
            return
        if not passphrase:
            self.show_status("Enter the passphrase.")
            return
        if not os.path.exists(path):
            self.show_status(f"There is no database at {path}. Check the path, or create a new database.")
            return
        self.show_status("Unlocking…", "mutedLabel")
        self._set_busy(True)

        def work(_p: ProgressFn, _c: CancelToken) -> Workstation:
            return open_database(path, passphrase)

        self.runner.submit(work, title="Unlocking", lane="read", visible=False,
                           on_done=lambda ws: self._done(ws, path),
                           on_error=lambda exc, _d: self._failed(exc, path))

    @Slot()
    def try_create(self) -> None:
        """Create the new database (worker thread)."""
        if self._busy:
            return
        path = self.new_path_edit.text().strip()
        passphrase = self.new_pass_edit.text()
        if passphrase != self.confirm_edit.text():
            self.show_status("The two passphrases differ.")
            return
        if estimate_strength(passphrase).weak and not self.weak_check.isChecked():
            self.show_status("This passphrase is weak: choose a stronger one or confirm you accept it.")
            return
        if not path:
            self.show_status("Choose where to keep the new database.")
            return
        self.show_status("Creating the encrypted database…", "mutedLabel")
        self._set_busy(True)

        def work(_p: ProgressFn, _c: CancelToken) -> Workstation:
            return create_database(path, passphrase)

        self.runner.submit(work, title="Creating database", lane="read", visible=False,
                           on_done=lambda ws: self._done(ws, path),
                           on_error=lambda exc, _d: self._failed(exc, path))

    def _done(self, ws: Workstation, path: str) -> None:
        self.backoff.record_success()
        self._set_busy(False)
        self.passphrase_edit.clear()
        self.new_pass_edit.clear()
        self.confirm_edit.clear()
        self.show_status("")
        try:
            remember_database(path)
        except OSError:
            pass
        self.unlocked.emit(ws, str(Path(path).resolve()))
        self.accept()

    def _failed(self, exc: BaseException, path: str) -> None:
        self._set_busy(False)
        message = unlock_message(exc, path)
        if isinstance(exc, WrongPassphrase):
            wait = self.backoff.record_failure()
            if wait > 0:
                message += f" Too many attempts: wait {math.ceil(wait)} s."
                self._countdown.start()
            self.passphrase_edit.selectAll()
        self.show_status(message)
        self._refresh_buttons()
        self.passphrase_edit.setFocus()

    def reject(self) -> None:
        if self._busy:
            return  # the key derivation finishes in a moment; closing mid-way would leak it
        super().reject()
