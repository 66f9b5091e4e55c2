"""The state machine, one transition at a time: each test asserts the action and its line."""

from __future__ import annotations

from dataclasses import replace

from drappha.decide import Policy, decide
from drappha.model import (
    Acknowledge,
    ActionKind,
    AppState,
    Mode,
    OperationFinished,
    Phase,
    RequestDeclined,
    SetMaintenance,
    SetMode,
    Site,
    Snapshot,
    Status,
    SwitchCommand,
)

from tests.unit.appha.views import down, unknown, up

POLICY = Policy(
    switch_after_failures=3,
    switch_after_seconds=1.0,
    grace_seconds=5.0,
    hold_down_seconds=2.0,
    min_switch_interval_seconds=60.0,
)
NOW = 100.0
MANUAL = AppState(started_at=0.0)
AUTO = AppState(mode=Mode.AUTO, started_at=0.0)


def snap(**kw: object) -> Snapshot:
    base: dict[str, object] = {
        "now": NOW,
        "primary": up(),
        "standby": up(),
        "witness": Status.UNKNOWN,
        "frozen": None,
        "auto_operation_id": "auto-1",
    }
    base.update(kw)
    return Snapshot(**base)  # type: ignore[arg-type]


PRIMARY_DOWN = down(since=NOW - 2.0, failures=4)


def test_healthy_stays_healthy() -> None:
    d = decide(POLICY, replace(MANUAL, phase=Phase.HEALTHY), snap())
    assert d.action.kind is ActionKind.NONE
    assert d.message == "primary serving and healthy"
    assert d.state.phase is Phase.HEALTHY


def test_first_failures_degrade_without_switching() -> None:
    d = decide(POLICY, MANUAL, snap(primary=down(since=NOW - 0.2, failures=3)))
    assert d.state.phase is Phase.DEGRADED
    assert d.action.kind is ActionKind.NONE
    assert "below switching threshold" in d.message
    assert "http0 failed 3/3 times for 0.2/1.0 s" in d.message


def test_count_alone_is_not_enough_duration_is_needed_too() -> None:
    d = decide(POLICY, MANUAL, snap(primary=down(since=NOW - 0.5, failures=10)))
    assert d.action.kind is ActionKind.NONE


def test_manual_threshold_opens_request_with_witness_confirmation() -> None:
    d = decide(POLICY, MANUAL, snap(primary=PRIMARY_DOWN, witness=Status.DOWN))
    assert d.action.kind is ActionKind.OPEN_REQUEST
    assert d.action.target is Site.STANDBY
    assert d.state.phase is Phase.SWITCH_RECOMMENDED
    assert "confirmed by the witness" in d.message
    assert "switch to standby recommended" in d.message


def test_manual_without_witness_view_still_asks_a_person_marked_unconfirmed() -> None:
    d = decide(POLICY, MANUAL, snap(primary=PRIMARY_DOWN, witness=Status.UNKNOWN))
    assert d.action.kind is ActionKind.OPEN_REQUEST
    assert "unconfirmed" in d.message


def test_witness_seeing_primary_stops_a_switch_and_alerts_once() -> None:
    d = decide(POLICY, MANUAL, snap(primary=PRIMARY_DOWN, witness=Status.UP))
    assert d.action.kind is ActionKind.ALERT
    assert "witness sees it serving: link cut suspected" in d.message
    again = decide(POLICY, d.state, snap(primary=PRIMARY_DOWN, witness=Status.UP))
    assert again.action.kind is ActionKind.NONE
    assert again.state.phase is Phase.DEGRADED


def test_unhealthy_standby_blocks_and_alerts() -> None:
    d = decide(
        POLICY,
        AUTO,
        snap(primary=PRIMARY_DOWN, standby=down(NOW - 9, 9), witness=Status.DOWN, frozen=False),
    )
    assert d.action.kind is ActionKind.ALERT
    assert d.message == "primary down but standby is not healthy: not switching"
    assert d.state.phase is Phase.DEGRADED


def test_auto_switches_when_witness_agrees_and_no_freeze() -> None:
    d = decide(POLICY, AUTO, snap(primary=PRIMARY_DOWN, witness=Status.DOWN, frozen=False))
    assert d.action.kind is ActionKind.START_SWITCH
    assert d.action.operation_id == "auto-1"
    assert d.state.phase is Phase.SWITCHING
    assert d.state.last_switch_at == NOW
    assert d.message.endswith("automatic switch to standby")


def test_auto_needs_a_second_vantage_point() -> None:
    d = decide(POLICY, AUTO, snap(primary=PRIMARY_DOWN, witness=Status.UNKNOWN, frozen=False))
    assert d.action.kind is ActionKind.ALERT
    assert "no second vantage point confirms it" in d.message


def test_auto_respects_freeze_and_unknown_freeze() -> None:
    frozen = decide(POLICY, AUTO, snap(primary=PRIMARY_DOWN, witness=Status.DOWN, frozen=True))
    assert frozen.action.kind is ActionKind.ALERT
    assert "forbids automatic switching (freeze or block)" in frozen.message
    unknown_freeze = decide(POLICY, AUTO, snap(primary=PRIMARY_DOWN, witness=Status.DOWN))
    assert unknown_freeze.action.kind is ActionKind.ALERT
    assert "freeze state is unknown" in unknown_freeze.message


def test_grace_and_maintenance_hold_back_quietly() -> None:
    young = replace(AUTO, started_at=NOW - 1.0)
    d = decide(POLICY, young, snap(primary=PRIMARY_DOWN, witness=Status.DOWN, frozen=False))
    assert d.action.kind is ActionKind.NONE and "start-up grace" in d.message
    maint = replace(AUTO, maintenance=True)
    d = decide(POLICY, maint, snap(primary=PRIMARY_DOWN, witness=Status.DOWN, frozen=False))
    assert d.action.kind is ActionKind.NONE and "maintenance mode" in d.message


def test_success_moves_active_site_and_blocks_until_acknowledged() -> None:
    switching = decide(
        POLICY, AUTO, snap(primary=PRIMARY_DOWN, witness=Status.DOWN, frozen=False)
    ).state
    done = decide(POLICY, switching, snap(intent=OperationFinished("auto-1", Site.STANDBY, True)))
    assert done.action.kind is ActionKind.FINISHED
    assert done.state.phase is Phase.ON_STANDBY
    assert done.state.active is Site.STANDBY
    assert done.state.blocked is not None
    assert done.message == "switch auto-1 succeeded: traffic verified on standby"
    back = SwitchCommand(Site.PRIMARY, "op-2", "alice")
    later = NOW + 120
    refused = decide(POLICY, done.state, snap(now=later, intent=back))
    assert refused.action.kind is ActionKind.REFUSE
    assert refused.action.reason is not None and refused.action.reason.startswith("blocked")
    acked = decide(POLICY, done.state, snap(now=later, intent=Acknowledge("alice", "checked")))
    assert acked.action.kind is ActionKind.RECORD
    assert acked.message == "block lifted by alice: checked"
    go = decide(POLICY, acked.state, snap(now=later, intent=back))
    assert go.action.kind is ActionKind.START_SWITCH
    assert go.state.phase is Phase.SWITCHING_BACK


def test_minimum_interval_between_switches() -> None:
    on_standby = AppState(
        phase=Phase.ON_STANDBY, active=Site.STANDBY, last_switch_at=NOW - 10, started_at=0.0
    )
    d = decide(POLICY, on_standby, snap(intent=SwitchCommand(Site.PRIMARY, "op", "bob")))
    assert d.action.kind is ActionKind.REFUSE
    assert d.action.reason == "the last switch was less than the minimum interval ago"


def test_acknowledgement_needs_a_comment_and_something_to_lift() -> None:
    blocked = replace(MANUAL, blocked="x")
    assert (
        decide(POLICY, blocked, snap(intent=Acknowledge("a", "  "))).action.kind
        is ActionKind.REFUSE
    )
    assert (
        decide(POLICY, MANUAL, snap(intent=Acknowledge("a", "ok"))).action.kind is ActionKind.REFUSE
    )


def test_failed_switch_alerts_and_parks_until_acknowledged() -> None:
    switching = replace(
        AUTO, phase=Phase.SWITCHING, operation_id="op", operation_target=Site.STANDBY
    )
    d = decide(
        POLICY,
        switching,
        snap(intent=OperationFinished("op", Site.STANDBY, False, "verify_traffic failed: x")),
    )
    assert d.state.phase is Phase.SWITCH_FAILED
    assert d.state.active is Site.PRIMARY
    assert d.state.alert == d.message == "switch op to standby failed: verify_traffic failed: x"
    stuck = decide(POLICY, d.state, snap(primary=PRIMARY_DOWN, witness=Status.DOWN, frozen=False))
    assert stuck.action.kind is ActionKind.NONE
    acked = decide(POLICY, d.state, snap(intent=Acknowledge("ops", "traffic checked by hand")))
    assert acked.state.phase is Phase.HEALTHY and acked.state.blocked is None


def test_hold_down_before_healthy_again() -> None:
    degraded = replace(MANUAL, phase=Phase.DEGRADED)
    soon = decide(POLICY, degraded, snap(primary=up(since=NOW - 1.0)))
    assert soon.state.phase is Phase.DEGRADED and "hold-down" in soon.message
    later = decide(POLICY, degraded, snap(primary=up(since=NOW - 3.0)))
    assert later.state.phase is Phase.HEALTHY
    assert later.message.startswith("primary healthy again")


def test_declined_request_suppresses_new_requests_until_recovery() -> None:
    recommended = decide(POLICY, MANUAL, snap(primary=PRIMARY_DOWN, witness=Status.DOWN)).state
    declined = decide(POLICY, recommended, snap(intent=RequestDeclined("r1", "rejected")))
    assert declined.state.phase is Phase.DEGRADED and declined.state.suppressed
    again = decide(POLICY, declined.state, snap(primary=PRIMARY_DOWN, witness=Status.DOWN))
    assert again.action.kind is ActionKind.NONE
    assert "request was declined" in again.message
    recovered = decide(POLICY, again.state, snap(primary=up(since=NOW - 5)))
    assert recovered.state.phase is Phase.HEALTHY and not recovered.state.suppressed


def test_mode_change_to_auto_refused_without_prerequisites() -> None:
    d = decide(POLICY, MANUAL, snap(intent=SetMode(Mode.AUTO, "carol", "night shift", False)))
    assert d.action.kind is ActionKind.REFUSE
    ok = decide(POLICY, MANUAL, snap(intent=SetMode(Mode.AUTO, "carol", "night shift", True)))
    assert ok.action.kind is ActionKind.RECORD and ok.state.mode is Mode.AUTO
    assert ok.message == "mode changed to auto by carol: night shift"


def test_maintenance_is_recorded() -> None:
    d = decide(POLICY, MANUAL, snap(intent=SetMaintenance(True, "dave", "patching")))
    assert d.state.maintenance and d.action.kind is ActionKind.RECORD
    assert d.message == "maintenance on by dave: patching"


def test_command_towards_unhealthy_or_unknown_site_is_refused() -> None:
    cmd = SwitchCommand(Site.STANDBY, "op", "erin")
    d = decide(POLICY, MANUAL, snap(standby=unknown(), intent=cmd))
    assert (
        d.action.kind is ActionKind.REFUSE and d.action.reason == "standby is not healthy (unknown)"
    )
    already = decide(POLICY, MANUAL, snap(intent=SwitchCommand(Site.PRIMARY, "op", "erin")))
    assert already.action.reason == "already running on primary"


def test_stale_operation_end_is_ignored() -> None:
    d = decide(POLICY, MANUAL, snap(intent=OperationFinished("old", Site.STANDBY, True)))
    assert d.state == MANUAL
    assert d.message.startswith("ignored the end of operation old")


def test_standby_unhealthy_while_healthy_raises_alert_then_clears() -> None:
    d = decide(POLICY, MANUAL, snap(standby=down(NOW - 5, 5)))
    assert d.action.kind is ActionKind.ALERT
    assert d.message == "standby unhealthy: a switch would not be possible now"
    cleared = decide(POLICY, d.state, snap())
    assert cleared.state.alert is None
