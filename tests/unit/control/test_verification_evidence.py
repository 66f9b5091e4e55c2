"""The DR copy's verification in control: the evidence facts, the informational
pre-check, the approval that says it was given despite differences, the alert."""

from __future__ import annotations

from typing import Any

from drcontrol.decisions import Approve, approval_caveats, decide_approval
from drcontrol.evidence import summarise_apply
from drcontrol.model import (
    AcceptedLoss,
    CheckResult,
    Evidence,
    LossEstimate,
    Operation,
    OpState,
    OpType,
    Principal,
    Role,
)
from drcontrol.prechecks import VERIFIED_CHECK, CheckContext, evaluate
from drcontrol.settings import ApprovalPolicy
from drcontrol.watch import AlertState, Reading, Snapshot, decide_alerts

NOW = 10_000.0


def verdict(differences: int = 0, stale: bool = False, scn: int = 4990) -> dict[str, Any]:
    """One schema of apply's ``verification`` (drapply.compare.store.latest_per_schema)."""
    return {"verified_at": "2026-12-07T02:00:00+00:00", "age_seconds": 300.0,
            "oldest_age_seconds": 300.0, "scn": scn, "tables": 2, "differences": differences,
            "tables_differing": ["HR.EMP"] if differences else [], "stale": stale,
            "sampled": False, "run_id": "verify-1"}  # fmt: skip


def apply_status(verification: dict[str, Any]) -> dict[str, Any]:
    schemas = {n: {"state": "running", "applied_scn": 4990, "lag_seconds": 1.0, "lag_scn": 0}
               for n in ("HR", "FIN")}  # fmt: skip
    return {"state": "running", "schemas": schemas, "verification": verification}


def check(verification: dict[str, Any], reachable: bool = True) -> CheckResult:
    facts = {"apply": {"reachable": reachable, **summarise_apply(apply_status(verification))}}
    ctx = CheckContext(op_type=OpType.FAILOVER, runbook="failover", app=None,
                       dr_database_configured=False, rpo_seconds=60)  # fmt: skip
    return next(c for c in evaluate(facts, ctx) if c.name == VERIFIED_CHECK)


def test_the_facts_fold_the_verification_per_schema() -> None:
    summary = summarise_apply(apply_status({"HR": verdict(3), "FIN": verdict(scn=4980)}))
    v = summary["verification"]
    assert v["differences"] == 3 and v["tables_differing"] == ["HR.EMP"]
    assert (v["scn_min"], v["scn_max"], v["oldest_age_seconds"]) == (4980, 4990, 300.0)
    assert v["unverified_schemas"] == []
    assert summarise_apply(apply_status({"HR": verdict()}))["verification"][
        "unverified_schemas"] == ["FIN"]


def test_the_check_is_informational_and_says_what_was_found() -> None:
    ok = check({"HR": verdict(), "FIN": verdict()})
    assert ok.ok and not ok.required
    assert "HR at SCN 4990 5 min ago: 0 difference(s)" in ok.detail
    found = check({"HR": verdict(3), "FIN": verdict()})
    assert not found.ok and "found 3 difference(s)" in found.detail and "HR.EMP" in found.detail
    assert "never compared" in check({}).detail
    assert "not verified: FIN" in check({"HR": verdict()}).detail
    assert "verification stale: HR" in check({"HR": verdict(stale=True), "FIN": verdict()}).detail
    assert not check({"HR": verdict()}, reachable=False).ok


def test_an_approval_after_differences_says_so() -> None:
    failed = check({"HR": verdict(3), "FIN": verdict()})
    evidence = Evidence(collected_at=NOW - 10, collected_by="t", facts={},
                        checks=[CheckResult(name="apply_healthy", ok=True, required=True,
                                            detail="x"), failed],
                        loss=LossEstimate(seconds=1.0, transactions=0))  # fmt: skip
    op = Operation(id="op-1", type=OpType.FAILOVER, state=OpState.AWAITING_APPROVAL,
                   runbook="failover", requested_by="olga", requested_at=NOW - 100,
                   expires_at=NOW + 500, evidence=evidence, evidence_digest="a" * 64)
    policy = ApprovalPolicy(required_approvals=1, roles=[Role.APPROVER], window_seconds=600,
                            evidence_max_age_seconds=120)
    verdict_ = decide_approval(op, policy, Principal(user="ann", role=Role.APPROVER), "a" * 64,
                               AcceptedLoss(max_seconds=30, max_transactions=0), "", NOW)
    assert isinstance(verdict_, Approve)
    assert verdict_.approval.caveats == [f"approved although {failed.detail}"]
    assert "approved although the last verification found 3 difference(s)" in verdict_.action
    clean = evidence.model_copy(update={"checks": evidence.checks[:1]})
    assert approval_caveats(clean) == []


def test_a_difference_found_raises_an_alert_and_clears() -> None:
    def snap(v: dict[str, Any]) -> Snapshot:
        return Snapshot(at=NOW, apply=Reading(apply_status(v), NOW))

    state, notes = decide_alerts(AlertState(), snap({"HR": verdict(2)}), 60)
    assert state.dr_differs == frozenset({"HR"})
    assert ("alert.dr_differs", {"schema": "HR", "state": "firing"}) in notes
    state, notes = decide_alerts(state, snap({"HR": verdict(0)}), 60)
    assert ("alert.dr_differs", {"schema": "HR", "state": "resolved"}) in notes
