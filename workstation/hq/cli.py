"""``workstation hq …``: run HQ and administer it (against HQ's database, not a case file).

The HQ database is ``--db URL`` (a SQLAlchemy URL), else ``$WORKSTATION_HQ_DB``, else the
embedded SQLite file under the platform data directory. ``serve`` and ``enroll`` may create
a new database file; no command creates the folder of a SQLite URL (see store.open_store).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from workstation.errors import BadInput, NetworkError, StorageError, UsageError


def _url(args: argparse.Namespace) -> str | None:
    return args.hq_db or os.environ.get("WORKSTATION_HQ_DB") or None


# The commands that may start a new HQ database (``serve`` through server.build); the others
# look at or change an existing one, so a mistyped --db is refused rather than met with an
# empty HQ ("no devices").
_CREATES_DB = {"enroll"}


def _service(args: argparse.Namespace) -> Any:
    from workstation.hq.service import HQService
    from workstation.hq.store import open_store

    return HQService(open_store(_url(args), create=args.hq_cmd in _CREATES_DB))


def cmd_hq(args: argparse.Namespace) -> int:
    from workstation.cli import emit

    if args.hq_cmd == "serve":
        from workstation.hq.server import serve

        try:
            serve(args.host, args.port, _url(args), args.tls_cert, args.tls_key)
        except SystemExit as exc:
            # uvicorn exits with its own code 3 when it cannot listen (address in use, no
            # permission); 3 means "wrong passphrase" here (CLI.md), so say what happened.
            if exc.code in (None, 0):
                return 0
            raise NetworkError(f"HQ could not listen on {args.host}:{args.port} (address in use, unknown host "
                               "or not allowed to bind it; see the message above)") from None
        return 0
    if args.hq_cmd == "dev-cert":
        from workstation.hq.server import make_dev_cert

        dc = make_dev_cert(args.out, args.name or ())
        emit(args, {"cert": str(dc.cert), "key": str(dc.key), "sha256": dc.sha256},
             f"certificate {dc.cert}\nkey         {dc.key}\nSHA-256     {dc.sha256}")
        return 0
    from sqlalchemy.exc import OperationalError

    from workstation.hq.store import sqlite_error

    service = _service(args)
    try:
        _admin(args, service)
    except OperationalError as exc:
        if service.store.dialect != "sqlite":
            raise
        raise sqlite_error(exc) from None  # busy in another process past the wait: locked, 3
    finally:
        service.store.dispose()
    return 0


def _admin(args: argparse.Namespace, service: Any) -> None:
    from workstation.cli import emit

    if args.hq_cmd == "enroll":
        code = service.create_enrolment(args.agency, args.officer, agency_name=args.agency_name,
                                        agency_contact=args.agency_contact, officer_contact=args.officer_contact,
                                        ttl_hours=args.ttl_hours)
        emit(args, {"code": code, "agency": args.agency, "officer": args.officer, "hours": args.ttl_hours},
             f"enrolment code for {args.officer} ({args.agency}), valid {args.ttl_hours} h, usable once:\n{code}")
    elif args.hq_cmd == "revoke":
        if not service.revoke(args.device):
            raise UsageError(f"no enrolled, unrevoked device {args.device!r}")
        emit(args, {"revoked": args.device}, f"device {args.device} revoked; its next request will be refused")
    elif args.hq_cmd == "devices":
        devices = service.list_devices()
        emit(args, devices, lambda: "\n".join(
            f"{d['device_id']}  {d['agency']:<10} {d['officer']:<24} enrolled {d['enrolled_at']}"
            + (f"  REVOKED {d['revoked_at']}" if d["revoked_at"] else "") for d in devices) or "no devices")
    elif args.hq_cmd == "import-bundle":
        src = Path(args.bundle)
        try:
            data = src.read_bytes()
        except OSError as exc:
            raise BadInput(f"{src}: cannot read the bundle ({exc.strerror or exc})") from None
        ack, summary = service.import_bundle(data, source=str(src))
        out = Path(args.out)
        try:
            out.write_bytes(ack)
        except OSError as exc:
            raise StorageError(f"{out}: cannot write the acknowledgement ({exc.strerror or exc})") from None
        summary["ack"] = str(out)
        emit(args, summary, f"bundle {summary['bundle']} from {summary['officer']} ({summary['agency']}): "
                            f"{summary['records']} records, {summary['changed']} changed, "
                            f"{summary['conflicts']} conflicts; acknowledgement with {summary['returned']} "
                            f"records written to {out}")
    elif args.hq_cmd == "audit":
        entries = service.audit_entries(args.limit)
        emit(args, entries, lambda: "\n".join(
            f"{e['at']} {e['ip'] or '-':<15} {e['device_id'] or '-':<36} {e['method']:<5} {e['endpoint']:<32} "
            f"{e['status']} {e['outcome']} {e['cases'] or ''}" for e in entries))


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0-65535)")
    return port


def register(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("hq", help="run and administer the HQ server",
                        description="Run and administer HQ. --db is HQ's database URL "
                                    "(sqlite:///PATH default, or postgresql+psycopg://USER@HOST/DB).")
    hsub = sp.add_subparsers(dest="hq_cmd", required=True)

    def db(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", dest="hq_db", metavar="URL",
                       help="HQ database URL (default: $WORKSTATION_HQ_DB or the embedded SQLite file)")

    p = hsub.add_parser("serve", help="run the HQ server (FastAPI on uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=8443, help="TCP port (default 8443)")
    db(p)
    p.add_argument("--tls-cert", metavar="FILE", help="PEM certificate (TLS 1.2+ only)")
    p.add_argument("--tls-key", metavar="FILE", help="PEM private key")

    p = hsub.add_parser("enroll", help="issue a one-time enrolment code for an officer's laptop")
    db(p)
    p.add_argument("--agency", required=True, help="agency code (created if new)")
    p.add_argument("--officer", required=True, help="officer name (created if new)")
    p.add_argument("--agency-name")
    p.add_argument("--agency-contact", help="whom other agencies call about this agency's cases")
    p.add_argument("--officer-contact", help="the officer's phone or e-mail for deconfliction calls")
    p.add_argument("--ttl-hours", type=int, default=72)

    p = hsub.add_parser("revoke", help="revoke an enrolled device")
    db(p)
    p.add_argument("device", help="the device id")

    p = hsub.add_parser("devices", help="list enrolled devices")
    db(p)

    p = hsub.add_parser("dev-cert", help="make a self-signed TLS certificate for development")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--name", action="append", help="extra host name or address (repeatable)")

    p = hsub.add_parser("import-bundle", help="apply a laptop's sealed bundle and write the acknowledgement")
    db(p)
    p.add_argument("bundle", metavar="IN")
    p.add_argument("--out", required=True, metavar="ACK")

    p = hsub.add_parser("audit", help="the HQ request audit (latest entries)")
    db(p)
    p.add_argument("--limit", type=int, default=100)
    sp.set_defaults(func=cmd_hq)
