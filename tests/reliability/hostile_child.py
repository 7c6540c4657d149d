"""Child process of the hostile-input test: imports each hostile file and reports.

Run as ``python tests/reliability/hostile_child.py CONFIG.json``. For every case it
records, as one JSON line in the output file (written as it goes, so a crash names the
file that caused it): the outcome (imported, a typed error, or an untyped exception with
its traceback), the peak resident memory growth while importing it (VmHWM is reset before
each file), the time taken, whether the database changed after a refused import (table
counts and audit head), and whether forbidden bytes (an XXE canary) reached the database.
"""

from __future__ import annotations

import json
import re
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.reliability.support import table_counts  # noqa: E402
from workstation.domain.service import Workstation  # noqa: E402
from workstation.errors import WorkstationError  # noqa: E402
from workstation.ingest.pipeline import preview, run_import  # noqa: E402
from workstation.store.database import Database  # noqa: E402


class Timeout(Exception):
    pass


class _Done(Exception):
    """The case was handled by a non-file-import path (media ingest)."""


def _ingest(ws: Workstation, case_id: int, case: dict[str, Any], row: dict[str, Any]) -> None:
    """Media ingest of one hostile image (or a zip of them), in this process (workers=1)."""
    from workstation.media.service import ingest_media

    res = ingest_media(ws, case_id, case["path"], workers=1)
    row["outcome"] = "ingested"
    row["media"] = {"total": res.total, "added": res.added, "failures": len(res.failures),
                    "problems": len(res.problems),
                    "why": [f"{p.reason}: {p.message}"[:160] for p in (*res.failures, *res.problems)][:6]}
    row["refused"] = len(res.failures) + len(res.problems) > 0


class PreviewCrash(Exception):
    """An untyped exception escaped ``preview`` (the import wizard's first step)."""


def _status(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    m = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) if m else 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _alarm(_sig: int, _frame: Any) -> None:
    raise Timeout("took too long")


def _stored_text(db: Database, source_id: int) -> bytes:
    with db.read() as conn:
        parts = []
        for sql in ("SELECT coalesce(title,'') || ' ' || coalesce(body,'') || ' ' || coalesce(properties,'') "
                    "FROM event WHERE source_id = ?",
                    "SELECT coalesce(label,'') || ' ' || coalesce(properties,'') FROM entity WHERE source_id = ?"):
            parts.extend(str(r[0]) for r in conn.exec_driver_sql(sql, (source_id,)))
    return "\n".join(parts).encode("utf-8", "surrogatepass")


def main(config_path: str) -> int:
    cfg = json.loads(Path(config_path).read_text(encoding="utf-8"))
    cap_bytes = int(cfg.get("address_space_cap", 6 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))  # a backstop against a runaway bomb
    db = Database.open(cfg["db"], cfg["passphrase"])
    ws = Workstation(db)
    case_id = ws.create_case("HOSTILE", "Hostile inputs").ids[0]
    signal.signal(signal.SIGALRM, _alarm)
    out = open(cfg["out"], "a", encoding="utf-8")  # noqa: SIM115 - lines flushed one by one
    for case in cfg["cases"]:
        before = table_counts(db)
        can_reset = _reset_peak()
        base = _status("VmRSS")
        t0 = time.monotonic()
        row: dict[str, Any] = {"path": case["path"], "fmt": case["fmt"], "kind": case["kind"]}
        signal.alarm(int(cfg.get("per_file_timeout", 300)))
        try:
            if case["fmt"] == "media":
                _ingest(ws, case_id, case, row)
                raise _Done
            try:  # what the import wizard shows first
                preview(case["path"], fmt=case["fmt"] or "auto")
            except WorkstationError:
                pass
            except Timeout:
                raise
            except BaseException as exc:
                raise PreviewCrash(exc) from exc
            res = run_import(ws, case_id, case["path"], fmt=case["fmt"] or "auto")
            row["outcome"] = "imported"
            row["events"] = res.events
            row["source_id"] = res.source_id if res.duplicate_of is None else res.duplicate_of
        except _Done:
            pass
        except WorkstationError as exc:
            row["outcome"] = f"typed: {type(exc).__name__}"
            row["message"] = str(exc)[:300]
        except Timeout:
            row["outcome"] = "TIMEOUT"
        except BaseException as exc:  # the finding this test exists for
            if isinstance(exc, PreviewCrash):
                exc = exc.__cause__ or exc
                row["outcome"] = f"UNTYPED in preview: {type(exc).__name__}"
            else:
                row["outcome"] = f"UNTYPED: {type(exc).__name__}"
            row["message"] = str(exc)[:300]
            row["traceback"] = "".join(traceback.format_exception(exc))[-3000:]
        finally:
            signal.alarm(0)
        row["seconds"] = round(time.monotonic() - t0, 2)
        row["peak_growth_mb"] = round(max(0, _status("VmHWM") - base) / 1024, 1) if can_reset else None
        after = table_counts(db)
        if case["fmt"] == "media":
            pass  # media ingest keeps what it read, by design (per-file failures are recorded)
        elif row["outcome"] != "imported":
            row["db_unchanged"] = after == before
        else:
            text = _stored_text(db, row["source_id"]) if row.get("source_id") else b""
            row["forbidden_found"] = [f for f in case.get("forbidden", []) if f.encode() in text]
            row["formulas_kept"] = [f for f in case.get("formulas", []) if f.encode() in text]
        out.write(json.dumps(row) + "\n")
        out.flush()
    out.close()
    db.lock()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
