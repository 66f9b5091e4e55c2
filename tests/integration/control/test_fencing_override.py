"""Issue 14, finding 6: a failover moved traffic on an insufficient fencing attestation
(`signals fence; insufficient`, the primary still serving) and its report said
`succeeded`, `traffic verified: True`, without a warning.

Now appha refuses to move traffic on an insufficient attestation; the run stops at the
traffic step and offers an approver's explicit, audited acceptance of a possible split
brain (not the requester's). The report's first line says what happened either way.
"""

from __future__ import annotations

from tests.integration.control.conftest import Team
from tests.integration.control.operations_helpers import run_to_end
from tests.integration.control.peers.standins import StandIns

STATEMENT = "I accept a possible split brain"


async def _stopped_on_fencing(team: Team, standins: StandIns) -> str:
    standins.appha.outcome["payments"] = "insufficient_fencing"
    done = await run_to_end(team, "failover")
    assert done["state"] == "step_failed", done["outcome"]
    assert "fencing attestation insufficient" in done["outcome"]
    assert standins.appha.apps["payments"]["active_site"] == "primary"  # nothing moved
    execution = (await team.viewer.client.get(f"/api/v1/executions/{done['id']}")).json()
    assert "accept-split-brain" in execution["offers"]
    return str(done["id"])


async def test_insufficient_fencing_stops_until_an_approver_accepts_the_risk(
        team: Team, standins: StandIns) -> None:
    op_id = await _stopped_on_fencing(team, standins)
    url = f"/api/v1/executions/{op_id}/accept-split-brain"
    body = {"statement": STATEMENT, "comment": "home site is dark, confirmed by phone"}
    by_requester = await team.operator.client.post(url, json=body)
    assert by_requester.status_code == 403, by_requester.text
    vague = await team.approver.client.post(url, json={**body, "statement": "ok"})
    assert vague.status_code == 422 and "statement" in vague.json()["detail"]
    accepted = await team.approver.client.post(url, json=body)
    assert accepted.status_code == 200, accepted.text

    done = await team.operator.wait_state(op_id, "succeeded", "failed", "step_failed")
    assert done["state"] == "succeeded", done["outcome"]
    assert done["split_brain_accepted"]["user"] == "ann"
    # the second attempt asked appha again under a new id, after lifting appha's block
    assert standins.appha.acknowledged and standins.appha.acknowledged[0][0] == "payments"
    assert (("payments", f"{op_id}.2") in standins.appha.switches)
    assert standins.appha.switches[("payments", f"{op_id}.2")].accept_split_brain.startswith(
        "ann in control")
    report = (await team.viewer.client.get(f"/api/v1/operations/{op_id}/report")).json()
    first = report["headline"]
    assert first.startswith("SUCCEEDED")
    assert "WARNING: traffic moved although fencing of the old site was insufficient for " \
           "payments; possible split brain accepted by ann" in first
    assert report["fencing"]["insufficient"] == ["payments"]
    html = (await team.viewer.client.get(f"/api/v1/operations/{op_id}/report",
                                         params={"format": "html"})).text
    assert html.index("possible split brain accepted by ann") < html.index("<h1>")
    audit = (await team.viewer.client.get(
        "/api/v1/audit", params={"action": "operation.split_brain_accepted"})).json()
    assert audit[0]["actor"] == "ann" and audit[0]["target"] == op_id


async def test_insufficient_fencing_aborted_says_traffic_did_not_move(
        team: Team, standins: StandIns) -> None:
    op_id = await _stopped_on_fencing(team, standins)
    aborted = await team.operator.client.post(f"/api/v1/executions/{op_id}/abort",
                                              json={"comment": "fence it by hand first"})
    assert aborted.status_code == 200, aborted.text
    report = (await team.viewer.client.get(f"/api/v1/operations/{op_id}/report")).json()
    assert report["headline"].startswith("ABORTED: aborted by olga")
    assert "traffic not moved: the old site's fencing attestation was insufficient" in \
        report["headline"]
