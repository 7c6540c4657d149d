"""Plain values the service API passes out: ids, frozen dataclasses, never ORM rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

# Entity kinds with the identifier normaliser that gives them a matching key.
IDENTIFIER_KINDS = frozenset({"phone", "email", "card", "ip", "url", "domain", "account"})
ENTITY_KINDS: tuple[str, ...] = (
    "person", "account", "email", "phone", "card", "ip", "device", "url", "domain",
    "address", "organisation", "vehicle", "bank_account", "location",
)
LINK_KINDS: tuple[str, ...] = (
    "uses", "owns", "holder_of", "member_of", "communicated_with", "paid", "same_as",
    "associate_of", "located_at", "mentions", "on_platform", "employed_by", "related_to",
)
EVENT_KINDS: tuple[str, ...] = (
    "message", "transaction", "arrest", "booking", "release", "login", "media_capture",
    "note", "call", "system", "other",
)
CASE_STATUSES: tuple[str, ...] = ("open", "suspended", "closed")
SHARING_CHOICES: tuple[str, ...] = ("local", "hq", "agencies")


@dataclass(frozen=True)
class Changes:
    """What a mutation changed, for views to decide whether to refresh.

    ``table`` is case/entity/link/event/note/media/source; ``op`` created/updated/deleted/
    merged/unmerged/imported; ``ids`` the affected row ids; ``case_id`` when one case.
    """

    table: str
    op: str
    ids: tuple[int, ...]
    case_id: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> int:
        """The single affected id (for creations)."""
        return self.ids[0]


@dataclass(frozen=True)
class CaseInfo:
    id: int
    uid: str
    number: str
    title: str
    status: str
    agency: str | None
    lead_officer: str | None
    opened_at: str
    closed_at: str | None
    summary: str | None
    sharing: str
    shared_with: tuple[str, ...]
    timezone: str | None
    keep_local: bool
    entity_count: int = 0
    event_count: int = 0


@dataclass(frozen=True)
class EntityInfo:
    id: int
    uid: str
    case_id: int
    kind: str
    label: str
    key: str | None
    properties: Mapping[str, Any]
    merged_into: int | None
    source_id: int | None
    source_ref: str | None
    created_at: str
    keep_local: bool = False


@dataclass(frozen=True)
class LinkInfo:
    id: int
    uid: str
    case_id: int
    src_id: int
    dst_id: int
    kind: str
    confidence: float
    properties: Mapping[str, Any]
    source_id: int | None
    source_ref: str | None


@dataclass(frozen=True)
class PartyInfo:
    entity_id: int
    role: str
    kind: str
    label: str


@dataclass(frozen=True)
class EventInfo:
    id: int
    uid: str
    case_id: int
    kind: str
    ts_utc: int | None  # microseconds since the epoch, UTC
    utc_offset: int | None  # minutes east of UTC as stated by the source
    title: str
    body: str | None
    properties: Mapping[str, Any]
    source_id: int | None
    source_ref: str | None
    parties: tuple[PartyInfo, ...] = ()
    keep_local: bool = False

    @property
    def occurred_at(self) -> datetime | None:
        """The event time in its original offset (UTC when the source gave none)."""
        if self.ts_utc is None:
            return None
        utc = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=self.ts_utc)
        if self.utc_offset is None:
            return utc
        return utc.astimezone(timezone(timedelta(minutes=self.utc_offset)))


@dataclass(frozen=True)
class NoteInfo:
    id: int
    uid: str
    case_id: int
    target_type: str | None
    target_id: int | None
    body: str
    author: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class SourceInfo:
    id: int
    case_id: int | None
    file_name: str
    file_size: int
    sha256: str
    importer: str
    options: Mapping[str, Any]
    imported_by: str
    imported_at: str
    summary: Mapping[str, Any] | None


@dataclass(frozen=True)
class MergeInfo:
    id: int
    survivor_id: int
    merged_id: int
    justification: str
    actor: str
    merged_at: str
    undone_at: str | None


@dataclass(frozen=True)
class Counts:
    """Rows per table (live rows: tombstones not counted)."""

    values: Mapping[str, int]
