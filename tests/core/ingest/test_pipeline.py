"""The import pipeline end to end: real exports in, provenance and atomicity out."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from workstation.cli import main
from workstation.errors import BadInput, Cancelled
from workstation.ingest.pipeline import detect, preview, run_import
from workstation.ingest.records import ImportOptions


@pytest.fixture
def case_id(ws) -> int:
    return ws.create_case("IMP-1", "Import case", timezone="America/Toronto").id


def _snapshot(ws) -> dict:
    return {**ws.counts(), "audit": ws.audit.verify().entries}


@pytest.mark.parametrize("rel,fmt,events", [
    ("chat/telegram/result.json", "telegram_json", 4),
    ("chat/telegram/messages.html", "telegram_html", 4),
    ("chat/whatsapp/whatsapp_ios_chat.txt", "whatsapp_txt", 11),  # 8 text + 3 "image omitted"
    ("chat/messenger/facebook_chat.json", "messenger_json", 11),
    ("chat/slack/slack_export.zip", "slack_zip", 4),  # 5 objects, one is a channel_join
    ("chat/email/fake-email-attachment.eml", "email_eml", 1),
    ("finance/ofx/bank_medium.ofx", "ofx", 3),
    ("finance/csv2ofx/test/stripe-all.csv", "transactions_table", 5),
    ("finance/csv2ofx/converted/mint.qif", "qif", 4),
])
def test_real_exports_detect_and_import(ws, case_id, shared_data: Path, rel, fmt, events) -> None:
    path = shared_data / rel
    assert detect(path).format == fmt
    res = run_import(ws, case_id, path)
    assert (res.format, res.events, res.skipped) == (fmt, events, 0)
    src = ws.get_source(res.source_id)
    assert src.file_name == path.name and src.file_size == path.stat().st_size
    assert len(src.sha256) == 64 and src.importer == fmt and src.imported_by == ws.actor
    evs = ws.list_events(case_id, limit=None)
    assert evs and all(e.source_id == res.source_id and e.source_ref for e in evs)


def test_telegram_messages_people_and_times(ws, case_id, shared_data: Path) -> None:
    run_import(ws, case_id, shared_data / "chat/telegram/result.json")
    evs = ws.list_events(case_id, limit=None)
    assert [e.body for e in evs] == ["i refuse to converse with you", "Hi nemesis", "we meet again",
                                     "you will not trick me this time"]
    senders = [next(p.label for p in e.parties if p.role == "sender") for e in evs]
    assert senders.count(senders[0]) == 3 and "Jimmeny Marvelton" in senders[0]
    accounts = ws.list_entities(case_id, kind="account")
    assert all(a.key.startswith("account:telegram:") for a in accounts)


def test_card_statement_amounts_and_parties(ws, case_id, shared_data: Path) -> None:
    run_import(ws, case_id, shared_data / "finance/ofx/bank_medium.ofx")
    evs = ws.list_events(case_id, limit=None)
    first = evs[0]
    assert first.title.startswith("MCDONALD'S #112")
    assert first.properties["amount"] == "-6.60"
    assert first.occurred_at.isoformat() == "2009-04-01T12:20:17-05:00"
    total = sum(__import__("decimal").Decimal(e.properties["amount"]) for e in evs)
    assert str(total) == "-345.27"


def test_reimport_is_detected_and_changes_nothing(ws, case_id, shared_data: Path) -> None:
    path = shared_data / "chat/telegram/result.json"
    first = run_import(ws, case_id, path)
    before = _snapshot(ws)
    again = run_import(ws, case_id, path)
    assert again.duplicate_of == first.source_id and again.events == 0
    assert _snapshot(ws) == before


def _bad_csv(tmp_path: Path) -> Path:
    p = tmp_path / "statement.csv"
    rows = ["Date,Description,Amount,Card Number"]
    rows += [f"2024-03-{d:02d},SHOP {d},-{d}.50,4111 1111 1111 1111" for d in range(1, 10)]
    rows.insert(5, "2024-03-05,BROKEN ROW,not-a-number,4111 1111 1111 1111")
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return p


def test_bad_row_aborts_whole_import_naming_row_and_field(ws, case_id, tmp_path: Path) -> None:
    before = _snapshot(ws)
    with pytest.raises(BadInput) as exc:
        run_import(ws, case_id, _bad_csv(tmp_path))
    msg = str(exc.value)
    assert "statement.csv" in msg and "row 6" in msg and "amount" in msg.lower()
    assert _snapshot(ws) == before


def test_skip_bad_rows_reports_each(ws, case_id, tmp_path: Path) -> None:
    res = run_import(ws, case_id, _bad_csv(tmp_path), skip_bad_rows=True)
    assert res.events == 9 and res.skipped == 1
    assert res.errors[0].row == "row 6" and "amount" in (res.errors[0].field or "").lower()
    card = ws.list_entities(case_id, kind="card")
    assert len(card) == 1 and card[0].label.endswith("1111")


def test_cancel_leaves_nothing(ws, case_id, tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    p.write_text("Date,Description,Amount\n" + "".join(
        f"2024-01-01,ITEM {i},-1.00\n" for i in range(5000)), encoding="utf-8")
    before = _snapshot(ws)
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        run_import(ws, case_id, p, cancel=ev)
    assert _snapshot(ws) == before


def test_progress_reaches_the_end(ws, case_id, tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    p.write_text("Date,Description,Amount\n" + "".join(
        f"2024-01-01,ITEM {i},-1.00\n" for i in range(3000)), encoding="utf-8")
    seen: list[float] = []
    run_import(ws, case_id, p, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert any(0.0 < f < 1.0 for f in seen), "streaming progress in between"
    assert seen == sorted(seen)


def test_mentions_extracted_from_messages(ws, case_id, tmp_path: Path) -> None:
    chat = tmp_path / "chat.txt"
    chat.write_text(
        "[1/5/24, 9:01:02 PM] Alex: text me on +1 202-555-0187 or mail nightowl@example.org\n"
        "[1/5/24, 9:02:10 PM] Sam: ok see https://example.net/pics?id=7 from 203.0.113.9\n", encoding="utf-8")
    run_import(ws, case_id, chat, options=ImportOptions(timezone="America/Toronto"))
    keys = {e.key for e in ws.list_entities(case_id, limit=None) if e.key}
    assert {"phone:+12025550187", "email:nightowl@example.org", "ip:203.0.113.9"} <= keys
    assert any(k.startswith("url:") for k in keys)
    first = ws.list_events(case_id)[0]
    assert {p.role for p in first.parties} >= {"sender", "mentioned"}
    assert first.occurred_at.isoformat() == "2024-01-05T21:01:02-05:00"


@pytest.mark.parametrize("content,name", [
    (b'{"name": "Jimmy", "type": "personal_chat", "id": 1, "messages": [{"id": 1, "type": "mess', "result.json"),
    (b"\x00\x01\x02binary\x00" * 100, "renamed.csv"),
    (b"", "empty.csv"),
])
def test_bad_files_get_clear_errors_and_no_change(ws, case_id, tmp_path: Path, content: bytes, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    before = _snapshot(ws)
    fmt = "telegram_json" if name == "result.json" else "auto"
    with pytest.raises(BadInput) as exc:
        run_import(ws, case_id, p, fmt=fmt)
    assert name in str(exc.value)
    assert _snapshot(ws) == before


def test_preview_writes_nothing(ws, case_id, shared_data: Path) -> None:
    before = _snapshot(ws)
    pv = preview(shared_data / "chat/messenger/facebook_chat.json", limit=3)
    assert pv.format == "messenger_json" and len(pv.records) == 3
    assert _snapshot(ws) == before


def test_cli_import_json_contract(tmp_path: Path, passphrase_file: Path, shared_data: Path, capsys) -> None:
    base = ["--db", str(tmp_path / "c.db"), "--passphrase-file", str(passphrase_file)]
    assert main([*base, "init"]) == 0
    assert main([*base, "case", "add", "C-1", "chat case"]) == 0
    capsys.readouterr()
    assert main([*base, "--json", "import", "C-1", str(shared_data / "chat/telegram/result.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"source", "format", "events", "entities", "skipped", "errors"} <= set(out)
    assert (out["format"], out["events"], out["skipped"], out["errors"]) == ("telegram_json", 4, 0, [])
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Description,Amount\n2024-01-01,x,abc\n")
    assert main([*base, "import", "C-1", str(bad)]) == 4
    assert "bad.csv" in capsys.readouterr().err


def _statement(path: Path, rows: int) -> Path:
    path.write_text("Date,Description,Amount,Card Number\n" + "".join(
        f"2024-01-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{i % 59:02d},SHOP {i % 300} LONG DESCRIPTION "
        f"{'x' * 40},-{1 + i % 900}.{i % 100:02d},4000000000000002\n" for i in range(rows)), encoding="utf-8")
    return path


def test_cancel_after_batches_were_written_in_the_background_leaves_nothing(ws, case_id, tmp_path: Path) -> None:
    p = _statement(tmp_path / "big.csv", 40_000)
    before = _snapshot(ws)
    ev = threading.Event()
    seen: list[str] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(message)
        if fraction > 0.5:  # several 5,000-row batches are already with the writer thread
            ev.set()

    with pytest.raises(Cancelled):
        run_import(ws, case_id, p, cancel=ev, progress=progress)
    assert _snapshot(ws) == before
    assert len(seen) > 3
    # The connection is sound afterwards: the same file imports whole.
    assert run_import(ws, case_id, p).events == 40_000


def test_disk_filling_up_during_an_import_leaves_the_case_as_it_was(small_filesystem, tmp_path: Path) -> None:
    from workstation.domain.service import Workstation
    from workstation.errors import StorageError
    from workstation.store.database import Database

    mnt, _remount = small_filesystem
    ws = Workstation(Database.create(mnt / "case.db", "a passphrase for the small disk"))
    cid = ws.create_case("FULL-1", "Small disk").id
    before = _snapshot(ws)
    with pytest.raises(StorageError, match="disk is full"):
        run_import(ws, cid, _statement(tmp_path / "big.csv", 30_000))
    assert _snapshot(ws) == before
    ws.db.lock()
    again = Database.open(mnt / "case.db", "a passphrase for the small disk")
    assert again.integrity_check() == []
    again.lock()


def test_background_writer_gives_the_interpreter_its_switch_interval_back(ws, case_id, tmp_path: Path) -> None:
    import sys

    before = sys.getswitchinterval()
    result = run_import(ws, case_id, _statement(tmp_path / "s.csv", 12_000))
    assert result.events == 12_000
    assert sys.getswitchinterval() == before
    # Row uids are unique and in insertion order (the unique index appends).
    uids = [e.uid for e in ws.list_events(case_id, limit=None)]
    assert len(set(uids)) == 12_000


def test_rows_with_long_texts_are_written_whole_beside_ordinary_batches(ws, case_id, tmp_path: Path) -> None:
    """A batch whose texts pass the JSON limit is bound row by row on the caller's thread
    (bounded memory); the rows before and after still go through the writer thread."""
    from workstation.domain import bulk

    p = tmp_path / "long.csv"
    rows = [f"2024-02-{1 + i % 28:02d},SHOP {i},-{1 + i % 50}.00\n" for i in range(12_000)]
    width = 100_000  # under the CSV field limit; 50 of them pass the JSON batch limit
    count = bulk.JSON_BATCH_CHARS // width + 10
    for i in range(count):
        rows[7_000 + i] = f'2024-02-03,"needle{i} {"x" * width}",-3.00\n'
    p.write_text("Date,Description,Amount\n" + "".join(rows), encoding="utf-8")
    result = run_import(ws, case_id, p)
    assert result.events == 12_000
    titles = [e.title for e in ws.list_events(case_id, limit=None)]
    assert sum(len(t) > width for t in titles) == count and "SHOP 11999" in titles
    assert len(ws.event_ids(case_id, text="needle7")) == 1


def test_a_nul_character_in_a_message_is_stored_whole(ws, case_id, tmp_path: Path) -> None:
    """SQLite's JSON functions would cut the text at the NUL: such a batch is bound as is."""
    export = {"name": "Chat", "type": "personal_chat", "id": 1, "messages": [
        {"id": i, "type": "message", "date": "2024-05-01T10:00:00", "date_unixtime": str(1714557600 + i),
         "from": "Sam Sample", "from_id": "user1", "text": f"part one\u0000part two {i}"} for i in range(3)]}
    p = tmp_path / "result.json"
    p.write_text(json.dumps(export), encoding="utf-8")
    assert run_import(ws, case_id, p).events == 3
    bodies = sorted(e.body or "" for e in ws.list_events(case_id, limit=None))
    assert bodies[0] == "part one\u0000part two 0"


@pytest.mark.parametrize("zone,expected", [
    (None, ["2024-01-15T10:00:00+00:00", "2024-07-15T10:00:00+00:00"]),
    ("America/Toronto", ["2024-01-15T10:00:00-05:00", "2024-07-15T10:00:00-04:00"]),
    ("Asia/Kolkata", ["2024-01-15T10:00:00+05:30", "2024-07-15T10:00:00+05:30"]),
])
def test_naive_statement_times_are_read_in_the_import_zone(ws, case_id, tmp_path: Path, zone, expected) -> None:
    csv_path = tmp_path / "statement.csv"
    csv_path.write_text("Transaction Date,Description,Amount,Currency\n"
                        "2024-01-15 10:00:00,WINTER SHOP,-10.00,CAD\n"
                        "2024-07-15 10:00:00,SUMMER SHOP,-20.00,CAD\n", encoding="utf-8")
    run_import(ws, case_id, csv_path, options=ImportOptions(timezone=zone))
    events = sorted(ws.list_events(case_id), key=lambda e: e.title)
    assert [e.title for e in events] == ["SUMMER SHOP", "WINTER SHOP"]
    assert [e.occurred_at.isoformat() for e in reversed(events)] == expected
    assert all(e.properties["time_zone_assumed"] == (zone or "UTC") for e in events)


def test_bulk_writer_reads_naive_times_in_a_fixed_offset_zone(ws, case_id) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from workstation.domain.bulk import BulkWriter

    plus_0530 = timezone(timedelta(hours=5, minutes=30))
    with ws.db.write() as conn, BulkWriter(ws, conn, case_id, local_zone=plus_0530) as w:
        w.event("note", datetime(2024, 3, 1, 12, 0), title="naive")
        w.event("note", datetime(2024, 3, 1, 12, 0, tzinfo=UTC), title="aware")
        w.event("note", datetime(1969, 12, 31, 23, 59, 59, 999999), title="before the epoch")
    got = {e.title: e.occurred_at for e in ws.list_events(case_id)}
    assert got["naive"].isoformat() == "2024-03-01T12:00:00+05:30"
    assert got["aware"].isoformat() == "2024-03-01T12:00:00+00:00"
    assert got["before the epoch"] == datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=plus_0530)


def test_people_named_only_by_system_lines_become_entities(ws, case_id, tmp_path: Path) -> None:
    """'Alice added Dana to the group': Dana never writes, but the officer must see her."""
    def person(uid: str, name: str) -> dict:
        return {"id": uid, "name": name, "discriminator": "0000", "nickname": name, "isBot": False}

    export = {
        "guild": {"id": "0", "name": "Direct Messages"},
        "channel": {"id": "888", "type": "DirectGroupTextChat", "name": "Trip planning"},
        "messages": [
            {"id": "10", "type": "RecipientAdd", "timestamp": "2024-04-01T10:00:00+02:00",
             "content": "Added dana_new to the group.", "author": person("11", "alice"),
             "mentions": [person("44", "dana_new")]},
            {"id": "11", "type": "Default", "timestamp": "2024-04-01T10:01:00+02:00",
             "content": "welcome", "author": person("11", "alice")},
        ],
    }
    path = tmp_path / "dm.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    res = run_import(ws, case_id, path)
    assert (res.events, res.system_lines) == (1, 1)
    labels = {e.label for e in ws.list_entities(case_id, limit=None) if e.kind == "account"}
    assert {"alice (11)", "dana_new (44)"} <= labels


def test_import_references_hold_and_foreign_keys_are_enforced_again(ws, case_id, shared_data: Path) -> None:
    """The import's writer skips SQLite's per-row parent lookups; what it wrote must still
    satisfy every foreign key, and the next ordinary write is checked again."""
    from sqlalchemy.exc import IntegrityError

    run_import(ws, case_id, shared_data / "finance/csv2ofx/test/stripe-all.csv")
    run_import(ws, case_id, shared_data / "chat/telegram/result.json")
    with ws.db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    conns = [ws.db.engine.connect() for _ in range(4)]
    try:
        assert {c.exec_driver_sql("PRAGMA foreign_keys").scalar() for c in conns} == {1}
    finally:
        for c in conns:
            c.close()
    with pytest.raises(Exception) as caught, ws.db.write() as conn:
        conn.exec_driver_sql("INSERT INTO event_party (event_id, entity_id, role) VALUES (999999, 999999, 'x')")
    assert "FOREIGN KEY" in str(caught.value) or isinstance(caught.value, IntegrityError)


def test_mail_senders_keep_the_name_their_mail_gave(ws, case_id, tmp_path: Path) -> None:
    # The entity is the address (one per address, whatever name a mail writes), and the
    # investigator still sees who the address said it was.
    mbox = tmp_path / "box.mbox"
    mbox.write_text(
        "From alice@example.org Mon Jan  1 10:00:00 2024\n"
        "From: Alice Example <Alice@Example.org>\nTo: bob@example.net\n"
        "Subject: hello\nDate: Mon, 01 Jan 2024 10:00:00 +0000\n\nfirst\n\n"
        "From alice@example.org Mon Jan  1 11:00:00 2024\n"
        "From: \"A. Example\" <alice@example.org>\nTo: Bob Example <bob@example.net>\n"
        "Subject: again\nDate: Mon, 01 Jan 2024 11:00:00 +0000\n\nsecond\n", encoding="utf-8")
    run_import(ws, case_id, mbox)
    emails = {e.label: e for e in ws.list_entities(case_id, kind="email")}
    assert set(emails) == {"alice@example.org", "bob@example.net"}
    # The name of the first mail that wrote one for the address; an address first seen
    # bare gets the name a later mail gives it.
    assert emails["alice@example.org"].properties["display_name"] == "Alice Example"
    assert emails["bob@example.net"].properties["display_name"] == "Bob Example"


def test_padded_names_are_one_entity(ws, case_id, tmp_path: Path) -> None:
    # Card statements pad the merchant descriptor to a fixed width; the same merchant
    # written plainly on another row (or another file) is the same organisation.
    csv_path = tmp_path / "card.csv"
    csv_path.write_text(
        "Date,Merchant,Amount,Currency\n"
        "2024-03-01,PRUNE               NEW YORK,-12.00,USD\n"
        "2024-03-02,PRUNE NEW YORK,-8.50,USD\n"
        "2024-03-03,\"CORNER\tSHOP  \",-1.00,USD\n", encoding="utf-8")
    run_import(ws, case_id, csv_path, options=ImportOptions(timezone="UTC"))
    orgs = sorted(e.label for e in ws.list_entities(case_id, kind="organisation"))
    assert orgs == ["CORNER SHOP", "PRUNE NEW YORK"]
    events = ws.list_events(case_id, limit=None)
    prune = [e for e in events if any(p.label == "PRUNE NEW YORK" for p in e.parties)]
    assert len(prune) == 2


def test_phone_parties_are_read_in_the_imports_region(ws, case_id, tmp_path: Path) -> None:
    """`import --region GB`: a roster's phone written without a country code is a UK
    number, whatever the workstation's own phone region (US here)."""
    from workstation.ingest.records import ImportOptions

    assert ws.settings.phone_region == "US"
    roster = tmp_path / "roster.csv"
    roster.write_text("Booking Number,Last Name,First Name,Date of Birth,Booking Date,Phone,Charge\n"
                      "B-1,EXAMPLE,ROBIN,1990-01-02,2024-03-01 10:00,07700 900123,THEFT\n", encoding="utf-8")
    run_import(ws, case_id, roster, options=ImportOptions(default_region="GB"))
    (phone,) = ws.list_entities(case_id, kind="phone")
    assert phone.key == "phone:+447700900123"
