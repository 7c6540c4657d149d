"""Media category schemes (Project VIC US, VIC Canada, UK CAID), kept as data.

The schemes live in ``resources/categories.json`` (package data of the ``resources``
package) so an agency can adjust labels without code changes. Each category has a
``code`` (what hash sets and exports carry), a ``label``, whether it is ``known_bad``,
and the digit ``key`` a reviewer presses to apply it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

RESOURCE_PACKAGE = "resources"
RESOURCE_NAME = "categories.json"


class CategorySchemeError(ValueError):
    """The category file is malformed (names the scheme and category at fault)."""


@dataclass(frozen=True, slots=True)
class Category:
    """One category of a scheme."""

    code: str
    label: str
    short: str
    known_bad: bool
    key: str
    unreviewed: bool = False


@dataclass(frozen=True, slots=True)
class CategoryScheme:
    """An ordered set of categories; look them up by code or by the reviewer's key."""

    name: str
    label: str
    description: str
    default: str
    categories: tuple[Category, ...]

    def by_code(self, code: str | int | None) -> Category | None:
        """The category with this code (ints are accepted for numeric schemes), or None."""
        if code is None:
            return None
        text = str(code).strip()
        for category in self.categories:
            if category.code == text or category.code.lower() == text.lower():
                return category
        return None

    def by_key(self, key: str) -> Category | None:
        """The category a reviewer's key press selects, or None."""
        for category in self.categories:
            if category.key == key:
                return category
        return None

    @property
    def known_bad_codes(self) -> frozenset[str]:
        """Codes whose hash-set matches are alerts."""
        return frozenset(c.code for c in self.categories if c.known_bad)

    @property
    def unreviewed(self) -> Category:
        """The 'not yet categorised' category."""
        found = self.by_code(self.default)
        assert found is not None  # checked when the scheme was loaded
        return found


def _parse_scheme(name: str, data: Any) -> CategoryScheme:
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
        raise CategorySchemeError(f"scheme {name!r}: missing 'categories' list")
    categories: list[Category] = []
    seen_codes: set[str] = set()
    seen_keys: set[str] = set()
    for i, item in enumerate(data["categories"], start=1):
        where = f"scheme {name!r}, category {i}"
        if not isinstance(item, dict):
            raise CategorySchemeError(f"{where}: not an object")
        try:
            code = str(item["code"]).strip()
            label = str(item["label"]).strip()
            key = str(item["key"]).strip()
            known_bad = item["known_bad"]
        except KeyError as exc:
            raise CategorySchemeError(f"{where}: missing field {exc.args[0]!r}") from None
        if not code or not label:
            raise CategorySchemeError(f"{where}: empty code or label")
        if not isinstance(known_bad, bool):
            raise CategorySchemeError(f"{where}: 'known_bad' must be true or false")
        if len(key) != 1 or not key.isdigit():
            raise CategorySchemeError(f"{where}: 'key' must be a single digit, got {key!r}")
        if code.lower() in seen_codes:
            raise CategorySchemeError(f"{where}: duplicate code {code!r}")
        if key in seen_keys:
            raise CategorySchemeError(f"{where}: key {key!r} already used")
        seen_codes.add(code.lower())
        seen_keys.add(key)
        categories.append(Category(code=code, label=label, short=str(item.get("short") or label),
                                   known_bad=known_bad, key=key,
                                   unreviewed=bool(item.get("unreviewed", False))))
    default = str(data.get("default", categories[0].code if categories else "")).strip()
    if default.lower() not in seen_codes:
        raise CategorySchemeError(f"scheme {name!r}: default {default!r} is not one of its codes")
    return CategoryScheme(name=name, label=str(data.get("label") or name),
                          description=str(data.get("description") or ""), default=default,
                          categories=tuple(categories))


def parse_schemes(text: str) -> dict[str, CategoryScheme]:
    """Schemes from the JSON text of a category file; raises :class:`CategorySchemeError`."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CategorySchemeError(f"{RESOURCE_NAME}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    schemes = document.get("schemes") if isinstance(document, dict) else None
    if not isinstance(schemes, dict) or not schemes:
        raise CategorySchemeError(f"{RESOURCE_NAME}: no 'schemes' object")
    return {name: _parse_scheme(name, data) for name, data in schemes.items()}


def load_schemes() -> dict[str, CategoryScheme]:
    """All category schemes shipped with the application, by name
    (``vic_us``, ``vic_ca``, ``uk_caid``)."""
    text = resources.files(RESOURCE_PACKAGE).joinpath(RESOURCE_NAME).read_text(encoding="utf-8")
    return parse_schemes(text)
