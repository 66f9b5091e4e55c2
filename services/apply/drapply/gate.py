"""The gate every stream passes before applying: stopped, or held at an SCN.

Set by the admin API (and persisted in the target by the service, so a restart keeps
holding); streams wait on :meth:`Gate.changed` instead of polling.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GateState:
    """An immutable snapshot of the gate."""

    hold_at: int | None = None
    stopped: bool = False
    version: int = 0


class Gate:
    """Hold/stop flags shared by all streams of one process."""

    def __init__(self, hold_at: int | None = None, stopped: bool = False) -> None:
        self._state = GateState(hold_at, stopped)
        self._event = asyncio.Event()

    @property
    def state(self) -> GateState:
        return self._state

    def _set(self, hold_at: int | None, stopped: bool) -> None:
        self._state = GateState(hold_at, stopped, self._state.version + 1)
        self._event.set()
        self._event = asyncio.Event()

    def load(self, hold_at: int | None, stopped: bool) -> None:
        """The state persisted in the target, read at start (before any stream runs)."""
        self._set(hold_at, stopped)

    def hold(self, scn: int) -> None:
        """Apply everything with commit SCN <= scn, then hold."""
        self._set(scn, self._state.stopped)

    def stop(self) -> None:
        self._set(self._state.hold_at, True)

    def resume(self) -> None:
        """Leave hold and stop; streams in error try again."""
        self._set(None, False)

    async def changed(self, since: int, timeout: float) -> bool:
        """Wait until the gate changes after version ``since``; False on timeout."""
        if self._state.version != since:
            return True
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True
