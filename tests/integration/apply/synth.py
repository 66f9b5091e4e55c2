"""A synthetic Oracle source for apply's tests and benchmark.

It keeps the source tables in memory, makes random committed transactions (inserts,
updates, deletes with the before/after images capture would publish), and publishes
them exactly like capture does: per schema, chunked, in Kafka transactions, with
watermarks. The tests then compare the target with :attr:`SyntheticSource.tables`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer
from drcommon import serde
from drcommon.config import KafkaSettings
from drcommon.kafka import TopicSpec, ensure_topics, transactional_producer
from drcommon.model import (
    ColumnInfo,
    Operation,
    RowChange,
    TransactionInfo,
    TransactionMessage,
    Watermark,
)
from drcommon.topics import TopicNames

COLUMNS: dict[str, ColumnInfo] = {
    "ID": ColumnInfo(type="NUMBER", precision=10, scale=0, nullable=False),
    "NAME": ColumnInfo(type="VARCHAR2", length=100),
    "AMOUNT": ColumnInfo(type="NUMBER", precision=30, scale=9),
    "CREATED": ColumnInfo(type="TIMESTAMP", scale=6),
    "NOTE": ColumnInfo(type="VARCHAR2", length=200),
    "DATA": ColumnInfo(type="RAW", length=16),
}
Row = dict[str, str | None]


@dataclass
class SourceTx:
    """One committed source transaction."""

    info: TransactionInfo
    changes: list[RowChange]

    def messages(self, max_changes: int) -> list[TransactionMessage]:
        parts = [
            self.changes[i : i + max_changes] for i in range(0, len(self.changes), max_changes)
        ] or [[]]
        return [
            TransactionMessage(
                schema_name=self.changes[0].owner if self.changes else self.info.schemas[0],
                tx=self.info,
                changes_in_schema=len(self.changes),
                chunk=i,
                last=i == len(parts) - 1,
                changes=tuple(part),
            )
            for i, part in enumerate(parts)
        ]


@dataclass
class SyntheticSource:
    """In-memory source tables plus a transaction generator."""

    schemas: Sequence[str]
    tables: Sequence[str] = ("ACCOUNTS",)
    seed: int = 1
    scn: int = 1000
    rng: random.Random = field(init=False)
    state: dict[tuple[str, str], dict[int, Row]] = field(init=False)
    next_id: int = 1
    # Commit times (and so Kafka record timestamps) start an hour ago: the broker's time
    # retention measures record timestamps, and records stamped years ago are deleted at
    # its next retention check (every 5 minutes), possibly before apply has read them.
    clock: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    )

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.state = {(s, t): {} for s in self.schemas for t in self.tables}

    def _row(self, ident: int) -> Row:
        r = self.rng
        amount = Decimal(r.randint(-(10**12), 10**12)) / Decimal(10 ** r.randint(0, 9))
        created = datetime(2024, 1, 1) + timedelta(microseconds=r.randint(0, 10**13))
        return {
            "ID": str(ident),
            "NAME": r.choice(["Zhang Wei", "王芳", "O'Brien", 'a"b', "x" * r.randint(0, 40)]),
            "AMOUNT": format(amount, "f"),
            "CREATED": created.isoformat(timespec="microseconds"),
            "NOTE": None if r.random() < 0.3 else f"note {r.randint(0, 10**6)}",
            "DATA": None if r.random() < 0.5 else r.randbytes(r.randint(0, 16)).hex().upper(),
        }

    def _change(self, owner: str) -> RowChange:
        table = self.rng.choice(list(self.tables))
        rows = self.state[(owner, table)]
        roll = self.rng.random()
        if not rows or roll < 0.5:
            ident = self.next_id
            self.next_id += 1
            row = self._row(ident)
            rows[ident] = row
            return RowChange(
                op=Operation.INSERT,
                owner=owner,
                table=table,
                pk=("ID",),
                after=dict(row),
                columns=COLUMNS,
            )
        ident = self.rng.choice(list(rows))
        old = rows[ident]
        if roll < 0.85:
            new = self._row(ident)
            changed = {k: v for k, v in new.items() if k != "ID" and self.rng.random() < 0.6}
            changed = changed or {"NAME": new["NAME"]}
            rows[ident] = {**old, **changed}
            return RowChange(
                op=Operation.UPDATE,
                owner=owner,
                table=table,
                pk=("ID",),
                before=dict(old),
                after=changed,
                columns=COLUMNS,
            )
        del rows[ident]
        return RowChange(
            op=Operation.DELETE,
            owner=owner,
            table=table,
            pk=("ID",),
            before=dict(old),
            columns=COLUMNS,
        )

    def transaction(self, owner: str, size: int) -> SourceTx:
        """A committed transaction of ``size`` changes on one schema."""
        changes = [self._change(owner) for _ in range(size)]
        self.scn += self.rng.randint(1, 5)
        self.clock += timedelta(milliseconds=self.rng.randint(1, 50))
        info = TransactionInfo(
            xid=f"0x{self.scn:04x}.001.{self.rng.randint(0, 99999):08d}",
            commit_scn=self.scn, commit_ts=self.clock, thread=1,
            commit_rba=f"0x{self.scn:06x}.0001.0010", changes_total=size, schemas=(owner,),
        )  # fmt: skip
        return SourceTx(info, changes)

    def insert_only(self, owner: str, size: int, table: str | None = None) -> SourceTx:
        """A bulk-load transaction (inserts only)."""
        tbl = table or self.tables[0]
        changes = []
        for _ in range(size):
            ident = self.next_id
            self.next_id += 1
            row = self._row(ident)
            self.state[(owner, tbl)][ident] = row
            changes.append(
                RowChange(
                    op=Operation.INSERT,
                    owner=owner,
                    table=tbl,
                    pk=("ID",),
                    after=dict(row),
                    columns=COLUMNS,
                )
            )
        self.scn += 1
        self.clock += timedelta(milliseconds=1)
        info = TransactionInfo(
            xid=f"0x{self.scn:04x}.002.{size:08d}", commit_scn=self.scn, commit_ts=self.clock,
            thread=1, commit_rba=f"0x{self.scn:06x}.0002.0010", changes_total=size,
            schemas=(owner,),
        )  # fmt: skip
        return SourceTx(info, changes)

    def snapshot(self) -> dict[tuple[str, str], dict[int, Row]]:
        return {k: {i: dict(r) for i, r in v.items()} for k, v in self.state.items()}


class Publisher:
    """Publishes source transactions the way capture does (one Kafka transaction per
    batch, chunked, with watermarks)."""

    def __init__(self, kafka: KafkaSettings, names: TopicNames, tx_id: str) -> None:
        self.kafka = kafka
        self.names = names
        self.producer: AIOKafkaProducer = transactional_producer(kafka, tx_id)

    async def start(self, schemas: Iterable[str]) -> None:
        await ensure_topics(self.kafka, [TopicSpec(self.names.schema(s)) for s in schemas])
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def publish(
        self, txs: Sequence[SourceTx], *, max_changes: int = 1000,
        watermark: tuple[Iterable[str], int] | None = None,
    ) -> None:  # fmt: skip
        async with self.producer.transaction():
            for tx in txs:
                for message in tx.messages(max_changes):
                    await self.producer.send(
                        self.names.schema(message.schema_name), serde.encode(message),
                        key=tx.info.xid.encode(), headers=serde.headers_for(message),
                        timestamp_ms=int(tx.info.commit_ts.timestamp() * 1000),
                    )  # fmt: skip
            if watermark is not None:
                schemas, scn = watermark
                for schema in schemas:
                    mark = Watermark(schema_name=schema, scn=scn, emitted_at=datetime.now(UTC))
                    await self.producer.send(
                        self.names.schema(schema), serde.encode(mark),
                        headers=serde.headers_for(mark),
                    )  # fmt: skip

    async def send_raw(self, topic: str, value: bytes) -> int:
        """One record with any bytes (bad input tests); returns its offset."""
        async with self.producer.transaction():
            meta = await self.producer.send_and_wait(topic, value)
        return int(meta.offset)


def canonical(value: Any) -> str | None:
    """A target value back in the wire format's exact string form."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex().upper()
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return str(value)
