"""The dead-letter topic: parked transactions, one record per chunk, in one Kafka
transaction, so a ``read_committed`` reader sees a parked transaction whole or not at all.

Parking is at-least-once into the topic (a crash between the Kafka commit and the
database commit parks again on restart) and exactly-once in the parked table, whose key
is (topic, partition, first offset); readers of the topic deduplicate on the same key.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from drcommon import serde
from drcommon.config import KafkaSettings
from drcommon.errors import RetriableSinkError
from drcommon.kafka import TopicSpec, committed_consumer, ensure_topics, transactional_producer
from drcommon.model import DeadLetter, TransactionMessage

from drapply.applier import ParkRequest, Record
from drapply.errors import BadRecord

log = logging.getLogger(__name__)

DEAD_LETTER_CONFIG = {
    "cleanup.policy": "delete",
    "retention.ms": str(90 * 24 * 3600 * 1000),  # parked work waits for a human
    "max.message.bytes": str(8 * 1024 * 1024),
}


class DeadLetters:
    """Publishes parked transactions; one Kafka transaction at a time per process."""

    def __init__(self, kafka: KafkaSettings, topic: str, client_id: str) -> None:
        self._kafka = kafka
        self.topic = topic
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        if self._producer is None:
            await ensure_topics(self._kafka, [TopicSpec(self.topic, config=DEAD_LETTER_CONFIG)])
            # A fresh id per process: parking is deduplicated by the parked table, so no
            # fencing between incarnations is needed.
            producer = transactional_producer(
                self._kafka, f"drapply-dl-{self._client_id}-{uuid.uuid4().hex[:8]}"
            )
            try:
                await producer.start()
            except KafkaError as exc:
                raise RetriableSinkError(f"dead-letter producer: {exc}") from exc
            self._producer = producer
        return self._producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(
        self, topic: str, partition: int, request: ParkRequest, chunks: AsyncIterator[Record]
    ) -> tuple[int, tuple[int, ...]]:
        """Send every chunk of the parked transaction; returns (last source offset,
        dead-letter offsets)."""
        async with self._lock:
            producer = await self._started()
            sent: list[int] = []
            last = request.first_offset
            parked_at = datetime.now(UTC)
            try:
                async with producer.transaction():
                    async for record in chunks:
                        message = record.message
                        assert isinstance(message, TransactionMessage)
                        letter = DeadLetter(
                            topic=topic, partition=partition, offsets=(record.offset,),
                            schema_name=message.schema_name, xid=message.tx.xid,
                            commit_scn=message.tx.commit_scn, error=request.error,
                            parked_at=parked_at, message=message,
                        )  # fmt: skip
                        meta = await producer.send_and_wait(
                            self.topic, serde.encode(letter), key=message.tx.xid.encode(),
                            headers=serde.headers_for(letter),
                        )  # fmt: skip
                        sent.append(meta.offset)
                        last = record.offset
            except KafkaError as exc:
                raise RetriableSinkError(f"publishing to the dead-letter topic: {exc}") from exc
            log.warning(
                "parked transaction",
                extra={"topic": topic, "partition": partition, "offset": request.first_offset,
                       "xid": request.xid, "scn": request.commit_scn, "error": request.error},
            )  # fmt: skip
            return last, tuple(sent)


async def read_dead_letters(
    kafka: KafkaSettings, topic: str, offsets: Sequence[int], timeout: float = 30.0
) -> list[DeadLetter]:
    """The dead-letter records at ``offsets`` (one parked transaction), in order."""
    wanted = sorted(offsets)
    if not wanted:
        return []
    consumer = committed_consumer(kafka, group_id=None)
    tp = TopicPartition(topic, 0)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, wanted[0])
        found: dict[int, DeadLetter] = {}
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found) < len(wanted) and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(tp, timeout_ms=500)
            for raw in batches.get(tp, []):
                if raw.offset in wanted and raw.value is not None:
                    where = f"topic={topic} partition=0 offset={raw.offset}"
                    letter = serde.decode(raw.value, where=where)
                    if not isinstance(letter, DeadLetter):
                        raise BadRecord("not a dead letter", where=where)
                    found[raw.offset] = letter
            if batches.get(tp) and batches[tp][-1].offset >= wanted[-1]:
                break
    finally:
        await consumer.stop()
    missing = [o for o in wanted if o not in found]
    if missing:
        raise BadRecord("dead-letter records not found", topic=topic, offsets=missing)
    return [found[o] for o in wanted]
