"""The interface every source reader implements (one module per database kind).

A reader is one connection used by one thread. Everything it reads is as of one SCN the
caller names; values come back in the wire format (exact strings, see
:mod:`drapply.snapshot.values`), rows in the order of the table's columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from drapply.snapshot.model import Chunk, KeyRange, SourceTable, StartPoint, WireRow


class SnapshotReader(Protocol):
    """A source database read as of an SCN."""

    kind: str

    def close(self) -> None: ...

    def current_scn(self) -> int:
        """The source's SCN now (what ``--scn now`` copies at)."""
        ...

    def now(self) -> StartPoint:
        """The current SCN with the start point of a copy at it, read so that no
        transaction open at that SCN is missed."""
        ...

    def start_point(self, scn: int) -> StartPoint:
        """Where capture must start for a copy at ``scn``: the oldest open transaction."""
        ...

    def tables(self, owners: Sequence[str]) -> list[SourceTable]:
        """Tables of the owners matching these names or shell patterns, with columns and
        primary keys, sorted by owner and name."""
        ...

    def split(self, table: SourceTable, scn: int, rows_per_chunk: int) -> list[Chunk]:
        """Chunks that together hold every row of ``table`` as of ``scn``, each about
        ``rows_per_chunk`` rows."""
        ...

    def read(self, table: SourceTable, scn: int, chunk: Chunk) -> Iterator[list[WireRow]]:
        """The chunk's rows as of ``scn``, in batches (key order for key ranges)."""
        ...

    def read_range(self, table: SourceTable, scn: int, keys: KeyRange) -> Iterator[list[WireRow]]:
        """The rows of a key range as of ``scn``, in batches."""
        ...

    def read_keys(self, table: SourceTable, scn: int, keys: Sequence[WireRow]) -> list[WireRow]:
        """The rows with these keys as of ``scn`` (those that exist)."""
        ...
