"""Typed errors of the core. Each carries the CLI exit code it maps to (see CLI.md)."""

from __future__ import annotations


class WorkstationError(Exception):
    """Base of every error the core raises on purpose. ``exit_code`` follows CLI.md."""

    exit_code = 1


class UsageError(WorkstationError):
    """The caller asked for something that makes no sense (unknown case, bad argument)."""

    exit_code = 2


class NotFound(UsageError):
    """A case, entity, event... id or number that does not exist (or may not be seen)."""


class AccessDenied(WorkstationError):
    """Wrong passphrase, locked database, or an operation the officer may not perform."""

    exit_code = 3


class WrongPassphrase(AccessDenied):
    """The passphrase does not open this database. Nothing was changed on disk."""


class DatabaseLocked(AccessDenied):
    """The database is locked (auto-lock or on demand) or busy in another process."""


class BadInput(WorkstationError):
    """Input that cannot be used: a file, a row, a field. The message names which."""

    exit_code = 4


class NotADatabase(BadInput):
    """The file is not a Case Workstation database, or it is truncated/corrupt."""


class DatabaseTooNew(BadInput):
    """The database was written by a newer version of the app than this one."""


class StorageError(WorkstationError):
    """The location cannot be written: read-only, full disk, permission denied."""

    exit_code = 4


class IntegrityFailure(WorkstationError):
    """Integrity or verification failure: corrupt pages, broken audit chain."""

    exit_code = 5


class NetworkError(WorkstationError):
    """HQ could not be reached, or refused the request."""

    exit_code = 6


class Cancelled(WorkstationError):
    """Long work stopped because the caller asked it to. Nothing partial was kept."""

    exit_code = 1
