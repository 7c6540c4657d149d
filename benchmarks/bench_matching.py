"""Cross-case matching benchmark: case_connections over C cases holding K identifiers.

Builds a temporary *encrypted* case database (Database.create) with, by default, 2,000
cases and 2,000,000 identifier entities (phones, e-mails, accounts, cards, IPs, URLs) —
95 % unique to their case, 4.5 % drawn from a pool shared by a few cases, 0.5 % from a
handful of "hub" keys found in hundreds of cases (a switchboard number, a webmail domain)
— plus 50 people per case (names from a small synthetic pool, most with a date of birth),
one dated login per IP address, and 50 images per case with PDQ hashes (some exact and
near duplicates across cases). Rows go in through SQLAlchemy Core bulk inserts, so the
full-text triggers and indexes are maintained as in production.

Then times ``case_connections`` for a sample of cases. Target: ≤ 1 s per case.

    .venv/bin/python benchmarks/bench_matching.py                       # 2,000 cases / 2M ids
    .venv/bin/python benchmarks/bench_matching.py --cases 200 --per-case 1000

Runtime: building the full size takes several minutes (the entity FTS index is updated
row by row); the matching itself is about a second per case.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from workstation.analysis.matching import case_connections  # noqa: E402
from workstation.domain.service import Workstation  # noqa: E402
from workstation.store import schema  # noqa: E402
from workstation.store.database import Database  # noqa: E402

FIRST = ("john maria james anna peter olga mike sara david lena tom nina alex eva paul rita sam zoe mark "
         "julia ivan fatima omar chen wei li priya raj ana jose").split()
LAST = ("smith novak garcia kowalski brown ivanova miller rossi fischer silva jones murphy khan nguyen "
        "lopez martin petrov schmidt dubois kim").split()
PLATFORMS = ("telegram", "instagram", "snapchat", "kik", "discord", "whatsapp")
DOMAINS = ("example.org", "example.net", "example.com", "mail.example", "post.example")
START_US = 1_672_531_200_000_000
SPAN_US = 2 * 365 * 86_400_000_000


def make_key(rng: random.Random, n: int) -> tuple[str, str, str]:
    """(kind, key, label) of the n-th synthetic identifier."""
    r = n % 20
    if r < 6:
        num = f"+1202{n % 10_000_000:07d}"
        return "phone", f"phone:{num}", num
    if r < 10:
        addr = f"user{n}@{DOMAINS[n % len(DOMAINS)]}"
        return "email", f"email:{addr}", addr
    if r < 15:
        plat = PLATFORMS[n % len(PLATFORMS)]
        return "account", f"account:{plat}:h{n:x}", f"h{n:x}"
    if r < 17:
        ip = f"198.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        return "ip", f"ip:{ip}", ip
    if r < 18:
        url = f"https://site{n % 50_000}.example/p/{n}"
        return "url", f"url:{url}", url
    return "card", f"card:{n:064x}", f"•••• {n % 10_000:04d}"


def pdq_hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def near(h: str, rng: random.Random, bits: int) -> str:
    v = int(h, 16)
    for b in rng.sample(range(256), bits):
        v ^= 1 << b
    return f"{v:064x}"


def build(db: Database, ws: Workstation, n_cases: int, per_case: int, rng: random.Random) -> None:
    now = "2024-01-01T00:00:00.000000Z"
    origin = db.device_id
    seq = 0

    def stamp() -> dict[str, str]:
        nonlocal seq
        seq += 1
        return {"uid": str(uuid.uuid4()), "origin": origin, "hlc": f"bench-{seq:012d}"}

    with db.write() as conn:
        conn.execute(schema.case.insert(), [
            {"number": f"M-{i:05d}", "title": f"bench case {i}", "opened_at": now, "created_at": now,
             "updated_at": now, "shared_with": [], **stamp()} for i in range(n_cases)])
        case_ids = [r[0] for r in conn.execute(text('SELECT id FROM "case" ORDER BY id'))]
    shared_pool = [10_000_000 + i for i in range(max(50, n_cases * per_case // 100))]
    hubs = [20_000_000 + i for i in range(50)]
    image_pool = [pdq_hex(rng) for _ in range(max(20, n_cases * 2))]
    fresh = 0
    t0 = time.perf_counter()
    for ci, case_id in enumerate(case_ids):
        ents, ip_rows = [], []
        for _ in range(per_case):
            x = rng.random()
            if x < 0.005:
                n = rng.choice(hubs)
            elif x < 0.05:
                n = rng.choice(shared_pool)
            else:
                n = fresh
                fresh += 1
            kind, key, label = make_key(rng, n)
            ents.append({"case_id": case_id, "kind": kind, "label": label, "key": key, "properties": {},
                         "created_at": now, "updated_at": now, **stamp()})
        for _ in range(50):
            name = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
            props = {"dob": f"{rng.randint(1960, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"} \
                if rng.random() < 0.8 else {}
            ents.append({"case_id": case_id, "kind": "person", "label": name, "key": None, "properties": props,
                         "created_at": now, "updated_at": now, **stamp()})
        media = []
        for j in range(50):
            y = rng.random()
            if y < 0.02:
                h = rng.choice(image_pool)
                sha = f"{int(h[:16], 16):064x}"  # the same file
            elif y < 0.04:
                h = near(rng.choice(image_pool), rng, rng.randint(2, 20))
                sha = f"{rng.getrandbits(256):064x}"
            else:
                h = pdq_hex(rng)
                sha = f"{rng.getrandbits(256):064x}"
            media.append({"case_id": case_id, "path": f"img{j}.jpg", "size": 1000, "mime": "image/jpeg",
                          "md5": sha[:32], "sha1": sha[:40], "sha256": sha, "pdq": h, "pdq_quality": 90,
                          "created_at": now, **stamp()})
        with db.write() as conn:
            conn.execute(schema.entity.insert(), ents)
            conn.execute(schema.media.insert(), media)
            ips = conn.execute(text("SELECT id FROM entity WHERE case_id = :c AND kind = 'ip'"),
                               {"c": case_id}).fetchall()
            events = [{"case_id": case_id, "kind": "login", "ts_utc": START_US + rng.randrange(SPAN_US),
                       "title": "login", "properties": {}, "created_at": now, **stamp()} for _ in ips]
            if events:
                conn.execute(schema.event.insert(), events)
                ev_ids = [r[0] for r in conn.execute(text(
                    "SELECT id FROM event WHERE case_id = :c ORDER BY id DESC LIMIT :n"),
                    {"c": case_id, "n": len(events)})]
                for (ip_id,), ev_id in zip(ips, reversed(ev_ids), strict=True):
                    ip_rows.append({"event_id": ev_id, "entity_id": ip_id, "role": "ip", "uid": str(uuid.uuid4())})
                conn.execute(schema.event_party.insert(), ip_rows)
        if ci % 20 == 19 or ci == len(case_ids) - 1:
            done = (ci + 1) * (per_case + 50)
            print(f"\rcases {ci + 1:,}/{n_cases:,}, {done:,} entities "
                  f"({done / (time.perf_counter() - t0):,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=2_000)
    ap.add_argument("--per-case", type=int, default=1_000, help="identifier entities per case")
    ap.add_argument("--sample", type=int, default=20, help="cases to time")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--db", help="reuse/keep this database file (default: a temporary one)")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    tmp = tempfile.TemporaryDirectory(prefix="bench_matching_")
    path = Path(args.db) if args.db else Path(tmp.name) / "bench.db"
    t0 = time.perf_counter()
    if path.exists():
        db = Database.open(path, "bench")
        ws = Workstation(db)
        build_s = 0.0
    else:
        db = Database.create(path, "bench")
        ws = Workstation(db)
        build(db, ws, args.cases, args.per_case, rng)
        build_s = time.perf_counter() - t0
    with db.read() as conn:
        n_cases = conn.execute(text('SELECT count(*) FROM "case"')).scalar_one()
        n_ids = conn.execute(text("SELECT count(*) FROM entity WHERE key IS NOT NULL")).scalar_one()
        n_people = conn.execute(text("SELECT count(*) FROM entity WHERE kind = 'person'")).scalar_one()
        n_media = conn.execute(text("SELECT count(*) FROM media")).scalar_one()
        case_ids = [r[0] for r in conn.execute(text('SELECT id FROM "case" ORDER BY id'))]
    size_mb = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    sample = rng.sample(case_ids, min(args.sample, len(case_ids)))
    case_connections(ws, sample[0])  # warm caches as a running app would have them
    rows = []
    for cid in sample:
        t, c = time.perf_counter(), time.process_time()
        conns = case_connections(ws, cid)
        rows.append(((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000, len(conns),
                     sum(len(x.reasons) for x in conns)))
    walls = sorted(r[0] for r in rows)
    cpus = sorted(r[1] for r in rows)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\ncase_connections benchmark — {n_cases:,} cases, {n_ids:,} identifiers, {n_people:,} people, "
          f"{n_media:,} images; encrypted database {size_mb:,.0f} MB, build {build_s:,.0f} s; "
          f"load average {load:.1f} on {os.cpu_count()} CPUs")
    print(f"{'':<22}{'p50':>9}{'p95':>9}{'max':>9}")
    print(f"{'wall ms per case':<22}{statistics.median(walls):>9.0f}{walls[int(0.95 * (len(walls) - 1))]:>9.0f}"
          f"{walls[-1]:>9.0f}")
    print(f"{'cpu ms per case':<22}{statistics.median(cpus):>9.0f}{cpus[int(0.95 * (len(cpus) - 1))]:>9.0f}"
          f"{cpus[-1]:>9.0f}")
    print(f"connected cases per case: median {statistics.median(r[2] for r in rows):.0f}, "
          f"reasons per case: median {statistics.median(r[3] for r in rows):.0f}")
    worst = walls[-1]
    print(f"target ≤ 1000 ms per case: {'PASS' if worst <= 1000 else 'FAIL'} (worst {worst:.0f} ms wall, "
          f"{cpus[-1]:.0f} ms cpu)")
    db.lock()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
