"""The body limits every service's API shares (drcommon.http.protect; capture and apply
install it with their service token exactly as appha does), on a real uvicorn server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from drcommon.http import BodyLimits, HttpServer, protect, require_token, token_admit
from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from tests.support.rawhttp import stream_body, trickle_body

TOKEN = "a-service-token-0123456789"
MB = 1 << 20


class Body(BaseModel):
    name: str = Field(..., max_length=10)


@pytest_asyncio.fixture(loop_scope="function")
async def server() -> AsyncIterator[HttpServer]:
    app = FastAPI()
    protect(app, admit=token_admit(TOKEN), limits=BodyLimits(max_bytes=64 * 1024,
                                                             timeout_seconds=1.0))

    @app.post("/api/v1/thing", dependencies=[Depends(require_token(TOKEN))])
    async def thing(body: Body) -> dict[str, str]:
        return {"name": body.name}

    running = HttpServer(app, "127.0.0.1", 0)
    await running.start()
    yield running
    await running.stop()


async def test_limits_token_size_time_and_quiet_422(server: HttpServer) -> None:
    url = f"{server.url}/api/v1/thing"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    no_token = await asyncio.to_thread(stream_body, url, 50 * MB, {}, declare_length=False)
    assert no_token.status == 401 and no_token.sent < 8 * MB
    too_big = await asyncio.to_thread(stream_body, url, 50 * MB, auth, declare_length=True)
    assert too_big.status == 413 and too_big.sent < 8 * MB
    grows = await asyncio.to_thread(stream_body, url, 50 * MB, auth, declare_length=False)
    assert grows.status in (413, None) and grows.sent < 8 * MB
    slow = await asyncio.to_thread(trickle_body, url, 100, auth, every=0.1, give_up_after=5)
    assert slow.status == 408 and slow.seconds < 3
    async with httpx.AsyncClient(headers=auth) as client:
        ok = await client.post(url, json={"name": "fine"})
        bad = await client.post(url, json={"name": "N" * 5000})
    assert ok.status_code == 200 and ok.json() == {"name": "fine"}
    assert bad.status_code == 422
    assert bad.json() == {"detail": "invalid request: body.name: String should have at most "
                                    "10 characters"}
