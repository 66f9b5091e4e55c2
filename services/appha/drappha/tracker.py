"""Rise/fall of checks and the verdict on a site: pure folds over check results.

A check starts ``unknown``; ``rise`` consecutive successes make it ``up``, ``fall``
consecutive failures make it ``down``; in between it keeps its status (hysteresis, the
HAProxy way). A site is down when any of its checks is down and up when all are up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from drappha.model import CheckResult, CheckView, SiteView, Status


def observe(view: CheckView, result: CheckResult, *, rise: int, fall: int) -> CheckView:
    """The check's state after one more result."""
    known_at = result.started_at + result.latency
    if result.ok:
        successes = view.consecutive_successes + 1
        becomes_up = view.status is not Status.UP and successes >= rise
        return replace(
            view,
            status=Status.UP if becomes_up else view.status,
            consecutive_successes=successes,
            consecutive_failures=0,
            failing_since=None,
            failing_since_wall=None,
            up_since=known_at if becomes_up else view.up_since,
            last_ok_at=known_at,
        )
    failures = view.consecutive_failures + 1
    first = view.consecutive_failures == 0
    becomes_down = failures >= fall
    return replace(
        view,
        status=Status.DOWN if becomes_down else view.status,
        consecutive_failures=failures,
        consecutive_successes=0,
        failing_since=result.started_at if first else view.failing_since,
        failing_since_wall=result.started_wall if first else view.failing_since_wall,
        up_since=None if becomes_down else view.up_since,
    )


def site_view(checks: Iterable[CheckView]) -> SiteView:
    """Aggregate a site's checks into one verdict."""
    views = tuple(checks)
    down = [c for c in views if c.status is Status.DOWN]
    if down:
        first = min(down, key=lambda c: c.failing_since or 0.0)
        return SiteView(
            Status.DOWN,
            views,
            consecutive_failures=max(c.consecutive_failures for c in down),
            failing_since=first.failing_since,
            failing_since_wall=first.failing_since_wall,
        )
    if views and all(c.status is Status.UP for c in views):
        since = [c.up_since for c in views if c.up_since is not None]
        return SiteView(Status.UP, views, up_since=max(since) if since else None)
    return SiteView(Status.UNKNOWN, views)


def threshold_met(site: SiteView, *, failures: int, seconds: float, now: float) -> bool:
    """Whether one down check has failed ``failures`` times in a row for ``seconds``."""
    return any(
        c.status is Status.DOWN
        and c.consecutive_failures >= failures
        and c.failing_since is not None
        and now - c.failing_since >= seconds
        for c in site.checks
    )


def threshold_progress(site: SiteView, *, failures: int, seconds: float, now: float) -> str:
    """Human text for how far the worst check is from the switching threshold."""
    failing = [c for c in site.checks if c.consecutive_failures > 0]
    if not failing:
        return "no check failing"
    worst = max(failing, key=lambda c: c.consecutive_failures)
    lasted = now - worst.failing_since if worst.failing_since is not None else 0.0
    return (
        f"{worst.name} failed {worst.consecutive_failures}/{failures} times "
        f"for {lasted:.1f}/{seconds:.1f} s"
    )


def last_seen_alive(site: SiteView) -> float | None:
    """The latest success of any check: the last sign of life (conservative for a lease)."""
    times = [c.last_ok_at for c in site.checks if c.last_ok_at is not None]
    return max(times) if times else None
