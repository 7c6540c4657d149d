"""What a record's imported properties say, in words an investigator reads.

Importers keep what a file gives as nested properties: a booking's charges (a list of
dicts), a Telegram poll, a shared contact, attachments, an arrestee's descriptors, the
unmapped columns of a list under their own headers. Shown raw these are JSON dumps with
snake_case keys; here every property becomes one or more labelled rows, nested values
are spelled out (one row per charge, per poll option, per attachment), amounts carry
their currency, booleans read yes/no and times say which zone they are in, or that the
file gave none. Nothing is dropped: a key without a label of its own is shown under its
humanised name, and the full text of a row is kept as its ``detail`` (the tooltip).

Pure functions, no Qt: any thread.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from workstation.domain.models import EventInfo
from ui.formatting import PRECISION_FORMAT, event_time_tooltip, format_offset, format_ts, kind_text, zone

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class PropertyRow(NamedTuple):
    """One line of the properties list: its label, its text and (optionally) the full
    text behind it for a tooltip."""

    label: str
    text: str
    detail: str | None = None


# Labels of keys importers write; any other key is humanised ("arrest_number" → "Arrest number").
LABELS: dict[str, str] = {
    "dob": "Date of birth", "dob_text": "Date of birth (as written)", "e164": "E.164 number",
    "national": "National format", "country_code": "Country calling code", "valid": "Valid number",
    "type": "Type", "lat": "Latitude", "lon": "Longitude", "latitude": "Latitude",
    "longitude": "Longitude", "fitid": "Transaction ID (FITID)", "ori": "Agency ORI",
    "last4": "Last 4 digits", "display_name": "Name given by the source",
    "domain_unicode": "Domain (Unicode)", "local": "Mailbox (local part)",
    "level": "Most serious level", "severity": "Severity (as written)", "counts": "Counts",
    "bond_amount": "Bond", "bond_type": "Bond type", "court_case": "Court case",
    "statute": "Statute", "code": "Code", "description": "Description",
    "disposition": "Disposition", "warrant": "Warrant", "age": "Age", "sex": "Sex",
    "race": "Race", "area": "Area / borough", "precinct": "Precinct",
    "other_columns": "Column", "listed_again": "Listed again in the file",
    "varying": "Differs between rows", "custody_status": "Custody status",
    "arrestee": "Arrestee", "place": "Place", "agency": "Agency",
    "channel": "Channel", "conversation": "Conversation", "conversation_id": "Conversation ID",
    "chat_type": "Chat type", "message_id": "Message ID", "date_order": "Date order",
    "date_order_basis": "Date order decided by", "calendar": "Calendar",
    "calendar_basis": "Calendar decided by", "malformed_header": "Malformed header",
    "media_kind": "Media kind", "media_type": "Media type", "duration_seconds": "Duration",
    "width": "Width (px)", "height": "Height (px)", "via_bot": "Sent via bot",
    "sticker_emoji": "Sticker", "place_name": "Place name", "address": "Address",
    "live_location_period_seconds": "Live location for",
    "amount": "Amount", "currency": "Currency", "total": "Total", "price": "Price",
    "unit_price": "Unit price", "units": "Units", "quantity": "Quantity",
    "commission": "Commission", "fee": "Fee", "fees": "Fees", "taxes": "Taxes",
    "market_value": "Market value", "balance": "Balance", "available_balance": "Available cash",
    "margin_balance": "Margin balance", "short_balance": "Short balance",
    "cash_movement": "Cash moved", "reinvested": "Reinvested", "action": "Action",
    "action_type": "Action type", "account_type": "Account type", "security": "Security",
    "security_id": "Security ID", "security_id_type": "Security ID type", "ticker": "Ticker",
    "subaccount": "Sub-account", "buy_type": "Buy type", "sell_type": "Sell type",
    "income_type": "Income type", "position_kind": "Position kind", "position_type": "Position",
    "held_in": "Held in", "statement": "Statement", "statement_kind": "Statement kind",
    "positions_count": "Positions", "broker_id": "Broker ID", "card_last4": "Card (last 4 digits)",
    "mcc": "Merchant category code", "category": "Category", "memo": "Memo",
    "platform": "Platform", "handle": "Handle", "time_zone_assumed": "Time zone",
    "account_amount": "In the account's currency", "original_amount": "Amount as made",
    "posted_at": "Posted by the bank", "date_basis": "Dated by", "corrects_fitid": "Corrects transaction",
    "correct_action": "Correction", "mirror_of": "Same transfer as", "deleted_by_admin": "Deleted by group admin",
    "deleted": "Deleted", "edited": "Edited", "columns": "Column",
}
# Keys whose label says pixels: only a number is a picture's size ("5'11" on a booked
# person is a body height).
_PIXEL_KEYS = frozenset({"width", "height"})
# The flags an IP address entity carries (``workstation.analysis.identifiers``): shown as
# one "Address range" row naming those that hold, not seven yes/no rows.
_IP_FLAGS: dict[str, str] = {
    "private": "private", "global": "public (global)", "loopback": "loopback",
    "link_local": "link-local", "multicast": "multicast", "reserved": "reserved",
    "unspecified": "unspecified",
}

# Amounts in a currency of their own (OFX CURRENCY / ORIGCURRENCY) → the key naming it.
_OTHER_MONEY = {"account_amount": "account_currency", "original_amount": "original_currency"}
# Keys whose value is money in the record's currency.
MONEY_KEYS = frozenset({
    "amount", "total", "price", "unit_price", "commission", "fee", "fees", "taxes", "load",
    "market_value", "balance", "available_balance", "margin_balance", "short_balance",
    "bond_amount", "ledger_balance", "running_balance",
})
# Keys whose value is a code or a snake_case word: shown in words.
CODE_WORDS: dict[str, dict[str, str]] = {
    "position_kind": {"POSSTOCK": "Stock", "POSMF": "Mutual fund", "POSOPT": "Option",
                      "POSDEBT": "Debt / bond", "POSOTHER": "Other"},
    "income_type": {"DIV": "Dividend", "INTEREST": "Interest", "CGLONG": "Long-term capital gain",
                    "CGSHORT": "Short-term capital gain", "MISC": "Miscellaneous"},
    "date_basis": {"DTUSER": "the day the card was used (DTUSER)", "DTPOSTED": "the day the bank posted it"},
    "correct_action": {"REPLACE": "replaces an earlier transaction", "DELETE": "deletes an earlier transaction"},
    "channel": {"whatsapp": "WhatsApp", "telegram": "Telegram", "imessage": "iMessage",
                "sms": "SMS", "irc": "IRC"},
    "date_order": {"dmy": "day/month/year", "mdy": "month/day/year", "ymd": "year/month/day"},
    "account_type": {"invst": "Investment", "bank": "Bank", "ccard": "Credit card",
                     "cash": "Cash", "oth a": "Other asset", "oth l": "Other liability"},
}
WORD_KEYS = frozenset({"chat_type", "statement_kind", "type", "level", "date_order_basis",
                       "calendar_basis", "media_kind", "media_type", "position_type", "bond_type"})
_ACRONYMS = {"id": "ID", "utc": "UTC", "url": "URL", "ip": "IP", "mcc": "MCC", "sha256": "SHA-256",
             "md5": "MD5", "ori": "ORI", "dob": "date of birth", "iban": "IBAN", "bic": "BIC"}
_NAIVE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_AWARE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")
_SNAKE_WORD = re.compile(r"^[a-z]+(?:_[a-z]+)+$")
_LOWER_KEY = re.compile(r"^[a-z][a-z0-9_ ]*$")
_NOT_INCLUDED = "("  # Telegram: "(File not included. Change data exporting settings to download.)"


def humanise(key: str) -> str:
    """"arrest_number" → "Arrest number", "conversation_id" → "Conversation ID"."""
    words = [_ACRONYMS.get(w.lower(), w) for w in re.split(r"[_\s]+", key.strip()) if w]
    if not words:
        return key
    text = " ".join(words)
    return text[0].upper() + text[1:]


def label_for(key: str, value: Any = None) -> str:
    """The label of ``key`` (``value``: the value shown, where the label depends on it)."""
    if key in _PIXEL_KEYS and value is not None and not (
            isinstance(value, (int, float)) and not isinstance(value, bool)):
        return humanise(key)
    return LABELS.get(key) or humanise(key)


def party_text(kind: str, value: str | None, label: str | None) -> str:
    """A parsed party as the entity it will become is labelled: a card known by its last
    four digits ("last4:4242") as "•••• 4242"."""
    if label:
        return label
    text = str(value or "")
    if kind == "card" and text.startswith("last4:"):
        return f"•••• {text.split(':', 1)[1].strip()[-4:]}"
    return text


def role_text(role: str) -> str:
    """A party's role in words ("arresting_agency" → "Arresting agency")."""
    return humanise(role) if role else "Party"


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def number_text(value: Any) -> str:
    """An exact decimal with thousands separators ("-2559.95" → "-2,559.95"); other
    text unchanged."""
    try:
        d = Decimal(str(value).replace(",", "")) if not isinstance(value, bool) else None
    except InvalidOperation:
        return str(value)
    if d is None or not d.is_finite():
        return str(value)
    return f"{d:,}"


def money_text(value: Any, currency: str | None) -> str:
    """An amount with its currency; says so when the file named none."""
    if value is None or value == "":
        return "—"
    amount = number_text(value)
    return f"{amount} {currency}" if currency else f"{amount} (currency not stated)"


def time_text(value: str, tz_name: str | None, assumed: str | None = None,
              date_only: bool = False) -> tuple[str, str | None]:
    """An ISO time property → (text, detail). An aware time is shown in the display zone
    with its own offset in the detail; a naive one as written, saying that the file gave
    no zone (and which zone the import read it in)."""
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value, None
    if dt.tzinfo is None:
        if date_only and dt.time() == datetime.min.time():
            return f"{dt.date().isoformat()} (date only)", None
        note = f"no zone in the file; read as {assumed}" if assumed else "no zone in the file"
        return f"{dt.strftime(TIME_FORMAT)} ({note})", None
    offset = dt.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    shown = dt.astimezone(zone(tz_name)).strftime(TIME_FORMAT)
    return (f"{shown} ({tz_name or 'UTC'})",
            f"{dt.strftime(TIME_FORMAT)} at the source ({format_offset(minutes)})")


def scalar_text(key: str, value: Any, *, currency: str | None = None, tz_name: str | None = None,
                assumed: str | None = None, date_only: bool = False) -> tuple[str, str | None]:
    """One plain value in words → (text, detail)."""
    if value is None or value == "":
        return "—", None
    if isinstance(value, bool):
        return yes_no(value), None
    if key in MONEY_KEYS:
        # Only the amount says "currency not stated": on every price and fee it is noise.
        return (money_text(value, currency) if currency or key == "amount" else number_text(value)), None
    if key in CODE_WORDS and isinstance(value, str):
        return CODE_WORDS[key].get(value, CODE_WORDS[key].get(value.lower(), value)), None
    if key in ("duration_seconds", "live_location_period_seconds") and isinstance(value, (int, float)):
        return duration_text(int(value)), None
    if isinstance(value, str):
        if _AWARE_TIME.match(value) or _NAIVE_TIME.match(value):
            return time_text(value, tz_name, assumed, date_only)
        if key in WORD_KEYS and (_SNAKE_WORD.match(value) or value.islower()):
            return humanise(value.lower()), None
        return value, None
    return str(value), None


def duration_text(seconds: int) -> str:
    minutes, sec = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {sec:02d} s" if minutes else f"{sec} s"


def size_text(size: Any) -> str:
    if not isinstance(size, int) or isinstance(size, bool):
        return str(size)
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def event_time_text(ev: EventInfo, tz_name: str | None) -> tuple[str, str]:
    """The event's time for the details → (text, tooltip). A time the source gave only
    to the day (or month, year) is shown as that date as the source wrote it: converted
    to another zone its made-up midnight would read as a time, or even the day before."""
    precision = ev.properties.get("time_precision")
    tooltip = event_time_tooltip(ev, tz_name)
    if ev.ts_utc is None:
        return "no time recorded", tooltip
    fmt = PRECISION_FORMAT.get(precision) if isinstance(precision, str) else None
    if fmt is not None and ev.occurred_at is not None:
        return f"{ev.occurred_at.strftime(fmt)} (date only; the source gives no time of day)", tooltip
    text = f"{format_ts(ev.ts_utc, tz_name)} ({tz_name or 'UTC'})"
    if isinstance(precision, str) and precision:
        text += f" (to the {precision})"
    return text, tooltip


def offset_text(ev: EventInfo) -> str:
    """The source's own offset; for a time written without one, that it had none (the
    offset stored is the zone the import read it in, not a fact of the source)."""
    assumed = ev.properties.get("time_zone_assumed")
    if isinstance(assumed, str):
        return f"none in the file (read as {assumed})"
    return format_offset(ev.utc_offset)


# ---------------------------------------------------------------------- nested values
def charge_text(charge: Mapping[str, Any], currency: str | None = None) -> str:
    """One charge on one line: description, statute, level (severity as written), bond."""
    head = str(charge.get("description") or charge.get("statute") or charge.get("code") or "charge")
    parts: list[str] = []
    if charge.get("statute") and charge.get("description"):
        parts.append(f"statute {charge['statute']}")
    if charge.get("code") and (charge.get("description") or charge.get("statute")):
        parts.append(f"code {charge['code']}")
    level, severity = charge.get("level"), charge.get("severity")
    if level:
        parts.append(f"{level}" + (f" ({severity})" if severity else ""))
    elif severity:
        parts.append(f"severity {severity}")
    if charge.get("counts") not in (None, "", 1, "1"):
        parts.append(f"{charge['counts']} counts")
    if charge.get("bond_amount") not in (None, ""):
        bond = money_text(charge["bond_amount"], currency) if currency else number_text(charge["bond_amount"])
        parts.append(f"bond {bond}" + (f" ({charge['bond_type']})" if charge.get("bond_type") else ""))
    elif charge.get("bond_type"):
        parts.append(f"bond: {charge['bond_type']}")
    known = {"description", "statute", "code", "level", "severity", "counts", "bond_amount", "bond_type"}
    parts.extend(f"{label_for(k).lower()} {_plain(v)}" for k, v in charge.items()
                 if k not in known and v not in (None, ""))
    return " — ".join([head, " · ".join(parts)]) if parts else head


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, Mapping):
        return "; ".join(f"{label_for(str(k))}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return "—" if value is None else str(value)


def _detail_lines(value: Mapping[str, Any], currency: str | None = None) -> str:
    """Every field of a nested value, one per line (a charge's "level" is its own, not
    the booking's most serious one)."""
    lines = []
    for k, v in value.items():
        if k in MONEY_KEYS and v not in (None, ""):
            text = money_text(v, currency) if currency else number_text(v)
        else:
            text = _plain(v)
        lines.append(f"{'Level' if k == 'level' else label_for(str(k))}: {text}")
    return "\n".join(lines)


def poll_rows(poll: Mapping[str, Any]) -> list[PropertyRow]:
    question = str(poll.get("question") or "(no question)")
    state = []
    if poll.get("closed") is not None:
        state.append("closed" if poll.get("closed") else "open")
    if poll.get("total_voters") is not None:
        n = poll["total_voters"]
        state.append(f"{n} voter{'s' if n != 1 else ''}")
    for k in ("status", "anonymous", "multiple_choice"):
        if poll.get(k) not in (None, ""):
            state.append(f"{label_for(k).lower()}: {_plain(poll[k])}")
    rows = [PropertyRow("Poll", f"{question}" + (f" ({', '.join(state)})" if state else ""))]
    answers = list(poll.get("answers") or [])
    votes = list(poll.get("votes") or [])
    chosen = set(str(c) for c in poll.get("chosen") or [])
    for i, answer in enumerate(answers):
        text = str(answer)
        if i < len(votes) and votes[i] is not None:
            v = votes[i]
            text += f" — {v} vote{'s' if v != 1 else ''}"
        if str(answer) in chosen:
            text += " (the exporting account's choice)"
        rows.append(PropertyRow(f"Poll option {i + 1}", text))
    return rows


def attachment_text(att: Mapping[str, Any], not_included: bool = False) -> tuple[str, str]:
    name = str(att.get("name") or att.get("path") or "attachment")
    facts = []
    if att.get("mime"):
        facts.append(str(att["mime"]))
    if att.get("size") not in (None, 0):
        facts.append(size_text(att["size"]))
    if not att.get("path") and not_included:
        facts.append("file not included in the export")
    elif att.get("path"):
        facts.append(f"at {att['path']}")
    text = name + (f" ({', '.join(facts)})" if facts else "")
    return text, _detail_lines(att)


def call_text(call: Mapping[str, Any]) -> str:
    media = str(call.get("media") or "voice")
    text = f"{'Missed ' if call.get('missed') else ''}{media} call"
    text = text[0].upper() + text[1:]
    extra = call.get("duration_text") or call.get("note_text")
    if call.get("duration_seconds") is not None:
        extra = duration_text(int(call["duration_seconds"]))
    return f"{text}, {extra}" if extra else text


def contact_text(contact: Mapping[str, Any]) -> str:
    name = " ".join(str(contact.get(k) or "") for k in ("first_name", "last_name")).strip()
    name = name or str(contact.get("name") or contact.get("display_name") or "")
    phone = str(contact.get("phone_number") or contact.get("phone") or "")
    return ", ".join(p for p in (name, phone) if p) or _plain(contact)


def location_text(loc: Mapping[str, Any]) -> str:
    lat = loc.get("latitude", loc.get("lat"))
    lon = loc.get("longitude", loc.get("lon"))
    if lat is None or lon is None:
        return _plain(loc)
    return f"{lat}, {lon}"


def _short_time(value: Any, tz_name: str | None) -> tuple[str, bool]:
    """A reaction's time, short → (text, whether the file gave its zone): "2024-03-01
    09:05" in the display zone when it is aware, as written otherwise."""
    if not isinstance(value, str):
        return "", True
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value, True
    if dt.tzinfo is None:
        return dt.strftime("%Y-%m-%d %H:%M"), False
    return dt.astimezone(zone(tz_name)).strftime("%Y-%m-%d %H:%M"), True


def reaction_text(reaction: Mapping[str, Any], tz_name: str | None = None) -> str:
    """One reaction in words, whatever app wrote it: "👍 × 2 — Blake Example (2024-03-01
    09:05), Casey Sample (…)". Telegram keeps ``emoji``/``count``/``recent``, Slack
    ``name``/``count``/``users``, Discord ``emoji``/``count``/``users``, Messenger one
    ``reaction`` per ``actor`` with its time ``at``."""
    kind = reaction.get("type")
    what = reaction.get("emoji") or reaction.get("reaction")
    if not what and reaction.get("name"):
        what = f":{reaction['name']}:"
    if not what:
        what = {"paid": "paid star reaction", "custom_emoji": "custom emoji"}.get(str(kind), "reaction")
    text = str(what)
    count = reaction.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and count != 1:
        text += f" × {count}"
    who: list[str] = []
    naive = False

    def named(name: str, at: Any) -> str:
        nonlocal naive
        when, zoned = _short_time(at, tz_name)
        naive = naive or (bool(when) and not zoned)
        return f"{name} ({when})" if when else name

    for person in reaction.get("recent") or []:
        if isinstance(person, Mapping):
            who.append(named(str(person.get("from") or person.get("from_id") or "someone"), person.get("date")))
    if reaction.get("actor"):
        who.append(named(str(reaction["actor"]), reaction.get("at")))
    users = reaction.get("users")
    if isinstance(users, (list, tuple)):
        who.extend(str(u) for u in users if u not in (None, ""))
    if reaction.get("owner_reacted"):
        who.append("the exporting account")
    if not who:
        return text
    # Telegram writes who reacted when in the exporting computer's local time, no zone.
    return f"{text} — {', '.join(who)}" + (" (times as written in the file, no zone)" if naive else "")


def ip_range_text(props: Mapping[str, Any]) -> str | None:
    """The flags of an IP address that hold ("private", "loopback"…), or None when the
    properties are not an IP address's."""
    if not all(isinstance(props.get(k), bool) for k in _IP_FLAGS):
        return None
    held = [words for k, words in _IP_FLAGS.items() if props[k]]
    return ", ".join(held) if held else "none of private, public, loopback, multicast, reserved"


# ---------------------------------------------------------------------- properties → rows
class _Context(NamedTuple):
    """What every row of one record is read with."""

    currency: str | None
    assumed: str | None      # the zone the import read naive times in
    date_only: bool          # the source gave dates without a time of day
    not_included: bool       # Telegram: the export left the media out
    tz_name: str | None


def property_rows(props: Mapping[str, Any], tz_name: str | None = None,
                  skip: Collection[str] = ()) -> list[PropertyRow]:
    """Every property of an event or entity as labelled rows, in the order stored
    (``skip``: keys the caller has already shown in its own words)."""
    currency = props.get("currency") if isinstance(props.get("currency"), str) else None
    assumed = props.get("time_zone_assumed") if isinstance(props.get("time_zone_assumed"), str) else None
    ctx = _Context(currency, assumed, props.get("time_precision") in ("day", "month", "year"),
                   bool(props.get("media_not_included")), tz_name)
    rows: list[PropertyRow] = []
    folded = set(skip) | ({"currency"} if "amount" in props else set())
    # An amount in another currency is shown with that currency, on one row.
    folded |= {cur for amount, cur in _OTHER_MONEY.items() if amount in props}
    if props.get("partial") is True and "last4" in props:
        folded.add("partial")
    ip_range = ip_range_text(props)
    if ip_range is not None:
        folded |= set(_IP_FLAGS)
        if isinstance(props.get("version"), int) and "version" not in folded:
            rows.append(PropertyRow("IP version", f"IPv{props['version']}"))
            folded.add("version")
        rows.append(PropertyRow("Address range", ip_range))
    for key, value in props.items():
        key = str(key)
        if key in folded:
            continue
        rows.extend(_rows_for(key, value, props, ctx))
    return rows


def _scalar(key: str, value: Any, ctx: _Context) -> tuple[str, str | None]:
    return scalar_text(key, value, currency=ctx.currency, tz_name=ctx.tz_name, assumed=ctx.assumed,
                       date_only=ctx.date_only)


def _rows_for(key: str, value: Any, props: Mapping[str, Any], ctx: _Context) -> Iterable[PropertyRow]:
    currency = ctx.currency
    if key == "charges" and isinstance(value, (list, tuple)):
        n = len(value)
        for i, charge in enumerate(value, 1):
            if isinstance(charge, Mapping):
                yield PropertyRow(f"Charge {i} of {n}", charge_text(charge, currency),
                                  _detail_lines(charge, currency))
            else:
                yield PropertyRow(f"Charge {i} of {n}", _plain(charge))
        return
    if key == "poll" and isinstance(value, Mapping):
        yield from poll_rows(value)
        return
    if key == "attachments" and isinstance(value, (list, tuple)):
        for i, att in enumerate(value, 1):
            label = "Attachment" if len(value) == 1 else f"Attachment {i}"
            if isinstance(att, Mapping):
                yield PropertyRow(label, *attachment_text(att, ctx.not_included))
            else:
                yield PropertyRow(label, _plain(att))
        return
    if key == "reactions" and isinstance(value, (list, tuple)):
        for i, reaction in enumerate(value, 1):
            label = "Reaction" if len(value) == 1 else f"Reaction {i} of {len(value)}"
            if isinstance(reaction, Mapping):
                yield PropertyRow(label, reaction_text(reaction, ctx.tz_name), _detail_lines(reaction))
            else:
                yield PropertyRow(label, _plain(reaction))
        return
    if key == "call" and isinstance(value, Mapping):
        yield PropertyRow("Call", call_text(value), _detail_lines(value))
        return
    if key == "contact" and isinstance(value, Mapping):
        yield PropertyRow("Shared contact", contact_text(value), _detail_lines(value))
        return
    if key == "location" and isinstance(value, Mapping):
        yield PropertyRow("Location", location_text(value), _detail_lines(value))
        return
    if key == "media_not_included":
        yield PropertyRow("Media", "not included in the export", str(value) if value is not True else None)
        return
    if key == "media_omitted":
        what = str(props.get("media_kind") or "media")
        yield PropertyRow("Media", f"{what} omitted from the export" if value else "included")
        return
    if key == "time_zone_assumed":
        yield PropertyRow("Time zone", f"none in the file; read as {value}")
        return
    if key == "partial" and isinstance(value, bool) and "last4" in props:
        return
    if key == "last4" and props.get("partial") is True:
        yield PropertyRow("Last 4 digits", str(value), "Only the last four digits of this card are known")
        return
    if key == "amount":
        text = money_text(value, currency)
        if value in (None, "") and props.get("cash_movement") is False:
            text = "none (no cash moved)"
        yield PropertyRow("Amount", text)
        return
    if key in _OTHER_MONEY:
        other = props.get(_OTHER_MONEY[key])
        yield PropertyRow(label_for(key), money_text(value, other if isinstance(other, str) else None))
        return
    if key in ("other_columns", "columns") and isinstance(value, Mapping):
        # The file's own headers: shown as written, they are what the officer can look up
        # (a statement's extra columns are kept under snake_case keys: spelled out).
        for header, cell in value.items():
            name = humanise(str(header)) if key == "columns" and _LOWER_KEY.match(str(header)) else header
            yield PropertyRow(f"Column “{name}”", _plain(cell))
        return
    label = label_for(key)
    if isinstance(value, Mapping):
        if not value:
            yield PropertyRow(label, "—")
        for sub, cell in value.items():
            sublabel = f"{label} · {label_for(str(sub))}"
            if isinstance(cell, (Mapping, list, tuple)):
                yield PropertyRow(sublabel, _plain(cell))
            else:
                text, detail = _scalar(str(sub), cell, ctx)
                yield PropertyRow(sublabel, text, detail)
        return
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (Mapping, list, tuple)) for v in value):
            yield PropertyRow(label, ", ".join(_plain(v) for v in value) or "—")
            return
        for i, item in enumerate(value, 1):
            if isinstance(item, Mapping):
                yield PropertyRow(f"{label} {i}", _plain(item), _detail_lines(item, currency))
            else:
                yield PropertyRow(f"{label} {i}", _plain(item))
        return
    text, detail = _scalar(key, value, ctx)
    yield PropertyRow(label_for(key, value), text, detail)


# ---------------------------------------------------------------------- one-line summaries
def currency_of(props: Mapping[str, Any]) -> str | None:
    currency = props.get("currency")
    return currency if isinstance(currency, str) and currency else None


def display_name(props: Mapping[str, Any]) -> str | None:
    """The name a mail header or contact card gave an address or number, if any."""
    name = props.get("display_name")
    return name.strip() if isinstance(name, str) and name.strip() else None


def amount_summary(props: Mapping[str, Any]) -> str:
    """What a table shows beside the title: the amount of a transaction, the charges of
    an arrest or booking ("" when there is none)."""
    charges = props.get("charges")
    if isinstance(charges, Sequence) and not isinstance(charges, str) and charges:
        first = charges[0]
        text = str(first.get("description") or first.get("statute") or first.get("code") or "charge") \
            if isinstance(first, Mapping) else str(first)
        if len(charges) > 1:
            text += f" +{len(charges) - 1} more"
        level = props.get("level")
        return f"{text} ({level})" if isinstance(level, str) and level else text
    if props.get("amount") in (None, ""):
        return ""
    currency = currency_of(props)
    return f"{number_text(props['amount'])} {currency}" if currency else number_text(props["amount"])


def event_summary(kind: str, title: str | None, body: str | None, props: Mapping[str, Any]) -> str:
    """What an event is, in one line, when it has no title or text of its own: a poll, a
    location, a shared contact, a call, an omitted or attached file. Falls back to the
    kind."""
    if title:
        return title
    first = (body or "").strip().split("\n", 1)[0]
    if first:
        return first
    poll = props.get("poll")
    if isinstance(poll, Mapping):
        return f"Poll: {poll.get('question') or '(no question)'}"
    loc = props.get("location")
    if isinstance(loc, Mapping):
        name = props.get("place_name") or props.get("address")
        return f"Location: {name} ({location_text(loc)})" if name else f"Location: {location_text(loc)}"
    contact = props.get("contact")
    if isinstance(contact, Mapping):
        return f"Shared contact: {contact_text(contact)}"
    call = props.get("call")
    if isinstance(call, Mapping):
        return call_text(call)
    if props.get("media_omitted"):
        what = str(props.get("media_kind") or "media")
        return f"{what[0].upper()}{what[1:]} omitted"
    atts = props.get("attachments")
    if isinstance(atts, Sequence) and atts and isinstance(atts[0], Mapping):
        names = ", ".join(str(a.get("name") or "file") for a in atts if isinstance(a, Mapping))
        return f"Attachment: {names}"
    return kind_text(kind)


# ---------------------------------------------------------------------- audit details
# Fields of a record the audit names that are bookkeeping, not something the officer edited.
_INTERNAL_FIELDS = frozenset({"hlc"})


def _change_text(name: str, before: Any, after: Any) -> str:
    """"Label: Pat Example → Pat B. Example"; for the properties, which keys were added,
    removed or changed."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        parts = []
        for key in after:
            if key not in before:
                parts.append(f"{label_for(str(key), after[key])} added ({_plain(after[key])})")
            elif before[key] != after[key]:
                parts.append(f"{label_for(str(key), after[key])} {_plain(before[key])} → {_plain(after[key])}")
        parts.extend(f"{label_for(str(key), before[key])} removed ({_plain(before[key])})"
                     for key in before if key not in after)
        return f"{name}: {'; '.join(parts) if parts else 'no change'}"
    shown = [("—" if v in (None, "") else _plain(v)) for v in (before, after)]
    return f"{name}: {shown[0]} → {shown[1]}"


def audit_details_text(details: Mapping[str, Any] | None) -> str:
    """What an audit entry's details say, in words, for the history list: changes as
    "Label: A → B", property edits key by key, and no JSON ("" when there are none)."""
    if not details:
        return ""
    parts: list[str] = []
    for key, value in details.items():
        key = str(key)
        name = label_for(key, value)
        if isinstance(value, Mapping) and set(value) == {"from", "to"}:
            parts.append(_change_text(name, value["from"], value["to"]))
        elif key == "fields" and isinstance(value, (list, tuple)):
            shown = [label_for(str(f)).lower() for f in value if f not in _INTERNAL_FIELDS]
            if shown:
                parts.append(f"Changed: {', '.join(shown)}")
        elif key == "case_id":
            parts.append(f"Case #{value}")
        elif key == "kind" and isinstance(value, str):
            parts.append(kind_text(value))
        elif key == "parties" and isinstance(value, int):
            parts.append(f"{value} part{'y' if value == 1 else 'ies'}")
        else:
            parts.append(f"{name}: {_plain(value)}")
    return " · ".join(parts)
