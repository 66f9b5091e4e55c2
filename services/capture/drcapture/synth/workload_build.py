"""A :class:`~drcapture.synth.workload.Workload` to redo log files, the dictionary a
reader needs for them, and the committed transactions a correct reader must report.

The expected transactions come from the description (values as given, row images as
the tables' supplemental logging defines them), never from reading the files back.
Every thread writes its own logs; all threads share one SCN clock, so their SCNs
interleave as on a RAC database. Each step is one log write (LWN).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from drcommon.model import ColumnValue

from drcapture.dictionary.model import Dictionary
from drcapture.synth.workload import (
    DDL_OPS,
    Commit,
    Delete,
    Insert,
    LogSwitch,
    MultiDelete,
    MultiInsert,
    Rollback,
    RollbackTo,
    Savepoint,
    Step,
    Table,
    Update,
    Workload,
)
from drcapture.synth.workload_ddl_steps import DdlSteps, commit_time, follow, table_state
from drcapture.synth.workload_ops import VectorFactory, row_at
from drcapture.synth.workload_result import (
    DICTIONARY_FILE,
    BuiltWorkload,
    ExpectedChange,
    ExpectedDdl,
    ExpectedTransaction,
    LogFile,
    expected_changes,
)
from drcapture.synth.workload_state import (
    UNDO_AFN,
    Change,
    Codec,
    Kind,
    LobWriter,
    Locators,
    RowState,
    TableState,
    TxnState,
    WorkloadError,
    full_row,
    has_lobs,
    table_def,
)
from drcapture.synth.writer import LogHeader, Lwn, build_log
from drcapture.synth.writer_lob import StoredLob
from drcapture.synth.writer_ops import RowAt, Txn
from drcapture.synth.writer_records import RecordSpec, VectorSpec, encode_record

__all__ = [
    "DICTIONARY_FILE",
    "BuiltWorkload",
    "ExpectedChange",
    "ExpectedDdl",
    "ExpectedTransaction",
    "LogFile",
    "build_workload",
]

MAX_MULTI_ROWS = 255  # the row count of a multi-row op is one byte


@dataclass(slots=True)
class _ThreadLog:
    thread: int
    sequence: int
    first_scn: int
    first_time: datetime
    lwns: list[Lwn] = field(default_factory=list)
    done: list[tuple[int, LogHeader, list[Lwn]]] = field(default_factory=list)
    txn_count: int = 0

    def close(self, next_scn: int, next_time: datetime, workload: Workload) -> None:
        header = LogHeader(
            thread=self.thread,
            sequence=self.sequence,
            first_scn=self.first_scn,
            next_scn=next_scn,
            first_time=self.first_time,
            next_time=next_time,
            db_id=workload.db_id,
            db_name=workload.db_name,
            resetlogs_id=workload.resetlogs_id,
            resetlogs_scn=1,
        )
        self.done.append((self.sequence, header, self.lwns))
        self.sequence += 1
        self.first_scn, self.first_time, self.lwns = next_scn, next_time, []


class _Builder:
    def __init__(self, workload: Workload) -> None:
        self.w = workload
        self.codec = Codec(workload.charsets)
        self.lobs = LobWriter(self.codec)
        self.vectors = VectorFactory(
            workload.platform, self.codec, workload.con_id, workload.con_uid
        )
        self.tables = {t.name: TableState(t) for t in workload.tables}
        for table in workload.tables:
            if table.iot and not table.pk:
                raise WorkloadError(f"index-organized table {table.name} needs a primary key")
        self.threads: dict[int, _ThreadLog] = {}
        self.txns: dict[str, TxnState] = {}
        self.begun: set[str] = set()
        self.started: dict[str, int] = {}  # label -> SCN of the transaction's first record
        self.expected: list[ExpectedTransaction] = []
        self.scn = workload.start_scn
        self.time = workload.start_time
        self.undo_block = 0x1000
        self.ddl = DdlSteps(workload, self.vectors)

    # -- plumbing -----------------------------------------------------------------------
    def tick(self) -> int:
        self.scn += 1
        return self.scn

    def thread(self, number: int) -> _ThreadLog:
        log = self.threads.get(number)
        if log is None:
            log = _ThreadLog(number, self.w.first_sequence, self.scn, self.time)
            self.threads[number] = log
        return log

    def emit(self, thread: int, records: list[tuple[int, list[VectorSpec]]]) -> None:
        """One log write of records ``(scn, vectors)`` on ``thread``."""
        encoded = tuple(
            encode_record(
                RecordSpec(
                    scn=scn,
                    vectors=tuple(vectors),
                    lwn=k == 0,
                    timestamp=self.time,
                    con_uid=self.w.con_uid,
                ),
                self.w.platform,
            )
            for k, (scn, vectors) in enumerate(records)
        )
        if encoded:
            self.thread(thread).lwns.append(Lwn(encoded))

    def txn_for(self, step: Step) -> TxnState:
        tx = self.txns.get(step.txn)
        if tx is None:
            log = self.thread(step.thread)
            k = log.txn_count
            log.txn_count += 1
            usn = step.thread * 10 + k % 10 + 1
            self.undo_block += 1
            tx = TxnState(
                label=step.txn,
                thread=step.thread,
                undo_block=self.undo_block,
                txn=Txn(
                    usn=usn,
                    slot=k // 10 % 48 + 1,
                    sqn=100 + k,
                    undo_afn=UNDO_AFN,
                    undo_header_dba=(UNDO_AFN << 22) | usn * 128,
                ),
            )
            self.txns[step.txn] = tx
        elif tx.thread != step.thread:
            raise WorkloadError(f"transaction {step.txn!r} runs on thread {tx.thread}")
        return tx

    # -- changes ------------------------------------------------------------------------
    def change(
        self,
        tx: TxnState,
        kind: Kind,
        table_name: str,
        *,
        at: RowAt,
        keys: tuple[tuple[ColumnValue, ...], ...],
        before: tuple[dict[str, ColumnValue], ...] = (),
        after: tuple[dict[str, ColumnValue], ...] = (),
        slots: tuple[int, ...] = (),
        changed: tuple[str, ...] = (),
        piece: RowAt | None = None,
        lobs_before: tuple[Locators, ...] = (),
        lobs_after: tuple[Locators, ...] = (),
        lob_writes: tuple[tuple[str, StoredLob], ...] = (),
    ) -> Change:
        first = tx.label not in self.begun
        self.begun.add(tx.label)
        if first:
            self.started[tx.label] = self.scn + 1  # the next tick writes its first record
        return Change(
            kind=kind,
            table=self.tables[table_name].table,
            uba=tx.next_uba(),
            first_of_txn=first,
            at=at,
            keys=keys,
            before=before,
            after=after,
            slots=slots,
            changed=changed,
            piece=piece,
            lobs_before=lobs_before,
            lobs_after=lobs_after,
            lob_writes=lob_writes,
        )

    def record_changes(self, tx: TxnState, changes: list[Change]) -> None:
        records: list[tuple[int, list[VectorSpec]]] = []
        for change in changes:
            lob_records = self.vectors.lob_records(tx, change, self.tick)
            records.extend(lob_records)
            if change.piece is not None:  # a compressed row migrates: two records
                scns = (self.tick(), self.tick())
                pair = self.vectors.migration_vectors(tx, change, scns)
                records.extend(zip(scns, pair, strict=True))
            else:
                scn = self.tick()
                vectors = self.vectors.change_vectors(tx, change, scn, begin=not lob_records)
                records.append((scn, vectors))
            tx.changes.append(change)
        self.emit(tx.thread, records)

    def rows_of(self, name: str) -> TableState:
        """The table a row operation names (not a partitioned one: the writer keeps the
        dictionary rows of partitions but writes no rows into them)."""
        state = table_state(self.tables, name)
        if state.table.partitions:
            raise WorkloadError(f"{state.table.name} is partitioned: rows of partitioned "
                                "tables are not written")
        return state

    def do_ddl(self, step: Step) -> None:
        """A DDL statement: its own transaction, committed by the step."""
        op = step.op
        assert isinstance(op, DDL_OPS)
        if step.txn in self.txns:
            raise WorkloadError(f"transaction {step.txn!r} is open: a DDL runs in a "
                                "transaction of its own")
        result, old = self.ddl.result(op, self.tables, list(self.txns.values()), self.time)
        tx = self.txn_for(step)
        del self.txns[step.txn]
        records, commit, commit_scn = self.ddl.records(tx, result, self.tick,
                                                       commit_time(self.time))
        self.emit(tx.thread, records)
        self.emit(tx.thread, commit)
        self.ddl.committed(tx, result, commit_scn)
        follow(op, self.tables, old, result.table)

    def not_compressed(self, state: TableState, what: str) -> None:
        if state.table.compressed:
            raise WorkloadError(f"{what} on the compressed table {state.table.name}: no real "
                                "record shows how Oracle logs it, so the writer does not")

    def key(self, state: TableState, given: dict[str, ColumnValue]) -> tuple[ColumnValue, ...]:
        names = state.table.pk or state.table.column_names()
        if set(given) != set(names):
            raise WorkloadError(f"a key of {state.table.name} names exactly {names}")
        return tuple(given[n] for n in names)

    def existing(self, state: TableState, key: tuple[ColumnValue, ...]) -> RowState:
        found = state.rows.get(key)
        if found is None:
            raise WorkloadError(f"{state.table.name} has no row with key {key}")
        return found

    def do_insert(self, tx: TxnState, op: Insert) -> None:
        state = self.rows_of(op.table)
        values = full_row(state.table, op.values)
        key = state.key_of(values)
        if key in state.rows:
            raise WorkloadError(f"{state.table.name} already has a row with key {key}")
        at = state.place_one()
        lobs, writes = self.lobs.store(state.table, values, state.table.column_names())
        change = self.change(
            tx, Kind.INSERT, state.table.name, at=at, keys=(key,), before=(), after=(values,),
            lobs_after=(lobs,), lob_writes=writes,
        )
        state.rows[key] = RowState(dict(values), at, lobs=lobs)
        self.record_changes(tx, [change])

    def do_update(self, tx: TxnState, op: Update) -> None:
        state = self.rows_of(op.table)
        key = self.key(state, dict(op.key))
        current = self.existing(state, key)
        given = dict(op.changes)
        if not given or set(given) & set(state.table.pk):
            raise WorkloadError("an update changes at least one column and no key column")
        before = dict(current.values)
        after = dict(full_row(state.table, tuple({**before, **given}.items())))
        changed = tuple(n for n in state.table.column_names() if n in given)
        piece = None
        if state.table.compressed:
            if current.moved:
                self.not_compressed(state, "a second update of a migrated row")
            piece, current.moved = state.place_one(), True
        new_lobs, writes = self.lobs.store(state.table, after, changed)
        lobs = {n: loc for n, loc in current.lobs.items() if n not in changed} | new_lobs
        change = self.change(
            tx,
            Kind.UPDATE,
            state.table.name,
            at=current.at,
            keys=(key,),
            before=(before,),
            after=(after,),
            changed=changed,
            piece=piece,
            lobs_before=(dict(current.lobs),),
            lobs_after=(lobs,),
            lob_writes=writes,
        )
        current.values, current.lobs = after, lobs
        self.record_changes(tx, [change])

    def do_delete(self, tx: TxnState, op: Delete) -> None:
        state = self.rows_of(op.table)
        self.not_compressed(state, "a delete")
        key = self.key(state, dict(op.key))
        current = self.existing(state, key)
        change = self.change(
            tx,
            Kind.DELETE,
            state.table.name,
            at=current.at,
            keys=(key,),
            before=(dict(current.values),),
            after=(),
            lobs_before=(dict(current.lobs),),
        )
        del state.rows[key]
        self.record_changes(tx, [change])

    def no_multi_row_iot(self, state: TableState) -> None:
        if state.table.iot:
            raise WorkloadError(f"{state.table.name} is index-organized: multi-row ops on "
                                "IOTs are not in any real record, so they are not written")

    def do_multi_insert(self, tx: TxnState, op: MultiInsert) -> None:
        state = self.rows_of(op.table)
        self.not_compressed(state, "a multi-row insert")
        self.no_multi_row_iot(state)
        _no_multi_row_lobs(state.table)
        rows = [full_row(state.table, r) for r in op.rows]
        keys = [state.key_of(r) for r in rows]
        if not rows or len(rows) > MAX_MULTI_ROWS or len(set(keys)) < len(keys):
            raise WorkloadError(f"a multi-row insert takes 1..{MAX_MULTI_ROWS} distinct rows")
        if any(k in state.rows for k in keys):
            raise WorkloadError(f"{state.table.name} already has one of the rows")
        ats = state.place_block(len(rows))
        change = self.change(
            tx,
            Kind.MULTI_INSERT,
            state.table.name,
            at=ats[0],
            keys=tuple(keys),
            before=(),
            after=tuple(rows),
            slots=tuple(a.slot for a in ats),
        )
        for key, values, at in zip(keys, rows, ats, strict=True):
            state.rows[key] = RowState(dict(values), at)
        self.record_changes(tx, [change])

    def do_multi_delete(self, tx: TxnState, op: MultiDelete) -> None:
        state = self.rows_of(op.table)
        self.not_compressed(state, "a multi-row delete")
        self.no_multi_row_iot(state)
        _no_multi_row_lobs(state.table)
        keys = [self.key(state, dict(k)) for k in op.keys]
        if not keys or len(set(keys)) < len(keys):
            raise WorkloadError("a multi-row delete takes distinct keys")
        by_block: dict[int, list[tuple[ColumnValue, ...]]] = {}
        for key in keys:
            by_block.setdefault(self.existing(state, key).at.bdba, []).append(key)
        changes = []
        for group in by_block.values():
            rows = [state.rows[k] for k in group]
            changes.append(
                self.change(
                    tx,
                    Kind.MULTI_DELETE,
                    state.table.name,
                    at=rows[0].at,
                    keys=tuple(group),
                    before=tuple(dict(r.values) for r in rows),
                    after=(),
                    slots=tuple(r.at.slot for r in rows),
                )
            )
            for key in group:
                del state.rows[key]
        self.record_changes(tx, changes)

    # -- undoing ------------------------------------------------------------------------
    def restore(self, change: Change) -> None:
        state = self.tables[change.table.name]
        if change.kind in (Kind.INSERT, Kind.MULTI_INSERT):
            for key in change.keys:
                del state.rows[key]
        elif change.kind is Kind.UPDATE:
            current = state.rows[change.keys[0]]
            current.values, current.lobs = dict(change.before[0]), dict(change.lobs_before[0])
        elif change.kind is Kind.DELETE:
            state.rows[change.keys[0]] = RowState(
                dict(change.before[0]), change.at, lobs=dict(change.lobs_before[0])
            )
        else:
            for key, values, slot in zip(change.keys, change.before, change.slots, strict=True):
                state.rows[key] = RowState(dict(values), row_at(change, slot))

    def undo_from(self, tx: TxnState, index: int) -> None:
        records = []
        for change in reversed(tx.changes[index:]):
            if change.piece is not None:
                self.not_compressed(self.tables[change.table.name], "rolling back an update")
            scn = self.tick()
            records.append((scn, self.vectors.rollback_vectors(tx, change, scn)))
            self.restore(change)
        del tx.changes[index:]
        tx.savepoints = {n: i for n, i in tx.savepoints.items() if i <= index}
        self.emit(tx.thread, records)

    def end(self, tx: TxnState, *, rollback: bool) -> None:
        del self.txns[tx.label]
        if tx.label not in self.begun:
            return  # nothing was written: no redo for its end either
        self.begun.discard(tx.label)
        start_scn = self.started.pop(tx.label, None)
        if rollback:
            self.undo_from(tx, 0)
        commit_scn = self.tick()
        unix_time = int(self.time.replace(tzinfo=UTC).timestamp())
        vectors = self.vectors.end_vectors(
            tx, rollback=rollback, scn=commit_scn, unix_time=unix_time
        )
        self.emit(tx.thread, [(self.tick(), vectors)])  # the record's SCN follows the commit's
        if not rollback and tx.changes:
            self.expected.append(
                ExpectedTransaction(
                    thread=tx.thread,
                    xid=tx.txn.xid,
                    commit_scn=commit_scn,
                    commit_time=self.time.replace(tzinfo=UTC),
                    changes=tuple(c for change in tx.changes for c in expected_changes(change)),
                    start_scn=start_scn,
                )
            )

    # -- driving ------------------------------------------------------------------------
    def step(self, step: Step) -> None:
        op = step.op
        if isinstance(op, LogSwitch):
            self.thread(step.thread).close(self.tick(), self.time, self.w)
            return
        if isinstance(op, DDL_OPS):
            self.do_ddl(step)
            return
        tx = self.txn_for(step)
        if isinstance(op, Insert):
            self.do_insert(tx, op)
        elif isinstance(op, Update):
            self.do_update(tx, op)
        elif isinstance(op, Delete):
            self.do_delete(tx, op)
        elif isinstance(op, MultiInsert):
            self.do_multi_insert(tx, op)
        elif isinstance(op, MultiDelete):
            self.do_multi_delete(tx, op)
        elif isinstance(op, Savepoint):
            tx.savepoints[op.name] = len(tx.changes)
        elif isinstance(op, RollbackTo):
            if op.name not in tx.savepoints:
                raise WorkloadError(f"transaction {tx.label!r} has no savepoint {op.name!r}")
            self.undo_from(tx, tx.savepoints[op.name])
        else:
            self.end(tx, rollback=isinstance(op, Rollback))
            assert isinstance(op, Commit | Rollback)

    def finish(self) -> BuiltWorkload:
        next_scn = self.tick()
        logs = []
        for log in self.threads.values():
            log.close(next_scn, self.time, self.w)
            for sequence, header, lwns in log.done:
                built = build_log(lwns, header, self.w.platform, block_size=self.w.block_size)
                logs.append(LogFile(log.thread, sequence, header, built.data))
        logs.sort(key=lambda f: (f.thread, f.sequence))
        dictionary = Dictionary(
            db_id=self.w.db_id,
            db_name=self.w.db_name,
            charsets=self.w.charsets,
            scn=self.w.start_scn,
            tables={t.obj: table_def(t) for t in self.w.tables},
        )
        for table in self.w.tables:
            for _, part in table.partitions:
                dictionary.tables[part] = dictionary.tables[table.obj]
        dictionary.add_iot_segments()
        self.ddl.start_dictionary(dictionary)
        expected = sorted(self.expected, key=lambda t: (t.commit_scn, t.thread))
        final = {f"{s.table.owner}.{s.table.name}": [s.rows[k].values for k in sorted(
                     s.rows, key=lambda key: tuple("" if v is None else str(v) for v in key))]
                 for s in self.tables.values()}
        return BuiltWorkload(logs=tuple(logs), dictionary=dictionary, expected=tuple(expected),
                             system=self.ddl.initial, ddl=tuple(self.ddl.done), final=final)


def _no_multi_row_lobs(table: Table) -> None:
    if has_lobs(table):
        raise WorkloadError(
            f"multi-row operations on {table.name} are not written: how Oracle logs them for "
            "tables with LOB columns is not known"
        )


def build_workload(workload: Workload) -> BuiltWorkload:
    """Execute the description: logs, dictionary and the expected committed transactions.

    Raises :class:`~drcapture.synth.workload_state.WorkloadError` when a step cannot run
    (unknown row or savepoint, duplicate key, non-canonical value …).
    """
    builder = _Builder(workload)
    for index, step in enumerate(workload.steps):
        builder.time = workload.start_time + timedelta(seconds=index)
        builder.step(step)
    return builder.finish()
