"""Discord channel exports written by DiscordChatExporter (JSON, HTML, CSV and TXT).

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

HTML layout (the exporter's default format) is read as a stream (``html.parser``, the file
in 1 MiB pieces; memory holds one message). Every message of a 2.1x or later page carries
its Discord id (``data-message-id``; ``chatlog__message-container-<id>`` from 2.3x), and a
snowflake id encodes its creation time exactly (``(id >> 22) + 1420070400000`` Unix ms), so
times are exact UTC whatever the locale the page was written in; the displayed time (the
exporting computer's local time, locale-formatted) is used, naive, only on old pages
without ids. Authors carry ``data-user-id`` and their full user name in ``title``, so an
author is the same account as in a JSON export of the channel. The channel id comes from
the file name the exporter gives ("Guild - Category - channel [id].html"). System
notifications (joins, pins, calls, threads...) are told by their fixed English sentence.
A file that stops early (no closing "Exported N message(s)") is read up to where it stops,
with Notices naming what may be missing.

CSV layout: ``AuthorID,Author,Date,Content,Attachments,Reactions`` (older versions lack
AuthorID). Its dates are in the exporting machine's local time and locale with no zone,
so they are naive.

TXT (plain text) layout: a header block between two rules of 62 "=" ("Guild:", "Channel:",
"Topic:", "After:", "Before:"; early 2.x added "Messages:" and "Range:"), then per message
"[<date>] <user name>" with its text on the following lines, "{Attachments}", "{Embed}",
"{Stickers}", "{Reactions}" sections and "(pinned)"; from 2.2x the file closes with
"Exported N message(s)". It has no message or user ids, so times are the exporting
computer's local time as written (naive), the day/month order of numeric dates is
decided over the whole file (a day above 12; else ``options.profile["date_order"]``
"dmy"/"mdy"; else the file is refused), and authors are keyed by user name, the same
accounts an HTML page without ids gives (not the user-id accounts of a JSON export). Read
line by line in two passes; a file cut short keeps what was read, with Notices.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import re
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from workstation.ingest.chat._common import (
    ARRAY_START,
    MAX_STREAMED_JSON_BYTES,
    ExportFiles,
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
    utc_from_ms,
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
    forced_date_order,
    read_head,
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


def _html_author(raw: dict[str, Any] | None, role: str) -> Party | None:
    """An HTML page's author as the same account the JSON export gives (user id, display
    name as label, "name" or "name#1234" as username); by user name on old pages without
    user ids."""
    if not raw:
        return None
    title = (raw.get("title") or "").strip()
    name = (raw.get("name") or "").strip()
    # The page's title is the user's full name: "name#1234", or "name" for the new
    # unique usernames (a "#0"/"#0000" left by some versions is not part of it).
    handle = re.sub(r"#0{1,4}$", "", title) if title else name
    props: dict[str, Any] = {"username": handle} if handle else {}
    if raw.get("bot"):
        props["bot"] = True
    uid = raw.get("id")
    if uid:
        return account(str(uid), name or handle or None, PLATFORM, role, props)
    if not handle:
        return None
    props["identified_by"] = "user name (no user id in this export)"
    return account(handle, name or handle, PLATFORM, role, props)


def _file_name(raw: str) -> str:
    """The last path component of a URL or a local path (either slash), without query."""
    tail = re.split(r"[/\\]", raw.split("?", 1)[0].split("#", 1)[0].rstrip("/\\"))[-1]
    return tail or "file"


def _on_disk(att: Attachment, written: str | None, files: ExportFiles | None) -> Attachment:
    """``att`` with the size and digests of its file when the export was made with its
    media (``--media``: the url is then a path such as ``Export_Files/name-1A2B3.png``,
    relative to the export's folder) and the file is there."""
    got = files.hashes(written) if files is not None and written else None
    if got is None:
        return att
    return dataclasses.replace(att, size=got.size, sha256=got.sha256, md5=got.md5)


def _attachment(att: Any, files: ExportFiles | None = None) -> Attachment | None:
    if not isinstance(att, dict):
        return None
    url: str = att["url"] if isinstance(att.get("url"), str) else ""
    name: str = att["fileName"] if isinstance(att.get("fileName"), str) else ""
    name = name or _file_name(url)
    size = att.get("fileSizeBytes")
    if isinstance(size, str) and size.isdigit():
        size = int(size)
    return _on_disk(Attachment(name=name, mime=guess_mime(name),
                               size=size if isinstance(size, int) and not isinstance(size, bool)
                               else None,
                               path=safe_relpath(url)), url, files)


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
    # The exporter's page: its own class names in the stylesheet and the markup (a page
    # that merely mentions Discord, or another chat's HTML export, has neither).
    if ("<html" in low or "<!doctype html" in low) and \
            re.search(r"chatlog__(?:message-group|message-container|messages|author)\b", low) \
            and re.search(r"\b(?:preamble|info__guild-name)\b", low):
        return "html"
    return None


class DiscordJsonParser:
    """DiscordChatExporter export of one channel, thread or DM (JSON; HTML, CSV, TXT too).

    Yields a ParsedEvent per message: "message" for user-written types (Default, Reply,
    commands), "system" for joins, pins, calls, renames and the rest. JSON times are aware;
    HTML times are exact UTC, from the message id (naive displayed local time only when a
    page has no ids); CSV and TXT times are naive (the exporter wrote local time without a
    zone). Raises ParseError for invalid or truncated JSON (with line and column; raised
    before the first record), a missing ``messages`` list, a file over ``max_bytes``, an
    HTML page or TXT file with no message this reader knows, or a TXT file whose numeric
    dates never show their day/month order (unless the import options give it). A cut-off
    HTML or TXT export is read up to where it stops, with a Notice saying so. An export
    made with its media (``--media``) names local files: those in the export's folder carry
    their size, SHA-256 and MD5; a path leading out of it (``--media-dir`` elsewhere) is
    not read (a Notice).
    """

    name = "discord_json"
    label = "Discord export (DiscordChatExporter JSON, HTML, CSV or TXT)"

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
        if kind in ("csv", "html", "txt"):
            return 0.9
        return 0.0

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        head = read_head(path)
        first, _ = json_keys_in_head(head)
        if not first:
            kind = _export_kind(head)
            if kind == "csv":
                yield from self._csv(path, options)
                return
            if kind == "html":
                yield from self._html(path, options)
                return
            if kind == "txt":
                yield from self._txt(path, options)
                return
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
        files = ExportFiles(path.parent)
        for key, msg in self._stream(path, options):
            if key is not None or not isinstance(msg, dict):
                continue
            i += 1
            ref = f"message {msg.get('id')}" if msg.get("id") else f"messages[{i}]"
            yield guarded(ref, lambda: self._event(msg, i, base, members, conv, files))
            yield from files.notices(ref)
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
               members: dict[str, Party], conv: Party | None,
               files: ExportFiles | None = None) -> ParsedEvent:
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
        attachments = [a for a in (_attachment(x, files) for x in as_list(msg.get("attachments")))
                       if a]
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
            attachments += [a for a in (_attachment(x, files)
                                        for x in as_list(fwd.get("attachments"))) if a]
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

    # --- HTML ------------------------------------------------------------------------

    def _html(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        check_size(path, self.max_bytes, "DiscordChatExporter exports")
        reader = _DceHtmlReader()
        stream = self._html_messages(path, options, reader)
        first = next(stream, None)
        # The header comes before the first message. A DM needs its members before its first
        # message (a message goes to the other person, who may write only later), and a page
        # without message ids needs the day/month order of its displayed dates: both are
        # learnt in a first pass over the whole file. A server channel is read once.
        authors: dict[str, Party] = {}
        order = _DayOrder()
        page = reader
        messages: Iterator[_HtmlMessage]
        if first is not None and (_html_is_direct(reader) or snowflake_time(first.id) is None):
            for m in itertools.chain([first], stream):
                a = _html_author(m.author, "participant")
                if a is not None and a.value not in authors:
                    authors[a.value] = a
                if snowflake_time(m.id) is None:
                    order.see(m.time_text)
            page = _DceHtmlReader()
            messages = self._html_messages(path, options, page)
        else:
            messages = itertools.chain([first], stream) if first is not None else iter(())
        if first is None and _stated_count(reader) is None:
            if not (reader.markers or reader.preamble or reader.info):
                raise ParseError("not a DiscordChatExporter HTML export (no chat log in it)",
                                 file=path)
            raise ParseError(
                "no message could be read from this DiscordChatExporter HTML export (a page "
                "layout this importer does not know, or a file cut short before its first "
                "message); export the channel again in JSON format", file=path)
        base, members, conv = self._html_context(path, reader, authors)
        day_first = order.decided()
        count = without_id = 0
        cut: list[str] = []
        files = ExportFiles(path.parent)
        for m in messages:
            count += 1
            ref = f"message {m.id}" if m.id else f"line {m.line}"
            if snowflake_time(m.id) is None:
                without_id += 1
                order.see(m.time_text)
            if m.incomplete:
                cut.append(ref)
            yield guarded(ref, lambda: self._html_event(m, base, members, conv, day_first,
                                                        files))
            yield from files.notices(ref)
        if not (page.postamble or page.chatlog_closed):
            yield Notice("end of file", f"the file ends before the exporter's closing line "
                                        f"(\"Exported N message(s)\"): the export is cut short "
                                        f"or was still being written; {count:,} messages were "
                                        "read and any after them are missing")
        for ref in cut:
            yield Notice(ref, "the file ends inside this message: its text, attachments or "
                              "reactions may be incomplete")
        stated = _stated_count(page)
        if stated is not None and stated != count:
            yield Notice("Exported", f"the export states {stated:,} messages, the file holds "
                                     f"{count:,}")
        if without_id:
            yield Notice("dates", f"{without_id:,} messages have no message id: their times "
                                  "are the times the page displays, in the exporting "
                                  "computer's local time (no zone), "
                                  + ("day/month order as the file shows it"
                                     if order.day_first is not None else
                                     "day/month order assumed " + ("day first" if day_first
                                                                   else "month first")))

    @staticmethod
    def _html_messages(path: Path, options: ImportOptions, reader: "_DceHtmlReader",
                       ) -> Iterator["_HtmlMessage"]:
        """The page's messages in file order, read in chunks (memory stays flat)."""
        with open_text(path, encoding=options.encoding) as fh:
            while True:
                try:
                    chunk = fh.read(_HTML_CHUNK)
                except UnicodeDecodeError as exc:
                    raise ParseError(f"undecodable bytes ({exc.reason}) with encoding "
                                     f"{fh.encoding}", file=path,
                                     ref=f"line {reader.getpos()[0]}") from None
                if not chunk:
                    break
                reader.feed(chunk)
                if reader.done:
                    batch, reader.done = reader.done, []
                    yield from batch
        reader.finish()
        batch, reader.done = reader.done, []
        yield from batch

    @staticmethod
    def _html_context(path: Path, page: "_DceHtmlReader", authors: dict[str, Party],
                      ) -> tuple[dict[str, Any], dict[str, Party], Party | None]:
        """(base properties, members of a DM, the channel as a group party) from the
        page's header and the file name the exporter gave it."""
        big = [t for small, t in page.preamble if not small]
        guild = big[0] if big else page.info.get("info__guild-name") or None
        where = big[1] if len(big) > 1 else page.info.get("info__channel-name") or None
        return _channel_context(path, guild, where, authors, "html")

    @staticmethod
    def _html_event(m: "_HtmlMessage", base: dict[str, Any], members: dict[str, Party],
                    conv: Party | None, day_first: bool,
                    files: ExportFiles | None = None) -> ParsedEvent:
        ref = f"message {m.id}" if m.id else f"line {m.line}"
        props: dict[str, Any] = dict(base)
        props["message_id"] = m.id
        # The id holds the exact creation time; the displayed time is the exporting
        # computer's local time in its locale, used only when there is no id.
        occurred = snowflake_time(m.id)
        if occurred is None:
            if m.time_text:
                occurred = _display_date(m.time_text, day_first)
                props["date_raw"] = m.time_text
            props["time_source"] = "displayed local time (no message id)"
        if m.incomplete:
            props["incomplete"] = True
        if m.system:
            text = m.sys_text or ""
            mtype = _system_kind(text)
            props["message_type"] = mtype
            sender = _html_author(m.author, "participant")
            parties: list[Party] = [sender] if sender else []
            if conv is not None:
                parties.append(conv)
            body = (text[:1].upper() + text[1:]) if text else None
            if m.sys_link_id:
                props["reply_to_message_id"] = m.sys_link_id
            if m.sys_link_title:
                props["mentioned_username"] = m.sys_link_title
            if mtype == "Call":
                seconds = _call_seconds(text)
                if seconds is not None:
                    props["call_duration"] = seconds
            who = sender.label if sender is not None and sender.label else "someone"
            title = f"{who}: {body}" if body else f"{who}: {mtype}"
            return ParsedEvent(kind="system", occurred_at=occurred, ref=ref, title=title,
                               body=body, parties=tuple(parties), properties=props)
        reply = m.reply
        command = None
        if reply is not None and not reply.get("id"):
            cm = re.match(r"used /(\S+)", reply.get("text") or "")
            command = cm.group(1) if cm else None
        props["message_type"] = "Reply" if reply is not None and command is None else "Default"
        sender = _html_author(m.author, "sender")
        parties = [sender] if sender else []
        if conv is not None:
            parties.append(conv)
        else:
            parties.extend(recipients_for(sender.value if sender else None, members.values()))
        if m.edited:
            props["edited"] = True
            if m.edited_text:
                props["edited_at_text"] = m.edited_text
        if m.pinned:
            props["pinned"] = True
        if reply is not None:
            if command is not None:
                props["command"] = command
                if reply.get("author"):
                    props["invoked_by_username"] = reply["author"]
            else:
                if reply.get("id"):
                    props["reply_to_message_id"] = reply["id"]
                elif reply.get("unavailable"):
                    props["reply_to_unavailable"] = True
                if reply.get("author"):
                    props["reply_to_username"] = reply["author"]
        attachments: list[Attachment] = []
        sizes: list[str] = []
        for a in m.attachments:
            url = a.get("url") or ""
            name = a.get("name") or _file_name(url)
            size_text = (a.get("size") or "").strip()
            if size_text:
                sizes.append(size_text)
            attachments.append(_on_disk(Attachment(name=name, mime=guess_mime(name),
                                                   size=_size_bytes(size_text),
                                                   path=safe_relpath(url) if url else None),
                                        url, files))
        if sizes:
            props["attachment_sizes_shown"] = sizes
        reactions = [{"emoji": r.get("emoji"), "count": r.get("count")} for r in m.reactions]
        if reactions:
            props["reactions"] = reactions
        urls = [e["url"] for e in m.embeds if e.get("url")]
        embeds = [{k: e[k] for k in ("title", "description", "url") if e.get(k)}
                  for e in m.embeds]
        if urls:
            props["urls"] = urls
        if any(embeds):
            props["embeds"] = [e for e in embeds if e]
        if m.stickers:
            props["stickers"] = list(m.stickers)
        return ParsedEvent(kind="message", occurred_at=occurred, ref=ref,
                           body=m.content or None, parties=tuple(parties),
                           attachments=tuple(attachments), properties=props)

    # --- TXT (plain text) -------------------------------------------------------------

    def _txt(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        check_size(path, self.max_bytes, "DiscordChatExporter exports")
        # Pass 1 (the whole file, line by line): the header block, the shape of the message
        # headers' dates, the day/month order they show, the authors (a DM's members) and
        # the closing "Exported N message(s)". Nothing is yielded before it ends.
        scan = _txt_scan(path, options)
        key = scan.chosen()
        if key is None:
            if scan.stated == 0:
                return  # an export of a channel with no message in the range
            raise ParseError(
                "no message could be read from this DiscordChatExporter TXT export (no line "
                "of the form \"[date time] author\" with a date this importer reads, or a file "
                "cut short before its first message); export the channel again in JSON "
                "format", file=path)
        cand = scan.candidates[key]
        day_first, basis = _txt_day_order(path, options, scan, cand)
        base, members, conv = _channel_context(path, scan.header.get("guild") or None,
                                               scan.header.get("channel") or None,
                                               cand.authors, "txt")
        for field in ("after", "before"):
            if scan.header.get(field):
                base[f"export_{field}_text"] = _txt_norm(scan.header[field])
        # Pass 2: the messages, one at a time.
        count = 0
        last: _TxtMessage | None = None
        files = ExportFiles(path.parent)
        for m in _txt_messages(path, options, scan, key):
            count += 1
            last = m
            yield guarded(f"line {m.line}", lambda: self._txt_event(m, base, members, conv,
                                                                    day_first, scan.aligned,
                                                                    files))
            yield from files.notices(f"line {m.line}")
        if scan.postamble_line is None and scan.expects_postamble():
            yield Notice("end of file", f"the file ends before the exporter's closing line "
                                        f"(\"Exported N message(s)\"): the export is cut short "
                                        f"or was still being written; {count:,} messages were "
                                        "read and any after them are missing")
        if last is not None and last.incomplete:
            yield Notice(f"line {last.line}", "the file ends inside this message: its text, "
                                              "attachments or reactions may be incomplete")
        if scan.stated is not None and scan.stated != count:
            yield Notice("Exported", f"the export states {scan.stated:,} messages, the file "
                                     f"holds {count:,}")
        if scan.aligned:
            yield Notice("layout", "this export was written by an early DiscordChatExporter "
                                   "(2.x, \"Guild:    \" header), which may write one header "
                                   "for a run of consecutive messages from one author: such "
                                   "a run is imported as one message")
        if count and cand.naive:
            what = "1 message has" if count == 1 else f"{count:,} messages have"
            yield Notice("dates", f"{what} no message id: their times are the times the file "
                                  "writes, in the exporting computer's local time (no zone)"
                                  + (f"; day/month order {basis}" if basis else ""))

    @staticmethod
    def _txt_event(m: "_TxtMessage", base: dict[str, Any], members: dict[str, Party],
                   conv: Party | None, day_first: bool, aligned: bool,
                   files: ExportFiles | None = None) -> ParsedEvent:
        ref = f"line {m.line}"
        props: dict[str, Any] = dict(base)
        props["message_id"] = None
        occurred = _txt_when(m.date_text, day_first)
        props["date_raw"] = m.date_text
        props["time_source"] = ("displayed local time (no message id)"
                                if occurred is None or occurred.tzinfo is None
                                else "time written with its zone (no message id)")
        if m.incomplete:
            props["incomplete"] = True
        if m.pinned:
            props["pinned"] = True
        lines = _trim_blank(m.body)
        attachments: list[Attachment] = []
        if aligned and not m.sections:
            # Early layouts wrote each attachment's URL on its own line after the text.
            urls = [ln.strip() for ln in lines if _CDN_FILE.match(ln.strip())]
            lines = _trim_blank([ln for ln in lines if not _CDN_FILE.match(ln.strip())])
            attachments += [_txt_attachment(u, files) for u in urls]
        body = "\n".join(lines) or None
        reactions: list[dict[str, Any]] = []
        embeds: list[dict[str, Any]] = []
        urls_seen: list[str] = []
        stickers: list[str] = []
        for kind, raw in m.sections:
            sec = [ln.strip() for ln in raw if ln.strip()]
            if kind in ("{Attachments}", "{Attachment}"):
                attachments += [_txt_attachment(u, files) for u in sec]
            elif kind == "{Embed}":
                embed_urls = [ln for ln in sec if _URL.match(ln)]
                text = "\n".join(ln for ln in sec if not _URL.match(ln))
                item: dict[str, Any] = {}
                if embed_urls:
                    item["url"] = embed_urls[0]
                    urls_seen += [u for u in embed_urls[:1] if u not in urls_seen]
                if text:
                    item["text"] = text
                if item:
                    embeds.append(item)
            elif kind == "{Stickers}":
                stickers += sec
            elif kind == "{Reactions}":
                for line in sec:
                    for r in _TXT_REACTION.finditer(line):
                        reactions.append({"emoji": r["emoji"],
                                          "count": int(r["n"]) if r["n"] else 1})
            elif kind == "{Forwarded Message}":
                props["forwarded"] = True
                if sec and sec[-1].startswith("Originally sent:"):
                    props["forwarded_original_at_text"] = sec.pop()[len("Originally sent:"):] \
                        .strip()
                fwd = "\n".join(_trim_blank([ln.rstrip() for ln in raw
                                             if not ln.strip().startswith("Originally sent:")]))
                if fwd:
                    props["forwarded_text"] = fwd
                    body = body or fwd
        if reactions:
            props["reactions"] = reactions
        if urls_seen:
            props["urls"] = urls_seen
        if embeds:
            props["embeds"] = embeds
        if stickers:
            props["sticker_urls"] = stickers
        system = (body is not None and "\n" not in body and not attachments and not m.sections
                  and _TXT_SYSTEM.match(body) is not None)
        if system:
            assert body is not None
            mtype = _system_kind(body)
            props["message_type"] = mtype
            sender = _txt_author(m.author, "participant")
            parties: list[Party] = [sender] if sender else []
            if conv is not None:
                parties.append(conv)
            if mtype == "Call":
                seconds = _call_seconds(body)
                if seconds is not None:
                    props["call_duration"] = seconds
            who = sender.label if sender is not None and sender.label else "someone"
            return ParsedEvent(kind="system", occurred_at=occurred, ref=ref,
                               title=f"{who}: {body}", body=body, parties=tuple(parties),
                               properties=props)
        props["message_type"] = "Default"
        sender = _txt_author(m.author, "sender")
        parties = [sender] if sender else []
        if conv is not None:
            parties.append(conv)
        else:
            parties.extend(recipients_for(sender.value if sender else None, members.values()))
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
            files = ExportFiles(path.parent)
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
                                                                   conv, files))
                yield from files.notices(f"line {n}")

    @staticmethod
    def _csv_event(rec: dict[str, str], n: int, day_first: bool, base: dict[str, Any],
                   conv: Party, files: ExportFiles | None = None) -> Record:
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
            attachments.append(_on_disk(Attachment(name=name, mime=guess_mime(name),
                                                   path=safe_relpath(url)), url, files))
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


# --- HTML ----------------------------------------------------------------------------

#: Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds: a snowflake id holds the
#: milliseconds since it in its bits above the 22nd.
DISCORD_EPOCH_MS = 1420070400000
_HTML_CHUNK = 1 << 20
_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                        "meta", "param", "source", "track", "wbr"})
#: What the exporter writes as an attachment's title ("Image: scan.png (1.2 MB)") or link
#: text in old versions ("Attachment: notes.pdf (312 KB)").
_FILE_TITLE = re.compile(r"^\s*(?:Image|Video|Audio|Attachment):\s*(?P<name>.*?)\s*"
                         r"\((?P<size>[^()]*)\)\s*$", re.S)
_SCROLL_ID = re.compile(r"(\d{6,})")
_EXPORTED = re.compile(r"Exported\s+(?P<n>\d[\d\s.,'\u00a0\u202f]*)\s+message", re.I)
_SIZE_TEXT = re.compile(r"^\s*(?P<n>\d+(?:[.,]\d+)?)\s*(?P<u>bytes?|B|KB|MB|GB|TB|KiB|MiB|GiB)"
                        r"\s*$", re.I)
_SIZE_FACTOR = {"b": 1, "byte": 1, "bytes": 1, "kb": 1024, "kib": 1024, "mb": 1024**2,
                "mib": 1024**2, "gb": 1024**3, "gib": 1024**3, "tb": 1024**4}
_CUSTOM_EMOJI_NAME = re.compile(r"^[A-Za-z0-9_~]{2,}$")
_SWALLOW: list[str] = []  # capture target whose text is dropped (scripts, "(edited)")


def snowflake_time(value: Any) -> datetime | None:
    """The exact UTC creation time encoded in a Discord id (message, user, channel), or
    None when ``value`` is not a plausible snowflake."""
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    if n <= 0 or n >> 22 == 0 or n >= 1 << 64:
        return None
    return utc_from_ms((n >> 22) + DISCORD_EPOCH_MS)


def _size_bytes(text: str) -> int | None:
    """Bytes from the exporter's size text ("312 bytes", "1.5 KB", "2,25 MB"); approximate
    above bytes, as the exporter rounded it to two decimals."""
    m = _SIZE_TEXT.match(text or "")
    if not m:
        return None
    try:
        number = float(m["n"].replace(",", "."))
    except ValueError:
        return None
    return int(round(number * _SIZE_FACTOR[m["u"].lower()]))


class _HtmlMessage:
    """One message as read from the page, before it becomes a record."""

    __slots__ = ("id", "line", "author", "system", "time_text", "content", "edited_text",
                 "edited", "attachments", "embeds", "reactions", "stickers", "reply",
                 "pinned", "sys_text", "sys_link_id", "sys_link_title", "incomplete",
                 "implicit")

    def __init__(self, mid: str | None, line: int, implicit: bool = False) -> None:
        self.id = mid
        self.line = line
        self.author: dict[str, Any] | None = None
        self.system = False
        self.time_text: str | None = None
        self.content: str | None = None
        self.edited = False
        self.edited_text: str | None = None
        self.attachments: list[dict[str, Any]] = []
        self.embeds: list[dict[str, Any]] = []
        self.reactions: list[dict[str, Any]] = []
        self.stickers: list[str] = []
        self.reply: dict[str, Any] | None = None
        self.pinned = False
        self.sys_text: str | None = None
        self.sys_link_id: str | None = None
        self.sys_link_title: str | None = None
        self.incomplete = False
        self.implicit = implicit


class _Group:
    __slots__ = ("author", "time_text", "pending_reply")

    def __init__(self) -> None:
        self.author: dict[str, Any] | None = None
        self.time_text: str | None = None
        self.pending_reply: dict[str, Any] | None = None


def _message_id_attr(attrs: dict[str, str]) -> str | None:
    mid = attrs.get("data-message-id") or ""
    if not mid.strip().isdigit():
        m = re.search(r"(?:chatlog__message-container-|message-)(\d+)$", attrs.get("id") or "")
        mid = m.group(1) if m else ""
    return mid.strip() or None


class _DceHtmlReader(HTMLParser):
    """Streaming reader of a DiscordChatExporter HTML page: finished messages collect in
    :attr:`done` (the caller drains it after each :meth:`feed`), so memory holds one
    message and the open elements, whatever the file's size.

    Three generations of the layout are understood (class names as the exporter writes
    them): old 2.x pages (``info__guild-name``; author name and time per group, messages
    without a wrapper or id), 2.1x-2.2x (``chatlog__message-group`` > ``chatlog__messages``
    with ``chatlog__author-name`` [``data-user-id``] and one ``chatlog__message``
    [``data-message-id``] per message; a reply's ``chatlog__reference`` sits at group level)
    and 2.3x onwards (one ``chatlog__message-container-<id>`` per message, the author in the
    group's first message, replies in ``chatlog__reference`` / ``chatlog__reply``, system
    notifications with their own author).
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # Open elements: [tag, role, capture buffer (list, _SWALLOW or None), object].
        self.stack: list[list[Any]] = []
        self.done: list[_HtmlMessage] = []
        self.preamble: list[tuple[bool, str]] = []  # (small entry?, text)
        self.info: dict[str, str] = {}              # old 2.x header block
        self.postamble: list[str] = []
        self.title_text: str | None = None
        self.group: _Group | None = None
        self.msg: _HtmlMessage | None = None
        self.att: dict[str, Any] | None = None
        self.embed: dict[str, Any] | None = None
        self.reaction: dict[str, Any] | None = None
        self.reply: dict[str, Any] | None = None
        self.last_author: dict[str, Any] | None = None
        self.markers = 0  # DiscordChatExporter elements seen (chatlog, groups, messages)
        self.chatlog_closed = False

    # -- helpers -----------------------------------------------------------------------

    def _capture(self) -> list[str] | None:
        for entry in reversed(self.stack):
            if entry[2] is not None:
                return entry[2]
        return None

    def _push(self, tag: str, role: str | None, cap: list[str] | None = None,
              obj: Any = None) -> None:
        if tag not in _VOID_TAGS:
            self.stack.append([tag, role, cap, obj])

    def _new_message(self, mid: str | None, implicit: bool = False) -> _HtmlMessage:
        if self.msg is not None:
            self._finish_message()
        m = _HtmlMessage(mid, self.getpos()[0], implicit)
        if self.group is not None and self.group.pending_reply is not None:
            m.reply, self.group.pending_reply = self.group.pending_reply, None
        self.msg = m
        self.markers += 1
        return m

    def _ensure_message(self) -> _HtmlMessage:
        """The open message, or an implicit one (old 2.x pages have no message wrapper)."""
        return self.msg if self.msg is not None else self._new_message(None, implicit=True)

    def _finish_message(self) -> None:
        m = self.msg
        if m is None:
            return
        self.msg = None
        if m.author is None and self.group is not None:
            m.author = self.group.author
        if m.time_text is None and self.group is not None:
            m.time_text = self.group.time_text
        self.done.append(m)

    # -- HTMLParser callbacks ------------------------------------------------------------

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: (v or "") for k, v in attr_list}
        classes = set(attrs.get("class", "").split())
        if tag in ("script", "style", "svg"):
            self._push(tag, None, _SWALLOW)
            return
        if tag == "title" and not self.stack_has("body"):
            self._push(tag, "page_title", [])
            return
        if tag == "br":
            cap = self._capture()
            if cap is not None and cap is not _SWALLOW:
                cap.append("\n")
            return
        if tag == "img":
            self._img(attrs, classes)
            return
        if tag == "source":
            self._file_hint(attrs)
            return
        if tag == "iframe" and self.embed is not None and not self.embed.get("url"):
            self.embed["url"] = attrs.get("src") or None
        if tag == "a":
            self._anchor(attrs, classes)
            return
        if not classes:
            self._push(tag, None)
            return
        role, cap, obj = self._role(tag, attrs, classes)
        self._push(tag, role, cap, obj)

    def stack_has(self, tag: str) -> bool:
        return any(e[0] == tag for e in self.stack)

    def _role(self, tag: str, attrs: dict[str, str], classes: set[str],
              ) -> tuple[str | None, list[str] | None, Any]:
        # Message boundaries.
        if "chatlog__message-group" in classes:
            if self.msg is not None and self.msg.implicit:
                self._finish_message()
            self.group = _Group()
            self.markers += 1
            return "group", None, None
        if "chatlog__message-container" in classes:
            m = self._new_message(_message_id_attr(attrs))
            m.pinned = "chatlog__message-container--pinned" in classes
            return "message", None, m
        if "chatlog__message" in classes:
            if self.msg is not None and not self.msg.implicit:
                return None, None, None  # the inner block of a 2.3x message container
            m = self._new_message(_message_id_attr(attrs))
            m.pinned = "chatlog__message--pinned" in classes
            return "message", None, m
        if "chatlog" in classes:
            self.markers += 1
            return "chatlog", None, None
        # Authors and times.
        if classes & {"chatlog__author", "chatlog__author-name",
                      "chatlog__system-notification-author"}:
            author = {"id": (attrs.get("data-user-id") or "").strip() or None,
                      "title": attrs.get("title") or None, "name": None, "bot": False}
            if "chatlog__system-notification-author" in classes:
                self._ensure_message().system = True
                return "sys_author", [], author
            return "author", [], author
        if classes & {"chatlog__bot-tag", "chatlog__bot-label", "chatlog__author-tag"}:
            return "author_tag", [], None
        if classes & {"chatlog__timestamp", "chatlog__short-timestamp",
                      "chatlog__system-notification-timestamp"}:
            return "timestamp", [], attrs.get("title") or None
        if "chatlog__edited-timestamp" in classes:
            if self.msg is not None:
                self.msg.edited = True
                self.msg.edited_text = attrs.get("title") or None
            return "edited", _SWALLOW, None
        if "chatlog__system-notification-content" in classes:
            self._ensure_message().system = True
            return "sys_content", [], None
        # Content (a new one starts a message on old pages without message wrappers).
        if "chatlog__content" in classes:
            if self.msg is None or (self.msg.implicit and self.msg.content is not None):
                self._new_message(None, implicit=True)
            return "content", [], None
        # Replies: at group level (2.2x) or inside the message (2.3x on).
        if classes & {"chatlog__reference", "chatlog__reply"}:
            self.reply = {"id": None, "author": None, "author_name": None, "text": None,
                          "unavailable": False}
            return "reply", None, self.reply
        if self.reply is not None:
            if classes & {"chatlog__reference-author", "chatlog__reference-name",
                          "chatlog__reply-author"}:
                self.reply["author"] = attrs.get("title") or None
                return "reply_author", [], None
            if classes & {"chatlog__reference-link", "chatlog__reply-link"}:
                found = _SCROLL_ID.search(attrs.get("onclick") or attrs.get("href") or "")
                if found:
                    self.reply["id"] = found.group(1)
                return None, None, None
            if classes & {"chatlog__reference-content", "chatlog__reply-content"}:
                return "reply_text", [], None
            if classes & {"chatlog__reference-unknown", "chatlog__reply-unknown"}:
                self.reply["unavailable"] = True
                return None, _SWALLOW, None
        # Attachments, embeds, stickers, reactions.
        if "chatlog__attachment" in classes:
            self._ensure_message()
            self.att = {"url": None, "name": None, "size": None}
            return "attachment", [], self.att
        if self.att is not None:
            if "chatlog__attachment-generic-name" in classes:
                return "att_name", [], None
            if "chatlog__attachment-generic-size" in classes:
                return "att_size", [], None
            if "chatlog__attachment-spoiler-caption" in classes:
                return None, _SWALLOW, None
        if "chatlog__embed" in classes:
            self._ensure_message()
            self.embed = {}
            return "embed", _SWALLOW, self.embed
        if self.embed is not None:
            if "chatlog__embed-title" in classes:
                return "embed_title", [], None
            if "chatlog__embed-description" in classes:
                return "embed_description", [], None
        if "chatlog__sticker" in classes:
            self._ensure_message().stickers.append(attrs.get("title") or "sticker")
            return None, None, None
        if "chatlog__reaction" in classes:
            self._ensure_message()
            self.reaction = {"emoji": None, "count": None}
            return "reaction", _SWALLOW, self.reaction
        if self.reaction is not None:
            if "chatlog__reaction-count" in classes:
                return "reaction_count", [], None
            if "chatlog__reaction-emoji" in classes:
                return "reaction_emoji", [], None
        # The channel's header and the closing summary.
        if "preamble__entry" in classes:
            return "preamble", [], "preamble__entry--small" in classes
        if classes & {"info__guild-name", "info__channel-name", "info__channel-topic",
                      "info__channel-message-count"}:
            key = next(iter(classes & {"info__guild-name", "info__channel-name",
                                       "info__channel-topic", "info__channel-message-count"}))
            return "info", [], key
        if "postamble__entry" in classes:
            return "postamble", [], None
        return None, None, None

    def _img(self, attrs: dict[str, str], classes: set[str]) -> None:
        alt = attrs.get("alt") or attrs.get("title") or ""
        if self.reaction is not None and ("emoji" in classes or "chatlog__emoji" in classes
                                          or not self.reaction.get("emoji")):
            self.reaction["emoji"] = self.reaction.get("emoji") or alt or None
            return
        if self.att is not None:
            self._file_hint(attrs)
            return
        if "emoji" in classes or "chatlog__emoji" in classes:
            cap = self._capture()
            if cap is not None and cap is not _SWALLOW and alt:
                # Custom emoji keep their name as Discord writes it in text.
                cap.append(f":{alt}:" if _CUSTOM_EMOJI_NAME.match(alt) else alt)

    def _file_hint(self, attrs: dict[str, str]) -> None:
        if self.att is None:
            return
        m = _FILE_TITLE.match(attrs.get("title") or "")
        if m:
            self.att["name"] = self.att.get("name") or m["name"]
            self.att["size"] = self.att.get("size") or m["size"].strip()
        if not self.att.get("url") and attrs.get("src"):
            self.att["url"] = attrs["src"]

    def _anchor(self, attrs: dict[str, str], classes: set[str]) -> None:
        href = attrs.get("href") or ""
        if "chatlog__system-notification-link" in classes and self.msg is not None:
            m = re.search(r"chatlog__message-container-(\d+)", href)
            if m:
                self.msg.sys_link_id = m.group(1)
            self.msg.sys_link_title = attrs.get("title") or self.msg.sys_link_title
        elif self.att is not None and href and not self.att.get("url"):
            self.att["url"] = href
        elif self.embed is not None and href:
            if "chatlog__embed-title-link" in classes or not self.embed.get("url") and \
                    not any(e[1] in ("embed_description", "embed_title") for e in self.stack):
                self.embed["url"] = href
        if self.reply is not None and "chatlog__reference-link" in classes:
            m = _SCROLL_ID.search(attrs.get("onclick") or "")
            if m:
                self.reply["id"] = m.group(1)
        self._push("a", None)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                break
        else:
            return  # a stray end tag
        while len(self.stack) > i:
            self._close(self.stack.pop())

    def handle_data(self, data: str) -> None:
        cap = self._capture()
        if cap is not None and cap is not _SWALLOW:
            cap.append(data)

    def _close(self, entry: list[Any]) -> None:
        _tag, role, cap, obj = entry
        if role is None:
            return
        text = "".join(cap).strip() if isinstance(cap, list) and cap is not _SWALLOW else ""
        if role == "message":
            if self.msg is obj:
                self._finish_message()
        elif role == "group":
            if self.msg is not None and self.msg.implicit:
                self._finish_message()
            self.group = None
        elif role in ("author", "sys_author"):
            obj["name"] = re.sub(r"\s+", " ", text) or None
            self.last_author = obj
            if role == "sys_author":
                if self.msg is not None:
                    self.msg.author = obj
            else:
                if self.group is not None:
                    self.group.author = obj
                if self.msg is not None and not self.msg.implicit:
                    self.msg.author = obj
        elif role == "author_tag":
            if self.last_author is not None and text:
                self.last_author["bot"] = True
                if text.upper() != "BOT":
                    self.last_author["tag"] = text
        elif role == "timestamp":
            value = obj or re.sub(r"\s+", " ", text) or None
            if self.msg is not None and not (self.msg.implicit and self.group is not None):
                self.msg.time_text = value
            elif self.group is not None:
                self.group.time_text = value
        elif role == "content":
            if self.msg is not None:
                self.msg.content = "".join(cap).strip("\n\r\t ") or self.msg.content or ""
        elif role == "sys_content":
            if self.msg is not None:
                self.msg.sys_text = re.sub(r"\s+", " ", text)
        elif role == "reply":
            reply, self.reply = obj, None
            if self.msg is not None and not self.msg.implicit:
                self.msg.reply = reply
            elif self.group is not None:
                self.group.pending_reply = reply
        elif role == "reply_author":
            if self.reply is not None:
                self.reply["author_name"] = re.sub(r"\s+", " ", text) or None
        elif role == "reply_text":
            if self.reply is not None:
                self.reply["text"] = re.sub(r"\s+", " ", text) or None
        elif role == "attachment":
            self.att = None
            if obj.get("name") is None:
                m = _FILE_TITLE.match(re.sub(r"\s+", " ", text))
                if m:
                    obj["name"], obj["size"] = m["name"], obj.get("size") or m["size"].strip()
            if self.msg is not None:
                self.msg.attachments.append(obj)
        elif role == "att_name":
            if self.att is not None and text:
                self.att["name"] = re.sub(r"\s+", " ", text)
        elif role == "att_size":
            if self.att is not None and text:
                self.att["size"] = text
        elif role == "embed":
            self.embed = None
            if self.msg is not None and obj:
                self.msg.embeds.append(obj)
        elif role in ("embed_title", "embed_description"):
            if self.embed is not None and text:
                self.embed[role[len("embed_"):]] = text
        elif role == "reaction":
            self.reaction = None
            if self.msg is not None:
                self.msg.reactions.append(obj)
        elif role == "reaction_count":
            if self.reaction is not None and text:
                digits = re.sub(r"\D", "", text)
                self.reaction["count"] = int(digits) if digits else None
        elif role == "reaction_emoji":
            if self.reaction is not None and text and not self.reaction.get("emoji"):
                self.reaction["emoji"] = text
        elif role == "preamble":
            self.preamble.append((bool(obj), re.sub(r"\s+", " ", text)))
        elif role == "info":
            self.info[obj] = re.sub(r"\s+", " ", text)
        elif role == "postamble":
            self.postamble.append(re.sub(r"\s+", " ", text))
        elif role == "chatlog":
            self.chatlog_closed = True
        elif role == "page_title":
            self.title_text = text or None

    def finish(self) -> None:
        """At the end of the file: flush the parser, and hand over a message left open by a
        file that stops inside it (marked incomplete: every layout closes its messages)."""
        self.close()
        if self.msg is not None:
            self.msg.incomplete = True
            self._finish_message()
        self.stack.clear()


def _channel_context(path: Path, guild: str | None, where: str | None,
                     authors: dict[str, Party], fmt: str,
                     ) -> tuple[dict[str, Any], dict[str, Party], Party | None]:
    """(base properties, members of a DM, the channel as a group party) for an HTML or TXT
    export, from the guild and channel its header names and the file name the exporter
    gave it ("Guild - Category - channel [channel id].html/.txt": the id makes the channel
    the same group as in a JSON export of it)."""
    category, ch_name = (where.split(" / ", 1) if where and " / " in where
                         else (None, where))
    m = re.search(r"\[(\d{6,})\][^\[\]]*$", path.stem)
    ch_id = m.group(1) if m else None
    direct = guild == "Direct Messages"
    base: dict[str, Any] = {"channel": PLATFORM, "export_format": fmt}
    if guild and not direct:
        base["guild"] = guild
    if ch_name:
        base["conversation"] = f"#{ch_name}" if guild and not direct else ch_name
    if ch_id:
        base["conversation_id"] = ch_id
    if category:
        base["category"] = category
    members: dict[str, Party] = {}
    conv: Party | None = None
    if direct:
        members = authors
        if len(members) > 2:
            conv = group(ch_id or ch_name or path.stem, ch_name, PLATFORM)
    else:
        label = f"{guild} #{ch_name}" if guild and ch_name else ch_name or guild
        conv = group(ch_id or ch_name or path.stem, label, PLATFORM)
    return base, members, conv


def _system_kind(text: str) -> str:
    low = text.lower()
    for needle, kind in (("joined the server", "GuildMemberJoin"),
                         ("to the group", "RecipientAdd"),
                         ("left the group", "RecipientRemove"),
                         ("from the group", "RecipientRemove"),
                         ("started a call", "Call"),
                         ("changed the channel name", "ChannelNameChange"),
                         ("changed the channel icon", "ChannelIconChange"),
                         ("to this channel", "ChannelPinnedMessage"),
                         ("started a thread", "ThreadCreated"),
                         ("pinned a message", "ChannelPinnedMessage"),
                         ("added a recipient", "RecipientAdd"),
                         ("removed a recipient", "RecipientRemove")):
        if needle in low:
            return kind
    return "System"


def _call_seconds(text: str) -> int | None:
    m = re.search(r"lasted\s+([\d.,\s\u00a0\u202f]+?)\s*minute", text)
    if not m:
        return None
    raw = re.sub(r"[\s\u00a0\u202f]", "", m.group(1))
    if raw.count(",") == 1 and "." not in raw and len(raw.split(",")[1]) != 3:
        raw = raw.replace(",", ".")  # a decimal comma
    else:
        raw = raw.replace(",", "")
    try:
        return max(0, int(round(float(raw) * 60)))
    except ValueError:
        return None


class _DayOrder:
    """Day/month order of numeric displayed dates, learnt from a whole file."""

    def __init__(self) -> None:
        self.day_first: bool | None = None
        self.ampm = False

    def see(self, text: str | None) -> None:
        if not text or self.day_first is not None:
            return
        m = _SLASH_DATE.match(text.strip())
        if not m:
            return
        a, b = int(m["a"]), int(m["b"])
        if a > 12 >= b:
            self.day_first = True
        elif b > 12 >= a:
            self.day_first = False
        self.ampm = self.ampm or bool(m["ap"])

    def decided(self) -> bool:
        return self.day_first if self.day_first is not None else not self.ampm


def _html_is_direct(page: _DceHtmlReader) -> bool:
    big = [t for small, t in page.preamble if not small]
    guild = big[0] if big else page.info.get("info__guild-name")
    return guild == "Direct Messages"


def _stated_count(page: _DceHtmlReader) -> int | None:
    """The message count the exporter wrote at the end ("Exported 1,234 message(s)")."""
    for entry in page.postamble:
        m = _EXPORTED.search(entry)
        if m:
            digits = re.sub(r"\D", "", m["n"])
            return int(digits) if digits else None
    # Old 2.x pages state it in their header instead ("1,234 messages").
    m = re.match(r"^(\d[\d\s.,'\u00a0\u202f]*)\s+messages?$",
                 page.info.get("info__channel-message-count") or "")
    if m:
        return int(re.sub(r"\D", "", m.group(1)))
    return None


def _display_date(text: str, day_first: bool) -> datetime | None:
    when = _csv_date(text.strip(), day_first)
    if when is not None:
        return when
    try:
        from dateutil import parser as dateparser

        when = dateparser.parse(text, dayfirst=day_first)
    except (ValueError, OverflowError):
        return None
    return when.replace(tzinfo=None) if when.tzinfo is None else when


# --- TXT -----------------------------------------------------------------------------
#
# The exporter's plain-text layout, in the generations it has written (the writer's own
# templates and code): a header block between two lines of 62 "=" ("Guild: ...",
# "Channel: [Category / ]name", then "Topic:", "After:", "Before:" when set; the early 2.x
# templates aligned the values ("Guild:    ...") and added "Messages:" and "Range:");
# then per message "[<date>] <user name>[ (pinned)]" (the earliest template: a run of
# messages under "<user name> [<date>]"), its text on the following lines (blank lines
# inside it kept), a blank line, then "{Attachments}" (once "{Attachment}" per file) with
# one URL or local path a line, "{Embed}" blocks, "{Stickers}", "{Reactions}"
# ("👍 (2) 🎉") and, in the newest versions, "{Forwarded Message}"; from 2.2x on the
# file closes with "Exported N message(s)" between two rules. Dates are written in the
# exporting computer's local time in its locale's short format, or a format the user
# chose (the default "dd-MMM-yy hh:mm tt" in 2.x; "unix"/"unixms" give Unix times), and
# the user name is "name#1234" (name alone, or "name#0000", for the new unique names).

_TXT_HEAD = re.compile(r"^\[(?P<d>[^\[\]]{1,64})\] (?P<who>\S.*?)(?P<pin> \(pinned\))?$")
_TXT_HEAD_OLD = re.compile(r"^(?P<who>\S.*?) \[(?P<d>[^\[\]]{1,64})\]$")
_TXT_FIELD = re.compile(r"^(Guild|Channel|Topic|Messages|Range|After|Before):(\s*)(.*)$")
_TXT_EXPORTED = re.compile(r"^Exported (?P<n>\d[\d\s.,'\u00a0\u202f]*) message\(s\)$")
_TXT_MARKERS = frozenset({"{Attachments}", "{Attachment}", "{Embed}", "{Stickers}",
                          "{Reactions}", "{Forwarded Message}"})
_TXT_REACTION = re.compile(r"(?P<emoji>\S+)(?: \((?P<n>\d+)\))?")
#: The fixed sentences the exporter writes as a system notification's text.
_TXT_SYSTEM = re.compile(
    r"^(?:Joined the server\.|Pinned a message\.|Started a thread\.|Left the group\."
    r"|Started a call that lasted [\d.,\s\u00a0\u202f]+ minutes?\."
    r"|Changed the channel name(?:: .+|\.)|Changed the channel icon\."
    r"|Added (?:.+ to the group|a recipient)\.|Removed (?:.+ from the group|a recipient)\.)$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.I)
_CDN_FILE = re.compile(r"^https?://(?:cdn\.discordapp\.com|media\.discordapp\.net)/"
                       r"attachments/\S+$", re.I)
_NUM_DATE = re.compile(r"^(?P<a>\d{1,4}) ?[/.\-] ?(?P<b>\d{1,2}) ?[/.\-] ?(?P<c>\d{1,4})\.?,?"
                       r"(?: |$)(?P<rest>.*)$")
_TXT_TIME = re.compile(r"(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?:[:.](?P<s>\d{2}))?")
_AMPM_WORDS = (("a. m.", "AM"), ("p. m.", "PM"), ("a.m.", "AM"), ("p.m.", "PM"),
               ("오전", "AM"), ("오후", "PM"), ("午前", "AM"), ("午後", "PM"),
               ("上午", "AM"), ("下午", "PM"))
_MAX_SHAPES = 64


_SPACES = re.compile(r"[\s\u00a0\u202f\u200e\u200f]+")
_DIGITS = re.compile(r"\d+")
_WORDS = re.compile(r"[^\W\d_]+")


def _txt_norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _date_shape(text: str) -> str:
    """A date's form with its numbers and words blanked ("1/5/2024 3:04 PM" and
    "12/25/2024 11:30 AM" are both "9/9/9 9:9 a"): every header of one file has the same."""
    return _WORDS.sub("a", _DIGITS.sub("9", _txt_norm(text)))


def _txt_when(text: str, day_first: bool) -> datetime | None:
    """The time a TXT export writes: naive local time, or aware UTC for Unix times."""
    t = _txt_norm(text)
    if t.isdigit() and 9 <= len(t) <= 14:
        return utc_from_ms(int(t) * (1 if len(t) >= 12 else 1000))
    m = _NUM_DATE.match(t)
    if m:
        a, b, c = m["a"], m["b"], m["c"]
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        elif len(c) in (2, 4) and len(a) <= 2:
            day, month = (int(a), int(b)) if day_first else (int(b), int(a))
            year = int(c) + (2000 if len(c) == 2 else 0)
        else:
            return None
        rest = m["rest"]
        for word, repl in _AMPM_WORDS:
            rest = rest.replace(word, repl).replace(word.upper(), repl)
        tm = _TXT_TIME.search(rest)
        if not tm:
            return None
        hour, minute, sec = int(tm["h"]), int(tm["mi"]), int(tm["s"] or 0)
        ap = re.search(r"(?<![A-Za-z])([AaPp])\.? ?[Mm]\.?(?![A-Za-z])", rest)
        if ap:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if ap.group(1).lower() == "p" else 0)
        try:
            return datetime(year, month, day, hour, minute, sec)
        except ValueError:
            return None
    when = parse_iso(t)
    if when is not None:
        return when
    # Month names ("05-Jan-24 03:04 PM", the 2.x default, and custom formats): no order to
    # decide. Only text with a time and a date's numbers is tried.
    if not _TXT_TIME.search(t) or len(re.findall(r"\d+", t)) < 3 \
            or not re.search(r"[^\W\d_]{3,}", t):
        return None
    for fmt in ("%d-%b-%y %I:%M %p", "%d-%b-%Y %I:%M %p", "%d-%b-%y %H:%M"):
        try:
            return datetime.strptime(t, fmt)
        except ValueError:
            pass
    try:
        from dateutil import parser as dateparser

        when = dateparser.parse(t, dayfirst=day_first)
    except (ValueError, OverflowError, TypeError):
        return None
    return when


def _txt_order_hint(text: str) -> bool | None:
    """True when a numeric date shows the day first (a first number above 12), False when
    it shows the month first, None when it does not tell."""
    m = _NUM_DATE.match(_txt_norm(text))
    if not m or len(m["a"]) > 2:
        return None
    a, b = int(m["a"]), int(m["b"])
    if a > 12 >= b:
        return True
    if b > 12 >= a:
        return False
    return None


def _txt_needs_order(text: str) -> bool:
    """Whether the date form puts day and month as bare numbers, year last."""
    m = _NUM_DATE.match(_txt_norm(text))
    return m is not None and len(m["a"]) <= 2 and len(m["c"]) in (2, 4)


def _txt_plausible(text: str) -> bool:
    t = _txt_norm(text)
    if not re.search(r"\d", t):
        return False
    return _txt_when(t, True) is not None or _txt_when(t, False) is not None


def _txt_header(line: str, style: str) -> tuple[str, str, bool] | None:
    """(date text, user name, pinned) when ``line`` has a message header's form."""
    m = (_TXT_HEAD if style == "new" else _TXT_HEAD_OLD).match(line.rstrip())
    if not m:
        return None
    return m["d"], m["who"].strip(), style == "new" and bool(m["pin"])


def _txt_author(who: str, role: str) -> Party | None:
    """The author of a TXT message: the account an HTML page without ids gives the same
    user name (key "name#1234", or the new unique "name"), as a TXT export has no ids."""
    handle = re.sub(r"#0{1,4}$", "", who.strip())
    if not handle:
        return None
    name = handle.rsplit("#", 1)[0] if re.search(r"#\d{4}$", handle) else handle
    return account(handle, name, PLATFORM, role,
                   {"username": handle, "identified_by": "user name (no user id in this export)"})


def _txt_attachment(url: str, files: ExportFiles | None = None) -> Attachment:
    name = _file_name(url)
    return _on_disk(Attachment(name=name, mime=guess_mime(name), path=safe_relpath(url)),
                    url, files)


def _trim_blank(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _txt_lines(path: Path, options: ImportOptions) -> Iterator[tuple[int, str]]:
    """(line number, text without its line end), one line at a time."""
    with open_text(path, encoding=options.encoding) as fh:
        n = 0
        while True:
            try:
                line = fh.readline()
            except UnicodeDecodeError as exc:
                raise ParseError(f"undecodable bytes ({exc.reason}) with encoding "
                                 f"{fh.encoding}", file=path, ref=f"line {n + 1}") from None
            if not line:
                return
            n += 1
            if n == 1:
                line = line.lstrip("\ufeff")
            yield n, line.rstrip("\r\n")


class _TxtCandidate:
    """Lines of one header form (style and date shape) seen in the first pass."""

    __slots__ = ("count", "line", "text", "dmy", "mdy", "authors", "names", "naive")

    def __init__(self, line: int, text: str) -> None:
        self.count = 0
        self.line = line
        self.text = text
        self.dmy: tuple[int, str] | None = None  # first date showing the day first
        self.mdy: tuple[int, str] | None = None
        self.authors: dict[str, Party] = {}
        self.names: set[str] = set()  # user names as written, already seen
        self.naive = True


class _TxtScan:
    def __init__(self) -> None:
        self.header: dict[str, str] = {}
        self.aligned = False          # early 2.x header ("Guild:    name")
        self.area_start = 0           # first line after the header block
        self.postamble_line: int | None = None
        self.stated: int | None = None
        self.double_blank = 0         # headers after two blank lines (2.2x on)
        self.candidates: dict[tuple[str, str], _TxtCandidate] = {}

    def see(self, style: str, date_text: str, who: str, n: int, blanks: int) -> None:
        key = (style, _date_shape(date_text))
        cand = self.candidates.get(key)
        if cand is None:
            # A new form: kept only when its date reads as one (a known form needs no
            # check: every header of a file has the same form).
            if len(self.candidates) >= _MAX_SHAPES or not _txt_plausible(date_text):
                return
            cand = self.candidates[key] = _TxtCandidate(n, _txt_norm(date_text))
            when = _txt_when(date_text, True) or _txt_when(date_text, False)
            cand.naive = when is None or when.tzinfo is None
        cand.count += 1
        if blanks >= 2:
            self.double_blank += 1
        hint = _txt_order_hint(date_text)
        if hint is True and cand.dmy is None:
            cand.dmy = (n, _txt_norm(date_text))
        elif hint is False and cand.mdy is None:
            cand.mdy = (n, _txt_norm(date_text))
        if who not in cand.names:
            cand.names.add(who)
            a = _txt_author(who, "participant")
            if a is not None and a.value not in cand.authors:
                cand.authors[a.value] = a

    def chosen(self) -> tuple[str, str] | None:
        if not self.candidates:
            return None
        return max(self.candidates, key=lambda k: self.candidates[k].count)

    def expects_postamble(self) -> bool:
        """Whether the writer of this file closes it with "Exported N message(s)" (2.2x on:
        no "Messages:" in the header, a blank line more after each message)."""
        return not self.aligned and "messages" not in self.header and (
            self.double_blank > 0 or " / " in self.header.get("channel", ""))


def _txt_scan(path: Path, options: ImportOptions) -> _TxtScan:
    scan = _TxtScan()
    state = "start"
    field: str | None = None
    blanks = 1  # blank lines before the current one (the header block ends like one)
    rule_at: int | None = None
    for n, line in _txt_lines(path, options):
        if state == "start":
            if line.strip() != _TXT_RULE:
                raise ParseError("not a DiscordChatExporter TXT export (no header block)",
                                 file=path, ref="line 1")
            state = "header"
            continue
        if state == "header":
            if line.strip() == _TXT_RULE:
                state, scan.area_start = "messages", n + 1
                continue
            m = _TXT_FIELD.match(line)
            if m:
                field = m.group(1).lower()
                scan.header[field] = m.group(3).strip()
                if field == "guild" and len(m.group(2)) > 1:
                    scan.aligned = True
            elif field is not None:
                scan.header[field] += "\n" + line  # a topic over several lines
            continue
        if rule_at is not None:
            em = _TXT_EXPORTED.match(line.strip())
            if em:
                scan.postamble_line = rule_at
                scan.stated = int(re.sub(r"\D", "", em["n"]))
                break
            rule_at = None
        stripped = line.strip()
        if blanks and stripped == _TXT_RULE:
            rule_at = n
        if blanks:
            for style in ("new", "old"):
                h = _txt_header(line, style)
                if h is not None and re.search(r"\d", h[0]):
                    scan.see(style, h[0], h[1], n, blanks)
        blanks = 0 if stripped else blanks + 1
    if state != "messages":
        raise ParseError("the file ends inside the export's header block (cut short before "
                         "its first message)", file=path)
    return scan


class _TxtMessage:
    __slots__ = ("line", "date_text", "author", "pinned", "body", "sections", "incomplete",
                 "last_blank")

    def __init__(self, line: int, date_text: str, author: str, pinned: bool) -> None:
        self.line = line
        self.date_text = _txt_norm(date_text)
        self.author = author
        self.pinned = pinned
        self.body: list[str] = []
        self.sections: list[tuple[str, list[str]]] = []
        self.incomplete = False
        self.last_blank = False

    def add(self, line: str, after_blank: bool) -> None:
        marker = line.strip()
        if after_blank and marker in _TXT_MARKERS:
            self.sections.append((marker, []))
        elif self.sections:
            self.sections[-1][1].append(line)
        else:
            self.body.append(line)
        self.last_blank = not marker


def _txt_messages(path: Path, options: ImportOptions, scan: _TxtScan,
                  key: tuple[str, str]) -> Iterator[_TxtMessage]:
    """The messages in file order: a header is a line of the file's header form, with a date
    of the file's shape, after a blank line (text lines that merely start with "[" are not)."""
    style, shape = key
    cur: _TxtMessage | None = None
    after_blank = True
    for n, line in _txt_lines(path, options):
        if n < scan.area_start:
            continue
        if scan.postamble_line is not None and n >= scan.postamble_line:
            break
        if after_blank:
            h = _txt_header(line, style)
            if h is not None and _date_shape(h[0]) == shape:
                if cur is not None:
                    yield cur
                cur = _TxtMessage(n, *h)
                after_blank = False
                continue
        if cur is not None:
            cur.add(line, after_blank)
        after_blank = not line.strip()
    if cur is not None:
        # Every layout ends a message with a blank line: a file that stops before it stops
        # inside the message.
        cur.incomplete = scan.postamble_line is None and not cur.last_blank
        yield cur


def _txt_day_order(path: Path, options: ImportOptions, scan: _TxtScan,
                   cand: _TxtCandidate) -> tuple[bool, str | None]:
    """(day first?, how that was decided) for the file's dates: the import options'
    ``profile["date_order"]`` ("dmy"/"mdy"), else a day above 12 anywhere in the file;
    a ParseError when numeric dates never show it."""
    forced = forced_date_order(options, path)
    if forced:
        return forced == "dmy", f"{forced} as given in the import options"
    dmy, mdy = cand.dmy, cand.mdy
    shape = _date_shape(cand.text)
    for field in ("after", "before"):
        text = scan.header.get(field) or ""
        if text and _date_shape(text) == shape:
            hint = _txt_order_hint(text)
            if hint is True and dmy is None:
                dmy = (0, _txt_norm(text))
            elif hint is False and mdy is None:
                mdy = (0, _txt_norm(text))

    def where(seen: tuple[int, str]) -> str:
        return f"{seen[1]!r} (line {seen[0]})" if seen[0] else f"{seen[1]!r} (export range)"

    if dmy is not None and mdy is not None:
        raise ParseError(f"the dates disagree on the day/month order: {where(dmy)} has the "
                         f"day first, {where(mdy)} the month first", file=path,
                         ref=f"line {max(dmy[0], mdy[0])}", field="date")
    if dmy is not None:
        return True, f"day first, as {where(dmy)} shows"
    if mdy is not None:
        return False, f"month first, as {where(mdy)} shows"
    if not _txt_needs_order(cand.text):
        return True, None  # year first, month names or Unix times: nothing to decide
    raise ParseError(
        f"the dates in this DiscordChatExporter TXT export (such as {cand.text!r} on line "
        f"{cand.line}) do not show whether the day or the month comes first: no day above 12 "
        "appears in the whole file. Import it with the date order given (--date-order dmy "
        "or mdy; the import wizard's \"Date order\"; date_order in the import options), or "
        "export the channel again in JSON format",
        file=path, ref=f"line {cand.line}", field="date")
