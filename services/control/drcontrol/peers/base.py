"""What control needs from capture, apply, appha, Kafka and the DR database.

The HTTP clients in :mod:`drcontrol.peers.http` implement these against the admin APIs
of docs/INTERFACES.md; anything else with the same methods plugs in unchanged. Every
mutating call carries the operation id so the peer can make it idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from drcontrol.settings import SqlHook


class CaptureClient(Protocol):
    """capture's admin API."""

    where: str

    async def status(self) -> dict[str, Any]: ...

    async def fence(self, operation_id: str) -> dict[str, Any]:
        """Publish a final watermark and stop; answers ``{"final_scn"}``."""
        ...

    async def stop(self, operation_id: str) -> None: ...


class ApplyClient(Protocol):
    """apply's admin API."""

    where: str

    async def status(self) -> dict[str, Any]: ...

    async def hold(self, scn: int, operation_id: str) -> None: ...

    async def resume(self, operation_id: str) -> None: ...

    async def stop(self, operation_id: str) -> None: ...

    async def replay(self, body: dict[str, Any], operation_id: str) -> dict[str, Any]: ...


class ApphaClient(Protocol):
    """appha's admin API."""

    where: str

    async def apps(self) -> list[dict[str, Any]]: ...

    async def switch(self, app: str, operation_id: str, requested_by: str, *, back: bool,
                     accept_split_brain: str | None = None,
                     compensates: str | None = None) -> None:
        """Move ``app`` to the standby (``back=False``) or home site; idempotent per id.
        ``accept_split_brain`` (who and why) lets the switch go on when the fencing
        attestation is insufficient; without it appha fails the switch before traffic moves.
        ``compensates`` names the app's last switch this one undoes."""
        ...

    async def acknowledge(self, app: str, requested_by: str, comment: str) -> None:
        """Lift appha's block on ``app`` after a failed switch (audited there)."""
        ...

    async def switch_status(self, app: str, operation_id: str) -> dict[str, Any] | None:
        """The switch this operation started, None when there is none."""
        ...


class KafkaProbe(Protocol):
    """Is the Kafka cluster reachable?"""

    where: str

    async def probe(self) -> dict[str, Any]:
        """Facts about the cluster; raises PeerError when it cannot be reached."""
        ...


class DrDatabase(Protocol):
    """The DR database that promotion hooks run against."""

    where: str

    async def ping(self) -> dict[str, Any]: ...

    async def run_hook(self, hook: SqlHook, operation_id: str, *, simulate: bool) -> dict[str, Any]:
        """Run ``hook`` once per operation (a marker row in the same transaction makes a
        second call a no-op); ``simulate`` rolls back and reports what would change."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Peers:
    """Every collaborator the engine and the evidence collector use (None: not deployed)."""

    capture: CaptureClient | None
    apply: ApplyClient | None
    appha: ApphaClient | None
    kafka: KafkaProbe | None
    database: DrDatabase | None = None
    reverse_capture: CaptureClient | None = None
    reverse_apply: ApplyClient | None = None

    def capture_named(self, name: str) -> CaptureClient | None:
        return self.reverse_capture if name == "reverse_capture" else self.capture

    def apply_named(self, name: str) -> ApplyClient | None:
        return self.reverse_apply if name == "reverse_apply" else self.apply
