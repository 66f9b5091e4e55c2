"""Continuous verification in the running service: a rotating set of tables compared on
a schedule, the latest result per schema in the status (what control's evidence shows),
the metric and an ERROR line when a difference appears; compare and repair through the
admin API bring it back to none; a load is refused while apply is not stopped."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from drapply.load.model import LoadRequest
from drapply.load.runner import run_load
from drapply.service import ApplyService
from drcapture.synth.workload_result import BuiltWorkload

from tests.integration.apply.running import TOKEN, wait_for
from tests.integration.load.conftest import SettingsFactory
from tests.integration.load.test_compare import dr_execute
from tests.support.history import HistorySource
from tests.support.state import source_state

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _get(client: httpx.AsyncClient, path: str) -> Any:
    answer = await client.get(path, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _job(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Start a job (again while the schedule's run holds the slot) and wait for it."""

    async def started() -> str | None:
        answer = await client.post(path, json=body, headers=AUTH)
        assert answer.status_code in (202, 409), answer.text
        return str(answer.json()["job_id"]) if answer.status_code == 202 else None

    job_id = await wait_for(started, 30, f"{path} to start")

    async def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = await _get(client, f"/api/v1/jobs/{job_id}")
        return job if job["state"] != "running" else None

    job = await wait_for(finished, 60, f"{path} to finish")
    assert job["state"] == "done", job
    return dict(job["result"])


async def test_scheduled_verification_reports_and_alerts(
    documents: BuiltWorkload, history: HistorySource, make_settings: SettingsFactory,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setenv("DRAPPLY__HTTP__SERVICE_TOKEN", TOKEN)
    settings = make_settings("sqlite", compare={"verify_every_seconds": 0.2,
                                                "verify_tables_per_run": 1})  # fmt: skip
    history.feed(documents)
    await run_load(settings, LoadRequest(requested_by="test"))
    service = ApplyService(settings)
    await service.start()
    try:
        assert service.http is not None
        async with httpx.AsyncClient(base_url=service.http.url, timeout=10) as client:

            async def verified(differences: int) -> dict[str, Any] | None:
                found = (await _get(client, "/api/v1/status"))["verification"]
                ok = (found.get("SI", {}).get("differences") == differences
                      and found.get("HIS", {}).get("tables") == 2
                      and found["HIS"]["differences"] == 0)  # fmt: skip
                return found if ok else None

            first = await wait_for(lambda: verified(0), 60, "every table verified")
            assert first["SI"]["scn"] == documents.expected[-1].commit_scn
            assert first["SI"]["stale"] is False

            person = source_state(documents)[("SI", "PERSON")]
            changed = sorted(person, key=int)[5]
            dr_execute(settings, "SI", 'UPDATE {s}."PERSON" SET "NAME" = %s WHERE "ID" = %s',
                       ("改了", int(changed)))  # fmt: skip
            with caplog.at_level(logging.ERROR, logger="drapply.checks"):
                found = await wait_for(lambda: verified(1), 60, "the difference found")
            assert found["SI"]["tables_differing"] == ["SI.PERSON"]
            assert any("verification found differences" in r.getMessage()
                       for r in caplog.records)  # fmt: skip
            metrics = (await client.get("/metrics")).text
            assert 'dr_apply_verify_differences{schema="SI"} 1.0' in metrics

            compared = await _job(client, "/api/v1/compare",
                                  {"tables": ["SI.*"], "requested_by": "alice"})  # fmt: skip
            assert compared["differences"] == 1
            report = await _get(client, f"/api/v1/compare/{compared['run_id']}")
            assert report["tables"][0]["differences"][0]["columns"] == ["NAME"]
            repaired = await _job(client, "/api/v1/repair", {
                "run_id": compared["run_id"], "requested_by": "alice", "reason": "test",
                "apply": True})  # fmt: skip
            assert repaired["tables"][0]["written"] == 1
            await wait_for(lambda: verified(0), 60, "the difference gone")

            refused = await client.post("/api/v1/load", json={"requested_by": "alice"},
                                        headers=AUTH)  # fmt: skip
            assert refused.status_code == 409 and "stop applying first" in refused.text
            missing = await client.get("/api/v1/compare/nope", headers=AUTH)
            assert missing.status_code == 404
    finally:
        await service.stop()
