"""Automation controls: the global freeze, anti-flapping blocks, and appha's permit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from drcontrol.api.deps import Ctx, CurrentUser, IdempotencyKey, IfMatch, allowed, answer
from drcontrol.auth.roles import Permission, require
from drcontrol.decisions import Allow, Refuse, decide_automation
from drcontrol.errors import Stale
from drcontrol.idempotency import Answer
from drcontrol.requests import CommentRequest
from drcontrol.sitegroup import SiteGroupView

router = APIRouter(tags=["automation"])


def _view(view: SiteGroupView) -> dict[str, Any]:
    return {"etag": view.etag, "frozen": view.state.freeze is not None,
            "freeze": view.state.freeze.model_dump(mode="json") if view.state.freeze else None,
            "blocks": {k: v.model_dump(mode="json") for k, v in view.state.blocks.items()}}


@router.get("/freeze", summary="Is automation frozen, by whom and why")
async def get_freeze(ctx: Ctx, who: CurrentUser) -> dict[str, Any]:
    require(who, Permission.READ)
    return _view(await ctx.site_group.read())


@router.post("/freeze", dependencies=[allowed(Permission.FREEZE)],
             summary="Stop every automatic action (If-Match required)")
async def freeze(body: CommentRequest, request: Request, ctx: Ctx, who: CurrentUser,
                 if_match: IfMatch = None, key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        view = await ctx.governance.freeze(who, body.comment, if_match)
        return Answer(200, _view(view), {"ETag": view.etag})

    return await answer(ctx, request, who, key, body, produce)


@router.post("/freeze/lift", dependencies=[allowed(Permission.UNFREEZE)],
             summary="Allow automatic actions again (If-Match required)")
async def unfreeze(body: CommentRequest, request: Request, ctx: Ctx, who: CurrentUser,
                   if_match: IfMatch = None, key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        view = await ctx.governance.unfreeze(who, body.comment, if_match)
        return Answer(200, _view(view), {"ETag": view.etag})

    return await answer(ctx, request, who, key, body, produce)


@router.get("/blocks", summary="Anti-flapping blocks")
async def blocks(ctx: Ctx, who: CurrentUser) -> dict[str, Any]:
    require(who, Permission.READ)
    return _view(await ctx.site_group.read())["blocks"]  # type: ignore[no-any-return]


@router.post("/blocks/{app}/acknowledge", dependencies=[allowed(Permission.ACK_BLOCK)],
             summary="Lift an anti-flapping block with a comment (If-Match required)")
async def acknowledge(app: str, body: CommentRequest, request: Request, ctx: Ctx,
                      who: CurrentUser, if_match: IfMatch = None,
                      key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        view = await ctx.governance.acknowledge_block(who, app, body.comment, if_match)
        return Answer(200, _view(view), {"ETag": view.etag})

    return await answer(ctx, request, who, key, body, produce)


@router.get("/automation/permit", summary="May appha switch this app automatically now?")
async def permit(app: str, ctx: Ctx, who: CurrentUser) -> dict[str, Any]:
    require(who, Permission.READ)
    view = await ctx.site_group.read()
    verdict = decide_automation(view.state, app, ctx.settings.automation, ctx.clock())
    if isinstance(verdict, Refuse):
        raise verdict.error
    if not isinstance(verdict, Allow):
        raise Stale(f"{verdict.reason}; the next automatic switch would be blocked", app=app)
    return {"allowed": True, "reason": verdict.action,
            "approvals_required": ctx.settings.approvals.app_failover.required_approvals}
