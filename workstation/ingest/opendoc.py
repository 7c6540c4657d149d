"""Rows of OpenDocument spreadsheets (.ods, flat .fods) and Excel 2003 XML spreadsheets.

LibreOffice users send .ods; old bank and booking systems export "XML Spreadsheet 2003"
(SpreadsheetML: ``<?mso-application progid="Excel.Sheet"?>``, named .xml or .xls). Both
are read here as received, never converted, with the same contract as the XLSX and .xls
readers of :mod:`workstation.ingest.tabular`: ``(row number, cells)`` with the row number
as the application shows it (first row = 1), cells as Python values (whole numbers as int,
other numbers as float, dates as datetime, a time of day as time, booleans as bool, an
error cell as its text such as ``"#DIV/0!"``, empty cells as None).

Reading is streaming: the XML goes through defusedxml's parser in chunks into a small
state machine (no element tree is built), so memory stays bounded by one row whatever
the file's size. Both formats compress runs of equal cells and rows into one element with
a repeat count (LibreOffice ends every sheet with a run of a million empty rows and
thousands of empty columns); repeats are counted, never allocated: a row ends at its last
filled cell, blank rows between filled ones are yielded as empty lists (they keep their
numbers), and the blank rows after the last filled one are not yielded. Anything that
would exist only by a repeat beyond a spreadsheet's own limits (ODS_MAX_ROWS,
ODS_MAX_COLUMNS, ODS_MAX_REPEATED_CELLS) is refused.

An .ods is a zip: it is checked with tabular's zip-bomb limits (``check_zip_safe``) before
anything is inflated. A DTD or an entity in the XML is refused (a spreadsheet never needs
one; it is the way of the "billion laughs" and external-entity attacks).

Errors: :class:`ParseError` naming the file (and the row being read, as ``ref="row N"``).
Merged cells: the cells a merge covers are None, as the application shows them (ODS keeps
a covered cell's former content hidden; it is not read).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml.ElementTree import DefusedXMLParser

from workstation.ingest.records import ParseError, read_head

# tabular imports this module to dispatch to it; this module reuses tabular's zip checks
# and markup sniffing. Either may be imported first, so tabular is imported at call time.

ODS_MAX_ROWS = 1 << 20              # 1,048,576: Excel's and LibreOffice's row limit
ODS_MAX_COLUMNS = 16_384            # Excel's and LibreOffice's column limit
ODS_MAX_REPEATED_CELLS = 10_000_000  # cells that exist only by a repeat count
ODS_MAX_CELL_CHARS = 1 << 20        # a cell's text (as tabular's HTML reader)
_SMALL_PART = 1 << 20               # mimetype and manifest: a few hundred bytes in practice
_CHUNK = 1 << 16

_ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"  # "-template" too
_ODS_HEAD = b"mimetype" + _ODS_TYPE.encode()
_FLAT_ODS = re.compile(rb"""mimetype\s*=\s*["']application/vnd\.oasis\.opendocument\.spreadsheet""")
_MANIFEST_ROOT = re.compile(
    rb"""<(?:\w+:)?file-entry\b(?=[^>]*\bfull-path\s*=\s*["']/["'])[^>]*\bmedia-type\s*=\s*["']([^"']*)""")

_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_CALCEXT = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"
_SS = "{urn:schemas-microsoft-com:office:spreadsheet}"

_O_SPREADSHEET = _OFFICE + "spreadsheet"
_O_ANNOTATION = _OFFICE + "annotation"
_O_VALUE_TYPE = _OFFICE + "value-type"
_T_TABLE = _TABLE + "table"
_T_ROW = _TABLE + "table-row"
_T_CELL = _TABLE + "table-cell"
_T_COVERED = _TABLE + "covered-table-cell"
_T_NAME = _TABLE + "name"
_T_ROWS_REPEATED = _TABLE + "number-rows-repeated"
_T_COLS_REPEATED = _TABLE + "number-columns-repeated"
_X_PARAGRAPHS = (_TEXT + "p", _TEXT + "h")
_X_S = _TEXT + "s"
_X_TAB = _TEXT + "tab"
_X_LINE_BREAK = _TEXT + "line-break"
# Inside a paragraph, text that is not the cell's shown text: notes, comments, ruby glosses.
_X_HIDDEN = frozenset({_O_ANNOTATION, _OFFICE + "annotation-end", _TEXT + "note",
                       _TEXT + "ruby-text", _TEXT + "tracked-changes"})

_WHOLE_LIMIT = 2 ** 53
_ISO_DATE = re.compile(r"(-?\d{4,})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
                       r"(Z|[+-]\d{2}:\d{2})?")
_DURATION = re.compile(r"(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?")


# --------------------------------------------------------------------------- detection

def is_ods(path: Path, head: bytes | None = None) -> bool:
    """Whether the file is an OpenDocument spreadsheet (or template), by content: a zip
    whose ``mimetype`` part (first and stored, by the standard; else found in the zip's
    directory) or manifest says so, or a flat XML ``office:document`` (.fods) of that
    type. An .xlsx, or any other zip, renamed .ods is not one."""
    if head is None:
        head = read_head(Path(path))
    if head[:4] == b"PK\x03\x04":
        if _ODS_HEAD in head[:256]:
            return True
        try:
            with zipfile.ZipFile(path) as zf:
                return _declared_type(zf).startswith(_ODS_TYPE)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
                zlib.error, RuntimeError):
            return False
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return body.startswith(b"<") and b"document" in body[:65536] and bool(
        _FLAT_ODS.search(body[:65536]))


def is_spreadsheetml(path: Path, head: bytes | None = None) -> bool:
    """Whether the file is an Excel 2003 XML spreadsheet ("XML Spreadsheet 2003",
    whatever its name), decided as tabular's markup sniffing decides it."""
    from workstation.ingest.tabular import markup_kind

    if head is None:
        head = read_head(Path(path))
    return markup_kind(head) == "spreadsheetml"


def _small_part(zf: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > _SMALL_PART:
        return None
    return zf.read(info)


def _declared_type(zf: zipfile.ZipFile) -> str:
    """The package's media type: its ``mimetype`` part, else the manifest's root entry."""
    raw = _small_part(zf, "mimetype")
    if raw is not None:
        return raw.decode("ascii", "replace").strip()
    manifest = _small_part(zf, "META-INF/manifest.xml") or b""
    found = _MANIFEST_ROOT.search(manifest)
    return found.group(1).decode("ascii", "replace") if found else ""


# --------------------------------------------------------------------------- cell values

def _number(text: str | None) -> int | float | None:
    """A written number as the XLSX and .xls readers give it: int when whole, else float."""
    try:
        d = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    if d == d.to_integral_value() and -_WHOLE_LIMIT < d < _WHOLE_LIMIT:
        return int(d)
    return float(d)


def _iso_datetime(text: str | None) -> datetime | None:
    """``2024-03-05`` or ``2024-03-05T14:30:00.5`` (an offset kept when written); None
    when it is not one or out of Python's range."""
    m = _ISO_DATE.fullmatch((text or "").strip())
    if not m:
        return None
    year, month, day, hh, mm, ss, frac, zone = m.groups()
    try:
        value = datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0),
                         int(ss or 0))
        if frac:
            value += timedelta(microseconds=round(int(frac[:9].ljust(9, "0")) / 1000))
        if zone:
            offset = timedelta(0) if zone == "Z" else (
                (-1 if zone[0] == "-" else 1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
            value = value.replace(tzinfo=timezone(offset))
    except (ValueError, OverflowError):
        return None
    return value


def _duration(text: str | None) -> time | timedelta | None:
    """``PT14H30M00S`` as a time of day; a duration of a day or more, or negative, as
    timedelta (as openpyxl gives an ``[h]:mm`` cell). Seconds are rounded to the
    microsecond (LibreOffice has written 09:30 as ``PT09H29M59.999999984S``)."""
    m = _DURATION.fullmatch((text or "").strip())
    if not m or not any(m.groups()[1:]):
        return None
    sign, days, hours, minutes, seconds = m.groups()
    try:
        value = timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0),
                          microseconds=round(Decimal((seconds or "0").replace(",", ".")) * 1_000_000))
    except (ValueError, OverflowError, InvalidOperation):
        return None
    if sign:
        value = -value
    if timedelta(0) <= value < timedelta(days=1):
        return (datetime.min + value).time()
    return value


# --------------------------------------------------------------------------- rows

class _Refused(ValueError):
    """Raised inside the parser's callbacks; becomes a ParseError naming file and row."""


class _Row:
    """The cells of one row: filled cells kept, a run of empty ones held as a count (so a
    row ends at its last filled cell and a trailing run of 16,384 empties costs nothing)."""

    __slots__ = ("cells", "gap", "copies")

    def __init__(self) -> None:
        self.cells: list[Any] = []
        self.gap = 0
        self.copies = 0  # cells that exist only by a repeat count

    def add(self, value: Any, repeat: int) -> None:
        if value is None:
            self.gap += repeat
            return
        end = len(self.cells) + self.gap + repeat
        if end > ODS_MAX_COLUMNS:
            raise _Refused(f"refused: a cell at column {end:,}, beyond the {ODS_MAX_COLUMNS:,} "
                           "columns a spreadsheet holds; the file is damaged or crafted")
        if self.gap:
            self.cells.extend([None] * self.gap)
            self.gap = 0
        self.cells.extend([value] * repeat)
        self.copies += repeat - 1


class _Sheet:
    """Rows of the chosen sheet as the parser finishes them, queued for the generator as
    ``(first row number, cells, repeat)``; blank rows only advance the row number."""

    def __init__(self) -> None:
        self.number = 0           # the last row number read (blank ones included)
        self.queue: list[tuple[int, list[Any], int]] = []
        self.copies = 0

    def finish_row(self, row: _Row, repeat: int) -> None:
        first = self.number + 1
        self.number += repeat
        if not row.cells:
            return
        last = first + repeat - 1
        if last > ODS_MAX_ROWS:
            raise _Refused(f"refused: a filled row at row {last:,}, beyond the "
                           f"{ODS_MAX_ROWS:,} rows a spreadsheet holds; the file is damaged "
                           "or crafted")
        self.copies += row.copies + len(row.cells) * (repeat - 1)
        if self.copies > ODS_MAX_REPEATED_CELLS:
            raise _Refused(f"refused: more than {ODS_MAX_REPEATED_CELLS:,} cells made by "
                           "repeat counts; possible decompression bomb")
        self.queue.append((first, row.cells, repeat))


def _repeat(attrs: dict[str, str], *names: str) -> int:
    """A repeat count (``number-rows-repeated``, ``ss:Span`` + 1...); 1 when absent."""
    for name in names:
        raw = attrs.get(name)
        if raw is not None:
            try:
                value = int(raw.strip())
            except ValueError:
                raise _Refused(f"unreadable repeat count {raw[:40]!r}") from None
            if value < 1:
                raise _Refused(f"unreadable repeat count {raw[:40]!r}")
            # Beyond the limits nothing filled can follow: keep the count from growing.
            return min(value, ODS_MAX_ROWS + ODS_MAX_COLUMNS + 1)
    return 1


def _span(raw: str) -> int:
    """``ss:Span``: how many rows after this one share its format (0 or more)."""
    try:
        value = int(raw.strip())
    except ValueError:
        raise _Refused(f"unreadable row span {raw[:40]!r}") from None
    if value < 0:
        raise _Refused(f"unreadable row span {raw[:40]!r}")
    return value


class _Text:
    """A cell's text, built from character data, bounded by ODS_MAX_CELL_CHARS."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, text: str) -> None:
        self.size += len(text)
        if self.size > ODS_MAX_CELL_CHARS:
            raise _Refused(f"refused: a cell of more than {ODS_MAX_CELL_CHARS:,} characters")
        self.parts.append(text)

    def value(self) -> str:
        return "".join(self.parts)


class _OdsTarget:
    """defusedxml parser target for ODS ``content.xml`` (or a flat .fods): follows the
    sheets of ``office:spreadsheet`` and queues the rows of the chosen one."""

    def __init__(self, sheet: str | None) -> None:
        self.wanted = sheet
        self.names: list[str] = []
        self.rows = _Sheet()
        self.seen_body = False
        self.done = False
        self.chosen: str | None = None
        self._depth = 0
        self._body_depth = -1
        self._reading = False    # inside the chosen sheet's table element
        self._inner_tables = 0   # tables nested in it (their rows are not the sheet's)
        self._row: _Row | None = None
        self._row_repeat = 1
        self._cell: dict[str, str] | None = None
        self._cell_repeat = 1
        self._cell_depth = 0
        self._covered = False
        self._paragraphs: list[_Text] = []
        self._in_paragraph = 0   # depth inside a text:p (0: not in one)
        self._hidden = 0         # depth inside an annotation or note

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        if self.done:
            return
        if tag == _O_SPREADSHEET and self._body_depth < 0:
            self.seen_body = True
            self._body_depth = self._depth
        elif tag == _T_TABLE:
            if self._reading:
                self._inner_tables += 1
            elif self._depth == self._body_depth + 1:
                name = attrs.get(_T_NAME, f"Sheet{len(self.names) + 1}")
                self.names.append(name)
                if self.chosen is None and (self.wanted is None or name == self.wanted):
                    self.chosen = name
                    self._reading = True
        if not self._reading or self._inner_tables:
            return
        if self._cell is not None:
            if self._hidden or tag in _X_HIDDEN:
                self._hidden += 1
            elif self._in_paragraph:
                self._in_paragraph += 1
                if tag == _X_S:
                    count = _repeat(attrs, _TEXT + "c")
                    self._paragraphs[-1].add(" " * min(count, ODS_MAX_CELL_CHARS + 1))
                elif tag == _X_TAB:
                    self._paragraphs[-1].add("\t")
                elif tag == _X_LINE_BREAK:
                    self._paragraphs[-1].add("\n")
            elif tag in _X_PARAGRAPHS and self._depth == self._cell_depth + 1:
                self._paragraphs.append(_Text())
                self._in_paragraph = 1
            return
        if tag == _T_ROW and self._row is None:
            self._row = _Row()
            self._row_repeat = _repeat(attrs, _T_ROWS_REPEATED)
        elif tag in (_T_CELL, _T_COVERED) and self._row is not None:
            self._cell = attrs
            self._cell_depth = self._depth
            self._cell_repeat = _repeat(attrs, _T_COLS_REPEATED)
            self._covered = tag == _T_COVERED
            self._paragraphs = []

    def data(self, text: str) -> None:
        if self._in_paragraph and not self._hidden and self._cell is not None:
            self._paragraphs[-1].add(text)

    def end(self, tag: str) -> None:
        depth = self._depth
        self._depth -= 1
        if self.done or not self._reading:
            return
        if self._inner_tables:
            if tag == _T_TABLE:
                self._inner_tables -= 1
            return
        if self._cell is not None:
            if depth == self._cell_depth:
                assert self._row is not None
                value = None if self._covered else self._cell_value()
                self._row.add(value, self._cell_repeat)
                self._cell = None
            elif self._hidden:
                self._hidden -= 1
            elif self._in_paragraph:
                self._in_paragraph -= 1
            return
        if tag == _T_ROW and self._row is not None:
            self.rows.finish_row(self._row, self._row_repeat)
            self._row = None
        elif tag == _T_TABLE:
            self._reading = False
            self.done = True

    def close(self) -> None:
        pass

    def _cell_value(self) -> Any:
        attrs = self._cell
        assert attrs is not None
        shown = "\n".join(p.value() for p in self._paragraphs) if self._paragraphs else None
        kind = attrs.get(_O_VALUE_TYPE)
        if attrs.get(_CALCEXT + "value-type") == "error":
            return shown or None  # "#DIV/0!", "Err:502": the text shown
        value: Any = None
        if kind in ("float", "currency", "percentage"):
            value = _number(attrs.get(_OFFICE + "value"))
        elif kind == "date":
            value = _iso_datetime(attrs.get(_OFFICE + "date-value"))
        elif kind == "time":
            value = _duration(attrs.get(_OFFICE + "time-value"))
        elif kind == "boolean":
            raw = (attrs.get(_OFFICE + "boolean-value") or "").strip().lower()
            value = True if raw in ("true", "1") else False if raw in ("false", "0") else None
        elif kind == "string":
            value = attrs.get(_OFFICE + "string-value", shown)
        else:
            value = shown  # no type: a producer that writes only text
        if value is None and kind not in (None, "string", "void"):
            value = shown  # an unreadable typed value: the text as shown, for the row to report
        return None if value == "" else value


class _SpreadsheetMLTarget:
    """defusedxml parser target for an Excel 2003 XML workbook: ``Workbook`` >
    ``Worksheet ss:Name`` > ``Table`` > ``Row ss:Index? ss:Span?`` > ``Cell ss:Index?
    ss:MergeAcross?`` > ``Data ss:Type``. Elements match by local name in the
    SpreadsheetML namespace (or none), so ``<ss:Row>`` and ``<Row>`` are the same."""

    def __init__(self, sheet: str | None) -> None:
        self.wanted = sheet
        self.names: list[str] = []
        self.rows = _Sheet()
        self.seen_body = False
        self.done = False
        self.chosen: str | None = None
        self._stack: list[str] = []
        self._reading = False
        self._row: _Row | None = None
        self._row_span = 1
        self._column = 0          # the last column placed in the row
        self._cell: dict[str, str] | None = None
        self._data_type: str | None = None
        self._data: _Text | None = None
        self._data_depth = 0
        self._cell_data = ""
        self._skip = 0            # depth inside a Comment (its Data is not the cell's)

    @staticmethod
    def _local(tag: str) -> str | None:
        if tag.startswith(_SS):
            return tag[len(_SS):]
        return tag if not tag.startswith("{") else None

    @staticmethod
    def _attr(attrs: dict[str, str], name: str) -> str | None:
        value = attrs.get(_SS + name)
        return attrs.get(name) if value is None else value

    def _index(self, attrs: dict[str, str], after: int, limit: int, what: str) -> int:
        raw = self._attr(attrs, "Index")
        if raw is None:
            return after + 1
        try:
            index = int(raw.strip())
        except ValueError:
            raise _Refused(f"unreadable {what} index {raw[:40]!r}") from None
        if index <= after:
            raise _Refused(f"{what} index {index} comes after {what} {after} (out of order)")
        if index > limit:
            raise _Refused(f"refused: {what} index {index:,} beyond the {limit:,} a spreadsheet "
                           "holds; the file is damaged or crafted")
        return index

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = self._local(tag)
        parent = self._stack[-1] if self._stack else None
        self._stack.append(local or "")
        if self.done:
            return
        if self._data is not None:
            self._data_depth += 1
            return
        if self._skip or local == "Comment":
            self._skip += 1
            return
        if local == "Workbook" and parent is None:
            self.seen_body = True
        elif local == "Worksheet" and parent == "Workbook":
            name = self._attr(attrs, "Name") or f"Sheet{len(self.names) + 1}"
            self.names.append(name)
            if self.chosen is None and (self.wanted is None or name == self.wanted):
                self.chosen = name
                self._reading = True
        elif not self._reading:
            return
        elif local == "Row" and parent == "Table":
            number = self._index(attrs, self.rows.number, ODS_MAX_ROWS, "row")
            self.rows.number = number - 1  # the rows skipped are blank
            self._row = _Row()
            span = self._attr(attrs, "Span")
            self._row_span = 1 if span is None else _repeat({"n": str(_span(span) + 1)}, "n")
            self._column = 0
        elif local == "Cell" and parent == "Row" and self._row is not None:
            column = self._index(attrs, self._column, ODS_MAX_COLUMNS, "column")
            if column - self._column > 1:
                self._row.add(None, column - self._column - 1)
            self._column = column
            self._cell = attrs
            self._data_type = None
        elif local == "Data" and parent == "Cell" and self._cell is not None:
            self._data_type = (self._attr(attrs, "Type") or "String").strip()
            self._data = _Text()
            self._data_depth = 1

    def data(self, text: str) -> None:
        if self._data is not None:
            self._data.add(text)

    def end(self, tag: str) -> None:
        local = self._stack.pop()
        if self.done:
            return
        if self._data is not None:
            self._data_depth -= 1
            if self._data_depth == 0:
                self._cell_data = self._data.value()
                self._data = None
            return
        if self._skip:
            self._skip -= 1
            return
        if not self._reading:
            return
        if local == "Cell" and self._cell is not None and self._row is not None:
            value = self._cell_value()
            self._row.add(value, 1)
            merge = self._attr(self._cell, "MergeAcross")
            if merge:
                try:
                    across = int(merge.strip())
                except ValueError:
                    raise _Refused(f"unreadable MergeAcross {merge[:40]!r}") from None
                if across < 0 or self._column + across > ODS_MAX_COLUMNS:
                    raise _Refused(f"refused: a merge to column {self._column + across:,}, "
                                   f"beyond the {ODS_MAX_COLUMNS:,} a spreadsheet holds")
                self._row.add(None, across)
                self._column += across
            self._cell = None
            self._data_type = None
        elif local == "Row" and self._row is not None:
            # ss:Span: the rows after this one share its format only; they are blank.
            self.rows.finish_row(self._row, 1)
            self.rows.number += self._row_span - 1
            self._row = None
        elif local == "Worksheet":
            self._reading = False
            self.done = True

    def close(self) -> None:
        pass

    def _cell_value(self) -> Any:
        kind = self._data_type
        if kind is None:
            return None
        text, self._cell_data = self._cell_data, ""
        if kind == "Number":
            value: Any = _number(text)
        elif kind == "DateTime":
            value = _iso_datetime(text)
            # Excel writes a time of day alone on its day 0, 1899-12-31.
            if value is not None and value.tzinfo is None and value.date() in (
                    datetime(1899, 12, 31).date(), datetime(1899, 12, 30).date()):
                value = value.time()
        elif kind == "Boolean":
            raw = text.strip().lower()
            value = True if raw in ("1", "true") else False if raw in ("0", "false") else None
        else:  # String, Error ("#DIV/0!") and anything else: the text
            value = text
        if value is None:
            value = text  # unreadable as its type: the text as written, for the row to report
        return None if value == "" else value


# --------------------------------------------------------------------------- driver

def _stream(path: Path, source: IO[bytes], target: _OdsTarget | _SpreadsheetMLTarget,
            part: str) -> Iterator[tuple[int, list[Any]]]:
    """Feed ``source`` to a defusedxml parser driving ``target`` and yield its rows."""
    parser = DefusedXMLParser(target=target, forbid_dtd=True, forbid_entities=True,
                              forbid_external=True)
    sheet = target.rows
    yielded = 0

    def failure(message: str) -> ParseError:
        return ParseError(message, file=path, ref=f"row {sheet.number + 1}")

    def drain() -> Iterator[tuple[int, list[Any]]]:
        nonlocal yielded
        queue, sheet.queue = sheet.queue, []
        for first, cells, repeat in queue:
            for number in range(yielded + 1, first):
                yield number, []
            for number in range(first, first + repeat):
                yield number, list(cells)  # a fresh list: readers pad and trim rows in place
            yielded = first + repeat - 1

    try:
        ended = False
        while not target.done:
            try:
                chunk = source.read(_CHUNK)
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                    ended = True
            except (DTDForbidden, EntitiesForbidden):
                raise failure(f"refused: the {part} declares a DTD or entities, which a "
                              "spreadsheet never needs (an XML entity attack?)") from None
            except DefusedXmlException as exc:  # external references
                raise failure(f"refused: the {part} refers to outside resources ({exc})") from None
            except _Refused as exc:
                raise failure(str(exc)) from None
            except SyntaxError as exc:  # xml.etree.ElementTree.ParseError
                raise failure(f"broken {part} (damaged or truncated): {exc}") from None
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise failure(f"broken {part} (damaged or truncated): "
                              f"{exc or type(exc).__name__}") from None
            yield from drain()
            if ended:
                break
    finally:
        source.close()
    yield from drain()
    if not target.seen_body:
        kind = "an OpenDocument spreadsheet" if isinstance(target, _OdsTarget) else \
            "an Excel 2003 XML spreadsheet"
        raise ParseError(f"not {kind}: the {part} holds no workbook body", file=path)
    if target.chosen is None:
        if target.wanted is not None:
            raise ParseError(f"no sheet named {target.wanted!r} (sheets: "
                             f"{', '.join(target.names)})", file=path)
        raise ParseError("the workbook has no worksheet", file=path)


def _open_ods_content(path: Path) -> tuple[zipfile.ZipFile, IO[bytes]]:
    """The zip and its ``content.xml``, after tabular's zip-bomb check and the checks that
    tell a damaged, encrypted or merely renamed file from an OpenDocument spreadsheet."""
    from workstation.ingest.tabular import check_zip_safe

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ParseError(f"not a readable OpenDocument spreadsheet (zip): {exc}", file=path) from None
    try:
        check_zip_safe(path)
        try:
            declared = _declared_type(zf)
            manifest = _small_part(zf, "META-INF/manifest.xml") or b""
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                NotImplementedError) as exc:
            raise ParseError(f"not a readable OpenDocument spreadsheet (damaged zip): {exc}",
                             file=path) from None
        names = set(zf.namelist())
        if declared and not declared.startswith(_ODS_TYPE):
            raise ParseError(f"not a spreadsheet: an OpenDocument file of type {declared[:80]!r}",
                             file=path)
        if "content.xml" not in names:
            if "xl/workbook.xml" in names:
                raise ParseError("not an OpenDocument spreadsheet: an Excel (.xlsx) workbook "
                                 "under another name", file=path)
            raise ParseError("not an OpenDocument spreadsheet: the zip has no content.xml",
                             file=path)
        if b"encryption-data" in manifest:
            raise ParseError("the spreadsheet is password-protected (encrypted); ask the "
                             "source for a copy without a password to open it", file=path)
        try:
            return zf, zf.open("content.xml")
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                NotImplementedError) as exc:
            raise ParseError(f"not a readable OpenDocument spreadsheet (content.xml): {exc}",
                             file=path) from None
    except BaseException:
        zf.close()
        raise


def iter_ods(path: Path, sheet: str | None) -> Iterator[tuple[int, list[Any]]]:
    """Rows of an OpenDocument spreadsheet's sheet (the named one, else the first), as
    ``(row number as LibreOffice shows it, cells)``; see the module docstring for the
    cell types, repeats and limits. A flat XML .fods is read the same way. Raises
    ParseError naming the file (and the row being read)."""
    p = Path(path)
    head = read_head(p)
    if head[:4] == b"PK\x03\x04":
        zf, content = _open_ods_content(p)
        try:
            yield from _stream(p, content, _OdsTarget(sheet), "content.xml")
        finally:
            zf.close()
        return
    try:
        source = p.open("rb")
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=p) from None
    yield from _stream(p, source, _OdsTarget(sheet), "spreadsheet XML")


def iter_spreadsheetml(path: Path, sheet: str | None) -> Iterator[tuple[int, list[Any]]]:
    """Rows of an Excel 2003 XML spreadsheet's worksheet (the named one, else the first),
    as ``(row number as Excel shows it, cells)``: ``ss:Index`` gaps are empty cells or
    blank rows, the cells a ``ss:MergeAcross`` covers are None. Raises ParseError naming
    the file (and the row being read)."""
    p = Path(path)
    try:
        source = p.open("rb")
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=p) from None
    yield from _stream(p, source, _SpreadsheetMLTarget(sheet), "spreadsheet XML")
