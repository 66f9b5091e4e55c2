"""The reader's path up to the assembler, Python beside the compiled core, on the
benchmark log: walk + per-record triage, and walk + triage + decoding what it passes on.

    python bench/capture/triage.py --size-gb 1 --mix 10 --repeat 3 --json out.json

Every record is walked (blocks read and checked, records reassembled, headers read,
vectors scanned), its vectors counted by opcode (``VectorTally``, as
:func:`~drcapture.redo.reader.iter_records` does), and triaged
(:func:`~drcapture.redo.txn.triage.quick_effects`) with the skip reasons of the mix's
table filter (``bench/capture/run.py``: 2 of the 20 tables for ``10``); with ``decode``
the records the triage passes on (those of captured tables) have every vector decoded
(:func:`~drcapture.redo.ops.dispatch.decode_record`). No row is assembled.

* **python**: ``walk_records`` + ``RecordParser`` + ``VectorTally`` + ``quick_effects``
  (+ ``decode_record``), the skip reason of an object looked up in one dict;
* **core**: :func:`drcapture.native_ops.triage_log`, the same inside the compiled core
  (the GIL released), the skip reasons in the same precomputed map;
* **core walk**: the core's walk alone (``NativeRedoFile.scan``, as in ``walk.py``),
  measured in the same run: what the tally and triage add to it.

Both must count the same records, triaged and passed-on records, dropped changes,
transaction ends, decoded vectors and opcode counters. CPU time (``process_time``) of
the one process is the figure; wall time beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import astuple
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import biglog
from drcapture import native_ops
from drcapture.dictionary.snapshot import load_snapshot_file
from drcapture.filtering import TableFilter
from drcapture.native import NativeRedoFile
from drcapture.redo.blocks import FileSource, RedoFile
from drcapture.redo.ops.dispatch import OpCounters, VectorTally, decode_record
from drcapture.redo.reader import layout_of
from drcapture.redo.records import Rba, RecordParser, walk_records
from drcapture.redo.txn.triage import quick_effects
from run import DEFAULT_CACHE, EXCLUDE, MIXES, ensure_log, machine, raw_read, summary, timed
from workload_gen import OWNER

Counts = tuple[int, ...]  # records, bytes, quick, full, dropped, ends, rollbacks, decoded
Skip = tuple[dict[int, str | None], str | None]


def skip_reasons(dictionary_path: Path, tables: list[str]) -> Skip:
    """The assembler's skip reason of every object the dictionary knows (None: captured),
    and the one of objects it does not know."""
    dictionary = load_snapshot_file(dictionary_path)
    wanted = TableFilter(tuple(f"{OWNER}.{t}" for t in tables), EXCLUDE)
    reasons: dict[int, str | None] = {
        obj: None if wanted(table.owner, table.name) else "skipped_filtered"
        for obj, table in dictionary.tables.items()}
    return reasons, "skipped_unknown_object"


def python_path(path: Path, skip: Skip, decode: bool) -> tuple[Counts, OpCounters]:
    """The Python reader's walk, tally and triage (and decoding) over the whole log."""
    reasons, default = skip
    redo = RedoFile(FileSource(path))
    parse = RecordParser(layout_of(redo)).parse
    sequence = redo.header.sequence
    counters = OpCounters()
    tally = VectorTally(counters).add
    reason = reasons.get
    new = tuple.__new__
    records = size = quick = full = dropped = ends = rollbacks = decoded = 0
    for block, offset, data in walk_records(redo):
        record = parse(new(Rba, (sequence, block, offset)), data)
        records += 1
        size += record.header.length
        tally(record.slots)
        effects = quick_effects(record, lambda obj: reason(obj, default))
        if effects is not None:
            quick += 1
            dropped += len(effects.dropped)
            ends += len(effects.ends)
            rollbacks += len(effects.rollbacks)
        else:
            full += 1
            if decode:
                decoded += len(decode_record(record).ops)
    return (records, size, quick, full, dropped, ends, rollbacks, decoded), counters


def core_path(path: Path, skip: Skip, decode: bool) -> tuple[Counts, OpCounters]:
    """The same inside the compiled core."""
    counters = native_ops.NativeOpCounters()
    totals = native_ops.triage_log(NativeRedoFile(path), skip[0], skip[1], decode=decode,
                                   counters=counters)
    return astuple(totals), counters.as_counters()


def core_walk(path: Path) -> tuple[Counts, OpCounters]:
    """The core's walk without triage (blocks, records, headers, vector scan)."""
    totals = NativeRedoFile(path).scan()
    return (totals.records, totals.bytes), OpCounters()


def measure(name: str, work: Callable[[], tuple[Counts, OpCounters]], repeat: int,
            size: int) -> tuple[dict[str, Any], tuple[Counts, OpCounters]]:
    """``repeat`` timed runs; the figures and what the last run counted."""
    rows: list[dict[str, float]] = []
    result: tuple[Counts, OpCounters] = ((), OpCounters())
    for k in range(repeat):
        timing, result = timed(work)
        row = {"seconds_cpu": timing.cpu, "seconds_wall": timing.wall,
               "mb_s_cpu": size / max(timing.cpu, 1e-9) / 1e6,
               "mb_s_wall": size / timing.wall / 1e6,
               "records_s_cpu": result[0][0] / max(timing.cpu, 1e-9)}
        rows.append(row)
        print(f"  {name} run {k + 1}: {row['mb_s_cpu']:,.1f} MB/s CPU "
              f"({row['mb_s_wall']:,.1f} wall), {row['seconds_cpu']:.2f} CPU s", flush=True)
    return {"figures": {key: summary([r[key] for r in rows]) for key in rows[0]},
            "runs": rows}, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gb", type=float, default=1.0, help="log size in GiB (>= 1)")
    parser.add_argument("--mix", choices=sorted(MIXES), default="10")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--workers", type=int, default=2,
                        help="processes that build the log when it is not cached")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    directory, facts = ensure_log(args.cache, args.size_gb, args.seed, args.workers)
    path = directory / biglog.LOG_NAME
    size = raw_read(path)  # warms the page cache
    skip = skip_reasons(directory / "dictionary.json", MIXES[args.mix])
    print(f"log {path}: {size / 1e9:.3f} GB, {facts.records:,} records, mix {args.mix}%",
          flush=True)
    results: dict[str, Any] = {}
    counted: dict[str, tuple[Counts, OpCounters]] = {}
    # The core's walk alone (walk.py's "core"), measured beside: what the triage adds.
    results["core walk"], _ = measure("core walk", partial(core_walk, path), args.repeat, size)
    for decode in (False, True):
        stage = "triage+decode" if decode else "triage"
        for name, work in (("python", python_path), ("core", core_path)):
            key = f"{name} {stage}"
            results[key], counted[key] = measure(key, partial(work, path, skip, decode),
                                                 args.repeat, size)
        py, core = counted[f"python {stage}"], counted[f"core {stage}"]
        if py != core or py[0][0] != facts.records:
            raise SystemExit(f"{stage}: the paths disagree: {py[0]} / {core[0]}")
        speedup = (results[f"python {stage}"]["figures"]["seconds_cpu"]["median"]
                   / results[f"core {stage}"]["figures"]["seconds_cpu"]["median"])
        results[f"speedup_cpu {stage}"] = speedup
        print(f"{stage}: core / python, CPU time: {speedup:,.1f}x; counts {py[0]}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": machine(), "size_bytes": size, "mix_percent": int(args.mix),
            "counts": dict(zip(("records", "bytes", "quick", "full", "dropped", "ends",
                                "rollbacks", "decoded"), counted["python triage+decode"][0],
                               strict=True)),
            "paths": results,
        }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
