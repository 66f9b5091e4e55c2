"""A real ``drcontrol run`` subprocess for CLI and crash tests, configured by a TOML file
written here, with the peer tokens passed through the environment (never the file)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.integration.control.peers.standins import StandIns

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(directory: Path, standins: StandIns, kafka: str, extra: str = "") -> Path:
    """A site TOML for a control process wired to the stand-ins."""
    config = directory / "control.toml"
    config.write_text(f"""
[http]
host = "127.0.0.1"
port = {free_port()}

[logging]
format = "text"

[kafka]
bootstrap_servers = "{kafka}"
request_timeout_ms = 5000

[storage]
backend = "sqlite"
sqlite_path = "{directory / 'control.sqlite3'}"

[peers.capture]
url = "{standins.url('capture')}"
[peers.apply]
url = "{standins.url('apply')}"
[peers.appha]
url = "{standins.url('appha')}"

[engine]
poll_interval_seconds = 0.2
lease_seconds = 3.0
step_poll_interval_seconds = 0.1
retry_delay_seconds = 0.2

[watch]
interval_seconds = 1.0
lag_alert_seconds = 30.0
{extra}
""", encoding="utf-8")
    return config


def environment(standins: StandIns, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRCONTROL", "DRCTL"))}
    env["DRCONTROL_CONFIG"] = str(config)
    for peer in ("CAPTURE", "APPLY", "APPHA"):
        env[f"DRCONTROL__PEERS__{peer}__TOKEN"] = standins.token
    return env


def port_of(config: Path) -> int:
    import tomllib

    return int(tomllib.loads(config.read_text(encoding="utf-8"))["http"]["port"])


@dataclass
class ControlProcess:
    """``drcontrol run`` in the background; its output goes to ``log``."""

    config: Path
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    runs: int = field(default=0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{port_of(self.config)}"

    def start(self, timeout: float = 30.0) -> None:
        self.runs += 1
        handle = self.log.open("ab")
        handle.write(f"--- run {self.runs} ---\n".encode())
        handle.flush()
        self.proc = subprocess.Popen([str(BIN / "drcontrol"), "run"], env=self.env,
                                     stdout=handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"drcontrol exited {self.proc.returncode}:\n"
                                     f"{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"drcontrol did not answer:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no drain, no lease hand-over."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


def cli(env: dict[str, str], *args: str, token: str | None = None, url: str | None = None,
        stdin: str | None = None, program: str = "drctl") -> subprocess.CompletedProcess[str]:
    """Run ``drctl`` (or ``drcontrol``) for real and capture its output."""
    run_env = dict(env)
    if token is not None:
        run_env["DRCTL_TOKEN"] = token
    if url is not None:
        run_env["DRCTL_URL"] = url
    return subprocess.run([str(BIN / program), *args], env=run_env, capture_output=True,
                          text=True, input=stdin, timeout=120, check=False)


def json_of(result: subprocess.CompletedProcess[str]) -> Any:
    import json

    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)
