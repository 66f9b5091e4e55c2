"""The control service: storage, engine, watcher, notifier and the HTTP API in one loop."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from drcommon.http import HttpServer
from drcommon.metrics import Metrics
from drcommon.service import ServiceBase

from drcontrol.adapters import open_dr_database
from drcontrol.anchoring import AuditWatch
from drcontrol.api.app import build_app
from drcontrol.approvals import Approvals
from drcontrol.auth.authenticator import ThrottledAuthenticator, TokenAuthenticator
from drcontrol.auth.throttle import Limits, Throttle
from drcontrol.budget import compute, validate
from drcontrol.canonical import digest
from drcontrol.context import ControlContext
from drcontrol.engine.engine import Engine
from drcontrol.engine.kinds import KINDS
from drcontrol.engine.preconditions import KNOWN
from drcontrol.engine.runner import EngineDeps
from drcontrol.events import EventBus
from drcontrol.evidence import CollectorOptions, EvidenceCollector
from drcontrol.governance import Governance
from drcontrol.idempotency import Idempotency
from drcontrol.notify.channels import Channel, EmailChannel, WebhookChannel
from drcontrol.notify.notifier import Notifier
from drcontrol.operations import Operations, ServiceDeps
from drcontrol.peers.base import Peers
from drcontrol.peers.http import HttpAppha, HttpApply, HttpCapture
from drcontrol.peers.kafka import AdminKafkaProbe
from drcontrol.recorder import Recorder
from drcontrol.runbooks.loader import load_runbooks
from drcontrol.runbooks.model import Runbook
from drcontrol.settings import ControlSettings
from drcontrol.sitegroup import SiteGroup
from drcontrol.storage import Storage, open_storage
from drcontrol.users import Users
from drcontrol.watch import Watcher

log = logging.getLogger(__name__)
CONFIG_KEY = "config"


def build_peers(settings: ControlSettings) -> Peers:
    """HTTP clients for every configured peer."""
    p = settings.peers
    return Peers(
        capture=HttpCapture("capture", p.capture) if p.capture.url else None,
        apply=HttpApply("apply", p.apply) if p.apply.url else None,
        appha=HttpAppha("appha", p.appha) if p.appha.url else None,
        kafka=AdminKafkaProbe(settings.kafka),
        database=open_dr_database(settings.dr_database),
        reverse_capture=(HttpCapture("reverse_capture", p.reverse_capture)
                         if p.reverse_capture.url else None),
        reverse_apply=HttpApply("reverse_apply", p.reverse_apply) if p.reverse_apply.url else None,
    )


def build_channels(settings: ControlSettings) -> list[Channel]:
    channels: list[Channel] = [WebhookChannel(w) for w in settings.notify.webhooks]
    if settings.notify.email is not None:
        channels.append(EmailChannel(settings.notify.email))
    return channels


def switch_step_bounds(runbooks: dict[str, Runbook]) -> dict[str, float]:
    """Per runbook, how long its (live) apps_switch step waits for appha."""
    return {name: step.timeout_seconds for name, book in runbooks.items()
            for step in book.steps_for(drill=False) if step.kind == "apps_switch"}  # fmt: skip


def load_checked_runbooks(settings: ControlSettings) -> dict[str, Runbook]:
    """Runbooks, with the budget validated against the targets (ConfigError otherwise)."""
    runbooks = load_runbooks(settings.runbooks.directory, KINDS, KNOWN)
    validate(compute(settings, runbooks))
    return runbooks


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


class ControlService(ServiceBase):
    """Owns every part; ``url`` is known after ``start``."""

    def __init__(self, settings: ControlSettings, *, clock: Callable[[], float] = time.time,
                 peers: Peers | None = None) -> None:
        self.settings = settings
        self._clock = clock
        self._given_peers = peers
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.ctx: ControlContext | None = None
        self._http: HttpServer | None = None
        self._notifier: Notifier | None = None
        self._storage: Storage | None = None
        self._ended = asyncio.Event()

    @property
    def url(self) -> str:
        assert self._http is not None, "not started"
        return self._http.url

    async def start(self) -> None:
        settings = self.settings
        runbooks = load_checked_runbooks(settings)
        budget = compute(settings, runbooks)
        storage = open_storage(settings.storage)
        await storage.open()
        self._storage = storage
        peers = self._given_peers or build_peers(settings)
        clock = self._clock
        metrics = Metrics("control")
        bus = EventBus()
        recorder = Recorder(storage, bus, clock)
        site_group = SiteGroup(storage)
        notifier = Notifier(build_channels(settings), clock, settings.sites.local_site)
        self._notifier = notifier
        collector = EvidenceCollector(peers, site_group, CollectorOptions(
            collected_by=f"drcontrol@{socket.gethostname()}/{settings.sites.local_site}",
            dr_database_configured=settings.dr_database.kind is not None,
            rpo_seconds=settings.targets.rpo_seconds,
            switch_step_seconds=switch_step_bounds(runbooks)), clock)
        engine = Engine(EngineDeps(storage, recorder, bus, site_group, collector, peers,
                                   runbooks, settings, clock, notifier.notify, self.owner))
        watcher = Watcher(peers, site_group, storage, settings, clock, notifier.notify, bus,
                          metrics)
        deps = ServiceDeps(storage, recorder, bus, site_group, settings, clock,
                           notifier.notify, engine.wake)
        audit_watch = AuditWatch(storage, settings.audit, clock, notifier.notify)
        self.ctx = ControlContext(
            settings=settings, storage=storage, recorder=recorder, bus=bus,
            site_group=site_group, operations=Operations(deps), approvals=Approvals(deps),
            governance=Governance(deps), users=Users(storage, recorder, clock),
            idempotency=Idempotency(storage, recorder, clock),
            authenticator=ThrottledAuthenticator(
                TokenAuthenticator(storage, clock, settings.auth),
                Throttle(Limits(settings.auth.max_failures, settings.auth.failure_window_seconds,
                                settings.auth.lockout_seconds), clock), recorder),
            engine=engine, watcher=watcher,
            peers=peers, budget=budget, runbooks=runbooks, clock=clock, metrics=metrics,
            audit_watch=audit_watch)
        await self._record_start(recorder, storage)
        http = settings.http
        self._http = HttpServer(build_app(self.ctx), http.host, http.port,
                                str(http.tls_cert_file) if http.tls_cert_file else None,
                                str(http.tls_key_file) if http.tls_key_file else None)
        await notifier.start()
        await watcher.start()
        await audit_watch.start()
        await engine.start()
        await self._http.start()
        log.info("control started", extra={"url": self._http.url, "owner": self.owner})

    async def _record_start(self, recorder: Recorder, storage: Storage) -> None:
        doc = self.settings.model_dump(mode="json")
        now_digest = digest(doc)
        stored = await storage.get_state(CONFIG_KEY)
        await recorder.record("system", "service.started", self.owner, config_digest=now_digest)
        if stored is not None and stored.doc.get("digest") == now_digest:
            return
        before = _flatten(stored.doc.get("settings", {})) if stored else {}
        after = _flatten(doc)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        await recorder.record("system", "config.changed", "settings", digest=now_digest,
                              changed_keys=changed if stored else ["(first start)"])
        await storage.put_state(CONFIG_KEY, {"digest": now_digest, "settings": doc},
                                stored.version if stored else 0)

    async def stop(self) -> None:
        ctx = self.ctx
        if ctx is not None:
            ctx.stopping.set()
        if self._http is not None:
            await self._http.stop()
        if ctx is not None:
            await ctx.engine.stop()
            await ctx.watcher.stop()
            await ctx.audit_watch.stop()
        if self._notifier is not None:
            await self._notifier.stop()
        if ctx is not None and self._given_peers is None:
            for peer in (ctx.peers.capture, ctx.peers.apply, ctx.peers.appha,
                         ctx.peers.reverse_capture, ctx.peers.reverse_apply, ctx.peers.database):
                close = getattr(peer, "close", None)
                if close is not None:
                    await close()
        if self._storage is not None:
            await self._storage.close()
        self._ended.set()

    async def wait(self) -> None:
        await self._ended.wait()
