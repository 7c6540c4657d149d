"""Full-text search: the query language, filters, identifiers, ranking and index upkeep."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.analysis.conftest import World, at
from workstation.analysis.search import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    SearchSyntaxError,
    parse_query,
    search,
)
from workstation.domain.service import Workstation
from workstation.errors import BadInput, NotFound


def ids(world: World, query: str, **kw: object) -> set[tuple[str, int]]:
    return {(h.kind, h.id) for h in search(world.ws, query, **kw).hits}  # type: ignore[arg-type]


def event_ids(world: World, query: str, **kw: object) -> set[int]:
    return {h.id for h in search(world.ws, query, kinds=["event"], **kw).hits}  # type: ignore[arg-type]


# ------------------------------------------------------------------ words and operators
def test_accents_and_case_do_not_matter_and_snippet_marks_the_match(world: World) -> None:
    res = search(world.ws, "CAFE")
    assert [(h.kind, h.id) for h in res.hits] == [("event", world.ids["a_msg"])]
    hit = res.hits[0]
    assert f"{HIGHLIGHT_START}Café{HIGHLIGHT_END}" in hit.snippet
    assert hit.case_number == "C-2024-001" and hit.subkind == "message"
    assert hit.ts_utc == int(at("2024-03-02T09:15:00").timestamp() * 1_000_000)


def test_phrase_needs_the_words_in_order(world: World) -> None:
    assert event_ids(world, '"near the bridge"') == {world.ids["a_msg"]}
    assert event_ids(world, '"bridge near"') == set()


def test_implicit_and_explicit_and(world: World) -> None:
    assert event_ids(world, "bridge cash") == {world.ids["a_msg"], world.ids["a_txn"]}
    assert event_ids(world, "bridge AND photos") == {world.ids["c_msg"]}


def test_or_and_lowercase_or_is_a_word(world: World) -> None:
    assert event_ids(world, "photos OR hardware") == {world.ids["c_msg"], world.ids["a_txn"]}
    # 'or' in lower case is searched as a word, so nothing has all three words.
    assert event_ids(world, "photos or hardware") == set()


def test_not_and_minus_exclude(world: World) -> None:
    assert event_ids(world, "bridge -photos") == {world.ids["a_msg"], world.ids["a_txn"]}
    assert event_ids(world, "bridge NOT (photos OR hardware)") == {world.ids["a_msg"]}
    assert event_ids(world, "bridge AND NOT cash") == {world.ids["c_msg"]}


def test_prefix(world: World) -> None:
    assert event_ids(world, "hard*") == {world.ids["a_txn"]}
    assert event_ids(world, "hard") == set()
    assert event_ids(world, '"bring the ca"*') == {world.ids["a_msg"]}


def test_parentheses_group(world: World) -> None:
    assert event_ids(world, "(photos OR hardware) AND bridge") == {world.ids["c_msg"], world.ids["a_txn"]}
    assert event_ids(world, "(photos OR hardware) cash") == {world.ids["a_txn"]}


# ------------------------------------------------------------------ filters
def test_case_filter_by_number_or_argument(world: World) -> None:
    assert event_ids(world, "case:C-2024-003 bridge") == {world.ids["c_msg"]}
    assert event_ids(world, "bridge", case_id=world.cases["003"]) == {world.ids["c_msg"]}
    assert event_ids(world, "case:c-2024-001 bridge") == {world.ids["a_msg"], world.ids["a_txn"]}
    # Query filter and argument both apply.
    assert event_ids(world, "case:C-2024-003 bridge", case_id=world.cases["001"]) == set()


def test_unknown_case_in_query_is_reported(world: World) -> None:
    with pytest.raises(NotFound, match="C-1999-999"):
        search(world.ws, "case:C-1999-999 bridge")


def test_kind_filter(world: World) -> None:
    assert ids(world, "kind:transaction bridge") == {("event", world.ids["a_txn"])}
    assert ids(world, "kind:message,transaction bridge") == {
        ("event", world.ids["a_msg"]), ("event", world.ids["a_txn"]), ("event", world.ids["c_msg"])}
    assert ids(world, "kind:case bridge") == {("case", world.cases["001"])}
    assert ids(world, "kind:note burner") == {("note", world.ids["a_note"])}
    assert {h.kind for h in search(world.ws, "smith", kinds=["person"]).hits} == {"entity"}
    assert ids(world, "bridge", kinds=["transaction"]) == {("event", world.ids["a_txn"])}


def test_date_filters(world: World) -> None:
    assert event_ids(world, "from:2024-03-03 bridge") == {world.ids["a_txn"]}
    # A date-only to: includes that whole day.
    assert event_ids(world, "to:2024-03-02 kind:message bridge") == {world.ids["a_msg"], world.ids["c_msg"]}
    assert event_ids(world, "from:2024-03-01 to:2024-03-02 bridge") == {world.ids["a_msg"]}
    assert event_ids(world, "from:2024-03 to:2024-03 bridge") == {world.ids["a_msg"], world.ids["a_txn"]}
    assert event_ids(world, "to:2024-03-02T09:16:00Z kind:message bridge cash") == {world.ids["a_msg"]}
    assert event_ids(world, "to:2024-03-02T09:15:00Z kind:message bridge cash") == set()
    # The start/end arguments (UTC microseconds) narrow in the same way.
    start = int(at("2024-03-03T00:00:00").timestamp() * 1_000_000)
    assert event_ids(world, "bridge", start=start) == {world.ids["a_txn"]}
    # A time window leaves timeless entities and cases out.
    assert all(h.kind in ("event", "note") for h in search(world.ws, "bridge smith", start=0).hits)


def test_entity_filter_keeps_events_of_that_party(world: World) -> None:
    # c_msg and a_txn also say "bridge"/"cash" but the account is not a party to them;
    # the account itself matches "telegram" through its key.
    got = ids(world, "telegram OR bridge OR cash", entity_id=world.ids["a_acct"])
    assert got == {("event", world.ids["a_msg"]), ("event", world.ids["a_msg2"]), ("entity", world.ids["a_acct"])}
    assert ids(world, "photos", entity_id=world.ids["a_acct"]) == set()


# ------------------------------------------------------------------ identifiers
def test_phone_in_any_spelling_finds_entities_and_text(world: World) -> None:
    want = {("entity", world.ids["a_phone"]), ("entity", world.ids["b_phone"]), ("event", world.ids["a_msg2"])}
    for q in ("+1 202 555 0143", "(202) 555-0143", "+12025550143", "202.555.0143"):
        assert ids(world, q) == want, q
    parsed = parse_query("+1 202 555 0143")
    assert parsed.identifiers == ("phone:+12025550143",)


def test_email_finds_entity_by_normalised_key(world: World) -> None:
    assert ids(world, "Jo@Example.ORG") == {("entity", world.ids["a_email"]), ("entity", world.ids["c_email"])}


def test_card_number_finds_card_entities_but_not_other_cards(world: World) -> None:
    res = search(world.ws, "4111-1111-1111-1111")
    assert {(h.kind, h.id) for h in res.hits} == {("entity", world.ids["a_card"]), ("entity", world.ids["b_card"])}
    for h in res.hits:
        assert "4111" not in h.snippet and "1111" in h.title  # masked label only


def test_identifier_keys_typed_literally(world: World) -> None:
    assert ids(world, "account:telegram:jimmy_t") == {("entity", world.ids["a_acct"]), ("entity", world.ids["c_acct"])}


# ------------------------------------------------------------------ ranking and paging
def test_hits_are_ranked_best_first_across_tables(world: World) -> None:
    res = search(world.ws, "bridge")
    ranks = [h.rank for h in res.hits]
    assert ranks == sorted(ranks, reverse=True)
    assert {h.kind for h in res.hits} == {"event", "case"}
    assert res.total_estimate == len(res.hits)


def test_paging_is_disjoint_and_complete(world: World) -> None:
    everything = [(h.kind, h.id) for h in search(world.ws, "bridge OR smith OR telegram", limit=100).hits]
    assert len(everything) >= 6
    pages = []
    for off in range(0, len(everything), 2):
        pages += [(h.kind, h.id) for h in search(world.ws, "bridge OR smith OR telegram", limit=2, offset=off).hits]
    assert pages == everything
    assert search(world.ws, "bridge OR smith OR telegram", limit=2).total_estimate == len(everything)


# ------------------------------------------------------------------ syntax errors
@pytest.mark.parametrize(("query", "message", "column"), [
    ('"unclosed phrase', "never closed", 1),
    ("bridge)", "no matching '('", 7),
    ("(bridge OR cash", "'(' is never closed", 1),
    ("AND bridge", "AND has nothing before it", 1),
    ("bridge AND", "AND has nothing after it", 8),
    ("bridge OR", "OR has nothing after it", 8),
    ("bridge OR OR cash", "OR has nothing after it", 8),
    ("NOT", "NOT has nothing after it", 1),
    ("NOT bridge", "only excludes", 1),
    ("-bridge -cash", "only excludes", 1),
    ("cash OR NOT bridge", "only excludes", 9),
    ("()", "empty parentheses", 1),
    ("bridge - cash", "'-' must be written directly before", 8),
    ("*idge", "'*' marks a prefix", 1),
    ("kind:", "needs a value", 1),
    ("bridge OR kind:message", "cannot be combined with OR", 11),
    ("(kind:message bridge)", "outside parentheses", 2),
    ("bridge -kind:message", "cannot be negated", 9),
    ("from:2024-02-30 bridge", "is not a date", 1),
    ("from:2024-03-01 to:2024-02-01 bridge", "not before the to: date", 1),
    ("kind:message", "no words to search for", 1),
    ("?!", "no letters or digits", 1),
    ("   ", "empty", None),
])
def test_malformed_queries_say_what_and_where(world: World, query: str, message: str, column: int | None) -> None:
    with pytest.raises(SearchSyntaxError) as info:
        search(world.ws, query)
    err = info.value
    assert isinstance(err, BadInput) and err.exit_code == 4
    assert message in str(err)
    if column is not None:
        assert err.position == column - 1
        assert f"column {column}" in str(err)


_ALPHABET = st.sampled_from(['"', "(", ")", "*", "-", " ", "AND", "OR", "NOT", "bridge", "ca", ":", "kind:",
                             "case:", "from:", "é", "+1", "202", "@", ".", "''", "\\", "'", "NEAR", "^", "{"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_ALPHABET, min_size=1, max_size=12).map("".join))
def test_any_input_gives_results_or_a_syntax_error_never_a_database_error(world: World, query: str) -> None:
    try:
        search(world.ws, query, limit=5)
    except (SearchSyntaxError, NotFound):
        pass


# ------------------------------------------------------------------ the index follows the data
def test_tombstoned_and_edited_text_is_no_longer_found(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    case = ws.create_case("C-9", "Index upkeep").id
    ev = ws.add_event(case, "message", at("2024-01-01T00:00:00"), body="zebra crossing at dawn").id
    other = ws.add_event(case, "message", at("2024-01-01T00:01:00"), body="zebra stripes").id
    note = ws.add_note(case, "zebra sighting reported").id
    ent = ws.add_entity(case, "person", "Zebediah Zebra").id
    assert {(h.kind, h.id) for h in search(ws, "zebra").hits} == {
        ("event", ev), ("event", other), ("note", note), ("entity", ent)}

    ws.update_event(ev, body="giraffe crossing at dawn")
    assert {h.id for h in search(ws, "crossing", kinds=["event"]).hits} == {ev}
    assert {h.id for h in search(ws, "zebra", kinds=["event"]).hits} == {other}
    assert {h.id for h in search(ws, "giraffe").hits} == {ev}

    ws.delete_event(other)
    ws.delete_note(note)
    ws.delete_entity(ent)
    assert search(ws, "zebra").hits == []
    assert search(ws, "zebra").total_estimate == 0
    ws.delete_case(case)
    assert search(ws, "giraffe").hits == []


def test_merged_entity_text_leads_to_its_survivor(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    case = ws.create_case("C-10", "Merge").id
    survivor = ws.add_entity(case, "person", "John Smith").id
    alias = ws.add_entity(case, "person", "Johnny Smyth").id
    ws.merge_entities(survivor, [alias], "same man, alias from chat")
    hits = search(ws, "smyth").hits
    assert [(h.kind, h.id, h.title) for h in hits] == [("entity", survivor, "John Smith")]
    assert "merged into John Smith" in hits[0].snippet
    # Both names found at once still give the survivor once.
    assert [h.id for h in search(ws, "smith OR smyth").hits] == [survivor]


# ------------------------------------------------------------------ bounded cost paths
FILTERED = ["case:C-2024-001 bridge", "kind:message bridge", "kind:transaction,message cash",
            "from:2024-03-02 to:2024-03-02 bridge OR telegram", "smith", "kind:person smith",
            "case:C-2024-002 smith"]


@pytest.mark.parametrize("query", FILTERED)
def test_checking_each_match_gives_the_same_hits_as_building_id_sets(world: World, query: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import workstation.analysis.search as search_mod

    built = [(h.kind, h.id) for h in search(world.ws, query).hits]
    monkeypatch.setattr(search_mod, "MATERIALIZE_MAX", 0)  # every filter checked row by row
    checked = [(h.kind, h.id) for h in search(world.ws, query).hits]
    assert checked == built and built


def test_very_common_words_are_ranked_within_a_bounded_window(fresh_ws: Workstation,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import workstation.analysis.search as search_mod

    ws = fresh_ws
    case = ws.create_case("W-1", "window").id
    for i in range(6):
        ws.add_event(case, "message", at(f"2024-01-0{i + 1}T00:00:00"), body="hello " + "hello " * i)
    full = search(ws, "hello")
    assert full.total_estimate == 6 and not full.total_capped
    monkeypatch.setattr(search_mod, "RANK_WINDOW", 4)
    res = search(ws, "hello", kinds=["event"])
    assert res.total_capped and res.total_estimate == 4
    # The page comes from the newest four matches, still ordered by relevance.
    newest = sorted(h.id for h in full.hits)[-4:]
    assert sorted(h.id for h in res.hits) == newest
    assert [h.rank for h in res.hits] == sorted((h.rank for h in res.hits), reverse=True)


def test_deleted_case_is_out_of_every_filter_path(fresh_ws: Workstation) -> None:
    ws = fresh_ws
    keep = ws.create_case("K-1", "kept").id
    gone = ws.create_case("K-2", "gone").id
    a = ws.add_event(keep, "message", at("2024-01-01T00:00:00"), body="walrus").id
    ws.add_event(gone, "message", at("2024-01-01T00:00:00"), body="walrus")
    wa = ws.add_entity(keep, "person", "Walrus One").id
    ws.add_entity(gone, "person", "Walrus Two")
    ws.delete_case(gone)
    assert {(h.kind, h.id) for h in search(ws, "walrus").hits} == {("event", a), ("entity", wa)}
    assert {h.id for h in search(ws, "kind:message walrus").hits} == {a}
    assert {h.id for h in search(ws, "from:2024 walrus").hits} == {a}
    assert {h.id for h in search(ws, "kind:person walrus").hits} == {wa}
    with pytest.raises(NotFound):
        search(ws, "walrus", case_id=gone)
    with pytest.raises(NotFound):
        search(ws, "case:K-2 walrus")


def test_snippet_window_and_marks() -> None:
    from workstation.analysis.search import make_snippet

    text = " ".join(f"w{i}" for i in range(40)) + " Zürich office"
    snip, n = make_snippet((text,), [("zurich", False), ("offi", True)], size=6)
    assert n == 2
    assert snip.startswith("…") and snip.endswith("«Zürich» «office»")
    assert make_snippet(("nothing here",), [("zurich", False)]) == ("nothing here", 0)
