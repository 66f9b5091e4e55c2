"""Pipeline benchmark (not a test): RAC redo -> capture -> Kafka -> apply -> PostgreSQL.

    .venv/bin/python -m bench.pipeline.run --rate 1000 --seconds 60
    .venv/bin/python -m bench.pipeline.run --rate 1000 --seconds 60 --mix 10
    .venv/bin/python -m bench.pipeline.run --flat-out --transactions 20000
    .venv/bin/python -m bench.pipeline.run --quick          # a short run, checked row by row

From the repo root, after ``scripts/setup.sh``. The broker and PostgreSQL come from
``KAFKA_BOOTSTRAP_SERVERS`` / ``DR_TEST_POSTGRES_DSN`` (then ``--kafka-log-dir`` for the
WAN bytes), else the local stack (``drstack``, its ``DR_STACK_*`` settings; started when
down). The redo is built once per plan and cached under ``--root``. bench/README.md,
"pipeline", says what is measured and how.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.pipeline.harness import PipelineRun, RunOptions, Stack


def stack(kafka_log_dir: Path | None) -> Stack:
    """The broker and database to use (the local stack's, started if need be)."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    dsn = os.environ.get("DR_TEST_POSTGRES_DSN")
    if bootstrap is None or dsn is None:
        from drcommon.devstack.cli import kafka_broker, postgres_server

        if bootstrap is None:
            broker = kafka_broker()
            print(broker.start(), flush=True)
            bootstrap = broker.options.bootstrap
            kafka_log_dir = kafka_log_dir or broker.home / "data"
        if dsn is None:
            server = postgres_server()
            print(server.start(), flush=True)
            dsn = server.options.dsn
    return Stack(bootstrap, dsn, kafka_log_dir)


def options(argv: list[str] | None) -> tuple[RunOptions, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000, help="offered commits/s")
    parser.add_argument("--seconds", type=float, default=60, help="measured part")
    parser.add_argument("--flat-out", action="store_true", help="write as fast as possible")
    parser.add_argument("--transactions", type=int, default=20_000, help="flat out: how many")
    parser.add_argument("--mix", choices=["10", "100"], default="100",
                        help="share of the tables captured (bench/capture's mixes)")
    parser.add_argument("--quick", action="store_true",
                        help="10 s at the rate, 2 MB logs, verify")
    parser.add_argument("--verify", action="store_true", help="compare the DR copy row by row")
    parser.add_argument("--log-mb", type=float, default=16, help="online log size")
    parser.add_argument("--tick-ms", type=float, default=5, help="LGWR write interval")
    parser.add_argument("--warmup-seconds", type=float, default=3)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--drain-timeout", type=float, default=120)
    parser.add_argument("--segment-size", type=int, default=1000,
                        help="transactions per independently built piece of the plan")
    parser.add_argument("--workers", type=int, default=2, help="processes building redo")
    parser.add_argument("--capture-port", type=int, default=28701)
    parser.add_argument("--apply-port", type=int, default=28702)
    parser.add_argument("--root", type=Path, default=Path("/var/tmp/oracle-dr-bench/pipeline"))
    parser.add_argument("--kafka-log-dir", type=Path, help="the broker's log.dirs")
    parser.add_argument("--keep", action="store_true", help="keep topics, schemas, files")
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    chosen = RunOptions(
        rate=0 if args.flat_out else args.rate, seconds=args.seconds,
        transactions=args.transactions, mix=args.mix, warmup_seconds=args.warmup_seconds,
        seed=args.seed, segment_size=args.segment_size, log_mb=args.log_mb,
        tick_ms=args.tick_ms, workers=args.workers,
        ports=(args.capture_port, args.apply_port), root=args.root,
        drain_timeout=args.drain_timeout, verify=args.verify, keep=args.keep)
    if args.quick:
        chosen = replace(chosen, seconds=min(args.seconds, 10), log_mb=2,
                         transactions=min(args.transactions, 3000), verify=True)
    return chosen, args


def report(result: dict[str, Any]) -> str:
    """The figures a reader needs, one per line."""
    o, lat, b, r = result["options"], result["latency_ms"], result["bytes"], result["rates"]
    load = f"{result['load_average']['before']} -> {result['load_average']['after']}"
    offered = "flat out" if o["rate"] <= 0 else f"{o['rate']:g} tx/s"
    lines = [
        f"pipeline bench {result['at']} on {result['machine']}, load average {load}",
        f"  offered {offered}, mix "
        f"{o['mix']}%: {result['commits']['measured']} captured commits measured "
        f"({result['commits']['not_at_dr']} not at DR)",
    ]
    if lat:
        lines.append(f"  source commit -> DR commit: p50 {lat['p50']:.0f} ms, p90 "
                     f"{lat['p90']:.0f}, p99 {lat['p99']:.0f}, max {lat['max']:.0f}; p50 first "
                     f"third {lat['first_third_p50']:.0f} -> last {lat['last_third_p50']:.0f} "
                     f"ms ({lat['growth_ms_per_s']:+.1f} ms/s)")
    lines.append(f"  rates: {r}; drain after the load {result['drain_seconds']} s")
    lines.append(f"  redo {b['redo'] / 1e6:.1f} MB (zlib per MiB "
                 f"{b['redo_zlib_1mib_chunks'] / 1e6:.1f} MB); Kafka "
                 f"{b.get('kafka_total', 0) / 1e6:.2f} MB = "
                 f"{b.get('kafka_per_captured_change')} B per captured change, "
                 f"{b.get('kafka_per_mb_redo')} B per MB of redo (redo/WAN "
                 f"{b.get('redo_per_kafka')}x)")
    lines.append(f"  CPU s: {result['cpu_seconds']}")
    if "verify" in result:
        lines.append(f"  verify: {result['verify']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    chosen, args = options(argv)
    run = PipelineRun(chosen, stack(args.kafka_log_dir))
    result = run.execute()
    result["at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    result["machine"] = (f"{os.cpu_count()} CPU {platform.machine()}, Python "
                         f"{platform.python_version()}")
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    bad = result.get("verify", {}).get("differences") or result["commits"]["not_at_dr"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
