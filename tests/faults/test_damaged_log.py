"""Issue 16, finding 4: a damaged archived log already present at start.

Before: capture published none of the transactions committed before the damage and
restarted from an empty checkpoint on every retry. Now it publishes every transaction
committed before the damage, all four threads merged, and waits there: status and
/health say ``failing`` with the file, the block and the SCN, control raises
``alert.capture_stopped``; a good copy placed in
another archive directory resumes it, and the topics end holding every transaction
exactly once, in commit order, with the values the source wrote.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from drcapture.service import CaptureService
from drcapture.synth.workload_build import build_workload
from drcommon.config import KafkaSettings
from drcommon.topics import TopicNames

from tests.faults.rig import (
    TOKEN,
    alerted,
    capture_settings,
    committed_xids,
    control_watching,
    until,
)
from tests.support.published import expected_per_schema, read_topic, reassemble
from tests.support.workloads import random_workload

pytestmark = pytest.mark.kafka
BLOCK = 512


async def test_damage_publishes_everything_before_it_then_a_good_copy_resumes(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    built = build_workload(random_workload(1616, transactions=400, threads=4, switch_every=20))
    staging, archive, restored = tmp_path / "staging", tmp_path / "arch", tmp_path / "restored"
    restored.mkdir()
    paths = built.write(staging)
    shutil.copytree(staging, archive)
    # Thread 2's middle log, damaged half-way: a flipped bit fails its block's checksum.
    logs = [p for p, log in zip(paths, built.logs, strict=True) if log.thread == 2]
    victim = logs[len(logs) // 2]
    data = bytearray(victim.read_bytes())
    block = len(data) // BLOCK // 2
    data[block * BLOCK + 64] ^= 0x10
    (archive / victim.name).write_bytes(bytes(data))

    settings = capture_settings(kafka_settings, staging, [archive, restored], tmp_path, 4)
    names = TopicNames(kafka_settings.topic_prefix, "SIPROD")
    service = CaptureService(settings)
    await service.start()
    try:
        assert service.http_url is not None
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            control_watching(tmp_path, kafka_settings.bootstrap_servers,
                             capture=service.http_url) as hook,
            httpx.AsyncClient(base_url=service.http_url, headers=auth) as client,
        ):  # fmt: skip

            async def status() -> dict[str, Any]:
                return dict((await client.get("/api/v1/status")).json())

            held = await until(status, lambda s: s["health"] == "failing", 60, "held at damage")
            health = await client.get("/health")
            assert health.status_code == 503 and health.json()["status"] == "failing"
            assert held["state"] == "failed"
            (fault,) = held["faults"]
            facts = fault["facts"]
            assert fault["part"] == "redo" and fault["severity"] == "failing"
            assert facts["file"] == str(archive / victim.name) and facts["block"] == block
            assert facts["thread"] == 2 and "block checksum mismatch" in fault["error"]
            scn = int(facts["scn"])
            assert held["threads"]["2"]["held"] is not None
            await alerted(hook, "alert.capture_stopped", ["firing"])

            # Everything committed before the damage goes out (all threads merged), and
            # nothing at or after it: wait until the prefix is complete, then compare.
            before = [tx for tx in built.expected if tx.commit_scn < scn]
            assert len(before) > 100, "the damage sits well inside the workload"
            await until(status, lambda s: s["transactions_published"] >= len(before), 60,
                        "the prefix published")  # fmt: skip
            published = await _published_xids(kafka_settings, names)
            order = committed_xids(built)
            assert published == order[: len(published)], "a prefix of the commit order"
            assert {tx.xid for tx in before} <= set(published)
            assert all(tx.commit_scn <= scn for tx in built.expected if tx.xid in published)

            # A good copy in another archive directory: capture reads on by itself.
            shutil.copy(victim, restored / victim.name)
            await until(status, lambda s: s["health"] == "ok"
                        and s["transactions_published"] >= len(built.expected), 120,
                        "resumed from the good copy")  # fmt: skip
            assert (await client.get("/health")).json()["status"] == "ok"
            await alerted(hook, "alert.capture_stopped", ["firing", "resolved"])
    finally:
        await service.stop()

    for owner in ("SI", "HIS"):
        got = reassemble(await read_topic(kafka_settings, names.schema(owner)))
        assert got == expected_per_schema(built, owner), f"{owner}: each once, in order, exact"


async def _published_xids(kafka: KafkaSettings, names: TopicNames) -> list[str]:
    """Transactions on the schema topics, in commit order (each once)."""
    seen: dict[str, int] = {}
    for owner in ("SI", "HIS"):
        for message in await read_topic(kafka, names.schema(owner)):
            seen.setdefault(message.tx.xid, message.tx.commit_scn)
    return sorted(seen, key=lambda x: (seen[x], x))
