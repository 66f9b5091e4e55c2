"""The dead-letter topic: parked transactions, one record per chunk, in one Kafka
transaction, so a ``read_committed`` reader sees a parked transaction whole or not at all.
The large values a chunk refers to go first, as the same ``value_chunk`` records capture
wrote (see ``docs/INTERFACES.md``), so a retry rebuilds them exactly; the parked row's
dead-letter offsets list them too.

Parking is at-least-once into the topic (a crash between the Kafka commit and the
database commit parks again on restart) and exactly-once in the parked table, whose key
is (topic, partition, first offset); readers of the topic deduplicate on the same key.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from drcommon import serde
from drcommon.chunking import value_refs
from drcommon.config import KafkaSettings
from drcommon.errors import DRError
from drcommon.kafka import TopicSpec, committed_consumer, ensure_topics, transactional_producer
from drcommon.model import DeadLetter, PoisonLetter, TransactionMessage, ValueChunk

from drapply.applier import ParkRequest, Record
from drapply.errors import BadRecord, KafkaWriteFailed
from drapply.values import REF_MARKER, Spill, ValueAssembler, ValueSet

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
                raise KafkaWriteFailed(f"dead-letter producer: {exc}") from exc
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
            pending: list[Any] = []  # delivery futures, in sending order
            last = request.first_offset
            parked_at = datetime.now(UTC)
            try:
                async with producer.transaction():
                    async for record in chunks:
                        message = record.message
                        assert isinstance(message, TransactionMessage)
                        key = message.tx.xid.encode()
                        for chunk in _value_chunks(record, message):
                            pending.append(await producer.send(
                                self.topic, serde.encode(chunk), key=key,
                                headers=serde.headers_for(chunk),
                            ))  # fmt: skip
                        letter = DeadLetter(
                            topic=topic, partition=partition, offsets=(record.offset,),
                            schema_name=message.schema_name, xid=message.tx.xid,
                            commit_scn=message.tx.commit_scn, error=request.error,
                            parked_at=parked_at, message=message,
                        )  # fmt: skip
                        pending.append(await producer.send(
                            self.topic, serde.encode(letter), key=key,
                            headers=serde.headers_for(letter),
                        ))  # fmt: skip
                        last = record.offset
                    sent = [meta.offset for meta in await asyncio.gather(*pending)]
            except KafkaError as exc:
                raise KafkaWriteFailed(f"publishing to the dead-letter topic: {exc}") from exc
            log.warning(
                "parked transaction",
                extra={"topic": topic, "partition": partition, "offset": request.first_offset,
                       "xid": request.xid, "scn": request.commit_scn, "error": request.error},
            )  # fmt: skip
            return last, tuple(sent)


    async def publish_raw(
        self, schema: str, raws: Sequence[Any], error: str
    ) -> tuple[tuple[int, ...], int]:
        """Park records as Kafka delivered them: a transaction holding a record that
        cannot be read. Readable ``tx`` records go as dead letters, ``value_chunk``
        records as they were, the unreadable one as a :class:`PoisonLetter` with its
        bytes. Returns (dead-letter offsets, the commit SCN of the transaction, 0 if no
        record of it could be read)."""
        async with self._lock:
            producer = await self._started()
            pending: list[Any] = []
            parked_at = datetime.now(UTC)
            commit_scn = 0
            try:
                async with producer.transaction():
                    for raw in raws:
                        body, headers, scn = _parked_form(schema, raw, error, parked_at)
                        commit_scn = commit_scn or scn
                        pending.append(await producer.send(
                            self.topic, body, key=raw.key, headers=headers))  # fmt: skip
                    sent = [meta.offset for meta in await asyncio.gather(*pending)]
            except KafkaError as exc:
                raise KafkaWriteFailed(f"publishing to the dead-letter topic: {exc}") from exc
            return tuple(sent), commit_scn


def _parked_form(
    schema: str, raw: Any, error: str, parked_at: datetime
) -> tuple[bytes, list[tuple[str, bytes]], int]:
    """A record of a transaction being parked as it goes to the dead-letter topic."""
    headers = [(k, bytes(v)) for k, v in raw.headers or ()]
    where = f"topic={raw.topic} partition={raw.partition} offset={raw.offset}"
    try:
        if raw.value is None:
            raise BadRecord("record has no value", where=where)
        message = serde.decode(raw.value, where=where)
    except DRError:
        poison = PoisonLetter(
            topic=raw.topic, partition=raw.partition, offset=raw.offset, schema_name=schema,
            key=raw.key.decode("utf-8", "replace") if raw.key is not None else None,
            error=error, parked_at=parked_at,
            value_b64=base64.b64encode(raw.value).decode() if raw.value is not None else None,
            headers=tuple((k, base64.b64encode(v).decode()) for k, v in headers),
        )  # fmt: skip
        return serde.encode(poison), serde.headers_for(poison), 0
    if isinstance(message, TransactionMessage):
        letter = DeadLetter(
            topic=raw.topic, partition=raw.partition, offsets=(raw.offset,),
            schema_name=message.schema_name, xid=message.tx.xid,
            commit_scn=message.tx.commit_scn, error=error, parked_at=parked_at,
            message=message,
        )  # fmt: skip
        return serde.encode(letter), serde.headers_for(letter), message.tx.commit_scn
    return raw.value, headers, 0  # a value chunk goes as it was (a retry rebuilds it)


def _value_chunks(record: Record, message: TransactionMessage) -> Iterator[ValueChunk]:
    """The ``value_chunk`` records of the values a record refers to, one at a time."""
    values = record.values
    if values is None:
        return
    info = message.tx
    for change in message.changes:
        for ref in value_refs(change):
            yield from values.chunks(
                ref, schema=message.schema_name, xid=info.xid, commit_scn=info.commit_scn
            )


@dataclass(frozen=True, slots=True)
class ParkedLetter:
    """One dead letter read back, with the large values its message refers to."""

    letter: DeadLetter
    values: ValueSet | None


async def read_dead_letters(
    kafka: KafkaSettings,
    topic: str,
    offsets: Sequence[int],
    timeout: float = 30.0,
    spill: Spill | None = None,
) -> list[ParkedLetter]:
    """The dead letters at ``offsets`` (one parked transaction), in order, with their
    values rebuilt from the ``value_chunk`` records among those offsets (checked like
    any chunks: a damaged one is a :class:`BadRecord`)."""
    wanted = sorted(offsets)
    if not wanted:
        return []
    consumer = committed_consumer(kafka, group_id=None)
    tp = TopicPartition(topic, 0)
    values = ValueAssembler(topic, 0, spill)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, wanted[0])
        found: dict[int, ParkedLetter | None] = {}
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found) < len(wanted) and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(tp, timeout_ms=500)
            for raw in batches.get(tp, []):
                if raw.offset in wanted and raw.value is not None:
                    found[raw.offset] = _parked(values, topic, raw.offset, raw.value)
            if batches.get(tp) and batches[tp][-1].offset >= wanted[-1]:
                break
    finally:
        await consumer.stop()
    missing = [o for o in wanted if o not in found]
    if missing:
        raise BadRecord("dead-letter records not found", topic=topic, offsets=missing)
    if values.pending:
        raise BadRecord("value chunks after the last dead letter", topic=topic, offsets=wanted)
    return [letter for o in wanted if (letter := found[o]) is not None]


def _parked(values: ValueAssembler, topic: str, offset: int, body: bytes) -> ParkedLetter | None:
    where = f"topic={topic} partition=0 offset={offset}"
    letter = serde.decode(body, where=where)
    if isinstance(letter, ValueChunk):
        values.chunk(offset, letter)
        return None
    if isinstance(letter, PoisonLetter):
        raise BadRecord(
            "the parked transaction holds a record that cannot be read: it cannot be "
            "applied; discard it (and re-apply the rows from the source if needed)",
            where=where, offset=letter.offset, error=letter.error,
        )  # fmt: skip
    if not isinstance(letter, DeadLetter):
        raise BadRecord("not a dead letter", where=where)
    if values.pending or REF_MARKER in body:
        _first, found = values.transaction(offset, letter.message)
        return ParkedLetter(letter, found)
    return ParkedLetter(letter, None)
