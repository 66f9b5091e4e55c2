"""The peers appha talks to, as protocols: the control service and witnesses.

The HTTP implementations live in ``adapters/``; tests and a future in-process control
plug in through the same protocols.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from drappha.model import Status

#: control operation states that mean "this request will not be carried out".
DECLINED_STATES = frozenset(
    {"rejected", "declined", "denied", "cancelled", "canceled", "expired", "aborted", "failed"}
)


class ControlClient(Protocol):
    """The part of control's API that appha calls (docs/INTERFACES.md, control API)."""

    async def open_request(
        self, app: str, reason: str, evidence: dict[str, Any], request_key: str
    ) -> str:
        """Open an ``app_failover`` operation; return its id. ``request_key`` is the same
        on every retry of one request, so control answers a retry with the first id."""
        ...

    async def request_state(self, request_id: str) -> str:
        """The operation's state (pending, approved, rejected …)."""
        ...

    async def withdraw_request(self, request_id: str, comment: str) -> None:
        """Cancel a request that is no longer needed (the site recovered)."""
        ...

    async def frozen(self, app: str) -> bool:
        """Whether control forbids an automatic switch of ``app`` now (freeze, block)."""
        ...

    async def report(self, app: str, kind: str, detail: dict[str, Any]) -> None:
        """Tell control what happened (mode change, alert, switch result)."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class VantageReport:
    """One vantage point's view of one site."""

    vantage: str
    status: Status
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"vantage": self.vantage, "status": self.status.value, "detail": self.detail}


class Vantage(Protocol):
    """A second vantage point (a witness at a third location)."""

    name: str

    async def probe(self, app: str, site: str) -> VantageReport:
        """Ask it to check ``site`` of ``app`` now; UNKNOWN when it cannot tell."""
        ...

    async def close(self) -> None: ...


def combine(reports: list[VantageReport]) -> Status:
    """Witnesses' joint view: UP if any sees the site serving, DOWN if at least one sees
    it down and none up, UNKNOWN otherwise (none reachable)."""
    statuses = {r.status for r in reports}
    if Status.UP in statuses:
        return Status.UP
    if Status.DOWN in statuses:
        return Status.DOWN
    return Status.UNKNOWN
