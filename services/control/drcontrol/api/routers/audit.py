"""The audit log: search, export (JSON lines, ending with the chain head), verify."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from drcontrol.anchor import load_public, verify_against_anchors
from drcontrol.api.deps import Ctx, CurrentUser
from drcontrol.audit import verify_chain
from drcontrol.auth.roles import Permission, require
from drcontrol.canonical import canonical_json
from drcontrol.model import AuditRecord
from drcontrol.storage.base import AuditQuery, Storage

router = APIRouter(prefix="/audit", tags=["audit"])
PAGE = 1000


async def all_records(storage: Storage) -> AsyncIterator[AuditRecord]:
    """Every record in sequence order, page by page."""
    after = 0
    while True:
        page = await storage.audit_records(AuditQuery(after_seq=after, limit=PAGE))
        for record in page:
            yield record
        if len(page) < PAGE:
            return
        after = page[-1].seq


@router.get("", summary="Search the audit log")
async def search(
    ctx: Ctx, who: CurrentUser,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    actor: str | None = None, action: str | None = None, target: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Free text")] = None,
    newest_first: bool = True,
) -> list[dict[str, Any]]:
    require(who, Permission.READ)
    records = await ctx.storage.audit_records(AuditQuery(
        after_seq=after, limit=limit, actor=actor, action=action, target=target, text=q,
        newest_first=newest_first))
    return [r.model_dump(mode="json") for r in records]


@router.get("/export", summary="Every record as JSON lines; the last line is the chain head")
async def export(ctx: Ctx, who: CurrentUser) -> StreamingResponse:
    require(who, Permission.READ)
    await ctx.recorder.record(who.user, "audit.exported", "audit")
    head = await ctx.storage.audit_head()

    async def lines() -> AsyncIterator[str]:
        async for record in all_records(ctx.storage):
            if head is not None and record.seq > head.seq:
                break
            yield canonical_json(record.model_dump(mode="json")) + "\n"
        if head is not None:
            yield canonical_json({"head": {"seq": head.seq, "hash": head.hash}}) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": "attachment; filename=audit.jsonl"})


@router.get("/verify", summary="Check the chain (and its anchors); names the first bad record")
async def verify(ctx: Ctx, who: CurrentUser) -> dict[str, Any]:
    require(who, Permission.READ)
    head = await ctx.storage.audit_head()
    records = [r async for r in all_records(ctx.storage)]
    anchors = ctx.audit_watch.anchors()
    key = ctx.audit_watch.public_key_pem
    if anchors and key is not None:
        verdict = verify_against_anchors(records, head, anchors, load_public(key))
    else:
        verdict = verify_chain(records, head)
    return {"ok": verdict.ok, "checked": verdict.checked, "bad_seq": verdict.bad_seq,
            "reason": verdict.reason, "anchored": bool(anchors and key),
            "head": {"seq": head.seq, "hash": head.hash} if head else None}


@router.get("/anchors", summary="The signed chain heads kept outside the database")
async def anchors(ctx: Ctx, who: CurrentUser) -> StreamingResponse:
    require(who, Permission.READ)
    key = ctx.audit_watch.public_key_pem
    lines = [json.dumps({"public_key": key})] if key else []
    lines += [a.line() for a in ctx.audit_watch.anchors()]

    async def body() -> AsyncIterator[str]:
        for line in lines:
            yield line + "\n"

    return StreamingResponse(body(), media_type="application/x-ndjson")
