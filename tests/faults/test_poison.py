"""Issue 16, findings 5 and 3 (second half): a poison record, with each policy.

The poison: the middle chunk of a three-chunk transaction is not a message at all
(its first and last chunks are fine), between good transactions.

Before: under ``policy = "park"`` it was not parked (``parked: 0``) and nothing moved
past it; a stopped schema reported ``queue_depth: 0`` (API) or ``null``
(``drapply once``) with everything behind it queued. Now:

* ``park`` parks the whole transaction (its good chunks and the poison's bytes on the
  dead-letter topic, a parked row keyed by the record key) and applies the rest;
* ``stop`` and ``overwrite`` stop right before that transaction, ``/health`` failing,
  control's ``alert.apply_error`` firing, the queue depth counting what waits behind
  it (API and ``drapply once``);
  ``drapply skip`` (who, why; audited) moves past it and the service goes on by itself.

Either way the target ends equal to the source's good transactions.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import TopicPartition
from drapply.admin import list_parked
from drapply.service import ApplyService
from drapply.settings import ApplySettings, load_apply_settings
from drapply.wiring import topic_names
from drcommon import serde
from drcommon.config import KafkaSettings
from drcommon.kafka import committed_consumer
from drcommon.model import DeadLetter, PoisonLetter

from tests.faults.rig import alerted, control_watching, until
from tests.integration.apply.conftest import assert_same, read_table
from tests.integration.apply.running import TOKEN, write_config
from tests.integration.apply.synth import Publisher, SyntheticSource
from tests.support.published import settled_end

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
POISON = b"\x00\x01 not a message"
KEY = "77.7.7"
ROOT = Path(__file__).resolve().parents[2]


def _settings(kafka: KafkaSettings, dsn: str, unique: str, schema: str,
              policy: str) -> ApplySettings:  # fmt: skip
    return load_apply_settings(
        None,
        kafka=kafka.model_dump(),
        source={"database": "ORCL", "schemas": [schema]},
        target={"kind": "postgresql", "dsn": dsn, "control_schema": f"drapply_{unique}"},
        apply={"group_id": f"poison-{unique}", "fetch_timeout_ms": 100},
        policies=[{"tables": [f"{schema}.*"], "policy": policy}],
        http={"host": "127.0.0.1", "port": 0},
        logging={"level": "INFO", "format": "text"},
    )


async def _publish_with_poison(
    settings: ApplySettings, source: SyntheticSource, schema: str, unique: str
) -> tuple[int, int]:
    """20 good transactions, the poisoned one, 20 good ones; (its first, poison offset)."""
    publisher = Publisher(settings.kafka, topic_names(settings), f"poison-{unique}")
    await publisher.start([schema])
    topic = topic_names(settings).schema(schema)
    try:
        await publisher.publish([source.transaction(schema, 3) for _ in range(20)],
                                watermark=([schema], source.scn))  # fmt: skip
        scratch = SyntheticSource([schema], seed=99)  # its rows are never applied
        scratch.next_id = 10_000_000  # new keys: the transaction itself would apply
        doomed = scratch.insert_only(schema, 5)
        info = doomed.info.model_copy(update={"xid": KEY, "commit_scn": source.scn + 1})
        messages = [m.model_copy(update={"tx": info}) for m in doomed.messages(2)]
        offsets = []
        async with publisher.producer.transaction():
            for index, message in enumerate(messages):
                value = POISON if index == 1 else serde.encode(message)
                headers = serde.headers_for(message) if index != 1 else []
                meta = await publisher.producer.send_and_wait(
                    topic, value, key=KEY.encode(), headers=headers)
                offsets.append(meta.offset)
        await publisher.publish([source.transaction(schema, 3) for _ in range(20)],
                                watermark=([schema], source.scn))  # fmt: skip
    finally:
        await publisher.stop()
    return offsets[0], offsets[1]


async def _dead_letters(settings: ApplySettings) -> list[Any]:
    tp = TopicPartition(topic_names(settings).dead_letters, 0)
    end = await settled_end(settings.kafka, tp)
    consumer = committed_consumer(settings.kafka, group_id=None)
    await consumer.start()
    try:
        consumer.assign([tp])
        out: list[Any] = []
        while await consumer.position(tp) < end:
            for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                assert record.value is not None
                out.append(serde.decode(record.value))
        return out
    finally:
        await consumer.stop()


async def test_park_parks_the_poisoned_transaction_and_applies_the_rest(
    kafka_settings: KafkaSettings, postgres_dsn: str
) -> None:
    unique = uuid.uuid4().hex[:8]
    schema = f"P{unique[:6].upper()}"
    settings = _settings(kafka_settings, postgres_dsn, unique, schema, "park")
    source = SyntheticSource([schema], seed=5)
    first, poison = await _publish_with_poison(settings, source, schema, unique)
    service = ApplyService(settings)
    await service.start()
    try:
        done = await until(service.status, lambda s: schema in s["schemas"] and (
            s["schemas"][schema]["parked"] == 1 and s["schemas"][schema]["queue_depth"] == 0),
            60, "parked, and everything else applied")  # fmt: skip
        assert done["health"] == "ok" and done["schemas"][schema]["state"] == "running"
        assert done["schemas"][schema]["error"] is None
    finally:
        await service.stop()
    assert_same(source.state[(schema, "ACCOUNTS")], read_table(settings, schema, "ACCOUNTS"))
    (row,) = list_parked(settings)
    assert (row["xid"], row["first_offset"], row["last_offset"]) == (KEY, first, first + 2)
    assert "not JSON" in row["error"]
    letters = await _dead_letters(settings)
    assert [type(x) for x in letters] == [DeadLetter, PoisonLetter, DeadLetter]
    assert base64.b64decode(letters[1].value_b64) == POISON and letters[1].offset == poison


@pytest.mark.parametrize("policy", ["stop", "overwrite"])
async def test_stop_reports_the_queue_then_an_audited_skip_moves_past(
    kafka_settings: KafkaSettings, postgres_dsn: str, tmp_path: Path, policy: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unique = uuid.uuid4().hex[:8]
    schema = f"S{unique[:6].upper()}"
    settings = _settings(kafka_settings, postgres_dsn, unique, schema, policy)
    source = SyntheticSource([schema], seed=6)
    first, poison = await _publish_with_poison(settings, source, schema, unique)
    config = write_config(settings, tmp_path / "apply.toml")  # no token in the file
    env = dict(os.environ)
    monkeypatch.setenv("DRAPPLY__HTTP__SERVICE_TOKEN", TOKEN)  # the in-process service's

    # drapply once: stops before the poisoned transaction, reports what waits behind it.
    once = subprocess.run([sys.executable, "-m", "drapply", "once", "--config", str(config),
                           "--json"], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120, check=False)  # fmt: skip
    assert once.returncode == 1, once.stderr
    doc = json.loads(once.stdout)[schema]
    # Right before the poisoned transaction (past the last watermark; a marker may follow).
    assert first - 1 <= doc["position"] <= first and "not JSON" in doc["error"]
    assert doc["queue_depth"] >= 20, doc  # the chunks and the 20 transactions behind it

    service = ApplyService(_settings(kafka_settings, postgres_dsn, unique, schema, policy))
    await service.start()
    try:
        assert service.http is not None
        async with (
            control_watching(tmp_path, kafka_settings.bootstrap_servers,
                             apply=service.http.url) as hook,
            httpx.AsyncClient(base_url=service.http.url, timeout=10) as client,
        ):  # fmt: skip

            async def status() -> dict[str, Any]:
                answer = await client.get("/api/v1/status",
                                          headers={"Authorization": f"Bearer {TOKEN}"})
                return dict(answer.json())

            stopped = await until(status, lambda s: s["schemas"].get(schema, {}).get("state")
                                  == "error", 60, "stopped before the poison")  # fmt: skip
            assert stopped["health"] == "failing"
            assert (await client.get("/health")).status_code == 503
            assert first - 1 <= stopped["schemas"][schema]["position"] <= first
            assert stopped["schemas"][schema]["queue_depth"] >= 20, stopped
            applied = {k: v for k, v in read_table(settings, schema, "ACCOUNTS").items()}
            assert applied, "the transactions before it are applied"
            await alerted(hook, "alert.apply_error", ["firing"])

            def skip(offset: int) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    [sys.executable, "-m", "drapply", "skip", "--config", str(config),
                     "--schema", schema, "--offset", str(offset), "--reason", "poison record",
                     "--requested-by", "duty-officer"],
                    capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                    check=False)  # fmt: skip

            refused = skip(poison + 4)  # a good transaction further on: not where it stands
            assert refused.returncode == 2 and "other transactions" in refused.stderr
            skipped = skip(poison)
            assert skipped.returncode == 0, skipped.stdout + skipped.stderr
            answer = json.loads(skipped.stdout)
            assert (answer["skipped_from"], answer["skipped_to"]) == (first, first + 2)
            await until(status, lambda s: s["health"] == "ok"
                        and s["schemas"][schema]["queue_depth"] == 0
                        and s["schemas"][schema]["state"] == "running", 60,
                        "the service went on by itself")  # fmt: skip
            await alerted(hook, "alert.apply_error", ["firing", "resolved"])
    finally:
        await service.stop()
    assert_same(source.state[(schema, "ACCOUNTS")], read_table(settings, schema, "ACCOUNTS"))
    (row,) = list_parked(settings, "discarded")
    assert row["resolved_by"] == "duty-officer" and row["comment"] == "poison record"
    letters = await _dead_letters(settings)
    assert any(isinstance(x, PoisonLetter) and x.offset == poison for x in letters)
