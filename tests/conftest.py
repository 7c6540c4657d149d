"""Test configuration shared by the whole suite.

Qt runs offscreen; the external corpus lives in ``../shared/data`` beside the checkout
(override with WORKSTATION_SHARED_DATA).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Property tests draw the same examples on every run (derived from each test's source), so a
# red CI run is a finding to replay, never bad luck; nothing is read from or saved to the
# local example database, so one checkout's earlier failures do not change another's run.
# The long reliability run (WORKSTATION_LONG_TESTS=1) explores with fresh draws instead;
# HYPOTHESIS_PROFILE picks a profile by name.
settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or (
    "explore" if os.environ.get("WORKSTATION_LONG_TESTS", "") not in ("", "0") else "deterministic"))

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("WORKSTATION_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only external corpus (chat exports, statements, PDQ images, EXIF photos)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"external test corpus not found at {SHARED_DATA}")
    return SHARED_DATA


PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One freshly created encrypted database per session; tests get copies (key derivation
    and migrations are paid once)."""
    from workstation.store.database import Database

    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database.create(path, PASSPHRASE)
    db.checkpoint()
    db.lock()
    return path


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "case.db"
    shutil.copy2(template_db, target)
    return target


@pytest.fixture
def db(db_path: Path):
    from workstation.store.database import Database

    database = Database.open(db_path, PASSPHRASE)
    yield database
    database.lock()


@pytest.fixture
def ws(db):
    from workstation.domain.service import Workstation

    return Workstation(db)


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    p = tmp_path / "pass.txt"
    p.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return p


@pytest.fixture
def small_filesystem(tmp_path: Path):
    """A real 2 MB file system of our own (tmpfs), to make read-only and full for real.
    Needs the right to mount (root, as in CI); elsewhere the test is skipped."""
    mnt = tmp_path / "fs"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a file system here")

    def remount(mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(mnt)], check=True)

    try:
        yield mnt, remount
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
