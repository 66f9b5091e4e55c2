"""RAC: merge the committed transactions of every redo thread into one commit order.

Each thread's redo is in SCN order, so each thread delivers its commits in order; the
merger only has to decide *when* the smallest buffered commit is safe to release, i.e.
no thread can still deliver a commit that sorts before it. The order is the key
``(commit SCN, thread, commit RBA)``: two instances can commit at the same SCN.

A thread cannot deliver a smaller commit when

* it has already read past that SCN (its progress SCN is higher, or equal and the
  thread number sorts after), or
* it is closed (its instance shut down and the thread's redo ended), or
* it is *quiet*: its reader reached the end of the redo written so far, and did so at
  least ``grace`` seconds after the commit in question was read. Any commit that thread
  made before ours was flushed by then, and under RAC's broadcast-on-commit its later
  commits get higher SCNs. ``grace`` bounds how long an idle or crashed instance can hold
  the others back (docs/CAPTURE.md, "RAC").

Everything here is pure: time is passed in, nothing is read or written.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True, order=True)
class CommitKey:
    """Total commit order across threads."""

    scn: int
    thread: int
    rba: tuple[int, int, int]  # (log sequence, block, offset) of the commit record


@dataclass(slots=True)
class ThreadState:
    """What the merger knows of one thread."""

    thread: int
    progress_scn: int = 0
    caught_up_at: float | None = None  # last time the reader saw the end of written redo
    closed: bool = False


@dataclass(order=True, slots=True)
class _Pending(Generic[T]):
    key: CommitKey
    read_at: float = field(compare=False)
    item: T = field(compare=False)


class RacMerger(Generic[T]):
    """Buffers per-thread commits and releases them in global commit order."""

    def __init__(self, threads: Iterable[int], grace: float) -> None:
        self._threads = {t: ThreadState(t) for t in threads}
        self._grace = grace
        self._heap: list[_Pending[T]] = []
        self._highest_released: CommitKey | None = None
        self._commit_scn = 0  # the highest commit SCN read so far
        self._scn_history: deque[tuple[float, int]] = deque(maxlen=4096)
        self._promised = 0  # the highest watermark given out
        self.order_violations = 0

    @property
    def threads(self) -> dict[int, ThreadState]:
        return self._threads

    def _thread(self, thread: int) -> ThreadState:
        state = self._threads.get(thread)
        if state is None:  # a thread opened that the configuration did not list
            state = self._threads[thread] = ThreadState(thread)
        return state

    def add(self, key: CommitKey, item: T, *, read_at: float) -> None:
        """A thread read a commit. Commits of one thread must arrive in order."""
        state = self._thread(key.thread)
        state.progress_scn = max(state.progress_scn, key.scn)
        state.caught_up_at = None
        state.closed = False
        self._commit_scn = max(self._commit_scn, key.scn)
        if key.scn <= self._promised or (
            self._highest_released is not None and key < self._highest_released
        ):
            # Only possible when a thread set aside as idle or closed comes back with
            # older commits: at or below a watermark already given out (which may be
            # above every commit released), or below a commit already released. Counted
            # and reported, never dropped.
            self.order_violations += 1
        heapq.heappush(self._heap, _Pending(key, read_at, item))

    def progress(self, thread: int, scn: int, *, now: float, caught_up: bool) -> None:
        """A thread read records up to ``scn``; ``caught_up`` when nothing more is written."""
        state = self._thread(thread)
        if scn > state.progress_scn:
            state.progress_scn = scn
            state.closed = False  # new redo: a thread set aside as idle is back
        state.caught_up_at = now if caught_up else None
        # Commit SCNs only: broadcast-on-commit makes every instance's later commits
        # higher than a commit SCN, but not higher than the SCN of other redo (a change of
        # an open transaction, a log switch), which another instance may never have seen.
        self._scn_history.append((now, self._commit_scn))

    def close(self, thread: int) -> None:
        """The thread's instance shut down cleanly: it will write no more commits."""
        self._thread(thread).closed = True

    def _max_progress(self) -> int:
        return max((s.progress_scn for s in self._threads.values()), default=0)

    def _blocks(self, state: ThreadState, pending: _Pending[T]) -> bool:
        """Could ``state``'s thread still deliver a commit ordering before ``pending``?"""
        key = pending.key
        if state.closed or state.thread == key.thread:
            return False
        if state.progress_scn > key.scn or (
            state.progress_scn == key.scn and state.thread > key.thread
        ):
            return False
        return not (
            state.caught_up_at is not None and state.caught_up_at >= pending.read_at + self._grace
        )

    def release(self) -> list[T]:
        """Every buffered commit that is now safe, in commit order."""
        out: list[T] = []
        while self._heap:
            head = self._heap[0]
            if any(self._blocks(s, head) for s in self._threads.values()):
                break
            heapq.heappop(self._heap)
            if self._highest_released is None or head.key > self._highest_released:
                # A late (counted) commit released after a higher one must not lower the
                # bar the next commits are checked against.
                self._highest_released = head.key
            out.append(head.item)
        return out

    def pending(self) -> int:
        return len(self._heap)

    def pending_items(self) -> list[T]:
        """Buffered commits not yet released (any order)."""
        return [p.item for p in self._heap]

    def oldest_blocked_by(self) -> list[int]:
        """Threads holding back the oldest buffered commit (for status and logs)."""
        if not self._heap:
            return []
        head = self._heap[0]
        return [s.thread for s in self._threads.values() if self._blocks(s, head)]

    def watermark(self) -> int:
        """An SCN W such that every commit with SCN <= W has been released.

        Bounded by the oldest buffered commit, by the progress of every active thread,
        and for a quiet thread by the highest *commit* SCN read ``grace`` seconds or more
        before it was last seen at the end of its redo: broadcast-on-commit puts that
        instance's later commits above it, and it has read what it committed before.
        Only commit SCNs are broadcast; a higher SCN of other redo (an open transaction's
        change, a log switch) can still be undercut by the quiet instance.

        The value is remembered as given out (the caller may publish it): a commit that
        arrives later at or below it is counted in ``order_violations``.
        """
        bounds: list[int] = []
        if self._heap:
            bounds.append(self._heap[0].key.scn - 1)
        for state in self._threads.values():
            if state.closed:
                continue
            if state.caught_up_at is not None:
                bounds.append(max(state.progress_scn - 1, self._scn_before(state.caught_up_at)))
            else:
                bounds.append(state.progress_scn - 1)
        # With every thread closed and nothing buffered, all of it is out.
        mark = max(0, min(bounds)) if bounds else self._max_progress()
        self._promised = max(self._promised, mark)
        return mark

    def _scn_before(self, moment: float) -> int:
        """The highest commit SCN read at least ``grace`` seconds before ``moment``."""
        cutoff = moment - self._grace
        best = 0
        for when, scn in self._scn_history:
            if when > cutoff:
                break
            best = scn
        return best
