"""Apply's metrics and the observer that feeds them, the status and the logs.

Counters become per-second rates in Prometheus (``rate(dr_apply_rows_total[1m])``).
Latency is measured twice: from the source commit (Oracle's clock) and from the Kafka
append (the record timestamp) to the target commit.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from drcommon.metrics import Metrics

from drapply.adapters.base import BoundChange, Checkpoint, DdlLogRow, Stream
from drapply.observer import AppliedTx, ApplyObserver
from drapply.policy import ConflictKind, Resolution
from drapply.status import StreamStatus

log = logging.getLogger("drapply.apply")


class ApplyMetrics:
    """The ``dr_apply_*`` metrics of one process."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        m = metrics or Metrics("apply")
        self.registry = m
        self.rows = m.counter("rows_total", "Row changes applied.", ("schema",))
        self.transactions = m.counter(
            "transactions_total", "Oracle transactions applied.", ("schema",)
        )
        self.db_commits = m.counter("db_commits_total", "Target database commits.", ("schema",))
        self.latency = m.histogram(
            "latency_seconds", "Source commit to target commit.", ("schema",)
        )
        self.kafka_latency = m.histogram(
            "kafka_to_commit_seconds", "Kafka record timestamp to target commit.", ("schema",)
        )
        self.conflicts = m.counter(
            "conflicts_total", "Conflicts by kind and resolution.",
            ("schema", "kind", "resolution"),
        )  # fmt: skip
        self.parked = m.counter("parked_total", "Transactions parked.", ("schema",))
        self.skipped = m.counter(
            "skipped_total", "Changes skipped on purpose.", ("schema", "reason")
        )
        self.ddl = m.counter(
            "ddl_total", "DDL records by kind and outcome (executed, no_effect, already_done).",
            ("schema", "kind", "outcome"),
        )  # fmt: skip
        self.isolations = m.counter(
            "isolations_total", "Grouped transactions re-applied one by one.", ("schema",)
        )
        self.errors = m.counter("errors_total", "Errors by retriable or not.", ("schema", "kind"))
        self.offset = m.gauge("checkpoint_offset", "Next offset in the checkpoint.", ("schema",))
        self.applied_scn = m.gauge(
            "applied_scn", "Commit SCN of the last applied txn.", ("schema",)
        )
        self.lag_scn = m.gauge("lag_scn", "Highest SCN seen minus SCN applied.", ("schema",))
        self.lag_seconds = m.gauge("lag_seconds", "Seconds behind the source commit.", ("schema",))
        self.queue_depth = m.gauge("queue_depth", "Offsets between position and end.", ("schema",))
        self.state = m.gauge("state", "1 for the stream's current state.", ("schema", "state"))


class ReportingObserver(ApplyObserver):
    """Turns applier events into metrics, status fields and log lines."""

    def __init__(self, metrics: ApplyMetrics, status: dict[str, StreamStatus]) -> None:
        self._m = metrics
        self._status = status

    def committed(self, stream: Stream, txs: list[AppliedTx], checkpoint: Checkpoint) -> None:
        schema = stream.owner
        now = time.time()
        m = self._m
        m.db_commits.labels(schema).inc()
        if txs:
            m.transactions.labels(schema).inc(len(txs))
            m.rows.labels(schema).inc(sum(t.rows for t in txs))
            for tx in txs:
                m.latency.labels(schema).observe(max(0.0, now - tx.commit_ts.timestamp()))
                m.kafka_latency.labels(schema).observe(max(0.0, now - tx.kafka_ts_ms / 1000))
        m.offset.labels(schema).set(checkpoint.next_offset)
        if checkpoint.commit_scn is not None:
            m.applied_scn.labels(schema).set(checkpoint.commit_scn)
        status = self._status.get(schema)
        if status is not None:
            status.applied_scn = checkpoint.commit_scn
            status.applied_xid = checkpoint.xid
            status.source_commit_ts = checkpoint.commit_ts
            status.watermark_scn = checkpoint.watermark_scn
            status.position = checkpoint.next_offset
            status.replaying_until = checkpoint.replay_until
            status.transactions += len(txs)
            status.rows += sum(t.rows for t in txs)
        if txs:
            last = txs[-1]
            log.debug(
                "applied",
                extra={
                    "topic": stream.topic, "partition": stream.partition,
                    "offset": last.last_offset, "xid": last.xid, "scn": last.commit_scn,
                    "transactions": len(txs),
                },
            )  # fmt: skip

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
        self._m.conflicts.labels(stream.owner, kind.value, resolution.value).inc()
        status = self._status.get(stream.owner)
        if status is not None:
            status.conflicts += 1
        log.warning(
            "conflict",
            extra={
                "topic": stream.topic, "partition": stream.partition, "offset": offset,
                "xid": xid, "kind": kind.value, "resolution": resolution.value,
                "table": str(change.table) if change else None,
                "key": change.key_text() if change else None, "detail": detail,
            },
        )  # fmt: skip
        if change is not None and log.isEnabledFor(logging.DEBUG):
            log.debug(
                "conflicting row",
                extra={"values": dict(zip(change.set_cols, change.set_vals, strict=True))},
            )

    def skipped(self, stream: Stream, reason: str, table: str, *, offset: int) -> None:
        self._m.skipped.labels(stream.owner, reason).inc()
        log.info(
            "skipped change",
            extra={"topic": stream.topic, "offset": offset, "table": table, "reason": reason},
        )

    def ddl(self, stream: Stream, row: DdlLogRow) -> None:
        self._m.ddl.labels(stream.owner, row.kind, row.outcome).inc()
        log.warning(
            "DDL applied" if row.outcome != "no_effect" else "DDL has no effect on this target",
            extra={"topic": stream.topic, "offset": row.record_offset, "scn": row.commit_scn,
                   "xid": row.xid, "table": row.table, "kind": row.kind,
                   "outcome": row.outcome, "statements": list(row.executed),
                   "reason": row.reason},
        )  # fmt: skip

    def isolating(self, stream: Stream, *, from_offset: int, until_offset: int, why: str) -> None:
        self._m.isolations.labels(stream.owner).inc()
        log.info(
            "group failed; re-applying one transaction at a time",
            extra={"topic": stream.topic, "partition": stream.partition, "offset": from_offset,
                   "until_offset": until_offset, "why": why},
        )  # fmt: skip

    def replay_done(self, stream: Stream, checkpoint: Checkpoint) -> None:
        log.info(
            "replay reached the position it started from",
            extra={"topic": stream.topic, "offset": checkpoint.next_offset},
        )


def now_utc() -> datetime:
    return datetime.now(UTC)
