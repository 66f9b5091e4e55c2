"""Where open transactions' pieces wait for their commit.

:class:`ChangeStore` is the seam for a disk-spilling store: pieces are appended per XID,
iterated once at commit in redo order (:func:`~drcapture.redo.txn.pieces.redo_key`,
whatever order they were appended in), dropped on rollback, and a partial rollback
removes the latest appended piece that matches. :class:`MemoryStore` is the in-memory
implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from drcapture.redo.txn.pieces import Piece, in_redo_order
from drcapture.redo.xid import Xid


class ChangeStore(Protocol):
    """Buffered pieces per transaction."""

    def append(self, xid: Xid, piece: Piece) -> None:
        """Add a piece at the end of ``xid``'s list."""
        ...

    def pieces(self, xid: Xid) -> Iterator[Piece]:
        """``xid``'s pieces in redo order (SCN, sub-SCN; appended order among equals)."""
        ...

    def remove_last(self, xid: Xid, match: Callable[[Piece], bool]) -> Piece | None:
        """Remove and return the most recent piece of ``xid`` that ``match`` accepts."""
        ...

    def drop(self, xid: Xid) -> None:
        """Forget every piece of ``xid`` (commit delivered, or rollback)."""
        ...

    def count(self, xid: Xid) -> int:
        """How many pieces ``xid`` holds."""
        ...


class MemoryStore:
    """Pieces in per-XID lists in memory."""

    def __init__(self) -> None:
        self._pieces: dict[Xid, list[Piece]] = {}

    def append(self, xid: Xid, piece: Piece) -> None:
        """Add a piece at the end of ``xid``'s list."""
        self._pieces.setdefault(xid, []).append(piece)

    def pieces(self, xid: Xid) -> Iterator[Piece]:
        """``xid``'s pieces in redo order."""
        return iter(list(in_redo_order(self._pieces.get(xid, []))))

    def remove_last(self, xid: Xid, match: Callable[[Piece], bool]) -> Piece | None:
        """Remove the most recent matching piece (LIFO: undo is applied newest first)."""
        items = self._pieces.get(xid, [])
        for i in range(len(items) - 1, -1, -1):
            if match(items[i]):
                return items.pop(i)
        return None

    def drop(self, xid: Xid) -> None:
        """Forget ``xid``."""
        self._pieces.pop(xid, None)

    def count(self, xid: Xid) -> int:
        """How many pieces ``xid`` holds."""
        return len(self._pieces.get(xid, ()))
