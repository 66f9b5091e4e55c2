"""Issue 16, findings 1 and 2: the Kafka broker SIGKILLed while capture publishes and
apply consumes, down for longer than the 12 s after which apply used to exit.

Before: apply exited (``KafkaError: Unable to get cluster metadata``, exit 1) and
capture said ``running``/``ok`` for the whole outage. Now apply stays up and both say
``degraded`` with a ``kafka`` fault (since when, the last error) within a few seconds,
control raises ``alert.capture_degraded`` and ``alert.apply_degraded``, capture's lag
grows; when the broker is back both resume by themselves, the alerts resolve, and the
DR tables equal the source, every transaction once and in order on the topics.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from drcapture.service import CaptureService
from drcapture.synth.workload_build import build_workload
from drcommon.config import KafkaSettings
from drcommon.topics import TopicNames
from drcontrol.service import ControlService

from tests.faults.conftest import PrivateKafka, free_port
from tests.faults.rig import (
    TOKEN,
    alert_states,
    apply_settings,
    capture_settings,
    control_settings,
    renames,
    until,
)
from tests.integration.apply.running import ApplyProcess, write_config
from tests.integration.control.receivers import WebhookReceiver
from tests.support.published import expected_per_schema, read_topic, reassemble
from tests.support.state import postgres_state, source_state
from tests.support.workloads import random_workload

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
OUTAGE = 20.0  # seconds the broker stays down: longer than apply used to survive


async def test_broker_sigkill_during_publish_and_consume(
    private_kafka: PrivateKafka, postgres_dsn: str, tmp_path: Path
) -> None:
    unique = uuid.uuid4().hex[:8]
    built = build_workload(random_workload(1602, transactions=360, threads=4, switch_every=20))
    staging, archive = tmp_path / "staging", tmp_path / "archive"
    archive.mkdir()
    paths = built.write(staging)
    order = [p for _, p in sorted(zip(built.logs, paths, strict=True),
                                  key=lambda item: (item[0].header.next_scn, item[0].thread))]
    kafka = KafkaSettings(bootstrap_servers=private_kafka.bootstrap, topic_prefix=f"o{unique}",
                          request_timeout_ms=10000)  # fmt: skip
    names = TopicNames(kafka.topic_prefix, "SIPROD")

    def archive_logs(upto: int) -> None:
        for path in order[:upto]:
            if not (archive / path.name).exists():
                shutil.copy(path, archive / path.name)

    archive_logs(len(order) // 2)
    capture = CaptureService(capture_settings(kafka, staging, [archive], tmp_path, 4))
    settings = apply_settings(kafka, postgres_dsn, unique)
    apply = ApplyProcess(write_config(settings, tmp_path / "apply.toml"), free_port(),
                         tmp_path / "apply.log")  # fmt: skip
    hook = WebhookReceiver()
    hook_url = await hook.start()
    await capture.start()
    apply.start()
    assert capture.http_url is not None
    control = ControlService(control_settings(tmp_path, kafka.bootstrap_servers,
                                              capture.http_url, apply.url, hook_url))
    await control.start()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with httpx.AsyncClient(base_url=capture.http_url, headers=auth) as cap:

            async def capture_status() -> dict[str, Any]:
                return dict((await cap.get("/api/v1/status")).json())

            async def applied() -> int:
                status = await apply.status() or {}
                return sum(s["transactions"] for s in status.get("schemas", {}).values())

            await until(applied, lambda n: n > 50, 90, "apply applying")
            pid = apply.proc.pid if apply.proc else None
            archive_logs(3 * len(order) // 4)  # capture publishes these ...
            await until(capture_status, lambda s: s["threads"]["1"]["caught_up"] is False
                        or s["transactions_published"] > 0, 5, "capture reading")  # fmt: skip
            private_kafka.kill()  # ... while the broker dies
            killed_at = time.monotonic()
            archive_logs(len(order))  # the source goes on: capture reads, cannot publish

            degraded = await until(capture_status, lambda s: s["health"] == "degraded", 30,
                                   "capture degraded")  # fmt: skip
            assert degraded["state"] == "running"
            fault = degraded["faults"][0]
            assert fault["part"] == "kafka" and fault["severity"] == "degraded"
            assert fault["since"] and fault["error"]
            capture_health = await cap.get("/health")
            assert capture_health.status_code == 200
            assert capture_health.json()["status"] == "degraded"

            apply_down = await until(apply.status, lambda s: bool(s) and s["health"] == "degraded",
                                     30, "apply degraded")  # fmt: skip
            assert any(f["part"] == "kafka" for f in apply_down["faults"]), apply_down
            for doc in apply_down["schemas"].values():
                assert doc["waiting_on"] == "kafka" and doc["waiting_since"] and doc["last_error"]
            await until(lambda: hook.received, lambda got: (
                alert_states(got, "alert.capture_degraded") == ["firing"]
                and alert_states(got, "alert.apply_degraded") == ["firing"]), 15,
                "control's degraded alerts")  # fmt: skip

            lag_then = (await capture_status())["lag_seconds"]
            while time.monotonic() - killed_at < OUTAGE:  # stays up the whole outage
                assert apply.proc is not None and apply.proc.poll() is None, _tail(tmp_path)
                status = await apply.status()
                assert status is not None and status["health"] == "degraded", status
                assert (await capture_status())["health"] == "degraded"
                await until(lambda: True, bool, 1, "a second")  # paced, not a wait on state
            assert (await capture_status())["lag_seconds"] > lag_then, "lag grows"

            private_kafka.start()
            await until(capture_status, lambda s: s["health"] == "ok"
                        and s["transactions_published"] >= 1, 120, "capture recovered")
            expected = source_state(built)
            await until(lambda: postgres_state(postgres_dsn, renames(unique)),
                        lambda got: got == expected, 180, "the DR copy equals the source")
            final = await until(apply.status, lambda s: bool(s) and s["health"] == "ok", 30,
                                "apply recovered")  # fmt: skip
            assert all(d["waiting_on"] is None for d in final["schemas"].values())
            assert apply.proc is not None and apply.proc.pid == pid and apply.proc.poll() is None
            await until(lambda: hook.received, lambda got: (
                alert_states(got, "alert.capture_degraded") == ["firing", "resolved"]
                and alert_states(got, "alert.apply_degraded") == ["firing", "resolved"]), 15,
                "control's alerts resolved")  # fmt: skip
    finally:
        await control.stop()
        await capture.stop()
        apply.terminate()
        await hook.stop()

    for owner in ("SI", "HIS"):
        got = reassemble(await read_topic(kafka, names.schema(owner)))
        assert got == expected_per_schema(built, owner), f"{owner}: each once, in order, exact"


def _tail(tmp: Path) -> str:
    return "apply exited: " + (tmp / "apply.log").read_text()[-3000:]
