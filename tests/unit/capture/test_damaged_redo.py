"""A damaged archived log: the reader hands out every commit before the damage, holds
there naming the file, the block and the SCN, and reads on from a good copy placed in
another archive directory — from exactly where it stopped, nothing twice, nothing lost.
A missing log holds the same way until it appears."""

from __future__ import annotations

import shutil
from pathlib import Path

from drcapture.catalog import LogCatalog
from drcapture.errors import RedoDamaged
from drcapture.filtering import TableFilter
from drcapture.redo.txn.assembler import (
    AssemblerOptions,
    CommittedTransaction,
    TransactionAssembler,
)
from drcapture.synth.workload_build import build_workload
from drcapture.synth.workload_result import BuiltWorkload
from drcapture.thread_reader import ThreadReader
from drcommon.errors import MissingLog

from tests.support.workloads import random_workload

BLOCK = 512


def _built() -> BuiltWorkload:
    return build_workload(random_workload(7, transactions=90, threads=1, switch_every=8))


def _reader(built: BuiltWorkload, *dirs: Path) -> ThreadReader:
    assembler = TransactionAssembler(
        built.dictionary, AssemblerOptions(thread=1, wanted=TableFilter(("SI.*", "HIS.*")))
    )
    catalog = LogCatalog(list(dirs), patterns="*.arc")
    return ThreadReader(1, catalog, assembler, start=None, start_scn=None, follow=True)


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
