"""The ``drappha`` command line as real processes: check, witness, run, status."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx

from tests.integration.appha.rig import HOST, AppServer, until

ROOT = Path(__file__).resolve().parents[3]
DRAPPHA = [sys.executable, "-m", "drappha"]
TOKEN = "cli-test-token-0123456789"


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *DRAPPHA,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_check_prints_budget_and_rejects_bad_config(tmp_path: Path) -> None:
    code, out, _ = await run_cli("check", "--config", str(ROOT / "deploy/examples/appha.toml"))
    assert code == 0, out
    assert "worst-case time to detect, primary down: 25.0 s" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (ROOT / "deploy/examples/appha.toml").read_text().replace("rise = 2", "rise = 0")
    )
    code, _, err = await run_cli("check", "--config", str(bad))
    assert code == 2
    assert "apps.his.primary.checks.0.http.rise" in err
    code, out, _ = await run_cli(
        "check", "--config", str(ROOT / "deploy/examples/appha.toml"), "--json"
    )
    assert code == 0 and json.loads(out)[0]["detect_seconds"]["primary"] == 25.0


class Daemon:
    """A drappha subprocess whose URL is read from its JSON log."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.args, self.env = args, env
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""
        self._drainer: asyncio.Task[None] | None = None

    async def start(self, marker: str) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *DRAPPHA,
            *self.args,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **self.env},
        )
        assert self.process.stderr is not None
        async with asyncio.timeout(30):
            while not self.url:
                line = await self.process.stderr.readline()
                assert line, "process ended before it listened"
                record = json.loads(line)
                if record["msg"] == marker:
                    self.url = record["url"]
        self._drainer = asyncio.create_task(self._drain())  # keep reading: a full pipe blocks it

    async def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while await self.process.stderr.readline():
            pass

    async def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 30)


async def test_witness_run_and_status_as_processes(tmp_path: Path) -> None:
    primary, standby = AppServer("site=primary"), AppServer("site=standby")
    await primary.start()
    await standby.start()
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)

    def http(port: int) -> str:
        return (
            f'kind = "http"\nurl = "http://{HOST}:{port}/health"\n'
            "interval_seconds = 0.5\ntimeout_seconds = 0.4\nrise = 1\nfall = 2\n"
        )

    (tmp_path / "witness.toml").write_text(
        '[http]\nport = 0\n[[targets]]\napp = "his"\nsite = "primary"\n'
        f"[[targets.checks]]\n{http(primary.port)}"
    )
    (tmp_path / "appha.toml").write_text(
        f"""tick_seconds = 0.1
[http]
port = 0
[history]
path = "{tmp_path / "appha.sqlite"}"
[apps.his]
mode = "manual"
detection = {{ grace_seconds = 0, switch_after_failures = 2, switch_after_seconds = 0.2 }}
anti_flap = {{ hold_down_seconds = 0.5 }}
traffic = {{ kind = "command", argv = ["true"] }}
verify = {{ url = "http://{HOST}:{standby.port}/__site", timeout_seconds = 2 }}
[apps.his.primary]
marker = "site=primary"
[[apps.his.primary.checks]]
{http(primary.port)}
[apps.his.standby]
marker = "site=standby"
[[apps.his.standby.checks]]
{http(standby.port)}
"""
    )
    env = {"DRAPPHA__HTTP__SERVICE_TOKEN_FILE": str(token_file)}
    witness = Daemon("witness", "--config", str(tmp_path / "witness.toml"), env=env)
    appha = Daemon("run", "--config", str(tmp_path / "appha.toml"), env=env)
    await witness.start("http listening")
    await appha.start("appha started")
    try:
        status = ("status", "--url", appha.url, "--token-file", str(token_file))

        async def state(*expected: str) -> bool:
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
                apps = (await client.get(f"{appha.url}/api/v1/apps")).json()
            return bool(apps[0]["state"] in expected)

        await until(lambda: state("healthy"), 20, "healthy")
        code, out, _ = await run_cli(*status)
        assert code == 0, out
        assert out.split()[:4] == ["his", "manual", "healthy", "on"]
        await primary.stop()
        # without control configured the request cannot go out; the state says what it wants
        await until(lambda: state("switch_recommended"), 20, "switch recommended")
        code, out, _ = await run_cli(*status)
        assert code == 1 and out.split()[:3] == ["his", "manual", "switch_recommended"]
        # issue 14, finding 9: a blocked application is not "all settled" (exit 1)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            await primary.start()
            await until(lambda: state("healthy"), 20, "healthy again")
            switched = await client.post(
                f"{appha.url}/api/v1/apps/his/switch",
                json={"operation_id": "op-cli-1", "requested_by": "test",
                      "accept_split_brain": "test: the cloud stub has no fence"},
            )
            assert switched.status_code == 202, switched.text
        await until(lambda: state("on_standby"), 20, "on standby")
        code, out, _ = await run_cli(*status)
        assert code == 1 and "blocked:" in out, out
        code, _, err = await run_cli(
            "status", "--url", appha.url, "--token", "wrong-token-0123456789"
        )
        assert code == 2 and "401" in err
    finally:
        assert await appha.stop() == 0
        assert await witness.stop() == 0
        await standby.stop()
        await primary.stop()
