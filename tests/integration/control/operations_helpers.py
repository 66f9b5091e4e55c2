"""Driving an operation from request to its end through the API."""

from __future__ import annotations

from typing import Any

from tests.integration.control.conftest import Team


async def run_to_end(team: Team, type_: str, **body: object) -> dict[str, Any]:
    created = await team.operator.request_op(type_, reason="test", **body)
    assert created.status_code == 202, created.text
    op_id = created.json()["id"]
    op = await team.operator.wait_state(op_id, "awaiting_approval")
    assert op["evidence"]["checks"], op
    approved = await team.approver.approve(op_id, op["evidence_digest"])
    assert approved.status_code == 200, approved.text
    return await team.operator.wait_state(op_id, "succeeded", "failed", "step_failed")
