"""Load-balancer health: 200 or 503, no authentication (nothing secret is revealed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from drcontrol.api.deps import Ctx
from drcontrol.health import Verdict, primary_verdict, replica_target, standby_verdict

router = APIRouter(prefix="/healthz", tags=["healthz"])
Site = Annotated[Literal["primary", "standby"] | None,
                 Query(description="Which site; default: the one control runs at.")]


def _render(verdict: Verdict, response: Response, site: str) -> dict[str, Any]:
    response.status_code = 200 if verdict.ok else 503
    return {"ok": verdict.ok, "site": site, "reason": verdict.reason}


@router.get("/primary", summary="200 where the database is primary, else 503")
async def primary(ctx: Ctx, response: Response, site: Site = None) -> dict[str, Any]:
    which = site or ctx.settings.sites.local_site
    view = await ctx.site_group.read()
    return _render(primary_verdict(which, view.state), response, which)


@router.get("/standby", summary="200 where the site is a healthy replica within max_lag")
async def standby(ctx: Ctx, response: Response, site: Site = None,
                  max_lag: Annotated[float, Query(gt=0)] = 60.0) -> dict[str, Any]:
    which = site or ctx.settings.sites.local_site
    view = await ctx.site_group.read()
    reverse = replica_target(view.state) == "primary"
    verdict = standby_verdict(
        which, view.state, ctx.watcher.apply_reading(reverse=reverse), max_lag=max_lag,
        now=ctx.clock(), stale_after=3 * ctx.settings.watch.interval_seconds)
    return _render(verdict, response, which)
