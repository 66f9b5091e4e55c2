"""Rewind-and-replay from an SCN and from a time, into the primary and into another
target, and re-application of a parked transaction: each checked row by row."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import pytest
from aiokafka import TopicPartition
from drapply.adapters.registry import open_target
from drapply.adapters.sqlite import schema_file
from drapply.admin import read_status
from drapply.oneshot import apply_once
from drapply.parked import ParkedWork
from drapply.replay import ReplayRequest, replay_offline
from drapply.settings import ApplySettings, TargetKind
from drapply.wiring import naming_for, topic_names
from drcommon import serde
from drcommon.kafka import committed_consumer
from drcommon.model import DeadLetter

from tests.integration.apply.conftest import SettingsFactory, assert_same, read_table
from tests.integration.apply.synth import Publisher, SourceTx, SyntheticSource

pytestmark = [pytest.mark.kafka]


def _sql(
    settings: ApplySettings, schema: str, statement: str, params: tuple[Any, ...],
    table: str = "ACCOUNTS",
) -> int:  # fmt: skip
    """Run a statement on the target directly (simulating damage or an operator fix)."""
    naming = naming_for(settings, settings.target)
    ref = naming.table(schema, table) if "{T}" in statement else None
    table = f'"{ref.schema}"."{ref.table}"' if ref else ""
    text = statement.replace("{T}", table)
    id_col = naming.column(schema, table, "ID")
    text = text.replace("{ID}", f'"{id_col}"')
    if settings.target.kind is TargetKind.SQLITE:
        db = sqlite3.connect(schema_file(settings.target.path, ref.schema if ref else schema))
        try:
            count = db.execute(text.replace(f'"{ref.schema}".' if ref else "", ""), params).rowcount
            db.commit()
        finally:
            db.close()
        return count
    assert settings.target.dsn
    with psycopg.connect(settings.target.dsn) as conn:
        return conn.execute(text.replace("?", "%s"), params).rowcount


async def _scenario(
    settings: ApplySettings, unique: str
) -> tuple[SyntheticSource, list[SourceTx], str]:
    schema = f"P{unique[:6].upper()}"
    source = SyntheticSource([schema], seed=21)
    txs = [source.transaction(schema, 1 + i % 6) for i in range(80)]
    txs.insert(40, source.insert_only(schema, 1500))
    publisher = Publisher(settings.kafka, topic_names(settings), f"rp-{unique}")
    await publisher.start([schema])
    try:
        for i in range(0, len(txs), 20):
            await publisher.publish(
                txs[i : i + 20],
                max_changes=500,
                watermark=([schema], txs[min(i + 19, len(txs) - 1)].info.commit_scn),
            )
    finally:
        await publisher.stop()
    statuses = await apply_once(settings)
    assert statuses[schema].error is None
    assert_same(source.state[(schema, "ACCOUNTS")], read_table(settings, schema, "ACCOUNTS"))
    return source, txs, schema


def _damage(
    settings: ApplySettings, schema: str, txs: list[SourceTx], source: SyntheticSource
) -> None:
    """Lose rows inserted at or after the middle and scramble one of them."""
    late_ids = {_id(c.after) for t in txs[40:] for c in t.changes if c.op.value == "insert"}
    alive = sorted(late_ids & source.state[(schema, "ACCOUNTS")].keys())
    assert len(alive) > 10
    for ident in alive[:5]:
        assert _sql(settings, schema, "DELETE FROM {T} WHERE {ID} = ?", (ident,)) == 1
    name = naming_for(settings, settings.target).column(schema, "ACCOUNTS", "NAME")
    _sql(settings, schema, f'UPDATE {{T}} SET "{name}" = ? WHERE {{ID}} = ?', ("damaged", alive[6]))
    assert read_table(settings, schema, "ACCOUNTS") != source.state[(schema, "ACCOUNTS")]


@pytest.mark.parametrize("by", ["scn", "time"])
async def test_rewind_and_replay_heals_the_primary(
    make_settings: SettingsFactory, target_kind: str, unique: str, by: str
) -> None:
    settings = make_settings(target_kind)
    source, txs, schema = await _scenario(settings, unique)
    _damage(settings, schema, txs, source)
    start = txs[40].info
    request = ReplayRequest(
        schemas=(schema,),
        from_scn=start.commit_scn if by == "scn" else None,
        from_time=start.commit_ts if by == "time" else None,
        requested_by="tester",
    )
    answer = await replay_offline(settings, request)
    topic = topic_names(settings).schema(schema)
    assert answer["result"] == "scheduled"
    status = {r["topic"]: r for r in read_status(settings)}[topic]
    assert status["replay_until"] is not None and status["next_offset"] < status["replay_until"]
    statuses = await apply_once(settings)
    assert statuses[schema].error is None
    assert_same(
        source.state[(schema, "ACCOUNTS")], read_table(settings, schema, "ACCOUNTS"), "after replay"
    )
    status = {r["topic"]: r for r in read_status(settings)}[topic]
    assert status["replay_until"] is None and status["commit_scn"] == txs[-1].info.commit_scn
    session = open_target(settings.target).connect(admin=True)
    try:
        audit = [a for a in session.audits() if a.audit_id == answer["replay_id"]]
    finally:
        session.close()
    assert audit and audit[0].requested_by == "tester"
    assert audit[0].detail["ranges"][topic][0] > 0  # started mid-topic, not at the beginning


async def test_replay_a_range_into_another_target(
    make_settings: SettingsFactory, unique: str, tmp_path: Any
) -> None:
    settings = make_settings(
        "postgresql",
        targets={
            "check": {"kind": "sqlite", "path": str(tmp_path / "check" / "dr.sqlite")},
            "mid": {"kind": "sqlite", "path": str(tmp_path / "mid" / "dr.sqlite")},
        },
    )
    source, _txs, schema = await _scenario(settings, unique)
    request = ReplayRequest(schemas=(schema,), from_scn=0, from_time=None, target="check",
                            requested_by="auditor")  # fmt: skip
    answer = await replay_offline(settings, request)
    assert answer["result"] == "completed", answer
    check = settings.model_copy(update={"target": settings.targets["check"]})
    assert_same(
        source.state[(schema, "ACCOUNTS")],
        read_table(check, schema, "ACCOUNTS"),
        "replayed into the check target",
    )
    # A bounded range: up to an SCN in the middle gives the source as of that SCN.
    middle = SyntheticSource([schema], seed=21)
    for tx in [middle.transaction(schema, 1 + i % 6) for i in range(40)]:
        last = tx
    bounded = ReplayRequest(schemas=(schema,), from_scn=0, from_time=None, target="mid",
                            requested_by="auditor", to_scn=last.info.commit_scn)  # fmt: skip
    assert (await replay_offline(settings, bounded))["result"] == "completed"
    mid = settings.model_copy(update={"target": settings.targets["mid"]})
    assert_same(
        middle.state[(schema, "ACCOUNTS")], read_table(mid, schema, "ACCOUNTS"), "bounded replay"
    )


async def test_parked_transaction_retried_after_fix(
    make_settings: SettingsFactory, target_kind: str, unique: str
) -> None:
    schema = f"Q{unique[:6].upper()}"
    settings = make_settings(target_kind, policies=[{"tables": [f"{schema}.*"], "policy": "park"}])
    source = SyntheticSource([schema], seed=8)
    source.state[(schema, "LEDGER")] = {}  # only the parked transaction writes here
    before = [source.transaction(schema, 3) for _ in range(10)]
    publisher = Publisher(settings.kafka, topic_names(settings), f"pk-{unique}")
    await publisher.start([schema])
    try:
        await publisher.publish(before)
        assert (await apply_once(settings))[schema].error is None
        # Someone wrote a row on the DR side that the next transaction also inserts.
        first = source.insert_only(schema, 1, table="LEDGER")  # creates the table
        await publisher.publish([first])
        assert (await apply_once(settings))[schema].error is None
        victim = source.insert_only(schema, 4, table="LEDGER")
        clash = _id(victim.changes[2].after)
        _sql(settings, schema, "INSERT INTO {T} ({ID}) VALUES (?)", (clash,), "LEDGER")
        after = [source.transaction(schema, 2) for _ in range(10)]  # ACCOUNTS only
        parked_ids = {_id(c.after) for c in victim.changes}
        await publisher.publish([victim, *after], max_changes=2)  # the victim in 2 chunks
    finally:
        await publisher.stop()
    statuses = await apply_once(settings)
    assert statuses[schema].error is None and statuses[schema].parked == 1
    assert statuses[schema].applied_scn == after[-1].info.commit_scn
    work = ParkedWork(settings)
    rows = work.rows()
    assert [r.xid for r in rows] == [victim.info.xid]
    assert "duplicate_key" in rows[0].error
    letters = await _dead_letters(settings, rows[0].dl_offsets)
    assert [len(d.message.changes) for d in letters] == [2, 2]
    assert all(d.xid == victim.info.xid for d in letters)
    # Nothing of the parked transaction was applied (all or nothing).
    assert read_table(settings, schema, "LEDGER").keys() & parked_ids == {clash}
    assert_same(source.state[(schema, "ACCOUNTS")], read_table(settings, schema, "ACCOUNTS"))
    # The operator removes the stray row and retries.
    _sql(settings, schema, "DELETE FROM {T} WHERE {ID} = ?", (clash,), "LEDGER")
    result = await work.retry(victim.info.xid, "operator", "stray row removed")
    assert result["state"] == "retried" and result["rows"] == 4
    for table in ("ACCOUNTS", "LEDGER"):
        assert_same(source.state[(schema, table)], read_table(settings, schema, table), table)
    assert work.rows() == [] and work.rows("retried")[0].resolved_by == "operator"


async def _dead_letters(settings: ApplySettings, offsets: tuple[int, ...]) -> list[DeadLetter]:
    consumer = committed_consumer(settings.kafka, group_id=None)
    tp = TopicPartition(topic_names(settings).dead_letters, 0)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, offsets[0])
        found: list[DeadLetter] = []
        while len(found) < len(offsets):
            for record in (await consumer.getmany(tp, timeout_ms=2000)).get(tp, []):
                if record.offset in offsets and record.value is not None:
                    letter = serde.decode(record.value)
                    assert isinstance(letter, DeadLetter)
                    found.append(letter)
        return found
    finally:
        await consumer.stop()


def _id(image: dict[str, Any] | None) -> int:
    assert image is not None
    return int(image["ID"])
