"""Everything a request handler may use, built once by the service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from drcommon.metrics import Metrics

from drcontrol.anchoring import AuditWatch
from drcontrol.approvals import Approvals
from drcontrol.auth.authenticator import Authenticator
from drcontrol.budget import Budget
from drcontrol.engine.engine import Engine
from drcontrol.events import EventBus
from drcontrol.governance import Governance
from drcontrol.idempotency import Idempotency
from drcontrol.operations import Operations
from drcontrol.peers.base import Peers
from drcontrol.recorder import Recorder
from drcontrol.runbooks.model import Runbook
from drcontrol.settings import ControlSettings
from drcontrol.sitegroup import SiteGroup
from drcontrol.storage.base import Storage
from drcontrol.users import Users
from drcontrol.watch import Watcher


@dataclass
class ControlContext:
    """The service's collaborators, shared by all routers."""

    settings: ControlSettings
    storage: Storage
    recorder: Recorder
    bus: EventBus
    site_group: SiteGroup
    operations: Operations
    approvals: Approvals
    governance: Governance
    users: Users
    idempotency: Idempotency
    authenticator: Authenticator
    engine: Engine
    watcher: Watcher
    peers: Peers
    budget: Budget
    runbooks: dict[str, Runbook]
    clock: Callable[[], float]
    metrics: Metrics
    audit_watch: AuditWatch
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
