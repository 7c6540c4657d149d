"""Small text helpers shared by the importers, the media walker, reports and views."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def storable_name(name: str) -> str:
    """A file name or path as text the database can store. A name that is not valid UTF-8 on
    disk (an evidence drive written by an old Windows or a camera) reaches Python with its raw
    bytes as lone surrogates; they are written as ``\\xe9`` escapes, so the name still shows
    which file it was."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def json_object(value: Any) -> dict[str, Any]:
    """A stored JSON object column (text, or already decoded by the driver) as a dict: {}
    for NULL, for text that is not JSON and for JSON that is not an object."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    try:
        out = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}
