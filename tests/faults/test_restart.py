"""Issue 16, finding 7: a restarted apply gets its partitions back at once.

Before: each restart after a kill waited for the consumer group's session timeout (the
dead member still held the partitions), so a few quick kills stalled apply for tens of
seconds. Now apply joins with a static member id (KIP-345): the new incarnation takes
the old one's place without a rebalance. The session timeout here is 30 s, so a stall
would be unmistakable; each restart must have its schemas within a few seconds.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from drapply.settings import ApplySettings, load_apply_settings
from drapply.wiring import topic_names
from drcommon.config import KafkaSettings

from tests.faults.conftest import free_port
from tests.faults.rig import until
from tests.integration.apply.conftest import assert_same, read_table
from tests.integration.apply.running import ApplyProcess, write_config
from tests.integration.apply.synth import Publisher, SyntheticSource

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
RESTARTS = 3


async def test_a_killed_apply_gets_its_partitions_back_at_once(
    kafka_settings: KafkaSettings, postgres_dsn: str, tmp_path: Path
) -> None:
    unique = uuid.uuid4().hex[:8]
    schemas = [f"R{unique[:6].upper()}{c}" for c in "AB"]
    settings = load_apply_settings(
        None,
        kafka=kafka_settings.model_dump(),
        source={"database": "ORCL", "schemas": schemas},
        target={"kind": "postgresql", "dsn": postgres_dsn, "control_schema": f"drapply_{unique}"},
        apply={"group_id": f"restart-{unique}", "session_timeout_ms": 30000,
               "heartbeat_interval_ms": 3000, "fetch_timeout_ms": 100},
        logging={"level": "INFO", "format": "text"},
    )  # fmt: skip
    source = SyntheticSource(schemas, seed=16)
    publisher = Publisher(settings.kafka, topic_names(settings), f"restart-{unique}")
    await publisher.start(schemas)
    proc = ApplyProcess(write_config(settings, tmp_path / "apply.toml"), free_port(),
                        tmp_path / "apply.log")  # fmt: skip

    async def assigned() -> dict[str, Any] | None:
        status = await proc.status()
        return status if status and set(status["schemas"]) == set(schemas) else None

    waits = []
    try:
        await publisher.publish([source.transaction(schemas[i % 2], 3) for i in range(40)],
                                watermark=(schemas, source.scn))  # fmt: skip
        proc.start()
        first = await until(assigned, bool, 60, "the first incarnation has its schemas")
        assert first["member_id"], "a static member id"
        for _ in range(RESTARTS):
            proc.kill()
            await publisher.publish([source.transaction(schemas[i % 2], 3) for i in range(20)],
                                    watermark=(schemas, source.scn))  # fmt: skip
            proc.start()
            await until(proc.status, bool, 30, "the admin API answers")
            up = time.monotonic()
            await until(assigned, bool, 60, "the schemas assigned again", every=0.05)
            waits.append(time.monotonic() - up)
        for schema in schemas:
            await until(lambda s=schema: _rows(settings, s),
                        lambda got, s=schema: got == source.snapshot()[(s, "ACCOUNTS")],
                        60, f"{schema} applied")  # fmt: skip
            assert_same(source.snapshot()[(schema, "ACCOUNTS")],
                        read_table(settings, schema, "ACCOUNTS"), schema)
    finally:
        proc.kill()
        await publisher.stop()
    print({"seconds_to_partitions_after_restart": [round(w, 2) for w in waits]})
    assert max(waits) < 6.0, f"restarts waited {waits} s for their partitions (session 30 s)"


def _rows(settings: ApplySettings, schema: str) -> dict[int, Any]:
    """The target table's rows; none while apply has not created it yet."""
    try:
        return read_table(settings, schema, "ACCOUNTS")
    except psycopg.Error:
        return {}
