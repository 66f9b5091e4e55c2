"""The admin API (``/api/v1``, service token) as docs/INTERFACES.md describes it.

Handlers record intent (the gate, a replay) and answer 202; the workers act. Errors
answer ``{"detail": "<what and why>"}``.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from drcommon.errors import DRError
from drcommon.http import (
    BodyLimits,
    Credentials,
    add_health_and_metrics,
    api_app,
    protect,
    require_token,
    token_admit,
)
from drcommon.ids import OPERATION_ID_PATTERN
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from drapply.adapters.registry import open_target
from drapply.callers import actor
from drapply.checks_api import checks_router
from drapply.parked import ParkedNotFound
from drapply.replay import ReplayRequest
from drapply.settings import PRIMARY

if TYPE_CHECKING:
    from drapply.service import ApplyService


# control's operation id (docs/INTERFACES.md): a repeated call with it is the same request.
OperationId = Annotated[
    str | None, Header(alias="X-DR-Operation-Id", max_length=200, pattern=OPERATION_ID_PATTERN)
]


class HoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scn: int = Field(..., ge=0, description="Apply everything with commit SCN <= scn, then hold.")


ON_BEHALF = ("Whom the caller acts for; recorded after the caller's own name (the "
             "owner of the bearer token), never instead of it.")


class ReplayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schemas: list[str] | None = None
    from_scn: int | None = Field(None, ge=0)
    from_time: datetime | None = None
    target: str = PRIMARY
    requested_by: str | None = Field(None, max_length=200, description=ON_BEHALF)
    to_scn: int | None = Field(None, ge=0, description="Other targets: stop after this SCN.")


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requested_by: str | None = Field(None, max_length=200, description=ON_BEHALF)
    comment: str = ""


def build_app(service: ApplyService, token: Credentials) -> FastAPI:
    """The FastAPI app: ``/health``, ``/metrics`` and the token-protected ``/api/v1``;
    the actor of a replay or a parked decision is the caller the token belongs to."""
    app = api_app("drapply", version="1")
    check = require_token(token)
    add_health_and_metrics(app, service.health, service.metrics.registry,
                           service.settings.http, check)
    protect(app, admit=token_admit(token), limits=BodyLimits.of(service.settings.http))
    caller = Depends(check)
    auth = [caller]
    app.include_router(_apply_router(service, caller), prefix="/api/v1", dependencies=auth)
    app.include_router(_parked_router(service, caller), prefix="/api/v1", dependencies=auth)
    app.include_router(checks_router(service.checks, caller), prefix="/api/v1",
                       dependencies=auth)
    return app


def _apply_router(service: ApplyService, caller_of_token: Any) -> APIRouter:
    """Status, hold/resume/stop and replay."""
    router = APIRouter()

    @router.get("/status")
    async def get_status() -> dict[str, Any]:
        return service.status()

    @router.post("/hold", status_code=status.HTTP_202_ACCEPTED)
    async def hold(body: HoldBody) -> dict[str, Any]:
        await service.hold(body.scn)
        return {"hold_at_scn": body.scn}

    @router.post("/resume", status_code=status.HTTP_202_ACCEPTED)
    async def resume() -> dict[str, Any]:
        await service.resume()
        return {"state": "running"}

    @router.post("/stop", status_code=status.HTTP_202_ACCEPTED)
    async def stop() -> dict[str, Any]:
        await service.stop_applying()
        return {"state": "stopped"}

    @router.post("/replay", status_code=status.HTTP_202_ACCEPTED)
    async def replay(body: ReplayBody, operation_id: OperationId = None,
                     caller: str = caller_of_token) -> dict[str, Any]:
        request = ReplayRequest(
            schemas=tuple(body.schemas) if body.schemas is not None else None,
            from_scn=body.from_scn,
            from_time=body.from_time,
            target=body.target,
            requested_by=actor(caller, body.requested_by),
            to_scn=body.to_scn,
        )
        try:
            replay_id = await service.replay(request, operation_id)
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        except DRError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return {"replay_id": replay_id}

    @router.get("/replays")
    async def replays() -> list[dict[str, Any]]:
        return await _audits(service)

    return router


def _parked_router(service: ApplyService, caller_of_token: Any) -> APIRouter:
    """Parked transactions: list, retry, discard."""
    router = APIRouter()

    @router.get("/parked")
    async def parked() -> list[dict[str, Any]]:
        rows = await _in_thread(service.parked.rows, "parked")
        return [
            {"schema": r.schema, "xid": r.xid, "commit_scn": r.commit_scn, "error": r.error,
             "parked_at": r.parked_at.isoformat(), "topic": r.topic,
             "first_offset": r.first_offset, "last_offset": r.last_offset}
            for r in rows
        ]  # fmt: skip

    @router.post("/parked/{xid}/retry")
    async def retry(xid: str, body: ResolveBody, caller: str = caller_of_token
                    ) -> dict[str, Any]:
        try:
            return await service.parked.retry(xid, actor(caller, body.requested_by),
                                              body.comment)
        except ParkedNotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        except DRError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None

    @router.post("/parked/{xid}/discard")
    async def discard(xid: str, body: ResolveBody, caller: str = caller_of_token
                      ) -> dict[str, Any]:
        try:
            return await service.parked.discard(xid, actor(caller, body.requested_by),
                                                body.comment)
        except ParkedNotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None

    return router


async def _in_thread(fn: Any, *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


async def _audits(service: ApplyService) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        session = open_target(service.settings.target).connect(admin=True)
        try:
            return [asdict(a) for a in session.audits()]
        finally:
            session.close()

    rows: list[dict[str, Any]] = await _in_thread(read)
    return rows
