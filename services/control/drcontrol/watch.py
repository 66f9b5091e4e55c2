"""Watching the peers: poll their status, keep the latest snapshot and the lag history,
notify on threshold crossings (edge-triggered, with a 'resolved' when it clears)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from drcommon.errors import DRError
from drcommon.metrics import Metrics

from drcontrol.errors import PeerError
from drcontrol.events import EventBus
from drcontrol.evidence import summarise_apply
from drcontrol.health import ApplyReading
from drcontrol.model import OpState
from drcontrol.peers.base import Peers
from drcontrol.settings import ControlSettings
from drcontrol.sitegroup import SiteGroup, SiteGroupState
from drcontrol.storage.base import Storage

log = logging.getLogger(__name__)
Notify = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Reading:
    """One peer's answer (``data``) or why there is none (``error``)."""

    data: Any
    at: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the peers said at one poll."""

    at: float
    capture: Reading | None = None
    apply: Reading | None = None
    reverse_apply: Reading | None = None
    appha: Reading | None = None


@dataclass(frozen=True, slots=True)
class AlertState:
    """Which alerts are firing."""

    lag_high: bool = False
    capture_stopped: bool = False
    apply_error: bool = False
    apps_down: frozenset[str] = field(default_factory=frozenset)
    dr_differs: frozenset[str] = field(default_factory=frozenset)  # schemas verified unequal
    # Waiting out a fault (Kafka away, the DR database stopped …): /health "degraded".
    capture_degraded: bool = False
    apply_degraded: bool = False


def lag_view(snapshot: Snapshot, unknown_since: float | None, where: str | None,
             now: float) -> dict[str, Any]:
    """The lag as a person should read it: the figure with its source and age, or since
    when it is unknown and why — never an old figure passed off as current."""
    reading = snapshot.apply
    lag = _lag(snapshot)
    if reading is None:
        return {"seconds": None, "source": None, "unknown_since": None,
                "error": "apply is not configured"}
    if lag is None:
        error = reading.error or "apply reports no lag (no schema has a figure)"
        return {"seconds": None, "source": where, "unknown_since": unknown_since,
                "error": error}
    measured = reading.data.get("measured_at") if isinstance(reading.data, dict) else None
    at = float(measured) if isinstance(measured, int | float) else reading.at
    return {"seconds": lag, "source": where, "measured_at": at,
            "age_seconds": round(max(0.0, now - at), 1), "unknown_since": None, "error": None}


def _lag(snapshot: Snapshot) -> float | None:
    if snapshot.apply is None or not snapshot.apply.ok:
        return None
    value = summarise_apply(snapshot.apply.data).get("lag_seconds_max")
    return float(value) if value is not None else None


def _capture_stopped(snapshot: Snapshot) -> bool:
    reading = snapshot.capture
    if reading is None:
        return False
    return (not reading.ok or reading.data.get("state") in ("stopped", "failed")
            or reading.data.get("health") == "failing")


def _apply_error(snapshot: Snapshot) -> bool:
    reading = snapshot.apply
    if reading is None:
        return False
    if not reading.ok:
        return True
    summary = summarise_apply(reading.data)
    return (summary["state"] == "failed" or bool(summary["schemas_in_error"])
            or reading.data.get("health") == "failing")


def _degraded(reading: Reading | None) -> bool:
    """The peer answers and says it waits out a fault (its /health is degraded)."""
    return reading is not None and reading.ok and reading.data.get("health") == "degraded"


def _faults(reading: Reading | None) -> list[Any] | None:
    return reading.data.get("faults") if reading is not None and reading.ok else None


def app_down(app: dict[str, Any]) -> bool:
    """appha's view of one application: the site it is active at is down (its checks
    failed ``fall`` times). appha's states (healthy, degraded, on_standby, …) describe the
    life cycle, not availability, so the site verdict is what counts."""
    sites = app.get("sites") or {}
    active = sites.get(str(app.get("active_site"))) or {}
    return active.get("status") == "down"


def _apps_down(snapshot: Snapshot) -> frozenset[str]:
    if snapshot.appha is None or not snapshot.appha.ok:
        return frozenset()
    return frozenset(str(a.get("name")) for a in snapshot.appha.data if app_down(a))


def _dr_differs(snapshot: Snapshot) -> frozenset[str]:
    """Schemas whose latest verification found the DR copy different from the source."""
    if snapshot.apply is None or not snapshot.apply.ok:
        return frozenset()
    per = summarise_apply(snapshot.apply.data)["verification"]["per_schema"]
    return frozenset(name for name, v in per.items() if v.get("differences"))


def decide_alerts(prev: AlertState, snapshot: Snapshot, lag_threshold: float,
                  ) -> tuple[AlertState, list[tuple[str, dict[str, Any]]]]:
    """The new alert state and the notifications its edges cause (pure)."""
    lag = _lag(snapshot)
    now = AlertState(
        lag_high=lag is not None and lag > lag_threshold,
        capture_stopped=_capture_stopped(snapshot),
        apply_error=_apply_error(snapshot),
        apps_down=_apps_down(snapshot),
        dr_differs=_dr_differs(snapshot),
        capture_degraded=_degraded(snapshot.capture),
        apply_degraded=_degraded(snapshot.apply),
    )
    out: list[tuple[str, dict[str, Any]]] = []

    def edge(kind: str, before: bool, after: bool, data: dict[str, Any]) -> None:
        if before != after:
            out.append((kind, {**data, "state": "firing" if after else "resolved"}))

    edge("alert.lag", prev.lag_high, now.lag_high,
         {"lag_seconds": lag, "threshold_seconds": lag_threshold})
    capture = snapshot.capture
    edge("alert.capture_stopped", prev.capture_stopped, now.capture_stopped,
         {"error": capture.error if capture else None,
          "capture_state": capture.data.get("state") if capture and capture.ok else None,
          "faults": _faults(capture)})
    edge("alert.apply_error", prev.apply_error, now.apply_error,
         {"error": snapshot.apply.error if snapshot.apply else None,
          "faults": _faults(snapshot.apply)})
    edge("alert.capture_degraded", prev.capture_degraded, now.capture_degraded,
         {"faults": _faults(snapshot.capture)})
    edge("alert.apply_degraded", prev.apply_degraded, now.apply_degraded,
         {"faults": _faults(snapshot.apply)})
    for app in sorted(now.apps_down - prev.apps_down):
        out.append(("alert.app_down", {"app": app, "state": "firing"}))
    for app in sorted(prev.apps_down - now.apps_down):
        out.append(("alert.app_down", {"app": app, "state": "resolved"}))
    for schema in sorted(now.dr_differs - prev.dr_differs):
        out.append(("alert.dr_differs", {"schema": schema, "state": "firing"}))
    for schema in sorted(prev.dr_differs - now.dr_differs):
        out.append(("alert.dr_differs", {"schema": schema, "state": "resolved"}))
    return now, out


class Watcher:
    """Polls the peers every ``watch.interval_seconds``."""

    def __init__(self, peers: Peers, site_group: SiteGroup, storage: Storage,
                 settings: ControlSettings, clock: Callable[[], float], notify: Notify,
                 bus: EventBus, metrics: Metrics) -> None:
        self._peers = peers
        self._site_group = site_group
        self._storage = storage
        self._settings = settings
        self._clock = clock
        self._notify = notify
        self._bus = bus
        self.latest = Snapshot(at=0.0)
        self.alerts = AlertState()
        self.lag_history: deque[tuple[float, float | None]] = deque(
            maxlen=settings.watch.history_points)
        self.lag_unknown_since: float | None = None  # first poll without a lag figure
        self._task: asyncio.Task[None] | None = None
        self._peer_up = metrics.gauge("peer_up", "1 when the peer answered the last poll",
                                      ("peer",))
        self._lag = metrics.gauge("apply_lag_seconds", "Apply lag behind the source (max)")
        self._ops = metrics.gauge("operations", "Operations by state", ("state",))
        self._firing = metrics.gauge("alerts_firing", "Threshold alerts firing", ("alert",))

    def apply_reading(self, reverse: bool = False) -> ApplyReading | None:
        reading = self.latest.reverse_apply if reverse else self.latest.apply
        if reading is None:
            return None
        return ApplyReading(status=reading.data if reading.ok else None, at=reading.at,
                            error=reading.error)

    async def _read(self, call: Callable[[], Awaitable[Any]] | None) -> Reading | None:
        if call is None:
            return None
        try:
            return Reading(await call(), self._clock())
        except PeerError as exc:
            return Reading(None, self._clock(), exc.message)

    async def poll(self) -> Snapshot:
        """One round: read every peer, update alerts, metrics and the app roles."""
        p = self._peers
        capture, apply, reverse, appha = await asyncio.gather(
            self._read(p.capture.status if p.capture else None),
            self._read(p.apply.status if p.apply else None),
            self._read(p.reverse_apply.status if p.reverse_apply else None),
            self._read(p.appha.apps if p.appha else None),
        )
        snapshot = Snapshot(self._clock(), capture, apply, reverse, appha)
        self.latest = snapshot
        self.alerts, notes = decide_alerts(self.alerts, snapshot,
                                           self._settings.watch.lag_alert_seconds)
        for kind, data in notes:
            self._notify(kind, data)
        lag = _lag(snapshot)
        self.lag_history.append((snapshot.at, lag))
        if lag is None and self.lag_unknown_since is None:
            self.lag_unknown_since = snapshot.at
        elif lag is not None:
            self.lag_unknown_since = None
        await self._record_app_sites(appha)
        await self._metrics(snapshot, lag)
        self._bus.publish("status", {"at": snapshot.at, "lag_seconds": lag})
        return snapshot

    async def _record_app_sites(self, appha: Reading | None) -> None:
        if appha is None or not appha.ok:
            return
        seen = {str(a["name"]): a.get("active_site") for a in appha.data
                if a.get("active_site") in ("primary", "standby")}

        def change(state: SiteGroupState) -> SiteGroupState | None:
            merged = {**state.apps, **seen}
            return None if merged == state.apps else state.model_copy(update={"apps": merged})

        await self._site_group.update(change, actor="watcher", now=self._clock())

    async def _metrics(self, snapshot: Snapshot, lag: float | None) -> None:
        for name in ("capture", "apply", "reverse_apply", "appha"):
            reading = getattr(snapshot, name)
            if reading is not None:
                self._peer_up.labels(name).set(1 if reading.ok else 0)
        if lag is not None:
            self._lag.set(lag)
        ops = await self._storage.list_operations(limit=1000)
        for state in OpState:
            self._ops.labels(state.value).set(sum(1 for op in ops if op.state is state))
        alerts = self.alerts
        self._firing.labels("lag").set(int(alerts.lag_high))
        self._firing.labels("capture_stopped").set(int(alerts.capture_stopped))
        self._firing.labels("apply_error").set(int(alerts.apply_error))
        self._firing.labels("capture_degraded").set(int(alerts.capture_degraded))
        self._firing.labels("apply_degraded").set(int(alerts.apply_degraded))
        self._firing.labels("app_down").set(len(alerts.apps_down))
        self._firing.labels("dr_differs").set(len(alerts.dr_differs))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="watcher")

    async def _loop(self) -> None:
        while True:
            try:
                await self.poll()
            except DRError as exc:
                log.warning("watch poll failed: %s", exc)
            except Exception:
                log.exception("watch poll failed unexpectedly")
            await asyncio.sleep(self._settings.watch.interval_seconds)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
