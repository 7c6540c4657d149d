"""Slack workspace export (.zip, or the folder it unzips to): ``channels.json``, ``users.json`` and one folder per
conversation holding a JSON list of messages per day (``general/2023-04-13.json``).

Private channels (``groups.json``), direct messages (``dms.json``, folders named by the
DM id) and group DMs (``mpims.json``) appear in exports that include them. A message
carries ``user`` and usually an embedded ``user_profile``, the profile at the time of the
message; it wins over ``users.json``, which only lists current members. Subtypes such as
``channel_join`` are system events; a ``tombstone`` (a thread's first message deleted
after it had replies) is one marked ``deleted``. Bots are named by ``username`` or
``bot_profile``. Files a free plan no longer shows (``mode: hidden_by_limit``), that were
deleted (``tombstone``) or that the export cannot reach (``file_access: file_not_found`` /
``access_denied``) keep only an id: they are listed in
``properties["files_unavailable"]``, not recorded as attachments. Enterprise Grid exports
list their people in ``org_users.json`` (read like ``users.json``).

The zip is read in place through :class:`~workstation.ingest.chat.safezip.SafeZip`; an
unzipped export folder through :class:`SlackFolder`, which offers the same three calls
(``names``, ``read``, ``close``), so both are read by one code path and give the same
records. A folder's symbolic links are never followed and hidden files (``.DS_Store``) and
``__MACOSX/`` are not listed.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from workstation.ingest.chat._common import (
    SURROGATE_ESCAPE_BYTES,
    account,
    as_list,
    group,
    guarded,
    guess_mime,
    utc_from_unix,
    without_lone_surrogates,
)
from workstation.ingest.chat.safezip import MAX_TOTAL_BYTES, SafeZip
from workstation.ingest.records import (
    Attachment,
    ImportOptions,
    ParsedEntity,
    ParsedEvent,
    ParsedLink,
    ParseError,
    Party,
    Record,
    RowError,
)

PLATFORM = "slack"
_DAY_FILE = re.compile(r"^(?P<folder>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.json$")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_SYSTEM_SUBTYPES = frozenset({
    "channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
    "channel_archive", "channel_unarchive", "channel_convert_to_private",
    "channel_convert_to_public", "group_join", "group_leave", "group_topic",
    "group_purpose", "group_name", "group_archive", "group_unarchive", "pinned_item",
    "unpinned_item", "bot_add", "bot_remove", "bot_enable", "bot_disable",
    "app_conversation_join", "app_conversation_leave", "reminder_add", "sh_room_created",
    "huddle_thread", "tombstone", "joiner_notification", "slackbot_response",
    "channel_posting_permissions", "team_join",
})


def _layout(names: list[str]) -> tuple[str, set[str], list[tuple[str, str, str]]]:
    """(prefix, root file names, sorted (folder, day, member) day files) of an export.

    Exports zipped from their folder put everything under one top directory; the prefix
    is that directory ("" when the files are at the top).
    """
    prefix = ""
    listings = ("channels.json", "users.json", "org_users.json", "dms.json", "mpims.json",
                "groups.json")
    tops = sorted((n.count("/"), n) for n in names if n.rsplit("/", 1)[-1] in listings
                  and n.count("/") <= 1)
    if tops:
        prefix = tops[0][1].rsplit("/", 1)[0] + "/" if "/" in tops[0][1] else ""
    roots: set[str] = set()
    days: list[tuple[str, str, str]] = []
    for n in names:
        if not n.startswith(prefix):
            continue
        rel = n[len(prefix):]
        if "/" not in rel:
            roots.add(rel)
        elif (m := _DAY_FILE.match(rel)):
            days.append((m.group("folder"), m.group("day"), n))
    return prefix, roots, sorted(days)


class _Container(Protocol):
    """Where an export's files are read from: the zip (SafeZip) or the unzipped folder."""

    path: Path

    def names(self) -> list[str]: ...

    def read(self, name: str) -> bytes: ...

    def close(self) -> None: ...


#: How deep an export's files sit under the chosen folder: ``<top>/<channel>/<day>.json``.
_FOLDER_DEPTH = 3
_IGNORED_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini"})


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.lower() in _IGNORED_NAMES


class SlackFolder:
    """An unzipped Slack export, read like :class:`SafeZip`: ``names()`` are the regular
    files under ``root`` (forward slashes, at most three levels deep), never through a
    symbolic link, hidden and system files left out; ``read`` refuses a file over
    ``max_total`` bytes. Errors are ParseErrors naming the file."""

    member_word = "file"

    def __init__(self, root: Path, *, max_total: int = MAX_TOTAL_BYTES) -> None:
        self.path = Path(root)
        self.max_total = max_total
        self._names: list[str] | None = None
        self._known: frozenset[str] = frozenset()

    def names(self) -> list[str]:
        if self._names is None:
            found: list[str] = []
            for top, dirs, files in os.walk(self.path, followlinks=False):
                rel_top = Path(top).relative_to(self.path).as_posix()
                depth = 0 if rel_top == "." else rel_top.count("/") + 1
                dirs[:] = sorted(d for d in dirs if not _ignored(d) and depth + 1 < _FOLDER_DEPTH
                                 and not os.path.islink(os.path.join(top, d)))
                for name in sorted(files):
                    if _ignored(name) or os.path.islink(os.path.join(top, name)):
                        continue
                    found.append(name if rel_top == "." else f"{rel_top}/{name}")
            self._names = found
            self._known = frozenset(found)
        return list(self._names)

    def read(self, name: str) -> bytes:
        if self._names is None:
            self.names()
        if name not in self._known:
            raise ParseError("no such file in the export folder", file=self.path, ref=f"file {name!r}")
        full = self.path / name
        try:
            size = full.stat().st_size
            if size > self.max_total:
                raise ParseError(f"{size:,} bytes, over the {self.max_total:,}-byte limit",
                                 file=self.path, ref=f"file {name!r}")
            return full.read_bytes()
        except OSError as exc:
            raise ParseError(f"cannot read ({exc.strerror or exc})", file=self.path,
                             ref=f"file {name!r}") from None

    def close(self) -> None:
        pass

    def __enter__(self) -> SlackFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json(zf: _Container, name: str) -> Any:
    data = zf.read(name)
    word = getattr(zf, "member_word", "member")
    try:
        value = json.loads(data)
        return without_lone_surrogates(value) if SURROGATE_ESCAPE_BYTES.search(data) else value
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}", file=zf.path,
                         ref=f"{word} {name!r} line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise ParseError(f"undecodable bytes ({exc.reason})", file=zf.path,
                         ref=f"{word} {name!r}") from None


class SlackZipParser:
    """Slack workspace export: the zip, or the folder it unzips to (same records).

    Yields ParsedEntity records for the users in ``users.json`` (with their e-mail and
    phone linked ``uses``) and for channel membership (``member_of``), then one
    ParsedEvent per message object: "message", or "system" for joins, topic changes and
    other notices. ``ref`` is "<folder>/<day>.json message <ts>". A day file that is not
    valid JSON yields a RowError and the rest is read. Raises ParseError for a file that
    is not a zip, an unsafe archive (path traversal, symlink, zip bomb, over
    ``max_total`` bytes) or a zip or folder with no Slack layout.
    """

    name = "slack_zip"
    label = "Slack workspace export (.zip, or its unzipped folder)"

    def __init__(self, max_total: int = MAX_TOTAL_BYTES) -> None:
        self.max_total = max_total

    def sniff(self, path: Path, head: bytes) -> float:
        path = Path(path)
        if path.is_dir():
            # An unzipped export: its listings at the folder's own top (a folder holding
            # an export one level down is not itself the export; its sub-folder is).
            prefix, roots, days = _layout(SlackFolder(path).names())
            if prefix:
                return 0.0
        else:
            if not head.startswith(b"PK\x03\x04"):
                return 0.0
            try:
                with zipfile.ZipFile(path) as zf:
                    names = [n.replace("\\", "/") for n in zf.namelist()]
            except (zipfile.BadZipFile, OSError, ValueError):
                return 0.0
            prefix, roots, days = _layout(names)
        dated = bool(days)
        if dated and roots & {"channels.json", "users.json", "org_users.json"}:
            return 0.95
        if dated and roots & {"dms.json", "mpims.json", "groups.json", "integration_logs.json"}:
            return 0.9
        return 0.0

    def _open(self, path: Path) -> _Container:
        if path.is_dir():
            return SlackFolder(path, max_total=self.max_total)
        return SafeZip(path, max_total=self.max_total)

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        zf = self._open(path)
        try:
            prefix, roots, day_files = _layout(zf.names())
            if not day_files and not roots & {"channels.json", "users.json", "org_users.json"}:
                raise ParseError("not a Slack export: no channels.json, users.json or "
                                 "<channel>/<YYYY-MM-DD>.json files", file=path)
            users: dict[str, dict[str, Any]] = {}
            user_file: dict[str, str] = {}
            # Enterprise Grid exports list the organisation's people in org_users.json.
            for listing in ("org_users.json", "users.json"):
                if listing not in roots:
                    continue
                for u in as_list(_json(zf, prefix + listing)):
                    if isinstance(u, dict) and u.get("id"):
                        users[str(u["id"])] = u
                        user_file[str(u["id"])] = listing
            convs: dict[str, dict[str, Any]] = {}
            for listing, kind in (("channels.json", "channel"), ("groups.json", "private"),
                                  ("mpims.json", "mpim"), ("dms.json", "dm")):
                if listing not in roots:
                    continue
                for c in as_list(_json(zf, prefix + listing)):
                    if not isinstance(c, dict):
                        continue
                    folder = str(c.get("id") if kind == "dm" else c.get("name") or c.get("id"))
                    convs[folder] = {**c, "_kind": kind}
            yield from self._user_entities(users, user_file)
            yield from self._memberships(convs, users)
            for folder, day, name in day_files:
                yield from self._day(zf, folder, day, name, convs.get(folder), users)
        finally:
            zf.close()

    # ------------------------------------------------------------------ entities

    def _user_party(self, uid: str, users: dict[str, dict[str, Any]], role: str,
                    profile: dict[str, Any] | None = None) -> Party:
        u = users.get(uid, {})
        up: dict[str, Any] = u["profile"] if isinstance(u.get("profile"), dict) else {}
        prof = profile if isinstance(profile, dict) else {}
        label = (prof.get("real_name") or prof.get("display_name") or up.get("real_name")
                 or u.get("real_name") or up.get("display_name") or prof.get("name")
                 or u.get("name"))
        props: dict[str, Any] = {}
        username = prof.get("name") or u.get("name")
        if username:
            props["username"] = username
        display = prof.get("display_name") or up.get("display_name")
        if display:
            props["display_name"] = display
        if u.get("is_bot") or up.get("bot_id"):
            props["bot"] = True
        team = prof.get("team") or u.get("team_id")
        if team:
            props["team"] = team
        return account(uid, label, PLATFORM, role, props)

    def _user_entities(self, users: dict[str, dict[str, Any]],
                       user_file: dict[str, str]) -> Iterator[Record]:
        for uid, u in users.items():
            party = self._user_party(uid, users, "account_holder")
            up: dict[str, Any] = u["profile"] if isinstance(u.get("profile"), dict) else {}
            links = []
            if up.get("email"):
                links.append(ParsedLink("uses", party, Party(kind="email",
                                                             value=str(up["email"]))))
            if up.get("phone"):
                links.append(ParsedLink("uses", party, Party(kind="phone",
                                                             value=str(up["phone"]))))
            yield ParsedEntity(party=party, ref=f"{user_file.get(uid, 'users.json')} {uid}",
                               links=tuple(links))

    def _conv_party(self, folder: str, conv: dict[str, Any] | None) -> Party:
        if conv is None:
            return group(folder, f"#{folder}", PLATFORM)
        label = f"#{conv['name']}" if conv.get("name") and conv["_kind"] in (
            "channel", "private") else conv.get("name") or folder
        return group(str(conv.get("id") or folder), label, PLATFORM)

    def _memberships(self, convs: dict[str, dict[str, Any]],
                     users: dict[str, dict[str, Any]]) -> Iterator[Record]:
        for folder, conv in convs.items():
            if conv["_kind"] == "dm":
                continue
            gp = self._conv_party(folder, conv)
            for uid in as_list(conv.get("members")):
                member = self._user_party(str(uid), users, "participant")
                yield ParsedEntity(party=member, ref=f"{conv['_kind']}s.json {folder}",
                                   links=(ParsedLink("member_of", member, gp),))

    # ------------------------------------------------------------------ messages

    def _day(self, zf: _Container, folder: str, day: str, name: str,
             conv: dict[str, Any] | None, users: dict[str, dict[str, Any]],
             ) -> Iterator[Record]:
        try:
            messages = _json(zf, name)
        except ParseError as exc:
            yield RowError(ref=f"{name}", field=None, message=exc.message + (
                f" ({exc.ref})" if exc.ref else ""))
            return
        if not isinstance(messages, list):
            yield RowError(ref=name, field=None, message="a day file must hold a JSON list")
            return
        direct = conv is not None and conv["_kind"] == "dm"
        conv_party = None if direct else self._conv_party(folder, conv)
        base: dict[str, Any] = {"channel": PLATFORM, "conversation": conv_party.label
                                if conv_party else folder}
        if conv and conv.get("id"):
            base["conversation_id"] = str(conv["id"])
        for i, msg in enumerate(messages):
            if not isinstance(msg, dict):
                yield RowError(ref=f"{name} [{i}]", field=None, message="not a message object")
                continue
            ref = f"{name} message {msg.get('ts')}" if msg.get("ts") else f"{name} [{i}]"
            yield guarded(ref, lambda: self._event(msg, name, i, base, conv, conv_party, users))

    def _event(self, msg: dict[str, Any], name: str, index: int, base: dict[str, Any],
               conv: dict[str, Any] | None, conv_party: Party | None,
               users: dict[str, dict[str, Any]]) -> Record:
        ts = msg.get("ts")
        ref = f"{name} message {ts}" if ts else f"{name} [{index}]"
        occurred = utc_from_unix(ts)
        if occurred is None:
            return RowError(ref=ref, field="ts", message=f"missing or invalid timestamp {ts!r}")
        subtype = msg.get("subtype")
        props: dict[str, Any] = dict(base)
        if subtype:
            props["subtype"] = subtype
        uid = msg.get("user") or msg.get("bot_id")
        text = msg.get("text") if isinstance(msg.get("text"), str) else None
        system = subtype in _SYSTEM_SUBTYPES
        sender: Party | None = None
        if uid:
            sender = self._user_party(str(uid), users, "participant" if system else "sender",
                                      msg.get("user_profile"))
            bot: dict[str, Any] = msg["bot_profile"] \
                if isinstance(msg.get("bot_profile"), dict) else {}
            bot_name = msg.get("username") or bot.get("name")
            if not sender.label and isinstance(bot_name, str) and bot_name:
                sender = account(sender.value, bot_name, PLATFORM, sender.role,
                                 {**sender.properties, "bot": True} if bot else sender.properties)
        if subtype == "tombstone":
            props["deleted"] = True  # a thread's first message, deleted after replies
        if system:
            return ParsedEvent(kind="system", occurred_at=occurred, ref=ref,
                               title=text or str(subtype), body=text,
                               parties=(sender,) if sender else (), properties=props)
        parties: list[Party] = [sender] if sender else []
        if conv_party is not None:
            parties.append(conv_party)
        elif conv is not None:
            for member in as_list(conv.get("members")):
                if str(member) != uid:
                    parties.append(self._user_party(str(member), users, "recipient"))
        seen: set[str] = set()
        for mentioned in _MENTION.findall(text or ""):
            if mentioned not in seen:
                seen.add(mentioned)
                parties.append(self._user_party(mentioned, users, "mentioned"))
        files = list(as_list(msg.get("files")))
        if isinstance(msg.get("file"), dict):
            files.append(msg["file"])
        attachments = []
        unavailable: list[dict[str, Any]] = []
        for f in files:
            if not isinstance(f, dict):
                continue
            if f.get("mode") in ("hidden_by_limit", "tombstone"):
                # Only the file's id is left: beyond a free plan's history, or deleted.
                unavailable.append({"id": f.get("id"), "reason": f["mode"]})
                continue
            if f.get("file_access") in ("file_not_found", "access_denied") or (
                    f.get("mode") == "file_access" and not f.get("name")):
                # A stub for a file the exporting workspace cannot reach (deleted, or in
                # another organisation's Slack Connect channel).
                unavailable.append({"id": f.get("id"),
                                    "reason": f.get("file_access") or "file_access"})
                continue
            fname = str(f.get("name") or f.get("title") or f.get("id") or "file")
            size = f.get("size")
            attachments.append(Attachment(name=fname, mime=f.get("mimetype") or guess_mime(fname),
                                          size=size if isinstance(size, int) else None,
                                          path=f.get("url_private") or None))
        if unavailable:
            props["files_unavailable"] = unavailable
        if msg.get("thread_ts") and msg.get("thread_ts") != ts:
            props["thread_ts"] = msg["thread_ts"]
        if msg.get("reply_count"):
            props["reply_count"] = msg["reply_count"]
        if isinstance(msg.get("edited"), dict):
            edited = utc_from_unix(msg["edited"].get("ts"))
            props["edited_at"] = edited.isoformat() if edited else True
        reactions = [{"name": r.get("name"), "count": r.get("count"), "users": r.get("users")}
                     for r in as_list(msg.get("reactions")) if isinstance(r, dict)]
        if reactions:
            props["reactions"] = reactions
        if msg.get("client_msg_id"):
            props["client_msg_id"] = msg["client_msg_id"]
        return ParsedEvent(kind="message", occurred_at=occurred, ref=ref, body=text or None,
                           parties=tuple(parties), attachments=tuple(attachments),
                           properties=props)
