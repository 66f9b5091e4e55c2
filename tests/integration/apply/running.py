"""Running the apply service for tests: in-process, or as a real ``drapply run`` process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from drapply.settings import ApplySettings

TOKEN = "t" * 8 + "-apply-test-token"
ROOT = Path(__file__).resolve().parents[3]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(type(value))


def write_config(settings: ApplySettings, path: Path) -> Path:
    """The settings as a TOML file (secrets left out, as the service requires)."""
    data = settings.model_dump(mode="json", exclude_none=True)
    lines = []
    for section, body in data.items():
        if isinstance(body, dict):
            lines.append(f"[{section}]")
            lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in body.items())
        elif isinstance(body, list) and body:
            for item in body:
                lines.append(f"[[{section}]]")
                lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in item.items())
        elif not isinstance(body, list):
            lines.insert(0, f"{section} = {_toml_value(body)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class ApplyProcess:
    """A real ``drapply run`` subprocess with its admin API on a known port."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.config = config
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(os.environ)
        env["DRAPPLY__HTTP__PORT"] = str(self.port)
        env["DRAPPLY__HTTP__SERVICE_TOKEN"] = TOKEN
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "drapply", "run", "--config", str(self.config)],
            stdout=handle, stderr=handle, env=env, cwd=ROOT,
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL: no drain, no rollback - the database rolls back for us."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    async def status(self) -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient(timeout=3) as client:
                answer = await client.get(
                    f"{self.url}/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"}
                )
        except httpx.HTTPError:
            return None
        return answer.json() if answer.status_code == 200 else None


async def wait_for(
    check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2
) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last={last!r}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
