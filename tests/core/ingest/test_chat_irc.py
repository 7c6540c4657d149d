"""IRC logs in each common client's format (generated; nicks and hosts are synthetic)."""

from __future__ import annotations

import random
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from workstation.ingest.chat.irc import IrcLogParser
from workstation.ingest.records import (
    ImportOptions,
    ParsedEntity,
    ParsedEvent,
    ParseError,
    RowError,
)

P = IrcLogParser()


def run(path: Path, **opts: object) -> list:
    return list(P.parse(path, ImportOptions(**opts)))  # type: ignore[arg-type]


def evs(records: list) -> list[ParsedEvent]:
    return [r for r in records if isinstance(r, ParsedEvent)]


def summary(records: list) -> list[tuple]:
    out = []
    for e in evs(records):
        who = next((p.value for p in e.parties if p.role == "sender"), None)
        out.append((e.kind, e.occurred_at, who, e.body if e.kind == "message" else None,
                    bool(e.properties.get("action"))))
    return out


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


IRSSI = """\
--- Log opened Tue Jan 01 23:58:00 2019
23:58 -!- alice [~alice@203.0.113.7] has joined #case
23:58 < alice> anyone here?
23:59 <@bob> yes
23:59  * alice waves
--- Day changed Wed Jan 02 2019
00:01 -!- alice is now known as alice_
00:02 <+alice_> bye
00:03 -!- bob [~bob@host.example.net] has quit [Quit: leaving]
--- Log closed Wed Jan 02 00:05:00 2019
"""


def test_irssi(tmp_path: Path) -> None:
    path = write(tmp_path, "#case.log", IRSSI)
    assert P.sniff(path, path.read_bytes()) >= 0.6
    records = run(path, profile={"network": "libera"})
    assert not [r for r in records if isinstance(r, RowError)]
    d1 = datetime(2019, 1, 1)
    assert summary(records) == [
        ("system", d1.replace(hour=23, minute=58), None, None, False),
        ("message", d1.replace(hour=23, minute=58), "alice", "anyone here?", False),
        ("message", d1.replace(hour=23, minute=59), "bob", "yes", False),
        ("message", d1.replace(hour=23, minute=59), "alice", "waves", True),
        ("system", datetime(2019, 1, 2, 0, 1), None, None, False),
        ("message", datetime(2019, 1, 2, 0, 2), "alice_", "bye", False),
        ("system", datetime(2019, 1, 2, 0, 3), None, None, False),
    ]
    e = evs(records)
    join, nick, quit_ = e[0], e[4], e[6]
    assert join.properties["event"] == "join"
    assert join.properties["hostmask"] == "~alice@203.0.113.7"
    assert ("ip", "203.0.113.7") in [(p.kind, p.value) for p in join.parties]
    assert nick.links[0].kind == "same_as"
    assert (nick.links[0].src.value, nick.links[0].dst.value) == ("alice", "alice_")
    assert quit_.properties["event"] == "quit"
    msg = e[1]
    assert [(p.kind, p.value, p.platform, p.role) for p in msg.parties] == [
        ("account", "alice", "irc:libera", "sender"),
        ("group", "#case", "irc:libera", "recipient")]
    assert msg.ref == "line 3"


WEECHAT = (
    "2019-03-04 10:00:00\t-->\tcarol (~carol@198.51.100.23) has joined #ops\n"
    "2019-03-04 10:00:05\t@carol\thello there\n"
    "2019-03-04 10:00:09\t *\tcarol stretches\n"
    "2019-03-04 10:01:00\t--\tcarol is now known as caz\n"
    "2019-03-04 10:02:00\t<--\tcaz (~carol@198.51.100.23) has quit (Ping timeout)\n"
)


def test_weechat(tmp_path: Path) -> None:
    path = write(tmp_path, "irc.oftc.#ops.weechatlog", WEECHAT)
    records = run(path)
    t = datetime(2019, 3, 4, 10, 0)
    assert summary(records) == [
        ("system", t, None, None, False),
        ("message", t.replace(second=5), "carol", "hello there", False),
        ("message", t.replace(second=9), "carol", "stretches", True),
        ("system", t.replace(minute=1), None, None, False),
        ("system", t.replace(minute=2), None, None, False),
    ]
    e = evs(records)
    assert e[1].parties[0].platform == "irc:oftc"
    assert e[1].properties["conversation"] == "#ops"
    assert e[3].links[0].dst.value == "caz"


HEXCHAT = (
    "**** BEGIN LOGGING AT Sat Dec 31 23:59:00 2022\n"
    "\n"
    "Dec 31 23:59:10 -->\tdave (~dave@192.0.2.10) has joined #newyear\n"
    "Dec 31 23:59:50 <dave>\talmost\n"
    "Jan 01 00:00:05 <erin>\thappy new year\n"
    "Jan 01 00:00:07 *\tdave cheers\n"
    "**** ENDING LOGGING AT Sun Jan  1 00:10:00 2023\n"
)


def test_hexchat_year_rolls_over(tmp_path: Path) -> None:
    path = write(tmp_path, "libera-#newyear.log", HEXCHAT)
    records = run(path)
    assert summary(records) == [
        ("system", datetime(2022, 12, 31, 23, 59, 10), None, None, False),
        ("message", datetime(2022, 12, 31, 23, 59, 50), "dave", "almost", False),
        ("message", datetime(2023, 1, 1, 0, 0, 5), "erin", "happy new year", False),
        ("message", datetime(2023, 1, 1, 0, 0, 7), "dave", "cheers", True),
    ]
    assert evs(records)[1].parties[0].platform == "irc:libera"


MIRC = (
    "Session Start: Mon Feb 06 23:50:00 2023\n"
    "Session Ident: #help\n"
    "[23:50] * Now talking in #help\n"
    "[23:51] * Joins: frank (frank@2001:db8::5)\n"
    "[23:58] <frank> is it late?\n"
    "[00:02] <gina> past midnight\n"
    "[00:03] * frank yawns\n"
    "[00:04] * gina is now known as gina_away\n"
    "Session Close: Tue Feb 07 00:05:00 2023\n"
)


def test_mirc_session_ident_and_midnight_rollover(tmp_path: Path) -> None:
    path = write(tmp_path, "help.log", MIRC)
    records = run(path)
    assert summary(records) == [
        ("system", datetime(2023, 2, 6, 23, 50), None, None, False),
        ("system", datetime(2023, 2, 6, 23, 51), None, None, False),
        ("message", datetime(2023, 2, 6, 23, 58), "frank", "is it late?", False),
        ("message", datetime(2023, 2, 7, 0, 2), "gina", "past midnight", False),
        ("message", datetime(2023, 2, 7, 0, 3), "frank", "yawns", True),
        ("system", datetime(2023, 2, 7, 0, 4), None, None, False),
    ]
    e = evs(records)
    assert e[2].properties["conversation"] == "#help"
    assert ("ip", "2001:db8::5") in [(p.kind, p.value) for p in e[1].parties]


ZNC = (
    "[09:00:00] *** Joins: hank (hank@example.com)\n"
    "[09:00:01] <hank> morning\n"
    "[09:00:02] * hank sips coffee\n"
    "[09:00:03] -NickServ- This nickname is registered.\n"
    "[09:00:04] *** hank sets mode: +o hank\n"
    "[09:00:05] *** Quits: hank (hank@example.com) (Remote host closed the connection)\n"
)


def test_znc_date_from_file_name(tmp_path: Path) -> None:
    folder = tmp_path / "users" / "u" / "networks" / "efnet" / "moddata" / "log" / "#den"
    folder.mkdir(parents=True)
    path = write(folder, "2020-05-17.log", ZNC)
    records = run(path)
    t = datetime(2020, 5, 17, 9, 0)
    assert summary(records) == [
        ("system", t, None, None, False),
        ("message", t.replace(second=1), "hank", "morning", False),
        ("message", t.replace(second=2), "hank", "sips coffee", True),
        ("message", t.replace(second=3), "NickServ", "This nickname is registered.", False),
        ("system", t.replace(second=4), None, None, False),
        ("system", t.replace(second=5), None, None, False),
    ]
    e = evs(records)
    assert e[3].properties["notice"] is True
    assert e[1].parties[0].platform == "irc:efnet"
    assert e[1].properties["conversation"] == "#den"


def test_iso_stamped_log_with_offset(tmp_path: Path) -> None:
    path = write(tmp_path, "query.log",
                 "[2021-07-08T12:00:00+0200] <ivy> hi\n[2021-07-08 12:01:00] <jo> hey\n")
    e = evs(run(path))
    assert e[0].occurred_at == datetime(2021, 7, 8, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert e[1].occurred_at == datetime(2021, 7, 8, 12, 1)


def test_time_only_lines_without_any_date(tmp_path: Path) -> None:
    e = evs(run(write(tmp_path, "chat.log", "12:00 <kim> no date here\n12:01 <lee> ok\n")))
    assert e[0].occurred_at is None
    assert e[0].properties["time"] == "12:00:00"


def test_mixed_encodings_and_unknown_lines(tmp_path: Path) -> None:
    raw = ("--- Log opened Tue Jan 01 10:00:00 2019\n".encode()
           + "10:00 <ana> café\n".encode("utf-8")
           + "10:01 <ben> ".encode() + "naïve".encode("cp1252") + b"\n"
           + b"this line is not irc\n"
           + "10:02 <ana> ok\n".encode())
    path = tmp_path / "#x.log"
    path.write_bytes(raw)
    records = run(path)
    assert [e.body for e in evs(records)] == ["café", "naïve", "ok"]
    errors = [r for r in records if isinstance(r, RowError)]
    assert [e.ref for e in errors] == ["line 4"]


def test_lines_without_timestamps_are_kept_undated(tmp_path: Path) -> None:
    path = write(tmp_path, "#n.log", "Session Start: Mon Feb 06 23:50:00 2023\n"
                                     "* Now talking in #n\n<mo> untimed\n* mo shrugs\n")
    records = run(path)
    assert not [r for r in records if isinstance(r, RowError)]
    assert summary(records) == [("system", None, None, None, False),
                                ("message", None, "mo", "untimed", False),
                                ("message", None, "mo", "shrugs", True)]


def test_utf16_log(tmp_path: Path) -> None:
    path = write(tmp_path, "#u.log", "--- Log opened Tue Jan 01 10:00:00 2019\n10:00 <ana> ğ\n",
                 encoding="utf-16")
    assert [e.body for e in evs(run(path))] == ["ğ"]


def test_binary_file_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "dump.log"
    path.write_bytes(random.Random(3).randbytes(10000))
    with pytest.raises(ParseError) as exc:
        run(path)
    assert str(path) in str(exc.value)


def test_sniff_rejects_syslog_and_whatsapp(tmp_path: Path, shared_data: Path) -> None:
    syslog = write(tmp_path, "syslog", "Jan 01 12:00:00 host sshd[123]: Accepted key\n" * 5)
    assert P.sniff(syslog, syslog.read_bytes()) == 0.0
    wa = shared_data / "chat/whatsapp/whatsapp_ios_chat.txt"
    assert P.sniff(wa, wa.read_bytes()) == 0.0


def test_large_log_streams_with_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "#big.log"
    padding = "with enough words to make the file bigger " * 8
    with path.open("w", encoding="utf-8") as fh:
        fh.write("--- Log opened Tue Jan 01 00:00:00 2019\n")
        for i in range(6000):
            fh.write(f"{(i // 60) % 24:02d}:{i % 60:02d} <nick{i % 9}> line {i} {padding}\n")
    assert path.stat().st_size > 2_000_000
    tracemalloc.start()
    try:
        n = sum(1 for r in P.parse(path, ImportOptions()) if isinstance(r, ParsedEvent))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 6000
    assert peak < 600_000, f"peak {peak} bytes: the parser holds the file in memory"


def facts(records: list) -> list[tuple]:
    """The identity facts yielded beside system events: (kind, src, dst) per link."""
    return [(lk.kind, lk.src.value, lk.dst.value) for r in records
            if isinstance(r, ParsedEntity) for lk in r.links]


def test_nick_changes_and_join_ips_reach_the_chart_as_entities(tmp_path: Path) -> None:
    # System events are kept only as notes by the pipeline, so the facts they carry are
    # repeated as entities with links.
    records = run(write(tmp_path, "#case.log", IRSSI))
    assert facts(records) == [("uses", "alice", "203.0.113.7"), ("same_as", "alice", "alice_")]


IRSSI_THEMED = (
    "--- Log opened Fri Mar 01 09:00:00 2024\n"
    "09:00:01 <    @op> aligned nick column\n"
    "09:00:02 < +voiced> voiced\n"
    "09:00:03 <%half> half-op\n"
    "09:00:04 <~owner> owner\n"
    "09:00:05 <&admin> admin\n"
    "09:00:06 -ChanServ(ChanServ@services.example)- notice with mask\n"
    "09:00:07 -op:#case- channel notice\n"
    "09:00:08 <op> \x02bold\x02 \x0304,01red\x03 \x1ditalic\x1d\x0f done\n"
    "09:00:09 -!- op was kicked from #case by owner [flooding]\n"
    "09:00:10 -!- mode/#case [+o voiced] by op\n"
    "09:00:11 -!- owner changed the topic of #case to: meeting at 10\n"
    "09:00:12 -!- admin [~admin@2001:db8::7] has left #case [bye]\n"
)


def test_irssi_themes_mode_prefixes_notices_and_colour_codes(tmp_path: Path) -> None:
    records = run(write(tmp_path, "#case.log", IRSSI_THEMED))
    assert not [r for r in records if isinstance(r, RowError)]
    e = evs(records)
    msgs = [(x.parties[0].value, x.body) for x in e if x.kind == "message"]
    assert msgs == [("op", "aligned nick column"), ("voiced", "voiced"), ("half", "half-op"),
                    ("owner", "owner"), ("admin", "admin"),
                    ("ChanServ", "notice with mask"), ("op", "channel notice"),
                    ("op", "bold red italic done")]
    kick = e[8]
    assert kick.properties["event"] == "kick"
    assert [(p.value, p.role) for p in kick.parties][:2] == [("op", "participant"),
                                                            ("owner", "actor")]
    part = e[11]
    assert part.properties["event"] == "part"
    assert ("ip", "2001:db8::7") in [(p.kind, p.value) for p in part.parties]
    assert e[0].occurred_at == datetime(2024, 3, 1, 9, 0, 1)


QUASSEL = (
    "[2022-06-01 18:00:00] --> dee has joined #q\n"
    "[2022-06-01 18:00:05] <dee> hi all\n"
    "[2022-06-01 18:00:06] -*- dee waves\n"
    "[2022-06-01 18:00:07] <-> dee is now known as dee_\n"
    "[2022-06-01 18:00:08] <-* mod has kicked dee_ from #q (spam)\n"
    "[2022-06-01 18:00:09] <-- ed has quit (Ping timeout: 240 seconds)\n"
)


def test_quassel_prefixes(tmp_path: Path) -> None:
    records = run(write(tmp_path, "#q.log", QUASSEL))
    assert not [r for r in records if isinstance(r, RowError)]
    t = datetime(2022, 6, 1, 18, 0)
    assert summary(records) == [
        ("system", t, None, None, False),
        ("message", t.replace(second=5), "dee", "hi all", False),
        ("message", t.replace(second=6), "dee", "waves", True),
        ("system", t.replace(second=7), None, None, False),
        ("system", t.replace(second=8), None, None, False),
        ("system", t.replace(second=9), None, None, False),
    ]
    e = evs(records)
    assert (e[0].properties["event"], e[0].parties[0].value) == ("join", "dee")
    assert e[3].links[0].dst.value == "dee_"
    assert [(p.value, p.role) for p in e[4].parties][:2] == [("dee_", "participant"),
                                                            ("mod", "actor")]
    assert (e[5].properties["event"], e[5].parties[0].value) == ("quit", "ed")


def test_textual_offset_stamps(tmp_path: Path) -> None:
    path = write(tmp_path, "#t.txt",
                 "[2016-03-14T21:47:22-0400] \u2022 fay (fay@192.0.2.44) joined the channel\n"
                 "[2016-03-14T21:47:30-0400] <fay> evening\n"
                 "[2016-03-14 21:48:00 +0000] <gus> hi\n")
    records = run(path)
    assert not [r for r in records if isinstance(r, RowError)]
    join, fay, gus = evs(records)
    edt = timezone(timedelta(hours=-4))
    assert fay.occurred_at == datetime(2016, 3, 14, 21, 47, 30, tzinfo=edt)
    assert gus.occurred_at == datetime(2016, 3, 14, 21, 48, tzinfo=timezone.utc)
    assert join.kind == "system" and join.properties["event"] == "join"
    assert ("ip", "192.0.2.44") in [(p.kind, p.value) for p in join.parties]


def test_znc_user_level_module_path_names_network_and_query(tmp_path: Path) -> None:
    folder = tmp_path / "var" / "log" / "znc" / "users" / "u" / "moddata" / "log" / "oftc"
    chan_dir = folder / "#den"
    query_dir = folder / "NickServ"
    chan_dir.mkdir(parents=True)
    query_dir.mkdir(parents=True)
    e = evs(run(write(chan_dir, "2021-02-03.log", "[10:00:00] <ivy> hello\n")))
    assert e[0].occurred_at == datetime(2021, 2, 3, 10, 0)
    assert [(p.kind, p.value, p.platform) for p in e[0].parties] == [
        ("account", "ivy", "irc:oftc"), ("group", "#den", "irc:oftc")]
    q = evs(run(write(query_dir, "2021-02-03.log", "[10:00:00] <ivy> identify\n")))
    assert [(p.kind, p.value, p.role) for p in q[0].parties] == [
        ("account", "ivy", "sender"), ("account", "NickServ", "recipient")]
