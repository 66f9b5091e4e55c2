"""appha's side of control (app_failover, freeze, anti-flapping, reports), the load
balancer health endpoints, the SSE stream, OpenAPI and replay."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
from drcontrol.model import Role

from tests.integration.control.conftest import Team, team_with
from tests.integration.control.helpers import Api
from tests.integration.control.peers.standins import StandIns


async def appha_client(team: Team) -> Api:
    """appha uses a service account with role appha (docs/INTERFACES.md)."""
    assert team.service.ctx is not None
    token = await team.service.ctx.users.add("test", "appha", Role.APPHA)
    return team.api(token)


async def open_app_failover(appha: Api, app: str) -> httpx.Response:
    # Exactly what drappha.adapters.control_http sends: no If-Match, no Idempotency-Key.
    return await appha.client.post("/api/v1/operations", json={
        "type": "app_failover", "app": app, "reason": "primary down 3 checks",
        "evidence": {"checks": ["http 503", "tcp refused"]}})


async def test_app_failover_from_appha_runs_and_switches_one_app(team: Team,
                                                                 standins: StandIns) -> None:
    appha = await appha_client(team)
    try:
        created = await open_app_failover(appha, "payments")
        assert created.status_code == 202, created.text
        op_id = created.json()["id"]
        op = await team.approver.wait_state(op_id, "awaiting_approval")
        assert op["evidence"]["facts"]["requester_evidence"]["checks"][0] == "http 503"
        assert (await team.approver.approve(op_id, op["evidence_digest"])).status_code == 200
        done = await team.approver.wait_state(op_id, "succeeded", "failed", "step_failed")
        assert done["state"] == "succeeded", done["outcome"]
        assert standins.mutating(op_id) == {"switch:payments": 1}
        assert standins.appha.apps["social-insurance"]["active_site"] == "primary"
        state = (await appha.client.get(f"/api/v1/operations/{op_id}")).json()["state"]
        assert state == "succeeded"
    finally:
        await appha.close()


async def test_app_failover_asking_for_a_switchback_moves_the_app_home(
        team: Team, standins: StandIns) -> None:
    """appha opens app_failover for both directions; its evidence says which."""
    standins.appha.apps["payments"]["active_site"] = "standby"
    deadline = time.monotonic() + 10
    # control's watcher records where appha says the app is (the site group's ETag moves)
    while (await team.viewer.client.get("/api/v1/sites")).json()["apps"].get(
            "payments") != "standby":
        assert time.monotonic() < deadline, "the watcher never saw payments on standby"
        await asyncio.sleep(0.1)
    appha = await appha_client(team)
    try:
        created = await appha.client.post("/api/v1/operations", json={
            "type": "app_failover", "app": "payments", "reason": "standby down 3 checks",
            "evidence": {"direction": "switchback", "from_site": "standby",
                         "to_site": "primary"}})
        assert created.status_code == 202, created.text
        op_id = created.json()["id"]
        op = await team.approver.wait_state(op_id, "awaiting_approval")
        assert (await team.approver.approve(op_id, op["evidence_digest"])).status_code == 200
        done = await team.approver.wait_state(op_id, "succeeded", "failed", "step_failed")
        assert done["state"] == "succeeded", done["outcome"]
        assert standins.mutating(op_id) == {"switchback:payments": 1}
        assert standins.appha.apps["payments"]["active_site"] == "primary"
        deadline = time.monotonic() + 10  # a watcher poll in flight may lag one interval
        while (await team.viewer.client.get("/api/v1/sites")).json()["apps"][
                "payments"] != "primary":
            assert time.monotonic() < deadline, "the site group never showed payments home"
            await asyncio.sleep(0.1)
    finally:
        await appha.close()


async def test_freeze_refuses_appha_and_flapping_blocks_until_acknowledged(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    settings: dict[str, Any] = {"automation": {"flap_max_switches": 1},
                                "approvals": {"app_failover": {"required_approvals": 0}}}
    async with team_with(tmp_path, standins, kafka_bootstrap, **settings) as team:
        appha = await appha_client(team)
        try:
            etag = await team.operator.etag()
            await team.operator.client.post("/api/v1/freeze", json={"comment": "year end"},
                                            headers={"If-Match": etag})
            assert (await appha.client.get("/api/v1/freeze")).json()["frozen"] is True
            refused = await open_app_failover(appha, "payments")
            assert refused.status_code == 409 and "year end" in refused.json()["detail"]
            permit = await appha.client.get("/api/v1/automation/permit",
                                            params={"app": "payments"})
            assert permit.status_code == 409
            lift = await team.operator.client.post(
                "/api/v1/freeze/lift", json={"comment": "done"},
                headers={"If-Match": await team.operator.etag()})
            assert lift.status_code == 403
            lifted = await team.approver.client.post(
                "/api/v1/freeze/lift", json={"comment": "year end closed"},
                headers={"If-Match": await team.approver.etag()})
            assert lifted.status_code == 200 and lifted.json()["frozen"] is False

            first = await open_app_failover(appha, "payments")
            assert first.status_code == 202
            op_id = first.json()["id"]
            done = await team.viewer.wait_state(op_id, "succeeded", "failed", "step_failed")
            assert done["state"] == "succeeded" and done["approvals"] == []
            assert standins.mutating(op_id) == {"switch:payments": 1}
            automatic = (await team.viewer.client.get("/api/v1/audit", params={
                "action": "operation.approved", "target": op_id})).json()
            assert automatic[0]["actor"] == "policy"
            flapping = await open_app_failover(appha, "payments")
            assert flapping.status_code == 409
            assert "anti-flapping" in flapping.json()["detail"]
            assert "payments" in (await team.viewer.client.get("/api/v1/blocks")).json()
            ack = await team.approver.client.post(
                "/api/v1/blocks/payments/acknowledge", json={"comment": "root cause fixed"},
                headers={"If-Match": await team.approver.etag()})
            assert ack.status_code == 200 and ack.json()["blocks"] == {}
        finally:
            await appha.close()


async def test_switches_appha_made_by_itself_count_towards_anti_flapping(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    """In auto mode appha switches without a request and reports it (what
    drappha.monitor sends); control counts those, so the permit says no at the limit."""
    settings: dict[str, Any] = {"automation": {"flap_max_switches": 2}}
    async with team_with(tmp_path, standins, kafka_bootstrap, **settings) as team:
        appha = await appha_client(team)

        async def reported(op_id: str) -> None:
            answer = await appha.client.post("/api/v1/events", json={
                "source": "appha", "app": "payments", "kind": "switch_succeeded",
                "detail": {"message": "switch succeeded", "event": None,
                           "operation": {"operation_id": op_id, "app": "payments",
                                         "direction": "switch", "state": "succeeded"}},
                "at": time.time()})
            assert answer.status_code == 202, answer.text

        async def permit() -> int:
            return (await appha.client.get("/api/v1/automation/permit",
                                           params={"app": "payments"})).status_code

        try:
            await reported("op-by-control")  # control's own operation: counted already
            await reported("auto-payments-1a2b3c")
            assert await permit() == 200
            await reported("auto-payments-4d5e6f")
            assert await permit() == 409
            counted = (await team.viewer.client.get("/api/v1/audit", params={
                "action": "automation.switch_counted"})).json()
            assert len(counted) == 2
        finally:
            await appha.close()


async def test_peer_reports_are_audited(team: Team) -> None:
    appha = await appha_client(team)
    try:
        sent = await appha.client.post("/api/v1/events", json={
            "source": "appha", "app": "payments", "kind": "mode_changed",
            "detail": {"mode": "auto"}, "at": time.time()})
        assert sent.status_code == 202
        rows = (await team.viewer.client.get("/api/v1/audit",
                                             params={"action": "peer.mode_changed"})).json()
        assert rows[0]["actor"] == "appha" and rows[0]["detail"]["detail"] == {"mode": "auto"}
        refused = await team.viewer.client.post("/api/v1/events", json={
            "source": "x", "kind": "y"})
        assert refused.status_code == 403
    finally:
        await appha.close()


async def wait_status(client: httpx.AsyncClient, path: str, code: int, **params: Any
                      ) -> httpx.Response:
    deadline = time.monotonic() + 15
    while True:
        response = await client.get(path, params=params)
        if response.status_code == code or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.1)


async def test_load_balancer_health_follows_apply_and_roles(team: Team,
                                                            standins: StandIns) -> None:
    async with httpx.AsyncClient(base_url=team.url) as lb:
        ok = await wait_status(lb, "/healthz/standby", 200, max_lag=10)
        assert ok.status_code == 200 and ok.json()["ok"] is True
        assert (await lb.get("/healthz/standby", params={"max_lag": 2})).status_code == 503
        assert (await lb.get("/healthz/primary")).status_code == 503
        assert (await lb.get("/healthz/primary", params={"site": "primary"})).status_code == 200
        standins.apply.schemas["HR"]["lag_seconds"] = 99.0
        lagging = await wait_status(lb, "/healthz/standby", 503, max_lag=10)
        assert lagging.status_code == 503 and "exceeds" in lagging.json()["reason"]
        health = await lb.get("/health")
        assert health.status_code == 200 and health.json()["status"] in ("ok", "degraded")
        metrics = await lb.get("/metrics")
        assert "dr_control_apply_lag_seconds" in metrics.text


async def test_sse_streams_live_events(team: Team) -> None:
    seen: list[dict[str, Any]] = []

    async def listen() -> None:
        async with team.viewer.client.stream("GET", "/api/v1/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            event = None
            async for line in stream.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "audit":
                    seen.append(json.loads(line[6:]))
                    if seen[-1]["action"] == "operation.requested":
                        return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.3)
    created = await team.operator.request_op("drill", reason="sse")
    await asyncio.wait_for(listener, 10)
    assert seen[-1]["target"] == created.json()["id"]


async def test_openapi_is_published_and_replay_reaches_apply(team: Team,
                                                             standins: StandIns) -> None:
    async with httpx.AsyncClient(base_url=team.url) as anonymous:  # issue 17: a login
        assert (await anonymous.get("/api/v1/openapi.json")).status_code == 401
    spec = (await team.viewer.client.get("/api/v1/openapi.json")).json()
    for path in ("/api/v1/operations", "/api/v1/operations/{op_id}/approvals",
                 "/api/v1/executions/{op_id}", "/api/v1/audit", "/api/v1/events",
                 "/api/v1/sites", "/healthz/standby", "/api/v1/budget"):
        assert path in spec["paths"], path
    replay = await team.operator.client.post("/api/v1/replays", json={
        "schemas": ["HR"], "from_scn": 4000, "target": "primary", "reason": "re-sync HR"})
    assert replay.status_code == 202 and replay.json()["replay_id"] == "r1"
    assert standins.apply.replays[0]["requested_by"] == "olga"
    assert (await team.viewer.client.post("/api/v1/replays", json={
        "reason": "x"})).status_code == 403
