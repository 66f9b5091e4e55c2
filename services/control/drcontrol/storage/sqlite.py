"""SQLite backend (the default): one file, WAL, every statement on one worker thread.

One executor thread serialises all statements of this process in submission order, so a
rollback after a cancelled statement runs after it, never beside it. ``BEGIN IMMEDIATE``
takes the write lock up front, so a second process (``drcontrol user add`` while the
service runs) waits up to the busy timeout instead of failing half-way.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from drcontrol.errors import StorageError
from drcontrol.storage.sql import Row, SqlStorage, Tx

T = TypeVar("T")
log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 10_000


class _SqliteTx:
    def __init__(self, storage: SqliteStorage, conn: sqlite3.Connection) -> None:
        self._storage = storage
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._storage.run(lambda: self._conn.execute(sql, params).rowcount)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = await self._storage.run(lambda: self._conn.execute(sql, params).fetchone())
        return tuple(row) if row is not None else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows = await self._storage.run(lambda: self._conn.execute(sql, params).fetchall())
        return [tuple(row) for row in rows]


class SqliteStorage(SqlStorage):
    """The storage contract on a SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._lock = asyncio.Lock()

    async def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the storage thread; sqlite errors become StorageError."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, work)
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite failed: {exc}", file=str(self.path)) from exc

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return conn

    async def open(self) -> None:
        self._conn = await self.run(self._connect)
        async with self.transaction() as tx:
            await self._create_schema(tx, "REAL", "INTEGER")

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self.run(conn.close)
        self._executor.shutdown(wait=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        if self._conn is None:
            raise StorageError("storage is not open", file=str(self.path))
        conn = self._conn

        def begin() -> None:
            # A coroutine cancelled after queueing BEGIN leaves a transaction nobody owns;
            # it is abandoned work (the queue is serial), so roll it back before starting.
            if conn.in_transaction:
                log.warning("rolling back an abandoned SQLite transaction")
                conn.execute("ROLLBACK")
            conn.execute("BEGIN IMMEDIATE")

        def rollback() -> None:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

        async with self._lock:
            try:
                await self.run(begin)
                yield _SqliteTx(self, conn)
            except BaseException:
                await asyncio.shield(self.run(rollback))
                raise
            try:
                await asyncio.shield(self.run(lambda: conn.execute("COMMIT")))
            except BaseException:
                await asyncio.shield(self.run(rollback))
                raise
