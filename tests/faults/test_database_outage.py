"""Issue 16, finding 3 (first half): the DR database stopped (``pg_ctl -m immediate``)
while apply applies and transactions keep arriving.

Before: ``/api/v1/status`` said ``state=running``, ``error=""``, ``queue_depth=0`` for the
whole outage. Now each schema says it waits on the ``database`` (since when, the last
error), its queue depth is what arrived behind it (from the topic's end offsets) and
grows, its lag grows, ``/health`` is ``degraded``, control raises
``alert.apply_degraded``; when the database is back apply resumes by itself and the
target equals the source exactly.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from drapply.settings import load_apply_settings
from drapply.wiring import topic_names
from drcommon.config import KafkaSettings

from tests.faults.conftest import PrivatePostgres, free_port
from tests.faults.rig import alerted, control_watching, until
from tests.integration.apply.conftest import assert_same, read_table
from tests.integration.apply.running import ApplyProcess, write_config
from tests.integration.apply.synth import Publisher, SyntheticSource

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
OUTAGE = 15.0


async def test_database_stopped_while_applying(
    kafka_settings: KafkaSettings, private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    unique = uuid.uuid4().hex[:8]
    schemas = [f"D{unique[:6].upper()}{c}" for c in "AB"]
    settings = load_apply_settings(
        None,
        kafka=kafka_settings.model_dump(),
        source={"database": "ORCL", "schemas": schemas},
        target={"kind": "postgresql", "dsn": private_postgres.dsn,
                "control_schema": f"drapply_{unique}"},
        apply={"group_id": f"db-{unique}", "fetch_timeout_ms": 100,
               "retry_backoff_seconds": 0.5},
        logging={"level": "INFO", "format": "text"},
    )  # fmt: skip
    source = SyntheticSource(schemas, seed=163)
    publisher = Publisher(settings.kafka, topic_names(settings), f"db-{unique}")
    await publisher.start(schemas)
    proc = ApplyProcess(write_config(settings, tmp_path / "apply.toml"), free_port(),
                        tmp_path / "apply.log")  # fmt: skip

    async def publish(count: int) -> None:
        txs = [source.transaction(schemas[i % 2], 4) for i in range(count)]
        await publisher.publish(txs, watermark=(schemas, source.scn))

    async def status() -> dict[str, Any]:
        return await proc.status() or {}

    try:
        await publish(60)
        proc.start()
        async with control_watching(tmp_path, kafka_settings.bootstrap_servers,
                                    apply=proc.url) as hook:  # fmt: skip
            await until(status, lambda s: sum(d["transactions"] for d in
                                              s.get("schemas", {}).values()) >= 60, 60,
                        "the first transactions applied")  # fmt: skip
            private_postgres.stop_immediately()
            stopped_at = time.monotonic()
            await publish(40)  # capture keeps publishing

            first = await until(status, _waiting_on_database, 30,
                                "every schema waiting on the database")  # fmt: skip
            assert first["health"] == "degraded" and first["state"] == "running"
            for doc in first["schemas"].values():
                assert doc["waiting_since"] and "PostgreSQL" in doc["last_error"], doc
                assert doc["faults"][0]["part"] == "database"
            await until(status, lambda s: all(d["queue_depth"] >= 20 for d in
                                              s["schemas"].values()), 15,
                        "the queue behind each schema, from the end offsets")  # fmt: skip
            before = (await status())["schemas"]
            await publish(20)
            grown = await until(status, lambda s: all(
                s["schemas"][n]["queue_depth"] > before[n]["queue_depth"] for n in schemas),
                15, "the queue grows")  # fmt: skip
            assert all(grown["schemas"][n]["lag_seconds"] > before[n]["lag_seconds"]
                       for n in schemas), "the lag grows"  # fmt: skip
            await alerted(hook, "alert.apply_degraded", ["firing"])
            while time.monotonic() - stopped_at < OUTAGE:
                assert proc.proc is not None and proc.proc.poll() is None, "apply exited"
                assert (await status())["health"] == "degraded"
                await until(lambda: True, bool, 1, "a second")

            private_postgres.start()
            await until(status, lambda s: s.get("health") == "ok" and all(
                d["waiting_on"] is None and d["queue_depth"] == 0 for d in s["schemas"].values()),
                120, "apply resumed and caught up")  # fmt: skip
            await alerted(hook, "alert.apply_degraded", ["firing", "resolved"])
        for schema in schemas:
            assert_same(source.state[(schema, "ACCOUNTS")],
                        read_table(settings, schema, "ACCOUNTS"), schema)
    finally:
        proc.terminate()
        await publisher.stop()


def _waiting_on_database(status: dict[str, Any]) -> bool:
    docs = status.get("schemas", {}).values()
    return bool(docs) and all(d["waiting_on"] == "database" for d in docs)
