"""What a step kind gets to work with."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from drcontrol.evidence import EvidenceCollector
from drcontrol.model import Operation, StepRecord
from drcontrol.peers.base import Peers
from drcontrol.runbooks.model import RunbookStep
from drcontrol.settings import AutomationSettings, HooksSettings
from drcontrol.sitegroup import SiteGroup


@dataclass(frozen=True, slots=True)
class StepContext:
    """One attempt of one step: the operation, the step's stored state and its spec."""

    op: Operation
    step: StepRecord
    spec: RunbookStep
    mode: Literal["run", "simulate"]
    outputs: dict[str, dict[str, Any]]
    kinds_done: dict[str, dict[str, Any]]
    peers: Peers
    site_group: SiteGroup
    collector: EvidenceCollector
    hooks: HooksSettings
    apps: list[str] | None
    clock: Callable[[], float]
    poll_interval: float
    save_progress: Callable[[dict[str, Any]], Awaitable[None]]
    automation: AutomationSettings

    @property
    def simulate(self) -> bool:
        return self.mode == "simulate"

    def param(self, name: str, default: Any = None) -> Any:
        return self.spec.params.get(name, default)

    async def pause(self) -> None:
        await asyncio.sleep(self.poll_interval)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What a step achieved; ``note`` explains a no-op (already done, simulated)."""

    output: dict[str, Any]
    note: str | None = None
