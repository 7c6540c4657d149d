"""What an investigator saw wrong in the views after the importer work, checked as shown.

Found by looking at screenshots of real exports imported through the CLI; every input
here is synthetic (example names, 555 numbers, test-range addresses): a Telegram export
with reactions, a booking list with a body height, a Stripe-style card CSV with extra
columns, an IP address entity, a record edited after import.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics

from ui.models import HistoryModel
from ui.views.details import DetailsWidget
from ui.views.tables import EventTableWidget

from .conftest import seed_case
from .test_details_imports import _details as _shown_details
from .test_details_imports import _import

TELEGRAM = """{
 "name": "Lantern group", "type": "private_group", "id": 4242,
 "messages": [
  {"id": 1, "type": "message", "date": "2024-03-01T09:00:00", "date_unixtime": "1709280000",
   "from": "Alex Testperson", "from_id": "user1001", "text": "See attached.",
   "reactions": [
     {"type": "emoji", "count": 2, "emoji": "👍",
      "recent": [{"from": "Blake Example", "from_id": "user1002", "date": "2024-03-01T09:05:00"},
                 {"from": "Casey Sample", "from_id": "user1003", "date": "2024-03-01T09:07:00"}]},
     {"type": "emoji", "count": 1, "emoji": "🔥"}]}
 ]
}
"""
BOOKING = ("Booking Number,Last Name,First Name,DOB,Booking Date,Charges,Height,Eye Color\n"
           "B24-0001,Testperson,Jordan,1990-05-14,2024-03-02 14:30,DUI,5'11,BRO\n")
STRIPE = (
    "id,Description,Seller Message,Created (UTC),Amount,Amount Refunded,Currency,Converted Amount,"
    "Fee,Tax,Status,Card ID,Card Last4,Card Name\n"
    "ch_1TESTTESTTEST0001,Invoice 0042,Payment complete.,2021-02-02 23:21,25.00,0.00,cad,25.00,"
    "1.03,0.00,Paid,pm_1TESTTESTTESTCARD,4242,Jordan Testperson\n"
)


def _details(qtbot, session, table: str, record_id: int) -> tuple[DetailsWidget, dict[str, str]]:  # noqa: ANN001
    return _shown_details(qtbot, session, table, record_id, size=(560, 900))


def test_chat_reactions_read_as_emoji_count_and_who_not_as_a_dump(qtbot, session, ws, tmp_path):  # noqa: ANN001
    case_id = _import(ws, tmp_path, "result.json", TELEGRAM)
    ev = ws.list_events(case_id, kinds=["message"])[0]
    _w, rows = _details(qtbot, session, "event", ev.id)
    first, second = rows["Reaction 1 of 2"], rows["Reaction 2 of 2"]
    assert first.startswith("👍 × 2 — Blake Example (2024-03-01 09:05), Casey Sample (2024-03-01 09:07)")
    # Telegram writes who reacted when without a zone: said, not passed off as the display zone.
    assert first.endswith("(times as written in the file, no zone)")
    assert second == "🔥"
    assert not any("Type: emoji" in v or "Recent:" in v for v in rows.values())


def test_a_booked_persons_height_is_not_labelled_in_pixels(qtbot, session, ws, tmp_path):  # noqa: ANN001
    case_id = _import(ws, tmp_path, "booking.csv", BOOKING)
    person = next(e for e in ws.list_entities(case_id, kind="person"))
    _w, rows = _details(qtbot, session, "entity", person.id)
    assert rows.get("Height") == "5'11"
    assert "Height (px)" not in rows


def test_ip_address_flags_read_as_one_range_row(qtbot, session, ws):  # noqa: ANN001
    case_id = ws.create_case("2024-RV-0001", "Review").id
    ip = ws.add_entity(case_id, "ip", "192.168.10.20",
                       properties={"version": 4, "private": True, "global": False, "loopback": False,
                                   "link_local": False, "multicast": False, "reserved": False,
                                   "unspecified": False})
    _w, rows = _details(qtbot, session, "entity", ip.id)
    assert rows["IP version"] == "IPv4"
    assert rows["Address range"] == "private"
    for flag in ("Private", "Global", "Loopback", "Link local", "Multicast", "Reserved", "Unspecified", "Version"):
        assert flag not in rows


def test_stripe_extra_columns_are_spelled_out(qtbot, session, ws):  # noqa: ANN001
    # The statement importer keeps a Stripe export's extra columns under snake_case keys.
    case_id = ws.create_case("2024-RV-0002", "Review").id
    ev = ws.add_event(case_id, "transaction", datetime(2021, 2, 2, 23, 21, tzinfo=timezone.utc),
                      title="Invoice 0042",
                      properties={"amount": "25.00", "currency": "CAD",
                                  "columns": {"seller_message": "Payment complete.", "tax": "0.00"}})
    _w, rows = _details(qtbot, session, "event", ev.id)
    assert rows["Column “Seller message”"] == "Payment complete."
    assert rows["Column “Tax”"] == "0.00"


def test_statement_extra_columns_are_named_and_their_names_fit(qtbot, session, ws, tmp_path):  # noqa: ANN001
    case_id = _import(ws, tmp_path, "payments.csv", STRIPE)
    ev = ws.list_events(case_id, kinds=["transaction"])[0]
    w, rows = _details(qtbot, session, "event", ev.id)
    extra = [label for label in rows if label.startswith("Column")]
    assert any(label.casefold() == "column “seller message”" for label in extra), rows
    assert not any(label.startswith("Columns ·") or "_" in label for label in extra)
    # The name column is wide enough for the names (they were cut at 130 px).
    view = w.properties_view
    fm = view.fontMetrics()
    assert view.columnWidth(0) >= max(fm.horizontalAdvance(label) for label in extra) + 10


def test_history_says_what_changed_in_words_and_explains_an_empty_list(qtbot, session, ws, tmp_path):  # noqa: ANN001
    case_id = _import(ws, tmp_path, "booking.csv", BOOKING)
    person = next(e for e in ws.list_entities(case_id, kind="person"))
    w, _rows = _details(qtbot, session, "entity", person.id)
    # Imported and never edited: the panel says why the list is empty.
    assert w.history_model.rowCount() == 0
    assert w.history_empty_label.isVisible()
    assert "No changes since it was imported" in w.history_empty_label.text()

    ws.update_entity(person.id, label="Jordan A. Testperson",
                     properties={**person.properties, "alias": "JT"})
    with qtbot.waitSignal(w.loaded, timeout=5000):
        w.reload()
    assert not w.history_empty_label.isVisible()
    details = w.history_model.data(w.history_model.index(0, 3))
    assert details.startswith("Label: Jordan Testperson → Jordan A. Testperson")
    assert "Alias added (JT)" in details
    assert "{" not in details and '"from"' not in details


def test_history_of_a_new_record_reads_kind_and_case_not_json(qtbot, session, ws):  # noqa: ANN001
    ids = seed_case(ws, events=1)
    model = HistoryModel(session)
    model.set_items(ws.history("entity", ids["person"]))
    text = model.data(model.index(0, 3))
    assert text == f"Case #{ids['case']} · Person · Label: Alex Testperson"


def test_event_table_time_header_names_the_zone_in_full(qtbot, session, ws):  # noqa: ANN001
    session.save_settings(replace(session.settings, display_timezone="America/Argentina/Buenos_Aires"))
    ids = seed_case(ws, events=3)
    table = EventTableWidget(session)
    qtbot.addWidget(table)
    session.hub.select_case(ids["case"])
    header = table.model.headerData(0, Qt.Orientation.Horizontal)
    assert header == "Time (America/Argentina/Buenos_Aires)"
    bold = QFont(table.view.horizontalHeader().font())
    bold.setBold(True)
    assert table.view.columnWidth(0) >= QFontMetrics(bold).horizontalAdvance(header) + 20


def test_link_chart_of_a_chat_says_how_to_connect_its_loose_people(qtbot, session, ws, tmp_path):  # noqa: ANN001
    from ui.linkchart import LinkChartWidget

    # A chat gives senders as parties of messages, not as links: charted, they stand alone.
    case_id = _import(ws, tmp_path, "result.json", TELEGRAM)
    chart = LinkChartWidget(session, session.hub, None, auto_build=False)
    qtbot.addWidget(chart)
    chart.resize(1000, 700)
    chart.show()
    session.hub.select_case(case_id, None)
    chart.build_from_case(case_id)
    text = chart.message_label.text()
    assert text.startswith("Charted the case:")
    assert "have no links: View ▸ Shared events links those" in text
    chart.set_co_occurrence(True)
    chart.build_from_case(case_id)
    assert "have no links" not in chart.message_label.text()
