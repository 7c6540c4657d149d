"""Telegram Desktop exports: machine-readable JSON (result.json) and HTML (messages*.html).

JSON comes in two shapes: one chat (``{"name", "type", "id", "messages": [...]}``) and the
whole-account export (``{"personal_information", "contacts", "chats": {"list": [...]},
"left_chats": {"list": [...]}}``). A whole-account export runs to gigabytes, so the file is
streamed: the shared :class:`~workstation.ingest.chat._common.JsonReader` walks the outer
structure and decodes one message at a time, in two passes (the first learns each chat's
name, type and members, and checks the syntax of the whole file before anything is
yielded; the second yields). Memory stays flat.

HTML pages hold at most ~1000 messages each and are parsed with the standard library's
``html.parser``. A message continuing a run by the same sender ("joined") carries no
sender name; it inherits the previous message's sender, looking back into the previous
page (``messages<N-1>.html``) when the run crosses a page boundary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from datetime import date, datetime, timedelta, timezone, tzinfo
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from workstation.ingest.chat._common import (
    MAX_STREAMED_JSON_BYTES,
    ExportFiles,
    JsonReader,
    account,
    as_list,
    check_size,
    group,
    guarded,
    guess_mime,
    head_text,
    json_keys_in_head,
    parse_iso,
    parse_size_text,
    recipients_for,
    safe_relpath,
    utc_from_unix,
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

PLATFORM = "telegram"

_DIRECT_TYPES = frozenset({"personal_chat", "bot_chat", "saved_messages"})
_CHAT_TYPES_RE = re.compile(
    r'"type"\s*:\s*"(personal_chat|bot_chat|saved_messages|private_group|private_supergroup|'
    r'public_supergroup|private_channel|public_channel)"')
_NOT_INCLUDED_PREFIX = "("  # "(File not included. Change data exporting settings to download.)"


#: Default size cap for result.json. The file is streamed, so this is not a memory limit;
#: it only stops a runaway input (a disk image picked by mistake).
MAX_RESULT_JSON_BYTES = MAX_STREAMED_JSON_BYTES


# Fields of a service entry read elsewhere (or not facts of the action itself).
_SERVICE_SKIP = frozenset({"id", "type", "date", "date_unixtime", "actor", "actor_id", "text",
                           "text_entities", "members", "photo", "width", "height", "edited",
                           "edited_unixtime", "from", "from_id"})

_TOP = ("", 0)  # the chat of a single-chat export: the top-level object itself


def _walk(reader: JsonReader) -> Iterator[tuple[str, tuple[str, int], str, Any]]:
    """(what, chat key, field, value) in file order: what is "field" (a top-level or chat
    field), "chat" (a chat object starts) or "message" (one message object)."""
    if reader.peek() != "{":
        raise ParseError("not a Telegram export: the top level is not an object",
                         file=reader.path)
    for key in reader.keys():
        if key == "messages" and reader.peek() == "[":
            yield "chat", _TOP, "", None
            for _ in reader.items():
                yield "message", _TOP, "", reader.value()
        elif key in ("chats", "left_chats") and reader.peek() == "{":
            for sub in reader.keys():
                if sub != "list" or reader.peek() != "[":
                    reader.value()
                    continue
                for n, _ in enumerate(reader.items()):
                    chat_key = (key, n)
                    if reader.peek() != "{":
                        reader.value()
                        continue
                    yield "chat", chat_key, "", None
                    for ck in reader.keys():
                        if ck == "messages" and reader.peek() == "[":
                            for _ in reader.items():
                                yield "message", chat_key, "", reader.value()
                        else:
                            yield "field", chat_key, ck, reader.value()
        else:
            yield "field", _TOP, key, reader.value()
    reader.end()


@dataclass
class _ChatInfo:
    """What the first pass learns about one chat."""

    fields: dict[str, Any] = field(default_factory=dict)
    senders: dict[str, Party] = field(default_factory=dict)


def _flatten_text(value: Any) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's ``text`` (a string, or a list of strings and {type, text} entities)."""
    if isinstance(value, str):
        return value, []
    if isinstance(value, list):
        parts: list[str] = []
        entities: list[dict[str, Any]] = []
        for item in value:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, dict):
                parts.append(str(item.get("text", "")))
                entities.append(item)
        return "".join(parts), entities
    return "", []


def _entity_parties(entities: list[dict[str, Any]]) -> tuple[list[Party], list[str]]:
    """Accounts, phones, e-mails and card numbers Telegram itself marked in the text; and
    the links."""
    parties: list[Party] = []
    urls: list[str] = []
    for ent in entities:
        kind = ent.get("type")
        text = str(ent.get("text", "")).strip()
        if kind == "mention" and text:
            parties.append(account(text, text, PLATFORM, "mentioned"))
        elif kind == "mention_name" and ent.get("user_id") is not None:
            parties.append(account(f"user{ent['user_id']}", text or None, PLATFORM, "mentioned"))
        elif kind == "phone" and text:
            parties.append(Party(kind="phone", value=text, role="mentioned"))
        elif kind == "email" and text:
            parties.append(Party(kind="email", value=text, role="mentioned"))
        elif kind == "bank_card" and text:
            parties.append(Party(kind="card", value=re.sub(r"[\s-]", "", text),
                                 role="mentioned", label=text))
        elif kind == "link" and text:
            urls.append(text)
        elif kind == "text_link" and ent.get("href"):
            urls.append(str(ent["href"]))
    return parties, urls


def _file_attachment(name: str, mime: str | None, size: Any, written: str | None,
                     files: ExportFiles | None) -> Attachment:
    """An attachment as the export names it; with the size and digests of the file when it
    sits in the export folder (the stated size otherwise)."""
    got = files.hashes(written) if files is not None and written else None
    if got is not None:
        return Attachment(name=name, mime=mime, size=got.size, sha256=got.sha256, md5=got.md5,
                          path=safe_relpath(written))
    return Attachment(name=name, mime=mime,
                      size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                      path=safe_relpath(written))


def _media(msg: dict[str, Any], files: ExportFiles | None = None,
           ) -> tuple[list[Attachment], dict[str, Any]]:
    """Attachments and media facts of one JSON message (``files``: the export's folder,
    where the files it names are hashed)."""
    atts: list[Attachment] = []
    props: dict[str, Any] = {}
    for key, size_key in (("photo", "photo_file_size"), ("file", "file_size")):
        raw = msg.get(key)
        if not isinstance(raw, str) or not raw:
            continue
        included = not raw.startswith(_NOT_INCLUDED_PREFIX)
        path = raw if included else None
        name = msg.get("file_name") if key == "file" else None
        if not name or not isinstance(name, str):
            name = Path(raw).name if included else str(msg.get("media_type") or key)
        mime = msg.get("mime_type") if key == "file" else None
        atts.append(_file_attachment(str(name), mime or guess_mime(path or str(name)),
                                     msg.get(size_key), path, files))
        if not included:
            props["media_not_included"] = raw
    for key in ("media_type", "sticker_emoji", "duration_seconds", "performer", "title",
                "width", "height", "via_bot", "author", "media_spoiler", "paid_stars_amount"):
        if key in msg and msg[key] not in (None, ""):
            props[key] = msg[key]
    for key in ("giveaway_information", "giveaway_results"):
        if isinstance(msg.get(key), dict):
            props[key] = dict(msg[key])
    if isinstance(msg.get("location_information"), dict):
        loc = msg["location_information"]
        props["location"] = {"latitude": loc.get("latitude"), "longitude": loc.get("longitude")}
    # A venue keeps its name and address even when its point is not valid (then
    # tdesktop writes no location_information); a live location its period.
    for key in ("place_name", "address", "live_location_period_seconds"):
        if msg.get(key):
            props[key] = msg[key]
    if msg.get("game_title"):
        props["game"] = {k: msg[k] for k in ("game_title", "game_description", "game_link")
                         if msg.get(k)}
    invoice = msg.get("invoice_information")
    if isinstance(invoice, str):
        # tdesktop writes this object as a string holding its JSON text.
        try:
            invoice = json.loads(invoice)
        except ValueError:
            invoice = {"text": invoice}
    if isinstance(invoice, dict) and invoice:
        props["invoice"] = invoice
    if isinstance(msg.get("contact_information"), dict):
        props["contact"] = dict(msg["contact_information"])
    vcard = msg.get("contact_vcard")
    if isinstance(vcard, str) and vcard:
        included = not vcard.startswith(_NOT_INCLUDED_PREFIX)
        name = Path(vcard).name if included else "contact.vcf"
        atts.append(_file_attachment(name, "text/vcard", msg.get("contact_vcard_file_size"),
                                     vcard if included else None, files))
        if not included:
            props["media_not_included"] = vcard
    if isinstance(msg.get("poll"), dict):
        poll = msg["poll"]
        answers = [a for a in as_list(poll.get("answers")) if isinstance(a, dict)]
        props["poll"] = {"question": poll.get("question"),
                         "answers": [a.get("text") for a in answers],
                         "votes": [a.get("voters") for a in answers],
                         "chosen": [a.get("text") for a in answers if a.get("chosen")],
                         "total_voters": poll.get("total_voters"),
                         "closed": poll.get("closed")}
    return atts, props


def _contact_parties(msg: dict[str, Any]) -> list[Party]:
    """The phone number of a shared contact, as a party of the message."""
    info = msg.get("contact_information")
    if not isinstance(info, dict) or not info.get("phone_number"):
        return []
    label = " ".join(str(info.get(k) or "") for k in ("first_name", "last_name")).strip()
    return [Party(kind="phone", value=str(info["phone_number"]), role="mentioned",
                  label=label or None)]


def _reactions(raw: list[Any]) -> tuple[list[dict[str, Any]], list[Party]]:
    """(reactions as kept on the message, the people listed as having reacted).

    Since 2024 Telegram Desktop writes ``{"type": "emoji"|"custom_emoji"|"paid", "count",
    "emoji" | "document_id", "recent": [{"from", "from_id", "date"}]}``; earlier exports
    only ``{"emoji", "count"}``. Who reacted and when is kept (``recent``, the local time as
    written) and each of them is a party of the message with the role "reacted".
    """
    out: list[dict[str, Any]] = []
    people: dict[str, Party] = {}
    for r in raw:
        if not isinstance(r, dict):
            continue
        kept: dict[str, Any] = {"type": r.get("type") or ("emoji" if r.get("emoji") else None),
                                "count": r.get("count")}
        for key in ("emoji", "document_id"):
            if r.get(key) not in (None, ""):
                kept[key] = r[key]
        recent: list[dict[str, Any]] = []
        for who in as_list(r.get("recent")):
            if not isinstance(who, dict):
                continue
            entry = {k: who.get(k) for k in ("from", "from_id", "date")
                     if who.get(k) not in (None, "")}
            when = _msg_time(who)
            if when is not None:
                entry["date"] = when.isoformat()
            recent.append(entry)
            party = _sender(who, role="reacted")
            if party is not None and party.value not in people:
                people[party.value] = party
        if recent:
            kept["recent"] = recent
        out.append({k: v for k, v in kept.items() if v is not None})
    return out, list(people.values())


def _msg_time(msg: dict[str, Any], key: str = "date") -> datetime | None:
    """``date_unixtime`` as aware UTC when present, else the naive local ``date``."""
    unix = utc_from_unix(msg.get(f"{key}_unixtime"))
    return unix if unix is not None else parse_iso(msg.get(key))


def _sender(msg: dict[str, Any], role: str = "sender") -> Party | None:
    name_key, id_key = ("from", "from_id") if "from_id" in msg or "from" in msg else (
        "actor", "actor_id")
    ident = msg.get(id_key)
    name = msg.get(name_key)
    if ident in (None, "") and not name:
        return None
    if isinstance(ident, int) and not isinstance(ident, bool):
        # Exports of 2019-2021 wrote the bare user id; later ones "user<id>", which is also
        # how the owner and mentions are named, so one person keeps one identifier.
        ident = f"user{ident}"
    value = str(ident) if ident not in (None, "") else str(name)
    props = {} if ident not in (None, "") else {"identified_by": "display name"}
    return account(value, str(name) if name else None, PLATFORM, role, props)


class TelegramJsonParser:
    """Telegram Desktop machine-readable export (``result.json``): one chat or a whole account.

    Yields one ParsedEvent per message (kind "message") or service entry (kind "system"),
    times from ``date_unixtime`` as aware UTC; the account owner and contacts of a full
    export as ParsedEntity. Attachment files in the export folder (``photos/``, ``files/``,
    ``voice_messages/``...) carry their size, SHA-256 and MD5; a path leading out of the
    folder is not read (a Notice). Raises ParseError for invalid JSON (naming line and
    column), an unrecognised layout or a file over ``max_bytes``.
    """

    name = "telegram_json"
    label = "Telegram Desktop export (result.json)"

    def __init__(self, max_bytes: int = MAX_RESULT_JSON_BYTES) -> None:
        self.max_bytes = max_bytes

    def sniff(self, path: Path, head: bytes) -> float:
        first, keys = json_keys_in_head(head)
        if first != "{":
            return 0.0
        if "messages" in keys and keys & {"date_unixtime", "from_id", "text_entities", "actor_id"}:
            return 0.95
        if "personal_information" in keys and ("chats" in keys or "telegram" in
                                               head_text(head).lower()):
            return 0.95
        if "messages" in keys and _CHAT_TYPES_RE.search(head_text(head)):
            return 0.8
        return 0.0

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        check_size(path, self.max_bytes, "Telegram exports")
        # Pass 1: chat names, types and senders, the owner; and the whole file's syntax.
        chats: dict[tuple[str, int], _ChatInfo] = {}
        top_fields: dict[str, Any] = {}
        owner_info: Any = None
        for what, key, name, value in self._stream(path, options):
            if what == "chat":
                chats.setdefault(key, _ChatInfo())
            elif what == "field":
                if key != _TOP:
                    chats[key].fields[name] = value
                elif name == "personal_information":
                    owner_info = value
                elif name in ("name", "type", "id"):
                    top_fields[name] = value
            elif isinstance(value, dict):
                p = _sender(value)
                senders = chats[key].senders
                if p is not None and p.value not in senders:
                    senders[p.value] = p
        if _TOP in chats:
            chats[_TOP].fields.update(top_fields)
        owner = self._owner(owner_info) if isinstance(owner_info, dict) else None
        if not chats and owner is None:
            raise ParseError("not a Telegram export: no 'messages' list and no 'chats'",
                             file=path)
        # Pass 2: yield, in file order.
        multi = _TOP not in chats
        contexts: dict[tuple[str, int], tuple[dict[str, Any], dict[str, Party],
                                              Party | None]] = {}
        counts: dict[tuple[str, int], int] = {}
        # Paths in result.json are relative to the export folder, where the file sits.
        files = ExportFiles(path.parent)
        for what, key, name, value in self._stream(path, options):
            if what == "field" and key == _TOP and name == "personal_information":
                if owner is not None:
                    yield ParsedEntity(party=owner, ref="personal_information")
            elif what == "field" and key == _TOP and name == "contacts" and \
                    isinstance(owner_info, dict):
                yield from self._contacts(value, owner)
            elif what == "field" and key == _TOP and name == "frequent_contacts":
                yield from self._frequent_contacts(value, owner)
            elif what == "field" and key == _TOP and name in ("sessions", "web_sessions"):
                yield from self._sessions(name, value, owner)
            elif what == "message" and isinstance(value, dict):
                if key not in contexts:
                    contexts[key] = self._chat_context(chats[key], owner)
                base, members, conv = contexts[key]
                counts[key] = i = counts.get(key, 0) + 1
                mid = value.get("id", f"#{i}")
                fields = chats[key].fields
                # Early exports gave chats no id; their name (or place in the list) then.
                chat_ref = fields.get("id")
                if chat_ref in (None, ""):
                    chat_ref = repr(fields["name"]) if isinstance(fields.get("name"), str) \
                        else f"#{key[1] + 1}"
                ref = f"chat {chat_ref} message {mid}" if multi else f"message {mid}"
                yield guarded(ref, partial(self._event, value, ref, base, members, conv, files))
                yield from files.notices(ref)

    @staticmethod
    def _stream(path: Path, options: ImportOptions,
                ) -> Iterator[tuple[str, tuple[str, int], str, Any]]:
        with open_text(path, encoding=options.encoding) as fh:
            yield from _walk(JsonReader(fh, path))

    @staticmethod
    def _owner(info: dict[str, Any]) -> Party | None:
        uid = info.get("user_id")
        if uid is None:
            return None
        label = " ".join(str(info.get(k) or "") for k in ("first_name", "last_name")).strip()
        props = {k: info[k] for k in ("username", "phone_number", "bio") if info.get(k)}
        return account(f"user{uid}", label or None, PLATFORM, "account_holder", props)

    @staticmethod
    def _contacts(section: Any, owner: Party | None) -> Iterator[Record]:
        """The owner's saved contacts: each phone number, and the Telegram account behind
        it when the export names its ``user_id`` (that account uses that number)."""
        if not isinstance(section, dict):
            return
        for i, c in enumerate(as_list(section.get("list"))):
            if not isinstance(c, dict) or not c.get("phone_number"):
                continue
            label = " ".join(str(c.get(k) or "") for k in ("first_name", "last_name")).strip()
            props = {}
            added = _msg_time(c)
            if added is not None:
                props["contact_added_at"] = added.isoformat()
            phone = Party(kind="phone", value=str(c["phone_number"]), role="contact",
                          label=label or None, properties=props)
            links: list[ParsedLink] = [ParsedLink("contact_of", phone, owner)] if owner else []
            uid = c.get("user_id")
            if isinstance(uid, (int, str)) and not isinstance(uid, bool) and str(uid).strip():
                user = account(f"user{uid}", label or None, PLATFORM, "contact")
                links.append(ParsedLink("uses", user, phone))
                if owner is not None:
                    links.append(ParsedLink("contact_of", user, owner))
            yield ParsedEntity(party=phone, ref=f"contacts[{i}]", links=tuple(links))

    @staticmethod
    def _frequent_contacts(section: Any, owner: Party | None) -> Iterator[Record]:
        """Telegram's "frequent contacts" (top peers): people, inline bots and call
        partners the owner deals with most, each with Telegram's rating."""
        if not isinstance(section, dict):
            return
        for i, c in enumerate(as_list(section.get("list"))):
            if not isinstance(c, dict) or c.get("id") in (None, ""):
                continue
            kind = str(c.get("type") or "user")
            name = c.get("name") if isinstance(c.get("name"), str) else None
            props = {k: c[k] for k in ("category", "rating") if c.get(k) not in (None, "")}
            if kind == "user":
                party = account(f"user{c['id']}", name, PLATFORM, "frequent_contact", props)
            else:
                prefix = "chat" if kind == "private_group" else "channel"
                party = Party(kind="group", value=f"{prefix}{c['id']}", role="frequent_contact",
                              label=name, platform=PLATFORM, properties={**props,
                                                                         "chat_type": kind})
            links = (ParsedLink("communicated_with", owner, party),) if owner else ()
            yield ParsedEntity(party=party, ref=f"frequent_contacts[{i}]", links=links)

    @staticmethod
    def _sessions(section_name: str, section: Any, owner: Party | None) -> Iterator[Record]:
        """The account's active sessions (apps) and web sessions (sites logged in with
        Telegram): one system line each, at its last activity, naming the IP address it
        was last seen at; the IP is linked to the owner as an address they use."""
        if not isinstance(section, dict):
            return
        web = section_name == "web_sessions"
        for i, s in enumerate(as_list(section.get("list"))):
            if not isinstance(s, dict):
                continue
            ref = f"{section_name}[{i}]"
            last = _msg_time(s, "last_active")
            created = _msg_time(s, "created")
            ip = str(s.get("last_ip") or "").strip()
            props: dict[str, Any] = {"channel": PLATFORM,
                                     "session_type": "web" if web else "app"}
            keys = (("domain_name", "bot_username", "browser", "platform", "last_region")
                    if web else ("application_name", "application_version", "device_model",
                                 "platform", "system_version", "last_country", "last_region"))
            for key in keys:
                if s.get(key) not in (None, ""):
                    props[key] = s[key]
            if ip:
                props["ip"] = ip
            if created is not None:
                props["session_created_at"] = created.isoformat()
            parties: list[Party] = []
            links: list[ParsedLink] = []
            if owner is not None:
                parties.append(Party(kind=owner.kind, value=owner.value, role="account_holder",
                                     label=owner.label, platform=owner.platform))
            if ip:
                where = ", ".join(str(s[k]) for k in ("last_region", "last_country")
                                  if s.get(k))
                seen = {"field": "last_ip", **({"location": where} if where else {}),
                        **({"last_active": last.isoformat()} if last else {})}
                addr = Party(kind="ip", value=ip, role="origin", properties=seen)
                parties.append(addr)
                if owner is not None:
                    links.append(ParsedLink("uses", owner, addr))
            if web:
                what = " ".join(str(x) for x in (s.get("domain_name"), s.get("browser"),
                                                  s.get("platform")) if x)
                title = f"Telegram web login: {what}" if what else "Telegram web login"
            else:
                app = " ".join(str(x) for x in (s.get("application_name"),
                                                 s.get("application_version")) if x)
                device = ", ".join(str(x) for x in (
                    s.get("device_model"),
                    " ".join(str(y) for y in (s.get("platform"), s.get("system_version"))
                             if y)) if x)
                title = "Telegram session: " + " on ".join(x for x in (app, device) if x)
            if ip:
                title += f" from {ip}"
            # Not a message, so not an event (the CLI contract counts one event per chat
            # message): kept as a system line of the import, and the owner, the IP and the
            # "uses" link between them are entities and a link like any other.
            yield ParsedEvent(kind="system", occurred_at=last or created, ref=ref,
                              title=title, body=title, parties=tuple(parties),
                              links=tuple(links), properties=props)

    @staticmethod
    def _chat_context(info: _ChatInfo, owner: Party | None,
                      ) -> tuple[dict[str, Any], dict[str, Party], Party | None]:
        """(base properties, members of a direct chat, group party) for one chat."""
        chat_type = str(info.fields.get("type") or "")
        chat_id = info.fields.get("id")
        chat_name = info.fields.get("name")
        if not isinstance(chat_id, (int, str)) or isinstance(chat_id, bool):
            chat_id = None
        if not isinstance(chat_name, str):
            chat_name = None
        members: dict[str, Party] = {}
        conv: Party | None = None
        if chat_type in _DIRECT_TYPES:
            members = dict(info.senders)
            if len(members) < 2 and owner is not None and owner.value not in members:
                members[owner.value] = owner
            peer = f"user{chat_id}"
            if len(members) < 2 and chat_id is not None and peer not in members:
                members[peer] = account(peer, chat_name, PLATFORM, "participant")
        elif chat_id is not None or chat_name:
            prefix = "chat" if chat_type == "private_group" else "channel"
            conv = group(f"{prefix}{chat_id}" if chat_id is not None else str(chat_name),
                         chat_name, PLATFORM)
        base = {"channel": PLATFORM, "conversation": chat_name, "chat_type": chat_type or None}
        if chat_id is not None:
            base["conversation_id"] = str(chat_id)
        return {k: v for k, v in base.items() if v is not None}, members, conv

    @staticmethod
    def _event(msg: dict[str, Any], ref: str, base: dict[str, Any],
               members: dict[str, Party], conv: Party | None,
               files: ExportFiles | None = None) -> ParsedEvent:
        body, entities = _flatten_text(msg.get("text", ""))
        if not entities and isinstance(msg.get("text_entities"), list):
            entities = [e for e in msg["text_entities"] if isinstance(e, dict)]
        props: dict[str, Any] = dict(base)
        props["message_id"] = msg.get("id")
        if msg.get("type") == "service":
            actor = _sender(msg, role="participant")
            parties: list[Party] = [actor] if actor else []
            for name in as_list(msg.get("members")):
                if isinstance(name, str) and name:
                    parties.append(account(name, name, PLATFORM, "participant",
                                           {"identified_by": "display name"}))
            action = str(msg.get("action") or "service")
            # Every action has its own details (score, amount, period, new_title, to,
            # distance, ...): all plain values are kept. A custom action has no "action"
            # but an "information_text", which is what Telegram showed.
            for key, value in msg.items():
                if key in _SERVICE_SKIP or value in (None, "") or \
                        not isinstance(value, (str, int, float, bool)):
                    continue
                props["target_message_id" if key == "message_id" else key] = value
            if not body and isinstance(msg.get("information_text"), str):
                body = msg["information_text"]
            if msg.get("to_id") not in (None, ""):  # proximity_reached: the other person
                parties.append(account(str(msg["to_id"]), str(msg.get("to") or "") or None,
                                       PLATFORM, "participant"))
            who = msg.get("actor") or msg.get("from") or (actor.value if actor else "")
            title = f"{who} {action.replace('_', ' ')}".strip()
            if not msg.get("action") and body:
                title = body.split("\n", 1)[0]
            return ParsedEvent(kind="system", occurred_at=_msg_time(msg), ref=ref, title=title,
                               body=body or None, parties=tuple(parties),
                               properties=props)
        sender = _sender(msg)
        parties = [sender] if sender else []
        if conv is not None:
            parties.append(conv)
        else:
            parties.extend(recipients_for(sender.value if sender else None, members.values()))
        mentioned, urls = _entity_parties(entities)
        parties.extend(mentioned)
        parties.extend(_contact_parties(msg))
        hashtags = [str(e.get("text")) for e in entities if e.get("type") == "hashtag"
                    and e.get("text")]
        if hashtags:
            props["hashtags"] = hashtags
        atts, media_props = _media(msg, files)
        props.update(media_props)
        # Inline keyboard buttons of type "url" open a link the bot chose.
        for row in as_list(msg.get("inline_bot_buttons")):
            for button in as_list(row):
                if isinstance(button, dict) and button.get("type") == "url" and \
                        isinstance(button.get("data"), str) and button["data"] not in urls:
                    urls.append(button["data"])
        if urls:
            props["urls"] = urls
        if msg.get("edited") or msg.get("edited_unixtime"):
            edited = _msg_time(msg, "edited")
            props["edited_at"] = edited.isoformat() if edited else msg.get("edited")
        for key in ("forwarded_from", "forwarded_from_id", "saved_from", "reply_to_message_id",
                    "reply_to_peer_id", "self_destruct_period_seconds"):
            if msg.get(key) not in (None, ""):
                props[key] = msg[key]
        if isinstance(msg.get("reactions"), list):
            reactions, reactors = _reactions(msg["reactions"])
            props["reactions"] = reactions
            parties.extend(reactors)
        if props.get("media_type") is not None:
            props["media_type"] = str(props["media_type"])
        return ParsedEvent(kind="message", occurred_at=_msg_time(msg), ref=ref,
                           body=body or None, parties=tuple(parties),
                           attachments=tuple(atts), properties=props)


# --------------------------------------------------------------------------- HTML export

_TITLE_TIME_RE = re.compile(
    r"(\d{1,2})\.(\d{1,2})\.(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\s*UTC\s*([+-])(\d{1,2}):?(\d{2}))?")
_GOTO_RE = re.compile(r"(?:go_to_message|GoToMessage\()\s*(-?\d+)")
# The date separator Telegram Desktop writes before each day's first message (and at the
# top of each page): "12 March 2023", always in English, the exporting computer's local day.
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_DAY_SEPARATOR_RE = re.compile(r"^(\d{1,2}) (" + "|".join(_MONTHS) + r") (\d{4})$", re.I)
_BR = "\x00"  # stands for <br> while text is collected; NULs never occur in page text
_VOID = frozenset({"br", "img", "meta", "link", "input", "hr", "source", "wbr", "area",
                   "base", "col", "embed", "param", "track"})


def _separator_day(text: str) -> date | None:
    m = _DAY_SEPARATOR_RE.match(text)
    if not m:
        return None
    try:
        return date(int(m.group(3)), _MONTHS.index(m.group(2).lower()) + 1, int(m.group(1)))
    except ValueError:
        return None


def _service_times(messages: list[_HtmlMessage], day: date | None = None,
                   prev: datetime | None = None,
                   ) -> dict[int, tuple[datetime, dict[str, Any]]]:
    """Times for service entries that carry none (joins, pins, title changes...), by their
    index among the non-separator messages: (occurred_at, properties).

    Telegram writes no time on these, but keeps messages in time order and puts a date
    separator before each day. So a service entry happened on its separator's day, no
    earlier than the timed message before it on that day and no later than the one after.
    It gets the earlier message's time ("time_source": "previous_message"); when none
    precedes it that day, the start of the day ("time_source": "date_separator",
    "time_precision": "day"). "time_not_after" is the next timed message's time that day.
    ``day`` and ``prev`` carry the previous page's last day and timed message, for a page
    whose first entries come before any date separator of its own.
    """
    out: dict[int, tuple[datetime, dict[str, Any]]] = {}
    # Untimed entries waiting for the next timed message, with their day and the offset
    # to give a start of day when no message of that day has one (the previous message's).
    pending: list[tuple[int, date, tzinfo | None]] = []

    def settle(upper: datetime | None) -> None:
        for idx, on, fallback_tz in pending:
            when, props = out[idx]
            same_day = upper is not None and upper.date() == on
            if same_day:
                assert upper is not None
                props["time_not_after"] = upper.isoformat()
            if props["time_source"] == "date_separator":
                tz = upper.tzinfo if same_day and upper is not None else fallback_tz
                out[idx] = (when.replace(tzinfo=tz), props)
        pending.clear()

    n = -1
    for m in messages:
        if m.service and m.html_id.startswith("message-"):
            day = _separator_day(_clean_html_text(m.service_text)) or day
            continue
        n += 1
        when = parse_title_time(m.time_title) if m.time_title else None
        if when is not None:
            settle(when)
            prev = when
            continue
        if not m.service or day is None:
            continue
        if prev is not None and prev.date() == day:
            out[n] = (prev, {"time_source": "previous_message"})
        else:
            out[n] = (datetime(day.year, day.month, day.day),
                      {"time_source": "date_separator", "time_precision": "day"})
        pending.append((n, day, prev.tzinfo if prev is not None else None))
    settle(None)
    return out


def parse_title_time(title: str) -> datetime | None:
    """"23.08.2023 13:11:23 UTC-08:00" -> aware datetime (naive when no UTC offset given)."""
    m = _TITLE_TIME_RE.search(title)
    if not m:
        return None
    d, mo, y, h, mi, s, sign, oh, om = m.groups()
    try:
        tz = None
        if sign:
            delta = timedelta(hours=int(oh), minutes=int(om))
            tz = timezone(-delta if sign == "-" else delta)
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), tzinfo=tz)
    except ValueError:
        return None


class _HtmlMessage:
    """One div.message as read from the page."""

    def __init__(self, html_id: str, classes: set[str]) -> None:
        self.html_id = html_id
        self.service = "service" in classes
        self.joined = "joined" in classes
        self.time_title: str | None = None
        self.sender: list[str] = []
        self.fwd_from: list[str] = []
        self.text: list[str] = []
        self.service_text: list[str] = []
        self.signature: list[str] = []
        self.reply_to: str | None = None
        self.forwarded = False
        # One entry per media block: path (the link), kind (from its "media_*" class),
        # title, status and desc (the texts Telegram writes inside it).
        self.attachments: list[dict[str, Any]] = []
        self.poll: dict[str, Any] | None = None
        self.fwd_date_title: str | None = None
        self.reply_text: list[str] = []
        # Links inside div.text: {"href", "onclick", "text": [...]}.
        self.links: list[dict[str, Any]] = []
        # One entry per span/div.reaction: {"classes", "emoji": [...], "count": [...],
        # "recent": [names], "href"} (None: the message has no reactions block).
        self.reactions: list[dict[str, Any]] | None = None

    def name(self) -> str:
        """The sender's display name, without the " via @bot" Telegram appends to it."""
        return _split_via(_clean_html_text(self.sender))[0]

    def via(self) -> str | None:
        return _split_via(_clean_html_text(self.sender))[1]


_VIA_RE = re.compile(r"^(.*\S)\s+via @([A-Za-z0-9_]{2,64})$", re.S)


def _split_via(name: str) -> tuple[str, str | None]:
    """("Name", "@bot") from the from_name text "Name via @bot"; (name, None) otherwise."""
    m = _VIA_RE.match(name)
    return (m.group(1), "@" + m.group(2)) if m else (name, None)


class _TelegramPage(HTMLParser):
    """Collects the messages of one Telegram HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.messages: list[_HtmlMessage] = []
        self.chat_title: list[str] = []
        self._stack: list[tuple[str, set[str], str | None]] = []  # tag, classes, capture
        self._msg: _HtmlMessage | None = None
        self._msg_depth = -1
        # The rows of a list page (lists/sessions.html, contacts.html...): name, subname,
        # info (top right) and details lines, as texts.
        self.entries: list[dict[str, list[Any]]] = []

    def _contexts(self) -> set[str]:
        return {c for _, classes, _ in self._stack for c in classes}

    def _capture(self) -> str | None:
        for _, _, cap in reversed(self._stack):
            if cap is not None:
                return cap
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        classes = set(a.get("class", "").split())
        if tag in _VOID:
            if tag == "br":
                self._append(_BR)
            return
        capture: str | None = None
        ctx = self._contexts()
        if tag == "div" and "message" in classes and self._msg is None:
            self._msg = _HtmlMessage(a.get("id", ""), classes)
            self._msg_depth = len(self._stack)
        elif self._msg is None:
            if tag == "div" and "text" in classes and "page_header" in ctx:
                capture = "chat_title"
            elif tag in ("div", "a") and "entry" in classes and "entry_list" in ctx:
                self.entries.append({"name": [], "subname": [], "info": [], "details": []})
            elif "entry" in ctx and self.entries:
                entry = self.entries[-1]
                if "userpic_wrap" in classes or "userpic" in classes:
                    capture = "ignore"
                elif "details_entry" in classes:
                    entry["details"].append([])
                    capture = "entry_details"
                elif classes & {"name", "subname", "info"}:
                    capture = "entry_" + next(c for c in ("subname", "name", "info")
                                              if c in classes)
        else:
            msg = self._msg
            if "date" in classes and "details" in classes and a.get("title") and \
                    msg.time_title is None and "forwarded" not in ctx and "reply_to" not in ctx:
                msg.time_title = a["title"]
                capture = "ignore"
            elif "reactions" in classes or "reactions" in ctx:
                capture = self._reaction_capture(msg, tag, classes, ctx, a)
            elif "forwarded" in classes:
                msg.forwarded = True
            elif tag == "span" and "date" in classes and "details" in classes and \
                    "forwarded" in ctx:
                # When the forwarded original was posted (its title holds the full time).
                msg.fwd_date_title = a.get("title") or None
                capture = "ignore"
            elif "from_name" in classes:
                capture = "fwd_from" if "forwarded" in ctx else (
                    "ignore" if "reply_to" in ctx else "from")
            elif "media_poll" in classes:
                msg.poll = {"question": [], "status": [], "answers": [], "total": []}
            elif "media_poll" in ctx and msg.poll is not None:
                capture = self._poll_capture(msg.poll, tag, classes, ctx)
            elif "details" in classes and tag == "span":
                capture = "ignore"
            elif "reply_to" in classes:
                capture = "reply"
            elif tag == "a" and "reply_to" in ctx:
                m = _GOTO_RE.search(a.get("href", "") + " " + a.get("onclick", ""))
                if m:
                    msg.reply_to = m.group(1)
            elif "text" in classes and tag == "div":
                capture = "text"
            elif tag == "a" and "text" in ctx and "media_wrap" not in ctx:
                msg.links.append({"href": a.get("href", ""), "onclick": a.get("onclick", ""),
                                  "text": []})
                capture = "text_link"
            elif "signature" in classes:
                capture = "signature"
            elif msg.service and "body" in classes and "details" in classes:
                capture = "service"
            elif "userpic_wrap" in classes or "userpic" in classes:
                capture = "ignore"
            elif "media_wrap" in ctx or "media_wrap" in classes:
                kind = next((c[len("media_"):] for c in sorted(classes)
                             if c.startswith("media_") and c != "media_wrap"), "")
                if tag == "a" and a.get("href") and not a["href"].startswith("#"):
                    msg.attachments.append({"path": a["href"], "kind": kind, "title": [],
                                            "status": [], "desc": [], "classes": classes})
                elif "media" in classes and tag == "div":
                    msg.attachments.append({"path": None, "kind": kind, "title": [],
                                            "status": [], "desc": [], "classes": classes})
                elif "title" in classes:
                    capture = "att_title"
                elif "status" in classes:
                    capture = "att_status"
                elif "description" in classes:
                    capture = "att_desc"
        self._stack.append((tag, classes, capture))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        # Tolerate unbalanced markup: close up to the matching open tag, if any.
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break
        else:
            return
        if self._msg is not None and len(self._stack) <= self._msg_depth:
            self.messages.append(self._msg)
            self._msg = None
            self._msg_depth = -1

    def _append(self, data: str) -> None:
        cap = self._capture()
        msg = self._msg
        if cap is None or cap == "ignore":
            return
        if cap == "chat_title":
            self.chat_title.append(data)
        elif cap.startswith("entry_") and self.entries:
            slot = self.entries[-1][cap[len("entry_"):]]
            (slot[-1] if cap == "entry_details" and slot else slot).append(data)
        elif msg is None:
            return
        elif cap == "from":
            msg.sender.append(data)
        elif cap == "fwd_from":
            msg.fwd_from.append(data)
        elif cap == "text":
            msg.text.append(data)
        elif cap == "text_link":
            msg.text.append(data)
            if msg.links:
                msg.links[-1]["text"].append(data)
        elif cap == "reply":
            msg.reply_text.append(data)
        elif cap in ("react_emoji", "react_count") and msg.reactions:
            msg.reactions[-1][cap[len("react_"):]].append(data)
        elif cap == "service":
            msg.service_text.append(data)
        elif cap == "signature":
            msg.signature.append(data)
        elif cap.startswith("att_") and msg.attachments:
            msg.attachments[-1][cap[4:]].append(data)
        elif cap in ("poll_answer", "poll_votes") and msg.poll and msg.poll["answers"]:
            msg.poll["answers"][-1][0 if cap == "poll_answer" else 1].append(data)
        elif cap in ("poll_question", "poll_status", "poll_total") and msg.poll is not None:
            msg.poll[cap[len("poll_"):]].append(data)

    @staticmethod
    def _reaction_capture(msg: _HtmlMessage, tag: str, classes: set[str], ctx: set[str],
                          a: dict[str, str]) -> str | None:
        """Where the text of an element of the reactions block goes.

        Telegram Desktop (2024 on) writes, after the text, a "reactions" block (a div, or a
        span in later versions) with one "reaction" per emoji ("active" when the account
        owner reacted, "paid" for star reactions): its "emoji" (a custom emoji is a link
        to the exported sticker), "userpics" of the recent reactors whose "initials" carry
        the person's name in their title, and a "count" when not all reactors are shown.
        """
        if "reactions" in classes:
            if msg.reactions is None:
                msg.reactions = []
            return "ignore"
        if "reaction" in classes:
            if msg.reactions is None:
                msg.reactions = []
            msg.reactions.append({"classes": classes, "emoji": [], "count": [], "recent": [],
                                  "href": None})
            return "ignore"
        if not msg.reactions:
            return "ignore"
        current = msg.reactions[-1]
        if "emoji" in classes:
            return "react_emoji"
        if tag == "a" and "emoji" in ctx:
            current["href"] = a.get("href") or a.get("onclick") or ""
            return None  # the emoji character inside the link is still the emoji's text
        if "count" in classes:
            return "react_count"
        if "initials" in classes:
            if a.get("title"):
                current["recent"].append(a["title"])
            return "ignore"
        return "ignore" if "userpics" in classes or "userpic" in classes else None

    @staticmethod
    def _poll_capture(poll: dict[str, Any], tag: str, classes: set[str], ctx: set[str],
                      ) -> str | None:
        """Where the text of an element inside div.media_poll goes."""
        if "question" in classes:
            return "poll_question"
        if "answer" in classes:
            poll["answers"].append(([], []))  # (answer text, "2 votes, chosen vote")
            return "poll_answer"
        if tag == "span" and "answer" in ctx:
            return "poll_votes"
        if "total" in classes:
            return "poll_total"
        if "details" in classes:
            return "poll_status"  # "Anonymous poll", or "Final results" once closed
        return None

    def handle_data(self, data: str) -> None:
        self._append(data.replace(_BR, ""))


_HTML_PLACE_KINDS = frozenset({"location", "live_location", "venue"})
# The map link Telegram writes for a location or venue: ...maps?q=LAT,LON&ll=...
_HTML_MAP_RE = re.compile(r"[?&](?:q|ll)=(-?\d{1,2}(?:\.\d+)?),\s?(-?\d{1,3}(?:\.\d+)?)")
_HTML_COORDS_RE = re.compile(r"^(-?\d{1,2}(?:\.\d+)?),\s*(-?\d{1,3}(?:\.\d+)?)$")
_HTML_CALL_SECONDS_RE = re.compile(r"\((\d+) seconds?\)$")
_HTML_VOTES_RE = re.compile(r"(\d+) votes?")


def _is_link(path: str) -> bool:
    return bool(re.match(r"^(?:[a-z][a-z0-9+.-]*:|#)", path, re.I))


def _html_place(kind: str, href: str | None, title: str, status: str, desc: str,
                ) -> dict[str, Any]:
    """Facts of a location, live location or venue block (coordinates from its map link,
    else from the "lat, lon" status line)."""
    out: dict[str, Any] = {}
    m = _HTML_MAP_RE.search(href or "") or _HTML_COORDS_RE.match(status)
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        if abs(lat) <= 90 and abs(lon) <= 180:
            out["location"] = {"latitude": lat, "longitude": lon}
    if kind == "venue":
        if title:
            out["place_name"] = title
        if desc:
            out["address"] = desc
    elif kind == "live_location":
        out["live_location"] = True
    return out


def _html_link_facts(links: list[dict[str, Any]],
                     ) -> tuple[list[Party], list[str], list[str]]:
    """(mentioned parties, urls, hashtags) from the links Telegram wrote into a message's
    text: tel: and mailto: links for the phone numbers and e-mail addresses it marked,
    t.me links for @mentions, ShowHashtag() for hashtags, any other web link (including a
    text link whose shown words differ from its address)."""
    parties: list[Party] = []
    urls: list[str] = []
    hashtags: list[str] = []
    for link in links:
        text = _clean_html_text(link["text"])
        href = str(link.get("href") or "").strip()
        onclick = str(link.get("onclick") or "")
        low = href.lower()
        if "ShowHashtag" in onclick and text:
            hashtags.append(text)
        elif "ShowMentionName" in onclick and text:
            parties.append(account(text, text, PLATFORM, "mentioned",
                                   {"identified_by": "display name"}))
        elif low.startswith("tel:"):
            parties.append(Party(kind="phone", value=text or href[4:], role="mentioned"))
        elif low.startswith("mailto:"):
            parties.append(Party(kind="email", value=text or href[7:], role="mentioned"))
        elif low.startswith(("http://", "https://")):
            if text.startswith("@") and low.rstrip("/").endswith("/" + text[1:].lower()):
                parties.append(account(text, text, PLATFORM, "mentioned"))
            elif href not in urls:
                urls.append(href)
    return parties, urls, hashtags


def _html_reactions(raw: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """(reactions in the JSON export's shape, names of the people shown as reacting)."""
    out: list[dict[str, Any]] = []
    names: list[str] = []
    for r in raw:
        classes = r["classes"]
        emoji = _clean_html_text(r["emoji"])
        href = r.get("href")
        kept: dict[str, Any] = {}
        if "paid" in classes:
            kept["type"] = "paid"
        elif href is not None:
            kept["type"] = "custom_emoji"
            path = re.sub(r"^(?:\.\./)+", "", href.strip())
            if path and not _is_link(path) and "return " not in path:
                kept["document_id"] = path
        else:
            kept["type"] = "emoji"
            if emoji:
                kept["emoji"] = emoji
        recent = [n for n in (_clean_html_text([x]) for x in r["recent"]) if n]
        count = re.sub(r"\D", "", _clean_html_text(r["count"]))
        # No count is written when every reactor is shown: then there are that many.
        kept["count"] = int(count) if count else len(recent)
        if recent:
            kept["recent"] = [{"from": n} for n in recent]
        if "active" in classes:
            kept["owner_reacted"] = True
        out.append(kept)
        names.extend(n for n in recent if n not in names)
    return out, names


#: The whole-account export's list pages read here, by their header.
_HTML_LIST_PAGES = {"Sessions": "sessions", "Web sessions": "web_sessions",
                    "Contacts": "contacts"}
_HTML_SESSION_IP_RE = re.compile(r"^(\S+)\s+\u2013\s*(.*)$")


def _html_list_records(section: str, entries: list[dict[str, list[Any]]],
                       options: ImportOptions) -> Iterator[Record]:
    """Session lines (sessions.html, web_sessions.html) or contact phones (contacts.html)
    from the rows of a whole-account export's list page, like the JSON export's."""
    owner = account(options.owner, options.owner, PLATFORM, "account_holder",
                    {"identified_by": "display name"}) if options.owner else None
    for i, e in enumerate(entries):
        name = _clean_html_text(e["name"])
        subname = _clean_html_text(e["subname"])
        info = _clean_html_text(e["info"])
        details = [_clean_html_text(d) for d in e["details"]]
        ref = f"{section}[{i}]"
        if section == "contacts":
            phone = details[0] if details else ""
            if not re.search(r"\d", phone):
                continue
            added = parse_title_time(info) if info else None
            party = Party(kind="phone", value=phone, role="contact",
                          label=None if name == "Deleted Account" else name or None,
                          properties={"contact_added_at": added.isoformat()} if added else {})
            yield ParsedEntity(party=party, ref=ref, links=(
                (ParsedLink("contact_of", party, owner),) if owner else ()))
            continue
        web = section == "web_sessions"
        ip, where = "", ""
        when: dict[str, datetime] = {}
        for line in details:
            m = _HTML_SESSION_IP_RE.match(line)
            label, _, rest = line.partition(": ")
            stamp = parse_title_time(rest) if label in ("Last active", "Created") else None
            if stamp is not None:
                when[label] = stamp
            elif m and not ip:
                ip, where = m.group(1), m.group(2).strip()
        props: dict[str, Any] = {"channel": PLATFORM, "session_type": "web" if web else "app"}
        if web:
            props.update({k: v for k, v in (("domain_name", name), ("bot_username", info),
                                            ("browser_platform", subname)) if v})
        else:
            props.update({k: v for k, v in (("application", name), ("device", subname))
                          if v})
        if ip:
            props["ip"] = ip
        if where:
            props["last_location"] = where
        if "Created" in when:
            props["session_created_at"] = when["Created"].isoformat()
        parties: list[Party] = [owner] if owner else []
        links: list[ParsedLink] = []
        if ip:
            last = when.get("Last active")
            addr = Party(kind="ip", value=ip, role="origin",
                         properties={**({"location": where} if where else {}),
                                     **({"last_active": last.isoformat()} if last else {})})
            parties.append(addr)
            if owner:
                links.append(ParsedLink("uses", owner, addr))
        what = " on ".join(x for x in (name, subname) if x)
        title = ("Telegram web login: " if web else "Telegram session: ") + what
        if ip:
            title += f" from {ip}"
        yield ParsedEvent(kind="system", occurred_at=when.get("Last active") or
                          when.get("Created"), ref=ref, title=title.strip(), body=title.strip(),
                          parties=tuple(parties), links=tuple(links), properties=props)


def _html_call(status: str) -> dict[str, Any]:
    """{"call_status", "duration_seconds"} from "Outgoing (34 seconds)", "Missed"..."""
    out: dict[str, Any] = {}
    m = _HTML_CALL_SECONDS_RE.search(status)
    if m:
        out["duration_seconds"] = int(m.group(1))
        status = status[: m.start()]
    if status.strip():
        out["call_status"] = status.strip()
    return out


def _html_poll(raw: dict[str, Any]) -> dict[str, Any]:
    """A poll block in the JSON export's shape: question, answers, votes, chosen,
    total_voters, closed."""
    answers: list[str] = []
    votes: list[int] = []
    chosen: list[str] = []
    for text_parts, detail_parts in raw["answers"]:
        text = _clean_html_text(text_parts)
        text = text[2:] if text.startswith("- ") else text.lstrip("-").strip()
        detail = _clean_html_text(detail_parts)
        m = _HTML_VOTES_RE.search(detail)
        answers.append(text)
        votes.append(int(m.group(1)) if m else 0)
        if "chosen" in detail:
            chosen.append(text)
    total = _HTML_VOTES_RE.search(_clean_html_text(raw["total"]))
    return {"question": _clean_html_text(raw["question"]) or None, "answers": answers,
            "votes": votes, "chosen": chosen,
            "total_voters": int(total.group(1)) if total else (0 if raw["total"] else None),
            "closed": "final results" in _clean_html_text(raw["status"]).lower()}


def _clean_html_text(parts: list[str]) -> str:
    """Text of a captured element: source line breaks are layout (a space); <br> is a newline."""
    joined = re.sub(r"[ \t\r]*\n[ \t\r]*", " ", "".join(parts)).replace(_BR, "\n")
    lines = [re.sub(r"[ \t]{2,}", " ", ln).strip() for ln in joined.split("\n")]
    return "\n".join(lines).strip()


def _page_number(path: Path) -> int | None:
    m = re.fullmatch(r"messages(\d*)\.html?", path.name, re.I)
    if not m:
        return None
    return int(m.group(1) or 1)


def _read_page(path: Path, encoding: str | None) -> _TelegramPage:
    page = _TelegramPage()
    try:
        with open_text(path, encoding=encoding) as fh:
            while chunk := fh.read(1 << 20):
                page.feed(chunk)
    except UnicodeDecodeError as exc:
        raise ParseError(f"undecodable bytes ({exc.reason})", file=path) from None
    page.close()
    return page


#: (pages and their sizes and times) -> whether the export's pages hold over two senders.
_GROUP_VOICES: dict[tuple[tuple[str, int, int], ...], bool] = {}


def _export_pages(path: Path) -> list[Path]:
    """The pages of the export ``path`` belongs to (messages.html, messages2.html...)."""
    if _page_number(path) is None:
        return []
    try:
        found = [p for p in path.parent.iterdir() if _page_number(p) is not None]
    except OSError:
        return []
    return sorted(found, key=lambda p: _page_number(p) or 0)


def _export_has_group_voices(path: Path, encoding: str | None) -> bool:
    """True when the pages of this export (``path`` among them) together have more than two
    senders: read once per export, remembered while the pages are unchanged."""
    pages = _export_pages(path)
    if len(pages) < 2:
        return False
    try:
        key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in pages)
    except OSError:
        return False
    if key in _GROUP_VOICES:
        return _GROUP_VOICES[key]
    names: set[str] = set()
    for p in pages:
        try:
            page = _read_page(p, encoding)
        except (ParseError, OSError):
            continue
        names.update(n for n in (m.name() for m in page.messages
                                 if not m.service) if n)
        if len(names) > 2:
            break
    if len(_GROUP_VOICES) > 64:
        _GROUP_VOICES.clear()
    _GROUP_VOICES[key] = len(names) > 2
    return _GROUP_VOICES[key]


class TelegramHtmlParser:
    """Telegram Desktop HTML export page (``messages.html``, ``messages2.html``...).

    Yields one ParsedEvent per div.message: "message" for ordinary ones (a "joined"
    message with no sender name inherits the previous sender, also across pages) and
    "system" for service entries; the date separators between days are skipped. Times
    come from the ``title`` ("23.08.2023 13:11:23 UTC-08:00"), aware when the offset is
    given. Service entries have no time of their own: they get the best one the page
    allows (see ``_service_times``; ``properties["time_source"]`` says which). Senders are
    identified by display name only: the HTML carries no user ids. Media files beside the
    page carry their size, SHA-256 and MD5, as in the JSON export.
    """

    name = "telegram_html"
    label = "Telegram Desktop export (messages.html)"

    def sniff(self, path: Path, head: bytes) -> float:
        text = head_text(head)
        low = text[:4096].lower()
        if "<html" not in low and "<!doctype html" not in low:
            return 0.0
        score = 0.0
        if 'class="page_wrap"' in text or "class=\"history\"" in text:
            score += 0.4
        if re.search(r'class="message (?:default|service)', text):
            score += 0.4
        if _TITLE_TIME_RE.search(text) or "Exported Data" in text:
            score += 0.15
        return min(score, 0.95)

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        page = _read_page(path, options.encoding)
        if not page.messages and not page.chat_title:
            raise ParseError("no Telegram messages found in this HTML file", file=path)
        chat = _clean_html_text(page.chat_title) or None
        if not page.messages and page.entries and chat in _HTML_LIST_PAGES:
            yield from _html_list_records(_HTML_LIST_PAGES[chat], page.entries, options)
            return
        real = [m for m in page.messages if not (m.service and m.html_id.startswith("message-"))]
        prev_sender = self._previous_page_sender(path, options) if real and real[0].joined \
            else None
        senders: list[str] = []
        resolved: list[str | None] = []
        vias: list[str | None] = []
        prev_via: str | None = None
        for m in real:
            if m.service:
                resolved.append(None)
                vias.append(None)
                continue
            # A message without a sender name continues the previous sender's run (and
            # its bot: Telegram starts a new run when the "via" bot changes).
            own = m.name()
            name = own or prev_sender
            via = m.via() if own else prev_via
            resolved.append(name)
            vias.append(via)
            prev_via = via
            if name:
                prev_sender = name
                if name not in senders:
                    senders.append(name)
        # One chat, one entity: a page with only two voices of a group chat is still the
        # group (the other pages of the same export say so).
        is_group = len(senders) > 2 or _export_has_group_voices(path, options.encoding)
        members = [self._party(s, "participant") for s in senders]
        conv = group(chat, chat, PLATFORM) if is_group and chat else None
        base: dict[str, Any] = {"channel": PLATFORM}
        if chat:
            base["conversation"] = chat
        carry_day, carry_prev = (None, None)
        if page.messages and page.messages[0].service and \
                not page.messages[0].html_id.startswith("message-"):
            # The page opens with a notice before any date line: the day runs on from the
            # previous page (messages are in time order across pages).
            carry_day, carry_prev = self._previous_page_day(path, options)
        service_times = _service_times(page.messages, carry_day, carry_prev)
        # Media links are relative to the page, which sits in the export (or chat) folder.
        files = ExportFiles(path.parent)
        for n, (m, name, via) in enumerate(zip(real, resolved, vias)):
            event = self._event(m, name, base, members, conv, service_times.get(n), via, files)
            yield event
            yield from files.notices(event.ref)

    @staticmethod
    def _party(name: str, role: str) -> Party:
        return account(name, name, PLATFORM, role, {"identified_by": "display name"})

    def _event(self, m: _HtmlMessage, sender_name: str | None, base: dict[str, Any],
               members: list[Party], conv: Party | None,
               service_time: tuple[datetime, dict[str, Any]] | None = None,
               via: str | None = None, files: ExportFiles | None = None) -> ParsedEvent:
        num = m.html_id[len("message"):] if m.html_id.startswith("message") else m.html_id
        ref = f"message {num}" if num else "message"
        props: dict[str, Any] = dict(base)
        occurred = parse_title_time(m.time_title) if m.time_title else None
        if m.time_title:
            props["time_text"] = m.time_title
        if m.service:
            text = _clean_html_text(m.service_text)
            if occurred is None and service_time is not None:
                occurred = service_time[0]
                props.update(service_time[1])
            return ParsedEvent(kind="system", occurred_at=occurred, ref=ref, title=text,
                               body=text or None, properties=props)
        parties: list[Party] = []
        if sender_name:
            parties.append(self._party(sender_name, "sender"))
        if conv is not None:
            parties.append(conv)
        else:
            parties.extend(recipients_for(sender_name, members))
        if not m.name() and sender_name:
            props["sender_inherited"] = True
        if via:
            props["via_bot"] = via
        if m.forwarded:
            fwd, fwd_via = _split_via(_clean_html_text(m.fwd_from))
            props["forwarded_from"] = fwd or True
            if fwd_via:
                props["via_bot"] = fwd_via
            fwd_when = parse_title_time(m.fwd_date_title) if m.fwd_date_title else None
            if fwd_when is not None:
                props["forwarded_date"] = fwd_when.isoformat()
        if m.reply_to:
            props["reply_to_message_id"] = int(m.reply_to)
        elif "another chat" in _clean_html_text(m.reply_text):
            # "In reply to a message in another chat": no id to point at.
            props["reply_to_other_chat"] = True
        mentioned, urls, hashtags = _html_link_facts(m.links)
        parties.extend(mentioned)
        if urls:
            props["urls"] = urls
        if hashtags:
            props["hashtags"] = hashtags
        if m.reactions:
            reactions, reactors = _html_reactions(m.reactions)
            props["reactions"] = reactions
            parties.extend(self._party(r, "reacted") for r in reactors)
        sig = _clean_html_text(m.signature)
        if sig:
            props["author"] = sig
        atts: list[Attachment] = []
        call: dict[str, Any] | None = None
        for a in m.attachments:
            title = _clean_html_text(a["title"])
            status = _clean_html_text(a["status"])
            desc = _clean_html_text(a["desc"])
            path = a["path"]
            kind = a.get("kind", "")
            if kind == "call":
                call = {"title": title, "status": status}
                continue
            if kind in _HTML_PLACE_KINDS:
                props.update(_html_place(kind, path, title, status, desc))
                continue
            if kind == "contact":
                phone = status.split(" - ", 1)[0].strip()
                props["contact"] = {k: v for k, v in (("name", title),
                                                      ("phone_number", phone)) if v}
                if phone:
                    parties.append(Party(kind="phone", value=phone, role="mentioned",
                                         label=title or None))
                if path and not _is_link(path):
                    atts.append(_file_attachment(Path(path).name, "text/vcard", None, path,
                                                 files))
                continue
            if kind in ("game", "invoice"):
                props[kind] = {k: v for k, v in (("title", title), ("description", desc),
                                                 ("status", status)) if v}
                continue
            if path and _is_link(path):
                continue  # a web link inside the media block, not an exported file
            name = Path(path).name if path else (title or "media")
            if path and title and "." in title:
                name = title
            atts.append(_file_attachment(name, guess_mime(path or name),
                                         parse_size_text(status) if status else None, path,
                                         files))
            if not path and desc:
                props["media_not_included"] = desc
        if m.poll is not None:
            props["poll"] = _html_poll(m.poll)
        body = _clean_html_text(m.text)
        if call is not None:
            # Telegram logs calls as messages of the caller; the block's title names the
            # other side. As in the JSON export (a "phone_call" service entry), a notice.
            props["action"] = "phone_call"
            props.update(_html_call(call["status"]))
            who = [p for p in parties if p.role == "sender"]
            notice = [Party(kind=p.kind, value=p.value, role="participant", label=p.label,
                            platform=p.platform, properties=p.properties) for p in who]
            if call["title"] and call["title"] != sender_name:
                notice.append(self._party(call["title"], "participant"))
            title = " ".join(x for x in (sender_name, "phone call", call["status"]) if x)
            return ParsedEvent(kind="system", occurred_at=occurred, ref=ref, title=title,
                               body=body or None, parties=tuple(notice), properties=props)
        return ParsedEvent(kind="message", occurred_at=occurred, ref=ref, body=body or None,
                           parties=tuple(parties), attachments=tuple(atts), properties=props)

    @staticmethod
    def _previous_page_day(path: Path, options: ImportOptions,
                           ) -> tuple[date | None, datetime | None]:
        """(last date separator's day, last timed message) of the previous page."""
        n = _page_number(path)
        if n is None or n <= 1:
            return None, None
        prev = path.with_name("messages.html" if n == 2 else f"messages{n - 1}.html")
        if not prev.is_file():
            return None, None
        try:
            page = _read_page(prev, options.encoding)
        except ParseError:
            return None, None
        day: date | None = None
        last: datetime | None = None
        for m in page.messages:
            if m.service and m.html_id.startswith("message-"):
                day = _separator_day(_clean_html_text(m.service_text)) or day
            elif m.time_title:
                when = parse_title_time(m.time_title)
                if when is not None:
                    last = when
                    day = when.date()
        return day, last

    @staticmethod
    def _previous_page_sender(path: Path, options: ImportOptions) -> str | None:
        """Sender of the last ordinary message on the previous page, if that page exists."""
        n = _page_number(path)
        if n is None or n <= 1:
            return None
        prev = path.with_name("messages.html" if n == 2 else f"messages{n - 1}.html")
        if not prev.is_file():
            return None
        try:
            page = _read_page(prev, options.encoding)
        except ParseError:
            return None
        last: str | None = None
        for m in page.messages:
            if not m.service:
                last = m.name() or last
        return last
