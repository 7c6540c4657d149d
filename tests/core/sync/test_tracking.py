"""Local change tracking: what the triggers put on the outbox and which field clocks they
stamp, for every kind of writer — and what is kept back as local-only."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from workstation.store import schema as s
from workstation.sync import codec
from workstation.sync.status import record_sync_state, sync_status

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
FP_KEY = bytes(32)


def outbox(ws) -> set[tuple[str, int]]:
    with ws.db.read() as conn:
        return {(r.tbl, r.row_id) for r in conn.execute(select(s.sync_outbox))}


def stamps(ws, tbl: str, row_id: int) -> dict[str, tuple[str, str | None]]:
    with ws.db.read() as conn:
        return {r.field: (r.hlc, r.base) for r in conn.execute(select(s.sync_field).where(
            s.sync_field.c.tbl == tbl, s.sync_field.c.row_id == row_id))}


def collect(ws) -> codec.Batch:
    with ws.db.write() as conn:
        batch, _ = codec.collect_batch(conn, limit=1000, upto=codec.outbox_upto(conn), fp_key=FP_KEY)
    return batch


def test_local_case_stays_off_the_outbox_until_it_is_shared(ws) -> None:
    cid = ws.create_case("T-1", "Tracking", sharing="local").id
    ent = ws.add_entity(cid, "phone", "+1 202-555-0143").id
    ev = ws.add_event(cid, "message", T0, title="hello", parties=[(ent, "sender")]).id
    note = ws.add_note(cid, "a thought").id
    assert outbox(ws) == set()
    assert record_sync_state(ws, "entity", ent) == "local only"
    assert sync_status(ws, cid).state == "local only"

    ws.update_case(cid, sharing="hq")
    assert outbox(ws) == {("case", cid), ("entity", ent), ("event", ev), ("note", note)}
    assert record_sync_state(ws, "event", ev) == "pending"
    status = sync_status(ws, cid)
    assert status.state == "pending" and status.pending == 4 and not status.at_hq


def test_field_clocks_follow_edits_of_any_field(ws) -> None:
    cid = ws.create_case("T-2", "Clocks", sharing="hq").id
    ent = ws.add_entity(cid, "person", "John Doe").id
    assert stamps(ws, "entity", ent) == {}  # creation values carry no field clock
    ws.update_entity(ent, label="John A. Doe")
    st = stamps(ws, "entity", ent)
    assert set(st) == {"label"}
    assert st["label"][1] is None  # never agreed with HQ yet
    with ws.db.read() as conn:
        row_hlc = conn.execute(select(s.entity.c.hlc).where(s.entity.c.id == ent)).scalar()
    assert st["label"][0] == row_hlc
    ws.update_entity(ent, properties={"dob": "1990-01-01"})
    assert set(stamps(ws, "entity", ent)) == {"label", "properties"}
    ws.delete_entity(ent)
    assert "deleted" in stamps(ws, "entity", ent)


def test_bulk_writer_rows_are_tracked_in_their_transaction(ws) -> None:
    from workstation.domain.bulk import BulkWriter

    cid = ws.create_case("T-3", "Bulk", sharing="agencies", shared_with=["FBI"]).id
    with ws.db.write() as conn, BulkWriter(ws, conn, cid) as bw:
        a = bw.entity("phone", "+1 202-555-0101", "phone:+12025550101")
        b = bw.entity("phone", "+1 202-555-0102", "phone:+12025550102")
        ev = bw.event("call", T0, title="call", parties=[(a, "caller"), (b, "callee")])
        bw.link(a, b, "communicated_with")
    box = outbox(ws)
    assert {("entity", a), ("entity", b), ("event", ev)} <= box
    assert any(t == "link" for t, _ in box)
    batch = collect(ws)
    by_uid = {r.record["uid"]: r.record for r in batch.rows}
    event = next(r for r in by_uid.values() if r["t"] == "event")
    assert [p[1] for p in event["f"]["parties"]] == ["caller", "callee"]
    assert {p[0] for p in event["f"]["parties"]} <= set(by_uid)


def test_bulk_writer_queues_nothing_for_a_local_case_and_hands_the_triggers_back(ws) -> None:
    from workstation.domain.bulk import BulkWriter

    local = ws.create_case("T-5", "Local").id
    shared = ws.create_case("T-6", "Shared", sharing="hq").id
    with ws.db.write() as conn, BulkWriter(ws, conn, local) as bw:
        a = bw.entity("phone", "+1 202-555-0103", "phone:+12025550103")
        bw.event("call", T0, title="call", parties=[(a, "caller")])
    assert not [row for row in outbox(ws) if row[0] in ("entity", "event")]
    # The writer stood the per-row triggers aside only while it ran: an ordinary edit
    # after it is tracked again.
    later = ws.add_entity(shared, "person", "Later Person").id
    assert ("entity", later) in outbox(ws)


def test_keep_local_rows_and_rows_pointing_at_them_are_held(ws) -> None:
    cid = ws.create_case("T-4", "Held", sharing="hq").id
    secret = ws.add_entity(cid, "person", "Informant X").id
    ws.update_entity(secret, keep_local=True)
    phone = ws.add_entity(cid, "phone", "+1 202-555-0144").id
    link = ws.add_link(phone, secret, "uses").id
    ev = ws.add_event(cid, "message", T0, title="meet", parties=[(phone, "sender"), (secret, "recipient")]).id
    note = ws.add_note(cid, "about X", target_type="entity", target_id=secret).id
    batch = collect(ws)
    sent = {(r.tbl, r.row_id) for r in batch.rows}
    assert ("entity", phone) in sent and ("event", ev) in sent
    assert not {("entity", secret), ("link", link), ("note", note)} & sent
    secret_uid = ws.get_entity(secret).uid
    for r in batch.rows:
        assert secret_uid not in json.dumps(r.record)
        assert "Informant" not in json.dumps(r.record)
    assert record_sync_state(ws, "entity", secret) == "local only"
    assert record_sync_state(ws, "link", link) == "local only"
    assert sync_status(ws, cid).held == 3
    # Once the person may travel, everything that pointed at it travels too.
    ws.update_entity(secret, keep_local=False)
    with ws.db.write() as conn:
        codec.release_held(conn)
    sent = {(r.tbl, r.row_id) for r in collect(ws).rows}
    assert {("entity", secret), ("link", link), ("note", note)} <= sent


def test_merge_moves_parties_and_stamps_the_event(ws) -> None:
    cid = ws.create_case("T-5", "Merge", sharing="hq").id
    a = ws.add_entity(cid, "person", "J. Doe").id
    b = ws.add_entity(cid, "person", "John Doe").id
    ev = ws.add_event(cid, "message", T0, parties=[(b, "sender")]).id
    collect(ws)  # (the rows are read but not acknowledged: they stay pending)
    ws.merge_entities(a, [b], "same person")
    assert "parties" in stamps(ws, "event", ev)
    assert ("event", ev) in outbox(ws)


def test_rows_applied_from_hq_are_not_local_changes(ws) -> None:
    from workstation.sync.protocol import WireRecord

    case_uid = "01900000-0000-7000-8000-000000000001"
    rec = WireRecord(t="case", uid=case_uid, case=case_uid, hlc="001700000000000.00000.other", origin="other",
                     f={"number": "R-1", "title": "Remote", "status": "open", "agency": "FBI",
                        "lead_officer": None, "opened_at": "2024-01-01T00:00:00.000000Z", "closed_at": None,
                        "summary": None, "sharing": "hq", "shared_with": [], "timezone": None,
                        "category_scheme": None, "created_at": "2024-01-01T00:00:00.000000Z"},
                     s={"title": "001700000000000.00000.other"})
    with ws.db.write() as conn:
        applier = codec.Applier(conn)
        applier.apply([rec])
        applier.close()
    assert outbox(ws) == set()
    cid = ws.find_case("R-1").id
    assert record_sync_state(ws, "case", cid) == "synced"
    assert stamps(ws, "case", cid)["title"] == ("001700000000000.00000.other",) * 2
    # A later local edit is a local change again.
    ws.update_case(cid, summary="my note")
    assert outbox(ws) == {("case", cid)}


def test_a_later_import_adds_what_an_entity_lacked_and_it_travels(ws, tmp_path) -> None:
    """An address first seen bare gets the name a later mail gives it, in a later import
    too; its own values are never overwritten; the change gets a field clock and goes on
    the outbox of a shared case; an import that adds nothing stamps nothing."""
    from workstation.ingest.pipeline import run_import

    cid = ws.create_case("T-FILL", "Mail", sharing="agencies", shared_with=["FBI"]).id

    def mbox(name: str, to: str, sender: str, n: int) -> object:
        p = tmp_path / name
        p.write_text(f"From x Mon Jan  1 10:00:00 2024\nFrom: {sender}\nTo: {to}\nSubject: s{n}\n"
                     f"Date: Mon, 01 Jan 2024 1{n}:00:00 +0000\nMessage-ID: <m{n}@example.org>\n\nbody {n}\n",
                     encoding="utf-8")
        return p

    run_import(ws, cid, mbox("a.mbox", "bob@example.net", "Alice Example <alice@example.org>", 1))
    bob = next(e for e in ws.list_entities(cid, kind="email") if e.label == "bob@example.net")
    assert "display_name" not in bob.properties
    before = stamps(ws, "entity", bob.id)
    with ws.db.write() as conn:
        conn.execute(s.sync_outbox.delete())
    run_import(ws, cid, mbox("b.mbox", "Bob Example <bob@example.net>", "A. Example <alice@example.org>", 2))
    emails = {e.label: e for e in ws.list_entities(cid, kind="email")}
    assert emails["bob@example.net"].properties["display_name"] == "Bob Example"
    assert emails["bob@example.net"].properties["domain"] == "example.net"  # kept
    assert emails["alice@example.org"].properties["display_name"] == "Alice Example"  # not overwritten
    after = stamps(ws, "entity", bob.id)
    assert after["properties"][0] > before.get("properties", ("",))[0]
    assert ("entity", bob.id) in outbox(ws)
    alice_id = emails["alice@example.org"].id
    assert ("entity", alice_id) not in outbox(ws)  # nothing new for her: no change to sync
    with ws.db.write() as conn:
        conn.execute(s.sync_outbox.delete())
    run_import(ws, cid, mbox("c.mbox", "Bob Example <bob@example.net>", "Alice Example <alice@example.org>", 3))
    assert stamps(ws, "entity", bob.id) == after
    assert not {(t, r) for t, r in outbox(ws) if t == "entity" and r in (bob.id, alice_id)}
