"""A rows-per-second throttle for reading production: one limit, a lower one inside
``busy_hours`` (local ``HH:MM-HH:MM`` windows; a window may pass midnight).

:func:`limit_at` and :func:`delay` are pure; :class:`Throttle` is shared by the threads
of one run and sleeps the caller just long enough.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from datetime import time as clock_time

from drcommon.errors import ConfigError


def parse_window(text: str) -> tuple[clock_time, clock_time]:
    """``"08:00-18:30"`` -> (08:00, 18:30)."""
    try:
        start, end = (clock_time.fromisoformat(p.strip()) for p in text.split("-", 1))
    except ValueError:
        raise ConfigError("busy hours must look like 08:00-18:00", value=text) from None
    return start, end


def in_window(now: clock_time, window: tuple[clock_time, clock_time]) -> bool:
    start, end = window
    if start <= end:
        return start <= now < end
    return now >= start or now < end  # passes midnight


def limit_at(now: datetime, normal: float, busy: float, windows: Sequence[str]) -> float:
    """Rows per second allowed at local time ``now`` (0: no limit)."""
    moment = now.time()
    if any(in_window(moment, parse_window(w)) for w in windows):
        return busy
    return normal


def delay(rows: int, elapsed: float, limit: float) -> float:
    """Seconds to wait so that ``rows`` over ``elapsed`` seconds stay within ``limit``."""
    if limit <= 0:
        return 0.0
    return max(0.0, rows / limit - elapsed)


class Throttle:
    """Paces the rows a run reads (shared by its threads)."""

    def __init__(self, normal: float, busy: float = 0.0, windows: Sequence[str] = (),
                 *, now: Callable[[], datetime] = datetime.now,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:  # fmt: skip
        for window in windows:
            parse_window(window)  # refuse a bad window now, not at 8 o'clock
        self._normal, self._busy, self._windows = normal, busy, tuple(windows)
        self._now, self._monotonic, self._sleep = now, monotonic, sleep
        self._lock = threading.Lock()
        self._start = monotonic()
        self._rows = 0
        self._limit = self.limit()

    def limit(self) -> float:
        return limit_at(self._now(), self._normal, self._busy, self._windows)

    def take(self, rows: int) -> None:
        """Account for ``rows`` read; sleep when they came too fast."""
        with self._lock:
            limit = self.limit()
            if limit != self._limit:  # a window opened or closed: count afresh
                self._limit, self._start, self._rows = limit, self._monotonic(), 0
            self._rows += rows
            wait = delay(self._rows, self._monotonic() - self._start, limit)
        if wait > 0:
            self._sleep(wait)
