"""Server-sent events: audit records, operation and step changes, status polls, live."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import Field

from drcontrol.api.deps import Ctx, CurrentUser, allowed
from drcontrol.auth.roles import Permission, require
from drcontrol.canonical import canonical_json
from drcontrol.events import Event
from drcontrol.model import Frozen

router = APIRouter(tags=["events"])
KEEPALIVE_SECONDS = 15.0


def frame(event: Event) -> str:
    """One SSE frame; audit events carry their sequence number as the event id."""
    lines = [f"event: {event.kind}"]
    if event.kind == "audit" and "seq" in event.data:
        lines.append(f"id: {event.data['seq']}")
    lines.append(f"data: {canonical_json(event.data)}")
    return "\n".join(lines) + "\n\n"


@router.get("/events", summary="Live updates as text/event-stream",
            response_class=StreamingResponse)
async def events(request: Request, ctx: Ctx, who: CurrentUser) -> StreamingResponse:
    require(who, Permission.READ)

    async def stream() -> AsyncIterator[str]:
        async with ctx.bus.subscribe() as queue:
            yield ": connected\n\n"
            stopping: asyncio.Future[Any] = asyncio.ensure_future(ctx.stopping.wait())
            getter: asyncio.Future[Event] | None = None
            try:
                while not ctx.stopping.is_set():
                    if getter is None:  # keep a pending get across keep-alives: no loss
                        getter = asyncio.ensure_future(queue.get())
                    waiters: set[asyncio.Future[Any]] = {getter, stopping}
                    done, _ = await asyncio.wait(waiters, timeout=KEEPALIVE_SECONDS,
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if getter in done:
                        event, getter = getter.result(), None
                        yield frame(event)
                        continue
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
            finally:
                # The client left or the service stops: no task may outlive the stream.
                for task in (getter, stopping):
                    if task is not None and not task.done():
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class PeerReport(Frozen):
    """What a peer (appha) tells control: a mode change, an alert, a switch result."""

    source: str = Field(..., max_length=64)
    app: str | None = Field(None, max_length=200)
    kind: str = Field(..., max_length=100)
    detail: dict[str, Any] = Field(default_factory=dict)
    at: float | None = None


AUTO_OPERATION_PREFIX = "auto-"  # appha's own switches: auto-<app>-<random>
SWITCHES_DONE = frozenset({"switch_succeeded", "switchback_succeeded"})


def automatic_switch(body: PeerReport) -> str | None:
    """The operation id when ``body`` is appha reporting a switch it started by itself."""
    operation = body.detail.get("operation")
    op_id = str(operation.get("operation_id") or "") if isinstance(operation, dict) else ""
    if body.app and body.kind in SWITCHES_DONE and op_id.startswith(AUTO_OPERATION_PREFIX):
        return op_id
    return None


@router.post("/events", dependencies=[allowed(Permission.REPORT)],
             status_code=202, summary="A peer reports what happened (audited)")
async def report(body: PeerReport, ctx: Ctx, who: CurrentUser) -> dict[str, Any]:
    require(who, Permission.REPORT)
    record = await ctx.recorder.record(who.user, f"peer.{body.kind}", body.app or body.source,
                                       source=body.source, detail=body.detail, reported_at=body.at)
    automatic = automatic_switch(body)
    if automatic is not None and body.app:
        await ctx.governance.automatic_switch(who, body.app, automatic)
    if "alert" in body.kind or "down" in body.kind or "fail" in body.kind:
        ctx.engine.deps.notify(f"peer.{body.kind}", {"app": body.app, "source": body.source,
                                                     **body.detail})
    return {"seq": record.seq}
