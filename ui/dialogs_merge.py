"""Entity resolution in the desktop app: merge, unmerge, merge history, suggested duplicates.

* ``MergeDialog`` — the officer selected two or more entities and chose Merge…: pick the
  one to keep (the survivor), write why they are the same (required: it goes into the
  audit trail), press Merge. The core decides: it refuses entities of different kinds and
  its reason is shown in the form, which stays open.
* ``MergeCommand`` / ``UnmergeCommand`` — the undoable edits (``ui.commands``): undo of a
  merge unmerges exactly what it merged; undo of an unmerge merges again with the same
  justification.
* ``MergeHistoryWidget`` — the merges into (or of) the entity shown in the details panel,
  with Unmerge for each merge still in force.
* ``DuplicatesDialog`` — ``resolution.suggest_duplicates`` for the current case: entities
  that are probably one, with the reason; "Merge…" opens the merge dialog on them.

Reads run on the session's read lane, edits on its edit lane. Thread: UI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.analysis.resolution import DuplicateSuggestion, suggest_duplicates
from workstation.domain.models import Changes, EntityInfo, MergeInfo
from workstation.domain.service import Workstation
from workstation.errors import WorkstationError
from ui.commands import ServiceCommand, execute
from ui.dialogs import FormDialog
from ui.errors import describe_error, show_error
from ui.formatting import format_iso, kind_text
from ui.models import ListTableModel
from ui.session import Session
from ui.theme import entity_icon, icon, theme_colour
from ui.widgets import record_list_view


# ---------------------------------------------------------------------- commands
class MergeCommand(ServiceCommand):
    """Merge ``merged_ids`` into ``survivor_id``; undo unmerges each of them.

    A merge undone and done again gets new merge ids in the core; the first ones stay the
    command's names for them and ``Session.remap("merge", …)`` leads to the current ones,
    so an ``UnmergeCommand`` made earlier still undoes the right merge.
    """

    def __init__(self, session: Session, survivor_id: int, merged_ids: Sequence[int], justification: str,
                 text: str) -> None:
        super().__init__(session, text)
        self.survivor_id = survivor_id
        self.merged_ids = list(merged_ids)
        self.justification = justification
        self.merge_ids: tuple[int, ...] = ()

    def work_redo(self, ws: Workstation) -> list[Changes]:
        r = self.session.resolve
        ch = ws.merge_entities(r("entity", self.survivor_id), [r("entity", m) for m in self.merged_ids],
                               self.justification)
        new_ids = tuple((ch.extra or {}).get("merge_ids", ()))
        if not self.merge_ids:
            self.merge_ids = new_ids
        else:
            for old, new in zip(self.merge_ids, new_ids):
                self.session.remap("merge", old, new)
        return [ch]

    def work_undo(self, ws: Workstation) -> list[Changes]:
        return [ws.unmerge(self.session.resolve("merge", mid)) for mid in reversed(self.merge_ids)]


class UnmergeCommand(ServiceCommand):
    """Undo one recorded merge; undo of this merges the two again (same justification)."""

    def __init__(self, session: Session, merge: MergeInfo, text: str) -> None:
        super().__init__(session, text)
        self.merge = merge

    def work_redo(self, ws: Workstation) -> list[Changes]:
        return [ws.unmerge(self.session.resolve("merge", self.merge.id))]

    def work_undo(self, ws: Workstation) -> list[Changes]:
        r = self.session.resolve
        ch = ws.merge_entities(r("entity", self.merge.survivor_id), [r("entity", self.merge.merged_id)],
                               self.merge.justification)
        ids = (ch.extra or {}).get("merge_ids", ())
        if ids:
            self.session.remap("merge", self.merge.id, ids[0])
        return [ch]


# ---------------------------------------------------------------------- merge dialog
def entity_line(e: EntityInfo) -> str:
    key = f" · {e.key}" if e.key else ""
    return f"{e.label}   — {kind_text(e.kind)}{key} · #{e.id}"


class MergeDialog(FormDialog):
    """Choose the survivor and write the justification; the core does the merge.

    ``values()`` → ``{"survivor": id, "merged": [ids], "justification": text}``.
    """

    def __init__(self, parent: QWidget | None, entities: Sequence[EntityInfo]) -> None:
        super().__init__(parent, "Merge entities")
        self.setObjectName("mergeDialog")
        self.setMinimumWidth(560)
        self.entities = list(entities)
        intro = QLabel(
            "The entities you do not keep are folded into the one you keep: their links and their "
            "parts in events move to it. Nothing is deleted, and the merge can be undone "
            "(Unmerge in the details panel, or Undo).")
        intro.setWordWrap(True)
        intro.setObjectName("mutedLabel")
        self.form.addRow(intro)
        self.survivor_list = QListWidget()
        self.survivor_list.setObjectName("survivorList")
        self.survivor_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for e in self.entities:
            item = QListWidgetItem(entity_icon(e.kind), entity_line(e))
            item.setData(Qt.ItemDataRole.UserRole, e.id)
            item.setToolTip(f"Keep {e.label} (#{e.id}) and fold the others into it")
            self.survivor_list.addItem(item)
        self.survivor_list.setCurrentRow(self._default_survivor())
        self.survivor_list.setMaximumHeight(max(80, min(220, 26 * len(self.entities) + 8)))
        self.form.addRow("Keep", self.survivor_list)
        kinds = sorted({e.kind for e in self.entities})
        self.kind_warning = QLabel(
            f"These entities are of different kinds ({', '.join(kind_text(k) for k in kinds)}). "
            "Different kinds are different things: the workstation will refuse to merge them.")
        self.kind_warning.setObjectName("warningLabel")
        self.kind_warning.setWordWrap(True)
        self.kind_warning.setVisible(len(kinds) > 1)
        self.form.addRow(self.kind_warning)
        self.justification_edit = QPlainTextEdit()
        self.justification_edit.setObjectName("justification")
        self.justification_edit.setPlaceholderText(
            "Why are these the same? E.g. “same handset IMEI in both extraction reports”. "
            "Required; kept in the audit trail.")
        self.justification_edit.setMinimumHeight(90)
        self.form.addRow("Justification", self.justification_edit)
        self.ok_button.setText("Merge")
        self.justification_edit.textChanged.connect(self._update_ok)
        self._update_ok()

    def _default_survivor(self) -> int:
        # The oldest record keeps its id: other notes and reports are more likely to name it.
        if not self.entities:
            return -1
        return min(range(len(self.entities)), key=lambda i: self.entities[i].id)

    def _update_ok(self) -> None:
        self.ok_button.setEnabled(bool(self.justification()) and len(self.entities) >= 2)

    def justification(self) -> str:
        return self.justification_edit.toPlainText().strip()

    def survivor_id(self) -> int | None:
        item = self.survivor_list.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def set_survivor(self, entity_id: int) -> None:
        for row in range(self.survivor_list.count()):
            if self.survivor_list.item(row).data(Qt.ItemDataRole.UserRole) == entity_id:
                self.survivor_list.setCurrentRow(row)

    def fail(self, message: str) -> None:
        super().fail(message)
        self._update_ok()

    def values(self) -> dict[str, Any]:
        survivor = self.survivor_id()
        if survivor is None:
            raise ValueError("Choose the entity to keep.")
        if not self.justification():
            raise ValueError("Write why these entities are the same; the merge is refused without it.")
        merged = [e.id for e in self.entities if e.id != survivor]
        if not merged:
            raise ValueError("Select at least two entities to merge.")
        return {"survivor": survivor, "merged": merged, "justification": self.justification()}


# ---------------------------------------------------------------------- merge history
@dataclass(frozen=True)
class MergeRow:
    merge: MergeInfo
    merged_label: str
    survivor_label: str


class MergeHistoryModel(ListTableModel):
    """Merges of one entity: who was folded into whom, when, by whom, why, and whether
    the merge still holds."""

    headers = ("Merged", "Into", "When", "By", "Justification", "State")

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(parent)
        self.session = session

    def cell(self, row: MergeRow, column: int, role: int) -> Any:
        m = row.merge
        if role == Qt.ItemDataRole.DisplayRole:
            tz = self.session.settings.display_timezone
            state = f"undone {format_iso(m.undone_at, tz)}" if m.undone_at else "in force"
            return (f"{row.merged_label} (#{m.merged_id})", f"{row.survivor_label} (#{m.survivor_id})",
                    format_iso(m.merged_at, tz), m.actor, m.justification, state)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return m.justification
        if role == Qt.ItemDataRole.ForegroundRole and m.undone_at:
            return QBrush(theme_colour("muted"))
        return None


def load_merge_rows(ws: Workstation, entity_id: int) -> list[MergeRow]:
    """Merge history of ``entity_id`` with the labels of both sides. Thread: worker."""
    history = ws.merge_history(entity_id)
    ids = {m.merged_id for m in history} | {m.survivor_id for m in history}
    labels = {e.id: e.label for e in ws.get_entities(sorted(ids))}
    return [MergeRow(m, labels.get(m.merged_id, "?"), labels.get(m.survivor_id, "?")) for m in history]


class MergeHistoryWidget(QWidget):
    """Merge history of the entity shown in the details panel, with Unmerge.

    ``set_entity(id | None)`` chooses the entity; the widget hides itself when the entity
    has no merges (most have none). Unmerge runs an undoable ``UnmergeCommand``.
    """

    loaded = Signal(int)
    unmerged = Signal(int)  # merge id

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.entity_id: int | None = None
        self.setObjectName("MergeHistoryWidget")
        v = QVBoxLayout(self)
        v.setContentsMargins(8, 4, 8, 6)
        v.setSpacing(4)
        title = QLabel("Merges")
        title.setObjectName("sectionLabel")
        v.addWidget(title)
        self.model = MergeHistoryModel(session, self)
        self.view = record_list_view(self.model, (150, 150, 130, 90, 220))
        v.addWidget(self.view, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.unmerge_button = QPushButton("Unmerge")
        self.unmerge_button.setToolTip("Give the merged entity back exactly the links and event parts it had")
        self.unmerge_button.setEnabled(False)
        row.addWidget(self.unmerge_button)
        v.addLayout(row)
        self.unmerge_button.clicked.connect(self.unmerge_selected)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_button())
        session.changed.connect(self._changes)
        session.detached.connect(lambda: self.set_entity(None))
        self.hide()

    def set_entity(self, entity_id: int | None) -> None:
        self.entity_id = entity_id
        self.reload()

    def reload(self) -> None:
        entity_id = self.entity_id
        if entity_id is None or self.session.is_locked:
            self.model.clear()
            self.hide()
            self._update_button()
            return

        def done(rows: list[MergeRow]) -> None:
            if entity_id != self.entity_id:
                return
            self.model.set_items(rows)
            self.setVisible(bool(rows))
            self._update_button()
            self.loaded.emit(len(rows))

        def failed(exc: BaseException, details: str) -> None:
            if isinstance(exc, WorkstationError):
                self.model.clear()
                self.hide()
            else:
                show_error(self, exc, details)

        self.session.read(lambda ws: load_merge_rows(ws, entity_id), done, key=(self, "history"),
                          on_error=failed, title="Loading merge history")

    def _changes(self, ch: Changes) -> None:
        if self.entity_id is not None and ch.table == "entity" and (
                ch.op in ("merged", "unmerged") or self.entity_id in ch.ids):
            self.reload()

    def selected(self) -> MergeRow | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.item(rows[0].row()) if rows else None

    def _update_button(self) -> None:
        row = self.selected()
        self.unmerge_button.setEnabled(row is not None and row.merge.undone_at is None)

    def select_row(self, row: int) -> None:
        self.view.setCurrentIndex(self.model.index(row, 0))

    @Slot()
    def unmerge_selected(self) -> None:
        row = self.selected()
        if row is None or row.merge.undone_at is not None:
            return
        cmd = UnmergeCommand(self.session, row.merge, f"Unmerge {row.merged_label}")
        def failed(exc: BaseException, details: str) -> None:
            show_error(self, exc, details)

        execute(self.session, cmd, on_done=lambda _c: self.unmerged.emit(row.merge.id), on_error=failed)


# ---------------------------------------------------------------------- duplicates
@dataclass(frozen=True)
class DuplicateRow:
    suggestion: DuplicateSuggestion
    entities: tuple[EntityInfo, ...]


def load_duplicates(ws: Workstation, case_id: int) -> list[DuplicateRow]:
    """Duplicate suggestions of a case with their (live, unmerged) entities. Thread: worker."""
    suggestions = suggest_duplicates(ws, case_id)
    ids = sorted({i for s in suggestions for i in s.entity_ids})
    by_id = {e.id: e for e in ws.get_entities(ids)}
    out = []
    for s in suggestions:
        ents = tuple(by_id[i] for i in s.entity_ids if i in by_id and by_id[i].merged_into is None)
        if len(ents) >= 2:
            out.append(DuplicateRow(s, ents))
    return out


class DuplicatesModel(ListTableModel):
    """Duplicate suggestions; the last column is a one-click "Merge…" link."""

    headers = ("Score", "Entities", "Why", "")
    MERGE_COLUMN = 3

    def cell(self, row: DuplicateRow, column: int, role: int) -> Any:
        s = row.suggestion
        if role == Qt.ItemDataRole.DisplayRole:
            names = ", ".join(e.label for e in row.entities)
            return (f"{s.score:.2f}", names, s.reason, "Merge…")[column]
        if column == self.MERGE_COLUMN:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(theme_colour("link"))
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Open the merge dialog for these entities"
            return None
        if role == Qt.ItemDataRole.DecorationRole and column == 1 and row.entities:
            return entity_icon(row.entities[0].kind)
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(entity_line(e) for e in row.entities) + f"\n\n{s.reason}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class DuplicatesDialog(QDialog):
    """Suggested duplicates of the current case; "Merge…" asks for the merge dialog.

    Modeless: it reloads itself after merges, so the officer can work down the list.
    """

    mergeRequested = Signal(object)  # list of entity ids
    loaded = Signal(int)

    def __init__(self, session: Session, case_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.case_id = case_id
        self.setObjectName("duplicatesDialog")
        self.setWindowTitle("Suggested duplicates")
        self.resize(760, 420)
        v = QVBoxLayout(self)
        v.setContentsMargins(14, 12, 14, 12)
        self.status_label = QLabel("Looking for duplicates…")
        self.status_label.setObjectName("mutedLabel")
        self.status_label.setWordWrap(True)
        v.addWidget(self.status_label)
        self.model = DuplicatesModel(self)
        self.view = record_list_view(self.model)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.view.setColumnWidth(1, 240)
        v.addWidget(self.view, 1)
        buttons = QDialogButtonBox()
        self.merge_button = buttons.addButton("Merge…", QDialogButtonBox.ButtonRole.ActionRole)
        self.merge_button.setIcon(icon("link"))
        self.merge_button.setEnabled(False)
        self.refresh_button = buttons.addButton("Refresh", QDialogButtonBox.ButtonRole.ActionRole)
        self.refresh_button.setIcon(icon("refresh"))
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        v.addWidget(buttons)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.reload)
        self.merge_button.clicked.connect(self.merge_selected)
        self.refresh_button.clicked.connect(self.reload)
        self.view.activated.connect(lambda _i: self.merge_selected())
        self.view.clicked.connect(self._clicked)
        self.view.selectionModel().selectionChanged.connect(
            lambda *_: self.merge_button.setEnabled(self.selected() is not None))
        session.changed.connect(self._changes)
        session.detached.connect(self.reject)
        self.reload()

    def reload(self) -> None:
        case_id = self.case_id

        def done(rows: list[DuplicateRow]) -> None:
            self.model.set_items(rows)
            n = len(rows)
            self.status_label.setText(
                f"{n} group{'' if n == 1 else 's'} of entities that are probably the same, best first. "
                "Merging stays your decision: select one and choose Merge…" if n
                else "No duplicates suggested in this case.")
            self.merge_button.setEnabled(False)
            self.loaded.emit(n)

        def failed(exc: BaseException, details: str) -> None:
            if isinstance(exc, WorkstationError):
                self.status_label.setText(describe_error(exc)[1])
            else:
                show_error(self, exc, details)

        self.session.read(lambda ws: load_duplicates(ws, case_id), done, key=(self, "dups"), on_error=failed,
                          title="Looking for duplicates")

    def _changes(self, ch: Changes) -> None:
        if ch.table == "entity" and (ch.case_id is None or ch.case_id == self.case_id):
            self._timer.start()

    def selected(self) -> DuplicateRow | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.item(rows[0].row()) if rows else None

    def select_row(self, row: int) -> None:
        self.view.setCurrentIndex(self.model.index(row, 0))

    @Slot()
    def merge_selected(self) -> None:
        row = self.selected()
        if row is not None:
            self.mergeRequested.emit([e.id for e in row.entities])

    def _clicked(self, index: Any) -> None:
        if index.column() == DuplicatesModel.MERGE_COLUMN:
            row = self.model.item(index.row())
            if row is not None:
                self.mergeRequested.emit([e.id for e in row.entities])


__all__ = ["DuplicatesDialog", "MergeCommand", "MergeDialog", "MergeHistoryWidget", "UnmergeCommand",
           "load_duplicates", "load_merge_rows"]
