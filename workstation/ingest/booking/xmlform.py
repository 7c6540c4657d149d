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
``ChargeDescriptionText``, ``ChargeStatute``...), namespaces ignored, dates nested in a
``<DateTime>``/``<Date>`` child. Booking elements are ``booking``, ``BookingRecord``,
``JailBooking`` or ``ArrestRecord`` at any depth.

A DTD, entity declaration or external reference is refused (ParseError naming the file),
as is XML that is not well formed (ParseError with the line). Each booking (the innermost
booking element, when a producer wraps them twice) gives the events described in
:mod:`workstation.ingest.booking.common`, ``ref="booking N"`` in document order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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
                       "bookingidentification", "id"),
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
}


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


def _booking_values(elem: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    values: dict[str, Any] = {}
    charges: list[dict[str, str]] = []
    for key, val in elem.attrib.items():
        fld = _FIELDS.get(_norm(key))
        if fld and val.strip():
            values.setdefault(fld, val.strip())

    def walk(node: Any) -> None:
        for child in node:
            if not isinstance(child.tag, str):
                continue
            key = _norm(child.tag)
            if key in _CHARGE_TAGS:
                charge = _charge(child)
                if charge:
                    charges.append(charge)
                continue
            if key in _CHARGE_CONTAINERS:
                if len(child):
                    walk(child)
                elif _text(child):
                    charges.extend(split_charges(_text(child)))
                continue
            for akey, aval in child.attrib.items():
                fld = _FIELDS.get(_norm(akey))
                if fld and aval.strip() and fld != "booking_number":
                    values.setdefault(fld, aval.strip())
            fld = _FIELDS.get(key)
            if fld == "booking_number" and key == "id":
                fld = None  # a bare <id> below the booking belongs to something else
            if fld is not None and not (fld == "full_name" and len(child) and
                                        any(_norm(c.tag) in _FIELDS for c in child
                                            if isinstance(c.tag, str))):
                text = _text(child)
                if text:
                    values.setdefault(fld, text)
                    continue
            if len(child):
                walk(child)

    walk(elem)
    return values, charges


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


def read_booking_xml(path: str | Path, options: ImportOptions | None = None) -> Iterator[Record]:
    """Stream the bookings of an XML file (see the module docstring)."""
    import xml.etree.ElementTree as ET

    import defusedxml
    from defusedxml.ElementTree import iterparse

    p = Path(path)
    options = options or ImportOptions()
    dates = DateReader("auto", region_dayfirst(options.default_region))
    count = 0
    open_bookings: list[Any] = []
    containers: set[int] = set()
    root: Any = None
    try:
        fh = p.open("rb")
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=p) from None
    try:
        parser = iterparse(_xml_stream(fh, p), events=("start", "end"), forbid_dtd=True)
        for event, elem in parser:
            is_booking = _norm(elem.tag) in _BOOKING_TAGS
            if event == "start":
                if root is None:
                    root = elem
                    if _norm(elem.tag) not in _ROOT_TAGS and not _looks_like_booking_root(elem):
                        raise ParseError(f"not a booking XML file (root <{elem.tag}>)", file=p)
                if is_booking:
                    open_bookings.append(elem)
                continue
            if not is_booking:
                continue
            open_bookings.pop()
            if id(elem) in containers:
                containers.discard(id(elem))
                continue  # it only wrapped the bookings already read
            # The innermost booking element is the record; any open around it is a wrapper.
            containers.update(id(e) for e in open_bookings)
            count += 1
            ref = f"booking {count}"
            values, charges = _booking_values(elem)
            try:
                for ev in build_booking_events(values, charges, ref, dates):
                    yield ev
            except BookingFieldError as exc:
                yield RowError(ref=ref, field=exc.field, message=exc.message)
            # Streaming: drop what was read so memory stays flat.
            elem.clear()
            parent = open_bookings[-1] if open_bookings else root
            if parent is not None and parent is not elem:
                try:
                    parent.remove(elem)
                except ValueError:
                    pass  # it sits deeper than the parent we know; clear() already freed it
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden,
            defusedxml.ExternalReferenceForbidden) as exc:
        raise ParseError(f"refused: the XML declares a DTD, entities or external references "
                         f"({type(exc).__name__})", file=p) from None
    except ET.ParseError as exc:
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
