"""Writing the audit chain and telling the live views and notifiers about it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from drcontrol.events import EventBus
from drcontrol.model import AuditEntry, AuditRecord
from drcontrol.storage.base import Storage

log = logging.getLogger(__name__)


class Recorder:
    """One call per fact: seal it in the audit chain, then publish it."""

    def __init__(self, storage: Storage, bus: EventBus, clock: Callable[[], float]) -> None:
        self._storage = storage
        self._bus = bus
        self._clock = clock

    async def record(self, actor: str, action: str, target: str = "", *, outcome: str = "ok",
                     **detail: Any) -> AuditRecord:
        """Append to the audit chain; ``detail`` must be JSON-serialisable."""
        entry = AuditEntry(at=self._clock(), actor=actor, action=action, target=target,
                           outcome=outcome, detail=detail)
        record = await self._storage.append_audit(entry)
        log.info("audit %s %s %s", action, target, outcome,
                 extra={"seq": record.seq, "actor": actor})
        self._bus.publish("audit", record.model_dump(mode="json"))
        return record
