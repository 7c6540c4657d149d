"""Sync benchmark: first sync of 100,000 records through a real HQ on loopback (TLS).

HQ runs as its own process (``workstation hq serve``, as in production; ``--in-process``
runs it in a thread of this process instead, where client and server share one GIL).
Laptop A (encrypted database) holds one shared case of N records (entities and events
with their parties); A's first sync pushes them to HQ, laptop B's first sync pulls them
all. Then a sync with nothing to do. Prints a table: seconds, records per second, bytes
on the wire per record (compressed request and response bodies).

Targets: push + pull of 100k records ≤ 30 s; a no-change sync ≤ 200 ms.

    .venv/bin/python benchmarks/bench_sync.py [--records 100000] [--batch 500] [--postgres] [--in-process]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_laptop(path: Path, records: int):  # type: ignore[no-untyped-def]
    from workstation.domain.bulk import BulkWriter
    from workstation.domain.service import Workstation
    from workstation.store.database import Database

    ws = Workstation(Database.create(path, "benchmark passphrase"))
    cid = ws.create_case("BENCH-1", "Benchmark case", sharing="hq").id
    entities = max(1, records // 10)
    events = records - 1 - entities
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    with ws.db.write() as conn, BulkWriter(ws, conn, cid) as bw:
        ids = [bw.entity("phone", f"+1 202-555-{i % 10000:04d}", f"phone:+1202{i:07d}") for i in range(entities)]
        for i in range(events):
            a, b = ids[i % entities], ids[(i * 7 + 1) % entities]
            bw.event("message", t0 + timedelta(seconds=i), title=f"message {i}",
                     body=f"synthetic benchmark message number {i} between two phones",
                     parties=[(a, "sender"), (b, "recipient")] if a != b else [(a, "sender")])
    return ws


class SubprocessHQ:
    """``workstation hq serve`` with a development certificate, in its own process."""

    def __init__(self, url: str, tmp: Path) -> None:
        from workstation.hq.server import make_dev_cert
        from workstation.hq.service import HQService
        from workstation.hq.store import open_store

        self.cert = make_dev_cert(tmp / "tls")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.service = HQService(open_store(url))  # migrate once, and issue enrolment codes
        code = "import sys; from workstation.cli import main; sys.exit(main(sys.argv[1:]))"
        self.proc = subprocess.Popen([sys.executable, "-c", code, "hq", "serve", "--port", str(self.port),
                                      "--db", url, "--tls-cert", str(self.cert.cert), "--tls-key", str(self.cert.key)],
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        import httpx

        from workstation.sync.client import pinned_context

        deadline = time.monotonic() + 60
        while True:
            try:
                with httpx.Client(verify=pinned_context(self.cert.cert.read_text())) as c:
                    c.get(self.url + "/v1/health")
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("HQ did not start: " + (self.proc.stderr.read() or b"").decode()[-2000:])
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.service.store.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--postgres", action="store_true", help="HQ on a throw-away PostgreSQL database")
    ap.add_argument("--in-process", action="store_true", help="HQ in a thread of this process")
    args = ap.parse_args()

    from workstation.domain.service import Workstation
    from workstation.hq.server import RunningHQ
    from workstation.store.database import Database
    from workstation.sync.client import enroll
    from workstation.sync.engine import sync_now

    tmp = Path(tempfile.mkdtemp(prefix="bench_sync_"))
    if args.postgres:
        from tests.core.sync.helpers import postgres_database

        ctx = postgres_database()
        url = ctx.__enter__()
    else:
        ctx, url = None, f"sqlite:///{tmp / 'hq.db'}"
    hq: Any = RunningHQ(url, tls_dir=tmp / "tls").start() if args.in_process else SubprocessHQ(url, tmp)
    try:
        t = time.perf_counter()
        a = build_laptop(tmp / "a.db", args.records)
        build_s = time.perf_counter() - t
        b = Workstation(Database.create(tmp / "b.db", "benchmark passphrase"))
        for ws, officer in ((a, "officer A"), (b, "officer B")):
            enroll(ws, hq.url, hq.service.create_enrolment("BENCH", officer), ca_cert=str(hq.cert.cert))

        push = sync_now(a, batch=args.batch)
        pull = sync_now(b, batch=args.batch)
        idle = []
        for _ in range(5):
            r = sync_now(a, batch=args.batch)
            assert r.pushed == 0 and r.pulled == 0
            idle.append(r.seconds)
        assert push.pushed == args.records, push
        assert pull.pulled == args.records, pull

        first = push.seconds + pull.seconds
        rows = [
            ("records", f"{args.records:,}", ""),
            ("batch size", str(args.batch), ""),
            ("HQ store / process", ("PostgreSQL" if args.postgres else "SQLite") + " / "
             + ("thread" if args.in_process else "own"), ""),
            ("build laptop A (bulk import)", f"{build_s:.1f} s", ""),
            ("first sync A: push", f"{push.seconds:.1f} s", f"{push.pushed / push.seconds:,.0f} rec/s"),
            ("first sync B: pull", f"{pull.seconds:.1f} s", f"{pull.pulled / pull.seconds:,.0f} rec/s"),
            ("first sync push + pull", f"{first:.1f} s", "target ≤ 30 s " + ("OK" if first <= 30 else "MISSED")),
            ("no-change sync (median of 5)", f"{statistics.median(idle) * 1000:.0f} ms",
             "target ≤ 200 ms " + ("OK" if statistics.median(idle) <= 0.2 else "MISSED")),
            ("push bytes on the wire / record", f"{(push.bytes_sent + push.bytes_received) / args.records:.0f} B",
             f"sent {push.bytes_sent / 1e6:.1f} MB"),
            ("pull bytes on the wire / record", f"{(pull.bytes_sent + pull.bytes_received) / args.records:.0f} B",
             f"received {pull.bytes_received / 1e6:.1f} MB"),
        ]
        w = max(len(r[0]) for r in rows)
        print(f"{'measure':<{w}}  {'value':>14}  note")
        print("-" * (w + 40))
        for name, value, note in rows:
            print(f"{name:<{w}}  {value:>14}  {note}")
        a.db.lock()
        b.db.lock()
    finally:
        hq.stop()
        if ctx is not None:
            ctx.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
