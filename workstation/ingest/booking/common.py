"""From one booking's fields (whatever the source format) to events.

Decisions, kept simple on purpose:

* Every booking yields one ``ParsedEvent(kind="booking")``, ``occurred_at`` = booking
  time, else arrest time (None when the record has neither), ``title`` = "Booking
  <number>".
* A moment given as a day without a time (a date-only cell, or a date column that
  writes "12:00:00 AM" on every row, as LAPD's does, with the time column blank) stays
  at midnight and its event is marked ``properties["time_precision"] = "day"``.
* When the arrest time is known and differs from the booking time, a separate
  ``ParsedEvent(kind="arrest")`` is yielded (``ref`` = booking ref + " (arrest)"), so the
  timeline shows where the person was first taken. When a release time is known, a
  ``ParsedEvent(kind="release")`` likewise (ref + " (release)"). Both carry the booking
  number, the arrestee and (arrest) the agency/officer.
* Rosters write "N/A", "In custody", "Still in custody", "-" or "00/00/0000" where there
  is no date: no value, not an error. A custody phrase in the release columns is kept as
  the booking's ``custody_status``; there is no release event then.
* Date cells may be text in the file's convention, date/time cells of a workbook, or
  Excel serial numbers (``45352`` = 2024-03-01, a cell formatted "General"); time cells
  may be ``14:30``, ``2:30 PM``, military ``1430``/``930`` (text or number) or an Excel
  day fraction.
* The arrestee is ``Party(kind="person", value="<Last>, <First>[ <Middle>][ <Suffix>]",
  label="<First> <Last>[ <Suffix>]", role="arrestee", properties={"dob": "YYYY-MM-DD",
  "sex": "M"|"F"|..., "race", "suffix", "age", "height", "weight", "hair", "eyes"})``.
  Names come from separate fields or one: "LAST, FIRST MIDDLE" (a comma) or "First
  Middle Last"; a generational suffix (JR, SR, II-IV, 2ND-4TH) is recognised wherever
  rosters put it ("DOE JR, JOHN", "DOE, JOHN A JR", "John Doe, Jr."). An unreadable date
  of birth is kept as ``dob_text`` rather than rejecting the booking; an age is kept as
  written, and never turned into a date of birth.
* The address of record is ``Party(kind="address", role="address_of_record")`` linked
  ``resides_at`` from the person; the agency ``Party(kind="organisation",
  role="arresting_agency")`` with its ``ori`` (the 9-character NCIC code, from its own
  column or written as the agency); the officer ``Party(kind="person",
  role="arresting_officer")`` with its ``badge`` (from its own column or written after the
  name: "SAMPLE, J #4521"), linked ``member_of`` the agency; phone/e-mail parties linked
  ``uses`` from the person.
* ``properties["charges"]`` is a list of dicts (``code``, ``statute``, ``description``,
  ``severity``, and what a list gives per charge: ``counts``, ``bond_amount``,
  ``bond_type``, ``court_case``, ``disposition``, ``warrant``; empty keys omitted).

* A charge's severity is kept as written; its ``level`` ("felony", "misdemeanor",
  "violation", "infraction") is read from the usual codes and words ("F", "F2", "FEL",
  "Felony 2nd Degree", "M1", "MM", "Misdemeanor C", NYPD's "V" and "I"), and the
  booking's ``properties["level"]`` is the most serious of its charges. A code that
  names no level (NYPD's "9", LAPD's "D" for dependent) gives none.
* Where the person was arrested (:data:`PLACE_FIELDS`: the arrest's address, cross
  street, city, area/precinct, coordinates) is kept on the arrest: ``properties
  ["place"]`` (as written), ``lat``/``lon``, an ``address`` party and a ``location``
  party (``"lat, lon"``) with role ``arrest_location``. Coordinates come from their own
  columns or one cell ("POINT (-73.91 40.66)", "(39.29, -76.64)"); 0/0 and values out
  of range are no place.

Police open-data arrest lists are anonymised: no name at all. Their records come in as
arrests, not bookings of an unknown person (``unnamed=True``, decided per file by the
caller): one ``ParsedEvent(kind="arrest")`` per arrest, ``occurred_at`` = arrest time,
else booking time, title "Arrest <number>", with the arrest number, charges, place, agency
and the arrestee's descriptors (age or age group, sex, race...) in ``properties
["arrestee"]``; no person party is made up. The address columns of such a list are the
place of arrest. A booking or release time unlike the arrest's gives a ``booking`` or
``release`` event beside it, as for named bookings. An anonymised list of jail
admissions (a booking date and no arrest date: Connecticut's pre-trial inmates) gives
``ParsedEvent(kind="booking")`` titled "Booking <number>" with ``booking_number`` instead.

A date cell may end in a US zone abbreviation ("2017-11-11 00:42:00 EST"): it is read as
that fixed offset. A date of birth written as a year alone is kept as ``birth_year``. A
charge cell that only says there is none ("No arrests listed.") is no charge.

A booking without any name (outside such a list), or with an unreadable
booking/arrest/release time, raises :class:`BookingFieldError` (the caller turns it into a
RowError naming the field).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from workstation.ingest.records import ParsedEvent, ParsedLink, Party
from workstation.ingest.tabular import DateReader, parse_time_of_day

# Person descriptors kept as written on the person (a roster's physical description).
_PERSON_DESCRIPTORS = ("age", "height", "weight", "hair", "eyes")

# What a cell holds when it has no date: "N/A", "#N/A" (a spreadsheet error), "-", "?",
# "unknown", a zeroed date. The leading run is possessive (every word starts with a letter
# or digit): a long run of punctuation is then scanned once, not once per split of it.
_ABSENT = re.compile(
    r"(?i)^\W*+(?:n/?a|none|null|nil|unknown|unk|tbd|tba|not applicable"
    r"|0{1,4}[-/.]0{1,2}[-/.]0{1,4}(?:\s+0{1,2}:0{2}(?::0{2})?)?)?\W*$")
# A release column of someone not released.
_STILL_HELD = re.compile(
    r"(?i)^\W*(?:(?:still|currently)\s+)?(?:in[\s-]+(?:custody|jail)|custody|held|"
    r"incarcerated|confined|detained|active|pending|not\s+(?:yet\s+)?released)\W*$")
# Excel serial days in a text cell: 5 digits cover 1927-05-18 to 2173-10-14.
_SERIAL_TEXT = re.compile(r"^\d{5}(?:\.\d+)?$")
_SERIAL_RANGE = (10_000, 2_958_466)  # a number below is no date; above is past 9999
_MILITARY_TIME = re.compile(r"^(\d{1,2})(\d{2})$")
_LIST_SEPARATORS = re.compile(r"[;|\n]+")
# Searched at every position: no leading \s* (a long run of spaces would be rescanned
# from each of its positions); the caller strips the space before it.
_HOURS_WORD = re.compile(r"(?i)(?:hrs?|hours)\.?$")
_HAS_DATE = re.compile(r"\d[-/]\d|\d{5}")
_BIRTH_YEAR = re.compile(r"^(?:18|19|20)\d\d$")
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "2nd", "3rd", "4th"})
# Words that belong to the surname after them ("Maria de la Cruz").
_SURNAME_PARTICLES = frozenset({"de", "del", "della", "der", "den", "di", "da", "das", "dos",
                                "du", "la", "van", "von", "ter", "bin", "ibn"})
# The NCIC Originating Agency Identifier: state code + 7 characters, mostly digits.
_ORI = re.compile(r"^[A-Z]{2}[A-Z0-9]{7}$")
_BADGE_AFTER_NAME = re.compile(
    r"(?i)(?:[\s,]*(?:#|\bbadge\b\.?\s*(?:no\.?|number)?\s*[:#]?)\s*|\s*\(\s*#?\s*|\s+)"
    r"(?P<badge>[A-Z]{0,2}\d{2,}[A-Z0-9-]*)\s*\)?\s*$")
# A badge and the words before it fit in a name's last characters; searching only there
# keeps a long cell linear (the pattern's runs would be rescanned from each position).
_BADGE_WINDOW = 64
# US zone abbreviations written after a time; their fixed offsets (a standard-time name
# is that offset all year: "EST" in July is still UTC-5).
_US_ZONES = {"EST": "-05:00", "EDT": "-04:00", "CST": "-06:00", "CDT": "-05:00",
             "MST": "-07:00", "MDT": "-06:00", "PST": "-08:00", "PDT": "-07:00",
             "AKST": "-09:00", "AKDT": "-08:00", "HST": "-10:00", "UTC": "+00:00",
             "GMT": "+00:00"}
_ZONE_ABBREVIATION = re.compile(r"(?i)\b(" + "|".join(_US_ZONES) + r")\s*$")
# A class code padded to the end of a charge's description (Connecticut DOC: "DF" = class
# D felony, "UM" = unclassified misdemeanor): two spaces or more set it apart. Possessive
# runs keep a long cell linear.
_TRAILING_CLASS = re.compile(r"^(\S(?:\s?+\S)*+)\s{2,}([A-EU]?[FM])$")
# A charge cell that says there is none ("No arrests listed.", "No charges filed").
_NO_CHARGE = re.compile(r"(?i)^\W*no\s+(?:charges?|arrests?|offen[cs]es?|incidents?)"
                        r"(?:\s+(?:listed|found|filed|recorded|on\s+file))?\W*$")
# Excel stores times as day fractions; its clock shows whole milliseconds.
_MS_PER_DAY = 86_400_000

# Where an arrest happened, as the reader finds it (table.py: by header).
PLACE_FIELDS = ("arrest_location", "cross_street", "arrest_city", "arrest_state", "arrest_zip",
                "area", "precinct", "latitude", "longitude", "geo")
_LEVELS = ("felony", "misdemeanor", "violation", "infraction")  # most serious first
_LEVEL_CODES = {"F": "felony", "FEL": "felony", "FELONY": "felony", "M": "misdemeanor",
                "MIS": "misdemeanor", "MISD": "misdemeanor", "MSD": "misdemeanor",
                "V": "violation", "VIOL": "violation", "I": "infraction", "INF": "infraction",
                "INFR": "infraction"}
_LEVEL_WORD = re.compile(r"(?i)\b(?:(felon)(?:y|ies)|(misdemean)(?:or|our)s?|(violation)s?"
                         r"|(infraction)s?)\b")
# "F2", "FT" (felony, third degree), "M1", "MM", "MA": a level letter and a degree/class.
_LEVEL_DEGREE = re.compile(r"(?i)^([FM])(?:[0-9]|[A-Z])?$")
_POINT = re.compile(r"(?i)^\s*point\s*\(\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s*\)\s*$")
_PAIR = re.compile(r"^\s*\(?\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)?\s*$")


class BookingFieldError(Exception):
    """One field of a booking cannot be read."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class PersonName(NamedTuple):
    last: str
    first: str
    middle: str
    suffix: str


def split_charges(text: str) -> list[dict[str, str]]:
    """Charges written in one cell, separated by ``;``, ``|`` or line breaks."""
    return [{"description": part} for part in split_list(text)]


def split_list(text: str) -> list[str]:
    """The parts of a cell listing several values (``;``, ``|`` or line breaks)."""
    return [part.strip() for part in _LIST_SEPARATORS.split(text) if part.strip()]


def plain_value(value: Any) -> Any:
    """A cell as stored in properties: text stripped, whole numbers as int, dates as ISO."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf" from a corrupt workbook, kept visible (JSON has no inf)
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def is_absent(value: Any) -> bool:
    """Whether a cell only says there is no value ("N/A", "-", "00/00/0000")."""
    return value is None or (isinstance(value, str) and bool(_ABSENT.match(value)))


def normalise_sex(text: Any) -> str | None:
    """M / F / X from the usual spellings; anything else upper-cased as written."""
    if text is None:
        return None
    s = str(text).strip()
    if not s:
        return None
    low = s.lower()
    if low in ("m", "male", "man", "h", "homme", "masculino", "männlich"):
        return "M"
    if low in ("f", "female", "woman", "w", "femme", "femenino", "weiblich"):
        return "F"
    if low in ("x", "nonbinary", "non-binary", "other", "u", "unknown"):
        return "X" if low in ("x", "nonbinary", "non-binary") else "U"
    return s.upper()


def _suffix_of(token: str) -> str:
    """``token`` as a generational suffix without its dot ("Jr." → "Jr"), else ""."""
    bare = token.strip().rstrip(".").strip()
    return bare if bare.lower() in _SUFFIXES else ""


def _drop_suffix(tokens: list[str]) -> tuple[list[str], str]:
    """Name tokens without a trailing suffix, and the suffix (a lone token is kept)."""
    if len(tokens) > 1 and _suffix_of(tokens[-1]):
        return tokens[:-1], _suffix_of(tokens[-1])
    return tokens, ""


def person_name(values: Mapping[str, Any]) -> PersonName | None:
    """The name parts from separate name fields or a full name; None when there is none.

    A full name with a comma is read "Last, First Middle"; without, "First Middle Last".
    A comma before a suffix alone ("Robin Sample, Jr.") does not make it "Last, First".
    """
    def text(key: str) -> str:
        value = values.get(key)
        return "" if value is None else " ".join(str(value).split())

    last, first, middle, suffix = (text(k) for k in ("last_name", "first_name",
                                                     "middle_name", "suffix"))
    suffix = _suffix_of(suffix) or suffix
    if last or first:
        tokens, found = _drop_suffix(last.split())
        return PersonName(" ".join(tokens), first, middle, suffix or found)
    full = text("full_name")
    if not full:
        return None
    parts: list[str] = []
    for part in (p.strip() for p in full.split(",")):
        if part and len(part.split()) == 1 and _suffix_of(part) and parts:
            suffix = suffix or _suffix_of(part)
        elif part:
            parts.append(part)
    if len(parts) >= 2:
        surname, found = _drop_suffix(parts[0].split())
        given, found_after = _drop_suffix(" ".join(parts[1:]).split())
        suffix = suffix or found or found_after
        last = " ".join(surname)
        first, middle = (given[0], " ".join(given[1:])) if given else ("", "")
    else:
        tokens, found = _drop_suffix(parts[0].split() if parts else [])
        suffix = suffix or found
        if len(tokens) == 1:
            last = tokens[0]
        elif tokens:
            cut = len(tokens) - 1
            while cut > 1 and tokens[cut - 1].lower() in _SURNAME_PARTICLES:
                cut -= 1
            first, last, middle = tokens[0], " ".join(tokens[cut:]), " ".join(tokens[1:cut])
    return PersonName(last, first, middle, suffix)


def _date_cell(value: Any) -> Any:
    """A date cell as :class:`DateReader` reads it: an Excel serial number (a workbook
    cell formatted "General", or its text pasted into a CSV) becomes its datetime; a US
    zone abbreviation after the time ("2017-11-11 00:42:00 EST", jail scrapers) becomes
    its UTC offset (the date reader would drop it, or refuse it in lower case)."""
    if isinstance(value, str):
        m = _ZONE_ABBREVIATION.search(value)
        if m and m.start() > 0 and value[:m.start()].rstrip()[-1:].isdigit():
            return f"{value[:m.start()].rstrip()} {_US_ZONES[m.group(1).upper()]}"
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or (
            isinstance(value, str) and _SERIAL_TEXT.match(value.strip()))):
        return value
    number = float(value)
    if not _SERIAL_RANGE[0] <= number < _SERIAL_RANGE[1]:
        return value
    from openpyxl.utils.datetime import from_excel

    try:
        return from_excel(number)
    except OverflowError:  # 2958465.9999999995 rounds up to the year 10000
        raise ValueError(f"Excel serial date {value} is past the year 9999") from None


def _time_cell(value: Any) -> Any:
    """A time-of-day cell as :class:`DateReader` reads it: military "1430"/"930"/"45"
    (text or a number; open-data lists store it as a number, so "45" is 00:45), an
    Excel day fraction (0.6041... = 14:30), "14:30 hrs"."""
    if isinstance(value, float) and 0 <= value < 1:
        # Rounded to the millisecond, but never up to 24:00: 23:59:59.9996 is not the
        # midnight that starts its day.
        ms = min(round(value * _MS_PER_DAY), _MS_PER_DAY - 1)
        return (datetime.min + timedelta(milliseconds=ms)).time()
    if not isinstance(value, bool) and (isinstance(value, int) or (
            isinstance(value, float) and value.is_integer())):  # inf and nan are not
        value = f"{int(value):04d}"  # a workbook shows 0930 as 930, and 0000 as 0
    if not isinstance(value, str):
        return value
    text = _HOURS_WORD.sub("", value.strip()).rstrip()
    if text.isdecimal() and len(text) <= 2:
        text = f"{int(text):04d}"  # the number as a CSV writes it: LAPD's "45" is 00:45
    m = _MILITARY_TIME.match(text)
    return f"{m.group(1)}:{m.group(2)}" if m else text


def _moment(values: Mapping[str, Any], stem: str, dates: DateReader,
            held: list[str] | None = None, untimed: set[str] | None = None) -> datetime | None:
    """The ``<stem>_time`` of a booking, joined with ``<stem>_date`` when both are given.

    ``held`` (release only) collects a custody phrase found instead of a date;
    ``untimed`` the stem when the moment is a day without a time of day (see
    :meth:`DateReader.untimed`: a date alone, or a date column's placeholder midnight).
    """
    when = _read_moment(values, stem, dates, held)
    if untimed is not None and when is not None and not (
            when.hour or when.minute or when.second or when.microsecond):
        t_val, d_val = values.get(f"{stem}_time"), values.get(f"{stem}_date")
        if is_absent(t_val) or (isinstance(t_val, str) and _STILL_HELD.match(t_val)):
            t_val = None
        if is_absent(d_val) or (isinstance(d_val, str) and _STILL_HELD.match(d_val)):
            d_val = None
        if t_val is None or d_val is None:
            # One cell gave the moment: a date (and time) in either column.
            key = f"{stem}_date" if t_val is None else f"{stem}_time"
            day_only = dates.untimed(d_val if t_val is None else t_val, key)
        else:
            day_only = dates.untimed(t_val, f"{stem}_time", time_cell=True)
        if day_only:
            untimed.add(stem)
    return when


def _read_moment(values: Mapping[str, Any], stem: str, dates: DateReader,
                 held: list[str] | None) -> datetime | None:
    t_key, d_key = f"{stem}_time", f"{stem}_date"
    cells = {}
    for key in (d_key, t_key):
        value = values.get(key)
        if held is not None and isinstance(value, str) and _STILL_HELD.match(value):
            held.append(value.strip())
            value = None
        cells[key] = None if is_absent(value) else value
    d_val, t_val = cells[d_key], cells[t_key]
    if held and d_val is None:
        return None  # "In custody" with a time beside it: no release all the same
    field = d_key
    try:
        if d_val is None:
            if t_val is None:
                return None
            field = t_key
            return dates.parse(_date_cell(t_val))
        day = dates.parse(_date_cell(d_val))
        if t_val is None:
            return day
        field = t_key
        clock = _time_cell(t_val)
        if isinstance(clock, str):
            try:
                parse_time_of_day(clock)
            except ValueError:
                if not _HAS_DATE.search(clock):
                    raise ValueError(f"not a time of day: {str(t_val).strip()!r}") from None
                return dates.parse(_date_cell(t_val))  # a full date-time in the time column
        return dates.parse(day, clock)
    except ValueError as exc:
        raise BookingFieldError(field, str(exc)) from None


def booking_moments(values: Mapping[str, Any], dates: DateReader, untimed: set[str] | None = None
                    ) -> tuple[datetime | None, datetime | None, datetime | None, str | None]:
    """(booked, arrested, released, custody status) of one booking's values; ``untimed``
    collects the stems ("booking", "arrest", "release") whose moment is a day only.
    Raises BookingFieldError naming the unreadable field."""
    held: list[str] = []
    booked = _moment(values, "booking", dates, untimed=untimed)
    arrested = _moment(values, "arrest", dates, untimed=untimed)
    released = _moment(values, "release", dates, held, untimed)
    return booked, arrested, released, (held[0] if held else None)


def _text(values: Mapping[str, Any], key: str) -> str:
    value = values.get(key)
    return "" if is_absent(value) else str(plain_value(value))


def _agency(values: Mapping[str, Any]) -> Party | None:
    """The arresting agency, by name and/or ORI code."""
    name, ori = _text(values, "agency"), _text(values, "agency_ori").upper()
    if not ori and _ORI.match(name) and sum(c.isdigit() for c in name) >= 3:
        ori = name
    if name == ori:
        name = ""
    if not (name or ori):
        return None
    return Party(kind="organisation", value=name or ori, label=name or f"ORI {ori}",
                 role="arresting_agency", properties={"ori": ori} if ori else {})


def _officer(values: Mapping[str, Any]) -> tuple[str, str]:
    """(name, badge) of the arresting officer; a badge written after the name is split off."""
    name, badge = _text(values, "arresting_officer"), _text(values, "officer_badge")
    if name and not badge:
        m = _BADGE_AFTER_NAME.search(name, max(0, len(name) - _BADGE_WINDOW))
        if m and name[:m.start()].strip(" ,-("):
            name, badge = name[:m.start()].strip(" ,-("), m.group("badge")
    return name, badge


def charge_level(severity: Any) -> str | None:
    """felony / misdemeanor / violation / infraction from a severity as lists write it,
    else None (a code that names no level, or an unknown one)."""
    if severity is None or isinstance(severity, bool):
        return None
    text = str(plain_value(severity)).strip()
    code = text.upper().rstrip(".")
    if code in _LEVEL_CODES:
        return _LEVEL_CODES[code]
    m = _LEVEL_DEGREE.match(code)
    if m:
        return _LEVEL_CODES[m.group(1)]
    m = _LEVEL_WORD.search(text)
    if m:
        return _LEVELS[next(i for i, g in enumerate(m.groups()) if g)]
    return None


def _names_a_level(value: Any) -> bool:
    """Whether ``value`` is a charge level and nothing more ("Misdemeanor", "F", "M1")."""
    if not isinstance(value, str) or not value.strip():
        return False
    text = value.strip().rstrip(".")
    return (text.upper() in _LEVEL_CODES or bool(_LEVEL_DEGREE.match(text.upper()))
            or bool(_LEVEL_WORD.fullmatch(text)))


def _with_levels(charges: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """The charges (empty keys dropped, empty charges skipped) with the ``level`` each
    severity states, and the most serious level among them."""
    out: list[dict[str, Any]] = []
    worst: str | None = None
    for charge in charges:
        kept = {k: v for k, v in charge.items() if v != "" and not is_absent(v)}
        if _names_a_level(kept.get("description")) and isinstance(kept.get("severity"), str) \
                and not _names_a_level(kept["severity"]):
            # The two columns swapped (a scraper writing "Misdemeanor" under the charge
            # and the charge under its degree): each value where it belongs.
            kept["description"], kept["severity"] = kept["severity"], kept["description"]
        if "severity" not in kept and isinstance(kept.get("description"), str) and (
                m := _TRAILING_CLASS.match(kept["description"])):
            # "LARCENY 6TH DEG   CM": the class code a fixed-width list pads to its column.
            kept["description"], kept["severity"] = m.group(1), m.group(2)
            kept.setdefault("level", _LEVEL_CODES[m.group(2)[-1].upper()])
        if isinstance(kept.get("description"), str) and _NO_CHARGE.match(kept["description"]):
            del kept["description"]  # the list's way of saying there is no charge
        if not kept:
            continue
        level = charge_level(kept.get("severity")) if "level" not in kept else kept["level"]
        if level:
            kept["level"] = level
            if worst is None or _LEVELS.index(level) < _LEVELS.index(worst):
                worst = level
        out.append(kept)
    return out, worst


def _coordinates(values: Mapping[str, Any]) -> tuple[float, float] | None:
    """(lat, lon) from latitude/longitude cells or one geo cell; None when empty,
    unreadable or out of range."""
    pair: tuple[Any, Any] | None = None
    if not is_absent(values.get("latitude")) and not is_absent(values.get("longitude")):
        pair = (values["latitude"], values["longitude"])
    elif isinstance(values.get("geo"), str):
        text = values["geo"]
        if m := _POINT.match(text):
            pair = (m.group(2), m.group(1))  # WKT writes longitude first
        elif m := _PAIR.match(text):
            pair = (m.group(1), m.group(2))
    if pair is None:
        return None
    try:
        lat, lon = float(str(pair[0]).strip()), float(str(pair[1]).strip())
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return None
    return lat, lon


def _arrest_place(values: Mapping[str, Any], unnamed: bool
                  ) -> tuple[dict[str, Any], list[Party], dict[str, Any]]:
    """(place as written, its parties, lat/lon properties) of an arrest. Without a
    person, a list's address columns are where the arrest happened."""
    place = {k: plain_value(values[k]) for k in PLACE_FIELDS
             if k not in ("latitude", "longitude", "geo") and _text(values, k)}
    street = _text(values, "arrest_location")
    cross = _text(values, "cross_street")
    city = _text(values, "arrest_city")
    region = " ".join(_text(values, k) for k in ("arrest_state", "arrest_zip") if _text(values, k))
    if unnamed and not street:
        street = _text(values, "address")
        city = city or _text(values, "city")
        region = region or " ".join(_text(values, k) for k in ("state", "postal_code")
                                    if _text(values, k))
        for key in ("address", "city", "state", "postal_code"):
            if _text(values, key):
                place.setdefault(key, plain_value(values[key]))
    parties: list[Party] = []
    if street:
        street = " ".join(street.split())
        shown = f"{street} & {' '.join(cross.split())}" if cross else street
        shown = ", ".join(p for p in (shown, city, region) if p)
        parties.append(Party(kind="address", value=shown, role="arrest_location"))
    geo: dict[str, Any] = {}
    found = _coordinates(values)
    if found == (0, 0):
        pass  # what some exports write for "not geocoded"
    elif found is not None:
        lat, lon = found
        geo = {"lat": lat, "lon": lon}
        parties.append(Party(kind="location", value=f"{lat:.6f}, {lon:.6f}",
                             role="arrest_location", properties=dict(geo)))
    elif not is_absent(values.get("geo")):
        place["geo"] = plain_value(values["geo"])  # unreadable: kept as written
    return place, parties, geo


def _descriptors(values: Mapping[str, Any], dates: DateReader) -> dict[str, Any]:
    """The person's date of birth, sex, race and physical description as kept."""
    person_props: dict[str, Any] = {}
    if not is_absent(values.get("dob")):
        try:
            person_props["dob"] = DateReader("auto", dates.dayfirst).parse(
                _date_cell(values["dob"])).date().isoformat()
        except ValueError:
            shown = str(plain_value(values["dob"]))
            if _BIRTH_YEAR.match(shown):
                person_props["birth_year"] = int(shown)  # a year alone: no day made up
            else:
                person_props["dob_text"] = shown
    sex = normalise_sex(values.get("sex"))
    if sex:
        person_props["sex"] = sex
    for key in ("race", *_PERSON_DESCRIPTORS):
        if _text(values, key):
            shown = plain_value(values[key])
            # isdecimal, not isdigit: "²" is a digit but no number int() reads.
            person_props[key] = int(shown) if key == "age" and str(shown).isdecimal() else shown
    return person_props


def _agency_and_officer(values: Mapping[str, Any], props: dict[str, Any]
                        ) -> tuple[Party | None, Party | None, list[ParsedLink]]:
    """The arresting agency and officer of a record (None when not given), written into
    the event's ``props`` as well, and the officer's ``member_of`` link to the agency."""
    agency = _agency(values)
    officer_name, badge = _officer(values)
    links: list[ParsedLink] = []
    if agency is not None:
        props["agency"] = agency.label
        if agency.properties:
            props["agency_ori"] = agency.properties["ori"]
    if officer_name:
        props["arresting_officer"] = officer_name
    if badge:
        props["officer_badge"] = badge
    officer: Party | None = None
    if officer_name or badge:
        shown = (f"{officer_name} (badge {badge})" if officer_name and badge
                 else officer_name or f"Badge {badge}")
        officer = Party(kind="person", value=shown, role="arresting_officer",
                        properties={"badge": badge} if badge else {})
        if agency is not None:
            links.append(ParsedLink("member_of", officer, agency))
    return agency, officer, links


def _unnamed_arrest_events(values: Mapping[str, Any], charges: Iterable[Mapping[str, Any]],
                           ref: str, dates: DateReader) -> list[ParsedEvent]:
    """The events of one anonymised arrest record (see the module docstring)."""
    untimed: set[str] = set()
    booked, arrested, released, custody = booking_moments(values, dates, untimed)
    number = _text(values, "booking_number")
    # A list of anonymised jail admissions (a booking date, no arrest date) gives
    # bookings, not arrests: what the record dates is the person's intake.
    kind = "booking" if arrested is None and booked is not None else "arrest"
    number_key = f"{kind}_number"
    charge_list, level = _with_levels(charges)
    props: dict[str, Any] = {number_key: number or None, "charges": charge_list}
    if level:
        props["level"] = level
    if _text(values, "booking_bond"):
        props["bond_amount"] = plain_value(values["booking_bond"])
    for key, moment in (("arrest_time", arrested), ("booking_time", booked),
                        ("release_time", released)):
        if moment is not None:
            props[key] = moment.isoformat()
    if custody:
        props["custody_status"] = custody
    arrestee = _descriptors(values, dates)
    if arrestee:
        props["arrestee"] = arrestee
    place, parties, geo = _arrest_place(values, unnamed=True)
    if place:
        props["place"] = place
    props.update(geo)
    agency, officer, links = _agency_and_officer(values, props)
    parties += [p for p in (agency, officer) if p is not None]
    title = f"{kind.title()} {number}" if number else kind.title()
    events = [ParsedEvent(kind=kind, occurred_at=arrested or booked, ref=ref, title=title,
                          parties=tuple(parties), links=tuple(links),
                          properties=_dated(props, "arrest" if arrested else "booking", untimed))]
    short = {number_key: number or None}
    if booked is not None and arrested is not None and booked != arrested:
        events.append(ParsedEvent(
            kind="booking", occurred_at=booked, ref=f"{ref} (booking)", title=f"Booking ({title})",
            parties=(agency,) if agency is not None else (),
            properties=_dated(short, "booking", untimed)))
    if released is not None:
        events.append(ParsedEvent(kind="release", occurred_at=released, ref=f"{ref} (release)",
                                  title=f"Release ({title})",
                                  properties=_dated(short, "release", untimed)))
    return events


def _dated(props: dict[str, Any], stem: str, untimed: set[str]) -> dict[str, Any]:
    """``props`` for an event at the ``stem`` moment, marked when that moment is a day
    without a time (its occurred_at stays midnight)."""
    return {**props, "time_precision": "day"} if stem in untimed else props


def build_booking_events(values: Mapping[str, Any], charges: Iterable[Mapping[str, Any]],
                         ref: str, dates: DateReader, *, unnamed: bool = False
                         ) -> list[ParsedEvent]:
    """The events of one booking (see the module docstring); ``unnamed``: the list names
    nobody (an anonymised arrest list), so a record without a name is an arrest of its
    own. Raises BookingFieldError."""
    name = person_name(values)
    if name is None or not (name.last or name.first):
        if unnamed:
            return _unnamed_arrest_events(values, charges, ref, dates)
        raise BookingFieldError("last_name", "no name of the person booked")
    untimed: set[str] = set()
    booked, arrested, released, custody = booking_moments(values, dates, untimed)
    person_props = _descriptors(values, dates)
    if name.suffix:
        person_props["suffix"] = name.suffix
    given = " ".join(p for p in (name.first, name.middle) if p)
    value = f"{name.last}, {given}" if name.last and given else (name.last or given)
    label = " ".join(p for p in (name.first, name.last) if p)
    if name.suffix:
        value, label = f"{value} {name.suffix}", f"{label} {name.suffix}"
    person = Party(kind="person", value=value, label=label, role="arrestee",
                   properties=person_props)

    number = _text(values, "booking_number")
    charge_list, level = _with_levels(charges)
    props: dict[str, Any] = {"booking_number": number or None, "charges": charge_list}
    if level:
        props["level"] = level
    if _text(values, "booking_bond"):
        props["bond_amount"] = plain_value(values["booking_bond"])  # all charges' bond
    for key, moment in (("booking_time", booked), ("arrest_time", arrested),
                        ("release_time", released)):
        if moment is not None:
            props[key] = moment.isoformat()
    if custody:
        props["custody_status"] = custody
    if "age" in person_props:
        props["age"] = person_props["age"]  # at this booking; the person's may be newer
    agency, officer, links = _agency_and_officer(values, props)
    place, place_parties, geo = _arrest_place(values, unnamed=False)
    if place:
        props["place"] = place
    props.update(geo)

    parties: list[Party] = [person, *place_parties]
    address = ", ".join(_text(values, k) for k in ("address", "city") if _text(values, k))
    state_zip = " ".join(_text(values, k) for k in ("state", "postal_code") if _text(values, k))
    if state_zip:
        address = f"{address}, {state_zip}" if address else state_zip
    if address:
        addr = Party(kind="address", value=address, role="address_of_record")
        parties.append(addr)
        links.append(ParsedLink("resides_at", person, addr))
    parties += [p for p in (agency, officer) if p is not None]
    for key, kind in (("phone", "phone"), ("email", "email")):
        if _text(values, key):
            ident = Party(kind=kind, value=_text(values, key), role=kind)
            parties.append(ident)
            links.append(ParsedLink("uses", person, ident))

    title = f"Booking {number}" if number else "Booking"
    events = [ParsedEvent(kind="booking", occurred_at=booked or arrested, ref=ref, title=title,
                          parties=tuple(parties), links=tuple(links),
                          properties=_dated(props, "booking" if booked else "arrest", untimed))]
    short = {"booking_number": number or None, "charges": charge_list}
    if arrested is not None and booked is not None and arrested != booked:
        arrest_parties = [person, *place_parties] + [p for p in (agency, officer) if p is not None]
        events.append(ParsedEvent(
            kind="arrest", occurred_at=arrested, ref=f"{ref} (arrest)",
            title=f"Arrest ({title})", parties=tuple(arrest_parties),
            properties=_dated({**short, **({"agency": agency.label} if agency else {})},
                              "arrest", untimed)))
    if released is not None:
        events.append(ParsedEvent(kind="release", occurred_at=released, ref=f"{ref} (release)",
                                  title=f"Release ({title})", parties=(person,),
                                  properties=_dated({"booking_number": number or None},
                                                    "release", untimed)))
    return events
