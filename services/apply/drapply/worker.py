"""One stream's worker: fetch, feed the applier in its database thread, react.

The worker owns the stream's target session (in a one-thread executor, so the
connection is only ever used by one thread) and its position in the consumer. Each step
takes a snapshot of the gate, then fetches or feeds; the applier's answer (held,
rewind, park) and errors decide the next step. Retriable errors back off and resume
from the checkpoint in the target, the stream's status naming what it waits for (the
``database`` or ``kafka``), since when and the last error, until a step gets through;
other errors put the stream in ``error`` until the operator resumes it (or moves its
checkpoint past the record, ``drapply skip``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from drcommon.errors import DRError, ParseError, SourceError

from drapply.adapters.base import Checkpoint, ParkedRow, Stream, Target, TargetSession
from drapply.applier import Applier, FeedResult, Outcome, ParkRequest, Record
from drapply.deadletter import DeadLetters
from drapply.errors import ApplyHalted, BadRecord, CheckpointMoved, KafkaWriteFailed
from drapply.gate import Gate
from drapply.metrics import ApplyMetrics
from drapply.parking import Parking
from drapply.settings import ApplyOptions, ConflictPolicy
from drapply.source import Fetched, PartitionSource
from drapply.status import StreamState, StreamStatus

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BACKOFF = 30.0
EXTERNAL_CHECK_SECONDS = 5.0
REPOSITION = "'drapply replay --from-scn <seed SCN>' positions a stream without a checkpoint"


def check_position(stream: Stream, position: int, beginning: int, end: int) -> None:
    """Refuse a checkpoint the topic cannot continue from: records it still needs were
    deleted (retention), or it lies beyond the end (the topic was recreated)."""
    if position < beginning:
        raise BadRecord(
            f"records the checkpoint still needs (offsets {position}..{beginning - 1}) were "
            "deleted from Kafka (retention) before apply read them: the DR copy would miss "
            f"their transactions; re-seed it ({REPOSITION})",
            topic=stream.topic,
            partition=stream.partition,
            checkpoint=position,
            first_available=beginning,
        )
    if position > end:
        raise BadRecord(
            f"the checkpoint (offset {position}) is beyond the end of the topic ({end}): "
            f"the topic was recreated or truncated; re-seed the DR copy ({REPOSITION})",
            topic=stream.topic,
            partition=stream.partition,
            checkpoint=position,
            end=end,
        )


@dataclass(frozen=True, slots=True)
class WorkerDeps:
    """What every worker of a process shares."""

    target: Target
    make_applier: Callable[[TargetSession, Stream], Applier]
    gate: Gate
    options: ApplyOptions
    dead_letters: DeadLetters
    metrics: ApplyMetrics | None = None


class StreamWorker:
    """Applies one stream until stopped (or, with ``until_end``, until caught up)."""

    def __init__(
        self,
        stream: Stream,
        source: PartitionSource,
        deps: WorkerDeps,
        status: StreamStatus,
        *,
        until_end: bool = False,
        idle_grace: float = 0.0,
    ) -> None:
        self.stream = stream
        self.source = source
        self.deps = deps
        self.status = status
        self._until_end = until_end
        self._idle_grace = idle_grace
        self._last_progress = time.monotonic()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"apply-{stream.owner}")
        self._session: TargetSession | None = None
        self._applier: Applier | None = None
        self._pending: list[Record] = []
        self._pending_error: DRError | None = None
        self._pending_error_offset: int | None = None
        self._unreadable_at: int | None = None  # offset of the record an error is about
        self._stopping = False
        self._finished = False
        self._error_version: int | None = None
        self._backoff = deps.options.retry_backoff_seconds
        self._last_flush = time.monotonic()
        self._last_external_check = time.monotonic()
        self._commands: list[
            tuple[Callable[[], Any], Callable[[Any], None] | None, asyncio.Future[Any]]
        ] = []
        self.end_offset: int | None = None
        self._kafka_call: asyncio.Future[Any] | None = None
        self._fetch_position: int | None = None
        self._ahead: asyncio.Task[Fetched] | None = None
        self._parking = Parking(stream, source, deps.dead_letters, self._db)

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def applier(self) -> Applier:
        assert self._applier is not None, "worker not opened"
        return self._applier

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def run(self) -> None:
        """The worker's task body."""
        try:
            while not self._stopping and not self._finished:
                if self._applier is None:
                    await self._guarded(self._open)
                else:
                    await self._guarded(self._step)
        finally:
            await self._close()

    def request_stop(self) -> None:
        """Stop after the current step; a wait on Kafka is interrupted (a rebalance
        blocks fetches until the revoke handler, which waits for us, returns)."""
        self._stopping = True
        for call in (self._kafka_call, self._ahead):
            if call is not None and not call.done():
                call.cancel()

    async def _interruptible(self, call: Awaitable[T]) -> T | None:
        """Await a consumer call that :meth:`request_stop` may cancel (None then)."""
        if self._stopping:  # asked to stop already: a new call would not be cancelled
            if asyncio.iscoroutine(call):
                call.close()
            return None
        task = asyncio.ensure_future(call)
        self._kafka_call = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._stopping and task.cancelled() and not (current and current.cancelling()):
                return None
            raise
        finally:
            self._kafka_call = None

    async def _close(self) -> None:
        def close() -> None:
            if self._applier is not None:
                self._applier.abort()
            if self._session is not None:
                self._session.close()

        try:
            await self._db(close)
        except DRError:
            log.warning("closing the target session failed", exc_info=True)
        self._session = None
        self._applier = None
        self._executor.shutdown(wait=False)

    async def _open(self) -> None:
        if self._session is None:
            self._session = await self._db(self.deps.target.connect)
        applier = self.deps.make_applier(self._session, self.stream)
        bounds = await self._interruptible(self.source.bounds())
        if bounds is None:
            return
        # A new stream needs the topic from its first offset (0): starting at whatever
        # Kafka still holds would skip what retention already deleted, silently.
        checkpoint = await self._db(applier.open, 0)
        check_position(self.stream, checkpoint.next_offset, *bounds)
        self._applier = applier
        self._seek(checkpoint)
        if self._until_end:
            self.end_offset = bounds[1]
        log.info(
            "stream opened",
            extra={"topic": self.stream.topic, "partition": self.stream.partition,
                   "offset": checkpoint.next_offset, "scn": checkpoint.commit_scn},
        )  # fmt: skip

    def _seek(self, checkpoint: Checkpoint) -> None:
        self._move(checkpoint.next_offset)
        self._pending = []
        self._pending_error = None
        st = self.status
        st.applied_scn, st.applied_xid = checkpoint.commit_scn, checkpoint.xid
        st.source_commit_ts, st.position = checkpoint.commit_ts, checkpoint.next_offset
        st.watermark_scn, st.replaying_until = checkpoint.watermark_scn, checkpoint.replay_until

    def _move(self, offset: int) -> None:
        """Seek the stream's partition; what was fetched before no longer counts."""
        self.source.seek(offset)
        self._fetch_position = None

    async def _guarded(self, body: Callable[[], Any]) -> None:
        try:
            await body()
            self._backoff = self.deps.options.retry_backoff_seconds
            if self.status.faults.active():
                self._recovered()
        except asyncio.CancelledError:
            raise
        except CheckpointMoved as exc:
            log.warning("checkpoint moved; re-reading it", extra={"error": str(exc)})
            await self._reload()
        except DRError as exc:
            await self._after(exc)

    async def _after(self, exc: DRError, *, parking: bool = False) -> None:
        """Retry later, park a record that cannot be read, or stop in ``error``."""
        if exc.retriable:
            await self._retry_later(exc)
        elif isinstance(exc, ParseError) and not parking:
            try:
                await self._unreadable(exc)
            except DRError as again:  # parking it failed (Kafka, the database)
                await self._after(again, parking=True)
        else:
            self._fail(exc)

    async def _reload(self) -> None:
        if self._applier is None:
            return
        checkpoint = await self._db(self._applier.reload)
        self._seek(checkpoint)

    async def _retry_later(self, exc: DRError) -> None:
        self._count_error("retriable")
        part = "kafka" if isinstance(exc, SourceError | KafkaWriteFailed) else "database"
        change = self.status.faults.report(part, exc, now=time.time())
        log.log(
            logging.ERROR if change.line is not None else logging.WARNING,
            "retriable error; backing off",
            extra={"topic": self.stream.topic, "part": part, "error": str(exc),
                   "seconds": self._backoff, "attempts": change.fault.attempts},
        )  # fmt: skip
        await self._drop_session()
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, MAX_BACKOFF)

    def _recovered(self) -> None:
        now = time.time()
        for fault in self.status.faults.active():
            change = self.status.faults.clear(fault.part, now=now)
            if change is not None:
                log.warning(change.line, extra={"topic": self.stream.topic, "part": fault.part})

    async def measure_queue(self) -> None:
        """Ask Kafka for the topic's end: the queue behind the applied position (also
        for a stream stopped on an error). Kafka not answering leaves it as it was."""
        with contextlib.suppress(DRError):
            self._queue(await self.source.end())

    def _queue(self, end: int) -> None:
        """The queue behind the stream: the offsets between the applied position and the
        end (transaction markers included); zero once a freely running stream has fetched
        to the end and applied all of it (the end then lies past a marker)."""
        st = self.status
        st.end_offset = end
        applier = self._applier
        applied = applier.position if applier is not None else st.position
        caught_up = (
            st.state in (StreamState.RUNNING, StreamState.HOLDING)
            and not st.faults.active()
            and applier is not None
            and not applier.in_transaction
            and not self._pending
            and self._pending_error is None
            and self._fetch_position is not None
            and self._fetch_position >= end
        )
        st.queue_depth = 0 if caught_up else max(0, end - applied)

    async def _drop_session(self) -> None:
        session, self._session, self._applier = self._session, None, None

        def close() -> None:
            if session is not None:
                try:
                    session.rollback()
                finally:
                    session.close()

        try:
            await self._db(close)
        except DRError:
            log.debug("closing a broken session failed", exc_info=True)

    def _fail(self, exc: DRError) -> None:
        self._count_error("fatal")
        self.status.state = StreamState.ERROR
        self.status.error = str(exc)
        if self._applier is not None:
            self.status.position = self._applier.position
        self._error_version = self.deps.gate.state.version
        log.error(
            "stream stopped on error",
            extra={"topic": self.stream.topic, "partition": self.stream.partition,
                   "error": str(exc)},
        )  # fmt: skip
        if self._until_end:
            self._finished = True

    def _count_error(self, kind: str) -> None:
        if self.deps.metrics is not None:
            self.deps.metrics.errors.labels(self.stream.owner, kind).inc()

    # -- commands from the service (replay) ----------------------------------------------------
    async def call(self, fn: Callable[[Applier], T], then: Callable[[T], None] | None = None) -> T:
        """Run ``fn(applier)`` in the database thread between two steps, then ``then``
        in the worker's own task (so a seek never races the worker's fetches)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._commands.append((lambda: fn(self.applier), then, future))
        return await future

    async def rewind(self, offset: int) -> Checkpoint:
        """Move the checkpoint back to ``offset`` and re-apply from there (overwrite
        semantics up to where it stood)."""

        def body(applier: Applier) -> Checkpoint:
            applier.abort()
            checkpoint = applier.session.rewind(applier.stream, offset)
            applier._reset(checkpoint)
            return checkpoint

        return await self.call(body, then=self._seek)

    async def _run_commands(self) -> None:
        commands, self._commands = self._commands, []
        for body, then, future in commands:
            try:
                result = await self._db(body)
                if then is not None:
                    then(result)
                future.set_result(result)
            except Exception as exc:  # handed to the caller, who reports it
                future.set_exception(exc)

    # -- one step ------------------------------------------------------------------------------
    async def _step(self) -> None:
        if self._commands:
            await self._run_commands()
        gate = self.deps.gate.state
        self.status.hold_at_scn = gate.hold_at
        if self._error_version is not None:
            if await self.deps.gate.changed(self._error_version, 1.0) or await self._skipped():
                self._error_version = None
                self.status.error = None
                self.status.state = StreamState.RUNNING
                await self._reload()
            return
        if gate.stopped:
            if self.applier.in_transaction:
                await self._reload()
            self.status.state = StreamState.STOPPED
            await self.deps.gate.changed(gate.version, 1.0)
            return
        if not self._pending and self._pending_error is None:
            await self._fetch()
        if self._pending:
            # Read (and decode) the next records while the database thread applies these.
            # Not once asked to stop: during a rebalance a fetch waits for the revoke
            # handler, which waits for this worker.
            ahead = (
                self._read_ahead() if self._pending_error is None and not self._stopping else None
            )
            try:
                result = await self._db(self.applier.feed, self._pending, gate.hold_at)
            except BaseException:
                await self._discard(ahead)
                raise
            await self._handle(result, gate.version, ahead)
        elif self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            self._unreadable_at = self._pending_error_offset
            raise error
        else:
            await self._idle()
        self._update_state(gate.hold_at)

    async def _fetch(self) -> None:
        options = self.deps.options
        fetched = await self._interruptible(
            self.source.fetch(options.fetch_max_records, options.fetch_timeout_ms)
        )
        if fetched is not None:
            await self._accept(fetched)

    async def _accept(self, fetched: Fetched) -> None:
        self._pending, self._pending_error = fetched.records, fetched.error
        self._pending_error_offset = fetched.error_offset
        if fetched.records:
            self._last_progress = time.monotonic()
        if fetched.seen_scn is not None:
            self.status.saw(fetched.seen_scn)
        position = await self._interruptible(self.source.position())
        if position is not None:
            self._fetch_position = position

    def _read_ahead(self) -> asyncio.Task[Fetched]:
        options = self.deps.options
        task = asyncio.ensure_future(
            self.source.fetch(options.fetch_max_records, options.fetch_timeout_ms)
        )
        self._ahead = task
        return task

    async def _await_ahead(self, ahead: asyncio.Task[Fetched] | None) -> Fetched | None:
        """The read-ahead's records; None if there was none or request_stop cancelled it."""
        if ahead is None:
            self._ahead = None
            return None
        try:
            # self._ahead stays set while we wait, so request_stop can still cancel it: a
            # fetch waiting on a rebalance would otherwise wait for the revoke we block.
            return await ahead
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we are being cancelled ourselves
            return None
        finally:
            self._ahead = None

    async def _discard(self, ahead: asyncio.Task[Fetched] | None) -> None:
        """Drop a read-ahead (a seek follows, so nothing it read is lost)."""
        self._ahead = None
        if ahead is None:
            return
        ahead.cancel()
        with contextlib.suppress(asyncio.CancelledError, DRError):
            await ahead

    async def _handle(
        self, result: FeedResult, gate_version: int, ahead: asyncio.Task[Fetched] | None
    ) -> None:
        self._pending = self._pending[result.consumed :]
        if result.outcome is Outcome.OK:
            fetched = await self._await_ahead(ahead)
            if fetched is not None:
                await self._accept(fetched)
        elif result.outcome is Outcome.HELD:
            self.status.state = StreamState.HOLDING
            extra = await self._await_ahead(ahead)
            if extra is not None:  # keep what was read beyond the held transaction
                self._pending = self._pending + extra.records
                self._pending_error = extra.error
                self._pending_error_offset = extra.error_offset
            if self._until_end:  # a bounded run (replay up to an SCN) ends here
                self._finished = True
                return
            await self.deps.gate.changed(gate_version, 1.0)
        elif result.outcome is Outcome.REWIND:
            assert result.rewind_to is not None
            await self._discard(ahead)
            self._move(result.rewind_to)
            self._pending, self._pending_error = [], None
        elif result.outcome is Outcome.PARK:
            assert result.park is not None
            await self._discard(ahead)
            await self._park(result.park)
        self.status.position = self.applier.position

    def _update_state(self, hold_at: int | None) -> None:
        if self.status.state is StreamState.ERROR:
            return
        applier = self.applier
        held = hold_at is not None and (
            (self.status.state is StreamState.HOLDING and bool(self._pending))
            or (not applier.in_transaction and (applier.watermark_scn or -1) >= hold_at)
        )
        self.status.state = StreamState.HOLDING if held else StreamState.RUNNING
        self.status.watermark_scn = applier.watermark_scn
        self.status.position = applier.position
        end = self.source.known_end()
        if end is not None:
            self._queue(end)

    async def _idle(self) -> None:
        applier = self.applier
        now = time.monotonic()
        if applier.position > applier._cp.next_offset and (
            self._until_end or now - self._last_flush >= self.deps.options.idle_checkpoint_seconds
        ):
            await self._db(applier.flush)
            self._last_flush = now
        if self._until_end and self.end_offset is not None and not applier.in_transaction:
            position = await self.source.position()
            if position >= self.end_offset:
                if now - self._last_progress < self._idle_grace:
                    self.end_offset = await self.source.end()  # keep going while records come
                    return
                await self._db(applier.flush)
                self._finished = True
                return
        if now - self._last_external_check >= EXTERNAL_CHECK_SECONDS:
            self._last_external_check = now
            await self._check_external()

    async def _skipped(self) -> bool:
        """In error: has someone moved the checkpoint past the record (``drapply skip``)?"""
        now = time.monotonic()
        if self._applier is None or now - self._last_external_check < EXTERNAL_CHECK_SECONDS:
            return False
        self._last_external_check = now
        applier = self._applier
        stored = await self._db(applier.session.load_checkpoint, self.stream, applier.position)
        if stored.next_offset == applier.checkpoint_offset:
            return False
        log.warning("the checkpoint was moved while the stream stood in error; following it",
                    extra={"topic": self.stream.topic, "offset": stored.next_offset})
        return True

    async def _check_external(self) -> None:
        """Notice a checkpoint moved by someone else (a replay from the CLI) while idle."""
        applier = self.applier
        if applier.in_transaction:
            return
        stored = await self._db(applier.session.load_checkpoint, self.stream, applier.position)
        if stored.next_offset != applier._cp.next_offset:
            log.info(
                "checkpoint changed outside this worker; following it",
                extra={"topic": self.stream.topic, "offset": stored.next_offset},
            )
            await self._reload()

    # -- records that cannot be read ---------------------------------------------------------
    async def _unreadable(self, exc: ParseError) -> None:
        """A record that cannot be read, or breaks the chunk protocol. First the
        transactions before it are applied one by one (so a stop lands right before its
        transaction, not before its group); then, under the schema's ``park`` policy (the
        first ``[[policies]]`` rule covering all of its tables), it is parked with the
        rest of its transaction, otherwise the stream stops in ``error`` before it."""
        offset, self._unreadable_at = self._unreadable_at, None
        if offset is None and isinstance(exc.where.get("offset"), int):
            offset = int(exc.where["offset"])
        applier = self._applier
        if applier is None or offset is None:
            self._fail(exc)
            return
        through = applier.isolating_through
        if through is None or through < offset:
            # Everything before its transaction is applied first, one transaction per
            # database transaction: only the broken transaction is left open.
            rewind = await self._db(applier.isolate_through, offset, str(exc))
            await self._discard(self._ahead)
            self._move(rewind)
            self._pending, self._pending_error = [], None
            return
        await self._db(applier.abort)  # the broken transaction's first records
        policy = applier.policies.for_table(self.stream.owner, "*")
        if policy.policy is ConflictPolicy.PARK:
            await self._park_unreadable(offset, str(exc), policy.stop_after_park)
        else:  # stopped right before its transaction: 'drapply skip' can move past it
            self._fail(exc)

    async def _park_unreadable(self, offset: int, error: str, stop_after: bool) -> None:
        self._move(self.applier.checkpoint_offset)
        row = await self._parking.unreadable(offset, error, self.applier)
        log.warning(
            "parked a transaction holding a record that cannot be read",
            extra={"topic": self.stream.topic, "partition": self.stream.partition,
                   "offset": offset, "xid": row.xid, "first": row.first_offset,
                   "last": row.last_offset, "error": error},
        )  # fmt: skip
        self._parked(row, stop_after)

    # -- parking -------------------------------------------------------------------------------
    async def _park(self, request: ParkRequest) -> None:
        self._move(request.first_offset)
        self._pending, self._pending_error = [], None
        try:
            row = await self._parking.transaction(request, self.applier)
        except ParseError:  # it holds a record that cannot be read: _unreadable parks it
            self._unreadable_at = self._parking.error_offset
            raise
        self._parked(row, request.stop_after)

    def _parked(self, row: ParkedRow, stop_after: bool) -> None:
        self._move(row.last_offset + 1)
        self._pending, self._pending_error = [], None
        self.status.parked += 1
        if self.deps.metrics is not None:
            self.deps.metrics.parked.labels(self.stream.owner).inc()
        if stop_after:
            self._fail(ApplyHalted("parked a transaction and after_park = stop", xid=row.xid))
