"""RAC merge: commits leave in (SCN, thread, RBA) order; idle threads hold back boundedly."""

from __future__ import annotations

import random

from drcapture.merge import CommitKey, RacMerger
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
