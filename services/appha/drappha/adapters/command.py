"""Local commands: the command check and the command action (no shell; argv as given)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal

from drcommon.ids import looks_like_option

from drappha.adapters import ActionContext, Outcome
from drappha.specs import CommandAction, CommandCheck

_OUTPUT_LIMIT = 4000


async def run_process(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``argv`` in its own process group; return (exit status, combined output).

    If the caller's timeout cancels us, the whole group is killed so no helper outlives
    the check or action that started it.
    """
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
        env={**os.environ, **env},
        start_new_session=True,
    )
    try:
        output, _ = await process.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            await process.wait()
        raise
    code = process.returncode if process.returncode is not None else -1
    return code, output.decode(errors="replace")[-_OUTPUT_LIMIT:]


def judge(code: int, output: str, pattern: re.Pattern[str] | None) -> Outcome:
    """Exit 0 (and the pattern, if any) passes; the detail is the output's last line."""
    last = output.strip().splitlines()[-1][:200] if output.strip() else ""
    if code != 0:
        return Outcome(False, f"exit {code}: {last}".rstrip(": "))
    if pattern is not None and not pattern.search(output):
        return Outcome(False, f"exit 0 but output does not match: {last}")
    return Outcome(True, f"exit 0: {last}".rstrip(": "))


class CommandProbe:
    """Run a local program as a health check."""

    def __init__(self, spec: CommandCheck) -> None:
        self._spec = spec
        self._pattern = re.compile(spec.expect_output) if spec.expect_output else None

    async def run(self) -> Outcome:
        try:
            code, output = await run_process(self._spec.argv, self._spec.env)
        except OSError as exc:
            return Outcome(False, f"cannot run {self._spec.argv[0]}: {exc.strerror or exc}")
        return judge(code, output, self._pattern)

    async def close(self) -> None:
        return None


class CommandActionRunner:
    """Run a local program as an action; arguments and environment carry the context."""

    def __init__(self, spec: CommandAction) -> None:
        self._spec = spec

    async def run(self, ctx: ActionContext) -> Outcome:
        fields = ctx.fields()
        argv = [arg.format_map(fields) for arg in self._spec.argv]
        for template, arg in zip(self._spec.argv, argv, strict=True):
            # A value must never become an option only by substitution ('{operation_id}'
            # filled with '--force'): the API refuses such ids; this is the last guard.
            if arg != template and looks_like_option(arg) and not looks_like_option(template):
                return Outcome(False, f"refused: the argument {template!r} would start with "
                                      "'-' and be read as an option")
        try:
            code, output = await run_process(argv, {**self._spec.env, **ctx.environment()})
        except OSError as exc:
            return Outcome(False, f"cannot run {argv[0]}: {exc.strerror or exc}")
        return judge(code, output, None)
