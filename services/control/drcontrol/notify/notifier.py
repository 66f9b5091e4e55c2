"""The notifier: callers enqueue without waiting; one task delivers to every channel
that wants the kind, each delivery in its own task so a dead SMTP relay does not delay
the webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from drcontrol.notify.channels import Channel

log = logging.getLogger(__name__)
QUEUE_SIZE = 1000

TITLES = {
    "operation.requested": "Operation requested / 操作已申请",
    "operation.awaiting_approval": "Waiting for confirmation / 等待确认",
    "operation.approved": "Approval given / 已确认",
    "operation.step_failed": "Runbook step FAILED / 步骤失败",
    "operation.succeeded": "Operation succeeded / 操作成功",
    "operation.failed": "Operation FAILED / 操作失败",
    "operation.aborted": "Operation aborted / 操作中止",
    "operation.expired": "Request expired without confirmation / 申请已过期",
    "operation.break_glass": "BREAK-GLASS used / 紧急授权",
    "alert.lag": "Replication lag above threshold / 复制延迟超限",
    "alert.capture_stopped": "Capture stopped / 捕获停止",
    "alert.app_down": "Application down / 应用故障",
    "alert.apply_error": "Apply in error / 应用复制错误",
    "alert.capture_degraded": "Capture waiting out a fault / 捕获等待故障恢复",
    "alert.apply_degraded": "Apply waiting out a fault / 应用复制等待故障恢复",
    "alert.audit_chain": "Audit chain broken or unanchored / 审计链异常",
    "alert.break_glass_locked": "Break-glass locked after wrong codes / 紧急授权已锁定",
    "operation.split_brain_accepted": "Possible split brain ACCEPTED / 已接受脑裂风险",
}


class Notifier:
    """Fan notifications out to the channels."""

    def __init__(self, channels: list[Channel], clock: Callable[[], float], site: str) -> None:
        self._channels = channels
        self._clock = clock
        self._site = site
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[bool]] = set()
        self.delivered = 0
        self.failed = 0

    def notify(self, kind: str, data: dict[str, Any]) -> None:
        """Queue a notification (dropped with a log line if the queue is full)."""
        title = TITLES.get(kind, kind)
        subject = data.get("operation") or data.get("app") or ""
        message = {"kind": kind, "at": self._clock(), "site": self._site,
                   "title": f"[DR {self._site}] {title} {subject}".strip(), "data": data}
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            log.error("notification queue full; dropped %s", kind)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notifier")

    async def _run(self) -> None:
        while True:
            message = await self._queue.get()
            for channel in self._channels:
                if channel.wants(message["kind"]):
                    task = asyncio.create_task(channel.send(message), name=channel.name)
                    self._deliveries.add(task)
                    task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[bool]) -> None:
        self._deliveries.discard(task)
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("notification delivery crashed", exc_info=task.exception())
            self.failed += 1
        elif task.result():
            self.delivered += 1
        else:
            self.failed += 1

    async def stop(self, drain_seconds: float = 5.0) -> None:
        if self._task is not None:
            deadline = asyncio.get_running_loop().time() + drain_seconds
            while not self._queue.empty() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._deliveries:
            await asyncio.wait(set(self._deliveries), timeout=drain_seconds)
        for task in list(self._deliveries):
            task.cancel()
        for channel in self._channels:
            close = getattr(channel, "close", None)
            if close is not None:
                await close()
