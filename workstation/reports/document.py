"""A small document model for reports, rendered to PDF (reportlab) or HTML.

The report builder describes WHAT to print as a list of blocks (headings, paragraphs,
key/value lists, tables, figures, page breaks); the two renderers here decide HOW. Every
text is plain text: renderers escape it, so case data can never inject markup into the
HTML or reportlab's paragraph mark-up.

Thread: any. No Qt.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from workstation.reports.figures import Figure, to_drawing, to_svg


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1
    anchor: str | None = None


@dataclass(frozen=True)
class Para:
    text: str
    style: str = "body"  # body | muted | small | warning


@dataclass(frozen=True)
class KeyValues:
    rows: Sequence[tuple[str, str]]
    mono: frozenset[str] = frozenset()  # keys whose value is printed in monospace


@dataclass(frozen=True)
class Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    widths: Sequence[float] | None = None  # fractions of the text width
    mono: frozenset[int] = frozenset()  # column indexes printed in monospace
    numeric: frozenset[int] = frozenset()  # right-aligned columns
    note: str | None = None


@dataclass(frozen=True)
class FigureBlock:
    figure: Figure
    caption: str


@dataclass(frozen=True)
class PageBreak:
    pass


Block = Heading | Para | KeyValues | Table | FigureBlock | PageBreak


@dataclass
class Document:
    """A report: metadata for headers/footers plus the blocks in order."""

    title: str
    case_number: str
    footer: str
    marking: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)


# ---------------------------------------------------------------------- fonts
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
              "/usr/local/share/fonts", "/Library/Fonts", os.path.expanduser("~/.fonts"),
              os.path.join(os.environ.get("WINDIR", "C:\\Windows"), "Fonts"))
_FONTS: dict[str, str] | None = None


def _find(name: str) -> Path | None:
    for d in _FONT_DIRS:
        p = Path(d) / name
        if p.is_file():
            return p
    return None


def register_fonts() -> dict[str, str]:
    """Register Unicode TrueType fonts with reportlab once; returns the font names to use
    for ``body``, ``bold`` and ``mono``. DejaVu (wide script coverage, so names and chat
    text in any alphabet print) when installed, else the Bitstream Vera fonts shipped with
    reportlab, else the PDF core fonts (Latin-1 only)."""
    global _FONTS
    if _FONTS is not None:
        return _FONTS
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont, TTFError

    import reportlab

    rl_fonts = Path(reportlab.__file__).parent / "fonts"
    choices = [
        ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf"),
        ("Vera.ttf", "VeraBd.ttf", "Vera.ttf"),
    ]
    for body, bold, mono in choices:
        paths = [_find(n) or (rl_fonts / n if (rl_fonts / n).is_file() else None) for n in (body, bold, mono)]
        if all(paths):
            try:
                pdfmetrics.registerFont(TTFont("CW-Body", str(paths[0])))
                pdfmetrics.registerFont(TTFont("CW-Bold", str(paths[1])))
                pdfmetrics.registerFont(TTFont("CW-Mono", str(paths[2])))
            except TTFError:
                continue
            from reportlab.lib.fonts import addMapping

            addMapping("CW-Body", 0, 0, "CW-Body")
            addMapping("CW-Body", 1, 0, "CW-Bold")
            addMapping("CW-Body", 0, 1, "CW-Body")
            addMapping("CW-Body", 1, 1, "CW-Bold")
            _FONTS = {"body": "CW-Body", "bold": "CW-Bold", "mono": "CW-Mono"}
            return _FONTS
    _FONTS = {"body": "Helvetica", "bold": "Helvetica-Bold", "mono": "Courier"}
    return _FONTS


# ---------------------------------------------------------------------- PDF
def _esc(text: str) -> str:
    """Plain text → reportlab paragraph mark-up (escaped; newlines kept)."""
    return html.escape(text or "", quote=False).replace("\n", "<br/>")


def _breakable(text: str, every: int = 16) -> str:
    """Long unbroken runs (hashes, keys) wrap through the paragraph style's
    ``splitLongWords``; no invisible characters are inserted (they would show as boxes in
    fonts without them, and would corrupt a hash copied from the PDF)."""
    return text or ""


def render_pdf(doc: Document, fh: IO[bytes], *, page_size: str = "A4",
               progress: Callable[[float], None] | None = None) -> int:
    """Render ``doc`` as PDF into ``fh``. Returns the number of pages."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import A4, LETTER
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, SimpleDocTemplate, Spacer
    from reportlab.platypus import PageBreak as RLPageBreak
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    fonts = register_fonts()
    size = LETTER if page_size.lower() in ("letter", "us-letter") else A4
    body = ParagraphStyle("body", fontName=fonts["body"], fontSize=9, leading=12, spaceAfter=4)
    styles = {
        "body": body,
        "muted": ParagraphStyle("muted", parent=body, textColor=colors.HexColor("#555555")),
        "small": ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5,
                                textColor=colors.HexColor("#444444")),
        "warning": ParagraphStyle("warning", parent=body, textColor=colors.HexColor("#8a1c1c")),
        "h1": ParagraphStyle("h1", parent=body, fontName=fonts["bold"], fontSize=15, leading=19,
                             spaceBefore=6, spaceAfter=8, textColor=colors.HexColor("#1b2a3a")),
        "h2": ParagraphStyle("h2", parent=body, fontName=fonts["bold"], fontSize=11.5, leading=15,
                             spaceBefore=8, spaceAfter=5, textColor=colors.HexColor("#1b2a3a")),
        "title": ParagraphStyle("title", parent=body, fontName=fonts["bold"], fontSize=24, leading=30,
                                spaceAfter=6, textColor=colors.HexColor("#1b2a3a")),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9.3, spaceAfter=0),
        "cellmono": ParagraphStyle("cellmono", parent=body, fontName=fonts["mono"], fontSize=6.4,
                                   leading=8.6, spaceAfter=0),
        "cellnum": ParagraphStyle("cellnum", parent=body, fontSize=7.5, leading=9.3, spaceAfter=0,
                                  alignment=TA_RIGHT),
        "head": ParagraphStyle("head", parent=body, fontName=fonts["bold"], fontSize=7.5, leading=9.3,
                               spaceAfter=0, textColor=colors.white),
        "kvkey": ParagraphStyle("kvkey", parent=body, fontName=fonts["bold"], fontSize=8.5, leading=11,
                                spaceAfter=0, textColor=colors.HexColor("#333333")),
        "kvval": ParagraphStyle("kvval", parent=body, fontSize=8.5, leading=11, spaceAfter=0),
        "kvmono": ParagraphStyle("kvmono", parent=body, fontName=fonts["mono"], fontSize=7.5, leading=10,
                                 spaceAfter=0),
        "caption": ParagraphStyle("caption", parent=body, fontSize=7.5, leading=9.5,
                                  textColor=colors.HexColor("#555555"), spaceBefore=2, spaceAfter=8),
    }
    margin = 18 * mm
    text_w = size[0] - 2 * margin
    story: list[Any] = []
    held: list[Any] = []  # headings waiting for the block they introduce

    def put(*flowables: Any, whole: bool = False) -> None:
        # A heading never ends a page: with a figure it travels as one piece; before
        # text or a table it starts a new page when less than a few rows' room is left
        # (moving a whole long table would leave half-empty pages).
        if held and whole:
            story.append(KeepTogether([*held, *flowables]))
        elif held:
            story.extend([CondPageBreak(110), *held, *flowables])
        else:
            story.extend(flowables)
        held.clear()

    first_heading = True
    n_blocks = max(1, len(doc.blocks))
    for i, block in enumerate(doc.blocks):
        if progress is not None and i % 20 == 0:
            progress(i / n_blocks)
        if isinstance(block, Heading):
            style = styles["title"] if block.level == 0 else styles["h1"] if block.level == 1 else styles["h2"]
            text = _esc(block.text)
            if block.anchor:
                text = f'<a name="{html.escape(block.anchor)}"/>{text}'
            p = Paragraph(text, style)
            if block.level == 1 and not first_heading:
                held.append(Spacer(1, 4))
            first_heading = False
            held.append(p)
        elif isinstance(block, Para):
            put(Paragraph(_esc(block.text), styles.get(block.style, body)))
        elif isinstance(block, KeyValues):
            data = [[Paragraph(_esc(k), styles["kvkey"]),
                     Paragraph(_esc(_breakable(v, 32) if k in block.mono else v),
                               styles["kvmono"] if k in block.mono else styles["kvval"])]
                    for k, v in block.rows]
            t = RLTable(data, colWidths=[text_w * 0.28, text_w * 0.72], hAlign="LEFT")
            t.setStyle(TableStyle([
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#dddddd")),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 3)]))
            put(t, Spacer(1, 6))
        elif isinstance(block, Table):
            ncol = len(block.headers)
            widths = [text_w * f for f in (block.widths or [1 / ncol] * ncol)]
            data = [[Paragraph(_esc(h), styles["head"]) for h in block.headers]]
            for row in block.rows:
                cells = []
                for c, value in enumerate(row):
                    st = styles["cellmono"] if c in block.mono else styles["cellnum"] if c in block.numeric else styles["cell"]
                    cells.append(Paragraph(_esc(_breakable(value) if c in block.mono else _breakable(value, 40)), st))
                data.append(cells)
            t = RLTable(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
            t.setStyle(TableStyle([
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#2c3e50")),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f3f5f7")]),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8cdd2")),
                ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3)]))
            put(t, Paragraph(_esc(block.note), styles["caption"]) if block.note else Spacer(1, 6))
        elif isinstance(block, FigureBlock):
            scale = text_w / block.figure.width
            drawing = to_drawing(block.figure, fonts["body"], fonts["bold"], scale=scale)
            put(drawing, Paragraph(_esc(block.caption), styles["caption"]), whole=True)
        elif isinstance(block, PageBreak):
            story.extend(held)
            held.clear()
            story.append(RLPageBreak())
    story.extend(held)


    pages: list[int] = [0]
    footer_font = fonts["body"]

    class _NumberedCanvas(Canvas):
        """Defers pages so the footer can say 'page N of M'."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._saved: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab API
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved)
            pages[0] = total
            for state in self._saved:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            w, h = size
            self.saveState()
            self.setFont(footer_font, 7)
            self.setFillColor(colors.HexColor("#666666"))
            self.drawString(margin, 10 * mm, doc.footer)
            self.drawRightString(w - margin, 10 * mm, f"Page {self._pageNumber} of {total}")
            self.setFillColor(colors.HexColor("#8a1c1c"))
            self.drawCentredString(w / 2, h - 10 * mm, doc.marking)
            if self._pageNumber > 1:
                self.setFillColor(colors.HexColor("#666666"))
                self.drawRightString(w - margin, h - 10 * mm, f"Case {doc.case_number}")
            self.setStrokeColor(colors.HexColor("#cccccc"))
            self.setLineWidth(0.4)
            self.line(margin, 13.5 * mm, w - margin, 13.5 * mm)
            self.restoreState()

    template = SimpleDocTemplate(fh, pagesize=size, leftMargin=margin, rightMargin=margin,
                                 topMargin=margin, bottomMargin=margin, title=doc.title,
                                 author="Case Workstation", subject=f"Case {doc.case_number}",
                                 creator="Case Workstation", invariant=1)
    template.build(story, canvasmaker=_NumberedCanvas)
    return pages[0]


# ---------------------------------------------------------------------- HTML
_CSS = """
body{font-family:"DejaVu Sans",Verdana,Arial,sans-serif;font-size:10pt;color:#1d1d1d;max-width:60em;
margin:1.5em auto;padding:0 1em;line-height:1.4}
h1{font-size:15pt;color:#1b2a3a;border-bottom:1px solid #c8cdd2;padding-bottom:.2em;margin-top:1.6em}
h2{font-size:12pt;color:#1b2a3a;margin-top:1.2em}
.title{font-size:24pt;border:0;margin-top:.3em}
.marking{text-align:center;color:#8a1c1c;font-size:8.5pt;letter-spacing:.05em}
.muted{color:#555}.small{font-size:8.5pt;color:#444}.warning{color:#8a1c1c}
table{border-collapse:collapse;width:100%;margin:.4em 0 .8em 0;font-size:8.5pt}
th{background:#2c3e50;color:#fff;text-align:left;padding:3px 5px}
td{border:1px solid #c8cdd2;padding:2px 5px;vertical-align:top;overflow-wrap:anywhere}
tr:nth-child(even) td{background:#f3f5f7}
table.kv td{border:0;border-bottom:1px solid #ddd}table.kv td.k{font-weight:bold;width:28%}
tr:nth-child(even) td.k,tr:nth-child(even) td.v{background:none}
.mono{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:8pt;overflow-wrap:anywhere}
.num{text-align:right}
figure{margin:.5em 0 1em 0}figcaption{font-size:8.5pt;color:#555}
footer{margin-top:2em;border-top:1px solid #ccc;font-size:8pt;color:#666;padding-top:.4em}
@media print{.pb{page-break-after:always}}
"""


def render_html(doc: Document) -> str:
    """Render ``doc`` as one self-contained HTML page (inline CSS and SVG; a content
    security policy forbids loading anything from elsewhere)."""
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'\">",
           f"<title>{e(doc.title)}</title><style>{_CSS}</style></head><body>",
           f'<div class="marking">{e(doc.marking)}</div>']
    for block in doc.blocks:
        if isinstance(block, Heading):
            anchor = f' id="{e(block.anchor)}"' if block.anchor else ""
            if block.level == 0:
                out.append(f'<h1 class="title"{anchor}>{e(block.text)}</h1>')
            else:
                tag = "h1" if block.level == 1 else "h2"
                out.append(f"<{tag}{anchor}>{e(block.text)}</{tag}>")
        elif isinstance(block, Para):
            cls = "" if block.style == "body" else f' class="{e(block.style)}"'
            out.append(f"<p{cls}>{e(block.text).replace(chr(10), '<br>')}</p>")
        elif isinstance(block, KeyValues):
            out.append('<table class="kv">')
            for k, v in block.rows:
                vcls = "v mono" if k in block.mono else "v"
                out.append(f'<tr><td class="k">{e(k)}</td><td class="{vcls}">{e(v)}</td></tr>')
            out.append("</table>")
        elif isinstance(block, Table):
            out.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in block.headers)
                       + "</tr></thead><tbody>")
            for row in block.rows:
                cells = []
                for c, value in enumerate(row):
                    cls = ' class="mono"' if c in block.mono else ' class="num"' if c in block.numeric else ""
                    cells.append(f"<td{cls}>{e(value)}</td>")
                out.append("<tr>" + "".join(cells) + "</tr>")
            out.append("</tbody></table>")
            if block.note:
                out.append(f'<p class="small">{e(block.note)}</p>')
        elif isinstance(block, FigureBlock):
            out.append(f"<figure>{to_svg(block.figure)}<figcaption>{e(block.caption)}</figcaption></figure>")
        elif isinstance(block, PageBreak):
            out.append('<div class="pb"></div>')
    out.append(f"<footer>{e(doc.footer)}</footer></body></html>")
    return "\n".join(out) + "\n"


__all__ = ["Document", "Heading", "Para", "KeyValues", "Table", "FigureBlock", "PageBreak",
           "render_pdf", "render_html", "register_fonts"]
