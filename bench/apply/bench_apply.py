"""Apply benchmark: throughput into PostgreSQL beside COPY, and latency at a fixed load.

    .venv/bin/python bench/apply/bench_apply.py \
        --bootstrap 127.0.0.1:19092 --dsn postgresql://postgres@127.0.0.1:15432/dr

1. **Mix**: ``--small`` transactions of 1-10 row changes (inserts, updates, deletes) and
   ``--large`` transactions of 10,000 inserts, published like capture does (chunks of
   1,000, watermarks), then ``apply_once`` into PostgreSQL; rows/s and transactions/s.
2. **Physical limit**: the same number of rows, same values and types, loaded with
   ``COPY`` into an identical table, in the same run; apply's share of COPY's rows/s.
3. **Latency**: a producer process publishes ``--rate`` transactions/s (in Kafka
   transactions every 50 ms, as capture batches) for ``--seconds``; apply runs beside
   it; p50/p99 from the Kafka record timestamp (set when the batch is sent) to the
   target commit.

A script, not a test: it prints a Markdown block for bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from drapply.adapters.base import Checkpoint, Stream  # noqa: E402
from drapply.observer import AppliedTx, ApplyObserver  # noqa: E402
from drapply.oneshot import apply_once  # noqa: E402
from drapply.runtime import tune_gc  # noqa: E402
from drapply.settings import ApplySettings, load_apply_settings  # noqa: E402
from drapply.wiring import naming_for, topic_names  # noqa: E402
from drcommon.config import KafkaSettings  # noqa: E402

from tests.integration.apply.synth import Publisher, SourceTx, SyntheticSource  # noqa: E402


def settings_for(
    args: argparse.Namespace, prefix: str, control: str, parallel: int = 1
) -> ApplySettings:
    return load_apply_settings(
        None,
        kafka={"bootstrap_servers": args.bootstrap, "topic_prefix": prefix},
        source={"database": "BENCH", "schemas": ["*"]},
        target={"kind": "postgresql", "dsn": args.dsn, "control_schema": control},
        apply={
            "fetch_timeout_ms": 20,
            "max_group_transactions": 500,
            "parallel": parallel,
            "group_id": f"bench-{control}",
        },
        logging={"level": "WARNING"},
    )


def make_mix(
    schema: str, small: int, large: int, seed: int
) -> tuple[SyntheticSource, list[SourceTx]]:
    source = SyntheticSource([schema], seed=seed)
    txs: list[SourceTx] = []
    every = max(1, small // max(large, 1))
    for n in range(small):
        txs.append(source.transaction(schema, source.rng.randint(1, 10)))
        if large and n % every == every - 1 and sum(len(t.changes) >= 10000 for t in txs) < large:
            txs.append(source.insert_only(schema, 10000))
    return source, txs


async def publish(settings: ApplySettings, schema: str, txs: list[SourceTx]) -> None:
    publisher = Publisher(settings.kafka, topic_names(settings), f"bench-{uuid.uuid4().hex[:8]}")
    await publisher.start([schema])
    try:
        for i in range(0, len(txs), 200):
            batch = txs[i : i + 200]
            await publisher.publish(batch, max_changes=1000,
                                    watermark=([schema], batch[-1].info.commit_scn))  # fmt: skip
    finally:
        await publisher.stop()


async def throughput(args: argparse.Namespace) -> dict[str, Any]:
    """The mix published once, applied with each ``--parallel`` N into a fresh schema
    (its own checkpoint, from offset 0), then COPY of the same rows: one run, one host."""
    prefix = f"b{uuid.uuid4().hex[:8]}"
    schema = "MIX"
    _source, txs = make_mix(schema, args.small, args.large, seed=1)
    rows = sum(len(t.changes) for t in txs)
    await publish(settings_for(args, prefix, f"drapply_bench_{prefix}"), schema, txs)
    runs: dict[int, float] = {}
    for parallel in args.parallel:
        settings = settings_for(args, prefix, f"drapply_bench_{prefix}_{parallel}", parallel)
        started = time.perf_counter()
        statuses = await apply_once(settings)
        elapsed = time.perf_counter() - started
        status = statuses[schema]
        assert status.error is None, status.error
        assert status.rows == rows, (status.rows, rows)
        cleanup(args.dsn, settings)
        runs[parallel] = elapsed
    copy_rows_per_s = copy_limit(args.dsn, txs, f"bench_copy_{prefix}")
    return {
        "transactions": len(txs),
        "rows": rows,
        "runs": runs,
        "copy_rows_per_s": copy_rows_per_s,
    }


def copy_limit(dsn: str, txs: list[SourceTx], table: str) -> float:
    """COPY the same number of rows (the changes' row images, same types) into a table
    shaped like the apply target: numeric/text/timestamp/bytea with a primary key."""
    images: list[tuple[Any, ...]] = []
    for n, tx in enumerate(c for t in txs for c in t.changes):
        image = {**(tx.before or {}), **(tx.after or {})}
        images.append((
            str(n), image.get("NAME"), image.get("AMOUNT"), image.get("CREATED"),
            image.get("NOTE"), bytes.fromhex(str(image["DATA"])) if image.get("DATA") else None,
        ))  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            f'CREATE TABLE "{table}" ("id" numeric PRIMARY KEY, "name" text, "amount" numeric, '
            '"created" timestamp(6), "note" text, "data" bytea)'
        )
        try:
            started = time.perf_counter()
            with (
                conn.transaction(),
                conn.cursor().copy(
                    f'COPY "{table}" (id, name, amount, created, note, data) FROM STDIN'
                ) as copy,
            ):
                for row in images:
                    copy.write_row(row)
            elapsed = time.perf_counter() - started
        finally:
            conn.execute(f'DROP TABLE "{table}"')
    return len(images) / elapsed


class Latencies(ApplyObserver):
    """Kafka record timestamp -> target commit, per transaction."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    def committed(self, stream: Stream, txs: list[AppliedTx], checkpoint: Checkpoint) -> None:
        now = time.time()
        self.samples.extend(now - t.kafka_ts_ms / 1000 for t in txs)


def produce_at_rate(
    bootstrap: str, prefix: str, schema: str, rate: int, seconds: float, ready: Any
) -> None:
    """Producer process: ``rate`` transactions/s in batches every 50 ms."""

    async def run() -> None:
        kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)
        from drcommon.topics import TopicNames

        publisher = Publisher(kafka, TopicNames(prefix, "BENCH"), f"rate-{uuid.uuid4().hex[:8]}")
        await publisher.start([schema])
        source = SyntheticSource([schema], seed=2)
        source.next_id = 10**9  # clear of the row the setup transaction inserted
        per_batch = max(1, rate // 20)
        ready.set()
        loop = asyncio.get_running_loop()
        start = loop.time()
        batches = int(seconds * 20)
        try:
            for n in range(batches):
                txs = [
                    source.transaction(schema, source.rng.randint(1, 10)) for _ in range(per_batch)
                ]
                sent_at = datetime.now(UTC)
                txs = [SourceTx(t.info.model_copy(update={"commit_ts": sent_at}), t.changes)
                       for t in txs]  # fmt: skip
                await publisher.publish(txs, watermark=([schema], txs[-1].info.commit_scn))
                delay = start + (n + 1) / 20 - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
        finally:
            await publisher.stop()

    asyncio.run(run())


async def latency(args: argparse.Namespace) -> dict[str, Any]:
    prefix = f"l{uuid.uuid4().hex[:8]}"
    settings = settings_for(args, prefix, f"drapply_bench_{prefix}")
    schema = "RATE"
    # Create the topic first so apply starts before the producer does.
    await publish(settings, schema, [SyntheticSource([schema], seed=9).transaction(schema, 1)])
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    producer = ctx.Process(
        target=produce_at_rate,
        args=(args.bootstrap, prefix, schema, args.rate, args.seconds, ready),
    )
    observer = Latencies()
    producer.start()
    await asyncio.to_thread(ready.wait, 60)
    try:
        statuses = await apply_once(settings, until_idle=3.0, also=observer)
    finally:
        producer.join(30)
    assert statuses[schema].error is None, statuses[schema].error
    samples = sorted(observer.samples[1:])  # the first one predates the run
    cleanup(args.dsn, settings)
    return {
        "rate": args.rate,
        "seconds": args.seconds,
        "transactions": len(samples),
        "p50": statistics.quantiles(samples, n=100)[49],
        "p99": statistics.quantiles(samples, n=100)[98],
        "max": samples[-1],
    }


def cleanup(dsn: str, settings: ApplySettings) -> None:
    naming = naming_for(settings, settings.target)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for schema in ("MIX", "RATE"):
            conn.execute(f'DROP SCHEMA IF EXISTS "{naming.schema(schema)}" CASCADE')
        conn.execute(f'DROP SCHEMA IF EXISTS "{settings.target.control_schema}" CASCADE')


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} CPU ({cpu}), Python {platform.python_version()}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    )
    parser.add_argument(
        "--dsn",
        default=os.environ.get("DR_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:15432/dr"),
    )
    parser.add_argument("--small", type=int, default=6000)
    parser.add_argument("--large", type=int, default=6)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--parallel", type=int, nargs="+", default=[1, 2, 4], help="apply.parallel values"
    )
    args = parser.parse_args()
    tune_gc()  # as drapply run/once do
    mix = await throughput(args)
    copy = mix["copy_rows_per_s"]
    print(f"### apply — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"- machine: {machine()}; Kafka and PostgreSQL on the same host")
    print(f"- command: `.venv/bin/python bench/apply/bench_apply.py --small {args.small} "
          f"--large {args.large} --rate {args.rate} --seconds {args.seconds:g} "
          f"--parallel {' '.join(map(str, args.parallel))}`")  # fmt: skip
    print(f"- mix: {mix['transactions']} transactions, {mix['rows']} rows "
          f"({args.small} of 1-10 rows, {args.large} of 10,000), one schema")  # fmt: skip
    print(f"- COPY of the same rows into an identical table: {copy:,.0f} rows/s")
    base = mix["runs"].get(1)
    for parallel, elapsed in mix["runs"].items():
        rate = mix["rows"] / elapsed
        speedup = f", {base / elapsed:.2f}x N = 1" if base and parallel != 1 else ""
        print(f"- apply.parallel = {parallel}: {elapsed:.2f} s, **{rate:,.0f} rows/s** "
              f"({mix['transactions'] / elapsed:,.0f} transactions/s), "
              f"**{rate / copy:.0%}** of COPY{speedup}")  # fmt: skip
    if not args.skip_latency:
        lat = await latency(args)
        print(f"- latency at {lat['rate']} transactions/s for {lat['seconds']:g} s "
              f"({lat['transactions']} transactions), Kafka append -> target commit: "
              f"p50 **{lat['p50'] * 1000:.0f} ms**, p99 **{lat['p99'] * 1000:.0f} ms**, "
              f"max {lat['max'] * 1000:.0f} ms (target: p99 under 1 s)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
