"""Format detection across all chat/mail parsers, and the shared bad-input contract."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from workstation.ingest.chat import PARSERS
from workstation.ingest.records import ImportOptions, ParseError

EXPECTED = {
    "chat/telegram/result.json": "telegram_json",
    "chat/telegram/messages.html": "telegram_html",
    "chat/whatsapp/whatsapp_ios_chat.txt": "whatsapp_txt",
    "chat/whatsapp/whatsapp_mixed_formats_chat.txt": "whatsapp_txt",
    "chat/messenger/facebook_chat.json": "messenger_json",
    "chat/slack/slack_export.zip": "slack_zip",
    "chat/email/fake-email-attachment.eml": "email_eml",
}


def scores(path: Path) -> dict[str, float]:
    head = path.read_bytes()[:65536]
    return {p.name: p.sniff(path, head) for p in PARSERS}


def test_parsers_follow_the_protocol() -> None:
    names = [p.name for p in PARSERS]
    assert len(names) == len(set(names)) >= 10
    for p in PARSERS:
        assert p.label and callable(p.sniff) and callable(p.parse)


@pytest.mark.parametrize(("rel", "expected"), sorted(EXPECTED.items()))
def test_each_corpus_file_is_claimed_by_its_parser_only(shared_data: Path, rel: str,
                                                         expected: str) -> None:
    s = scores(shared_data / rel)
    assert s[expected] >= 0.8
    assert all(v < 0.5 for name, v in s.items() if name != expected), s


def test_finance_files_are_not_claimed(shared_data: Path) -> None:
    files = sorted(p for p in (shared_data / "finance").rglob("*")
                   if p.is_file() and p.suffix.lower() in (".csv", ".ofx", ".qif", ".json"))
    assert len(files) > 20
    for path in files:
        s = scores(path)
        assert max(s.values()) == 0.0, (path, s)


def test_binary_file_is_a_parse_error_for_every_parser(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(random.Random(11).randbytes(30000))
    for p in PARSERS:
        assert p.sniff(path, path.read_bytes()[:65536]) == 0.0, p.name
        with pytest.raises(ParseError) as exc:
            list(p.parse(path, ImportOptions()))
        assert str(path) in str(exc.value), p.name


def test_missing_file_is_a_parse_error_for_every_parser(tmp_path: Path) -> None:
    path = tmp_path / "gone.txt"
    for p in PARSERS:
        with pytest.raises(ParseError):
            list(p.parse(path, ImportOptions()))
