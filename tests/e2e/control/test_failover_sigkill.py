"""A full failover through the API by two different people, with the control process
SIGKILLed twice in the middle of the runbook: once while apply's answer to ``hold`` is
still outstanding (the effect happened, control never learnt it), once while waiting for
apply to drain. Each restart resumes from the stored step states after the dead
process's lease runs out; every peer sees each mutating call exactly once per operation
id, and the report is correct."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from tests.integration.control.peers.standins import StandIns
from tests.integration.control.process import ControlProcess, cli, environment, write_config

EXPECTED = {"fence": 1, "hold": 1, "stop": 1, "switch:social-insurance": 1,
            "switch:payments": 1}


async def until(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def step_state(client: httpx.AsyncClient, op_id: str, step: str) -> str:
    execution = (await client.get(f"/api/v1/executions/{op_id}")).json()
    return next((s["state"] for s in execution["steps"] if s["id"] == step), "absent")


async def test_failover_survives_sigkill_and_runs_each_step_once(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    config = write_config(tmp_path, standins, kafka_bootstrap)
    env = environment(standins, config)
    tokens = {}
    for name, role in (("olga", "operator"), ("ann", "approver")):
        added = await asyncio.to_thread(cli, env, "user", "add", name, "--role", role,
                                        program="drcontrol")
        assert added.returncode == 0, added.stderr
        tokens[name] = {"Authorization": f"Bearer {added.stdout.strip()}"}
    process = ControlProcess(config, env, tmp_path / "control.log")
    await asyncio.to_thread(process.start)
    gate = standins.apply.hold_gate = asyncio.Event()
    standins.apply.drain_seconds = 10_000.0  # never drains until the test says so
    olga = httpx.AsyncClient(base_url=process.url, headers=tokens["olga"], timeout=15)
    ann = httpx.AsyncClient(base_url=process.url, headers=tokens["ann"], timeout=15)
    try:
        etag = (await olga.get("/api/v1/sites")).headers["ETag"]
        created = await olga.post("/api/v1/operations", headers={"If-Match": etag},
                                  json={"type": "failover", "reason": "home site lost"})
        assert created.status_code == 202, created.text
        op_id = created.json()["id"]

        async def evidence() -> Any:
            op = (await olga.get(f"/api/v1/operations/{op_id}")).json()
            return op if op["state"] == "awaiting_approval" else None

        op = await until(evidence, "evidence")
        own = await olga.post(f"/api/v1/operations/{op_id}/approvals", json={
            "evidence_digest": op["evidence_digest"],
            "accepted_loss": {"max_seconds": 60, "max_transactions": 0}})
        assert own.status_code in (403, 428)
        etag = (await ann.get("/api/v1/sites")).headers["ETag"]
        approved = await ann.post(f"/api/v1/operations/{op_id}/approvals",
                                  headers={"If-Match": etag}, json={
                                      "evidence_digest": op["evidence_digest"],
                                      "accepted_loss": {"max_seconds": 60,
                                                        "max_transactions": 0}})
        assert approved.status_code == 200, approved.text

        # Kill 1: apply has applied the hold but control is still waiting for its answer.
        async def hold_seen() -> bool:
            return standins.mutating(op_id)["hold"] == 1

        await until(hold_seen, "the hold call")
        await asyncio.to_thread(process.kill)
        gate.set()
        standins.apply.hold_gate = None
        await asyncio.to_thread(process.start)

        # Kill 2: while the resumed run waits for apply to drain.
        async def draining() -> bool:
            return await step_state(olga, op_id, "wait_holding") == "running"

        await until(draining, "wait_holding to run after the restart")
        await asyncio.to_thread(process.kill)
        standins.apply.drain_seconds = 0.0
        await asyncio.to_thread(process.start)

        async def ended() -> Any:
            op = (await olga.get(f"/api/v1/operations/{op_id}")).json()
            return op if op["state"] in ("succeeded", "failed", "step_failed") else None

        done = await until(ended, "the end of the run", timeout=90)
        assert done["state"] == "succeeded", done["outcome"]
        assert standins.mutating(op_id) == EXPECTED
        assert [a["user"] for a in done["approvals"]] == ["ann"]

        report = (await olga.get(f"/api/v1/operations/{op_id}/report")).json()
        assert report["outcome"]["state"] == "succeeded"
        assert report["traffic"]["verified"] is True
        assert report["rpo"] == {**report["rpo"], "cut_scn": 5000, "cut_source": "fence",
                                 "source_scn_known": 5000, "scn_gap": 0,
                                 "transactions_not_applied": 0, "zero_data_loss": True}
        assert report["rto"]["seconds"] is not None and report["rto"]["seconds"] > 0
        steps = {s["id"]: s for s in report["steps"]}
        assert all(s["state"] == "succeeded" for s in steps.values())
        assert steps["hold_apply"]["attempts"] == 1
        assert "already holds" in steps["hold_apply"]["note"]

        resumed = (await olga.get("/api/v1/audit", params={"action": "step.resumed"})).json()
        assert sorted(r["target"] for r in resumed) == [f"{op_id}/hold_apply",
                                                        f"{op_id}/wait_holding"]
        assert (await olga.get("/api/v1/audit/verify")).json()["ok"] is True
        finished = (await olga.get("/api/v1/audit",
                                   params={"action": "operation.succeeded"})).json()
        assert len(finished) == 1
    finally:
        gate.set()
        await olga.aclose()
        await ann.aclose()
        await asyncio.to_thread(process.stop)
