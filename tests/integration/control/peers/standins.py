"""Stand-in capture, apply and appha admin APIs (see the package docstring).

State advances lazily from the clock (no background tasks): a hold requested at ``t``
is reached at ``t + drain_seconds``, an application switch started at ``t`` ends at
``t + switch_seconds``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from drcommon.http import HttpServer, require_token
from fastapi import Depends, FastAPI, HTTPException, Request

OPERATION_HEADER = "X-DR-Operation-Id"


@dataclass
class CallLog:
    """Every mutating call: (peer, what, operation id); ``fail`` names calls
    (``"capture.fence"``, ``"apply.hold"`` …) to answer 503, for fault injection."""

    calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)

    def add(self, peer: str, what: str, request: Request) -> None:
        self.calls.append((peer, what, request.headers.get(OPERATION_HEADER)))
        if f"{peer}.{what}" in self.fail:
            raise HTTPException(503, f"{peer} {what} failed (injected)")

    def count(self) -> Counter[tuple[str, str, str | None]]:
        return Counter(self.calls)


@dataclass
class CaptureStandIn:
    """capture: running until fenced or stopped. Like the real one, a fence is answered
    at once with ``{"state": "fencing", "final_scn": null}``; the final SCN shows in the
    status ``fence_seconds`` later (state ``fenced``)."""

    log: CallLog
    state: str = "running"
    source_scn: int = 5000
    fence_seconds: float = 0.3
    fence_at: float | None = None
    reachable: bool = True
    unread_threads: list[int] = field(default_factory=list)  # read from archives only

    @property
    def final_scn(self) -> int | None:
        if self.fence_at is None or time.monotonic() - self.fence_at < self.fence_seconds:
            return None
        return self.source_scn

    def current_state(self) -> str:
        return "fenced" if self.final_scn is not None else self.state

    def app(self, token: str) -> FastAPI:
        app = FastAPI()
        auth = [Depends(require_token(token))]

        def check() -> None:
            if not self.reachable:
                raise HTTPException(503, "capture stand-in told to be down")

        @app.get("/api/v1/status", dependencies=auth)
        async def status() -> dict[str, Any]:
            check()
            return {"state": self.current_state(), "error": None,
                    "threads": {"1": {"sequence": 7, "scn": self.source_scn,
                                      "open_transactions": 0, "caught_up": True}},
                    "safe_scn": self.final_scn or self.source_scn - 1,
                    "fence_requested": self.fence_at is not None, "final_scn": self.final_scn,
                    "final_complete": (None if self.final_scn is None
                                       else not self.unread_threads),
                    "fence_unread_threads": self.unread_threads if self.final_scn else None,
                    "last_published": {"commit_scn": self.source_scn, "xid": "1.2.3"},
                    "lag_seconds": 0.5}

        @app.post("/api/v1/fence", status_code=202, dependencies=auth)
        async def fence(request: Request) -> dict[str, Any]:
            check()
            self.log.add("capture", "fence", request)
            if self.fence_at is None:
                self.fence_at = time.monotonic()
            final = self.final_scn
            return {"state": "fenced" if final is not None else "fencing", "final_scn": final}

        @app.post("/api/v1/stop", status_code=202, dependencies=auth)
        async def stop(request: Request) -> dict[str, Any]:
            check()
            self.log.add("capture", "stop", request)
            self.state = "stopped"
            return {}

        return app


@dataclass
class ApplyStandIn:
    """apply: schemas behind the source; hold drains in ``drain_seconds``."""

    log: CallLog
    schemas: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "HR": {"applied_scn": 4990, "lag_scn": 10, "lag_seconds": 1.5},
        "FIN": {"applied_scn": 4980, "lag_scn": 20, "lag_seconds": 2.5},
    })
    state: str = "running"
    hold_scn: int | None = None
    hold_at: float | None = None
    drain_seconds: float = 0.0
    parked: int = 0
    hold_gate: asyncio.Event | None = None
    replays: list[dict[str, Any]] = field(default_factory=list)
    error_after_hold: bool = False  # a schema fails while draining to the cut
    verification: dict[str, dict[str, Any]] = field(default_factory=dict)  # per schema

    def _schema_status(self, name: str, base: dict[str, Any]) -> dict[str, Any]:
        holding = (self.hold_at is not None
                   and time.monotonic() - self.hold_at >= self.drain_seconds)
        applied = base["applied_scn"]
        lag_scn = base["lag_scn"]
        state = self.state
        if holding and self.hold_scn is not None:
            applied = min(self.hold_scn, applied + lag_scn)
            lag_scn = max(0, base["applied_scn"] + base["lag_scn"] - applied)
            state = "holding" if self.state == "running" else self.state
        if self.error_after_hold and self.hold_scn is not None and name == "HR":
            state = "error"
        return {"state": state, "applied_scn": applied, "applied_xid": "9.9.9",
                "source_commit_ts": None, "lag_scn": lag_scn,
                "lag_seconds": 0.0 if holding else base["lag_seconds"], "queue_depth": 0,
                "hold_at_scn": self.hold_scn, "error": None, "conflicts": 0,
                "parked": self.parked if name == "HR" else 0}

    def status(self) -> dict[str, Any]:
        schemas = {n: self._schema_status(n, s) for n, s in self.schemas.items()}
        overall = self.state
        if self.state == "running" and all(s["state"] == "holding" for s in schemas.values()):
            overall = "holding"
        return {"state": overall, "schemas": schemas, "measured_at": time.time(),
                "verification": self.verification}

    def app(self, token: str) -> FastAPI:
        app = FastAPI()
        auth = [Depends(require_token(token))]

        @app.get("/api/v1/status", dependencies=auth)
        async def status() -> dict[str, Any]:
            return self.status()

        @app.post("/api/v1/hold", status_code=202, dependencies=auth)
        async def hold(request: Request, body: dict[str, int]) -> dict[str, Any]:
            self.log.add("apply", "hold", request)
            if self.hold_scn != body["scn"]:
                self.hold_scn, self.hold_at = body["scn"], time.monotonic()
            # The effect is in place; holding the answer lets a test interrupt the caller here.
            if self.hold_gate is not None:
                await self.hold_gate.wait()
            return {}

        @app.post("/api/v1/resume", status_code=202, dependencies=auth)
        async def resume(request: Request) -> dict[str, Any]:
            self.log.add("apply", "resume", request)
            self.hold_scn, self.hold_at, self.state = None, None, "running"
            return {}

        @app.post("/api/v1/stop", status_code=202, dependencies=auth)
        async def stop(request: Request) -> dict[str, Any]:
            self.log.add("apply", "stop", request)
            self.state = "stopped"
            return {}

        @app.post("/api/v1/replay", status_code=202, dependencies=auth)
        async def replay(request: Request, body: dict[str, Any]) -> dict[str, Any]:
            self.log.add("apply", "replay", request)
            self.replays.append(body)
            return {"replay_id": f"r{len(self.replays)}"}

        return app


@dataclass
class Switch:
    """One traffic switch started by an operation."""

    started: float
    back: bool
    requested_by: str
    accept_split_brain: str | None = None


@dataclass
class ApphaStandIn:
    """appha: applications and their switches; outcome configurable per app."""

    log: CallLog
    apps: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "social-insurance": {"mode": "manual", "state": "healthy", "active_site": "primary"},
        "payments": {"mode": "auto", "state": "healthy", "active_site": "primary"},
    })
    switch_seconds: float = 0.0
    # app -> "fail" | "unverified" | "insufficient_fencing" (fails unless the risk is accepted)
    outcome: dict[str, str] = field(default_factory=dict)
    switches: dict[tuple[str, str], Switch] = field(default_factory=dict)
    acknowledged: list[tuple[str, str, str]] = field(default_factory=list)
    compensations: list[tuple[str, str, str]] = field(default_factory=list)

    def _attestation(self, switch: Switch) -> dict[str, Any]:
        site = "standby" if switch.back else "primary"
        return {"site": site, "kind": "fence", "signals": ["fence", "vantage"],
                "sufficient": True, "fence": {"configured": True, "ok": True, "detail": "ok"}}

    def _switch_status(self, app: str, op_id: str) -> dict[str, Any]:
        switch = self.switches[(app, op_id)]
        attestation = self._attestation(switch)
        if time.monotonic() - switch.started < self.switch_seconds:
            return {"state": "running", "verified": False, "steps": ["dns"], "error": None,
                    "attestation": None}
        outcome = None if op_id.endswith(".undo") else self.outcome.get(app)
        if outcome == "fail":
            return {"state": "failed", "verified": False, "steps": ["dns"],
                    "error": "health check at the new site failed", "attestation": attestation}
        if outcome == "insufficient_fencing":
            attestation = {**attestation, "signals": ["fence"], "sufficient": False}
            if switch.accept_split_brain is None:
                self.apps[app]["blocked"] = "switch failed"
                return {"state": "failed", "verified": False, "steps": ["fence_source"],
                        "attestation": attestation,
                        "error": "fence_source failed: fencing attestation insufficient (fence "
                                 "ok; signals fence; insufficient); traffic not moved"}
            attestation["override"] = switch.accept_split_brain
        target = "primary" if switch.back else "standby"
        self.apps[app]["active_site"] = target
        return {"state": "succeeded", "verified": outcome != "unverified",
                "steps": ["dns", "probe"], "error": None, "attestation": attestation}

    def _start(self, name: str, body: dict[str, Any], request: Request, back: bool) -> None:
        if name not in self.apps:
            raise HTTPException(404, f"no app {name}")
        self.log.add("appha", f"{'switchback' if back else 'switch'}:{name}", request)
        key = (name, body["operation_id"])
        if self.apps[name].get("blocked") and not body.get("compensates"):
            raise HTTPException(412, f"blocked: {self.apps[name]['blocked']}")
        if body.get("compensates"):
            self.compensations.append((name, body["operation_id"], body["compensates"]))
        if key not in self.switches:
            self.switches[key] = Switch(time.monotonic(), back, body["requested_by"],
                                        body.get("accept_split_brain"))

    def app(self, token: str) -> FastAPI:
        app = FastAPI()
        auth = [Depends(require_token(token))]

        @app.get("/api/v1/apps", dependencies=auth)
        async def apps() -> list[dict[str, Any]]:
            return [{"name": n, "blocked": None, **a, "maintenance": False, "checks": [],
                     "attestation": None,
                     "sites": {"primary": {"status": "up"}, "standby": {"status": "up"}}}
                    for n, a in self.apps.items()]

        @app.post("/api/v1/apps/{name}/switch", status_code=202, dependencies=auth)
        async def switch(name: str, body: dict[str, Any], request: Request) -> dict[str, Any]:
            self._start(name, body, request, back=False)
            return {}

        @app.post("/api/v1/apps/{name}/switchback", status_code=202, dependencies=auth)
        async def switchback(name: str, body: dict[str, Any], request: Request) -> dict[str, Any]:
            self._start(name, body, request, back=True)
            return {}

        @app.post("/api/v1/apps/{name}/acknowledge", dependencies=auth)
        async def acknowledge(name: str, body: dict[str, Any], request: Request
                              ) -> dict[str, Any]:
            self.log.add("appha", f"acknowledge:{name}", request)
            if not self.apps[name].get("blocked"):
                raise HTTPException(412, "nothing is blocked")
            self.apps[name]["blocked"] = None
            self.acknowledged.append((name, body["requested_by"], body["comment"]))
            return {}

        @app.get("/api/v1/apps/{name}/switches/{op_id}", dependencies=auth)
        async def switch_status(name: str, op_id: str) -> dict[str, Any]:
            if (name, op_id) not in self.switches:
                raise HTTPException(404, "no such switch")
            return self._switch_status(name, op_id)

        return app


@dataclass
class StandIns:
    """All three stand-ins on loopback, with their URLs and the shared call log."""

    token: str = "standin-service-token-0123456789"
    log: CallLog = field(default_factory=CallLog)
    capture: CaptureStandIn = field(init=False)
    apply: ApplyStandIn = field(init=False)
    appha: ApphaStandIn = field(init=False)
    servers: dict[str, HttpServer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.capture = CaptureStandIn(self.log)
        self.apply = ApplyStandIn(self.log)
        self.appha = ApphaStandIn(self.log)

    async def start(self) -> None:
        for name, peer in (("capture", self.capture), ("apply", self.apply),
                           ("appha", self.appha)):
            server = HttpServer(peer.app(self.token), "127.0.0.1", 0)
            await server.start()
            self.servers[name] = server

    async def stop(self) -> None:
        for server in self.servers.values():
            await server.stop()

    def url(self, name: str) -> str:
        return self.servers[name].url

    def mutating(self, operation_id: str) -> Counter[str]:
        """How often each mutating call was made for ``operation_id``."""
        return Counter(what for _, what, op in self.log.calls if op == operation_id)
