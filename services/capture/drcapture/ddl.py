"""What a DDL statement on a captured table means for decoding.

Capture decodes rows with the dictionary it was given. A DDL that may change how rows of
a table are stored (columns added, dropped, modified or renamed; partitions added or
split, which creates objects the dictionary does not know; a table dropped or renamed)
makes that dictionary stale from the DDL's SCN on. Such a DDL is published, and then
capture stops before any later row of the table is decoded with the old layout (or
reloads the dictionary as of the DDL's SCN, where a database is reachable).

Statements that do not touch the row layout (supplemental logging, constraints, grants,
comments, indexes, statistics, storage parameters) pass through.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple, Protocol, TypeVar

from drcommon.errors import SourceError

_STRIP_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*", re.S)
_SPACES = re.compile(r"\s+")

# ALTER TABLE clauses that leave the row format and the set of segments unchanged.
_HARMLESS_ALTER = re.compile(
    r"^ALTER TABLE \S+ (ADD SUPPLEMENTAL LOG|DROP SUPPLEMENTAL LOG|ADD CONSTRAINT|"
    r"DROP CONSTRAINT|ENABLE|DISABLE|MODIFY CONSTRAINT|RENAME CONSTRAINT|"
    r"(NO)?LOGGING|(NO)?PARALLEL|(NO)?CACHE|(NO)?MONITORING|PCTFREE|INITRANS|STORAGE|"
    r"READ ONLY|READ WRITE|(NO)?ROWDEPENDENCIES|DEALLOCATE|ALLOCATE|SHRINK)"
)
_LAYOUT_CHANGES = re.compile(
    r"^(ALTER TABLE|DROP TABLE|RENAME|TRUNCATE TABLE|CREATE TABLE|FLASHBACK TABLE|"
    r"PURGE TABLE)\b"
)


def normalise(sql: str) -> str:
    """Upper-case, comments out, whitespace collapsed (quoted names keep their case)."""
    text = _STRIP_COMMENTS.sub(" ", sql)
    return _SPACES.sub(" ", text).strip().upper()


def changes_layout(sql: str) -> bool:
    """True when rows decoded after this statement may need a new dictionary."""
    text = normalise(sql)
    if text.startswith("TRUNCATE TABLE"):
        return False  # the data goes, the layout stays; apply replays the TRUNCATE
    if _HARMLESS_ALTER.match(text):
        return False
    return bool(_LAYOUT_CHANGES.match(text))


class DdlChange(NamedTuple):
    """A DDL statement of a transaction and the table it names."""

    owner: str
    table: str
    ddl: str | None


class _HasDdl(Protocol):
    def ddl(self) -> Sequence[tuple[str, str, str | None]]:
        """The transaction's DDL changes: (owner, table, statement), in order."""
        ...


T = TypeVar("T", bound=_HasDdl)


def layout_ddl(tx: _HasDdl) -> DdlChange | None:
    """The first DDL in a transaction that changes a captured table's layout."""
    for owner, table, ddl in tx.ddl():
        if changes_layout(ddl or ""):
            return DdlChange(owner, table, ddl)
    return None


def split_at_layout_ddl(released: Sequence[T]) -> tuple[list[T], list[T], T | None]:
    """(publish, hold back, the DDL transaction): everything up to and including the
    first transaction with a layout DDL is published; what follows was decoded with the
    old dictionary and must wait for the new one."""
    for index, tx in enumerate(released):
        if layout_ddl(tx) is not None:
            return list(released[: index + 1]), list(released[index + 1 :]), tx
    return list(released), [], None


class StaleDictionary(SourceError):
    """A DDL changed a captured table's layout; decoding further needs a new dictionary."""
