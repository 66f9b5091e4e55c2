"""Notifications reach a real webhook (with retries) and a real SMTP server (plain and
STARTTLS), and the service notifies on requests, approvals, completion and thresholds."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from drcommon.config import load_settings
from drcommon.errors import ConfigError
from drcontrol.notify.channels import EmailChannel, WebhookChannel
from drcontrol.notify.notifier import Notifier
from drcontrol.settings import ControlSettings, EmailSettings, WebhookSettings

from tests.integration.control.conftest import team_with
from tests.integration.control.peers.standins import StandIns
from tests.integration.control.receivers import MiniSmtpServer, WebhookReceiver, self_signed


async def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_webhook_retries_with_backoff_and_email_over_starttls(tmp_path: Path) -> None:
    hook = WebhookReceiver(fail_first=2)
    url = await hook.start()
    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    smtp = MiniSmtpServer(tls=tls)
    port = await smtp.start()
    notifier = Notifier([
        WebhookChannel(WebhookSettings(url=url, backoff_seconds=0.05, max_attempts=4)),
        EmailChannel(EmailSettings(host="127.0.0.1", port=port, starttls=True, ca_file=cert,
                                   recipients=["duty@bureau.example"],
                                   events=["operation.*"])),
    ], time.time, "standby")
    await notifier.start()
    try:
        notifier.notify("operation.step_failed", {"operation": "op-1", "reason": "apply down"})
        notifier.notify("alert.lag", {"lag_seconds": 99})
        await eventually(lambda: len(hook.received) == 2 and len(smtp.messages) == 1)
        assert hook.attempts == 4
        assert sorted(m["kind"] for m in hook.received) == ["alert.lag", "operation.step_failed"]
        mail = smtp.messages[0]
        assert "步骤失败" in str(mail["Subject"]) and "op-1" in str(mail["Subject"])
        assert smtp.envelopes[0] == ("drcontrol@localhost", ["duty@bureau.example"], True)
        body = mail.get_payload(decode=True)
        assert isinstance(body, bytes) and "apply down" in body.decode("utf-8")
    finally:
        await notifier.stop()
        await hook.stop()
        await smtp.stop()


async def test_webhook_gives_up_at_once_on_4xx_and_after_max_attempts_when_down() -> None:
    hook = WebhookReceiver(fail_first=10, fail_status=400)
    url = await hook.start()
    refused = WebhookChannel(WebhookSettings(url=url, max_attempts=5, backoff_seconds=0.01))
    down = WebhookChannel(WebhookSettings(url="http://127.0.0.1:9/none", max_attempts=3,
                                          backoff_seconds=0.01, timeout_seconds=1))
    try:
        assert await refused.send({"kind": "x"}) is False
        assert hook.attempts == 1
        assert await down.send({"kind": "x"}) is False
    finally:
        await refused.close()
        await down.close()
        await hook.stop()


async def test_service_notifies_along_an_operation_and_on_lag(
        tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> None:
    hook = WebhookReceiver()
    url = await hook.start()
    smtp = MiniSmtpServer()
    port = await smtp.start()
    notify = {"webhooks": [{"url": url}],
              "email": {"host": "127.0.0.1", "port": port, "recipients": ["ops@example.cn"]}}
    try:
        async with team_with(tmp_path, standins, kafka_bootstrap, notify=notify) as team:
            op_id = (await team.operator.request_op("failover", reason="x")).json()["id"]
            op = await team.operator.wait_state(op_id, "awaiting_approval")
            await team.approver.approve(op_id, op["evidence_digest"])
            await team.operator.wait_state(op_id, "succeeded")
            standins.apply.schemas["HR"]["lag_seconds"] = 500.0
            standins.apply.hold_scn = standins.apply.hold_at = None

            def kinds() -> set[str]:
                return {m["kind"] for m in hook.received}

            await eventually(lambda: {"operation.requested", "operation.awaiting_approval",
                                      "operation.approved", "operation.succeeded",
                                      "alert.lag"} <= kinds())
            lag = next(m for m in hook.received if m["kind"] == "alert.lag")
            assert lag["data"]["state"] == "firing" and lag["data"]["lag_seconds"] == 500.0
            await eventually(lambda: any("succeeded" in str(m["Subject"])
                                         for m in smtp.messages))
    finally:
        await hook.stop()
        await smtp.stop()


async def test_email_logs_in_only_after_starttls(tmp_path: Path) -> None:
    """Issue 17, finding 3: the SMTP password crosses only inside TLS."""
    with pytest.raises(ConfigError, match="starttls"):
        load_settings(ControlSettings, None, notify={"email": {
            "host": "127.0.0.1", "username": "drcontrol", "recipients": ["a@b.example"]}})
    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    smtp = MiniSmtpServer(tls=tls)
    port = await smtp.start()
    password = tmp_path / "smtp_password"
    password.write_text("S3cret-mail-password", encoding="utf-8")
    channel = EmailChannel(EmailSettings(
        host="127.0.0.1", port=port, starttls=True, ca_file=cert, username="drcontrol",
        password_file=password, recipients=["duty@bureau.example"], max_attempts=1))
    plain = MiniSmtpServer()  # offers no STARTTLS: the channel must not log in there
    plain_port = await plain.start()
    downgraded = EmailChannel(EmailSettings(
        host="127.0.0.1", port=plain_port, starttls=True, ca_file=cert, username="drcontrol",
        password_file=password, recipients=["duty@bureau.example"], max_attempts=1))
    try:
        assert await channel.send({"kind": "x", "title": "t"}) is True
        assert [secure for _, secure in smtp.logins] == [True]
        assert await downgraded.send({"kind": "x", "title": "t"}) is False
        assert plain.logins == [] and plain.messages == []
    finally:
        await smtp.stop()
        await plain.stop()
