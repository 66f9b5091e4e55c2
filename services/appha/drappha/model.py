"""The immutable vocabulary of appha's decisions: sites, phases, views, intents, actions.

Times named ``*_at`` or ``now`` in decision inputs are monotonic seconds; wall-clock
times (for people and the history file) are named ``*_wall``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Site(StrEnum):
    """The two sides of an application."""

    PRIMARY = "primary"
    STANDBY = "standby"

    @property
    def other(self) -> Site:
        return Site.STANDBY if self is Site.PRIMARY else Site.PRIMARY


class Mode(StrEnum):
    """manual: a person confirms each switch in control; auto: appha switches itself."""

    MANUAL = "manual"
    AUTO = "auto"


class Phase(StrEnum):
    """Where an application's life cycle stands."""

    HEALTHY = "healthy"  # on primary, primary up
    DEGRADED = "degraded"  # the active site fails here, not (yet) enough to switch
    SWITCH_RECOMMENDED = "switch_recommended"  # manual: request open in control
    SWITCHING = "switching"  # moving to standby
    ON_STANDBY = "on_standby"  # running on standby, standby up
    SWITCHING_BACK = "switching_back"  # moving back to primary
    SWITCH_FAILED = "switch_failed"  # last switch failed; blocked until acknowledged

    @staticmethod
    def settled(active: Site) -> Phase:
        return Phase.HEALTHY if active is Site.PRIMARY else Phase.ON_STANDBY

    @staticmethod
    def moving_to(target: Site) -> Phase:
        return Phase.SWITCHING if target is Site.STANDBY else Phase.SWITCHING_BACK

    @property
    def is_moving(self) -> bool:
        return self in (Phase.SWITCHING, Phase.SWITCHING_BACK)


class Status(StrEnum):
    """A check's, a site's or a vantage point's verdict."""

    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One run of one check."""

    check: str
    ok: bool
    latency: float
    detail: str
    started_at: float
    started_wall: float


@dataclass(frozen=True, slots=True)
class CheckView:
    """A check's state after rise/fall: counters and when the current streak began."""

    name: str
    status: Status = Status.UNKNOWN
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    failing_since: float | None = None  # start of the first failed run of this streak
    failing_since_wall: float | None = None
    up_since: float | None = None  # when the check last became up
    last_ok_at: float | None = None


@dataclass(frozen=True, slots=True)
class SiteView:
    """A site as seen from here: down if any check is down, up if all are up."""

    status: Status
    checks: tuple[CheckView, ...] = ()
    consecutive_failures: int = 0  # the worst down check's count
    failing_since: float | None = None  # earliest start of a current failure streak
    failing_since_wall: float | None = None
    up_since: float | None = None  # when the last check became up (all up since then)


UNKNOWN_SITE = SiteView(Status.UNKNOWN)


@dataclass(frozen=True, slots=True)
class SwitchCommand:
    """control asks to move traffic to ``target`` (switch: standby, switchback: primary)."""

    target: Site
    operation_id: str
    requested_by: str
    # who accepted a possible split brain, and why, should the fencing attestation be
    # insufficient (None: an insufficient attestation fails the switch)
    accept_split_brain: str | None = None
    # the id of this application's last switch that this one undoes, checked by the monitor:
    # control compensating a multi-application step that failed half-way (not held back by
    # that switch's block or the minimum interval it started)
    compensates: str | None = None


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """A person lifts the block after a switch or a failed switch, with a comment."""

    requested_by: str
    comment: str


@dataclass(frozen=True, slots=True)
class SetMode:
    """Change manual/auto at run time (audited)."""

    mode: Mode
    requested_by: str
    comment: str
    auto_allowed: bool  # whether the configuration permits auto (witness, fence, control)


@dataclass(frozen=True, slots=True)
class SetMaintenance:
    """Maintenance: checks continue, nothing switches."""

    enabled: bool
    requested_by: str
    comment: str


@dataclass(frozen=True, slots=True)
class OperationFinished:
    """The running switch ended."""

    operation_id: str
    target: Site
    succeeded: bool
    error: str | None = None
    traffic_moved: bool = True  # False: it failed before the traffic step (nothing moved)


@dataclass(frozen=True, slots=True)
class RequestDeclined:
    """control declined (rejected, cancelled, expired) the failover request appha opened."""

    request_id: str
    state: str


@dataclass(frozen=True, slots=True)
class RequestAnswered:
    """control answered the failover request appha is opening: ``request_id`` when it is
    open, else ``refused`` says why (appha asks again with the same key)."""

    request_id: str | None
    refused: str | None = None


Intent = (
    SwitchCommand
    | Acknowledge
    | SetMode
    | SetMaintenance
    | OperationFinished
    | RequestDeclined
    | RequestAnswered
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one decision looks at; assembled by the monitor, never changed."""

    now: float
    primary: SiteView
    standby: SiteView
    witness: Status = Status.UNKNOWN  # the witnesses' view of the active site
    frozen: bool | None = (
        None  # control forbids automatic switching (freeze, block); None: not asked or unknown
    )
    intent: Intent | None = None
    auto_operation_id: str = "auto"  # id to use if this decision starts an automatic switch

    def site(self, site: Site) -> SiteView:
        return self.primary if site is Site.PRIMARY else self.standby


@dataclass(frozen=True, slots=True)
class AppState:
    """An application's state between decisions (persisted; monotonic times re-based)."""

    phase: Phase = Phase.HEALTHY
    active: Site = Site.PRIMARY
    mode: Mode = Mode.MANUAL
    maintenance: bool = False
    blocked: str | None = None  # why switching is blocked; only an acknowledgement lifts it
    last_switch_at: float | None = None
    previous_switch_at: float | None = None  # restored when a switch fails before moving
    started_at: float = 0.0
    operation_id: str | None = None  # the switch in flight
    operation_target: Site | None = None
    request_open: bool = False  # manual: a request for this incident is open in control
    suppressed: bool = False  # request declined: no new one until the site recovers
    alert: str | None = None  # the alert currently raised (raised once, not every tick)


class ActionKind(StrEnum):
    """What the monitor must do after a decision."""

    NONE = "none"
    OPEN_REQUEST = "open_request"  # observe (never fence), open a request in control
    START_SWITCH = "start_switch"
    REFUSE = "refuse"  # the intent is not possible now; ``reason`` says why
    ALERT = "alert"
    RECORD = "record"  # an audited change (mode, maintenance, acknowledgement)
    FINISHED = "finished"  # a switch ended; record times, report to control


@dataclass(frozen=True, slots=True)
class Action:
    """The one thing a decision asks for."""

    kind: ActionKind = ActionKind.NONE
    target: Site | None = None
    operation_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """New state, the action and the human-readable line (also the log line)."""

    state: AppState
    action: Action = field(default_factory=Action)
    message: str = ""
