"""Request bodies of the mutating API calls (shared by the API and the service layer)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from drcontrol.model import AcceptedLoss, Frozen, OpType, Role


class OperationRequest(Frozen):
    """Ask for an operation; it starts with pre-checks and waits for confirmation."""

    type: OpType
    reason: str = Field("", max_length=2000)
    app: str | None = Field(None, description="Application (app_failover only).")
    drill_of: Literal["failover", "switchover"] | None = Field(
        None, description="Which runbook a drill rehearses (default failover)."
    )
    evidence: dict[str, Any] = Field({}, description="What the requester saw (appha).")
    auto: bool = Field(False, description="Opened by an automatic mode (appha).")

    @model_validator(mode="after")
    def _fits_type(self) -> OperationRequest:
        if (self.type is OpType.APP_FAILOVER) != (self.app is not None):
            raise ValueError("app is required for app_failover and only for it")
        if self.drill_of is not None and self.type is not OpType.DRILL:
            raise ValueError("drill_of applies to drills only")
        return self


class ApprovalRequest(Frozen):
    """Confirm exactly the evidence with this digest, accepting at most this loss."""

    evidence_digest: str = Field(..., min_length=64, max_length=64)
    accepted_loss: AcceptedLoss
    comment: str = Field("", max_length=2000)


class CommentRequest(Frozen):
    """A decision that must say why."""

    comment: str = Field(..., min_length=1, max_length=2000)


SPLIT_BRAIN_STATEMENT = "I accept a possible split brain"


class SplitBrainAcceptance(Frozen):
    """Let traffic move although the old site's fencing attestation is insufficient."""

    statement: Literal["I accept a possible split brain"] = Field(
        ..., description="Exactly this sentence: the approver knows what they accept.")
    comment: str = Field(..., min_length=1, max_length=2000)


class SkipRequest(Frozen):
    """Skip the failed step (admin only; audited)."""

    step: str
    comment: str = Field(..., min_length=1, max_length=2000)


class BreakGlassRequest(Frozen):
    """An admin confirms without the customer's confirmer, with a TOTP second factor."""

    totp: str = Field(..., pattern=r"^[0-9]{6,8}$")
    reason: str = Field(..., min_length=1, max_length=2000)
    evidence_digest: str = Field(..., min_length=64, max_length=64)
    accepted_loss: AcceptedLoss


class ReplayRequest(Frozen):
    """Ask apply to replay from a position (docs/INTERFACES.md)."""

    schemas: list[str] | None = None
    from_scn: int | None = Field(None, ge=0)
    from_time: str | None = None
    target: str = "primary"
    reason: str = Field(..., min_length=1, max_length=2000)


class UserCreate(Frozen):
    """A new user; the answer carries the token once."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    role: Role
    display_name: str = ""
