"""Serialiser benchmark: committed transactions -> Kafka records, Python vs the core.

    python bench/capture/wire.py                       # OLTP and LOB workloads, 3 runs
    python bench/capture/wire.py --segments 10 --lob-rows 60 --repeat 3 --json out.json

The transactions come from the project's redo writer and capture's own decoder, every
table captured:

* **oltp**: ``--segments`` segments of the capture benchmark's workload
  (:mod:`workload_gen`: 2,000 transactions each on 20 tables, inserts, updates,
  deletes, multi-row operations, rollbacks), each built into redo and decoded by the
  ``TransactionAssembler``; no value is large, every record is written inline.
* **lob**: ``--lob-rows`` transactions, each inserting a document row (a CLOB of mixed
  Chinese and Latin text, an NCLOB and a BLOB, 0 to 1.5 MB) and updating an earlier one,
  decoded the same way: values over ``max_value_bytes`` go out in ``value_chunk``
  records.

Decoded transactions are cached under ``--cache`` (pickled) so repeated runs measure
only the serialisation. Each run, in this one process on one core, then serialises
every transaction with the production limits (``max_changes`` 1000, 256 KiB / 1 MB):

* **python**: ``drcapture.publish.transaction_records`` (what the publisher runs today);
* **core**: ``native.serialise_all`` — the same records written by the Rust core from
  its own model, GIL released, nothing handed back (phase 2b's path up to the producer);
* **core-objects**: ``WireTransaction.records`` — the core's records handed to Python
  as ``OutRecord`` objects (bytes and header lists), what a Python producer would get;
* **core-build** (reported, not a serialisation): building the core's model from the
  Python objects, the cost the binding pays and phase 2b does not.

Before timing, the records of every transaction are checked equal between python and
the core. CPU time (``process_time``) is the figure; wall time is reported too.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drcapture import native
from drcapture.dictionary.model import OracleType
from drcapture.publish import CommittedTransaction, transaction_records
from drcapture.publish_records import RecordLimits
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.reader import iter_records
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler
from drcapture.synth.workload import Col, Commit, Insert, Step, Table, Update, Workload, row
from drcapture.synth.workload_build import BuiltWorkload, build_workload
from run import machine, summary
from workload_gen import OWNER, segment_workload

DEFAULT_CACHE = Path("/var/tmp/oracle-dr-bench/capture")
CACHE_VERSION = 1  # bump when the workloads change
MAX_CHANGES = 1000
LIMITS = RecordLimits()  # the production defaults: 256 KiB values, 1,000,000-byte records
SEGMENT_TRANSACTIONS = 2000

DOCS = Table(OWNER, "DOCS", 82001, (
    Col("ID", OracleType.NUMBER), Col("TITLE", OracleType.VARCHAR2, 200),
    Col("BODY", OracleType.CLOB), Col("NBODY", OracleType.CLOB, charset_form=2),
    Col("SCAN", OracleType.BLOB)), pk=("ID",))  # fmt: skip
_TEXT = "病历记录 patient record: 体温正常, blood pressure 120/80. Notes «ok»\n"


def decoded(built: BuiltWorkload) -> Iterator[CommittedTransaction]:
    """Every committed transaction capture decodes from a built workload, all tables
    captured, commit times in UTC (what the pipeline hands the publisher)."""
    for thread in sorted({log.thread for log in built.logs}):
        asm = TransactionAssembler(built.dictionary, AssemblerOptions(thread=thread))
        for log in built.logs_of(thread):
            for record in iter_records(RedoFile(BytesSource(log.data))):
                for txn in asm.feed(record):
                    moment = txn.commit_ts
                    if moment is not None and moment.tzinfo is None:
                        txn = replace(txn, commit_ts=moment.replace(tzinfo=UTC))
                    yield CommittedTransaction(txn.info(), txn.changes)


def oltp(segments: int, seed: int) -> list[CommittedTransaction]:
    out: list[CommittedTransaction] = []
    for index in range(segments):
        out.extend(decoded(build_workload(segment_workload(index, SEGMENT_TRANSACTIONS, seed))))
        print(f"  oltp segment {index + 1}/{segments}: {len(out):,} transactions", flush=True)
    return out


def lob(rows: int) -> list[CommittedTransaction]:
    steps: list[Step] = []
    for i in range(rows):
        size = (i * 611_953) % 1_500_000  # 0 .. 1.5 MB, spread
        body = (_TEXT * (size // len(_TEXT.encode()) + 1))[: size // 2]
        scan = bytes((i + k) % 256 for k in range(size // 4)).hex().upper()
        session = f"s{i}"
        steps.append(Step(1, session, Insert("DOCS", row(
            ID=str(i), TITLE=f"document {i}", BODY=body, NBODY=body[: size // 8], SCAN=scan))))
        if i:
            steps.append(Step(1, session, Update("DOCS", row(ID=str(i - 1)),
                                                 row(TITLE=f"revised {i - 1}"))))
        steps.append(Step(1, session, Commit()))
    workload = Workload(tables=(DOCS,), steps=tuple(steps), block_size=4096,
                        start_time=datetime(2025, 3, 3, 9, 0, 0))
    return list(decoded(build_workload(workload)))


def load(cache: Path, name: str, make: Callable[[], list[CommittedTransaction]]
         ) -> list[CommittedTransaction]:
    """The workload's decoded transactions, from the cache when there."""
    path = cache / f"wire-{name}-v{CACHE_VERSION}.pickle"
    if path.exists():
        with path.open("rb") as handle:
            found: list[CommittedTransaction] = pickle.load(handle)
        return found
    print(f"building and decoding the {name} workload (once) ...", flush=True)
    found = make()
    cache.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(found, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return found


def timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    """Run ``work`` once: (CPU seconds, wall seconds, its result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def python_pass(found: list[CommittedTransaction]) -> tuple[int, int]:
    records = size = 0
    for tx in found:
        for record in transaction_records(tx, MAX_CHANGES, LIMITS):
            records += 1
            size += len(record.value)
    return records, size


def objects_pass(wired: list[native.WireTransaction]) -> tuple[int, int]:
    records = size = 0
    for tx in wired:
        for record in tx.records(MAX_CHANGES, LIMITS):
            records += 1
            size += len(record.value)
    return records, size


def run_mix(name: str, found: list[CommittedTransaction], repeat: int) -> dict[str, Any]:
    changes = sum(len(tx.changes) for tx in found)
    print(f"{name}: {len(found):,} transactions, {changes:,} changes", flush=True)
    builder = native.WireBuilder()
    wired = [builder.transaction(tx.info, tx.changes) for tx in found]
    for tx, mine in zip(found, wired, strict=True):  # the same records, or no figures
        if list(transaction_records(tx, MAX_CHANGES, LIMITS)) != mine.records(MAX_CHANGES,
                                                                              LIMITS):
            raise SystemExit(f"{name}: the core's records differ for {tx.info.xid}")
    rows: list[dict[str, float]] = []
    for k in range(repeat):
        row: dict[str, float] = {}
        totals = set()
        for label, work in (
            ("python", lambda: python_pass(found)),
            ("core", lambda: native.serialise_all(wired, MAX_CHANGES, LIMITS)),
            ("core_objects", lambda: objects_pass(wired)),
            ("core_build", lambda: (0, sum(
                native.WireBuilder().transaction(tx.info, tx.changes).changes for tx in found))),
        ):
            cpu, wall, (records, size) = timed(work)
            if label != "core_build":
                totals.add((records, size))
                row["records"], row["bytes"] = records, size
            row[f"{label}_cpu_s"], row[f"{label}_wall_s"] = cpu, wall
            row[f"{label}_changes_per_s"] = changes / max(cpu, 1e-9)
        if len(totals) != 1:
            raise SystemExit(f"{name}: the passes wrote different totals: {totals}")
        row["load_average"] = os.getloadavg()[0]
        rows.append(row)
        print(f"  run {k + 1}: python {row['python_cpu_s']:.2f} s CPU "
              f"({row['python_changes_per_s']:,.0f} changes/s), core {row['core_cpu_s']:.3f} s "
              f"({row['core_changes_per_s']:,.0f}/s), core-objects "
              f"{row['core_objects_cpu_s']:.3f} s, core-build {row['core_build_cpu_s']:.2f} s; "
              f"{row['records']:,.0f} records, {row['bytes'] / 1e6:,.1f} MB; load "
              f"{row['load_average']:.1f}", flush=True)
    return {
        "mix": name, "transactions": len(found), "changes": changes,
        "figures": {key: summary([r[key] for r in rows]) for key in rows[0]},
        "speedup_core_cpu": statistics.median(r["python_cpu_s"] / r["core_cpu_s"] for r in rows),
        "speedup_core_objects_cpu": statistics.median(
            r["python_cpu_s"] / r["core_objects_cpu_s"] for r in rows),
        "runs": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=10,
                        help="OLTP segments of 2,000 transactions")
    parser.add_argument("--lob-rows", type=int, default=60, help="LOB transactions")
    parser.add_argument("--mix", choices=["oltp", "lob", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    mixes = []
    if args.mix in ("oltp", "both"):
        found = load(args.cache, f"oltp-{args.segments}x{SEGMENT_TRANSACTIONS}-seed{args.seed}",
                     lambda: oltp(args.segments, args.seed))
        mixes.append(run_mix("oltp", found, args.repeat))
    if args.mix in ("lob", "both"):
        found = load(args.cache, f"lob-{args.lob_rows}", lambda: lob(args.lob_rows))
        mixes.append(run_mix("lob", found, args.repeat))
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "limits": {"max_changes": MAX_CHANGES, "max_value_bytes": LIMITS.max_value_bytes,
                   "max_record_bytes": LIMITS.max_record_bytes},
        "mixes": mixes,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
