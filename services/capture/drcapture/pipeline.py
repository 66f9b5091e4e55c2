"""The capture loop: read every thread, merge commits, publish batches with checkpoints.

One cycle: each thread reader gets a record budget (in a worker thread, so the event
loop keeps serving health checks); its commits go into the RAC merger unless they were
already published before a restart; released commits join the current batch; the batch
is published, with the checkpoint and the due watermarks, when it is full, old enough,
or when a watermark or checkpoint is due anyway.

A thread held at damage or a missing log (:attr:`ThreadReader.fault`) holds the merge at
the last SCN it read, so everything committed before it on every thread is published;
threads already past that SCN are not read on (their commits could not go out anyway).
Following the archive, the pipeline waits there for the log to be readable; reading
files, it publishes that prefix and then raises the fault.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from drcommon.errors import MissingLog, SourceError
from drcommon.model import (
    CaptureCheckpoint,
    DictionaryChange,
    DictionaryRowChange,
    Heartbeat,
    ThreadRestart,
    TransactionInfo,
)

from drcapture.ddl import StaleDictionary, layout_ddl, split_at_layout_ddl
from drcapture.dictionary.follow import follow
from drcapture.dictionary.system import DictionaryChangeSet
from drcapture.dictionary.versions import DictionaryVersions, table_names
from drcapture.errors import RedoDamaged, RedoUnreadable, StateDiskFull
from drcapture.merge import CommitKey, RacMerger
from drcapture.metrics import CaptureMetrics
from drcapture.native_txn import NativeCommit as CommittedTransaction
from drcapture.native_txn import Prepare
from drcapture.openstate import OpenStateStore, SavedState
from drcapture.publish import NativeTransaction as Outgoing
from drcapture.publish import Publisher
from drcapture.redo.records import Rba
from drcapture.settings import CaptureSettings
from drcapture.thread_reader import ReadResult, ThreadReader

log = logging.getLogger(__name__)

RECORD_BUDGET = 5000


class TableCameIntoCapture(SourceError):
    """A DDL (a RENAME) brought a table into the filter: its rows from before it were
    never captured (and, if another RAC thread had already read on past it, some of its
    changes just after it were not kept either)."""


def _statements(tx: CommittedTransaction) -> list[str]:
    """The transaction's DDL statements, shortened for a log line."""
    found = (orjson.loads(line).get("ddl") for line in tx.change_lines())
    return [sql[:200] for sql in found if sql]


def commit_key(tx: CommittedTransaction) -> CommitKey:
    rba = Rba.parse(tx.commit_rba)
    return CommitKey(tx.commit_scn, tx.thread, (rba.sequence, rba.block, rba.offset))


def published_key(checkpoint: CaptureCheckpoint | None) -> CommitKey | None:
    if checkpoint is None or checkpoint.last_published is None:
        return None
    scn, thread, rba_text = checkpoint.last_published
    rba = Rba.parse(rba_text)
    return CommitKey(scn, thread, (rba.sequence, rba.block, rba.offset))


@dataclass(slots=True)
class PipelineStats:
    """Counters the status endpoint and the run summary report."""

    transactions: int = 0
    changes: int = 0
    records_sent: int = 0
    skipped_published: int = 0
    last_commit: TransactionInfo | None = None
    schemas: set[str] = field(default_factory=set)


class CapturePipeline:
    """Owns the readers, the merger and the publisher for one source database."""

    def __init__(
        self,
        settings: CaptureSettings,
        readers: dict[int, ThreadReader],
        publisher: Publisher,
        checkpoint: CaptureCheckpoint | None,
        metrics: CaptureMetrics,
        versions: DictionaryVersions[Any] | None = None,
    ) -> None:
        self._settings = settings
        # Set: the dictionary follows the redo's DDL (dictionary.on_ddl = track); None:
        # capture stops at a layout-changing DDL (StaleDictionary).
        self._versions = versions
        # Dictionary versions made by released DDL transactions, not yet published.
        self._new_versions: list[tuple[CommitKey, DictionaryChange]] = []
        # A version brought tables into capture (a RENAME): their older rows, and maybe
        # changes other threads read past, are not on the DR side. Publish up to it,
        # then stop once and say which (and whether other threads read past it).
        self._came_in: tuple[CommittedTransaction, list[str], bool] | None = None
        # Per thread: DDL transactions it read that the merge has not released yet. The
        # thread reads on with a provisional version made with them (nothing it reads
        # later committed before them); records wait for the released version.
        self._ahead: dict[int, list[tuple[CommitKey, DictionaryChangeSet]]] = {}
        self._readers = readers
        self._publisher = publisher
        self._metrics = metrics
        self._merger: RacMerger[CommittedTransaction] = RacMerger(
            readers, grace=settings.source.idle_thread_grace
        )
        self._published = published_key(checkpoint)
        self._acked = self._published
        if self._published is None and settings.source.start_scn is not None:
            # First synchronisation: the DR copy holds everything committed up to start_scn.
            self._published = CommitKey(settings.source.start_scn, 2**31, (2**32, 2**32, 2**16))
        self._batch: list[CommittedTransaction] = []
        self._batch_started = 0.0
        self._last_publish = 0.0
        self._last_watermark_scn = -1
        self._ddl_stop: CommittedTransaction | None = None
        self._held: list[CommittedTransaction] = []
        self._retention_warned: dict[int, int | None] = {}
        self._progress_seen: dict[int, tuple[int, float]] = {}
        self._state_store = (
            OpenStateStore(settings.state_dir / "open-transactions")
            if settings.restart.persist_open_transactions
            else None
        )
        self._saved: SavedState | None = None
        self._last_state_save = time.monotonic()
        self._zone = ZoneInfo(settings.source.redo_timezone)
        self.stats = PipelineStats()
        # Each read makes its commits' Kafka records too, in the same call to the core
        # (beside the other threads' reads, the GIL released): the publisher sends them.
        prepare = Prepare(self._aware, settings.publish.max_changes_per_message,
                          settings.publish.record_limits())
        for reader in readers.values():
            reader.prepare = prepare
        self.publishing_since: float | None = None  # wall clock: a publish is in flight
        self.published_at: float | None = None  # wall clock of the last publish Kafka took
        self.state_fault: StateDiskFull | None = None  # the last save of open transactions
        self.state_saved = False  # a save of open transactions went through
        self.done = False
        self._all_at_end = False  # the last pass read every thread to its written end
        self.fence_requested = False
        self.final_scn: int | None = None
        # Threads a fence found at the end of their archived logs only: their instance's
        # unarchived online redo was not read, so the final SCN does not vouch for it.
        self.fence_unread_threads: list[int] | None = None

    @property
    def merger(self) -> RacMerger[CommittedTransaction]:
        return self._merger

    @property
    def readers(self) -> dict[int, ThreadReader]:
        return self._readers

    @property
    def published_key(self) -> CommitKey | None:
        """The commit order key of the last transaction Kafka acknowledged (or, before
        the first publish, the one this pipeline resumed after)."""
        return self._acked

    async def run(self) -> None:
        """Cycle until every thread finished (files mode) or until cancelled."""
        source = self._settings.source
        while not self.done:
            progressed = await self.cycle()
            if not progressed:
                await asyncio.sleep(source.poll_interval)
            elif self._all_at_end and source.follow_interval:
                await asyncio.sleep(source.follow_interval)

    async def cycle(self) -> bool:
        """One pass over every thread; True when something was read or published."""
        progressed = False
        at_end = True
        for thread, result in await self._read_all():
            now = time.monotonic()
            self._metrics.observe_read(thread, result.records, result.bytes)
            for tx in result.commits:
                key = commit_key(tx)
                if self._published is not None and key <= self._published:
                    self.stats.skipped_published += 1
                    continue
                self._merger.add(key, tx, read_at=now)
                if self._versions is not None and tx.has_system_changes:
                    self._read_ahead(tx, key)
            self._merger.progress(thread, result.scn, now=now, caught_up=result.quiet)
            if result.finished:
                self._merger.close(thread)
            else:
                self._watch_archive_idle(thread, result.scn, now)
            progressed = progressed or result.records > 0
            at_end = at_end and result.caught_up
        self._all_at_end = at_end
        fencing = self._fence_if_due()
        released = self._release()
        if released and not self._batch:
            self._batch_started = time.monotonic()
        self._batch.extend(released)
        finished = all(r.finished for r in self._readers.values()) and not self._merger.pending()
        finished = finished or (fencing and not self._merger.pending())
        stuck = self._files_stuck()
        stopping = self._ddl_stop is not None or self._came_in is not None
        if await self._maybe_publish(force=finished or stuck or stopping):
            progressed = True
        self._stop_if_due()
        if stuck:
            raise min(self.faults(), key=lambda f: f.where.get("scn", 0))
        if finished:
            if fencing:
                self.final_scn = self._last_watermark_scn
                log.warning(
                    "fenced: everything read is published; capture stops",
                    extra={"final_scn": self.final_scn,
                           "threads_read_from_archive_only": self.fence_unread_threads},
                )
            self.done = True
        return progressed

    def faults(self) -> list[RedoDamaged | MissingLog | RedoUnreadable]:
        """Why threads stand still (a damaged, missing or unreadable log), if any do."""
        return [r.fault for r in self._readers.values() if r.fault is not None]

    def held_at(self) -> int | None:
        """The lowest SCN a held thread has read to (None: no thread is held)."""
        held = [r.last_scn for r in self._readers.values() if r.fault is not None]
        return min(held) if held else None

    def _files_stuck(self) -> bool:
        """Reading files: a thread is held and every other one is done or past it, so
        what can be published before the damage is (True: publish it, then stop)."""
        held_at = self.held_at()
        if self._settings.source.mode != "files" or held_at is None:
            return False
        return all(r.fault is not None or r.finished or r.last_scn > held_at
                   for r in self._readers.values())  # fmt: skip

    async def _read_all(self) -> list[tuple[int, ReadResult]]:
        """Every thread's read, at once: each in its own OS thread (the core releases the
        GIL). All reads end before any result is used (the first error, in thread order,
        is raised then), and results come in thread order: the merge and what is
        published do not depend on timing."""
        held_at = self.held_at()
        reading = {
            thread: reader
            for thread, reader in self._readers.items()
            # past a held thread: nothing more of it can be released
            if not (held_at is not None and reader.fault is None and reader.last_scn > held_at)
        }
        results = await asyncio.gather(
            *(asyncio.to_thread(self._read_one, r) for r in reading.values()),
            return_exceptions=True,
        )
        done: list[tuple[int, ReadResult]] = []
        for thread, outcome in zip(reading, results, strict=True):
            if isinstance(outcome, BaseException):
                raise outcome
            done.append((thread, outcome))
        return done

    def _read_one(self, reader: ThreadReader) -> ReadResult:
        """One thread's read, in its worker thread; its commits' Kafka records are made
        in the same read (``reader.prepare``): serialising runs beside the other
        threads' reads instead of on the event loop."""
        return reader.read(RECORD_BUDGET)

    def _fence_if_due(self) -> bool:
        """When a fence is requested and everything written is read: no thread will
        deliver more, so every buffered commit can go (True)."""
        if not (self.fence_requested and all(r.caught_up for r in self._readers.values())):
            return False
        if self.fence_unread_threads is None:
            self.fence_unread_threads = self._online_unread()
        for thread in self._readers:
            self._merger.close(thread)
        return True

    def _online_unread(self) -> list[int]:
        """Threads not at the end of the redo their instance wrote: read to the end of
        their archived logs, not of an online log (files mode: their files are done)."""
        unread = []
        for thread, reader in self._readers.items():
            state = self._merger.threads.get(thread)
            if not reader.finished and (state is None or state.caught_up_at is None):
                unread.append(thread)
        return unread

    def _watch_archive_idle(self, thread: int, scn: int, now: float) -> None:
        """A thread read only from archived logs that has shown no new redo for
        ``archive_idle_timeout`` stops holding back the others (it re-opens as soon as a
        log of it appears). Set the timeout above Oracle's ARCHIVE_LAG_TARGET."""
        last_scn, since = self._progress_seen.get(thread, (-1, now))
        if scn != last_scn:
            self._progress_seen[thread] = (scn, now)
            return
        state = self._merger.threads.get(thread)
        timeout = self._settings.source.archive_idle_timeout
        if self._readers[thread].fault is not None:  # held at damage: it has more redo
            return
        if state is None or state.closed or now - since < timeout:
            return
        if state.caught_up_at is not None:  # an online log reports the thread quiet itself
            return
        log.warning(
            "no new redo from this thread for archive_idle_timeout; it no longer holds "
            "back the others (configure its online logs, or Oracle's ARCHIVE_LAG_TARGET, "
            "if the instance is running)",
            extra={"redo_thread": thread, "seconds": round(now - since, 1), "scn": scn},
        )
        self._merger.close(thread)

    def _hold_after_layout_ddl(
        self, released: list[CommittedTransaction]
    ) -> list[CommittedTransaction]:
        """Publish up to a layout-changing DDL; hold back what was decoded after it."""
        if self._ddl_stop is not None:
            self._held.extend(released)
            return []
        publish, held, ddl_tx = split_at_layout_ddl(released)
        if ddl_tx is not None:
            self._ddl_stop, self._held = ddl_tx, held
        return publish

    def _release(self) -> list[CommittedTransaction]:
        """What the merge releases now, as far as the dictionary lets it go out."""
        released = self._merger.release()
        if self._versions is not None:
            return self._follow_dictionary(released)
        return self._hold_after_layout_ddl(released)

    def _stop_if_due(self) -> None:
        """After publishing up to a DDL that needs it: stop, or start over."""
        if self._ddl_stop is not None:
            self._stop_for_ddl(self._ddl_stop)
        if self._came_in is not None:
            self._stop_came_in(*self._came_in)

    def _follow_dictionary(
        self, released: list[CommittedTransaction]
    ) -> list[CommittedTransaction]:
        """Apply each released DDL transaction's dictionary changes (a new version from
        its commit SCN on) and make every later commit's records with the version valid
        at its commit (see drcapture.dictionary.versions for why that is exact)."""
        versions = self._versions
        assert versions is not None
        if self._came_in is not None:
            self._held.extend(released)
            return []
        out: list[CommittedTransaction] = []
        for index, tx in enumerate(released):
            if tx.has_system_changes:
                key = commit_key(tx)
                self._ahead[tx.thread] = [p for p in self._ahead.get(tx.thread, [])
                                          if p[0] != key]
            followed = follow(tx, versions)
            if followed.publish:
                out.append(tx)
            version, entry = followed.version, followed.entry
            if version is None or entry is None or followed.before is None:
                continue
            self._install()
            self._new_versions.append((commit_key(tx), self._dictionary_change(tx, entry)))
            self._metrics.dictionary_versions.inc()
            log.warning(
                "the dictionary changed: a new version decodes what committed after it",
                extra={"scn": tx.commit_scn, "xid": str(tx.xid), "ddl": _statements(tx),
                       "tables_changed": sorted(version.changed_tables)[:20]},
            )
            came_in = versions.came_into_capture(followed.before, version)
            if came_in:
                read_past = self._came_in_unread(
                    tx, versions.newly_captured(followed.before, version))
                self._came_in = (tx, table_names(came_in, version.dictionary), read_past)
                self._held.extend(released[index + 1:])
                break
        return out

    def _read_ahead(self, tx: CommittedTransaction, key: CommitKey) -> None:
        """A thread read a DDL transaction: it reads on with a provisional version."""
        versions = self._versions
        assert versions is not None
        entry = DictionaryChangeSet(scn=tx.commit_scn, xid=str(tx.xid),
                                    changes=tuple(tx.system_changes()))
        pending = self._ahead.setdefault(tx.thread, [])
        pending.append((key, entry))
        version = versions.provisional(e for _, e in pending)
        if version is not None:
            self._readers[tx.thread].core.set_dictionary(version.core)

    def _install(self) -> None:
        """The released version for every thread, or its provisional one where it read
        DDL transactions the merge has not released yet."""
        versions = self._versions
        assert versions is not None
        for thread, reader in self._readers.items():
            ahead = [e for _, e in self._ahead.get(thread, [])]
            version = versions.provisional(ahead) if ahead else None
            reader.core.set_dictionary((version or versions.current).core)

    def _came_in_unread(self, tx: CommittedTransaction, objs: set[int]) -> bool:
        """Another thread read past ``tx`` while ``objs`` were not wanted (on one thread,
        the core's read ends at the DDL's commit: nothing after it was read with the old
        version)."""
        return bool(objs) and any(r.last_scn > tx.commit_scn
                                  for t, r in self._readers.items() if t != tx.thread)

    def _dictionary_change(self, tx: CommittedTransaction,
                           entry: DictionaryChangeSet) -> DictionaryChange:
        changes = entry.changes
        return DictionaryChange(
            capture_id=self._settings.capture_id, scn=tx.commit_scn, thread=tx.thread,
            commit_rba=tx.commit_rba, xid=str(tx.xid), written_at=datetime.now(UTC),
            changes=tuple(DictionaryRowChange(table=c.table, op=c.op,
                                              rowid=c.rowid, values=c.values)
                          for c in changes),
        )

    def _stop_came_in(self, tx: CommittedTransaction, tables: list[str],
                      read_past: bool) -> None:
        """After publishing up to ``tx``: stop, naming the tables and what to do."""
        also = (" and, another RAC thread having read past the DDL without keeping their "
                "changes, some committed just after it" if read_past else "")
        raise TableCameIntoCapture(
            "a DDL (a RENAME) brought tables into capture. Their rows from before it were "
            f"never captured{also}: the DR side lacks them. Everything up to the DDL is "
            "published (the DDL too) and capture follows these tables from its next start: "
            "restart capture, then re-synchronise them (drapply compare --table T, then "
            "drapply repair)",
            tables=",".join(tables), scn=tx.commit_scn, xid=str(tx.xid),
        )

    def _stop_for_ddl(self, tx: CommittedTransaction) -> None:
        change = layout_ddl(tx)
        assert change is not None
        raise StaleDictionary(
            "a DDL changed the layout of a captured table; it is published, and capture "
            "stopped before decoding later rows with the old dictionary. Export a dictionary "
            f"as of SCN {tx.commit_scn} (drcapture dictionary export --scn {tx.commit_scn} …) "
            "and restart",
            table=f"{change.owner}.{change.table}",
            scn=tx.commit_scn,
            xid=str(tx.xid),
            ddl=(change.ddl or "")[:200],
        )

    async def _maybe_publish(self, *, force: bool) -> bool:
        publish = self._settings.publish
        now = time.monotonic()
        full = len(self._batch) >= publish.max_batch_transactions
        aged = bool(self._batch) and now - self._batch_started >= publish.max_batch_seconds
        watermark = self._merger.watermark()
        mark_due = (
            watermark > self._last_watermark_scn
            and now - self._last_publish >= publish.watermark_interval
        )
        # An idle source still gets its open transactions saved: otherwise a restart
        # after a quiet night re-reads every log since the oldest open transaction.
        state_due = self._open_state_due(now) is not None
        if not (full or aged or mark_due or state_due or force):
            return False
        batch, self._batch = self._batch, []
        await self._publish(batch, watermark)
        return True

    async def _publish(self, batch: list[CommittedTransaction], watermark: int) -> None:
        outgoing = [self._outgoing(tx) for tx in batch]
        if batch:
            last = batch[-1]
            key = commit_key(last)
            self._published = key
        checkpoint = self._checkpoint()
        started = time.monotonic()
        self.publishing_since = time.time()
        published = self._published
        versions = [c for k, c in self._new_versions if published is not None and k <= published]
        sent = await self._publisher.publish(
            outgoing,
            checkpoint,
            watermark_scn=watermark,
            max_changes=self._settings.publish.max_changes_per_message,
            heartbeat=self._heartbeat(watermark),
            limits=self._settings.publish.record_limits(),
            dictionary_changes=versions,
        )
        self._new_versions = self._new_versions[len(versions):]
        self._last_publish = time.monotonic()
        self.published_at, self.publishing_since = time.time(), None
        self._acked = self._published
        self._last_watermark_scn = watermark
        self._check_retention()
        self._metrics.observe_publish(outgoing, sent, self._last_publish - started, watermark)
        self._metrics.order_violations.set(self._merger.order_violations)
        for item in outgoing:
            self.stats.transactions += 1
            self.stats.changes += item.change_count
            self.stats.schemas.update(item.info.schemas)
            self.stats.last_commit = item.info
        self.stats.records_sent += sent
        if outgoing:
            log.info(
                "published",
                extra={
                    "transactions": len(outgoing),
                    "records": sent,
                    "commit_scn": outgoing[-1].info.commit_scn,
                    "xid": outgoing[-1].info.xid,
                    "watermark": watermark,
                },
            )

    def retention(self) -> dict[int, dict[str, int | None]]:
        """Per thread: the oldest log a restart needs and how many older logs remain.

        A margin below ``source.retention_warning_logs`` means the archive's retention is
        deleting logs close to the one capture still needs: warn now, not when it is gone.
        """
        report: dict[int, dict[str, int | None]] = {}
        for thread, reader in self._readers.items():
            point = reader.restart_point()
            present = reader.catalog.sequences(thread)
            needed = point.sequence if point else None
            margin = needed - present[0] if needed is not None and present else None
            report[thread] = {"oldest_needed_sequence": needed, "older_logs_kept": margin}
        return report

    def _check_retention(self) -> None:
        limit = self._settings.source.retention_warning_logs
        for thread, item in self.retention().items():
            needed, margin = item["oldest_needed_sequence"], item["older_logs_kept"]
            if needed is not None:
                self._metrics.oldest_needed_sequence.labels(str(thread)).set(needed)
            at_risk = margin is not None and margin < limit
            if at_risk and self._retention_warned.get(thread) != needed:
                log.warning(
                    "the oldest redo log capture still needs is close to the archive's "
                    "retention edge; keep it until capture has moved on",
                    extra={"redo_thread": thread, "sequence": needed, "older_logs_kept": margin},
                )
                self._retention_warned[thread] = needed

    def _open_state_due(self, now: float) -> dict[int, tuple[int, int, int]] | None:
        """The positions to save the open transactions at, when a save is due: one of
        them started in an older log than the one being read (so it would pin a classic
        restart), the interval has passed and the readers moved since the last save."""
        if self._state_store is None:
            return None
        if now - self._last_state_save < self._settings.restart.persist_interval:
            return None
        positions: dict[int, tuple[int, int, int]] = {}
        spans = False
        for thread, reader in self._readers.items():
            if reader.last_rba is None:
                return None
            rba = reader.last_rba
            positions[thread] = (rba.sequence, rba.block, rba.offset)
            opened = reader.core.open_transactions()
            if opened and Rba.parse(opened[0].start_rba).sequence < rba.sequence:
                spans = True
        if not spans or (self._saved is not None and self._saved.positions == positions):
            return None
        return positions

    def _maybe_save_open_state(self) -> None:
        """Save the open transactions when a save is due (see _open_state_due)."""
        store = self._state_store
        now = time.monotonic()
        positions = self._open_state_due(now)
        if store is None or positions is None:
            return
        unpublished = [commit_key(tx) for tx in self._batch_and_pending()]
        last = max(unpublished) if unpublished else None
        self._last_state_save = now
        try:
            self._saved = store.write(
                {t: r.core.export_state() for t, r in self._readers.items()},
                positions,
                {t: r.last_scn for t, r in self._readers.items()},
                (last.scn, last.thread, last.rba) if last else None,
            )
        except StateDiskFull as exc:  # capture goes on; the checkpoints keep older states
            if self.state_fault is None:
                log.error("saving the open transactions failed", extra={"error": str(exc)})
            self.state_fault = exc
            return
        self.state_fault, self.state_saved = None, True
        log.info(
            "saved open transactions for a bounded restart",
            extra={"ref": self._saved.ref, "positions": positions},
        )

    def _saved_state_usable(self, classic: dict[int, ThreadRestart]) -> bool:
        saved = self._saved
        if saved is None:
            return False
        if saved.requires_published is not None:
            scn, thread, rba = saved.requires_published
            if self._published is None or self._published < CommitKey(scn, thread, rba):
                return False  # commits read before the state are not all out yet
        return any(
            (c.sequence, c.block, c.offset) < saved.positions.get(t, (0, 0, 0))
            for t, c in classic.items()
        )

    def _aware(self, moment: datetime) -> datetime:
        """Redo times without an offset are in the database server's time zone."""
        if moment.tzinfo is not None:
            return moment
        return moment.replace(tzinfo=self._zone).astimezone(UTC)

    def _outgoing(self, tx: CommittedTransaction) -> Outgoing:
        moment = tx.commit_ts
        if moment is None:
            raise ValueError(f"transaction {tx.xid} has no commit time")
        return Outgoing(tx.info(self._aware(moment)), tx)

    def _heartbeat(self, watermark: int) -> Heartbeat:
        """The source time the watermark stands for: the oldest of the newest redo times
        read by the threads still holding it (what an idle source's lag is measured by)."""
        times = [
            r.last_time
            for t, r in self._readers.items()
            if r.last_time is not None and not self._merger.threads[t].closed
        ]
        source_ts = self._aware(min(times)) if times else None
        return Heartbeat(
            capture_id=self._settings.capture_id,
            watermark_scn=watermark,
            source_ts=source_ts,
            threads={t: r.last_scn for t, r in self._readers.items()},
            emitted_at=datetime.now(UTC),
        )

    def _checkpoint(self) -> CaptureCheckpoint:
        """Restart state matching exactly what has been published so far."""
        self._maybe_save_open_state()
        unpublished: dict[int, Rba] = {}
        for tx in self._batch_and_pending():
            start = Rba.parse(tx.start_rba)
            current = unpublished.get(tx.thread)
            unpublished[tx.thread] = start if current is None else min(current, start)
        threads: dict[int, ThreadRestart] = {}
        for thread, reader in self._readers.items():
            point = reader.restart_point()
            waiting = unpublished.get(thread)
            if waiting is not None:
                point = waiting if point is None else min(point, waiting)
            if point is None:
                continue
            threads[thread] = ThreadRestart(
                sequence=point.sequence,
                block=point.block,
                scn=reader.last_scn,
                resetlogs=reader.current_log.resetlogs_id if reader.current_log else None,
                offset=point.offset,
            )
        published = self._published
        ref: str | None = None
        fallback: dict[int, ThreadRestart] | None = None
        if self._saved is not None and self._saved_state_usable(threads):
            saved = self._saved
            ref, fallback = saved.ref, threads
            threads = {
                t: ThreadRestart(
                    sequence=p[0], block=p[1], offset=p[2], scn=saved.scns[t], exclusive=True
                )
                for t, p in saved.positions.items()
            }
        return CaptureCheckpoint(
            capture_id=self._settings.capture_id,
            threads=threads,
            open_transactions_ref=ref,
            fallback_threads=fallback,
            last_published=(
                (published.scn, published.thread, str(Rba(*published.rba))) if published else None
            ),
            safe_scn=self._merger.watermark(),
            written_at=datetime.now(UTC),
        )

    def _batch_and_pending(self) -> list[CommittedTransaction]:
        return list(self._batch) + self._held + self._merger.pending_items()
