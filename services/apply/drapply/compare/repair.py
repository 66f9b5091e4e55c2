"""Repair: from a comparison, make the DR rows equal to the source rows — through apply's
own transaction path, so the checkpoint stays right.

For each table, keys in batches, one DR transaction each: :meth:`TargetSession.begin`
locks the stream's checkpoint row exactly as apply does (apply waits, a moved checkpoint
is re-read), the SCN the DR copy is at is read from it, the source rows are read as of
that SCN and the DR rows in the same transaction; then each key is decided again
(:func:`decide`): the source row is written (upsert) where the DR row is missing or
differs, a DR row the source does not have is deleted, an equal row is left alone (apply
may have fixed it since the comparison). The checkpoint is written back unchanged and
everything commits together. Without ``apply`` the plan is only shown. Every applied
repair is audited (who, why, which run, what changed) in the target's audit table.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from drcommon.errors import DRError
from drcommon.model import Operation

from drapply.adapters.base import AuditRow, BoundChange, Target
from drapply.adapters.rawsql import SqlSession, sql_session
from drapply.adapters.registry import open_target
from drapply.adapters.sqlbase import qualified, quote
from drapply.compare.canonical import RowCanon
from drapply.compare.dr import DrReader, DrTable, position_scn
from drapply.compare.report import CompareReport, TableResult
from drapply.compare.runner import Comparer, canon_for
from drapply.errors import CheckpointMoved
from drapply.settings import ApplySettings
from drapply.snapshot.base import SnapshotReader
from drapply.snapshot.model import SourceTable, WireRow
from drapply.snapshot.registry import open_reader
from drapply.status import utcnow
from drapply.throttle import Throttle

log = logging.getLogger(__name__)
BATCH = 200
ATTEMPTS = 5


class RepairRefused(DRError):
    """The repair cannot run as asked."""


@dataclass(frozen=True, slots=True)
class RepairRequest:
    """Which comparison, who and why; ``apply`` False only shows the plan."""

    run_id: str
    requested_by: str
    reason: str
    apply: bool = False
    tables: tuple[str, ...] = ()  # only these OWNER.TABLE (empty: all in the report)


@dataclass(slots=True)
class TableRepair:
    """One table's plan and what was done."""

    table: str
    target: str
    upsert_sql: str = ""
    delete_sql: str = ""
    upserts: list[WireRow] = field(default_factory=list)
    deletes: list[WireRow] = field(default_factory=list)
    written: int = 0
    deleted: int = 0
    already_equal: int = 0
    scns: list[int] = field(default_factory=list)
    note: str | None = None

    def document(self) -> dict[str, Any]:
        return {
            "table": self.table, "target": self.target, "upsert_sql": self.upsert_sql,
            "delete_sql": self.delete_sql, "upserts": [list(k) for k in self.upserts],
            "deletes": [list(k) for k in self.deletes], "written": self.written,
            "deleted": self.deleted, "already_equal": self.already_equal,
            "scns": sorted(set(self.scns)), "note": self.note,
        }  # fmt: skip


def decide(source: tuple[str | None, ...] | None,
           dr: tuple[str | None, ...] | None) -> str:  # fmt: skip
    """What one key needs: ``upsert`` (source row missing or different on the DR side),
    ``delete`` (only the DR side has it) or ``none``."""
    if source is None:
        return "none" if dr is None else "delete"
    return "none" if source == dr else "upsert"


def plan(report: CompareReport, request: RepairRequest) -> list[TableResult]:
    """The tables of the report the request covers that have keys to repair."""
    chosen = [t for t in report.tables if not request.tables or t.table in request.tables]
    return [t for t in chosen if t.differences]


@dataclass(slots=True)
class _Context:
    session: SqlSession
    source: SourceTable
    dr: DrTable
    canon: RowCanon
    positions: tuple[int, ...]
    work: TableRepair


class Repairer:
    """Applies repairs for one target (see the module docstring)."""

    def __init__(self, settings: ApplySettings, reader: SnapshotReader, target: Target) -> None:
        self.settings = settings
        self.reader = reader
        self.target = target
        self.comparer = Comparer(settings, reader, target, Throttle(0.0))
        self.canon = canon_for(settings)

    def close(self) -> None:
        self.comparer.close()

    def table(self, result: TableResult, apply: bool) -> TableRepair:
        source = self._source(result.table)
        shaped = self.comparer.resolve(source, TableResult(result.table, result.target))
        if shaped is None or not source.key:
            raise RepairRefused("the table cannot be repaired by key (missing on the DR "
                                "side, or no primary key)", table=result.table)  # fmt: skip
        dr = shaped.dr
        session = self.comparer.session(dr.ref.schema)
        work = TableRepair(result.table, str(dr.ref))
        work.upsert_sql = session.upsert_sql(dr.ref, dr.columns, dr.key)
        where = " AND ".join(f"{quote(k)} = {session.ph(i)}" for i, k in enumerate(dr.key))
        work.delete_sql = f"DELETE FROM {qualified(dr.ref)} WHERE {where}"
        for diff in result.differences:
            (work.deletes if diff.kind == "extra" else work.upserts).append(diff.key)
        if not apply:
            return work
        context = _Context(session, source, dr, shaped.canon, shaped.positions, work)
        keys = [d.key for d in result.differences]
        for start in range(0, len(keys), BATCH):
            self._batch(context, keys[start : start + BATCH])
        return work

    def _source(self, name: str) -> SourceTable:
        owner = name.split(".", 1)[0]
        for table in self.reader.tables([owner]):
            if table.full_name == name:
                return table
        raise RepairRefused("no such source table", table=name)

    def _batch(self, ctx: _Context, keys: Sequence[WireRow]) -> None:
        for attempt in range(ATTEMPTS):
            try:
                self._batch_once(ctx, keys)
                return
            except CheckpointMoved:
                if attempt == ATTEMPTS - 1:
                    raise
                log.info("checkpoint moved under a repair batch; again", extra={
                    "table": ctx.source.full_name})  # fmt: skip

    def _batch_once(self, ctx: _Context, keys: Sequence[WireRow]) -> None:
        session, stream = ctx.session, ctx.dr.stream
        session.prepare_stream(stream)
        checkpoint = session.load_checkpoint(stream, 0)
        scn = position_scn(checkpoint.commit_scn, checkpoint.watermark_scn)
        if scn is None:
            raise RepairRefused("the schema's stream has applied nothing yet", topic=stream.topic)
        session.begin(stream, checkpoint.next_offset)  # locks it, as apply does
        try:
            src = [self._project(ctx, r) for r in self.reader.read_keys(ctx.source, scn, keys)]
            dr = DrReader(session).fetch_keys(ctx.dr, keys)
            ours = {ctx.canon.pick(r, ctx.dr.key_positions): r for r in src}
            theirs = {ctx.canon.pick(r, ctx.dr.key_positions): r for r in dr}
            for key in {*ours, *theirs}:
                mine, other = ours.get(key), theirs.get(key)
                action = decide(ctx.canon.row(mine) if mine else None,
                                ctx.canon.row(other) if other else None)  # fmt: skip
                if action == "upsert":
                    assert mine is not None
                    session.insert(self._change(ctx, Operation.INSERT, mine), upsert=True)
                    ctx.work.written += 1
                elif action == "delete":
                    assert other is not None
                    ctx.work.deleted += session.delete(self._change(ctx, Operation.DELETE, other))
                else:
                    ctx.work.already_equal += 1
            ctx.work.already_equal += len(keys) - len({*ours, *theirs})
            session.write_checkpoint(stream, replace(checkpoint))
            session.commit()
        except BaseException:
            session.rollback()
            raise
        ctx.work.scns.append(scn)

    @staticmethod
    def _project(ctx: _Context, row: WireRow) -> WireRow:
        return tuple(row[i] for i in ctx.positions)

    def _change(self, ctx: _Context, op: Operation, row: WireRow) -> BoundChange:
        dr = ctx.dr
        converters = [ctx.session.converter(info) for info in dr.infos]
        values = tuple(c(v) for c, v in zip(converters, row, strict=True))
        key_vals = tuple(values[i] for i in dr.key_positions)
        columns = tuple(zip(dr.columns, dr.infos, strict=True))
        if op is Operation.DELETE:
            return BoundChange(op, dr.ref, ctx.source.owner, ctx.source.name, dr.key, key_vals,
                               (), (), None, columns, True)  # fmt: skip
        return BoundChange(op, dr.ref, ctx.source.owner, ctx.source.name, dr.key, key_vals,
                           dr.columns, values, None, columns, True)  # fmt: skip


def run_repair(settings: ApplySettings, report: CompareReport,
               request: RepairRequest) -> dict[str, Any]:  # fmt: skip
    """Show (or, with ``apply``, perform and audit) the repair of a comparison."""
    tables = plan(report, request)
    target = open_target(settings.target)
    reader = open_reader(settings.source_db)
    repairer = Repairer(settings, reader, target)
    audit_id = f"repair-{uuid.uuid4().hex[:12]}"
    admin = sql_session(target.connect(admin=True))
    try:
        if request.apply:
            admin.add_audit(AuditRow(audit_id, "repair", request.requested_by, {
                "run_id": report.run_id, "reason": request.reason,
                "tables": [t.table for t in tables]}, utcnow()))  # fmt: skip
        done: list[TableRepair] = []
        try:
            for result in tables:
                done.append(repairer.table(result, request.apply))
        except DRError as exc:
            if request.apply:
                admin.finish_audit(audit_id, "failed", {"error": str(exc),
                                   "tables": [t.document() for t in done]})  # fmt: skip
            raise
        outcome = {"run_id": report.run_id, "applied": request.apply,
                   "tables": [t.document() for t in done]}  # fmt: skip
        if request.apply:
            admin.finish_audit(audit_id, "completed", {
                "written": sum(t.written for t in done), "deleted": sum(t.deleted for t in done),
                "already_equal": sum(t.already_equal for t in done)})  # fmt: skip
            outcome["audit_id"] = audit_id
            log.warning("repair applied", extra={"audit_id": audit_id, "run_id": report.run_id,
                        "requested_by": request.requested_by})  # fmt: skip
        return outcome
    finally:
        repairer.close()
        reader.close()
        admin.close()
