"""Oracle's command numbers: what kind of statement a DDL is, as its 24.1 redo record
names it.

The numbers are Oracle's own (Oracle Database Reference, V$SQLCOMMAND and
V$SESSION.COMMAND; the same codes as AUDIT_ACTIONS). Capture publishes the number as it
read it (``RowChange.ddl_command``); this module only names the ones DR handles.
"""

from __future__ import annotations

from enum import IntEnum


class SqlCommand(IntEnum):
    """The DDL commands a captured table's statement can be."""

    CREATE_TABLE = 1
    CREATE_INDEX = 9
    DROP_INDEX = 10
    ALTER_INDEX = 11
    DROP_TABLE = 12
    ALTER_TABLE = 15
    RENAME = 28
    COMMENT = 29
    TRUNCATE_TABLE = 85


def command_name(number: int | None) -> str | None:
    """``"ALTER TABLE"`` for 15, ``"command 123"`` for a number not named here, None for
    none."""
    if number is None:
        return None
    try:
        return SqlCommand(number).name.replace("_", " ")
    except ValueError:
        return f"command {number}"
