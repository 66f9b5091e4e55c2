"""What is wrong right now, part by part: the record ``/health``, status and metrics read.

A service that waits out a fault (Kafka away, the DR database stopped, a damaged redo
log, a full disk) keeps serving and says so. Each *part* it depends on (``kafka``,
``database``, ``redo``, ``spill`` …) has at most one :class:`Fault` at a time: since when,
the last error, how many attempts failed, and whether the service can get past it by
itself:

* ``degraded`` — serving and waiting: the service retries with capped backoff and
  resumes by itself when the part is back (``/health`` answers 200);
* ``failing`` — it cannot progress without a person (``/health`` answers 503).

:class:`FaultBoard` is bookkeeping only: time is passed in, nothing is read or written;
the caller logs the lines :meth:`FaultBoard.report` and :meth:`FaultBoard.clear` return.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from drcommon.errors import DRError
from drcommon.http import Health, HealthStatus
from drcommon.metrics import Metrics


class Severity(StrEnum):
    """How bad a fault is (see the module docstring)."""

    DEGRADED = "degraded"
    FAILING = "failing"


@dataclass(frozen=True, slots=True)
class Fault:
    """One part that does not work, as status documents show it."""

    part: str
    severity: Severity
    since: float  # epoch seconds of the first failure of this spell
    last_at: float  # epoch seconds of the newest failure
    error: str
    attempts: int = 1
    facts: Mapping[str, Any] = field(default_factory=dict)

    def document(self, now: float) -> dict[str, Any]:
        """The fault as a JSON object (``faults[]`` of the status documents)."""
        return {
            "part": self.part,
            "severity": self.severity.value,
            "since": _iso(self.since),
            "seconds": round(max(0.0, now - self.since), 1),
            "error": self.error,
            "attempts": self.attempts,
            **({"facts": dict(self.facts)} if self.facts else {}),
        }


@dataclass(frozen=True, slots=True)
class Change:
    """What a report or clear changed: ``line`` is the log line (None: nothing new)."""

    fault: Fault
    line: str | None


class FaultBoard:
    """The faults of one service, at most one per part."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}

    def report(
        self,
        part: str,
        error: BaseException | str,
        *,
        now: float,
        failing: bool = False,
        facts: Mapping[str, Any] | None = None,
        since: float | None = None,
    ) -> Change:
        """Record a failure of ``part``. The spell's start is kept (``since``: when it
        began, if earlier than now); the error, the count and the severity follow the
        newest failure. ``line`` is set when the fault is new or its severity changed
        (log it), None for one more failed attempt."""
        severity = Severity.FAILING if failing else Severity.DEGRADED
        text = str(error) or type(error).__name__
        where = dict(facts if facts is not None else _where(error))
        old = self._faults.get(part)
        line: str | None
        if old is None:
            fault = Fault(part, severity, min(now, since or now), now, text, 1, where)
            line = f"{part} {severity.value}: {text}"
        else:
            fault = replace(old, severity=severity, last_at=now, error=text,
                            attempts=old.attempts + 1, facts=where)  # fmt: skip
            line = f"{part} {severity.value}: {text}" if old.severity != severity else None
        self._faults[part] = fault
        return Change(fault, line)

    def clear(self, part: str, *, now: float) -> Change | None:
        """``part`` works again: the fault ends (None when there was none)."""
        old = self._faults.pop(part, None)
        if old is None:
            return None
        seconds = round(max(0.0, now - old.since), 1)
        return Change(old, f"{part} recovered after {seconds} s and {old.attempts} failed "
                           f"attempt(s); last error: {old.error}")  # fmt: skip

    def get(self, part: str) -> Fault | None:
        return self._faults.get(part)

    def active(self) -> list[Fault]:
        """Every fault, failing first, then oldest first."""
        return sorted(self._faults.values(),
                      key=lambda f: (f.severity is not Severity.FAILING, f.since))  # fmt: skip

    def severity(self) -> Severity | None:
        faults = self.active()
        return faults[0].severity if faults else None

    def documents(self, now: float) -> list[dict[str, Any]]:
        return [f.document(now) for f in self.active()]

    def health(self, details: Mapping[str, Any], now: float) -> Health:
        """``ok`` without faults; else the worst one's status, every fault in details."""
        faults = self.active()
        if not faults:
            return Health(HealthStatus.OK, dict(details))
        status = (HealthStatus.FAILING if faults[0].severity is Severity.FAILING
                  else HealthStatus.DEGRADED)  # fmt: skip
        return Health(status, {**details, "error": faults[0].error,
                               "faults": self.documents(now)})  # fmt: skip


class FaultMetrics:
    """``fault_active{part,severity}`` (1 while it lasts) and ``fault_seconds{part}``."""

    def __init__(self, metrics: Metrics) -> None:
        self._active = metrics.gauge(
            "fault_active", "1 while a part the service needs has a fault.", ("part", "severity")
        )
        self._seconds = metrics.gauge(
            "fault_seconds", "How long the part's current fault has lasted.", ("part",)
        )
        self._parts: set[str] = set()

    def update(self, board: FaultBoard, now: float) -> None:
        current = {f.part: f for f in board.active()}
        for part in self._parts | current.keys():
            fault = current.get(part)
            for severity in Severity:
                on = fault is not None and fault.severity is severity
                self._active.labels(part, severity.value).set(1 if on else 0)
            self._seconds.labels(part).set(max(0.0, now - fault.since) if fault else 0)
        self._parts |= current.keys()


def _where(error: BaseException | str) -> dict[str, Any]:
    if isinstance(error, DRError):
        return {k: _plain(v) for k, v in error.where.items()}
    return {}


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
