"""Trying to break the rules through the API: authentication, roles, four-eyes, the
evidence binding, If-Match, expiry, idempotency, the post-approval re-check."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.integration.control.conftest import Team, team_with
from tests.integration.control.peers.standins import StandIns

TWO_KEYS = {"failover": {"required_approvals": 2, "roles": ["approver", "admin"]}}


async def audit_actions(team: Team) -> list[str]:
    rows = (await team.admin.client.get("/api/v1/audit", params={"limit": 1000})).json()
    return [f"{r['action']}:{r['outcome']}" for r in rows]


async def test_unauthenticated_calls_are_refused_and_audited(team: Team) -> None:
    async with httpx.AsyncClient(base_url=team.url) as anonymous:
        assert (await anonymous.get("/api/v1/sites")).status_code == 401
        bad = await anonymous.get("/api/v1/sites",
                                  headers={"Authorization": "Bearer drc_000000000000_nope"})
        assert bad.status_code == 401 and bad.json()["detail"] == "unknown token"
    await team.service.ctx.users.revoke("test", "vic")  # type: ignore[union-attr]
    revoked = await team.viewer.client.get("/api/v1/sites")
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert (await audit_actions(team)).count("auth.failed:refused") == 3


async def test_each_role_is_held_to_its_permissions(team: Team) -> None:
    denied = await team.viewer.request_op("failover", reason="x")
    assert denied.status_code == 403 and "role viewer" in denied.json()["detail"]
    created = await team.operator.request_op("failover", reason="x")
    op_id = created.json()["id"]
    op = await team.operator.wait_state(op_id, "awaiting_approval")
    by_operator = await team.operator.approve(op_id, op["evidence_digest"])
    assert by_operator.status_code == 403
    by_admin = await team.admin.approve(op_id, op["evidence_digest"])
    assert by_admin.status_code == 403 and "needs role approver" in by_admin.json()["detail"]
    assert (await team.operator.op(op_id))["approvals"] == []
    assert "request.refused:refused" in await audit_actions(team)


async def test_four_eyes_requester_never_approves(tmp_path: Path, standins: StandIns,
                                                  kafka_bootstrap: str) -> None:
    async with team_with(tmp_path, standins, kafka_bootstrap, approvals=TWO_KEYS) as team:
        created = await team.admin.request_op("failover", reason="admin asks")
        op_id = created.json()["id"]
        op = await team.admin.wait_state(op_id, "awaiting_approval")
        own = await team.admin.approve(op_id, op["evidence_digest"])
        assert own.status_code == 403 and "four-eyes" in own.json()["detail"]
        first = await team.approver.approve(op_id, op["evidence_digest"])
        assert first.status_code == 200 and first.json()["state"] == "awaiting_approval"
        again = await team.approver.approve(op_id, op["evidence_digest"])
        assert again.status_code == 409 and "already approved" in again.json()["detail"]
        second = await team.approver2.approve(op_id, op["evidence_digest"])
        assert second.status_code == 200 and second.json()["state"] in ("approved", "running",
                                                                       "succeeded")
        done = await team.admin.wait_state(op_id, "succeeded", "failed", "step_failed")
        assert done["state"] == "succeeded"
        assert [a["user"] for a in done["approvals"]] == ["ann", "bo"]


async def test_approval_is_bound_to_the_evidence_it_read(team: Team) -> None:
    op_id = (await team.operator.request_op("failover", reason="x")).json()["id"]
    old = (await team.operator.wait_state(op_id, "awaiting_approval"))["evidence_digest"]
    wrong = await team.approver.approve(op_id, "f" * 64)
    assert wrong.status_code == 409 and "evidence changed" in wrong.json()["detail"]
    refresh = await team.operator.client.post(f"/api/v1/operations/{op_id}/evidence")
    assert refresh.status_code == 202
    while True:
        fresh = await team.operator.wait_state(op_id, "awaiting_approval")
        if fresh["evidence_digest"] != old:
            break
        await asyncio.sleep(0.05)
    stale = await team.approver.approve(op_id, old)
    assert stale.status_code == 409 and "re-read" in stale.json()["detail"]
    assert (await team.approver.approve(op_id, fresh["evidence_digest"])).status_code == 200


async def test_if_match_is_required_and_must_be_current(team: Team) -> None:
    missing = await team.operator.client.post("/api/v1/operations",
                                              json={"type": "failover", "reason": "x"})
    assert missing.status_code == 428
    etag = await team.operator.etag()
    frozen = await team.approver.client.post("/api/v1/freeze", json={"comment": "audit week"},
                                             headers={"If-Match": etag})
    assert frozen.status_code == 200 and frozen.headers["ETag"] != etag
    stale = await team.operator.client.post("/api/v1/operations",
                                            json={"type": "failover", "reason": "x"},
                                            headers={"If-Match": etag})
    assert stale.status_code == 412 and "changed since you read it" in stale.json()["detail"]
    op_id = (await team.operator.request_op("failover", reason="x")).json()["id"]
    op = await team.operator.wait_state(op_id, "awaiting_approval")
    late = await team.approver.approve(op_id, op["evidence_digest"], etag=etag)
    assert late.status_code == 412
    assert (await team.operator.op(op_id))["state"] == "awaiting_approval"


async def test_silence_means_no(tmp_path: Path, standins: StandIns, kafka_bootstrap: str
                                ) -> None:
    short = {"failover": {"window_seconds": 1.5}}
    async with team_with(tmp_path, standins, kafka_bootstrap, approvals=short) as team:
        op_id = (await team.operator.request_op("failover", reason="x")).json()["id"]
        op = await team.operator.wait_state(op_id, "awaiting_approval")
        expired = await team.operator.wait_state(op_id, "expired", timeout=10)
        assert "silence meant no" in expired["outcome"]
        late = await team.approver.approve(op_id, op["evidence_digest"])
        assert late.status_code == 410
        await asyncio.sleep(0.3)
        assert (await team.operator.op(op_id))["state"] == "expired"
        assert standins.mutating(op_id) == {}
        assert "operation.expired:rejected" in await audit_actions(team)


async def test_idempotency_key_replays_or_refuses(team: Team) -> None:
    etag = await team.operator.etag()
    headers = {"If-Match": etag, "Idempotency-Key": "req-1"}
    body = {"type": "failover", "reason": "flood"}
    first = await team.operator.client.post("/api/v1/operations", json=body, headers=headers)
    again = await team.operator.client.post("/api/v1/operations", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    other = await team.operator.client.post("/api/v1/operations",
                                            json={**body, "reason": "fire"}, headers=headers)
    assert other.status_code == 422 and "different request" in other.json()["detail"]
    ops = (await team.viewer.client.get("/api/v1/operations")).json()
    assert len(ops) == 1


async def test_recheck_after_approval_stops_before_any_step(team: Team, standins: StandIns
                                                            ) -> None:
    op_id = (await team.operator.request_op("failover", reason="x")).json()["id"]
    op = await team.operator.wait_state(op_id, "awaiting_approval")
    assert op["evidence"]["loss"]["seconds"] == 2.5
    for schema in standins.apply.schemas.values():
        schema["lag_seconds"] = 50.0
    assert (await team.approver.approve(op_id, op["evidence_digest"], seconds=10)).status_code \
        == 200
    failed = await team.operator.wait_state(op_id, "failed", "succeeded")
    assert failed["state"] == "failed"
    assert "exceeds the accepted 10" in failed["outcome"] and "no step ran" in failed["outcome"]
    assert standins.mutating(op_id) == {}
    execution = (await team.viewer.client.get(f"/api/v1/executions/{op_id}")).json()
    assert [s["state"] for s in execution["steps"]][:2] == ["failed", "pending"]


async def test_malformed_requests_are_422(team: Team) -> None:
    etag = await team.operator.etag()
    for body in ({"type": "app_failover"}, {"type": "failover", "app": "payments"},
                 {"type": "failover", "drill_of": "failover"}, {"type": "teleport"}):
        response = await team.operator.client.post("/api/v1/operations", json=body,
                                                    headers={"If-Match": etag})
        assert response.status_code == 422, body
    op_id = (await team.operator.request_op("failover", reason="x")).json()["id"]
    await team.operator.wait_state(op_id, "awaiting_approval")
    short = await team.approver.client.post(
        f"/api/v1/operations/{op_id}/approvals", headers={"If-Match": etag},
        json={"evidence_digest": "abc", "accepted_loss": {"max_seconds": -1,
                                                          "max_transactions": 0}})
    assert short.status_code == 422
