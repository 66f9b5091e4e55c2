"""One stream's applier: records in, database transactions out, in strict offset order.

Runs in the stream's database thread. Oracle transactions are rebuilt from their chunks
and applied inside a database transaction that also moves the checkpoint row; small
transactions share one database transaction (never splitting or reordering one), large
ones stream chunk by chunk into one open transaction.

Two ways to apply:

* **fast** — changes of one table/operation/column set go in one batched statement; any
  surprise (a duplicate key, a missing row, a refused value) rolls the whole group back
  and asks the worker to rewind to the checkpoint and *isolate*;
* **exact** — one Oracle transaction per database transaction, one statement per change,
  each conflict decided by :func:`drapply.policy.decide`, counted and logged with its keys.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from drcommon.chunking import ChunkError, resolve, value_refs
from drcommon.errors import DRError, ParseError, SinkError
from drcommon.model import Operation, RowChange, TransactionMessage, Watermark

from drapply.adapters.base import BoundChange, Checkpoint, ParkedRow, Stream, TargetSession
from drapply.ddl.runner import DdlHandling, run_ddl, touched_tables
from drapply.errors import (
    AmbiguousRow,
    ApplyHalted,
    BadRecord,
    RetriableSinkError,
)
from drapply.observer import AppliedTx, ApplyObserver
from drapply.plan import Planner, batches
from drapply.policy import ConflictKind, Policies, Resolution, decide
from drapply.settings import ApplyOptions
from drapply.values import ValueSet

log = logging.getLogger(__name__)
# Buffered row changes are executed at the latest every this many (bounds memory for a
# large transaction, whose chunks stream into one open database transaction).
FLUSH_ROWS = 5000


@dataclass(frozen=True, slots=True)
class Record:
    """A decoded Kafka record of a stream. A ``tx`` record whose large values came in
    ``value_chunk`` records before it holds them in ``values``, and its span begins at
    the first of them (``first_offset``)."""

    offset: int
    timestamp_ms: int
    message: TransactionMessage | Watermark
    first_offset: int | None = None
    values: ValueSet | None = None

    @property
    def start(self) -> int:
        """The offset the record's span begins at (its first value chunk, or itself)."""
        return self.offset if self.first_offset is None else self.first_offset


class Outcome(StrEnum):
    """How a feed ended."""

    OK = "ok"  # every record consumed
    HELD = "held"  # stopped before a transaction beyond the hold SCN
    REWIND = "rewind"  # seek to ``rewind_to`` and feed again (now isolating)
    PARK = "park"  # the transaction at ``park.first_offset`` must be parked


@dataclass(frozen=True, slots=True)
class ParkRequest:
    """A transaction the policy sends to the dead-letter topic."""

    first_offset: int
    xid: str
    commit_scn: int
    error: str
    stop_after: bool


@dataclass(frozen=True, slots=True)
class FeedResult:
    consumed: int
    outcome: Outcome = Outcome.OK
    rewind_to: int | None = None
    park: ParkRequest | None = None


@dataclass(slots=True)
class _OpenTx:
    message: TransactionMessage
    first_offset: int
    kafka_ts_ms: int
    exact: bool
    replaying: bool
    next_chunk: int = 1
    rows: int = 0
    seeded: bool = False  # committed at or before the load's SCN: in the target already


@dataclass(slots=True)
class Totals:
    """Counters for summaries (``drapply once``) and status."""

    transactions: int = 0
    rows: int = 0
    db_commits: int = 0
    conflicts: int = 0
    parked: int = 0
    skipped: int = 0


class _GroupFailed(Exception):
    """A grouped commit found a batch that did not touch exactly its rows."""

    def __init__(self, last_offset: int, why: str) -> None:
        super().__init__(why)
        self.last_offset = last_offset
        self.why = why


class _Park(Exception):
    def __init__(self, error: str, stop_after: bool) -> None:
        super().__init__(error)
        self.error = error
        self.stop_after = stop_after


@dataclass(slots=True)
class Applier:
    """Applies one stream's records to one target session (see the module docstring)."""

    session: TargetSession
    stream: Stream
    planner: Planner
    policies: Policies
    options: ApplyOptions
    observer: ApplyObserver = field(default_factory=ApplyObserver)
    ddl: DdlHandling | None = None  # None: DDL records are skipped (counted, logged)
    checkpoint: Checkpoint | None = None
    position: int = 0
    watermark_scn: int | None = None
    totals: Totals = field(default_factory=Totals)
    _db_open: bool = False
    _open: _OpenTx | None = None
    _group: list[AppliedTx] = field(default_factory=list)
    _group_rows: int = 0
    _isolate_until: int | None = None
    _group_exact: bool = False
    _buffer: list[BoundChange] = field(default_factory=list)
    _buffer_value_bytes: int = 0
    _last: AppliedTx | None = None

    # -- position ------------------------------------------------------------------------------
    def open(self, start_offset: int) -> Checkpoint:
        """Read (or create) the checkpoint; the worker seeks to ``next_offset``."""
        self.session.prepare_stream(self.stream)
        checkpoint = self.session.load_checkpoint(self.stream, start_offset)
        self._reset(checkpoint)
        return checkpoint

    def _reset(self, checkpoint: Checkpoint) -> None:
        self.checkpoint = checkpoint
        self.position = checkpoint.next_offset
        self.watermark_scn = checkpoint.watermark_scn
        self._open = None
        self._group = []
        self._group_rows = 0
        self._db_open = False
        self._last = None
        self._group_exact = False
        self._buffer = []
        self._buffer_value_bytes = 0

    @property
    def in_transaction(self) -> bool:
        """Whether an Oracle transaction is half applied (waiting for more chunks)."""
        return self._open is not None

    def abort(self) -> Checkpoint:
        """Roll back anything open and go back to the committed checkpoint."""
        if self._db_open:
            try:
                self.session.rollback()
            except DRError:
                log.warning("rollback failed; the connection is likely gone", exc_info=True)
        cp = self._cp
        self._reset(cp)
        return cp

    @property
    def checkpoint_offset(self) -> int:
        """The next offset in the committed checkpoint."""
        return self._cp.next_offset

    @property
    def _cp(self) -> Checkpoint:
        assert self.checkpoint is not None, "open() first"
        return self.checkpoint

    def reload(self) -> Checkpoint:
        """Re-read the checkpoint (after ``CheckpointMoved``); the worker seeks to it."""
        self.abort()
        checkpoint = self.session.load_checkpoint(self.stream, self.position)
        self._reset(checkpoint)
        return checkpoint

    # -- feeding -------------------------------------------------------------------------------
    def feed(self, records: Sequence[Record], hold_at: int | None = None) -> FeedResult:
        """Apply records in order; see :class:`Outcome` for how it can end."""
        try:
            return self._feed(records, hold_at)
        except _GroupFailed as failed:
            return self._isolate(failed.last_offset, failed.why)
        except BadRecord:
            failed_group = self._settle()
            if failed_group is not None:
                return failed_group
            raise

    def _settle(self) -> FeedResult | None:
        """Before stopping on a bad record: commit the complete transactions grouped
        before it (the schema stops right before the record, not before its group); a
        transaction left open can never complete, so then everything rolls back."""
        if self._open is not None:
            self.abort()
            return None
        if not self._db_open:
            return None
        try:
            self._commit()
        except _GroupFailed as failed:  # re-apply them one by one; the record fails again
            return self._isolate(failed.last_offset, failed.why)
        return None

    def _feed(self, records: Sequence[Record], hold_at: int | None) -> FeedResult:
        for index, record in enumerate(records):
            if record.offset < self.position:
                continue  # already applied (a fetch from before a seek)
            message = record.message
            if isinstance(message, Watermark):
                self._watermark(record, message)
                continue
            if message.chunk == 0:
                if hold_at is not None and message.tx.commit_scn > hold_at:
                    self._commit_if_boundary()
                    return FeedResult(index, Outcome.HELD)
                self._start(record, message)
            else:
                self._continue(record, message)
            result = self._apply_chunk(record, message)
            if result is not None:
                return result
        self._commit_if_boundary()
        return FeedResult(len(records))

    def _watermark(self, record: Record, mark: Watermark) -> None:
        if self._open is not None:
            raise BadRecord(
                "watermark inside a chunked transaction",
                topic=self.stream.topic,
                offset=record.offset,
                xid=self._open.message.tx.xid,
            )
        self.watermark_scn = max(self.watermark_scn or 0, mark.scn)
        self.position = record.offset + 1

    def _start(self, record: Record, message: TransactionMessage) -> None:
        if self._open is not None:
            raise BadRecord(
                "a new transaction began before the last chunk of the previous one",
                topic=self.stream.topic,
                offset=record.offset,
                xid=self._open.message.tx.xid,
            )
        self._check_schema(record, message)
        exact = self._isolate_until is not None and record.offset <= self._isolate_until
        # A DDL is a barrier: its transaction is applied alone, after the group before it.
        exact = exact or self._runs_ddl(message)
        if exact and (self._db_open or self.position > self._cp.next_offset):
            self._commit()  # exact mode: one Oracle transaction per database transaction
        replaying = record.offset < (self._cp.replay_until or 0)
        seed = self._cp.seed_scn
        seeded = seed is not None and message.tx.commit_scn <= seed
        self._open = _OpenTx(message, record.start, record.timestamp_ms, exact, replaying,
                             seeded=seeded)  # fmt: skip

    def _continue(self, record: Record, message: TransactionMessage) -> None:
        tx = self._open
        if tx is None or tx.message.tx.xid != message.tx.xid or message.chunk != tx.next_chunk:
            raise BadRecord(
                f"chunk {message.chunk} out of sequence",
                topic=self.stream.topic,
                offset=record.offset,
                xid=message.tx.xid,
                expected_chunk=tx.next_chunk if tx else 0,
            )
        tx.next_chunk += 1

    def _check_schema(self, record: Record, message: TransactionMessage) -> None:
        if message.schema_name != self.stream.owner:
            raise BadRecord(
                f"record for schema {message.schema_name} on the topic of {self.stream.owner}",
                topic=self.stream.topic,
                offset=record.offset,
            )

    def _apply_chunk(self, record: Record, message: TransactionMessage) -> FeedResult | None:
        tx = self._open
        assert tx is not None
        if tx.seeded:  # the load's image holds it: read past, the next commit records that
            self.position = record.offset + 1
            self.totals.skipped += len(message.changes)
            if message.last:
                self._open = None
            return None
        if not self._db_open:
            self.session.begin(self.stream, self._cp.next_offset)
            self._db_open = True
        try:
            if tx.exact:
                tx.rows += self._apply_exact(record, message, tx)
            else:
                tx.rows += self._apply_fast(record, message, tx)
        except RetriableSinkError:
            raise
        except _Park as park:
            self.abort()
            return FeedResult(0, Outcome.PARK, park=self._park_request(tx, park))
        except (SinkError, ParseError) as exc:
            if tx.exact or isinstance(exc, ApplyHalted):
                self.abort()
                raise
            return self._isolate(record.offset, str(exc))
        self.position = record.offset + 1
        if message.last:
            self._finish(tx, record)
        return None

    @property
    def isolating_through(self) -> int | None:
        """The last offset being re-applied one transaction at a time (None: not)."""
        return self._isolate_until

    def isolate_through(self, last_offset: int, why: str) -> int:
        """Roll back to the checkpoint and re-apply up to ``last_offset`` one Oracle
        transaction per database transaction; returns the offset to seek to."""
        result = self._isolate(last_offset, why)
        assert result.rewind_to is not None
        return result.rewind_to

    def _isolate(self, last_offset: int, why: str) -> FeedResult:
        cp = self.abort()
        self._isolate_until = last_offset
        self.observer.isolating(
            self.stream, from_offset=cp.next_offset, until_offset=last_offset, why=why
        )
        return FeedResult(0, Outcome.REWIND, rewind_to=cp.next_offset)

    def _park_request(self, tx: _OpenTx, park: _Park) -> ParkRequest:
        info = tx.message.tx
        return ParkRequest(tx.first_offset, info.xid, info.commit_scn, park.error, park.stop_after)

    def _finish(self, tx: _OpenTx, record: Record) -> None:
        info = tx.message.tx
        done = AppliedTx(
            info.xid, info.commit_scn, info.commit_ts, tx.kafka_ts_ms, tx.rows,
            tx.first_offset, record.offset,
        )  # fmt: skip
        self._group.append(done)
        self._group_rows += tx.rows
        self._group_exact = self._group_exact or tx.exact
        self._last = done
        self._open = None
        if self._isolate_until is not None and record.offset >= self._isolate_until:
            self._isolate_until = None
        if (
            tx.exact
            or len(self._group) >= self.options.max_group_transactions
            or self._group_rows >= self.options.max_group_rows
        ):
            self._commit()

    def _commit_if_boundary(self) -> None:
        if self._db_open and self._open is None:
            self._commit()

    def flush(self) -> None:
        """Write the position after watermark-only records (no open transaction)."""
        if self._open is None and (self._db_open or self.position > self._cp.next_offset):
            self._commit()

    def _commit(self) -> None:
        cp = self._cp
        if not self._db_open:
            self.session.begin(self.stream, cp.next_offset)
            self._db_open = True
        last = self._last
        replay_until = cp.replay_until
        if replay_until is not None and self.position >= replay_until:
            replay_until = None
        new = replace(
            cp,
            next_offset=self.position,
            commit_scn=last.commit_scn if last else cp.commit_scn,
            xid=last.xid if last else cp.xid,
            commit_ts=last.commit_ts if last else cp.commit_ts,
            watermark_scn=self.watermark_scn,
            replay_until=replay_until,
        )
        try:
            self._flush_buffer()
            self.session.write_checkpoint(self.stream, new)
            self.session.commit()  # deferred batch checks (pipelined targets) fail here
        except RetriableSinkError:
            raise
        except SinkError as exc:
            if self._group_exact or not self._group:
                self.abort()
                raise ApplyHalted(f"commit failed: {exc}", topic=self.stream.topic) from exc
            raise _GroupFailed(self.position - 1, str(exc)) from exc
        self._db_open = False
        self._group_exact = False
        self.checkpoint = new
        group, self._group, self._group_rows = self._group, [], 0
        self.totals.db_commits += 1
        self.totals.transactions += len(group)
        self.totals.rows += sum(t.rows for t in group)
        self.observer.committed(self.stream, group, new)
        if cp.replay_until is not None and replay_until is None:
            self.observer.replay_done(self.stream, new)

    # -- fast and exact ------------------------------------------------------------------------
    def _wanted(self, record: Record, change: RowChange) -> bool:
        if change.owner != self.stream.owner:
            raise BadRecord(
                f"change for schema {change.owner} on the topic of {self.stream.owner}",
                topic=self.stream.topic,
                offset=record.offset,
            )
        if change.op is Operation.DDL:
            self._ddl(record, change)
            return False
        if self.planner.skipped(change):
            self.totals.skipped += 1
            self.observer.skipped(self.stream, "skip_tables", change.table, offset=record.offset)
            return False
        return True

    def _runs_ddl(self, message: TransactionMessage) -> bool:
        return (self.ddl is not None and self.ddl.mode == "execute"
                and any(c.op is Operation.DDL for c in message.changes))  # fmt: skip

    def _ddl(self, record: Record, change: RowChange) -> None:
        """Run, skip or stop on a DDL change (``apply.ddl``); cached shapes of the
        tables it touches are dropped either way."""
        handling = self.ddl
        names = [change.table]
        try:
            if handling is None or handling.mode == "skip":
                self.totals.skipped += 1
                self.observer.skipped(self.stream, "ddl", change.table, offset=record.offset)
            elif handling.mode == "stop":
                table = f"{change.owner}.{change.table}"
                raise ApplyHalted("DDL record and apply.ddl = stop", table=table,
                                  offset=record.offset)  # fmt: skip
            else:
                assert self._open is not None
                self._flush_buffer()  # the rows before it reach the table first
                statement, row = run_ddl(self.session, handling, self.stream, record.offset,
                                         self._open.message.tx, change)  # fmt: skip
                names = touched_tables(statement, change)
                self.observer.ddl(self.stream, row)
        finally:
            for name in names:
                self.planner.forget(change.owner, name)
                self.session.forget_table(self.planner.naming.table(change.owner, name))

    def _apply_fast(self, record: Record, message: TransactionMessage, tx: _OpenTx) -> int:
        if record.values is not None:
            return self._apply_fast_values(record, message)
        bound = [self.planner.bind(c) for c in message.changes if self._wanted(record, c)]
        self._buffer.extend(bound)
        if len(self._buffer) >= FLUSH_ROWS:
            self._flush_buffer()
        return len(bound)

    def _apply_fast_values(self, record: Record, message: TransactionMessage) -> int:
        """Changes with reassembled large values: each value is read back only when its
        change is bound, and the buffer is written out once the values it holds reach
        ``max_buffered_value_bytes`` (memory stays bounded, whatever the transaction)."""
        limit = self.options.max_buffered_value_bytes
        applied = 0
        for change in message.changes:
            if not self._wanted(record, change):
                continue
            bound = self._bind(record, change)
            self._buffer.append(bound)
            applied += 1
            self._buffer_value_bytes += bound.value_bytes
            if len(self._buffer) >= FLUSH_ROWS or self._buffer_value_bytes >= limit:
                self._flush_buffer()
        return applied

    def _bind(self, record: Record, change: RowChange) -> BoundChange:
        """Bind a change, its references replaced by the values that came with it (the
        bound change counts their bytes: targets treat such changes with care)."""
        values = record.values
        if values is None:
            return self.planner.bind(change)
        size = sum(r.length for r in value_refs(change))
        try:
            resolved = resolve(change, values.lookup)
        except ChunkError as exc:
            raise BadRecord(exc.message, topic=self.stream.topic, offset=record.offset) from None
        bound = self.planner.bind(resolved)
        return bound._replace(value_bytes=size) if size else bound

    def _flush_buffer(self) -> None:
        """Execute the buffered changes of the group in batches (see plan.batches)."""
        buffered, self._buffer = self._buffer, []
        self._buffer_value_bytes = 0
        for run in batches(buffered):
            self.session.execute_run(run, overwrite=False)

    def _apply_exact(self, record: Record, message: TransactionMessage, tx: _OpenTx) -> int:
        applied = 0
        for change in message.changes:
            try:
                if not self._wanted(record, change):
                    continue
            except (ApplyHalted, BadRecord):
                raise
            except (SinkError, ParseError) as exc:
                self._resolve(record, tx, change, None, ConflictKind.ERROR, str(exc))
            else:
                self._exact_one(record, tx, change)
                applied += 1
        return applied

    def _exact_one(self, record: Record, tx: _OpenTx, change: RowChange) -> None:
        bound: BoundChange | None = None
        try:
            bound = self._bind(record, change)
            if change.op is Operation.INSERT:
                done = self.session.insert(bound, upsert=False)
                kind = None if done else ConflictKind.DUPLICATE_KEY
            elif change.op is Operation.UPDATE:
                kind = _matched(self.session.update(bound), ConflictKind.MISSING_FOR_UPDATE)
            else:
                kind = _matched(self.session.delete(bound), ConflictKind.MISSING_FOR_DELETE)
        except RetriableSinkError:
            raise
        except (SinkError, ParseError) as exc:
            kind = ConflictKind.AMBIGUOUS if isinstance(exc, AmbiguousRow) else ConflictKind.ERROR
            self._resolve(record, tx, change, bound, kind, str(exc))
            return
        if kind is not None:
            self._resolve(record, tx, change, bound, kind, kind.value)

    def _resolve(
        self,
        record: Record,
        tx: _OpenTx,
        change: RowChange,
        bound: BoundChange | None,
        kind: ConflictKind,
        detail: str,
    ) -> None:
        policy = self.policies.for_table(change.owner, change.table)
        full = self._full_image(bound)
        resolution = decide(policy.policy, kind, full_image=full, replaying=tx.replaying)
        self.totals.conflicts += 1
        xid = tx.message.tx.xid
        self.observer.conflict(
            self.stream, bound, kind, resolution, detail, offset=record.offset, xid=xid
        )
        if resolution is Resolution.UPSERT and bound is not None:
            self.session.insert(bound, upsert=True)
        elif resolution is Resolution.INSERT_IMAGE and bound is not None:
            self.session.insert_image(bound)
        elif resolution is Resolution.PARK:
            raise _Park(f"{kind.value}: {detail}", policy.stop_after_park)
        elif resolution is not Resolution.SKIP:
            raise ApplyHalted(
                f"{kind.value} on {change.owner}.{change.table}: {detail}",
                topic=self.stream.topic,
                offset=record.offset,
                xid=xid,
                scn=tx.message.tx.commit_scn,
                key=bound.key_text() if bound else None,
            )

    def _full_image(self, bound: BoundChange | None) -> bool:
        """Whether an update's before+after images hold every column of the target row."""
        if bound is None or bound.image is None:
            return False
        try:
            shape = self.session.prepare_table(bound)
        except SinkError:
            return False
        return shape.columns.keys() <= bound.image.keys()

    # -- applying outside the stream (retry of a parked transaction) ---------------------------
    def apply_detached(self, records: Sequence[Record]) -> int:
        """Apply one transaction's records exactly, inside the caller's open transaction,
        with the tables' normal policies. A conflict the policy would park raises
        :class:`ApplyHalted` (the transaction stays parked)."""
        applied = 0
        for record in records:
            message = record.message
            assert isinstance(message, TransactionMessage)
            tx = _OpenTx(message, record.offset, record.timestamp_ms, exact=True, replaying=False)
            try:
                applied += self._apply_exact(record, message, tx)
            except _Park as park:
                raise ApplyHalted(
                    f"still conflicts: {park.error}", xid=message.tx.xid, offset=record.offset
                ) from None
        return applied

    # -- parking -------------------------------------------------------------------------------
    def record_parked(self, row: ParkedRow) -> None:
        """Note a parked transaction and move the checkpoint past it, atomically."""
        cp = self._cp
        self.session.begin(self.stream, cp.next_offset)
        try:
            self.session.add_parked(self.stream, row)
            new = replace(cp, next_offset=row.last_offset + 1, watermark_scn=self.watermark_scn)
            self.session.write_checkpoint(self.stream, new)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        self.totals.parked += 1
        self._reset(new)
        if self._isolate_until is not None and row.last_offset >= self._isolate_until:
            self._isolate_until = None


def _matched(count: int, missing: ConflictKind) -> ConflictKind | None:
    if count == 1:
        return None
    return missing if count == 0 else ConflictKind.AMBIGUOUS
