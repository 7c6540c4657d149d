"""Running HQ: uvicorn with TLS (1.2 or newer only), a development certificate maker,
and an in-process runner for tests and benchmarks.

Outside of tests HQ serves only over TLS: without a certificate it refuses to listen on
anything but the loopback interface.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.errors import UsageError


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """Server TLS context: TLS 1.2 minimum, the pair given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load the TLS certificate {cert} / key {key}: {exc}") from None
    return ctx


@dataclass(frozen=True)
class DevCert:
    cert: Path
    key: Path
    sha256: str


def make_dev_cert(out: str | Path, names: Sequence[str] = (), *, days: int = 825) -> DevCert:
    """A self-signed certificate and key for development and tests (``hq.crt``, ``hq.key``
    in ``out``), valid for localhost, 127.0.0.1, ::1 and ``names``. The key file is
    written readable by its owner only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Case Workstation HQ (development)")])
    alt: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                   x509.IPAddress(ipaddress.ip_address("::1"))]
    for n in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            alt.append(x509.DNSName(n))
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=False,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "hq.crt", folder / "hq.key"
    key_path.touch(mode=0o600, exist_ok=True)
    key_path.chmod(0o600)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return DevCert(cert_path, key_path, cert.fingerprint(hashes.SHA256()).hex())


def _config(app: Any, host: str, port: int, tls_cert: str | Path | None, tls_key: str | Path | None,
            log_level: str = "warning", grace: int = 5) -> Any:
    import uvicorn

    factory: Any = None
    if tls_cert:
        ctx = server_context(tls_cert, tls_key or tls_cert)

        def tls_factory(_config: Any, _default: Any) -> ssl.SSLContext:
            return ctx

        factory = tls_factory

    # HQ terminates TLS itself: the peer address is the client's. Trusting X-Forwarded-For
    # (uvicorn's default for loopback peers) would let a local process pick the address the
    # authentication-failure limiter counts against.
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                          ssl_context_factory=factory, timeout_keep_alive=30, server_header=False,
                          timeout_graceful_shutdown=grace, proxy_headers=False)


def build(db_url: str | None) -> tuple[Any, Any]:
    """(app, service) over the HQ database at ``db_url`` (migrated, keys ensured)."""
    from workstation.hq.app import create_app
    from workstation.hq.service import HQService
    from workstation.hq.store import open_store

    service = HQService(open_store(db_url))
    return create_app(service), service


def serve(host: str = "127.0.0.1", port: int = 8443, db_url: str | None = None,
          tls_cert: str | Path | None = None, tls_key: str | Path | None = None) -> None:
    """Run HQ in the foreground until interrupted."""
    import uvicorn

    if bool(tls_cert) != bool(tls_key):
        raise UsageError("give both --tls-cert and --tls-key, or neither")
    if not tls_cert and not _is_loopback(host):
        raise UsageError(f"refusing to serve on {host} without TLS; give --tls-cert and --tls-key "
                         "(make a development pair with `workstation hq dev-cert`)")
    app, service = build(db_url)
    try:
        uvicorn.Server(_config(app, host, port, tls_cert, tls_key, "info")).run()
    finally:
        service.store.dispose()


class RunningHQ:
    """HQ served from a background thread of this process (tests, benchmarks).

    ``start()`` binds 127.0.0.1 on a free port (or the given one, so a restart keeps its
    address) and returns when HQ answers; ``stop()`` shuts it down and closes its database.
    """

    def __init__(self, db_url: str, *, tls_dir: str | Path | None = None, port: int = 0,
                 limiter: Any = None) -> None:
        self.db_url = db_url
        self.port = port
        self.cert: DevCert | None = make_dev_cert(tls_dir) if tls_dir else None
        self.limiter = limiter
        self.app: Any = None
        self.service: Any = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.cert else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> RunningHQ:
        import uvicorn

        from workstation.hq.app import create_app
        from workstation.hq.service import HQService
        from workstation.hq.store import open_store

        self.service = HQService(open_store(self.db_url))
        self.app = create_app(self.service, limiter=self.limiter)
        self.limiter = self.app.state.limiter
        # IPPROTO_TCP given explicitly: asyncio turns Nagle off (TCP_NODELAY) only on accepted
        # sockets whose protocol says TCP, and a plain socket() says 0 — every answer would
        # then wait ~40 ms for the client's delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = _config(self.app, "127.0.0.1", self.port, self.cert.cert if self.cert else None,
                         self.cert.key if self.cert else None, grace=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"hq-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("HQ did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=20)
        if self.service is not None:
            self.service.store.dispose()
        self._server = self._thread = None

    def __enter__(self) -> RunningHQ:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
