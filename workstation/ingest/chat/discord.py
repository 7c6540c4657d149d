"""Discord channel exports written by DiscordChatExporter (JSON, and its CSV).

JSON layout: ``{"guild": {...}, "channel": {...}, "dateRange": ..., "exportedAt": ...,
"messages": [...], "messageCount": N}``. Each message has ``id``, ``type`` ("Default",
"Reply", "GuildMemberJoin", "ChannelPinnedMessage", "RecipientAdd", "Call"... or a
number for kinds the exporter has no name for), ``timestamp`` (ISO 8601 with offset, with
or without fractional seconds), ``timestampEdited``, ``callEndedTimestamp``, ``author``
{id, name, discriminator ("0000" for the new unique usernames), nickname, isBot},
``content`` (for system kinds a fallback sentence such as "Joined the server."),
``attachments`` {url, fileName, fileSizeBytes}, ``embeds``, ``stickers``, ``reactions``
(with the reacting ``users`` in newer versions), ``mentions``, ``reference``,
``interaction`` and ``forwardedMessage``. Direct messages are exported under the pseudo
guild "Direct Messages" (id 0). A busy channel's export runs to gigabytes, so the JSON is
streamed in two passes: the first reads the small top-level fields wherever they sit,
collects the authors (a DM's members) and checks the whole file's syntax before anything
is yielded; the second decodes and yields one message at a time. Memory stays flat.

CSV layout: ``AuthorID,Author,Date,Content,Attachments,Reactions`` (older versions lack
AuthorID). Its dates are in the exporting machine's local time and locale with no zone,
so they are naive. The exporter's HTML and plain-text formats are recognised and refused
with a message asking for a JSON export (their dates are locale text and their layout
changes between versions).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from workstation.ingest.chat._common import (
    ARRAY_START,
    MAX_STREAMED_JSON_BYTES,
    account,
    as_list,
    group,
    guarded,
    guess_mime,
    check_size,
    head_text,
    json_keys_in_head,
    open_json,
    parse_iso,
    recipients_for,
    safe_relpath,
    walk_export,
)
from workstation.ingest.records import (
    Attachment,
    ImportOptions,
    Notice,
    ParsedEvent,
    ParseError,
    Party,
    Record,
    RowError,
)
from workstation.ingest.textio import open_text

PLATFORM = "discord"

# Message types a person writes (string names, and Discord's numeric codes for exporters
# that keep them): default, reply, slash/context-menu commands, thread starter.
_USER_TYPES = frozenset({"default", "reply", "applicationcommand", "chatinputcommand",
                         "contextmenucommand", "threadstartermessage",
                         "0", "19", "20", "21", "23"})
_DIRECT_CHANNELS = frozenset({"directtextchat", "directgrouptextchat", "dm", "groupdm"})
_CSV_HEADERS = ("authorid,author,date,content,attachments,reactions",
                "author,date,content,attachments,reactions")
_TXT_RULE = "=" * 62


def _author(raw: Any, role: str) -> Party | None:
    if not isinstance(raw, dict) or raw.get("id") in (None, ""):
        return None
    name = str(raw.get("name") or "")
    disc = str(raw.get("discriminator") or "")
    # "0000" (or "0") marks the new unique usernames, which have no discriminator.
    handle = f"{name}#{disc}" if disc and disc.strip("0") else name
    props: dict[str, Any] = {"username": handle} if handle else {}
    if raw.get("isBot"):
        props["bot"] = True
    nick = raw.get("nickname")
    label = nick if isinstance(nick, str) and nick else name or None
    return account(str(raw["id"]), label, PLATFORM, role, props)


def _file_name(raw: str) -> str:
    """The last path component of a URL or a local path (either slash), without query."""
    tail = re.split(r"[/\\]", raw.split("?", 1)[0].split("#", 1)[0].rstrip("/\\"))[-1]
    return tail or "file"


def _attachment(att: Any) -> Attachment | None:
    if not isinstance(att, dict):
        return None
    url: str = att["url"] if isinstance(att.get("url"), str) else ""
    name: str = att["fileName"] if isinstance(att.get("fileName"), str) else ""
    name = name or _file_name(url)
    size = att.get("fileSizeBytes")
    if isinstance(size, str) and size.isdigit():
        size = int(size)
    return Attachment(name=name, mime=guess_mime(name),
                      size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                      path=safe_relpath(url))


def _iso_text(value: Any) -> str | None:
    when = parse_iso(value)
    if when is not None:
        return when.isoformat()
    return value if isinstance(value, str) and value else None


def _export_kind(head: bytes) -> str | None:
    """"html", "txt" or "csv" when ``head`` is a DiscordChatExporter non-JSON export."""
    text = head_text(head)
    if not text:
        return None
    start = text.lstrip()[:400].lower()
    first_line = start.split("\n", 1)[0].strip().replace('"', "").replace(" ", "")
    if first_line in _CSV_HEADERS:
        return "csv"
    if start.startswith(_TXT_RULE) and re.search(r"^Guild: .*\r?\nChannel: ", text[:2000], re.M):
        return "txt"
    low = text[:65536].lower()
    if "<html" in low and ("chatlog__message" in low or 'class="preamble' in low) and \
            ("discord" in low or "chatlog__author" in low):
        return "html"
    return None


class DiscordJsonParser:
    """DiscordChatExporter export of one channel, thread or DM (JSON; CSV too).

    Yields a ParsedEvent per message: "message" for user-written types (Default, Reply,
    commands), "system" for joins, pins, calls, renames and the rest. JSON times are aware;
    CSV times are naive (the exporter wrote local time without a zone). Raises ParseError
    for invalid or truncated JSON (with line and column; raised before the first record),
    a missing ``messages`` list, a file over ``max_bytes``, or an HTML/plain-text export
    (which names the format and asks for JSON).
    """

    name = "discord_json"
    label = "Discord export (DiscordChatExporter JSON or CSV)"

    def __init__(self, max_bytes: int = MAX_STREAMED_JSON_BYTES) -> None:
        self.max_bytes = max_bytes

    def sniff(self, path: Path, head: bytes) -> float:
        first, keys = json_keys_in_head(head)
        if first == "{":
            if {"guild", "channel", "messages"} <= keys:
                return 0.95
            if "messages" in keys and {"author", "timestamp", "isBot"} <= keys:
                return 0.8
            return 0.0
        if first:
            return 0.0
        kind = _export_kind(head)
        if kind == "csv":
            return 0.9
        if kind in ("html", "txt"):
            return 0.7  # claimed so the user gets our explanation, not "unknown format"
        return 0.0

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        try:
            with path.open("rb") as fh:
                head = fh.read(65536)
        except OSError as exc:
            raise ParseError(f"cannot read file: {exc.strerror or exc}", file=path) from exc
        first, _ = json_keys_in_head(head)
        if not first:
            kind = _export_kind(head)
            if kind == "csv":
                yield from self._csv(path, options)
                return
            if kind in ("html", "txt"):
                raise ParseError(
                    f"this is a DiscordChatExporter {kind.upper()} export, which cannot be "
                    "imported reliably (locale-formatted dates, no user ids); export the "
                    "channel again in JSON format (or CSV)", file=path)
        check_size(path, self.max_bytes)
        # Pass 1: the small top-level fields (wherever they sit in the file), the authors
        # (a DM's members), and the whole file's syntax, before anything is yielded.
        fields: dict[str, Any] = {}
        authors: dict[str, Party] = {}
        has_list = False
        for key, value in self._stream(path, options):
            if key is None:
                a = _author(value.get("author"), "participant") \
                    if isinstance(value, dict) else None
                if a is not None and a.value not in authors:
                    authors[a.value] = a
            elif key == "messages":
                has_list = value is ARRAY_START
            elif key in ("guild", "channel", "exportedAt", "messageCount"):
                fields[key] = value
        if not has_list:
            raise ParseError("not a DiscordChatExporter export: no 'messages' list", file=path)
        base, members, conv = self._context(fields, authors)
        # Pass 2: the messages, one at a time, in file order.
        i = -1
        for key, msg in self._stream(path, options):
            if key is not None or not isinstance(msg, dict):
                continue
            i += 1
            ref = f"message {msg.get('id')}" if msg.get("id") else f"messages[{i}]"
            yield guarded(ref, lambda: self._event(msg, i, base, members, conv))
        stated = fields.get("messageCount")
        if type(stated) is int and stated != i + 1:
            # An export cut short, or a file edited after it was written.
            yield Notice("messageCount", f"the export states {stated:,} messages, the file "
                                         f"holds {i + 1:,}")

    @staticmethod
    def _stream(path: Path, options: ImportOptions) -> Iterator[tuple[str | None, Any]]:
        with open_json(path, encoding=options.encoding) as reader:
            yield from walk_export(reader, "messages",
                                   "not a DiscordChatExporter export: no 'messages' list")

    @staticmethod
    def _context(fields: dict[str, Any], authors: dict[str, Party],
                 ) -> tuple[dict[str, Any], dict[str, Party], Party | None]:
        """(base properties, members of a DM, the channel as a group party) from the
        top-level fields and the authors seen."""
        guild: dict[str, Any] = fields["guild"] if isinstance(fields.get("guild"), dict) else {}
        channel: dict[str, Any] = \
            fields["channel"] if isinstance(fields.get("channel"), dict) else {}
        ch_type = str(channel.get("type") or "").lower()
        ch_name = channel.get("name") if isinstance(channel.get("name"), str) else None
        # DMs are exported under the pseudo guild "Direct Messages" with id 0; old versions
        # wrote no channel type at all.
        direct = ch_type in _DIRECT_CHANNELS or (
            not ch_type and (str(guild.get("id")) == "0" or guild.get("name") == "Direct Messages"))
        base: dict[str, Any] = {"channel": PLATFORM}
        if guild.get("name") and not direct:
            base["guild"] = guild["name"]
        if guild.get("id") and str(guild["id"]) != "0":
            base["guild_id"] = str(guild["id"])
        if ch_name:
            base["conversation"] = f"#{ch_name}" if guild.get("name") and not direct else ch_name
        if channel.get("id"):
            base["conversation_id"] = str(channel["id"])
        if channel.get("category"):
            base["category"] = channel["category"]
        if channel.get("type"):
            base["channel_type"] = str(channel["type"])
        exported = _iso_text(fields.get("exportedAt"))
        if exported:
            base["exported_at"] = exported

        members: dict[str, Party] = {}
        conv: Party | None = None
        if direct:
            members = authors
            if ch_type == "directgrouptextchat" or len(members) > 2:
                conv = group(str(channel.get("id") or ch_name), ch_name, PLATFORM)
        else:
            label = f"{guild.get('name')} #{ch_name}" if guild.get("name") else ch_name
            conv = group(str(channel.get("id") or ch_name), label, PLATFORM)
        return base, members, conv

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
        if occurred is None and msg.get("timestamp"):
            props["date_raw"] = str(msg["timestamp"])
        if not is_message:
            # Joins, pins, calls, group adds: the mentioned users are whom it is about
            # (RecipientAdd/Remove name the added or removed user there).
            for mention in as_list(msg.get("mentions")):
                p = _author(mention, "participant")
                if p is not None and all(p.value != q.value for q in parties):
                    parties.append(p)
            if conv is not None:
                parties.append(conv)
            ended = parse_iso(msg.get("callEndedTimestamp"))
            if ended is not None:
                props["call_ended_at"] = ended.isoformat()
                if occurred is not None and (ended.tzinfo is None) == (occurred.tzinfo is None):
                    props["call_duration"] = max(0, int((ended - occurred).total_seconds()))
            ref_obj = msg.get("reference")
            if isinstance(ref_obj, dict) and ref_obj.get("messageId"):
                props["reply_to_message_id"] = str(ref_obj["messageId"])
            title = body or f"{sender.label if sender else 'someone'}: {mtype}"
            if body and sender is not None and sender.label:
                title = f"{sender.label}: {body}"
            return ParsedEvent(kind="system", occurred_at=occurred, ref=ref, title=title,
                               body=body, parties=tuple(parties), properties=props)
        if conv is not None:
            parties.append(conv)
        else:
            parties.extend(recipients_for(sender.value if sender else None,
                                          members.values()))
        seen = {p.value for p in parties if p.kind == "account"}
        for mention in as_list(msg.get("mentions")):
            p = _author(mention, "mentioned")
            if p is not None and p.value not in seen:
                seen.add(p.value)
                parties.append(p)
        attachments = [a for a in map(_attachment, as_list(msg.get("attachments"))) if a]
        if msg.get("timestampEdited"):
            props["edited_at"] = _iso_text(msg["timestampEdited"])
        if msg.get("isPinned"):
            props["pinned"] = True
        ref_obj = msg.get("reference")
        if isinstance(ref_obj, dict) and ref_obj.get("messageId"):
            if str(ref_obj.get("type") or "").lower() == "forward":
                props["forwarded_from_message_id"] = str(ref_obj["messageId"])
            else:
                props["reply_to_message_id"] = str(ref_obj["messageId"])
        fwd = msg.get("forwardedMessage")
        if isinstance(fwd, dict):
            props["forwarded"] = True
            fwd_text = fwd.get("content") if isinstance(fwd.get("content"), str) else ""
            if fwd_text:
                props["forwarded_text"] = fwd_text
                body = body or fwd_text
            fwd_at = _iso_text(fwd.get("timestamp"))
            if fwd_at:
                props["forwarded_original_at"] = fwd_at
            attachments += [a for a in map(_attachment, as_list(fwd.get("attachments"))) if a]
        interaction = msg.get("interaction")
        if isinstance(interaction, dict):
            if interaction.get("name"):
                props["command"] = str(interaction["name"])
            user = _author(interaction.get("user"), "participant")
            if user is not None and user.value not in seen:
                seen.add(user.value)
                parties.append(user)
                props["invoked_by"] = user.value
        reactions = []
        for r in as_list(msg.get("reactions")):
            if isinstance(r, dict):
                emoji: dict[str, Any] = r["emoji"] if isinstance(r.get("emoji"), dict) else {}
                item: dict[str, Any] = {"emoji": emoji.get("name"), "count": r.get("count")}
                users = [u for u in (_author(x, "participant") for x in as_list(r.get("users")))
                         if u is not None]
                if users:
                    item["users"] = [u.value for u in users]
                reactions.append(item)
        if reactions:
            props["reactions"] = reactions
        urls: list[str] = []
        embeds: list[dict[str, Any]] = []
        for e in as_list(msg.get("embeds")):
            if not isinstance(e, dict):
                continue
            if isinstance(e.get("url"), str) and e["url"]:
                urls.append(e["url"])
            summary = {k: e[k] for k in ("title", "description", "url")
                       if isinstance(e.get(k), str) and e[k]}
            if summary:
                embeds.append(summary)
        if urls:
            props["urls"] = urls
        if embeds:
            props["embeds"] = embeds
        stickers = [s.get("name") for s in as_list(msg.get("stickers")) if isinstance(s, dict)]
        if stickers:
            props["stickers"] = stickers
        return ParsedEvent(kind="message", occurred_at=occurred, ref=ref, body=body,
                           parties=tuple(parties), attachments=tuple(attachments),
                           properties=props)

    # --- CSV -------------------------------------------------------------------------

    def _csv(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        day_first = self._csv_day_first(path, options)
        # The exporter names files "Guild - channel [channel id].csv": the id makes the
        # channel the same group as in a JSON export of it.
        m = re.search(r"^(?P<name>.*?) ?\[(?P<id>\d{6,})\]", path.stem)
        conv_name = m["name"] if m else path.stem
        conv = group(m["id"] if m else f"csv:{path.stem}", conv_name, PLATFORM)
        base: dict[str, Any] = {"channel": PLATFORM, "conversation": conv_name,
                                "export_format": "csv"}
        if m:
            base["conversation_id"] = m["id"]
        with open_text(path, encoding=options.encoding, newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            end = reader.line_num
            for row in reader:
                n, end = end + 1, reader.line_num  # a quoted cell can span lines: cite the first
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    yield RowError(ref=f"line {n}", field=None,
                                   message=f"expected {len(header)} columns "
                                           f"({', '.join(header)}), found {len(row)}")
                    continue
                rec = dict(zip(header, row))
                yield guarded(f"line {n}", lambda: self._csv_event(rec, n, day_first, base,
                                                                   conv))

    @staticmethod
    def _csv_event(rec: dict[str, str], n: int, day_first: bool, base: dict[str, Any],
                   conv: Party) -> Record:
        author = rec.get("author", "").strip()
        author_id = rec.get("authorid", "").strip()
        if not author and not author_id:
            return RowError(ref=f"line {n}", field="Author", message="no author")
        raw_date = rec.get("date", "").strip()
        occurred = _csv_date(raw_date, day_first)
        if occurred is None:
            return RowError(ref=f"line {n}", field="Date",
                            message=f"unreadable date {raw_date!r}")
        props: dict[str, Any] = dict(base)
        props_user = {"username": author} if author else {}
        label: str | None = author or None
        if "#" in author and author.rsplit("#", 1)[1].isdigit():
            label = author.rsplit("#", 1)[0]  # old "name#1234" handles
        sender = account(author_id or author, label, PLATFORM, "sender", props_user)
        if not author_id:
            props["sender_identified_by"] = "user name (no AuthorID column)"
        attachments = []
        for url in filter(None, (u.strip() for u in rec.get("attachments", "").split(","))):
            name = _file_name(url)
            attachments.append(Attachment(name=name, mime=guess_mime(name),
                                          path=safe_relpath(url)))
        reactions = []
        for m in re.finditer(r"(?:^|,)\s*(.+?) \((\d+)\)", rec.get("reactions", "")):
            reactions.append({"emoji": m.group(1), "count": int(m.group(2))})
        if reactions:
            props["reactions"] = reactions
        body = rec.get("content") or None
        return ParsedEvent(kind="message", occurred_at=occurred, ref=f"line {n}", body=body,
                           parties=(sender, conv), attachments=tuple(attachments),
                           properties=props)

    @staticmethod
    def _csv_day_first(path: Path, options: ImportOptions) -> bool:
        """Whether numeric CSV dates put the day first: decided from the whole file (a
        component over 12 settles it), else from AM/PM (en-US writes month first)."""
        ampm = False
        with open_text(path, encoding=options.encoding, newline="") as fh:
            for i, row in enumerate(csv.reader(fh)):
                if i == 0 or len(row) < 3:
                    continue
                cell = row[2] if len(row) >= 6 else row[1]
                m = _SLASH_DATE.match(cell.strip())
                if not m:
                    continue
                a, b = int(m["a"]), int(m["b"])
                if a > 12 >= b:
                    return True
                if b > 12 >= a:
                    return False
                ampm = ampm or bool(m["ap"])
        return not ampm


_SLASH_DATE = re.compile(
    r"^(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{2,4}),? +(?P<h>\d{1,2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2}))? ?(?P<ap>[AaPp]\.?[Mm]\.?)?$")


def _csv_date(text: str, day_first: bool) -> datetime | None:
    when = parse_iso(text)
    if when is not None:
        return when
    for fmt in ("%d-%b-%y %I:%M %p", "%d-%b-%Y %I:%M %p", "%d-%b-%y %H:%M"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    m = _SLASH_DATE.match(text)
    if not m:
        return None
    a, b, y = int(m["a"]), int(m["b"]), int(m["y"])
    day, month = (a, b) if day_first else (b, a)
    year = y + 2000 if y < 100 else y
    hour, minute, sec = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
    if m["ap"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m["ap"][0].lower() == "p" else 0)
    try:
        return datetime(year, month, day, hour, minute, sec)
    except ValueError:
        return None
