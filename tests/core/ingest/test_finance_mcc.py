"""Merchant category codes shipped as package data."""

from __future__ import annotations

from pathlib import Path

from workstation.ingest.finance import mcc


def test_table_matches_the_corpus(shared_data: Path) -> None:
    assert mcc.mcc_count() == 981
    assert mcc.mcc_description("0742") == "Veterinary Services"
    assert mcc.mcc_description("5411") == "Grocery Stores, Supermarkets"
    assert mcc.mcc_description("5812") == "Eating places and Restaurants"
    assert mcc.mcc_description("4829") == "Money Orders – Wire Transfer"
    assert mcc.mcc_description("5816") == "Digital Goods: Games"
    shipped = Path(mcc.__file__).parent / "resources"
    assert (shipped / "mcc_codes.csv").read_bytes() == (
        shared_data / "finance/mcc/mcc_codes.csv").read_bytes()
    assert "public domain" in (shipped / "mcc_codes.LICENSE.txt").read_text(encoding="utf-8")


def test_codes_are_normalised() -> None:
    assert mcc.normalise_mcc(742) == "0742"
    assert mcc.normalise_mcc(" 5411 ") == "5411"
    assert mcc.normalise_mcc(5411.0) == "5411"
    assert mcc.mcc_description(742) == "Veterinary Services"
    for bad in (None, "", "54111", "ab12", "-123"):
        assert mcc.normalise_mcc(bad) is None
        assert mcc.mcc_description(bad) is None
    assert mcc.mcc_description("0001") is None
