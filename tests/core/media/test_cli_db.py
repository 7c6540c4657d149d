"""``workstation media …`` and ``workstation hashset …`` as a script uses them: JSON output
and exit codes (CLI.md: 4 for bad input)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.core.media import gen
from workstation.cli import main
from workstation.media.hashsets import read_hashset


def run(capsys, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_media_and_hashset_commands(db_path: Path, passphrase_file: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    base = ["--db", str(db_path), "--passphrase-file", str(passphrase_file)]
    assert run(capsys, *base, "case", "add", "M-1", "Seized phone")[0] == 0
    src = tmp_path / "phone"
    src.mkdir()
    for i in range(3):
        (src / f"p{i}.jpg").write_bytes(gen.jpeg_bytes(160, 120, seed=i))
    (src / "bomb.png").write_bytes(gen.png_bomb())

    code, out, _ = run(capsys, *base, "--json", "media", "ingest", "M-1", str(src), "--workers", "1")
    assert code == 0
    res = json.loads(out)
    assert (res["added"], res["skipped"], res["cancelled"]) == (4, 0, False)
    assert [p["reason"] for p in res["problems"]] == ["bomb"]
    code, out, _ = run(capsys, *base, "--json", "media", "ingest", "M-1", str(src))
    assert json.loads(out)["skipped"] == 4

    code, out, _ = run(capsys, *base, "--json", "media", "list", "M-1")
    items = {i["name"]: i for i in json.loads(out)}
    assert set(items) == {"p0.jpg", "p1.jpg", "p2.jpg", "bomb.png"}
    assert items["p1.jpg"]["md5"] == hashlib.md5((src / "p1.jpg").read_bytes()).hexdigest()
    assert "thumbnail" not in items["p1.jpg"]

    code, out, _ = run(capsys, *base, "--json", "media", "categorise", "M-1", str(items["p1.jpg"]["id"]), "1")
    assert code == 0 and json.loads(out)["media_ids"] == [items["p1.jpg"]["id"]]
    code, out, _ = run(capsys, *base, "--json", "media", "list", "M-1", "--category", "1")
    assert [i["name"] for i in json.loads(out)] == ["p1.jpg"]
    code, _, err = run(capsys, *base, "media", "categorise", "M-1", str(items["p1.jpg"]["id"]), "7")
    assert code == 4 and "not in scheme" in err

    bad_set = tmp_path / "notes.txt"
    bad_set.write_text("this is not\na hash set at all\n")
    code, _, err = run(capsys, *base, "hashset", "import", str(bad_set))
    assert code == 4 and "notes.txt" in err
    listing = tmp_path / "alerts.md5"
    listing.write_text(f"{items['p2.jpg']['md5']}  p2.jpg\n")
    code, out, _ = run(capsys, *base, "--json", "hashset", "import", str(listing), "--kind", "alert",
                       "--name", "watchlist")
    hs = json.loads(out)
    assert (hs["entries"], hs["kind"], hs["alerts"], hs["format"]) == (1, "alert", 1, "hash_list")
    code, out, _ = run(capsys, *base, "--json", "hashset", "list")
    assert [(h["name"], h["entry_count"]) for h in json.loads(out)] == [("watchlist", 1)]
    code, out, _ = run(capsys, *base, "--json", "media", "list", "M-1", "--alerts")
    assert [i["name"] for i in json.loads(out)] == ["p2.jpg"]
    code, out, _ = run(capsys, *base, "--json", "media", "alerts", "M-1")
    assert [a["set_name"] for a in json.loads(out)] == ["watchlist"]

    out_file = tmp_path / "vics.json"
    code, out, _ = run(capsys, *base, "--json", "media", "export-vics", "M-1", str(out_file))
    assert code == 0 and json.loads(out)["count"] == 1
    assert [e.md5 for e in read_hashset(out_file)] == [items["p1.jpg"]["md5"]]

    assert run(capsys, *base, "media", "ingest", "M-1", str(tmp_path / "absent"))[0] == 4
    assert run(capsys, *base, "media", "export-vics", "M-1", str(tmp_path / "no" / "x.json"))[0] == 4
    assert run(capsys, *base, "media", "list", "NOPE")[0] == 2
