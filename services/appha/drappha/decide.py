"""The per-application state machine: a pure function from (state, snapshot) to a decision.

healthy → degraded → switch recommended (manual) → switching → on standby → switching
back; a failed switch parks in ``switch_failed``. Anti-flapping: a recovered site must
stay up for the hold-down time; switches start at least ``min_switch_interval_seconds``
apart; after every switch (and every failed one) switching is blocked until a person
acknowledges with a comment; nothing switches in maintenance, under control's freeze,
or towards a site that is not up (an alert is raised instead). Split-brain guard: auto
mode needs a witness at a third location to agree that the active site is down; a
witness that still sees it serving stops manual requests too.

Every decision carries one human-readable line: the log line and the test oracle.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from drappha.model import (
    Acknowledge,
    Action,
    ActionKind,
    AppState,
    Decision,
    Intent,
    Mode,
    OperationFinished,
    Phase,
    RequestAnswered,
    RequestDeclined,
    SetMaintenance,
    SetMode,
    Site,
    Snapshot,
    Status,
    SwitchCommand,
)
from drappha.tracker import threshold_met, threshold_progress


@dataclass(frozen=True, slots=True)
class Policy:
    """The numbers a decision needs, taken from an application's settings."""

    switch_after_failures: int = 3
    switch_after_seconds: float = 15.0
    grace_seconds: float = 30.0
    hold_down_seconds: float = 30.0
    min_switch_interval_seconds: float = 600.0


def verb(target: Site) -> str:
    """``switch`` towards standby, ``switchback`` towards primary."""
    return "switch" if target is Site.STANDBY else "switchback"


def _keep(state: AppState, message: str) -> Decision:
    return Decision(state, Action(), message)


def _raise(state: AppState, text: str) -> Decision:
    """Raise ``text`` as an alert once; while it stays the same, just say it again."""
    if state.alert == text:
        return _keep(state, text)
    return Decision(replace(state, alert=text), Action(ActionKind.ALERT, reason=text), text)


def decide(policy: Policy, state: AppState, snap: Snapshot) -> Decision:
    """The next state and the one action to take."""
    if snap.intent is not None:
        return _on_intent(policy, state, snap, snap.intent)
    if state.phase.is_moving:
        target = state.operation_target or state.active.other
        return _keep(
            state, f"{verb(target)} to {target} in progress (operation {state.operation_id})"
        )
    if state.phase is Phase.SWITCH_FAILED:
        return _keep(state, f"{state.blocked}; acknowledge with a comment to resume")
    active = snap.site(state.active)
    if active.status is Status.UP:
        return _active_up(policy, state, snap)
    if active.status is Status.DOWN:
        return _active_down(policy, state, snap)
    return _keep(state, f"{state.active} not known yet; waiting for check results")


def _active_up(policy: Policy, state: AppState, snap: Snapshot) -> Decision:
    active = snap.site(state.active)
    if state.phase in (Phase.DEGRADED, Phase.SWITCH_RECOMMENDED):
        up_for = snap.now - (active.up_since if active.up_since is not None else snap.now)
        if up_for < policy.hold_down_seconds:
            return _keep(
                state,
                f"{state.active} up again for {up_for:.1f} s; "
                f"hold-down {policy.hold_down_seconds:.1f} s before it counts healthy",
            )
        settled = replace(
            state,
            phase=Phase.settled(state.active),
            request_open=False,
            suppressed=False,
            alert=None,
        )
        return _keep(settled, f"{state.active} healthy again (up {up_for:.1f} s, hold-down passed)")
    other = state.active.other
    if snap.site(other).status is Status.DOWN:
        return _raise(state, f"{other} unhealthy: a {verb(other)} would not be possible now")
    if state.alert is not None and snap.site(other).status is Status.UP:
        return _keep(replace(state, alert=None), f"{other} up again; alert cleared")
    return _keep(state, f"{state.active} serving and healthy")


def _active_down(policy: Policy, state: AppState, snap: Snapshot) -> Decision:
    active = snap.site(state.active)
    progress = threshold_progress(
        active,
        failures=policy.switch_after_failures,
        seconds=policy.switch_after_seconds,
        now=snap.now,
    )
    if state.phase is Phase.SWITCH_RECOMMENDED:
        if state.alert is not None:  # e.g. control refused the request: say so, not "waiting"
            return _keep(state, f"{state.active} down; {state.alert}")
        return _keep(
            state,
            f"{state.active} down; waiting for confirmation in control to move to "
            f"{state.active.other}",
        )
    if state.phase is not Phase.DEGRADED:
        state = replace(state, phase=Phase.DEGRADED)
    met = threshold_met(
        active,
        failures=policy.switch_after_failures,
        seconds=policy.switch_after_seconds,
        now=snap.now,
    )
    if not met:
        return _keep(state, f"{state.active} failing here ({progress}); below switching threshold")
    blocker = _escalation_blocker(policy, state, snap)
    if blocker is not None:
        text, alert = blocker
        return _raise(state, text) if alert else _keep(state, text)
    target = state.active.other
    if state.mode is Mode.MANUAL:
        witness = "confirmed by the witness" if snap.witness is Status.DOWN else "unconfirmed"
        new = replace(state, phase=Phase.SWITCH_RECOMMENDED, request_open=True, alert=None)
        return Decision(
            new,
            Action(ActionKind.OPEN_REQUEST, target=target),
            f"{state.active} down ({progress}, {witness}); {verb(target)} to {target} "
            "recommended: asking control for confirmation (fencing follows approval)",
        )
    return _start(
        state,
        snap,
        target,
        snap.auto_operation_id,
        f"{state.active} down ({progress}, confirmed by the witness); "
        f"automatic {verb(target)} to {target}",
    )


def _escalation_blocker(policy: Policy, state: AppState, snap: Snapshot) -> tuple[str, bool] | None:
    """Why a down active site must not lead to a switch now, and whether to alert."""
    active, target = state.active, state.active.other
    if snap.now - state.started_at < policy.grace_seconds:
        return f"{active} down during start-up grace: not switching", False
    if state.maintenance:
        return f"{active} down in maintenance mode: not switching", False
    if state.blocked is not None:
        return f"{active} down but switching is blocked ({state.blocked})", True
    if state.suppressed:
        return f"{active} down; request was declined, no new one until {active} recovers", False
    if _too_soon(policy, state, snap.now):
        return f"{active} down but the last switch was less than the minimum interval ago", True
    if snap.site(target).status is not Status.UP:
        return f"{active} down but {target} is not healthy: not switching", True
    if snap.witness is Status.UP:
        return f"{active} down from here but the witness sees it serving: link cut suspected", True
    if state.mode is Mode.AUTO:
        if snap.witness is not Status.DOWN:
            return f"{active} down but no second vantage point confirms it: not switching", True
        if snap.frozen is None:
            return f"{active} down but control's freeze state is unknown: not switching", True
        if snap.frozen:
            text = "control forbids automatic switching (freeze or block)"
            return f"{active} down but {text}: not switching", True
    return None


def _too_soon(policy: Policy, state: AppState, now: float) -> bool:
    last = state.last_switch_at
    return last is not None and now - last < policy.min_switch_interval_seconds


def _start(
    state: AppState, snap: Snapshot, target: Site, operation_id: str, message: str
) -> Decision:
    new = replace(
        state,
        phase=Phase.moving_to(target),
        operation_id=operation_id,
        operation_target=target,
        previous_switch_at=state.last_switch_at,
        last_switch_at=snap.now,
        request_open=False,
        suppressed=False,
        alert=None,
    )
    return Decision(
        new, Action(ActionKind.START_SWITCH, target=target, operation_id=operation_id), message
    )


def _refuse(state: AppState, what: str, reason: str) -> Decision:
    return Decision(state, Action(ActionKind.REFUSE, reason=reason), f"refused {what}: {reason}")


def _on_intent(policy: Policy, state: AppState, snap: Snapshot, intent: Intent) -> Decision:
    if isinstance(intent, SwitchCommand):
        return _on_command(policy, state, snap, intent)
    if isinstance(intent, OperationFinished):
        return _on_finished(state, intent)
    if isinstance(intent, Acknowledge):
        return _on_acknowledge(state, intent)
    if isinstance(intent, SetMode):
        return _on_mode(state, intent)
    if isinstance(intent, RequestAnswered):
        return _on_answered(state, intent)
    if isinstance(intent, SetMaintenance):
        word = "on" if intent.enabled else "off"
        return Decision(
            replace(state, maintenance=intent.enabled),
            Action(ActionKind.RECORD),
            f"maintenance {word} by {intent.requested_by}: {intent.comment}",
        )
    return _on_declined(state, intent)


def command_blocker(
    policy: Policy, state: AppState, snap: Snapshot, target: Site, compensating: bool = False
) -> str | None:
    """Why a switch towards ``target`` asked for by control cannot start now. Undoing the
    last switch (``compensating``) is not held back by that switch's block or interval."""
    if state.phase.is_moving:
        return f"another switch is in progress (operation {state.operation_id})"
    if state.active is target:
        return f"already running on {target}"
    if state.maintenance:
        return "maintenance mode is on"
    if state.blocked is not None and not compensating:
        return f"blocked: {state.blocked}"
    if snap.frozen:
        return "control has a change freeze"
    if _too_soon(policy, state, snap.now) and not compensating:
        return "the last switch was less than the minimum interval ago"
    if snap.site(target).status is not Status.UP:
        return f"{target} is not healthy ({snap.site(target).status})"
    return None


def _on_command(policy: Policy, state: AppState, snap: Snapshot, cmd: SwitchCommand) -> Decision:
    what = f"{verb(cmd.target)} {cmd.operation_id} by {cmd.requested_by}"
    reason = command_blocker(policy, state, snap, cmd.target, cmd.compensates is not None)
    if reason is not None:
        return _refuse(state, what, reason)
    return _start(
        state, snap, cmd.target, cmd.operation_id, f"{what} confirmed: moving to {cmd.target}"
    )


def _on_finished(state: AppState, done: OperationFinished) -> Decision:
    if done.operation_id != state.operation_id:
        return _keep(
            state, f"ignored the end of operation {done.operation_id}: not the current one"
        )
    action = Action(
        ActionKind.FINISHED, target=done.target, operation_id=done.operation_id, reason=done.error
    )
    if done.succeeded:
        new = replace(
            state,
            phase=Phase.settled(done.target),
            active=done.target,
            operation_id=None,
            operation_target=None,
            blocked=f"{verb(done.target)} {done.operation_id} done; acknowledge to allow another",
            alert=None,
        )
        return Decision(
            new,
            action,
            f"{verb(done.target)} {done.operation_id} succeeded: traffic verified on {done.target}",
        )
    text = f"{verb(done.target)} {done.operation_id} to {done.target} failed: {done.error}"
    failed = switch_failed(state, text)
    if not done.traffic_moved:  # nothing moved: it does not count as a switch (anti-flap)
        failed = replace(failed, last_switch_at=state.previous_switch_at)
    return Decision(failed, action, text)


def switch_failed(state: AppState, text: str) -> AppState:
    """Park the application after a failed (or interrupted) switch: blocked and alerting
    until a person acknowledges."""
    return replace(
        state,
        phase=Phase.SWITCH_FAILED,
        operation_id=None,
        operation_target=None,
        blocked=text,
        alert=text,
    )


def _on_acknowledge(state: AppState, ack: Acknowledge) -> Decision:
    what = f"acknowledgement by {ack.requested_by}"
    if not ack.comment.strip():
        return _refuse(state, what, "a comment is required")
    if state.blocked is None and state.phase is not Phase.SWITCH_FAILED:
        return _refuse(state, what, "nothing is blocked")
    phase = Phase.settled(state.active) if state.phase is Phase.SWITCH_FAILED else state.phase
    new = replace(state, blocked=None, alert=None, phase=phase)
    return Decision(
        new, Action(ActionKind.RECORD), f"block lifted by {ack.requested_by}: {ack.comment}"
    )


def _on_mode(state: AppState, change: SetMode) -> Decision:
    what = f"mode {change.mode} by {change.requested_by}"
    if change.mode is Mode.AUTO and not change.auto_allowed:
        return _refuse(state, what, "auto needs a witness, control and fencing on both sites")
    if change.mode is state.mode:
        return _keep(state, f"mode already {change.mode}")
    phase = state.phase
    request_open = state.request_open
    if change.mode is Mode.AUTO and phase is Phase.SWITCH_RECOMMENDED:
        # the open request no longer gates anything: auto re-evaluates on the next tick
        phase, request_open = Phase.DEGRADED, False
    new = replace(state, mode=change.mode, phase=phase, request_open=request_open)
    return Decision(
        new,
        Action(ActionKind.RECORD),
        f"mode changed to {change.mode} by {change.requested_by}: {change.comment}",
    )


def _on_answered(state: AppState, answer: RequestAnswered) -> Decision:
    """control's answer to the request being opened: say what it is, never 'waiting for
    confirmation' while nothing waits in control."""
    if state.phase is not Phase.SWITCH_RECOMMENDED:
        return _keep(state, "control answered a request no longer pending; ignored")
    if answer.refused is not None:
        return _raise(state, f"control refused the {verb(state.active.other)} request: "
                             f"{answer.refused}; asking again")
    new = replace(state, alert=None)
    return _keep(new, f"request {answer.request_id} open in control: waiting for confirmation")


def _on_declined(state: AppState, declined: RequestDeclined) -> Decision:
    if state.phase is not Phase.SWITCH_RECOMMENDED:
        return _keep(state, f"request {declined.request_id} {declined.state}; nothing pending")
    new = replace(state, phase=Phase.DEGRADED, request_open=False, suppressed=True)
    return Decision(
        new,
        Action(ActionKind.RECORD),
        f"control {declined.state} request {declined.request_id}; "
        f"no new request until {state.active} recovers",
    )
