"""No network: the same changes carried by hand in sealed bundles (encrypted to HQ, signed
by the device) and HQ's acknowledgement carried back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.core.sync.helpers import synced_rows
from workstation.errors import BadInput, IntegrityFailure
from workstation.hq.models import Record
from workstation.hq.service import HQService
from workstation.hq.store import open_store
from workstation.sync.crypto import BundleError, WrongRecipient, open_sealed
from workstation.sync.engine import export_bundle, import_bundle, sync_now
from workstation.sync.status import sync_status

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def hq_count(hq) -> int:
    with hq.service.store.session() as s:
        return int(s.execute(select(func.count()).select_from(Record)).scalar_one())


def outbox_size(ws) -> int:
    with ws.db.read() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM sync_outbox").scalar_one())


def test_bundle_round_trip_carries_changes_both_ways(laptops, hq, tmp_path: Path) -> None:
    a, b = laptops("a"), laptops("b")
    # B works online; A has no network at all.
    bcid = b.ws.create_case("BN-B", "Online side", sharing="hq").id
    b.ws.add_entity(bcid, "person", "Known Online")
    sync_now(b.ws)
    cid = a.ws.create_case("BN-1", "Offline side", sharing="hq").id
    phone = a.ws.add_entity(cid, "phone", "+44 7700 900456").id
    a.ws.add_event(cid, "message", T0, title="offline", parties=[(phone, "sender")])
    secret = a.ws.add_entity(cid, "person", "Kept Person Ormond").id
    a.ws.update_entity(secret, keep_local=True)
    out = tmp_path / "a.bundle"
    report = export_bundle(a.ws, out)
    assert report.records == 3 and report.held == 1
    data = out.read_bytes()
    assert b"Ormond" not in data and b"offline" not in data  # sealed, not readable on the way
    # What is inside, as HQ decrypts it: the local-only person is not there.
    _, payload = open_sealed(data, expect_kind="push", expect_hq=hq.service.store.hq_id, expect_recipient="hq",
                             sender_sign_pub=_device_sign_pub(hq, a.ws.db.device_id),
                             recipient_box_key=hq.service.store.box_key)
    assert "Ormond" not in str(payload) and a.ws.get_entity(secret).uid not in str(payload)
    assert outbox_size(a.ws) == 3  # still pending until HQ acknowledges

    ack, summary = hq.service.import_bundle(data)
    assert summary["records"] == 3 and summary["changed"] == 3
    ack_path = tmp_path / "a.ack"
    ack_path.write_bytes(ack)
    got = import_bundle(a.ws, ack_path)
    assert got.records == 3 and got.pulled >= 2  # B's case came back in the acknowledgement
    assert outbox_size(a.ws) == 0
    assert sync_status(a.ws, cid).state == "synced"
    assert [c.number for c in a.ws.list_cases()] == ["BN-1", "BN-B"]
    sync_now(b.ws)
    assert synced_rows(a.ws) == synced_rows(b.ws)


def _device_sign_pub(hq, device_id: str) -> str:
    from workstation.hq.models import Device

    with hq.service.store.session() as s:
        return s.get(Device, device_id).sign_pub


def test_replayed_bundles_and_acknowledgements_change_nothing(laptops, hq, tmp_path: Path) -> None:
    a = laptops("a")
    cid = a.ws.create_case("BN-2", "Replay", sharing="hq").id
    ent = a.ws.add_entity(cid, "person", "First Version").id
    out = tmp_path / "one.bundle"
    export_bundle(a.ws, out)
    ack1, s1 = hq.service.import_bundle(out.read_bytes())
    before = hq_count(hq)
    for _ in range(2):
        _, again = hq.service.import_bundle(out.read_bytes())
        assert again["changed"] == 0
    assert hq_count(hq) == before
    (tmp_path / "one.ack").write_bytes(ack1)
    import_bundle(a.ws, tmp_path / "one.ack")
    # A newer edit, its own bundle and acknowledgement; then the OLD acknowledgement again.
    a.ws.update_entity(ent, label="Second Version")
    export_bundle(a.ws, tmp_path / "two.bundle")
    ack2, _ = hq.service.import_bundle((tmp_path / "two.bundle").read_bytes())
    (tmp_path / "two.ack").write_bytes(ack2)
    import_bundle(a.ws, tmp_path / "two.ack")
    import_bundle(a.ws, tmp_path / "one.ack")
    assert a.ws.get_entity(ent).label == "Second Version"
    assert outbox_size(a.ws) == 0
    a.ws.update_entity(ent, properties={"seen": "again"})
    sync_now(a.ws)  # bases stayed right: no false conflict online afterwards
    with hq.service.store.session() as s:
        rec = s.get(Record, a.ws.get_entity(ent).uid)
        assert rec.fields["label"] == "Second Version" and rec.fields["properties"] == {"seen": "again"}


@pytest.mark.parametrize("where", ["header", "ciphertext", "signature", "truncated"])
def test_tampered_bundle_is_rejected_and_nothing_applied(laptops, hq, tmp_path: Path, where: str) -> None:
    a = laptops("a")
    cid = a.ws.create_case(f"BN-T-{where}", "Tamper", sharing="hq").id
    a.ws.add_entity(cid, "person", "Tamper Target")
    out = tmp_path / "t.bundle"
    export_bundle(a.ws, out)
    data = bytearray(out.read_bytes())
    if where == "header":
        i = data.index(b'"created":"') + 12
        data[i] = ord("9") if data[i] != ord("9") else ord("8")
    elif where == "ciphertext":
        data[len(data) // 2 + 40] ^= 0x01
    elif where == "signature":
        data[-3] ^= 0x80
    else:
        data = data[: len(data) - 100]
    before = hq_count(hq)
    with pytest.raises((BundleError, BadInput)) as info:
        hq.service.import_bundle(bytes(data), source="t.bundle")
    assert "nothing was applied" in str(info.value) or "damaged" in str(info.value)
    assert hq_count(hq) == before


def test_bundle_for_another_hq_or_device_is_refused(laptops, hq, tmp_path: Path) -> None:
    a, b = laptops("a"), laptops("b")
    cid = a.ws.create_case("BN-3", "Addressing", sharing="hq").id
    a.ws.add_entity(cid, "person", "Addressed")
    out = tmp_path / "a.bundle"
    export_bundle(a.ws, out)
    other = HQService(open_store(f"sqlite:///{tmp_path / 'other-hq.db'}"))
    try:
        with pytest.raises(WrongRecipient, match="another HQ") as info:
            other.import_bundle(out.read_bytes())
        assert info.value.exit_code == 4
    finally:
        other.store.dispose()
    ack, _ = hq.service.import_bundle(out.read_bytes())
    (tmp_path / "a.ack").write_bytes(ack)
    with pytest.raises(WrongRecipient, match="addressed to device"):
        import_bundle(b.ws, tmp_path / "a.ack")
    tampered = bytearray(ack)
    tampered[-1] ^= 0x01
    (tmp_path / "bad.ack").write_bytes(bytes(tampered))
    with pytest.raises(IntegrityFailure):
        import_bundle(a.ws, tmp_path / "bad.ack")
    assert outbox_size(a.ws) == 2  # neither refused acknowledgement took anything off
    import_bundle(a.ws, tmp_path / "a.ack")
    assert outbox_size(a.ws) == 0
