"""Cross-case matching: which other cases share something with this one, and why.

Kinds of evidence (:class:`MatchReason.kind`):

* ``identifier`` — an entity key (phone, e-mail, online account, card fingerprint, URL,
  domain, IP address) present in both cases. IP addresses count only when an event
  involving the address in one case lies within ``ip_window`` (default ±1 day) of an
  event involving it in the other — an address is shared by many people over time — and
  addresses of local networks (RFC 1918, CGNAT, loopback, link-local, ULA) never count.
* ``media_exact`` — a seized file with the same SHA-256 (or MD5) in both cases.
* ``media_attachment`` — a file sent with a message (``event.properties['attachments']``,
  indexed in ``event_attachment``) with the same SHA-256 (or MD5) as a message attachment
  or a seized file of the other case, either way round. ``this_table`` / ``other_table``
  say whether each side's ids are events (messages) or media. A file counts towards the
  score once per pair of cases: further reasons about the same file carry weight 0.
  Messages that are deleted never match.
* ``media_pdq`` — images whose PDQ perceptual hashes differ by at most ``pdq_threshold``
  bits (default 31), both of quality ≥ ``pdq_min_quality`` (default 50).
* ``person`` — people whose name keys (:func:`identifiers.person_name_key`) score at
  least ``name_threshold`` (default 90) with rapidfuzz ``token_sort_ratio`` and whose
  dates of birth (``properties['dob']``) agree; when either has no date of birth the match
  is kept as *name only* with a low weight; differing dates of birth rule it out.

Scoring by rarity: each reason's weight is ``base(kind) × ln(1 + N / n)`` where ``N`` is the
number of live cases and ``n`` the number of cases holding that key / file / name
(this one included), so a phone found in every case counts about a tenth of one found in
two cases out of two thousand. A connection's score is the sum of its reasons' weights.
Every reason carries the ids on both sides and a sentence explaining it.

Merged entities are represented by their survivor; tombstoned rows and deleted cases are
ignored. Thread-safety: read-only functions over ``ws.db.read()``, safe from workers.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from workstation import clock
from workstation.analysis.timeline import covered_until_sql
from workstation.errors import NotFound, UsageError

__all__ = [
    "CaseConnection",
    "MatchReason",
    "Occurrence",
    "case_connections",
    "dob_agreement",
    "name_key",
    "other_occurrences",
    "pdq_distances",
    "rarity",
]

# Base weights: how much one shared item of a kind says before rarity is applied.
KIND_WEIGHTS: dict[str, float] = {
    "card": 1.0, "phone": 1.0, "email": 1.0, "account": 1.0,
    "ip": 0.6, "url": 0.6, "domain": 0.4,
}
DEFAULT_KEY_WEIGHT = 0.5
MEDIA_EXACT_WEIGHT = 1.0
MEDIA_PDQ_WEIGHT = 0.8
MEDIA_ATTACHMENT_WEIGHT = 1.0
PERSON_DOB_WEIGHT = 0.7
PERSON_NAME_ONLY_WEIGHT = 0.15
DEFAULT_IP_WINDOW = timedelta(days=1)
DEFAULT_PDQ_THRESHOLD = 31
DEFAULT_PDQ_MIN_QUALITY = 50
DEFAULT_NAME_THRESHOLD = 90
REASON_KINDS = ("identifier", "media_exact", "media_attachment", "media_pdq", "person")
_CHUNK = 900
_LOCAL_NETS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16", "0.0.0.0/8", "::1/128", "fc00::/7", "fe80::/10", "::/128"))


@dataclass(frozen=True)
class MatchReason:
    """One piece of evidence linking two cases.

    ``kind`` is identifier / media_exact / media_pdq / person; ``key_or_desc`` the shared
    key (``phone:+12025550143``, ``sha256:…``) or a description (``pdq distance 6``,
    ``name 'john smith' ~ 'jon smith' (95), dob 1980-01-02``); ``this_items`` and
    ``other_items`` the entity ids (media ids for media reasons) on each side; ``weight``
    the reason's contribution to the score; ``cases_with_key`` the ``n`` of the rarity
    factor; ``explanation`` a sentence for the officer. ``this_table`` / ``other_table``
    name the table of the ids when it is not the kind's usual one (``event`` or ``media``
    for ``media_attachment``; empty otherwise).
    """

    kind: str
    key_or_desc: str
    this_items: tuple[int, ...]
    other_items: tuple[int, ...]
    weight: float
    explanation: str = ""
    cases_with_key: int = 0
    label: str = ""
    this_table: str = ""
    other_table: str = ""


@dataclass(frozen=True)
class CaseConnection:
    """Another case sharing evidence with the case asked about; reasons strongest first."""

    other_case_id: int
    other_case_number: str
    score: float
    reasons: tuple[MatchReason, ...]
    other_case_title: str = ""


@dataclass(frozen=True)
class Occurrence:
    """The same identifier (or the same person) held by another case."""

    case_id: int
    case_number: str
    entity_id: int
    label: str
    kind: str = ""
    key: str | None = None


# ====================================================================== helpers
def rarity(n_cases_with: int, n_cases: int) -> float:
    """IDF-style rarity factor ``ln(1 + N/n)``: 2 of 2,000 cases → 6.9, all → 0.69."""
    n = max(1, n_cases_with)
    return math.log(1.0 + max(n_cases, n) / n)


@functools.lru_cache(maxsize=262_144)
def name_key(label: str) -> str | None:
    """The person-name matching key of a label, or None when it has no letters/digits."""
    from workstation.analysis.identifiers import IdentifierError, person_name_key

    try:
        return person_name_key(label)
    except (IdentifierError, TypeError):
        return None


_ISO_DAY = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$")
_NUM_DAY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
_YEAR_ONLY = re.compile(r"^(\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-/.](\d{1,2})$")


def _valid(y: int, m: int, d: int) -> str | None:
    try:
        return datetime(y, m, d).strftime("%Y-%m-%d")
    except ValueError:
        return None


@functools.lru_cache(maxsize=65_536)
def dob_forms(value: Any) -> frozenset[str] | None:
    """The dates a written date of birth may mean: 'YYYY-MM-DD' strings, or 'YYYY' /
    'YYYY-MM' when only those are known. '03/04/1980' is ambiguous (day/month order
    differs by locale) and yields both readings; None when there is no usable date."""
    if value is None:
        return None
    s = str(value).strip()
    if not s:
        return None
    if m := _YEAR_ONLY.match(s):
        return frozenset({m[1]})
    if m := _YEAR_MONTH.match(s):
        if 1 <= int(m[2]) <= 12:
            return frozenset({f"{m[1]}-{int(m[2]):02d}"})
        return None
    if m := _ISO_DAY.match(s):
        d = _valid(int(m[1]), int(m[2]), int(m[3]))
        return frozenset({d}) if d else None
    if m := _NUM_DAY.match(s):
        a, b, y = int(m[1]), int(m[2]), m[3]
        years = [int(y)] if len(y) == 4 else [1900 + int(y), 2000 + int(y)]
        out = {d for yy in years for d in (_valid(yy, b, a), _valid(yy, a, b)) if d}
        return frozenset(out) or None
    try:
        from dateutil import parser as dparser

        dt = dparser.parse(s, default=datetime(1, 1, 1))
    except (ValueError, OverflowError, TypeError, ArithmeticError):  # dateutil leaks decimal errors
        return None
    if dt.year == 1:
        return None
    return frozenset({dt.strftime("%Y-%m-%d")})


def dob_agreement(a: Any, b: Any) -> bool | None:
    """True when two written dates of birth can be the same day, False when they cannot,
    None when either is missing or unreadable. A year (or year-month) agrees with any
    full date inside it."""
    fa, fb = dob_forms(a), dob_forms(b)
    if fa is None or fb is None:
        return None
    for x in fa:
        for y in fb:
            if x == y or (len(x) < len(y) and y.startswith(x)) or (len(y) < len(x) and x.startswith(y)):
                return True
    return False


def _ip_is_local(key: str) -> bool:
    value = key.split(":", 1)[1] if ":" in key else key
    try:
        addr = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return False
    return any(addr.version == net.version and addr in net for net in _LOCAL_NETS)


_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _pdq_matrix(hexes: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """(N×4 uint64 matrix, indexes of the rows that parsed) from 64-hex-digit PDQ hashes;
    malformed values are skipped."""
    if all(h is not None and len(h) == 64 for h in hexes):
        try:  # the usual case: every stored hash is well formed, parse them in one go
            raw = bytes.fromhex("".join(hexes))  # type: ignore[arg-type]
            mat = np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 4)
            return mat, np.arange(len(hexes), dtype=np.int64)
        except ValueError:
            pass
    ok = [i for i, h in enumerate(hexes) if h and _HEX64.fullmatch(h)]
    if not ok:
        return np.zeros((0, 4), np.uint64), np.zeros(0, np.int64)
    raw = bytes.fromhex("".join(hexes[i] for i in ok))  # type: ignore[misc]
    mat = np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 4)
    return mat, np.asarray(ok, dtype=np.int64)


def pdq_distances(query: np.ndarray, pool: np.ndarray, *, block: int = 16_384) -> np.ndarray:
    """Hamming distances (M×N int32) between PDQ hashes given as uint64 rows of 4 words."""
    out = np.empty((len(query), len(pool)), dtype=np.int32)
    if len(query) == 0 or len(pool) == 0:
        return out
    for lo in range(0, len(pool), block):
        chunk = pool[lo:lo + block]
        acc = np.zeros((len(query), len(chunk)), dtype=np.int32)
        for w in range(4):
            acc += np.bitwise_count(query[:, w, None] ^ chunk[None, :, w])
        out[:, lo:lo + block] = acc
    return out


def _raw_rows(conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Plain tuples straight from the driver: matching reads every person and image of the
    database, where building SQLAlchemy rows would cost more than the query."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, params)
        return list(cur.fetchall())
    finally:
        cur.close()


def _survivors(conn: Connection, ids: Iterable[int]) -> dict[int, int | None]:
    """id -> the live entity that represents it (itself, or the end of its merge chain);
    None when that entity is deleted or missing."""
    wanted = {int(i) for i in ids}
    info: dict[int, tuple[int | None, bool]] = {}
    to_fetch = set(wanted)
    while to_fetch:
        need = list(to_fetch)
        for i in range(0, len(need), _CHUNK):
            marks = ", ".join(str(int(x)) for x in need[i:i + _CHUNK])
            for r in conn.execute(text(f"SELECT id, merged_into, deleted FROM entity WHERE id IN ({marks})")):
                info[int(r[0])] = (int(r[1]) if r[1] is not None else None, bool(r[2]))
        for i in need:
            info.setdefault(i, (None, True))
        to_fetch = {m for m, _d in info.values() if m is not None and m not in info}
    out: dict[int, int | None] = {}
    for i in wanted:
        cur, seen = i, {i}
        while True:
            merged_into, deleted = info[cur]
            if merged_into is None:
                out[i] = None if deleted else cur
                break
            if merged_into in seen:  # a cycle cannot come from the service; refuse it quietly
                out[i] = None
                break
            seen.add(merged_into)
            cur = merged_into
    return out


def _case_row(conn: Connection, case_id: int) -> Any:
    row = conn.execute(text('SELECT id, number, title FROM "case" WHERE id = :c AND deleted = 0'),
                       {"c": case_id}).first()
    if row is None:
        raise NotFound(f"no case with id {case_id}")
    return row


def _short_time(us: int) -> str:
    return clock.from_micros(us).strftime("%Y-%m-%d %H:%M")


def _describe_delta(us: int) -> str:
    s = abs(us) / 1e6
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 172_800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


class _Acc:
    """Reasons gathered per other case."""

    def __init__(self) -> None:
        self.by_case: dict[int, list[MatchReason]] = defaultdict(list)

    def add(self, case_id: int, reason: MatchReason) -> None:
        self.by_case[case_id].append(reason)


# ====================================================================== identifiers
def _identifier_reasons(conn: Connection, case_id: int, n_cases: int, acc: _Acc,
                        ip_window_us: int, include_local_ips: bool) -> None:
    rows = conn.execute(text(
        'SELECT a.key AS key, a.id AS a_id, b.case_id AS b_case, b.id AS b_id '
        'FROM entity AS a JOIN entity AS b ON b.key = a.key '
        'JOIN "case" AS cb ON cb.id = b.case_id '
        'WHERE a.case_id = :c AND a.key IS NOT NULL AND a.deleted = 0 '
        'AND b.case_id != :c AND b.deleted = 0 AND cb.deleted = 0'), {"c": case_id}).fetchall()
    if not rows:
        return
    surv = _survivors(conn, {r.a_id for r in rows} | {r.b_id for r in rows})
    this_by_key: dict[str, set[int]] = defaultdict(set)
    other_by_key: dict[str, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for r in rows:
        a, b = surv.get(r.a_id), surv.get(r.b_id)
        if a is None or b is None:
            continue
        this_by_key[r.key].add(a)
        other_by_key[r.key][int(r.b_case)].add(b)
    if not this_by_key:
        return
    labels = _labels(conn, {i for ids in this_by_key.values() for i in ids})
    ip_keys = [k for k in this_by_key if k.startswith("ip:")]
    times: dict[int, list[int]] = {}
    if ip_keys:
        ids = set()
        for k in ip_keys:
            ids |= this_by_key[k]
            for other in other_by_key[k].values():
                ids |= other
        times = _event_times(conn, ids)
    for key, this_ids in this_by_key.items():
        kind = key.split(":", 1)[0]
        others = other_by_key[key]
        n = 1 + len(others)
        factor = rarity(n, n_cases)
        base = KIND_WEIGHTS.get(kind, DEFAULT_KEY_WEIGHT)
        label = labels.get(min(this_ids), key)
        if kind == "ip" and not include_local_ips and _ip_is_local(key):
            continue
        for other_case, other_ids in others.items():
            extra = ""
            if kind == "ip":
                near = _closest(sorted(t for i in this_ids for t in times.get(i, ())),
                                sorted(t for i in other_ids for t in times.get(i, ())))
                if near is None or near[2] > ip_window_us:
                    continue
                extra = (f"; used {_describe_delta(near[2])} apart "
                         f"({_span_text(near[0])} here, {_span_text(near[1])} there, UTC)")
            weight = base * factor
            expl = (f"{kind} {label} is in both cases; {n} of {n_cases} cases hold it "
                    f"(rarity ×{factor:.2f}){extra}")
            acc.add(other_case, MatchReason("identifier", key, tuple(sorted(this_ids)), tuple(sorted(other_ids)),
                                            round(weight, 4), expl, n, label))


def _labels(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    idl = list(ids)
    for i in range(0, len(idl), _CHUNK):
        marks = ", ".join(str(int(x)) for x in idl[i:i + _CHUNK])
        out.update({int(r[0]): r[1] for r in conn.execute(text(f"SELECT id, label FROM entity WHERE id IN ({marks})"))})
    return out


def _event_times(conn: Connection, entity_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    """entity id -> [start, end) of the time each of its events stands for: an event whose
    source gives only the date covers that whole day (``timeline.covered_until``)."""
    out: dict[int, list[tuple[int, int]]] = defaultdict(list)
    idl = list(entity_ids)
    for i in range(0, len(idl), _CHUNK):
        marks = ", ".join(str(int(x)) for x in idl[i:i + _CHUNK])
        for r in conn.execute(text(
                f"SELECT ep.entity_id, e.ts_utc, {covered_until_sql('e')} FROM event_party AS ep "
                f"JOIN event AS e ON e.id = ep.event_id "
                f"WHERE ep.entity_id IN ({marks}) AND e.deleted = 0 AND e.ts_utc IS NOT NULL")):
            out[int(r[0])].append((int(r[1]), max(int(r[1]) + 1, int(r[2]))))
    return out


def _span_text(span: tuple[int, int]) -> str:
    start, end = span
    if end - start <= 1:
        return _short_time(start)
    return f"{_short_time(start)} to {_short_time(end)}"


def _closest(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> tuple[tuple[int, int], tuple[int, int], int] | None:
    """The spans (x in a, y in b) nearest each other and the gap between them (0 when they
    overlap); spans are [start, end) sorted by start, an instant being [t, t + 1)."""
    if not a or not b:
        return None
    starts = [x[0] for x in a]
    # Among the spans of ``a`` starting at or before a point, the one reaching furthest.
    reach: list[int] = []
    for j, x in enumerate(a):
        reach.append(j if not reach or x[1] > a[reach[-1]][1] else reach[-1])
    best: tuple[tuple[int, int], tuple[int, int], int] | None = None
    for y in b:
        i = bisect.bisect_right(starts, y[1] - 1)  # a[:i] start inside or before y
        cands = []
        if i > 0:
            x = a[reach[i - 1]]
            cands.append((x, max(0, y[0] - (x[1] - 1))))
        if i < len(a):
            x = a[i]
            cands.append((x, x[0] - (y[1] - 1)))
        for x, gap in cands:
            if best is None or gap < best[2]:
                best = (x, y, gap)
    return best


# ====================================================================== media
def _media_reasons(conn: Connection, case_id: int, n_cases: int, acc: _Acc, *, pdq: bool,
                   exact: bool, pdq_threshold: int, pdq_min_quality: int) -> None:
    exact_pairs: set[tuple[int, int]] = set()
    if exact:
        groups: dict[tuple[str, int], tuple[set[int], set[int]]] = {}
        cases_per_hash: dict[str, set[int]] = defaultdict(set)
        for col in ("sha256", "md5"):
            rows = conn.execute(text(
                f'SELECT a.id AS a_id, a.{col} AS h, a.sha256 AS a_sha, b.case_id AS b_case, b.id AS b_id '
                f'FROM media AS a JOIN media AS b ON b.{col} = a.{col} '
                f'JOIN "case" AS cb ON cb.id = b.case_id '
                f'WHERE a.case_id = :c AND a.deleted = 0 AND b.case_id != :c AND b.deleted = 0 '
                f'AND cb.deleted = 0 AND a.{col} != \'\''), {"c": case_id}).fetchall()
            for r in rows:
                if (r.a_id, r.b_id) in exact_pairs:
                    continue
                exact_pairs.add((r.a_id, r.b_id))
                desc = f"sha256:{r.a_sha}" if col == "sha256" else f"md5:{r.h}"
                this, other = groups.setdefault((desc, int(r.b_case)), (set(), set()))
                this.add(int(r.a_id))
                other.add(int(r.b_id))
                cases_per_hash[desc].add(int(r.b_case))
        for (desc, other_case), (this, other) in groups.items():
            n = 1 + len(cases_per_hash[desc])
            factor = rarity(n, n_cases)
            what = "SHA-256" if desc.startswith("sha256:") else "MD5"
            expl = (f"the same file ({what} {desc.split(':', 1)[1][:16]}…) is in both cases; "
                    f"{n} of {n_cases} cases hold it (rarity ×{factor:.2f})")
            acc.add(other_case, MatchReason("media_exact", desc, tuple(sorted(this)), tuple(sorted(other)),
                                            round(MEDIA_EXACT_WEIGHT * factor, 4), expl, n))
    if not pdq:
        return
    mine = _raw_rows(conn, "SELECT id, pdq FROM media WHERE case_id = :c AND deleted = 0 AND pdq IS NOT NULL "
                           "AND pdq_quality >= :q", {"c": case_id, "q": pdq_min_quality})
    if not mine:
        return
    # Every other live case's images (one index seek per case).
    pool = _raw_rows(conn, 'SELECT id, case_id, pdq FROM media WHERE case_id IN '
                           '(SELECT id FROM "case" WHERE deleted = 0 AND id != :c) '
                           'AND deleted = 0 AND pdq IS NOT NULL AND pdq_quality >= :q',
                     {"c": case_id, "q": pdq_min_quality})
    if not pool:
        return
    qmat, qok = _pdq_matrix([r[1] for r in mine])
    pmat, pok = _pdq_matrix([r[2] for r in pool])
    dist = pdq_distances(qmat, pmat)
    found: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)  # (this media, other case) -> other id: d
    cases_per_media: dict[int, set[int]] = defaultdict(set)
    for qi, pi in zip(*np.nonzero(dist <= pdq_threshold), strict=True):
        a_id = int(mine[int(qok[qi])][0])
        b_id, b_case = int(pool[int(pok[pi])][0]), int(pool[int(pok[pi])][1])
        if (a_id, b_id) in exact_pairs:
            continue
        found[(a_id, b_case)][b_id] = int(dist[qi, pi])
        cases_per_media[a_id].add(b_case)
    for (a_id, other_case), others in found.items():
        d = min(others.values())
        n = 1 + len(cases_per_media[a_id])
        factor = rarity(n, n_cases)
        closeness = 1.0 - d / 64.0
        expl = (f"a similar image (PDQ distance {d} ≤ {pdq_threshold} of 256 bits) is in both cases; "
                f"{n} of {n_cases} cases hold a near copy (rarity ×{factor:.2f})")
        acc.add(other_case, MatchReason("media_pdq", f"pdq distance {d}", (a_id,), tuple(sorted(others)),
                                        round(MEDIA_PDQ_WEIGHT * closeness * factor, 4), expl, n))


# ====================================================================== attachments
# (this side, other side): the SQL of the rows holding a digest on each side. Attachment
# rows are live when their event is; ``label`` is the file's name (a seized file's path).
_ATT_SIDES = {  # table, id, its event (for ``deleted``), live, name
    "event": ("event_attachment AS {x}", "{x}.event_id", "JOIN event AS {x}e ON {x}e.id = {x}.event_id ",
              "{x}e.deleted = 0", "{x}.name"),
    "media": ("media AS {x}", "{x}.id", "", "{x}.deleted = 0", "{x}.path"),
}


def _attachment_pairs(conn: Connection, case_id: int, this: str, other: str, col: str) -> list[tuple[Any, ...]]:
    """(this id, this sha256, digest, this name, other case, other id, other name) of files
    with the same ``col`` digest on ``this`` side (event / media) in the case and on the
    ``other`` side in other live cases."""
    a_from, a_id, a_join, a_live, a_name = (p.format(x="a") for p in _ATT_SIDES[this])
    b_from, b_id, b_join, b_live, b_name = (p.format(x="b") for p in _ATT_SIDES[other])
    return _raw_rows(conn, (
        f"SELECT {a_id}, a.sha256, a.{col}, {a_name}, b.case_id, {b_id}, {b_name} "
        f"FROM {a_from} JOIN {b_from} ON b.{col} = a.{col} AND b.case_id != a.case_id "
        f'{a_join}{b_join}JOIN "case" AS cb ON cb.id = b.case_id '
        f"WHERE a.case_id = :c AND a.{col} IS NOT NULL AND a.{col} != '' AND {a_live} AND {b_live} "
        f"AND cb.deleted = 0"), {"c": case_id})


def _base_name(name: str | None) -> str:
    return (name or "").replace("\\", "/").rsplit("/", 1)[-1]


def _side_text(name: str, table: str, ids: set[int], place: str) -> str:
    """"'a.jpg' sent with message 12 here", "'b.jpg' seized there (media 40)"."""
    what = repr(name) if name else "a file"
    listed = ", ".join(map(str, sorted(ids)))
    if table == "event":
        return f"{what} sent with message{'s' if len(ids) > 1 else ''} {listed} {place}"
    return f"{what} seized {place} (media {listed})"


def _attachment_reasons(conn: Connection, case_id: int, n_cases: int, acc: _Acc) -> None:
    """Files sent with messages that are the same file (SHA-256, else MD5) as a message
    attachment or a seized file of another case, and seized files of this case sent with
    a message there. One reason per (file, other case, table here, table there)."""
    # (desc, other case, this table, other table) -> (this ids, other ids, this names, other names)
    groups: dict[tuple[str, int, str, str], tuple[set[int], set[int], set[str], set[str]]] = {}
    cases_per_hash: dict[str, set[int]] = defaultdict(set)
    seen: set[tuple[str, int, str, int]] = set()
    for this, other in (("event", "event"), ("event", "media"), ("media", "event")):
        for col in ("sha256", "md5"):
            for a_id, a_sha, h, a_name, b_case, b_id, b_name in _attachment_pairs(conn, case_id, this, other, col):
                pair = (this, int(a_id), other, int(b_id))
                if pair in seen:
                    continue
                seen.add(pair)
                desc = f"sha256:{a_sha}" if col == "sha256" or a_sha else f"md5:{h}"
                this_ids, other_ids, this_names, other_names = groups.setdefault(
                    (desc, int(b_case), this, other), (set(), set(), set(), set()))
                this_ids.add(int(a_id))
                other_ids.add(int(b_id))
                if a_name:
                    this_names.add(_base_name(a_name))
                if b_name:
                    other_names.add(_base_name(b_name))
                cases_per_hash[desc].add(int(b_case))
    if not groups:
        return
    # A file already counted as seized on both sides (media_exact) is not counted again.
    counted = {(r.key_or_desc, c) for c, rs in acc.by_case.items() for r in rs if r.kind == "media_exact"}
    for key in sorted(groups, key=lambda k: (k[1], k[0], k[2] != "event", k[3] != "event")):
        desc, other_case, this, other = key
        this_ids, other_ids, this_names, other_names = groups[key]
        n = 1 + len(cases_per_hash[desc])
        factor = rarity(n, n_cases)
        what = "SHA-256" if desc.startswith("sha256:") else "MD5"
        name = min(this_names) if this_names else ""
        there = min(other_names) if other_names else ""
        if (desc, other_case) in counted:
            weight, tail = 0.0, "; already counted for this case"
        else:
            counted.add((desc, other_case))
            weight, tail = MEDIA_ATTACHMENT_WEIGHT * factor, ""
        expl = (f"{_side_text(name, this, this_ids, 'here')} is exactly the same file as "
                f"{_side_text(there, other, other_ids, 'there')} ({what} match, {desc.split(':', 1)[1][:16]}…); "
                f"{n} of {n_cases} cases hold it (rarity ×{factor:.2f}){tail}")
        acc.add(other_case, MatchReason("media_attachment", desc, tuple(sorted(this_ids)), tuple(sorted(other_ids)),
                                        round(weight, 4), expl, n, name, this, other))


# ====================================================================== persons
@dataclass(frozen=True)
class _Person:
    """A person name to match: ``id`` is the live entity that stands for it (the survivor
    when the named entity was merged into another), ``label``/``dob`` its own values."""

    id: int
    case_id: int
    label: str
    dob: Any


_PERSON_SQL = ("SELECT e.id, e.case_id, e.label, e.merged_into{dob} "
               "FROM entity AS e WHERE e.kind = 'person' AND e.deleted = 0 AND {where}")
_DOB = ", json_extract(e.properties, '$.dob')"
_NO_DOB = object()  # date of birth not read yet (see person_matches)


def _persons(conn: Connection, where: str, params: dict[str, Any], *, with_merged: bool = False,
             dob: bool = True) -> list[tuple[int, int, str, Any, int]]:
    """(id, case_id, label, dob, row id) of live people; with ``with_merged`` also the
    names of people merged into others, under their survivor's id. Without ``dob`` the
    date of birth is left as a marker and read later only for name matches."""
    sql = _PERSON_SQL.format(dob=_DOB if dob else "", where=where) + (
        "" if with_merged else " AND e.merged_into IS NULL")
    rows = _raw_rows(conn, sql, params)
    merged = [r[0] for r in rows if r[3] is not None]
    surv = _survivors(conn, merged) if merged else {}
    out = []
    for r in rows:
        pid = r[0] if r[3] is None else surv.get(r[0])
        if pid is not None:
            out.append((pid, r[1], r[2], r[4] if dob else _NO_DOB, r[0]))
    return out


def _all_other_persons(conn: Connection, case_id: int, *, with_merged: bool = False, dob: bool = True
                       ) -> list[tuple[int, int, str, Any, int]]:
    # One index seek per case on (case_id, kind) instead of a scan of every entity.
    return _persons(conn, 'e.case_id IN (SELECT id FROM "case" WHERE deleted = 0 AND id != :c)', {"c": case_id},
                    with_merged=with_merged, dob=dob)


def _read_dobs(conn: Connection, row_ids: Iterable[int]) -> dict[int, Any]:
    ids = list(row_ids)
    out: dict[int, Any] = {}
    for i in range(0, len(ids), _CHUNK):
        marks = ", ".join(str(int(x)) for x in ids[i:i + _CHUNK])
        out.update(_raw_rows(conn, f"SELECT id, json_extract(properties, '$.dob') FROM entity WHERE id IN ({marks})",
                             {}))
    return out


def person_matches(this: Sequence[Any], pool: Sequence[Any], threshold: int, *,
                   conn: Connection | None = None) -> list[tuple[_Person, _Person, float, bool | None]]:
    """(this person, other person, name score, dob agreement) for name scores ≥ threshold
    whose dates of birth do not disagree. People are ``(id, case_id, label, dob[, row id])``
    tuples or objects with those attributes; a dob of ``_NO_DOB`` is read through ``conn``
    for the name matches only. The pool is grouped by name key first, so a name shared by
    thousands of people is compared once."""
    from rapidfuzz import fuzz, process

    def as_tuple(p: Any) -> tuple[Any, ...]:
        return p if isinstance(p, tuple) else (int(p.id), int(p.case_id), p.label, p.dob)

    mine_keys = [(t, name_key(t[2])) for t in map(as_tuple, this)]
    mine_keys = [(t, k) for t, k in mine_keys if k]
    by_key: dict[str, list[tuple[Any, ...]]] = {}
    label_key: dict[str, str | None] = {}
    for t in (pool if pool and isinstance(pool[0], tuple) else list(map(as_tuple, pool))):
        label = t[2]
        if label in label_key:
            k = label_key[label]
        else:
            k = label_key[label] = name_key(label)
        if k:
            by_key.setdefault(k, []).append(t)
    if not mine_keys or not by_key:
        return []
    keys = list(by_key)
    scores = process.cdist([k for _, k in mine_keys], keys, scorer=fuzz.token_sort_ratio,
                           score_cutoff=threshold, dtype=np.uint8, workers=-1)
    pairs = [(int(i), int(j)) for i, j in zip(*np.nonzero(scores >= threshold), strict=True)]
    dobs: dict[int, Any] = {}
    if conn is not None:
        need = {b[4] for _i, j in pairs for b in by_key[keys[j]] if b[3] is _NO_DOB}
        need |= {a[4] for a, _k in mine_keys if a[3] is _NO_DOB}
        if need:
            dobs = _read_dobs(conn, need)
    out: list[tuple[_Person, _Person, float, bool | None]] = []
    for i, j in pairs:
        a = mine_keys[i][0]
        a_dob = dobs.get(a[4]) if a[3] is _NO_DOB else a[3]
        score = float(scores[i, j])
        for b in by_key[keys[j]]:
            if a[0] == b[0]:
                continue
            b_dob = dobs.get(b[4]) if b[3] is _NO_DOB else b[3]
            agree = dob_agreement(a_dob, b_dob)
            if agree is False:
                continue
            out.append((_Person(a[0], a[1], a[2], a_dob), _Person(b[0], b[1], b[2], b_dob), score, agree))
    return out


def _person_reasons(conn: Connection, case_id: int, n_cases: int, acc: _Acc, threshold: int) -> None:
    # Names of merged people (aliases) count too, for their survivor.
    mine = _persons(conn, "e.case_id = :c", {"c": case_id}, with_merged=True)
    if not mine:
        return
    pool = _all_other_persons(conn, case_id, with_merged=True, dob=False)
    best: dict[tuple[int, int], tuple[Any, Any, float, bool | None]] = {}
    for m in person_matches(mine, pool, threshold, conn=conn):
        k = (int(m[0].id), int(m[1].id))
        if k not in best or (bool(m[3]), m[2]) > (bool(best[k][3]), best[k][2]):
            best[k] = m
    matches = list(best.values())
    cases_per_person: dict[int, set[int]] = defaultdict(set)
    for a, b, _s, _agree in matches:
        cases_per_person[int(a.id)].add(int(b.case_id))
    for a, b, score, agree in matches:
        n = 1 + len(cases_per_person[int(a.id)])
        factor = rarity(n, n_cases)
        ka, kb = name_key(a.label), name_key(b.label)
        if agree:
            base = PERSON_DOB_WEIGHT
            desc = f"name {ka!r} ~ {kb!r} ({score:.0f}), dob {a.dob}"
            expl = (f"person {a.label!r} here and {b.label!r} there: names agree ({score:.0f}/100) and so do "
                    f"the dates of birth ({a.dob} / {b.dob}); {n} of {n_cases} cases (rarity ×{factor:.2f})")
        else:
            base = PERSON_NAME_ONLY_WEIGHT
            desc = f"name only {ka!r} ~ {kb!r} ({score:.0f})"
            expl = (f"person {a.label!r} here and {b.label!r} there: names agree ({score:.0f}/100) but a date "
                    f"of birth is missing, so this is a weak hint; {n} of {n_cases} cases (rarity ×{factor:.2f})")
        acc.add(int(b.case_id), MatchReason("person", desc, (int(a.id),), (int(b.id),),
                                            round(base * score / 100.0 * factor, 4), expl, n, a.label))


# ====================================================================== public API
def case_connections(ws: Any, case_id: int, *, ip_window: timedelta = DEFAULT_IP_WINDOW,
                     pdq_threshold: int = DEFAULT_PDQ_THRESHOLD, pdq_min_quality: int = DEFAULT_PDQ_MIN_QUALITY,
                     name_threshold: int = DEFAULT_NAME_THRESHOLD, include_local_ips: bool = False,
                     kinds: Sequence[str] = REASON_KINDS) -> list[CaseConnection]:
    """Every other live case sharing evidence with ``case_id``, strongest score first.

    ``kinds`` limits the kinds of evidence looked at (see the module docstring for each
    and for the scoring). Raises NotFound for an unknown case, UsageError for bad options.
    """
    unknown = set(kinds) - set(REASON_KINDS)
    if unknown:
        raise UsageError(f"unknown match kind(s): {', '.join(sorted(unknown))}")
    if ip_window < timedelta(0):
        raise UsageError("the IP time window cannot be negative")
    if not 0 <= pdq_threshold <= 256:
        raise UsageError("the PDQ threshold must be between 0 and 256 bits")
    if not 0 <= name_threshold <= 100:
        raise UsageError("the name threshold must be between 0 and 100")
    acc = _Acc()
    with ws.db.read() as conn:
        _case_row(conn, case_id)
        n_cases = int(conn.execute(text('SELECT count(*) FROM "case" WHERE deleted = 0')).scalar_one())
        if "identifier" in kinds:
            _identifier_reasons(conn, case_id, n_cases, acc, int(ip_window.total_seconds() * 1_000_000),
                                include_local_ips)
        if "media_exact" in kinds or "media_pdq" in kinds:
            _media_reasons(conn, case_id, n_cases, acc, pdq="media_pdq" in kinds, exact="media_exact" in kinds,
                           pdq_threshold=pdq_threshold, pdq_min_quality=pdq_min_quality)
        if "media_attachment" in kinds:
            _attachment_reasons(conn, case_id, n_cases, acc)
        if "person" in kinds:
            _person_reasons(conn, case_id, n_cases, acc, name_threshold)
        if not acc.by_case:
            return []
        marks = ", ".join(str(int(c)) for c in acc.by_case)
        cases = {int(r[0]): (r[1], r[2]) for r in conn.execute(text(
            f'SELECT id, number, title FROM "case" WHERE id IN ({marks})'))}
    out = []
    for other, reasons in acc.by_case.items():
        reasons.sort(key=lambda r: (-r.weight, r.kind, r.key_or_desc))
        number, title = cases.get(other, ("", ""))
        out.append(CaseConnection(other, number, round(sum(r.weight for r in reasons), 4), tuple(reasons), title))
    out.sort(key=lambda c: (-c.score, c.other_case_number))
    return out


def other_occurrences(ws: Any, entity_id: int, *, name_threshold: int = DEFAULT_NAME_THRESHOLD) -> list[Occurrence]:
    """Where else this entity occurs: live entities of other cases with the same key (the
    keys of entities merged into it count too); for a person without a key, people of
    other cases whose names agree (≥ ``name_threshold``) and whose dates of birth agree
    (both known). Each occurrence is reported by its survivor, once, ordered by case
    number. Raises NotFound for an unknown or deleted entity."""
    with ws.db.read() as conn:
        row = conn.execute(text("SELECT id, case_id, kind, label, key, merged_into, deleted FROM entity WHERE id = :i"),
                           {"i": entity_id}).first()
        if row is None or row.deleted:
            raise NotFound(f"no entity with id {entity_id}")
        me = _survivors(conn, [entity_id]).get(entity_id)
        if me is None:
            raise NotFound(f"entity {entity_id} is merged into a deleted entity")
        me_row = conn.execute(text("SELECT id, case_id, kind, label, key, json_extract(properties, '$.dob') AS dob "
                                   "FROM entity WHERE id = :i"), {"i": me}).first()
        # The survivor and everything merged into it (any depth) speak for this entity.
        family = {me}
        frontier = [me]
        while frontier:
            marks = ", ".join(str(int(x)) for x in frontier)
            frontier = [int(r[0]) for r in conn.execute(text(
                f"SELECT id FROM entity WHERE merged_into IN ({marks}) AND deleted = 0"))
                if int(r[0]) not in family]
            family.update(frontier)
        marks = ", ".join(str(int(x)) for x in family)
        keys = [r[0] for r in conn.execute(text(
            f"SELECT DISTINCT key FROM entity WHERE id IN ({marks}) AND key IS NOT NULL"))]
        found: dict[int, int] = {}
        for key in keys:
            for r in conn.execute(text(
                    'SELECT e.id, e.case_id FROM entity AS e JOIN "case" AS c ON c.id = e.case_id '
                    'WHERE e.key = :k AND e.deleted = 0 AND c.deleted = 0 AND e.case_id != :c'),
                    {"k": key, "c": me_row.case_id}):
                found[int(r[0])] = int(r[1])
        survivors = _survivors(conn, found)
        result_ids = {s for s in survivors.values() if s is not None}
        if me_row.kind == "person" and not keys and me_row.dob:
            pool = _all_other_persons(conn, me_row.case_id, with_merged=True, dob=False)
            for _a, b, _s, agree in person_matches([me_row], pool, name_threshold, conn=conn):
                if agree:
                    result_ids.add(int(b.id))
        if not result_ids:
            return []
        marks = ", ".join(str(int(x)) for x in result_ids)
        rows = conn.execute(text(
            f'SELECT e.id, e.case_id, c.number, e.label, e.kind, e.key FROM entity AS e '
            f'JOIN "case" AS c ON c.id = e.case_id WHERE e.id IN ({marks}) AND e.case_id != :c'),
            {"c": me_row.case_id}).fetchall()
    out = [Occurrence(int(r.case_id), r.number, int(r.id), r.label, r.kind, r.key) for r in rows]
    out.sort(key=lambda o: (o.case_number, o.entity_id))
    return out
