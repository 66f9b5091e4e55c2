"""Records gone from Kafka are never skipped silently.

Kafka deletes old segments by retention (measured on record timestamps, which capture
sets to the source commit time). A stream whose position falls below the topic's first
offset, a new stream on a topic that lost its first records, and a checkpoint beyond the
end of a recreated topic all stop the schema with an error naming the offsets, and
nothing after the gap is applied. Retention is simulated exactly with the admin API's
DeleteRecords.
"""

from __future__ import annotations

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from drapply.adapters.registry import open_target
from drapply.admin import read_status
from drapply.oneshot import apply_once
from drapply.replay import ReplayRequest, replay_offline
from drapply.settings import ApplySettings
from drapply.source import PartitionSource, stream_consumer
from drapply.wiring import naming_for, stream_for, topic_names
from drcommon.config import KafkaSettings
from drcommon.errors import RetriableSourceError
from drcommon.kafka import client_options
from drcommon.topics import TopicNames

from tests.integration.apply.conftest import SettingsFactory, assert_same, read_table
from tests.integration.apply.synth import Publisher, Row, SourceTx, SyntheticSource

pytestmark = [pytest.mark.kafka]


async def _delete_before(kafka: KafkaSettings, topic: str, offset: int) -> None:
    """What retention does: the partition's first offset becomes ``offset``."""
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(offset)})
    finally:
        await admin.close()


async def _publish_batches(
    settings: ApplySettings, unique: str, schema: str, batches: int
) -> tuple[SyntheticSource, list[list[SourceTx]], list[int]]:
    """Insert-only batches (independent of each other, so a skipped batch would not be
    noticed by a later change); returns the first offset of each batch."""
    source = SyntheticSource([schema], seed=5)
    publisher = Publisher(settings.kafka, topic_names(settings), f"ret-{unique}")
    await publisher.start([schema])
    sent: list[list[SourceTx]] = []
    firsts: list[int] = []
    topic = topic_names(settings).schema(schema)
    try:
        for _ in range(batches):
            firsts.append(await _end(settings.kafka, topic))
            batch = [source.insert_only(schema, 3) for _ in range(4)]
            await publisher.publish(batch, watermark=([schema], source.scn))
            sent.append(batch)
    finally:
        await publisher.stop()
    return source, sent, firsts


async def _end(kafka: KafkaSettings, topic: str) -> int:
    consumer = stream_consumer(kafka, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


def _expected(sent: list[list[SourceTx]]) -> dict[int, Row]:
    rows: dict[int, Row] = {}
    for change in (c for batch in sent for tx in batch for c in tx.changes):
        after = change.after or {}
        rows[int(str(after["ID"]))] = {k: v if v is None else str(v) for k, v in after.items()}
    return rows


async def test_a_new_stream_on_a_topic_that_lost_its_first_records_stops(
    make_settings: SettingsFactory, target_kind: str, unique: str
) -> None:
    settings = make_settings(target_kind)
    schema = f"R{unique[:6].upper()}"
    topic = topic_names(settings).schema(schema)
    _source, _sent, firsts = await _publish_batches(settings, unique, schema, 3)
    await _delete_before(settings.kafka, topic, firsts[1])

    for _attempt in range(2):  # and it stays stopped: nothing is skipped on a retry
        status = (await apply_once(settings))[schema]
        assert status.error is not None, "apply started after a gap without saying so"
        assert f"offsets 0..{firsts[1] - 1}" in status.error and "retention" in status.error
        assert status.applied_scn is None and status.rows == 0
        checkpoint = next(r for r in read_status(settings) if r["topic"] == topic)
        assert checkpoint["next_offset"] == 0


async def test_the_documented_remedy_positions_a_new_stream_after_the_gap(
    make_settings: SettingsFactory, unique: str
) -> None:
    """After re-seeding, ``replay --from-scn`` puts a stream without a checkpoint where
    the seed ends; apply then starts there."""
    settings = make_settings("sqlite")
    schema = f"R{unique[:6].upper()}"
    topic = topic_names(settings).schema(schema)
    _source, sent, firsts = await _publish_batches(settings, unique, schema, 3)
    await _delete_before(settings.kafka, topic, firsts[1])
    seed_scn = sent[0][-1].info.commit_scn  # the re-seeded copy holds batch 0
    request = ReplayRequest(
        schemas=(schema,), from_scn=seed_scn + 1, from_time=None, requested_by="tester"
    )
    await replay_offline(settings, request)
    status = (await apply_once(settings))[schema]
    assert status.error is None, status.error
    assert_same(_expected(sent[1:]), read_table(settings, schema, "ACCOUNTS"))


async def test_records_deleted_under_a_stopped_stream_stop_it(
    make_settings: SettingsFactory, unique: str
) -> None:
    settings = make_settings("postgresql")
    schema = f"R{unique[:6].upper()}"
    topic = topic_names(settings).schema(schema)
    source = SyntheticSource([schema], seed=6)
    publisher = Publisher(settings.kafka, topic_names(settings), f"ret-{unique}")
    await publisher.start([schema])
    try:
        first = [source.insert_only(schema, 2) for _ in range(3)]
        await publisher.publish(first)
        assert (await apply_once(settings))[schema].error is None
        await publisher.publish([source.insert_only(schema, 2) for _ in range(3)])
        gap_end = await _end(settings.kafka, topic)
        await publisher.publish([source.insert_only(schema, 2) for _ in range(3)])
    finally:
        await publisher.stop()
    await _delete_before(settings.kafka, topic, gap_end)

    status = (await apply_once(settings))[schema]
    assert status.error is not None and "retention" in status.error
    applied = next(r for r in read_status(settings) if r["topic"] == topic)["next_offset"]
    assert f"offsets {applied}..{gap_end - 1}" in status.error
    assert_same(_expected([first]), read_table(settings, schema, "ACCOUNTS"))


async def test_a_checkpoint_beyond_the_end_of_a_recreated_topic_stops_the_stream(
    make_settings: SettingsFactory, target_kind: str, unique: str
) -> None:
    settings = make_settings(target_kind)
    schema = f"R{unique[:6].upper()}"
    topic = topic_names(settings).schema(schema)
    _source, _sent, _firsts = await _publish_batches(settings, unique, schema, 1)
    end = await _end(settings.kafka, topic)
    # The checkpoint of an earlier incarnation of the topic, far beyond its new end.
    stream = stream_for(naming_for(settings, settings.target), topic, schema)
    session = open_target(settings.target).connect()
    try:
        session.prepare_stream(stream)
        session.load_checkpoint(stream, 0)
        session.rewind(stream, end + 1000, force=True)
    finally:
        session.close()

    status = (await apply_once(settings))[schema]
    assert status.error is not None and "beyond the end of the topic" in status.error
    assert status.rows == 0


async def test_a_fetch_below_the_first_offset_fails_instead_of_jumping_ahead(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    """The consumer apply reads with never resets a lost position to the earliest record
    (which would hand the applier the records after the gap as if nothing was missing)."""
    schema = f"R{unique[:6].upper()}"
    names = TopicNames(kafka_settings.topic_prefix, "ORCL")
    topic = names.schema(schema)
    source = SyntheticSource([schema], seed=7)
    publisher = Publisher(kafka_settings, names, f"ret-{unique}")
    await publisher.start([schema])
    try:
        await publisher.publish([source.insert_only(schema, 1) for _ in range(3)])
        position = await _end(kafka_settings, topic)  # where a lagging stream stands
        await publisher.publish([source.insert_only(schema, 1) for _ in range(3)])
        later = await _end(kafka_settings, topic)
        await publisher.publish([source.insert_only(schema, 1) for _ in range(3)])
    finally:
        await publisher.stop()
    await _delete_before(kafka_settings, topic, later)

    consumer = stream_consumer(kafka_settings, group_id=None)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        partition = PartitionSource(consumer, topic, 0)
        partition.seek(position)
        with pytest.raises(RetriableSourceError, match="outside the topic"):
            for _ in range(20):
                fetched = await partition.fetch(100, 500)
                assert not fetched.records, (
                    f"fetched offsets {[r.offset for r in fetched.records]} after a gap"
                )
    finally:
        await consumer.stop()
