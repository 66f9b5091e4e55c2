"""The revoke handler's report of where a slow worker waits."""

from __future__ import annotations

import asyncio

from drapply.service import awaiting


async def _inner() -> None:
    await asyncio.sleep(10)


async def _outer() -> None:
    await _inner()


async def test_names_the_whole_await_chain() -> None:
    task = asyncio.create_task(_outer())
    await asyncio.sleep(0)
    try:
        where = awaiting(task)
    finally:
        task.cancel()
    assert where.startswith("_outer:")
    assert " > _inner:" in where
