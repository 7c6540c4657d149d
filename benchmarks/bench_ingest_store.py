"""What the database alone costs an import: the rows a card-CSV import writes, written again.

The ingest benchmark's ratio (import / floor) mixes two costs: parsing and resolving in
Python, and SQLite storing what the import keeps. This script separates the second. It
imports a generated card CSV once with the statements the import's writer thread runs
recorded, then replays exactly those statements (same SQL, same batches, one thread, no
parsing) into fresh encrypted case databases, each time with less of the schema, and
measures the floor of ``bench_ingest`` (csv reader + executemany of the 7 columns into an
index-less table) beside them, in the same process.

    .venv/bin/python benchmarks/bench_ingest_store.py [--rows 300000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import floor, make_csv  # noqa: E402
from workstation.domain import bulk  # noqa: E402
from workstation.domain.service import Workstation  # noqa: E402
from workstation.ingest.pipeline import run_import  # noqa: E402
from workstation.store.database import Database  # noqa: E402

SECONDARY = ("ix_event_case_ts", "ix_event_live", "ix_event_case_kind", "ix_event_source",
             "ix_event_party_event", "ix_event_party_entity")
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("as an import stores it", {}),
    ("without the full-text index", {"fts": False}),
    ("without insert triggers", {"triggers": False}),
    ("without secondary indexes", {"indexes": False}),
    ("rows only (none of the three)", {"fts": False, "triggers": False, "indexes": False}),
]


def capture(csv_path: Path, db_path: Path) -> list[list[tuple[str, Any, bool]]]:
    """The batches an import hands its writer thread (the import itself runs as usual)."""
    jobs: list[list[tuple[str, Any, bool]]] = []
    original = bulk._BatchThread.submit

    def recording(self: Any, job: list[tuple[str, Any, bool]]) -> None:
        jobs.append(job)
        original(self, job)

    bulk._BatchThread.submit = recording  # type: ignore[method-assign]
    try:
        ws = Workstation(Database.create(db_path, "bench passphrase"))
        run_import(ws, ws.create_case("BENCH-ST", "store cost").id, csv_path)
        ws.db.lock()
    finally:
        bulk._BatchThread.submit = original  # type: ignore[method-assign]
    return jobs


def replay(jobs: list[list[tuple[str, Any, bool]]], db_path: Path, *, fts: bool = True,
           triggers: bool = True, indexes: bool = True) -> float:
    """Seconds to run ``jobs`` (and commit) in one write transaction of a new case DB."""
    ws = Workstation(Database.create(db_path, "bench passphrase"))
    ws.create_case("BENCH-ST", "store cost")
    t0 = 0.0
    with ws.db.write(bulk=True, foreign_keys=False) as conn:
        cur = conn.connection.dbapi_connection.cursor()
        # Schema changes inside the transaction: rolled into the same commit, not timed.
        if not indexes:
            for name in SECONDARY:
                cur.execute(f"DROP INDEX {name}")
        if not triggers:
            for (name,) in cur.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_ai' "
                    "AND tbl_name IN ('event', 'event_party', 'entity', 'link')").fetchall():
                cur.execute(f"DROP TRIGGER {name}")
        # As the writer does: full-text and sync triggers stand aside for a bulk import.
        cur.execute("INSERT INTO fts_defer (flag) VALUES (1)")
        cur.execute("INSERT INTO sync_apply (flag) VALUES (2)")
        t0 = time.perf_counter()
        for job in jobs:
            for sql, params, many in job:
                if not fts and sql.startswith("INSERT INTO fts_"):
                    continue
                (cur.executemany if many else cur.execute)(sql, params)
    secs = time.perf_counter() - t0  # the commit included, as in the import's figure
    ws.db.lock()
    return secs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=300_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        csv_path = t / "transactions.csv"
        make_csv(csv_path, args.rows)
        jobs = capture(csv_path, t / "capture.db")
        floor_s = floor(csv_path, t / "floor.db")
        results = []
        for i, (label, opts) in enumerate(VARIANTS):
            results.append((label, replay(jobs, t / f"replay{i}.db", **opts)))
        floor_after = floor(csv_path, t / "floor2.db")
    floor_s = min(floor_s, floor_after)  # the machine's quieter moment
    us = 1e6 / args.rows
    print(f"rows: {args.rows:,}; floor (csv + executemany, best of two) {floor_s * us:.1f} us/row")
    print(f"{'the import rows written again':<34} {'us/row':>7} {'x floor':>8}")
    for label, secs in results:
        print(f"{label:<34} {secs * us:>7.1f} {secs / floor_s:>8.2f}")


if __name__ == "__main__":
    main()
