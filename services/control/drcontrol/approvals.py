"""Confirmations: approve (four-eyes, role, evidence-bound), reject, break-glass, review."""

from __future__ import annotations

from drcontrol.auth.roles import Permission, require
from drcontrol.auth.throttle import Limits, Throttle
from drcontrol.auth.totp import verify
from drcontrol.decisions import (
    Approve,
    Refuse,
    approval_caveats,
    decide_approval,
    decide_break_glass_evidence,
)
from drcontrol.errors import Forbidden, Stale, TooManyAttempts
from drcontrol.model import Approval, Decision, Operation, OpState, OpType, Principal
from drcontrol.operations import ServiceDeps, forbid_self
from drcontrol.opstore import mutate
from drcontrol.requests import ApprovalRequest, BreakGlassRequest
from drcontrol.sitegroup import check_if_match

TOTP_KEY = "totp_used"


class Approvals:
    """The customer's confirmation and its exceptional path."""

    def __init__(self, deps: ServiceDeps) -> None:
        self.d = deps
        auth = deps.settings.auth
        # Wrong break-glass codes per user: 6 digits and ±skew steps are guessable
        # without a limit, not with 5 tries per window and a 15-minute lockout.
        self._totp = Throttle(Limits(auth.totp_max_failures, auth.failure_window_seconds,
                                     auth.totp_lockout_seconds), deps.clock)

    async def approve(self, who: Principal, op_id: str, req: ApprovalRequest,
                      if_match: str | None) -> Operation:
        """Count one approval; the last one needed moves the operation to ``approved``."""
        require(who, Permission.APPROVE)
        now = self.d.clock()
        outcome: list[Approve] = []

        def change(op: Operation) -> Operation:
            policy = self.d.settings.approvals.policy(op.type)
            verdict = decide_approval(op, policy, who, req.evidence_digest, req.accepted_loss,
                                      req.comment, now)
            if isinstance(verdict, Refuse):
                raise verdict.error
            outcome[:] = [verdict]
            update: dict[str, object] = {"approvals": [*op.approvals, verdict.approval]}
            if verdict.complete:
                update.update(state=OpState.APPROVED, confirmed_at=now)
            return op.model_copy(update=update)

        current = await self.d.storage.get_operation(op_id)
        view = await self.d.site_group.read()
        check_if_match(view, if_match,
                       required=current is not None and current.type is not OpType.APP_FAILOVER)
        op = await mutate(self.d.storage, op_id, change)
        verdict = outcome[0]
        await self.d.recorder.record(
            who.user, "operation.approved", op_id, digest=req.evidence_digest,
            accepted_loss=req.accepted_loss.model_dump(mode="json"), comment=req.comment,
            complete=verdict.complete, decision=verdict.action,
            caveats=verdict.approval.caveats)
        self.d.notify("operation.approved", {"operation": op_id, "by": who.user,
                                             "complete": verdict.complete})
        if verdict.complete:
            self.d.wake()
        self.d.bus.publish("operation", {"id": op.id, "state": op.state.value})
        return op

    async def reject(self, who: Principal, op_id: str, comment: str) -> Operation:
        """An approver says no."""
        require(who, Permission.APPROVE)
        now = self.d.clock()

        def change(op: Operation) -> Operation:
            if op.state not in (OpState.PRECHECKING, OpState.AWAITING_APPROVAL):
                raise Stale(f"{op_id} is {op.state.value}; it takes no decision",
                            operation=op_id)
            return op.model_copy(update={
                "state": OpState.REJECTED, "finished_at": now,
                "rejection": Decision(user=who.user, at=now, comment=comment),
                "outcome": f"rejected by {who.user}: {comment}"})

        op = await mutate(self.d.storage, op_id, change)
        await self.d.recorder.record(who.user, "operation.rejected", op_id, comment=comment)
        self.d.notify("operation.rejected", {"operation": op_id, "by": who.user})
        self.d.bus.publish("operation", {"id": op.id, "state": op.state.value})
        return op

    async def _second_factor(self, who: Principal, code: str) -> None:
        bg = self.d.settings.break_glass
        secret = bg.secret_for(who.user)
        if secret is None:
            raise Forbidden(f"no break-glass second factor is configured for {who.user}")
        key = f"totp:{who.user}"
        wait = self._totp.retry_after([key])
        if wait is not None:
            raise TooManyAttempts(f"break-glass is locked for {who.user} after wrong codes",
                                  retry_after=wait, user=who.user)
        step = verify(secret, code, self.d.clock(), period=bg.period_seconds, digits=bg.digits,
                      skew=bg.skew_steps)
        if step is None:
            failure = self._totp.failed([key])
            for _, count in failure.locked:
                await self.d.recorder.record(
                    who.user, "break_glass.locked", who.user, outcome="refused",
                    failures=count, lockout_seconds=self._totp.limits.lockout_seconds)
                self.d.notify("alert.break_glass_locked", {"user": who.user, "failures": count})
            raise Forbidden("break-glass code is wrong or expired")
        self._totp.succeeded(key)
        stored = await self.d.storage.get_state(TOTP_KEY)
        used = dict(stored.doc) if stored else {}
        if int(used.get(who.user, -1)) >= step:
            raise Forbidden("break-glass code was already used; wait for the next one")
        await self.d.storage.put_state(TOTP_KEY, {**used, who.user: step},
                                       stored.version if stored else 0)

    async def break_glass(self, who: Principal, op_id: str, req: BreakGlassRequest) -> Operation:
        """Confirm without the customer's confirmer: admin + TOTP, flagged for review."""
        require(who, Permission.BREAK_GLASS)
        await self._second_factor(who, req.totp)
        now = self.d.clock()

        def change(op: Operation) -> Operation:
            policy = self.d.settings.approvals.policy(op.type)
            refusal = decide_break_glass_evidence(op, req.evidence_digest, req.accepted_loss,
                                                  policy, now)
            if refusal is not None:
                raise refusal.error
            approval = Approval(user=who.user, role=who.role, at=now,
                                evidence_digest=req.evidence_digest,
                                accepted_loss=req.accepted_loss, comment=req.reason,
                                break_glass=True, caveats=approval_caveats(op.evidence))
            return op.model_copy(update={
                "state": OpState.APPROVED, "confirmed_at": now,
                "approvals": [*op.approvals, approval],
                "break_glass": Decision(user=who.user, at=now, comment=req.reason),
                "review_required": True})

        op = await mutate(self.d.storage, op_id, change)
        await self.d.recorder.record(who.user, "operation.break_glass", op_id,
                                     outcome="review_required", reason=req.reason,
                                     digest=req.evidence_digest)
        self.d.notify("operation.break_glass", {"operation": op_id, "by": who.user,
                                                "reason": req.reason})
        self.d.wake()
        self.d.bus.publish("operation", {"id": op.id, "state": op.state.value})
        return op

    async def review(self, who: Principal, op_id: str, comment: str) -> Operation:
        """Clear the break-glass review flag; never by the one who broke the glass."""
        require(who, Permission.REVIEW)
        now = self.d.clock()

        def change(op: Operation) -> Operation:
            if not op.review_required or op.break_glass is None:
                raise Stale(f"{op_id} is not flagged for review", operation=op_id)
            forbid_self(who, op.break_glass.user, "review")
            return op.model_copy(update={"review_required": False,
                                         "review": Decision(user=who.user, at=now,
                                                            comment=comment)})

        op = await mutate(self.d.storage, op_id, change)
        await self.d.recorder.record(who.user, "operation.reviewed", op_id, comment=comment)
        return op
