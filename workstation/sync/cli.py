"""``workstation sync …``: enrol with HQ, sync, status, conflicts, bundles, deconfliction."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from workstation.errors import UsageError


def _progress(args: argparse.Namespace) -> Any:
    if args.json or not sys.stderr.isatty():
        return None
    from workstation.cli import _stderr_progress

    return _stderr_progress


def cmd_sync(args: argparse.Namespace) -> int:
    from workstation.cli import emit, open_workstation

    ws = open_workstation(args)
    try:
        sub = args.sync_cmd
        if sub is None:
            from workstation.sync.engine import sync_now

            r = sync_now(ws, _progress(args), batch=args.batch)
            emit(args, r, f"pushed {r.pushed}, pulled {r.pulled}, conflicts {r.conflicts}, held local {r.held}, "
                          f"waiting {r.parked} ({r.batches} batches, {r.bytes_sent} B sent, "
                          f"{r.bytes_received} B received, {r.seconds:.1f} s)")
        elif sub == "enroll":
            from workstation.sync.client import enroll

            enr = enroll(ws, args.hq, args.code, ca_cert=args.ca_cert, label=args.label or "")
            emit(args, {"hq": enr.hq_url, "device_id": enr.device_id, "officer": enr.officer,
                        "agency": enr.agency, "certificate_sha256": enr.cert_sha256},
                 f"enrolled with {enr.hq_url} as {enr.officer} ({enr.agency}); device {enr.device_id}"
                 + (f"\nHQ certificate pinned: SHA-256 {enr.cert_sha256}" if enr.cert_sha256 else ""))
        elif sub == "status":
            from workstation.sync.status import sync_status

            cases = [ws.find_case(args.case)] if args.case else ws.list_cases(with_counts=False)
            rows = [sync_status(ws, c.id) for c in cases]
            emit(args, rows, lambda: "\n".join(
                [f"{'NUMBER':<16} {'SHARING':<9} {'STATE':<11} {'PENDING':>7} {'HELD':>5} {'CONFL':>5}"]
                + [f"{r.number:<16} {r.sharing:<9} {r.state:<11} {r.pending:>7} {r.held:>5} {r.conflicts:>5}"
                   for r in rows]))
        elif sub == "conflicts":
            from workstation.sync.conflicts import list_conflicts

            case_id = ws.find_case(args.case).id if args.case else None
            items = list_conflicts(ws, case_id)
            emit(args, items, lambda: "\n".join(
                f"{c.id:>4}  {c.label:<40} {c.field:<14} mine={json.dumps(c.mine, ensure_ascii=False)[:40]} "
                f"theirs={json.dumps(c.theirs, ensure_ascii=False)[:40]} (now: {c.winner})" for c in items)
                or "no open conflicts")
        elif sub == "resolve":
            from workstation.sync.conflicts import resolve_conflict

            if (args.keep is None) == (args.value is None):
                raise UsageError("give either --keep mine|theirs or --value VALUE")
            value: Any = None
            if args.value is not None:
                try:
                    value = json.loads(args.value)
                except ValueError:
                    value = args.value
            ch = resolve_conflict(ws, args.id, args.keep or "edit", value)
            emit(args, {"conflict": args.id, "choice": args.keep or "edit", "changed": ch.op == "updated"},
                 f"conflict {args.id} resolved ({args.keep or 'edited'})")
        elif sub == "export-bundle":
            from workstation.sync.engine import export_bundle

            b = export_bundle(ws, args.out)
            emit(args, b, f"bundle {b.bundle_id} with {b.records} changes written to {b.path} "
                          f"(sealed to HQ; carry it to HQ and import HQ's acknowledgement here)")
        elif sub == "import-bundle":
            from workstation.sync.engine import import_bundle

            k = import_bundle(ws, args.bundle)
            emit(args, k, f"acknowledgement of bundle {k.bundle_id}: {k.records} changes acknowledged, "
                          f"{k.pulled} received, {k.conflicts} conflicts")
        elif sub == "deconflict":
            from workstation.sync.deconflict import deconflict

            case = ws.find_case(args.case)
            hits = deconflict(ws, case.id)
            emit(args, hits, lambda: "\n".join(
                f"{h.kind:<8} {h.what[:32]:<32} also in case ref {h.ref} of {h.agency}"
                f" — contact {h.officer or '?'} {h.officer_contact or h.agency_contact or ''}" for h in hits)
                or "no other case at HQ holds this case's identifiers or media")
    finally:
        ws.db.lock()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("sync", help="sync shared cases with HQ (push and pull)",
                        description="Without a sync command: push this laptop's changes to HQ and pull HQ's.")
    sp.add_argument("--now", action="store_true", help="sync now (what `workstation sync` does anyway)")
    sp.add_argument("--batch", type=int, default=500, help=argparse.SUPPRESS)
    ssub = sp.add_subparsers(dest="sync_cmd", metavar="SYNC_COMMAND")
    p = ssub.add_parser("enroll", help="enrol this laptop with HQ using a one-time code")
    p.add_argument("--hq", required=True, metavar="URL", help="HQ's address, e.g. https://hq.example:8443")
    p.add_argument("--code", required=True)
    p.add_argument("--ca-cert", metavar="FILE", help="the CA (or self-signed) certificate that vouches for HQ")
    p.add_argument("--label", help="a name for this laptop at HQ")
    p = ssub.add_parser("status", help="sync state per case")
    p.add_argument("case", nargs="?")
    p = ssub.add_parser("conflicts", help="open sync conflicts")
    p.add_argument("--case")
    p = ssub.add_parser("resolve", help="resolve a conflict")
    p.add_argument("id", type=int)
    p.add_argument("--keep", choices=["mine", "theirs"])
    p.add_argument("--value", help="set this value instead (JSON or text)")
    p = ssub.add_parser("export-bundle", help="write pending changes to a sealed bundle file (no network)")
    p.add_argument("out", metavar="OUT")
    p = ssub.add_parser("import-bundle", help="import HQ's acknowledgement bundle")
    p.add_argument("bundle", metavar="IN")
    p = ssub.add_parser("deconflict", help="ask HQ which other cases share this case's identifiers")
    p.add_argument("case")
    sp.set_defaults(func=cmd_sync)
