"""The walking skeleton, through the real command-line programs: real Oracle 23 Free redo
-> drcapture -> Kafka (transactional) -> drapply -> SQLite and PostgreSQL.

The target must hold exactly the row (1, 'hello world') in OLR_TEST.TEST_CDC, and running
the whole pipeline a second time must still leave exactly one row.
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

pytestmark = [pytest.mark.kafka]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env(fixtures: Path, bootstrap: str, prefix: str, extra: dict[str, str]) -> dict[str, str]:
    free23 = fixtures / "free23-insert"
    files = [str(free23 / "arch1_15_1224959854.dbf"), str(free23 / "arch1_16_1224959854.dbf")]
    env = dict(os.environ)
    env.update(
        {
            "DRCAPTURE__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "DRCAPTURE__KAFKA__TOPIC_PREFIX": prefix,
            "DRCAPTURE__DICTIONARY__PATH": str(free23 / "olr-checkpoint-2266634.json"),
            "DRCAPTURE__SOURCE__FILES": json.dumps(files),
            "DRAPPLY__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "DRAPPLY__KAFKA__TOPIC_PREFIX": prefix,
            **extra,
        }
    )
    return env


def _pipeline(env: dict[str, str], cwd: Path) -> str:
    capture = subprocess.run(
        [
            str(BIN / "drcapture"),
            "run",
            "--config",
            str(ROOT / "deploy/examples/demo-capture.toml"),
        ],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert capture.returncode == 0, capture.stderr
    apply = subprocess.run(
        [str(BIN / "drapply"), "once", "--config", str(ROOT / "deploy/examples/demo-apply.toml")],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert apply.returncode == 0, apply.stderr
    return capture.stdout + apply.stdout


def test_fixture_row_reaches_sqlite_exactly_once(
    redo_fixtures: Path, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    env = _env(
        redo_fixtures,
        kafka_bootstrap,
        f"e2e{unique}",
        {
            "DRAPPLY__TARGET__PATH": str(tmp_path / "dr.sqlite"),
            "DRCAPTURE__SPILL__DIRECTORY": str(tmp_path / "spill"),
        },
    )
    first = _pipeline(env, tmp_path)
    assert "published 1 transaction(s), 1 change(s)" in first
    assert "OLR_TEST: 1 transaction(s), 1 row(s) applied" in first
    second = _pipeline(env, tmp_path)
    assert "published 0 transaction(s)" in second
    assert "OLR_TEST: 0 transaction(s), 0 row(s) applied" in second

    db = sqlite3.connect(tmp_path / "dr.OLR_TEST.sqlite")
    assert db.execute('SELECT "ID", "NAME" FROM "TEST_CDC"').fetchall() == [(1, "hello world")]


@pytest.mark.postgres
def test_fixture_row_reaches_postgresql_exactly_once(
    redo_fixtures: Path, kafka_bootstrap: str, postgres_dsn: str, unique: str, tmp_path: Path
) -> None:
    schema = f"olr_test_{unique}"
    env = _env(
        redo_fixtures,
        kafka_bootstrap,
        f"e2e{unique}",
        {
            "DRAPPLY__TARGET__KIND": "postgresql",
            "DRAPPLY__TARGET__DSN": postgres_dsn,
            "DRAPPLY__RENAMES__SCHEMAS": json.dumps({"OLR_TEST": schema}),
            "DRCAPTURE__SPILL__DIRECTORY": str(tmp_path / "spill"),
        },
    )
    _pipeline(env, tmp_path)
    _pipeline(env, tmp_path)
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute(f'SELECT id, name FROM "{schema}".test_cdc').fetchall()
    assert [(int(i), n) for i, n in rows] == [(1, "hello world")]
