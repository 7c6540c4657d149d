"""What Telegram Desktop's export writers emit that earlier rounds misread or dropped.

HTML pages are built with the writer's own layout rules (every block tag on its own line,
indented by nesting depth; inline tags in the text): the reactions block with the names of
recent reactors in the userpics' titles, "via @bot" appended to the sender's name, the
forwarded original's date, replies to other chats and the links Telegram puts in a text.
JSON: the whole-account sections (sessions, web sessions, contacts with their user ids,
frequent contacts) and inline URL buttons. People, numbers and addresses are synthetic.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.core.ingest.test_chat_telegram_pages import _page
from tests.core.ingest.test_chat_telegram_real_variants import events
from workstation.ingest.chat.telegram import TelegramHtmlParser, TelegramJsonParser
from workstation.ingest.records import ImportOptions, ParsedEntity, ParsedEvent

TZ = timezone(timedelta(hours=2))


class _Writer:
    """Markup laid out the way the export writer lays it out (block tags on their own
    lines, indented one space per open tag; inline tags inside the text)."""

    def __init__(self, depth: int = 5) -> None:
        self.depth = depth
        self.out: list[str] = []

    def push(self, tag: str, **attrs: str) -> _Writer:
        inner = "".join(f' {k.rstrip("_")}="{v}"' for k, v in attrs.items())
        self.out.append(f"\n{' ' * self.depth}<{tag}{inner}>\n")
        self.depth += 1
        return self

    def text(self, raw: str) -> _Writer:
        self.out.append(raw)
        return self

    def pop(self, tag: str = "div") -> _Writer:
        self.depth -= 1
        self.out.append(f"\n{' ' * self.depth}</{tag}>\n")
        return self

    def html(self) -> str:
        return "".join(self.out)


def _userpic(w: _Writer, initials: str, title: str | None = None, size: int = 42) -> None:
    w.push("div", class_="userpic userpic2", style=f"width: {size}px; height: {size}px")
    attrs = {"class_": "initials", "style": f"line-height: {size}px"}
    if title:
        attrs["title"] = title
    w.push("div", **attrs).text(initials).pop().pop()


def _message(mid: int, when: str, sender: str | None, body: Any = None, *,
             after_text: Any = None, forwarded: tuple[str, str] | None = None,
             reply: str | None = None, text: str | None = None) -> str:
    """One div.message default; ``body``/``after_text`` add markup before/after the text."""
    w = _Writer()
    cls = "message default clearfix" + ("" if sender else " joined")
    w.push("div", class_=cls, id=f"message{mid}")
    if sender:
        w.push("div", class_="pull_left userpic_wrap")
        _userpic(w, sender[:1])
        w.pop()
    w.push("div", class_="body")
    w.push("div", class_="pull_right date details", title=f"{when} UTC+02:00")
    w.text(when[11:16]).pop()
    if sender:
        w.push("div", class_="from_name").text(sender).pop()
    if forwarded:
        name, fwd_when = forwarded
        w.push("div", class_="pull_left forwarded userpic_wrap")
        _userpic(w, name[:1])
        w.pop()
        w.push("div", class_="forwarded body")
        w.push("div", class_="from_name").text(name)
        w.text(f'<span class="date details" title="{fwd_when} UTC+02:00"> {fwd_when}</span>')
        w.pop()
    if reply:
        w.push("div", class_="reply_to details").text(reply).pop()
    if body:
        body(w)
    if text is not None:
        w.push("div", class_="text").text(text).pop()
    if forwarded:
        w.pop()
    if after_text:
        after_text(w)
    w.pop().pop()
    return w.html()


def _parse_html(tmp_path: Path, entries: list[str]) -> list[ParsedEvent]:
    path = tmp_path / "messages.html"
    path.write_text(_page("Harbour Crew", entries), encoding="utf-8")
    return events(list(TelegramHtmlParser().parse(path, ImportOptions())))


# ------------------------------------------------------------------ HTML: reactions

def _reactions(w: _Writer) -> None:
    w.push("span", class_="reactions")
    # 👍 by the owner and two others, all shown: no count element.
    w.push("span", class_="reaction active")
    w.push("span", class_="emoji").text("\U0001f44d").pop("span")
    w.push("span", class_="userpics")
    for name in ("Dana Reef", "Eli Cove"):
        _userpic(w, name[0] + name.split()[1][0], title=name, size=20)
    w.pop("span").pop("span")
    # A custom emoji exported as a sticker file, 5 reactions of which one is shown.
    w.push("span", class_="reaction")
    w.push("span", class_="emoji")
    w.text('<a href = "../../stickers/sticker (3).webp">\U0001f44b</a>').pop("span")
    w.push("span", class_="userpics")
    _userpic(w, "FD", title="Fay Dock", size=20)
    w.pop("span")
    w.push("span", class_="count").text("5").pop("span")
    w.pop("span")
    # Paid (star) reactions: a count and nobody named.
    w.push("span", class_="reaction paid")
    w.push("span", class_="emoji").text("\u2b50").pop("span")
    w.push("span", class_="count").text("50").pop("span")
    w.pop("span")
    w.pop("span")


def test_html_reactions_keep_emoji_counts_and_who_reacted(tmp_path: Path) -> None:
    ev, = _parse_html(tmp_path, [_message(
        301, "01.03.2024 21:00:00", "Gus Pier", text="boat at nine", after_text=_reactions)])
    assert ev.body == "boat at nine"
    assert ev.properties["reactions"] == [
        {"type": "emoji", "emoji": "\U0001f44d", "count": 2, "owner_reacted": True,
         "recent": [{"from": "Dana Reef"}, {"from": "Eli Cove"}]},
        {"type": "custom_emoji", "document_id": "stickers/sticker (3).webp", "count": 5,
         "recent": [{"from": "Fay Dock"}]},
        {"type": "paid", "count": 50},
    ]
    assert [(p.value, p.role) for p in ev.parties if p.role == "reacted"] == [
        ("Dana Reef", "reacted"), ("Eli Cove", "reacted"), ("Fay Dock", "reacted")]
    # The reactors' initials are not mistaken for text, sender or group members.
    assert [p.value for p in ev.parties if p.role == "sender"] == ["Gus Pier"]


def test_html_reactions_in_a_div_block_of_earlier_versions(tmp_path: Path) -> None:
    def block(w: _Writer) -> None:
        w.push("div", class_="reactions").push("div", class_="reaction")
        w.push("div", class_="emoji").text("\u2764").pop()
        w.push("div", class_="count").text("3").pop()
        w.pop().pop()

    ev, = _parse_html(tmp_path, [_message(302, "01.03.2024 21:00:00", "Gus Pier",
                                          text="ok", after_text=block)])
    assert ev.properties["reactions"] == [{"type": "emoji", "emoji": "\u2764", "count": 3}]


# ------------------------------------------------- HTML: via bot, forwards, replies

def test_html_via_bot_is_not_part_of_the_senders_name(tmp_path: Path) -> None:
    first, joined, other = _parse_html(tmp_path, [
        _message(401, "01.03.2024 21:00:00", "Dana Reef via @examplegifbot", text="look"),
        _message(402, "01.03.2024 21:01:00", None, text="and this"),
        _message(403, "01.03.2024 21:02:00", "Dana Reef", text="mine"),
    ])
    senders = [[p.value for p in e.parties if p.role == "sender"]
               for e in (first, joined, other)]
    # One person, one account: the bot's name is not glued to hers.
    assert senders == [["Dana Reef"], ["Dana Reef"], ["Dana Reef"]]
    assert first.properties["via_bot"] == "@examplegifbot"
    assert joined.properties["via_bot"] == "@examplegifbot"
    assert "via_bot" not in other.properties


def test_html_forward_date_and_reply_to_another_chat(tmp_path: Path) -> None:
    fwd, reply = _parse_html(tmp_path, [
        _message(501, "02.03.2024 09:00:00", "Eli Cove", text="see below",
                 forwarded=("Harbour News", "28.02.2024 18:30:05")),
        _message(502, "02.03.2024 09:05:00", "Fay Dock", text="noted",
                 reply="In reply to a message in another chat"),
    ])
    assert fwd.properties["forwarded_from"] == "Harbour News"
    assert fwd.properties["forwarded_date"] == datetime(2024, 2, 28, 18, 30, 5,
                                                        tzinfo=TZ).isoformat()
    assert fwd.occurred_at == datetime(2024, 3, 2, 9, 0, tzinfo=TZ)
    assert reply.properties["reply_to_other_chat"] is True
    assert "reply_to_message_id" not in reply.properties


def test_html_text_links_give_phones_emails_mentions_urls_and_hashtags(
        tmp_path: Path) -> None:
    text = ('call <a href="tel:+1 555 0100">+1 555 0100</a> or '
            '<a href="mailto:dana@example.org">dana@example.org</a>, ask '
            '<a href="https://t.me/eli_cove">@eli_cove</a> or '
            '<a href="" onclick="return ShowMentionName()">Fay Dock</a>, read '
            '<a href="https://example.com/tide?d=2">the tide table</a> '
            '<a href="" onclick="return ShowHashtag(&quot;pier4&quot;)">#pier4</a>')
    ev, = _parse_html(tmp_path, [_message(601, "01.03.2024 21:00:00", "Dana Reef",
                                          text=text)])
    assert ev.body == ("call +1 555 0100 or dana@example.org, ask @eli_cove or Fay Dock, "
                       "read the tide table #pier4")
    assert [(p.kind, p.value) for p in ev.parties if p.role == "mentioned"] == [
        ("phone", "+1 555 0100"), ("email", "dana@example.org"),
        ("account", "@eli_cove"), ("account", "Fay Dock")]
    # The address behind a text link, which the text itself does not show.
    assert ev.properties["urls"] == ["https://example.com/tide?d=2"]
    assert ev.properties["hashtags"] == ["#pier4"]


# ------------------------------------------------------------ JSON: whole account

def _account_export(tmp_path: Path) -> list:
    data = {
        "about": "Here is the data you requested.",
        "personal_information": {"user_id": 5550001, "first_name": "Dana",
                                 "last_name": "Reef", "phone_number": "+1 555 0100",
                                 "bio": ""},
        "contacts": {"about": "", "list": [
            {"user_id": 5550002, "first_name": "Eli", "last_name": "Cove",
             "phone_number": "+1 555 0101", "date": "2023-05-01T10:00:00",
             "date_unixtime": "1682935200"},
            {"first_name": "Fay", "last_name": "Dock", "phone_number": "+1 555 0102",
             "date": "2023-05-02T10:00:00", "date_unixtime": "1683021600"}]},
        "frequent_contacts": {"about": "", "list": [
            {"id": 5550002, "category": "people", "type": "user", "name": "Eli Cove",
             "rating": 4.5},
            {"id": 1700000001, "category": "people", "type": "private_supergroup",
             "name": "Harbour Crew", "rating": 2.25},
            {"id": 5550003, "category": "calls", "type": "user", "name": "Fay Dock",
             "rating": 1.0}]},
        "sessions": {"about": "", "list": [
            {"last_active": "2024-03-01T21:00:00", "last_active_unixtime": "1709323200",
             "last_ip": "203.0.113.7", "last_country": "Exampleland",
             "last_region": "North", "application_name": "Telegram Desktop",
             "application_version": "4.15.2", "device_model": "Example PC",
             "platform": "Windows", "system_version": "10",
             "created": "2024-01-10T08:00:00", "created_unixtime": "1704873600"}]},
        "web_sessions": {"about": "", "list": [
            {"last_active": "2024-02-01T12:00:00", "last_active_unixtime": "1706788800",
             "last_ip": "198.51.100.23", "last_region": "South",
             "bot_username": "examplelogin_bot", "domain_name": "shop.example.com",
             "browser": "Firefox", "platform": "Linux",
             "created": "2024-02-01T11:55:00", "created_unixtime": "1706788500"}]},
        "chats": {"about": "", "list": []},
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return list(TelegramJsonParser().parse(path, ImportOptions()))


def test_json_sessions_are_system_lines_naming_ips_the_owner_uses(tmp_path: Path) -> None:
    logins = [e for e in events(_account_export(tmp_path)) if e.ref.endswith("sessions[0]")]
    # Not messages: system lines, so the import's event count stays one per message.
    assert [e.kind for e in logins] == ["system", "system"]
    app, web = logins
    assert app.ref == "sessions[0]" and web.ref == "web_sessions[0]"
    assert app.occurred_at == datetime(2024, 3, 1, 20, 0, tzinfo=timezone.utc)
    assert [(p.kind, p.value, p.role) for p in app.parties] == [
        ("account", "user5550001", "account_holder"), ("ip", "203.0.113.7", "origin")]
    assert app.properties["device_model"] == "Example PC"
    assert app.properties["application_name"] == "Telegram Desktop"
    assert app.properties["session_created_at"] == "2024-01-10T08:00:00+00:00"
    assert "203.0.113.7" in app.title and "Example PC" in app.title
    assert [(lk.kind, lk.src.value, lk.dst.value) for lk in app.links] == [
        ("uses", "user5550001", "203.0.113.7")]
    assert web.properties["domain_name"] == "shop.example.com"
    assert [(p.kind, p.value) for p in web.parties] == [
        ("account", "user5550001"), ("ip", "198.51.100.23")]


def test_json_contacts_with_user_ids_and_frequent_contacts(tmp_path: Path) -> None:
    ents = [r for r in _account_export(tmp_path) if isinstance(r, ParsedEntity)]
    by_ref = {e.ref: e for e in ents}
    eli = by_ref["contacts[0]"]
    assert (eli.party.kind, eli.party.value) == ("phone", "+1 555 0101")
    assert [(lk.kind, lk.src.value, lk.dst.value) for lk in eli.links] == [
        ("contact_of", "+1 555 0101", "user5550001"),
        ("uses", "user5550002", "+1 555 0101"),
        ("contact_of", "user5550002", "user5550001")]
    fay = by_ref["contacts[1]"]
    assert [lk.kind for lk in fay.links] == ["contact_of"]
    freq = [by_ref[f"frequent_contacts[{i}]"].party for i in range(3)]
    assert [(p.kind, p.value, p.label, p.properties.get("category")) for p in freq] == [
        ("account", "user5550002", "Eli Cove", "people"),
        ("group", "channel1700000001", "Harbour Crew", "people"),
        ("account", "user5550003", "Fay Dock", "calls")]
    assert by_ref["frequent_contacts[0]"].links[0].src.value == "user5550001"


def test_json_inline_url_buttons_and_paid_media(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"name": "Shop Bot", "type": "bot_chat", "id": 5550009,
                                "messages": [{
        "id": 1, "type": "message", "date": "2024-03-01T21:00:00",
        "date_unixtime": "1709323200", "from": "Shop Bot", "from_id": "user5550009",
        "paid_stars_amount": 25, "text": "Pay here", "text_entities": [
            {"type": "plain", "text": "Pay here"}],
        "inline_bot_buttons": [[
            {"type": "url", "text": "Open", "data": "https://pay.example.com/o/77"},
            {"type": "callback", "text": "Cancel", "dataBase64": "Y2FuY2Vs", "data": ""}]],
    }]}), encoding="utf-8")
    ev, = events(list(TelegramJsonParser().parse(path, ImportOptions())))
    assert ev.properties["urls"] == ["https://pay.example.com/o/77"]
    assert ev.properties["paid_stars_amount"] == 25


# ----------------------------------------------- HTML: whole-account list pages

def _list_page(header: str, rows: list[tuple[str, str, list[str], str]]) -> str:
    w = _Writer(depth=1)
    w.push("div", class_="page_wrap")
    w.push("div", class_="page_header")
    w.push("a", class_="content block_link", href="../export_results.html",
           onclick="return GoBack(this)")
    w.push("div", class_="text bold").text(header).pop().pop("a").pop()
    w.push("div", class_="page_body list_page")
    w.push("div", class_="page_about details").text("About this list.").pop()
    w.push("div", class_="entry_list")
    for name, subname, details, info in rows:
        w.push("div", class_="entry clearfix")
        w.push("div", class_="pull_left userpic_wrap")
        _userpic(w, name[:1], size=48)
        w.pop()
        w.push("div", class_="body")
        if info:
            w.push("div", class_="pull_right info details").text(info).pop()
        w.push("div", class_="name bold").text(name).pop()
        if subname:
            w.push("div", class_="subname bold").text(subname).pop()
        for line in details:
            w.push("div", class_="details_entry details").text(line).pop()
        w.pop().pop()
    w.pop().pop().pop()
    return ('<!DOCTYPE html>\n<html>\n <head>\n  <meta charset="utf-8"/>\n'
            "<title>Exported Data</title>\n </head>\n <body onload=\"CheckLocation();\">"
            + w.html() + " </body>\n</html>\n")


def test_html_sessions_and_contacts_pages_of_an_account_export(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "sessions.html").write_text(_list_page("Sessions", [
        ("Telegram Desktop 4.15.2", "Example PC, Windows 10",
         ["203.0.113.7 \u2013 North, Exampleland", "Last active: 01.03.2024 21:00:00",
          "Created: 10.01.2024 08:00:00"], "")]), encoding="utf-8")
    (lists / "web_sessions.html").write_text(_list_page("Web sessions", [
        ("shop.example.com", "Linux, Firefox",
         ["198.51.100.23 \u2013 South", "Last active: 01.02.2024 12:00:00",
          "Created: 01.02.2024 11:55:00"], "@examplelogin_bot")]), encoding="utf-8")
    (lists / "contacts.html").write_text(_list_page("Contacts", [
        ("Eli Cove", "", ["+1 555 0101"], "01.05.2023 10:00:00")]), encoding="utf-8")
    parser = TelegramHtmlParser()
    opts = ImportOptions(owner="Dana Reef")
    app, = parser.parse(lists / "sessions.html", opts)
    assert isinstance(app, ParsedEvent) and app.kind == "system"
    assert app.occurred_at == datetime(2024, 3, 1, 21, 0)
    assert [(p.kind, p.value, p.role) for p in app.parties] == [
        ("account", "Dana Reef", "account_holder"), ("ip", "203.0.113.7", "origin")]
    assert (app.properties["device"], app.properties["last_location"]) == (
        "Example PC, Windows 10", "North, Exampleland")
    assert app.properties["session_created_at"] == "2024-01-10T08:00:00"
    assert [(lk.kind, lk.dst.value) for lk in app.links] == [("uses", "203.0.113.7")]
    web, = parser.parse(lists / "web_sessions.html", opts)
    assert isinstance(web, ParsedEvent)
    assert (web.properties["domain_name"], web.properties["bot_username"]) == (
        "shop.example.com", "@examplelogin_bot")
    assert [p.value for p in web.parties if p.kind == "ip"] == ["198.51.100.23"]
    contact, = parser.parse(lists / "contacts.html", opts)
    assert isinstance(contact, ParsedEntity)
    assert (contact.party.kind, contact.party.value, contact.party.label) == (
        "phone", "+1 555 0101", "Eli Cove")


def test_account_export_sessions_land_in_the_case_as_ips_the_owner_uses(ws, tmp_path: Path) -> None:
    from workstation.ingest.pipeline import detect, run_import

    _account_export(tmp_path)  # writes result.json
    path = tmp_path / "result.json"
    case_id = ws.create_case("TG-3", "Account export").id
    assert detect(path).format == "telegram_json"
    result = run_import(ws, case_id, path)
    assert result.errors == ()
    # The export's sessions are not messages: no events of their own, two system lines.
    assert result.events == result.messages
    assert result.system_lines == 2
    ips = {e.label: e.id for e in ws.list_entities(case_id, kind="ip")}
    assert set(ips) == {"203.0.113.7", "198.51.100.23"}
    owner = next(e for e in ws.list_entities(case_id, kind="account")
                 if e.key == "account:telegram:user5550001")
    used = {(lk.src_id, lk.dst_id) for lk in ws.list_links(case_id=case_id)
            if lk.kind == "uses"}
    assert {(owner.id, ips["203.0.113.7"]), (owner.id, ips["198.51.100.23"])} <= used
