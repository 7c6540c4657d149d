"""Importers of financial statements: OFX/QFX, QIF, and CSV/XLSX exports.

``PARSERS`` lists one instance of each (Parser protocol of ``workstation.ingest.records``).
"""

from __future__ import annotations

from workstation.ingest.finance.labelled import LabelledStatementParser
from workstation.ingest.finance.ofx import OfxParser
from workstation.ingest.finance.qif import QifParser
from workstation.ingest.finance.table import TransactionTableParser

PARSERS: list = [OfxParser(), QifParser(), TransactionTableParser(),
                 LabelledStatementParser()]

__all__ = ["PARSERS", "LabelledStatementParser", "OfxParser", "QifParser",
           "TransactionTableParser"]
