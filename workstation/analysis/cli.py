"""Analysis subcommands of the ``workstation`` CLI: search, links, duplicates,
occurrences and paths. ``workstation.cli`` imports this module and calls
:func:`register`. A malformed search query exits with code 4 (bad input) and says what is
wrong and where on stderr.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from workstation import clock
from workstation.errors import UsageError


def _cli() -> Any:
    # Imported late: workstation.cli imports this module while building its parser.
    import workstation.cli as cli

    return cli


_DATE_ONLY = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


def _when(us: int | None, precision: str | None = None, offset: int | None = None) -> str:
    """UTC time of a hit; a date the source gave without a time of day as that date (in
    the source's own offset: its stored midnight is no time, and in UTC maybe the day
    before)."""
    if us is None:
        return ""
    fmt = _DATE_ONLY.get(precision or "")
    if fmt is not None:
        return (clock.from_micros(us) + timedelta(minutes=offset or 0)).strftime(fmt) + " (date)"
    return clock.from_micros(us).strftime("%Y-%m-%d %H:%M")


def cmd_search(args: argparse.Namespace) -> int:
    from workstation.analysis.search import search

    cli = _cli()
    query = " ".join(args.query)
    ws = cli.open_workstation(args)
    try:
        case_id = ws.find_case(args.case).id if args.case else None
        kinds = [k for item in (args.kind or ()) for k in item.split(",") if k.strip()] or None
        res = search(ws, query, case_id=case_id, kinds=kinds, limit=args.limit, offset=args.offset)
    finally:
        ws.db.lock()

    def text() -> str:
        if not res.hits:
            return "no matches"
        lines = [f"{'KIND':<7}{'CASE':<16}{'WHEN (UTC)':<18}{'TYPE':<13}{'ID':>7}  MATCH"]
        for h in res.hits:
            snippet = " ".join(h.snippet.split()) or h.title
            lines.append(f"{h.kind:<7}{h.case_number:<16}{_when(h.ts_utc, h.time_precision, h.utc_offset):<18}{(h.subkind or ''):<13}"
                         f"{h.id:>7}  {snippet}")
        more = "at least " if res.total_capped else ""
        lines.append(f"{len(res.hits)} shown of {more}{res.total_estimate} matches")
        return "\n".join(lines)

    cli.emit(args, {"hits": res.hits, "total_estimate": res.total_estimate, "total_capped": res.total_capped,
                    "fts": res.query.fts if res.query else None}, text)
    return 0


def cmd_links(args: argparse.Namespace) -> int:
    from workstation.analysis.matching import REASON_KINDS, case_connections

    cli = _cli()
    if args.window_hours < 0:
        raise UsageError("--window-hours cannot be negative")
    kinds = tuple(args.only) if args.only else REASON_KINDS
    ws = cli.open_workstation(args)
    try:
        case = ws.find_case(args.case)
        conns = case_connections(ws, case.id, ip_window=timedelta(hours=args.window_hours), kinds=kinds)
    finally:
        ws.db.lock()

    def text() -> str:
        if not conns:
            return f"case {case.number}: no other case shares an identifier, file or person with it"
        lines = [f"case {case.number}: {len(conns)} connected case(s)"]
        for c in conns:
            lines.append(f"{c.other_case_number:<16} score {c.score:7.2f}  {c.other_case_title}")
            for r in c.reasons:
                lines.append(f"    {r.kind:<12} {r.weight:6.2f}  {r.explanation}")
                lines.append(f"    {'':<12} {'':>6}  here {', '.join(map(str, r.this_items))}"
                             f" / there {', '.join(map(str, r.other_items))}")
        return "\n".join(lines)

    cli.emit(args, {"case_id": case.id, "case_number": case.number, "connections": conns}, text)
    return 0


def cmd_duplicates(args: argparse.Namespace) -> int:
    from workstation.analysis.resolution import suggest_duplicates

    cli = _cli()
    ws = cli.open_workstation(args)
    try:
        case_id = ws.find_case(args.case).id if args.case else None
        dups = suggest_duplicates(ws, case_id)
        numbers = {c.id: c.number for c in ws.list_cases(with_counts=False)}
    finally:
        ws.db.lock()

    def text() -> str:
        if not dups:
            return "no duplicate candidates"
        lines = [f"{'CASE':<16}{'SCORE':>6}  ENTITIES        REASON"]
        for d in dups:
            ids = ",".join(map(str, d.entity_ids))
            lines.append(f"{numbers.get(d.case_id, str(d.case_id)):<16}{d.score:6.2f}  {ids:<15} {d.reason}")
        lines.append("merge with: workstation merge SURVIVOR MERGED... --why TEXT")
        return "\n".join(lines)

    cli.emit(args, dups, text)
    return 0


def cmd_occurrences(args: argparse.Namespace) -> int:
    from workstation.analysis.matching import other_occurrences

    cli = _cli()
    ws = cli.open_workstation(args)
    try:
        occ = other_occurrences(ws, args.entity)
    finally:
        ws.db.lock()
    cli.emit(args, occ, lambda: "\n".join(
        f"{o.case_number:<16} entity {o.entity_id:>7}  {o.kind:<10} {o.label}" for o in occ)
        if occ else f"entity {args.entity} occurs in no other case")
    return 0


def cmd_paths(args: argparse.Namespace) -> int:
    from workstation.analysis.paths import shortest_paths

    cli = _cli()
    ws = cli.open_workstation(args)
    try:
        paths = shortest_paths(ws, args.src, args.dst, cross_case=args.cross_case, max_len=args.max_len,
                               limit=args.limit)
        ids = sorted({i for p in paths for i in p.entity_ids})
        labels = {e.id: e.label for e in ws.get_entities(ids)}
    finally:
        ws.db.lock()

    def text() -> str:
        if not paths:
            return f"no path of at most {args.max_len} hops from {args.src} to {args.dst}"
        lines = []
        for p in paths:
            parts = [f"{p.entity_ids[0]} {labels.get(p.entity_ids[0], '')}"]
            for hop, eid in zip(p.hops, p.entity_ids[1:], strict=True):
                parts.append(f" -[{hop}]- {eid} {labels.get(eid, '')}")
            lines.append(f"{p.length} hop(s): " + "".join(parts))
        return "\n".join(lines)

    cli.emit(args, paths, text)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the analysis subcommands to the main parser."""
    sp = sub.add_parser(
        "search", help="full-text search over events, entities, notes and cases",
        description='Query language: words (all must occur), "exact phrases", prefix*, AND / OR / NOT '
                    "(capitals) or -word, parentheses; filters case:NUMBER kind:message,transaction "
                    "from:2024-01-01 to:2024-02-01. Identifiers (phones, e-mails, cards, IPs, URLs) are "
                    "matched in any spelling. Matches are marked «like this».")
    sp.add_argument("query", nargs="+", help="the query (quote it for the shell)")
    sp.add_argument("--case", help="only this case (number or id)")
    sp.add_argument("--kind", action="append", metavar="KIND",
                    help="event/entity kind, or event|entity|note|case (repeat or comma-separate)")
    sp.add_argument("--limit", type=int, default=50)
    sp.add_argument("--offset", type=int, default=0)
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser("links", help="other cases sharing identifiers, files or people with a case, and why")
    sp.add_argument("case", help="case number or id")
    sp.add_argument("--window-hours", type=float, default=24.0,
                    help="IP addresses match only when used within this many hours in both cases (default 24)")
    sp.add_argument("--only", action="append", choices=["identifier", "media_exact", "media_pdq", "person"],
                    help="only this kind of evidence (repeatable)")
    sp.set_defaults(func=cmd_links)

    sp = sub.add_parser("duplicates", help="entities that are probably duplicates (same key, same person)")
    sp.add_argument("--case", help="only this case (number or id)")
    sp.set_defaults(func=cmd_duplicates)

    sp = sub.add_parser("occurrences", help="other cases holding the same identifier or person as an entity")
    sp.add_argument("entity", type=int)
    sp.set_defaults(func=cmd_occurrences)

    sp = sub.add_parser("paths", help="shortest link paths between two entities")
    sp.add_argument("src", type=int)
    sp.add_argument("dst", type=int)
    sp.add_argument("--cross-case", action="store_true", help="also step between entities with the same identifier")
    sp.add_argument("--max-len", type=int, default=6)
    sp.add_argument("--limit", type=int, default=5)
    sp.set_defaults(func=cmd_paths)
