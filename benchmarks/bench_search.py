"""Full-text search benchmark: FTS5 search over N chat messages vs a LIKE scan.

Builds a temporary *encrypted* case database (Database.create), bulk-inserts N synthetic
messages through SQLAlchemy Core (the FTS triggers of migration 0001 fill the index as in
production), then times ``workstation.analysis.search.search`` over a mix of investigator
queries (rare and mid-frequency words, AND, OR, NOT, phrases, prefixes, filters, a phone
number in another spelling, a very common word) and the equivalent LIKE scan.

Targets: p95 of the query mix ≤ 30 ms; FTS at least 50× faster than the LIKE scan.

    .venv/bin/python benchmarks/bench_search.py                  # 1,000,000 messages
    .venv/bin/python benchmarks/bench_search.py --messages 100000

Runtime: building 1M messages takes a few minutes on a laptop-class CPU (the FTS index
is maintained row by row by the triggers); the queries themselves take seconds, the LIKE
baseline about a second per query.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from workstation.analysis.search import search  # noqa: E402
from workstation.domain.service import Workstation  # noqa: E402
from workstation.store import schema  # noqa: E402
from workstation.store.database import Database  # noqa: E402

COMMON = ("the you to and i a it is that of in for me on we have what are be do at this can not my "
          "with so get but just know your will go was if now call send money ok yes no when how where "
          "there here they up out time come see tomorrow today tonight meet pay cash bank card transfer "
          "price deal phone number address car house later need want got back first then still already "
          "right good bad more much about from like one two three week day night friday monday").split()
PHRASES = ("see you tomorrow", "send the money", "meet at the station", "new phone number",
           "delete this chat", "bring the package", "wire transfer done", "same place as before")
SYLLABLES = ("ka ri to mo na sel ven dar lo mi pe tra gor bin zu fa quel nor sha vik el an ost rum "
             "pla tek dor ise ula wen bro cas lin mar tor uvi yan zel").split()
FIRST = ("john maria james anna peter olga mike sara david lena tom nina alex eva paul rita sam zoe "
         "mark julia").split()
LAST = ("smith novak garcia kowalski brown ivanova miller rossi fischer silva jones murphy khan "
        "nguyen lopez martin").split()
START_US = 1_672_531_200_000_000  # 2023-01-01 UTC
SPAN_US = 2 * 365 * 86_400_000_000


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    words = list(COMMON) + FIRST + LAST
    seen = set(words)
    while len(words) < size:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def zipf_weights(n: int, s: float = 1.07) -> list[float]:
    return [1.0 / (r ** s) for r in range(1, n + 1)]


def phone_spellings(i: int) -> tuple[str, str]:
    """(as written in a message, as an officer might type it) for a synthetic number."""
    last = f"{i % 100:02d}"
    return f"+1 (202) 555-01{last}", f"202.555.01{last}"


def build(db: Database, ws: Workstation, n: int, rng: random.Random, vocab: list[str],
          progress: Callable[[str], None]) -> list[str]:
    cases = [ws.create_case(f"B-{i:03d}", f"bench case {i}").id for i in range(20)]
    cum: list[float] = []
    acc = 0.0
    for w in zipf_weights(len(vocab)):
        acc += w
        cum.append(acc)
    kinds = ["message"] * 16 + ["transaction", "login", "call", "note"]
    batch = 20_000
    stamp_base = f"{db.device_id[:8]}"
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        rows = []
        for i in range(start, min(n, start + batch)):
            k = rng.randint(4, 24)
            words = rng.choices(vocab, cum_weights=cum, k=k)
            if rng.random() < 0.05:
                words.insert(rng.randint(0, len(words)), rng.choice(PHRASES))
            if rng.random() < 0.01:
                words.insert(rng.randint(0, len(words)), phone_spellings(rng.randint(0, 99))[0])
            if rng.random() < 0.02:
                words.insert(0, f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}:")
            body = " ".join(words)
            rows.append({
                "case_id": cases[i % len(cases)], "kind": rng.choice(kinds),
                "ts_utc": START_US + rng.randrange(SPAN_US), "utc_offset": 0,
                "title": "chat message", "body": body, "properties": {},
                "created_at": "2024-01-01T00:00:00.000000Z", "uid": str(uuid.uuid4()),
                "origin": db.device_id, "hlc": f"{stamp_base}-{i:012d}",
            })
        with db.write() as conn:
            conn.execute(schema.event.insert(), rows)
        done = min(n, start + batch)
        rate = done / (time.perf_counter() - t0)
        progress(f"inserted {done:,}/{n:,} messages ({rate:,.0f}/s)")
    return [f"B-{i:03d}" for i in range(20)]


def query_mix(rng: random.Random, vocab: list[str], cases: list[str], per_type: int) -> dict[str, list[str]]:
    def mid() -> str:
        return vocab[rng.randint(200, 2000)]

    def rare() -> str:
        return vocab[rng.randint(5000, len(vocab) - 1)]

    mix: dict[str, list[str]] = {}
    mix["rare word"] = [rare() for _ in range(per_type)]
    mix["mid word"] = [mid() for _ in range(per_type)]
    mix["two words (AND)"] = [f"{mid()} {mid()}" for _ in range(per_type)]
    mix["phrase"] = [f'"{rng.choice(PHRASES)}"' for _ in range(per_type)]
    mix["prefix*"] = [f"{mid()[:4]}*" for _ in range(per_type)]
    mix["OR"] = [f"{rare()} OR {rare()}" for _ in range(per_type)]
    mix["NOT"] = [f"{mid()} -{rng.choice(COMMON[:30])}" for _ in range(per_type)]
    mix["filters"] = [f"case:{rng.choice(cases)} kind:message from:2023-04-01 to:2023-06-30 {mid()}"
                      for _ in range(per_type)]
    mix["phone number"] = [phone_spellings(rng.randint(0, 99))[1] for _ in range(per_type)]
    mix["name"] = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(per_type)]
    mix["very common word"] = [rng.choice(["money", "tomorrow", "cash", "phone"]) for _ in range(per_type)]
    return mix


def like_sql(query: str) -> tuple[str, dict[str, str]] | None:
    """The LIKE scan a naive implementation would run for the same words (no ranking
    possible: newest first). None for queries LIKE cannot express simply."""
    q = query
    filters = ""
    params: dict[str, str] = {}
    if q.startswith("case:"):
        parts = q.split()
        number = parts[0].split(":", 1)[1]
        filters = (" AND case_id = (SELECT id FROM \"case\" WHERE number = :num) AND kind = 'message'"
                   " AND ts_utc >= 1680307200000000 AND ts_utc < 1688169600000000")
        params["num"] = number
        q = parts[-1]
    if q.startswith('"'):
        terms = [q.strip('"')]
        neg: list[str] = []
    elif " OR " in q:
        a, b = q.split(" OR ")
        params.update(a=f"%{a}%", b=f"%{b}%")
        return ("SELECT id FROM event WHERE deleted = 0 AND (body LIKE :a OR body LIKE :b)"
                f"{filters} ORDER BY ts_utc DESC LIMIT 50", params)
    else:
        words = q.split()
        terms = [w.rstrip("*") for w in words if not w.startswith("-")]
        neg = [w[1:] for w in words if w.startswith("-")]
    where = []
    for i, t in enumerate(terms):
        params[f"t{i}"] = f"%{t}%"
        where.append(f"body LIKE :t{i}")
    for i, t in enumerate(neg):
        params[f"n{i}"] = f"%{t}%"
        where.append(f"body NOT LIKE :n{i}")
    return (f"SELECT id FROM event WHERE deleted = 0 AND {' AND '.join(where)}{filters} "
            "ORDER BY ts_utc DESC LIMIT 50", params)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--per-type", type=int, default=20, help="queries per type in the mix")
    ap.add_argument("--like-per-type", type=int, default=2, help="LIKE scans per type (each ~1 s at 1M)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--db", help="reuse/keep this database file (default: a temporary one)")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    vocab = vocabulary(rng)

    def progress(msg: str) -> None:
        print(f"\r{msg:<70}", end="", file=sys.stderr, flush=True)

    tmp = tempfile.TemporaryDirectory(prefix="bench_search_")
    path = Path(args.db) if args.db else Path(tmp.name) / "bench.db"
    t0 = time.perf_counter()
    if path.exists():
        db = Database.open(path, "bench")
        ws = Workstation(db)
        cases = [c.number for c in ws.list_cases(with_counts=False)]
        build_s = 0.0
    else:
        db = Database.create(path, "bench")
        ws = Workstation(db)
        cases = build(db, ws, args.messages, rng, vocab, progress)
        build_s = time.perf_counter() - t0
        print(file=sys.stderr)
    with db.read() as conn:
        n_events = conn.execute(text("SELECT count(*) FROM event")).scalar_one()
    size_mb = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    mix = query_mix(rng, vocab, cases, args.per_type)

    # Warm the page cache the way a running app would have it, then measure.
    for qs in mix.values():
        search(ws, qs[0])
    fts: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    hits: dict[str, list[int]] = {}
    for kind, qs in mix.items():
        for q in qs:
            t, c = time.perf_counter(), time.process_time()
            res = search(ws, q, limit=50)
            fts.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
            cpu.setdefault(kind, []).append((time.process_time() - c) * 1000)
            hits.setdefault(kind, []).append(res.total_estimate)
    like: dict[str, list[float]] = {}
    like_cpu: dict[str, list[float]] = {}
    with db.read() as conn:
        for kind, qs in mix.items():
            for q in qs[: args.like_per_type]:
                built = like_sql(q if kind != "phone number" else "555")
                if built is None:
                    continue
                sql, params = built
                t, c = time.perf_counter(), time.process_time()
                conn.execute(text(sql), params).fetchall()
                like.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
                like_cpu.setdefault(kind, []).append((time.process_time() - c) * 1000)

    all_ms = [v for vs in fts.values() for v in vs]
    all_cpu = [v for vs in cpu.values() for v in vs]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nFTS search benchmark — {n_events:,} events, encrypted database {size_mb:,.0f} MB, "
          f"build {build_s:,.0f} s, load average {load:.1f} on {os.cpu_count()} CPUs")
    print("wall = elapsed time; cpu = this process's CPU time (what it costs on an idle machine);")
    print("ratio = LIKE scan / FTS search, both medians, on cpu time (wall ratio in brackets)")
    print(f"{'query type':<20}{'n':>4}{'matches~':>10}{'wall p50':>10}{'wall p95':>10}{'cpu p50':>9}"
          f"{'cpu p95':>9}{'LIKE cpu':>10}{'ratio':>8}{'(wall)':>9}")
    ratios: dict[str, float] = {}
    for kind in mix:
        f50, f95 = pct(fts[kind], 50), pct(fts[kind], 95)
        c50, c95 = pct(cpu[kind], 50), pct(cpu[kind], 95)
        if like.get(kind):
            lk_cpu = statistics.median(like_cpu[kind])
            ratio = lk_cpu / max(c50, 0.01)
            wall_ratio = statistics.median(like[kind]) / max(f50, 0.01)
            ratios[kind] = ratio
        else:
            lk_cpu = ratio = wall_ratio = float("nan")
        print(f"{kind:<20}{len(fts[kind]):>4}{int(statistics.median(hits[kind])):>10,}{f50:>10.1f}{f95:>10.1f}"
              f"{c50:>9.1f}{c95:>9.1f}{lk_cpu:>10.0f}{ratio:>7.0f}×{wall_ratio:>7.0f}×")
    p95, c95 = pct(all_ms, 95), pct(all_cpu, 95)
    # With case/time filters the LIKE baseline also narrows through an index, so it is not
    # the full scan the ratio target is about; it is shown but not judged.
    full_scan = {k: v for k, v in ratios.items() if k != "filters"}
    gmean = statistics.geometric_mean(full_scan.values()) if full_scan else float("nan")
    lowest = min(full_scan.values(), default=0.0)
    print(f"{'whole mix':<20}{len(all_ms):>4}{'':>10}{pct(all_ms, 50):>10.1f}{p95:>10.1f}"
          f"{pct(all_cpu, 50):>9.1f}{c95:>9.1f}{'':>10}{gmean:>7.0f}× (geo-mean of full-scan types)")
    print(f"target p95 ≤ 30 ms: wall {p95:.1f} ms {'PASS' if p95 <= 30 else 'FAIL'}, "
          f"cpu {c95:.1f} ms {'PASS' if c95 <= 30 else 'FAIL'}")
    print(f"target ≥ 50× a LIKE scan (cpu): lowest {lowest:.0f}× ({min(full_scan, key=full_scan.get, default='-')}), "
          f"geo-mean {gmean:.0f}× — {'PASS' if lowest >= 50 else 'FAIL'}")
    db.lock()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
