"""Exports read back by independent readers (csv, openpyxl, networkx, followthemoney, json),
spreadsheet-formula neutralisation, audit, and atomic writes that leave nothing behind."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
from decimal import Decimal
from pathlib import Path

import networkx as nx
import pytest
from defusedxml.ElementTree import parse as xml_parse
from openpyxl import load_workbook
from sqlalchemy import select, update

from tests.core.reports.conftest import T0
from workstation.errors import StorageError, UsageError
from workstation.reports import atomic
from workstation.reports.exports import TABLES, export_case, neutralise
from workstation.store import schema as s

NASTY = {
    "=HYPERLINK(\"http://example.invalid\",\"x\")": "'=HYPERLINK",
    "+cmd|' /C calc'!A0": "'+cmd",
    "-2+3+cmd|' /C calc'!A0": "'-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM",
    "\tleading tab": "'\tleading",
    "\rleading cr": "'\rleading",
}


@pytest.fixture
def nasty_case(ws):  # noqa: ANN001, ANN201
    """A case whose text looks like spreadsheet formulas, and a debit of -87.34."""
    case_id = ws.create_case("CSV-1", "Formula test").id
    people = [ws.add_entity(case_id, "person", label).id for label in NASTY]
    ws.add_link(people[0], people[1], "associate_of", confidence=0.6)
    merchant = ws.add_entity(case_id, "organisation", "CORNER GROCERY").id
    ws.add_event(case_id, "transaction", T0, title="=1+1", properties={"amount": "-87.34", "currency": "CAD"},
                 parties=[(people[0], "cardholder"), (merchant, "merchant")])
    ws.add_event(case_id, "message", T0, title="plain", body="-5")
    for i, text in enumerate(NASTY):
        ws.add_event(case_id, "message", T0, title=f"nasty {i}", body=text)
    ws.add_note(case_id, "@everyone look")
    return case_id


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_neutralise_rules() -> None:
    for text, start in NASTY.items():
        assert neutralise(text).startswith(start)
    assert neutralise("-87.34") == "-87.34" and neutralise("+44") == "+44"
    assert neutralise("plain") == "plain" and neutralise("") == ""


def test_csv_tables_round_trip_and_neutralise(ws, nasty_case, tmp_path: Path) -> None:
    counts = {"entities": len(ws.list_entities(nasty_case)), "events": ws.count_events(nasty_case),
              "links": len(ws.list_links(case_id=nasty_case)), "notes": len(ws.list_notes(nasty_case)),
              "sources": 0, "media": 0}
    for table in TABLES:
        out = tmp_path / f"{table}.csv"
        info = export_case(ws, nasty_case, "csv", out, table=table)
        rows = read_csv(out)
        assert len(rows) == info.rows == counts[table], table
    labels = {r["label"] for r in read_csv(tmp_path / "entities.csv")}
    events = read_csv(tmp_path / "events.csv")
    bodies = {r["body"] for r in events}
    for text, start in NASTY.items():
        assert "'" + text in bodies, text
        if text == text.strip():  # the service trims labels
            assert "'" + text in labels, text
    tx = next(r for r in events if r["kind"] == "transaction")
    assert tx["amount"] == "-87.34" and tx["title"] == "'=1+1"
    assert next(r for r in events if r["kind"] == "message")["body"] == "-5"  # a number, not a formula
    assert read_csv(tmp_path / "notes.csv")[0]["body"] == "'@everyone look"
    assert "cardholder: '=HYPERLINK" in tx["parties"] or "cardholder: =HYPERLINK" in tx["parties"]


def test_xlsx_numbers_stay_numbers_and_text_is_never_a_formula(ws, nasty_case, tmp_path: Path) -> None:
    out = tmp_path / "events.xlsx"
    export_case(ws, nasty_case, "xlsx", out, table="events")
    wb = load_workbook(out)
    sheet = wb["events"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c for c in r), strict=True)) for r in sheet.iter_rows(min_row=2)]
    tx = next(r for r in rows if r["kind"].value == "transaction")
    assert tx["amount"].data_type == "n" and Decimal(str(tx["amount"].value)) == Decimal("-87.34")
    assert tx["id"].data_type == "n"
    assert tx["title"].value == "'=1+1" and tx["title"].data_type == "s"
    out2 = tmp_path / "entities.xlsx"
    export_case(ws, nasty_case, "xlsx", out2, table="entities")
    cells = [c for row in load_workbook(out2)["entities"].iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    labels = {c.value for c in cells if isinstance(c.value, str)}
    assert "'+cmd|' /C calc'!A0" in labels


def test_graphml_reads_back_with_networkx(demo_ws, tmp_path: Path) -> None:
    case = demo_ws.find_case("DEMO-2024-003")
    out = tmp_path / "chart.graphml"
    export_case(demo_ws, case.id, "graphml", out)
    g = nx.read_graphml(out)
    entities = demo_ws.list_entities(case.id, limit=None)
    links = demo_ws.list_links(case_id=case.id)
    assert g.number_of_nodes() == len(entities)
    assert g.number_of_edges() == len(links)
    by_id = {e.id: e for e in entities}
    for node, attrs in g.nodes(data=True):
        ent = by_id[int(node[1:])]
        assert attrs["kind"] == ent.kind and attrs["label"] == ent.label
        assert "x" in attrs and "y" in attrs
    kinds = sorted(d["kind"] for _a, _b, d in g.edges(data=True))
    assert kinds == sorted(lk.kind for lk in links)
    assert all(0 <= d["confidence"] <= 1 for _a, _b, d in g.edges(data=True))
    assert b"5555555555554444" not in out.read_bytes()


def test_anx_is_xml_with_every_entity_and_link(demo_ws, tmp_path: Path) -> None:
    case = demo_ws.find_case("DEMO-2024-003")
    out = tmp_path / "chart.anx"
    info = export_case(demo_ws, case.id, "anx", out)
    root = xml_parse(str(out)).getroot()
    items = root.find("ChartItemCollection")
    entities = [i for i in items if i.find("End") is not None]
    links = [i for i in items if i.find("Link") is not None]
    assert len(entities) == len(demo_ws.list_entities(case.id, limit=None))
    assert len(links) == len(demo_ws.list_links(case_id=case.id))
    assert info.rows == len(entities) + len(links)


def test_ftm_lines_parse_and_validate_with_followthemoney(demo_ws, card_case, tmp_path: Path) -> None:
    from followthemoney import model

    out = tmp_path / "case.ftm.json"
    info = export_case(demo_ws, card_case.id, "ftm", out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == info.rows
    schemata: dict[str, int] = {}
    for line in lines:
        data = json.loads(line)
        proxy = model.get_proxy(data)
        assert proxy.schema.validate(data) is None
        assert proxy.id and proxy.schema.name == data["schema"]
        schemata[data["schema"]] = schemata.get(data["schema"], 0) + 1
    n_ent = len(demo_ws.list_entities(card_case.id, limit=None))
    n_links = len(demo_ws.list_links(case_id=card_case.id))
    n_events = demo_ws.count_events(card_case.id)
    assert info.rows == n_ent + n_links + n_events
    assert schemata["Person"] == len(demo_ws.list_entities(card_case.id, kind="person"))
    assert schemata.get("Payment") and schemata.get("Message") and schemata.get("UserAccount")
    people = [json.loads(x) for x in lines if '"Person"' in x]
    assert all(p["properties"].get("birthDate") for p in people)
    suspect = max(people, key=lambda p: len(p["properties"].get("phone", [])))
    assert suspect["properties"]["phone"] and suspect["properties"]["email"]
    text = out.read_text(encoding="utf-8")
    assert "5555555555554444" not in text and "•••• 4444" in text


def test_vics_export_lists_categorised_media(demo_ws, tmp_path: Path) -> None:
    from workstation.media.hashsets import read_hashset

    case = demo_ws.find_case("DEMO-2024-005")
    with demo_ws.db.write() as conn:
        ids = [r[0] for r in conn.execute(select(s.media.c.id).where(s.media.c.case_id == case.id)
                                          .order_by(s.media.c.id))]
        conn.execute(update(s.media).where(s.media.c.id == ids[0]).values(category="1"))
        conn.execute(update(s.media).where(s.media.c.id == ids[1]).values(category="4"))
        md5s = {r[0]: r[1] for r in conn.execute(select(s.media.c.md5, s.media.c.category).where(
            s.media.c.id.in_(ids[:2])))}
    out = tmp_path / "media.json"
    info = export_case(demo_ws, case.id, "vics", out)
    assert info.rows == 2
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["value"][0]["CaseNumber"] == case.number
    entries = list(read_hashset(out))
    assert {e.md5: e.category for e in entries} == md5s


def test_every_export_is_audited_with_its_sha256(demo_ws, tmp_path: Path) -> None:
    case = demo_ws.find_case("DEMO-2024-001")
    for fmt, table in (("csv", "events"), ("xlsx", "media"), ("graphml", None), ("ftm", None)):
        out = tmp_path / f"x.{fmt}"
        info = export_case(demo_ws, case.id, fmt, out, table=table)
        with demo_ws.db.read() as conn:
            last = list(demo_ws.audit.entries(conn))[-1]
        assert last.action == f"export.{fmt}"
        assert last.details["target"] == str(out.absolute())
        assert last.details["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() == info.sha256
        assert last.details["case_id"] == case.id


def test_media_export_never_contains_thumbnails(demo_ws, tmp_path: Path) -> None:
    case = demo_ws.find_case("DEMO-2024-005")
    with demo_ws.db.read() as conn:
        thumbs = [r[0] for r in conn.execute(select(s.media.c.thumbnail).where(s.media.c.case_id == case.id))]
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"m.{fmt}"
        export_case(demo_ws, case.id, fmt, out, table="media")
        raw = out.read_bytes()
        assert all(t[100:164] not in raw for t in thumbs)
    assert "thumbnail" not in read_csv(tmp_path / "m.csv")[0]


def test_bad_requests_are_usage_errors(ws, nasty_case, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="needs --table"):
        export_case(ws, nasty_case, "csv", tmp_path / "x.csv")
    with pytest.raises(UsageError, match="format must be one of"):
        export_case(ws, nasty_case, "pdf", tmp_path / "x.pdf")
    assert list(tmp_path.glob("x.*")) == []


# ---------------------------------------------------------------------- atomic writes
def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_missing_folder_is_a_storage_error_naming_it(ws, nasty_case, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "x.csv"
    with pytest.raises(StorageError, match=str(target.parent)):
        export_case(ws, nasty_case, "csv", target, table="events")


def test_read_only_folder_gives_storage_error_and_no_file(ws, nasty_case, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        probe = folder / ".probe"
        try:
            probe.write_bytes(b"x")
            probe.unlink()
            writable = True  # running as root: permission bits do not bind
        except PermissionError:
            writable = False
        if writable:
            real_open = os.open

            def refusing_open(path, flags, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
                if Path(path).parent == folder and flags & os.O_CREAT:
                    raise PermissionError(errno.EACCES, "Permission denied", str(path))
                return real_open(path, flags, *a, **kw)

            monkeypatch.setattr(atomic.os, "open", refusing_open)
        target = folder / "events.csv"
        with pytest.raises(StorageError) as err:
            export_case(ws, nasty_case, "csv", target, table="events")
        assert str(target) in str(err.value) and "permission denied" in str(err.value)
        assert _listing(folder) == []
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("fmt,table", [("csv", "events"), ("xlsx", "entities"), ("ftm", None)])
def test_full_disk_mid_write_leaves_nothing_and_keeps_the_old_file(ws, nasty_case, tmp_path: Path,
                                                                  monkeypatch, fmt, table) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / f"x.{fmt}"
    target.write_bytes(b"the previous export")
    real_write = atomic.AtomicFile.write
    calls = {"n": 0}

    def filling_write(self, data):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data[: max(1, len(data) // 2)])

    monkeypatch.setattr(atomic.AtomicFile, "write", filling_write)
    with pytest.raises(StorageError) as err:
        export_case(ws, nasty_case, fmt, target, table=table)
    assert "disk is full" in str(err.value) and str(target) in str(err.value)
    assert calls["n"] >= 2
    assert _listing(folder) == ["x." + fmt]
    assert target.read_bytes() == b"the previous export"
    with ws.db.read() as conn:
        assert not [e for e in ws.audit.entries(conn) if e.action.startswith("export")]


def test_report_to_full_disk_leaves_nothing(demo_ws, tmp_path: Path, monkeypatch) -> None:
    from workstation.reports.report import build_report

    folder = tmp_path / "out"
    folder.mkdir()

    def full(self, data):  # noqa: ANN001, ANN202
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.AtomicFile, "write", full)
    with pytest.raises(StorageError, match="disk is full"):
        build_report(demo_ws, demo_ws.find_case("DEMO-2024-001").id, folder / "r.pdf")
    assert _listing(folder) == []
