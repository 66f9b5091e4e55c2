"""Exactly-once under crashes and rebalances, with real ``drapply run`` processes, the
real broker and PostgreSQL: SIGKILL at random points under load, two instances sharing
a consumer group (one joins, one dies). Afterwards the target equals the source, every
row and value, with no duplicate and no gap."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from drapply.settings import ApplySettings
from drapply.wiring import topic_names

from tests.integration.apply.conftest import SettingsFactory, assert_same, read_table
from tests.integration.apply.running import ApplyProcess, free_port, wait_for, write_config
from tests.integration.apply.synth import Publisher, SourceTx, SyntheticSource

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


async def _produce(
    publisher: Publisher, source: SyntheticSource, schemas: list[str], batches: int,
    published: list[SourceTx], pause: float = 0.05,
) -> None:  # fmt: skip
    rng = random.Random(5)
    for n in range(batches):
        txs = [source.transaction(rng.choice(schemas), rng.randint(1, 10)) for _ in range(25)]
        if n % 7 == 3:
            txs.append(source.insert_only(rng.choice(schemas), 3000))  # 3 chunks
        await publisher.publish(txs, max_changes=1000, watermark=(schemas, source.scn))
        published.extend(txs)
        await asyncio.sleep(pause)


def _last_scn(published: list[SourceTx], schema: str) -> int:
    return max(t.info.commit_scn for t in published if t.changes[0].owner == schema)


async def _applied(settings: ApplySettings, published: list[SourceTx], schemas: list[str]) -> bool:
    from drapply.admin import read_status

    rows = await asyncio.to_thread(read_status, settings)
    scns = {r["topic"]: r["commit_scn"] for r in rows}
    names = topic_names(settings)
    return all(scns.get(names.schema(s)) == _last_scn(published, s) for s in schemas)


def _check(settings: ApplySettings, source: SyntheticSource, schemas: list[str]) -> None:
    for schema in schemas:
        expected = source.state[(schema, "ACCOUNTS")]
        assert expected, "the scenario produced rows"
        assert_same(expected, read_table(settings, schema, "ACCOUNTS"), schema)


def _settings(make_settings: SettingsFactory, **extra: Any) -> ApplySettings:
    return make_settings(
        "postgresql",
        apply={"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000,
               "max_group_transactions": 50, **extra},
    )  # fmt: skip


async def test_sigkill_at_random_points_loses_and_doubles_nothing(
    make_settings: SettingsFactory, unique: str, tmp_path: Path
) -> None:
    settings = _settings(make_settings)
    schemas = [f"K{unique[:6].upper()}{c}" for c in "AB"]
    source = SyntheticSource(schemas, seed=3)
    publisher = Publisher(settings.kafka, topic_names(settings), f"kill-{unique}")
    await publisher.start(schemas)
    config = write_config(settings, tmp_path / "apply.toml")
    proc = ApplyProcess(config, free_port(), tmp_path / "apply.log")
    published: list[SourceTx] = []
    rng = random.Random(int(unique[:6], 16))
    kills = 0
    try:
        producing = asyncio.create_task(
            _produce(publisher, source, schemas, 80, published, pause=0.1)
        )
        proc.start()
        while not producing.done() or kills < 5:
            # Kill while it applies: once its API answers, at a random moment.
            await wait_for(proc.status, 30, "apply process up")
            await asyncio.sleep(rng.uniform(0.1, 1.5))
            proc.kill()
            kills += 1
            proc.start()
        await producing
        await wait_for(lambda: _applied(settings, published, schemas), 240, "all applied")
        assert proc.terminate() == 0, (tmp_path / "apply.log").read_text()[-3000:]
    finally:
        proc.kill()
        await publisher.stop()
    assert kills >= 5
    _check(settings, source, schemas)


async def test_rebalance_join_and_death(
    make_settings: SettingsFactory, unique: str, tmp_path: Path
) -> None:
    settings = _settings(make_settings)
    schemas = [f"R{unique[:6].upper()}{c}" for c in "ABCD"]
    source = SyntheticSource(schemas, seed=4)
    publisher = Publisher(settings.kafka, topic_names(settings), f"reb-{unique}")
    await publisher.start(schemas)
    config = write_config(settings, tmp_path / "apply.toml")
    first = ApplyProcess(config, free_port(), tmp_path / "first.log")
    second = ApplyProcess(config, free_port(), tmp_path / "second.log")
    published: list[SourceTx] = []
    try:
        first.start()
        await _produce(publisher, source, schemas, 8, published)
        await wait_for(lambda: _owned(first, 4), 60, "first instance owns all schemas")
        second.start()  # joins: the group splits the schemas
        producing = asyncio.create_task(_produce(publisher, source, schemas, 15, published))
        await wait_for(lambda: _split(first, second), 60, "schemas split between instances")
        first.kill()  # dies: after the session timeout its schemas move to the second
        await producing
        await wait_for(lambda: _owned(second, 4), 60, "second instance took over")
        await _produce(publisher, source, schemas, 5, published)
        await wait_for(lambda: _applied(settings, published, schemas), 240, "all applied")
        assert second.terminate() == 0
    finally:
        first.kill()
        second.kill()
        await publisher.stop()
    _check(settings, source, schemas)


async def _owned(proc: ApplyProcess, count: int) -> bool:
    status = await proc.status()
    return status is not None and len(status["schemas"]) == count


async def _split(a: ApplyProcess, b: ApplyProcess) -> bool:
    first, second = await a.status(), await b.status()
    if first is None or second is None:
        return False
    mine, theirs = set(first["schemas"]), set(second["schemas"])
    return bool(mine) and bool(theirs) and not (mine & theirs) and len(mine | theirs) == 4
