"""Running a workload's DDL steps: each is one transaction, as Oracle's recursive DDL
transaction is — 5.2, then per dictionary row change a record with its 5.1 and 11.x
(:class:`~drcapture.synth.writer_sys.SysVectors`), then the 24.1 DDL record, then the
5.4 commit — after which the builder's tables and rows follow the new definition (a
dropped column disappears from later row images, rows inserted after ADD COLUMN carry
it, TRUNCATE empties the table and gives it a new data object)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from drcapture.dictionary.derive import DatabaseFacts
from drcapture.dictionary.model import Dictionary, SystemChange
from drcapture.dictionary.system import SystemRows
from drcapture.synth.workload import (
    AddColumn,
    AddPartition,
    CreateTable,
    DdlOp,
    DropColumn,
    DropTable,
    RenameColumn,
    RenameTable,
    Table,
    Truncate,
    Workload,
)
from drcapture.synth.workload_ddl import DdlResult, SourceDictionary
from drcapture.synth.workload_ops import VectorFactory
from drcapture.synth.workload_result import ExpectedDdl
from drcapture.synth.workload_state import TableState, TxnState, WorkloadError
from drcapture.synth.writer_ops import Uba, begin_vector, end_vector
from drcapture.synth.writer_records import VectorSpec
from drcapture.synth.writer_sys import SysVectors, system_change_values

Records = list[tuple[int, list[VectorSpec]]]


@dataclass(slots=True)
class DdlSteps:
    """The source dictionary of one workload and the DDL transactions written so far."""

    workload: Workload
    vectors: VectorFactory
    source: SourceDictionary = field(init=False)
    initial: SystemRows = field(init=False)
    sys: SysVectors = field(init=False)
    done: list[ExpectedDdl] = field(default_factory=list)

    def __post_init__(self) -> None:
        w = self.workload
        self.source = SourceDictionary(w.charsets, w.tables, w.start_time)
        self.initial = self.source.system_rows()
        self.sys = SysVectors(self.vectors.p, w.charsets, w.con_id,
                              wide=w.platform.wide_vectors)

    def result(self, op: DdlOp, tables: dict[str, TableState],
               open_txns: list[TxnState], time: datetime) -> tuple[DdlResult, Table | None]:
        """What ``op`` does, checked against the tables and the open transactions (a DDL
        waits for no one here: a table another transaction has changed is refused)."""
        if isinstance(op, CreateTable):
            if op.table.name in tables or any(
                    s.table.obj == op.table.obj for s in tables.values()):
                raise WorkloadError(f"table {op.table.name} (object {op.table.obj}) exists")
            return self.source.apply(op, None, time), None
        state = table_state(tables, op.table)
        for tx in open_txns:
            if any(c.table.obj == state.table.obj for c in tx.changes):
                raise WorkloadError(f"{state.table.name} has changes of the open transaction "
                                    f"{tx.label!r}: its DDL would wait for the lock")
        return self.source.apply(op, state.table, time), state.table

    def records(self, tx: TxnState, result: DdlResult, tick: Callable[[], int],
                unix_time: int) -> tuple[Records, Records, int]:
        """The DDL transaction's records (one log write), its commit record (the next),
        and the commit SCN."""
        if not result.changes:
            raise WorkloadError(f"{result.sql!r} changes no dictionary row")
        v, w = self.vectors, self.workload
        records: Records = []
        last = Uba(0, 0, 0)
        for k, change in enumerate(result.changes):
            last = tx.next_uba()
            scn = tick()
            vectors, size = self.sys.vectors(tx.txn, last, change, scn, first=k == 0)
            if k == 0:
                vectors.insert(0, begin_vector(v.p, tx.txn, last, size, scn - 1, v.con_id,
                                               v.con_uid, w.platform))
            records.append((scn, vectors))
        records.append((tick(), [self.sys.ddl_vector(tx.txn, result.command, result.sql,
                                                     result.obj)]))
        commit_scn = tick()
        end = end_vector(v.p, tx.txn, last, rollback=False, scn=commit_scn,
                         unix_time=unix_time, con_id=v.con_id, platform=w.platform)
        return records, [(tick(), [end])], commit_scn

    def committed(self, tx: TxnState, result: DdlResult, commit_scn: int) -> None:
        """Record the transaction a reader must report."""
        changes = tuple(SystemChange(c.table, c.op, c.rowid, system_change_values(c))
                        for c in result.changes)
        self.done.append(ExpectedDdl(thread=tx.thread, xid=tx.txn.xid, commit_scn=commit_scn,
                                     sql=result.sql, command=result.command, obj=result.obj,
                                     changes=changes))

    def start_dictionary(self, dictionary: Dictionary) -> None:
        """Give the start dictionary the SYS tables and the highest object number."""
        derived = self.initial.dictionary(DatabaseFacts())
        dictionary.system_tables = derived.system_tables
        dictionary.max_obj = derived.max_obj


def table_state(tables: dict[str, TableState], name: str) -> TableState:
    """The state of the table called ``name`` (``OWNER.NAME`` or ``NAME``)."""
    for state in tables.values():
        if name in (state.table.name, f"{state.table.owner}.{state.table.name}"):
            return state
    raise WorkloadError(f"workload has no table {name!r}")


def follow(op: DdlOp, tables: dict[str, TableState], old: Table | None,
           new: Table | None) -> None:
    """Make the builder's tables and rows what they are after ``op``."""
    if isinstance(op, CreateTable):
        assert new is not None
        tables[new.name] = TableState(new)
        return
    assert old is not None
    state = tables.pop(old.name)
    if new is None:  # dropped
        return
    state.table = new
    tables[new.name] = state
    if isinstance(op, Truncate):
        state.rows.clear()
    for row in state.rows.values():
        if isinstance(op, AddColumn):
            row.values[op.column.name] = None
        elif isinstance(op, DropColumn):
            row.values.pop(op.name, None)
        elif isinstance(op, RenameColumn):
            row.values = {op.new if k == op.old else k: v for k, v in row.values.items()}
            row.lobs = {op.new if k == op.old else k: v for k, v in row.lobs.items()}
    assert isinstance(op, AddColumn | DropColumn | RenameColumn | RenameTable | Truncate
                      | AddPartition | DropTable)


def commit_time(time: datetime) -> int:
    """Unix seconds of a (naive, UTC) step time."""
    return int(time.replace(tzinfo=UTC).timestamp())
