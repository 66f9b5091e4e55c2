"""Issue 14, finding 9: drctl and API rough edges, each reproduced with the real drctl
against a running control (stand-in peers in this loop)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from typing import Any

from tests.integration.control.conftest import Team
from tests.integration.control.operations_helpers import run_to_end
from tests.integration.control.peers.standins import StandIns
from tests.integration.control.process import cli


async def drctl(team: Team, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRCONTROL", "DRCTL"))}
    return await asyncio.to_thread(cli, env, *args, token=team.tokens[user], url=team.url)


async def test_numbers_are_formatted_and_unknowns_say_so(team: Team,
                                                         standins: StandIns) -> None:
    done = await run_to_end(team, "failover")
    report = await drctl(team, "vic", "failover", "report", done["id"])
    assert report.returncode == 0, report.stderr
    rto = next(line for line in report.stdout.splitlines() if line.startswith("RTO "))
    number = rto.split()[1]
    assert len(number.split(".")[1]) == 1, rto  # one decimal, not 62.44196009635925
    rpo = next(line for line in report.stdout.splitlines() if line.startswith("RPO: "))
    assert rpo.startswith("RPO: 0.0 s of source commits"), rpo  # the seconds are there

    cancelled = (await team.operator.request_op("switchback", reason="x")).json()
    await team.operator.wait_state(cancelled["id"], "awaiting_approval")
    await team.operator.client.post(f"/api/v1/operations/{cancelled['id']}/cancel",
                                    json={"comment": "not yet"})
    shown = await drctl(team, "vic", "switchback", "show", cancelled["id"])
    assert "approval window closes" not in shown.stdout
    assert "estimated loss: " in shown.stdout and "None" not in shown.stdout

    await standins.servers["apply"].stop()  # apply becomes unreachable
    op = (await team.operator.request_op("failover", reason="apply gone")).json()
    await team.operator.wait_state(op["id"], "awaiting_approval")
    shown = await drctl(team, "vic", "failover", "show", op["id"])
    assert "apply unreachable: apply unreachable" not in shown.stdout
    assert "estimated loss: unknown" in shown.stdout
    assert "lag None" not in shown.stdout and "None s" not in shown.stdout

    async def lag_unknown() -> dict[str, Any]:
        for _ in range(100):
            body: dict[str, Any] = (await team.viewer.client.get("/api/v1/status")).json()
            if body["lag"]["seconds"] is None:
                return body
            await asyncio.sleep(0.1)
        raise AssertionError("lag still shown as current after apply became unreachable")

    status = await lag_unknown()
    assert status["lag"]["unknown_since"] is not None
    text = (await drctl(team, "vic", "status")).stdout
    assert "apply lag: unknown since " in text and "lag None" not in text


async def test_the_role_is_checked_before_the_body(team: Team) -> None:
    etag = await team.viewer.etag()
    for path, body in (("/api/v1/operations", {"type": "teleport"}),
                       ("/api/v1/freeze/lift", {"comment": ""}),
                       ("/api/v1/operations/op-x/approvals", {"nonsense": True})):
        answer = await team.viewer.client.post(path, json=body, headers={"If-Match": etag})
        assert answer.status_code == 403, (path, answer.text)
        assert isinstance(answer.json()["detail"], str)
    invalid = await team.operator.client.post("/api/v1/operations", json={"type": "teleport"},
                                              headers={"If-Match": etag})
    assert invalid.status_code == 422
    assert invalid.json()["detail"].startswith("invalid request: body.type")
