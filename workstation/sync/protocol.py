"""The sync wire protocol, shared by the laptop client and the HQ server.

A **record** is one syncable row as it travels: its table ``t``, global ``uid``, the
``case`` uid it belongs to, the row's hybrid-logical-clock stamp ``hlc``, its ``origin``
device, the ``deleted`` tombstone, the field values ``f``, per-field stamps ``s`` and, on
push only, ``b`` (for every field the laptop changed since it last agreed with HQ: the
stamp it had agreed on, its *base*) and ``fp`` (keyed deconfliction fingerprints).

Per-field stamps. A field's stamp is the HLC of the last edit of that field; a field never
edited since the row was created has the empty stamp ``""`` (absent from ``s``), older than
any edit. Merging two versions of a row keeps, field by field, the value with the greater
stamp (stamps compare as strings: time, counter, then device, so every node picks the same
winner). A *true conflict* is when the same field was edited on two sides since their
common base: the greater stamp still wins (so every node converges), and the loser is kept
as a conflict for the officer to resolve.

References between rows travel as uids (``src``, ``dst``, ``merged_into``, ``source``,
``target``); local integer ids differ per laptop. Event parties travel inside their event
as ``parties``: a list of ``[entity uid, role]``.

What never travels: ``keep_local`` (a local choice), card numbers in full (``sensitive``),
thumbnails, local bookkeeping (ids, ``updated_at`` of cases/entities, stacks).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

PROTOCOL_VERSION = 1

# Dependency order: a row only refers to rows of tables before it (or of its own table).
TABLES: tuple[str, ...] = ("case", "source", "entity", "link", "event", "media", "note")
TABLE_RANK = {t: i for i, t in enumerate(TABLES)}

MAX_RECORDS_PER_BATCH = 1000
DEFAULT_BATCH = 500
MAX_BODY_BYTES = 16 * 1024 * 1024  # one request on the wire (compressed)
MAX_INFLATED_BYTES = 64 * 1024 * 1024  # one request after gzip decoding
MAX_TEXT = 1024 * 1024  # one text field
MAX_SHORT = 4096  # one short string field
MAX_FINGERPRINTS_PER_RECORD = 8
MAX_DECONFLICT_ITEMS = 20000

UID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
STAMP_PATTERN = r"^[0-9]{15}\.[0-9]{5}\.[A-Za-z0-9._:-]{1,64}$"
FP_PATTERN = r"^[a-z0-9_]{1,16}:[0-9a-f]{64}$"
_UID = re.compile(UID_PATTERN)
_STAMP = re.compile(STAMP_PATTERN)

Uid = Annotated[str, StringConstraints(pattern=UID_PATTERN)]
Stamp = Annotated[str, StringConstraints(pattern=STAMP_PATTERN)]
StampOrEmpty = Annotated[str, StringConstraints(pattern=r"^$|" + STAMP_PATTERN[1:-1] + "$")]
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z_][a-z0-9_]*$")]
Fingerprint = Annotated[str, StringConstraints(pattern=FP_PATTERN)]

# Field type codes: "str" short text, "text" long text, "int", "float", "json" (object),
# "list" (list of short strings), "ref:<table>" (a uid of that table; "ref:*" for a note's
# target, whose table is ``target_type``), "parties"; a trailing "?" allows null.
FIELD_TYPES: dict[str, dict[str, str]] = {
    "case": {
        "number": "str", "title": "text", "status": "str", "agency": "str?",
        "lead_officer": "str?", "opened_at": "str", "closed_at": "str?", "summary": "text?",
        "sharing": "str", "shared_with": "list", "timezone": "str?", "category_scheme": "str?",
        "created_at": "str",
    },
    "source": {
        "file_name": "text", "file_size": "int", "sha256": "str", "importer": "str",
        "options": "json", "imported_by": "str", "imported_at": "str", "summary": "json?",
    },
    "entity": {
        "kind": "str", "label": "text", "key": "text?", "properties": "json",
        "merged_into": "ref:entity?", "source": "ref:source?", "source_ref": "text?",
        "created_at": "str",
    },
    "link": {
        "src": "ref:entity", "dst": "ref:entity", "kind": "str", "confidence": "float",
        "properties": "json", "source": "ref:source?", "source_ref": "text?", "created_at": "str",
    },
    "event": {
        "kind": "str", "ts_utc": "int?", "utc_offset": "int?", "title": "text", "body": "text?",
        "properties": "json", "source": "ref:source?", "source_ref": "text?", "created_at": "str",
        "parties": "parties",
    },
    "media": {
        "path": "text", "size": "int", "mime": "str", "md5": "str", "sha1": "str", "sha256": "str",
        "pdq": "str?", "pdq_quality": "int?", "width": "int?", "height": "int?", "exif": "json?",
        "captured_utc": "int?", "gps_lat": "float?", "gps_lon": "float?", "category": "str?",
        "categorised_by": "str?", "categorised_at": "str?", "source": "ref:source?",
        "created_at": "str",
    },
    "note": {
        "target_type": "str?", "target": "ref:*?", "body": "text", "author": "str",
        "created_at": "str",
    },
}
# The stamp of the tombstone travels in ``s`` under this name; deletion is sticky (OR).
DELETED = "deleted"
NOTE_TARGETS = ("entity", "event", "link", "media")
SHARING_VALUES = ("local", "hq", "agencies")


class ProtocolError(ValueError):
    """A record that breaks the protocol; the message names the record and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class WireRecord(_Strict):
    """One syncable row on the wire (see the module docstring)."""

    t: Literal["case", "source", "entity", "link", "event", "media", "note"]
    uid: Uid
    case: Uid
    hlc: Stamp
    origin: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    deleted: bool = False
    f: dict[FieldName, JsonValue] = Field(default_factory=dict, max_length=64)
    s: dict[FieldName, Stamp] = Field(default_factory=dict, max_length=64)
    b: dict[FieldName, StampOrEmpty] = Field(default_factory=dict, max_length=64)
    fp: list[Fingerprint] = Field(default_factory=list, max_length=MAX_FINGERPRINTS_PER_RECORD)


class PushRequest(_Strict):
    """A batch of changed rows, cases first (dependency order)."""

    records: list[WireRecord] = Field(max_length=MAX_RECORDS_PER_BATCH)


class Conflict(_Strict):
    """A field edited on two sides since their common base. ``value``/``stamp`` are HQ's
    (theirs), ``mine``/``mine_stamp`` what the device sent; ``winner`` says which one the
    merge kept for now. HQ keeps every conflict the device won (HQ then holds the device's
    value, and nothing else could tell that another value was overwritten) and sends it
    again with the device's next pull, so a lost push answer cannot lose it; a lost
    conflict is found again when the change is sent again. A device keeps each (record,
    field, mine_stamp, stamp) once."""

    t: str
    uid: Uid
    field: str
    value: JsonValue
    stamp: StampOrEmpty
    winner: Literal["mine", "theirs"]
    mine: JsonValue = None
    mine_stamp: StampOrEmpty = ""


class PushResponse(_Strict):
    accepted: int
    changed: int
    conflicts: list[Conflict] = Field(default_factory=list)
    ignored: list[str] = Field(default_factory=list)
    head: int


class PullResponse(_Strict):
    """A page of changes after the device's cursor, and the conflicts HQ found in this
    device's own pushes in the same stretch of the change sequence."""

    records: list[WireRecord]
    next: int
    head: int
    more: bool
    conflicts: list[Conflict] = Field(default_factory=list)


class EnrolRequest(_Strict):
    code: Annotated[str, StringConstraints(min_length=4, max_length=64)]
    device_id: Uid
    sign_pub: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    box_pub: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    label: Annotated[str, StringConstraints(max_length=128)] = ""


class EnrolResponse(_Strict):
    device_id: str
    token: str
    officer: str
    agency: str
    agency_code: str
    hq_id: str
    hq_box_pub: str
    hq_sign_pub: str
    fingerprint_key: str


class Identity(_Strict):
    device_id: str
    officer: str
    agency: str
    agency_code: str
    hq_id: str


class CaseSummary(_Strict):
    uid: str
    owner_agency: str
    sharing: str
    records: int
    last_seq: int
    mine: bool


class DeconflictItem(_Strict):
    fp: Fingerprint


class DeconflictRequest(_Strict):
    case: Uid | None = None
    items: list[DeconflictItem] = Field(max_length=MAX_DECONFLICT_ITEMS)


class DeconflictMatch(_Strict):
    """Another case holds the same identifier: who to call, never what the case holds."""

    fp: str
    ref: str
    agency: str
    agency_contact: str | None
    officer: str | None
    officer_contact: str | None
    same_agency: bool


class DeconflictResponse(_Strict):
    matches: list[DeconflictMatch]


class BundlePush(_Strict):
    """Payload of a laptop → HQ bundle."""

    records: list[WireRecord]
    cursor: int = 0
    outbox_upto: int = 0


class AckedRecord(_Strict):
    t: str
    uid: Uid
    s: dict[FieldName, Stamp] = Field(default_factory=dict)


class BundleAck(_Strict):
    """Payload of HQ → laptop acknowledgement bundle."""

    bundle_id: str
    outbox_upto: int
    acked: list[AckedRecord]
    conflicts: list[Conflict]
    records: list[WireRecord]
    next: int
    head: int


# ---------------------------------------------------------------------- validation
_ERRORS = {
    "str": f"must be text of at most {MAX_SHORT} characters",
    "text": f"must be text of at most {MAX_TEXT} characters",
    "int": "must be a 64-bit integer",
    "float": "must be a number",
    "json": "must be a JSON object",
    "list": "must be a list of at most 256 short strings",
    "ref": "must be a record uid",
    "parties": "must be a list of [entity uid, role] pairs",
}


def _ok(base: str, v: Any) -> bool:
    t = type(v)
    if base == "str":
        return t is str and len(v) <= MAX_SHORT
    if base == "text":
        return t is str and len(v) <= MAX_TEXT
    if base == "int":
        return t is int and -(2**63) < v < 2**63
    if base == "float":
        return t is int or t is float
    if base == "json":
        return t is dict
    if base == "list":
        return t is list and len(v) <= 256 and all(type(x) is str and len(x) <= 256 for x in v)
    if base == "ref":
        return t is str and len(v) == 36 and _UID.match(v) is not None
    if base == "parties":
        if t is not list or len(v) > 1000:
            return False
        for p in v:
            if type(p) is not list or len(p) != 2:
                return False
            u, r = p
            if type(u) is not str or len(u) != 36 or not _UID.match(u) or type(r) is not str or not 0 < len(r) <= 32:
                return False
        return True
    raise ValueError(f"unknown field type {base}")  # pragma: no cover - a typo in FIELD_TYPES


def _make_checker(code: str) -> Any:
    """A function value → error text (None when fine) for one field type code."""
    nullable = code.endswith("?")
    base = code.rstrip("?")
    base = "ref" if base.startswith("ref:") else base
    error = _ERRORS[base]

    def check(v: Any) -> str | None:
        if v is None:
            return None if nullable else "may not be null"
        return None if _ok(base, v) else error

    return check


_CHECKERS: dict[str, dict[str, Any]] = {t: {n: _make_checker(c) for n, c in fields.items()}
                                        for t, fields in FIELD_TYPES.items()}


def check_field_value(t: str, name: str, value: Any) -> None:
    """Check one value for field ``name`` of table ``t`` (ProtocolError when it does not fit)."""
    check = _CHECKERS.get(t, {}).get(name)
    if check is None:
        raise ProtocolError(f"{t} has no syncable field {name!r}")
    problem = check(value)
    if problem:
        raise ProtocolError(f"{t} field {name!r}: {problem}")


def check_names(rec: WireRecord) -> None:
    """Only the field names of ``rec`` (ProtocolError for one this code does not know)."""
    unknown = rec.f.keys() - FIELD_TYPES[rec.t].keys()
    if unknown:
        raise ProtocolError(f"record {rec.uid} ({rec.t}): unknown field {sorted(unknown)[0]!r}")


def validate_record(rec: WireRecord) -> None:
    """Check field names and value types of ``rec`` against :data:`FIELD_TYPES`.

    Raises ProtocolError naming the record and the field. Unknown fields are an error (a
    newer client talking to an older HQ must not have its data silently dropped).
    """
    types = FIELD_TYPES[rec.t]
    checkers = _CHECKERS[rec.t]
    for name, value in rec.f.items():
        check = checkers.get(name)
        if check is None:
            raise ProtocolError(f"record {rec.uid} ({rec.t}): unknown field {name!r}")
        problem = check(value)
        if problem:
            raise ProtocolError(f"record {rec.uid} ({rec.t}) field {name!r}: {problem}")
    for where, keys in (("stamp", rec.s), ("base", rec.b)):
        for name in keys:
            if name != DELETED and name not in types:
                raise ProtocolError(f"record {rec.uid} ({rec.t}): {where} for unknown field {name!r}")
    if rec.t == "case":
        if rec.case != rec.uid:
            raise ProtocolError(f"record {rec.uid} (case): a case row's case must be itself")
        sharing = rec.f.get("sharing")
        if sharing is not None and sharing not in SHARING_VALUES:
            raise ProtocolError(f"record {rec.uid} (case) field 'sharing': must be one of "
                                f"{', '.join(SHARING_VALUES)}")
    if rec.t == "note":
        tt = rec.f.get("target_type")
        if tt is not None and tt not in NOTE_TARGETS:
            raise ProtocolError(f"record {rec.uid} (note) field 'target_type': must be one of "
                                f"{', '.join(NOTE_TARGETS)}")


def stamp_of(rec: WireRecord, name: str) -> str:
    """The stamp of field ``name`` ("" when never edited since creation)."""
    return rec.s.get(name, "")


def stamp_node(stamp: str) -> str:
    """The device that made a stamp ("" for the never-edited stamp). Two edits stamped by
    the same device are never a conflict: the later one was made knowing the earlier."""
    parts = stamp.split(".", 2)
    return parts[2] if len(parts) == 3 else ""


__all__ = [
    "AckedRecord", "BundleAck", "BundlePush", "CaseSummary", "Conflict", "DeconflictItem",
    "DeconflictMatch", "DeconflictRequest", "DeconflictResponse", "DELETED", "EnrolRequest",
    "EnrolResponse", "FIELD_TYPES", "Identity", "ProtocolError", "PullResponse", "PushRequest",
    "PushResponse", "TABLES", "TABLE_RANK", "WireRecord", "validate_record", "stamp_of", "stamp_node",
]
