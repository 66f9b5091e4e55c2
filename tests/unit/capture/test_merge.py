"""RAC merge: commits leave in (SCN, thread, RBA) order; idle threads hold back boundedly.

The watermark's promise over whole simulated runs is checked by the state machine in
test_merge_invariant.py; the sequences it found are pinned here as regressions.

Mutation testing (mutmut 3.8 on ``drcapture/merge.py``, these tests alone as the test
command) kills 143 of 146 mutants. The 3 survivors are equivalent:

* ``_blocks``: ``state.thread > key.thread`` -> ``>=``: equal threads never get there,
  the line before returns False for the commit's own thread.
* ``add``: ``key < self._highest_released`` -> ``<=``: equal only if the very same
  commit (same SCN, thread and RBA) were added twice; a reader reads each commit once.
* ``release``: ``head.key > self._highest_released`` -> ``>=``: on equal keys it stores
  an equal key; nothing can tell the two apart.
"""

from __future__ import annotations

import random

from drcapture.merge import CommitKey, RacMerger, ThreadState
from hypothesis import given, settings
from hypothesis import strategies as st


def key(scn: int, thread: int, block: int = 1) -> CommitKey:
    return CommitKey(scn, thread, (1, block, 16))


def test_holds_commit_until_other_thread_passes_its_scn() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    merger.add(key(100, 1), "a", read_at=0.0)
    assert merger.release() == []
    assert merger.oldest_blocked_by() == [2]
    merger.progress(2, 99, now=0.1, caught_up=False)
    assert merger.release() == []
    merger.progress(2, 101, now=0.2, caught_up=False)
    assert merger.release() == ["a"]


def test_equal_scn_orders_by_thread() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    merger.add(key(100, 2), "t2", read_at=0.0)
    merger.progress(1, 100, now=0.0, caught_up=False)
    assert merger.release() == [], "thread 1 may still commit at SCN 100, which sorts first"
    merger.add(key(100, 1), "t1", read_at=0.1)
    merger.progress(1, 101, now=0.2, caught_up=False)
    assert merger.release() == ["t1", "t2"]


def test_quiet_thread_stops_holding_back_after_grace() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    merger.progress(2, 50, now=0.0, caught_up=True)
    merger.add(key(100, 1), "a", read_at=1.0)
    merger.progress(2, 50, now=2.0, caught_up=True)
    assert merger.release() == [], "quiet, but not yet for grace seconds after the read"
    merger.progress(2, 50, now=4.0, caught_up=True)
    assert merger.release() == ["a"]


def test_thread_that_writes_again_is_active() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=1.0)
    merger.progress(2, 50, now=0.0, caught_up=True)
    merger.progress(2, 60, now=0.5, caught_up=False)
    merger.add(key(100, 1), "a", read_at=1.0)
    merger.progress(2, 70, now=9.0, caught_up=False)
    assert merger.release() == []


def test_closed_thread_never_blocks() -> None:
    merger: RacMerger[str] = RacMerger([1, 2, 3], grace=60.0)
    merger.close(2)
    merger.progress(3, 500, now=0.0, caught_up=False)
    merger.add(key(100, 1), "a", read_at=0.0)
    assert merger.release() == ["a"]


def test_watermark_promise_with_active_threads() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    merger.add(key(100, 1), "a", read_at=0.0)
    merger.progress(2, 90, now=0.0, caught_up=False)
    assert merger.watermark() == 89
    merger.progress(2, 150, now=0.1, caught_up=False)
    merger.progress(1, 120, now=0.1, caught_up=False)
    assert merger.release() == ["a"]
    assert merger.watermark() == 119


commit_streams = st.lists(
    st.lists(st.integers(min_value=1, max_value=60), min_size=0, max_size=12),
    min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(commit_streams, st.randoms(use_true_random=False))
def test_release_order_is_global_commit_order(streams: list[list[int]], rnd: random.Random) -> None:
    threads = list(range(1, len(streams) + 1))
    per_thread = {t: sorted(s) for t, s in zip(threads, streams, strict=True)}
    merger: RacMerger[CommitKey] = RacMerger(threads, grace=3.0)
    cursors = dict.fromkeys(threads, 0)
    released: list[CommitKey] = []
    promised = -1
    clock = 0.0
    live = [t for t in threads if per_thread[t]]
    for t in threads:
        if not per_thread[t]:
            merger.close(t)
    while live:
        t = rnd.choice(live)
        scns = per_thread[t]
        i = cursors[t]
        clock += 0.01
        k = key(scns[i], t, block=i + 1)
        merger.add(k, k, read_at=clock)
        cursors[t] = i + 1
        if cursors[t] == len(scns):
            merger.close(t)
            live.remove(t)
        newly = merger.release()
        assert all(n.scn > promised for n in newly), "a commit at or below a watermark"
        released.extend(newly)
        promised = max(promised, merger.watermark())
    released.extend(merger.release())
    expected = sorted(key(s, t, block=i + 1) for t in threads for i, s in enumerate(per_thread[t]))
    assert released == expected


def test_thread_set_aside_that_returns_with_older_commit_is_counted() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=1.0)
    merger.close(2)  # e.g. no archived log for archive_idle_timeout
    merger.add(key(200, 1), "late-safe", read_at=0.0)
    assert merger.release() == ["late-safe"]
    merger.progress(2, 150, now=1.0, caught_up=False)
    assert not merger.threads[2].closed, "new redo re-opens the thread"
    merger.add(key(150, 2), "older", read_at=1.0)
    assert merger.order_violations == 1
    merger.progress(1, 300, now=1.1, caught_up=False)
    assert merger.release() == ["older"], "reported and delivered, never dropped"


# -- regressions: sequences the watermark state machine (test_merge_invariant.py) found --


def test_quiet_bound_ignores_scns_other_instances_never_saw() -> None:
    """Thread 1 reads redo up to SCN 104 without a commit (an open transaction's change):
    that SCN is not broadcast, so instance 2, quiet, can still commit below it."""
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    merger.progress(1, 104, now=0.0, caught_up=True)
    merger.progress(2, 101, now=0.0, caught_up=True)
    merger.progress(1, 104, now=3.0, caught_up=True)
    merger.progress(2, 101, now=3.0, caught_up=True)
    mark = merger.watermark()  # was 104: "the highest SCN any thread had reached"
    merger.add(key(102, 2), "t2", read_at=4.0)
    assert mark < 102
    assert mark == 100, "thread 2's own progress bounds it: it may still commit at 101"


def test_quiet_bound_ignores_the_quiet_threads_own_last_change() -> None:
    """One instance: a change at SCN 2 read, then quiet for the grace; its next commit may
    still carry SCN 2 (a thread's SCNs never decrease, they need not increase)."""
    merger: RacMerger[str] = RacMerger([1], grace=3.0)
    merger.progress(1, 2, now=0.0, caught_up=False)
    merger.progress(1, 2, now=3.0, caught_up=True)
    mark = merger.watermark()  # was 2
    merger.add(key(2, 1), "t1", read_at=3.0)
    assert mark == 1


def test_commit_below_a_given_watermark_is_counted_though_above_every_release() -> None:
    """Thread 1 follows its online log, thread 2 only archived logs. Thread 2 has no
    archived log for archive_idle_timeout and is set aside; the watermark passes SCN 2;
    then its log is archived, holding a commit at SCN 2 made meanwhile. That commit sorts
    after every release, (2, 1) < (2, 2), but breaks the promise: it must be counted."""
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    merger.add(key(2, 1), "t1", read_at=0.0)
    merger.progress(1, 2, now=0.0, caught_up=False)
    merger.progress(2, 1, now=0.0, caught_up=False)
    assert merger.release() == []
    assert merger.watermark() == 0
    merger.progress(1, 2, now=5.0, caught_up=True)
    merger.progress(2, 1, now=5.0, caught_up=False)
    merger.close(2)  # the pipeline's archive-idle watch
    assert merger.release() == ["t1"]
    assert merger.watermark() == 2
    merger.add(key(2, 2), "t2", read_at=6.0)
    merger.progress(2, 2, now=6.0, caught_up=False)
    assert merger.order_violations == 1, "counted"
    merger.progress(1, 3, now=6.0, caught_up=False)
    assert merger.release() == ["t2"], "and delivered, never dropped"


def test_order_violations_count_against_the_highest_commit_released() -> None:
    """Releasing a late commit does not lower the bar for the next one."""
    merger: RacMerger[str] = RacMerger([1, 2], grace=1.0)
    merger.close(2)
    merger.add(key(200, 1), "a", read_at=0.0)
    assert merger.release() == ["a"]
    merger.add(key(150, 2), "b", read_at=1.0)
    merger.progress(2, 150, now=1.0, caught_up=False)
    assert merger.release() == ["b"]
    merger.add(key(160, 2), "c", read_at=2.0)
    assert merger.order_violations == 2, "160 still comes after 200 was released"


# -- the watermark, branch by branch ---------------------------------------------------


def test_quiet_bound_is_the_commit_scn_read_grace_seconds_before() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    merger.add(key(100, 1), "a", read_at=0.0)
    merger.progress(1, 120, now=0.0, caught_up=False)
    merger.progress(2, 50, now=2.9, caught_up=True)
    assert merger.watermark() == 49, "quiet, but not yet grace seconds after a commit read"
    merger.progress(2, 50, now=3.0, caught_up=True)
    assert merger.release() == ["a"]
    assert merger.watermark() == 100, "exactly grace seconds after: 100 is covered"


def test_quiet_bound_takes_the_last_commit_read_before_the_cutoff_not_a_later_one() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    for scn, read_to, at in ((100, 100, 0.0), (110, 110, 1.0), (130, 200, 5.0)):
        merger.add(key(scn, 1), str(scn), read_at=at)
        merger.progress(1, read_to, now=at, caught_up=False)
    merger.progress(2, 50, now=5.5, caught_up=True)  # grace before that: 2.5
    assert merger.release() == ["100", "110"]
    assert merger.watermark() == 110, "130 was read 0.5 s ago: thread 2 may still undercut it"


def test_threads_that_have_read_nothing_promise_nothing_quiet_or_not() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    merger.progress(1, 0, now=0.0, caught_up=True)
    merger.progress(2, 0, now=0.0, caught_up=True)
    assert merger.watermark() == 0
    merger.progress(1, 0, now=3.0, caught_up=True)
    merger.progress(2, 0, now=3.0, caught_up=True)
    assert merger.watermark() == 0
    assert RacMerger([], grace=3.0).watermark() == 0, "no thread at all"
    merger.add(key(1, 1), "first", read_at=3.0)
    assert merger.order_violations == 0, "a watermark of 0 covers no real commit"


def test_a_buffered_commit_bounds_the_watermark_until_released() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    merger.add(key(100, 1), "a", read_at=0.0)
    merger.progress(1, 150, now=0.0, caught_up=False)
    merger.progress(2, 200, now=0.0, caught_up=False)
    assert merger.watermark() == 99
    assert merger.release() == ["a"]
    assert merger.watermark() == 149


def test_a_buffered_commit_held_by_a_quiet_thread_bounds_the_watermark() -> None:
    """Thread 2 is quiet and has read every commit up to 120; thread 1, lagging, reads a
    commit at 100 now. Thread 2 holds it back for the grace, and the promise stops
    below it though every thread's own bound is higher."""
    merger: RacMerger[str] = RacMerger([1, 2, 3], grace=3.0)
    merger.add(key(120, 3), "c", read_at=0.0)
    merger.progress(3, 120, now=0.0, caught_up=False)
    merger.progress(1, 90, now=0.0, caught_up=False)
    merger.progress(2, 60, now=0.0, caught_up=True)
    merger.add(key(100, 1), "a", read_at=5.0)
    merger.progress(1, 150, now=5.0, caught_up=False)
    merger.progress(2, 60, now=5.0, caught_up=True)
    merger.progress(3, 130, now=5.0, caught_up=False)
    assert merger.release() == []
    assert merger.oldest_blocked_by() == [2]
    assert merger.watermark() == 99


def test_every_thread_closed_and_nothing_buffered_promises_all_that_was_read() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    merger.progress(1, 500, now=0.0, caught_up=True)
    merger.progress(2, 900, now=0.0, caught_up=True)
    merger.close(1)
    merger.close(2)
    assert merger.watermark() == 900
    merger.add(key(800, 1), "back", read_at=1.0)
    assert merger.order_violations == 1, "below what was promised: counted"


def test_scn_history_is_bounded_and_forgetting_only_lowers_the_watermark() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    merger.add(key(100, 1), "a", read_at=0.0)
    merger.progress(1, 100, now=0.0, caught_up=False)
    for _ in range(4094):
        merger.progress(1, 100, now=10.0, caught_up=False)
    merger.progress(2, 50, now=10.0, caught_up=True)  # the 4096th report
    assert merger.release() == ["a"]
    assert merger.watermark() == 99
    merger.progress(2, 50, now=10.0, caught_up=True)  # the first report falls out
    assert merger.watermark() == 49, "the commit read at t=0 is forgotten: a lower bound"


# -- thread bookkeeping and violation counting -----------------------------------------


def test_a_thread_missing_from_the_configuration_is_tracked_and_holds_back() -> None:
    merger: RacMerger[str] = RacMerger([1], grace=3.0)
    merger.add(key(100, 1), "a", read_at=0.0)
    merger.progress(1, 100, now=0.0, caught_up=False)
    merger.progress(3, 50, now=0.0, caught_up=False)
    assert merger.threads[3] == ThreadState(3, progress_scn=50)
    assert merger.release() == []
    assert merger.oldest_blocked_by() == [3]
    assert merger.watermark() == 49
    merger.progress(3, 101, now=1.0, caught_up=False)
    assert merger.release() == ["a"]


def test_progress_at_the_same_scn_does_not_reopen_a_closed_thread() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=3.0)
    merger.progress(2, 150, now=0.0, caught_up=False)
    merger.close(2)  # archive_idle_timeout
    merger.progress(2, 150, now=1.0, caught_up=False)  # read again: nothing new
    assert merger.threads[2] == ThreadState(2, progress_scn=150, closed=True)
    merger.progress(1, 300, now=1.0, caught_up=False)
    assert merger.watermark() == 299, "a thread set aside holds nothing back"
    merger.progress(2, 151, now=2.0, caught_up=False)
    assert merger.threads[2] == ThreadState(2, progress_scn=151, closed=False)


def test_every_late_commit_is_counted_and_delivered() -> None:
    merger: RacMerger[str] = RacMerger([1, 2], grace=1.0)
    merger.progress(2, 100, now=0.0, caught_up=False)
    merger.close(2)  # archive_idle_timeout
    merger.progress(1, 300, now=900.0, caught_up=False)
    assert merger.watermark() == 299
    merger.add(key(150, 2), "x", read_at=901.0)
    assert merger.threads[2] == ThreadState(2, progress_scn=150, closed=False), "re-opened"
    merger.add(key(160, 2), "y", read_at=901.0)
    assert merger.order_violations == 2
    merger.add(key(299, 2), "z", read_at=901.0)
    assert merger.order_violations == 3, "at the watermark is below the promise too"
    merger.add(key(300, 2), "w", read_at=901.0)
    assert merger.order_violations == 3, "above it is in order"
    merger.progress(2, 300, now=901.0, caught_up=False)
    merger.progress(1, 400, now=901.0, caught_up=False)
    assert merger.release() == ["x", "y", "z", "w"]
