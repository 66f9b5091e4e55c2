"""Running a load: decide, plan, copy chunks in parallel, seed the checkpoints.

1. **Decide.** Resume the unfinished load, or begin one: capture's checkpoints are read
   *before* the SCN (so one written later cannot look past a start point it covered),
   then the SCN and its start point; :func:`~drapply.load.decide.capture_verdict` and
   :func:`~drapply.load.decide.may_seed` may refuse.
2. **Plan.** Per table (in the target's schema): create the table as apply would, empty
   it with ``--truncate`` or refuse one that holds rows, split it into chunks as of the
   SCN and record the plan — in one transaction.
3. **Copy.** ``load.parallel`` threads, each with its own source reader; a chunk streams
   from the source in batches into one target transaction that also marks it done.
   Retriable errors retry the chunk (its transaction rolled back); others stop the load
   after the chunks in flight (a rerun resumes).
4. **Seed.** Each schema's checkpoint gets ``seed_scn`` = the SCN and the offset of the
   first transaction committed after it; the load is marked done.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from drcommon.errors import DRError

from drapply.adapters.base import Checkpoint, Stream, Target
from drapply.adapters.rawsql import SqlSession, sql_session
from drapply.adapters.registry import open_target
from drapply.load import ledger
from drapply.load.decide import Begin, Resume, capture_verdict, may_seed, resume_or_begin
from drapply.load.kafka import capture_checkpoints, seed_positions
from drapply.load.model import LoadRefused, LoadReport, LoadRequest, LoadRow, TableReport
from drapply.load.writer import TableWriter
from drapply.naming import Naming, matches
from drapply.progress import Progress
from drapply.settings import ApplySettings
from drapply.snapshot.base import SnapshotReader
from drapply.snapshot.model import Chunk, SourceTable, StartPoint
from drapply.snapshot.registry import open_reader
from drapply.throttle import Throttle
from drapply.wiring import naming_for, stream_for, topic_names

log = logging.getLogger(__name__)
RETRIES = 3


def wanted_tables(settings: ApplySettings, reader: SnapshotReader) -> list[SourceTable]:
    """The source tables apply is configured for (``source.schemas``/``tables``, less
    ``skip_tables``)."""
    src = settings.source
    return [
        t for t in reader.tables(src.schemas)
        if matches(src.tables, t.owner, t.name) and not matches(src.skip_tables, t.owner, t.name)
    ]  # fmt: skip


@dataclass(slots=True)
class _Job:
    writer: TableWriter
    chunk: Chunk
    schema: str
    report: TableReport


@dataclass(slots=True)
class _Run:
    settings: ApplySettings
    target: Target
    naming: Naming
    load_id: str
    scn: int
    progress: Progress
    throttle: Throttle
    readers: list[SnapshotReader] = field(default_factory=list)
    local: threading.local = field(default_factory=threading.local)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reader(self) -> SnapshotReader:
        found: SnapshotReader | None = getattr(self.local, "reader", None)
        if found is None:
            found = open_reader(self.settings.source_db)
            self.local.reader = found
            with self.lock:
                self.readers.append(found)
        return found

    def drop_reader(self) -> None:
        found: SnapshotReader | None = getattr(self.local, "reader", None)
        self.local.reader = None
        if found is not None:
            try:
                found.close()
            except DRError:
                log.debug("closing a broken source reader failed", exc_info=True)

    def close(self) -> None:
        for reader in self.readers:
            try:
                reader.close()
            except DRError:
                log.debug("closing a source reader failed", exc_info=True)


def _session(target: Target, schema: str) -> SqlSession:
    session = sql_session(target.connect())
    try:
        session.ensure_schema(schema)
        ledger.ensure_schema(session, schema)
    except BaseException:
        session.close()
        raise
    return session


# -- planning -------------------------------------------------------------------------------
def _plan_table(run: _Run, reader: SnapshotReader, table: SourceTable, truncate: bool,
                ) -> tuple[TableWriter, list[tuple[Chunk, bool, int]], str]:  # fmt: skip
    writer = TableWriter(table, run.naming)
    schema = writer.ref.schema
    session = _session(run.target, schema)
    try:
        writer.prepare(session)
        planned = ledger.chunks(session, schema, run.load_id, table.owner, table.name)
        if planned:
            return writer, planned, schema
        empty = writer.is_empty(session)
        if not empty and not truncate:
            raise LoadRefused(
                f"target table {writer.ref} already holds rows: a re-seed needs --truncate",
                table=table.full_name,
            )
        chunks = reader.split(table, run.scn, run.settings.load.rows_per_chunk)
        session.start()
        try:
            if not empty:
                writer.empty(session)
            ledger.add_plan(session, schema, run.load_id, table.owner, table.name, chunks)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        log.info("planned", extra={"table": table.full_name, "chunks": len(chunks),
                                   "scn": run.scn, "emptied": not empty})  # fmt: skip
        return writer, [(c, False, 0) for c in chunks], schema
    finally:
        session.close()


# -- copying --------------------------------------------------------------------------------
def _copy_once(run: _Run, job: _Job) -> int:
    reader = run.reader()
    session = _session(run.target, job.schema)
    table = job.writer.table
    try:
        job.writer.prepare(session)
        session.start()
        rows = 0
        pending: list[Any] = []
        limit = run.settings.load.batch_rows
        for batch in reader.read(table, run.scn, job.chunk):
            run.throttle.take(len(batch))
            pending.extend(batch)
            rows += len(batch)
            if len(pending) >= limit:
                job.writer.write(session, pending)
                run.progress.advance(len(pending), table.full_name)
                pending = []
        job.writer.write(session, pending)
        run.progress.advance(len(pending), table.full_name)
        if not ledger.mark_done(session, job.schema, run.load_id, table.owner, table.name,
                                job.chunk.number, rows):  # fmt: skip
            raise LoadRefused("the chunk was finished by another load process",
                              chunk=str(job.chunk), table=table.full_name)  # fmt: skip
        session.commit()
        return rows
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _copy(run: _Run, job: _Job) -> None:
    if run.stop.is_set():
        return
    started = time.monotonic()
    for attempt in range(RETRIES + 1):
        try:
            rows = _copy_once(run, job)
            break
        except DRError as exc:
            if not exc.retriable or attempt == RETRIES:
                run.stop.set()
                raise
            log.warning("chunk failed; retrying", extra={"chunk": str(job.chunk),
                        "table": job.writer.table.full_name, "error": str(exc)})  # fmt: skip
            run.drop_reader()
            time.sleep(2**attempt)
    with run.lock:
        job.report.rows += rows
        job.report.chunks_copied += 1
        job.report.seconds += time.monotonic() - started


def _copy_all(run: _Run, jobs: list[_Job]) -> None:
    with ThreadPoolExecutor(run.settings.load.parallel, thread_name_prefix="load") as pool:
        futures = [pool.submit(_copy, run, job) for job in jobs]
        errors = [f.exception() for f in futures]
    failed = [e for e in errors if e is not None]
    if failed:
        raise failed[0]


# -- seeding --------------------------------------------------------------------------------
def _seed(target: Target, stream: Stream, offset: int, scn: int) -> None:
    session = target.connect()
    try:
        session.prepare_stream(stream)
        current = session.load_checkpoint(stream, offset)
        seeded = Checkpoint(topic=stream.topic, partition=stream.partition, next_offset=offset,
                            commit_scn=scn, schema=stream.schema, seed_scn=scn)  # fmt: skip
        session.begin(stream, current.next_offset)
        try:
            session.write_checkpoint(stream, seeded)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        session.close()


def _existing(target: Target, stream: Stream) -> Checkpoint | None:
    session = target.connect(admin=True)
    try:
        found = [c for c in session.checkpoints() if c.topic == stream.topic
                 and c.partition == stream.partition]  # fmt: skip
    finally:
        session.close()
    return found[0] if found else None


# -- the whole ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Start:
    row: LoadRow
    point: StartPoint
    capture_line: str
    resumed: bool


async def _decide(settings: ApplySettings, request: LoadRequest, admin: SqlSession,
                  reader: SnapshotReader, target: Target) -> _Start:  # fmt: skip
    decision = resume_or_begin(await asyncio.to_thread(ledger.unfinished, admin), request)
    log.warning(decision.line)
    if isinstance(decision, Resume):
        row = decision.row
        point = StartPoint(row.scn, row.start_scn,
                           int(row.detail.get("open_transactions") or 0))  # fmt: skip
        return _Start(row, point, str(row.detail.get("capture_line", "")), resumed=True)
    assert isinstance(decision, Begin)
    if decision.abandon is not None:
        await asyncio.to_thread(ledger.finish_load, admin, decision.abandon.load_id,
                                "abandoned", {"by": request.requested_by})  # fmt: skip
    checkpoints = await capture_checkpoints(settings.kafka, topic_names(settings))
    if request.scn is None:
        point = await asyncio.to_thread(reader.now)
    else:
        point = await asyncio.to_thread(reader.start_point, request.scn)
    capture_line = capture_verdict(point, checkpoints)
    tables = await asyncio.to_thread(wanted_tables, settings, reader)
    if not tables:
        raise LoadRefused("no source table matches source.schemas / source.tables")
    naming = naming_for(settings, settings.target)
    names = topic_names(settings)
    for owner in sorted({t.owner for t in tables}):
        stream = stream_for(naming, names.schema(owner), owner)
        line = may_seed(await asyncio.to_thread(_existing, target, stream), point.scn,
                        request.truncate)  # fmt: skip
        log.info("stream", extra={"topic": stream.topic, "detail": line})
    row = LoadRow(
        load_id=f"load-{point.scn}-{uuid.uuid4().hex[:8]}", scn=point.scn,
        start_scn=point.start_scn, state="running", requested_by=request.requested_by,
        detail={"tables": [t.full_name for t in tables], "start_line": point.line,
                "capture_line": capture_line, "truncate": request.truncate,
                "open_transactions": point.open_transactions, "reason": request.reason},
    )  # fmt: skip
    await asyncio.to_thread(ledger.add_load, admin, row)
    return _Start(row, point, capture_line, resumed=False)


async def run_load(
    settings: ApplySettings,
    request: LoadRequest,
    *,
    progress: Progress | None = None,
    on_decided: Callable[[LoadReport], None] | None = None,
) -> LoadReport:
    """Load (or resume loading) the configured tables at an SCN; see the module docstring."""
    target = open_target(settings.target)
    admin = sql_session(await asyncio.to_thread(target.connect, admin=True))
    reader = await asyncio.to_thread(open_reader, settings.source_db)
    started = time.monotonic()
    try:
        await asyncio.to_thread(ledger.ensure_global, admin)
        start = await _decide(settings, request, admin, reader, target)
        row = start.row
        report = LoadReport(row.load_id, row.scn, row.start_scn,
                            str(row.detail.get("start_line") or start.point.line),
                            start.capture_line, start.resumed)  # fmt: skip
        if on_decided is not None:
            on_decided(report)
        log.warning("load at SCN", extra={"scn": row.scn, "start_scn": row.start_scn,
                                          "load_id": row.load_id})  # fmt: skip
        progress = progress or Progress("load", 0, out=None)
        load = settings.load
        run = _Run(settings, target, naming_for(settings, settings.target), row.load_id, row.scn,
                   progress, Throttle(load.max_rows_per_second))  # fmt: skip
        wanted = set(row.detail.get("tables") or [])
        tables = [t for t in await asyncio.to_thread(wanted_tables, settings, reader)
                  if t.full_name in wanted]  # fmt: skip
        jobs = await asyncio.to_thread(_plan_all, run, reader, tables, report, request.truncate)
        try:
            await asyncio.to_thread(_copy_all, run, jobs)
        finally:
            run.close()
        progress.finish()
        await _seed_all(settings, target, run, report, {t.owner for t in tables})
        report.seconds = time.monotonic() - started
        await asyncio.to_thread(ledger.finish_load, admin, row.load_id, "done",
                                report.document())  # fmt: skip
        return report
    finally:
        reader.close()
        admin.close()


def _plan_all(run: _Run, reader: SnapshotReader, tables: list[SourceTable],
              report: LoadReport, truncate: bool) -> list[_Job]:  # fmt: skip
    jobs: list[_Job] = []
    for table in tables:
        writer, planned, schema = _plan_table(run, reader, table, truncate)
        table_report = TableReport(table.full_name, chunks=len(planned))
        report.tables.append(table_report)
        for chunk, done, rows in planned:
            if done:
                table_report.chunks_done_before += 1
                table_report.rows += rows
            else:
                jobs.append(_Job(writer, chunk, schema, table_report))
                run.progress.add_total(chunk.estimate)
    return jobs


async def _seed_all(settings: ApplySettings, target: Target, run: _Run, report: LoadReport,
                    owners: set[str]) -> None:  # fmt: skip
    names = topic_names(settings)
    topics = {names.schema(owner): owner for owner in sorted(owners)}
    positions = await seed_positions(settings.kafka, topics, run.scn)
    for topic, (offset, line) in positions.items():
        stream = stream_for(run.naming, topic, topics[topic])
        await asyncio.to_thread(_seed, target, stream, offset, run.scn)
        report.seeded[topic] = offset
        log.warning("seeded", extra={"topic": topic, "offset": offset, "scn": run.scn,
                                     "detail": line})  # fmt: skip
