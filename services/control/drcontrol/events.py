"""In-process fan-out of live updates (SSE) and notification triggers.

Each subscriber gets a bounded queue; a slow subscriber loses its oldest events (and is
told so by a ``lost`` event) rather than slowing the publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

QUEUE_SIZE = 256


@dataclass(frozen=True, slots=True)
class Event:
    """One live update: ``kind`` (audit, operation, step, status) and its JSON data."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class EventBus:
    """Publish to every current subscriber without waiting."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Event]] = set()

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        event = Event(kind, data)
        for queue in list(self._queues):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(Event("lost", {"reason": "subscriber too slow"}))
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._queues)
