"""Typed errors of the media core.

Every error names what it is about (a file, an archive member, a hash-set line) in its
message, so the UI can show ``str(error)`` as is. The attributes carry the same facts for
code that wants to group or count them.
"""

from __future__ import annotations


class MediaError(Exception):
    """A media file could not be analysed (unsupported, corrupt, too large...).

    ``source`` names the file (path or ``archive!/member``) when known; ``reason`` is a short
    machine-friendly tag (``"unsupported"``, ``"bomb"``, ``"corrupt"``, ``"truncated"``,
    ``"unreadable"``, ``"unsafe-path"``, ``"zip-bomb"``, ``"encrypted"``...).
    """

    reason: str = "error"

    def __init__(self, message: str, *, source: str | None = None,
                 reason: str | None = None) -> None:
        self.message = message
        self.source = source
        if reason is not None:
            self.reason = reason
        super().__init__(f"{source}: {message}" if source else message)

    def with_source(self, source: str) -> "MediaError":
        """The same error naming ``source`` (used when the caller knows the file name)."""
        if self.source:
            return self
        return type(self)(self.message, source=source, reason=self.reason)


class UnsupportedFormatError(MediaError):
    """The content is of a type this build cannot decode (e.g. HEIF without pillow-heif)."""

    reason = "unsupported"


class DecompressionBombError(MediaError):
    """The image declares more pixels than the configured cap: refused before decoding."""

    reason = "bomb"


class CorruptImageError(MediaError):
    """The image data is truncated or malformed."""

    reason = "corrupt"


class SourceError(MediaError):
    """A source could not be read: vanished, permission denied, unsafe or oversized member."""

    reason = "unreadable"


class HashSetError(Exception):
    """A file is not a hash set at all, or cannot be read as the format asked for.

    Single bad lines inside a valid hash set are *not* raised: they are counted and kept
    as :class:`workstation.media.hashsets.LineError` items on the reader.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        where = ", ".join(p for p in (file, f"line {line}" if line else None) if p)
        super().__init__(f"{where}: {message}" if where else message)


class InvalidHashError(ValueError):
    """A hash string is not the hex digest it claims to be (wrong length or characters)."""
