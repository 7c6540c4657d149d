"""The entity and event tables: filter bar, lazy table, and linked selection.

Each table mirrors the shared ``SelectionHub``: selecting rows publishes their ids;
a selection made elsewhere selects the same records here. Across the two tables the
link is by party: entities selected anywhere highlight the events they take part in,
and events selected anywhere highlight their parties in the entity table.

Thread: UI thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workstation.domain.models import ENTITY_KINDS, EVENT_KINDS
from workstation.errors import WorkstationError
from ui.formatting import kind_text
from ui.models import EntityTableModel, EventTableModel, LazyTableModel
from ui.session import Session
from ui.theme import entity_icon, event_icon, icon

MAX_SYNCED_SELECTION = 5000
FILTER_DELAY_MS = 250


class RecordTableView(QTableView):
    """A fast table for lazy models: fixed row height, no word wrap, row selection."""

    deleteRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(26)
        hh = self.horizontalHeader()
        hh.setHighlightSections(False)
        hh.setStretchLastSection(True)
        hh.setSectionsMovable(True)
        hh.setSortIndicatorShown(True)
        hh.setSectionsClickable(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)


class RecordTableWidget(QWidget):
    """Filter bar + ``RecordTableView`` over a ``LazyTableModel``, synced with the hub."""

    activated = Signal(int)        # a record id (double click / Enter)
    selectionPublished = Signal(list)

    kinds: Sequence[str] = ()
    noun = "record"
    plural = "records"

    def __init__(self, session: Session, model: LazyTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.hub = session.hub
        self.model = model
        self._syncing = False
        self._top_id: int | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(f"Filter {self.plural}…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        bar.addWidget(self.filter_edit, 1)
        self.kind_combo = QComboBox()
        self.kind_combo.addItem("All kinds", None)
        for k in self.kinds:
            self.kind_combo.addItem(self.kind_icon(k), kind_text(k), k)
        self.kind_combo.setMinimumContentsLength(8)
        bar.addWidget(self.kind_combo)
        self.extra_bar(bar)
        self.count_label = QLabel()
        self.count_label.setObjectName("mutedLabel")
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(self.count_label)
        layout.addLayout(bar)

        self.view = RecordTableView()
        self.view.setModel(model)
        for i, col in enumerate(model.columns):
            self.view.setColumnWidth(i, self._time_width(i) if col.sort_key == "ts_utc" else col.width)
        # The time header names the display zone: refit when the zone changes.
        session.settingsChanged.connect(self._fit_time_column)
        layout.addWidget(self.view, 1)
        self._update_sort_indicator()

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self._apply_filter)
        self.filter_edit.textChanged.connect(lambda _t: self._filter_timer.start())
        self.filter_edit.returnPressed.connect(self._apply_filter)
        self.kind_combo.currentIndexChanged.connect(lambda _i: self._apply_filter())
        self.view.horizontalHeader().sectionClicked.connect(self._header_clicked)
        self.view.selectionModel().selectionChanged.connect(self._view_selection_changed)
        self.view.doubleClicked.connect(self._double_clicked)
        model.modelAboutToBeReset.connect(self._remember_top)
        model.idsLoaded.connect(self._ids_loaded)
        model.loadingChanged.connect(lambda _b: self._update_count())
        self.hub.caseSelected.connect(self._case_selected)
        self._update_count()

    # ------------------------------------------------------------------ subclass hooks
    def _time_width(self, column: int) -> int:
        """One timestamp wide, or as wide as the header ("Time (America/Toronto)", bold,
        with the sort arrow) when that is wider: a centred header cut at both ends read
        "me (America/Toront"."""
        stamp = self.view.fontMetrics().horizontalAdvance("2024-01-08 04:08:00") + 34
        header = self.view.horizontalHeader()
        font = QFont(header.font())
        font.setBold(True)
        text = str(self.model.headerData(column, Qt.Orientation.Horizontal) or "")
        return max(stamp, QFontMetrics(font).horizontalAdvance(text) + 40)

    @Slot(object)
    def _fit_time_column(self, _settings: object = None) -> None:
        for i, col in enumerate(self.model.columns):
            if col.sort_key == "ts_utc" and self.view.columnWidth(i) < self._time_width(i):
                self.view.setColumnWidth(i, self._time_width(i))

    def kind_icon(self, kind: str):  # noqa: ANN201 - QIcon
        return entity_icon(kind)

    def extra_bar(self, bar: QHBoxLayout) -> None:
        """Add widgets to the filter bar (subclasses)."""

    def publish(self, ids: list[int]) -> None:
        raise NotImplementedError

    def hub_ids(self) -> frozenset[int]:
        raise NotImplementedError

    # ------------------------------------------------------------------ filter, sort, case
    @Slot(object, object)
    def _case_selected(self, case_id: int | None, _origin: object) -> None:
        self._top_id = None
        self.model.set_query(case_id=case_id)
        if case_id is None:
            self.model.clear()

    @Slot()
    def _apply_filter(self) -> None:
        self._filter_timer.stop()
        self.model.set_query(text=self.filter_edit.text().strip(), kind=self.kind_combo.currentData())

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    @Slot(int)
    def _header_clicked(self, section: int) -> None:
        col = self.model.columns[section]
        if col.sort_key is None:
            self._update_sort_indicator()
            return
        descending = not self.model.query.descending if self.model.query.order == col.sort_key else False
        self.model.set_query(order=col.sort_key, descending=descending)
        self._update_sort_indicator()

    def _update_sort_indicator(self) -> None:
        column = self.model.sort_column()
        order = Qt.SortOrder.DescendingOrder if self.model.query.descending else Qt.SortOrder.AscendingOrder
        self.view.horizontalHeader().setSortIndicator(column, order)

    def _update_count(self) -> None:
        if self.model.loading and self.model.partial:
            self.count_label.setText(f"{self.model.total():,}+ {self.plural}, counting…")
        elif self.model.loading:
            self.count_label.setText("Loading…")
        elif self.model.query.case_id is None:
            self.count_label.setText("")
        else:
            n = self.model.total()
            self.count_label.setText(f"{n:,} {self.noun if n == 1 else self.plural}")

    # ------------------------------------------------------------------ selection sync
    def selected_ids(self) -> list[int]:
        """Ids of the selected rows, in row order (at most MAX_SYNCED_SELECTION)."""
        rows: list[int] = []
        for rng in self.view.selectionModel().selection():  # type: ignore[attr-defined]
            rows.extend(range(rng.top(), rng.bottom() + 1))
            if len(rows) >= MAX_SYNCED_SELECTION:
                break
        rows = sorted(set(rows))[:MAX_SYNCED_SELECTION]
        return [i for i in (self.model.id_at(r) for r in rows) if i is not None]

    def current_id(self) -> int | None:
        idx = self.view.currentIndex()
        ids = self.selected_ids()
        if idx.isValid() and self.model.id_at(idx.row()) in ids:
            return self.model.id_at(idx.row())
        return ids[0] if ids else None

    @Slot(QItemSelection, QItemSelection)
    def _view_selection_changed(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        if self._syncing:
            return
        ids = self.selected_ids()
        self.publish(ids)
        self.selectionPublished.emit(ids)

    def select_ids(self, ids: frozenset[int] | Sequence[int], scroll: bool = True) -> None:
        """Select exactly the rows of ``ids`` (without publishing back to the hub)."""
        self._syncing = True
        try:
            sm = self.view.selectionModel()
            selection = QItemSelection()
            first_row: int | None = None
            for rid in list(ids)[:MAX_SYNCED_SELECTION]:
                row = self.model.row_of(rid)
                if row is None:
                    continue
                selection.select(self.model.index(row, 0),
                                 self.model.index(row, self.model.columnCount() - 1))
                first_row = row if first_row is None else min(first_row, row)
            sm.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            if first_row is not None:
                sm.setCurrentIndex(self.model.index(first_row, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
                if scroll:
                    self.view.scrollTo(self.model.index(first_row, 0),
                                       QAbstractItemView.ScrollHint.EnsureVisible)
        finally:
            self._syncing = False

    @Slot()
    def _remember_top(self) -> None:
        top = self.view.indexAt(self.view.viewport().rect().topLeft())
        self._top_id = self.model.id_at(top.row()) if top.isValid() else None

    @Slot(int)
    def _ids_loaded(self, _total: int) -> None:
        self._update_count()
        self._update_sort_indicator()
        selected = self.hub_ids()
        if self._top_id is not None:
            row = self.model.row_of(self._top_id)
            if row is not None:
                self.view.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtTop)
        self.select_ids(selected, scroll=self._top_id is None)

    @Slot(QModelIndex)
    def _double_clicked(self, index: QModelIndex) -> None:
        rid = self.model.id_at(index.row())
        if rid is not None:
            self.activated.emit(rid)


class EntityTableWidget(RecordTableWidget):
    """Entities of the current case; highlights the parties of selected events."""

    kinds = ENTITY_KINDS
    noun = "entity"
    plural = "entities"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        self.model: EntityTableModel
        super().__init__(session, EntityTableModel(session), parent)
        self.filter_edit.setPlaceholderText("Filter entities by label or key…")
        self.hub.entitiesSelected.connect(self._hub_entities)
        self.hub.eventsSelected.connect(self._hub_events)

    def publish(self, ids: list[int]) -> None:
        self.hub.select_entities(ids, origin=self)

    def hub_ids(self) -> frozenset[int]:
        return self.hub.entities

    @Slot(frozenset, object)
    def _hub_entities(self, ids: frozenset[int], origin: object) -> None:
        if origin is not self:
            self.select_ids(ids)

    @Slot(frozenset, object)
    def _hub_events(self, ids: frozenset[int], _origin: object) -> None:
        parties: set[int] = set()
        if ids and not self.session.is_locked:
            try:
                for ev in self.session.ws.get_events(list(ids)[:500]):
                    parties.update(p.entity_id for p in ev.parties)
            except WorkstationError:
                parties = set()
        self.model.set_highlight(frozenset(parties))


class EventTableWidget(RecordTableWidget):
    """Events of the current case in time order; highlights events of selected entities.

    "Only selected entity" narrows the list to the events of the one selected entity.
    """

    kinds = EVENT_KINDS
    noun = "event"
    plural = "events"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        self.model: EventTableModel
        super().__init__(session, EventTableModel(session), parent)
        self.filter_edit.setPlaceholderText("Filter events by title or text…")
        self.hub.entitiesSelected.connect(self._hub_entities)
        self.hub.eventsSelected.connect(self._hub_events)

    def kind_icon(self, kind: str):  # noqa: ANN201 - QIcon
        return event_icon(kind)

    def extra_bar(self, bar: QHBoxLayout) -> None:
        self.only_selected_check = QCheckBox("Selected entity only")
        self.only_selected_check.setToolTip("Show only the events in which the selected entity takes part")
        self.only_selected_check.toggled.connect(lambda _b: self._apply_entity_filter())
        bar.addWidget(self.only_selected_check)

    def publish(self, ids: list[int]) -> None:
        self.hub.select_events(ids, origin=self)

    def hub_ids(self) -> frozenset[int]:
        return self.hub.events

    def _apply_entity_filter(self) -> None:
        ents = self.hub.entities
        entity = next(iter(ents)) if self.only_selected_check.isChecked() and len(ents) == 1 else None
        self.model.set_query(entity_id=entity)

    @Slot(frozenset, object)
    def _hub_entities(self, ids: frozenset[int], _origin: object) -> None:
        self.model.set_highlight(ids)
        if self.only_selected_check.isChecked():
            self._apply_entity_filter()

    @Slot(frozenset, object)
    def _hub_events(self, ids: frozenset[int], origin: object) -> None:
        if origin is not self:
            self.select_ids(ids)
