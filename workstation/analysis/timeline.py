"""Timeline queries: a columnar index of a case's dated events, lanes, level-of-detail
buckets, stars and tags, time zones for display, and saved timeline views.

Why an in-memory index. A timeline must redraw within a frame while the officer pans and
zooms over a case of a million events. Counting a zoomed-out window with SQL (``GROUP BY``
over the ``(case_id, ts_utc)`` index plus a row lookup for the kind) costs about a second
on an encrypted file at that size, so the timeline reads the scope once — one indexed scan,
off the UI thread — into compact numpy columns (id, time, kind, case; the parties as a
second pair of columns) and every redraw is then a binary search and a ``bincount`` over
the visible slice. Details of one event (title, text, party labels) are read by primary
key when the officer points at it. ``sql_window_events`` and ``sql_bucket_counts`` give the
same answers straight from SQL for small windows, reports and tests.

Times are integer microseconds since the epoch, UTC, as stored (``event.ts_utc``).

Threads: ``load_index`` and ``read_index_patch`` do I/O and may run on any thread (they
take a ``progress(fraction, message)`` callback and a cancel token). A ``TimelineIndex``
and the ``LaneLayout`` built from it are plain data without locks: mutate an index on one
thread only (the UI applies patches on its own thread).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from sqlalchemy import select

from workstation.domain.models import ENTITY_KINDS, EVENT_KINDS, Changes
from workstation.errors import BadInput, Cancelled, NotFound, UsageError
from workstation.store import schema as s
from workstation.text import json_object

if TYPE_CHECKING:  # the service imports analysis modules; avoid the cycle at runtime
    from workstation.domain.service import Workstation

LANE_MODES: tuple[str, ...] = ("entity", "kind", "case")
ZONE_CHOICES: tuple[str, ...] = ("utc", "local", "case", "display")
MAX_ENTITY_LANES = 40
MAX_CASE_LANES = 60
# Above this many marks in the visible window the view draws per-bucket counts.
POINT_LIMIT = 5000
NO_PARTY_KEY = "none"
OTHER_KEY = "other"
VIEW_KEY_PREFIX = "timeline_view:"
VIEW_FORMAT = 1
MAX_TAG_CHARS = 64
MAX_TAGS = 32
MAX_VIEW_NAME = 80

US_PER_S = 1_000_000
_MIN = 60 * US_PER_S
_HOUR = 60 * _MIN
_DAY = 24 * _HOUR
# Bucket widths a person reads at a glance ("15 min", "6 h", "1 day"), smallest first.
NICE_BUCKETS_US: tuple[int, ...] = (
    1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
    US_PER_S, 2 * US_PER_S, 5 * US_PER_S, 10 * US_PER_S, 15 * US_PER_S, 30 * US_PER_S,
    _MIN, 2 * _MIN, 5 * _MIN, 10 * _MIN, 15 * _MIN, 30 * _MIN,
    _HOUR, 2 * _HOUR, 3 * _HOUR, 6 * _HOUR, 12 * _HOUR,
    _DAY, 2 * _DAY, 7 * _DAY, 14 * _DAY, 30 * _DAY, 91 * _DAY, 365 * _DAY,
)

ProgressFn = Callable[[float | None, str], None]


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


def _no_progress(_f: float | None, _m: str = "") -> None:
    return None


def _check(cancel: CancelFlag | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("loading the timeline was cancelled")


# ---------------------------------------------------------------------- stars and tags
def is_starred(properties: Mapping[str, Any] | None) -> bool:
    """Whether an event's properties mark it starred."""
    return bool(properties) and properties.get("starred") is True  # type: ignore[union-attr]


def event_tags(properties: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The tags stored in an event's properties (an empty tuple when none or malformed)."""
    raw = (properties or {}).get("tags")
    if not isinstance(raw, list):
        return ()
    return tuple(t for t in raw if isinstance(t, str) and t)


def normalise_tags(tags: Iterable[str] | str) -> tuple[str, ...]:
    """Clean officer-typed tags: split a string on commas, trim, drop empties and
    case-insensitive duplicates (first spelling kept), keep the order given.

    Raises BadInput naming the tag when one is longer than MAX_TAG_CHARS or there are more
    than MAX_TAGS.
    """
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    out: list[str] = []
    seen: set[str] = set()
    for raw in items:
        if not isinstance(raw, str):
            raise BadInput(f"tag {raw!r}: a tag must be text")
        tag = " ".join(raw.split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise BadInput(f"tag {tag[:20]!r}…: longer than {MAX_TAG_CHARS} characters")
        if tag.casefold() in seen:
            continue
        seen.add(tag.casefold())
        out.append(tag)
    if len(out) > MAX_TAGS:
        raise BadInput(f"{len(out)} tags on one event: at most {MAX_TAGS}")
    return tuple(out)


def with_star(properties: Mapping[str, Any] | None, starred: bool) -> dict[str, Any]:
    """A copy of ``properties`` with the star set (``"starred": true``) or removed."""
    out = dict(properties or {})
    if starred:
        out["starred"] = True
    else:
        out.pop("starred", None)
    return out


def with_tags(properties: Mapping[str, Any] | None, tags: Iterable[str] | str) -> dict[str, Any]:
    """A copy of ``properties`` with ``"tags"`` replaced (removed when empty)."""
    out = dict(properties or {})
    clean = normalise_tags(tags)
    if clean:
        out["tags"] = list(clean)
    else:
        out.pop("tags", None)
    return out


def set_starred(ws: Workstation, event_id: int, starred: bool) -> Changes:
    """Star or unstar one event (stored in its properties; audited as an event update)."""
    ev = ws.get_event(event_id)
    return ws.update_event(event_id, properties=with_star(ev.properties, starred))


def set_tags(ws: Workstation, event_id: int, tags: Iterable[str] | str) -> Changes:
    """Replace the tags of one event. Raises BadInput for an unusable tag."""
    ev = ws.get_event(event_id)
    return ws.update_event(event_id, properties=with_tags(ev.properties, tags))


# ---------------------------------------------------------------------- time zones
def system_zone() -> tzinfo:
    """The computer's own time zone, with its daylight-saving rules when they can be found
    (``TZ``, then ``/etc/localtime``); otherwise the current fixed offset."""
    candidates: list[str] = []
    env = os.environ.get("TZ", "").lstrip(":")
    if env:
        candidates.append(env)
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    local = datetime.now().astimezone().tzinfo
    return local if local is not None else UTC


def zone_name(tz: tzinfo, at_us: int | None = None) -> str:
    """A short name for ``tz``: its IANA key, else "UTC±hh:mm" at ``at_us`` (now by default)."""
    key = getattr(tz, "key", None)
    if key:
        return str(key)
    if tz is UTC:
        return "UTC"
    when = from_us(at_us) if at_us is not None else datetime.now(UTC)
    return format_offset(tz.utcoffset(when.astimezone(tz).replace(tzinfo=None)) or timedelta(0))


def format_offset(offset: timedelta) -> str:
    """UTC+hh:mm for a UTC offset (UTC−05:00 style, with a real minus sign)."""
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "\u2212"
    m = abs(minutes)
    return f"UTC{sign}{m // 60:02d}:{m % 60:02d}"


def resolve_zone(choice: str, *, case_timezone: str | None, display_timezone: str | None) -> tzinfo:
    """The time zone a timeline shows: ``utc``, ``local`` (this computer), ``case`` (the
    case's zone; UTC when the case has none) or ``display`` (the officer's setting).

    Raises UsageError for another choice; an unknown zone name falls back to UTC.
    """
    if choice not in ZONE_CHOICES:
        raise UsageError(f"time zone choice must be one of {', '.join(ZONE_CHOICES)}, not {choice!r}")
    if choice == "utc":
        return UTC
    if choice == "local":
        return system_zone()
    name = case_timezone if choice == "case" else display_timezone
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def from_us(ts_us: int) -> datetime:
    """UTC microseconds → aware UTC datetime."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(ts_us))


def to_us(dt: datetime) -> int:
    """Aware datetime → UTC microseconds (UsageError for a naive one)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise UsageError("a timeline time must carry a time zone")
    delta = dt.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


def offset_us(tz: tzinfo, at_us: int) -> int:
    """The UTC offset of ``tz`` at instant ``at_us``, in microseconds."""
    off = from_us(at_us).astimezone(tz).utcoffset() or timedelta(0)
    return int(off.total_seconds()) * US_PER_S


def nice_bucket_us(span_us: float, target_buckets: int) -> int:
    """The smallest readable bucket width giving at most ``target_buckets`` over ``span_us``."""
    want = max(1.0, float(span_us) / max(1, target_buckets))
    for b in NICE_BUCKETS_US:
        if b >= want:
            return b
    years = math.ceil(want / NICE_BUCKETS_US[-1])
    return years * NICE_BUCKETS_US[-1]


def bucket_label(bucket_us: int) -> str:
    """"15 min", "6 h", "1 day"… for a bucket width."""
    for unit, name in ((365 * _DAY, "year"), (_DAY, "day"), (_HOUR, "h"), (_MIN, "min"),
                       (US_PER_S, "s"), (1_000, "ms")):
        if bucket_us >= unit and bucket_us % unit == 0:
            n = bucket_us // unit
            if name in ("day", "year"):
                return f"{n} {name}{'s' if n != 1 else ''}"
            return f"{n} {name}"
    return f"{bucket_us} µs"


# ---------------------------------------------------------------------- time precision
#: Events whose source gives only the date (month, year) carry ``properties["time_precision"]``
#: and are stored at the start of that period in their own offset. Relating them by time,
#: they cover the whole period: a card purchase dated 2024-03-01 is "within 2 hours" of a
#: message at 15:00 that day, and lies inside a window from 14:00 to 16:00.
PRECISIONS: tuple[str, ...] = ("day", "month", "year")
#: The longest period a precision covers: how far before a window's start a covering event
#: may be stored (a leap year).
MAX_COVER_US = 366 * _DAY
_QUARTER_HOUR = 15 * _MIN


def time_precision(properties: Mapping[str, Any] | None) -> str | None:
    """"day", "month" or "year" when the source gave the event's time only to that; else None."""
    value = (properties or {}).get("time_precision")
    return value if value in PRECISIONS else None


def covered_until(ts_us: int, precision: str | None, utc_offset: int | None) -> int:
    """The exclusive end of the time an event stands for: ``ts_us + 1`` for a real instant;
    for a day (month, year) the next such start in the event's own offset (minutes east of
    UTC; none = UTC), as the source's calendar counts it — not the display zone's."""
    if precision == "day":
        return ts_us + _DAY
    if precision not in ("month", "year"):
        return ts_us + 1
    tz = timezone(timedelta(minutes=utc_offset or 0))
    local = from_us(ts_us).astimezone(tz)
    if precision == "year":
        nxt = local.replace(year=local.year + 1, month=1, day=1)
    else:
        nxt = (local.replace(day=1) + timedelta(days=32)).replace(day=1)
    return to_us(nxt)


def covered_span(ts_us: int, properties: Mapping[str, Any] | None, utc_offset: int | None) -> tuple[int, int]:
    """[start, end) in UTC microseconds of the time an event stands for (see covered_until)."""
    return ts_us, covered_until(ts_us, time_precision(properties), utc_offset)


def covered_until_sql(alias: str = "") -> str:
    """SQL for :func:`covered_until` over an event row (``alias.`` prefixed columns). Rows
    without the word in their properties skip the JSON parse: most events are instants."""
    a = f"{alias}." if alias else ""
    local = f"datetime({a}ts_utc / 1000000 + coalesce({a}utc_offset, 0) * 60, 'unixepoch')"

    def plus(step: str) -> str:
        return (f"{a}ts_utc + CAST(round((julianday({local}, '{step}') - julianday({local})) * 86400) "
                f"AS INTEGER) * 1000000")

    return (f"(CASE WHEN instr({a}properties, '\"time_precision\"') = 0 THEN {a}ts_utc + 1 "
            f"ELSE CASE json_extract({a}properties, '$.time_precision') "
            f"WHEN 'day' THEN {a}ts_utc + {_DAY} WHEN 'month' THEN {plus('+1 month')} "
            f"WHEN 'year' THEN {plus('+1 year')} ELSE {a}ts_utc + 1 END END)")


def overlap_sql(alias: str = "", start: str = ":start", end: str = ":end", wide: str = ":wide") -> str:
    """SQL keeping events whose covered time meets [start, end) — either bound may be the
    empty string for none. ``wide`` must be bound to ``start - MAX_COVER_US``: it keeps the
    scan on the ``(case_id, ts_utc)`` index, and only rows stored before the window's start
    are checked for a covering period."""
    a = f"{alias}." if alias else ""
    terms = []
    if end:
        terms.append(f"{a}ts_utc < {end}")
    if start:
        terms.append(f"{a}ts_utc >= {wide}")
        # A covering event is stored at a local midnight, and UTC offsets are whole quarter
        # hours: that test reads the index alone, so the row (its properties) is fetched
        # only for the few events of the year before the window that could cover it.
        terms.append(f"({a}ts_utc >= {start} OR ({a}ts_utc % {_QUARTER_HOUR} = 0 "
                     f"AND {covered_until_sql(alias)} > {start}))")
    return " AND ".join(terms) if terms else "1"


# ---------------------------------------------------------------------- the index
@dataclass(frozen=True)
class Lane:
    """One horizontal row of the timeline.

    ``key`` is "entity:<id>", "kind:<kind>", "case:<id>", "other" (entities beyond the lane
    cap) or "none" (events with no party); ``kind`` is the entity kind in entity mode.
    ``count`` is the number of marks drawn in the lane (with the filters applied).
    """

    key: str
    label: str
    kind: str | None
    count: int
    record_id: int | None = None


@dataclass(frozen=True)
class TimelineFilter:
    """Which events a timeline shows: kinds hidden, starred only, one tag."""

    hidden_kinds: frozenset[str] = frozenset()
    starred_only: bool = False
    tag: str | None = None


@dataclass
class TimelineIndex:
    """Every dated, live event of a scope (one or more cases) as numpy columns sorted by
    (time, id); the parties as (row, entity) pairs sorted by row.

    Build with :func:`load_index`. ``rows`` below are positions in the event columns.
    """

    case_ids: tuple[int, ...]
    ids: np.ndarray            # int64
    ts: np.ndarray             # int64, UTC microseconds, ascending
    kind: np.ndarray           # int16 → kinds
    case: np.ndarray           # int16 → case_ids
    starred: np.ndarray        # bool
    kinds: list[str]
    tags: dict[int, tuple[str, ...]]
    party_row: np.ndarray      # int64, ascending
    party_entity: np.ndarray   # int64
    entities: dict[int, tuple[str, str]]  # id → (kind, label)
    cases: dict[int, tuple[str, str, str | None]]  # id → (number, title, timezone)
    undated: int = 0
    #: int64, how long each event stands for (1 µs for an instant; a day, month or year for
    #: an event its source dated only so: see covered_until). None: all instants.
    span: np.ndarray | None = None
    _id_order: np.ndarray | None = field(default=None, repr=False)
    _kind_counts: dict[str, int] | None = field(default=None, repr=False)
    _max_span: int | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def extent(self) -> tuple[int, int] | None:
        """(first, last) event time, or None for an empty scope."""
        if not len(self):
            return None
        return int(self.ts[0]), int(self.ts[-1])

    @property
    def max_span(self) -> int:
        """The longest time an event of the index stands for (1 when all are instants)."""
        if self._max_span is None:
            self._max_span = int(self.span.max()) if self.span is not None and self.span.size else 1
        return self._max_span

    def _order(self) -> np.ndarray:
        if self._id_order is None:
            self._id_order = np.argsort(self.ids, kind="stable")
        return self._id_order

    def rows_of_ids(self, event_ids: Iterable[int]) -> np.ndarray:
        """Rows of the given event ids (ids not in the index are skipped)."""
        wanted = np.fromiter((int(i) for i in event_ids), dtype=np.int64)
        if not len(self) or not wanted.size:
            return np.empty(0, dtype=np.int64)
        order = self._order()
        sorted_ids = self.ids[order]
        pos = np.searchsorted(sorted_ids, wanted)
        pos = np.clip(pos, 0, len(sorted_ids) - 1)
        hit = sorted_ids[pos] == wanted
        return np.sort(order[pos[hit]])

    def row_of_id(self, event_id: int) -> int | None:
        rows = self.rows_of_ids([event_id])
        return int(rows[0]) if rows.size else None

    def parties_of_row(self, row: int) -> list[int]:
        """Entity ids taking part in the event at ``row``."""
        a, b = np.searchsorted(self.party_row, [row, row + 1])
        return [int(e) for e in self.party_entity[a:b]]

    def rows_of_entities(self, entity_ids: Iterable[int]) -> np.ndarray:
        """Rows of the events in which any of ``entity_ids`` takes part (sorted, unique)."""
        wanted = np.fromiter((int(i) for i in entity_ids), dtype=np.int64)
        if not wanted.size or not self.party_row.size:
            return np.empty(0, dtype=np.int64)
        return np.unique(self.party_row[np.isin(self.party_entity, wanted)])

    def kind_index(self, kind: str) -> int | None:
        try:
            return self.kinds.index(kind)
        except ValueError:
            return None

    def tags_in_use(self) -> list[str]:
        """Every tag on an event of the index, sorted case-insensitively."""
        seen: dict[str, str] = {}
        for tags in self.tags.values():
            for t in tags:
                seen.setdefault(t.casefold(), t)
        return sorted(seen.values(), key=str.casefold)

    def kind_counts(self) -> dict[str, int]:
        """Events per kind (computed once per state of the index)."""
        if self._kind_counts is None:
            counts = (np.bincount(self.kind, minlength=len(self.kinds)) if len(self)
                      else np.zeros(len(self.kinds), np.int64))
            self._kind_counts = {k: int(c) for k, c in zip(self.kinds, counts, strict=True)}
        return dict(self._kind_counts)

    # ------------------------------------------------------------------ filters
    def mask(self, flt: TimelineFilter | None) -> np.ndarray | None:
        """Boolean mask of the rows the filter keeps (None when it keeps every row)."""
        if flt is None:
            return None
        keep: np.ndarray | None = None
        hidden = [i for i, k in enumerate(self.kinds) if k in flt.hidden_kinds]
        if hidden:
            keep = ~np.isin(self.kind, np.asarray(hidden, dtype=self.kind.dtype))
        if flt.starred_only:
            keep = self.starred.copy() if keep is None else keep & self.starred
        if flt.tag:
            want = flt.tag.casefold()
            tagged = [i for i, tags in self.tags.items() if any(t.casefold() == want for t in tags)]
            has = np.zeros(len(self), dtype=bool)
            has[self.rows_of_ids(tagged)] = True
            keep = has if keep is None else keep & has
        return keep

    def density(self, start_us: int, end_us: int, bins: int,
                flt: TimelineFilter | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(edges, counts) of events per equal-width bin over [start, end)."""
        bins = max(1, int(bins))
        edges = np.linspace(start_us, end_us, bins + 1)
        keep = self.mask(flt)
        ts = self.ts if keep is None else self.ts[keep]
        a, b = np.searchsorted(ts, [start_us, end_us])
        part = ts[a:b]
        if not part.size or end_us <= start_us:
            return edges, np.zeros(bins, dtype=np.int64)
        idx = ((part - start_us) * bins // max(1, end_us - start_us)).astype(np.int64)
        np.clip(idx, 0, bins - 1, out=idx)
        return edges, np.bincount(idx, minlength=bins)

    # ------------------------------------------------------------------ lanes
    def layout(self, mode: str, flt: TimelineFilter | None = None, *,
               max_entity_lanes: int = MAX_ENTITY_LANES) -> LaneLayout:
        """The marks of ``mode`` lanes ("entity", "kind" or "case") with ``flt`` applied.

        Entity mode gives one mark per (event, party): the busiest ``max_entity_lanes - 1``
        entities keep a lane each (grouped by kind, people first), the rest share "Other
        entities"; events without a party get a "No party" lane. Empty lanes are dropped.
        """
        if mode not in LANE_MODES:
            raise UsageError(f"lane mode must be one of {', '.join(LANE_MODES)}, not {mode!r}")
        keep = self.mask(flt)
        if mode == "kind":
            return self._layout_simple(keep, self.kind, [
                (f"kind:{k}", _kind_text(k), None, None) for k in self.kinds])
        if mode == "case":
            infos = []
            for cid in self.case_ids:
                number, title, _tz = self.cases.get(cid, (str(cid), "", None))
                infos.append((f"case:{cid}", f"{number} {title}".strip(), None, cid))
            return self._layout_simple(keep, self.case, infos)
        return self._layout_entities(keep, max_entity_lanes)

    def _layout_simple(self, keep: np.ndarray | None, group: np.ndarray,
                       infos: Sequence[tuple[str, str, str | None, int | None]]) -> LaneLayout:
        rows = np.arange(len(self), dtype=np.int64) if keep is None else np.flatnonzero(keep)
        groups = group[rows].astype(np.int64)
        counts = np.bincount(groups, minlength=len(infos)) if rows.size else np.zeros(len(infos), np.int64)
        used = [i for i in range(len(infos)) if counts[i] > 0]
        lane_of = np.full(max(1, len(infos)), -1, dtype=np.int32)
        for lane, i in enumerate(used):
            lane_of[i] = lane
        lanes = tuple(Lane(infos[i][0], infos[i][1], infos[i][2], int(counts[i]), infos[i][3]) for i in used)
        return LaneLayout(self, lanes, rows, lane_of[groups] if rows.size else np.empty(0, np.int32))

    def _layout_entities(self, keep: np.ndarray | None, max_lanes: int) -> LaneLayout:
        prow, pent = self.party_row, self.party_entity
        if keep is not None and prow.size:
            sel = keep[prow]
            prow, pent = prow[sel], pent[sel]
        known = np.fromiter(self.entities.keys(), dtype=np.int64, count=len(self.entities))
        if pent.size and known.size:
            live = np.isin(pent, known)
            prow, pent = prow[live], pent[live]
        uniq, counts = (np.unique(pent, return_counts=True) if pent.size
                        else (np.empty(0, np.int64), np.empty(0, np.int64)))
        ranked = sorted(zip(uniq.tolist(), counts.tolist(), strict=True), key=lambda t: (-t[1], t[0]))
        overflow = len(ranked) > max_lanes
        kept = ranked[: max_lanes - 1] if overflow else ranked
        rest = ranked[len(kept):]
        kind_rank = {k: i for i, k in enumerate(("person", *[k for k in ENTITY_KINDS if k != "person"]))}

        def sort_key(t: tuple[int, int]) -> tuple[int, int, str]:
            kind, label = self.entities[t[0]]
            return (kind_rank.get(kind, len(kind_rank)), -t[1], label.casefold())

        kept.sort(key=sort_key)
        lanes: list[Lane] = []
        lane_by_entity: dict[int, int] = {}
        for eid, n in kept:
            kind, label = self.entities[eid]
            lane_by_entity[eid] = len(lanes)
            lanes.append(Lane(f"entity:{eid}", label, kind, int(n), eid))
        if rest:
            other_lane = len(lanes)
            for eid, _n in rest:
                lane_by_entity[eid] = other_lane
            lanes.append(Lane(OTHER_KEY, f"Other entities ({len(rest):,})", None,
                              int(sum(n for _e, n in rest))))
        # Events that no (live) entity takes part in still belong on the timeline.
        rows_all = np.arange(len(self), dtype=np.int64) if keep is None else np.flatnonzero(keep)
        has_party = np.zeros(len(self), dtype=bool)
        has_party[prow] = True
        lonely = rows_all[~has_party[rows_all]]
        mark_rows = [prow]
        if uniq.size:
            mapper = np.vectorize(lane_by_entity.__getitem__, otypes=[np.int32])
            lane_of_uniq = mapper(uniq)
            mark_lanes = [lane_of_uniq[np.searchsorted(uniq, pent)]]
        else:
            mark_lanes = [np.empty(0, np.int32)]
        if lonely.size:
            lanes.append(Lane(NO_PARTY_KEY, "No party", None, int(lonely.size)))
            mark_rows.append(lonely)
            mark_lanes.append(np.full(lonely.size, len(lanes) - 1, dtype=np.int32))
        rows = np.concatenate(mark_rows)
        lane = np.concatenate(mark_lanes).astype(np.int32)
        if len(mark_rows) > 1:
            order = np.argsort(rows, kind="stable")
            rows, lane = rows[order], lane[order]
        return LaneLayout(self, tuple(lanes), rows, lane)

    # ------------------------------------------------------------------ patches
    def apply(self, patch: IndexPatch) -> None:
        """Bring the index up to date with re-read events (edited, added, deleted).

        Star and tag edits are applied in place; anything that moves an event (time,
        kind, case, deletion, creation) rebuilds the columns.
        """
        present = self.rows_of_ids(patch.ids)
        in_place = bool(present.size == len(patch.rows) == len(patch.ids))
        if in_place:
            by_id = {r[0]: r for r in patch.rows}
            for row in present.tolist():
                eid, ts, kind, case_id, props, _parties, span = by_id[int(self.ids[row])]
                if (ts != int(self.ts[row]) or self.kinds[int(self.kind[row])] != kind
                        or span != (int(self.span[row]) if self.span is not None else 1)
                        or self.case_ids[int(self.case[row])] != case_id
                        or sorted(_parties) != sorted(self.parties_of_row(row))):
                    in_place = False
                    break
        self._kind_counts = None
        for eid, kind, label in patch.entities:
            self.entities[eid] = (kind, label)
        if patch.undated is not None:
            self.undated = patch.undated
        if in_place:
            for eid, _ts, _kind, _case, props, _p, _span in patch.rows:
                row = self.row_of_id(eid)
                assert row is not None
                self.starred[row] = is_starred(props)
                self._set_tags(eid, props)
            return
        self._rebuild(patch)

    def _set_tags(self, eid: int, props: Mapping[str, Any] | None) -> None:
        tags = event_tags(props)
        if tags:
            self.tags[eid] = tags
        else:
            self.tags.pop(eid, None)

    def _rebuild(self, patch: IndexPatch) -> None:
        gone = np.zeros(len(self), dtype=bool)
        gone[self.rows_of_ids(patch.ids)] = True
        keep_rows = np.flatnonzero(~gone)
        new_rows = [r for r in patch.rows if r[3] in self.case_ids]
        for name in sorted({r[2] for r in new_rows}):
            if name not in self.kinds:
                self.kinds.append(name)
        ids = np.concatenate([self.ids[keep_rows], np.array([r[0] for r in new_rows], dtype=np.int64)])
        ts = np.concatenate([self.ts[keep_rows], np.array([r[1] for r in new_rows], dtype=np.int64)])
        kind = np.concatenate([self.kind[keep_rows], np.array(
            [self.kinds.index(r[2]) for r in new_rows], dtype=np.int16)])
        case = np.concatenate([self.case[keep_rows], np.array(
            [self.case_ids.index(r[3]) for r in new_rows], dtype=np.int16)])
        starred = np.concatenate([self.starred[keep_rows], np.array(
            [is_starred(r[4]) for r in new_rows], dtype=bool)])
        old_span = self.span[keep_rows] if self.span is not None else np.ones(keep_rows.size, np.int64)
        span = np.concatenate([old_span, np.array([r[6] for r in new_rows], dtype=np.int64)])
        for eid in patch.ids:
            self.tags.pop(int(eid), None)
        for r in new_rows:
            self._set_tags(r[0], r[4])
        # Parties: keep those of untouched rows (renumbered), add the re-read ones.
        old_to_new = np.full(len(self), -1, dtype=np.int64)
        old_to_new[keep_rows] = np.arange(keep_rows.size)
        psel = old_to_new[self.party_row] >= 0 if self.party_row.size else np.zeros(0, bool)
        prow = [old_to_new[self.party_row[psel]]]
        pent = [self.party_entity[psel]]
        base = keep_rows.size
        extra_rows: list[int] = []
        extra_ents: list[int] = []
        for i, r in enumerate(new_rows):
            for e in r[5]:
                extra_rows.append(base + i)
                extra_ents.append(e)
        prow.append(np.array(extra_rows, dtype=np.int64))
        pent.append(np.array(extra_ents, dtype=np.int64))
        order = np.lexsort((ids, ts))
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        party_row = inverse[np.concatenate(prow)] if order.size else np.empty(0, np.int64)
        party_entity = np.concatenate(pent)
        porder = np.argsort(party_row, kind="stable")
        self.ids, self.ts, self.kind, self.case, self.starred = (
            ids[order], ts[order], kind[order], case[order], starred[order])
        self.span = span[order] if span.size and int(span.max()) > 1 else None
        self._max_span = None
        self.party_row, self.party_entity = party_row[porder], party_entity[porder]
        self._id_order = None


@dataclass(frozen=True)
class BucketCounts:
    """Marks per (lane, bucket, kind): bucket ``b`` covers [first_us + b*bucket_us, +bucket_us)."""

    first_us: int
    bucket_us: int
    counts: np.ndarray  # int64, shape (lanes, buckets, kinds)

    @property
    def n_buckets(self) -> int:
        return int(self.counts.shape[1])


@dataclass
class LaneLayout:
    """The marks of one lane arrangement: ``rows`` (event rows, ascending time), their
    ``lane`` numbers, times and kinds. One event may give several marks (entity mode).

    A mark covers [``ts``, ``until``): an instant for most events, the whole day (month,
    year) for an event its source dated only so; ``mid`` is where its dot is drawn (the
    middle of what it covers)."""

    index: TimelineIndex
    lanes: tuple[Lane, ...]
    rows: np.ndarray
    lane: np.ndarray
    ts: np.ndarray = field(init=False)
    kind: np.ndarray = field(init=False)
    until: np.ndarray = field(init=False)
    mid: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.ts = self.index.ts[self.rows] if self.rows.size else np.empty(0, np.int64)
        self.kind = self.index.kind[self.rows] if self.rows.size else np.empty(0, np.int16)
        if self.index.span is not None and self.rows.size:
            span = self.index.span[self.rows]
            self.until = self.ts + span
            self.mid = self.ts + span // 2
        else:
            self.until = self.ts + 1
            self.mid = self.ts

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @property
    def has_spans(self) -> bool:
        return self.index.max_span > 1

    def window(self, start_us: float, end_us: float) -> tuple[int, int]:
        """(first, past-last) mark positions of the marks that meet [start, end): those
        with start ≤ time < end, and before them any whose day (month, year) reaches into
        the window. The range may hold marks between those that end before the window
        (drawn out of sight); :meth:`count` counts only what meets it."""
        lo, hi = int(math.floor(start_us)), int(math.ceil(end_us))
        a, b = np.searchsorted(self.ts, [lo, hi])
        if self.has_spans and a:
            w = int(np.searchsorted(self.ts, lo - self.index.max_span))
            covering = np.flatnonzero(self.until[w:a] > lo)
            if covering.size:
                a = w + int(covering[0])
        return int(a), int(b)

    def count(self, start_us: float, end_us: float) -> int:
        a, b = self.window(start_us, end_us)
        if not self.has_spans:
            return b - a
        return int(np.count_nonzero(self.until[a:b] > int(math.floor(start_us))))

    def spanning(self, a: int, b: int) -> np.ndarray:
        """Positions (a + i) among marks a..b that cover more than an instant."""
        if not self.has_spans or b <= a:
            return np.empty(0, np.int64)
        return a + np.flatnonzero(self.until[a:b] - self.ts[a:b] > 1)

    def lane_index(self, key: str) -> int | None:
        for i, lane in enumerate(self.lanes):
            if lane.key == key:
                return i
        return None

    def buckets(self, start_us: float, end_us: float, bucket_us: int, *, origin_us: int = 0,
                rows_mask: np.ndarray | None = None) -> BucketCounts:
        """Counts per (lane, bucket, kind) over the window, buckets aligned on
        ``origin_us + k * bucket_us`` (pass a zone offset to start days at local midnight).

        ``rows_mask`` (over the index rows) keeps only some marks, e.g. the highlighted ones.
        """
        bucket_us = max(1, int(bucket_us))
        first = ((int(math.floor(start_us)) - origin_us) // bucket_us) * bucket_us + origin_us
        n_buckets = max(1, int(math.ceil((end_us - first) / bucket_us)))
        last = first + n_buckets * bucket_us
        # Counted where they start (a day mark in its first hour's bucket, not smeared).
        a, b = (int(i) for i in np.searchsorted(self.ts, [first, last]))
        n_lanes, n_kinds = max(1, len(self.lanes)), max(1, len(self.index.kinds))
        ts, lane, kind = self.ts[a:b], self.lane[a:b], self.kind[a:b]
        if rows_mask is not None and b > a:
            sel = rows_mask[self.rows[a:b]]
            ts, lane, kind = ts[sel], lane[sel], kind[sel]
        if not ts.size:
            return BucketCounts(first, bucket_us, np.zeros((n_lanes, n_buckets, n_kinds), np.int64))
        bucket = (ts - first) // bucket_us
        flat = (lane.astype(np.int64) * n_buckets + bucket) * n_kinds + kind
        counts = np.bincount(flat, minlength=n_lanes * n_buckets * n_kinds)
        return BucketCounts(first, bucket_us, counts.reshape(n_lanes, n_buckets, n_kinds))

    def nearest(self, at_us: float, lane: int, tolerance_us: float) -> int | None:
        """Position of the mark in ``lane`` nearest ``at_us`` within the tolerance: an
        instant's dot, or a day (month, year) anywhere along what it covers — an instant
        within the tolerance wins over a span drawn under it."""
        a, b = self.window(at_us - tolerance_us, at_us + tolerance_us + 1)
        if b <= a:
            return None
        sel = np.flatnonzero(self.lane[a:b] == lane)
        if not sel.size:
            return None
        ts, until = self.ts[a:b][sel], self.until[a:b][sel]
        span = until - ts
        dist = np.abs(ts - at_us)
        near = np.flatnonzero((span <= 1) & (dist <= tolerance_us))
        if near.size:
            return a + int(sel[near[np.argmin(dist[near])]])
        # Else the shortest day (month, year) drawn under the point.
        reach = np.flatnonzero((span > 1) & (ts - tolerance_us <= at_us) & (at_us < until + tolerance_us))
        if not reach.size:
            return None
        return a + int(sel[reach[np.argmin(span[reach])]])


def _kind_text(kind: str) -> str:
    special = {"media_capture": "Media capture", "ip": "IP address"}
    return special.get(kind, kind.replace("_", " ").capitalize())


# ---------------------------------------------------------------------- loading
# Distinct kinds of a case by hopping through the (case_id, kind) index: one seek per kind.
_KINDS_SQL = ("WITH RECURSIVE k(kind) AS (SELECT min(kind) FROM event WHERE case_id = ?1 "
              "UNION ALL SELECT (SELECT min(kind) FROM event WHERE case_id = ?1 AND kind > k.kind) "
              "FROM k WHERE k.kind IS NOT NULL) SELECT kind FROM k WHERE kind IS NOT NULL")
# Rows leave SQLite as one comma-separated text per chunk (group_concat) parsed by numpy in
# C: building a Python tuple and int objects per row would cost more than the reading.
# Chunks walk the (case_id, ts_utc) index by keyset so memory stays bounded.
_EVENT_SQL = ("SELECT group_concat(id || ',' || ts_utc || ',' || {kind_case} || ',' || "
              "(instr(properties, '\"starred\"') > 0 OR instr(properties, '\"tags\"') > 0) || ',' || deleted "
              "|| ',' || ({covered} - ts_utc), ',') "
              "FROM (SELECT id, ts_utc, kind, properties, deleted, utc_offset FROM event WHERE case_id = ? "
              "AND ts_utc IS NOT NULL AND (ts_utc, id) > (?, ?) ORDER BY ts_utc, id LIMIT ?)")
_PARTY_RANGE_SQL = ("SELECT group_concat(event_id || ',' || entity_id, ',') FROM event_party "
                    "WHERE id > ? AND id <= ?")
_PARTY_ENTITIES_SQL = ("SELECT group_concat(event_id || ',' || entity_id, ',') FROM event_party "
                       "WHERE entity_id IN ({marks})")
FETCH = 200_000
# Above this share of all events a sequential pass over event_party beats index lookups.
PARTY_SCAN_SHARE = 0.3


def _parse_ints(text: str | None, width: int) -> np.ndarray:
    if not text:
        return np.empty((0, width), dtype=np.int64)
    return _fromtext(text).reshape(-1, width)


def _fromtext(text: str) -> np.ndarray:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.fromstring(text, dtype=np.int64, sep=",")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def load_index(ws: Workstation, case_ids: Sequence[int], *, progress: ProgressFn | None = None,
               cancel: CancelFlag | None = None) -> TimelineIndex:
    """Read every dated, live event of ``case_ids`` (and its parties) into a TimelineIndex.

    One read transaction (a consistent snapshot); events are read per case through the
    ``(case_id, ts_utc)`` index, kinds found through the ``(case_id, kind)`` index. Raises
    NotFound for an unknown case, Cancelled when ``cancel`` is set. Thread: any (not the
    UI thread for big cases: about 3-5 s per million events on an encrypted file).
    """
    report = progress or _no_progress
    scope = tuple(dict.fromkeys(int(c) for c in case_ids))
    kinds: list[str] = []
    kind_at: dict[str, int] = {}
    event_parts: list[np.ndarray] = []
    case_parts: list[np.ndarray] = []
    party_parts: list[np.ndarray] = []
    entities: dict[int, tuple[str, str]] = {}
    cases: dict[int, tuple[str, str, str | None]] = {}
    tags: dict[int, tuple[str, ...]] = {}
    starred_ids: list[int] = []
    undated = 0
    with ws.db.read() as conn:
        if scope:
            found = conn.execute(select(s.case.c.id, s.case.c.number, s.case.c.title, s.case.c.timezone)
                                 .where(s.case.c.id.in_(scope), s.case.c.deleted.is_(False))).fetchall()
            cases = {r.id: (r.number, r.title, r.timezone) for r in found}
            missing = [c for c in scope if c not in cases]
            if missing:
                raise NotFound(f"no case with id {missing[0]}")
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            sizes = {c: int(cur.execute("SELECT count(*) FROM event WHERE case_id = ?", (c,)).fetchone()[0])
                     for c in scope}
            expected = max(1, sum(sizes.values()))
            all_events = int(cur.execute("SELECT coalesce(max(id), 0) FROM event").fetchone()[0]) or 1
            done = 0

            def advance(n: int) -> None:
                nonlocal done
                done += n
                report(min(0.75, 0.75 * done / expected), f"{done:,} of {expected:,} events read")

            for ci, cid in enumerate(scope):
                _check(cancel)
                undated += int(cur.execute(
                    "SELECT count(*) FROM event WHERE case_id = ? AND ts_utc IS NULL AND deleted = 0",
                    (cid,)).fetchone()[0])
                case_kinds = [r[0] for r in cur.execute(_KINDS_SQL, (cid,)).fetchall()]
                for k in case_kinds:
                    if k not in kind_at:
                        kind_at[k] = len(kinds)
                        kinds.append(k)
                kind_case = ("CASE kind " + " ".join(f"WHEN {_sql_text(k)} THEN {kind_at[k]}" for k in case_kinds)
                             + " ELSE -1 END") if case_kinds else "-1"
                sql = _EVENT_SQL.format(kind_case=kind_case, covered=covered_until_sql())
                last_ts, last_id = -(2 ** 62), 0
                chunks: list[np.ndarray] = []
                while True:
                    _check(cancel)
                    part = _parse_ints(cur.execute(sql, (cid, last_ts, last_id, FETCH)).fetchone()[0], 6)
                    if not part.shape[0]:
                        break
                    tail = np.lexsort((part[:, 0], part[:, 1]))[-1]
                    last_ts, last_id = int(part[tail, 1]), int(part[tail, 0])
                    chunks.append(part[(part[:, 4] == 0) & (part[:, 2] >= 0)][:, [0, 1, 2, 3, 5]])
                    advance(part.shape[0])
                rows = np.concatenate(chunks) if chunks else np.empty((0, 5), np.int64)
                event_parts.append(rows)
                case_parts.append(np.full(rows.shape[0], ci, dtype=np.int16))
                flagged = rows[rows[:, 3] != 0, 0].tolist()
                for i in range(0, len(flagged), 900):
                    chunk = flagged[i:i + 900]
                    for eid, props in cur.execute(
                            "SELECT id, properties FROM event WHERE id IN (%s)" % ",".join("?" * len(chunk)), chunk):
                        d = json_object(props)
                        if is_starred(d):
                            starred_ids.append(int(eid))
                        t = event_tags(d)
                        if t:
                            tags[int(eid)] = t
                for eid_, kind_, label_ in cur.execute(
                        "SELECT id, kind, label FROM entity WHERE case_id = ? AND deleted = 0 "
                        "AND merged_into IS NULL", (cid,)):
                    entities[int(eid_)] = (kind_, label_)
            _check(cancel)
            report(0.75, "reading parties")
            if sum(sizes.values()) >= PARTY_SCAN_SHARE * all_events:
                top = int(cur.execute("SELECT coalesce(max(id), 0) FROM event_party").fetchone()[0])
                for lo in range(0, top, FETCH * 2):
                    _check(cancel)
                    party_parts.append(_parse_ints(
                        cur.execute(_PARTY_RANGE_SQL, (lo, lo + FETCH * 2)).fetchone()[0], 2))
                    report(0.75 + 0.2 * min(1.0, (lo + FETCH * 2) / max(1, top)), "reading parties")
            else:
                scope_entities = list(entities)
                for i in range(0, len(scope_entities), 500):
                    _check(cancel)
                    chunk = scope_entities[i:i + 500]
                    party_parts.append(_parse_ints(cur.execute(
                        _PARTY_ENTITIES_SQL.format(marks=",".join("?" * len(chunk))), chunk).fetchone()[0], 2))
        finally:
            cur.close()

    events = np.concatenate(event_parts) if event_parts else np.empty((0, 5), np.int64)
    case_col = np.concatenate(case_parts) if case_parts else np.empty(0, np.int16)
    ids, ts = events[:, 0].copy(), events[:, 1].copy()
    order = np.lexsort((ids, ts))
    index = TimelineIndex(
        case_ids=scope, ids=ids[order], ts=ts[order], kind=events[:, 2].astype(np.int16)[order],
        case=case_col[order], starred=np.zeros(ids.size, dtype=bool), kinds=kinds, tags=tags,
        party_row=np.empty(0, np.int64), party_entity=np.empty(0, np.int64),
        entities=entities, cases=cases, undated=undated,
        span=events[:, 4][order] if events.shape[0] and int(events[:, 4].max()) > 1 else None)
    if starred_ids:
        index.starred[index.rows_of_ids(starred_ids)] = True
    parties = np.concatenate(party_parts) if party_parts else np.empty((0, 2), np.int64)
    if parties.size and len(index):
        pev, pent = parties[:, 0], parties[:, 1]
        id_order = index._order()
        sorted_ids = index.ids[id_order]
        pos = np.clip(np.searchsorted(sorted_ids, pev), 0, len(sorted_ids) - 1)
        # Parties of other cases, of deleted or undated events, and deleted or merged-away
        # entities drop out here.
        live = np.fromiter(entities.keys(), dtype=np.int64, count=len(entities))
        hit = (sorted_ids[pos] == pev) & np.isin(pent, live)
        prow = id_order[pos[hit]]
        pent = pent[hit]
        porder = np.argsort(prow, kind="stable")
        index.party_row, index.party_entity = prow[porder], pent[porder]
    # Kinds in the order officers know them (colours and legend stay put between cases).
    _sort_kinds(index)
    report(1.0, f"{len(index):,} events")
    return index


def _sort_kinds(index: TimelineIndex) -> None:
    rank = {k: i for i, k in enumerate(EVENT_KINDS)}
    wanted = sorted(index.kinds, key=lambda k: (rank.get(k, len(rank)), k))
    if wanted == index.kinds:
        return
    remap = np.array([wanted.index(k) for k in index.kinds], dtype=np.int16)
    index.kind = remap[index.kind] if index.kind.size else index.kind
    index.kinds = wanted


@dataclass(frozen=True)
class IndexPatch:
    """Fresh state of some events for :meth:`TimelineIndex.apply`: ``rows`` hold
    (id, ts_utc, kind, case_id, properties, party entity ids, span) of the live, dated ones
    (span: how long the event stands for, see :func:`covered_until`)."""

    ids: tuple[int, ...]
    rows: tuple[tuple[int, int, str, int, dict[str, Any], tuple[int, ...], int], ...]
    entities: tuple[tuple[int, str, str], ...] = ()
    undated: int | None = None


def read_index_patch(ws: Workstation, event_ids: Iterable[int], *,
                     case_ids: Sequence[int] = ()) -> IndexPatch:
    """Re-read ``event_ids`` for an index patch (deleted or undated events come back as
    absent rows, so applying the patch removes them); with ``case_ids`` the count of
    undated events of that scope is re-read too. Thread: any."""
    ids = tuple(dict.fromkeys(int(i) for i in event_ids))
    rows: list[tuple[int, int, str, int, dict[str, Any], tuple[int, ...], int]] = []
    ents: list[tuple[int, str, str]] = []
    undated: int | None = None
    with ws.db.read() as conn:
        if case_ids:
            undated = sum(int(conn.exec_driver_sql(
                "SELECT count(*) FROM event WHERE case_id = ? AND ts_utc IS NULL AND deleted = 0",
                (int(c),)).scalar_one()) for c in case_ids)
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            found = conn.execute(select(s.event.c.id, s.event.c.ts_utc, s.event.c.kind, s.event.c.case_id,
                                        s.event.c.properties, s.event.c.deleted, s.event.c.utc_offset)
                                 .where(s.event.c.id.in_(chunk))).fetchall()
            parties: dict[int, list[int]] = {}
            for eid, ent in conn.execute(select(s.event_party.c.event_id, s.event_party.c.entity_id)
                                         .where(s.event_party.c.event_id.in_(chunk))
                                         .order_by(s.event_party.c.id)):
                parties.setdefault(eid, []).append(ent)
            for r in found:
                if r.deleted:
                    continue
                if r.ts_utc is None:
                    continue
                props = json_object(r.properties)
                start, until = covered_span(int(r.ts_utc), props, r.utc_offset)
                rows.append((r.id, start, r.kind, r.case_id, props, tuple(parties.get(r.id, ())), until - start))
        wanted = sorted({e for r in rows for e in r[5]})
        for i in range(0, len(wanted), 900):
            for e in conn.execute(select(s.entity.c.id, s.entity.c.kind, s.entity.c.label).where(
                    s.entity.c.id.in_(wanted[i:i + 900]), s.entity.c.deleted.is_(False),
                    s.entity.c.merged_into.is_(None))):
                ents.append((int(e.id), str(e.kind), str(e.label)))
    return IndexPatch(ids, tuple(rows), tuple(ents), undated)


# ---------------------------------------------------------------------- direct SQL
@dataclass(frozen=True)
class WindowEvent:
    id: int
    ts_utc: int
    kind: str
    title: str
    case_id: int


def case_extent(ws: Workstation, case_id: int) -> tuple[int, int] | None:
    """(first, last) time of the case's live dated events, read at the two ends of the
    ``(case_id, ts_utc)`` index; None when the case has none."""
    sql = ("SELECT ts_utc FROM event WHERE case_id = ? AND ts_utc IS NOT NULL AND deleted = 0 "
           "ORDER BY ts_utc {} LIMIT 1")
    with ws.db.read() as conn:
        first = conn.exec_driver_sql(sql.format("ASC"), (case_id,)).scalar()
        last = conn.exec_driver_sql(sql.format("DESC"), (case_id,)).scalar()
    if first is None or last is None:
        return None
    return int(first), int(last)


def sql_window_events(ws: Workstation, case_id: int, start_us: int, end_us: int, *,
                      limit: int = POINT_LIMIT + 1) -> list[WindowEvent]:
    """Live events with start ≤ time < end in time order, at most ``limit``: an index range
    scan on ``(case_id, ts_utc)``. An event known to the day (month, year) only is in the
    window when its day meets it (see :func:`covered_until`)."""
    sql = (f"SELECT id, ts_utc, kind, title, case_id FROM event WHERE case_id = :case AND "
           f"{overlap_sql()} AND deleted = 0 ORDER BY ts_utc, id LIMIT :limit")
    params = {"case": case_id, "start": int(start_us), "end": int(end_us), "wide": int(start_us) - MAX_COVER_US,
              "limit": int(limit)}
    with ws.db.read() as conn:
        rows = conn.exec_driver_sql(sql, params).fetchall()
    return [WindowEvent(int(r[0]), int(r[1]), r[2], r[3], int(r[4])) for r in rows]


def sql_bucket_counts(ws: Workstation, case_id: int, start_us: int, end_us: int, bucket_us: int, *,
                      origin_us: int = 0, lane_mode: str = "kind") -> dict[tuple[str, int, str], int]:
    """Counts per (lane key, bucket number, kind) straight from SQL (``GROUP BY`` over the
    ``(case_id, ts_utc)`` range), buckets numbered as :meth:`LaneLayout.buckets` numbers
    them. Lane keys are "kind:<kind>" or "entity:<id>" (every party, no lane cap).
    """
    if lane_mode not in ("kind", "entity"):
        raise UsageError("sql_bucket_counts supports the kind and entity lane modes")
    first = ((int(start_us) - origin_us) // bucket_us) * bucket_us + origin_us
    if lane_mode == "kind":
        sql = ("SELECT 'kind:' || kind, (ts_utc - ?) / ?, kind, count(*) FROM event "
               "WHERE case_id = ? AND ts_utc >= ? AND ts_utc < ? AND deleted = 0 GROUP BY 1, 2, 3")
    else:
        sql = ("SELECT 'entity:' || ep.entity_id, (e.ts_utc - ?) / ?, e.kind, count(*) FROM event e "
               "JOIN event_party ep ON ep.event_id = e.id JOIN entity n ON n.id = ep.entity_id "
               "WHERE e.case_id = ? AND e.ts_utc >= ? AND e.ts_utc < ? AND e.deleted = 0 "
               "AND n.deleted = 0 GROUP BY 1, 2, 3")
    with ws.db.read() as conn:
        rows = conn.exec_driver_sql(sql, (first, bucket_us, case_id, first, int(end_us))).fetchall()
    return {(r[0], int(r[1]), r[2]): int(r[3]) for r in rows}


# ---------------------------------------------------------------------- saved views
@dataclass(frozen=True)
class TimelineView:
    """What the officer sees, restorable later: lanes, zone, visible window, the range
    filter, hidden kinds, starred-only and tag filters. Times in UTC microseconds."""

    lane_mode: str = "entity"
    zone: str = "display"
    start_us: int | None = None
    end_us: int | None = None
    range_start_us: int | None = None
    range_end_us: int | None = None
    hidden_kinds: tuple[str, ...] = ()
    starred_only: bool = False
    tag: str | None = None

    def validated(self) -> TimelineView:
        """This view checked field by field (BadInput naming the field)."""
        if self.lane_mode not in LANE_MODES:
            raise BadInput(f"timeline view field lane_mode: {self.lane_mode!r} is not one of {', '.join(LANE_MODES)}")
        if self.zone not in ZONE_CHOICES:
            raise BadInput(f"timeline view field zone: {self.zone!r} is not one of {', '.join(ZONE_CHOICES)}")
        for a, b in (("start_us", "end_us"), ("range_start_us", "range_end_us")):
            va, vb = getattr(self, a), getattr(self, b)
            for name, v in ((a, va), (b, vb)):
                if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                    raise BadInput(f"timeline view field {name}: {v!r} is not a whole number of microseconds")
            if (va is None) != (vb is None):
                raise BadInput(f"timeline view fields {a}/{b}: give both or neither")
            if va is not None and vb is not None and vb <= va:
                raise BadInput(f"timeline view fields {a}/{b}: the end must come after the start")
        if not all(isinstance(k, str) and k for k in self.hidden_kinds):
            raise BadInput("timeline view field hidden_kinds: must be a list of kind names")
        if not isinstance(self.starred_only, bool):
            raise BadInput(f"timeline view field starred_only: {self.starred_only!r} is not true/false")
        if self.tag is not None and not isinstance(self.tag, str):
            raise BadInput(f"timeline view field tag: {self.tag!r} is not text")
        return replace(self, hidden_kinds=tuple(sorted(set(self.hidden_kinds))),
                       tag=(self.tag or "").strip() or None)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden_kinds"] = list(self.hidden_kinds)
        return d

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TimelineView:
        """A view from stored JSON: unknown keys ignored, each field validated."""
        if not isinstance(raw, Mapping):
            raise BadInput("timeline view: not a JSON object")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        if "hidden_kinds" in values:
            hk = values["hidden_kinds"]
            if not isinstance(hk, (list, tuple)):
                raise BadInput("timeline view field hidden_kinds: must be a list of kind names")
            values["hidden_kinds"] = tuple(hk)
        return cls(**values).validated()


def _view_key(conn: Any, case_id: int) -> str:
    uid = conn.execute(select(s.case.c.uid).where(s.case.c.id == case_id,
                                                   s.case.c.deleted.is_(False))).scalar()
    if uid is None:
        raise NotFound(f"no case with id {case_id}")
    return f"{VIEW_KEY_PREFIX}{uid}"


def _read_views(ws: Workstation, conn: Any, key: str) -> dict[str, Any]:
    raw = ws.db.meta_get(conn, key)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise BadInput(f"saved timeline views ({key}): stored text is not JSON") from None
    views = data.get("views") if isinstance(data, dict) else None
    if not isinstance(views, dict):
        raise BadInput(f"saved timeline views ({key}): no 'views' object")
    return views


def _clean_name(name: str) -> str:
    clean = " ".join((name or "").split())
    if not clean:
        raise UsageError("a saved view needs a name")
    if len(clean) > MAX_VIEW_NAME:
        raise UsageError(f"a view name is at most {MAX_VIEW_NAME} characters")
    return clean


def save_view(ws: Workstation, case_id: int, name: str, view: TimelineView) -> Changes:
    """Store ``view`` under ``name`` for the case (replacing one of that name), in the
    ``meta`` table under ``timeline_view:<case uid>``; audited. Local to this database
    (meta rows do not sync)."""
    name = _clean_name(name)
    view = view.validated()
    with ws.db.write() as conn:
        key = _view_key(conn, case_id)
        views = _read_views(ws, conn, key)
        views[name] = {**view.to_dict(), "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        ws.db.meta_set(conn, key, json.dumps({"format": VIEW_FORMAT, "views": views}, sort_keys=True))
        ws.audit.append(conn, "timeline.view.save", "case", case_id, {"name": name})
    return Changes("timeline_view", "saved", (case_id,), case_id, {"name": name})


def load_view(ws: Workstation, case_id: int, name: str) -> TimelineView:
    """The view saved as ``name`` for the case (NotFound when there is none; BadInput
    naming the field when the stored view is unusable)."""
    name = _clean_name(name)
    with ws.db.read() as conn:
        views = _read_views(ws, conn, _view_key(conn, case_id))
    if name not in views:
        raise NotFound(f"no saved timeline view {name!r} for this case")
    return TimelineView.from_dict(views[name])


def list_views(ws: Workstation, case_id: int) -> list[str]:
    """Names of the case's saved timeline views, sorted case-insensitively."""
    with ws.db.read() as conn:
        views = _read_views(ws, conn, _view_key(conn, case_id))
    return sorted(views, key=str.casefold)


def delete_view(ws: Workstation, case_id: int, name: str) -> Changes:
    """Remove a saved view (NotFound when absent); audited."""
    name = _clean_name(name)
    with ws.db.write() as conn:
        key = _view_key(conn, case_id)
        views = _read_views(ws, conn, key)
        if name not in views:
            raise NotFound(f"no saved timeline view {name!r} for this case")
        del views[name]
        ws.db.meta_set(conn, key, json.dumps({"format": VIEW_FORMAT, "views": views}, sort_keys=True))
        ws.audit.append(conn, "timeline.view.delete", "case", case_id, {"name": name})
    return Changes("timeline_view", "deleted", (case_id,), case_id, {"name": name})


__all__ = [
    "LANE_MODES", "ZONE_CHOICES", "POINT_LIMIT", "Lane", "TimelineFilter", "TimelineIndex", "LaneLayout",
    "BucketCounts", "IndexPatch", "TimelineView", "WindowEvent", "load_index", "read_index_patch",
    "case_extent", "sql_window_events", "sql_bucket_counts", "save_view", "load_view", "list_views",
    "delete_view", "set_starred", "set_tags", "with_star", "with_tags", "normalise_tags", "is_starred",
    "event_tags", "resolve_zone", "system_zone", "zone_name", "nice_bucket_us", "bucket_label",
    "offset_us", "from_us", "to_us", "format_offset", "PRECISIONS", "MAX_COVER_US", "time_precision",
    "covered_until", "covered_span", "covered_until_sql", "overlap_sql",
]
