"""The raw record walk, Python reader beside the compiled core, on the benchmark log.

    python bench/capture/walk.py --size-gb 1 --repeat 3 --json out.json

"The walk" is everything capture does to every record before looking at what it
changes: blocks read in spans and checked (type, number, sequence, checksum), records
reassembled across blocks, record headers read (SCN, LWN time), and every change vector
located with its field lengths (the vector scan). Nothing is decoded further.

* **python**: :func:`~drcapture.redo.records.walk_records` plus
  :class:`~drcapture.redo.records.RecordParser` (what
  :func:`~drcapture.redo.reader.iter_records` does before any operation is decoded);
* **core**: :meth:`drcapture.native.NativeRedoFile.scan`, the same walk inside the
  compiled core, the GIL released, counting records, bytes and vectors;
* **core → Python objects** (``--objects``): :meth:`NativeRedoFile.records`, which
  builds the Python reader's ``RedoRecord`` per record: the cost of crossing into
  Python per record, which the end state avoids.

All runs use the log of ``bench/capture/run.py`` (built once and cached, see
:mod:`biglog`), one process, one core; the three walks must count the same records,
bytes and vectors. CPU time (``process_time``) is the figure that says what one core
does on a shared machine; wall time is reported beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import biglog
from drcapture.native import NativeRedoFile
from drcapture.redo.blocks import FileSource, RedoFile
from drcapture.redo.reader import layout_of
from drcapture.redo.records import Rba, RecordParser, walk_records
from run import DEFAULT_CACHE, ensure_log, machine, raw_read, summary, timed

Counts = tuple[int, int, int]  # records, record bytes, vectors


def python_walk(path: Path) -> Counts:
    """The Python reader's walk and record parse over the whole log."""
    redo = RedoFile(FileSource(path))
    parse = RecordParser(layout_of(redo)).parse
    sequence = redo.header.sequence
    new = tuple.__new__
    records = size = vectors = 0
    for block, offset, data in walk_records(redo):
        record = parse(new(Rba, (sequence, block, offset)), data)
        records += 1
        size += record.header.length
        vectors += len(record.slots)
    return records, size, vectors


def core_walk(path: Path) -> Counts:
    """The same walk inside the compiled core."""
    totals = NativeRedoFile(path).scan()
    return totals.records, totals.bytes, totals.vectors


def core_objects(path: Path) -> Counts:
    """The core's walk with a Python ``RedoRecord`` built for every record."""
    records = size = vectors = 0
    for record in NativeRedoFile(path).records():
        records += 1
        size += record.header.length
        vectors += len(record.slots)
    return records, size, vectors


def measure(name: str, work: Callable[[Path], Counts], path: Path, repeat: int,
            size: int) -> tuple[dict[str, Any], Counts]:
    """``repeat`` timed runs of one walk; its figures and what it counted."""
    rows: list[dict[str, float]] = []
    counts: Counts = (0, 0, 0)
    for k in range(repeat):
        timing, counts = timed(lambda: work(path))
        row = {"seconds_cpu": timing.cpu, "seconds_wall": timing.wall,
               "mb_s_cpu": size / max(timing.cpu, 1e-9) / 1e6,
               "mb_s_wall": size / timing.wall / 1e6,
               "records_s_cpu": counts[0] / max(timing.cpu, 1e-9)}
        rows.append(row)
        print(f"  {name} run {k + 1}: {row['mb_s_cpu']:,.1f} MB/s CPU "
              f"({row['mb_s_wall']:,.1f} wall), {row['seconds_cpu']:.2f} CPU s", flush=True)
    return {"figures": {key: summary([r[key] for r in rows]) for key in rows[0]},
            "runs": rows}, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gb", type=float, default=1.0, help="log size in GiB (>= 1)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--workers", type=int, default=2,
                        help="processes that build the log when it is not cached")
    parser.add_argument("--objects", action="store_true",
                        help="also walk through the core with a Python RedoRecord per record")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    directory, facts = ensure_log(args.cache, args.size_gb, args.seed, args.workers)
    path = directory / biglog.LOG_NAME
    size = raw_read(path)  # warms the page cache
    print(f"log {path}: {size / 1e9:.3f} GB, {facts.records:,} records", flush=True)
    walks: list[tuple[str, Callable[[Path], Counts]]] = [
        ("python", python_walk), ("core", core_walk)]
    if args.objects:
        walks.append(("core-objects", core_objects))
    results: dict[str, Any] = {}
    counted: dict[str, Counts] = {}
    for name, work in walks:
        results[name], counted[name] = measure(name, work, path, args.repeat, size)
    if len(set(counted.values())) != 1 or counted["python"][0] != facts.records:
        raise SystemExit(f"the walks disagree: {counted} (the log holds {facts.records})")
    speedup = (results["python"]["figures"]["seconds_cpu"]["median"]
               / results["core"]["figures"]["seconds_cpu"]["median"])
    print(f"core / python, CPU time: {speedup:,.1f}x", flush=True)
    if args.json:
        args.json.write_text(json.dumps({
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": machine(), "size_bytes": size,
            "records": counted["python"][0], "record_bytes": counted["python"][1],
            "vectors": counted["python"][2], "walks": results, "speedup_cpu": speedup,
        }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
