"""Sites and the current role of each: database primary, per-application site, freeze."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from drcontrol.api.deps import Ctx, CurrentUser
from drcontrol.auth.roles import Permission, require
from drcontrol.errors import NotFound
from drcontrol.sitegroup import SiteGroupView

router = APIRouter(prefix="/sites", tags=["sites"])


def site_group_body(ctx: Ctx, view: SiteGroupView) -> dict[str, Any]:
    """The group with a role summary per site."""
    state = view.state
    sites = ctx.settings.sites
    body: dict[str, Any] = {"etag": view.etag, "version": view.version, "sites": []}
    for site_id, conf in (("primary", sites.primary), ("standby", sites.standby)):
        body["sites"].append({
            "id": site_id,
            "display_name": conf.display_name,
            "local": site_id == sites.local_site,
            "database_role": "primary" if state.database_primary == site_id else "standby",
            "applications": sorted(a for a, s in state.apps.items() if s == site_id),
        })
    body.update(state.model_dump(mode="json"))
    return body


@router.get("", summary="The site group with its ETag (send it as If-Match)")
async def get_sites(ctx: Ctx, who: CurrentUser, response: Response) -> dict[str, Any]:
    require(who, Permission.READ)
    view = await ctx.site_group.read()
    response.headers["ETag"] = view.etag
    return site_group_body(ctx, view)


@router.get("/{site_id}", summary="One site and its roles")
async def get_site(site_id: str, ctx: Ctx, who: CurrentUser, response: Response) -> dict[str, Any]:
    require(who, Permission.READ)
    view = await ctx.site_group.read()
    response.headers["ETag"] = view.etag
    for site in site_group_body(ctx, view)["sites"]:
        if site["id"] == site_id:
            return dict(site)
    raise NotFound(f"no site {site_id} (sites are primary and standby)")
