"""Control's documents: operations, approvals, evidence, steps, users, audit records.

All are frozen pydantic models; a change is a new copy (``model_copy(update=…)``) saved
with a compare-and-set on ``version`` so two writers never silently overwrite each other.
Times are epoch seconds (UTC) as floats.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    """Base: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Role(StrEnum):
    """What a user may do; see :mod:`drcontrol.auth.roles` for the permission table."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    APPROVER = "approver"
    ADMIN = "admin"
    APPHA = "appha"  # appha's service account: reports, and opens/withdraws app failovers


class OpType(StrEnum):
    """Kinds of operation."""

    SWITCHOVER = "switchover"  # planned, zero data loss, direction reversed
    FAILOVER = "failover"  # unplanned, the home site is lost
    SWITCHBACK = "switchback"  # the way home
    DRILL = "drill"  # rehearsal: same runbook and approvals, users see nothing
    APP_FAILOVER = "app_failover"  # one application, opened by appha


DATABASE_OPS = frozenset({OpType.SWITCHOVER, OpType.FAILOVER, OpType.SWITCHBACK, OpType.DRILL})


class OpState(StrEnum):
    """Life of an operation."""

    PRECHECKING = "prechecking"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    RUNNING = "running"
    STEP_FAILED = "step_failed"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


TERMINAL_STATES = frozenset(
    {
        OpState.SUCCEEDED,
        OpState.FAILED,
        OpState.ABORTED,
        OpState.EXPIRED,
        OpState.CANCELLED,
        OpState.REJECTED,
    }
)
WAITING_STATES = frozenset({OpState.PRECHECKING, OpState.AWAITING_APPROVAL})


class AcceptedLoss(Frozen):
    """The data loss an approver accepts; the run stops if the re-check shows more."""

    max_seconds: float = Field(..., ge=0, description="Seconds of source commits.")
    max_transactions: int = Field(..., ge=0, description="Transactions not applied.")
    accept_unreplicated_writes: bool = Field(
        False, description="Switchback without a reverse stream: I accept losing every write "
        "made at the DR site since it became primary (the stated seconds).")


class LossEstimate(Frozen):
    """What would be lost if the switch happened at measurement time."""

    seconds: float | None = Field(None, description="Apply lag behind the source.")
    transactions: int | None = Field(None, description="Parked transactions never applied.")
    source_scn: int | None = Field(None, description="Highest source SCN known.")
    applied_scn: int | None = Field(None, description="Lowest applied SCN over schemas.")
    basis: str = Field("", description="How the figures were reached (or why one is unknown).")


class CheckResult(Frozen):
    """One pre-check: its name, whether it passed, and whether the operation needs it."""

    name: str
    ok: bool
    required: bool
    detail: str


class Evidence(Frozen):
    """What the pre-checks saw; the approver confirms exactly this (by its digest)."""

    collected_at: float
    collected_by: str
    facts: dict[str, Any]
    checks: list[CheckResult]
    loss: LossEstimate

    def passed(self) -> bool:
        """True when every required check passed."""
        return all(check.ok for check in self.checks if check.required)

    def failures(self) -> list[CheckResult]:
        return [check for check in self.checks if check.required and not check.ok]


class Approval(Frozen):
    """One confirmation, bound to the evidence digest it was given for."""

    user: str
    role: Role
    at: float
    evidence_digest: str
    accepted_loss: AcceptedLoss
    comment: str = ""
    break_glass: bool = False
    caveats: list[str] = Field(
        default_factory=list,
        description="What the approver confirmed despite (a verification that found differences).")


class Decision(Frozen):
    """A rejection, cancellation, abort or review: who, when and why."""

    user: str
    at: float
    comment: str


class Operation(Frozen):
    """A requested switch and everything decided about it."""

    id: str
    type: OpType
    state: OpState
    runbook: str
    drill_of: OpType | None = None
    app: str | None = None
    reason: str = ""
    auto: bool = False
    requested_by: str
    requested_at: float
    expires_at: float
    evidence: Evidence | None = None
    evidence_digest: str | None = None
    requester_evidence: dict[str, Any] = Field(default_factory=dict)
    approvals: list[Approval] = Field(default_factory=list)
    confirmed_at: float | None = None
    rejection: Decision | None = None
    cancellation: Decision | None = None
    break_glass: Decision | None = None
    review_required: bool = False
    review: Decision | None = None
    split_brain_accepted: Decision | None = Field(
        None, description="An approver let traffic move on an insufficient fencing attestation.")
    started_at: float | None = None
    finished_at: float | None = None
    outcome: str | None = None
    report: dict[str, Any] | None = None
    version: int = 0

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def is_drill(self) -> bool:
        return self.type is OpType.DRILL


class StepState(StrEnum):
    """Life of one runbook step."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    SIMULATED = "simulated"


STEP_DONE = frozenset({StepState.SUCCEEDED, StepState.SKIPPED, StepState.SIMULATED})


class StepRecord(Frozen):
    """The persisted state of one step of one operation's run."""

    operation_id: str
    index: int
    id: str
    kind: str
    title: str
    state: StepState = StepState.PENDING
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    output: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    note: str | None = None
    claimed_by: str | None = None
    lease_until: float | None = None


class User(Frozen):
    """A person or a service account."""

    name: str
    role: Role
    created_at: float
    disabled: bool = False
    display_name: str = ""


class TokenRecord(Frozen):
    """An API token: only its sha256 is stored."""

    id: str
    user: str
    hash: str
    created_at: float
    revoked_at: float | None = None
    label: str = ""


class AuditEntry(Frozen):
    """What happened, before it is sealed into the chain."""

    at: float
    actor: str
    action: str
    target: str = ""
    outcome: str = "ok"
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditRecord(Frozen):
    """A sealed audit record: sequence number, previous hash and own hash."""

    seq: int
    at: float
    actor: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class Principal(Frozen):
    """An authenticated caller."""

    user: str
    role: Role
    token_id: str | None = None
