"""Typed settings of one officer profile, stored (encrypted) inside the case database."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from workstation.errors import UsageError

SCHEMA_VERSION = 1
MAX_AUTOLOCK_MINUTES = 30


@dataclass(frozen=True)
class Settings:
    """Officer-visible preferences. ``validated()`` enforces the limits (auto-lock ≤ 30 min)."""

    schema_version: int = SCHEMA_VERSION
    phone_region: str = "US"
    display_timezone: str = "UTC"
    autolock_minutes: int = 15
    hq_url: str = ""
    blur_thumbnails: bool = True
    greyscale_thumbnails: bool = True
    keep_full_card_numbers: bool = True
    officer_name: str = ""
    theme: str = "light"

    def validated(self) -> Settings:
        region = (self.phone_region or "").upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise UsageError(f"unknown phone region {self.phone_region!r} (use a two-letter code like US, GB, CA)")
        try:
            ZoneInfo(self.display_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"unknown timezone {self.display_timezone!r}") from None
        if not 1 <= int(self.autolock_minutes) <= MAX_AUTOLOCK_MINUTES:
            raise UsageError(f"auto-lock must be between 1 and {MAX_AUTOLOCK_MINUTES} minutes")
        if self.hq_url and not self.hq_url.startswith(("https://", "http://127.", "http://localhost")):
            raise UsageError("the HQ address must use https://")
        if self.theme not in ("light", "dark"):
            raise UsageError("theme must be light or dark")
        return replace(self, phone_region=region, autolock_minutes=int(self.autolock_minutes))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Settings:
        """Settings from stored JSON; unknown keys are dropped, missing ones defaulted,
        and out-of-range values (an old file, a hand edit) fall back to the default."""
        if not text:
            return cls()
        try:
            raw = json.loads(text)
        except ValueError:
            return cls()
        known = {f.name for f in fields(cls)}
        candidate = cls(**{k: v for k, v in raw.items() if k in known})
        try:
            return candidate.validated()
        except (UsageError, TypeError, ValueError):
            return cls()
