"""Pieces shared by the HQ reliability tests: a real HQ on 127.0.0.1 over TLS (SQLite or a
throw-away PostgreSQL database), clients that trust only its certificate, devices enrolled
through ``POST /v1/enrol`` with one-time codes issued as the admin CLI does, and wire
records built by hand (what a laptop, or an attacker, could send)."""

from __future__ import annotations

import secrets
import ssl
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter

from tests.core.sync.helpers import running_hq  # noqa: F401  (the HQ these tests start)
from workstation.sync.protocol import FIELD_TYPES


def tls_context(hq: Any) -> ssl.SSLContext:
    """What an enrolled laptop uses: HQ's certificate as the only trust anchor, TLS ≥ 1.2."""
    from workstation.sync.client import pinned_context

    return pinned_context(hq.cert.cert.read_text())


def client(hq: Any, *, local_address: str | None = None) -> httpx.Client:
    """An httpx client to HQ (optionally from another loopback source address)."""
    ctx = tls_context(hq)
    transport = httpx.HTTPTransport(verify=ctx, local_address=local_address)
    return httpx.Client(base_url=hq.url, transport=transport, timeout=30)


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, ctx: ssl.SSLContext) -> None:
        self._ctx = ctx
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._ctx
        super().init_poolmanager(*args, **kwargs)


def requests_session(hq: Any) -> requests.Session:
    """A requests session (schemathesis' transport) that trusts only HQ's certificate."""
    s = requests.Session()
    s.mount("https://", _PinnedAdapter(tls_context(hq)))
    return s


@dataclass
class Device:
    """One enrolled device: its token and who it speaks for."""

    device_id: str
    token: str
    agency_code: str
    officer: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def enrol_device(hq: Any, agency: str, officer: str, *, label: str = "", agency_name: str | None = None) -> Device:
    """Issue a one-time code (as ``workstation hq enroll`` does) and redeem it over HTTP."""
    code = hq.service.create_enrolment(agency, officer, agency_name=agency_name)
    device_id = str(uuid.uuid4())
    with client(hq) as c:
        r = c.post("/v1/enrol", json={"code": code, "device_id": device_id, "sign_pub": secrets.token_hex(32),
                                      "box_pub": secrets.token_hex(32), "label": label})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["device_id"] == device_id and body["agency_code"] == agency and body["officer"] == officer
    return Device(device_id, body["token"], agency, officer)


@dataclass
class Stamps:
    """Hybrid-logical-clock stamps (the wire's STAMP_PATTERN), each greater than the last and
    ahead of the wall clock, so that they also beat any stamp HQ made before the call."""

    node: str = "reltest"
    _last: int = field(default=0)

    def next(self) -> str:
        self._last = max(time.time_ns() // 1_000_000 + 1, self._last + 1)
        return f"{self._last:015d}.00000.{self.node}"


def _blank(code: str) -> Any:
    base = code.rstrip("?")
    if code.endswith("?"):
        return None
    return {"str": "x", "text": "x", "int": 0, "float": 0.0, "json": {}, "list": [], "parties": []}.get(base, "x")


def full_fields(t: str, **values: Any) -> dict[str, Any]:
    """Every field of a new ``t`` record (a new record must carry them all)."""
    out = {name: _blank(code) for name, code in FIELD_TYPES[t].items()}
    out.update(values)
    return out


def case_record(uid: str, stamp: str, *, sharing: str = "hq", shared_with: list[str] | None = None,
                origin: str = "reltest") -> dict[str, Any]:
    f = full_fields("case", number=f"REL-{uid[:8]}", title="Synthetic reliability case", status="open",
                    opened_at="2024-01-01T00:00:00.000000Z", created_at="2024-01-01T00:00:00.000000Z",
                    sharing=sharing, shared_with=list(shared_with or []))
    return {"t": "case", "uid": uid, "case": uid, "hlc": stamp, "origin": origin, "deleted": False, "f": f,
            "s": {"sharing": stamp, "shared_with": stamp}}


def entity_record(uid: str, case_uid: str, stamp: str, *, label: str = "Synthetic Person",
                  fp: list[str] | None = None, origin: str = "reltest") -> dict[str, Any]:
    f = full_fields("entity", kind="person", label=label, created_at="2024-01-01T00:00:00.000000Z")
    return {"t": "entity", "uid": uid, "case": case_uid, "hlc": stamp, "origin": origin, "deleted": False,
            "f": f, "fp": list(fp or [])}


def fingerprint(seed: str) -> str:
    """A well-formed keyed fingerprint (``kind:64 hex``), fixed for ``seed``."""
    import hashlib

    return "phone:" + hashlib.sha256(seed.encode()).hexdigest()
