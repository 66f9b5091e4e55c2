"""The witness service and the HTTP clients of witness and control, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from drappha.adapters.control_http import HttpControlClient
from drappha.adapters.witness_http import HttpWitness
from drappha.errors import PeerUnavailable, RequestRefused
from drappha.model import Status
from drappha.settings import ControlPeer, WitnessPeer, WitnessSettings
from drappha.witness import WitnessService
from drcommon.config import load_settings

from tests.integration.appha.rig import HOST, AppServer, ControlServer

TOKEN = "witness-token-abcdefghijkl"


def witness_settings(port: int) -> WitnessSettings:
    check = {
        "kind": "http",
        "url": f"http://{HOST}:{port}/health",
        "interval_seconds": 2,
        "timeout_seconds": 0.5,
    }
    return load_settings(
        WitnessSettings,
        None,
        env_prefix="DRAPPHA_TEST_WITNESS",
        http={"port": 0, "service_token": TOKEN},
        targets=[{"app": "his", "site": "primary", "checks": [check]}],
    )


async def test_witness_probes_configured_targets_only_and_needs_its_token(tmp_path: Path) -> None:
    app = AppServer("site=primary")
    await app.start()
    witness = WitnessService(witness_settings(app.port))
    await witness.start()
    client = HttpWitness(WitnessPeer(name="w1", url=witness.url, token=TOKEN))
    try:
        seen = await client.probe("his", "primary")
        assert seen.status is Status.UP and seen.vantage == "w1"
        app.mode = "fail"
        seen = await client.probe("his", "primary")
        assert seen.status is Status.DOWN and "status 500" in seen.detail
        assert (await client.probe("his", "standby")).status is Status.UNKNOWN  # not configured
        async with httpx.AsyncClient() as anonymous:
            answer = await anonymous.post(
                f"{witness.url}/api/v1/probe", json={"app": "his", "site": "primary"}
            )
            assert answer.status_code == 401
            answer = await anonymous.post(
                f"{witness.url}/api/v1/probe",
                json={"app": "his", "site": "standby"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert answer.status_code == 404
    finally:
        await client.close()
        await witness.stop()
        await app.stop()
    gone = HttpWitness(WitnessPeer(name="w1", url=witness.url, token=TOKEN, timeout_seconds=0.5))
    seen = await gone.probe("his", "primary")
    await gone.close()
    assert seen.status is Status.UNKNOWN and "unreachable" in seen.detail


async def test_control_client_against_the_control_api() -> None:
    control = ControlServer("control-token-abcdefghij")
    await control.start()
    client = HttpControlClient(ControlPeer(url=control.url, token="control-token-abcdefghij"))
    wrong = HttpControlClient(ControlPeer(url=control.url, token="not-the-right-token"))
    try:
        ident = await client.open_request(
            "his", "primary down", {"attestation": {"sufficient": True}}, "appha-his-k1"
        )
        assert control.operations[ident]["type"] == "app_failover"
        assert control.operations[ident]["idempotency_key"] == "appha-his-k1"
        assert control.operations[ident]["evidence"] == {"attestation": {"sufficient": True}}
        assert await client.request_state(ident) == "pending"
        assert await client.frozen("his") is False
        control.blocked_apps.add("his")
        assert await client.frozen("his") is True  # an anti-flapping block in control
        assert await client.frozen("insurance") is False
        control.with_permit = False  # a control with only the global freeze
        assert await client.frozen("his") is False
        control.frozen = True
        assert await client.frozen("his") is True
        await client.report("his", "alert", {"message": "x"})
        assert control.events[0]["kind"] == "alert" and control.events[0]["source"] == "appha"
        with pytest.raises(PeerUnavailable, match="401"):
            await wrong.frozen("his")
    finally:
        await client.close()
        await wrong.close()
        await control.stop()


async def test_a_retried_request_gets_the_operation_control_opened_first(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """Against the real control service: the answer to appha's request was lost and appha
    asks again with the same key; control answers with the operation it opened, so
    appha can watch (and withdraw) it instead of retrying into 409s."""
    from drcontrol.model import Role
    from drcontrol.service import ControlService
    from drcontrol.settings import ControlSettings

    settings = load_settings(
        ControlSettings,
        None,
        env_prefix="DRAPPHA_TEST_CONTROL_UNUSED",
        http={"host": HOST, "port": 0},
        kafka={"bootstrap_servers": kafka_bootstrap, "request_timeout_ms": 5000},
        storage={"backend": "sqlite", "sqlite_path": str(tmp_path / "control.sqlite3")},
        peers={"capture": {"url": None}, "apply": {"url": None}, "appha": {"url": None}},
    )
    service = ControlService(settings)
    await service.start()
    assert service.ctx is not None
    token = await service.ctx.users.add("test", "appha", Role.APPHA)
    client = HttpControlClient(ControlPeer(url=service.url, token=token))
    try:
        evidence = {"direction": "switch", "attestation": {"sufficient": True}}
        first = await client.open_request("his", "primary down", evidence, "appha-his-k1")
        again = await client.open_request("his", "primary down", evidence, "appha-his-k1")
        assert again == first
        # another request for the app: a refusal (409), which appha tells apart and retries
        with pytest.raises(RequestRefused, match="already handles his"):
            await client.open_request("his", "primary down", evidence, "appha-his-k2")
        assert await client.request_state(first) in ("prechecking", "awaiting_approval")
    finally:
        await client.close()
        await service.stop()
