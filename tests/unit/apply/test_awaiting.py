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


def test_a_transaction_run_is_the_records_around_it_with_its_key() -> None:
    from types import SimpleNamespace

    from drapply.unreadable import transaction_run

    def raw(offset: int, key: bytes | None) -> SimpleNamespace:
        return SimpleNamespace(offset=offset, key=key)

    raws = [raw(0, b"1.1.1"), raw(1, None), raw(3, b"7.7.7"), raw(4, b"7.7.7"),
            raw(5, b"7.7.7"), raw(6, b"2.2.2"), raw(7, None)]
    assert [r.offset for r in transaction_run(raws, 4)] == [3, 4, 5]
    assert [r.offset for r in transaction_run(raws, 3)] == [3, 4, 5]
    assert [r.offset for r in transaction_run(raws, 1)] == [1]  # no key: the record alone
    assert [r.offset for r in transaction_run(raws, 6)] == [6]
