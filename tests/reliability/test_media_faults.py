"""Media ingest killed at random moments (``workstation.media.service.ingest_media``).

Media ingest is resumable by design: rows commit in batches, a re-run skips what is in
the case. A child ingests a folder of generated images (batches of 5) and is SIGKILLed at
a random moment, several times. After every kill the database is sound (page check,
audit chain, file imports whole) and holds no file twice; a final run completes, and the
case then holds every file exactly once with the right SHA-256. A further run adds
nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.support import PASSPHRASE_A, ROOT, count, seed, store_problems

pytest.importorskip("workstation.media.service")

DRIVER = """
import json, os, sys
sys.path.insert(0, {root!r})
from workstation.store.database import Database
from workstation.domain.service import Workstation
from workstation.media.service import ingest_media
cfg = json.loads(open(sys.argv[1]).read())
db = Database.open(cfg["db"], cfg["passphrase"])
ws = Workstation(db)
case = next((c.id for c in ws.list_cases(with_counts=False) if c.number == "MEDIA-CRASH"), None)
if case is None:
    case = ws.create_case("MEDIA-CRASH", "Media ingest under SIGKILL").ids[0]
fd = os.open(cfg["journal"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
os.write(fd, b'{{"op": "ready"}}\\n')
res = ingest_media(ws, case, cfg["folder"], workers=1, batch_rows=5)
os.write(fd, (json.dumps({{"op": "done", "added": res.added, "skipped": res.skipped}}) + "\\n").encode())
db.lock()
"""


def _images(folder: Path, n: int, rng: random.Random) -> dict[str, str]:
    """``n`` noise images (some JPEGs with a capture time); returns path → SHA-256."""
    from PIL import Image

    folder.mkdir(parents=True)
    out = {}
    for i in range(n):
        w, h = rng.randint(64, 256), rng.randint(64, 256)
        img = Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3))
        buf = io.BytesIO()
        if i % 2:
            exif = Image.Exif()
            exif.get_ifd(0x8769)[0x9003] = f"2023:05:{1 + i % 28:02d} 10:{i % 60:02d}:00"
            img.save(buf, "JPEG", quality=85, exif=exif)
            path = folder / f"sub{i % 3}" / f"photo{i}.jpg"
        else:
            img.save(buf, "PNG")
            path = folder / f"sub{i % 3}" / f"scan{i}.png"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(buf.getvalue())
        out[str(path.resolve())] = hashlib.sha256(buf.getvalue()).hexdigest()
    return out


def _media_rows(db) -> list[tuple[str, str]]:  # noqa: ANN001
    with db.read() as conn:
        return [(r[0], r[1]) for r in conn.exec_driver_sql(
            "SELECT m.path, m.sha256 FROM media m JOIN \"case\" c ON c.id = m.case_id "
            "WHERE c.number = 'MEDIA-CRASH' AND m.deleted = 0")]


@pytest.mark.slow
def test_media_ingest_killed_at_random_moments_resumes_to_exactly_once(template_db: Path, tmp_path: Path,
                                                                       figures) -> None:  # noqa: ANN001
    from workstation.store.database import Database

    used = seed(3001)
    rng = random.Random(used)
    files = _images(tmp_path / "seized", count("media_files", 40, 120), rng)
    db_path = tmp_path / "media.db"
    shutil.copy2(template_db, db_path)
    journal = tmp_path / "journal.jsonl"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"db": str(db_path), "passphrase": PASSPHRASE_A, "journal": str(journal),
                               "folder": str(tmp_path / "seized")}), encoding="utf-8")
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(root=str(ROOT)), encoding="utf-8")
    trials = count("media_crash_trials", 2, 30)
    problems: list[str] = []
    after_kill: list[int] = []
    rounds = 0
    durations: list[float] = []
    for trial in range(trials):
        journal.write_text("", encoding="utf-8")
        proc = subprocess.Popen([sys.executable, str(script), str(cfg)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and b"ready" not in journal.read_bytes():
            time.sleep(0.02)
        ready_at = time.monotonic()
        # Aim inside the ingest: once a whole run has been timed, kill within 90 % of it.
        kill_at = ready_at + rng.uniform(0.0, 0.9 * min(durations) if durations else 1.0)
        while proc.poll() is None and time.monotonic() < kill_at:
            time.sleep(0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        else:
            durations.append(time.monotonic() - ready_at)
        try:
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode not in (0, -signal.SIGKILL):
            problems.append(f"kill {trial}: the ingest failed on its own: {err.decode(errors='replace')[-600:]}")
        db = Database.open(db_path, PASSPHRASE_A)
        try:
            problems += [f"kill {trial}: {p}" for p in store_problems(db).problems]
            rows = _media_rows(db)
        finally:
            db.lock()
        paths = [p for p, _ in rows]
        if len(paths) != len(set(paths)):
            problems.append(f"kill {trial}: a file is in the case twice")
        after_kill.append(len(rows))
        if b'"done"' in journal.read_bytes():
            # This round finished before the kill: check it, then start a fresh database
            # so later kills land in the middle of writing again.
            if {str(Path(p).resolve()): h for p, h in rows} != files:
                problems.append(f"round ending at kill {trial}: the completed ingest does not hold every file once")
            rounds += 1
            for suffix in ("", "-wal", "-shm"):
                Path(str(db_path) + suffix).unlink(missing_ok=True)
            shutil.copy2(template_db, db_path)
    # Finish in this process: the re-run resumes and completes.
    from workstation.domain.service import Workstation
    from workstation.media.service import ingest_media

    db = Database.open(db_path, PASSPHRASE_A)
    try:
        ws = Workstation(db)
        cases = [c.id for c in ws.list_cases(with_counts=False) if c.number == "MEDIA-CRASH"]
        case_id = cases[0] if cases else ws.create_case("MEDIA-CRASH", "Media ingest under SIGKILL").ids[0]
        ingest_media(ws, case_id, tmp_path / "seized", workers=1, batch_rows=5)
        final = dict(_media_rows(db))
        again = ingest_media(ws, case_id, tmp_path / "seized", workers=1, batch_rows=5)
        problems += store_problems(db).problems
    finally:
        db.lock()
    if {str(Path(p).resolve()): h for p, h in final.items()} != files:
        problems.append(f"after resuming the case holds {len(final)} files, expected exactly the {len(files)} "
                        "seized files with their SHA-256")
    if again.added:
        problems.append(f"a run over a complete case added {again.added} files")
    figures.record("media", "media ingest SIGKILLed at random moments → sound DB, no file twice; resumed run: "
                   "every file exactly once", len(after_kill), len(problems),
                   {"files": len(files), "media_rows_after_each_kill": after_kill, "completed_rounds": rounds,
                    "seed": used})
    assert not problems, (f"seed {used}", problems[:5])
