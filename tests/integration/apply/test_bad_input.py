"""Bad input stops the schema with an error naming topic, partition and offset; what was
committed before it stays, nothing after it is applied, and nothing is skipped."""

from __future__ import annotations

import orjson
import pytest
from drapply.admin import read_status
from drapply.oneshot import apply_once
from drapply.wiring import topic_names
from drcommon import serde

from tests.integration.apply.conftest import SettingsFactory, assert_same, read_table
from tests.integration.apply.synth import Publisher, SyntheticSource

pytestmark = [pytest.mark.kafka]


def _tx_bytes(source: SyntheticSource, owner: str, changes: dict[str, object]) -> bytes:
    message = source.transaction(owner, 2).messages(1000)[0]
    doc = orjson.loads(serde.encode(message))
    doc.update(changes)
    return orjson.dumps(doc)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("malformed", "not JSON"),
        ("version", "message schema version 99 is not supported"),
        ("unconfigured", "table is not configured for apply"),
        ("wrong_schema", "record for schema OTHER on the topic of"),
    ],
)
async def test_bad_record_stops_the_schema_at_its_offset(
    make_settings: SettingsFactory, unique: str, kind: str, expected: str
) -> None:
    schema = f"B{unique[:6].upper()}"
    tables = [f"{schema}.ACCOUNTS"]
    settings = make_settings("sqlite", source={"database": "ORCL", "tables": tables})
    source = SyntheticSource([schema], seed=2)
    good = [source.transaction(schema, 3) for _ in range(5)]
    applied_state = source.snapshot()[(schema, "ACCOUNTS")]
    topic = topic_names(settings).schema(schema)
    publisher = Publisher(settings.kafka, topic_names(settings), f"bad-{unique}")
    await publisher.start([schema])
    try:
        await publisher.publish(good)
        if kind == "malformed":
            value = b'{"v": 1, "kind": "tx", "schema": '
        elif kind == "version":
            value = _tx_bytes(source, schema, {"v": 99})
        elif kind == "unconfigured":
            other = SyntheticSource([schema], tables=("SECRET",), seed=9)
            value = serde.encode(other.transaction(schema, 1).messages(1000)[0])
        else:
            value = _tx_bytes(source, schema, {"schema": "OTHER"})
        bad_offset = await publisher.send_raw(topic, value)
        await publisher.publish([source.transaction(schema, 2) for _ in range(3)])
    finally:
        await publisher.stop()

    for _attempt in range(2):  # a second run stops at the same place: nothing skipped
        status = (await apply_once(settings))[schema]
        assert status.error is not None and expected in status.error, status.error
        assert f"topic={topic}" in status.error and f"offset={bad_offset}" in status.error
        assert status.applied_scn == good[-1].info.commit_scn
        checkpoint = next(r for r in read_status(settings) if r["topic"] == topic)
        assert checkpoint["next_offset"] <= bad_offset
        assert checkpoint["commit_scn"] == good[-1].info.commit_scn
        assert_same(applied_state, read_table(settings, schema, "ACCOUNTS"))
