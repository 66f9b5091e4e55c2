"""Load-balancer verdicts, pre-check judgement and the loss estimate."""

from __future__ import annotations

from typing import Any

from drcontrol.health import ApplyReading, primary_verdict, standby_verdict
from drcontrol.model import OpType
from drcontrol.prechecks import CheckContext, estimate_loss, evaluate
from drcontrol.sitegroup import SiteGroupState

NOW = 1000.0


def apply_status(lag: float = 2.0, state: str = "running", schema_state: str = "running"
                 ) -> dict[str, Any]:
    return {"state": state, "schemas": {"HR": {"state": schema_state, "lag_seconds": lag,
                                               "applied_scn": 10, "lag_scn": 5}}}


def reading(status: dict[str, Any] | None, at: float = NOW - 1) -> ApplyReading:
    return ApplyReading(status=status, at=at, error=None if status else "unreachable")


def standby(state: SiteGroupState, read: ApplyReading | None, site: str = "standby",
            max_lag: float = 10) -> bool:
    return standby_verdict(site, state, read, max_lag=max_lag, now=NOW, stale_after=30).ok


def test_primary_follows_the_recorded_role() -> None:
    assert primary_verdict("primary", SiteGroupState()).ok
    assert not primary_verdict("standby", SiteGroupState()).ok
    assert primary_verdict("standby", SiteGroupState(database_primary="standby")).ok


def test_standby_needs_flowing_recent_healthy_apply_within_lag() -> None:
    normal = SiteGroupState()
    assert standby(normal, reading(apply_status()))
    assert not standby(normal, reading(apply_status(lag=11)))
    assert standby(normal, reading(apply_status(lag=11)), max_lag=20)
    assert not standby(normal, reading(apply_status(schema_state="error")))
    assert not standby(normal, reading(apply_status(state="stopped")))
    assert not standby(normal, reading(None))
    assert not standby(normal, None)
    assert not standby(normal, reading(apply_status(), at=NOW - 100))
    assert not standby(normal, reading(apply_status()), site="primary")
    after_failover = SiteGroupState(database_primary="standby", replication="stopped")
    assert not standby(after_failover, reading(apply_status()))
    reversed_ = SiteGroupState(database_primary="standby", replication="standby_to_primary")
    assert standby(reversed_, reading(apply_status()), site="primary")


def facts(**parts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apply": {"reachable": True, "state": "running", "schemas_in_error": [],
                  "lag_seconds_max": 3.0, "parked": 1, "applied_scn_min": 90,
                  "stream_scn_max": 100},
        "kafka": {"reachable": True}, "appha": {"reachable": True, "apps": [{"name": "web"}]},
        "capture": {"reachable": False, "error": "connection refused"},
        "dr_database": {"reachable": True}, "fencing": {"fenced": False},
        "site_group": {"database_primary": "primary"},
    }
    base.update(parts)
    return base


def context(op_type: OpType, runbook: str, app: str | None = None) -> CheckContext:
    return CheckContext(op_type=op_type, runbook=runbook, app=app, dr_database_configured=True,
                        rpo_seconds=60)


def by_name(results: list[Any]) -> dict[str, Any]:
    return {r.name: r for r in results}


def test_failover_does_not_need_the_lost_source_but_switchover_does() -> None:
    failover = by_name(evaluate(facts(), context(OpType.FAILOVER, "failover")))
    assert not failover["capture_reachable"].ok and not failover["capture_reachable"].required
    assert all(r.ok for r in failover.values() if r.required)
    switchover = by_name(evaluate(facts(), context(OpType.SWITCHOVER, "switchover")))
    assert switchover["capture_reachable"].required and not switchover["capture_reachable"].ok


def test_failover_refused_when_already_at_the_dr_site_but_not_a_drill() -> None:
    moved = facts(site_group={"database_primary": "standby"})
    live = by_name(evaluate(moved, context(OpType.FAILOVER, "failover")))
    assert live["database_primary_is_home"].required and not live["database_primary_is_home"].ok
    drill = by_name(evaluate(moved, context(OpType.DRILL, "failover")))
    assert not drill["database_primary_is_home"].required


def test_app_failover_needs_a_known_app() -> None:
    known = by_name(evaluate(facts(), context(OpType.APP_FAILOVER, "app_failover", "web")))
    assert known["app_known"].ok
    unknown = by_name(evaluate(facts(), context(OpType.APP_FAILOVER, "app_failover", "x")))
    assert not unknown["app_known"].ok and unknown["app_known"].required
    assert not unknown["apply_healthy"].required


def test_loss_estimate_failover_counts_lag_switchover_only_parked() -> None:
    failover = estimate_loss(facts(), "failover", NOW)
    assert failover.seconds == 3.0 and failover.transactions == 1
    assert failover.source_scn == 100 and failover.applied_scn == 90
    assert estimate_loss(facts(), "switchover", NOW).seconds == 0.0


def test_a_switch_step_shorter_than_apphas_worst_case_is_said() -> None:
    """control must wait for appha's switch as long as appha may take, or it fails a
    switch appha is still carrying out correctly (the examples: 303 s against 240 s)."""
    apps = [{"name": "his", "budget": {"switch_seconds": {"switch": 303.0, "switchback": 200.0}}},
            {"name": "web", "budget": {"switch_seconds": {"switch": 60.0, "switchback": 60.0}}}]
    seen = facts(appha={"reachable": True, "apps": apps})

    def check(runbook: str, step: float | None) -> Any:
        ctx = CheckContext(op_type=OpType.FAILOVER, runbook=runbook, app=None,
                           dr_database_configured=True, rpo_seconds=60,
                           switch_step_seconds=step)  # fmt: skip
        return by_name(evaluate(seen, ctx)).get("apps_switch_within_step")

    short = check("failover", 240.0)
    assert not short.ok and not short.required
    assert "his (303 s)" in short.detail and "web" not in short.detail
    assert check("failover", 320.0).ok
    assert check("switchback", 240.0).ok  # appha's switchback bound is what counts there
    assert check("failover", None) is None
