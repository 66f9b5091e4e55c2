"""Conflict policies end to end (overwrite resolves, stop halts before the transaction),
skipped tables and DDL records: counted, and the target still equals the source."""

from __future__ import annotations

import sqlite3

import pytest
from drapply.adapters.sqlite import schema_file
from drapply.admin import read_status
from drapply.oneshot import apply_once
from drapply.settings import ApplySettings
from drapply.wiring import topic_names
from drcommon.model import Operation, RowChange, TransactionInfo

from tests.integration.apply.conftest import SettingsFactory, assert_same, read_table
from tests.integration.apply.synth import COLUMNS, Publisher, SourceTx, SyntheticSource

pytestmark = [pytest.mark.kafka]


def _exec(settings: ApplySettings, schema: str, sql: str, *params: object) -> None:
    db = sqlite3.connect(schema_file(settings.target.path, schema))
    try:
        db.execute(sql, params)
        db.commit()
    finally:
        db.close()


async def _publish(settings: ApplySettings, unique: str, schema: str, txs: list[SourceTx]) -> None:
    publisher = Publisher(settings.kafka, topic_names(settings), f"pol-{unique}")
    await publisher.start([schema])
    try:
        await publisher.publish(txs)
    finally:
        await publisher.stop()


def _next(tx: SourceTx) -> TransactionInfo:
    """Commit info for a hand-made transaction right after ``tx``."""
    info = tx.info
    return info.model_copy(
        update={"commit_scn": info.commit_scn + 1, "xid": f"{info.xid}.n", "changes_total": 1}
    )


@pytest.mark.parametrize("policy", ["overwrite", "stop"])
async def test_conflicts_by_policy(
    make_settings: SettingsFactory, unique: str, policy: str
) -> None:
    schema = f"W{unique[:6].upper()}"
    settings = make_settings("sqlite", policies=[{"tables": [f"{schema}.*"], "policy": policy}])
    source = SyntheticSource([schema], seed=12)
    first = [source.insert_only(schema, 5)]
    await _publish(settings, unique, schema, first)
    assert (await apply_once(settings))[schema].error is None
    ids = sorted(source.state[(schema, "ACCOUNTS")])
    # DR-side drift: a row the next insert also writes, and a row the next update needs.
    stray = source.next_id
    _exec(settings, schema, 'INSERT INTO "ACCOUNTS" ("ID", "NAME") VALUES (?, ?)', stray, "stray")
    _exec(settings, schema, 'DELETE FROM "ACCOUNTS" WHERE "ID" = ?', ids[0])
    _exec(settings, schema, 'DELETE FROM "ACCOUNTS" WHERE "ID" = ?', ids[1])
    old = source.state[(schema, "ACCOUNTS")]
    insert = source.insert_only(schema, 1)  # inserts `stray`
    full = dict(old[ids[0]], NAME="full image")  # before holds every column
    update = RowChange(
        op=Operation.UPDATE,
        owner=schema,
        table="ACCOUNTS",
        pk=("ID",),
        before=dict(old[ids[0]]),
        after={"NAME": "full image"},
        columns=COLUMNS,
    )
    delete = RowChange(op=Operation.DELETE, owner=schema, table="ACCOUNTS", pk=("ID",),
                       before=dict(old[ids[1]]), columns=COLUMNS)  # fmt: skip
    old[ids[0]] = full
    del old[ids[1]]
    mixed = SourceTx(_next(insert), [update, delete])
    await _publish(settings, unique, schema, [insert, mixed])
    status = (await apply_once(settings))[schema]
    if policy == "overwrite":
        assert status.error is None and status.conflicts == 3
        assert_same(source.state[(schema, "ACCOUNTS")], read_table(settings, schema, "ACCOUNTS"))
    else:
        assert status.error is not None and "duplicate_key" in status.error
        assert f"key=ID={stray}" in status.error
        topic = topic_names(settings).schema(schema)
        assert next(r for r in read_status(settings) if r["topic"] == topic)["commit_scn"] == (
            first[0].info.commit_scn
        )


async def test_skipped_tables_and_ddl_are_counted_not_applied(
    make_settings: SettingsFactory, unique: str
) -> None:
    schema = f"D{unique[:6].upper()}"
    settings = make_settings(
        "sqlite", source={"database": "ORCL", "skip_tables": [f"{schema}.TMP_*"]},
        apply={"ddl": "skip"},
    )
    source = SyntheticSource([schema], seed=13)
    data = [source.transaction(schema, 3) for _ in range(5)]
    tmp = SourceTx(
        _next(data[-1]),
        [RowChange(op=Operation.INSERT, owner=schema, table="TMP_X", pk=("ID",),
                   after={"ID": "1"}, columns={"ID": COLUMNS["ID"]})],
    )  # fmt: skip
    ddl = SourceTx(
        _next(tmp),
        [RowChange(op=Operation.DDL, owner=schema, table="ACCOUNTS", ddl="ALTER TABLE x")],
    )
    await _publish(settings, unique, schema, [*data, tmp, ddl])
    status = (await apply_once(settings))[schema]
    assert status.error is None and status.applied_scn == ddl.info.commit_scn
    db = sqlite3.connect(schema_file(settings.target.path, schema))
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()
    assert "TMP_X" not in tables and "ACCOUNTS" in tables
    assert_same(source.state[(schema, "ACCOUNTS")], read_table(settings, schema, "ACCOUNTS"))
