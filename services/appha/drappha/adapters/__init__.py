"""Pluggable probes (health checks) and actions (start, fence, traffic).

One module per kind; :func:`make_probe` and :func:`make_action` pick the implementation
from the configuration's ``kind`` and import it only then, so an optional driver may be
absent. Failures never raise out of ``run``: they come back as ``ok=False`` with a
detail an operator can act on.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

from drappha.model import CheckResult
from drappha.specs import AnyAction, AnyCheck


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a probe or an action reports: success and a short detail."""

    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class ActionContext:
    """The values an action's placeholders and environment are filled from."""

    app: str
    site: str
    operation_id: str
    servers: tuple[str, ...]

    def fields(self) -> dict[str, str]:
        return {
            "app": self.app,
            "site": self.site,
            "operation_id": self.operation_id,
            "servers": ",".join(self.servers),
        }

    def environment(self) -> dict[str, str]:
        return {f"DRAPPHA_{key.upper()}": value for key, value in self.fields().items()}


class Probe(Protocol):
    """Asks one thing of one site; ``run`` is bounded by the caller's timeout."""

    async def run(self) -> Outcome: ...

    async def close(self) -> None: ...


class ActionRunner(Protocol):
    """Does one thing (start, fence, move traffic); idempotent by contract."""

    async def run(self, ctx: ActionContext) -> Outcome: ...


def make_probe(spec: AnyCheck) -> Probe:
    """The probe for a check specification."""
    if spec.kind == "http":
        from drappha.adapters.http import HttpProbe

        return HttpProbe(spec)
    if spec.kind == "tcp":
        from drappha.adapters.tcp import TcpProbe

        return TcpProbe(spec)
    if spec.kind == "command":
        from drappha.adapters.command import CommandProbe

        return CommandProbe(spec)
    from drappha.adapters.ssh import SshProbe

    return SshProbe(spec)


def make_action(spec: AnyAction) -> ActionRunner:
    """The runner for an action specification."""
    if spec.kind == "command":
        from drappha.adapters.command import CommandActionRunner

        return CommandActionRunner(spec)
    if spec.kind == "http":
        from drappha.adapters.http import HttpActionRunner

        return HttpActionRunner(spec)
    if spec.kind == "nginx":
        from drappha.adapters.nginx import NginxUpstreamRunner

        return NginxUpstreamRunner(spec)
    from drappha.adapters.ssh import SshActionRunner

    return SshActionRunner(spec)


async def run_check(name: str, probe: Probe, timeout: float) -> CheckResult:
    """Run a probe once within ``timeout``; a timeout or crash is a failed result."""
    started_wall = time.time()
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            outcome = await probe.run()
    except TimeoutError:
        outcome = Outcome(False, f"no answer within {timeout:g} s")
    except OSError as exc:
        outcome = Outcome(False, f"{type(exc).__name__}: {exc}")
    return CheckResult(
        check=name,
        ok=outcome.ok,
        latency=time.monotonic() - started,
        detail=outcome.detail,
        started_at=started,
        started_wall=started_wall,
    )


async def run_action(runner: ActionRunner, ctx: ActionContext, timeout: float) -> Outcome:
    """Run an action within ``timeout``; a timeout is a failure, never a hang."""
    try:
        async with asyncio.timeout(timeout):
            return await runner.run(ctx)
    except TimeoutError:
        return Outcome(False, f"did not finish within {timeout:g} s")
    except OSError as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}")
