"""Schema migrations (Alembic), run at open before anything else touches the data.

The file is copied aside first (it stays encrypted), all pending steps run in one
transaction on the keyed connection, and a database written by a newer app is refused.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from workstation.errors import DatabaseTooNew

if TYPE_CHECKING:
    from workstation.store.database import Database


def _config() -> Config:
    cfg = Config()
    location = Path(str(resources.files("workstation.store") / "migrations"))
    cfg.set_main_option("script_location", str(location))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(db: Database, *, backup: bool = True, target: str = "head") -> Path | None:
    """Bring ``db`` to ``target``. Returns the backup path when a copy was made.

    Raises DatabaseTooNew when the file carries a revision this code does not know.
    """
    cfg = _config()
    script = ScriptDirectory.from_config(cfg)
    current = current_revision(db)
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise DatabaseTooNew(
            f"{db.path}: the database was written by a newer version of Case Workstation "
            f"(schema {current}); update the app to open it")
    wanted = script.get_current_head() if target == "head" else target
    if current == wanted:
        return None
    saved = db.backup_copy(f"pre-{wanted}") if backup and current is not None else None
    with db.write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)
    return saved
