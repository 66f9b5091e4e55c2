"""SIGKILL of a ``drapply run`` applying with ``apply.parallel = 4`` while several of its
lanes hold written, uncommitted groups (seen in ``pg_stat_activity``), then restart:
the target ends equal to the source row by row (a table without a key included, where
a group applied twice would leave duplicate rows; the default ``stop`` policy would stop
on a keyed row inserted twice), and the checkpoint ends at the last transaction."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import psycopg
import pytest
from drapply.wiring import topic_names

from tests.integration.apply.conftest import SettingsFactory, assert_same, read_table
from tests.integration.apply.running import ApplyProcess, free_port, wait_for, write_config
from tests.integration.apply.synth import Publisher, SourceTx
from tests.integration.apply.test_crash import _applied
from tests.integration.apply.test_parallel import KEYED, KEYLESS, Overlapping

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

TABLES = (*KEYED, KEYLESS)


def _writing(dsn: str) -> int:
    """Transactions of other sessions that have written and not yet ended."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
            "AND pid <> pg_backend_pid() AND datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


async def test_sigkill_inside_parallel_groups_loses_and_doubles_nothing(
    make_settings: SettingsFactory, unique: str, tmp_path: Path
) -> None:
    settings = make_settings(
        "postgresql",
        apply={"parallel": 4, "max_group_transactions": 3, "session_timeout_ms": 6000,
               "heartbeat_interval_ms": 1000},
    )  # fmt: skip
    dsn = settings.target.dsn
    assert dsn is not None
    owner = f"Q{unique[:6].upper()}"
    source = Overlapping([owner], tables=TABLES, seed=11)
    source.keys = 400  # overlapping now and then, mostly disjoint: lanes busy together
    publisher = Publisher(settings.kafka, topic_names(settings), f"pk-{unique}")
    await publisher.start([owner])
    published: list[SourceTx] = []
    rng = random.Random(13)
    for _ in range(60):
        # One transaction in 25 writes the table without a key (it claims that table whole).
        txs = [source.overlapping(owner, rng.randint(1, 8),
                                  (KEYLESS,) if rng.random() < 0.04 else KEYED, True)
               for _ in range(100)]  # fmt: skip
        await publisher.publish(txs, max_changes=1000, watermark=([owner], source.scn))
        published.extend(txs)
    await publisher.stop()
    config = write_config(settings, tmp_path / "apply.toml")
    proc = ApplyProcess(config, free_port(), tmp_path / "apply.log")
    kills = 0
    try:
        for _ in range(3):
            proc.start()

            async def inside_groups() -> bool:
                return await asyncio.to_thread(_writing, dsn) >= 2

            if not await _poll(inside_groups, 60):
                break  # all applied before two lanes were caught writing
            proc.kill()
            kills += 1
        proc.start()
        await wait_for(lambda: _applied(settings, published, [owner]), 240, "all applied")
        await wait_for(proc.status, 30, "apply process up")
        status = await proc.status()
        assert status is not None and status["schemas"][owner]["parallel"] == 4
        assert proc.terminate() == 0, (tmp_path / "apply.log").read_text()[-3000:]
    finally:
        proc.kill()
    assert kills >= 2, "the kills never caught two lanes inside their groups"
    for table in TABLES:
        assert_same(source.state[(owner, table)], read_table(settings, owner, table), table)
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            f'SELECT commit_scn FROM "{settings.target.control_schema}".checkpoint '
            "WHERE topic = %s", (topic_names(settings).schema(owner),),
        ).fetchone()  # fmt: skip
    assert row is not None and int(row[0]) == published[-1].info.commit_scn


async def _poll(check: object, seconds: float) -> bool:
    """Poll ``check`` every 20 ms until it holds (True) or time runs out (False)."""
    assert callable(check)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.02)
    return False
