"""Parallel apply inside one stream: grouped transactions on N connections, committed
in source order.

The applier closes a group (consecutive Oracle transactions, as in serial apply) and
hands it here with the checkpoint it starts from and the one it ends at. A group is
started on a free lane (one connection of its own) once it touches no row that an
earlier, still running group touches: rows are compared by table and key (both keys of
an update that moves a row); a change to a table without a key claims the whole table.
Its statements then run at once, but it commits only at its turn, right after the group
before it (the *sequencer*): at its turn it locks the checkpoint row, checks that it
stands where the previous group left it, writes its own end and commits — rows and
checkpoint in one database transaction, as in serial apply.

What a crash leaves: commits happen strictly in group order, so the committed groups are
always a prefix of the stream and the checkpoint row is the end of the last of them;
later groups were uncommitted and the database rolls them back. A restart reads the
checkpoint and goes on exactly from there — nothing lost, nothing twice. Readers of the
DR database likewise only ever see a prefix (a consistent cut).

A group that fails (a batch that did not touch exactly its rows, a duplicate key, a lock
wait that ran out) lets every earlier group commit and makes every later one roll back;
the applier then re-applies from the committed end one transaction at a time, exactly as
after a failed group in serial apply. Secondary unique keys and foreign keys are not
compared: a collision shows as such a failure, or as a lock wait of an earlier group on
a later one, which ``limit_lock_wait`` ends (the later one waits for the earlier one's
commit, so the wait would never end by itself).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from drcommon.errors import DRError

from drapply.adapters.base import BoundChange, Checkpoint, LaneSession, Stream, TargetSession
from drapply.naming import TableRef
from drapply.observer import AppliedTx
from drapply.plan import batches

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Footprint:
    """What a group touches: rows by (table, key), and tables claimed whole."""

    rows: frozenset[tuple[TableRef, tuple[Any, ...]]]
    tables: frozenset[TableRef]
    whole: frozenset[TableRef]  # changed without a key: every row may be touched

    def overlaps(self, other: Footprint) -> bool:
        """Whether the two groups may touch a common row."""
        if not self.whole.isdisjoint(other.tables) or not other.whole.isdisjoint(self.tables):
            return True
        return not self.rows.isdisjoint(other.rows)


def footprint(changes: Sequence[BoundChange]) -> Footprint:
    """The rows and tables ``changes`` touch (see :class:`Footprint`)."""
    rows: set[tuple[TableRef, tuple[Any, ...]]] = set()
    tables: set[TableRef] = set()
    whole: set[TableRef] = set()
    for change in changes:
        table = change.table
        tables.add(table)
        if not change.has_pk or not change.key_cols:
            whole.add(table)
            continue
        try:
            rows.add((table, change.key_vals))
            if change.new_key is not None:
                rows.add((table, change.new_key))
        except TypeError:  # a key value that cannot be hashed: claim the table
            whole.add(table)
    return Footprint(frozenset(rows), frozenset(tables), frozenset(whole))


class JobState(StrEnum):
    RUNNING = "running"
    COMMITTED = "committed"
    FAILED = "failed"  # its own statements or commit failed
    ABORTED = "aborted"  # rolled back because an earlier group failed


@dataclass(slots=True, eq=False)
class Job:
    """One group on its way through a lane."""

    seq: int
    changes: list[BoundChange]
    prev: Checkpoint  # where the checkpoint must stand at its turn
    new: Checkpoint  # what it writes
    txs: list[AppliedTx]
    last_offset: int
    footprint: Footprint
    session: TargetSession | None = None
    state: JobState = JobState.RUNNING
    error: BaseException | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Drained:
    """What a drain found: the groups that committed (in order) and the first that
    failed, if one did (every group after it rolled back)."""

    committed: list[Job]
    failed: Job | None


class _Aborted(Exception):
    pass


class Lanes:
    """N connections applying one stream's groups at once; see the module docstring.

    Used from the applier's thread only (each lane runs in a thread of its own); between
    two feeds the lanes are drained, so the applier's checkpoint is the committed one.
    """

    def __init__(
        self,
        count: int,
        connect: Callable[[], TargetSession],
        stream: Stream,
        lock_wait_seconds: float,
    ) -> None:
        self.count = count
        self._connect = connect
        self._stream = stream
        self._lock_wait = lock_wait_seconds
        self._executor = ThreadPoolExecutor(count, thread_name_prefix=f"lane-{stream.owner}")
        self._free: list[TargetSession] = []
        self._sessions: list[TargetSession] = []
        self._cond = threading.Condition()
        self._turn = 0  # the sequence number that may commit next
        self._broken_from: int | None = None  # a group failed: it and all after roll back
        self._next_seq = 0
        self._jobs: deque[tuple[Job, Future[None]]] = deque()
        self.known: set[TableRef] = set()  # tables a committed group has written

    @property
    def busy(self) -> bool:
        """Whether groups are still running or uncollected."""
        return bool(self._jobs)

    def forget(self, ref: TableRef) -> None:
        """After DDL (lanes drained): describe the table again, first on its own."""
        self.known.discard(ref)
        for session in self._sessions:
            session.forget_table(ref)

    # -- the applier's side ------------------------------------------------------------------
    def submit(
        self,
        changes: list[BoundChange],
        prev: Checkpoint,
        new: Checkpoint,
        txs: list[AppliedTx],
        last_offset: int,
    ) -> Drained:
        """Start a group once a lane is free and no running group overlaps it. Returns
        the groups that committed meanwhile; when one failed, every lane is drained first
        and the group is not started (``failed`` is set)."""
        shape = footprint(changes)
        done: list[Job] = []
        while True:
            collected = self._collect()
            done.extend(collected.committed)
            if collected.failed is not None:
                return Drained(done, collected.failed)
            running = [(job, fut) for job, fut in self._jobs if not fut.done()]
            if len(running) < self.count and not any(
                shape.overlaps(job.footprint) for job, _ in running
            ):
                break
            wait([fut for _, fut in running], return_when=FIRST_COMPLETED)
        job = Job(self._next_seq, changes, prev, new, txs, last_offset, shape)
        job.session = self._free.pop() if self._free else self._open_session()
        self._next_seq += 1
        self._jobs.append((job, self._executor.submit(self._run, job)))
        return Drained(done, None)

    def drain(self) -> Drained:
        """Wait for every group; the committed ones in order, and the first failure."""
        wait([fut for _, fut in self._jobs])
        return self._collect()

    def close(self) -> None:
        """Wait for running groups, close the lanes' connections and threads."""
        with contextlib.suppress(DRError):
            self.drain()
        for session in self._sessions:
            with contextlib.suppress(Exception):
                session.close()
        self._sessions, self._free = [], []
        self._executor.shutdown(wait=True)

    def _open_session(self) -> TargetSession:
        session = self._connect()
        if isinstance(session, LaneSession):
            session.limit_lock_wait(self._lock_wait)
        self._sessions.append(session)
        return session

    def _collect(self) -> Drained:
        """Take finished groups off the head, in order. A failure waits for every lane,
        then resets the sequencer and the lanes' connections (one may be broken)."""
        committed: list[Job] = []
        while self._jobs and self._jobs[0][1].done():
            job, fut = self._jobs[0]
            if job.state is not JobState.COMMITTED:
                wait([f for _, f in self._jobs])
                return Drained(committed, self._reset())
            self._jobs.popleft()
            fut.result()
            self.known.update(job.footprint.tables)
            assert job.session is not None
            self._free.append(job.session)
            committed.append(job)
        return Drained(committed, None)

    def _reset(self) -> Job:
        jobs = [job for job, _ in self._jobs]
        self._jobs.clear()
        failed = next(j for j in jobs if j.state is JobState.FAILED)
        for session in self._sessions:
            with contextlib.suppress(Exception):
                session.close()
        self._sessions, self._free = [], []
        with self._cond:
            self._turn = self._next_seq
            self._broken_from = None
        return failed

    # -- a lane's side ---------------------------------------------------------------------
    def _run(self, job: Job) -> None:
        session = job.session
        assert session is not None
        stream = self._stream
        try:
            session.begin(stream, None)
            for run in batches(job.changes):
                session.execute_run(run, overwrite=False)
            self._await_turn(job.seq)
            session.claim_checkpoint(stream, job.prev.next_offset)
            session.write_checkpoint(stream, job.new)
            session.commit()
        except _Aborted:
            self._rollback(session)
            job.state = JobState.ABORTED
            return
        except BaseException as exc:  # handed to the applier, which decides
            self._rollback(session)
            job.error = exc
            job.state = JobState.FAILED
            with self._cond:
                if self._broken_from is None or job.seq < self._broken_from:
                    self._broken_from = job.seq
                self._cond.notify_all()
            return
        job.state = JobState.COMMITTED
        with self._cond:
            self._turn = job.seq + 1
            self._cond.notify_all()

    def _await_turn(self, seq: int) -> None:
        with self._cond:
            while self._turn != seq:
                if self._broken_from is not None and self._broken_from < seq:
                    raise _Aborted
                self._cond.wait()

    @staticmethod
    def _rollback(session: TargetSession) -> None:
        try:
            session.rollback()
        except DRError:
            log.warning("a lane's rollback failed; the connection is likely gone", exc_info=True)
