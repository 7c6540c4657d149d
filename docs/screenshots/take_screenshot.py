"""Screenshot of the main window for the README (docs/screenshots/main-window.png).

Usage (real X server under Xvfb, so fonts and styles render as on a desktop):
    workstation --db demo.cwdb --passphrase-file pass.txt demo
    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/take_screenshot.py \
        --db demo.cwdb --passphrase-file pass.txt [--theme dark] [--out docs/screenshots/main-window.png]

Opens the app through the normal unlock path, picks the demo case with the most entities
(or ``--case NUMBER``), selects its best-connected person (or the entity whose label or key
contains ``--select TEXT``) so details, links and the highlighted events show, and grabs the
window.

More of the window:
    --tab timeline[,linkchart,media]   open central views (the last one stays in front)
    --search "QUERY"                   show the search panel with the hits of QUERY
    --dock connections                 bring a tabbed dock (connections, notes) to the front
    --grab search|connections          save only that panel instead of the whole window

The README shots:
    … take_screenshot.py … --tab linkchart,timeline --search "transfer" --dock connections
    … take_screenshot.py … --case DEMO-2024-001 --search '"gift card" OR 555-0143' \
        --grab search --out docs/screenshots/search.png
    … take_screenshot.py … --case DEMO-2024-001 --select 555-0143 --dock connections \
        --grab connections --out docs/screenshots/connections.png
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--passphrase-file", required=True)
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "main-window.png"))
    p.add_argument("--theme", default="light", choices=("light", "dark"))
    p.add_argument("--size", default="1600x1000")
    p.add_argument("--case", help="case number to show (default: the one with the most entities)")
    p.add_argument("--select", help="select the entity whose label or key contains this text")
    p.add_argument("--tab", default="", help="central views to open, comma-separated: timeline,linkchart,media")
    p.add_argument("--search", help="run this query in the search panel")
    p.add_argument("--dock", help="bring this tabbed dock to the front (connections, notes)")
    p.add_argument("--grab", default="window", choices=("window", "search", "connections"))
    args = p.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp(prefix="shot-"))
    from dataclasses import replace

    from workstation.cli import _read_passphrase_file
    from ui.app import AppController, ensure_application
    from ui.theme import apply_theme

    app = ensure_application()
    apply_theme(app, args.theme)
    ctl = AppController(app, argparse.Namespace(db=args.db, passphrase_file=None, passphrase_stdin=False))

    def pump(cond=lambda: False, seconds: float = 30.0) -> None:  # noqa: ANN001
        end = time.time() + seconds
        while time.time() < end and not cond():
            app.processEvents()
            time.sleep(0.01)

    ctl.start(_read_passphrase_file(args.passphrase_file))
    pump(lambda: ctl.window is not None and not ctl.session.is_locked)
    window = ctl.window
    assert window is not None
    settings = ctl.session.settings
    if settings.theme != args.theme or settings.display_timezone == "UTC":
        ctl.session.save_settings(replace(settings, theme=args.theme, display_timezone="America/Toronto"))
        pump(seconds=0.5)
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.move(0, 0)
    pump(lambda: window.case_navigator.model.rowCount() > 0)
    cases = [c for c in window.case_navigator.model.items if c.event_count < 5000] or window.case_navigator.model.items
    if args.case:
        case = next(c for c in window.case_navigator.model.items if c.number == args.case)
    else:
        case = max(cases, key=lambda c: (c.entity_count, c.event_count))
    window.case_navigator.select_case_later(case.id)
    pump(lambda: window.event_table.model.query.case_id == case.id and window.event_table.model.total() > 0
         and window.entity_table.model.total() > 0)
    ws = ctl.session.ws
    if args.select:
        needle = args.select.casefold()
        found = [e for e in ws.list_entities(case.id)
                 if needle in e.label.casefold() or needle in (e.key or "").casefold()]
        best = found[0] if found else None
    else:
        people = [e for e in ws.list_entities(case.id, kind="person")]
        best = max(people, key=lambda e: ws.count_events(case.id, entity_id=e.id)) if people else None
    if best is not None:
        ctl.session.hub.select_entities([best.id])
        window.entity_table.select_ids([best.id])
    for name in [t.strip() for t in args.tab.split(",") if t.strip()]:
        view = window.open_view(name)
        if name == "linkchart" and view is not None:
            shown: list[bool] = []
            view.chartShown.connect(lambda: shown.append(True))
            view.build_from_case()
            pump(lambda: bool(shown))
        pump(seconds=1.5)
    if args.search:
        window.focus_search()
        panel = window.search_panel
        answers: list[int] = []
        panel.searched.connect(answers.append)
        panel.set_query(args.search)
        pump(lambda: bool(answers))
        if panel.model.rowCount():
            panel.view.setCurrentIndex(panel.model.index(0, 0))
    if args.dock:
        window.docks[args.dock].show()
        window.docks[args.dock].raise_()
        if args.dock == "connections":
            pump(lambda: window.connections.title_label.text().startswith("Connections of"))
            pump(lambda: not window.connections.occurrences_label.text().endswith("looking…"), seconds=5)
    pump(seconds=1.5)
    window.view_tabs.setFocus()
    pump(seconds=0.3)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    target = {"window": window, "search": window.docks["search"],
              "connections": window.docks["connections"]}[args.grab]
    if not target.grab().save(str(out)):
        print(f"could not write {out}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({width}x{height}, {args.theme} theme, case {case.number})")
    window.close()
    pump(seconds=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
