"""The Python reader's transaction path as the oracle of the core's: the same logs read
by ``iter_records`` + :class:`TransactionAssembler` + the Python publisher, and by a
:class:`~drcapture.native_txn.ThreadCore`; everything observable compared — the commits
(XID, SCNs, RBAs, commit time, schemas, change counts and the Kafka records byte for
byte under several limits), the assembler's counters, the vector counters, the open
transactions and the exported state after every log, and how a run ends (the same error
class, message and facts)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drcapture.dictionary.model import Dictionary
from drcapture.native import NativeRedoFile
from drcapture.native_txn import CoreOptions, NativeCommit, ThreadCore
from drcapture.publish import CommittedTransaction as Outgoing
from drcapture.publish import transaction_records
from drcapture.publish_records import RecordLimits
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.ops.dispatch import OpCounters
from drcapture.redo.reader import iter_records
from drcapture.redo.records import Rba, ReadState
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler
from drcapture.redo.txn.assembler import CommittedTransaction as Assembled
from drcapture.redo.txn.store import MemoryStore
from drcapture.spill import SpillingStore
from drcommon.errors import DRError

from tests.unit.capture.native.oracle import Error, describe

LIMITS = [(1000, RecordLimits()), (2, RecordLimits(1024, 5120))]
COMMIT_RBA = "0x000001.00000002.0010"
BUDGET = 997  # records per read


@dataclass
class Run:
    """What one run showed."""

    commits: list[Any] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)
    steps: list[Any] = field(default_factory=list)  # after each log: counters, open, state
    error: Error | None = None


def _aware(moment: datetime | None) -> datetime:
    moment = moment or datetime(2024, 1, 1)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _python_commit(tx: Assembled) -> tuple[Any, list[Any]]:
    meta = (str(tx.xid), tx.thread, tx.commit_scn, tx.commit_ts, tx.commit_rba, tx.start_scn,
            tx.start_rba, len(tx.changes), tuple(sorted({c.owner for c in tx.changes})))
    out = dataclasses.replace(tx, commit_ts=_aware(tx.commit_ts))
    records = []
    for max_changes, limits in LIMITS:
        try:
            found = list(transaction_records(Outgoing(out.info(), out.changes), max_changes,
                                             limits))
            records.append([(r.schema, r.value, r.headers, r.kind) for r in found])
        except (DRError, ValueError) as exc:
            records.append(("error", type(exc).__name__, str(exc)))
    return meta, records


def _native_commit(tx: NativeCommit) -> tuple[Any, list[Any]]:
    meta = (str(tx.xid), tx.thread, tx.commit_scn, tx.commit_ts, tx.commit_rba, tx.start_scn,
            tx.start_rba, tx.changes_total, tx.schemas)
    records = []
    for max_changes, limits in LIMITS:
        try:
            _, found = tx.records(_aware(tx.commit_ts), max_changes, limits)
            records.append([(r.schema, r.value, r.headers, r.kind) for r in found])
        except (DRError, ValueError) as exc:
            records.append(("error", type(exc).__name__, str(exc)))
    return meta, records


@dataclass(frozen=True)
class Setup:
    """One thread's configuration, for both sides."""

    dictionary: Dictionary
    thread: int = 1
    include_unknown: bool = True
    wanted: Callable[[str, str], bool] | None = None
    on_undecodable: str = "stop"
    spill: tuple[Path, int] | None = None  # (directory, threshold)
    export_after: int | None = None  # export, then import into a new reader, after log n
    commit_open: bool = False  # commit what is still open at the end


def _python_assembler(setup: Setup, suffix: str) -> TransactionAssembler:
    store: Any = MemoryStore()
    if setup.spill is not None:
        store = SpillingStore(setup.spill[0] / f"py{suffix}", setup.spill[1])
    d = setup.dictionary
    return TransactionAssembler(d, AssemblerOptions(
        thread=setup.thread, db_id=d.db_id, db_name=d.db_name,
        include_unknown=setup.include_unknown, wanted=setup.wanted,
        on_undecodable=setup.on_undecodable), store=store)


def _native_core(setup: Setup, suffix: str) -> ThreadCore:
    # The Python decoder does not model objects created after the dictionary (kept by
    # the core above max_obj until a dictionary version decides: tests/unit/capture/
    # dictionary, test_decode_ddl.py); a damaged object number must not take that path.
    d = dataclasses.replace(setup.dictionary, max_obj=0)
    spill = setup.spill
    return ThreadCore(d, CoreOptions(
        thread=setup.thread, db_id=d.db_id, db_name=d.db_name,
        include_unknown=setup.include_unknown, wanted=setup.wanted,
        on_undecodable=setup.on_undecodable,
        spill_directory=spill[0] / f"rs{suffix}" if spill else None,
        spill_threshold=spill[1] if spill else 0))


def python_run(logs: Sequence[bytes], setup: Setup) -> Run:
    """The Python path over ``logs`` in order."""
    run = Run()
    counters = OpCounters()
    try:
        asm = _python_assembler(setup, "0")
    except DRError as exc:
        run.error = describe(exc)
        return run
    try:
        for n, data in enumerate(logs):
            redo = RedoFile(BytesSource(data, "t.arc"))
            batch: list[Any] = []  # a read's commits are lost when it fails, as in the core
            for n_read, record in enumerate(iter_records(redo, ReadState(), counters), 1):
                batch.extend(_python_commit(tx) for tx in asm.feed(record))
                if n_read % BUDGET == 0:
                    run.commits.extend(batch)
                    batch = []
            run.commits.extend(batch)
            state = asm.export_state()
            run.steps.append((dict(asm.counters), [(str(t.xid), t.start_scn, t.start_rba)
                                                   for t in asm.open_transactions()], state,
                              (dict(counters.decoded), dict(counters.skipped),
                               dict(counters.unknown))))
            if setup.export_after == n:
                asm = _python_assembler(setup, "1")
                asm.import_state(state)
        if setup.commit_open:
            for t in asm.open_transactions():
                done = asm.commit(t.xid, scn=1, rba=COMMIT_RBA, ts=None)
                if done is not None:
                    run.commits.append(_python_commit(done))
            run.steps.append((dict(asm.counters),))
    except DRError as exc:
        run.error = describe(exc)
    return run


def native_run(logs: Sequence[bytes], setup: Setup) -> Run:
    """The core's path over ``logs`` in order."""
    run = Run()
    try:
        core = _native_core(setup, "0")
    except DRError as exc:
        run.error = describe(exc)
        return run
    try:
        for n, data in enumerate(logs):
            core.open(NativeRedoFile(data, name="t.arc"), ReadState())
            while True:
                batch = core.read(BUDGET)
                batch.raise_error()  # its commits are lost, as a failed read's
                run.commits.extend(_native_commit(tx) for tx in batch.commits)
                if batch.ended:
                    break
            state = core.export_state()
            run.steps.append((core.counters(), [(str(t.xid), t.start_scn, t.start_rba)
                                                for t in core.open_transactions()], state,
                              core.op_counters()))
            if setup.export_after == n:
                core = _native_core(setup, "1")
                core.import_state(state)
        if setup.commit_open:
            for tx in core.commit_open(1, COMMIT_RBA):
                run.commits.append(_native_commit(tx))
            run.steps.append((core.counters(),))
    except DRError as exc:
        run.error = describe(exc)
    return run


def assert_same_run(logs: Sequence[bytes], setup: Setup) -> Run:
    """Both paths over ``logs``: everything observable equal; the Python run returned."""
    want = python_run(logs, setup)
    got = native_run(logs, setup)
    assert got.error == want.error
    assert len(got.commits) == len(want.commits)
    for g, w in zip(got.commits, want.commits, strict=True):
        assert g[0] == w[0]
        assert g[1] == w[1]
    assert len(got.steps) == len(want.steps)
    for g, w in zip(got.steps, want.steps, strict=True):
        assert g[0] == w[0]  # counters
        if len(w) > 1:
            assert g[1] == w[1]  # open transactions
            assert g[2] == w[2]  # exported state
            if setup.export_after is None:
                assert g[3] == w[3]  # vectors by opcode
    return want


def rba(text: str) -> Rba:
    """An RBA from its text."""
    return Rba.parse(text)
