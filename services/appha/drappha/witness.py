"""``drappha witness``: a second vantage point at a third location.

appha asks ``POST /api/v1/probe {"app", "site"}``; the witness runs the checks it was
configured with for that site (addresses as seen from *its* location) once, now, and
answers whether the site is serving. It probes only configured targets, never a URL
from the request, so it cannot be turned into a scanner.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from drcommon.http import (
    BodyLimits,
    Health,
    HealthStatus,
    HttpServer,
    add_health_and_metrics,
    api_app,
    protect,
    require_token,
    token_admit,
)
from drcommon.metrics import Metrics
from drcommon.service import ServiceBase
from fastapi import APIRouter, Depends, FastAPI, HTTPException
from pydantic import BaseModel

from drappha.adapters import Probe, make_probe, run_check
from drappha.serving import http_server
from drappha.settings import WitnessSettings
from drappha.specs import AnyCheck, check_name

log = logging.getLogger(__name__)


class ProbeRequest(BaseModel):
    """Which application's site to probe."""

    app: str
    site: str


class WitnessService(ServiceBase):
    """The witness's HTTP server and its probes."""

    def __init__(self, settings: WitnessSettings) -> None:
        self._settings = settings
        self._targets: dict[tuple[str, str], list[tuple[str, AnyCheck, Probe]]] = {
            (t.app, t.site): [(check_name(i, c), c, make_probe(c)) for i, c in enumerate(t.checks)]
            for t in settings.targets
        }
        self.metrics = Metrics("appha_witness")
        self._probes = self.metrics.counter(
            "probes_total", "Probe requests answered, by verdict.", ("app", "site", "serving")
        )
        self._server: HttpServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return self._server.url

    async def probe(self, app: str, site: str) -> dict[str, Any]:
        """Run the target's checks once, concurrently; serving if all pass."""
        checks = self._targets.get((app, site))
        if checks is None:
            raise KeyError((app, site))
        results = await asyncio.gather(
            *(run_check(name, probe, spec.timeout_seconds) for name, spec, probe in checks)
        )
        serving = all(r.ok for r in results)
        self._probes.labels(app, site, str(serving).lower()).inc()
        log.info("probed", extra={"app": app, "site": site, "serving": serving})
        return {
            "app": app,
            "site": site,
            "serving": serving,
            "probed_at": time.time(),
            "results": [
                {"check": r.check, "ok": r.ok, "latency": r.latency, "detail": r.detail}
                for r in results
            ],
        }

    def build_app(self) -> FastAPI:
        """The witness's FastAPI application."""
        app = api_app("drappha witness")
        token = self._settings.http.callers(key="http.service_token")
        add_health_and_metrics(app, lambda: Health(HealthStatus.OK), self.metrics,
                               self._settings.http, require_token(token))
        protect(app, admit=token_admit(token), limits=BodyLimits.of(self._settings.http))
        router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token(token))])

        @router.post("/probe")
        async def probe(body: ProbeRequest) -> dict[str, Any]:
            try:
                return await self.probe(body.app, body.site)
            except KeyError:
                raise HTTPException(404, f"no target {body.app}/{body.site} configured") from None

        app.include_router(router)
        return app

    async def start(self) -> None:
        self._server = http_server(self.build_app(), self._settings.http)
        await self._server.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
        for checks in self._targets.values():
            for _, _, probe in checks:
                await probe.close()

    async def wait(self) -> None:
        await asyncio.Event().wait()
