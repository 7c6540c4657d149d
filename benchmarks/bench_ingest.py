"""Ingest benchmark: a card-transaction CSV through the full import pipeline.

Figures: rows/s, peak RSS of the import process, and the ratio to a floor measured in the
same process: Python's csv reader + executemany of the same columns into the same kind of
encrypted database (no parsing, normalisation, entities or full-text index).
Targets (issue 3): >= 50,000 rows/s, <= 3x the floor, peak RSS <= 300 MB.

    .venv/bin/python benchmarks/bench_ingest.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workstation.demo import _luhn_complete  # noqa: E402
from workstation.domain.service import Workstation  # noqa: E402
from workstation.ingest.pipeline import run_import  # noqa: E402
from workstation.store.database import Database  # noqa: E402

MERCHANTS = ["GIFT CARD PLAZA", "QUICKFUEL 221", "NETSTREAM DIGITAL", "CLOUD GAMES STORE", "MONEY WIRE EXPRESS",
             "CORNER GROCERY", "HOTEL CENTRAL", "RIDE SHARE CO", "PHOTO PRINT HUB", "VPN SECURE LTD"]
MCCS = ["5999", "5542", "5815", "5816", "4829", "5411", "7011", "4121", "7395", "4816"]


def make_csv(path: Path, rows: int, seed: int = 3) -> None:
    rnd = random.Random(seed)
    cards = [_luhn_complete(f"400000{i:09d}") for i in range(1000)]
    holders = [f"Holder{i:04d} Testperson" for i in range(1000)]
    start = datetime(2024, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Transaction Date", "Description", "Amount", "Currency", "MCC", "Card Number", "Cardholder"])
        for i in range(rows):
            c = rnd.randrange(1000)
            m = rnd.randrange(len(MERCHANTS) * 50)
            # Every row its own second: no two timestamps alike, as on a real statement.
            when = start + timedelta(seconds=i * 31 + rnd.randrange(30))
            w.writerow([when.strftime("%Y-%m-%d %H:%M:%S"),
                        f"{MERCHANTS[m % 10]} #{m}", f"-{rnd.randint(100, 99999) / 100:.2f}", "CAD",
                        MCCS[m % 10], cards[c], holders[c]])


def floor(path: Path, db_path: Path) -> float:
    db = Database.create(db_path, "bench passphrase")
    t0 = time.perf_counter()
    # The same kind of transaction as an import's (its WAL folded in by a background thread).
    with db.write(bulk=True) as conn:
        cur = conn.connection.dbapi_connection.cursor()
        cur.execute("CREATE TABLE floor (d TEXT, descr TEXT, amount TEXT, cur TEXT, mcc TEXT, card TEXT, holder TEXT)")
        with path.open(newline="", encoding="utf-8") as fh:
            r = csv.reader(fh)
            next(r)
            batch = []
            for row in r:
                batch.append(row)
                if len(batch) >= 5000:
                    cur.executemany("INSERT INTO floor VALUES (?,?,?,?,?,?,?)", batch)
                    batch.clear()
            if batch:
                cur.executemany("INSERT INTO floor VALUES (?,?,?,?,?,?,?)", batch)
    secs = time.perf_counter() - t0
    db.lock()
    return secs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        csv_path = t / "transactions.csv"
        make_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        floor_s = floor(csv_path, t / "floor.db")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ws = Workstation(Database.create(t / "case.db", "bench passphrase"))
        case_id = ws.create_case("BENCH-ING", "ingest benchmark").id
        t0 = time.perf_counter()
        res = run_import(ws, case_id, csv_path)
        secs = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t1 = time.perf_counter()
        ws.db.lock()  # waits for the background checkpoint, then closes
        after_s = time.perf_counter() - t1
    print(f"rows: {args.rows:,} ({size_mb:.0f} MB CSV); events {res.events:,}, entities {res.entities:,}, skipped {res.skipped}")
    print(f"{'':<22} {'seconds':>8} {'rows/s':>10}")
    print(f"{'floor (csv+executemany)':<22} {floor_s:>8.1f} {args.rows / floor_s:>10,.0f}")
    print(f"{'full import pipeline':<22} {secs:>8.1f} {args.rows / secs:>10,.0f}")
    print(f"ratio to floor: {secs / floor_s:.2f}x (target <= 3x); peak RSS {rss:.0f} MB "
          f"(before import {rss_before:.0f} MB; target <= 300 MB)")
    print(f"after the import returned: background WAL checkpoint + close {after_s:.1f} s")


if __name__ == "__main__":
    main()
