"""Small forms the timeline opens: add/edit an event, edit tags, name a saved view.

Each form checks what it can (kind present, tags usable) and emits ``submitted(values)``;
the timeline runs the edit and then calls ``finish()`` or ``fail(message)``, so a refused
edit leaves the form open with the reason shown. Forms are opened with ``open()`` (never a
blocking ``exec``) so the window stays live and tests can fill them in.

Thread: UI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, tzinfo
from typing import Any

from PySide6.QtCore import QDateTime, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QWidget,
)

from workstation.analysis.timeline import event_tags, from_us, is_starred, normalise_tags, to_us, zone_name
from workstation.domain.models import EVENT_KINDS, EventInfo
from ui.dialogs import FormDialog
from ui.formatting import TIME_UNKNOWN, event_day, is_day_precision, kind_text
from ui.timeline.style import kind_swatch


class _Form(FormDialog):
    """The app's form dialog whose OK validates then emits ``submitted`` (the timeline
    widget saves through the service and answers with :meth:`finish` or :meth:`fail`)."""

    submitted = Signal(dict)

    def __init__(self, parent: QWidget | None, title: str) -> None:
        super().__init__(parent, title)
        self.busy = False
        self.submit_handler = self._emit

    def _emit(self, _dialog: FormDialog, values: dict[str, Any]) -> None:
        self.busy = True
        self.submitted.emit(values)

    @Slot()
    def _submit(self) -> None:
        if not self.busy:
            super()._submit()

    def submit(self) -> None:
        """Validate and emit ``submitted`` (the OK button; also callable from tests)."""
        self._submit()

    def fail(self, message: str) -> None:
        """Keep the form open and say why the edit was refused."""
        self.busy = False
        super().fail(message or "The change could not be saved.")

    def finish(self, result: Any = None) -> None:
        self.busy = False
        super().finish(result)


class TimelineEventDialog(_Form):
    """Add a manual event (time, kind and parties prefilled from where the officer
    clicked) or edit one. Times are entered in the timeline's time zone."""

    def __init__(self, parent: QWidget | None, tz: tzinfo, *, event: EventInfo | None = None,
                 at_us: int | None = None, kind: str | None = None,
                 parties: Sequence[tuple[int, str, str]] = ()) -> None:
        super().__init__(parent, "Edit event" if event else "Add event to the timeline")
        self.tz = tz
        self.record = event
        self.kind_combo = QComboBox()
        self.kind_combo.setEditable(True)
        for k in EVENT_KINDS:
            self.kind_combo.addItem(kind_swatch(k), kind_text(k), k)
        self.time_edit = QDateTimeEdit()
        self.time_edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.time_edit.setCalendarPopup(True)
        ts = event.ts_utc if event is not None and event.ts_utc is not None else at_us
        local = from_us(ts).astimezone(tz) if ts is not None else datetime.now(tz)
        self.time_edit.setDateTime(QDateTime(local.year, local.month, local.day, local.hour, local.minute,
                                             local.second))
        self.zone_label = QLabel(zone_name(tz, ts))
        self.zone_label.setObjectName("mutedLabel")
        self.title_edit = QLineEdit()
        self.body_edit = QPlainTextEdit()
        self.body_edit.setFixedHeight(72)
        self.star_check = QCheckBox("Starred")
        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText("comma-separated, e.g. key moment, grooming")
        self.parties_list = QListWidget()
        self.parties_list.setFixedHeight(96)
        self.role_edit = QLineEdit("participant")
        wanted_kind = event.kind if event is not None else (kind or "note")
        i = self.kind_combo.findData(wanted_kind)
        if i >= 0:
            self.kind_combo.setCurrentIndex(i)
        else:
            self.kind_combo.setCurrentText(wanted_kind)
        self.form.addRow("Kind", self.kind_combo)
        self.form.addRow("When", self.time_edit)
        self.form.addRow("", self.zone_label)
        self.day_only = event is not None and is_day_precision(event)
        if self.day_only:
            assert event is not None
            note = QLabel(f"The source gives the date only ({event_day(event)}), "
                          f"{TIME_UNKNOWN}: the event is placed at the start of that day. "
                          "Enter a time to record it as known.")
            note.setWordWrap(True)
            note.setObjectName("mutedLabel")
            self.form.addRow("", note)
        self.form.addRow("Title", self.title_edit)
        self.form.addRow("Text", self.body_edit)
        if event is None:
            for entity_id, label, ekind in parties:
                item = QListWidgetItem(f"{label} ({kind_text(ekind)})")
                item.setData(Qt.ItemDataRole.UserRole, entity_id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked)
                self.parties_list.addItem(item)
            if parties:
                self.form.addRow("Parties", self.parties_list)
                self.form.addRow("Role", self.role_edit)
        else:
            self.title_edit.setText(event.title)
            self.body_edit.setPlainText(event.body or "")
            self.star_check.setChecked(is_starred(event.properties))
            self.tags_edit.setText(", ".join(event_tags(event.properties)))
            if event.parties:
                names = ", ".join(f"{p.label} ({p.role})" for p in event.parties)
                shown = QLabel(names)
                shown.setWordWrap(True)
                shown.setObjectName("mutedLabel")
                self.form.addRow("Parties", shown)
        self.form.addRow("", self.star_check)
        self.form.addRow("Tags", self.tags_edit)

    def occurred_at(self) -> datetime:
        qdt = self.time_edit.dateTime()
        d, t = qdt.date(), qdt.time()
        wall = datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), t.second())
        return wall.replace(tzinfo=self.tz)

    def values(self) -> dict[str, Any]:
        """kind, occurred_at (aware), title, body, starred, tags, for a new event the
        parties as (entity id, role), and for a day-precision event ``time_known`` (a time
        of day was entered). Raises ValueError/BadInput with a readable reason."""
        data = self.kind_combo.currentData()
        text = self.kind_combo.currentText().strip()
        if data is not None and self.kind_combo.itemText(self.kind_combo.currentIndex()) == text:
            kind = str(data)
        else:
            kind = text.lower().replace(" ", "_")
        if not kind:
            raise ValueError("Choose the kind of event.")
        values: dict[str, Any] = {
            "kind": kind, "occurred_at": self.occurred_at(), "title": self.title_edit.text().strip(),
            "body": self.body_edit.toPlainText().strip() or None, "starred": self.star_check.isChecked(),
            "tags": normalise_tags(self.tags_edit.text()),
        }
        to_us(values["occurred_at"])  # refuses a naive time early
        if self.day_only and self.record is not None and self.record.occurred_at is not None:
            # A day-precision event given a time of day (at its own offset) has a known
            # time from now on; moved to another day's start it is still a day.
            before = self.record.occurred_at
            at = values["occurred_at"].astimezone(before.tzinfo)
            values["time_known"] = at != before and at.time() != time(0)
        if self.record is None:
            role = self.role_edit.text().strip() or "participant"
            values["parties"] = [
                (int(self.parties_list.item(i).data(Qt.ItemDataRole.UserRole)), role)
                for i in range(self.parties_list.count())
                if self.parties_list.item(i).checkState() == Qt.CheckState.Checked]
        return values


class TagsDialog(_Form):
    """Edit the tags of one event; offers the tags already used in the case."""

    def __init__(self, parent: QWidget | None, current: Sequence[str], known: Sequence[str]) -> None:
        super().__init__(parent, "Tags")
        self.tags_edit = QLineEdit(", ".join(current))
        self.tags_edit.setPlaceholderText("comma-separated")
        self.form.addRow("Tags", self.tags_edit)
        if known:
            hint = QLabel("In use: " + ", ".join(known[:20]) + (" …" if len(known) > 20 else ""))
            hint.setWordWrap(True)
            hint.setObjectName("mutedLabel")
            self.form.addRow("", hint)

    def values(self) -> dict[str, Any]:
        return {"tags": normalise_tags(self.tags_edit.text())}


class SaveViewDialog(_Form):
    """Name the current timeline view (an existing name replaces that view)."""

    def __init__(self, parent: QWidget | None, existing: Sequence[str]) -> None:
        super().__init__(parent, "Save timeline view")
        self.name_combo = QComboBox()
        self.name_combo.setEditable(True)
        self.name_combo.addItems(list(existing))
        self.name_combo.setCurrentText("")
        line = self.name_combo.lineEdit()
        if line is not None:
            line.setPlaceholderText("e.g. First contact week")
        self.form.addRow("Name", self.name_combo)

    def values(self) -> dict[str, Any]:
        name = " ".join(self.name_combo.currentText().split())
        if not name:
            raise ValueError("Give the view a name.")
        return {"name": name}
