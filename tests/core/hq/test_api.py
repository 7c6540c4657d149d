"""The HQ server as a device (or an attacker) meets it, over TLS on 127.0.0.1, against
SQLite and PostgreSQL: enrolment, tokens, revocation, rate limiting, audit, per-agency
authorisation, request limits, TLS and certificate pinning."""

from __future__ import annotations

import gzip
import hashlib
import json
import ssl
import uuid
import warnings

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text

from tests.core.sync.helpers import frozen_limiter_clock
from workstation.hq.models import AuditEntry, Base, Device, Record
from workstation.sync.client import HQRefused, PinMismatch, connect, enroll, load_enrolment
from workstation.sync.engine import sync_now

TS = "001700000000000.00000.attacker"


def pinned(hq) -> ssl.SSLContext:
    from workstation.sync.client import pinned_context

    return pinned_context(hq.cert.cert.read_text())


def anon(hq) -> httpx.Client:
    return httpx.Client(base_url=hq.url, verify=pinned(hq), timeout=30)


def authed(ws) -> httpx.Client:
    return connect(ws).http


def head(hq) -> int:
    with hq.service.store.session() as s:
        return hq.service.store.head(s)


def audit_rows(hq) -> list[AuditEntry]:
    with hq.service.store.session() as s:
        return list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())


def entity_record(uid: str, case_uid: str, label: str = "x") -> dict:
    return {"t": "entity", "uid": uid, "case": case_uid, "hlc": TS, "origin": "attacker", "deleted": False,
            "f": {"kind": "person", "label": label, "key": None, "properties": {}, "merged_into": None,
                  "source": None, "source_ref": None, "created_at": "2024-01-01T00:00:00.000000Z"}}


def test_openapi_document_is_served(hq) -> None:
    with anon(hq) as c:
        doc = c.get("/openapi.json").json()
    for path in ("/v1/enrol", "/v1/push", "/v1/changes", "/v1/cases/{case_uid}", "/v1/cases/{case_uid}/changes",
                 "/v1/deconflict", "/v1/me"):
        assert path in doc["paths"], path
    push = doc["components"]["schemas"]["PushRequest"]
    assert push["additionalProperties"] is False
    assert doc["components"]["schemas"]["WireRecord"]["additionalProperties"] is False


def test_migrations_create_exactly_the_models(hq) -> None:
    with hq.service.store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": "hq_alembic_version"})
        assert compare_metadata(ctx, Base.metadata) == []


def test_enrolment_codes_are_single_use_and_secrets_are_stored_hashed(laptops, hq, tmp_path) -> None:
    lap = laptops("a", enrolled=False)
    code = hq.service.create_enrolment("AG-ENR", "Officer Enr", officer_contact="+44 7700 900123")
    enr = enroll(lap.ws, hq.url, code, ca_cert=str(hq.cert.cert))
    assert len(enr.token) * 6 >= 256  # url-safe base64 of 32 random bytes
    assert enr.cert_sha256 == hq.cert.sha256
    other = laptops("b", enrolled=False)
    with pytest.raises(HQRefused, match="wrong, already used or expired") as info:
        enroll(other.ws, hq.url, code, ca_cert=str(hq.cert.cert))
    assert info.value.exit_code == 6 and info.value.status == 403
    with pytest.raises(HQRefused, match="wrong, already used or expired"):
        enroll(other.ws, hq.url, "AAAA-BBBB-CCCC-DDDD", ca_cert=str(hq.cert.cert))
    expired = hq.service.create_enrolment("AG-ENR", "Officer Late", ttl_hours=0)
    with pytest.raises(HQRefused, match="expired"):
        enroll(other.ws, hq.url, expired, ca_cert=str(hq.cert.cert))
    hq.limiter.reset()
    # HQ keeps only hashes: neither the token nor the code is anywhere in its database.
    with hq.service.store.session() as s:
        dev = s.get(Device, enr.device_id)
        assert dev.token_hash == hashlib.sha256(enr.token.encode()).hexdigest()
        dump = json.dumps([list(map(str, r)) for t in Base.metadata.sorted_tables
                           for r in s.execute(select(t)).all()])
    assert enr.token not in dump and code.replace("-", "") not in dump.replace("-", "")
    # The laptop keeps them inside the encrypted database only.
    for f in lap.path.parent.iterdir():
        if f.is_file():
            assert enr.token.encode() not in f.read_bytes(), f
    assert load_enrolment(lap.ws).token == enr.token


def test_revoked_device_is_refused_on_its_next_request(laptops, hq) -> None:
    lap = laptops("a")
    cid = lap.ws.create_case("RV-1", "Revocation", sharing="hq").id
    sync_now(lap.ws)
    assert hq.service.revoke(lap.ws.db.device_id)
    lap.ws.add_entity(cid, "person", "After Revocation")
    with pytest.raises(HQRefused, match="revoked") as info:
        sync_now(lap.ws)
    assert info.value.status == 401 and info.value.exit_code == 6
    last = audit_rows(hq)[-1]
    assert (last.status, last.outcome, last.device_id, last.detail) == (401, "auth failed", lap.ws.db.device_id,
                                                                         "revoked device")
    hq.limiter.reset()


def test_failed_authentication_is_rate_limited_and_audited(laptops, hq, monkeypatch) -> None:  # noqa: ANN001
    good = laptops("a")
    hq.limiter.reset()
    frozen_limiter_clock(monkeypatch)  # the block cannot expire mid-test on a slow machine
    try:
        with anon(hq) as c:
            # A forwarded-for header is not believed: it cannot spread the guesses over
            # made-up addresses.
            codes = [c.get("/v1/me", headers={"Authorization": f"Bearer wrong-token-{i:040d}",
                                              "X-Forwarded-For": f"198.51.100.{i + 1}"}).status_code
                     for i in range(hq.limiter.threshold)]
            assert codes == [401] * hq.limiter.threshold
            refused = c.get("/v1/me", headers={"Authorization": "Bearer another-wrong-token-000000000000",
                                               "X-Forwarded-For": "203.0.113.77"})
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        # While the address is blocked, even a valid token waits.
        with pytest.raises(HQRefused, match="retry in"):
            sync_now(good.ws)
        outcomes = [r.outcome for r in audit_rows(hq)[-8:]]
        assert outcomes.count("auth failed") >= hq.limiter.threshold - 1 and "rate limited" in outcomes
    finally:
        hq.limiter.reset()
    sync_now(good.ws)


def test_every_request_is_audited_with_who_what_and_outcome(laptops, hq) -> None:
    lap = laptops("a")
    cid = lap.ws.create_case("AU-1", "Audit", sharing="hq").id
    lap.ws.add_entity(cid, "person", "Audited Person")
    before = len(audit_rows(hq))
    rec: list[str] = []

    class Count(httpx.BaseTransport):
        def __init__(self, inner: httpx.BaseTransport) -> None:
            self.inner = inner

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            rec.append(request.url.path)
            return self.inner.handle_request(request)

    sync_now(lap.ws, wrap=Count)
    rows = audit_rows(hq)[before:]
    assert [r.endpoint for r in rows] == rec
    case_uid = lap.ws.get_case(cid).uid
    push = next(r for r in rows if r.endpoint == "/v1/push")
    assert push.device_id == lap.ws.db.device_id and push.status == 200 and case_uid in push.cases
    assert all(r.device_id == lap.ws.db.device_id and r.outcome == "ok" for r in rows)
    assert "Audited Person" not in json.dumps([r.detail for r in rows])


def test_another_agency_meets_a_case_exactly_like_a_missing_one(laptops, hq) -> None:
    a = laptops("a", agency="AG-OWNER-" + uuid.uuid4().hex[:6])
    b = laptops("b", agency="AG-OTHER-" + uuid.uuid4().hex[:6])
    cid = a.ws.create_case("AZ-1", "Owner's case", sharing="hq").id
    ent = a.ws.add_entity(cid, "phone", "+1 202-555-0177").id
    sync_now(a.ws)
    case_uid, ent_uid = a.ws.get_case(cid).uid, a.ws.get_entity(ent).uid
    missing = str(uuid.uuid4())
    own = b.ws.create_case("B-own", "B's case", sharing="hq").id
    sync_now(b.ws)
    own_uid = b.ws.get_case(own).uid
    before = head(hq)

    def attempts(target: str) -> list[httpx.Response]:
        with authed(b.ws) as c:
            return [
                c.get(f"/v1/cases/{target}"),
                c.get(f"/v1/cases/{target}/changes", params={"since": 0}),
                c.post("/v1/deconflict", json={"case": target, "items": []}),
                c.post("/v1/push", json={"records": [entity_record(str(uuid.uuid4()), target)]}),
            ]

    forbidden, absent = attempts(case_uid), attempts(missing)
    for f, m in zip(forbidden, absent):
        assert (f.status_code, f.content, f.headers["content-type"]) == (m.status_code, m.content,
                                                                         m.headers["content-type"])
        assert f.status_code == 404 and f.json() == {"detail": "case not found"}
    with authed(b.ws) as c:
        # Overwriting A's record by its uid, as if it were B's own: refused the same way.
        hijack = c.post("/v1/push", json={"records": [entity_record(ent_uid, own_uid, "hijacked")]})
        edit = c.post("/v1/push", json={"records": [entity_record(ent_uid, case_uid, "hijacked")]})
        assert hijack.status_code == edit.status_code == 404 and hijack.content == absent[0].content
        listed = {x["uid"] for x in c.get("/v1/cases").json()}
        changes = c.get("/v1/changes", params={"since": 0}).json()["records"]
    assert case_uid not in listed and own_uid in listed
    assert {r["case"] for r in changes} <= {own_uid}
    assert head(hq) == before
    with hq.service.store.session() as s:
        assert s.get(Record, ent_uid).fields["label"] == "+1 202-555-0177"
    # Positive control: once A shares the case with B's agency, B reads it.
    a.ws.update_case(cid, sharing="agencies", shared_with=[load_enrolment(b.ws).agency_code])
    sync_now(a.ws)
    sync_now(b.ws)
    got = b.ws.find_case("AZ-1")
    assert [e.label for e in b.ws.list_entities(got.id)] == ["+1 202-555-0177"]
    # B may work on the shared case but may not decide who else sees it.
    b.ws.update_case(got.id, shared_with=["EVERYONE"], summary="joint work")
    sync_now(b.ws)
    sync_now(a.ws)
    sync_now(b.ws)
    mine, theirs = a.ws.get_case(cid), b.ws.get_case(got.id)
    assert mine.summary == theirs.summary == "joint work"
    assert list(mine.shared_with) == list(theirs.shared_with) == [load_enrolment(b.ws).agency_code]


def test_malformed_oversized_and_unknown_requests_are_refused_and_nothing_applied(laptops, hq) -> None:
    lap = laptops("a")
    cid = lap.ws.create_case("MF-1", "Malformed", sharing="hq").id
    sync_now(lap.ws)
    case_uid = lap.ws.get_case(cid).uid
    before = head(hq)
    good = entity_record(str(uuid.uuid4()), case_uid)
    with authed(lap.ws) as c:
        r = c.post("/v1/push", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 422
        r = c.post("/v1/push", json={"records": [good], "extra": 1})
        assert r.status_code == 422 and "extra" in r.text
        bad = dict(good, f=dict(good["f"], colour="red"))
        r = c.post("/v1/push", json={"records": [good, bad]})
        assert r.status_code == 422 and "unknown field 'colour'" in r.text
        bad = dict(good, f=dict(good["f"], label=12))
        r = c.post("/v1/push", json={"records": [bad]})
        assert r.status_code == 422 and "'label'" in r.text and "text" in r.text
        partial = dict(good, f={"kind": "person", "label": "no other fields"})
        r = c.post("/v1/push", json={"records": [partial]})
        assert r.status_code == 422 and "needs every field" in r.text
        r = c.post("/v1/push", json={"records": [good] * 1001})
        assert r.status_code == 422
        r = c.post("/v1/push", json={"records": [dict(good, hlc="yesterday")]})
        assert r.status_code == 422 and "hlc" in r.text and "yesterday" not in r.text
        r = c.post("/v1/push", content=b"x" * (17 * 1024 * 1024), headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        bomb = gzip.compress(b'{"records": [' + b" " * (70 * 1024 * 1024) + b"]}")
        r = c.post("/v1/push", content=bomb, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        assert r.status_code == 413 and "decompressed" in r.text
        r = c.post("/v1/push", content=b"{}", headers={"Content-Type": "application/json", "Content-Encoding": "br"})
        assert r.status_code == 400
        r = c.get("/v1/changes", params={"since": -1})
        assert r.status_code == 422
        r = c.get("/v1/cases/not-a-uid")
        assert r.status_code == 422
    assert head(hq) == before
    with hq.service.store.session() as s:
        assert s.execute(select(func.count()).select_from(Record).where(Record.case_uid == case_uid)).scalar() == 1


def test_tls_below_1_2_is_refused(hq) -> None:
    old = pinned(hq)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        old.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with httpx.Client(base_url=hq.url, verify=old) as c, pytest.raises(httpx.ConnectError):
        c.get("/v1/health")
    ok = pinned(hq)
    ok.maximum_version = ssl.TLSVersion.TLSv1_2
    with httpx.Client(base_url=hq.url, verify=ok) as c:
        assert c.get("/v1/health").status_code == 200


def test_the_pinned_certificate_is_the_only_one_trusted(laptops, hq, tmp_path) -> None:
    from workstation.hq.server import RunningHQ
    from workstation.sync.client import META_KEY

    lap = laptops("a")
    impostor = RunningHQ(f"sqlite:///{tmp_path / 'impostor.db'}", tls_dir=tmp_path / "impostor-tls").start()
    try:
        enr = load_enrolment(lap.ws)
        with lap.ws.db.write() as conn:
            data = json.loads(lap.ws.db.meta_get(conn, META_KEY))
            data["hq_url"] = impostor.url
            lap.ws.db.meta_set(conn, META_KEY, json.dumps(data))
        with pytest.raises(PinMismatch) as info:
            sync_now(lap.ws)
        assert info.value.exit_code == 6
        with impostor.service.store.session() as s:  # the token never reached the impostor
            assert s.execute(text("SELECT count(*) FROM hq_audit")).scalar() == 0
        assert enr.cert_sha256 != impostor.cert.sha256
    finally:
        impostor.stop()
