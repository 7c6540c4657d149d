"""Child process of the plaintext-leak test: one scripted working session.

Run as ``python tests/reliability/leak_session.py CONFIG.json`` with TMPDIR, HOME and the
XDG folders pointed at fresh folders by the parent. It creates a database, imports chat
exports and a statement carrying canary strings, ingests generated images (when the media
service exists), searches for the canaries, reads thumbnails back, writes one report as an
explicit export (into the exports folder, the only place plaintext may appear), re-keys,
VACUUMs and locks. Mid-session (database open, WAL live) it scans the data and temp folders
itself. It prints one JSON object: what it did, the mid-session findings, and the Qt
cache/data locations (computed with PySide6 here, in the test, never in workstation/).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.reliability.leaks import files_under, scan  # noqa: E402
from workstation.domain.service import Workstation  # noqa: E402
from workstation.ingest.pipeline import run_import  # noqa: E402
from workstation.store.database import Database  # noqa: E402


def qt_locations() -> dict[str, str]:
    """Where a Qt app named like ours would cache and keep data (same identity as the UI)."""
    from PySide6.QtCore import QCoreApplication, QStandardPaths

    app = QCoreApplication.instance() or QCoreApplication([])
    app.setOrganizationName("CaseWorkstation")
    app.setApplicationName("Case Workstation")
    out = {}
    for name in ("CacheLocation", "GenericCacheLocation", "AppDataLocation", "AppLocalDataLocation",
                 "AppConfigLocation", "TempLocation", "RuntimeLocation"):
        loc = getattr(QStandardPaths.StandardLocation, name)
        out[name] = QStandardPaths.writableLocation(loc)
    return out


def main(config_path: str) -> int:
    cfg = json.loads(Path(config_path).read_text(encoding="utf-8"))
    data_dir = Path(cfg["data_dir"])
    exports = Path(cfg["exports"])
    canaries: list[str] = cfg["canaries"]
    done: dict[str, Any] = {}
    db = Database.create(data_dir / "case.db", cfg["passphrase"])
    ws = Workstation(db)
    case_id = ws.create_case("LEAK-1", "Leak scan").ids[0]
    for path in cfg["imports"]:
        res = run_import(ws, case_id, path)
        done.setdefault("imported", []).append([Path(path).name, res.events])
    try:
        from workstation.media.service import get_thumbnails, ingest_media, media_ids

        res = ingest_media(ws, case_id, cfg["media_dir"], workers=1)
        ids = media_ids(ws, case_id)
        thumbs = get_thumbnails(ws, ids)
        done["media"] = {"added": res.added, "failures": len(res.failures), "thumbnails": len(thumbs)}
    except ImportError as exc:
        done["media"] = f"absent ({exc})"
    try:
        from workstation.analysis.search import search

        hits = sum(len(search(ws, c, case_id=case_id).hits) for c in canaries[:5])
        done["search_hits"] = hits
    except ImportError as exc:
        done["search_hits"] = f"absent ({exc})"
    mid_roots = [data_dir, Path(cfg["tmpdir"])]
    mid = scan(mid_roots, canaries, cfg.get("image_chunks_hex", []))
    done["mid_session_files"] = files_under(mid_roots)
    db.change_passphrase(cfg["passphrase"] + " (rekeyed)")
    try:
        from workstation.reports.report import build_report

        info = build_report(ws, case_id, exports / "report.pdf", fmt="pdf")
        done["report"] = {"path": str(info.path), "bytes": info.size}
    except ImportError as exc:
        done["report"] = f"absent ({exc})"
    raw = db.engine.raw_connection()  # VACUUM runs outside a transaction (no public API for it)
    try:
        raw.driver_connection.execute("VACUUM")
    finally:
        raw.close()
    db.checkpoint()
    with db.read() as conn:
        audit_exports = [r[0] for r in conn.exec_driver_sql(
            "SELECT action FROM audit WHERE target_type = 'export' ORDER BY seq")]
    done["audited_exports"] = audit_exports
    db.lock()
    print(json.dumps({"done": done, "mid_session": [f.__dict__ for f in mid], "qt": qt_locations()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
