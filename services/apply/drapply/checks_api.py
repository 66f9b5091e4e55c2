"""The admin API of load, compare, repair and verification (``/api/v1``, service token).

Handlers start a job in :class:`~drapply.checks.DataChecks` (one at a time) and answer
202 with it; ``GET /jobs`` shows its progress and result. 409 when another job runs or
the service's state does not allow it (a load needs ``POST /stop`` first), 404 for an
unknown comparison.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from drcommon.errors import DRError
from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from drapply.callers import actor
from drapply.checks import DataChecks, Job
from drapply.compare.repair import RepairRequest
from drapply.compare.runner import CompareRequest
from drapply.load.model import LoadRequest


class CompareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tables: list[str] = Field(default_factory=list, description="OWNER.TABLE patterns.")
    scn: int | None = Field(None, ge=0, description="Compare at this SCN (the DR copy held).")
    requested_by: str = Field(..., min_length=1)


class RepairBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str = Field(..., min_length=1, max_length=200)
    requested_by: str = Field(..., min_length=1)
    reason: str = Field("", max_length=2000)
    apply: bool = False
    tables: list[str] = Field(default_factory=list)


class LoadBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scn: int | None = Field(None, ge=0, description="The SCN to copy at; null: now.")
    requested_by: str = Field(..., min_length=1)
    truncate: bool = False
    restart: bool = False
    reason: str = Field("", max_length=2000)


async def _started(call: Awaitable[Job]) -> dict[str, Any]:
    """The job a call started, or 409 with why it could not start."""
    try:
        return (await call).document()
    except DRError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


def checks_router(checks: DataChecks, caller_of_token: Any) -> APIRouter:
    """Verification, compare, repair, load and the jobs they run in (``caller_of_token``:
    the dependency naming the credential's owner)."""
    router = APIRouter()
    _verification_routes(router, checks)
    _job_routes(router, checks, caller_of_token)
    return router


def _verification_routes(router: APIRouter, checks: DataChecks) -> None:
    @router.get("/verification")
    async def verification() -> dict[str, Any]:
        return {"schemas": checks.verification(),
                "measured_at": datetime.now(UTC).isoformat()}  # fmt: skip

    @router.post("/verification/run", status_code=status.HTTP_202_ACCEPTED)
    async def verify_now() -> dict[str, Any]:
        return await _started(checks.verify_now())

    @router.get("/jobs")
    async def jobs() -> list[dict[str, Any]]:
        return [job.document() for job in reversed(checks.jobs)]

    @router.get("/jobs/{job_id}")
    async def job(job_id: str) -> dict[str, Any]:
        found = checks.find(job_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}")
        return found.document()


def _job_routes(router: APIRouter, checks: DataChecks, caller_of_token: Any) -> None:
    """The actor of a job is the credential's owner (the body's ``requested_by`` is kept
    beside it), as for every mutating call (docs/INTERFACES.md)."""

    @router.post("/compare", status_code=status.HTTP_202_ACCEPTED)
    async def compare(body: CompareBody, caller: str = caller_of_token) -> dict[str, Any]:
        request = CompareRequest(tables=tuple(body.tables), at_scn=body.scn,
                                 requested_by=actor(caller, body.requested_by))
        return await _started(checks.compare(request))

    @router.get("/compare/{run_id}")
    async def report(run_id: str) -> dict[str, Any]:
        found = await checks.report(run_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no comparison {run_id}")
        return found.document()

    @router.post("/repair", status_code=status.HTTP_202_ACCEPTED)
    async def repair(body: RepairBody, caller: str = caller_of_token) -> dict[str, Any]:
        found = await checks.report(body.run_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no comparison {body.run_id}")
        if body.apply and not body.reason:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                "a repair that is applied needs a reason")  # fmt: skip
        request = RepairRequest(body.run_id, actor(caller, body.requested_by), body.reason,
                                body.apply, tuple(body.tables))  # fmt: skip
        return await _started(checks.repair(found, request))

    @router.post("/load", status_code=status.HTTP_202_ACCEPTED)
    async def load(body: LoadBody, caller: str = caller_of_token) -> dict[str, Any]:
        request = LoadRequest(scn=body.scn, truncate=body.truncate, restart=body.restart,
                              requested_by=actor(caller, body.requested_by),
                              reason=body.reason)  # fmt: skip
        return await _started(checks.load(request))
