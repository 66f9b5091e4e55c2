"""Issue 14, findings 2 and 3.

2: appha retries its failover request with the same Idempotency-Key; control replayed the
   stored 409 for minutes after the block was acknowledged. Now a refusal about a state
   that can change is decided again on every retry.
3: two requests appha itself withdrew set an anti-flapping block. Now only switches that
   happened count (succeeded, or failed once traffic was moving).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.integration.control.conftest import Team, team_with
from tests.integration.control.helpers import Api
from tests.integration.control.peers.standins import StandIns
from tests.integration.control.test_automation_and_live import appha_client

AUTO = {"automation": {"flap_max_switches": 2},
        "approvals": {"app_failover": {"required_approvals": 0}}}


async def ask(appha: Api, app: str, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await appha.client.post("/api/v1/operations", headers=headers, json={
        "type": "app_failover", "app": app, "reason": "primary down",
        "evidence": {"direction": "switch"}})


async def blocks(team: Team) -> dict[str, Any]:
    body: dict[str, Any] = (await team.viewer.client.get("/api/v1/blocks")).json()
    return body


async def test_a_refusal_is_decided_again_once_the_block_is_acknowledged(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    async with team_with(tmp_path, standins, kafka_bootstrap, **AUTO) as team:
        appha = await appha_client(team)
        try:
            for _ in range(2):  # two switches that happened
                op = (await ask(appha, "payments")).json()
                done = await team.viewer.wait_state(op["id"], "succeeded", "step_failed")
                assert done["state"] == "succeeded"
            blocked = await ask(appha, "payments", key="appha-payments-k1")
            assert blocked.status_code == 409 and "anti-flapping" in blocked.text
            again = await ask(appha, "payments", key="appha-payments-k1")
            assert again.status_code == 409 and "Idempotent-Replayed" not in again.headers

            status = (await team.viewer.client.get("/api/v1/status")).json()
            block = status["site_group"]["blocks"]["payments"]
            assert "2 automatic switches of payments" in block["reason"]
            ack = await team.approver.client.post(
                "/api/v1/blocks/payments/acknowledge", json={"comment": "cloud fixed"},
                headers={"If-Match": await team.approver.etag()})
            assert ack.status_code == 200
            permit = await appha.client.get("/api/v1/automation/permit",
                                            params={"app": "payments"})
            assert permit.status_code == 200
            # appha's next retry, same key: the current answer, not the old 409
            retried = await ask(appha, "payments", key="appha-payments-k1")
            assert retried.status_code == 202, retried.text
            replay = await ask(appha, "payments", key="appha-payments-k1")
            assert replay.status_code == 202 and replay.headers["Idempotent-Replayed"] == "true"
            assert replay.json()["id"] == retried.json()["id"]

            # a freeze, lifted, likewise
            await team.viewer.wait_state(retried.json()["id"], "succeeded", "step_failed")
            await team.approver.client.post("/api/v1/blocks/payments/acknowledge",
                                            json={"comment": "ok"},
                                            headers={"If-Match": await team.approver.etag()})
            await team.approver.client.post("/api/v1/freeze", json={"comment": "audit day"},
                                            headers={"If-Match": await team.approver.etag()})
            frozen = await ask(appha, "social-insurance", key="appha-si-k2")
            assert frozen.status_code == 409 and "audit day" in frozen.text
            await team.approver.client.post("/api/v1/freeze/lift", json={"comment": "over"},
                                            headers={"If-Match": await team.approver.etag()})
            assert (await ask(appha, "social-insurance", key="appha-si-k2")).status_code == 202
        finally:
            await appha.close()


async def test_withdrawn_requests_do_not_count_switches_do(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    manual = {"automation": {"flap_max_switches": 2}}
    async with team_with(tmp_path, standins, kafka_bootstrap, **manual) as team:
        appha = await appha_client(team)
        try:
            for _ in range(3):  # appha withdraws each: the primary was healthy again
                op = (await ask(appha, "payments")).json()
                await team.viewer.wait_state(op["id"], "awaiting_approval")
                cancelled = await appha.client.post(f"/api/v1/operations/{op['id']}/cancel",
                                                    json={"comment": "primary healthy again"})
                assert cancelled.status_code == 200
            assert await blocks(team) == {}
            sites = (await team.viewer.client.get("/api/v1/sites")).json()
            assert sites["auto_switches"].get("payments", []) == []

            standins.appha.outcome["payments"] = "fail"  # failed before traffic moved
            op = (await ask(appha, "payments")).json()
            await team.viewer.wait_state(op["id"], "awaiting_approval")
            assert (await team.approver.approve(op["id"])).status_code == 200
            await team.viewer.wait_state(op["id"], "step_failed")
            sites = (await team.viewer.client.get("/api/v1/sites")).json()
            assert sites["auto_switches"].get("payments", []) == []
        finally:
            await appha.close()
