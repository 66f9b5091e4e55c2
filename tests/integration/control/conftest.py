"""Fixtures for control's integration tests: stand-in peers, a running control service,
and users of each role with their API clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from drcontrol.model import Role
from drcontrol.service import ControlService
from drcontrol.settings import ControlSettings

from tests.integration.control.helpers import Api, settings_for
from tests.integration.control.peers.standins import StandIns


@pytest_asyncio.fixture(loop_scope="function")
async def standins() -> AsyncIterator[StandIns]:
    peers = StandIns()
    await peers.start()
    yield peers
    await peers.stop()


@pytest.fixture
def control_settings(tmp_path: Path, standins: StandIns, kafka_bootstrap: str) -> ControlSettings:
    return settings_for(tmp_path, standins, kafka_bootstrap)


@dataclass
class Team:
    """A running control service and one client per role (two approvers for four-eyes)."""

    service: ControlService
    operator: Api
    approver: Api
    approver2: Api
    viewer: Api
    admin: Api
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return self.service.url

    def api(self, token: str) -> Api:
        return Api(self.url, token)


async def start_team(settings: ControlSettings) -> Team:
    service = ControlService(settings)
    await service.start()
    assert service.ctx is not None
    users = service.ctx.users
    tokens = {}
    for name, role in (("olga", Role.OPERATOR), ("ann", Role.APPROVER), ("bo", Role.APPROVER),
                       ("vic", Role.VIEWER), ("ada", Role.ADMIN)):
        tokens[name] = await users.add("test", name, role)
    url = service.url
    return Team(service, Api(url, tokens["olga"]), Api(url, tokens["ann"]),
                Api(url, tokens["bo"]), Api(url, tokens["vic"]), Api(url, tokens["ada"]),
                tokens)


async def stop_team(team: Team) -> None:
    for api in (team.operator, team.approver, team.approver2, team.viewer, team.admin):
        await api.close()
    await team.service.stop()


@pytest_asyncio.fixture(loop_scope="function")
async def team(control_settings: ControlSettings) -> AsyncIterator[Team]:
    running = await start_team(control_settings)
    yield running
    await stop_team(running)


@asynccontextmanager
async def team_with(tmp: Path, standins: StandIns, kafka: str, **extra: object
                    ) -> AsyncIterator[Team]:
    """A team on settings changed by ``extra`` (same shape as the TOML sections)."""
    running = await start_team(settings_for(tmp, standins, kafka, **extra))
    try:
        yield running
    finally:
        await stop_team(running)
