"""Forms to create and edit cases, entities, links, events — and the settings.

A form does not touch the database: on OK it hands its values to ``submit_handler``
(set by the main window), which runs the edit on the edit lane and calls back
``finish()`` on success or ``fail(message)`` on refusal; the form stays open, showing
what the core said, until the edit succeeded. Without a handler OK simply accepts.

Thread: UI thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from PySide6.QtCore import QDateTime, Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.domain.models import (
    CASE_STATUSES,
    ENTITY_KINDS,
    EVENT_KINDS,
    LINK_KINDS,
    SHARING_CHOICES,
    CaseInfo,
    EntityInfo,
    EventInfo,
)
from workstation.errors import WorkstationError
from workstation.settings import MAX_AUTOLOCK_MINUTES, Settings
from ui.formatting import SHARING_TEXT, kind_text, zone
from ui.session import Session
from ui.theme import entity_icon, event_icon

SubmitHandler = Callable[["FormDialog", dict[str, Any]], None]

_TIMEZONES: list[str] | None = None


def timezone_names() -> list[str]:
    """All IANA zone names, UTC first (computed once)."""
    global _TIMEZONES
    if _TIMEZONES is None:
        names = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
        _TIMEZONES = ["UTC", *names]
    return _TIMEZONES


def parse_properties(text: str) -> dict[str, Any]:
    """``name = value`` lines → dict (a JSON object is accepted too). Raises ValueError."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError("properties must be a JSON object")
        return value
    out: dict[str, Any] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if "=" not in line:
            raise ValueError(f"line {n}: write properties as name = value")
        name, value = line.split("=", 1)
        if not name.strip():
            raise ValueError(f"line {n}: a property needs a name")
        out[name.strip()] = value.strip()
    return out


def combo_key(combo: QComboBox) -> str:
    """The machine name behind an editable combo: the item's data when the text is one of
    the items, else the typed text as a key ("Bank account" → "bank_account")."""
    text = combo.currentText().strip()
    i = combo.findText(text)
    if i >= 0 and combo.itemData(i) is not None:
        return str(combo.itemData(i))
    return text.lower().replace(" ", "_")


def format_properties(props: Mapping[str, Any]) -> str:
    return "\n".join(f"{k} = {v if not isinstance(v, (dict, list)) else json.dumps(v)}" for k, v in props.items())


class FormDialog(QDialog):
    """Base of the forms: a form layout, an inline error line, OK/Cancel, async submit."""

    def __init__(self, parent: QWidget | None, title: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(440)
        self.submit_handler: SubmitHandler | None = None
        self.result_value: Any = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(18, 16, 18, 14)
        outer.setSpacing(10)
        self.form = QFormLayout()
        self.form.setSpacing(8)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        outer.addLayout(self.form)
        self.body = outer
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        outer.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def values(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def fail(self, message: str) -> None:
        """Show why the edit was refused and let the officer correct it."""
        self.error_label.setText(message)
        self.error_label.show()
        self.ok_button.setEnabled(True)

    def finish(self, result: Any = None) -> None:
        self.result_value = result
        self.ok_button.setEnabled(True)
        QDialog.accept(self)

    @Slot()
    def _submit(self) -> None:
        try:
            values = self.values()
        except (ValueError, WorkstationError) as exc:
            self.fail(str(exc))
            return
        self.error_label.hide()
        if self.submit_handler is None:
            self.result_value = values
            QDialog.accept(self)
            return
        self.ok_button.setEnabled(False)
        self.submit_handler(self, values)

    def accept(self) -> None:  # Enter key: same path as OK
        self._submit()


# ---------------------------------------------------------------------- case
class CaseDialog(FormDialog):
    """New case, or edit of an existing one (the number is fixed once created)."""

    def __init__(self, parent: QWidget | None, case: CaseInfo | None = None) -> None:
        super().__init__(parent, "Edit case" if case else "New case")
        self.case = case
        self.number_edit = QLineEdit(case.number if case else "")
        self.number_edit.setPlaceholderText("e.g. 2024-ICE-0042")
        self.number_edit.setReadOnly(case is not None)
        self.title_edit = QLineEdit(case.title if case else "")
        self.status_combo = QComboBox()
        for s in CASE_STATUSES:
            self.status_combo.addItem(s.capitalize(), s)
        self.agency_edit = QLineEdit((case.agency or "") if case else "")
        self.lead_edit = QLineEdit((case.lead_officer or "") if case else "")
        self.sharing_combo = QComboBox()
        for s in SHARING_CHOICES:
            self.sharing_combo.addItem(SHARING_TEXT[s], s)
        self.shared_with_edit = QLineEdit(", ".join(case.shared_with) if case else "")
        self.shared_with_edit.setPlaceholderText("Agencies, comma separated")
        self.keep_local_check = QCheckBox("Keep this case on this laptop only (never synced)")
        self.timezone_combo = QComboBox()
        self.timezone_combo.setEditable(True)
        self.timezone_combo.addItem("")
        self.timezone_combo.addItems(timezone_names())
        self.summary_edit = QPlainTextEdit((case.summary or "") if case else "")
        self.summary_edit.setFixedHeight(90)
        if case:
            self.status_combo.setCurrentIndex(max(0, self.status_combo.findData(case.status)))
            self.sharing_combo.setCurrentIndex(max(0, self.sharing_combo.findData(case.sharing)))
            self.keep_local_check.setChecked(case.keep_local)
            self.timezone_combo.setCurrentText(case.timezone or "")
        self.form.addRow("Number", self.number_edit)
        self.form.addRow("Title", self.title_edit)
        if case:
            self.form.addRow("Status", self.status_combo)
        self.form.addRow("Agency", self.agency_edit)
        self.form.addRow("Lead officer", self.lead_edit)
        self.form.addRow("Sharing", self.sharing_combo)
        self.form.addRow("Shared with", self.shared_with_edit)
        self.form.addRow("", self.keep_local_check)
        self.form.addRow("Case timezone", self.timezone_combo)
        self.form.addRow("Summary", self.summary_edit)
        self.sharing_combo.currentIndexChanged.connect(self._sharing_changed)
        self.keep_local_check.toggled.connect(self._sharing_changed)
        self._sharing_changed()

    @Slot()
    def _sharing_changed(self) -> None:
        local = self.keep_local_check.isChecked()
        self.sharing_combo.setEnabled(not local)
        self.shared_with_edit.setEnabled(not local and self.sharing_combo.currentData() == "agencies")

    def values(self) -> dict[str, Any]:
        number = self.number_edit.text().strip()
        title = self.title_edit.text().strip()
        if not number:
            raise ValueError("A case needs a number.")
        if not title:
            raise ValueError("A case needs a title.")
        tz = self.timezone_combo.currentText().strip() or None
        if tz is not None and tz not in timezone_names():
            raise ValueError(f"Unknown timezone {tz!r}.")
        keep_local = self.keep_local_check.isChecked()
        sharing = "local" if keep_local else self.sharing_combo.currentData()
        shared_with = tuple(a.strip() for a in self.shared_with_edit.text().split(",") if a.strip()) \
            if sharing == "agencies" else ()
        if sharing == "agencies" and not shared_with:
            raise ValueError("Name the agencies this case is shared with.")
        out: dict[str, Any] = {
            "number": number, "title": title, "agency": self.agency_edit.text().strip() or None,
            "lead_officer": self.lead_edit.text().strip() or None,
            "summary": self.summary_edit.toPlainText().strip() or None,
            "sharing": sharing, "shared_with": shared_with, "timezone": tz, "keep_local": keep_local,
        }
        if self.case is not None:
            out["status"] = self.status_combo.currentData()
        return out


# ---------------------------------------------------------------------- entity
class EntityDialog(FormDialog):
    """New entity (kind + value, normalised by the core) or edit of label/properties."""

    def __init__(self, parent: QWidget | None, entity: EntityInfo | None = None) -> None:
        super().__init__(parent, "Edit entity" if entity else "New entity")
        self.entity = entity
        self.kind_combo = QComboBox()
        self.kind_combo.setEditable(entity is None)
        for k in ENTITY_KINDS:
            self.kind_combo.addItem(entity_icon(k), kind_text(k), k)
        self.value_edit = QLineEdit()
        self.value_edit.setPlaceholderText("Phone, e-mail, card number, name…")
        self.platform_edit = QLineEdit()
        self.platform_edit.setPlaceholderText("e.g. telegram (for online accounts)")
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText("Shown name (optional)")
        self.properties_edit = QPlainTextEdit()
        self.properties_edit.setPlaceholderText("name = value, one per line")
        self.properties_edit.setFixedHeight(90)
        self.keep_local_check = QCheckBox("Keep local (never synced)")
        if entity is None:
            self.form.addRow("Kind", self.kind_combo)
            self.form.addRow("Value", self.value_edit)
            self.form.addRow("Platform", self.platform_edit)
            self.form.addRow("Label", self.label_edit)
            self.form.addRow("Properties", self.properties_edit)
            self.kind_combo.currentIndexChanged.connect(self._kind_changed)
            self._kind_changed()
        else:
            i = self.kind_combo.findData(entity.kind)
            if i < 0:
                self.kind_combo.addItem(entity_icon(entity.kind), kind_text(entity.kind), entity.kind)
                i = self.kind_combo.count() - 1
            self.kind_combo.setCurrentIndex(i)
            self.kind_combo.setEnabled(False)
            self.label_edit.setText(entity.label)
            self.properties_edit.setPlainText(format_properties(entity.properties))
            self.keep_local_check.setChecked(entity.keep_local)
            key = QLabel(entity.key or "—")
            key.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.form.addRow("Kind", self.kind_combo)
            self.form.addRow("Key", key)
            self.form.addRow("Label", self.label_edit)
            self.form.addRow("Properties", self.properties_edit)
            self.form.addRow("", self.keep_local_check)

    @Slot()
    def _kind_changed(self) -> None:
        self.platform_edit.setEnabled(self.kind() == "account")

    def kind(self) -> str:
        return combo_key(self.kind_combo)

    def values(self) -> dict[str, Any]:
        props = parse_properties(self.properties_edit.toPlainText())
        if self.entity is not None:
            label = self.label_edit.text().strip()
            if not label:
                raise ValueError("An entity needs a label.")
            return {"label": label, "properties": props, "keep_local": self.keep_local_check.isChecked()}
        value = self.value_edit.text().strip()
        if not value:
            raise ValueError("Enter the value (the phone number, e-mail, name…).")
        kind = self.kind()
        if not kind:
            raise ValueError("Choose a kind.")
        return {"kind": kind, "value": value, "label": self.label_edit.text().strip() or None,
                "platform": self.platform_edit.text().strip() or None if kind == "account" else None,
                "properties": props}


# ---------------------------------------------------------------------- link
class LinkDialog(FormDialog):
    """Link the given entity to another entity of the case (searched as you type)."""

    SEARCH_LIMIT = 50

    def __init__(self, parent: QWidget | None, session: Session, source: EntityInfo) -> None:
        super().__init__(parent, "Add link")
        self.session = session
        self.source = source
        src_label = QLabel(f"{source.label}  ({kind_text(source.kind)})")
        self.kind_combo = QComboBox()
        self.kind_combo.setEditable(True)
        for k in LINK_KINDS:
            self.kind_combo.addItem(k.replace("_", " "), k)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search entities of this case…")
        self.search_edit.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.results.setMinimumHeight(160)
        self.confidence_spin = QSpinBox()
        self.confidence_spin.setRange(0, 100)
        self.confidence_spin.setValue(100)
        self.confidence_spin.setSuffix(" %")
        self.direction_check = QCheckBox("Reverse direction (the other entity → this one)")
        self.form.addRow("From", src_label)
        self.form.addRow("Link kind", self.kind_combo)
        self.form.addRow("To", self.search_edit)
        self.form.addRow("", self.results)
        self.form.addRow("Confidence", self.confidence_spin)
        self.form.addRow("", self.direction_check)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.search)
        self.search_edit.textChanged.connect(lambda _t: self._timer.start())
        self.search()

    @Slot()
    def search(self) -> None:
        """List matching entities of the case (a small read, UI thread)."""
        self._timer.stop()
        text = self.search_edit.text().strip() or None
        self.results.clear()
        if self.session.is_locked:
            return
        found = self.session.ws.list_entities(self.source.case_id, text=text, limit=self.SEARCH_LIMIT + 1)
        for e in found:
            if e.id == self.source.id:
                continue
            item = QListWidgetItem(entity_icon(e.kind), f"{e.label}   · {kind_text(e.kind)}")
            item.setData(Qt.ItemDataRole.UserRole, e.id)
            self.results.addItem(item)
        if self.results.count():
            self.results.setCurrentRow(0)

    def target_id(self) -> int | None:
        item = self.results.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def values(self) -> dict[str, Any]:
        target = self.target_id()
        if target is None:
            raise ValueError("Choose the entity to link to.")
        kind = combo_key(self.kind_combo)
        if not kind:
            raise ValueError("Choose the kind of link.")
        src, dst = self.source.id, target
        if self.direction_check.isChecked():
            src, dst = dst, src
        return {"src_id": src, "dst_id": dst, "kind": kind, "confidence": self.confidence_spin.value() / 100}


# ---------------------------------------------------------------------- event
class EventDialog(FormDialog):
    """New event (with parties) or edit of kind/time/title/body/properties.

    The time is entered in a chosen timezone (the display timezone by default); the core
    keeps the UTC instant and that offset.
    """

    def __init__(self, parent: QWidget | None, session: Session, case_id: int,
                 event: EventInfo | None = None, parties: list[EntityInfo] | None = None) -> None:
        super().__init__(parent, "Edit event" if event else "New event")
        self.setMinimumWidth(520)
        self.session = session
        self.case_id = case_id
        self.event_info = event
        self.kind_combo = QComboBox()
        self.kind_combo.setEditable(True)
        for k in EVENT_KINDS:
            self.kind_combo.addItem(event_icon(k), kind_text(k), k)
        self.time_edit = QDateTimeEdit()
        self.time_edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.time_edit.setCalendarPopup(True)
        self.tz_combo = QComboBox()
        self.tz_combo.setEditable(True)
        self.tz_combo.addItems(timezone_names())
        tz_name = session.settings.display_timezone
        self.tz_combo.setCurrentText(tz_name)
        self.no_time_check = QCheckBox("Time unknown")
        self.title_edit = QLineEdit()
        self.body_edit = QPlainTextEdit()
        self.body_edit.setFixedHeight(80)
        self.properties_edit = QPlainTextEdit()
        self.properties_edit.setPlaceholderText("name = value, one per line")
        self.properties_edit.setFixedHeight(70)
        self.parties_table = QTableWidget(0, 2)
        self.parties_table.setHorizontalHeaderLabels(["Entity", "Role"])
        self.parties_table.horizontalHeader().setStretchLastSection(True)
        self.parties_table.setColumnWidth(0, 240)
        self.parties_table.verticalHeader().hide()
        self.parties_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.parties_table.setFixedHeight(110)
        now = QDateTime.currentDateTime()
        if event is not None:
            i = self.kind_combo.findData(event.kind)
            if i >= 0:
                self.kind_combo.setCurrentIndex(i)
            else:
                self.kind_combo.setCurrentText(event.kind)
            if event.ts_utc is None:
                self.no_time_check.setChecked(True)
            else:
                from ui.formatting import micros_to_datetime

                local = micros_to_datetime(event.ts_utc).astimezone(zone(tz_name))
                now = QDateTime(local.year, local.month, local.day, local.hour, local.minute, local.second)
            self.title_edit.setText(event.title)
            self.body_edit.setPlainText(event.body or "")
            self.properties_edit.setPlainText(format_properties(event.properties))
            for p in event.parties:
                self._add_party_row(p.entity_id, f"{p.label} ({kind_text(p.kind)})", p.role, editable=False)
        for e in parties or []:
            self._add_party_row(e.id, f"{e.label} ({kind_text(e.kind)})", "participant")
        self.time_edit.setDateTime(now)
        time_row = QHBoxLayout()
        time_row.addWidget(self.time_edit, 1)
        time_row.addWidget(self.tz_combo, 1)
        time_row.addWidget(self.no_time_check)
        self.form.addRow("Kind", self.kind_combo)
        self.form.addRow("When", time_row)
        self.form.addRow("Title", self.title_edit)
        self.form.addRow("Text", self.body_edit)
        self.form.addRow("Parties", self.parties_table)
        if event is not None:
            note = QLabel("Parties of a recorded event are kept as imported.")
            note.setObjectName("mutedLabel")
            self.form.addRow("", note)
        self.form.addRow("Properties", self.properties_edit)
        self.no_time_check.toggled.connect(self._time_known_changed)

    @Slot(bool)
    def _time_known_changed(self, unknown: bool) -> None:
        self.time_edit.setEnabled(not unknown)
        self.tz_combo.setEnabled(not unknown)

    def _add_party_row(self, entity_id: int, text: str, role: str, editable: bool = True) -> None:
        r = self.parties_table.rowCount()
        self.parties_table.insertRow(r)
        item = QTableWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, entity_id)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        role_item = QTableWidgetItem(role)
        if not editable:
            role_item.setFlags(role_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        self.parties_table.setItem(r, 0, item)
        self.parties_table.setItem(r, 1, role_item)

    def occurred_at(self) -> datetime | None:
        if self.no_time_check.isChecked():
            return None
        tz_name = self.tz_combo.currentText().strip() or "UTC"
        try:
            tz = ZoneInfo(tz_name)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"Unknown timezone {tz_name!r}.") from exc
        except Exception as exc:  # ZoneInfoNotFoundError and friends
            raise ValueError(f"Unknown timezone {tz_name!r}.") from exc
        qdt = self.time_edit.dateTime()
        d, t = qdt.date(), qdt.time()
        return datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), t.second(), tzinfo=tz)

    def kind(self) -> str:
        return combo_key(self.kind_combo)

    def values(self) -> dict[str, Any]:
        kind = self.kind()
        if not kind:
            raise ValueError("Choose the kind of event.")
        values: dict[str, Any] = {
            "kind": kind, "occurred_at": self.occurred_at(), "title": self.title_edit.text().strip(),
            "body": self.body_edit.toPlainText().strip() or None,
            "properties": parse_properties(self.properties_edit.toPlainText()),
        }
        if self.event_info is None:
            parties = []
            for r in range(self.parties_table.rowCount()):
                entity_item = self.parties_table.item(r, 0)
                role_item = self.parties_table.item(r, 1)
                if entity_item is None:
                    continue
                role = (role_item.text() if role_item is not None else "").strip() or "participant"
                parties.append((int(entity_item.data(Qt.ItemDataRole.UserRole)), role))
            values["parties"] = parties
        return values


# ---------------------------------------------------------------------- settings
class SettingsDialog(FormDialog):
    """The officer's preferences, validated and stored by the core (``save_settings``)."""

    def __init__(self, parent: QWidget | None, settings: Settings) -> None:
        super().__init__(parent, "Settings")
        self.settings = settings
        self.officer_edit = QLineEdit(settings.officer_name)
        self.region_combo = QComboBox()
        self.region_combo.setEditable(True)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS):
            code = phonenumbers.country_code_for_region(region)
            self.region_combo.addItem(f"{region} (+{code})", region)
        i = self.region_combo.findData(settings.phone_region)
        self.region_combo.setCurrentIndex(max(0, i))
        self.tz_combo = QComboBox()
        self.tz_combo.setEditable(True)
        self.tz_combo.addItems(timezone_names())
        self.tz_combo.setCurrentText(settings.display_timezone)
        self.autolock_spin = QSpinBox()
        self.autolock_spin.setRange(1, MAX_AUTOLOCK_MINUTES)
        self.autolock_spin.setSuffix(" min")
        self.autolock_spin.setValue(min(MAX_AUTOLOCK_MINUTES, max(1, settings.autolock_minutes)))
        self.hq_edit = QLineEdit(settings.hq_url)
        self.hq_edit.setPlaceholderText("https://hq.example.org")
        self.blur_check = QCheckBox("Blur thumbnails until revealed")
        self.blur_check.setChecked(settings.blur_thumbnails)
        self.grey_check = QCheckBox("Show thumbnails in greyscale")
        self.grey_check.setChecked(settings.greyscale_thumbnails)
        self.theme_combo = QComboBox()
        self.theme_combo.addItem("Light", "light")
        self.theme_combo.addItem("Dark", "dark")
        self.theme_combo.setCurrentIndex(max(0, self.theme_combo.findData(settings.theme)))
        self.form.addRow("Officer name", self.officer_edit)
        self.form.addRow("Default phone region", self.region_combo)
        self.form.addRow("Display timezone", self.tz_combo)
        self.form.addRow("Lock after idle", self.autolock_spin)
        self.form.addRow("HQ address", self.hq_edit)
        self.form.addRow("Media review", self.blur_check)
        self.form.addRow("", self.grey_check)
        self.form.addRow("Theme", self.theme_combo)

    def values(self) -> dict[str, Any]:
        region = self.region_combo.currentData()
        typed = self.region_combo.currentText().strip()
        if region is None or not typed.startswith(str(region)):
            region = typed.split(" ")[0].upper()
        from dataclasses import replace

        candidate = replace(
            self.settings, officer_name=self.officer_edit.text().strip(), phone_region=region,
            display_timezone=self.tz_combo.currentText().strip(), autolock_minutes=self.autolock_spin.value(),
            hq_url=self.hq_edit.text().strip(), blur_thumbnails=self.blur_check.isChecked(),
            greyscale_thumbnails=self.grey_check.isChecked(), theme=self.theme_combo.currentData())
        return {"settings": candidate.validated()}
