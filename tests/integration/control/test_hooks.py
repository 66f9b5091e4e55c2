"""Promotion hooks against a real PostgreSQL standing in for the DR database: a drill
simulates them (rolled back), a failover runs them once (sequence resynchronised, jobs
enabled), and a second run for the same operation is a no-op."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from drcontrol.adapters.postgres_db import PostgresDrDatabase
from drcontrol.settings import DrDatabaseSettings, SqlHook
from pydantic import SecretStr

from tests.integration.control.conftest import team_with
from tests.integration.control.operations_helpers import run_to_end
from tests.integration.control.peers.standins import StandIns


@pytest.fixture
def dr_schema(postgres_dsn: str) -> Iterator[str]:
    schema = f"dr_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.cases (id BIGINT PRIMARY KEY)")
        conn.execute(f"INSERT INTO {schema}.cases SELECT generate_series(1, 42)")
        conn.execute(f"CREATE SEQUENCE {schema}.cases_seq")
        conn.execute(f"CREATE TABLE {schema}.jobs (name TEXT, enabled BOOLEAN)")
        conn.execute(f"INSERT INTO {schema}.jobs VALUES ('nightly_settlement', false)")
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.execute("DELETE FROM public.dr_control_hooks WHERE hook = %s", (f"{schema}-promo",))


def observe(dsn: str, schema: str) -> tuple[int, bool, int]:
    with psycopg.connect(dsn) as conn:
        last = conn.execute(f"SELECT last_value FROM {schema}.cases_seq").fetchone()
        job = conn.execute(f"SELECT enabled FROM {schema}.jobs").fetchone()
        marks = conn.execute("SELECT count(*) FROM public.dr_control_hooks WHERE hook = %s",
                             (f"{schema}-promo",)).fetchone()
    assert last and job and marks
    return int(last[0]), bool(job[0]), int(marks[0])


async def test_promotion_hooks_simulated_in_drill_and_run_once_in_failover(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str, postgres_dsn: str,
        dr_schema: str) -> None:
    hook = {"name": f"{dr_schema}-promo",
            "statements": [f"UPDATE {dr_schema}.jobs SET enabled = true"],
            "sequences": [{"sequence": f"{dr_schema}.cases_seq", "table": f"{dr_schema}.cases",
                           "column": "id", "gap": 100}]}
    extra = {"dr_database": {"kind": "postgresql", "dsn": postgres_dsn},
             "hooks": {"promotion": [hook]}}
    async with team_with(tmp_path, standins, kafka_bootstrap, **extra) as team:
        drill = await run_to_end(team, "drill", drill_of="failover")
        assert drill["state"] == "succeeded", drill["outcome"]
        assert observe(postgres_dsn, dr_schema) == (1, False, 0)
        steps = (await team.viewer.client.get(f"/api/v1/executions/{drill['id']}")).json()
        hooks_step = next(s for s in steps["steps"] if s["id"] == "promotion_hooks")
        assert hooks_step["state"] == "simulated"
        assert hooks_step["output"]["hooks"][0]["sequences"] == {f"{dr_schema}.cases_seq": 142}

        failover = await run_to_end(team, "failover")
        assert failover["state"] == "succeeded", failover["outcome"]
        assert observe(postgres_dsn, dr_schema) == (142, True, 1)
        checks = {c["name"]: c for c in failover["evidence"]["checks"]}
        assert checks["dr_database_reachable"]["ok"] and checks["dr_database_reachable"][
            "required"]

    database = PostgresDrDatabase(DrDatabaseSettings(kind="postgresql",
                                                     dsn=SecretStr(postgres_dsn)))
    again = await database.run_hook(SqlHook.model_validate(hook), str(failover["id"]),
                                    simulate=False)
    assert again == {"hook": f"{dr_schema}-promo", "already_done": True}
    assert observe(postgres_dsn, dr_schema) == (142, True, 1)
