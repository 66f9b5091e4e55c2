"""Builders of site views for decision tests (pure data, no servers)."""

from __future__ import annotations

from drappha.model import CheckView, SiteView, Status


def up(since: float = -1000.0) -> SiteView:
    """A site whose one check has been up since ``since``."""
    check = CheckView("http0", Status.UP, consecutive_successes=5, up_since=since, last_ok_at=since)
    return SiteView(Status.UP, (check,), up_since=since)


def down(since: float, failures: int) -> SiteView:
    """A site whose one check is down: ``failures`` in a row since ``since``."""
    check = CheckView(
        "http0",
        Status.DOWN,
        consecutive_failures=failures,
        failing_since=since,
        failing_since_wall=1_700_000_000.0 + since,
    )
    return SiteView(
        Status.DOWN,
        (check,),
        consecutive_failures=failures,
        failing_since=since,
        failing_since_wall=1_700_000_000.0 + since,
    )


def unknown() -> SiteView:
    """A site with no verdict yet."""
    return SiteView(Status.UNKNOWN, (CheckView("http0"),))
