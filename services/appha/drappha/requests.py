"""Manual mode: observe the failed site (vantage points, lease; nothing is fenced before a
person decides), open a failover request in control with that observation as evidence,
then watch the request until control acts on it. Fencing is a step of the switch that
control's approval starts.

control confirms by calling appha's switch endpoint (a ``SwitchCommand``); a declined
request comes back to the decision loop as a ``RequestDeclined`` intent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

from drappha.decide import verb
from drappha.errors import PeerUnavailable, RequestRefused
from drappha.model import RequestAnswered, RequestDeclined, Site, Snapshot
from drappha.peers import DECLINED_STATES
from drappha.tracker import threshold_progress

if TYPE_CHECKING:
    from drappha.monitor import AppMonitor, MonitorOptions

log = logging.getLogger(__name__)

#: a refused request is asked again at least this often (control decides it again)
REFUSED_RETRY_MAX_SECONDS = 10.0
#: control operation states after which nothing more will happen to a request.
FINISHED_STATES = frozenset({"succeeded", "completed", "done"}) | DECLINED_STATES


class RequestRunner:
    """The one open failover request of an application, if any."""

    def __init__(self, monitor: AppMonitor, options: MonitorOptions) -> None:
        self._monitor = monitor
        self._o = options
        self._task: asyncio.Task[None] | None = None
        self.request_id: str | None = None

    def open(self, target: Site, event_id: int, reason: str, snap: Snapshot) -> None:
        """Start fencing and requesting in the background."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self.request_id = None
        evidence = self._evidence(target, snap)
        self._task = asyncio.create_task(
            self._run(target, event_id, reason, evidence), name=f"request-{self._monitor.name}"
        )
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "request task died", exc_info=task.exception(), extra={"app": self._monitor.name}
            )

    async def cancel(self) -> None:
        """Stop watching the request (a switch started, or appha stops)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def withdraw(self, comment: str) -> None:
        """The site recovered: stop, and cancel the request in control so that a late
        approval cannot move a healthy application."""
        await self.cancel()
        request_id, self.request_id = self.request_id, None
        if request_id is None or self._o.control is None:
            return
        try:
            await self._o.control.withdraw_request(request_id, comment)
        except PeerUnavailable as exc:
            self._o.metrics.control_errors.labels(self._monitor.name, "withdraw").inc()
            log.warning(
                "cannot withdraw the request in control; decline it there",
                extra={"app": self._monitor.name, "request_id": request_id, "error": str(exc)},
            )
            return
        self._o.history.audit(
            self._monitor.name, "appha", "request_withdrawn", comment, {"request_id": request_id}
        )

    def _evidence(self, target: Site, snap: Snapshot) -> dict[str, Any]:
        source = target.other
        policy = self._monitor.policy
        view = snap.site(source)
        return {
            "direction": verb(target),
            "from_site": source.value,
            "to_site": target.value,
            "progress": threshold_progress(
                view,
                failures=policy.switch_after_failures,
                seconds=policy.switch_after_seconds,
                now=snap.now,
            ),
            "failing_since": view.failing_since_wall,
            "checks": {
                site.value: [
                    {
                        "check": r.check,
                        "ok": r.ok,
                        "latency": round(r.latency, 4),
                        "detail": r.detail,
                        "at": r.started_wall,
                    }
                    for c in self._monitor.check_views(site)
                    for r in self._monitor.recent(site, c.name)[-3:]
                ]
                for site in Site
            },
            "budget": self._o.budget.as_dict(),
        }

    async def _run(
        self, target: Site, event_id: int, reason: str, evidence: dict[str, Any]
    ) -> None:
        monitor = self._monitor
        source = target.other
        observation = await self._o.guard.observe(
            source, f"request-{event_id}", monitor.last_alive_wall(source)
        )
        monitor.attestation = observation.as_dict()
        evidence = {**evidence, "attestation": observation.as_dict()}
        self._o.history.audit(
            monitor.name,
            "appha",
            "observed",
            f"{source} observed before asking control (not fenced): "
            f"signals {', '.join(observation.signals) or 'none'}",
            observation.as_dict(),
        )
        control = self._o.control
        if control is None:
            log.error(
                "no control configured: failover request cannot be opened",
                extra={"app": monitor.name},
            )
            return
        request_id = await self._open(control, reason, evidence)
        self.request_id = request_id
        monitor.post(RequestAnswered(request_id))
        self._o.history.event_request(event_id, request_id)
        self._o.history.audit(
            monitor.name, "appha", "request_opened", reason, {"request_id": request_id}
        )
        log.info(
            "failover request opened in control",
            extra={"app": monitor.name, "request_id": request_id},
        )
        await self._watch(control, request_id)

    async def _open(self, control: Any, reason: str, evidence: dict[str, Any]) -> str:
        pause = self._o.poll_interval_seconds
        key = f"appha-{self._monitor.name}-{uuid.uuid4().hex}"  # one per request, all retries
        refused: str | None = None
        while True:
            try:
                return str(
                    await control.open_request(self._monitor.name, reason, evidence, key)
                )
            except RequestRefused as exc:
                # control decides a refused request again on every retry (same key): once
                # the block is acknowledged or the freeze lifted, the next retry opens it
                self._o.metrics.control_errors.labels(self._monitor.name, "refused").inc()
                if exc.message != refused:
                    refused = exc.message
                    self._monitor.post(RequestAnswered(None, refused))
                await asyncio.sleep(pause)
                pause = min(pause * 2, REFUSED_RETRY_MAX_SECONDS)
                continue
            except PeerUnavailable as exc:
                self._o.metrics.control_errors.labels(self._monitor.name, "open_request").inc()
                log.warning(
                    "cannot open request; retrying",
                    extra={"app": self._monitor.name, "error": str(exc)},
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)

    async def _watch(self, control: Any, request_id: str) -> None:
        while True:
            await asyncio.sleep(self._o.poll_interval_seconds)
            try:
                state = await control.request_state(request_id)
            except PeerUnavailable:
                self._o.metrics.control_errors.labels(self._monitor.name, "request_state").inc()
                continue
            if state in DECLINED_STATES:
                self._monitor.post(RequestDeclined(request_id, state))
                return
            if state in FINISHED_STATES:
                return
