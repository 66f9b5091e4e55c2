"""Issue 14, finding 1, for appha (and its witness): a request without the service token
is refused before its body is read, a body above ``http.max_body_bytes`` gets 413 while it
arrives, and a 422 names the field without echoing the input."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.integration.appha.scenario import APP, APPHA_TOKEN, WITNESS_TOKEN, Scenario
from tests.support.rawhttp import stream_body

MB = 1 << 20


async def test_appha_and_witness_refuse_large_and_unauthenticated_bodies(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="manual") as s:
        assert s.witness is not None
        auth = {"Authorization": f"Bearer {APPHA_TOKEN}"}
        switch = f"{s.url}/api/v1/apps/{APP}/switch"
        anonymous = await asyncio.to_thread(stream_body, switch, 100 * MB, {},
                                            declare_length=False)
        assert anonymous.status == 401 and anonymous.sent < 10 * MB, anonymous
        declared = await asyncio.to_thread(stream_body, switch, 100 * MB, auth,
                                           declare_length=True)
        assert declared.status == 413, declared
        chunked = await asyncio.to_thread(stream_body, switch, 100 * MB, auth,
                                          declare_length=False)
        assert chunked.status in (413, None) and chunked.sent < 10 * MB, chunked
        probe = f"{s.witness.url}/api/v1/probe"
        witness = await asyncio.to_thread(stream_body, probe, 100 * MB, {},
                                          declare_length=True)
        assert witness.status == 401, witness
        witness_big = await asyncio.to_thread(
            stream_body, probe, 100 * MB, {"Authorization": f"Bearer {WITNESS_TOKEN}"},
            declare_length=True)
        assert witness_big.status == 413, witness_big

        async with httpx.AsyncClient(headers=auth, timeout=10) as client:
            invalid = await client.post(switch, json={"operation_id": "x y" + "W" * 500,
                                                      "requested_by": "t"})
        assert invalid.status_code == 422
        assert isinstance(invalid.json()["detail"], str)
        assert "body.operation_id" in invalid.json()["detail"]
        assert "WWWW" not in invalid.text
        assert (await s.app())["state"] == "healthy"
