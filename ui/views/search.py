"""The search panel: one box over every case, ranked hits with highlighted snippets.

What the officer sees: a search box (Ctrl+F from anywhere in the window), filters for the
scope (this case or all cases), the kind of record and a date range, a line saying how many
records match ("1,000+ matches" when the core stopped counting), and the hits, best first,
each with its title, a snippet whose matched words are in bold, its kind, case and time.
A query the core cannot read (an unclosed quote, a dangling AND…) is explained in that line,
with the column, instead of raising a dialog. Double-click or Enter on a hit opens it in
context (``openRequested``): the main window selects its case and the record in the tables.

Searching runs ``workstation.analysis.search.search`` on the session's read lane; every
request carries the same ``key`` and a generation number, so only the answer to what is
in the box now is ever shown (typing never flashes older results). More hits are read a
page at a time as the list is scrolled (``fetchMore``).

Thread: UI thread. The search itself runs on a worker.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAbstractTextDocumentLayout, QKeyEvent, QPainter, QPalette, QShowEvent, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from workstation.analysis.search import HIGHLIGHT_END, HIGHLIGHT_START, SearchHit, SearchResults, SearchSyntaxError, search
from workstation.domain.models import ENTITY_KINDS, EVENT_KINDS, Changes
from workstation.errors import WorkstationError
from ui.errors import describe_error, show_error
from ui.formatting import PRECISION_FORMAT, TIME_UNKNOWN, format_ts, kind_text, micros_to_datetime, zone
from ui.models import HeaderedRows
from ui.session import Session
from ui.theme import entity_icon, event_icon, icon, theme_colour

PAGE = 50
TYPE_DELAY_MS = 250
REFRESH_DELAY_MS = 800
HtmlRole = Qt.ItemDataRole.UserRole + 20
HitRole = Qt.ItemDataRole.UserRole + 21
Index = QModelIndex | QPersistentModelIndex

QUERY_HELP = ("Words must all occur · \"exact phrase\" · prefix* · a OR b · NOT word · ( … ) · "
              "case:NUMBER · kind:message · from:2024-01 to:2024-03-31")


def snippet_html(snippet: str) -> str:
    """A core snippet (plain text with «…» marks) as rich text: escaped, marks in bold.

    The snippet is HTML-escaped first, so text from evidence can never inject markup.
    """
    out = html.escape(snippet, quote=False)
    opened = out.count(HIGHLIGHT_START) - out.count(HIGHLIGHT_END)
    out = out.replace(HIGHLIGHT_START, "<b>").replace(HIGHLIGHT_END, "</b>")
    return out + "</b>" * max(opened, 0)


def snippet_plain(snippet: str) -> str:
    """The snippet without the highlight marks."""
    return snippet.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")


def hit_icon(hit: SearchHit) -> Any:
    """The picture of a hit: the entity or event kind's icon, a note, a case."""
    if hit.kind == "entity":
        return entity_icon(hit.subkind or "entity")
    if hit.kind == "event":
        return event_icon(hit.subkind or "event")
    return icon("note" if hit.kind == "note" else "case")


def hit_kind_text(hit: SearchHit) -> str:
    if hit.kind in ("entity", "event") and hit.subkind:
        return kind_text(hit.subkind)
    return kind_text(hit.kind)


def hit_time_text(hit: SearchHit, tz_name: str | None) -> str:
    """The hit's time as the event table writes it (``ui.formatting.format_event_time``):
    an event the source dates only to the day (month, year) shows that date in its own
    offset — its stored midnight is no time of day, and in another zone could even read as
    the day before."""
    if hit.ts_utc is None:
        return ""
    fmt = PRECISION_FORMAT.get(hit.time_precision) if hit.time_precision else None
    if fmt is None:
        return format_ts(hit.ts_utc, tz_name)
    own = timezone(timedelta(minutes=hit.utc_offset or 0))
    return f"{micros_to_datetime(hit.ts_utc).astimezone(own).strftime(fmt)} ({TIME_UNKNOWN})"


@dataclass(frozen=True)
class SearchRequest:
    """What was asked: the text and the filters from the panel."""

    text: str
    case_id: int | None = None
    kinds: tuple[str, ...] | None = None
    start: int | None = None
    end: int | None = None

    def run(self, ws: Any, offset: int = 0, limit: int = PAGE) -> SearchResults:
        """Thread: worker."""
        return search(ws, self.text, case_id=self.case_id, kinds=list(self.kinds) if self.kinds else None,
                      start=self.start, end=self.end, limit=limit, offset=offset)


# ---------------------------------------------------------------------- model
class SearchResultsModel(HeaderedRows, QAbstractTableModel):
    """Hits of one search, in rank order; more are asked for page by page.

    ``fetchMore`` does not read anything itself: it emits ``moreRequested(offset)`` and
    the panel answers with ``append``. ``HtmlRole`` on column 0 gives the rich text the
    delegate draws (title and highlighted snippet); ``HitRole`` the ``SearchHit``.
    """

    headers = ("Match", "Kind", "Case", "Time")
    moreRequested = Signal(int)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        session.settingsChanged.connect(lambda _s: self.headerDataChanged.emit(Qt.Orientation.Horizontal, 3, 3))
        self.hits: list[SearchHit] = []
        self.total_estimate = 0
        self.total_capped = False
        self._fetching = False
        self._exhausted = True

    # ------------------------------------------------------------------ content
    def set_results(self, results: SearchResults) -> None:
        self.beginResetModel()
        self.hits = list(results.hits)
        self.total_estimate = results.total_estimate
        self.total_capped = results.total_capped
        self._fetching = False
        self._exhausted = len(results.hits) < PAGE or len(self.hits) >= results.total_estimate
        self.endResetModel()

    def append(self, results: SearchResults) -> None:
        """The next page arrived (hits already shown are skipped)."""
        self._fetching = False
        seen = {(h.kind, h.id) for h in self.hits}
        new = [h for h in results.hits if (h.kind, h.id) not in seen]
        self._exhausted = len(results.hits) < PAGE or not new
        self.total_estimate = max(results.total_estimate, len(self.hits) + len(new))
        self.total_capped = results.total_capped
        if new:
            self.beginInsertRows(QModelIndex(), len(self.hits), len(self.hits) + len(new) - 1)
            self.hits.extend(new)
            self.endInsertRows()

    def fetch_failed(self) -> None:
        self._fetching = False
        self._exhausted = True

    def clear(self) -> None:
        self.beginResetModel()
        self.hits = []
        self.total_estimate = 0
        self.total_capped = False
        self._fetching = False
        self._exhausted = True
        self.endResetModel()

    def hit(self, row: int) -> SearchHit | None:
        return self.hits[row] if 0 <= row < len(self.hits) else None

    def row_of(self, kind: str, record_id: int) -> int | None:
        for i, h in enumerate(self.hits):
            if h.kind == kind and h.id == record_id:
                return i
        return None

    # ------------------------------------------------------------------ Qt API
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.hits)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and bool(self.hits) and not self._exhausted and not self._fetching

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if self.canFetchMore(parent):
            self._fetching = True
            self.moreRequested.emit(len(self.hits))

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # The zone the times are written in, where the officer reads them.
        if section == 3 and orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return f"Time ({self.session.settings.display_timezone or 'UTC'})"
        return super().headerData(section, orientation, role)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.hits):
            return None
        h = self.hits[index.row()]
        col = index.column()
        if role == HitRole:
            return h
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return h.title or snippet_plain(h.snippet)
            if col == 1:
                return hit_kind_text(h)
            if col == 2:
                return h.case_number
            if col == 3:
                return hit_time_text(h, self.session.settings.display_timezone)
            return None
        if role == HtmlRole and col == 0:
            title = h.title.strip()
            plain = snippet_plain(h.snippet).strip()
            marked = snippet_html(h.snippet)
            if not title or title == plain:
                return marked
            return f"{html.escape(title, quote=False)}<br><span class='muted'>{marked}</span>"
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return hit_icon(h)
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return f"{h.title}\n{snippet_plain(h.snippet)}" if h.title else snippet_plain(h.snippet)
        return None


class HtmlItemDelegate(QStyledItemDelegate):
    """Draws ``HtmlRole`` rich text (falls back to the display text) in item views.

    The background, selection and icon are drawn by the style as usual; only the text is
    laid out by a QTextDocument, in the view's font and the palette's (highlighted) text
    colour. ``lines`` sets the row height; ``wrap=False`` keeps each line of the text on
    one line (cut at the cell's edge) instead of wrapping it into lines the row cannot show.
    """

    def __init__(self, parent: QObject | None = None, lines: int = 2, role: int = HtmlRole,
                 wrap: bool = True) -> None:
        super().__init__(parent)
        self.lines = lines
        self.role = role
        self.wrap = wrap

    def _document(self, option: QStyleOptionViewItem, index: Index, width: float) -> QTextDocument | None:
        text = index.data(self.role)
        if text is None:
            return None
        doc = QTextDocument()
        doc.setDocumentMargin(1)
        doc.setDefaultFont(option.font)
        # Secondary text ("muted" class) is grey, except on a selected row where grey on the
        # highlight colour would be unreadable.
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        muted = option.palette.color(QPalette.ColorRole.HighlightedText) if selected else theme_colour("muted")
        doc.setDefaultStyleSheet(f".muted {{ color: {muted.name()}; }}")
        doc.setHtml(str(text))
        if self.wrap:
            doc.setTextWidth(width)
        return doc

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        if index.data(self.role) is None:
            super().paint(painter, option, index)
            return
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, opt.widget)
        doc = self._document(opt, index, rect.width())
        if doc is None:
            return
        ctx = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        ctx.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(role))
        painter.save()
        height = doc.size().height()
        top = rect.top() + max(0.0, (rect.height() - height) / 2)
        painter.translate(rect.left(), top)
        painter.setClipRect(QRectF(0, 0, rect.width(), rect.height()))
        doc.documentLayout().draw(painter, ctx)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        base = super().sizeHint(option, index)
        line = option.fontMetrics.lineSpacing()
        return QSize(base.width(), max(base.height(), line * self.lines + 8))


# ---------------------------------------------------------------------- panel
class SearchPanelWidget(QWidget):
    """Search box, filters, status line and hits (see the module docstring)."""

    openRequested = Signal(object)   # SearchHit
    searched = Signal(int)           # hits shown after an answer arrived (0 for none)
    failed = Signal(str)             # the inline message of a refused query

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.hub = session.hub
        self.request: SearchRequest | None = None
        self._generation = 0
        self._keep: tuple[str, int] | None = None
        self._stale = False
        self.setObjectName("SearchPanelWidget")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        self.query_edit = QLineEdit()
        self.query_edit.setObjectName("searchBox")
        self.query_edit.setPlaceholderText("Search every case: names, identifiers, messages, notes…  (Ctrl+F)")
        self.query_edit.setClearButtonEnabled(True)
        self.query_edit.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.query_edit.setToolTip(QUERY_HELP)
        layout.addWidget(self.query_edit)

        # One row for the filters and the status line, so the hits keep the panel's height.
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.scope_combo = QComboBox()
        self.scope_combo.addItem("All cases", "all")
        self.scope_combo.addItem("This case", "case")
        self.scope_combo.setToolTip("Search every case, or only the case selected in the navigator")
        bar.addWidget(self.scope_combo)
        self.kind_combo = QComboBox()
        self.kind_combo.setToolTip("Only records of this kind")
        self._fill_kinds()
        bar.addWidget(self.kind_combo)
        self.dates_check = QCheckBox("Dates")
        self.dates_check.setToolTip("Only events and notes between these days (display time zone)")
        bar.addWidget(self.dates_check)
        today = QDate.currentDate()
        self.from_edit = QDateEdit(today.addMonths(-1))
        self.to_edit = QDateEdit(today)
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        bar.addWidget(self.from_edit)
        dash = QLabel("–")
        bar.addWidget(dash)
        bar.addWidget(self.to_edit)
        bar.addSpacing(8)
        self.status_label = QLabel()
        self.status_label.setObjectName("mutedLabel")
        self.status_label.setWordWrap(True)
        self.status_label.setMinimumWidth(160)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.status_label, 1)
        layout.addLayout(bar)

        self.model = SearchResultsModel(session, self)
        self.view = QTreeView()
        self.view.setObjectName("searchResults")
        self.view.setModel(self.model)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setIconSize(QSize(18, 18))
        self.view.setToolTip("Double-click a match (or press Enter) to open it in its case")
        self.delegate = HtmlItemDelegate(self.view)
        self.view.setItemDelegateForColumn(0, self.delegate)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.view, 1)

        self._type_timer = QTimer(self)
        self._type_timer.setSingleShot(True)
        self._type_timer.setInterval(TYPE_DELAY_MS)
        self._type_timer.timeout.connect(self.run_search)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(lambda: self.run_search(keep_selection=True))

        self.query_edit.textChanged.connect(lambda _t: self._type_timer.start())
        self.query_edit.returnPressed.connect(self.run_search)
        self.query_edit.installEventFilter(self)
        self.scope_combo.currentIndexChanged.connect(lambda _i: self.run_search())
        self.kind_combo.currentIndexChanged.connect(lambda _i: self.run_search())
        self.dates_check.toggled.connect(self._dates_toggled)
        self.from_edit.dateChanged.connect(lambda _d: self._dates_changed())
        self.to_edit.dateChanged.connect(lambda _d: self._dates_changed())
        self.view.activated.connect(self._activated)  # Enter, and double-click
        self.model.moreRequested.connect(self._fetch_more)
        self.hub.caseSelected.connect(self._case_changed)
        session.changed.connect(self._changes)
        session.detached.connect(self.clear)
        self._show_help()

    def _fill_kinds(self) -> None:
        c = self.kind_combo
        c.addItem("Everything", None)
        c.addItem(icon("event"), "Events", ("event",))
        c.addItem(icon("entity"), "Entities", ("entity",))
        c.addItem(icon("note"), "Notes", ("note",))
        c.addItem(icon("case"), "Cases", ("case",))
        c.insertSeparator(c.count())
        for k in EVENT_KINDS:
            c.addItem(event_icon(k), f"Events: {kind_text(k)}", (k,))
        c.insertSeparator(c.count())
        for k in ENTITY_KINDS:
            c.addItem(entity_icon(k), f"Entities: {kind_text(k)}", (k,))
        c.setMinimumContentsLength(10)
        c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)

    # ------------------------------------------------------------------ public
    def focus_search(self) -> None:
        """Put the cursor in the search box with its text selected (Ctrl+F)."""
        self.query_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query_edit.selectAll()

    def set_query(self, text: str, *, run: bool = True) -> None:
        self.query_edit.setText(text)
        if run:
            self.run_search()

    def current_hit(self) -> SearchHit | None:
        idx = self.view.currentIndex()
        return self.model.hit(idx.row()) if idx.isValid() else None

    def clear(self) -> None:
        """Forget the query and every hit (on lock: nothing of a case stays on screen)."""
        self._generation += 1
        self._type_timer.stop()
        self._refresh_timer.stop()
        self.request = None
        self.query_edit.blockSignals(True)
        self.query_edit.clear()
        self.query_edit.blockSignals(False)
        self.model.clear()
        self._show_help()

    # ------------------------------------------------------------------ searching
    def build_request(self) -> SearchRequest | None:
        """The request for what the panel shows now; None when there is nothing to ask."""
        text = self.query_edit.text().strip()
        if not text:
            return None
        case_id = self.hub.case_id if self.scope_combo.currentData() == "case" else None
        kinds = self.kind_combo.currentData()
        start = end = None
        if self.dates_check.isChecked():
            start, end = self._date_range()
        return SearchRequest(text, case_id, tuple(kinds) if kinds else None, start, end)

    def _date_range(self) -> tuple[int, int]:
        tz = zone(self.session.settings.display_timezone)
        first, last = self.from_edit.date(), self.to_edit.date()
        if last < first:
            first, last = last, first

        def micros(d: QDate) -> int:
            local = datetime(d.year(), d.month(), d.day(), tzinfo=tz)
            return int(local.timestamp() * 1_000_000)
        return micros(first), micros(last.addDays(1))

    @Slot()
    def run_search(self, keep_selection: bool = False) -> None:
        """Ask for the first page of hits of what is in the box (read lane, newest wins)."""
        self._type_timer.stop()
        self._refresh_timer.stop()
        self._stale = False
        self._generation += 1
        generation = self._generation
        req = self.build_request()
        current = self.current_hit()
        self._keep = (current.kind, current.id) if keep_selection and current is not None else None
        self.request = req
        if req is None:
            self.model.clear()
            self._show_help()
            return
        if self.session.is_locked:
            return
        if self.scope_combo.currentData() == "case" and req.case_id is None:
            self.model.clear()
            self._set_status("Select a case in the navigator, or search all cases.", "warningLabel")
            return
        if not keep_selection:
            self._set_status("Searching…", "mutedLabel")

        self.session.read(lambda ws: req.run(ws), lambda r: self._arrived(generation, r),
                          key=(self, "search"), title="Searching",
                          on_error=lambda exc, details: self._failed(generation, exc, details))

    def _arrived(self, generation: int, results: SearchResults) -> None:
        if generation != self._generation:
            return
        self.model.set_results(results)
        self._show_total()
        if self._keep is not None:
            row = self.model.row_of(*self._keep)
            if row is not None:
                self.view.setCurrentIndex(self.model.index(row, 0))
        self._keep = None
        self.searched.emit(len(results.hits))

    def _failed(self, generation: int, exc: BaseException, details: str) -> None:
        if generation != self._generation:
            return
        if isinstance(exc, SearchSyntaxError):
            message = f"Cannot read this search: {exc.reason}"
            if exc.position is not None:
                message += f" (at column {exc.position + 1})"
            message += "."
        elif isinstance(exc, WorkstationError):
            message = describe_error(exc)[1]
        else:
            show_error(self, exc, details)
            return
        self.model.clear()
        self._set_status(message, "errorLabel")
        self.failed.emit(message)

    @Slot(int)
    def _fetch_more(self, offset: int) -> None:
        req = self.request
        if req is None or self.session.is_locked:
            self.model.fetch_failed()
            return
        generation = self._generation

        def done(results: SearchResults) -> None:
            if generation == self._generation:
                self.model.append(results)
                self._show_total()

        def failed(exc: BaseException, details: str) -> None:
            if generation == self._generation:
                self.model.fetch_failed()
                if not isinstance(exc, WorkstationError):
                    show_error(self, exc, details)

        self.session.read(lambda ws: req.run(ws, offset=offset), done, key=(self, "more"),
                          on_error=failed, title="Searching")

    # ------------------------------------------------------------------ status line
    def _set_status(self, text: str, style: str) -> None:
        self.status_label.setObjectName(style)
        self.status_label.setText(text)
        # the stylesheet picks the colour by object name: re-polish after the change
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)

    def _show_help(self) -> None:
        self._set_status(QUERY_HELP, "mutedLabel")

    def _show_total(self) -> None:
        m = self.model
        if not m.hits:
            where = " in this case" if self.request is not None and self.request.case_id is not None else ""
            self._set_status(f"No matches{where}.", "mutedLabel")
            return
        if m.total_capped:
            total = f"{max(m.total_estimate, len(m.hits)):,}+ matches: refine the search to rank them all"
        else:
            n = max(m.total_estimate, len(m.hits))
            total = f"{n:,} match{'' if n == 1 else 'es'}"
        self._set_status(total, "mutedLabel")

    def status_text(self) -> str:
        return self.status_label.text()

    def status_is_error(self) -> bool:
        return self.status_label.objectName() == "errorLabel"

    # ------------------------------------------------------------------ reactions
    def _dates_toggled(self, on: bool) -> None:
        self.from_edit.setEnabled(on)
        self.to_edit.setEnabled(on)
        self.run_search()

    def _dates_changed(self) -> None:
        if self.dates_check.isChecked():
            self._type_timer.start()

    @Slot(object, object)
    def _case_changed(self, _case_id: int | None, _origin: object) -> None:
        if self.scope_combo.currentData() == "case" and self.query_edit.text().strip():
            self.run_search()

    @Slot(object)
    def _changes(self, ch: Changes) -> None:
        # Re-ask quietly after edits and imports, keeping the selected hit, so the list
        # never shows a deleted record or misses a new one for long.
        if self.request is None:
            return
        if self.isVisible():
            self._refresh_timer.start()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale and self.request is not None:
            self.run_search(keep_selection=True)

    @Slot(QModelIndex)
    def _activated(self, index: QModelIndex) -> None:
        hit = self.model.hit(index.row())
        if hit is not None:
            self.openRequested.emit(hit)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Down arrow in the box moves into the hits; Enter there opens one.
        if obj is self.query_edit and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Down and self.model.rowCount() > 0:
                self.view.setFocus(Qt.FocusReason.OtherFocusReason)
                if not self.view.currentIndex().isValid():
                    self.view.setCurrentIndex(self.model.index(0, 0))
                return True
        return super().eventFilter(obj, event)


__all__ = ["HtmlItemDelegate", "SearchPanelWidget", "SearchRequest", "SearchResultsModel", "snippet_html"]
