"""Reading what capture published, for end-to-end tests: per-schema transactions
rebuilt from their chunks, the expected ones from a built workload, the checkpoint."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from drcapture.checkpoints import load_checkpoint
from drcapture.synth.workload_result import BuiltWorkload
from drcommon import serde
from drcommon.config import KafkaSettings
from drcommon.kafka import client_options, committed_consumer
from drcommon.model import TransactionMessage
from drcommon.topics import TopicNames


def capture_config(
    tmp: Path, capture_id: str, sections: dict[str, dict[str, Any]], threads: int, **top: Any
) -> Path:
    """A capture TOML file: ``top`` keys, ``[[source.threads]]`` 1..threads, sections."""
    lines = [f"{k} = {_toml(v)}" for k, v in {"capture_id": capture_id, **top}.items()]
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
    for thread in range(1, threads + 1):
        lines += ["[[source.threads]]", f"thread = {thread}"]
    path = tmp / f"{capture_id}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


async def last_published(kafka: KafkaSettings, names: TopicNames, capture_id: str) -> object:
    """The commit order key of the last transaction capture published (or None)."""
    checkpoint = await load_checkpoint(kafka, names.checkpoints, capture_id)
    return checkpoint.last_published if checkpoint else None


async def settled_end(kafka: KafkaSettings, tp: TopicPartition, *, timeout: float = 20.0) -> int:
    """The partition's end offset once no transaction is open on it.

    A producer's commit returns when the coordinator has logged it; the commit markers
    reach the partitions a moment later, and until then a ``read_committed`` reader's
    end (the last stable offset) stops before the transaction. A test reading right
    after a publish waits for the two ends to meet instead of seeing nothing."""
    committed = committed_consumer(kafka, group_id=None)
    uncommitted = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    await committed.start()
    await uncommitted.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            stable = (await committed.end_offsets([tp]))[tp]
            high = (await uncommitted.end_offsets([tp]))[tp]
            if stable == high:
                return int(stable)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{tp}: a transaction is still open ({stable} < {high})")
            await asyncio.sleep(0.05)
    finally:
        await committed.stop()
        await uncommitted.stop()


async def read_topic(kafka: KafkaSettings, topic: str) -> list[TransactionMessage]:
    tp = TopicPartition(topic, 0)
    end = await settled_end(kafka, tp)
    consumer = committed_consumer(kafka, group_id=None)
    await consumer.start()
    try:
        consumer.assign([tp])
        out: list[TransactionMessage] = []
        while await consumer.position(tp) < end:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    assert record.value is not None
                    message = serde.decode(record.value, where=f"{topic}/{record.offset}")
                    if isinstance(message, TransactionMessage):
                        out.append(message)
        return out
    finally:
        await consumer.stop()


def reassemble(messages: list[TransactionMessage]) -> list[tuple[str, list[Any]]]:
    """Per-schema transactions from chunks; chunks of one must be contiguous and whole."""
    out: list[tuple[str, list[Any]]] = []
    current: list[Any] | None = None
    expect_chunk = 0
    for message in messages:
        assert message.chunk == expect_chunk, f"chunk out of order in {message.tx.xid}"
        if message.chunk == 0:
            current = []
            out.append((message.tx.xid, current))
        assert current is not None
        current.extend((c.op.value, c.table, c.before, c.after) for c in message.changes)
        expect_chunk = 0 if message.last else message.chunk + 1
        if message.last:
            assert len(current) == message.changes_in_schema
    assert expect_chunk == 0, "a transaction's last chunk is missing"
    return out


def expected_per_schema(built: BuiltWorkload, owner: str) -> list[tuple[str, list[Any]]]:
    """What :func:`reassemble` must give for ``owner``: the workload's committed
    transactions that touch it, in commit order, with that schema's changes."""
    out = []
    for tx in built.expected:
        changes = [(c.op.value, c.table, c.before, c.after) for c in tx.changes if c.owner == owner]
        if changes:
            out.append((tx.xid, changes))
    return out
