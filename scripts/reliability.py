"""Run the LONG reliability tests and print the table of figures.

    .venv/bin/python scripts/reliability.py                 # full long run (defaults below)
    .venv/bin/python scripts/reliability.py --crash-trials 120 --tamper-flips 1000
    .venv/bin/python scripts/reliability.py --only crash tamper --markdown

It runs ``tests/reliability`` under pytest with ``WORKSTATION_LONG_TESTS=1`` and each count
passed as ``WORKSTATION_REL_<NAME>`` (see ``tests/reliability/support.py``), collects the
figures every test records (trials run, failures found, and how each was detected) and
prints them as a table. Exit status: pytest's (0 when every property held).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: flag → (environment name, long default, help)
COUNTS: dict[str, tuple[str, int, str]] = {
    "crash-trials": ("CRASH_TRIALS", 200, "SIGKILLs during import/edit/rekey"),
    "tamper-flips": ("TAMPER_FLIPS", 1000, "random byte flips in the database file"),
    "wal-flips": ("TAMPER_WAL_FLIPS", 400, "random byte flips in a live WAL"),
    "audit-edits": ("AUDIT_EDITS", 1000, "audit-trail edits by a passphrase holder"),
    "fuzz-examples": ("FUZZ_EXAMPLES", 300, "hypothesis examples per parser and input shape"),
    "fuzz-pipeline-examples": ("FUZZ_PIPELINE_EXAMPLES", 60, "fuzzed files imported per parser"),
    "hostile-big-mb": ("HOSTILE_BIG_MB", 50, "size of the 'huge field' files (MB)"),
    "hostile-bomb-mb": ("HOSTILE_BOMB_MB", 512, "inflated size of the zip bombs (MB)"),
    "hostile-zip-members": ("HOSTILE_ZIP_MEMBERS", 60_000, "members of the many-member zip"),
    "hostile-legal-image-side": ("HOSTILE_LEGAL_IMAGE_SIDE", 13_000, "side of the large legal image (pixels)"),
    "leak-sessions": ("LEAK_SESSIONS", 3, "scripted sessions scanned for plaintext"),
    "idle-trials": ("IDLE_TRIALS", 5000, "random idle/activity sequences for auto-lock"),
    "backoff-attempts": ("BACKOFF_ATTEMPTS", 16, "wrong passphrases typed into the unlock dialog"),
    "lock-during-import": ("LOCK_DURING_IMPORT", 25, "lock() calls in the middle of an import"),
    "bundle-damage": ("BUNDLE_DAMAGE", 500, "damaged sync bundles per direction"),
    "sync-kills": ("SYNC_KILLS", 1000, "SIGKILLs of a laptop's sync at random points of push and pull"),
    "sync-server-kills": ("SYNC_SERVER_KILLS", 300, "HQ (SQLite) SIGKILLed/stopped at random points, restarted"),
    "sync-server-kills-pg": ("SYNC_SERVER_KILLS_PG", 60, "the same with HQ on PostgreSQL"),
    "sync-replays": ("SYNC_REPLAYS", 10_000, "recorded push batches sent again (raw HTTP)"),
    "sync-pairs": ("SYNC_PAIRS", 500, "concurrent edits of one record on two laptops"),
    "media-crash-trials": ("MEDIA_CRASH_TRIALS", 30, "SIGKILLs during media ingest"),
    "media-files": ("MEDIA_FILES", 120, "images in the folder the killed media ingest reads"),
    "hq-fuzz-examples": ("HQ_FUZZ_EXAMPLES", 100, "schemathesis examples per HQ operation and run"),
}

AREAS = {
    "crash": "test_crash_writes.py",
    "tamper": "test_tamper.py",
    "hostile": "test_hostile_inputs.py",
    "fuzz": "test_fuzz_parsers.py",
    "leak": "test_leaks.py",
    "lock": "test_lock.py",
    "sync": "test_sync_faults.py",
    "media": "test_media_faults.py",
    "regressions": "test_regressions.py",
    "hq-fuzz": "test_hq_schemathesis.py",
    "hq-access": "test_hq_access_matrix.py",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag, (_env, default, help_) in COUNTS.items():
        ap.add_argument(f"--{flag}", type=int, default=default, help=f"{help_} (default {default})")
    ap.add_argument("--only", nargs="+", choices=sorted(AREAS), help="run only these areas")
    ap.add_argument("--seed", type=int, default=0, help="seed of the crash test (0: random)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--pytest-args", default="", help="extra arguments for pytest (quoted)")
    return ap.parse_args(argv)


def run(args: argparse.Namespace) -> tuple[int, list[dict[str, Any]], float]:
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        figures = Path(tmp) / "figures.jsonl"
        env = {**os.environ, "WORKSTATION_LONG_TESTS": "1", "WORKSTATION_RELIABILITY_FIGURES": str(figures),
               "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
        for flag, (name, _default, _help) in COUNTS.items():
            env[f"WORKSTATION_REL_{name}"] = str(getattr(args, flag.replace("-", "_")))
        if args.seed:
            env["WORKSTATION_REL_SEED"] = str(args.seed)
        targets = [str(ROOT / "tests" / "reliability" / AREAS[a]) for a in (args.only or AREAS)]
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=3600",
               f"--basetemp={Path(tmp) / 'pytest'}", *targets, *args.pytest_args.split()]
        started = time.monotonic()
        code = subprocess.call(cmd, cwd=ROOT, env=env)
        elapsed = time.monotonic() - started
        rows = [json.loads(line) for line in figures.read_text(encoding="utf-8").splitlines()] \
            if figures.exists() else []
    return code, rows, elapsed


def _detail(detail: dict[str, Any], width: int = 70) -> str:
    skip = {"session", "qt_locations", "per_parser", "kinds", "tried", "missed"}
    parts = []
    for k, v in detail.items():
        if k in skip or isinstance(v, (dict, list)) and len(json.dumps(v)) > 80:
            continue
        parts.append(f"{k}: {v}")
    text = "; ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[dict[str, Any]], markdown: bool) -> str:
    head = ("Area", "Property checked", "Trials", "Failures", "How detected / notes")
    body = [(r["area"], r["measure"], f"{r['trials']:,}", str(r["failures"]), _detail(r.get("detail", {})))
            for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        return "\n".join(lines)
    widths = [14, 58, 8, 8, 60]
    out = []

    def fmt(cells: tuple[str, ...]) -> list[str]:
        wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cells, widths, strict=True)]
        height = max(len(w) for w in wrapped)
        return ["  ".join((w[i] if i < len(w) else "").ljust(width) for w, width in zip(wrapped, widths, strict=True))
                .rstrip() for i in range(height)]

    out += fmt(head)
    out.append("  ".join("-" * w for w in widths))
    for row in body:
        out += fmt(row)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    code, rows, elapsed = run(args)
    print()
    print(f"Reliability figures ({elapsed / 60:.1f} min, pytest exit {code})")
    print(table(rows, args.markdown))
    if rows:
        print()
        print("Details (JSON, one line per property):")
        for r in rows:
            print(json.dumps(r, ensure_ascii=False, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())
