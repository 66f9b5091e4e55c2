"""Operations: request, cancel, refresh evidence, retry/skip/abort a failed run.

Each call checks permission, decides (pure functions in :mod:`drcontrol.decisions`),
writes with compare-and-set, records the fact in the audit chain, notifies and wakes
the engine. Refusals raise a :class:`~drcontrol.errors.ControlError`; the API audits them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drcontrol.auth.roles import Permission, require, require_for
from drcontrol.decisions import Allow, Block, Refuse, decide_automation
from drcontrol.errors import Forbidden, NotFound, Stale
from drcontrol.events import EventBus
from drcontrol.model import (
    DATABASE_OPS,
    TERMINAL_STATES,
    Decision,
    Operation,
    OpState,
    OpType,
    Principal,
    StepState,
)
from drcontrol.opstore import load, mutate
from drcontrol.recorder import Recorder
from drcontrol.requests import OperationRequest
from drcontrol.settings import ControlSettings
from drcontrol.sitegroup import BlockInfo, SiteGroup, SiteGroupState, check_if_match
from drcontrol.storage.base import Storage

Notify = Callable[[str, dict[str, Any]], None]
NOT_STARTED = frozenset({OpState.PRECHECKING, OpState.AWAITING_APPROVAL, OpState.APPROVED})
LIVE = frozenset(set(OpState) - TERMINAL_STATES)


@dataclass(frozen=True, slots=True)
class ServiceDeps:
    """Collaborators of the service layer."""

    storage: Storage
    recorder: Recorder
    bus: EventBus
    site_group: SiteGroup
    settings: ControlSettings
    clock: Callable[[], float]
    notify: Notify
    wake: Callable[[], None]


def runbook_for(req: OperationRequest) -> tuple[str, OpType | None]:
    """The runbook an operation type runs, and for drills which type it rehearses."""
    if req.type is OpType.DRILL:
        target = OpType(req.drill_of or "failover")
        return target.value, target
    return req.type.value, None


class Operations:
    """The operation life cycle up to and after the run."""

    def __init__(self, deps: ServiceDeps) -> None:
        self.d = deps

    def _published(self, op: Operation) -> Operation:
        self.d.bus.publish("operation", {"id": op.id, "state": op.state.value})
        return op

    async def request(self, who: Principal, req: OperationRequest,
                      if_match: str | None) -> Operation:
        """Open an operation in ``prechecking``; the engine gathers the evidence."""
        require_for(who, Permission.REQUEST, req.type)
        view = await self.d.site_group.read()
        check_if_match(view, if_match, required=req.type is not OpType.APP_FAILOVER)
        await self._no_conflict(req)
        if req.type is OpType.APP_FAILOVER:
            await self._automation_gate(who, req, view.state)
        now = self.d.clock()
        runbook, drill_of = runbook_for(req)
        policy = self.d.settings.approvals.policy(req.type)
        op = Operation(
            id=f"op-{uuid.uuid4().hex[:12]}", type=req.type, state=OpState.PRECHECKING,
            runbook=runbook, drill_of=drill_of, app=req.app, reason=req.reason, auto=req.auto,
            requested_by=who.user, requested_at=now, expires_at=now + policy.window_seconds,
            requester_evidence=req.evidence)
        await self.d.storage.insert_operation(op)
        await self.d.recorder.record(who.user, "operation.requested", op.id, type=op.type.value,
                                     runbook=runbook, app=op.app, reason=op.reason,
                                     auto=op.auto, site_etag=view.etag,
                                     expires_at=op.expires_at)
        self.d.notify("operation.requested", {"operation": op.id, "type": op.type.value,
                                              "requested_by": who.user, "reason": op.reason})
        self.d.wake()
        return self._published(op)

    async def _automation_gate(self, who: Principal, req: OperationRequest,
                               state: SiteGroupState) -> None:
        assert req.app is not None  # OperationRequest guarantees it
        now = self.d.clock()
        verdict = decide_automation(state, req.app, self.d.settings.automation, now)
        if isinstance(verdict, Refuse):
            raise verdict.error
        if isinstance(verdict, Block):
            app = req.app

            def block(current: SiteGroupState) -> SiteGroupState:
                blocks = {**current.blocks, app: BlockInfo(
                    since=now, reason=verdict.reason,
                    switches=current.auto_switches.get(app, []))}
                return current.model_copy(update={"blocks": blocks})

            await self.d.site_group.update(block, actor=who.user, now=now)
            await self.d.recorder.record(who.user, "automation.blocked", app, outcome="refused",
                                         reason=verdict.reason)
            self.d.notify("alert.flapping", {"app": app, "reason": verdict.reason})
            raise Stale(f"anti-flapping block set: {verdict.reason}; an approver must "
                        "acknowledge it with a comment", app=app)
        assert isinstance(verdict, Allow)
        # nothing is counted here: a request may be refused, withdrawn or fail before
        # traffic moves; the traffic step counts the switches that happened

    async def _no_conflict(self, req: OperationRequest) -> None:
        live = await self.d.storage.list_operations(states=LIVE, limit=500)
        for op in live:
            if req.type in DATABASE_OPS and op.type in DATABASE_OPS:
                raise Stale(f"{op.id} ({op.type.value}, {op.state.value}) is still open; "
                            "finish or cancel it first", operation=op.id)
            if req.type is OpType.APP_FAILOVER and op.type is OpType.APP_FAILOVER \
                    and op.app == req.app:
                raise Stale(f"{op.id} already handles {req.app} ({op.state.value})",
                            operation=op.id)

    async def cancel(self, who: Principal, op_id: str, comment: str) -> Operation:
        """Withdraw a request that has not started running."""
        require(who, Permission.CANCEL)
        now = self.d.clock()

        def change(op: Operation) -> Operation:
            require_for(who, Permission.CANCEL, op.type, op.requested_by)
            if op.state not in NOT_STARTED:
                raise Stale(f"{op_id} is {op.state.value}; only a run that has not started "
                            "can be cancelled (a failed run can be aborted)", operation=op_id)
            return op.model_copy(update={"state": OpState.CANCELLED, "finished_at": now,
                                         "cancellation": Decision(user=who.user, at=now,
                                                                  comment=comment),
                                         "outcome": f"cancelled by {who.user}: {comment}"})

        op = await mutate(self.d.storage, op_id, change)
        await self.d.recorder.record(who.user, "operation.cancelled", op_id, comment=comment)
        self.d.notify("operation.cancelled", {"operation": op_id, "by": who.user})
        return self._published(op)

    async def refresh_evidence(self, who: Principal, op_id: str) -> Operation:
        """Gather the evidence again (new digest; approvals of the old one stop counting)."""
        require(who, Permission.REFRESH_EVIDENCE)

        def change(op: Operation) -> Operation | None:
            if op.state is OpState.PRECHECKING:
                return None
            if op.state is not OpState.AWAITING_APPROVAL:
                raise Stale(f"{op_id} is {op.state.value}; its evidence is final",
                            operation=op_id)
            return op.model_copy(update={"state": OpState.PRECHECKING})

        op = await mutate(self.d.storage, op_id, change)
        await self.d.recorder.record(who.user, "evidence.refresh_requested", op_id)
        self.d.wake()
        return self._published(op)

    async def retry(self, who: Principal, op_id: str, comment: str) -> Operation:
        """Run the failed step again (with a fresh set of attempts)."""
        require(who, Permission.RETRY)
        step = await self._failed_step(op_id)
        await self.d.storage.save_step(step.model_copy(update={
            "state": StepState.PENDING, "attempts": 0, "finished_at": None,
            "note": f"retry requested by {who.user}: {comment}"}))
        op = await self._resume(op_id)
        await self.d.recorder.record(who.user, "step.retry", f"{op_id}/{step.id}",
                                     comment=comment, previous_error=step.error)
        return op

    async def accept_split_brain(self, who: Principal, op_id: str, comment: str) -> Operation:
        """An approver (not the requester) lets a traffic switch that stopped on an
        insufficient fencing attestation go on; audited, and the step runs again."""
        require(who, Permission.APPROVE)
        step = await self._failed_step(op_id)
        op = await load(self.d.storage, op_id)
        if who.user == op.requested_by:
            raise Forbidden(f"four-eyes rule: {who.user} requested {op_id} and cannot accept "
                            "its risks", operation=op_id)
        if step.kind != "apps_switch":
            raise Stale(f"the failed step of {op_id} is {step.id} ({step.kind}), not a traffic "
                        "switch; there is no fencing to accept", operation=op_id)
        now = self.d.clock()

        def change(current: Operation) -> Operation:
            return current.model_copy(update={"split_brain_accepted": Decision(
                user=who.user, at=now, comment=comment)})

        await mutate(self.d.storage, op_id, change)
        await self.d.recorder.record(who.user, "operation.split_brain_accepted", op_id,
                                     outcome="risk_accepted", step=step.id, comment=comment,
                                     previous_error=step.error)
        self.d.notify("operation.split_brain_accepted", {"operation": op_id, "by": who.user,
                                                         "comment": comment})
        await self.d.storage.save_step(step.model_copy(update={
            "state": StepState.PENDING, "attempts": 0, "finished_at": None,
            "note": f"possible split brain accepted by {who.user}: {comment}"}))
        return await self._resume(op_id)

    async def skip(self, who: Principal, op_id: str, step_id: str, comment: str) -> Operation:
        """Mark the failed step skipped and continue (admin only)."""
        require(who, Permission.SKIP)
        step = await self._failed_step(op_id)
        if step.id != step_id:
            raise Stale(f"the failed step of {op_id} is {step.id}, not {step_id}",
                        operation=op_id)
        await self.d.storage.save_step(step.model_copy(update={
            "state": StepState.SKIPPED, "finished_at": self.d.clock(),
            "note": f"skipped by {who.user}: {comment}"}))
        op = await self._resume(op_id)
        await self.d.recorder.record(who.user, "step.skipped", f"{op_id}/{step.id}",
                                     comment=comment, previous_error=step.error)
        self.d.notify("operation.step_skipped", {"operation": op_id, "step": step.id,
                                                 "by": who.user, "comment": comment})
        return op

    async def _failed_step(self, op_id: str) -> Any:
        op = await load(self.d.storage, op_id)
        if op.state is not OpState.STEP_FAILED:
            raise Stale(f"{op_id} is {op.state.value}; retry, skip and abort apply to a run "
                        "stopped at a failed step", operation=op_id)
        for step in await self.d.storage.get_steps(op_id):
            if step.state is StepState.FAILED:
                return step
        raise NotFound(f"{op_id} has no failed step", operation=op_id)

    async def _resume(self, op_id: str) -> Operation:
        def change(op: Operation) -> Operation:
            if op.state is not OpState.STEP_FAILED:
                raise Stale(f"{op_id} is {op.state.value}", operation=op_id)
            return op.model_copy(update={"state": OpState.RUNNING, "outcome": None})

        op = await mutate(self.d.storage, op_id, change)
        self.d.wake()
        return self._published(op)

    async def abort(self, who: Principal, op_id: str, comment: str,
                    finish: Callable[[str, OpState, str], Any]) -> Operation:
        """End a run stopped at a failed step; the report says where it stopped."""
        require(who, Permission.ABORT)
        op = await load(self.d.storage, op_id)
        if op.state is not OpState.STEP_FAILED:
            raise Stale(f"{op_id} is {op.state.value}; only a run stopped at a failed step can "
                        "be aborted", operation=op_id)
        await self.d.recorder.record(who.user, "operation.abort_requested", op_id,
                                     comment=comment)
        result: Operation = await finish(op_id, OpState.ABORTED,
                                         f"aborted by {who.user}: {comment}")
        return result


def forbid_self(who: Principal, other: str, what: str) -> None:
    """The four-eyes helper for reviews."""
    if who.user == other:
        raise Forbidden(f"{who.user} cannot {what} their own action")
