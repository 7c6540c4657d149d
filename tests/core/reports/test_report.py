"""The case report as an officer receives it: a readable PDF/HTML with the chosen
sections, masked cards, no media pictures, and a reproducible database-state digest."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.core.reports.conftest import FULL_CARD, T0
from workstation.errors import Cancelled, UsageError
from workstation.reports.report import SECTION_TITLES, build_report, parse_sections
from workstation.reports.state import case_state
from workstation.store import schema as s

SHARED_CARD = "5555555555554444"  # planted by the demo in DEMO-2024-003


def pdf_text(path: Path) -> str:
    reader = PdfReader(str(path))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def thumbnails(ws, case_id: int) -> list[bytes]:  # noqa: ANN001
    with ws.db.read() as conn:
        return [r[0] for r in conn.execute(select(s.media.c.thumbnail).where(
            s.media.c.case_id == case_id, s.media.c.thumbnail.is_not(None)))]


def test_pdf_report_has_pages_case_details_and_sections(demo_ws, card_case, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    info = build_report(demo_ws, card_case.id, out)
    reader = PdfReader(str(out))
    assert info.pages == len(reader.pages) > 1
    text = pdf_text(out)
    assert card_case.number in text
    assert card_case.agency in text and card_case.lead_officer in text
    for title in SECTION_TITLES.values():
        assert title in text, title
    # People with their identifiers; the planted card printed masked only.
    people = [e.label for e in demo_ws.list_entities(card_case.id, kind="person")]
    assert all(name in text for name in people)
    assert "•••• 4444" in text
    # Sources and state are stated; the footer carries the digest on every page.
    assert info.state.digest[:16] in reader.pages[-1].extract_text()
    assert info.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()


def test_no_full_card_number_anywhere_in_the_report(demo_ws, card_case, tmp_path: Path) -> None:
    for fmt in ("pdf", "html"):
        out = tmp_path / f"r.{fmt}"
        build_report(demo_ws, card_case.id, out, fmt=fmt, key_events=500)
        text = pdf_text(out) if fmt == "pdf" else out.read_text(encoding="utf-8")
        flat = text.replace(" ", "").replace("\n", "")
        assert SHARED_CARD not in flat and FULL_CARD not in flat
        assert "•••• 1111" in text  # the number typed in chat and in the note, masked
        assert "card sent in chat" in text


def test_no_media_image_in_pdf_or_html(demo_ws, tmp_path: Path) -> None:
    case = demo_ws.find_case("DEMO-2024-005")  # holds media incl. a planted shared image
    thumbs = thumbnails(demo_ws, case.id)
    assert thumbs, "the demo case should carry media thumbnails"
    pdf = tmp_path / "r.pdf"
    html = tmp_path / "r.html"
    build_report(demo_ws, case.id, pdf)
    build_report(demo_ws, case.id, html, fmt="html")
    raw = pdf.read_bytes()
    page_html = html.read_text(encoding="utf-8")
    for t in thumbs:
        assert t not in raw and t[100:164] not in raw
    # Figures are vector drawings: the PDF holds no image at all, the HTML no <img>.
    assert all(not page.images for page in PdfReader(str(pdf)).pages)
    for sig in (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"/DCTDecode", b"/Subtype /Image"):
        assert sig not in raw
    assert "<img" not in page_html and "data:image" not in page_html
    assert page_html.count("<svg") == 2  # timeline and link chart
    # Hashes are there instead.
    with demo_ws.db.read() as conn:
        md5s = [r[0] for r in conn.execute(select(s.media.c.md5).where(s.media.c.case_id == case.id))]
    assert md5s and all(m in page_html for m in md5s)


def test_html_is_self_contained_and_escapes_case_text(demo_ws, tmp_path: Path) -> None:
    case_id = demo_ws.create_case("X-<1>", "Title <script>alert(1)</script>", agency="ICE & Co").id
    demo_ws.add_entity(case_id, "person", "Robin <b>Bold</b>")
    out = tmp_path / "r.html"
    build_report(demo_ws, case_id, out, fmt="html")
    page = out.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Robin &lt;b&gt;Bold&lt;/b&gt;" in page and "ICE &amp; Co" in page
    assert "Content-Security-Policy" in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_sections_are_the_officers_choice(demo_ws, tmp_path: Path) -> None:
    case = demo_ws.find_case("DEMO-2024-001")
    out = tmp_path / "r.pdf"
    info = build_report(demo_ws, case.id, out, sections="summary,sources")
    text = pdf_text(out)
    assert info.sections == ("summary", "sources")
    assert "Summary" in text and "Sources" in text
    for absent in ("Key events", "Link chart", "Media summary", "Audit excerpt", "People and their identifiers"):
        assert absent not in text
    assert parse_sections(["link-chart", "events"]) == ("events", "link_chart")
    with pytest.raises(UsageError, match="unknown report section 'pictures'"):
        parse_sections("summary,pictures")


def test_starred_events_come_first(demo_ws, tmp_path: Path) -> None:
    case = demo_ws.find_case("DEMO-2024-002")
    ev = demo_ws.list_events(case.id, limit=None)[17]
    demo_ws.update_event(ev.id, title="THE STARRED ONE", properties={**ev.properties, "starred": True})
    out = tmp_path / "r.html"
    build_report(demo_ws, case.id, out, fmt="html", sections="events")
    page = out.read_text(encoding="utf-8")
    assert "THE STARRED ONE" in page and "starred" in page
    assert "this is a sample" not in page


def test_state_digest_is_reproducible_and_follows_changes(demo_ws, tmp_path: Path) -> None:
    case = demo_ws.find_case("DEMO-2024-004")
    first = case_state(demo_ws, case.id)
    # Making reports and exports records them in the audit trail but changes no data:
    a = build_report(demo_ws, case.id, tmp_path / "a.pdf")
    b = build_report(demo_ws, case.id, tmp_path / "b.html", fmt="html")
    assert a.state.digest == b.state.digest == first.digest == case_state(demo_ws, case.id).digest
    assert a.state.digest in (tmp_path / "b.html").read_text(encoding="utf-8")
    # Any change to the case gives a new digest.
    person = demo_ws.list_entities(case.id, kind="person")[0]
    demo_ws.update_entity(person.id, label=person.label + " Jr")
    second = case_state(demo_ws, case.id)
    assert second.digest != first.digest
    demo_ws.add_event(case.id, "note", T0, title="new fact")
    third = case_state(demo_ws, case.id)
    assert third.digest not in (first.digest, second.digest)
    assert build_report(demo_ws, case.id, tmp_path / "c.pdf").state.digest == third.digest


def test_report_is_audited_with_path_and_sha256(demo_ws, tmp_path: Path) -> None:
    case = demo_ws.find_case("DEMO-2024-006")
    out = tmp_path / "r.pdf"
    info = build_report(demo_ws, case.id, out)
    with demo_ws.db.read() as conn:
        last = list(demo_ws.audit.entries(conn))[-1]
    assert last.action == "report.pdf" and last.target_type == "export"
    assert last.details["target"] == str(out.absolute())
    assert last.details["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() == info.sha256
    assert last.details["state_digest"] == info.state.digest
    assert demo_ws.audit.verify().ok


def test_cancel_writes_nothing(demo_ws, tmp_path: Path) -> None:
    case = demo_ws.find_case("DEMO-2024-001")
    flag = threading.Event()
    seen: list[str] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(message)
        if fraction > 0.3:
            flag.set()

    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(Cancelled):
        build_report(demo_ws, case.id, folder / "r.pdf", progress=progress, cancel=flag)
    assert seen and list(folder.iterdir()) == []


def test_a_case_without_records_still_reports(ws, tmp_path: Path) -> None:
    case_id = ws.create_case("EMPTY-1", "Nothing yet").id
    info = build_report(ws, case_id, tmp_path / "r.pdf")
    text = pdf_text(tmp_path / "r.pdf")
    assert info.pages >= 2 and "EMPTY-1" in text and "No people recorded" in text
