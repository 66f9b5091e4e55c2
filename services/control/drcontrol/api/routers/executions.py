"""Runbook executions and their steps; retry, skip (admin) or abort a failed run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from drcontrol.api.deps import Ctx, CurrentUser, IdempotencyKey, allowed, answer, op_public
from drcontrol.auth.roles import Permission, require
from drcontrol.idempotency import Answer
from drcontrol.model import OpState, StepRecord, StepState
from drcontrol.opstore import load
from drcontrol.requests import CommentRequest, SkipRequest, SplitBrainAcceptance

router = APIRouter(prefix="/executions", tags=["executions"])


def _offers(state: OpState, steps: list[StepRecord]) -> list[str]:
    if state is not OpState.STEP_FAILED:
        return []
    failed = [s for s in steps if s.state is StepState.FAILED]
    extra = ["accept-split-brain"] if failed and failed[0].kind == "apps_switch" and \
        "fencing attestation insufficient" in (failed[0].error or "") else []
    return ["retry", "skip", "abort", *extra]


@router.get("/{op_id}", summary="The run of an operation: its runbook and every step's state")
async def get_execution(op_id: str, ctx: Ctx, who: CurrentUser) -> dict[str, Any]:
    require(who, Permission.READ)
    op = await load(ctx.storage, op_id)
    steps = await ctx.storage.get_steps(op_id)
    book = ctx.runbooks[op.runbook]
    planned = [s.model_dump(mode="json") for s in book.steps_for(op.is_drill)]
    return {
        "operation_id": op.id, "state": op.state.value, "runbook": op.runbook,
        "drill": op.is_drill, "outcome": op.outcome, "started_at": op.started_at,
        "finished_at": op.finished_at, "planned": planned,
        "steps": [s.model_dump(mode="json") for s in steps],
        "offers": _offers(op.state, steps),
    }


@router.post("/{op_id}/retry", dependencies=[allowed(Permission.RETRY)],
             summary="Run the failed step again")
async def retry(op_id: str, body: CommentRequest, request: Request, ctx: Ctx, who: CurrentUser,
                key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        return Answer(200, op_public(await ctx.operations.retry(who, op_id, body.comment)))

    return await answer(ctx, request, who, key, body, produce)


@router.post("/{op_id}/accept-split-brain", dependencies=[allowed(Permission.APPROVE)],
             summary="Approver: let a traffic switch stopped on insufficient fencing go on")
async def accept_split_brain(op_id: str, body: SplitBrainAcceptance, request: Request, ctx: Ctx,
                             who: CurrentUser, key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        op = await ctx.operations.accept_split_brain(who, op_id, body.comment)
        return Answer(200, op_public(op))

    return await answer(ctx, request, who, key, body, produce)


@router.post("/{op_id}/skip", dependencies=[allowed(Permission.SKIP)],
             summary="Skip the failed step and continue (admin, audited)")
async def skip(op_id: str, body: SkipRequest, request: Request, ctx: Ctx, who: CurrentUser,
               key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        op = await ctx.operations.skip(who, op_id, body.step, body.comment)
        return Answer(200, op_public(op))

    return await answer(ctx, request, who, key, body, produce)


@router.post("/{op_id}/abort", dependencies=[allowed(Permission.ABORT)],
             summary="End a run stopped at a failed step")
async def abort(op_id: str, body: CommentRequest, request: Request, ctx: Ctx, who: CurrentUser,
                key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        op = await ctx.operations.abort(who, op_id, body.comment, ctx.engine.runner.finish)
        return Answer(200, op_public(op))

    return await answer(ctx, request, who, key, body, produce)
