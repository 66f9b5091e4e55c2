"""The time budget the configuration implies, checked against the promised targets.

Worst-case detection = check interval × failure threshold + one check timeout (the
outage begins just after a good check). A runbook's worst case = Σ over its live steps
of timeout × attempts + pauses between attempts, plus one engine poll to pick it up.
The RTO is counted from the confirmation (as in the report), so human waiting time is
not part of it; detection is shown beside it as the time before anyone can be asked.
"""

from __future__ import annotations

from typing import Any

from drcommon.errors import ConfigError

from drcontrol.model import Frozen
from drcontrol.runbooks.model import Runbook
from drcontrol.settings import ControlSettings

CHECKED = ("failover", "switchover", "switchback")


class StepBudget(Frozen):
    """One step's worst case."""

    id: str
    seconds: float
    formula: str


class RunbookBudget(Frozen):
    """One runbook's worst case, confirmation to restored."""

    name: str
    seconds: float
    steps: list[StepBudget]
    largest: str


class Budget(Frozen):
    """Detection, per-runbook RTO budgets, targets and violations."""

    detection_seconds: float
    detection_formula: str
    alert_detection_seconds: float
    runbooks: dict[str, RunbookBudget]
    end_to_end_seconds: dict[str, float]
    targets: dict[str, Any]
    violations: list[dict[str, Any]]


def runbook_budget(book: Runbook, settings: ControlSettings) -> RunbookBudget:
    """Worst case of the live (non-drill) steps of ``book``."""
    delay = settings.engine.retry_delay_seconds
    rows = [
        StepBudget(
            id=step.id,
            seconds=step.timeout_seconds * step.attempts + delay * step.retries,
            formula=f"{step.timeout_seconds:g} s × {step.attempts} + {delay:g} s × {step.retries}",
        )
        for step in book.steps_for(drill=False)
    ]
    pickup = settings.engine.poll_interval_seconds
    total = sum(row.seconds for row in rows) + pickup
    largest = max(rows, key=lambda r: r.seconds).id if rows else ""
    return RunbookBudget(name=book.name, seconds=total, steps=rows, largest=largest)


def compute(settings: ControlSettings, runbooks: dict[str, Runbook]) -> Budget:
    """The whole budget and what breaks the targets (pure)."""
    det = settings.detection
    detection = det.interval_seconds * det.failure_threshold + det.check_timeout_seconds
    books = {name: runbook_budget(book, settings) for name, book in sorted(runbooks.items())}
    targets = settings.targets
    violations: list[dict[str, Any]] = []
    for name in CHECKED:
        budget = books.get(name)
        if budget is not None and budget.seconds > targets.rto_seconds:
            violations.append({
                "keys": ["targets.rto_seconds", f"runbooks.{name}.steps.{budget.largest}"],
                "message": (f"runbook {name} may take {budget.seconds:.0f} s in the worst case "
                            f"but targets.rto_seconds is {targets.rto_seconds:.0f} s; lower its "
                            f"step timeouts/retries (largest: {budget.largest}) or raise the "
                            "target"),
            })
    if targets.detection_seconds is not None and detection > targets.detection_seconds:
        violations.append({
            "keys": ["targets.detection_seconds", "detection.interval_seconds",
                     "detection.failure_threshold", "detection.check_timeout_seconds"],
            "message": (f"worst-case detection {detection:.0f} s exceeds "
                        f"targets.detection_seconds {targets.detection_seconds:.0f} s"),
        })
    return Budget(
        detection_seconds=detection,
        detection_formula=(f"{det.interval_seconds:g} s × {det.failure_threshold} + "
                           f"{det.check_timeout_seconds:g} s"),
        alert_detection_seconds=settings.watch.interval_seconds * 2,
        runbooks=books,
        end_to_end_seconds={n: detection + b.seconds for n, b in books.items()},
        targets=targets.model_dump(mode="json"),
        violations=violations,
    )


def validate(budget: Budget) -> None:
    """Refuse to start on settings that cannot meet the targets (names the keys)."""
    if budget.violations:
        first = budget.violations[0]
        keys = sorted({key for v in budget.violations for key in v["keys"]})
        raise ConfigError("; ".join(v["message"] for v in budget.violations),
                          key=", ".join(keys), first=first["keys"][0])
