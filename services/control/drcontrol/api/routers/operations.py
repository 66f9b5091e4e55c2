"""Operations: request (202 + Location), read, cancel, refresh evidence, report,
break-glass and its review."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from drcontrol.api.deps import Ctx, CurrentUser, IdempotencyKey, IfMatch, allowed, answer, op_public
from drcontrol.auth.roles import Permission, require
from drcontrol.engine.report import render_html
from drcontrol.errors import NotFound
from drcontrol.idempotency import Answer
from drcontrol.model import OpState, OpType
from drcontrol.opstore import load
from drcontrol.requests import BreakGlassRequest, CommentRequest, OperationRequest

router = APIRouter(prefix="/operations", tags=["operations"])
ACCEPTED: dict[int | str, dict[str, Any]] = {202: {"description": "Accepted; follow Location"}}


@router.post("", dependencies=[allowed(Permission.REQUEST)],
             status_code=202, responses=ACCEPTED,
             summary="Request an operation (pre-checks run, then it waits for confirmation)")
async def create_operation(body: OperationRequest, request: Request, ctx: Ctx,
                           who: CurrentUser, if_match: IfMatch = None,
                           key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        op = await ctx.operations.request(who, body, if_match)
        return Answer(202, op_public(op), {"Location": f"/api/v1/operations/{op.id}"})

    return await answer(ctx, request, who, key, body, produce)


@router.get("", summary="Operations, newest first")
async def list_operations(
    ctx: Ctx, who: CurrentUser,
    state: Annotated[list[OpState] | None, Query()] = None,
    type: Annotated[list[OpType] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    require(who, Permission.READ)
    ops = await ctx.storage.list_operations(
        states=frozenset(state) if state else None, types=frozenset(type) if type else None,
        limit=limit)
    return [op_public(op) for op in ops]


@router.get("/{op_id}", summary="One operation with its evidence and approvals")
async def get_operation(op_id: str, ctx: Ctx, who: CurrentUser) -> dict[str, Any]:
    require(who, Permission.READ)
    return op_public(await load(ctx.storage, op_id))


@router.post("/{op_id}/cancel", dependencies=[allowed(Permission.CANCEL)],
             summary="Withdraw a request that has not started")
async def cancel_operation(op_id: str, body: CommentRequest, request: Request, ctx: Ctx,
                           who: CurrentUser, key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        return Answer(200, op_public(await ctx.operations.cancel(who, op_id, body.comment)))

    return await answer(ctx, request, who, key, body, produce)


@router.post("/{op_id}/evidence", dependencies=[allowed(Permission.REFRESH_EVIDENCE)],
             status_code=202, responses=ACCEPTED,
             summary="Gather the evidence again (new digest)")
async def refresh_evidence(op_id: str, request: Request, ctx: Ctx, who: CurrentUser,
                           key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        op = await ctx.operations.refresh_evidence(who, op_id)
        return Answer(202, op_public(op), {"Location": f"/api/v1/operations/{op.id}"})

    return await answer(ctx, request, who, key, None, produce)


@router.get("/{op_id}/report", summary="RPO, RTO and step timings (JSON, or HTML to print)",
            response_model=None)
async def get_report(op_id: str, ctx: Ctx, who: CurrentUser, request: Request,
                     format: Literal["json", "html"] | None = None) -> Response:
    require(who, Permission.READ)
    op = await load(ctx.storage, op_id)
    if op.report is None:
        raise NotFound(f"{op_id} has no report yet ({op.state.value})", operation=op_id)
    wants_html = format == "html" or (
        format is None and "text/html" in request.headers.get("accept", ""))
    if wants_html:
        return HTMLResponse(render_html(op.report))
    return JSONResponse(op.report)


@router.post("/{op_id}/break-glass", dependencies=[allowed(Permission.BREAK_GLASS)],
             summary="Admin confirmation with a TOTP second factor")
async def break_glass(op_id: str, body: BreakGlassRequest, request: Request, ctx: Ctx,
                      who: CurrentUser, key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        return Answer(200, op_public(await ctx.approvals.break_glass(who, op_id, body)))

    return await answer(ctx, request, who, key, body, produce)


@router.post("/{op_id}/review", dependencies=[allowed(Permission.REVIEW)],
             summary="Clear the break-glass review flag with a comment")
async def review(op_id: str, body: CommentRequest, request: Request, ctx: Ctx,
                 who: CurrentUser, key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        return Answer(200, op_public(await ctx.approvals.review(who, op_id, body.comment)))

    return await answer(ctx, request, who, key, body, produce)
