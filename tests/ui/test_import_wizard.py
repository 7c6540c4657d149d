"""The import wizard, driven as an officer would: file, mapping, run, summary."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from ui.import_wizard import ImportWizardDialog


def _wizard(qtbot, session, case_id: int, path: Path) -> ImportWizardDialog:
    wiz = ImportWizardDialog(session, case_id, path=path)
    qtbot.addWidget(wiz)
    wiz.show()
    return wiz


def _run_to_summary(qtbot, wiz: ImportWizardDialog) -> None:
    wiz.next()  # file → mapping (format detected)
    qtbot.waitUntil(lambda: wiz.last_preview is not None or "Cannot" in wiz.mapping_page.problems.text(),
                    timeout=10000)
    wiz.next()  # mapping → run
    qtbot.waitUntil(lambda: wiz.currentPage() is wiz.summary_page, timeout=30000)


def test_chat_export_imports_with_preview_and_summary(qtbot, session, shared_data: Path) -> None:
    case_id = session.ws.create_case("W-1", "wizard").id
    wiz = _wizard(qtbot, session, case_id, shared_data / "chat/telegram/result.json")
    wiz.next()
    assert wiz.mapping_page.current_format() == "telegram_json"
    qtbot.waitUntil(lambda: wiz.mapping_page.preview_table.rowCount() == 4, timeout=10000)
    assert "Hi nemesis" in wiz.mapping_page.preview_table.item(1, 3).text()
    wiz.next()
    qtbot.waitUntil(lambda: wiz.currentPage() is wiz.summary_page, timeout=30000)
    assert wiz.result is not None and wiz.result.events == 4
    assert "4 events" in wiz.summary_page.summary.text()
    assert "Imported as <b>Telegram" in wiz.summary_page.summary.text()  # the format's name, not its id
    assert session.ws.count_events(case_id) == 4
    wiz.close()


def test_custom_mapping_saved_and_reused_with_skip_bad_rows(qtbot, session, tmp_path: Path) -> None:
    case_id = session.ws.create_case("W-2", "wizard csv").id
    csv = tmp_path / "odd_bank.csv"
    csv.write_text("Booked;Text;Sum;Card\n"
                   "01.02.2024;KIOSK A;-12,50;4111 1111 1111 1111\n"
                   "02.02.2024;KIOSK B;oops;4111 1111 1111 1111\n"
                   "03.02.2024;KIOSK C;-3,00;4111 1111 1111 1111\n", encoding="cp1252")
    wiz = _wizard(qtbot, session, case_id, csv)
    wiz.next()
    page = wiz.mapping_page
    assert page.current_format() == "transactions_table"
    # The column names are read off the UI thread; the choices follow.
    qtbot.waitUntil(lambda: page.mapping.cellWidget(0, 1).findData("Booked") >= 0, timeout=10000)
    mapping = {"date": "Booked", "description": "Text", "amount": "Sum", "card_number": "Card"}
    for row in range(page.mapping.rowCount()):
        field = page.mapping.item(row, 0).data(Qt.ItemDataRole.UserRole)
        combo = page.mapping.cellWidget(row, 1)
        assert isinstance(combo, QComboBox)
        if field in mapping:
            combo.setCurrentIndex(combo.findData(mapping[field]))
    page.dayfirst.setChecked(True)
    page.decimal_comma.setChecked(True)
    page.skip_bad.setChecked(True)
    # Save the mapping as a reusable profile (no dialog: call the core the way the button does).
    from ui.import_wizard import save_profile

    save_profile(session.ws, page.custom_profile("Odd bank export"))
    wiz.reload_profiles()
    assert any(p.name == "Odd bank export" and not p.builtin for p in wiz.profiles)
    page.refresh_preview()
    qtbot.waitUntil(lambda: page.preview_table.rowCount() == 2, timeout=10000)
    assert page.preview_table.item(0, 3).text() == "KIOSK A [-12.50]"
    wiz.next()
    qtbot.waitUntil(lambda: wiz.currentPage() is wiz.summary_page, timeout=30000)
    assert wiz.result is not None and (wiz.result.events, wiz.result.skipped) == (2, 1)
    assert wiz.summary_page.errors.rowCount() == 1
    assert wiz.summary_page.errors.item(0, 0).text() == "row 3"
    amounts = sorted(e.properties["amount"] for e in session.ws.list_events(case_id))
    assert amounts == ["-12.50", "-3.00"]
    wiz.close()


def test_bad_file_reports_and_changes_nothing(qtbot, session, tmp_path: Path) -> None:
    case_id = session.ws.create_case("W-3", "wizard bad").id
    bad = tmp_path / "result.json"
    bad.write_text('{"name": "x", "type": "personal_chat", "id": 1, "messages": [{"id": 1,', encoding="utf-8")
    before = session.ws.counts()
    wiz = _wizard(qtbot, session, case_id, bad)
    _run_to_summary(qtbot, wiz)
    assert wiz.result is None and wiz.error is not None
    assert "Nothing was imported" in wiz.summary_page.summary.text()
    assert session.ws.counts() == before
    wiz.close()


def test_booking_list_mapped_by_hand_imports_people_and_charges(qtbot, session, tmp_path: Path) -> None:
    case_id = session.ws.create_case("W-4", "wizard bookings").id
    roster = tmp_path / "cad_roster.csv"
    # Column names no guesser knows, as a records system's raw export has them.
    roster.write_text("BKG_NO,SUBJ,BORN,BKG_DT,OFF_DESC,OFF_STAT\n"
                      'Q-1,"TESTPERSON, ALEX",1990-04-01,2024-03-02 09:30,Burglary,ORC 2911.12\n'
                      'Q-1,"TESTPERSON, ALEX",1990-04-01,2024-03-02 09:30,Theft,ORC 2913.02\n'
                      'Q-2,"SAMPLE, ROBIN",1985-05-31,2024-03-03 01:05,Trespass,ORC 2911.21\n',
                      encoding="utf-8")
    wiz = _wizard(qtbot, session, case_id, roster)
    wiz.next()
    page = wiz.mapping_page
    page.format_combo.setCurrentIndex(page.format_combo.findData("booking_table"))
    qtbot.waitUntil(lambda: page.mapping.cellWidget(0, 1).findData("BKG_NO") >= 0, timeout=10000)
    offered = [page.mapping.item(row, 0).data(Qt.ItemDataRole.UserRole) for row in range(page.mapping.rowCount())]
    assert {"booking_number", "full_name", "dob", "charges", "statute"} <= set(offered)
    assert "amount" not in offered
    mapping = {"booking_number": "BKG_NO", "full_name": "SUBJ", "dob": "BORN",
               "booking_time": "BKG_DT", "charges": "OFF_DESC", "statute": "OFF_STAT"}
    for row, field in enumerate(offered):
        if field in mapping:
            combo = page.mapping.cellWidget(row, 1)
            combo.setCurrentIndex(combo.findData(mapping[field]))
    qtbot.waitUntil(lambda: page.preview_table.rowCount() == 2, timeout=10000)
    # The preview shows what the mapping is checked by: one booking per person, its charges.
    assert page.preview_table.item(0, 0).text() == "rows 2-3"
    assert page.preview_table.item(0, 3).text() == "Booking Q-1 [Burglary; Theft]"
    wiz.next()
    qtbot.waitUntil(lambda: wiz.currentPage() is wiz.summary_page, timeout=30000)
    assert wiz.result is not None and (wiz.result.events, wiz.result.errors) == (2, ())
    bookings = sorted(session.ws.list_events(case_id), key=lambda e: e.title)
    assert [b.title for b in bookings] == ["Booking Q-1", "Booking Q-2"]
    assert [(c["description"], c["statute"]) for c in bookings[0].properties["charges"]] == [
        ("Burglary", "ORC 2911.12"), ("Theft", "ORC 2913.02")]
    people = {p.label: p.properties.get("dob") for p in session.ws.list_entities(case_id, kind="person")}
    assert people == {"ALEX TESTPERSON": "1990-04-01", "ROBIN SAMPLE": "1985-05-31"}
    wiz.close()


def test_column_names_are_read_off_the_ui_thread(qtbot, session, tmp_path: Path) -> None:
    # A large workbook's header takes seconds to read: choosing a table format answers at
    # once, and the column choices follow when the read lane has them.
    case_id = session.ws.create_case("W-9", "wizard header").id
    csv = tmp_path / "list.csv"
    csv.write_text("BKG_NO,SUBJ,BORN\nQ-1,\"TESTPERSON, ALEX\",1990-04-01\n", encoding="utf-8")
    wiz = _wizard(qtbot, session, case_id, csv)
    wiz.next()
    page = wiz.mapping_page
    with qtbot.waitSignal(page.headersRead, timeout=10000):
        page.format_combo.setCurrentIndex(page.format_combo.findData("booking_table"))
        assert page.mapping.cellWidget(0, 1).count() == 1  # only "—" so far: nothing was read here
    assert page.mapping.cellWidget(0, 1).findData("BKG_NO") >= 0


def test_date_order_chosen_in_the_wizard_reads_ambiguous_dates(qtbot, session, tmp_path: Path) -> None:
    """A WhatsApp export whose dates never show a day above 12: the preview reads them one
    way; the officer picks "Day first" and the preview and the import follow."""
    from datetime import datetime

    path = tmp_path / "WhatsApp Chat with Bob Example.txt"
    path.write_text("03/04/2024, 10:00 - Alice Example: one\n05/06/2024, 11:00 - Bob Example: two\n",
                    encoding="utf-8")
    case_id = session.ws.create_case("W-DO", "wizard date order").id
    wiz = _wizard(qtbot, session, case_id, path)
    wiz.next()
    page = wiz.mapping_page
    assert page.current_format() == "whatsapp_txt"
    qtbot.waitUntil(lambda: page.preview_table.rowCount() == 2, timeout=10000)
    order = page.findChild(QComboBox, "dateOrder")
    order.setCurrentIndex(order.findData("dmy"))
    qtbot.waitUntil(lambda: page.preview_table.rowCount() == 2
                    and page.preview_table.item(0, 1).text().startswith("2024-04-03"), timeout=10000)
    wiz.next()
    qtbot.waitUntil(lambda: wiz.currentPage() is wiz.summary_page, timeout=30000)
    times = sorted(e.occurred_at.replace(tzinfo=None) for e in session.ws.list_events(case_id, limit=None))
    assert times == [datetime(2024, 4, 3, 10, 0), datetime(2024, 6, 5, 11, 0)]
    order.setCurrentIndex(order.findData("mdy"))
    assert page.options().date_order == "mdy"
    wiz.close()


def test_summary_says_when_nothing_needs_attention_and_lists_importer_notes(qtbot, session, tmp_path: Path) -> None:
    case_id = session.ws.create_case("W-9", "wizard summary").id
    clean = tmp_path / "card.csv"
    clean.write_text("Date,Description,Amount\n2024-01-05,KIOSK A,-12.50\n2024-01-06,KIOSK B,-3.00\n",
                     encoding="utf-8")
    wiz = _wizard(qtbot, session, case_id, clean)
    _run_to_summary(qtbot, wiz)
    page = wiz.summary_page
    assert "2 events" in page.summary.text() and "Nothing needed attention" in page.summary.text()
    assert page.errors.isHidden()  # no empty problem table filling the page
    wiz.close()
    # A late-1990s QIF with apostrophe years: imported, with the importer's note shown to the
    # officer row by row (where, what, the note), not lost in one line of text.
    qif = tmp_path / "old.qif"
    qif.write_text("!Type:Bank\nD12/30'99\nT-20.00\nPCORNER SHOP\n^\nD1/4'00\nT-5.00\nPKIOSK\n^\n",
                   encoding="utf-8")
    wiz = _wizard(qtbot, session, case_id, qif)
    _run_to_summary(qtbot, wiz)
    page = wiz.summary_page
    assert wiz.result is not None and wiz.result.events == 2 and wiz.result.warnings
    assert "notes from the importer" in page.summary.text()
    assert not page.errors.isHidden() and page.errors.rowCount() == len(wiz.result.warnings)
    assert page.errors.item(0, 1).text() == "note"
    assert "1999" in page.errors.item(0, 2).text()
    wiz.close()


def test_preview_names_the_files_a_message_carries(qtbot, session, tmp_path: Path) -> None:
    case_id = session.ws.create_case("W-10", "wizard attachments").id
    chat = tmp_path / "_chat.txt"
    chat.write_text("[05/01/2024, 10:00:00] Alex Example: hello\n"
                    "[05/01/2024, 10:01:00] Sam Example: \u200e<attached: 00000012-PHOTO-2024-01-05-10-01-00.jpg>\n",
                    encoding="utf-8")
    wiz = _wizard(qtbot, session, case_id, chat)
    wiz.next()
    table = wiz.mapping_page.preview_table
    qtbot.waitUntil(lambda: table.rowCount() == 2, timeout=10000)
    assert "00000012-PHOTO-2024-01-05-10-01-00.jpg" in table.item(1, 3).text()
    assert "00000012-PHOTO" not in table.item(0, 3).text()
    wiz.close()


def test_libreoffice_workbook_with_odd_columns_is_mapped_in_the_wizard(qtbot, session, tmp_path: Path) -> None:
    from tests.core.ingest.test_tabular_opendoc import cell, text, write_ods

    case_id = session.ws.create_case("W-11", "wizard ods").id
    ods = write_ods(tmp_path / "odd.ods", (
        '<table:table table:name="Sheet1"><table:table-row>'
        + text("Booked") + text("Text") + text("Sum") + '</table:table-row><table:table-row>'
        + cell("date", "01/02/2024", office__date_value="2024-02-01") + text("KIOSK A")
        + cell("float", "-12.5", office__value="-12.5") + '</table:table-row></table:table>'))
    wiz = _wizard(qtbot, session, case_id, ods)
    wiz.next()
    page = wiz.mapping_page
    assert page.current_format() == "transactions_table"
    # The workbook's own column names are offered for the mapping.
    qtbot.waitUntil(lambda: page.mapping.cellWidget(0, 1).findData("Booked") >= 0, timeout=10000)
    for row in range(page.mapping.rowCount()):
        field = page.mapping.item(row, 0).data(Qt.ItemDataRole.UserRole)
        combo = page.mapping.cellWidget(row, 1)
        wanted = {"date": "Booked", "description": "Text", "amount": "Sum"}.get(field)
        if wanted:
            combo.setCurrentIndex(combo.findData(wanted))
    page.refresh_preview()
    qtbot.waitUntil(lambda: page.preview_table.rowCount() == 1, timeout=10000)
    assert page.preview_table.item(0, 3).text() == "KIOSK A [-12.5]"
    wiz.next()
    qtbot.waitUntil(lambda: wiz.currentPage() is wiz.summary_page, timeout=30000)
    assert wiz.result is not None and wiz.result.events == 1
    wiz.close()


def test_an_export_folder_is_imported_whole_from_the_wizard(qtbot, session, tmp_path: Path) -> None:
    folder = tmp_path / "WhatsApp exports"
    for who, lines in (("Ann", 2), ("Ben", 3)):
        chat = folder / f"WhatsApp Chat with {who} Example" / f"WhatsApp Chat with {who} Example.txt"
        chat.parent.mkdir(parents=True)
        chat.write_text("".join(f"1/{5 + i}/24, 10:0{i} - {who} Example: message {i}\n" for i in range(lines)),
                        encoding="utf-8")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    case_id = session.ws.create_case("W-12", "wizard folder").id
    wiz = _wizard(qtbot, session, case_id, folder)
    assert wiz.file_page.isComplete()  # a folder is a valid choice, not only a file
    wiz.next()
    page = wiz.mapping_page
    assert page.current_format() == "auto"
    assert page.format_combo.currentText() == "Every export found in the folder"
    qtbot.waitUntil(lambda: page.preview_table.rowCount() == 5, timeout=10000)
    assert "2 × WhatsApp" in page.problems.text()  # what was found, said before importing
    assert "Ann Example" in page.preview_table.item(0, 0).text()  # refs name the inner file
    wiz.next()
    qtbot.waitUntil(lambda: wiz.currentPage() is wiz.summary_page, timeout=30000)
    assert wiz.result is not None and wiz.result.events == 5
    summary = wiz.summary_page.summary.text()
    assert "Imported the folder's <b>2 exports</b>" in summary  # not a raw format id
    assert "WhatsApp Chat with Ben Example.txt — WhatsApp chat export" in summary and ": 3 events" in summary
    assert session.ws.count_events(case_id) == 5
    assert [s.file_name for s in session.ws.list_sources(case_id)] == ["WhatsApp exports"]
    wiz.close()


def test_mapping_fields_are_named_in_words(qtbot, session, tmp_path: Path) -> None:
    case_id = session.ws.create_case("W-13", "wizard field names").id
    csv = tmp_path / "odd.csv"
    csv.write_text("Booked;Text;Sum\n01.02.2024;KIOSK A;-12,50\n", encoding="utf-8")
    wiz = _wizard(qtbot, session, case_id, csv)
    wiz.next()
    page = wiz.mapping_page
    qtbot.waitUntil(lambda: page.mapping.cellWidget(0, 1).findData("Booked") >= 0, timeout=10000)
    shown = {page.mapping.item(r, 0).data(Qt.ItemDataRole.UserRole): page.mapping.item(r, 0).text()
             for r in range(page.mapping.rowCount())}
    assert shown["posted_date"] == "Posted date" and shown["mcc"] == "Merchant category code"
    assert shown["card_last4"] == "Card (last 4 digits)"
    assert page.mapping.cellWidget(0, 1).itemText(0) == "— not in the file —"
    wiz.close()
