"""Reading one partition through a shared ``read_committed`` consumer, and decoding.

Several streams share one aiokafka consumer; each fetches only its own partition
(``getmany(tp)``), so a seek on one never disturbs another. aiokafka drops buffered
records and in-flight fetches of a partition when it is sought.

``value_chunk`` records go to the stream's :class:`~drapply.values.ValueAssembler` and
come out attached to the ``tx`` record that refers to them (its :class:`Record` starts
at the first chunk); a seek forgets half-read chunks, so every read starts afresh at a
transaction boundary.

The consumer never moves a position by itself (``auto_offset_reset="none"``): when the
records at the position are gone (deleted by retention, or the topic was recreated) a
fetch fails instead of jumping to the earliest record, and the worker's checks on
reopening name the gap. A silent jump would skip committed transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, OffsetOutOfRangeError
from drcommon import serde
from drcommon.config import KafkaSettings
from drcommon.errors import DRError, RetriableSourceError
from drcommon.kafka import MAX_REQUEST_SIZE, client_options, unreachable
from drcommon.model import TransactionMessage, ValueChunk, Watermark

from drapply.applier import Record
from drapply.errors import BadRecord
from drapply.values import REF_MARKER, Spill, ValueAssembler
from drapply.wire import decode_chunk, decode_transaction

REQUEST_TIMEOUT = 30.0


@contextlib.asynccontextmanager
async def assigned_consumer(
    settings: KafkaSettings, topic: str, partition: int
) -> AsyncIterator[tuple[AIOKafkaConsumer, TopicPartition]]:
    """A started :func:`stream_consumer` outside any group, assigned one partition (the
    operator commands that read a stream by hand); Kafka not answering in time is
    :func:`~drcommon.kafka.unreachable`."""
    consumer = stream_consumer(settings, group_id=None)
    try:
        await asyncio.wait_for(consumer.start(), settings.request_timeout_ms / 1000)
    except Exception as exc:  # whatever the client raises while it cannot connect
        await consumer.stop()
        raise unreachable(settings, exc) from None
    tp = TopicPartition(topic, partition)
    try:
        consumer.assign([tp])
        yield consumer, tp
    finally:
        await consumer.stop()


def stream_consumer(
    settings: KafkaSettings, *, group_id: str | None, **extra: Any
) -> AIOKafkaConsumer:
    """A ``read_committed`` consumer that never commits offsets and never resets a
    position on its own (``drcommon.kafka.committed_consumer`` resets to the earliest
    record, which would silently skip records deleted under a stream's position)."""
    return AIOKafkaConsumer(
        **client_options(settings),
        group_id=group_id,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="none",
        max_partition_fetch_bytes=MAX_REQUEST_SIZE,
        fetch_max_bytes=4 * MAX_REQUEST_SIZE,
        **extra,
    )


def decode_message(
    topic: str, partition: int, offset: int, value: bytes | None, kind: bytes | None = None
) -> TransactionMessage | ValueChunk | Watermark:
    """One record of a schema topic; errors name topic, partition and offset. ``kind`` is
    the record's ``kind`` header, when it has one (it picks the fast reader)."""
    where = f"topic={topic} partition={partition} offset={offset}"
    if value is None:
        raise BadRecord("record has no value", where=where)
    # The common records, without per-row pydantic work.
    fast = decode_chunk(value) if kind == b"value_chunk" else decode_transaction(value)
    if fast is not None:
        return fast
    message = serde.decode(value, where=where)
    if not isinstance(message, TransactionMessage | ValueChunk | Watermark):
        raise BadRecord(f"a {message.kind} record on a schema topic", where=where)
    return message


def decode_record(
    topic: str, partition: int, offset: int, timestamp: int, value: bytes | None
) -> Record:
    """One record that stands alone (a ``tx`` record without chunks, or a watermark)."""
    message = decode_message(topic, partition, offset, value)
    if isinstance(message, ValueChunk):
        raise BadRecord("a value_chunk record read on its own", topic=topic, offset=offset)
    return Record(offset, timestamp, message)


def _kind(headers: Any) -> bytes | None:
    for key, value in headers or ():
        if key == "kind":
            return bytes(value)
    return None


@dataclass(slots=True)
class Fetched:
    """What one fetch returned: decoded records, then the first undecodable one's error."""

    records: list[Record]
    error: DRError | None = None
    seen_scn: int | None = None
    error_offset: int | None = None  # the offset of the record ``error`` is about


class PartitionSource:
    """One partition of a shared consumer."""

    def __init__(
        self, consumer: AIOKafkaConsumer, topic: str, partition: int, spill: Spill | None = None
    ) -> None:
        self.consumer = consumer
        self.tp = TopicPartition(topic, partition)
        self.values = ValueAssembler(topic, partition, spill)

    def seek(self, offset: int) -> None:
        self.consumer.seek(self.tp, offset)
        self.values.reset()

    async def beginning(self) -> int:
        found = await _kafka(self.consumer.beginning_offsets([self.tp]))
        return int(found[self.tp])

    async def end(self) -> int:
        """The last stable offset (end for read_committed)."""
        found = await _kafka(self.consumer.end_offsets([self.tp]))
        return int(found[self.tp])

    async def bounds(self) -> tuple[int, int]:
        """(first offset Kafka still holds, last stable offset)."""
        return await self.beginning(), await self.end()

    def known_end(self) -> int | None:
        """The end as of the last fetch, without a round trip."""
        lso: Any = self.consumer.last_stable_offset(self.tp)
        if lso is None:
            lso = self.consumer.highwater(self.tp)
        return int(lso) if lso is not None else None

    async def position(self) -> int:
        return int(await _kafka(self.consumer.position(self.tp)))

    async def fetch(self, max_records: int, timeout_ms: int) -> Fetched:
        try:
            batches = await self.consumer.getmany(
                self.tp, timeout_ms=timeout_ms, max_records=max_records
            )
        except OffsetOutOfRangeError as exc:
            # Retriable: the worker reopens and compares its checkpoint with the
            # topic's bounds, which names a real gap (and passes a leader's blip).
            raise RetriableSourceError(
                "the stream's position is outside the topic (records deleted by retention, "
                "or the topic was recreated)",
                topic=self.tp.topic,
                partition=self.tp.partition,
            ) from exc
        except KafkaError as exc:
            raise RetriableSourceError(f"fetch failed: {exc}", topic=self.tp.topic) from exc
        out = Fetched([])
        for raw in batches.get(self.tp, []):
            try:
                record = self._record(raw)
            except DRError as exc:
                out.error, out.error_offset = exc, raw.offset
                break
            if record is None:
                continue
            message = record.message
            scn = message.tx.commit_scn if isinstance(message, TransactionMessage) else message.scn
            out.seen_scn = scn if out.seen_scn is None else max(out.seen_scn, scn)
            out.records.append(record)
        return out

    async def fetch_raw(self, max_records: int, timeout_ms: int) -> list[Any]:
        """The next records as Kafka delivered them (nothing decoded): for parking a
        record that cannot be read, with the rest of its transaction."""
        try:
            batches = await self.consumer.getmany(
                self.tp, timeout_ms=timeout_ms, max_records=max_records
            )
        except KafkaError as exc:
            raise RetriableSourceError(f"fetch failed: {exc}", topic=self.tp.topic) from exc
        return list(batches.get(self.tp, []))

    def _record(self, raw: Any) -> Record | None:
        """A fetched record as a :class:`Record`; None for a value chunk (kept until its
        transaction record)."""
        message = decode_message(
            raw.topic, raw.partition, raw.offset, raw.value, _kind(raw.headers)
        )
        values = self.values
        if isinstance(message, ValueChunk):
            values.chunk(raw.offset, message)
            return None
        if isinstance(message, Watermark):
            values.other(raw.offset, message.kind)
            return Record(raw.offset, raw.timestamp, message)
        if values.pending or REF_MARKER in raw.value:
            first, found = values.transaction(raw.offset, message)
            return Record(raw.offset, raw.timestamp, message, first, found)
        return Record(raw.offset, raw.timestamp, message)


async def _kafka(call: Any) -> Any:
    try:
        return await asyncio.wait_for(call, REQUEST_TIMEOUT)
    except (KafkaError, TimeoutError) as exc:
        raise RetriableSourceError(f"Kafka request failed: {exc!r}") from exc
