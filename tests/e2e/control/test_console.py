"""The operator console in headless Chromium (Debian's /usr/bin/chromium driven by the
Python playwright package): log in, request a failover, confirm it as a second user with
the evidence on screen, watch the run complete live, search the audit."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

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
    reason=f"{CHROMIUM} not found (apt-get install -y chromium)")


@pytest_asyncio.fixture(loop_scope="function")
async def team(tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> AsyncIterator[Team]:
    standins.apply.drain_seconds = 1.5  # long enough to see the run in progress
    running = await start_team(settings_for(tmp_path, standins, kafka_bootstrap))
    yield running
    await stop_team(running)


async def test_request_confirm_and_watch_the_run(team: Team, standins: StandIns) -> None:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=15_000)  # the CI hosts are shared and sometimes slow
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{team.url}/")

            await page.fill("#token", "drc_000000000000_wrong")
            await page.click("#login")
            await expect(page.locator("#login-error")).to_contain_text("401")

            await page.fill("#token", team.tokens["olga"])
            await page.click("#login")
            await expect(page.locator("#whoami")).to_have_text("olga (operator)")
            await expect(page.locator("#live")).to_contain_text("live")
            await expect(page.locator(".site[data-site=primary] .db-role")).to_contain_text(
                "primary")
            await page.select_option("#request-type", "failover")
            await page.fill("#request-reason", "主中心停电 home site power loss")
            await page.click("#request-submit")
            card = page.locator("#pending .pending").first
            await expect(card.locator(".digest")).to_contain_text("digest", timeout=20_000)
            await expect(card.locator(".confirm-form")).to_be_hidden()
            op_id = await card.get_attribute("data-op-id")
            assert op_id

            await page.click("#logout")
            await page.fill("#token", team.tokens["ann"])
            await page.click("#login")
            await expect(page.locator("#whoami")).to_have_text("ann (approver)")
            card = page.locator(f"#pending .pending[data-op-id={op_id}]")
            await expect(card.locator(".checks tbody tr").first).to_be_visible()
            await expect(card.locator(".confirm-form")).to_be_visible()
            await card.locator(".confirm-seconds").fill("60")
            await card.locator(".confirm-comment").fill("确认 confirmed by phone with bureau")
            await card.locator(".confirm-submit").click()

            await expect(page.locator("#execution-id")).to_have_text(op_id)
            await expect(page.locator("#steps li[data-step=wait_holding]")).to_have_attribute(
                "data-state", "running", timeout=20_000)
            await expect(page.locator("#execution-state")).to_have_text("succeeded",
                                                                        timeout=30_000)
            await expect(page.locator("#steps li[data-state=succeeded]")).to_have_count(7)
            await expect(page.locator(".site[data-site=standby] .db-role")).to_contain_text(
                "primary", timeout=10_000)
            await expect(page.locator("#report")).to_be_visible()

            await page.fill("#audit-q", "operation.approved")
            await page.click("#audit-search")
            row = page.locator("#audit-results tbody tr").first
            await expect(row).to_contain_text("ann")
            await expect(row).to_contain_text(op_id)
            assert errors == []
        finally:
            await browser.close()
    assert standins.mutating(op_id)["hold"] == 1
