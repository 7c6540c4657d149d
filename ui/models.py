"""Qt item models over the service API.

The two big tables (entities, events) are ``LazyTableModel``s: they hold the id list of
the current query (asked for on the ``read`` lane, so even a million ids never stall the
UI thread), expose rows in steps through ``canFetchMore``/``fetchMore``, and fetch the
rows' values in pages of ``PAGE_ROWS`` through ``get_entities``/``get_events`` only when
a view asks for them, keeping a bounded cache of pages. Sorting and filtering are done by
the service (``entity_ids``/``event_ids`` order and filter parameters); a new query resets
the model, an edit of a shown row refreshes just that row.

The small lists (cases, properties, links, notes, audit history) are plain list models.

Thread: UI thread (models are Qt objects); id lists are computed on the read lane.
"""

from __future__ import annotations

import json
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont

from workstation.domain.models import (
    CaseInfo,
    Changes,
    EntityInfo,
    EventInfo,
    LinkInfo,
    NoteInfo,
)
from workstation.domain.service import Workstation
from workstation.errors import WorkstationError
from ui.formatting import (
    event_time_tooltip,
    format_event_time,
    format_iso,
    format_ts,
    kind_text,
    provenance_text,
    sharing_text,
)
from ui.describe import (
    amount_summary,
    audit_details_text,
    charge_text,
    currency_of,
    display_name,
    event_summary,
    money_text,
)
from ui.session import Session, service_supports
from ui.theme import current_theme, entity_icon, event_icon, sharing_icon

IdRole = Qt.ItemDataRole.UserRole + 1
RecordRole = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex

# Computed once: combining Qt flags builds enum objects, too slow for calls per cell.
_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_NO_FLAGS = Qt.ItemFlag.NoItemFlags
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)
_LAZY_ROLES = frozenset(int(r.value) for r in (
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.FontRole)) | {int(RecordRole)}

_HIGHLIGHT = {"light": "#fef3c7", "dark": "#4a3b12"}
_HIGHLIGHT_TEXT = {"light": "#78350f", "dark": "#fde68a"}


def highlight_brush() -> QBrush:
    """Background of rows linked to the selection in another view (soft amber)."""
    return QBrush(QColor(_HIGHLIGHT[current_theme()]))


@dataclass(frozen=True)
class Column:
    title: str
    sort_key: str | None = None  # the service's ``order`` name; None = not sortable
    width: int = 140


@dataclass(frozen=True)
class Query:
    """What a lazy table shows: one case, filters, and the service sort order."""

    case_id: int | None = None
    text: str = ""
    kind: str | None = None
    entity_id: int | None = None
    order: str = "id"
    descending: bool = False
    start: int | None = None  # UTC microseconds: the time window picked on the timeline
    end: int | None = None


class LazyTableModel(QAbstractTableModel):
    """Id list + lazily fetched, page-cached rows. Subclasses say how to list and fetch.

    Signals: ``idsLoaded(total)`` after a new id list is in place (views then restore
    the selection), ``loadingChanged(bool)`` while a query is running.
    """

    PAGE_ROWS = 100
    EXPOSE_ROWS = 2000
    FIRST_ROWS = 300
    MAX_CACHED_PAGES = 64
    columns: tuple[Column, ...] = ()
    table = ""

    idsLoaded = Signal(int)
    loadingChanged = Signal(bool)

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(parent)
        self.session = session
        self.query = Query(order=self.default_order())
        self._ids = array("q")
        self._exposed = 0
        self._pages: OrderedDict[int, list[Any]] = OrderedDict()
        self._loading = False
        self._partial = False
        self._token = 0
        session.detached.connect(self.clear)
        session.changed.connect(self.on_changes)

    # ------------------------------------------------------------------ to override
    def default_order(self) -> str:
        return "id"

    def list_ids(self, ws: Workstation, query: Query) -> list[int]:  # worker thread
        raise NotImplementedError

    def fetch(self, ws: Workstation, ids: Sequence[int]) -> list[Any]:  # UI thread
        raise NotImplementedError

    def display(self, rec: Any, column: int, role: int) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ queries
    @property
    def loading(self) -> bool:
        return self._loading

    def total(self) -> int:
        """Rows of the whole query (rowCount() is what is exposed so far)."""
        return len(self._ids)

    @property
    def partial(self) -> bool:
        """True while only the first rows are known (the full list is still coming)."""
        return self._partial

    def set_query(self, **changes: Any) -> None:
        """Change case/filter/order and reload (a no-op when nothing changed)."""
        new = replace(self.query, **changes)
        if new != self.query:
            self.query = new
            self.reload()

    def first_ids(self, ws: Workstation, query: Query, n: int) -> list[int] | None:  # worker thread
        """The first ``n`` ids of ``query`` when the service can answer that quickly, else None.

        Lets a huge case show its first rows while the full id list is still being read.
        """
        return None

    def reload(self) -> None:
        """Ask the service for the id list of the current query (read lane).

        When the subclass can list a first screenful cheaply, that arrives first and is
        shown at once; the full list then extends it without a reset.
        """
        q = self.query
        self._token += 1
        token = self._token
        if q.case_id is None or self.session.is_locked:
            self.set_ids([])
            return
        self._set_loading(True)

        def failed(exc: BaseException, details: str) -> None:
            if token == self._token:
                self._set_loading(False)
            from ui.errors import show_error

            show_error(None, exc, details)

        def full() -> None:
            # The array is built on the worker: a million ids must not cost the UI thread.
            self.session.read(lambda ws: array("q", self.list_ids(ws, q)),
                              lambda ids: self._ids_arrived(token, ids),
                              key=(self, "all"), on_error=failed, title=f"Listing {self.table}s")

        def first_done(ids: list[int] | None) -> None:
            self._first_arrived(token, ids)
            if token == self._token:
                full()  # only now: the slow full list must not compete with the first screen

        n = self.FIRST_ROWS
        # A failing quick read stays silent: the full read reports the same problem.
        self.session.read(lambda ws: self.first_ids(ws, q, n), first_done,
                          key=(self, "first"), on_error=lambda _e, _d: first_done(None),
                          title=f"Listing {self.table}s", urgent=True)

    def _first_arrived(self, token: int, ids: list[int] | None) -> None:
        if ids is None or token != self._token or not self._loading:
            return
        self.set_ids(ids, partial=True)

    def _ids_arrived(self, token: int, ids: array) -> None:
        if token != self._token:
            return
        self._set_loading(False)
        if self._partial and len(ids) >= len(self._ids) and ids[:len(self._ids)] == self._ids:
            # Same first rows: extend in place, no reset (the view keeps its scroll and selection).
            self._ids = ids
            self._partial = False
            self.idsLoaded.emit(len(self._ids))
            return
        self.set_ids(ids)

    def _set_loading(self, value: bool) -> None:
        if value != self._loading:
            self._loading = value
            self.loadingChanged.emit(value)

    def set_ids(self, ids: Sequence[int], partial: bool = False) -> None:
        """Show exactly ``ids`` (in this order); values are fetched when first shown.

        ``partial``: these are only the first ids, the rest is on its way.
        """
        self.beginResetModel()
        self._ids = ids if isinstance(ids, array) else array("q", ids)
        self._exposed = min(len(self._ids), self.EXPOSE_ROWS)
        self._pages.clear()
        self._partial = partial
        self.endResetModel()
        self.idsLoaded.emit(len(self._ids))

    def clear(self) -> None:
        """Forget every row (lock, case closed)."""
        self._token += 1
        self.query = replace(self.query, case_id=None)
        self._set_loading(False)
        self.set_ids([])

    # ------------------------------------------------------------------ rows
    def id_at(self, row: int) -> int | None:
        return int(self._ids[row]) if 0 <= row < len(self._ids) else None

    def row_of(self, record_id: int) -> int | None:
        """Row of ``record_id`` in the whole query (exposing rows up to it), or None."""
        try:
            row = self._ids.index(record_id)
        except ValueError:
            return None
        self.ensure_exposed(row)
        return row

    def ensure_exposed(self, row: int) -> None:
        """Grow the exposed rows so that ``row`` is reachable (e.g. to select it)."""
        if row >= self._exposed and row < len(self._ids):
            end = min(len(self._ids), (row // self.EXPOSE_ROWS + 1) * self.EXPOSE_ROWS)
            self.beginInsertRows(QModelIndex(), self._exposed, end - 1)
            self._exposed = end
            self.endInsertRows()

    def record(self, row: int) -> Any | None:
        """The value object of ``row`` (fetching its page now if needed), None if gone."""
        if not 0 <= row < self._exposed:
            return None
        page = row // self.PAGE_ROWS
        cached = self._pages.get(page)
        if cached is None:
            cached = self._load_page(page)
            if cached is None:
                return None
        else:
            self._pages.move_to_end(page)
        return cached[row - page * self.PAGE_ROWS]

    def _load_page(self, page: int) -> list[Any] | None:
        if self.session.is_locked:
            return None
        start = page * self.PAGE_ROWS
        ids = list(self._ids[start:start + self.PAGE_ROWS])
        try:
            found = {rec.id: rec for rec in self.fetch(self.session.ws, ids)}
        except WorkstationError:
            return None  # locked or gone meanwhile: show blanks, the next reload fixes it
        rows = [found.get(i) for i in ids]
        self._pages[page] = rows
        while len(self._pages) > self.MAX_CACHED_PAGES:
            self._pages.popitem(last=False)
        return rows

    def refresh_ids(self, ids: Sequence[int]) -> None:
        """Re-fetch rows whose record changed (an edit) and repaint only them."""
        wanted = set(ids)
        for page, rows in list(self._pages.items()):
            hit = [i for i, rec in enumerate(rows) if rec is not None and rec.id in wanted]
            if hit:
                del self._pages[page]
                first = page * self.PAGE_ROWS
                top = self.index(first + min(hit), 0)
                bottom = self.index(first + max(hit), self.columnCount() - 1)
                self.dataChanged.emit(top, bottom)

    def repaint_all(self, roles: Sequence[int] = ()) -> None:
        if self._exposed:
            self.dataChanged.emit(self.index(0, 0), self.index(self._exposed - 1, self.columnCount() - 1),
                                  list(roles))

    def on_changes(self, ch: Changes) -> None:
        """React to a committed mutation: reload for creations/deletions/imports/merges of
        this case, refresh just the rows of an edit."""
        if self.query.case_id is None or (ch.case_id is not None and ch.case_id != self.query.case_id):
            return
        if ch.table == self.table:
            if ch.op == "updated":
                self.refresh_ids(ch.ids)
            else:
                self.reload()
        elif ch.op in ("imported", "merged", "unmerged"):
            self.reload()
        elif ch.table == "entity" and self.table == "event":
            # party labels may have changed: drop cached rows, repaint what is shown
            self._pages.clear()
            self.repaint_all()

    # ------------------------------------------------------------------ Qt API
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._exposed

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and self._exposed < len(self._ids)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if parent.isValid() or self._exposed >= len(self._ids):
            return
        end = min(len(self._ids), self._exposed + self.EXPOSE_ROWS)
        self.beginInsertRows(QModelIndex(), self._exposed, end - 1)
        self._exposed = end
        self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.columns[section].title
            if role == Qt.ItemDataRole.ToolTipRole:
                col = self.columns[section]
                return f"Sort by {col.title.lower()}" if col.sort_key else f"{col.title} (not sortable)"
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return section + 1
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        return _ROW_FLAGS if index.isValid() else _NO_FLAGS

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self._exposed:
            return None
        if role == IdRole:
            return self.id_at(index.row())
        if int(role) not in _LAZY_ROLES:
            return None
        rec = self.record(index.row())
        if rec is None:
            return "…" if role == Qt.ItemDataRole.DisplayRole and index.column() == 0 else None
        if role == RecordRole:
            return rec
        return self.display(rec, index.column(), role)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort through the service; columns without a service order are ignored."""
        if not 0 <= column < len(self.columns) or self.columns[column].sort_key is None:
            return
        self.set_query(order=self.columns[column].sort_key,
                       descending=order == Qt.SortOrder.DescendingOrder)

    def sort_column(self) -> int:
        """The column matching the current service order (-1 if none)."""
        for i, col in enumerate(self.columns):
            if col.sort_key == self.query.order:
                return i
        return -1


class EntityTableModel(LazyTableModel):
    """Entities of the current case. Highlights the parties of the selected events."""

    columns = (Column("Label", "label", 200), Column("Kind", "kind", 104), Column("Key", "key", 200),
               Column("Created", "created_at", 150), Column("Source", None, 180))
    table = "entity"

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(session, parent)
        self._highlight: frozenset[int] = frozenset()
        session.settingsChanged.connect(lambda _s: self.repaint_all())

    def default_order(self) -> str:
        return "label"

    def list_ids(self, ws: Workstation, query: Query) -> list[int]:
        assert query.case_id is not None
        return ws.entity_ids(query.case_id, kind=query.kind, text=query.text or None,
                             order=query.order, descending=query.descending)

    def fetch(self, ws: Workstation, ids: Sequence[int]) -> list[EntityInfo]:
        return ws.get_entities(ids)

    def set_highlight(self, entity_ids: frozenset[int]) -> None:
        """Mark these entities (parties of the events selected elsewhere)."""
        if entity_ids != self._highlight:
            self._highlight = entity_ids
            self.repaint_all([Qt.ItemDataRole.BackgroundRole])

    @property
    def highlighted(self) -> frozenset[int]:
        return self._highlight

    def is_highlighted(self, row: int) -> bool:
        rec = self.record(row)
        return rec is not None and rec.id in self._highlight

    def display(self, rec: EntityInfo, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.BackgroundRole:
            return highlight_brush() if rec.id in self._highlight else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor(_HIGHLIGHT_TEXT[current_theme()])) if rec.id in self._highlight else None
        if role == Qt.ItemDataRole.FontRole:
            return None
        tz = self.session.settings.display_timezone
        if role == Qt.ItemDataRole.DecorationRole:
            return entity_icon(rec.kind) if column == 0 else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 4 and rec.source_id is not None:
                src = self.session.source(rec.source_id)
                return f"Imported from {provenance_text(src, rec.source_ref)}" + (
                    f"\nSHA-256 {src.sha256}" if src else "")
            name = display_name(rec.properties)
            return f"{kind_text(rec.kind)}: {rec.label}" + (f"\nName given by the source: {name}" if name else "") \
                + (f"\nKey: {rec.key}" if rec.key else "")
        if column == 0:
            name = display_name(rec.properties)
            return f"{rec.label} ({name})" if name and name != rec.label else rec.label
        if column == 1:
            return kind_text(rec.kind)
        if column == 2:
            return rec.key or ""
        if column == 3:
            return format_iso(rec.created_at, tz)
        if column == 4:
            return provenance_text(self.session.source(rec.source_id), rec.source_ref) if rec.source_id else ""
        return None


class EventTableModel(LazyTableModel):
    """Events of the current case in time order. Highlights events of selected entities.

    The text filter uses the service's ``event_ids(text=…)`` when the core offers it;
    otherwise titles and bodies are scanned on the read lane (slow for huge cases).
    """

    columns = (Column("Time", "ts_utc", 150), Column("Kind", "kind", 118), Column("Title", "title", 280),
               Column("Parties", None, 240), Column("Source", None, 180))
    table = "event"
    SCAN_PAGE = 5000

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(session, parent)
        self._highlight: frozenset[int] = frozenset()
        session.settingsChanged.connect(self._settings_changed)

    def _settings_changed(self, _settings: Any) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 0)
        self.repaint_all()

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # The zone the times are written in, where the officer reads them.
        if section == 0 and orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return f"Time ({self.session.settings.display_timezone or 'UTC'})"
        return super().headerData(section, orientation, role)

    def default_order(self) -> str:
        return "ts_utc"

    def list_ids(self, ws: Workstation, query: Query) -> list[int]:
        assert query.case_id is not None
        kinds = [query.kind] if query.kind else None
        kwargs: dict[str, Any] = {"kinds": kinds, "entity_id": query.entity_id,
                                  "order": query.order, "descending": query.descending,
                                  "start": query.start, "end": query.end}
        if not query.text:
            return ws.event_ids(query.case_id, **kwargs)
        if service_supports(ws.event_ids, "text"):  # a newer core searches text itself
            return ws.event_ids(query.case_id, **{**kwargs, "text": query.text})
        return self._scan_text(ws, query, kinds)

    def first_ids(self, ws: Workstation, query: Query, n: int) -> list[int] | None:
        if query.case_id is None or query.text:
            return None
        kinds = [query.kind] if query.kind else None
        if service_supports(ws.event_ids, "limit"):
            limited: dict[str, Any] = {"kinds": kinds, "entity_id": query.entity_id, "order": query.order,
                                       "descending": query.descending, "limit": n,
                                       "start": query.start, "end": query.end}
            return ws.event_ids(query.case_id, **limited)
        if query.order != "ts_utc" or query.descending or query.start is not None or query.end is not None:
            return None
        # list_events walks the same (ts_utc, id) order and stops after n rows.
        return [ev.id for ev in ws.list_events(query.case_id, kinds=kinds, entity_id=query.entity_id,
                                               limit=n, with_parties=False)]

    def _scan_text(self, ws: Workstation, query: Query, kinds: list[str] | None) -> list[int]:
        assert query.case_id is not None
        needle = query.text.casefold()
        wanted: set[int] = set()
        offset = 0
        while True:
            rows = ws.list_events(query.case_id, kinds=kinds, entity_id=query.entity_id, offset=offset,
                                  limit=self.SCAN_PAGE, with_parties=False)
            for ev in rows:
                if needle in (ev.title or "").casefold() or needle in (ev.body or "").casefold() \
                        or needle in ev.kind:
                    wanted.add(ev.id)
            if len(rows) < self.SCAN_PAGE:
                break
            offset += self.SCAN_PAGE
        ordered = ws.event_ids(query.case_id, kinds=kinds, entity_id=query.entity_id,
                               order=query.order, descending=query.descending)
        return [i for i in ordered if i in wanted]

    def fetch(self, ws: Workstation, ids: Sequence[int]) -> list[EventInfo]:
        return ws.get_events(ids)

    def set_highlight(self, entity_ids: frozenset[int]) -> None:
        """Mark events where any of these entities is a party."""
        if entity_ids != self._highlight:
            self._highlight = entity_ids
            self.repaint_all([Qt.ItemDataRole.BackgroundRole])

    def is_highlighted(self, row: int) -> bool:
        rec = self.record(row)
        return rec is not None and any(p.entity_id in self._highlight for p in rec.parties)

    def display(self, rec: EventInfo, column: int, role: int) -> Any:
        involved = bool(self._highlight) and any(p.entity_id in self._highlight for p in rec.parties)
        if role == Qt.ItemDataRole.BackgroundRole:
            return highlight_brush() if involved else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor(_HIGHLIGHT_TEXT[current_theme()])) if involved else None
        if role == Qt.ItemDataRole.FontRole:
            return None
        tz = self.session.settings.display_timezone
        if role == Qt.ItemDataRole.DecorationRole:
            return event_icon(rec.kind) if column == 1 else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return event_time_tooltip(rec, tz)
            if column == 3:
                return "\n".join(f"{p.role}: {p.label} ({kind_text(p.kind)})" for p in rec.parties) or None
            if column == 2:
                text = rec.body or rec.title or event_summary(rec.kind, rec.title, rec.body, rec.properties)
                if rec.properties.get("amount") not in (None, ""):
                    text += f"\nAmount: {money_text(rec.properties['amount'], currency_of(rec.properties))}"
                charges = rec.properties.get("charges")
                if isinstance(charges, list):
                    text += "".join(f"\nCharge: {charge_text(c)}" for c in charges if isinstance(c, dict))
                return text
            if column == 4 and rec.source_id is not None:
                return f"Imported from {provenance_text(self.session.source(rec.source_id), rec.source_ref)}"
            return None
        if column == 0:
            return format_event_time(rec, tz)
        if column == 1:
            return kind_text(rec.kind)
        if column == 2:
            text = event_summary(rec.kind, rec.title, (rec.body or "").lstrip(), rec.properties)
            text = text.splitlines()[0] if text else ""
            text = text if len(text) <= 200 else text[:200] + "…"
            amount = amount_summary(rec.properties)
            return f"{text} · {amount}" if amount else text
        if column == 3:
            return ", ".join(f"{p.label}" for p in rec.parties[:4]) + (" …" if len(rec.parties) > 4 else "")
        if column == 4:
            return provenance_text(self.session.source(rec.source_id), rec.source_ref) if rec.source_id else ""
        return None


# ---------------------------------------------------------------------- small list models
class HeaderedRows:
    """For the app's read-only item models: horizontal headers from ``self.headers`` and
    rows that can be selected but not edited. Put it before the Qt base class."""

    headers: Sequence[str]

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.headers)):
            return self.headers[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        return _ROW_FLAGS if index.isValid() else _NO_FLAGS


class ListTableModel(HeaderedRows, QAbstractTableModel):
    """A fully loaded list of value objects shown in columns. Subclasses define cells."""

    headers: tuple[str, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.items: list[Any] = []

    def set_items(self, items: Sequence[Any]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def clear(self) -> None:
        self.set_items([])

    def update_items(self, items: Sequence[Any]) -> None:
        """Same rows with new values (e.g. counts arrived): repaint without a reset."""
        if len(items) != len(self.items):
            self.set_items(items)
            return
        self.items = list(items)
        if self.items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.items) - 1, self.columnCount() - 1))

    def item(self, row: int) -> Any | None:
        return self.items[row] if 0 <= row < len(self.items) else None

    def row_of(self, record_id: int) -> int | None:
        for i, it in enumerate(self.items):
            if getattr(it, "id", None) == record_id:
                return i
        return None

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.items):
            return None
        it = self.items[index.row()]
        if role == IdRole:
            return getattr(it, "id", None)
        if role == RecordRole:
            return it
        return self.cell(it, index.column(), role)

    def cell(self, item: Any, column: int, role: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class CaseListModel(ListTableModel):
    """Cases with status, counts and the sharing choice (icon and words)."""

    headers = ("Case", "Title", "Status", "Entities", "Events", "Sharing")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.counts_known = True  # False while the list shown came without counts

    def cell(self, c: CaseInfo, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if column in (3, 4) and not self.counts_known:
                return "…"
            return (c.number, c.title, c.status.capitalize(), f"{c.entity_count:,}", f"{c.event_count:,}",
                    sharing_text(c))[column]
        if role == Qt.ItemDataRole.DecorationRole and column in (0, 5):
            # The sharing choice leads the row: it must be visible for every case.
            return sharing_icon("local" if c.keep_local else c.sharing)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (3, 4):
            return _RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{c.number} — {c.title}", f"Status: {c.status}", f"Sharing: {sharing_text(c)}"]
            if self.counts_known:
                lines.append(f"{c.entity_count:,} entities, {c.event_count:,} events")
            if c.agency:
                lines.append(f"Agency: {c.agency}")
            if c.lead_officer:
                lines.append(f"Lead officer: {c.lead_officer}")
            return "\n".join(lines)
        if role == Qt.ItemDataRole.ForegroundRole and c.status == "closed":
            return QBrush(QColor("#9ca3af"))
        if role == Qt.ItemDataRole.FontRole and column == 0:
            f = QFont()
            f.setBold(True)
            return f
        return None


class PropertiesModel(ListTableModel):
    """(name, value) pairs of a record for the details panel."""

    headers = ("Property", "Value")

    def set_pairs(self, pairs: Sequence[tuple[str, Any] | tuple[str, Any, str | None]]) -> None:
        """(name, value) or (name, value, detail) rows; the detail is the value's tooltip
        (the full text behind a one-line summary)."""
        self.set_items([(str(p[0]), p[1], p[2] if len(p) > 2 else None) for p in pairs])

    def cell(self, item: tuple[str, Any, str | None], column: int, role: int) -> Any:
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            name, value, detail = item
            if column == 0:
                return name
            if isinstance(value, (dict, list, tuple)):
                text = json.dumps(value, ensure_ascii=False, default=str)
            else:
                text = "" if value is None else str(value)
            if role == Qt.ItemDataRole.ToolTipRole and detail and detail != text:
                return f"{text}\n\n{detail}"
            return text
        return None


class LinkListModel(ListTableModel):
    """Links of one entity, shown from its side: direction, kind, other entity, confidence."""

    headers = ("Link", "Other entity", "Confidence")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.entity_id: int | None = None
        self.labels: dict[int, EntityInfo] = {}

    def set_links(self, entity_id: int, links: Sequence[LinkInfo], others: dict[int, EntityInfo]) -> None:
        self.entity_id = entity_id
        self.labels = dict(others)
        self.set_items(links)

    def other_id(self, link: LinkInfo) -> int:
        return link.dst_id if link.src_id == self.entity_id else link.src_id

    def cell(self, lk: LinkInfo, column: int, role: int) -> Any:
        other = self.labels.get(self.other_id(lk))
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                arrow = "→" if lk.src_id == self.entity_id else "←"
                return f"{arrow} {lk.kind.replace('_', ' ')}"
            if column == 1:
                return other.label if other else f"#{self.other_id(lk)}"
            if column == 2:
                return f"{lk.confidence:.0%}"
        if role == Qt.ItemDataRole.DecorationRole and column == 1 and other is not None:
            return entity_icon(other.kind)
        return None


class NoteListModel(ListTableModel):
    """Notes on one target, newest last: time, author and the first line."""

    headers = ("Written", "By", "Note")

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(parent)
        self.session = session

    def cell(self, n: NoteInfo, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return format_iso(n.updated_at or n.created_at, self.session.settings.display_timezone)
            if column == 1:
                return n.author
            if column == 2:
                first = n.body.strip().splitlines()[0] if n.body.strip() else ""
                return first[:160]
        if role == Qt.ItemDataRole.ToolTipRole and column == 2:
            return n.body
        return None


class HistoryModel(ListTableModel):
    """Audit entries about one record (who did what, when)."""

    headers = ("When", "Who", "What", "Details")

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(parent)
        self.session = session

    def cell(self, entry: Any, column: int, role: int) -> Any:
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if column == 0:
                return format_iso(entry.at, self.session.settings.display_timezone)
            if column == 1:
                return entry.actor
            if column == 2:
                return entry.action
            if column == 3:
                # In words ("Label: A → B"), not the JSON the audit trail stores.
                return audit_details_text(entry.details or {})
        return None


def ids_from_indexes(model: Any, rows: Sequence[int]) -> list[int]:
    out: list[int] = []
    for r in rows:
        rid = model.id_at(r) if hasattr(model, "id_at") else getattr(model.item(r), "id", None)
        if rid is not None:
            out.append(rid)
    return out


OnIds = Callable[[list[int]], None]
