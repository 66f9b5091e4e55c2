"""The admin API (docs/INTERFACES.md, appha): applications, switches, mode, maintenance.

Like Patroni's REST API it records intent and lets the decision loop act: a switch that
can start answers 202 with the operation's status; one that cannot answers 412 with the
reason; an operation id reused for something else answers 409.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from drcommon.http import BodyLimits, Credentials, protect, require_token, token_admit
from drcommon.ids import OPERATION_ID_PATTERN
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from drappha.budget import Budget
from drappha.errors import OperationConflict, SwitchRefused, UnknownApp
from drappha.model import Acknowledge, Mode, SetMaintenance, SetMode, Site
from drappha.monitor import AppMonitor

ON_BEHALF = "Who the caller acts for: kept in the comment, never as the actor."


def said(comment: str, caller: str, claimed: str | None) -> str:
    """The comment, with whom the caller says it acts for (the actor is ``caller``)."""
    if claimed and claimed != caller:
        return f"{comment} (for {claimed})"
    return comment


class SwitchBody(BaseModel):
    """control's request to move traffic."""

    operation_id: str = Field(..., min_length=1, max_length=200, pattern=OPERATION_ID_PATTERN,
                              description="Starts with a letter or digit (never an option).")
    requested_by: str | None = Field(
        None, max_length=200, description="Who the caller acts for (informational: the "
        "actor recorded is the owner of the bearer token).")
    accept_split_brain: str | None = Field(
        None,
        max_length=1000,
        description="Who accepted a possible split brain and why (control's audited override); "
        "without it an insufficient fencing attestation fails the switch before traffic moves.",
    )
    compensates: str | None = Field(
        None,
        max_length=200,
        pattern=OPERATION_ID_PATTERN,
        description="The id of this app's last (succeeded) switch that this one undoes: "
        "control putting back an application its failed multi-application step had moved.",
    )


class ModeBody(BaseModel):
    """Change manual/auto."""

    mode: Literal["manual", "auto"]
    requested_by: str | None = Field(None, max_length=200, description=ON_BEHALF)
    comment: str = Field(..., min_length=1)


class MaintenanceBody(BaseModel):
    """Maintenance on or off."""

    enabled: bool
    requested_by: str | None = Field(None, max_length=200, description=ON_BEHALF)
    comment: str = Field(..., min_length=1)


class AcknowledgeBody(BaseModel):
    """Lift the block after a switch or a failed switch."""

    requested_by: str | None = Field(None, max_length=200, description=ON_BEHALF)
    comment: str = Field(..., min_length=1)


@dataclass(frozen=True, slots=True)
class ApiContext:
    """What the routes read."""

    monitors: dict[str, AppMonitor]
    budgets: dict[str, Budget]
    auto_allowed: dict[str, bool]


def _checks(monitor: AppMonitor) -> list[dict[str, Any]]:
    out = []
    for site in Site:
        for kind, view in zip(monitor.kinds(site), monitor.check_views(site), strict=True):
            out.append(
                {
                    "site": site.value,
                    "name": view.name,
                    "kind": kind,
                    "status": view.status.value,
                    "consecutive_failures": view.consecutive_failures,
                    "consecutive_successes": view.consecutive_successes,
                    "recent": [
                        {
                            "ok": r.ok,
                            "latency": round(r.latency, 4),
                            "detail": r.detail,
                            "at": r.started_wall,
                        }
                        for r in monitor.recent(site, view.name)
                    ],
                }
            )
    return out


def app_view(ctx: ApiContext, monitor: AppMonitor, *, recent: bool) -> dict[str, Any]:
    """An application's live state as the API shows it."""
    state = monitor.state
    views = monitor.site_views()
    checks = _checks(monitor)
    if not recent:
        for check in checks:
            check["recent"] = check["recent"][-1:]
    return {
        "name": monitor.name,
        "mode": state.mode.value,
        "state": state.phase.value,
        "active_site": state.active.value,
        "maintenance": state.maintenance,
        "blocked": state.blocked,
        "alert": state.alert,
        "operation_id": state.operation_id,
        "message": monitor.last_message,
        "sites": {
            site.value: {
                "status": views[site].status.value,
                "availability": monitor.availability(site),
            }
            for site in Site
        },
        "checks": checks,
        "attestation": monitor.attestation,
        "budget": ctx.budgets[monitor.name].as_dict(),
        "auto_allowed": ctx.auto_allowed[monitor.name],
        "at": time.time(),
    }


def _context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.appha
    return ctx


Ctx = Annotated[ApiContext, Depends(_context)]


def _monitor(name: str, ctx: Ctx) -> AppMonitor:
    monitor = ctx.monitors.get(name)
    if monitor is None:
        raise UnknownApp("no such application", app=name)
    return monitor


App = Annotated[AppMonitor, Depends(_monitor)]


def install(
    app: FastAPI, ctx: ApiContext, token: Credentials, limits: BodyLimits | None = None
) -> None:
    """Mount the ``/api/v1`` routes (all behind the service tokens) and error answers;
    a request without a token is refused before its body is read. The actor of every
    change is the caller the token belongs to (drcommon's per-caller credentials)."""
    protect(app, admit=token_admit(token), limits=limits)
    app.state.appha = ctx
    check = require_token(token)
    router = APIRouter(prefix="/api/v1", dependencies=[Depends(check)])
    _read_routes(router)
    _change_routes(router, Depends(check))
    app.include_router(router)
    _add_error_handlers(app)


def _read_routes(router: APIRouter) -> None:
    @router.get("/apps")
    async def list_apps(ctx: Ctx) -> list[dict[str, Any]]:
        return [app_view(ctx, m, recent=False) for m in ctx.monitors.values()]

    @router.get("/apps/{name}")
    async def get_app(monitor: App, ctx: Ctx) -> dict[str, Any]:
        return app_view(ctx, monitor, recent=True)

    @router.get("/apps/{name}/switches/{operation_id}")
    async def switch_status(monitor: App, operation_id: str) -> dict[str, Any]:
        record = monitor.operation(operation_id)
        if record is None:
            raise HTTPException(404, f"no operation {operation_id} for {monitor.name}")
        return record.as_dict()

    @router.get("/apps/{name}/events")
    async def events(monitor: App, limit: int = 50) -> list[dict[str, Any]]:
        return monitor.events(limit)

    @router.get("/apps/{name}/audit")
    async def audit(monitor: App, limit: int = 100) -> list[dict[str, Any]]:
        return monitor.audit(limit)

    @router.get("/budget")
    async def budget(ctx: Ctx) -> list[dict[str, object]]:
        return [b.as_dict() for b in ctx.budgets.values()]


def _change_routes(router: APIRouter, by_token: Any) -> None:
    # the caller (owner of the bearer token) is each change's actor
    @router.post("/apps/{name}/switch", status_code=status.HTTP_202_ACCEPTED)
    async def switch(monitor: App, body: SwitchBody, caller: str = by_token) -> dict[str, Any]:
        record = await monitor.request_switch(
            Site.STANDBY,
            body.operation_id,
            caller,
            body.accept_split_brain,
            body.compensates,
        )
        return record.as_dict()

    @router.post("/apps/{name}/switchback", status_code=status.HTTP_202_ACCEPTED)
    async def switchback(monitor: App, body: SwitchBody, caller: str = by_token) -> dict[str, Any]:
        record = await monitor.request_switch(
            Site.PRIMARY,
            body.operation_id,
            caller,
            body.accept_split_brain,
            body.compensates,
        )
        return record.as_dict()

    @router.post("/apps/{name}/mode")
    async def set_mode(monitor: App, ctx: Ctx, body: ModeBody,
                       caller: str = by_token) -> dict[str, Any]:
        intent = SetMode(
            Mode(body.mode), caller, said(body.comment, caller, body.requested_by),
            ctx.auto_allowed[monitor.name],
        )
        decision = await monitor.change(intent)
        return {"message": decision.message, **app_view(ctx, monitor, recent=False)}

    @router.post("/apps/{name}/maintenance")
    async def set_maintenance(monitor: App, ctx: Ctx, body: MaintenanceBody, caller: str = by_token
                              ) -> dict[str, Any]:
        decision = await monitor.change(
            SetMaintenance(body.enabled, caller, said(body.comment, caller, body.requested_by))
        )
        return {"message": decision.message, **app_view(ctx, monitor, recent=False)}

    @router.post("/apps/{name}/acknowledge")
    async def acknowledge(monitor: App, ctx: Ctx, body: AcknowledgeBody, caller: str = by_token
                          ) -> dict[str, Any]:
        decision = await monitor.change(
            Acknowledge(caller, said(body.comment, caller, body.requested_by)))
        return {"message": decision.message, **app_view(ctx, monitor, recent=False)}


def _add_error_handlers(app: FastAPI) -> None:
    """Map appha's errors to answers with ``{"detail": …}``."""

    def handler(code: int) -> Any:
        async def answer(_: Request, exc: Exception) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=code)

        return answer

    app.add_exception_handler(UnknownApp, handler(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(SwitchRefused, handler(status.HTTP_412_PRECONDITION_FAILED))
    app.add_exception_handler(OperationConflict, handler(status.HTTP_409_CONFLICT))
