"""The plan's log writes laid out the way LGWR writes them at a given offered load.

Schedule: commit number *k* of the plan happens at *k / rate* seconds; every other step
at the time of the commit that follows it. Group commit: each instance's LGWR wakes every
``tick`` seconds and writes what its sessions produced since, as one log write (LWN):
the first record keeps its long header with the LWN length, the others get the 24-byte
short header (the re-stamping bench/capture/biglog.py does for a busy database). A log
write starts in a fresh block, as Oracle's do. An instance's writes fill its current log
up to the online log size; then it switches to the next sequence.

Each sequence is laid out once by the project's writer (:func:`drcapture.synth.writer.
build_log`), so the bytes are exactly the writer's; the LGWR then copies each write's
blocks into the online log at its time, stamping the time it writes (the LWN's redo time
and each commit's Unix time: :class:`Write`). The layout depends on the rate and the
tick only, so it is cached next to the segments.
"""

from __future__ import annotations

import math
import pickle
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from drcapture.redo import layout as L
from drcapture.synth.writer import LogHeader, Lwn, Placement, build_log
from drcapture.synth.writer_records import LINUX_19C

from bench.pipeline.segments import CommitFact, Segment, StepWrite

PACK_VERSION = 1
BLOCK = 512
PAYLOAD = BLOCK - L.BLOCK_HEADER_SIZE
LWN_EXTRA = L.RECORD_HEADER_LONG - L.RECORD_HEADER_SHORT
_U32 = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class Write:
    """One LGWR write: blocks ``[first_block, end_block)`` of ``(thread, sequence)`` at
    ``time`` seconds into the schedule; file offsets of the u32 redo time of its LWN and
    of its commits' Unix times; the commit SCNs it makes durable."""

    time: float
    thread: int
    sequence: int
    first_block: int
    end_block: int
    lwn_time_at: int
    commit_time_ats: tuple[int, ...]
    commits: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LogInfo:
    """One sequence of one thread as laid out: its file and its header facts."""

    thread: int
    sequence: int
    first_scn: int
    next_scn: int
    blocks: int  # the whole file, headers included (nab)

    @property
    def name(self) -> str:
        return f"t{self.thread}_s{self.sequence:06d}.redo"


@dataclass(slots=True)
class PackedRedo:
    """The laid-out logs (files under ``directory``), every write in time order, and the
    commits in commit order."""

    directory: Path
    rate: float
    tick: float
    capacity_blocks: int
    logs: dict[tuple[int, int], LogInfo]
    writes: list[Write]
    commits: list[CommitFact]
    redo_bytes: int = 0
    records: int = 0

    def log_bytes(self, info: LogInfo) -> bytes:
        return (self.directory / info.name).read_bytes()


@dataclass(slots=True)
class _Group:
    """An LGWR write being gathered: step writes of one thread in one tick."""

    tick: int
    steps: list[StepWrite] = field(default_factory=list)


@dataclass(slots=True)
class _Sequence:
    thread: int
    number: int
    groups: list[tuple[float, list[StepWrite]]] = field(default_factory=list)
    blocks: int = 2  # blocks 0 and 1 (file and redo header)


def _schedule(segments: Sequence[Segment], rate: float, tick: float
              ) -> Iterator[tuple[int, float, list[StepWrite]]]:
    """(thread, time, step writes) of every LGWR write, in time order."""
    open_groups: dict[int, _Group] = {}
    commits = 0
    for segment in segments:
        for step in segment.writes:
            due = math.floor(commits / rate / tick)
            commits += step.commit_scn is not None
            group = open_groups.get(step.thread)
            if group is not None and group.tick != due:
                yield step.thread, (group.tick + 1) * tick, group.steps
                group = None
            if group is None:
                group = open_groups[step.thread] = _Group(due)
            group.steps.append(step)
    for thread, group in sorted(open_groups.items(), key=lambda kv: kv[1].tick):
        yield thread, (group.tick + 1) * tick, group.steps


def _short(record: bytes) -> bytes:
    """The record with the 24-byte header (LWN fields dropped, length adjusted)."""
    head = bytearray(record[: L.RECORD_HEADER_SHORT])
    _U32.pack_into(head, L.RECORD_LENGTH, len(record) - LWN_EXTRA)
    head[L.RECORD_VLD] &= ~L.VLD_LWN & 0xFF
    return bytes(head) + record[L.RECORD_HEADER_LONG :]


def _records(steps: list[StepWrite]) -> tuple[list[bytes], list[tuple[int, int]], list[int]]:
    """One LWN's records, the (record, offset) of every commit time, the commits."""
    records: list[bytes] = []
    fields: list[tuple[int, int]] = []
    commits: list[int] = []
    for step in steps:
        base = len(records)
        for record in step.records:
            long_form = bool(record[L.RECORD_VLD] & L.VLD_LWN)
            records.append(_short(record) if records and long_form else record)
        shift = LWN_EXTRA if base and step.records[0][L.RECORD_VLD] & L.VLD_LWN else 0
        fields += [(base + k, at - (shift if k == 0 else 0)) for k, at in step.time_fields]
        if step.commit_scn is not None:
            commits.append(step.commit_scn)
    return records, fields, commits


def _file_offset(at: Placement, position: int) -> int:
    """Where byte ``position`` of a record placed at ``at`` lies in the file."""
    if at.offset + position < BLOCK:
        return at.block * BLOCK + at.offset + position
    rest = position - (BLOCK - at.offset)
    block = at.block + 1 + rest // PAYLOAD
    return block * BLOCK + L.BLOCK_HEADER_SIZE + rest % PAYLOAD


def _estimate(records: list[bytes]) -> int:
    """Blocks a log write takes at most (payload plus the tail a record may skip)."""
    return math.ceil(sum(len(r) + L.RECORD_MIN_TAIL for r in records) / PAYLOAD) + 1


class Packer:
    """Lays out log sequences into ``directory``; the writes and facts they make."""

    def __init__(self, directory: Path, capacity_blocks: int) -> None:
        self.directory = directory
        self.capacity = capacity_blocks
        self.writes: list[Write] = []
        self.logs: dict[tuple[int, int], LogInfo] = {}
        self.current: dict[int, _Sequence] = {}
        self.last_scn: dict[int, int] = {}
        self.redo_bytes = 0
        self.records = 0

    def add(self, thread: int, time: float, steps: list[StepWrite]) -> None:
        seq = self.current.get(thread) or _Sequence(thread, 1)
        records, _, _ = _records(steps)
        need = _estimate(records)
        if need > self.capacity - 2:
            raise ValueError(f"a log write of {need} blocks does not fit in an online log of "
                             f"{self.capacity} blocks: make --log-mb larger")
        if seq.blocks + need > self.capacity and seq.groups:
            self._close(seq)
            seq = _Sequence(thread, seq.number + 1)
        seq.groups.append((time, steps))
        seq.blocks += need
        self.current[thread] = seq

    def finish(self) -> None:
        for seq in list(self.current.values()):
            self._close(seq)

    def _close(self, seq: _Sequence) -> None:
        laid = [_records(steps) for _, steps in seq.groups]
        first = self.last_scn.get(seq.thread) or seq.groups[0][1][0].scn
        last = max(step.scn for _, steps in seq.groups for step in steps)
        # every record's SCN is below the next log's first SCN; a commit record's SCN
        # is the commit's + 1, so one more than the last record start is safe
        next_scn = last + 2
        header = LogHeader(thread=seq.thread, sequence=seq.number, first_scn=first,
                           next_scn=next_scn, db_name="BENCH", configured_blocks=self.capacity)
        built = build_log([Lwn(tuple(records)) for records, _, _ in laid], header, LINUX_19C,
                          block_size=BLOCK)
        info = LogInfo(seq.thread, seq.number, first, next_scn, len(built.data) // BLOCK)
        (self.directory / info.name).write_bytes(built.data)
        self.logs[(seq.thread, seq.number)] = info
        self.last_scn[seq.thread] = next_scn
        self.redo_bytes += len(built.data)
        at = 0
        starts = []
        for records, _, _ in laid:
            starts.append(at)
            at += len(records)
        for k, ((time, _), (records, fields, commits)) in enumerate(
                zip(seq.groups, laid, strict=True)):
            place = built.placements[starts[k]]
            end = built.placements[starts[k + 1]].block if k + 1 < len(laid) else info.blocks
            times = tuple(_file_offset(built.placements[starts[k] + r], off)
                          for r, off in fields)
            if any(t % BLOCK > BLOCK - 4 for t in times):
                raise AssertionError("a commit time straddles two blocks")
            self.writes.append(Write(time, seq.thread, seq.number, place.block, end,
                                     place.block * BLOCK + place.offset + L.RECORD_TIMESTAMP,
                                     times, tuple(commits)))
            self.records += len(records)


def pack(segments: Sequence[Segment], directory: Path, *, rate: float, tick: float,
         capacity_blocks: int) -> PackedRedo:
    """Lay the segments out at ``rate`` commits/s with LGWR writes every ``tick`` s."""
    directory.mkdir(parents=True, exist_ok=True)
    packer = Packer(directory, capacity_blocks)
    for thread, time, steps in _schedule(segments, rate, tick):
        packer.add(thread, time, steps)
    packer.finish()
    packer.writes.sort(key=lambda w: (w.time, w.thread))
    commits = sorted((c for s in segments for c in s.commits), key=lambda c: c.commit_scn)
    return PackedRedo(directory, rate, tick, capacity_blocks, packer.logs, packer.writes,
                      commits, packer.redo_bytes, packer.records)


def load_or_pack(segments: Sequence[Segment], root: Path, segment_key: str, *, rate: float,
                 tick: float, capacity_blocks: int) -> PackedRedo:
    """The cached layout for these segments and settings, made when missing."""
    key = (f"v{PACK_VERSION}-{segment_key}-x{len(segments)}-r{rate:g}-t{tick:g}"
           f"-c{capacity_blocks}")
    directory = root / "packs" / key
    index = directory / "index.pickle"
    if index.exists():
        packed = pickle.loads(index.read_bytes())  # our own cache file
        assert isinstance(packed, PackedRedo)
        packed.directory = directory
        return packed
    print(f"laying out the redo for {rate:g} tx/s (LGWR every {tick * 1000:g} ms) in "
          f"{directory}", flush=True)
    packed = pack(segments, directory, rate=rate, tick=tick, capacity_blocks=capacity_blocks)
    partial = index.with_suffix(".partial")
    partial.write_bytes(pickle.dumps(packed, protocol=pickle.HIGHEST_PROTOCOL))
    partial.replace(index)
    return packed
