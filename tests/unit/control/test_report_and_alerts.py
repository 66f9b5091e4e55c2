"""The report's RPO/RTO arithmetic and the edge-triggered alert decisions."""

from __future__ import annotations

from typing import Any

from drcontrol.engine.report import build_report, render_html
from drcontrol.model import (
    AcceptedLoss,
    Approval,
    Operation,
    OpState,
    OpType,
    Role,
    StepRecord,
    StepState,
)
from drcontrol.watch import AlertState, Reading, Snapshot, app_down, decide_alerts


def step(index: int, kind: str, output: dict[str, Any], state: StepState = StepState.SUCCEEDED,
         start: float = 0.0, end: float = 0.0) -> StepRecord:
    return StepRecord(operation_id="op-1", index=index, id=f"s{index}", kind=kind, title=kind,
                      state=state, attempts=1, started_at=start, finished_at=end, output=output)


def finished_op(op_type: OpType = OpType.FAILOVER) -> Operation:
    approval = Approval(user="ann", role=Role.APPROVER, at=100.0, evidence_digest="d" * 64,
                        accepted_loss=AcceptedLoss(max_seconds=30, max_transactions=0))
    return Operation(id="op-1", type=op_type, state=OpState.SUCCEEDED, runbook="failover",
                     requested_by="olga", requested_at=50.0, expires_at=999.0,
                     approvals=[approval], confirmed_at=100.0, started_at=101.0,
                     finished_at=190.0, evidence_digest="d" * 64)


def test_fenced_failover_reports_zero_loss_and_rto_to_verified_traffic() -> None:
    steps = [
        step(0, "precheck", {"loss": {"seconds": 3.0, "transactions": 0, "source_scn": 5000},
                             "digest": "e" * 64}, start=101, end=102),
        step(1, "capture_fence", {"final_scn": 5000}, start=102, end=103),
        step(2, "apply_hold", {"hold_scn": 5000, "cut_source": "fence"}, start=103, end=104),
        step(3, "apply_wait_holding", {"applied_scn_min": 4990, "parked": 0, "queue_depth": 0},
             start=104, end=150),
        step(4, "apps_switch", {"verified": True, "verified_at": 180.0, "apps": {"web": {}}},
             start=150, end=180),
    ]
    report = build_report(finished_op(), steps, now=200.0, rto_target=900)
    assert report["rto"]["seconds"] == 80.0 and report["rto"]["within_target"] is True
    assert report["rpo"]["zero_data_loss"] is True and report["rpo"]["scn_gap"] == 0
    assert report["traffic"]["verified"] is True
    assert [s["seconds"] for s in report["steps"]] == [1, 1, 1, 46, 30]
    page = render_html(report)
    assert "80.0 s" in page and "<script" not in page


def test_stream_cut_failover_reports_lag_as_possible_loss_and_parked_as_not_applied() -> None:
    steps = [
        step(0, "precheck", {"loss": {"seconds": 12.5, "transactions": 2, "source_scn": 7000}}),
        step(1, "capture_fence", {}, state=StepState.SKIPPED),
        step(2, "apply_hold", {"hold_scn": 6900, "cut_source": "stream"}),
        step(3, "apply_wait_holding", {"parked": 2, "queue_depth": 0}),
    ]
    report = build_report(finished_op().model_copy(update={"state": OpState.FAILED}), steps,
                          now=200.0, rto_target=900)
    rpo = report["rpo"]
    assert rpo["scn_gap"] == 100 and rpo["transactions_not_applied"] == 2
    assert rpo["seconds"] == 12.5 and rpo["zero_data_loss"] is False
    assert report["traffic"]["verified"] is False and report["rto"]["seconds"] is None


def snap(lag: float | None = 1.0, capture_state: str | None = "running",
         apps: list[dict[str, Any]] | None = None) -> Snapshot:
    apply = Reading({"state": "running", "schemas": {"HR": {"state": "running",
                                                            "lag_seconds": lag}}}, 1.0)
    capture = (Reading({"state": capture_state}, 1.0) if capture_state
               else Reading(None, 1.0, "refused"))
    return Snapshot(1.0, capture=capture, apply=apply,
                    appha=Reading(apps or [appha_app("healthy", "up")], 1.0))


def appha_app(state: str, active_status: str, active: str = "primary") -> dict[str, Any]:
    """One application as appha's GET /api/v1/apps shows it."""
    other = "standby" if active == "primary" else "primary"
    return {"name": "web", "mode": "manual", "state": state, "active_site": active,
            "sites": {active: {"status": active_status, "availability": 0.9},
                      other: {"status": "up", "availability": 1.0}}}


def test_an_app_is_down_when_its_active_site_is_down() -> None:
    assert app_down(appha_app("degraded", "down"))
    assert app_down(appha_app("on_standby", "down", active="standby"))
    assert not app_down(appha_app("healthy", "up"))
    assert not app_down(appha_app("switch_failed", "up"))  # blocked, still serving
    assert not app_down({"name": "web", "state": "healthy"})  # no site view: unknown


def test_alerts_fire_once_and_resolve() -> None:
    state, notes = decide_alerts(AlertState(), snap(lag=100), 60)
    assert [k for k, _ in notes] == ["alert.lag"] and notes[0][1]["state"] == "firing"
    state, notes = decide_alerts(state, snap(lag=120), 60)
    assert notes == []
    state, notes = decide_alerts(state, snap(lag=5, capture_state=None,
                                             apps=[appha_app("degraded", "down")]), 60)
    kinds = {(k, d["state"]) for k, d in notes}
    assert kinds == {("alert.lag", "resolved"), ("alert.capture_stopped", "firing"),
                     ("alert.app_down", "firing")}
    _, notes = decide_alerts(state, snap(lag=5), 60)
    assert {(k, d["state"]) for k, d in notes} == {("alert.capture_stopped", "resolved"),
                                                   ("alert.app_down", "resolved")}


def test_report_of_a_drill_whose_switch_was_simulated() -> None:
    """A drill's simulated switch records each app's state (a string), not a switch."""
    from drcontrol.engine.report import build_report
    from drcontrol.model import Operation, OpState, OpType, StepRecord, StepState

    op = Operation(id="op-d", type=OpType.DRILL, state=OpState.SUCCEEDED, runbook="failover",
                   drill_of=OpType.FAILOVER, requested_by="olga", requested_at=1.0,
                   expires_at=2.0, confirmed_at=1.5, finished_at=3.0, outcome="every step done")
    step = StepRecord(operation_id="op-d", index=0, id="switch_apps", kind="apps_switch",
                      title="t", state=StepState.SIMULATED,
                      output={"simulated": True, "apps": {"his": "healthy"}})
    report = build_report(op, [step], now=3.0, rto_target=900)
    assert report["headline"] == "SUCCEEDED: every step done"
    assert report["fencing"]["apps"] == {"his": None}


def test_degraded_and_failing_peers_raise_their_alerts() -> None:
    """A service waiting out a fault says ``health: degraded`` (alert.*_degraded, with its
    faults); one that needs a person says ``failing`` (capture_stopped / apply_error)."""
    kafka = [{"part": "kafka", "severity": "degraded", "error": "Kafka is unreachable"}]

    def peers(capture: str, apply: str) -> Snapshot:
        return Snapshot(1.0,
                        capture=Reading({"state": "running", "health": capture,
                                         "faults": kafka if capture != "ok" else []}, 1.0),
                        apply=Reading({"state": "running", "health": apply, "faults": [],
                                       "schemas": {}}, 1.0))  # fmt: skip

    state, notes = decide_alerts(AlertState(), peers("degraded", "degraded"), 60)
    assert {(k, d["state"]) for k, d in notes} == {("alert.capture_degraded", "firing"),
                                                   ("alert.apply_degraded", "firing")}
    assert dict(notes)["alert.capture_degraded"]["faults"] == kafka
    state, notes = decide_alerts(state, peers("failing", "failing"), 60)
    assert {(k, d["state"]) for k, d in notes} == {
        ("alert.capture_degraded", "resolved"), ("alert.apply_degraded", "resolved"),
        ("alert.capture_stopped", "firing"), ("alert.apply_error", "firing")}
    _, notes = decide_alerts(state, peers("ok", "ok"), 60)
    assert {(k, d["state"]) for k, d in notes} == {("alert.capture_stopped", "resolved"),
                                                   ("alert.apply_error", "resolved")}
