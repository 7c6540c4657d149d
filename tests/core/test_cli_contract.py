"""CLI.md as a script or CI job meets it: passphrase sources, stdout purity, exit codes.

In-process through ``main()`` where the process boundary does not matter; a real
subprocess where it does (bytes on stdin, a closed stdout pipe, what reaches stdout).
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from workstation.cli import main

ROOT = Path(__file__).resolve().parents[2]
ENTRY = "import sys; from workstation.cli import main; sys.exit(main(sys.argv[1:]))"

# WhatsApp (Android) group export: 3 messages among system lines that are not messages.
GROUP_CHAT = """\
01/02/2024, 10:00 - Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them. Tap to learn more.
01/02/2024, 10:00 - Alice Example created group "Skate friends"
01/02/2024, 10:01 - Alice Example added Bob Example
01/02/2024, 10:02 - Carol Example joined using this group's invite link
01/02/2024, 10:03 - Alice Example: hello all
01/02/2024, 10:04 - Bob Example: hi
there, on two lines
01/02/2024, 10:05 - Carol Example left
01/02/2024, 10:06 - Alice Example changed the subject from "Skate friends" to "Skaters"
01/02/2024, 10:07 - Bob Example: <Media omitted>
01/02/2024, 10:10 - Alice Example removed Bob Example
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "WORKSTATION_PASSPHRASE_FILE"}
    return subprocess.run([sys.executable, "-c", ENTRY, *argv], input=stdin, capture_output=True,
                          cwd=ROOT, env=env, timeout=120)


@pytest.fixture
def base(db_path: Path, passphrase_file: Path, monkeypatch) -> list[str]:
    monkeypatch.delenv("WORKSTATION_PASSPHRASE_FILE", raising=False)
    return ["--db", str(db_path), "--passphrase-file", str(passphrase_file)]


# ---------------------------------------------------------------------- help
def test_help_documents_passphrase_order_environment_and_exit_codes(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    order_text = out[out.index("first that applies"):]
    order = [order_text.index(s) for s in ("--passphrase-file FILE", "--passphrase-stdin",
                                           "$WORKSTATION_PASSPHRASE_FILE", "prompt")]
    assert order == sorted(order)
    assert "WORKSTATION_HQ_DB" in out and "one JSON document" in out
    for code, words in ((2, "usage"), (3, "wrong passphrase"), (4, "bad input"), (5, "integrity"),
                        (6, "network")):
        assert f"  {code} {words}" in out


# ---------------------------------------------------------------------- passphrases
def test_passphrase_as_an_argument_is_refused_and_not_echoed(capsys, base) -> None:
    for opt in ("--passphrase", "--password"):
        with pytest.raises(SystemExit) as exc:
            main(["--db", base[1], opt, "Hunter2 Example", "case", "list"])
        err = capsys.readouterr().err
        assert exc.value.code == 2
        assert "never accepted on the command line" in err and "--passphrase-file" in err
        assert "Hunter2" not in err


def test_passphrase_sources_apply_in_contract_order(capsys, base, tmp_path: Path, monkeypatch) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase\n", encoding="utf-8")
    monkeypatch.setenv("WORKSTATION_PASSPHRASE_FILE", str(wrong))
    assert run(capsys, *base, "case", "list")[0] == 0  # --passphrase-file before the variable
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSPHRASE + "\n"))
    assert run(capsys, "--db", base[1], "--passphrase-stdin", "case", "list")[0] == 0  # stdin before it
    assert run(capsys, "--db", base[1], "case", "list")[0] == 3  # then the variable's file


def test_passphrase_file_written_with_a_bom_and_crlf_opens(capsys, base, tmp_path: Path) -> None:
    # Windows Notepad's "UTF-8 with BOM": the mark is not part of the passphrase.
    pf = tmp_path / "notepad.txt"
    pf.write_bytes("\ufeff".encode() + PASSPHRASE.encode() + b"\r\n")
    code, _, err = run(capsys, "--db", base[1], "--passphrase-file", str(pf), "case", "list")
    assert code == 0, err


def test_passphrase_file_in_latin1_is_a_usage_error(capsys, base, tmp_path: Path) -> None:
    pf = tmp_path / "latin1.txt"
    pf.write_bytes("Caf\u00e9 Example passphrase\n".encode("latin-1"))
    code, _, err = run(capsys, "--db", base[1], "--passphrase-file", str(pf), "case", "list")
    assert code == 2 and "latin1.txt" in err and "UTF-8" in err and "internal error" not in err


def test_end_of_input_at_the_prompt_is_a_usage_error(capsys, base, monkeypatch) -> None:
    def eof(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("getpass.getpass", eof)
    code, out, err = run(capsys, "--db", base[1], "case", "list")
    assert code == 2 and "no passphrase given" in err and "internal error" not in err and out == ""


def test_ctrl_c_at_the_prompt_is_an_interruption_not_a_bug(capsys, base, monkeypatch) -> None:
    # Exit 1 means "a bug" to a script; a stopped command gets the shell's 130 (128 + SIGINT).
    def ctrl_c(prompt: str = "") -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("getpass.getpass", ctrl_c)
    code, out, err = run(capsys, "--db", base[1], "case", "list")
    assert code == 130 and "interrupted" in err and "internal error" not in err and out == ""


def test_passphrase_stdin_bytes_that_are_not_utf8_are_a_usage_error(db_path: Path) -> None:
    res = run_process("--db", str(db_path), "--passphrase-stdin", "case", "list",
                      stdin="Caf\u00e9 Example passphrase\n".encode("latin-1"))
    err = res.stderr.decode()
    assert res.returncode == 2 and "UTF-8" in err and "internal error" not in err


# ---------------------------------------------------------------------- output
def test_import_json_is_one_document_counting_messages_not_system_lines(capsys, base, tmp_path: Path) -> None:
    assert run(capsys, *base, "case", "add", "C-77", "Group chat")[0] == 0
    chat = tmp_path / "WhatsApp Chat with Skaters.txt"
    chat.write_text(GROUP_CHAT, encoding="utf-8")
    res = run_process(*base, "--json", "import", "C-77", str(chat))
    assert res.returncode == 0, res.stderr.decode()
    doc = json.loads(res.stdout)  # the whole of stdout is one JSON document
    assert {"source", "format", "events", "entities", "skipped", "errors"} <= doc.keys()
    assert isinstance(doc["source"], int) and doc["format"] == "whatsapp_txt"
    assert (doc["events"], doc["skipped"], doc["errors"]) == (3, 0, [])
    assert doc["entities"] >= 2
    # "entities" counts what the import created: the same people again create none.
    (tmp_path / "later").mkdir()
    again = tmp_path / "later" / chat.name
    again.write_text(GROUP_CHAT.replace("hello all", "hello again"), encoding="utf-8")
    code, out, _ = run(capsys, *base, "--json", "import", "C-77", str(again))
    assert code == 0 and (json.loads(out)["events"], json.loads(out)["entities"]) == (3, 0)


def test_import_json_statement_one_event_per_transaction(capsys, base, tmp_path: Path) -> None:
    assert run(capsys, *base, "case", "add", "C-78", "Card spend")[0] == 0
    stmt = tmp_path / "statement.csv"
    stmt.write_text("Date,Description,Amount\n2024-01-02,Coffee Example,-3.50\n"
                    "2024-01-03,Books Example,not-a-number\n2024-01-04,Fuel Example,-40.00\n", encoding="utf-8")
    code, out, err = run(capsys, *base, "--json", "import", "C-78", str(stmt))
    assert code == 4 and out == "" and "statement.csv" in err and "row 3" in err and "amount" in err
    code, out, _ = run(capsys, *base, "--json", "import", "C-78", str(stmt), "--skip-bad-rows")
    doc = json.loads(out)
    assert code == 0 and (doc["events"], doc["skipped"]) == (2, 1)
    [bad] = doc["errors"]
    assert bad["field"] == "amount" and "3" in str(bad["row"]) and bad["message"]


def test_a_reader_closing_stdout_early_is_not_an_internal_error(db_path: Path, passphrase_file: Path) -> None:
    # `workstation case list | head -1`: the reader is gone before the result is written.
    env = {k: v for k, v in os.environ.items() if k != "WORKSTATION_PASSPHRASE_FILE"}
    proc = subprocess.Popen([sys.executable, "-c", ENTRY, "--db", str(db_path), "--passphrase-file",
                             str(passphrase_file), "case", "list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0, err
    assert "internal error" not in err and "Broken pipe" not in err and "Exception ignored" not in err


def test_nobody_reading_stderr_does_not_abort_an_import(capsys, base, tmp_path: Path, monkeypatch) -> None:
    class ClosedPipe(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    assert run(capsys, *base, "case", "add", "C-79", "Group chat")[0] == 0
    chat = tmp_path / "chat.txt"
    chat.write_text(GROUP_CHAT, encoding="utf-8")
    monkeypatch.setattr("sys.stderr", ClosedPipe())
    code = main([*base, "import", "C-79", str(chat)])  # text mode: progress goes to stderr
    monkeypatch.undo()
    assert code == 0 and "3 events" in capsys.readouterr().out
    code, out, _ = run(capsys, *base, "--json", "event", "list", "C-79")
    assert len(json.loads(out)) == 3


# ---------------------------------------------------------------------- exit codes
@pytest.mark.parametrize("content", [b"", b"SQLite format 3\x00" + bytes(4080)], ids=["empty", "plain-sqlite"])
def test_verify_of_a_file_that_is_no_sound_database_is_exit_5(capsys, tmp_path: Path, passphrase_file: Path,
                                                             content: bytes) -> None:
    broken = tmp_path / "cases.db"
    broken.write_bytes(content)
    for cmd in (["verify"], ["audit", "verify"]):
        code, out, err = run(capsys, "--db", str(broken), "--passphrase-file", str(passphrase_file), "--json", *cmd)
        assert code == 5 and "cases.db" in err and out == ""


def test_hq_serve_on_a_port_in_use_is_exit_6(capsys, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run(capsys, "hq", "serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'hq.db'}")
    assert code == 6 and f"127.0.0.1:{port}" in err


def test_hq_serve_port_out_of_range_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["hq", "serve", "--port", "70000"])
    assert exc.value.code == 2 and "70000" in capsys.readouterr().err
