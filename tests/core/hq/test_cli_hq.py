"""`workstation hq …` as an HQ administrator uses it: a development certificate, codes,
devices, and the server itself started from the command line."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from workstation.cli import main
from workstation.sync.client import pinned_context


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_admin_commands(capsys, tmp_path: Path) -> None:
    from cryptography import x509

    url = f"sqlite:///{tmp_path / 'hq.db'}"
    code, out, _ = run(capsys, "--json", "hq", "dev-cert", "--out", str(tmp_path / "tls"), "--name", "hq.example")
    assert code == 0
    info = json.loads(out)
    cert = x509.load_pem_x509_certificate(Path(info["cert"]).read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "hq.example" in names.get_values_for_type(x509.DNSName)
    assert cert.fingerprint(cert.signature_hash_algorithm).hex() == info["sha256"]
    assert os.stat(info["key"]).st_mode & 0o077 == 0
    code, out, _ = run(capsys, "--json", "hq", "enroll", "--db", url, "--agency", "NCA", "--officer", "DS Example",
                       "--officer-contact", "ds@example.org")
    assert code == 0 and re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", json.loads(out)["code"])
    code, out, _ = run(capsys, "--json", "hq", "devices", "--db", url)
    assert code == 0 and json.loads(out) == []
    code, _, err = run(capsys, "hq", "revoke", "no-such-device", "--db", url)
    assert code == 2 and "no enrolled" in err
    code, _, err = run(capsys, "hq", "serve", "--host", "0.0.0.0", "--db", url)
    assert code == 2 and "without TLS" in err
    code, out, _ = run(capsys, "--json", "hq", "audit", "--db", url)
    assert [e["endpoint"] for e in json.loads(out)] == ["hq enroll"]


def test_hq_serve_runs_over_tls_and_serves_its_openapi(tmp_path: Path, capsys) -> None:
    assert run(capsys, "hq", "dev-cert", "--out", str(tmp_path / "tls"))[0] == 0
    port = free_port()
    code = "import sys; from workstation.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, "hq", "serve", "--port", str(port),
                             "--db", f"sqlite:///{tmp_path / 'hq.db'}", "--tls-cert", str(tmp_path / "tls/hq.crt"),
                             "--tls-key", str(tmp_path / "tls/hq.key")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ctx = pinned_context((tmp_path / "tls/hq.crt").read_text())
        deadline = time.monotonic() + 30
        while True:
            try:
                with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=ctx) as c:
                    assert c.get("/v1/health").json()["ok"] is True
                    doc = c.get("/openapi.json").json()
                    assert doc["info"]["title"] == "Case Workstation HQ"
                    assert c.get("/v1/me").status_code == 401
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert (tmp_path / "hq.db").exists()  # migrated at startup
    finally:
        proc.terminate()
        proc.wait(timeout=20)
