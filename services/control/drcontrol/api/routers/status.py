"""One read for dashboards and ``drctl status``: roles, peers, lag history, alerts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from drcontrol.api.deps import Ctx, CurrentUser
from drcontrol.api.routers.sites import site_group_body
from drcontrol.auth.roles import Permission, require
from drcontrol.evidence import summarise_apply
from drcontrol.model import TERMINAL_STATES, OpState
from drcontrol.watch import Reading, lag_view

router = APIRouter(tags=["status"])


def _reading(reading: Reading | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {"ok": reading.ok, "at": reading.at, "error": reading.error, "data": reading.data}


@router.get("/status", summary="Everything at a glance")
async def status(ctx: Ctx, who: CurrentUser) -> dict[str, Any]:
    require(who, Permission.READ)
    view = await ctx.site_group.read()
    snap = ctx.watcher.latest
    apply_summary = None
    if snap.apply is not None and snap.apply.ok:
        apply_summary = summarise_apply(snap.apply.data)
        apply_summary.pop("schemas")
    live = await ctx.storage.list_operations(states=frozenset(set(OpState) - TERMINAL_STATES))
    alerts = ctx.watcher.alerts
    return {
        "site_group": site_group_body(ctx, view),
        "local_site": ctx.settings.sites.local_site,
        "polled_at": snap.at,
        "capture": _reading(snap.capture),
        "apply": _reading(snap.apply),
        "apply_summary": apply_summary,
        "appha": _reading(snap.appha),
        "lag": lag_view(snap, ctx.watcher.lag_unknown_since,
                        ctx.peers.apply.where if ctx.peers.apply else None, ctx.clock()),
        "lag_alert_seconds": ctx.settings.watch.lag_alert_seconds,
        "lag_history": [{"at": at, "lag_seconds": lag} for at, lag in ctx.watcher.lag_history],
        "alerts": {"lag_high": alerts.lag_high, "capture_stopped": alerts.capture_stopped,
                   "apply_error": alerts.apply_error, "apps_down": sorted(alerts.apps_down),
                   "dr_differs": sorted(alerts.dr_differs),
                   "capture_degraded": alerts.capture_degraded,
                   "apply_degraded": alerts.apply_degraded},
        "open_operations": [{"id": op.id, "type": op.type.value, "state": op.state.value}
                            for op in live],
        "engine_running": ctx.engine.busy_with,
        "audit": ctx.audit_watch.health.as_dict(),
    }
