"""No plaintext on disk: a scripted session, then a scan of every place it could have
written to.

The session (``leak_session.py``, a child process with TMPDIR, HOME and the XDG folders
pointed at fresh folders) imports a WhatsApp export, a card statement and an e-mail that
carry unique canary strings, ingests generated PNG/JPEG images (canaries in their text
chunks and EXIF), searches, reads thumbnails, writes a report as an explicit export,
VACUUMs and locks. Then the data folder, the temp folder, the fresh HOME (Qt's cache and
data locations live there) and any other Qt location the child reports are scanned for
the canaries (UTF-8 and UTF-16), image signatures and slices of the session's images.
Only the exports folder may hold plaintext. The scanner is shown to work on the inputs.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.leaks import files_under, scan
from tests.reliability.support import PASSPHRASE_A, count, seed, whatsapp_export

SESSION = Path(__file__).with_name("leak_session.py")


def _images(folder: Path, canaries: list[str], rng: random.Random) -> list[str]:
    """Noise images carrying canaries in metadata; returns 64-byte slices of their data."""
    from PIL import Image, PngImagePlugin

    folder.mkdir(parents=True, exist_ok=True)
    chunks = []
    for i, canary in enumerate(canaries):
        w, h = rng.randint(96, 320), rng.randint(96, 320)
        img = Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3))
        buf = io.BytesIO()
        if i % 2:
            info = PngImagePlugin.PngInfo()
            info.add_text("Description", canary)
            img.save(buf, "PNG", pnginfo=info)
            path = folder / f"img{i}.png"
        else:
            exif = Image.Exif()
            exif[0x010E] = canary  # ImageDescription
            img.save(buf, "JPEG", quality=90, exif=exif)
            path = folder / f"img{i}.jpg"
        data = buf.getvalue()
        path.write_bytes(data)
        mid = len(data) // 2
        chunks.append(data[mid:mid + 64].hex())
    return chunks


def _statement(path: Path, canaries: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Date", "Description", "Amount", "Card Number"])
        for i, c in enumerate(canaries):
            w.writerow([f"2024-02-{i + 1:02d}", f"Voucher {c}", "-25.00", "4111111111111111"])
    return path


def _mail(path: Path, canary: str) -> Path:
    path.write_text("From: alex@example.org\nTo: sam@example.org\nSubject: plans\n"
                    "Date: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <leak-1@example.org>\n\n"
                    f"see you at {canary} tomorrow\n", encoding="utf-8")
    return path


def run_session(base: Path, rng: random.Random) -> dict[str, Any]:
    """One scripted session in a child; returns what it did and every finding."""
    canaries = [f"CANARY{rng.getrandbits(56):014X}" for _ in range(14)]
    dirs = {name: base / name for name in ("data", "tmp", "home", "inputs", "media", "exports", "runtime")}
    for d in dirs.values():
        d.mkdir(mode=0o700, parents=True)
    imports = [str(whatsapp_export(dirs["inputs"] / "WhatsApp Chat with Alex.txt", canaries[:6])),
               str(_statement(dirs["inputs"] / "statement.csv", canaries[6:9])),
               str(_mail(dirs["inputs"] / "plans.eml", canaries[9]))]
    chunks = _images(dirs["media"], canaries[10:14], rng)
    cfg = {"data_dir": str(dirs["data"]), "exports": str(dirs["exports"]), "tmpdir": str(dirs["tmp"]),
           "passphrase": PASSPHRASE_A, "canaries": canaries, "imports": imports,
           "media_dir": str(dirs["media"]), "image_chunks_hex": chunks}
    (base / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    home = dirs["home"]
    env = {**os.environ, "TMPDIR": str(dirs["tmp"]), "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_RUNTIME_DIR": str(dirs["runtime"]), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, str(SESSION), str(base / "config.json")], env=env,
                          capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    roots = [dirs["data"], dirs["tmp"], home, dirs["runtime"]]
    for loc in out["qt"].values():
        if loc and not any(Path(loc).resolve().is_relative_to(r.resolve()) for r in roots):
            roots.append(Path(loc))
    out.update(dirs=dirs, canaries=canaries, chunks=chunks, roots=roots,
               findings=scan(roots, canaries, chunks, exclude=[dirs["exports"]]), scanned=files_under(roots))
    return out


@pytest.mark.slow
def test_a_working_session_leaves_no_plaintext_outside_exports(tmp_path: Path, figures) -> None:  # noqa: ANN001
    used = seed(6001)
    rng = random.Random(used)
    sessions = count("leak_sessions", 1, 3)
    runs = [run_session(tmp_path / f"s{i}", rng) for i in range(sessions)]
    checked = sum(len(r["scanned"]) + len(r["done"]["mid_session_files"]) for r in runs)
    found = [f for r in runs for f in r["findings"]] + [f for r in runs for f in r["mid_session"]]
    figures.record("plaintext leak", "scripted session (chat/CSV/mail import, media, search, thumbnails, report, "
                   "rekey, VACUUM, lock) → files holding canaries or image data outside exports",
                   checked, len(found), {"sessions": sessions, "canaries_per_session": len(runs[0]["canaries"]),
                                         "images_per_session": len(runs[0]["chunks"]),
                                         "session": runs[0]["done"], "qt_locations": runs[0]["qt"],
                                         "seed": used})
    for out in runs:
        dirs = out["dirs"]
        canaries, chunks = out["canaries"], out["chunks"]
        assert not out["mid_session"], f"plaintext while the database was open: {out['mid_session'][:10]}"
        assert not out["findings"], (f"plaintext on disk: {[f.__dict__ for f in out['findings'][:10]]}\n"
                                     f"files: {out['scanned'][:40]}")
        db_bytes = (dirs["data"] / "case.db").read_bytes()
        assert not any(c.encode() in db_bytes for c in canaries), "the database file holds a canary in plaintext"
        # The session really handled the canaries, and the scanner would have seen them.
        hits = out["done"]["search_hits"]
        assert not isinstance(hits, int) or hits >= 5, f"search found {hits} of the canaries"
        assert len(scan([dirs["inputs"], dirs["media"]], canaries, chunks)) >= len(canaries)
        report = out["done"].get("report")
        if isinstance(report, dict):
            assert Path(report["path"]).parent == dirs["exports"]
            assert "report.pdf" in out["done"]["audited_exports"], "the explicit export must be audited"
        media = out["done"].get("media")
        if isinstance(media, dict):
            assert media["added"] == len(chunks) and media["thumbnails"] == len(chunks)
