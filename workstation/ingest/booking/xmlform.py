"""Arrest/booking records as XML, read with defusedxml (streaming).

Our form::

    <bookings>
      <booking number="B-1001">
        <person><last_name>Testperson</last_name><first_name>Alex</first_name>
                <dob>1990-04-01</dob><sex>M</sex></person>
        <charges><charge code="13A" statute="PC 245" severity="felony">Assault</charge></charges>
        <arrest_time>2024-03-02T21:15:00-05:00</arrest_time>
        <booking_time>2024-03-02T23:40:00-05:00</booking_time>
        <release_time/>
        <agency>Example County Sheriff</agency>
        <arresting_officer>Officer Example</arresting_officer>
        <address>1 Test Street</address>
      </booking>
    </bookings>

Variants accepted: values as child elements or attributes (``<person last_name=".."/>``,
``<booking booking_number="..">``); camel-case and NIEM-style names
(``BookingNumber``, ``PersonSurName``, ``PersonGivenName``, ``PersonBirthDate``,
``PersonSexCode``, ``ArrestDate``, ``BookingDate``, ``ReleaseDate``, ``ArrestAgency``,
``ChargeDescriptionText``, ``ChargeStatute``, ``BookingAgencyRecordIdentification``...),
namespaces ignored, dates nested in a ``<DateTime>``/``<Date>`` child (an xs:date's zone
is dropped). Booking elements are ``booking``, ``BookingRecord``, ``JailBooking`` or
``ArrestRecord`` at any depth. NIEM activities nested in a booking give their
``nc:ActivityDate`` to that activity: ``j:Arrest`` → arrest time, a release → release
time, the booking's own → booking time. A ``j:Arrest`` outside any booking is a record
of its own (an arrest report: ``ref="arrest N"``, main event of kind ``arrest``). NIEM
references (``structures:ref`` to an element's ``structures:id``, for people, officers
and charges declared once) are followed; the file is then read twice.

A DTD, entity declaration or external reference is refused (ParseError naming the file),
as is XML that is not well formed (ParseError with the line), and a file with no booking
or arrest record. Each booking (the innermost booking element, when a producer wraps
them twice) gives the events described in :mod:`workstation.ingest.booking.common`,
``ref="booking N"`` in document order; a value that cannot be read (a bad date) gives a
RowError whose message names the element and its line.
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from workstation.ingest.booking.common import BookingFieldError, build_booking_events, split_charges
from workstation.ingest.records import ImportOptions, ParseError, Record, RowError
from workstation.ingest.tabular import DateReader, region_dayfirst

_BOOKING_TAGS = {"booking", "bookingrecord", "jailbooking", "arrestrecord"}
_ROOT_TAGS = {"bookings", "bookingrecords", "jailbookings", "arrestrecords", "bookinglist",
              "bookingreport", "bookingreports"} | _BOOKING_TAGS
_CHARGE_CONTAINERS = {"charges", "chargelist", "offenses", "offences"}
_CHARGE_TAGS = {"charge", "offense", "offence", "arrestcharge", "bookingcharge"}

# Normalised element/attribute name → our field. First found wins.
_FIELDS: dict[str, str] = {}
for _field, _names in {
    "booking_number": ("number", "bookingnumber", "bookingno", "bookingid", "bookingnum",
                       "bookingidentification", "bookingagencyrecordidentification",
                       "bookingnumbertext", "id"),
    "last_name": ("lastname", "surname", "familyname", "personsurname"),
    "first_name": ("firstname", "givenname", "persongivenname"),
    "middle_name": ("middlename", "personmiddlename"),
    "full_name": ("fullname", "name", "personfullname", "personname"),
    "dob": ("dob", "dateofbirth", "birthdate", "personbirthdate"),
    "sex": ("sex", "gender", "personsexcode", "personsextext", "personsex"),
    "race": ("race", "personracecode", "personracetext"),
    "arrest_time": ("arresttime", "arrestdatetime", "arrestedat", "arrestdate"),
    "booking_time": ("bookingtime", "bookingdatetime", "bookedat", "bookingdate",
                     "bookingstartdate"),
    "release_time": ("releasetime", "releasedatetime", "releasedat", "releasedate",
                     "bookingreleasedate"),
    "agency": ("agency", "arrestingagency", "arrestagency", "bookingagency",
               "agencyname", "arrestagencyname"),
    "arresting_officer": ("arrestingofficer", "officer", "arrestofficial",
                          "arrestofficer", "officername"),
    "address": ("address", "street", "streetaddress", "streetfulltext", "locationstreet",
                "addressfulltext", "residence"),
    "city": ("city", "locationcityname", "cityname"),
    "state": ("state", "locationstate", "locationstateuspostalservicecode", "statecode"),
    "postal_code": ("postalcode", "zip", "zipcode", "locationpostalcode"),
    "phone": ("phone", "phonenumber", "telephone", "telephonenumberfulltext"),
    "email": ("email", "emailaddress", "contactemailid"),
}.items():
    for _n in _names:
        _FIELDS[_n] = _field

_CHARGE_FIELDS = {
    "code": ("code", "chargecode", "offensecode", "ncic", "ucr"),
    "statute": ("statute", "chargestatute", "statutecodeidentification",
                "statutecodesectionidentification", "section", "law"),
    "description": ("description", "chargedescriptiontext", "text", "offense", "name",
                    "chargetext", "statutedescriptiontext"),
    "severity": ("severity", "level", "degree", "chargeseveritytext", "chargeseveritylevel",
                 "class", "chargeclass", "category"),
    "disposition": ("disposition", "chargedisposition", "dispositiontext",
                    "dispositiondescriptiontext"),
    "counts": ("chargecountquantity", "counts", "count"),
}
# Where an arrest happened (NIEM ``j:ArrestLocation``): its address fields are the place
# of arrest (common.PLACE_FIELDS), not the person's address of record.
_PLACE_CONTAINERS = {"arrestlocation", "locationofarrest", "arrestplace"}
_PLACE_FIELDS = {"address": "arrest_location", "city": "arrest_city", "state": "arrest_state",
                 "postal_code": "arrest_zip"}
_COORDINATES = {"latitudedegreevalue": "latitude", "latitude": "latitude",
                "longitudedegreevalue": "longitude", "longitude": "longitude"}
# An activity's own identifier: the arrest number of an arrest report.
_ACTIVITY_IDS = {"activityidentification", "arrestidentification", "arrestnumber"}
# NIEM's structural attributes (``structures:id``, ``structures:ref``...) name elements
# of the document, not records: never a booking number.
_STRUCTURAL = {"id", "ref", "uri", "metadata", "relationshipmetadata"}


def _norm(name: str) -> str:
    local = name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
    return re.sub(r"[^a-z0-9]", "", local.lower())


def _text(elem: Any) -> str:
    return " ".join(t.strip() for t in elem.itertext() if t and t.strip())


def _charge(elem: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    attrs = {_norm(k): v.strip() for k, v in elem.attrib.items() if v and v.strip()}
    children = {}
    for child in elem.iter():
        if child is elem:
            continue
        key = _norm(child.tag) if isinstance(child.tag, str) else ""
        if key and key not in children and _text(child):
            children[key] = _text(child)
    for fld, names in _CHARGE_FIELDS.items():
        for n in names:
            if n in attrs:
                out[fld] = attrs[n]
                break
            if n in children:
                out[fld] = children[n]
                break
    if "description" not in out:
        direct = (elem.text or "").strip()
        if direct:
            out["description"] = direct
    return out


# NIEM activities nested in a booking: their ``nc:ActivityDate`` is that activity's time.
_ACTIVITY_CONTEXTS = {"arrest": "arrest", "release": "release", "bookingrelease": "release",
                      "custodyrelease": "release", "booking": "booking"}
_ACTIVITY_DATES = {"activitydate", "activitydatetime"}
_DATE_FIELDS = {"dob", "arrest_time", "booking_time", "release_time"}
# An xs:date with a zone ("2024-02-03-05:00"): the zone of a day is meaningless, and
# the date reader would take "-05:00" for a time of day.
_XS_DATE_ZONE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:Z|[+\-]\d{2}:\d{2})$")
_MAX_DEPTH = 64  # nesting (and references) followed below a booking; deeper is not data

Resolver = Callable[[Any], Any]


def _ref_target(elem: Any, resolve: Resolver | None) -> Any:
    """The element a NIEM reference (``structures:ref="P1"``, empty element) points at."""
    if resolve is None or len(elem) or (elem.text or "").strip():
        return None
    for key, val in elem.attrib.items():
        if key.startswith("{") and key.rsplit("}", 1)[-1] == "ref" and val.strip():
            return resolve(val.strip())
    return None


def _text_resolved(elem: Any, resolve: Resolver | None, depth: int = 0) -> str:
    """The text of ``elem``, following references (an officer given by reference)."""
    target = _ref_target(elem, resolve)
    if target is not None and depth < _MAX_DEPTH:
        return _text_resolved(target, resolve, depth + 1)
    if resolve is None or not len(elem) or depth >= _MAX_DEPTH:
        return _text(elem)
    parts = [(elem.text or "").strip()]
    for child in elem:
        if isinstance(child.tag, str):
            parts.append(_text_resolved(child, resolve, depth + 1))
        parts.append((child.tail or "").strip())
    return " ".join(p for p in parts if p)


def _booking_values(elem: Any, lines: Mapping[int, int] | None = None,
                    resolve: Resolver | None = None, context: str = "booking"
                    ) -> tuple[dict[str, Any], list[dict[str, str]], dict[str, tuple[str, int]]]:
    """Our fields of one booking element, its charges, and where each field was read
    (element name as written, line) so an unreadable value can be pointed at."""
    lines = lines or {}
    values: dict[str, Any] = {}
    charges: list[dict[str, str]] = []
    sources: dict[str, tuple[str, int]] = {}

    def put(fld: str, value: str, where: Any, name: str) -> None:
        if fld in values:
            return
        if fld in _DATE_FIELDS:
            m = _XS_DATE_ZONE.match(value)
            if m:
                value = m.group(1)
        values[fld] = value
        sources[fld] = (name, lines.get(id(where), 0))

    for key, val in elem.attrib.items():
        if key.startswith("{") and _norm(key) in _STRUCTURAL:
            continue
        fld = _FIELDS.get(_norm(key))
        if fld and val.strip():
            put(fld, val.strip(), elem, f"{_local(elem.tag)} @{_local(key)}")

    def walk(node: Any, ctx: str, depth: int, place: bool = False) -> None:
        if depth >= _MAX_DEPTH:
            return
        for child in node:
            if not isinstance(child.tag, str):
                continue
            target = _ref_target(child, resolve)
            if target is not None:
                if _norm(child.tag) in _CHARGE_TAGS:
                    charge = _charge(target)
                    if charge:
                        charges.append(charge)
                else:
                    walk_one(target, child, ctx, depth + 1, place)
                continue
            walk_one(child, child, ctx, depth + 1, place)

    def walk_one(child: Any, named: Any, ctx: str, depth: int, place: bool = False) -> None:
        key = _norm(named.tag)
        if key in _PLACE_CONTAINERS and len(child):
            walk(child, ctx, depth, place=True)
            return
        if place and key in _COORDINATES:
            text = _text(child)
            if text:
                put(_COORDINATES[key], text, child, _local(named.tag))
            return
        if key in _ACTIVITY_IDS and ctx == context and len(child):
            text = _text_resolved(child, resolve)
            if text:
                put("booking_number", text, child, _local(named.tag))
            return
        if key in _CHARGE_TAGS:
            charge = _charge(child)
            if charge:
                charges.append(charge)
            return
        if key in _CHARGE_CONTAINERS:
            if len(child):
                walk(child, ctx, depth, place)
            elif _text(child):
                charges.extend(split_charges(_text(child)))
            return
        if key in _ACTIVITY_CONTEXTS and len(child):
            walk(child, _ACTIVITY_CONTEXTS[key], depth)
            return
        for akey, aval in child.attrib.items():
            fld = _FIELDS.get(_norm(akey))
            if fld and aval.strip() and fld != "booking_number":
                put(_PLACE_FIELDS.get(fld, fld) if place else fld, aval.strip(), child,
                    f"{_local(child.tag)} @{_local(akey)}")
        fld = f"{ctx}_time" if key in _ACTIVITY_DATES else _FIELDS.get(key)
        if fld == "booking_number" and key == "id":
            fld = None  # a bare <id> below the booking belongs to something else
        # A name or address given in parts (<PersonName><PersonGivenName>...; <Address>
        # <LocationStreet>...<LocationCityName>...) is read part by part.
        if fld is not None and not (fld in ("full_name", "address") and len(child) and any(
                _FIELDS.get(_norm(c.tag)) in (("address",) if fld == "address" else _FIELDS.values())
                for c in child if isinstance(c.tag, str))):
            text = _text_resolved(child, resolve)
            if text:
                if place and fld in _DATE_FIELDS:
                    return  # a date of the place is not the record's
                put(_PLACE_FIELDS.get(fld, fld) if place else fld, text, child,
                    _local(named.tag))
                return
        if len(child):
            walk(child, ctx, depth, place)

    walk(elem, context, 0)
    return values, charges, sources


def _local(tag: str) -> str:
    """An element or attribute name without its namespace URI (``{uri}Date`` → ``Date``)."""
    return tag.rsplit("}", 1)[-1]


_XML_DECL_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._:\-]+)(["'])""")
# What expat reads itself; any other declared encoding is transcoded to UTF-8 first.
_EXPAT_ENCODINGS = frozenset({"utf-8", "utf-16", "utf-16-le", "utf-16-be", "latin-1", "iso8859-1", "ascii"})
_SINGLE_BYTE_OK = 256  # expat maps a single-byte code page through Python's codec


class _Utf8Transcoder:
    """A binary stream giving a file in another encoding as UTF-8, its XML declaration
    rewritten to say so (expat cannot read multi-byte code pages such as Shift_JIS)."""

    def __init__(self, fh: Any, encoding: str) -> None:
        import codecs

        self._reader = codecs.getreader(encoding)(fh, "strict")
        self._first = True

    def read(self, size: int = -1) -> bytes:
        data = self._reader.read(size if size and size > 0 else -1).encode("utf-8")
        if self._first:
            self._first = False
            data = _XML_DECL_ENCODING.sub(rb"\1UTF-8\3", data, count=1)
        return data


def _xml_stream(fh: Any, p: Path) -> Any:
    """``fh`` as expat can read it, honouring the encoding the XML declaration names."""
    import codecs

    head = fh.read(1024)
    fh.seek(0)
    m = _XML_DECL_ENCODING.match(head)
    if not m:
        return fh
    name = m.group(2).decode("ascii").lower()
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ParseError(f"the XML declares an unknown encoding {name!r}", file=p) from None
    if not getattr(info, "_is_text_encoding", True):
        raise ParseError(f"the XML declares {name!r}, which is not a text encoding", file=p)
    if info.name.replace("_", "-") in _EXPAT_ENCODINGS:
        return fh
    try:
        single_byte = len(bytes(range(_SINGLE_BYTE_OK)).decode(info.name, errors="ignore")) == _SINGLE_BYTE_OK
    except Exception:
        single_byte = False
    if single_byte:
        return fh  # expat's unknown-encoding handler maps these through the codec
    return _Utf8Transcoder(fh, info.name)


class _LineTarget:
    """A tree builder that notes the line of every element's start tag (for errors)."""

    def __init__(self) -> None:
        import xml.etree.ElementTree as ET

        self._builder = ET.TreeBuilder()
        self.expat: Any = None
        self.lines: dict[int, int] = {}

    def start(self, tag: str, attrib: dict[str, str]) -> Any:
        elem = self._builder.start(tag, attrib)
        if self.expat is not None:
            self.lines[id(elem)] = self.expat.CurrentLineNumber
        return elem

    def end(self, tag: str) -> Any:
        return self._builder.end(tag)

    def data(self, data: str) -> None:
        self._builder.data(data)

    def close(self) -> Any:
        return self._builder.close()


_NS_REF = re.compile(rb"\s[A-Za-z_][\w.\-]*:ref\s*=")


def _has_references(p: Path) -> bool:
    """Whether the file uses NIEM references (``structures:ref=``), scanning its bytes."""
    tail = b""
    with p.open("rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                return False
            if _NS_REF.search(tail + chunk):
                return True
            tail = chunk[-64:]


def _iterparse(p: Path, fh: Any) -> tuple[Any, _LineTarget]:
    from defusedxml.ElementTree import DefusedXMLParser, iterparse

    target = _LineTarget()
    parser = DefusedXMLParser(target=target, forbid_dtd=True)
    target.expat = parser.parser
    return iterparse(_xml_stream(fh, p), events=("start", "end"), parser=parser), target


def _id_index(p: Path) -> tuple[dict[str, Any], dict[int, int], Any, set[str]]:
    """Every element with a namespaced id (``structures:id``), for resolving references,
    with the lines of that pass's elements, its root (which keeps them alive, so their
    ids stay unique) and the ids a booking refers to (an arrest declared beside the
    booking that names it is that booking's, not a record of its own). A separate first
    pass: NIEM puts the people after the activities that name them."""
    index: dict[str, Any] = {}
    booked: set[str] = set()
    root: Any = None
    inside = 0  # booking elements open
    with p.open("rb") as fh:
        events, target = _iterparse(p, fh)
        for event, elem in events:
            is_booking = _norm(elem.tag) in _BOOKING_TAGS - {"arrestrecord"}
            if event != "start":
                inside -= is_booking
                continue
            inside += is_booking
            if root is None:
                root = elem
            for key, val in elem.attrib.items():
                if not key.startswith("{") or not val.strip():
                    continue
                local = key.rsplit("}", 1)[-1]
                if local == "id":
                    index.setdefault(val.strip(), elem)
                elif local == "ref" and inside:
                    booked.add(val.strip())
    return index, target.lines, root, booked


def _own_id(elem: Any) -> str:
    """An element's namespaced id (``structures:id``), else ""."""
    for key, val in elem.attrib.items():
        if key.startswith("{") and key.rsplit("}", 1)[-1] == "id":
            return str(val).strip()
    return ""


def read_booking_xml(path: str | Path, options: ImportOptions | None = None) -> Iterator[Record]:
    """Stream the bookings of an XML file (see the module docstring).

    Raises ParseError for a refused, malformed or foreign XML file, and for one with no
    booking or arrest record; yields a RowError naming the element and line of a value
    that cannot be read.
    """
    import xml.etree.ElementTree as ET

    import defusedxml
    import defusedxml.ElementTree as DET

    p = Path(path)
    options = options or ImportOptions()
    dates = DateReader("auto", region_dayfirst(options.default_region))
    count = 0
    open_records: list[Any] = []
    containers: set[int] = set()
    root: Any = None
    try:
        fh = p.open("rb")
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=p) from None
    try:
        resolve: Resolver | None = None
        ref_lines: dict[int, int] = {}
        booked: set[str] = set()
        if _has_references(p):
            index, ref_lines, _ref_root, booked = _id_index(p)
            resolve = index.get
        parser, target = _iterparse(p, fh)
        lines = ChainMap(target.lines, ref_lines)
        for event, elem in parser:
            tag = _norm(elem.tag)
            # An arrest outside any booking is a record of its own (an arrest report);
            # inside a booking it is part of that booking.
            is_record = tag in _BOOKING_TAGS or (
                tag == "arrest" and not any(_norm(e.tag) in _BOOKING_TAGS
                                            for e in open_records)
                and not (booked and _own_id(elem) in booked))
            if event == "start":
                if root is None:
                    root = elem
                    if tag not in _ROOT_TAGS and not _looks_like_booking_root(elem):
                        raise ParseError(f"not a booking XML file (root <{elem.tag}>)", file=p)
                if is_record:
                    open_records.append(elem)
                continue
            if not open_records or open_records[-1] is not elem:
                continue
            open_records.pop()
            if id(elem) in containers:
                containers.discard(id(elem))
                continue  # it only wrapped the records already read
            # The innermost record element is the record; any open around it is a wrapper.
            containers.update(id(e) for e in open_records)
            count += 1
            arrest_only = tag == "arrest"
            ref = f"arrest {count}" if arrest_only else f"booking {count}"
            values, charges, sources = _booking_values(
                elem, lines, resolve, "arrest" if arrest_only else "booking")
            try:
                if arrest_only and not _names_anyone(values) and not (
                        charges or any(values.get(k) for k in (
                            "booking_number", "arrest_time", "booking_time"))):
                    raise BookingFieldError("last_name", "no person, number, date or charge "
                                            "in this arrest")
                # An arrest report may be anonymised (no person at all): an arrest with
                # its charges, as the open-data lists give them. A booking names someone.
                events = build_booking_events(values, charges, ref, dates,
                                              unnamed=arrest_only)
            except BookingFieldError as exc:
                where = sources.get(exc.field)
                message = exc.message
                if where is not None:
                    message = f"{message} (element <{where[0]}>, line {where[1]})"
                yield RowError(ref=ref, field=exc.field, message=message)
                events = []
            for ev in events:
                if arrest_only and ev.kind == "booking":
                    number = ev.properties.get("booking_number")
                    ev = replace(ev, kind="arrest", title=f"Arrest {number}" if number
                                 else "Arrest")
                yield ev
            # Streaming: drop what was read so memory stays flat.
            for sub in elem.iter():
                target.lines.pop(id(sub), None)
            elem.clear()
            parent = open_records[-1] if open_records else root
            if parent is not None and parent is not elem:
                try:
                    parent.remove(elem)
                except ValueError:
                    pass  # it sits deeper than the parent we know; clear() already freed it
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden,
            defusedxml.ExternalReferenceForbidden) as exc:
        raise ParseError(f"refused: the XML declares a DTD, entities or external references "
                         f"({type(exc).__name__})", file=p) from None
    except (ET.ParseError, DET.ParseError) as exc:
        line = getattr(exc, "position", (None,))[0]
        raise ParseError(f"not well-formed XML: {exc}", file=p,
                         ref=f"line {line}" if line else None) from None
    except UnicodeDecodeError as exc:
        raise ParseError(f"undecodable bytes ({exc.reason}) in the declared encoding", file=p) from None
    except (LookupError, ValueError) as exc:  # expat refusing the declared encoding
        raise ParseError(f"cannot read the XML's declared encoding: {exc}", file=p) from None
    finally:
        fh.close()
    if root is None:
        raise ParseError("empty XML file", file=p)
    if count == 0:
        raise ParseError("no booking or arrest record in this XML file (looked for "
                         "<Booking>, <BookingRecord>, <ArrestRecord>, <Arrest>...)", file=p)


def _names_anyone(values: Mapping[str, Any]) -> bool:
    return any(values.get(k) for k in ("last_name", "first_name", "full_name"))


def _looks_like_booking_root(elem: Any) -> bool:
    return "booking" in _norm(elem.tag) or "arrest" in _norm(elem.tag)


def sniff_booking_xml(head: bytes) -> float:
    """0.9 when the first element is a bookings/booking root; 0.6 for NIEM-ish roots
    naming bookings or arrests."""
    text = head[:16384].decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if not text.startswith("<"):
        return 0.0
    m = re.search(r"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)[\s>/]",
                  re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", "", text, flags=re.DOTALL))
    if not m:
        return 0.0
    local = _norm(m.group(2))
    if local in _ROOT_TAGS:
        return 0.9
    if "booking" in local or "arrest" in local:
        return 0.6
    return 0.0


class BookingXmlParser:
    """Arrest/booking records in XML (Parser protocol)."""

    name = "booking_xml"
    label = "Arrest / booking records (XML)"

    def sniff(self, path: Path, head: bytes) -> float:
        """High when the root element is a bookings list or a booking."""
        return sniff_booking_xml(head)

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        """Stream the file's booking, arrest and release events."""
        yield from read_booking_xml(path, options)
