"""Large values end to end on the real broker, PostgreSQL and SQLite: published by
capture's real Publisher in bounded records, reassembled by apply, stored byte for byte
(CLOB/NCLOB as text, BLOB as bytes); LOB writes performed in place; and the exactly-once
machinery intact with chunk records in the stream (restart in the middle of a chunked
transaction, replay by SCN and time, parking and retry)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from aiokafka import TopicPartition
from drapply.adapters.registry import open_target
from drapply.adapters.sqlite import schema_file
from drapply.applier import Outcome
from drapply.observer import ApplyObserver
from drapply.oneshot import apply_once
from drapply.parked import ParkedWork
from drapply.replay import ReplayRequest, replay_offline
from drapply.settings import ApplySettings, TargetKind
from drapply.source import PartitionSource, stream_consumer
from drapply.wiring import applier_factory, naming_for, spill_for, stream_for, topic_names
from drcapture.publish import CommittedTransaction, Publisher
from drcapture.publish_records import RecordLimits
from drcommon.config import KafkaSettings
from drcommon.kafka import committed_consumer
from drcommon.model import CaptureCheckpoint, ThreadRestart
from drcommon.topics import TopicNames

from tests.integration.apply.conftest import SettingsFactory
from tests.integration.apply.lobsource import LobTable, blob_of, read_lobs, text_of
from tests.support.published import settled_end

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
MB = 1_000_000


def _checkpoint(n: int) -> CaptureCheckpoint:
    return CaptureCheckpoint(
        capture_id="cap", threads={1: ThreadRestart(sequence=1, block=n, scn=n)},
        last_published=(n, 1, "0x1"), safe_scn=n, written_at=datetime.now(UTC),
    )  # fmt: skip


async def _publish(
    kafka: KafkaSettings, table: LobTable, batches: list[list[CommittedTransaction]],
    limits: RecordLimits | None = None, max_changes: int = 1000,
) -> int:  # fmt: skip
    """Publish through capture's real Publisher; returns the records sent."""
    names = topic_names_for(kafka)
    publisher = Publisher(kafka, names, f"cap-{table.owner}")
    await publisher.start([table.owner])
    sent = 0
    try:
        for n, batch in enumerate(batches, 1):
            sent += await publisher.publish(
                batch, _checkpoint(n), watermark_scn=table.scn, max_changes=max_changes,
                limits=limits,
            )  # fmt: skip
    finally:
        await publisher.stop()
    return sent


def topic_names_for(kafka: KafkaSettings) -> TopicNames:
    return TopicNames(kafka.topic_prefix, "ORCL")


async def _raw_records(kafka: KafkaSettings, topic: str) -> list[Any]:
    tp = TopicPartition(topic, 0)
    end = await settled_end(kafka, tp)
    consumer = committed_consumer(kafka, group_id=None)
    await consumer.start()
    try:
        consumer.assign([tp])
        out: list[Any] = []
        while await consumer.position(tp) < end:
            out.extend((await consumer.getmany(tp, timeout_ms=1000)).get(tp, []))
        return out
    finally:
        await consumer.stop()


def _kinds(records: list[Any]) -> list[bytes]:
    return [dict(r.headers).get("kind", b"") for r in records]


# -- values of every size, every target -------------------------------------------------------
@pytest.mark.slow
async def test_values_of_every_size_arrive_byte_for_byte(
    make_settings: SettingsFactory, kafka_settings: KafkaSettings, unique: str
) -> None:
    table = LobTable(f"L{unique[:6].upper()}", seed=11)
    rng = table.rng
    t = table
    batches = [
        [
            t.commit([t.insert(1), t.insert(2, TXT="", NTXT="", BIN=""),
                      t.insert(3, TXT="汉a", NTXT="é", BIN="00FF")]),
            t.commit([t.insert(4, TXT=text_of(rng, 4100), NTXT=text_of(rng, 4001),
                                BIN=blob_of(rng, 4100))]),
            t.commit([t.insert(5, TXT=text_of(rng, 3 * MB), NTXT=text_of(rng, 300_000),
                                BIN=blob_of(rng, 2_500_000))]),
        ],
        [
            t.commit([t.insert(6, TXT=text_of(rng, 50 * MB), BIN=blob_of(rng, 50 * MB))]),
        ],
        [
            t.commit([
                t.update(5, TXT=text_of(rng, 1 * MB), NOTE="replaced"),
                t.write(6, "TXT", [(10, "汉字 written"), (60 * MB, "past the end")]),
                t.write(6, "BIN", [(0, "DEADBEEF"), (51 * MB, blob_of(rng, 400_000))],
                        length=51 * MB + 100),
                t.write(3, "NTXT", [(1, text_of(rng, 400_000))]),  # the data itself chunked
                t.write(2, "BIN", [(3, "01")]),  # an empty BLOB padded with zero bytes
                t.write(1, "TXT", [(2, "x")], length=5),  # NULL is the empty LOB
            ]),
            # One transaction in several tx records, with chunks between them.
            t.commit([t.insert(10 + i, TXT=text_of(rng, 300_000), BIN=blob_of(rng, 200_000))
                      for i in range(5)]),
            t.commit([t.delete(4), t.update(2, NOTE=None, NTXT=None)]),
        ],
    ]  # fmt: skip
    sent = await _publish(kafka_settings, t, batches, max_changes=2)

    topic = topic_names_for(kafka_settings).schema(t.owner)
    records = await _raw_records(kafka_settings, topic)
    assert len(records) >= sent  # sent counts data records; watermarks come on top
    assert max(len(r.value) for r in records) <= 1_000_000
    assert _kinds(records).count(b"value_chunk") > 400  # 150+ MB in 256 KiB pieces

    expected = t.expected()
    for kind in ("sqlite", "postgresql"):
        settings = make_settings(kind)
        statuses = await apply_once(settings)
        assert statuses[t.owner].error is None, statuses[t.owner].error
        got = read_lobs(settings, t.owner)
        assert got.keys() == expected.keys()
        for ident, row in expected.items():
            assert got[ident] == row, (kind, ident)
        again = await apply_once(settings)  # nothing twice
        assert again[t.owner].transactions == 0


# -- LOB writes against the reference, every target ------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def lob_settings(request: pytest.FixtureRequest, make_settings: SettingsFactory) -> ApplySettings:
    return make_settings(str(request.param))


async def test_lob_writes_in_place_match_the_reference(
    lob_settings: ApplySettings, kafka_settings: KafkaSettings, unique: str
) -> None:
    """Random writes and lengths on random values through Kafka, every target equal to the
    reference (test_lob_writes.py runs the same property on the sessions, many more)."""
    t = LobTable(f"W{unique[:6].upper()}", seed=int(unique[:6], 16))
    rng = t.rng
    txs = [t.commit([t.insert(i, TXT=rng.choice([None, "", text_of(rng, rng.randint(1, 60))]),
                              BIN=rng.choice([None, "", blob_of(rng, rng.randint(1, 60))]))
                     for i in range(30)])]  # fmt: skip
    for _ in range(60):
        ident, column = rng.randrange(30), rng.choice(["TXT", "NTXT", "BIN"])
        writes = [
            (rng.randint(0, 80), blob_of(rng, rng.randint(0, 20)) if column == "BIN"
             else text_of(rng, rng.randint(0, 20)))
            for _ in range(rng.randint(0, 3))
        ]  # fmt: skip
        length = rng.choice([None, rng.randint(0, 100)])
        txs.append(t.commit([t.write(ident, column, writes, length)]))
    await _publish(kafka_settings, t, [txs[:20], txs[20:]])
    statuses = await apply_once(lob_settings)
    assert statuses[t.owner].error is None, statuses[t.owner].error
    assert read_lobs(lob_settings, t.owner) == t.expected()


# -- restart in the middle of a chunked transaction ------------------------------------------
async def _spans(kafka: KafkaSettings, topic: str) -> list[tuple[int, int]]:
    """(first, last) offsets of each transaction's records on the topic."""
    spans: list[tuple[int, int]] = []
    for record in await _raw_records(kafka, topic):
        headers = dict(record.headers)
        if headers.get("kind") == b"watermark":
            continue
        if headers.get("start") == b"1":
            spans.append((record.offset, record.offset))
        else:
            spans[-1] = (spans[-1][0], record.offset)
    return spans


@pytest.fixture(params=["sqlite", "postgresql"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("where", ["before_its_first_record", "between_its_records"])
async def test_a_crash_in_the_middle_of_a_chunked_transaction_loses_and_doubles_nothing(
    make_settings: SettingsFactory, kafka_settings: KafkaSettings, unique: str, kind: str,
    where: str,
) -> None:  # fmt: skip
    """The applier is fed, one record a fetch, into the middle of a transaction's chunk
    records (before its first tx record, or after it, with the database transaction
    open), then the session is dropped without a commit: what a SIGKILL leaves. The
    checkpoint stands before the start of that transaction's span, never inside it; a
    new applier resumes from it and the table ends equal. The transaction inserts rows
    (a second application would be a duplicate key and stop the schema) and writes into
    a LOB in place: exactly once because the checkpoint moves in the same database
    transaction as the effect (the writes would even be harmless twice: an edit
    re-applied to its own result changes nothing)."""
    settings = make_settings(kind)
    t = LobTable(f"C{unique[:6].upper()}", seed=3)
    rng = t.rng
    first = t.commit([t.insert(1, TXT=text_of(rng, 200_000), BIN=blob_of(rng, 100_000))])
    victim = t.commit([
        t.insert(2, TXT=text_of(rng, 500_000)),
        t.write(1, "TXT", [(5, text_of(rng, 150_000))], length=180_000),
        t.insert(3, BIN=blob_of(rng, 300_000)),
        t.write(1, "BIN", [(99_000, "ABCDEF" * 10_000)]),
    ])  # fmt: skip
    last = t.commit([t.insert(4, NTXT=text_of(rng, 100_000))])
    limits = RecordLimits(max_value_bytes=64 * 1024, max_record_bytes=100_000)
    await _publish(kafka_settings, t, [[first], [victim, last]], limits=limits, max_changes=2)
    topic = topic_names_for(kafka_settings).schema(t.owner)
    spans = await _spans(kafka_settings, topic)
    records = await _raw_records(kafka_settings, topic)
    in_victim = [r for r in records if spans[1][0] <= r.offset <= spans[1][1]]
    kinds = _kinds(in_victim)
    assert kinds.count(b"tx") == 2 and kinds[0] == b"value_chunk"
    tx_at = [r.offset for r, k in zip(in_victim, kinds, strict=True) if k == b"tx"]
    crash_at = (spans[1][0] + 3) if where == "before_its_first_record" else (tx_at[0] + 3)
    assert crash_at < tx_at[1]

    stream = stream_for(naming_for(settings, settings.target), topic, t.owner)
    make = applier_factory(settings, settings.target, ApplyObserver())
    target = open_target(settings.target)
    consumer = stream_consumer(settings.kafka, group_id=None)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        for attempt in ("crash", "resume"):
            session = target.connect()
            applier = make(session, stream)
            checkpoint = applier.open(0)
            source = PartitionSource(consumer, topic, 0, spill_for(settings.apply))
            source.seek(checkpoint.next_offset)
            if attempt == "resume":
                # Before the span's first chunk (after the first transaction and perhaps
                # the watermark behind it), never inside the span.
                assert spans[0][1] < checkpoint.next_offset <= spans[1][0]
                assert checkpoint.xid == first.info.xid
            stop = crash_at if attempt == "crash" else spans[2][1] + 1
            while await source.position() < stop:
                fetched = await source.fetch(1, 1000)  # one record a fetch
                assert fetched.error is None, fetched.error
                assert applier.feed(fetched.records).outcome is Outcome.OK
            if attempt == "crash":
                assert source.values.pending  # chunks read, their tx record not yet
                assert applier.in_transaction is (where == "between_its_records")
                session.rollback()  # what a SIGKILL leaves: nothing after the last commit
            else:
                applier.flush()
            session.close()
    finally:
        await consumer.stop()
    assert read_lobs(settings, t.owner) == t.expected()
    statuses = await apply_once(settings)  # and nothing left to apply
    assert statuses[t.owner].transactions == 0 and statuses[t.owner].error is None


# -- replay by SCN and by time ---------------------------------------------------------------
async def test_replay_positions_at_the_first_chunk_of_a_transaction(
    make_settings: SettingsFactory, kafka_settings: KafkaSettings, unique: str
) -> None:
    settings = make_settings("postgresql")
    t = LobTable(f"R{unique[:6].upper()}", seed=5)
    rng = t.rng
    txs = [t.commit([t.insert(i, TXT=text_of(rng, 150_000), BIN=blob_of(rng, 80_000)),
                     t.write(0, "TXT", [(i, "r")]) if i else t.update(0, NOTE="n")])
           for i in range(6)]  # fmt: skip
    limits = RecordLimits(max_value_bytes=32 * 1024, max_record_bytes=80_000)
    await _publish(kafka_settings, t, [txs[:3], txs[3:]], limits=limits)
    topic = topic_names_for(kafka_settings).schema(t.owner)
    spans = await _spans(kafka_settings, topic)
    assert await apply_once(settings)
    assert read_lobs(settings, t.owner) == t.expected()

    request = ReplayRequest(schemas=(t.owner,), from_scn=txs[3].info.commit_scn,
                            from_time=None, requested_by="test")  # fmt: skip
    result = await replay_offline(settings, request)
    assert result["rewound"] == {topic: spans[3][0]}  # the first chunk, not the tx record
    statuses = await apply_once(settings)
    assert statuses[t.owner].error is None and statuses[t.owner].transactions == 3
    assert read_lobs(settings, t.owner) == t.expected()  # re-applied writes change nothing

    # By time: capture stamps records when it publishes them; every chunk of a
    # transaction is a start candidate only if it is the first of the span.
    records = await _raw_records(kafka_settings, topic)
    inside = next(r for r in records if spans[4][0] < r.offset < spans[4][1])
    when = datetime.fromtimestamp(inside.timestamp / 1000, UTC)
    request = ReplayRequest(schemas=(t.owner,), from_scn=None, from_time=when,
                            requested_by="test")  # fmt: skip
    result = await replay_offline(settings, request)
    starts = {s[0] for s in spans}
    assert result["rewound"][topic] in starts | {records[-1].offset + 1}
    assert result["rewound"][topic] <= spans[5][0]
    statuses = await apply_once(settings)
    assert statuses[t.owner].error is None
    assert read_lobs(settings, t.owner) == t.expected()


# -- parking and retry -----------------------------------------------------------------------
def _run_sql(settings: ApplySettings, owner: str, sql: str, params: tuple[Any, ...]) -> None:
    naming = naming_for(settings, settings.target)
    ref = naming.table(owner, "DOCS")
    id_col = naming.column(owner, "DOCS", "ID")
    if settings.target.kind is TargetKind.SQLITE:
        db = sqlite3.connect(schema_file(settings.target.path, ref.schema))
        try:
            db.execute(sql.format(T=f'"{ref.table}"', ID=f'"{id_col}"'), params)
            db.commit()
        finally:
            db.close()
        return
    assert settings.target.dsn
    with psycopg.connect(settings.target.dsn) as conn:
        conn.execute(
            sql.format(T=f'"{ref.schema}"."{ref.table}"', ID=f'"{id_col}"').replace("?", "%s"),
            params,
        )


async def test_a_parked_transaction_keeps_its_chunks_and_a_retry_applies_them(
    make_settings: SettingsFactory, kafka_settings: KafkaSettings, unique: str, kind: str
) -> None:
    t = LobTable(f"P{unique[:6].upper()}", seed=9)
    settings = make_settings(kind, policies=[{"tables": [f"{t.owner}.*"], "policy": "park"}])
    rng = t.rng
    before = t.commit([t.insert(1, TXT="first")])
    victim = t.commit([t.insert(2, TXT=text_of(rng, 700_000), BIN=blob_of(rng, 300_000)),
                       t.write(1, "TXT", [(3, text_of(rng, 100_000))]),
                       t.insert(3, NTXT=text_of(rng, 200_000))])  # fmt: skip
    after = t.commit([t.insert(4, TXT="after")])
    await _publish(kafka_settings, t, [[before]])
    assert (await apply_once(settings))[t.owner].error is None
    _run_sql(settings, t.owner, "INSERT INTO {T} ({ID}) VALUES (?)", (3,))  # a stray row
    limits = RecordLimits(max_value_bytes=64 * 1024, max_record_bytes=100_000)
    await _publish(kafka_settings, t, [[victim, after]], limits=limits, max_changes=2)
    statuses = await apply_once(settings)
    assert statuses[t.owner].error is None and statuses[t.owner].parked == 1
    assert set(read_lobs(settings, t.owner)) == {1, 3, 4}  # nothing of the victim
    work = ParkedWork(settings)
    [row] = work.rows()
    assert row.xid == victim.info.xid and len(row.dl_offsets) > 10  # chunks parked too
    dl = await _raw_records(kafka_settings, topic_names(settings).dead_letters)
    assert _kinds([r for r in dl if r.offset in row.dl_offsets]).count(b"dead_letter") == 2
    _run_sql(settings, t.owner, "DELETE FROM {T} WHERE {ID} = ?", (3,))
    result = await work.retry(victim.info.xid, "operator", "stray row removed")
    assert result["state"] == "retried" and result["rows"] == 3
    assert read_lobs(settings, t.owner) == t.expected()



# -- a consistent cut ------------------------------------------------------------------------
async def test_a_hold_stops_before_a_chunked_transaction_and_keeps_its_values(
    make_settings: SettingsFactory, kafka_settings: KafkaSettings, unique: str
) -> None:
    """Holding at an SCN below a transaction whose values came first: the feed stops at
    its tx record (``held``), the checkpoint stays before its first chunk, and once the
    hold is lifted the same record, values attached, is applied without reading again."""
    settings = make_settings("sqlite")
    t = LobTable(f"H{unique[:6].upper()}", seed=13)
    rng = t.rng
    early = t.commit([t.insert(1, TXT=text_of(rng, 300_000))])
    late = t.commit([t.insert(2, TXT=text_of(rng, 400_000), BIN=blob_of(rng, 200_000))])
    await _publish(kafka_settings, t, [[early, late]])
    topic = topic_names_for(kafka_settings).schema(t.owner)
    spans = await _spans(kafka_settings, topic)
    stream = stream_for(naming_for(settings, settings.target), topic, t.owner)
    session = open_target(settings.target).connect()
    consumer = stream_consumer(settings.kafka, group_id=None)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        applier = applier_factory(settings, settings.target, ApplyObserver())(session, stream)
        source = PartitionSource(consumer, topic, 0, spill_for(settings.apply))
        source.seek(applier.open(0).next_offset)
        pending = []
        while await source.position() < spans[1][1] + 1:
            pending.extend((await source.fetch(1000, 1000)).records)
        result = applier.feed(pending, hold_at=early.info.commit_scn)
        assert result.outcome is Outcome.HELD
        held = pending[result.consumed]
        assert held.start == spans[1][0] and held.values is not None
        assert applier.checkpoint is not None and applier.checkpoint.next_offset <= spans[1][0]
        assert set(read_lobs(settings, t.owner)) == {1}
        assert applier.feed(pending[result.consumed :]).outcome is Outcome.OK
        applier.flush()
    finally:
        await consumer.stop()
        session.close()
    assert read_lobs(settings, t.owner) == t.expected()
