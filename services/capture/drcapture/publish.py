"""Publishing committed transactions to Kafka exactly once.

One Kafka transaction carries a batch of Oracle transactions (each split per schema
and, when large, in chunks; values too large for one record in ``value_chunk`` records
before the record that refers to them, see :mod:`drcapture.publish_records`), the
watermarks that are due, and capture's checkpoint.
Either all of it becomes visible to ``read_committed`` consumers or none of it; the
checkpoint therefore always describes exactly what is published. The producer's
``transactional_id`` is fixed per capture, so a restarted capture fences its zombie.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, ProducerFenced
from drcommon import serde
from drcommon.config import KafkaSettings
from drcommon.errors import SinkError
from drcommon.kafka import COMPACTED_TOPIC_CONFIG, TopicSpec, ensure_topics, transactional_producer
from drcommon.model import (
    CaptureCheckpoint,
    DictionaryChange,
    Heartbeat,
    Operation,
    RowChange,
    TransactionInfo,
    TransactionMessage,
    Watermark,
)
from drcommon.topics import TopicNames

from drcapture.checkpoints import dictionary_key
from drcapture.errors import CaptureFenced
from drcapture.native_txn import NativeCommit
from drcapture.publish_records import OutRecord, RecordLimits, schema_records

log = logging.getLogger(__name__)

# A large Oracle transaction may take minutes to send over the WAN; the broker caps this
# with transaction.max.timeout.ms (15 minutes by default).
TRANSACTION_TIMEOUT_MS = 900_000


@dataclass(frozen=True, slots=True)
class CommittedTransaction:
    """A committed Oracle transaction with its captured row changes, in redo order, as
    Python objects (tests and tools; the service publishes :class:`NativeTransaction` s,
    whose changes stay in the compiled core)."""

    info: TransactionInfo
    changes: Sequence[RowChange]

    def schemas(self) -> set[str]:
        """The schemas its changes belong to (one topic each)."""
        return {c.owner for c in self.changes}

    @property
    def change_count(self) -> int:
        return len(self.changes)

    def ddl(self) -> list[tuple[str, str, str | None]]:
        """Its DDL changes: (owner, table, statement)."""
        return [(c.owner, c.table, c.ddl) for c in self.changes if c.op is Operation.DDL]

    def records(self, max_changes: int, limits: RecordLimits) -> Iterator[OutRecord]:
        """Its Kafka records (:func:`transaction_records`)."""
        return transaction_records(self, max_changes, limits)


@dataclass(frozen=True, slots=True)
class NativeTransaction:
    """A committed transaction read by the compiled core, with the commit time it is
    published at: its records are serialised in the core, byte for byte what
    :func:`transaction_records` writes for the same changes."""

    info: TransactionInfo
    commit: NativeCommit

    def schemas(self) -> set[str]:
        """The schemas its changes belong to (one topic each)."""
        return set(self.info.schemas)

    @property
    def change_count(self) -> int:
        return self.info.changes_total

    def ddl(self) -> list[tuple[str, str, str | None]]:
        """Its DDL changes: (owner, table, statement)."""
        return self.commit.ddl()

    def records(self, max_changes: int, limits: RecordLimits) -> list[OutRecord]:
        """Its Kafka records, serialised in the core (the GIL released meanwhile)."""
        return self.commit.records(self.info.commit_ts, max_changes, limits)[1]


Publishable = CommittedTransaction | NativeTransaction


def by_schema(tx: CommittedTransaction) -> dict[str, list[RowChange]]:
    """A transaction's changes per schema: schemas in the order of their first change,
    redo order within each, so apply can replay each schema's share as it happened."""
    found: dict[str, list[RowChange]] = {}
    for change in tx.changes:
        found.setdefault(change.owner, []).append(change)
    return found


def transaction_records(
    tx: CommittedTransaction, max_changes: int, limits: RecordLimits
) -> Iterator[OutRecord]:
    """Every record of a transaction, per schema, in writing order, each under
    ``limits.max_record_bytes`` (see :mod:`drcapture.publish_records`)."""
    for schema, changes in by_schema(tx).items():
        yield from schema_records(tx.info, schema, changes, max_changes, limits)


def schema_messages(tx: CommittedTransaction, max_changes: int) -> Iterator[TransactionMessage]:
    """Split a transaction into per-schema messages of at most ``max_changes`` changes,
    values inline (what :func:`transaction_records` sends when no value is large)."""
    for schema, changes in by_schema(tx).items():
        parts = [changes[i : i + max_changes] for i in range(0, len(changes), max_changes)]
        for index, part in enumerate(parts):
            yield TransactionMessage(
                schema_name=schema,
                tx=tx.info,
                changes_in_schema=len(changes),
                chunk=index,
                last=index == len(parts) - 1,
                changes=tuple(part),
            )


class Publisher:
    """Owns the transactional producer and the topics capture writes."""

    def __init__(
        self, kafka: KafkaSettings, names: TopicNames, capture_id: str, replication: int = 1
    ) -> None:
        self._kafka = kafka
        self._names = names
        self._capture_id = capture_id
        self._replication = replication
        self._known_topics: set[str] = set()
        self._producer: AIOKafkaProducer | None = None

    @property
    def names(self) -> TopicNames:
        return self._names

    async def start(self, schemas: Iterable[str] = ()) -> None:
        """Create control topics (and those of known schemas), then fence any zombie."""
        await self._ensure(
            [
                TopicSpec(
                    self._names.checkpoints,
                    replication=self._replication,
                    config=dict(COMPACTED_TOPIC_CONFIG),
                ),
                TopicSpec(self._names.heartbeats, replication=self._replication),
            ]
        )
        await self.ensure_schemas(schemas)
        self._producer = transactional_producer(
            self._kafka,
            f"drcapture-{self._names.database}-{self._capture_id}",
            transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
        )
        try:
            await self._producer.start()
        except KafkaError as exc:
            raise SinkError(f"cannot start the Kafka producer: {exc}") from exc

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def ensure_schemas(self, schemas: Iterable[str]) -> None:
        """Create the data topics of these schemas if they are new to us."""
        specs = [
            TopicSpec(self._names.schema(s), replication=self._replication)
            for s in schemas
            if self._names.schema(s) not in self._known_topics
        ]
        await self._ensure(specs)

    async def _ensure(self, specs: list[TopicSpec]) -> None:
        if not specs:
            return
        try:
            created = await ensure_topics(self._kafka, specs)
        except KafkaError as exc:
            raise SinkError(f"creating topics failed: {exc}") from exc
        for name in created:
            log.info("created topic", extra={"topic": name})
        self._known_topics.update(s.name for s in specs)

    @property
    def schema_topics(self) -> list[str]:
        """Data topics known to this publisher."""
        control = {self._names.checkpoints, self._names.heartbeats, self._names.dead_letters}
        return sorted(t for t in self._known_topics if t not in control)

    async def publish(
        self,
        batch: Sequence[Publishable],
        checkpoint: CaptureCheckpoint,
        *,
        watermark_scn: int | None,
        max_changes: int,
        heartbeat: Heartbeat | None = None,
        limits: RecordLimits | None = None,
        dictionary_changes: Sequence[DictionaryChange] = (),
    ) -> int:
        """Publish a batch, the due watermarks and the checkpoint in one Kafka transaction.

        ``dictionary_changes`` (the dictionary versions the batch's DDL transactions made)
        go to the checkpoint topic in the same transaction, so a restart finds exactly
        the versions of what is published.

        Returns the number of data records sent (value chunks included). On failure
        nothing of the batch is visible and the caller must restart from the previous
        checkpoint.
        """
        limits = limits or RecordLimits()
        producer = self._producer
        if producer is None:
            raise SinkError("publisher is not started")
        await self.ensure_schemas({s for tx in batch for s in tx.schemas()})
        sent = 0
        try:
            async with producer.transaction():
                for tx in batch:
                    for record in tx.records(max_changes, limits):
                        await producer.send(
                            self._names.schema(record.schema),
                            record.value,
                            # One key per transaction: its records share a partition.
                            key=tx.info.xid.encode(),
                            # The record time stays the publish time: Kafka's retention
                            # works on it, and a backlog of old commits must not expire on
                            # arrival. The commit time travels in the message itself.
                            headers=record.headers,
                        )
                        sent += 1
                if watermark_scn is not None:
                    source_ts = heartbeat.source_ts if heartbeat else None
                    await self._send_watermarks(producer, watermark_scn, source_ts)
                if heartbeat is not None:
                    await producer.send(
                        self._names.heartbeats,
                        serde.encode(heartbeat),
                        key=self._capture_id.encode(),
                        headers=serde.headers_for(heartbeat),
                    )
                for change in dictionary_changes:
                    await producer.send(
                        self._names.checkpoints,
                        serde.encode(change),
                        key=dictionary_key(self._capture_id, change.scn, change.thread,
                                           change.commit_rba),
                        headers=serde.headers_for(change),
                    )
                await producer.send(
                    self._names.checkpoints,
                    serde.encode(checkpoint),
                    key=self._capture_id.encode(),
                    headers=serde.headers_for(checkpoint),
                )
        except ProducerFenced as exc:
            raise CaptureFenced(
                "another capture with the same capture_id took over (producer fenced)",
                capture_id=self._capture_id,
            ) from exc
        except KafkaError as exc:
            raise SinkError(f"publishing to Kafka failed: {exc}") from exc
        return sent

    async def _send_watermarks(
        self, producer: AIOKafkaProducer, scn: int, source_ts: datetime | None
    ) -> None:
        now = datetime.now(UTC)
        for topic in self.schema_topics:
            schema = self._names.owner_of(topic)
            if schema is None:
                continue
            mark = Watermark(schema_name=schema, scn=scn, source_ts=source_ts, emitted_at=now)
            await producer.send(topic, serde.encode(mark), headers=serde.headers_for(mark))
