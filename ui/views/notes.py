"""The notes editor: notes on the current case, or on the focused entity/event.

Saving, adding and deleting go through undoable commands. The target follows the
details panel's focus; "Case notes" switches back to the case.

Thread: UI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from PySide6.QtCore import Qt

from workstation.domain.models import Changes, NoteInfo
from ui.models import NoteListModel
from ui.session import Session
from ui.theme import icon
from ui.widgets import record_list_view


class NotesWidget(QWidget):
    """List + editor of the notes on one target (case, entity or event)."""

    saveRequested = Signal(object, str)     # NoteInfo | None (new), body
    deleteRequested = Signal(object)        # NoteInfo
    loaded = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.hub = session.hub
        self.target_type: str | None = None
        self.target_id: int | None = None
        self.target_label = ""
        self._target_key: tuple[int | None, str | None, int | None] | None = None
        self.editing: NoteInfo | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        top = QHBoxLayout()
        self.target_title = QLabel("No case open")
        self.target_title.setObjectName("sectionLabel")
        top.addWidget(self.target_title, 1)
        self.case_button = QPushButton("Case notes")
        self.case_button.setToolTip("Show the notes on the case itself")
        self.case_button.clicked.connect(lambda: self.set_target(None, None, ""))
        top.addWidget(self.case_button)
        layout.addLayout(top)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("notesSplitter")
        self.model = NoteListModel(session, self)
        self.view = record_list_view(self.model, (140, 90))
        self.splitter.addWidget(self.view)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("Write a note…")
        self.splitter.addWidget(self.editor)
        self.splitter.setSizes([120, 140])
        layout.addWidget(self.splitter, 1)

        buttons = QHBoxLayout()
        self.new_button = QPushButton(icon("add"), "New")
        self.new_button.clicked.connect(self.start_new)
        self.save_button = QPushButton("Save note")
        self.save_button.clicked.connect(self._save)
        self.delete_button = QPushButton(icon("delete"), "Delete")
        self.delete_button.clicked.connect(self._delete)
        self.state_label = QLabel()
        self.state_label.setObjectName("mutedLabel")
        self.state_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.state_label, 1)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)

        self.view.selectionModel().selectionChanged.connect(self._picked)
        self.editor.textChanged.connect(self._refresh_buttons)
        self.hub.caseSelected.connect(lambda _c, _o: self.set_target(None, None, ""))
        session.changed.connect(self._changes)
        session.detached.connect(self.clear)
        self.clear()

    # ------------------------------------------------------------------ target
    def set_target(self, target_type: str | None, target_id: int | None, label: str) -> None:
        """Show notes on ``target_type``/``target_id`` of the current case (None: the case)."""
        if target_type == "case":
            target_type, target_id = None, None
        key = (self.hub.case_id, target_type, target_id)
        same = key == self._target_key and self.hub.case_id is not None
        self._target_key = key
        self.target_type, self.target_id, self.target_label = target_type, target_id, label
        if same:  # the same record again (it was edited): keep the note being written
            self.target_title.setText(f"Notes on {target_type} “{label}”" if target_type else "Case notes")
            return
        if self.hub.case_id is None:
            self.clear()
            return
        self.target_title.setText(f"Notes on {target_type} “{label}”" if target_type else "Case notes")
        self.case_button.setVisible(target_type is not None)
        self.model.clear()  # never show another target's notes while the new ones load
        self.start_new()
        self.reload()

    def reload(self) -> None:
        case_id = self.hub.case_id
        if case_id is None or self.session.is_locked:
            self.clear()
            return
        ttype, tid = self.target_type, self.target_id
        self.session.read(lambda ws: ws.list_notes(case_id, target_type=ttype, target_id=tid),
                          self._loaded, key=self, title="Loading notes")

    def _loaded(self, notes: list[NoteInfo]) -> None:
        keep = self.editing.id if self.editing else None
        self.model.set_items(notes)
        if keep is not None:
            row = self.model.row_of(keep)
            if row is not None:
                self.view.setCurrentIndex(self.model.index(row, 0))
            else:
                self.start_new()
        self._refresh_buttons()
        self.loaded.emit()

    def clear(self) -> None:
        self._target_key = None
        self.model.clear()
        self.editing = None
        self.editor.clear()
        self.target_title.setText("No case open")
        self.case_button.hide()
        self._refresh_buttons()

    @Slot(object)
    def _changes(self, ch: Changes) -> None:
        if ch.table == "note" and ch.case_id == self.hub.case_id:
            self.reload()

    # ------------------------------------------------------------------ editing
    @Slot()
    def start_new(self) -> None:
        self.editing = None
        self.view.clearSelection()
        self.editor.clear()
        self._refresh_buttons()

    @Slot(QItemSelection, QItemSelection)
    def _picked(self, _s: QItemSelection, _d: QItemSelection) -> None:
        rows = self.view.selectionModel().selectedRows()
        note = self.model.item(rows[0].row()) if rows else None
        if note is not None and (self.editing is None or note.id != self.editing.id):
            self.editing = note
            self.editor.setPlainText(note.body)
        self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        has_case = self.hub.case_id is not None and not self.session.is_locked
        text = self.editor.toPlainText().strip()
        self.editor.setEnabled(has_case)
        self.new_button.setEnabled(has_case)
        self.delete_button.setEnabled(has_case and self.editing is not None)
        changed = text and (self.editing is None or text != self.editing.body.strip())
        self.save_button.setEnabled(bool(has_case and changed))
        self.save_button.setText("Save changes" if self.editing else "Add note")
        self.state_label.setText(f"Editing a note by {self.editing.author}" if self.editing else "")

    @Slot()
    def _save(self) -> None:
        body = self.editor.toPlainText().strip()
        if body:
            self.saveRequested.emit(self.editing, body)

    @Slot()
    def _delete(self) -> None:
        if self.editing is not None:
            self.deleteRequested.emit(self.editing)
