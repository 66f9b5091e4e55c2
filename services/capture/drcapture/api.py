"""Capture's admin API (docs/INTERFACES.md): status, stop; plus /health and /metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drcommon.http import (
    BodyLimits,
    add_health_and_metrics,
    api_app,
    protect,
    require_token,
    token_admit,
)
from fastapi import APIRouter, Depends, FastAPI, status

if TYPE_CHECKING:
    from drcapture.service import CaptureService


def build_app(service: CaptureService) -> FastAPI:
    """The FastAPI app for one running capture service."""
    app = api_app("drcapture", version="1")
    token = service.settings.http.callers(key="http.service_token")
    add_health_and_metrics(app, service.health, service.metrics.metrics, service.settings.http,
                           require_token(token))
    protect(app, admit=token_admit(token), limits=BodyLimits.of(service.settings.http))
    router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token(token))])

    @router.get("/status")
    async def get_status() -> dict[str, Any]:
        return service.status()

    @router.post("/stop", status_code=status.HTTP_202_ACCEPTED)
    async def post_stop() -> dict[str, str]:
        pipeline = service.pipeline
        if pipeline is not None:
            pipeline.done = True
        return {"state": "stopping"}

    @router.post("/fence", status_code=status.HTTP_202_ACCEPTED)
    async def post_fence() -> dict[str, Any]:
        """Read what the source wrote, publish it with a final watermark, then stop.
        Idempotent: asking again (same operation or not) answers the same."""
        return service.request_fence()

    app.include_router(router)
    return app
