"""The encrypted case database: the only module that knows SQLCipher.

Keying. SQLCipher 4 derives the page key from the passphrase with PBKDF2-HMAC-SHA512,
256,000 iterations, over the 16-byte salt stored at the start of the file. We do that
derivation once ourselves (``hashlib.pbkdf2_hmac``) and hand SQLCipher the derived raw
key as a hex blob literal, so that:

* the passphrase text is never pasted into SQL (only hex digits are), and
* every pooled connection opens instantly instead of re-running the KDF.

Because the derivation is exactly SQLCipher's own, the file stays readable by any
SQLCipher 4 client given the passphrase (``PRAGMA key = 'passphrase'``).

Writes are serialised in-process by a lock and across processes by ``BEGIN IMMEDIATE``
with a busy timeout. The journal is WAL with ``synchronous=FULL`` (evidence must survive
power loss), temp storage is memory (no plaintext temp files).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import Connection, create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from workstation.errors import (
    DatabaseLocked,
    IntegrityFailure,
    NotADatabase,
    StorageError,
    UsageError,
    WrongPassphrase,
)
from workstation.store import schema

KDF_ITERATIONS = 256_000
KDF_ALGORITHM = "sha512"
KEY_BYTES = 32
SALT_BYTES = 16
SQLITE_HEADER = b"SQLite format 3\x00"
MIN_PASSPHRASE_CHARS = 1
#: SQLite's default: a commit that leaves more WAL pages than this folds them into the file.
_AUTOCHECKPOINT_PAGES = 1000


@dataclass(frozen=True)
class CipherSettings:
    """What SQLCipher reports for an open database (asserted at open)."""

    cipher_version: str
    kdf_iter: int
    hmac: bool
    hmac_algorithm: str
    kdf_algorithm: str
    page_size: int
    journal_mode: str
    synchronous: int
    temp_store: int


def _derive_key(passphrase: str, salt: bytes) -> bytes:
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise UsageError("the passphrase must not be empty")
    if "\x00" in passphrase:
        raise UsageError("the passphrase must not contain a NUL character")
    return hashlib.pbkdf2_hmac(KDF_ALGORITHM, passphrase.encode("utf-8"), salt, KDF_ITERATIONS, KEY_BYTES)


def _key_literal(key: bytes, salt: bytes | None = None) -> str:
    # Only hex digits reach SQL. With the salt appended SQLCipher uses it for a new file.
    blob = key.hex() + (salt.hex() if salt else "")
    return f"\"x'{blob}'\""


def _read_salt(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            head = fh.read(SALT_BYTES)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such database file") from None
    except PermissionError as exc:
        raise StorageError(f"{path}: permission denied ({exc.strerror})") from None
    except IsADirectoryError:
        raise NotADatabase(f"{path}: is a folder, not a case database") from None
    if head == SQLITE_HEADER:
        raise NotADatabase(
            f"{path}: is a plain (unencrypted) SQLite file, not an encrypted case database")
    if len(head) < SALT_BYTES:
        raise NotADatabase(f"{path}: file is empty or truncated, not a case database")
    return head


#: SQLCipher 4 page layout: each page ends with a 16-byte IV and a 64-byte HMAC-SHA512 over
#: the page's ciphertext, the IV and the page number (4 bytes, little-endian); the HMAC key is
#: derived from the encryption key with 2 PBKDF2 rounds over the file salt XOR 0x3a.
_PAGE_BYTES = 4096
_IV_BYTES = 16
_HMAC_BYTES = 64
_HMAC_SALT_MASK = 0x3A
_HMAC_KDF_ROUNDS = 2
_PAGES_PROBED = 16


def _key_authenticates_later_pages(path: Path, key: bytes) -> bool:
    """Whether ``key`` authenticates any page after the first, read straight from the file.

    SQLCipher answers "not a database" both for a wrong key and for a first page that
    fails its HMAC. When the key authenticates the pages after it, the passphrase was
    right and the first page is damaged: the officer must hear that, not "wrong
    passphrase". (A damaged salt — the first 16 bytes — still reads as a wrong key: the
    salt is what the key is derived from.)

    Only a file at rest is judged: beside a write-ahead log or a rollback journal the
    pages in the file may be older than the database (an interrupted passphrase change
    leaves new-key pages in the log and old-key pages in the file), so a wrong passphrase
    is still just that. Every page probed must authenticate, not merely one."""
    for suffix in ("-wal", "-journal"):
        side = Path(f"{path}{suffix}")
        try:
            if side.exists() and side.stat().st_size > 0:
                return False
        except OSError:
            return False
    try:
        with path.open("rb") as fh:
            salt = fh.read(SALT_BYTES)
            fh.seek(_PAGE_BYTES)
            pages = fh.read(_PAGE_BYTES * _PAGES_PROBED)
    except OSError:
        return False
    if len(salt) < SALT_BYTES:
        return False
    hmac_key = hashlib.pbkdf2_hmac(KDF_ALGORITHM, key, bytes(b ^ _HMAC_SALT_MASK for b in salt),
                                   _HMAC_KDF_ROUNDS, KEY_BYTES)
    count = len(pages) // _PAGE_BYTES
    for i in range(count):
        page = pages[i * _PAGE_BYTES:(i + 1) * _PAGE_BYTES]
        number = i + 2
        mac = hmac.new(hmac_key, page[:-_HMAC_BYTES] + number.to_bytes(4, "little"), hashlib.sha512).digest()
        if not hmac.compare_digest(mac, page[-_HMAC_BYTES:]):
            return False
    return count > 0


def _read_only_location(path: Path) -> bool:
    folder = path.parent
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY) or not os.access(folder, os.W_OK)
    except OSError:
        return False


def _map_sqlite_error(exc: BaseException, path: Path) -> Exception:
    """Turn a driver error into the typed error an officer can act on."""
    msg = str(getattr(exc, "orig", None) or exc)
    low = msg.lower()
    if "disk is full" in low or "database or disk is full" in low:
        return StorageError(f"{path}: the disk is full; the last change was not saved")
    if "readonly" in low or "read-only" in low:
        return StorageError(f"{path}: the database location is read-only")
    if "unable to open" in low:
        if _read_only_location(path):
            return StorageError(f"{path}: the database location is read-only (a case database "
                                "writes its journal beside the file); copy it to a writable folder")
        return StorageError(f"{path}: cannot open the database file (missing folder or no permission)")
    if "locked" in low or "busy" in low:
        return DatabaseLocked(f"{path}: the database is busy in another process")
    if "not a database" in low or "malformed" in low or "hmac" in low:
        return IntegrityFailure(f"{path}: the database file is corrupt ({msg})")
    return StorageError(f"{path}: database error: {msg}")


#: Prepared statements kept per connection (see ``_connect``).
STATEMENT_CACHE = 1024


class Database:
    """An open (unlocked) encrypted case database.

    Thread-safe: ``read()`` may be used from any thread; ``write()`` serialises writers.
    ``lock()`` closes every connection and forgets the key; the object is unusable after.
    """

    def __init__(self, path: Path, key: bytes, engine: Engine) -> None:
        self.path = path
        self._key = bytearray(key)
        self._engine: Engine | None = engine
        self._write_lock = threading.RLock()
        self._checkpoint_guard = threading.Lock()
        self._checkpointer: threading.Thread | None = None
        self._checkpoint_again = False
        self.device_id: str = ""
        self.actor: str = "unknown"
        #: In-memory structures derived from this database's contents (e.g. the media PDQ
        #: index of the hash sets), owned by the modules that build them; emptied by lock().
        self.caches: dict[str, Any] = {}

    # ----------------------------------------------------------------- opening
    @classmethod
    def create(cls, path: str | os.PathLike[str], passphrase: str, *, actor: str | None = None) -> Database:
        """Create a new encrypted database at ``path`` (which must not exist) and migrate it.

        Raises UsageError if the file exists, StorageError for an unwritable location.
        """
        p = Path(path)
        if p.exists():
            raise UsageError(f"{p}: already exists; open it instead of creating it")
        if not p.parent.exists():
            raise StorageError(f"{p.parent}: folder does not exist")
        if not os.access(p.parent, os.W_OK):
            raise StorageError(f"{p.parent}: the location is read-only")
        salt = secrets.token_bytes(SALT_BYTES)
        key = _derive_key(passphrase, salt)
        try:
            raw = sqlcipher3.connect(str(p), isolation_level=None)
            try:
                raw.execute("PRAGMA cipher_log_level = NONE")
                raw.execute(f"PRAGMA key = {_key_literal(key, salt)}")
                raw.execute(f"PRAGMA kdf_iter = {KDF_ITERATIONS}")
                raw.execute("PRAGMA journal_mode = WAL")
            finally:
                raw.close()
        except sqlcipher3.Error as exc:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    Path(str(p) + suffix).unlink()
            raise _map_sqlite_error(exc, p) from None
        db = cls._connect(p, key, actor=actor)
        try:
            from workstation.store.migrate import migrate

            migrate(db, backup=False)
            with db.write() as conn:
                db.device_id = str(uuid.uuid4())
                db.meta_set(conn, "device_id", db.device_id)
                db.meta_set(conn, "audit_key", secrets.token_hex(32))
                db.meta_set(conn, "fingerprint_key", secrets.token_hex(32))
            from workstation.audit.trail import AuditTrail

            AuditTrail(db).append_in_new_tx("database.create", "database", None, {"path_name": p.name})
        except BaseException:
            db.lock()
            raise
        return db

    @classmethod
    def open(cls, path: str | os.PathLike[str], passphrase: str, *, actor: str | None = None,
             migrate: bool = True) -> Database:
        """Unlock an existing database. Wrong passphrase → WrongPassphrase, file untouched."""
        p = Path(path)
        salt = _read_salt(p)
        key = _derive_key(passphrase, salt)
        cls._check_key(p, key)
        db = cls._connect(p, key, actor=actor)
        try:
            if migrate:
                from workstation.store.migrate import migrate as run_migrations

                run_migrations(db, backup=True)
                db._repair_deferred_index()
        except DBAPIError as exc:
            # A damaged page met while reading the schema revision: a typed error, not a crash.
            db.lock()
            raise _map_sqlite_error(exc, p) from None
        except BaseException:
            db.lock()
            raise
        return db

    @staticmethod
    def _check_key(p: Path, key: bytes) -> None:
        """Try the key read-only: nothing is written to the file when it is wrong."""
        uri = p.resolve().as_uri() + "?mode=ro"
        try:
            raw = sqlcipher3.connect(uri, uri=True, isolation_level=None)
        except sqlcipher3.Error as exc:
            raise _map_sqlite_error(exc, p) from None
        try:
            raw.execute("PRAGMA cipher_log_level = NONE")
            raw.execute(f"PRAGMA key = {_key_literal(key)}")
            raw.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError as exc:
            if "not a database" in str(exc).lower():
                if _key_authenticates_later_pages(p, key):
                    raise IntegrityFailure(
                        f"{p}: the passphrase is right but the first page of the database is "
                        "damaged (it fails its authentication code); the file cannot be opened. "
                        "Restore it from a backup copy.") from None
                raise WrongPassphrase(
                    f"{p}: wrong passphrase (or the file is not a case database)") from None
            raise _map_sqlite_error(exc, p) from None
        finally:
            raw.close()

    @classmethod
    def create_unencrypted_baseline(cls, path: str | os.PathLike[str]) -> Database:
        """A PLAIN SQLite database through the very same code path, for benchmarks only
        (the ratio encrypted/plain). Never used for case data."""
        p = Path(path)
        db = cls._connect(p, b"", actor="benchmark", encrypted=False)
        from workstation.store.migrate import migrate

        migrate(db, backup=False)
        with db.write() as conn:
            db.device_id = str(uuid.uuid4())
            db.meta_set(conn, "device_id", db.device_id)
            db.meta_set(conn, "audit_key", secrets.token_hex(32))
            db.meta_set(conn, "fingerprint_key", secrets.token_hex(32))
        return db

    @classmethod
    def _connect(cls, p: Path, key: bytes, *, actor: str | None, encrypted: bool = True) -> Database:
        key_sql = _key_literal(key)

        def creator() -> sqlcipher3.Connection:
            # The driver's prepared-statement cache, once full, evicts its least-used entry, and
            # a statement just added is that entry until its second use: with the default 100
            # places (the migrations fill them), statements used in turn — an import's inserts,
            # once per batch — were prepared anew every time.
            conn = sqlcipher3.connect(str(p), isolation_level=None, check_same_thread=False,
                                      timeout=10.0, cached_statements=STATEMENT_CACHE)
            conn.execute("PRAGMA cipher_log_level = NONE")
            if encrypted:
                conn.execute(f"PRAGMA key = {key_sql}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: fewer page decrypts on big imports
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 10000")
            return conn

        engine = create_engine(
            "sqlite://", creator=creator, module=sqlcipher3.dbapi2, poolclass=QueuePool,
            pool_size=4, max_overflow=8, pool_pre_ping=False,
        )

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        db = cls(p, key, engine)
        try:
            with engine.connect() as conn:
                if encrypted:
                    db.cipher_settings(conn)  # asserts the settings
                has_meta = conn.exec_driver_sql(
                    "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").first()
                rows = dict(conn.exec_driver_sql("SELECT key, value FROM meta").fetchall()) if has_meta else {}
        except DBAPIError as exc:
            engine.dispose()
            raise _map_sqlite_error(exc, p) from None
        except BaseException:
            engine.dispose()
            raise
        db.device_id = rows.get("device_id", "")
        db.actor = actor or _default_actor()
        return db

    def _repair_deferred_index(self) -> None:
        """A bulk writer that committed without finishing leaves the full-text triggers
        suspended; rebuild the index from the tables and resume them."""
        with self.read() as conn:
            stuck = conn.exec_driver_sql("SELECT count(*) FROM fts_defer").scalar()
        if stuck:
            with self.write() as conn:
                # Not 'rebuild': that would index tombstoned rows too.
                for fts, (table, cols) in schema.FTS_SOURCES.items():
                    names = ", ".join(cols)
                    conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('delete-all')")
                    conn.exec_driver_sql(f'INSERT INTO {fts}(rowid, {names}) SELECT id, {names} '
                                         f'FROM "{table}" WHERE deleted = 0')
                conn.exec_driver_sql("DELETE FROM fts_defer")

    # ----------------------------------------------------------------- access
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise DatabaseLocked("the database is locked; unlock it with the passphrase")
        return self._engine

    @property
    def is_locked(self) -> bool:
        return self._engine is None

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction (consistent snapshot under WAL)."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except DBAPIError as exc:
            raise _map_sqlite_error(exc, self.path) from None

    @contextlib.contextmanager
    def write(self, *, bulk: bool = False, foreign_keys: bool = True) -> Iterator[Connection]:
        """A connection in an IMMEDIATE write transaction; commits on success, rolls back
        on any exception (the database is then exactly as before).

        ``bulk``: a large transaction (an import). Its commit makes it durable in the WAL
        as any other, but does not then copy the whole WAL into the main file on the
        caller's thread (SQLite's automatic checkpoint, seconds for a million rows): a
        thread of the database's own does that afterwards (:meth:`_checkpoint_later`).

        ``foreign_keys=False``: SQLite does not look up the parent of every row written. Only
        for writers whose references hold by construction (the import's BulkWriter refers to
        rows it has just written or read under this same write lock); enforcement is back on
        for the connection's next transaction.
        """
        with self._write_lock:
            try:
                with self.engine.connect().execution_options(begin="IMMEDIATE") as conn:
                    raw = conn.connection.dbapi_connection
                    if bulk:
                        raw.execute("PRAGMA wal_autocheckpoint = 0")  # type: ignore[union-attr]
                    if not foreign_keys:  # outside a transaction, or SQLite ignores it
                        raw.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
                    try:
                        with conn.begin():
                            yield conn
                    finally:
                        try:
                            if bulk:
                                raw.execute(f"PRAGMA wal_autocheckpoint = {_AUTOCHECKPOINT_PAGES}")  # type: ignore[union-attr]
                            if not foreign_keys:
                                raw.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]
                        except sqlcipher3.Error:
                            conn.invalidate()  # never back into the pool with its settings changed
                if bulk:
                    self._checkpoint_later()
            except DBAPIError as exc:
                raise _map_sqlite_error(exc, self.path) from None
            except sqlcipher3.Error as exc:  # from a raw DB-API cursor (bulk writes)
                raise _map_sqlite_error(exc, self.path) from None

    def _checkpoint_later(self) -> None:
        """Fold the WAL into the main file on a background thread (PASSIVE: it waits for
        no reader or writer, and whatever it cannot copy now the next checkpoint does).
        An interrupted checkpoint loses nothing: the WAL stays authoritative until done."""
        with self._checkpoint_guard:
            if self._checkpointer is not None and self._checkpointer.is_alive():
                self._checkpoint_again = True
                return
            self._checkpoint_again = False
            self._checkpointer = threading.Thread(target=self._run_checkpoints, name="wal-checkpoint",
                                                  daemon=True)
            self._checkpointer.start()

    def _run_checkpoints(self) -> None:
        while True:
            engine = self._engine
            if engine is None:
                return
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # noqa: BLE001 - housekeeping: the next checkpoint (or close) retries
                pass
            with self._checkpoint_guard:
                if not self._checkpoint_again or self._engine is None:
                    self._checkpointer = None
                    return
                self._checkpoint_again = False

    def _stop_checkpoints(self) -> None:
        """Wait for a background checkpoint before the connections close (closing the
        last one would otherwise do the same copy again, on the caller's thread)."""
        with self._checkpoint_guard:
            worker = self._checkpointer
            self._checkpoint_again = False
        if worker is not None and worker is not threading.current_thread():
            worker.join()

    def meta_get(self, conn: Connection, key: str) -> str | None:
        row = conn.execute(select(schema.meta.c.value).where(schema.meta.c.key == key)).first()
        return row[0] if row else None

    def meta_set(self, conn: Connection, key: str, value: str) -> None:
        from sqlalchemy.dialects.sqlite import insert

        stmt = insert(schema.meta).values(key=key, value=value)
        conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))

    # ----------------------------------------------------------------- checks
    def cipher_settings(self, conn: Connection | None = None) -> CipherSettings:
        """Read and assert SQLCipher 4.x, KDF ≥ 256000, page HMAC on, temp_store memory."""
        if conn is None:
            with self.engine.connect() as c:
                return self.cipher_settings(c)

        def one(sql: str) -> Any:
            row = conn.exec_driver_sql(sql).first()
            return row[0] if row else None

        s = CipherSettings(
            cipher_version=str(one("PRAGMA cipher_version") or ""),
            kdf_iter=int(one("PRAGMA kdf_iter") or 0),
            hmac=str(one("PRAGMA cipher_use_hmac")) in ("1", "True"),
            hmac_algorithm=str(one("PRAGMA cipher_hmac_algorithm") or ""),
            kdf_algorithm=str(one("PRAGMA cipher_kdf_algorithm") or ""),
            page_size=int(one("PRAGMA cipher_page_size") or 0),
            journal_mode=str(one("PRAGMA journal_mode") or ""),
            synchronous=int(one("PRAGMA synchronous") or 0),
            temp_store=int(one("PRAGMA temp_store") or 0),
        )
        problems = []
        if not s.cipher_version.startswith("4."):
            problems.append(f"SQLCipher 4.x required, found {s.cipher_version or 'none'}")
        if s.kdf_iter < KDF_ITERATIONS:
            problems.append(f"KDF iterations {s.kdf_iter} < {KDF_ITERATIONS}")
        if not s.hmac:
            problems.append("page HMAC is off")
        if s.temp_store != 2:
            problems.append("temp_store is not MEMORY")
        if s.synchronous != 2:
            problems.append("synchronous is not FULL")
        if problems:
            raise IntegrityFailure(f"{self.path}: unsafe cipher settings: " + "; ".join(problems))
        return s

    def integrity_check(self) -> list[str]:
        """SQLCipher page-HMAC check over the whole file plus SQLite's integrity check.

        Returns the problems found (empty when the file is sound). Never raises for
        corruption: a corrupt page is reported as a problem.
        """
        problems: list[str] = []
        with self.engine.connect() as conn:
            try:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            except DBAPIError:
                pass
            try:
                for (msg,) in conn.exec_driver_sql("PRAGMA cipher_integrity_check").fetchall():
                    problems.append(f"cipher: {msg}")
            except DBAPIError as exc:
                problems.append(f"cipher: {exc.orig}")
            try:
                rows = conn.exec_driver_sql("PRAGMA integrity_check").fetchall()
                problems.extend(f"sqlite: {r[0]}" for r in rows if r[0] != "ok")
            except DBAPIError as exc:
                problems.append(f"sqlite: {exc.orig}")
        return problems

    # ----------------------------------------------------------------- key management
    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-encrypt every page under a key derived from ``new_passphrase`` (same salt).

        All other connections are closed first; the audit records the change.
        """
        salt = _read_salt(self.path)
        new_key = _derive_key(new_passphrase, salt)
        with self._write_lock:
            self._stop_checkpoints()
            self.engine.dispose()
            raw = sqlcipher3.connect(str(self.path), isolation_level=None)
            try:
                raw.execute("PRAGMA cipher_log_level = NONE")
                raw.execute(f"PRAGMA key = {_key_literal(bytes(self._key))}")
                raw.execute("PRAGMA busy_timeout = 10000")
                raw.execute("SELECT count(*) FROM sqlite_master").fetchone()
                raw.execute(f"PRAGMA rekey = {_key_literal(new_key)}")
            except sqlcipher3.Error as exc:
                raise _map_sqlite_error(exc, self.path) from None
            finally:
                raw.close()
            old_engine = self._engine
            fresh = Database._connect(self.path, new_key, actor=self.actor)
            self._engine = fresh._engine
            self._key = bytearray(new_key)
            if old_engine is not None:
                old_engine.dispose()
        from workstation.audit.trail import AuditTrail

        AuditTrail(self).append_in_new_tx("database.passwd", "database", None, {})

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (before copying the file aside)."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def backup_copy(self, suffix: str) -> Path:
        """Copy the (still encrypted) file aside, e.g. before a migration."""
        self.checkpoint()
        target = self.path.with_name(f"{self.path.name}.{suffix}.bak")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.{suffix}.{n}.bak")
        try:
            shutil.copy2(self.path, target)
        except OSError as exc:
            raise StorageError(f"{target}: cannot copy the database aside before upgrading: {exc}") from None
        return target

    def lock(self) -> None:
        """Close every connection and forget the key (best effort wipe of our copy)."""
        if self._engine is not None:
            self._stop_checkpoints()
            self._engine.dispose()
            self._engine = None
        self.caches.clear()  # after the engine is gone: see media.service._set_pdq_index
        for i in range(len(self._key)):
            self._key[i] = 0

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock()


def _default_actor() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # pragma: no cover - no user database in some containers
        return "officer"
