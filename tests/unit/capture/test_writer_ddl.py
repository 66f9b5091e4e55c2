"""DDL written by the workload writer: each statement is one transaction holding its
dictionary row changes (clustered TAB$/COL$/CDEF$/CCOL$ rows the way the free23 record
0x239.00bc shows them, OBJ$ and TABPART$ as heap rows) and the 24.1 record. Read back
with the Python record parser and decoded here by hand (the core's decoding of clustered
rows is not this test's subject): every change is where the writer says, with its
objects, ROWID and values; the changes applied to the snapshot's SYS rows give the
writer's final tables; rows after the DDL read back with the new dictionary."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from drcapture.dictionary.derive import DatabaseFacts
from drcapture.dictionary.model import Charsets, ColumnDef, Dictionary, OracleType, TableDef
from drcapture.dictionary.snapshot import load_snapshot, load_snapshot_system
from drcapture.dictionary.system import rows_at
from drcapture.filtering import TableFilter
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.ops import kdo as K
from drcapture.redo.ops.ddl import Ddl
from drcapture.redo.ops.kdo import RowOp
from drcapture.redo.ops.undo import UndoRecord
from drcapture.redo.reader import iter_records
from drcapture.synth.sys_layouts import SYS_TABLES, SysTable
from drcapture.synth.workload import (
    AddColumn,
    AddPartition,
    Col,
    Commit,
    CreateTable,
    DropColumn,
    DropTable,
    Insert,
    RenameColumn,
    RenameTable,
    Step,
    Table,
    Truncate,
    Update,
    Workload,
    row,
)
from drcapture.synth.workload_build import DICTIONARY_FILE, BuiltWorkload, build_workload
from drcapture.synth.workload_state import WorkloadError, table_def
from drcapture.synth.writer_records import LINUX_19C, LINUX_23, Platform
from drcapture.synth.writer_sys import CLUSTER_TABLE_NUMBER
from drcapture.values import decode_column
from drcapture.values.rowid import decode_rowid
from drcommon.model import Operation
from drcommon.sqlcommand import SqlCommand
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.capture.python_decode import decode_transactions
from tests.unit.capture.test_writer_workload import _assert_change

EMP = Table("HR", "EMP", 70001, (Col("ID", OracleType.NUMBER), Col("NAME", OracleType.VARCHAR2, 40),
                                 Col("NOTE", OracleType.VARCHAR2, 40)), pk=("ID",))
SALES = Table("HR", "SALES", 70010, (Col("ID", OracleType.NUMBER),),
              partitions=(("P1", 70011),))
ORDERS = Table("HR", "ORDERS", 70020, (Col("OID", OracleType.NUMBER),
                                       Col("ITEM", OracleType.VARCHAR2, 20)), pk=("OID",))


def _workload(*steps: Step, platform: Platform = LINUX_19C, seed: bool = True) -> Workload:
    """EMP and SALES with (``seed``) one committed row in EMP, then ``steps``."""
    first = (Step(1, "a", Insert("EMP", row(ID="1", NAME="ann", NOTE="n1"))),
             Step(1, "a", Commit())) if seed else ()
    return Workload(tables=(EMP, SALES), steps=first + steps, platform=platform)


DDL_STORIES: dict[str, tuple[Step, ...]] = {
    "add column": (
        Step(1, "d", AddColumn("EMP", Col("SAL", OracleType.NUMBER))),
        Step(1, "b", Insert("EMP", row(ID="2", NAME="bob", SAL="7"))),
        Step(1, "b", Update("EMP", row(ID="1"), row(SAL="3"))),
        Step(1, "b", Commit())),
    "drop column": (
        Step(1, "d", DropColumn("EMP", "NAME")),
        Step(1, "b", Insert("EMP", row(ID="2", NOTE="x"))),
        Step(1, "b", Commit())),
    "rename column": (
        Step(1, "d", RenameColumn("EMP", "NOTE", "REMARK")),
        Step(1, "b", Update("EMP", row(ID="1"), row(REMARK="r"))),
        Step(1, "b", Commit())),
    "add partition": (Step(1, "d", AddPartition("SALES", "P2", 70012)),),
    "truncate": (
        Step(1, "d", Truncate("EMP", 70050)),
        Step(1, "b", Insert("EMP", row(ID="1", NAME="again"))),
        Step(1, "b", Commit())),
    "create table": (
        Step(1, "d", CreateTable(ORDERS)),
        Step(1, "b", Insert("ORDERS", row(OID="1", ITEM="pen"))),
        Step(1, "b", Insert("ORDERS", row(OID="2", ITEM="ink"))),
        Step(1, "b", Commit())),
    "drop table": (Step(1, "d", DropTable("EMP")),),
    "rename table": (
        Step(1, "d", RenameTable("EMP", "STAFF")),
        Step(1, "b", Insert("STAFF", row(ID="5", NAME="eve"))),
        Step(1, "b", Commit())),
}
COMMANDS = {"add column": SqlCommand.ALTER_TABLE, "drop column": SqlCommand.ALTER_TABLE,
            "rename column": SqlCommand.ALTER_TABLE, "add partition": SqlCommand.ALTER_TABLE,
            "truncate": SqlCommand.TRUNCATE_TABLE, "create table": SqlCommand.CREATE_TABLE,
            "drop table": SqlCommand.DROP_TABLE, "rename table": SqlCommand.ALTER_TABLE}


@dataclass
class Seen:
    """One dictionary row change as read back: the undo record and the redo row op."""

    undo: UndoRecord
    redo: RowOp
    data_obj: int  # the 11.x vector's data object


def _read(built: BuiltWorkload) -> tuple[dict[str, list[Seen]], dict[str, Ddl]]:
    """Dictionary row changes (by XID) and 24.1 records (by XID) in the logs."""
    system_objs = {t.obj for t in SYS_TABLES.values()}
    rows: dict[str, list[Seen]] = {}
    ddls: dict[str, Ddl] = {}
    for log in built.logs:
        for record in iter_records(RedoFile(BytesSource(log.data))):
            undo: UndoRecord | None = None
            for cv, op in record.ops:
                if isinstance(op, UndoRecord) and op.ktub.obj in system_objs:
                    undo = op
                elif isinstance(op, RowOp) and undo is not None:
                    rows.setdefault(str(undo.xid), []).append(Seen(undo, op, cv.header.data_obj))
                elif isinstance(op, Ddl):
                    ddls[str(op.xid)] = op
    return rows, ddls


def _table_of(obj: int) -> SysTable:
    return next(t for t in SYS_TABLES.values() if t.obj == obj)


def _text(table: SysTable, seg: int, raw: bytes | None) -> str | None:
    name, type_code, length, col_no = table.columns[seg - 1]
    column = ColumnDef(col_no=col_no, seg_col=seg, name=name, type_code=type_code,
                       length=length, charset_form=1 if type_code == OracleType.VARCHAR2 else 0)
    value = decode_column(raw, column, Charsets())
    assert value is None or isinstance(value, str)
    return value


def _values(seen: Seen) -> tuple[str, dict[str, str | None]]:
    """What the redo carries of one change, by column name (row piece column i is the
    column at SEGCOL# CLUCOLS + 1 + i; the key comes as supplemental columns)."""
    table = _table_of(seen.undo.ktub.obj)
    code = seen.redo.code
    op = {K.RowCode.IRP: "insert", K.RowCode.DRP: "delete", K.RowCode.URP: "update"}[code]
    piece = seen.undo.row_op if op == "delete" else seen.redo
    assert piece is not None
    out: dict[str, str | None] = {}
    supp = seen.undo.supplemental
    assert supp is not None
    for number, raw in supp.columns:
        out[table.columns[number - 1][0]] = _text(table, number, raw)
    for column in piece.columns:
        seg = table.clu_cols + 1 + column.index
        value = _text(table, seg, column.value)
        if value is not None or op == "update":
            out[table.columns[seg - 1][0]] = value
    return op, out


@pytest.mark.parametrize("story", sorted(DDL_STORIES))
@pytest.mark.parametrize("platform", [LINUX_19C, LINUX_23], ids=["19c", "23"])
def test_each_ddl_is_one_transaction_of_dictionary_changes_and_a_24_1(
        story: str, platform: Platform) -> None:
    built = build_workload(_workload(*DDL_STORIES[story], platform=platform))
    assert len(built.ddl) == 1
    ddl = built.ddl[0]
    rows, ddls = _read(built)
    record = ddls[ddl.xid]
    assert (record.sql, record.obj, record.kind) == (ddl.sql, ddl.obj, 0)
    assert ddl.command == record.command == COMMANDS[story]
    seen = rows[ddl.xid]
    assert len(seen) == len(ddl.changes)
    for got, want in zip(seen, ddl.changes, strict=True):
        table = SYS_TABLES[want.table]
        assert got.undo.ktub.obj == table.obj and got.undo.ktub.data_obj == table.data_obj
        assert got.data_obj == table.data_obj  # the cluster's, for a clustered table
        at = got.redo
        rowid = decode_rowid(table.data_obj.to_bytes(4, "big") + at.bdba.to_bytes(4, "big")
                             + at.slot.to_bytes(2, "big"))
        assert rowid == want.rowid
        if table.clu_cols:
            assert at.tabn == CLUSTER_TABLE_NUMBER[table.name]
            if want.op != "delete":
                assert at.fb & K.FB_CLUSTERED
            assert [n for n, _ in got.undo.supplemental.columns] == list(  # type: ignore[union-attr]
                range(1, table.clu_cols + 1))
        assert _values(got) == (want.op, want.values), (want.table, want.op)


def test_update_of_a_clustered_row_is_laid_out_like_the_real_tab_update() -> None:
    """TRUNCATE's TAB$ update: undo objn 4 objd 2, redo on the cluster (OBJ 2), fb
    -CH-FL--, the key OBJ# as supplemental column 1, the piece starting at DATAOBJ#."""
    built = build_workload(_workload(*DDL_STORIES["truncate"]))
    rows, _ = _read(built)
    (ddl,) = built.ddl
    tab = next(s for s in rows[ddl.xid] if s.undo.ktub.obj == 4)
    assert (tab.undo.ktub.data_obj, tab.data_obj, tab.redo.fb) == (2, 2, 0x6C)
    supp = tab.undo.supplemental
    assert supp is not None and (supp.op_type, supp.fb, supp.start_undo) == (1, 0x0C, 2)
    assert supp.row == (tab.redo.bdba, tab.redo.slot)
    assert [(c.index, c.value) for c in tab.redo.columns] == [(0, bytes.fromhex("c3080133"))]
    assert _values(tab) == ("update", {"OBJ#": "70001", "DATAOBJ#": "70050"})


def _final_tables(built: BuiltWorkload) -> Dictionary:
    assert built.system is not None
    last = built.ddl[-1].commit_scn if built.ddl else 0
    return rows_at(built.system, [d.change_set() for d in built.ddl], last).dictionary(
        DatabaseFacts())


def _shape(table: TableDef | None) -> tuple[object, ...]:
    assert table is not None
    return (table.owner, table.name, table.pk, table.data_obj,
            [(c.col_no, c.seg_col, c.name, c.type_code, c.nullable) for c in table.columns])


@pytest.mark.parametrize("story", sorted(DDL_STORIES))
def test_changes_applied_to_the_snapshot_rows_give_the_writers_tables(story: str) -> None:
    steps = DDL_STORIES[story]
    built = build_workload(_workload(*steps))
    final = _final_tables(built)
    after = {
        "add column": [("EMP", (*EMP.columns, Col("SAL", OracleType.NUMBER)), EMP.pk, 70001)],
        "drop column": [("EMP", (EMP.columns[0], EMP.columns[2]), EMP.pk, 70001)],
        "rename column": [("EMP", (*EMP.columns[:2], Col("REMARK", OracleType.VARCHAR2, 40)),
                           EMP.pk, 70001)],
        "truncate": [("EMP", EMP.columns, EMP.pk, 70050)],
        "rename table": [("STAFF", EMP.columns, EMP.pk, 70001)],
        "create table": [("ORDERS", ORDERS.columns, ORDERS.pk, 70020),
                         ("EMP", EMP.columns, EMP.pk, 70001)],
        "drop table": [],
        "add partition": [("EMP", EMP.columns, EMP.pk, 70001)],
    }[story]
    for name, columns, pk, data_obj in after:
        obj = ORDERS.obj if name == "ORDERS" else EMP.obj
        want = table_def(Table("HR", name, obj, columns, pk=pk, data_obj=data_obj))
        assert _shape(final.table_for(obj)) == _shape(want)
    if story == "drop table":
        assert final.table_for(EMP.obj) is None
    if story == "add partition":
        assert final.table_for(70012) is final.table_for(70010) is not None
    assert final.system_tables[4].cluster_key_columns == 1


def test_the_snapshot_carries_the_start_rows_and_the_dictionary_tables() -> None:
    built = build_workload(_workload(*DDL_STORIES["create table"]))
    with tempfile.TemporaryDirectory() as tmp:
        built.write(Path(tmp))
        doc = json.loads((Path(tmp) / DICTIONARY_FILE).read_text())
    system = load_snapshot_system(doc)
    assert system is not None
    start = system.dictionary(DatabaseFacts())
    assert _shape(start.table_for(EMP.obj)) == _shape(table_def(EMP))
    assert start.table_for(ORDERS.obj) is None and start.max_obj == 70011
    loaded = load_snapshot(doc)
    assert loaded.system_tables[21].name == "COL$" and loaded.max_obj == 70011
    assert [c.name for c in loaded.system_tables[4].columns[:3]] == ["OBJ#", "DATAOBJ#", "TS#"]


def _after(built: BuiltWorkload, scn: int) -> None:
    """Transactions committed after ``scn`` read back with the dictionary of then."""
    assert built.system is not None
    dictionary = rows_at(built.system, [d.change_set() for d in built.ddl], scn).dictionary(
        DatabaseFacts(db_id=built.dictionary.db_id, db_name=built.dictionary.db_name))
    with tempfile.TemporaryDirectory() as tmp:
        paths = built.write(Path(tmp))
        got = [t for t in decode_transactions(paths, dictionary, TableFilter(("HR.*",)))
               if t.commit_scn > scn]
    want = [t for t in built.expected if t.commit_scn > scn]
    then = replace(built, dictionary=dictionary)
    assert [(str(t.xid), t.commit_scn) for t in got] == [(t.xid, t.commit_scn) for t in want]
    for txn, expected in zip(got, want, strict=True):
        assert len(txn.changes) == len(expected.changes)
        for change, exp in zip(txn.changes, expected.changes, strict=True):
            _assert_change(change, exp, then)


@pytest.mark.parametrize("story", ["add column", "drop column", "rename column", "truncate",
                                   "create table", "rename table"])
def test_rows_after_the_ddl_read_back_with_the_new_dictionary(story: str) -> None:
    built = build_workload(_workload(*DDL_STORIES[story]))
    _after(built, built.ddl[0].commit_scn)
    if story == "add column":
        (insert, update) = built.expected[-1].changes
        assert insert.after == {"ID": "2", "NAME": "bob", "NOTE": None, "SAL": "7"}
        assert update.after is not None and update.after["SAL"] == "3"
    if story == "drop column":
        assert built.expected[-1].changes[0].after == {"ID": "2", "NOTE": "x"}
    if story == "truncate":
        assert built.expected[-1].changes[0].row_id is not None
        assert built.expected[-1].changes[0].row_id.startswith("AAARGi")  # data obj 70050


def test_ddl_refusals() -> None:
    with pytest.raises(WorkloadError, match="own"):
        build_workload(_workload(Step(1, "b", Insert("EMP", row(ID="3"))),
                                 Step(1, "b", AddColumn("EMP", Col("X")))))
    with pytest.raises(WorkloadError, match="lock"):
        build_workload(_workload(Step(1, "b", Insert("EMP", row(ID="3"))),
                                 Step(1, "d", AddColumn("EMP", Col("X")))))
    with pytest.raises(WorkloadError, match="primary key"):
        build_workload(_workload(Step(1, "d", DropColumn("EMP", "ID"))))
    with pytest.raises(WorkloadError, match="not partitioned"):
        build_workload(_workload(Step(1, "d", AddPartition("EMP", "P9", 79999))))
    with pytest.raises(WorkloadError, match="partitioned"):
        build_workload(_workload(Step(1, "b", Insert("SALES", row(ID="1")))))
    with pytest.raises(WorkloadError, match="no table"):
        build_workload(_workload(Step(1, "d", DropTable("EMP")),
                                 Step(1, "b", Insert("EMP", row(ID="3")))))


@pytest.mark.parametrize("story", ["add column", "truncate", "rename table", "create table"])
def test_the_ddl_transaction_reads_back_as_a_ddl_change(story: str) -> None:
    """The Python reader reports the DDL transaction (from its 24.1) with the statement,
    at the commit SCN the writer gives it."""
    built = build_workload(_workload(*DDL_STORIES[story]))
    (ddl,) = built.ddl
    with tempfile.TemporaryDirectory() as tmp:
        paths = built.write(Path(tmp))
        dictionary = rows_at(built.system, [d.change_set() for d in built.ddl],  # type: ignore[arg-type]
                             ddl.commit_scn).dictionary(DatabaseFacts())
        got = [t for t in decode_transactions(paths, dictionary, TableFilter(("HR.*",)))
               if str(t.xid) == ddl.xid]
    assert len(got) == 1 and got[0].commit_scn == ddl.commit_scn
    (change,) = got[0].changes
    assert (change.op, change.owner, change.ddl) == (Operation.DDL, "HR", ddl.sql)
    assert change.ddl_command == COMMANDS[story]


_NAMES = ("A", "B", "C", "D", "E")


@st.composite
def _column_ddl(draw: st.DrawFn) -> tuple[tuple[Step, ...], tuple[Col, ...]]:
    """A run of ADD/DROP/RENAME COLUMN on EMP and the columns it leaves."""
    columns = list(EMP.columns)
    steps: list[Step] = []
    for k in range(draw(st.integers(1, 6))):
        others = [c for c in columns if c.name not in EMP.pk]
        free = [n for n in _NAMES if n not in {c.name for c in columns}]
        kind = draw(st.sampled_from(["add", "drop", "rename"] if others else ["add"]))
        label = f"d{k}"
        if kind == "add" and free:
            col = Col(draw(st.sampled_from(free)), OracleType.NUMBER)
            columns.append(col)
            steps.append(Step(1, label, AddColumn("EMP", col)))
        elif kind == "drop" and others:
            gone = draw(st.sampled_from(others))
            columns.remove(gone)
            steps.append(Step(1, label, DropColumn("EMP", gone.name)))
        elif others and free:
            old = draw(st.sampled_from(others))
            new = draw(st.sampled_from(free))
            columns[columns.index(old)] = Col(new, old.type_code, old.length)
            steps.append(Step(1, label, RenameColumn("EMP", old.name, new)))
    return tuple(steps), tuple(columns)


@settings(max_examples=40, deadline=None)
@given(_column_ddl())
def test_any_column_ddl_run_tracks_to_the_writers_table(
        run: tuple[tuple[Step, ...], tuple[Col, ...]]) -> None:
    steps, columns = run
    values = {c.name: "1" for c in columns}
    # No row before the DDL: the writer does not rewrite rows for DROP COLUMN, so a row
    # written before it reads back only with the dictionary of its own time.
    built = build_workload(_workload(*steps, Step(1, "z", Insert("EMP", row(values))),
                                     Step(1, "z", Commit()), seed=False))
    final = _final_tables(built)
    want = table_def(Table("HR", "EMP", EMP.obj, columns, pk=EMP.pk))
    assert _shape(final.table_for(EMP.obj)) == _shape(want)
    if built.ddl:
        _after(built, built.ddl[-1].commit_scn)
