"""The capture service: settings in, a running pipeline and its HTTP face out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from typing import Any

from aiokafka.errors import KafkaError
from drcommon.config import read_secret
from drcommon.errors import ConfigError, DRError
from drcommon.faults import FaultBoard, FaultMetrics, Severity
from drcommon.http import Health, HealthStatus, HttpServer
from drcommon.model import CaptureCheckpoint, DictionaryChange, ThreadRestart
from drcommon.service import ServiceBase
from drcommon.topics import TopicNames

from drcapture.catalog import LogCatalog
from drcapture.checkpoints import load_restart
from drcapture.ddl import StaleDictionary
from drcapture.dictionary.model import Dictionary, SystemChange
from drcapture.dictionary.system import DictionaryChangeSet, SystemRows
from drcapture.dictionary.versions import DictionaryVersions
from drcapture.errors import UndecodableChange
from drcapture.faults import CaptureFaults
from drcapture.filtering import TableFilter
from drcapture.metrics import CaptureMetrics
from drcapture.native_txn import CoreDictionary, CoreOptions, ThreadCore
from drcapture.offline import load_system_file
from drcapture.openstate import OpenStateStore
from drcapture.pipeline import CapturePipeline, TableCameIntoCapture
from drcapture.publish import Publisher
from drcapture.redo.ops.dispatch import OpCounters
from drcapture.redo.records import Rba
from drcapture.settings import CaptureSettings, DictionarySettings
from drcapture.thread_reader import ThreadReader

log = logging.getLogger(__name__)
WATCH_INTERVAL = 1.0  # seconds between looks at what the pipeline shows (status, metrics)


def _discard_spill(reader: ThreadReader) -> None:
    reader.core.discard()


def load_system_rows(settings: DictionarySettings) -> SystemRows | None:
    """The SYS dictionary tables' rows the configured dictionary file holds (an
    OpenLogReplicator checkpoint always does; our snapshot when exported by a version
    that writes its ``system`` object), or None."""
    if settings.kind == "oracle" or settings.path is None:
        return None
    try:
        return load_system_file(settings.path, settings.kind)
    except (OSError, ValueError) as exc:
        raise ConfigError("cannot read the dictionary file", key="dictionary.path",
                          path=str(settings.path), error=str(exc)) from exc


def _untracked(dictionary: Dictionary) -> Dictionary:
    """Without dictionary versions (on_ddl = stop or reload) the core needs neither the
    SYS dictionary tables nor to keep changes of objects newer than the dictionary."""
    return replace(dictionary, system_tables={}, max_obj=0)


def change_sets(changes: list[DictionaryChange]) -> list[DictionaryChangeSet]:
    return [
        DictionaryChangeSet(
            scn=c.scn, xid=c.xid,
            changes=tuple(SystemChange(r.table, r.op, r.rowid, dict(r.values))
                          for r in c.changes),
        )
        for c in changes
    ]


def load_dictionary(
    settings: DictionarySettings, owners: list[str] | None = None, scn: int | None = None
) -> Dictionary:
    """The dictionary from the configured place (a file, or a live database as of ``scn``)."""
    if settings.kind == "olr":
        from drcapture.dictionary.olr import load_olr_checkpoint_file

        assert settings.path is not None
        return load_olr_checkpoint_file(settings.path)
    if settings.kind == "snapshot":
        from drcapture.dictionary.snapshot import load_snapshot_file

        assert settings.path is not None
        return load_snapshot_file(settings.path)
    from drcapture.dictionary.live import load_live_dsn

    if not owners:
        raise ConfigError(
            "dictionary.kind=oracle needs schema names without wildcards in "
            "filter.include, to know which schemas to read",
            key="filter.include",
        )
    secret = read_secret(
        settings.oracle_password, settings.oracle_password_file, key="dictionary.oracle_password"
    )
    if secret is None:
        raise ConfigError(
            "dictionary.kind=oracle needs a password (env or file)",
            key="dictionary.oracle_password",
        )
    assert settings.oracle_dsn is not None and settings.oracle_user is not None
    return load_live_dsn(
        settings.oracle_dsn,
        settings.oracle_user,
        secret.get_secret_value(),
        owners,
        scn if scn is not None else settings.scn,
        tls=settings.tls,
    )


class CaptureService(ServiceBase):
    """Reads the source's redo and publishes committed transactions until stopped."""

    def __init__(self, settings: CaptureSettings, *, serve_http: bool = True) -> None:
        self.settings = settings
        self.metrics = CaptureMetrics()
        self.counters = OpCounters()
        self._serve_http = serve_http
        self._publisher: Publisher | None = None
        self._pipeline: CapturePipeline | None = None
        self._task: asyncio.Task[None] | None = None
        self._http: HttpServer | None = None
        self._error: BaseException | None = None  # the error capture stopped on
        self._faults = CaptureFaults(settings, FaultMetrics(self.metrics.metrics))
        self._watcher: asyncio.Task[None] | None = None
        self._started_at = time.time()
        self._fence_requested = False
        # dictionary.on_ddl = track: the configured dictionary's SYS rows (the base every
        # attempt rebuilds its dictionary versions from).
        self._system_rows: SystemRows | None = None

    @property
    def pipeline(self) -> CapturePipeline | None:
        return self._pipeline

    @property
    def http_url(self) -> str | None:
        return self._http.url if self._http else None

    async def start(self) -> None:
        s = self.settings
        self._filter = TableFilter(tuple(s.filter.include), tuple(s.filter.exclude))
        self._dictionary = await asyncio.to_thread(
            load_dictionary, s.dictionary, self._filter.owners_named()
        )
        if s.dictionary.on_ddl == "track":
            self._system_rows = await asyncio.to_thread(load_system_rows, s.dictionary)
            if self._system_rows is None:
                log.warning(
                    "dictionary.on_ddl = track needs a dictionary holding the SYS dictionary "
                    "tables' rows (an OpenLogReplicator checkpoint, or a snapshot exported by "
                    "this version); this one has none, so capture stops at a DDL that "
                    "changes a captured table's layout, as with on_ddl = stop",
                    extra={"dictionary": str(s.dictionary.path or s.dictionary.kind)},
                )
        self._names = TopicNames(s.kafka.topic_prefix, s.database)
        self._catalog = LogCatalog(
            s.source.archive_dirs,
            s.source.files,
            s.source.archive_pattern,
            online=[p for t in s.source.threads for p in t.online_logs],
        )
        await asyncio.to_thread(self._catalog.refresh)
        self._threads = [t.thread for t in s.source.threads] or self._catalog.threads()
        if not self._threads:
            raise ConfigError(
                "no redo log found in the configured source",
                key="source.files" if s.source.mode == "files" else "source.archive_dirs",
            )
        if s.source.mode == "files":
            await self._attempt()  # fail fast: a one-shot run reports its first error
        self._task = asyncio.create_task(self._supervise(), name="capture-supervisor")
        self._task.add_done_callback(self._pipeline_ended)
        self._watcher = asyncio.create_task(self._watch(), name="capture-watch")
        if self._serve_http:
            from drcapture.api import build_app

            self._http = HttpServer(
                build_app(self),
                s.http.host,
                s.http.port,
                tls_cert=str(s.http.tls_cert_file) if s.http.tls_cert_file else None,
                tls_key=str(s.http.tls_key_file) if s.http.tls_key_file else None,
            )
            await self._http.start()

    async def _supervise(self) -> None:
        """Run the pipeline; in follow mode, rebuild it from the last checkpoint after a
        failure that may pass (Kafka away, a full spill disk), waiting 1 s, then twice as
        long each time up to ``restart.retry_max_seconds`` (back to 1 s once a publish
        went through). The fault stays in status and /health until capture gets past it."""
        backoff = 1.0
        while True:
            failed = False
            try:
                if self._pipeline is None:
                    await self._attempt()
                assert self._pipeline is not None
                self._faults.over("kafka")  # the producer started, the checkpoint read
                await self._pipeline.run()
                if self._pipeline.final_scn is not None:
                    # Fenced: stay up so control can read the final SCN, read nothing more.
                    await asyncio.Event().wait()
                return
            except StaleDictionary as exc:
                if self.settings.dictionary.on_ddl != "reload":
                    raise
                # Re-read the dictionary as of the DDL and rebuild from the checkpoint: the
                # transactions held back after the DDL are decoded again with it.
                log.warning(
                    "reloading the dictionary after a DDL",
                    extra={"scn": exc.where.get("scn"), "table": exc.where.get("table")},
                )
                self._dictionary = await asyncio.to_thread(
                    load_dictionary,
                    self.settings.dictionary,
                    self._filter.owners_named(),
                    exc.where.get("scn"),
                )
                self._pipeline = None
                continue
            except (DRError, KafkaError) as exc:
                # A change that cannot be decoded fails the same way on every retry.
                if self.settings.source.mode == "files" or isinstance(
                        exc, ConfigError | UndecodableChange | TableCameIntoCapture):
                    raise
                failed = True
                if self._pipeline is not None and self._pipeline.published_at is not None:
                    backoff = 1.0  # it went on for a while: this is a new spell
                self._faults.failed(exc, self._pipeline, backoff)
            finally:
                await self._close_attempt(failed)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.settings.restart.retry_max_seconds)

    async def _attempt(self) -> None:
        """Build publisher, readers and pipeline from the checkpoint in Kafka."""
        s = self.settings
        publisher = Publisher(
            s.kafka, self._names, s.capture_id, replication=s.publish.replication_factor
        )
        self._publisher = publisher
        await publisher.start(self._filter.owners_named())
        checkpoint, changes = await load_restart(s.kafka, self._names.checkpoints, s.capture_id)
        positions, states = self._restart_positions(checkpoint)
        versions = self._versions(changes)
        dictionary = versions.current.dictionary if versions else _untracked(self._dictionary)
        readers = {t: self._reader(t, positions, states, dictionary) for t in self._threads}
        if checkpoint is not None:
            log.info(
                "resuming from checkpoint",
                extra={
                    "last_published": checkpoint.last_published,
                    "safe_scn": checkpoint.safe_scn,
                },
            )
        self._pipeline = CapturePipeline(s, readers, publisher, checkpoint, self.metrics,
                                         versions)
        self._pipeline.fence_requested = self._fence_requested

    def _versions(self, changes: list[DictionaryChange]
                  ) -> DictionaryVersions[CoreDictionary] | None:
        """The dictionary versions to start from: the configured dictionary's rows with
        the changes published before (None: on_ddl is not track, or no rows)."""
        if self._system_rows is None:
            return None
        wanted = self._filter
        versions = DictionaryVersions(self._system_rows.copy(), self._dictionary,
                                      lambda d: CoreDictionary(d, wanted), wanted)
        versions.replay(change_sets(changes))
        if versions.applied:
            log.info("dictionary rebuilt from the DDL published before",
                     extra={"versions": len(versions.applied), "scn": versions.current.scn})
        return versions

    def _restart_positions(
        self, checkpoint: CaptureCheckpoint | None
    ) -> tuple[dict[int, ThreadRestart], dict[int, dict[str, Any]] | None]:
        """Where each thread restarts, and the saved open transactions to load, if any."""
        if checkpoint is None:
            return {}, None
        if checkpoint.open_transactions_ref is None:
            return dict(checkpoint.threads), None
        store = OpenStateStore(self.settings.state_dir / "open-transactions")
        states = store.read(checkpoint.open_transactions_ref)
        if states is None:
            return dict(checkpoint.fallback_threads or checkpoint.threads), None
        return dict(checkpoint.threads), states

    def _reader(
        self,
        thread: int,
        positions: dict[int, ThreadRestart],
        states: dict[int, dict[str, Any]] | None,
        dictionary: Dictionary,
    ) -> ThreadReader:
        s = self.settings
        restart = positions.get(thread)
        core = ThreadCore(
            dictionary,
            CoreOptions(
                thread=thread,
                db_id=dictionary.db_id,
                db_name=dictionary.db_name or s.database,
                wanted=self._filter,
                on_undecodable=s.source.on_undecodable,
                on_direct_load=s.source.on_direct_load,
                spill_directory=s.spill.directory / f"thread-{thread}",
                spill_threshold=s.spill.threshold_bytes,
                start=Rba(restart.sequence, restart.block, restart.offset) if restart else None,
                start_exclusive=bool(restart and restart.exclusive and states is not None),
                start_scn=s.source.read_from_scn or s.source.start_scn or 0,
            ),
        )
        if states is not None and thread in states:
            core.import_state(states[thread])
        return ThreadReader(
            thread,
            self._catalog,
            core,
            start_scn=s.source.read_from_scn or s.source.start_scn,
            follow=s.source.mode != "files",
            counters=self.counters,
        )

    async def _close_attempt(self, failed: bool) -> None:
        """After a run ends or fails: keep the pipeline for status, drop the producer
        (and, after a failure, the pipeline: the next attempt starts from the checkpoint)."""
        if self._publisher is not None and (
            self._pipeline is None or not self._pipeline.done or failed
        ):
            await self._publisher.stop()
            self._publisher = None
        if failed:
            if self._pipeline is not None:
                for reader in self._pipeline.readers.values():
                    # Its spill files are of no use now: free their disk at once.
                    await asyncio.to_thread(_discard_spill, reader)
            self._pipeline = None

    def _pipeline_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self._error = error
            log.error("capture stopped on error", exc_info=error)

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:
                pass
        if self._publisher is not None:
            await self._publisher.stop()
        if self._http is not None:
            await self._http.stop()

    def health(self) -> Health:
        """``ok``; ``degraded`` while waiting out a fault it retries by itself (Kafka
        away, a full spill disk, a slow publish); ``failing`` when it cannot progress
        without a person (a damaged or missing log, a fenced producer, a stop on error)."""
        if self._error is not None:
            return Health(HealthStatus.FAILING, {"state": self.state, "error": str(self._error)})
        if self._task is None:
            return Health(HealthStatus.FAILING, {"error": "not started"})
        return self.faults.health({"state": self.state}, time.time())

    async def _watch(self) -> None:
        """Every second: faults the pipeline shows without failing (a publish Kafka does
        not acknowledge, a thread held at damage) onto the board, and the metrics."""
        while True:
            try:
                self._check(time.time())
            except Exception:  # a bug here must not stop capture, nor go unseen
                log.exception("checking capture's faults failed")
            await asyncio.sleep(WATCH_INTERVAL)

    def _check(self, now: float) -> None:
        self._faults.check(self._pipeline, self._catalog, now)
        if self.faults.active():
            lag = self.status()["lag_seconds"]
            if lag is not None:
                self.metrics.lag_seconds.set(lag)  # growing while the fault lasts

    @property
    def faults(self) -> FaultBoard:
        """What capture waits out now (status and /health show it)."""
        return self._faults.board

    def request_fence(self) -> dict[str, Any]:
        """Publish everything read, with a final watermark, then read no more."""
        self._fence_requested = True
        final = self._pipeline.final_scn if self._pipeline is not None else None
        if self._pipeline is not None:
            self._pipeline.fence_requested = True
        return {"state": "fenced" if final is not None else "fencing", "final_scn": final}

    @property
    def error(self) -> BaseException | None:
        return self._error

    @property
    def state(self) -> str:
        """``running`` (also while waiting out a fault it retries by itself),
        ``failed`` (stopped on an error, or held where a person must act), ``fenced``,
        ``stopped``."""
        if self._pipeline is not None and self._pipeline.final_scn is not None:
            return "fenced"
        if self._error is not None or self.faults.severity() is Severity.FAILING:
            return "failed"
        if self._task is None or self._task.done():
            return "stopped"
        return "running"

    def status(self) -> dict[str, Any]:
        """The capture status document of docs/INTERFACES.md."""
        pipeline = self._pipeline
        threads: dict[str, Any] = {}
        last: dict[str, Any] | None = None
        lag: float | None = None
        if pipeline is not None:
            for thread, reader in pipeline.readers.items():
                point = reader.restart_point()
                state = pipeline.merger.threads.get(thread)
                current = reader.current_log
                threads[str(thread)] = {
                    "sequence": current.sequence if current else None,
                    "file": current.location if current else None,
                    "scn": reader.last_scn,
                    "oldest_needed_sequence": point.sequence if point else None,
                    "older_logs_kept": pipeline.retention()[thread]["older_logs_kept"],
                    "open_transactions": reader.open_transactions,
                    "caught_up": reader.caught_up,
                    "quiet": bool(state and state.caught_up_at is not None),
                    "closed": bool(state and state.closed),
                    "held": str(reader.fault) if reader.fault is not None else None,
                }
            info = pipeline.stats.last_commit
            if info is not None:
                last = {
                    "commit_scn": info.commit_scn,
                    "xid": info.xid,
                    "commit_ts": info.commit_ts.isoformat(),
                }
                lag = max(0.0, time.time() - info.commit_ts.timestamp())
            if pipeline.publishing_since is not None:
                lag = max(lag or 0.0, time.time() - pipeline.publishing_since)
        now = time.time()
        worst = self.faults.active()
        error = str(self._error) if self._error else (worst[0].error if worst else None)
        return {
            "state": self.state,
            "health": self.health().status.value,
            "error": error,
            "faults": self.faults.documents(now),
            "threads": threads,
            "safe_scn": pipeline.merger.watermark() if pipeline else None,
            "fence_requested": bool(pipeline and pipeline.fence_requested),
            "final_scn": pipeline.final_scn if pipeline else None,
            # Whether the final SCN vouches for every thread's redo: false when a thread was
            # read from archived logs only (its unarchived online redo was not read).
            "final_complete": (not pipeline.fence_unread_threads
                               if pipeline and pipeline.final_scn is not None else None),
            "fence_unread_threads": pipeline.fence_unread_threads if pipeline else None,
            "order_violations": pipeline.merger.order_violations if pipeline else 0,
            "last_published": last,
            "lag_seconds": lag,
            "transactions_published": pipeline.stats.transactions if pipeline else 0,
            "changes_published": pipeline.stats.changes if pipeline else 0,
            "skipped_ops": dict(self.counters.skipped),
            "unknown_ops": dict(self.counters.unknown),
        }
