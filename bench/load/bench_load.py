"""Load and compare benchmark: rows/s of ``drapply load`` and ``drapply compare`` beside
a plain COPY of the same rows, PostgreSQL source (the history layout) to PostgreSQL and
SQLite targets.

    .venv/bin/python bench/load/bench_load.py --rows 300000 \\
        --bootstrap 127.0.0.1:39092 --dsn postgresql://postgres@127.0.0.1:35432/dr

1. **Source**: a history table of ``--rows`` rows of a customer table (NUMBER, VARCHAR2,
   DATE, TIMESTAMP, about 190 bytes a row) valid as of one SCN, filled server-side.
2. **COPY**: ``COPY (SELECT … AS OF) TO STDOUT`` streamed into ``COPY … FROM STDIN`` of
   an identical table, bytes passed through without looking at a row: the floor.
3. **load**: ``run_load`` into PostgreSQL (``--parallel`` 1 and 2) and SQLite (1);
   wall time and this process's CPU time (the databases run on the same machine).
4. **compare**: ``run_compare`` of the loaded copy, PostgreSQL and SQLite; rows/s counted
   as source rows compared (each read on both sides and hashed), and per CPU second.

A script, not a test: it prints a Markdown block for bench/README.md and writes the raw
figures as JSON (``--json``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from drapply.compare.runner import CompareRequest, run_compare  # noqa: E402
from drapply.load.model import LoadRequest  # noqa: E402
from drapply.load.runner import run_load  # noqa: E402
from drapply.settings import ApplySettings, load_apply_settings  # noqa: E402
from drapply.snapshot.postgres import catalog_ddl  # noqa: E402

COLUMNS = [  # name, Oracle type, precision, scale, PostgreSQL type, generator expression
    ("ID", "NUMBER", 12, 0, "numeric", "g"),
    ("NAME", "VARCHAR2", None, None, "text", "'客户 customer ' || g"),
    ("ADDRESS", "VARCHAR2", None, None, "text",
     "CASE WHEN g % 10 = 0 THEN NULL ELSE '淳安县千岛湖镇 ' || (g % 300) || ' 号 street' END"),
    ("BALANCE", "NUMBER", 14, 2, "numeric", "round((g::bigint * 7919 % 100000000) / 100.0, 2)"),
    ("BORN", "DATE", None, None, "timestamp(0)",
     "timestamp '1930-01-01' + (g % 30000) * interval '1 day'"),
    ("CREATED", "TIMESTAMP(6)", None, 6, "timestamp(6)",
     "timestamp '2024-01-01' + g * interval '1.234567 second'"),
    ("NOTE", "VARCHAR2", None, None, "text", "md5(g::text) || md5((g + 1)::text)"),
]
SCN = 1_000_000


def build_source(dsn: str, schema: str, rows: int) -> None:
    q = f'"{schema}"'
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {q} CASCADE")
        for statement in catalog_ddl(schema):
            conn.execute(statement)
        conn.execute(f"INSERT INTO {q}.dr_clock VALUES ({SCN})")
        cols = ", ".join(f'"{c[0]}" {c[4]}' for c in COLUMNS)
        conn.execute(f'CREATE TABLE {q}."BENCH.CUSTOMER" ({cols}, dr_from_scn bigint NOT NULL, '
                     "dr_to_scn bigint)")
        exprs = ", ".join(c[5] for c in COLUMNS)
        conn.execute(f'INSERT INTO {q}."BENCH.CUSTOMER" SELECT {exprs}, {SCN - 1}, NULL '
                     f"FROM generate_series(1, {rows}) g")
        conn.execute(f'CREATE INDEX ON {q}."BENCH.CUSTOMER" ("ID", dr_from_scn)')
        conn.execute(f"INSERT INTO {q}.dr_tables VALUES ('BENCH', 'CUSTOMER', 'BENCH.CUSTOMER')")
        for position, (name, kind, precision, scale, _pg, _g) in enumerate(COLUMNS, start=1):
            conn.execute(f"INSERT INTO {q}.dr_columns VALUES ('BENCH', 'CUSTOMER', %s, %s, %s, "
                         "NULL, %s, %s, %s, %s)",
                         (name, position, kind, precision, scale, name != "ID",
                          1 if name == "ID" else None))
        conn.execute(f"ANALYZE {q}.\"BENCH.CUSTOMER\"")


def timed(body: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = body()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def copy_floor(dsn: str, schema: str, rows: int) -> dict[str, float]:
    q = f'"{schema}"'
    cols = ", ".join(f'"{c[0]}"' for c in COLUMNS)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_target")
        conn.execute("CREATE TABLE bench_copy_target (" + ", ".join(
            f'"{c[0]}" {c[4]}' for c in COLUMNS) + ', PRIMARY KEY ("ID"))')

    def run() -> None:
        with psycopg.connect(dsn) as src, psycopg.connect(dsn) as dst:
            with src.cursor().copy(f'COPY (SELECT {cols} FROM {q}."BENCH.CUSTOMER" WHERE '
                                   f"dr_from_scn <= {SCN} AND dr_to_scn IS NULL) TO STDOUT"
                                   ) as out, dst.cursor().copy(
                    f"COPY bench_copy_target ({cols}) FROM STDIN") as into:
                for block in out:
                    into.write(block)
            dst.commit()

    _r, wall, cpu = timed(run)
    return {"rows": rows, "wall": wall, "cpu": cpu, "rows_per_second": rows / wall}


def settings(args: argparse.Namespace, schema: str, kind: str, parallel: int,
             tmp: Path) -> ApplySettings:
    target: dict[str, Any] = {"kind": kind}
    if kind == "sqlite":
        target["path"] = tmp / f"dr-{uuid.uuid4().hex[:6]}.sqlite"
        target["sqlite_synchronous"] = "NORMAL"
    else:
        target.update(dsn=args.dsn, control_schema=f"ctl_{uuid.uuid4().hex[:8]}")
    renames = {"schemas": {"BENCH": f"bench_{uuid.uuid4().hex[:8]}"}} if kind != "sqlite" else {}
    return load_apply_settings(None, **{
        "kafka": {"bootstrap_servers": args.bootstrap,
                  "topic_prefix": f"bench{uuid.uuid4().hex[:8]}"},
        "source": {"database": "BENCHDB", "schemas": ["BENCH"]},
        "source_db": {"kind": "postgresql", "dsn": args.dsn, "history_schema": schema,
                      "array_size": 5000},
        "target": target, "renames": renames,
        "load": {"rows_per_chunk": args.chunk, "parallel": parallel, "batch_rows": 5000},
        "compare": {"rows_per_chunk": 10_000},
        "logging": {"level": "WARNING", "format": "text"},
    })


def bench_load(s: ApplySettings, rows: int) -> dict[str, float]:
    report, wall, cpu = timed(lambda: asyncio.run(run_load(s, LoadRequest(scn=SCN,
                                                                          requested_by="bench"))))
    assert report.rows == rows, report.summary()
    return {"rows": rows, "wall": wall, "cpu": cpu, "rows_per_second": rows / wall,
            "rows_per_cpu_second": rows / cpu}


def bench_compare(s: ApplySettings, rows: int) -> dict[str, float]:
    (report, _), wall, cpu = timed(lambda: run_compare(s, CompareRequest(requested_by="bench")))
    assert report.differences == 0 and report.tables[0].source_rows == rows, report.summary()
    return {"rows": rows, "wall": wall, "cpu": cpu, "rows_per_second": rows / wall,
            "rows_per_cpu_second": rows / cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--dsn", default=os.environ.get("DR_TEST_POSTGRES_DSN"))
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    schema = f"bench_src_{uuid.uuid4().hex[:6]}"
    build_source(args.dsn, schema, args.rows)
    results: dict[str, Any] = {"rows": args.rows, "machine": platform.processor() or
                               platform.machine(), "python": platform.python_version(),
                               "cpus": os.cpu_count(), "at": datetime.now(UTC).isoformat(),
                               "load_average": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        results["copy"] = copy_floor(args.dsn, schema, args.rows)
        for kind, parallel in (("postgresql", 1), ("postgresql", 2), ("sqlite", 1)):
            s = settings(args, schema, kind, parallel, tmp)
            results[f"load_{kind}_{parallel}"] = bench_load(s, args.rows)
            if parallel == 1:
                results[f"compare_{kind}"] = bench_compare(s, args.rows)
    copy = results["copy"]["rows_per_second"]
    print(f"rows: {args.rows:,}; COPY floor {copy:,.0f} rows/s")
    print("| run | wall s | CPU s (drapply) | rows/s | share of COPY | rows per CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        if not isinstance(r, dict):
            continue
        per_cpu = r.get("rows_per_cpu_second")
        print(f"| {name} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rows_per_second']:,.0f} | "
              f"{100 * r['rows_per_second'] / copy:.0f}% | "
              f"{'' if per_cpu is None else f'{per_cpu:,.0f}'} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
