"""QIF shapes seen in real exports (third round), rebuilt with synthetic content.

Structures: a writer that puts Quicken's apostrophe before years of the 1990s as well
("12/31'99"; Quicken itself writes "12/31/99" then and "1/4' 0" from 2000 on); the
Y2K bug that printed 2000 as "19100" (GnuCash's importer reads it); a French bank's
web export whose header is "!type ccard" (a space for the colon); a short Windows
Quicken export in cp1252 with accented payees and the euro sign.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from tests.core.ingest.test_finance_qif_real_variants import _events, _write
from workstation.ingest.finance.qif import read_qif
from workstation.ingest.records import Notice, ParsedEvent


def test_apostrophe_before_a_1990s_year_is_that_year_not_2099(tmp_path: Path) -> None:
    path = _write(tmp_path, "!Type:Bank\nD12/30'99\nT-20.00\nPExample Hardware\n^\n"
                            "D1/ 4' 0\nT-5.00\nPExample Cafe\n^\n"
                            "D1/31'01\nT100.00\nPExample Payroll\n^\n")
    records = list(read_qif(path))
    events = [r for r in records if isinstance(r, ParsedEvent)]
    # Quicken's own 2000s stay 2000s; the apostrophe before '99 cannot mean 2099.
    assert [e.occurred_at for e in events] == [datetime(1999, 12, 30), datetime(2000, 1, 4),
                                               datetime(2001, 1, 31)]
    (notice,) = [r for r in records if isinstance(r, Notice)]
    assert notice.ref == "line 2"
    assert "12/30'99" in notice.message and "1999" in notice.message


def test_y2k_year_printed_as_19100(tmp_path: Path) -> None:
    events = _events(_write(tmp_path, "!Type:Bank\nD12/31/1999\nT-1.00\nPA\n^\n"
                                      "D1/13/19100\nT-2.00\nPB\n^\n"))
    assert [e.occurred_at for e in events] == [datetime(1999, 12, 31), datetime(2000, 1, 13)]


def test_type_header_with_a_space_for_the_colon(tmp_path: Path) -> None:
    # A French bank's web export: "!type ccard" for "!Type:CCard".
    events = _events(_write(tmp_path, "!type ccard\nD05/01/2004\nT-42,50\n"
                                      "PRESTAURANT EXEMPLE\n^\n"))
    (event,) = events
    assert event.properties["account_type"] == "ccard"
    assert event.properties["amount"] == Decimal("-42.50")
    # On a card statement the payee is the merchant (not "payee" of a bank debit).
    assert [(p.value, p.role) for p in event.parties] == [("RESTAURANT EXEMPLE", "merchant")]


def test_short_cp1252_export_keeps_accents_and_the_euro(tmp_path: Path) -> None:
    # A few records only: too little text for a detector to tell cp1252 from its
    # Baltic and DOS cousins.
    path = _write(tmp_path, "!Type:Bank\nD02/01/2004\nT-12,40\nPCafé Müller\n"
                            "MPetit-déjeuner 12,40 €\n^\n", encoding="cp1252")
    (event,) = _events(path)
    assert event.title == "Café Müller"
    assert event.properties["memo"] == "Petit-déjeuner 12,40 €"
