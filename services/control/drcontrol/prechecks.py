"""Pre-checks: pure judgement of the facts gathered by :mod:`drcontrol.evidence`.

Facts are plain JSON (they are hashed into the evidence digest). Each check says whether
the operation type needs it; informational checks (``required=False``) are shown to the
approver but do not block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drcontrol.model import CheckResult, LossEstimate, OpType

FAILED_APPLY_STATES = frozenset({"failed", "error"})
VERIFIED_CHECK = "dr_copy_verified"


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What the checks need besides the facts."""

    op_type: OpType
    runbook: str
    app: str | None
    dr_database_configured: bool
    rpo_seconds: float
    switch_step_seconds: float | None = None  # the runbook's apps_switch step bound


def _reach(facts: dict[str, Any], peer: str) -> tuple[bool, str]:
    part = facts.get(peer) or {}
    if part.get("reachable"):
        return True, f"{peer} answered at {part.get('measured_by', '?')}"
    error = str(part.get("error") or "not configured")
    # a peer's own error usually names it already ("apply unreachable: …")
    return False, error if error.startswith(peer) else f"{peer} unreachable: {error}"


def _apply_health(facts: dict[str, Any]) -> tuple[bool, str]:
    apply = facts.get("apply") or {}
    if not apply.get("reachable"):
        return False, "apply status unknown"
    bad = apply.get("schemas_in_error") or []
    if apply.get("state") in FAILED_APPLY_STATES or bad:
        return False, f"apply state {apply.get('state')}, schemas in error: {bad}"
    lag = apply.get("lag_seconds_max")
    shown = "unknown" if lag is None else f"{float(lag):.1f} s"
    return True, f"apply {apply.get('state')}, lag {shown}"


def _lag_check(facts: dict[str, Any], rpo: float) -> tuple[bool, str]:
    lag = (facts.get("apply") or {}).get("lag_seconds_max")
    if lag is None:
        return False, "apply lag unknown"
    return lag <= rpo, f"apply lag {lag:.1f} s (RPO target {rpo:.0f} s)"


def _verified(facts: dict[str, Any]) -> tuple[bool, str]:
    """Whether apply's latest comparison of the DR copy with the source found it equal,
    for every schema, recently enough (apply's ``compare.verify_max_age_seconds``)."""
    apply = facts.get("apply") or {}
    if not apply.get("reachable"):
        return False, "apply status unknown: the DR copy's last verification is not known"
    v = apply.get("verification") or {}
    per = v.get("per_schema") or {}
    if not per:
        return False, "the DR copy was never compared with the source (no verification)"
    shown = "; ".join(
        f"{name} at SCN {d.get('scn')} {_ago(d.get('age_seconds'))}: "
        f"{d.get('differences', 0)} difference(s)" for name, d in sorted(per.items()))
    if v.get("differences"):
        tables = ", ".join(v.get("tables_differing") or []) or "?"
        return False, (f"the last verification found {v['differences']} difference(s) "
                       f"between the DR copy and the source ({tables}): {shown}")
    gaps = []
    if v.get("unverified_schemas"):
        gaps.append("not verified: " + ", ".join(v["unverified_schemas"]))
    if v.get("stale_schemas"):
        gaps.append("verification stale: " + ", ".join(v["stale_schemas"]))
    if gaps:
        return False, "; ".join(gaps) + f" ({shown})"
    return True, f"DR copy equal to the source when last verified ({shown})"


def _ago(seconds: Any) -> str:
    if seconds is None:
        return ""
    value = float(seconds)
    return f"{value / 60:.0f} min ago" if value >= 120 else f"{value:.0f} s ago"


def _fencing(facts: dict[str, Any]) -> tuple[bool, str]:
    fencing = facts.get("fencing") or {}
    if fencing.get("fenced"):
        return True, f"old primary fenced: {fencing.get('how')}"
    return False, "no proof the old primary is fenced (it will be fenced if reachable)"


def _role_check(facts: dict[str, Any], expected: str) -> tuple[bool, str]:
    primary = (facts.get("site_group") or {}).get("database_primary")
    return primary == expected, f"database primary is {primary} (expected {expected})"


def _reverse_stream(facts: dict[str, Any]) -> tuple[bool, str]:
    capture = facts.get("capture") or {}
    apply = facts.get("apply") or {}
    if capture.get("reachable") and apply.get("reachable"):
        return True, "the reverse stream answers: the DR site's writes drain home"
    why = "; ".join(f"{name}: {part.get('error') or 'unreachable'}"
                    for name, part in (("reverse capture", capture), ("reverse apply", apply))
                    if not part.get("reachable"))
    return False, (f"no reverse stream drains the DR site's writes home ({why}); switching "
                   "back loses them unless the approver accepts that loss explicitly")


def _apps_switchable(facts: dict[str, Any]) -> tuple[bool, str]:
    apps = (facts.get("appha") or {}).get("apps", [])
    held = [f"{a.get('name')} ({'maintenance' if a.get('maintenance') else a.get('blocked')})"
            for a in apps if a.get("blocked") or a.get("maintenance")]
    if held:
        return False, ("appha would refuse to move " + ", ".join(held)
                       + ": acknowledge or end maintenance in appha first")
    return True, f"appha can move {len(apps)} application(s)"


def _switch_fits(facts: dict[str, Any], step_seconds: float, back: bool) -> tuple[bool, str]:
    """Whether the runbook waits for appha's switch as long as appha may take: a step
    that gives up first fails a switch appha is still carrying out correctly."""
    key = "switchback" if back else "switch"
    slow = []
    for app in (facts.get("appha") or {}).get("apps", []):
        worst = ((app.get("budget") or {}).get("switch_seconds") or {}).get(key)
        if isinstance(worst, int | float) and worst > step_seconds:
            slow.append(f"{app.get('name')} ({worst:g} s)")
    if slow:
        return False, (f"appha may take longer to switch {', '.join(slow)} than the runbook's "
                       f"apps_switch step waits ({step_seconds:g} s): raise that step's "
                       "timeout_seconds (runbooks.directory) or lower appha's bounds")
    return True, f"appha's worst-case switch fits the step's {step_seconds:g} s"


def _app_check(facts: dict[str, Any], app: str | None) -> tuple[bool, str]:
    names = [a.get("name") for a in (facts.get("appha") or {}).get("apps", [])]
    return app in names, f"application {app} {'is' if app in names else 'is not'} known to appha"


def evaluate(facts: dict[str, Any], ctx: CheckContext) -> list[CheckResult]:
    """Every check with whether ``ctx.op_type`` requires it."""
    db_switch = ctx.runbook in ("failover", "switchover")
    planned = ctx.runbook == "switchover"
    is_app = ctx.op_type is OpType.APP_FAILOVER
    drill = ctx.op_type is OpType.DRILL
    rows: list[tuple[str, tuple[bool, str], bool]] = [
        ("apply_reachable", _reach(facts, "apply"), db_switch),
        ("apply_healthy", _apply_health(facts), db_switch),
        ("apply_lag_within_rpo", _lag_check(facts, ctx.rpo_seconds), False),
        ("kafka_reachable", _reach(facts, "kafka"), db_switch),
        ("appha_reachable", _reach(facts, "appha"), True),
        ("dr_database_reachable", _reach(facts, "dr_database"),
         ctx.dr_database_configured and not is_app),
        ("capture_reachable", _reach(facts, "capture"), planned),
        ("old_primary_fenced", _fencing(facts), False),
    ]
    if db_switch:
        rows.append((VERIFIED_CHECK, _verified(facts), False))
    if db_switch:
        rows.append(("database_primary_is_home", _role_check(facts, "primary"), not drill))
    if ctx.runbook == "switchback":
        rows.append(("database_primary_is_dr", _role_check(facts, "standby"), True))
        rows.append(("reverse_stream_ready", _reverse_stream(facts), False))
    if ctx.runbook in ("failover", "switchover", "switchback") and not drill:
        rows.append(("apps_switchable", _apps_switchable(facts), True))
        if ctx.switch_step_seconds is not None:
            fits = _switch_fits(facts, ctx.switch_step_seconds, ctx.runbook == "switchback")
            rows.append(("apps_switch_within_step", fits, False))
    if is_app:
        rows.append(("app_known", _app_check(facts, ctx.app), True))
    return [CheckResult(name=name, ok=ok, required=req, detail=detail)
            for name, (ok, detail), req in rows]


def estimate_loss(facts: dict[str, Any], runbook: str, now: float) -> LossEstimate:
    """What a switch now would lose. A switchover drains to the source's final SCN, so
    only parked transactions count; a failover may also lose apply's lag (upper bound). A
    switchback drains the reverse stream home; without one it loses every write made at
    the DR site since it became primary: that many seconds, transactions not countable."""
    apply = facts.get("apply") or {}
    capture = facts.get("capture") or {}
    source_scn = capture.get("source_scn") or apply.get("stream_scn_max")
    parked = apply.get("parked")
    seconds = apply.get("lag_seconds_max")
    basis = "failover: apply's lag (upper bound) and parked transactions"
    if runbook in ("switchover", "app_failover"):
        seconds, basis = 0.0, "drained to the source's final SCN: parked transactions only"
    if runbook == "switchback":
        ready, _ = _reverse_stream(facts)
        since = (facts.get("site_group") or {}).get("primary_since")
        if ready:
            seconds, basis = 0.0, "the reverse stream drains home: parked transactions only"
        elif since is not None:
            seconds, parked = round(max(0.0, now - float(since)), 1), None
            basis = ("no reverse stream: every write at the DR site since it became primary "
                     f"({seconds:.0f} s ago) is lost; how many transactions is not known here")
        else:
            seconds, parked = None, None
            basis = "no reverse stream and no record of when the DR site became primary"
    return LossEstimate(
        seconds=seconds,
        transactions=parked,
        source_scn=source_scn,
        applied_scn=apply.get("applied_scn_min"),
        basis=basis,
    )
