"""What the applier reports as it goes: metrics, status and logs hang off this interface.

Called from the applier's database thread; implementations must be thread-safe
(prometheus_client is; plain attribute stores are).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from drapply.adapters.base import BoundChange, Checkpoint, DdlLogRow, Stream
from drapply.policy import ConflictKind, Resolution


@dataclass(frozen=True, slots=True)
class AppliedTx:
    """One Oracle transaction that is now committed in the target."""

    xid: str
    commit_scn: int
    commit_ts: datetime
    kafka_ts_ms: int
    rows: int
    first_offset: int
    last_offset: int


class ApplyObserver:
    """Does nothing; subclasses pick what they need."""

    def committed(self, stream: Stream, txs: list[AppliedTx], checkpoint: Checkpoint) -> None:
        """A database transaction with ``txs`` (maybe none: position only) committed."""

    def conflict(
        self,
        stream: Stream,
        change: BoundChange | None,
        kind: ConflictKind,
        resolution: Resolution,
        detail: str,
        *,
        offset: int,
        xid: str,
    ) -> None:
        """A change did not fit; ``resolution`` is what the policy chose."""

    def skipped(self, stream: Stream, reason: str, table: str, *, offset: int) -> None:
        """A change was skipped on purpose (DDL, a table in ``source.skip_tables``)."""

    def isolating(self, stream: Stream, *, from_offset: int, until_offset: int, why: str) -> None:
        """A grouped transaction failed; re-applying one at a time to find the culprit."""

    def ddl(self, stream: Stream, row: DdlLogRow) -> None:
        """A DDL record ran (or had nothing to do); it commits with the group."""

    def replay_done(self, stream: Stream, checkpoint: Checkpoint) -> None:
        """The stream passed the offset a replay had to reach."""


class TeeObserver(ApplyObserver):
    """Forwards every event to several observers (metrics plus a benchmark's own)."""

    def __init__(self, *observers: ApplyObserver) -> None:
        self._observers = observers

    def committed(self, stream: Stream, txs: list[AppliedTx], checkpoint: Checkpoint) -> None:
        for o in self._observers:
            o.committed(stream, txs, checkpoint)

    def conflict(
        self,
        stream: Stream,
        change: BoundChange | None,
        kind: ConflictKind,
        resolution: Resolution,
        detail: str,
        *,
        offset: int,
        xid: str,
    ) -> None:
        for o in self._observers:
            o.conflict(stream, change, kind, resolution, detail, offset=offset, xid=xid)

    def skipped(self, stream: Stream, reason: str, table: str, *, offset: int) -> None:
        for o in self._observers:
            o.skipped(stream, reason, table, offset=offset)

    def ddl(self, stream: Stream, row: DdlLogRow) -> None:
        for o in self._observers:
            o.ddl(stream, row)

    def isolating(self, stream: Stream, *, from_offset: int, until_offset: int, why: str) -> None:
        for o in self._observers:
            o.isolating(stream, from_offset=from_offset, until_offset=until_offset, why=why)

    def replay_done(self, stream: Stream, checkpoint: Checkpoint) -> None:
        for o in self._observers:
            o.replay_done(stream, checkpoint)
