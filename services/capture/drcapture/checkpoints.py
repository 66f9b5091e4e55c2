"""Reading capture's last checkpoint back from Kafka.

The checkpoint is only ever written inside the same Kafka transaction as the data it
describes, so the newest committed checkpoint record for our ``capture_id`` is exactly
the state to resume from. The topic is compacted: reading it whole stays cheap.

The same topic holds the dictionary changes capture applied from the redo (one record per
DDL transaction, key ``<capture_id>#dictionary#<commit SCN>.<thread>.<RBA>``, written in
the DDL's own Kafka transaction): a restart rebuilds its dictionary version from them.
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
from drcommon.model import CaptureCheckpoint, DictionaryChange

log = logging.getLogger(__name__)


DICTIONARY_KEY = "#dictionary#"


def dictionary_key(capture_id: str, scn: int, thread: int, rba: str) -> bytes:
    """The record key of one dictionary change: unique per DDL transaction (so compaction
    keeps every one) and sortable by commit order within a capture."""
    return f"{capture_id}{DICTIONARY_KEY}{scn:020d}.{thread}.{rba}".encode()


async def load_checkpoint(
    kafka: KafkaSettings, topic: str, capture_id: str, *, timeout: float = 30.0
) -> CaptureCheckpoint | None:
    """The newest committed checkpoint of ``capture_id``, or None on first start."""
    checkpoint, _ = await load_restart(kafka, topic, capture_id, timeout=timeout)
    return checkpoint


async def load_restart(
    kafka: KafkaSettings, topic: str, capture_id: str, *, timeout: float = 30.0
) -> tuple[CaptureCheckpoint | None, list[DictionaryChange]]:
    """The newest committed checkpoint of ``capture_id`` (None on first start) and the
    dictionary changes it published, in commit order."""
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
) -> tuple[CaptureCheckpoint | None, list[DictionaryChange]]:
    """The newest checkpoint record of ``capture_id`` on ``topic`` (None: none), and its
    dictionary changes in commit order."""
    partitions = consumer.partitions_for_topic(topic) or {0}
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    ends = await consumer.end_offsets(tps)
    latest: CaptureCheckpoint | None = None
    changes: dict[bytes, DictionaryChange] = {}
    wanted = capture_id.encode()
    changes_prefix = wanted + DICTIONARY_KEY.encode()
    for tp in tps:
        while await consumer.position(tp) < ends[tp]:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            for record in batch.get(tp, []):
                key = record.key or b""
                if record.value is None or (key != wanted and not key.startswith(changes_prefix)):
                    continue
                where = f"{topic}/{tp.partition}/{record.offset}"
                message = serde.decode(record.value, where=where)
                if key == wanted and isinstance(message, CaptureCheckpoint):
                    latest = message
                elif key != wanted and isinstance(message, DictionaryChange):
                    changes[key] = message
                else:
                    raise SourceError(f"unexpected {message.kind} record under this key",
                                      where=where, key=key.decode(errors="replace"))
    ordered = sorted(changes.values(), key=lambda c: (c.scn, c.thread, c.commit_rba))
    return latest, ordered
