"""Reading one RAC thread: log after log by sequence, records into its core.

A :class:`ThreadReader` follows one thread's logs (which log comes next, online logs,
gaps, damaged copies); the records are walked, decoded and assembled into committed
transactions by its :class:`~drcapture.native_txn.ThreadCore` in the compiled core, with
the GIL released. The pipeline calls :meth:`read` with a record budget (in a worker
thread; the threads' reads run in parallel) and gets back the commits it produced, how
far it got, and whether it is at the end of the redo written so far.

It never skips: the next log of a thread is sequence + 1, found through the
:class:`~drcapture.catalog.LogCatalog`; if a later log exists but that one does not,
:class:`~drcommon.errors.MissingLog` stops capture with the thread, sequence and SCN
range named.

Where reading cannot go on — a damaged block (:class:`~drcapture.errors.RedoDamaged`),
a missing log — the reader *holds*: :meth:`ThreadReader.read` returns the commits read
before it, and :attr:`ThreadReader.fault` says why it stands still. Every later call
looks again: for the missing log, or for another copy of the damaged one (the catalog
sets the damaged copy aside until its file changes), and reads on from exactly where it
stopped. The pipeline merges the other threads up to the held one meanwhile.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from drcommon.errors import CorruptRedo, DRError, MissingLog

from drcapture.catalog import LogCatalog, LogFile
from drcapture.errors import DirectLoadGap, RedoCopyFound, RedoDamaged, RedoUnreadable
from drcapture.native import NativeRedoFile
from drcapture.native_txn import CoreBatch, NativeCommit, Prepare, ThreadCore
from drcapture.redo.binary import SCN_MAX
from drcapture.redo.blocks import BlockStatus
from drcapture.redo.ops.dispatch import OpCounters
from drcapture.redo.records import Rba, ReadState
from drcapture.redo.xid import Xid

__all__ = ["DirectLoadGap", "ReadResult", "ThreadReader"]

log = logging.getLogger(__name__)
# The threads' readers run at once and add to one set of vector counters.
_COUNTERS = threading.Lock()


@dataclass(slots=True)
class ReadResult:
    """What one :meth:`ThreadReader.read` call produced."""

    commits: list[NativeCommit] = field(default_factory=list)
    records: int = 0
    bytes: int = 0
    scn: int = 0
    caught_up: bool = False  # nothing more to read right now
    quiet: bool = False  # at the end of the redo the instance has written (online log)
    finished: bool = False


class ThreadReader:
    """Follows one redo thread across its logs."""

    def __init__(
        self,
        thread: int,
        catalog: LogCatalog,
        core: ThreadCore,
        *,
        start_scn: int | None,
        follow: bool,
        counters: OpCounters | None = None,
    ) -> None:
        self.thread = thread
        self.catalog = catalog
        self.core = core
        self.counters = counters if counters is not None else OpCounters()
        self._seen: tuple[dict[str, int], dict[str, int], dict[str, int]] = ({}, {}, {})
        self._follow = follow
        self._start = core.options.start  # the core passes over the records before it
        self._start_scn = start_scn
        self._log: LogFile | None = None
        self._redo: NativeRedoFile | None = None
        self._state: ReadState | None = None
        self.last_scn = start_scn or 0
        self.finished = False
        self.caught_up = False  # the last read ended at the end of what is readable now
        # Why reading stands still (a damaged or missing log), None while it goes on.
        self.fault: RedoDamaged | MissingLog | RedoUnreadable | None = None
        self._broken = False  # the walk died on damage: reopen a copy to go on
        # How the reads make their commits' Kafka records ahead (None: they do not; the
        # publisher makes them). The pipeline sets it.
        self.prepare: Prepare | None = None
        self._rebuild = False  # damage surfaced while feeding: the assembler must be rebuilt
        # What the core says, as of the end of the last read: the status and the
        # pipeline look at these while the next read holds the core in a worker thread.
        self.last_rba: Rba | None = None  # the newest record fed (the start before any)
        self.last_time: datetime | None = None  # redo time of the newest record with one
        self.direct_load_rows = 0  # direct-path rows let through (``warn``)
        self.open_transactions = 0
        self._oldest_open: Rba | None = None
        self._snapshot()

    def _snapshot(self) -> None:
        core = self.core
        self.last_rba, self.last_time = core.last_rba, core.last_time
        self.direct_load_rows = core.direct_load_rows
        opened = core.open_transactions()
        self.open_transactions = len(opened)
        self._oldest_open = min(Rba.parse(t.start_rba) for t in opened) if opened else None

    @property
    def current_log(self) -> LogFile | None:
        return self._log

    def _open(self, entry: LogFile, state: ReadState) -> None:
        redo = entry.open_native()  # first: a log that cannot be opened changes nothing
        self._log = entry
        self._redo = redo
        self._state = state
        self.core.open(redo, state)
        log.info(
            "reading redo log",
            extra={"redo_thread": self.thread, "sequence": entry.sequence, "file": entry.location},
        )

    def _open_first(self) -> bool:
        self.catalog.refresh()
        if self._start is not None:
            entry = self.catalog.find(self.thread, self._start.sequence)
            if entry is None:
                self.catalog.check_gap(self.thread, self._start.sequence)
                older = [s for s in self.catalog.sequences(self.thread) if s < self._start.sequence]
                if older or not self._follow:
                    raise MissingLog(
                        "the log to resume from is in none of the configured locations",
                        thread=self.thread,
                        sequence=self._start.sequence,
                        scn_from=self.last_scn or None,
                    )
                return False
            self._open(
                entry, ReadState(next_block=self._start.block, resume_offset=self._start.offset)
            )
            return True
        entry = (
            self.catalog.first_for_scn(self.thread, self._start_scn)
            if self._start_scn is not None
            else None
        )
        if entry is None:
            sequences = self.catalog.sequences(self.thread)
            if not sequences:
                return False
            entry = self.catalog.find(self.thread, sequences[0])
        assert entry is not None
        self._open(entry, ReadState())
        return True

    def _advance(self) -> bool:
        """Move to the next sequence; False when it is not there (yet)."""
        assert self._log is not None
        wanted = self._log.sequence + 1
        self.catalog.refresh()
        entry = self.catalog.find(self.thread, wanted)
        if entry is None:
            self.catalog.check_gap(self.thread, wanted)
            return False
        self._open(entry, ReadState())
        return True

    def read(self, budget: int) -> ReadResult:
        """Read up to ``budget`` records; say whether the thread is at its written end.
        At damage or a missing log the commits read before it come back and the reader
        holds (:attr:`fault`); each later call tries to go on."""
        result = ReadResult(scn=self.last_scn)
        self.caught_up = False
        if self.finished:
            result.finished = result.caught_up = True
            return result
        try:
            if not self._go_on(result, budget):
                return result
        finally:
            self._snapshot()
        if self.fault is not None and not self._broken:
            log.warning("the thread reads on", extra={"redo_thread": self.thread,
                                                      "after": str(self.fault)})  # fmt: skip
            self.fault = None
        return result

    def _go_on(self, result: ReadResult, budget: int) -> bool:
        """Read on into ``result``; False when the reader holds (or still does)."""
        if self._broken and not self._reopen_copy():
            return False
        try:
            self._read(result, budget)
        except MissingLog as exc:
            self._hold(exc)
            return False
        except OSError as exc:  # opening a log: nothing moved, the next read tries again
            self._hold(self._unreadable(exc))
            return False
        return True

    def _read(self, result: ReadResult, budget: int) -> None:
        if self._redo is None and not self._open_first():
            self._at_end(result)
            return
        while result.records < budget:
            assert self._state is not None
            batch = self.core.read(budget - result.records, self._state, self.prepare)
            if not self._take(batch, result):
                return
            if batch.system:
                return  # a dictionary change: the pipeline installs its version first
            if not batch.ended:
                continue  # the budget is spent
            if self._log_complete():
                if not self._advance():
                    self._at_end(result)
                    return
                continue
            moved = self._online_moved_on(result)
            if moved is None:
                return  # held at damage
            if not moved:
                self._at_end(result)
                return

    def _take(self, batch: CoreBatch, result: ReadResult) -> bool:
        """Add a read's records and commits to ``result``; False when it ended in damage
        or an unreadable file (the reader now holds); other errors are raised."""
        result.commits.extend(batch.commits)
        result.records += batch.records
        result.bytes += batch.bytes
        self.last_scn = max(self.last_scn, batch.scn)
        result.scn = self.last_scn
        self._notes()
        exc = batch.error
        if exc is None:
            return True
        if isinstance(exc, CorruptRedo):
            self._damaged(exc, in_feed=batch.stage == "feed")
            return False
        if isinstance(exc, OSError) and batch.stage == "walk":
            self._broken = True  # the file went away under us: read on when it is back
            self._hold(self._unreadable(exc))
            return False
        raise exc

    def _notes(self) -> None:
        """What the core noted to log, logged; its vector counts added to the shared
        counters."""
        decoded, skipped, unknown = self.core.op_counters()
        with _COUNTERS:
            for now, seen, total in zip((decoded, skipped, unknown), self._seen,
                                        (self.counters.decoded, self.counters.skipped,
                                         self.counters.unknown), strict=True):  # fmt: skip
                for key, value in now.items():
                    if value != seen.get(key, 0):
                        total[key] += value - seen.get(key, 0)
        self._seen = (decoded, skipped, unknown)
        warned, unmatched, marked, loads = self.core.take_notes()
        if warned:
            log.warning("LOB redo that names no table or transaction is left out",
                        extra={"redo_thread": self.thread})  # fmt: skip
        for xid, rba, obj in unmatched:
            log.warning("partial rollback matched no buffered change",
                        extra={"xid": str(Xid(*xid)), "rba": rba, "obj": obj})  # fmt: skip
        for xid, table, rba, reason in marked:
            log.error("published a change capture could not decode", extra={
                "xid": str(Xid(*xid)), "table": table, "rba": rba, "reason": reason})
        for facts in loads:
            log.error("direct-path load rows not replicated", extra=dict(facts))

    def _unreadable(self, exc: OSError) -> RedoUnreadable:
        current = self._log
        return RedoUnreadable(
            "a redo log cannot be read just now; capture waits and reads on from here",
            thread=self.thread, sequence=current.sequence if current else None,
            file=exc.filename or (current.location if current else None),
            scn=self.last_scn, error=exc.strerror or str(exc),
        )  # fmt: skip

    def _hold(self, fault: RedoDamaged | MissingLog | RedoUnreadable) -> None:
        if self.fault is None or str(self.fault) != str(fault):
            log.error("the thread stands still", extra={"redo_thread": self.thread,
                                                        "error": str(fault)})  # fmt: skip
        self.fault = fault

    def _damaged(self, exc: CorruptRedo, *, in_feed: bool) -> None:
        """Hold at damage in the current log; set that copy aside."""
        current = self._log
        assert current is not None
        self.catalog.mark_damaged(current.location)
        self._broken = True
        self._rebuild = self._rebuild or in_feed
        where = exc.where
        self._hold(RedoDamaged(
            "damaged redo: every transaction committed before it is published; capture "
            "waits here for a good copy of this log in any configured archive directory",
            thread=self.thread, sequence=current.sequence,
            file=where.get("file", current.location), block=where.get("block"),
            rba=where.get("rba"), scn=self.last_scn,
            log_scns=f"{current.first_scn}..{current.next_scn}", damage=exc.message,
        ))  # fmt: skip

    def _reopen_copy(self) -> bool:
        """After damage: read on from another copy of the log (or the same file,
        changed), from exactly where the damage stopped reading. False: none yet."""
        current = self._log
        assert current is not None and self._state is not None
        self.catalog.refresh()
        entry = self.catalog.find(self.thread, current.sequence)
        if entry is None:
            return False
        if self._rebuild:  # the assembler saw part of a record: start again from the checkpoint
            raise RedoCopyFound("a copy of a damaged log to read again from the checkpoint",
                                thread=self.thread, sequence=current.sequence,
                                file=entry.location)  # fmt: skip
        log.warning("reading on from a readable copy of the log",
                    extra={"redo_thread": self.thread, "sequence": current.sequence,
                           "file": entry.location, "stopped_in": current.location})  # fmt: skip
        try:
            self._open(entry, self._state)  # same block numbering: on from where it stopped
        except CorruptRedo:
            self.catalog.mark_damaged(entry.location)
            return False
        except OSError as exc:
            self._hold(self._unreadable(exc))
            return False
        self._broken = False
        return True

    def _online_moved_on(self, result: ReadResult) -> bool | None:
        """At the written end of an online log: has more appeared, or has it switched?

        True when reading can go on now (new blocks, the archived copy, or the next log);
        False when the thread is simply caught up; None when the look found damage (the
        reader holds). An online log reused before we read it to the end, with no
        archived copy, is a gap: MissingLog.
        """
        assert self._log is not None and self._state is not None and self._redo is not None
        if not self._log.online:
            return False
        sequence = self._log.sequence
        self.catalog.refresh()
        archived = self.catalog.find(self.thread, sequence)
        if archived is not None and not archived.online:
            self._open(archived, self._state)  # same block numbering, now complete
            return True
        try:
            fresh = self._log.reread()
        except DRError:
            fresh = None
        if fresh is None or fresh.sequence != sequence:
            raise MissingLog(
                "an online redo log was reused before capture read it, and its archived "
                "copy is in none of the configured locations",
                thread=self.thread,
                sequence=sequence,
                file=self._log.location,
                scn_from=self.last_scn,
            )
        if self._state.stopped is BlockStatus.OVERWRITTEN:
            raise MissingLog(
                "online redo log overwritten while being read",
                thread=self.thread,
                sequence=sequence,
                file=self._log.location,
            )
        switched = fresh.next_scn != SCN_MAX
        # Look again from where we stopped: blocks written since (before the switch, if
        # there was one) are read first; only an empty look after a switch moves on.
        self.core.open(self._redo, self._state)
        look = self.core.read(1, self._state, self.prepare)
        if not self._take(look, result):
            return None
        if look.records:
            return True
        return switched and self._advance()

    def _log_complete(self) -> bool:
        """True when the current log is an archived (finished) one read to its end."""
        assert self._log is not None and self._state is not None
        return not self._log.online and self._state.stopped is BlockStatus.OK

    def _at_end(self, result: ReadResult) -> None:
        """Nothing more to read now. Only the end of an *online* log says the instance
        is quiet; the end of the archived logs only says every commit before the last
        log's next SCN has been read (the current online log may hold more)."""
        result.caught_up = self.caught_up = True
        current = self._log
        if current is not None and current.online:
            result.quiet = True
        elif current is not None and self._log_complete() and current.next_scn != SCN_MAX:
            self.last_scn = max(self.last_scn, current.next_scn - 1)
            result.scn = self.last_scn
        if not self._follow:
            self.finished = result.finished = True

    def restart_point(self) -> Rba | None:
        """Where a restart must begin to rebuild every transaction not yet committed (as
        of the end of the last read)."""
        oldest = self._oldest_open
        if oldest is not None:
            return min(oldest, self.last_rba) if self.last_rba else oldest
        return self.last_rba
