"""Identifier normalisation and extraction: the join keys of cross-case matching.

Every identifier-like entity (phone, e-mail, payment card, IP address, URL, domain, online
account) carries a normalised **key** such as ``phone:+12025550143``. Two spellings of the
same identifier must produce the same key, and normalising what this module produced must
give that key again (idempotence), because the key is what cross-case matching joins on.

Contract shared by every ``normalize_*`` function:

* It returns an :class:`Identifier` or raises :class:`IdentifierError` (a ``ValueError``)
  whose message quotes the offending value and says what is wrong with it. Card numbers are
  quoted masked (first six and last four digits), never in full.
* ``Identifier.key`` is ``"<kind>:<value>"``; :attr:`Identifier.value` is the part after the
  kind. ``normalize(kind, ident.value)`` and ``normalize(kind, ident.display)`` give the same
  key again, for every kind except ``card``, whose key is a keyed fingerprint: there
  ``normalize("card", ident.sensitive, card_key=k)`` does.
* They are pure functions of their arguments, safe to call from any thread.

:func:`extract` finds identifiers in free text (chat messages, notes, e-mail bodies). It is
written to run over millions of messages: regular expressions are compiled once, and each
detector runs only when a cheap test (an ``@``, enough digits, ``://``...) says it could hit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, urlsplit

import idna
import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

__all__ = [
    "KINDS",
    "Found",
    "Identifier",
    "IdentifierError",
    "card_brand",
    "card_fingerprint",
    "extract",
    "luhn_valid",
    "normalize",
    "normalize_card",
    "normalize_domain",
    "normalize_email",
    "normalize_handle",
    "normalize_ip",
    "normalize_phone",
    "normalize_url",
    "person_name_key",
    "split_key",
]

KINDS: frozenset[str] = frozenset({"phone", "email", "card", "ip", "url", "domain", "account"})


class IdentifierError(ValueError):
    """A value cannot be normalised as the identifier kind asked for.

    ``kind`` is the identifier kind and ``value`` the offending input (masked for cards);
    the message names both and says what is wrong.
    """

    def __init__(self, message: str, *, kind: str | None = None, value: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.value = value


@dataclass(frozen=True)
class Identifier:
    """A normalised identifier.

    ``key`` is the join key (``"<kind>:<value>"``), ``display`` what to show an officer,
    ``properties`` typed facts read off the identifier (phone region and type, card brand,
    IP flags...). ``sensitive`` holds the full card number digits for cards (the caller
    decides whether to store it) and is ``None`` otherwise; it is left out of ``repr`` so
    it cannot leak into logs.
    """

    kind: str
    key: str
    display: str
    properties: Mapping[str, Any]
    sensitive: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Read-only, so a frozen Identifier cannot be changed through its properties.
        if not isinstance(self.properties, MappingProxyType):
            object.__setattr__(self, "properties", MappingProxyType(dict(self.properties)))

    def __hash__(self) -> int:
        # The properties mapping is unhashable; equal identifiers always share kind and key.
        return hash((self.kind, self.key))

    @property
    def value(self) -> str:
        """The key without its ``"<kind>:"`` prefix."""
        return self.key.split(":", 1)[1]


@dataclass(frozen=True)
class Found:
    """An identifier found in text: ``text[start:end] == raw``."""

    kind: str
    raw: str
    start: int
    end: int
    identifier: Identifier


def split_key(key: str) -> tuple[str, str]:
    """Split ``"phone:+12025550143"`` into ``("phone", "+12025550143")``.

    Raises :class:`IdentifierError` when the key has no known kind prefix.
    """
    kind, sep, value = key.partition(":")
    if not sep or kind not in KINDS or not value:
        raise IdentifierError(f"{_show(key)} is not an identifier key (expected '<kind>:<value>' "
                              f"with kind one of {', '.join(sorted(KINDS))})", value=key)
    return kind, value


# --------------------------------------------------------------------------------------
# Dispatch


def normalize(kind: str, value: str, *, region: str | None = "US", card_key: bytes | None = None,
              platform: str | None = None) -> Identifier:
    """Normalise ``value`` as an identifier of ``kind`` (one of :data:`KINDS`).

    ``region`` is the default region for phone numbers written without a country code
    (ISO 3166 alpha-2; ``None`` accepts only international numbers). ``card_key`` is the
    secret of the card fingerprint and is required for ``card``. For ``account``,
    ``platform`` names the platform; without it ``value`` must be ``"platform:handle"``
    (the form of :attr:`Identifier.value`).
    """
    if not isinstance(value, str):
        raise IdentifierError(f"{kind} value {value!r} is not text", kind=kind)
    k = kind.strip().lower() if isinstance(kind, str) else kind
    if k == "phone":
        return normalize_phone(value, region)
    if k == "email":
        return normalize_email(value)
    if k == "card":
        if card_key is None:
            raise IdentifierError(f"card number {_mask_card_text(value)}: normalising a card "
                                  "number needs the card fingerprint key (card_key)",
                                  kind="card", value=_mask_card_text(value))
        return normalize_card(value, card_key)
    if k == "ip":
        return normalize_ip(value)
    if k == "url":
        return normalize_url(value)
    if k == "domain":
        return normalize_domain(value)
    if k == "account":
        if platform is None:
            plat, sep, handle = value.strip().partition(":")
            if not sep or not plat.strip():
                raise IdentifierError(f"account {_show(value)} names no platform: pass platform= "
                                      "or write 'platform:handle'", kind="account", value=value)
            return normalize_handle(plat, handle, region=region)
        return normalize_handle(platform, value, region=region)
    raise IdentifierError(f"unknown identifier kind {kind!r} for value {_show(value)} "
                          f"(expected one of {', '.join(sorted(KINDS))})", kind=str(kind),
                          value=value)


# --------------------------------------------------------------------------------------
# Phones

_PHONE_TYPES: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}
_PHONE_REASONS: dict[int, str] = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "its country code does not exist",
    phonenumbers.ValidationResult.TOO_SHORT: "it is too short",
    phonenumbers.ValidationResult.TOO_LONG: "it is too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "its length fits no number in that country",
}
_PHONE_URI_PREFIX = re.compile(r"^\s*(?:tel|sms|callto|phone):(?://)?", re.IGNORECASE)
_ANY_DIGIT = re.compile(r"\d")
_DIGITS_00 = re.compile(r"^\D*0\D*0")


def _check_region(region: str | None) -> str | None:
    if region is None:
        return None
    r = region.strip().upper()
    if r in ("", "ZZ"):
        return None
    if r not in phonenumbers.SUPPORTED_REGIONS:
        raise IdentifierError(f"unknown phone region {region!r} (expected an ISO 3166 alpha-2 "
                              "code such as 'US' or 'GB')", kind="phone", value=region)
    return r


def normalize_phone(value: str, region: str | None = "US") -> Identifier:
    """Normalise a phone number to E.164 (key ``phone:+12025550143``).

    Accepts ``+``/``00``/the region's own international prefix, ``tel:`` URIs, spaces,
    dots, dashes and parentheses; a number without a country code is read in ``region``.
    An extension (``x12``, ``ext. 12``, ``;ext=12``) is kept in ``properties['extension']``
    and does not enter the key. A number must have a possible length for its country;
    ``properties['valid']`` says whether it is also in an assigned range. Display is the
    international format (``+1 202-555-0143``).
    """
    if not isinstance(value, str):
        raise IdentifierError(f"phone number {value!r} is not text", kind="phone")
    reg = _check_region(region)
    text = _PHONE_URI_PREFIX.sub("", value).strip()
    if not text or not _ANY_DIGIT.search(text):
        raise IdentifierError(f"{_show(value)} is not a phone number: it has no digits",
                              kind="phone", value=value)
    error = "it does not look like a phone number"
    num: PhoneNumber | None
    try:
        num = phonenumbers.parse(text, reg)
    except phonenumbers.NumberParseException as exc:
        num = None
        error = _parse_failure(exc, reg)
    if (num is None or not phonenumbers.is_valid_number(num)) and _DIGITS_00.match(text) \
            and not text.lstrip().startswith("+"):
        # '00' is the international prefix almost everywhere, but not in the default
        # region (the US dials 011), so phonenumbers reads '001 202...' as a national number.
        try:
            alt = phonenumbers.parse("+" + text.split("0", 2)[2], None)
        except phonenumbers.NumberParseException:
            alt = None
        if alt is not None and (phonenumbers.is_valid_number(alt) or (
                phonenumbers.is_possible_number(alt)
                and (num is None or not phonenumbers.is_possible_number(num)))):
            num = alt
    if num is None:
        raise IdentifierError(f"{_show(value)} is not a phone number: {error}", kind="phone",
                              value=value)
    reason = phonenumbers.is_possible_number_with_reason(num)
    if reason not in (phonenumbers.ValidationResult.IS_POSSIBLE,
                      phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        raise IdentifierError(f"{_show(value)} is not a phone number: "
                              f"{_PHONE_REASONS.get(reason, 'its length is impossible')}",
                              kind="phone", value=value)
    if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise IdentifierError(f"{_show(value)} is a local number without its area code; it cannot "
                              "be matched across cases", kind="phone", value=value)
    return _phone_identifier(num)


def _parse_failure(exc: phonenumbers.NumberParseException, region: str | None) -> str:
    if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        if region is None:
            return "it has no country code and no default region was given"
        return "its country code does not exist"
    if exc.error_type == phonenumbers.NumberParseException.TOO_SHORT_NSN:
        return "it is too short"
    if exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
        return "it is too long"
    return "it does not look like a phone number"


def _phone_identifier(num: PhoneNumber) -> Identifier:
    # The key ignores the extension and how the number was written (raw input, country
    # code source, Italian-leading-zero flags are E.164-neutral).
    e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
    bare = PhoneNumber(country_code=num.country_code, national_number=num.national_number,
                       italian_leading_zero=num.italian_leading_zero,
                       number_of_leading_zeros=num.number_of_leading_zeros)
    props: dict[str, Any] = {
        "country_code": num.country_code,
        "region": phonenumbers.region_code_for_number(num),
        "type": _PHONE_TYPES.get(phonenumbers.number_type(num), "unknown"),
        "valid": phonenumbers.is_valid_number(num),
        "national": phonenumbers.format_number(bare, PhoneNumberFormat.NATIONAL),
        "e164": e164,
    }
    if num.extension:
        props["extension"] = num.extension
    return Identifier(kind="phone", key=f"phone:{e164}",
                      display=phonenumbers.format_number(bare, PhoneNumberFormat.INTERNATIONAL),
                      properties=props)


# --------------------------------------------------------------------------------------
# Host names (shared by e-mail, URL and domain)

_ASCII_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL = re.compile(r"[0-9]+")
_IDN_ASCII_PART = re.compile(r"[a-z0-9_-]*")


def _host(text: str, *, what: str, original: str, min_labels: int) -> tuple[str, str]:
    """Canonical (ASCII, Unicode) forms of a host name; raise naming ``original``.

    Mapping follows UTS #46 non-transitional processing (what current browsers do):
    case-folded, width-folded, NFC, ideographic full stops are dots. The ASCII form uses
    punycode (``xn--``) labels; an ``xn--`` input is decoded and re-encoded so both
    spellings meet. IDNA 2008 rejects some labels seen in the wild (emoji, symbols); those
    are still encoded with plain punycode so they stay matchable rather than lost.
    """
    h = text.strip()
    if h.endswith("."):
        h = h[:-1]
    if not h:
        raise IdentifierError(f"{_show(original)} is not a valid {what}: the host name is empty",
                              value=original)
    try:
        mapped = idna.uts46_remap(h, std3_rules=False, transitional=False)
    except (idna.IDNAError, ValueError) as exc:
        raise IdentifierError(f"{_show(original)} is not a valid {what}: {exc}",
                              value=original) from None
    labels = mapped.split(".")
    ascii_labels: list[str] = []
    unicode_labels: list[str] = []
    for label in labels:
        if not label:
            raise IdentifierError(f"{_show(original)} is not a valid {what}: empty label in "
                                  f"host name {h!r}", value=original)
        if label.isascii() and label.startswith("xn--"):
            # Decode and treat as the Unicode label, so 'xn--' and Unicode spellings (and
            # non-canonical encodings of one name) get one key.
            try:
                label = idna.uts46_remap(label[4:].encode("ascii").decode("punycode"),
                                         std3_rules=False, transitional=False)
            except (idna.IDNAError, UnicodeError, ValueError):
                raise IdentifierError(f"{_show(original)} is not a valid {what}: {label!r} is "
                                      "not valid punycode", value=original) from None
        if label.isascii():
            if not _ASCII_LABEL.fullmatch(label):
                raise IdentifierError(f"{_show(original)} is not a valid {what}: label {label!r} "
                                      "may only hold letters, digits, '-' and '_' (not at the "
                                      "ends) and at most 63 characters", value=original)
            ascii_labels.append(label)
            unicode_labels.append(label)
            continue
        if any(c.isascii() for c in label) and not _IDN_ASCII_PART.fullmatch(
                "".join(c for c in label if c.isascii())):
            raise IdentifierError(f"{_show(original)} is not a valid {what}: label {label!r} "
                                  "holds punctuation or spaces", value=original)
        if any(unicodedata.category(c)[0] in "ZC" for c in label):
            raise IdentifierError(f"{_show(original)} is not a valid {what}: label {label!r} "
                                  "holds spaces or control characters", value=original)
        try:
            a_label = idna.alabel(label).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            a_label = "xn--" + label.encode("punycode").decode("ascii")
        if len(a_label) > 63:
            raise IdentifierError(f"{_show(original)} is not a valid {what}: label {label!r} is "
                                  "longer than 63 characters once encoded", value=original)
        ascii_labels.append(a_label)
        unicode_labels.append(label)
    ascii_host = ".".join(ascii_labels)
    if len(ascii_host) > 253:
        raise IdentifierError(f"{_show(original)} is not a valid {what}: the host name is longer "
                              "than 253 characters", value=original)
    if len(ascii_labels) < min_labels:
        raise IdentifierError(f"{_show(original)} is not a valid {what}: {h!r} has no top-level "
                              "domain", value=original)
    if len(ascii_labels) > 1 and _NUMERIC_LABEL.fullmatch(ascii_labels[-1]):
        raise IdentifierError(f"{_show(original)} is not a valid {what}: {h!r} ends in a number, "
                              "so it is neither a domain name nor a valid IPv4 address",
                              value=original)
    return ascii_host, ".".join(unicode_labels)


# --------------------------------------------------------------------------------------
# E-mail

# RFC 5322 dot-atom; non-ASCII is allowed (RFC 6531 internationalised addresses).
_EMAIL_ATOM = r"[^\s\x00-\x1f\x7f\"(),.:;<>@\[\\\]]+"
_EMAIL_LOCAL = re.compile(rf"{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*")
_NAME_ADDR = re.compile(r"[^<>]*<\s*([^<>]*?)\s*>\s*")


def normalize_email(value: str) -> Identifier:
    """Normalise an e-mail address (key ``email:jo@example.org``).

    Strips whitespace, a ``mailto:`` prefix (with percent-decoding and its ``?query``),
    angle brackets and a display name (``Jo <jo@example.org>``); lower-cases the whole
    address; the domain goes through IDNA so Unicode and punycode spellings meet (key in
    punycode, display in Unicode). Raises :class:`IdentifierError` for anything that is not
    one ``local@domain`` address with a dotted domain.
    """
    if not isinstance(value, str):
        raise IdentifierError(f"e-mail address {value!r} is not text", kind="email")
    s = value.strip()
    if "<" in s or ">" in s:
        m = _NAME_ADDR.fullmatch(s)
        if not m:
            raise _email_error(value, "unbalanced angle brackets")
        s = m.group(1)
    if s[:7].lower() == "mailto:":
        s = unquote(s[7:].split("?", 1)[0]).strip()
    s = unicodedata.normalize("NFC", s)
    if s.count("@") != 1:
        raise _email_error(value, "it needs exactly one '@'" if "@" in s else "it has no '@'")
    local, _, domain = s.partition("@")
    if not local:
        raise _email_error(value, "the part before '@' is empty")
    if not _EMAIL_LOCAL.fullmatch(local):
        raise _email_error(value, f"the part before '@' ({local!r}) holds spaces, special "
                                  "characters or misplaced dots")
    if len(local.encode("utf-8")) > 64:
        raise _email_error(value, "the part before '@' is longer than 64 bytes")
    if domain.endswith("."):
        raise _email_error(value, "the domain ends with a dot")
    try:
        ascii_domain, unicode_domain = _host(domain, what="e-mail address", original=value,
                                             min_labels=2)
    except IdentifierError as exc:
        raise IdentifierError(str(exc), kind="email", value=value) from None
    local = local.lower()
    props: dict[str, Any] = {"local": local, "domain": ascii_domain,
                             "domain_unicode": unicode_domain}
    if "+" in local.strip("+"):
        # Sub-addressing ('jo+shop@'): the base mailbox helps an officer link variants.
        props["base"] = f"{local.split('+', 1)[0]}@{ascii_domain}"
    return Identifier(kind="email", key=f"email:{local}@{ascii_domain}",
                      display=f"{local}@{unicode_domain}", properties=props)


def _email_error(value: str, why: str) -> IdentifierError:
    return IdentifierError(f"{_show(value)} is not a valid e-mail address: {why}", kind="email",
                           value=value)


# --------------------------------------------------------------------------------------
# Payment cards

_CARD_SEPARATORS = re.compile(r"[ \-\u00a0\u2010-\u2012]")
_CARD_MASK_CHARS = re.compile(r"[*xX•#]")
_MIN_CARD_KEY = 16

# (brand, first prefix, last prefix, valid lengths). Checked longest prefix first, so the
# specific Maestro and Mir ranges win over the broad ones they sit in.
_BRANDS: tuple[tuple[str, str, str, tuple[int, ...]], ...] = (
    ("unionpay", "622126", "622925", tuple(range(16, 20))),
    ("mir", "2200", "2204", tuple(range(16, 20))),
    ("mastercard", "2221", "2720", (16,)),
    ("diners", "3095", "3095", tuple(range(14, 20))),
    ("jcb", "3528", "3589", tuple(range(16, 20))),
    ("maestro", "5018", "5018", tuple(range(12, 20))),
    ("maestro", "5020", "5020", tuple(range(12, 20))),
    ("maestro", "5038", "5038", tuple(range(12, 20))),
    ("maestro", "5893", "5893", tuple(range(12, 20))),
    ("maestro", "6304", "6304", tuple(range(12, 20))),
    ("maestro", "6759", "6759", tuple(range(12, 20))),
    ("maestro", "6761", "6763", tuple(range(12, 20))),
    ("discover", "6011", "6011", tuple(range(16, 20))),
    ("diners", "300", "305", tuple(range(14, 20))),
    ("discover", "644", "649", tuple(range(16, 20))),
    ("amex", "34", "34", (15,)),
    ("amex", "37", "37", (15,)),
    ("diners", "36", "36", tuple(range(14, 20))),
    ("diners", "38", "39", tuple(range(14, 20))),
    ("mastercard", "51", "55", (16,)),
    ("maestro", "56", "58", tuple(range(12, 20))),
    ("unionpay", "62", "62", tuple(range(16, 20))),
    ("discover", "65", "65", tuple(range(16, 20))),
    ("visa", "4", "4", (13, 16, 19)),
)


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (ASCII digits only, non-empty) passes the Luhn check."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i & 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _brand_entry(digits: str) -> tuple[str, tuple[int, ...]] | None:
    for brand, lo, hi, lengths in _BRANDS:
        prefix = digits[:len(lo)]
        if len(prefix) == len(lo) and lo <= prefix <= hi:
            return brand, lengths
    return None


def card_brand(digits: str) -> str:
    """The card scheme by issuer identification number: visa, mastercard (incl. the
    2221–2720 series), amex, discover, jcb, diners, unionpay, maestro, mir, or 'unknown'.
    The length and Luhn check are not considered."""
    entry = _brand_entry(digits)
    return entry[0] if entry else "unknown"


def _check_card_key(key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray)) or len(key) < _MIN_CARD_KEY:
        raise IdentifierError(f"the card fingerprint key must be at least {_MIN_CARD_KEY} bytes "
                              "of secret; the fingerprint is only as private as this key",
                              kind="card")


def card_fingerprint(digits: str, key: bytes) -> str:
    """HMAC-SHA256 of the card digits under ``key``, as 64 lower-case hex digits.

    ``digits`` must be the bare digits (no separators). A keyed hash, because the space of
    card numbers is small enough to brute-force an unkeyed one.
    """
    _check_card_key(key)
    if not isinstance(digits, str) or not digits.isascii() or not digits.isdigit():
        shown = _mask_card_text(digits) if isinstance(digits, str) else repr(digits)
        raise IdentifierError(f"card number {shown} must be digits only to be fingerprinted",
                              kind="card", value=shown)
    return hmac.new(bytes(key), digits.encode("ascii"), hashlib.sha256).hexdigest()


def normalize_card(value: str, key: bytes) -> Identifier:
    """Normalise a payment card number (key ``card:<HMAC-SHA256 hex>``).

    Spaces and dashes between digits are allowed; the number must have 12–19 digits and
    pass the Luhn check. Display is ``•••• 1234``; properties hold ``brand``, ``last4``,
    ``bin`` (first six digits) and ``length``; ``sensitive`` holds the full digits.
    Errors quote the number masked to its first six and last four digits.
    """
    _check_card_key(key)
    if not isinstance(value, str):
        raise IdentifierError(f"card number {value!r} is not text", kind="card")
    digits = _CARD_SEPARATORS.sub("", value.strip())
    shown = _mask_card_text(value)
    if not digits:
        raise IdentifierError(f"card number {shown} is empty", kind="card", value=shown)
    if _CARD_MASK_CHARS.search(digits) and _ANY_DIGIT.search(digits):
        # Already masked by its producer: quoting it as written shows no more than it has.
        if len(_ANY_DIGIT.findall(value)) <= 10:
            shown = _show(value)
        raise IdentifierError(f"card number {shown} is masked; only a full number can be "
                              "fingerprinted (keep its last four digits instead)",
                              kind="card", value=shown)
    if not digits.isascii() or not digits.isdigit():
        raise IdentifierError(f"card number {shown} may only hold digits, spaces and dashes",
                              kind="card", value=shown)
    if not 12 <= len(digits) <= 19:
        raise IdentifierError(f"card number {shown} has {len(digits)} digits; card numbers "
                              "have 12 to 19", kind="card", value=shown)
    if not luhn_valid(digits):
        raise IdentifierError(f"card number {shown} fails the Luhn check digit (mistyped or "
                              "not a card number)", kind="card", value=shown)
    entry = _brand_entry(digits)
    props: dict[str, Any] = {
        "brand": entry[0] if entry else "unknown",
        "last4": digits[-4:],
        "bin": digits[:6],
        "length": len(digits),
    }
    return Identifier(kind="card", key=f"card:{card_fingerprint(digits, key)}",
                      display=f"•••• {digits[-4:]}", properties=props, sensitive=digits)


def _mask_card_text(value: str) -> str:
    """Quote a would-be card number with all but its first six and last four digits
    masked (only the last four when it is too short to be a card), so that error
    messages and logs never carry a full number."""
    positions = [i for i, c in enumerate(value) if c.isdigit()]
    keep_head = 6 if len(positions) >= 13 else 0
    keep = set(positions[:keep_head]) | set(positions[-4:])
    masked = "".join("*" if (c.isdigit() and i not in keep) else c for i, c in enumerate(value))
    return _show(masked)


# --------------------------------------------------------------------------------------
# IP addresses

_IPV4 = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})")
_BRACKETED = re.compile(r"\[([^\[\]]+)\](?::([0-9]{1,5}))?")


def _ipv4(text: str) -> ipaddress.IPv4Address | None:
    """Dotted-quad IPv4; zero-padded octets ('010.001.002.003', common in log exports) are
    read as decimal, as the tools that pad them mean, not as octal."""
    m = _IPV4.fullmatch(text)
    if not m:
        return None
    octets = [int(g) for g in m.groups()]
    if any(o > 255 for o in octets):
        return None
    return ipaddress.IPv4Address(bytes(octets))


def normalize_ip(value: str) -> Identifier:
    """Normalise an IPv4 or IPv6 address (key ``ip:10.0.0.1``, ``ip:2001:db8::1``).

    IPv4-mapped IPv6 (``::ffff:10.0.0.1``) becomes IPv4; IPv6 is written in canonical
    compressed lower-case form. Brackets, a zone (``%eth0``) and a port where it is
    unambiguous (``[v6]:443``, ``v4:8080``) are removed into ``properties``. Properties
    also hold ``version`` and the flags ``private``, ``global``, ``loopback``,
    ``link_local``, ``multicast``, ``reserved``, ``unspecified``.
    """
    if not isinstance(value, str):
        raise IdentifierError(f"IP address {value!r} is not text", kind="ip")
    s = value.strip()
    port: str | None = None
    zone: str | None = None
    if s.startswith("["):
        m = _BRACKETED.fullmatch(s)
        if not m:
            raise _ip_error(value, "unbalanced brackets or a bad port")
        s, port = m.group(1), m.group(2)
    elif s.count(":") == 1:
        # One colon can only be IPv4 with a port; IPv6 always has at least two.
        s, _, port = s.partition(":")
        if not port.isascii() or not port.isdigit():
            raise _ip_error(value, "the part after ':' is not a port number")
    if "%" in s:
        s, _, zone = s.partition("%")
        if not zone:
            raise _ip_error(value, "empty zone after '%'")
    if port is not None and int(port) > 65535:
        raise _ip_error(value, f"port {port} is above 65535")
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    if ":" in s:
        try:
            addr = ipaddress.IPv6Address(s)
        except ValueError as exc:
            raise _ip_error(value, str(exc)) from None
        if addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
    else:
        if zone is not None:
            raise _ip_error(value, "an IPv4 address has no zone")
        addr = _ipv4(s)
        if addr is None:
            raise _ip_error(value, "expected four numbers 0-255 separated by dots, "
                                   "or an IPv6 address")
    return _ip_identifier(addr, port=port, zone=zone)


def _ip_identifier(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, *, port: str | None = None,
                   zone: str | None = None) -> Identifier:
    text = addr.compressed
    props: dict[str, Any] = {
        "version": addr.version,
        "private": addr.is_private,
        "global": addr.is_global,
        "loopback": addr.is_loopback,
        "link_local": addr.is_link_local,
        "multicast": addr.is_multicast,
        "reserved": addr.is_reserved,
        "unspecified": addr.is_unspecified,
    }
    if port is not None:
        props["port"] = int(port)
    if zone is not None:
        props["zone"] = zone
    return Identifier(kind="ip", key=f"ip:{text}", display=text, properties=props)


def _ip_error(value: str, why: str) -> IdentifierError:
    return IdentifierError(f"{_show(value)} is not a valid IP address: {why}", kind="ip",
                           value=value)


# --------------------------------------------------------------------------------------
# URLs and domains

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443, "ftps": 990,
                  "sftp": 22, "ssh": 22, "gopher": 70}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_USER_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:")
_HEX = frozenset("0123456789abcdefABCDEF")


def _pct_normalize(text: str, safe: frozenset[str]) -> str:
    """One canonical percent-encoding: escapes upper-case, unreserved characters decoded,
    everything outside ``safe`` (spaces, non-ASCII...) encoded as UTF-8, and a stray '%'
    encoded. Idempotent, and leaves reserved escapes such as %2F alone (they mean
    something different from the bare character)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "%" and i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
            ch = chr(int(text[i + 1:i + 3], 16))
            out.append(ch if ch in _UNRESERVED else "%" + text[i + 1:i + 3].upper())
            i += 3
            continue
        if c in safe:
            out.append(c)
        else:
            out.extend(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4: resolve '.' and '..' path segments ('/a/./b/../c' -> '/a/c')."""
    if "." not in path:
        return path
    segments = path.split("/")
    out: list[str] = []
    for seg in segments[1:] if path.startswith("/") else segments:
        if seg == ".":
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    result = "/" + "/".join(out) if path.startswith("/") else "/".join(out)
    if segments[-1] in (".", "..") and not result.endswith("/"):
        result += "/"
    return result


def _url_host(host: str, original: str) -> tuple[str, str, bool]:
    """(key form, display form, is_ip) of a URL host."""
    if host.startswith("["):
        if not host.endswith("]"):
            raise _url_error(original, "unbalanced brackets around the IPv6 address")
        inner = host[1:-1].split("%", 1)[0]
        try:
            addr6 = ipaddress.IPv6Address(inner)
        except ValueError as exc:
            raise _url_error(original, f"bad IPv6 address: {exc}") from None
        if addr6.ipv4_mapped is not None:
            text = addr6.ipv4_mapped.compressed
        else:
            text = f"[{addr6.compressed}]"
        return text, text, True
    if host and all(c.isdigit() or c == "." for c in host) and host.count(".") == 3:
        addr4 = _ipv4(host.rstrip("."))
        if addr4 is None:
            raise _url_error(original, f"{host!r} is not a valid IPv4 address")
        return addr4.compressed, addr4.compressed, True
    try:
        ascii_host, unicode_host = _host(host, what="URL", original=original, min_labels=1)
    except IdentifierError as exc:
        raise IdentifierError(str(exc), kind="url", value=original) from None
    return ascii_host, unicode_host, False


def normalize_url(value: str) -> Identifier:
    """Normalise a URL (key ``url:https://example.org/a?q=1``).

    Scheme and host are lower-cased; the host goes through IDNA (key in punycode, display
    in Unicode); a default port, the fragment and an empty query are dropped; an empty path
    becomes '/'; '.' and '..' segments are resolved; percent-encoding is made canonical;
    the query is kept in order. A value without a scheme ('example.org/x', 'www.x.org')
    gets ``http://``. Properties: ``scheme``, ``host``, ``host_unicode``, ``port`` (when not
    the default), ``domain`` (the host as :func:`normalize_domain` keys it, when it is a
    domain).
    """
    if not isinstance(value, str):
        raise IdentifierError(f"URL {value!r} is not text", kind="url")
    s = value.strip()
    if len(s) >= 2 and s[0] == "<" and s[-1] == ">":
        s = s[1:-1].strip()
    if not s:
        raise _url_error(value, "it is empty")
    if s[:7].lower() == "magnet:":
        return _normalize_magnet(value, s)
    if s.startswith("//"):
        s = "http:" + s
    elif not _SCHEME.match(s):
        head = s.split("/", 1)[0]
        if ":" in head and not head.startswith("[") and not head.rpartition(":")[2].isdigit():
            raise _url_error(value, "it has a scheme without '//' (only URLs with a host are "
                                    "accepted)")
        s = "http://" + s
    try:
        parts = urlsplit(s)
    except ValueError as exc:
        raise _url_error(value, str(exc)) from None
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if not at:
        userinfo = ""
    port: str = ""
    if hostport.startswith("["):
        host, _, rest = hostport.partition("]")
        host += "]"
        if rest:
            if not rest.startswith(":"):
                raise _url_error(value, "unexpected text after the IPv6 address")
            port = rest[1:]
    else:
        host, _, port = hostport.partition(":") if hostport.count(":") == 1 else (hostport, "", "")
        if hostport.count(":") > 1:
            raise _url_error(value, "too many ':' in the host")
    if not host:
        raise _url_error(value, "it has no host")
    if port and (not port.isascii() or not port.isdigit() or int(port) > 65535):
        raise _url_error(value, f"port {port!r} is not a number from 0 to 65535")
    key_host, display_host, is_ip = _url_host(host, value)
    port_num = int(port) if port else None
    if port_num is not None and _DEFAULT_PORTS.get(scheme) == port_num:
        port_num = None
    path = _remove_dot_segments(_pct_normalize(parts.path, _PATH_SAFE)) or "/"
    if not path.startswith("/"):
        path = "/" + path
    query = _pct_normalize(parts.query, _QUERY_SAFE)
    user = _pct_normalize(userinfo, _USER_SAFE) if userinfo else ""

    def build(h: str) -> str:
        auth = (f"{user}@" if user else "") + h + (f":{port_num}" if port_num is not None else "")
        return f"{scheme}://{auth}{path}" + (f"?{query}" if query else "")

    key_url = build(key_host)
    props: dict[str, Any] = {"scheme": scheme, "host": key_host, "host_unicode": display_host}
    if port_num is not None:
        props["port"] = port_num
    if not is_ip:
        try:
            props["domain"] = normalize_domain(key_host).value
        except IdentifierError:
            pass  # a single-label host ('localhost') has no domain
        if key_host.endswith(".onion"):
            props["onion"] = _onion_version(key_host)
        elif key_host in _WA_HOSTS:
            wa = _WA_PATH.fullmatch(path)
            if wa:
                try:
                    props["phone"] = normalize_phone("+" + wa.group(1), None).value
                except IdentifierError:
                    pass
    return Identifier(kind="url", key=f"url:{key_url}", display=build(display_host),
                      properties=props)


_WA_HOSTS = frozenset({"wa.me", "api.whatsapp.com"})
_WA_PATH = re.compile(r"/(?:send/?)?\+?(\d{7,15})/?")
_ONION_V3 = re.compile(r"[a-z2-7]{56}")
_ONION_V2 = re.compile(r"[a-z2-7]{16}")
_MAGNET_XT = re.compile(r"(?:^|&)xt=urn:(btih|btmh):([0-9A-Za-z]+)", re.IGNORECASE)
_MAGNET_DN = re.compile(r"(?:^|&)dn=([^&]*)", re.IGNORECASE)


def _onion_version(host: str) -> str:
    """'v3' for a v3 onion name whose embedded checksum holds (rend-spec-v3: SHA3-256 of
    '.onion checksum' + key + version), 'v2' for the old 16-character names, 'invalid'
    otherwise; a mistyped onion address never reaches anybody."""
    name = host[:-len(".onion")].rsplit(".", 1)[-1]
    if _ONION_V2.fullmatch(name):
        return "v2"
    if not _ONION_V3.fullmatch(name):
        return "invalid"
    raw = base64.b32decode(name.upper())
    key, checksum, version = raw[:32], raw[32:34], raw[34:]
    ok = version == b"\x03" and hashlib.sha3_256(b".onion checksum" + key + version).digest()[:2] == checksum
    return "v3" if ok else "invalid"


def _normalize_magnet(value: str, s: str) -> Identifier:
    """A BitTorrent magnet link is keyed by its info hash alone (name, trackers and other
    parameters vary between copies of one torrent): ``url:magnet:?xt=urn:btih:<40 hex>``.
    Base32 info hashes are converted to hex; v2 (btmh) hashes are kept as multihash hex."""
    query = s[7:].lstrip("?")
    m = _MAGNET_XT.search(query)
    if not m:
        raise _url_error(value, "a magnet link needs an 'xt=urn:btih:' (or btmh) info hash")
    scheme, digest = m.group(1).lower(), m.group(2)
    if scheme == "btih" and len(digest) == 32:
        try:
            digest = base64.b32decode(digest.upper()).hex()
        except ValueError:
            raise _url_error(value, f"info hash {digest!r} is not valid base32") from None
    digest = digest.lower()
    if (scheme == "btih" and not re.fullmatch(r"[0-9a-f]{40}", digest)) or (
            scheme == "btmh" and not re.fullmatch(r"1220[0-9a-f]{64}", digest)):
        raise _url_error(value, f"info hash {m.group(2)!r} is not 40 hex / 32 base32 digits "
                                "(btih) or a SHA-256 multihash (btmh)")
    key = f"magnet:?xt=urn:{scheme}:{digest}"
    props: dict[str, Any] = {"scheme": "magnet", "info_hash": digest, "hash_type": scheme}
    dn = _MAGNET_DN.search(query)
    if dn and dn.group(1):
        props["name"] = unquote(dn.group(1).replace("+", " "))
    return Identifier(kind="url", key=f"url:{key}", display=key, properties=props)


def _url_error(value: str, why: str) -> IdentifierError:
    return IdentifierError(f"{_show(value)} is not a valid URL: {why}", kind="url", value=value)


def normalize_domain(value: str) -> Identifier:
    """Normalise a domain name (key ``domain:example.org``).

    Lower-cased, IDNA-mapped (key in punycode, display in Unicode), trailing dot and one
    leading ``www.`` removed. A URL or ``host:port`` is accepted and reduced to its host.
    Raises for IP addresses and names without a top-level domain.
    """
    if not isinstance(value, str):
        raise IdentifierError(f"domain {value!r} is not text", kind="domain")
    s = value.strip()
    if _SCHEME.match(s) or s.startswith("//"):
        try:
            s = urlsplit(s if not s.startswith("//") else "http:" + s).netloc
        except ValueError as exc:
            raise _domain_error(value, str(exc)) from None
        s = s.rpartition("@")[2]
    s = s.split("/", 1)[0]
    if s.count(":") == 1 and s.rpartition(":")[2].isdigit():
        s = s.rpartition(":")[0]
    if s.startswith("[") or s.count(":") > 1 or _ipv4(s.rstrip(".")) is not None:
        raise _domain_error(value, "it is an IP address, not a domain name")
    try:
        ascii_host, unicode_host = _host(s, what="domain name", original=value, min_labels=2)
    except IdentifierError as exc:
        raise IdentifierError(str(exc), kind="domain", value=value) from None
    if ascii_host.startswith("www.") and ascii_host.count(".") >= 2:
        ascii_host, unicode_host = ascii_host[4:], unicode_host[4:]
    return Identifier(kind="domain", key=f"domain:{ascii_host}", display=unicode_host,
                      properties={"domain": ascii_host, "unicode": unicode_host,
                                  "tld": ascii_host.rsplit(".", 1)[1]})


def _domain_error(value: str, why: str) -> IdentifierError:
    return IdentifierError(f"{_show(value)} is not a valid domain name: {why}", kind="domain",
                           value=value)


# --------------------------------------------------------------------------------------
# Cryptocurrency addresses
#
# A wallet address is an account on its chain ('account:bitcoin:bc1q...'), so it needs no
# entity kind of its own. Every address format carries a checksum; an address is only
# recognised when it passes it, which keeps random base58/hex strings out of a case.

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(_BECH32_CHARSET)}
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3
# base58check version byte -> (platform, address type)
_B58_VERSIONS: dict[int, tuple[str, str]] = {
    0x00: ("bitcoin", "p2pkh"), 0x05: ("bitcoin", "p2sh"),
    0x30: ("litecoin", "p2pkh"), 0x32: ("litecoin", "p2sh"),
    0x41: ("tron", "address"),
}
_BECH32_HRPS = {"bc": "bitcoin", "ltc": "litecoin"}
# Monero network byte -> address type (mainnet), and the decoded length it implies.
_XMR_TYPES = {0x12: ("standard", 69), 0x13: ("integrated", 77), 0x2A: ("subaddress", 69)}
_XMR_BLOCK_BYTES = {0: 0, 2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}
_WALLET_PLATFORMS = frozenset({"bitcoin", "litecoin", "tron", "ethereum", "monero"})
_CURRENCY = {"bitcoin": "BTC", "litecoin": "LTC", "tron": "TRX", "ethereum": "ETH",
             "monero": "XMR"}
_HEX40 = re.compile(r"0[xX]([0-9a-fA-F]{40})")


def _keccak_constants() -> tuple[list[int], list[int]]:
    """Round constants and rho rotations of Keccak-f[1600] (FIPS 202 §3.2), derived
    rather than tabled so a typo cannot hide in them."""
    rotations = [0] * 25
    x, y = 1, 0
    for t in range(24):
        rotations[x + 5 * y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    lfsr = 1
    constants = []
    for _ in range(24):
        rc = 0
        for j in range(7):
            if lfsr & 1:
                rc |= 1 << ((1 << j) - 1)
            lfsr = ((lfsr << 1) ^ 0x71) & 0xFF if lfsr & 0x80 else lfsr << 1
        constants.append(rc)
    return constants, rotations


_KECCAK_RC, _KECCAK_ROT = _keccak_constants()
_M64 = (1 << 64) - 1


def _keccak256(data: bytes) -> bytes:
    """Keccak-256 with the original padding (what Ethereum and Monero use; not the NIST
    SHA3-256 in hashlib). Pure Python: it only ever runs on a candidate address."""
    rate = 136
    msg = bytearray(data)
    msg.append(0x01)
    msg.extend(b"\x00" * (-len(msg) % rate))
    msg[-1] |= 0x80
    a = [0] * 25
    rot = _KECCAK_ROT
    for off in range(0, len(msg), rate):
        for i in range(rate // 8):
            a[i] ^= int.from_bytes(msg[off + 8 * i:off + 8 * i + 8], "little")
        for rc in _KECCAK_RC:
            c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
            d = [c[(x - 1) % 5] ^ (((c[(x + 1) % 5] << 1) | (c[(x + 1) % 5] >> 63)) & _M64)
                 for x in range(5)]
            b = [0] * 25
            for x in range(5):
                for y in range(5):
                    v = a[x + 5 * y] ^ d[x]
                    r = rot[x + 5 * y]
                    b[y + 5 * ((2 * x + 3 * y) % 5)] = ((v << r) | (v >> (64 - r))) & _M64 if r else v
            a = [b[i] ^ (~b[(i + 1) % 5 + i - i % 5] & b[(i + 2) % 5 + i - i % 5]) for i in range(25)]
            a[0] ^= rc
    return b"".join(a[i].to_bytes(8, "little") for i in range(4))


def _b58decode(text: str) -> bytes | None:
    n = 0
    for c in text:
        i = _B58_INDEX.get(c)
        if i is None:
            return None
        n = n * 58 + i
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\x00" * (len(text) - len(text.lstrip("1"))) + body


def _base58check(text: str) -> tuple[str, str] | None:
    raw = _b58decode(text)
    if raw is None or len(raw) != 25:
        return None
    if hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] != raw[-4:]:
        return None
    return _B58_VERSIONS.get(raw[0])


def _bech32_address(text: str) -> tuple[str, str] | None:
    """(platform, type) of a valid segwit address (BIP 173, and BIP 350 for v1+)."""
    if text.lower() != text and text.upper() != text:
        return None  # mixed case is invalid by definition
    s = text.lower()
    hrp, _, data = s.rpartition("1")
    platform = _BECH32_HRPS.get(hrp)
    if platform is None or not 6 < len(data) <= 84:
        return None
    values = [_BECH32_INDEX.get(c) for c in data]
    if None in values:
        return None
    chk = 1
    for v in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v  # type: ignore[operator]
        for i, g in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            if (top >> i) & 1:
                chk ^= g
    version = values[0]
    if version is None or version > 16 or chk != (_BECH32_CONST if version == 0 else _BECH32M_CONST):
        return None
    acc = bits = 0
    program = bytearray()
    for v in values[1:-6]:
        acc = (acc << 5) | v  # type: ignore[operator]
        bits += 5
        if bits >= 8:
            bits -= 8
            program.append((acc >> bits) & 0xFF)
    if bits >= 5 or acc & ((1 << bits) - 1) or not 2 <= len(program) <= 40:
        return None
    if version == 0 and len(program) not in (20, 32):
        return None
    kind = {20: "p2wpkh", 32: "p2wsh"}.get(len(program), "segwit") if version == 0 else (
        "p2tr" if version == 1 and len(program) == 32 else f"segwit_v{version}")
    return platform, kind


def _monero_address(text: str) -> str | None:
    """The address type of a valid Monero mainnet address, else None."""
    out = bytearray()
    for i in range(0, len(text), 11):
        block = text[i:i + 11]
        size = _XMR_BLOCK_BYTES.get(len(block))
        raw = _b58decode(block.lstrip("1") or "1") if size else None
        if raw is None or size is None:
            return None
        n = int.from_bytes(raw, "big")
        if n >> (8 * size):
            return None
        out += n.to_bytes(size, "big")
    entry = _XMR_TYPES.get(out[0]) if out else None
    if entry is None or len(out) != entry[1]:
        return None
    if _keccak256(bytes(out[:-4]))[:4] != out[-4:]:
        return None
    return entry[0]


def _eip55_ok(hex40: str) -> bool:
    """An all-lower or all-upper address has no checksum; a mixed-case one must match
    EIP-55 exactly (a single changed letter fails)."""
    if hex40 == hex40.lower() or hex40 == hex40.upper():
        return True
    digest = _keccak256(hex40.lower().encode("ascii")).hex()
    return all(c.isdigit() or (c.isupper() == (int(h, 16) >= 8)) for c, h in zip(hex40, digest))


def _wallet(platform: str | None, text: str) -> tuple[str, str, str] | None:
    """(platform, canonical address, address type) when ``text`` is a valid address (of
    ``platform`` when given), else None. Bech32 and Ethereum addresses are case-free and
    keyed lower-case; base58 addresses keep their case, which is part of them."""
    s = text.strip()
    if platform in (None, "ethereum"):
        m = _HEX40.fullmatch(s)
        if m and _eip55_ok(m.group(1)):
            return "ethereum", "0x" + m.group(1).lower(), "address"
    if platform in (None, "bitcoin", "litecoin") and "1" in s[1:4]:
        hit = _bech32_address(s)
        if hit and platform in (None, hit[0]):
            return hit[0], s.lower(), hit[1]
    if platform in (None, "monero") and len(s) in (95, 106) and s[:1] in "48":
        xmr = _monero_address(s)
        if xmr:
            return "monero", s, xmr
    if platform in (None, "bitcoin", "litecoin", "tron") and 25 <= len(s) <= 35:
        hit = _base58check(s)
        if hit and platform in (None, hit[0]):
            return hit[0], s, hit[1]
    return None


def _wallet_identifier(platform: str, address: str, address_type: str) -> Identifier:
    props = {"platform": platform, "handle": address, "wallet": True,
             "currency": _CURRENCY[platform], "address_type": address_type}
    return Identifier(kind="account", key=f"account:{platform}:{address}", display=address,
                      properties=props)


# --------------------------------------------------------------------------------------
# Online accounts

_PLATFORM_ALIASES = {
    "x": "twitter", "x.com": "twitter", "twitter.com": "twitter",
    "tg": "telegram", "t.me": "telegram", "telegram.me": "telegram",
    "ig": "instagram", "instagram.com": "instagram",
    "fb": "facebook", "facebook.com": "facebook",
    "snap": "snapchat", "wa": "whatsapp", "whatsapp.com": "whatsapp",
    "tiktok.com": "tiktok", "reddit.com": "reddit", "discord.com": "discord",
    "btc": "bitcoin", "ltc": "litecoin", "eth": "ethereum", "xmr": "monero", "trx": "tron",
}
# Platforms whose user names are case-insensitive: 'JimmyM' and 'jimmym' are one account.
# Platforms not listed keep case, because merging two accounts is worse than missing a link.
_CASELESS_PLATFORMS = frozenset({
    "telegram", "twitter", "instagram", "discord", "tiktok", "reddit", "skype", "snapchat",
    "kik", "facebook", "github", "gitlab", "twitch", "youtube", "pinterest", "tumblr",
    "linkedin", "threads", "roblox", "minecraft", "xbox", "psn", "steam", "irc", "mastodon",
    "bluesky", "signal", "wickr", "threema", "session", "line", "wechat", "vk", "ok",
})
# Platforms where an account is a phone number: spellings of the number must meet.
# Not telegram: its numeric user ids look like phone numbers but are not.
_PHONE_PLATFORMS = frozenset({"whatsapp", "signal", "viber", "sms", "mms", "imessage"})
_PHONE_SHAPED = re.compile(r"\+?[\d\s().\-]{7,}")
_WHATSAPP_JID = re.compile(r"(\d{6,15})@(?:s\.whatsapp\.net|c\.us)", re.IGNORECASE)
_WHITESPACE_RUN = re.compile(r"\s+")


def normalize_handle(platform: str, handle: str, *, region: str | None = "US") -> Identifier:
    """Normalise an online account (key ``account:telegram:jimmy``).

    ``platform`` is lower-cased and common aliases folded ('x' -> 'twitter', 'tg' ->
    'telegram'); the handle is NFC-normalised, whitespace-collapsed and loses one leading
    '@'. On case-insensitive platforms (telegram, twitter, instagram, discord, tiktok,
    reddit, skype, snapchat, kik...) it is lower-cased; elsewhere case is kept. On
    phone-number platforms (whatsapp, signal, viber, sms...) a handle that is a phone
    number (or a WhatsApp JID ``12025550143@s.whatsapp.net``) is keyed by its E.164 form,
    read in ``region`` when it has no country code. Display is the handle as written
    (without '@'); ``properties`` hold ``platform`` and ``handle``. On wallet platforms
    (bitcoin, litecoin, tron, ethereum, monero; aliases btc, eth, xmr...) a handle that
    passes its address checksum is keyed in canonical case and gets ``wallet``,
    ``currency`` and ``address_type``.
    """
    if not isinstance(platform, str) or not isinstance(handle, str):
        raise IdentifierError(f"account {handle!r} on {platform!r}: platform and handle must be "
                              "text", kind="account")
    plat = _WHITESPACE_RUN.sub(" ", platform.strip().lower())
    plat = _PLATFORM_ALIASES.get(plat, plat)
    if not plat:
        raise IdentifierError(f"account {_show(handle)} has an empty platform name",
                              kind="account", value=handle)
    h = _WHITESPACE_RUN.sub(" ", unicodedata.normalize("NFC", handle).strip())
    if h.startswith("@"):
        h = h[1:].strip()
    if not h:
        raise IdentifierError(f"account {_show(handle)} on {plat} has an empty handle",
                              kind="account", value=handle)
    if any(unicodedata.category(c) == "Cc" for c in h):
        raise IdentifierError(f"account {_show(handle)} on {plat} holds control characters",
                              kind="account", value=handle)
    base = plat.split(":", 1)[0]
    if base in _WALLET_PLATFORMS and plat == base:
        # A valid address is keyed as extraction keys it (bech32/hex lower-cased); an
        # invalid one is kept as written, since imports must not lose it.
        wallet = _wallet(base, h)
        if wallet is not None:
            return _wallet_identifier(*wallet)
    props: dict[str, Any] = {"platform": plat}
    key_handle = h.lower() if base in _CASELESS_PLATFORMS else h
    if base in _PHONE_PLATFORMS:
        phone = _phone_handle(h, region)
        if phone is not None:
            key_handle = phone.value
            props["phone"] = phone.value
            h = phone.display
    props["handle"] = key_handle
    return Identifier(kind="account", key=f"account:{plat}:{key_handle}", display=h,
                      properties=props)


def _phone_handle(handle: str, region: str | None) -> Identifier | None:
    jid = _WHATSAPP_JID.fullmatch(handle)
    try:
        if jid:
            return normalize_phone("+" + jid.group(1), None)
        if _PHONE_SHAPED.fullmatch(handle) and len(_ANY_DIGIT.findall(handle)) >= 7:
            phone = normalize_phone(handle, region)
            # Without a '+' the digits could be some other id; only a number in an
            # assigned range is taken for a phone.
            if handle.startswith("+") or phone.properties["valid"]:
                return phone
    except IdentifierError:
        return None
    return None


# --------------------------------------------------------------------------------------
# Person names

# Letters that carry no decomposable accent but are spelled without one in ASCII records.
_NAME_FOLD = str.maketrans({"ø": "o", "đ": "d", "ð": "d", "ł": "l", "æ": "ae", "œ": "oe",
                            "þ": "th", "ı": "i", "ħ": "h", "ŋ": "n", "ŧ": "t", "ƒ": "f"})
_APOSTROPHES = re.compile(r"['’ʼ`´‘]")
_NAME_TOKEN = re.compile(r"[^\W_]+")
# Accents are dropped only on Latin, Greek, Cyrillic, Armenian, Hebrew and Arabic letters:
# in Indic and Japanese scripts the combining marks are part of the spelling itself.
_STRIP_MARKS_BELOW = 0x0700


def person_name_key(name: str) -> str:
    """A matching key for a person's name: 'Müller, Hans-Jürgen' -> 'hans jurgen muller'.

    Case-folded, accents removed, apostrophes dropped ("O'Brien" = 'obrien'), other
    punctuation and spacing collapsed to single spaces, and 'Last, First' turned into
    'first last' (at the first comma). Meant as input to fuzzy matching, not as an exact
    identity. Raises :class:`IdentifierError` for a name without letters or digits.
    """
    if not isinstance(name, str):
        raise IdentifierError(f"person name {name!r} is not text")
    # Compatibility forms (math letters, full width) only show their case after NFKD.
    s = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", name).casefold())
    kept: list[str] = []
    base = 0
    for c in s:
        if unicodedata.combining(c):
            if base < _STRIP_MARKS_BELOW:
                continue
        else:
            base = ord(c)
        kept.append(c)
    s = unicodedata.normalize("NFC", "".join(kept)).translate(_NAME_FOLD)
    s = _APOSTROPHES.sub("", s)
    if "," in s:
        last, _, first = s.partition(",")
        s = f"{first} {last}"
    tokens = _NAME_TOKEN.findall(s)
    if not tokens:
        raise IdentifierError(f"person name {_show(name)} has no letters or digits")
    return " ".join(tokens)


# --------------------------------------------------------------------------------------
# Extraction from free text

_EMAIL_IN_TEXT = re.compile(
    r"(?<![\w.%+\-])"
    r"[\w%+\-](?:[\w.%+'\-]{0,62}[\w%+\-])?"
    r"@"
    r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.)+"
    r"(?:[^\W\d_]{2,63}|xn--[a-z0-9\-]{1,59})"
    r"(?![\w\-]|\.[^\W_])",
    re.IGNORECASE,
)
_URL_HINT = re.compile(r"://|[wW]{3}\.")
_URL_IN_TEXT = re.compile(
    # A comma belongs to a URL only between URL characters: ', ' and ',,' end it.
    r"(?<![\w@.\-])(?:(?P<scheme>(?:https?|ftp)://)|www\.)"
    r"(?:[^\s<>\"'`{}|\\^,]|,(?=[^\s<>\"'`{}|\\^,]))+",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?'\"*_~"
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_IPV4_IN_TEXT = re.compile(
    r"(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?::[0-9]{1,5}(?![\w]))?(?![\w]|\.[0-9])"
)
_IPV6_IN_TEXT = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:[0-9]{1,3}\.){3}[0-9]{1,3})?"
    r"(?:%[\w.\-]+)?(?![\w:.])"
)
_SEVEN_DIGITS = re.compile(r"\d(?:\D{0,4}\d){6}")
# A dotted quad after 'version'/'build' is a version number, not an address.
_VERSION_BEFORE = re.compile(r"(?:\b(?:version|ver|build|release|rev|firmware|fw)\.?|\bv)\s*\Z",
                             re.IGNORECASE)
_MAILTO_BEFORE = re.compile(r"mailto:\Z", re.IGNORECASE)
# Quoted-printable leftovers in badly decoded mail: a soft line break ('=' at the end of a
# line) inside an address, or '=40' for '@'.
_QP_SOFT_BREAK = re.compile(r"=\r?\n")
_QP_LOCAL_BEFORE = re.compile(r"[\w.%+\-]+=\r?\n\Z")
_QP_AT = re.compile(r"(?<![\w.%+\-])([\w.%+\-]+)=40((?:[^\W_][\w\-]*\.)+[^\W\d_]{2,63})(?![\w\-])")
# Obfuscated e-mail: 'alex at example dot com', 'alex[at]example[dot]com', 'alex (at)
# example (dot) com'. Found from the 'at' outwards, so ordinary text costs one search.
_OBF_HINT = re.compile(r"[\[({<]\s*at\s*[\])}>]|\sat\s", re.IGNORECASE)
_OBF_DOT = r"(?:\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+(?:dot|DOT)\s+|\.)"
_OBF_LOCAL = re.compile(rf"(?<![\w.%+\-])[\w%+\-]+(?:{_OBF_DOT}[\w%+\-]+)*\Z", re.IGNORECASE)
# Beside a bracketed '[at]' the local part takes only bracketed or real dots: in 'the park
# dot jo [at] example [dot] org' the word 'park' is not part of the address.
_OBF_LOCAL_TIGHT = re.compile(r"(?<![\w.%+\-])[\w%+\-]+(?:(?:\s*[\[({<]\s*dot\s*[\])}>]\s*|\.)"
                              r"[\w%+\-]+)*\Z", re.IGNORECASE)
_OBF_DOMAIN = re.compile(rf"(?:[^\W_][\w\-]*{_OBF_DOT})+([^\W\d_]{{2,24}})(?![\w\-]|\.[^\W_])",
                         re.IGNORECASE)
_OBF_DOT_SPLIT = re.compile(_OBF_DOT, re.IGNORECASE)
_OBF_BRACKETED = re.compile(r"[\[({<]")
# With a bare ' at ', English is the rule and an address the exception: the top-level
# domain must be a common one and the word before 'at' must not be an ordinary word.
_OBF_PLAIN_TLDS = frozenset({"com", "net", "org", "edu", "gov", "info", "biz", "ru", "uk",
                             "de", "fr", "nl", "eu", "io", "onion", "mail", "email"})
_OBF_STOPWORDS = frozenset("""
a an the i me you he she it we they us him her them my your his our their this that these
those here there where when what who how look looking looked meet meeting met be been being
is are was were am arrive arrived arriving stay stayed staying stop stopped work working
school home back out up down off in on only just still even now then later tonight today
tomorrow see seen saw wait waiting waited eat ate eating lunch dinner breakfast party
shop shopping left right all and or but not no yes ok so also too very well good great
sit sat sitting live lived living born died dead aim aimed aiming laugh laughed laughing
stare stared staring shot shoot shooting arrive come came coming go went going get got
""".split())
# Host names written without a scheme: 'example.com/path', 't.me/name', 'bit.ly/x'. Without
# a path only common top-level domains count, since 'ok.so' or 'node.js' are not sites.
_BARE_HINT = re.compile(r"\.[^\W\d_]")
_BARE_URL = re.compile(
    r"(?<![\w@.\-/:%+#])"
    r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.)+(?P<tld>[^\W\d_]{2,24})(?P<port>:[0-9]{1,5})?"
    r"(?P<path>/(?:[^\s<>\"'`{}|\\^,]|,(?=[^\s<>\"'`{}|\\^,]))*)?"
    r"(?![\w\-@]|\.[^\W_])",
    re.IGNORECASE,
)
_BARE_TLDS = frozenset({
    "com", "net", "org", "edu", "gov", "info", "biz", "io", "ru", "su", "uk", "de", "fr",
    "nl", "eu", "pl", "ua", "ca", "au", "xyz", "top", "onion", "ly", "gg", "cc", "tv",
    "online", "site", "shop", "store", "app", "club", "live", "link", "click",
})
_PATH_TLDS = _BARE_TLDS | frozenset({
    "me", "to", "gl", "sh", "tk", "ws", "gd", "ai", "co", "be", "it", "es", "in", "us",
    "page", "news", "blog", "tech", "space", "website", "fun", "icu", "vip", "pro", "mobi",
    "name", "asia", "cloud", "dev", "art", "one", "world", "today", "chat", "social",
})
_TWO_LETTER = re.compile(r"[a-z]{2}")
_MAGNET_IN_TEXT = re.compile(r"magnet:\?[^\s<>\"'`]+", re.IGNORECASE)
_WALLET_IN_TEXT = re.compile(
    r"(?<![\w/])(?:0[xX][0-9a-fA-F]{40}"
    r"|(?:bc|BC|ltc|LTC)1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,87}"
    r"|[13LMT][1-9A-HJ-NP-Za-km-z]{24,34}"
    r"|[48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?)(?![\w/])"
)
# 'Tel2025550143': a phone glued to its label is still a phone (ids glued to words are not).
_PHONE_LABEL_GLUED = re.compile(
    r"(?<![^\W\d_])(?:tel|ph|phone|mob|mobile|cell|call|fax|whatsapp|wa|sms|tlf)[.:]?\Z",
    re.IGNORECASE)
# '00' dials abroad from most of the world, also in text filed under a region that dials
# otherwise (the US: 011); rewritten as '+' (same length) so phonenumbers reads it.
_INTL_00 = re.compile(r"(?<![\w+.,/()\-])00(?=[1-9])")
_IBAN_IN_TEXT = re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_CARD_RUN = re.compile(r"(?<![\w.,\-])\d+(?:[ \-]\d+)*(?![\w]|[.,]\d)")
_DIGIT_GROUP = re.compile(r"\d+")

# Lower wins when candidates overlap: a URL with a scheme holds anything inside it, an
# e-mail's domain is not a second (www.) URL, a card number is not a phone, an IP is not a
# phone.
_PRIO_URL, _PRIO_EMAIL, _PRIO_WWW, _PRIO_WALLET, _PRIO_CARD, _PRIO_IP, _PRIO_PHONE = range(7)


def extract(text: str, *, region: str | None = "US", card_key: bytes | None = None) -> list[Found]:
    """Find e-mails, URLs, IP addresses, phone numbers and (when ``card_key`` is given)
    Luhn-valid card numbers of a known scheme and length in ``text``.

    Returns non-overlapping :class:`Found` in text order; where candidates overlap the
    more specific one wins (URL with scheme > e-mail > www-URL > card > IP > phone).
    Phones are found with phonenumbers in ``region``; a number is kept when it is valid,
    or possible and written with a '+'. Only valid values are returned (each through the
    same ``normalize_*`` as single values). Safe to call from any thread.
    """
    if not text:
        return []
    reg = _check_region(region)
    if card_key is not None:
        _check_card_key(card_key)
    cands: list[tuple[int, int, int, Found]] = []

    if "@" in text:
        for m in _EMAIL_IN_TEXT.finditer(text):
            start, address = m.start(), m.group()
            if _MAILTO_BEFORE.search(text, max(0, start - 7), start):
                address = "mailto:" + address  # percent-escapes are decoded ('%2B' is '+')
            elif start >= 2 and text[start - 1] == "\n":
                qp = _QP_LOCAL_BEFORE.search(text, max(0, start - 70), start)
                if qp:
                    start = qp.start()
                    address = _QP_SOFT_BREAK.sub("", text[start:m.end()])
            try:
                ident = normalize_email(address)
            except IdentifierError:
                continue
            cands.append((_PRIO_EMAIL, start, m.end(), _found(ident, text, start, m.end())))
    if "=40" in text:
        for m in _QP_AT.finditer(text):
            try:
                ident = normalize_email(f"{m.group(1)}@{m.group(2)}")
            except IdentifierError:
                continue
            cands.append((_PRIO_EMAIL, m.start(), m.end(), _found(ident, text, m.start(), m.end())))
    low = text.lower()
    if "dot" in low or "at]" in low or "at)" in low or "at}" in low or "at>" in low:
        cands.extend(_obfuscated_emails(text))

    if _URL_HINT.search(text):
        for m in _URL_IN_TEXT.finditer(text):
            start, end = m.start(), _trim_url_end(text, m.start(), m.end())
            raw = text[start:end]
            try:
                ident = normalize_url(raw)
            except IdentifierError:
                continue
            prio = _PRIO_URL if m.group("scheme") else _PRIO_WWW
            cands.append((prio, start, end, _found(ident, text, start, end)))
    if _BARE_HINT.search(text):
        cands.extend(_bare_urls(text))
    if "agnet:?" in text:
        for m in _MAGNET_IN_TEXT.finditer(text):
            start, end = m.start(), _trim_url_end(text, m.start(), m.end())
            try:
                ident = normalize_url(text[start:end])
            except IdentifierError:
                continue
            cands.append((_PRIO_URL, start, end, _found(ident, text, start, end)))

    has_digit = _ANY_DIGIT.search(text) is not None
    if has_digit and "." in text:
        for m in _IPV4_IN_TEXT.finditer(text):
            if _VERSION_BEFORE.search(text, max(0, m.start() - 12), m.start()):
                continue
            try:
                ident = normalize_ip(m.group())
            except IdentifierError:
                continue
            cands.append((_PRIO_IP, m.start(), m.end(), _found(ident, text, m.start(), m.end())))
    if text.count(":") >= 2:
        for m in _IPV6_IN_TEXT.finditer(text):
            raw = m.group()
            # Short forms like 'a::b' are scope paths in code far more often than
            # addresses; keep '::1' and anything with a 3+ digit group or 3+ colons.
            if raw.count(":") < 3 and raw != "::1" and \
                    max(len(g) for g in raw.split("%", 1)[0].split(":")) < 3:
                continue
            try:
                ident = normalize_ip(raw)
            except IdentifierError:
                continue
            cands.append((_PRIO_IP, m.start(), m.end(), _found(ident, text, m.start(), m.end())))

    if len(text) >= 25 and max(map(len, text.split())) >= 25:
        for m in _WALLET_IN_TEXT.finditer(text):
            wallet = _wallet(None, m.group())
            if wallet is not None:
                cands.append((_PRIO_WALLET, m.start(), m.end(),
                              _found(_wallet_identifier(*wallet), text, m.start(), m.end())))

    if has_digit and _SEVEN_DIGITS.search(text):
        # IBANs hold long digit runs: neither a card nor a phone may be read inside one.
        ibans = [(m.start(), m.end()) for m in _IBAN_IN_TEXT.finditer(text)
                 if _iban_valid(m.group())]
        more: list[tuple[int, int, int, Found]] = []
        if card_key is not None:
            more.extend(_cards_in(text, card_key))
        more.extend(_phones_in(text, reg))
        cands.extend(c for c in more if not any(c[1] < e and s < c[2] for s, e in ibans))

    if not cands:
        return []
    cands.sort(key=lambda c: (c[0], c[1] - c[2], c[1]))
    taken: list[tuple[int, int]] = []
    result: list[Found] = []
    for _prio, start, end, found in cands:
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        taken.append((start, end))
        result.append(found)
    result.sort(key=lambda f: f.start)
    return result


def _found(ident: Identifier, text: str, start: int, end: int) -> Found:
    return Found(kind=ident.kind, raw=text[start:end], start=start, end=end, identifier=ident)


def _iban_valid(text: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN (spaces allowed)."""
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    digits = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(digits) % 97 == 1


def _obfuscated_emails(text: str) -> list[tuple[int, int, int, Found]]:
    """Addresses spelled to dodge filters. The key is the plain address (so it meets the
    same address written normally); ``properties['obfuscated']`` says how it was seen."""
    out: list[tuple[int, int, int, Found]] = []
    for at in _OBF_HINT.finditer(text):
        at_start, at_end = at.start(), at.end()
        if text[at_start] not in "[({<":
            at_start, at_end = at_start + 1, at_end - 1
            if text[at_start:at_end] not in ("at", "AT"):
                continue  # 'At' between words starts a sentence, it hides no '@'

        while at_start and text[at_start - 1].isspace():
            at_start -= 1
        while at_end < len(text) and text[at_end].isspace():
            at_end += 1
        # The domain side first: it is anchored and rules out nearly every English 'at'.
        dom = _OBF_DOMAIN.match(text, at_end)
        if not dom or at_start == 0:
            continue
        bracketed = text[at.start()] in "[({<"
        local = (_OBF_LOCAL_TIGHT if bracketed else _OBF_LOCAL).search(
            text, max(0, at_start - 64), at_start)
        if not local:
            continue
        raw = text[local.start():dom.end()]
        if "@" in raw:
            continue
        tld = dom.group(1).lower()
        if not _OBF_BRACKETED.search(raw):
            # Plain ' at ' / ' dot ': English unless the address looks like one.
            if tld not in _OBF_PLAIN_TLDS or local.group().lower() in _OBF_STOPWORDS:
                continue
            if "dot" not in dom.group().lower():
                # 'Bob at Amazon.com' is a workplace: a bare 'at' hides an '@' only
                # together with a spelled-out 'dot'.
                continue
        address = ".".join(_OBF_DOT_SPLIT.split(local.group())) + "@" + ".".join(
            p.strip() for p in _OBF_DOT_SPLIT.split(dom.group()))
        try:
            plain = normalize_email(address)
        except IdentifierError:
            continue
        ident = Identifier(kind="email", key=plain.key, display=plain.display,
                           properties={**plain.properties, "obfuscated": True})
        out.append((_PRIO_EMAIL, local.start(), dom.end(),
                    _found(ident, text, local.start(), dom.end())))
    return out


def _bare_urls(text: str) -> list[tuple[int, int, int, Found]]:
    """Host names without a scheme: with a path any country or common generic TLD, without
    one only a common TLD. A .onion name must pass its v3 checksum (or be a v2 name)."""
    out: list[tuple[int, int, int, Found]] = []
    done = -1
    for hint in _BARE_HINT.finditer(text):
        if hint.start() < done:
            continue
        # Back to the start of the dotted word, then one anchored match from there.
        s = hint.start()
        while s and (text[s - 1].isalnum() or text[s - 1] in "-._"):
            s -= 1
        m = _BARE_URL.match(text, s)
        if not m:
            done = hint.end()
            continue
        done = m.end()
        tld = m.group("tld").lower()
        if m.group("path") or m.group("port"):
            if tld not in _PATH_TLDS and not (len(tld) == 2 and _TWO_LETTER.fullmatch(tld)):
                continue
        elif tld not in _BARE_TLDS:
            continue
        start, end = m.start(), _trim_url_end(text, m.start(), m.end())
        try:
            ident = normalize_url(text[start:end])
        except IdentifierError:
            continue
        if ident.properties.get("onion") == "invalid":
            continue
        out.append((_PRIO_WWW, start, end, _found(ident, text, start, end)))
    return out


def _trim_url_end(text: str, start: int, end: int) -> int:
    """Drop sentence punctuation and unbalanced closing brackets after a URL
    ('see https://x.org/a).' -> 'https://x.org/a')."""
    while end > start:
        c = text[end - 1]
        if c in _URL_TRAILING:
            end -= 1
        elif c in _CLOSERS and text.count(_CLOSERS[c], start, end) < text.count(c, start, end):
            end -= 1
        else:
            break
    return end


def _cards_in(text: str, key: bytes) -> list[tuple[int, int, int, Found]]:
    """Card numbers inside runs of digit groups ('4111 1111 1111 1111'). A run may hold a
    card next to other numbers, so every window of whole groups with 13-19 digits is
    tried, longest first; only Luhn-valid numbers of a known scheme at a length that
    scheme issues are kept, which keeps IMEIs, order numbers and timestamps out."""
    out: list[tuple[int, int, int, Found]] = []
    for run in _CARD_RUN.finditer(text):
        if run.end() - run.start() < 13:
            continue
        groups = [(g.start(), g.end()) for g in _DIGIT_GROUP.finditer(text, run.start(), run.end())]
        digits = "".join(text[a:b] for a, b in groups)
        if len(digits) < 13:
            continue
        offsets = [0]
        for a, b in groups:
            offsets.append(offsets[-1] + b - a)
        i = 0
        while i < len(groups):
            # The scheme depends only on where the window starts: check it once.
            entry = _brand_entry(digits[offsets[i]:offsets[i] + 6])
            hit = None
            if entry is not None:
                lengths = entry[1]
                j = i
                while j + 1 < len(offsets) - 1 and offsets[j + 2] - offsets[i] <= 19:
                    j += 1
                for k in range(j, i - 1, -1):
                    n = offsets[k + 1] - offsets[i]
                    if n in lengths and luhn_valid(digits[offsets[i]:offsets[k + 1]]):
                        hit = k
                        break
            if hit is None:
                i += 1
                continue
            s, e = groups[i][0], groups[hit][1]
            ident = normalize_card(text[s:e], key)
            out.append((_PRIO_CARD, s, e, _found(ident, text, s, e)))
            i = hit + 1
    return out


def _phones_in(text: str, region: str | None) -> list[tuple[int, int, int, Found]]:
    out: list[tuple[int, int, int, Found]] = []
    # POSSIBLE rather than VALID leniency, filtered below: an explicitly international
    # number ('+44 7700 900123') is kept even where the metadata does not list its range,
    # while bare digit strings must be valid numbers (timestamps, order numbers are not).
    hits: list[tuple[int, str | None, Any]] = [(0, None, m) for m in phonenumbers.PhoneNumberMatcher(
        text, region or "ZZ", leniency=phonenumbers.Leniency.POSSIBLE)]
    if region not in _DIALS_00 and "00" in text:
        for zz in _INTL_00.finditer(text):
            # Read from the '00' as from a '+' (same length, so offsets hold); a longer
            # number around it ('+86 138 0013 8000') still wins the overlap.
            at = zz.start()
            piece = " +" + text[at + 2:at + 40]
            hits.extend((at, piece, m) for m in phonenumbers.PhoneNumberMatcher(
                piece, region or "ZZ", leniency=phonenumbers.Leniency.POSSIBLE) if m.start == 1)
    n = len(text)
    trunk_0 = region in _TRUNK_0
    for base, scan, m in hits:
        num = m.number
        start, end = base + m.start, base + m.end
        if scan is not None:
            start -= 1  # the '00' as written
        raw = text[start:end]
        plus = scan is not None or raw.lstrip().startswith("+")
        if not (phonenumbers.is_valid_number(num) or plus):
            # A national number written as people write them ('07700 900123': trunk '0',
            # grouped, full length) is kept even outside the assigned ranges.
            if not (trunk_0 and raw.lstrip("(")[:1] == "0" and not raw.isdigit()
                    and sum(c.isdigit() for c in raw) >= 10
                    and phonenumbers.is_possible_number_with_reason(num)
                    == phonenumbers.ValidationResult.IS_POSSIBLE):
                continue
        before = text[start - 1] if start > 0 else " "
        after = text[end] if end < n else " "
        # Digits glued to letters are ids ('user6565661032') unless the letters are a
        # phone label ('Tel2025550143'); digits next to a slash are fractions, dates or URL
        # paths ('2015371296/1295675501'); a slash inside is only a phone separator after a
        # trunk prefix or country code ('030/1234567'); '#' marks an order or ticket number.
        if (before.isalnum() and not _PHONE_LABEL_GLUED.search(text, max(0, start - 10), start)) \
                or before in "_/#" or after.isalnum() or after in "_/":
            continue
        if "/" in raw and raw.lstrip()[:1] not in ("0", "(", "+"):
            continue
        if not phonenumbers.is_possible_number(num):
            continue
        ident = _phone_identifier(num)
        out.append((_PRIO_PHONE, start, end, _found(ident, text, start, end)))
    return out


def _regions_where(test: Any) -> frozenset[str]:
    out = set()
    for r in phonenumbers.SUPPORTED_REGIONS:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(r)
        if meta is not None and test(meta):
            out.add(r)
    return frozenset(out)


# Regions whose international prefix accepts '00' (phonenumbers reads '00 44...' there).
_DIALS_00 = _regions_where(lambda meta: bool(meta.international_prefix)
                           and re.fullmatch(meta.international_prefix, "00") is not None)
_TRUNK_0 = _regions_where(lambda meta: meta.national_prefix == "0")


# --------------------------------------------------------------------------------------


def _show(value: object, limit: int = 80) -> str:
    """repr() of a value for an error message, shortened so a pasted chat message does not
    swamp it."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 4] + "...'"
