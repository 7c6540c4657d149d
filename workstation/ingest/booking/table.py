"""Arrest/booking lists as CSV or XLSX, read through a mapping profile.

The profile comes from the import options, else is guessed from common header names
(``Booking Number``, ``Last Name``, ``DOB``, ``Charges``, ``Arrest Date``...). Charges
come from one column (split on ``;``, ``|`` or line breaks) and/or ``charge_1``,
``charge_2``... columns. Each row gives the events described in
:mod:`workstation.ingest.booking.common`; a bad row gives a RowError (``ref="row N"``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from workstation.ingest.booking.common import BookingFieldError, build_booking_events, split_charges
from workstation.ingest.records import ImportOptions, ParseError, Record, RowError
from workstation.ingest.tabular import (
    DateReader,
    MappingProfile,
    ReadStats,
    choose_profile,
    decide_file_conventions,
    iter_mapped_rows,
    sniff_table,
    zone_for_profile,
)

_DATE_FIELDS = ("booking_time", "booking_date", "arrest_time", "arrest_date", "release_time",
                "release_date", "dob")


def read_bookings(path: str | Path, profile: MappingProfile | None = None,
                  options: ImportOptions | None = None,
                  stats: ReadStats | None = None) -> Iterator[Record]:
    """Stream the booking events of a CSV/XLSX list. Raises ParseError when the file
    cannot be read or no layout applies; yields RowError for a bad row."""
    p = Path(path)
    options = options or ImportOptions()
    if profile is None:
        profile = choose_profile(p, options, "booking")
    elif profile.target != "booking":
        raise ParseError(f"mapping profile {profile.name!r} is not for bookings", file=p)
    dayfirst, _ = decide_file_conventions(p, profile, date_fields=_DATE_FIELDS,
                                          amount_fields=(), encoding=options.encoding,
                                          default_region=options.default_region)
    dates = DateReader(profile.date_formats, dayfirst, zone_for_profile(profile, None))
    charge_cols = sorted((k for k in profile.columns if k.startswith("charge_")),
                         key=lambda k: int(k.split("_")[1]))
    for row in iter_mapped_rows(p, profile, encoding=options.encoding, stats=stats):
        if isinstance(row, RowError):
            yield row
            continue
        v = dict(row.values)
        charges = split_charges(str(v["charges"])) if "charges" in v else []
        for col in charge_cols:
            if col in v:
                charges.extend(split_charges(str(v[col])))
        try:
            yield from build_booking_events(v, charges, row.ref, dates)
        except BookingFieldError as exc:
            yield RowError(ref=row.ref, field=exc.field, message=exc.message)


class BookingTableParser:
    """Arrest/booking lists in CSV or Excel (Parser protocol)."""

    name = "booking_table"
    label = "Arrest / booking list (CSV or Excel)"

    def sniff(self, path: Path, head: bytes) -> float:
        """Confidence from the header row's booking column names."""
        try:
            return sniff_table(Path(path), head, "booking")
        except (ParseError, OSError, UnicodeError):
            return 0.0

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        """Stream the list's booking, arrest and release events."""
        yield from read_bookings(path, None, options)
