"""OFX / QFX statements: OFX 1.x (SGML, unclosed tags) and OFX 2.x (XML).

Our own reader. Both versions become one small element tree:

* OFX 2.x (an ``<?xml`` declaration) is parsed with defusedxml; a DTD or entity in it
  is refused (ParseError). When a producer wrote "XML" that is not well formed (which
  happens), the tolerant SGML reader below takes over.
* Encoding: BOM, else the XML declaration or the SGML header (``CHARSET:1252``,
  ``8859-1``, ``ENCODING:UTF-8``) as a hint only (see :func:`_decode`). CR-only and CRLF
  line ends are read alike. The OFX 2.x header (``<?OFX OFXHEADER="200" ...?>``) and the
  1.x header (one ``KEY:VALUE`` per line, spaces allowed, or all on one line) both end
  up in ``OfxDocument.header``.
* OFX 1.x SGML: ``KEY:VALUE`` header lines (blank lines before them allowed), then tags
  whose leaf elements are usually not closed. A tag followed by text is a leaf; a
  closing tag closes the nearest open element of that name; a known leaf tag left empty
  and unclosed is closed by the next tag. CDATA and the five XML entities are decoded.

What it yields (see :func:`read_ofx` for the document-level view):

* a ``ParsedEntity`` per statement account (``ref="statement N"``): a card account
  (credit-card statement) is ``Party(kind="card", value=<number>, role="payment_card")``;
  when the issuer masks the number or gives its last four digits only,
  ``value="last4:NNNN"`` (label the masked text); when ACCTID is the issuer's own
  reference (a UUID), an ``account`` party with ``platform="card:<FID or ORG>"`` (see
  :func:`card_account`). A bank account is ``Party(kind="account", value=<ACCTID>,
  platform="bank:<BANKID>", role="account")``, an investment account (INVSTMTRS) the
  same with ``platform="broker:<BROKERID>"``; properties hold account type,
  routing/branch, currency, ledger and available balances with their dates, statement
  period, the institution (that of the sign-on before the statement: combined downloads
  repeat the sign-on per institution) and warnings. Several ``<OFX>`` documents saved in
  one file are all read.
* a ``ParsedEntity`` per account of an account-information listing (``ACCTINFO``).
* a ``ParsedEvent(kind="transaction")`` per ``STMTTRN`` (``ref="transaction N, line
  L"``): ``occurred_at`` when the user made it, DTUSER (the purchase; DTPOSTED, when
  the bank booked it, is then ``posted_at`` and ``date_basis`` is "DTUSER"), else
  DTPOSTED (aware when the file gives ``[-5:EST]``, else
  naive: banks write local time; a date without a time, or the one time of day a file
  writes on every transaction of several days in place of one, ``000000`` or
  ``120000``, is kept as written and marked ``time_precision: "day"``), ``title`` NAME or PAYEE name (else MEMO), properties
  amount (Decimal), currency (the transaction's CURRENCY, else the statement's CURDEF),
  fitid, type, memo, check_number, reference, mcc (from SIC) and mcc_description,
  user_date, exchange_rate (Decimal; CURRENCY or ORIGCURRENCY's CURRATE, the ratio of
  CURDEF to CURSYM), original_currency, with CURRENCY (amount in CURSYM) the account's
  ``account_amount``/``account_currency``, with ORIGCURRENCY (amount in CURDEF) the
  ``original_amount`` as made, extended_name, to_account (BANKACCTTO/CCACCTTO), and
  parties: the
  account/card and the counterparty (``organisation``; role ``merchant`` on card
  statements, ``payee`` for bank debits, ``payer`` for bank credits).
* investment statements: each cash line (INVBANKTRAN) as above; each other activity
  (BUYSTOCK, SELLMF, INCOME, REINVEST, TRANSFER...) one transaction dated DTTRADE, amount
  its TOTAL (the account's cash flow: a buy is negative), type the aggregate's name,
  ``total`` and ``cash_movement``, and security, ticker (from the file's SECLIST),
  security_id, units, unit_price, commission, fees (Decimal). A move without money (a
  transfer of shares, a split) has amount None and ``cash_movement`` False; so has a
  REINVEST (income that bought shares at once: its TOTAL, the shares' price, is kept as
  ``total``, with ``reinvested`` True). The cash balance (INVBAL/AVAILCASH) is the
  account's available balance; MARGINBALANCE, SHORTBALANCE and BUYPOWER become
  margin_balance, short_balance, buying_power, and the institution's BALLIST the list
  ``balances`` (name, description, type, value, as_of, currency), all on the account;
  so are the statement's DTASOF (``statement_as_of``) and ``positions_count``.
* holdings (INVPOSLIST: POSSTOCK, POSMF, POSDEBT, POSOPT, POSOTHER): one
  ``ParsedEvent(kind="other", ref="position N, line L")`` each, no transaction and no
  amount: what the account held, dated by the statement's DTASOF (else DTPRICEASOF),
  properties type "POSITION", position_kind (the aggregate), security, ticker,
  security_id, units, unit_price, market_value, average_cost_basis (Decimal), held_in,
  position_type, memo, currency, price_as_of (DTPRICEASOF); the account is its party.
  A holding with an unreadable date or number is an error like a bad transaction
  (strict: ParseError; lenient: RowError).
* amounts: ``-6.60``, ``+12``, a decimal comma ``12,50``, and thousands separators
  (``1,234.56``, ``-1.234,56``); dates: every OFX form, ``[-5:EST]``, ``[+5.5:IST]``,
  ``[-7]``, ``[-0500]``.

Corrections (CORRECTFITID + CORRECTACTION): a REPLACE takes the place of the
transaction it names, a DELETE removes it, neither counted twice; see
:func:`_corrections_and_duplicates`. Notices: each correction, a FITID given to several
transactions of one statement (all kept), a BUY with a positive TOTAL (kept as written).

Status: a WARN status (e.g. 12251, position download not supported) keeps what the
server sent, with a Notice; ERROR (or an error code without severity) is a failure, its
message completed with what the OFX specification says the code means (15500: wrong user
ID or password), since servers often send the code alone. A statement without
transactions gives a Notice naming the account and the period.

Errors: with ``options.strict`` (default) a server error status (sign-on or statement),
a transaction with a missing/invalid date or amount, or an invalid balance raises
ParseError naming file, place and field; lenient mode yields one RowError per bad
transaction or failed statement, and drops bad balances with a warning. A file with
neither statements nor an account list raises ParseError saying so and naming what it
holds instead (a profile, a security list, a sign-on only).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from workstation.ingest.finance.mcc import mcc_description, normalise_mcc
from workstation.ingest.records import (
    ImportOptions,
    Notice,
    ParsedEntity,
    ParsedEvent,
    ParseError,
    Party,
    Record,
    RowError,
)

MAX_OFX_BYTES = 256 << 20  # statements are kilobytes; a bigger file is not a statement

# Leaf elements that may appear empty and unclosed (``<NAME><MEMO>x``) in SGML files.
_KNOWN_LEAVES = frozenset("""
CODE SEVERITY MESSAGE DTSERVER LANGUAGE DTPROFUP DTACCTUP ORG FID SESSCOOKIE ACCESSKEY
TRNUID CLTCOOKIE CURDEF BANKID BRANCHID ACCTID ACCTTYPE ACCTKEY DTSTART DTEND TRNTYPE
DTPOSTED DTUSER DTAVAIL TRNAMT FITID CORRECTFITID CORRECTACTION SRVRTID CHECKNUM REFNUM
SIC PAYEEID NAME EXTDNAME MEMO INV401KSOURCE CURRATE CURSYM BALAMT DTASOF DESC SUPTXDL
XFERSRC XFERDEST SVCSTATUS MKTGINFO ADDR1 ADDR2 ADDR3 CITY STATE POSTALCODE COUNTRY PHONE
BROKERID UNIQUEID UNIQUEIDTYPE UNITS UNITPRICE TOTAL MEMO2 CATEGORY VALUEDATE
TRANSACTIONSPLIT ACCTBAL DTEXPIRE BALTYPE DTCLIENT USERID USERPASS APPID APPVER
SUBACCTSEC SUBACCTFUND SUBACCTTO SUBACCTFROM INCOMETYPE BUYTYPE SELLTYPE OPTBUYTYPE
OPTSELLTYPE RELTYPE COMMISSION FEES TAXES LOAD MARKUP MARKDOWN DTTRADE DTSETTLE RELFITID
AVAILCASH MARGINBALANCE SHORTBALANCE BUYPOWER DTPRICEASOF MKTVAL MKTPRICE POSTYPE
HELDINACCT TICKER SECNAME FIID RATING ACCRDINT GAIN TFERACTION AVGCOSTBASIS OLDUNITS
NEWUNITS NUMERATOR DENOMINATOR FRACCASH INVACCTTYPE USPRODUCTTYPE OPTTYPE STRIKEPRICE
DTMAT PARVALUE SHPERCTRCT UNITTYPE ASSETCLASS YIELD DTYIELDASOF STOCKTYPE MFTYPE
DEBTTYPE DEBTCLASS COUPONRT DTCOUPON COUPONFREQ CALLPRICE CALLTYPE DTCALL YIELDTOCALL
YIELDTOMAT MCC
""".split())

# Investment activity aggregates (INVTRANLIST children other than INVBANKTRAN).
_INVEST_NUMBERS = (("units", "UNITS"), ("unit_price", "UNITPRICE"), ("commission", "COMMISSION"),
                   ("fees", "FEES"), ("taxes", "TAXES"))


@dataclass
class Node:
    """One element: upper-case tag, its text (leaves) and children (aggregates)."""

    tag: str
    text: str | None = None
    children: list[Node] = field(default_factory=list)
    line: int = 0

    def find(self, *path: str) -> Node | None:
        """The first child following ``path`` of tags (direct children at each step)."""
        node: Node | None = self
        for tag in path:
            if node is None:
                return None
            node = next((c for c in node.children if c.tag == tag), None)
        return node

    def findall(self, tag: str) -> list[Node]:
        return [c for c in self.children if c.tag == tag]

    def descendants(self, tag: str) -> Iterator[Node]:
        """Every descendant called ``tag``, in document order (not inside a match)."""
        for child in self.children:
            if child.tag == tag:
                yield child
            else:
                yield from child.descendants(tag)

    def first(self, tag: str) -> Node | None:
        """The first descendant called ``tag`` (tolerates misnested SGML)."""
        return next(self.descendants(tag), None)

    def value(self, tag: str) -> str | None:
        """Stripped text of the first descendant leaf ``tag``; '' when present but empty."""
        node = self.find(tag) or self.first(tag)
        if node is None:
            return None
        return (node.text or "").strip()


# ---------------------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"<!\[CDATA\[(?P<cdata>.*?)\]\]>"
    r"|<!--.*?-->"
    r"|<[?!][^>]*>"
    r"|<(?P<close>/)?(?P<tag>[A-Za-z][A-Za-z0-9_.:\-]*)(?:\s[^<>]*?)?\s*(?P<selfclose>/)?>",
    re.DOTALL,
)
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": "\u00a0"}


def _unescape(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("#"):
            try:
                code = int(name[2:], 16) if name[1:2] in ("x", "X") else int(name[1:])
                return chr(code)
            except (ValueError, OverflowError):
                return m.group(0)
        return _ENTITIES.get(name.lower(), m.group(0))

    return re.sub(r"&(#?[A-Za-z0-9]+);", sub, text) if "&" in text else text


def parse_sgml(text: str, start_line: int = 1) -> Node:
    """The tolerant tree builder for OFX 1.x (also used for malformed 2.x)."""
    root = Node("#root")
    stack: list[Node] = [root]
    buffers: list[list[str]] = [[]]
    line = start_line
    pos = 0

    def close_top() -> None:
        node = stack.pop()
        buf = buffers.pop()
        if not node.children:
            node.text = "".join(buf).strip()

    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            chunk = text[pos:m.start()]
            buffers[-1].append(_unescape(chunk))
        line += text.count("\n", pos, m.start())
        pos = m.end()
        if m.group("cdata") is not None:
            buffers[-1].append(m.group("cdata"))
            line += m.group(0).count("\n")
            continue
        tag = m.group("tag")
        if tag is None:
            line += m.group(0).count("\n")
            continue
        tag = tag.upper()
        if m.group("close"):
            for depth in range(len(stack) - 1, 0, -1):
                if stack[depth].tag == tag:
                    while len(stack) > depth:
                        close_top()
                    break
            # A closing tag for an element already closed implicitly is normal SGML.
            continue
        top = stack[-1]
        if top is not root and not top.children:
            if "".join(buffers[-1]).strip() or top.tag in _KNOWN_LEAVES or "." in top.tag:
                close_top()  # a leaf: text (or nothing) up to the next tag
        node = Node(tag, line=line)
        stack[-1].children.append(node)
        if m.group("selfclose"):
            node.text = ""
            continue
        stack.append(node)
        buffers.append([])
    if pos < len(text):
        buffers[-1].append(_unescape(text[pos:]))
    while len(stack) > 1:
        close_top()
    return root


def _xml_well_formed(body: str, path: Path) -> bool:
    """Check the XML with defusedxml: False when not well formed; ParseError when it
    declares a DTD or entities (refused outright, never expanded)."""
    import xml.etree.ElementTree as ET

    import defusedxml
    from defusedxml.ElementTree import fromstring

    try:
        fromstring(body.encode("utf-8"), forbid_dtd=True)
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden,
            defusedxml.ExternalReferenceForbidden) as exc:
        raise ParseError(f"refused: the XML declares a DTD or entities ({exc})",
                         file=path) from None
    except ET.ParseError:
        return False
    return True


_HEADER_LINE = re.compile(r"^\s*([A-Z][A-Z0-9]*)\s*:\s*(.*?)\s*$")


def _decode(raw: bytes, path: Path) -> tuple[str, dict[str, str]]:
    """Decode by BOM, XML declaration or SGML header; return text and SGML header.

    What producers declare is often wrong, so the declaration is a hint: bytes that are
    valid UTF-8 with non-ASCII characters are UTF-8 whatever the header says (a UTF-8
    file labelled ``CHARSET:1252`` is common), ISO-8859-1 is read as its superset
    Windows-1252 (the euro sign at 0x80), and text the declared codec cannot decode
    falls back to UTF-8, then Windows-1252.
    """
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return raw.decode(enc, errors="replace"), {}
    head = raw[:4096].decode("latin-1")
    header: dict[str, str] = {}
    declared: str | None = None
    m = re.search(r"<\?xml[^>]*encoding=[\"']([A-Za-z0-9_\-]+)[\"']", head)
    if m:
        declared = m.group(1)
    pi = re.search(r"<\?OFX\s([^>]*)\?>", head, re.IGNORECASE)
    if pi:  # OFX 2.x: the header is attributes of the <?OFX ?> instruction
        header = {k.upper(): v for k, v in re.findall(r"([A-Za-z]+)\s*=\s*[\"']([^\"']*)[\"']",
                                                     pi.group(1))}
    elif not m:
        for line in head.splitlines():
            if not line.strip():
                continue
            if line.lstrip().startswith("<"):
                break
            pairs = re.findall(r"([A-Z][A-Z0-9]*):(\S*)", line)
            if len(pairs) > 1:  # the whole header written on one line
                header.update((k, v) for k, v in pairs)
                continue
            hm = _HEADER_LINE.match(line)
            if hm:
                header[hm.group(1).upper()] = hm.group(2)
        charset = header.get("CHARSET", "").upper().replace("_", "-")
        if header.get("ENCODING", "").upper().replace("-", "") in ("UTF8", "UNICODE"):
            declared = "utf-8"
        elif charset in ("1252", "WINDOWS-1252", "CP1252"):
            declared = "cp1252"
        elif charset.isdigit():
            declared = f"cp{charset}"
        elif charset and charset != "NONE":
            declared = charset
    encoding = "utf-8"
    if declared:
        try:
            encoding = codecs.lookup(declared).name
        except LookupError:
            pass
    if encoding in ("latin-1", "iso8859-1"):
        encoding = "cp1252"
    if encoding != "utf-8" and not raw.isascii():
        try:
            return raw.decode("utf-8"), header
        except UnicodeDecodeError:
            pass
    for candidate in (encoding, "utf-8", "cp1252"):
        try:
            return raw.decode(candidate), header
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("cp1252", errors="replace"), header


def load_tree(path: str | Path) -> tuple[Node, dict[str, str], str]:
    """Read an OFX file into a tree. Returns (root, SGML header, "xml"|"sgml").

    Raises ParseError for an unreadable, oversized, binary or OFX-less file, or an XML
    file that declares a DTD or entities.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_OFX_BYTES:
            raise ParseError(f"file too large for an OFX statement ({size} bytes)", file=p)
        raw = p.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=p) from None
    if b"\x00" in raw[:4096] and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ParseError("binary data, not an OFX file", file=p)
    text, header = _decode(raw, p)
    if "\r" in text:  # CRLF, and old Mac CR-only files: line numbers count "\n"
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    match = re.search(r"<OFX[\s>]", text, re.IGNORECASE)
    if not match:
        raise ParseError("no <OFX> element: not an OFX/QFX statement (or truncated)", file=p)
    start_line = text.count("\n", 0, match.start()) + 1
    body = text[match.start():]
    kind = "sgml"
    prolog = text[: match.start()]
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):
        raise ParseError("refused: the file declares a DTD or XML entities", file=p)
    if re.search(r"<\?xml", prolog, re.IGNORECASE) and _xml_well_formed(body, p):
        # Well-formed XML: every element is closed, so the tolerant builder below reads
        # it exactly (and keeps line numbers, which ElementTree does not).
        kind = "xml"
    root = parse_sgml(body, start_line)
    return root, header, kind


# ---------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------

_OFX_DATE = re.compile(
    r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(?:(\d{2})(?:\.(\d{1,6})\d*)?)?)?"
    r"\s*(?:\[\s*([+\-]\d{4}|[+\-]?\d{1,2}(?:[.:]\d{1,2})?)\s*"
    r"(?::\s*([A-Za-z0-9+\-_/ ]*))?\s*\])?$")


def parse_ofx_datetime(text: str | None) -> datetime:
    """``YYYYMMDD[HHMMSS[.XXX]][[offset[:TZ]]]`` → datetime; aware when an offset is
    given (``[-5:EST]``, ``[+5.30:IST]``), naive otherwise. Raises ValueError."""
    if text is None or not text.strip():
        raise ValueError("empty date")
    s = text.strip()
    m = _OFX_DATE.match(s)
    if not m:
        raise ValueError(f"not an OFX date: {s!r}")
    year, month, day, hh, mi, ss, frac, offset, _name = m.groups()
    try:
        dt = datetime(int(year), int(month), int(day), int(hh or 0), int(mi or 0),
                      int(ss or 0), int((frac or "0").ljust(6, "0")[:6]))
    except ValueError:
        raise ValueError(f"not a valid date: {s!r}") from None
    if offset is not None:
        sign = -1 if offset.startswith("-") else 1
        body = offset.lstrip("+-")
        if "." in body:
            # "+5.30" and "+5.45" are written for half/three-quarter-hour zones; other
            # fractions are decimal hours ("-3.5").
            h, frac_h = body.split(".", 1)
            minutes = int(frac_h) if frac_h in ("30", "45", "15") else round(
                float("0." + frac_h) * 60)
        elif ":" in body:
            h, mm = body.split(":", 1)
            minutes = int(mm)
        elif len(body) == 4:  # "[-0500]"
            h, minutes = body[:2], int(body[2:])
        else:
            h, minutes = body, 0
        delta = timedelta(hours=int(h), minutes=minutes)
        if delta >= timedelta(hours=15):
            raise ValueError(f"bad time-zone offset in {s!r}")
        dt = dt.replace(tzinfo=timezone(sign * delta))
    return dt


def ofx_clock(text: str | None) -> time | None:
    """The time of day an OFX date writes (its wall time, whatever the zone), None when
    it gives the date only (``20240105``)."""
    m = _OFX_DATE.match((text or "").strip())
    if m is None or m.group(4) is None:
        return None
    hh, mi, ss, frac = m.group(4, 5, 6, 7)
    try:
        return time(int(hh), int(mi or 0), int(ss or 0), int((frac or "0").ljust(6, "0")[:6]))
    except ValueError:
        return None


def _placeholder_clock(texts: Iterable[str | None]) -> time | None:
    """The time of day a file writes on every transaction in place of a time it does not
    have, if it does: banks that keep the posting date only write ``000000`` (or noon,
    ``120000``, or the time of the download) on every DTPOSTED. Midnight on every dated
    transaction is a placeholder; so is any one time on every transaction of two or more
    days, which real times never are (a purchase and its fee may share a second, but
    not across days). None when the file writes real times (or none at all)."""
    seen: set[time] = set()
    days: set[str] = set()
    for text in texts:
        clock = ofx_clock(text)
        if clock is None:
            continue
        seen.add(clock)
        if len(seen) > 1:
            return None
        days.add((text or "").strip()[:8])
    if len(seen) != 1:
        return None
    clock = seen.pop()
    return clock if clock == time(0) or len(days) >= 2 else None


def _day_only(text: str | None, placeholder: time | None) -> bool:
    clock = ofx_clock(text)
    return clock is None or clock == placeholder


def parse_ofx_amount(text: str | None) -> Decimal:
    """An OFX amount → Decimal. Raises ValueError.

    The spec wants ``-6.60``; producers also write a leading ``+``, a decimal comma
    (``12,34``: several European banks) and, now and then, thousands separators
    (``1,234.56`` or ``-1.234,56``). A comma with no dot is read as the decimal mark,
    since OFX never groups thousands without a decimal point.
    """
    if text is None or not text.strip():
        raise ValueError("empty amount")
    s = re.sub(r"[\s\u00a0\u202f]", "", text)
    if re.fullmatch(r"[+\-]?\d{1,3}(?:,\d{3})+\.\d*", s):
        s = s.replace(",", "")
    elif re.fullmatch(r"[+\-]?\d{1,3}(?:\.\d{3})+,\d*", s):
        s = s.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"[+\-]?\d*,\d+", s):
        s = s.replace(",", ".")
    if not re.fullmatch(r"[+\-]?(\d+\.?\d*|\.\d+)", s):
        raise ValueError(f"not an amount: {text.strip()!r}")
    try:
        return Decimal(s)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text.strip()!r}") from None


# ---------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------


# What the OFX specification's status codes mean (servers often send the code alone).
_STATUS_MEANINGS = {
    1: "client is up to date", 2000: "general error", 2001: "invalid account",
    2002: "general account error", 2003: "account not found", 2004: "account closed",
    2005: "account not authorized", 2019: "duplicate request", 2020: "invalid date",
    2021: "unsupported version", 2027: "invalid date range",
    2028: "requested element unknown", 3000: "further authentication (MFA) required",
    12250: "investment transaction download not supported",
    12251: "investment position download not supported",
    12252: "investment positions for the date not available",
    12253: "investment open order download not supported",
    12254: "investment balances download not supported",
    12255: "401(k) not available for this account", 12500: "securities not found",
    15000: "user must change the password", 15500: "sign-on invalid (wrong user ID or password)",
    15501: "customer account already in use", 15502: "password locked out",
    15506: "empty sign-on not supported", 15508: "transaction not authorized",
    15510: "client UID error", 15511: "MFA error", 15512: "AUTHTOKEN required",
    15513: "AUTHTOKEN invalid",
}


@dataclass
class OfxStatus:
    code: int | None
    severity: str
    message: str

    @property
    def ok(self) -> bool:
        """Nothing went wrong, or only a warning: a WARN status (e.g. 12251, position
        download not supported) says the server did what it could, and what it sent is
        read (with a notice). ERROR, or an error code with no severity, is a failure."""
        severity = self.severity.upper()
        if severity == "ERROR":
            return False
        return self.code in (0, 1, None) or severity in ("INFO", "WARN")

    @property
    def warning(self) -> bool:
        return self.ok and self.severity.upper() == "WARN"


@dataclass
class OfxTransaction:
    index: int
    line: int
    fields: dict[str, str]
    payee: dict[str, str]
    posted: datetime | None = None
    amount: Decimal | None = None
    error: tuple[str, str] | None = None  # (field, message)
    cash: bool = True  # False: an investment move without money (amount None)
    total: Decimal | None = None  # a REINVEST's TOTAL (no cash moved: amount None)
    activity: bool = False  # an investment activity (BUYSTOCK...), not a cash line
    date_text: str | None = None  # the date used, as written: does it give a time?
    booked: datetime | None = None  # DTPOSTED when the event is dated by DTUSER
    booked_text: str | None = None
    superseded: str | None = None  # why it is left out (a correction replaced it)


@dataclass
class OfxPosition:
    """One holding of an investment statement's INVPOSLIST (POSSTOCK, POSMF...)."""

    index: int
    line: int
    fields: dict[str, str]
    held_at: datetime | None = None  # the statement's DTASOF, else DTPRICEASOF
    priced: datetime | None = None   # DTPRICEASOF
    error: tuple[str, str] | None = None  # (field, message)


@dataclass
class OfxStatement:
    index: int
    line: int
    kind: str                 # "bank", "card" or "investment"
    status: OfxStatus | None
    account_id: str | None = None
    bank_id: str | None = None
    branch_id: str | None = None
    account_type: str | None = None
    currency: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    ledger_balance: Decimal | None = None
    ledger_as_of: datetime | None = None
    available_balance: Decimal | None = None
    available_as_of: datetime | None = None
    transactions: list[OfxTransaction] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)   # balance problems
    warnings: list[str] = field(default_factory=list)
    org: str | None = None    # the institution of the sign-on this statement follows
    fid: str | None = None
    position: int = 0         # document order (several statements can share a line)
    as_of: datetime | None = None  # the statement's DTASOF (investment statements)
    holdings: list[OfxPosition] = field(default_factory=list)
    balances: list[dict[str, Any]] = field(default_factory=list)  # BALLIST entries
    cash_balances: dict[str, Decimal] = field(default_factory=dict)  # INVBAL margin...


@dataclass
class OfxTransfer:
    """An intra-bank transfer response (INTRARS): money moved between two accounts."""

    index: int
    line: int
    status: OfxStatus | None
    currency: str | None
    server_id: str | None
    from_account: tuple[str, str | None] | None   # (ACCTID, BANKID)
    to_account: tuple[str, str | None] | None
    amount: Decimal | None = None
    posted: datetime | None = None
    error: tuple[str, str] | None = None
    date_text: str | None = None


@dataclass
class OfxAccountInfo:
    index: int
    line: int
    kind: str                 # "bank", "card" or "investment"
    account_id: str
    description: str | None
    bank_id: str | None
    account_type: str | None
    status: str | None


@dataclass
class OfxDocument:
    """Everything read from one OFX file, before turning it into records."""

    header: dict[str, str]
    syntax: str                          # "sgml" or "xml"
    signon: OfxStatus | None
    org: str | None
    fid: str | None
    statements: list[OfxStatement]
    accounts: list[OfxAccountInfo]
    warnings: list[str]
    transfers: list[OfxTransfer] = field(default_factory=list)
    message_sets: list[str] = field(default_factory=list)  # response aggregates, in order


def _status(node: Node | None) -> OfxStatus | None:
    if node is None:
        return None
    code_text = node.value("CODE") or ""
    try:
        code: int | None = int(code_text)
    except ValueError:
        code = None
    return OfxStatus(code, (node.value("SEVERITY") or "").upper(), node.value("MESSAGE") or "")


def _read_balance(stmt: OfxStatement, node: Node | None, name: str) -> tuple[Decimal | None,
                                                                           datetime | None]:
    if node is None:
        return None, None
    amount: Decimal | None = None
    as_of: datetime | None = None
    try:
        amount = parse_ofx_amount(node.value("BALAMT"))
    except ValueError as exc:
        stmt.errors.append((f"{name}.BALAMT", str(exc)))
    asof_text = node.value("DTASOF")
    if asof_text:
        try:
            as_of = parse_ofx_datetime(asof_text)
        except ValueError as exc:
            stmt.warnings.append(f"{name} date ignored: {exc}")
    return amount, as_of


def _read_statement(index: int, node: Node, kind: str, status: OfxStatus | None,
                    securities: dict[str, tuple[str, str]] | None = None) -> OfxStatement:
    stmt = OfxStatement(index=index, line=node.line, kind=kind, status=status)
    acct = node.find("CCACCTFROM") or node.find("BANKACCTFROM") or node.find(
        "INVACCTFROM") or node.first("CCACCTFROM") or node.first("BANKACCTFROM") or node.first(
        "INVACCTFROM")
    if acct is not None:
        stmt.account_id = acct.value("ACCTID")
        stmt.bank_id = acct.value("BANKID") or acct.value("BROKERID")
        stmt.branch_id = acct.value("BRANCHID")
        stmt.account_type = acct.value("ACCTTYPE")
        if acct.tag == "CCACCTFROM":
            stmt.kind = "card"
    curdef = node.find("CURDEF")
    if curdef is not None and (curdef.text or "").strip():
        stmt.currency = (curdef.text or "").strip().upper()
    else:
        stmt.warnings.append(
            f"Currency definition was empty for <{node.tag.lower()}><curdef></curdef>; "
            "the statement's currency is unknown")
    tranlist = node.find("BANKTRANLIST") or node.first("BANKTRANLIST")
    if tranlist is not None:
        for label, attr in (("DTSTART", "start"), ("DTEND", "end")):
            text = tranlist.value(label)
            if text:
                try:
                    setattr(stmt, attr, parse_ofx_datetime(text))
                except ValueError as exc:
                    stmt.warnings.append(f"statement {label} ignored: {exc}")
        for trn in tranlist.descendants("STMTTRN"):
            stmt.transactions.append(_read_transaction(trn))
    invlist = node.find("INVTRANLIST") or node.first("INVTRANLIST")
    if invlist is not None:
        for label, attr in (("DTSTART", "start"), ("DTEND", "end")):
            text = invlist.value(label)
            if text:
                try:
                    setattr(stmt, attr, parse_ofx_datetime(text))
                except ValueError as exc:
                    stmt.warnings.append(f"statement {label} ignored: {exc}")
        for activity in invlist.children:
            if activity.tag in ("DTSTART", "DTEND"):
                continue
            if activity.tag == "INVBANKTRAN":  # cash moved in or out of the account
                fund = activity.value("SUBACCTFUND")
                for trn_node in activity.descendants("STMTTRN"):
                    cash = _read_transaction(trn_node)
                    if fund:
                        cash.fields.setdefault("SUBACCTFUND", fund)
                    stmt.transactions.append(cash)
            elif activity.children:
                stmt.transactions.append(_read_investment_activity(activity, securities))
    stmt.ledger_balance, stmt.ledger_as_of = _read_balance(stmt, node.find("LEDGERBAL"),
                                                           "LEDGERBAL")
    stmt.available_balance, stmt.available_as_of = _read_balance(stmt, node.find("AVAILBAL"),
                                                                 "AVAILBAL")
    asof_text = node.find("DTASOF")
    if asof_text is not None and (asof_text.text or "").strip():
        try:
            stmt.as_of = parse_ofx_datetime(asof_text.text)
        except ValueError as exc:
            stmt.warnings.append(f"statement DTASOF ignored: {exc}")
    poslist = node.find("INVPOSLIST") or node.first("INVPOSLIST")
    if poslist is not None:
        for holding in poslist.children:
            if holding.children:
                stmt.holdings.append(_read_position(holding, securities, stmt.as_of))
    _read_ballist(stmt, node)
    invbal = node.find("INVBAL")  # an investment statement's cash balance
    if (invbal is not None and invbal.value("AVAILCASH") is not None
            and node.find("AVAILBAL") is None):
        try:
            stmt.available_balance = parse_ofx_amount(invbal.value("AVAILCASH"))
        except ValueError as exc:
            stmt.errors.append(("INVBAL.AVAILCASH", str(exc)))
        asof = node.value("DTASOF")
        if asof:
            try:
                stmt.available_as_of = parse_ofx_datetime(asof)
            except ValueError as exc:
                stmt.warnings.append(f"DTASOF ignored: {exc}")
    return stmt


def _flat_fields(node: Node, securities: dict[str, tuple[str, str]] | None, *,
                 currency_tag: Callable[[str], str]) -> dict[str, str]:
    """An investment aggregate's leaf elements by tag, the first of each tag winning
    (INVTRAN, SECID and the like flattened); a CURRENCY/ORIGCURRENCY aggregate as
    ``<currency_tag(tag)>.CURSYM``/``.CURRATE``; the security's name and ticker from the
    statement's security list."""
    fields_: dict[str, str] = {}

    def collect(n: Node) -> None:
        for child in n.children:
            if child.children:
                if child.tag in ("CURRENCY", "ORIGCURRENCY"):
                    key = currency_tag(child.tag)
                    fields_[f"{key}.CURSYM"] = child.value("CURSYM") or ""
                    fields_[f"{key}.CURRATE"] = child.value("CURRATE") or ""
                else:
                    collect(child)
            else:
                fields_.setdefault(child.tag, (child.text or "").strip())

    collect(node)
    security = fields_.get("UNIQUEID", "")
    if security and securities and security in securities:
        fields_["SECNAME"], fields_["TICKER"] = securities[security]
    return fields_


def _read_position(node: Node, securities: dict[str, tuple[str, str]] | None,
                   as_of: datetime | None) -> OfxPosition:
    """A POSSTOCK, POSMF, POSDEBT, POSOPT or POSOTHER aggregate: what the account held
    when the statement was made (its DTASOF), priced at DTPRICEASOF. The holding is
    dated by the statement, not the price: some brokers write a placeholder price date
    (Firstrade: 19900101) that would put today's holding in 1990."""
    # A position has one currency, whichever aggregate gives it.
    fields_ = _flat_fields(node, securities, currency_tag=lambda tag: "CURRENCY")
    fields_["TYPE"] = node.tag
    pos = OfxPosition(index=0, line=node.line, fields=fields_, held_at=as_of)
    if fields_.get("DTPRICEASOF"):
        try:
            pos.priced = parse_ofx_datetime(fields_["DTPRICEASOF"])
        except ValueError as exc:
            pos.error = ("DTPRICEASOF", str(exc))
            return pos
    if pos.held_at is None:
        pos.held_at = pos.priced
    for tag in ("UNITS", "UNITPRICE", "MKTVAL", "AVGCOSTBASIS"):
        if fields_.get(tag):
            try:
                parse_ofx_amount(fields_[tag])
            except ValueError as exc:
                pos.error = (tag, str(exc))
                break
    return pos


def _read_ballist(stmt: OfxStatement, node: Node) -> None:
    """The institution's extra balances: BAL entries of a BALLIST (under INVBAL for an
    investment statement, directly in a bank or card statement) and INVBAL's margin and
    short balances and buying power. A value that is no number is kept as written."""
    invbal = node.find("INVBAL")
    holders = [n for n in (node, invbal) if n is not None]
    for holder in holders:
        ballist = holder.find("BALLIST")
        if ballist is None:
            continue
        for bal in ballist.findall("BAL"):
            entry: dict[str, Any] = {}
            for key, tag in (("name", "NAME"), ("description", "DESC"), ("type", "BALTYPE")):
                if bal.value(tag):
                    entry[key] = bal.value(tag)
            text = bal.value("VALUE")
            if text:
                try:
                    entry["value"] = parse_ofx_amount(text)
                except ValueError:
                    entry["value_text"] = text
                    stmt.warnings.append(
                        f"balance {entry.get('name', '?')!r}: value {text!r} is no number")
            if bal.value("DTASOF"):
                try:
                    entry["as_of"] = parse_ofx_datetime(bal.value("DTASOF")).isoformat()
                except ValueError as exc:
                    stmt.warnings.append(f"balance {entry.get('name', '?')!r} date ignored: "
                                         f"{exc}")
            cursym = bal.value("CURSYM")
            if cursym:
                entry["currency"] = cursym.upper()
            if entry:
                stmt.balances.append(entry)
    if invbal is not None:
        for key, tag in (("margin_balance", "MARGINBALANCE"), ("short_balance", "SHORTBALANCE"),
                         ("buying_power", "BUYPOWER")):
            leaf = invbal.find(tag)
            if leaf is not None and (leaf.text or "").strip():
                try:
                    stmt.cash_balances[key] = parse_ofx_amount(leaf.text)
                except ValueError as exc:
                    stmt.warnings.append(f"INVBAL.{tag} ignored: {exc}")


def _read_transaction(node: Node) -> OfxTransaction:
    fields_: dict[str, str] = {}
    payee: dict[str, str] = {}
    for child in node.children:
        if child.tag == "PAYEE":
            for leaf in child.children:
                payee[leaf.tag] = (leaf.text or "").strip()
        elif child.tag in ("CURRENCY", "ORIGCURRENCY"):
            fields_[f"{child.tag}.CURSYM"] = child.value("CURSYM") or ""
            fields_[f"{child.tag}.CURRATE"] = child.value("CURRATE") or ""
        elif child.tag in ("BANKACCTTO", "CCACCTTO"):  # the other end of a transfer
            fields_["ACCTTO"] = child.value("ACCTID") or ""
            fields_["BANKIDTO"] = child.value("BANKID") or ""
        elif not child.children:
            fields_.setdefault(child.tag, (child.text or "").strip())
    trn = OfxTransaction(index=0, line=node.line, fields=fields_, payee=payee)
    problems: list[tuple[str, str]] = []
    trn.date_text = fields_.get("DTPOSTED")
    try:
        trn.posted = parse_ofx_datetime(trn.date_text)
    except ValueError as exc:
        problems.append(("DTPOSTED", "missing date" if "DTPOSTED" not in fields_ else str(exc)))
    if trn.posted is not None and fields_.get("DTUSER"):
        # DTUSER is when the user made the transaction (the purchase at the till, the
        # cheque written), DTPOSTED when the bank booked it, often days later: the
        # event is the purchase. A DTUSER after the posting is no purchase moment.
        try:
            user = parse_ofx_datetime(fields_["DTUSER"])
        except ValueError:
            user = None
        if user is not None and _not_after(user, trn.posted):
            trn.booked, trn.booked_text = trn.posted, trn.date_text
            trn.posted, trn.date_text = user, fields_["DTUSER"]
    try:
        trn.amount = parse_ofx_amount(fields_.get("TRNAMT"))
    except ValueError as exc:
        problems.append(("TRNAMT", "missing amount" if "TRNAMT" not in fields_ else str(exc)))
    if len(problems) == 1:
        trn.error = problems[0]
    elif problems:
        trn.error = (problems[0][0], "; ".join(f"{f}: {m}" for f, m in problems))
    return trn


def _not_after(first: datetime, second: datetime) -> bool:
    """Whether ``first`` is on or before ``second`` (by the day when either is naive)."""
    if (first.tzinfo is None) != (second.tzinfo is None):
        return first.date() <= second.date()
    return first <= second or first.date() <= second.date()


def _read_investment_activity(node: Node, securities: dict[str, tuple[str, str]] | None
                              ) -> OfxTransaction:
    """A BUYSTOCK, SELLMF, INCOME, REINVEST, TRANSFER... aggregate as one transaction:
    dated by its trade date, amount its TOTAL (None for moves without cash, e.g. a
    transfer of shares or a split)."""
    fields_ = _flat_fields(node, securities, currency_tag=lambda tag: tag)
    fields_["TRNTYPE"] = node.tag
    trn = OfxTransaction(index=0, line=node.line, fields=fields_, payee={}, activity=True)
    problems: list[tuple[str, str]] = []
    date_tag = "DTTRADE" if "DTTRADE" in fields_ else "DTPOSTED"
    trn.date_text = fields_.get(date_tag)
    try:
        trn.posted = parse_ofx_datetime(trn.date_text)
    except ValueError as exc:
        problems.append(("DTTRADE", "missing date" if date_tag not in fields_ else str(exc)))
    if fields_.get("TOTAL") or fields_.get("TRNAMT"):
        try:
            trn.amount = parse_ofx_amount(fields_.get("TOTAL") or fields_.get("TRNAMT"))
        except ValueError as exc:
            problems.append(("TOTAL", str(exc)))
        if node.tag == "REINVEST":
            # Income reinvested at once: its TOTAL is the price of the shares it bought,
            # and no money entered or left the account.
            trn.total, trn.amount, trn.cash = trn.amount, None, False
    else:
        trn.cash = False
    if problems:
        trn.error = (problems[0][0], "; ".join(m for _f, m in problems))
    return trn


def _walk(node: Node) -> Iterator[Node]:
    """``node`` and every node under it, in document order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _securities(ofx: Node) -> dict[str, tuple[str, str]]:
    """UNIQUEID → (name, ticker) from the security list of an investment download."""
    out: dict[str, tuple[str, str]] = {}
    for seclist in ofx.descendants("SECLIST"):
        for info in seclist.descendants("SECINFO"):
            uid = info.value("UNIQUEID")
            if uid:
                out.setdefault(uid, (info.value("SECNAME") or "", info.value("TICKER") or ""))
    return out


def read_ofx(path: str | Path) -> OfxDocument:
    """Read an OFX file into an :class:`OfxDocument` without judging its errors.

    Raises ParseError only when the file cannot be read as OFX at all.
    """
    root, header, syntax = load_tree(path)
    roots = list(root.descendants("OFX"))
    if not roots:
        raise ParseError("no <OFX> element: not an OFX/QFX statement", file=path)
    # Downloads saved one after the other in one file (one <OFX> per account or per
    # institution) are read as one document: every statement is kept.
    ofx = roots[0] if len(roots) == 1 else Node(
        "OFX", children=[c for r in roots for c in r.children], line=roots[0].line)
    # Combined downloads (ofxclient and the like) repeat the sign-on before each
    # institution's statements: a statement belongs to the sign-on before it.
    order = {id(n): i for i, n in enumerate(_walk(ofx))}
    signons: list[tuple[int, OfxStatus | None, str | None, str | None]] = []
    for sonrs in ofx.descendants("SONRS"):
        fi = sonrs.find("FI")
        signons.append((order[id(sonrs)], _status(sonrs.find("STATUS")),
                        fi.value("ORG") if fi is not None else None,
                        fi.value("FID") if fi is not None else None))
    failed = [s for s in signons if s[1] is not None and not s[1].ok]
    signon = (failed or signons or [(0, None, None, None)])[0][1]
    org, fid = (signons[0][2], signons[0][3]) if signons else (None, None)

    def placed(stmt: OfxStatement, node: Node) -> OfxStatement:
        stmt.position = order.get(id(node), 0)
        before = [s for s in signons if s[0] < stmt.position]
        stmt.org, stmt.fid = (before[-1][2], before[-1][3]) if before else (org, fid)
        return stmt

    statements: list[OfxStatement] = []
    warnings: list[str] = []
    counter = 0
    transaction_counter = 0
    securities = _securities(ofx)
    for wrapper_tag, stmt_tag, kind in (("STMTTRNRS", "STMTRS", "bank"),
                                        ("CCSTMTTRNRS", "CCSTMTRS", "card"),
                                        ("INVSTMTTRNRS", "INVSTMTRS", "investment")):
        seen: set[int] = set()
        for wrapper in ofx.descendants(wrapper_tag):
            status = _status(wrapper.find("STATUS"))
            stmt_nodes = list(wrapper.descendants(stmt_tag))
            for node in stmt_nodes:
                seen.add(id(node))
            if not stmt_nodes:
                counter += 1
                statements.append(placed(OfxStatement(index=counter, line=wrapper.line,
                                                       kind=kind, status=status), wrapper))
            for node in stmt_nodes:
                counter += 1
                statements.append(placed(_read_statement(counter, node, kind, status,
                                                          securities), node))
        for node in ofx.descendants(stmt_tag):  # a statement without its wrapper
            if id(node) not in seen:
                counter += 1
                statements.append(placed(_read_statement(counter, node, kind, None,
                                                          securities), node))
    statements.sort(key=lambda s: s.position)
    position_counter = 0
    for i, stmt in enumerate(statements, start=1):
        stmt.index = i
        for trn in stmt.transactions:
            transaction_counter += 1
            trn.index = transaction_counter
        for pos in stmt.holdings:
            position_counter += 1
            pos.index = position_counter
        warnings.extend(f"statement {i}: {w}" for w in stmt.warnings)
    accounts: list[OfxAccountInfo] = []
    for n, info in enumerate(ofx.descendants("ACCTINFO"), start=1):
        desc = info.value("DESC")
        for agg, kind in (("CCACCTFROM", "card"), ("BANKACCTFROM", "bank"),
                          ("INVACCTFROM", "investment")):
            acct = info.first(agg)
            if acct is None:
                continue
            acct_id = acct.value("ACCTID")
            if not acct_id:
                warnings.append(f"account listing entry {n} has no account number")
                continue
            holder = info.first(agg.replace("FROM", "INFO"))
            accounts.append(OfxAccountInfo(
                index=n, line=info.line, kind=kind, account_id=acct_id, description=desc,
                bank_id=acct.value("BANKID") or acct.value("BROKERID"),
                account_type=acct.value("ACCTTYPE"),
                status=holder.value("SVCSTATUS") if holder is not None else None))
            break
    transfers: list[OfxTransfer] = []
    for wrapper in ofx.descendants("INTRATRNRS"):
        status = _status(wrapper.find("STATUS"))
        for node in wrapper.descendants("INTRARS"):
            transfers.append(_read_transfer(len(transfers) + 1, node, status))
    return OfxDocument(header=header, syntax=syntax, signon=signon, org=org, fid=fid,
                       statements=statements, accounts=accounts, warnings=warnings,
                       transfers=transfers,
                       message_sets=[c.tag for c in ofx.children if c.children])


def _read_transfer(index: int, node: Node, status: OfxStatus | None) -> OfxTransfer:
    def acct(tag: str) -> tuple[str, str | None] | None:
        a = node.first(tag)
        if a is None or not a.value("ACCTID"):
            return None
        return a.value("ACCTID") or "", a.value("BANKID") or None

    xfer = OfxTransfer(index=index, line=node.line, status=status,
                       currency=(node.value("CURDEF") or "").upper() or None,
                       server_id=node.value("SRVRTID") or None,
                       from_account=acct("BANKACCTFROM"),
                       to_account=acct("BANKACCTTO") or acct("CCACCTTO"))
    problems: list[tuple[str, str]] = []
    date_text = xfer.date_text = node.value("DTPOSTED") or node.value("DTXFERPRJ")
    try:
        xfer.posted = parse_ofx_datetime(date_text)
    except ValueError as exc:
        problems.append(("DTPOSTED", str(exc)))
    try:
        xfer.amount = parse_ofx_amount(node.value("TRNAMT"))
    except ValueError as exc:
        problems.append(("TRNAMT", str(exc)))
    if problems:
        xfer.error = (problems[0][0], "; ".join(m for _f, m in problems))
    return xfer


# ---------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------


def card_account(account_id: str) -> tuple[str, str]:
    """What a credit-card statement's ACCTID says about the card.

    ``("number", digits)`` for a full card number; ``("last4", "1234")`` when the issuer
    masks it (``XXXXXXXXXXXX1234``, ``411111******1111``, ``****-****-****-1234``) or
    gives only its last four digits (several US issuers); ``("account", id)`` when it is
    the issuer's own reference for the card account (a UUID, an internal number), which
    identifies the account but is no card number.
    """
    text = account_id.strip()
    compact = re.sub(r"[\s\-]", "", text)
    if compact.isdigit() and 12 <= len(compact) <= 19:
        return "number", compact
    if compact.isdigit() and len(compact) == 4:
        return "last4", compact
    m = re.fullmatch(r"\d{0,8}[*xX\u2022#.]{3,}(\d{4,5})", compact)
    if m:
        return "last4", m.group(1)[-4:]
    return "account", text


def _account_party(kind: str, account_id: str, bank_id: str | None, *, role: str,
                   label: str | None = None, properties: dict[str, Any] | None = None,
                   issuer: str | None = None) -> Party:
    if kind == "card":
        form, value = card_account(account_id)
        props = dict(properties or {})
        if form == "number":
            return Party(kind="card", value=account_id, role="payment_card", label=label,
                         properties=props)
        if form == "last4":
            props.update(last4=value, account_id=account_id)
            shown = label or (None if account_id.strip().isdigit() else account_id)
            return Party(kind="card", value=f"last4:{value}", role="payment_card",
                         label=shown, properties=props)
        # Not a card number: the card account at its issuer.
        return Party(kind="account", value=account_id, role=role,
                     platform=f"card:{issuer}" if issuer else "card", label=label,
                     properties=props)
    prefix = "broker" if kind == "investment" else "bank"
    platform = f"{prefix}:{bank_id}" if bank_id else prefix
    return Party(kind="account", value=account_id, role=role, platform=platform, label=label,
                 properties=properties or {})


def _status_text(status: OfxStatus) -> str:
    meaning = _STATUS_MEANINGS.get(status.code) if status.code is not None else None
    code = f"code {status.code}" if status.code is not None else "no code"
    if meaning and meaning.lower() not in status.message.lower():
        code = f"{code}: {meaning}"
    return f"{status.message or 'no message'} ({code}, {status.severity or 'no severity'})"


# Responses that are not statements, named for the refusal message.
_RESPONSES = {
    "PROFMSGSRSV1": "the institution's profile (PROFRS)",
    "SIGNUPMSGSRSV1": "a sign-up response",
    "SECLISTMSGSRSV1": "a security list",
    "EMAILMSGSRSV1": "e-mail messages",
    "BILLPAYMSGSRSV1": "bill-payment responses",
    "TAX1099MSGSRSV1": "a 1099 tax form",
}


def ofx_records(doc: OfxDocument, path: Path, strict: bool = True) -> Iterator[Record]:
    """Turn a read document into records (see the module docstring)."""
    if doc.signon is not None and not doc.signon.ok:
        message = f"sign-on failed: {_status_text(doc.signon)}"
        if strict or not (doc.statements or doc.accounts):
            raise ParseError(message, file=path, ref="SONRS")
        yield RowError(ref="sign-on", field="STATUS", message=message)
    elif doc.signon is not None and doc.signon.warning:
        yield Notice(ref="sign-on", message=f"the server warned: {_status_text(doc.signon)}")
    if not doc.statements and not doc.accounts and not doc.transfers:
        others = [_RESPONSES.get(tag, tag) for tag in doc.message_sets
                  if tag != "SIGNONMSGSRSV1"]
        if others:
            extra = f" (it holds {', '.join(others)})"
        elif doc.signon is not None:
            extra = f" (a sign-on response only: {_status_text(doc.signon)})"
        else:
            extra = ""
        raise ParseError(f"no statement or account list in this OFX file{extra}", file=path)
    # Whether the file's transaction dates give times is decided for the whole file.
    placeholder = _placeholder_clock(
        [t.date_text for stmt in doc.statements for t in stmt.transactions if t.error is None]
        + [x.date_text for x in doc.transfers if x.error is None])
    for stmt in doc.statements:
        ref = f"statement {stmt.index}"
        if stmt.status is not None and not stmt.status.ok:
            message = f"the server reported an error: {_status_text(stmt.status)}"
            if strict:
                raise ParseError(message, file=path, ref=ref)
            yield RowError(ref=ref, field="STATUS", message=message)
            continue
        if stmt.status is not None and stmt.status.warning:
            yield Notice(ref=ref, message=f"the server warned: {_status_text(stmt.status)}; "
                         "what the statement holds is imported")
        if stmt.account_id is None and not stmt.transactions and not stmt.holdings:
            continue
        if not stmt.transactions and not stmt.holdings:
            period = " … ".join(d.date().isoformat() for d in (stmt.start, stmt.end)
                                if d is not None)
            yield Notice(ref=ref, message=(
                f"the statement of account {stmt.account_id} lists no transactions"
                + (f" for {period}" if period else "") + ": only the account and its "
                "balances are imported"))
        if stmt.errors:
            if strict:
                fld, msg = stmt.errors[0]
                raise ParseError(f"bad balance: {msg}", file=path, ref=ref, field=fld)
            for fld, msg in stmt.errors:
                stmt.warnings.append(f"{fld} ignored: {msg}")
        props: dict[str, Any] = {"currency": stmt.currency, "statement_kind": stmt.kind}
        bank_key = "broker_id" if stmt.kind == "investment" else "routing"
        for key, value in (("account_type", stmt.account_type), (bank_key, stmt.bank_id),
                           ("branch", stmt.branch_id), ("institution", stmt.org or doc.org),
                           ("institution_id", stmt.fid or doc.fid)):
            if value:
                props[key] = value
        for key, balance in (("ledger_balance", stmt.ledger_balance),
                             ("available_balance", stmt.available_balance)):
            if balance is not None:
                props[key] = balance
        props.update(stmt.cash_balances)
        if stmt.balances:
            props["balances"] = list(stmt.balances)
        if stmt.holdings:
            props["positions_count"] = len(stmt.holdings)
        if stmt.as_of is not None and stmt.kind == "investment":
            props["statement_as_of"] = stmt.as_of.isoformat()
        for key, dt in (("ledger_balance_as_of", stmt.ledger_as_of),
                        ("available_balance_as_of", stmt.available_as_of),
                        ("statement_start", stmt.start), ("statement_end", stmt.end)):
            if dt is not None:
                props[key] = dt.isoformat()
        if stmt.warnings:
            props["warnings"] = list(stmt.warnings)
        account: Party | None = None
        if stmt.account_id:
            account = _account_party(stmt.kind, stmt.account_id, stmt.bank_id, role="account",
                                     properties=props,
                                     issuer=stmt.bank_id or stmt.fid or stmt.org)
            yield ParsedEntity(party=account, ref=ref)
        for nref, message in _corrections_and_duplicates(stmt):
            yield Notice(ref=nref, message=message)
        for trn in stmt.transactions:
            tref = f"transaction {trn.index}, line {trn.line}"
            if trn.superseded is not None:
                continue
            if trn.error is not None:
                fld, msg = trn.error
                if strict:
                    raise ParseError(msg, file=path, ref=tref, field=fld)
                yield RowError(ref=tref, field=fld, message=msg)
                continue
            yield _transaction_event(stmt, trn, tref, account,
                                     day_only=_day_only(trn.date_text, placeholder))
        for pos in stmt.holdings:
            pref = f"position {pos.index}, line {pos.line}"
            if pos.error is not None:
                fld, msg = pos.error
                if strict:
                    raise ParseError(f"bad position: {msg}", file=path, ref=pref, field=fld)
                yield RowError(ref=pref, field=fld, message=f"bad position: {msg}")
                continue
            yield _position_event(stmt, pos, pref, account)
    for xfer in doc.transfers:
        xref = f"transfer {xfer.index}, line {xfer.line}"
        if xfer.status is not None and not xfer.status.ok:
            message = f"the server reported an error: {_status_text(xfer.status)}"
            if strict:
                raise ParseError(message, file=path, ref=xref)
            yield RowError(ref=xref, field="STATUS", message=message)
            continue
        if xfer.status is not None and xfer.status.warning:
            yield Notice(ref=xref, message=f"the server warned: {_status_text(xfer.status)}")
        if xfer.error is not None:
            if strict:
                raise ParseError(xfer.error[1], file=path, ref=xref, field=xfer.error[0])
            yield RowError(ref=xref, field=xfer.error[0], message=xfer.error[1])
            continue
        assert xfer.amount is not None
        xparties: list[Party] = []
        xprops: dict[str, Any] = {"amount": xfer.amount, "currency": xfer.currency,
                                  "type": "TRANSFER"}
        if _day_only(xfer.date_text, placeholder):
            xprops["time_precision"] = "day"
        if xfer.server_id:
            xprops["fitid"] = xfer.server_id
        for end, role in ((xfer.from_account, "from_account"), (xfer.to_account, "to_account")):
            if end is not None:
                xparties.append(_account_party("bank", end[0], end[1], role=role))
                xprops[role] = end[0]
        yield ParsedEvent(kind="transaction", occurred_at=xfer.posted, ref=xref,
                          title="Transfer", parties=tuple(xparties), properties=xprops)
    for info in doc.accounts:
        props = {"account_type": info.account_type, "description": info.description,
                 "status": info.status, "institution": doc.org, "listing": True}
        party = _account_party(info.kind, info.account_id, info.bank_id, role="account",
                               label=info.description,
                               properties={k: v for k, v in props.items() if v},
                               issuer=info.bank_id or doc.fid or doc.org)
        yield ParsedEntity(party=party, ref=f"account listing {info.index}, line {info.line}")


def _tref(trn: OfxTransaction) -> str:
    return f"transaction {trn.index}, line {trn.line}"


def _corrections_and_duplicates(stmt: OfxStatement) -> list[tuple[str, str]]:
    """Apply the statement's corrections and say what the reader should know.

    A transaction with CORRECTFITID and CORRECTACTION corrects an earlier one: REPLACE
    puts it in the place of the transaction whose FITID it names, DELETE removes that
    transaction (the DELETE entry itself moved no money). When the corrected
    transaction is in this statement it is left out, so nothing is counted twice;
    when it is not (it came in an earlier download), a REPLACE is kept, marked
    ``corrects_fitid``, and a DELETE is not imported; a notice says so either way.
    Some issuers write every transaction's own FITID as its CORRECTFITID: that
    corrects nothing. Two transactions of one statement with the same FITID are both
    kept (they may be two real purchases), with a notice; so is a BUY whose TOTAL is
    positive (money into the account for a purchase: a sign error of the producer).
    Returns (ref, message) pairs; sets ``superseded`` on the transactions left out."""
    notes: list[tuple[str, str]] = []
    by_fitid: dict[str, list[OfxTransaction]] = {}
    for trn in stmt.transactions:
        fitid = (trn.fields.get("FITID") or "").strip()
        if fitid:
            by_fitid.setdefault(fitid, []).append(trn)
    for trn in stmt.transactions:
        target = (trn.fields.get("CORRECTFITID") or "").strip()
        action = (trn.fields.get("CORRECTACTION") or "").strip().upper()
        if not target or action not in ("REPLACE", "DELETE") or trn.superseded:
            continue
        if target == (trn.fields.get("FITID") or "").strip():
            continue  # its own FITID: a producer's habit, no correction
        earlier = [t for t in by_fitid.get(target, []) if t is not trn and not t.superseded]
        for old in earlier:
            old.superseded = f"{action.lower()}d by {_tref(trn)}"
        gone = ", ".join(_tref(t) for t in earlier)
        if action == "DELETE":
            trn.superseded = "a deletion"
            if earlier:
                notes.append((_tref(trn), f"correction: deletes FITID {target} ({gone}); "
                               "neither is imported"))
            else:
                notes.append((_tref(trn), f"correction: deletes FITID {target}, which is not "
                               "in this file (an earlier download): not imported; remove that "
                               "transaction if it was imported before"))
        elif earlier:
            notes.append((_tref(trn), f"correction: replaces FITID {target} ({gone}), which "
                           "is not imported"))
        else:
            notes.append((_tref(trn), f"correction: replaces FITID {target}, which is not in "
                           "this file (an earlier download): if that was imported, it is "
                           "counted twice until removed"))
    for fitid, same in by_fitid.items():
        kept = [t for t in same if not t.superseded]
        if len(kept) > 1:
            notes.append((_tref(kept[0]), f"FITID {fitid} is given to {len(kept)} transactions "
                          f"({', '.join(_tref(t) for t in kept)}): all are kept"))
    for trn in stmt.transactions:
        if (trn.activity and not trn.superseded and trn.amount is not None and trn.amount > 0
                and trn.fields.get("TRNTYPE", "").upper().startswith("BUY")):
            notes.append((_tref(trn), f"{trn.fields['TRNTYPE'].upper()} with a positive TOTAL "
                          f"({trn.amount}): a purchase takes money out of the account, so the "
                          "sign is probably wrong; the amount is kept as written"))
    return notes


def _converted(amount: Decimal | None, rate: Decimal | None, divide: bool) -> Decimal | None:
    """``amount`` times (or divided by) ``rate``, to the amount's own decimal places."""
    if amount is None or rate is None or rate == 0:
        return None
    value = amount / rate if divide else amount * rate
    written = amount.as_tuple().exponent
    exponent = min(written, -2) if isinstance(written, int) else -2
    try:
        return value.quantize(Decimal(1).scaleb(exponent))
    except InvalidOperation:
        return value


def _transaction_event(stmt: OfxStatement, trn: OfxTransaction, ref: str,
                       account: Party | None, *, day_only: bool = False) -> ParsedEvent:
    f = trn.fields
    assert (trn.amount is not None or not trn.cash) and trn.posted is not None
    # With <CURRENCY> the amount is in that currency (CURRATE converts it to CURDEF);
    # with <ORIGCURRENCY> the amount is already in CURDEF and the original is noted.
    currency = (f.get("CURRENCY.CURSYM") or "").upper() or stmt.currency
    props: dict[str, Any] = {"amount": trn.amount, "currency": currency,
                             "statement": stmt.index}
    if day_only:
        props["time_precision"] = "day"
    for key, tag in (("fitid", "FITID"), ("type", "TRNTYPE"), ("memo", "MEMO"),
                     ("check_number", "CHECKNUM"), ("reference", "REFNUM"),
                     ("server_id", "SRVRTID"), ("payee_id", "PAYEEID"),
                     ("category", "CATEGORY"), ("extended_name", "EXTDNAME"),
                     ("to_account", "ACCTTO"), ("to_bank", "BANKIDTO"),
                     ("security_id", "UNIQUEID"), ("security_id_type", "UNIQUEIDTYPE"),
                     ("security", "SECNAME"), ("ticker", "TICKER"),
                     ("income_type", "INCOMETYPE"), ("subaccount", "SUBACCTFUND"),
                     ("buy_type", "BUYTYPE"), ("sell_type", "SELLTYPE")):
        value = f.get(tag)
        if value:
            props[key] = value.upper() if key == "type" else value
    if trn.activity:
        props["cash_movement"] = trn.cash
        if trn.total is not None or trn.amount is not None:
            props["total"] = trn.total if trn.total is not None else trn.amount
        if f["TRNTYPE"].upper() == "REINVEST":
            props["reinvested"] = True
    for key, tag in _INVEST_NUMBERS:
        if f.get(tag):
            try:
                props[key] = parse_ofx_amount(f[tag])
            except ValueError:
                props[key] = f[tag]
    for agg, prop in (("CURRENCY", None), ("ORIGCURRENCY", "original_currency")):
        if not f.get(f"{agg}.CURSYM"):
            continue
        if prop:
            props[prop] = f[f"{agg}.CURSYM"].upper()
        rate = f.get(f"{agg}.CURRATE")
        if rate:
            try:
                props["exchange_rate"] = parse_ofx_amount(rate)
            except ValueError:
                props["exchange_rate"] = rate
        # CURRATE is the ratio of the statement's currency (CURDEF) to CURSYM. With
        # CURRENCY the amount is in CURSYM (the currency it was made in): the account's
        # is amount x rate. With ORIGCURRENCY the amount is already the account's: the
        # amount as made is amount / rate. Either way both are kept.
        cursym = f[f"{agg}.CURSYM"].upper()
        value = props.get("exchange_rate")
        if not isinstance(value, Decimal) or not stmt.currency or cursym == stmt.currency:
            continue
        money = trn.amount if trn.amount is not None else trn.total
        if agg == "CURRENCY":
            converted = _converted(money, value, divide=False)
            if converted is not None:
                props["account_amount"], props["account_currency"] = converted, stmt.currency
        else:
            converted = _converted(money, value, divide=True)
            if converted is not None:
                props["original_amount"] = converted
    if trn.booked is not None:
        props["posted_at"] = trn.booked.isoformat()
        props["date_basis"] = "DTUSER"
    target = (f.get("CORRECTFITID") or "").strip()
    action = (f.get("CORRECTACTION") or "").strip().upper()
    if target and action in ("REPLACE", "DELETE") and target != (f.get("FITID") or "").strip():
        props["corrects_fitid"], props["correct_action"] = target, action
    for key, tag in (("user_date", "DTUSER"), ("available_date", "DTAVAIL")):
        if f.get(tag):
            try:
                props[key] = parse_ofx_datetime(f[tag]).isoformat()
            except ValueError:
                props[key] = f[tag]
    sic = f.get("SIC") or f.get("MCC")
    if sic:
        code = normalise_mcc(sic)
        props["mcc"] = code or sic
        desc = mcc_description(code) if code else None
        if desc:
            props["mcc_description"] = desc
    name = f.get("NAME") or trn.payee.get("NAME") or f.get("EXTDNAME") or ""
    parties: list[Party] = []
    if account is not None:
        parties.append(Party(kind=account.kind, value=account.value, role=account.role,
                             platform=account.platform))
    if name:
        if stmt.kind == "card":
            role = "merchant"
        else:
            role = "payee" if trn.amount is not None and trn.amount < 0 else "payer"
        address = {k.lower(): v for k, v in trn.payee.items() if k != "NAME" and v}
        parties.append(Party(kind="organisation", value=name, role=role, properties=address))
    title = name or f.get("SECNAME") or f.get("TICKER") or f.get("MEMO", "")
    if stmt.kind == "investment" and not name and trn.activity:
        what = f.get("SECNAME") or f.get("TICKER") or f.get("UNIQUEID") or ""
        title = f"{f['TRNTYPE'].upper()} {what}".strip()
    elif stmt.kind == "investment" and f.get("SECNAME") and not name:
        title = f"{f['TRNTYPE'].upper()} {f['SECNAME']}"
    return ParsedEvent(kind="transaction", occurred_at=trn.posted, ref=ref,
                       title=title, parties=tuple(parties), properties=props)


# Position leaves kept as properties: (property, tag, is a number).
_POSITION_FIELDS = (
    ("security_id", "UNIQUEID", False), ("security_id_type", "UNIQUEIDTYPE", False),
    ("security", "SECNAME", False), ("ticker", "TICKER", False),
    ("units", "UNITS", True), ("unit_price", "UNITPRICE", True),
    ("market_value", "MKTVAL", True), ("average_cost_basis", "AVGCOSTBASIS", True),
    ("held_in", "HELDINACCT", False), ("position_type", "POSTYPE", False),
    ("memo", "MEMO", False), ("units_street", "UNITSSTREET", True),
    ("units_user", "UNITSUSER", True), ("reinvest_dividends", "REINVDIV", False),
    ("reinvest_capital_gains", "REINVCG", False), ("option_shares", "SHPERCTRCT", True),
    ("inv401k_source", "INV401KSOURCE", False),
)


def _position_event(stmt: OfxStatement, pos: OfxPosition, ref: str,
                    account: Party | None) -> ParsedEvent:
    """A holding as a dated fact (kind "other", type "POSITION"): what the account held
    and its market value when the institution priced it. No transaction: no amount."""
    f = pos.fields
    currency = (f.get("CURRENCY.CURSYM") or "").upper() or stmt.currency
    props: dict[str, Any] = {"type": "POSITION", "position_kind": f["TYPE"],
                             "currency": currency, "statement": stmt.index}
    for key, tag, number in _POSITION_FIELDS:
        value = f.get(tag)
        if value:
            props[key] = value
            if number:
                try:  # the four that matter were checked when read (bad ones are errors)
                    props[key] = parse_ofx_amount(value)
                except ValueError:
                    pass
    if f.get("CURRENCY.CURRATE"):
        try:
            props["exchange_rate"] = parse_ofx_amount(f["CURRENCY.CURRATE"])
        except ValueError:
            props["exchange_rate"] = f["CURRENCY.CURRATE"]
    if pos.priced is not None:
        props["price_as_of"] = pos.priced.isoformat()
    if stmt.as_of is not None:
        props["statement_as_of"] = stmt.as_of.isoformat()
    parties: list[Party] = []
    if account is not None:
        parties.append(Party(kind=account.kind, value=account.value, role=account.role,
                             platform=account.platform))
    name = " ".join((f.get("SECNAME") or "").split())  # Firstrade pads it with spaces
    what = name or f.get("TICKER") or f.get("UNIQUEID") or f["TYPE"]
    if name and f.get("TICKER"):
        what = f"{name} ({f['TICKER']})"
    units = props.get("units")
    title = f"Position: {units} {what}" if units is not None else f"Position: {what}"
    return ParsedEvent(kind="other", occurred_at=pos.held_at, ref=ref, title=title,
                       parties=tuple(parties), properties=props)


def sniff_ofx(head: bytes) -> float:
    """0.95 for an OFX header or ``<?OFX`` instruction, 0.8 for a bare ``<OFX>`` root."""
    text = head[:8192].decode("latin-1").lstrip("\ufeff\xef\xbb\xbf \t\r\n")
    if re.match(r"(OFXHEADER|DATA)\s*:\s*(\d|OFXSGML)", text) or re.search(
            r"<\?OFX\s", text[:2048]):
        return 0.95
    if re.match(r"(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<OFX>", text, re.DOTALL | re.IGNORECASE):
        return 0.8
    return 0.0


class OfxParser:
    """OFX 1.x/2.x and QFX statements (Parser protocol)."""

    name = "ofx"
    label = "OFX / QFX bank or card statement"

    def sniff(self, path: Path, head: bytes) -> float:
        """High for an OFX header, an ``<?OFX ?>`` instruction or an ``<OFX>`` root."""
        return sniff_ofx(head)

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        """Stream the statement's records; strictness from ``options.strict``."""
        p = Path(path)
        yield from ofx_records(read_ofx(p), p, strict=options.strict)
