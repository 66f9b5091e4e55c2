"""One DDL record run on the DR database, at its place in the stream.

The applier applies a transaction holding DDL alone, after the group before it has
committed, so the DDL is a barrier: nothing after it is applied before it, nothing
before it after. :func:`run_ddl` runs inside that transaction's database transaction:
on PostgreSQL and SQLite the translated statements, the ``ddl_log`` row and the
checkpoint past it commit together (a crash leaves all or none). On Oracle a DDL
commits by itself; a replay after a crash between the DDL and its checkpoint then meets
the DDL already done, which :data:`ORACLE_ALREADY_DONE` recognises (the DR database is a
mirror: an object that exists, or is gone, as the statement wanted is the statement's
effect).

A statement apply cannot reproduce raises :class:`DdlNotApplied`: the schema stops
before it, and the error says what a person does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from drcommon.errors import SinkError
from drcommon.model import RowChange, TransactionInfo
from drcommon.sqlcommand import command_name

from drapply.adapters.base import DdlLogRow, Stream
from drapply.ddl.parse import parse
from drapply.ddl.statement import RenameTable, Statement
from drapply.ddl.translate import (
    BY_HAND,
    DdlOptions,
    DdlTarget,
    Execute,
    Plan,
    Untranslatable,
    translate,
)
from drapply.errors import DdlNotApplied, DdlSyntaxError, RetriableSinkError
from drapply.naming import Naming
from drapply.settings import TargetKind
from drapply.status import utcnow

log = logging.getLogger(__name__)

# ORA codes a repeated DDL meets when its first run already took effect.
ORACLE_ALREADY_DONE = {
    "ORA-00955",  # name is already used by an existing object (CREATE TABLE/INDEX)
    "ORA-01430",  # column being added already exists in table
    "ORA-00942",  # table or view does not exist (DROP/RENAME/TRUNCATE after a drop)
    "ORA-01418",  # specified index does not exist (DROP INDEX)
    "ORA-00904",  # invalid identifier (DROP/RENAME of a column already gone)
    "ORA-02260",  # table can have only one primary key
    "ORA-02261",  # such unique or primary key already exists in the table
    "ORA-02441",  # cannot drop nonexistent primary key
    "ORA-02443",  # cannot drop constraint - nonexistent constraint
    "ORA-02149",  # specified partition does not exist
    "ORA-14013",  # duplicate partition name
}
# SQLite's messages for the same (a failed statement leaves its transaction usable).
SQLITE_ALREADY_DONE = ("duplicate column name", "already exists", "no such column",
                       "no such table", "no such index")  # fmt: skip
STATEMENT_IN_ERRORS = 300  # characters of the statement an error message quotes


class DdlSession(DdlTarget, Protocol):
    """What running a DDL needs from a target session."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...

    def record_ddl(self, stream: Stream, row: DdlLogRow) -> None: ...


@dataclass(frozen=True, slots=True)
class DdlHandling:
    """How a stream treats DDL records (``apply.ddl`` and the target's kind)."""

    mode: Literal["execute", "skip", "stop"]
    kind: TargetKind
    naming: Naming
    options: DdlOptions


def plan_ddl(text: str, owner: str, handling: DdlHandling, target: DdlTarget
             ) -> tuple[Statement | None, Plan]:  # fmt: skip
    """The statement and what it becomes on the target (untranslatable if unreadable)."""
    try:
        statement = parse(text, owner)
    except DdlSyntaxError as exc:
        return None, Untranslatable(f"apply cannot read the statement ({exc}); {BY_HAND}")
    plan = translate(statement, text, handling.kind, target, handling.naming, handling.options)
    return statement, plan


def touched_tables(statement: Statement | None, change: RowChange) -> list[str]:
    """Oracle table names whose cached shapes the statement makes stale."""
    names = [change.table]
    table = getattr(statement, "table", None)
    if table is not None and table.name not in names:
        names.append(table.name)
    if isinstance(statement, RenameTable):
        names.append(statement.new_name)
    return names


def run_ddl(
    session: DdlSession,
    handling: DdlHandling,
    stream: Stream,
    offset: int,
    info: TransactionInfo,
    change: RowChange,
) -> tuple[Statement | None, DdlLogRow]:
    """Run one DDL change and record it; :class:`DdlNotApplied` when it cannot be."""
    table = f"{change.owner}.{change.table}"
    where = {"topic": stream.topic, "offset": offset, "scn": info.commit_scn,
             "xid": info.xid, "table": table}  # fmt: skip
    if change.ddl_command is not None:
        where["command"] = command_name(change.ddl_command)  # what the source's redo calls it
    text = change.ddl
    if not text:
        raise DdlNotApplied(f"a DDL change without its statement text; {BY_HAND}", **where)
    statement, plan = plan_ddl(text, change.owner, handling, session)
    short = text[:STATEMENT_IN_ERRORS]
    if isinstance(plan, Untranslatable):
        raise DdlNotApplied(plan.reason, **where, statement=short)
    executed: tuple[str, ...] = ()
    outcome, reason = "no_effect", getattr(plan, "reason", "")
    if isinstance(plan, Execute):
        outcome, reason = "executed", ""
        for sql in plan.statements:
            try:
                session.execute(sql)
            except RetriableSinkError:
                raise
            except SinkError as exc:
                done = already_done(handling.kind, exc.message)
                if done is None:
                    refused = f"the DR database refused it ({exc.message}); {BY_HAND}"
                    raise DdlNotApplied(refused, **where, statement=short) from exc
                outcome, reason = "already_done", f"{done}: a replay meets its effect"
                log.warning("DDL already took effect on the DR database", extra={
                    **where, "error": done})  # fmt: skip
        executed = plan.statements
    kind = statement.kind.value if statement is not None else "other"
    row = DdlLogRow(
        topic=stream.topic, partition=stream.partition, record_offset=offset,
        schema=stream.owner, xid=info.xid, commit_scn=info.commit_scn, table=table,
        kind=kind, outcome=outcome, statement=text, executed=executed, reason=reason,
        applied_at=utcnow(),
    )  # fmt: skip
    session.record_ddl(stream, row)
    return statement, row


def already_done(kind: TargetKind, error: str) -> str | None:
    """What in a target's error says the statement's effect is there already (None: a
    real refusal). Not for PostgreSQL: an error ends its transaction, so its
    translations say IF [NOT] EXISTS instead."""
    if kind is TargetKind.ORACLE:
        at = error.find("ORA-")
        code = error[at : at + 9] if at >= 0 else None
        return code if code in ORACLE_ALREADY_DONE else None
    if kind is TargetKind.SQLITE:
        return next((m for m in SQLITE_ALREADY_DONE if m in error), None)
    return None
