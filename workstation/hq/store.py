"""Opening HQ's database: engine, migrations at startup, HQ's own keys.

``open_store(url)`` accepts a SQLAlchemy URL: ``sqlite:///path/hq.db`` (the embedded
default, under the platform data directory) or ``postgresql+psycopg://user@host/db``
(production). Migrations run before anything else; a database written by a newer HQ is
refused. A SQLite URL never creates folders (a typo in ``--db`` would otherwise grow a
directory tree and an empty HQ); only the default location under the platform data
directory is created on first use. PostgreSQL databases are created by their administrator. At first start HQ creates its instance id, its bundle keypairs (X25519 to receive,
Ed25519 to sign acknowledgements) and the HQ-wide fingerprint key devices use for
deconfliction.
"""

from __future__ import annotations

import re
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
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from workstation.errors import AccessDenied, DatabaseLocked, DatabaseTooNew, NetworkError, StorageError, UsageError
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


def _shown(url: str) -> str:
    """The URL as it may appear in a message: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def _sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names; None for memory and ``file:`` URI databases."""
    db = url.database
    if not db or db == ":memory:" or str(url.query.get("uri", "")).lower() in ("true", "1"):
        return None
    return Path(db)


def _check_sqlite_file(path: Path, *, create: bool, make_folder: bool) -> None:
    """Refuse before SQLite would create anything the caller did not ask for: sqlite3 makes
    a missing file silently, and a folder made for a mistyped path would hide the typo."""
    folder = path.parent
    if not folder.is_dir():
        if folder.exists():
            raise UsageError(f"HQ database {path}: {folder} is not a folder (check the --db URL)")
        if not make_folder:
            raise UsageError(f"HQ database {path}: the folder {folder} does not exist (check the --db URL, "
                             "or create the folder first)")
        if not create:
            raise UsageError(f"no HQ database at {path} yet (`workstation hq serve` or `hq enroll` creates it)")
        folder.mkdir(parents=True, exist_ok=True)
    if not create and not path.exists():
        raise UsageError(f"no HQ database at {path} (check the --db URL; `workstation hq serve` or "
                         "`hq enroll` creates one)")


def _make_engine(url: str, *, create: bool = True, make_folder: bool = False) -> Engine:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise UsageError(f"HQ database URL {_shown(url)!r}: {exc}") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            path = _sqlite_file(parsed)
            if path is not None:
                _check_sqlite_file(path, create=create, make_folder=make_folder)
            # How long a command waits for another process's write to finish; the URL's own
            # ``?timeout=SECONDS`` wins (a busy HQ database past it is "locked", exit 3).
            wait = float(parsed.query.get("timeout", 30))
            engine = create_engine(parsed.difference_update_query(["timeout"]),
                                   connect_args={"check_same_thread": False, "timeout": wait})

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = FULL")
                cur.execute("PRAGMA foreign_keys = ON")
                cur.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
                cur.close()

            return engine
        if parsed.get_backend_name() == "postgresql":
            # A host that drops packets would otherwise hold a command for minutes (libpq
            # waits for the system's TCP timeout); the URL's own connect_timeout wins.
            connect = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
            return create_engine(parsed, pool_size=8, max_overflow=8, pool_pre_ping=True,
                                 connect_args=connect)
    except (ArgumentError, ValueError) as exc:
        raise UsageError(f"HQ database URL {_shown(url)!r}: {exc}") from None
    raise UsageError(f"HQ database URL {_shown(url)!r}: use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")


# What a PostgreSQL server says when it was reached but would not let us in. libpq gives no
# SQLSTATE for a failed connection, only the server's text (English unless the server's
# lc_messages says otherwise; anything unrecognised counts as a network failure, 6).
_PG_NO_DATABASE = re.compile(r'database "[^"]*" does not exist')
_PG_CREDENTIALS = re.compile(r'authentication failed|role "[^"]*" does not exist|no pg_hba\.conf entry'
                             r'|no password supplied|fe_sendauth|permission denied for database'
                             r'|not permitted to log in')


def sqlite_error(exc: OperationalError) -> Exception:
    """A SQLite HQ database busy in another process past the wait is "locked" (exit 3, as
    CLI.md says of a locked database); anything else is a storage failure (4)."""
    first = str(exc.orig).splitlines()[0]
    if "database is locked" in first or "database is busy" in first:
        return DatabaseLocked("the HQ database is locked: another process (an `hq serve`?) is writing to "
                              "it; try again when it is done")
    return StorageError(f"cannot open the HQ database: {first}")


def _connect_error(url: URL, exc: OperationalError) -> Exception:
    """The typed error for a database HQ could not connect to (CLI.md exit codes): a server
    that cannot be reached (or turns everyone away: starting up, too many clients) is 6 and
    worth a retry; wrong credentials are 3, like a wrong passphrase; a database name that
    does not exist is a typo in the URL, 2."""
    text = " ".join(str(exc.orig).split())
    if url.get_backend_name() != "postgresql":
        return sqlite_error(exc)
    where = f"{url.host}:{url.port or 5432}" if url.host else "the local socket"
    if _PG_NO_DATABASE.search(text):
        return UsageError(f"the PostgreSQL server at {where} has no database {url.database!r} (check the --db URL; "
                          "HQ does not create PostgreSQL databases: `createdb` it first)")
    if _PG_CREDENTIALS.search(text):
        return AccessDenied(f"the PostgreSQL server at {where} refused user {url.username!r} for database "
                            f"{url.database!r}: {text}")
    return NetworkError(f"cannot reach the HQ database server at {where}: {text}")


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


def open_store(url: str | None = None, *, create: bool = True) -> HQStore:
    """Open (and upgrade) HQ's database at ``url``, default the embedded SQLite file.

    ``create`` lets a missing SQLite file be created (in a folder that exists: only the
    default location's folder is made). Raises UsageError for a bad URL, a missing folder or
    (``create`` false) a missing file; NetworkError, AccessDenied or UsageError when a
    PostgreSQL server cannot be reached, refuses the credentials or lacks the database."""
    make_folder = not url
    url = url or default_url()
    engine = _make_engine(url, create=create, make_folder=make_folder)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        raise _connect_error(engine.url, exc) from None
    try:
        migrate(engine)
        store = HQStore(url, engine)
        _ensure_secrets(store)
    except OperationalError as exc:
        engine.dispose()
        raise (sqlite_error(exc) if engine.dialect.name == "sqlite" else
               StorageError(f"cannot open the HQ database: {str(exc.orig).splitlines()[0]}")) from None
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
