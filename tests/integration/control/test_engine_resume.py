"""The engine resumes a run after its process stops mid-step, and never runs a step twice
even when two control processes share the storage."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from drcommon.errors import ConfigError
from drcontrol.service import ControlService
from drcontrol.storage.base import AuditQuery

from tests.integration.control.conftest import start_team, stop_team
from tests.integration.control.helpers import Api, settings_for
from tests.integration.control.peers.standins import StandIns

EXPECTED = {"fence": 1, "hold": 1, "stop": 1, "switch:social-insurance": 1,
            "switch:payments": 1}


async def wait_for_call(standins: StandIns, what: str, op_id: str) -> None:
    deadline = time.monotonic() + 20
    while standins.mutating(op_id)[what] == 0:
        assert time.monotonic() < deadline, f"{what} never called"
        await asyncio.sleep(0.02)


async def test_stopped_mid_call_resumes_without_repeating(tmp_path: Path, standins: StandIns,
                                                          kafka_bootstrap: str) -> None:
    settings = settings_for(tmp_path, standins, kafka_bootstrap)
    gate = standins.apply.hold_gate = asyncio.Event()
    team = await start_team(settings)
    op_id = (await team.operator.request_op("failover", reason="x")).json()["id"]
    op = await team.operator.wait_state(op_id, "awaiting_approval")
    assert (await team.approver.approve(op_id, op["evidence_digest"])).status_code == 200
    await wait_for_call(standins, "hold", op_id)
    tokens = team.tokens
    await stop_team(team)  # the runner is cancelled while apply's answer is outstanding

    standins.apply.hold_gate = None
    second = ControlService(settings)
    await second.start()
    viewer = Api(second.url, tokens["vic"])
    try:
        done = await viewer.wait_state(op_id, "succeeded", "failed", "step_failed")
        assert done["state"] == "succeeded", done["outcome"]
        assert standins.mutating(op_id) == EXPECTED
        resumed = (await viewer.client.get("/api/v1/audit",
                                           params={"action": "step.resumed"})).json()
        assert [r["target"] for r in resumed] == [f"{op_id}/hold_apply"]
        steps = (await viewer.client.get(f"/api/v1/executions/{op_id}")).json()["steps"]
        hold = next(s for s in steps if s["id"] == "hold_apply")
        assert hold["output"]["already"] is True and hold["attempts"] == 1
    finally:
        gate.set()
        await viewer.close()
        await second.stop()


async def test_two_processes_on_one_storage_run_each_step_once(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    settings = settings_for(tmp_path, standins, kafka_bootstrap)
    standins.apply.drain_seconds = 0.5
    team = await start_team(settings)
    other = ControlService(settings)
    await other.start()
    try:
        op_id = (await team.operator.request_op("failover", reason="x")).json()["id"]
        op = await team.operator.wait_state(op_id, "awaiting_approval")
        assert (await team.approver.approve(op_id, op["evidence_digest"])).status_code == 200
        done = await team.operator.wait_state(op_id, "succeeded", "failed", "step_failed")
        assert done["state"] == "succeeded", done["outcome"]
        await asyncio.sleep(0.5)
        assert standins.mutating(op_id) == EXPECTED
        finished = (await team.viewer.client.get(
            "/api/v1/audit", params={"action": "operation.succeeded"})).json()
        assert len(finished) == 1
    finally:
        await other.stop()
        await stop_team(team)


async def test_start_refuses_impossible_targets_and_audits_config_changes(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    impossible = settings_for(tmp_path, standins, kafka_bootstrap,
                              targets={"rto_seconds": 120.0, "rpo_seconds": 60.0})
    with pytest.raises(ConfigError) as refused:
        await ControlService(impossible).start()
    assert "targets.rto_seconds" in refused.value.where["key"]

    first = ControlService(settings_for(tmp_path, standins, kafka_bootstrap))
    await first.start()
    await first.stop()
    changed = settings_for(tmp_path, standins, kafka_bootstrap,
                           watch={"interval_seconds": 0.5, "lag_alert_seconds": 20.0})
    second = ControlService(changed)
    await second.start()
    try:
        assert second.ctx is not None
        records = await second.ctx.storage.audit_records(AuditQuery(action="config.changed"))
        assert [r.detail["changed_keys"] for r in records] == [
            ["(first start)"], ["watch.lag_alert_seconds"]]
    finally:
        await second.stop()
