"""The operator console in headless Chromium (Debian's /usr/bin/chromium driven by the
Python playwright package), as the on-call DBA and the bureau's approver use it.

Issue 14, finding 8: screenshots of the main views — home, a blocked application, a
request pending confirmation, a running operation — and what each must show: lag with
its source and age (and "unknown since" when apply stops answering), a chart with a time
axis, alerts, peer states, blocks and freezes, colours that match meaning, the direction
of every switch, a favicon, and bilingual labels that really render (a CJK font,
fonts-noto-cjk, is installed by scripts/setup.sh; checked by DOM and by pixels).
Screenshots go to $DR_CONSOLE_SHOTS (default: the test's tmp directory).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.integration.control.conftest import Team, start_team, stop_team
from tests.integration.control.helpers import settings_for
from tests.integration.control.peers.standins import StandIns

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason=f"{CHROMIUM} not found (apt-get install -y chromium fonts-noto-cjk)")


@pytest_asyncio.fixture(loop_scope="function")
async def team(tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> AsyncIterator[Team]:
    standins.apply.drain_seconds = 1.5  # long enough to see the run in progress
    settings = settings_for(tmp_path, standins, kafka_bootstrap,
                            automation={"flap_max_switches": 1},
                            approvals={"app_failover": {"required_approvals": 0}})
    running = await start_team(settings)
    yield running
    await stop_team(running)


def shots(tmp_path: Path) -> Path:
    where = Path(os.environ.get("DR_CONSOLE_SHOTS") or tmp_path / "shots")
    where.mkdir(parents=True, exist_ok=True)
    return where


async def cjk_renders(page: Any) -> bool:
    """Two different CJK strings must not render to the same pixels (tofu boxes do), and
    must differ from a string of missing glyphs."""
    await page.evaluate("""() => {
        const node = document.createElement("span");
        node.id = "cjk-probe";
        node.style.cssText = "font-size:32px;position:fixed;top:0;left:0;background:#fff;"
            + "z-index:99";
        document.body.append(node);
    }""")
    images = []
    for text in ("灾备控制台", "应用复制延", "\U000f0000" * 5):  # the last: no font has it
        await page.evaluate("(t) => { document.getElementById('cjk-probe').textContent = t; }",
                            text)
        images.append(await page.locator("#cjk-probe").screenshot())
    await page.evaluate("() => document.getElementById('cjk-probe').remove()")
    return images[0] != images[1] and images[0] != images[2]


async def test_console_views_tell_the_truth(team: Team, standins: StandIns,
                                           tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=15_000)  # the CI hosts are shared and sometimes slow
    out = shots(tmp_path)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1800})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{team.url}/")
            async with httpx.AsyncClient() as client:
                icon = await client.get(f"{team.url}/favicon.ico")
            assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/")

            await page.fill("#token", "drc_000000000000_wrong")
            await page.click("#login")
            await expect(page.locator("#login-error")).to_contain_text("401")
            await page.fill("#token", team.tokens["ann"])
            await page.click("#login")
            await expect(page.locator("#whoami")).to_have_text("ann (approver)")
            await expect(page.locator("#live")).to_contain_text("live")

            # -- home: roles, peers, lag with source and age, a time axis, alerts --------
            await expect(page.locator(".site[data-site=primary] .db-role")).to_contain_text(
                "primary")
            for peer in ("capture", "apply", "appha"):
                await expect(page.locator(f"#peers tr[data-peer={peer}] td.ok")).to_have_text(
                    "正常 answering")
            lag = page.locator("#lag-now")
            await expect(lag).to_contain_text("来源 from apply@http://")
            await expect(lag).to_contain_text("s ago")
            await expect(page.locator("#lag-chart text.tick")).to_have_count(5, timeout=20_000)
            assert ":" in (await page.locator("#lag-chart text.tick").first.text_content() or "")
            await expect(page.locator("#lag-chart polyline.line")).to_have_count(1)
            await expect(page.locator("#alerts li").first).to_be_visible()
            await expect(page.locator("#apps tr[data-app=payments] td").nth(1)).to_have_class(
                "ok")
            assert await page.evaluate(
                "() => document.fonts.check('16px \"Noto Sans CJK SC\"', '灾备')")
            assert await cjk_renders(page), "CJK labels render as boxes: no CJK font"
            await page.screenshot(path=str(out / "1-home.png"), full_page=True)

            # -- a blocked application: the block with its reason, amber for waiting -----
            operator = team.operator
            first = await operator.client.post("/api/v1/operations", json={
                "type": "app_failover", "app": "payments", "reason": "primary down",
                "evidence": {"direction": "switch"}})
            await operator.wait_state(first.json()["id"], "succeeded")
            second = await operator.client.post("/api/v1/operations", json={
                "type": "app_failover", "app": "payments", "reason": "primary down again",
                "evidence": {"direction": "switch"}})
            assert second.status_code == 409
            standins.appha.apps["payments"].update(
                state="switch_recommended", alert="control refused the switch request")
            standins.appha.apps["social-insurance"]["blocked"] = "switch done; acknowledge"
            block = page.locator("#blocks p[data-block=payments]")
            await expect(block).to_contain_text("1 automatic switches of payments")
            await expect(block.locator("button.ack-block")).to_be_visible()
            await expect(page.locator("#apps tr[data-app=payments] td").nth(1)).to_have_class(
                "warn", timeout=20_000)  # switch_recommended is not green
            await expect(page.locator("#apps tr[data-app=social-insurance] td").nth(4)
                         ).to_contain_text("已阻止 blocked: switch done")
            await expect(page.locator("#alerts")).to_contain_text(
                "payments: control refused the switch request")
            await page.screenshot(path=str(out / "2-blocked.png"), full_page=True)
            standins.appha.apps["payments"].update(state="on_standby", alert=None)
            standins.appha.apps["social-insurance"]["blocked"] = None
            page.once("dialog", lambda dialog: dialog.accept("root cause fixed"))
            await block.locator("button.ack-block").click()
            await expect(page.locator("#blocks")).to_be_hidden()

            # -- the DR copy's last verification: per schema, an alert for a difference --
            seen = {"verified_at": "2026-12-07T02:00:00+00:00", "age_seconds": 90.0,
                    "oldest_age_seconds": 90.0, "scn": 4990, "tables": 3, "differences": 0,
                    "tables_differing": [], "stale": False, "sampled": False, "run_id": "v1"}
            standins.apply.verification = {
                "HR": {**seen, "differences": 2, "tables_differing": ["HR.EMP"]}, "FIN": seen}
            await expect(page.locator("#verification tr[data-schema=HR] td.bad")).to_contain_text(
                "2", timeout=20_000)
            await expect(page.locator("#verification tr[data-schema=FIN] td.ok")).to_be_visible()
            await expect(page.locator("#alerts")).to_contain_text(
                "the DR copy differs from the source: HR")

            # -- a request pending confirmation: evidence, loss, digest, direction --------
            created = await operator.request_op("failover", reason="主中心停电 home power loss")
            op_id = created.json()["id"]
            card = page.locator(f"#pending .pending[data-op-id={op_id}]")
            await expect(card.locator(".digest")).to_contain_text("digest", timeout=20_000)
            await expect(card.locator(".verification-line")).to_contain_text("HR SCN 4990")
            await expect(card.locator(".verification-line")).to_have_class(
                "verification-line bad")
            await expect(card.locator(".direction")).to_contain_text(
                "主中心 home → 灾备中心 DR")
            await expect(card.locator(".checks tbody tr").first).to_be_visible()
            await expect(card.locator(".confirm-form")).to_be_visible()
            await card.locator(".confirm-seconds").fill("60")
            await card.locator(".confirm-comment").fill("确认 confirmed by phone with bureau")
            await card.screenshot(path=str(out / "3-pending.png"))

            # -- the running operation ----------------------------------------------------
            await card.locator(".confirm-submit").click()
            await expect(page.locator("#execution-id")).to_have_text(op_id)
            await expect(page.locator("#steps li[data-step=wait_holding]")).to_have_attribute(
                "data-state", "running", timeout=20_000)
            await page.locator("#execution").screenshot(path=str(out / "4-running.png"))
            await expect(page.locator("#execution-state")).to_have_text("succeeded",
                                                                        timeout=30_000)
            await expect(page.locator("#steps li[data-state=succeeded]")).to_have_count(7)
            await expect(page.locator(".site[data-site=standby] .db-role")).to_contain_text(
                "primary", timeout=10_000)
            await expect(page.locator("#report")).to_be_visible()

            # -- apply stops answering: the lag is unknown since then, not "current" ------
            await standins.servers["apply"].stop()
            await expect(lag).to_contain_text("延迟未知 lag unknown since ", timeout=20_000)
            await expect(lag).to_have_class("stale")
            await expect(page.locator("#peers tr[data-peer=apply] td.bad")).to_be_visible()
            await page.screenshot(path=str(out / "5-apply-unreachable.png"), full_page=True)

            await page.fill("#audit-q", "operation.approved")
            await page.click("#audit-search")
            row = page.locator("#audit-results tbody tr").first
            await expect(row).to_contain_text("ann")
            await expect(row).to_contain_text(op_id)
            assert errors == []
        finally:
            await browser.close()
    assert standins.mutating(op_id)["hold"] == 1
