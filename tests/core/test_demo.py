"""The demo dataset: deterministic, synthetic, and carrying the planted cross-case overlaps."""

from __future__ import annotations

import pytest

from workstation.demo import build_demo
from workstation.media.pdq import hamming
from workstation.store import schema as s


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from tests.conftest import PASSPHRASE
    from workstation.domain.service import Workstation
    from workstation.store.database import Database

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    ws = Workstation(Database.create(path, PASSPHRASE))
    summary = build_demo(ws, seed=11)
    yield ws, summary
    ws.db.lock()


def _keys(ws, case_id: int) -> set[str]:
    return {e.key for e in ws.list_entities(case_id, limit=None) if e.key}


def test_size_and_content(demo) -> None:
    ws, summary = demo
    assert summary["cases"] == 20
    counts = ws.counts()
    assert counts["events"] == summary["events"] >= 20 * 300
    kinds = {e.kind for c in ws.list_cases()[:3] for e in ws.list_entities(c.id, limit=None)}
    assert {"person", "phone", "email", "account", "card", "ip", "organisation"} <= kinds
    first = ws.list_cases()[0]
    evk = {e.kind for e in ws.list_events(first.id, limit=None)}
    assert {"message", "transaction", "booking"} <= evk
    # Cards are stored masked; test-range numbers only.
    for e in ws.list_entities(first.id, kind="card"):
        assert e.label.startswith("•") and e.properties.get("last4")


def test_planted_identifier_overlaps_and_isolated_cases(demo) -> None:
    ws, summary = demo
    for p in summary["planted"]:
        if p["kind"] in {"phone", "card", "email", "account", "ip"}:
            a, b = p["cases"]
            assert _keys(ws, a) & _keys(ws, b), p
    cases = [c.id for c in ws.list_cases()]
    for iso in summary["isolated_cases"]:
        mine = _keys(ws, iso)
        for other in cases:
            if other != iso:
                assert not (mine & _keys(ws, other)), (iso, other)


def test_planted_media_overlaps(demo) -> None:
    ws, summary = demo
    plants = {p["kind"]: p["cases"] for p in summary["planted"]}
    with ws.db.read() as conn:
        def rows(case_id):
            return conn.execute(s.media.select().where(s.media.c.case_id == case_id)).fetchall()
        a, b = plants["media_exact"]
        assert {r.sha256 for r in rows(a)} & {r.sha256 for r in rows(b)}
        a, b = plants["media_pdq"]
        near = [(x, y) for x in rows(a) for y in rows(b) if hamming(x.pdq, y.pdq) <= 31]
        assert near and all(x.sha256 != y.sha256 for x, y in near)
        assert all(x.pdq_quality >= 50 for x, _ in near)
        assert all(r.thumbnail and r.thumbnail[:2] == b"\xff\xd8" for r in rows(a))


def test_deterministic(tmp_path) -> None:
    from tests.conftest import PASSPHRASE
    from workstation.domain.service import Workstation
    from workstation.store.database import Database

    out = []
    for n in (1, 2):
        ws = Workstation(Database.create(tmp_path / f"d{n}.db", PASSPHRASE))
        build_demo(ws, seed=3, events=400, cases=16)
        c = ws.list_cases()[5]
        out.append(([(e.kind, e.label) for e in ws.list_entities(c.id, limit=None)],
                    [(e.ts_utc, e.body) for e in ws.list_events(c.id, limit=None)]))
        ws.db.lock()
    assert out[0] == out[1]
