"""Real servers on loopback for appha's scenarios.

* :class:`AppServer`: the application at one site (an in-loop uvicorn server on its own
  port) that can be made failing, slow or unreachable (stopped; restarted on its port).
* :class:`Link`: a TCP relay standing for the network path from the DR site to the cloud;
  ``cut()`` black-holes it (connections hang) while other paths still work.
* :class:`Router`: the public entry point, routing to the first server of the upstream
  file that the "reload" script last loaded, like nginx after ``nginx -s reload``.
* :class:`ControlServer`: a small real HTTP server implementing the part of control's API
  appha calls (operations, freeze, events). It stands in for the control service, which
  is built separately; it calls appha's switch endpoint as control would on approval.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from drcommon.http import HttpServer, require_token
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

HOST = "127.0.0.1"


async def until(
    predicate: Callable[[], Any | Awaitable[Any]], timeout: float, what: str, pause: float = 0.05
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(pause)


class AppServer:
    """One site's application: ``/health`` and ``/__site`` answer with the site marker."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.mode = "ok"  # ok | fail | slow | flap
        self.delay = 0.0
        self.flap_down = 0.25  # flap: fails this long, then answers for flap_up, on the clock
        self.flap_up = 0.35
        self._flap_start = time.monotonic()
        self.port = 0
        self._server: HttpServer | None = None

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/{path:path}")
        async def any_path(path: str) -> Response:
            if path == "__fence":  # a fence action that really stops this site serving
                self.mode = "fail"
                return PlainTextResponse("fenced")
            if self.mode == "fail" or (self.mode == "flap" and self._flapping_down()):
                return PlainTextResponse("broken", status_code=500)
            if self.mode == "slow":
                await asyncio.sleep(self.delay)
            return PlainTextResponse(f"OK {self.marker}")

        return app

    def flap(self, down: float, up: float) -> None:
        """Fail for ``down`` seconds, answer for ``up``, and so on, by the clock (so the
        test loop's own delays cannot stretch a failure)."""
        self.flap_down, self.flap_up = down, up
        self._flap_start = time.monotonic()
        self.mode = "flap"

    def _flapping_down(self) -> bool:
        phase = (time.monotonic() - self._flap_start) % (self.flap_down + self.flap_up)
        return phase < self.flap_down

    async def start(self) -> None:
        """Listen (again) on the same port."""
        self._server = HttpServer(self._app(), HOST, self.port)
        await self._server.start()
        self.port = self._server.port

    async def stop(self) -> None:
        """The application dies: the port refuses connections."""
        if self._server is not None:
            await self._server.stop()
            self._server = None


class Link:
    """A TCP relay to ``target_port``; ``cut`` makes it swallow traffic silently."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._cut = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        self._cut.set()
        for writer in list(self._writers):
            transport = writer.transport
            if isinstance(transport, asyncio.ReadTransport):
                transport.pause_reading()

    def restore(self) -> None:
        self._cut.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self._cut.is_set():
                await asyncio.sleep(3600)  # black hole: accepted, never answered
            up_reader, up_writer = await asyncio.open_connection(HOST, self.target_port)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except OSError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self._cut.is_set():
                    await asyncio.sleep(3600)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)


class Router:
    """The public URL: proxies to the first ``server`` of the loaded upstream file."""

    def __init__(self, loaded: Path) -> None:
        self.loaded = loaded
        self._server: HttpServer | None = None

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/{path:path}")
        async def route(path: str) -> Response:
            text = self.loaded.read_text() if self.loaded.exists() else ""
            servers = re.findall(r"^\s*server\s+([^\s;]+)", text, re.MULTILINE)
            if not servers:
                return PlainTextResponse("no upstream", status_code=502)
            try:
                async with httpx.AsyncClient(timeout=0.5) as client:
                    answer = await client.get(f"http://{servers[0]}/{path}")
            except httpx.HTTPError:
                return PlainTextResponse("bad gateway", status_code=502)
            return PlainTextResponse(answer.text, status_code=answer.status_code)

        return app

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    async def start(self) -> None:
        self._server = HttpServer(self._app(), HOST, 0)
        await self._server.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()


class ControlServer:
    """control's operations, freeze and events endpoints, as appha calls them."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.operations: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.frozen = False
        self.freeze_fails = False
        self.blocked_apps: set[str] = set()
        self.with_permit = True  # False: an older control with only /freeze
        self.refuse: str | None = None  # set: requests are refused (409) with this reason
        self._ids = itertools.count(1)
        self._server: HttpServer | None = None

    def _app(self) -> FastAPI:
        app = FastAPI()
        auth = [Depends(require_token(self.token))]
        self._operation_routes(app, auth)
        self._automation_routes(app, auth)

        @app.post("/api/v1/events", dependencies=auth, status_code=202)
        async def event(request: Request) -> dict[str, str]:
            self.events.append(await request.json())
            return {"status": "recorded"}

        return app

    def _operation_routes(self, app: FastAPI, auth: list[Any]) -> None:
        @app.post("/api/v1/operations", dependencies=auth, status_code=201)
        async def open_operation(request: Request) -> Any:
            body = await request.json()
            if self.refuse is not None:
                return JSONResponse({"detail": self.refuse}, status_code=409)
            key = request.headers.get("Idempotency-Key")
            for ident, op in self.operations.items():  # a retry: the first answer again
                if key is not None and op.get("idempotency_key") == key:
                    return {"id": ident, "state": op["state"]}
            ident = f"ctl-{next(self._ids)}"
            self.operations[ident] = {"id": ident, "state": "pending", **body,
                                      "idempotency_key": key}
            return {"id": ident, "state": "pending"}

        @app.get("/api/v1/operations/{ident}", dependencies=auth)
        async def get_operation(ident: str) -> Response:
            op = self.operations.get(ident)
            if op is None:
                return JSONResponse({"detail": "no such operation"}, status_code=404)
            return JSONResponse({"id": ident, "state": op["state"]})

        @app.post("/api/v1/operations/{ident}/cancel", dependencies=auth)
        async def cancel_operation(ident: str, request: Request) -> Response:
            op = self.operations.get(ident)
            if op is None:
                return JSONResponse({"detail": "no such operation"}, status_code=404)
            op["state"] = "cancelled"
            op["cancel_comment"] = (await request.json())["comment"]
            return JSONResponse({"id": ident, "state": "cancelled"})

    def _automation_routes(self, app: FastAPI, auth: list[Any]) -> None:
        @app.get("/api/v1/freeze", dependencies=auth)
        async def freeze() -> Response:
            if self.freeze_fails:
                return JSONResponse({"detail": "store down"}, status_code=503)
            return JSONResponse({"frozen": self.frozen})

        @app.get("/api/v1/automation/permit", dependencies=auth)
        async def permit(app: str) -> Response:
            if not self.with_permit:
                return JSONResponse({"detail": "Not Found"}, status_code=404)
            if self.freeze_fails:
                return JSONResponse({"detail": "store down"}, status_code=503)
            if self.frozen or app in self.blocked_apps:
                return JSONResponse({"detail": "global freeze by ops: drill"}, status_code=409)
            return JSONResponse({"allowed": True, "reason": "allowed"})

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    def kinds(self, app: str) -> list[str]:
        return [e["kind"] for e in self.events if e["app"] == app]

    def requests(self, app: str) -> list[dict[str, Any]]:
        return [op for op in self.operations.values() if op.get("app") == app]

    async def approve(self, ident: str, appha_url: str, appha_token: str) -> httpx.Response:
        """A person approved: call appha's switch endpoint as control does."""
        op = self.operations[ident]
        op["state"] = "approved"
        direction = op["evidence"]["direction"]
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(
                f"{appha_url}/api/v1/apps/{op['app']}/{direction}",
                json={"operation_id": ident, "requested_by": "operator"},
                headers={"Authorization": f"Bearer {appha_token}"},
            )

    async def start(self) -> None:
        self._server = HttpServer(self._app(), HOST, 0)
        await self._server.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
