"""The audit trail is tamper-evident: edits, deletions, reorders and truncation all show."""

from __future__ import annotations

import pytest

from workstation.audit.trail import AuditTrail


@pytest.fixture
def trail(ws):
    for i in range(6):
        ws.create_case(f"A-{i}", f"Audited case {i}")
    t = AuditTrail(ws.db)
    assert t.verify().ok
    return t


def _exec(ws, sql: str, *params) -> None:
    with ws.db.write() as conn:
        conn.exec_driver_sql(sql, params)


def test_entries_carry_who_what_when(ws, trail) -> None:
    with ws.db.read() as conn:
        entries = list(trail.entries(conn))
    last = entries[-1]
    assert last.action == "case.create" and last.target_type == "case"
    assert last.actor == ws.db.actor and last.outcome == "ok"
    assert len(last.at.split(".")[1]) >= 3  # sub-second resolution (≥ 1/100 s)
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))


def test_edit_detected(ws, trail) -> None:
    _exec(ws, "UPDATE audit SET actor = 'someone else' WHERE seq = 3")
    res = trail.verify()
    assert not res.ok and res.first_bad_seq == 3


def test_delete_detected(ws, trail) -> None:
    _exec(ws, "DELETE FROM audit WHERE seq = 4")
    res = trail.verify()
    assert not res.ok and res.first_bad_seq == 4


def test_reorder_detected(ws, trail) -> None:
    _exec(ws, "UPDATE audit SET seq = -1 WHERE seq = 2")
    _exec(ws, "UPDATE audit SET seq = 2 WHERE seq = 3")
    _exec(ws, "UPDATE audit SET seq = 3 WHERE seq = -1")
    res = trail.verify()
    assert not res.ok and res.first_bad_seq == 2


def test_truncation_detected(ws, trail) -> None:
    _exec(ws, "DELETE FROM audit WHERE seq >= 5")
    res = trail.verify()
    assert not res.ok
    assert "removed from the end" in res.message


def test_recomputed_entry_without_key_detected(ws, trail) -> None:
    # Rewriting an entry's details and a MAC made without the key still fails.
    import hashlib

    fake = hashlib.sha256(b"forged").hexdigest()
    _exec(ws, "UPDATE audit SET details = '{}', mac = ? WHERE seq = 2", fake)
    assert trail.verify().first_bad_seq == 2
