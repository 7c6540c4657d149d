"""The command line as an officer or a script uses it: outputs and exit codes (CLI.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workstation.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_db(tmp_path: Path, passphrase_file: Path, capsys) -> list[str]:
    base = ["--db", str(tmp_path / "cli.db"), "--passphrase-file", str(passphrase_file)]
    code, out, _ = run(capsys, *base, "init")
    assert code == 0 and "created encrypted database" in out
    return base


def test_end_to_end_case_work(cli_db, capsys) -> None:
    assert run(capsys, *cli_db, "case", "add", "C-100", "Chat luring", "--agency", "ICE")[0] == 0
    code, out, _ = run(capsys, *cli_db, "--json", "case", "list")
    cases = json.loads(out)
    assert code == 0 and cases[0]["number"] == "C-100" and "id" in cases[0]
    code, out, _ = run(capsys, *cli_db, "--json", "entity", "add", "C-100", "phone", "+1 202 555 0143")
    phone = json.loads(out)
    assert phone["key"] == "phone:+12025550143"
    code, out, _ = run(capsys, *cli_db, "--json", "entity", "add", "C-100", "person", "Casey Example",
                       "--prop", "dob=1991-02-03")
    person = json.loads(out)
    assert run(capsys, *cli_db, "link", "add", str(person["id"]), str(phone["id"]), "uses")[0] == 0
    code, out, _ = run(capsys, *cli_db, "--json", "event", "add", "C-100", "message",
                       "--at", "2024-05-01T10:00:00-04:00", "--title", "first contact",
                       "--party", f"{phone['id']}:sender")
    assert code == 0 and json.loads(out)["utc_offset"] == -240
    assert run(capsys, *cli_db, "note", "add", "C-100", "Subpoena sent", "--entity", str(phone["id"]))[0] == 0
    code, out, _ = run(capsys, *cli_db, "--json", "info")
    counts = json.loads(out)["counts"]
    assert (counts["cases"], counts["entities"], counts["links"], counts["events"], counts["notes"]) == (1, 2, 1, 1, 1)
    code, out, _ = run(capsys, *cli_db, "verify")
    assert code == 0 and "integrity: ok" in out


def test_wrong_passphrase_exit_3(cli_db, capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("nope\n")
    code, _, err = run(capsys, "--db", cli_db[1], "--passphrase-file", str(bad), "case", "list")
    assert code == 3 and "wrong passphrase" in err


def test_usage_errors_exit_2(cli_db, capsys) -> None:
    code, _, err = run(capsys, *cli_db, "case", "show", "NO-SUCH")
    assert code == 2 and "no case" in err
    with pytest.raises(SystemExit) as exc:
        main(["case", "frobnicate"])
    assert exc.value.code == 2


def test_bad_event_time_exit_2(cli_db, capsys) -> None:
    run(capsys, *cli_db, "case", "add", "C-1", "t")
    code, _, err = run(capsys, *cli_db, "event", "add", "C-1", "message", "--at", "2024-05-01 10:00")
    assert code == 2 and "offset" in err


def test_passwd_and_audit(cli_db, capsys, tmp_path: Path) -> None:
    new = tmp_path / "new.txt"
    new.write_text("another long passphrase\n")
    assert run(capsys, *cli_db, "passwd", "--new-passphrase-file", str(new))[0] == 0
    assert run(capsys, *cli_db, "case", "list")[0] == 3
    base = ["--db", cli_db[1], "--passphrase-file", str(new)]
    code, out, _ = run(capsys, *base, "--json", "audit", "show")
    actions = [e["action"] for e in json.loads(out)]
    assert actions[0] == "database.create" and "database.passwd" in actions
    assert run(capsys, *base, "audit", "verify")[0] == 0


def test_verify_reports_broken_audit_exit_5(cli_db, capsys) -> None:
    from tests.conftest import PASSPHRASE
    from workstation.store.database import Database

    run(capsys, *cli_db, "case", "add", "C-2", "x")
    db = Database.open(cli_db[1], PASSPHRASE)
    with db.write() as conn:
        conn.exec_driver_sql("UPDATE audit SET action = 'case.nothing' WHERE seq = 2")
    db.lock()
    code, out, _ = run(capsys, *cli_db, "audit", "verify")
    assert code == 5 and "first broken entry: 2" in out


def test_passphrase_from_stdin_and_env(cli_db, capsys, monkeypatch, passphrase_file: Path) -> None:
    import io

    from tests.conftest import PASSPHRASE

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSPHRASE + "\n"))
    assert run(capsys, "--db", cli_db[1], "--passphrase-stdin", "case", "list")[0] == 0
    monkeypatch.setenv("WORKSTATION_PASSPHRASE_FILE", str(passphrase_file))
    assert run(capsys, "--db", cli_db[1], "case", "list")[0] == 0


def test_missing_database_is_a_usage_error(tmp_path: Path, passphrase_file: Path, capsys) -> None:
    code, _, err = run(capsys, "--db", str(tmp_path / "none.db"), "--passphrase-file", str(passphrase_file), "info")
    assert code == 2 and "workstation init" in err
