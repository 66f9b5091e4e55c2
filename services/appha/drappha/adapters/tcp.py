"""TCP connect check: the listener accepts a connection within the timeout."""

from __future__ import annotations

import asyncio
import contextlib

from drappha.adapters import Outcome
from drappha.specs import TcpCheck


class TcpProbe:
    """Open and close a TCP connection."""

    def __init__(self, spec: TcpCheck) -> None:
        self._spec = spec

    async def run(self) -> Outcome:
        try:
            _, writer = await asyncio.open_connection(self._spec.host, self._spec.port)
        except OSError as exc:
            return Outcome(
                False, f"connect {self._spec.host}:{self._spec.port}: {exc.strerror or exc}"
            )
        writer.close()
        with contextlib.suppress(OSError):  # a reset of a connection opened only to prove it
            await writer.wait_closed()
        return Outcome(True, f"connected to {self._spec.host}:{self._spec.port}")

    async def close(self) -> None:
        return None
