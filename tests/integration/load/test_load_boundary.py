"""Load at an SCN while the source keeps writing, then apply what capture published: the
DR copy ends equal to the source, no transaction applied twice (the policy is ``stop``:
a repeated insert would stop the schema) or missed at the boundary; a SIGKILLed load
resumes without copying its finished chunks again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from drapply.adapters.rawsql import sql_session
from drapply.adapters.registry import open_target
from drapply.load.model import LoadRefused, LoadRequest
from drapply.load.runner import run_load
from drapply.oneshot import apply_once
from drcapture.synth.workload_result import BuiltWorkload

from tests.integration.apply.running import write_config
from tests.integration.load.conftest import SettingsFactory, run_capture, target_state
from tests.support.history import HistorySource
from tests.support.state import source_state

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _boundary_scn(built: BuiltWorkload) -> int:
    """A commit SCN about 40% in with transactions open across it (some begun before it
    and committed after it: capture must deliver them, the copy must not hold them)."""
    for tx in built.expected[len(built.expected) * 2 // 5 :]:
        scn = tx.commit_scn
        open_at = [t for t in built.expected if t.start_scn and t.start_scn <= scn < t.commit_scn]
        if len(open_at) >= 2:
            return scn
    raise AssertionError("the workload has no SCN with open transactions")


async def test_load_then_apply_meets_exactly_at_the_scn(
    workload: tuple[BuiltWorkload, Path], history: HistorySource, make_settings: SettingsFactory,
    target_kind: str, kafka_bootstrap: str, tmp_path: Path,
) -> None:  # fmt: skip
    built, redo = workload
    settings = make_settings(target_kind)
    scn = _boundary_scn(built)
    history.feed(built, upto_scn=scn)
    feeding = history.feed_in_background(built, pause=0.002)  # writes continue

    report = await run_load(settings, LoadRequest(scn=scn, requested_by="test"))

    open_at = [t for t in built.expected if t.start_scn and t.start_scn <= scn < t.commit_scn]
    assert report.scn == scn
    assert report.start_scn == min(t.start_scn or scn for t in open_at) < scn
    assert "no capture checkpoint yet" in report.capture_line
    assert sum(t.chunks for t in report.tables) > 4  # several chunks per table
    assert target_state(settings) == source_state(built, upto_scn=scn)
    assert set(report.seeded.values()) == {0}  # capture has not published yet

    feeding.join(60)
    assert history.scn == built.expected[-1].commit_scn
    run_capture(redo, kafka_bootstrap, settings.kafka.topic_prefix, tmp_path)  # from the start
    statuses = await apply_once(settings)
    for owner, status in statuses.items():
        assert status.error is None, status.error
        after = [t for t in built.expected if t.commit_scn > scn
                 and any(c.owner == owner for c in t.changes)]  # fmt: skip
        assert status.transactions == len(after), owner
    assert target_state(settings) == source_state(built)

    with pytest.raises(LoadRefused):  # capture is past it, and the target applies these
        await run_load(settings, LoadRequest(scn=None, requested_by="test"))


async def test_a_capture_already_past_the_start_point_is_refused(
    workload: tuple[BuiltWorkload, Path], history: HistorySource, make_settings: SettingsFactory,
    kafka_bootstrap: str, tmp_path: Path,
) -> None:  # fmt: skip
    built, redo = workload
    settings = make_settings("sqlite")
    run_capture(redo, kafka_bootstrap, settings.kafka.topic_prefix, tmp_path)
    scn = _boundary_scn(built)
    history.feed(built, upto_scn=scn)
    with pytest.raises(LoadRefused, match="capture's checkpoint is past the start point"):
        await run_load(settings, LoadRequest(scn=scn, requested_by="test"))


def _done_chunks(settings_dsn: str, control_schema: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(settings_dsn) as conn:
        found = conn.execute(
            "SELECT to_regclass(%s)", (f'"{control_schema}".load_chunk',)
        ).fetchone()
        if not found or found[0] is None:
            return 0, 0
        row = conn.execute(
            f"SELECT count(*) FILTER (WHERE state = 'done'), count(*) "
            f'FROM "{control_schema}".load_chunk'
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])


async def test_a_killed_load_resumes_without_copying_finished_chunks(
    workload: tuple[BuiltWorkload, Path], history: HistorySource, make_settings: SettingsFactory,
    tmp_path: Path,
) -> None:  # fmt: skip
    built, _redo = workload
    settings = make_settings("postgresql", load={"rows_per_chunk": 10, "parallel": 1,
                                                 "max_rows_per_second": 80.0})  # fmt: skip
    scn = _boundary_scn(built)
    history.feed(built, upto_scn=scn)
    config = write_config(settings, tmp_path / "apply.toml")
    dsn, control = settings.target.dsn, settings.target.control_schema
    assert dsn is not None
    log = (tmp_path / "load.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "drapply", "load", "--config", str(config), "--scn", str(scn),
         "--requested-by", "test"], stdout=log, stderr=log, env=dict(os.environ),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while _done_chunks(dsn, control)[0] < 3:
            assert proc.poll() is None, (tmp_path / "load.log").read_text()
            assert time.monotonic() < deadline, "the load made no progress"
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    done, planned = _done_chunks(dsn, control)
    assert 3 <= done < planned, (done, planned)

    fast = settings.model_copy(update={"load": settings.load.model_copy(
        update={"max_rows_per_second": 0.0})})  # fmt: skip
    report = await run_load(fast, LoadRequest(scn=None, requested_by="test"))
    assert report.resumed and report.scn == scn
    assert sum(t.chunks_done_before for t in report.tables) == done
    assert sum(t.chunks_copied for t in report.tables) == planned - done
    assert target_state(settings) == source_state(built, upto_scn=scn)
    admin = sql_session(open_target(settings.target).connect(admin=True))
    try:
        rows = admin.query(f'SELECT state FROM "{control}".load WHERE load_id = %s',
                           (report.load_id,))  # fmt: skip
    finally:
        admin.close()
    assert rows == [("done",)]
