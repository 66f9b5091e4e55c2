"""Auto mode against real servers: the primary dies and traffic moves; a flapping primary,
a cut link and an unhealthy standby do not move it; switchback; an unverified switch fails.

Each switch scenario reports its time to detect and time to switch and asserts they stay
within the configured worst case plus one check interval.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from drappha.service import AppHAService

from tests.integration.appha.rig import until
from tests.integration.appha.scenario import APP, Scenario, Timing


def report(name: str, event: dict[str, object]) -> None:
    print(
        f"\n[{name}] time to detect {event['time_to_detect']:.3f} s, "
        f"time to switch {event['time_to_switch']:.3f} s"
    )


async def test_primary_dies_auto_switch_fenced_moved_and_verified(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="auto") as s:
        await s.ready()
        killed_at = await s.kill_primary()
        view = await s.wait_for("switch to standby", state="on_standby", active_site="standby")
        assert view["blocked"]  # further switches wait for an acknowledgement
        assert await s.routed_marker() == "OK site=standby"

        (event,) = await s.events()
        report("primary dies, auto", event)
        interval = s.t.interval
        assert event["outcome"] == "succeeded"
        assert event["time_to_detect"] <= s.budget.detect_primary + interval
        assert event["detected_wall"] - killed_at <= s.budget.detect_primary + interval
        assert event["time_to_switch"] <= s.budget.switch + interval

        op_id = event["operation_id"]
        status = (await s.api("GET", f"/apps/{APP}/switches/{op_id}")).json()
        assert status["state"] == "succeeded" and status["verified"] is True
        assert [step["name"] for step in status["steps"]] == [
            "start_target",
            "wait_target_healthy",
            "fence_source",
            "move_traffic",
            "verify_traffic",
        ]
        attestation = status["attestation"]
        assert attestation["sufficient"] is True
        assert attestation["fence"]["ok"] is True
        assert {v["vantage"]: v["status"] for v in attestation["vantages"]} == {
            "appha": "down",
            "w1": "down",
        }
        # start on standby, fence the primary, and only then move traffic
        assert s.actions() == [
            f"start standby {op_id}",
            f"fence primary {op_id}",
            f"reload standby {op_id}",
        ]
        assert "his_backend" in s.upstream.read_text()
        assert f"127.0.0.1:{s.standby.port}" in s.upstream.read_text()
        await until(lambda: "switch_succeeded" in s.control.kinds(APP), 3, "report to control")


async def test_flapping_primary_causes_no_switch_storm(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="auto") as s:
        await s.ready()
        # down 0.25 s, up 0.35 s: never as long as the threshold's 0.5 s and 3 failures
        s.primary.flap(down=0.25, up=0.35)
        await asyncio.sleep(4.0)
        view = await s.app()
        s.primary.mode = "ok"
        primary = [r for c in view["checks"] if c["site"] == "primary" for r in c["recent"]]
        assert any(not r["ok"] for r in primary) and any(r["ok"] for r in primary), "flapping seen"
        assert view["active_site"] == "primary"
        assert view["state"] in ("healthy", "degraded")
        assert await s.events() == []
        assert s.actions() == []
        await s.wait_for("hold-down passes", state="healthy")


async def test_link_cut_with_witness_seeing_primary_does_not_switch(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="auto") as s:
        await s.ready()
        assert s.link is not None
        cut_at = time.time()
        s.link.cut()
        alert = "primary down from here but the witness sees it serving: link cut suspected"
        await s.wait_for("partition alert", alert=alert, timeout=s.budget.detect_primary + 3)
        detected = await s.alert_raised_at(alert) - cut_at
        print(f"\n[link cut] time to detect (alert, no switch) {detected:.3f} s")
        assert detected <= s.budget.detect_primary + s.t.interval
        await asyncio.sleep(1.0)  # well past the threshold: still nothing moves
        view = await s.app()
        assert view["active_site"] == "primary" and view["state"] == "degraded"
        assert await s.events() == [] and s.actions() == []
        assert await s.routed_marker() == "OK site=primary"
        await until(lambda: "alert" in s.control.kinds(APP), 3, "alert reported to control")
        s.link.restore()
        await s.wait_for("recovery after the link is back", state="healthy", alert=None)


async def test_unhealthy_standby_blocks_switch_and_alerts(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="auto") as s:
        await s.ready()
        s.standby.mode = "fail"
        await s.wait_for(
            "standby alert", alert="standby unhealthy: a switch would not be possible now"
        )
        killed_at = await s.kill_primary()
        alert = "primary down but standby is not healthy: not switching"
        view = await s.wait_for("no-switch alert", alert=alert)
        assert view["active_site"] == "primary"
        detected = await s.alert_raised_at(alert) - killed_at
        print(f"\n[standby unhealthy] time to detect (alert, no switch) {detected:.3f} s")
        assert detected <= s.budget.detect_primary + s.t.interval
        await asyncio.sleep(1.0)
        assert await s.events() == [] and s.actions() == []
        reported = await until(
            lambda: [
                e
                for e in s.control.events
                if e["kind"] == "alert" and "not switching" in e["detail"]["message"]
            ],
            3,
            "alert reported to control",
        )
        assert reported[0]["app"] == APP


async def test_switchback_after_acknowledgement(tmp_path: Path) -> None:
    # a planned switchback: the standby serves until its fence stops it (issue 14, finding
    # 6: a fence that leaves the site serving would stop the switch before traffic moves)
    async with Scenario(
        tmp_path, mode="auto", timing=Timing(min_interval=2.0), fence_stops=True
    ) as s:
        await s.ready()
        await s.kill_primary()
        await s.wait_for("on standby", state="on_standby")
        (first,) = await s.events()
        await s.primary.start()  # the cloud is repaired
        await until(lambda: s.app_status("primary"), 5, "primary up again")
        body = {"operation_id": "back-1", "requested_by": "operator"}
        refused = await s.api("POST", f"/apps/{APP}/switchback", body)
        assert refused.status_code == 412
        assert "blocked" in refused.json()["detail"]
        ack = await s.api(
            "POST",
            f"/apps/{APP}/acknowledge",
            {"requested_by": "operator", "comment": "cloud repaired"},
        )
        assert ack.status_code == 200, ack.text
        assert ack.json()["blocked"] is None

        async def accepted() -> httpx.Response | None:
            answer = await s.api("POST", f"/apps/{APP}/switchback", body)
            if answer.status_code == 412:
                assert "minimum interval" in answer.json()["detail"]
                return None
            return answer

        answer = await until(accepted, 5, "switchback accepted", pause=0.2)
        assert answer.status_code == 202, answer.text
        assert time.time() - first["switch_started_wall"] >= s.t.min_interval - 0.05
        await s.wait_for("back on primary", state="healthy", active_site="primary")
        assert await s.routed_marker() == "OK site=primary"
        status = (await s.api("GET", f"/apps/{APP}/switches/back-1")).json()
        assert status["state"] == "succeeded" and status["verified"]
        assert s.actions()[-3:] == [
            "start primary back-1",
            "fence standby back-1",
            "reload primary back-1",
        ]
        back = (await s.events())[0]
        print(f"\n[switchback] time to switch {back['time_to_switch']:.3f} s")
        assert back["outcome"] == "succeeded" and back["operation_id"] == "back-1"
        assert back["time_to_switch"] <= s.budget.switchback + s.t.interval


async def test_unverified_traffic_move_is_a_failed_switch(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="auto", reload_loads=False) as s:
        await s.ready()
        await s.kill_primary()
        view = await s.wait_for("failed switch", state="switch_failed", timeout=15)
        assert view["active_site"] == "primary"
        assert view["alert"] and "verify_traffic failed: traffic not verified" in view["alert"]
        (event,) = await s.events()
        assert event["outcome"] == "failed"
        status = (await s.api("GET", f"/apps/{APP}/switches/{event['operation_id']}")).json()
        assert status["state"] == "failed" and status["verified"] is False
        assert status["steps"][-1]["name"] == "verify_traffic"
        assert status["steps"][-1]["state"] == "failed"


@pytest.mark.parametrize("freeze", ["frozen", "unreadable"])
async def test_freeze_stops_auto_switch(tmp_path: Path, freeze: str) -> None:
    async with Scenario(tmp_path, mode="auto") as s:
        await s.ready()
        if freeze == "frozen":
            s.control.frozen = True
        else:
            s.control.freeze_fails = True
        await s.kill_primary()
        expected = (
            "forbids automatic switching" if freeze == "frozen" else "freeze state is unknown"
        )
        view = await until(
            lambda: s.alert_contains(expected), s.budget.detect_primary + 3, "freeze alert"
        )
        assert view["active_site"] == "primary"
        assert await s.events() == []


async def test_restart_remembers_the_active_site_and_the_block(tmp_path: Path) -> None:
    async with Scenario(tmp_path, mode="auto") as s:
        await s.ready()
        await s.kill_primary()
        await s.wait_for("on standby", state="on_standby")
        assert s.appha is not None and s.settings is not None
        await s.appha.stop()
        s.appha = AppHAService(s.settings)
        await s.appha.start()
        view = await s.wait_for("restored", state="on_standby", active_site="standby")
        assert view["blocked"] and view["mode"] == "auto"
        await asyncio.sleep(1.0)
        assert len(await s.events()) == 1  # no new switch after the restart
