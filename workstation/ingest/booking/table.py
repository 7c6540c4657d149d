"""Arrest/booking lists as CSV or XLSX, read through a mapping profile.

The profile comes from the import options, else is guessed from common header names
(``Booking Number``, ``Last Name``, ``DOB``, ``Charges``, ``Arrest Date``...), below any
title or report-header lines. The details of a charge and a person (statute, degree, bond,
court case, disposition; suffix, age, height, weight, hair, eyes; ORI, badge) are taken
from the profile when it maps them, else recognised by header among the unmapped columns
(:data:`_CHARGE_DETAILS`, :data:`_BOOKING_DETAILS`); any other column is kept in the
booking's ``properties["other_columns"]`` under its header.

One row per booking or one row per CHARGE: consecutive rows with the same booking
number (and no other person, date of birth or booking date) make ONE booking, with each
row's charge(s) in ``properties["charges"]`` and ``ref="rows N-M"``. A row with neither
booking number nor name carries more charges of the booking above it (report-style
exports print the person once). Without booking numbers, consecutive rows of the same
person and booking (else arrest) date are one booking. A booking's fields come from its
first row that has them; a different value in a later row is kept, per field, in
``properties["varying"]``.

A booking number met again after other bookings (the list was not sorted by booking) is
read as a booking of its own, not merged (that would mean holding every booking until the
end of the file) and not dropped: its event is titled "Booking N (listed again)" with
``properties["listed_again"] = True``, so both appear on the timeline marked as one. The
numbers seen are remembered in fixed memory (:class:`_SeenNumbers`); a booking longer
than :data:`MAX_ROWS_PER_BOOKING` rows is likewise cut into parts, so memory stays flat
on any file.

Charges come from one column (split on ``;``, ``|`` or line breaks; per-charge columns
written the same way are paired with them) and/or ``charge_1``, ``charge_2``... columns.
A report's own lines are skipped and counted in :class:`ReadStats` ("report line"):
footers and page lines ("Total bookings: 3", "Page 2 of 5", "End of report") and the
title lines above the table printed again on each page. Any other row the reader rejects
for its number of columns is an error; it also ends the booking open above it, so errors
come in row order. A bad row gives a RowError naming the row and the field; a booking
that cannot be read (no name, a bad booking date) names the row its field came from.

Headers the common names miss are read through aliases (:func:`_alias`): a subject
prefix ("inmate_lastname", "arrestee_sex"), "booking_timestamp", "latest admission date",
an "Arrests" column of charges, and an anonymised row key ("IDENTIFIER") beside an
admission date. A detail cell with one value beside several charges is every charge's,
except a bond: that is the booking's (``properties["bond_amount"]``).

A list without any name column (police open-data arrest lists: NYPD, LAPD, Chicago,
Baltimore, Dallas) is read as arrests (``unnamed`` in :mod:`.common`): one arrest event
per arrest number, its charges from one row or several, the arrestee's age, sex and race
on the event. Such lists name the arrest's place (:data:`_PLACE_DETAILS`: address, cross
street, area, precinct, coordinates) and give a charge's details in numbered columns
("CHARGE_1_STATUTE", "CHARGE_1_TYPE", "CHARGE_1_CLASS"): these are recognised by header
in any list.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple, cast

from workstation.ingest.booking.common import (
    BookingFieldError,
    booking_moments,
    build_booking_events,
    is_absent,
    person_name,
    plain_value,
    split_charges,
    split_list,
)
from workstation.ingest.records import ImportOptions, ParseError, Record, RowError
from workstation.ingest.tabular import (
    _BOOKING_SYNONYMS,
    _BOOKING_TIME_OF_DAY,
    HEADER_SEARCH_ROWS,
    ClockSurvey,
    DateReader,
    MappedRow,
    MappingProfile,
    ReadStats,
    choose_profile,
    decide_file_conventions,
    guess_profile,
    is_spreadsheet,
    is_xlsx,
    markup_kind,
    iter_mapped_rows,
    iter_raw_rows,
    normalise_header,
    parse_amount,
    profile_from_options,
    sniff_table,
    text_sample_rows,
    zone_for_profile,
)

_DATE_FIELDS = ("booking_time", "booking_date", "arrest_time", "arrest_date", "release_time",
                "release_date", "dob")

MAX_ROWS_PER_BOOKING = 1000

# Detail fields (also in tabular.BOOKING_FIELDS, for profiles that map them) recognised by
# header among a row's unmapped cells, whichever profile mapped the rest.
_CHARGE_DETAILS: dict[str, tuple[str, ...]] = {
    "statute": ("statute", "statute number", "statute no", "statute #", "statute code",
                "statute section", "statute/ordinance", "ordinance", "orc", "penal code",
                "section", "law", "charge statute", "offense statute", "act/section",
                "law code"),
    "code": ("charge code", "offense code", "offence code", "ncic code", "ncic", "ucr code",
             "ucr", "nibrs code", "nibrs", "code", "cjs code", "cjs offence code",
             "home office code", "ho code", "charge", "pd cd", "charge cd"),
    "severity": ("degree", "level", "charge degree", "charge level", "offense level",
                 "offence level", "offense degree", "class", "charge class", "offense class",
                 "severity", "grade", "charge grade", "charge type", "offense type",
                 "felony/misdemeanor", "fel/misd", "crime class", "law cat cd",
                 "law category", "severity of charge", "charge severity",
                 "arrest type code", "arrest type"),
    "counts": ("counts", "count", "# counts", "no. of counts", "number of counts", "cnt"),
    "bond_amount": ("bond", "bond amount", "bond amt", "bond $", "bail", "bail amount",
                    "bail amt", "bond value", "charge bond", "bond set", "bail set"),
    "bond_type": ("bond type", "bail type", "bond description", "bond desc", "bond status",
                  "bail status", "bail conditions"),
    "court_case": ("case number", "case no", "case no.", "case #", "case num", "case",
                   "court case", "court case number", "court case #", "court case no",
                   "docket", "docket number", "docket no", "docket #", "cause number",
                   "cause no", "court number", "citation number", "citation #"),
    "disposition": ("disposition", "charge disposition", "dispo", "court disposition",
                    "disposition description",
                    "charge status", "outcome", "charge outcome", "disposal", "result"),
    "warrant": ("warrant", "warrant number", "warrant no", "warrant #", "warrant id"),
}
_BOOKING_DETAILS: dict[str, tuple[str, ...]] = {
    "suffix": ("suffix", "name suffix", "sfx", "suffix name", "generation"),
    "age": ("age", "age at booking", "age at arrest", "booking age", "arrest age",
            "age when booked", "age at time of arrest", "age group", "arrestee age",
            "arrestee age at arrest time", "perp age", "age range", "suspect age"),
    "height": ("height", "hgt", "ht", "hght"),
    "weight": ("weight", "wgt", "wt", "wght"),
    "hair": ("hair", "hair color", "hair colour", "hai", "hair clr"),
    "eyes": ("eyes", "eye", "eye color", "eye colour", "eyes color", "eye clr"),
    "agency_ori": ("ori", "agency ori", "ori number", "ori code", "ori #",
                   "arresting agency ori", "arrest ori"),
    "officer_badge": ("badge", "badge number", "badge no", "badge #", "officer badge",
                      "officer badge number", "officer badge #", "arresting officer badge",
                      "badge/id", "officer id", "officer number", "officer no", "officer #",
                      "collar number", "collar no", "shoulder number"),
}
# Where the arrest happened (common.PLACE_FIELDS). "Arrest Location" is the place only
# when no "Arrest Address" came first: Dallas writes the kind of premises there.
_PLACE_DETAILS: dict[str, tuple[str, ...]] = {
    "arrest_location": ("arrest address", "arrestaddress", "arrest location",
                        "arrestlocation", "location of arrest", "arrest street",
                        "arrest place", "place of arrest", "address of arrest"),
    "cross_street": ("cross street", "crossstreet", "cross st", "arrest cross street"),
    "arrest_city": ("arrest city", "city of arrest"),
    "arrest_state": ("arrest state",),
    "arrest_zip": ("arrest zipcode", "arrest zip", "arrest zip code", "arrest postal code"),
    "area": ("area name", "area", "arrest boro", "boro", "borough", "arrest borough",
             "division", "patrol division", "neighborhood", "neighbourhood", "community area"),
    "precinct": ("arrest precinct", "precinct", "district", "police district",
                 "arrest district", "reporting district", "beat", "post", "sector", "zone",
                 "patrol area"),
    "latitude": ("latitude", "lat", "arrest latitude", "y coordinate latitude"),
    "longitude": ("longitude", "lon", "long", "lng", "arrest longitude"),
    "geo": ("location", "geolocation", "geo location", "new georeferenced column",
            "lon lat", "location 1", "point", "geocoded column", "coordinates"),
}
# A charge's own details in numbered columns: "CHARGE_1_STATUTE", "Charge 2 Class".
_NUMBERED_DETAIL = re.compile(
    r"(?:charge|offen[cs]e)\s*#?\s*(\d{1,2})\s*(statute|description|desc|type|class|level|"
    r"degree|code|bond|bond amount|bail|severity|counts?|disposition|warrant)")
_NUMBERED_FIELD = {"statute": "statute", "description": "description", "desc": "description",
                   "type": "severity", "level": "severity", "severity": "severity",
                   "degree": "degree", "class": "class", "code": "code", "bond": "bond_amount",
                   "bond amount": "bond_amount", "bail": "bond_amount", "count": "counts",
                   "counts": "counts", "disposition": "disposition", "warrant": "warrant"}
_DETAIL_BY_HEADER = {name: fld for table in (_CHARGE_DETAILS, _BOOKING_DETAILS, _PLACE_DETAILS)
                     for fld, names in table.items() for name in names}
_UNIT_FIELDS = ("height", "weight")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")

# A cell that starts a report's footer or page line (only asked of a row without a name).
_FOOTER = re.compile(
    r"(?i)(?:(?:grand\s+|sub-?)?totals?\b"
    r"|(?:number|no\.?|count|#)\s+of\s+\w+"
    r"|(?:records?|rows?|bookings?|inmates?|arrests?|persons?|people|charges?|entries)"
    r"(?:\s+\w+){0,3}\s*[:=]"
    r"|\d+\s+(?:records?|rows?|bookings?|inmates?|arrests?|persons?|charges?|entries)\b"
    r"|page\s+\d+|end\s+of\s+(?:the\s+)?(?:report|list|listing|file|data)"
    r"|(?:report\s+)?(?:generated|printed|created|run|produced)\s*(?:on|by|at|date|:)"
    r"|confidential|law\s+enforcement\s+sensitive|for\s+official\s+use|\*{2,}|-{3,}|={3,})")


# Header spellings read as a known one (:func:`_aliased_headers`): jail scrapers put the
# subject before each field ("inmate_lastname", "arrestee_sex"), write "timestamp" for a
# date and time, "latest admission date" for the booking date; an arrest report lists
# what the person was arrested for under "Arrests".
_SUBJECT_PREFIXES = ("inmate", "arrestee", "defendant", "subject", "offender", "detainee",
                     "prisoner", "perp", "person", "suspect", "accused", "booking subject")
_QUALIFIERS = ("latest", "most recent", "last", "initial", "original")
_RENAMED = {"arrests": "charges", "arrest offenses": "charges", "arrest offense": "charges",
            "offenses charged": "charges", "charged offenses": "charges"}
# An anonymised row key, read as the booking number only beside a booking/admission date.
_ROW_KEYS = ("identifier", "id", "record id", "person id", "inmate identifier")
_KNOWN_HEADERS = frozenset(
    {n for names in (*_BOOKING_SYNONYMS.values(), *_BOOKING_TIME_OF_DAY.values()) for n in names})


def _alias(norm: str) -> str | None:
    """A normalised header as a known one, or None (see :data:`_SUBJECT_PREFIXES`)."""
    if norm in _KNOWN_HEADERS or norm in _DETAIL_BY_HEADER:
        return None
    tries = [norm]
    for prefix in _SUBJECT_PREFIXES:
        if norm.startswith(prefix + " ") and len(norm) > len(prefix) + 1:
            tries.append(norm[len(prefix) + 1:])
    for word in _QUALIFIERS:
        tries += [t[len(word) + 1:] for t in list(tries) if t.startswith(word + " ")]
    tries += [t[:-len("timestamp")] + "date/time" for t in list(tries)
              if t.endswith(" timestamp")]
    for t in tries:
        t = _RENAMED.get(t, t)
        if t != norm and (t in _KNOWN_HEADERS or t in _DETAIL_BY_HEADER):
            return t
    return None


def _aliased_headers(headers: Sequence[Any]) -> list[Any]:
    """``headers`` with the spellings :func:`_alias` knows replaced by the known name
    (a name already present, or given by an earlier column, is not given twice)."""
    norms = [normalise_header(h) for h in headers]
    out: list[Any] = list(headers)
    used = set(norms)
    for i, norm in enumerate(norms):
        alias = _alias(norm)
        if alias is not None and alias not in used:
            out[i] = alias
            used.add(alias)
    dated = any(normalise_header(h) in _BOOKING_SYNONYMS["booking_date"]
                or normalise_header(h) in _BOOKING_SYNONYMS["booking_time"] for h in out)
    if dated and not any(normalise_header(h) in _BOOKING_SYNONYMS["booking_number"]
                         for h in out):
        for i, norm in enumerate(norms):
            if norm in _ROW_KEYS:
                out[i] = "inmate id"
                break
    return out


def _aliased_profile(headers: Sequence[Any]) -> MappingProfile | None:
    """The guessed booking profile of a header read through :func:`_aliased_headers`,
    its columns naming the file's own headers; None when the aliases change nothing or
    no layout applies."""
    aliased = _aliased_headers(headers)
    if aliased == list(headers):
        return None
    profile = guess_profile(aliased, "booking")
    if profile is None:
        return None
    back = {str(a).replace("\ufeff", "").strip(): str(h).replace("\ufeff", "").strip()
            for a, h in zip(aliased, headers, strict=True)}
    columns = {fld: back.get(ref, ref) if isinstance(ref, str) else ref
               for fld, ref in profile.columns.items()}
    return replace(profile, columns=columns)


def _header_rows(rows: Iterable[tuple[int, Sequence[Any]]]
                 ) -> Iterator[tuple[int, MappingProfile]]:
    """The rows (by number) that :func:`_aliased_profile` reads as a header."""
    for number, row in rows:
        if number > HEADER_SEARCH_ROWS:
            break
        if sum(1 for c in row if c is not None and str(c).strip()) < 2:
            continue
        found = _aliased_profile(row)
        if found is not None:
            yield number, found


def _booking_profile(path: Path, options: ImportOptions) -> MappingProfile:
    """The profile of a booking list: the options', a built-in one, else the better of
    the header guess and the guess through :func:`_aliased_headers` (the one reading
    more columns). Raises ParseError when neither applies."""
    if profile_from_options(options, "booking") is not None:
        return choose_profile(path, options, "booking")
    try:
        profile: MappingProfile | None = choose_profile(path, options, "booking")
        refused: ParseError | None = None
    except ParseError as exc:
        profile, refused = None, exc
    if profile is not None and profile.name != "guessed":
        return profile
    with closing(cast(_RawRows, iter_raw_rows(path, encoding=options.encoding))) as rows:
        found = next(_header_rows(rows), None)
    if found is not None and (profile is None or len(found[1].columns) > len(profile.columns)):
        number, aliased = found
        return replace(aliased, skip_rows=number - 1)
    if profile is None:
        assert refused is not None
        raise refused
    return profile


class _DetailColumns:
    """Which unmapped header holds which detail field (and the unit its header states),
    decided once from the header row; a second header for the same field stays "other"."""

    def __init__(self, header: Sequence[str] | None, mapped: set[int]) -> None:
        self.by_header: dict[str, tuple[str, str | None]] = {}
        # "CHARGE_1_STATUTE" → (1, "statute"): details of the numbered charges.
        self.numbered: dict[str, tuple[int, str]] = {}
        taken: set[str] = set()
        for i, text in enumerate(header or ()):
            if i in mapped or not text:
                continue
            norm, unit = normalise_header(text), None
            m = _NUMBERED_DETAIL.fullmatch(norm)
            if m:
                key = (int(m.group(1)), _NUMBERED_FIELD[m.group(2)])
                if key not in self.numbered.values():
                    self.numbered[text] = key
                    continue
            fld = _DETAIL_BY_HEADER.get(norm)
            if fld is None:
                bare, unit = _header_note(norm)
                fld = _DETAIL_BY_HEADER.get(bare) or _DETAIL_BY_HEADER.get(_alias(bare) or "")
            if fld is not None and fld not in taken:
                taken.add(fld)
                self.by_header[text] = (fld, unit if fld in _UNIT_FIELDS else None)


def _header_note(norm: str) -> tuple[str, str | None]:
    """A normalised header without its note, and the unit the note states: "weight (lbs)"
    → ("weight", "lbs"); "statute:" → ("statute", None). String operations rather than a
    pattern, so a long header of brackets or colons is read in one pass."""
    if norm.endswith(")") and "(" in norm:
        bare, _, note = norm[:-1].rpartition("(")
        return bare.rstrip(), note.strip() or None
    return norm.rstrip(":*").rstrip(), None


def _charge_value(fld: str, value: Any) -> Any:
    """A per-charge cell as kept: bond amounts as plain numbers when they are amounts
    ("$5,000.00" → "5000.00"; "NO BOND" as written), counts as int."""
    if fld == "bond_amount":
        try:
            return str(parse_amount(value).value)
        except ValueError:
            pass
    shown = plain_value(value)
    return int(shown) if fld == "counts" and str(shown).isdecimal() else shown


def _row_charges(cells: Mapping[str, Any],
                 numbered: Mapping[int, Mapping[str, Any]] | None = None,
                 aside: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The charges one row gives (``cells``: its ``charges``, ``charge_N`` and detail
    fields; ``numbered``: charge N's details from its own columns). Several charges in
    the description cell are paired with detail cells that list as many values; a
    detail cell with one value is every charge's, except a bond, which is the whole
    booking's (put in ``aside["booking_bond"]``); otherwise the row is one charge, as
    written. A charges cell that only lists the numbered charges again (a summary
    column beside them) adds none."""
    detail = {k: v for k, v in cells.items() if k in _CHARGE_DETAILS}
    out: list[dict[str, Any]] = []
    desc = cells.get("charges")
    if desc is not None:
        parts = split_charges(str(plain_value(desc)))
        listed = {k: split_list(v) for k, v in detail.items() if isinstance(v, str)}
        if not detail:
            out = parts
        elif len(parts) > 1 and any(len(v) == len(parts) for v in listed.values()) and all(
                k in listed and len(listed[k]) in (0, 1, len(parts)) for k in detail):
            shared = {k: v[0] for k, v in listed.items() if len(v) == 1}
            if "bond_amount" in shared:
                bond = shared.pop("bond_amount")
                if aside is not None:
                    aside["booking_bond"] = _charge_value("bond_amount", bond)
            out = [{**part, **{k: _charge_value(k, v[i]) for k, v in listed.items()
                               if len(v) == len(parts)},
                    **{k: _charge_value(k, v) for k, v in shared.items()}}
                   for i, part in enumerate(parts)]
        elif len(parts) > 1 and len(listed) == len(detail) and all(
                len(v) == len(parts) for v in listed.values()):
            out = [{**part, **{k: _charge_value(k, v[i]) for k, v in listed.items()}}
                   for i, part in enumerate(parts)]
        else:
            out = [{"description": str(plain_value(desc)),
                    **{k: _charge_value(k, v) for k, v in detail.items()}}]
    elif detail:
        out = [{k: _charge_value(k, v) for k, v in detail.items()}]
    by_number: dict[int, dict[str, Any]] = {}
    for key in (k for k in cells if k.startswith("charge_")):
        by_number.setdefault(int(key[7:]), {})["description"] = cells[key]
    for n, detail_cells in (numbered or {}).items():
        into = by_number.setdefault(n, {})
        for k, v in detail_cells.items():
            into.setdefault(k, v)
    from_numbers: list[dict[str, Any]] = []
    for n in sorted(by_number):
        fields = by_number[n]
        more = {k: _charge_value(k, v) for k, v in fields.items() if k != "description"}
        if "description" not in fields:
            from_numbers.append(more)
        elif not more:
            from_numbers.extend(split_charges(str(plain_value(fields["description"]))))
        else:
            from_numbers.append({"description": str(plain_value(fields["description"])), **more})
    if from_numbers and len(out) == 1:
        written = {str(c.get("description", "")).casefold() for c in from_numbers}
        summary = split_list(str(plain_value(desc))) if desc is not None else []
        if all(p.casefold() in written for p in summary):
            # A row's details beside numbered charges (Chicago's case number), or a
            # summary cell listing the numbered charges again: one set of charges.
            merged = _share_details(from_numbers, {k: v for k, v in out[0].items()
                                                   if k != "description"})
            if merged is not None:
                return merged
    return out + from_numbers


def _share_details(charges: list[dict[str, Any]], shared: Mapping[str, Any]
                   ) -> list[dict[str, Any]] | None:
    """``charges`` with the row's details each lacks; None when that would misstate one:
    a row's bond is the whole booking's, not each of several charges' (unless every
    charge has its own)."""
    if "bond_amount" in shared and len(charges) > 1:
        if not all("bond_amount" in c for c in charges):
            return None
        shared = {k: v for k, v in shared.items() if k != "bond_amount"}
    return [{**c, **{k: v for k, v in shared.items() if k not in c}} for c in charges]


def _name_key(values: Mapping[str, Any]) -> tuple[str, str] | None:
    name = person_name(values)
    if name is None or not (name.last or name.first):
        return None
    return name.last.casefold(), name.first.casefold()


class _Row(NamedTuple):
    """One data row split up: booking fields, the person's name key, the row's charges,
    and the columns no field takes (by header)."""

    number: int
    values: dict[str, Any]
    person: tuple[str, str] | None
    charges: list[dict[str, Any]]
    other: dict[str, Any]


@dataclass
class _Booking:
    """The rows of one booking read so far."""

    first: int
    number: str
    person: tuple[str, str] | None
    values: dict[str, Any]
    origin: dict[str, int]
    charges: list[dict[str, Any]]
    other: dict[str, Any]
    last: int = 0
    rows: int = 1
    listed_again: bool = False
    unnamed: bool = False  # the list names nobody: an anonymised arrest list
    varying: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def start(cls, row: _Row, unnamed: bool = False) -> _Booking:
        return cls(first=row.number, last=row.number, number=_booking_number(row.values),
                   person=row.person, values=row.values,
                   origin=dict.fromkeys(row.values, row.number), charges=row.charges,
                   other=row.other, unnamed=unnamed)

    def takes(self, row: _Row, when_keys: tuple[str, ...]) -> bool:
        """Whether ``row`` continues this booking."""
        if self.rows >= MAX_ROWS_PER_BOOKING:
            return False
        values = row.values
        number = _booking_number(values)
        if number != self.number:
            # No number and no person: more charges of the booking above. Where nobody
            # is named, a row with a date of its own is another arrest.
            return not number and row.person is None and is_absent(values.get("dob")) and not (
                self.unnamed and any(not is_absent(values.get(k)) for k in _DATE_FIELDS))
        if row.person is not None and self.person is not None and row.person != self.person:
            return False
        return all(is_absent(values.get(k)) or is_absent(self.values.get(k))
                   or plain_value(values[k]) == plain_value(self.values[k])
                   for k in ("dob", *when_keys))

    def add(self, row: _Row, dates: DateReader) -> None:
        """Take one more row. Raises BookingFieldError (before taking anything) when the
        row brings a date of its own that cannot be read."""
        if any(k in _DATE_FIELDS and k != "dob" and v != self.values.get(k)
               for k, v in row.values.items()):
            booking_moments({**self.values, **row.values}, dates)
        for k, v in row.values.items():
            self._merge(self.values, k, v, row.number)
        for k, v in row.other.items():
            self._merge(self.other, k, v, row.number)
        self.charges.extend(row.charges)
        self.last = row.number
        self.rows += 1
        self.person = self.person or row.person

    def _merge(self, into: dict[str, Any], key: str, value: Any, number: int) -> None:
        have = into.get(key)
        if value is have or value == have or is_absent(value):
            return  # the common case: a booking's fields repeated on each charge's row
        if is_absent(have):
            into[key] = value
            self.origin[key] = number
        elif plain_value(have) != (shown := plain_value(value)):
            seen = self.varying.setdefault(key, [])
            if shown not in seen:
                seen.append(shown)

    @property
    def ref(self) -> str:
        return f"row {self.first}" if self.first == self.last else f"rows {self.first}-{self.last}"

    def records(self, dates: DateReader) -> list[Record]:
        """The booking's events, or one RowError naming the row of the unreadable field."""
        try:
            events = build_booking_events(self.values, self.charges, self.ref, dates,
                                          unnamed=self.unnamed)
        except BookingFieldError as exc:
            where = f" (booking of {self.ref})" if self.first != self.last else ""
            return [RowError(ref=f"row {self.origin.get(exc.field, self.first)}",
                             field=exc.field, message=exc.message + where)]
        booking = events[0]
        more: dict[str, Any] = {}
        if self.other:
            more["other_columns"] = {k: plain_value(v) for k, v in self.other.items()}
        if self.varying:
            more["varying"] = self.varying
        title = booking.title
        if self.listed_again:
            more["listed_again"] = True
            title = f"{title} (listed again)"
        if more:
            events[0] = replace(booking, title=title, properties={**booking.properties, **more})
        return list(events)


def _booking_number(values: Mapping[str, Any]) -> str:
    value = values.get("booking_number")
    return "" if is_absent(value) else str(plain_value(value))


class _SeenNumbers:
    """Booking numbers already read in this file, in fixed memory whatever its size: a
    Bloom filter of 8 MiB. "Not seen" is always right; "seen" is wrong for fewer than one
    booking in ten million while the file has under a million bookings."""

    _BITS = 1 << 26
    _PROBES = 7

    def __init__(self) -> None:
        self._bits = bytearray(self._BITS // 8)

    def add(self, number: str) -> bool:
        """Remember ``number``; whether it had been seen before."""
        digest = hashlib.blake2b(number.casefold().encode("utf-8", "surrogatepass"),
                                 digest_size=16).digest()
        h1, h2 = int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little") | 1
        seen = True
        for i in range(self._PROBES):
            bit = (h1 + i * h2) % self._BITS
            byte, mask = bit >> 3, 1 << (bit & 7)
            if not self._bits[byte] & mask:
                seen = False
                self._bits[byte] |= mask
        return seen


_RawRows = Generator[tuple[int, list[Any]], None, None]


class _ReportLines:
    """Tells a report's own lines from data: footers and page lines, and the title lines
    above the table printed again on each page. Knows the title lines from the rows the
    profile skips, and reads the cells of rows the mapped reader rejected for their number
    of columns with a second reader that starts at the first such row and only moves on:
    at most one more pass over the file, none for a file without such rows."""

    def __init__(self, path: Path, profile: MappingProfile, encoding: str | None) -> None:
        self._path, self._profile, self._encoding = path, profile, encoding
        self.titles: set[str] = set()
        if profile.skip_rows:
            with closing(self._open()) as rows:
                for number, cells in rows:
                    if number > profile.skip_rows:
                        break
                    self.titles.update(_texts(cells))
        self._rows: _RawRows | None = None

    def _open(self) -> _RawRows:
        # A generator (typed as an Iterator): closing it closes the file or workbook.
        return cast(_RawRows, iter_raw_rows(self._path, encoding=self._encoding,
                                            delimiter=self._profile.delimiter,
                                            sheet=self._profile.sheet))

    def matches(self, cells: Iterable[Any]) -> bool:
        """Whether ``cells`` are a footer or page line, or repeat the title lines."""
        texts = _texts(cells)
        return bool(texts) and (any(_FOOTER.match(t) for t in texts)
                                or all(t in self.titles for t in texts))

    def rejected(self, error: RowError) -> list[Any]:
        """The cells of the row ``error`` rejects (tabular's refs are "row N")."""
        wanted = int(error.ref.rsplit(" ", 1)[-1])
        if self._rows is None:
            self._rows = self._open()
        for number, cells in self._rows:
            if number >= wanted:
                return cells if number == wanted else []
        return []

    def close(self) -> None:
        if self._rows is not None:
            self._rows.close()


def _texts(cells: Iterable[Any]) -> list[str]:
    """The non-blank cells as compared with a report's lines (case folded)."""
    return [str(plain_value(c)).casefold() for c in cells
            if c is not None and str(c).strip()]


def _report_row(row: _Row, report: _ReportLines) -> bool:
    """Whether a data row is a report's own line: no person and a few cells that are one
    (a row of charges printed under the person above has no person either), or a footer
    written where the name goes, with no booking number or birth date."""
    values = row.values
    if row.person is None:
        cells = [*values.values(), *row.other.values(),
                 *(v for charge in row.charges for v in charge.values())]
        return len(cells) <= 3 and report.matches(cells)
    return (not _booking_number(values) and is_absent(values.get("dob"))
            and report.matches(values.get(k) for k in ("full_name", "last_name", "first_name")))


def read_bookings(path: str | Path, profile: MappingProfile | None = None,
                  options: ImportOptions | None = None,
                  stats: ReadStats | None = None) -> Iterator[Record]:
    """Stream the booking events of a CSV/XLSX list. Raises ParseError when the file
    cannot be read or no layout applies; yields RowError for a bad row."""
    p = Path(path)
    options = options or ImportOptions()
    stats = stats if stats is not None else ReadStats()
    if profile is None:
        profile = _booking_profile(p, options)
    elif profile.target != "booking":
        raise ParseError(f"mapping profile {profile.name!r} is not for bookings", file=p)
    dayfirst, _ = decide_file_conventions(p, profile, date_fields=_DATE_FIELDS,
                                          amount_fields=(), encoding=options.encoding,
                                          default_region=options.default_region)
    dates = DateReader(profile.date_formats, dayfirst, zone_for_profile(profile, None))
    # A date column written "01/05/2024 12:00:00 AM" on every row gives days, not times.
    dates.survey = ClockSurvey(p, profile, {k: k.endswith("_time") for k in _DATE_FIELDS
                                            if k != "dob"}, encoding=options.encoding)
    if any(k.startswith("booking_") and k != "booking_number" for k in profile.columns):
        when_keys: tuple[str, ...] = ("booking_date", "booking_time")
    elif "booking_number" not in profile.columns:
        when_keys = ("arrest_date", "arrest_time")
    else:
        when_keys = ()  # charges may each have their own arrest date
    unnamed = not any(k in profile.columns for k in ("full_name", "last_name", "first_name"))
    details: _DetailColumns | None = None
    seen = _SeenNumbers()
    report = _ReportLines(p, profile, options.encoding)
    group: _Booking | None = None
    try:
        for row in iter_mapped_rows(p, profile, encoding=options.encoding, stats=stats):
            if isinstance(row, RowError):
                if report.matches(report.rejected(row)):
                    stats.skipped["report line"] += 1
                    continue
                if group is not None:  # its errors name earlier rows: report in file order
                    yield from group.records(dates)
                    group = None
                yield row
                continue
            if details is None:
                details = _DetailColumns(stats.header, set(stats.column_index.values()))
            split = _split_row(row, details)
            if _report_row(split, report):
                stats.skipped["report line"] += 1
                continue
            if group is not None and group.takes(split, when_keys):
                try:
                    group.add(split, dates)
                except BookingFieldError as exc:
                    yield RowError(ref=row.ref, field=exc.field, message=exc.message)
                continue
            if group is not None:
                yield from group.records(dates)
            group = _Booking.start(split, unnamed)
            if group.number:
                group.listed_again = seen.add(group.number)
        if group is not None:
            yield from group.records(dates)
    finally:
        report.close()


def _split_row(row: MappedRow, details: _DetailColumns) -> _Row:
    """One mapped row split into booking fields, charges and other columns."""
    values: dict[str, Any] = {}
    charge_cells: dict[str, Any] = {}
    for k, v in row.values.items():
        is_charge = k == "charges" or k.startswith("charge_") or k in _CHARGE_DETAILS
        (charge_cells if is_charge else values)[k] = v
    other: dict[str, Any] = {}
    numbered: dict[int, dict[str, Any]] = {}
    for header, v in row.extra.items():
        if header in details.numbered:
            n, fld = details.numbered[header]
            numbered.setdefault(n, {})[fld] = v
            continue
        found = details.by_header.get(header)
        if found is None:
            other[header] = v
            continue
        fld, unit = found
        if unit and _NUMBER.fullmatch(str(plain_value(v))):
            v = f"{plain_value(v)} {unit}"  # "Weight (lbs)": 180 → "180 lbs"
        (charge_cells if fld in _CHARGE_DETAILS else values)[fld] = v
    aside: dict[str, Any] = {}
    charges = _row_charges(charge_cells, numbered, aside) if charge_cells or numbered else []
    values.update(aside)
    return _Row(row.number, values, _name_key(values), charges, other)


class BookingTableParser:
    """Arrest/booking lists in CSV or Excel (Parser protocol)."""

    name = "booking_table"
    label = "Arrest / booking list (CSV, Excel or LibreOffice)"

    def sniff(self, path: Path, head: bytes) -> float:
        """Confidence from the header row's booking column names."""
        p = Path(path)
        try:
            score = sniff_table(p, head, "booking")
            if score:
                return score
            # A header only its aliases make a booking list ("inmate_lastname"...).
            if is_spreadsheet(p, head) or markup_kind(head) == "html":
                with closing(cast(_RawRows, iter_raw_rows(p))) as raw:
                    found = next(_header_rows(raw), None)
            elif head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[", b"<"):
                return 0.0
            else:
                found = next(_header_rows(enumerate(
                    text_sample_rows(head, max_rows=HEADER_SEARCH_ROWS), start=1)), None)
        except (ParseError, OSError, UnicodeError):
            return 0.0
        if found is None:
            return 0.0
        return 0.5 if found[0] > 1 else 0.6

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        """Stream the list's booking, arrest and release events."""
        yield from read_bookings(path, None, options)
