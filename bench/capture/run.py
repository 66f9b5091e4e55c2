"""Capture benchmark: redo parse throughput on one core, beside the raw read speed.

    python bench/capture/run.py --size-gb 1 --mix 10      # 10 % of records captured
    python bench/capture/run.py --size-gb 1 --mix 100     # every record captured
    python bench/capture/run.py --size-gb 1 --mix both --repeat 3 --json out.json

The log (at least ``--size-gb`` GiB, one archived log of thread 1) is built once by the
project's redo writer into ``--cache`` and reused while the generator version and seed
match (see :mod:`biglog`). Each repetition, in this one process and on one core:

1. reads the whole file in 1 MiB ``readinto`` chunks (page cache warm: the file was just
   read) — the raw sequential read speed;
2. runs ``drcapture decode``'s path on the same file — ``RedoFile(FileSource)`` →
   :func:`~drcapture.redo.reader.iter_records` → ``TransactionAssembler.feed`` with the
   table filter → :class:`~drcommon.model.RowChange` objects for the captured tables
   (JSON printing left out) — and checks the transaction and change counts against
   what the writer says the log holds.

Wall time (``perf_counter``) and this process's CPU time (``process_time``) are both
reported: on a shared machine the CPU time is the figure that says what one core does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import biglog
from drcapture.dictionary.snapshot import load_snapshot_file
from drcapture.filtering import TableFilter
from drcapture.redo.blocks import FileSource, RedoFile
from drcapture.redo.ops.dispatch import OpCounters
from drcapture.redo.reader import iter_records
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler
from workload_gen import OWNER

DEFAULT_CACHE = Path("/var/tmp/oracle-dr-bench/capture")
CHUNK = 1 << 20
# Mix name -> captured tables: 2 of the 20 (10 % of the records), or all of them.
MIXES = {"10": ["T01", "T02"], "100": biglog.all_tables()}
EXCLUDE = ("SYS.*", "SYSTEM.*", "AUDSYS.*")  # drcapture decode's default


@dataclass(slots=True)
class Timing:
    """One timed pass."""

    wall: float
    cpu: float


def timed(work: Callable[[], Any]) -> tuple[Timing, Any]:
    """Run ``work`` once; its wall and CPU seconds and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu), result


def raw_read(path: Path) -> int:
    """Read the file sequentially in 1 MiB chunks into one buffer; bytes read."""
    buffer = bytearray(CHUNK)
    total = 0
    with path.open("rb", buffering=0) as handle:
        while True:
            got = handle.readinto(buffer)
            if not got:
                return total
            total += got


def decode(path: Path, dictionary_path: Path, tables: list[str]) -> tuple[int, int, int]:
    """``drcapture decode``'s path; (records, committed transactions, row changes)."""
    dictionary = load_snapshot_file(dictionary_path)
    wanted = TableFilter(tuple(f"{OWNER}.{t}" for t in tables), EXCLUDE)
    assembler = TransactionAssembler(
        dictionary,
        AssemblerOptions(thread=1, db_id=dictionary.db_id, db_name=dictionary.db_name,
                         wanted=wanted),
    )
    records = transactions = changes = 0
    for record in iter_records(RedoFile(FileSource(path)), counters=OpCounters()):
        records += 1
        for tx in assembler.feed(record):
            transactions += 1
            changes += len(tx.changes)
    return records, transactions, changes


def summary(values: list[float]) -> dict[str, float]:
    """Median and spread of repeated figures."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model, "nproc": os.cpu_count(), "python": platform.python_version(),
        "implementation": platform.python_implementation(), "system": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def ensure_log(cache: Path, size_gb: float, seed: int,
               workers: int) -> tuple[Path, biglog.LogFacts]:
    """The cached log directory, built when missing."""
    directory = cache / f"log-{size_gb:g}gib-seed{seed}-v{biglog.GENERATOR_VERSION}"
    facts = biglog.load_facts(directory)
    if facts is None:
        print(f"building the benchmark log in {directory} (once) ...", flush=True)
        started = time.perf_counter()
        facts = biglog.build_big_log(directory, int(size_gb * 2**30), seed, workers)
        print(f"built in {time.perf_counter() - started:,.0f} s", flush=True)
    return directory, facts


def run_mix(directory: Path, facts: biglog.LogFacts, mix: str, repeat: int) -> dict[str, Any]:
    """Raw read and decode of the log, ``repeat`` times, for one mix."""
    path = directory / biglog.LOG_NAME
    tables = MIXES[mix]
    want_tx, want_changes = facts.expected(tables)
    raw_read(path)  # warm the page cache
    rows: list[dict[str, float]] = []
    for k in range(repeat):
        raw_t, size = timed(lambda: raw_read(path))
        ours_t, (records, tx, changes) = timed(
            lambda: decode(path, directory / biglog.DICTIONARY_NAME, tables))
        if (tx, changes) != (want_tx, want_changes):
            raise SystemExit(f"mix {mix}: read {tx} transactions / {changes} changes, the log "
                             f"holds {want_tx} / {want_changes}")
        row = {
            "raw_mb_s_wall": size / raw_t.wall / 1e6,
            "raw_mb_s_cpu": size / max(raw_t.cpu, 1e-9) / 1e6,
            "mb_s_wall": size / ours_t.wall / 1e6,
            "mb_s_cpu": size / ours_t.cpu / 1e6,
            "changes_s_wall": changes / ours_t.wall,
            "changes_s_cpu": changes / ours_t.cpu,
            "records_s_cpu": records / ours_t.cpu,
            "seconds_wall": ours_t.wall,
            "seconds_cpu": ours_t.cpu,
            "load_average": os.getloadavg()[0],
        }
        row["ratio_to_raw_wall"] = row["mb_s_wall"] / row["raw_mb_s_wall"]
        rows.append(row)
        print(f"  mix {mix}% run {k + 1}: {row['mb_s_cpu']:.1f} MB/s CPU "
              f"({row['mb_s_wall']:.1f} wall), {row['changes_s_cpu']:,.0f} changes/s CPU; "
              f"raw read {row['raw_mb_s_wall']:,.0f} MB/s; load {row['load_average']:.1f}",
              flush=True)
    return {
        "mix_percent": int(mix), "tables": tables, "records": records,
        "transactions": want_tx, "changes": want_changes,
        "figures": {key: summary([r[key] for r in rows]) for key in rows[0]},
        "runs": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gb", type=float, default=1.0, help="log size in GiB (>= 1)")
    parser.add_argument("--mix", choices=["10", "100", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes that build the log (the measurement uses one)")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument("--build-only", action="store_true", help="build the log and stop")
    args = parser.parse_args(argv)
    directory, facts = ensure_log(args.cache, args.size_gb, args.seed, args.workers)
    print(f"log {directory / biglog.LOG_NAME}: {facts.size_bytes / 1e9:.3f} GB, "
          f"{facts.records:,} records ({facts.record_bytes / facts.size_bytes:.0%} of the "
          f"bytes), {facts.transactions:,} committed transactions, {facts.changes:,} changes",
          flush=True)
    if args.build_only:
        return 0
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "log": {"path": str(directory / biglog.LOG_NAME), **{
            k: getattr(facts, k) for k in ("size_bytes", "blocks", "records", "record_bytes",
                                           "lwns", "transactions", "changes", "opcodes")}},
        "mixes": [run_mix(directory, facts, mix, args.repeat)
                  for mix in (["10", "100"] if args.mix == "both" else [args.mix])],
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
