"""From one booking's fields (whatever the source format) to events.

Decisions, kept simple on purpose:

* Every booking yields one ``ParsedEvent(kind="booking")``, ``occurred_at`` = booking
  time, else arrest time (None when the record has neither), ``title`` = "Booking
  <number>".
* When the arrest time is known and differs from the booking time, a separate
  ``ParsedEvent(kind="arrest")`` is yielded (``ref`` = booking ref + " (arrest)"), so the
  timeline shows where the person was first taken. When a release time is known, a
  ``ParsedEvent(kind="release")`` likewise (ref + " (release)"). Both carry the booking
  number, the arrestee and (arrest) the agency/officer.
* The arrestee is ``Party(kind="person", value="<Last>, <First>[ <Middle>]",
  label="<First> <Last>", role="arrestee", properties={"dob": "YYYY-MM-DD", "sex": "M"|"F"|...})``;
  an unreadable date of birth is kept as ``dob_text`` rather than rejecting the booking.
* The address of record is ``Party(kind="address", role="address_of_record")`` linked
  ``resides_at`` from the person; the agency ``Party(kind="organisation",
  role="arresting_agency")``; the officer ``Party(kind="person", role="arresting_officer")``
  linked ``member_of`` the agency; phone/e-mail parties linked ``uses`` from the person.
* ``properties["charges"]`` is a list of dicts with ``code``, ``statute``,
  ``description`` and ``severity`` (absent keys omitted).

A booking without any name, or with an unreadable booking/arrest/release time, raises
:class:`BookingFieldError` (the caller turns it into a RowError naming the field).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from workstation.ingest.records import ParsedEvent, ParsedLink, Party
from workstation.ingest.tabular import DateReader, parse_time_of_day


class BookingFieldError(Exception):
    """One field of a booking cannot be read."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def split_charges(text: str) -> list[dict[str, str]]:
    """Charges written in one cell, separated by ``;``, ``|`` or line breaks."""
    return [{"description": part.strip()} for part in re.split(r"[;|\n]+", text)
            if part.strip()]


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


def person_name(values: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(last, first, middle) from separate name fields or a full name.

    A full name with a comma is read "Last, First Middle"; without, "First Middle Last".
    """
    last = str(values.get("last_name") or "").strip()
    first = str(values.get("first_name") or "").strip()
    middle = str(values.get("middle_name") or "").strip()
    if not last and not first:
        full = str(values.get("full_name") or "").strip()
        if not full:
            return None
        if "," in full:
            last, _, rest = full.partition(",")
            parts = rest.split()
            first = parts[0] if parts else ""
            middle = " ".join(parts[1:])
        else:
            parts = full.split()
            if len(parts) == 1:
                last = parts[0]
            else:
                first, last, middle = parts[0], parts[-1], " ".join(parts[1:-1])
    return last.strip(), first.strip(), middle.strip()


def _moment(values: Mapping[str, Any], stem: str, dates: DateReader) -> datetime | None:
    """The ``<stem>_time`` of a booking, joined with ``<stem>_date`` when both are given."""
    t_key, d_key = f"{stem}_time", f"{stem}_date"
    t_val, d_val = values.get(t_key), values.get(d_key)
    try:
        if d_val is not None and t_val is not None:
            if isinstance(t_val, str):
                try:
                    parse_time_of_day(t_val)
                    return dates.parse(d_val, t_val)
                except ValueError:
                    return dates.parse(t_val)  # a full date-time in the time column
            return dates.parse(d_val, t_val)
        if t_val is not None:
            return dates.parse(t_val)
        if d_val is not None:
            return dates.parse(d_val)
    except ValueError as exc:
        raise BookingFieldError(t_key if t_val is not None else d_key, str(exc)) from None
    return None


def build_booking_events(values: Mapping[str, Any], charges: Iterable[Mapping[str, str]],
                         ref: str, dates: DateReader) -> list[ParsedEvent]:
    """The events of one booking (see the module docstring). Raises BookingFieldError."""
    name = person_name(values)
    if name is None or not (name[0] or name[1]):
        raise BookingFieldError("last_name", "no name of the person booked")
    last, first, middle = name
    booked = _moment(values, "booking", dates)
    arrested = _moment(values, "arrest", dates)
    released = _moment(values, "release", dates)

    person_props: dict[str, Any] = {}
    if values.get("dob") is not None:
        try:
            person_props["dob"] = DateReader("auto", dates.dayfirst).parse(
                values["dob"]).date().isoformat()
        except ValueError:
            person_props["dob_text"] = str(values["dob"])
    sex = normalise_sex(values.get("sex"))
    if sex:
        person_props["sex"] = sex
    if values.get("race"):
        person_props["race"] = str(values["race"])
    given = " ".join(p for p in (first, middle) if p)
    value = f"{last}, {given}" if last and given else (last or given)
    label = " ".join(p for p in (first, last) if p)
    person = Party(kind="person", value=value, label=label, role="arrestee",
                   properties=person_props)

    number = str(values.get("booking_number") or "").strip()
    charge_list = [{k: v for k, v in c.items() if v} for c in charges]
    charge_list = [c for c in charge_list if c]
    props: dict[str, Any] = {"booking_number": number or None, "charges": charge_list}
    for key, moment in (("booking_time", booked), ("arrest_time", arrested),
                        ("release_time", released)):
        if moment is not None:
            props[key] = moment.isoformat()
    agency_name = str(values.get("agency") or "").strip()
    officer_name = str(values.get("arresting_officer") or "").strip()
    if agency_name:
        props["agency"] = agency_name
    if officer_name:
        props["arresting_officer"] = officer_name

    parties: list[Party] = [person]
    links: list[ParsedLink] = []
    address = ", ".join(str(values[k]).strip() for k in ("address", "city") if values.get(k))
    state_zip = " ".join(str(values[k]).strip() for k in ("state", "postal_code")
                         if values.get(k))
    if state_zip:
        address = f"{address}, {state_zip}" if address else state_zip
    if address:
        addr = Party(kind="address", value=address, role="address_of_record")
        parties.append(addr)
        links.append(ParsedLink("resides_at", person, addr))
    agency: Party | None = None
    if agency_name:
        agency = Party(kind="organisation", value=agency_name, role="arresting_agency")
        parties.append(agency)
    officer: Party | None = None
    if officer_name:
        officer = Party(kind="person", value=officer_name, role="arresting_officer")
        parties.append(officer)
        if agency is not None:
            links.append(ParsedLink("member_of", officer, agency))
    for key, kind in (("phone", "phone"), ("email", "email")):
        if values.get(key):
            ident = Party(kind=kind, value=str(values[key]).strip(), role=kind)
            parties.append(ident)
            links.append(ParsedLink("uses", person, ident))

    title = f"Booking {number}" if number else "Booking"
    events = [ParsedEvent(kind="booking", occurred_at=booked or arrested, ref=ref, title=title,
                          parties=tuple(parties), links=tuple(links), properties=props)]
    short = {"booking_number": number or None, "charges": charge_list}
    if arrested is not None and booked is not None and arrested != booked:
        arrest_parties = [person] + [p for p in (agency, officer) if p is not None]
        events.append(ParsedEvent(
            kind="arrest", occurred_at=arrested, ref=f"{ref} (arrest)",
            title=f"Arrest ({title})", parties=tuple(arrest_parties),
            properties={**short, **({"agency": agency_name} if agency_name else {})}))
    if released is not None:
        events.append(ParsedEvent(kind="release", occurred_at=released, ref=f"{ref} (release)",
                                  title=f"Release ({title})", parties=(person,),
                                  properties={"booking_number": number or None}))
    return events
