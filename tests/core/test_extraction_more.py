"""Identifier extraction from realistic chat and mail text (workstation.analysis.identifiers).

What an investigator notices: an address, number, site or wallet written the way people
really write them is found and keyed like its plain spelling (so it links across cases),
and ordinary English, dates, versions and bank details do not turn into identifiers that
flood a case. All values are synthetic: example.com/example.org addresses, 555 and Ofcom
drama numbers, published card test numbers and published address test vectors.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.analysis.identifiers import Found, extract, normalize, normalize_handle

KEY = bytes(range(32))
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Published test vectors (Bitcoin wiki, BIP 173, BIP 350, EIP-55) and a Monero address
# built for these tests from fixed key bytes with a correct Keccak checksum.
BTC_P2PKH = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
BTC_P2SH = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
BTC_BECH32 = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
BTC_TAPROOT = "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"
ETH_EIP55 = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
XMR = ("41fKjWJQySv2LxFSMtsQ5k3gsHPkECmXt52nKM8ZY8z26NhMJWtsWSA7icPFuECstJ94XRDHZYFLSAQ"
       "STAftscna8JuzEJT")
ONION_V3 = "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"


def _keys(found: list[Found]) -> list[str]:
    return [f.identifier.key for f in found]


def _kinds(found: list[Found]) -> list[tuple[str, str]]:
    return [(f.kind, f.raw) for f in found]


# ----------------------------------------------------------------------------- e-mail

def test_obfuscated_addresses_are_found_and_marked_but_english_is_not() -> None:
    text = ("write alex[at]example[dot]com or bob (at) example (dot) org, "
            "carl at example dot co dot uk. We meet at the park dot at 5; look at google "
            "dot com; Bob works at Example.com; I was at home dot com was down")
    found = extract(text)
    assert _kinds(found) == [
        ("email", "alex[at]example[dot]com"), ("email", "bob (at) example (dot) org"),
        ("email", "carl at example dot co dot uk"), ("url", "Example.com"),
    ]
    assert _keys(found)[:3] == ["email:alex@example.com", "email:bob@example.org",
                                "email:carl@example.co.uk"]
    # Keyed like the plain spelling, so it links to the same address written normally.
    plain = extract("alex@example.com")[0].identifier
    assert found[0].identifier.key == plain.key
    assert all(f.identifier.properties.get("obfuscated") is True for f in found[:3])
    assert "obfuscated" not in plain.properties


def test_mailto_escapes_and_quoted_printable_leftovers() -> None:
    found = extract('<a href="mailto:alex%2Bshop@example.com?subject=hi">mail</a>')
    assert _keys(found) == ["email:alex+shop@example.com"]
    assert found[0].identifier.properties["base"] == "alex@example.com"
    # A soft line break inside an address must not leave a truncated, wrong address.
    text = "Reply to jo.sm=\nith@example.org or jo=40example.net today"
    found = extract(text)
    assert _keys(found) == ["email:jo.smith@example.org", "email:jo@example.net"]
    for f in found:
        assert text[f.start:f.end] == f.raw


# ----------------------------------------------------------------------------- phones

def test_phones_as_written_abroad_and_at_home() -> None:
    text = ("new no 0049 30 1234567, uk 07700 900123, Tel2025550143, "
            "cn +86 138 0013 8000, order #2025550199 shipped")
    gb = extract(text, region="GB")
    assert "phone:+49301234567" in _keys(gb)
    assert "phone:+447700900123" in _keys(gb)
    us = extract(text, region="US")
    # '00' dials abroad even in text read under a region that dials 011.
    assert _kinds(us) == [("phone", "0049 30 1234567"), ("phone", "2025550143"),
                          ("phone", "+86 138 0013 8000")]
    assert _keys(us) == ["phone:+49301234567", "phone:+12025550143", "phone:+8613800138000"]


# ----------------------------------------------------------------------------- URLs

def test_links_written_without_a_scheme() -> None:
    text = ("join t.me/SomeChannel or wa.me/447700900123, docs at example.com/path?a=1. "
            "short bit.ly/3xYz12 (also www.example.org). Not sites: node.js, e.g. ok.so, "
            "report.pdf, 1.5.2")
    found = extract(text)
    assert _kinds(found) == [
        ("url", "t.me/SomeChannel"), ("url", "wa.me/447700900123"),
        ("url", "example.com/path?a=1"), ("url", "bit.ly/3xYz12"), ("url", "www.example.org"),
    ]
    assert found[0].identifier.key == "url:http://t.me/SomeChannel"
    # A WhatsApp click-to-chat link names a phone number.
    assert found[1].identifier.properties["phone"] == "+447700900123"


def test_onion_addresses_are_found_only_with_a_valid_checksum() -> None:
    broken = ONION_V3.replace("duck", "dack")
    found = extract(f"mirror {ONION_V3}/forum and typo {broken} end")
    assert [f.raw for f in found] == [f"{ONION_V3}/forum"]
    assert found[0].identifier.key == f"url:http://{ONION_V3}/forum"
    assert found[0].identifier.properties["onion"] == "v3"


def test_magnet_links_are_keyed_by_their_info_hash() -> None:
    hexed = "magnet:?xt=urn:btih:C12FE1C06BBA254A9DC9F519B335AA7C1367A88A&dn=holiday+pics"
    b32 = "magnet:?tr=udp://tracker.example.org:80&xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK"
    found = extract(f"get it: {hexed} or {b32}.")
    assert [f.kind for f in found] == ["url", "url"]
    key = "url:magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
    assert _keys(found) == [key, key]
    assert found[0].identifier.properties["name"] == "holiday pics"
    assert normalize("url", found[1].identifier.value).key == key


# ----------------------------------------------------------------------------- IPs, cards

def test_version_numbers_are_not_ip_addresses() -> None:
    found = extract("upgraded to version 10.2.3.4 (build 1.0.0.12) from 192.0.2.44:8080")
    assert _kinds(found) == [("ip", "192.0.2.44:8080")]


def test_no_card_or_phone_inside_an_iban() -> None:
    # The IBAN's digits hold a Luhn-valid Visa test number; the card beside it is real.
    text = "IBAN DE95 4111 1111 1111 1111 00, card 4111 1111 1111 1111"
    found = extract(text, card_key=KEY)
    assert _kinds(found) == [("card", "4111 1111 1111 1111")]


# ----------------------------------------------------------------------------- wallets

def test_wallet_addresses_are_accounts_on_their_chain() -> None:
    text = (f"pay {BTC_P2PKH} or {BTC_P2SH} or {BTC_BECH32.upper()} or {BTC_TAPROOT}, "
            f"eth {ETH_EIP55}, xmr {XMR}.")
    found = extract(text)
    assert [f.kind for f in found] == ["account"] * 6
    assert _keys(found) == [
        f"account:bitcoin:{BTC_P2PKH}", f"account:bitcoin:{BTC_P2SH}",
        f"account:bitcoin:{BTC_BECH32}", f"account:bitcoin:{BTC_TAPROOT}",
        f"account:ethereum:{ETH_EIP55.lower()}", f"account:monero:{XMR}",
    ]
    props = found[4].identifier.properties
    assert (props["platform"], props["currency"], props["wallet"]) == ("ethereum", "ETH", True)
    assert found[2].identifier.properties["address_type"] == "p2wpkh"
    # The same wallet entered by hand (any case, alias platform) gets the same key.
    assert normalize_handle("eth", ETH_EIP55.lower()).key == found[4].identifier.key
    assert normalize_handle("btc", BTC_BECH32.upper()).key == found[2].identifier.key
    for f in found:
        assert normalize("account", f.identifier.value).key == f.identifier.key


def _mutate(address: str, pos: int, repl: str) -> str:
    i = pos % len(address)
    return address[:i] + repl + address[i + 1:]


@FAST
@given(st.sampled_from([BTC_P2PKH, BTC_P2SH, BTC_BECH32, BTC_TAPROOT, ETH_EIP55, XMR]),
       st.integers(min_value=3, max_value=200), st.sampled_from("23456789abcdefghjkmnpqrstuvwxyz"))
def test_a_mistyped_wallet_address_is_not_found(address: str, pos: int, repl: str) -> None:
    # The address as written is found; one changed character makes it no address.
    assert [f.kind for f in extract(f"send to {address} now")] == ["account"]
    bad = _mutate(address, pos, repl)
    found = extract(f"send to {bad} now")
    if bad == address or (address == ETH_EIP55 and bad.lower() == address.lower()
                          and bad[2:] == bad[2:].lower()):
        return  # unchanged (or an all-lower spelling, which carries no checksum)
    assert [f for f in found if f.kind == "account"] == []


# ----------------------------------------------------------------------------- mixtures

_SNIPPETS = st.sampled_from([
    "jo@example.org", "jo [at] example [dot] org", "t.me/some_name", "example.com/x",
    "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a", BTC_BECH32,
    "0049 30 1234567", "+44 7700 900123", "10.0.0.1", "version 1.2.3.4", "2019-2024",
    "12:30", "hello", "meet at the park dot", "(ok)", "...",
])


@FAST
@given(st.lists(st.tuples(_SNIPPETS, st.sampled_from([" ", ", ", "\n", " - ", "; "])),
                max_size=10))
def test_mixed_messages_find_each_new_kind_without_overlaps(parts: list[tuple[str, str]]) -> None:
    text = "".join(s + sep for s, sep in parts)
    found = extract(text, region="US", card_key=KEY)
    for f in found:
        assert text[f.start:f.end] == f.raw
    for a, b in zip(found, found[1:]):
        assert a.end <= b.start
    emails = sum(s in ("jo@example.org", "jo [at] example [dot] org") for s, _ in parts)
    wallets = sum(s == BTC_BECH32 for s, _ in parts)
    magnets = sum(s.startswith("magnet:") for s, _ in parts)
    assert [f.identifier.key for f in found if f.kind == "email"] == ["email:jo@example.org"] * emails
    assert sum(f.kind == "account" for f in found) == wallets
    assert sum(f.identifier.key.startswith("url:magnet:") for f in found) == magnets
    assert sum(f.identifier.key == "phone:+49301234567" for f in found) == sum(
        s == "0049 30 1234567" for s, _ in parts)
    assert "ip:1.2.3.4" not in [f.identifier.key for f in found]


def test_dates_amounts_versions_and_order_numbers_stay_out() -> None:
    text = ("on 2024-01-05 at 05.01.2024, id 20240105, 12:34:56, total $1,234.56; "
            "seasons 2019-2024 and 1999-2005, v2.1.3, build 2023.10.05.1; tracking "
            "1Z999AA10123456784, order no. 123-4567890-1234567, ticket #2025550143")
    assert extract(text, card_key=KEY) == []
