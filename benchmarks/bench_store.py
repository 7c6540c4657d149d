"""Store benchmark: 1M events + indexed queries, SQLCipher vs plain SQLite, same code path.

Both databases are written by the same BulkWriter (the import path) and queried by the same
service calls; only the key differs. Prints rows/s for each and the encrypted/plain ratio
(target ≤ 1.3×).

    .venv/bin/python benchmarks/bench_store.py [--events 1000000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from workstation.domain.bulk import BulkWriter
from workstation.domain.service import Workstation
from workstation.store.database import Database

WORDS = "meet later send where when now ok sure tomorrow park phone money card code gift game chat".split()


def fill(ws: Workstation, events: int, seed: int = 1) -> tuple[float, float]:
    """Seconds of wall and CPU time to insert ``events`` events (with parties) in one transaction."""
    rnd = random.Random(seed)
    case_id = ws.create_case("BENCH-1", "benchmark").id
    t0, c0 = time.perf_counter(), time.process_time()
    with ws.db.write() as conn:
        w = BulkWriter(ws, conn, case_id)
        accounts = [w.entity("account", f"user{i}", f"account:kik:user{i}") for i in range(2000)]
        base = datetime(2024, 1, 1, tzinfo=UTC)
        for i in range(events):
            a, b = rnd.sample(accounts, 2)
            w.event("message", base + timedelta(seconds=i * 7), title="kik message",
                    body=" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(4, 12))),
                    parties=((a, "sender"), (b, "recipient")))
        w.finish()
    return time.perf_counter() - t0, time.process_time() - c0


def queries(ws: Workstation, rounds: int = 200) -> tuple[float, float]:
    """Median ms (wall, CPU) of an indexed query mix: a time window page, an entity's
    events, a count. CPU time is what the cipher adds; wall time also counts the machine's
    other load, so on a shared machine the CPU ratio is the fair one."""
    rnd = random.Random(5)
    case_id = ws.list_cases()[0].id
    base = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
    ids = [e.id for e in ws.list_entities(case_id, kind="account", limit=2000)]
    times, cpu = [], []
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        start = base + rnd.randrange(0, 6_000_000) * 1_000_000
        ws.list_events(case_id, start=start, end=start + 3_600_000_000, limit=200)
        ws.list_events(case_id, entity_id=rnd.choice(ids), limit=100)
        ws.count_events(case_id, start=start, end=start + 86_400_000_000)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(times), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for label in ("plain", "sqlcipher"):
            path = Path(tmp) / f"{label}.db"
            db = Database.create_unencrypted_baseline(path) if label == "plain" else Database.create(path, "bench passphrase")
            ws = Workstation(db)
            secs = fill(ws, args.events)
            q = queries(ws)
            results[label] = (secs, q)
            db.lock()
        (ps, pq), (cs, cq) = results["plain"], results["sqlcipher"]
        print(f"events: {args.events:,}   (load average at start {os.getloadavg()[0]:.1f})")
        print(f"{'':<10} {'insert s':>9} {'insert CPU s':>13} {'rows/s':>10} {'query mix ms':>13} {'query CPU ms':>13}")
        for label, (s_, q_) in (("plain", (ps, pq)), ("sqlcipher", (cs, cq))):
            print(f"{label:<10} {s_[0]:>9.1f} {s_[1]:>13.1f} {args.events / s_[0]:>10,.0f} {q_[0]:>13.2f} {q_[1]:>13.2f}")
        print(f"ratio sqlcipher/plain (target <= 1.3x): insert {cs[0] / ps[0]:.2f}x wall, {cs[1] / ps[1]:.2f}x CPU; "
              f"queries {cq[0] / pq[0]:.2f}x wall, {cq[1] / pq[1]:.2f}x CPU")


if __name__ == "__main__":
    main()
