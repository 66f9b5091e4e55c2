"""One application's loop: checks run on their own schedules, every result (and a tick)
wakes the decision loop, which takes a snapshot, calls :func:`drappha.decide.decide` and
carries out the one action it returns.

Long actions (observing and asking control, a switch) run as their own tasks so checks and
decisions continue; their outcomes come back as intents through the same queue as the
API's requests, so every state change goes through the pure decision function.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from drappha.adapters import Probe, run_check
from drappha.budget import Budget
from drappha.decide import Policy, decide, switch_failed, verb
from drappha.errors import OperationConflict, SwitchRefused
from drappha.guard import Guard
from drappha.history import History, OperationRecord, availability
from drappha.incidents import Incidents
from drappha.metrics import AppHAMetrics
from drappha.model import (
    ActionKind,
    AppState,
    CheckResult,
    CheckView,
    Decision,
    Intent,
    Mode,
    OperationFinished,
    Phase,
    Site,
    SiteView,
    Snapshot,
    Status,
    SwitchCommand,
)
from drappha.peers import ControlClient, combine
from drappha.reporting import Reporter
from drappha.requests import RequestRunner
from drappha.settings import AppSettings
from drappha.specs import AnyCheck
from drappha.switching import Switcher, SwitchRequest
from drappha.tracker import last_seen_alive, observe, site_view, threshold_met

log = logging.getLogger(__name__)

_Item = tuple[Intent | None, "asyncio.Future[Decision] | None"]


@dataclass(frozen=True, slots=True)
class MonitorOptions:
    """What a monitor needs besides its application's settings."""

    history: History
    metrics: AppHAMetrics
    guard: Guard
    control: ControlClient | None
    budget: Budget
    auto_allowed: bool
    tick_seconds: float = 0.5
    recent_results: int = 20
    availability_window_seconds: float = 86400.0
    poll_interval_seconds: float = 2.0


def policy_of(settings: AppSettings) -> Policy:
    """The decision numbers of an application."""
    return Policy(
        switch_after_failures=settings.detection.switch_after_failures,
        switch_after_seconds=settings.detection.switch_after_seconds,
        grace_seconds=settings.detection.grace_seconds,
        hold_down_seconds=settings.anti_flap.hold_down_seconds,
        min_switch_interval_seconds=settings.anti_flap.min_switch_interval_seconds,
    )


def to_wall(mono: float | None, now: float, wall: float) -> float | None:
    """A monotonic time as wall-clock time."""
    return None if mono is None else wall - (now - mono)


class AppMonitor:
    """Watches one application and switches it when the decision function says so."""

    def __init__(
        self,
        name: str,
        settings: AppSettings,
        probes: dict[Site, list[tuple[str, AnyCheck, Probe]]],
        options: MonitorOptions,
    ) -> None:
        self.name = name
        self.settings = settings
        self._probes = probes
        self._o = options
        self._policy = policy_of(settings)
        self._views = {site: [CheckView(n) for n, _, _ in probes[site]] for site in Site}
        self._recent: dict[tuple[Site, str], deque[CheckResult]] = {
            (site, n): deque(maxlen=options.recent_results)
            for site in Site
            for n, _, _ in probes[site]
        }
        self._site_status = dict.fromkeys(Site, Status.UNKNOWN)
        self._witness_seen_up: dict[Site, float] = {}
        self._witness_cache: tuple[float, Site, Status] | None = None
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._kicked = False
        self._tasks: list[asyncio.Task[None]] = []
        self._switch_task: asyncio.Task[None] | None = None
        self._incidents = Incidents(name, options.history, options.metrics)
        self._last_message = ""
        self.attestation: dict[str, Any] | None = None
        self.state = AppState(mode=Mode(settings.mode), started_at=time.monotonic())
        self.failed: BaseException | None = None
        self._switcher = Switcher(name, settings, options.guard, options.history)
        self._reporter = Reporter(name, options.control, options.metrics)
        self._requests = RequestRunner(self, options)

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        self.state = self._restored(time.monotonic())
        self._publish_state()
        for site in Site:
            for index, (name, spec, probe) in enumerate(self._probes[site]):
                self._spawn(self._check_loop(site, index, name, spec, probe), f"{self.name}-{name}")
        self._spawn(self._loop(), f"{self.name}-decide")

    async def stop(self) -> None:
        await self._requests.cancel()
        tasks = [*self._tasks, *([self._switch_task] if self._switch_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._reporter.drain()
        for site in Site:
            for _, _, probe in self._probes[site]:
                await probe.close()

    def _spawn(self, body: Any, name: str) -> None:
        task = asyncio.create_task(body, name=name)
        task.add_done_callback(self._task_ended)
        self._tasks.append(task)

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.failed = exc
            log.error(
                "monitor task died", exc_info=exc, extra={"app": self.name, "task": task.get_name()}
            )

    def _restored(self, now: float) -> AppState:
        saved = self._o.history.load_state(self.name, now)
        if saved is None:
            return self.state
        state = saved
        if state.mode is Mode.AUTO and not self._o.auto_allowed:
            state = replace(state, mode=Mode.MANUAL)
            log.warning(
                "saved mode auto no longer allowed by configuration; manual",
                extra={"app": self.name},
            )
        if state.phase.is_moving:
            text = f"operation {state.operation_id} interrupted by an appha restart; check traffic"
            state = switch_failed(state, text)
            log.error(f"ALERT: {text}", extra={"app": self.name})
        elif state.phase is Phase.SWITCH_RECOMMENDED:
            state = replace(state, phase=Phase.DEGRADED, request_open=False)
        log.info(
            "state restored", extra={"app": self.name, "phase": state.phase, "active": state.active}
        )
        return state

    # -- checks ----------------------------------------------------------------------

    async def _check_loop(
        self, site: Site, index: int, name: str, spec: AnyCheck, probe: Probe
    ) -> None:
        next_at = time.monotonic()
        while True:
            result = await run_check(name, probe, spec.timeout_seconds)
            self._on_result(site, index, spec, result)
            next_at += spec.interval_seconds
            now = time.monotonic()
            next_at = max(next_at, now)  # an overrun skips a beat instead of bunching up
            await asyncio.sleep(next_at - now)

    def _on_result(self, site: Site, index: int, spec: AnyCheck, result: CheckResult) -> None:
        views = self._views[site]
        views[index] = observe(views[index], result, rise=spec.rise, fall=spec.fall)
        self._recent[(site, result.check)].append(result)
        self._o.metrics.check(self.name, site, result)
        status = site_view(views).status
        if status is not self._site_status[site]:
            self._site_status[site] = status
            self._o.history.transition(self.name, site, status, time.time())
            self._o.metrics.site(self.name, site, status)
        self._kick()

    def _kick(self) -> None:
        if not self._kicked:
            self._kicked = True
            self._queue.put_nowait((None, None))

    # -- decisions -------------------------------------------------------------------

    async def submit(self, intent: Intent, timeout: float = 10.0) -> Decision:
        """Hand an intent to the decision loop and wait for its decision."""
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        await self._queue.put((intent, future))
        async with asyncio.timeout(timeout):
            return await future

    def post(self, intent: Intent) -> None:
        """Hand an intent to the decision loop without waiting (task outcomes)."""
        self._queue.put_nowait((intent, None))

    async def _loop(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that arrives as the queue hands over an item, and stop() would wait forever
            try:
                async with asyncio.timeout(self._o.tick_seconds):
                    intent, future = await self._queue.get()
            except TimeoutError:
                intent, future = None, None
            if intent is None:
                self._kicked = False
            try:
                decision = await self._decide(intent)
            except Exception as exc:  # keep deciding; the failure is logged and returned
                log.exception("decision failed", extra={"app": self.name})
                if future is not None and not future.done():
                    future.set_exception(exc)
                continue
            if future is not None and not future.done():
                future.set_result(decision)

    def site_views(self) -> dict[Site, SiteView]:
        return {site: site_view(self._views[site]) for site in Site}

    async def _decide(self, intent: Intent | None) -> Decision:
        witness, frozen = Status.UNKNOWN, None
        if intent is None and self._escalating(self.site_views(), time.monotonic()):
            witness = await self._witness(self.state.active, time.monotonic())
            if self.state.mode is Mode.AUTO:
                frozen = await self._reporter.frozen()
        # the snapshot is taken after the peers answered, so its time (which a switch
        # records as its start) is never earlier than what it saw
        now = time.monotonic()
        views = self.site_views()
        snap = Snapshot(
            now=now,
            primary=views[Site.PRIMARY],
            standby=views[Site.STANDBY],
            witness=witness,
            frozen=frozen,
            intent=intent,
            auto_operation_id=f"auto-{self.name}-{uuid.uuid4().hex[:12]}",
        )
        decision = decide(self._policy, self.state, snap)
        await self._apply(decision, snap, intent)
        return decision

    def _escalating(self, views: dict[Site, SiteView], now: float) -> bool:
        """Whether the active site fails enough that the guard's view is needed."""
        if self.state.phase not in (Phase.HEALTHY, Phase.ON_STANDBY, Phase.DEGRADED):
            return False
        return threshold_met(
            views[self.state.active],
            failures=self._policy.switch_after_failures,
            seconds=self._policy.switch_after_seconds,
            now=now,
        )

    async def _witness(self, site: Site, now: float) -> Status:
        """The witnesses' view of ``site``, asked at most once per check interval."""
        pause = min(spec.interval_seconds for _, spec, _ in self._probes[site])
        cached = self._witness_cache
        if cached is not None and cached[1] is site and now - cached[0] < pause:
            return cached[2]
        reports = await self._o.guard.witness_reports(site)
        status = combine(reports)
        for report in reports:
            self._o.metrics.witness_answers.labels(self.name, report.status.value).inc()
            if report.status is Status.UP:
                self._witness_seen_up[site] = time.time()
        self._witness_cache = (now, site, status)
        return status

    def last_alive_wall(self, site: Site) -> float | None:
        """When any vantage point last saw ``site`` alive (for the lease)."""
        now, wall = time.monotonic(), time.time()
        local = to_wall(last_seen_alive(site_view(self._views[site])), now, wall)
        times = [t for t in (local, self._witness_seen_up.get(site)) if t is not None]
        return max(times) if times else None

    async def _apply(self, decision: Decision, snap: Snapshot, intent: Intent | None) -> None:
        old, new = self.state, decision.state
        self.state = new
        if new != old:
            self._o.history.save_state(self.name, new, snap.now)
            self._publish_state()
        self._log(decision, changed=new != old)
        action = decision.action
        if action.kind is ActionKind.OPEN_REQUEST:
            assert action.target is not None
            onset = snap.site(action.target.other).failing_since_wall
            event_id = self._incidents.detected(action.target, decision.message, onset)
            self._requests.open(action.target, event_id, decision.message, snap)
        elif action.kind is ActionKind.START_SWITCH:
            self._start_switch(decision, snap, intent)
        elif action.kind is ActionKind.ALERT:
            self._reporter.alert(decision.message)
            self._o.history.audit(self.name, "appha", "alert", decision.message)
        elif action.kind is ActionKind.RECORD:
            actor = getattr(intent, "requested_by", "control")
            kind = type(intent).__name__ if intent is not None else "record"
            self._o.history.audit(self.name, actor, kind, decision.message)
            self._reporter.report(kind, {"message": decision.message, "by": actor})
        elif action.kind is ActionKind.FINISHED:
            self._finish_switch(decision, intent)
        recovered = new.phase is Phase.settled(new.active)
        if new.phase is not Phase.SWITCH_RECOMMENDED and old.phase is Phase.SWITCH_RECOMMENDED:
            if not new.phase.is_moving:
                self._incidents.close("recovered" if recovered else "declined")
            if recovered:
                await self._requests.withdraw(decision.message)
            else:
                await self._requests.cancel()
        elif old.phase is Phase.DEGRADED and recovered:
            self._incidents.close("recovered")

    def _log(self, decision: Decision, *, changed: bool) -> None:
        important = changed or decision.action.kind is not ActionKind.NONE
        if not important and decision.message == self._last_message:
            return
        self._last_message = decision.message
        level = logging.WARNING if decision.action.kind is ActionKind.ALERT else logging.INFO
        log.log(
            level if important else logging.DEBUG,
            decision.message,
            extra={
                "app": self.name,
                "phase": decision.state.phase.value,
                "action": decision.action.kind.value,
            },
        )

    def _publish_state(self) -> None:
        m, s = self._o.metrics, self.state
        m.phase(self.name, s.phase)
        m.active_site.labels(self.name).set(0 if s.active is Site.PRIMARY else 1)
        m.blocked.labels(self.name).set(1 if s.blocked else 0)
        m.maintenance.labels(self.name).set(1 if s.maintenance else 0)
        m.auto_mode.labels(self.name).set(1 if s.mode is Mode.AUTO else 0)

    def _start_switch(self, decision: Decision, snap: Snapshot, intent: Intent | None) -> None:
        target, op = decision.action.target, decision.action.operation_id
        assert target is not None and op is not None
        if isinstance(intent, SwitchCommand):
            by = intent.requested_by
            event_id = self._incidents.requested(target, by)
        else:
            by = "appha (auto)"
            onset = snap.site(target.other).failing_since_wall
            event_id = self._incidents.detected(target, decision.message, onset)
        history = self._o.history
        history.create_operation(op, self.name, target, by, event_id)
        self._incidents.switch_started(op)
        history.audit(self.name, by, verb(target), decision.message, {"operation_id": op})
        request = SwitchRequest(
            operation_id=op,
            target=target,
            # every switch needs a sufficient attestation; one a person confirmed in control
            # may go on without it only when they accepted a possible split brain
            require_attestation=True,
            last_alive_wall=self.last_alive_wall(target.other),
            accept_split_brain=(
                intent.accept_split_brain if isinstance(intent, SwitchCommand) else None
            ),
        )
        self._switch_task = asyncio.create_task(self._switch(request), name=f"{self.name}-{op}")

    async def _switch(self, request: SwitchRequest) -> None:
        try:
            finished = await self._switcher.run(request)
        except Exception as exc:  # the switch must end in an outcome, whatever broke
            log.exception("switch crashed", extra={"app": self.name})
            error = f"{type(exc).__name__}: {exc}"
            self._o.history.finish_operation(
                request.operation_id, succeeded=False, verified=False, error=error
            )
            finished = OperationFinished(request.operation_id, request.target, False, error)
        if self._switcher.last_attestation is not None:
            self.attestation = self._switcher.last_attestation.as_dict()
        self.post(finished)

    def _finish_switch(self, decision: Decision, intent: Intent | None) -> None:
        assert isinstance(intent, OperationFinished)
        direction = verb(intent.target)
        outcome = "succeeded" if intent.succeeded else "failed"
        self._o.metrics.switches.labels(self.name, direction, outcome).inc()
        record = self._o.history.operation(intent.operation_id)
        event = self._incidents.switch_finished(record, intent.succeeded) if record else None
        self._o.history.audit(self.name, "appha", f"{direction}_{outcome}", decision.message)
        detail = {
            "message": decision.message,
            "operation": record.as_dict() if record else None,
            "event": event,
        }
        self._reporter.report(f"{direction}_{outcome}", detail)
        if not intent.succeeded:
            self._reporter.alert(decision.message)

    # -- API support -----------------------------------------------------------------

    async def request_switch(
        self,
        target: Site,
        operation_id: str,
        requested_by: str,
        accept_split_brain: str | None = None,
        compensates: str | None = None,
    ) -> OperationRecord:
        """control's switch/switchback: idempotent per operation id."""
        existing = self._o.history.operation(operation_id)
        if existing is not None:
            if existing.app != self.name or existing.target is not target:
                raise OperationConflict(
                    "operation id already used for another switch",
                    operation_id=operation_id,
                    app=existing.app,
                    target=existing.target.value,
                )
            return existing
        if compensates is not None:
            self._check_compensation(compensates, target)
        decision = await self.submit(
            SwitchCommand(target, operation_id, requested_by, accept_split_brain, compensates)
        )
        record = self._o.history.operation(operation_id)
        if record is not None and record.app == self.name and record.target is target:
            return record  # started now, or by a concurrent call with the same id
        raise SwitchRefused(decision.action.reason or decision.message, app=self.name)

    def _check_compensation(self, undone: str, target: Site) -> None:
        """Only this application's latest switch, succeeded, away from ``target``, can be
        undone without waiting for its block and interval."""
        record = self._o.history.operation(undone)
        latest = self._o.history.latest_operation_id(self.name)
        if (
            record is None
            or record.app != self.name
            or latest != undone
            or record.state != "succeeded"
            or record.target is not target.other
        ):
            raise SwitchRefused(
                f"{undone} is not the last switch of {self.name} away from {target}; "
                "only that can be undone at once",
                app=self.name,
            )

    async def change(self, intent: Intent) -> Decision:
        """Mode, maintenance or acknowledgement; a refusal raises :class:`SwitchRefused`."""
        decision = await self.submit(intent)
        if decision.action.kind is ActionKind.REFUSE:
            raise SwitchRefused(decision.action.reason or decision.message, app=self.name)
        return decision

    def operation(self, operation_id: str) -> OperationRecord | None:
        """A switch operation of this application."""
        record = self._o.history.operation(operation_id)
        return record if record is not None and record.app == self.name else None

    def events(self, limit: int) -> list[dict[str, Any]]:
        return self._o.history.events(self.name, limit)

    def audit(self, limit: int) -> list[dict[str, Any]]:
        return self._o.history.audit_entries(self.name, limit)

    def availability(self, site: Site) -> float | None:
        wall = time.time()
        since = wall - self._o.availability_window_seconds
        return availability(self._o.history.transitions(self.name, site, since), since, wall)

    def recent(self, site: Site, check: str) -> list[CheckResult]:
        return list(self._recent[(site, check)])

    def check_views(self, site: Site) -> list[CheckView]:
        return list(self._views[site])

    def kinds(self, site: Site) -> list[str]:
        return [spec.kind for _, spec, _ in self._probes[site]]

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def last_message(self) -> str:
        return self._last_message

    def refresh_gauges(self) -> None:
        for site in Site:
            value = self.availability(site)
            if value is not None:
                self._o.metrics.availability.labels(self.name, site.value).set(value)
