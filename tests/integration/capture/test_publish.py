"""Publishing on the real broker: per-schema records, watermarks and the checkpoint
become visible together, chunks stay contiguous, and the checkpoint reads back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka import TopicPartition
from drcapture.checkpoints import load_checkpoint, load_restart
from drcapture.errors import CaptureFenced
from drcapture.publish import CommittedTransaction, Publisher
from drcapture.publish_records import RecordLimits
from drcommon import serde
from drcommon.config import KafkaSettings
from drcommon.kafka import committed_consumer
from drcommon.model import (
    CaptureCheckpoint,
    DictionaryChange,
    DictionaryRowChange,
    Heartbeat,
    Operation,
    RowChange,
    ThreadRestart,
    TransactionInfo,
    TransactionMessage,
    Watermark,
)
from drcommon.topics import TopicNames

from tests.support.published import settled_end

pytestmark = pytest.mark.kafka


def _tx(n: int, owners: list[str]) -> CommittedTransaction:
    changes = [
        RowChange(
            op=Operation.INSERT,
            owner=o,
            table="T",
            pk=("ID",),
            after={"ID": str(i), "V": f"{o}-{n}-{i}"},
        )
        for i, o in enumerate(owners)
    ]
    info = TransactionInfo(
        xid=f"1.2.{n}",
        commit_scn=1000 + n,
        commit_ts=datetime(2026, 1, 1, tzinfo=UTC),
        thread=1,
        commit_rba=f"0x000001.{n:08x}.0010",
        changes_total=len(changes),
        schemas=tuple(sorted(set(owners))),
    )
    return CommittedTransaction(info, changes)


def _checkpoint(n: int) -> CaptureCheckpoint:
    return CaptureCheckpoint(
        capture_id="cap",
        threads={1: ThreadRestart(sequence=1, block=n, scn=1000 + n)},
        last_published=(1000 + n, 1, f"0x000001.{n:08x}.0010"),
        safe_scn=1000 + n,
        written_at=datetime.now(UTC),
    )


async def _timestamps(settings: KafkaSettings, topic: str) -> list[int]:
    tp = TopicPartition(topic, 0)
    await settled_end(settings, tp)
    consumer = committed_consumer(settings, group_id=None)
    await consumer.start()
    try:
        consumer.assign([tp])
        batch = await consumer.getmany(tp, timeout_ms=5000)
        return [r.timestamp for r in batch.get(tp, [])]
    finally:
        await consumer.stop()


async def _read_all(settings: KafkaSettings, topic: str) -> list[bytes]:
    tp = TopicPartition(topic, 0)
    end = await settled_end(settings, tp)
    consumer = committed_consumer(settings, group_id=None)
    await consumer.start()
    try:
        consumer.assign([tp])
        values: list[bytes] = []
        deadline = asyncio.get_running_loop().time() + 60
        while (position := await consumer.position(tp)) < end:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{topic}: read to {position} of {end} in 60 s")
            for records in (await consumer.getmany(timeout_ms=500)).values():
                values.extend(r.value for r in records if r.value is not None)
        return values
    finally:
        await consumer.stop()


async def test_batch_checkpoint_and_watermark_publish_together(
    kafka_settings: KafkaSettings,
) -> None:
    names = TopicNames(kafka_settings.topic_prefix, "SRC")
    publisher = Publisher(kafka_settings, names, "cap")
    await publisher.start(["HR"])
    try:
        assert await load_checkpoint(kafka_settings, names.checkpoints, "cap") is None
        batch = [_tx(1, ["HR", "FIN", "HR"]), _tx(2, ["FIN"])]
        beat = Heartbeat(
            capture_id="cap",
            watermark_scn=1002,
            threads={1: 1003},
            source_ts=datetime(2026, 1, 1, 8, tzinfo=UTC),
            emitted_at=datetime.now(UTC),
        )
        sent = await publisher.publish(
            batch, _checkpoint(2), watermark_scn=1002, max_changes=1, heartbeat=beat
        )
        assert sent == 4  # HR in two chunks of one change, FIN once per transaction
    finally:
        await publisher.stop()

    hr = [serde.decode(v) for v in await _read_all(kafka_settings, names.schema("HR"))]
    fin = [serde.decode(v) for v in await _read_all(kafka_settings, names.schema("FIN"))]
    hr_tx = [m for m in hr if isinstance(m, TransactionMessage)]
    assert [(m.tx.xid, m.chunk, m.last) for m in hr_tx] == [("1.2.1", 0, False), ("1.2.1", 1, True)]
    assert [c.after for m in hr_tx for c in m.changes] == [
        {"ID": "0", "V": "HR-1-0"},
        {"ID": "2", "V": "HR-1-2"},
    ]
    assert [m.tx.xid for m in fin if isinstance(m, TransactionMessage)] == ["1.2.1", "1.2.2"]
    assert isinstance(hr[-1], Watermark) and hr[-1].scn == 1002
    assert isinstance(fin[-1], Watermark) and fin[-1].scn == 1002
    assert fin[-1].source_ts == datetime(2026, 1, 1, 8, tzinfo=UTC)
    beats = [serde.decode(v) for v in await _read_all(kafka_settings, names.heartbeats)]
    assert beats == [beat]
    loaded = await load_checkpoint(kafka_settings, names.checkpoints, "cap")
    assert loaded is not None and loaded.last_published == (1002, 1, "0x000001.00000002.0010")
    # Records carry the publish time (retention works on it), not the 2026-01-01 commit time:
    # a backlog of old commits must not expire the moment it arrives.
    now_ms = datetime.now(UTC).timestamp() * 1000
    stamps = await _timestamps(kafka_settings, names.schema("FIN"))
    assert stamps and all(abs(now_ms - t) < 600_000 for t in stamps)


async def test_failed_batch_leaves_nothing_visible(kafka_settings: KafkaSettings) -> None:
    names = TopicNames(kafka_settings.topic_prefix, "SRC")
    publisher = Publisher(kafka_settings, names, "cap")
    await publisher.start(["HR"])
    try:
        await publisher.publish(
            [_tx(1, ["HR"])], _checkpoint(1), watermark_scn=None, max_changes=100
        )
        broken = RowChange(
            op=Operation.INSERT, owner="HR", table="T", after={"BIG": "x" * (9 * 1024 * 1024)}
        )
        big = CommittedTransaction(_tx(2, ["HR"]).info, [broken])
        # Limits above the topic's max.message.bytes (8 MiB): the broker refuses the record.
        unbounded = RecordLimits(max_value_bytes=16 << 20, max_record_bytes=32 << 20)
        with pytest.raises(Exception):  # noqa: B017 - any failure must leave no trace
            await publisher.publish(
                [_tx(3, ["HR"]), big], _checkpoint(3), watermark_scn=None, max_changes=100,
                limits=unbounded,
            )
    finally:
        await publisher.stop()
    hr = [serde.decode(v) for v in await _read_all(kafka_settings, names.schema("HR"))]
    assert [m.tx.xid for m in hr if isinstance(m, TransactionMessage)] == ["1.2.1"]
    loaded = await load_checkpoint(kafka_settings, names.checkpoints, "cap")
    assert loaded is not None and loaded.threads[1].block == 1


def _dictionary_change(scn: int, rba: str, name: str) -> DictionaryChange:
    return DictionaryChange(
        capture_id="cap", scn=scn, thread=1, commit_rba=rba, xid=f"9.9.{scn}",
        written_at=datetime.now(UTC),
        changes=(DictionaryRowChange(table="COL$", op="update", rowid="AAAAACAAAAAAFQ+AAI",
                                     values={"OBJ#": "72726", "NAME": name}),),
    )


async def test_dictionary_changes_travel_with_their_batch_and_read_back_in_commit_order(
    kafka_settings: KafkaSettings,
) -> None:
    names = TopicNames(kafka_settings.topic_prefix, "SRC")
    publisher = Publisher(kafka_settings, names, "cap")
    await publisher.start(["HR"])
    try:
        assert await load_restart(kafka_settings, names.checkpoints, "cap") == (None, [])
        late = _dictionary_change(1002, "0x000001.00000002.0010", "LATE")
        early = _dictionary_change(1001, "0x000001.00000001.0010", "EARLY")
        await publisher.publish([_tx(1, ["HR"]), _tx(2, ["HR"])], _checkpoint(2),
                                watermark_scn=None, max_changes=10,
                                dictionary_changes=[late, early])
        # A batch that fails after its dictionary change was sent leaves nothing behind.
        publisher_two = Publisher(kafka_settings, names, "cap")
        await publisher_two.start(["HR"])  # fences the first producer
        await publisher_two.stop()
        with pytest.raises(CaptureFenced):
            await publisher.publish([_tx(3, ["HR"])], _checkpoint(3), watermark_scn=None,
                                    max_changes=10,
                                    dictionary_changes=[_dictionary_change(
                                        1003, "0x000001.00000003.0010", "LOST")])
    finally:
        await publisher.stop()
    checkpoint, changes = await load_restart(kafka_settings, names.checkpoints, "cap")
    assert checkpoint is not None and checkpoint.last_published == (
        1002, 1, "0x000001.00000002.0010")
    assert [(c.scn, c.changes[0].values["NAME"]) for c in changes] == [
        (1001, "EARLY"), (1002, "LATE")]
