"""Incidents: one event per failure (or requested switch) with its time to detect and
time to switch, kept in the history file and observed in the metrics."""

from __future__ import annotations

import time
from typing import Any

from drappha.decide import verb
from drappha.history import History, OperationRecord
from drappha.metrics import AppHAMetrics
from drappha.model import Site


class Incidents:
    """The open incident of one application, if any."""

    def __init__(self, app: str, history: History, metrics: AppHAMetrics) -> None:
        self._app = app
        self._history = history
        self._metrics = metrics
        self.current: int | None = None

    def detected(self, target: Site, reason: str, onset_wall: float | None) -> int:
        """The active site was declared down now; it started failing at ``onset_wall``."""
        now = time.time()
        self.current = self._history.open_event(self._app, target, reason, onset_wall, now)
        if onset_wall is not None:
            self._metrics.time_to_detect.labels(self._app).observe(now - onset_wall)
        return self.current

    def requested(self, target: Site, by: str) -> int:
        """A switch asked for without a detected failure (planned) opens its own event."""
        if self.current is None:
            reason = f"{verb(target)} requested by {by}"
            self.current = self._history.open_event(self._app, target, reason, None, time.time())
        return self.current

    def switch_started(self, operation_id: str) -> None:
        if self.current is not None:
            self._history.event_switch_started(self.current, operation_id)

    def switch_finished(self, record: OperationRecord, succeeded: bool) -> dict[str, Any] | None:
        """Close the operation's event; returns it with its times."""
        if record.event_id is None:
            return None
        self._history.event_finished(record.event_id, "succeeded" if succeeded else "failed")
        event = self._history.event(record.event_id)
        if event and succeeded and event["time_to_switch"] is not None:
            self._metrics.time_to_switch.labels(self._app, verb(record.target)).observe(
                event["time_to_switch"]
            )
        if self.current == record.event_id:
            self.current = None
        return event

    def close(self, outcome: str) -> None:
        """The incident ended without a switch (recovered, declined)."""
        if self.current is not None:
            self._history.event_finished(self.current, outcome)
            self.current = None
