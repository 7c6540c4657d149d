"""The Export and Case report dialogs: what the officer chooses is what gets written, the
work runs in the background with progress, and failures show in the form naming the path."""

from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import Qt

from tests.ui.conftest import seed_case
from ui.reports import ExportDialog, ReportDialog
from workstation.errors import StorageError


def _wait_done(qtbot, dlg) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: not dlg.running and (dlg.result is not None or dlg.error is not None), timeout=20000)


def test_export_dialog_writes_the_chosen_table(session, qtbot, tmp_path: Path) -> None:
    ids = seed_case(session.ws, events=12)
    dlg = ExportDialog(session, ids["case"])
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.set_format("csv", "events")
    assert dlg.table_combo.isEnabled()
    assert dlg.path_edit.text().endswith("2024-ICE-0042-events.csv")
    target = tmp_path / "events.csv"
    dlg.path_edit.setText(str(target))
    with qtbot.waitSignal(dlg.exported, timeout=20000) as signal:
        qtbot.mouseClick(dlg.run_button, Qt.MouseButton.LeftButton)
    info = signal.args[0]
    _wait_done(qtbot, dlg)
    with target.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 == info.rows
    assert info.sha256 in dlg.status_label.text() and str(target) in dlg.status_label.text()
    assert dlg.progress_bar.value() == 1000 and dlg.run_button.isEnabled()


def test_export_dialog_formats_and_suggested_names(session, qtbot) -> None:
    ids = seed_case(session.ws, events=3)
    dlg = ExportDialog(session, ids["case"])
    qtbot.addWidget(dlg)
    dlg.set_format("graphml")
    assert not dlg.table_combo.isEnabled() and dlg.table is None
    assert dlg.path_edit.text().endswith("2024-ICE-0042-chart.graphml")
    dlg.set_format("xlsx", "links")
    assert dlg.table == "links" and dlg.path_edit.text().endswith("2024-ICE-0042-links.xlsx")
    assert "formula" in dlg.hint_label.text()


def test_export_dialog_shows_storage_errors_and_writes_nothing(session, qtbot, tmp_path: Path) -> None:
    ids = seed_case(session.ws, events=3)
    dlg = ExportDialog(session, ids["case"])
    qtbot.addWidget(dlg)
    dlg.set_format("ftm")
    target = tmp_path / "missing" / "case.ftm.json"
    dlg.path_edit.setText(str(target))
    dlg.run_button.click()
    _wait_done(qtbot, dlg)
    assert isinstance(dlg.error, StorageError)
    assert str(target.parent) in dlg.status_label.text() and "Nothing was written" in dlg.status_label.text()
    assert dlg.status_label.objectName() == "errorLabel"
    assert not target.parent.exists() and dlg.run_button.isEnabled()
    # Another folder works from the same form.
    dlg.path_edit.setText(str(tmp_path / "case.ftm.json"))
    dlg.run_button.click()
    _wait_done(qtbot, dlg)
    assert dlg.result is not None and (tmp_path / "case.ftm.json").stat().st_size > 0


def test_export_dialog_keeps_an_existing_file_when_told_not_to_replace(session, qtbot, tmp_path: Path) -> None:
    ids = seed_case(session.ws, events=3)
    dlg = ExportDialog(session, ids["case"])
    qtbot.addWidget(dlg)
    target = tmp_path / "keep.csv"
    target.write_text("precious", encoding="utf-8")
    asked: list[Path] = []
    dlg.confirm_overwrite = lambda p: asked.append(p) or False
    dlg.set_format("csv", "entities")
    dlg.path_edit.setText(str(target))
    dlg.run_button.click()
    assert asked == [target] and not dlg.running
    assert target.read_text(encoding="utf-8") == "precious"


def test_report_dialog_writes_the_ticked_sections(session, qtbot, tmp_path: Path) -> None:
    ids = seed_case(session.ws, events=20)
    dlg = ReportDialog(session, ids["case"])
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.sections() == tuple(dlg.section_boxes)  # everything ticked by default
    for name, box in dlg.section_boxes.items():
        box.setChecked(name in ("summary", "events"))
    dlg.set_format("html")
    assert not dlg.paper_combo.isEnabled() and dlg.path_edit.text().endswith("-report.html")
    target = tmp_path / "report.html"
    dlg.path_edit.setText(str(target))
    with qtbot.waitSignal(dlg.reported, timeout=20000) as signal:
        dlg.run_button.click()
    info = signal.args[0]
    _wait_done(qtbot, dlg)
    page = target.read_text(encoding="utf-8")
    assert "2024-ICE-0042" in page and "Key events" in page and "Summary" in page
    assert "Link chart" not in page and "Audit excerpt" not in page
    assert info.sections == ("summary", "events")
    assert info.state.digest in dlg.status_label.text()
    assert dlg.progress_bar.value() == 1000


def test_report_dialog_pdf(session, qtbot, tmp_path: Path) -> None:
    from pypdf import PdfReader

    ids = seed_case(session.ws, events=10)
    dlg = ReportDialog(session, ids["case"])
    qtbot.addWidget(dlg)
    dlg.paper_combo.setCurrentIndex(dlg.paper_combo.findData("letter"))
    target = tmp_path / "report.pdf"
    dlg.path_edit.setText(str(target))
    dlg.run_button.click()
    assert dlg.running and not dlg.run_button.isEnabled()
    _wait_done(qtbot, dlg)
    reader = PdfReader(str(target))
    assert dlg.result.pages == len(reader.pages) > 1
    assert abs(float(reader.pages[0].mediabox.width) - 612) < 1  # US Letter, as chosen
    assert "2024-ICE-0042" in reader.pages[0].extract_text()
