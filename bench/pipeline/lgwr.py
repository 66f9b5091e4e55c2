"""The bench's LGWR and ARCH: the laid-out redo written into online logs on schedule.

Per RAC thread: ``groups`` online log files (pre-sized, zero-filled when new, like a
freshly created member); a sequence starts with its file header (block count = the
online log's size) and an open redo header (next SCN all FF), then its log writes are
copied in at their times, each stamped with the moment it is written (the LWN's redo
time, each commit's Unix time; the blocks' checksums redone). At a log switch the redo
header gets its next SCN and time, and ARCH copies the log (from the online file, with
the archived log's block count) to the archive directory under a temporary name and
renames it, in a background thread, while LGWR goes on in the next group; a group is
reused only once its archived copy exists. Left-over blocks of an older sequence in a
reused group read as "not yet written", as in Oracle's own reuse.

The moment each commit's write returned is recorded per commit SCN (``--flush-log``):
the source commit time of the latency, exact where Oracle's redo time has a resolution
of one second.

Run as ``python -m bench.pipeline.lgwr`` by the harness. It prints ``READY`` once the
online logs exist; with ``--warmup-commits N`` it prints ``WARM <scn>`` after the write
making commit N durable and waits for ``GO`` on stdin; ``DONE`` at the end.
"""

from __future__ import annotations

import argparse
import os
import pickle
import struct
import sys
import time
from array import array
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from drcapture.redo import layout as L
from drcapture.redo.binary import encode_redo_time
from drcapture.redo.checksum import compute_checksum, fold
from drcapture.synth.writer import BLOCK0_CHECKSUM, REDO_HEADER_CLOSED_TIME

from bench.pipeline.pack import BLOCK, LogInfo, PackedRedo, Write

_U32 = struct.Struct("<I")


def redo_now(moment: float) -> int:
    """Oracle's redo time (seconds resolution) of a wall-clock moment, in UTC."""
    return encode_redo_time(datetime.fromtimestamp(moment, UTC))


def file_header(block0: bytes, count: int) -> bytes:
    """Block 0 saying the file holds ``count`` blocks after it."""
    block = bytearray(block0)
    _U32.pack_into(block, L.FILE_HEADER_BLOCK_COUNT_OFFSET, count)
    block[BLOCK0_CHECKSUM : BLOCK0_CHECKSUM + 2] = b"\x00\x00"
    block[BLOCK0_CHECKSUM : BLOCK0_CHECKSUM + 2] = fold(block).to_bytes(2, "little")
    return bytes(block)


def redo_header(block1: bytes, first: float, next_time: float | None) -> bytes:
    """Block 1 of a log being written (``next_time`` None: next SCN unknown) or closed."""
    block = bytearray(block1)
    for at in (L.REDO_HEADER_FIRST_TIME, REDO_HEADER_CLOSED_TIME):
        _U32.pack_into(block, at, redo_now(first))
    if next_time is None:
        block[L.REDO_HEADER_NEXT_SCN : L.REDO_HEADER_NEXT_SCN + 8] = b"\xff" * 8
        _U32.pack_into(block, L.REDO_HEADER_NEXT_TIME, 0)
    else:
        _U32.pack_into(block, L.REDO_HEADER_NEXT_TIME, redo_now(next_time))
    at = L.BLOCK_CHECKSUM_OFFSET
    block[at : at + 2] = compute_checksum(block)
    return bytes(block)


def stamp(buf: bytearray, base: int, write: Write, moment: float) -> None:
    """The write's redo time and commit times set to ``moment``; checksums redone."""
    touched = {write.lwn_time_at - base}
    _U32.pack_into(buf, write.lwn_time_at - base, redo_now(moment))
    for at in write.commit_time_ats:
        _U32.pack_into(buf, at - base, int(moment))
        touched.add(at - base)
    for start in {t - t % BLOCK for t in touched}:
        at = start + L.BLOCK_CHECKSUM_OFFSET
        buf[at : at + 2] = compute_checksum(buf[start : start + BLOCK])


@dataclass(slots=True)
class _Online:
    """A thread's sequence being written: its group file and its laid-out bytes."""

    info: LogInfo
    path: Path
    fd: int
    data: bytes
    opened: float


@dataclass(slots=True)
class Lgwr:
    """Writes one packed plan into online logs under ``online`` and archives to ``archive``."""

    packed: PackedRedo
    online: Path
    archive: Path
    groups: int = 2
    current: dict[int, _Online] = field(default_factory=dict)
    archiving: dict[Path, Future[None]] = field(default_factory=dict)
    flushed_scn: array = field(default_factory=lambda: array("q"))  # type: ignore[type-arg]
    flushed_at: array = field(default_factory=lambda: array("d"))  # type: ignore[type-arg]
    bytes_written: int = 0
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))

    def group_path(self, thread: int, sequence: int) -> Path:
        return self.online / f"redo_t{thread}_g{(sequence - 1) % self.groups + 1}.log"

    def group_paths(self) -> dict[int, list[Path]]:
        threads = sorted({t for t, _ in self.packed.logs})
        return {t: [self.online / f"redo_t{t}_g{g + 1}.log" for g in range(self.groups)]
                for t in threads}

    def begin(self, thread: int, sequence: int) -> _Online:
        """Start ``sequence`` in its group (waiting for that group's archived copy)."""
        info = self.packed.logs[(thread, sequence)]
        path = self.group_path(thread, sequence)
        pending = self.archiving.pop(path, None)
        if pending is not None:
            pending.result()  # "checkpoint not complete": never overwrite what ARCH reads
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        size = self.packed.capacity_blocks * BLOCK
        if os.fstat(fd).st_size < size:
            os.ftruncate(fd, size)
        data = self.packed.log_bytes(info)
        now = time.time()
        head = file_header(data[:BLOCK], self.packed.capacity_blocks - 1)
        os.pwrite(fd, head + redo_header(data[BLOCK : 2 * BLOCK], now, None), 0)
        self.bytes_written += 2 * BLOCK
        online = _Online(info, path, fd, data, now)
        self.current[thread] = online
        return online

    def switch(self, thread: int) -> None:
        """Close the thread's current log (header final) and archive it."""
        online = self.current.pop(thread)
        data = online.data
        final = redo_header(data[BLOCK : 2 * BLOCK], online.opened, time.time())
        os.pwrite(online.fd, final, BLOCK)
        os.close(online.fd)
        self.archiving[online.path] = self.pool.submit(self._arch, online, data[:BLOCK], final)

    def _arch(self, online: _Online, block0: bytes, block1: bytes) -> None:
        with online.path.open("rb") as src:
            src.seek(2 * BLOCK)
            body = src.read((online.info.blocks - 2) * BLOCK)
        name = f"arch_t{online.info.thread}_s{online.info.sequence:06d}.arc"
        partial = self.archive / (name + ".partial")
        partial.write_bytes(block0 + block1 + body)
        partial.replace(self.archive / name)

    def write(self, write: Write) -> None:
        online = self.current.get(write.thread)
        if online is not None and online.info.sequence != write.sequence:
            self.switch(write.thread)
            online = None
        if online is None:
            online = self.begin(write.thread, write.sequence)
        base = write.first_block * BLOCK
        buf = bytearray(online.data[base : write.end_block * BLOCK])
        stamp(buf, base, write, time.time())
        os.pwrite(online.fd, buf, base)
        done = time.time()
        self.bytes_written += len(buf)
        for scn in write.commits:
            self.flushed_scn.append(scn)
            self.flushed_at.append(done)

    def close(self) -> None:
        """Leave the current logs online (the instances idle on), wait for ARCH."""
        for online in self.current.values():
            os.close(online.fd)
        self.current.clear()
        for pending in self.archiving.values():
            pending.result()
        self.pool.shutdown()

    def save_flushes(self, path: Path) -> None:
        """(commit SCN, wall-clock seconds) of every commit written, as two arrays."""
        with path.open("wb") as out:
            pickle.dump((self.flushed_scn.tolist(), self.flushed_at.tolist()), out)


def run(lgwr: Lgwr, *, paced: bool, warmup_commits: int, say: object = print) -> None:
    """Write every planned write, on schedule when ``paced``."""
    writes = lgwr.packed.writes
    start = time.monotonic()
    offset = 0.0  # schedule seconds skipped by the warm-up pause
    commits = 0
    last_report = start
    for k, write in enumerate(writes):
        if paced:
            delay = start + write.time - offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        lgwr.write(write)
        before = commits
        commits += len(write.commits)
        if before < warmup_commits <= commits:
            print(f"WARM {lgwr.flushed_scn[-1]}", flush=True)
            if sys.stdin.readline().strip() != "GO":
                raise SystemExit("the harness went away")
            if k + 1 < len(writes):
                offset = writes[k + 1].time - (time.monotonic() - start)
        now = time.monotonic()
        if now - last_report >= 5:
            last_report = now
            print(f"AT {commits} {lgwr.bytes_written}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", type=Path, required=True, help="the laid-out plan")
    parser.add_argument("--online", type=Path, required=True)
    parser.add_argument("--archive", type=Path, required=True)
    parser.add_argument("--groups", type=int, default=2)
    parser.add_argument("--flat-out", action="store_true", help="no pacing")
    parser.add_argument("--warmup-commits", type=int, default=0)
    parser.add_argument("--flush-log", type=Path, required=True)
    args = parser.parse_args(argv)
    packed = pickle.loads((args.pack / "index.pickle").read_bytes())  # our own cache file
    packed.directory = args.pack
    args.online.mkdir(parents=True, exist_ok=True)
    args.archive.mkdir(parents=True, exist_ok=True)
    lgwr = Lgwr(packed, args.online, args.archive, args.groups)
    for paths in lgwr.group_paths().values():  # every member exists, as in Oracle
        for path in paths:
            with path.open("ab") as member:
                member.truncate(packed.capacity_blocks * BLOCK)
    for thread in sorted({t for t, _ in packed.logs}):
        lgwr.begin(thread, 1)
    print("READY", flush=True)
    try:
        run(lgwr, paced=not args.flat_out, warmup_commits=args.warmup_commits)
    finally:
        lgwr.close()
        lgwr.save_flushes(args.flush_log)
    print(f"DONE {len(lgwr.flushed_scn)} {lgwr.bytes_written}", flush=True)


if __name__ == "__main__":
    main()
