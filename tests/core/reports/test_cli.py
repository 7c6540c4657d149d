"""`workstation report`, `export`, `import-ftm`, `import-graphml` as a script uses them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from workstation.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli(demo_template: Path, tmp_path: Path, passphrase_file: Path) -> list[str]:
    db = tmp_path / "cli.db"
    shutil.copy2(demo_template, db)
    return ["--db", str(db), "--passphrase-file", str(passphrase_file)]


def test_report_pdf_and_html_with_state(cli, capsys, tmp_path: Path) -> None:
    pdf, html = tmp_path / "r.pdf", tmp_path / "r.html"
    code, out, err = run(capsys, *cli, "--json", "report", "DEMO-2024-002", "--pdf", str(pdf),
                         "--html", str(html), "--sections", "summary,events,timeline")
    assert code == 0, err
    results = json.loads(out)
    assert [r["format"] for r in results] == ["pdf", "html"]
    assert results[0]["state_digest"] == results[1]["state_digest"]
    assert results[0]["pages"] == len(PdfReader(str(pdf)).pages) > 0
    assert "DEMO-2024-002" in html.read_text(encoding="utf-8")
    code, out, _ = run(capsys, *cli, "--json", "report", "DEMO-2024-002", "--state")
    assert code == 0 and json.loads(out)["state_digest"] == results[0]["state_digest"]
    code, out, _ = run(capsys, *cli, "report", "DEMO-2024-002", "--pdf", str(pdf))
    assert code == 0 and f"written to {pdf}" in out and "sha256" in out


def test_report_usage_errors(cli, capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, *cli, "report", "DEMO-2024-002", "--pdf", str(tmp_path / "r.pdf"),
                       "--sections", "summary,photos")
    assert code == 2 and "photos" in err
    code, _, err = run(capsys, *cli, "report", "DEMO-2024-002")
    assert code == 2 and "--pdf" in err
    code, _, err = run(capsys, *cli, "report", "NO-SUCH-CASE", "--pdf", str(tmp_path / "r.pdf"))
    assert code == 2 and "NO-SUCH-CASE" in err
    assert not (tmp_path / "r.pdf").exists()


@pytest.mark.parametrize("fmt,table", [("csv", "events"), ("xlsx", "entities"), ("graphml", None),
                                       ("anx", None), ("ftm", None), ("vics", None)])
def test_export_every_format(cli, capsys, tmp_path: Path, fmt: str, table: str | None) -> None:
    out_file = tmp_path / f"x.{fmt}"
    argv = [*cli, "--json", "export", "DEMO-2024-003", "--format", fmt.upper(), "--out", str(out_file)]
    if table:
        argv += ["--table", table]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    info = json.loads(out)
    assert info["path"] == str(out_file.absolute()) and info["size"] == out_file.stat().st_size > 0


def test_export_errors_exit_codes(cli, capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, *cli, "export", "DEMO-2024-003", "--format", "csv", "--out", str(tmp_path / "x.csv"))
    assert code == 2 and "--table" in err
    target = tmp_path / "gone" / "x.csv"
    code, _, err = run(capsys, *cli, "export", "DEMO-2024-003", "--format", "csv", "--table", "links",
                       "--out", str(target))
    assert code == 4 and str(target) in err


def test_import_ftm_and_graphml(cli, capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ftm"
    bad.write_text(json.dumps({"id": "p1", "schema": "Person", "properties": {"name": ["Sam Demoford"]}}) + "\n"
                   + json.dumps({"id": "l1", "schema": "UnknownLink",
                                 "properties": {"subject": ["p1"], "object": ["nowhere"]}}) + "\n", encoding="utf-8")
    code, _, err = run(capsys, *cli, "import-ftm", "DEMO-2024-004", str(bad))
    assert code == 4 and "line 2" in err and "nowhere" in err and "--allow-partial" in err
    code, out, err = run(capsys, *cli, "--json", "import-ftm", "DEMO-2024-004", str(bad), "--allow-partial")
    assert code == 0, err
    result = json.loads(out)
    assert result["entities"] == 1 and result["skipped"] == 1 and result["errors"][0]["row"] == "line 2"
    chart = tmp_path / "c.graphml"
    assert run(capsys, *cli, "export", "DEMO-2024-004", "--format", "graphml", "--out", str(chart))[0] == 0
    code, out, err = run(capsys, *cli, "case", "add", "GML-2", "GraphML copy")
    code, out, err = run(capsys, *cli, "--json", "import-graphml", "GML-2", str(chart))
    assert code == 0, err and json.loads(out)["entities"] > 0
    assert json.loads(out)["links"] > 0
