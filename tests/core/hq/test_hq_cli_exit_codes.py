"""`workstation hq …` exit codes when HQ's database is not where --db says (CLI.md): an
unreachable PostgreSQL server is a network failure (6), refused credentials are 3, a URL
naming a missing database or folder is a usage error (2) and creates nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.sync.helpers import postgres_available
from workstation.cli import main

# Every hq command that opens HQ's database. serve gets a port already taken, so that were
# the database ever opened it would fail (6) instead of serving until the run is killed.
DB_COMMANDS = [
    ["serve", "--port", "BUSY"],
    ["enroll", "--agency", "EXA", "--officer", "Alice Example"],
    ["devices"],
    ["revoke", "no-such-device"],
    ["audit"],
]


@pytest.fixture(scope="module")
def busy_port() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield str(s.getsockname()[1])


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKSTATION_HQ_DB", raising=False)


@pytest.mark.parametrize("cmd", DB_COMMANDS, ids=lambda c: c[0])
def test_postgres_on_a_closed_port_is_a_network_failure(capsys, busy_port: str, cmd: list[str]) -> None:
    cmd = [busy_port if a == "BUSY" else a for a in cmd]
    code, out, err = run(capsys, "hq", cmd[0], "--db", "postgresql+psycopg://postgres@127.0.0.1:1/hq", *cmd[1:])
    assert code == 6, err
    assert "127.0.0.1:1" in err and out == ""


def test_postgres_on_an_unknown_host_is_a_network_failure(capsys) -> None:
    code, _, err = run(capsys, "hq", "devices", "--db", "postgresql+psycopg://postgres@hq-db.invalid/hq")
    assert code == 6 and "hq-db.invalid" in err


def test_malformed_postgres_url_is_a_usage_error_that_hides_the_password(capsys) -> None:
    code, _, err = run(capsys, "hq", "devices", "--db", "postgresql+psycopg://hq:Example-S3cret@127.0.0.1:five/hq")
    assert code == 2 and "five" in err
    assert "Example-S3cret" not in err and "internal error" not in err


def test_wrong_postgres_password_is_exit_3() -> None:
    # The local test server trusts every connection, so the server's refusal is built here
    # in the words libpq reports it.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from workstation.hq.store import _connect_error

    refusal = Exception('connection failed: connection to server at "10.0.0.5", port 5432 failed: '
                        'FATAL:  password authentication failed for user "hq"')
    err = _connect_error(make_url("postgresql+psycopg://hq:pw@10.0.0.5/hq"), OperationalError("connect", {}, refusal))
    assert err.exit_code == 3 and "10.0.0.5" in str(err) and "authentication failed" in str(err)


needs_postgres = pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not reachable on 127.0.0.1:5432")


@needs_postgres
def test_postgres_database_that_does_not_exist_is_a_usage_error(capsys) -> None:
    code, _, err = run(capsys, "hq", "enroll", "--db", "postgresql+psycopg://postgres@127.0.0.1:5432/no_such_hq_db",
                       "--agency", "EXA", "--officer", "Alice Example")
    assert code == 2 and "no_such_hq_db" in err


@needs_postgres
def test_postgres_unknown_role_is_refused_credentials(capsys) -> None:
    code, _, err = run(capsys, "hq", "devices", "--db", "postgresql+psycopg://no_such_hq_role@127.0.0.1:5432/postgres")
    assert code == 3 and "no_such_hq_role" in err


@pytest.mark.parametrize("cmd", DB_COMMANDS, ids=lambda c: c[0])
def test_sqlite_in_a_missing_folder_is_refused_and_creates_nothing(capsys, tmp_path: Path, busy_port: str,
                                                                   cmd: list[str]) -> None:
    cmd = [busy_port if a == "BUSY" else a for a in cmd]
    db = tmp_path / "hq-dta" / "2024" / "hq.db"  # a typo of an existing "hq-data"
    (tmp_path / "hq-data").mkdir()
    code, out, err = run(capsys, "hq", cmd[0], "--db", f"sqlite:///{db}", *cmd[1:])
    assert code == 2 and str(db.parent) in err and out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hq-data"]


def test_sqlite_home_shorthand_is_not_a_folder_made_here(capsys, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "hq", "enroll", "--db", "sqlite:///~/hq.db", "--agency", "EXA", "--officer", "Alice Example")
    assert code == 2 and "~" in err
    assert list(tmp_path.iterdir()) == []


def test_sqlite_url_whose_folder_is_a_file_is_a_usage_error(capsys, tmp_path: Path, busy_port: str) -> None:
    (tmp_path / "hq.db").write_text("not a folder")
    code, _, err = run(capsys, "hq", "serve", "--port", busy_port, "--db", f"sqlite:///{tmp_path / 'hq.db' / 'hq.db'}")
    assert code == 2 and "not a folder" in err


def test_only_serve_and_enroll_start_a_new_sqlite_database(capsys, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    for cmd in (["devices"], ["audit"], ["revoke", "no-such-device"]):
        code, out, err = run(capsys, "hq", cmd[0], "--db", url, *cmd[1:])
        assert code == 2 and "no HQ database" in err and out == "", cmd
        assert not (tmp_path / "hq.db").exists()
    code, _, _ = run(capsys, "hq", "enroll", "--db", url, "--agency", "EXA", "--officer", "Alice Example")
    assert code == 0 and (tmp_path / "hq.db").exists()
    assert run(capsys, "hq", "devices", "--db", url)[0] == 0


def test_default_location_is_made_on_first_enrolment(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    from workstation.hq.store import default_url

    assert default_url().startswith(f"sqlite:///{tmp_path / 'data'}")
    code, _, err = run(capsys, "hq", "devices")
    assert code == 2 and "no HQ database" in err and not (tmp_path / "data").exists()
    assert run(capsys, "hq", "enroll", "--agency", "EXA", "--officer", "Alice Example")[0] == 0
    assert list((tmp_path / "data").rglob("hq.db"))


def test_sqlite_database_locked_by_another_process_is_exit_3(capsys, tmp_path: Path) -> None:
    """CLI.md: 3 is "wrong passphrase or locked database". A command that must write while
    another process holds HQ's SQLite file in a write transaction past the wait gets 3 and a
    message saying so, not 4 (bad input); reading goes on meanwhile (WAL); once the lock is
    gone the same command works."""
    import sqlite3

    db = tmp_path / "hq.db"
    url = f"sqlite:///{db}"
    assert run(capsys, "hq", "enroll", "--db", url, "--agency", "EXA", "--officer", "Alice Example")[0] == 0
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    enrol = ["hq", "enroll", "--db", url + "?timeout=0.5", "--agency", "EXA", "--officer", "Bob Example"]
    try:
        code, out, err = run(capsys, *enrol)
        assert run(capsys, "hq", "devices", "--db", url + "?timeout=0.5")[0] == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 3, err
    assert "locked" in err and out == ""
    code, out, err = run(capsys, *enrol)
    assert code == 0, err
    assert "enrolment code for Bob Example" in out
