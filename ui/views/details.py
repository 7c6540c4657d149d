"""The details panel: what the focused record is, where it came from, and its history.

The focus follows the shared selection: the entity or event selected last (when one is
selected), else the current case. The panel shows its properties, its provenance
(source file name and row reference, via ``get_source``), its links (for an entity) and
its audit history (``history()``). Everything is read on the read lane.

Thread: UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workstation.domain.models import CaseInfo, Changes, EntityInfo, EventInfo, LinkInfo, SourceInfo
from workstation.domain.service import Workstation
from workstation.errors import NotFound
from ui.formatting import (
    event_time_tooltip,
    format_iso,
    format_ts,
    kind_text,
    provenance_text,
    sharing_text,
)
from ui.describe import event_summary, event_time_text, offset_text, property_rows, role_text
from ui.models import HistoryModel, LinkListModel, PropertiesModel
from ui.session import Session
from ui.theme import entity_icon, event_icon, icon
from ui.widgets import record_list_view


@dataclass
class DetailsData:
    """Everything the panel shows about one record (read on a worker)."""

    table: str
    record: Any
    source: SourceInfo | None = None
    links: list[LinkInfo] = field(default_factory=list)
    others: dict[int, EntityInfo] = field(default_factory=dict)
    history: list[Any] = field(default_factory=list)


def load_details(ws: Workstation, table: str, record_id: int) -> DetailsData | None:
    """Read one record and its context. Thread: worker. None when the record is gone."""
    try:
        if table == "entity":
            rec: Any = ws.get_entity(record_id)
        elif table == "event":
            rec = ws.get_event(record_id)
        else:
            rec = ws.get_case(record_id)
    except NotFound:
        return None
    data = DetailsData(table, rec)
    source_id = getattr(rec, "source_id", None)
    if source_id is not None:
        try:
            data.source = ws.get_source(source_id)
        except NotFound:
            data.source = None
    if table == "entity":
        data.links = ws.list_links(entity_id=record_id, limit=500)
        other_ids = {lk.dst_id if lk.src_id == record_id else lk.src_id for lk in data.links}
        data.others = {e.id: e for e in ws.get_entities(sorted(other_ids))}
    data.history = list(reversed(ws.history(table, record_id, limit=200)))
    return data


def elided(text: str, limit: int) -> str:
    line = text.split("\n", 1)[0]
    return line if len(line) <= limit and line == text else line[:limit].rstrip() + "…"


def entity_title(e: EntityInfo) -> str:
    """The entity's label, with the name a mail header or contact card gave an address
    or number ("Alice Example <alice@example.org>")."""
    name = e.properties.get("display_name")
    if isinstance(name, str) and name.strip() and name.strip() != e.label:
        return f"{name.strip()} <{e.label}>" if e.kind == "email" else f"{e.label} ({name.strip()})"
    return e.label


class DetailsWidget(QWidget):
    """Properties, provenance, links and audit history of the focused record."""

    focusChanged = Signal(str, int, str)      # table, id, label
    addLinkRequested = Signal(int)            # entity id
    deleteLinkRequested = Signal(object)      # LinkInfo
    editRequested = Signal(str, int)          # table, id
    loaded = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.hub = session.hub
        self.focus: tuple[str, int] | None = None
        self.data: DetailsData | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        header = QFrame()
        header.setObjectName("detailsHeader")
        hl = QHBoxLayout(header)
        hl.setContentsMargins(10, 8, 10, 8)
        hl.setSpacing(10)
        self.icon_label = QLabel()
        self.icon_label.setFixedSize(32, 32)
        hl.addWidget(self.icon_label)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        self.title_label = QLabel("Nothing selected")
        self.title_label.setObjectName("sectionLabel")
        self.title_label.setWordWrap(True)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle_label = QLabel("Select a case, an entity or an event.")
        self.subtitle_label.setObjectName("mutedLabel")
        self.subtitle_label.setWordWrap(True)
        titles.addWidget(self.title_label)
        titles.addWidget(self.subtitle_label)
        hl.addLayout(titles, 1)
        self.edit_button = QPushButton(icon("edit"), "Edit…")
        self.edit_button.clicked.connect(self._edit)
        self.edit_button.setEnabled(False)
        hl.addWidget(self.edit_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(header)

        self.provenance_label = QLabel()
        self.provenance_label.setWordWrap(True)
        self.provenance_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.provenance_label.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.provenance_label)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("detailsSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.properties_model = PropertiesModel(self)
        self.properties_view = record_list_view(self.properties_model, (130,))
        self.properties_view.viewport().installEventFilter(self)
        self.splitter.addWidget(self._section("Properties", self.properties_view))

        self.links_model = LinkListModel(self)
        self.links_view = record_list_view(self.links_model, (150, 170))
        links_box = QWidget()
        lb = QVBoxLayout(links_box)
        lb.setContentsMargins(0, 0, 0, 0)
        lb.setSpacing(4)
        lb.addWidget(self.links_view, 1)
        lbtn = QHBoxLayout()
        lbtn.addStretch(1)
        self.add_link_button = QPushButton(icon("link"), "Add link…")
        self.add_link_button.clicked.connect(self._add_link)
        self.delete_link_button = QPushButton(icon("delete"), "Remove link")
        self.delete_link_button.clicked.connect(self._delete_link)
        lbtn.addWidget(self.add_link_button)
        lbtn.addWidget(self.delete_link_button)
        lb.addLayout(lbtn)
        self.links_section = self._section("Links", links_box)
        self.splitter.addWidget(self.links_section)
        self.links_view.doubleClicked.connect(self._open_link)

        self.history_model = HistoryModel(session, self)
        fm = self.fontMetrics()
        # "When" holds a whole timestamp (it was cut at the minutes).
        self.history_view = record_list_view(
            self.history_model, (fm.horizontalAdvance("2024-01-08 04:08:00") + 24, 80, 110))
        self.history_empty_label = QLabel()
        self.history_empty_label.setObjectName("mutedLabel")
        self.history_empty_label.setWordWrap(True)
        self.history_empty_label.hide()
        history_box = QWidget()
        hb = QVBoxLayout(history_box)
        hb.setContentsMargins(0, 0, 0, 0)
        hb.setSpacing(4)
        hb.addWidget(self.history_empty_label)
        hb.addWidget(self.history_view, 1)
        self.splitter.addWidget(self._section("History (audit trail)", history_box))
        self.splitter.setSizes([260, 160, 180])
        # Room to spare goes to the properties, the part read most.
        self.splitter.setStretchFactor(0, 3)
        layout.addWidget(self.splitter, 1)

        self.hub.entitiesSelected.connect(self._entities)
        self.hub.eventsSelected.connect(self._events)
        self.hub.caseSelected.connect(self._case)
        session.changed.connect(self._changes)
        session.detached.connect(self.clear)
        session.settingsChanged.connect(lambda _s: self.reload())
        self.links_view.selectionModel().selectionChanged.connect(lambda *_: self._refresh_buttons())
        self.clear()

    # ------------------------------------------------------------------ building blocks
    @staticmethod
    def _section(title: str, body: QWidget) -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(8, 4, 8, 6)
        v.setSpacing(4)
        label = QLabel(title)
        label.setObjectName("sectionLabel")
        v.addWidget(label)
        v.addWidget(body, 1)
        return box

    # ------------------------------------------------------------------ focus
    def show_record(self, table: str, record_id: int | None) -> None:
        """Focus ``table``/``record_id`` (None: fall back to the current case)."""
        if record_id is None:
            case_id = self.hub.case_id
            self.focus = ("case", case_id) if case_id is not None else None
        else:
            self.focus = (table, record_id)
        self.reload()

    @Slot(frozenset, object)
    def _entities(self, ids: frozenset[int], origin: object) -> None:
        if ids:
            current = getattr(origin, "current_id", lambda: None)()
            self.show_record("entity", current if current in ids else min(ids))
        elif self.focus and self.focus[0] == "entity":
            self._fallback()

    @Slot(frozenset, object)
    def _events(self, ids: frozenset[int], origin: object) -> None:
        if ids:
            current = getattr(origin, "current_id", lambda: None)()
            self.show_record("event", current if current in ids else min(ids))
        elif self.focus and self.focus[0] == "event":
            self._fallback()

    def _fallback(self) -> None:
        if self.hub.entities:
            self.show_record("entity", min(self.hub.entities))
        elif self.hub.events:
            self.show_record("event", min(self.hub.events))
        else:
            self.show_record("case", None)

    @Slot(object, object)
    def _case(self, case_id: int | None, _origin: object) -> None:
        self.show_record("case", None)

    @Slot(object)
    def _changes(self, ch: Changes) -> None:
        if self.focus is None:
            return
        table, rid = self.focus
        if ch.table == table and rid in ch.ids or ch.table == "link" and table == "entity":
            self.reload()

    def reload(self) -> None:
        if self.focus is None or self.session.is_locked:
            self.clear()
            return
        table, rid = self.focus
        self.session.read(lambda ws: load_details(ws, table, rid), self._loaded, key=self,
                          title="Loading details")

    # ------------------------------------------------------------------ display
    def clear(self) -> None:
        self.data = None
        self.icon_label.clear()
        self.title_label.setText("Nothing selected")
        self.subtitle_label.setText("Select a case, an entity or an event.")
        self.provenance_label.clear()
        self.provenance_label.hide()
        self.properties_model.clear()
        self.links_model.clear()
        self.history_model.clear()
        self.history_empty_label.hide()
        self.links_section.hide()
        self._refresh_buttons()

    def _loaded(self, data: DetailsData | None) -> None:
        if data is None:
            self._fallback() if self.focus and self.focus[0] != "case" else self.clear()
            return
        self.data = data
        tz = self.session.settings.display_timezone
        rec = data.record
        if data.table == "entity":
            e: EntityInfo = rec
            self.icon_label.setPixmap(entity_icon(e.kind).pixmap(32, 32))
            self.title_label.setText(entity_title(e))
            self.title_label.setToolTip("")
            self.subtitle_label.setToolTip("")
            self.subtitle_label.setText(f"{kind_text(e.kind)} · entity #{e.id}")
            pairs: list[tuple[str, Any] | tuple[str, Any, str | None]] = [
                ("Kind", kind_text(e.kind)), ("Label", e.label), ("Key", e.key or "—"),
                ("Created", format_iso(e.created_at, tz)), ("Keep local", "yes" if e.keep_local else "no")]
            if e.merged_into is not None:
                pairs.append(("Merged into", f"#{e.merged_into}"))
            pairs.extend(property_rows(e.properties, tz))
            pairs.append(("UID", e.uid))
            self.links_model.set_links(e.id, data.links, data.others)
            self.links_section.show()
            focus_label = e.label
        elif data.table == "event":
            ev: EventInfo = rec
            self.icon_label.setPixmap(event_icon(ev.kind).pixmap(32, 32))
            summary = event_summary(ev.kind, ev.title, ev.body, ev.properties)
            shown = elided(summary, 120)
            self.title_label.setText(shown)
            self.title_label.setToolTip(summary if shown != summary else "")
            time_text, time_tip = event_time_text(ev, tz)
            self.subtitle_label.setText(f"{kind_text(ev.kind)} · {time_text} · event #{ev.id}")
            pairs = [("Kind", kind_text(ev.kind)),
                     ("Time", time_text, time_tip),
                     ("Source offset", offset_text(ev)),
                     ("Title", ev.title or "—")]
            if ev.body:
                pairs.append(("Text", ev.body))
            for p in ev.parties:
                pairs.append((role_text(p.role), f"{p.label} — {kind_text(p.kind)}"))
            pairs.extend(property_rows(ev.properties, tz, skip=("time_zone_assumed", "time_precision")))
            pairs.append(("UID", ev.uid))
            self.links_model.clear()
            self.links_section.hide()
            self.subtitle_label.setToolTip(event_time_tooltip(ev, tz))
            focus_label = self.title_label.text()
        else:
            c: CaseInfo = rec
            self.icon_label.setPixmap(icon("case").pixmap(32, 32))
            self.title_label.setText(f"{c.number} — {c.title}")
            self.title_label.setToolTip("")
            self.subtitle_label.setToolTip("")
            self.subtitle_label.setText(f"Case · {c.status} · {sharing_text(c)}")
            pairs = [("Number", c.number), ("Title", c.title), ("Status", c.status),
                     ("Agency", c.agency or "—"), ("Lead officer", c.lead_officer or "—"),
                     ("Opened", format_iso(c.opened_at, tz)), ("Closed", format_iso(c.closed_at, tz) or "—"),
                     ("Sharing", sharing_text(c)), ("Case timezone", c.timezone or "—"),
                     ("Summary", c.summary or "—"), ("UID", c.uid)]
            self.links_model.clear()
            self.links_section.hide()
            focus_label = f"case {c.number}"
        self.properties_model.set_pairs(pairs)
        self._fit_property_names()
        self.history_model.set_items(data.history)
        self._explain_history(data)
        if data.table in ("entity", "event"):
            src = data.source
            text = f"<b>Provenance:</b> {provenance_text(src, rec.source_ref)}"
            if src is not None:
                text += (f" — imported by {src.imported_by} on {format_iso(src.imported_at, tz)}"
                         f" with {src.importer}<br><span style='color:gray'>SHA-256 {src.sha256}</span>")
            self.provenance_label.setText(text)
            self.provenance_label.show()
        else:
            self.provenance_label.hide()
        self._refresh_buttons()
        self.focusChanged.emit(data.table, rec.id, focus_label)
        self.loaded.emit()

    def _fit_property_names(self) -> None:
        """Widen the name column to its longest name ("Column “Seller message”", "Reaction
        1 of 2"), up to two fifths of the panel: at a fixed width the names were cut mid-word."""
        view = self.properties_view
        fm = view.fontMetrics()
        names = (self.properties_model.data(self.properties_model.index(r, 0))
                 for r in range(self.properties_model.rowCount()))
        widest = max((fm.horizontalAdvance(str(n)) for n in names), default=0) + 20
        limit = max(130, view.viewport().width() * 2 // 5)
        view.setColumnWidth(0, max(130, min(widest, limit)))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.properties_view.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_property_names()
        return super().eventFilter(watched, event)

    def _explain_history(self, data: DetailsData) -> None:
        """Say why the history is empty instead of showing a bare list."""
        if data.history:
            self.history_empty_label.hide()
            return
        if data.source is not None:
            text = (f"No changes since it was imported (the import is in the audit trail "
                    f"as source #{data.source.id}).")
        else:
            text = "No changes recorded for this record."
        self.history_empty_label.setText(text)
        self.history_empty_label.show()

    def _refresh_buttons(self) -> None:
        has = self.data is not None
        self.edit_button.setEnabled(has)
        is_entity = has and self.data is not None and self.data.table == "entity"
        self.add_link_button.setEnabled(is_entity)
        self.delete_link_button.setEnabled(is_entity and bool(self.links_view.selectionModel().selectedRows()))

    # ------------------------------------------------------------------ actions
    def selected_link(self) -> LinkInfo | None:
        rows = self.links_view.selectionModel().selectedRows()
        return self.links_model.item(rows[0].row()) if rows else None

    @Slot()
    def _add_link(self) -> None:
        if self.data is not None and self.data.table == "entity":
            self.addLinkRequested.emit(self.data.record.id)

    @Slot()
    def _delete_link(self) -> None:
        link = self.selected_link()
        if link is not None:
            self.deleteLinkRequested.emit(link)

    @Slot()
    def _edit(self) -> None:
        if self.data is not None:
            self.editRequested.emit(self.data.table, self.data.record.id)

    def _open_link(self, index: Any) -> None:
        link = self.links_model.item(index.row())
        if link is not None:
            self.hub.select_entities([self.links_model.other_id(link)], origin=self)
