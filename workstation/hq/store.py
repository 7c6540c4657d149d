"""Opening HQ's database: engine, migrations at startup, HQ's own keys.

``open_store(url)`` accepts a SQLAlchemy URL: ``sqlite:///path/hq.db`` (the embedded
default, under the platform data directory) or ``postgresql+psycopg://user@host/db``
(production). Migrations run before anything else; a database written by a newer HQ is
refused. At first start HQ creates its instance id, its bundle keypairs (X25519 to receive,
Ed25519 to sign acknowledgements) and the HQ-wide fingerprint key devices use for
deconfliction.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from workstation.errors import DatabaseTooNew, StorageError, UsageError
from workstation.hq.models import Counter, Secret
from workstation.sync.crypto import new_box_key, new_sign_key, public_box, public_sign

DATA_DIR_NAME = "CaseWorkstationHQ"


def default_url() -> str:
    from platformdirs import user_data_dir

    path = Path(user_data_dir(DATA_DIR_NAME, appauthor=False)) / "hq.db"
    return f"sqlite:///{path}"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(str(resources.files("workstation.hq") / "migrations"))))
    return cfg


def _make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = FULL")
                cur.execute("PRAGMA foreign_keys = ON")
                cur.execute("PRAGMA busy_timeout = 30000")
                cur.close()

            return engine
        if url.startswith("postgresql"):
            return create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)
    except ArgumentError as exc:
        raise UsageError(f"HQ database URL {url!r}: {exc}") from None
    raise UsageError(f"HQ database URL {url!r}: use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")


class HQStore:
    """HQ's database handle: a session factory plus HQ's keys (read once at open).

    ``write_lock`` serialises writers inside one HQ process (SQLite allows one writer;
    on PostgreSQL the change-sequence counter row lock also orders writers across
    processes, so a device's cursor can never skip a change committed late).
    """

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.write_lock = threading.RLock()
        self.hq_id = ""
        self.box_key = ""
        self.sign_key = ""
        self.fp_key = ""
        self.ref_key = b""

    @property
    def box_pub(self) -> str:
        return public_box(self.box_key)

    @property
    def sign_pub(self) -> str:
        return public_sign(self.sign_key)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()

    def next_seqs(self, session: Session, n: int) -> int:
        """Reserve ``n`` change sequence numbers; returns the first. The counter row stays
        locked until the caller's transaction ends."""
        if self.dialect == "postgresql":
            row = session.execute(update(Counter).where(Counter.name == "seq").values(
                value=Counter.value + n).returning(Counter.value)).scalar_one()
            return int(row) - n + 1
        session.execute(update(Counter).where(Counter.name == "seq").values(value=Counter.value + n))
        return int(session.execute(select(Counter.value).where(Counter.name == "seq")).scalar_one()) - n + 1

    def head(self, session: Session) -> int:
        return int(session.execute(select(Counter.value).where(Counter.name == "seq")).scalar_one())


def migrate(engine: Engine) -> None:
    cfg = _config()
    script = ScriptDirectory.from_config(cfg)
    with engine.begin() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": "hq_alembic_version"})
        current = ctx.get_current_revision()
        known = {rev.revision for rev in script.walk_revisions()}
        if current is not None and current not in known:
            raise DatabaseTooNew(f"the HQ database was written by a newer HQ (schema {current}); update HQ")
        if current == script.get_current_head():
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_store(url: str | None = None) -> HQStore:
    """Open (and create or upgrade) HQ's database at ``url``."""
    url = url or default_url()
    engine = _make_engine(url)
    try:
        migrate(engine)
        store = HQStore(url, engine)
        _ensure_secrets(store)
    except OperationalError as exc:
        engine.dispose()
        raise StorageError(f"cannot open the HQ database: {str(exc.orig).splitlines()[0]}") from None
    except BaseException:
        engine.dispose()
        raise
    return store


def _ensure_secrets(store: HQStore) -> None:
    makers = {"hq_id": lambda: str(uuid.uuid4()), "box_key": new_box_key, "sign_key": new_sign_key,
              "fp_key": lambda: secrets.token_hex(32), "ref_key": lambda: secrets.token_hex(32)}
    with store.write_lock, store.session() as session, session.begin():
        have = {s.name: s.value for s in session.execute(select(Secret)).scalars()}
        for name, make in makers.items():
            if name not in have:
                have[name] = make()
                session.add(Secret(name=name, value=have[name]))
    store.hq_id = have["hq_id"]
    store.box_key = have["box_key"]
    store.sign_key = have["sign_key"]
    store.fp_key = have["fp_key"]
    store.ref_key = bytes.fromhex(have["ref_key"])
