"""appha's Prometheus metrics (names ``dr_appha_*``); docs/APPHA.md explains each."""

from __future__ import annotations

from drcommon.metrics import Metrics

from drappha.model import CheckResult, Phase, Site, Status

_STATUS_VALUE = {Status.UP: 1.0, Status.DOWN: 0.0, Status.UNKNOWN: -1.0}
_EVENT_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class AppHAMetrics:
    """Every appha metric, with small helpers the monitor calls."""

    def __init__(self) -> None:
        self.registry = Metrics("appha")
        m = self.registry
        self.check_results = m.counter(
            "check_results_total", "Check results by outcome.", ("app", "site", "check", "result")
        )
        self.check_latency = m.histogram(
            "check_latency_seconds", "Time a check took.", ("app", "site", "check")
        )
        self.site_up = m.gauge(
            "site_up", "Site verdict from here: 1 up, 0 down, -1 unknown.", ("app", "site")
        )
        self.availability = m.gauge(
            "availability_ratio", "Share of known time the site was up (window).", ("app", "site")
        )
        self.state = m.gauge("state", "1 for the application's current phase.", ("app", "state"))
        self.active_site = m.gauge("active_site", "0: primary serves, 1: standby.", ("app",))
        self.blocked = m.gauge("blocked", "1 while switching is blocked.", ("app",))
        self.maintenance = m.gauge("maintenance", "1 in maintenance mode.", ("app",))
        self.auto_mode = m.gauge("auto_mode", "1 in auto mode, 0 in manual.", ("app",))
        self.alerts = m.counter("alerts_total", "Alerts raised.", ("app",))
        self.switches = m.counter(
            "switches_total", "Switch operations ended.", ("app", "direction", "outcome")
        )
        self.time_to_detect = m.histogram(
            "time_to_detect_seconds",
            "First failing check to the decision to switch (or to request).",
            ("app",),
            buckets=_EVENT_BUCKETS,
        )
        self.time_to_switch = m.histogram(
            "time_to_switch_seconds",
            "Switch start to traffic verified on the new site.",
            ("app", "direction"),
            buckets=_EVENT_BUCKETS,
        )
        self.witness_answers = m.counter(
            "witness_answers_total", "Witness views asked for, by answer.", ("app", "status")
        )
        self.control_errors = m.counter(
            "control_errors_total", "Failed calls to control.", ("app", "call")
        )

    def check(self, app: str, site: Site, result: CheckResult) -> None:
        outcome = "ok" if result.ok else "failed"
        self.check_results.labels(app, site.value, result.check, outcome).inc()
        self.check_latency.labels(app, site.value, result.check).observe(result.latency)

    def site(self, app: str, site: Site, status: Status) -> None:
        self.site_up.labels(app, site.value).set(_STATUS_VALUE[status])

    def phase(self, app: str, phase: Phase) -> None:
        for each in Phase:
            self.state.labels(app, each.value).set(1.0 if each is phase else 0.0)
