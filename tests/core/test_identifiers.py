"""Identifier normalisation and extraction (workstation.analysis.identifiers).

The join key is what cross-case matching relies on, so the properties tested here are the
ones an officer would notice when they fail: two spellings of one phone/e-mail/card/IP that
do not meet (a missed link between cases), or re-normalising a stored value giving a new
key (a case that stops matching itself). All phone numbers are from fictitious ranges and
all card numbers are published test numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from workstation.analysis.identifiers import (
    Found,
    Identifier,
    IdentifierError,
    card_brand,
    card_fingerprint,
    extract,
    luhn_valid,
    normalize,
    normalize_card,
    normalize_domain,
    normalize_email,
    normalize_handle,
    normalize_ip,
    normalize_phone,
    normalize_url,
    person_name_key,
    split_key,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
TEST_CARDS = {
    "4111111111111111": "visa",
    "5555555555554444": "mastercard",
    "378282246310005": "amex",
    "6011111111111117": "discover",
    "2223003122003222": "mastercard",
}
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def again(ident: Identifier, text: str, **kw: object) -> str:
    """The key obtained by normalising ``text`` as the same kind (what a later import of a
    stored value does)."""
    return normalize(ident.kind, text, **kw).key  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- phones

US_SPELLINGS = ["+1 (202) 555-0143", "202.555.0143", "001 202 555 0143", "tel:+12025550143",
                "(202) 555 0143", "1-202-555-0143", "011 1 202 555 0143", "+12025550143",
                "  202-555-0143  ", "tel:+1-202-555-0143;ext=9", "２０２-５５５-０１４３"]


@pytest.mark.parametrize("spelling", US_SPELLINGS)
def test_us_phone_spellings_meet(spelling: str) -> None:
    ident = normalize_phone(spelling, "US")
    assert ident.key == "phone:+12025550143"
    assert ident.display == "+1 202-555-0143"
    assert ident.properties["region"] == "US"
    assert ident.properties["country_code"] == 1


def test_phone_region_reads_national_numbers() -> None:
    gb = normalize_phone("07700 900123", "GB")
    assert gb.key == "phone:+447700900123"
    assert gb.display == "+44 7700 900123"
    assert normalize_phone("+44 (0)7700 900123", "US").key == gb.key
    assert normalize_phone("0044 7700 900123", "US").key == gb.key
    # The same national digits mean another number in another region.
    assert normalize_phone("0491 570 156", "AU").key == "phone:+61491570156"


def test_phone_properties_and_extension() -> None:
    ident = normalize_phone("(202) 555-0143 ext. 12")
    assert ident.key == "phone:+12025550143"
    assert ident.properties["extension"] == "12"
    assert ident.properties["valid"] is True
    assert ident.properties["type"] in {"fixed", "mobile", "fixed_or_mobile"}
    au = normalize_phone("+61 491 570 156")
    assert au.properties["type"] == "mobile" and au.properties["region"] == "AU"
    assert "extension" not in au.properties
    # A number outside the ranges the metadata knows is kept but flagged.
    assert normalize_phone("+44 7700 900123").properties["valid"] is False


def test_phone_without_region_needs_country_code() -> None:
    assert normalize_phone("+12025550143", None).key == "phone:+12025550143"
    with pytest.raises(IdentifierError, match=r"'202-555-0143'.*no country code"):
        normalize_phone("202-555-0143", None)


@pytest.mark.parametrize(("value", "why"), [
    ("", "no digits"),
    ("call me", "no digits"),
    ("12", "too short"),
    ("+1 202 555 0143 0143 0143 01", "too long"),
    ("555-0143", "local number"),
    ("+999 1234 5678", "country code"),
])
def test_phone_errors_name_the_value(value: str, why: str) -> None:
    with pytest.raises(IdentifierError, match=why) as info:
        normalize_phone(value, "US")
    assert repr(value) in str(info.value)
    assert info.value.kind == "phone"


def test_unknown_region_is_an_error() -> None:
    with pytest.raises(IdentifierError, match="'QQ'"):
        normalize_phone("202-555-0143", "QQ")
    with pytest.raises(IdentifierError, match="'QQ'"):
        extract("call 202-555-0143", region="QQ")


_SEP = st.sampled_from(["", " ", "-", ".", "  "])


@st.composite
def phone_spellings(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    """A fictitious number and several (spelling, region) ways of writing it."""
    country = draw(st.sampled_from(["US", "GB", "AU", "FR"]))
    s1, s2, s3 = draw(_SEP), draw(_SEP), draw(_SEP)
    if country == "US":
        last = f"01{draw(st.integers(0, 99)):02d}"
        e164 = f"+1202555{last}"
        forms = [(f"+1{s1}(202){s2}555{s3}{last}", "GB"), (f"(202){s1}555{s2}{last}", "US"),
                 (f"202{s1}555{s2}{last}", "US"), (f"001{s1}202{s2}555{s3}{last}", "US"),
                 (f"1{s1}202{s2}555{s3}{last}", "US"), (f"tel:+1-202-555-{last}", "FR")]
    elif country == "GB":
        last = f"{draw(st.integers(0, 999)):03d}"
        e164 = f"+447700900{last}"
        forms = [(f"+44{s1}7700{s2}900{s3}{last}", "US"), (f"07700{s1}900{s2}{last}", "GB"),
                 (f"0044{s1}7700{s2}900{last}", "AU"), (f"+44{s1}(0){s2}7700{s3}900{last}", "US")]
    elif country == "AU":
        last = f"{draw(st.integers(0, 999)):03d}"
        e164 = f"+61491570{last}"
        forms = [(f"+61{s1}491{s2}570{s3}{last}", "US"), (f"0491{s1}570{s2}{last}", "AU"),
                 (f"0011{s1}61{s2}491{s3}570{last}", "AU")]
    else:
        last = f"{draw(st.integers(0, 9999)):04d}"
        e164 = f"+3363998{last}"
        forms = [(f"+33{s1}6{s2}39{s3}98{last[:2]}{s1}{last[2:]}", "US"),
                 (f"06{s1}39{s2}98{s3}{last}", "FR"), (f"00{s1}33{s2}639{s3}98{last}", "FR")]
    return e164, forms


@FAST
@given(phone_spellings())
def test_phone_spellings_meet_and_renormalise(case: tuple[str, list[tuple[str, str]]]) -> None:
    e164, forms = case
    for text, region in forms:
        ident = normalize_phone(text, region)
        assert ident.key == f"phone:{e164}", (text, region)
        # Re-normalising what we produced (key value, display, E.164) gives the same key,
        # whatever region the later import assumes.
        for region2 in ("US", "GB", None):
            assert normalize_phone(ident.value, region2).key == ident.key
            assert normalize_phone(ident.display, region2).key == ident.key


# ----------------------------------------------------------------------------- e-mail

@pytest.mark.parametrize("spelling", [
    "jo@example.org", " Jo@Example.ORG ", "mailto:jo@example.org", "MAILTO:JO@EXAMPLE.ORG",
    "<jo@example.org>", "Jo Example <Jo@example.org>", "mailto:jo%40example.org?subject=hi",
    "\tjo@EXAMPLE.org\n", "jo@example.org.",
])
def test_email_spellings_meet(spelling: str) -> None:
    if spelling.endswith("."):
        with pytest.raises(IdentifierError, match="ends with a dot"):
            normalize_email(spelling)
        return
    ident = normalize_email(spelling)
    assert ident.key == "email:jo@example.org"
    assert ident.display == "jo@example.org"
    assert ident.properties["domain"] == "example.org"


def test_email_idn_domain_meets_punycode() -> None:
    uni = normalize_email("Ana@Bücher.Example")
    puny = normalize_email("ana@xn--bcher-kva.example")
    assert uni.key == puny.key == "email:ana@xn--bcher-kva.example"
    assert uni.display == puny.display == "ana@bücher.example"
    assert again(uni, uni.display) == again(uni, uni.value) == uni.key
    # Full-width characters (as typed on CJK keyboards) map to the same address.
    assert normalize_email("ana@ｂüｃｈｅｒ．ｅｘａｍｐｌｅ").key == uni.key


def test_email_subaddress_is_kept_but_reported() -> None:
    ident = normalize_email("jo+shop@example.org")
    assert ident.key == "email:jo+shop@example.org"
    assert ident.properties["base"] == "jo@example.org"


@pytest.mark.parametrize(("value", "why"), [
    ("jo.example.org", "no '@'"),
    ("jo@@example.org", "exactly one '@'"),
    ("@example.org", "empty"),
    ("jo..x@example.org", "misplaced dots"),
    (".jo@example.org", "misplaced dots"),
    ("j o@example.org", "spaces"),
    ("jo@localhost", "no top-level domain"),
    ("jo@example.123", "ends in a number"),
    ("jo@exa mple.org", "letters, digits"),
    ("jo@-example.org", "letters, digits"),
    ("jo@example..org", "empty label"),
    ("Jo <jo@example.org", "angle brackets"),
    ("x" * 65 + "@example.org", "64"),
])
def test_email_errors_name_the_value(value: str, why: str) -> None:
    with pytest.raises(IdentifierError, match=why) as info:
        normalize_email(value)
    assert repr(value)[:40] in str(info.value)
    assert info.value.kind == "email"


_LABEL = st.text(alphabet="abcxyz019äöüéñçß", min_size=1, max_size=12).filter(
    lambda s: not s.startswith("xn"))
_LOCAL = st.from_regex(r"[a-z0-9_][a-z0-9_+\-]{0,10}(\.[a-z0-9_+\-]{1,5}){0,2}", fullmatch=True)


def _random_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    # Only letters with a one-letter capital: 'ß'.upper() is 'SS', another name.
    return "".join(c.upper() if f and len(c.upper()) == 1 else c for c, f in zip(text, flips))


@FAST
@given(st.data(), _LOCAL, st.lists(_LABEL, min_size=1, max_size=3),
       st.sampled_from(["org", "example", "de", "рф"]))
def test_email_variants_meet_and_renormalise(data: st.DataObject, local: str,
                                             labels: list[str], tld: str) -> None:
    address = f"{local}@{'.'.join(labels)}.{tld}"
    try:
        ident = normalize_email(address)
    except IdentifierError:
        assume(False)
        raise
    variant = _random_case(data.draw, address)
    wrapper = data.draw(st.sampled_from(["{}", " {} ", "mailto:{}", "<{}>", "Someone <{}>"]))
    assert normalize_email(wrapper.format(variant)).key == ident.key
    assert normalize_email(ident.display).key == ident.key
    assert normalize_email(ident.value).key == ident.key
    assert ident.value.isascii()


# ----------------------------------------------------------------------------- cards

def test_luhn() -> None:
    for number in TEST_CARDS:
        assert luhn_valid(number)
        # Any single changed digit breaks the check.
        bumped = number[:-1] + str((int(number[-1]) + 1) % 10)
        assert not luhn_valid(bumped)
    assert not luhn_valid("")
    assert not luhn_valid("4111 1111 1111 1111")
    assert not luhn_valid("41111111111111x1")
    assert not luhn_valid("٤١١١١١١١١١١١١١١١")  # Arabic-Indic digits are not card digits


@pytest.mark.parametrize(("number", "brand"), list(TEST_CARDS.items()))
def test_card_normalisation(number: str, brand: str) -> None:
    ident = normalize_card(number, KEY)
    expected = hmac.new(KEY, number.encode(), hashlib.sha256).hexdigest()
    assert ident.key == f"card:{expected}"
    assert card_fingerprint(number, KEY) == expected
    assert number not in ident.key
    assert ident.display == f"•••• {number[-4:]}"
    assert ident.properties["brand"] == brand
    assert ident.properties["last4"] == number[-4:]
    assert ident.properties["bin"] == number[:6]
    assert ident.sensitive == number
    assert number not in repr(ident)
    # The fingerprint depends on the secret: another key gives another (unlinkable) key.
    assert normalize_card(number, OTHER_KEY).key != ident.key
    assert normalize("card", ident.sensitive, card_key=KEY).key == ident.key


@FAST
@given(st.sampled_from(sorted(TEST_CARDS)), st.data())
def test_card_spellings_meet(number: str, data: st.DataObject) -> None:
    seps = data.draw(st.lists(st.sampled_from(["", " ", "-", " - "]), min_size=len(number) - 1,
                              max_size=len(number) - 1))
    spelled = number[0] + "".join(s + d for s, d in zip(seps, number[1:]))
    assert normalize_card(f"  {spelled} ", KEY).key == normalize_card(number, KEY).key


def test_card_brands_by_prefix() -> None:
    assert card_brand("3530" + "0" * 12) == "jcb"
    assert card_brand("3056" + "0" * 10) == "diners"
    assert card_brand("36" + "0" * 12) == "diners"
    assert card_brand("6200" + "0" * 12) == "unionpay"
    assert card_brand("6759" + "0" * 12) == "maestro"
    assert card_brand("2200" + "0" * 12) == "mir"
    assert card_brand("2720" + "0" * 12) == "mastercard"
    assert card_brand("2721" + "0" * 12) == "unknown"
    assert card_brand("6445" + "0" * 12) == "discover"
    assert card_brand("9" * 16) == "unknown"


@pytest.mark.parametrize(("value", "why", "shown"), [
    ("4111111111111112", "Luhn", "'411111******1112'"),
    ("4111-1111-1111-1112", "Luhn", "'4111-11**-****-1112'"),
    ("41111111111", "11 digits", "'*******1111'"),
    ("41111111111111111111", "20 digits", "'411111**********1111'"),
    ("4111 1111 abcd 1111", "only hold digits", "'**** **** abcd 1111'"),
    ("4111 1111 1111 1111 abcd", "only hold digits", "'4111 11** **** 1111 abcd'"),
    ("411111******1111", "masked", "'411111******1111'"),
    ("", "empty", "''"),
    ("  ", "empty", "'  '"),
])
def test_card_errors_mask_the_number(value: str, why: str, shown: str) -> None:
    with pytest.raises(IdentifierError, match=why) as info:
        normalize_card(value, KEY)
    message = str(info.value)
    assert shown in message
    assert "4111111111111112" not in message
    assert info.value.kind == "card"


def test_card_key_is_required_and_must_be_strong() -> None:
    with pytest.raises(IdentifierError, match="card_key") as info:
        normalize("card", "4111111111111111")
    assert "4111111111111111" not in str(info.value)
    assert "'411111******1111'" in str(info.value)
    with pytest.raises(IdentifierError, match="16 bytes"):
        normalize_card("4111111111111111", b"short")
    with pytest.raises(IdentifierError, match="16 bytes"):
        card_fingerprint("4111111111111111", b"")
    with pytest.raises(IdentifierError, match="digits only"):
        card_fingerprint("4111 1111 1111 1111", KEY)


# ----------------------------------------------------------------------------- IP

@pytest.mark.parametrize(("spelling", "key"), [
    ("10.1.2.3", "ip:10.1.2.3"),
    ("::ffff:10.1.2.3", "ip:10.1.2.3"),
    ("::FFFF:0a01:0203", "ip:10.1.2.3"),
    ("[::ffff:10.1.2.3]:443", "ip:10.1.2.3"),
    ("010.001.002.003", "ip:10.1.2.3"),
    (" 10.1.2.3:8080 ", "ip:10.1.2.3"),
    ("2001:DB8:0:0:0:0:0:1", "ip:2001:db8::1"),
    ("2001:0db8::0001", "ip:2001:db8::1"),
    ("[2001:db8::1]", "ip:2001:db8::1"),
    ("[2001:db8::1]:8443", "ip:2001:db8::1"),
    ("fe80::1%eth0", "ip:fe80::1"),
    ("[fe80::1%25en0]:22", "ip:fe80::1"),
])
def test_ip_spellings(spelling: str, key: str) -> None:
    ident = normalize_ip(spelling)
    assert ident.key == key
    assert ident.display == key[3:]


def test_ip_properties() -> None:
    private = normalize_ip("192.168.1.20:3389")
    assert private.properties["version"] == 4
    assert private.properties["private"] is True and private.properties["global"] is False
    assert private.properties["port"] == 3389
    public = normalize_ip("8.8.8.8")
    assert public.properties["global"] is True and "port" not in public.properties
    assert normalize_ip("::1").properties["loopback"] is True
    assert normalize_ip("fe80::1%eth0").properties["zone"] == "eth0"
    assert normalize_ip("fe80::1%eth0").properties["link_local"] is True
    assert normalize_ip("224.0.0.1").properties["multicast"] is True
    assert normalize_ip("2001:db8::5").properties["version"] == 6


@pytest.mark.parametrize(("value", "why"), [
    ("256.1.1.1", "four numbers"),
    ("10.1.2", "four numbers"),
    ("10.1.2.3.4", "four numbers"),
    ("10.0.0.0/8", "four numbers"),
    ("host.example.org", "four numbers"),
    ("10.1.2.3:99999", "65535"),
    ("10.1.2.3:http", "port"),
    ("10.1.2.3%eth0", "no zone"),
    ("2001:db8::1::2", "2001:db8::1::2"),
    ("[2001:db8::1", "brackets"),
    ("", "four numbers"),
])
def test_ip_errors_name_the_value(value: str, why: str) -> None:
    with pytest.raises(IdentifierError, match=why) as info:
        normalize_ip(value)
    assert repr(value) in str(info.value)


@FAST
@given(st.ip_addresses(v=4), st.integers(1, 65535))
def test_ipv4_spellings_meet(addr: ipaddress.IPv4Address, port: int) -> None:
    key = normalize_ip(str(addr)).key
    padded = ".".join(f"{int(o):03d}" for o in str(addr).split("."))
    for spelling in (f"::ffff:{addr}", f"[::ffff:{addr}]:{port}", f"{addr}:{port}", padded,
                     ipaddress.IPv6Address(f"::ffff:{addr}").exploded.upper()):
        assert normalize_ip(spelling).key == key
    ident = normalize_ip(str(addr))
    assert normalize_ip(ident.display).key == normalize_ip(ident.value).key == key


@FAST
@given(st.ip_addresses(v=6), st.integers(1, 65535))
def test_ipv6_spellings_meet(addr: ipaddress.IPv6Address, port: int) -> None:
    ident = normalize_ip(addr.exploded)
    for spelling in (addr.compressed, addr.exploded.upper(), f"[{addr.compressed}]:{port}",
                     f"[{addr.exploded}]"):
        assert normalize_ip(spelling).key == ident.key
    assert normalize_ip(ident.display).key == normalize_ip(ident.value).key == ident.key


# ----------------------------------------------------------------------------- URLs

@pytest.mark.parametrize(("spelling", "key"), [
    ("https://example.org/a", "url:https://example.org/a"),
    ("HTTPS://EXAMPLE.ORG/a", "url:https://example.org/a"),
    ("https://example.org:443/a#top", "url:https://example.org/a"),
    ("http://example.org", "url:http://example.org/"),
    ("http://example.org:80", "url:http://example.org/"),
    ("http://example.org:8080", "url:http://example.org:8080/"),
    ("example.org/x", "url:http://example.org/x"),
    ("www.example.org", "url:http://www.example.org/"),
    ("//example.org/x", "url:http://example.org/x"),
    ("<https://example.org/a>", "url:https://example.org/a"),
    ("https://example.org/a/./b/../c", "url:https://example.org/a/c"),
    ("https://example.org/%7euser/%2f?q=%e2%82%ac",
     "url:https://example.org/~user/%2F?q=%E2%82%AC"),
    ("https://example.org/€?q=€", "url:https://example.org/%E2%82%AC?q=%E2%82%AC"),
    ("https://example.org/a?", "url:https://example.org/a"),
    ("https://example.org/a?B=2&a=1", "url:https://example.org/a?B=2&a=1"),
    ("https://Bücher.Example/", "url:https://xn--bcher-kva.example/"),
    ("http://[2001:DB8::1]:80/", "url:http://[2001:db8::1]/"),
    ("http://[::ffff:10.0.0.1]/", "url:http://10.0.0.1/"),
    ("http://user:Pass@Example.org/", "url:http://user:Pass@example.org/"),
    ("http://localhost:8000/admin", "url:http://localhost:8000/admin"),
    ("http://example.org./", "url:http://example.org/"),
])
def test_url_spellings(spelling: str, key: str) -> None:
    ident = normalize_url(spelling)
    assert ident.key == key
    assert normalize_url(ident.display).key == normalize_url(ident.value).key == key


def test_url_properties_and_display() -> None:
    ident = normalize_url("https://www.Bücher.example:8443/x")
    assert ident.display == "https://www.bücher.example:8443/x"
    assert ident.properties["scheme"] == "https"
    assert ident.properties["host"] == "www.xn--bcher-kva.example"
    assert ident.properties["port"] == 8443
    # The domain property links the URL to the domain entity of the site.
    assert ident.properties["domain"] == normalize_domain("bücher.example").value
    assert "domain" not in normalize_url("http://10.0.0.1/").properties


@pytest.mark.parametrize(("value", "why"), [
    ("", "empty"),
    ("http://", "no host"),
    ("https:///path", "no host"),
    ("mailto:jo@example.org", "scheme without '//'"),
    ("http://example.org:99999/", "port"),
    ("http://example.org:abc/", "port"),
    ("http://exa mple.org/", "letters, digits"),
    ("http://[2001:db8::1::2]/", "IPv6"),
    ("http://999.1.1.1/", "IPv4"),
    ("http://a:b:c/", "too many ':'"),
])
def test_url_errors_name_the_value(value: str, why: str) -> None:
    with pytest.raises(IdentifierError, match=why) as info:
        normalize_url(value)
    assert repr(value) in str(info.value)
    assert info.value.kind == "url"


# Whitespace around a whole value is not part of it, so paths here do not end in one.
_PATH = st.text(alphabet="abcXYZ019-._~%/?=&+ äé€#:@!", max_size=20).map(str.rstrip)


@FAST
@given(st.data(), st.lists(_LABEL, min_size=1, max_size=3), st.sampled_from(["org", "de"]),
       _PATH, st.sampled_from(["http", "https"]))
def test_url_variants_meet_and_renormalise(data: st.DataObject, labels: list[str], tld: str,
                                           path: str, scheme: str) -> None:
    host = ".".join(labels) + "." + tld
    url = f"{scheme}://{host}/{path}"
    try:
        ident = normalize_url(url)
    except IdentifierError:
        assume(False)
        raise
    default = {"http": 80, "https": 443}[scheme]
    variant = f"{scheme.upper()}://{_random_case(data.draw, host)}:{default}/{path}"
    if "#" not in path:
        variant += "#fragment"
    assert normalize_url(variant).key == ident.key
    assert normalize_url(ident.display).key == ident.key
    assert normalize_url(ident.value).key == ident.key


# ----------------------------------------------------------------------------- domains

@pytest.mark.parametrize(("spelling", "key", "display"), [
    ("example.org", "domain:example.org", "example.org"),
    ("WWW.Example.ORG.", "domain:example.org", "example.org"),
    ("https://www.example.org/path?q=1", "domain:example.org", "example.org"),
    ("example.org:443", "domain:example.org", "example.org"),
    ("sub.example.org", "domain:sub.example.org", "sub.example.org"),
    ("www.com", "domain:www.com", "www.com"),
    ("Bücher.example", "domain:xn--bcher-kva.example", "bücher.example"),
    ("xn--bcher-kva.example", "domain:xn--bcher-kva.example", "bücher.example"),
    ("faß.de", "domain:xn--fa-hia.de", "faß.de"),
    ("пример.рф", "domain:xn--e1afmkfd.xn--p1ai", "пример.рф"),
    ("my_host.example.org", "domain:my_host.example.org", "my_host.example.org"),
])
def test_domain_spellings(spelling: str, key: str, display: str) -> None:
    ident = normalize_domain(spelling)
    assert (ident.key, ident.display) == (key, display)
    assert normalize_domain(ident.display).key == normalize_domain(ident.value).key == key


@pytest.mark.parametrize(("value", "why"), [
    ("10.0.0.1", "IP address"),
    ("[2001:db8::1]", "IP address"),
    ("localhost", "no top-level domain"),
    ("", "empty"),
    ("exa mple.org", "letters, digits"),
    ("example..org", "empty label"),
    ("xn--99zz.org", "not valid punycode"),
    ("example.org!", "letters, digits"),
    ("a" * 64 + ".org", "63"),
])
def test_domain_errors_name_the_value(value: str, why: str) -> None:
    with pytest.raises(IdentifierError, match=why) as info:
        normalize_domain(value)
    assert repr(value)[:40] in str(info.value)
    assert info.value.kind == "domain"


@FAST
@given(st.data(), st.lists(_LABEL, min_size=2, max_size=4))
def test_domain_variants_meet_and_renormalise(data: st.DataObject, labels: list[str]) -> None:
    name = ".".join(labels)
    try:
        ident = normalize_domain(name)
    except IdentifierError:
        assume(False)
        raise
    assert normalize_domain("www." + _random_case(data.draw, name) + ".").key == ident.key \
        or name.startswith("www.")
    assert normalize_domain(ident.display).key == ident.key
    assert normalize_domain(ident.value).key == ident.key


# ----------------------------------------------------------------------------- accounts

def test_handles_fold_case_on_caseless_platforms() -> None:
    a = normalize_handle("Telegram", "@JimmyM")
    assert a.key == "account:telegram:jimmym"
    assert a.display == "JimmyM"
    assert a.properties["platform"] == "telegram"
    assert normalize_handle("telegram", " jimmym ").key == a.key
    # 'x' is Twitter; both spellings of the platform meet.
    assert normalize_handle("X", "@Jack").key == normalize_handle("twitter", "jack").key \
        == "account:twitter:jack"
    for platform in ("instagram", "discord", "tiktok", "reddit", "skype", "snapchat", "kik"):
        assert normalize_handle(platform, "Some.User").key == f"account:{platform}:some.user"


def test_handles_keep_case_where_the_platform_does() -> None:
    # Slack ids and unknown platforms are case-sensitive: merging two accounts is worse
    # than missing a link.
    assert normalize_handle("slack", "U0500003428").key == "account:slack:U0500003428"
    assert normalize_handle("somechat", "Bob").key != normalize_handle("somechat", "bob").key


def test_phone_platform_handles_meet_on_the_number() -> None:
    jid = normalize_handle("whatsapp", "12025550143@s.whatsapp.net")
    assert jid.key == "account:whatsapp:+12025550143"
    assert normalize_handle("WhatsApp", "+1 (202) 555-0143").key == jid.key
    assert normalize_handle("whatsapp", "202-555-0143", region="US").key == jid.key
    assert normalize("account", jid.display, platform="whatsapp").key == jid.key
    # A Telegram numeric user id is not a phone number.
    assert normalize_handle("telegram", "5965280513").key == "account:telegram:5965280513"


def test_account_key_value_renormalises() -> None:
    for platform, handle in [("telegram", "JimmyM"), ("irc:libera", "Nick"),
                             ("whatsapp", "+44 7700 900123"), ("matrix", "@alice:example.org")]:
        ident = normalize_handle(platform, handle)
        assert normalize("account", ident.value).key == ident.key
        assert normalize("account", ident.display, platform=platform).key == ident.key


@pytest.mark.parametrize(("platform", "handle", "why"), [
    ("telegram", "", "empty handle"),
    ("telegram", "@", "empty handle"),
    ("", "jimmy", "empty platform"),
    ("telegram", "jim\x00my", "control characters"),
])
def test_handle_errors_name_the_value(platform: str, handle: str, why: str) -> None:
    with pytest.raises(IdentifierError, match=why) as info:
        normalize_handle(platform, handle)
    assert repr(handle) in str(info.value)


def test_account_without_platform_is_an_error() -> None:
    with pytest.raises(IdentifierError, match="'jimmy'.*no platform"):
        normalize("account", "jimmy")


# ----------------------------------------------------------------------------- names

@pytest.mark.parametrize(("name", "key"), [
    ("Hans Müller", "hans muller"),
    ("MÜLLER, Hans", "hans muller"),
    ("Müller,Hans", "hans muller"),
    ("  hans   muller ", "hans muller"),
    ("Müller, Hans-Jürgen", "hans jurgen muller"),
    ("O'Brien, Seán", "sean obrien"),
    ("Seán O’Brien", "sean obrien"),
    ("Łukasz Żółć", "lukasz zolc"),
    ("Søren Kierkegaard", "soren kierkegaard"),
    ("José María Aznar-López", "jose maria aznar lopez"),
    ("Nguyễn Văn An", "nguyen van an"),
    ("Straße", "strasse"),
    ("Иван Петров", "иван петров"),
    ("김민수", "김민수"),
])
def test_person_name_key(name: str, key: str) -> None:
    assert person_name_key(name) == key


def test_person_name_key_keeps_marks_that_spell_words() -> None:
    # Japanese voicing marks and Devanagari vowel signs are letters of their own; removing
    # them would merge different names.
    assert person_name_key("がく") != person_name_key("かく")
    assert person_name_key("राम") != person_name_key("रम")


@pytest.mark.parametrize("name", ["", "   ", "--, .."])
def test_person_name_key_rejects_names_without_letters(name: str) -> None:
    with pytest.raises(IdentifierError, match="no letters") as info:
        person_name_key(name)
    assert repr(name) in str(info.value)


@FAST
@given(st.lists(st.from_regex(r"[A-Za-z]{1,10}", fullmatch=True), min_size=2, max_size=4))
def test_person_name_variants_meet(parts: list[str]) -> None:
    first, last = " ".join(parts[:-1]), parts[-1]
    key = person_name_key(f"{first} {last}")
    assert person_name_key(f"{last.upper()},   {first.lower()}") == key
    assert person_name_key(f" {first}\t{last} ") == key
    assert person_name_key(key) == key


# ----------------------------------------------------------------------------- dispatch

def test_normalize_dispatches_and_names_unknown_kinds() -> None:
    assert normalize("PHONE", "202-555-0143").key == "phone:+12025550143"
    assert normalize("phone", "07700 900123", region="GB").key == "phone:+447700900123"
    assert normalize("email", "JO@example.org").key == "email:jo@example.org"
    assert normalize("ip", "::ffff:10.0.0.1").key == "ip:10.0.0.1"
    assert normalize("url", "example.org").key == "url:http://example.org/"
    assert normalize("domain", "www.example.org").key == "domain:example.org"
    assert normalize("account", "jimmy", platform="telegram").key == "account:telegram:jimmy"
    with pytest.raises(IdentifierError, match="unknown identifier kind 'vehicle'.*'AB-123'"):
        normalize("vehicle", "AB-123")


def test_split_key() -> None:
    ident = normalize_url("https://example.org/a:b")
    assert split_key(ident.key) == ("url", "https://example.org/a:b")
    assert split_key("account:irc:libera:nick") == ("account", "irc:libera:nick")
    with pytest.raises(IdentifierError, match="'nonsense'"):
        split_key("nonsense")
    with pytest.raises(IdentifierError, match="'fax:123'"):
        split_key("fax:123")


def test_identifier_is_immutable_and_hashable() -> None:
    a = normalize_phone("202-555-0143")
    b = normalize_phone("+1 202 555 0143")
    assert a == b and len({a, b}) == 1
    with pytest.raises(TypeError):
        a.properties["region"] = "GB"  # type: ignore[index]
    with pytest.raises(AttributeError):
        a.key = "phone:+1"  # type: ignore[misc]


# ----------------------------------------------------------------------------- extract

def _kinds(found: list[Found]) -> list[tuple[str, str]]:
    return [(f.kind, f.raw) for f in found]


def test_extract_finds_each_kind_in_order() -> None:
    text = ("Mail Jo@Example.org or see https://example.org/a). Call +1 (202) 555-0143 or "
            "202.555.0199, ip 10.0.0.1:8080 and ::ffff:10.1.2.3 at 12:30:45 on 2023-08-23, "
            "UK +44 7700 900123, card 4111 1111 1111 1111, site www.Example.com/x.")
    found = extract(text, card_key=KEY)
    assert _kinds(found) == [
        ("email", "Jo@Example.org"), ("url", "https://example.org/a"),
        ("phone", "+1 (202) 555-0143"), ("phone", "202.555.0199"),
        ("ip", "10.0.0.1:8080"), ("ip", "::ffff:10.1.2.3"), ("phone", "+44 7700 900123"),
        ("card", "4111 1111 1111 1111"), ("url", "www.Example.com/x"),
    ]
    keys = [f.identifier.key for f in found]
    assert keys[0] == "email:jo@example.org"
    assert keys[5] == "ip:10.1.2.3"
    assert keys[7] == normalize_card("4111111111111111", KEY).key
    for f in found:
        assert text[f.start:f.end] == f.raw


def test_extract_cards_only_with_a_key() -> None:
    text = "paid with 5555-5555-5555-4444 yesterday"
    assert extract(text) == []
    (card,) = extract(text, card_key=KEY)
    assert card.identifier.properties["brand"] == "mastercard"
    assert card.identifier.display == "•••• 4444"


def test_extract_resolves_overlaps() -> None:
    # An e-mail's domain is not also a URL, and a URL holding an e-mail is one URL.
    assert _kinds(extract("write to jo@www.example.org now")) == [("email", "jo@www.example.org")]
    assert _kinds(extract("http://jo@example.org/x")) == [("url", "http://jo@example.org/x")]
    # A card number is not also a phone; an IP is not a phone.
    found = extract("card 2223003122003222 and 378282246310005", card_key=KEY)
    assert [f.kind for f in found] == ["card", "card"]
    assert _kinds(extract("from 192.168.100.200")) == [("ip", "192.168.100.200")]
    # A card followed by a phone in one digit run: both, separately.
    found = extract("4111111111111111 2025550143", card_key=KEY)
    assert _kinds(found) == [("card", "4111111111111111"), ("phone", "2025550143")]


@pytest.mark.parametrize("text", [
    "version 1.2.3.4.5 released",
    "at 12:30:45 and 23:59",
    "ratio 126797/20000 and 2015371296/1295675501",
    "user6565661032 joined",
    "IMEI 490154203237518",
    "order 1234567812345670",
    "IP 300.1.1.1 and 1.2.3",
    "mac 00:1a:2b:3c:4d:5e",
    "std::vector<int> and a::b",
    "email me at jo@localhost or @jimmy",
    "timestamp 1692821483",
])
def test_extract_ignores_lookalikes(text: str) -> None:
    assert extract(text, card_key=KEY) == []


def test_extract_trims_urls_and_email_punctuation() -> None:
    assert _kinds(extract("(see https://example.org/wiki/A_(b)), then 'jo@example.org'.")) == [
        ("url", "https://example.org/wiki/A_(b)"), ("email", "jo@example.org")]
    assert _kinds(extract("links: https://a.example.org/x, https://b.example.org/y; done")) == [
        ("url", "https://a.example.org/x"), ("url", "https://b.example.org/y")]


def test_extract_uses_the_region_for_national_numbers() -> None:
    found = extract("ring 0491 570 156 tonight", region="AU")
    assert [f.identifier.key for f in found] == ["phone:+61491570156"]
    assert extract("ring 0491 570 156 tonight", region="US") == []


_SNIPPETS = st.sampled_from([
    "jo@example.org", "https://example.org/a?b=1", "www.example.net", "202-555-0143",
    "+44 7700 900123", "10.0.0.1", "2001:db8::1", "4111 1111 1111 1111", "378282246310005",
    "12:30", "2023-08-23", "hello", "lol :)", "v1.2.3", "@jimmy", "#42", "(ok)", "...",
])


@FAST
@given(st.lists(st.tuples(_SNIPPETS, st.sampled_from([" ", ", ", "\n", " - ", ". "])),
                max_size=12))
def test_extract_never_overlaps_and_spans_match(parts: list[tuple[str, str]]) -> None:
    text = "".join(s + sep for s, sep in parts)
    found = extract(text, card_key=KEY)
    for f in found:
        assert text[f.start:f.end] == f.raw
        assert f.kind == f.identifier.kind
    for a, b in zip(found, found[1:]):
        assert a.end <= b.start
    # Every card and e-mail snippet is found (these have no ambiguity).
    emails = sum(s == "jo@example.org" for s, _ in parts)
    cards = sum(s in ("4111 1111 1111 1111", "378282246310005") for s, _ in parts)
    assert sum(f.kind == "email" for f in found) == emails
    assert sum(f.kind == "card" for f in found) == cards


def test_extract_is_fast_on_chat_traffic() -> None:
    plain = "ok see you at the park tomorrow, bring the stuff :) lol"
    with_numbers = "call me on 202-555-0143 after 5pm or mail jo@example.org"
    messages = [plain] * 4000 + [with_numbers] * 200
    started = time.perf_counter()
    for message in messages:
        extract(message, card_key=KEY)
    elapsed = time.perf_counter() - started
    # About 0.1 s on a laptop; the bound leaves room for a loaded CI machine.
    assert elapsed < 3.0, f"{len(messages)} messages took {elapsed:.2f}s"


# ----------------------------------------------------------------------------- real files

def test_extract_on_real_email(shared_data: Path) -> None:
    text = (shared_data / "chat/email/fake-email-attachment.eml").read_text()
    keys = {f.identifier.key for f in extract(text) if f.kind == "email"}
    assert "email:maxwell@example.org" in keys
    assert not [f for f in extract(text) if f.kind in ("phone", "card", "ip")]


def test_extract_on_real_stripe_export(shared_data: Path) -> None:
    text = (shared_data / "finance/csv2ofx/test/stripe-all.csv").read_text()
    found = extract(text, card_key=KEY)
    assert {f.identifier.key for f in found if f.kind == "email"} == {
        "email:info@bigcustomer.example.com"}
    # card_last4 0000 and the Stripe fingerprint are not card numbers.
    assert not [f for f in found if f.kind == "card"]


def test_extract_on_real_ofx_account_listing(shared_data: Path) -> None:
    text = (shared_data / "finance/ofx/account_listing_aggregation.ofx").read_text()
    cards = [f for f in extract(text, card_key=KEY) if f.kind == "card"]
    # Only the credit card account is a card; bank account and routing numbers are not.
    assert [c.raw for c in cards] == ["4111111111111111"]
    assert cards[0].identifier.properties["brand"] == "visa"


@pytest.mark.parametrize("path", [
    "chat/whatsapp/whatsapp_ios_chat.txt", "chat/whatsapp/whatsapp_mixed_formats_chat.txt",
    "chat/telegram/result.json", "chat/telegram/messages.html", "chat/messenger/facebook_chat.json",
])
def test_no_false_identifiers_in_real_chats(shared_data: Path, path: str) -> None:
    # Chat headers are full of times, dates and numeric user ids; none is a phone, IP or card.
    text = (shared_data / path).read_text(encoding="utf-8")
    found = [f for f in extract(text, card_key=KEY) if f.kind in ("phone", "ip", "card")]
    assert found == []


def test_real_slack_messages_have_no_identifiers(shared_data: Path) -> None:
    with zipfile.ZipFile(shared_data / "chat/slack/slack_export.zip") as archive:
        names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".json")]
        assert names
        for name in names:
            text = archive.read(name).decode("utf-8")
            assert [f for f in extract(text, card_key=KEY) if f.kind != "url"] == [], name
