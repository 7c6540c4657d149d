"""Randomised: several laptops with skewed clocks edit one shared case concurrently (add,
edit different and same fields, delete, link, merge, note) and sync in random order; after
everyone has synced twice, every laptop holds exactly the same rows, and HQ holds each
record once. A short run is part of the suite; set WORKSTATION_LONG_TESTS=1 for long ones."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.core.sync.helpers import synced_rows
from workstation import clock
from workstation.hq.models import Record
from workstation.sync.engine import sync_now

LONG = os.environ.get("WORKSTATION_LONG_TESTS") == "1"
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _one_op(rng: random.Random, ws, number: str) -> None:
    cid = ws.find_case(number).id
    ents = ws.list_entities(cid)
    events = ws.list_events(cid, limit=None)
    notes = ws.list_notes(cid)
    op = rng.choice(["add", "add", "label", "props", "event", "title", "delete", "link", "note", "note_edit",
                     "merge", "delete_event"])
    if op == "add" or not ents:
        ws.add_entity(cid, "person", f"P{rng.randrange(10**6)}")
    elif op == "label":
        ws.update_entity(rng.choice(ents).id, label=f"L{rng.randrange(10**6)}")
    elif op == "props":
        e = rng.choice(ents)
        ws.update_entity(e.id, properties={**e.properties, f"k{rng.randrange(5)}": rng.randrange(100)})
    elif op == "event":
        parties = [(e.id, rng.choice(["sender", "recipient"])) for e in rng.sample(ents, min(len(ents), 2))]
        ws.add_event(cid, "message", T0 + timedelta(minutes=rng.randrange(1000)), title="m", parties=parties)
    elif op == "title" and events:
        ws.update_event(rng.choice(events).id, title=f"T{rng.randrange(10**6)}")
    elif op == "delete_event" and events:
        ws.delete_event(rng.choice(events).id)
    elif op == "delete" and len(ents) > 2:
        ws.delete_entity(rng.choice(ents).id)
    elif op == "link" and len(ents) >= 2:
        a, b = rng.sample(ents, 2)
        ws.add_link(a.id, b.id, rng.choice(["associate_of", "uses"]))
    elif op == "note":
        ws.add_note(cid, f"N{rng.randrange(10**6)}", target_type="entity", target_id=rng.choice(ents).id)
    elif op == "note_edit" and notes:
        ws.update_note(rng.choice(notes).id, f"E{rng.randrange(10**6)}")
    elif op == "merge" and len(ents) > 3:
        a, b = rng.sample(ents, 2)
        ws.merge_entities(a.id, [b.id], "random merge")


def _run(laptops, hq, seed: int, n_laptops: int, steps: int) -> None:
    rng = random.Random(seed)
    laps = [laptops(f"r{seed}-{i}") for i in range(n_laptops)]
    skew = {i: timedelta(hours=rng.choice([-24, -1, 0, 3, 24])) for i in range(n_laptops)}
    real = datetime.now(UTC)
    number = f"RND-{seed}"

    def on(i: int) -> None:
        clock.set_clock(lambda: real + skew[i] + timedelta(seconds=rng.random()))

    try:
        on(0)
        cid = laps[0].ws.create_case(number, "Random case", sharing="hq").id
        for k in range(4):
            laps[0].ws.add_entity(cid, "person", f"Seed {k}")
        for i, lap in enumerate(laps):
            on(i)
            sync_now(lap.ws)
        for _ in range(steps):
            i = rng.randrange(n_laptops)
            on(i)
            if rng.random() < 0.15:
                sync_now(laps[i].ws, batch=rng.choice([3, 50, 500]))
            else:
                _one_op(rng, laps[i].ws, number)
        for _ in range(2):
            for i, lap in enumerate(laps):
                on(i)
                sync_now(lap.ws)
    finally:
        clock.set_clock(None)
    first = synced_rows(laps[0].ws)
    for lap in laps[1:]:
        assert synced_rows(lap.ws) == first
    case_uid = laps[0].ws.find_case(number).uid
    with hq.service.store.session() as s:
        uids = list(s.execute(select(Record.uid).where(Record.case_uid == case_uid)).scalars())
    assert len(uids) == len(set(uids)) == sum(1 for v in first.values())
    with laps[0].ws.db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sync_parked").scalar() == 0


def test_random_concurrent_edits_converge(laptops, hq) -> None:
    _run(laptops, hq, seed=11, n_laptops=3, steps=40)


@pytest.mark.skipif(not LONG, reason="long randomised runs: set WORKSTATION_LONG_TESTS=1")
@pytest.mark.parametrize("seed", range(20, 30))
def test_random_concurrent_edits_converge_long(laptops, hq, seed: int) -> None:
    _run(laptops, hq, seed=seed, n_laptops=4, steps=300)
