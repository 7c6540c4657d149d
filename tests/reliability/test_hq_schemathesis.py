"""Schemathesis against the OpenAPI document HQ serves, over TLS on 127.0.0.1, SQLite and
PostgreSQL.

Every operation of the served document is exercised with schemathesis-generated requests:
schema-valid ones (positive) and schema-breaking ones (negative), once with the token of an
enrolled device whose laptop synced a real case (plus requests aimed at that case, so the
authorised answers are reached), and once without valid credentials (schemathesis sends a
random bearer token, none, or a malformed header). Two more strategies reach what
schema-driven generation alone almost never does: enrolments with a fresh one-time code
and an arbitrary label, and well-formed push batches for the device's own case whose field
values are arbitrary (control characters, 64-bit limits, nested JSON).

Before them, schemathesis' coverage phase sends its deterministic boundary cases for every
operation (limits and one past them, wrong types, missing and duplicated parameters, other
HTTP methods), with the device token and without.

Checks on every answer: no server error (5xx); the status code is one the document declares
for the operation; the body matches the declared schema and content type; and no
unauthenticated request to an authenticated operation is answered 2xx.

The auth-failure rate limiter is disabled here (its threshold set out of reach) so that the
fuzz reaches the endpoints instead of a wall of 429s; rate limiting has its own tests
(tests/core/hq/test_api.py, test_hq_access_matrix.py).

Examples per operation and run: ``count("hq_fuzz_examples", 6, 100)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from tests.reliability.hq_world import Stamps, requests_session, running_hq
from tests.reliability.support import LONG, count
from workstation.sync.protocol import FIELD_TYPES, FP_PATTERN, SHARING_VALUES

schemathesis = pytest.importorskip("schemathesis", minversion="4")

from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = count("hq_fuzz_examples", 6, 100)
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
# The normal suite sends the same cases every run (derandomised: a failure is a finding, not
# luck); the long run draws new ones each time to explore.
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not LONG,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          template_db: Path) -> Iterator[dict[str, Any]]:
    """HQ, an enrolled laptop that synced one case, and the served OpenAPI document."""
    from tests.core.sync.helpers import Laptop, enrol
    from workstation.hq.app import AuthLimiter
    from workstation.sync.client import load_enrolment
    from workstation.sync.engine import sync_now

    tmp = tmp_path_factory.mktemp(f"hq-fuzz-{request.param}")
    with running_hq(request.param, tmp, limiter=AuthLimiter(threshold=10**9)) as hq:
        lap = Laptop.copy_of(template_db, tmp, "fuzz")
        try:
            enrol(lap.ws, hq, "AG-FUZZ", "Det. Fuzz Example")
            ws = lap.ws
            cid = ws.create_case("FZ-1", "Fuzzed case", sharing="hq").id
            phone = ws.add_entity(cid, "phone", "+1 202-555-0142").id
            mail = ws.add_entity(cid, "email", "alex.example@example.org").id
            ws.add_link(phone, mail, "uses")
            ws.add_event(cid, "message", datetime(2024, 3, 1, 12, 0, tzinfo=UTC), title="hello",
                         body="meet at the usual place", parties=[(phone, "sender")])
            ws.add_note(cid, "Synthetic note for the fuzz run")
            sync_now(ws)
            token = load_enrolment(ws).token
            case_uid = ws.get_case(cid).uid
        finally:
            lap.close()
        session = requests_session(hq)
        try:
            doc = session.get(f"{hq.url}/openapi.json").json()
            yield {"hq": hq, "session": session, "token": token, "case_uid": case_uid, "doc": doc,
                   "backend": request.param}
        finally:
            session.close()


class Findings:
    """Every failing answer, grouped (operation, run, what failed, status) with one example."""

    def __init__(self) -> None:
        self.cases = 0
        self.failed_cases = 0
        self.statuses: Counter[str] = Counter()
        self.examples: dict[tuple[str, str, str, int], str] = {}

    def add(self, key: tuple[str, str, str, int], example: str) -> None:
        self.examples.setdefault(key, example)

    def report(self) -> str:
        return "\n\n".join(f"{op} [{run}] {what} (HTTP {status}):\n{ex}"
                           for (op, run, what, status), ex in sorted(self.examples.items()))


def _secured(doc: dict[str, Any], method: str, path: str) -> bool:
    return bool(doc["paths"][path][method.lower()].get("security", doc.get("security")))


def _check(world: dict[str, Any], found: Findings, op: Any, case: Any, run: str, headers: dict[str, str]) -> None:
    """Send one case and record whatever is wrong with the answer."""
    hq, token = world["hq"], world["token"]
    found.cases += 1
    response = case.call(base_url=hq.url, session=world["session"], headers=headers, timeout=60)
    status = response.status_code
    found.statuses[f"{op.method.upper()} {op.path} {status}"] += 1
    failed = False
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        failed = True
        for failure in group.exceptions:
            found.add((op.label, run, failure.title, status),
                      f"{failure}\n{case.as_curl_command()[:1500]}\n→ {response.text[:500]}")
    sent = response.request.headers.get("Authorization", "")
    if _secured(world["doc"], op.method, op.path) and 200 <= status < 300 and sent != f"Bearer {token}":
        failed = True
        found.add((op.label, run, "unauthenticated request answered 2xx", status),
                  f"{case.as_curl_command()[:1500]}\n→ {response.text[:500]}")
    found.failed_cases += failed


def _run(world: dict[str, Any], found: Findings, op: Any, strategy: Any, run: str,
         headers: Callable[[], dict[str, str]], examples: int = EXAMPLES) -> None:
    """Hypothesis-generated cases from ``strategy`` (every one checked; nothing shrunk)."""

    @given(strategy)
    @settings(SETTINGS, max_examples=examples)
    def exercise(case: Any) -> None:
        _check(world, found, op, case, run, headers())

    try:
        exercise()
    except Unsatisfiable:
        pass  # negative data for an operation that has nothing to break (no parameters, no body)


# ---------------------------------------------------------------------- valid pushes
_TEXT = st.text(max_size=40) | st.sampled_from(["", "\x00", "a\x00b", "\u202e", "💥" * 3, "'; DROP TABLE x; --"])
_JSON = st.recursive(st.none() | st.booleans() | st.integers(-(2**63) + 1, 2**63 - 1)
                     | st.floats(allow_nan=False, allow_infinity=False) | _TEXT,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                     max_leaves=12)
_UIDS = st.uuids().map(str)
_ORIGINS = st.text(min_size=1, max_size=64) | st.sampled_from(["laptop\x00", "\x00"])
_HEX64 = st.binary(min_size=32, max_size=32).map(bytes.hex)


def _value(code: str) -> st.SearchStrategy[Any]:
    base = code.rstrip("?")
    if base in ("str", "text"):
        s: st.SearchStrategy[Any] = _TEXT
    elif base == "int":
        s = st.integers(-(2**63) + 1, 2**63 - 1)
    elif base == "float":
        s = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53)
    elif base == "json":
        s = st.dictionaries(_TEXT, _JSON, max_size=4)
    elif base == "list":
        s = st.lists(st.text(max_size=20), max_size=5)
    elif base.startswith("ref:"):
        s = _UIDS
    elif base == "parties":
        s = st.lists(st.tuples(_UIDS, st.text(min_size=1, max_size=32)).map(list), max_size=3)
    else:  # pragma: no cover - a new field type: extend this map
        raise AssertionError(f"no strategy for field type {code!r}")
    return (st.none() | s) if code.endswith("?") else s


@st.composite
def _push_bodies(draw: st.DrawFn, case_uid: str, stamps: Stamps) -> dict[str, Any]:
    records = []
    for _ in range(draw(st.integers(1, 4))):
        t = draw(st.sampled_from([t for t in FIELD_TYPES if t != "case"]))
        if t == "note":
            fields = {n: draw(_value(c)) for n, c in FIELD_TYPES[t].items() if n != "target_type"}
            fields["target_type"] = draw(st.sampled_from([None, "entity", "event", "link", "media"]))
        else:
            fields = {n: draw(_value(c)) for n, c in FIELD_TYPES[t].items()}
        rec = {"t": t, "uid": draw(_UIDS), "case": case_uid, "hlc": stamps.next(),
               "origin": draw(_ORIGINS), "deleted": draw(st.booleans()),
               "f": fields, "fp": draw(st.lists(st.from_regex(FP_PATTERN, fullmatch=True), max_size=3))}
        records.append(rec)
    if draw(st.booleans()):  # the case row itself: who it is shared with (names arbitrary)
        stamp = stamps.next()
        records.insert(0, {"t": "case", "uid": case_uid, "case": case_uid, "hlc": stamp, "origin": draw(_ORIGINS),
                           "f": {"sharing": draw(st.sampled_from(SHARING_VALUES)),
                                 "shared_with": draw(st.lists(_TEXT.filter(lambda x: len(x) <= 256), max_size=4))},
                           "s": {"sharing": stamp, "shared_with": stamp}})
    return {"records": records}


# ---------------------------------------------------------------------- the test
def test_every_operation_answers_as_documented_and_never_fails(world: dict[str, Any], figures) -> None:
    doc, token = world["doc"], world["token"]
    schema = schemathesis.openapi.from_dict(doc)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} >= {("GET", "/v1/health"), ("POST", "/v1/push")}
    found = Findings()
    authed = {"Authorization": f"Bearer {token}"}
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    for op in operations:
        # Schemathesis' coverage phase: deterministic boundary and type-confusion cases
        # (limits ±1, wrong types, missing and duplicated parameters, other methods).
        coverage = list(schema.iter_coverage_cases(op, generation_modes=modes,
                                                   generation_config=schema.config.generation_for(operation=op)))
        for case in coverage:
            _check(world, found, op, case, "device token, coverage", dict(authed))
            if world["backend"] == "sqlite":  # authentication does not depend on the store
                _check(world, found, op, case, "no valid credentials, coverage", {})
        for mode in modes:
            _run(world, found, op, op.as_strategy(generation_mode=mode), f"device token, {mode.value}",
                 lambda: dict(authed))
            _run(world, found, op, op.as_strategy(generation_mode=mode), f"no valid credentials, {mode.value}",
                 dict)
        if "case_uid" in op.path:
            _run(world, found, op, op.as_strategy(path_parameters={"case_uid": world["case_uid"]}),
                 "device token, its own case", lambda: dict(authed))
        # Integers at and past the 64-bit limits for every integer query parameter, whether
        # or not the document bounds it (SQL stores 64 bits; Python ints do not stop there).
        for param in doc["paths"][op.path][op.method.lower()].get("parameters", []):
            if param["in"] == "query" and param.get("schema", {}).get("type") == "integer":
                for value in (2**63 - 1, 2**63, 2**64 + 1, -(2**63) - 1):
                    path_params = {"case_uid": world["case_uid"]} if "{case_uid}" in op.path else None
                    _check(world, found, op, op.Case(query={param["name"]: value}, path_parameters=path_params),
                           "device token, 64-bit edges", dict(authed))
        # Path parameters carrying control characters and dot segments (every answer is audited
        # with its path, so the audit must cope as well as the validation).
        for param in doc["paths"][op.path][op.method.lower()].get("parameters", []):
            if param["in"] == "path":
                for value in ("\x00", "a\x00b", "..", "%2e%2e", " " * 3, "\u202e" * 40):
                    _check(world, found, op, op.Case(path_parameters={param["name"]: value}),
                           "device token, hostile path parameter", dict(authed))
    enrol = schema["/v1/enrol"]["POST"]
    hq = world["hq"]
    labels = st.text(max_size=128) | st.just("label\x00")
    _run(world, found, enrol, st.fixed_dictionaries({
        "device_id": _UIDS, "sign_pub": _HEX64, "box_pub": _HEX64, "label": labels,
    }).map(lambda b: enrol.Case(body={**b, "code": hq.service.create_enrolment("AG-FUZZ", "Det. Enrol Example")})),
        "fresh one-time code, arbitrary label", dict)
    push = schema["/v1/push"]["POST"]
    _run(world, found, push, _push_bodies(world["case_uid"], Stamps("fuzzer")).map(lambda b: push.Case(body=b)),
         "device token, well-formed batches for its own case", lambda: dict(authed), examples=4 * EXAMPLES)

    # The authorised answers were reached, not only refusals.
    reached = {k for k, n in found.statuses.items() if n and k.rsplit(" ", 1)[1].startswith("2")}
    for op in operations:
        assert any(k.startswith(f"{op.method.upper()} {op.path} ") for k in reached), \
            f"{op.label} never answered 2xx: {sorted(found.statuses)}"
    figures.record("hq", "schemathesis on the served OpenAPI (device token and none; positive, negative, "
                         "well-formed pushes) → no 5xx, declared status, schema and content type; no "
                         "unauthenticated 2xx",
                   found.cases, found.failed_cases,
                   {"backend": world["backend"], "operations": len(operations), "examples_per_run": EXAMPLES,
                    "distinct_failures": len(found.examples),
                    "statuses": dict(sorted(Counter(k.rsplit(" ", 1)[1] for k in found.statuses.elements())
                                            .items()))})
    assert not found.examples, f"{found.failed_cases} of {found.cases} requests failed:\n\n{found.report()}"
