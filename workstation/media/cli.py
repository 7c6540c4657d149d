"""CLI: ``media …`` and ``hashset …`` (registered into workstation.cli).

``media ingest CASE PATH`` · ``media list CASE`` · ``media categorise CASE MEDIA_ID CODE`` ·
``media alerts CASE`` · ``media scheme CASE [SCHEME]`` · ``media export-vics CASE OUT`` ·
``hashset import FILE`` · ``hashset list``. ``--json`` prints one JSON document; bad files,
codes and paths exit with 4 (CLI.md).
"""

from __future__ import annotations

import argparse
import signal
import threading
from dataclasses import asdict
from typing import Any

from workstation.cli import _stderr_progress, emit, open_workstation
from workstation.errors import UsageError


def _progress(args: argparse.Namespace) -> Any:
    if args.json:
        return None

    def report(fraction: float | None, message: str = "") -> None:
        if fraction is not None:
            _stderr_progress(fraction, message[-60:])

    return report


def _case(ws: Any, ref: str) -> Any:
    return ws.find_case(ref)


def cmd_media(args: argparse.Namespace) -> int:
    from workstation.media import service as media

    ws = open_workstation(args)
    try:
        case = _case(ws, args.case)
        if args.media_cmd == "ingest":
            if args.workers is not None and args.workers < 1:
                raise UsageError("--workers must be at least 1")
            cancel = threading.Event()
            previous = signal.getsignal(signal.SIGINT)

            def interrupted(_sig: int, _frame: Any) -> None:
                # Ctrl+C stops after the current batch: what was committed stays, a re-run resumes.
                cancel.set()

            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, interrupted)
            try:
                result = media.ingest_media(ws, case.id, args.path, workers=args.workers,
                                            progress=_progress(args), cancel=cancel)
            finally:
                if threading.current_thread() is threading.main_thread():
                    signal.signal(signal.SIGINT, previous)

            def text() -> str:
                lines = [f"{'stopped' if result.cancelled else 'ingested'} {result.path} into {case.number} "
                         f"(source {result.source_id}): {result.added:,} added, {result.skipped:,} already "
                         f"present, {len(result.failures):,} unreadable, {result.events:,} capture events, "
                         f"{result.locations:,} locations, {result.matches:,} hash-set matches, "
                         f"{result.alerts:,} alerts ({result.seconds:.1f} s)"]
                lines += [f"  failed {p.path}: {p.message}" for p in result.failures[:50]]
                lines += [f"  image problem {p.path}: {p.message}" for p in result.problems[:50]]
                if result.cancelled:
                    lines.append("  interrupted: run the same command again to resume")
                return "\n".join(lines)

            emit(args, result.to_json(), text)
            return 1 if result.cancelled else 0
        if args.media_cmd == "list":
            items = media.list_media(ws, case.id, category=args.category, uncategorised=args.uncategorised,
                                     alerts_only=args.alerts, include_known_good=args.include_known_good,
                                     limit=args.limit)
            emit(args, [_media_json(i) for i in items], lambda: "\n".join(
                f"{i.id:>7}  {i.category or '-':<4} {'ALERT' if i.alert else '':<5} "
                f"{'stack ' + str(i.stack_id) if i.stack_id else '':<12} {i.mime:<16} {i.md5}  {i.path}"
                for i in items))
        elif args.media_cmd == "categorise":
            found = media.get_media(ws, [args.media_id])
            if not found or found[0].case_id != case.id:
                raise UsageError(f"no media {args.media_id} in case {case.number}")
            ch = media.categorise(ws, [args.media_id], args.code, whole_stack=not args.only_this)
            emit(args, {"category": ch.extra["category"], "media_ids": list(ch.ids)},
                 f"categorised {len(ch.ids)} file(s) as {ch.extra['category']}: "
                 + ", ".join(map(str, ch.ids)))
        elif args.media_cmd == "alerts":
            alerts = media.list_alerts(ws, case.id)
            emit(args, alerts, lambda: "\n".join(
                f"{a.id:>5} {a.created_at} {a.set_kind:<9} {a.set_name:<20} {a.match_kind:<6} "
                f"d={a.distance:<3} cat={a.category or '-':<3} {'ack' if a.acknowledged_at else 'NEW'} {a.path}"
                for a in alerts) or "no alerts")
        elif args.media_cmd == "scheme":
            if args.scheme:
                media.set_case_scheme(ws, case.id, args.scheme)
            sch = media.case_scheme(ws, case.id)
            emit(args, {"scheme": sch.name, "categories": [asdict(c) for c in sch.categories]},
                 lambda: "\n".join([f"{sch.name}: {sch.label}"] + [
                     f"  key {c.key}  {c.code:<3} {c.label}{' (known bad)' if c.known_bad else ''}"
                     for c in sch.categories]))
        elif args.media_cmd == "export-vics":
            res = media.export_vics(ws, case.id, args.out, version=args.version)
            emit(args, asdict(res), f"wrote {res.count:,} categorised hashes to {res.path} (sha256 {res.sha256})")
    finally:
        ws.db.lock()
    return 0


def _media_json(info: Any) -> dict[str, Any]:
    d = asdict(info)
    d["name"] = info.name
    return d


def cmd_hashset(args: argparse.Namespace) -> int:
    from workstation.media import service as media

    ws = open_workstation(args)
    try:
        if args.hashset_cmd == "import":
            res = media.import_hashset(ws, args.file, kind=args.kind, name=args.name,
                                       fmt=None if args.format in (None, "auto") else args.format,
                                       progress=_progress(args))

            def text() -> str:
                if res.duplicate_of is not None:
                    return f"{args.file} was already imported as hash set {res.duplicate_of} ({res.name}); nothing changed"
                lines = [f"imported hash set {res.set_id} {res.name!r} ({res.kind}, {res.format}): "
                         f"{res.entries:,} entries, {res.error_count:,} bad lines; "
                         f"{res.matches:,} matches, {res.alerts:,} alerts, {res.categorised:,} files pre-categorised"]
                lines += [f"  skipped {e}" for e in res.errors[:50]]
                return "\n".join(lines)

            emit(args, res.to_json(), text)
        else:
            sets = media.list_hashsets(ws)
            emit(args, sets, lambda: "\n".join(
                f"{h.id:>4}  {h.kind:<10} {h.format:<10} {h.entry_count:>10,}  {h.name}" for h in sets)
                or "no hash sets")
    finally:
        ws.db.lock()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("media", help="seized media: ingest, list, categorise, alerts, VICS export")
    msub = sp.add_subparsers(dest="media_cmd", required=True)
    m = msub.add_parser("ingest", help="ingest a folder (recursively) or a ZIP archive; resumable")
    m.add_argument("case", help="case number or id")
    m.add_argument("path")
    m.add_argument("--workers", type=int, default=None, help="analysis processes (default: all cores)")
    m = msub.add_parser("list", help="files of a case")
    m.add_argument("case")
    m.add_argument("--category", help="only this category code")
    m.add_argument("--uncategorised", action="store_true", help="only files nobody categorised yet")
    m.add_argument("--alerts", action="store_true", help="only files with a hash-set alert")
    m.add_argument("--include-known-good", action="store_true", help="also files matching a known-good set")
    m.add_argument("--limit", type=int, default=1000)
    m = msub.add_parser("categorise", help="categorise a file (and its duplicate stack)")
    m.add_argument("case")
    m.add_argument("media_id", type=int)
    m.add_argument("code", help="a category code of the case's scheme (see `media scheme CASE`)")
    m.add_argument("--only-this", action="store_true", help="not the other members of its stack")
    m = msub.add_parser("alerts", help="hash-set alerts of a case")
    m.add_argument("case")
    m = msub.add_parser("scheme", help="show, or set, the category scheme of a case")
    m.add_argument("case")
    m.add_argument("scheme", nargs="?", help="vic_us, vic_ca or uk_caid")
    m = msub.add_parser("export-vics", help="export categorised hashes as VICS JSON")
    m.add_argument("case")
    m.add_argument("out")
    m.add_argument("--version", default="2.0", choices=["2.0", "1.3"])
    sp.set_defaults(func=cmd_media)

    sp = sub.add_parser("hashset", help="hash sets (known-bad, known-good, alert lists)")
    hsub = sp.add_subparsers(dest="hashset_cmd", required=True)
    h = hsub.add_parser("import", help="import a hash set and match every case against it")
    h.add_argument("file")
    h.add_argument("--kind", default=None, choices=["known_bad", "known_good", "alert"],
                   help="default: known_good for an NSRL reference set, known_bad otherwise")
    h.add_argument("--name", help="a name for the set (default: the file name)")
    h.add_argument("--format", default="auto",
                   help="vics_json, nsrl_csv, rds_csv, rds_sqlite, hash_csv, pdq_csv, hash_list, pdq_list, hashdeep, "
                        "tsk_idx (default: detect)")
    hsub.add_parser("list", help="imported hash sets")
    sp.set_defaults(func=cmd_hashset)


__all__ = ["register"]
