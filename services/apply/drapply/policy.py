"""Conflict decisions: pure functions from what happened to what to do.

A conflict is a change that does not fit the target row: an insert whose key exists, an
update or delete that finds no row. The table's policy (first matching rule) and the
mode (a replay re-applying what was applied before) decide; the caller executes the
:class:`Resolution` and counts and logs the conflict with its keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from drapply.naming import matches
from drapply.settings import ConflictPolicy, PolicyRule


class ConflictKind(StrEnum):
    """What did not fit."""

    DUPLICATE_KEY = "duplicate_key"  # insert: the key is already there
    MISSING_FOR_UPDATE = "missing_for_update"  # update matched no row
    MISSING_FOR_DELETE = "missing_for_delete"  # delete matched no row
    AMBIGUOUS = "ambiguous"  # update/delete matched more than one row (no key on target)
    ERROR = "error"  # the database refused the change, or a value cannot be stored


class Resolution(StrEnum):
    """What to do about it."""

    UPSERT = "upsert"  # write the insert's row over the existing one
    INSERT_IMAGE = "insert_image"  # insert the full row image the update carries
    SKIP = "skip"  # nothing to do (the delete's row is already gone)
    STOP = "stop"  # roll back the transaction and stop the schema
    PARK = "park"  # roll back, send the transaction to the dead-letter topic


@dataclass(frozen=True, slots=True)
class TablePolicy:
    """The policy in force for one table."""

    policy: ConflictPolicy = ConflictPolicy.STOP
    stop_after_park: bool = False


class Policies:
    """Per-table policy lookup over the configured rules (first match wins)."""

    def __init__(self, rules: list[PolicyRule]) -> None:
        self._rules = rules
        self._cache: dict[tuple[str, str], TablePolicy] = {}

    def for_table(self, owner: str, table: str) -> TablePolicy:
        key = (owner, table)
        found = self._cache.get(key)
        if found is None:
            found = TablePolicy()
            for rule in self._rules:
                if matches(rule.tables, owner, table):
                    found = TablePolicy(rule.policy, rule.after_park == "stop")
                    break
            self._cache[key] = found
        return found


def decide(
    policy: ConflictPolicy, kind: ConflictKind, *, full_image: bool, replaying: bool
) -> Resolution:
    """The resolution for one conflict.

    During a replay (offsets the checkpoint had already passed) every table behaves as
    ``overwrite``: the rows being re-applied were applied before, so their conflicts are
    expected and resolving them idempotently is the point.
    """
    effective = ConflictPolicy.OVERWRITE if replaying else policy
    if kind in (ConflictKind.AMBIGUOUS, ConflictKind.ERROR):
        return Resolution.PARK if policy is ConflictPolicy.PARK else Resolution.STOP
    if effective is ConflictPolicy.OVERWRITE:
        if kind is ConflictKind.DUPLICATE_KEY:
            return Resolution.UPSERT
        if kind is ConflictKind.MISSING_FOR_DELETE:
            return Resolution.SKIP
        if full_image:
            return Resolution.INSERT_IMAGE
        # During a replay the row may be deleted later in the range; without the full
        # image there is nothing to write, and the end state does not depend on it.
        return Resolution.SKIP if replaying else _fallback(policy)
    return _fallback(effective)


def _fallback(policy: ConflictPolicy) -> Resolution:
    return Resolution.PARK if policy is ConflictPolicy.PARK else Resolution.STOP
