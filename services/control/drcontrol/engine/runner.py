"""Driving one operation's runbook: step by step, state persisted before and after each
attempt, leases renewed, a failure stopping the run with its reason."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from drcommon.errors import DRError

from drcontrol.engine.context import StepContext, StepOutcome
from drcontrol.engine.kinds import KINDS
from drcontrol.engine.preconditions import first_unmet
from drcontrol.engine.report import build_report
from drcontrol.errors import FatalStepError, StepFailed
from drcontrol.events import EventBus
from drcontrol.evidence import EvidenceCollector
from drcontrol.model import STEP_DONE, Operation, OpState, StepRecord, StepState
from drcontrol.opstore import load, mutate
from drcontrol.peers.base import Peers
from drcontrol.recorder import Recorder
from drcontrol.runbooks.model import Runbook, RunbookStep
from drcontrol.settings import ControlSettings
from drcontrol.sitegroup import SiteGroup
from drcontrol.storage.base import Storage

log = logging.getLogger(__name__)
Notify = Callable[[str, dict[str, Any]], None]
ENGINE_ACTOR = "engine"


@dataclass(frozen=True, slots=True)
class EngineDeps:
    """What the engine works with (built once by the service)."""

    storage: Storage
    recorder: Recorder
    bus: EventBus
    site_group: SiteGroup
    collector: EvidenceCollector
    peers: Peers
    runbooks: dict[str, Runbook]
    settings: ControlSettings
    clock: Callable[[], float]
    notify: Notify
    owner: str


def initial_steps(op: Operation, book: Runbook) -> list[StepRecord]:
    """The step rows of a run, in order, all pending."""
    return [
        StepRecord(operation_id=op.id, index=index, id=spec.id, kind=spec.kind, title=spec.title)
        for index, spec in enumerate(book.steps_for(op.is_drill))
    ]


class Runner:
    """Runs one operation to its end or to the first failed step."""

    def __init__(self, deps: EngineDeps) -> None:
        self.deps = deps

    async def _save_step(self, step: StepRecord) -> StepRecord:
        await self.deps.storage.save_step(step)
        self.deps.bus.publish("step", step.model_dump(mode="json", exclude={"output"}))
        return step

    async def _finish_step(self, step: StepRecord, state: StepState, *, note: str | None = None,
                           output: dict[str, Any] | None = None, error: str | None = None,
                           ) -> StepRecord:
        now = self.deps.clock()
        done = step.model_copy(update={
            "state": state, "finished_at": now, "started_at": step.started_at or now,
            "note": note, "error": error, "output": {**step.output, **(output or {})}})
        await self._save_step(done)
        await self.deps.recorder.record(
            ENGINE_ACTOR, f"step.{state.value}", f"{step.operation_id}/{step.id}",
            outcome="failed" if state is StepState.FAILED else "ok",
            attempts=step.attempts, note=note, error=error)
        return done

    async def drive(self, op_id: str) -> None:
        """Run ``op_id`` from where its stored state says it is."""
        deps = self.deps
        op = await load(deps.storage, op_id)
        if op.state is OpState.APPROVED:
            op = await self._start(op)
        if op.state is not OpState.RUNNING:
            return
        book = deps.runbooks[op.runbook]
        specs = book.steps_for(op.is_drill)
        await deps.storage.put_steps(initial_steps(op, book))
        steps = await deps.storage.get_steps(op.id)
        if [s.id for s in steps] != [spec.id for spec in specs]:
            # The runbook file changed under a run: never guess which stored step is which.
            await self.finish(op.id, OpState.FAILED,
                              f"runbook {op.runbook} changed since this run started (stored "
                              f"steps {[s.id for s in steps]}); nothing more was done")
            return
        outputs = {s.id: dict(s.output) for s in steps if s.state in STEP_DONE}
        kinds_done = {s.kind: dict(s.output) for s in steps if s.state in STEP_DONE}
        for spec, step in zip(specs, steps, strict=True):
            if step.state in STEP_DONE:
                continue
            current = await load(deps.storage, op.id)
            if current.state is not OpState.RUNNING:
                return
            if not await deps.storage.claim_step(op.id, step.index, deps.owner, deps.clock(),
                                                 deps.settings.engine.lease_seconds):
                log.warning("step lease held elsewhere", extra={"operation": op.id,
                                                                "step": step.id})
                return
            try:
                done = await self._run_step(current, spec, step, outputs, kinds_done)
            except FatalStepError as exc:
                await self.finish(op.id, OpState.FAILED, exc.message)
                return
            except StepFailed as exc:
                await self._stop_at(op.id, step, exc.message)
                return
            outputs[spec.id] = dict(done.output)
            kinds_done[spec.kind] = dict(done.output)
        await self.finish(op.id, OpState.SUCCEEDED, "every step done")

    async def _start(self, op: Operation) -> Operation:
        now = self.deps.clock()

        def change(current: Operation) -> Operation | None:
            if current.state is not OpState.APPROVED:
                return None
            return current.model_copy(update={"state": OpState.RUNNING, "started_at": now})

        started = await mutate(self.deps.storage, op.id, change)
        if started.state is OpState.RUNNING and started.started_at == now:
            await self.deps.recorder.record(ENGINE_ACTOR, "run.started", op.id,
                                            runbook=op.runbook, drill=op.is_drill)
            self.deps.bus.publish("operation", {"id": op.id, "state": started.state.value})
        return started

    async def _run_step(self, op: Operation, spec: RunbookStep, step: StepRecord,
                        outputs: dict[str, dict[str, Any]],
                        kinds_done: dict[str, dict[str, Any]]) -> StepRecord:
        mode = spec.drill if op.is_drill else "run"
        if mode == "skip":
            return await self._finish_step(step, StepState.SKIPPED,
                                           note="skipped in a drill (users must not notice)")
        resumed = step.state is StepState.RUNNING
        if not resumed:
            unmet = await first_unmet(spec.preconditions, self.deps.peers)
            if unmet and spec.on_unmet == "skip":
                return await self._finish_step(step, StepState.SKIPPED,
                                               note=f"precondition unmet: {unmet}")
            if unmet:
                await self._finish_step(step, StepState.FAILED,
                                        error=f"precondition unmet: {unmet}")
                raise StepFailed(f"step {spec.id}: precondition unmet: {unmet}")
        else:
            await self.deps.recorder.record(ENGINE_ACTOR, "step.resumed", f"{op.id}/{step.id}",
                                            previous_owner=step.claimed_by)
        return await self._attempts(op, spec, step, outputs, kinds_done, resumed,
                                    "simulate" if mode == "simulate" else "run")

    async def _attempts(self, op: Operation, spec: RunbookStep, step: StepRecord,
                        outputs: dict[str, dict[str, Any]], kinds_done: dict[str, dict[str, Any]],
                        resumed: bool, mode: str) -> StepRecord:
        deps = self.deps
        while True:
            if not resumed:
                step = await self._save_step(step.model_copy(update={
                    "state": StepState.RUNNING, "attempts": step.attempts + 1, "error": None,
                    "started_at": step.started_at or deps.clock()}))
            resumed = False
            holder = [step]
            progress = self._progress_saver(holder)
            ctx = StepContext(
                op=op, step=step, spec=spec, mode="simulate" if mode == "simulate" else "run",
                outputs=outputs, kinds_done=kinds_done, peers=deps.peers,
                site_group=deps.site_group, collector=deps.collector, hooks=deps.settings.hooks,
                apps=deps.settings.runbooks.apps, clock=deps.clock,
                poll_interval=deps.settings.engine.step_poll_interval_seconds,
                save_progress=progress, automation=deps.settings.automation)
            reason = await self._attempt(ctx, spec)
            step = holder[0]
            if isinstance(reason, StepOutcome):
                state = StepState.SIMULATED if mode == "simulate" else StepState.SUCCEEDED
                return await self._finish_step(step, state, note=reason.note,
                                               output=reason.output)
            if step.attempts >= spec.attempts:
                await self._finish_step(step, StepState.FAILED, error=reason)
                raise StepFailed(f"step {spec.id} failed after {step.attempts} attempt(s): "
                                 f"{reason}")
            step = await self._save_step(step.model_copy(update={
                "error": f"attempt {step.attempts} failed: {reason}; retrying"}))
            await asyncio.sleep(deps.settings.engine.retry_delay_seconds)

    def _progress_saver(
        self, holder: list[StepRecord]
    ) -> Callable[[dict[str, Any]], Awaitable[None]]:
        """Persist partial output (an intent) before a step acts; ``holder[0]`` follows."""

        async def progress(extra: dict[str, Any]) -> None:
            holder[0] = holder[0].model_copy(update={"output": {**holder[0].output, **extra}})
            await self._save_step(holder[0])

        return progress

    async def _attempt(self, ctx: StepContext, spec: RunbookStep) -> StepOutcome | str:
        """One attempt: the outcome, or why it failed (fatal failures propagate)."""
        try:
            return await asyncio.wait_for(KINDS[spec.kind](ctx), spec.timeout_seconds)
        except FatalStepError as exc:
            await self._finish_step(ctx.step, StepState.FAILED, error=exc.message)
            raise
        except TimeoutError:
            return f"timed out after {spec.timeout_seconds:.0f} s"
        except DRError as exc:
            return str(exc)
        except Exception as exc:  # a bug or an unexpected peer answer: stop, do not die
            log.exception("step raised unexpectedly", extra={"operation": ctx.op.id,
                                                             "step": spec.id})
            return f"unexpected error: {exc!r}"

    async def _stop_at(self, op_id: str, step: StepRecord, reason: str) -> None:
        def change(current: Operation) -> Operation | None:
            if current.state is not OpState.RUNNING:
                return None
            return current.model_copy(update={"state": OpState.STEP_FAILED, "outcome": reason})

        await mutate(self.deps.storage, op_id, change)
        await self.deps.storage.release_operation(op_id, self.deps.owner)
        await self.deps.recorder.record(ENGINE_ACTOR, "run.stopped", op_id, outcome="failed",
                                        step=step.id, reason=reason,
                                        offers=["retry", "skip", "abort"])
        self.deps.bus.publish("operation", {"id": op_id, "state": OpState.STEP_FAILED.value})
        self.deps.notify("operation.step_failed", {"operation": op_id, "step": step.id,
                                                   "reason": reason})

    async def finish(self, op_id: str, state: OpState, reason: str) -> Operation:
        """End the operation in ``state`` with its report."""
        deps = self.deps
        now = deps.clock()
        steps = await deps.storage.get_steps(op_id)

        def change(current: Operation) -> Operation | None:
            if current.terminal:
                return None
            ended = current.model_copy(update={"state": state, "finished_at": now,
                                               "outcome": reason})
            report = build_report(ended, steps, now=now,
                                  rto_target=deps.settings.targets.rto_seconds)
            return ended.model_copy(update={"report": report})

        op = await mutate(deps.storage, op_id, change)
        await deps.storage.release_operation(op_id, deps.owner)
        if op.finished_at == now:
            report = op.report or {}
            await deps.recorder.record(
                ENGINE_ACTOR, f"operation.{state.value}", op_id,
                outcome="ok" if state is OpState.SUCCEEDED else "failed", reason=reason,
                rto_seconds=(report.get("rto") or {}).get("seconds"),
                rpo=report.get("rpo"))
            deps.bus.publish("operation", {"id": op_id, "state": state.value})
            deps.notify(f"operation.{state.value}", {"operation": op_id, "type": op.type.value,
                                                     "reason": reason})
        return op
