"""control's operation id on apply's replay: asking again with the same
``X-DR-Operation-Id`` is the same request (one replay, one audit row, the same answer)."""

from __future__ import annotations

import httpx
import pytest
from drapply.service import ApplyService
from drapply.wiring import topic_names

from tests.integration.apply.conftest import SettingsFactory
from tests.integration.apply.running import TOKEN, wait_for
from tests.integration.apply.synth import Publisher, SyntheticSource

pytestmark = [pytest.mark.kafka]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_replay_repeated_with_the_same_operation_id_is_one_replay(
    make_settings: SettingsFactory, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRAPPLY__HTTP__SERVICE_TOKEN", TOKEN)
    settings = make_settings("sqlite")
    schema = f"O{unique[:6].upper()}"
    source = SyntheticSource([schema], seed=5)
    txs = [source.transaction(schema, 2) for _ in range(10)]
    service = ApplyService(settings)
    await service.start()
    publisher = Publisher(settings.kafka, topic_names(settings), f"opid-{unique}")
    await publisher.start([schema])
    try:
        assert service.http is not None
        await publisher.publish(txs, watermark=([schema], source.scn))
        async with httpx.AsyncClient(base_url=service.http.url, timeout=30) as client:

            async def applied() -> bool:
                body = (await client.get("/api/v1/status", headers=AUTH)).json()
                doc = body["schemas"].get(schema, {})
                return bool(doc.get("applied_scn") == txs[-1].info.commit_scn)

            await wait_for(applied, 60, "applied")
            body = {"schemas": [schema], "from_scn": 0, "requested_by": "control"}
            op = {**AUTH, "X-DR-Operation-Id": f"replay-{unique}"}
            first = await client.post("/api/v1/replay", json=body, headers=op)
            again = await client.post("/api/v1/replay", json=body, headers=op)
            assert first.status_code == again.status_code == 202, (first.text, again.text)
            assert first.json() == again.json() == {"replay_id": f"replay-{unique}"}
            other = await client.post("/api/v1/replay", json=body,
                                      headers={**AUTH, "X-DR-Operation-Id": f"other-{unique}"})
            assert other.json()["replay_id"] == f"other-{unique}"
            rows = (await client.get("/api/v1/replays", headers=AUTH)).json()
            ids = [r["audit_id"] for r in rows]
            assert ids.count(f"replay-{unique}") == 1 and ids.count(f"other-{unique}") == 1
    finally:
        await publisher.stop()
        await service.stop()
