"""CLI: ``report``, ``export``, ``import-ftm``, ``import-graphml`` (registered into
``workstation.cli``; contract in CLI.md).

Exit codes: 0 done · 2 usage (unknown section, format or table) · 4 bad input (a file
with problems, named with its line/node/edge and field) or a target that cannot be
written (read-only, full disk: the path is named) · 3 wrong passphrase.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from workstation.cli import _stderr_progress, emit, open_workstation
from workstation.errors import UsageError


def _progress(args: argparse.Namespace) -> Any:
    return None if args.json else _stderr_progress


def cmd_report(args: argparse.Namespace) -> int:
    from workstation.reports.report import build_report, parse_sections
    from workstation.reports.state import case_state

    sections = parse_sections(args.sections)
    targets = [(fmt, out) for fmt, out in (("pdf", args.pdf), ("html", args.html)) if out]
    if not targets and not args.state:
        raise UsageError("say where to write the report: --pdf OUT and/or --html OUT (or --state)")
    ws = open_workstation(args)
    try:
        case = ws.find_case(args.case)
        if args.state:
            st = case_state(ws, case.id)
            emit(args, {"case": case.number, "state_digest": st.digest, "audit_seq": st.audit_seq,
                        "records": st.rows},
                 f"{case.number} state {st.digest} (audit entry #{st.audit_seq}, {st.rows:,} records)")
            if not targets:
                return 0
        results = [build_report(ws, case.id, out, fmt=fmt, sections=sections, progress=_progress(args),
                                key_events=args.key_events, page_size=args.paper) for fmt, out in targets]
    finally:
        ws.db.lock()
    value: Any = results[0].to_json() if len(results) == 1 else [r.to_json() for r in results]
    emit(args, value, lambda: "\n".join(
        f"report of {r.case_number} written to {r.path} ({r.fmt.upper()}"
        + (f", {r.pages} pages" if r.pages else "") + f", {r.size:,} bytes)\n"
        f"  sha256 {r.sha256}\n  state  {r.state.digest}" for r in results))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from workstation.reports.exports import export_case

    ws = open_workstation(args)
    try:
        case = ws.find_case(args.case)
        info = export_case(ws, case.id, args.format, args.out, table=args.table, progress=_progress(args))
    finally:
        ws.db.lock()

    def text() -> str:
        what = f"{info.rows:,} {info.table} rows" if info.table else f"{info.rows:,} items"
        lines = [f"exported {what} of {case.number} as {info.fmt.upper()} to {info.path} ({info.size:,} bytes)",
                 f"  sha256 {info.sha256}"]
        lines += [f"  warning: {w}" for w in info.warnings]
        return "\n".join(lines)

    emit(args, info.to_json(), text)
    return 0


def _cmd_import(args: argparse.Namespace, which: str) -> int:
    from workstation.reports.interop import import_ftm, import_graphml

    fn = import_ftm if which == "ftm" else import_graphml
    ws = open_workstation(args)
    try:
        case = ws.find_case(args.case)
        result = fn(ws, case.id, args.file, allow_partial=args.allow_partial, progress=_progress(args))
    finally:
        ws.db.lock()

    def text() -> str:
        name = Path(args.file).name
        if result.duplicate_of is not None:
            return f"{name} was already imported into case {case.number} (source {result.duplicate_of}); nothing changed"
        lines = [f"imported {name} into {case.number} (source {result.source_id}): {result.entities:,} new entities, "
                 f"{result.links:,} links, {result.events:,} events, {result.skipped:,} problem records skipped"]
        lines += [f"  skipped {e.row}{' field ' + repr(e.field) if e.field else ''}: {e.message}" for e in result.errors[:50]]
        lines += [f"  warning: {w}" for w in result.warnings[:20]]
        return "\n".join(lines)

    emit(args, result.to_json(), text)
    return 0


def cmd_import_ftm(args: argparse.Namespace) -> int:
    return _cmd_import(args, "ftm")


def cmd_import_graphml(args: argparse.Namespace) -> int:
    return _cmd_import(args, "graphml")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the report/export/interop subcommands to the main parser."""
    from workstation.reports.exports import FORMATS, TABLES
    from workstation.reports.report import SECTIONS

    sp = sub.add_parser("report", help="write the case report as PDF and/or HTML",
                        description="Write the case report. The cover is always included; choose the "
                                    f"other sections with --sections (default all: {', '.join(SECTIONS)}). "
                                    "The export is audited with the file's SHA-256.")
    sp.add_argument("case", help="case number (or id)")
    sp.add_argument("--pdf", metavar="OUT", help="write a PDF here")
    sp.add_argument("--html", metavar="OUT", help="write a self-contained HTML page here")
    sp.add_argument("--sections", metavar="A,B,C", help=f"sections to include: {','.join(SECTIONS)} (or all)")
    sp.add_argument("--key-events", type=int, default=25, metavar="N", help="how many key events (default 25)")
    sp.add_argument("--paper", default="A4", choices=["A4", "letter"], help="PDF page size (default A4)")
    sp.add_argument("--state", action="store_true",
                    help="print the case's state digest (compare with a printed report)")
    sp.set_defaults(func=cmd_report)

    sp = sub.add_parser("export", help="export a case table, chart, FtM entities or VICS media hashes",
                        description="Export a case. csv/xlsx need --table. graphml/anx: the link chart; "
                                    "ftm: FollowTheMoney JSON lines; vics: categorised media as VICS 2.0 JSON. "
                                    "Written atomically and audited with its SHA-256.")
    sp.add_argument("case", help="case number (or id)")
    sp.add_argument("--format", required=True, choices=list(FORMATS), type=str.lower)
    sp.add_argument("--out", required=True, metavar="OUT", help="the file to write")
    sp.add_argument("--table", choices=list(TABLES), type=str.lower, help="for csv/xlsx: which table")
    sp.set_defaults(func=cmd_export)

    for name, func, what in (("import-ftm", cmd_import_ftm, "FollowTheMoney entities (JSON lines)"),
                             ("import-graphml", cmd_import_graphml, "a GraphML graph (Gephi, yEd, Cytoscape)")):
        sp = sub.add_parser(name, help=f"import {what} into a case",
                            description=f"Import {what}. The file is checked first: unknown schemata, "
                                        "dangling references and unreadable records are listed and nothing "
                                        "is imported unless --allow-partial is given.")
        sp.add_argument("case", help="case number (or id)")
        sp.add_argument("file")
        sp.add_argument("--allow-partial", action="store_true",
                        help="import every record without a problem and list the problems")
        sp.set_defaults(func=func)


__all__ = ["register"]
