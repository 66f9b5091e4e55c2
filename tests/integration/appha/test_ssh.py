"""The SSH check and action against a real SSH server on loopback (asyncssh's server,
running each command with /bin/sh like sshd does), with key login and host-key checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncssh
from drappha.adapters import ActionContext, make_action, make_probe, run_action, run_check
from drappha.specs import SshAction, SshCheck

HOST = "127.0.0.1"


async def _run_command(process: asyncssh.SSHServerProcess[str]) -> None:
    shell = await asyncio.create_subprocess_shell(
        process.command or "true",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await shell.communicate()
    process.stdout.write(output.decode())
    process.exit(shell.returncode or 0)


@dataclass(frozen=True)
class SshRig:
    port: int
    client_key: Path
    known_hosts: Path
    wrong_known_hosts: Path


@asynccontextmanager
async def ssh_server(tmp: Path) -> AsyncIterator[SshRig]:
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key.write_private_key(tmp / "id_ed25519")
    (tmp / "authorized_keys").write_bytes(client_key.export_public_key())
    server = await asyncssh.create_server(
        asyncssh.SSHServer,
        HOST,
        0,
        server_host_keys=[host_key],
        authorized_client_keys=str(tmp / "authorized_keys"),
        process_factory=_run_command,
    )
    port = server.sockets[0].getsockname()[1]
    known = tmp / "known_hosts"
    known.write_text(f"[{HOST}]:{port} {host_key.export_public_key().decode().strip()}\n")
    other = asyncssh.generate_private_key("ssh-ed25519")
    wrong = tmp / "wrong_known_hosts"
    wrong.write_text(f"[{HOST}]:{port} {other.export_public_key().decode().strip()}\n")
    try:
        yield SshRig(port, tmp / "id_ed25519", known, wrong)
    finally:
        server.close()
        await server.wait_closed()


def target(rig: SshRig, known_hosts: Path | None = None) -> dict[str, object]:
    return {
        "host": HOST,
        "port": rig.port,
        "username": "drcheck",
        "client_key_file": rig.client_key,
        "known_hosts_file": known_hosts or rig.known_hosts,
    }


async def test_ssh_check_passes_fails_and_verifies_the_host_key(tmp_path: Path) -> None:
    async with ssh_server(tmp_path) as rig:

        async def run(command: str, **extra: object) -> tuple[bool, str]:
            spec = SshCheck(
                command=command, timeout_seconds=3, interval_seconds=5, **{**target(rig), **extra}
            )
            result = await run_check("ssh", make_probe(spec), spec.timeout_seconds)
            return result.ok, result.detail

        ok, detail = await run("echo active", expect_output="^active")
        assert ok, detail
        ok, detail = await run("echo inactive; exit 3")
        assert not ok and detail == "exit 3: inactive"
        ok, detail = await run("echo active", known_hosts_file=rig.wrong_known_hosts)
        assert not ok and "ssh drcheck@127.0.0.1" in detail


async def test_ssh_action_quotes_placeholders(tmp_path: Path) -> None:
    async with ssh_server(tmp_path) as rig:
        out = tmp_path / "started"
        spec = SshAction(command=f"echo {{app}} {{site}} {{operation_id}} > {out}", **target(rig))
        ctx = ActionContext("his", "standby", "op; echo injected", ())
        outcome = await run_action(make_action(spec), ctx, 5)
        assert outcome.ok, outcome.detail
        assert out.read_text() == "his standby op; echo injected\n"
