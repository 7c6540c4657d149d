"""The Export and Report dialogs (File → Export…, File → Case report…).

Both are thin forms over the core: the officer chooses what and where, the dialog runs
``workstation.reports`` on the session's ``db`` lane with progress and cancel, and says
what was written (path, size, SHA-256; for reports the database-state digest). Nothing is
written before the officer presses the button; the core writes atomically and audits.
Errors (read-only folder, full disk) show inline, naming the path; the form stays open so
another folder can be chosen.

Thread: UI thread. The work functions run on a worker.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workstation.errors import Cancelled, WorkstationError
from workstation.reports.exports import FORMAT_LABELS, FORMATS, TABLE_FORMATS, TABLES, default_file_name
from workstation.reports.report import SECTION_TITLES, SECTIONS

_TABLE_LABELS = {"entities": "Entities (people, identifiers, …)", "events": "Events (messages, transactions, …)",
                 "links": "Links", "notes": "Notes", "sources": "Sources (imported files)",
                 "media": "Media hashes"}


def _default_folder() -> Path:
    docs = Path.home() / "Documents"
    return docs if docs.is_dir() else Path.home()


def _ask_overwrite(parent: QWidget, path: Path) -> bool:
    answer = QMessageBox.question(parent, "Replace file?", f"{path} exists. Replace it?",
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


class _TaskDialog(QDialog):
    """Shared shape: a form, a target path row, a progress bar, a status line, and
    Run / Cancel / Close buttons; runs one core function at a time on the db lane."""

    def __init__(self, session: Any, case_id: int, title: str, run_text: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.session = session
        self.case_id = case_id
        self.setWindowTitle(title)
        self.setMinimumWidth(560)
        self.case_number = str(case_id)
        try:
            self.case_number = session.ws.get_case(case_id).number  # one small read
        except WorkstationError:
            pass
        # Tests replace this to answer the overwrite question without a message box.
        self.confirm_overwrite: Callable[[Path], bool] = lambda p: _ask_overwrite(self, p)
        self.result: Any = None
        self.error: BaseException | None = None
        self._task: Any = None
        self._connected = False

        self.layout_ = QVBoxLayout(self)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        path_row = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("targetPath")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        self.path_row = path_row
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self.status_label = QLabel()
        self.status_label.setObjectName("mutedLabel")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.run_button = QPushButton(run_text)
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        self.cancel_button.hide()
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        for b in (self.run_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        self._buttons = buttons

    def _finish_layout(self) -> None:
        self.form.addRow("Save to", self.path_row)
        self.layout_.addWidget(self.progress_bar)
        self.layout_.addWidget(self.status_label)
        self.layout_.addStretch(1)
        self.layout_.addLayout(self._buttons)

    # -------------------------------------------------------------- to override
    def suggested_name(self) -> str:
        raise NotImplementedError

    def file_filter(self) -> str:
        return "All files (*)"

    def make_work(self, path: Path) -> Callable[[Any, Any], Any]:
        raise NotImplementedError

    def describe(self, result: Any) -> str:
        raise NotImplementedError

    def announce(self, result: Any) -> None:
        """Emit the dialog's own signal after success."""

    # -------------------------------------------------------------- shared behaviour
    def suggest_path(self) -> None:
        """Keep the chosen folder, put the name that fits the current choice."""
        current = self.path_edit.text().strip()
        folder = Path(current).expanduser().parent if current else _default_folder()
        self.path_edit.setText(str(folder / self.suggested_name()))

    @Slot()
    def _browse(self) -> None:
        start = self.path_edit.text().strip() or str(_default_folder() / self.suggested_name())
        path, _ = QFileDialog.getSaveFileName(self, self.windowTitle(), start, self.file_filter())
        if path:
            self.path_edit.setText(path)

    def set_status(self, text: str, *, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setObjectName("errorLabel" if error else "mutedLabel")
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)

    def set_running(self, running: bool) -> None:
        for w in (self.run_button, self.browse_button, self.path_edit):
            w.setEnabled(not running)
        self.set_form_enabled(not running)
        self.cancel_button.setVisible(running)
        self.progress_bar.setVisible(running or self.progress_bar.value() > 0)

    def set_form_enabled(self, enabled: bool) -> None:
        for i in range(self.form.rowCount()):
            item = self.form.itemAt(i, QFormLayout.ItemRole.FieldRole)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setEnabled(enabled)

    @property
    def running(self) -> bool:
        return self._task is not None

    @Slot()
    def start(self) -> None:
        """Validate the target and run the core function on the db lane."""
        text = self.path_edit.text().strip()
        if not text:
            self.set_status("Choose where to save the file.", error=True)
            return
        path = Path(text).expanduser()
        if path.is_dir():
            self.set_status(f"{path} is a folder; add a file name.", error=True)
            return
        if path.exists() and not self.confirm_overwrite(path):
            return
        if self.session.is_locked:
            self.set_status("The database is locked; unlock it first.", error=True)
            return
        self.result, self.error = None, None
        work = self.make_work(path)
        runner = self.session.runner
        if not self._connected:
            runner.taskUpdated.connect(self._progress)
            self._connected = True
        self.progress_bar.setValue(0)
        self.set_status("Starting…")
        self._task = runner.submit(work, title=f"{self.windowTitle()} — {self.case_number}", lane="db",
                                   on_done=self._succeeded, on_error=self._failed, on_cancel=self._cancelled)
        self.set_running(True)

    @Slot(object)
    def _progress(self, info: Any) -> None:
        if self._task is None or info.id != self._task.id:
            return
        if info.fraction is not None:
            self.progress_bar.setValue(int(info.fraction * 1000))
        if info.message:
            self.set_status(info.message)

    def _succeeded(self, result: Any) -> None:
        self._task = None
        self.result = result
        self.progress_bar.setValue(1000)
        self.set_running(False)
        self.set_status(self.describe(result))
        self.announce(result)

    def _failed(self, exc: BaseException, _details: str) -> None:
        self._task = None
        self.error = exc
        self.progress_bar.setValue(0)
        self.set_running(False)
        self.progress_bar.hide()
        self.set_status(f"Nothing was written. {exc}", error=True)

    def _cancelled(self) -> None:
        self._failed(Cancelled("cancelled; no file was written"), "")

    @Slot()
    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.set_status("Cancelling…")

    def done(self, code: int) -> None:  # noqa: D401 - Qt override
        """Closing while work runs cancels it (the core then writes nothing)."""
        if self._task is not None:
            self._task.cancel()
        if self._connected:
            try:
                self.session.runner.taskUpdated.disconnect(self._progress)
            except (RuntimeError, TypeError):
                pass
            self._connected = False
        super().done(code)


class ExportDialog(_TaskDialog):
    """Export one case: format, table (for CSV/XLSX) and target file."""

    exported = Signal(object)  # ExportInfo

    def __init__(self, session: Any, case_id: int, parent: QWidget | None = None) -> None:
        super().__init__(session, case_id, "Export case", "Export", parent)
        self.setObjectName("exportDialog")
        self.format_combo = QComboBox()
        self.format_combo.setObjectName("exportFormat")
        for fmt in FORMATS:
            self.format_combo.addItem(FORMAT_LABELS[fmt], fmt)
        self.table_combo = QComboBox()
        self.table_combo.setObjectName("exportTable")
        for t in TABLES:
            self.table_combo.addItem(_TABLE_LABELS.get(t, t), t)
        self.hint_label = QLabel()
        self.hint_label.setObjectName("mutedLabel")
        self.hint_label.setWordWrap(True)
        self.form.addRow("Format", self.format_combo)
        self.form.addRow("Table", self.table_combo)
        self.form.addRow("", self.hint_label)
        self._finish_layout()
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        self.table_combo.currentIndexChanged.connect(lambda _i: self.suggest_path())
        self._format_changed()

    @property
    def fmt(self) -> str:
        return str(self.format_combo.currentData())

    @property
    def table(self) -> str | None:
        return str(self.table_combo.currentData()) if self.fmt in TABLE_FORMATS else None

    def set_format(self, fmt: str, table: str | None = None) -> None:
        """Choose a format (and table) programmatically (menu shortcuts, tests)."""
        self.format_combo.setCurrentIndex(self.format_combo.findData(fmt))
        if table is not None:
            self.table_combo.setCurrentIndex(self.table_combo.findData(table))

    @Slot()
    def _format_changed(self) -> None:
        is_table = self.fmt in TABLE_FORMATS
        self.table_combo.setEnabled(is_table)
        hints = {
            "csv": "Text cells that a spreadsheet would run as formulas get a leading apostrophe.",
            "xlsx": "Amounts, ids and sizes are numbers; text that looks like a formula is neutralised.",
            "graphml": "Opens in Gephi, yEd and Cytoscape with kinds, labels and positions.",
            "anx": "Opens in i2 Analyst's Notebook.",
            "ftm": "For Aleph and FollowTheMoney tools; cards appear masked.",
            "vics": "Hashes and categories of the case's categorised media (no pictures).",
        }
        self.hint_label.setText(hints.get(self.fmt, ""))
        self.suggest_path()

    def suggested_name(self) -> str:
        return default_file_name(self.case_number, self.fmt, self.table)

    def file_filter(self) -> str:
        suffix = default_file_name("x", self.fmt, self.table).split(".", 1)[1]
        return f"{FORMAT_LABELS[self.fmt]} (*.{suffix});;All files (*)"

    def make_work(self, path: Path) -> Callable[[Any, Any], Any]:
        from workstation.reports.exports import export_case

        ws, case_id, fmt, table = self.session.ws, self.case_id, self.fmt, self.table

        def work(progress: Any, cancel: Any) -> Any:
            return export_case(ws, case_id, fmt, path, table=table, progress=progress, cancel=cancel)
        return work

    def describe(self, result: Any) -> str:
        what = f"{result.rows:,} rows" if result.table else f"{result.rows:,} items"
        text = (f"Exported {what} to {result.path} ({result.size:,} bytes).\nSHA-256 {result.sha256}\n"
                "The export is recorded in the audit trail.")
        if result.warnings:
            text += "\n" + "\n".join(f"Note: {w}" for w in result.warnings)
        return text

    def announce(self, result: Any) -> None:
        self.exported.emit(result)


class ReportDialog(_TaskDialog):
    """Write the case report: sections, PDF or HTML, paper size, target file."""

    reported = Signal(object)  # ReportInfo

    def __init__(self, session: Any, case_id: int, parent: QWidget | None = None) -> None:
        super().__init__(session, case_id, "Case report", "Create report", parent)
        self.setObjectName("reportDialog")
        box = QGroupBox("Sections (the cover page with the case details is always included)")
        grid = QGridLayout(box)
        self.section_boxes: dict[str, QCheckBox] = {}
        for i, sec in enumerate(SECTIONS):
            cb = QCheckBox(SECTION_TITLES[sec])
            cb.setObjectName(f"section_{sec}")
            cb.setChecked(True)
            self.section_boxes[sec] = cb
            grid.addWidget(cb, i // 2, i % 2)
        self.layout_.insertWidget(0, box)
        fmt_row = QHBoxLayout()
        self.pdf_radio = QRadioButton("PDF")
        self.pdf_radio.setChecked(True)
        self.html_radio = QRadioButton("HTML (one self-contained page)")
        fmt_row.addWidget(self.pdf_radio)
        fmt_row.addWidget(self.html_radio)
        fmt_row.addStretch(1)
        fmt_widget = QWidget()
        fmt_widget.setLayout(fmt_row)
        fmt_row.setContentsMargins(0, 0, 0, 0)
        self.paper_combo = QComboBox()
        self.paper_combo.addItem("A4", "A4")
        self.paper_combo.addItem("US Letter", "letter")
        self.key_events_spin = QSpinBox()
        self.key_events_spin.setRange(1, 500)
        self.key_events_spin.setValue(25)
        self.key_events_spin.setToolTip("Starred events are listed first; without stars, a sample is chosen.")
        self.form.addRow("Format", fmt_widget)
        self.form.addRow("Paper", self.paper_combo)
        self.form.addRow("Key events", self.key_events_spin)
        self._finish_layout()
        self.pdf_radio.toggled.connect(self._format_changed)
        self._format_changed()

    @property
    def fmt(self) -> str:
        return "pdf" if self.pdf_radio.isChecked() else "html"

    def set_format(self, fmt: str) -> None:
        (self.pdf_radio if fmt == "pdf" else self.html_radio).setChecked(True)

    def sections(self) -> tuple[str, ...]:
        """The ticked sections, in report order."""
        return tuple(sec for sec in SECTIONS if self.section_boxes[sec].isChecked())

    def set_sections(self, sections: tuple[str, ...] | list[str]) -> None:
        for sec, cb in self.section_boxes.items():
            cb.setChecked(sec in sections)

    def set_running(self, running: bool) -> None:
        super().set_running(running)
        for cb in self.section_boxes.values():
            cb.setEnabled(not running)

    @Slot()
    def _format_changed(self) -> None:
        self.paper_combo.setEnabled(self.fmt == "pdf")
        self.suggest_path()

    def suggested_name(self) -> str:
        safe = default_file_name(self.case_number, "csv").rsplit(".", 1)[0]
        return f"{safe}-report.{self.fmt}"

    def file_filter(self) -> str:
        return "PDF (*.pdf);;All files (*)" if self.fmt == "pdf" else "HTML (*.html *.htm);;All files (*)"

    def start(self) -> None:
        if not self.sections() and not self._cover_only_ok():
            return
        super().start()

    def _cover_only_ok(self) -> bool:
        self.set_status("No section is ticked: the report will hold only the cover page.")
        return True

    def make_work(self, path: Path) -> Callable[[Any, Any], Any]:
        from workstation.reports.report import build_report

        ws, case_id, fmt = self.session.ws, self.case_id, self.fmt
        sections = self.sections()
        paper = str(self.paper_combo.currentData())
        key_events = self.key_events_spin.value()

        def work(progress: Any, cancel: Any) -> Any:
            # An empty tuple means "cover only", not "all": pass a list the core keeps as is.
            return build_report(ws, case_id, path, fmt=fmt, sections=list(sections) or ["cover"],
                                progress=progress, cancel=cancel, key_events=key_events, page_size=paper)
        return work

    def describe(self, result: Any) -> str:
        pages = f", {result.pages} pages" if result.pages else ""
        return (f"Report written to {result.path} ({result.fmt.upper()}{pages}, {result.size:,} bytes).\n"
                f"SHA-256 {result.sha256}\nDatabase state {result.state.digest}")

    def announce(self, result: Any) -> None:
        self.reported.emit(result)


__all__ = ["ExportDialog", "ReportDialog"]
