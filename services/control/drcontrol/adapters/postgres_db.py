"""A PostgreSQL DR database for hooks (used where the target is PostgreSQL, and in tests
as a real database standing in for Oracle's transactional behaviour)."""

from __future__ import annotations

from typing import Any

import psycopg
from drcommon.dbtls import postgres_options
from psycopg import sql

from drcontrol.errors import PeerError
from drcontrol.settings import DrDatabaseSettings, SequenceSync, SqlHook

MARKER_DDL = (
    "CREATE TABLE IF NOT EXISTS dr_control_hooks (operation_id VARCHAR(64) NOT NULL, "
    "hook VARCHAR(128) NOT NULL, done_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
    "PRIMARY KEY (operation_id, hook))"
)


def _ident(dotted: str) -> sql.Identifier:
    return sql.Identifier(*dotted.split("."))


class PostgresDrDatabase:
    """Runs hooks in one transaction together with their marker row."""

    def __init__(self, settings: DrDatabaseSettings) -> None:
        dsn = settings.connect_string()
        if not dsn:
            raise PeerError("dr_database.dsn is not set", key="dr_database.dsn")
        self._dsn = dsn
        self._timeout = settings.timeout_seconds
        self._tls = postgres_options(settings.tls, key="dr_database.tls")
        self.where = "dr_database(postgresql)"

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        try:
            return await psycopg.AsyncConnection.connect(
                self._dsn, connect_timeout=max(1, int(self._timeout)), **self._tls
            )
        except psycopg.Error as exc:
            raise PeerError(f"DR database unreachable: {exc}", peer=self.where) from exc

    async def ping(self) -> dict[str, Any]:
        async with await self._connect() as conn:
            cursor = await conn.execute("SELECT current_setting('server_version')")
            row = await cursor.fetchone()
        return {"version": row[0] if row else None}

    async def _resync(self, conn: psycopg.AsyncConnection[Any], seq: SequenceSync,
                      simulate: bool) -> int:
        query = sql.SQL("SELECT COALESCE(MAX({col}), 0) + {gap} FROM {table}").format(
            col=sql.Identifier(seq.column), gap=sql.Literal(seq.gap), table=_ident(seq.table)
        )
        cursor = await conn.execute(query)
        row = await cursor.fetchone()
        target = int(row[0]) if row else seq.gap
        if not simulate:
            await conn.execute("SELECT setval(%s::regclass, %s)", (seq.sequence, target))
        return target

    async def run_hook(self, hook: SqlHook, operation_id: str, *, simulate: bool) -> dict[str, Any]:
        try:
            async with await self._connect() as conn:
                await conn.execute(MARKER_DDL)
                await conn.commit()
                cursor = await conn.execute(
                    "SELECT done_at FROM dr_control_hooks WHERE operation_id = %s AND hook = %s",
                    (operation_id, hook.name),
                )
                if await cursor.fetchone():
                    return {"hook": hook.name, "already_done": True}
                for statement in hook.statements:
                    await conn.execute(statement)
                sequences = {s.sequence: await self._resync(conn, s, simulate)
                             for s in hook.sequences}
                await conn.execute(
                    "INSERT INTO dr_control_hooks (operation_id, hook) VALUES (%s, %s)",
                    (operation_id, hook.name),
                )
                if simulate:
                    await conn.rollback()
                else:
                    await conn.commit()
        except psycopg.Error as exc:
            raise PeerError(f"hook {hook.name} failed: {exc}", peer=self.where,
                            hook=hook.name) from exc
        return {"hook": hook.name, "already_done": False, "statements": len(hook.statements),
                "sequences": sequences, "simulated": simulate}

    async def close(self) -> None:
        return None
