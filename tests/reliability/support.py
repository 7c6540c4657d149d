"""Shared pieces of the reliability tests: trial counts, the figures log, generated inputs
and the store consistency check run after every simulated crash.

Counts. Each test asks ``count(NAME, short, long)``. The normal suite gets ``short``;
``WORKSTATION_LONG_TESTS=1`` switches every test to ``long``; ``WORKSTATION_REL_<NAME>``
sets one count exactly (``scripts/reliability.py`` passes its flags that way).

Figures. ``FigureLog.record`` appends one JSON line per measured property to the file named
by ``WORKSTATION_RELIABILITY_FIGURES`` (when set), which ``scripts/reliability.py`` prints
as the reliability table. Tests record before asserting, so a failing run still reports
what it found.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("WORKSTATION_SHARED_DATA", ROOT.parent / "shared" / "data"))
LONG = os.environ.get("WORKSTATION_LONG_TESTS", "") not in ("", "0")
FIGURES_ENV = "WORKSTATION_RELIABILITY_FIGURES"

PASSPHRASE_A = "correct horse battery staple"  # the suite's template database passphrase
PASSPHRASE_B = "Tr0ub4dor & 3 — rekeyed ✓"


def count(name: str, short: int, long: int) -> int:
    """How many trials to run for ``name`` (see the module doc)."""
    override = os.environ.get(f"WORKSTATION_REL_{name.upper()}")
    if override:
        return max(1, int(override))
    return long if LONG else short


def seed(fixed: int) -> int:
    """The random seed of one randomised test.

    ``WORKSTATION_REL_SEED`` replays a run. The long run (``WORKSTATION_LONG_TESTS=1``,
    ``scripts/reliability.py``) draws a fresh seed each time, to explore; the normal suite,
    as CI runs it, uses ``fixed``, so its outcome never depends on the luck of a draw (a
    failure there is a real finding, replayable with the same seed). Tests record the seed
    they used in their figures or failure messages.
    """
    override = os.environ.get("WORKSTATION_REL_SEED")
    if override:
        return int(override)
    return random.randrange(1, 1 << 30) if LONG else fixed


@dataclass
class Figure:
    """One row of the reliability table."""

    area: str
    measure: str
    trials: int
    failures: int
    detail: Mapping[str, Any] = field(default_factory=dict)


class FigureLog:
    """Collects figures; writes them to ``$WORKSTATION_RELIABILITY_FIGURES`` when set."""

    def __init__(self) -> None:
        self.rows: list[Figure] = []

    def record(self, area: str, measure: str, trials: int, failures: int,
               detail: Mapping[str, Any] | None = None) -> Figure:
        fig = Figure(area, measure, trials, failures, dict(detail or {}))
        self.rows.append(fig)
        target = os.environ.get(FIGURES_ENV)
        if target:
            with open(target, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(fig.__dict__, default=str, ensure_ascii=False) + "\n")
        return fig


# ---------------------------------------------------------------------- generated inputs
MERCHANTS = ("Acme Store", "Corner Shop", "Online Games Ltd", "Gift Cards Direct", "Cloud Hosting Co",
             "Prepaid Top-Up", "Crypto Exchange Desk", "Late Night Taxi")
TEST_CARDS = ("4111111111111111", "5555555555554444", "4012888888881881", "378282246310005")
HOLDERS = ("Alex Example", "Sam Sample", "Jo Placeholder", "Chris Testcase")


def write_bank_csv(path: Path, rows: int, seed: int) -> Path:
    """A card statement CSV of ``rows`` transactions (synthetic; test-range cards)."""
    rng = random.Random(seed)
    start = datetime(2023, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Date", "Time", "Description", "Merchant", "Amount", "Currency", "Card Number",
                    "Cardholder", "Reference"])
        for i in range(rows):
            when = start + timedelta(minutes=rng.randrange(0, 525_600))
            card = rng.randrange(len(TEST_CARDS))
            w.writerow([when.strftime("%Y-%m-%d"), when.strftime("%H:%M"),
                        f"POS purchase {seed}-{i}", rng.choice(MERCHANTS),
                        f"-{rng.randint(100, 99_999) / 100:.2f}", "USD", TEST_CARDS[card], HOLDERS[card],
                        f"REF{seed:05d}{i:06d}"])
    return path


def whatsapp_export(path: Path, canaries: Iterable[str], *, seed: int = 0) -> Path:
    """A WhatsApp (Android, 24-hour) export whose messages carry ``canaries``."""
    rng = random.Random(seed)
    people = ("Alex Example", "+1 202-555-0142", "Sam Sample")
    t = datetime(2023, 3, 14, 9, 0)
    lines = [f"{t:%d/%m/%Y}, {t:%H:%M} - Messages and calls are end-to-end encrypted. "
             "No one outside of this chat, not even WhatsApp, can read or listen to them."]
    for canary in canaries:
        t += timedelta(minutes=rng.randint(1, 90))
        lines.append(f"{t:%d/%m/%Y}, {t:%H:%M} - {rng.choice(people)}: meet at the usual place {canary} ok")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------- consistency
@dataclass
class StoreReport:
    """What :func:`store_problems` found in one open database."""

    problems: list[str]
    sources: int
    audit_entries: int


def store_problems(db: Any) -> StoreReport:
    """Everything that must hold in a database after any crash, as a list of problems.

    * SQLCipher page HMACs and SQLite structure (``Database.integrity_check``);
    * the audit chain verifies;
    * every file import is whole: each source row of a file importer has its summary, and
      the events, entities and links pointing at it are exactly as many as the summary
      says (media ingest is resumable by design, batch by batch: not checked here);
    * no row points at a source that does not exist (an interrupted import left nothing);
    * every file-import source has its ``import`` audit entry and every ``import`` entry
      its source;
    * no bulk writer left the full-text triggers suspended.
    """
    from sqlalchemy import func, select

    from workstation.audit.trail import AuditTrail
    from workstation.ingest.formats import all_parsers
    from workstation.store import schema as s

    file_importers = {p.name for p in all_parsers()}

    problems = list(db.integrity_check())
    ver = AuditTrail(db).verify()
    if not ver.ok:
        problems.append(f"audit: {ver.message} (first bad seq {ver.first_bad_seq})")
    with db.read() as conn:
        every = conn.execute(select(s.source.c.id, s.source.c.summary, s.source.c.importer)).fetchall()
        known = {r.id for r in every}
        sources = [(r.id, r.summary) for r in every if r.importer in file_importers]
        file_sources = {sid for sid, _ in sources}
        per_table: dict[str, dict[int, int]] = {}
        for name, table in (("events", s.event), ("entities", s.entity), ("links", s.link)):
            per_table[name] = dict(conn.execute(
                select(table.c.source_id, func.count()).where(table.c.source_id.is_not(None))
                .group_by(table.c.source_id)).fetchall())
            orphans = set(per_table[name]) - known
            if orphans:
                problems.append(f"{name} rows point at missing source(s) {sorted(orphans)[:5]}")
        for sid, summary in sources:
            if summary is None:
                problems.append(f"source {sid} has no summary (import not finished)")
                continue
            summ = summary if isinstance(summary, dict) else json.loads(summary)
            for name in ("events", "entities", "links"):
                have = per_table[name].get(sid, 0)
                if have != int(summ.get(name, 0)):
                    problems.append(f"source {sid}: {have} {name} rows, summary says {summ.get(name)}")
        audited = {int(r[0]) for r in conn.execute(
            select(s.audit.c.target_id).where(s.audit.c.action == "import", s.audit.c.target_type == "source"))}
        if audited != file_sources:
            problems.append(f"import audit entries {sorted(audited ^ file_sources)[:5]} do not match the sources")
        stuck = conn.exec_driver_sql("SELECT count(*) FROM fts_defer").scalar()
        if stuck:
            problems.append("the full-text triggers were left suspended")
    return StoreReport(problems, len(sources), ver.entries)


def table_counts(db: Any) -> dict[str, int]:
    """Row counts of every data table (tombstones included) plus the audit length."""
    from sqlalchemy import func, select

    from workstation.store import schema as s

    out: dict[str, int] = {}
    with db.read() as conn:
        for table in (s.source, s.case, s.entity, s.event, s.event_party, s.link, s.note, s.media, s.audit):
            out[table.name] = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        out["audit_head"] = hash(db.meta_get(conn, "audit_head"))
    return out
