"""The whole data path on a realistic load: a 4-thread RAC workload in real Oracle redo
format -> drcapture -> Kafka -> drapply -> PostgreSQL and SQLite. The DR tables must
equal the source tables exactly (every row, every value), as computed independently
from the workload's committed transactions.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from drcapture.synth.workload_build import build_workload
from drcapture.synth.workload_result import BuiltWorkload

from tests.support.state import COLUMNS, canonical, source_state
from tests.support.workloads import random_workload

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

BIN = Path(sys.executable).parent
def _run(args: list[str], env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltWorkload, Path]:
    built = build_workload(random_workload(4242, transactions=300, threads=4, switch_every=25))
    directory = tmp_path_factory.mktemp("redo")
    built.write(directory)
    return built, directory


def _capture(built_dir: Path, bootstrap: str, prefix: str, tmp: Path) -> dict[str, str]:
    logs = sorted(str(p) for p in built_dir.glob("*.arc"))
    env = dict(
        os.environ,
        **{
            "DRCAPTURE__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "DRCAPTURE__KAFKA__TOPIC_PREFIX": prefix,
            "DRCAPTURE__DATABASE": "SIPROD",
            "DRCAPTURE__DICTIONARY__KIND": "snapshot",
            "DRCAPTURE__DICTIONARY__PATH": str(built_dir / "dictionary.json"),
            "DRCAPTURE__SOURCE__FILES": json.dumps(logs),
            "DRCAPTURE__FILTER__INCLUDE": json.dumps(["SI.*", "HIS.*"]),
            "DRCAPTURE__SPILL__DIRECTORY": str(tmp / "spill"),
            "DRCAPTURE__STATE_DIR": str(tmp / "state"),
            "DRAPPLY__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "DRAPPLY__KAFKA__TOPIC_PREFIX": prefix,
            "DRAPPLY__SOURCE__DATABASE": "SIPROD",
            "DRAPPLY__SOURCE__SCHEMAS": json.dumps(["SI", "HIS"]),
        },
    )
    root = Path(__file__).resolve().parents[2]
    _run(
        [
            str(BIN / "drcapture"),
            "run",
            "--config",
            str(root / "deploy/examples/demo-capture.toml"),
        ],
        env,
        tmp,
    )
    return env


def test_postgres_equals_source(
    workload: tuple[BuiltWorkload, Path],
    kafka_bootstrap: str,
    postgres_dsn: str,
    unique: str,
    tmp_path: Path,
) -> None:
    built, directory = workload
    env = _capture(directory, kafka_bootstrap, f"pipe{unique}", tmp_path)
    renames = {"SI": f"si_{unique}", "HIS": f"his_{unique}"}
    env.update(
        {
            "DRAPPLY__TARGET__KIND": "postgresql",
            "DRAPPLY__TARGET__DSN": postgres_dsn,
            "DRAPPLY__RENAMES__SCHEMAS": json.dumps(renames),
            "DRAPPLY__APPLY__GROUP_ID": f"pipe{unique}",
        }
    )
    root = Path(__file__).resolve().parents[2]
    _run(
        [str(BIN / "drapply"), "once", "--config", str(root / "deploy/examples/demo-apply.toml")],
        env,
        tmp_path,
    )

    expected = source_state(built)
    with psycopg.connect(postgres_dsn) as conn:
        for (owner, table), columns in COLUMNS.items():
            cols = ", ".join(c.lower() for c in columns)
            rows = conn.execute(f'SELECT {cols} FROM "{renames[owner]}".{table.lower()}').fetchall()
            got = {canonical(r[0]): tuple(canonical(v) for v in r) for r in rows}
            assert got == expected[(owner, table)], f"{owner}.{table} differs from the source"
    assert sum(len(v) for v in expected.values()) > 100


def test_sqlite_equals_source(
    workload: tuple[BuiltWorkload, Path],
    kafka_bootstrap: str,
    unique: str,
    tmp_path: Path,
) -> None:
    built, directory = workload
    env = _capture(directory, kafka_bootstrap, f"pipe{unique}", tmp_path)
    env.update(
        {
            "DRAPPLY__TARGET__PATH": str(tmp_path / "dr.sqlite"),
            "DRAPPLY__APPLY__GROUP_ID": f"pipe{unique}",
        }
    )
    root = Path(__file__).resolve().parents[2]
    _run(
        [str(BIN / "drapply"), "once", "--config", str(root / "deploy/examples/demo-apply.toml")],
        env,
        tmp_path,
    )

    expected = source_state(built)
    for (owner, table), columns in COLUMNS.items():
        db = sqlite3.connect(tmp_path / f"dr.{owner}.sqlite")
        cols = ", ".join(f'"{c}"' for c in columns)
        rows = db.execute(f'SELECT {cols} FROM "{table}"').fetchall()
        got = {canonical(r[0]): tuple(canonical(v) for v in r) for r in rows}
        assert got == expected[(owner, table)], f"{owner}.{table} differs from the source"
