"""Split-brain guard: second-vantage-point views and the fencing attestation.

Before a site is declared down, a witness at a third location is asked for its view
(:meth:`Guard.witness_view`). Before traffic moves away from a site, the site is fenced
and an attestation is recorded that combines independent signals:

* ``fence``: the fencing action succeeded;
* ``vantage``: at least two vantage points (appha here, a witness) see the site not
  serving, and none sees it serving;
* ``lease``: no vantage point has seen the site alive for ``lease_seconds``, so a
  site-side watchdog holding the same lease has stopped it.

The attestation is sufficient when the fence succeeded, no vantage point sees the site
serving, and at least ``min_attestation_signals`` signals hold. Every switch requires it
(a switch a person confirmed may go on without it only with their explicit acceptance of
a possible split brain).

Fencing production has consequences, so it happens only as a step of a switch: an
approved one, or an automatic one the witness rule allowed. Before that (a manual
request waiting in control) appha only *observes* (:meth:`Guard.observe`): the same
vantage and lease signals, no fence action, never sufficient.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from drappha.adapters import (
    ActionContext,
    Outcome,
    Probe,
    make_action,
    make_probe,
    run_action,
    run_check,
)
from drappha.model import Site, Status
from drappha.peers import Vantage, VantageReport, combine
from drappha.settings import AppSettings
from drappha.specs import AnyCheck, check_name

LOCAL_VANTAGE = "appha"


@dataclass(frozen=True, slots=True)
class Attestation:
    """Evidence that a site no longer serves, gathered right after fencing it."""

    site: str
    operation_id: str
    kind: str  # "fence": fenced then looked; "observation": looked only, nothing done
    fence_configured: bool
    fence_ok: bool
    fence_detail: str
    vantages: tuple[VantageReport, ...]
    last_seen_alive_wall: float | None
    lease_seconds: float
    lease_expired: bool
    signals: tuple[str, ...]
    sufficient: bool
    at_wall: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "operation_id": self.operation_id,
            "kind": self.kind,
            "fence": {
                "configured": self.fence_configured,
                "ok": self.fence_ok,
                "detail": self.fence_detail,
            },
            "vantages": [v.as_dict() for v in self.vantages],
            "lease": {
                "seconds": self.lease_seconds,
                "last_seen_alive_at": self.last_seen_alive_wall,
                "expired": self.lease_expired,
            },
            "signals": list(self.signals),
            "sufficient": self.sufficient,
            "at": self.at_wall,
        }


def evaluate(
    *, fence_ok: bool, vantages: list[VantageReport], lease_expired: bool, min_signals: int
) -> tuple[tuple[str, ...], bool]:
    """Which signals hold, and whether together they are sufficient."""
    down = sum(1 for v in vantages if v.status is Status.DOWN)
    seen_up = any(v.status is Status.UP for v in vantages)
    signals = []
    if fence_ok:
        signals.append("fence")
    if down >= 2 and not seen_up:
        signals.append("vantage")
    if lease_expired:
        signals.append("lease")
    sufficient = fence_ok and not seen_up and len(signals) >= min_signals
    return tuple(signals), sufficient


def lease_expired(last_alive_wall: float | None, lease_seconds: float, now_wall: float) -> bool:
    """Expired when the site was seen alive, but not within the lease. Never seen since
    appha started proves nothing either way, so it does not count as expired."""
    return last_alive_wall is not None and now_wall - last_alive_wall >= lease_seconds


class Guard:
    """Asks witnesses, probes a site from here, fences and attests."""

    def __init__(
        self,
        app: str,
        settings: AppSettings,
        vantages: list[Vantage],
        probes: dict[Site, list[tuple[str, AnyCheck, Probe]]],
    ) -> None:
        self._app = app
        self._settings = settings
        self._vantages = vantages
        self._probes = probes

    @property
    def has_witness(self) -> bool:
        return bool(self._vantages)

    async def witness_reports(self, site: Site) -> list[VantageReport]:
        """Every witness's view of ``site``, asked concurrently."""
        if not self._vantages:
            return []
        return list(await asyncio.gather(*(v.probe(self._app, site.value) for v in self._vantages)))

    async def witness_view(self, site: Site) -> Status:
        """The witnesses' joint view of ``site`` (see :func:`drappha.peers.combine`)."""
        return combine(await self.witness_reports(site))

    async def local_report(self, site: Site) -> VantageReport:
        """Run ``site``'s checks once from here: serving only if all pass."""
        results = await asyncio.gather(
            *(
                run_check(name, probe, spec.timeout_seconds)
                for name, spec, probe in self._probes[site]
            )
        )
        failing = [f"{r.check}: {r.detail}" for r in results if not r.ok]
        if failing:
            return VantageReport(LOCAL_VANTAGE, Status.DOWN, "; ".join(failing))
        return VantageReport(LOCAL_VANTAGE, Status.UP, "all checks pass")

    async def fence(self, site: Site, operation_id: str) -> tuple[bool, Outcome]:
        """Run ``site``'s fence action; (configured, outcome)."""
        spec = self._settings.primary if site is Site.PRIMARY else self._settings.standby
        if spec.fence is None:
            return False, Outcome(False, "no fence action configured")
        ctx = ActionContext(self._app, site.value, operation_id, tuple(spec.servers))
        outcome = await run_action(make_action(spec.fence), ctx, spec.fence.timeout_seconds)
        return True, outcome

    async def attest(
        self, site: Site, operation_id: str, last_alive_wall: float | None
    ) -> Attestation:
        """Fence ``site``, then look at it from every vantage point and weigh the lease.
        Only a switch's ``fence_source`` step calls this."""
        configured, outcome = await self.fence(site, operation_id)
        return await self._look(site, operation_id, last_alive_wall, "fence", configured,
                                outcome)

    async def observe(
        self, site: Site, operation_id: str, last_alive_wall: float | None
    ) -> Attestation:
        """Look at ``site`` from every vantage point and weigh the lease, without fencing
        it: what a request shows the approver before anyone has decided."""
        spec = self._settings.primary if site is Site.PRIMARY else self._settings.standby
        outcome = Outcome(False, "not fenced yet: the switch fences it after approval")
        return await self._look(site, operation_id, last_alive_wall, "observation",
                                spec.fence is not None, outcome)

    async def _look(
        self,
        site: Site,
        operation_id: str,
        last_alive_wall: float | None,
        kind: str,
        configured: bool,
        outcome: Outcome,
    ) -> Attestation:
        local, remote = await asyncio.gather(self.local_report(site), self.witness_reports(site))
        vantages = [local, *remote]
        now_wall = time.time()
        lease_seconds = self._settings.switch.lease_seconds
        expired = lease_expired(last_alive_wall, lease_seconds, now_wall)
        signals, sufficient = evaluate(
            fence_ok=outcome.ok,
            vantages=vantages,
            lease_expired=expired,
            min_signals=self._settings.switch.min_attestation_signals,
        )
        return Attestation(
            site=site.value,
            operation_id=operation_id,
            kind=kind,
            fence_configured=configured,
            fence_ok=outcome.ok,
            fence_detail=outcome.detail,
            vantages=tuple(vantages),
            last_seen_alive_wall=last_alive_wall,
            lease_seconds=lease_seconds,
            lease_expired=expired,
            signals=signals,
            sufficient=sufficient,
            at_wall=now_wall,
        )


def probes_for(settings: AppSettings) -> dict[Site, list[tuple[str, AnyCheck, Probe]]]:
    """One probe per configured check, keyed by site."""
    return {
        Site.PRIMARY: [
            (check_name(i, c), c, make_probe(c)) for i, c in enumerate(settings.primary.checks)
        ],
        Site.STANDBY: [
            (check_name(i, c), c, make_probe(c)) for i, c in enumerate(settings.standby.checks)
        ],
    }
