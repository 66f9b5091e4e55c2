"""What capture waits out, on the fault board status and ``/health`` read.

Two sources feed it. The supervisor reports each failed attempt (:meth:`CaptureFaults.
failed`): Kafka away, a full spill disk, another capture fencing ours …; such a fault ends
once a later attempt publishes past where the failed one stood (Kafka's as soon as an
attempt starts its producer). Every second :meth:`CaptureFaults.check` looks at what the
running pipeline shows without failing: a publish Kafka has not acknowledged for
``publish.stall_seconds``, a thread held at a damaged, missing or unreadable log, a failed
save of the open transactions, an archive location that cannot be listed.
"""

from __future__ import annotations

import logging
import time

from aiokafka.errors import KafkaError
from drcommon.errors import DRError, RetriableSourceError, SinkError
from drcommon.faults import FaultBoard, FaultMetrics

from drcapture.catalog import LogCatalog
from drcapture.errors import CaptureFenced, DiskFull, RedoCopyFound, RedoUnreadable
from drcapture.merge import CommitKey
from drcapture.pipeline import CapturePipeline
from drcapture.settings import CaptureSettings

log = logging.getLogger(__name__)


def fault_of(exc: BaseException) -> tuple[str, bool] | None:
    """The part an attempt's failure is a fault of, and whether it needs a person
    (``failing``) or passes by itself (``degraded``); None for a planned rebuild."""
    if isinstance(exc, RedoCopyFound):
        return None
    if isinstance(exc, CaptureFenced):
        return "kafka", True  # another capture with our capture_id publishes
    if isinstance(exc, DiskFull):
        return exc.part, False
    if isinstance(exc, SinkError | RetriableSourceError | KafkaError):
        return "kafka", False
    return "capture", not (isinstance(exc, DRError) and exc.retriable)


def _past(published: CommitKey | None, mark: CommitKey | None) -> bool:
    return published is not None and (mark is None or published > mark)


class CaptureFaults:
    """Capture's fault board and the rules that raise and end its faults."""

    def __init__(self, settings: CaptureSettings, metrics: FaultMetrics) -> None:
        self.board = FaultBoard()
        self._settings = settings
        self._metrics = metrics
        # Per part: the last commit published when an attempt failed on it.
        self._failed_after: dict[str, CommitKey | None] = {}

    def failed(self, exc: BaseException, pipeline: CapturePipeline | None, retry_in: float
               ) -> None:  # fmt: skip
        """An attempt failed on ``exc``; it is retried in ``retry_in`` seconds."""
        fault = fault_of(exc)
        if fault is None:  # not a fault: a planned rebuild (a copy of a damaged log found)
            log.warning("restarting from the last checkpoint", extra={"reason": str(exc)})
            return
        part, failing = fault
        change = self.board.report(part, exc, now=time.time(), failing=failing)
        self._failed_after[part] = pipeline.published_key if pipeline is not None else None
        log.log(
            logging.ERROR if change.line is not None else logging.WARNING,
            "capture attempt failed; retrying from the last checkpoint",
            extra={"part": part, "error": str(exc), "retry_in": retry_in,
                   "attempts": change.fault.attempts},
        )  # fmt: skip

    def over(self, part: str) -> None:
        """``part`` works again: end its fault (logged once)."""
        change = self.board.clear(part, now=time.time())
        if change is not None and change.line is not None:
            log.warning(change.line, extra={"part": part})

    def _raise(
        self, part: str, error: BaseException | str, now: float, *, failing: bool = False,
        since: float | None = None, facts: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        change = self.board.report(part, error, now=now, failing=failing, since=since,
                                   facts=facts)  # fmt: skip
        if change.line is not None:
            log.error(change.line, extra={"part": part})

    def check(self, pipeline: CapturePipeline | None, catalog: LogCatalog, now: float) -> None:
        """What the running pipeline and the catalog show, onto the board; the metrics."""
        if pipeline is not None:
            self._check_publish(pipeline, now)
            held = pipeline.faults()
            if held:
                # A damaged or missing log needs a person; an unreadable one may come back.
                stuck = [f for f in held if not isinstance(f, RedoUnreadable)]
                worst = min(stuck or held, key=lambda f: f.where.get("scn") or 0)
                self._raise("redo", worst, now, failing=bool(stuck))
            elif self.board.get("redo") is not None:
                self.over("redo")
            if pipeline.state_fault is not None:
                self._raise("state", pipeline.state_fault, now)
            elif self.board.get("state") is not None and pipeline.state_saved:
                self.over("state")
            for part, key in list(self._failed_after.items()):
                if part != "kafka" and _past(pipeline.published_key, key):
                    del self._failed_after[part]
                    self.over(part)  # an attempt published past where one failed
        unreachable = dict(catalog.unreachable)
        if unreachable:  # an archive location that cannot be listed: its logs are not found
            self._raise("archive", next(iter(unreachable.values())), now,
                        facts={"locations": ", ".join(sorted(unreachable))})  # fmt: skip
        elif self.board.get("archive") is not None:
            self.over("archive")
        self._metrics.update(self.board, now)

    def _check_publish(self, pipeline: CapturePipeline, now: float) -> None:
        since = pipeline.publishing_since
        stall = self._settings.publish.stall_seconds
        if since is not None and now - since >= stall:
            if self.board.get("kafka") is None:  # once: the fault's age grows on its own
                self._raise("kafka", SinkError(
                    f"Kafka has not acknowledged a publish for more than {stall:g} s; "
                    "capture waits for it (what it read since is not published yet; "
                    "nothing is lost)",
                    bootstrap_servers=self._settings.kafka.bootstrap_servers), now,
                    since=since)  # fmt: skip
        elif since is None and pipeline.published_at is not None:
            fault = self.board.get("kafka")
            if fault is not None and pipeline.published_at > fault.last_at:
                self.over("kafka")
