"""Facebook Messenger (and Instagram DM) JSON from "Download Your Information".

Two layouts:

* classic ``message_1.json``: ``participants`` [{name}], ``messages`` newest first with
  ``sender_name``, ``timestamp_ms``, ``content``, ``photos``/``videos``/``audio_files``/
  ``files``/``gifs`` [{uri, creation_timestamp}], ``sticker`` {uri}, ``share`` {link,
  share_text}, ``reactions``, ``type`` ("Generic", "Share", "Call", "Subscribe",
  "Unsubscribe"...), ``is_unsent``, ``call_duration``; ``thread_type`` "Regular" or
  "RegularGroup", and on older exports ``ip`` (the address the owner sent from, kept as
  an "origin" IP party). Strings are "mojibake": UTF-8 bytes written as Latin-1 code points; we
  repair them when the repair round-trips. The first exports (spring 2018) had
  ``timestamp`` in seconds and ``participants`` as plain names without the account owner.
  A long thread is split over ``message_1.json``, ``message_2.json``...: each file is
  imported on its own and they share the thread's ``thread_path`` as conversation id.
* end-to-end-encrypted chats (2024+): ``participants`` [names], ``threadName``,
  ``messages`` with ``senderName``, ``timestamp`` (ms), ``text``, ``media`` [{uri}],
  ``isUnsent``.

Group and call notices written as ordinary text (no ``type``, as on Instagram) are
recognised by their wording: "<name> joined the group.", "<name> made <name> an admin.",
and the nameless "Reacted ❤ to your message", "The video chat ended.".

Messages are yielded oldest first. ``ref`` is the message's position in the file
(``messages[i]``): the export has no message ids.

The file is streamed so memory stays flat however long the thread: a first pass reads
the thread's small fields wherever they sit (Facebook puts ``participants`` first and
``title`` after the messages), each message's sender, time and character offset, and
checks the whole file's syntax before anything is yielded; the second decodes the
messages again, a window at a time, in time order (for a newest-first file, back to
front). What is held is a window of messages plus 16 bytes a message (offset and time).
"""

from __future__ import annotations

import math
import re
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from workstation.ingest.chat._common import (
    ARRAY_START,
    MAX_STREAMED_JSON_BYTES,
    JsonReader,
    Mark,
    account,
    as_list,
    check_size,
    fix_mojibake,
    fix_mojibake_deep,
    group,
    guarded,
    guess_mime,
    json_keys_in_head,
    open_json,
    recipients_for,
    safe_relpath,
    utc_from_ms,
    walk_export,
)
from workstation.ingest.records import (
    Attachment,
    ImportOptions,
    ParsedEntity,
    ParsedEvent,
    ParsedLink,
    ParseError,
    Party,
    Record,
)
from workstation.ingest.textio import open_text

_SYSTEM_TYPES = frozenset({"subscribe", "unsubscribe", "call", "plan", "groupinvite",
                           "admintext", "system"})
_MEDIA_KEYS = ("photos", "videos", "audio_files", "files", "gifs", "media")
# Messenger writes group and call notices as ordinary "Generic" messages in the sender's
# name ("X named the group ...", "You added Y to the group.").
_NOTICE_RE = re.compile(
    r"^(?:named the group|added .{1,80} to the group|removed .{1,80} from the group|"
    r"left the group|joined the group|created the group|changed the group (?:photo|name|"
    r"description|image)|removed the group (?:photo|name|description)|changed the chat "
    r"theme|changed the theme|set the emoji to|set the quick reaction|set (?:the|your|his|"
    r"her|their|its) (?:own )?nickname|set the nickname for |set .{1,80}'s nickname|cleared "
    r"the nickname|cleared (?:his|her|their|your) (?:own )?nickname|started a (?:video |"
    r"audio )?(?:call|chat)|joined the (?:video |audio )?(?:call|chat)|ended the (?:video |"
    r"audio )?(?:call|chat)|missed a (?:video |audio )?(?:call|chat)|pinned a message|"
    r"unpinned a message|turned (?:on|off) disappearing|turned (?:on|off) member approval|"
    r"made .{1,80} an admin|removed .{1,80} as (?:a )?(?:group )?admin|(?:is|are) now an "
    r"admin|started sharing (?:their |his |her |your )?(?:live )?location|stopped sharing "
    r"(?:their |his |her |your )?(?:live )?location)", re.I)
# Notices written without the actor's name in front (Instagram's reaction and like notes,
# the calls' end, the "now connected" greeting of a new thread).
_BARE_NOTICE_RE = re.compile(
    r"^(?:reacted .{1,40} to your message|liked a message|the (?:video |audio )?(?:call|chat) "
    r"ended|you are now connected on messenger|you can now message and call each other\b.*|"
    r"say hi to your new facebook friend\b.{0,80}|you missed a (?:video |audio )?(?:call|chat)"
    r"(?: from .{1,80})?)[.!]?$", re.I)


def _when(raw: Any) -> Any:
    """A message time in milliseconds: the first exports wrote seconds (``timestamp``)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return raw
    return raw * 1000 if abs(raw) < 10**11 else raw  # 10**11 s is the year 5138


#: Top-level fields of a thread file that we use (the rest are skipped).
_THREAD_FIELDS = frozenset({"participants", "title", "threadName", "thread_path",
                            "thread_type"})
#: Read size while learning message offsets: a resumed read starts at most this many
#: characters before the message it wants.
_SEEK_CHUNK = 64 * 1024
#: Characters of messages decoded and held at a time while yielding in time order.
_WINDOW_CHARS = 128 * 1024
#: For a file out of time order (each window then needs a read over the file), the
#: window grows so that the file is read at most this many more times.
_MAX_REREADS = 64


def _sort_time(msg: dict[str, Any]) -> float:
    """The time a message sorts by (0 when it has none)."""
    raw = _when(msg.get("timestamp_ms", msg.get("timestamp")))
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return 0.0
    try:
        return float(raw)
    except OverflowError:
        return math.inf if raw > 0 else -math.inf


def _read_back(path: Path, encoding: str | None, order: Sequence[int], in_order: bool,
               starts: array[int], marks: list[Mark]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, message) for the message indexes in ``order``, decoded again from the file.

    ``starts`` holds each message's character offset and ``marks`` the points where
    reading can resume (both from the first pass). ``order`` is taken a window at a time
    (about ``_WINDOW_CHARS`` of messages): the window's messages are decoded in file
    order, jumping over the text between them, then yielded in ``order``. When
    ``in_order`` (file order or its reverse) each window is one stretch of the file, so
    this is one more pass with flat memory; otherwise windows are larger so the file is
    read at most ``_MAX_REREADS`` more times. Raises ParseError if the file no longer
    matches the first pass.
    """
    n = len(starts)
    offsets = [m[1] for m in marks]
    budget = _WINDOW_CHARS
    if not in_order and n:
        budget = max(budget, (starts[-1] - starts[0]) // _MAX_REREADS)
    reader: JsonReader | None = None
    with open_text(path, encoding=encoding) as fh:
        first = 0
        while first < len(order):
            last, size = first, 0
            while last < len(order) and (last == first or size < budget):
                j = order[last]
                size += starts[j + 1] - starts[j] if j + 1 < n else 0
                last += 1
            msgs: dict[int, dict[str, Any]] = {}
            for j in sorted(order[first:last]):
                k = bisect_right(offsets, starts[j]) - 1
                if reader is None or starts[j] < reader.chars_before + reader.pos or \
                        offsets[k] > reader.chars_before + len(reader.buf):
                    # Behind the reader, or past what it has read: jump to it.
                    fh.seek(marks[k][0])
                    reader = JsonReader(fh, path, chunk=_SEEK_CHUNK, resume=marks[k])
                reader.skip_to(starts[j])
                msg = reader.value()
                if not isinstance(msg, dict):
                    raise ParseError("the file changed while it was being read", file=path,
                                     ref=reader.where(reader.pos))
                msgs[j] = msg
            for j in order[first:last]:
                yield j, msgs.pop(j)
            first = last


class MessengerJsonParser:
    """Facebook Messenger / Instagram DM JSON thread (``message_N.json``).

    Yields ParsedEvents oldest first: "message" for messages, "system" for calls,
    joins/leaves and group notices; and, for group threads, one ParsedEntity per
    participant linked ``member_of`` the group. Times are aware UTC from milliseconds.
    Raises ParseError for invalid or truncated JSON (line and column; raised before the
    first record), a missing ``messages`` list or a file over ``max_bytes``.
    """

    name = "messenger_json"
    label = "Facebook Messenger / Instagram messages (Download Your Information JSON)"

    def __init__(self, max_bytes: int = MAX_STREAMED_JSON_BYTES) -> None:
        self.max_bytes = max_bytes

    def sniff(self, path: Path, head: bytes) -> float:
        first, keys = json_keys_in_head(head)
        if first != "{" or "messages" not in keys and "participants" not in keys:
            return 0.0
        if keys & {"from_id", "date_unixtime", "guild"}:
            return 0.0
        if keys & {"sender_name", "timestamp_ms", "thread_path"}:
            return 0.95
        if "participants" in keys and keys & {"senderName", "threadName"}:
            return 0.9
        return 0.0

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        check_size(path, self.max_bytes)
        # Pass 1: the thread's small fields (wherever they sit), each message's sender,
        # time and offset, and the whole file's syntax, before anything is yielded.
        fields: dict[str, Any] = {}
        senders: dict[str, None] = {}
        starts: array[int] = array("q")
        times: array[float] = array("d")
        marks: list[Mark] = []
        has_list = False
        with open_json(path, encoding=options.encoding, chunk=_SEEK_CHUNK,
                       marks=marks) as reader:
            for key, value in walk_export(reader, "messages",
                                          "not a Messenger export: no 'messages' list"):
                if key is None:
                    if isinstance(value, dict):
                        starts.append(reader.start)
                        times.append(_sort_time(value))
                        s = value.get("sender_name", value.get("senderName"))
                        if isinstance(s, str) and s:
                            senders.setdefault(fix_mojibake(s))
                elif key == "messages":
                    has_list = value is ARRAY_START
                elif key in _THREAD_FIELDS:
                    fields[key] = value
        if not has_list:
            raise ParseError("not a Messenger export: no 'messages' list", file=path)
        data: dict[str, Any] = fix_mojibake_deep(fields)
        platform = "instagram" if any("instagram" in part.lower() for part in path.parts) \
            else "messenger"
        names: list[str] = []
        for p in as_list(data.get("participants")):
            name = p.get("name") if isinstance(p, dict) else p
            if isinstance(name, str) and name and name not in names:
                names.append(name)
        listed = len(names)
        # Senders missing from the list: the account owner (left out of the first exports)
        # and people who have since left a group.
        known = set(names)
        names.extend(s for s in senders if s not in known)
        thread_type = str(data.get("thread_type") or "").lower()
        if thread_type:
            is_group = thread_type == "regulargroup"
        else:
            # Without a thread type the listed participants decide; the senders only when
            # there is no list (a stray sender is more often a renamed account).
            is_group = listed > 2 if listed else len(names) > 2
        title = data.get("title") or data.get("threadName")
        thread = data.get("thread_path") or title
        base: dict[str, Any] = {"channel": platform}
        if title:
            base["conversation"] = title
        if data.get("thread_path"):
            base["conversation_id"] = data["thread_path"]
        members = [self._party(n, "participant", platform) for n in names]
        conv: Party | None = None
        if is_group:
            conv = group(str(thread or path.parent.name), title, platform)
            for i, member in enumerate(members):
                yield ParsedEntity(party=member,
                                   ref=f"participants[{i}]" if i < listed else "messages",
                                   links=(ParsedLink("member_of", member, conv),))

        # Oldest first: the file is newest first, so reverse it (ties keep their relative
        # order); sort only when the times are out of order.
        n = len(starts)
        order: Sequence[int] = range(n - 1, -1, -1) if n > 1 and times[0] > times[-1] \
            else range(n)
        in_order = all(times[order[k]] <= times[order[k + 1]] for k in range(n - 1))
        if not in_order:
            order = sorted(order, key=times.__getitem__)
        # Pass 2: read the messages back in that order.
        for index, raw in _read_back(path, options.encoding, order, in_order, starts, marks):
            msg = fix_mojibake_deep(raw)
            yield guarded(f"messages[{index}]",
                          lambda: self._event(msg, index, base, members, conv, platform))

    @staticmethod
    def _party(name: str, role: str, platform: str) -> Party:
        return account(name, name, platform, role, {"identified_by": "display name"})

    def _event(self, msg: dict[str, Any], index: int, base: dict[str, Any],
               members: list[Party], conv: Party | None, platform: str) -> ParsedEvent:
        ref = f"messages[{index}]"
        sender_name = msg.get("sender_name", msg.get("senderName"))
        raw_ts = msg.get("timestamp_ms", msg.get("timestamp"))
        occurred = utc_from_ms(_when(raw_ts))
        text = msg.get("content", msg.get("text"))
        body = text if isinstance(text, str) and text else None
        mtype = str(msg.get("type") or "")
        props: dict[str, Any] = dict(base)
        if mtype:
            props["message_type"] = mtype
        sender = self._party(sender_name, "sender", platform) \
            if isinstance(sender_name, str) and sender_name else None
        system = mtype.lower() in _SYSTEM_TYPES or (
            body is not None and isinstance(sender_name, str) and sender_name
            and mtype.lower() in ("", "generic")
            and self._is_notice(body, sender_name))
        if system:
            if msg.get("call_duration") is not None:
                props["call_duration"] = msg["call_duration"]
            if msg.get("missed") is not None:
                props["missed"] = msg["missed"]
            parties: list[Party] = []
            if sender is not None:
                parties.append(self._party(sender.value, "participant", platform))
            for u in as_list(msg.get("users")):
                if isinstance(u, dict) and u.get("name") and \
                        all(p.value != u["name"] for p in parties):
                    parties.append(self._party(u["name"], "participant", platform))
            title = body or f"{sender_name or 'someone'}: {mtype or 'notice'}"
            return ParsedEvent(kind="system", occurred_at=occurred, ref=ref, title=title,
                               body=body, parties=tuple(parties), properties=props)
        parties = [sender] if sender else []
        if conv is not None:
            parties.append(conv)
        else:
            parties.extend(recipients_for(sender.value if sender else None, members))
        attachments: list[Attachment] = []
        for key in _MEDIA_KEYS:
            for item in as_list(msg.get(key)):
                if isinstance(item, dict) and item.get("uri"):
                    attachments.append(self._attachment(str(item["uri"])))
                    created = utc_from_ms(_when(item.get("creation_timestamp")))
                    if created is not None and isinstance(item.get("creation_timestamp"), int):
                        props.setdefault("media_created_at", []).append(created.isoformat())
        sticker = msg.get("sticker")
        if isinstance(sticker, dict) and sticker.get("uri"):
            attachments.append(self._attachment(str(sticker["uri"])))
            props["sticker"] = True
        share = msg.get("share")
        if isinstance(share, dict):
            if share.get("link"):
                props["urls"] = [share["link"]]
            if share.get("share_text"):
                props["share_text"] = share["share_text"]
            if share.get("original_content_owner"):  # Instagram shared posts
                props["shared_from"] = share["original_content_owner"]
        if msg.get("call_duration") is not None:
            props["call_duration"] = msg["call_duration"]
        ip = msg.get("ip")
        if isinstance(ip, str) and ip.strip() and sender is not None:
            # Older exports name the IP address the account owner sent from.
            parties.append(Party(kind="ip", value=ip.strip(), role="origin",
                                 properties={"field": "ip"}))
        if msg.get("is_unsent") or msg.get("isUnsent"):
            props["deleted"] = True
        if msg.get("is_taken_down"):
            props["taken_down"] = True
        reactions = []
        for r in as_list(msg.get("reactions")):
            if isinstance(r, dict):
                item = {"reaction": r.get("reaction"), "actor": r.get("actor")}
                at = utc_from_ms(_when(r.get("timestamp")))
                if at is not None and isinstance(r.get("timestamp"), int):
                    item["at"] = at.isoformat()
                reactions.append(item)
        if reactions:
            props["reactions"] = reactions
        return ParsedEvent(kind="message", occurred_at=occurred, ref=ref, body=body,
                           parties=tuple(parties), attachments=tuple(attachments),
                           properties=props)

    @staticmethod
    def _is_notice(body: str, sender_name: str) -> bool:
        if _BARE_NOTICE_RE.match(body.strip()):
            return True
        for who in (sender_name, "You"):
            if body.startswith(who + " ") and _NOTICE_RE.match(body[len(who) + 1:]):
                return True
        return False

    @staticmethod
    def _attachment(uri: str) -> Attachment:
        name = Path(uri).name or uri
        return Attachment(name=name, mime=guess_mime(name), path=safe_relpath(uri))
