"""Discord channel exports written by DiscordChatExporter (JSON format).

Layout: ``{"guild": {...}, "channel": {...}, "dateRange": ..., "messages": [...],
"messageCount": N}``. Each message has ``id``, ``type`` ("Default", "Reply",
"GuildMemberJoin", "ChannelPinnedMessage"...), ``timestamp`` (ISO 8601 with offset),
``author`` {id, name, nickname, discriminator, isBot}, ``content``, ``attachments``,
``mentions``, ``reactions`` and ``reference``. Types other than ordinary user messages
are system events.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workstation.ingest.chat._common import (
    MAX_JSON_BYTES,
    account,
    as_list,
    group,
    guarded,
    guess_mime,
    json_keys_in_head,
    load_json,
    parse_iso,
    recipients_for,
    safe_relpath,
)
from workstation.ingest.records import (
    Attachment,
    ImportOptions,
    ParsedEvent,
    ParseError,
    Party,
    Record,
)

PLATFORM = "discord"

# Message types a person writes (string names, and Discord's numeric codes for exporters
# that keep them): default, reply, slash/context-menu commands, thread starter.
_USER_TYPES = frozenset({"default", "reply", "applicationcommand", "chatinputcommand",
                         "contextmenucommand", "threadstartermessage",
                         "0", "19", "20", "21", "23"})
_DIRECT_CHANNELS = frozenset({"directtextchat", "directgrouptextchat", "dm", "groupdm"})


def _author(raw: Any, role: str) -> Party | None:
    if not isinstance(raw, dict) or raw.get("id") in (None, ""):
        return None
    name = str(raw.get("name") or "")
    disc = str(raw.get("discriminator") or "")
    handle = f"{name}#{disc}" if disc and disc.strip("0") else name
    props: dict[str, Any] = {"username": handle} if handle else {}
    if raw.get("isBot"):
        props["bot"] = True
    label = raw.get("nickname") or name or None
    return account(str(raw["id"]), label, PLATFORM, role, props)


class DiscordJsonParser:
    """DiscordChatExporter JSON export of one channel or DM.

    Yields a ParsedEvent per message: "message" for user-written types (Default, Reply,
    commands), "system" for joins, pins, calls, renames and the rest. Times are aware.
    Raises ParseError for invalid JSON (with line and column), a missing ``messages``
    list or a file over ``max_bytes``.
    """

    name = "discord_json"
    label = "Discord export (DiscordChatExporter JSON)"

    def __init__(self, max_bytes: int = MAX_JSON_BYTES) -> None:
        self.max_bytes = max_bytes

    def sniff(self, path: Path, head: bytes) -> float:
        first, keys = json_keys_in_head(head)
        if first != "{":
            return 0.0
        if {"guild", "channel", "messages"} <= keys:
            return 0.95
        if "messages" in keys and {"author", "timestamp", "isBot"} <= keys:
            return 0.8
        return 0.0

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        data = load_json(path, max_bytes=self.max_bytes, encoding=options.encoding)
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            raise ParseError("not a DiscordChatExporter export: no 'messages' list", file=path)
        guild = data.get("guild") if isinstance(data.get("guild"), dict) else {}
        channel = data.get("channel") if isinstance(data.get("channel"), dict) else {}
        messages = [m for m in data["messages"] if isinstance(m, dict)]
        ch_type = str(channel.get("type") or "").lower()
        ch_name = channel.get("name")
        base: dict[str, Any] = {"channel": PLATFORM}
        if guild.get("name"):
            base["guild"] = guild["name"]
        if guild.get("id"):
            base["guild_id"] = str(guild["id"])
        if ch_name:
            base["conversation"] = f"#{ch_name}" if guild.get("name") and \
                ch_type not in _DIRECT_CHANNELS else ch_name
        if channel.get("id"):
            base["conversation_id"] = str(channel["id"])
        if channel.get("category"):
            base["category"] = channel["category"]

        members: dict[str, Party] = {}
        conv: Party | None = None
        if ch_type in _DIRECT_CHANNELS:
            for m in messages:
                a = _author(m.get("author"), "participant")
                if a is not None and a.value not in members:
                    members[a.value] = a
            if ch_type == "directgrouptextchat" or len(members) > 2:
                conv = group(str(channel.get("id") or ch_name), ch_name, PLATFORM)
        else:
            label = f"{guild.get('name')} #{ch_name}" if guild.get("name") else ch_name
            conv = group(str(channel.get("id") or ch_name), label, PLATFORM)

        for i, msg in enumerate(messages):
            ref = f"message {msg.get('id')}" if msg.get("id") else f"messages[{i}]"
            yield guarded(ref, lambda: self._event(msg, i, base, members, conv))

    @staticmethod
    def _event(msg: dict[str, Any], index: int, base: dict[str, Any],
               members: dict[str, Party], conv: Party | None) -> ParsedEvent:
        mid = msg.get("id")
        ref = f"message {mid}" if mid else f"messages[{index}]"
        mtype = str(msg.get("type") if msg.get("type") is not None else "Default")
        is_message = mtype.lower() in _USER_TYPES
        props: dict[str, Any] = dict(base)
        props["message_id"] = str(mid) if mid is not None else None
        props["message_type"] = mtype
        sender = _author(msg.get("author"), "sender" if is_message else "participant")
        parties: list[Party] = [sender] if sender else []
        body = msg.get("content") if isinstance(msg.get("content"), str) else None
        body = body or None
        occurred = parse_iso(msg.get("timestamp"))
        if not is_message:
            title = f"{sender.label if sender else 'someone'}: {mtype}"
            return ParsedEvent(kind="system", occurred_at=occurred, ref=ref, title=title,
                               body=body, parties=tuple(parties), properties=props)
        if conv is not None:
            parties.append(conv)
        else:
            parties.extend(recipients_for(sender.value if sender else None,
                                          members.values()))
        for mention in as_list(msg.get("mentions")):
            p = _author(mention, "mentioned")
            if p is not None:
                parties.append(p)
        attachments = []
        for att in as_list(msg.get("attachments")):
            if not isinstance(att, dict):
                continue
            name = str(att.get("fileName") or Path(str(att.get("url") or "file")).name)
            size = att.get("fileSizeBytes")
            attachments.append(Attachment(name=name, mime=guess_mime(name),
                                          size=size if isinstance(size, int) else None,
                                          path=safe_relpath(str(att.get("url") or ""))))
        if msg.get("timestampEdited"):
            edited = parse_iso(msg["timestampEdited"])
            props["edited_at"] = edited.isoformat() if edited else msg["timestampEdited"]
        if msg.get("isPinned"):
            props["pinned"] = True
        ref_obj = msg.get("reference")
        if isinstance(ref_obj, dict) and ref_obj.get("messageId"):
            props["reply_to_message_id"] = str(ref_obj["messageId"])
        reactions = []
        for r in as_list(msg.get("reactions")):
            if isinstance(r, dict):
                emoji = r.get("emoji") if isinstance(r.get("emoji"), dict) else {}
                reactions.append({"emoji": emoji.get("name"), "count": r.get("count")})
        if reactions:
            props["reactions"] = reactions
        embeds = [e.get("url") for e in as_list(msg.get("embeds"))
                  if isinstance(e, dict) and e.get("url")]
        if embeds:
            props["urls"] = embeds
        stickers = [s.get("name") for s in as_list(msg.get("stickers")) if isinstance(s, dict)]
        if stickers:
            props["stickers"] = stickers
        return ParsedEvent(kind="message", occurred_at=occurred, ref=ref, body=body,
                           parties=tuple(parties), attachments=tuple(attachments),
                           properties=props)
