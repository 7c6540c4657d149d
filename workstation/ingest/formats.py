"""The registry of importers: every parser the pipeline can detect and run."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def all_parsers() -> tuple[Any, ...]:
    """Every registered parser, chat first (their sniffers are the most specific)."""
    from workstation.ingest.booking import PARSERS as BOOKING
    from workstation.ingest.chat import PARSERS as CHAT
    from workstation.ingest.finance import PARSERS as FINANCE

    parsers = (*CHAT, *FINANCE, *BOOKING)
    names = [p.name for p in parsers]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise RuntimeError(f"two importers share the name(s) {sorted(dupes)}")
    return parsers


def get_parser(name: str) -> Any:
    for p in all_parsers():
        if p.name == name:
            return p
    raise KeyError(name)


def describe() -> list[tuple[str, str]]:
    """(name, label) of every importer, for `workstation formats` and the import wizard."""
    return [(p.name, p.label) for p in all_parsers()]
