"""The Oracle DR database for hooks (python-oracledb, thin mode).

Not exercised by the test suite (no Oracle server here): it mirrors the PostgreSQL
adapter's contract. Oracle commits DDL implicitly, so statements that are DDL (enabling
triggers, ``ALTER SEQUENCE … RESTART``) are not rolled back by ``simulate``; a simulated
run therefore only computes sequence targets and runs no statements.
"""

from __future__ import annotations

import re
from typing import Any

import oracledb
from drcommon.dbtls import oracle_params

from drcontrol.errors import PeerError
from drcontrol.settings import DrDatabaseSettings, SequenceSync, SqlHook

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_$#]*(\.[A-Za-z][A-Za-z0-9_$#]*)?$")
ORA_NAME_IN_USE = 955  # ORA-00955: name is already used by an existing object
MARKER_DDL = (
    "CREATE TABLE dr_control_hooks (operation_id VARCHAR2(64) NOT NULL, "
    "hook VARCHAR2(128) NOT NULL, done_at TIMESTAMP DEFAULT SYSTIMESTAMP NOT NULL, "
    "PRIMARY KEY (operation_id, hook))"
)


def _checked(name: str) -> str:
    # Identifiers come from configuration; refuse anything that is not a plain name.
    if not _NAME.match(name):
        raise PeerError(f"not a plain Oracle identifier: {name!r}", name=name)
    return name


class OracleDrDatabase:
    """Runs hooks with a marker row so each runs once per operation."""

    def __init__(self, settings: DrDatabaseSettings) -> None:
        dsn = settings.connect_string()
        if not dsn:
            raise PeerError("dr_database.dsn is not set", key="dr_database.dsn")
        # TLS applied here, at start: a tcps setting the connect string contradicts fails.
        self._params = oracle_params(dsn, settings.tls, key="dr_database.tls",
                                     user=settings.user, password=settings.secret_password())
        self.where = "dr_database(oracle)"

    async def _connect(self) -> Any:
        try:
            return await oracledb.connect_async(params=self._params)
        except oracledb.Error as exc:
            raise PeerError(f"DR database unreachable: {exc}", peer=self.where) from exc

    async def ping(self) -> dict[str, Any]:
        conn = await self._connect()
        try:
            return {"version": conn.version}
        finally:
            await conn.close()

    async def _ensure_marker(self, conn: Any) -> None:
        try:
            await conn.execute(MARKER_DDL)
        except oracledb.DatabaseError as exc:
            if getattr(exc.args[0], "code", None) != ORA_NAME_IN_USE:
                raise

    async def _target(self, conn: Any, seq: SequenceSync) -> int:
        cursor = conn.cursor()
        await cursor.execute(
            f"SELECT NVL(MAX({_checked(seq.column)}), 0) + :gap FROM {_checked(seq.table)}",
            gap=seq.gap,
        )
        row = await cursor.fetchone()
        return int(row[0])

    async def run_hook(self, hook: SqlHook, operation_id: str, *, simulate: bool) -> dict[str, Any]:
        conn = await self._connect()
        try:
            await self._ensure_marker(conn)
            cursor = conn.cursor()
            await cursor.execute(
                "SELECT 1 FROM dr_control_hooks WHERE operation_id = :1 AND hook = :2",
                [operation_id, hook.name],
            )
            if await cursor.fetchone():
                return {"hook": hook.name, "already_done": True}
            targets = {s.sequence: await self._target(conn, s) for s in hook.sequences}
            if simulate:
                return {"hook": hook.name, "already_done": False, "sequences": targets,
                        "simulated": True, "statements": 0}
            for statement in hook.statements:
                await cursor.execute(statement)
            for name, target in targets.items():
                await cursor.execute(
                    f"ALTER SEQUENCE {_checked(name)} RESTART START WITH {int(target)}"
                )
            await cursor.execute(
                "INSERT INTO dr_control_hooks (operation_id, hook) VALUES (:1, :2)",
                [operation_id, hook.name],
            )
            await conn.commit()
        except oracledb.Error as exc:
            raise PeerError(f"hook {hook.name} failed: {exc}", peer=self.where) from exc
        finally:
            await conn.close()
        return {"hook": hook.name, "already_done": False, "statements": len(hook.statements),
                "sequences": targets, "simulated": False}

    async def close(self) -> None:
        return None
