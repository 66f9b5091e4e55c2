"""Read-modify-write of one operation with compare-and-set, retried on races."""

from __future__ import annotations

from collections.abc import Callable

from drcontrol.errors import NotFound, Stale
from drcontrol.model import Operation
from drcontrol.storage.base import Storage

ATTEMPTS = 5


async def load(storage: Storage, op_id: str) -> Operation:
    """The operation, or 404."""
    op = await storage.get_operation(op_id)
    if op is None:
        raise NotFound(f"no operation {op_id}", operation=op_id)
    return op


async def mutate(
    storage: Storage, op_id: str, change: Callable[[Operation], Operation | None]
) -> Operation:
    """Apply ``change`` to the stored operation; it may raise a refusal or return None
    (nothing to do). A concurrent writer makes us re-read and decide again."""
    for _ in range(ATTEMPTS):
        current = await load(storage, op_id)
        changed = change(current)
        if changed is None:
            return current
        try:
            return await storage.save_operation(changed)
        except Stale:
            continue
    raise Stale(f"operation {op_id} keeps changing; try again", operation=op_id)
