"""Telling control what happened (alerts, audited changes, switch results), without
ever holding up a decision: reports go out as background tasks that log failures."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from drappha.errors import PeerUnavailable
from drappha.metrics import AppHAMetrics
from drappha.peers import ControlClient

log = logging.getLogger(__name__)


class Reporter:
    """Reports and alerts of one application, and the freeze question."""

    def __init__(self, app: str, control: ControlClient | None, metrics: AppHAMetrics) -> None:
        self._app = app
        self._control = control
        self._metrics = metrics
        self._pending: set[asyncio.Task[None]] = set()

    def alert(self, text: str) -> None:
        """Raise an alert: error log, metric, and a report to control."""
        self._metrics.alerts.labels(self._app).inc()
        log.error(f"ALERT: {text}", extra={"app": self._app, "alert": text})
        self.report("alert", {"message": text})

    def report(self, kind: str, detail: dict[str, Any]) -> None:
        """Send a report to control in the background."""
        if self._control is None:
            return
        task = asyncio.create_task(self._send(kind, detail), name=f"report-{self._app}-{kind}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, kind: str, detail: dict[str, Any]) -> None:
        assert self._control is not None
        try:
            await self._control.report(self._app, kind, detail)
        except PeerUnavailable as exc:
            self._metrics.control_errors.labels(self._app, "report").inc()
            log.warning(
                "report to control failed",
                extra={"app": self._app, "kind": kind, "error": str(exc)},
            )

    async def frozen(self) -> bool | None:
        """Whether control forbids automatic switching (freeze or block); None when there
        is no control or it cannot answer."""
        if self._control is None:
            return None
        try:
            return await self._control.frozen(self._app)
        except PeerUnavailable as exc:
            self._metrics.control_errors.labels(self._app, "freeze").inc()
            log.warning("cannot read control's freeze", extra={"app": self._app, "error": str(exc)})
            return None

    async def drain(self, timeout: float = 5.0) -> None:
        """Give pending reports a bounded chance to go out (at stop)."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout)
        for task in list(self._pending):
            task.cancel()
