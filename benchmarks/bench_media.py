"""Benchmark of seized-media ingest into the encrypted database, and PDQ lookups against a
hash set of a million entries stored in it.

Run:  .venv/bin/python benchmarks/bench_media.py [--count 300] [--workers 2] [--pdq-entries 1000000]

1. Generates ``--count`` one-megapixel JPEGs (gradient, noise, shapes: photo-like size and
   entropy) in a temporary folder.
2. Floor: the same process reads every file and computes MD5, SHA-1 and SHA-256 (what
   any ingest must do at least). Then the core analysis alone (``analyse_many``: digests,
   type, EXIF, PDQ, thumbnail over ``--workers`` processes), then the whole
   :func:`~workstation.media.service.ingest_media` into a fresh encrypted database
   (analysis + rows, encrypted thumbnails, hash-set matching, stacks, batched commits).
   Reports images/s and the ratio of ingest time to the floor, and the CPU time per image
   of the whole ingest counted over every process (this one, the worker processes and the
   process server they fork from, read from /proc): on a shared machine wall time depends
   on what else runs, CPU time much less, and ``cores / CPU per image`` is the rate the
   same work reaches on idle cores.
3. Imports a PDQ list of ``--pdq-entries`` random hashes as a hash set (the real import
   path), then times: loading the set's PDQ index from the database (once per set version),
   single PDQ queries at distance 31 (near copies and unrelated hashes), and the per-file
   cost of the PDQ matching an ingest batch runs against that set.

Targets: >= 100 images/s on 2 cores for the whole ingest; <= 5 ms per PDQ query.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "benchmarks"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from bench_media_core import WIDTH, HEIGHT, make_jpeg  # noqa: E402

from workstation.domain.service import Workstation  # noqa: E402
from workstation.media import service as media  # noqa: E402
from workstation.media.analyse import MediaAnalysis, analyse_many  # noqa: E402
from workstation.store.database import Database  # noqa: E402

PASSPHRASE = "benchmark passphrase"


def _descendants_cpu() -> float:
    """CPU seconds (user + system) of this process's descendants, including the children
    they have already reaped (so worker processes that came and went are counted).
    Linux /proc only; NaN elsewhere."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return float("nan")
    hz = os.sysconf("SC_CLK_TCK")
    parents: dict[int, tuple[int, float]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        fields = text[text.rfind(")") + 2:].split()
        # fields[1] ppid; [11] utime, [12] stime, [13] cutime, [14] cstime (clock ticks)
        parents[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / hz)
    total, frontier, seen = 0.0, {os.getpid()}, set()
    while frontier:
        found = {pid for pid, (ppid, _cpu) in parents.items() if ppid in frontier and pid not in seen}
        total += sum(parents[pid][1] for pid in found)
        seen |= found
        frontier = found
    return total


def tree_cpu() -> float:
    """CPU seconds used so far by this process and everything it started."""
    return time.process_time() + _descendants_cpu()


def floor_run(paths: list[Path]) -> float:
    """Read each file once and feed the three digests, in this process."""
    start = time.perf_counter()
    for path in paths:
        md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()  # noqa: S324 - evidence digests
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                md5.update(block)
                sha1.update(block)
                sha256.update(block)
    return time.perf_counter() - start


def analysis_run(folder: Path, workers: int) -> float:
    start = time.perf_counter()
    done = sum(1 for r in analyse_many(sorted(folder.iterdir()), workers=workers)
               if isinstance(r, MediaAnalysis) and r.image is not None)
    elapsed = time.perf_counter() - start
    assert done == len(list(folder.iterdir()))
    return elapsed


def ingest_run(folder: Path, workers: int, work: Path, n: int) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of all processes, CPU seconds of this process) of one
    whole ingest into a fresh database."""
    db_path = work / f"ingest-{n}-{workers}.cwdb"
    ws = Workstation(Database.create(db_path, PASSPHRASE))
    try:
        case = ws.create_case(f"BENCH-{n}", "benchmark").id
        start, cpu, own = time.perf_counter(), tree_cpu(), time.process_time()
        result = media.ingest_media(ws, case, folder, workers=workers)
        elapsed, own = time.perf_counter() - start, time.process_time() - own
        time.sleep(0.3)  # let the process server reap the workers: their time moves to it
        cpu = tree_cpu() - cpu
        assert not result.failures and result.added == len(list(folder.iterdir())), result
        return elapsed, cpu, own
    finally:
        ws.db.lock()


def pdq_bench(work: Path, entries: int, queries: int) -> dict[str, float]:
    rng = np.random.default_rng(11)
    raw = rng.integers(0, 256, (entries, 32), dtype=np.uint8)
    listing = work / "big-set-pdq.txt"
    t0 = time.perf_counter()
    with listing.open("w", encoding="ascii") as fh:
        step = 100_000
        for i in range(0, entries, step):
            fh.write("".join(f"{row.tobytes().hex()},100\n" for row in raw[i:i + step]))
    written = time.perf_counter() - t0
    ws = Workstation(Database.create(work / "pdq.cwdb", PASSPHRASE))
    try:
        t0, cpu0 = time.perf_counter(), time.process_time()
        res = media.import_hashset(ws, listing, kind="known_bad", name="million", fmt="pdq_list", match=False)
        imported, import_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        assert res.entries == entries, res
        with ws.db.read() as conn:
            t0, cpu0 = time.perf_counter(), time.process_time()
            index = media._set_pdq_index(ws, conn)
            load, load_cpu = time.perf_counter() - t0, time.process_time() - cpu0
            t0 = time.perf_counter()
            again = media._set_pdq_index(ws, conn)
            cached = time.perf_counter() - t0
        assert again is index and len(index) == entries
        near: list[str] = []
        for k in range(queries):
            flipped = bytearray(raw[(k * 7919) % entries].tobytes())
            for bit in rng.choice(256, 24, replace=False):
                flipped[bit // 8] ^= 1 << (bit % 8)
            near.append(flipped.hex())
        unrelated = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex() for _ in range(queries)]
        timings: dict[str, list[float]] = {"near": [], "unrelated": []}
        cpu = time.process_time()
        for label, batch in (("near", near), ("unrelated", unrelated)):
            for q in batch:
                t0 = time.perf_counter()
                hits = index.query(q, 31)
                timings[label].append(time.perf_counter() - t0)
                if label == "near":
                    assert hits, "a near copy must be found"
        query_cpu = (time.process_time() - cpu) / (2 * queries)
        # The matching an ingest batch runs: media rows with PDQ hashes (near copies) against the set.
        case = ws.create_case("PDQ-1", "pdq").id
        batch = 200
        with ws.db.write() as conn:
            rows = [(i + 1, case, f"/x/{i}.jpg", 1, "image/jpeg", f"{i:032x}", f"{i:040x}", f"{i:064x}",
                     near[i % len(near)], 100, "2024-01-01T00:00:00Z", f"00000000-0000-7000-8000-{i:012x}",
                     "dev", "0") for i in range(batch)]
            conn.connection.dbapi_connection.cursor().executemany(  # type: ignore[union-attr]
                "INSERT INTO media (id, case_id, path, size, mime, md5, sha1, sha256, pdq, pdq_quality, created_at, "
                "uid, origin, hlc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            t0 = time.perf_counter()
            found = media._match_media_rows(ws, conn, [r[0] for r in rows], 31)
            matching = time.perf_counter() - t0
        assert found.matches >= batch, found
    finally:
        ws.db.lock()
    return {
        "write_s": written, "import_s": imported, "import_rate": entries / imported, "load_s": load,
        "import_cpu_s": import_cpu, "load_cpu_s": load_cpu, "query_cpu_ms": query_cpu * 1000,
        "cached_ms": cached * 1000,
        "near_mean_ms": statistics.mean(timings["near"]) * 1000,
        "near_p95_ms": sorted(timings["near"])[int(len(timings["near"]) * 0.95) - 1] * 1000,
        "unrelated_mean_ms": statistics.mean(timings["unrelated"]) * 1000,
        "unrelated_p95_ms": sorted(timings["unrelated"])[int(len(timings["unrelated"]) * 0.95) - 1] * 1000,
        "match_per_file_ms": matching / batch * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="number of generated JPEGs")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=2, help="repetitions (the best is reported)")
    parser.add_argument("--pdq-entries", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-media-db-") as tmp:
        work = Path(tmp)
        folder = work / "images"
        folder.mkdir()
        t0 = time.perf_counter()
        for i in range(args.count):
            make_jpeg(folder / f"img{i:05d}.jpg", i)
        generated = time.perf_counter() - t0
        paths = sorted(folder.iterdir())
        mean_kb = sum(p.stat().st_size for p in paths) / len(paths) / 1024
        list(analyse_many(paths[:4], workers=args.workers))  # start the worker machinery outside the timings
        load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        floor_s = min(floor_run(paths) for _ in range(args.runs))
        analysis_s = min(analysis_run(folder, args.workers) for _ in range(args.runs))
        ingests = [ingest_run(folder, args.workers, work, n) for n in range(args.runs)]
        ingest_s = min(run[0] for run in ingests)
        # CPU per image of the whole ingest over every process: what idle cores would need.
        ingest_cpu = min(run[1] for run in ingests) / args.count
        main_cpu = min(run[2] for run in ingests) / args.count
        floor_cpu = time.process_time()
        floor_run(paths)
        floor_cpu = (time.process_time() - floor_cpu) / args.count
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        pdq = pdq_bench(work, args.pdq_entries, args.queries)

    rate = args.count / ingest_s
    rows = [
        ("images", f"{args.count} x {WIDTH}x{HEIGHT} JPEG, mean {mean_kb:.0f} KiB (generated in {generated:.1f} s)"),
        ("workers", str(args.workers)),
        ("floor: read + MD5/SHA-1/SHA-256, 1 process", f"{args.count / floor_s:9.1f} images/s ({floor_s:.2f} s)"),
        ("core analysis only (analyse_many)", f"{args.count / analysis_s:9.1f} images/s ({analysis_s:.2f} s)"),
        ("whole ingest into the encrypted DB", f"{rate:9.1f} images/s ({ingest_s:.2f} s)"),
        ("CPU per image: whole ingest / floor", f"{ingest_cpu * 1000:9.2f} ms / {floor_cpu * 1000:.2f} ms "
                                                f"(ratio {ingest_cpu / floor_cpu:.1f} x; all processes)"),
        ("  of which this process (DB, IPC)", f"{main_cpu * 1000:9.2f} ms"),
        (f"projected on {args.workers} idle cores", f"{args.workers / ingest_cpu:9.1f} images/s"),
        ("ingest / floor time", f"{ingest_s / floor_s:9.1f} x"),
        ("ingest / analysis-only time", f"{ingest_s / analysis_s:9.2f} x (database share)"),
        ("load average at start / end", f"{load_start:9.2f} / {load:.2f} (other processes share the cores)"),
        ("target ingest >= 100 images/s", "met" if rate >= 100 else "NOT met as measured"
         + (" (projected: met)" if args.workers / ingest_cpu >= 100 else "")),
        (f"PDQ set import ({args.pdq_entries:,} entries)",
         f"{pdq['import_s']:9.2f} s ({pdq['import_rate']:,.0f} entries/s; CPU {pdq['import_cpu_s']:.1f} s)"),
        ("PDQ index from the DB (first use)", f"{pdq['load_s']:9.2f} s (CPU {pdq['load_cpu_s']:.2f} s; "
                                              f"then cached: {pdq['cached_ms']:.3f} ms)"),
        ("PDQ query d<=31, near copy", f"{pdq['near_mean_ms']:9.3f} ms mean, {pdq['near_p95_ms']:.3f} ms p95"),
        ("PDQ query d<=31, unrelated", f"{pdq['unrelated_mean_ms']:9.3f} ms mean, {pdq['unrelated_p95_ms']:.3f} ms p95"),
        ("PDQ query CPU time", f"{pdq['query_cpu_ms']:9.3f} ms mean"),
        ("PDQ matching per ingested file", f"{pdq['match_per_file_ms']:9.3f} ms (exact + PDQ, recorded)"),
        ("target PDQ query <= 5 ms", ("met (wall mean)" if max(pdq["near_mean_ms"], pdq["unrelated_mean_ms"]) <= 5
                                      else "NOT met as measured (wall)")
         + ("; met in CPU time" if pdq["query_cpu_ms"] <= 5 else "")),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
