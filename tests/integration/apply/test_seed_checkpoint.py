"""A checkpoint seeded at an SCN (what ``drapply load`` writes): apply reads past every
transaction committed at or before it (chunked ones whole) and applies the rest; and a
checkpoint table made before the column existed gains it."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from drapply.adapters.registry import open_target
from drapply.adapters.sqlite import schema_file
from drapply.oneshot import apply_once
from drapply.wiring import naming_for, stream_for, topic_names

from tests.integration.apply.conftest import SettingsFactory, read_table
from tests.integration.apply.synth import Publisher, SyntheticSource

pytestmark = [pytest.mark.kafka]


async def test_transactions_at_or_below_the_seed_are_read_past(
    make_settings: SettingsFactory, target_kind: str, unique: str
) -> None:
    settings = make_settings(target_kind)
    schema = f"S{unique[:6].upper()}"
    source = SyntheticSource([schema], seed=3)
    publisher = Publisher(settings.kafka, topic_names(settings), f"p-{unique}")
    await publisher.start([schema])
    seeded = [source.insert_only(schema, 3) for _ in range(4)] + [source.insert_only(schema, 2500)]
    seed_scn = source.scn
    later = [source.insert_only(schema, 5) for _ in range(3)] + [source.insert_only(schema, 1500)]
    try:
        await publisher.publish(seeded, max_changes=1000)  # the last one in three chunks
        await publisher.publish(later, max_changes=1000, watermark=([schema], source.scn))
    finally:
        await publisher.stop()

    naming = naming_for(settings, settings.target)
    stream = stream_for(naming, topic_names(settings).schema(schema), schema)
    session = open_target(settings.target).connect()
    try:
        session.prepare_stream(stream)
        checkpoint = session.load_checkpoint(stream, 0)
        session.begin(stream, checkpoint.next_offset)
        session.write_checkpoint(stream, replace(checkpoint, commit_scn=seed_scn,
                                                 seed_scn=seed_scn))  # fmt: skip
        session.commit()
    finally:
        session.close()

    statuses = await apply_once(settings)
    status = statuses[schema]
    assert status.error is None
    assert status.applied_scn == source.scn
    assert status.transactions == len(later)
    rows = read_table(settings, schema, "ACCOUNTS")
    expected = {int(c.after["ID"]) for tx in later for c in tx.changes if c.after}
    assert set(rows) == expected
    session = open_target(settings.target).connect()
    try:
        session.prepare_stream(stream)
        stored = session.load_checkpoint(stream, 0)
    finally:
        session.close()
    assert stored.seed_scn == seed_scn and stored.commit_scn == source.scn


def test_an_old_checkpoint_table_gains_the_seed_column(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = make_settings("sqlite")
    path = schema_file(settings.target.path, "OLD")
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE _drapply_checkpoint (topic TEXT NOT NULL, partition_no BIGINT NOT NULL, "
        "schema_name TEXT, next_offset BIGINT NOT NULL, commit_scn BIGINT, xid TEXT, "
        "commit_ts TEXT, watermark_scn BIGINT, replay_until BIGINT, updated_at TEXT, "
        "PRIMARY KEY (topic, partition_no))"
    )
    db.execute("INSERT INTO _drapply_checkpoint (topic, partition_no, schema_name, next_offset, "
               "commit_scn) VALUES ('t', 0, 'OLD', 42, 1234)")  # fmt: skip
    db.commit()
    db.close()
    naming = naming_for(settings, settings.target)
    stream = replace(stream_for(naming, "t", "OLD"), topic="t")
    session = open_target(settings.target).connect()
    try:
        session.prepare_stream(stream)
        checkpoint = session.load_checkpoint(stream, 0)
    finally:
        session.close()
    assert (checkpoint.next_offset, checkpoint.commit_scn, checkpoint.seed_scn) == (42, 1234, None)
