"""The global freeze and anti-flapping blocks: stopping and re-allowing automation."""

from __future__ import annotations

from drcontrol.auth.roles import Permission, require
from drcontrol.decisions import counted_switch
from drcontrol.errors import NotFound, Stale
from drcontrol.model import Principal
from drcontrol.operations import ServiceDeps
from drcontrol.sitegroup import FreezeInfo, SiteGroupState, SiteGroupView, check_if_match


class Governance:
    """Freeze, unfreeze, acknowledge blocks; every change bumps the site group ETag."""

    def __init__(self, deps: ServiceDeps) -> None:
        self.d = deps

    async def freeze(self, who: Principal, comment: str, if_match: str | None) -> SiteGroupView:
        """Stop every automatic action until an approver lifts the freeze."""
        require(who, Permission.FREEZE)
        check_if_match(await self.d.site_group.read(), if_match, required=True)
        now = self.d.clock()

        def change(state: SiteGroupState) -> SiteGroupState:
            if state.freeze is not None:
                raise Stale(f"already frozen by {state.freeze.by}: {state.freeze.comment}")
            return state.model_copy(update={"freeze": FreezeInfo(by=who.user, at=now,
                                                                 comment=comment)})

        view = await self.d.site_group.update(change, actor=who.user, now=now)
        await self.d.recorder.record(who.user, "freeze.set", "site_group", comment=comment)
        self.d.notify("freeze.set", {"by": who.user, "comment": comment})
        self.d.bus.publish("sites", {"etag": view.etag})
        return view

    async def unfreeze(self, who: Principal, comment: str, if_match: str | None) -> SiteGroupView:
        """Allow automatic actions again."""
        require(who, Permission.UNFREEZE)
        check_if_match(await self.d.site_group.read(), if_match, required=True)
        now = self.d.clock()

        def change(state: SiteGroupState) -> SiteGroupState:
            if state.freeze is None:
                raise Stale("not frozen")
            return state.model_copy(update={"freeze": None})

        view = await self.d.site_group.update(change, actor=who.user, now=now)
        await self.d.recorder.record(who.user, "freeze.lifted", "site_group", comment=comment)
        self.d.notify("freeze.lifted", {"by": who.user, "comment": comment})
        self.d.bus.publish("sites", {"etag": view.etag})
        return view

    async def acknowledge_block(self, who: Principal, app: str, comment: str,
                                if_match: str | None) -> SiteGroupView:
        """Lift an anti-flapping block; the comment says why it is safe again."""
        require(who, Permission.ACK_BLOCK)
        check_if_match(await self.d.site_group.read(), if_match, required=True)
        now = self.d.clock()

        def change(state: SiteGroupState) -> SiteGroupState:
            if app not in state.blocks:
                raise NotFound(f"no anti-flapping block on {app}", app=app)
            blocks = {k: v for k, v in state.blocks.items() if k != app}
            switches = {k: v for k, v in state.auto_switches.items() if k != app}
            return state.model_copy(update={"blocks": blocks, "auto_switches": switches})

        view = await self.d.site_group.update(change, actor=who.user, now=now)
        await self.d.recorder.record(who.user, "block.acknowledged", app, comment=comment)
        self.d.bus.publish("sites", {"etag": view.etag})
        return view

    async def automatic_switch(self, who: Principal, app: str, operation_id: str) -> None:
        """appha switched ``app`` by itself (auto mode): it counts towards anti-flapping
        like an app_failover request, so the permit refuses once the limit is reached."""
        now = self.d.clock()
        policy = self.d.settings.automation
        view = await self.d.site_group.update(
            lambda state: counted_switch(state, app, now, policy), actor=who.user, now=now)
        await self.d.recorder.record(who.user, "automation.switch_counted", app,
                                     operation=operation_id)
        self.d.bus.publish("sites", {"etag": view.etag})
