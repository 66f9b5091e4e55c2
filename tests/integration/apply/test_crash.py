"""Exactly-once under crashes and rebalances, with real ``drapply run`` processes, the
real broker and PostgreSQL: SIGKILL at random points under load (also while large values
stream in as chunk records), two instances sharing a consumer group (one joins, one
dies). Afterwards the target equals the source, every row and value, with no duplicate
and no gap."""

from __future__ import annotations

import asyncio
import functools
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from drapply.settings import ApplySettings
from drapply.wiring import topic_names
from drcapture.publish import CommittedTransaction
from drcapture.publish import Publisher as CapturePublisher
from drcapture.publish_records import RecordLimits
from drcommon.model import CaptureCheckpoint, ThreadRestart

from tests.integration.apply.conftest import SettingsFactory, assert_same, read_table
from tests.integration.apply.lobsource import LobTable, blob_of, read_lobs, text_of
from tests.integration.apply.running import ApplyProcess, free_port, wait_for, write_config
from tests.integration.apply.synth import Publisher, SourceTx, SyntheticSource
from tests.integration.apply.test_lobs import topic_names_for

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
        # The last incarnation may have just been started (its predecessors can apply
        # everything before being killed): a SIGTERM before it is up kills it outright.
        await wait_for(proc.status, 30, "the last apply process up")
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


async def _moved(proc: ApplyProcess, owner: str, since: int) -> int | None:
    """The stream's applied position once it is beyond ``since`` (None before)."""
    status = await proc.status()
    stream = (status or {}).get("schemas", {}).get(owner)
    position = stream.get("position") if stream else None
    return position if isinstance(position, int) and position > since else None


async def _owned(proc: ApplyProcess, count: int) -> bool:
    status = await proc.status()
    return status is not None and len(status["schemas"]) == count


async def _split(a: ApplyProcess, b: ApplyProcess) -> bool:
    first, second = await a.status(), await b.status()
    if first is None or second is None:
        return False
    mine, theirs = set(first["schemas"]), set(second["schemas"])
    return bool(mine) and bool(theirs) and not (mine & theirs) and len(mine | theirs) == 4


async def _produce_lobs(
    kafka: Any, table: LobTable, published: list[CommittedTransaction], batches: int
) -> None:
    """Transactions with values in many chunk records (64 KiB pieces), in-place LOB
    writes (some with chunked data) and replaced values, published by capture's real
    Publisher."""
    rng = random.Random(17)
    names = topic_names_for(kafka)
    publisher = CapturePublisher(kafka, names, f"cap-{table.owner}")
    await publisher.start([table.owner])
    limits = RecordLimits(max_value_bytes=64 * 1024, max_record_bytes=200_000)
    ident = 0
    try:
        for n in range(batches):
            batch = []
            for _ in range(rng.randint(1, 4)):
                changes = []
                for _ in range(rng.randint(1, 3)):
                    ident += 1
                    changes.append(table.insert(
                        ident, TXT=text_of(rng, rng.randint(0, 1_500_000)),
                        BIN=blob_of(rng, rng.randint(0, 600_000)),
                    ))  # fmt: skip
                known = list(table.rows)
                target = rng.choice(known)
                if rng.random() < 0.5:
                    data = text_of(rng, rng.choice([10, 200_000]))
                    changes.append(table.write(target, "TXT", [(rng.randint(0, 2_000_000), data)],
                                               rng.choice([None, rng.randint(0, 3_000_000)])))
                else:
                    changes.append(table.update(target, NTXT=text_of(rng, 300_000)))
                batch.append(table.commit(changes))
            await publisher.publish(batch, _cp(n), watermark_scn=table.scn, max_changes=2,
                                    limits=limits)  # fmt: skip
            published.extend(batch)
            await asyncio.sleep(0.1)
    finally:
        await publisher.stop()


def _cp(n: int) -> CaptureCheckpoint:
    return CaptureCheckpoint(
        capture_id="cap", threads={1: ThreadRestart(sequence=1, block=n, scn=n)},
        last_published=(n, 1, "0x1"), safe_scn=n, written_at=datetime.now(UTC),
    )  # fmt: skip


async def test_sigkill_during_chunked_transactions_loses_and_doubles_nothing(
    make_settings: SettingsFactory, unique: str, tmp_path: Path
) -> None:
    """Real ``drapply run`` processes killed at random moments while transactions whose
    values span many chunk records stream in: the table ends equal to the source, value
    by value. Every transaction inserts rows, so one applied twice would hit a duplicate
    key and stop the schema (policy ``stop``); its in-place LOB writes ride the same
    database transaction as the checkpoint."""
    settings = _settings(make_settings)
    table = LobTable(f"KL{unique[:6].upper()}", seed=int(unique[:6], 16))
    config = write_config(settings, tmp_path / "apply.toml")
    proc = ApplyProcess(config, free_port(), tmp_path / "apply.log")
    published: list[CommittedTransaction] = []
    rng = random.Random(int(unique[:6], 16))
    kills = 0
    try:
        producing = asyncio.create_task(_produce_lobs(settings.kafka, table, published, 40))
        await asyncio.sleep(0.5)  # let the topic exist before the group subscribes
        proc.start()
        position = 0
        while not producing.done() or kills < 5:
            # Kill while it applies: once this incarnation has committed something (its
            # position moved past the last one), at a random moment after that.
            position = await wait_for(
                functools.partial(_moved, proc, table.owner, position), 120,
                "apply process making progress",
            )  # fmt: skip
            await asyncio.sleep(rng.uniform(0.0, 1.5))
            proc.kill()
            kills += 1
            proc.start()
        await producing

        async def applied() -> bool:
            from drapply.admin import read_status

            rows = await asyncio.to_thread(read_status, settings)
            last = published[-1].info.commit_scn
            return any(r["commit_scn"] == last for r in rows)

        await wait_for(applied, 240, "all applied")
        assert proc.terminate() == 0, (tmp_path / "apply.log").read_text()[-3000:]
    finally:
        proc.kill()
    assert kills >= 5
    log = (tmp_path / "apply.log").read_text()
    opened = {line.split("offset=")[1].split()[0] for line in log.splitlines()
              if "stream opened" in line}  # fmt: skip
    assert len(opened) >= 3, opened  # restarts resumed from several checkpoints
    assert read_lobs(settings, table.owner) == table.expected()
