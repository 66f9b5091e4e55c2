"""The appha service: one monitor per application, the history file, the admin API."""

from __future__ import annotations

import asyncio
import logging

from drcommon.http import (
    BodyLimits,
    Health,
    HealthStatus,
    HttpServer,
    add_health_and_metrics,
    api_app,
    require_token,
)
from drcommon.service import ServiceBase
from fastapi import FastAPI

from drappha.adapters.control_http import HttpControlClient
from drappha.adapters.witness_http import HttpWitness
from drappha.api import ApiContext, install
from drappha.budget import budgets
from drappha.guard import Guard, probes_for
from drappha.history import History
from drappha.metrics import AppHAMetrics
from drappha.model import Phase
from drappha.monitor import AppMonitor, MonitorOptions
from drappha.peers import ControlClient, Vantage
from drappha.serving import http_server
from drappha.settings import AppHASettings, auto_missing

log = logging.getLogger(__name__)

_GAUGE_REFRESH_SECONDS = 10.0


class AppHAService(ServiceBase):
    """Watches every configured application and serves the admin API.

    ``control`` and ``vantages`` default to the HTTP clients built from the settings;
    another implementation of the protocols plugs in unchanged.
    """

    def __init__(
        self,
        settings: AppHASettings,
        *,
        control: ControlClient | None = None,
        vantages: list[Vantage] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = AppHAMetrics()
        self.history = History(settings.history.path)
        if control is None and settings.control is not None:
            control = HttpControlClient(settings.control)
        self._control = control
        self._vantages: list[Vantage] = (
            vantages if vantages is not None else [HttpWitness(w) for w in settings.witnesses]
        )
        self.monitors: dict[str, AppMonitor] = {}
        self._server: HttpServer | None = None
        self._refresh: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self._budgets = {b.app: b for b in budgets(settings)}

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return self._server.url

    def _build_monitors(self) -> None:
        poll = self.settings.control.poll_interval_seconds if self.settings.control else 2.0
        for name, app in self.settings.apps.items():
            probes = probes_for(app)
            options = MonitorOptions(
                history=self.history,
                metrics=self.metrics,
                guard=Guard(name, app, self._vantages, probes),
                control=self._control,
                budget=self._budgets[name],
                auto_allowed=auto_missing(self.settings, app) is None,
                tick_seconds=self.settings.tick_seconds,
                recent_results=self.settings.history.recent_results,
                availability_window_seconds=self.settings.history.availability_window_seconds,
                poll_interval_seconds=poll,
            )
            self.monitors[name] = AppMonitor(name, app, probes, options)

    def health(self) -> Health:
        """failing if a monitor died; degraded while any app is not settled."""
        details = {
            name: {"state": m.state.phase.value, "active_site": m.state.active.value}
            for name, m in self.monitors.items()
        }
        if any(m.failed is not None for m in self.monitors.values()):
            return Health(HealthStatus.FAILING, {"apps": details, "error": "a monitor task died"})
        settled = all(
            m.state.phase in (Phase.HEALTHY, Phase.ON_STANDBY) for m in self.monitors.values()
        )
        return Health(HealthStatus.OK if settled else HealthStatus.DEGRADED, {"apps": details})

    def build_app(self) -> FastAPI:
        """The FastAPI application: /health, /metrics and /api/v1."""
        app = api_app("drappha")
        http = self.settings.http
        callers = http.callers(key="http.service_token")
        add_health_and_metrics(app, self.health, self.metrics.registry, http,
                               require_token(callers))
        ctx = ApiContext(
            monitors=self.monitors,
            budgets=self._budgets,
            auto_allowed={
                name: auto_missing(self.settings, a) is None
                for name, a in self.settings.apps.items()
            },
        )
        install(app, ctx, callers, BodyLimits.of(http))
        return app

    async def start(self) -> None:
        self.history.open()
        for ident in self.history.fail_interrupted():
            log.warning(
                "operation interrupted by restart marked failed", extra={"operation_id": ident}
            )
        self._build_monitors()
        for monitor in self.monitors.values():
            await monitor.start()
        self._server = http_server(self.build_app(), self.settings.http)
        await self._server.start()
        self._refresh = asyncio.create_task(self._refresh_gauges(), name="appha-gauges")
        log.info("appha started", extra={"apps": list(self.monitors), "url": self._server.url})

    async def _refresh_gauges(self) -> None:
        while True:
            for monitor in self.monitors.values():
                monitor.refresh_gauges()
            await asyncio.sleep(_GAUGE_REFRESH_SECONDS)

    async def stop(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
        if self._server is not None:
            await self._server.stop()
        for monitor in self.monitors.values():
            await monitor.stop()
        for vantage in self._vantages:
            await vantage.close()
        if self._control is not None:
            await self._control.close()
        self.history.close()
        self._stopped.set()

    async def wait(self) -> None:
        await self._stopped.wait()
