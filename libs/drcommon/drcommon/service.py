"""Running a service: start, wait for SIGTERM/SIGINT, drain within a bound, stop.

Every service class implements :class:`Service` (``start``/``stop``, async context
manager); :func:`run_service` is what each ``__main__`` calls. Problems the operator
can fix (bad config, unreachable broker) end with one clear line and exit code 2,
not a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Protocol, Self

from drcommon.errors import DRError

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


class Service(Protocol):
    """Something with an async start/stop and a future that ends when it must stop."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def wait(self) -> None:
        """Return when the service ended on its own (error or finished work)."""
        ...


class ServiceBase:
    """start/stop plus async context-manager support for subclasses."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def serve_until_signal(service: Service, *, drain_seconds: float = 30.0) -> None:
    """Start ``service``, stop it on SIGTERM/SIGINT or when it ends by itself."""
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested.set)
    await service.start()
    ended = asyncio.ensure_future(service.wait())
    stopper = asyncio.ensure_future(stop_requested.wait())
    try:
        await asyncio.wait({ended, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if stop_requested.is_set():
            log.info("stop requested; draining", extra={"drain_seconds": drain_seconds})
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
            async with asyncio.timeout(drain_seconds):
                await service.stop()
        except TimeoutError:
            log.error("drain did not finish in time; exiting anyway")
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    if ended.done() and not ended.cancelled():
        ended.result()
    else:
        ended.cancel()


async def _as_coroutine(body: Callable[[], Awaitable[int | None]]) -> int | None:
    return await body()


def run_main(program: str, body: Callable[[], Awaitable[int | None]]) -> int:
    """Run an async entry point; DRError becomes one line on stderr and exit code 2."""
    try:
        code: int | None = asyncio.run(_as_coroutine(body))
    except DRError as exc:
        print(f"{program}: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_FAILED
    return EXIT_OK if code is None else code
