"""Load, compare, repair and continuous verification inside the running apply service.

One job at a time (a single slot: a second request answers 409 while one runs), each in
its own thread so the service's loops go on. The continuous verification
(``compare.verify_every_seconds`` > 0 and a ``[source_db]``) compares a rotating set of
tables each run — the next ``verify_tables_per_run`` tables, whole or, with
``verify_sample_chunks``, that many chunks continuing where the last visit stopped — and
keeps the result in the target (:mod:`drapply.compare.store`). The latest result per
schema is in ``GET /api/v1/status`` (``verification``) and ``GET /api/v1/verification``,
in the metrics (``dr_apply_verify_differences``, ``dr_apply_verify_age_seconds``), and
a difference found is logged at ERROR: that is the alert.

:func:`pick_tables` (the rotation) is pure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from drcommon.errors import DRError
from drcommon.metrics import Metrics

from drapply.adapters.rawsql import sql_session
from drapply.adapters.registry import open_target
from drapply.compare import store
from drapply.compare.repair import RepairRequest, run_repair
from drapply.compare.report import CompareReport
from drapply.compare.runner import CompareRequest, run_compare, selected_tables
from drapply.load.model import LoadRequest
from drapply.load.runner import run_load
from drapply.progress import Progress
from drapply.settings import ApplySettings
from drapply.snapshot.model import WireRow
from drapply.snapshot.registry import open_reader

log = logging.getLogger(__name__)
ROTATION_KEY = "verify_rotation"
KEEP_JOBS = 50


class Busy(DRError):
    """Another load, comparison or repair is running."""


class NotAllowed(DRError):
    """The job cannot run in the service's current state."""


@dataclass(frozen=True, slots=True)
class Rotation:
    """Where the continuous verification stands: the next table, sampled cursors."""

    next_table: str | None = None
    cursors: dict[str, list[str | None]] = field(default_factory=dict)

    def document(self) -> str:
        return json.dumps({"next_table": self.next_table, "cursors": self.cursors})

    @classmethod
    def parse(cls, text: str | None) -> Rotation:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(data.get("next_table"), dict(data.get("cursors") or {}))


def pick_tables(tables: Sequence[str], rotation: Rotation, count: int) -> list[str]:
    """The next ``count`` tables in name order, starting at ``rotation.next_table`` (or
    the first after it alphabetically, if it is gone), wrapping around."""
    ordered = sorted(tables)
    if not ordered:
        return []
    start = 0
    if rotation.next_table is not None:
        start = next((i for i, t in enumerate(ordered) if t >= rotation.next_table), 0)
    return [ordered[(start + i) % len(ordered)] for i in range(min(count, len(ordered)))]


def advance(tables: Sequence[str], chosen: Sequence[str], rotation: Rotation,
            cursors: dict[str, WireRow | None]) -> Rotation:  # fmt: skip
    """The rotation after a run: sampled tables not finished keep their cursor (and are
    visited first next time); the others move on."""
    kept = {k: v for k, v in rotation.cursors.items() if k not in chosen}
    unfinished = [t for t in chosen if cursors.get(t) is not None]
    for table in unfinished:
        kept[table] = list(cursors[table] or ())
    ordered = sorted(tables)
    if unfinished:
        return Rotation(unfinished[0], kept)
    if not chosen or not ordered:
        return Rotation(None, kept)
    last = ordered.index(chosen[-1]) if chosen[-1] in ordered else -1
    return Rotation(ordered[(last + 1) % len(ordered)], kept)


@dataclass(slots=True)
class Job:
    """A job, as ``GET /api/v1/jobs/{job_id}`` shows it."""

    job_id: str
    kind: str
    requested_by: str
    started_at: datetime
    state: str = "running"  # running | done | failed
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    progress: Progress | None = None

    def document(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id, "kind": self.kind, "requested_by": self.requested_by,
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "progress": self.progress.document() if self.progress else None,
            "result": self.result, "error": self.error,
        }  # fmt: skip


class DataChecks:
    """The jobs and the verification loop of one apply process."""

    def __init__(self, settings: ApplySettings, metrics: Metrics,
                 stopped: Callable[[], bool]) -> None:  # fmt: skip
        self.settings = settings
        self._stopped = stopped
        self._busy = False  # the single slot (checked and set on the event loop)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._summary: dict[str, dict[str, Any]] = {}
        self.job: Job | None = None
        self.jobs: deque[Job] = deque(maxlen=KEEP_JOBS)
        self._differences = metrics.gauge(
            "verify_differences", "Differences the latest comparisons found.", ("schema",))
        self._age = metrics.gauge(
            "verify_age_seconds", "Age of the oldest latest comparison of a schema.", ("schema",))
        self._runs = metrics.counter("verify_runs_total", "Verification runs.", ("result",))

    @property
    def configured(self) -> bool:
        return self.settings.source_db.kind is not None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        with contextlib.suppress(DRError):
            await self.refresh()
        every = self.settings.compare.verify_every_seconds
        if every > 0 and self.configured:
            self._loop_task = asyncio.create_task(self._verify_loop(every), name="verify")
            self._loop_task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background job failed", exc_info=task.exception())

    async def stop(self) -> None:
        for task in [self._loop_task, *self._tasks]:
            if task is not None:
                task.cancel()
        for task in [self._loop_task, *self._tasks]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._loop_task = None
        self._tasks.clear()

    # -- verification summary --------------------------------------------------------------------
    def verification(self) -> dict[str, dict[str, Any]]:
        """The latest verification per schema (cached; refreshed after each run)."""
        return self._summary

    async def refresh(self) -> dict[str, dict[str, Any]]:
        def read() -> list[store.TableVerdict]:
            admin = sql_session(open_target(self.settings.target).connect(admin=True))
            try:
                store.ensure(admin)
                return store.verdicts(admin)
            finally:
                admin.close()

        found = await asyncio.to_thread(read)
        now = datetime.now(UTC)
        self._summary = store.latest_per_schema(found, now,
                                                self.settings.compare.verify_max_age_seconds)
        for schema, doc in self._summary.items():
            self._differences.labels(schema).set(doc["differences"])
            self._age.labels(schema).set(doc["oldest_age_seconds"])
        return self._summary

    # -- jobs --------------------------------------------------------------------------------------
    def _claim(self, kind: str, requested_by: str, progress: Progress | None = None) -> Job:
        if self._busy:
            running = self.job.kind if self.job else "a job"
            raise Busy(f"{running} is running; one load, comparison or repair at a time")
        self._busy = True
        self.job = Job(f"{kind}-{uuid.uuid4().hex[:12]}", kind, requested_by, datetime.now(UTC),
                       progress=progress)  # fmt: skip
        self.jobs.append(self.job)
        return self.job

    def find(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if j.job_id == job_id), None)

    def _spawn(self, job: Job, body: Callable[[], Any]) -> None:
        async def run() -> None:
            try:
                job.result = await body()
                job.state = "done"
            except DRError as exc:
                job.state, job.error = "failed", str(exc)
                log.warning("job failed", extra={"job": job.kind, "error": str(exc)})
            finally:
                job.finished_at = datetime.now(UTC)
                self._busy = False

        task = asyncio.create_task(run(), name=f"job-{job.kind}")
        task.add_done_callback(self._ended)
        self._tasks.add(task)

    def _need_source(self) -> None:
        if not self.configured:
            raise NotAllowed("no [source_db] is configured: load, compare and repair read the "
                             "source as of an SCN")  # fmt: skip

    async def compare(self, request: CompareRequest) -> Job:
        self._need_source()
        progress = Progress("compare", 0, out=None)
        job = self._claim("compare", request.requested_by, progress)

        async def body() -> dict[str, Any]:
            report, _ = await asyncio.to_thread(run_compare, self.settings, request, progress)
            await self.refresh()
            self._announce(report)
            return {"run_id": report.run_id, "differences": report.differences,
                    "tables": [t.line() for t in report.tables]}  # fmt: skip

        self._spawn(job, body)
        return job

    async def repair(self, report: CompareReport, request: RepairRequest) -> Job:
        self._need_source()
        job = self._claim("repair" if request.apply else "repair-plan", request.requested_by)

        async def body() -> dict[str, Any]:
            return await asyncio.to_thread(run_repair, self.settings, report, request)

        self._spawn(job, body)
        return job

    async def load(self, request: LoadRequest) -> Job:
        self._need_source()
        if not self._stopped():
            raise NotAllowed("stop applying first (POST /api/v1/stop): the load copies into "
                             "the tables apply writes; POST /api/v1/resume afterwards")  # fmt: skip
        progress = Progress("load", 0, out=None)
        job = self._claim("load", request.requested_by, progress)

        async def body() -> dict[str, Any]:
            return (await run_load(self.settings, request, progress=progress)).document()

        self._spawn(job, body)
        return job

    async def report(self, run_id: str) -> CompareReport | None:
        def read() -> CompareReport | None:
            admin = sql_session(open_target(self.settings.target).connect(admin=True))
            try:
                store.ensure(admin)
                return store.load_report(admin, run_id)
            finally:
                admin.close()

        return await asyncio.to_thread(read)

    # -- the continuous verification ------------------------------------------------------------
    def _announce(self, report: CompareReport) -> None:
        for table in report.tables:
            if table.differing:
                log.error("verification found differences in the DR copy", extra={
                    "run_id": report.run_id, "table": table.table, "missing": table.missing,
                    "extra": table.extra, "different": table.different, "state": table.state,
                    "scn": table.scn_max})  # fmt: skip

    async def _verify_loop(self, every: float) -> None:
        while True:
            try:
                await self.verify_once()
            except Busy:
                log.info("verification skipped: another job runs")
            except DRError as exc:
                self._runs.labels("failed").inc()
                log.warning("verification failed", extra={"error": str(exc)})
            await asyncio.sleep(every)

    async def verify_now(self) -> Job:
        """Start one verification run now (as the schedule would)."""
        self._need_source()
        job = self._claim("verify", "verification")

        async def body() -> dict[str, Any]:
            report = await asyncio.to_thread(self._verify_sync)
            await self._after_verify(report)
            return {"run_id": report.run_id, "differences": report.differences}

        self._spawn(job, body)
        return job

    async def _after_verify(self, report: CompareReport) -> None:
        await self.refresh()
        self._runs.labels("differences" if report.differences else "equal").inc()
        self._announce(report)

    async def verify_once(self) -> CompareReport:
        """One verification run (the rotation's next tables); kept in the target."""
        self._need_source()
        job = self._claim("verify", "verification")
        try:
            report = await asyncio.to_thread(self._verify_sync)
        except DRError as exc:
            job.state, job.error = "failed", str(exc)
            raise
        finally:
            job.finished_at = datetime.now(UTC)
            self._busy = False
        job.state = "done"
        job.result = {"run_id": report.run_id, "differences": report.differences}
        await self._after_verify(report)
        return report

    def _verify_sync(self) -> CompareReport:
        settings = self.settings
        reader = open_reader(settings.source_db)
        try:
            names = [t.full_name for t in selected_tables(settings, reader, ())]
        finally:
            reader.close()
        admin = open_target(settings.target).connect(admin=True)
        try:
            rotation = Rotation.parse(admin.get_state(ROTATION_KEY))
        finally:
            admin.close()
        chosen = pick_tables(names, rotation, settings.compare.verify_tables_per_run)
        sample = settings.compare.verify_sample_chunks or None
        request = CompareRequest(
            tables=tuple(chosen), requested_by="verification", kind="verify", max_chunks=sample,
            start_after={t: tuple(rotation.cursors[t]) for t in chosen if t in rotation.cursors},
        )  # fmt: skip
        report, cursors = run_compare(settings, request)
        admin = open_target(settings.target).connect(admin=True)
        try:
            admin.set_state(ROTATION_KEY, advance(names, chosen, rotation, cursors).document())
        finally:
            admin.close()
        return report
