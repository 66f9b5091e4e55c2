"""Load-balancer health: pure verdicts from the site group and apply's status.

``/healthz/primary`` answers 200 where the database is primary; ``/healthz/standby``
answers 200 where the site is a usable replica: replication flows into it, apply is
healthy, recent, and within ``max_lag`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drcontrol.sitegroup import SiteGroupState


@dataclass(frozen=True, slots=True)
class Verdict:
    """200 when ``ok``; ``reason`` goes into the body either way."""

    ok: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ApplyReading:
    """Apply's last status as the watcher saw it (None status: unreachable)."""

    status: dict[str, Any] | None
    at: float
    error: str | None = None


def primary_verdict(site: str, state: SiteGroupState) -> Verdict:
    """Is ``site`` the database primary?"""
    if state.database_primary == site:
        return Verdict(True, f"{site} is the database primary")
    return Verdict(False, f"{site} is not the database primary ({state.database_primary} is)")


def replica_target(state: SiteGroupState) -> str | None:
    """The site replication writes into, None when stopped."""
    return {"primary_to_standby": "standby", "standby_to_primary": "primary"}.get(
        state.replication
    )


def _max_lag(status: dict[str, Any]) -> float | None:
    lags = [s.get("lag_seconds") for s in (status.get("schemas") or {}).values()]
    known = [float(v) for v in lags if v is not None]
    return max(known) if known else None


def standby_verdict(
    site: str,
    state: SiteGroupState,
    reading: ApplyReading | None,
    *,
    max_lag: float,
    now: float,
    stale_after: float,
) -> Verdict:
    """Is ``site`` a replica that readers may use right now?"""
    if state.database_primary == site:
        return Verdict(False, f"{site} is the database primary, not a standby")
    if replica_target(state) != site:
        return Verdict(False, f"replication does not flow into {site} ({state.replication})")
    if reading is None or reading.status is None:
        why = reading.error if reading else "no reading yet"
        return Verdict(False, f"apply status unknown: {why}")
    if now - reading.at > stale_after:
        return Verdict(False, f"apply status is {now - reading.at:.0f} s old")
    status = reading.status
    errors = [n for n, s in (status.get("schemas") or {}).items() if s.get("state") == "error"]
    if status.get("state") in ("failed", "stopped") or errors:
        return Verdict(False, f"apply is {status.get('state')}; schemas in error: {errors}")
    lag = _max_lag(status)
    if lag is None:
        return Verdict(False, "apply lag unknown")
    if lag > max_lag:
        return Verdict(False, f"apply lag {lag:.1f} s exceeds {max_lag:.1f} s")
    return Verdict(True, f"{site} is a standby {lag:.1f} s behind")
