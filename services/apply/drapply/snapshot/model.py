"""What a snapshot reader describes and reads: tables, key ranges, chunks.

Key values travel in the wire format (exact strings, see :mod:`drcommon.model`): the
same text names a key on the source and on the DR side, whatever each stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from drcommon.errors import SourceError
from drcommon.model import ColumnInfo

WireValue = str | None
WireRow = tuple[WireValue, ...]


class SnapshotError(SourceError):
    """Reading the source as of an SCN failed (not retriable: the SCN may be too old)."""


class RetriableSnapshotError(SnapshotError):
    """A reader error expected to pass (connection lost, a lock timeout)."""

    retriable = True


@dataclass(frozen=True, slots=True)
class SourceTable:
    """A source table: Oracle owner and name, columns in order with their Oracle types,
    and its primary key (empty when it has none)."""

    owner: str
    name: str
    columns: tuple[tuple[str, ColumnInfo], ...]
    key: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{self.owner}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _info in self.columns)

    def info(self, column: str) -> ColumnInfo:
        for name, info in self.columns:
            if name == column:
                return info
        raise KeyError(column)

    def key_positions(self) -> tuple[int, ...]:
        """Positions of the key columns in :attr:`columns`."""
        names = self.column_names
        return tuple(names.index(k) for k in self.key)


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Rows whose key is after ``lo`` (exclusive) and up to ``hi`` (inclusive), in the
    key's order; None is open. Keys are wire-format tuples."""

    lo: WireRow | None = None
    hi: WireRow | None = None

    def to_json(self) -> dict[str, Any]:
        return {"lo": list(self.lo) if self.lo is not None else None,
                "hi": list(self.hi) if self.hi is not None else None}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyRange:
        lo, hi = data.get("lo"), data.get("hi")
        return cls(tuple(lo) if lo is not None else None, tuple(hi) if hi is not None else None)

    def __str__(self) -> str:
        return f"({_show(self.lo)}, {_show(self.hi)}]"


@dataclass(frozen=True, slots=True)
class Chunk:
    """A part of a table to copy: a key range, or (Oracle) a ROWID range of the table's
    extents (``rowids`` = (first, last), both inclusive). ``estimate`` is the rows the
    splitter expects in it (0 when unknown)."""

    number: int
    keys: KeyRange | None = None
    rowids: tuple[str, str] | None = None
    estimate: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "keys": self.keys.to_json() if self.keys is not None else None,
            "rowids": list(self.rowids) if self.rowids is not None else None,
            "estimate": self.estimate,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chunk:
        keys = data.get("keys")
        rowids = data.get("rowids")
        return cls(
            number=int(data["number"]),
            keys=KeyRange.from_json(keys) if keys is not None else None,
            rowids=(str(rowids[0]), str(rowids[1])) if rowids is not None else None,
            estimate=int(data.get("estimate") or 0),
        )

    def __str__(self) -> str:
        if self.rowids is not None:
            return f"chunk {self.number} rowids {self.rowids[0]}..{self.rowids[1]}"
        return f"chunk {self.number} keys {self.keys or KeyRange()}"


@dataclass(frozen=True, slots=True)
class StartPoint:
    """Where capture must start so a copy at ``scn`` misses nothing: the start SCN of the
    oldest transaction open at ``scn`` (``scn`` itself when none was open)."""

    scn: int
    start_scn: int
    open_transactions: int = 0
    oldest_xid: str | None = None

    @property
    def line(self) -> str:
        if self.open_transactions == 0:
            return f"no transaction was open at SCN {self.scn}: capture starts at {self.scn}"
        return (
            f"{self.open_transactions} transaction(s) open at SCN {self.scn}, the oldest "
            f"({self.oldest_xid}) began at SCN {self.start_scn}: capture starts there"
        )


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How a reader fetches: rows per round trip, and the session's own limits."""

    array_size: int = 5000
    lob_prefetch_bytes: int = 64 * 1024
    statement_timeout_seconds: float = 0.0  # 0: none
    extra: dict[str, Any] = field(default_factory=dict)


def _show(key: Sequence[WireValue] | None) -> str:
    if key is None:
        return "∞"
    return ",".join("NULL" if v is None else v for v in key)
