"""Issue 14, finding 1: request bodies are limited while they are read, on the real
``drcontrol run`` process, and its memory says so.

A 200 MB body without a token used to be buffered whole before its 401 (128 → 597 MB),
with an operator token it reached 1.6 GB, and the 422 echoed the input back. Now: no
token → 401 before a byte of the body is read; too large → 413 at once (declared) or as
soon as the limit is passed (chunked); too slow → 408; 422 names fields, never input.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest_asyncio

from tests.integration.control.peers.standins import StandIns
from tests.integration.control.process import ControlProcess, cli, environment, write_config
from tests.support.rawhttp import memory_kib, stream_body, trickle_body

MB = 1 << 20
LIMIT = 256 * 1024
GROWTH_ALLOWED_KIB = 48 * 1024  # far below any of the bodies sent


@dataclass
class Running:
    process: ControlProcess
    token: str

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def pid(self) -> int:
        assert self.process.proc is not None
        return self.process.proc.pid


@pytest_asyncio.fixture(loop_scope="function")
async def control(tmp_path: Path, standins: StandIns, kafka_bootstrap: str
                  ) -> AsyncIterator[Running]:
    config = write_config(tmp_path, standins, kafka_bootstrap)
    text = config.read_text(encoding="utf-8").replace(
        '[http]\n', f'[http]\nmax_body_bytes = {LIMIT}\nbody_timeout_seconds = 1.5\n')
    config.write_text(text, encoding="utf-8")
    env = environment(standins, config)
    added = await asyncio.to_thread(cli, env, "user", "add", "olga", "--role", "operator",
                                    program="drcontrol")
    assert added.returncode == 0, added.stderr
    process = ControlProcess(config, env, tmp_path / "control.log")
    await asyncio.to_thread(process.start)
    yield Running(process, added.stdout.strip())
    await asyncio.to_thread(process.stop)


async def test_oversized_bodies_are_refused_while_read(control: Running) -> None:
    url = f"{control.url}/api/v1/operations"
    auth = {"Authorization": f"Bearer {control.token}"}
    rss_before, peak_before = memory_kib(control.pid)

    # No token: 401 before the body is read, declared or streamed.
    anonymous = await asyncio.to_thread(stream_body, url, 200 * MB, {}, declare_length=True)
    assert anonymous.status == 401, anonymous
    assert anonymous.sent < 20 * MB  # the answer came long before the body was sent
    streamed = await asyncio.to_thread(stream_body, url, 200 * MB,
                                       {"Authorization": "Bearer drc_000000000000_wrong"},
                                       declare_length=False)
    assert streamed.status == 401, streamed
    assert streamed.sent < 20 * MB

    # An operator's token: 413 at once when declared, as soon as the limit is passed
    # when chunked.
    declared = await asyncio.to_thread(stream_body, url, 200 * MB, auth, declare_length=True)
    assert declared.status == 413, declared
    assert b"exceeds the limit" in declared.body
    chunked = await asyncio.to_thread(stream_body, url, 200 * MB, auth, declare_length=False)
    assert chunked.status in (413, None), chunked  # None: cut right after the answer
    assert chunked.sent < 20 * MB

    rss_after, peak_after = memory_kib(control.pid)
    assert peak_after - peak_before < GROWTH_ALLOWED_KIB, (peak_before, peak_after)
    assert rss_after - rss_before < GROWTH_ALLOWED_KIB

    # Control still serves, and the refusals without a token are audited.
    async with httpx.AsyncClient(base_url=control.url, headers=auth, timeout=10) as client:
        audit = (await client.get("/api/v1/audit", params={"action": "auth.failed"})).json()
    assert any(r["detail"].get("status") == 401 for r in audit)


async def test_a_body_that_arrives_too_slowly_gets_408(control: Running) -> None:
    auth = {"Authorization": f"Bearer {control.token}"}
    slow = await asyncio.to_thread(trickle_body, f"{control.url}/api/v1/operations", 1000, auth,
                                   every=0.1, give_up_after=8.0)
    assert slow.status == 408, slow
    assert slow.seconds < 4.0
    assert b"did not arrive within 1.5 s" in slow.body


async def test_validation_errors_are_one_line_and_never_echo_input(control: Running) -> None:
    secret_text = "Z" * 5000  # longer than reason's 2000 characters
    async with httpx.AsyncClient(base_url=control.url, timeout=10,
                                 headers={"Authorization": f"Bearer {control.token}"}) as client:
        etag = (await client.get("/api/v1/sites")).headers["ETag"]
        response = await client.post("/api/v1/operations", headers={"If-Match": etag},
                                     json={"type": "failover", "reason": secret_text,
                                           "bogus" + "Q" * 300: 1})
        broken = await client.post("/api/v1/operations", headers={
            "If-Match": etag, "Content-Type": "application/json"},
            content=b'{"type": "failover", "reason": "' + b"Y" * 3000)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert "body.reason" in detail and "2000" in detail
    assert "ZZZZ" not in response.text and "Q" * 100 not in response.text
    assert len(response.content) < 1000
    assert broken.status_code == 422
    assert isinstance(broken.json()["detail"], str) and "YYYY" not in broken.text
    assert json.loads(broken.text)["detail"].startswith("invalid request")
