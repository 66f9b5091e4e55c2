"""Trying to break the approval rules directly on the pure decisions: four-eyes, roles,
expiry, the evidence binding (digest and age), failing checks, loss, duplicates."""

from __future__ import annotations

import pytest
from drcontrol.decisions import (
    Allow,
    Approve,
    Block,
    Refuse,
    accepted_loss_of,
    decide_approval,
    decide_automation,
    decide_break_glass_evidence,
    window_closed,
)
from drcontrol.errors import Expired, Forbidden, Stale
from drcontrol.model import (
    AcceptedLoss,
    Approval,
    CheckResult,
    Evidence,
    LossEstimate,
    Operation,
    OpState,
    OpType,
    Principal,
    Role,
)
from drcontrol.settings import ApprovalPolicy, AutomationSettings
from drcontrol.sitegroup import BlockInfo, FreezeInfo, SiteGroupState

NOW = 10_000.0
DIGEST = "a" * 64
OTHER = "b" * 64
LOSS = AcceptedLoss(max_seconds=30, max_transactions=0)
POLICY = ApprovalPolicy(required_approvals=1, roles=[Role.APPROVER], window_seconds=600,
                        evidence_max_age_seconds=120)
ANN = Principal(user="ann", role=Role.APPROVER)


def evidence(*, ok: bool = True, at: float = NOW - 10, lag: float = 5.0) -> Evidence:
    return Evidence(collected_at=at, collected_by="test", facts={},
                    checks=[CheckResult(name="apply_healthy", ok=ok, required=True, detail="x")],
                    loss=LossEstimate(seconds=lag, transactions=0))


def operation(**update: object) -> Operation:
    base = Operation(id="op-1", type=OpType.FAILOVER, state=OpState.AWAITING_APPROVAL,
                     runbook="failover", requested_by="olga", requested_at=NOW - 100,
                     expires_at=NOW + 500, evidence=evidence(), evidence_digest=DIGEST)
    return base.model_copy(update=update)


def decide(op: Operation, who: Principal = ANN, digest: str = DIGEST,
           loss: AcceptedLoss = LOSS, policy: ApprovalPolicy = POLICY) -> Approve | Refuse:
    return decide_approval(op, policy, who, digest, loss, "", NOW)


def refused(verdict: Approve | Refuse, kind: type[Exception], text: str) -> None:
    assert isinstance(verdict, Refuse), verdict
    assert isinstance(verdict.error, kind), verdict.error
    assert text in verdict.error.message


def test_a_valid_approval_completes_a_one_approver_policy() -> None:
    verdict = decide(operation())
    assert isinstance(verdict, Approve) and verdict.complete
    assert verdict.approval.evidence_digest == DIGEST and verdict.approval.user == "ann"


def test_requester_can_never_approve_even_as_approver_or_admin() -> None:
    for role in (Role.APPROVER, Role.ADMIN):
        op = operation(requested_by="ann")
        policy = POLICY.model_copy(update={"roles": [Role.APPROVER, Role.ADMIN]})
        refused(decide(op, Principal(user="ann", role=role), policy=policy), Forbidden,
                "four-eyes")


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR, Role.ADMIN])
def test_only_configured_roles_count(role: Role) -> None:
    refused(decide(operation(), Principal(user="x", role=role)), Forbidden, "needs role approver")


def test_changed_evidence_is_stale() -> None:
    refused(decide(operation(), digest=OTHER), Stale, "evidence changed")


def test_old_evidence_must_be_refreshed() -> None:
    refused(decide(operation(evidence=evidence(at=NOW - 500))), Stale, "old")


def test_failing_checks_cannot_be_approved() -> None:
    refused(decide(operation(evidence=evidence(ok=False))), Stale, "pre-checks fail")


def test_loss_beyond_what_the_approver_accepts_is_refused() -> None:
    refused(decide(operation(evidence=evidence(lag=45))), Stale, "exceeds the accepted 30")


def test_expired_window_is_410_and_never_proceeds() -> None:
    refused(decide(operation(expires_at=NOW - 1)), Expired, "silence meant no")
    refused(decide(operation(state=OpState.EXPIRED)), Expired, "closed")
    assert window_closed(operation(expires_at=NOW), NOW)
    assert not window_closed(operation(state=OpState.RUNNING, expires_at=NOW - 1), NOW)


@pytest.mark.parametrize("state", [OpState.PRECHECKING, OpState.APPROVED, OpState.RUNNING,
                                   OpState.CANCELLED, OpState.SUCCEEDED])
def test_only_waiting_operations_take_approvals(state: OpState) -> None:
    refused(decide(operation(state=state)), Stale, "")


def test_two_approver_policy_needs_two_distinct_people_on_the_same_digest() -> None:
    policy = POLICY.model_copy(update={"required_approvals": 2})
    first = decide(operation(), policy=policy)
    assert isinstance(first, Approve) and not first.complete
    op = operation(approvals=[first.approval])
    refused(decide(op, policy=policy), Stale, "already approved")
    second = decide(op, Principal(user="bo", role=Role.APPROVER), policy=policy)
    assert isinstance(second, Approve) and second.complete


def test_approvals_of_an_older_digest_do_not_count() -> None:
    policy = POLICY.model_copy(update={"required_approvals": 2})
    old = Approval(user="bo", role=Role.APPROVER, at=NOW - 50, evidence_digest=OTHER,
                   accepted_loss=LOSS)
    verdict = decide(operation(approvals=[old]), policy=policy)
    assert isinstance(verdict, Approve) and not verdict.complete


def test_strictest_accepted_loss_applies() -> None:
    a = Approval(user="a", role=Role.APPROVER, at=NOW, evidence_digest=DIGEST,
                 accepted_loss=AcceptedLoss(max_seconds=30, max_transactions=5))
    b = Approval(user="b", role=Role.APPROVER, at=NOW, evidence_digest=DIGEST,
                 accepted_loss=AcceptedLoss(max_seconds=60, max_transactions=1))
    stale = Approval(user="c", role=Role.APPROVER, at=NOW, evidence_digest=OTHER,
                     accepted_loss=AcceptedLoss(max_seconds=0, max_transactions=0))
    assert accepted_loss_of(operation(approvals=[a, b, stale])) == AcceptedLoss(
        max_seconds=30, max_transactions=1)


def test_break_glass_keeps_expiry_and_evidence_binding() -> None:
    assert decide_break_glass_evidence(operation(), DIGEST, LOSS, POLICY, NOW) is None
    stale = decide_break_glass_evidence(operation(), OTHER, LOSS, POLICY, NOW)
    assert stale is not None and isinstance(stale.error, Stale)
    late = decide_break_glass_evidence(operation(expires_at=NOW - 1), DIGEST, LOSS, POLICY, NOW)
    assert late is not None and isinstance(late.error, Expired)


AUTO = AutomationSettings(flap_window_seconds=600, flap_max_switches=2)


def test_freeze_refuses_automatic_switches() -> None:
    state = SiteGroupState(freeze=FreezeInfo(by="ann", at=NOW, comment="tax season"))
    verdict = decide_automation(state, "payments", AUTO, NOW)
    assert isinstance(verdict, Refuse) and "tax season" in verdict.error.message


def test_flapping_sets_a_block_and_a_block_refuses() -> None:
    busy = SiteGroupState(auto_switches={"payments": [NOW - 100, NOW - 50]})
    assert isinstance(decide_automation(busy, "payments", AUTO, NOW), Block)
    assert isinstance(decide_automation(busy, "other", AUTO, NOW), Allow)
    old = SiteGroupState(auto_switches={"payments": [NOW - 1000, NOW - 50]})
    assert isinstance(decide_automation(old, "payments", AUTO, NOW), Allow)
    blocked = SiteGroupState(blocks={"payments": BlockInfo(since=NOW, reason="flapping")})
    verdict = decide_automation(blocked, "payments", AUTO, NOW)
    assert isinstance(verdict, Refuse) and "acknowledge" in verdict.error.message
