"""Exports of a case: tables as CSV or XLSX, the link chart as GraphML or i2 ANX, the
case as FollowTheMoney entities (JSON lines), and its categorised media as VICS JSON.

Every export is an explicit act of the officer: the file is written atomically in the
target folder (temp file, fsync, rename — see :mod:`workstation.reports.atomic`) and the
export is audited with its path and SHA-256 (``export.<format>``). A read-only or full
location gives a StorageError naming the path, and leaves no partial file behind.

Spreadsheet safety: a text cell that starts with ``=``, ``+``, ``-``, ``@``, TAB or CR would
be run as a formula by Excel/LibreOffice ("CSV injection"), so it gets a leading
apostrophe; a plain number (``-87.34``) is left alone, and in XLSX amounts, ids, sizes and
confidences are written as numeric cells so sums still work. Payment cards appear only
masked (``•••• 1234``); the stored full number (``entity.sensitive``) is never exported,
nor is any media thumbnail.

Threading: blocking; the UI runs exports on the ``db`` lane. Progress and cancel as in
the import pipeline.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, Text, and_, select, type_coerce

from workstation.errors import Cancelled, NotFound, UsageError
from workstation.reports.atomic import atomic_write, check_target
from workstation.reports.masking import entity_display
from workstation.store import schema as s
from workstation.text import json_object

if TYPE_CHECKING:
    from workstation.domain.service import Workstation

Progress = Callable[[float, str], None]


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


FORMATS: tuple[str, ...] = ("csv", "xlsx", "graphml", "anx", "ftm", "vics")
TABLES: tuple[str, ...] = ("entities", "events", "links", "notes", "sources", "media")
FORMAT_LABELS: dict[str, str] = {
    "csv": "CSV table (UTF-8, Excel-safe)", "xlsx": "Excel workbook (XLSX)",
    "graphml": "GraphML link chart (Gephi, yEd, Cytoscape)", "anx": "i2 Analyst's Notebook chart (ANX)",
    "ftm": "FollowTheMoney entities (JSON lines, Aleph)", "vics": "Project VIC VICS JSON (categorised media)",
}
FORMAT_SUFFIX: dict[str, str] = {"csv": ".csv", "xlsx": ".xlsx", "graphml": ".graphml", "anx": ".anx",
                                 "ftm": ".ftm.json", "vics": ".json"}
TABLE_FORMATS = ("csv", "xlsx")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d+)?|\.\d+)(?:[eE][+-]?\d+)?")
_XLSX_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
XLSX_CELL_MAX = 32767
XLSX_ROWS_MAX = 1_048_575
CANCEL_EVERY = 2000
LAYOUT_LIMIT = 5000


@dataclass(frozen=True)
class ExportInfo:
    """What was written: where, in which format, how many rows/items, size and SHA-256."""

    path: Path
    fmt: str
    table: str | None
    rows: int
    size: int
    sha256: str
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.fmt, "table": self.table, "rows": self.rows,
                "size": self.size, "sha256": self.sha256, "warnings": list(self.warnings)}


# ====================================================================== cell safety
def neutralise(value: str) -> str:
    """A text cell safe to open in a spreadsheet: formula triggers get a leading apostrophe
    (``=1+1`` → ``'=1+1``); plain numbers such as ``-87.34`` stay as they are."""
    if value and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _number(value: Any) -> int | float | Decimal | None:
    """A number for a numeric cell (exact decimals kept), or None when not numeric."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, Decimal)):
        return value
    text = str(value).strip()
    if not _PLAIN_NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None


# ====================================================================== tables
@dataclass(frozen=True)
class Column:
    name: str
    numeric: bool = False


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str) if value else ""


_ZONES: dict[int, Any] = {}


def _dt(ts: int, offset: int | None = None) -> Any:
    # Whole seconds through the C fast path, microseconds added exactly (no float rounding).
    tz = UTC
    if offset is not None:
        tz = _ZONES.get(offset) or _ZONES.setdefault(offset, timezone(timedelta(minutes=int(offset))))
    secs, micros = divmod(int(ts), 1_000_000)
    return datetime.fromtimestamp(secs, tz).replace(microsecond=micros)


def _iso_us(ts: int | None) -> str:
    return "" if ts is None else _dt(ts).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _iso_local(ts: int | None, offset: int | None) -> str:
    return "" if ts is None else _dt(ts, offset).isoformat()


def _safe_props(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    # Card properties keep brand/bin/last4 (the issuer and the visible digits) but never
    # anything that could hold the whole number.
    if kind == "card":
        return {k: v for k, v in props.items() if k not in ("number", "pan", "full", "sensitive")}
    return props


TableRows = tuple[list[Column], Iterator[list[Any]], int]


def _table_entities(conn: Connection, case_id: int) -> TableRows:
    E = s.entity
    where = and_(E.c.case_id == case_id, E.c.deleted.is_(False))
    cols = [Column("id", True), Column("uid"), Column("kind"), Column("label"), Column("key"),
            Column("merged_into", True), Column("properties"), Column("source_id", True),
            Column("source_ref"), Column("created_at"), Column("updated_at")]
    total = _count(conn, E, where)

    def rows() -> Iterator[list[Any]]:
        q = select(E.c.id, E.c.uid, E.c.kind, E.c.label, E.c.key, E.c.merged_into, E.c.properties,
                   E.c.source_id, E.c.source_ref, E.c.created_at, E.c.updated_at).where(where).order_by(E.c.id)
        for r in conn.execute(q).yield_per(2000):
            props = json_object(r.properties)
            # A card's key is a keyed fingerprint only this database can recompute: useless
            # outside and best not spread.
            key = "" if r.kind == "card" else (r.key or "")
            yield [r.id, r.uid, r.kind, entity_display(r.kind, r.label, props) if r.kind == "card" else r.label,
                   key, r.merged_into, _dump(_safe_props(r.kind, props)), r.source_id, r.source_ref or "",
                   r.created_at, r.updated_at]
    return cols, rows(), total


def _labels(conn: Connection, case_id: int) -> dict[int, str]:
    """Entity id → the label exports show (cards masked), for party columns."""
    E = s.entity
    out: dict[int, str] = {}
    for eid, kind, label, props in conn.execute(select(E.c.id, E.c.kind, E.c.label, E.c.properties).where(
            E.c.case_id == case_id)):
        out[eid] = entity_display(kind, label, json_object(props)) if kind == "card" else label
    return out


def _table_events(conn: Connection, case_id: int) -> TableRows:
    V = s.event
    where = and_(V.c.case_id == case_id, V.c.deleted.is_(False))
    cols = [Column("id", True), Column("uid"), Column("kind"), Column("time_utc"), Column("time_local"),
            Column("utc_offset_minutes", True), Column("title"), Column("body"), Column("parties"),
            Column("amount", True), Column("currency"), Column("properties"), Column("source_id", True),
            Column("source_ref")]
    total = _count(conn, V, where)

    def rows() -> Iterator[list[Any]]:
        labels = _labels(conn, case_id)
        # Properties as stored (JSON text): parsed only when they may hold an amount.
        q = select(V.c.id, V.c.uid, V.c.kind, V.c.ts_utc, V.c.utc_offset, V.c.title, V.c.body,
                   type_coerce(V.c.properties, Text), V.c.source_id, V.c.source_ref).where(where).order_by(
            V.c.ts_utc, V.c.id)
        batch: list[Any] = []
        for r in conn.execute(q).yield_per(2000):
            batch.append(tuple(r))
            if len(batch) >= 2000:
                yield from _event_batch(conn, batch, labels)
                batch = []
        if batch:
            yield from _event_batch(conn, batch, labels)
    return cols, rows(), total


def _event_batch(conn: Connection, batch: Sequence[Any], labels: Mapping[int, str]) -> Iterator[list[Any]]:
    ep = s.event_party
    parties: dict[int, list[str]] = {}
    for i in range(0, len(batch), 900):
        ids = [r[0] for r in batch[i:i + 900]]
        q = select(ep.c.event_id, ep.c.role, ep.c.entity_id).where(ep.c.event_id.in_(ids)).order_by(ep.c.id)
        for event_id, role, entity_id in conn.execute(q):
            parties.setdefault(event_id, []).append(f"{role}: {labels.get(entity_id, f'#{entity_id}')}")
    for eid, uid, kind, ts, off, title, body, props_text, source_id, source_ref in batch:
        amount: Any = None
        currency = ""
        if props_text and ('"amount"' in props_text or '"currency"' in props_text):
            props = json_object(props_text)
            amount = _number(props.get("amount"))
            currency = str(props.get("currency") or "")
        yield [eid, uid, kind, _iso_us(ts), _iso_local(ts, off), off, title or "", body or "",
               "; ".join(parties.get(eid, ())), amount, currency,
               "" if props_text in (None, "{}", "null") else props_text, source_id, source_ref or ""]


def _table_links(conn: Connection, case_id: int) -> TableRows:
    L, E = s.link, s.entity
    a, b = E.alias("a"), E.alias("b")
    where = and_(L.c.case_id == case_id, L.c.deleted.is_(False))
    cols = [Column("id", True), Column("uid"), Column("src_id", True), Column("src_label"), Column("kind"),
            Column("dst_id", True), Column("dst_label"), Column("confidence", True), Column("properties"),
            Column("source_id", True), Column("source_ref"), Column("created_at")]
    total = _count(conn, L, where)

    def rows() -> Iterator[list[Any]]:
        q = (select(L.c.id, L.c.uid, L.c.src_id, a.c.kind.label("ak"), a.c.label.label("al"),
                    a.c.properties.label("ap"), L.c.kind, L.c.dst_id, b.c.kind.label("bk"), b.c.label.label("bl"),
                    b.c.properties.label("bp"), L.c.confidence, L.c.properties, L.c.source_id, L.c.source_ref,
                    L.c.created_at)
             .join(a, a.c.id == L.c.src_id).join(b, b.c.id == L.c.dst_id).where(where).order_by(L.c.id))
        for r in conn.execute(q).yield_per(2000):
            yield [r.id, r.uid, r.src_id, entity_display(r.ak, r.al, json_object(r.ap)) if r.ak == "card" else r.al, r.kind,
                   r.dst_id, entity_display(r.bk, r.bl, json_object(r.bp)) if r.bk == "card" else r.bl,
                   float(r.confidence), _dump(json_object(r.properties)), r.source_id, r.source_ref or "", r.created_at]
    return cols, rows(), total


def _table_notes(conn: Connection, case_id: int) -> TableRows:
    N = s.note
    where = and_(N.c.case_id == case_id, N.c.deleted.is_(False))
    cols = [Column("id", True), Column("uid"), Column("target_type"), Column("target_id", True),
            Column("author"), Column("created_at"), Column("updated_at"), Column("body")]
    total = _count(conn, N, where)

    def rows() -> Iterator[list[Any]]:
        q = select(N.c.id, N.c.uid, N.c.target_type, N.c.target_id, N.c.author, N.c.created_at,
                   N.c.updated_at, N.c.body).where(where).order_by(N.c.created_at, N.c.id)
        for r in conn.execute(q):
            yield [r.id, r.uid, r.target_type or "case", r.target_id, r.author, r.created_at, r.updated_at, r.body]
    return cols, rows(), total


def _table_sources(conn: Connection, case_id: int) -> TableRows:
    S = s.source
    where = and_(S.c.case_id == case_id, S.c.deleted.is_(False))
    cols = [Column("id", True), Column("uid"), Column("file_name"), Column("file_size", True),
            Column("sha256"), Column("importer"), Column("options"), Column("imported_by"), Column("imported_at")]
    total = _count(conn, S, where)

    def rows() -> Iterator[list[Any]]:
        q = select(S.c.id, S.c.uid, S.c.file_name, S.c.file_size, S.c.sha256, S.c.importer, S.c.options,
                   S.c.imported_by, S.c.imported_at).where(where).order_by(S.c.id)
        for r in conn.execute(q):
            yield [r.id, r.uid, r.file_name, r.file_size, r.sha256, r.importer, _dump(json_object(r.options)),
                   r.imported_by, r.imported_at]
    return cols, rows(), total


def _table_media(conn: Connection, case_id: int) -> TableRows:
    M = s.media
    where = and_(M.c.case_id == case_id, M.c.deleted.is_(False))
    cols = [Column("id", True), Column("uid"), Column("path"), Column("size", True), Column("mime"),
            Column("md5"), Column("sha1"), Column("sha256"), Column("pdq"), Column("pdq_quality", True),
            Column("width", True), Column("height", True), Column("captured_utc"), Column("category"),
            Column("categorised_by"), Column("categorised_at"), Column("source_id", True)]
    total = _count(conn, M, where)

    def rows() -> Iterator[list[Any]]:
        # Hashes and facts only: the thumbnail column is never selected.
        q = select(M.c.id, M.c.uid, M.c.path, M.c.size, M.c.mime, M.c.md5, M.c.sha1, M.c.sha256, M.c.pdq,
                   M.c.pdq_quality, M.c.width, M.c.height, M.c.captured_utc, M.c.category, M.c.categorised_by,
                   M.c.categorised_at, M.c.source_id).where(where).order_by(M.c.id)
        for r in conn.execute(q).yield_per(2000):
            yield [r.id, r.uid, r.path, r.size, r.mime, r.md5, r.sha1, r.sha256, r.pdq or "", r.pdq_quality,
                   r.width, r.height, _iso_us(r.captured_utc), r.category or "", r.categorised_by or "",
                   r.categorised_at or "", r.source_id]
    return cols, rows(), total


_TABLES: dict[str, Callable[[Connection, int], TableRows]] = {
    "entities": _table_entities, "events": _table_events, "links": _table_links, "notes": _table_notes,
    "sources": _table_sources, "media": _table_media,
}


def _count(conn: Connection, table: Any, where: Any) -> int:
    from sqlalchemy import func

    return int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    return neutralise(str(value))


def _write_csv(fh: Any, cols: Sequence[Column], rows: Iterable[list[Any]], tick: Callable[[int], None]) -> int:
    # UTF-8 with a byte-order mark: Excel then reads accents and emoji correctly.
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="", write_through=False)
    w = csv.writer(text, dialect="excel", quoting=csv.QUOTE_MINIMAL)
    w.writerow([c.name for c in cols])
    n = 0
    for row in rows:
        w.writerow([_cell_text(v) for v in row])
        n += 1
        tick(n)
    text.flush()
    text.detach()
    return n


def _xlsx_text(value: str) -> str:
    value = _XLSX_BAD.sub("\ufffd", value)
    if len(value) > XLSX_CELL_MAX:
        value = value[: XLSX_CELL_MAX - 40] + " … [truncated: longer than an Excel cell]"
    return neutralise(value)


def _write_xlsx(fh: Any, sheet: str, cols: Sequence[Column], rows: Iterable[list[Any]],
                tick: Callable[[int], None], warnings: list[str]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws_ = wb.create_sheet(sheet)
    bold = Font(bold=True)
    header = []
    for c in cols:
        cell = WriteOnlyCell(ws_, value=c.name)
        cell.font = bold
        header.append(cell)
    ws_.append(header)
    ws_.freeze_panes = "A2"
    n = 0
    for row in rows:
        if n >= XLSX_ROWS_MAX:
            warnings.append(f"Excel holds at most {XLSX_ROWS_MAX:,} rows per sheet; the rest were left out "
                            "(use CSV for the whole table)")
            break
        out: list[Any] = []
        for col, v in zip(cols, row, strict=True):
            if v is None:
                out.append(None)
            elif col.numeric:
                num = _number(v)
                out.append(num if num is not None else _xlsx_text(str(v)))
            elif isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
                out.append(v)
            else:
                # Neutralised text never starts with "=", so openpyxl stores it as a string
                # cell, never as a formula (plain values are also ~10x faster than cells).
                out.append(_xlsx_text(str(v)))
        ws_.append(out)
        n += 1
        tick(n)
    wb.save(fh)
    return n


# ====================================================================== chart formats
def _chart(ws: Workstation, case_id: int, cancel: CancelToken | None) -> tuple[Any, dict[int, tuple[float, float]]]:
    from workstation.analysis import graph as g

    chart = g.chart_from_case(ws, case_id)
    positions: dict[int, tuple[float, float]] = {}
    if 0 < len(chart.nodes) <= LAYOUT_LIMIT:
        # Positions make the file open looking like a chart rather than a hairball.
        positions = g.compute_layout(chart, "force", seed=7, cancel=cancel)
    return chart, positions


# ====================================================================== VICS
def _vics_entries(conn: Connection, case_id: int) -> Iterator[Any]:
    from workstation.media.hashsets import HashSetEntry

    M = s.media
    q = (select(M.c.md5, M.c.sha1, M.c.sha256, M.c.pdq, M.c.pdq_quality, M.c.category, M.c.path, M.c.size)
         .where(M.c.case_id == case_id, M.c.deleted.is_(False), M.c.category.is_not(None))
         .order_by(M.c.id))
    for r in conn.execute(q).yield_per(2000):
        name = re.split(r"[\\/]", r.path or "")[-1] or None
        yield HashSetEntry(md5=(r.md5 or "").lower() or None, sha1=(r.sha1 or "").lower() or None,
                           sha256=(r.sha256 or "").lower() or None, pdq=r.pdq or None,
                           pdq_quality=r.pdq_quality, category=str(r.category), file_name=name, size=r.size)


# ====================================================================== entry point
def export_case(ws: Workstation, case_id: int, fmt: str, out_path: str | Path, *, table: str | None = None,
                progress: Progress | None = None, cancel: CancelToken | None = None,
                vics_version: str = "2.0") -> ExportInfo:
    """Export case ``case_id`` as ``fmt`` (:data:`FORMATS`) to ``out_path``.

    ``table`` (:data:`TABLES`) is required for csv/xlsx and ignored otherwise. Writes
    atomically and audits (``export.<fmt>``). Raises UsageError (bad format/table),
    NotFound (case), StorageError (target not writable: read-only, full, missing folder),
    Cancelled. Thread: a worker.
    """
    fmt = (fmt or "").strip().lower().lstrip(".")
    if fmt == "json" and table is None:
        fmt = "ftm"
    if fmt not in FORMATS:
        raise UsageError(f"export format must be one of {', '.join(FORMATS)}")
    if fmt in TABLE_FORMATS:
        table = (table or "").strip().lower()
        if table not in TABLES:
            raise UsageError(f"a {fmt.upper()} export needs --table, one of {', '.join(TABLES)}")
    else:
        table = None
    report = progress or (lambda f, m: None)
    case = ws.get_case(case_id)  # NotFound before any file is touched
    check_target(out_path)
    warnings: list[str] = []
    rows_written = 0

    def ticker(total: int) -> Callable[[int], None]:
        def tick(n: int) -> None:
            if n % CANCEL_EVERY == 0:
                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"the export of {case.number} was cancelled; no file was written")
                report(min(0.95, n / max(total, 1)), f"{n:,} of {total:,} rows")
        return tick

    report(0.0, f"exporting {case.number} as {fmt.upper()}")
    if fmt in ("graphml", "anx"):
        from workstation.analysis import graph as g

        chart, positions = _chart(ws, case_id, cancel)
        with atomic_write(out_path) as (fh, result):
            if fmt == "graphml":
                g.write_graphml(chart, fh, positions=positions)
            else:
                g.write_anx(chart, fh, positions=positions)
        rows_written = len(chart.nodes) + len(chart.links)
        if chart.truncated:
            warnings.append(f"the case has more than {len(chart.nodes):,} entities; the chart holds the first ones")
    else:
        with ws.db.read() as conn, atomic_write(out_path) as (fh, result):
            if fmt in TABLE_FORMATS:
                assert table is not None
                cols, rows, total = _TABLES[table](conn, case_id)
                if fmt == "csv":
                    rows_written = _write_csv(fh, cols, rows, ticker(total))
                else:
                    rows_written = _write_xlsx(fh, table, cols, rows, ticker(total), warnings)
            elif fmt == "ftm":
                from workstation.reports.interop import write_ftm

                rows_written = write_ftm(ws, conn, case_id, fh, tick=ticker(1))
            elif fmt == "vics":
                from workstation.media.hashsets import write_vics_json

                text = io.TextIOWrapper(fh, encoding="utf-8", newline="\n")
                rows_written = write_vics_json(_vics_entries(conn, case_id), text, vics_version,
                                               case_number=case.number)
                text.flush()
                text.detach()
                if rows_written == 0:
                    warnings.append("no media of this case is categorised yet; the VICS file lists none")
    ws.record_export(f"export.{fmt}", str(result.path), result.sha256, {
        "case_id": case_id, "case": case.number, "format": fmt, "table": table, "rows": rows_written,
        "bytes": result.size})
    report(1.0, f"{rows_written:,} {'rows' if table else 'items'} written to {result.path.name}")
    return ExportInfo(result.path, fmt, table, rows_written, result.size, result.sha256, tuple(warnings))


def default_file_name(case_number: str, fmt: str, table: str | None = None) -> str:
    """A sensible file name for an export (``DEMO-2024-003-events.csv``)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", case_number).strip("_") or "case"
    middle = f"-{table}" if table else {"graphml": "-chart", "anx": "-chart", "ftm": "-entities",
                                        "vics": "-media-vics"}.get(fmt, "")
    return f"{safe}{middle}{FORMAT_SUFFIX.get(fmt, '.' + fmt)}"


__all__ = ["export_case", "ExportInfo", "FORMATS", "TABLES", "FORMAT_LABELS", "TABLE_FORMATS",
           "neutralise", "default_file_name"]
