"""Issue 16, finding 6: the spill directory's disk fills up while capture spills large
transactions.

Before: ``OSError: [Errno 28] No space left on device`` at ``spill.py:81``, a raw
traceback, no path, no transaction, no retry, and a 2 MB spill file left behind at
100 % until the next start. Now it is a ``spill`` fault (``degraded``: capture keeps
serving and retries) naming the file, the transaction and the bytes needed, every
spill file of the failed attempt is removed at once, control raises
``alert.capture_degraded``, and when there is room again
capture goes on by itself; the topics end holding every transaction once, in order.

The disk is a 512 KiB tmpfs filled up by the test: mounting needs root (or
CAP_SYS_ADMIN); elsewhere the test skips, and the unit tests in
``tests/unit/capture/test_spill.py`` show the same on ``/dev/full`` without privileges.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from drcapture.service import CaptureService
from drcapture.synth.workload_build import build_workload
from drcommon.config import KafkaSettings
from drcommon.topics import TopicNames

from tests.faults.rig import TOKEN, alerted, capture_settings, control_watching, until
from tests.support.published import expected_per_schema, read_topic, reassemble
from tests.support.workloads import random_workload

pytestmark = pytest.mark.kafka


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs for the spill directory needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs",
                           str(mount)], capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    """A file taking all but ``leave`` bytes of the disk."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, free - leave))
    return filler


async def test_spill_disk_full_is_named_cleaned_up_and_retried(
    kafka_settings: KafkaSettings, small_disk: Path, tmp_path: Path
) -> None:
    built = build_workload(random_workload(1606, transactions=240, threads=2, switch_every=25,
                                           concurrency=8))  # fmt: skip
    staging = tmp_path / "staging"
    paths = built.write(staging)
    archive = tmp_path / "archive"
    archive.mkdir()
    for path in paths:
        shutil.copy(path, archive / path.name)
    spill = small_disk / "spill"
    settings = capture_settings(kafka_settings, staging, [archive], tmp_path, 2,
                                spill={"directory": str(spill), "threshold_bytes": 1500})
    filler = _fill(small_disk, leave=8 * 1024)
    names = TopicNames(kafka_settings.topic_prefix, "SIPROD")
    service = CaptureService(settings)
    await service.start()
    try:
        assert service.http_url is not None
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            control_watching(tmp_path, kafka_settings.bootstrap_servers,
                             capture=service.http_url) as hook,
            httpx.AsyncClient(base_url=service.http_url, headers=auth) as client,
        ):  # fmt: skip

            async def status() -> dict[str, Any]:
                return dict((await client.get("/api/v1/status")).json())

            def full_and_clean(s: dict[str, Any]) -> bool:
                spilling = [f for f in s["faults"] if f["part"] == "spill"]
                return bool(spilling) and not list(spill.rglob("*.spill"))

            seen = await until(status, full_and_clean, 60, "a spill fault, the disk cleaned")
            assert seen["health"] == "degraded" and seen["state"] == "running"
            (fault,) = [f for f in seen["faults"] if f["part"] == "spill"]
            facts = fault["facts"]
            assert facts["path"].startswith(str(spill)) and facts["path"].endswith(".spill")
            assert facts["xid"] and facts["needed_bytes"] > 0 and facts["free_bytes"] < 16384
            assert "No space left on device" in fault["error"] + facts["error"]
            assert (await client.get("/health")).json()["status"] == "degraded"
            again = await until(status, lambda s: any(
                f["part"] == "spill" and f["attempts"] >= 2 for f in s["faults"]), 30,
                "retried")  # fmt: skip
            assert again["state"] == "running"
            await alerted(hook, "alert.capture_degraded", ["firing"])

            filler.unlink()  # room again: capture goes on by itself
            await until(status, lambda s: s["health"] == "ok"
                        and s["transactions_published"] >= len(built.expected), 120,
                        "everything published")  # fmt: skip
            await alerted(hook, "alert.capture_degraded", ["firing", "resolved"])
    finally:
        await service.stop()
    for owner in ("SI", "HIS"):
        got = reassemble(await read_topic(kafka_settings, names.schema(owner)))
        assert got == expected_per_schema(built, owner), f"{owner}: each once, in order, exact"
