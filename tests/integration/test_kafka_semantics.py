"""What the design relies on, proven on the real broker: transactions, read_committed,
fencing of zombie producers, offsets_for_times, and group offset commit/resume."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import ProducerFenced
from drcommon.config import KafkaSettings
from drcommon.kafka import (
    TopicSpec,
    client_options,
    committed_consumer,
    ensure_topics,
    transactional_producer,
)

pytestmark = pytest.mark.kafka


async def _drain(consumer: AIOKafkaConsumer, expect: int, timeout: float = 20.0) -> list[bytes]:
    values: list[bytes] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(values) < expect and asyncio.get_running_loop().time() < deadline:
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            values.extend(r.value for r in records if r.value is not None)
    return values


async def test_read_committed_never_sees_aborted(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"{kafka_settings.topic_prefix}.semantics"
    await ensure_topics(kafka_settings, [TopicSpec(topic)])
    producer = transactional_producer(kafka_settings, f"tx-{unique}")
    await producer.start()
    try:
        async with producer.transaction():
            for n in (1, 2, 3):
                await producer.send(topic, f"committed-{n}".encode())
        await producer.begin_transaction()
        await producer.send(topic, b"aborted-1")
        await producer.send(topic, b"aborted-2")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, b"committed-4")
    finally:
        await producer.stop()

    committed = committed_consumer(kafka_settings, group_id=None)
    uncommitted = AIOKafkaConsumer(
        **client_options(kafka_settings),
        group_id=None,
        isolation_level="read_uncommitted",
        auto_offset_reset="earliest",
    )
    for consumer in (committed, uncommitted):
        await consumer.start()
        consumer.assign([TopicPartition(topic, 0)])
    try:
        seen = await _drain(committed, 4)
        raw = await _drain(uncommitted, 6)
    finally:
        await committed.stop()
        await uncommitted.stop()
    assert seen == [b"committed-1", b"committed-2", b"committed-3", b"committed-4"]
    assert b"aborted-1" in raw and b"aborted-2" in raw, "the aborted records were written"


async def test_second_producer_fences_zombie(kafka_settings: KafkaSettings, unique: str) -> None:
    topic = f"{kafka_settings.topic_prefix}.fencing"
    await ensure_topics(kafka_settings, [TopicSpec(topic)])
    zombie = transactional_producer(kafka_settings, f"fence-{unique}")
    await zombie.start()
    await zombie.begin_transaction()
    await zombie.send_and_wait(topic, b"from-zombie")
    successor = transactional_producer(kafka_settings, f"fence-{unique}")
    await successor.start()
    try:
        with pytest.raises(ProducerFenced):
            await zombie.commit_transaction()
        async with successor.transaction():
            await successor.send(topic, b"from-successor")
    finally:
        await successor.stop()
        await zombie.stop()
    consumer = committed_consumer(kafka_settings, group_id=None)
    await consumer.start()
    consumer.assign([TopicPartition(topic, 0)])
    try:
        assert await _drain(consumer, 1) == [b"from-successor"]
    finally:
        await consumer.stop()


async def test_offsets_for_times(kafka_settings: KafkaSettings, unique: str) -> None:
    topic = f"{kafka_settings.topic_prefix}.times"
    await ensure_topics(kafka_settings, [TopicSpec(topic)])
    producer = transactional_producer(kafka_settings, f"times-{unique}")
    await producer.start()
    base = 1_700_000_000_000
    try:
        async with producer.transaction():
            for n in range(5):
                await producer.send(topic, f"m{n}".encode(), timestamp_ms=base + n * 1000)
    finally:
        await producer.stop()
    consumer = committed_consumer(kafka_settings, group_id=None)
    await consumer.start()
    tp = TopicPartition(topic, 0)
    try:
        found = await consumer.offsets_for_times({tp: base + 2500})
        assert found[tp] is not None
        assert found[tp].offset == 3 and found[tp].timestamp == base + 3000
        # Past the last data record the answer is the transaction's commit marker
        # (offset 5, stamped when it was written) - no data record lies beyond it.
        after_data = await consumer.offsets_for_times({tp: base + 60_000})
        assert after_data[tp] is not None and after_data[tp].offset == 5
        future = await consumer.offsets_for_times({tp: 2**62})
        assert future[tp] is None
    finally:
        await consumer.stop()


async def test_group_commit_and_resume(kafka_settings: KafkaSettings, unique: str) -> None:
    topic = f"{kafka_settings.topic_prefix}.group"
    await ensure_topics(kafka_settings, [TopicSpec(topic)])
    producer = transactional_producer(kafka_settings, f"group-{unique}")
    await producer.start()
    try:
        async with producer.transaction():
            for n in range(6):
                await producer.send(topic, f"g{n}".encode())
    finally:
        await producer.stop()
    group = f"group-{unique}"
    tp = TopicPartition(topic, 0)
    first = committed_consumer(kafka_settings, group_id=group)
    await first.start()
    first.assign([tp])
    try:
        got = await first.getone(), await first.getone(), await first.getone()
        await first.commit({tp: got[-1].offset + 1})
    finally:
        await first.stop()
    assert [r.value for r in got] == [b"g0", b"g1", b"g2"]
    second = committed_consumer(kafka_settings, group_id=group)
    await second.start()
    second.assign([tp])
    try:
        rest = await _drain(second, 3)
        assert await second.committed(tp) == 3
    finally:
        await second.stop()
    assert rest == [b"g3", b"g4", b"g5"]
