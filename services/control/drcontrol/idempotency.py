"""``Idempotency-Key``: the same key and body get the first answer again; the same key
with a different body is refused (422). Keys are per user.

Refusals that depend on a state that can change — 409 (a freeze, a block, an open
operation, a stale state) and 412 (the site group moved on) — are not stored: a retry
with the same key is decided again against the state of now, so a client retrying after
the block was acknowledged or the freeze lifted gets the current answer, not the old
refusal forever. Other answers, refusals included (403, 410, …), are replayed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from drcontrol.canonical import digest
from drcontrol.errors import ControlError, IdempotencyMismatch
from drcontrol.recorder import Recorder
from drcontrol.storage.base import IdempotentAnswer, Storage

#: refusals about a state that may change: decided again on every retry, never replayed
REDECIDED = frozenset({409, 412})


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer as stored: status, JSON body, headers worth replaying."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


def fingerprint(method: str, path: str, body: Any) -> str:
    """What must be identical for a replay: method, path and the canonical body."""
    return digest({"method": method, "path": path, "body": body})


class Idempotency:
    """Runs a mutating call at most once per (user, key)."""

    def __init__(self, storage: Storage, recorder: Recorder, clock: Callable[[], float]) -> None:
        self._storage = storage
        self._recorder = recorder
        self._clock = clock
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def run(self, user: str, key: str | None, print_: str,
                  produce: Callable[[], Awaitable[Answer]]) -> Answer:
        """``produce`` the answer unless this key was seen; store what it gave."""
        if key is None:
            return await produce()
        lock = self._locks.setdefault((user, key), asyncio.Lock())
        async with lock:
            seen = await self._storage.get_idempotent(user, key)
            if seen is not None:
                if seen.fingerprint != print_:
                    raise IdempotencyMismatch(
                        f"Idempotency-Key {key} was used with a different request; use a new "
                        "key for a new request", key=key)
                await self._recorder.record(user, "request.replayed", key, status=seen.status)
                return Answer(seen.status, seen.body, dict(seen.headers), replayed=True)
            try:
                answer = await produce()
            except ControlError as exc:
                if exc.status >= 500:
                    raise
                answer = Answer(exc.status, {"detail": exc.message})
            if answer.status in REDECIDED:
                self._locks.pop((user, key), None)
                return answer
            stored = await self._storage.put_idempotent(IdempotentAnswer(
                user=user, key=key, fingerprint=print_, status=answer.status, body=answer.body,
                headers=answer.headers, created_at=self._clock()))
        self._locks.pop((user, key), None)
        return Answer(stored.status, stored.body, dict(stored.headers))
