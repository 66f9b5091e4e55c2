"""The vertical slice: transactions published like capture does, ``apply_once`` into
SQLite and PostgreSQL, target equal to the source, and a second run applies nothing."""

from __future__ import annotations

import pytest
from drapply.oneshot import apply_once
from drapply.wiring import topic_names

from tests.integration.apply.conftest import SettingsFactory, assert_same, read_table
from tests.integration.apply.synth import Publisher, SyntheticSource

pytestmark = [pytest.mark.kafka]


async def test_once_applies_everything_exactly(
    make_settings: SettingsFactory, target_kind: str, unique: str
) -> None:
    settings = make_settings(target_kind)
    schemas = [f"S{unique[:6].upper()}A", f"S{unique[:6].upper()}B"]
    source = SyntheticSource(schemas, tables=("ACCOUNTS", "LEDGER"), seed=7)
    publisher = Publisher(settings.kafka, topic_names(settings), f"p-{unique}")
    await publisher.start(schemas)
    try:
        for batch in range(6):
            txs = [source.transaction(schemas[i % 2], 1 + i % 7) for i in range(40)]
            txs.append(source.insert_only(schemas[batch % 2], 2500))  # chunked
            await publisher.publish(txs, max_changes=1000, watermark=(schemas, source.scn))
    finally:
        await publisher.stop()

    statuses = await apply_once(settings)
    assert {s for s in statuses} == set(schemas)
    for schema in schemas:
        assert statuses[schema].error is None
        assert statuses[schema].applied_scn is not None
        for table in ("ACCOUNTS", "LEDGER"):
            assert_same(
                source.state[(schema, table)],
                read_table(settings, schema, table),
                f"{schema}.{table}",
            )
    again = await apply_once(settings)
    assert all(s.transactions == 0 and s.rows == 0 for s in again.values())
    for schema in schemas:
        assert_same(source.state[(schema, "ACCOUNTS")], read_table(settings, schema, "ACCOUNTS"))
