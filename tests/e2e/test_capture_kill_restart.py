"""capture killed with SIGKILL at random points under load, and restarted: afterwards the
schema topics hold every committed transaction exactly once, in commit order, with
exactly the values the source wrote.

Load: a seeded 4-thread RAC workload (two schemas, Chinese text, rollbacks, partial
rollbacks, multi-row operations, transactions across log switches) written as real
Oracle-format archived logs by our redo writer, and "archived" into capture's directory
a few at a time while capture runs, in the order Oracle would archive them.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from drcapture.checkpoints import load_checkpoint
from drcapture.synth.workload_build import build_workload
from drcommon.config import KafkaSettings
from drcommon.topics import TopicNames

from tests.support.published import (
    capture_config,
    expected_per_schema,
    last_published,
    read_topic,
    reassemble,
)
from tests.support.workloads import random_workload

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DRCAPTURE = Path(sys.executable).parent / "drcapture"


def _config(tmp: Path, archive: Path, built_dir: Path) -> Path:
    return capture_config(
        tmp,
        "killtest",
        {
            "source": {
                "mode": "archive",
                "archive_dirs": [str(archive)],
                "archive_pattern": "*.arc",
                "poll_interval": 0.05,
                "idle_thread_grace": 0.3,
                "archive_idle_timeout": 600.0,
            },
            "dictionary": {"kind": "snapshot", "path": str(built_dir / "dictionary.json")},
            "filter": {"include": ["SI.*", "HIS.*"]},
            "publish": {
                "max_batch_transactions": 7,
                "max_batch_seconds": 0.02,
                "max_changes_per_message": 3,
                "watermark_interval": 0.2,
            },
            "spill": {"directory": str(tmp / "spill"), "threshold_bytes": 2000},
            "http": {"port": 0},
            "logging": {"format": "text", "level": "WARNING"},
        },
        threads=4,
        database="SIPROD",
        state_dir=str(tmp / "state"),
    )


async def _last_published(kafka: KafkaSettings, names: TopicNames) -> object:
    return await last_published(kafka, names, "killtest")


async def _wait_change(
    kafka: KafkaSettings, names: TopicNames, before: object, seconds: float
) -> bool:
    """True when nothing new was published within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await _last_published(kafka, names) != before:
            return False
        await asyncio.sleep(0.05)
    return True


def _tail(tmp: Path) -> str:
    return (tmp / "capture.log").read_text()[-3000:]


async def test_sigkill_under_load_publishes_each_transaction_once_in_order(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    seed = int(os.environ.get("DR_TEST_SEED", "20261125"))
    rnd = random.Random(seed)
    built = build_workload(random_workload(seed, transactions=260, threads=4, switch_every=12))
    staging, archive = tmp_path / "staging", tmp_path / "archive"
    archive.mkdir()
    paths = built.write(staging)
    order = sorted(
        zip(built.logs, paths, strict=True),
        key=lambda item: (item[0].header.next_scn, item[0].thread),
    )
    config = _config(tmp_path, archive, staging)
    env = dict(
        os.environ,
        DRCAPTURE__KAFKA__BOOTSTRAP_SERVERS=kafka_settings.bootstrap_servers,
        DRCAPTURE__KAFKA__TOPIC_PREFIX=kafka_settings.topic_prefix,
    )
    log_file = (tmp_path / "capture.log").open("w")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(DRCAPTURE), "run", "--config", str(config)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )

    names = TopicNames(kafka_settings.topic_prefix, "SIPROD")
    pending = list(order)
    kills = 0
    published_before_kill: list[object] = []
    process = start()
    try:
        while kills < 6 and pending:
            before = await _last_published(kafka_settings, names)
            # Archive logs one by one, in Oracle's order, until capture publishes
            # something new; then kill it while it works.
            while await _wait_change(kafka_settings, names, before, 1.0 if pending else 20.0):
                assert pending, "capture published nothing after the last log: " + _tail(tmp_path)
                shutil.copy(pending.pop(0)[1], archive)
            await asyncio.sleep(rnd.uniform(0.0, 0.15))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            published_before_kill.append(await _last_published(kafka_settings, names))
            kills += 1
            process = start()
        for _, path in pending:
            shutil.copy(path, archive)
        final = built.expected[-1]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            checkpoint = await load_checkpoint(kafka_settings, names.checkpoints, "killtest")
            if (
                checkpoint
                and checkpoint.last_published
                and checkpoint.last_published[0] >= final.commit_scn
            ):
                break
            assert process.poll() is None, _tail(tmp_path)
            await asyncio.sleep(0.5)
        else:
            pytest.fail(
                "capture did not catch up: " + (tmp_path / "capture.log").read_text()[-3000:]
            )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log_file.close()

    for owner in ("SI", "HIS"):
        got = reassemble(await read_topic(kafka_settings, names.schema(owner)))
        want = expected_per_schema(built, owner)
        assert [x for x, _ in got] == [x for x, _ in want], f"{owner}: order or duplicates"
        assert got == want, f"{owner}: values differ"
    assert len(set(map(str, published_before_kill))) == kills, "each kill hit a new position"
    summary = json.dumps({"seed": seed, "kills": kills, "transactions": len(built.expected)})
    print(summary)
