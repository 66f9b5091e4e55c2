"""One application (``his``) wired for real: two app servers, the link to the cloud, the
router that the nginx-style upstream file steers, shell-script actions, a witness, the
control server and appha itself, all on loopback with short intervals."""

from __future__ import annotations

import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from drappha.budget import Budget, budgets
from drappha.service import AppHAService
from drappha.settings import AppHASettings, WitnessSettings
from drappha.witness import WitnessService
from drcommon.config import load_settings

from tests.integration.appha.rig import HOST, AppServer, ControlServer, Link, Router, until

APPHA_TOKEN = "appha-test-token-0123456789"
CONTROL_TOKEN = "control-test-token-0123456789"
WITNESS_TOKEN = "witness-test-token-0123456789"
OPS_TOKEN = "ops-caller-test-token-0123456789"  # a per-caller credential: caller "ops"
APP = "his"


@dataclass(frozen=True)
class Timing:
    """Short intervals so a scenario takes seconds."""

    interval: float = 0.2
    timeout: float = 0.15
    rise: int = 1
    fall: int = 2
    failures: int = 3
    seconds: float = 0.5
    hold_down: float = 0.6
    min_interval: float = 1.0
    witness_timeout: float = 1.5  # the witness shares this loop: room for its own 1 s check
    ready_timeout: float = 3.0
    verify_timeout: float = 3.0


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\nset -e\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


class Scenario:
    """Everything for one test; ``async with Scenario(tmp_path, mode=...) as s``."""

    def __init__(
        self,
        tmp: Path,
        *,
        mode: str = "auto",
        timing: Timing = Timing(),
        reload_loads: bool = True,
        grace: float = 0.0,
        fence_stops: bool = False,
    ) -> None:
        self.tmp = tmp
        self.mode = mode
        self.t = timing
        self.reload_loads = reload_loads
        self.grace = grace
        self.fence_stops = fence_stops  # False: the fence script only records that it ran
        self.primary = AppServer("site=primary")
        self.standby = AppServer("site=standby")
        self.actions_log = tmp / "actions.log"
        self.upstream = tmp / "upstream.conf"
        self.loaded = tmp / "loaded.conf"
        self.control = ControlServer(CONTROL_TOKEN)
        self.router = Router(self.loaded)
        self.link: Link | None = None
        self.witness: WitnessService | None = None
        self.appha: AppHAService | None = None
        self.settings: AppHASettings | None = None
        self._client = httpx.AsyncClient(
            timeout=10, headers={"Authorization": f"Bearer {APPHA_TOKEN}"}
        )

    # -- set-up ------------------------------------------------------------------------

    def _scripts(self) -> dict[str, Path]:
        log = self.actions_log
        copy = f'cp "{self.upstream}" "{self.loaded}"\n' if self.reload_loads else ""
        return {
            "start": _script(self.tmp / "start.sh", f'echo "start $1 $2" >> "{log}"\n'),
            "fence": _script(self.tmp / "fence.sh", f'echo "fence $1 $2" >> "{log}"\n' + (
                f'"{sys.executable}" -c "import sys, urllib.request as u; '
                "u.urlopen('http://' + sys.argv[1] + '/__fence', timeout=1)\" \"$3\" || true\n"
                if self.fence_stops else "")),
            "reload": _script(
                self.tmp / "reload.sh",
                f'{copy}echo "reload $DRAPPHA_SITE $DRAPPHA_OPERATION_ID" >> "{log}"\n',
            ),
        }

    def _check(self, **extra: Any) -> dict[str, Any]:
        t = self.t
        return {
            "interval_seconds": t.interval,
            "timeout_seconds": t.timeout,
            "rise": t.rise,
            "fall": t.fall,
            **extra,
        }

    def app_settings(self) -> dict[str, Any]:
        """The application's configuration, as a TOML file would give it."""
        assert self.link is not None
        t, scripts = self.t, self._scripts()
        via_link = self.link.port
        return {
            "mode": self.mode,
            "primary": {
                "servers": [f"{HOST}:{self.primary.port}"],
                "marker": "site=primary",
                "checks": [
                    self._check(
                        kind="http",
                        name="health",
                        url=f"http://{HOST}:{via_link}/health",
                        body_pattern="^OK",
                    ),
                    self._check(kind="tcp", name="port", host=HOST, port=via_link),
                ],
                "start": {
                    "kind": "command",
                    "argv": [str(scripts["start"]), "{site}", "{operation_id}"],
                    "timeout_seconds": 2,
                },
                "fence": {
                    "kind": "command",
                    "argv": [str(scripts["fence"]), "{site}", "{operation_id}", "{servers}"],
                    "timeout_seconds": 2,
                },
            },
            "standby": {
                "servers": [f"{HOST}:{self.standby.port}"],
                "marker": "site=standby",
                "checks": [
                    self._check(
                        kind="http",
                        name="health",
                        url=f"http://{HOST}:{self.standby.port}/health",
                        body_pattern="^OK",
                    )
                ],
                "start": {
                    "kind": "command",
                    "argv": [str(scripts["start"]), "{site}", "{operation_id}"],
                    "timeout_seconds": 2,
                },
                "fence": {
                    "kind": "command",
                    "argv": [str(scripts["fence"]), "{site}", "{operation_id}", "{servers}"],
                    "timeout_seconds": 2,
                },
            },
            "detection": {
                "switch_after_failures": t.failures,
                "switch_after_seconds": t.seconds,
                "grace_seconds": self.grace,
            },
            "anti_flap": {
                "hold_down_seconds": t.hold_down,
                "min_switch_interval_seconds": t.min_interval,
            },
            "switch": {"target_ready_timeout_seconds": t.ready_timeout, "lease_seconds": 0.5},
            "traffic": {
                "kind": "nginx",
                "file": str(self.upstream),
                "upstream": "his_backend",
                "reload_argv": [str(scripts["reload"])],
                "timeout_seconds": 2,
            },
            "verify": {
                "url": f"{self.router.url}/__site",
                "interval_seconds": 0.1,
                "timeout_seconds": t.verify_timeout,
                "required_successes": 2,
                "request_timeout_seconds": 0.5,
            },
        }

    def _witness_settings(self) -> WitnessSettings:
        def direct(server: AppServer) -> list[dict[str, Any]]:
            return [
                {
                    "kind": "http",
                    "url": f"http://{HOST}:{server.port}/health",
                    "interval_seconds": 2.0,
                    "timeout_seconds": 1.0,
                }
            ]

        return load_settings(
            WitnessSettings,
            None,
            env_prefix="DRAPPHA_TEST_WITNESS",
            http={"port": 0, "service_token": WITNESS_TOKEN},
            targets=[
                {"app": APP, "site": "primary", "checks": direct(self.primary)},
                {"app": APP, "site": "standby", "checks": direct(self.standby)},
            ],
        )

    async def __aenter__(self) -> Self:
        await self.primary.start()
        await self.standby.start()
        self.link = Link(self.primary.port)
        await self.link.start()
        initial = f"upstream his_backend {{\n    server {HOST}:{self.primary.port};\n}}\n"
        self.upstream.write_text(initial)
        self.loaded.write_text(initial)
        await self.router.start()
        await self.control.start()
        self.witness = WitnessService(self._witness_settings())
        await self.witness.start()
        self.settings = load_settings(
            AppHASettings,
            None,
            env_prefix="DRAPPHA_TEST",
            http={"port": 0, "service_token": APPHA_TOKEN, "caller_tokens": {"ops": OPS_TOKEN}},
            control={"url": self.control.url, "token": CONTROL_TOKEN, "poll_interval_seconds": 0.1},
            witnesses=[
                {
                    "name": "w1",
                    "url": self.witness.url,
                    "token": WITNESS_TOKEN,
                    "timeout_seconds": self.t.witness_timeout,
                }
            ],
            history={"path": str(self.tmp / "appha.sqlite")},
            tick_seconds=0.1,
            apps={APP: self.app_settings()},
        )
        self.appha = AppHAService(self.settings)
        await self.appha.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()
        for part in (self.appha, self.witness, self.control, self.router, self.link):
            if part is not None:
                await part.stop()
        await self.primary.stop()
        await self.standby.stop()

    # -- helpers -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.appha is not None
        return self.appha.url

    @property
    def budget(self) -> Budget:
        assert self.settings is not None
        return budgets(self.settings)[0]

    async def api(
        self, method: str, path: str, body: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return await self._client.request(method, f"{self.url}/api/v1{path}", json=body,
                                          headers=headers)

    async def app(self) -> dict[str, Any]:
        response = await self.api("GET", f"/apps/{APP}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_for(self, what: str, timeout: float = 10.0, **expect: Any) -> dict[str, Any]:
        """Poll the app's API view until every ``key=value`` in ``expect`` holds."""

        async def matches() -> dict[str, Any] | None:
            view = await self.app()
            return view if all(view.get(k) == v for k, v in expect.items()) else None

        result: dict[str, Any] = await until(matches, timeout, what)
        return result

    async def ready(self) -> None:
        """Both sites seen up and the app settled."""

        async def both_up() -> bool:
            view = await self.app()
            return all(s["status"] == "up" for s in view["sites"].values())

        await until(both_up, 5.0, "both sites up")

    def actions(self) -> list[str]:
        if not self.actions_log.exists():
            return []
        return self.actions_log.read_text().splitlines()

    async def routed_marker(self) -> str:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{self.router.url}/__site")).text

    async def events(self) -> list[dict[str, Any]]:
        response = await self.api("GET", f"/apps/{APP}/events")
        body: list[dict[str, Any]] = response.json()
        return body

    async def kill_primary(self) -> float:
        """The cloud application dies; returns the wall-clock time it happened."""
        at = time.time()
        await self.primary.stop()
        return at

    async def app_status(self, site: str) -> bool:
        """Whether ``site`` is seen up."""
        view = await self.app()
        return bool(view["sites"][site]["status"] == "up")

    async def alert_contains(self, text: str) -> dict[str, Any] | None:
        view = await self.app()
        return view if view["alert"] and text in view["alert"] else None

    async def alert_raised_at(self, text: str) -> float:
        """When appha raised ``text`` (from its audit log)."""
        entries = (await self.api("GET", f"/apps/{APP}/audit")).json()
        times = [e["at_wall"] for e in entries if e["kind"] == "alert" and e["message"] == text]
        assert times, f"no alert {text!r} in the audit log"
        return float(min(times))
