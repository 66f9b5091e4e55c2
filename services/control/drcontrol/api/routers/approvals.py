"""Approvals: pending requests, confirm (bound to the evidence digest), reject."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from drcontrol.api.deps import Ctx, CurrentUser, IdempotencyKey, IfMatch, allowed, answer, op_public
from drcontrol.auth.roles import Permission, require
from drcontrol.idempotency import Answer
from drcontrol.model import WAITING_STATES
from drcontrol.requests import ApprovalRequest, CommentRequest

router = APIRouter(tags=["approvals"])


@router.get("/approvals", summary="Operations waiting for confirmation")
async def pending(ctx: Ctx, who: CurrentUser) -> list[dict[str, Any]]:
    require(who, Permission.READ)
    ops = await ctx.storage.list_operations(states=WAITING_STATES)
    result = []
    for op in ops:
        policy = ctx.settings.approvals.policy(op.type)
        body = op_public(op)
        body["policy"] = policy.model_dump(mode="json")
        body["approvals_counted"] = sum(
            1 for a in op.approvals if a.evidence_digest == op.evidence_digest)
        result.append(body)
    return result


@router.post("/operations/{op_id}/approvals", dependencies=[allowed(Permission.APPROVE)],
             summary="Confirm the evidence with this digest, accepting at most this loss")
async def approve(op_id: str, body: ApprovalRequest, request: Request, ctx: Ctx,
                  who: CurrentUser, if_match: IfMatch = None,
                  key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        op = await ctx.approvals.approve(who, op_id, body, if_match)
        return Answer(200, op_public(op), {"Location": f"/api/v1/operations/{op.id}"})

    return await answer(ctx, request, who, key, body, produce)


@router.post("/operations/{op_id}/rejections", dependencies=[allowed(Permission.APPROVE)],
             summary="Say no (with a comment)")
async def reject(op_id: str, body: CommentRequest, request: Request, ctx: Ctx,
                 who: CurrentUser, key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        return Answer(200, op_public(await ctx.approvals.reject(who, op_id, body.comment)))

    return await answer(ctx, request, who, key, body, produce)
