"""The RAC watermark's promise, checked after every step of simulated RAC redo.

The promise (docs/CAPTURE.md, "RAC"): every transaction with commit SCN <= the
watermark is already in the topics. The state machine drives a :class:`RacMerger` the
way ``CapturePipeline.cycle`` does, from a small simulated RAC:

* **Instances** write redo records, commits or other changes, each at an SCN no lower
  than the instance's previous one. Broadcast-on-commit is the only cross-instance rule:
  a commit gets an SCN higher than every commit any instance wrote at least ``GRACE``
  seconds earlier (the slowest propagation the grace is meant to absorb). Other SCNs
  (changes of open transactions, log switches) are not broadcast: another instance may
  commit below them.
* A **log switch** archives what the instance wrote; its next SCN bounds its later records.
* A **reader** per thread reads what is written (online logs) or only what is archived,
  with a record budget, as ``ThreadReader.read`` does: it is *quiet* when it reached the
  end of an online log within its budget; at the end of the archived logs its progress is
  the last log's next SCN - 1. Its commits are added with ``read_at=now``, then
  ``progress(thread, last_scn, now, caught_up=quiet)`` is called; after that the
  pipeline's archive-idle watch may close the thread (no new SCN for ``IDLE_TIMEOUT``
  seconds and not quiet). In files mode a reader at its end is finished and closed.
  A pipeline cycle reads every thread, then releases. Fencing stops the instances
  writing; once every reader is at the end of its online log, every thread is closed
  and reading stops.
* **Time** only moves forward; release and the watermark are asked for at any point.

Checked at every step (the watermark is asked for, as if published, after each one):

* every commit read with SCN <= the watermark has been released, and no commit written
  with SCN <= the watermark is still unread (except in a thread the archive-idle timeout
  set aside, or one whose files are done);
* a commit arriving at or below any watermark given out before, or below a commit
  already released, is counted in ``order_violations`` (exactly once), and comes only
  from a thread the archive-idle timeout set aside (the documented exception);
* releases are in commit order, except those counted commits;
* at the end, with what is left read, every commit is released exactly once: nothing
  is dropped.

The rules lean on the pipeline's real calls; sequences this found are pinned as
regression tests in test_merge.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drcapture.merge import CommitKey, RacMerger
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

GRACE = 3.0
IDLE_TIMEOUT = 5.0

thread_index = st.integers(min_value=0, max_value=3)
scn_offset = st.integers(min_value=-4, max_value=3)


@dataclass(slots=True)
class Record:
    scn: int
    key: CommitKey | None  # set for a commit record
    written_at: float


@dataclass(slots=True)
class SimThread:
    """One RAC instance's redo and the capture reader following it."""

    number: int
    online: bool  # the reader sees the online log; False: only archived logs
    records: list[Record] = field(default_factory=list)
    own_scn: int = 0  # the lowest SCN this instance's next record may have
    archived: int = 0  # records[:archived] are in archived logs
    next_scn: int | None = None  # next SCN of the newest archived log
    read: int = 0  # records the reader has consumed
    read_next_scn: int | None = None  # next SCN of the newest archived log read to its end
    last_scn: int = 0  # ThreadReader.last_scn
    caught_up: bool = False  # the last read reached the end of what it can see
    finished: bool = False  # files mode: reader at its end, no more reads
    seen: tuple[int, float] | None = None  # the pipeline's archive-idle bookkeeping
    idle_closed_ever: bool = False


class WatermarkPromise(RuleBasedStateMachine):
    """A RAC of 1-4 instances, its readers and the merger, as the pipeline wires them."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.sims: list[SimThread] = []
        self.merger: RacMerger[CommitKey] = RacMerger([], grace=GRACE)
        self.fence_requested = False
        self.fenced = False
        self.files_mode = False  # readers do not follow: at their end they are finished
        self.added: set[CommitKey] = set()
        self.flagged: set[CommitKey] = set()  # added late: counted as order violations
        self.released: list[CommitKey] = []
        self.max_released: CommitKey | None = None
        self.promised = 0  # the highest watermark given out

    # -- setup ---------------------------------------------------------------------------

    @initialize(
        online=st.lists(st.booleans(), min_size=1, max_size=4),
        start_scn=st.integers(min_value=1, max_value=5),
        files_mode=st.sampled_from([False, False, False, True]),
    )
    def start(self, online: list[bool], start_scn: int, files_mode: bool) -> None:
        self.files_mode = files_mode
        self.sims = [
            # Readers start at start_scn (ThreadReader.last_scn); what is written is later.
            SimThread(n, o, own_scn=start_scn + 1, last_scn=start_scn)
            for n, o in enumerate(online, start=1)
        ]
        self.merger = RacMerger([s.number for s in self.sims], grace=GRACE)

    def _sim(self, index: int) -> SimThread:
        return self.sims[index % len(self.sims)]

    def _max_scn(self) -> int:
        scns = [s.own_scn for s in self.sims]
        return max(scns, default=0)

    # -- the world -----------------------------------------------------------------------

    @rule(dt=st.sampled_from([0.5, 1.0, 2.0, GRACE, IDLE_TIMEOUT]))
    def tick(self, dt: float) -> None:
        self.now += dt

    @precondition(lambda self: not self.fence_requested)
    @rule(index=thread_index, commit=st.booleans(), offset=scn_offset)
    def write(self, index: int, commit: bool, offset: int) -> None:
        sim = self._sim(index)
        lower = sim.own_scn
        if commit:
            # Broadcast-on-commit: above every commit written GRACE seconds ago or more.
            known = [
                r.scn
                for s in self.sims
                for r in s.records
                if r.key is not None and r.written_at <= self.now - GRACE
            ]
            lower = max(lower, max(known, default=-1) + 1)
        scn = max(lower, self._max_scn() + offset)
        position = len(sim.records) + 1
        key = CommitKey(scn, sim.number, (1, position, 16)) if commit else None
        sim.records.append(Record(scn, key, self.now))
        sim.own_scn = scn

    @precondition(lambda self: not self.fence_requested)
    @rule(index=thread_index, offset=st.integers(min_value=1, max_value=4))
    def switch_log(self, index: int, offset: int) -> None:
        sim = self._sim(index)
        if sim.archived == len(sim.records):
            return
        sim.archived = len(sim.records)
        sim.next_scn = max(sim.own_scn + 1, self._max_scn() + offset)
        sim.own_scn = sim.next_scn

    # -- capture -------------------------------------------------------------------------

    @precondition(lambda self: not self.fenced)
    @rule(index=thread_index, budget=st.sampled_from([1, 2, 1000]))
    def read(self, index: int, budget: int) -> None:
        self._read(self._sim(index), budget)

    @precondition(lambda self: not self.fenced)
    @rule(budget=st.sampled_from([1, 1000]))
    def cycle(self, budget: int) -> None:
        """One pipeline cycle: every thread read in turn, fencing, then release.

        Fencing closes every thread once every reader is at the end of its online log.
        (The pipeline also fences readers at the end of their *archived* logs, whose
        online logs may still hold commits; that is the pipeline's choice, not the
        merger's, and is not modelled.)"""
        for sim in self.sims:
            self._read(sim, budget)
        if self.fence_requested and all(s.online and s.caught_up for s in self.sims):
            for sim in self.sims:
                self.merger.close(sim.number)
            self.fenced = True
        self.release()

    def _read(self, sim: SimThread, budget: int) -> None:
        if sim.finished:
            return
        visible = len(sim.records) if sim.online else sim.archived
        chunk = sim.records[sim.read : min(visible, sim.read + budget)]
        sim.caught_up = visible - sim.read < budget
        sim.read += len(chunk)
        for record in chunk:
            sim.last_scn = max(sim.last_scn, record.scn)
            if record.key is not None:
                self._add(sim, record.key)
        if sim.read >= sim.archived and sim.archived and not sim.online:
            sim.read_next_scn = sim.next_scn
        quiet = sim.caught_up and sim.online
        if sim.caught_up and not sim.online and sim.read_next_scn is not None:
            sim.last_scn = max(sim.last_scn, sim.read_next_scn - 1)
        self.merger.progress(sim.number, sim.last_scn, now=self.now, caught_up=quiet)
        if sim.caught_up and self.files_mode:
            sim.finished = True
            self.merger.close(sim.number)
        else:
            self._watch_archive_idle(sim)

    def _watch_archive_idle(self, sim: SimThread) -> None:
        """``CapturePipeline._watch_archive_idle``, step for step."""
        if sim.seen is None or sim.seen[0] != sim.last_scn:
            sim.seen = (sim.last_scn, self.now)
            return
        state = self.merger.threads[sim.number]
        if state.closed or self.now - sim.seen[1] < IDLE_TIMEOUT:
            return
        if state.caught_up_at is not None:
            return
        sim.idle_closed_ever = True
        self.merger.close(sim.number)

    def _add(self, sim: SimThread, key: CommitKey) -> None:
        late = key.scn <= self.promised or (
            self.max_released is not None and key < self.max_released
        )
        before = self.merger.order_violations
        self.merger.add(key, key, read_at=self.now)
        self.added.add(key)
        if late:
            assert sim.idle_closed_ever, (
                f"thread {sim.number} delivered {key} after the watermark {self.promised} "
                f"(or release of {self.max_released}) though it was never set aside"
            )
            self.flagged.add(key)
            assert self.merger.order_violations == before + 1, "a late commit not counted"
        else:
            assert self.merger.order_violations == before, "an in-order commit counted"

    @precondition(lambda self: not self.fence_requested)
    @rule(dice=st.integers(min_value=0, max_value=9))
    def request_fence(self, dice: int) -> None:
        """Control fences the source: it writes no more, and capture is asked to publish
        what was written and stop. Rare (dice): it ends the interesting part of a run."""
        self.fence_requested = dice == 0

    @rule()
    def release(self) -> None:
        for key in self.merger.release():
            assert key in self.added and key not in self.released, key
            if key not in self.flagged:
                assert self.max_released is None or key > self.max_released, (
                    f"{key} released after {self.max_released}"
                )
            if self.max_released is None or key > self.max_released:
                self.max_released = key
            self.released.append(key)

    # -- checked after every step --------------------------------------------------------

    @invariant()
    def watermark_keeps_its_promise(self) -> None:
        """Asked for (and published) after every step, more often than the pipeline does.

        Every commit at or below it is released, and none is still unread - except in a
        thread the archive-idle timeout set aside (it is counted when it comes) or one
        whose files are done (files mode: the files are the whole source)."""
        mark = self.merger.watermark()
        self.promised = max(self.promised, mark)
        released = set(self.released)
        unreleased = [k for k in self.added if k.scn <= mark and k not in released]
        assert not unreleased, f"watermark {mark} but {unreleased} not released"
        unread = [
            r.key
            for s in self.sims
            if not (s.idle_closed_ever or s.finished)
            for r in s.records[s.read :]
            if r.key is not None and r.key.scn <= mark
        ]
        assert not unread, f"watermark {mark} but {unread} not read yet"

    def teardown(self) -> None:
        if not self.sims:
            return
        if not self.fenced:  # read what is left: a promise broken late still shows up
            for sim in self.sims:
                sim.archived = len(sim.records)
                sim.online = True
                self._read(sim, 10**6)
        for sim in self.sims:
            self.merger.close(sim.number)
        self.release()
        assert sorted(self.released) == sorted(self.added), "a commit was dropped"
        assert self.merger.pending() == 0


WatermarkPromise.TestCase.settings = settings(
    max_examples=500, stateful_step_count=60, deadline=None
)
TestWatermarkPromise = WatermarkPromise.TestCase
