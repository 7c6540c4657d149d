"""Merchant Category Codes: the four-digit code a card network gives a merchant.

The table ships as package data (``resources/mcc_codes.csv``, public domain, from the
mcc-codes project; licence text beside it). Loaded once, on first use.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    data = resources.files("workstation.ingest.finance").joinpath(
        "resources/mcc_codes.csv").read_text(encoding="utf-8")
    table: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(data, newline="")):
        code = (row.get("mcc") or "").strip()
        desc = (row.get("edited_description") or row.get("combined_description") or "").strip()
        if code:
            table[code] = desc
    return table


def normalise_mcc(value: Any) -> str | None:
    """A code as four digits with leading zeros (``742`` → ``0742``), or None if it is not
    a 1-4 digit number."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text.isdigit() or len(text) > 4:
        return None
    return text.zfill(4)


def mcc_description(value: Any) -> str | None:
    """The description of a merchant category code, or None when unknown."""
    code = normalise_mcc(value)
    return _table().get(code) if code else None


def mcc_count() -> int:
    """How many codes the table knows."""
    return len(_table())
