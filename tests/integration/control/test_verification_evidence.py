"""The failover evidence carries apply's last verification of the DR copy (per schema:
SCN, age, differences), as an informational check; an approval given after a
verification that found differences says so, in the operation and in the audit."""

from __future__ import annotations

from typing import Any

from tests.integration.control.conftest import Team
from tests.integration.control.peers.standins import StandIns


def _verified(differences: int) -> dict[str, Any]:
    return {"verified_at": "2026-12-07T02:00:00+00:00", "age_seconds": 90.0,
            "oldest_age_seconds": 90.0, "scn": 4990, "tables": 3, "differences": differences,
            "tables_differing": ["HR.EMP"] if differences else [], "stale": False,
            "sampled": False, "run_id": "verify-7"}  # fmt: skip


async def test_evidence_shows_the_verification_and_the_approval_says_it_differed(
    team: Team, standins: StandIns
) -> None:
    standins.apply.verification = {"HR": _verified(2), "FIN": _verified(0)}
    response = await team.operator.request_op("failover", reason="drill of the approval")
    assert response.status_code == 202, response.text
    op_id = response.json()["id"]
    op = await team.operator.wait_state(op_id, "awaiting_approval")
    facts = op["evidence"]["facts"]["apply"]["verification"]
    assert facts["per_schema"]["HR"]["scn"] == 4990 and facts["differences"] == 2
    check = next(c for c in op["evidence"]["checks"] if c["name"] == "dr_copy_verified")
    assert check["ok"] is False and check["required"] is False
    assert "found 2 difference(s)" in check["detail"] and "HR.EMP" in check["detail"]

    approved = await team.approver.approve(op_id, op["evidence_digest"])
    assert approved.status_code == 200, approved.text
    approval = approved.json()["approvals"][0]
    assert approval["caveats"] == [f"approved although {check['detail']}"]
    audit = (await team.viewer.client.get("/api/v1/audit", params={"q": op_id})).json()
    records = audit["records"] if isinstance(audit, dict) else audit
    entry = next(r for r in records if r["action"] == "operation.approved")
    assert "approved although" in str(entry)
    done = await team.operator.wait_state(op_id, "succeeded", "failed", "step_failed")
    assert done["approvals"][0]["caveats"] == approval["caveats"]
