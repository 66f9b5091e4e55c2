"""What load, compare and repair use of a target session beyond :class:`TargetSession`:
plain SQL on its connection, its control tables and its batch writers.

Every SQL session (:mod:`~drapply.adapters.sqlite`, ``postgresql``, ``oracle``) has these
methods already (from :class:`~drapply.adapters.control.SqlControl` and
:class:`~drapply.adapters.sqlbase.SqlRows`); :func:`sql_session` says so to the type
checker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from drapply.adapters.base import TableShape, TargetSession
from drapply.naming import TableRef


class SqlSession(TargetSession, Protocol):
    """A target session that runs plain SQL."""

    text_type: str
    int_type: str
    ts_type: str

    def ph(self, index: int) -> str: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def control_table(self, name: str, schema: str | None) -> str: ...

    def create_if_missing(self, table: str, ddl: str) -> None: ...

    def start(self) -> None: ...

    def ts_param(self, value: datetime | None) -> Any: ...

    def ts_value(self, value: Any) -> datetime | None: ...

    def insert_sql(self, ref: TableRef, columns: Sequence[str], *, ignore: bool) -> str: ...

    def upsert_sql(self, ref: TableRef, columns: Sequence[str], key: Sequence[str]) -> str: ...

    def copy_rows(self, ref: TableRef, columns: Sequence[str], rows: Sequence[Any]) -> None: ...

    def ensure_schema(self, schema: str) -> None: ...

    def describe(self, ref: TableRef) -> TableShape | None: ...


def sql_session(session: TargetSession) -> SqlSession:
    """The session as a :class:`SqlSession` (all of apply's targets are)."""
    return cast(SqlSession, session)
