"""Probes and actions against real servers and real processes on this machine."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from drappha.adapters import ActionContext, make_action, make_probe, run_action, run_check
from drappha.settings import VerifySettings
from drappha.specs import (
    CommandAction,
    CommandCheck,
    HttpAction,
    HttpCheck,
    NginxUpstreamAction,
    TcpCheck,
)
from drappha.switching import verify_traffic
from drcommon.http import HttpServer
from fastapi import FastAPI, Request

from tests.integration.appha.rig import HOST, AppServer


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that containers may lack does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


CTX = ActionContext("his", "standby", "op-7", ("192.168.0.1:80", "192.168.0.2:80"))


async def check(spec: Any) -> tuple[bool, str]:
    probe = make_probe(spec)
    try:
        result = await run_check("c", probe, spec.timeout_seconds)
    finally:
        await probe.close()
    return result.ok, result.detail


async def test_http_probe_status_body_latency_and_unreachable() -> None:
    app = AppServer("site=primary")
    await app.start()
    url = f"http://{HOST}:{app.port}/health"
    try:
        ok, detail = await check(HttpCheck(url=url, body_pattern="site=primary", timeout_seconds=3))
        assert ok, detail
        ok, detail = await check(HttpCheck(url=url, body_pattern="site=standby", timeout_seconds=3))
        assert not ok and "body does not match" in detail
        app.mode = "fail"
        ok, detail = await check(HttpCheck(url=url, timeout_seconds=3))
        assert not ok and detail == "status 500"
        assert (await check(HttpCheck(url=url, expect_status=[500], timeout_seconds=3)))[0]
        app.mode, app.delay = "slow", 0.3
        ok, detail = await check(HttpCheck(url=url, max_latency_ms=100, timeout_seconds=3))
        assert not ok and detail.startswith("slow:")
        ok, detail = await check(HttpCheck(url=url, timeout_seconds=0.1, interval_seconds=1))
        assert not ok and "0.1" in detail
    finally:
        await app.stop()
    ok, detail = await check(HttpCheck(url=url, timeout_seconds=3))
    assert not ok and "ConnectError" in detail


async def test_tcp_probe() -> None:
    app = AppServer("x")
    await app.start()
    port = app.port
    assert (await check(TcpCheck(host=HOST, port=port, timeout_seconds=3)))[0]
    await app.stop()
    ok, detail = await check(TcpCheck(host=HOST, port=port, timeout_seconds=3))
    assert not ok and detail.startswith(f"connect {HOST}:{port}")


async def test_command_probe_exit_output_and_timeout_kills_the_group(tmp_path: Path) -> None:
    assert (await check(CommandCheck(argv=["sh", "-c", "echo ready"], expect_output="^ready")))[0]
    ok, detail = await check(CommandCheck(argv=["sh", "-c", "echo broken; exit 3"]))
    assert not ok and detail == "exit 3: broken"
    ok, detail = await check(CommandCheck(argv=["sh", "-c", "echo nope"], expect_output="^ready"))
    assert not ok and "does not match" in detail
    pid_file = tmp_path / "pid"
    spec = CommandCheck(
        argv=["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"],
        timeout_seconds=0.5,
        interval_seconds=1,
    )
    started = time.monotonic()
    ok, detail = await check(spec)
    assert not ok and "no answer within 0.5 s" in detail
    assert time.monotonic() - started < 2
    child = int(pid_file.read_text())
    await asyncio.sleep(0.1)
    assert not alive(child), "the grandchild went with the process group"


async def test_command_action_fills_placeholders_and_environment(tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = CommandAction(
        argv=[
            "sh",
            "-c",
            f'echo "$0 $1 $DRAPPHA_SERVERS $DRAPPHA_OPERATION_ID" > {out}',
            "{app}",
            "{site}",
        ]
    )
    outcome = await run_action(make_action(spec), CTX, 5)
    assert outcome.ok, outcome.detail
    assert out.read_text().strip() == "his standby 192.168.0.1:80,192.168.0.2:80 op-7"
    failing = CommandAction(argv=["sh", "-c", "echo denied >&2; exit 1"])
    outcome = await run_action(make_action(failing), CTX, 5)
    assert not outcome.ok and outcome.detail == "exit 1: denied"


async def test_http_action_templates_url_body_and_sends_token(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    app = FastAPI()

    @app.put("/pools/{name}")
    async def put_pool(name: str, request: Request) -> dict[str, str]:
        seen.append(
            {
                "name": name,
                "body": await request.json(),
                "auth": request.headers.get("authorization"),
            }
        )
        return {"ok": "yes"}

    server = HttpServer(app, HOST, 0)
    await server.start()
    token_file = tmp_path / "token"
    token_file.write_text("lb-token-value\n")
    try:
        spec = HttpAction(
            method="PUT",
            url=f"{server.url}/pools/{{app}}",
            json_body={"site": "{site}", "servers": "{servers}", "weight": 100},
            token_file=token_file,
        )
        outcome = await run_action(make_action(spec), CTX, 5)
        assert outcome.ok, outcome.detail
        assert seen == [
            {
                "name": "his",
                "body": {
                    "site": "standby",
                    "servers": "192.168.0.1:80,192.168.0.2:80",
                    "weight": 100,
                },
                "auth": "Bearer lb-token-value",
            }
        ]
        missing = HttpAction(method="PUT", url=f"{server.url}/nowhere")
        outcome = await run_action(make_action(missing), CTX, 5)
        assert not outcome.ok and "404" in outcome.detail
    finally:
        await server.stop()


async def test_nginx_action_restores_on_failed_test_and_reloads_on_success(tmp_path: Path) -> None:
    upstream = tmp_path / "his.conf"
    upstream.write_text("upstream his_backend {\n    server 10.0.0.1:80;\n}\n")
    reloads = tmp_path / "reloads"
    reload_cmd = ["sh", "-c", f'echo "reload $DRAPPHA_SITE" >> {reloads}']
    bad = NginxUpstreamAction(
        file=upstream,
        upstream="his_backend",
        test_argv=["sh", "-c", "echo syntax error; exit 1"],
        reload_argv=reload_cmd,
    )
    outcome = await run_action(make_action(bad), CTX, 5)
    assert not outcome.ok and "previous upstream restored" in outcome.detail
    assert "10.0.0.1:80" in upstream.read_text() and not reloads.exists()
    good = NginxUpstreamAction(
        file=upstream, upstream="his_backend", test_argv=["true"], reload_argv=reload_cmd
    )
    outcome = await run_action(make_action(good), CTX, 5)
    assert outcome.ok, outcome.detail
    text = upstream.read_text()
    assert "server 192.168.0.1:80;" in text and "server 192.168.0.2:80;" in text
    assert "10.0.0.1" not in text
    assert reloads.read_text() == "reload standby\n"


async def test_verify_traffic_needs_the_marker_in_a_row() -> None:
    app = AppServer("site=standby")
    await app.start()
    try:
        spec = VerifySettings(
            url=f"http://{HOST}:{app.port}/__site",
            interval_seconds=0.05,
            timeout_seconds=1,
            required_successes=3,
        )
        ok = await verify_traffic(spec, "site=standby")
        assert ok.ok and "3 times in a row" in ok.detail
        started = time.monotonic()
        wrong = await verify_traffic(spec, "site=primary")
        assert not wrong.ok and "did not answer with 'site=primary'" in wrong.detail
        assert 0.9 < time.monotonic() - started < 5.0  # waits out the timeout, then stops
    finally:
        await app.stop()
