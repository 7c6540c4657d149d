"""Timeline queries: the columnar index against the service API and against direct SQL,
lanes, buckets, filters, patches after edits, stars and tags, time zones, saved views.

Cases are built through the service API with synthetic parties; one test imports a real
Messenger export from the external corpus and checks the timeline against its README.
"""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from workstation.analysis import timeline as tl
from workstation.analysis.timeline import TimelineFilter, TimelineView
from workstation.domain.service import Workstation
from workstation.errors import BadInput, Cancelled, NotFound, UsageError

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
US = 1_000_000


def us(dt: datetime) -> int:
    return tl.to_us(dt)


def _build_case(ws: Workstation) -> dict[str, int]:
    """Two people, two phones, a merchant; 40 dated events with parties, one undated,
    one deleted, one event with no party, one whose only party is a deleted entity;
    plus a second case with events that must never show up in the first."""
    cid = ws.create_case("TL-1", "Timeline case", timezone="America/Toronto").id
    alex = ws.add_entity(cid, "person", "Alex Testperson").id
    sam = ws.add_entity(cid, "person", "Sam Placeholt").id
    p1 = ws.add_entity(cid, "phone", "+1 202-555-0142").id
    p2 = ws.add_entity(cid, "phone", "+44 7700 900123").id
    shop = ws.add_entity(cid, "organisation", "CORNER GROCERY").id
    gone = ws.add_entity(cid, "phone", "+1 202-555-0199").id
    for i in range(40):
        when = T0 + timedelta(minutes=37 * i)
        if i % 4 == 3:
            ws.add_event(cid, "transaction", when, title=f"purchase {i}", parties=[(alex, "cardholder"), (shop, "merchant")])
        elif i % 4 == 2:
            ws.add_event(cid, "call", when, title=f"call {i}", parties=[(p1, "caller"), (p2, "callee")])
        else:
            ws.add_event(cid, "message", when, title=f"message {i}",
                         parties=[(p1 if i % 2 else p2, "sender"), (sam, "recipient")])
    lonely = ws.add_event(cid, "note", T0 + timedelta(days=3), title="officer note").id
    undated = ws.add_event(cid, "note", None, title="undated").id
    dropped = ws.add_event(cid, "message", T0 + timedelta(hours=2), title="deleted later", parties=[(p1, "sender")]).id
    ws.delete_event(dropped)
    orphan = ws.add_event(cid, "call", T0 + timedelta(hours=5), title="to a deleted number", parties=[(gone, "callee")]).id
    ws.delete_entity(gone)
    other = ws.create_case("TL-2", "Other case").id
    o1 = ws.add_entity(other, "person", "Casey Otherperson").id
    for i in range(5):
        ws.add_event(other, "login", T0 + timedelta(hours=i), title=f"other {i}", parties=[(o1, "account")])
    return {"case": cid, "other": other, "alex": alex, "sam": sam, "p1": p1, "p2": p2, "shop": shop, "gone": gone,
            "lonely": lonely, "undated": undated, "dropped": dropped, "orphan": orphan, "o1": o1}


@pytest.fixture(scope="module")
def case_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """The case above, built once (sixty audited writes) and copied for every test."""
    from tests.conftest import PASSPHRASE
    from workstation.store.database import Database

    path = tmp_path_factory.mktemp("timeline") / "timeline.db"
    db = Database.create(path, PASSPHRASE)
    try:
        ids = _build_case(Workstation(db))
        db.checkpoint()
    finally:
        db.lock()
    return path, ids


@pytest.fixture
def db_path(case_template: tuple[Path, dict[str, int]], tmp_path: Path) -> Path:
    target = tmp_path / "case.db"
    shutil.copy2(case_template[0], target)
    return target


@pytest.fixture
def case(case_template: tuple[Path, dict[str, int]], ws: Workstation) -> dict[str, int]:
    return dict(case_template[1])


def test_index_holds_exactly_the_live_dated_events_of_the_case(ws: Workstation, case: dict[str, int]) -> None:
    index = tl.load_index(ws, [case["case"]])
    expected = [e for e in ws.list_events(case["case"], limit=None) if e.ts_utc is not None]
    assert len(index) == len(expected) == 42
    assert sorted(index.ids.tolist()) == sorted(e.id for e in expected)
    assert case["dropped"] not in index.ids and case["undated"] not in index.ids
    assert index.undated == 1
    assert np.all(np.diff(index.ts) >= 0)
    by_id = {e.id: e for e in expected}
    for row in range(len(index)):
        ev = by_id[int(index.ids[row])]
        assert int(index.ts[row]) == ev.ts_utc
        assert index.kinds[int(index.kind[row])] == ev.kind
        live_parties = {p.entity_id for p in ev.parties if p.entity_id != case["gone"]}
        assert set(index.parties_of_row(row)) == live_parties
    assert index.extent == (min(e.ts_utc for e in expected), max(e.ts_utc for e in expected))
    # Kinds come in the order officers know them, not the order they were met.
    assert index.kinds == ["message", "transaction", "note", "call"]


def test_entity_lanes_count_each_party_and_keep_partyless_events(ws: Workstation, case: dict[str, int]) -> None:
    index = tl.load_index(ws, [case["case"]])
    lay = index.layout("entity")
    lanes = {lane.key: lane for lane in lay.lanes}
    for name in ("alex", "sam", "p1", "p2", "shop"):
        assert lanes[f"entity:{case[name]}"].count == ws.count_events(case["case"], entity_id=case[name])
    # People first, then phones, then organisations.
    kinds = [lane.kind for lane in lay.lanes if lane.kind]
    assert kinds == ["person", "person", "phone", "phone", "organisation"]
    assert f"entity:{case['gone']}" not in lanes
    # The note has no party and the call's only party was deleted: both in "No party".
    assert lanes["none"].count == 2
    assert len(lay) == sum(lane.count for lane in lay.lanes)


def test_entity_lane_cap_folds_the_quiet_entities_into_other(ws: Workstation, case: dict[str, int]) -> None:
    index = tl.load_index(ws, [case["case"]])
    full = {lane.key: lane.count for lane in index.layout("entity").lanes}
    capped = index.layout("entity", max_entity_lanes=3)
    keys = [lane.key for lane in capped.lanes]
    assert keys[-2:] == ["other", "none"] and len(keys) == 4
    kept = [k for k in keys if k.startswith("entity:")]
    # The busiest keep their lanes; equal counts: the entity recorded first wins.
    ranked = sorted((-c, int(k.split(":")[1])) for k, c in full.items() if k.startswith("entity:"))
    assert sorted(kept) == sorted(f"entity:{eid}" for _c, eid in ranked[:2])
    other = next(lane for lane in capped.lanes if lane.key == "other")
    assert other.count == sum(c for k, c in full.items() if k.startswith("entity:") and k not in kept)
    assert "3 " in other.label or "(3)" in other.label


def test_kind_and_case_lanes(ws: Workstation, case: dict[str, int]) -> None:
    index = tl.load_index(ws, [case["case"], case["other"]])
    kinds = {lane.key: lane.count for lane in index.layout("kind").lanes}
    assert kinds == {"kind:message": 20, "kind:transaction": 10, "kind:note": 1, "kind:call": 11, "kind:login": 5}
    cases = index.layout("case").lanes
    assert [(lane.record_id, lane.count) for lane in cases] == [(case["case"], 42), (case["other"], 5)]
    assert cases[0].label.startswith("TL-1")
    with pytest.raises(UsageError):
        index.layout("colour")


def test_window_counts_match_the_service(ws: Workstation, case: dict[str, int]) -> None:
    index = tl.load_index(ws, [case["case"]])
    lay = index.layout("kind")
    for start_min, end_min in ((0, 60), (30, 400), (100, 101), (-600, 5000)):
        a, b = us(T0 + timedelta(minutes=start_min)), us(T0 + timedelta(minutes=end_min))
        assert lay.count(a, b) == ws.count_events(case["case"], start=a, end=b)
        got = tl.sql_window_events(ws, case["case"], a, b)
        assert [e.id for e in got] == [int(index.ids[r]) for r in lay.rows[slice(*lay.window(a, b))]]


@pytest.mark.parametrize("mode", ["kind", "entity"])
@pytest.mark.parametrize("bucket_min,origin_h", [(15, 0), (60, -5), (24 * 60, -5)])
def test_buckets_equal_sql_group_by(ws: Workstation, case: dict[str, int], mode: str, bucket_min: int,
                                    origin_h: int) -> None:
    index = tl.load_index(ws, [case["case"]])
    lay = index.layout(mode, max_entity_lanes=100)
    a, b = us(T0 - timedelta(hours=1)), us(T0 + timedelta(days=4))
    bucket, origin = bucket_min * 60 * US, origin_h * 3600 * US
    bc = lay.buckets(a, b, bucket, origin_us=origin)
    assert (bc.first_us - origin) % bucket == 0 and bc.first_us <= a
    mine: dict[tuple[str, int, str], int] = {}
    for li, lane in enumerate(lay.lanes):
        for bi, ki in zip(*np.nonzero(bc.counts[li]), strict=True):
            mine[(lane.key, int(bi), index.kinds[ki])] = int(bc.counts[li, bi, ki])
    sql = tl.sql_bucket_counts(ws, case["case"], a, b, bucket, origin_us=origin, lane_mode=mode)
    if mode == "entity":
        mine = {k: v for k, v in mine.items() if k[0] != "none"}
    assert mine == sql and sum(sql.values()) > 0


def test_filters_hide_kinds_and_keep_starred_or_tagged(ws: Workstation, case: dict[str, int]) -> None:
    events = ws.list_events(case["case"], kinds=["message"], limit=3)
    tl.set_starred(ws, events[0].id, True)
    tl.set_tags(ws, events[1].id, "Key moment, grooming")
    tl.set_tags(ws, events[2].id, ["key MOMENT"])
    index = tl.load_index(ws, [case["case"]])
    assert len(index.layout("kind", TimelineFilter(hidden_kinds=frozenset({"message"})))) == 22
    starred = index.layout("kind", TimelineFilter(starred_only=True))
    assert [int(index.ids[r]) for r in starred.rows] == [events[0].id]
    tagged = index.layout("entity", TimelineFilter(tag="key moment"))
    assert {int(index.ids[r]) for r in tagged.rows} == {events[1].id, events[2].id}
    assert index.tags_in_use() == ["grooming", "Key moment"]
    edges, counts = index.density(*index.extent, 10, TimelineFilter(starred_only=True))
    assert counts.sum() == 1 and len(edges) == 11


def test_star_and_tags_are_stored_in_properties(ws: Workstation, case: dict[str, int]) -> None:
    ev = ws.list_events(case["case"], limit=1)[0]
    tl.set_starred(ws, ev.id, True)
    tl.set_tags(ws, ev.id, " alibi ,  Alibi, second   look ,,")
    stored = ws.get_event(ev.id).properties
    assert stored["starred"] is True and stored["tags"] == ["alibi", "second look"]
    tl.set_starred(ws, ev.id, False)
    tl.set_tags(ws, ev.id, [])
    assert "starred" not in ws.get_event(ev.id).properties and "tags" not in ws.get_event(ev.id).properties
    with pytest.raises(BadInput, match="longer than"):
        tl.set_tags(ws, ev.id, "x" * 80)
    with pytest.raises(BadInput, match="at most"):
        tl.normalise_tags([f"t{i}" for i in range(40)])
    assert [h.action for h in ws.history("event", ev.id)].count("event.update") == 4


def test_patches_follow_edits_without_a_reload(ws: Workstation, case: dict[str, int]) -> None:
    index = tl.load_index(ws, [case["case"]])
    first = int(index.ids[0])
    tl.set_starred(ws, first, True)
    index.apply(tl.read_index_patch(ws, [first], case_ids=[case["case"]]))
    assert bool(index.starred[index.row_of_id(first)])
    # Moving an event to the end re-sorts; deleting removes; a new one is inserted.
    ws.update_event(first, occurred_at=T0 + timedelta(days=10))
    doomed = int(index.ids[5])
    ws.delete_event(doomed)
    new = ws.add_event(case["case"], "arrest", T0 + timedelta(minutes=1), title="arrest",
                       parties=[(case["alex"], "arrestee")]).id
    ws.add_event(case["case"], "note", None, title="second undated")
    index.apply(tl.read_index_patch(ws, [first, doomed, new], case_ids=[case["case"]]))
    fresh = tl.load_index(ws, [case["case"]])
    assert index.ids.tolist() == fresh.ids.tolist()
    assert index.ts.tolist() == fresh.ts.tolist()
    assert [index.kinds[k] for k in index.kind] == [fresh.kinds[k] for k in fresh.kind]
    assert index.undated == fresh.undated == 2
    row = index.row_of_id(new)
    assert index.parties_of_row(row) == [case["alex"]]
    assert set(index.rows_of_entities([case["alex"]]).tolist()) == set(fresh.rows_of_entities([case["alex"]]).tolist())
    assert index.layout("entity").lanes == fresh.layout("entity").lanes


def test_unknown_case_and_cancel(ws: Workstation, case: dict[str, int]) -> None:
    with pytest.raises(NotFound):
        tl.load_index(ws, [9999])
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        tl.load_index(ws, [case["case"]], cancel=stop)
    seen: list[float | None] = []
    tl.load_index(ws, [case["case"]], progress=lambda f, _m: seen.append(f))
    assert seen[-1] == 1.0


def test_case_extent_reads_the_index_ends(ws: Workstation, case: dict[str, int]) -> None:
    index = tl.load_index(ws, [case["case"]])
    assert tl.case_extent(ws, case["case"]) == index.extent
    empty = ws.create_case("TL-3", "Empty").id
    assert tl.case_extent(ws, empty) is None
    assert len(tl.load_index(ws, [empty])) == 0 and tl.load_index(ws, [empty]).extent is None


def test_saved_views_round_trip_per_case(ws: Workstation, case: dict[str, int]) -> None:
    view = TimelineView(lane_mode="kind", zone="case", start_us=us(T0), end_us=us(T0 + timedelta(hours=6)),
                        range_start_us=us(T0 + timedelta(hours=1)), range_end_us=us(T0 + timedelta(hours=2)),
                        hidden_kinds=("call", "call", "note"), starred_only=True, tag=" alibi ")
    tl.save_view(ws, case["case"], "  First   contact ", view)
    tl.save_view(ws, case["case"], "all", TimelineView())
    assert tl.list_views(ws, case["case"]) == ["all", "First contact"]
    assert tl.list_views(ws, case["other"]) == []
    back = tl.load_view(ws, case["case"], "First contact")
    assert back == view.validated()
    assert back.hidden_kinds == ("call", "note") and back.tag == "alibi"
    # Stored under the case uid in meta (readable JSON) and audited.
    uid = ws.get_case(case["case"]).uid
    with ws.db.read() as conn:
        stored = json.loads(ws.db.meta_get(conn, f"timeline_view:{uid}"))
    assert stored["views"]["First contact"]["lane_mode"] == "kind"
    assert any(h.action == "timeline.view.save" for h in ws.history("case", case["case"]))
    tl.delete_view(ws, case["case"], "all")
    assert tl.list_views(ws, case["case"]) == ["First contact"]
    with pytest.raises(NotFound):
        tl.load_view(ws, case["case"], "all")
    with pytest.raises(UsageError):
        tl.save_view(ws, case["case"], "   ", view)
    with pytest.raises(NotFound):
        tl.save_view(ws, 9999, "x", view)


@pytest.mark.parametrize("raw,field", [
    ({"lane_mode": "colour"}, "lane_mode"), ({"zone": "mars"}, "zone"),
    ({"start_us": 5, "end_us": 1}, "start_us/end_us"), ({"start_us": 5}, "start_us/end_us"),
    ({"range_start_us": "noon", "range_end_us": 9}, "range_start_us"), ({"hidden_kinds": "call"}, "hidden_kinds"),
    ({"starred_only": "yes"}, "starred_only"),
])
def test_bad_views_name_the_field(raw: dict, field: str) -> None:
    with pytest.raises(BadInput, match=field):
        TimelineView.from_dict(raw)


def test_corrupt_stored_views_are_reported(ws: Workstation, case: dict[str, int]) -> None:
    uid = ws.get_case(case["case"]).uid
    with ws.db.write() as conn:
        ws.db.meta_set(conn, f"timeline_view:{uid}", "{not json")
    with pytest.raises(BadInput, match="not JSON"):
        tl.list_views(ws, case["case"])


def test_zones() -> None:
    assert tl.resolve_zone("utc", case_timezone="America/Toronto", display_timezone="Europe/Paris") is UTC
    case_tz = tl.resolve_zone("case", case_timezone="America/Toronto", display_timezone="Europe/Paris")
    assert case_tz == ZoneInfo("America/Toronto")
    assert tl.resolve_zone("display", case_timezone=None, display_timezone="Europe/Paris") == ZoneInfo("Europe/Paris")
    assert tl.resolve_zone("case", case_timezone=None, display_timezone="Europe/Paris") is UTC
    local = tl.resolve_zone("local", case_timezone=None, display_timezone=None)
    now = datetime.now(UTC)
    assert now.astimezone(local).utcoffset() == now.astimezone().utcoffset()
    with pytest.raises(UsageError):
        tl.resolve_zone("mars", case_timezone=None, display_timezone=None)
    # Toronto: UTC−05:00 in winter, UTC−04:00 in summer.
    assert tl.offset_us(case_tz, us(datetime(2024, 1, 10, tzinfo=UTC))) == -5 * 3600 * US
    assert tl.offset_us(case_tz, us(datetime(2024, 7, 10, tzinfo=UTC))) == -4 * 3600 * US
    assert tl.format_offset(timedelta(hours=-5)) == "UTC\u221205:00"


def test_nice_buckets() -> None:
    assert tl.nice_bucket_us(3600 * US, 60) == 60 * US
    assert tl.nice_bucket_us(86400 * US, 300) == 5 * 60 * US
    assert tl.nice_bucket_us(1, 300) == 1_000
    assert tl.nice_bucket_us(10 * 365 * 86400 * US, 4) % (365 * 86400 * US) == 0
    assert tl.bucket_label(15 * 60 * US) == "15 min" and tl.bucket_label(86400 * US) == "1 day"
    assert tl.bucket_label(7 * 86400 * US) == "7 days"


def test_real_messenger_export_on_the_timeline(ws: Workstation, shared_data: Path) -> None:
    """The Messenger export of the corpus: 11 messages between User 1 and User 2, first
    2023-02-04T22:17:02.673Z, last 2023-02-05T11:46:11.851Z (README, chat/)."""
    from workstation.ingest.pipeline import run_import

    cid = ws.create_case("TL-M", "Messenger").id  # beside TL-1 and TL-2
    run_import(ws, cid, shared_data / "chat" / "messenger" / "facebook_chat.json")
    index = tl.load_index(ws, [cid])
    assert len(index) == 11
    first = datetime(2023, 2, 4, 22, 17, 2, 673000, tzinfo=UTC)
    last = datetime(2023, 2, 5, 11, 46, 11, 851000, tzinfo=UTC)
    assert index.extent == (us(first), us(last))
    lanes = index.layout("entity").lanes
    assert sorted(lane.label for lane in lanes) == ["User 1", "User 2"]
    assert all(lane.count == 11 for lane in lanes)
    # One evening in Toronto: buckets aligned on local midnight keep it in one day.
    toronto = ZoneInfo("America/Toronto")
    bc = index.layout("kind").buckets(us(first), us(last) + 1, 86400 * US,
                                      origin_us=-tl.offset_us(toronto, us(first)))
    assert bc.counts.sum() == 11
    assert np.count_nonzero(bc.counts.sum(axis=(0, 2))) == 2  # 17:17 on the 4th to 06:46 on the 5th
