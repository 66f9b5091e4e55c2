"""Reading capture's last checkpoint back from Kafka.

The checkpoint is only ever written inside the same Kafka transaction as the data it
describes, so the newest committed checkpoint record for our ``capture_id`` is exactly
the state to resume from. The topic is compacted: reading it whole stays cheap.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from drcommon import serde
from drcommon.config import KafkaSettings
from drcommon.errors import SourceError
from drcommon.kafka import committed_consumer, unreachable
from drcommon.model import CaptureCheckpoint

log = logging.getLogger(__name__)


async def load_checkpoint(
    kafka: KafkaSettings, topic: str, capture_id: str, *, timeout: float = 30.0
) -> CaptureCheckpoint | None:
    """The newest committed checkpoint of ``capture_id``, or None on first start."""
    consumer = committed_consumer(kafka, group_id=None)
    try:
        await asyncio.wait_for(consumer.start(), timeout)
    except (KafkaError, TimeoutError, OSError) as exc:
        await consumer.stop()
        raise unreachable(kafka, exc) from None
    try:
        return await _newest(consumer, topic, capture_id)
    except KafkaError as exc:
        raise unreachable(kafka, exc) from None
    finally:
        await consumer.stop()


async def _newest(
    consumer: AIOKafkaConsumer, topic: str, capture_id: str
) -> CaptureCheckpoint | None:
    """The newest checkpoint record of ``capture_id`` on ``topic`` (None: none)."""
    partitions = consumer.partitions_for_topic(topic) or {0}
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    ends = await consumer.end_offsets(tps)
    latest: CaptureCheckpoint | None = None
    wanted = capture_id.encode()
    for tp in tps:
        while await consumer.position(tp) < ends[tp]:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            for record in batch.get(tp, []):
                if record.key != wanted or record.value is None:
                    continue
                where = f"{topic}/{tp.partition}/{record.offset}"
                message = serde.decode(record.value, where=where)
                if not isinstance(message, CaptureCheckpoint):
                    raise SourceError("not a checkpoint record", where=where)
                latest = message
    return latest
