"""Per-stream status as the admin API and ``drapply once`` report it.

Written by the stream's worker and observer (two threads, plain attribute stores),
read as a snapshot. Lag: ``lag_scn`` is the highest SCN seen on the topic (transactions
and watermarks) minus what is applied; ``lag_seconds`` is zero when nothing is queued
and nothing stands in the way, else the age (now - source commit time) of the last
applied transaction: it grows while a fault lasts. ``queue_depth`` is the offsets
between the applied position and the end of the topic (its last stable offset, as last
fetched or asked for), also while the stream is stopped or in error.

``faults`` holds what the stream waits for (``database``, ``kafka``): since when, the
last error, how many attempts failed; the worker clears it once a step gets through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from drcommon.faults import Fault, FaultBoard
from drcommon.http import Health, HealthStatus


class StreamState(StrEnum):
    RUNNING = "running"
    HOLDING = "holding"
    STOPPED = "stopped"
    ERROR = "error"


@dataclass(slots=True)
class StreamStatus:
    """What one stream is doing; mutated by its worker, read by status calls."""

    schema: str
    topic: str
    partition: int
    state: StreamState = StreamState.RUNNING
    applied_scn: int | None = None
    applied_xid: str | None = None
    source_commit_ts: datetime | None = None
    watermark_scn: int | None = None
    seen_scn: int | None = None
    position: int = 0
    queue_depth: int | None = None
    hold_at_scn: int | None = None
    error: str | None = None
    conflicts: int = 0
    parked: int = 0
    transactions: int = 0
    rows: int = 0
    replaying_until: int | None = None
    end_offset: int | None = None  # the topic's last stable offset, last seen
    faults: FaultBoard = field(default_factory=FaultBoard)

    def saw(self, scn: int) -> None:
        if self.seen_scn is None or scn > self.seen_scn:
            self.seen_scn = scn

    def lag_scn(self) -> int | None:
        done = max(self.applied_scn or 0, self.watermark_scn or 0)
        if self.seen_scn is None:
            return None if not done else 0
        return max(0, self.seen_scn - done)

    def lag_seconds(self, now: datetime, waiting: bool = False) -> float | None:
        if self.queue_depth == 0 and not (waiting or self.faults.active()):
            return 0.0
        if self.source_commit_ts is None:
            return None
        return max(0.0, (now - self.source_commit_ts).total_seconds())

    def document(self, now: datetime, shared: Fault | None = None) -> dict[str, Any]:
        """The ``schemas.<SCHEMA>`` object of ``GET /api/v1/status``; ``shared`` is a
        fault of the whole process (Kafka away) the stream waits on too."""
        own = self.faults.active()
        waiting = own[0] if own else shared
        epoch = now.timestamp()
        return {
            "waiting_on": waiting.part if waiting else None,
            "waiting_since": _iso(_utc(waiting.since)) if waiting else None,
            "last_error": waiting.error if waiting else None,
            "faults": [f.document(epoch) for f in own],
            "state": self.state.value,
            "applied_scn": self.applied_scn,
            "applied_xid": self.applied_xid,
            "source_commit_ts": _iso(self.source_commit_ts),
            "lag_scn": self.lag_scn(),
            "lag_seconds": self.lag_seconds(now, waiting is not None),
            "queue_depth": self.queue_depth,
            "hold_at_scn": self.hold_at_scn,
            "error": self.error,
            "conflicts": self.conflicts,
            "parked": self.parked,
            "topic": self.topic,
            "partition": self.partition,
            "position": self.position,
            "watermark_scn": self.watermark_scn,
            "transactions": self.transactions,
            "rows": self.rows,
            "replaying_until": self.replaying_until,
            "end_offset": self.end_offset,
        }


def overall(states: list[StreamState], *, stopped: bool, hold_at: int | None) -> str:
    """The service's ``state``: error wins, then stopped, holding when every stream holds."""
    if any(s is StreamState.ERROR for s in states):
        return "error"
    if stopped:
        return "stopped"
    if hold_at is not None and states and all(s is StreamState.HOLDING for s in states):
        return "holding"
    return "running"


def fault_documents(
    board: FaultBoard, streams: list[StreamStatus], now: float
) -> list[dict[str, Any]]:
    """The process's faults (``board``), then each stream's, named by its schema."""
    docs = board.documents(now)
    for s in streams:
        docs.extend({**doc, "schema": s.schema} for doc in s.faults.documents(now))
    return docs


def service_health(
    streams: list[StreamStatus], board: FaultBoard, now: float, details: dict[str, Any], *,
    connecting: bool, stopped: bool,
) -> Health:  # fmt: skip
    """``failing`` when a schema stopped on an error (a person must act); ``degraded``
    while a fault is waited out (Kafka, the database), while connecting, or while apply
    is stopped by request; ``ok`` otherwise. Details name the faults and the error."""
    faults = fault_documents(board, streams, now)
    if faults:
        details = {**details, "error": faults[0]["error"], "faults": faults}
    errors = {s.schema: s.error for s in streams if s.state is StreamState.ERROR}
    if errors:
        schema, error = next(iter(errors.items()))
        return Health(HealthStatus.FAILING, {**details, "error": f"{schema}: {error}",
                                             "schemas_in_error": sorted(errors)})
    if faults:
        return Health(HealthStatus.DEGRADED, details)
    if connecting:
        return Health(HealthStatus.DEGRADED, {**details, "note": "connecting"})
    if stopped:
        return Health(HealthStatus.DEGRADED, {**details, "note": "stopped by request"})
    return Health(HealthStatus.OK, details)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)
