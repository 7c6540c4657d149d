"""The import wizard: file → detected format → mapping and preview → progress → summary.

Every step that reads the file or the database runs on a worker lane of the session's
TaskRunner; the wizard only shows results. The import itself is the core pipeline
(``workstation.ingest.pipeline.run_import``): one transaction, so Cancel leaves the case
exactly as it was.

Thread: UI thread.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from ui.describe import event_summary, label_for, party_text, property_rows, role_text
from ui.formatting import format_offset, kind_text
from workstation.errors import Cancelled, WorkstationError
from workstation.ingest.formats import describe
from workstation.ingest.pipeline import ImportResult, Preview, detect, preview, run_import
from workstation.ingest.profiles import list_profiles, save_profile
from workstation.ingest.records import ImportOptions, ParsedEntity, ParsedEvent
from workstation.ingest.tabular import (
    BOOKING_FIELDS,
    TRANSACTION_FIELDS,
    MappingProfile,
    ProfileError,
    read_header,
)

TABULAR_FORMATS = {"transactions_table": "transaction", "booking_table": "booking"}
# The fields a custom mapping offers, per target: every field a profile can map.
MAPPED_FIELDS = {"transaction": TRANSACTION_FIELDS, "booking": BOOKING_FIELDS}


#: The format choice for a folder: each export in it read by the importer that recognises it.
FOLDER_FORMAT = "auto"


class _FilePage(QWizardPage):
    def __init__(self, wizard: ImportWizardDialog) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle("Choose the file or folder to import")
        self.setSubTitle("Chat exports, card and bank statements, booking lists — or a whole export "
                         "folder (an unzipped WhatsApp, Telegram, Slack or Facebook download). The "
                         "format is recognised from the content.")
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("importPath")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder = QPushButton("Folder…")
        folder.setObjectName("importFolderButton")
        folder.setToolTip("Import every export found in a folder, in one go")
        folder.clicked.connect(self._browse_folder)
        self.info = QLabel()
        self.info.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        row.addWidget(folder)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.info)
        self.path_edit.textChanged.connect(self.completeChanged)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import file")
        if path:
            self.path_edit.setText(path)

    def _browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Import an export folder")
        if path:
            self.path_edit.setText(path)

    def isComplete(self) -> bool:
        text = self.path_edit.text().strip()
        return bool(text) and (Path(text).is_file() or Path(text).is_dir())

    def validatePage(self) -> bool:
        path = Path(self.path_edit.text().strip())
        if path.is_dir():
            # Finding a folder's exports reads the head of every file in it: left to the
            # preview, which runs off the UI thread and lists what it found.
            self.wiz.detected = FOLDER_FORMAT
            self.info.setText("")
            self.wiz.path = path
            return True
        try:
            found = detect(path)  # reads at most 64 KiB: fine on the UI thread
            self.wiz.detected = found.format
        except WorkstationError as exc:
            # An unfamiliar spreadsheet layout is the usual case: offer the table importer
            # with a column mapping; anything else the officer picks on the next page.
            tabular = path.suffix.lower() in {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods",
                                               ".fods"}
            self.wiz.detected = "transactions_table" if tabular else None
            self.info.setText(f"<b>Not recognised:</b> {exc}<br>Choose the format and the column "
                              "mapping on the next page.")
        self.wiz.path = path
        return True


class _MappingPage(QWizardPage):
    #: The file's column names arrived and the mapping offers them.
    headersRead = Signal()

    def __init__(self, wizard: ImportWizardDialog) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle("Format, mapping and preview")
        self.format_combo = QComboBox()
        self.format_combo.setObjectName("formatCombo")
        for name, label in describe():
            self.format_combo.addItem(label, name)
        self.profile_combo = QComboBox()
        self.profile_combo.setObjectName("profileCombo")
        self.timezone = QLineEdit()
        self.timezone.setPlaceholderText("e.g. America/Toronto (for times without an offset)")
        # For a chat export or statement whose all-digit dates never show a day above 12.
        self.date_order = QComboBox()
        self.date_order.setObjectName("dateOrder")
        self.date_order.addItem("Decide from the file", None)
        self.date_order.addItem("Day first (31/12/2024)", "dmy")
        self.date_order.addItem("Month first (12/31/2024)", "mdy")
        self.date_order.currentIndexChanged.connect(lambda _i: self._preview_timer.start())
        self.skip_bad = QCheckBox("Skip bad rows (report each) instead of stopping")
        self.skip_bad.setObjectName("skipBadRows")
        self.dayfirst = QCheckBox("Dates are day-first (31/12/2024)")
        self.decimal_comma = QCheckBox("Decimal comma (1.234,56)")
        self.save_btn = QPushButton("Save mapping as profile…")
        self.save_btn.clicked.connect(self._save_profile)
        self.mapping = QTableWidget(0, 2)
        self.mapping.setObjectName("mappingTable")
        self.mapping.setHorizontalHeaderLabels(["Field", "Column in the file"])
        self.mapping.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.mapping.verticalHeader().hide()
        self.preview_table = QTableWidget(0, 5)
        self.preview_table.setObjectName("previewTable")
        self.preview_table.setHorizontalHeaderLabels(["Where", "Time", "Kind", "Title / text", "Parties"])
        head = self.preview_table.horizontalHeader()
        for col in (3, 4):  # the text and the parties share the width
            head.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)  # time and its zone
        self.preview_table.verticalHeader().hide()
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setObjectName("previewProblems")
        refresh = QPushButton("Refresh preview")
        refresh.clicked.connect(self.refresh_preview)

        form = QFormLayout()
        form.addRow("Format", self.format_combo)
        form.addRow("Mapping profile", self.profile_combo)
        form.addRow("Time zone", self.timezone)
        form.addRow("Date order", self.date_order)
        opts = QGridLayout()
        opts.addWidget(self.dayfirst, 0, 0)
        opts.addWidget(self.decimal_comma, 0, 1)
        opts.addWidget(self.skip_bad, 1, 0, 1, 2)
        self.mapping_box = QWidget()
        mb = QVBoxLayout(self.mapping_box)
        mb.setContentsMargins(0, 0, 0, 0)
        mb.addWidget(self.mapping)
        mb.addLayout(opts)
        mb.addWidget(self.save_btn, 0, Qt.AlignmentFlag.AlignRight)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        self.mapping.verticalHeader().setDefaultSectionSize(28)
        self.mapping.setMinimumHeight(260)  # a booking list offers 40 fields: room for them
        lay.addWidget(self.mapping_box, 1)
        lay.addWidget(refresh, 0, Qt.AlignmentFlag.AlignRight)
        lay.addWidget(self.preview_table, 1)
        lay.addWidget(self.problems)
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        self.profile_combo.currentIndexChanged.connect(self._profile_changed)
        self._headers: list[str] = []
        # A mapping edited column by column is previewed once the officer pauses, and only
        # the newest preview is shown (an older one may finish later).
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(300)
        self._preview_timer.timeout.connect(self.refresh_preview)
        self._preview_generation = 0
        self._header_generation = 0

    # ------------------------------------------------------------------ setup
    def initializePage(self) -> None:
        if self.wiz.case_timezone and not self.timezone.text():
            self.timezone.setText(self.wiz.case_timezone)
        folder_item = self.format_combo.findData(FOLDER_FORMAT)
        if self.wiz.detected == FOLDER_FORMAT and folder_item < 0:
            self.format_combo.blockSignals(True)
            self.format_combo.insertItem(0, "Every export found in the folder", FOLDER_FORMAT)
            self.format_combo.blockSignals(False)
        elif self.wiz.detected != FOLDER_FORMAT and folder_item >= 0:
            self.format_combo.blockSignals(True)
            self.format_combo.removeItem(folder_item)
            self.format_combo.blockSignals(False)
        if self.wiz.detected:
            idx = self.format_combo.findData(self.wiz.detected)
            if idx >= 0:
                self.format_combo.setCurrentIndex(idx)
        self._format_changed()

    def current_format(self) -> str:
        return str(self.format_combo.currentData())

    def _format_changed(self) -> None:
        target = TABULAR_FORMATS.get(self.current_format())
        self.mapping_box.setVisible(target is not None)
        self.profile_combo.setEnabled(target is not None)
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        self.profile_combo.addItem("Recognise from the header", None)
        self.profile_combo.addItem("Custom (the mapping below)", "__custom__")
        if target is not None:
            for info in self.wiz.profiles:
                if info.target == target:
                    suffix = "" if info.builtin else " (saved)"
                    self.profile_combo.addItem(f"{info.label or info.name}{suffix}", info.name)
            self._fill_mapping({})
            self._read_headers()
        self.profile_combo.blockSignals(False)
        self.refresh_preview()

    def _read_headers(self) -> None:
        """The file's column names for the mapping's choices, read on the read lane: a large
        workbook's shared strings take seconds to parse, which the UI thread must not wait
        for. Only the newest answer is used (the format may change meanwhile)."""
        self._header_generation += 1
        generation, path = self._header_generation, self.wiz.path
        self._headers = []
        if path is None:
            return

        def work(_p: Any, _c: Any) -> list[str]:
            try:
                return [str(h) for h in (read_header(path) or [])]
            except Exception:  # noqa: BLE001 - a bad file is reported by the preview
                return []

        def done(headers: list[str]) -> None:
            if generation != self._header_generation or TABULAR_FORMATS.get(self.current_format()) is None:
                return
            self._headers = headers
            name = self.profile_combo.currentData()
            info = (next((p for p in self.wiz.profiles if p.name == name), None)
                    if name and name != "__custom__" else None)
            self._fill_mapping(dict(info.definition.get("columns", {})) if info else {})
            self.headersRead.emit()

        self.wiz.session.runner.submit(work, title="Read the header", lane="read", visible=False,
                                       on_done=done, on_error=lambda _exc, _details: None)

    def _target(self) -> str:
        return TABULAR_FORMATS.get(self.current_format(), "transaction")

    def _fill_mapping(self, columns: dict[str, Any]) -> None:
        fields = MAPPED_FIELDS[self._target()]
        self.mapping.setRowCount(len(fields))
        for row, fld in enumerate(fields):
            # The field's name in words; its key (as saved in a profile) in the tooltip and
            # the item's data.
            item = QTableWidgetItem(label_for(fld))
            item.setData(Qt.ItemDataRole.UserRole, fld)
            item.setToolTip(f"{label_for(fld)} — saved in a profile as “{fld}”")
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.mapping.setItem(row, 0, item)
            combo = QComboBox()
            combo.addItem("— not in the file —", None)
            for h in self._headers:
                combo.addItem(h, h)
            wanted = columns.get(fld)
            if isinstance(wanted, (list, tuple)):
                wanted = next((w for w in wanted if w in self._headers), None)
            if isinstance(wanted, str) and wanted in self._headers:
                combo.setCurrentIndex(combo.findData(wanted))
            combo.currentIndexChanged.connect(self._mapping_edited)
            self.mapping.setCellWidget(row, 1, combo)

    def _mapping_edited(self) -> None:
        custom = self.profile_combo.findData("__custom__")
        if self.profile_combo.currentIndex() != custom:
            self.profile_combo.blockSignals(True)
            self.profile_combo.setCurrentIndex(custom)
            self.profile_combo.blockSignals(False)
        self._preview_timer.start()

    def _profile_changed(self) -> None:
        name = self.profile_combo.currentData()
        if name and name != "__custom__":
            info = next((p for p in self.wiz.profiles if p.name == name), None)
            if info is not None:
                self._fill_mapping(dict(info.definition.get("columns", {})))
                self.dayfirst.setChecked(bool(info.definition.get("dayfirst")))
                self.decimal_comma.setChecked(bool(info.definition.get("decimal_comma")))
        self.refresh_preview()

    # ------------------------------------------------------------------ profile
    def custom_profile(self, name: str = "custom") -> MappingProfile:
        target = self._target()
        columns = {}
        for row, fld in enumerate(MAPPED_FIELDS[target]):
            combo = self.mapping.cellWidget(row, 1)
            if isinstance(combo, QComboBox) and combo.currentData():
                columns[fld] = combo.currentData()
        return MappingProfile(name=name, target=target, columns=columns, label=name,
                              dayfirst=self.dayfirst.isChecked() or None,
                              decimal_comma=self.decimal_comma.isChecked() or None)

    def profile_dict(self) -> dict[str, Any] | None:
        name = self.profile_combo.currentData()
        if TABULAR_FORMATS.get(self.current_format()) is None or name is None:
            return None
        if name == "__custom__":
            return self.custom_profile().to_dict()
        info = next((p for p in self.wiz.profiles if p.name == name), None)
        return dict(info.definition) if info else None

    def _save_profile(self) -> None:
        name, ok = QInputDialog.getText(self, "Save mapping profile", "Profile name:")
        if not ok or not name.strip():
            return
        try:
            prof = self.custom_profile(name.strip())
        except ProfileError as exc:
            QMessageBox.warning(self, "Mapping profile", str(exc))
            return

        def done(info: Any) -> None:
            self.wiz.reload_profiles()
            self._format_changed()
            idx = self.profile_combo.findData(info.name)
            if idx >= 0:
                self.profile_combo.setCurrentIndex(idx)
            self.wiz.profileSaved.emit(info.name)

        self.wiz.session.runner.submit(lambda _p, _c: save_profile(self.wiz.session.ws, prof),
                                       title=f"Save profile {prof.name}", lane="edit", visible=False,
                                       on_done=done, on_error=self.wiz.show_failure)

    # ------------------------------------------------------------------ preview
    def options(self) -> ImportOptions:
        ws = self.wiz.session.ws
        return ImportOptions(timezone=self.timezone.text().strip() or None,
                             default_region=ws.settings.phone_region, profile=self.profile_dict(),
                             date_order=self.date_order.currentData())

    def refresh_preview(self) -> None:
        self._preview_timer.stop()
        if self.wiz.path is None:
            return
        self._preview_generation += 1
        generation = self._preview_generation
        path, fmt = self.wiz.path, self.current_format()
        try:
            options = self.options()
        except (ProfileError, WorkstationError) as exc:
            self.problems.setText(f"<b>Mapping:</b> {exc}")
            return
        self.problems.setText("Reading the first records…")
        self.wiz.session.runner.submit(lambda _p, _c: preview(path, fmt=fmt, options=options, limit=20),
                                       title="Preview", lane="read", visible=False,
                                       on_done=lambda pv: self._show_preview(pv, generation),
                                       on_error=lambda exc, details: self._preview_failed(
                                           exc, details, generation))

    def _show_preview(self, pv: Preview, generation: int) -> None:
        if generation != self._preview_generation:
            return  # the mapping changed since this preview was asked for
        self.preview_table.setRowCount(len(pv.records))
        zone_name = self.timezone.text().strip() or "UTC"
        for row, rec in enumerate(pv.records):
            tips: list[str | None] = [None] * 5
            if isinstance(rec, ParsedEvent):
                when, tips[1] = _preview_time(rec, zone_name)
                head = rec.title or ("" if rec.body else event_summary(rec.kind, None, None, rec.properties))
                body = "" if (rec.body or "").strip() == head.strip() else rec.body or ""
                text = " ".join(t for t in (head, _facts(rec), body, _attached(rec)) if t)
                shown = text if len(text) <= 200 else text[:200] + "…"
                details = "\n".join(f"{r.label}: {r.text}" for r in property_rows(
                    rec.properties, zone_name, skip=("time_precision",)))
                tips[3] = "\n\n".join(t for t in (text if shown != text or "\n" in text else "", details) if t)
                parties = [f"{role_text(p.role)}: {party_text(p.kind, p.value, p.label)}" for p in rec.parties]
                cells = [rec.ref, when, kind_text(rec.kind), shown, ", ".join(parties)]
                tips[4] = "\n".join(parties) or None
            elif isinstance(rec, ParsedEntity):
                cells = [rec.ref, "", kind_text(rec.party.kind),
                         party_text(rec.party.kind, rec.party.value, rec.party.label), ""]
            else:
                cells = [getattr(rec, "ref", ""), "", type(rec).__name__, "", ""]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                tip = tips[col]
                if tip:
                    item.setToolTip(tip)
                self.preview_table.setItem(row, col, item)
        msg = [f"{len(pv.records)} records shown ({pv.label})."]
        msg += [f"⚠ {p.row}{' ' + p.field if p.field else ''}: {p.message}" for p in pv.problems[:10]]
        self.problems.setText("<br>".join(msg))
        self.wiz.last_preview = pv

    def _preview_failed(self, exc: BaseException, _details: str, generation: int) -> None:
        if generation != self._preview_generation:
            return
        self.preview_table.setRowCount(0)
        self.problems.setText(f"<b>Cannot read the file this way:</b> {exc}")
        self.wiz.last_preview = None


def _preview_time(rec: ParsedEvent, zone_name: str) -> tuple[str, str | None]:
    """A record's time as the file gave it → (cell, tooltip): with the file's own offset,
    or saying which zone a time written without one will be read in; a date without a
    time of day as that date."""
    when = rec.occurred_at
    if when is None:
        return "", "No time in this record"
    precision = rec.properties.get("time_precision")
    if precision in ("day", "month", "year") and when.tzinfo is None:
        return when.date().isoformat(), f"{when.date().isoformat()}\nThe file gives a date without a time of day"
    text = when.strftime("%Y-%m-%d %H:%M:%S")
    offset = when.utcoffset()
    if offset is None:
        cell = f"{text} ({zone_name})"
        return cell, f"{cell}\nNo zone in the file: read as {zone_name} (change it in the Time zone box above)"
    cell = f"{text} {format_offset(int(offset.total_seconds() // 60))}"
    return cell, f"{cell}\nThe offset is the file's own"


def _attached(rec: ParsedEvent) -> str:
    """The files a message carries, by name, so a mapping that drops them shows."""
    names = [a.name for a in rec.attachments if a.name]
    if not names:
        return ""
    shown = ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")
    return f"📎 {shown}"


def _facts(rec: ParsedEvent) -> str:
    """What the officer checks a mapping by, beside the title: the amount of a transaction,
    the charges of a booking."""
    props = rec.properties
    if "amount" in props:
        if props["amount"] in (None, ""):
            return "[no cash moved]" if props.get("cash_movement") is False else "[no amount]"
        return f"[{props['amount']} {props.get('currency') or ''}]".replace(" ]", "]")
    charges = [str(c.get("description") or c.get("statute") or "") for c in props.get("charges") or ()]
    return f"[{'; '.join(c for c in charges if c)}]" if any(charges) else ""


class _RunPage(QWizardPage):
    def __init__(self, wizard: ImportWizardDialog) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle("Importing")
        self.setSubTitle("One transaction: cancelling leaves the case exactly as it was.")
        self.bar = QProgressBar()
        self.bar.setObjectName("importProgress")
        self.bar.setRange(0, 1000)
        self.status = QLabel()
        self.cancel_btn = QPushButton("Cancel import")
        self.cancel_btn.setObjectName("cancelImport")
        self.cancel_btn.clicked.connect(self._cancel)
        lay = QVBoxLayout(self)
        lay.addWidget(self.bar)
        lay.addWidget(self.status)
        lay.addWidget(self.cancel_btn, 0, Qt.AlignmentFlag.AlignRight)
        self._task: Any = None
        self._done = False
        self._connected = False

    def initializePage(self) -> None:
        self._done = False
        page: _MappingPage = self.wiz.mapping_page
        path, fmt = self.wiz.path, page.current_format()
        skip = page.skip_bad.isChecked()
        try:
            options = page.options()
        except (ProfileError, WorkstationError) as exc:
            self._failed(exc, "")
            return
        ws = self.wiz.session.ws
        case_id = self.wiz.case_id
        self.status.setText(f"Reading {path.name}…")
        self.cancel_btn.setEnabled(True)

        def work(progress: Any, cancel: Any) -> ImportResult:
            return run_import(ws, case_id, path, fmt=fmt, options=options, skip_bad_rows=skip,
                              progress=progress, cancel=cancel)

        runner = self.wiz.session.runner
        if not self._connected:
            runner.taskUpdated.connect(self._progress)
            self._connected = True
        self._task = runner.submit(work, title=f"Import {path.name}", lane="db", on_done=self._succeeded,
                                   on_error=self._failed, on_cancel=self._cancelled)

    def _progress(self, info: Any) -> None:
        if self._task is None or info.id != self._task.id:
            return
        if info.fraction is not None:
            self.bar.setValue(int(info.fraction * 1000))
        if info.message:
            self.status.setText(info.message)

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.status.setText("Cancelling…")

    def _succeeded(self, result: ImportResult) -> None:
        self.wiz.result = result
        self.wiz.error = None
        self._finish()
        changes = getattr(self.wiz.session, "changed", None)
        if changes is not None and result.source_id is not None:
            from workstation.domain.models import Changes

            self.wiz.session.changed.emit(Changes("source", "imported", (result.source_id,), self.wiz.case_id))
        self.wiz.next()

    def _failed(self, exc: BaseException, _details: str) -> None:
        self.wiz.result = None
        self.wiz.error = exc
        self._finish()
        self.wiz.next()

    def _cancelled(self) -> None:
        self._failed(Cancelled("import cancelled; nothing was saved"), "")

    def _finish(self) -> None:
        self._done = True
        self.bar.setValue(1000)
        self.cancel_btn.setEnabled(False)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self._done


class _SummaryPage(QWizardPage):
    def __init__(self, wizard: ImportWizardDialog) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle("Summary")
        self.summary = QLabel()
        self.summary.setObjectName("importSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Rows skipped and notes of the importer (a warning status, a date read one way
        # rather than another): what the officer should read before relying on the import.
        self.errors = QTableWidget(0, 3)
        self.errors.setObjectName("importErrors")
        self.errors.setHorizontalHeaderLabels(["Where", "What", "Problem or note"])
        self.errors.horizontalHeader().setStretchLastSection(True)
        self.errors.verticalHeader().hide()
        self.errors.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.errors, 1)
        lay.addStretch(0)

    def initializePage(self) -> None:
        r, err = self.wiz.result, self.wiz.error
        self.errors.setRowCount(0)
        self.errors.hide()
        if err is not None:
            self.summary.setText(f"<b>{'Cancelled' if isinstance(err, Cancelled) else 'Nothing was imported'}.</b> "
                                 + html.escape(str(err)))
            return
        assert r is not None
        if r.duplicate_of is not None:
            self.summary.setText(f"This file was already imported into the case (source {r.duplicate_of}); nothing changed.")
            return
        labels = dict(describe())
        counts = f"{r.events:,} events"
        if r.messages and r.messages != r.events:
            counts += f" ({r.messages:,} messages)"
        parts = r.parts
        if parts:
            lines = [f"Imported the folder's <b>{len(parts)} exports</b>: {counts}, "
                     f"{r.entities:,} new entities, {r.links:,} links."]
            lines += [f"• {html.escape(rel)} — {html.escape(labels.get(fmt, fmt))}: {n:,} events"
                      for rel, fmt, n in parts[:20]]
            if len(parts) > 20:
                lines.append(f"• and {len(parts) - 20:,} more")
        else:
            label = labels.get(r.format, r.format)
            lines = [f"Imported as <b>{html.escape(label)}</b>: {counts}, {r.entities:,} new entities, "
                     f"{r.links:,} links."]
        if r.system_lines:
            lines.append(f"{r.system_lines:,} system lines (joins, notices, calls…) kept with the "
                         "source, not counted as messages.")
        if r.errors:
            lines.append(f"<b>{r.skipped:,} rows skipped</b> — each is listed below with its "
                         "row and field." if r.skipped else
                         f"<b>{len(r.errors):,} problems</b> — listed below.")
        if r.warnings:
            lines.append(f"{len(r.warnings):,} notes from the importer — listed below.")
        if not r.errors and not r.warnings:
            lines.append("Nothing needed attention: every record was imported.")
        self.summary.setText("<br>".join(lines))
        rows = [(e.row, e.field or "", e.message) for e in r.errors]
        for w in r.warnings:
            where, sep, text = w.partition(": ")
            rows.append((where, "note", text) if sep else ("", "note", w))
        self.errors.setRowCount(len(rows))
        for row, cells in enumerate(rows):
            for col, text in enumerate(cells):
                self.errors.setItem(row, col, QTableWidgetItem(text))
        self.errors.setVisible(bool(rows))
        self.errors.resizeColumnsToContents()
        self.errors.horizontalHeader().setStretchLastSection(True)


class ImportWizardDialog(QWizard):
    """Import one file into one case. ``result`` holds the ImportResult when it succeeded."""

    profileSaved = Signal(str)

    def __init__(self, session: Any, case_id: int, parent: QWidget | None = None,
                 path: str | Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import")
        self.setObjectName("importWizard")
        self.session = session
        self.case_id = case_id
        self.path: Path | None = None
        self.detected: str | None = None
        self.result: ImportResult | None = None
        self.error: BaseException | None = None
        self.last_preview: Preview | None = None
        self.case_timezone: str | None = None
        self.profiles: list[Any] = []
        try:
            self.case_timezone = session.ws.get_case(case_id).timezone
        except WorkstationError:
            pass
        self.reload_profiles()
        self.file_page = _FilePage(self)
        self.mapping_page = _MappingPage(self)
        self.run_page = _RunPage(self)
        self.summary_page = _SummaryPage(self)
        for page in (self.file_page, self.mapping_page, self.run_page, self.summary_page):
            self.addPage(page)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.resize(900, 640)
        if path is not None:
            self.file_page.path_edit.setText(str(path))

    def reload_profiles(self) -> None:
        try:
            self.profiles = list_profiles(self.session.ws)  # small read: a handful of rows
        except WorkstationError:
            self.profiles = []

    def show_failure(self, exc: BaseException, _details: str = "") -> None:
        QMessageBox.warning(self, "Import", str(exc))
