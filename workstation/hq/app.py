"""HQ's web API (FastAPI). The OpenAPI document is served at ``/openapi.json``.

Every endpoint but ``/v1/health`` and ``/v1/enrol`` needs ``Authorization: Bearer
<device token>``; the token is checked against HQ's database on every request, so a
revoked device is refused on its very next request. Failed authentication is rate-limited
per address and per device (exponential back-off answered with 429 and ``Retry-After``)
and audited. Every request is audited (device, officer, agency, endpoint, cases, status).

Requests: JSON, optionally gzip-encoded; at most ``MAX_BODY_BYTES`` on the wire and
``MAX_INFLATED_BYTES`` decoded; unknown fields are refused (422) and nothing is applied.
A case the caller may not see answers exactly like a missing one: 404 ``case not found``.
"""

# (No `from __future__ import annotations` here: FastAPI reads the endpoint annotations,
# some of which are local to create_app.)

import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Path, Query, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workstation.hq.service import CaseNotFound, DeviceContext, EnrolmentRefused, HQService
from workstation.sync.protocol import (
    MAX_BODY_BYTES,
    MAX_INFLATED_BYTES,
    PROTOCOL_VERSION,
    UID_PATTERN,
    CaseSummary,
    DeconflictRequest,
    DeconflictResponse,
    EnrolRequest,
    EnrolResponse,
    Identity,
    ProtocolError,
    PullResponse,
    PushRequest,
    PushResponse,
)

NOT_FOUND = {"detail": "case not found"}
#: HQ's change sequence is a 64-bit integer: a cursor beyond it is refused (422), not sent to SQL.
MAX_SEQ = 2**63 - 1


# ---------------------------------------------------------------------- documented answers
class Message(BaseModel):
    """A refusal, in words."""

    model_config = ConfigDict(extra="forbid")
    detail: str


class FieldProblem(BaseModel):
    """Where a request is malformed and how (the submitted value is never echoed)."""

    model_config = ConfigDict(extra="forbid")
    loc: list[str | int]
    msg: str
    type: str


class Invalid(BaseModel):
    """A malformed request: field problems, or a sentence for a record that breaks the protocol."""

    model_config = ConfigDict(extra="forbid")
    detail: str | list[FieldProblem]


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ok: bool
    protocol: int


def _msg(description: str, **extra: Any) -> dict[str, Any]:
    return {"model": Message, "description": description, **extra}


RATE_LIMITED = _msg("too many failed attempts from this address (or with this revoked device): wait "
                    "`Retry-After` seconds", headers={"Retry-After": {
                        "description": "seconds to wait", "schema": {"type": "string", "pattern": "^[0-9]+$"}}})
#: Answers every authenticated endpoint may give besides its own.
AUTH_ANSWERS: dict[int | str, dict[str, Any]] = {
    401: _msg("missing, unknown or revoked device token", headers={"WWW-Authenticate": {
        "description": "`Bearer`", "schema": {"type": "string"}}}),
    429: RATE_LIMITED,
}
#: Answers of endpoints that take a JSON body (optionally gzip-encoded).
BODY_ANSWERS: dict[int | str, dict[str, Any]] = {
    400: _msg("the body cannot be read: not decodable, or an unsupported or damaged Content-Encoding"),
    413: _msg(f"the body is over {MAX_BODY_BYTES} bytes, or over {MAX_INFLATED_BYTES} once decompressed"),
    422: {"model": Invalid, "description": "malformed request; nothing was applied"},
}
QUERY_ANSWERS: dict[int | str, dict[str, Any]] = {
    422: {"model": Invalid, "description": "malformed path or query parameter"},
}
CASE_ANSWERS: dict[int | str, dict[str, Any]] = {
    404: _msg("no such case, or one this device may not see (the two are never told apart)"),
}


class BodyTooLarge(Exception):
    pass


class BadEncoding(Exception):
    pass


# ---------------------------------------------------------------------- limits
class BodyLimit:
    """ASGI middleware: refuse bodies over ``limit`` bytes (declared or streamed) with 413."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await JSONResponse({"detail": f"request body larger than {self.limit} bytes"}, 413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge()
            return msg

        try:
            await self.app(scope, limited, send)
        except BodyTooLarge:
            await JSONResponse({"detail": f"request body larger than {self.limit} bytes"}, 413)(scope, receive, send)


def _inflate(raw: bytes, encoding: str) -> bytes:
    """The request body, gzip-decoded when so declared, never larger than allowed."""
    enc = encoding.lower().strip()
    if enc in ("", "identity"):
        return raw
    if enc != "gzip":
        raise BadEncoding(f"unsupported Content-Encoding {enc!r} (use gzip)")
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(raw, MAX_INFLATED_BYTES)
    except zlib.error:
        raise BadEncoding("the gzip request body is damaged") from None
    if d.unconsumed_tail:
        raise BodyTooLarge()
    return out


class InflatingRoute(APIRoute):
    """Routes whose JSON body may arrive gzip-encoded (bounded when inflated). The body is
    read and decoded here, before FastAPI parses it, so that limits answer 413/400."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH"):
                try:
                    raw = await request.body()
                    request._body = _inflate(raw, request.headers.get("content-encoding", ""))
                except BodyTooLarge:
                    request.state.outcome = "too large"
                    return JSONResponse({"detail": f"request body larger than {MAX_INFLATED_BYTES} bytes "
                                                   "once decompressed"}, 413)
                except BadEncoding as exc:
                    request.state.outcome = "invalid"
                    return JSONResponse({"detail": str(exc)}, 400)
                except ClientDisconnect:
                    # The laptop went away mid-upload (killed, cut off): nobody to answer, but
                    # the request is still audited, and it is not a server error.
                    request.state.outcome = "client gone"
                    return Response(status_code=400)
            return await handler(request)

        return route


# ---------------------------------------------------------------------- rate limiting
class AuthLimiter:
    """Exponential back-off after repeated failed authentications, per key (an address
    or a device). ``threshold`` failures are free; then each further failure doubles the
    wait, up to ``max_delay`` seconds. A success clears the key."""

    def __init__(self, threshold: int = 5, base_delay: float = 1.0, max_delay: float = 900.0,
                 forget_after: float = 3600.0) -> None:
        self.threshold = threshold
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self._lock = threading.Lock()
        self._state: dict[str, list[float]] = {}  # key -> [failures, last failure, blocked until]

    def retry_after(self, *keys: str | None) -> float:
        now = time.monotonic()
        with self._lock:
            waits = [st[2] - now for k in keys if k and (st := self._state.get(k))]
        return max([w for w in waits if w > 0], default=0.0)

    def failure(self, *keys: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                if not k:
                    continue
                st = self._state.get(k)
                if st is None or now - st[1] > self.forget_after:
                    st = [0.0, now, 0.0]
                st[0] += 1
                st[1] = now
                if st[0] >= self.threshold:
                    st[2] = now + min(self.base_delay * 2 ** (st[0] - self.threshold), self.max_delay)
                self._state[k] = st

    def success(self, key: str | None) -> None:
        if key:
            with self._lock:
                self._state.pop(key, None)

    def reset(self) -> None:
        with self._lock:
            self._state.clear()


class Refused(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def _ip(request: Request) -> str:
    return request.client.host if request.client else "?"


# ---------------------------------------------------------------------- the app
def create_app(service: HQService, *, limiter: AuthLimiter | None = None) -> FastAPI:
    """The HQ API over ``service``. ``app.state.limiter`` is the rate limiter."""
    app = FastAPI(title="Case Workstation HQ", version=str(PROTOCOL_VERSION),
                  description="Headquarters sync service for Case Workstation laptops.",
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.router.route_class = InflatingRoute
    app.state.limiter = limiter or AuthLimiter()
    app.state.service = service

    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)

    # Added last, so outermost: even a refused oversized body is audited.
    @app.middleware("http")
    async def audit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        path = request.url.path
        if path.startswith("/v1/") and path != "/v1/health" and not getattr(request.state, "audited", False):
            ctx: DeviceContext | None = getattr(request.state, "ctx", None)
            cases = getattr(request.state, "cases", None)
            outcome = getattr(request.state, "outcome", None) or ("ok" if response.status_code < 400 else "refused")
            detail = getattr(request.state, "detail", None)
            await anyio.to_thread.run_sync(lambda: service.audit_request(
                ctx, request.method, path, cases, response.status_code, outcome, ip=_ip(request),
                device_id=getattr(request.state, "device_hint", None), detail=detail))
        return response


    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status, headers=exc.headers)

    @app.exception_handler(CaseNotFound)
    async def _not_found(request: Request, exc: CaseNotFound) -> JSONResponse:
        request.state.outcome = "not found"
        return JSONResponse(NOT_FOUND, 404)

    @app.exception_handler(ProtocolError)
    async def _protocol(request: Request, exc: ProtocolError) -> JSONResponse:
        request.state.outcome = "invalid"
        return JSONResponse({"detail": str(exc)}, 422)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Say where and what, but never echo the submitted values back.
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()[:20]]
        request.state.outcome = "invalid"
        return JSONResponse({"detail": errors}, 422)

    bearer = HTTPBearer(auto_error=False, scheme_name="deviceToken",
                        description="The device token received at enrolment.")

    # ``_credentials`` only declares the scheme in the OpenAPI document; the header is read below.
    def device(request: Request,
               _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> DeviceContext:
        ip = _ip(request)
        lim: AuthLimiter = app.state.limiter
        wait = lim.retry_after(ip)
        if wait > 0:
            request.state.outcome = "rate limited"
            raise Refused(429, "too many failed attempts; try again later", {"Retry-After": str(int(wait) + 1)})
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        ctx, revoked_device = (None, None)
        if scheme.lower() == "bearer" and 20 <= len(token.strip()) <= 200:
            ctx, revoked_device = service.authenticate(token.strip())
        if ctx is None:
            if revoked_device and lim.retry_after(revoked_device) > 0:
                request.state.outcome = "rate limited"
                request.state.device_hint = revoked_device
                raise Refused(429, "too many failed attempts; try again later",
                              {"Retry-After": str(int(lim.retry_after(revoked_device)) + 1)})
            lim.failure(ip, revoked_device)
            request.state.outcome = "auth failed"
            request.state.device_hint = revoked_device
            request.state.detail = "revoked device" if revoked_device else "unknown or missing token"
            raise Refused(401, "invalid or revoked credentials", {"WWW-Authenticate": "Bearer"})
        lim.success(ip)
        request.state.ctx = ctx
        return ctx

    Device = Annotated[DeviceContext, Depends(device)]
    CaseUid = Annotated[str, Path(pattern=UID_PATTERN)]

    @app.get("/v1/health", response_model=Health, tags=["meta"])
    def health() -> Health:
        """Liveness: no authentication, no data."""
        return Health(ok=True, protocol=PROTOCOL_VERSION)

    @app.post("/v1/enrol", response_model=EnrolResponse, tags=["identity"], responses={
        **BODY_ANSWERS, 403: _msg("the enrolment code is wrong, used or expired, or the device is already enrolled"),
        429: RATE_LIMITED})
    def enrol(body: EnrolRequest, request: Request) -> EnrolResponse:
        """Redeem a one-time enrolment code: register this device's public keys and
        receive its token, HQ's public keys and the HQ-wide fingerprint key."""
        ip = _ip(request)
        lim: AuthLimiter = app.state.limiter
        wait = lim.retry_after(ip)
        if wait > 0:
            request.state.outcome = "rate limited"
            raise Refused(429, "too many failed attempts; try again later", {"Retry-After": str(int(wait) + 1)})
        try:
            ctx, token = service.enrol(body.code, body.device_id, body.sign_pub, body.box_pub, body.label)
        except EnrolmentRefused as exc:
            lim.failure(ip)
            request.state.outcome = "enrol refused"
            request.state.device_hint = body.device_id
            raise Refused(403, str(exc)) from None
        lim.success(ip)
        request.state.ctx = ctx
        request.state.outcome = "enrolled"
        st = service.store
        return EnrolResponse(device_id=ctx.device_id, token=token, officer=ctx.officer, agency=ctx.agency,
                             agency_code=ctx.agency_code, hq_id=st.hq_id, hq_box_pub=st.box_pub,
                             hq_sign_pub=st.sign_pub, fingerprint_key=st.fp_key)

    @app.get("/v1/me", response_model=Identity, tags=["identity"], responses=AUTH_ANSWERS)
    def me(ctx: Device) -> Identity:
        """Who this token belongs to."""
        return Identity(device_id=ctx.device_id, officer=ctx.officer, agency=ctx.agency,
                        agency_code=ctx.agency_code, hq_id=service.store.hq_id)

    @app.post("/v1/push", response_model=PushResponse, tags=["sync"],
              responses={**AUTH_ANSWERS, **BODY_ANSWERS, **CASE_ANSWERS}, openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PushRequest"}}}}})
    async def push(request: Request, ctx: Device) -> PushResponse:
        """Merge a batch of changed records (all or nothing). The body is a PushRequest."""
        # Parsed by pydantic straight from the bytes (faster than decode-then-validate).
        try:
            body = PushRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors()]) from None
        request.state.cases = sorted({r.case for r in body.records})
        request.state.detail = f"records={len(body.records)}"
        result = await anyio.to_thread.run_sync(lambda: service.push(
            ctx, body.records, audit=(request.method, request.url.path, _ip(request))))
        request.state.audited = True
        return result

    @app.get("/v1/changes", response_model=PullResponse, tags=["sync"], responses={**AUTH_ANSWERS, **QUERY_ANSWERS})
    def changes(ctx: Device, since: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
                limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> Response:
        """Records visible to this device changed after ``since`` (HQ's change sequence)."""
        return Response(service.pull_json(ctx, since, limit), media_type="application/json")

    @app.get("/v1/cases", response_model=list[CaseSummary], tags=["cases"], responses=AUTH_ANSWERS)
    def cases(ctx: Device) -> list[CaseSummary]:
        """The cases this device may see."""
        return service.cases(ctx)

    @app.get("/v1/cases/{case_uid}", response_model=CaseSummary, tags=["cases"],
             responses={**AUTH_ANSWERS, **QUERY_ANSWERS, **CASE_ANSWERS})
    def case(case_uid: CaseUid, ctx: Device, request: Request) -> CaseSummary:
        """What HQ holds of one case."""
        request.state.cases = [case_uid]
        return service.case(ctx, case_uid)

    @app.get("/v1/cases/{case_uid}/changes", response_model=PullResponse, tags=["cases"],
             responses={**AUTH_ANSWERS, **QUERY_ANSWERS, **CASE_ANSWERS})
    def case_changes(case_uid: CaseUid, ctx: Device, request: Request,
                     since: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
                     limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> Response:
        """Changes of one case after ``since``."""
        request.state.cases = [case_uid]
        return Response(service.pull_json(ctx, since, limit, case_uid=case_uid), media_type="application/json")

    @app.post("/v1/deconflict", response_model=DeconflictResponse, tags=["cases"],
              responses={**AUTH_ANSWERS, **BODY_ANSWERS, **CASE_ANSWERS})
    def deconflict(body: DeconflictRequest, ctx: Device, request: Request) -> DeconflictResponse:
        """Which other cases hold these keyed fingerprints: owning unit and contact only."""
        if body.case:
            request.state.cases = [body.case]
        request.state.detail = f"items={len(body.items)}"
        result = service.deconflict(ctx, body)
        request.state.detail += f" matches={len(result.matches)}"
        return result

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            push_schema = PushRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in push_schema.pop("$defs", {}).items():
                schemas.setdefault(name, sub)
            schemas["PushRequest"] = push_schema
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
