"""Segments of the plan turned into redo by the project's writer, cut back into the log
writes the writer made (one per workload step), cached on disk.

The writer builds whole logs; the bench's LGWR must write them piece by piece as time
goes on. So each segment is built once (:func:`drcapture.synth.workload_build.
build_workload`, in worker processes), and every thread's log is read back into its
steps' records: a step is one log write, which starts with a record carrying the long
(LWN) header. Records keep their bytes; what the bench needs besides is where each
commit's time lies (the 5.4 vector's Unix time, 12c+ layout: in field 2 at
``COMMIT_TIME_AT`` and again as the last field), so the LGWR can stamp the moment it
writes the commit, as Oracle's commit does.

The steps of all threads share one SCN clock, so sorting the steps of every segment by
their first SCN gives the order the source database did them in.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from drcapture.dictionary.model import Dictionary
from drcapture.redo import layout as L
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.records import RecordLayout, iter_raw_records, parse_record
from drcapture.synth.workload_build import build_workload
from drcapture.synth.workload_result import BuiltWorkload
from drcapture.synth.writer_ops import COMMIT_TIME_AT
from drcommon.model import ColumnValue

from bench.pipeline.plan import segment_workload

SEGMENT_VERSION = 1  # bump when a segment's content changes: cached ones are rebuilt
COMMIT_OP = (5, 4)
COMMIT_TIME_FIELD_INDEX = 2  # the 24-byte field holding the commit time at COMMIT_TIME_AT

Row = tuple[ColumnValue, ...]


@dataclass(frozen=True, slots=True)
class CommitFact:
    """A committed transaction: where and when (SCN) it committed and what it changed."""

    commit_scn: int
    thread: int
    xid: str
    table: str
    changes: int


@dataclass(frozen=True, slots=True)
class StepWrite:
    """One step's log write: its records (the first with the long header), the SCN that
    orders it, the commit it ends with (if any) and where that commit's time is
    (record index, byte offset inside that record)."""

    scn: int
    thread: int
    records: tuple[bytes, ...]
    commit_scn: int | None
    time_fields: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Segment:
    """A built segment: its log writes in SCN order, its commits, and the final rows of
    every table (its row ids are its own, so segments' final rows never overlap)."""

    index: int
    writes: tuple[StepWrite, ...]
    commits: tuple[CommitFact, ...]
    final_rows: dict[str, dict[str, dict[str, ColumnValue]]]
    dictionary: Dictionary


def _final_rows(built: BuiltWorkload) -> dict[str, dict[str, dict[str, ColumnValue]]]:
    """Every table's rows after the segment's committed transactions (by ID)."""
    tables: dict[str, dict[str, dict[str, ColumnValue]]] = {}
    for tx in built.expected:
        for change in tx.changes:
            rows = tables.setdefault(change.table, {})
            if change.after is not None and change.before is None:
                rows[str(change.after["ID"])] = dict(change.after)
            elif change.after is not None and change.before is not None:
                rows[str(change.before["ID"])].update(change.after)
            elif change.before is not None:
                del rows[str(change.before["ID"])]
    return tables


def _step_writes(data: bytes, thread: int, commit_scns: set[int]) -> Iterator[StepWrite]:
    """A thread's log cut into the writer's log writes (a long header starts each)."""
    redo = RedoFile(BytesSource(data))
    layout = RecordLayout(redo.endian, redo.header.wide_vectors)
    group: list[bytes] = []
    first_scn = 0
    commit: int | None = None
    fields: list[tuple[int, int]] = []
    for raw in iter_raw_records(redo):
        record = parse_record(raw, layout)
        if record.header.vld & L.VLD_LWN and group:
            yield StepWrite(first_scn, thread, tuple(group), commit, tuple(fields))
            group, commit, fields = [], None, []
        if not group:
            first_scn = record.header.scn
        for slot in record.slots:
            # the writer gives a commit record the SCN after the commit's (workload_build)
            if (slot.layer, slot.code) == COMMIT_OP and record.header.scn - 1 in commit_scns:
                commit = record.header.scn - 1
                index = len(group)
                fields.append((index, slot.field_at(COMMIT_TIME_FIELD_INDEX) + COMMIT_TIME_AT))
                fields.append((index, slot.field_at(len(slot.lengths) - 1)))
        group.append(raw.data)
    if group:
        yield StepWrite(first_scn, thread, tuple(group), commit, tuple(fields))


def build_segment(index: int, seed: int, size: int) -> Segment:
    """Build segment ``index`` (``size`` committed transactions) with the writer and cut
    it into log writes."""
    built = build_workload(segment_workload(index, size, seed))
    commits = tuple(
        CommitFact(tx.commit_scn, tx.thread, tx.xid, tx.changes[0].table, len(tx.changes))
        for tx in built.expected
    )
    scns = {c.commit_scn for c in commits}
    writes = [w for log in built.logs for w in _step_writes(log.data, log.thread, scns)]
    writes.sort(key=lambda w: w.scn)
    found = sum(w.commit_scn is not None for w in writes)
    if found != len(commits):
        raise AssertionError(f"segment {index}: {found} commit records for {len(commits)} "
                             "committed transactions")
    return Segment(index, tuple(writes), commits, _final_rows(built), built.dictionary)


class SegmentCache:
    """Built segments under ``root``, one pickle each, keyed by what built them."""

    def __init__(self, root: Path, seed: int, size: int) -> None:
        self.key = f"v{SEGMENT_VERSION}-seed{seed}-n{size}"
        self.directory = root / "segments" / self.key
        self.seed = seed
        self.size = size

    def path(self, index: int) -> Path:
        return self.directory / f"segment-{index:05d}.pickle"

    def load(self, count: int, workers: int) -> list[Segment]:
        """Segments 0..count-1, building the missing ones with ``workers`` processes."""
        self.directory.mkdir(parents=True, exist_ok=True)
        missing = [i for i in range(count) if not self.path(i).exists()]
        if missing:
            print(f"building {len(missing)} segment(s) of {self.size} transactions "
                  f"with the redo writer ({workers} process(es)); cached in {self.directory}",
                  flush=True)
            self._build(missing, workers)
        return [self._read(i) for i in range(count)]

    def _build(self, indexes: Iterable[int], workers: int) -> None:
        todo = list(indexes)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            built = pool.map(build_segment, todo, [self.seed] * len(todo),
                             [self.size] * len(todo))
            for done, segment in enumerate(built, 1):
                partial = self.path(segment.index).with_suffix(".partial")
                partial.write_bytes(pickle.dumps(segment, protocol=pickle.HIGHEST_PROTOCOL))
                partial.replace(self.path(segment.index))
                if done % 5 == 0 or done == len(todo):
                    print(f"  {done}/{len(todo)} segments built", flush=True)

    def _read(self, index: int) -> Segment:
        segment = pickle.loads(self.path(index).read_bytes())  # our own cache file
        assert isinstance(segment, Segment)
        return segment
