"""CLI: `import`, `formats`, `profile` (registered into workstation.cli)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from workstation.cli import _stderr_progress, emit, open_workstation
from workstation.errors import BadInput


def cmd_import(args: argparse.Namespace) -> int:
    from workstation.ingest.pipeline import preview, run_import
    from workstation.ingest.profiles import get_profile
    from workstation.ingest.records import ImportOptions

    ws = open_workstation(args)
    try:
        case = ws.find_case(args.case)
        profile = get_profile(ws, args.profile).to_dict() if args.profile else None
        options = ImportOptions(timezone=args.timezone or case.timezone,
                                default_region=args.region or ws.settings.phone_region,
                                profile=profile, encoding=args.encoding, owner=args.owner,
                                strict=not args.lenient, date_order=args.date_order)
        if args.preview:
            pv = preview(args.file, fmt=args.format, options=options, limit=args.preview)
            emit(args, {"format": pv.format, "records": [r.__dict__ for r in pv.records],
                        "problems": [p.__dict__ for p in pv.problems]},
                 lambda: "\n".join([f"format: {pv.label}"] + [_line(r) for r in pv.records]
                                   + [f"problem {p.row} {p.field or ''}: {p.message}" for p in pv.problems]))
            return 0
        result = run_import(ws, case.id, args.file, fmt=args.format, options=options,
                            skip_bad_rows=args.skip_bad_rows,
                            progress=None if args.json else _stderr_progress)
    finally:
        ws.db.lock()

    def text() -> str:
        if result.duplicate_of is not None:
            return f"{Path(args.file).name} was already imported into case {case.number} (source {result.duplicate_of}); nothing changed"
        lines = [f"imported {Path(args.file).name} as {result.format} into {case.number} (source {result.source_id}): "
                 f"{result.events:,} events, {result.entities:,} new entities, {result.links:,} links, "
                 f"{result.skipped:,} rows skipped"]
        if result.parts:
            lines[0] += f" from {len(result.parts)} export(s) in the folder"
            lines += [f"  {rel or '.'}: {fmt}, {n:,} events" for rel, fmt, n in result.parts[:50]]
            if len(result.parts) > 50:
                lines.append(f"  … and {len(result.parts) - 50:,} more")
        lines += [f"  skipped {e.row}{' field ' + repr(e.field) if e.field else ''}: {e.message}" for e in result.errors[:50]]
        lines += [f"  warning: {w}" for w in result.warnings[:20]]
        return "\n".join(lines)

    emit(args, result.to_json(), text)
    return 0


def _line(rec: Any) -> str:
    when = getattr(rec, "occurred_at", None)
    parties = ", ".join(f"{p.role}={p.label or p.value}" for p in getattr(rec, "parties", ()))
    title = getattr(rec, "title", "") or getattr(getattr(rec, "party", None), "value", "")
    body = (getattr(rec, "body", "") or "")[:60]
    return f"  {getattr(rec, 'ref', '')}: {type(rec).__name__} {getattr(rec, 'kind', '')} {when or ''} {title} {body} [{parties}]"


def cmd_formats(args: argparse.Namespace) -> int:
    from workstation.ingest.formats import describe
    from workstation.ingest.pipeline import detect

    if args.file:
        d = detect(args.file)
        emit(args, d, lambda: "\n".join([f"{d.format}: {d.label} (confidence {d.confidence:.2f})"]
                                         + [f"  {p.rel or '.'}: {p.format} ({p.confidence:.2f})" for p in d.parts]))
        return 0
    rows = describe()
    emit(args, [{"format": n, "label": lbl} for n, lbl in rows], lambda: "\n".join(f"{n:<20} {lbl}" for n, lbl in rows))
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from workstation.ingest.profiles import get_profile, list_profiles, save_profile

    ws = open_workstation(args)
    try:
        if args.profile_cmd == "list":
            infos = list_profiles(ws)
            emit(args, [{"name": i.name, "target": i.target, "label": i.label, "builtin": i.builtin} for i in infos],
                 lambda: "\n".join(f"{i.name:<24} {i.target:<12} {'built-in' if i.builtin else 'saved':<9} {i.label}" for i in infos))
        elif args.profile_cmd == "show":
            prof = get_profile(ws, args.name)
            emit(args, prof.to_dict(), lambda: json.dumps(prof.to_dict(), indent=2, ensure_ascii=False))
        elif args.profile_cmd == "save":
            try:
                data = json.loads(Path(args.json_file).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise BadInput(f"{args.json_file}: not a readable JSON profile ({exc})") from None
            if args.name:
                data["name"] = args.name
            info = save_profile(ws, data)
            emit(args, {"name": info.name, "target": info.target}, f"profile {info.name} saved")
    finally:
        ws.db.lock()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("import", help="import a file or a folder (chat export, statement, booking list...) "
                                       "into a case",
                        description="Import FILE, or every export found in a FOLDER (an unzipped "
                                    "Telegram/WhatsApp/Discord/Slack export, a Facebook or Instagram "
                                    "'Download your information' folder...), in one transaction.")
    sp.add_argument("case", help="case number or id")
    sp.add_argument("file", metavar="FILE_OR_FOLDER",
                    help="the export file, or a folder: its exports are found by content and "
                         "imported together as one source")
    sp.add_argument("--format", default="auto", help="importer name (see `workstation formats`); default: detect")
    sp.add_argument("--profile", help="saved or built-in column-mapping profile for CSV/XLSX")
    sp.add_argument("--skip-bad-rows", action="store_true", help="skip and report bad rows instead of aborting")
    sp.add_argument("--timezone", help="IANA zone for times without an offset (default: the case's zone, else UTC)")
    sp.add_argument("--region", help="phone region for numbers without a country code (default: settings)")
    sp.add_argument("--encoding", help="force a text encoding instead of detecting it")
    sp.add_argument("--owner", help="the export owner's name or handle (chat exports)")
    sp.add_argument("--date-order", choices=["dmy", "mdy"],
                    help="day/month order of all-digit dates such as 05/03/2024 (dmy: day first, "
                         "mdy: month first); default: decided from the file")
    sp.add_argument("--lenient", action="store_true", help="accept statements with server errors (OFX)")
    sp.add_argument("--preview", type=int, metavar="N", help="show the first N records without importing")
    sp.set_defaults(func=cmd_import)

    sp = sub.add_parser("formats", help="list importers, or detect the format of FILE (or the exports in a folder)")
    sp.add_argument("file", nargs="?")
    sp.set_defaults(func=cmd_formats, db=None)

    sp = sub.add_parser("profile", help="column-mapping profiles for CSV/XLSX imports")
    psub = sp.add_subparsers(dest="profile_cmd", required=True)
    psub.add_parser("list")
    x = psub.add_parser("show")
    x.add_argument("name")
    x = psub.add_parser("save")
    x.add_argument("json_file")
    x.add_argument("--name")
    sp.set_defaults(func=cmd_profile)
