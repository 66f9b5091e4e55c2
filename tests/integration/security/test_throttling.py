"""Issue 17, finding 6: failed authentication is limited per client address and per
token id (429 with Retry-After), summarised in the audit, and break-glass codes are
limited per user with an audited lockout."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from drcontrol.auth.tokens import mint
from drcontrol.auth.totp import totp

from tests.integration.control.conftest import team_with
from tests.integration.control.peers.standins import StandIns

TOTP_SECRET = "JBSWY3DPEHPK3PXP"
def client_from(url: str, address: str) -> httpx.AsyncClient:
    """A client whose requests come from ``address`` (any of 127.0.0.0/8)."""
    return httpx.AsyncClient(base_url=url, timeout=10,
                             transport=httpx.AsyncHTTPTransport(local_address=address))


AUTH = {"max_failures": 5, "failure_window_seconds": 60, "lockout_seconds": 30,
        "totp_max_failures": 3, "totp_lockout_seconds": 60}


async def test_300_bad_tokens_are_not_all_checked_nor_all_audited(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    async with team_with(tmp_path, standins, kafka_bootstrap, auth=AUTH) as team, \
            client_from(team.url, "127.0.0.2") as raw:
        answers = []
        for _ in range(300):
            guess = mint().text  # a fresh well-formed token each time: another token id
            answers.append(await raw.get("/api/v1/sites",
                                         headers={"Authorization": f"Bearer {guess}"}))
        codes = [a.status_code for a in answers]
        assert codes[:5] == [401] * 5 and codes[5] == 401  # the 6th failure locks
        assert set(codes[6:]) == {429}
        wait = int(answers[-1].headers["Retry-After"])
        assert 1 <= wait <= 30
        # a body is refused the same way, before it is read
        posted = await raw.post("/api/v1/operations", json={"type": "failover"},
                                headers={"Authorization": f"Bearer {mint().text}"})
        assert posted.status_code == 429 and "Retry-After" in posted.headers
        audit = (await team.admin.client.get("/api/v1/audit", params={"limit": 1000})).json()
        failed = [r for r in audit if r["action"] == "auth.failed"]
        locked = [r for r in audit if r["action"] == "auth.locked_out"]
        assert len(failed) <= 6, f"{len(failed)} rows for 300 guesses"
        assert [r["target"] for r in locked] == ["client:127.0.0.2"]
        assert locked[0]["detail"]["failures"] == 6


async def test_one_token_id_guessed_from_many_places_is_locked(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    async with team_with(tmp_path, standins, kafka_bootstrap, auth=AUTH) as team:
        real = team.tokens["vic"]
        token_id = real.split("_")[1]
        forged = {"Authorization": f"Bearer drc_{token_id}_" + "A" * 43}
        codes = []
        for address in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            async with client_from(team.url, address) as guesser:  # 2 tries each: no
                for _ in range(2):  # address reaches its own limit, the token id does
                    codes.append((await guesser.get("/api/v1/sites", headers=forged)
                                  ).status_code)
        assert codes == [401] * 6
        async with client_from(team.url, "127.0.0.5") as other:
            assert (await other.get("/api/v1/sites", headers=forged)).status_code == 429
            # the real holder waits too while the id is under attack
            answer = await other.get("/api/v1/sites", headers={"Authorization": f"Bearer {real}"})
            assert answer.status_code == 429


async def test_break_glass_codes_are_limited_and_the_lockout_is_audited(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    settings = {"break_glass": {"totp_secrets": {"ada": TOTP_SECRET}}, "auth": AUTH}
    async with team_with(tmp_path, standins, kafka_bootstrap, **settings) as team:
        op_id = (await team.operator.request_op("failover", reason="confirmer unreachable")
                 ).json()["id"]
        op = await team.operator.wait_state(op_id, "awaiting_approval")
        body = {"reason": "bureau confirmer unreachable", "evidence_digest": op["evidence_digest"],
                "accepted_loss": {"max_seconds": 60, "max_transactions": 0}}
        url = f"/api/v1/operations/{op_id}/break-glass"
        right = totp(TOTP_SECRET, time.time())
        wrong = f"{(int(right) + 500000) % 1000000:06d}"
        codes = [(await team.admin.client.post(url, json={**body, "totp": wrong})).status_code
                 for _ in range(4)]
        assert codes == [403, 403, 403, 403]  # the 4th wrong code locks
        locked = await team.admin.client.post(url, json={**body, "totp": right})
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) <= 60
        audit = (await team.admin.client.get(
            "/api/v1/audit", params={"action": "break_glass.locked"})).json()
        assert len(audit) == 1 and audit[0]["actor"] == "ada"
        assert audit[0]["detail"]["failures"] == 4
