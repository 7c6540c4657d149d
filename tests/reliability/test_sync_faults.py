"""HQ sync under faults, counted (a Jepsen-style set test; the rig is ``sync_rig.py``).

* Bundles: random byte flips, cuts and insertions in a laptop's push bundle are refused by
  HQ with a typed error and change nothing at HQ; the same for HQ's acknowledgement bundle
  at the laptop. The undamaged bundles still import afterwards.
* Client killed: two laptops (clocks +24 h and −24 h) edit one shared case; before each
  trial one of them makes a few edits, then syncs in a forked child that is SIGKILLed at a
  random step of push or pull (at the step, a few ms after it — inside a request or a
  commit — or at a random moment from the parent). After each kill the laptop's database
  is sound and every push HQ acknowledged is at HQ; at checkpoints and at the end, after a
  clean sync round: every created record is at HQ exactly once (nothing lost, nothing
  duplicated or invented), both laptops hold exactly HQ's records and values, no
  acknowledged write was lost or silently overwritten, nothing is left queued.
* HQ killed (SQLite, and PostgreSQL for a shorter run): the same with HQ's process
  SIGKILLed — or stopped gracefully — at a random step of a laptop's push or pull and
  restarted, sometimes while that laptop is still syncing.
* Replays: recorded push batches are sent again as they were (raw HTTP, the same device),
  in random order, after newer edits from both laptops: HQ's state and change sequence do
  not move, and nothing comes back to the laptops.
* Concurrent edits: pairs of laptops with clocks skewed up to ±24 h edit the same record
  (the same field, different fields, the same value, an edit after seeing the other's,
  delete against edit), sync in random order: one winner — the greater clock stamp —
  everywhere (HQ and three laptops), the losing value of a same-field edit kept as a
  conflict, no conflict where there was none.

Counts: ``SYNC_KILLS``, ``SYNC_SERVER_KILLS`` (``SYNC_SERVER_KILLS_PG`` for PostgreSQL),
``SYNC_REPLAYS``, ``SYNC_PAIRS``, ``BUNDLE_DAMAGE`` (see ``support.count``).
"""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.support import count, store_problems, table_counts
from tests.reliability.support import seed as fixed_or_fresh_seed

pytest.importorskip("workstation.sync.engine")
pytest.importorskip("workstation.hq.server")

from tests.reliability import sync_rig as rig  # noqa: E402

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
DAY = 24 * 3600.0


@pytest.fixture(scope="module")
def sync_hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rig.ForkedHQ]:
    with rig.forked_hq("sqlite", tmp_path_factory.mktemp("hq")) as hq:
        yield hq


def _seed() -> int:
    """``WORKSTATION_REL_SEED`` when set (to replay a run), a fresh one in the long run
    (recorded in the figures), else a fixed one (see ``support.seed``)."""
    return fixed_or_fresh_seed(20240301)


def _agency() -> str:
    return f"AG-REL-{uuid.uuid4().hex[:8]}"


# ====================================================================== bundles


def _hq_count(hq: Any, case_uid: str | None = None) -> int:
    from sqlalchemy import func, select

    from workstation.hq.models import Record

    q = select(func.count()).select_from(Record)
    if case_uid is not None:
        q = q.where(Record.case_uid == case_uid)
    with hq.service.store.session() as s:
        return int(s.execute(q).scalar_one())


def _damage(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    how = rng.randrange(4)
    pos = rng.randrange(len(buf))
    if how == 0:
        buf[pos] ^= rng.randrange(1, 256)
    elif how == 1:
        del buf[pos:pos + rng.randint(1, 64)]
    elif how == 2:
        buf[pos:pos] = rng.randbytes(rng.randint(1, 16))
    else:
        buf = buf[:pos]
    return bytes(buf) if bytes(buf) != data else bytes(buf) + b"x"


def test_damaged_bundles_are_refused_and_apply_nothing(template_db: Path, tmp_path: Path, sync_hq: rig.ForkedHQ,
                                                       figures: Any, memo_kdf: None) -> None:
    from workstation.errors import WorkstationError
    from workstation.sync.engine import export_bundle, import_bundle

    hq = sync_hq
    lap = rig.new_laptop(template_db, tmp_path, "bundle", hq, _agency())
    bad: list[str] = []
    ways: Counter[str] = Counter()
    trials = count("bundle_damage", 40, 500)
    seed = _seed()
    rng = random.Random(seed)
    with lap.open() as ws:
        cid = ws.create_case("REL-BUNDLE", "Bundle tamper", sharing="hq").ids[0]
        for i in range(20):
            ws.add_entity(cid, "phone", f"+1 202-555-01{i:02d}")
        ws.add_event(cid, "message", T0, title="sealed message")
        bundle = tmp_path / "push.bundle"
        export_bundle(ws, bundle)
        push = bundle.read_bytes()
        before = _hq_count(hq)
        for i in range(trials):
            try:
                hq.service.import_bundle(_damage(push, rng), source=f"damaged-{i}")
                bad.append(f"push trial {i}: accepted")
            except WorkstationError as exc:
                ways[f"push: {type(exc).__name__}"] += 1
            except Exception as exc:  # an untyped error is a finding
                bad.append(f"push trial {i}: untyped {type(exc).__name__}: {exc}")
            if _hq_count(hq) != before:
                bad.append(f"push trial {i}: HQ changed")
                before = _hq_count(hq)
        ack, summary = hq.service.import_bundle(push, source="push.bundle")
        assert summary["records"] >= 21
        state = table_counts(ws.db)
        ack_path = tmp_path / "damaged.ack"
        for i in range(trials):
            ack_path.write_bytes(_damage(ack, rng))
            try:
                import_bundle(ws, ack_path)
                bad.append(f"ack trial {i}: accepted")
            except WorkstationError as exc:
                ways[f"ack: {type(exc).__name__}"] += 1
            except Exception as exc:
                bad.append(f"ack trial {i}: untyped {type(exc).__name__}: {exc}")
            if table_counts(ws.db) != state:
                bad.append(f"ack trial {i}: the laptop changed")
                state = table_counts(ws.db)
        ack_path.write_bytes(ack)
        import_bundle(ws, ack_path)
        outbox = rig.bookkeeping(ws)["sync_outbox"]
    figures.record("sync", "damaged sealed bundle (push at HQ, ack at laptop) → refused, typed, nothing applied",
                   2 * trials, len(bad), {**ways, "seed": seed})
    assert not bad, (f"seed {seed}", bad[:5])
    assert outbox == 0, "the undamaged acknowledgement still clears the outbox"


# ====================================================================== shared pieces


class Workload:
    """Random edits of one shared case, as officers make them, on any laptop; every
    record created is entered in the ledger."""

    OPS = (("entity", 4), ("event", 3), ("label", 3), ("props", 2), ("title", 2), ("note", 1), ("note_edit", 1),
           ("link", 1), ("delete", 1), ("delete_event", 0.5))

    def __init__(self, case_uid: str, ledger: rig.Ledger, rng: random.Random) -> None:
        self.case_uid = case_uid
        self.ledger = ledger
        self.rng = rng
        self.n = 0
        self.ops, self.weights = zip(*self.OPS, strict=True)

    def run(self, lap: rig.Lap, ops: int) -> None:
        if ops <= 0:
            return
        with lap.open() as ws:
            cid = ws.find_case(self._number(ws)).id
            ents = ws.list_entities(cid)
            for _ in range(ops):
                if self._one(ws, lap, cid, ents):
                    ents = ws.list_entities(cid)

    def _number(self, ws: Any) -> str:
        with ws.db.read() as conn:
            return str(conn.exec_driver_sql('SELECT number FROM "case" WHERE uid = ?', (self.case_uid,)).scalar_one())

    def _created(self, ws: Any, lap: rig.Lap, table: str, row_id: int) -> int:
        self.ledger.created[rig.uid_of(ws, table, row_id)] = lap.name
        return row_id

    def _one(self, ws: Any, lap: rig.Lap, cid: int, ents: list[Any]) -> bool:
        """One edit; True when the case's entities changed (so the caller lists them again)."""
        rng = self.rng
        self.n += 1
        tag = f"{lap.name}{self.n}"
        op = rng.choices(self.ops, self.weights)[0]
        if op == "entity" or len(ents) < 2:
            self._created(ws, lap, "entity", ws.add_entity(cid, "person", f"Person {tag}",
                                                          properties={"n": self.n}).ids[0])
            return True
        if op == "label":
            ws.update_entity(rng.choice(ents).id, label=f"Label {tag}")
            return True
        if op == "props":
            e = rng.choice(ents)
            ws.update_entity(e.id, properties={**e.properties, f"k{rng.randrange(3)}": tag})
            return True
        if op == "delete" and len(ents) > 6:
            ws.delete_entity(rng.choice(ents).id)
            return True
        if op == "event":
            parties = [(e.id, role) for e, role in zip(rng.sample(ents, 2), ("sender", "recipient"), strict=True)]
            self._created(ws, lap, "event", ws.add_event(cid, "message", T0 + timedelta(minutes=self.n),
                                                         title=f"Message {tag}", parties=parties).ids[0])
            return False
        if op == "link":
            a, b = rng.sample(ents, 2)
            self._created(ws, lap, "link", ws.add_link(a.id, b.id, "associate_of").ids[0])
            return False
        if op in ("title", "delete_event"):
            events = ws.list_events(cid, limit=50)
            if op == "title" and events:
                ws.update_event(rng.choice(events).id, title=f"Title {tag}")
                return False
            if op == "delete_event" and len(events) > 6:
                ws.delete_event(rng.choice(events).id)
                return False
        notes = ws.list_notes(cid) if op == "note_edit" else []
        if notes:
            ws.update_note(rng.choice(notes).id, f"Note edited {tag}")
        else:
            self._created(ws, lap, "note", ws.add_note(cid, f"Note {tag}", target_type="entity",
                                                       target_id=rng.choice(ents).id).ids[0])
        return False


def _shared_case(laps: list[rig.Lap], ledger: rig.Ledger, journal: Path, number: str) -> str:
    with laps[0].open() as ws:
        cid = ws.create_case(number, "Sync faults", sharing="hq").ids[0]
        case_uid = ws.get_case(cid).uid
        for i in range(4):
            eid = ws.add_entity(cid, "person", f"Seed person {i}").ids[0]
            ledger.created[rig.uid_of(ws, "entity", eid)] = laps[0].name
    ledger.created[case_uid] = laps[0].name
    rig.converge(laps, ledger, journal)
    return case_uid


def full_check(laps: list[rig.Lap], hq: rig.ForkedHQ, ledger: rig.Ledger, case_uid: str) -> tuple[list[str], dict]:
    """Everything the set test asks once every laptop has synced cleanly."""
    problems: list[str] = []
    at_hq = rig.hq_rows(hq, case_uids=[case_uid])
    created = set(ledger.created)
    missing = created - at_hq.keys()
    extra = at_hq.keys() - created
    if missing:
        problems.append(f"{len(missing)} created record(s) not at HQ, e.g. {sorted(missing)[:3]}")
    if extra:
        problems.append(f"{len(extra)} record(s) at HQ that no laptop created, e.g. {sorted(extra)[:3]}")
    problems += rig.Ledger.lost(ledger.acked, at_hq)
    states: dict[str, dict[str, dict[str, Any]]] = {}
    conflicts: list[dict[str, Any]] = []
    for lap in laps:
        with lap.open() as ws:
            states[lap.name] = rig.wire_state(ws)
            left = {k: v for k, v in rig.bookkeeping(ws).items() if v}
            if left:
                problems.append(f"{lap.name}: still queued after a clean sync: {left}")
            problems += [f"{lap.name}: {p}" for p in store_problems(ws.db).problems]
            conflicts += [{**c, "lap": lap.name} for c in rig.conflicts_of(ws)]
    problems += rig.compare_nodes(states, at_hq)
    problems += ledger.overwritten(at_hq, conflicts)
    problems += rig.false_conflicts(conflicts)
    problems += rig.hq_problems(hq)
    problems += [f"HQ logged an error: {e}" for e in hq.server_errors()]
    facts = {"records": len(at_hq), "acknowledged_writes": len(ledger.acked),
             "conflicts_kept": len(conflicts), "overwrites_not_judged": ledger.unjudged}
    return problems, facts


def _show(problems: list[str]) -> None:
    for p in problems[:20]:
        print("PROBLEM", p)


def _random_plan(rng: random.Random, target: int = 0, sig: int = signal.SIGKILL,
                 ) -> tuple[rig.KillPlan, float | None, str]:
    """A kill plan: at a step of push or pull (at once, or a few ms later), or a random
    moment timed by the parent (returned as a fraction of a typical run)."""
    mode = rng.choices(("step", "step+delay", "timer"), (0.35, 0.35, 0.3))[0]
    if mode == "timer":
        return rig.KillPlan(target=target, sig=sig), rng.random(), mode
    step = rng.choices(("push.request", "push.answered", "push.recorded", "pull.request", "pull.answered",
                        "pull.applied"), (2, 2, 1, 2, 2, 1))[0]
    delay = rng.uniform(0.0, 0.012) if mode == "step+delay" else 0.0
    return rig.KillPlan(step=step, nth=rng.choice((1, 1, 2, 3)), delay=delay, target=target, sig=sig), None, mode



def _two_laptops_on_a_shared_case(template_db: Path, tmp_path: Path, hq: rig.ForkedHQ, rng: random.Random,
                                  number: str) -> tuple[list[rig.Lap], rig.Ledger, Path, str, Workload]:
    """Two enrolled laptops of one new agency, clocks a day ahead and a day behind, sharing
    one case through HQ; the ledger, the clean-acknowledgement log and a workload on it."""
    agency = _agency()
    laps = [rig.new_laptop(template_db, tmp_path, "A", hq, agency, skew=+DAY),
            rig.new_laptop(template_db, tmp_path, "B", hq, agency, skew=-DAY)]
    ledger = rig.Ledger()
    clean = tmp_path / "clean.jsonl"
    case_uid = _shared_case(laps, ledger, clean, number)
    return laps, ledger, clean, case_uid, Workload(case_uid, ledger, rng)

# ====================================================================== client killed


def test_sync_client_killed_at_random_points_of_push_and_pull(template_db: Path, tmp_path: Path,
                                                              sync_hq: rig.ForkedHQ, figures: Any,
                                                              memo_kdf: None) -> None:
    hq = sync_hq
    target = count("sync_kills", 40, 1000)
    seed = _seed()
    rng = random.Random(seed)
    laps, ledger, clean, case_uid, work = _two_laptops_on_a_shared_case(
        template_db, tmp_path, hq, rng, "REL-KILL")
    problems: list[str] = []
    kills = 0
    attempts = 0
    phases: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    typical = 0.15
    checkpoints = 0
    started = time.monotonic()
    while kills < target and attempts < 4 * target:
        attempts += 1
        lap = rng.choice(laps)
        other = laps[1] if lap is laps[0] else laps[0]
        work.run(lap, rng.randint(1, 5))
        work.run(other, rng.choice((0, 0, 0, 1, 2)))
        plan, fraction, mode = _random_plan(rng)
        journal = tmp_path / f"kill-{attempts}.jsonl"
        t = time.monotonic()
        pid = rig.fork_sync(lap, journal, plan, batch=rng.choice((1, 2, 3, 4)), hq=hq)
        if fraction is not None:
            time.sleep(fraction * typical)
            rig.signal_child(pid, signal.SIGKILL)
        outcome = rig.wait_child(pid)
        took = time.monotonic() - t
        entries = rig.read_journal(journal)
        journal.unlink(missing_ok=True)
        acked = ledger.take(entries, f"trial {attempts}: {outcome}, plan {plan}")
        outcomes[outcome] += 1
        if outcome == "signal SIGKILL":
            kills += 1
            modes[mode] += 1
            phases[rig.phase_of(entries)] += 1
        elif outcome == "ok":
            typical = 0.8 * typical + 0.2 * took
        else:
            problems.append(f"trial {attempts}: the sync ended {outcome}: "
                            f"{[e for e in entries if e['step'] in ('error', 'crash', 'network-error')]}")
        if acked:
            problems += [f"trial {attempts}: {p}" for p in rig.Ledger.lost(acked, rig.hq_rows(
                hq, uids=[r["uid"] for r in acked]))]
        if outcome != "ok":
            with lap.open() as ws:
                problems += [f"trial {attempts} ({lap.name}): {p}" for p in store_problems(ws.db).problems]
        if attempts % 250 == 0:
            rig.converge(laps, ledger, clean)
            found, _ = full_check(laps, hq, ledger, case_uid)
            problems += [f"checkpoint after trial {attempts}: {p}" for p in found]
            checkpoints += 1
        if len(problems) > 20:
            break
    rounds = rig.converge(laps, ledger, clean)
    found, facts = full_check(laps, hq, ledger, case_uid)
    problems += found
    figures.record("sync", "laptop's sync SIGKILLed at random points of push and pull (forked client, real HQ, "
                   "clocks ±24 h) → DB sound, every acknowledged push at HQ; after a clean sync: every record "
                   "at HQ exactly once, both laptops = HQ, no write lost or silently overwritten",
                   kills, len(problems), {
                       "attempts": attempts, "kills": kills, "where": dict(phases), "how": dict(modes),
                       "outcomes": dict(outcomes), "pushes_acknowledged": ledger.pushes,
                       "checkpoints": checkpoints + 1, "final_rounds": rounds, "seed": seed,
                       "seconds": round(time.monotonic() - started, 1), **facts})
    _show(problems)
    assert kills >= target, f"only {kills} of {target} kills landed in {attempts} attempts"
    assert phases.keys() & {"push: request in flight", "push: acknowledged, not yet recorded"}, phases
    assert phases.keys() & {"pull: request in flight", "pull: page received, being applied"}, phases
    assert not problems, (f"seed {seed}", problems[:10])


# ====================================================================== HQ killed


def _server_killed(backend: str, template_db: Path, tmp_path: Path, figures: Any, target: int) -> None:
    seed = _seed()
    rng = random.Random(seed)
    with rig.forked_hq(backend, tmp_path / "hq") as hq:
        laps, ledger, clean, case_uid, work = _two_laptops_on_a_shared_case(
            template_db, tmp_path, hq, rng, f"REL-HQ-{backend}")
        problems: list[str] = []
        kills = attempts = 0
        phases: Counter[str] = Counter()
        ways: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        typical = 0.15
        started = time.monotonic()
        while kills < target and attempts < 4 * target:
            attempts += 1
            lap = rng.choice(laps)
            work.run(lap, rng.randint(1, 5))
            work.run(laps[1] if lap is laps[0] else laps[0], rng.choice((0, 0, 0, 1, 2)))
            sig = signal.SIGKILL if rng.random() < 0.7 else signal.SIGTERM
            restart_at_once = rng.random() < 0.5  # HQ is back while the laptop is still syncing
            assert hq.pid is not None
            plan, fraction, mode = _random_plan(rng, target=hq.pid, sig=sig)
            journal = tmp_path / f"hq-kill-{attempts}.jsonl"
            t0 = time.monotonic()
            pid = rig.fork_sync(lap, journal, plan, batch=rng.choice((1, 2, 3, 4)), hq=hq)
            fired = False  # by the parent's timer
            died = None
            outcome = None
            while outcome is None:
                if fraction is not None and not fired and time.monotonic() - t0 >= fraction * typical:
                    rig.signal_child(hq.pid, sig)
                    fired = True
                how = hq.reap()
                if how is not None:
                    died = how
                    if restart_at_once:
                        hq.start()
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    outcome = "ok" if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else (
                        f"exit {os.WEXITSTATUS(status)}" if os.WIFEXITED(status)
                        else f"signal {signal.Signals(os.WTERMSIG(status)).name}")
                elif time.monotonic() - t0 > 120:
                    rig.signal_child(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    outcome = "timeout"
                else:
                    time.sleep(0.0005)
            took = time.monotonic() - t0
            entries = rig.read_journal(journal)
            if died is None and (fired or any(e["step"] == "fire" for e in entries)):
                # The signal went off as the laptop finished: let HQ end (a graceful stop
                # finishes what is in flight first).
                deadline = time.monotonic() + 10
                while died is None and time.monotonic() < deadline:
                    died = hq.reap()
                    time.sleep(0.001)
            if hq.pid is None:
                hq.start()
            journal.unlink(missing_ok=True)
            acked = ledger.take(entries, f"trial {attempts}: HQ {died}, laptop {outcome}")
            outcomes[outcome] += 1
            if outcome not in ("ok", "exit 3"):
                problems.append(f"trial {attempts}: the laptop's sync ended {outcome}: "
                                f"{[e for e in entries if e['step'] in ('error', 'crash')]}")
            if died is not None:
                kills += 1
                ways[f"{signal.Signals(sig).name} ({'restarted mid-sync' if restart_at_once else 'restarted after'})"
                     ] += 1
                phases[rig.phase_of_hq_kill(entries)] += 1
                problems += [f"trial {attempts}: {p}" for p in rig.hq_problems(hq)]
            elif outcome == "ok":
                typical = 0.8 * typical + 0.2 * took
            if acked:
                problems += [f"trial {attempts}: {p}" for p in rig.Ledger.lost(acked, rig.hq_rows(
                    hq, uids=[r["uid"] for r in acked]))]
            if outcome != "ok":
                with lap.open() as ws:
                    problems += [f"trial {attempts} ({lap.name}): {p}" for p in store_problems(ws.db).problems]
            if len(problems) > 20:
                break
        rounds = rig.converge(laps, ledger, clean)
        found, facts = full_check(laps, hq, ledger, case_uid)
        problems += found
        facts["hq_starts"] = hq.starts
    figures.record("sync", f"HQ ({backend}) SIGKILLed or stopped at random points of a laptop's push and pull, "
                   "restarted (during or after the sync) → HQ DB sound, every acknowledged push kept; after a "
                   "clean sync: every record at HQ exactly once, laptops = HQ, nothing lost or silently "
                   "overwritten", kills, len(problems), {
                       "attempts": attempts, "kills": kills, "where": dict(phases), "how": dict(ways),
                       "laptop_outcomes": dict(outcomes), "pushes_acknowledged": ledger.pushes,
                       "final_rounds": rounds, "seed": seed, "seconds": round(time.monotonic() - started, 1),
                       **facts})
    _show(problems)
    assert kills >= target, f"only {kills} of {target} HQ kills landed in {attempts} attempts"
    assert not problems, (f"seed {seed}", problems[:10])


def test_hq_killed_or_restarted_mid_sync(template_db: Path, tmp_path: Path, figures: Any, memo_kdf: None) -> None:
    _server_killed("sqlite", template_db, tmp_path, figures, count("sync_server_kills", 12, 300))


@pytest.mark.postgres
def test_hq_on_postgresql_killed_or_restarted_mid_sync(template_db: Path, tmp_path: Path, figures: Any,
                                                       memo_kdf: None) -> None:
    _server_killed("postgres", template_db, tmp_path, figures, count("sync_server_kills_pg", 6, 60))


# ====================================================================== replays


def test_replayed_push_batches_change_nothing(template_db: Path, tmp_path: Path, sync_hq: rig.ForkedHQ,
                                              figures: Any, memo_kdf: None) -> None:
    from tests.core.sync.helpers import RecordingTransport
    from workstation.sync.client import connect
    from workstation.sync.engine import sync_now

    hq = sync_hq
    target = count("sync_replays", 400, 10_000)
    seed = _seed()
    rng = random.Random(seed)
    laps, ledger, clean, case_uid, work = _two_laptops_on_a_shared_case(
        template_db, tmp_path, hq, rng, "REL-REPLAY")
    batches: list[tuple[int, bytes]] = []  # (laptop index, push body as sent)
    for _ in range(20):  # creations, edits of both laptops' records, deletions: many generations
        for i, lap in enumerate(laps):
            work.run(lap, rng.randint(2, 6))
            recorder: list[RecordingTransport] = []
            with lap.open() as ws:
                sync_now(ws, batch=3, wrap=lambda inner: recorder.append(RecordingTransport(inner)) or recorder[-1],
                         trace=rig.journal_writer(clean, {"lap": lap.name}))
            batches += [(i, b) for b, u in zip(recorder[0].bodies, recorder[0].urls, strict=True)
                        if u.endswith("/v1/push")]
    ledger.take(rig.read_journal(clean))
    rig.converge(laps, ledger, clean)
    before = rig.hq_rows(hq, case_uids=[case_uid])
    head = hq_head = rig.hq_head(hq)
    states = {}
    for lap in laps:
        with lap.open() as ws:
            states[lap.name] = (rig.wire_state(ws), rig.conflicts_of(ws))
    clients = []
    for lap in laps:
        with lap.open() as ws:
            clients.append(connect(ws))
    problems: list[str] = []
    answered: Counter[str] = Counter()
    started = time.monotonic()
    try:
        for n in range(1, target + 1):
            who, body = rng.choice(batches)
            answer = clients[who].request("POST", "/v1/push", body=body)
            answered["conflicts reported (stale replay)" if answer["conflicts"] else "no conflict"] += 1
            if answer["changed"]:
                problems.append(f"replay {n}: HQ changed {answer['changed']} record(s)")
            if n % 1000 == 0 or n == target:
                if rig.hq_head(hq) != head:
                    problems.append(f"after {n} replays HQ's change sequence moved from {head} to {rig.hq_head(hq)}")
                    head = rig.hq_head(hq)
            if len(problems) > 20:
                break
    finally:
        for c in clients:
            c.close()
    after = rig.hq_rows(hq, case_uids=[case_uid])
    if after != before:
        diff = [u for u in before.keys() | after.keys() if before.get(u) != after.get(u)]
        problems.append(f"{len(diff)} HQ record(s) changed by replays, e.g. {diff[:3]}")
    for lap in laps:  # nothing comes back to the laptops, nothing new to resolve
        report = rig.sync_clean(lap, ledger, clean)
        if report.pulled or report.pushed or report.conflicts:
            problems.append(f"{lap.name}: a sync after the replays moved something: {report}")
        with lap.open() as ws:
            if (rig.wire_state(ws), rig.conflicts_of(ws)) != states[lap.name]:
                problems.append(f"{lap.name}: the laptop's records or conflicts changed")
    found, facts = full_check(laps, hq, ledger, case_uid)
    problems += found
    figures.record("sync", "recorded push batches sent again as they were (raw HTTP, same device, random order, "
                   "after newer edits from both laptops) → HQ's records and change sequence unchanged, nothing "
                   "new reaches the laptops", n, len(problems), {
                       "distinct_batches": len(batches), "answers": dict(answered), "hq_head": hq_head,
                       "seed": seed, "seconds": round(time.monotonic() - started, 1), **facts})
    _show(problems)
    assert n == target
    assert not problems, (f"seed {seed}", problems[:10])


# ====================================================================== concurrent pairs


CONCURRENT_KINDS = ("same field", "different fields", "same value", "delete vs edit")


def _field_stamp(ws: Any, table: str, uid: str, column: str) -> str:
    with ws.db.read() as conn:
        return str(conn.exec_driver_sql(
            f'SELECT f.hlc FROM sync_field f JOIN "{table}" x ON x.id = f.row_id WHERE f.tbl = ? AND x.uid = ? '
            "AND f.field = ?", (table, uid, column)).scalar() or "")


def _entity_id(ws: Any, uid: str) -> int:
    with ws.db.read() as conn:
        return int(conn.exec_driver_sql("SELECT id FROM entity WHERE uid = ?", (uid,)).scalar_one())


def test_concurrent_edits_on_two_laptops_one_winner_everywhere(template_db: Path, tmp_path: Path,
                                                               sync_hq: rig.ForkedHQ, figures: Any,
                                                               memo_kdf: None) -> None:
    hq = sync_hq
    target = count("sync_pairs", 40, 500)
    seed = _seed()
    rng = random.Random(seed)
    agency = _agency()
    a, b, c = (rig.new_laptop(template_db, tmp_path, n, hq, agency) for n in ("A", "B", "C"))
    laps = [a, b, c]
    ledger = rig.Ledger()
    clean = tmp_path / "clean.jsonl"
    case_uid = _shared_case(laps, ledger, clean, "REL-PAIRS")
    problems: list[str] = []
    kinds: Counter[str] = Counter()
    stamp_beat_wall = 0
    pairs = rounds = 0
    started = time.monotonic()

    def skew() -> float:
        return rng.choice((-DAY, DAY, rng.uniform(-DAY, DAY), 0.0))

    while pairs < target:
        rounds += 1
        a.skew, b.skew = skew(), skew()
        sequential = rng.random() < 0.2
        k = min(rng.randint(3, 6), target - pairs)
        picks = ["after seeing"] * k if sequential else [rng.choice(CONCURRENT_KINDS) for _ in range(k)]
        with a.open() as ws:
            cid = ws.find_case(f"REL-PAIRS").id
            uids = []
            for i in range(k):
                eid = ws.add_entity(cid, "person", f"Pair {rounds}-{i}", properties={"start": 0}).ids[0]
                uids.append(rig.uid_of(ws, "entity", eid))
                ledger.created[uids[-1]] = "A"
        rig.converge(laps, ledger, clean)
        expect: list[dict[str, Any]] = []

        def edits_of(lap: rig.Lap, who: str) -> None:
            with lap.open() as ws:
                for i, (uid, kind) in enumerate(zip(uids, picks, strict=True)):
                    eid = _entity_id(ws, uid)
                    v = f"{who} {rounds}-{i}"
                    if kind == "same value":
                        v = f"same {rounds}-{i}"
                    if kind == "different fields" and who == "B":
                        ws.update_entity(eid, properties={"start": 0, "b": v})
                    elif kind == "delete vs edit" and who == "A":
                        ws.delete_entity(eid)
                    else:
                        ws.update_entity(eid, label=v)
                    expect[i][who] = (v, _field_stamp(ws, "entity", uid, "label"), time.monotonic())

        expect = [{} for _ in uids]
        if sequential:
            edits_of(a, "A")
            rig.sync_clean(a, ledger, clean)
            rig.sync_clean(b, ledger, clean)
            edits_of(b, "B")
        else:
            first, second = ((a, "A"), (b, "B")) if rng.random() < 0.5 else ((b, "B"), (a, "A"))
            edits_of(*first)
            edits_of(*second)
            for lap in rng.sample([a, b], 2):
                rig.sync_clean(lap, ledger, clean)
        rig.converge(rng.sample(laps, 3), ledger, clean)
        at_hq = rig.hq_rows(hq, uids=uids)
        views = {}
        conflicts = []
        for lap in laps:
            with lap.open() as ws:
                views[lap.name] = {u: r for u, r in rig.wire_state(ws).items() if u in at_hq}
                conflicts += [{**x, "lap": lap.name} for x in rig.conflicts_of(ws) if x["uid"] in at_hq]
        problems += [f"round {rounds}: {p}" for p in rig.compare_nodes(views, at_hq)]
        for i, (uid, kind) in enumerate(zip(uids, picks, strict=True)):
            kinds[kind] += 1
            pairs += 1
            have = at_hq[uid]
            kept = [x for x in conflicts if x["uid"] == uid and x["field"] == "label"]
            others = [x for x in conflicts if x["uid"] == uid and x["field"] != "label"]
            (va, sa, ta), (vb, sb, tb) = expect[i]["A"], expect[i]["B"]
            where = f"round {rounds} pair {i} ({kind}; A skew {a.skew / 3600:+.1f} h, B {b.skew / 3600:+.1f} h)"
            if others:
                problems.append(f"{where}: conflicts on fields nobody edited twice: {others}")
            if kind == "same field":
                want = va if sa > sb else vb
                if (sa > sb) != (ta > tb):
                    stamp_beat_wall += 1
                if have["fields"]["label"] != want:
                    problems.append(f"{where}: HQ kept {have['fields']['label']!r}, the greater stamp has {want!r}")
                pair_kept = [x for x in kept if {x["mine"], x["theirs"]} == {va, vb}]
                if not pair_kept:
                    problems.append(f"{where}: the losing value was not kept as a conflict: {kept}")
                elif any((x["mine"] if x["winner"] == "mine" else x["theirs"]) != want for x in pair_kept):
                    problems.append(f"{where}: a conflict names the wrong winner: {pair_kept}")
            else:
                if kept:
                    problems.append(f"{where}: a conflict where there was none: {kept}")
                if kind == "different fields":
                    if have["fields"]["label"] != va or have["fields"]["properties"].get("b") != vb:
                        problems.append(f"{where}: an edit of one field lost the other's: {have['fields']}")
                elif kind == "same value":
                    if have["fields"]["label"] != va:
                        problems.append(f"{where}: HQ holds {have['fields']['label']!r}")
                elif kind == "delete vs edit":
                    if not have["deleted"] or have["fields"]["label"] != vb:
                        problems.append(f"{where}: deleted={have['deleted']} label={have['fields']['label']!r}")
                elif kind == "after seeing" and have["fields"]["label"] != vb:
                    problems.append(f"{where}: the later edit (made after seeing the other) lost: "
                                    f"{have['fields']['label']!r}")
        if len(problems) > 20:
            break
    found, facts = full_check(laps, hq, ledger, case_uid)
    problems += found
    figures.record("sync", "the same record edited on two laptops (clocks skewed up to ±24 h), synced in random "
                   "order → one winner (the greater clock stamp) on HQ and three laptops, the losing value of a "
                   "same-field edit kept as a conflict, no conflict otherwise", pairs, len(problems), {
                       "kinds": dict(kinds), "rounds": rounds,
                       "same_field_won_by_the_wall_clock_earlier_edit": stamp_beat_wall, "seed": seed,
                       "seconds": round(time.monotonic() - started, 1), **facts})
    _show(problems)
    assert pairs >= target
    assert not problems, (f"seed {seed}", problems[:10])


# ====================================================================== regressions found here


def _two_laptops_one_entity(template_db: Path, tmp_path: Path, hq: rig.ForkedHQ, skew_b: float = 0.0,
                            ) -> tuple[rig.Lap, rig.Lap, str, rig.Ledger, Path]:
    agency = _agency()
    a = rig.new_laptop(template_db, tmp_path, "A", hq, agency)
    b = rig.new_laptop(template_db, tmp_path, "B", hq, agency, skew=skew_b)
    ledger, journal = rig.Ledger(), tmp_path / "j.jsonl"
    with a.open() as ws:
        cid = ws.create_case("REL-LOST", "Lost answers", sharing="hq").ids[0]
        uid = rig.uid_of(ws, "entity", ws.add_entity(cid, "person", "Original").ids[0])
    rig.converge([a, b], ledger, journal)
    return a, b, uid, ledger, journal


def _push_answer_lost(lap: rig.Lap) -> None:
    from tests.core.sync.helpers import CutTransport
    from workstation.errors import NetworkError
    from workstation.sync.engine import sync_now

    with lap.open() as ws, pytest.raises(NetworkError):
        sync_now(ws, wrap=lambda inner: CutTransport(inner, 0, after_send=True))


@pytest.mark.parametrize("a_wins", [True, False], ids=["the-lost-answer-won", "the-lost-answer-lost"])
def test_a_lost_push_answer_still_keeps_the_conflict(template_db: Path, tmp_path: Path, sync_hq: rig.ForkedHQ,
                                                     memo_kdf: None, a_wins: bool) -> None:
    """B's edit is at HQ; A edits the same field and pushes, HQ merges, the answer is lost.
    Whichever edit won, the other must be kept as a conflict (before the fix, when A's won,
    B's value was overwritten and no node knew)."""
    a, b, uid, ledger, journal = _two_laptops_one_entity(template_db, tmp_path, sync_hq,
                                                         skew_b=-DAY if a_wins else DAY)
    with b.open() as ws:
        ws.update_entity(_entity_id(ws, uid), label="B's edit")
    rig.sync_clean(b, ledger, journal)
    with a.open() as ws:
        ws.update_entity(_entity_id(ws, uid), label="A's edit")
    _push_answer_lost(a)
    rig.converge([a, b], ledger, journal)
    kept = []
    for lap in (a, b):
        with lap.open() as ws:
            kept += [(lap.name, c["mine"], c["theirs"], c["winner"]) for c in rig.conflicts_of(ws)]
            label = ws.get_entity(_entity_id(ws, uid)).label
        assert label == ("A's edit" if a_wins else "B's edit")
    assert kept == [("A", "A's edit", "B's edit", "mine" if a_wins else "theirs")]


def test_an_own_edit_after_a_lost_answer_is_no_conflict(template_db: Path, tmp_path: Path, sync_hq: rig.ForkedHQ,
                                                        memo_kdf: None) -> None:
    """A's push reaches HQ but its answer is lost; A edits the same field again. That is not
    a conflict (A made the second edit knowing the first), neither at HQ nor on the pull
    that brings A's first edit back."""
    a, b, uid, ledger, journal = _two_laptops_one_entity(template_db, tmp_path, sync_hq)
    with a.open() as ws:
        ws.update_entity(_entity_id(ws, uid), label="first")
    _push_answer_lost(a)
    with b.open() as ws:  # makes HQ's copy differ from A's, so that A pulls it back
        ws.update_entity(_entity_id(ws, uid), properties={"b": 1})
    rig.sync_clean(b, ledger, journal)
    with a.open() as ws:
        ws.update_entity(_entity_id(ws, uid), label="second")
    rig.converge([a, b], ledger, journal)
    for lap in (a, b):
        with lap.open() as ws:
            assert rig.conflicts_of(ws) == []
            e = ws.get_entity(_entity_id(ws, uid))
            assert (e.label, e.properties.get("b")) == ("second", 1)


def test_a_laptop_gone_mid_upload_is_audited_not_a_server_error(template_db: Path, tmp_path: Path,
                                                               sync_hq: rig.ForkedHQ, memo_kdf: None) -> None:
    import socket
    import ssl

    from sqlalchemy import select

    from workstation.hq.models import AuditEntry
    from workstation.sync.client import load_enrolment

    hq = sync_hq
    lap = rig.new_laptop(template_db, tmp_path, "gone", hq, _agency())
    with lap.open() as ws:
        token = load_enrolment(ws).token  # type: ignore[union-attr]
    errors_before = len(hq.server_errors())
    ctx = ssl.create_default_context(cafile=str(hq.cert.cert))
    with socket.create_connection(("127.0.0.1", hq.port)) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"POST /v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: 100000\r\n\r\n"
                    b'{"records": [')
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    outcome = None
    while outcome is None and time.monotonic() < deadline:
        with hq.service.store.session() as s:
            # (the body is read before the token is checked: the row names the address only)
            outcome = s.execute(select(AuditEntry.outcome).where(AuditEntry.endpoint == "/v1/push",
                                                                 AuditEntry.outcome == "client gone")).scalar()
        time.sleep(0.05)
    assert outcome == "client gone"
    assert len(hq.server_errors()) == errors_before
