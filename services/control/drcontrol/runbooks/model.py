"""The shape of a runbook file (validated strictly: an unknown key is an error)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from drcontrol.model import Frozen

DrillMode = Literal["run", "skip", "simulate"]


class RunbookStep(Frozen):
    """One step: what it does (``kind`` + ``params``), how long and how often to try."""

    id: str = Field(..., pattern=r"^[a-z][a-z0-9_]*$")
    kind: str
    title: str
    timeout_seconds: float = Field(60.0, gt=0, description="One attempt at most this long.")
    retries: int = Field(0, ge=0, le=10, description="Further attempts after a failure.")
    drill: DrillMode = Field("run", description="In a drill: run, skip or simulate.")
    only: Literal["always", "drill", "live"] = Field("always", description="Runs in which mode.")
    preconditions: list[str] = Field([], description="Named conditions checked before acting.")
    on_unmet: Literal["skip", "fail"] = Field("skip", description="When a precondition fails.")
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def attempts(self) -> int:
        return self.retries + 1


class Runbook(Frozen):
    """A named list of steps."""

    name: str = Field(..., pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    steps: list[RunbookStep] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Runbook:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id} appears twice")
            seen.add(step.id)
        return self

    def steps_for(self, drill: bool) -> list[RunbookStep]:
        """The steps that exist in this mode (``only`` filters drill- or live-only steps)."""
        wanted = {"always", "drill" if drill else "live"}
        return [step for step in self.steps if step.only in wanted]
