"""A :class:`~drcapture.redo.txn.store.ChangeStore` that bounds memory per transaction.

Pieces of a transaction stay in memory until their estimated size passes the
threshold; from then on that transaction's pieces go to its own spill file (appended
pickles, private to this process: mode 0600 in capture's state directory). A partial
rollback removes the newest matching piece, in memory or on disk (a tombstone: the
file is only appended to). Commit reads the file in redo order without loading it whole:
each piece's (SCN, sub-SCN) stays in memory beside its offset.

A full disk (or quota) while spilling is :class:`~drcapture.errors.SpillDiskFull`
naming the file, the transaction, the bytes it needed and those free; every spill file
of the store is removed at once (their transactions are read from redo again when
capture retries from its checkpoint), so the disk is not left full. Writes go straight
to the file (``pwrite``), so a full disk shows where it happens, not at a later flush.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from drcapture.errors import SpillDiskFull, free_bytes, is_disk_full
from drcapture.redo.ops.common import Fragment
from drcapture.redo.txn.pieces import Piece, in_redo_order, redo_key
from drcapture.redo.xid import Xid

PIECE_OVERHEAD = 200  # bytes: the dataclass, its tuples and ints around the value bytes


def piece_size(piece: Piece) -> int:
    """A cheap estimate of the memory a buffered piece holds."""
    size = PIECE_OVERHEAD
    for values in (piece.before, piece.after, piece.supp, *piece.rows):
        for _, raw in values:
            size += 40 + (len(raw) if isinstance(raw, bytes) else
                          len(raw.data) if isinstance(raw, Fragment) else 0)
    return size


@dataclass(slots=True)
class _Spilled:
    path: Path
    fd: int
    size: int = 0  # bytes written so far (where the next piece goes)
    offsets: list[int] = field(default_factory=list)
    keys: list[tuple[int, int]] = field(default_factory=list)  # redo_key of each piece
    removed: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _Open:
    memory: list[Piece] = field(default_factory=list)
    size: int = 0
    spilled: _Spilled | None = None


class SpillingStore:
    """In memory up to ``threshold_bytes`` per transaction, then on disk."""

    def __init__(self, directory: Path, threshold_bytes: int) -> None:
        self._directory = directory
        self._threshold = threshold_bytes
        self._open: dict[Xid, _Open] = {}
        self.spilled_bytes = 0
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.spill"):  # left by a crash: rebuilt from redo
            stale.unlink()

    def append(self, xid: Xid, piece: Piece) -> None:
        entry = self._open.setdefault(xid, _Open())
        if entry.spilled is None:
            entry.memory.append(piece)
            entry.size += piece_size(piece)
            if entry.size > self._threshold:
                self._spill(xid, entry)
            return
        self._write(xid, entry.spilled, piece)

    def _spill(self, xid: Xid, entry: _Open) -> None:
        path = self._directory / f"{xid}.spill"
        try:
            fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_RDWR, 0o600)
        except OSError as exc:
            raise self._full(exc, xid, path, entry.size) from exc
        spilled = _Spilled(path, fd)
        memory, entry.memory, entry.size, entry.spilled = entry.memory, [], 0, spilled
        for piece in memory:
            self._write(xid, spilled, piece)

    def _write(self, xid: Xid, spilled: _Spilled, piece: Piece) -> None:
        data = pickle.dumps(piece, protocol=pickle.HIGHEST_PROTOCOL)
        record = len(data).to_bytes(4, "little") + data
        at = spilled.size
        try:
            done = 0
            while done < len(record):
                done += os.pwrite(spilled.fd, record[done:], at + done)
        except OSError as exc:
            raise self._full(exc, xid, spilled.path, len(record)) from exc
        spilled.size += len(record)
        spilled.offsets.append(at)
        spilled.keys.append(redo_key(piece))
        self.spilled_bytes += len(record)

    def _full(self, exc: OSError, xid: Xid, path: Path, needed: int) -> Exception:
        """A write failed: a full disk becomes SpillDiskFull, after every spill file of
        this store is removed (the store is unusable from here: the attempt restarts
        from the checkpoint). Other errors pass unchanged."""
        if not is_disk_full(exc):
            return exc
        spilled = sum(e.spilled.size for e in self._open.values() if e.spilled is not None)
        self.discard()
        return SpillDiskFull(
            "the spill directory's disk is full: a large open transaction could not be "
            "written out; its spill files are removed and capture retries from its "
            "checkpoint once there is room",
            path=str(path), xid=str(xid), needed_bytes=needed, spilled_bytes=spilled,
            free_bytes=free_bytes(self._directory), error=exc.strerror,
        )  # fmt: skip

    def discard(self) -> None:
        """Close and remove every spill file (the store is not used again)."""
        for entry in self._open.values():
            if entry.spilled is not None:
                with contextlib.suppress(OSError):
                    os.close(entry.spilled.fd)
                entry.spilled.path.unlink(missing_ok=True)
        self._open.clear()

    @staticmethod
    def _read(spilled: _Spilled, index: int) -> Piece:
        at = spilled.offsets[index]
        length = int.from_bytes(os.pread(spilled.fd, 4, at), "little")
        piece = pickle.loads(os.pread(spilled.fd, length, at + 4))
        assert isinstance(piece, Piece)
        return piece

    def pieces(self, xid: Xid) -> Iterator[Piece]:
        entry = self._open.get(xid)
        if entry is None:
            return iter(())
        if entry.spilled is None:
            return iter(list(in_redo_order(entry.memory)))
        return self._iter_spilled(entry.spilled)

    def _iter_spilled(self, spilled: _Spilled) -> Iterator[Piece]:
        keys = spilled.keys
        order = sorted(range(len(keys)), key=keys.__getitem__)  # stable: appended order
        for index in order:
            if index not in spilled.removed:
                yield self._read(spilled, index)

    def remove_last(self, xid: Xid, match: Callable[[Piece], bool]) -> Piece | None:
        entry = self._open.get(xid)
        if entry is None:
            return None
        if entry.spilled is None:
            for i in range(len(entry.memory) - 1, -1, -1):
                if match(entry.memory[i]):
                    piece = entry.memory.pop(i)
                    entry.size -= piece_size(piece)
                    return piece
            return None
        spilled = entry.spilled
        for index in range(len(spilled.offsets) - 1, -1, -1):
            if index in spilled.removed:
                continue
            piece = self._read(spilled, index)
            if match(piece):
                spilled.removed.add(index)
                return piece
        return None

    def drop(self, xid: Xid) -> None:
        entry = self._open.pop(xid, None)
        if entry is not None and entry.spilled is not None:
            os.close(entry.spilled.fd)
            entry.spilled.path.unlink(missing_ok=True)

    def count(self, xid: Xid) -> int:
        entry = self._open.get(xid)
        if entry is None:
            return 0
        if entry.spilled is None:
            return len(entry.memory)
        return len(entry.spilled.offsets) - len(entry.spilled.removed)

    def memory_bytes(self) -> int:
        """Estimated bytes held in memory by all open transactions."""
        return sum(e.size for e in self._open.values())

    def spilled_transactions(self) -> int:
        return sum(1 for e in self._open.values() if e.spilled is not None)
