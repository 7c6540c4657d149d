"""The connections panel: which other cases share something with this one, and why.

For the current case it lists every other case holding the same identifiers, media files
or people (``workstation.analysis.matching.case_connections``), strongest first, with the
score and, under each case, every reason with the core's sentence explaining it (what is
shared, how many cases hold it, the rarity factor). With "Selected entities" it keeps
only the evidence involving the entities selected in the tables. Under it, "Elsewhere"
lists the other cases holding the one selected entity (``other_occurrences``).

One click on "Open ›" (or a double-click / Enter on a row) asks the main window to go
there (``jumpRequested(case_id, table, ids)``): the other case becomes current and the
matching entity is selected in the tables.

Reads run on the session's read lane, only while the panel is on screen (a hidden or
tabbed-away panel marks itself stale and reloads when shown), so a big database costs
nothing until the officer looks.

Thread: UI thread.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QBrush, QFont, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSplitter,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from workstation.analysis.matching import CaseConnection, MatchReason, Occurrence, case_connections, other_occurrences
from workstation.domain.models import Changes
from workstation.errors import WorkstationError
from ui.errors import describe_error, show_error
from ui.formatting import kind_text
from ui.models import HeaderedRows, ListTableModel
from ui.session import Session
from ui.theme import entity_icon, icon, theme_colour
from ui.views.search import HtmlItemDelegate, HtmlRole

Index = QModelIndex | QPersistentModelIndex
GOTO_TEXT = "Open ›"
REFRESH_DELAY_MS = 1500
_TOP = 0  # internalId of a connection row; a reason row stores its parent's row + 1


def reason_icon(reason: MatchReason) -> Any:
    """The picture of a piece of evidence: its identifier kind, media, or a person."""
    if reason.kind.startswith("media"):
        return icon("media")
    if reason.kind == "person":
        return entity_icon("person")
    return entity_icon(reason.key_or_desc.split(":", 1)[0])


def reason_title(reason: MatchReason) -> str:
    """A short name of what is shared ("Phone +1 202-555-0142", "Same picture")."""
    if reason.kind == "identifier":
        kind = reason.key_or_desc.split(":", 1)[0]
        return f"{kind_text(kind)} {reason.label or reason.key_or_desc.split(':', 1)[-1]}"
    if reason.kind == "media_exact":
        return f"Same file {reason.label}".strip()
    if reason.kind == "media_pdq":
        return f"Similar picture {reason.label}".strip()
    if reason.kind == "media_attachment":
        return f"Same file sent in a chat {reason.label}".strip()
    return f"Person {reason.label}".strip()


def only_entities(connections: Sequence[CaseConnection], entity_ids: frozenset[int]) -> list[CaseConnection]:
    """The connections restricted to evidence involving ``entity_ids`` on this side
    (media evidence names media, not entities, and drops out); scores are re-added."""
    out: list[CaseConnection] = []
    for c in connections:
        kept = tuple(r for r in c.reasons if not r.kind.startswith("media") and set(r.this_items) & entity_ids)
        if kept:
            out.append(replace(c, reasons=kept, score=round(sum(r.weight for r in kept), 4)))
    out.sort(key=lambda c: (-c.score, c.other_case_number))
    return out


class ConnectionsModel(HeaderedRows, QAbstractItemModel):
    """Two levels: other cases (score), and under each the reasons (weight, explanation).

    Columns: what (rich text in ``HtmlRole``), score, and a "go there" link column.
    """

    headers = ("Connected case / evidence", "Score", "")
    GOTO_COLUMN = 2

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.connections: list[CaseConnection] = []

    def set_connections(self, connections: Sequence[CaseConnection]) -> None:
        self.beginResetModel()
        self.connections = list(connections)
        self.endResetModel()

    def clear(self) -> None:
        self.set_connections([])

    def connection(self, index: Index) -> CaseConnection | None:
        """The case connection of a row (of a reason row: its parent's)."""
        if not index.isValid():
            return None
        row = index.row() if index.internalId() == _TOP else index.internalId() - 1
        return self.connections[row] if 0 <= row < len(self.connections) else None

    def reason(self, index: Index) -> MatchReason | None:
        if not index.isValid() or index.internalId() == _TOP:
            return None
        c = self.connection(index)
        return c.reasons[index.row()] if c is not None and 0 <= index.row() < len(c.reasons) else None

    # ------------------------------------------------------------------ Qt API
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        if column < 0 or column >= len(self.headers) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, _TOP) if row < len(self.connections) else QModelIndex()
        if parent.internalId() != _TOP or parent.column() != 0:
            return QModelIndex()
        c = self.connections[parent.row()] if 0 <= parent.row() < len(self.connections) else None
        if c is None or row >= len(c.reasons):
            return QModelIndex()
        return self.createIndex(row, column, parent.row() + 1)

    def parent(self, index: Index | None = None) -> Any:  # type: ignore[override]
        if index is None:  # QObject.parent()
            return super().parent()
        if not index.isValid() or index.internalId() == _TOP:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, _TOP)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        if not parent.isValid():
            return len(self.connections)
        if parent.internalId() == _TOP and parent.column() == 0 and 0 <= parent.row() < len(self.connections):
            return len(self.connections[parent.row()].reasons)
        return 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return len(self.headers)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        col = index.column()
        r = self.reason(index)
        c = self.connection(index)
        if c is None:
            return None
        if r is None:  # a connected case
            title = f"{c.other_case_number} — {c.other_case_title}" if c.other_case_title else c.other_case_number
            if role == Qt.ItemDataRole.DisplayRole:
                return (title, f"{c.score:.2f}", GOTO_TEXT)[col]
            if role == HtmlRole and col == 0:
                n = len(c.reasons)
                return (f"<b>{html.escape(title, quote=False)}</b><br><span class='muted'>"
                        f"{n} shared item{'' if n == 1 else 's'}</span>")
            if role == Qt.ItemDataRole.DecorationRole and col == 0:
                return icon("case")
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Go to this case" if col == self.GOTO_COLUMN else \
                    f"{title}\nScore {c.score:.2f} from {len(c.reasons)} shared item(s)"
        else:
            if role == Qt.ItemDataRole.DisplayRole:
                return (r.explanation or reason_title(r), f"{r.weight:.2f}", GOTO_TEXT)[col]
            if role == HtmlRole and col == 0:
                return (f"{html.escape(reason_title(r), quote=False)}<br><span class='muted'>"
                        f"{html.escape(r.explanation, quote=False)}</span>")
            if role == Qt.ItemDataRole.DecorationRole and col == 0:
                return reason_icon(r)
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"Go to this item in {c.other_case_number}" if col == self.GOTO_COLUMN else r.explanation
        if role == Qt.ItemDataRole.ForegroundRole and col == self.GOTO_COLUMN:
            return QBrush(theme_colour("link"))
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and col == self.GOTO_COLUMN:
            f = QFont()
            f.setUnderline(True)
            return f
        return None


class OccurrencesModel(ListTableModel):
    """Other cases holding the selected entity: case, label, kind and a link column."""

    headers = ("Case", "Held as", "Kind", "")
    GOTO_COLUMN = 3

    def cell(self, o: Occurrence, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return (o.case_number, o.label, kind_text(o.kind) if o.kind else "", GOTO_TEXT)[column]
        if role == Qt.ItemDataRole.DecorationRole and column == 1:
            return entity_icon(o.kind or "entity")
        if role == Qt.ItemDataRole.ForegroundRole and column == self.GOTO_COLUMN:
            return QBrush(theme_colour("link"))
        if role == Qt.ItemDataRole.FontRole and column == self.GOTO_COLUMN:
            f = QFont()
            f.setUnderline(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Go to {o.label} in case {o.case_number}" if column == self.GOTO_COLUMN else \
                f"{o.label} ({o.key or 'no key'}) in case {o.case_number}"
        return None


class ConnectionsWidget(QWidget):
    """Connections of the current case (or of the selected entities) and where the
    selected entity occurs elsewhere. See the module docstring."""

    jumpRequested = Signal(int, str, object)   # case id, "case" | "entity" | "media", ids
    loaded = Signal(int)                        # connections shown after a load
    occurrencesLoaded = Signal(int)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.hub = session.hub
        self.all_connections: list[CaseConnection] = []
        self._stale = True
        self._stale_occurrences = True
        self._loaded_case: int | None = None
        self.setObjectName("ConnectionsWidget")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.title_label = QLabel("No case selected")
        self.title_label.setObjectName("sectionLabel")
        bar.addWidget(self.title_label, 1)
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Whole case", "case")
        self.mode_combo.addItem("Selected entities", "entities")
        self.mode_combo.setToolTip("Everything this case shares, or only what the selected entities share")
        bar.addWidget(self.mode_combo)
        self.refresh_button = QToolButton()
        self.refresh_button.setIcon(icon("refresh"))
        self.refresh_button.setToolTip("Look for connections again")
        bar.addWidget(self.refresh_button)
        layout.addLayout(bar)
        self.status_label = QLabel()
        self.status_label.setObjectName("mutedLabel")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.model = ConnectionsModel(self)
        self.view = QTreeView()
        self.view.setObjectName("connectionsView")
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Rows are two lines high: a long explanation stays on its line, cut at the edge
        # (the whole of it is the tooltip), rather than wrapping into a third line that is
        # cut in half.
        self.view.setItemDelegateForColumn(0, HtmlItemDelegate(self.view, wrap=False))
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.splitter.addWidget(self.view)

        occ_box = QWidget()
        ob = QVBoxLayout(occ_box)
        ob.setContentsMargins(0, 0, 0, 0)
        ob.setSpacing(4)
        self.occurrences_label = QLabel("Elsewhere")
        self.occurrences_label.setObjectName("sectionLabel")
        self.occurrences_label.setWordWrap(True)
        ob.addWidget(self.occurrences_label)
        self.occurrences_model = OccurrencesModel(self)
        self.occurrences_view = QTreeView()
        self.occurrences_view.setObjectName("occurrencesView")
        self.occurrences_view.setModel(self.occurrences_model)
        self.occurrences_view.setRootIsDecorated(False)
        self.occurrences_view.setUniformRowHeights(True)
        self.occurrences_view.setAlternatingRowColors(True)
        self.occurrences_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        oh = self.occurrences_view.header()
        oh.setStretchLastSection(False)
        oh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col in (0, 2, 3):
            oh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        ob.addWidget(self.occurrences_view, 1)
        self.splitter.addWidget(occ_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([360, 120])
        layout.addWidget(self.splitter, 1)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self._refresh_if_shown)

        self.mode_combo.currentIndexChanged.connect(lambda _i: self._show_connections())
        self.refresh_button.clicked.connect(self.refresh)
        self.view.clicked.connect(self._clicked)
        self.view.activated.connect(self._activated)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.occurrences_view.clicked.connect(self._occurrence_clicked)
        self.occurrences_view.activated.connect(self._occurrence_activated)
        self.hub.caseSelected.connect(self._case_changed)
        self.hub.entitiesSelected.connect(self._entities_changed)
        session.changed.connect(self._changes)
        session.detached.connect(self.clear)
        session.attached.connect(self._mark_stale)
        self._show_occurrences_hint()

    # ------------------------------------------------------------------ loading
    def _shown(self) -> bool:
        return self.isVisible() and not self.session.is_locked

    def _mark_stale(self) -> None:
        self._stale = True
        self._stale_occurrences = True
        if self._shown():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale or self._loaded_case != self.hub.case_id:
            self.refresh()
        elif self._stale_occurrences:
            self.refresh_occurrences()

    @Slot()
    def _refresh_if_shown(self) -> None:
        if self._shown():
            self.refresh()
        else:
            self._stale = True

    @Slot()
    def refresh(self) -> None:
        """Look for the current case's connections again (and the occurrences)."""
        case_id = self.hub.case_id
        self._stale = False
        self._loaded_case = case_id
        if case_id is None or self.session.is_locked:
            self.all_connections = []
            self.model.clear()
            self.title_label.setText("No case selected")
            self.status_label.setText("Select a case to see which other cases share its identifiers, "
                                      "media and people.")
            self.refresh_occurrences()
            return
        self.status_label.setText("Looking for connections…")

        def failed(exc: BaseException, details: str) -> None:
            if self.hub.case_id != case_id:
                return
            if isinstance(exc, WorkstationError):
                self.all_connections = []
                self.model.clear()
                self.status_label.setText(describe_error(exc)[1])
            else:
                show_error(self, exc, details)

        self.session.read(lambda ws: (ws.get_case(case_id), case_connections(ws, case_id)),
                          lambda result: self._loaded(case_id, *result), key=(self, "connections"),
                          on_error=failed, title="Finding connected cases")
        self.refresh_occurrences()

    def _loaded(self, case_id: int, case: Any, connections: list[CaseConnection]) -> None:
        if case_id != self.hub.case_id:
            return
        self.all_connections = connections
        self.title_label.setText(f"Connections of {case.number}")
        self._show_connections()
        self.loaded.emit(self.model.rowCount())

    def _show_connections(self) -> None:
        entities = self.hub.entities
        per_entity = self.mode_combo.currentData() == "entities"
        shown = only_entities(self.all_connections, entities) if per_entity else self.all_connections
        self.model.set_connections(shown)
        if len(shown) <= 3:
            self.view.expandAll()
        else:
            self.view.expand(self.model.index(0, 0))
        if self._loaded_case is None:
            return
        if per_entity and not entities:
            self.status_label.setText("Select entities in the tables to see what they share with other cases.")
        elif not shown:
            who = "The selected entities are" if per_entity else "This case is"
            self.status_label.setText(f"{who} not connected to any other case.")
        else:
            n = len(shown)
            self.status_label.setText(
                f"{n} connected case{'' if n == 1 else 's'}, strongest first. The score adds up the shared "
                "items, each weighted by how rare it is across cases.")

    def refresh_occurrences(self) -> None:
        """Where the one selected entity occurs in other cases."""
        ids = self.hub.entities
        self._stale_occurrences = False
        if len(ids) != 1 or self.session.is_locked:
            self.occurrences_model.clear()
            self._show_occurrences_hint()
            return
        entity_id = next(iter(ids))
        self.occurrences_label.setText("Elsewhere: looking…")

        def done(result: tuple[Any, list[Occurrence]]) -> None:
            if self.hub.entities != frozenset({entity_id}):
                return
            entity, found = result
            self.occurrences_model.set_items(found)
            n = len(found)
            cases = len({o.case_id for o in found})
            self.occurrences_label.setText(
                f"Elsewhere: {entity.label} is in {cases} other case{'' if cases == 1 else 's'}" if n
                else f"Elsewhere: {entity.label} is in no other case")
            self.occurrencesLoaded.emit(n)

        def failed(exc: BaseException, details: str) -> None:
            if isinstance(exc, WorkstationError):
                self.occurrences_model.clear()
                self.occurrences_label.setText(f"Elsewhere: {describe_error(exc)[1]}")
            else:
                show_error(self, exc, details)

        self.session.read(lambda ws: (ws.get_entity(entity_id), other_occurrences(ws, entity_id)), done,
                          key=(self, "occurrences"), on_error=failed, title="Finding other occurrences")

    def _show_occurrences_hint(self) -> None:
        self.occurrences_label.setText("Elsewhere: select one entity to see the other cases holding it")

    def clear(self) -> None:
        """Forget everything shown (on lock)."""
        self._refresh_timer.stop()
        self.all_connections = []
        self.model.clear()
        self.occurrences_model.clear()
        self._loaded_case = None
        self._stale = True
        self.title_label.setText("No case selected")
        self.status_label.clear()
        self._show_occurrences_hint()

    # ------------------------------------------------------------------ reactions
    @Slot(object, object)
    def _case_changed(self, _case_id: int | None, _origin: object) -> None:
        self.all_connections = []
        self.model.clear()
        if self._shown():
            self.refresh()
        else:
            self._stale = True

    @Slot(frozenset, object)
    def _entities_changed(self, _ids: frozenset[int], _origin: object) -> None:
        if self.mode_combo.currentData() == "entities":
            self._show_connections()
        if self._shown():
            self.refresh_occurrences()
        else:
            self._stale_occurrences = True

    @Slot(object)
    def _changes(self, ch: Changes) -> None:
        # New, deleted, merged or imported records (and renamed people) can create or
        # end a connection; events and notes cannot.
        if ch.table in ("entity", "media", "case", "source") or ch.op == "imported":
            self._refresh_timer.start()

    # ------------------------------------------------------------------ going there
    def _target(self, index: QModelIndex) -> tuple[int, str, list[int]] | None:
        c = self.model.connection(index)
        if c is None:
            return None
        r = self.model.reason(index)
        if r is None:
            return c.other_case_id, "case", []
        # An attachment tie names a message or a seized file on the other side.
        table = r.other_table or ("media" if r.kind.startswith("media") else "entity")
        return c.other_case_id, table, list(r.other_items)

    def go_to(self, index: QModelIndex) -> bool:
        """Jump to the other case (and its item) of the row at ``index``."""
        target = self._target(index)
        if target is None:
            return False
        self.jumpRequested.emit(target[0], target[1], target[2])
        return True

    @Slot(QModelIndex)
    def _clicked(self, index: QModelIndex) -> None:
        if index.column() == ConnectionsModel.GOTO_COLUMN:
            self.go_to(index)

    @Slot(QModelIndex)
    def _activated(self, index: QModelIndex) -> None:
        self.go_to(index)

    @Slot(QModelIndex)
    def _occurrence_clicked(self, index: QModelIndex) -> None:
        if index.column() == OccurrencesModel.GOTO_COLUMN:
            self._occurrence_activated(index)

    @Slot(QModelIndex)
    def _occurrence_activated(self, index: QModelIndex) -> None:
        o = self.occurrences_model.item(index.row())
        if o is not None:
            self.jumpRequested.emit(o.case_id, "entity", [o.entity_id])

    @Slot(QPoint)
    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        c = self.model.connection(index)
        if c is None:
            return
        menu = QMenu(self)
        go = QAction(f"Go to {c.other_case_number}", menu)
        go.triggered.connect(lambda: self.go_to(index))
        menu.addAction(go)
        r = self.model.reason(index)
        if r is not None and not r.kind.startswith("media"):
            here = QAction("Select the item in this case", menu)
            here.triggered.connect(lambda: self.hub.select_entities(r.this_items))
            menu.addAction(here)
        menu.exec(self.view.viewport().mapToGlobal(pos))


__all__ = ["ConnectionsModel", "ConnectionsWidget", "OccurrencesModel", "only_entities"]
