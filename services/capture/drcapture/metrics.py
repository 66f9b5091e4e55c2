"""Capture's Prometheus metrics: what was read, what was published, how far behind."""

from __future__ import annotations

import time
from collections.abc import Sequence

from drcommon.metrics import Metrics

from drcapture.publish import Publishable


class CaptureMetrics:
    """The metric families capture exposes on ``/metrics``."""

    def __init__(self) -> None:
        self.metrics = Metrics("capture")
        m = self.metrics
        self.redo_bytes = m.counter("redo_bytes_total", "Redo bytes read.", ("thread",))
        self.records = m.counter("redo_records_total", "Redo records read.", ("thread",))
        self.transactions = m.counter(
            "transactions_published_total", "Committed transactions published."
        )
        self.changes = m.counter("changes_published_total", "Row changes published.")
        self.kafka_records = m.counter("kafka_records_total", "Data records sent to Kafka.")
        self.publish_seconds = m.histogram(
            "publish_seconds", "Time to publish one Kafka transaction."
        )
        self.watermark = m.gauge("watermark_scn", "Highest SCN promised complete.")
        self.last_commit_scn = m.gauge(
            "last_published_commit_scn", "Commit SCN of the last published transaction."
        )
        self.lag_seconds = m.gauge(
            "lag_seconds", "Seconds between now and the source commit time last published."
        )
        self.open_transactions = m.gauge("open_transactions", "Transactions open.", ("thread",))
        self.thread_scn = m.gauge("thread_scn", "SCN read so far per thread.", ("thread",))
        self.oldest_needed_sequence = m.gauge(
            "oldest_needed_sequence", "Oldest log sequence a restart needs.", ("thread",)
        )
        self.skipped_ops = m.gauge("skipped_ops", "Change vectors skipped by design.", ("op",))
        self.unknown_ops = m.gauge("unknown_ops", "Change vectors of unknown kind.", ("op",))
        self.dictionary_versions = m.counter(
            "dictionary_versions_total",
            "Dictionary versions made from the redo's DDL transactions (dictionary.on_ddl = "
            "track): each is a DDL on a table capture knows of, in any schema.",
        )
        self.order_violations = m.gauge(
            "order_violations",
            "Commits that arrived at or below a watermark already given out (a thread set "
            "aside as idle came back): published, but the promise was broken. Alert on > 0.",
        )

    def observe_read(self, thread: int, records: int, size: int) -> None:
        label = str(thread)
        self.records.labels(label).inc(records)
        self.redo_bytes.labels(label).inc(size)

    def observe_publish(
        self, batch: Sequence[Publishable], sent: int, seconds: float, watermark: int
    ) -> None:
        self.transactions.inc(len(batch))
        self.changes.inc(sum(tx.change_count for tx in batch))
        self.kafka_records.inc(sent)
        self.publish_seconds.observe(seconds)
        self.watermark.set(watermark)
        if batch:
            last = batch[-1].info
            self.last_commit_scn.set(last.commit_scn)
            self.lag_seconds.set(max(0.0, time.time() - last.commit_ts.timestamp()))
