"""Oracle names to target names: renames first (verbatim), then the case policy."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from drapply.settings import IdentifierCase, RenameSettings, TargetKind


@dataclass(frozen=True, slots=True)
class TableRef:
    """A target table: schema and table name as the target spells them."""

    schema: str
    table: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"


def effective_case(case: IdentifierCase, kind: TargetKind) -> IdentifierCase:
    """Resolve ``auto`` per target: PostgreSQL folds to lower case, the others keep names."""
    if case is not IdentifierCase.AUTO:
        return case
    return IdentifierCase.LOWER if kind is TargetKind.POSTGRESQL else IdentifierCase.PRESERVE


def fold(name: str, case: IdentifierCase) -> str:
    """Apply the case policy to one Oracle name.

    Only names Oracle folded itself (no lower-case letter) are changed: a quoted
    mixed-case Oracle name stays as it is, so two Oracle names never collide.
    """
    if case in (IdentifierCase.PRESERVE, IdentifierCase.AUTO) or name != name.upper():
        return name
    return name.lower() if case is IdentifierCase.LOWER else name


class Naming:
    """Maps (owner, table, column) to target names; results are cached."""

    def __init__(self, renames: RenameSettings, case: IdentifierCase, kind: TargetKind) -> None:
        self._renames = renames
        self._case = effective_case(case, kind)
        self._tables: dict[tuple[str, str], TableRef] = {}
        self._columns: dict[tuple[str, str, str], str] = {}

    def schema(self, owner: str) -> str:
        renamed = self._renames.schemas.get(owner)
        return renamed if renamed is not None else fold(owner, self._case)

    def table(self, owner: str, table: str) -> TableRef:
        key = (owner, table)
        ref = self._tables.get(key)
        if ref is None:
            renamed = self._renames.tables.get(f"{owner}.{table}")
            ref = TableRef(self.schema(owner), renamed or fold(table, self._case))
            self._tables[key] = ref
        return ref

    def identifier(self, name: str) -> str:
        """Any other object's name (an index, a constraint): the case policy only."""
        return fold(name, self._case)

    def column(self, owner: str, table: str, column: str) -> str:
        key = (owner, table, column)
        name = self._columns.get(key)
        if name is None:
            renamed = self._renames.columns.get(f"{owner}.{table}.{column}")
            name = renamed or fold(column, self._case)
            self._columns[key] = name
        return name


def matches(patterns: list[str], owner: str, table: str) -> bool:
    """Whether OWNER.TABLE matches any shell pattern (a pattern without a dot is an owner)."""
    full = f"{owner}.{table}"
    for pattern in patterns:
        if "." in pattern:
            if fnmatchcase(full, pattern):
                return True
        elif fnmatchcase(owner, pattern):
            return True
    return False
