"""Issue 14, finding 5: a switchback without a reverse stream claimed zero loss, skipped its
drain steps, recorded the roles home, then failed to move the application (412) — leaving
the database primary at home, replication home → DR, apply stopped and the application
still at the DR site.

Now (1) a switchback whose reverse stream cannot drain home is refused unless the approver
accepts the loss the evidence states (seconds since the DR site became primary), and (2)
every step of the failover, switchover and switchback runbooks is driven to failure here,
and the site group must be consistent afterwards: the applications where the database
primary is, replication never recorded as flowing into the primary."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from drcontrol.sitegroup import SiteGroupState, inconsistency

from tests.integration.control.conftest import Team, team_with
from tests.integration.control.operations_helpers import run_to_end
from tests.integration.control.peers.standins import StandIns


def reset(standins: StandIns) -> None:
    """The peers as before any operation (the site group keeps what the runs recorded)."""
    standins.log.fail.clear()
    standins.capture.state, standins.capture.fence_at = "running", None
    apply = standins.apply
    apply.state, apply.hold_scn, apply.hold_at, apply.error_after_hold = "running", None, \
        None, False
    standins.appha.outcome.clear()


async def sites(team: Team) -> dict[str, Any]:
    body: dict[str, Any] = (await team.viewer.client.get("/api/v1/sites")).json()
    return body


async def fail_at(team: Team, standins: StandIns, type_: str, step: str,
                  inject: dict[str, Any]) -> dict[str, Any]:
    """Run ``type_`` with ``inject`` in place; it must stop at ``step``; abort it."""
    reset(standins)
    standins.log.fail.update(inject.get("fail", ()))
    standins.apply.error_after_hold = bool(inject.get("error_after_hold"))
    standins.appha.outcome.update(inject.get("appha", {}))
    done = await run_to_end(team, type_)
    assert done["state"] == "step_failed", (type_, step, done["state"], done["outcome"])
    execution = (await team.viewer.client.get(f"/api/v1/executions/{done['id']}")).json()
    failed = [s["id"] for s in execution["steps"] if s["state"] == "failed"]
    assert failed == [step], (type_, step, failed)
    aborted = await team.operator.client.post(f"/api/v1/executions/{done['id']}/abort",
                                              json={"comment": "failure test"})
    assert aborted.status_code == 200, aborted.text
    deadline = time.monotonic() + 3.0  # the watcher records where appha says apps are
    while True:
        group = await sites(team)
        state = SiteGroupState.model_validate({k: v for k, v in group.items()
                                               if k in SiteGroupState.model_fields})
        why = inconsistency(state)
        if why is None:
            return group
        assert time.monotonic() < deadline, (type_, step, why, group)
        await asyncio.sleep(0.1)


FORWARD = [  # (step, injection) for failover and switchover
    ("fence_source", {"fail": {"capture.fence"}}),
    ("hold_apply", {"fail": {"apply.hold"}}),
    ("wait_holding", {"error_after_hold": True}),
    ("stop_apply", {"fail": {"apply.stop"}}),
    ("switch_apps", {"appha": {"payments": "fail"}}),
]
BACK = [
    ("fence_dr", {"fail": {"capture.fence"}}),
    ("hold_reverse_apply", {"fail": {"apply.hold"}}),
    ("wait_reverse_holding", {"error_after_hold": True}),
    ("stop_reverse_apply", {"fail": {"apply.stop"}}),
    ("switchback_apps", {"appha": {"payments": "fail"}}),
    ("resume_apply", {"fail": {"apply.resume"}}),
]


@pytest.mark.timeout(600)
async def test_every_step_failing_leaves_a_consistent_site_group(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    peer = {"token": standins.token}
    reverse = {"reverse_capture": {"url": standins.url("capture"), **peer},
               "reverse_apply": {"url": standins.url("apply"), **peer}}
    fast = {"poll_interval_seconds": 0.05, "lease_seconds": 2.0,
            "step_poll_interval_seconds": 0.02, "retry_delay_seconds": 0.02}
    async with team_with(tmp_path, standins, kafka_bootstrap, engine=fast,
                         peers={**reverse,
                                "capture": {"url": standins.url("capture"), **peer},
                                "apply": {"url": standins.url("apply"), **peer},
                                "appha": {"url": standins.url("appha"), **peer}}) as team:
        for type_ in ("failover", "switchover"):
            for step, inject in FORWARD:
                group = await fail_at(team, standins, type_, step, inject)
                assert group["database_primary"] == "primary", (type_, step)
                assert set(group["apps"].values()) <= {"primary"}, (type_, step, group)
        # social-insurance had moved when payments failed: it was put back, twice
        assert [c[0] for c in standins.appha.compensations] == ["social-insurance"] * 2
        # switch_apps failed last: nothing moved; the run is redone cleanly, then home again
        reset(standins)
        moved = await run_to_end(team, "failover")
        assert moved["state"] == "succeeded", moved["outcome"]
        assert (await sites(team))["database_primary"] == "standby"
        for step, inject in BACK:
            group = await fail_at(team, standins, "switchback", step, inject)
            expected = "primary" if step == "resume_apply" else "standby"
            assert group["database_primary"] == expected, (step, group)
            assert set(group["apps"].values()) == {expected}, (step, group)


async def test_switchback_without_a_reverse_stream_needs_the_stated_loss_accepted(
        team: Team, standins: StandIns) -> None:
    moved = await run_to_end(team, "failover")
    assert moved["state"] == "succeeded", moved["outcome"]
    reset(standins)
    created = await team.operator.request_op("switchback", reason="home is back")
    op_id = created.json()["id"]
    op = await team.operator.wait_state(op_id, "awaiting_approval")
    checks = {c["name"]: c for c in op["evidence"]["checks"]}
    assert checks["reverse_stream_ready"]["ok"] is False
    assert "no reverse stream drains" in checks["reverse_stream_ready"]["detail"]
    loss = op["evidence"]["loss"]
    assert isinstance(loss["seconds"], float) and loss["seconds"] >= 0  # computed, not None
    assert "every write at the DR site since it became primary" in loss["basis"]

    plain = await team.approver.approve(op_id, op["evidence_digest"], seconds=3600)
    assert plain.status_code == 409, plain.text
    assert "accept exactly that (accept_unreplicated_writes" in plain.json()["detail"]
    body = {"evidence_digest": op["evidence_digest"], "comment": "DR writes re-keyed by hand",
            "accepted_loss": {"max_seconds": 3600, "max_transactions": 0,
                              "accept_unreplicated_writes": True}}
    accepted = await team.approver.client.post(f"/api/v1/operations/{op_id}/approvals",
                                               json=body,
                                               headers={"If-Match": await team.approver.etag()})
    assert accepted.status_code == 200, accepted.text
    done = await team.operator.wait_state(op_id, "succeeded", "failed", "step_failed")
    assert done["state"] == "succeeded", done["outcome"]
    group = await sites(team)
    assert group["database_primary"] == "primary" and group["replication"] == \
        "primary_to_standby"
    assert set(group["apps"].values()) == {"primary"}
