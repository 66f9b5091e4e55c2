"""A switch as ordered, recorded steps; switchback is the same path towards the primary.

1. ``start_target``: run the target site's start action (start or verify the app);
2. ``wait_target_healthy``: probe the target until every check passes;
3. ``fence_source``: fence the site traffic leaves and attest that it no longer serves;
   the switch stops here unless the attestation is sufficient, or a person who confirmed
   it in control explicitly accepted a possible split brain (recorded in the attestation);
4. ``move_traffic``: the traffic action (command, HTTP API, nginx upstream + reload);
5. ``verify_traffic``: the verification URL must answer with the target's marker,
   ``required_successes`` times in a row. Only this makes a switch succeed: a traffic
   move that cannot be verified is a failed switch.

Every step is recorded in the history under the operation id before and after it runs,
so the switch status shows where it stands; the actions themselves are idempotent by
contract, and an operation id that already finished is never run again (the monitor
answers with the stored result).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from drappha.adapters import ActionContext, Outcome, make_action, run_action
from drappha.adapters.http import tls_verify
from drappha.guard import Attestation, Guard
from drappha.history import History
from drappha.model import OperationFinished, Site, Status
from drappha.settings import AppSettings, SiteSettings, VerifySettings

log = logging.getLogger(__name__)

STEPS = ("start_target", "wait_target_healthy", "fence_source", "move_traffic", "verify_traffic")


@dataclass(frozen=True, slots=True)
class SwitchRequest:
    """What to run: which operation, towards which site, under which rules."""

    operation_id: str
    target: Site
    require_attestation: bool
    last_alive_wall: float | None  # when the source was last seen alive (lease)
    accept_split_brain: str | None = None  # who accepted an insufficient attestation, why


async def verify_traffic(spec: VerifySettings, marker: str) -> Outcome:
    """Poll the public URL until it answers with ``marker`` enough times in a row."""
    deadline = time.monotonic() + spec.timeout_seconds
    streak = 0
    last = "no answer yet"
    async with httpx.AsyncClient(
        verify=tls_verify(spec.verify_tls, spec.ca_file),
        timeout=spec.request_timeout_seconds,
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as client:
        while time.monotonic() < deadline:
            try:
                response = await client.get(spec.url)
                seen = marker in response.text
                last = f"status {response.status_code}: {response.text[:120]!r}"
            except httpx.HTTPError as exc:
                seen, last = False, f"{type(exc).__name__}: {exc}"
            streak = streak + 1 if seen else 0
            if streak >= spec.required_successes:
                return Outcome(True, f"{spec.url} answered with {marker!r} {streak} times in a row")
            await asyncio.sleep(spec.interval_seconds)
    return Outcome(
        False,
        f"traffic not verified: {spec.url} did not answer with {marker!r} within "
        f"{spec.timeout_seconds:g} s (last: {last})",
    )


class Switcher:
    """Runs switch operations of one application."""

    def __init__(self, app: str, settings: AppSettings, guard: Guard, history: History) -> None:
        self._app = app
        self._settings = settings
        self._guard = guard
        self._history = history
        self.last_attestation: Attestation | None = None

    def _site(self, site: Site) -> SiteSettings:
        return self._settings.primary if site is Site.PRIMARY else self._settings.standby

    async def run(self, request: SwitchRequest) -> OperationFinished:
        """Run every step in order; the first failing step fails the switch."""
        steps: list[tuple[str, Callable[[], Awaitable[Outcome]]]] = [
            ("start_target", lambda: self._start(request)),
            ("wait_target_healthy", lambda: self._wait_healthy(request.target)),
            ("fence_source", lambda: self._fence(request)),
            ("move_traffic", lambda: self._move(request)),
            ("verify_traffic", lambda: self._verify(request.target)),
        ]
        op = request.operation_id
        for seq, (name, body) in enumerate(steps, start=1):
            self._history.step(op, seq, name, "running", None)
            try:
                outcome = await body()
            except Exception as exc:  # an adapter bug must fail the switch, not the loop
                log.exception("switch step crashed", extra={"app": self._app, "step": name})
                outcome = Outcome(False, f"{type(exc).__name__}: {exc}")
            self._history.step(
                op, seq, name, "succeeded" if outcome.ok else "failed", outcome.detail
            )
            log.info(
                f"{name}: {outcome.detail}",
                extra={"app": self._app, "operation_id": op, "ok": outcome.ok},
            )
            if not outcome.ok:
                error = f"{name} failed: {outcome.detail}"
                self._history.finish_operation(op, succeeded=False, verified=False, error=error)
                moved = STEPS.index(name) >= STEPS.index("move_traffic")
                return OperationFinished(
                    op, request.target, succeeded=False, error=error, traffic_moved=moved
                )
        self._history.finish_operation(op, succeeded=True, verified=True, error=None)
        return OperationFinished(op, request.target, succeeded=True)

    def _context(self, site: Site, operation_id: str) -> ActionContext:
        return ActionContext(self._app, site.value, operation_id, tuple(self._site(site).servers))

    async def _start(self, request: SwitchRequest) -> Outcome:
        spec = self._site(request.target).start
        if spec is None:
            return Outcome(True, "no start action configured; health checks verify the app")
        ctx = self._context(request.target, request.operation_id)
        return await run_action(make_action(spec), ctx, spec.timeout_seconds)

    async def _wait_healthy(self, target: Site) -> Outcome:
        deadline = time.monotonic() + self._settings.switch.target_ready_timeout_seconds
        pause = min(c.interval_seconds for c in self._site(target).checks)
        while True:
            report = await self._guard.local_report(target)
            if report.status is Status.UP:
                return Outcome(True, f"{target}: {report.detail}")
            if time.monotonic() + pause > deadline:
                return Outcome(False, f"{target} did not pass its checks in time: {report.detail}")
            await asyncio.sleep(pause)

    async def _fence(self, request: SwitchRequest) -> Outcome:
        source = request.target.other
        attestation = await self._guard.attest(
            source, request.operation_id, request.last_alive_wall
        )
        self.last_attestation = attestation
        summary = (
            f"fence {'ok' if attestation.fence_ok else 'not ok'} ({attestation.fence_detail}); "
            f"signals {', '.join(attestation.signals) or 'none'}; "
            f"{'sufficient' if attestation.sufficient else 'insufficient'}"
        )
        stored = attestation.as_dict()
        override = request.accept_split_brain
        if not attestation.sufficient and override:
            stored["override"] = override
        self._history.set_attestation(request.operation_id, stored)
        if attestation.sufficient or not request.require_attestation:
            return Outcome(True, summary)
        if override:
            return Outcome(
                True, f"{summary}; INSUFFICIENT — possible split brain accepted: {override}"
            )
        return Outcome(
            False,
            f"fencing attestation insufficient ({summary}); traffic not moved: repair the "
            "fence, or an approver must accept a possible split brain in control",
        )

    async def _move(self, request: SwitchRequest) -> Outcome:
        spec = self._settings.traffic
        ctx = self._context(request.target, request.operation_id)
        return await run_action(make_action(spec), ctx, spec.timeout_seconds)

    async def _verify(self, target: Site) -> Outcome:
        return await verify_traffic(self._settings.verify, self._site(target).marker)
