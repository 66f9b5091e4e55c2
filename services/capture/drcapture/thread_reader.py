"""Reading one RAC thread: log after log by sequence, records into its assembler.

A :class:`ThreadReader` is synchronous and CPU-bound; the pipeline calls :meth:`read`
with a record budget (in a worker thread) and gets back the commits it produced, how
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from drcommon.errors import CorruptRedo, DRError, MissingLog, SourceError

from drcapture.catalog import LogCatalog, LogFile
from drcapture.dictionary.model import TableDef
from drcapture.errors import RedoCopyFound, RedoDamaged, RedoUnreadable
from drcapture.redo.binary import SCN_MAX
from drcapture.redo.blocks import BlockStatus, RedoFile
from drcapture.redo.ops.direct import DirectLoad
from drcapture.redo.ops.dispatch import OpCounters, ParsedRecord, UndecodableOp
from drcapture.redo.reader import iter_records
from drcapture.redo.records import Rba, ReadState
from drcapture.redo.txn.assembler import CommittedTransaction, TransactionAssembler

log = logging.getLogger(__name__)


class DirectLoadGap(SourceError):
    """Rows written by a direct-path load into a captured table cannot be replicated."""


@dataclass(slots=True)
class ReadResult:
    """What one :meth:`ThreadReader.read` call produced."""

    commits: list[CommittedTransaction] = field(default_factory=list)
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
        assembler: TransactionAssembler,
        *,
        start: Rba | None,
        start_scn: int | None,
        follow: bool,
        counters: OpCounters | None = None,
        start_exclusive: bool = False,
        on_direct_load: str = "stop",
    ) -> None:
        self.thread = thread
        self.catalog = catalog
        self.assembler = assembler
        self.counters = counters if counters is not None else OpCounters()
        self._follow = follow
        self._start = start
        self._start_exclusive = start_exclusive  # the record at ``start`` was already read
        self._on_direct_load = on_direct_load
        self._by_data_obj: dict[int, TableDef] | None = None
        self.direct_load_rows = 0
        self._start_scn = start_scn
        self._log: LogFile | None = None
        self._redo: RedoFile | None = None
        self._state: ReadState | None = None
        self._records: Iterator[ParsedRecord] | None = None
        self._pending: ParsedRecord | None = None
        self.last_rba: Rba | None = start
        self.last_time: datetime | None = None  # redo time of the newest record read
        self.last_scn = start_scn or 0
        self.finished = False
        self.caught_up = False  # the last read ended at the end of what is readable now
        # Why reading stands still (a damaged or missing log), None while it goes on.
        self.fault: RedoDamaged | MissingLog | RedoUnreadable | None = None
        self._broken = False  # the record iterator died on damage: reopen a copy to go on
        self._rebuild = False  # damage surfaced while feeding: the assembler must be rebuilt

    @property
    def current_log(self) -> LogFile | None:
        return self._log

    def _open(self, entry: LogFile, state: ReadState) -> None:
        redo = entry.open()  # first: a log that cannot be opened changes nothing
        self._log = entry
        self._redo = redo
        self._state = state
        self._records = iter_records(self._redo, state, self.counters)
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
        if self._broken and not self._reopen_copy():
            return result
        try:
            self._read(result, budget)
        except MissingLog as exc:
            self._hold(exc)
            return result
        except OSError as exc:  # opening a log: nothing moved, the next read tries again
            self._hold(self._unreadable(exc))
            return result
        if self.fault is not None and not self._broken:
            log.warning("the thread reads on", extra={"redo_thread": self.thread,
                                                      "after": str(self.fault)})  # fmt: skip
            self.fault = None
        return result

    def _read(self, result: ReadResult, budget: int) -> None:
        if self._records is None and not self._open_first():
            self._at_end(result)
            return
        while result.records < budget:
            assert self._records is not None
            try:
                record, self._pending = self._pending or next(self._records, None), None
            except CorruptRedo as exc:
                self._damaged(exc, in_feed=False)
                return
            except OSError as exc:  # the file went away under us: read on when it is back
                self._broken = True
                self._hold(self._unreadable(exc))
                return
            if record is None:
                if self._log_complete():
                    if not self._advance():
                        self._at_end(result)
                        return
                    continue
                try:
                    if self._online_moved_on():
                        continue
                except CorruptRedo as exc:
                    self._damaged(exc, in_feed=False)
                    return
                self._at_end(result)
                return
            try:
                self._feed(record, result)
            except CorruptRedo as exc:
                self._damaged(exc, in_feed=True)
                return

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

    def _online_moved_on(self) -> bool:
        """At the written end of an online log: has more appeared, or has it switched?

        True when reading can go on now (new blocks, the archived copy, or the next log);
        False when the thread is simply caught up. An online log reused before we read
        it to the end, with no archived copy, is a gap: MissingLog.
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
        self._records = iter_records(self._redo, self._state, self.counters)
        peeked = next(self._records, None)
        if peeked is not None:
            self._pending = peeked
            return True
        return switched and self._advance()

    def _feed(self, record: ParsedRecord, result: ReadResult) -> None:
        raw = record.record
        result.records += 1
        result.bytes += raw.header.length
        if self._start is not None and (
            raw.rba < self._start or (self._start_exclusive and raw.rba == self._start)
        ):
            return
        if any(slot.layer == 19 and slot.code == 1 for slot in raw.slots):
            self._check_direct_load(record)
        result.commits.extend(self.assembler.feed(record))
        self.last_rba = raw.rba
        if raw.header.scn > self.last_scn:
            self.last_scn = raw.header.scn
        if raw.header.timestamp is not None:
            self.last_time = raw.header.timestamp
        result.scn = self.last_scn

    def _check_direct_load(self, record: ParsedRecord) -> None:
        """A direct-path load (19.1) writes whole blocks with no per-row change and no
        transaction id in the vector: its rows cannot be published as row changes. Into a
        captured table that is a gap in the DR copy, so it is never passed over silently."""
        for parsed in record.ops:
            op = parsed.op
            refused = isinstance(op, UndecodableOp) and (op.layer, op.code) == (19, 1)
            if not refused and not isinstance(op, DirectLoad):
                continue
            data_obj = op.data_obj if isinstance(op, DirectLoad) else parsed.vector.header.data_obj
            table = self._table_by_data_obj(data_obj)
            if isinstance(op, DirectLoad) and not op.rows and not _loaded_iot_block(op, table):
                continue
            wanted = self.assembler.options.wanted
            if table is None or (wanted is not None and not wanted(table.owner, table.name)):
                continue
            rows = len(op.rows) if isinstance(op, DirectLoad) else 0
            self.direct_load_rows += rows
            facts = {
                "table": f"{table.owner}.{table.name}",
                "rows": rows if rows else "unknown",
                "block": op.reason if isinstance(op, UndecodableOp) else None,
                "scn": record.record.header.scn,
                "rba": str(record.record.rba),
                "redo_thread": self.thread,
            }
            if self._on_direct_load == "stop":
                raise DirectLoadGap(
                    "a direct-path load (INSERT /*+ APPEND */, SQL*Loader direct) wrote rows "
                    "into a captured table; redo holds them as blocks, not row changes, so "
                    "they cannot be replicated. Re-synchronise the table (docs/CAPTURE.md) and "
                    "restart, or set source.on_direct_load=warn to go on without them",
                    **facts,
                )
            log.error("direct-path load rows not replicated", extra=facts)

    def _table_by_data_obj(self, data_obj: int) -> TableDef | None:
        if self._by_data_obj is None:
            tables = self.assembler.dictionary.tables.values()
            self._by_data_obj = {t.data_obj or t.obj: t for t in tables}
            for t in tables:  # an IOT's index: its data object taken as its object number
                if t.iot is not None and t.iot.index_obj is not None:
                    self._by_data_obj.setdefault(t.iot.index_obj, t)
        return self._by_data_obj.get(data_obj)

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
        """Where a restart must begin to rebuild every transaction not yet committed."""
        opened = self.assembler.open_transactions()
        if opened:
            oldest = min(Rba.parse(t.start_rba) for t in opened)
            return min(oldest, self.last_rba) if self.last_rba else oldest
        return self.last_rba


def _loaded_iot_block(load: DirectLoad, table: TableDef | None) -> bool:
    """An IOT's rows are its index's leaf rows: a loaded index block of a captured IOT is
    loaded rows too (not decoded: their count is not known)."""
    return table is not None and table.iot is not None and not load.table_block
