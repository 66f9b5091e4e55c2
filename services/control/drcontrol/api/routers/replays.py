"""Replays: ask apply to re-apply from a position (operator; audited)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from drcontrol.api.deps import Ctx, CurrentUser, IdempotencyKey, allowed, answer
from drcontrol.auth.roles import Permission, require
from drcontrol.errors import PeerError
from drcontrol.idempotency import Answer
from drcontrol.requests import ReplayRequest

router = APIRouter(tags=["replays"])


@router.post("/replays", dependencies=[allowed(Permission.REPLAY)],
             status_code=202, summary="Replay through apply")
async def replay(body: ReplayRequest, request: Request, ctx: Ctx, who: CurrentUser,
                 key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        require(who, Permission.REPLAY)
        if ctx.peers.apply is None:
            raise PeerError("apply is not configured")
        request_id = f"replay-{uuid.uuid4().hex[:12]}"
        payload = {"schemas": body.schemas, "from_scn": body.from_scn,
                   "from_time": body.from_time, "target": body.target, "requested_by": who.user}
        result = await ctx.peers.apply.replay(payload, request_id)
        await ctx.recorder.record(who.user, "replay.requested", request_id,
                                  reason=body.reason, request=payload,
                                  replay_id=result.get("replay_id"))
        return Answer(202, {"request_id": request_id, **result})

    return await answer(ctx, request, who, key, body, produce)
