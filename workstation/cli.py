"""The ``workstation`` command line (contract: shared CLI.md).

This module is pure core: with no subcommand it hands over to a GUI callback supplied by
``ui.launcher`` (the console entry point), so the core never imports the UI.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from workstation.errors import BadInput, UsageError, WorkstationError

DB_FILE_NAME = "cases.db"


def default_db_path() -> Path:
    """The profile's database under the platform data directory."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("CaseWorkstation", appauthor=False)) / DB_FILE_NAME


# ---------------------------------------------------------------------- passphrases
PASSPHRASE_HELP = ("never accepted on the command line (it would show in the process list); use --passphrase-file FILE, "
                   "--passphrase-stdin, $WORKSTATION_PASSPHRASE_FILE or the prompt")


def _first_line(raw: bytes, where: str) -> str:
    # Strict UTF-8 (a leading BOM, as some Windows editors write, is not part of the
    # passphrase): a Latin-1 file must say so, not reach the key derivation as garbage.
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{where} is not UTF-8 text (a passphrase is read as UTF-8)") from None
    # Any line ending counts (CR-only files exist), but only line endings do: a
    # passphrase may well end in a space.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n", 1)[0]


def _read_passphrase_file(path: str | os.PathLike[str]) -> str:
    try:
        with open(path, "rb") as fh:
            raw = fh.readline()
    except OSError as exc:
        raise UsageError(f"cannot read passphrase file {path}: {exc.strerror or exc}") from None
    line = _first_line(raw, f"passphrase file {path}")
    if not line:
        raise UsageError(f"passphrase file {path} is empty")
    return line


def _read_stdin_line() -> str:
    # Bytes when there are bytes: the locale's decoder would smuggle undecodable input
    # through as surrogates, which only fail later, inside the key derivation.
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        return _first_line(buffer.readline(), "the passphrase on standard input")
    return sys.stdin.readline().rstrip("\r\n")


def _prompt(prompt: str) -> str:
    try:
        return getpass.getpass(prompt)
    except EOFError:
        # Ctrl+D at the prompt: the officer gave no passphrase, nothing went wrong inside.
        print(file=sys.stderr)
        raise UsageError("no passphrase given") from None


def read_passphrase(args: argparse.Namespace, *, confirm: bool = False, prompt: str = "Passphrase: ") -> str:
    """First that applies: --passphrase-file, --passphrase-stdin, $WORKSTATION_PASSPHRASE_FILE, prompt."""
    if getattr(args, "passphrase_file", None):
        return _read_passphrase_file(args.passphrase_file)
    if getattr(args, "passphrase_stdin", False):
        line = _read_stdin_line()
        if not line:
            raise UsageError("no passphrase on standard input")
        return line
    env = os.environ.get("WORKSTATION_PASSPHRASE_FILE")
    if env:
        return _read_passphrase_file(env)
    if not sys.stdin.isatty():
        raise UsageError("no passphrase given (use --passphrase-file, --passphrase-stdin or a terminal)")
    first = _prompt(prompt)
    if confirm and _prompt("Repeat: ") != first:
        raise UsageError("the passphrases do not match")
    return first


def _new_passphrase(args: argparse.Namespace) -> str:
    if args.new_passphrase_file:
        return _read_passphrase_file(args.new_passphrase_file)
    if not sys.stdin.isatty():
        raise UsageError("give the new passphrase with --new-passphrase-file")
    first = _prompt("New passphrase: ")
    if _prompt("Repeat: ") != first:
        raise UsageError("the passphrases do not match")
    return first


# ---------------------------------------------------------------------- output
def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def emit(args: argparse.Namespace, value: Any, text: str | Callable[[], str]) -> None:
    """Print the command's result: one JSON document with --json, else text.

    A reader that stops early (``| head``) is not an error: the work is done and
    committed by the time results print, so the command keeps its own exit code."""
    out = json.dumps(_plain(value), ensure_ascii=False, indent=None, default=str) if args.json else \
        (text() if callable(text) else text)
    try:
        print(out)
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_gone()


def _stdout_gone() -> None:
    # What is still buffered would fail again when the interpreter exits and turn the exit
    # code into 120; send it nowhere instead.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _say(message: str) -> None:
    """A message on stderr that cannot itself fail (stderr may be a closed pipe too)."""
    try:
        print(message, file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):
        pass


# ---------------------------------------------------------------------- opening
def _db_path(args: argparse.Namespace) -> Path:
    return Path(args.db).expanduser() if args.db else default_db_path()


def open_workstation(args: argparse.Namespace):  # -> Workstation
    from workstation.domain.service import Workstation
    from workstation.store.database import Database

    path = _db_path(args)
    if not path.exists():
        raise UsageError(f"{path}: no database here; create one with `workstation init`")
    db = Database.open(path, read_passphrase(args))
    return Workstation(db)


# ---------------------------------------------------------------------- commands
def cmd_init(args: argparse.Namespace) -> int:
    from workstation.store.database import Database

    path = _db_path(args)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database.create(path, read_passphrase(args, confirm=True, prompt="New passphrase: "))
    db.lock()
    emit(args, {"db": str(path)}, f"created encrypted database {path}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from workstation.demo import build_demo
    from workstation.domain.service import Workstation
    from workstation.store.database import Database

    path = _db_path(args)
    if path.exists():
        ws = Workstation(Database.open(path, read_passphrase(args)))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        ws = Workstation(Database.create(path, read_passphrase(args, confirm=True, prompt="New passphrase: ")))
    try:
        progress = None if args.json else _stderr_progress
        summary = build_demo(ws, seed=args.seed, events=args.events, cases=args.cases, progress=progress)
    finally:
        ws.db.lock()
    emit(args, summary, lambda: "demo data: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    return 0


def _stderr_progress(fraction: float, message: str) -> None:
    # Progress is for an officer watching; work must not fail because nobody reads it any more.
    try:
        print(f"\r{fraction * 100:5.1f}% {message:<60}", end="", file=sys.stderr, flush=True)
        if fraction >= 1.0:
            print(file=sys.stderr)
    except BrokenPipeError:
        pass


def cmd_info(args: argparse.Namespace) -> int:
    from workstation.store.migrate import current_revision, head_revision

    ws = open_workstation(args)
    try:
        settings = ws.db.cipher_settings()
        info = {"db": str(ws.db.path), "schema": current_revision(ws.db), "schema_head": head_revision(),
                "device_id": ws.db.device_id, "cipher": asdict(settings), "counts": ws.counts()}
    finally:
        ws.db.lock()

    def text() -> str:
        lines = [f"database   {info['db']}", f"schema     {info['schema']} (code head {info['schema_head']})",
                 f"cipher     SQLCipher {settings.cipher_version}, {settings.kdf_algorithm} x{settings.kdf_iter}, "
                 f"{settings.hmac_algorithm}, page {settings.page_size}, journal {settings.journal_mode}"]
        lines += [f"{k:<14} {v}" for k, v in info["counts"].items()]
        return "\n".join(lines)

    emit(args, info, text)
    return 0


def _open_for_verification(args: argparse.Namespace):  # -> Workstation
    """``verify`` answers "is this a sound case database?": a file that is empty,
    truncated or not a case database at all fails verification (5), it is not merely bad input."""
    from workstation.errors import IntegrityFailure, NotADatabase

    try:
        return open_workstation(args)
    except NotADatabase as exc:
        raise IntegrityFailure(f"verification failed: {exc}") from None


def cmd_verify(args: argparse.Namespace) -> int:
    ws = _open_for_verification(args)
    try:
        problems = ws.db.integrity_check()
        audit = ws.audit.verify()
    finally:
        ws.db.lock()
    ok = not problems and audit.ok
    result = {"ok": ok, "integrity": problems or ["ok"], "audit": asdict(audit)}
    emit(args, result, lambda: "\n".join(
        [f"integrity: {'ok' if not problems else '; '.join(problems)}",
         f"audit:     {'ok' if audit.ok else 'BROKEN'} — {audit.message}"]))
    return 0 if ok else 5


def cmd_passwd(args: argparse.Namespace) -> int:
    ws = open_workstation(args)
    try:
        ws.db.change_passphrase(_new_passphrase(args))
    finally:
        ws.db.lock()
    emit(args, {"ok": True}, "passphrase changed")
    return 0


def _case_table(cases: Sequence[Any]) -> str:
    rows = [f"{'ID':>4}  {'NUMBER':<16} {'STATUS':<9} {'SHARING':<8} {'ENT':>6} {'EVT':>8}  TITLE"]
    rows += [f"{c.id:>4}  {c.number:<16} {c.status:<9} {c.sharing:<8} {c.entity_count:>6} {c.event_count:>8}  {c.title}"
             for c in cases]
    return "\n".join(rows)


def cmd_case(args: argparse.Namespace) -> int:
    ws = open_workstation(args)
    try:
        if args.case_cmd == "list":
            cases = ws.list_cases()
            emit(args, cases, lambda: _case_table(cases))
        elif args.case_cmd == "add":
            ch = ws.create_case(args.number, args.title, agency=args.agency, lead_officer=args.lead,
                                summary=args.summary, sharing=args.sharing, timezone=args.timezone)
            info = ws.get_case(ch.id)
            emit(args, info, f"case {info.number} created (id {info.id})")
        elif args.case_cmd == "show":
            info = ws.find_case(args.case)
            emit(args, info, lambda: "\n".join(f"{k:<13} {v}" for k, v in asdict(info).items()))
        elif args.case_cmd == "update":
            case = ws.find_case(args.case)
            fields = {k: v for k, v in (("title", args.title), ("status", args.status),
                                         ("summary", args.summary), ("sharing", args.sharing),
                                         ("agency", args.agency), ("lead_officer", args.lead)) if v is not None}
            if not fields:
                raise UsageError("nothing to change")
            ws.update_case(case.id, **fields)
            emit(args, ws.get_case(case.id), f"case {case.number} updated")
        elif args.case_cmd == "delete":
            case = ws.find_case(args.case)
            ws.delete_case(case.id)
            emit(args, {"deleted": case.id}, f"case {case.number} deleted")
    finally:
        ws.db.lock()
    return 0


def _parse_props(items: Sequence[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        if "=" not in item:
            raise UsageError(f"--prop wants KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def cmd_entity(args: argparse.Namespace) -> int:
    ws = open_workstation(args)
    try:
        if args.entity_cmd == "add":
            case = ws.find_case(args.case)
            ch = ws.add_entity(case.id, args.kind, args.value, label=args.label,
                               properties=_parse_props(args.prop), platform=args.platform)
            ent = ws.get_entity(ch.id)
            emit(args, ent, f"entity {ent.id} {ent.kind} {ent.label}" + (" (already present)" if ch.op == "existing" else ""))
        elif args.entity_cmd == "list":
            case = ws.find_case(args.case)
            ents = ws.list_entities(case.id, kind=args.kind, limit=args.limit)
            emit(args, ents, lambda: "\n".join(f"{e.id:>6}  {e.kind:<12} {e.label:<32} {e.key or ''}" for e in ents))
        elif args.entity_cmd == "show":
            ent = ws.get_entity(args.id)
            emit(args, ent, lambda: "\n".join(f"{k:<12} {v}" for k, v in asdict(ent).items()))
        elif args.entity_cmd == "update":
            fields: dict[str, Any] = {}
            if args.label:
                fields["label"] = args.label
            if args.prop:
                ent = ws.get_entity(args.id)
                fields["properties"] = {**ent.properties, **_parse_props(args.prop)}
            ws.update_entity(args.id, **fields)
            emit(args, ws.get_entity(args.id), f"entity {args.id} updated")
        elif args.entity_cmd == "delete":
            ws.delete_entity(args.id)
            emit(args, {"deleted": args.id}, f"entity {args.id} deleted")
    finally:
        ws.db.lock()
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    ws = open_workstation(args)
    try:
        if args.link_cmd == "add":
            ch = ws.add_link(args.src, args.dst, args.kind, confidence=args.confidence)
            emit(args, {"id": ch.id}, f"link {ch.id} created")
        elif args.link_cmd == "list":
            case = ws.find_case(args.case)
            links = ws.list_links(case_id=case.id)
            emit(args, links, lambda: "\n".join(
                f"{lk.id:>6}  {lk.src_id:>6} -[{lk.kind}]-> {lk.dst_id:<6} conf {lk.confidence:.2f}" for lk in links))
        elif args.link_cmd == "delete":
            ws.delete_link(args.id)
            emit(args, {"deleted": args.id}, f"link {args.id} deleted")
    finally:
        ws.db.lock()
    return 0


def _parse_time(text: str) -> datetime:
    from dateutil import parser as dparser

    try:
        dt = dparser.isoparse(text)
    except (ValueError, OverflowError):
        raise UsageError(f"--at wants an ISO-8601 time with an offset, e.g. 2024-03-01T14:05:00+01:00; got {text!r}") from None
    if dt.tzinfo is None:
        raise UsageError(f"--at {text!r} has no UTC offset; add one (e.g. Z or +02:00)")
    return dt


def cmd_event(args: argparse.Namespace) -> int:
    ws = open_workstation(args)
    try:
        if args.event_cmd == "add":
            case = ws.find_case(args.case)
            parties = []
            for p in args.party or ():
                ent, _, role = p.partition(":")
                if not ent.isdigit():
                    raise UsageError(f"--party wants ENTITY_ID:ROLE, got {p!r}")
                parties.append((int(ent), role or "participant"))
            ch = ws.add_event(case.id, args.kind, _parse_time(args.at), title=args.title or "",
                              body=args.body, parties=parties)
            emit(args, ws.get_event(ch.id), f"event {ch.id} created")
        elif args.event_cmd == "list":
            case = ws.find_case(args.case)
            events = ws.list_events(case.id, limit=args.limit)
            emit(args, events, lambda: "\n".join(
                f"{e.id:>7}  {e.occurred_at.isoformat() if e.occurred_at else '-':<32} {e.kind:<12} {e.title}"
                for e in events))
        elif args.event_cmd == "delete":
            ws.delete_event(args.id)
            emit(args, {"deleted": args.id}, f"event {args.id} deleted")
    finally:
        ws.db.lock()
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    ws = open_workstation(args)
    try:
        case = ws.find_case(args.case)
        if args.note_cmd == "add":
            target_type, target_id = None, None
            if args.entity is not None:
                target_type, target_id = "entity", args.entity
            elif args.event is not None:
                target_type, target_id = "event", args.event
            ch = ws.add_note(case.id, args.text, target_type=target_type, target_id=target_id)
            emit(args, {"id": ch.id}, f"note {ch.id} added")
        else:
            notes = ws.list_notes(case.id)
            emit(args, notes, lambda: "\n".join(f"{n.id:>5} {n.created_at} {n.author}: {n.body}" for n in notes))
    finally:
        ws.db.lock()
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    ws = open_workstation(args)
    try:
        ch = ws.merge_entities(args.survivor, args.merged, args.why)
        emit(args, {"survivor": args.survivor, "merge_ids": list(ch.extra["merge_ids"])},
             f"merged {', '.join(map(str, args.merged))} into {args.survivor} "
             f"(merge ids {', '.join(map(str, ch.extra['merge_ids']))})")
    finally:
        ws.db.lock()
    return 0


def cmd_unmerge(args: argparse.Namespace) -> int:
    ws = open_workstation(args)
    try:
        ch = ws.unmerge(args.merge_id)
        emit(args, {"restored": ch.ids[1]}, f"merge {args.merge_id} undone; entity {ch.ids[1]} restored")
    finally:
        ws.db.lock()
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    ws = _open_for_verification(args) if args.audit_cmd == "verify" else open_workstation(args)
    try:
        if args.audit_cmd == "verify":
            res = ws.audit.verify()
            emit(args, res, f"audit trail {'ok' if res.ok else 'BROKEN'}: {res.message}"
                 + (f" (first broken entry: {res.first_bad_seq})" if res.first_bad_seq else ""))
            return 0 if res.ok else 5
        with ws.db.read() as conn:
            entries = list(ws.audit.entries(conn, since_seq=args.since, limit=args.limit))
        emit(args, entries, lambda: "\n".join(
            f"{e.seq:>6} {e.at} {e.actor:<12} {e.action:<18} {e.target_type or ''}:{e.target_id or ''} "
            f"{e.outcome} {json.dumps(e.details, ensure_ascii=False)}" for e in entries))
    finally:
        ws.db.lock()
    return 0


# ---------------------------------------------------------------------- parser
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


EPILOG = """\
global options go before the command; `workstation COMMAND --help` tells each command's own.

passphrase, the first that applies:
  --passphrase-file FILE           its first line (the line ending is not part of it; UTF-8)
  --passphrase-stdin               the first line of standard input
  $WORKSTATION_PASSPHRASE_FILE     a file as for --passphrase-file
  otherwise a prompt on the terminal (no echo). Never as an argument: it would show in the
  process list.

environment:
  WORKSTATION_PASSPHRASE_FILE      see above
  WORKSTATION_HQ_DB                HQ's database URL for `workstation hq` (default: SQLite under
                                   the data directory)

output: results on stdout (with --json exactly one JSON document and nothing else); progress
and error messages on stderr. `import --json` prints {"source", "format", "events", "entities",
"skipped", "errors": [{"row", "field", "message"}]} plus "links", "duplicate" (the file was
imported before: nothing changed, "source" is the earlier import) and "warnings".

exit codes:
  0 success
  1 internal error (a bug) · 130 interrupted (Ctrl+C)
  2 usage error
  3 wrong passphrase, or the database is locked (busy in another process)
  4 bad input (file, row and field named on stderr)
  5 integrity or verification failure
  6 network error, or HQ refused
"""


class _RefusePassphrase(argparse.Action):
    """``--passphrase``/``--password`` exist only to say why they do not: without them
    argparse would answer "ambiguous option" or read the secret as a file name."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        parser.error(f"{option_string}: a passphrase is {PASSPHRASE_HELP}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="workstation",
        description="Case Workstation: encrypted case database, import, linking, review and HQ sync. "
                    "Without a subcommand, opens the desktop app.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", help="the encrypted case database (default: the profile's database)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--passphrase-file", metavar="FILE", help="read the passphrase from the first line of FILE")
    g.add_argument("--passphrase-stdin", action="store_true", help="read the passphrase from standard input")
    p.add_argument("--passphrase", "--password", nargs="?", action=_RefusePassphrase, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="machine-readable output (one JSON document)")
    p.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sp = sub.add_parser("init", help="create a new encrypted database")
    sp.set_defaults(func=cmd_init)

    sp = sub.add_parser("demo", help="create or fill a database with the synthetic demo dataset")
    sp.add_argument("--seed", type=int, default=7)
    sp.add_argument("--events", type=int, default=None, help="total events to generate (default ~6,000)")
    sp.add_argument("--cases", type=int, default=20)
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("info", help="schema version, cipher settings, counts per table")
    sp.set_defaults(func=cmd_info)
    sp = sub.add_parser("verify", help="SQLCipher integrity and audit-chain verification")
    sp.set_defaults(func=cmd_verify)
    sp = sub.add_parser("passwd", help="change the passphrase")
    sp.add_argument("--new-passphrase-file", metavar="FILE")
    sp.set_defaults(func=cmd_passwd)

    sp = sub.add_parser("case", help="cases")
    csub = sp.add_subparsers(dest="case_cmd", required=True)
    c = csub.add_parser("list")
    c = csub.add_parser("add")
    c.add_argument("number")
    c.add_argument("title")
    c.add_argument("--agency")
    c.add_argument("--lead")
    c.add_argument("--summary")
    c.add_argument("--sharing", default="local", choices=["local", "hq", "agencies"])
    c.add_argument("--timezone")
    c = csub.add_parser("show")
    c.add_argument("case")
    c = csub.add_parser("update")
    c.add_argument("case")
    for opt in ("--title", "--summary", "--agency", "--lead"):
        c.add_argument(opt)
    c.add_argument("--status", choices=["open", "suspended", "closed"])
    c.add_argument("--sharing", choices=["local", "hq", "agencies"])
    c = csub.add_parser("delete")
    c.add_argument("case")
    sp.set_defaults(func=cmd_case)

    sp = sub.add_parser("entity", help="entities (people, accounts, phones, cards, ...)")
    esub = sp.add_subparsers(dest="entity_cmd", required=True)
    e = esub.add_parser("add")
    e.add_argument("case")
    e.add_argument("kind")
    e.add_argument("value")
    e.add_argument("--label")
    e.add_argument("--platform")
    e.add_argument("--prop", action="append", metavar="KEY=VALUE")
    e = esub.add_parser("list")
    e.add_argument("case")
    e.add_argument("--kind")
    e.add_argument("--limit", type=int, default=1000)
    e = esub.add_parser("show")
    e.add_argument("id", type=int)
    e = esub.add_parser("update")
    e.add_argument("id", type=int)
    e.add_argument("--label")
    e.add_argument("--prop", action="append", metavar="KEY=VALUE")
    e = esub.add_parser("delete")
    e.add_argument("id", type=int)
    sp.set_defaults(func=cmd_entity)

    sp = sub.add_parser("link", help="links between entities")
    lsub = sp.add_subparsers(dest="link_cmd", required=True)
    lk = lsub.add_parser("add")
    lk.add_argument("src", type=int)
    lk.add_argument("dst", type=int)
    lk.add_argument("kind")
    lk.add_argument("--confidence", type=float, default=1.0)
    lk = lsub.add_parser("list")
    lk.add_argument("case")
    lk = lsub.add_parser("delete")
    lk.add_argument("id", type=int)
    sp.set_defaults(func=cmd_link)

    sp = sub.add_parser("event", help="dated events")
    vsub = sp.add_subparsers(dest="event_cmd", required=True)
    v = vsub.add_parser("add")
    v.add_argument("case")
    v.add_argument("kind")
    v.add_argument("--at", required=True, help="ISO-8601 time with offset")
    v.add_argument("--title")
    v.add_argument("--body")
    v.add_argument("--party", action="append", metavar="ENTITY_ID:ROLE")
    v = vsub.add_parser("list")
    v.add_argument("case")
    v.add_argument("--limit", type=int, default=1000)
    v = vsub.add_parser("delete")
    v.add_argument("id", type=int)
    sp.set_defaults(func=cmd_event)

    sp = sub.add_parser("note", help="notes on a case or a record")
    nsub = sp.add_subparsers(dest="note_cmd", required=True)
    n = nsub.add_parser("add")
    n.add_argument("case")
    n.add_argument("text")
    tg = n.add_mutually_exclusive_group()
    tg.add_argument("--entity", type=int)
    tg.add_argument("--event", type=int)
    n = nsub.add_parser("list")
    n.add_argument("case")
    sp.set_defaults(func=cmd_note)

    sp = sub.add_parser("merge", help="merge duplicate entities into one (with a justification)")
    sp.add_argument("survivor", type=int)
    sp.add_argument("merged", type=int, nargs="+")
    sp.add_argument("--why", required=True, help="the written justification")
    sp.set_defaults(func=cmd_merge)
    sp = sub.add_parser("unmerge", help="undo a merge")
    sp.add_argument("merge_id", type=int)
    sp.set_defaults(func=cmd_unmerge)

    sp = sub.add_parser("audit", help="the audit trail")
    asub = sp.add_subparsers(dest="audit_cmd", required=True)
    asub.add_parser("verify")
    a = asub.add_parser("show")
    a.add_argument("--limit", type=int, default=100)
    a.add_argument("--since", type=int, default=0, help="entries after this sequence number")
    sp.set_defaults(func=cmd_audit)

    for add in EXTRA_COMMANDS:
        add(sub)
    return p


def _register_extra_commands() -> None:
    """Subcommands contributed by other core modules (import, search, media, sync, hq...)."""
    import importlib

    for mod in ("workstation.ingest.cli", "workstation.analysis.cli", "workstation.media.cli",
                "workstation.sync.cli", "workstation.hq.cli", "workstation.reports.cli"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name and mod.startswith(exc.name):
                continue
            raise
        register = getattr(m, "register", None)
        if register is not None and register not in EXTRA_COMMANDS:
            EXTRA_COMMANDS.append(register)


def main(argv: Sequence[str] | None = None, gui: Callable[[argparse.Namespace], int] | None = None) -> int:
    """Run the command line. Returns the exit code (CLI.md)."""
    _register_extra_commands()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        if gui is None:
            parser.print_help()
            return 2
        return gui(args)
    try:
        return int(args.func(args) or 0)
    except WorkstationError as exc:
        _say(f"workstation: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        # Not a bug (1): the shell's own code for a command stopped by Ctrl+C (128 + SIGINT).
        _say("workstation: interrupted")
        return 130
    except Exception as exc:  # a bug: say so plainly
        from workstation.ingest.records import ParseError

        if isinstance(exc, ParseError):
            _say(f"workstation: {exc}")
            return BadInput.exit_code
        _say(f"workstation: internal error: {type(exc).__name__}: {exc}")
        if args.debug:
            traceback.print_exc()
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
