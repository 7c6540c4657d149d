"""How values are written on screen: times in the display timezone, sharing, provenance.

Times are stored in UTC (events keep their original offset); the officer chooses one
display timezone in Settings and every view writes times in it, with the original
offset in tooltips. Pure functions, no Qt: any thread.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workstation.domain.models import CaseInfo, EventInfo, SourceInfo

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SHARING_TEXT = {"local": "Local only", "hq": "Shared with HQ", "agencies": "Shared with agencies"}
KIND_TEXT = {
    "ip": "IP address", "url": "URL / website", "bank_account": "Bank account",
    "card": "Payment card", "account": "Online account", "media_capture": "Media capture",
    "email": "E-mail",
}


@lru_cache(maxsize=64)
def zone(name: str | None) -> ZoneInfo | timezone:
    """The timezone called ``name``; UTC when the name is empty or unknown."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def micros_to_datetime(ts_utc: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ts_utc)


def format_ts(ts_utc: int | None, tz_name: str | None) -> str:
    """UTC microseconds → "YYYY-MM-DD HH:MM:SS" in the display timezone ("" when unknown)."""
    if ts_utc is None:
        return ""
    return micros_to_datetime(ts_utc).astimezone(zone(tz_name)).strftime(TIME_FORMAT)


DATE_FORMAT = "%Y-%m-%d"
TIME_UNKNOWN = "time of day unknown"


def is_day_precision(ev: EventInfo) -> bool:
    """Whether the source gave the event's day and no time of day: it is stored at the
    start of that day (``properties["time_precision"] == "day"``, set by the importers
    of date-only statements and lists), and that midnight must not be shown as a time."""
    props = ev.properties
    return bool(props) and props.get("time_precision") == "day"


def event_day(ev: EventInfo) -> str:
    """The day of a day-precision event as the source wrote it ("YYYY-MM-DD"): read in the
    event's own offset, since the day need not be the same day in the display zone."""
    at = ev.occurred_at
    return at.strftime(DATE_FORMAT) if at is not None else ""


#: How a time the source gave only to the day, month or year is written (the interop import
#: also brings "month" and "year").
PRECISION_FORMAT = {"year": "%Y", "month": "%Y-%m", "day": DATE_FORMAT}


def format_event_time(ev: EventInfo, tz_name: str | None) -> str:
    """An event's time for a table cell or a label: "YYYY-MM-DD HH:MM:SS" in the display
    zone, or for an event known to the day (month, year) only, that date as the source
    wrote it, "YYYY-MM-DD (time of day unknown)" — converted to another zone its stored
    midnight would read as a time, or even as the day before."""
    precision = ev.properties.get("time_precision") if ev.properties else None
    fmt = PRECISION_FORMAT.get(precision) if isinstance(precision, str) else None
    if ev.ts_utc is not None and fmt is not None and ev.occurred_at is not None:
        return f"{ev.occurred_at.strftime(fmt)} ({TIME_UNKNOWN})"
    return format_ts(ev.ts_utc, tz_name)


def format_offset(minutes: int | None) -> str:
    if minutes is None:
        return "no offset given"
    sign = "+" if minutes >= 0 else "-"
    m = abs(minutes)
    return f"UTC{sign}{m // 60:02d}:{m % 60:02d}"


def event_time_tooltip(ev: EventInfo, tz_name: str | None) -> str:
    """The event time three ways: display zone, as the source stated it, and UTC."""
    if ev.ts_utc is None:
        return "No time recorded"
    utc = micros_to_datetime(ev.ts_utc)
    if is_day_precision(ev):
        # The stored midnight only places the day on the axis: no time to convert.
        return (f"{event_day(ev)}, {TIME_UNKNOWN}: the source gives the date only\n"
                f"Placed at the start of that day ({format_offset(ev.utc_offset)})")
    lines = [f"{format_ts(ev.ts_utc, tz_name)} ({tz_name or 'UTC'})"]
    if ev.utc_offset is not None:
        local = utc.astimezone(timezone(timedelta(minutes=ev.utc_offset)))
        lines.append(f"{local.strftime(TIME_FORMAT)} at the source ({format_offset(ev.utc_offset)})")
    lines.append(f"{utc.strftime(TIME_FORMAT)} UTC")
    return "\n".join(lines)


def format_iso(text: str | None, tz_name: str | None) -> str:
    """A stored ISO-8601 UTC stamp ("…Z") → display-zone text; unparsable text unchanged."""
    if not text:
        return ""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(zone(tz_name)).strftime(TIME_FORMAT)


def kind_text(kind: str) -> str:
    """A readable name for an entity or event kind ("bank_account" → "Bank account")."""
    return KIND_TEXT.get(kind, kind.replace("_", " ").capitalize())


def sharing_text(case: CaseInfo) -> str:
    """The case's sharing choice in words, naming the agencies when shared with some."""
    if case.keep_local:
        return "Local only (kept local)"
    base = SHARING_TEXT.get(case.sharing, case.sharing)
    if case.sharing == "agencies" and case.shared_with:
        return f"{base}: {', '.join(case.shared_with)}"
    return base


def provenance_text(source: SourceInfo | None, source_ref: str | None) -> str:
    """"file.csv, row 12" style provenance; "Entered by hand" when there is no source."""
    if source is None:
        return "Entered by hand" if not source_ref else f"Reference {source_ref}"
    ref = f", {source_ref}" if source_ref else ""
    if source_ref and source_ref.isdigit():
        ref = f", row {source_ref}"
    return f"{source.file_name}{ref}"
