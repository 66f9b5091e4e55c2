"""Oracle DDL statements as typed actions: what apply needs to replay them elsewhere.

Names are Oracle's (upper case unless they were quoted); ``Name.owner`` is filled in
from the change's owner when the statement did not qualify the object. A statement
apply does not take apart is an :class:`Other` holding its leading keywords, so the
decision about it (execute the text on Oracle, no effect, or stop) is still explicit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from drcommon.model import ColumnInfo


class DdlKind(StrEnum):
    """What a statement does; the vocabulary of audit rows, metrics and allowlists."""

    ADD_COLUMN = "add_column"
    DROP_COLUMN = "drop_column"
    RENAME_COLUMN = "rename_column"
    MODIFY_COLUMN = "modify_column"
    CREATE_TABLE = "create_table"
    DROP_TABLE = "drop_table"
    RENAME_TABLE = "rename_table"
    TRUNCATE_TABLE = "truncate_table"
    CREATE_INDEX = "create_index"
    DROP_INDEX = "drop_index"
    ADD_CONSTRAINT = "add_constraint"
    DROP_CONSTRAINT = "drop_constraint"
    PARTITION = "partition"
    COMMENT = "comment"
    GRANT = "grant"
    OTHER = "other"


class ConstraintKind(StrEnum):
    """The constraints apply tells apart (the DR copy keeps keys, not checks)."""

    PRIMARY = "primary"
    UNIQUE = "unique"
    FOREIGN = "foreign"
    CHECK = "check"


@dataclass(frozen=True, slots=True)
class Name:
    """A schema object: owner and name, as Oracle spells them."""

    owner: str
    name: str

    def __str__(self) -> str:
        return f"{self.owner}.{self.name}"


@dataclass(frozen=True, slots=True)
class Column:
    """A column definition (ADD, CREATE TABLE) or change (MODIFY).

    ``info`` is None when a MODIFY leaves the type alone; ``type_sql`` is the type as
    written (for Oracle targets). ``default`` is a literal's value text or ``"NULL"``,
    ``default_sql`` the expression as written; ``not_null`` None means not stated.
    """

    name: str
    info: ColumnInfo | None = None
    type_sql: str | None = None
    default_sql: str | None = None
    default: Literal | None = None
    not_null: bool | None = None


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant default: a quoted text, a number, or NULL."""

    text: str | None  # None: NULL
    quoted: bool  # 'text' (True) or a number (False)


@dataclass(frozen=True, slots=True)
class Constraint:
    """An out-of-line (or ALTER TABLE ADD) constraint; columns for keys only."""

    kind: ConstraintKind
    name: str | None
    columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AddColumns:
    table: Name
    columns: tuple[Column, ...]
    kind = DdlKind.ADD_COLUMN


@dataclass(frozen=True, slots=True)
class DropColumns:
    table: Name
    names: tuple[str, ...]
    kind = DdlKind.DROP_COLUMN


@dataclass(frozen=True, slots=True)
class RenameColumn:
    table: Name
    old: str
    new: str
    kind = DdlKind.RENAME_COLUMN


@dataclass(frozen=True, slots=True)
class ModifyColumns:
    table: Name
    columns: tuple[Column, ...]
    kind = DdlKind.MODIFY_COLUMN


@dataclass(frozen=True, slots=True)
class CreateTable:
    table: Name
    columns: tuple[Column, ...]
    constraints: tuple[Constraint, ...]
    kind = DdlKind.CREATE_TABLE


@dataclass(frozen=True, slots=True)
class DropTable:
    table: Name
    purge: bool
    kind = DdlKind.DROP_TABLE


@dataclass(frozen=True, slots=True)
class RenameTable:
    table: Name
    new_name: str
    kind = DdlKind.RENAME_TABLE


@dataclass(frozen=True, slots=True)
class TruncateTable:
    table: Name
    kind = DdlKind.TRUNCATE_TABLE


@dataclass(frozen=True, slots=True)
class CreateIndex:
    index: Name
    table: Name
    columns: tuple[str, ...]
    unique: bool
    kind = DdlKind.CREATE_INDEX


@dataclass(frozen=True, slots=True)
class DropIndex:
    index: Name
    kind = DdlKind.DROP_INDEX


@dataclass(frozen=True, slots=True)
class AddConstraint:
    table: Name
    constraint: Constraint
    kind = DdlKind.ADD_CONSTRAINT


@dataclass(frozen=True, slots=True)
class DropConstraint:
    """``DROP CONSTRAINT name`` (name set) or ``DROP PRIMARY KEY`` (primary, no name)."""

    table: Name
    name: str | None
    primary: bool
    kind = DdlKind.DROP_CONSTRAINT


@dataclass(frozen=True, slots=True)
class PartitionChange:
    """``ALTER TABLE … ADD|DROP|TRUNCATE|EXCHANGE|SPLIT|MERGE|MOVE|MODIFY … PARTITION``."""

    table: Name
    action: str
    kind = DdlKind.PARTITION


@dataclass(frozen=True, slots=True)
class Comment:
    table: Name
    column: str | None
    text: str
    kind = DdlKind.COMMENT


@dataclass(frozen=True, slots=True)
class Grant:
    """GRANT or REVOKE (the text is kept; only Oracle targets can use it)."""

    verb: str
    kind = DdlKind.GRANT


@dataclass(frozen=True, slots=True)
class Other:
    """A statement apply does not take apart: its leading keywords (``CREATE VIEW``)
    and, when it names one, the table it is about."""

    words: str
    table: Name | None = None
    kind = DdlKind.OTHER


Statement = (
    AddColumns
    | DropColumns
    | RenameColumn
    | ModifyColumns
    | CreateTable
    | DropTable
    | RenameTable
    | TruncateTable
    | CreateIndex
    | DropIndex
    | AddConstraint
    | DropConstraint
    | PartitionChange
    | Comment
    | Grant
    | Other
)
