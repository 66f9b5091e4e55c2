"""Worst-case time to detect a failure and to carry out a switch, from configuration alone.

Detection (per check of the active site; the budget is the slowest check): the failure
happens just after a passing run, so the first failing run starts up to one interval
later (``interval``). The switching threshold needs ``n = max(switch_after_failures,
fall)`` consecutive failures *and* ``switch_after_seconds`` since the first failing run
started, so the deciding run is run number ``k = max(n - 1, ceil(D / interval))`` after
the first, and its result may take the whole ``timeout``. Asking the witness adds its
timeout::

    detect = interval + k * interval + timeout + witness_timeout

Switch: the sum of the step bounds (start, target ready, fence, attestation probes,
traffic, verification).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from drappha.settings import AppHASettings, AppSettings, SiteSettings
from drappha.specs import AnyAction, check_name


@dataclass(frozen=True, slots=True)
class CheckBudget:
    """One check's worst-case detection time and its parts."""

    check: str
    interval: float
    runs: int
    timeout: float
    seconds: float


@dataclass(frozen=True, slots=True)
class Budget:
    """An application's worst-case figures, in seconds."""

    app: str
    detect_primary: float
    detect_standby: float
    switch: float
    switchback: float
    witness_timeout: float
    checks: tuple[CheckBudget, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "app": self.app,
            "detect_seconds": {"primary": self.detect_primary, "standby": self.detect_standby},
            "switch_seconds": {"switch": self.switch, "switchback": self.switchback},
            "witness_timeout_seconds": self.witness_timeout,
            "checks": [
                {
                    "check": c.check,
                    "interval": c.interval,
                    "runs_after_first": c.runs,
                    "timeout": c.timeout,
                    "worst_case_seconds": c.seconds,
                }
                for c in self.checks
            ],
        }


def _check_budgets(site: str, spec: SiteSettings, app: AppSettings) -> list[CheckBudget]:
    out = []
    detection = app.detection
    for index, check in enumerate(spec.checks):
        n = max(detection.switch_after_failures, check.fall)
        k = max(n - 1, math.ceil(detection.switch_after_seconds / check.interval_seconds))
        seconds = check.interval_seconds * (1 + k) + check.timeout_seconds
        out.append(
            CheckBudget(
                f"{site}.{check_name(index, check)}",
                check.interval_seconds,
                k,
                check.timeout_seconds,
                round(seconds, 3),
            )
        )
    return out


def _action_seconds(action: AnyAction | None) -> float:
    return action.timeout_seconds if action is not None else 0.0


def _switch_seconds(
    app: AppSettings, source: SiteSettings, target: SiteSettings, wt: float
) -> float:
    probe = max(c.timeout_seconds for c in source.checks)
    return round(
        _action_seconds(target.start)
        + app.switch.target_ready_timeout_seconds
        + _action_seconds(source.fence)
        + max(probe, wt)
        + app.traffic.timeout_seconds
        + app.verify.timeout_seconds,
        3,
    )


def budget(name: str, app: AppSettings, witness_timeout: float) -> Budget:
    """The worst-case figures of one application."""
    primary = _check_budgets("primary", app.primary, app)
    standby = _check_budgets("standby", app.standby, app)
    return Budget(
        app=name,
        detect_primary=round(max(c.seconds for c in primary) + witness_timeout, 3),
        detect_standby=round(max(c.seconds for c in standby) + witness_timeout, 3),
        switch=_switch_seconds(app, app.primary, app.standby, witness_timeout),
        switchback=_switch_seconds(app, app.standby, app.primary, witness_timeout),
        witness_timeout=witness_timeout,
        checks=tuple(primary + standby),
    )


def budgets(settings: AppHASettings) -> list[Budget]:
    """Figures for every configured application."""
    wt = max((w.timeout_seconds for w in settings.witnesses), default=0.0)
    return [budget(name, app, wt) for name, app in settings.apps.items()]


def render(items: list[Budget]) -> str:
    """Plain text for ``drappha check``."""
    lines = []
    for b in items:
        lines.append(f"{b.app}:")
        lines.append(f"  worst-case time to detect, primary down: {b.detect_primary:.1f} s")
        lines.append(f"  worst-case time to detect, standby down: {b.detect_standby:.1f} s")
        lines.append(f"  worst-case time to switch:     {b.switch:.1f} s")
        lines.append(f"  worst-case time to switchback: {b.switchback:.1f} s")
        for c in b.checks:
            lines.append(
                f"    {c.check}: {c.interval:g} s x (1 + {c.runs}) + timeout {c.timeout:g} s "
                f"= {c.seconds:.1f} s"
            )
        if b.witness_timeout:
            lines.append(f"    + witness timeout {b.witness_timeout:g} s")
    return "\n".join(lines)
