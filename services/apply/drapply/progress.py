"""Progress of long work (load, compare): rows done, rate, ETA; one line, redrawn.

:func:`eta_seconds` and :func:`render` are pure; :class:`Progress` is thread-safe (chunks
are copied in parallel) and draws at most every ``every`` seconds on a terminal, or
logs a line every ``log_every`` seconds otherwise.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

log = logging.getLogger(__name__)


def eta_seconds(done: int, total: int, elapsed: float) -> float | None:
    """Seconds left at the rate so far (None before there is a rate)."""
    if done <= 0 or elapsed <= 0:
        return None
    return max(0.0, (total - done) * elapsed / done)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def render(label: str, done: int, total: int, elapsed: float, note: str = "") -> str:
    """``load  42% 123,456/290,000 rows  45,321 rows/s  ETA 0:03  SI.PERSON``; without a
    total (not known up front) only rows and rate."""
    rate = done / elapsed if elapsed > 0 else 0.0
    if total <= 0:
        text = f"{label} {done:,} rows {rate:,.0f} rows/s"
        return f"{text}  {note}" if note else text
    share = min(100.0, 100.0 * done / total)
    eta = _duration(eta_seconds(done, total, elapsed))
    text = (f"{label} {share:5.1f}% {done:,}/{max(total, done):,} rows "
            f"{rate:,.0f} rows/s ETA {eta}")  # fmt: skip
    return f"{text}  {note}" if note else text


class Progress:
    """A shared progress line (see the module docstring)."""

    def __init__(self, label: str, total: int, *, out: TextIO | None = None,
                 every: float = 0.5, log_every: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.label = label
        self.total = total
        self.done = 0
        self._out = out if out is not None else sys.stderr  # None: log lines only
        self._tty = out is not None and bool(getattr(out, "isatty", lambda: False)())
        self._every = every if self._tty else log_every
        self._clock = clock
        self._start = clock()
        self._last = 0.0
        self._lock = threading.Lock()
        self.note = ""

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    def add_total(self, rows: int) -> None:
        with self._lock:
            self.total += rows

    def advance(self, rows: int, note: str | None = None) -> None:
        with self._lock:
            self.done += rows
            if note is not None:
                self.note = note
            now = self._clock()
            if now - self._last < self._every:
                return
            self._last = now
            self._draw(final=False)

    def finish(self) -> None:
        with self._lock:
            self._draw(final=True)

    def document(self) -> dict[str, object]:
        """Where the work stands (for status calls)."""
        with self._lock:
            elapsed = self.elapsed
            return {"label": self.label, "done_rows": self.done, "total_rows": self.total,
                    "elapsed_seconds": round(elapsed, 1),
                    "eta_seconds": eta_seconds(self.done, self.total, elapsed),
                    "note": self.note}  # fmt: skip

    def _draw(self, *, final: bool) -> None:
        line = render(self.label, self.done, self.total, self.elapsed, self.note)
        if self._tty:
            self._out.write("\r\x1b[K" + line + ("\n" if final else ""))
            self._out.flush()
        else:
            log.info(line)
