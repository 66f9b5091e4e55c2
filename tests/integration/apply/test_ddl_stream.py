"""Issue 15 (apply side): DDL records applied at their place in the stream.

Real Kafka, real SQLite and PostgreSQL. A schema upgrade in the middle of ordinary
traffic (a column added with a default and then used, a column renamed and then
updated, a table created, filled, truncated, filled again and dropped, an index)
reaches the DR tables without a manual step, in commit order: rows written before a
DDL see the old layout, rows after it the new one. A statement apply cannot reproduce
stops the schema right before it, with the SCN and what to do; after
``drapply ddl done`` the stream goes on, and the DDL log says who did what.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from drapply.adapters.registry import open_target
from drapply.admin import list_ddl
from drapply.oneshot import apply_once
from drapply.settings import ApplySettings
from drapply.wiring import naming_for, topic_names
from drcommon.model import ColumnInfo, Operation, RowChange, TransactionInfo

from tests.integration.apply.conftest import SettingsFactory
from tests.integration.apply.running import write_config
from tests.integration.apply.synth import Publisher, SourceTx, SyntheticSource

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[3]
NUM = ColumnInfo(type="NUMBER", precision=10, scale=0)
TEXT = ColumnInfo(type="VARCHAR2", length=20)


class _Script:
    """Hand-made source transactions, one after another."""

    def __init__(self, owner: str, after: TransactionInfo) -> None:
        self.owner = owner
        self.info = after
        self.txs: list[SourceTx] = []

    def tx(self, *changes: RowChange) -> SourceTx:
        scn = self.info.commit_scn + 10
        self.info = self.info.model_copy(update={
            "commit_scn": scn, "xid": f"0x{scn:04x}.009.00000001",
            "changes_total": len(changes)})  # fmt: skip
        tx = SourceTx(self.info, list(changes))
        self.txs.append(tx)
        return tx

    def ddl(self, table: str, text: str) -> SourceTx:
        return self.tx(RowChange(op=Operation.DDL, owner=self.owner, table=table, ddl=text))

    def insert(self, table: str, row: dict[str, str | None],
               columns: dict[str, ColumnInfo]) -> RowChange:  # fmt: skip
        return RowChange(op=Operation.INSERT, owner=self.owner, table=table, pk=("ID",),
                         after=row, columns=columns)  # fmt: skip

    def update(self, table: str, key: str, after: dict[str, str | None],
               columns: dict[str, ColumnInfo]) -> RowChange:  # fmt: skip
        return RowChange(op=Operation.UPDATE, owner=self.owner, table=table, pk=("ID",),
                         before={"ID": key}, after=after, columns=columns)  # fmt: skip


async def _publish(settings: ApplySettings, unique: str, schema: str,
                   txs: list[SourceTx]) -> None:  # fmt: skip
    publisher = Publisher(settings.kafka, topic_names(settings), f"ddl-{unique}")
    await publisher.start([schema])
    try:
        await publisher.publish(txs)
    finally:
        await publisher.stop()


def _rows(settings: ApplySettings, owner: str, table: str, columns: list[str]
          ) -> list[tuple[Any, ...]] | None:  # fmt: skip
    """The target table's rows (by ID), None when it does not exist."""
    naming = naming_for(settings, settings.target)
    ref = naming.table(owner, table)
    session: Any = open_target(settings.target).connect(admin=True)
    try:
        session.ensure_schema(ref.schema)
        if session.describe(ref) is None:
            return None
        cols = ", ".join('"' + naming.column(owner, table, c) + '"' for c in columns)
        key = '"' + naming.column(owner, table, "ID") + '"'
        found = session.query(f'SELECT {cols} FROM "{ref.schema}"."{ref.table}" ORDER BY {key}')
        return [tuple(str(v) if v is not None else None for v in r) for r in found]
    finally:
        session.close()


@pytest.mark.parametrize("parallel", [1, 2])
async def test_a_schema_upgrade_mid_stream_reaches_the_dr_tables_in_order(
    target_kind: str, make_settings: SettingsFactory, unique: str, parallel: int
) -> None:
    """With parallel lanes too: a DDL waits for every lane and runs alone."""
    schema = f"U{unique[:6].upper()}"
    settings = make_settings(target_kind, apply={"parallel": parallel})
    source = SyntheticSource([schema], seed=21)
    before = [source.transaction(schema, 2) for _ in range(3)]
    s = _Script(schema, before[-1].info)
    cols = {"ID": NUM, "NAME": TEXT}
    s.ddl("PATIENT", "CREATE TABLE PATIENT (ID NUMBER(10) PRIMARY KEY, NAME VARCHAR2(20))")
    s.tx(s.insert("PATIENT", {"ID": "1", "NAME": "a"}, cols),
         s.insert("PATIENT", {"ID": "2", "NAME": "b"}, cols))  # fmt: skip
    s.ddl("PATIENT", "ALTER TABLE PATIENT ADD (REGION VARCHAR2(8) DEFAULT 'HZ' NOT NULL, "
                     "VISITS NUMBER DEFAULT 0)")  # fmt: skip
    wide = {**cols, "REGION": TEXT, "VISITS": NUM}
    s.tx(s.insert("PATIENT", {"ID": "3", "NAME": "c", "REGION": "CA", "VISITS": "2"}, wide))
    s.ddl("PATIENT", "ALTER TABLE PATIENT RENAME COLUMN NAME TO FULL_NAME")
    renamed = {"ID": NUM, "FULL_NAME": TEXT, "REGION": TEXT, "VISITS": NUM}
    s.tx(s.update("PATIENT", "1", {"FULL_NAME": "a2"}, renamed))
    s.ddl("PATIENT", "CREATE UNIQUE INDEX PATIENT_NAME ON PATIENT (FULL_NAME)")
    s.ddl("FEE", "CREATE TABLE FEE (ID NUMBER(10), AMT NUMBER(8,2), CONSTRAINT FEE_PK "
                 "PRIMARY KEY (ID))")  # fmt: skip
    fee = {"ID": NUM, "AMT": ColumnInfo(type="NUMBER", precision=8, scale=2)}
    s.tx(s.insert("FEE", {"ID": "1", "AMT": "1.5"}, fee))
    s.ddl("FEE", "TRUNCATE TABLE FEE")
    s.tx(s.insert("FEE", {"ID": "2", "AMT": "2.25"}, fee))
    s.ddl("OLD", "CREATE TABLE OLD (ID NUMBER)")
    s.ddl("OLD", "DROP TABLE OLD PURGE")
    s.ddl("PATIENT", "GRANT SELECT ON PATIENT TO REPORTING")
    await _publish(settings, unique, schema, [*before, *s.txs])

    status = (await apply_once(settings))[schema]
    assert status.error is None and status.applied_scn == s.info.commit_scn

    assert _rows(settings, schema, "PATIENT", ["ID", "FULL_NAME", "REGION", "VISITS"]) == [
        ("1", "a2", "HZ", "0"), ("2", "b", "HZ", "0"), ("3", "c", "CA", "2")]  # fmt: skip
    assert _rows(settings, schema, "FEE", ["ID", "AMT"]) == [("2", "2.25")]
    assert _rows(settings, schema, "OLD", ["ID"]) is None
    log = list_ddl(settings, schema)
    assert [(r["kind"], r["outcome"]) for r in log] == [
        ("create_table", "executed"), ("add_column", "executed"),
        ("rename_column", "executed"), ("create_index", "executed"),
        ("create_table", "executed"), ("truncate_table", "executed"),
        ("create_table", "executed"), ("drop_table", "executed"), ("grant", "no_effect"),
    ]  # fmt: skip


def _drapply(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "drapply", *args, "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          check=False)  # fmt: skip


async def test_an_untranslatable_ddl_stops_the_schema_until_ddl_done(
    target_kind: str, make_settings: SettingsFactory, unique: str, tmp_path: Path
) -> None:
    schema = f"X{unique[:6].upper()}"
    settings = make_settings(target_kind)
    source = SyntheticSource([schema], seed=22)
    before = [source.transaction(schema, 2) for _ in range(3)]
    s = _Script(schema, before[-1].info)
    drop = s.ddl("ACCOUNTS", "ALTER TABLE ACCOUNTS DROP PARTITION P2019 UPDATE INDEXES")
    applied_at_stop = before[-1].info.commit_scn
    after = [source.transaction(schema, 2) for _ in range(3)]
    for tx in after:  # after the DDL in commit order
        tx.info = tx.info.model_copy(update={"commit_scn": s.info.commit_scn + tx.info.commit_scn})
    await _publish(settings, unique, schema, [*before, drop, *after])

    stopped = (await apply_once(settings))[schema]
    assert stopped.error is not None and stopped.applied_scn == applied_at_stop
    for fact in ("DROP PARTITION", f"scn={drop.info.commit_scn}", "drapply ddl done",
                 "ALTER TABLE ACCOUNTS DROP PARTITION P2019"):  # fmt: skip
        assert fact in stopped.error, stopped.error
    again = (await apply_once(settings))[schema]  # a retry stops at the same place
    assert again.error is not None and again.applied_scn == applied_at_stop

    config = write_config(settings, tmp_path / "apply.toml")
    wrong = _drapply(config, "ddl", "done", "--schema", schema, "--scn",
                     str(drop.info.commit_scn + 1), "--reason", "rows deleted by hand",
                     "--requested-by", "dba-li")  # fmt: skip
    assert wrong.returncode == 2 and "not the DDL at this SCN" in wrong.stderr, wrong.stderr
    done = _drapply(config, "ddl", "done", "--schema", schema, "--scn",
                    str(drop.info.commit_scn), "--reason", "rows of P2019 deleted by hand",
                    "--requested-by", "dba-li")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["xid"] == drop.info.xid

    finished = (await apply_once(settings))[schema]
    assert finished.error is None and finished.applied_scn == after[-1].info.commit_scn
    rows = _rows(settings, schema, "ACCOUNTS", ["ID"])
    assert rows is not None and {int(r[0]) for r in rows} == set(
        source.state[(schema, "ACCOUNTS")])  # fmt: skip
    listed = _drapply(config, "ddl", "list", "--schema", schema)
    (entry,) = json.loads(listed.stdout)
    assert (entry["outcome"], entry["applied_by"], entry["commit_scn"]) == (
        "by_hand", "dba-li", drop.info.commit_scn)  # fmt: skip
    assert entry["reason"] == "rows of P2019 deleted by hand"


async def test_ddl_done_refuses_a_transaction_without_ddl(
    make_settings: SettingsFactory, unique: str, tmp_path: Path
) -> None:
    """Only a DDL the stream stands before can be marked as applied by hand."""
    schema = f"N{unique[:6].upper()}"
    settings = make_settings("sqlite")
    source = SyntheticSource([schema], seed=23)
    await _publish(settings, unique, schema, [source.transaction(schema, 2)])
    assert (await apply_once(settings))[schema].error is None  # a checkpoint to stand on
    plain = source.transaction(schema, 2)
    await _publish(settings, unique, schema, [plain])  # the stream stands before it
    config = write_config(settings, tmp_path / "apply.toml")
    scn = str(plain.info.commit_scn)
    refused = _drapply(config, "ddl", "done", "--schema", schema, "--scn", scn,
                       "--reason", "x", "--requested-by", "dba")  # fmt: skip
    assert refused.returncode == 2 and "holds no DDL" in refused.stderr, refused.stderr
    assert list_ddl(settings, schema) == []
