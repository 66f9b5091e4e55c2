"""Operation flows end to end against the stand-ins: drill, switchover then switchback,
a failed traffic switch with retry/skip/abort, break-glass and its review."""

from __future__ import annotations

import base64
import time
from pathlib import Path

from drcontrol.auth.totp import totp

from tests.integration.control.conftest import Team, team_with
from tests.integration.control.operations_helpers import run_to_end
from tests.integration.control.peers.standins import StandIns

TOTP_SECRET = base64.b32encode(b"break-glass-secret-for-ada").decode()


async def test_drill_changes_nothing_users_see_and_leaves_evidence(team: Team,
                                                                   standins: StandIns) -> None:
    done = await run_to_end(team, "drill", drill_of="failover")
    op_id = str(done["id"])
    assert done["state"] == "succeeded", done["outcome"]
    assert standins.mutating(op_id) == {"hold": 1, "resume": 1}
    assert standins.capture.state == "running" and standins.apply.state == "running"
    assert standins.apply.hold_scn is None
    assert all(a["active_site"] == "primary" for a in standins.appha.apps.values())
    sites = (await team.viewer.client.get("/api/v1/sites")).json()
    assert sites["database_primary"] == "primary"
    report = (await team.viewer.client.get(f"/api/v1/operations/{op_id}/report")).json()
    states = {s["id"]: s["state"] for s in report["steps"]}
    assert states["fence_source"] == "skipped" and states["switch_apps"] == "simulated"
    assert states["resume_apply"] == "succeeded" and states["stop_apply"] == "skipped"
    assert report["operation"]["drill"] is True and report["rto"]["seconds"] is not None
    assert report["rpo"]["cut_source"] == "stream" and report["rpo"]["cut_scn"] == 5000


async def test_switchover_is_lossless_and_switchback_goes_home(team: Team,
                                                               standins: StandIns) -> None:
    over = await run_to_end(team, "switchover")
    assert over["state"] == "succeeded", over["outcome"]
    report = (await team.viewer.client.get(f"/api/v1/operations/{over['id']}/report")).json()
    assert report["rpo"]["zero_data_loss"] is True
    sites = (await team.viewer.client.get("/api/v1/sites")).json()
    assert sites["database_primary"] == "standby"
    assert sites["replication"] == "standby_to_primary"
    health = await team.viewer.client.get("/healthz/primary")
    assert health.status_code == 200, health.text

    # no reverse stream here: the DR writes since the switchover are lost, so the approver
    # must accept that stated loss explicitly (issue 14, finding 5)
    created = await team.operator.request_op("switchback", reason="home again")
    back = await team.operator.wait_state(created.json()["id"], "awaiting_approval")
    refused = await team.approver.approve(back["id"], back["evidence_digest"], seconds=600)
    assert refused.status_code == 409 and "accept_unreplicated_writes" in refused.text
    accepted = await team.approver.client.post(
        f"/api/v1/operations/{back['id']}/approvals",
        headers={"If-Match": await team.approver.etag()},
        json={"evidence_digest": back["evidence_digest"], "comment": "nothing written at DR",
              "accepted_loss": {"max_seconds": 600, "max_transactions": 0,
                                "accept_unreplicated_writes": True}})
    assert accepted.status_code == 200, accepted.text
    back = await team.operator.wait_state(back["id"], "succeeded", "failed", "step_failed")
    assert back["state"] == "succeeded", back["outcome"]
    calls = standins.mutating(str(back["id"]))
    assert calls == {"switchback:social-insurance": 1, "switchback:payments": 1, "resume": 1}
    sites = (await team.viewer.client.get("/api/v1/sites")).json()
    assert sites["database_primary"] == "primary"
    assert sites["replication"] == "primary_to_standby"
    assert set(sites["apps"].values()) == {"primary"}
    skipped = {s["id"] for s in (await team.viewer.client.get(
        f"/api/v1/executions/{back['id']}")).json()["steps"] if s["state"] == "skipped"}
    assert "fence_dr" in skipped and "hold_reverse_apply" in skipped


async def test_switchover_refuses_a_cut_that_does_not_vouch_for_every_thread(
        team: Team, standins: StandIns) -> None:
    """Capture fenced with thread 2 read from archived logs only: its unarchived online
    redo may hold commits, so the switchover's zero-loss cut is refused, not claimed."""
    standins.capture.unread_threads = [2]
    over = await run_to_end(team, "switchover")
    assert over["state"] == "step_failed"
    assert "archived logs only" in str(over["outcome"]) and "[2]" in str(over["outcome"])
    assert standins.apply.hold_scn is None  # no cut was held


async def test_unverified_traffic_fails_then_retry_skip_abort(team: Team,
                                                              standins: StandIns) -> None:
    standins.appha.outcome["payments"] = "unverified"
    failed = await run_to_end(team, "failover")
    op_id = str(failed["id"])
    assert failed["state"] == "step_failed"
    assert "not verified" in str(failed["outcome"])
    execution = (await team.viewer.client.get(f"/api/v1/executions/{op_id}")).json()
    assert execution["offers"] == ["retry", "skip", "abort"]
    assert execution["steps"][-1]["state"] == "failed"

    by_operator = await team.operator.client.post(
        f"/api/v1/executions/{op_id}/skip", json={"step": "switch_apps", "comment": "meh"})
    assert by_operator.status_code == 403
    retried = await team.operator.client.post(f"/api/v1/executions/{op_id}/retry",
                                              json={"comment": "try again"})
    assert retried.status_code == 200
    again = await team.operator.wait_state(op_id, "step_failed", "succeeded")
    assert again["state"] == "step_failed"

    aborted = await team.operator.client.post(f"/api/v1/executions/{op_id}/abort",
                                              json={"comment": "giving up, manual fix"})
    assert aborted.status_code == 200 and aborted.json()["state"] == "aborted"
    report = (await team.viewer.client.get(f"/api/v1/operations/{op_id}/report")).json()
    assert report["outcome"]["state"] == "aborted" and report["traffic"]["verified"] is False
    page = await team.viewer.client.get(f"/api/v1/operations/{op_id}/report",
                                        params={"format": "html"})
    assert page.headers["content-type"].startswith("text/html") and "aborted" in page.text


async def test_admin_skip_continues_and_is_audited(team: Team, standins: StandIns) -> None:
    standins.appha.outcome["payments"] = "fail"
    failed = await run_to_end(team, "failover")
    op_id = str(failed["id"])
    assert failed["state"] == "step_failed" and "health check" in str(failed["outcome"])
    skip = await team.admin.client.post(
        f"/api/v1/executions/{op_id}/skip",
        json={"step": "switch_apps", "comment": "switched by hand, verified by phone"})
    assert skip.status_code == 200
    done = await team.operator.wait_state(op_id, "succeeded", "step_failed")
    assert done["state"] == "succeeded"
    rows = (await team.admin.client.get("/api/v1/audit", params={"action": "step.skipped"})
            ).json()
    assert rows and rows[0]["actor"] == "ada" and "by phone" in rows[0]["detail"]["comment"]


async def test_break_glass_needs_totp_and_is_flagged_for_review(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    settings = {"break_glass": {"totp_secrets": {"ada": TOTP_SECRET}}}
    async with team_with(tmp_path, standins, kafka_bootstrap, **settings) as team:
        op_id = (await team.operator.request_op("failover", reason="confirmer unreachable")
                 ).json()["id"]
        op = await team.operator.wait_state(op_id, "awaiting_approval")
        body = {"reason": "bureau confirmer unreachable for 40 min",
                "evidence_digest": op["evidence_digest"],
                "accepted_loss": {"max_seconds": 60, "max_transactions": 0}}
        url = f"/api/v1/operations/{op_id}/break-glass"
        wrong = await team.admin.client.post(url, json={**body, "totp": "000000"})
        assert wrong.status_code == 403
        by_approver = await team.approver.client.post(
            url, json={**body, "totp": totp(TOTP_SECRET, time.time())})
        assert by_approver.status_code == 403
        code = totp(TOTP_SECRET, time.time())
        ok = await team.admin.client.post(url, json={**body, "totp": code})
        assert ok.status_code == 200, ok.text
        assert ok.json()["review_required"] is True and ok.json()["break_glass"]["user"] == "ada"
        done = await team.operator.wait_state(op_id, "succeeded", "failed", "step_failed")
        assert done["state"] == "succeeded" and done["review_required"] is True

        op2 = (await team.operator.request_op("drill", reason="again")).json()["id"]
        second = await team.operator.wait_state(op2, "awaiting_approval")
        replay = await team.admin.client.post(
            f"/api/v1/operations/{op2}/break-glass",
            json={**body, "evidence_digest": second["evidence_digest"], "totp": code})
        assert replay.status_code == 403 and "already used" in replay.json()["detail"]

        own = await team.admin.client.post(f"/api/v1/operations/{op_id}/review",
                                           json={"comment": "fine"})
        assert own.status_code == 403
        reviewed = await team.approver.client.post(f"/api/v1/operations/{op_id}/review",
                                                   json={"comment": "confirmed by phone log"})
        assert reviewed.status_code == 200 and reviewed.json()["review_required"] is False
        report = (await team.viewer.client.get(f"/api/v1/operations/{op_id}/report")).json()
        assert report["operation"]["break_glass"]["user"] == "ada"
        actions = [r["action"] for r in (await team.admin.client.get(
            "/api/v1/audit", params={"target": op_id, "limit": 500})).json()]
        assert "operation.break_glass" in actions and "operation.reviewed" in actions
