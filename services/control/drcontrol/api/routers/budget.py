"""The detection time and RTO budget implied by the configuration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from drcontrol.api.deps import Ctx, CurrentUser
from drcontrol.auth.roles import Permission, require

router = APIRouter(tags=["budget"])


@router.get("/budget", summary="Worst-case detection and RTO budget per runbook vs targets")
async def budget(ctx: Ctx, who: CurrentUser) -> dict[str, Any]:
    require(who, Permission.READ)
    return ctx.budget.model_dump(mode="json")
