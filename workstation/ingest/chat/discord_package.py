"""Discord's own data package ("Request all of my Data"): the .zip a user downloads from
Discord, or the folder it unpacks to (what is often found on a seized device).

Layout, in current and older packages (folder names are matched case-insensitively:
packages from 2024 on write ``Account/``, ``Messages/``...; a zip made from the folder may
put everything under one top folder):

* ``account/user.json``: the package owner (``id``, ``username``, ``discriminator``,
  ``global_name``, ``email``, ``phone``, ``ip``), the accounts on other platforms linked to
  it (``connections``: steam, xbox, twitch...), ``relationships`` (friends, blocked users,
  friend requests, each with the other user's id and name), ``notes`` the owner wrote
  about users, ``payment_sources`` and ``payments`` (card brand, last four digits,
  billing name and address; PayPal e-mail).
* ``messages/index.json``: channel id → name ("Direct Message with name#1234", "general
  in Some Server", "Unknown channel", null).
* ``messages/c<channel id>/`` (``messages/<channel id>/`` before 2022): ``channel.json``
  (``id``, ``type`` as a number in older packages and a name such as ``"DM"`` in newer
  ones, ``recipients`` of a DM, ``name``, ``guild {id, name}``) and the messages, either
  ``messages.json`` (2023 on: ``[{"ID", "Timestamp", "Contents", "Attachments"}]``) or
  ``messages.csv`` (older: ``ID,Timestamp,Contents,Attachments``; contents may span
  lines; timestamps such as ``2021-03-04 12:34:56.789000+00:00``). Attachments are
  space-separated CDN URLs. Times without an offset are UTC.
* ``servers/index.json``: server (guild) id → name.
* ``activity/<kind>/events-*.json``: one JSON object per line, gigabytes of them.

The package holds only the owner's own messages, so every message is sent by the owner:
one ``message`` event per row, to the DM's other recipient (an account), or to the
channel as a group party (guild channels, threads, group DMs). Everything else is
entities and links, not events: the owner (``uses`` e-mail, phone, IP), linked accounts
(``owns``), friends (``associate_of``) and other relationships (``related_to``), cards
(``uses``; the billing name ``holder_of`` the card, ``located_at`` the billing address),
servers (``member_of``) and the distinct IP addresses of the activity files with first and
last seen (``uses``). The activity files are streamed line by line and only the few
fields needed are picked out, never a whole file in memory.

The pipeline imports files, not folders: an unpacked package is imported through its
``messages/index.json`` (or ``account/user.json``, or the package's ``README.txt``); the
parser reads the whole package folder around it. :meth:`DiscordPackageParser.parse`
also takes the folder itself.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from workstation.ingest.chat._common import (
    MAX_JSON_BYTES,
    SURROGATE_ESCAPE_BYTES,
    JsonReader,
    account,
    as_list,
    group,
    guess_mime,
    safe_relpath,
    without_lone_surrogates,
)
from workstation.ingest.chat.safezip import SafeZip
from workstation.ingest.records import (
    Attachment,
    ImportOptions,
    Notice,
    ParsedEntity,
    ParsedEvent,
    ParsedLink,
    ParseError,
    Party,
    Record,
    RowError,
)

PLATFORM = "discord"
#: A package is streamed member by member, never extracted; its activity files alone run
#: to gigabytes, so the cap on the archive's expanded size is well above SafeZip's default
#: (the compression-ratio check still refuses zip bombs).
MAX_PACKAGE_BYTES = 64 * 1024**3
#: Distinct IP addresses kept from the activity files (a runaway file stops here).
MAX_ACTIVITY_IPS = 50_000
#: Payments listed on a card entity.
MAX_PAYMENTS_LISTED = 200
_LINE_CAP = 1 << 20  # an activity line longer than this is skipped, not held whole

# Paths inside the package, lower-cased, relative to its root.
_CHANNEL_FILE = re.compile(r"^messages/(c?)(\d{1,25})/(channel\.json|messages\.json|messages\.csv)$")
_CHANNEL_DIR = re.compile(r"^c?\d{1,25}$")
_ACTIVITY_FILE = re.compile(r"^activity/(?:[^/]+/)*events-[^/]*\.json$")
_MARKERS = re.compile(
    r"^(?P<prefix>(?:[^/]+/)?)(?:messages/(?:index\.json|c?\d{1,25}/(?:channel\.json|"
    r"messages\.json|messages\.csv))|account/user\.json)$")

_CHANNEL_TYPES = {0: "GUILD_TEXT", 1: "DM", 2: "GUILD_VOICE", 3: "GROUP_DM",
                  4: "GUILD_CATEGORY", 5: "GUILD_ANNOUNCEMENT", 10: "ANNOUNCEMENT_THREAD",
                  11: "PUBLIC_THREAD", 12: "PRIVATE_THREAD", 13: "GUILD_STAGE_VOICE",
                  14: "GUILD_DIRECTORY", 15: "GUILD_FORUM", 16: "GUILD_MEDIA"}
_RELATIONSHIPS = {1: "friend", 2: "blocked", 3: "incoming friend request",
                  4: "outgoing friend request", 5: "implicit"}
_DM_PREFIX = "Direct Message with "

_IP_RE = re.compile(rb'"ip"\s*:\s*"([0-9A-Fa-f:.]{3,45})"')
_TS_RE = re.compile(rb'"timestamp"\s*:\s*"(?:\\")?(\d{4}-\d{2}-\d{2}[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)')
_CITY_RE = re.compile(rb'"city"\s*:\s*"([^"\\]{1,80})"')
_COUNTRY_RE = re.compile(rb'"country_code"\s*:\s*"([A-Za-z]{2})"')


# ---------------------------------------------------------------------- the package

class _Package:
    """The package's files by lower-cased path relative to its root (zip or folder)."""

    def __init__(self, path: Path, files: dict[str, str]) -> None:
        self.path = path          # what the officer chose: the zip, the folder or a file in it
        self.files = files        # lower-cased relative path → the name to open

    def open(self, rel: str) -> IO[bytes]:
        raise NotImplementedError

    def read(self, rel: str) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def json(self, rel: str) -> Any:
        """A small JSON file decoded whole; ParseError naming the file in the package and
        the line and column of a syntax error."""
        data = self.read(rel)
        try:
            value = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise ParseError(f"undecodable bytes ({exc.reason}) at byte {exc.start}",
                             file=self.path, ref=self.name(rel)) from None
        except json.JSONDecodeError as exc:
            raise ParseError(f"invalid JSON: {exc.msg}", file=self.path,
                             ref=f"{self.name(rel)} line {exc.lineno} column {exc.colno}") from None
        return without_lone_surrogates(value) if SURROGATE_ESCAPE_BYTES.search(data) else value

    def name(self, rel: str) -> str:
        """The file as the package names it (its real case), for refs and messages."""
        return self.files.get(rel, rel)


class _ZipPackage(_Package):
    def __init__(self, path: Path, zf: SafeZip, prefix: str) -> None:
        files = {n[len(prefix):].lower(): n for n in zf.names()
                 if n.lower().startswith(prefix.lower()) and len(n) > len(prefix)}
        super().__init__(path, files)
        self.zf = zf
        self.prefix = prefix

    def name(self, rel: str) -> str:
        return self.files.get(rel, rel)[len(self.prefix):]

    def open(self, rel: str) -> IO[bytes]:
        return self.zf.open(self.files[rel])

    def read(self, rel: str) -> bytes:
        return self.zf.read(self.files[rel])

    def close(self) -> None:
        self.zf.close()


class _FolderPackage(_Package):
    def __init__(self, path: Path, root: Path) -> None:
        files: dict[str, str] = {}
        for top, dirs, names in os.walk(root, followlinks=False):
            rel_top = Path(top).relative_to(root).as_posix()
            for name in names:
                full = Path(top) / name
                if full.is_symlink():
                    continue  # never follow a link out of a suspect's folder
                rel = name if rel_top == "." else f"{rel_top}/{name}"
                files[rel.lower()] = rel
        super().__init__(path, files)
        self.root = root

    def open(self, rel: str) -> IO[bytes]:
        try:
            return (self.root / self.files[rel]).open("rb")
        except OSError as exc:
            raise ParseError(f"cannot read: {exc.strerror or exc}", file=self.path,
                             ref=self.name(rel)) from None

    def read(self, rel: str) -> bytes:
        full = self.root / self.files[rel]
        try:
            size = full.stat().st_size
            if size > MAX_JSON_BYTES:
                raise ParseError(f"{size:,} bytes, over the {MAX_JSON_BYTES:,}-byte limit",
                                 file=self.path, ref=self.name(rel))
            return full.read_bytes()
        except OSError as exc:
            raise ParseError(f"cannot read: {exc.strerror or exc}", file=self.path,
                             ref=self.name(rel)) from None


def _zip_prefix(names: list[str]) -> str | None:
    """The folder the package sits in inside a zip ("" at the top), or None when the
    names hold no Discord package."""
    prefixes = [m.group("prefix") for n in names if (m := _MARKERS.match(n.lower()))]
    if not prefixes:
        return None
    best = min(prefixes, key=len)
    # Keep the original case of the prefix (members are matched case-insensitively).
    for n in names:
        if n.lower().startswith(best):
            return n[:len(best)]
    return best


def _child(folder: Path, name: str) -> Path | None:
    """``folder/name`` matched case-insensitively, or None."""
    try:
        for entry in folder.iterdir():
            if entry.name.lower() == name and not entry.is_symlink():
                return entry
    except OSError:
        return None
    return None


def _is_root(folder: Path) -> bool:
    """Whether ``folder`` is an unpacked package: its channel index beside at least one
    channel folder, or the owner's account file."""
    messages = _child(folder, "messages")
    if messages is not None and messages.is_dir() and _child(messages, "index.json"):
        try:
            if any(_CHANNEL_DIR.match(p.name.lower()) and p.is_dir() and not p.is_symlink()
                   for p in messages.iterdir()):
                return True
        except OSError:
            pass
    account_dir = _child(folder, "account")
    return account_dir is not None and account_dir.is_dir() and \
        _child(account_dir, "user.json") is not None


def _folder_root(path: Path) -> Path | None:
    """The package folder for ``path``: the folder itself (or the single package folder in
    it), or, for a file, the nearest folder above it holding ``messages/index.json`` or
    ``account/user.json``."""
    if path.is_dir():
        if _is_root(path):
            return path
        subs = [p for p in path.iterdir() if p.is_dir() and not p.is_symlink() and _is_root(p)]
        return subs[0] if len(subs) == 1 else None
    for folder in list(path.parents)[:3]:
        if _is_root(folder):
            return folder
    return None


def _entry_file_score(path: Path, head: bytes) -> float:
    """How sure we are that ``path`` is the entry file of an unpacked package."""
    name = path.name.lower()
    parent = path.parent.name.lower()
    if name == "index.json" and parent == "messages":
        root = path.parent.parent
    elif name == "user.json" and parent == "account":
        root = path.parent.parent
    elif name == "readme.txt" and b"discord data package" in head.lower():
        root = path.parent
    else:
        return 0.0
    return 0.95 if _is_root(root) and _child(root, "messages") is not None else 0.0


# ---------------------------------------------------------------------- small readers

def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else (str(value) if isinstance(value, int) else "")


def _when(value: Any) -> datetime | None:
    """A package timestamp as an aware datetime (UTC when it states no offset)."""
    text = _text(value).strip('"')
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _handle(user: dict[str, Any]) -> str:
    """"name" for the new unique usernames, "name#1234" for the old ones."""
    name = _text(user.get("username"))
    disc = _text(user.get("discriminator"))
    if not name or not disc.strip("0"):
        return name
    return f"{name}#{int(disc):04d}" if disc.isdigit() else f"{name}#{disc}"


def _attachments(value: Any) -> tuple[Attachment, ...]:
    out = []
    for url in _text(value).split():
        where = safe_relpath(url)
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) if where else ""
        name = name or url.rsplit("/", 1)[-1] or url
        out.append(Attachment(name=name, mime=guess_mime(name), path=where))
    return tuple(out)


def _channel_type(raw: Any) -> str:
    if isinstance(raw, bool):
        return ""
    if isinstance(raw, int):
        return _CHANNEL_TYPES.get(raw, str(raw))
    text = _text(raw).upper()
    if text.isdigit():
        return _CHANNEL_TYPES.get(int(text), text)
    return text


def _money(cents: Any) -> str | None:
    if isinstance(cents, bool) or not isinstance(cents, (int, str)):
        return None
    try:
        return str((Decimal(str(cents)) / 100).quantize(Decimal("0.01")))
    except (InvalidOperation, ValueError):
        return None


@dataclass
class _Seen:
    """What the activity files tell about one IP address."""

    first: str
    last: str
    events: int = 0
    cities: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- the parser

class DiscordPackageParser:
    """Discord data package ("Request all of my Data"), as a .zip or unpacked.

    Yields ParsedEntity records for the owner and what ``account/user.json`` links to it,
    then one ``message`` ParsedEvent per message (sender: the owner), channel by channel,
    then the activity files' IP addresses. ``ref`` is "<file in the package> message
    <id>". A messages file that cannot be read to its end (cut short, a broken CSV quote)
    yields a RowError naming the file and the row, after the rows before it. Raises
    ParseError for an unsafe or unreadable zip (path traversal, symlink, zip bomb), a zip
    or folder that holds no Discord package, or an unreadable ``account/user.json`` or
    ``messages/index.json``.
    """

    name = "discord_package"
    label = "Discord data package (Request all of my Data: .zip, or its messages/index.json)"

    def __init__(self, max_total: int = MAX_PACKAGE_BYTES) -> None:
        self.max_total = max_total

    # ------------------------------------------------------------------ detection

    def sniff(self, path: Path, head: bytes) -> float:
        path = Path(path)
        if not head.startswith(b"PK\x03\x04"):
            return _entry_file_score(path, head)
        import zipfile

        try:
            with zipfile.ZipFile(path) as zf:
                names = [n.replace("\\", "/") for n in zf.namelist()]
        except (zipfile.BadZipFile, OSError, ValueError):
            return 0.0
        prefix = _zip_prefix(names)
        if prefix is None:
            return 0.0
        lower = {n.lower()[len(prefix):] for n in names}
        if "messages/index.json" in lower or "account/user.json" in lower:
            return 0.95
        return 0.9

    def folder_root(self, path: Path) -> Path | None:
        """The package folder this parser reads when given ``path`` (the folder itself,
        the one package folder inside it, or the folder above an entry file such as
        ``messages/index.json``); None when ``path`` is not in an unpacked package, such
        as a package zip, which is read on its own."""
        return _folder_root(Path(path))

    def _open(self, path: Path) -> _Package:
        is_zip = False
        if path.is_file():
            try:
                with path.open("rb") as fh:
                    is_zip = fh.read(4) == b"PK\x03\x04"
            except OSError as exc:
                raise ParseError(f"cannot read file: {exc.strerror or exc}", file=path) from None
        if is_zip or path.suffix.lower() == ".zip":
            try:
                zf = SafeZip(path, max_total=self.max_total)
            except IndexError:  # SafeZip trips over a member with an empty name
                raise ParseError("not a readable ZIP archive (a member has an empty name)",
                                 file=path) from None
            prefix = _zip_prefix(zf.names())
            if prefix is None:
                zf.close()
                raise ParseError("not a Discord data package: the zip holds no "
                                 "messages/index.json, messages/c<channel id>/ folders or "
                                 "account/user.json", file=path)
            return _ZipPackage(path, zf, prefix)
        root = _folder_root(path) if path.exists() else None
        if root is None:
            raise ParseError("not a Discord data package: no messages/index.json or "
                             "account/user.json in the package folder", file=path)
        return _FolderPackage(path, root)

    # ------------------------------------------------------------------ reading

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        pkg = self._open(Path(path))
        try:
            yield from _Reader(pkg, options).records()
        finally:
            pkg.close()


class _Reader:
    """One pass over one package."""

    def __init__(self, pkg: _Package, options: ImportOptions) -> None:
        self.pkg = pkg
        self.options = options
        self.users: dict[str, Party] = {}    # discord user id → the party used for them
        self.notes: dict[str, str] = {}
        self.owner_id: str | None = None
        self.owner: Party | None = None      # as the sender of messages
        self.guilds: dict[str, str] = {}     # guild id → name
        self.guild_parties: dict[str, Party] = {}

    # --- users

    def user(self, uid: str, raw: dict[str, Any] | None = None, role: str = "recipient",
             extra: dict[str, Any] | None = None) -> Party:
        """The account of Discord user ``uid``: the same label and properties wherever it
        appears in the package (so the pipeline resolves it once)."""
        known = self.users.get(uid)
        if known is None:
            raw = raw or {}
            handle = _handle(raw)
            props: dict[str, Any] = {"username": handle} if handle else {}
            if raw.get("bot"):
                props["bot"] = True
            if uid in self.notes:
                props["owner_note"] = self.notes[uid]
            props.update(extra or {})
            label = _text(raw.get("global_name")) or _text(raw.get("username")) or None
            known = account(uid, label, PLATFORM, role, props)
            self.users[uid] = known
        if known.role != role:
            known = Party(kind=known.kind, value=known.value, role=role, label=known.label,
                          platform=known.platform, properties=known.properties)
        return known

    # --- account/user.json

    def records(self) -> Iterator[Record]:
        pkg = self.pkg
        files = pkg.files
        user: dict[str, Any] = {}
        if "account/user.json" in files:
            loaded = pkg.json("account/user.json")
            if not isinstance(loaded, dict):
                raise ParseError("the account file must hold a JSON object", file=pkg.path,
                                 ref=pkg.name("account/user.json"))
            user = loaded
        index: dict[str, Any] = {}
        if "messages/index.json" in files:
            loaded = pkg.json("messages/index.json")
            if not isinstance(loaded, dict):
                raise ParseError("the channel index must map channel ids to names",
                                 file=pkg.path, ref=pkg.name("messages/index.json"))
            index = loaded
        channels: dict[str, dict[str, str]] = {}
        for rel in files:
            if (m := _CHANNEL_FILE.match(rel)):
                channels.setdefault(m.group(2), {})[m.group(3)] = rel
        self.notes = {str(k): v for k, v in user.get("notes", {}).items()
                      if isinstance(v, str) and v} if isinstance(user.get("notes"), dict) else {}
        yield from self._owner(user, channels)
        if user:
            yield from self._connections(user)
            yield from self._relationships(user)
            yield from self._payments(user)
        yield from self._servers()
        for cid in sorted(channels, key=lambda c: (len(c), c)):
            yield from self._channel(cid, channels[cid], index)
        yield from self._activity()

    def _owner(self, user: dict[str, Any], channels: dict[str, dict[str, str]]) -> Iterator[Record]:
        ref = self.pkg.name("account/user.json")
        uid = _text(user.get("id"))
        if not uid and self.options.owner:
            uid = self.options.owner.strip()
            yield Notice(ref="package", message=f"no account/user.json: messages are "
                         f"attributed to the owner given for the import ({uid})")
        if not uid:
            uid = self._owner_from_dms(channels) or ""
            if uid:
                yield Notice(ref="package", message="no account/user.json: the owner is the "
                             f"user {uid}, the one recipient every direct message has in common")
        if not uid:
            yield Notice(ref="package", message="no account/user.json and no owner given: "
                         "the messages have no sender")
            return
        self.owner_id = uid
        extra: dict[str, Any] = {"package_owner": True}
        for key in ("verified", "has_mobile", "premium_until", "locale"):
            if user.get(key) not in (None, ""):
                extra[key] = user[key]
        owner = self.user(uid, user, "account_holder", extra)
        self.owner = self.user(uid, user, "sender")
        links = []
        for kind, key in (("email", "email"), ("phone", "phone"), ("ip", "ip")):
            value = _text(user.get(key))
            if value:
                links.append(ParsedLink("uses", owner, Party(kind=kind, value=value,
                                                             role="participant")))
        yield ParsedEntity(party=owner, ref=ref if user else "package", links=tuple(links))

    def _owner_from_dms(self, channels: dict[str, dict[str, str]]) -> str | None:
        common: set[str] | None = None
        for files in channels.values():
            rel = files.get("channel.json")
            if rel is None:
                continue
            try:
                data = self.pkg.json(rel)
            except ParseError:
                continue
            if not isinstance(data, dict) or _channel_type(data.get("type")) != "DM":
                continue
            ids = {self._id(r) for r in as_list(data.get("recipients"))} - {""}
            common = ids if common is None else common & ids
        return next(iter(common)) if common and len(common) == 1 else None

    @staticmethod
    def _id(raw: Any) -> str:
        return _text(raw.get("id")) if isinstance(raw, dict) else _text(raw)

    def _connections(self, user: dict[str, Any]) -> Iterator[Record]:
        owner = self.users.get(self.owner_id or "")
        ref = self.pkg.name("account/user.json")
        for i, conn in enumerate(as_list(user.get("connections"))):
            if not isinstance(conn, dict):
                continue
            platform = _text(conn.get("type")).lower() or "unknown"
            value = _text(conn.get("id")) or _text(conn.get("name"))
            if not value:
                continue
            props: dict[str, Any] = {"linked_to": "discord account"}
            for key in ("name", "verified", "revoked", "visibility", "friend_sync"):
                if conn.get(key) not in (None, ""):
                    props[key] = conn[key]
            party = account(value, _text(conn.get("name")) or None, platform, "participant", props)
            yield ParsedEntity(party=party, ref=f"{ref} connections[{i}]",
                               links=(ParsedLink("owns", owner, party),) if owner else ())

    def _relationships(self, user: dict[str, Any]) -> Iterator[Record]:
        owner = self.users.get(self.owner_id or "")
        ref = self.pkg.name("account/user.json")
        seen: set[str] = set()
        for i, rel in enumerate(as_list(user.get("relationships"))):
            if not isinstance(rel, dict):
                continue
            raw = rel["user"] if isinstance(rel.get("user"), dict) else {}
            uid = _text(raw.get("id")) or _text(rel.get("id"))
            if not uid or uid == self.owner_id:
                continue
            rtype = rel.get("type")
            kind = _RELATIONSHIPS.get(rtype, f"relationship type {rtype}") \
                if isinstance(rtype, int) else _text(rtype).lower() or "unknown"
            extra: dict[str, Any] = {"relationship": kind}
            if _text(rel.get("nickname")):
                extra["nickname_by_owner"] = _text(rel.get("nickname"))
            party = self.user(uid, raw, "participant", extra)
            seen.add(uid)
            link = "associate_of" if kind == "friend" else "related_to"
            yield ParsedEntity(party=party, ref=f"{ref} relationships[{i}]",
                               links=(ParsedLink(link, owner, party),) if owner else ())
        for uid in self.notes:
            if uid not in seen and uid != self.owner_id:
                party = self.user(uid, None, "participant")
                yield ParsedEntity(party=party, ref=f"{ref} notes",
                                   links=(ParsedLink("related_to", owner, party),) if owner else ())

    def _payments(self, user: dict[str, Any]) -> Iterator[Record]:
        owner = self.users.get(self.owner_id or "")
        ref = self.pkg.name("account/user.json")
        sources: dict[str, tuple[str, dict[str, Any]]] = {}
        listed: dict[str, list[dict[str, Any]]] = {}
        for i, src in enumerate(as_list(user.get("payment_sources"))):
            if isinstance(src, dict):
                key = _text(src.get("id")) or f"payment_sources[{i}]"
                sources.setdefault(key, (f"{ref} payment_sources[{i}]", src))
        for i, pay in enumerate(as_list(user.get("payments"))):
            if not isinstance(pay, dict):
                continue
            src = pay.get("payment_source")
            if not isinstance(src, dict):
                continue
            key = _text(src.get("id")) or f"payments[{i}]"
            sources.setdefault(key, (f"{ref} payments[{i}]", src))
            entry = {k: v for k, v in (
                ("at", _text(pay.get("created_at"))), ("amount", _money(pay.get("amount"))),
                ("currency", _text(pay.get("currency")).upper()),
                ("description", _text(pay.get("description"))),
                ("status", pay.get("status"))) if v not in (None, "")}
            listed.setdefault(key, []).append(entry)
        for key, (where, src) in sources.items():
            yield from self._payment_source(key, where, src, listed.get(key, []), owner)

    def _payment_source(self, key: str, where: str, src: dict[str, Any],
                        payments: list[dict[str, Any]], owner: Party | None) -> Iterator[Record]:
        addr = src["billing_address"] if isinstance(src.get("billing_address"), dict) else {}
        holder_name = _text(addr.get("name"))
        address = ", ".join(p for p in (
            _text(addr.get("line_1")), _text(addr.get("line_2")), _text(addr.get("city")),
            " ".join(p for p in (_text(addr.get("state")), _text(addr.get("postal_code"))) if p),
            _text(addr.get("country"))) if p)
        last4 = re.sub(r"\D", "", _text(src.get("last_4")))[-4:]
        email = _text(src.get("email"))
        props: dict[str, Any] = {"payment_source_id": key}
        if payments:
            props["payments"] = payments[:MAX_PAYMENTS_LISTED]
            props["payment_count"] = len(payments)
        if holder_name:
            props["billing_name"] = holder_name
        if address:
            props["billing_address"] = address
        if _text(src.get("country")):
            props["country"] = _text(src.get("country"))
        if src.get("invalid"):
            props["invalid"] = True
        if len(last4) == 4:
            brand = _text(src.get("brand"))
            if brand:
                props["brand"] = brand
            month, year = src.get("expires_month"), src.get("expires_year")
            if isinstance(month, int) and isinstance(year, int):
                props["expires"] = f"{month:02d}/{year}"
            label = f"{brand.title()} •••• {last4}" if brand else None
            party = Party(kind="card", value=f"last4:{last4}", role="payment_card", label=label,
                          properties=props)
        elif email:
            props["payment_method"] = "paypal" if src.get("type") == 2 else \
                f"payment source type {src.get('type')}"
            party = Party(kind="email", value=email, role="participant", properties=props)
        else:
            return
        links = [ParsedLink("uses", owner, party)] if owner else []
        if holder_name:
            person = Party(kind="person", value=holder_name, role="cardholder")
            links.append(ParsedLink("holder_of", person, party))
            if address:
                links.append(ParsedLink("located_at", person, Party(kind="address", value=address)))
        yield ParsedEntity(party=party, ref=where, links=tuple(links))

    # --- servers

    def _guild(self, gid: str, name: str | None) -> Party:
        party = self.guild_parties.get(gid)
        if party is None:
            label = name or self.guilds.get(gid) or f"server {gid}"
            party = Party(kind="group", value=f"guild:{gid}", role="participant", label=label,
                          platform=PLATFORM, properties={"guild_id": gid, "group_type": "server"})
            self.guild_parties[gid] = party
        return party

    def _servers(self) -> Iterator[Record]:
        if "servers/index.json" not in self.pkg.files:
            return
        rel = "servers/index.json"
        try:
            index = self.pkg.json(rel)
        except ParseError as exc:
            yield RowError(ref=self.pkg.name(rel), field=None,
                           message=f"{exc.message} ({exc.ref})")
            return
        if not isinstance(index, dict):
            yield RowError(ref=self.pkg.name(rel), field=None,
                           message="the server index must map server ids to names")
            return
        self.guilds = {str(k): v for k, v in index.items() if isinstance(v, str)}
        owner = self.users.get(self.owner_id or "")
        for gid, name in self.guilds.items():
            party = self._guild(gid, name)
            yield ParsedEntity(party=party, ref=f"{self.pkg.name(rel)} {gid}",
                               links=(ParsedLink("member_of", owner, party),) if owner else ())

    # --- messages

    def _channel(self, folder_id: str, files: dict[str, str],
                 index: dict[str, Any]) -> Iterator[Record]:
        pkg = self.pkg
        info: dict[str, Any] = {}
        if "channel.json" in files:
            try:
                loaded = pkg.json(files["channel.json"])
            except ParseError as exc:
                yield RowError(ref=pkg.name(files["channel.json"]), field=None,
                               message=f"{exc.message} ({exc.ref})")
                loaded = {}
            info = loaded if isinstance(loaded, dict) else {}
        cid = _text(info.get("id")) or folder_id
        indexed = index.get(cid, index.get(folder_id))
        index_name = indexed.strip() if isinstance(indexed, str) and indexed.strip() not in (
            "", "None") else None
        ctype = _channel_type(info.get("type"))
        guild = info["guild"] if isinstance(info.get("guild"), dict) else {}
        gid, gname = _text(guild.get("id")), _text(guild.get("name"))
        gname = gname or (self.guilds.get(gid, "") if gid else "")
        cname = _text(info.get("name"))
        recipients = [r for r in (self._id(x) for x in as_list(info.get("recipients"))) if r]
        direct = ctype == "DM" or (not ctype and not gid and (
            len(recipients) == 2 or (index_name or "").startswith(_DM_PREFIX)))

        base: dict[str, Any] = {"channel": PLATFORM, "export_format": "data_package",
                                "conversation_id": cid}
        if ctype:
            base["channel_type"] = ctype
        if gid:
            base["guild_id"] = gid
        if gname:
            base["guild"] = gname
        to: list[Party] = []
        if direct:
            base["conversation"] = index_name or f"Direct Message {cid}"
            for uid in recipients:
                if uid != self.owner_id:
                    to.append(self.user(uid))
            if not to and index_name and index_name.startswith(_DM_PREFIX):
                handle = re.sub(r"#0{1,4}$", "", index_name[len(_DM_PREFIX):].strip())
                if handle:
                    to.append(account(handle, handle, PLATFORM, "recipient", {
                        "username": handle,
                        "identified_by": "user name (no user id in this package)"}))
        else:
            if ctype == "GROUP_DM":
                label = cname or index_name or f"Group DM {cid}"
                base["conversation"] = label
            else:
                base["conversation"] = f"#{cname}" if cname else (index_name or f"channel {cid}")
                label = f"{gname} #{cname}" if gname and cname else (
                    f"#{cname}" if cname else index_name or f"channel {cid}")
            conv = group(cid, label, PLATFORM)
            to.append(conv)
            yield from self._memberships(cid, conv, recipients, gid, gname, files)
        parties = tuple([self.owner, *to] if self.owner else to)
        if "messages.json" in files:
            yield from self._json_messages(files["messages.json"], base, parties)
        elif "messages.csv" in files:
            yield from self._csv_messages(files["messages.csv"], base, parties)

    def _memberships(self, cid: str, conv: Party, recipients: list[str], gid: str,
                     gname: str, files: dict[str, str]) -> Iterator[Record]:
        ref = self.pkg.name(files.get("channel.json") or files.get("messages.json")
                            or files.get("messages.csv") or f"messages/c{cid}")
        members = [self.user(uid, None, "participant") for uid in recipients
                   if uid != self.owner_id]
        if self.owner is not None:
            members.append(self.users[self.owner_id or ""])
        for member in members:
            yield ParsedEntity(party=member, ref=ref, links=(ParsedLink("member_of", member, conv),))
        if gid:
            guild = self._guild(gid, gname or None)
            yield ParsedEntity(party=conv, ref=ref, links=(ParsedLink("member_of", conv, guild),))

    def _event(self, ref: str, mid: str, stamp: Any, contents: Any, attachments: Any,
               base: dict[str, Any], parties: tuple[Party, ...]) -> Record:
        if not mid:
            return RowError(ref=ref, field="ID", message="no message id")
        occurred = _when(stamp)
        if occurred is None:
            return RowError(ref=ref, field="Timestamp",
                            message=f"missing or unreadable timestamp {_text(stamp)!r}")
        props = dict(base)
        props["message_id"] = mid
        body = contents if isinstance(contents, str) else (
            None if contents is None else str(contents))
        return ParsedEvent(kind="message", occurred_at=occurred, ref=ref, body=body or None,
                           parties=parties, attachments=_attachments(attachments),
                           properties=props)

    def _json_messages(self, rel: str, base: dict[str, Any],
                       parties: tuple[Party, ...]) -> Iterator[Record]:
        name = self.pkg.name(rel)
        number = 0
        with self.pkg.open(rel) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            reader = JsonReader(text, Path(name))
            try:
                if reader.peek() != "[":
                    yield RowError(ref=name, field=None,
                                   message="expected a JSON list of messages" if reader.peek()
                                   else "the file is empty")
                    return
                for _ in reader.items():
                    number += 1
                    msg = reader.value()
                    if not isinstance(msg, dict):
                        yield RowError(ref=f"{name} message [{number}]", field=None,
                                       message="not a message object")
                        continue
                    mid = _text(msg.get("ID", msg.get("id")))
                    ref = f"{name} message {mid}" if mid else f"{name} message [{number}]"
                    yield self._event(ref, mid, msg.get("Timestamp", msg.get("timestamp")),
                                      msg.get("Contents", msg.get("contents")),
                                      msg.get("Attachments", msg.get("attachments")),
                                      base, parties)
                reader.end()
            except ParseError as exc:
                where = f" at {exc.ref}" if exc.ref else ""
                yield RowError(ref=f"{name} message [{max(number, 1)}]", field=None,
                               message=f"{exc.message}{where}: the file is damaged or cut "
                                       "short; the messages from here on could not be read")
            except UnicodeDecodeError as exc:
                yield RowError(ref=f"{name} message [{max(number, 1)}]", field=None,
                               message=f"undecodable bytes ({exc.reason}); the messages from "
                                       "here on could not be read")

    def _csv_messages(self, rel: str, base: dict[str, Any],
                      parties: tuple[Party, ...]) -> Iterator[Record]:
        name = self.pkg.name(rel)
        with self.pkg.open(rel) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            reader = csv.reader(text, strict=True)
            row_no, end = 0, 0
            try:
                header = next(reader, None)
                if header is None:
                    return  # an empty file: no messages
                header = [h.strip().lower() for h in header]
                while header and not header[-1]:
                    header.pop()  # a trailing comma after the last column
                if "id" not in header or "timestamp" not in header:
                    yield RowError(ref=f"{name} line 1", field=None,
                                   message=f"unexpected header {','.join(header)!r} (expected "
                                           "ID,Timestamp,Contents,Attachments)")
                    return
                end = reader.line_num
                while True:
                    start = end + 1
                    row = next(reader, None)
                    if row is None:
                        break
                    end = reader.line_num
                    row_no += 1
                    if not any(cell.strip() for cell in row):
                        continue
                    rec = dict(zip(header, row))
                    mid = rec.get("id", "").strip()
                    ref = f"{name} message {mid}" if mid else f"{name} row {row_no} (line {start})"
                    yield self._event(ref, mid, rec.get("timestamp"), rec.get("contents"),
                                      rec.get("attachments"), base, parties)
            except csv.Error as exc:
                yield RowError(ref=f"{name} row {row_no + 1} (line {end + 1})", field=None,
                               message=f"unreadable CSV ({exc}), often a quote that is never "
                                       "closed; the rows from here on could not be read")
            except UnicodeDecodeError as exc:
                yield RowError(ref=f"{name} row {row_no + 1} (line {end + 1})", field=None,
                               message=f"undecodable bytes ({exc.reason}); the rows from here "
                                       "on could not be read")

    # --- activity

    def _activity(self) -> Iterator[Record]:
        owner = self.users.get(self.owner_id or "")
        seen: dict[str, _Seen] = {}
        where: dict[str, str] = {}
        capped = False
        for rel in sorted(r for r in self.pkg.files if _ACTIVITY_FILE.match(r)):
            name = self.pkg.name(rel)
            with self.pkg.open(rel) as fh:
                skipping = False
                while True:
                    line = fh.readline(_LINE_CAP)
                    if not line:
                        break
                    long_line = not line.endswith(b"\n") and len(line) >= _LINE_CAP
                    if skipping or long_line:
                        skipping = long_line  # drop the rest of an over-long line
                        continue
                    if b'"ip"' not in line:
                        continue
                    m = _IP_RE.search(line)
                    if m is None:
                        continue
                    try:
                        ip = str(ipaddress.ip_address(m.group(1).decode("ascii")))
                    except ValueError:
                        continue
                    t = _TS_RE.search(line)
                    stamp = t.group(1).decode("ascii").replace(" ", "T") if t else ""
                    entry = seen.get(ip)
                    if entry is None:
                        if len(seen) >= MAX_ACTIVITY_IPS:
                            capped = True
                            continue
                        entry = seen[ip] = _Seen(stamp, stamp)
                        where[ip] = name
                    entry.events += 1
                    if stamp:
                        if not entry.first or stamp < entry.first:
                            entry.first = stamp
                        if stamp > entry.last:
                            entry.last = stamp
                    c = _CITY_RE.search(line)
                    if c and len(entry.cities) < 10:
                        city = c.group(1).decode("utf-8", "replace")
                        if city not in entry.cities:
                            entry.cities.append(city)
                    k = _COUNTRY_RE.search(line)
                    if k and len(entry.countries) < 10:
                        country = k.group(1).decode("ascii").upper()
                        if country not in entry.countries:
                            entry.countries.append(country)
        for ip, entry in seen.items():
            props: dict[str, Any] = {"activity_events": entry.events}
            if entry.first:
                props["first_seen"] = entry.first
                props["last_seen"] = entry.last
            if entry.cities:
                props["cities"] = entry.cities
            if entry.countries:
                props["countries"] = entry.countries
            party = Party(kind="ip", value=ip, role="participant", properties=props)
            yield ParsedEntity(party=party, ref=f"{where[ip]} ip {ip}",
                               links=(ParsedLink("uses", owner, party),) if owner else ())
        if capped:
            yield Notice(ref="activity", message=f"more than {MAX_ACTIVITY_IPS:,} distinct IP "
                         "addresses in the activity files: only the first were kept")
