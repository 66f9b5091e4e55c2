"""The FastAPI application: routers under ``/api/v1``, health endpoints, the console,
and one error handler that answers ``{"detail"}`` and audits every refusal."""

from __future__ import annotations

import logging
import math
from importlib import resources
from pathlib import Path

from drcommon.errors import DRError
from drcommon.http import (
    Admit,
    BodyLimits,
    Health,
    HealthStatus,
    Refusal,
    add_health_and_metrics,
    api_app,
    describe_invalid,
    protect,
)
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from drcontrol.api.deps import current_principal
from drcontrol.api.routers import (
    approvals,
    audit,
    automation,
    budget,
    events,
    executions,
    healthz,
    operations,
    replays,
    sites,
    status,
    users,
)
from drcontrol.context import ControlContext
from drcontrol.errors import (
    ControlError,
    IdempotencyMismatch,
    TooManyAttempts,
    Unauthenticated,
)

log = logging.getLogger(__name__)
REFUSALS = frozenset({401, 403, 409, 410, 412, 422, 428})
API_VERSION = "1"


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def retry_after(seconds: float) -> dict[str, str]:
    """The ``Retry-After`` header of a 429 (whole seconds, at least 1)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


async def _refused(ctx: ControlContext, request: Request, exc: ControlError) -> None:
    if getattr(exc, "quiet", False) or isinstance(exc, TooManyAttempts):
        return  # counted by the throttle and summarised in its lockout row
    principal = getattr(request.state, "principal", None)
    actor = principal.user if principal else "anonymous"
    action = "auth.failed" if exc.status == 401 else "request.refused"
    client = _client(request)
    try:
        await ctx.recorder.record(actor, action, f"{request.method} {request.url.path}",
                                  outcome="refused", status=exc.status, reason=exc.message,
                                  client=client, **{k: str(v) for k, v in exc.where.items()})
    except DRError as audit_exc:
        log.error("could not audit a refusal: %s", audit_exc)


def _install_errors(app: FastAPI, ctx: ControlContext) -> None:
    @app.exception_handler(ControlError)
    async def control_error(request: Request, exc: ControlError) -> JSONResponse:
        if exc.status in REFUSALS:
            await _refused(ctx, request, exc)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if isinstance(exc, TooManyAttempts):
            headers = retry_after(exc.retry_after)
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        refusal = IdempotencyMismatch(describe_invalid(exc.errors()))  # a 422 like it
        await _refused(ctx, request, refusal)
        return JSONResponse({"detail": refusal.message}, status_code=422)

    @app.exception_handler(DRError)
    async def dr_error(request: Request, exc: DRError) -> JSONResponse:
        log.error("request failed: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=503 if exc.retriable else 500)


def _admit(ctx: ControlContext) -> Admit:
    """Who may send a body: a valid token, checked before a byte of the body is read."""

    async def admit(scope: Scope) -> str | Refusal | None:
        request = Request(scope)
        try:
            await ctx.authenticator.authenticate(
                request.headers.get("authorization"), _client(request))
        except TooManyAttempts as exc:
            return Refusal(429, exc.message, retry_after(exc.retry_after))
        except Unauthenticated as exc:
            await _refused(ctx, request, exc)
            return exc.message
        return None

    return admit


def _health(ctx: ControlContext) -> object:
    async def probe() -> Health:
        try:
            head = await ctx.storage.audit_head()
        except DRError as exc:
            return Health(HealthStatus.FAILING, {"storage": str(exc)})
        snap = ctx.watcher.latest
        down = [name for name in ("capture", "apply", "appha")
                if getattr(snap, name) is not None and not getattr(snap, name).ok]
        audit = ctx.audit_watch.health
        details = {"audit_seq": head.seq if head else 0, "peers_down": down,
                   "engine_running": ctx.engine.busy_with, "audit": audit.as_dict()}
        degraded = bool(down) or not audit.healthy
        return Health(HealthStatus.DEGRADED if degraded else HealthStatus.OK, details)

    return probe


def console_directory() -> Path:
    """The console's static files inside the package."""
    return Path(str(resources.files("drcontrol.console").joinpath("static")))


def build_app(ctx: ControlContext) -> FastAPI:
    """The whole HTTP face of control."""
    app = api_app(
        "drcontrol",
        summary="Oracle DR control: sites, operations, approvals, runbooks, audit",
        version=API_VERSION,
    )
    app.state.ctx = ctx
    protect(app, admit=_admit(ctx), limits=BodyLimits.of(ctx.settings.http))
    api = APIRouter(prefix="/api/v1")
    for module in (sites, operations, approvals, executions, audit, events, automation, budget,
                   replays, users, status):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(healthz.router)
    _install_errors(app, ctx)
    add_health_and_metrics(app, _health(ctx), ctx.metrics,  # type: ignore[arg-type]
                           ctx.settings.http, current_principal)
    app.mount("/console", StaticFiles(directory=console_directory(), html=True), name="console")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(console_directory() / "favicon.svg", media_type="image/svg+xml")

    return app
