"""The service in-process with its admin API: a consistent cut at SCN X across two
schemas with interleaved transactions, then resume to the end; stop and status."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from drapply.service import ApplyService
from drapply.wiring import topic_names

from tests.integration.apply.conftest import SettingsFactory, assert_same, read_table
from tests.integration.apply.running import TOKEN, wait_for
from tests.integration.apply.synth import Publisher, SyntheticSource

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _status(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/api/v1/status", headers=AUTH)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_hold_gives_a_consistent_cut_across_schemas(
    make_settings: SettingsFactory, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRAPPLY__HTTP__SERVICE_TOKEN", TOKEN)
    settings = make_settings("postgresql")
    schemas = [f"C{unique[:6].upper()}A", f"C{unique[:6].upper()}B"]
    source = SyntheticSource(schemas, seed=11)
    early = [source.transaction(schemas[i % 2], 1 + i % 5) for i in range(60)]
    cut_scn = source.scn
    at_cut = source.snapshot()
    late = [source.transaction(schemas[i % 2], 1 + i % 5) for i in range(60)]

    service = ApplyService(settings)
    await service.start()
    publisher = Publisher(settings.kafka, topic_names(settings), f"cut-{unique}")
    await publisher.start(schemas)
    try:
        assert service.http is not None
        async with httpx.AsyncClient(base_url=service.http.url, timeout=10) as client:
            assert (await client.get("/api/v1/status")).status_code == 401
            held = await client.post("/api/v1/hold", json={"scn": cut_scn}, headers=AUTH)
            assert held.status_code == 202
            # Interleaved, and the first batch already holds transactions beyond X.
            await publisher.publish(early + late[:10])
            await publisher.publish(late[10:], watermark=(schemas, source.scn))

            async def holding() -> bool:
                body = await _status(client)
                return body["state"] == "holding" and len(body["schemas"]) == 2

            await wait_for(holding, 60, "every schema holding")
            body = await _status(client)
            for schema in schemas:
                doc = body["schemas"][schema]
                assert doc["state"] == "holding", body
                assert doc["applied_scn"] is not None and doc["applied_scn"] <= cut_scn, body
                assert doc["hold_at_scn"] == cut_scn
                assert_same(
                    at_cut[(schema, "ACCOUNTS")],
                    read_table(settings, schema, "ACCOUNTS"),
                    f"{schema} at the cut",
                )

            resumed = await client.post("/api/v1/resume", headers=AUTH)
            assert resumed.status_code == 202

            async def caught_up() -> bool:
                body = await _status(client)
                return (
                    all(
                        body["schemas"].get(s, {}).get("applied_scn")
                        == max(t.info.commit_scn for t in early + late if t.changes[0].owner == s)
                        for s in schemas
                    )
                    and body["state"] == "running"
                )

            await wait_for(caught_up, 60, "all applied after resume")
            for schema in schemas:
                assert_same(
                    source.state[(schema, "ACCOUNTS")],
                    read_table(settings, schema, "ACCOUNTS"),
                    f"{schema} at the end",
                )
            body = await _status(client)
            for schema in schemas:
                doc = body["schemas"][schema]
                assert doc["lag_scn"] == 0 and doc["queue_depth"] == 0 and doc["lag_seconds"] == 0
            stopped = await client.post("/api/v1/stop", headers=AUTH)
            assert stopped.status_code == 202
            await wait_for(lambda: _stopped(client), 10, "stopped")
            metrics = (await client.get("/metrics")).text
            assert "dr_apply_rows_total" in metrics and "dr_apply_latency_seconds_bucket" in metrics
    finally:
        await publisher.stop()
        await service.stop()


async def _stopped(client: httpx.AsyncClient) -> bool:
    body = await _status(client)
    return body["state"] == "stopped" and all(
        s["state"] == "stopped" for s in body["schemas"].values()
    )
