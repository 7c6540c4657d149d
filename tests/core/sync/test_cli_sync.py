"""`workstation sync …` and `workstation hq import-bundle` as an officer and an HQ admin
use them: outputs, files and exit codes (6 when HQ is unreachable or refuses)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.core.sync.helpers import Laptop, enrol
from workstation.cli import main
from workstation.sync.client import META_KEY
from workstation.sync.engine import sync_now


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_db(tmp_path: Path, passphrase_file: Path, capsys) -> list[str]:
    base = ["--db", str(tmp_path / "cli.db"), "--passphrase-file", str(passphrase_file)]
    assert run(capsys, *base, "init")[0] == 0
    return base


def test_officer_workflow_from_the_command_line(cli_db, capsys, hq, template_db, tmp_path) -> None:
    code, _, err = run(capsys, *cli_db, "sync")
    assert code == 2 and "not enrolled" in err
    enrol_code = hq.service.create_enrolment("AG-CLI", "Officer Cli", officer_contact="cli@example.org")
    code, out, err = run(capsys, *cli_db, "--json", "sync", "enroll", "--hq", hq.url, "--code", enrol_code,
                         "--ca-cert", str(hq.cert.cert))
    assert code == 0, err
    info = json.loads(out)
    assert info["certificate_sha256"] == hq.cert.sha256 and info["officer"] == "Officer Cli"
    assert run(capsys, *cli_db, "case", "add", "CLI-1", "Command line case", "--sharing", "hq")[0] == 0
    assert run(capsys, *cli_db, "case", "add", "CLI-L", "Stays here")[0] == 0
    assert run(capsys, *cli_db, "entity", "add", "CLI-1", "phone", "+1 202-555-0166")[0] == 0
    code, out, err = run(capsys, *cli_db, "--json", "sync", "--now")
    assert code == 0, err
    assert json.loads(out)["pushed"] == 2
    code, out, _ = run(capsys, *cli_db, "--json", "sync", "status")
    states = {r["number"]: r["state"] for r in json.loads(out)}
    assert states == {"CLI-1": "synced", "CLI-L": "local only"}

    # A colleague's laptop edits the same entity: a conflict to resolve from the CLI.
    other = Laptop.copy_of(template_db, tmp_path, "colleague")
    try:
        enrol(other.ws, hq, "AG-CLI", "Officer Two")
        sync_now(other.ws)
        ent = other.ws.list_entities(other.ws.find_case("CLI-1").id)[0]
        other.ws.update_entity(ent.id, label="colleague's label")
        sync_now(other.ws)
        assert run(capsys, *cli_db, "entity", "update", "1", "--label", "my label")[0] == 0
        code, out, _ = run(capsys, *cli_db, "--json", "sync")
        assert json.loads(out)["conflicts"] == 1
        code, out, _ = run(capsys, *cli_db, "--json", "sync", "conflicts")
        [c] = json.loads(out)
        assert (c["mine"], c["theirs"]) == ("my label", "colleague's label")
        code, out, _ = run(capsys, *cli_db, "sync", "resolve", str(c["id"]), "--keep", "mine")
        assert code == 0 and "resolved" in out
        assert run(capsys, *cli_db, "sync")[0] == 0
        sync_now(other.ws)
        assert other.ws.get_entity(ent.id).label == "my label"
    finally:
        other.close()

    code, out, _ = run(capsys, *cli_db, "--json", "sync", "deconflict", "CLI-1")
    assert code == 0 and json.loads(out) == []

    # No network: bundle out, HQ admin imports it, acknowledgement back in.
    assert run(capsys, *cli_db, "entity", "add", "CLI-1", "email", "offline@example.org")[0] == 0
    bundle, ack = tmp_path / "out.bundle", tmp_path / "back.ack"
    code, out, err = run(capsys, *cli_db, "sync", "export-bundle", str(bundle))
    assert code == 0 and bundle.exists(), err
    code, out, err = run(capsys, "--json", "hq", "import-bundle", str(bundle), "--out", str(ack), "--db", hq.db_url)
    assert code == 0, err
    assert json.loads(out)["changed"] == 1
    code, out, err = run(capsys, *cli_db, "--json", "sync", "import-bundle", str(ack))
    assert code == 0 and json.loads(out)["records"] == 1, err
    tampered = tmp_path / "tampered.bundle"
    raw = bytearray(bundle.read_bytes())
    raw[-10] ^= 0xFF
    tampered.write_bytes(bytes(raw))
    code, _, err = run(capsys, "hq", "import-bundle", str(tampered), "--out", str(tmp_path / "x.ack"),
                       "--db", hq.db_url)
    assert code == 5 and "signature check failed" in err and not (tmp_path / "x.ack").exists()

    # HQ refuses a revoked laptop: exit code 6, with the reason.
    code, out, _ = run(capsys, "--json", "hq", "devices", "--db", hq.db_url)
    device = next(d["device_id"] for d in json.loads(out) if d["officer"] == "Officer Cli")
    assert run(capsys, "hq", "revoke", device, "--db", hq.db_url)[0] == 0
    code, _, err = run(capsys, *cli_db, "sync")
    assert code == 6 and "revoked" in err
    hq.limiter.reset()


def test_unreachable_hq_is_exit_code_6(cli_db, capsys, hq) -> None:
    enrol_code = hq.service.create_enrolment("AG-CLI2", "Officer Away")
    assert run(capsys, *cli_db, "sync", "enroll", "--hq", hq.url, "--code", enrol_code,
               "--ca-cert", str(hq.cert.cert))[0] == 0
    from workstation.domain.service import Workstation
    from workstation.store.database import Database
    from tests.conftest import PASSPHRASE

    ws = Workstation(Database.open(cli_db[1], PASSPHRASE))
    try:
        with ws.db.write() as conn:
            data = json.loads(ws.db.meta_get(conn, META_KEY))
            data["hq_url"] = "https://127.0.0.1:9"  # nothing listens there
            ws.db.meta_set(conn, META_KEY, json.dumps(data))
    finally:
        ws.db.lock()
    code, _, err = run(capsys, *cli_db, "sync")
    assert code == 6 and "cannot reach HQ" in err
