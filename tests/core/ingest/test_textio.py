"""Encoding detection on the short Western files banks and old money programs write."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from workstation.ingest.pipeline import run_import
from workstation.ingest.textio import detect_encoding


@pytest.mark.parametrize("text", [
    "Café Müller €",                      # the detector alone names cp1125 (Ukrainian DOS)
    "Bäckerei Straße 5, Köln",
    "Crème brûlée à Noël",
])
def test_short_western_text_is_cp1252_not_a_dos_code_page(text: str) -> None:
    assert detect_encoding(text.encode("cp1252")) == "cp1252"


def test_non_western_single_byte_text_keeps_its_code_page() -> None:
    # cp1252 cannot decode these bytes (or would make nonsense of them): the guess stands.
    russian = "Привет, как дела? Борис Николаевич Петров".encode("cp866")
    assert detect_encoding(russian) in ("cp866", "cp1125")
    assert detect_encoding("Привет, как дела? Борис Николаевич".encode("cp1251")) == "cp1251"


def test_a_short_cp1252_statement_imports_its_payee_intact(ws, tmp_path: Path) -> None:
    # A one-transaction QIF: the detector alone calls it cp775 (Baltic DOS), "Cafķ M³ller Ć".
    path = tmp_path / "card.qif"
    path.write_bytes("!Type:Bank\nD01/05/2024\nT-12.50\nPCafé Müller €\n^\n".encode("cp1252"))
    assert detect_encoding(path.read_bytes()) == "cp1252"
    case_id = ws.create_case("ENC-1", "Encoding").id
    result = run_import(ws, case_id, path)
    assert result.errors == () and result.events == 1
    (event,) = ws.list_events(case_id, limit=None)
    assert "Café Müller €" in event.title
    assert Decimal(str(event.properties["amount"])) == Decimal("-12.50")
