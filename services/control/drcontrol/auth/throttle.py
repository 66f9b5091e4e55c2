"""Slowing guessers down: failed attempts counted per key, a lockout after too many.

Keys are strings such as ``client:10.0.0.7``, ``token:3f2a…`` (the id part of a
presented token) or ``totp:alice``. Within ``window_seconds`` a key may fail
``max_failures`` times; the next failure locks it for ``lockout_seconds``, during which
the attempt is refused (429 with ``Retry-After``) before anything is checked. Counting
is in memory, per control process: a restart forgets it, which a guesser cannot cause.

The audit gets one row for the first failure of a key in a window and one summary row
when a key is locked (with the count), not a row per attempt: 300 bad tokens write a
handful of rows, not 300.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Limits:
    """How many failures a key may have in a window, and how long a lockout lasts."""

    max_failures: int
    window_seconds: float
    lockout_seconds: float


@dataclass(slots=True)
class _Entry:
    window_start: float
    failures: int = 0
    locked_until: float = 0.0
    refused: int = 0  # attempts refused while locked


@dataclass(frozen=True, slots=True)
class Failure:
    """What one failed attempt meant: audit it (first in its window), and which keys it
    locked (key, failures counted)."""

    first: bool
    locked: tuple[tuple[str, int], ...] = ()


@dataclass
class Throttle:
    """Failure counters and lockouts for a set of keys (see the module docstring)."""

    limits: Limits
    clock: Callable[[], float]
    _entries: dict[str, _Entry] = field(default_factory=dict)
    max_keys: int = 100_000  # bound memory against a flood of distinct keys

    def retry_after(self, keys: Iterable[str]) -> float | None:
        """Seconds until the longest lockout among ``keys`` ends, or None if none is."""
        now = self.clock()
        waits = []
        for key in keys:
            entry = self._entries.get(key)
            if entry is not None and entry.locked_until > now:
                entry.refused += 1
                waits.append(entry.locked_until - now)
        return max(waits) if waits else None

    def failed(self, keys: Iterable[str]) -> Failure:
        """Count a failure against every key; lock those over the limit."""
        now = self.clock()
        first = False
        locked: list[tuple[str, int]] = []
        for key in keys:
            entry = self._entries.get(key)
            if entry is None or now - entry.window_start > self.limits.window_seconds:
                self._make_room(now)
                entry = _Entry(window_start=now)
                self._entries[key] = entry
                first = True
            entry.failures += 1
            if entry.failures > self.limits.max_failures and entry.locked_until <= now:
                entry.locked_until = now + self.limits.lockout_seconds
                locked.append((key, entry.failures))
        return Failure(first, tuple(locked))

    def succeeded(self, key: str) -> None:
        """Forget a key's failures (a right TOTP code, a valid token)."""
        entry = self._entries.get(key)
        if entry is not None and entry.locked_until <= self.clock():
            del self._entries[key]

    def _make_room(self, now: float) -> None:
        if len(self._entries) < self.max_keys:
            return
        stale = [k for k, e in self._entries.items()
                 if e.locked_until <= now and now - e.window_start > self.limits.window_seconds]
        for key in stale:
            del self._entries[key]
        if len(self._entries) >= self.max_keys:  # still full: drop the oldest windows
            for key, _ in sorted(self._entries.items(), key=lambda kv: kv[1].window_start)[
                    : len(self._entries) // 10 or 1]:
                del self._entries[key]
