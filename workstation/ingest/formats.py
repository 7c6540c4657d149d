"""The registry of importers: every parser the pipeline can detect and run."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

#: When one export is found in two forms side by side (Telegram Desktop's "JSON and HTML"
#: choice writes result.json beside messages.html; a DYI download can hold a thread both
#: ways), a folder import reads the first form and leaves the others found in the same
#: folder or below it: the same messages would otherwise be imported twice.
SUPERSEDES: dict[str, frozenset[str]] = {
    "telegram_json": frozenset({"telegram_html"}),
    "messenger_json": frozenset({"messenger_html"}),
}


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


def folder_root(parser: Any, path: Path) -> Path | None:
    """The export folder ``parser`` reads when given ``path``, for importers that read a
    whole folder (an unzipped Slack export, a Discord data package); None for importers
    that read the one file. A folder the parser's sniffer claimed is its own root."""
    own = getattr(parser, "folder_root", None)
    if callable(own):
        root = own(path)
        return Path(root) if root is not None else None
    return Path(path) if Path(path).is_dir() else None
