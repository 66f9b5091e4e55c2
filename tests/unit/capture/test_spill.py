"""The spilling store behaves exactly like the memory store, and bounds memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest
from drcapture.errors import SpillDiskFull, StateDiskFull
from drcapture.openstate import STATE_FORMAT, STATE_VERSION, OpenStateStore
from drcapture.redo.txn.pieces import Piece, PieceKind
from drcapture.redo.txn.store import MemoryStore
from drcapture.redo.xid import Xid
from drcapture.spill import SpillingStore, piece_size
from hypothesis import given, settings
from hypothesis import strategies as st


def _piece(n: int, size: int = 10) -> Piece:
    return Piece(
        kind=PieceKind.ROW,
        rba=f"0x000001.{n:08x}.0010",
        scn=n,
        sub_scn=0,
        con_id=None,
        obj=7,
        data_obj=7,
        redo_code=2,
        undo_code=3,
        bdba=n % 5,
        slot=n % 3,
        fb=0x2C,
        supp_type=0,
        supp_fb=0,
        row=None,
        before=(),
        after=((1, str(n).encode() * size),),
        supp=(),
    )


ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(0, 2), st.integers(0, 200)),
        st.tuples(st.just("undo"), st.integers(0, 2), st.integers(0, 4)),
        st.tuples(st.just("drop"), st.integers(0, 2), st.just(0)),
    ),
    max_size=80,
)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_same_behaviour_as_memory_store(
    tmp_path_factory: pytest.TempPathFactory, script: list[tuple[str, int, int]]
) -> None:
    directory = tmp_path_factory.mktemp("spill")
    memory, spilling = MemoryStore(), SpillingStore(directory, threshold_bytes=2000)
    xids = [Xid(1, 2, n + 1) for n in range(3)]
    for op, which, arg in script:
        xid = xids[which]
        if op == "append":
            for store in (memory, spilling):
                store.append(xid, _piece(arg))
        elif op == "undo":

            def match(p: Piece, slot: int = arg % 3) -> bool:
                return p.slot == slot

            assert memory.remove_last(xid, match) == spilling.remove_last(xid, match)
        else:
            memory.drop(xid)
            spilling.drop(xid)
        for x in xids:
            assert list(memory.pieces(x)) == list(spilling.pieces(x))
            assert memory.count(x) == spilling.count(x)


def test_large_transaction_leaves_memory(tmp_path: Path) -> None:
    store = SpillingStore(tmp_path, threshold_bytes=100_000)
    xid = Xid(3, 4, 5)
    for n in range(5000):
        store.append(xid, _piece(n, size=50))
    assert store.spilled_transactions() == 1
    assert store.memory_bytes() == 0
    assert store.spilled_bytes > 5000 * 50
    assert [p.scn for p in store.pieces(xid)] == list(range(5000))
    spill_file = tmp_path / f"{xid}.spill"
    assert spill_file.exists() and oct(spill_file.stat().st_mode & 0o777) == "0o600"
    store.drop(xid)
    assert not spill_file.exists()
    assert piece_size(_piece(1)) > 0


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_named_and_every_spill_file_removed(tmp_path: Path) -> None:
    """Writing a spill file on a full disk (here /dev/full, which answers every write
    with ENOSPC, no privileges needed) raises SpillDiskFull with the file, the
    transaction and the bytes needed, and leaves no spill file behind."""
    store = SpillingStore(tmp_path, threshold_bytes=2000)
    fine, doomed = Xid(1, 2, 1), Xid(1, 2, 2)
    for n in range(30):
        store.append(fine, _piece(n, size=50))  # spills to a real file
    assert (tmp_path / f"{fine}.spill").exists()
    (tmp_path / f"{doomed}.spill").symlink_to("/dev/full")  # its file: on a full disk
    with pytest.raises(SpillDiskFull) as caught:
        for n in range(30):
            store.append(doomed, _piece(n, size=50))
    where = caught.value.where
    assert where["path"] == str(tmp_path / f"{doomed}.spill")
    assert where["xid"] == str(doomed) and where["needed_bytes"] > 0
    assert where["free_bytes"] is not None and "No space left" in where["error"]
    assert caught.value.retriable
    assert list(tmp_path.glob("*.spill")) == [], "partial and other spill files removed"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_state_disk_is_named_and_its_temporary_file_removed(tmp_path: Path) -> None:
    """The same for the saved open transactions: named, the temporary file removed."""
    state = {"format": STATE_FORMAT, "version": STATE_VERSION, "positions": {"1": [1, 2, 0]},
             "scns": {"1": 5}, "threads": {"1": {"open": []}}}
    body = orjson.dumps(state)
    temp = tmp_path / f"open-{hashlib.sha256(body).hexdigest()[:24]}.tmp"
    temp.symlink_to("/dev/full")  # where this state is written first: a full disk
    with pytest.raises(StateDiskFull) as caught:
        OpenStateStore(tmp_path).write({1: {"open": []}}, {1: (1, 2, 0)}, {1: 5}, None)
    assert caught.value.where["path"] == str(temp)
    assert caught.value.where["needed_bytes"] == len(body)
    assert not list(tmp_path.iterdir()), "the temporary file removed"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_the_cores_full_spill_disk_is_the_same_error(tmp_path: Path) -> None:
    """The service spills in the compiled core: a full disk there is the same
    SpillDiskFull (message and facts, retriable), raised by the thread's read, and no
    spill file is left behind."""
    from drcapture.catalog import LogCatalog
    from drcapture.filtering import TableFilter
    from drcapture.native_txn import CoreOptions, ThreadCore
    from drcapture.synth.workload_build import build_workload
    from drcapture.thread_reader import ThreadReader

    from tests.support.workloads import random_workload

    built = build_workload(random_workload(7, transactions=30, threads=1, switch_every=8))
    paths = built.write(tmp_path / "logs")
    spill = tmp_path / "spill"
    spill.mkdir()
    doomed = str(built.expected[len(built.expected) // 2].xid)
    core = ThreadCore(built.dictionary, CoreOptions(
        thread=1, wanted=TableFilter(("SI.*", "HIS.*")), spill_directory=spill,
        spill_threshold=0))  # fmt: skip
    # after the store's start, which clears files left by an earlier run
    (spill / f"{doomed}.spill").symlink_to("/dev/full")
    reader = ThreadReader(1, LogCatalog(files=paths), core, start_scn=None, follow=False)
    with pytest.raises(SpillDiskFull) as caught:
        for _ in range(1000):
            reader.read(100)
    assert caught.value.message.startswith("the spill directory's disk is full")
    where = caught.value.where
    assert where["path"] == str(spill / f"{doomed}.spill") and where["xid"] == doomed
    assert where["needed_bytes"] > 0 and where["free_bytes"] is not None
    assert "No space left" in where["error"] and caught.value.retriable
    assert list(spill.glob("*.spill")) == [], "partial and other spill files removed"
