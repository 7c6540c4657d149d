"""Importers of arrest and booking records: CSV/XLSX lists and an XML form.

``PARSERS`` lists one instance of each (Parser protocol of ``workstation.ingest.records``).
"""

from __future__ import annotations

from workstation.ingest.booking.table import BookingTableParser
from workstation.ingest.booking.xmlform import BookingXmlParser

PARSERS: list = [BookingXmlParser(), BookingTableParser()]

__all__ = ["PARSERS", "BookingTableParser", "BookingXmlParser"]
