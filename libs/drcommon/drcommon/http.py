"""The HTTP face every service shares: ``/health``, ``/metrics``, service-token auth,
request-body limits, error answers that never echo input, and an in-process uvicorn
server that runs inside the service's event loop."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from drcommon.config import HttpSettings
from drcommon.metrics import CONTENT_TYPE_LATEST, Metrics

log = logging.getLogger(__name__)


class HealthStatus(StrEnum):
    """``ok`` and ``degraded`` answer 200; ``failing`` answers 503."""

    OK = "ok"
    DEGRADED = "degraded"
    FAILING = "failing"


@dataclass(frozen=True, slots=True)
class Health:
    """A service's view of itself, rendered by ``/health``."""

    status: HealthStatus
    details: dict[str, Any] = field(default_factory=dict)


HealthProbe = Callable[[], Health | Awaitable[Health]]

_bearer = HTTPBearer(auto_error=False)


Credentials = str | Mapping[str, str] | None


def _callers(expected: Credentials) -> dict[str, bytes]:
    if expected is None:
        return {}
    if isinstance(expected, str):
        return {"service": expected.encode()}
    return {name: token.encode() for name, token in expected.items()}


def caller_of(header: str, callers: Mapping[str, bytes]) -> str | None:
    """The caller whose token ``header`` (``Bearer <token>``) carries, else None. Every
    token is compared, in constant time, whether or not an earlier one matched."""
    scheme, _, value = header.partition(" ")
    presented = value.strip().encode()
    found = None
    for name, token in callers.items():
        if hmac.compare_digest(presented, token) and scheme.lower() == "bearer":
            found = name
    return found


def require_token(expected: Credentials) -> Callable[..., Awaitable[str]]:
    """A dependency that accepts only ``Authorization: Bearer <token>`` with a configured
    token and returns the caller's name (the shared token's caller is ``service``): the
    actor to record, never a field the caller writes.

    With no token configured the admin API is closed, not open: every call gets 401.
    """
    callers = _callers(expected)

    async def check(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> str:
        name = None
        if credentials is not None:
            name = caller_of(f"Bearer {credentials.credentials}", callers)
        if name is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing or wrong service token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return name

    return check


@dataclass(frozen=True, slots=True)
class Refusal:
    """An admission refusal other than 401 (e.g. 429 with ``Retry-After``)."""

    status: int
    detail: str
    headers: Mapping[str, str] = field(default_factory=dict)


#: Decides from the request line and headers alone (the body is not read yet) whether the
#: caller may send a body: None admits, a string is why not (answered 401), a
#: :class:`Refusal` answers its own status.
Admit = Callable[[Scope], Awaitable[str | Refusal | None]]
BODY_STATE_KEY = "drcommon_body_limits"
MAX_DETAIL_CHARS = 600


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """How much body a request may carry and how long it may take to arrive."""

    max_bytes: int = 1 << 20
    timeout_seconds: float = 10.0
    max_in_flight: int = 32  # bodies being read at once (memory ≤ max_bytes × this)

    @classmethod
    def of(cls, http: HttpSettings) -> BodyLimits:
        """The limits configured in a service's ``[http]`` section."""
        return cls(max_bytes=http.max_body_bytes, timeout_seconds=http.body_timeout_seconds)


class _BodyRefused(Exception):
    def __init__(self, status_code: int, detail: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers or {})


async def _answer(send: Send, code: int, detail: str, extra: Mapping[str, str]) -> None:
    """A JSON refusal that closes the connection (the unread body is never parsed)."""
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class BodyLimitMiddleware:
    """Enforces :class:`BodyLimits` while the body is read, before any handler sees it.

    A request with a body must first pass ``admit`` (credentials, from the headers): an
    unauthenticated caller gets 401 without a byte of its body read. A declared length
    above the limit gets 413 at once; a body that grows past it while arriving gets 413
    when it does (at most ``max_bytes`` are ever held); one that is too slow gets 408.
    Every refusal closes the connection. The handler then reads the buffered body.
    """

    def __init__(self, app: ASGIApp, limits: BodyLimits | None = None,
                 admit: Admit | None = None) -> None:
        self.app = app
        self.limits = limits or BodyLimits()
        self.admit = admit
        self._in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if not chunked and declared in (None, "0"):
            await self.app(scope, receive, send)
            return
        try:
            body = await self._checked_body(scope, receive, declared)
        except _BodyRefused as refused:
            extra = {"www-authenticate": "Bearer"} if refused.status_code == 401 else {}
            await _answer(send, refused.status_code, refused.detail,
                          {**extra, **refused.headers})
            return
        if body is None:  # the client went away
            return
        await self.app(scope, _replay(body, receive), send)

    async def _checked_body(self, scope: Scope, receive: Receive,
                            declared: str | None) -> bytes | None:
        limits = self.limits
        if self.admit is not None:
            why = await self.admit(scope)
            if isinstance(why, Refusal):
                raise _BodyRefused(why.status, why.detail, why.headers)
            if why is not None:
                raise _BodyRefused(401, why)
        if declared is not None:
            if not declared.isdigit():
                raise _BodyRefused(400, "Content-Length is not a number")
            if int(declared) > limits.max_bytes:
                raise _BodyRefused(413, f"request body of {declared} bytes exceeds the limit "
                                        f"of {limits.max_bytes} bytes")
        if self._in_flight >= limits.max_in_flight:
            raise _BodyRefused(503, "too many request bodies arriving at once; retry shortly")
        self._in_flight += 1
        try:
            async with asyncio.timeout(limits.timeout_seconds):
                return await _read_body(receive, limits.max_bytes)
        except TimeoutError:
            raise _BodyRefused(408, f"request body did not arrive within "
                                    f"{limits.timeout_seconds:g} s") from None
        finally:
            self._in_flight -= 1


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyRefused(413, f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # later calls wait for the disconnect, as uvicorn's do
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def token_admit(expected: Credentials) -> Admit:
    """The admission rule of a service-token API (see :func:`require_token`)."""
    callers = _callers(expected)

    async def admit(scope: Scope) -> str | None:
        header = Headers(scope=scope).get("authorization", "")
        if caller_of(header, callers) is None:
            return "missing or wrong service token"
        return None

    return admit


def describe_invalid(errors: Iterable[Mapping[str, Any]]) -> str:
    """A validation failure in one line that names fields and rules, never the input."""
    parts = []
    for error in list(errors)[:5]:
        where = ".".join(str(part)[:64] for part in error.get("loc", ()))
        parts.append(f"{where}: {str(error.get('msg', 'invalid'))[:200]}")
    text = "invalid request: " + "; ".join(parts)
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": describe_invalid(exc.errors())}, status_code=422)


def protect(app: FastAPI, *, admit: Admit | None, limits: BodyLimits | None = None) -> None:
    """Body limits with an admission rule, and 422 answers as ``{"detail": "…"}`` that
    never echo the input. :class:`HttpServer` applies them around ``app``."""
    setattr(app.state, BODY_STATE_KEY, (limits or BodyLimits(), admit))
    app.add_exception_handler(RequestValidationError, _invalid)


SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` to every HTTP answer (refusals included): no page of
    ours may be framed, run scripts from elsewhere, be MIME-sniffed or leak its URL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self._headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def api_app(title: str, **options: Any) -> FastAPI:
    """A service's FastAPI app with no schema or docs routes of its own: they are added
    by :func:`add_health_and_metrics` as the ``[http] openapi`` setting says."""
    return FastAPI(title=title, openapi_url=None, docs_url=None, redoc_url=None, **options)


OPENAPI_PATH = "/api/v1/openapi.json"


def add_health_and_metrics(app: FastAPI, probe: HealthProbe, metrics: Metrics,
                           http: HttpSettings | None = None, guard: Any = None) -> None:
    """Mount ``/health`` (200 or 503 with details, for anyone: load balancers ask it),
    ``/metrics`` (Prometheus text) and the OpenAPI schema; ``guard`` is the dependency
    that authenticates a caller where ``http.metrics``/``http.openapi`` ask for it."""
    settings = http or HttpSettings()
    if guard is None and "authenticated" in (settings.metrics, settings.openapi):
        guard = require_token(None)  # nobody: closed, never open
    protected = [Depends(guard)] if guard is not None else []
    metrics_deps = protected if settings.metrics == "authenticated" else []
    if settings.openapi != "off":
        schema_deps = protected if settings.openapi == "authenticated" else []

        @app.get(OPENAPI_PATH, include_in_schema=False, dependencies=schema_deps)
        async def openapi() -> JSONResponse:
            return JSONResponse(app.openapi())

    @app.get("/health", tags=["ops"])
    async def health(response: Response) -> dict[str, Any]:
        result = probe()
        report = await result if asyncio.iscoroutine(result) else result
        assert isinstance(report, Health)
        if report.status is HealthStatus.FAILING:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": report.status.value, **report.details}

    @app.get("/metrics", tags=["ops"], dependencies=metrics_deps)
    async def metrics_endpoint(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


class HttpServer:
    """uvicorn serving ``app`` inside the current loop; ``port`` is known after start."""

    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        tls_cert: str | None = None,
        tls_key: str | None = None,
    ) -> None:
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        limits, admit = getattr(app.state, BODY_STATE_KEY, (BodyLimits(), None))
        config = uvicorn.Config(
            SecurityHeadersMiddleware(BodyLimitMiddleware(app, limits, admit)),
            log_config=None,
            access_log=False,
            lifespan="off",
            ssl_certfile=tls_cert,
            ssl_keyfile=tls_key,
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self._server.config.ssl_certfile else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]), name="http")
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        log.info("http listening", extra={"url": self.url})

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        try:
            async with asyncio.timeout(10):
                await asyncio.shield(self._task)
        except TimeoutError:
            self._task.cancel()
        self._sock.close()
