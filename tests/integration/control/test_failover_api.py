"""A full failover through the API: requested by an operator, confirmed by an approver,
run against the stand-ins, reported."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import psycopg

from tests.integration.control.conftest import Team, team_with
from tests.integration.control.operations_helpers import run_to_end
from tests.integration.control.peers.standins import StandIns


async def test_failover_runs_once_per_step_and_reports(team: Team, standins: StandIns) -> None:
    response = await team.operator.request_op("failover", reason="home site flooded")
    assert response.status_code == 202, response.text
    op_id = response.json()["id"]
    assert response.headers["Location"] == f"/api/v1/operations/{op_id}"

    op = await team.operator.wait_state(op_id, "awaiting_approval")
    assert op["evidence"]["facts"]["apply"]["reachable"] is True
    assert len(op["evidence_digest"]) == 64

    approved = await team.approver.approve(op_id, op["evidence_digest"])
    assert approved.status_code == 200, approved.text

    done = await team.operator.wait_state(op_id, "succeeded", "failed", "step_failed")
    assert done["state"] == "succeeded", done["outcome"]
    calls = standins.mutating(op_id)
    assert calls == {"fence": 1, "hold": 1, "stop": 1, "switch:social-insurance": 1,
                     "switch:payments": 1}

    report = (await team.viewer.client.get(f"/api/v1/operations/{op_id}/report")).json()
    assert report["traffic"]["verified"] is True
    assert report["rpo"]["cut_scn"] == 5000
    assert report["rpo"]["cut_source"] == "fence"
    assert report["rpo"]["zero_data_loss"] is True
    assert report["rto"]["seconds"] is not None and report["rto"]["seconds"] >= 0
    assert [s["state"] for s in report["steps"]] == ["succeeded"] * 7
    assert report["headline"] == "SUCCEEDED: every step done"

    sites = (await team.viewer.client.get("/api/v1/sites")).json()
    assert sites["database_primary"] == "standby"
    assert sites["apps"] == {"social-insurance": "standby", "payments": "standby"}


async def test_failover_with_postgresql_storage(tmp_path: Path, standins: StandIns,
                                                kafka_bootstrap: str, postgres_dsn: str) -> None:
    schema = f"ctl_{uuid.uuid4().hex[:10]}"
    storage = {"backend": "postgresql", "postgres_dsn": postgres_dsn, "postgres_schema": schema}
    try:
        async with team_with(tmp_path, standins, kafka_bootstrap, storage=storage) as team:
            done = await run_to_end(team, "failover")
            assert done["state"] == "succeeded", done["outcome"]
            assert standins.mutating(done["id"])["hold"] == 1
            verdict = (await team.viewer.client.get("/api/v1/audit/verify")).json()
            assert verdict["ok"] is True and verdict["checked"] > 10
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


async def test_fence_answered_fencing_is_waited_for_not_repeated(
        team: Team, standins: StandIns) -> None:
    """capture answers a fence before its final SCN is known; control polls the status
    for it. A fence some earlier attempt already requested is waited for, not asked again."""
    standins.capture.fence_seconds = 1.0
    done = await run_to_end(team, "failover")
    assert done["state"] == "succeeded", done["outcome"]
    assert standins.mutating(done["id"])["fence"] == 1
    execution = (await team.viewer.client.get(f"/api/v1/executions/{done['id']}")).json()
    fence = next(s for s in execution["steps"] if s["id"] == "fence_source")
    assert fence["attempts"] == 1 and fence["output"]["final_scn"] == 5000, fence


async def test_fence_requested_earlier_is_not_requested_again(
        team: Team, standins: StandIns) -> None:
    standins.capture.fence_at = time.monotonic()  # an attempt that died after asking
    done = await run_to_end(team, "failover")
    assert done["state"] == "succeeded", done["outcome"]
    assert standins.mutating(done["id"])["fence"] == 0
    report = (await team.viewer.client.get(f"/api/v1/operations/{done['id']}/report")).json()
    assert report["rpo"]["cut_scn"] == 5000 and report["rpo"]["cut_source"] == "fence"
