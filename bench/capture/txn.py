"""Capture's whole read path in the compiled core, on the benchmark log: walk, triage,
decoding, transaction assembly, names and values, and the Kafka records of every
committed transaction (what the service publishes), against the raw read.

    python bench/capture/txn.py --size-gb 1 --mix both --repeat 1 --json out.json
    python bench/capture/txn.py --rac 4 --json rac.json        # threads in parallel
    python bench/capture/txn.py --stages --json stages.json    # where the time goes

* **core txn**: one :class:`drcapture.native_txn.ThreadCore` over the log (records read
  in budgets of 5,000 with the GIL released, as the pipeline reads), the mix's table
  filter, the spill store with the service's default threshold (64 MiB per
  transaction), and every commit serialised into its Kafka records in the same read
  (:class:`drcapture.native_txn.Prepare`, as the pipeline reads) and handed to Python
  (:meth:`NativeCommit.records` with the production limits): the bytes exist in
  Python, ready for the producer. The transaction and change counts are checked
  against what the writer put in the log.
* **reader**: the service's own path instead: a :class:`drcapture.thread_reader.ThreadReader`
  over a log catalog holding the file (``--reader``), reading in the pipeline's record
  budget, each commit made a :class:`drcapture.publish.NativeTransaction` and its
  records serialised as the publisher asks for them. Run alone in its process, its
  peak RSS is what capturing the log costs in memory.
* **raw read**: the file read sequentially in 1 MiB chunks (page cache warm).
* **--rac N**: N thread cores, each in its own Python thread over the same log (as N RAC
  threads' logs of that size), against one on one core: the GIL is released for the
  reads, so the OS threads run on every core. Wall time is the figure; the same work in
  N processes (no GIL shared) in the same run says what the threads would reach on the
  machine as loaded at that moment.
* **--stages**: the core's walk alone, walk + triage (``triage_log``), walk + triage +
  decoding, the thread core without serialising, and with it: each stage's cost per
  record is the difference.

CPU time (``process_time``) of the one process is the figure for the single-thread
paths; peak RSS (``ru_maxrss``) is reported for the process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import biglog
from drcapture import native_ops
from drcapture.catalog import LogCatalog
from drcapture.dictionary.snapshot import load_snapshot_file
from drcapture.filtering import TableFilter
from drcapture.native import NativeRedoFile
from drcapture.native_txn import CoreOptions, Prepare, ThreadCore
from drcapture.pipeline import RECORD_BUDGET
from drcapture.publish import NativeTransaction
from drcapture.publish_records import RecordLimits
from drcapture.redo.records import ReadState
from drcapture.thread_reader import ThreadReader
from run import DEFAULT_CACHE, EXCLUDE, MIXES, ensure_log, machine, raw_read, summary, timed
from triage import skip_reasons
from workload_gen import OWNER

BUDGET = 5000  # records per read, as the pipeline's RECORD_BUDGET
MAX_CHANGES = 1000  # publish.max_changes_per_message's default
LIMITS = RecordLimits()  # the production record limits
THRESHOLD = 64 * 1024 * 1024  # spill.threshold_bytes's default
COMMIT_TS = datetime(2024, 1, 1, tzinfo=UTC)

Counts = tuple[int, int, int, int, int]  # records, transactions, changes, kafka records, bytes


def _aware(moment: datetime) -> datetime:
    """A commit time as the pipeline publishes it (naive times taken as UTC here)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def core_txn(path: Path, dictionary_path: Path, tables: list[str], serialise: bool,
             spill: Path, thread: int = 1) -> Counts:
    """One thread core over the whole log; (records, transactions, changes, Kafka
    records, their bytes)."""
    dictionary = load_snapshot_file(dictionary_path)
    wanted = TableFilter(tuple(f"{OWNER}.{t}" for t in tables), EXCLUDE)
    core = ThreadCore(dictionary, CoreOptions(
        thread=thread, db_id=dictionary.db_id, db_name=dictionary.db_name, wanted=wanted,
        spill_directory=spill / f"thread-{thread}", spill_threshold=THRESHOLD))
    core.open(NativeRedoFile(path), ReadState())
    # Serialising, each read makes its commits' records too, as the pipeline reads, at
    # their own commit times (UTC), as the publisher asks for them.
    prepare = Prepare(_aware, MAX_CHANGES, LIMITS) if serialise else None
    records = transactions = changes = out = size = 0
    while True:
        batch = core.read(BUDGET, prepare=prepare)
        batch.raise_error()
        records += batch.records
        for tx in batch.commits:
            transactions += 1
            changes += tx.changes_total
            if serialise:
                _, found = tx.records(_aware(tx.commit_ts or COMMIT_TS), MAX_CHANGES, LIMITS)
                out += len(found)
                size += sum(len(r.value) for r in found)
        if batch.ended:
            return records, transactions, changes, out, size


def reader_txn(path: Path, dictionary_path: Path, tables: list[str], spill: Path) -> Counts:
    """The service's path over the whole log: a ThreadReader on a catalog of the file,
    every commit's Kafka records as the publisher takes them."""
    dictionary = load_snapshot_file(dictionary_path)
    wanted = TableFilter(tuple(f"{OWNER}.{t}" for t in tables), EXCLUDE)
    core = ThreadCore(dictionary, CoreOptions(
        thread=1, db_id=dictionary.db_id, db_name=dictionary.db_name, wanted=wanted,
        spill_directory=spill / "thread-1", spill_threshold=THRESHOLD))
    reader = ThreadReader(1, LogCatalog(files=[path]), core, start_scn=None, follow=False)
    records = transactions = changes = out = size = 0
    while True:
        result = reader.read(RECORD_BUDGET)
        if reader.fault is not None:
            raise reader.fault
        records += result.records
        for tx in result.commits:
            transactions += 1
            changes += tx.changes_total
            found = NativeTransaction(tx.info(COMMIT_TS), tx).records(MAX_CHANGES, LIMITS)
            out += len(found)
            size += sum(len(r.value) for r in found)
        if result.finished:
            return records, transactions, changes, out, size


def measure(name: str, work: Callable[[], tuple[int, ...]], repeat: int,
            size: int) -> tuple[dict[str, Any], tuple[int, ...]]:
    """``repeat`` timed runs; the figures and what the last run counted."""
    rows: list[dict[str, float]] = []
    result: tuple[int, ...] = ()
    for k in range(repeat):
        timing, result = timed(work)
        records = result[0]
        row = {"seconds_cpu": timing.cpu, "seconds_wall": timing.wall,
               "mb_s_cpu": size / max(timing.cpu, 1e-9) / 1e6,
               "mb_s_wall": size / timing.wall / 1e6,
               "ns_per_record_cpu": timing.cpu / max(records, 1) * 1e9}
        if len(result) > 2:
            row["changes_s_cpu"] = result[2] / max(timing.cpu, 1e-9)
        rows.append(row)
        print(f"  {name} run {k + 1}: {row['mb_s_cpu']:,.1f} MB/s CPU "
              f"({row['mb_s_wall']:,.1f} wall), {row['seconds_cpu']:.2f} CPU s, "
              f"{row['ns_per_record_cpu']:,.0f} ns/record; {result}", flush=True)
    return {"figures": {key: summary([r[key] for r in rows]) for key in rows[0]},
            "runs": rows, "counts": list(result)}, result


def run_mixes(path: Path, directory: Path, facts: biglog.LogFacts, mixes: list[str],
              repeat: int, size: int, spill: Path, reader: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {}
    raw_t, _ = timed(lambda: raw_read(path))
    results["raw read"] = {"mb_s_wall": size / raw_t.wall / 1e6,
                           "mb_s_cpu": size / max(raw_t.cpu, 1e-9) / 1e6}
    print(f"  raw read: {results['raw read']['mb_s_wall']:,.0f} MB/s wall "
          f"({results['raw read']['mb_s_cpu']:,.0f} CPU)", flush=True)
    for mix in mixes:
        tables = MIXES[mix]
        want = facts.expected(tables)
        dictionary = directory / biglog.DICTIONARY_NAME
        name = f"{'reader' if reader else 'core txn'} {mix}%"
        work = (partial(reader_txn, path, dictionary, tables, spill) if reader
                else partial(core_txn, path, dictionary, tables, True, spill))
        results[name], counts = measure(name, work, repeat, size)
        if (counts[1], counts[2]) != want:
            raise SystemExit(f"mix {mix}: read {counts[1]} transactions / {counts[2]} "
                             f"changes, the log holds {want[0]} / {want[1]}")
    return results


def run_stages(path: Path, directory: Path, repeat: int, size: int,
               spill: Path) -> dict[str, Any]:
    """Each stage of the path alone, for both mixes: the differences are the stages'
    costs."""
    results: dict[str, Any] = {}
    redo = partial(NativeRedoFile, path)
    results["walk"], _ = measure("walk", lambda: tuple(_scan(redo())), repeat, size)
    for mix in ("10", "100"):
        tables = MIXES[mix]
        skip = skip_reasons(directory / biglog.DICTIONARY_NAME, tables)
        for decode in (False, True):
            key = f"triage{'+decode' if decode else ''} {mix}%"
            results[key], _ = measure(key, partial(_triage, redo, skip, decode), repeat, size)
        for serialise in (False, True):
            key = f"txn{'+serialise' if serialise else ''} {mix}%"
            work = partial(core_txn, path, directory / biglog.DICTIONARY_NAME, tables,
                           serialise, spill)
            results[key], _ = measure(key, work, repeat, size)
    return results


def _scan(redo: NativeRedoFile) -> tuple[int, int]:
    totals = redo.scan()
    return totals.records, totals.bytes


def _triage(redo: Callable[[], NativeRedoFile], skip: Any, decode: bool) -> tuple[int, ...]:
    totals = native_ops.triage_log(redo(), skip[0], skip[1], decode=decode,
                                   counters=native_ops.NativeOpCounters())
    return (totals.records, totals.bytes)


def run_rac(path: Path, directory: Path, threads: int, mix: str, spill: Path,
            size: int) -> dict[str, Any]:
    """One thread core on one core, then ``threads`` of them at once on every core."""
    tables = MIXES[mix]
    dictionary = directory / biglog.DICTIONARY_NAME

    def alone() -> None:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        try:
            core_txn(path, dictionary, tables, True, spill)
        finally:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))

    started, cpu = time.perf_counter(), time.process_time()
    alone()
    one, one_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"  1 thread on 1 core: {size / one / 1e6:,.1f} MB/s wall, "
          f"{size / one_cpu / 1e6:,.1f} MB/s CPU", flush=True)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            core_txn(path, dictionary, tables, True, spill, thread=n)
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n + 1,)) for n in range(threads)]
    started, cpu = time.perf_counter(), time.process_time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    many, many_cpu = time.perf_counter() - started, time.process_time() - cpu
    if errors:
        raise errors[0]
    # The same work in as many processes (no GIL shared): what the threads would reach
    # if the GIL held them back nowhere, on this machine at this moment.
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=core_txn, args=(path, dictionary, tables, True, spill, n + 1))
             for n in range(threads)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    apart = time.perf_counter() - started
    if any(p.exitcode for p in procs):
        raise SystemExit("a process of the comparison failed")
    cores = len(os.sched_getaffinity(0))
    rate_one, rate_many = size / one / 1e6, threads * size / many / 1e6
    print(f"  {threads} threads on {cores} cores: {rate_many:,.1f} MB/s wall "
          f"({rate_many / rate_one:.2f}x), {threads * size / many_cpu / 1e6:,.1f} MB/s CPU, "
          f"{many_cpu / many:.2f} cores busy; {threads} processes: "
          f"{threads * size / apart / 1e6:,.1f} MB/s wall (their time / the threads' "
          f"{apart / many:.2f})", flush=True)
    return {"threads": threads, "cores": cores, "mix_percent": int(mix),
            "one_thread_one_core_mb_s_wall": rate_one, "seconds_one": one,
            "seconds_one_cpu": one_cpu, "all_threads_mb_s_wall": rate_many,
            "seconds_all": many, "seconds_all_cpu": many_cpu,
            "cores_busy": many_cpu / many, "speedup": rate_many / rate_one,
            "seconds_processes": apart, "threads_over_processes": apart / many}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gb", type=float, default=1.0, help="log size in GiB (>= 1)")
    parser.add_argument("--mix", choices=[*sorted(MIXES), "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--workers", type=int, default=2,
                        help="processes that build the log when it is not cached")
    parser.add_argument("--rac", type=int, default=0, help="threads read in parallel")
    parser.add_argument("--stages", action="store_true", help="each stage alone")
    parser.add_argument("--reader", action="store_true",
                        help="the service's ThreadReader path instead of the bare core")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    directory, facts = ensure_log(args.cache, args.size_gb, args.seed, args.workers)
    path = directory / biglog.LOG_NAME
    size = raw_read(path)  # warms the page cache
    print(f"log {path}: {size / 1e9:.3f} GB, {facts.records:,} records", flush=True)
    with tempfile.TemporaryDirectory(prefix="drcapture-bench-spill-") as tmp:
        spill = Path(tmp)
        if args.rac:
            results = run_rac(path, directory, args.rac,
                              "100" if args.mix == "both" else args.mix, spill, size)
        elif args.stages:
            results = run_stages(path, directory, args.repeat, size, spill)
        else:
            mixes = ["10", "100"] if args.mix == "both" else [args.mix]
            results = run_mixes(path, directory, facts, mixes, args.repeat, size, spill,
                                args.reader)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"peak RSS: {peak / 2**20:,.0f} MiB", flush=True)
    if args.json:
        args.json.write_text(json.dumps({
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": machine(), "size_bytes": size, "peak_rss_bytes": peak,
            "results": results,
        }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
