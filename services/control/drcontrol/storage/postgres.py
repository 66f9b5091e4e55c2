"""PostgreSQL backend: one connection per process, transactions serialised by a lock.

Control's write rate is a few statements per second; one connection keeps ordering
simple. A lost connection fails the current call (StorageError, retriable) and is
re-opened by the next one. The audit head is locked ``FOR UPDATE`` so two control
processes sharing the database still append a gap-free chain.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from drcommon.dbtls import postgres_options
from psycopg import sql as pgsql

from drcontrol.errors import StorageError
from drcontrol.settings import StorageSettings
from drcontrol.storage.sql import Row, SqlStorage, Tx

CONNECT_TIMEOUT_SECONDS = 10


class _PgTx:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    @staticmethod
    def _sql(text: str) -> str:
        return text.replace("?", "%s")

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._conn.execute(self._sql(sql), tuple(params))
        return cursor.rowcount

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        cursor = await self._conn.execute(self._sql(sql), tuple(params))
        row = await cursor.fetchone()
        return tuple(row) if row is not None else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = await self._conn.execute(self._sql(sql), tuple(params))
        return [tuple(row) for row in await cursor.fetchall()]


class PostgresStorage(SqlStorage):
    """The storage contract in one PostgreSQL schema."""

    for_update = " FOR UPDATE"

    def __init__(self, settings: StorageSettings) -> None:
        dsn = settings.dsn()
        if not dsn:
            raise StorageError("storage.backend is postgresql but storage.postgres_dsn is unset",
                               key="storage.postgres_dsn")
        self._dsn = dsn
        self._tls = postgres_options(settings.postgres_tls, key="storage.postgres_tls")
        self.schema = settings.postgres_schema
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                **self._tls,
            )
            await conn.execute(
                pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(self.schema))
            )
            await conn.execute(
                pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(self.schema))
            )
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to PostgreSQL: {exc}", schema=self.schema) from exc
        self._conn = conn
        return conn

    async def open(self) -> None:
        async with self.transaction() as tx:
            # Two processes starting together must not race on CREATE TABLE.
            await tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (self.schema,))
            await self._create_schema(tx, "DOUBLE PRECISION", "BIGINT")

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            conn = await self._connection()
            try:
                async with conn.transaction():
                    yield _PgTx(conn)
            except psycopg.OperationalError as exc:
                await conn.close()
                raise StorageError(f"PostgreSQL failed: {exc}", schema=self.schema) from exc
            except psycopg.Error as exc:
                raise StorageError(f"PostgreSQL refused: {exc}", schema=self.schema) from exc
            except BaseException:
                # Cancelled mid-statement: the session state is unknown, start afresh.
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    await asyncio.shield(conn.close())
                raise
