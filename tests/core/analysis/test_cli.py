"""The search / links / duplicates / occurrences / paths subcommands, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.core.analysis.conftest import PASSPHRASE, World
from workstation.cli import main


@pytest.fixture()
def run(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    pw = tmp_path / "pass.txt"
    pw.write_text(PASSPHRASE + "\n", encoding="utf-8")

    def _run(*argv: str) -> tuple[int, str, str]:
        code = main(["--db", str(world.ws.db.path), "--passphrase-file", str(pw), *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


def test_search_json(run, world: World) -> None:
    code, out, err = run("--json", "search", "bridge", "--case", "C-2024-001", "--kind", "message,transaction")
    assert code == 0, err
    doc = json.loads(out)
    assert {h["id"] for h in doc["hits"]} == {world.ids["a_msg"], world.ids["a_txn"]}
    assert doc["total_estimate"] == 2 and doc["total_capped"] is False
    assert all("«" in h["snippet"] and h["case_number"] == "C-2024-001" for h in doc["hits"])


def test_search_text_joins_words_and_shows_marks(run, world: World) -> None:
    code, out, _ = run("search", "+1", "202", "555", "0143")
    assert code == 0
    assert "C-2024-002" in out and "«" in out and "3 shown of 3 matches" in out
    code, out, _ = run("search", "nothing-like-this-anywhere")
    assert code == 0 and "no matches" in out


def test_bad_query_exits_4_with_a_clear_message(run) -> None:
    code, out, err = run("search", '"unclosed')
    assert code == 4 and out == ""
    assert "never closed" in err and "column 1" in err
    code, _, err = run("--json", "search", "bridge AND")
    assert code == 4 and "AND has nothing after it" in err


def test_links_json_explains_each_connection(run, world: World) -> None:
    code, out, err = run("--json", "links", "C-2024-001")
    assert code == 0, err
    doc = json.loads(out)
    conns = {c["other_case_number"]: c for c in doc["connections"]}
    assert set(conns) == {"C-2024-002", "C-2024-003", "C-2024-006"}
    kinds = {r["kind"] for r in conns["C-2024-002"]["reasons"]}
    assert kinds == {"identifier", "media_pdq", "person"}
    assert all(r["explanation"] for c in conns.values() for r in c["reasons"])
    assert [c["score"] for c in doc["connections"]] == sorted((c["score"] for c in doc["connections"]), reverse=True)


def test_links_text_and_window_option(run) -> None:
    code, out, _ = run("links", "C-2024-004")
    assert code == 0 and "no other case shares" in out
    code, out, _ = run("links", "C-2024-001", "--window-hours", "2")
    assert code == 0 and "198.51.100.7" not in out and "C-2024-002" in out
    code, out, _ = run("links", "C-2024-001")
    assert "198.51.100.7" in out
    code, _, err = run("links", "C-1999-404")
    assert code == 2 and "C-1999-404" in err


def test_duplicates_occurrences_and_paths(run, world: World) -> None:
    code, out, _ = run("--json", "duplicates")
    assert code == 0
    assert [(d["entity_ids"], d["basis"]) for d in json.loads(out)] == [
        ([world.ids["d_phone"], world.ids["d_phone_dup"]], "same_key")]
    code, out, _ = run("duplicates", "--case", "C-2024-001")
    assert code == 0 and "no duplicate candidates" in out
    code, out, _ = run("duplicates", "--case", "C-2024-004")
    assert "C-2024-004" in out and "+44 7700 900123" in out
    code, out, _ = run("--json", "occurrences", str(world.ids["a_card"]))
    assert code == 0
    assert [(o["case_number"], o["entity_id"]) for o in json.loads(out)] == [("C-2024-002", world.ids["b_card"])]
    code, out, _ = run("--json", "paths", str(world.ids["c_acct"]), str(world.ids["b_card"]), "--cross-case")
    assert code == 0
    assert json.loads(out)[0]["entity_ids"][0] == world.ids["c_acct"]
    code, out, _ = run("paths", str(world.ids["a_acct"]), str(world.ids["a_card"]))
    assert code == 0 and "2 hop(s)" in out and "John Smith" in out


def test_search_text_shows_a_date_only_hit_as_its_date(run, world: World, tmp_path: Path) -> None:
    # QIF gives dates only: the stored midnight (in UTC possibly the day before, or 05:00)
    # is no time to print.
    from workstation.ingest.pipeline import run_import
    from workstation.ingest.records import ImportOptions

    qif = tmp_path / "cafe.qif"
    qif.write_text("!Type:Bank\nD03/01/2024\nT-12.50\nPZEBRAFISH CAFE\n^\n", encoding="utf-8")
    run_import(world.ws, world.ws.find_case("C-2024-001").id, qif,
               options=ImportOptions(timezone="America/Toronto"))
    code, out, err = run("search", "zebrafish")
    assert code == 0, err
    lines = [ln for ln in out.splitlines() if ln.startswith("event") and "C-2024-001" in ln]
    assert lines, out
    assert all("2024-03-01 (date)" in ln and "05:00" not in ln for ln in lines), out
