"""Comparing the DR copy with the source, table by table, chunk by chunk.

For each DR page (rows plus the SCN they equal, one snapshot: :mod:`~drapply.compare.dr`)
the same key range is read at the source as of that SCN and both sides hashed row by
row (:mod:`~drapply.compare.canonical`): a chunk whose digests (row count, sum of row
hashes) agree is done. Keys that disagree — missing, extra, different, or a row the two
databases order into different chunks — are read again by key in a fresh snapshot on
both sides, which names the differing columns and drops what apply has fixed since
(the drill-down). A table without a primary key is compared as a multiset of rows.

Cost: both sides' rows are read and hashed in Python (rows/s per core measured in
``bench/README.md``); ``compare.max_rows_per_second`` and ``busy_hours`` pace it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from drcommon.errors import DRError

from drapply.adapters.base import Target
from drapply.adapters.rawsql import SqlSession, sql_session
from drapply.compare.canonical import Canon, RowCanon, row_hash
from drapply.compare.dr import DrReader, DrTable
from drapply.compare.report import KINDS, CompareReport, KeyDiff, TableResult
from drapply.naming import Naming, matches
from drapply.progress import Progress
from drapply.settings import ApplySettings, TargetKind
from drapply.snapshot.base import SnapshotReader
from drapply.snapshot.model import KeyRange, SourceTable, WireRow
from drapply.throttle import Throttle
from drapply.typemap import classify
from drapply.wiring import naming_for, stream_for, topic_names

log = logging.getLogger(__name__)
MAX_RECHECK = 100_000
RECHECK_BATCH = 500
CKey = tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class CompareRequest:
    """What to compare: table patterns (OWNER.TABLE; empty: every configured table), a
    fixed SCN (the DR copy must be held there), at most ``max_chunks`` chunks per table
    from ``start_after`` (sampled verification), who asks."""

    tables: tuple[str, ...] = ()
    at_scn: int | None = None
    requested_by: str = "unknown"
    kind: str = "compare"
    max_chunks: int | None = None
    start_after: dict[str, WireRow] = field(default_factory=dict)


def canon_for(settings: ApplySettings) -> Canon:
    target = settings.target
    return Canon(empty_is_null=target.kind is TargetKind.ORACLE,
                 tz_instants=target.tz_timestamps == "native")  # fmt: skip


@dataclass(slots=True)
class _Table:
    """A table being compared: both sides' shapes and what was found."""

    source: SourceTable
    dr: DrTable
    positions: tuple[int, ...]  # source column positions the DR table has too
    canon: RowCanon
    result: TableResult
    candidates: dict[CKey, tuple[WireRow, str]] = field(default_factory=dict)
    overflow: Counter[str] = field(default_factory=Counter)

    def project(self, row: WireRow) -> WireRow:
        return tuple(row[i] for i in self.positions)

    def key_of(self, row: WireRow) -> tuple[CKey, WireRow]:
        return self.canon.pick(row, self.dr.key_positions), self.wire_key(row)

    def wire_key(self, row: WireRow) -> WireRow:
        return tuple(row[i] for i in self.dr.key_positions)

    def flag(self, key: CKey, wire: WireRow, kind: str) -> None:
        if key in self.candidates or len(self.candidates) < MAX_RECHECK:
            self.candidates[key] = (wire, kind)
        else:
            self.overflow[kind] += 1


class Comparer:
    """Compares tables of one DR target with one source reader."""

    def __init__(self, settings: ApplySettings, reader: SnapshotReader, target: Target,
                 throttle: Throttle, progress: Progress | None = None,
                 at_scn: int | None = None) -> None:  # fmt: skip
        self.settings = settings
        self.reader = reader
        self.target = target
        self.throttle = throttle
        self.progress = progress
        self.at_scn = at_scn
        self.naming: Naming = naming_for(settings, settings.target)
        self.canon = canon_for(settings)
        self.names = topic_names(settings)
        self._sessions: dict[str, SqlSession] = {}

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    def session(self, schema: str) -> SqlSession:
        found = self._sessions.get(schema)
        if found is None:
            found = sql_session(self.target.connect())
            found.ensure_schema(schema)
            self._sessions[schema] = found
        return found

    # -- shapes ------------------------------------------------------------------------------
    def resolve(self, source: SourceTable, result: TableResult) -> _Table | None:
        """Both sides' shapes (None: the DR table does not exist; noted in ``result``)."""
        ref = self.naming.table(source.owner, source.name)
        session = self.session(ref.schema)
        shape = session.describe(ref)
        if shape is None:
            result.state = "missing_table"
            return None
        names = [self.naming.column(source.owner, source.name, c) for c in source.column_names]
        positions = tuple(i for i, n in enumerate(names) if n in shape.columns)
        absent = [source.column_names[i] for i, n in enumerate(names) if n not in shape.columns]
        if absent:
            result.notes.append("columns missing on the DR table (not compared): "
                                + ", ".join(absent))  # fmt: skip
        missing_keys = [k for k in source.key if source.column_names.index(k) not in positions]
        if missing_keys:
            raise DRError("key columns missing on the DR table", columns=missing_keys)
        infos = tuple(source.columns[i][1] for i in positions)
        key_positions = tuple(positions.index(source.column_names.index(k)) for k in source.key)
        stream = stream_for(self.naming, self.names.schema(source.owner), source.owner)
        dr = DrTable(ref, stream, tuple(names[i] for i in positions), infos,
                     tuple(names[source.column_names.index(k)] for k in source.key),
                     key_positions)  # fmt: skip
        canon = RowCanon(tuple(classify(i) for i in infos), tuple(i.type for i in infos),
                         self.canon)  # fmt: skip
        return _Table(source, dr, positions, canon, result)

    # -- one table ---------------------------------------------------------------------------
    def compare(self, source: SourceTable, *, start_after: WireRow | None = None,
                max_chunks: int | None = None) -> tuple[TableResult, WireRow | None]:  # fmt: skip
        """Compare one table (or ``max_chunks`` chunks of it after ``start_after``);
        returns the result and where a next sampled run continues (None: the end)."""
        ref = self.naming.table(source.owner, source.name)
        result = TableResult(source.full_name, str(ref), key=source.key)
        started = time.monotonic()
        cursor: WireRow | None = None
        try:
            table = self.resolve(source, result)
            if table is None:
                self._count_source(source, result)
            elif not source.key:
                self._multiset(table)
            else:
                cursor = self._chunks(table, start_after, max_chunks)
                self._recheck(table)
        except DRError as exc:
            result.state, result.error = "error", str(exc)
            log.warning("table not compared", extra={"table": source.full_name,
                                                     "error": str(exc)})  # fmt: skip
        result.seconds = time.monotonic() - started
        return result, cursor

    def _count_source(self, source: SourceTable, result: TableResult) -> None:
        scn = self.at_scn or self.reader.current_scn()
        result.saw(scn)
        for batch in self.reader.read_range(source, scn, KeyRange()):
            self._pace(len(batch))
            result.source_rows += len(batch)
        result.missing = result.source_rows

    def _pace(self, rows: int, note: str | None = None) -> None:
        self.throttle.take(rows)
        if self.progress is not None:
            self.progress.advance(rows, note)

    def _chunks(self, t: _Table, after: WireRow | None, max_chunks: int | None) -> WireRow | None:
        dr_reader = DrReader(self.session(t.dr.ref.schema), self.at_scn)
        size = self.settings.compare.rows_per_chunk
        result = t.result
        result.whole_table = after is None and max_chunks is None
        lo = after
        while True:
            page = dr_reader.page(t.dr, lo, size)
            self._pace(len(page.rows), t.source.full_name)
            self._chunk(t, page.scn, page.rows, KeyRange(lo, page.hi))
            if page.hi is None:
                return None
            lo = page.hi
            if max_chunks is not None and result.chunks >= max_chunks:
                result.whole_table = False
                return lo

    def _source_rows(self, t: _Table, scn: int, keys: KeyRange) -> Iterator[WireRow]:
        for batch in self.reader.read_range(t.source, scn, keys):
            self._pace(len(batch))
            for row in batch:
                yield t.project(row)

    def _chunk(self, t: _Table, scn: int, rows: list[WireRow], keys: KeyRange) -> None:
        """One chunk: the DR rows' hashes by key, then the source's range streamed
        against them; keys that do not match are flagged for the drill-down."""
        result = t.result
        result.chunks += 1
        result.saw(scn)
        result.dr_rows += len(rows)
        at = t.dr.key_positions
        theirs: dict[CKey, tuple[int, WireRow]] = {}  # key -> (hash, wire key)
        for row in rows:
            canon = t.canon.row(row)
            theirs[tuple(canon[i] for i in at)] = (row_hash(canon), t.wire_key(row))
        rows.clear()  # only hashes and keys are kept (a page of LOBs can be large)
        dr_digest = (len(theirs), sum(h for h, _w in theirs.values()) % 2**64)
        total = count = 0
        flagged = len(t.candidates) + sum(t.overflow.values())
        for row in self._source_rows(t, scn, keys):
            count += 1
            canon = t.canon.row(row)
            digest = row_hash(canon)
            total += digest
            key = tuple(canon[i] for i in at)
            found = theirs.pop(key, None)
            if found is None:
                t.flag(key, t.wire_key(row), "missing")
            elif found[0] != digest:
                t.flag(key, t.wire_key(row), "different")
        for key, (_h, wire) in theirs.items():
            t.flag(key, wire, "extra")
        result.source_rows += count
        now_flagged = len(t.candidates) + sum(t.overflow.values())
        if (count, total % 2**64) != dr_digest or now_flagged > flagged:
            result.chunks_differing += 1

    # -- drill-down ----------------------------------------------------------------------------
    def _recheck(self, t: _Table) -> None:
        """Read every flagged key again on both sides in a fresh snapshot and classify."""
        dr_reader = DrReader(self.session(t.dr.ref.schema), self.at_scn)
        result = t.result
        found: dict[str, list[KeyDiff]] = {k: [] for k in KINDS}
        flagged = list(t.candidates.items())
        names = tuple(t.source.column_names[i] for i in t.positions)
        for start in range(0, len(flagged), RECHECK_BATCH):
            part = flagged[start : start + RECHECK_BATCH]
            wires = [wire for _key, (wire, _kind) in part]
            scn, dr_rows = dr_reader.by_keys(t.dr, wires)
            src_rows = [t.project(r) for r in self.reader.read_keys(t.source, scn, wires)]
            self._pace(len(dr_rows) + len(src_rows))
            ours = {t.key_of(r)[0]: t.canon.row(r) for r in src_rows}
            theirs = {t.key_of(r)[0]: t.canon.row(r) for r in dr_rows}
            for key, (wire, _kind) in part:
                mine, other = ours.get(key), theirs.get(key)
                if mine is None and other is None:
                    continue
                if other is None:
                    found["missing"].append(KeyDiff("missing", wire, scn))
                elif mine is None:
                    found["extra"].append(KeyDiff("extra", wire, scn))
                elif mine != other:
                    cols = tuple(n for n, a, b in zip(names, mine, other, strict=True) if a != b)
                    found["different"].append(KeyDiff("different", wire, scn, cols))
        result.missing = len(found["missing"]) + t.overflow["missing"]
        result.extra = len(found["extra"]) + t.overflow["extra"]
        result.different = len(found["different"]) + t.overflow["different"]
        cap = self.settings.compare.max_keys_reported
        result.complete = not t.overflow and all(len(v) <= cap for v in found.values())
        for kind in KINDS:
            result.differences.extend(found[kind][:cap])

    def _multiset(self, t: _Table) -> None:
        """A table without a key: its rows as a multiset of hashes, in one snapshot."""
        result = t.result
        result.notes.append("no primary key: compared as a multiset of rows (no keys to "
                            "list, repair not available)")  # fmt: skip
        page = DrReader(self.session(t.dr.ref.schema), self.at_scn).page(t.dr, None, 0)
        result.chunks, result.dr_rows = 1, len(page.rows)
        result.saw(page.scn)
        counts: Counter[int] = Counter(row_hash(t.canon.row(r)) for r in page.rows)
        for row in self._source_rows(t, page.scn, KeyRange()):
            result.source_rows += 1
            counts[row_hash(t.canon.row(row))] -= 1
        result.missing = -sum(c for c in counts.values() if c < 0)
        result.extra = sum(c for c in counts.values() if c > 0)
        result.complete = not (result.missing or result.extra)
        result.chunks_differing = 0 if result.complete else 1


def selected_tables(settings: ApplySettings, reader: SnapshotReader,
                    patterns: tuple[str, ...]) -> list[SourceTable]:  # fmt: skip
    """The configured tables (``source.*``), narrowed to ``patterns`` when given."""
    src = settings.source
    return [
        t for t in reader.tables(src.schemas)
        if matches(src.tables, t.owner, t.name) and not matches(src.skip_tables, t.owner, t.name)
        and (not patterns or matches(list(patterns), t.owner, t.name))
    ]  # fmt: skip


def new_report(kind: str, requested_by: str) -> CompareReport:
    return CompareReport(f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}",
                         kind, requested_by, datetime.now(UTC))  # fmt: skip


def run_compare(
    settings: ApplySettings, request: CompareRequest, progress: Progress | None = None
) -> tuple[CompareReport, dict[str, WireRow | None]]:
    """Compare the requested tables, keep the report in the target; returns it with
    each table's cursor for a sampled run (None: the table's end was reached)."""
    from drapply.adapters.registry import open_target
    from drapply.compare import store
    from drapply.snapshot.registry import open_reader

    options = settings.compare
    target = open_target(settings.target)
    reader = open_reader(settings.source_db)
    throttle = Throttle(options.max_rows_per_second, options.busy_max_rows_per_second,
                        options.busy_hours)  # fmt: skip
    comparer = Comparer(settings, reader, target, throttle, progress, request.at_scn)
    report = new_report(request.kind, request.requested_by)
    cursors: dict[str, WireRow | None] = {}
    try:
        for table in selected_tables(settings, reader, request.tables):
            result, cursors[table.full_name] = comparer.compare(
                table, start_after=request.start_after.get(table.full_name),
                max_chunks=request.max_chunks,
            )  # fmt: skip
            report.tables.append(result)
            log.info(result.line(), extra={"table": table.full_name,
                                           "differences": result.differing})  # fmt: skip
    finally:
        comparer.close()
        reader.close()
    report.finished_at = datetime.now(UTC)
    admin = sql_session(target.connect(admin=True))
    try:
        store.ensure(admin)
        store.record(admin, report)
    finally:
        admin.close()
    if progress is not None:
        progress.finish()
    return report, cursors
