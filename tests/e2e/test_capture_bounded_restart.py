"""A long-open transaction does not pin capture's restart position.

Thread 1 opens a transaction, writes to it across many log switches while other
transactions commit on two threads, and commits at the very end. capture is killed
after it saved the open transactions; the logs before the saved position are then
deleted from the archive (as a retention job would). The restarted capture must not
need them, and must still publish the long transaction whole, once, in order.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from drcapture.checkpoints import load_checkpoint
from drcapture.synth.workload import Commit, Insert, LogSwitch, Step, Update, Workload, row
from drcapture.synth.workload_build import build_workload
from drcommon.config import KafkaSettings
from drcommon.topics import TopicNames

from tests.support.published import capture_config, expected_per_schema, read_topic, reassemble
from tests.support.workloads import TABLES

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

DRCAPTURE = Path(sys.executable).parent / "drcapture"


def _workload() -> Workload:
    steps: list[Step] = [Step(1, "long", Insert("PERSON", row(ID="1", NAME="长事务")))]
    key = 100
    for round_ in range(12):
        for thread in (1, 2):
            label = f"s{round_}-{thread}"
            steps.append(Step(thread, label, Insert("VISIT", row(ID=str(key), FEE="1.5"))))
            steps.append(Step(thread, label, Commit()))
            key += 1
        steps.append(
            Step(1, "long", Insert("PERSON", row(ID=str(2 + round_), NAME=f"第{round_}批")))
        )
        steps.append(Step(1, "-", LogSwitch()))
        steps.append(Step(2, "-", LogSwitch()))
    steps.append(Step(1, "long", Update("PERSON", row(ID="1"), row(NAME="完成"))))
    steps.append(Step(1, "long", Commit()))
    return Workload(tables=TABLES, steps=tuple(steps), db_name="SIPROD")


def _config(tmp: Path, archive: Path, dictionary: Path) -> Path:
    return capture_config(
        tmp,
        "bounded",
        {
            "source": {
                "mode": "archive",
                "archive_dirs": [str(archive)],
                "archive_pattern": "*.arc",
                "poll_interval": 0.05,
                "archive_idle_timeout": 600,
            },
            "dictionary": {"kind": "snapshot", "path": str(dictionary)},
            "filter": {"include": ["SI.*", "HIS.*"]},
            "publish": {"max_batch_seconds": 0.02, "watermark_interval": 0.1},
            # Longer than capture takes to read and publish everything: the open
            # transactions are then saved while the source is idle, not on a publish.
            "restart": {"persist_interval": 1.0},
            "spill": {"directory": str(tmp / "spill")},
            "http": {"port": 0},
            "logging": {"format": "text", "level": "WARNING"},
        },
        threads=2,
        database="SIPROD",
        state_dir=str(tmp / "state"),
    )


async def test_long_transaction_does_not_pin_restart(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    built = build_workload(_workload())
    staging, archive = tmp_path / "staging", tmp_path / "archive"
    archive.mkdir()
    paths = dict(
        zip(((log.thread, log.sequence) for log in built.logs), built.write(staging), strict=True)
    )
    last_seq = max(s for t, s in paths if t == 1)
    first_phase = [k for k in paths if not (k[0] == 1 and k[1] == last_seq)]
    for key in first_phase:
        os.link(paths[key], archive / paths[key].name)
    config = _config(tmp_path, archive, staging / "dictionary.json")
    env = dict(
        os.environ,
        DRCAPTURE__KAFKA__BOOTSTRAP_SERVERS=kafka_settings.bootstrap_servers,
        DRCAPTURE__KAFKA__TOPIC_PREFIX=kafka_settings.topic_prefix,
    )
    names = TopicNames(kafka_settings.topic_prefix, "SIPROD")
    short_commits = [tx for tx in built.expected if tx.xid != built.expected[-1].xid]
    with (tmp_path / "capture.log").open("w") as log_file:
        process = subprocess.Popen(
            [str(DRCAPTURE), "run", "--config", str(config)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                checkpoint = await load_checkpoint(kafka_settings, names.checkpoints, "bounded")
                if (
                    checkpoint
                    and checkpoint.open_transactions_ref
                    and checkpoint.last_published
                    and checkpoint.last_published[0] >= short_commits[-1].commit_scn
                ):
                    break
                assert time.monotonic() < deadline, (tmp_path / "capture.log").read_text()
                await asyncio.sleep(0.1)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)

        saved_from = {t: p.sequence for t, p in checkpoint.threads.items()}
        assert saved_from[1] > 1, "the saved position is past the long transaction's first log"
        assert checkpoint.fallback_threads is not None
        assert checkpoint.fallback_threads[1].sequence == 1, "classically pinned at log 1"
        removed = 0
        for (thread, sequence), path in paths.items():
            if (thread, sequence) in first_phase and sequence < saved_from[thread]:
                (archive / path.name).unlink()
                removed += 1
        assert removed >= 2
        os.link(paths[(1, last_seq)], archive / paths[(1, last_seq)].name)

        process = subprocess.Popen(
            [str(DRCAPTURE), "run", "--config", str(config)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            final = built.expected[-1]
            deadline = time.monotonic() + 60
            while True:
                checkpoint = await load_checkpoint(kafka_settings, names.checkpoints, "bounded")
                if (
                    checkpoint
                    and checkpoint.last_published
                    and checkpoint.last_published[0] >= final.commit_scn
                ):
                    break
                assert process.poll() is None, (tmp_path / "capture.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "capture.log").read_text()
                await asyncio.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)

    for owner in ("SI", "HIS"):
        got = reassemble(await read_topic(kafka_settings, names.schema(owner)))
        assert got == expected_per_schema(built, owner), owner
    long_tx = reassemble(await read_topic(kafka_settings, names.schema("SI")))[-1]
    assert len(long_tx[1]) == 14, "the long transaction arrives whole: 13 inserts, 1 update"
