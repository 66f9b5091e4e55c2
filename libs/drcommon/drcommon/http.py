"""The HTTP face every service shares: ``/health``, ``/metrics``, service-token auth,
and an in-process uvicorn server that runs inside the service's event loop."""

from __future__ import annotations

import asyncio
import hmac
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from drcommon.metrics import CONTENT_TYPE_LATEST, Metrics

log = logging.getLogger(__name__)


class HealthStatus(StrEnum):
    """``ok`` and ``degraded`` answer 200; ``failing`` answers 503."""

    OK = "ok"
    DEGRADED = "degraded"
    FAILING = "failing"


@dataclass(frozen=True, slots=True)
class Health:
    """A service's view of itself, rendered by ``/health``."""

    status: HealthStatus
    details: dict[str, Any] = field(default_factory=dict)


HealthProbe = Callable[[], Health | Awaitable[Health]]

_bearer = HTTPBearer(auto_error=False)


def require_token(expected: str | None) -> Callable[..., Awaitable[None]]:
    """A dependency that accepts only ``Authorization: Bearer <expected>``.

    With no token configured the admin API is closed, not open: every call gets 401.
    """

    async def check(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if (
            expected is None
            or credentials is None
            or not hmac.compare_digest(credentials.credentials.encode(), expected.encode())
        ):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing or wrong service token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check


def add_health_and_metrics(app: FastAPI, probe: HealthProbe, metrics: Metrics) -> None:
    """Mount ``/health`` (200 or 503 with details) and ``/metrics`` (Prometheus text)."""

    @app.get("/health", tags=["ops"])
    async def health(response: Response) -> dict[str, Any]:
        result = probe()
        report = await result if asyncio.iscoroutine(result) else result
        assert isinstance(report, Health)
        if report.status is HealthStatus.FAILING:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": report.status.value, **report.details}

    @app.get("/metrics", tags=["ops"])
    async def metrics_endpoint(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


class HttpServer:
    """uvicorn serving ``app`` inside the current loop; ``port`` is known after start."""

    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        tls_cert: str | None = None,
        tls_key: str | None = None,
    ) -> None:
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            ssl_certfile=tls_cert,
            ssl_keyfile=tls_key,
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self._server.config.ssl_certfile else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]), name="http")
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        log.info("http listening", extra={"url": self.url})

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        try:
            async with asyncio.timeout(10):
                await asyncio.shield(self._task)
        except TimeoutError:
            self._task.cancel()
        self._sock.close()
