"""Category schemes loaded from package data."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from workstation.media.categories import CategorySchemeError, load_schemes, parse_schemes


def test_shipped_schemes_load() -> None:
    schemes = load_schemes()
    assert {"vic_us", "vic_ca", "uk_caid"} <= set(schemes)
    for scheme in schemes.values():
        keys = [c.key for c in scheme.categories]
        assert len(keys) == len(set(keys)) and all(k.isdigit() and len(k) == 1 for k in keys)
        assert scheme.unreviewed.unreviewed and not scheme.unreviewed.known_bad


def test_project_vic_us_codes() -> None:
    vic = load_schemes()["vic_us"]
    labels = {c.code: c.label for c in vic.categories}
    assert labels["0"] == "Uncategorized"
    assert "Child Abuse Material" in labels["1"] and "CAM" in labels["1"]
    assert "Exploitive" in labels["2"] and "Age Difficult" in labels["2"]
    assert "CGI" in labels["3"] and "Animation" in labels["3"]
    assert "Comparison" in labels["4"]
    assert vic.known_bad_codes == {"1", "3"}
    assert vic.by_code(1) is vic.by_code("1")  # VICS carries integers
    assert vic.by_key("1").code == "1" and vic.by_key("9") is None
    assert vic.default == "0"


def test_uk_caid_categories() -> None:
    caid = load_schemes()["uk_caid"]
    assert caid.known_bad_codes == {"A", "B", "C"}
    assert caid.by_code("a").label == "Category A"
    assert caid.by_key("1").code == "A" and caid.by_key("3").code == "C"
    assert not caid.by_key("4").known_bad  # non-indecent


def test_resource_is_package_data() -> None:
    text = resources.files("resources").joinpath("categories.json").read_text(encoding="utf-8")
    assert json.loads(text)["schemes"]


@pytest.mark.parametrize(("categories", "message"), [
    ([{"code": "1", "label": "x", "key": "1", "known_bad": True},
      {"code": "2", "label": "y", "key": "1", "known_bad": False}], "key '1' already used"),
    ([{"code": "1", "label": "x", "key": "1", "known_bad": True},
      {"code": "1", "label": "y", "key": "2", "known_bad": False}], "duplicate code"),
    ([{"code": "1", "label": "x", "key": "12", "known_bad": True}], "single digit"),
    ([{"code": "1", "label": "x", "key": "1", "known_bad": "yes"}], "known_bad"),
    ([{"code": "1", "key": "1", "known_bad": True}], "missing field 'label'"),
])
def test_malformed_schemes_name_the_fault(categories: list[dict[str, object]], message: str) -> None:
    text = json.dumps({"schemes": {"custom": {"default": "1", "categories": categories}}})
    with pytest.raises(CategorySchemeError, match=message) as info:
        parse_schemes(text)
    assert "custom" in str(info.value)


def test_invalid_json_and_missing_default() -> None:
    with pytest.raises(CategorySchemeError, match="line"):
        parse_schemes("{ not json")
    bad_default = {"schemes": {"s": {"default": "9", "categories": [
        {"code": "1", "label": "x", "key": "1", "known_bad": False}]}}}
    with pytest.raises(CategorySchemeError, match="default"):
        parse_schemes(json.dumps(bad_default))
