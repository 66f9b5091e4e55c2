"""First synchronisation: with start_scn = the SCN the DR copy was loaded at, capture
publishes exactly the transactions committed after it — including one that began before
it (read from read_from_scn) — and nothing committed at or before it."""

from __future__ import annotations

from pathlib import Path

import pytest
from drcapture.service import CaptureService
from drcapture.settings import CaptureSettings
from drcapture.synth.workload import Commit, Insert, Step, Workload, row
from drcapture.synth.workload_build import build_workload
from drcommon.config import KafkaSettings, load_settings
from drcommon.topics import TopicNames

from tests.support.published import read_topic
from tests.support.workloads import TABLES

pytestmark = pytest.mark.kafka


async def test_only_commits_after_start_scn_are_published(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    steps = [Step(1, "spans", Insert("PERSON", row(ID="1", NAME="跨越")))]
    for n in range(2, 8):
        steps += [Step(1, f"t{n}", Insert("PERSON", row(ID=str(n)))), Step(1, f"t{n}", Commit())]
    steps.append(Step(1, "spans", Commit()))
    built = build_workload(Workload(tables=TABLES, steps=tuple(steps), db_name="SIPROD"))
    paths = built.write(tmp_path / "redo")
    cut = built.expected[2].commit_scn  # loaded at the third commit
    settings = load_settings(
        CaptureSettings,
        None,
        database="SIPROD",
        capture_id="sync",
        source={
            "mode": "files",
            "files": [str(p) for p in paths],
            "start_scn": cut,
            "read_from_scn": built.logs[0].header.first_scn,
        },
        dictionary={"kind": "snapshot", "path": str(tmp_path / "redo" / "dictionary.json")},
        filter={"include": ["SI.*"]},
        spill={"directory": str(tmp_path / "spill")},
        state_dir=str(tmp_path / "state"),
        kafka=kafka_settings.model_dump(),
    )
    service = CaptureService(settings, serve_http=False)
    await service.start()
    await service.wait()
    await service.stop()
    messages = await read_topic(
        kafka_settings, TopicNames(kafka_settings.topic_prefix, "SIPROD").schema("SI")
    )
    published = [(m.tx.xid, m.tx.commit_scn) for m in messages]
    expected = [(tx.xid, tx.commit_scn) for tx in built.expected if tx.commit_scn > cut]
    assert published == expected
    assert published[-1][0] == built.expected[-1].xid, "the one open at start_scn is whole"
    assert len(messages[-1].changes) == 1
