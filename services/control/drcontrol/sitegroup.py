"""The site group: which site is primary for the database and for each application,
the replication direction, the global freeze and the anti-flapping blocks.

Stored as one versioned document; its ETag (served on ``GET /api/v1/sites``) changes
whenever any of it changes, so a caller sending ``If-Match`` never acts on a world that
moved on since they looked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import Field

from drcontrol.canonical import digest
from drcontrol.errors import PreconditionFailed, PreconditionRequired, Stale
from drcontrol.model import Frozen
from drcontrol.storage.base import Storage

SITE_GROUP_KEY = "site_group"
SiteId = Literal["primary", "standby"]
Replication = Literal["primary_to_standby", "standby_to_primary", "stopped"]
UPDATE_ATTEMPTS = 5


class FreezeInfo(Frozen):
    """Who froze automation, when and why."""

    by: str
    at: float
    comment: str


class BlockInfo(Frozen):
    """An anti-flapping block on one application's automatic switches."""

    since: float
    reason: str
    switches: list[float] = Field(default_factory=list)


class SiteGroupState(Frozen):
    """The group as control records it."""

    database_primary: SiteId = "primary"
    primary_since: float | None = Field(
        None, description="When database_primary last changed (the loss window of a "
        "switchback without a reverse stream starts here).")
    replication: Replication = "primary_to_standby"
    apps: dict[str, SiteId] = Field(default_factory=dict)
    freeze: FreezeInfo | None = None
    blocks: dict[str, BlockInfo] = Field(default_factory=dict)
    auto_switches: dict[str, list[float]] = Field(
        {}, description="Times of recent automatic switches per app (anti-flapping)."
    )
    updated_at: float = 0.0
    updated_by: str = ""
    last_operation: str | None = None


def inconsistency(state: SiteGroupState) -> str | None:
    """Why the recorded roles contradict each other, None when they agree: every
    application runs where the database is primary, and replication, when it flows,
    flows out of the primary."""
    elsewhere = sorted(app for app, site in state.apps.items() if site != state.database_primary)
    if elsewhere:
        return (f"applications {', '.join(elsewhere)} run away from the database primary "
                f"({state.database_primary})")
    source = {"primary_to_standby": "primary", "standby_to_primary": "standby"}.get(
        state.replication)
    if source is not None and source != state.database_primary:
        return (f"replication {state.replication} flows into the database primary "
                f"({state.database_primary})")
    return None


def with_roles(state: SiteGroupState, *, database_primary: str | None = None,
               replication: str | None = None, now: float,
               operation: str | None = None) -> SiteGroupState | None:
    """``state`` with these roles (None: nothing changes)."""
    update: dict[str, object] = {}
    if database_primary is not None and database_primary != state.database_primary:
        update.update(database_primary=database_primary, primary_since=now)
    if replication is not None and replication != state.replication:
        update["replication"] = replication
    if not update:
        return None
    if operation is not None:
        update["last_operation"] = operation
    return state.model_copy(update=update)


class SiteGroupView(Frozen):
    """A read of the group with its version and ETag."""

    state: SiteGroupState
    version: int
    etag: str


def etag_of(state: SiteGroupState, version: int) -> str:
    """A strong ETag over the content (the version alone would miss a restore)."""
    return '"' + digest({"v": version, "s": state.model_dump(mode="json")})[:20] + '"'


def check_if_match(current: SiteGroupView, if_match: str | None, *, required: bool) -> None:
    """428 when required and absent, 412 when it does not match the current ETag."""
    if if_match is None:
        if required:
            raise PreconditionRequired(
                "this call acts on the site group: send If-Match with the ETag of "
                "GET /api/v1/sites"
            )
        return
    offered = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    if current.etag not in offered:
        raise PreconditionFailed(
            f"the site group changed since you read it (If-Match {if_match}, now "
            f"{current.etag}); re-read GET /api/v1/sites and decide again"
        )


class SiteGroup:
    """Reads and compare-and-set updates of the site group document."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def read(self) -> SiteGroupView:
        stored = await self._storage.get_state(SITE_GROUP_KEY)
        if stored is None:
            state, version = SiteGroupState(), 0
        else:
            state, version = SiteGroupState.model_validate(stored.doc), stored.version
        return SiteGroupView(state=state, version=version, etag=etag_of(state, version))

    async def update(
        self, change: Callable[[SiteGroupState], SiteGroupState | None], *, actor: str, now: float
    ) -> SiteGroupView:
        """Apply ``change`` (None = nothing to do) with compare-and-set, re-reading on races."""
        for _ in range(UPDATE_ATTEMPTS):
            current = await self.read()
            changed = change(current.state)
            if changed is None or changed == current.state:
                return current
            stamped = changed.model_copy(update={"updated_at": now, "updated_by": actor})
            try:
                stored = await self._storage.put_state(
                    SITE_GROUP_KEY, stamped.model_dump(mode="json"), current.version
                )
            except Stale:
                continue
            return SiteGroupView(
                state=stamped, version=stored.version, etag=etag_of(stamped, stored.version)
            )
        raise Stale("the site group keeps changing; try again")
