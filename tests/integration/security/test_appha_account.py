"""Issue 17, finding 5, through the API: appha's token opens app failovers, reports and
reads; a replay, a retry, an abort, a database switch or a freeze with it is refused."""

from __future__ import annotations

from drcontrol.model import Role

from tests.integration.control.conftest import Team
from tests.integration.control.helpers import Api


async def test_appha_token_reaches_nothing_but_app_failovers(team: Team) -> None:
    assert team.service.ctx is not None
    token = await team.service.ctx.users.add("test", "appha", Role.APPHA)
    appha = Api(team.url, token)
    try:
        replay = await appha.client.post("/api/v1/replays", json={"reason": "x"})
        assert replay.status_code == 403, replay.text
        switch = await appha.request_op("switchover", reason="not appha's")
        assert switch.status_code == 403 and "limited to app_failover" in switch.text
        for verb in ("retry", "abort"):
            answer = await appha.client.post(f"/api/v1/executions/op-000000000000/{verb}",
                                              json={"comment": "x"})
            assert answer.status_code == 403, (verb, answer.text)
        freeze = await appha.client.post("/api/v1/freeze", json={"comment": "x"},
                                         headers={"If-Match": await appha.etag()})
        assert freeze.status_code == 403
        report = await appha.client.post("/api/v1/events", json={
            "source": "appha", "app": "his", "kind": "mode_changed", "detail": {}})
        assert report.status_code == 202, report.text
        opened = await appha.request_op("app_failover", app="his", reason="his is down")
        assert opened.status_code == 202, opened.text
        mine = opened.json()["id"]
        # an operator's request for another app: appha may not withdraw it
        theirs = await team.operator.request_op("app_failover", app="portal", reason="x")
        assert theirs.status_code == 202, theirs.text
        refused = await appha.client.post(f"/api/v1/operations/{theirs.json()['id']}/cancel",
                                          json={"comment": "x"})
        assert refused.status_code == 403 and "its own requests" in refused.text
        withdrawn = await appha.client.post(f"/api/v1/operations/{mine}/cancel",
                                            json={"comment": "recovered"})
        assert withdrawn.status_code == 200, withdrawn.text
    finally:
        await appha.close()
