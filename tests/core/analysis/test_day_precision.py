"""Events whose source gives only the date (``properties["time_precision"] == "day"``, stored
at midnight of that day in the import's offset) stand for the whole day wherever analysis
relates events by time, and search hits say so; stored times never change."""

from __future__ import annotations

import json

import numpy as np
from datetime import datetime, timedelta, timezone

from workstation.analysis import timeline as tl
from workstation.analysis.graph import entities_active_between
from workstation.analysis.matching import case_connections
from workstation.analysis.search import search
from workstation.domain.service import Workstation

PLUS_ONE = timezone(timedelta(hours=1))
DAY = {"time_precision": "day"}


def _us(dt: datetime) -> int:
    return tl.to_us(dt)


def _card_case(ws: Workstation) -> dict[str, int]:
    """A card statement dated 2024-03-01 only, a statement line of the day before, and a
    chat message at 15:00 that day (all synthetic)."""
    case = ws.create_case("C-2024-DAY", "Day precision").id
    card = ws.add_entity(case, "account", "telegram:alice_example").id
    shop = ws.add_entity(case, "person", "Bailey Example").id
    alice = ws.add_entity(case, "person", "Alice Example").id
    dated = ws.add_event(case, "transaction", datetime(2024, 3, 1, tzinfo=PLUS_ONE),
                         title="Card purchase kiosk marigold", properties=DAY, parties=[(card, "card")]).id
    before = ws.add_event(case, "transaction", datetime(2024, 2, 29, tzinfo=PLUS_ONE),
                          title="Card purchase kiosk marigold", properties=DAY, parties=[(shop, "payee")]).id
    message = ws.add_event(case, "message", datetime(2024, 3, 1, 15, 0, tzinfo=PLUS_ONE),
                           title="Message", body="at the marigold kiosk now", parties=[(alice, "sender")]).id
    return {"case": case, "card": card, "shop": shop, "alice": alice, "dated": dated, "before": before,
            "message": message}


def test_search_hit_carries_the_precision_and_its_own_offset(ws: Workstation) -> None:
    ids = _card_case(ws)
    hits = {h.id: h for h in search(ws, "marigold").hits}
    assert (hits[ids["dated"]].time_precision, hits[ids["dated"]].utc_offset) == ("day", 60)
    assert hits[ids["message"]].time_precision is None
    assert hits[ids["dated"]].ts_utc == _us(datetime(2024, 3, 1, tzinfo=PLUS_ONE)), "stored time unchanged"


def test_search_time_filter_keeps_an_event_whose_day_meets_the_range(ws: Workstation) -> None:
    ids = _card_case(ws)
    # 14:00-16:00 on 2024-03-01 at +01:00, written in UTC.
    found = {h.id for h in search(ws, "marigold from:2024-03-01T13:00:00Z to:2024-03-01T15:00:00Z").hits}
    assert found == {ids["dated"], ids["message"]}, "the purchase that day may have been at 14:00"
    # The same through the start/end arguments the search panel passes.
    start = _us(datetime(2024, 3, 1, 14, tzinfo=PLUS_ONE))
    found = {h.id for h in search(ws, "marigold", start=start, end=start + 2 * 3600 * 10**6).hits}
    assert found == {ids["dated"], ids["message"]}
    # The day after is outside every day-precision event.
    assert not search(ws, "marigold from:2024-03-02T12:00:00+01:00 to:2024-03-03").hits


def test_timeline_window_and_chart_filter_cover_the_whole_day(ws: Workstation) -> None:
    ids = _card_case(ws)
    a = _us(datetime(2024, 3, 1, 14, tzinfo=PLUS_ONE))
    b = _us(datetime(2024, 3, 1, 16, tzinfo=PLUS_ONE))
    got = [e.id for e in tl.sql_window_events(ws, ids["case"], a, b)]
    assert got == [ids["dated"], ids["message"]]
    active = entities_active_between(ws, ids["case"], a, b)
    assert active == {ids["card"], ids["alice"]}, "the day-before purchase's payee stays out"
    # A window ending at the day's first moment still sees the day before it, not that day.
    start_of_day = _us(datetime(2024, 3, 1, tzinfo=PLUS_ONE))
    assert entities_active_between(ws, ids["case"], start_of_day - 3600 * 10**6, start_of_day) == {ids["shop"]}


def test_ip_window_measures_from_the_dated_day(ws: Workstation) -> None:
    a = ws.create_case("I-DAY-1", "a").id
    b = ws.create_case("I-DAY-2", "b").id
    ip_a = ws.add_entity(a, "ip", "203.0.113.77").id
    ip_b = ws.add_entity(b, "ip", "203.0.113.77").id
    # A provider's log gives the day only; the other case logged 15:00 that day.
    ws.add_event(a, "login", datetime(2024, 3, 1, tzinfo=PLUS_ONE), properties=DAY, parties=[(ip_a, "ip")])
    ws.add_event(b, "login", datetime(2024, 3, 1, 15, tzinfo=PLUS_ONE), parties=[(ip_b, "ip")])
    conns = case_connections(ws, a, ip_window=timedelta(hours=2))
    assert [c.other_case_number for c in conns] == ["I-DAY-2"]
    (reason,) = [r for r in conns[0].reasons if r.key_or_desc == "ip:203.0.113.77"]
    assert "0 s apart" in reason.explanation
    # Two hours after the end of that day is still too far for a 1 hour window.
    ws.add_event(b, "login", datetime(2024, 3, 3, 2, tzinfo=PLUS_ONE), parties=[(ip_b, "ip")])
    c = ws.create_case("I-DAY-3", "c").id
    ip_c = ws.add_entity(c, "ip", "203.0.113.77").id
    ws.add_event(c, "login", datetime(2024, 3, 2, 1, tzinfo=PLUS_ONE), parties=[(ip_c, "ip")])
    near = {x.other_case_number for x in case_connections(ws, a, ip_window=timedelta(hours=1))}
    assert "I-DAY-3" not in near
    near = {x.other_case_number for x in case_connections(ws, a, ip_window=timedelta(hours=1, minutes=1))}
    assert "I-DAY-3" in near


def test_month_and_year_cover_their_calendar_period_in_the_events_offset() -> None:
    feb = _us(datetime(2024, 2, 1, tzinfo=PLUS_ONE))
    assert tl.covered_until(feb, "month", 60) == _us(datetime(2024, 3, 1, tzinfo=PLUS_ONE))
    year = _us(datetime(2024, 1, 1, tzinfo=PLUS_ONE))
    assert tl.covered_until(year, "year", 60) == _us(datetime(2025, 1, 1, tzinfo=PLUS_ONE))
    assert tl.covered_until(year, "day", 60) == year + 86_400 * 10**6
    assert tl.covered_until(year, None, 60) == year + 1


def test_sql_and_python_agree_on_the_covered_period(ws: Workstation) -> None:
    case = ws.create_case("C-2024-PREC", "Precision").id
    minus_five = timezone(timedelta(hours=-5))
    made = []
    for when, props in ((datetime(2024, 2, 1, tzinfo=minus_five), {"time_precision": "month"}),
                        (datetime(2023, 1, 1, tzinfo=PLUS_ONE), {"time_precision": "year"}),
                        (datetime(2024, 3, 1, tzinfo=minus_five), DAY),
                        (datetime(2024, 3, 1, 10, 30, tzinfo=PLUS_ONE), {})):
        made.append(ws.add_event(case, "other", when, title="x", properties=props).id)
    with ws.db.read() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT id, ts_utc, utc_offset, properties, {tl.covered_until_sql()} FROM event "
            f"WHERE case_id = ? ORDER BY id", (case,)).fetchall()
    for _id, ts, off, props, end in rows:
        assert end == tl.covered_until(ts, tl.time_precision(json.loads(props)), off)
    # The month of February 2024 (29 days) at -05:00 meets a window on its last evening only.
    feb_end = _us(datetime(2024, 2, 29, 23, tzinfo=minus_five))
    assert [e.id for e in tl.sql_window_events(ws, case, feb_end, feb_end + 3600 * 10**6)] == [made[0]]


def test_timeline_index_shows_a_day_event_in_a_window_inside_its_day(ws: Workstation) -> None:
    """The timeline's in-memory index: an afternoon window of 1 March holds the purchase
    dated only 1 March (it covers the day in its own +01:00 offset), not the one of the
    day before; a click in the afternoon on the lane picks it, the message's own dot wins
    near 15:00; a month-dated event covers its month; editing the date keeps it right."""
    ids = _card_case(ws)
    month = ws.add_event(ids["case"], "arrest", datetime(2024, 2, 1, tzinfo=PLUS_ONE), title="Arrest, February",
                         properties={"time_precision": "month"}).id
    index = tl.load_index(ws, [ids["case"]])
    assert index.max_span == 29 * 86_400 * 1_000_000  # February 2024, a leap year
    layout = index.layout("case")
    lo, hi = _us(datetime(2024, 3, 1, 14, tzinfo=PLUS_ONE)), _us(datetime(2024, 3, 1, 16, tzinfo=PLUS_ONE))
    a, b = layout.window(lo, hi)
    in_view = {int(index.ids[r]) for r, u in zip(layout.rows[a:b], layout.until[a:b]) if u > lo}
    assert in_view == {ids["dated"], ids["message"]}
    assert layout.count(lo, hi) == 2
    pick = layout.nearest(_us(datetime(2024, 3, 1, 14, 20, tzinfo=PLUS_ONE)), 0, 60 * 1_000_000)
    assert pick is not None and int(index.ids[layout.rows[pick]]) == ids["dated"]
    pick = layout.nearest(_us(datetime(2024, 3, 1, 15, 0, 30, tzinfo=PLUS_ONE)), 0, 60 * 1_000_000)
    assert pick is not None and int(index.ids[layout.rows[pick]]) == ids["message"]
    # The dot of a day event sits mid-day; a February window holds the month's arrest.
    row = index.row_of_id(ids["dated"])
    mark = int(np.flatnonzero(layout.rows == row)[0])
    assert layout.mid[mark] == _us(datetime(2024, 3, 1, 12, tzinfo=PLUS_ONE))
    assert layout.count(_us(datetime(2024, 2, 20, tzinfo=PLUS_ONE)), _us(datetime(2024, 2, 21, tzinfo=PLUS_ONE))) == 1
    # Moved to 2 March by an edit (still date-only): the patched index follows.
    ws.update_event(ids["dated"], occurred_at=datetime(2024, 3, 2, tzinfo=PLUS_ONE))
    index.apply(tl.read_index_patch(ws, [ids["dated"], month]))
    layout = index.layout("case")
    assert layout.count(lo, hi) == 1
    assert layout.count(lo + 86_400 * 1_000_000, hi + 86_400 * 1_000_000) == 1
