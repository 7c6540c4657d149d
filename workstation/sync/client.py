"""The laptop's connection to HQ: enrolment, certificate pinning, authenticated requests.

Enrolment stores everything the laptop needs to talk to HQ (address, pinned certificate,
device token, the device's signing and encryption keys, HQ's public keys and the HQ-wide
fingerprint key) in the ``meta`` table of the encrypted case database, never in a plain
file. After enrolment the TLS context trusts exactly the pinned certificate (it is the only
trust anchor; partial chains allowed so a CA-issued leaf can be pinned too), so a different
certificate, even one a public CA vouches for, fails the handshake before the token is
sent; every response is also checked against the pinned SHA-256.

Errors: network failures and refusals raise :class:`NetworkError` (exit code 6) with a
message an officer can act on; tokens and keys never appear in messages or logs.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import json
import ssl
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from workstation import clock
from workstation.errors import NetworkError, UsageError
from workstation.sync.protocol import EnrolResponse

META_KEY = "sync_enrolment"
USER_AGENT = "CaseWorkstation-sync/1"
GZIP_OVER = 1024

TransportWrap = Callable[[httpx.BaseTransport], httpx.BaseTransport]


class HQRefused(NetworkError):
    """HQ answered but refused: revoked device, unknown case, bad request, rate limit."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class PinMismatch(NetworkError):
    """The server's certificate is not the one pinned at enrolment."""


@dataclass(frozen=True)
class Enrolment:
    """What enrolment stored (secrets included: never print or log this object)."""

    hq_url: str
    cert_pem: str
    cert_sha256: str
    token: str
    device_id: str
    sign_key: str
    box_key: str
    hq_box_pub: str
    hq_sign_pub: str
    hq_id: str
    fp_key: str
    officer: str
    agency: str
    agency_code: str
    enrolled_at: str

    def __repr__(self) -> str:  # never show secrets by accident
        return f"Enrolment(hq_url={self.hq_url!r}, device_id={self.device_id!r}, officer={self.officer!r})"

    @property
    def fingerprint_key(self) -> bytes:
        return bytes.fromhex(self.fp_key)


@dataclass(frozen=True)
class EnrolmentInfo:
    """What the UI may show about this laptop's enrolment (no secrets)."""

    hq_url: str
    device_id: str
    officer: str
    agency: str
    agency_code: str
    cert_sha256: str
    enrolled_at: str


def enrolment_info(ws: Any) -> EnrolmentInfo | None:
    """This laptop's enrolment without its secrets, or None when not enrolled."""
    enr = load_enrolment(ws)
    if enr is None:
        return None
    return EnrolmentInfo(enr.hq_url, enr.device_id, enr.officer, enr.agency, enr.agency_code, enr.cert_sha256,
                         enr.enrolled_at)


def load_enrolment(ws: Any) -> Enrolment | None:
    with ws.db.read() as conn:
        raw = ws.db.meta_get(conn, META_KEY)
    if not raw:
        return None
    return Enrolment(**json.loads(raw))


def require_enrolment(ws: Any) -> Enrolment:
    enr = load_enrolment(ws)
    if enr is None:
        raise UsageError("this laptop is not enrolled with HQ; run `workstation sync enroll --hq URL --code CODE`")
    return enr


def save_enrolment(ws: Any, conn: Any, enr: Enrolment) -> None:
    ws.db.meta_set(conn, META_KEY, json.dumps(asdict(enr), sort_keys=True))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """HQ's address: https, or plain http only to this machine (tests, development)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(f"HQ address {url!r} must look like https://hq.example:8443")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise UsageError(f"HQ address {url!r}: HQ is only reached over TLS (https://)")
    return f"{parts.scheme}://{parts.netloc}"


def pinned_context(cert_pem: str) -> ssl.SSLContext:
    """A client TLS context whose only trust anchor is the pinned certificate (TLS ≥ 1.2)."""
    ctx = ssl.create_default_context(cadata=cert_pem)
    # (cadata given: the system store is deliberately NOT loaded)
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def enrolment_context(ca_file: str | None) -> ssl.SSLContext:
    """TLS context for the first contact: the given CA file, else the system's CAs."""
    try:
        ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot read the CA certificate {ca_file}: {exc}") from None
    if ca_file:
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _peer_der(response: httpx.Response) -> bytes | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    obj = stream.get_extra_info("ssl_object")
    if obj is None:
        return None
    return obj.getpeercert(True)


class HQClient:
    """An HTTP client for one HQ. Not thread-safe; one per sync run."""

    def __init__(self, base_url: str, *, token: str | None = None, context: ssl.SSLContext | None = None,
                 pinned_sha256: str | None = None, wrap: TransportWrap | None = None,
                 timeout: float = 60.0) -> None:
        self.base_url = check_url(base_url)
        self.pinned_sha256 = pinned_sha256
        self.bytes_sent = 0
        self.bytes_received = 0
        self.requests = 0
        self.peer_der: bytes | None = None
        https = self.base_url.startswith("https://")
        transport: httpx.BaseTransport = httpx.HTTPTransport(verify=context if https and context else True,
                                                             retries=0)
        if wrap is not None:
            transport = wrap(transport)
        headers = {"User-Agent": USER_AGENT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(base_url=self.base_url, transport=transport, headers=headers,
                                 timeout=httpx.Timeout(timeout, connect=15.0),
                                 event_hooks={"response": [self._on_response]})

    def _on_response(self, response: httpx.Response) -> None:
        der = _peer_der(response)
        if der is not None:
            self.peer_der = der
            if self.pinned_sha256 and hashlib.sha256(der).hexdigest() != self.pinned_sha256:
                raise PinMismatch("HQ presented a certificate other than the one pinned at enrolment; "
                                  "refusing to talk to it (re-enrol if HQ changed its certificate)")

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HQClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
                raw: bool = False) -> Any:
        """Send one request, return the decoded JSON answer (the bytes when ``raw``).
        Raises NetworkError / HQRefused."""
        headers: dict[str, str] = {}
        content: bytes | None = None
        if body is not None:
            content = body if isinstance(body, bytes) else json.dumps(
                body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
            if len(content) > GZIP_OVER:
                content = gzip.compress(content, compresslevel=5)
                headers["Content-Encoding"] = "gzip"
        try:
            response = self.http.request(method, path, content=content, params=params, headers=headers)
        except PinMismatch:
            raise
        except httpx.ConnectError as exc:
            text = str(exc)
            if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
                raise PinMismatch(f"HQ at {self.base_url}: its TLS certificate is not the trusted/pinned one "
                                  f"({_short(text)})") from None
            raise NetworkError(f"cannot reach HQ at {self.base_url}: {_short(text)}") from None
        except httpx.TimeoutException:
            raise NetworkError(f"HQ at {self.base_url} did not answer in time") from None
        except httpx.TransportError as exc:
            why = _short(str(exc)) or type(exc).__name__
            raise NetworkError(f"connection to HQ at {self.base_url} failed: {why}") from None
        self.requests += 1
        self.bytes_sent += len(content or b"")
        self.bytes_received += response.num_bytes_downloaded
        if response.status_code >= 400:
            raise _refusal(response)
        if raw:
            return response.content
        try:
            return response.json()
        except ValueError:
            raise NetworkError(f"HQ at {self.base_url} sent an answer that is not JSON") from None


def _short(text: str) -> str:
    return text.splitlines()[0][:200] if text else ""


def _refusal(response: httpx.Response) -> NetworkError:
    status = response.status_code
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):
        detail = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}" for d in detail[:5]
                           if isinstance(d, dict))
    detail = str(detail or response.reason_phrase)
    if status == 401:
        return HQRefused(f"HQ refused this device ({detail}); it may have been revoked — ask HQ to re-enrol it",
                         status)
    if status == 429:
        retry = response.headers.get("Retry-After", "?")
        return HQRefused(f"HQ is refusing after repeated failed attempts; retry in {retry} s", status)
    if status >= 500:
        return NetworkError(f"HQ had an internal error (HTTP {status}); try again later")
    return HQRefused(f"HQ refused the request (HTTP {status}): {detail}", status)


def connect(ws: Any, *, wrap: TransportWrap | None = None, timeout: float = 60.0) -> HQClient:
    """An authenticated client for the HQ this laptop is enrolled with."""
    enr = require_enrolment(ws)
    ctx = pinned_context(enr.cert_pem) if enr.cert_pem else None
    return HQClient(enr.hq_url, token=enr.token, context=ctx, pinned_sha256=enr.cert_sha256 or None,
                    wrap=wrap, timeout=timeout)


def enroll(ws: Any, hq_url: str, code: str, *, ca_cert: str | None = None, label: str = "",
           wrap: TransportWrap | None = None) -> Enrolment:
    """Enrol this laptop with HQ using a one-time code from the HQ administrator.

    Generates the device's Ed25519 signing key and X25519 bundle key, registers their
    public halves, pins HQ's certificate and stores everything inside the encrypted
    database. The HQ-wide fingerprint key becomes this database's card fingerprint key
    (card entities whose full number is kept are re-keyed) so that cards match across
    laptops. Raises NetworkError when HQ is unreachable or refuses the code.
    """
    from workstation.sync.crypto import new_box_key, new_sign_key, public_box, public_sign

    url = check_url(hq_url)
    https = url.startswith("https://")
    if not ws.db.device_id:
        raise UsageError("this database has no device id; it cannot be enrolled")
    sign_key, box_key = new_sign_key(), new_box_key()
    body = {"code": code.strip(), "device_id": ws.db.device_id, "sign_pub": public_sign(sign_key),
            "box_pub": public_box(box_key), "label": label[:128]}
    ctx = enrolment_context(ca_cert) if https else None
    with HQClient(url, context=ctx, wrap=wrap) as client:
        answer = EnrolResponse.model_validate(client.request("POST", "/v1/enrol", body=body))
        der = client.peer_der
    if https and der is None:
        raise NetworkError("could not read HQ's certificate to pin it")
    cert_pem = ssl.DER_cert_to_PEM_cert(der) if der else ""
    enr = Enrolment(hq_url=url, cert_pem=cert_pem, cert_sha256=hashlib.sha256(der).hexdigest() if der else "",
                    token=answer.token, device_id=answer.device_id, sign_key=sign_key, box_key=box_key,
                    hq_box_pub=answer.hq_box_pub, hq_sign_pub=answer.hq_sign_pub, hq_id=answer.hq_id,
                    fp_key=answer.fingerprint_key, officer=answer.officer, agency=answer.agency,
                    agency_code=answer.agency_code, enrolled_at=clock.utcnow_iso())
    _store_enrolment(ws, enr)
    return enr


def _store_enrolment(ws: Any, enr: Enrolment) -> None:
    with ws.db.write() as conn:
        save_enrolment(ws, conn, enr)
        # Adopt HQ's fingerprint key: card keys then agree across every enrolled laptop.
        rekeyed = ws.adopt_fingerprint_key(conn, enr.fingerprint_key)
        ws.audit.append(conn, "sync.enrol", "hq", None, {
            "hq": enr.hq_url, "device_id": enr.device_id, "officer": enr.officer, "agency": enr.agency,
            "certificate_sha256": enr.cert_sha256, "cards_rekeyed": rekeyed})
    ws.use_fingerprint_key(enr.fingerprint_key)  # committed: this session matches with it too
