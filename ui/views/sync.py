"""Sync with headquarters, as the officer sees it.

* ``SyncStatusWidget`` — the status-bar summary for the current case: its sharing choice,
  its sync state, changes waiting to go, open conflicts (a link to resolve them), when this
  laptop last synced, and deconfliction alerts (other cases — maybe another agency's —
  holding the same identifiers), or "not enrolled" with a link to enrol.
* ``RecordSyncBar`` — in the details panel: the record's sync state and its "keep on this
  laptop" toggle (an undoable edit through the service's ``keep_local`` field).
* ``ConflictsDialog`` — the open conflicts (a field edited here and elsewhere): keep mine,
  keep theirs, or write the value that should hold.
* ``DeconflictionDialog`` — what HQ said: which identifiers another unit holds and whom to
  call (never the other case's contents).
* ``EnrolDialog`` — HQ address and the one-time enrolment code from the HQ administrator.

Everything is read through ``workstation.sync`` on the session's lanes (network work on the
``net`` lane). Secrets of the enrolment never reach the UI: only the HQ address, officer
and agency are copied out on the worker.

Thread: UI thread.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.domain.models import Changes
from workstation.domain.service import Workstation
from workstation.errors import NotFound, UsageError, WorkstationError
from workstation.sync.conflicts import ConflictInfo, list_conflicts, resolve_conflict
from workstation.sync.deconflict import DeconflictHit
from workstation.sync.status import CONFLICT, LOCAL_ONLY, PENDING, SYNCED, CaseSyncStatus, record_sync_state, sync_status
from ui.commands import UpdateCommand, execute
from ui.dialogs import FormDialog
from ui.errors import describe_error, show_error
from ui.formatting import format_iso, kind_text
from ui.models import ListTableModel
from ui.session import Session
from ui.theme import icon, sharing_icon, theme_colour
from ui.widgets import record_list_view

REFRESH_DELAY_MS = 500
STATE_TEXT = {LOCAL_ONLY: "local only", PENDING: "waiting to sync", SYNCED: "synced", CONFLICT: "in conflict"}


@dataclass(frozen=True)
class SyncSummary:
    """What the status bar shows; no secret of the enrolment is in it."""

    enrolled: bool
    hq_url: str | None
    officer: str | None
    agency: str | None
    case: CaseSyncStatus | None
    open_conflicts: int


def load_summary(ws: Workstation, case_id: int | None) -> SyncSummary:
    """Enrolment facts, the case's sync status and all open conflicts. Thread: worker."""
    from workstation.sync.client import load_enrolment

    enr = load_enrolment(ws)
    facts = (enr.hq_url, enr.officer, enr.agency) if enr is not None else (None, None, None)
    del enr  # the object holds the device's keys and token
    case = None
    if case_id is not None:
        try:
            case = sync_status(ws, case_id)
        except NotFound:
            case = None
    return SyncSummary(facts[0] is not None, facts[0], facts[1], facts[2], case, len(list_conflicts(ws)))


def _host(url: str | None) -> str:
    return (urlsplit(url).hostname or url or "") if url else ""


def _short_time(iso: str | None, tz: str | None) -> str:
    return format_iso(iso, tz)[:16] if iso else "never"


# ---------------------------------------------------------------------- status bar
class SyncStatusWidget(QWidget):
    """The sync line of the status bar for the current case (see the module docstring)."""

    conflictsRequested = Signal()
    deconflictionRequested = Signal()
    enrolRequested = Signal()
    loaded = Signal(object)  # SyncSummary

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.hub = session.hub
        self.summary: SyncSummary | None = None
        self.deconfliction: dict[int, list[DeconflictHit]] = {}
        self.setObjectName("SyncStatusWidget")
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 6, 0)
        h.setSpacing(4)
        self.icon_label = QLabel()
        self.icon_label.setFixedSize(16, 16)
        h.addWidget(self.icon_label)
        self.text_label = QLabel()
        self.text_label.setTextFormat(Qt.TextFormat.RichText)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.text_label.linkActivated.connect(self._link)
        h.addWidget(self.text_label)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self.hub.caseSelected.connect(lambda _c, _o: self.refresh())
        session.changed.connect(self._changes)
        session.attached.connect(self.refresh)
        session.detached.connect(self.clear)

    def refresh(self) -> None:
        if self.session.is_locked:
            self.clear()
            return
        case_id = self.hub.case_id

        def failed(exc: BaseException, details: str) -> None:
            if isinstance(exc, WorkstationError):
                self.text_label.setText(f"Sync: {describe_error(exc)[1]}")
            else:
                show_error(self, exc, details)

        self.session.read(lambda ws: load_summary(ws, case_id), lambda s: self._loaded(case_id, s),
                          key=(self, "summary"), on_error=failed, title="Reading sync status")

    def clear(self) -> None:
        self._timer.stop()
        self.summary = None
        self.deconfliction.clear()
        self.icon_label.clear()
        self.text_label.clear()

    def set_deconfliction(self, case_id: int, hits: Sequence[DeconflictHit]) -> None:
        """Remember what HQ said about ``case_id`` (shown while that case is current)."""
        self.deconfliction[case_id] = list(hits)
        if self.summary is not None:
            self._render()

    def _changes(self, ch: Changes) -> None:
        # Any edit of a shared case adds to "waiting"; keep the count honest.
        if self.hub.case_id is not None and (ch.case_id is None or ch.case_id == self.hub.case_id):
            self._timer.start()

    def _loaded(self, case_id: int | None, summary: SyncSummary) -> None:
        if case_id != self.hub.case_id:
            return
        self.summary = summary
        self._render()
        self.loaded.emit(summary)

    def text(self) -> str:
        """The status as plain text (tests, accessibility)."""
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(self.text_label.text())
        return doc.toPlainText()

    def _render(self) -> None:
        s = self.summary
        if s is None:
            return
        tz = self.session.settings.display_timezone
        parts: list[str] = []
        c = s.case
        link = theme_colour("link").name()

        def a(href: str, text: str) -> str:
            return f"<a href='{href}' style='color:{link}'>{text}</a>"

        if c is not None:
            self.icon_label.setPixmap(sharing_icon("local" if c.keep_local else c.sharing).pixmap(16, 16))
            if c.state == LOCAL_ONLY:
                parts.append(f"{c.number}: local only — never sent to HQ")
            else:
                parts.append(f"{c.number}: {STATE_TEXT.get(c.state, c.state)}")
                if c.pending:
                    parts.append(f"{c.pending:,} change{'' if c.pending == 1 else 's'} waiting")
                if c.held:
                    parts.append(f"{c.held:,} held back (kept local)")
                refused = getattr(c, "refused", 0)
                if refused:
                    parts.append(f"{refused:,} refused by HQ")
        else:
            self.icon_label.setPixmap(icon("sharing_hq").pixmap(16, 16))
        if s.open_conflicts:
            n = s.open_conflicts
            parts.append(a("conflicts", f"{n} conflict{'' if n == 1 else 's'} to resolve"))
        if not s.enrolled:
            parts.append("HQ: " + a("enrol", "not enrolled"))
        else:
            last = _short_time(c.last_pull_at or c.last_push_at, tz) if c is not None else None
            parts.append(f"HQ {_host(s.hq_url)}" + (f", last sync {last}" if last else ""))
        hits = self.deconfliction.get(c.case_id) if c is not None else None
        if hits:
            units = len({(h.agency, h.ref) for h in hits})
            parts.append(a("deconflict", f"⚠ {units} other case{'' if units == 1 else 's'} hold the same "
                                         "identifiers"))
        self.text_label.setText(" · ".join(parts))

    @Slot(str)
    def _link(self, href: str) -> None:
        signal = {"conflicts": self.conflictsRequested, "deconflict": self.deconflictionRequested,
                  "enrol": self.enrolRequested}.get(href)
        if signal is not None:
            signal.emit()


# ---------------------------------------------------------------------- details: keep local
class KeepLocalCommand(UpdateCommand):
    """``UpdateCommand(keep_local=…)`` that also notes the value it wrote in ``memory``
    (for records whose info object does not carry ``keep_local``)."""

    def __init__(self, session: Session, table: str, record_id: int, on: bool, text: str,
                 memory: dict[tuple[str, int], bool]) -> None:
        super().__init__(session, table, record_id, {"keep_local": not on}, {"keep_local": on}, text)
        self.memory = memory

    def work_redo(self, ws: Workstation) -> list[Changes]:
        out = super().work_redo(ws)
        self.memory[(self.table, self.record_id)] = bool(self.after["keep_local"])
        return out

    def work_undo(self, ws: Workstation) -> list[Changes]:
        out = super().work_undo(ws)
        self.memory[(self.table, self.record_id)] = bool(self.before["keep_local"])
        return out


def read_record_state(ws: Workstation, table: str, record_id: int, case_id: int) -> tuple[str, bool]:
    """(sync state of the record, whether it reads as kept local). Thread: worker.

    The second value matters for records whose info object has no ``keep_local`` (events
    in this core version): in a shared case, a record that does not travel is kept local.
    """
    if table == "case":
        state = sync_status(ws, record_id).state
        return state, False
    state = record_sync_state(ws, table, record_id)
    case_travels = sync_status(ws, case_id).state != LOCAL_ONLY
    return state, state == LOCAL_ONLY and case_travels


class RecordSyncBar(QWidget):
    """Sync state of the focused record and its keep-local toggle (for the details panel).

    ``set_record(table, record)`` with a CaseInfo / EntityInfo / EventInfo (anything else
    hides the bar). Toggling runs an undoable ``UpdateCommand(keep_local=…)``. The shown
    value comes from the record's ``keep_local`` (cases, entities); for events, whose info
    object does not carry it, from what this session set, else from the sync state.
    """

    stateLoaded = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.table: str | None = None
        self.record: Any = None
        self.memory: dict[tuple[str, int], bool] = {}
        self._inferred = False
        self.setObjectName("RecordSyncBar")
        h = QHBoxLayout(self)
        h.setContentsMargins(10, 2, 10, 4)
        h.setSpacing(8)
        self.keep_local_check = QCheckBox("Keep on this laptop (never sent to HQ)")
        self.keep_local_check.setObjectName("keepLocal")
        h.addWidget(self.keep_local_check)
        h.addStretch(1)
        self.state_label = QLabel()
        self.state_label.setObjectName("mutedLabel")
        h.addWidget(self.state_label)
        self.keep_local_check.toggled.connect(self._toggled)
        session.detached.connect(self._forget)
        session.changed.connect(self._changes)
        self.hide()

    def set_record(self, table: str | None, record: Any) -> None:
        self.table, self.record = table, record
        if table not in ("case", "entity", "event") or record is None:
            self.hide()
            return
        value = getattr(record, "keep_local", None)
        if value is None:
            value = self.memory.get((table, record.id))
        self._inferred = value is None  # decided when the sync state arrives
        self._set_checked(bool(value))
        self.state_label.setText("Sync: …")
        noun = {"case": "this case", "entity": "this entity", "event": "this event"}[table]
        self.keep_local_check.setToolTip(
            f"Keep {noun} on this laptop: it never travels to HQ, even when the case is shared"
            + (" (and nothing of the case travels)" if table == "case" else ""))
        self.show()
        self.refresh_state()

    def _set_checked(self, on: bool) -> None:
        self.keep_local_check.blockSignals(True)
        self.keep_local_check.setChecked(on)
        self.keep_local_check.blockSignals(False)

    def _forget(self) -> None:
        self.memory.clear()
        self.set_record(None, None)

    def refresh_state(self) -> None:
        table, record = self.table, self.record
        if table is None or record is None or self.session.is_locked:
            return
        rid = record.id
        case_id = rid if table == "case" else record.case_id

        def done(result: tuple[str, bool]) -> None:
            state, kept = result
            if self.record is not None and self.record.id == rid and self.table == table:
                if self._inferred:
                    self._set_checked(kept)
                self.state_label.setText(f"Sync: {STATE_TEXT.get(state, state)}")
                self.stateLoaded.emit(state)

        def failed(exc: BaseException, details: str) -> None:
            if isinstance(exc, WorkstationError):
                self.state_label.setText("")
            else:
                show_error(self, exc, details)

        self.session.read(lambda ws: read_record_state(ws, table, rid, case_id), done, key=(self, "state"),
                          on_error=failed, title="Reading sync state")

    def _changes(self, ch: Changes) -> None:
        if self.record is not None and ch.table == self.table and self.record.id in ch.ids:
            self.refresh_state()

    @Slot(bool)
    def _toggled(self, on: bool) -> None:
        table, record = self.table, self.record
        if table is None or record is None or self.session.is_locked:
            return
        label = getattr(record, "label", None) or getattr(record, "number", None) or getattr(record, "title", "")
        text = f"{'Keep' if on else 'Stop keeping'} {table} {label} local"
        cmd = KeepLocalCommand(self.session, table, record.id, on, text, self.memory)
        self._inferred = False

        def failed(exc: BaseException, details: str) -> None:
            self._set_checked(not on)
            show_error(self, exc, details)

        execute(self.session, cmd, on_error=failed)


# ---------------------------------------------------------------------- conflicts
def _value_text(value: Any) -> str:
    if value is None:
        return "(empty)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:119] + "…"


class ConflictsModel(ListTableModel):
    headers = ("Record", "Field", "Mine (this laptop)", "Theirs (HQ)", "Holds now", "Detected")

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(parent)
        self.session = session

    def cell(self, c: ConflictInfo, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            tz = self.session.settings.display_timezone
            return (c.label, c.field, _value_text(c.mine), _value_text(c.theirs), _value_text(c.current),
                    format_iso(c.detected_at, tz))[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return {2: _value_text(c.mine), 3: _value_text(c.theirs), 4: _value_text(c.current)}.get(
                column, f"{c.table} {c.row_uid}")
        if role == Qt.ItemDataRole.ForegroundRole and column in (2, 3):
            winner = "mine" if column == 2 else "theirs"
            return QBrush(theme_colour("text" if c.winner == winner else "muted"))
        return None


class ConflictsDialog(QDialog):
    """Open sync conflicts; each resolution is a new local edit that wins everywhere."""

    resolved = Signal(int)   # conflict id
    loaded = Signal(int)

    def __init__(self, session: Session, case_id: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.case_id = case_id
        self.setObjectName("conflictsDialog")
        self.setWindowTitle("Sync conflicts")
        self.resize(900, 420)
        v = QVBoxLayout(self)
        v.setContentsMargins(14, 12, 14, 12)
        intro = QLabel("A conflict is one field edited on this laptop and elsewhere since they last agreed. "
                       "Sync kept both values: choose the one that should hold, or write it. Your choice "
                       "travels at the next sync and wins on every copy.")
        intro.setWordWrap(True)
        intro.setObjectName("mutedLabel")
        v.addWidget(intro)
        self.only_case_check = QCheckBox("Only the current case")
        self.only_case_check.setChecked(case_id is not None)
        self.only_case_check.setEnabled(case_id is not None)
        v.addWidget(self.only_case_check)
        self.model = ConflictsModel(session, self)
        self.view = record_list_view(self.model, (200, 90, 170, 170, 130))
        self.view.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        v.addWidget(self.view, 1)
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        v.addWidget(self.error_label)
        buttons = QDialogButtonBox()
        self.mine_button = buttons.addButton("Keep mine", QDialogButtonBox.ButtonRole.ActionRole)
        self.theirs_button = buttons.addButton("Keep theirs", QDialogButtonBox.ButtonRole.ActionRole)
        self.edit_button = buttons.addButton("Write value…", QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        v.addWidget(buttons)
        self.mine_button.clicked.connect(lambda: self.resolve_selected("mine"))
        self.theirs_button.clicked.connect(lambda: self.resolve_selected("theirs"))
        self.edit_button.clicked.connect(self._edit)
        self.only_case_check.toggled.connect(lambda _b: self.reload())
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        session.detached.connect(self.reject)
        self._update_buttons()
        self.reload()

    def reload(self) -> None:
        case_id = self.case_id if self.only_case_check.isChecked() else None

        def done(items: list[ConflictInfo]) -> None:
            self.model.set_items(items)
            self._update_buttons()
            self.loaded.emit(len(items))

        self.session.read(lambda ws: list_conflicts(ws, case_id), done, key=(self, "list"),
                          on_error=lambda exc, details: self._failed(exc, details), title="Listing conflicts")

    def _failed(self, exc: BaseException, details: str) -> None:
        if isinstance(exc, WorkstationError):
            self.error_label.setText(describe_error(exc)[1])
            self.error_label.show()
        else:
            show_error(self, exc, details)

    def selected(self) -> ConflictInfo | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.item(rows[0].row()) if rows else None

    def select_row(self, row: int) -> None:
        self.view.setCurrentIndex(self.model.index(row, 0))

    def _update_buttons(self) -> None:
        has = self.selected() is not None
        for b in (self.mine_button, self.theirs_button, self.edit_button):
            b.setEnabled(has)

    def resolve_selected(self, choice: str, value: Any = None) -> None:
        c = self.selected()
        if c is None:
            return
        self.error_label.hide()

        def done(_result: Any) -> None:
            self.resolved.emit(c.id)
            self.reload()

        self.session.mutate(lambda ws: resolve_conflict(ws, c.id, choice, value), title="Resolving conflict",
                            on_done=done, on_error=self._failed)

    @Slot()
    def _edit(self) -> None:
        c = self.selected()
        if c is None:
            return
        start = c.current if isinstance(c.current, str) else json.dumps(c.current, ensure_ascii=False)
        text, ok = QInputDialog.getText(self, "Write the value", f"{c.label}: {c.field}", QLineEdit.EchoMode.Normal,
                                        start or "")
        if not ok:
            return
        try:
            value = parse_value(text, c.mine if c.mine is not None else c.theirs)
        except UsageError as exc:
            self._failed(exc, "")
            return
        self.resolve_selected("edit", value)


def parse_value(text: str, like: Any) -> Any:
    """The typed text as a value of the same type as ``like`` (JSON for non-text fields)."""
    if isinstance(like, str) or like is None:
        return text
    try:
        return json.loads(text)
    except ValueError:
        raise UsageError(f"write the value as JSON, like {json.dumps(like)[:60]}") from None


# ---------------------------------------------------------------------- deconfliction
class DeconflictionModel(ListTableModel):
    headers = ("What", "Also held by", "Their reference", "Call", "")

    def cell(self, h: DeconflictHit, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            who = ", ".join(x for x in (h.officer, h.officer_contact) if x) or h.agency_contact or "—"
            return (f"{kind_text(h.kind)} {h.what}", h.agency, h.ref, who,
                    "your agency" if h.same_agency else "another agency")[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Agency contact: {h.agency_contact or '—'}"
        return None


class DeconflictionDialog(QDialog):
    """HQ's deconfliction answer for one case."""

    def __init__(self, hits: Sequence[DeconflictHit], case_number: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deconflictionDialog")
        self.setWindowTitle(f"Deconfliction — {case_number}")
        self.resize(820, 360)
        v = QVBoxLayout(self)
        n = len({(h.agency, h.ref) for h in hits})
        text = (f"{n} other case{'' if n == 1 else 's'} hold{'s' if n == 1 else ''} identifiers or media of "
                f"{case_number}. HQ tells you whom to call; it never shows the other case's contents."
                if hits else f"No other case known to HQ holds the identifiers or media of {case_number}.")
        label = QLabel(text)
        label.setWordWrap(True)
        v.addWidget(label)
        self.model = DeconflictionModel(self)
        self.model.set_items(list(hits))
        view = record_list_view(self.model, (220, 160, 120, 200))
        v.addWidget(view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        v.addWidget(buttons)


# ---------------------------------------------------------------------- enrolment
class EnrolDialog(FormDialog):
    """HQ address, one-time code, optional CA certificate and a name for this laptop."""

    def __init__(self, parent: QWidget | None) -> None:
        super().__init__(parent, "Enrol with headquarters")
        self.setObjectName("enrolDialog")
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("https://hq.example.org:8443")
        self.code_edit = QLineEdit()
        self.code_edit.setPlaceholderText("one-time code from the HQ administrator")
        self.ca_edit = QLineEdit()
        self.ca_edit.setPlaceholderText("optional: HQ's CA certificate (PEM)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit, 1)
        ca_row.addWidget(browse)
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText("e.g. ICE unit laptop 3")
        self.form.addRow("HQ address", self.url_edit)
        self.form.addRow("Enrolment code", self.code_edit)
        self.form.addRow("CA certificate", ca_row)
        self.form.addRow("This laptop", self.label_edit)
        note = QLabel("HQ's certificate is pinned at enrolment; the keys stay inside the encrypted database.")
        note.setObjectName("mutedLabel")
        note.setWordWrap(True)
        self.form.addRow(note)
        self.ok_button.setText("Enrol")

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "HQ CA certificate", "", "Certificates (*.pem *.crt);;All files (*)")
        if path:
            self.ca_edit.setText(path)

    def values(self) -> dict[str, Any]:
        url = self.url_edit.text().strip()
        code = self.code_edit.text().strip()
        if not url:
            raise ValueError("Enter HQ's address.")
        if not code:
            raise ValueError("Enter the enrolment code from the HQ administrator.")
        return {"url": url, "code": code, "ca_cert": self.ca_edit.text().strip() or None,
                "label": self.label_edit.text().strip()}


__all__ = ["ConflictsDialog", "DeconflictionDialog", "EnrolDialog", "RecordSyncBar", "SyncStatusWidget",
           "SyncSummary", "load_summary", "parse_value"]
