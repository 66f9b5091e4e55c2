"""What the load asks Kafka: capture's checkpoints, and where each schema topic holds
the first transaction committed after the copy's SCN."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from drcommon import serde
from drcommon.config import KafkaSettings
from drcommon.errors import DRError
from drcommon.kafka import committed_consumer, unreachable
from drcommon.model import CaptureCheckpoint
from drcommon.topics import TopicNames

from drapply.load.decide import seed_offset
from drapply.replay import OffsetFinder

TIMEOUT = 30.0


async def _started(kafka: KafkaSettings) -> AIOKafkaConsumer:
    consumer = committed_consumer(kafka, group_id=None)
    try:
        await asyncio.wait_for(consumer.start(), TIMEOUT)
    except (DRError, OSError, TimeoutError, Exception) as exc:
        await consumer.stop()
        raise unreachable(kafka, exc) from None
    return consumer


async def capture_checkpoints(kafka: KafkaSettings, names: TopicNames) -> dict[
        str, CaptureCheckpoint]:  # fmt: skip
    """The newest checkpoint of every capture publishing under these names."""
    consumer = await _started(kafka)
    try:
        if names.checkpoints not in await consumer.topics():
            return {}
        partitions = consumer.partitions_for_topic(names.checkpoints) or {0}
        tps = [TopicPartition(names.checkpoints, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        latest: dict[str, CaptureCheckpoint] = {}
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                for record in batch.get(tp, []):
                    if record.value is None:
                        continue
                    where = f"{tp.topic}/{tp.partition}/{record.offset}"
                    message = serde.decode(record.value, where=where)
                    if isinstance(message, CaptureCheckpoint):
                        latest[message.capture_id] = message
        return latest
    finally:
        await consumer.stop()


async def seed_positions(kafka: KafkaSettings, topics: Mapping[str, str],
                         scn: int) -> dict[str, tuple[int, str]]:  # fmt: skip
    """Per topic: the offset apply starts at after a copy at ``scn``, and why."""
    consumer = await _started(kafka)
    out: dict[str, tuple[int, str]] = {}
    try:
        existing = await consumer.topics()
        present = [t for t in topics if t in existing]
        for topic in topics:
            if topic not in existing:
                out[topic] = (0, "no topic yet: apply starts at offset 0")
        consumer.assign([TopicPartition(t, 0) for t in present])
        for topic in present:
            finder = OffsetFinder(consumer, TopicPartition(topic, 0))
            begin, end = await finder.bounds()
            first = await finder.first_transaction()
            after = await finder.by_scn(scn + 1) if end > begin else end
            out[topic] = seed_offset(scn, begin, end, first[1] if first else None, after)
    finally:
        await consumer.stop()
    return out
