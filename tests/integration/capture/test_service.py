"""The capture service in archive mode on the real broker: it publishes the fixture's
transaction, keeps following, reports status over its authenticated API, and warns
when the log it still needs sits at the archive's retention edge."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from drcapture.service import CaptureService
from drcapture.settings import CaptureSettings
from drcommon.config import KafkaSettings, load_settings

pytestmark = pytest.mark.kafka

TOKEN = "capture-test-token-0123456789"


def _settings(kafka: KafkaSettings, archive: Path, fixtures: Path, state: Path) -> CaptureSettings:
    free23 = fixtures / "free23-insert"
    return load_settings(
        CaptureSettings,
        None,
        database="FREE",
        capture_id="svc",
        source={
            "mode": "archive",
            "archive_dirs": [str(archive)],
            "archive_pattern": "*.dbf",
            "poll_interval": 0.05,
            "idle_thread_grace": 0.2,
        },
        dictionary={"kind": "olr", "path": str(free23 / "olr-checkpoint-2266634.json")},
        filter={"include": ["OLR_TEST.*"]},
        publish={"max_batch_seconds": 0.05, "watermark_interval": 0.1},
        spill={"directory": str(state / "spill")},
        kafka=kafka.model_dump(),
        http={"port": 0, "service_token": TOKEN},
    )


async def test_archive_mode_status_and_retention_warning(
    kafka_settings: KafkaSettings,
    redo_fixtures: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    shutil.copy(redo_fixtures / "free23-insert" / "arch1_15_1224959854.dbf", archive)
    service = CaptureService(_settings(kafka_settings, archive, redo_fixtures, tmp_path))
    caplog.set_level(logging.WARNING, logger="drcapture.pipeline")
    await service.start()
    try:
        assert service.http_url is not None
        async with httpx.AsyncClient(base_url=service.http_url) as client:
            assert (await client.get("/api/v1/status")).status_code == 401
            auth = {"Authorization": f"Bearer {TOKEN}"}
            status: dict[str, object] = {}
            for _ in range(200):  # caught_up follows the publish by one look at the archive
                status = (await client.get("/api/v1/status", headers=auth)).json()
                threads: Any = status["threads"]
                if status["transactions_published"] == 1 and threads["1"]["caught_up"]:
                    break
                await asyncio.sleep(0.05)
            assert status["state"] == "running"
            assert status["transactions_published"] == 1
            assert status["last_published"]["xid"] == "10.12.572"  # type: ignore[index]
            thread = status["threads"]["1"]  # type: ignore[index]
            assert thread["sequence"] == 15 and thread["caught_up"]
            assert (await client.get("/health")).json()["status"] == "ok"
            metrics = (await client.get("/metrics")).text
            assert "dr_capture_transactions_published_total 1.0" in metrics
        assert any("retention edge" in r.getMessage() for r in caplog.records)

        # The next log appears: capture moves on to it without being told.
        shutil.copy(redo_fixtures / "free23-insert" / "arch1_16_1224959854.dbf", archive)
        for _ in range(200):
            if service.status()["threads"]["1"]["sequence"] == 16:
                break
            await asyncio.sleep(0.05)
        assert service.status()["threads"]["1"]["sequence"] == 16
    finally:
        await service.stop()


async def test_fence_publishes_everything_read_and_reports_final_scn(
    kafka_settings: KafkaSettings, redo_fixtures: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    for name in ("arch1_15_1224959854.dbf", "arch1_16_1224959854.dbf"):
        shutil.copy(redo_fixtures / "free23-insert" / name, archive)
    settings = _settings(kafka_settings, archive, redo_fixtures, tmp_path)
    # A thread that only shows archived logs would hold commits back for long; the
    # fence must release them anyway.
    settings = settings.model_copy(
        update={"source": settings.source.model_copy(update={"archive_idle_timeout": 3600.0})}
    )
    service = CaptureService(settings)
    await service.start()
    try:
        assert service.http_url is not None
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=service.http_url, headers=auth) as client:
            first = (await client.post("/api/v1/fence")).json()
            assert first["state"] in ("fencing", "fenced")
            status: dict[str, object] = {}
            for _ in range(200):
                status = (await client.get("/api/v1/status")).json()
                if status["final_scn"] is not None:
                    break
                await asyncio.sleep(0.05)
            assert status["state"] == "fenced"
            assert status["final_scn"] == 2267722  # the last log's next SCN - 1
            # Read from archived logs only: the instance's online redo was not, so the final
            # SCN does not vouch for it (control refuses to claim zero loss on it).
            assert status["final_complete"] is False
            assert status["fence_unread_threads"] == [1]
            assert status["transactions_published"] == 1
            again = (await client.post("/api/v1/fence")).json()
            assert again == {"state": "fenced", "final_scn": 2267722}
            assert (await client.get("/health")).status_code == 200
    finally:
        await service.stop()
