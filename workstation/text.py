"""Small text helpers shared by the importers and the media walker."""

from __future__ import annotations


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
