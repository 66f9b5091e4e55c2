"""Dependencies shared by the routers: the context, the caller, headers, answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from drcontrol.auth.roles import Permission, require
from drcontrol.context import ControlContext
from drcontrol.idempotency import Answer, fingerprint
from drcontrol.model import Operation, Principal


def get_context(request: Request) -> ControlContext:
    ctx: ControlContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ControlContext, Depends(get_context)]


async def current_principal(request: Request, ctx: Ctx) -> Principal:
    """The authenticated caller; 401 (audited by the error handler) otherwise."""
    principal = await ctx.authenticator.authenticate(
        request.headers.get("authorization"),
        request.client.host if request.client else None)
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def allowed(permission: Permission) -> Any:
    """A route dependency: the caller's role must carry ``permission`` — checked before
    the body is validated, so a wrong role gets 403, not a 422 about its body."""

    async def check(who: CurrentUser) -> None:
        require(who, permission)

    return Depends(check)
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The site group's ETag.")]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200,
           description="Same key + same body → same answer; different body → 422."),
]


def op_public(op: Operation) -> dict[str, Any]:
    """An operation as the API shows it (the report has its own resource)."""
    body = op.model_dump(mode="json", exclude={"report"})
    body["has_report"] = op.report is not None
    body["links"] = {
        "self": f"/api/v1/operations/{op.id}",
        "execution": f"/api/v1/executions/{op.id}",
        "report": f"/api/v1/operations/{op.id}/report",
    }
    return body


async def answer(ctx: ControlContext, request: Request, who: Principal, key: str | None,
                 body: BaseModel | None, produce: Any) -> JSONResponse:
    """Run ``produce`` under the Idempotency-Key rules and render its answer."""
    payload = body.model_dump(mode="json") if body is not None else None
    print_ = fingerprint(request.method, request.url.path, payload)
    result: Answer = await ctx.idempotency.run(who.user, key, print_, produce)
    if result.status >= 400 and not result.replayed:
        await ctx.recorder.record(who.user, "request.refused",
                                  f"{request.method} {request.url.path}", outcome="refused",
                                  status=result.status, reason=result.body.get("detail"))
    headers = dict(result.headers)
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result.body, status_code=result.status, headers=headers)
