"""The service in-process with its admin API: a consistent cut at SCN X across two
schemas with interleaved transactions, then resume to the end; stop and status."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest
from drapply.adapters.sqlite import schema_file
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
                # Applied to the last transaction, and the watermark records behind it read
                # too (queue depth and lag settle one poll after the last apply).
                body = await _status(client)
                return (
                    all(
                        body["schemas"].get(s, {}).get("applied_scn")
                        == max(t.info.commit_scn for t in early + late if t.changes[0].owner == s)
                        and body["schemas"][s]["queue_depth"] == 0
                        and body["schemas"][s]["lag_scn"] == 0
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


async def test_replay_and_parked_through_the_api(
    make_settings: SettingsFactory, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRAPPLY__HTTP__SERVICE_TOKEN", TOKEN)
    settings = make_settings("sqlite")
    schema = f"A{unique[:6].upper()}"
    source = SyntheticSource([schema], seed=14)
    txs = [source.transaction(schema, 1 + i % 4) for i in range(40)]
    service = ApplyService(settings)
    await service.start()
    publisher = Publisher(settings.kafka, topic_names(settings), f"api-{unique}")
    await publisher.start([schema])
    try:
        assert service.http is not None
        await publisher.publish(txs, watermark=([schema], source.scn))
        async with httpx.AsyncClient(base_url=service.http.url, timeout=30) as client:

            async def applied() -> bool:
                doc = (await _status(client))["schemas"].get(schema, {})
                return bool(doc.get("applied_scn") == txs[-1].info.commit_scn)

            await wait_for(applied, 60, "applied")
            # Lose the DR copy's rows, then replay from the beginning through the API.
            db = sqlite3.connect(schema_file(settings.target.path, schema))
            db.execute('DELETE FROM "ACCOUNTS"')
            db.commit()
            db.close()
            answer = await client.post(
                "/api/v1/replay",
                json={"schemas": [schema], "from_scn": 0, "requested_by": "api-test"},
                headers=AUTH,
            )
            assert answer.status_code == 202, answer.text
            replay_id = answer.json()["replay_id"]

            async def completed() -> bool:
                rows = (await client.get("/api/v1/replays", headers=AUTH)).json()
                return any(r["audit_id"] == replay_id and r["result"] == "completed" for r in rows)

            await wait_for(completed, 60, "replay audit completed")
            assert_same(
                source.state[(schema, "ACCOUNTS")], read_table(settings, schema, "ACCOUNTS")
            )
            bad = await client.post("/api/v1/replay", json={"requested_by": "x"}, headers=AUTH)
            assert bad.status_code == 422
            assert (await client.get("/api/v1/parked", headers=AUTH)).json() == []
            missing = await client.post(
                "/api/v1/parked/nope/retry", json={"requested_by": "x"}, headers=AUTH
            )
            assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    finally:
        await publisher.stop()
        await service.stop()
