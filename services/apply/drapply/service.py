"""``drapply run``: the apply service.

A consumer group assigns the schema partitions (round-robin, so two instances split the
schemas); on assignment each partition gets a :class:`StreamWorker` that seeks to the
checkpoint stored in the target (Kafka's committed offsets are not used), on revocation
its worker finishes its step and stops. The gate (hold/stop) is persisted in the target
so a restart keeps holding. The admin API (:mod:`drapply.api`) records intent on the
gate or starts a replay; the workers act.

Faults are waited out, never exited on: the admin API serves from the start; reading the
gate (the database) and starting the consumer (Kafka) are retried with capped backoff
until they answer; a failing topic refresh or end-offset query is a ``kafka`` fault
until one succeeds again; a stream's own waits are in its status. ``/health`` is
``degraded`` while something is waited out, ``failing`` when a schema stopped on an
error (a person must act). The consumer joins its group with a static member id
(``apply.group_instance_id``), so a restarted instance gets its partitions back at once
instead of after the session timeout of the member it replaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.errors import KafkaError
from drcommon.errors import DRError
from drcommon.faults import FaultBoard, FaultMetrics
from drcommon.http import Health, HttpServer
from drcommon.kafka import TopicSpec, ensure_topics, unreachable
from drcommon.service import ServiceBase, serve_until_signal

from drapply.adapters.base import Checkpoint, Stream
from drapply.adapters.registry import open_target
from drapply.checks import DataChecks
from drapply.deadletter import DeadLetters
from drapply.gate import Gate
from drapply.metrics import ApplyMetrics, ReportingObserver
from drapply.parked import ParkedWork
from drapply.replay import ReplayRequest, locate, new_audit, replay_into, replay_topics
from drapply.settings import PRIMARY, ApplySettings
from drapply.source import PartitionSource, stream_consumer
from drapply.status import (
    StreamState,
    StreamStatus,
    fault_documents,
    overall,
    service_health,
    utcnow,
)
from drapply.wiring import (
    applier_factory,
    explicit_schemas,
    naming_for,
    schema_topics,
    spill_for,
    stream_for,
    topic_names,
)
from drapply.worker import MAX_BACKOFF, StreamWorker, WorkerDeps

log = logging.getLogger(__name__)
T = TypeVar("T")
HOLD_KEY = "hold_at_scn"
STOP_KEY = "stopped"
# A revoked worker gets REVOKE_WAIT to finish its step; the group waits a little longer
# for us to rejoin before it hands our partitions on (aiokafka's default is the session
# timeout, shorter than one slow database step). Both stay under the 40 s request timeout.
REVOKE_WAIT = 25.0
REBALANCE_TIMEOUT_MS = 30_000
REVOKE_REPORT_EVERY = 2.0
PROBE_SECONDS = 2.0  # how often the topics' ends are asked for (queue depth, Kafka up)
PROBE_TIMEOUT = 5.0  # an answer slower than this is a kafka fault


async def _kafka_call(
    settings: ApplySettings, call: Awaitable[T], timeout: float = PROBE_TIMEOUT
) -> T:
    """A consumer or admin call with a deadline; Kafka's errors become ours (retriable)."""
    try:
        return await asyncio.wait_for(call, timeout)
    except (KafkaError, TimeoutError, OSError) as exc:
        raise unreachable(settings.kafka, exc) from None


class _Observer(ReportingObserver):
    """Also completes replay audits when every replayed stream is back where it was."""

    def __init__(self, service: ApplyService) -> None:
        super().__init__(service.metrics, service.statuses)
        self._service = service

    def replay_done(self, stream: Stream, checkpoint: Checkpoint) -> None:
        super().replay_done(stream, checkpoint)
        self._service.loop.call_soon_threadsafe(self._service.replay_stream_done, stream.topic)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, service: ApplyService) -> None:
        self._service = service

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._service.revoke(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._service.assign(assigned)


def awaiting(task: asyncio.Task[Any]) -> str:
    """Where a suspended task waits: its await chain, outermost first (task.get_stack()
    shows only the outermost frame of a suspended coroutine)."""
    places = []
    step: Any = task.get_coro()
    while step is not None:
        frame = getattr(step, "cr_frame", None) or getattr(step, "gi_frame", None)
        if frame is not None:
            places.append(f"{frame.f_code.co_qualname}:{frame.f_lineno}")
        step = getattr(step, "cr_await", None) or getattr(step, "gi_yieldfrom", None)
    return " > ".join(places) or "unknown"


async def _stop_worker(tp: TopicPartition, task: asyncio.Task[None]) -> None:
    """Wait for a worker asked to stop; say where it is while it keeps us waiting (the
    group's rebalance waits for us), and cancel it after REVOKE_WAIT."""
    waited = 0.0
    while not task.done() and waited < REVOKE_WAIT:
        await asyncio.wait([task], timeout=REVOKE_REPORT_EVERY)
        waited += REVOKE_REPORT_EVERY
        if not task.done():
            log.warning(
                "waiting for a revoked stream's worker to stop",
                extra={"topic": tp.topic, "partition": tp.partition, "seconds": waited,
                       "at": awaiting(task)},
            )  # fmt: skip
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


class ApplyService(ServiceBase):
    """The long-running apply process."""

    def __init__(self, settings: ApplySettings) -> None:
        self.settings = settings
        self.names = topic_names(settings)
        self.metrics = ApplyMetrics()
        self.statuses: dict[str, StreamStatus] = {}
        self.target = open_target(settings.target)
        self.naming = naming_for(settings, settings.target)
        self.gate = Gate()
        self.instance = f"{socket.gethostname()}-{os.getpid()}"
        self.dead_letters = DeadLetters(settings.kafka, self.names.dead_letters, self.instance)
        self.parked = ParkedWork(settings)
        self.checks = DataChecks(settings, self.metrics.registry, lambda: self.gate.state.stopped)
        self.workers: dict[TopicPartition, tuple[StreamWorker, asyncio.Task[None]]] = {}
        self.faults = FaultBoard()  # the process's own: reaching Kafka, reading the gate
        self._fault_metrics = FaultMetrics(self.metrics.registry)
        self.http: HttpServer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._topics: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._ended: asyncio.Future[None] | None = None
        self._replays: dict[str, set[str]] = {}
        self._deps: WorkerDeps | None = None
        self.loop = asyncio.get_event_loop_policy().get_event_loop()

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Serve the admin API, then connect in the background (see the module doc)."""
        self.loop = asyncio.get_running_loop()
        self._ended = self.loop.create_future()
        self._deps = WorkerDeps(
            target=self.target,
            make_applier=applier_factory(self.settings, self.settings.target, _Observer(self)),
            gate=self.gate,
            options=self.settings.apply,
            dead_letters=self.dead_letters,
            metrics=self.metrics,
        )
        await self._start_http()
        self._spawn(self._run(), "topics")
        self._spawn(self._gauge_loop(), "gauges")

    async def _run(self) -> None:
        """Read the gate, start the consumer (each retried until it answers), follow topics."""
        hold, stopped = await self._until_up("database", lambda: asyncio.to_thread(self._load_gate))
        self.gate.load(hold, stopped)
        await self.checks.start()  # the database answered: read the last verification
        explicit = explicit_schemas(self.settings)
        if explicit:
            specs = [TopicSpec(self.names.schema(s)) for s in explicit]
            await self._until_up("kafka", lambda: _kafka_call(
                self.settings, ensure_topics(self.settings.kafka, specs), 60.0))  # fmt: skip
        self._consumer = await self._until_up("kafka", self._start_consumer)
        log.info(
            "apply started",
            extra={"instance": self.instance, "group": self.settings.apply.group_id,
                   "member": self.member_id, "hold_at_scn": hold, "stopped": stopped},
        )  # fmt: skip
        await self._topic_loop()

    async def _until_up(self, part: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` until it answers; each failure a fault of ``part`` (capped backoff)."""
        backoff = self.settings.apply.retry_backoff_seconds
        while True:
            try:
                result = await call()
            except DRError as exc:
                if not exc.retriable:
                    raise
                self._fault(part, exc)
            else:
                self._fault_over(part)
                return result
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _start_consumer(self) -> AIOKafkaConsumer:
        consumer = self._make_consumer()
        try:
            await asyncio.wait_for(consumer.start(), 30)
        except (OSError, TimeoutError, Exception) as exc:
            await consumer.stop()
            raise unreachable(self.settings.kafka, exc) from None
        self._consumer = consumer
        try:
            await self._refresh_topics()
        except DRError:
            self._consumer = None
            await consumer.stop()
            raise
        return consumer

    @property
    def member_id(self) -> str | None:
        """The static group member id (None: dynamic membership)."""
        configured = self.settings.apply.group_instance_id
        port = self.settings.http.port
        if configured is None:  # a port chosen at random is not stable: dynamic then
            return f"drapply-{socket.gethostname()}-{port}" if port else None
        return configured or None

    def _make_consumer(self) -> AIOKafkaConsumer:
        options = self.settings.apply
        return stream_consumer(
            self.settings.kafka,
            group_id=options.group_id,
            group_instance_id=self.member_id,
            client_id=f"drapply-{self.instance}",
            partition_assignment_strategy=(RoundRobinPartitionAssignor,),
            session_timeout_ms=options.session_timeout_ms,
            heartbeat_interval_ms=options.heartbeat_interval_ms,
            rebalance_timeout_ms=max(REBALANCE_TIMEOUT_MS, options.session_timeout_ms),
        )

    def _fault(self, part: str, exc: BaseException) -> None:
        change = self.faults.report(part, exc, now=time.time())
        log.log(logging.ERROR if change.line is not None else logging.WARNING,
                "waiting for the %s", part,
                extra={"part": part, "error": str(exc), "attempts": change.fault.attempts})

    def _fault_over(self, part: str) -> None:
        change = self.faults.clear(part, now=time.time())
        if change is not None:
            log.warning(change.line, extra={"part": part})

    async def _start_http(self) -> None:
        from drapply.api import build_app

        http = self.settings.http
        token = http.callers(key="http.service_token")
        self.http = HttpServer(
            build_app(self, token),
            http.host,
            http.port,
            str(http.tls_cert_file) if http.tls_cert_file else None,
            str(http.tls_key_file) if http.tls_key_file else None,
        )
        await self.http.start()

    def _spawn(self, body: Any, name: str) -> None:
        task = asyncio.create_task(body, name=name)
        task.add_done_callback(self._task_ended)
        self._tasks.append(task)

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._ended is None or self._ended.done():
            return
        exc = task.exception()
        if exc is not None:
            log.error("background task failed", exc_info=exc, extra={"task": task.get_name()})
            self._ended.set_exception(exc)

    async def wait(self) -> None:
        assert self._ended is not None
        await self._ended

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.checks.stop()
        await self.revoke(set(self.workers))
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        await self.dead_letters.stop()
        if self.http is not None:
            await self.http.stop()
            self.http = None

    # -- topics and partitions -----------------------------------------------------------------
    async def _refresh_topics(self) -> None:
        assert self._consumer is not None
        found = schema_topics(
            self.settings, await _kafka_call(self.settings, self._consumer.topics())
        )
        if found and found.keys() != self._topics.keys():
            log.info("subscribing", extra={"topics": sorted(found)})
            self._consumer.subscribe(topics=sorted(found), listener=_Listener(self))
        self._topics = found

    async def _topic_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.apply.topic_refresh_seconds)
            try:
                await self._refresh_topics()
            except DRError as exc:
                self._fault("kafka", exc)
            else:
                self._fault_over("kafka")

    def assign(self, assigned: set[TopicPartition]) -> None:
        """Start a worker per newly assigned partition (it seeks to its checkpoint)."""
        assert self._consumer is not None and self._deps is not None
        for tp in sorted(assigned):
            if tp in self.workers:
                continue
            owner = self.names.owner_of(tp.topic)
            if owner is None:
                continue
            stream = stream_for(self.naming, tp.topic, owner, tp.partition)
            status = StreamStatus(owner, tp.topic, tp.partition)
            self.statuses[owner] = status
            source = PartitionSource(
                self._consumer, tp.topic, tp.partition, spill_for(self.settings.apply)
            )
            worker = StreamWorker(stream, source, self._deps, status)
            task = asyncio.create_task(worker.run(), name=f"stream-{owner}")
            task.add_done_callback(functools.partial(self._worker_ended, status=status))
            self.workers[tp] = (worker, task)
            log.info("partition assigned", extra={"topic": tp.topic, "partition": tp.partition})

    def _worker_ended(self, task: asyncio.Task[None], *, status: StreamStatus) -> None:
        if not task.cancelled() and task.exception() is not None:
            status.state = StreamState.ERROR
            status.error = f"worker crashed: {task.exception()!r}"
            log.error("stream worker crashed", exc_info=task.exception())

    async def revoke(self, revoked: set[TopicPartition]) -> None:
        """Stop the workers of revoked partitions; each rolls back what is uncommitted."""
        stopping = [(tp, *self.workers.pop(tp)) for tp in revoked if tp in self.workers]
        for _tp, worker, _task in stopping:
            worker.request_stop()
        # Side by side: the group waits for the slowest, not for the sum.
        await asyncio.gather(*(_stop_worker(tp, task) for tp, _worker, task in stopping))
        for tp, worker, _task in stopping:
            self.statuses.pop(worker.stream.owner, None)
            log.info("partition revoked", extra={"topic": tp.topic, "partition": tp.partition})

    # -- gate --------------------------------------------------------------------------------
    def _load_gate(self) -> tuple[int | None, bool]:
        session = self.target.connect(admin=True)
        try:
            hold = session.get_state(HOLD_KEY)
            stopped = session.get_state(STOP_KEY)
        finally:
            session.close()
        return (int(hold) if hold is not None else None), stopped == "true"

    def _save_gate(self) -> None:
        state = self.gate.state
        session = self.target.connect(admin=True)
        try:
            session.set_state(HOLD_KEY, None if state.hold_at is None else str(state.hold_at))
            session.set_state(STOP_KEY, "true" if state.stopped else None)
        finally:
            session.close()

    async def hold(self, scn: int) -> None:
        self.gate.hold(scn)
        await asyncio.to_thread(self._save_gate)
        log.warning("hold requested", extra={"scn": scn})

    async def resume(self) -> None:
        self.gate.resume()
        await asyncio.to_thread(self._save_gate)
        log.warning("resume requested")

    async def stop_applying(self) -> None:
        self.gate.stop()
        await asyncio.to_thread(self._save_gate)
        log.warning("stop requested")

    # -- status --------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        now = utcnow()
        streams = list(self.statuses.values())
        gate = self.gate.state
        shared = self.faults.get("kafka")
        health = self.health()
        return {
            "state": overall([s.state for s in streams], stopped=gate.stopped,
                             hold_at=gate.hold_at),
            "health": health.status.value,
            "faults": self.fault_documents(now.timestamp()),
            "schemas": {s.schema: s.document(now, shared) for s in streams},
            "measured_at": now.isoformat(),
            "hold_at_scn": gate.hold_at,
            "instance": self.instance,
            "verification": self.checks.verification(),
            "member_id": self.member_id,
        }  # fmt: skip

    def fault_documents(self, now: float) -> list[dict[str, Any]]:
        """The process's faults, then each stream's (with its schema)."""
        return fault_documents(self.faults, list(self.statuses.values()), now)

    def health(self) -> Health:
        """See :func:`drapply.status.service_health`."""
        return service_health(
            list(self.statuses.values()), self.faults, time.time(),
            {"instance": self.instance, "streams": len(self.statuses)},
            connecting=self._consumer is None, stopped=self.gate.state.stopped,
        )  # fmt: skip

    async def _gauge_loop(self) -> None:
        """Every second: the queue behind each stream from the topics' ends (which also
        tells whether Kafka answers), then the metrics."""
        m = self.metrics
        last_probe = 0.0
        while True:
            if time.monotonic() - last_probe >= PROBE_SECONDS:
                last_probe = time.monotonic()
                try:
                    await self._measure()
                except Exception:  # a bug here must not stop apply, nor go unseen
                    log.exception("measuring the queues failed")
            now = utcnow()
            shared = self.faults.get("kafka")
            for s in list(self.statuses.values()):
                m.lag_scn.labels(s.schema).set(s.lag_scn() or 0)
                m.lag_seconds.labels(s.schema).set(
                    s.lag_seconds(now, bool(shared or s.faults.active())) or 0)
                m.queue_depth.labels(s.schema).set(s.queue_depth or 0)
                for state in StreamState:
                    m.state.labels(s.schema, state.value).set(1 if s.state is state else 0)
            self._fault_metrics.update(self.faults, now.timestamp())
            await asyncio.sleep(1.0)

    async def _measure(self) -> None:
        """The end of every assigned partition, in one request: queue depths, and a
        ``kafka`` fault while Kafka does not answer."""
        consumer, workers = self._consumer, dict(self.workers)
        if consumer is None or not workers:
            return
        try:
            ends = await _kafka_call(self.settings, consumer.end_offsets(list(workers)))
        except DRError as exc:
            self._fault("kafka", exc)
            return
        self._fault_over("kafka")
        for tp, (worker, _task) in workers.items():
            end = ends.get(tp)
            if end is not None:
                worker._queue(int(end))

    # -- replay --------------------------------------------------------------------------------
    async def replay(self, request: ReplayRequest, operation_id: str | None = None) -> str:
        """Start a replay; returns its audit id (the audit row records the result). With
        control's operation id the audit id is that id, and asking again with it answers
        the first replay instead of starting another."""
        request.check()
        target = self.settings.target_named(request.target)
        if operation_id is not None and await asyncio.to_thread(_has_audit, target, operation_id):
            log.info("replay already requested by this operation", extra={"audit_id": operation_id})
            return operation_id
        topics = await replay_topics(self.settings, request)
        ranges = await locate(self.settings, topics, request)
        audit = new_audit(request, ranges, operation_id)
        await asyncio.to_thread(_add_audit, target, audit)
        log.warning("replay requested", extra={"audit_id": audit.audit_id,
                                               "requested_by": request.requested_by})  # fmt: skip
        if request.target != PRIMARY:
            self._spawn(self._replay_elsewhere(request, topics, ranges, audit.audit_id), "replay")
            return audit.audit_id
        pending = set()
        for topic, (start, _end) in ranges.items():
            entry = self.workers.get(TopicPartition(topic, 0))
            if entry is None:
                raise DRError("schema is not assigned to this instance", topic=topic)
            moved = await entry[0].rewind(start)
            if moved.replay_until is not None and moved.next_offset < moved.replay_until:
                pending.add(topic)
        self._replays[audit.audit_id] = pending
        if not pending:
            await asyncio.to_thread(_finish_audit, target, audit.audit_id, "completed", {})
        return audit.audit_id

    def replay_stream_done(self, topic: str) -> None:
        for audit_id, pending in list(self._replays.items()):
            pending.discard(topic)
            if not pending:
                del self._replays[audit_id]
                self._spawn(
                    asyncio.to_thread(
                        _finish_audit, self.settings.target, audit_id, "completed", {}
                    ),
                    "audit",
                )

    async def _replay_elsewhere(
        self,
        request: ReplayRequest,
        topics: dict[str, str],
        ranges: dict[str, tuple[int, int]],
        audit_id: str,
    ) -> None:
        target = self.settings.target_named(request.target)
        try:
            outcome = await replay_into(self.settings, request, topics, ranges)
            failed = any(v.get("error") for v in outcome.values())
            result: tuple[str, dict[str, Any]] = ("failed" if failed else "completed", outcome)
        except (DRError, ValueError) as exc:
            result = ("failed", {"error": str(exc)})
        await asyncio.to_thread(_finish_audit, target, audit_id, *result)


def _has_audit(target: Any, audit_id: str) -> bool:
    session = open_target(target).connect(admin=True)
    try:
        return any(a.audit_id == audit_id for a in session.audits(limit=1_000_000))
    finally:
        session.close()


def _add_audit(target: Any, audit: Any) -> None:
    session = open_target(target).connect(admin=True)
    try:
        session.add_audit(audit)
    finally:
        session.close()


def _finish_audit(target: Any, audit_id: str, result: str, outcome: dict[str, Any]) -> None:
    session = open_target(target).connect(admin=True)
    try:
        session.finish_audit(audit_id, result, outcome)
    finally:
        session.close()


async def serve(service: ApplyService) -> int:
    """Run until SIGTERM/SIGINT (exit 0) or until the service fails (exit 1)."""
    await serve_until_signal(service)
    return 0
