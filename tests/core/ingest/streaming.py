"""Checks shared by the tests of the streamed JSON chat parsers (Telegram, Discord, Messenger)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workstation.ingest.records import ImportOptions, ParseError


def assert_truncated_file_fails_before_yielding(parser: Any, path: Path, encoding: str = "utf-8") -> None:
    """A cut-off export: nothing yielded (the whole file is checked before the first
    record), and the error names the file and its last line."""
    lines = path.read_text(encoding=encoding).count("\n") + 1
    got = []
    with pytest.raises(ParseError) as exc:
        for record in parser.parse(path, ImportOptions()):
            got.append(record)
    assert got == []
    assert exc.value.file == str(path)
    assert exc.value.ref is not None and exc.value.ref.startswith(f"line {lines} column ")
    assert "invalid JSON" in exc.value.message
