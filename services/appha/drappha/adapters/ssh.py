"""SSH: the remote command check and action (asyncssh; keys only, host keys verified)."""

from __future__ import annotations

import re
import shlex

import asyncssh

from drappha.adapters import ActionContext, Outcome
from drappha.adapters.command import judge
from drappha.specs import SshAction, SshCheck, SshTarget


async def run_remote(target: SshTarget, command: str) -> tuple[int, str]:
    """Run ``command`` on ``target``; return (exit status, combined output)."""
    async with asyncssh.connect(
        target.host,
        port=target.port,
        username=target.username,
        client_keys=[str(target.client_key_file)],
        known_hosts=str(target.known_hosts_file),
        agent_path=None,
    ) as conn:
        result = await conn.run(command, check=False, stderr=asyncssh.STDOUT)
    code = result.exit_status if result.exit_status is not None else -1
    output = result.stdout if isinstance(result.stdout, str) else ""
    return code, output


async def _guarded(target: SshTarget, command: str, pattern: re.Pattern[str] | None) -> Outcome:
    try:
        code, output = await run_remote(target, command)
    except (OSError, asyncssh.Error) as exc:
        return Outcome(False, f"ssh {target.username}@{target.host}:{target.port}: {exc}")
    return judge(code, output, pattern)


class SshProbe:
    """Run a command on a server over SSH as a health check."""

    def __init__(self, spec: SshCheck) -> None:
        self._spec = spec
        self._pattern = re.compile(spec.expect_output) if spec.expect_output else None

    async def run(self) -> Outcome:
        return await _guarded(self._spec, self._spec.command, self._pattern)

    async def close(self) -> None:
        return None


class SshActionRunner:
    """Run a command over SSH as an action; placeholders are shell-quoted."""

    def __init__(self, spec: SshAction) -> None:
        self._spec = spec

    async def run(self, ctx: ActionContext) -> Outcome:
        quoted = {key: shlex.quote(value) for key, value in ctx.fields().items()}
        return await _guarded(self._spec, self._spec.command.format_map(quoted), None)
