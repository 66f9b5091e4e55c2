"""Conflict decisions: the action for every (policy, conflict, image, replay) case."""

from __future__ import annotations

import pytest
from drapply.policy import ConflictKind, Policies, Resolution, TablePolicy, decide
from drapply.settings import ConflictPolicy, PolicyRule

K = ConflictKind
R = Resolution
P = ConflictPolicy


@pytest.mark.parametrize(
    ("policy", "kind", "full", "expected"),
    [
        (P.STOP, K.DUPLICATE_KEY, True, R.STOP),
        (P.STOP, K.MISSING_FOR_UPDATE, True, R.STOP),
        (P.STOP, K.MISSING_FOR_DELETE, False, R.STOP),
        (P.OVERWRITE, K.DUPLICATE_KEY, False, R.UPSERT),
        (P.OVERWRITE, K.MISSING_FOR_UPDATE, True, R.INSERT_IMAGE),
        (P.OVERWRITE, K.MISSING_FOR_UPDATE, False, R.STOP),  # nothing complete to insert
        (P.OVERWRITE, K.MISSING_FOR_DELETE, False, R.SKIP),
        (P.PARK, K.DUPLICATE_KEY, True, R.PARK),
        (P.PARK, K.MISSING_FOR_DELETE, True, R.PARK),
        (P.STOP, K.AMBIGUOUS, True, R.STOP),
        (P.OVERWRITE, K.AMBIGUOUS, True, R.STOP),  # more than one row is never resolved
        (P.PARK, K.AMBIGUOUS, True, R.PARK),
        (P.OVERWRITE, K.ERROR, True, R.STOP),
        (P.PARK, K.ERROR, False, R.PARK),
    ],
)
def test_decide(policy: P, kind: K, full: bool, expected: R) -> None:
    assert decide(policy, kind, full_image=full, replaying=False) is expected


@pytest.mark.parametrize("policy", list(P))
def test_replay_resolves_every_row_conflict_idempotently(policy: P) -> None:
    assert decide(policy, K.DUPLICATE_KEY, full_image=False, replaying=True) is R.UPSERT
    assert decide(policy, K.MISSING_FOR_DELETE, full_image=False, replaying=True) is R.SKIP
    assert decide(policy, K.MISSING_FOR_UPDATE, full_image=True, replaying=True) is R.INSERT_IMAGE
    # The row is deleted later in the replayed range, or the end state does not need it.
    assert decide(policy, K.MISSING_FOR_UPDATE, full_image=False, replaying=True) is R.SKIP


def test_replay_does_not_hide_errors() -> None:
    assert decide(P.STOP, K.ERROR, full_image=True, replaying=True) is R.STOP
    assert decide(P.PARK, K.AMBIGUOUS, full_image=True, replaying=True) is R.PARK


def test_first_matching_rule_wins_and_default_is_stop() -> None:
    policies = Policies(
        [
            PolicyRule(tables=["HR.AUDIT_*"], policy=P.OVERWRITE),
            PolicyRule(tables=["HR"], policy=P.PARK, after_park="stop"),
        ]
    )
    assert policies.for_table("HR", "AUDIT_LOG").policy is P.OVERWRITE
    parked = policies.for_table("HR", "EMPLOYEES")
    assert parked.policy is P.PARK and parked.stop_after_park
    assert policies.for_table("SALES", "ORDERS").policy is P.STOP


def test_stop_after_park_is_off_unless_a_rule_asks_for_it() -> None:
    policies = Policies([PolicyRule(tables=["HR"], policy=P.PARK)])
    assert policies.for_table("HR", "EMPLOYEES") == TablePolicy(P.PARK, stop_after_park=False)
    assert policies.for_table("SALES", "ORDERS") == TablePolicy(P.STOP, stop_after_park=False)
