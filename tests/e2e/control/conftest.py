"""Fixtures for control's end-to-end tests (stand-in peers in this process)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.integration.control.peers.standins import StandIns


@pytest_asyncio.fixture(loop_scope="function")
async def standins() -> AsyncIterator[StandIns]:
    peers = StandIns()
    await peers.start()
    yield peers
    await peers.stop()
