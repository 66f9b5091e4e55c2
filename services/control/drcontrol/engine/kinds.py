"""Step kinds: each checks the peer's state before acting, so a step resumed after a
crash does not repeat an effect that already happened, and every call carries the
operation id so the peer can refuse a duplicate itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from drcommon.errors import DRError

from drcontrol.decisions import (
    accepted_loss_of,
    counted_switch,
    loss_exceeds,
    unreplicated_refusal,
)
from drcontrol.engine.context import StepContext, StepOutcome
from drcontrol.errors import FatalStepError, PeerError, StepFailed
from drcontrol.evidence import evidence_digest, summarise_apply
from drcontrol.model import OpType
from drcontrol.peers.base import ApplyClient, CaptureClient
from drcontrol.sitegroup import SiteGroupState, with_roles

StepKind = Callable[[StepContext], Awaitable[StepOutcome]]
TERMINAL_SWITCH = frozenset({"succeeded", "failed"})


async def precheck(ctx: StepContext) -> StepOutcome:
    """Every pre-check again; a failure or too much loss ends the run before any step."""
    evidence = await ctx.collector.collect(ctx.op)
    digest = evidence_digest(evidence)
    failures = evidence.failures()
    if failures:
        reasons = "; ".join(f"{c.name}: {c.detail}" for c in failures)
        raise FatalStepError(f"pre-check failed after approval ({reasons}); no step ran")
    accepted = accepted_loss_of(ctx.op)
    if accepted is not None:
        refusal = unreplicated_refusal(ctx.op, evidence, accepted)
        if refusal is not None:
            raise FatalStepError(f"{refusal.error.message} (re-check after approval); no step "
                                 "ran")
        too_much = loss_exceeds(evidence.loss, accepted)
        if too_much:
            raise FatalStepError(f"{too_much} (re-check after approval); no step ran")
    return StepOutcome({"evidence": evidence.model_dump(mode="json"), "digest": digest,
                        "loss": evidence.loss.model_dump(mode="json")})


def _capture(ctx: StepContext) -> CaptureClient:
    name = ctx.param("peer", "capture")
    client = ctx.peers.capture_named(name)
    if client is None:
        raise StepFailed(f"{name} is not configured")
    return client


def _apply(ctx: StepContext) -> ApplyClient:
    name = ctx.param("peer", "apply")
    client = ctx.peers.apply_named(name)
    if client is None:
        raise StepFailed(f"{name} is not configured")
    return client


def _final_scn(status: dict[str, Any]) -> int | None:
    published = status.get("last_published") or {}
    for value in (status.get("final_scn"), status.get("safe_scn"), published.get("commit_scn")):
        if value is not None:
            return int(value)
    return None


async def capture_fence(ctx: StepContext) -> StepOutcome:
    """Fence the source: capture publishes everything read with a final watermark and
    reads no more. Its answer may come before the final SCN is known ("fencing"), so the
    step polls capture's status until ``final_scn`` is set; a fence already requested
    (a resumed step) or finished is not asked for again."""
    client = _capture(ctx)
    status = await client.status()
    if ctx.simulate:
        return StepOutcome({"simulated": True, "capture_state": status.get("state")},
                           "simulated: capture left running")
    if status.get("final_scn") is not None:
        return StepOutcome({**_fence_facts(status), "already": True},
                           "capture was already fenced; not fenced again")
    if status.get("state") == "stopped":
        return StepOutcome({"final_scn": _final_scn(status), "already": True},
                           "capture was already stopped; not fenced again")
    asked = not status.get("fence_requested")
    if asked:
        await client.fence(ctx.op.id)
    final = await _wait_final_scn(ctx, client)
    return StepOutcome({**_fence_facts(final), "already": not asked},
                       None if asked else "the fence was already requested; waited for it")


def _fence_facts(status: dict[str, Any]) -> dict[str, Any]:
    """The final SCN and whether it vouches for every thread: a thread capture read from
    archived logs only (no online log) may hold unarchived commits above nothing."""
    return {"final_scn": int(status["final_scn"]),
            "final_complete": status.get("final_complete") is not False,
            "unread_threads": status.get("fence_unread_threads") or []}


async def _wait_final_scn(ctx: StepContext, client: CaptureClient) -> dict[str, Any]:
    """Poll capture until its fence has published everything (bounded by the step's
    timeout); its status then. A capture that stops or fails first fails the step."""
    while True:
        await ctx.pause()
        status = await client.status()
        if status.get("final_scn") is not None:
            return status
        if status.get("state") in ("stopped", "failed"):
            raise StepFailed(f"capture {status.get('state')} before its fence completed: "
                             f"{status.get('error')}")


def _holding_at(schemas: dict[str, dict[str, Any]]) -> int | None:
    holds = {s.get("hold_at_scn") for s in schemas.values()}
    if len(holds) == 1 and None not in holds:
        return int(holds.pop())  # type: ignore[arg-type]
    return None


async def apply_hold(ctx: StepContext) -> StepOutcome:
    """Drain to a consistent cut: the fence's final SCN, else the last SCN in the stream."""
    client = _apply(ctx)
    status = await client.status()
    fence = ctx.kinds_done.get("capture_fence") or {}
    saved = ctx.step.output
    if saved.get("hold_scn") is not None:  # an interrupted attempt chose the cut already
        scn, source = int(saved["hold_scn"]), str(saved.get("cut_source"))
    elif fence.get("final_scn") is not None:
        if (fence.get("final_complete") is False and ctx.param("require_final_scn", False)
                and not ctx.op.is_drill):
            raise StepFailed(
                "zero data loss needs every thread's redo read, and capture read threads "
                f"{fence.get('unread_threads')} from archived logs only: their unarchived "
                "online redo may hold commits (configure source.threads[].online_logs)")
        scn, source = int(fence["final_scn"]), "fence"
    elif ctx.param("require_final_scn", False) and not ctx.op.is_drill:
        raise StepFailed("zero data loss needs the source's final SCN, and the fence gave none")
    else:
        stream = summarise_apply(status).get("stream_scn_max")
        if stream is None:
            raise StepFailed("no SCN to hold at: apply reports no schemas")
        scn, source = int(stream), "stream"
    if _holding_at(status.get("schemas") or {}) == scn:
        return StepOutcome({"hold_scn": scn, "cut_source": source, "already": True},
                           "apply already holds at this cut")
    await ctx.save_progress({"hold_scn": scn, "cut_source": source})
    await client.hold(scn, ctx.op.id)
    return StepOutcome({"hold_scn": scn, "cut_source": source, "already": False})


async def apply_wait_holding(ctx: StepContext) -> StepOutcome:
    """Poll until every schema has applied the cut and holds (no call changes anything)."""
    client = _apply(ctx)
    hold = ctx.kinds_done.get("apply_hold") or {}
    while True:
        status = await client.status()
        schemas: dict[str, dict[str, Any]] = status.get("schemas") or {}
        errors = {n: s.get("error") for n, s in schemas.items() if s.get("state") == "error"}
        if errors:
            raise StepFailed(f"apply schemas in error while draining: {errors}")
        if schemas and all(s.get("state") == "holding" for s in schemas.values()):
            summary = summarise_apply(status)
            summary.pop("schemas")
            return StepOutcome({**summary, "hold_scn": hold.get("hold_scn"),
                                "holding_at": ctx.clock()})
        await ctx.pause()


async def _record_roles(ctx: StepContext, **roles: str | None) -> dict[str, Any]:
    """Record roles in the site group (one compare-and-set); what it says afterwards."""
    now = ctx.clock()
    view = await ctx.site_group.update(
        lambda state: with_roles(state, now=now, operation=ctx.op.id, **roles),
        actor=f"engine:{ctx.op.id}", now=now)
    return {"database_primary": view.state.database_primary,
            "replication": view.state.replication, "etag": view.etag}


async def apply_stop(ctx: StepContext) -> StepOutcome:
    """Stop apply unless it already stopped; with ``replication`` (``stopped``) the site
    group records at once that nothing flows any more."""
    client = _apply(ctx)
    status = await client.status()
    if ctx.simulate and status.get("state") != "stopped":
        return StepOutcome({"simulated": True}, "simulated: apply left as it is")
    already = status.get("state") == "stopped"
    if not already:
        await client.stop(ctx.op.id)
    output: dict[str, Any] = {"already": already}
    if ctx.param("replication") and not ctx.simulate:
        output["roles"] = await _record_roles(ctx, replication=ctx.param("replication"))
    return StepOutcome(output, "apply was already stopped" if already else None)


async def apply_resume(ctx: StepContext) -> StepOutcome:
    """Leave hold (or restart after a stop) unless apply already runs freely."""
    client = _apply(ctx)
    status = await client.status()
    schemas: dict[str, dict[str, Any]] = status.get("schemas") or {}
    free = all(s.get("state") == "running" and s.get("hold_at_scn") is None
               for s in schemas.values())
    if status.get("state") == "running" and free:
        return StepOutcome({"already": True}, "apply was already running")
    if ctx.simulate:
        return StepOutcome({"simulated": True}, "simulated")
    await client.resume(ctx.op.id)
    return StepOutcome({"already": False})


async def hook(ctx: StepContext) -> StepOutcome:
    """Run a hook group against the DR database (marker rows make each run once)."""
    group = str(ctx.param("group", "promotion"))
    hooks = ctx.hooks.group(group)
    if not hooks:
        return StepOutcome({"group": group, "hooks": []}, f"no {group} hooks configured")
    database = ctx.peers.database
    if database is None:
        raise StepFailed(f"{group} hooks are configured but no DR database is")
    results = [await database.run_hook(h, ctx.op.id, simulate=ctx.simulate) for h in hooks]
    return StepOutcome({"group": group, "hooks": results})


async def set_roles(ctx: StepContext) -> StepOutcome:
    """Record which site is database primary (and, optionally, the replication state)."""
    return StepOutcome(await _record_roles(ctx, database_primary=ctx.param("database_primary"),
                                           replication=ctx.param("replication")))


async def reverse_direction(ctx: StepContext) -> StepOutcome:
    """Record the new replication direction, then run the configured hooks."""
    roles = await _record_roles(ctx, replication=ctx.param("replication"))
    output: dict[str, Any] = {"replication": roles["replication"]}
    if ctx.param("group"):
        output["hooks"] = (await hook(ctx)).output
    return StepOutcome(output)


async def _apps_for(ctx: StepContext) -> list[str]:
    if ctx.param("scope") == "operation_app":
        return [ctx.op.app] if ctx.op.app else []
    if ctx.apps is not None:
        return list(ctx.apps)
    if ctx.peers.appha is None:
        return []
    return [str(app["name"]) for app in await ctx.peers.appha.apps()]


def _switch_back(ctx: StepContext) -> bool:
    """Towards the home site? The runbook says, except for the application an appha
    request is about: appha asks for a switch or a switchback (``evidence.direction``)."""
    asked = (ctx.op.requester_evidence or {}).get("direction")
    if ctx.param("scope") == "operation_app" and asked in ("switch", "switchback"):
        return bool(asked == "switchback")
    return bool(ctx.param("direction") == "to_primary")


def split_brain_acceptance(ctx: StepContext) -> str | None:
    """The approver's audited acceptance of a possible split brain, as appha records it."""
    accepted = ctx.op.split_brain_accepted
    if accepted is None:
        return None
    return f"{accepted.user} in control ({ctx.op.id}): {accepted.comment}"


async def _start_switches(ctx: StepContext, apps: list[str], back: bool) -> dict[str, str]:
    """Ask appha for each switch unless it already has it; the appha operation id per app.

    A switch that failed is never run again under its id (appha answers the stored result):
    a fresh attempt gets ``<op>.<n>``, after lifting the block appha set when it failed
    (audited there, naming this operation). Ids are saved before asking, so a resumed
    step finds the switch it started."""
    appha = ctx.peers.appha
    assert appha is not None
    by = f"drcontrol:{ctx.op.requested_by}"
    tried: dict[str, list[str]] = {a: list(v) for a, v in
                                   (ctx.step.output.get("switch_ids") or {}).items()}
    blocked = None
    for app in apps:
        ids = tried.setdefault(app, [])
        current = ids[-1] if ids else ctx.op.id
        existing = await appha.switch_status(app, current)
        if existing is not None and existing.get("state") == "failed":
            if blocked is None:
                blocked = {a["name"]: a.get("blocked") for a in await appha.apps()}
            if blocked.get(app):
                await appha.acknowledge(app, by, f"{ctx.op.id} attempts the switch again after: "
                                                 f"{existing.get('error')}")
            current, existing = f"{ctx.op.id}.{len(ids) + 1}", None
        if existing is None:
            if current not in ids:
                ids.append(current)
            await ctx.save_progress({"switch_ids": tried})
            await appha.switch(app, current, by, back=back,
                               accept_split_brain=split_brain_acceptance(ctx))
    return {app: tried[app][-1] for app in apps}


async def apps_switch(ctx: StepContext) -> StepOutcome:
    """Move traffic through appha; success only when appha verified it end to end. appha
    fences the site traffic leaves first and refuses to move it on an insufficient fencing
    attestation unless an approver accepted a possible split brain (shown in the output)."""
    appha = ctx.peers.appha
    if appha is None:
        raise StepFailed("appha is not configured; traffic cannot be switched or verified")
    apps = await _apps_for(ctx)
    if not apps:
        raise StepFailed("no applications to switch; traffic cannot be verified")
    back = _switch_back(ctx)
    if ctx.simulate:
        known = {a["name"]: a for a in await appha.apps()}
        missing = [app for app in apps if app not in known]
        if missing:
            raise StepFailed(f"drill: appha does not know {missing}")
        return StepOutcome({"simulated": True, "apps": {a: known[a].get("state") for a in apps}},
                           "simulated: traffic not moved")
    ids = await _start_switches(ctx, apps, back)
    results = await _wait_switches(ctx, ids)
    target = "primary" if back else "standby"
    now = ctx.clock()

    def change(state: SiteGroupState) -> SiteGroupState | None:
        # the applications and the roles they follow move in one compare-and-set, only
        # once traffic is verified: a failed switch leaves both where they were
        moved = with_roles(state, database_primary=ctx.param("database_primary"),
                           replication=ctx.param("replication"), now=now,
                           operation=ctx.op.id) or state
        apps_now = {**moved.apps, **{app: target for app in apps}}
        moved = moved.model_copy(update={"apps": apps_now})
        return None if moved == state else moved

    await ctx.site_group.update(change, actor=f"engine:{ctx.op.id}", now=now)
    insufficient = sorted(a for a, r in results.items() if not r["fencing"]["sufficient"])
    output: dict[str, Any] = {"apps": results, "verified": True, "verified_at": ctx.clock(),
                              "fencing_insufficient": insufficient}
    note = None
    if insufficient:
        output["split_brain_accepted"] = split_brain_acceptance(ctx)
        note = (f"WARNING: traffic moved on an insufficient fencing attestation for "
                f"{', '.join(insufficient)}; possible split brain accepted by "
                f"{ctx.op.split_brain_accepted.user if ctx.op.split_brain_accepted else '?'}")
    return StepOutcome(output, note)


def fencing_of(status: dict[str, Any]) -> dict[str, Any]:
    """What appha's switch says about fencing the site traffic left."""
    att = status.get("attestation") or {}
    return {"sufficient": att.get("sufficient") is True, "signals": att.get("signals", []),
            "site": att.get("site"), "override": att.get("override")}


async def _ended(ctx: StepContext, ids: dict[str, str]) -> dict[str, Any]:
    """Poll appha until every switch in ``ids`` ended; their statuses."""
    assert ctx.peers.appha is not None
    while True:
        results: dict[str, Any] = {}
        for app, op_id in ids.items():
            status = await ctx.peers.appha.switch_status(app, op_id)
            if status is None:
                raise PeerError(f"appha lost the switch of {app} for {op_id}")
            results[app] = status
        if all(r.get("state") in TERMINAL_SWITCH for r in results.values()):
            return results
        await ctx.pause()


async def _compensate(ctx: StepContext, ids: dict[str, str], moved: list[str]) -> str:
    """Put back the applications a half-failed step moved, so applications stay together
    with the database primary; what happened, for the step's error."""
    appha = ctx.peers.appha
    assert appha is not None
    back = not _switch_back(ctx)
    undo = {app: f"{ids[app]}.undo" for app in moved}
    try:
        for app in moved:
            if await appha.switch_status(app, undo[app]) is None:
                await appha.switch(app, undo[app], f"drcontrol:{ctx.op.requested_by}",
                                   back=back, compensates=ids[app])
        results = await _ended(ctx, undo)
    except DRError as exc:
        return f"COMPENSATION FAILED, {', '.join(moved)} may still be moved: {exc}"
    bad = {a: r.get("error") for a, r in results.items()
           if r.get("state") != "succeeded" or not r.get("verified")}
    if bad:
        return f"COMPENSATION FAILED, still moved: {bad}"
    return f"moved back to where the database primary is: {', '.join(moved)}"


MOVING_STEPS = frozenset({"move_traffic", "verify_traffic"})


def traffic_moved(status: dict[str, Any]) -> bool:
    """Whether appha's switch got as far as moving traffic (succeeded, or failed there)."""
    if status.get("state") == "succeeded":
        return True
    return any(isinstance(s, dict) and s.get("name") in MOVING_STEPS
               for s in status.get("steps") or [])


async def _count_automatic(ctx: StepContext, results: dict[str, Any]) -> None:
    """Anti-flapping counts the switches of appha's requests that happened — succeeded,
    or failed once traffic was moving — never requests (refused, withdrawn, stopped
    before moving). Once per run of the step, even when it is resumed."""
    if ctx.op.type is not OpType.APP_FAILOVER or ctx.step.output.get("counted"):
        return
    moved = [app for app, status in results.items() if traffic_moved(status)]
    if not moved:
        return
    now = ctx.clock()

    def count(state: SiteGroupState) -> SiteGroupState:
        for app in moved:
            state = counted_switch(state, app, now, ctx.automation)
        return state

    await ctx.site_group.update(count, actor=f"engine:{ctx.op.id}", now=now)
    await ctx.save_progress({"counted": moved})


async def _wait_switches(ctx: StepContext, ids: dict[str, str]) -> dict[str, Any]:
    results = await _ended(ctx, ids)
    await _count_automatic(ctx, results)
    failed = {a: r.get("error") for a, r in results.items() if r.get("state") == "failed"}
    unverified = [a for a, r in results.items()
                  if r.get("state") == "succeeded" and not r.get("verified")]
    if failed or unverified:
        moved = sorted(a for a, r in results.items()
                       if r.get("state") == "succeeded" and r.get("verified"))
        undone = f"; {await _compensate(ctx, ids, moved)}" if moved else ""
        what = (f"traffic switch failed: {failed}" if failed else
                f"traffic switched but not verified end to end for {unverified}")
        raise StepFailed(f"{what}{undone}")
    return {a: {"state": r.get("state"), "verified": True, "steps": r.get("steps", []),
                "operation_id": ids[a], "fencing": fencing_of(r)}
            for a, r in results.items()}


KINDS: dict[str, StepKind] = {
    "precheck": precheck,
    "capture_fence": capture_fence,
    "apply_hold": apply_hold,
    "apply_wait_holding": apply_wait_holding,
    "apply_stop": apply_stop,
    "apply_resume": apply_resume,
    "hook": hook,
    "set_roles": set_roles,
    "reverse_direction": reverse_direction,
    "apps_switch": apps_switch,
}
