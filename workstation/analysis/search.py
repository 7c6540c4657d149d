"""Full-text search over events, entities, notes and cases, with our own query language.

Query language (what an officer types; never handed to SQLite as written):

* ``word`` — a word; several words must all occur (implicit AND). Case and accents do not
  matter (``cafe`` finds "Café"). Punctuation inside a word splits it into a phrase of
  its parts (``o'brien`` finds "O'Brien", ``555-0143`` finds "555 0143").
* ``"exact phrase"`` — the words next to each other, in that order.
* ``prefix*`` / ``"phrase prefix"*`` — the last word may be a prefix.
* ``a AND b``, ``a OR b``, ``NOT a``, ``-a``, and ``( … )`` for grouping. Operators are
  written in capitals (lower-case ``and``/``or``/``not`` are searched as words). NOT binds
  tightest, then AND, then OR. A query (or an OR branch) made only of exclusions is
  refused: there must be something to search for beside ``NOT x``.
* Filters, which always apply to the whole query (so they may not stand inside
  parentheses, after NOT, or beside OR): ``case:C-2024-001`` (case number, or id),
  ``kind:message`` (event kind, entity kind, or ``event``/``entity``/``note``/``case``;
  several separated by commas or repeated = any of them), ``from:2024-01-01`` and
  ``to:2024-02-01`` (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or an ISO date-time; times
  without an offset are UTC; ``from:`` is inclusive from the start of the period, a
  date-only ``to:`` is inclusive to the end of that period). ``field:value`` with any
  other field name is searched as text (so ``http://…`` and identifier keys such as
  ``account:telegram:jimmy`` work).
* Identifiers typed in any usual spelling (``+1 202 555 0143``, ``(202) 555-0143``,
  ``Jo@Example.org``, a card number, an IP address, a URL) are recognised and also searched
  by their normalised form, so they find the entity whose key they normalise to and text
  that writes them differently. A card number is searched as typed and by its keyed
  fingerprint (the entity key), never by any other rendering of the digits.

Malformed input raises :class:`SearchSyntaxError` (a ``BadInput``, CLI exit code 4) whose
message says what is wrong and at which column; SQLite errors never reach the caller.

Snippets mark the matched words with ``«`` and ``»`` (:data:`HIGHLIGHT_START`,
:data:`HIGHLIGHT_END`) and elide with ``…``. They are plain text: a view that renders rich
text must HTML-escape the snippet first and then turn the markers into ``<b>``/``</b>``.

Ranking is FTS5's bm25 per table; hits of all tables are merged by that score
(:attr:`SearchHit.rank`, higher is more relevant). To keep every query fast on millions of
rows, bm25 is computed over at most :data:`RANK_WINDOW` matches per table — the newest by
import order — which is exact for any query matching fewer rows; beyond that the page is
the best of the most recent matches and :attr:`SearchResults.total_capped` is set (show
"1,000+ matches, refine the search"). Tombstoned rows are not in the index (the triggers
of migration 0001 remove them), and an edited text is found by its new words only.

Thread-safety: pure functions over ``ws.db.read()``; safe from any worker thread.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil import parser as dateparser
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from workstation import clock
from workstation.analysis.timeline import MAX_COVER_US, PRECISIONS, overlap_sql
from workstation.domain.models import ENTITY_KINDS, EVENT_KINDS
from workstation.errors import BadInput, NotFound, UsageError

__all__ = [
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "ParsedQuery",
    "SearchHit",
    "SearchResults",
    "SearchSyntaxError",
    "parse_query",
    "search",
]

HIGHLIGHT_START = "«"
HIGHLIGHT_END = "»"
ELLIPSIS = "…"
SNIPPET_TOKENS = 16
# Relevance (bm25) is computed over at most this many matches per table: the newest by
# import order (row id). Exact for every query matching fewer rows; for a very common word
# the page is the best of its most recent matches, and the total is reported as a lower
# bound (SearchResults.total_capped). This bounds the cost of a query on a million rows.
RANK_WINDOW = 1_000
# A filter's row-id set is built when it holds at most this many rows (see _restrictions).
MATERIALIZE_MAX = 20_000
MAX_LIMIT = 1_000
TABLE_KINDS = frozenset({"event", "entity", "note", "case"})
FILTER_FIELDS = {"case": "case", "kind": "kind", "type": "kind", "from": "from", "to": "to"}
OPERATORS = frozenset({"AND", "OR", "NOT"})


class SearchSyntaxError(BadInput):
    """The query cannot be understood. ``position`` is the 0-based offset of the problem
    in ``query`` (the message gives it 1-based as a column)."""

    def __init__(self, message: str, query: str, position: int | None = None) -> None:
        where = f" at column {position + 1}" if position is not None else ""
        super().__init__(f"search query {query!r}: {message}{where}")
        self.query = query
        self.position = position
        self.reason = message


# ====================================================================== results
@dataclass(frozen=True)
class SearchHit:
    """One search result.

    ``kind`` is the table ('event', 'entity', 'note' or 'case') and ``subkind`` the
    event or entity kind ('message', 'phone'...). ``title`` is a short label to show,
    ``snippet`` the matching text with ``«…»`` marks, ``rank`` the bm25 relevance (higher
    is better), ``ts_utc`` the event time (notes: creation time) in UTC microseconds.
    ``time_precision`` is "day" ("month", "year") when the source gave the event's date
    only: ``ts_utc`` is then the start of that day in the event's own offset
    ``utc_offset`` (minutes east of UTC), not a time to show.
    An entity that was merged into another is reported as its survivor.
    """

    kind: str
    id: int
    case_id: int
    case_number: str
    title: str
    snippet: str
    rank: float
    ts_utc: int | None
    subkind: str | None = None
    time_precision: str | None = None
    utc_offset: int | None = None


@dataclass(frozen=True)
class SearchResults:
    """A page of hits, best first. ``total_estimate`` counts every match of the query
    under the filters; ``total_capped`` says it is a lower bound (a very common word)."""

    hits: list[SearchHit]
    total_estimate: int
    total_capped: bool = False
    query: ParsedQuery | None = None


# ====================================================================== parsing
@dataclass(frozen=True)
class _Tok:
    type: str  # WORD PHRASE IDENT LPAREN RPAREN OP NEG FILTER EOF
    pos: int
    text: str = ""
    prefix: bool = False
    variants: tuple[str, ...] = ()
    field_name: str = ""


@dataclass(frozen=True)
class _Leaf:
    texts: tuple[str, ...]  # alternatives, each searched as one phrase
    prefix: bool = False


@dataclass(frozen=True)
class _Not:
    child: Any
    pos: int


@dataclass(frozen=True)
class _And:
    children: tuple[Any, ...]


@dataclass(frozen=True)
class _Or:
    children: tuple[Any, ...]


@dataclass(frozen=True)
class ParsedQuery:
    """A query checked and translated: ``fts`` is the FTS5 MATCH expression built only
    from quoted strings and operators; the filters are separate values."""

    text: str
    fts: str
    cases: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    start: int | None = None
    end: int | None = None
    identifiers: tuple[str, ...] = field(default=())  # normalised keys recognised in the text
    highlight: tuple[tuple[str, bool], ...] = ()  # folded search tokens (token, is_prefix) to mark


_HAS_TOKEN = re.compile(r"[^\W_]")
_SPACE = set(" \t\r\n\f\v\u00a0\u2000\u2001\u2002\u2003\u2009\u200a\u202f\u3000")
_WORD_STOP = _SPACE | {"(", ")", '"'}


def _has_token(s: str) -> bool:
    """True when FTS5's unicode61 tokenizer would find at least one token in ``s``."""
    return _HAS_TOKEN.search(s) is not None


def _quoted_regions(q: str) -> list[tuple[int, int]]:
    regions: list[tuple[int, int]] = []
    i = 0
    while i < len(q):
        if q[i] == '"':
            j = q.find('"', i + 1)
            if j < 0:
                raise SearchSyntaxError('this quote is never closed (add a closing ")', q, i)
            regions.append((i, j + 1))
            i = j + 1
        else:
            i += 1
    return regions


def _identifier_spans(q: str, quoted: list[tuple[int, int]], region: str | None,
                      card_key: bytes | None) -> dict[int, tuple[int, tuple[str, ...], str]]:
    """Identifier spans in the query: start -> (end, search variants, key)."""
    from workstation.analysis.identifiers import extract

    try:
        found = extract(q, region=region, card_key=card_key)
    except Exception:  # noqa: BLE001 - recognition is a convenience; plain text still works
        return {}
    out: dict[int, tuple[int, tuple[str, ...], str]] = {}
    for f in found:
        s, e = f.start, f.end
        if any(s < qe and qs < e for qs, qe in quoted):
            continue
        if s > 0 and q[s - 1] not in _SPACE and q[s - 1] != "(":
            continue
        if e < len(q) and q[e] not in _SPACE and q[e] != ")":
            continue
        raw = q[s:e]
        if raw.count("(") != raw.count(")") or '"' in raw:
            continue
        if any(w in OPERATORS for w in raw.split()):
            continue
        out[s] = (e, _variants(f.identifier, raw), f.identifier.key)
    return out


def _variants(ident: Any, raw: str) -> tuple[str, ...]:
    """The spellings under which an identifier is searched (each a phrase)."""
    vals: list[str] = [raw, ident.value]
    if ident.kind == "phone":
        national = str(ident.properties.get("national") or "")
        if national:
            vals.append(national)
            digits = "".join(c for c in national if c.isdigit())
            if digits:
                vals.append(digits)
    if ident.kind == "email":
        vals.append(ident.display)
    out: list[str] = []
    for v in vals:
        if v and _has_token(v) and v not in out:
            out.append(v)
    return tuple(out)


def _lex(q: str, region: str | None, card_key: bytes | None) -> tuple[list[_Tok], tuple[str, ...]]:
    quoted = _quoted_regions(q)
    idents = _identifier_spans(q, quoted, region, card_key)
    toks: list[_Tok] = []
    keys: list[str] = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c in _SPACE:
            i += 1
            continue
        if i in idents:
            end, variants, key = idents[i]
            toks.append(_Tok("IDENT", i, q[i:end], variants=variants))
            keys.append(key)
            i = end
            continue
        if c == "(":
            toks.append(_Tok("LPAREN", i))
            i += 1
            continue
        if c == ")":
            toks.append(_Tok("RPAREN", i))
            i += 1
            continue
        if c == '"':
            j = q.index('"', i + 1)
            prefix = j + 1 < n and q[j + 1] == "*"
            toks.append(_Tok("PHRASE", i, q[i + 1:j], prefix=prefix))
            i = j + 2 if prefix else j + 1
            if i < n and q[i] not in _WORD_STOP:
                raise SearchSyntaxError("a closing quote must be followed by a space, ')' or '*'", q, i)
            continue
        if c == "-" and (i == 0 or q[i - 1] in _SPACE or q[i - 1] == "("):
            if i + 1 >= n or q[i + 1] in _SPACE or q[i + 1] == ")":
                raise SearchSyntaxError("'-' must be written directly before the word it excludes", q, i)
            if q[i + 1] != "-" and not (q[i + 1].isdigit() and _looks_numeric(q, i + 1)):
                toks.append(_Tok("NEG", i))
                i += 1
                continue
        j = i
        while j < n and q[j] not in _WORD_STOP:
            j += 1
        word = q[i:j]
        i = j
        if word in OPERATORS:
            toks.append(_Tok("OP", j - len(word), word))
            continue
        start = j - len(word)
        name, sep, value = word.partition(":")
        if sep and name.lower() in FILTER_FIELDS:
            if not value and i < n and q[i] == '"':
                k = q.index('"', i + 1)
                value = q[i + 1:k]
                i = k + 1
            if not value.strip():
                raise SearchSyntaxError(f"the filter '{name}:' needs a value (e.g. {_filter_example(name)})", q, start)
            toks.append(_Tok("FILTER", start, value.strip(), field_name=FILTER_FIELDS[name.lower()]))
            continue
        prefix = word.endswith("*")
        core = word.rstrip("*") if prefix else word
        if core.startswith("*") or (prefix and not core):
            raise SearchSyntaxError("'*' marks a prefix and must follow letters or digits (e.g. jimm*)", q, start)
        if prefix and "*" in core:
            raise SearchSyntaxError("only the end of a word can carry '*'", q, start)
        toks.append(_Tok("WORD", start, core, prefix=prefix))
    toks.append(_Tok("EOF", n))
    return toks, tuple(dict.fromkeys(keys))


def _looks_numeric(q: str, i: int) -> bool:
    """'-5' or '-12.5' is a negative number, not an exclusion."""
    j = i
    while j < len(q) and (q[j].isdigit() or q[j] in ".,"):
        j += 1
    return j >= len(q) or q[j] in _WORD_STOP


def _filter_example(name: str) -> str:
    return {"case": "case:C-2024-001", "kind": "kind:message", "type": "kind:message",
            "from": "from:2024-01-01", "to": "to:2024-02-01"}.get(name.lower(), name + ":value")


class _Parser:
    def __init__(self, q: str, toks: list[_Tok]) -> None:
        self.q = q
        self.toks = toks
        self.i = 0
        self.depth = 0
        self.filters: list[_Tok] = []

    def err(self, msg: str, tok: _Tok) -> SearchSyntaxError:
        return SearchSyntaxError(msg, self.q, tok.pos)

    def peek(self, k: int = 0) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def _ends_operand(self, t: _Tok) -> bool:
        return t.type in ("EOF", "RPAREN") or (t.type == "OP" and t.text in ("AND", "OR"))

    def parse(self) -> Any:
        node = self.parse_or()
        t = self.peek()
        if t.type == "RPAREN":
            raise self.err("this ')' has no matching '('", t)
        if t.type != "EOF":  # pragma: no cover - the grammar consumes everything else
            raise self.err("unexpected text", t)
        return node

    def parse_or(self) -> Any:
        branches = [self.parse_and()]
        while self.peek().type == "OP" and self.peek().text == "OR":
            op = self.take()
            nxt = self.peek()
            if self._ends_operand(nxt):
                raise self.err("OR has nothing after it", op)
            branches.append(self.parse_and())
        if len(branches) == 1:
            return branches[0]
        return _Or(tuple(b for b in branches if b is not None)) if any(b is not None for b in branches) else None

    def parse_and(self) -> Any:
        start_tok = self.peek()
        if start_tok.type == "OP" and start_tok.text in ("AND", "OR"):
            raise self.err(f"{start_tok.text} has nothing before it", start_tok)
        items: list[Any] = []
        seen_operand = False
        while True:
            t = self.peek()
            if t.type in ("EOF", "RPAREN") or (t.type == "OP" and t.text == "OR"):
                break
            if t.type == "OP" and t.text == "AND":
                self.take()
                if not seen_operand:
                    raise self.err("AND has nothing before it", t)
                if self._ends_operand(self.peek()):
                    raise self.err("AND has nothing after it", t)
                continue
            if t.type == "FILTER":
                self._filter(self.take())
                continue
            items.append(self.parse_unary())
            seen_operand = True
        if not seen_operand:
            if start_tok.type == "FILTER" or self.filters:
                return None
            t = self.peek()
            if t.type == "RPAREN" and self.depth > 0:
                raise self.err("empty parentheses", t)
            return None
        positives = [x for x in items if x is not None and not isinstance(x, _Not)]
        negatives = [x for x in items if isinstance(x, _Not)]
        if negatives and not positives:
            raise SearchSyntaxError(
                "NOT / '-' only excludes: add something to search for (e.g. 'phone NOT burner')",
                self.q, negatives[0].pos)
        if not positives:
            return None
        if len(positives) == 1 and not negatives:
            return positives[0]
        return _And(tuple(positives + negatives))

    def _filter(self, t: _Tok) -> None:
        if self.depth > 0:
            raise self.err("filters apply to the whole query: put them outside parentheses", t)
        prev = self.toks[self.i - 2] if self.i >= 2 else None
        nxt = self.peek()
        if (prev is not None and prev.type == "OP" and prev.text == "OR") or (nxt.type == "OP" and nxt.text == "OR"):
            raise self.err("filters apply to the whole query and cannot be combined with OR "
                           "(write kind:message,transaction for either kind)", t)
        self.filters.append(t)

    def parse_unary(self) -> Any:
        t = self.peek()
        if (t.type == "OP" and t.text == "NOT") or t.type == "NEG":
            self.take()
            what = "NOT" if t.type == "OP" else "'-'"
            nxt = self.peek()
            if self._ends_operand(nxt):
                raise self.err(f"{what} has nothing after it", t)
            if nxt.type == "FILTER":
                raise self.err("a filter cannot be negated", nxt)
            child = self.parse_unary()
            if child is None:
                return None
            if isinstance(child, _Not):  # NOT NOT x is x
                return child.child
            return _Not(child, t.pos)
        return self.parse_primary()

    def parse_primary(self) -> Any:
        t = self.take()
        if t.type == "LPAREN":
            if self.peek().type == "RPAREN":
                raise self.err("empty parentheses", t)
            self.depth += 1
            node = self.parse_or()
            self.depth -= 1
            if self.peek().type != "RPAREN":
                raise self.err("this '(' is never closed", t)
            self.take()
            return node
        if t.type == "WORD":
            return _Leaf((t.text,), t.prefix) if _has_token(t.text) else None
        if t.type == "PHRASE":
            return _Leaf((t.text,), t.prefix) if _has_token(t.text) else None
        if t.type == "IDENT":
            return _Leaf(t.variants) if t.variants else None
        if t.type == "OP":
            raise self.err(f"{t.text} is not where a word is expected", t)
        if t.type == "FILTER":  # pragma: no cover - handled in parse_and
            raise self.err("a filter is not allowed here", t)
        raise self.err("a word is expected here", t)  # pragma: no cover


_TOKEN = re.compile(r"[^\W_]+")


@functools.lru_cache(maxsize=65_536)
def _fold(token: str) -> str:
    """A token as FTS5's unicode61 tokenizer with remove_diacritics compares it."""
    decomposed = unicodedata.normalize("NFKD", token.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _highlight_terms(node: Any, out: list[tuple[str, bool]] | None = None) -> list[tuple[str, bool]]:
    """The tokens of the positive (not excluded) leaves, for marking snippets."""
    out = [] if out is None else out
    if isinstance(node, _Leaf):
        for t in node.texts:
            toks = [_fold(x) for x in _TOKEN.findall(t)]
            for i, tok in enumerate(toks):
                out.append((tok, node.prefix and i == len(toks) - 1))
    elif isinstance(node, (_And, _Or)):
        for c in node.children:
            if not isinstance(c, _Not):
                _highlight_terms(c, out)
    return out


def make_snippet(texts: Sequence[str | None], terms: Sequence[tuple[str, bool]], *,
                 size: int = SNIPPET_TOKENS) -> tuple[str, int]:
    """(snippet, number of marked tokens) for the text among ``texts`` with the most search
    tokens: a window of ``size`` tokens with the most marks, the marks between «…» and
    elisions as '…'. Tokenisation and folding follow the index (unicode61, no accents)."""
    exact = {t for t, p in terms if not p}
    prefixes = tuple(t for t, p in terms if p)
    best: tuple[int, str, list[tuple[int, int]], list[bool]] | None = None
    for txt in texts:
        if not txt:
            continue
        spans = []
        marks = []
        for m in _TOKEN.finditer(txt):
            w = m.group()
            f = w.lower() if w.isascii() else _fold(w)
            spans.append(m.span())
            marks.append(f in exact or (bool(prefixes) and f.startswith(prefixes)))
        n = sum(marks)
        if best is None or n > best[0]:
            best = (n, txt, spans, marks)
    if best is None:
        return "", 0
    n, txt, spans, marks = best
    if not spans:
        return _short(txt, 120), 0
    start = 0
    if len(spans) > size:
        window = sum(marks[:size])
        top = window
        for s in range(1, len(spans) - size + 1):
            window += marks[s + size - 1] - marks[s - 1]
            if window > top:
                top, start = window, s
    stop = min(len(spans), start + size)
    out: list[str] = []
    lo = spans[start][0] if start > 0 else 0
    hi = spans[stop - 1][1] if stop < len(spans) else len(txt)
    pos = lo
    for i in range(start, stop):
        a, b = spans[i]
        if marks[i]:
            out.append(txt[pos:a])
            out.append(HIGHLIGHT_START + txt[a:b] + HIGHLIGHT_END)
            pos = b
    out.append(txt[pos:hi])
    body = " ".join("".join(out).split())
    return (ELLIPSIS if start > 0 else "") + body + (ELLIPSIS if stop < len(spans) else ""), n


def _fts_string(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _render(node: Any) -> str:
    if isinstance(node, _Leaf):
        parts = [_fts_string(t) + (" *" if node.prefix else "") for t in node.texts]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    if isinstance(node, _Or):
        return "(" + " OR ".join(_render(c) for c in node.children) + ")"
    if isinstance(node, _And):
        pos = [c for c in node.children if not isinstance(c, _Not)]
        neg = [c.child for c in node.children if isinstance(c, _Not)]
        out = "(" + " AND ".join(_render(c) for c in pos) + ")"
        if neg:
            out = f"({out} NOT ({' OR '.join(_render(c) for c in neg)}))"
        return out
    if isinstance(node, _Not):  # pragma: no cover - _And always wraps a _Not
        raise AssertionError("unattached NOT")
    raise AssertionError(f"unknown node {node!r}")  # pragma: no cover


_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def _parse_when(value: str, *, upper: bool, q: str, pos: int) -> int:
    """A from:/to: value as UTC microseconds (to: date-only values end the period)."""
    v = value.strip()
    try:
        if m := _YEAR.match(v):
            lo = datetime(int(m[1]), 1, 1, tzinfo=UTC)
            hi = datetime(int(m[1]) + 1, 1, 1, tzinfo=UTC)
        elif m := _MONTH.match(v):
            y, mo = int(m[1]), int(m[2])
            lo = datetime(y, mo, 1, tzinfo=UTC)
            hi = datetime(y + (mo == 12), mo % 12 + 1, 1, tzinfo=UTC)
        elif m := _DAY.match(v):
            lo = datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
            hi = lo + timedelta(days=1)
        else:
            dt = dateparser.isoparse(v)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            lo = hi = dt
    except (ValueError, OverflowError):
        raise SearchSyntaxError(
            f"{value!r} is not a date (use YYYY-MM-DD, YYYY-MM, YYYY or an ISO date-time)", q, pos) from None
    return clock.to_micros(hi if upper else lo)


def parse_query(query: str, *, region: str | None = "US", card_key: bytes | None = None) -> ParsedQuery:
    """Check and translate a query (see the module docstring for the language).

    ``region`` is the default phone region and ``card_key`` the card fingerprint key used
    to recognise identifiers typed in the query. Raises :class:`SearchSyntaxError`.
    """
    if not isinstance(query, str):
        raise SearchSyntaxError("the query must be text", repr(query))
    q = query
    if not q.strip():
        raise SearchSyntaxError("the query is empty", q)
    toks, keys = _lex(q, region, card_key)
    parser = _Parser(q, toks)
    node = parser.parse()
    cases: list[str] = []
    kinds: list[str] = []
    start: int | None = None
    end: int | None = None
    for f in parser.filters:
        if f.field_name == "case":
            cases.append(f.text)
        elif f.field_name == "kind":
            for k in f.text.split(","):
                k = k.strip().lower()
                if not k:
                    raise SearchSyntaxError("an empty kind in the kind: filter", q, f.pos)
                kinds.append(k)
        elif f.field_name == "from":
            v = _parse_when(f.text, upper=False, q=q, pos=f.pos)
            start = v if start is None else max(start, v)
        elif f.field_name == "to":
            v = _parse_when(f.text, upper=True, q=q, pos=f.pos)
            end = v if end is None else min(end, v)
    if start is not None and end is not None and start >= end:
        pos = next(f.pos for f in parser.filters if f.field_name in ("from", "to"))
        raise SearchSyntaxError("the from: date is not before the to: date", q, pos)
    if node is None:
        if parser.filters:
            raise SearchSyntaxError("the query has filters but no words to search for", q, 0)
        raise SearchSyntaxError("the query has no letters or digits to search for", q, 0)
    return ParsedQuery(q, _render(node), tuple(dict.fromkeys(cases)), tuple(dict.fromkeys(kinds)),
                       start, end, keys, tuple(dict.fromkeys(_highlight_terms(node))))


# ====================================================================== executing
def _kind_plan(kinds: set[str] | None) -> dict[str, set[str] | None]:
    """Which tables to search and with which sub-kinds: table -> None (all) or a set."""
    if not kinds:
        return {"event": None, "entity": None, "note": None, "case": None}
    plan: dict[str, set[str] | None] = {}
    if "event" in kinds:
        plan["event"] = None
    if "entity" in kinds:
        plan["entity"] = None
    if "note" in kinds:
        plan["note"] = None
    if "case" in kinds:
        plan["case"] = None
    rest = kinds - TABLE_KINDS
    ev = {k for k in rest if k not in ENTITY_KINDS or k in EVENT_KINDS}
    if "note" in kinds:
        ev.add("note")
    en = {k for k in rest if k not in EVENT_KINDS or k in ENTITY_KINDS}
    if ev and "event" not in plan:
        plan["event"] = ev
    if en and "entity" not in plan:
        plan["entity"] = en
    return plan


def _resolve_cases(conn: Connection, refs: Sequence[str]) -> set[int]:
    ids: set[int] = set()
    for ref in refs:
        row = _q(conn, 'SELECT id FROM "case" WHERE number = :n AND deleted = 0', {"n": ref}).first()
        if row is None:
            row = _q(conn, 'SELECT id FROM "case" WHERE lower(number) = lower(:n) AND deleted = 0',
                     {"n": ref}).first()
        if row is None and ref.isdigit():
            row = _q(conn, 'SELECT id FROM "case" WHERE id = :i AND deleted = 0', {"i": int(ref)}).first()
        if row is None:
            raise NotFound(f"case:{ref} in the search query names no case")
        ids.add(int(row[0]))
    return ids


def _iso_of(us: int) -> str:
    return clock.iso(clock.from_micros(us))


def _micros_of_iso(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return clock.to_micros(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC))
    except ValueError:
        return None


@dataclass
class _Scope:
    case_ids: set[int] | None
    start: int | None
    end: int | None
    entity_id: int | None
    deleted_cases: bool = False


def _in_clause(name: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    vals = list(values)
    keys = {f"{name}{i}": v for i, v in enumerate(vals)}
    return "(" + ", ".join(":" + k for k in keys) + ")", keys


def _q(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> Any:
    """Run SQL with named parameters straight on the driver: search issues a dozen small
    statements per keystroke and SQLAlchemy's statement compilation would dominate them."""
    return conn.exec_driver_sql(sql, params or {})


_FTS_TABLE = {"event": "fts_event", "entity": "fts_entity", "note": "fts_note", "case": "fts_case"}
_LIVE_CASES = '(SELECT id FROM "case" WHERE deleted = 0)'
_DEAD_CASES = '(SELECT id FROM "case" WHERE deleted = 1)'
_DETAILS = {
    # Only the page's rows are read here, so reading the precision costs nothing measurable.
    "event": "SELECT id, case_id, kind, ts_utc, title, NULL AS merged_into, NULL AS extra, body, NULL AS more, "
             "utc_offset, CASE WHEN instr(properties, '\"time_precision\"') > 0 "
             "THEN json_extract(properties, '$.time_precision') END AS time_precision FROM event",
    "entity": "SELECT id, case_id, kind, NULL AS ts_utc, label AS title, merged_into, key AS extra, NULL AS body, "
              "NULL AS more FROM entity",
    "note": ("SELECT id, case_id, 'note' AS kind, NULL AS ts_utc, body AS title, NULL AS merged_into, "
             "created_at AS extra, body, NULL AS more FROM note"),
    "case": ("SELECT id, id AS case_id, 'case' AS kind, NULL AS ts_utc, title, NULL AS merged_into, "
             'number AS extra, summary AS body, number AS more FROM "case"'),
}


@dataclass(frozen=True)
class _Group:
    """One restriction of a table's matches: rows of ``table`` satisfying ``cond`` (whose
    ``id_col`` is the matched row id); ``negate`` keeps the rows that do *not*."""

    table: str
    cond: str
    id_col: str = "id"
    negate: bool = False
    materialize: bool = False  # always as an id set (small by nature)


def _table_groups(table: str, sub: set[str] | None, scope: _Scope) -> tuple[list[_Group], dict[str, Any]] | None:
    """The restrictions of one table's matches, or None when the scope rules it out."""
    params: dict[str, Any] = {}
    groups: list[_Group] = []
    if scope.case_ids is not None:
        clause, p = _in_clause("c", sorted(scope.case_ids))
        params.update(p)
        cases = f"case_id IN {clause}"
    else:
        cases = f"case_id IN {_LIVE_CASES}"
    if table == "event":
        narrowed = False
        if scope.start is not None or scope.end is not None:
            # An event known to the day only is in the range when its day meets it.
            if scope.start is not None:
                params["start"] = scope.start
                params["wide"] = scope.start - MAX_COVER_US
            if scope.end is not None:
                params["end"] = scope.end
            window = overlap_sql("", ":start" if scope.start is not None else "",
                                 ":end" if scope.end is not None else "")
            groups.append(_Group("event", f"{cases} AND {window}"))
            narrowed = True
        if sub:
            clause, p = _in_clause("k", sorted(sub))
            params.update(p)
            groups.append(_Group("event", f"{cases} AND kind IN {clause}"))
            narrowed = True
        if scope.case_ids is not None and not narrowed:
            groups.append(_Group("event", cases))
            narrowed = True
        if scope.entity_id is not None:
            groups.append(_Group("event_party", "entity_id = :eid", "event_id", materialize=True))
            params["eid"] = scope.entity_id
        if scope.deleted_cases and not narrowed:
            groups.append(_Group("event", f"case_id IN {_DEAD_CASES}", negate=True))
    elif table == "entity":
        if scope.start is not None or scope.end is not None:
            return None
        narrowed = False
        if sub:
            clause, p = _in_clause("k", sorted(sub))
            params.update(p)
            groups.append(_Group("entity", f"{cases} AND kind IN {clause}"))
            narrowed = True
        elif scope.case_ids is not None:
            groups.append(_Group("entity", cases))
            narrowed = True
        if scope.entity_id is not None:
            # The entity itself and whatever is merged into it (merge_history is small).
            groups.append(_Group("merge_history", "survivor_id = :eid AND undone_at IS NULL UNION SELECT :eid",
                                 "merged_id", materialize=True))
            params["eid"] = scope.entity_id
        if scope.deleted_cases and not narrowed:
            groups.append(_Group("entity", f"case_id IN {_DEAD_CASES}", negate=True))
    elif table == "note":
        note_cond: list[str] = []
        if scope.case_ids is not None or scope.deleted_cases:
            note_cond.append(cases)
        if scope.start is not None:
            note_cond.append("created_at >= :start_iso")
            params["start_iso"] = _iso_of(scope.start)
        if scope.end is not None:
            note_cond.append("created_at < :end_iso")
            params["end_iso"] = _iso_of(scope.end)
        if scope.entity_id is not None:
            note_cond.append("target_type = 'entity' AND target_id = :eid")
            params["eid"] = scope.entity_id
        if note_cond:
            groups.append(_Group("note", " AND ".join(note_cond), materialize=True))
    elif table == "case":
        if scope.start is not None or scope.end is not None or scope.entity_id is not None:
            return None
        if scope.case_ids is not None:
            groups.append(_Group('"case"', cases.replace("case_id", "id"), materialize=True))
    else:  # pragma: no cover
        raise AssertionError(table)
    return groups, params


def _restrictions(conn: Connection, groups: list[_Group], params: dict[str, Any]) -> list[str]:
    """WHERE terms restricting the full-text scan ``f`` to the groups.

    Why two shapes: a small id set (a case's quarter, an entity's events) is read from an
    index once and probed (``+f.rowid IN (…)``; the unary ``+`` stops SQLite from turning
    it into one full-text lookup per id); a large one (every message of every case) would
    cost more to build than to check each match against its row (``EXISTS``). Only the
    smallest set is built; the other conditions are checked on the few rows it lets through,
    and ``rank`` is computed only for rows that pass.
    """
    if not groups:
        return []
    sizes: dict[int, int] = {}
    for i, g in enumerate(groups):
        if not g.materialize:
            sizes[i] = int(_q(
                conn, f"SELECT count(*) FROM (SELECT 1 FROM {g.table} WHERE {g.cond} LIMIT {MATERIALIZE_MAX + 1})",
                params).scalar_one())
    small = [i for i, n in sizes.items() if n <= MATERIALIZE_MAX]
    chosen = {i for i, g in enumerate(groups) if g.materialize}
    if small:
        chosen.add(min(small, key=lambda i: sizes[i]))
    terms: list[str] = []
    for i in sorted(chosen, key=lambda i: (sizes.get(i, 0), i)):
        g = groups[i]
        terms.append(f"+f.rowid {'NOT ' if g.negate else ''}IN (SELECT {g.id_col} FROM {g.table} WHERE {g.cond})")
    by_table: dict[str, list[str]] = {}
    for i, g in enumerate(groups):
        if i not in chosen:
            by_table.setdefault(g.table, []).append(f"NOT ({g.cond})" if g.negate else f"({g.cond})")
    for tbl, conds in by_table.items():
        terms.append(f"EXISTS (SELECT 1 FROM {tbl} WHERE id = f.rowid AND {' AND '.join(conds)})")
    return terms


def _survivors(conn: Connection, ids: set[int]) -> dict[int, tuple[int, str, str]]:
    """merged id -> (survivor id, survivor label, survivor kind), following chains."""
    out: dict[int, tuple[int, str, str]] = {}
    for mid in ids:
        cur, seen = mid, set()
        row = None
        while cur not in seen:
            seen.add(cur)
            row = _q(conn, "SELECT id, label, kind, merged_into, deleted FROM entity WHERE id = :i",
                     {"i": cur}).first()
            if row is None or row.merged_into is None:
                break
            cur = int(row.merged_into)
        if row is not None and row.merged_into is None and not row.deleted:
            out[mid] = (int(row.id), row.label, row.kind)
    return out


def _short(s: str | None, n: int = 80) -> str:
    s = " ".join((s or "").split())
    return s if len(s) <= n else s[: n - 1] + ELLIPSIS


def search(ws: Any, query: str, *, case_id: int | None = None, kinds: Sequence[str] | None = None,
           start: int | None = None, end: int | None = None, entity_id: int | None = None,
           limit: int = 50, offset: int = 0) -> SearchResults:
    """Search ``ws`` (a Workstation) with the query language of this module.

    ``case_id`` restricts to one case, ``kinds`` to tables ('event', 'entity', 'note',
    'case') and/or event/entity kinds ('message', 'phone'...), ``start``/``end`` (UTC
    microseconds, end exclusive) to events and notes in that window (entities and cases
    have no time and are then left out), ``entity_id`` to events where that entity is a
    party, notes attached to it and the entity itself. Filters written in the query narrow
    these further. Hits are ordered by relevance; ``offset``/``limit`` page through them.

    Raises SearchSyntaxError for a malformed query, NotFound for an unknown ``case:``,
    UsageError for a bad limit/offset.
    """
    if limit < 0 or limit > MAX_LIMIT:
        raise UsageError(f"limit must be between 0 and {MAX_LIMIT}")
    if offset < 0:
        raise UsageError("offset cannot be negative")
    parsed = parse_query(query, region=getattr(getattr(ws, "settings", None), "phone_region", "US"),
                         card_key=ws.fingerprint_key or None)
    want_kinds: set[str] | None = {k.strip().lower() for k in kinds} if kinds else None
    if parsed.kinds:
        qk = set(parsed.kinds)
        want_kinds = qk if want_kinds is None else _intersect_kinds(want_kinds, qk)
        if not want_kinds:
            return SearchResults([], 0, False, parsed)
    starts = [x for x in (start, parsed.start) if x is not None]
    ends = [x for x in (end, parsed.end) if x is not None]
    lo = max(starts) if starts else None
    hi = min(ends) if ends else None
    plan = _kind_plan(want_kinds)
    want = offset + limit
    with ws.db.read() as conn:
        case_ids: set[int] | None = None
        if case_id is not None:
            live = _q(conn, 'SELECT 1 FROM "case" WHERE id = :c AND deleted = 0', {"c": case_id}).first()
            if live is None:
                raise NotFound(f"no case with id {case_id}")
            case_ids = {int(case_id)}
        if parsed.cases:
            named = _resolve_cases(conn, parsed.cases)
            case_ids = named if case_ids is None else case_ids & named
        if case_ids is not None and not case_ids:
            return SearchResults([], 0, False, parsed)
        dead = _q(conn, 'SELECT 1 FROM "case" WHERE deleted = 1 LIMIT 1').first() is not None
        scope = _Scope(case_ids, lo, hi, entity_id, dead)
        try:
            return _run(conn, parsed, plan, scope, want, offset, limit)
        except DBAPIError as exc:  # the generated expression is always valid; say so if not
            raise SearchSyntaxError(f"the search index refused the query ({exc.orig})", query) from None


def _intersect_kinds(a: set[str], b: set[str]) -> set[str]:
    out = a & b
    for x, y in ((a, b), (b, a)):
        if "event" in x:
            out |= {k for k in y if k not in TABLE_KINDS and k in EVENT_KINDS}
        if "entity" in x:
            out |= {k for k in y if k not in TABLE_KINDS and k in ENTITY_KINDS}
    return out


def _run(conn: Connection, parsed: ParsedQuery, plan: dict[str, set[str] | None], scope: _Scope,
         want: int, offset: int, limit: int) -> SearchResults:
    ranked: list[tuple[float, int, str]] = []
    total = 0
    capped = False
    for table, sub in plan.items():
        built = _table_groups(table, sub, scope)
        if built is None:
            continue
        groups, params = built
        terms = _restrictions(conn, groups, params)
        ft = _FTS_TABLE[table]
        where = " AND ".join([f"f.{ft} MATCH :q", *terms])
        params["q"] = parsed.fts
        # One pass gives both the count (up to the window) and the ranks: bm25 is computed
        # only for the newest RANK_WINDOW matches (by row id, i.e. import order), which is
        # exact whenever a query matches fewer rows and bounded when a common word matches
        # hundreds of thousands.
        window = _q(conn, f"SELECT f.rowid AS id, f.rank AS rank FROM {ft} AS f WHERE {where} "
                          f"ORDER BY f.rowid DESC LIMIT {RANK_WINDOW + 1}", params).fetchall()
        if len(window) > RANK_WINDOW:
            capped = True
            window = window[:RANK_WINDOW]
        total += len(window)
        if want == 0 or not window:
            continue
        best = sorted(((float(r[1]), int(r[0])) for r in window), key=lambda x: (x[0], -x[1]))[:want]
        ranked.extend((rank, rid, table) for rank, rid in best)
    details: dict[tuple[str, int], Any] = {}
    by_table_all: dict[str, list[int]] = {}
    for _rank, rid, table in ranked:
        by_table_all.setdefault(table, []).append(rid)
    for table, tids in by_table_all.items():
        clause, p = _in_clause("d", tids)
        for r in _q(conn, f"{_DETAILS[table]} WHERE id IN {clause}", p):
            details[(table, int(r.id))] = r
    candidates = [(rank, rid, table, details[(table, rid)]) for rank, rid, table in ranked
                  if (table, rid) in details]
    # Merged entities stand for their survivor: resolve and de-duplicate before paging.
    merged = {rid for _k, rid, t, r in candidates if t == "entity" and r.merged_into is not None}
    survivors = _survivors(conn, merged) if merged else {}
    # bm25 is negative (lower is better); ties go to the newest row, as in the SQL above,
    # so that pages never overlap.
    candidates.sort(key=lambda c: (c[0], c[2], -c[1]))
    seen_entities: set[int] = set()
    unique: list[tuple[float, int, str, Any]] = []
    for cand in candidates:
        _rank, rid, table, r = cand
        if table == "entity":
            if r.merged_into is not None and rid not in survivors:
                continue
            eid = survivors[rid][0] if r.merged_into is not None else rid
            if eid in seen_entities:
                continue
            seen_entities.add(eid)
        unique.append(cand)
    page = unique[offset:offset + limit]
    case_ids = {int(r.case_id) for *_x, r in page}
    numbers: dict[int, str] = {}
    if case_ids:
        clause, p = _in_clause("c", sorted(case_ids))
        numbers = {int(i): n for i, n in _q(conn, f'SELECT id, number FROM "case" WHERE id IN {clause}', p)}
    hits: list[SearchHit] = []
    marks = parsed.highlight
    for rank, rid, table, r in page:
        if table == "event":
            snip, _n = make_snippet((r.body, r.title), marks)
            title = _short(r.title) or _short(r.body)
            precision = r.time_precision if r.time_precision in PRECISIONS else None
            hit = SearchHit("event", rid, int(r.case_id), numbers.get(int(r.case_id), ""), title, snip,
                            -rank, r.ts_utc, r.kind, precision, r.utc_offset)
        elif table == "entity":
            eid, label, kind = survivors[rid] if r.merged_into is not None else (rid, r.title, r.kind)
            snip, marked = make_snippet((r.title,), marks)
            if not marked:
                # Matched on the normalised key only (e.g. a card fingerprint): show the label.
                snip = f"{r.title} (matched its {r.kind} key)"
            if r.merged_into is not None:
                snip = f"{snip} — merged into {label}"
            hit = SearchHit("entity", eid, int(r.case_id), numbers.get(int(r.case_id), ""), label, snip,
                            -rank, None, kind)
        elif table == "note":
            snip, _n = make_snippet((r.body,), marks)
            hit = SearchHit("note", rid, int(r.case_id), numbers.get(int(r.case_id), ""), _short(r.title, 60),
                            snip, -rank, _micros_of_iso(r.extra), "note")
        else:
            snip, _n = make_snippet((r.title, r.body, r.more), marks)
            hit = SearchHit("case", rid, rid, r.extra, f"{r.extra} — {r.title}", snip, -rank, None, "case")
        hits.append(hit)
    return SearchResults(hits, total, capped, parsed)
