"""DiscordChatExporter HTML exports (its default format), in the structure of each page
layout the exporter has written, with synthetic people, ids and text.

The layouts follow a real 2.2x export (firebird-finance/firebird-docs, docs/ama/test.md:
``chatlog__message-group`` > ``chatlog__messages`` with ``chatlog__author-name`` and one
``chatlog__message`` per message, replies at group level) and the exporter's own templates
for the older (``info__guild-name``, no ids) and newer (``chatlog__message-container-<id>``,
minified, system notifications) generations. Message ids are built from the instant they
stand for, so each test knows the exact UTC time a real id would give.
"""

from __future__ import annotations

import json
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from workstation.ingest.chat.discord import DiscordJsonParser
from workstation.ingest.records import ImportOptions, Notice, ParsedEvent, ParseError, RowError

P = DiscordJsonParser()
UTC = timezone.utc
DISCORD_EPOCH_MS = 1420070400000

ALICE, BOB, CAROL = "412345678901234567", "498765432109876543", "455555555555555555"
CHANNEL_ID = "1100000000000000001"


def sf(when: datetime, seq: int = 0) -> str:
    """The snowflake id Discord would give a message created at ``when``."""
    ms = int(when.timestamp() * 1000) - DISCORD_EPOCH_MS
    return str((ms << 22) | seq)


def at(day: int, hour: int, minute: int, second: int = 0, ms: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, second, ms * 1000, tzinfo=UTC)


def parse(path: Path) -> tuple[list[ParsedEvent], list[Notice]]:
    records = list(P.parse(path, ImportOptions()))
    assert not [r for r in records if isinstance(r, RowError)], records
    return ([r for r in records if isinstance(r, ParsedEvent)],
            [r for r in records if isinstance(r, Notice)])


def write(tmp_path: Path, text: str, name: str = f"Test Server - Text Channels - general "
                                                  f"[{CHANNEL_ID}].html") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- 2.2x: message groups (the layout of the real export) ----------------------------

V22_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
    <title>Test Server - general</title>
    <meta charset="utf-8">
    <style>
.chatlog__message-group { border-color: #eceeef; }
.chatlog__author-name { font-weight: 600; }
    </style>
    <script>
        function scrollToMessage(event, id) { var e = document.getElementById('message-' + id); }
    </script>
</head>
<body>

<div class="preamble">
    <div class="preamble__guild-icon-container">
        <img class="preamble__guild-icon" src="general.html_Files/icon-1A2B3.png" alt="Guild icon">
    </div>
    <div class="preamble__entries-container">
        <div class="preamble__entry">Test Server</div>
        <div class="preamble__entry">Text Channels / general</div>
    </div>
</div>

<div class="chatlog">
"""

V22_TAIL = """
</div>

<div class="postamble">
    <div class="postamble__entry">Exported {n} message(s)</div>
</div>

</body>

</html>
"""


def v22_group(uid: str, title: str, name: str, shown: str, messages: str,
              reference: str = "") -> str:
    return f"""
<div class="chatlog__message-group">
{reference}    <div class="chatlog__author-avatar-container">
        <img class="chatlog__author-avatar" src="general.html_Files/avatar-5AAC2.png" alt="Avatar">
    </div>
    <div class="chatlog__messages">
        <span class="chatlog__author-name" title="{title}" data-user-id="{uid}" style="color: rgb(230,126,34)">{name}</span>


        <span class="chatlog__timestamp">{shown}</span>
{messages}
    </div>
</div>
"""


def v22_message(mid: str, html: str, extra: str = "", pinned: bool = False) -> str:
    return f"""
            <div class="chatlog__message {'chatlog__message--pinned' if pinned else ''}" data-message-id="{mid}" id="message-{mid}">
                    <div class="chatlog__content">
                        <div class="markdown">
                            <span class="preserve-whitespace">{html}</span>
{extra}
                        </div>
                    </div>
            </div>"""


def v22_reference(mid: str, title: str, name: str, text: str) -> str:
    return f"""        <div class="chatlog__reference-symbol">
        </div>
        <div class="chatlog__reference">
                <img class="chatlog__reference-avatar" src="general.html_Files/avatar-E1C9A.png" alt="Avatar">
                <span class="chatlog__reference-name" title="{title}" style="">{name}</span>
                <a class="chatlog__reference-link" href="#" onclick="scrollToMessage(event, &#39;{mid}&#39;)">
                    <span class="chatlog__reference-content">
{text}                    </span>
                </a>
        </div>
"""


M1, M2, M3, M4 = sf(at(14, 13, 1, 57, 389)), sf(at(14, 13, 4, 10)), sf(at(14, 13, 5)), \
    sf(at(14, 14, 34, 1, 433), 7)


def v22_export(n: int = 4) -> str:
    reactions = """
                    <div class="chatlog__reactions">
                            <div class="chatlog__reaction">
                                <img class="emoji emoji--small" alt="&#128077;" title="&#128077;" src="general.html_Files/1f44d-1485B.png">
                                <span class="chatlog__reaction-count">12</span>
                            </div>
                            <div class="chatlog__reaction">
                                <img class="emoji emoji--small" alt="partyparrot" title="partyparrot" src="general.html_Files/7823-02463.gif">
                                <span class="chatlog__reaction-count">2</span>
                            </div>
                    </div>"""
    first = v22_message(M1, '<span class="mention">@everyone</span> the meeting is at '
                            '<strong>noon</strong> &amp; not later') \
        .replace("            </div>", reactions + "\n            </div>", 1)
    return (V22_HEAD
            + v22_group(ALICE, "alice_w#1234", "Alice", "14-Mar-24 09:01 AM", first)
            + v22_group(BOB, "bob#4321", "Bobby", "14-Mar-24 09:04 AM",
                        v22_message(M2, "rules:\n1) be nice <img class=\"emoji \" alt=\"okhand\" "
                                        "title=\"okhand\" src=\"https://cdn.example/e.png\">",
                                    '<span class="chatlog__edited-timestamp" '
                                    'title="14-Mar-24 09:09 AM">(edited)</span>')
                        + v22_message(M3, "second line of bob", pinned=True))
            + v22_group(ALICE, "alice_w#1234", "Alice", "14-Mar-24 10:34 AM",
                        v22_message(M4, 'yes - <a href="https://example.org/x">'
                                        'https://example.org/x</a>'),
                        v22_reference(M3, "bob#4321", "Bobby", "second line of bob"))
            + V22_TAIL.format(n=n))


def test_v22_message_group_layout(tmp_path: Path) -> None:
    path = write(tmp_path, v22_export())
    assert P.sniff(path, path.read_bytes()[:65536]) >= 0.9
    evs, notices = parse(path)
    assert notices == []
    assert [(e.kind, e.ref) for e in evs] == [("message", f"message {m}") for m in (M1, M2, M3, M4)]
    # Exact UTC times from the ids, whatever the page shows ("09:01 AM" was the exporter's
    # local time, five hours behind).
    assert [e.occurred_at for e in evs] == [at(14, 13, 1, 57, 389), at(14, 13, 4, 10),
                                            at(14, 13, 5), at(14, 14, 34, 1, 433)]
    first, edited, pinned, reply = evs
    sender = first.parties[0]
    assert (sender.kind, sender.value, sender.label, sender.platform, sender.role,
            dict(sender.properties)) == ("account", ALICE, "Alice", "discord", "sender",
                                         {"username": "alice_w#1234"})
    assert [(p.kind, p.value, p.label, p.role) for p in first.parties[1:]] == [
        ("group", CHANNEL_ID, "Test Server #general", "recipient")]
    assert first.body == "@everyone the meeting is at noon & not later"
    assert first.properties["reactions"] == [{"emoji": "👍", "count": 12},
                                             {"emoji": "partyparrot", "count": 2}]
    assert (first.properties["guild"], first.properties["conversation"],
            first.properties["category"], first.properties["conversation_id"]) == (
        "Test Server", "#general", "Text Channels", CHANNEL_ID)
    assert edited.body == "rules:\n1) be nice :okhand:"
    assert edited.properties["edited"] is True
    assert edited.properties["edited_at_text"] == "14-Mar-24 09:09 AM"
    assert (edited.parties[0].value, edited.parties[0].label) == (BOB, "Bobby")
    assert pinned.properties["pinned"] is True and pinned.parties[0].value == BOB
    # The reply block sits before the group's author: it belongs to the group's first message.
    assert reply.properties["reply_to_message_id"] == M3
    assert reply.properties["reply_to_username"] == "bob#4321"
    assert reply.properties["message_type"] == "Reply"
    assert "reply_to_message_id" not in first.properties


def test_stated_count_that_does_not_match_is_reported(tmp_path: Path) -> None:
    _, notices = parse(write(tmp_path, v22_export(n=238)))
    assert [(n.ref, n.message) for n in notices] == [
        ("Exported", "the export states 238 messages, the file holds 4")]


def test_snowflake_time_of_a_real_message_id() -> None:
    from workstation.ingest.chat.discord import snowflake_time

    # A message of the real 2.2x export, shown there as "10-Apr-21 09:01 AM" (UTC-5).
    assert snowflake_time("830442485376876625") == datetime(2021, 4, 10, 14, 1, 57, 389000,
                                                            tzinfo=UTC)
    assert snowflake_time("12") is None and snowflake_time("x") is None


# --- 2.3x: one container per message, quoted attributes ---------------------------------

def v23_message(mid: str, *, first: str = "", aside: str = "", body: str = "",
                pinned: bool = False) -> str:
    return (f'<div id="chatlog__message-container-{mid}" class="chatlog__message-container '
            f'{"chatlog__message-container--pinned" if pinned else ""}" data-message-id="{mid}">'
            f'\n  <div class="chatlog__message">\n    <div class="chatlog__message-aside">{aside}'
            f'</div>\n    <div class="chatlog__message-primary">{first}{body}</div>\n  </div>\n'
            '</div>\n')


def v23_header(uid: str, title: str, name: str, mid: str, shown: str, bot: bool = False) -> str:
    return (f'<div class="chatlog__header"><span class="chatlog__author" title="{title}" '
            f'data-user-id="{uid}">{name}</span>'
            + ('<span class="chatlog__bot-label">BOT</span>' if bot else "")
            + f'<span class="chatlog__timestamp"><a href="#chatlog__message-container-{mid}">'
              f'{shown}</a></span></div>')


def content(html: str, edited: str | None = None) -> str:
    return ('<div class="chatlog__content chatlog__markdown"><span class="chatlog__markdown-'
            f'preserve">{html}</span>'
            + (f'<span class="chatlog__edited-timestamp" title="{edited}">(edited)</span>'
               if edited else "") + "</div>")


def test_v23_message_containers_with_attachments_and_embeds(tmp_path: Path) -> None:
    a1, a2, b1 = sf(at(20, 8, 0)), sf(at(20, 8, 1, 30)), sf(at(20, 9, 0))
    image = ('<div class="chatlog__attachment "><a href="general.html_Files/scan-A1B2C.png">'
             '<img class="chatlog__attachment-media" src="general.html_Files/scan-A1B2C.png" '
             'alt="Image attachment" title="Image: scan.png (1.5 MB)" loading="lazy"></a></div>')
    generic = ('<div class="chatlog__attachment "><div class="chatlog__attachment-generic">'
               '<svg class="chatlog__attachment-generic-icon"><use href="#icon-attachment"/></svg>'
               '<div class="chatlog__attachment-generic-name"><a href="https://cdn.discordapp.com/'
               'attachments/1/2/notes.txt?ex=65&amp;hm=9a">\n notes.txt\n</a></div>'
               '<div class="chatlog__attachment-generic-size">\n 312 bytes\n</div></div></div>')
    embed = ('<div class="chatlog__embed"><div class="chatlog__embed-color-pill '
             'chatlog__embed-color-pill--default"></div><div class="chatlog__embed-content-'
             'container"><div class="chatlog__embed-content"><div class="chatlog__embed-text">'
             '<div class="chatlog__embed-title"><a class="chatlog__embed-title-link" '
             'href="https://example.org/report"><div class="chatlog__markdown chatlog__markdown-'
             'preserve">Quarterly report</div></a></div><div class="chatlog__embed-description">'
             '<div class="chatlog__markdown chatlog__markdown-preserve">Numbers for Q1</div></div>'
             '</div></div></div></div>')
    reference = ('<div class="chatlog__reference"><img class="chatlog__reference-avatar" '
                 'src="a.png" alt="Avatar" loading="lazy"><div class="chatlog__reference-author"'
                 ' title="alice_w#1234">Alice</div><div class="chatlog__reference-content">'
                 f'<span class="chatlog__reference-link" onclick="scrollToMessage(event, '
                 f'\'{a2}\')">see the scan</span></div></div>')
    page = (V22_HEAD + '<div class="chatlog__message-group">\n'
            + v23_message(a1, aside='<img class="chatlog__avatar" src="a.png" alt="Avatar">',
                          first=v23_header(ALICE, "alice_w#1234", "Alice", a1, "20-Mar-24 09:00"),
                          body=content("morning", edited="20-Mar-24 09:05") + image)
            + v23_message(a2, aside='<div class="chatlog__short-timestamp" title="20-Mar-24 '
                                    '09:01">09:01</div>',
                          body=content("see the scan") + generic + embed, pinned=True)
            + '</div>\n<div class="chatlog__message-group">\n'
            + v23_message(b1, aside='<div class="chatlog__reference-symbol"></div>',
                          first=reference + v23_header(BOB, "bob#4321", "Bobby", b1,
                                                       "20-Mar-24 10:00", bot=True),
                          body=content("noted"))
            + "</div>\n" + V22_TAIL.format(n=3))
    path = write(tmp_path, page)
    assert P.sniff(path, path.read_bytes()[:65536]) >= 0.9
    evs, notices = parse(path)
    assert notices == []
    first, second, reply = evs
    assert [e.occurred_at for e in evs] == [at(20, 8, 0), at(20, 8, 1, 30), at(20, 9, 0)]
    # The group's second message has no header: its author is the group's first author.
    assert [e.parties[0].value for e in evs] == [ALICE, ALICE, BOB]
    assert first.body == "morning" and first.properties["edited"] is True
    [scan] = first.attachments
    assert (scan.name, scan.mime, scan.size, scan.path) == (
        "scan.png", "image/png", 1572864, "general.html_Files/scan-A1B2C.png")
    assert first.properties["attachment_sizes_shown"] == ["1.5 MB"]
    [notes] = second.attachments
    assert (notes.name, notes.size) == ("notes.txt", 312)
    assert notes.path == "https://cdn.discordapp.com/attachments/1/2/notes.txt?ex=65&hm=9a"
    assert second.properties["pinned"] is True
    assert second.properties["urls"] == ["https://example.org/report"]
    assert second.properties["embeds"] == [{"title": "Quarterly report",
                                            "description": "Numbers for Q1",
                                            "url": "https://example.org/report"}]
    assert reply.properties["reply_to_message_id"] == a2
    assert reply.parties[0].properties == {"username": "bob#4321", "bot": True}


# --- 2.4x and later: minified, replies, system notifications ---------------------------

MIN_HEAD = ('<!DOCTYPE html><html lang=en><head><title>Test Server - general</title><meta '
            'charset=utf-8><style>.chatlog__message-group{margin-bottom:1rem}.chatlog__message-'
            'container{background-color:transparent}.preamble{display:grid}</style><svg '
            'style=display:none><defs><symbol id=join-icon viewBox="0 0 18 18"><path d=m0></path>'
            '</symbol></defs></svg></head><body><div class=preamble><div class=preamble__guild-'
            'icon-container><img class=preamble__guild-icon src=icon.png alt="Guild icon" '
            'loading=lazy></div><div class=preamble__entries-container><div class=preamble__entry'
            '>Test Server</div><div class=preamble__entry>Text Channels / general</div><div '
            'class="preamble__entry preamble__entry--small">Plans &amp; notes</div></div></div>'
            '<!--wmm:ignore--><div class=chatlog><!--/wmm:ignore-->')


def min_group(*messages: str) -> str:
    return "<div class=chatlog__message-group>" + "".join(messages) + "</div>"


def min_message(mid: str, inner: str) -> str:
    return (f"<div id=chatlog__message-container-{mid} class=chatlog__message-container "
            f"data-message-id={mid}><div class=chatlog__message>{inner}</div></div>")


def min_regular(mid: str, uid: str, title: str, name: str, body: str, *, reply: str = "",
                tag: str = "") -> str:
    return min_message(mid, (
        "<div class=chatlog__message-aside>"
        + ("<div class=chatlog__reply-symbol></div>" if reply else "")
        + "<img class=chatlog__avatar src=a.png alt=Avatar loading=lazy></div>"
        "<div class=chatlog__message-primary>" + reply
        + f"<div class=chatlog__header><span class=chatlog__author title={title} "
          f"data-user-id={uid}>{name}</span> "
        + (f"<span class=chatlog__author-tag>{tag}</span> " if tag else "")
        + f'<span class=chatlog__timestamp title="Wednesday, March 20, 2024 9:00 AM"><a '
          f"href=#chatlog__message-container-{mid}>3/20/2024 9:00 AM</a></span></div>"
        + body + "</div>"))


def min_system(mid: str, uid: str, title: str, name: str, icon: str, sentence: str) -> str:
    return min_message(mid, (
        f"<div class=chatlog__message-aside><svg class=chatlog__system-notification-icon><use "
        f"href=#{icon}></use></svg></div><div class=chatlog__message-primary><span "
        f"class=chatlog__system-notification-author title={title} data-user-id={uid}>{name}"
        f"</span> <span> </span> <span class=chatlog__system-notification-content>{sentence}"
        f'</span> <span class=chatlog__system-notification-timestamp title="Wednesday, March 20,'
        f' 2024 9:00 AM"><a href=#chatlog__message-container-{mid}>3/20/2024 9:00 AM</a></span>'
        "</div>"))


def min_export(ids: list[str], n: int | None = None, tail: bool = True) -> str:
    join, hello, pin, call, thread, cmd, gone, sticker = ids
    reply = ("<div class=chatlog__reply><img class=chatlog__reply-avatar src=a.png alt=Avatar "
             "loading=lazy><div class=chatlog__reply-author title=carol_c>Carol</div><div "
             "class=chatlog__reply-content><span class=chatlog__reply-link onclick=\"scrollToMessage"
             f"(event, '{hello}')\"><!--wmm:ignore-->hello <span class=chatlog__markdown-mention "
             "title=bob#4321>@Bobby</span><!--/wmm:ignore--></span></div></div>")
    interaction = ("<div class=chatlog__reply><img class=chatlog__reply-avatar src=a.png alt="
                   "Avatar loading=lazy><div class=chatlog__reply-author title=alice_w>Alice</div>"
                   "<div class=chatlog__reply-content>used /roll</div></div>")
    deleted = ("<div class=chatlog__reply><div class=chatlog__reply-unknown>Original message "
               "was deleted or could not be loaded.</div></div>")
    reaction = ("<div class=chatlog__reactions><div class=chatlog__reaction title=thumbsup><img "
                "class=\"chatlog__emoji chatlog__emoji--small\" alt=👍 src=e.svg loading=lazy>"
                "<span class=chatlog__reaction-count>3</span></div></div>")
    body = (MIN_HEAD
            + min_group(min_system(join, CAROL, "carol_c", "Carol", "join-icon",
                                   "<span>joined the server.</span>"))
            + min_group(min_regular(hello, CAROL, "carol_c", "Carol", content(
                "hello <span class=chatlog__markdown-mention title=bob#4321>@Bobby</span>")
                + reaction))
            + min_group(min_system(pin, ALICE, "alice_w", "Alice", "pin-icon",
                                   "<span>pinned </span><a class=chatlog__system-notification-"
                                   f"link href=#chatlog__message-container-{hello}>a message</a>"
                                   "<span> to this channel.</span>"))
            + min_group(min_system(call, BOB, "bob#4321", "Bobby", "call-icon",
                                   "<span>started a call that lasted 13 minutes</span>"))
            + min_group(min_system(thread, ALICE, "alice_w", "Alice", "thread-icon",
                                   "<span>started a thread.</span>"))
            + min_group(min_regular(cmd, "466666666666666666", "dicebot", "DiceBot",
                                    content("rolled 4"), reply=interaction, tag="BOT"))
            + min_group(min_regular(gone, BOB, "bob#4321", "Bobby", content("what was that?"),
                                    reply=deleted))
            + min_group(min_regular(sticker, ALICE, "alice_w", "Alice",
                                    "<div class=chatlog__sticker title=wave><img class=chatlog__"
                                    "sticker--media src=s.png alt=Sticker></div>", reply=reply)))
    if tail:
        body += ("<!--wmm:ignore--></div><!--/wmm:ignore--><div class=postamble><div "
                 f"class=postamble__entry>Exported {n if n is not None else len(ids)} message(s)"
                 "</div></div></body></html>")
    return body


MIN_IDS = [sf(at(20, 12, i, 5), i) for i in range(8)]


def test_minified_layout_with_system_notifications(tmp_path: Path) -> None:
    path = write(tmp_path, min_export(MIN_IDS))
    assert P.sniff(path, path.read_bytes()[:65536]) >= 0.9
    evs, notices = parse(path)
    assert notices == []
    assert [e.kind for e in evs] == ["system", "message", "system", "system", "system",
                                     "message", "message", "message"]
    assert [e.occurred_at for e in evs] == [at(20, 12, i, 5) for i in range(8)]
    join, hello, pin, call, thread, cmd, gone, sticker = evs
    assert join.properties["message_type"] == "GuildMemberJoin"
    assert join.title == "Carol: Joined the server."
    assert [(p.kind, p.value, p.role) for p in join.parties] == [
        ("account", CAROL, "participant"), ("group", CHANNEL_ID, "recipient")]
    assert hello.body == "hello @Bobby"
    assert hello.properties["reactions"] == [{"emoji": "👍", "count": 3}]
    assert (pin.properties["message_type"], pin.properties["reply_to_message_id"]) == (
        "ChannelPinnedMessage", MIN_IDS[1])
    assert (call.properties["message_type"], call.properties["call_duration"]) == ("Call", 780)
    assert thread.properties["message_type"] == "ThreadCreated"
    assert cmd.properties["command"] == "roll"
    assert cmd.properties["invoked_by_username"] == "alice_w"
    assert cmd.parties[0].properties == {"username": "dicebot", "bot": True}
    assert "reply_to_message_id" not in cmd.properties
    assert gone.properties["reply_to_unavailable"] is True
    assert sticker.properties["stickers"] == ["wave"]
    assert sticker.properties["reply_to_message_id"] == MIN_IDS[1]
    assert sticker.body is None


def test_html_and_json_exports_give_the_same_accounts_and_instants(tmp_path: Path) -> None:
    html_evs, _ = parse(write(tmp_path, min_export(MIN_IDS)))

    def author(uid: str, name: str, nick: str, bot: bool = False, disc: str = "0000") -> dict:
        return {"id": uid, "name": name, "discriminator": disc, "nickname": nick, "isBot": bot}

    people = {CAROL: author(CAROL, "carol_c", "Carol"), ALICE: author(ALICE, "alice_w", "Alice"),
              BOB: author(BOB, "bob", "Bobby", disc="4321")}
    # The same two messages as the exporter writes them in JSON (local offset +01:00).
    local = timezone(timedelta(hours=1))
    data = {"guild": {"id": "900000000000000000", "name": "Test Server"},
            "channel": {"id": CHANNEL_ID, "type": "GuildTextChat", "category": "Text Channels",
                        "name": "general"},
            "messages": [{"id": MIN_IDS[1], "type": "Default",
                          "timestamp": at(20, 12, 1, 5).astimezone(local).isoformat(),
                          "content": "hello <@498765432109876543>", "author": people[CAROL]},
                         {"id": MIN_IDS[6], "type": "Reply",
                          "timestamp": at(20, 12, 6, 5).astimezone(local).isoformat(),
                          "content": "what was that?", "author": people[BOB]}]}
    jpath = tmp_path / "export.json"
    jpath.write_text(json.dumps(data), encoding="utf-8")
    json_evs = [r for r in P.parse(jpath, ImportOptions()) if isinstance(r, ParsedEvent)]
    for j, h in zip(json_evs, (html_evs[1], html_evs[6])):
        assert h.occurred_at == j.occurred_at
        assert h.parties[:2] == j.parties[:2]  # sender account and channel group, field by field
        assert h.properties["message_id"] == j.properties["message_id"]


def test_direct_message_goes_to_the_other_person(tmp_path: Path) -> None:
    m1, m2, m3 = sf(at(5, 10, 0)), sf(at(5, 10, 1)), sf(at(5, 10, 2))
    page = (MIN_HEAD.replace(">Test Server<", ">Direct Messages<")
            .replace("Text Channels / general", "Private / bob")
            + min_group(min_regular(m1, ALICE, "alice_w", "Alice", content("hi")),)
            + min_group(min_regular(m2, ALICE, "alice_w", "Alice", content("you there?")))
            + min_group(min_regular(m3, BOB, "bob#4321", "Bobby", content("yes")))
            + "</div><div class=postamble><div class=postamble__entry>Exported 3 message(s)"
              "</div></div></body></html>")
    evs, notices = parse(write(tmp_path, page, "Direct Messages - Private - bob [777000000000000001].html"))
    assert notices == []
    # bob writes only after alice's first two messages, and is already their recipient.
    assert [[(p.value, p.role) for p in e.parties] for e in evs] == [
        [(ALICE, "sender"), (BOB, "recipient")], [(ALICE, "sender"), (BOB, "recipient")],
        [(BOB, "sender"), (ALICE, "recipient")]]
    assert "guild" not in evs[0].properties and evs[0].properties["conversation"] == "bob"


# --- files cut short, pages that are not DiscordChatExporter's ------------------------

def test_truncated_html_keeps_what_it_has_and_says_so(tmp_path: Path) -> None:
    whole = min_export(MIN_IDS)
    # Cut inside the sixth message (the bot's), after its text began.
    cut = whole[:whole.index("rolled 4") + len("rolled")]
    evs, notices = parse(write(tmp_path, cut))
    assert len(evs) == 6
    assert evs[-1].ref == f"message {MIN_IDS[5]}" and evs[-1].properties["incomplete"] is True
    assert [n.ref for n in notices] == ["end of file", f"message {MIN_IDS[5]}"]
    assert "cut short" in notices[0].message and "6 messages were read" in notices[0].message
    # Cut between two messages: the five complete ones, and the warning.
    between = whole[:whole.index(f"<div id=chatlog__message-container-{MIN_IDS[5]}")]
    evs, notices = parse(write(tmp_path, between, "between.html"))
    assert len(evs) == 5 and not any(e.properties.get("incomplete") for e in evs)
    assert [n.ref for n in notices] == ["end of file"]


def test_truncated_before_the_first_message_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, MIN_HEAD + "<div class=chatlog__message-group><div id=chatlog__mes")
    with pytest.raises(ParseError) as exc:
        list(P.parse(path, ImportOptions()))
    assert exc.value.file == str(path) and "cut short" in exc.value.message


def test_other_html_is_not_claimed(tmp_path: Path, shared_data: Path) -> None:
    page = tmp_path / "community.html"
    page.write_text('<!DOCTYPE html><html><head><title>Our community</title></head><body>'
                    '<div class="preamble">Join our Discord server!</div><p>Read the '
                    'chatlog__message archive below.</p></body></html>', encoding="utf-8")
    telegram = shared_data / "chat/telegram/messages.html"
    for path in (page, telegram):
        assert P.sniff(path, path.read_bytes()[:65536]) == 0.0, path
    with pytest.raises(ParseError) as exc:
        list(P.parse(page, ImportOptions()))
    assert exc.value.file == str(page)


# --- old 2.x pages: no ids at all -----------------------------------------------------

def test_old_page_without_ids_uses_displayed_local_time(tmp_path: Path) -> None:
    page = ('<!DOCTYPE html>\n<html lang="en">\n<head><title>Direct Messages - bob</title>'
            '<style>.chatlog__message-group { }</style></head>\n<body>\n<div class="info">'
            '<div class="info__guild-icon-container"><img class="info__guild-icon" src="x.png" />'
            '</div><div class="info__metadata"><div class="info__guild-name">Direct Messages'
            '</div><div class="info__channel-name">bob</div><div class="info__channel-message-'
            'count">3 messages</div></div></div>\n<div class="chatlog">\n'
            '<div class="chatlog__message-group"><div class="chatlog__author-avatar-container">'
            '<img class="chatlog__author-avatar" src="a.png" /></div><div class="chatlog__messages">'
            '<span class="chatlog__author-name" title="alice#1234">alice</span>'
            '<span class="chatlog__timestamp">19-Feb-18 04:40 PM</span>'
            '<div class="chatlog__content">hi bob</div>'
            '<div class="chatlog__content">are you there</div>'
            '<div class="chatlog__attachment"><a href="https://cdn.discordapp.com/attachments/1/2/'
            'doc.pdf">Attachment: doc.pdf (1.25 MB)</a></div>'
            '</div></div>\n<div class="chatlog__message-group"><div class="chatlog__author-avatar-'
            'container"><img class="chatlog__author-avatar" src="b.png" /></div><div class="'
            'chatlog__messages"><span class="chatlog__author-name" title="bob#0042">bob</span>'
            '<span class="chatlog__timestamp">19-Feb-18 04:52 PM</span>'
            '<div class="chatlog__content">yes</div></div></div>\n</div>\n</body>\n</html>\n')
    evs, notices = parse(write(tmp_path, page, "dm.html"))
    # No wrapper per message: each text starts one, and what follows it (the attachment)
    # belongs to it, as the exporter wrote a message's text before its files.
    assert [e.body for e in evs] == ["hi bob", "are you there", "yes"]
    assert [e.occurred_at for e in evs] == [datetime(2018, 2, 19, 16, 40)] * 2 + [
        datetime(2018, 2, 19, 16, 52)]  # naive: the exporting computer's local time
    assert evs[0].properties["date_raw"] == "19-Feb-18 04:40 PM"
    assert [(p.value, p.role) for p in evs[0].parties] == [("alice#1234", "sender"),
                                                            ("bob#0042", "recipient")]
    assert evs[0].parties[0].properties["identified_by"].startswith("user name")
    [doc] = evs[1].attachments
    assert (doc.name, doc.size) == ("doc.pdf", 1310720)
    assert [n.ref for n in notices] == ["dates"]  # a whole file: no "cut short" warning
    assert "no message id" in notices[0].message


# --- size -------------------------------------------------------------------------------

def test_large_html_export_streams_with_flat_memory(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import workstation.ingest.chat.discord as discord

    # Read in 64 KiB pieces (1 MiB by default): the file is read piece by piece, so what is
    # held at any time is a piece and one message, not the file.
    monkeypatch.setattr(discord, "_HTML_CHUNK", 64 * 1024)
    n = 6000
    start = at(1, 0, 0)
    path = tmp_path / f"big [{CHANNEL_ID}].html"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(MIN_HEAD)
        for i in range(n):
            mid = sf(start + timedelta(seconds=7 * i), i % 4096)
            fh.write(min_group(min_regular(mid, str(400000000000000000 + i % 40), f"user{i % 40}",
                                           f"User {i % 40}",
                                           content(f"note {i} " + "lorem ipsum dolor " * 12))))
        fh.write(f"</div><div class=postamble><div class=postamble__entry>Exported {n:,} "
                 "message(s)</div></div></body></html>")
    size = path.stat().st_size
    assert size > 5_000_000
    tracemalloc.start()
    try:
        count, last = 0, None
        for r in P.parse(path, ImportOptions()):
            assert isinstance(r, ParsedEvent), r
            count, last = count + 1, r
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < size // 4, f"peak {peak:,} bytes for a {size:,}-byte file: not streamed"
    assert last is not None and last.occurred_at == start + timedelta(seconds=7 * (n - 1))


def test_read_the_same_whatever_the_chunk_boundaries(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import workstation.ingest.chat.discord as discord

    path = write(tmp_path, min_export(MIN_IDS).replace("hello", "h\u00e9llo &amp; \U0001f44b"))
    whole = list(P.parse(path, ImportOptions()))
    assert whole[1].body == "h\u00e9llo & \U0001f44b @Bobby"
    for chunk in (1, 7, 64, 4096):
        monkeypatch.setattr(discord, "_HTML_CHUNK", chunk)
        assert list(P.parse(path, ImportOptions())) == whole, chunk
