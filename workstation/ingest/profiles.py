"""Saved column-mapping profiles (like i2 import specifications), kept in the case database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from workstation import clock
from workstation.domain.service import Workstation
from workstation.errors import BadInput, NotFound
from workstation.ingest.tabular import BUILTIN_PROFILES, MappingProfile, ProfileError
from workstation.store import schema as s


@dataclass(frozen=True)
class ProfileInfo:
    name: str
    target: str
    label: str
    builtin: bool
    definition: dict[str, Any]


def save_profile(ws: Workstation, profile: MappingProfile | dict[str, Any]) -> ProfileInfo:
    """Create or replace a saved profile (validated first). Audited."""
    try:
        prof = profile if isinstance(profile, MappingProfile) else MappingProfile.from_dict(profile)
    except ProfileError as exc:
        raise BadInput(f"mapping profile: {exc}") from None
    data = prof.to_dict()
    now = clock.utcnow_iso()
    with ws.db.write() as conn:
        existing = conn.execute(select(s.mapping_profile.c.id).where(s.mapping_profile.c.name == prof.name)).first()
        if existing:
            conn.execute(update(s.mapping_profile).where(s.mapping_profile.c.id == existing[0]).values(
                target=prof.target, definition=data, updated_at=now))
        else:
            conn.execute(insert(s.mapping_profile).values(
                name=prof.name, target=prof.target, definition=data, created_at=now, updated_at=now))
        ws.audit.append(conn, "profile.save", "mapping_profile", prof.name, {"target": prof.target})
    return ProfileInfo(prof.name, prof.target, prof.label, False, data)


def list_profiles(ws: Workstation) -> list[ProfileInfo]:
    """Saved profiles first, then the built-in ones."""
    with ws.db.read() as conn:
        rows = conn.execute(select(s.mapping_profile).order_by(s.mapping_profile.c.name)).fetchall()
    out = []
    for r in rows:
        d = r.definition if isinstance(r.definition, dict) else json.loads(r.definition)
        out.append(ProfileInfo(r.name, r.target, d.get("label", ""), False, d))
    saved = {p.name for p in out}
    out += [ProfileInfo(p.name, p.target, p.label, True, p.to_dict())
            for p in BUILTIN_PROFILES.values() if p.name not in saved]
    return out


def get_profile(ws: Workstation, name: str) -> MappingProfile:
    for info in list_profiles(ws):
        if info.name == name:
            return MappingProfile.from_dict(info.definition)
    raise NotFound(f"no mapping profile named {name!r} (see `workstation profile list`)")
