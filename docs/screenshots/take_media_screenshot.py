"""Screenshot of the media review grid (docs/screenshots/media-review.png).

Usage (offscreen is fine; under Xvfb fonts match a desktop more closely):
    .venv/bin/python docs/screenshots/take_media_screenshot.py [--out docs/screenshots/media-review.png]

Builds a throw-away encrypted database with the demo dataset, ingests a folder of the
demo's generated pattern pictures (with near-duplicates and exact copies, so stacks show),
categorises a few stacks, imports a small alert list, and grabs the review grid with one
tile revealed (as while the mouse is held on it).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "media-review.png"))
    p.add_argument("--size", default="1280x820")
    args = p.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp(prefix="shot-"))
    from PySide6.QtWidgets import QApplication

    from workstation.demo import _image, build_demo
    from workstation.domain.service import Workstation
    from workstation.media import service as media
    from workstation.store.database import Database
    from ui.media import MediaReviewWidget
    from ui.media.protect import decode_clear
    from ui.session import Session
    from ui.theme import apply_theme

    app = QApplication.instance() or QApplication([])
    apply_theme(app, "light")
    work = Path(tempfile.mkdtemp(prefix="media-shot-"))
    ws = Workstation(Database.create(work / "demo.cwdb", "screenshot passphrase"))
    build_demo(ws, cases=3, events=600)
    case = ws.list_cases()[0]
    src = work / "seized" / "DCIM"
    src.mkdir(parents=True)
    rnd = random.Random(5)
    for i in range(22):
        (src / f"IMG_{2000 + i}.png").write_bytes(_image(rnd, variant=9000 + i))
    for i in (3, 8):
        (src / f"IMG_{2000 + i}_edit.png").write_bytes(_image(rnd, near_of=9000 + i))
    (src / "IMG_2005 (1).png").write_bytes((src / "IMG_2005.png").read_bytes())
    (src / "VID_0001.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + os.urandom(20000))
    media.ingest_media(ws, case.id, src, workers=2)
    media.restack(ws, case.id)
    by_name = {m.name: m for m in media.list_media(ws, case.id, limit=None)}
    media.categorise(ws, [by_name["IMG_2003.png"].id], "2")
    media.categorise(ws, [by_name["IMG_2011.png"].id], "4")
    media.categorise(ws, [by_name["IMG_2005.png"].id], "1")
    watch = work / "watch.md5"
    watch.write_text(hashlib.md5((src / "IMG_2014.png").read_bytes()).hexdigest() + "  IMG_2014.png\n")
    media.import_hashset(ws, watch, kind="alert", name="Regional watch list")

    session = Session()
    session.attach(ws, work / "demo.cwdb")
    widget = MediaReviewWidget(session)
    w, h = (int(v) for v in args.size.split("x"))
    widget.resize(w, h)
    widget.show()
    session.hub.select_case(case.id)

    def pump(cond, seconds: float = 30.0) -> None:  # noqa: ANN001
        end = time.time() + seconds
        while time.time() < end and not cond():
            app.processEvents()
            time.sleep(0.01)

    pump(lambda: widget.model.total() > 0 and widget.scheme is not None)
    ids = [widget.model.id_at(r) for r in range(widget.model.rowCount())]
    pump(lambda: all(widget.model.info(r) is not None for r in range(len(ids)))
         and all(widget.model.has_thumbnail(i) or widget.model.info(r).is_video  # type: ignore[union-attr]
                 for r, i in enumerate(ids)))
    # One tile revealed, as while the officer holds the mouse on it (audited like a real reveal).
    shown = by_name["IMG_2007.png"].id
    media.record_reveal(ws, shown)
    widget.revealed_id = shown
    widget.revealed_image = decode_clear(media.get_thumbnail(ws, shown))
    widget.exposure.start()
    widget.view.setCurrentIndex(widget.model.index(widget.model.row_of(shown)))
    for _ in range(30):
        app.processEvents()
        time.sleep(0.02)
    widget.exposure_label.setText(widget.exposure.text())
    widget.grab().save(args.out)
    print(args.out)
    session.runner.shutdown(5000)
    session.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
