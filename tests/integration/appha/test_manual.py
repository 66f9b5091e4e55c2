"""Manual mode against real servers: appha observes (never fences) and asks control;
control's approval calls the switch endpoint, whose first act on the old site is to fence
it; idempotent operation ids; declined requests; maintenance; audited mode changes."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from tests.integration.appha.rig import until
from tests.integration.appha.scenario import APP, APPHA_TOKEN, OPS_TOKEN, Scenario, Timing


async def test_primary_dies_manual_request_then_approved_switch(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="manual") as s:
        await s.ready()
        killed_at = await s.kill_primary()
        await s.wait_for("request", state="switch_recommended", timeout=s.budget.detect_primary + 3)
        (request,) = await until(lambda: s.control.requests(APP), 5, "request in control")
        assert request["type"] == "app_failover"
        evidence = request["evidence"]
        assert evidence["direction"] == "switch"
        attestation = evidence["attestation"]
        # issue 14, finding 4: what the approver reads describes; nothing was fenced
        assert attestation["kind"] == "observation"
        assert attestation["fence"] == {
            "configured": True,
            "ok": False,
            "detail": "not fenced yet: the switch fences it after approval",
        }
        assert {v["vantage"]: v["status"] for v in attestation["vantages"]} == {
            "appha": "down",
            "w1": "down",
        }
        assert attestation["sufficient"] is False
        assert attestation["signals"] == ["vantage"]
        assert not [line for line in s.actions() if line.startswith("fence")]
        assert evidence["budget"]["detect_seconds"]["primary"] == s.budget.detect_primary
        await asyncio.sleep(0.5)
        assert (await s.app())["active_site"] == "primary"  # nothing moves without a person

        approved_at = time.time()
        answer = await s.control.approve(request["id"], s.url, APPHA_TOKEN)
        assert answer.status_code == 202, answer.text
        assert answer.json()["operation_id"] == request["id"]
        await s.wait_for("switched", state="on_standby", active_site="standby")
        assert await s.routed_marker() == "OK site=standby"
        assert [line for line in s.actions() if line.startswith("fence")] == [
            f"fence primary {request['id']}"
        ]  # fenced once, as a step of the approved switch
        switch = (await s.api("GET", f"/apps/{APP}/switches/{request['id']}")).json()
        assert switch["attestation"]["kind"] == "fence"
        assert switch["attestation"]["sufficient"] is True

        (event,) = await s.events()
        print(
            f"\n[primary dies, manual] time to detect {event['time_to_detect']:.3f} s, "
            f"time to switch {event['time_to_switch']:.3f} s (after approval)"
        )
        assert event["request_id"] == request["id"]
        assert event["time_to_detect"] <= s.budget.detect_primary + s.t.interval
        assert event["detected_wall"] - killed_at <= s.budget.detect_primary + s.t.interval
        assert event["switch_started_wall"] >= approved_at
        assert event["time_to_switch"] <= s.budget.switch + s.t.interval

        # the same operation id again: a no-op that reports the result
        again = await s.control.approve(request["id"], s.url, APPHA_TOKEN)
        assert again.status_code == 202
        assert again.json()["state"] == "succeeded" and again.json()["verified"] is True
        assert sum(1 for line in s.actions() if line.startswith("start standby")) == 1
        conflict = await s.api(
            "POST", f"/apps/{APP}/switchback", {"operation_id": request["id"], "requested_by": "x"}
        )
        assert conflict.status_code == 409


async def test_declined_request_is_not_repeated_until_recovery(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="manual") as s:
        await s.ready()
        await s.kill_primary()
        (request,) = await until(lambda: s.control.requests(APP), 10, "request in control")
        s.control.operations[request["id"]]["state"] = "rejected"
        await s.wait_for("declined", state="degraded", timeout=5)
        await asyncio.sleep(1.0)
        assert len(s.control.requests(APP)) == 1
        # issue 14, finding 4: a refused request never fenced production
        assert not [line for line in s.actions() if line.startswith("fence")]
        await s.primary.start()
        await s.wait_for("recovered", state="healthy", timeout=5)
        (event,) = await s.events()
        assert event["outcome"] == "declined" and event["operation_id"] is None


async def test_request_withdrawn_when_primary_recovers(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="manual") as s:
        await s.ready()
        s.primary.mode = "fail"  # the test's fence script records, it does not stop the app
        (request,) = await until(lambda: s.control.requests(APP), 10, "request in control")
        s.primary.mode = "ok"
        await s.wait_for("recovered", state="healthy", timeout=5)
        op = await until(
            lambda: (
                s.control.operations[request["id"]].get("cancel_comment")
                and s.control.operations[request["id"]]
            ),
            5,
            "request withdrawn",
        )
        assert op["state"] == "cancelled"
        assert op["cancel_comment"].startswith("primary healthy again")
        assert not [line for line in s.actions() if line.startswith("fence")]
        (event,) = await s.events()
        assert event["outcome"] == "recovered"


async def test_maintenance_keeps_checking_but_never_switches(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="manual") as s:
        await s.ready()
        on = await s.api(
            "POST",
            f"/apps/{APP}/maintenance",
            {"enabled": True, "requested_by": "ops", "comment": "patching"},
        )
        assert on.status_code == 200 and on.json()["maintenance"] is True
        await s.kill_primary()
        view = await s.wait_for("primary seen down", state="degraded")
        assert view["sites"]["primary"]["status"] in ("down", "unknown")
        await asyncio.sleep(s.budget.detect_primary + 0.5)
        view = await s.app()
        assert view["state"] == "degraded" and view["active_site"] == "primary"
        assert "maintenance mode" in view["message"]
        assert s.control.requests(APP) == [] and s.actions() == []
        refused = await s.api(
            "POST", f"/apps/{APP}/switch", {"operation_id": "m-1", "requested_by": "ops"}
        )
        assert refused.status_code == 412 and refused.json()["detail"].startswith("maintenance")


async def test_mode_change_is_audited_append_only_and_reported(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="manual") as s:
        await s.ready()
        # Issue 17, finding 8: the actor is the owner of the token ("ops", a per-caller
        # credential), never the requested_by the caller writes (kept in the comment).
        answer = await s.api(
            "POST",
            f"/apps/{APP}/mode",
            {"mode": "auto", "requested_by": "carol", "comment": "night shift"},
            token=OPS_TOKEN,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["mode"] == "auto"
        assert answer.json()["message"] == "mode changed to auto by ops: night shift (for carol)"
        audit = (await s.api("GET", f"/apps/{APP}/audit")).json()
        assert audit[0]["actor"] == "ops" and audit[0]["kind"] == "SetMode"
        shared = await s.api("POST", f"/apps/{APP}/maintenance",
                             {"enabled": True, "requested_by": "ops", "comment": "x"})
        assert shared.status_code == 200
        audit = (await s.api("GET", f"/apps/{APP}/audit")).json()
        assert audit[0]["actor"] == "service"  # the shared token: "service", not "ops"
        await until(lambda: "SetMode" in s.control.kinds(APP), 3, "mode change reported")
        db = sqlite3.connect(tmp_path / "appha.sqlite")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit SET actor = 'mallory'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit")
        db.close()


async def test_api_needs_the_service_token_and_names_unknown_apps(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="manual") as s:
        import httpx

        async with httpx.AsyncClient() as anonymous:
            assert (await anonymous.get(f"{s.url}/api/v1/apps")).status_code == 401
            health = await anonymous.get(f"{s.url}/health")
            assert health.status_code == 200
            metrics = (await anonymous.get(f"{s.url}/metrics")).text
        assert 'dr_appha_check_results_total{app="his"' in metrics
        assert (await s.api("GET", "/apps/nope")).status_code == 404
        listing = (await s.api("GET", "/apps")).json()
        assert [a["name"] for a in listing] == [APP]
        assert listing[0]["mode"] == "manual" and listing[0]["attestation"] is None


async def test_confirmed_switch_on_insufficient_fencing_stops_unless_the_risk_is_accepted(
    tmp_path: Path,
) -> None:
    """Issue 14, finding 6: a switch a person confirmed used to move traffic on an
    insufficient attestation (primary still serving). Now it stops at ``fence_source``
    before traffic moves; only an explicit acceptance of a possible split brain (control's
    audited override, carried in the switch call) lets it go on, and the switch says so."""
    timing = Timing(min_interval=30.0)
    async with Scenario(tmp_path, mode="manual", timing=timing) as s:
        await s.ready()
        first = await s.api(
            "POST", f"/apps/{APP}/switch", {"operation_id": "op-1", "requested_by": "ann"}
        )
        assert first.status_code == 202, first.text
        failed = await s.wait_for("switch failed", state="switch_failed", timeout=10)
        assert "fencing attestation insufficient" in failed["alert"]
        assert "traffic not moved" in failed["alert"]
        assert await s.routed_marker() == "OK site=primary"
        record = (await s.api("GET", f"/apps/{APP}/switches/op-1")).json()
        assert [st["name"] for st in record["steps"]][-1] == "fence_source"
        assert record["attestation"]["sufficient"] is False
        assert "override" not in record["attestation"]

        ack = await s.api(
            "POST", f"/apps/{APP}/acknowledge", {"requested_by": "ann", "comment": "retry"}
        )
        assert ack.status_code == 200, ack.text
        # nothing moved, so the failed attempt does not hold the next one back
        second = await s.api(
            "POST",
            f"/apps/{APP}/switch",
            {
                "operation_id": "op-1.2",
                "requested_by": "ann",
                "accept_split_brain": "ann in control (op-1): home site confirmed dark",
            },
        )
        assert second.status_code == 202, second.text
        await s.wait_for("switched", state="on_standby", active_site="standby", timeout=10)
        record = (await s.api("GET", f"/apps/{APP}/switches/op-1.2")).json()
        assert record["state"] == "succeeded"
        assert record["attestation"]["override"].startswith("ann in control")
        fence_step = next(st for st in record["steps"] if st["name"] == "fence_source")
        assert "INSUFFICIENT — possible split brain accepted" in fence_step["detail"]


async def test_a_refused_request_says_so_and_is_asked_again_until_control_accepts(
    tmp_path: Path,
) -> None:
    """Issue 14, finding 2: appha showed "waiting for confirmation in control" while control
    refused its request (anti-flapping block) and nothing was pending there."""
    async with Scenario(tmp_path, mode="manual") as s:
        await s.ready()
        s.control.refuse = "anti-flapping block on his: 2 automatic switches of his within 3600 s"
        await s.kill_primary()
        view = await until(
            lambda: _with_alert(s, "control refused the switch request"), 10, "refusal shown"
        )
        assert view["state"] == "switch_recommended"
        assert "anti-flapping block on his" in view["alert"]
        assert "waiting for confirmation" not in view["message"]
        assert s.control.requests(APP) == []
        s.control.refuse = None  # the block was acknowledged in control
        (request,) = await until(lambda: s.control.requests(APP), 12, "request opened")
        view = await s.wait_for("open", alert=None)
        assert view["message"] == (
            "primary down; waiting for confirmation in control to move to standby"
        ) or view["message"].startswith(f"request {request['id']} open in control")


async def _with_alert(s: Scenario, text: str) -> dict[str, object] | None:
    view = await s.app()
    return view if view.get("alert") and text in str(view["alert"]) else None
