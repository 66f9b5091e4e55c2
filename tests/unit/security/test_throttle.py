"""The throttle's counting (issue 17, finding 6): windows, lockouts, memory bound."""

from __future__ import annotations

from drcontrol.auth.throttle import Limits, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lockout_after_the_limit_then_a_new_window() -> None:
    clock = Clock()
    throttle = Throttle(Limits(max_failures=3, window_seconds=60, lockout_seconds=30), clock)
    firsts = [throttle.failed(["client:a"]).first for _ in range(3)]
    assert firsts == [True, False, False]
    assert throttle.retry_after(["client:a"]) is None
    locking = throttle.failed(["client:a"])
    assert locking.locked == (("client:a", 4),)
    assert throttle.retry_after(["client:a", "client:b"]) == 30
    clock.now += 31
    assert throttle.retry_after(["client:a"]) is None
    clock.now += 60  # the window is over: counting starts again
    assert throttle.failed(["client:a"]).first


def test_success_forgets_and_memory_is_bounded() -> None:
    clock = Clock()
    throttle = Throttle(Limits(2, 60, 30), clock, max_keys=100)
    throttle.failed(["totp:ann"])
    throttle.succeeded("totp:ann")
    assert throttle.failed(["totp:ann"]).first
    for i in range(1000):
        throttle.failed([f"client:{i}"])
    assert len(throttle._entries) <= 100
