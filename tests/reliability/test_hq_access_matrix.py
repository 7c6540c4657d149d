"""HQ's access matrix, checked cell by cell over TLS on 127.0.0.1 (SQLite and PostgreSQL).

Rows: every principal HQ knows — officers of four agencies (the owner of the cases, a
colleague in the same agency, an agency a case is shared with by code or by name, an
officer named individually, a colleague of that officer who is not named, an officer of
another agency with the same name), a revoked device, an unknown token, a malformed
header, a token too short to be one, and no header at all. HQ has no supervisor or admin
role on its API: administration (enrolment codes, revocation, bundle import) is the
``workstation hq`` command on the HQ machine, not an HTTP endpoint.

Columns: every case — private, shared with another agency by code, by name (any letter
case), with one officer at one agency, with every officer of a name, a case whose
``shared_with`` lists an agency but whose sharing is "hq" (so it is not shared), cases of
the other agencies — and a case HQ has never seen.

Layers: EVERY endpoint HQ serves, enumerated from the running app and its OpenAPI
document; an endpoint without a rule here fails the test, so a new endpoint cannot go
unchecked. The expected outcome of each cell is computed from the authorisation rules
(written here independently of HQ's code): a case is visible to its owner agency and,
when its sharing is "agencies", to the agencies (code or name) and officers
(``officer:NAME`` or ``officer:NAME@AGENCY``) listed in ``shared_with``; a case one may
not see answers byte for byte like a missing one (404); without valid credentials every
authenticated endpoint answers the same 401; only the owning agency may change who a
case is shared with.

Also here: auth-failure rate limiting per device and for enrolment codes, its expiry and
doubling (the per-address limit is tests/core/hq/test_api.py), and TLS 1.0/1.1 refused
while 1.2/1.3 are accepted, each version tried separately against a control server that
proves this OpenSSL can offer it.
"""

from __future__ import annotations

import secrets
import socket
import ssl
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.core.sync.helpers import frozen_limiter_clock
from tests.reliability.hq_world import (
    Device,
    Stamps,
    case_record,
    client,
    enrol_device,
    entity_record,
    fingerprint,
    running_hq,
)

NOT_FOUND_BODY = b'{"detail":"case not found"}'
AGENCIES = {"A": ("AG-ALPHA", "Alpha Unit (synthetic)"), "B": ("AG-BRAVO", "Bravo Unit (synthetic)"),
            "C": ("AG-CHARLIE", "Charlie Unit (synthetic)"), "D": ("AG-DELTA", "Delta Unit (synthetic)")}
ROBIN = "Det. Robin Named"


# ---------------------------------------------------------------------- the world
@dataclass
class Principal:
    name: str
    headers: dict[str, str]
    agency: str | None = None  # code; None when the credentials are not valid
    agency_name: str | None = None
    officer: str | None = None
    device: Device | None = None
    own_case: str = "A-private"  # a case this principal's agency owns (target of take-over attempts)

    @property
    def authenticated(self) -> bool:
        return self.agency is not None


@dataclass
class CaseSpec:
    label: str
    uid: str
    owner: str | None  # agency code; None: HQ never saw the case
    sharing: str = "hq"
    shared_with: list[str] = field(default_factory=list)
    pusher: str | None = None  # principal whose device pushed it
    records: list[str] = field(default_factory=list)  # entity uids
    fps: list[str] = field(default_factory=list)


def may_see(p: Principal, case: CaseSpec) -> bool:
    """The authorisation rule, as documented (README "HQ and sync", hq/service.py)."""
    if not p.authenticated or case.owner is None:
        return False
    if case.owner == p.agency:
        return True
    if case.sharing != "agencies":
        return False
    for entry in (e.strip() for e in case.shared_with):
        if entry.lower().startswith("officer:"):
            name, _, agency = entry[len("officer:"):].partition("@")
            if name.strip() == p.officer and (not agency.strip() or agency.strip().lower() == p.agency.lower()):
                return True
        elif entry.lower() in (p.agency.lower(), (p.agency_name or "").lower()):
            return True
    return False


class World:
    def __init__(self, hq: Any, backend: str) -> None:
        self.hq = hq
        self.backend = backend
        self.http = client(hq)
        self.stamps = Stamps("matrix")
        self.principals: list[Principal] = []
        self.cases: dict[str, CaseSpec] = {}

    def call(self, p: Principal, method: str, path: str, **kw: Any) -> httpx.Response:
        # The matrix checks authorisation, not the back-off: every cell starts unthrottled.
        self.hq.limiter.reset()
        return self.http.request(method, path, headers=p.headers, **kw)

    def principal(self, name: str) -> Principal:
        return next(p for p in self.principals if p.name == name)

    def head(self) -> int:
        with self.hq.service.store.session() as s:
            return self.hq.service.store.head(s)

    def hq_record(self, uid: str) -> dict[str, Any] | None:
        from workstation.hq.models import Record

        with self.hq.service.store.session() as s:
            r = s.get(Record, uid)
            return None if r is None else dict(r.fields)

    def hq_shared_with(self, case_uid: str) -> list[str]:
        from workstation.hq.models import Case

        with self.hq.service.store.session() as s:
            return list(s.get(Case, case_uid).shared_with)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp(f"hq-matrix-{request.param}")
    with running_hq(request.param, tmp) as hq:
        w = World(hq, request.param)
        try:
            _populate(w)
            yield w
        finally:
            w.http.close()


def _populate(w: World) -> None:
    hq = w.hq

    def officer(name: str, key: str, who: str, own: str) -> Principal:
        code, agency_name = AGENCIES[key]
        dev = enrol_device(hq, code, who, agency_name=agency_name, label=f"laptop of {who}")
        return Principal(name, dev.auth, code, agency_name, who, dev, own)

    alex = officer("A officer (owner)", "A", "Det. Alex Example", "A-private")
    sam = officer("A colleague", "A", "Det. Sam Sample", "A-private")
    jo = officer("A revoked device", "A", "Det. Jo Placeholder", "A-private")
    w.principals += [
        alex, sam,
        officer("B officer", "B", "Det. Chris Testcase", "B-private"),
        officer("C officer named", "C", ROBIN, "C-private"),
        officer("C colleague not named", "C", "Det. Kim Other", "C-private"),
        officer("D namesake of the named officer", "D", ROBIN, "D-private"),
    ]
    alpha, bravo, charlie = AGENCIES["A"][0], AGENCIES["B"][0], AGENCIES["C"][0]
    specs = [
        ("A-private", alex, "hq", []),
        ("A-shared-B-by-code", alex, "agencies", [bravo]),
        ("A-shared-B-by-name", sam, "agencies", [AGENCIES["B"][1].lower()]),
        ("A-shared-Robin@C", alex, "agencies", [f"officer:{ROBIN}@{charlie}"]),
        ("A-shared-any-Robin", alex, "agencies", [f"officer:{ROBIN}"]),
        ("A-hq-with-list", alex, "hq", [bravo]),  # a list, but sharing "hq": not shared
        ("B-private", w.principals[2], "hq", []),
        ("C-private", w.principals[3], "hq", []),
        ("D-private", w.principals[5], "hq", []),
    ]
    for label, owner, sharing, shared_with in specs:
        uid = str(uuid.uuid4())
        ents = [str(uuid.uuid4()) for _ in range(2)]
        fps = [fingerprint(f"{label}-{i}") for i in range(2)]
        records = [case_record(uid, w.stamps.next(), sharing=sharing, shared_with=shared_with)]
        records += [entity_record(e, uid, w.stamps.next(), label=f"Synthetic {label} {i}", fp=[fps[i]])
                    for i, e in enumerate(ents)]
        r = w.call(owner, "POST", "/v1/push", json={"records": records})
        assert r.status_code == 200 and r.json()["changed"] == 3, r.text
        w.cases[label] = CaseSpec(label, uid, owner.agency, sharing, shared_with, owner.name, ents, fps)
    w.cases["missing"] = CaseSpec("missing", str(uuid.uuid4()), None)
    # HQ's operator revokes Jo's laptop (``workstation hq revoke``).
    assert hq.service.revoke(jo.device.device_id)
    w.principals += [
        Principal("revoked device", jo.headers),
        Principal("unknown token", {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}),
        Principal("malformed header", {"Authorization": f"Basic {secrets.token_urlsafe(24)}"}),
        Principal("token too short", {"Authorization": "Bearer abc"}),
        Principal("no credentials", {}),
    ]
    assert alex.device and jo.device  # (for the type checker)


# ---------------------------------------------------------------------- cells
@dataclass
class Cell:
    endpoint: str
    principal: str
    case: str
    variant: str
    expected: str
    status: int
    ok: bool
    unauthorised_2xx: bool
    note: str = ""


def _shape(r: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    return r.status_code, r.content, {k.lower(): v for k, v in r.headers.items() if k.lower() != "date"}


class Matrix:
    """The cells checked, and the forbidden-versus-missing comparisons."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.cells: list[Cell] = []
        self.compared = 0
        self.differ: list[str] = []
        self._401: dict[str, tuple[int, bytes, dict[str, str]]] = {}

    def expect(self, p: Principal, case: CaseSpec | None) -> str:
        if not p.authenticated:
            return "unauthenticated"
        if case is None:
            return "ok"
        return "ok" if may_see(p, case) else "not found"

    def add(self, endpoint: str, p: Principal, case: str, variant: str, expected: str, r: httpx.Response, *,
            ok: bool = True, leak: bool = False, note: str = "", missing: httpx.Response | None = None) -> None:
        statuses = {"ok": range(200, 300), "not found": (404,), "unauthenticated": (401,), "refused": (403,),
                    "malformed": (422,)}[expected]
        good = r.status_code in statuses and ok
        if expected == "unauthenticated":
            # The same refusal whoever asks: a revoked device is not told from an unknown token.
            ref = self._401.setdefault(endpoint, _shape(r))
            good = good and _shape(r) == ref and r.headers.get("www-authenticate") == "Bearer"
        if expected == "not found":
            good = good and r.content == NOT_FOUND_BODY
            if missing is not None:
                self.compared += 1
                if _shape(r) != _shape(missing):
                    self.differ.append(f"{endpoint} {variant} by {p.name} on {case}: {_shape(r)} != {_shape(missing)}")
        unauthorised = leak or (expected != "ok" and 200 <= r.status_code < 300)
        self.cells.append(Cell(endpoint, p.name, case, variant, expected, r.status_code, good, unauthorised,
                               note or r.text[:200]))

    def report(self, cells: list[Cell]) -> str:
        return "\n".join(f"  {c.endpoint} [{c.variant}] {c.principal} × {c.case}: expected {c.expected}, got "
                         f"{c.status} — {c.note}" for c in cells[:40])


# ---------------------------------------------------------------------- the rules, per endpoint
def _public_health(w: World, m: Matrix, p: Principal) -> None:
    r = w.call(p, "GET", "/v1/health")
    m.add("GET /v1/health", p, "-", "public", "ok", r, ok=r.status_code == 200 and r.json()["ok"] is True)


def _public_openapi(w: World, m: Matrix, p: Principal) -> None:
    r = w.call(p, "GET", "/openapi.json")
    m.add("GET /openapi.json", p, "-", "public", "ok", r, ok=r.status_code == 200 and "/v1/push" in r.json()["paths"])


def _enrol(w: World, m: Matrix, p: Principal) -> None:
    """Public, but only a valid one-time code enrols; nobody takes over an enrolled device."""
    keys = {"sign_pub": secrets.token_hex(32), "box_pub": secrets.token_hex(32)}
    r = w.call(p, "POST", "/v1/enrol", json={"code": "WRNG-CODE-0000-0000", "device_id": str(uuid.uuid4()), **keys})
    m.add("POST /v1/enrol", p, "-", "wrong code", "refused", r)
    owner = w.principal("A officer (owner)")
    code = w.hq.service.create_enrolment(p.agency or AGENCIES["D"][0], "Det. Intruder Example")
    r = w.call(p, "POST", "/v1/enrol", json={"code": code, "device_id": owner.device.device_id, **keys})
    still = w.call(owner, "GET", "/v1/me")
    m.add("POST /v1/enrol", p, "-", "take over an enrolled device id", "refused", r,
          ok=still.status_code == 200 and still.json()["device_id"] == owner.device.device_id)


def _me(w: World, m: Matrix, p: Principal) -> None:
    r = w.call(p, "GET", "/v1/me")
    ok = True
    if p.authenticated and r.status_code == 200:
        me = r.json()
        ok = (me["device_id"], me["agency_code"], me["officer"]) == (p.device.device_id, p.agency, p.officer)
    m.add("GET /v1/me", p, "-", "who am I", m.expect(p, None), r, ok=ok)


def _list_cases(w: World, m: Matrix, p: Principal) -> None:
    r = w.call(p, "GET", "/v1/cases")
    listed = {x["uid"]: x for x in r.json()} if r.status_code == 200 else {}
    for case in w.cases.values():
        if not p.authenticated:
            m.add("GET /v1/cases", p, case.label, "listed", "unauthenticated", r)
            continue
        vis = may_see(p, case)
        there = case.uid in listed
        ok = there == vis and (not there or listed[case.uid]["mine"] == (case.owner == p.agency))
        m.add("GET /v1/cases", p, case.label, "listed" if vis else "not listed", "ok", r, ok=ok,
              leak=there and not vis, note=f"listed={there}")


def _one_case(w: World, m: Matrix, p: Principal) -> None:
    missing = w.call(p, "GET", f"/v1/cases/{w.cases['missing'].uid}")
    for case in w.cases.values():
        r = w.call(p, "GET", f"/v1/cases/{case.uid}")
        ok = r.status_code != 200 or (r.json()["uid"] == case.uid and r.json()["records"] == 3)
        m.add("GET /v1/cases/{case_uid}", p, case.label, "read summary", m.expect(p, case), r, ok=ok,
              missing=missing)


def _expected_pull(p: Principal, case: CaseSpec) -> set[str]:
    """The records of ``case`` a pull gives ``p``: all of them, except those its own device
    made what they are (it has them already); none when it may not see the case."""
    if not may_see(p, case) or case.pusher == p.name:
        return set()
    return {case.uid, *case.records}


def _case_changes(w: World, m: Matrix, p: Principal) -> None:
    missing = w.call(p, "GET", f"/v1/cases/{w.cases['missing'].uid}/changes", params={"since": 0})
    for case in w.cases.values():
        r = w.call(p, "GET", f"/v1/cases/{case.uid}/changes", params={"since": 0})
        ok, leak = True, False
        if r.status_code == 200:
            recs = r.json()["records"]
            leak = any(x["case"] != case.uid for x in recs) or (bool(recs) and not may_see(p, case))
            ok = {x["uid"] for x in recs} == _expected_pull(p, case)
        m.add("GET /v1/cases/{case_uid}/changes", p, case.label, "pull one case", m.expect(p, case), r,
              ok=ok and not leak, leak=leak, missing=missing)


def _changes(w: World, m: Matrix, p: Principal) -> None:
    r = w.call(p, "GET", "/v1/changes", params={"since": 0, "limit": 5000})
    recs = r.json()["records"] if r.status_code == 200 else []
    for case in w.cases.values():
        if not p.authenticated:
            m.add("GET /v1/changes", p, case.label, "pull all", "unauthenticated", r)
            continue
        got = {x["uid"] for x in recs if x["case"] == case.uid}
        m.add("GET /v1/changes", p, case.label, "pull all", "ok", r, ok=got == _expected_pull(p, case),
              leak=bool(got) and not may_see(p, case), note=f"{len(got)} records of the case")


def _deconflict(w: World, m: Matrix, p: Principal) -> None:
    other = w.cases["B-private"] if p.agency != AGENCIES["B"][0] else w.cases["A-private"]

    def body(case_uid: str, own_fp: str) -> dict[str, Any]:
        return {"case": case_uid, "items": [{"fp": own_fp}, {"fp": other.fps[0]}]}

    missing = w.call(p, "POST", "/v1/deconflict", json=body(w.cases["missing"].uid, fingerprint("nothing")))
    for case in w.cases.values():
        own_fp = case.fps[0] if case.fps else fingerprint("nothing")
        r = w.call(p, "POST", "/v1/deconflict", json=body(case.uid, own_fp))
        ok = True
        if r.status_code == 200:
            matches = r.json()["matches"]
            # The case asked about is never reported to itself; the other unit is named
            # (owning agency and contact only: that is what deconfliction is for).
            ok = not any(x["fp"] == own_fp for x in matches) and (case is other or any(
                x["fp"] == other.fps[0] and x["agency"] == AGENCIES[other.label[0]][1] for x in matches))
        m.add("POST /v1/deconflict", p, case.label, "deconflict against a case", m.expect(p, case), r, ok=ok,
              missing=missing)


def _push(w: World, m: Matrix, p: Principal) -> None:
    ep = "POST /v1/push"

    def push(records: list[dict[str, Any]]) -> tuple[httpx.Response, bool]:
        before = w.head()
        r = w.call(p, "POST", "/v1/push", json={"records": records})
        return r, w.head() != before

    miss = w.cases["missing"]
    missing, moved = push([entity_record(str(uuid.uuid4()), miss.uid, w.stamps.next())])
    assert not moved
    for case in w.cases.values():
        exp = m.expect(p, case)
        # (a) a new record in the case
        r, moved = push([entity_record(str(uuid.uuid4()), case.uid, w.stamps.next(), label="added")])
        ok = (r.status_code == 200 and r.json()["changed"] == 1 and moved) if exp == "ok" else not moved
        m.add(ep, p, case.label, "add a record", exp, r, ok=ok, leak=moved and exp != "ok", missing=missing)
        # (b) an edit of a record the case holds
        target = case.records[0] if case.records else str(uuid.uuid4())
        before = w.hq_record(target)
        r, moved = push([{**entity_record(target, case.uid, w.stamps.next(), label="edited"), "f": {"label": "edited"},
                          "s": {"label": w.stamps.next()}}])
        after = w.hq_record(target)
        ok = (r.status_code == 200 and after and after["label"] == "edited") if exp == "ok" else \
            (not moved and after == before)
        m.add(ep, p, case.label, "edit a record", exp, r, ok=ok, leak=exp != "ok" and after != before,
              missing=missing)
        # (c) a record of the case claimed for the caller's own case: never moves across cases
        if case.records:
            own = w.cases[p.own_case]
            target = case.records[1]
            before = w.hq_record(target)
            r, moved = push([entity_record(target, own.uid, w.stamps.next(), label="taken over")])
            after = w.hq_record(target)
            exp_c = exp if case is own else ("unauthenticated" if not p.authenticated else "not found")
            ok = (r.status_code == 200) if exp_c == "ok" else (not moved and after == before)
            m.add(ep, p, case.label, "claim its record for my own case", exp_c, r, ok=ok,
                  leak=exp_c != "ok" and after != before, missing=missing)
        # (d) who the case is shared with: only the owning agency decides
        if case.owner is None:
            # A case row for a uid HQ does not hold creates a case, so it needs every field:
            # refused as malformed. (Creating a case with a client-chosen uid necessarily
            # tells a free uid from a taken one; see the report.)
            r, moved = push([{"t": "case", "uid": case.uid, "case": case.uid, "hlc": w.stamps.next(),
                              "origin": "matrix", "f": {"shared_with": ["EVERYONE"]}}])
            m.add(ep, p, case.label, "change who sees the case",
                  "malformed" if p.authenticated else "unauthenticated", r, ok=not moved)
            continue
        mine = p.agency == case.owner
        wanted = list(case.shared_with) if mine else [*case.shared_with, p.agency or "EVERYONE", "EVERYONE"]
        stamp = w.stamps.next()
        r, moved = push([{"t": "case", "uid": case.uid, "case": case.uid, "hlc": stamp, "origin": "matrix",
                          "f": {"shared_with": wanted}, "s": {"shared_with": stamp}}])
        now = w.hq_shared_with(case.uid)
        ok = now == case.shared_with
        if exp == "ok":
            ignored = r.json().get("ignored", []) if r.status_code == 200 else None
            ok = ok and ignored == ([] if mine else [f"{case.uid}:shared_with"])
        else:
            ok = ok and not moved
        m.add(ep, p, case.label, "change who sees the case", exp, r, ok=ok, leak=now != case.shared_with,
              missing=missing if exp == "not found" else None, note=f"shared_with now {now}")


@dataclass(frozen=True)
class Rule:
    authenticated: bool  # the endpoint needs a device token (and says so in the OpenAPI document)
    check: Callable[[World, Matrix, Principal], None]
    writes: bool = False  # run after every read-only rule, so that reads see the seeded state


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/openapi.json"): Rule(False, _public_openapi),
    ("GET", "/v1/health"): Rule(False, _public_health),
    ("POST", "/v1/enrol"): Rule(False, _enrol, writes=True),
    ("GET", "/v1/me"): Rule(True, _me),
    ("GET", "/v1/cases"): Rule(True, _list_cases),
    ("GET", "/v1/cases/{case_uid}"): Rule(True, _one_case),
    ("GET", "/v1/cases/{case_uid}/changes"): Rule(True, _case_changes),
    ("GET", "/v1/changes"): Rule(True, _changes),
    ("POST", "/v1/deconflict"): Rule(True, _deconflict),
    ("POST", "/v1/push"): Rule(True, _push, writes=True),
}


def served_endpoints(w: World) -> tuple[set[tuple[str, str]], dict[str, Any]]:
    """(method, path) of everything HQ answers: its OpenAPI operations and its app routes."""
    doc = w.call(Principal("anyone", {}), "GET", "/openapi.json").json()
    out = {(method.upper(), path) for path, item in doc["paths"].items() for method in item
           if method in ("get", "put", "post", "delete", "patch", "options", "head", "trace")}
    for route in w.hq.app.routes:
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                out.add((method, route.path))
    return out, doc


# ---------------------------------------------------------------------- the tests
def test_every_endpoint_has_a_rule_and_says_whether_it_needs_a_token(world: World) -> None:
    served, doc = served_endpoints(world)
    assert served - RULES.keys() == set(), f"endpoints without an access-matrix rule: {sorted(served - RULES.keys())}"
    assert RULES.keys() - served == set(), f"rules for endpoints HQ no longer serves: {sorted(RULES.keys() - served)}"
    for path, item in doc["paths"].items():
        for method, op in item.items():
            declared = bool(op.get("security", doc.get("security")))
            assert declared == RULES[(method.upper(), path)].authenticated, (method, path)
            if declared:
                assert "401" in op["responses"] and "429" in op["responses"], (method, path)


def test_access_matrix(world: World, figures) -> None:
    served, _ = served_endpoints(world)
    m = Matrix(world)
    ordered = sorted(served & RULES.keys(), key=lambda e: (RULES[e].writes, e))
    for endpoint in ordered:
        for p in world.principals:
            RULES[endpoint].check(world, m, p)

    wrong = [c for c in m.cells if not c.ok]
    leaks = [c for c in m.cells if c.unauthorised_2xx]
    detail = {"backend": world.backend, "principals": len(world.principals), "cases": len(world.cases),
              "endpoints": len(ordered), "cells_not_as_expected": len(wrong)}
    figures.record("hq", "access matrix (principals × cases × every served endpoint) → unauthorised 2xx or "
                         "data of a case the caller may not see", len(m.cells), len(leaks), detail)
    figures.record("hq", "access matrix: a case the caller may not see answers byte for byte like a missing one",
                   m.compared, len(m.differ), {"backend": world.backend})
    figures.record("hq", "access matrix: every cell answers as the authorisation rules say", len(m.cells),
                   len(wrong), {"backend": world.backend})
    assert len(m.cells) >= 500 and m.compared >= 100
    assert not leaks, f"{len(leaks)} unauthorised 2xx / leaks:\n{m.report(leaks)}"
    assert not m.differ, "forbidden differs from missing:\n" + "\n".join(m.differ[:20])
    assert not wrong, f"{len(wrong)} of {len(m.cells)} cells not as the rules say:\n{m.report(wrong)}"


# ---------------------------------------------------------------------- rate limiting
def test_auth_failures_back_off_per_device_and_for_enrolment_codes_and_the_block_expires(
        world: World, figures, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """Per address is covered by tests/core/hq/test_api.py; here: a revoked device stays
    blocked from another address, enrolment-code guessing is throttled without spending
    a valid code, the block expires and a success clears it, and the wait doubles."""
    from workstation.hq.app import AuthLimiter

    hq = world.hq
    revoked = world.principal("revoked device").headers
    good = world.principal("B officer").headers
    unknown = {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
    saved = hq.app.state.limiter
    hq.app.state.limiter = lim = AuthLimiter(threshold=3, base_delay=0.5)
    # The limiter's clock moves only when the test says so: a request slowed by a loaded
    # machine cannot outlive a block the test expects to hold, and the waits are exact.
    clock = frozen_limiter_clock(monkeypatch)
    checks: list[tuple[str, bool]] = []

    def expect(what: str, r: httpx.Response, status: int) -> httpx.Response:
        checks.append((f"{what}: {r.status_code}", r.status_code == status))
        return r

    try:
        with client(hq) as home, client(hq, local_address="127.0.0.2") as away, \
                client(hq, local_address="127.0.0.3") as guesser, client(hq, local_address="127.0.0.4") as third:
            for i in range(lim.threshold):
                expect(f"revoked token #{i + 1}", home.get("/v1/me", headers=revoked), 401)
            blocked = expect("revoked token over the threshold", home.get("/v1/me", headers=revoked), 429)
            checks.append(("Retry-After given", int(blocked.headers.get("retry-after", "0")) >= 1))
            # The device itself is blocked, wherever it calls from; the other address is not.
            expect("revoked token from another address", away.get("/v1/me", headers=revoked), 429)
            expect("unknown token from the other address", away.get("/v1/me", headers=unknown), 401)
            expect("valid token from the other address", away.get("/v1/me", headers=good), 200)
            # The block expires; a success then clears the count.
            clock.advance(lim.base_delay + 0.15)
            expect("valid token once the block expired", home.get("/v1/me", headers=good), 200)
            expect("a failure after a success starts again", home.get("/v1/me", headers=unknown), 401)
            # Guessing enrolment codes is throttled, and a valid code is not spent meanwhile.
            code = hq.service.create_enrolment(AGENCIES["B"][0], "Det. Patient Example")
            body = {"device_id": str(uuid.uuid4()), "sign_pub": secrets.token_hex(32), "box_pub": secrets.token_hex(32)}
            for i in range(lim.threshold):
                expect(f"guessed code #{i + 1}", guesser.post("/v1/enrol", json={**body, "code": f"GUESS-{i:04d}"}),
                       403)
            expect("a valid code while blocked", guesser.post("/v1/enrol", json={**body, "code": code}), 429)
            clock.advance(lim.base_delay + 0.15)
            expect("the same code once the block expired", guesser.post("/v1/enrol", json={**body, "code": code}), 200)
            # Each failure after the threshold doubles the wait: 0.5 s, 1 s, 2 s.
            for i in range(lim.threshold):
                third.get("/v1/me", headers=unknown)
            waits = []
            for delay in (0.5, 1.0):
                clock.advance(delay + 0.15)
                expect("a failure once the block expired", third.get("/v1/me", headers=unknown), 401)
                r = expect("and blocked again", third.get("/v1/me", headers=unknown), 429)
                waits.append(lim.retry_after("127.0.0.4"))
            checks.append((f"waits {waits} double", waits == [1.0, 2.0]))
    finally:
        hq.app.state.limiter = saved
    failed = [what for what, ok in checks if not ok]
    figures.record("hq", "auth-failure back-off: per device across addresses, enrolment codes, expiry, doubling",
                   len(checks), len(failed), {"backend": world.backend})
    assert not failed, failed


# ---------------------------------------------------------------------- TLS versions
class _AnyVersionServer:
    """A bare TLS server on 127.0.0.1 that accepts every version this OpenSSL can speak
    (the control: it shows whether the client below can offer an old version at all)."""

    def __init__(self, cert: Path, key: Path) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.load_cert_chain(str(cert), str(key))
        self.ctx = ctx
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    def close(self) -> None:
        # close() alone does not wake a thread blocked in accept() on Linux; shutdown does.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the control TLS server did not stop"


def _client_context(cert: Path, version: ssl.TLSVersion) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=cert.read_text())
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = version
    if version < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


def _handshake(port: int, ctx: ssl.SSLContext) -> str | None:
    """The negotiated version, or None when the handshake is refused."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.version()
    except (ssl.SSLError, OSError):
        return None


def test_tls_1_0_and_1_1_are_refused_and_1_2_and_1_3_accepted(tmp_path: Path, figures) -> None:
    """Strengthens tests/core/hq/test_api.py::test_tls_below_1_2_is_refused, which tries
    1.0–1.1 in one go and would also pass if this machine's OpenSSL could not offer them."""
    names = {ssl.TLSVersion.TLSv1: "TLSv1", ssl.TLSVersion.TLSv1_1: "TLSv1.1",
             ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}
    with running_hq("sqlite", tmp_path) as hq:
        control = _AnyVersionServer(hq.cert.cert, hq.cert.key)
        results: dict[str, tuple[str | None, str | None]] = {}
        try:
            for version, name in names.items():
                ctx = _client_context(hq.cert.cert, version)
                results[name] = (_handshake(control.port, ctx), _handshake(hq.port, ctx))
            for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                with httpx.Client(base_url=hq.url, verify=_client_context(hq.cert.cert, version)) as c:
                    assert c.get("/v1/health").status_code == 200
        finally:
            control.close()
    unavailable = [n for n, (ctl, _) in results.items() if ctl != n]
    if unavailable:
        pytest.skip(f"this OpenSSL cannot offer {', '.join(unavailable)} (even to a server that accepts it)")
    wrong = {n: got for n, (_, got) in results.items() if got != (n if n in ("TLSv1.2", "TLSv1.3") else None)}
    figures.record("hq", "TLS handshakes: 1.0 and 1.1 refused, 1.2 and 1.3 accepted (each against a control)",
                   len(results), len(wrong), {"results": {n: got for n, (_, got) in results.items()}})
    assert not wrong, wrong
