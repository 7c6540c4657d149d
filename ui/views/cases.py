"""The case navigator: every case with status, entity/event counts and sharing state.

Selecting a case makes it current in the ``SelectionHub`` (every other view follows).
Counts are refreshed on the read lane after edits, a little later so a burst of edits
costs one query.

Thread: UI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QHeaderView,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from workstation.domain.models import CaseInfo, Changes
from ui.models import CaseListModel
from ui.session import Session
from ui.widgets import record_list_view

REFRESH_DELAY_MS = 400


class CaseNavigatorWidget(QWidget):
    """List of cases; the selected one is the current case of the session."""

    casesLoaded = Signal(int)
    activated = Signal(int)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.hub = session.hub
        self.model = CaseListModel(self)
        self._syncing = False
        self._wanted_case: int | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        bar = QHBoxLayout()
        self.summary_label = QLabel()
        self.summary_label.setObjectName("mutedLabel")
        bar.addWidget(self.summary_label, 1)
        self.closed_check = QCheckBox("Show closed")
        self.closed_check.setChecked(True)
        self.closed_check.toggled.connect(lambda _b: self.reload())
        bar.addWidget(self.closed_check)
        layout.addLayout(bar)

        self.view = record_list_view(self.model)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        header = self.view.header()
        header.setStretchLastSection(False)
        for col in range(self.model.columnCount()):
            mode = QHeaderView.ResizeMode.Interactive if col == 1 else QHeaderView.ResizeMode.ResizeToContents
            header.setSectionResizeMode(col, mode)
        self.view.setColumnWidth(1, 128)
        layout.addWidget(self.view, 1)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.reload)

        self.view.selectionModel().selectionChanged.connect(self._view_selection_changed)
        self.view.doubleClicked.connect(lambda idx: self.activated.emit(self.model.items[idx.row()].id))
        self.hub.caseSelected.connect(self._hub_case)
        session.changed.connect(self._changes)
        session.attached.connect(self.reload)
        session.detached.connect(self.model.clear)
        session.detached.connect(lambda: self.summary_label.setText(""))

    # ------------------------------------------------------------------ loading
    @Slot()
    def reload(self) -> None:
        """Ask for the case list (read lane); the current case stays selected.

        The list comes first without counts (instant even for a million events); the
        entity/event counts follow and are filled in place.
        """
        if self.session.is_locked:
            return
        include_closed = self.closed_check.isChecked()

        def counts() -> None:
            self.session.read(lambda ws: ws.list_cases(include_closed=include_closed), self._counts_loaded,
                              key=(self, "counts"), title="Counting case records")

        def fast_done(cases: list[CaseInfo]) -> None:
            self._fast_loaded(cases)
            counts()  # after the list is on screen: counting a big database takes seconds

        if self.model.items:
            counts()
        else:
            self.session.read(lambda ws: ws.list_cases(include_closed=include_closed, with_counts=False),
                              fast_done, key=(self, "list"), title="Listing cases", urgent=True)

    def _fast_loaded(self, cases: list[CaseInfo]) -> None:
        self.model.counts_known = False
        self._loaded(cases)

    def _counts_loaded(self, cases: list[CaseInfo]) -> None:
        self.model.counts_known = True
        if [c.id for c in cases] == [c.id for c in self.model.items]:
            self.model.update_items(cases)
            self.casesLoaded.emit(len(cases))
        else:
            self._loaded(cases)

    def _loaded(self, cases: list[CaseInfo]) -> None:
        self._syncing = True
        try:
            self.model.set_items(cases)
        finally:
            self._syncing = False
        n = len(cases)
        self.summary_label.setText(f"{n} case{'' if n == 1 else 's'}")
        target = self._wanted_case if self._wanted_case is not None else self.hub.case_id
        if target is not None and self.model.row_of(target) is not None:
            self._wanted_case = None
            self.hub.select_case(target, origin=self)
            self._select_row(target)
        elif self.hub.case_id is not None and self.model.row_of(self.hub.case_id) is None:
            self.hub.select_case(None, origin=self)
        self.casesLoaded.emit(n)

    def select_case_later(self, case_id: int) -> None:
        """Select ``case_id`` when it appears (after a create, or after an unlock)."""
        self._wanted_case = case_id
        if self.model.row_of(case_id) is not None:
            self._wanted_case = None
            self.hub.select_case(case_id, origin=self)
            self._select_row(case_id)

    @Slot(object)
    def _changes(self, ch: Changes) -> None:
        if ch.table in ("case", "entity", "event", "link") and ch.op != "updated" or ch.table == "case":
            self._refresh_timer.start()

    # ------------------------------------------------------------------ selection
    def current_case(self) -> CaseInfo | None:
        cid = self.hub.case_id
        row = self.model.row_of(cid) if cid is not None else None
        return self.model.item(row) if row is not None else None

    @Slot(QItemSelection, QItemSelection)
    def _view_selection_changed(self, _s: QItemSelection, _d: QItemSelection) -> None:
        if self._syncing:
            return
        rows = self.view.selectionModel().selectedRows()
        if rows:
            self.hub.select_case(self.model.items[rows[0].row()].id, origin=self)

    @Slot(object, object)
    def _hub_case(self, case_id: int | None, origin: object) -> None:
        if origin is not self and case_id is not None:
            self._select_row(case_id)

    def _select_row(self, case_id: int) -> None:
        row = self.model.row_of(case_id)
        if row is None:
            return
        self._syncing = True
        try:
            self.view.selectionModel().setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        finally:
            self._syncing = False
