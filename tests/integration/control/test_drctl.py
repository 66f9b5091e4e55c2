"""The real ``drctl`` (and ``drcontrol user``/``audit``) against a real ``drcontrol run``
process: every operation, the documented exit codes, audit tampering detection.

Blocking subprocess calls run in a thread so the stand-in peers (in this event loop)
keep answering the control process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio
from drcontrol.auth.totp import totp
from drcontrol.canonical import canonical_json

from tests.integration.control.peers.standins import StandIns
from tests.integration.control.process import (
    ControlProcess,
    cli,
    environment,
    json_of,
    write_config,
)

TOTP_SECRET = base64.b32encode(b"ada-second-factor-0001").decode()
USERS = {"olga": "operator", "ann": "approver", "vic": "viewer", "ada": "admin"}


@dataclass
class Deployment:
    """A control process, its environment and one token per user."""

    process: ControlProcess
    env: dict[str, str]
    tokens: dict[str, str]
    database: Path

    async def run(self, user: str | None, *args: str, **kw: Any
                  ) -> subprocess.CompletedProcess[str]:
        token = self.tokens[user] if user else None
        return await asyncio.to_thread(cli, self.env, *args, token=token,
                                       url=self.process.url, **kw)


@pytest_asyncio.fixture(loop_scope="function")
async def deployment(tmp_path: Path, standins: StandIns, kafka_bootstrap: str
                     ) -> AsyncIterator[Deployment]:
    config = write_config(tmp_path, standins, kafka_bootstrap)
    env = environment(standins, config)
    env["DRCONTROL__BREAK_GLASS__TOTP_SECRETS"] = json.dumps({"ada": TOTP_SECRET})
    # The first admin comes from the storage-side command; the others from drctl.
    admin = await asyncio.to_thread(cli, env, "user", "add", "ada", "--role", "admin",
                                    program="drcontrol")
    assert admin.returncode == 0, admin.stderr
    tokens = {"ada": admin.stdout.strip()}
    process = ControlProcess(config, env, tmp_path / "control.log")
    await asyncio.to_thread(process.start)
    for name, role in USERS.items():
        if name not in tokens:
            added = await asyncio.to_thread(cli, env, "user", "add", name, "--role", role,
                                            token=tokens["ada"], url=process.url)
            assert added.returncode == 0, added.stderr
            tokens[name] = added.stdout.strip()
    yield Deployment(process, env, tokens, tmp_path / "control.sqlite3")
    await asyncio.to_thread(process.stop)


async def test_drctl_covers_the_operations_with_exit_codes(deployment: Deployment,
                                                           standins: StandIns,
                                                           tmp_path: Path) -> None:
    d = deployment
    assert (await d.run("olga", "whoami")).stdout.strip() == "olga (operator)"
    status = json_of(await d.run("vic", "--json", "status"))
    assert status["site_group"]["database_primary"] == "primary"
    assert "failover" in json_of(await d.run("vic", "--json", "budget"))["runbooks"]
    human = await d.run("vic", "status")
    assert human.returncode == 0 and "database" in human.stdout

    op = json_of(await d.run("olga", "--json", "failover", "request", "-r", "flood"))
    op_id = op["id"]
    assert op["state"] == "awaiting_approval" and op["evidence_digest"]
    assert (await d.run("olga", "failover", "approve", op_id, "--accept-seconds", "60",
                        "--yes")).returncode == 3
    assert (await d.run("ann", "switchover", "approve", op_id, "--accept-seconds", "60",
                        "--yes")).returncode == 2
    unconfirmed = await d.run("ann", "failover", "approve", op_id, "--accept-seconds", "60",
                              stdin="n\n")
    assert unconfirmed.returncode == 2 and "not confirmed" in unconfirmed.stderr
    done = await d.run("ann", "--json", "failover", "approve", op_id, "--accept-seconds", "60",
                       "--yes", "--wait", "--timeout", "60")
    assert done.returncode == 0, done.stderr
    assert json_of(done)["state"] == "succeeded"
    html = tmp_path / "report.html"
    report = json_of(await d.run("vic", "--json", "failover", "report", op_id,
                                 "--html", str(html)))
    assert report["rpo"]["zero_data_loss"] is True and "RTO" in html.read_text()
    assert (await d.run("vic", "failover", "show", "op-missing")).returncode == 4
    assert (await d.run("vic", "ops")).stdout.count(op_id) == 1

    back = json_of(await d.run("olga", "--json", "switchback", "request", "-r", "home ok"))
    # no reverse stream configured here: the stated loss must be accepted explicitly
    refused = await d.run("ann", "switchback", "approve", back["id"], "--accept-seconds", "0",
                          "--yes")
    assert refused.returncode == 3 and "accept_unreplicated_writes" in refused.stderr
    finished = await d.run("ann", "switchback", "approve", back["id"], "--accept-seconds",
                           "600", "--accept-unreplicated-writes", "--yes", "--wait",
                           "--timeout", "60")
    assert finished.returncode == 0, finished.stdout + finished.stderr

    drill = json_of(await d.run("olga", "--json", "drill", "request", "--of", "failover"))
    assert (await d.run("ann", "drill", "approve", drill["id"], "--accept-seconds", "60",
                        "--yes")).returncode == 0
    assert (await d.run("vic", "drill", "wait", drill["id"], "--timeout", "60")).returncode == 0

    standins.appha.outcome["payments"] = "fail"
    broken = json_of(await d.run("olga", "--json", "failover", "request", "-r", "again"))
    failed = await d.run("ann", "failover", "approve", broken["id"], "--accept-seconds", "60",
                         "--yes", "--wait", "--timeout", "60")
    assert failed.returncode == 1
    shown = await d.run("vic", "execution", "show", broken["id"])
    assert "failed" in shown.stdout and "switch_apps" in shown.stdout
    assert (await d.run("olga", "execution", "skip", broken["id"], "--step", "switch_apps",
                        "-m", "x")).returncode == 3
    assert (await d.run("ada", "execution", "skip", broken["id"], "--step", "switch_apps",
                        "-m", "moved by hand")).returncode == 0
    assert (await d.run("vic", "failover", "wait", broken["id"], "--timeout", "60")
            ).returncode == 0


async def test_drctl_governance_users_break_glass_and_audit_tampering(
        deployment: Deployment, tmp_path: Path) -> None:
    d = deployment
    assert (await d.run("olga", "freeze", "-m", "quarter close")).returncode == 0
    assert (await d.run("olga", "unfreeze", "-m", "x")).returncode == 3
    assert (await d.run("ann", "unfreeze", "-m", "closed")).returncode == 0
    assert json_of(await d.run("vic", "--json", "blocks", "list")) == {}
    assert (await d.run("olga", "replay", "-r", "resync", "--schema", "HR",
                        "--from-scn", "100")).returncode == 0
    assert (await d.run("olga", "user", "list")).returncode == 3
    added = await d.run("ada", "user", "add", "zed", "--role", "viewer")
    assert added.returncode == 0 and added.stdout.startswith("drc_")
    assert "zed" in (await d.run("ada", "user", "list")).stdout
    assert (await d.run("ada", "user", "revoke", "zed")).returncode == 0
    d.tokens["zed"] = added.stdout.strip()
    assert (await d.run("zed", "status")).returncode == 3
    assert (await d.run(None, "status")).returncode == 2
    token_file = tmp_path / "token"
    token_file.write_text(d.tokens["vic"] + "\n")
    by_file = await d.run(None, "--token-file", str(token_file), "whoami")
    assert by_file.returncode == 0 and by_file.stdout.strip() == "vic (viewer)"
    unreachable = await asyncio.to_thread(cli, d.env, "status", token="x",
                                          url="http://127.0.0.1:9")
    assert unreachable.returncode == 5

    op = json_of(await d.run("olga", "--json", "failover", "request", "-r", "no confirmer"))
    code = totp(TOTP_SECRET, time.time())
    glass = await d.run("ada", "--json", "break-glass", op["id"], "--totp", code, "-r",
                        "confirmer unreachable", "--accept-seconds", "60")
    assert glass.returncode == 0, glass.stderr
    assert json_of(glass)["review_required"] is True
    assert (await d.run("ann", "review", op["id"], "-m", "checked")).returncode == 0
    ok = await d.run("vic", "audit", "verify")
    assert ok.returncode == 0 and ok.stdout.startswith("OK")
    export = tmp_path / "audit.jsonl"
    assert (await d.run("vic", "audit", "export", "--out", str(export))).returncode == 0
    lines = export.read_text().splitlines()
    assert json.loads(lines[-1])["head"]["seq"] == len(lines) - 1
    offline = await asyncio.to_thread(cli, d.env, "audit", "verify", "--file", str(export))
    assert offline.returncode == 0

    with sqlite3.connect(d.database) as db:
        db.execute("UPDATE audit SET detail = '{\"comment\":\"nothing happened\"}' "
                   "WHERE seq = 5")
    modified = await d.run("vic", "audit", "verify")
    assert modified.returncode == 1 and "record 5 was modified" in modified.stdout
    local = await asyncio.to_thread(cli, d.env, "audit", "verify", program="drcontrol")
    assert local.returncode == 1 and "record 5" in local.stderr
    tampered = lines[:6] + lines[7:]
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(tampered) + "\n")
    deleted = await asyncio.to_thread(cli, d.env, "audit", "verify", "--file", str(edited))
    assert deleted.returncode == 1 and "record 7 is missing" in deleted.stdout

    original = canonical_json(json.loads(lines[4])["detail"])
    with sqlite3.connect(d.database) as db:
        db.execute("UPDATE audit SET detail = ? WHERE seq = 5", (original,))
        db.execute("DELETE FROM audit WHERE seq = 9")
    gone = await d.run("vic", "--json", "audit", "verify")
    assert gone.returncode == 1 and json.loads(gone.stdout)["bad_seq"] == 9
    assert "record 9 is missing" in json.loads(gone.stdout)["reason"]
