"""Which tables are captured: include/exclude patterns on ``OWNER`` or ``OWNER.TABLE``.

Patterns are shell-style (``HIS_*.*``, ``SI.PERSON``), matched case-sensitively on
Oracle's stored names. An owner-only pattern means every table of that owner. Exclusions
win. Decisions are cached per (owner, table): this runs for every row change read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase


def _split(pattern: str) -> tuple[str, str]:
    owner, _, table = pattern.partition(".")
    return owner, table or "*"


@dataclass(slots=True)
class TableFilter:
    """A predicate on (owner, table)."""

    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    _inc: list[tuple[str, str]] = field(init=False, repr=False)
    _exc: list[tuple[str, str]] = field(init=False, repr=False)
    _cache: dict[tuple[str, str], bool] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._inc = [_split(p) for p in self.include]
        self._exc = [_split(p) for p in self.exclude]

    def __call__(self, owner: str, table: str) -> bool:
        key = (owner, table)
        decision = self._cache.get(key)
        if decision is None:
            decision = self._matches(self._inc, owner, table) and not self._matches(
                self._exc, owner, table
            )
            self._cache[key] = decision
        return decision

    @staticmethod
    def _matches(patterns: list[tuple[str, str]], owner: str, table: str) -> bool:
        return any(fnmatchcase(owner, o) and fnmatchcase(table, t) for o, t in patterns)

    def owners_named(self) -> list[str]:
        """Owners the include list names literally (no wildcard): their topics exist up front."""
        return sorted({o for o, _ in self._inc if not any(c in o for c in "*?[")})
