"""Test helpers: settings for a control service wired to the stand-ins, an API client."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from drcommon.config import load_settings
from drcontrol.settings import ControlSettings

from tests.integration.control.peers.standins import StandIns

FAST_ENGINE = {"poll_interval_seconds": 0.1, "lease_seconds": 2.0,
               "step_poll_interval_seconds": 0.05, "retry_delay_seconds": 0.1}


def settings_for(tmp: Path, standins: StandIns, kafka: str, **extra: Any) -> ControlSettings:
    """Control settings for a test: SQLite in ``tmp``, stand-in peers, fast engine."""
    peer = {"token": standins.token, "timeout_seconds": 5.0}
    overrides: dict[str, Any] = {
        "http": {"host": "127.0.0.1", "port": 0},
        "logging": {"level": "INFO", "format": "text"},
        "kafka": {"bootstrap_servers": kafka, "request_timeout_ms": 5000},
        "storage": {"backend": "sqlite", "sqlite_path": str(tmp / "control.sqlite3")},
        "peers": {"capture": {"url": standins.url("capture"), **peer},
                  "apply": {"url": standins.url("apply"), **peer},
                  "appha": {"url": standins.url("appha"), **peer}},
        "engine": FAST_ENGINE,
        "watch": {"interval_seconds": 0.5, "lag_alert_seconds": 30.0},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(overrides.get(key), dict):
            overrides[key] = {**overrides[key], **value}
        else:
            overrides[key] = value
    return load_settings(ControlSettings, None, env_prefix="DRCONTROL_TEST_UNUSED", **overrides)


class Api:
    """A user's view of the control API."""

    def __init__(self, base_url: str, token: str) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, timeout=15.0,
                                        headers={"Authorization": f"Bearer {token}"})

    async def close(self) -> None:
        await self.client.aclose()

    async def etag(self) -> str:
        response = await self.client.get("/api/v1/sites")
        response.raise_for_status()
        return response.headers["ETag"]

    async def request_op(self, type_: str, **body: Any) -> httpx.Response:
        return await self.client.post("/api/v1/operations", json={"type": type_, **body},
                                      headers={"If-Match": await self.etag()})

    async def op(self, op_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/operations/{op_id}")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def wait_state(self, op_id: str, *states: str, timeout: float = 30.0
                         ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            op = await self.op(op_id)
            if op["state"] in states:
                return op
            if time.monotonic() > deadline:
                raise AssertionError(f"{op_id} stayed {op['state']}, wanted {states}: "
                                     f"{op.get('outcome')}")
            await asyncio.sleep(0.05)

    async def approve(self, op_id: str, digest: str | None = None, *, seconds: float = 60.0,
                      transactions: int = 0, etag: str | None = None) -> httpx.Response:
        if digest is None:
            digest = (await self.op(op_id))["evidence_digest"]
        return await self.client.post(
            f"/api/v1/operations/{op_id}/approvals",
            json={"evidence_digest": digest, "comment": "confirmed",
                  "accepted_loss": {"max_seconds": seconds, "max_transactions": transactions}},
            headers={"If-Match": etag or await self.etag()})
