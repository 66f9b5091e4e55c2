"""Property tests of the state machine over random observation and intent sequences.

Whatever the sites, the witness, control's freeze and the people do, a switch never
starts within the minimum interval of the previous one, nor while blocked, in
maintenance, frozen, towards an unhealthy site or with another in flight; an automatic
one never without the witness agreeing; and only a verified switch changes the one
active site.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drappha.decide import Policy, decide
from drappha.model import (
    Acknowledge,
    ActionKind,
    AppState,
    Intent,
    Mode,
    OperationFinished,
    Phase,
    RequestDeclined,
    SetMaintenance,
    SetMode,
    Site,
    SiteView,
    Snapshot,
    Status,
    SwitchCommand,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.appha.views import down, unknown, up

POLICY = Policy(
    switch_after_failures=2,
    switch_after_seconds=1.0,
    grace_seconds=3.0,
    hold_down_seconds=2.0,
    min_switch_interval_seconds=20.0,
)

statuses = st.sampled_from([Status.UP, Status.DOWN, Status.UNKNOWN])
maybe_frozen = st.sampled_from([True, False, None])


@st.composite
def intents(draw: st.DrawFn) -> tuple[str, object]:
    """An intent description; ids and the running operation are filled in by the walk."""
    kind = draw(
        st.sampled_from(
            ["none"] * 6
            + ["switch", "switchback", "ack", "mode", "maint", "finish", "stale", "declined"]
        )
    )
    return kind, draw(st.booleans())


step = st.tuples(
    st.floats(min_value=0.05, max_value=15.0),
    statuses,
    statuses,
    statuses,
    maybe_frozen,
    intents(),
)


@dataclass
class SiteSim:
    """A site's status over time, turned into the view the decision sees."""

    status: Status = Status.UP
    since: float = 0.0
    runs: int = 0

    def advance(self, status: Status, now: float) -> SiteView:
        if status is not self.status:
            self.status, self.since, self.runs = status, now, 0
        self.runs += 1
        if status is Status.UP:
            return up(since=self.since)
        if status is Status.DOWN:
            return down(since=self.since, failures=self.runs)
        return unknown()


@dataclass
class Walk:
    """Replays a sequence and checks the invariants on every decision."""

    state: AppState = field(default_factory=lambda: AppState(started_at=0.0))
    now: float = 0.0
    last_start: float | None = None
    counter: int = 0
    acked_since_switch: bool = True
    sims: dict[Site, SiteSim] = field(default_factory=lambda: {s: SiteSim() for s in Site})

    def intent(self, kind: str, flag: bool) -> Intent | None:
        self.counter += 1
        st_ = self.state
        if kind == "switch":
            return SwitchCommand(Site.STANDBY, f"op{self.counter}", "p")
        if kind == "switchback":
            return SwitchCommand(Site.PRIMARY, f"op{self.counter}", "p")
        if kind == "ack":
            return Acknowledge("p", "checked" if flag else "")
        if kind == "mode":
            return SetMode(Mode.AUTO if flag else Mode.MANUAL, "p", "c", auto_allowed=True)
        if kind == "maint":
            return SetMaintenance(flag, "p", "c")
        if kind == "finish" and st_.operation_id and st_.operation_target:
            return OperationFinished(
                st_.operation_id, st_.operation_target, flag, None if flag else "x"
            )
        if kind == "stale":
            return OperationFinished("stale", Site.STANDBY, flag)
        if kind == "declined":
            return RequestDeclined("r", "rejected")
        return None

    def step(
        self,
        dt: float,
        p: Status,
        s: Status,
        w: Status,
        frozen: bool | None,
        it: tuple[str, object],
    ) -> None:
        self.now += dt
        intent = self.intent(it[0], bool(it[1]))
        snap = Snapshot(
            now=self.now,
            primary=self.sims[Site.PRIMARY].advance(p, self.now),
            standby=self.sims[Site.STANDBY].advance(s, self.now),
            witness=w,
            frozen=frozen,
            intent=intent,
            auto_operation_id=f"auto{self.counter}",
        )
        before = self.state
        decision = decide(POLICY, before, snap)
        after, action = decision.state, decision.action
        assert decision.message, "every decision explains itself"
        if action.kind is ActionKind.START_SWITCH:
            self.check_start(before, snap, action.target, intent)
        else:
            assert after.operation_id == before.operation_id or isinstance(
                intent, OperationFinished
            )
        if action.kind is ActionKind.OPEN_REQUEST:
            assert w is not Status.UP and not before.maintenance and before.blocked is None
        self.check_active(before, after, intent)
        if isinstance(intent, Acknowledge) and action.kind is ActionKind.RECORD:
            self.acked_since_switch = True
        self.state = after

    def check_start(
        self, before: AppState, snap: Snapshot, target: Site | None, intent: Intent | None
    ) -> None:
        assert target is not None and target is not before.active
        assert before.operation_id is None and not before.phase.is_moving, "one switch at a time"
        assert (
            not before.maintenance
            and before.blocked is None
            and before.phase is not Phase.SWITCH_FAILED
        )
        assert snap.frozen is not True
        assert snap.site(target).status is Status.UP, "never towards an unhealthy site"
        if self.last_start is not None:
            assert snap.now - self.last_start >= POLICY.min_switch_interval_seconds
        assert self.acked_since_switch, "a switch needs the previous one acknowledged"
        if intent is None:
            assert before.mode is Mode.AUTO
            assert snap.witness is Status.DOWN and snap.frozen is False
            assert snap.now - before.started_at >= POLICY.grace_seconds
        self.last_start = snap.now
        self.acked_since_switch = False

    def check_active(self, before: AppState, after: AppState, intent: Intent | None) -> None:
        if after.active is not before.active:
            assert isinstance(intent, OperationFinished) and intent.succeeded
            assert intent.operation_id == before.operation_id
            assert after.active is before.operation_target is intent.target
        if after.phase is Phase.HEALTHY:
            assert after.active is Site.PRIMARY
        if after.phase is Phase.ON_STANDBY:
            assert after.active is Site.STANDBY
        if after.phase.is_moving:
            assert after.operation_id is not None
            assert after.operation_target is after.active.other


@settings(max_examples=400, deadline=None)
@given(st.lists(step, min_size=1, max_size=80), st.booleans())
def test_invariants_hold_on_any_sequence(steps: list[tuple], auto: bool) -> None:  # type: ignore[type-arg]
    walk = Walk(state=AppState(mode=Mode.AUTO if auto else Mode.MANUAL, started_at=0.0))
    for dt, p, s, w, frozen, it in steps:
        walk.step(dt, p, s, w, frozen, it)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.05, 3.0), statuses, maybe_frozen), min_size=1, max_size=60))
def test_link_cut_alone_never_switches(steps: list[tuple[float, Status, bool | None]]) -> None:
    """The primary fails from here but the witness keeps seeing it: no switch, no request."""
    state = AppState(mode=Mode.AUTO, started_at=0.0)
    now, since = 10.0, 10.0
    for runs, (dt, standby, frozen) in enumerate(steps, start=1):
        now += dt
        snap = Snapshot(
            now=now,
            primary=down(since=since, failures=runs),
            standby=up() if standby is Status.UP else unknown(),
            witness=Status.UP,
            frozen=frozen,
        )
        decision = decide(POLICY, state, snap)
        assert decision.action.kind not in (ActionKind.START_SWITCH, ActionKind.OPEN_REQUEST)
        state = decision.state


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.05, 0.6), st.booleans()), min_size=1, max_size=100))
def test_flapping_faster_than_threshold_never_switches(steps: list[tuple[float, bool]]) -> None:
    """A primary that never stays down for the threshold's duration is never left."""
    state = AppState(mode=Mode.AUTO, started_at=-100.0)
    now, sim = 0.0, SiteSim()
    for dt, is_up in steps:
        now += dt
        if (
            not is_up
            and sim.status is Status.DOWN
            and now - sim.since >= POLICY.switch_after_seconds
        ):
            is_up = True  # the flap ends before the threshold's duration
        view = sim.advance(Status.UP if is_up else Status.DOWN, now)
        snap = Snapshot(now=now, primary=view, standby=up(), witness=Status.DOWN, frozen=False)
        decision = decide(POLICY, state, snap)
        assert decision.action.kind is not ActionKind.START_SWITCH, decision.message
        state = decision.state
