"""Pure decisions over immutable snapshots; each returns an action the caller executes.

Nothing here does I/O or reads the clock: ``now`` is an argument, so tests can try to
break every rule directly (tests/unit/control/test_decisions.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from drcontrol.errors import ControlError, Expired, Forbidden, Stale
from drcontrol.model import (
    AcceptedLoss,
    Approval,
    Evidence,
    LossEstimate,
    Operation,
    OpState,
    Principal,
)
from drcontrol.prechecks import VERIFIED_CHECK
from drcontrol.settings import ApprovalPolicy, AutomationSettings
from drcontrol.sitegroup import SiteGroupState


@dataclass(frozen=True, slots=True)
class Approve:
    """Record ``approval``; ``complete`` when it is the last one the policy needs."""

    approval: Approval
    complete: bool
    action: str


@dataclass(frozen=True, slots=True)
class Refuse:
    """Refuse with ``error`` (its status and reason go to the caller and the audit)."""

    error: ControlError

    @property
    def action(self) -> str:
        return f"refused: {self.error.message}"


def window_closed(op: Operation, now: float) -> bool:
    """Silence means no: the approval window of a waiting operation has passed."""
    return op.state in (OpState.PRECHECKING, OpState.AWAITING_APPROVAL) and now >= op.expires_at


def loss_exceeds(loss: LossEstimate, accepted: AcceptedLoss) -> str | None:
    """Why ``loss`` is more than ``accepted``, or None when it is within."""
    if loss.seconds is not None and loss.seconds > accepted.max_seconds:
        return f"estimated loss {loss.seconds:.1f} s exceeds the accepted {accepted.max_seconds} s"
    if loss.transactions is not None and loss.transactions > accepted.max_transactions:
        return (f"estimated loss {loss.transactions} transactions exceeds the accepted "
                f"{accepted.max_transactions}")
    return None


def _state_refusal(op: Operation, now: float) -> Refuse | None:
    if op.state is OpState.EXPIRED or window_closed(op, now):
        return Refuse(Expired(f"the approval window of {op.id} closed; silence meant no",
                              operation=op.id))
    if op.state is OpState.PRECHECKING:
        return Refuse(Stale(f"pre-checks of {op.id} are running; re-read the evidence",
                            operation=op.id))
    if op.state is not OpState.AWAITING_APPROVAL:
        return Refuse(Stale(f"{op.id} is {op.state.value}; it takes no approval",
                            operation=op.id))
    return None


def _evidence_refusal(
    op: Operation, digest: str, accepted: AcceptedLoss, policy: ApprovalPolicy, now: float
) -> Refuse | None:
    evidence = op.evidence
    if evidence is None or op.evidence_digest is None:
        return Refuse(Stale(f"{op.id} has no evidence yet", operation=op.id))
    if digest != op.evidence_digest:
        return Refuse(Stale(
            f"the evidence changed since you read it (you confirmed {digest[:12]}…, current "
            f"{op.evidence_digest[:12]}…); re-read it and decide again", operation=op.id))
    age = now - evidence.collected_at
    if age > policy.evidence_max_age_seconds:
        return Refuse(Stale(
            f"the evidence is {age:.0f} s old (at most {policy.evidence_max_age_seconds:.0f} s); "
            "refresh it and re-read", operation=op.id))
    if not evidence.passed():
        names = ", ".join(f"{c.name}: {c.detail}" for c in evidence.failures())
        return Refuse(Stale(f"pre-checks fail ({names}); nothing can be approved",
                            operation=op.id))
    unreplicated = unreplicated_refusal(op, evidence, accepted)
    if unreplicated:
        return unreplicated
    too_much = loss_exceeds(evidence.loss, accepted)
    if too_much:
        return Refuse(Stale(f"{too_much}; re-read and accept it or wait", operation=op.id))
    return None


def unreplicated_refusal(op: Operation, evidence: Evidence,
                          accepted: AcceptedLoss) -> Refuse | None:
    """A switchback without a drained reverse stream loses the DR site's writes: only an
    explicit acceptance of that stated, computed loss lets it go ahead."""
    if op.runbook != "switchback":
        return None
    reverse = next((c for c in evidence.checks if c.name == "reverse_stream_ready"), None)
    if reverse is None or reverse.ok:
        return None
    if evidence.loss.seconds is None:
        return Refuse(Stale(f"{reverse.detail}; and the loss cannot be stated (no record of "
                            "when the DR site became primary): configure the reverse stream",
                            operation=op.id))
    if not accepted.accept_unreplicated_writes:
        return Refuse(Stale(
            f"{reverse.detail}: {evidence.loss.seconds:.0f} s of DR writes would be lost; "
            "accept exactly that (accept_unreplicated_writes, max_seconds at least the "
            "stated loss) or configure the reverse stream", operation=op.id))
    return None


def decide_approval(
    op: Operation,
    policy: ApprovalPolicy,
    who: Principal,
    digest: str,
    accepted: AcceptedLoss,
    comment: str,
    now: float,
) -> Approve | Refuse:
    """Four-eyes, role, state, expiry, evidence binding and loss, in that order."""
    refusal = _state_refusal(op, now)
    if refusal:
        return refusal
    if who.user == op.requested_by:
        return Refuse(Forbidden(
            f"four-eyes rule: {who.user} requested {op.id} and cannot approve it",
            operation=op.id))
    if who.role not in policy.roles:
        needed = ", ".join(role.value for role in policy.roles)
        return Refuse(Forbidden(
            f"approving {op.type.value} needs role {needed}; {who.user} is {who.role.value}",
            operation=op.id))
    current = [a for a in op.approvals if a.evidence_digest == op.evidence_digest]
    if any(a.user == who.user for a in current):
        return Refuse(Stale(f"{who.user} has already approved this evidence", operation=op.id))
    refusal = _evidence_refusal(op, digest, accepted, policy, now)
    if refusal:
        return refusal
    caveats = approval_caveats(op.evidence)
    approval = Approval(user=who.user, role=who.role, at=now, evidence_digest=digest,
                        accepted_loss=accepted, comment=comment, caveats=caveats)
    have = len(current) + 1
    complete = have >= policy.required_approvals
    action = (f"approved by {who.user} ({have}/{policy.required_approvals})"
              + ("; confirmed, run may start" if complete else "")
              + "".join(f"; {c}" for c in caveats))
    return Approve(approval, complete, action)


def approval_caveats(evidence: Evidence | None) -> list[str]:
    """What an approval of this evidence is given despite: the DR copy's verification
    (an informational check) that found differences, is missing or is stale."""
    if evidence is None:
        return []
    return [f"approved although {check.detail}" for check in evidence.checks
            if check.name == VERIFIED_CHECK and not check.ok]


def decide_break_glass_evidence(
    op: Operation, digest: str, accepted: AcceptedLoss, policy: ApprovalPolicy, now: float
) -> Refuse | None:
    """Break-glass skips four-eyes and roles, never expiry or the evidence binding."""
    return _state_refusal(op, now) or _evidence_refusal(op, digest, accepted, policy, now)


def accepted_loss_of(op: Operation) -> AcceptedLoss | None:
    """The strictest loss any counted approval accepted (all must hold)."""
    current = [a.accepted_loss for a in op.approvals if a.evidence_digest == op.evidence_digest]
    if not current:
        return None
    return AcceptedLoss(
        max_seconds=min(a.max_seconds for a in current),
        max_transactions=min(a.max_transactions for a in current),
        accept_unreplicated_writes=all(a.accept_unreplicated_writes for a in current),
    )


@dataclass(frozen=True, slots=True)
class Allow:
    """An automatic switch may be requested."""

    action: str


@dataclass(frozen=True, slots=True)
class Block:
    """Too many automatic switches: set an anti-flapping block and refuse."""

    reason: str


def counted_switch(state: SiteGroupState, app: str, now: float,
                   policy: AutomationSettings) -> SiteGroupState:
    """``state`` with one more automatic switch of ``app`` at ``now`` (anti-flapping counts
    switches that happened: succeeded, or failed once traffic was moving)."""
    recent = [t for t in state.auto_switches.get(app, []) if now - t < policy.flap_window_seconds]
    return state.model_copy(update={"auto_switches": {**state.auto_switches,
                                                      app: [*recent, now]}})


def decide_automation(
    state: SiteGroupState, app: str, policy: AutomationSettings, now: float
) -> Allow | Refuse | Block:
    """May appha's automatic switch of ``app`` go ahead right now?"""
    if state.freeze is not None:
        return Refuse(Stale(
            f"global freeze by {state.freeze.by}: {state.freeze.comment}; automatic actions "
            "are refused until it is lifted", app=app))
    block = state.blocks.get(app)
    if block is not None:
        return Refuse(Stale(
            f"anti-flapping block on {app}: {block.reason}; an approver must acknowledge "
            "it with a comment", app=app))
    recent = [t for t in state.auto_switches.get(app, []) if now - t < policy.flap_window_seconds]
    if len(recent) >= policy.flap_max_switches:
        return Block(
            f"{len(recent)} automatic switches of {app} within "
            f"{policy.flap_window_seconds:.0f} s (limit {policy.flap_max_switches})"
        )
    return Allow(f"automatic switch of {app} allowed ({len(recent)} recent)")
