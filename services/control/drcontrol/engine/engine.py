"""The engine loop: expire silent requests, gather evidence, claim and run approved work.

One operation runs at a time (a single slot, like Patroni's async executor) while the
loop keeps expiring and collecting. Claims are leases renewed by a heartbeat; a process
killed mid-run leaves a lease that runs out, and the next process resumes the run from
the stored step states (each step checks before it acts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from drcommon.errors import DRError

from drcontrol.decisions import window_closed
from drcontrol.engine.runner import ENGINE_ACTOR, EngineDeps, Runner
from drcontrol.evidence import evidence_digest
from drcontrol.model import WAITING_STATES, Operation, OpState
from drcontrol.opstore import mutate

log = logging.getLogger(__name__)
RUNNABLE = frozenset({OpState.APPROVED, OpState.RUNNING})


class Engine:
    """Owns the loop task, the runner slot and the lease heartbeat."""

    def __init__(self, deps: EngineDeps) -> None:
        self.deps = deps
        self.runner = Runner(deps)
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._slot: asyncio.Task[None] | None = None
        self._slot_op: str | None = None
        self._collecting: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name="engine")
        self._loop_task.add_done_callback(_report_death)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        running = self.busy_with
        tasks = [t for t in (self._loop_task, self._slot, *self._collecting.values()) if t]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if running is not None:
            # Hand the run over at once instead of making the next process wait out the lease.
            with contextlib.suppress(DRError):
                await self.deps.storage.release_operation(running, self.deps.owner)

    def wake(self) -> None:
        """Look for work now (an approval or a request just arrived)."""
        self._wake.set()

    @property
    def busy_with(self) -> str | None:
        return self._slot_op if self._slot and not self._slot.done() else None

    async def _loop(self) -> None:
        interval = self.deps.settings.engine.poll_interval_seconds
        while not self._stopping:
            try:
                await self.tick()
            except DRError as exc:
                log.warning("engine tick failed: %s", exc)
            except Exception:
                log.exception("engine tick failed unexpectedly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()

    async def tick(self) -> None:
        """One pass: expire, collect evidence, start the next run if the slot is free."""
        deps = self.deps
        now = deps.clock()
        for op in await deps.storage.list_operations(states=WAITING_STATES, limit=500):
            if window_closed(op, now):
                await self._expire(op.id)
            elif op.state is OpState.PRECHECKING and op.id not in self._collecting:
                task = asyncio.create_task(self._collect(op.id), name=f"evidence-{op.id}")
                self._collecting[op.id] = task
                task.add_done_callback(self._forget_collector(op.id))
        if self._slot is not None and not self._slot.done():
            return
        runnable = await deps.storage.list_operations(states=RUNNABLE, limit=100)
        for op in sorted(runnable, key=lambda o: (o.confirmed_at or o.requested_at, o.id)):
            if await deps.storage.claim_operation(op.id, deps.owner, now,
                                                  deps.settings.engine.lease_seconds):
                self._slot_op = op.id
                self._slot = asyncio.create_task(self._run(op.id), name=f"run-{op.id}")
                self._slot.add_done_callback(_report_death)
                return

    def _forget_collector(self, op_id: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_: asyncio.Task[None]) -> None:
            self._collecting.pop(op_id, None)

        return forget

    async def _run(self, op_id: str) -> None:
        work = asyncio.create_task(self.runner.drive(op_id), name=f"drive-{op_id}")
        beat = asyncio.create_task(self._heartbeat(op_id, work), name=f"lease-{op_id}")
        try:
            await work
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            if work.cancelled():
                log.warning("run of %s interrupted", op_id)
            self._slot_op = None
            self._wake.set()

    async def _heartbeat(self, op_id: str, work: asyncio.Task[None]) -> None:
        deps = self.deps
        lease = deps.settings.engine.lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            try:
                renewed = await deps.storage.claim_operation(op_id, deps.owner, deps.clock(),
                                                             lease)
                if renewed:
                    for step in await deps.storage.get_steps(op_id):
                        if step.claimed_by == deps.owner:
                            await deps.storage.claim_step(op_id, step.index, deps.owner,
                                                          deps.clock(), lease)
            except DRError as exc:
                log.warning("lease renewal failed: %s", exc)
                continue
            if not renewed:
                log.error("lost the lease on %s; stopping work on it", op_id)
                work.cancel()
                return

    async def _collect(self, op_id: str) -> None:
        deps = self.deps
        now = deps.clock()
        if not await deps.storage.claim_operation(op_id, deps.owner, now, 60.0):
            return
        try:
            op = await deps.storage.get_operation(op_id)
            if op is None or op.state is not OpState.PRECHECKING:
                return
            evidence = await deps.collector.collect(op)
            digest = evidence_digest(evidence)
            # Only appha's per-application failover may be configured to need nobody;
            # even then it runs only on passing evidence (settings refuse 0 elsewhere).
            automatic = (deps.settings.approvals.policy(op.type).required_approvals == 0
                         and evidence.passed())

            def change(current: Operation) -> Operation | None:
                if current.state is not OpState.PRECHECKING:
                    return None
                update: dict[str, object] = {
                    "state": OpState.AWAITING_APPROVAL, "evidence": evidence,
                    "evidence_digest": digest}
                if automatic:
                    update.update(state=OpState.APPROVED, confirmed_at=deps.clock())
                return current.model_copy(update=update)

            saved = await mutate(deps.storage, op_id, change)
            if saved.evidence_digest == digest and automatic:
                await deps.recorder.record(
                    "policy", "operation.approved", op_id, digest=digest, automatic=True,
                    reason=f"approvals.{op.type.value}.required_approvals = 0")
                self.wake()
            if saved.evidence_digest == digest:
                await deps.recorder.record(
                    ENGINE_ACTOR, "evidence.collected", op_id, digest=digest,
                    passed=evidence.passed(),
                    failures=[c.name for c in evidence.failures()],
                    loss=evidence.loss.model_dump(mode="json"))
                deps.bus.publish("operation", {"id": op_id, "state": saved.state.value})
                deps.notify("operation.awaiting_approval", {
                    "operation": op_id, "type": saved.type.value, "digest": digest,
                    "passed": evidence.passed()})
        except DRError as exc:
            log.warning("evidence collection for %s failed: %s", op_id, exc)
        finally:
            await deps.storage.release_operation(op_id, deps.owner)

    async def _expire(self, op_id: str) -> None:
        now = self.deps.clock()

        def change(current: Operation) -> Operation | None:
            if not window_closed(current, now):
                return None
            return current.model_copy(update={
                "state": OpState.EXPIRED, "finished_at": now,
                "outcome": "approval window closed without confirmation; silence meant no"})

        op = await mutate(self.deps.storage, op_id, change)
        if op.state is OpState.EXPIRED and op.finished_at == now:
            await self.deps.recorder.record(ENGINE_ACTOR, "operation.expired", op_id,
                                            outcome="rejected", expires_at=op.expires_at)
            self.deps.bus.publish("operation", {"id": op_id, "state": op.state.value})
            self.deps.notify("operation.expired", {"operation": op_id, "type": op.type.value})


def _report_death(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("engine task %s died", task.get_name(), exc_info=exc)
