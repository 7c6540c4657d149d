"""Payment-card masking for anything a report prints.

A report leaves the encrypted database as a readable file, so it never carries a full
card number: card entities print as ``•••• 1234`` and any free text (event titles, chat
bodies, notes, labels of entities imported without normalisation) is scrubbed of digit
runs that are Luhn-valid card numbers, keeping only the last four digits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "••••"
# 13 to 19 digits, optionally grouped by single spaces or dashes (how people type cards).
_PAN = re.compile(r"(?<![\d])(?:\d[ \-]?){12,18}\d(?![\d])")


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def masked_card(last4: str | None) -> str:
    """``•••• 1234`` (or ``••••`` when the last four digits are unknown)."""
    last4 = "".join(ch for ch in (last4 or "") if ch.isdigit())[-4:]
    return f"{MASK} {last4}" if last4 else MASK


def mask_cards(text: str | None) -> str:
    """``text`` with every Luhn-valid 13–19 digit card number replaced by ``•••• 1234``."""
    if not text:
        return text or ""

    def repl(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            return masked_card(digits[-4:])
        return m.group(0)

    return _PAN.sub(repl, text)


def entity_display(kind: str, label: str, properties: Mapping[str, Any] | None) -> str:
    """How a report shows an entity: cards always masked, everything else scrubbed."""
    if kind == "card":
        last4 = (properties or {}).get("last4")
        if not last4:
            digits = "".join(ch for ch in label if ch.isdigit())
            last4 = digits[-4:] if digits else None
        return masked_card(str(last4) if last4 else None)
    return mask_cards(label)


__all__ = ["mask_cards", "masked_card", "entity_display", "luhn_ok"]
