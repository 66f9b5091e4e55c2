"""Rise/fall hysteresis and the site verdict."""

from __future__ import annotations

from drappha.model import CheckResult, CheckView, Status
from drappha.tracker import last_seen_alive, observe, site_view, threshold_met
from hypothesis import given
from hypothesis import strategies as st


def result(ok: bool, at: float) -> CheckResult:
    return CheckResult("c", ok, 0.01, "", at, 1e9 + at)


def run(outcomes: list[bool], rise: int = 2, fall: int = 3) -> list[CheckView]:
    view, out = CheckView("c"), []
    for i, ok in enumerate(outcomes):
        view = observe(view, result(ok, float(i)), rise=rise, fall=fall)
        out.append(view)
    return out


def test_rise_and_fall() -> None:
    views = run([True, True, False, False, False, True, True])
    assert [v.status for v in views] == [
        Status.UNKNOWN,
        Status.UP,
        Status.UP,
        Status.UP,
        Status.DOWN,
        Status.DOWN,
        Status.UP,
    ]
    assert views[4].failing_since == 2.0 and views[4].consecutive_failures == 3
    assert views[6].up_since is not None and views[6].up_since > 6.0


@given(st.lists(st.booleans(), max_size=60), st.integers(1, 4), st.integers(1, 4))
def test_status_changes_only_after_full_streaks(outcomes: list[bool], rise: int, fall: int) -> None:
    views = run(outcomes, rise, fall)
    previous = Status.UNKNOWN
    for i, view in enumerate(views):
        if view.status is not previous:
            window = outcomes[max(0, i + 1 - (rise if view.status is Status.UP else fall)) : i + 1]
            expected = view.status is Status.UP
            assert len(window) == (rise if expected else fall)
            assert all(ok is expected for ok in window)
        previous = view.status


def test_site_down_if_any_check_down_and_threshold_needs_count_and_duration() -> None:
    a = run([False, False, False, False])[-1]
    b = run([True, True])[-1]
    site = site_view([a, b])
    assert site.status is Status.DOWN and site.failing_since == 0.0
    assert threshold_met(site, failures=4, seconds=3.0, now=3.0)
    assert not threshold_met(site, failures=5, seconds=3.0, now=3.0)
    assert not threshold_met(site, failures=4, seconds=3.5, now=3.0)
    assert site_view([b, b]).status is Status.UP
    assert site_view([b, CheckView("x")]).status is Status.UNKNOWN


def test_last_seen_alive_is_latest_success() -> None:
    views = run([True, True, False])
    assert last_seen_alive(site_view([views[-1]])) == 1.01
