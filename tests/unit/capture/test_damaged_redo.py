"""A damaged archived log: the reader hands out every commit before the damage, holds
there naming the file, the block and the SCN, and reads on from a good copy placed in
another archive directory — from exactly where it stopped, nothing twice, nothing lost.
A missing log holds the same way until it appears."""

from __future__ import annotations

import shutil
from pathlib import Path

from drcapture.catalog import LogCatalog
from drcapture.errors import RedoDamaged, RedoUnreadable
from drcapture.filtering import TableFilter
from drcapture.native_txn import CoreOptions, ThreadCore
from drcapture.native_txn import NativeCommit as CommittedTransaction
from drcapture.synth.workload_build import build_workload
from drcapture.synth.workload_result import BuiltWorkload
from drcapture.thread_reader import ThreadReader
from drcommon.errors import MissingLog

from tests.support.workloads import random_workload

BLOCK = 512


def _built() -> BuiltWorkload:
    return build_workload(random_workload(7, transactions=90, threads=1, switch_every=8))


def _reader(built: BuiltWorkload, *dirs: Path) -> ThreadReader:
    core = ThreadCore(
        built.dictionary, CoreOptions(thread=1, wanted=TableFilter(("SI.*", "HIS.*")))
    )
    catalog = LogCatalog(list(dirs), patterns="*.arc")
    return ThreadReader(1, catalog, core, start_scn=None, follow=True)


def _drain(reader: ThreadReader, into: list[CommittedTransaction]) -> None:
    """Read until the reader is caught up or holds."""
    for _ in range(1000):
        result = reader.read(50)
        into.extend(result.commits)
        if result.caught_up or (reader.fault is not None and not result.records):
            return
    raise AssertionError("the reader neither caught up nor held")


def test_damage_hands_out_the_prefix_holds_and_resumes_from_a_good_copy(tmp_path: Path) -> None:
    built = _built()
    staging, first, second = tmp_path / "staging", tmp_path / "arch1", tmp_path / "arch2"
    second.mkdir()
    paths = built.write(staging)
    shutil.copytree(staging, first)
    victim = paths[len(paths) // 2]
    data = bytearray(victim.read_bytes())
    block = len(data) // BLOCK // 2
    data[block * BLOCK + 100] ^= 0x40  # fails the block checksum
    (first / victim.name).write_bytes(bytes(data))

    reader = _reader(built, first, second)
    got: list[CommittedTransaction] = []
    _drain(reader, got)
    fault = reader.fault
    assert isinstance(fault, RedoDamaged)
    assert fault.where["file"] == str(first / victim.name)
    assert fault.where["block"] == block and fault.where["thread"] == 1
    assert fault.where["scn"] == reader.last_scn > 0
    assert "block checksum mismatch" in str(fault)
    expected = [(tx.xid, tx.commit_scn) for tx in built.expected]
    prefix = [(str(tx.xid), tx.commit_scn) for tx in got]
    assert prefix == expected[: len(prefix)], "the commits before the damage, in order"
    before_log = [tx for tx in built.expected if tx.commit_scn < _first_scn(built, victim)]
    assert len(prefix) >= len(before_log) > 0, "everything of the logs before it at least"
    assert all(scn <= fault.where["scn"] for _, scn in prefix)

    again = reader.read(50)  # still no good copy: it holds, reads nothing, says why
    assert not again.commits and not again.records and reader.fault is not None

    shutil.copy(victim, second / victim.name)  # the good copy, in another directory
    _drain(reader, got)
    assert reader.fault is None
    assert [(str(tx.xid), tx.commit_scn) for tx in got] == expected, "each once, in order"
    assert reader.catalog.damaged == [str(first / victim.name)]


def test_a_damaged_file_replaced_in_place_is_read_again(tmp_path: Path) -> None:
    built = _built()
    archive = tmp_path / "arch"
    paths = built.write(archive)
    victim = paths[1]
    good = victim.read_bytes()
    data = bytearray(good)
    data[(len(data) // BLOCK - 2) * BLOCK + 40] ^= 0x01
    victim.write_bytes(bytes(data))
    reader = _reader(built, archive)
    got: list[CommittedTransaction] = []
    _drain(reader, got)
    assert isinstance(reader.fault, RedoDamaged)
    victim.write_bytes(good)  # restored from a backup in place: the file changed
    _drain(reader, got)
    assert reader.fault is None
    assert [str(tx.xid) for tx in got] == [tx.xid for tx in built.expected]


def test_a_missing_log_holds_until_it_appears(tmp_path: Path) -> None:
    built = _built()
    staging, archive = tmp_path / "staging", tmp_path / "arch"
    archive.mkdir()
    paths = built.write(staging)
    gap = paths[2]
    for path in paths:
        if path != gap:
            shutil.copy(path, archive)
    reader = _reader(built, archive)
    got: list[CommittedTransaction] = []
    _drain(reader, got)
    fault = reader.fault
    assert isinstance(fault, MissingLog) and fault.where["sequence"] == 3
    shutil.copy(gap, archive)
    _drain(reader, got)
    assert reader.fault is None
    assert [str(tx.xid) for tx in got] == [tx.xid for tx in built.expected]


def _first_scn(built: BuiltWorkload, path: Path) -> int:
    return next(log.header.first_scn for log in built.logs if log.name == path.name)


def test_an_archive_gone_away_holds_the_reader_until_it_is_back(tmp_path: Path) -> None:
    """The archive directory disappears while being read (an NFS mount gone): the
    catalog says the location cannot be listed, the reader stops where it is (held with
    RedoUnreadable if a log could not be read on, else waiting for the next log), no
    commit is lost or read twice, and reading goes on from there when it is back."""
    built = _built()
    archive, away = tmp_path / "arch", tmp_path / "away"
    built.write(archive)
    reader = _reader(built, archive)
    got: list[CommittedTransaction] = []
    got.extend(reader.read(40).commits)  # part of the first log
    archive.rename(away)
    for _ in range(3):
        got.extend(reader.read(50).commits)
    assert str(archive) in reader.catalog.unreachable
    assert reader.fault is None or isinstance(reader.fault, RedoUnreadable)
    assert len(got) < len(built.expected)
    away.rename(archive)
    _drain(reader, got)
    assert reader.fault is None and not reader.catalog.unreachable
    assert [str(tx.xid) for tx in got] == [tx.xid for tx in built.expected]


def test_a_log_gone_away_mid_read_holds_with_redo_unreadable(tmp_path: Path) -> None:
    """A log read in spans vanishes between two spans (its file system gone): the
    reader holds with RedoUnreadable naming it, then reads on from exactly where it
    stopped once the file is back."""
    built = build_workload(random_workload(7, transactions=1500, threads=1,
                                           switch_every=100_000))  # one 4 MB log
    archive, away = tmp_path / "arch", tmp_path / "away"
    built.write(archive)
    reader = _reader(built, archive)
    got: list[CommittedTransaction] = []
    got.extend(reader.read(50).commits)  # within the first 1 MiB span
    archive.rename(away)
    for _ in range(200):
        result = reader.read(500)
        got.extend(result.commits)
        if reader.fault is not None:
            break
    fault = reader.fault
    assert isinstance(fault, RedoUnreadable) and fault.retriable
    assert fault.where["thread"] == 1 and fault.where["file"].startswith(str(archive))
    away.rename(archive)
    _drain(reader, got)
    assert reader.fault is None
    assert [str(tx.xid) for tx in got] == [tx.xid for tx in built.expected]
