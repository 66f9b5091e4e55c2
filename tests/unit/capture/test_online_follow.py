"""Following an online redo log as Oracle writes it: growth, log switch, reuse.

The online log is simulated with the real Oracle 23 Free log: its header is made
open-ended (as in a current online log) and its blocks are written in steps; the rest
of the file holds zeros, as a freshly created log member does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from drcapture.catalog import LogCatalog
from drcapture.filtering import TableFilter
from drcapture.native_txn import CoreOptions, ThreadCore
from drcapture.redo import layout as L
from drcapture.redo.checksum import compute_checksum
from drcapture.thread_reader import ThreadReader
from drcommon.errors import MissingLog

from tests.unit.capture.test_redo_helpers import free23_untracked_dictionary

BLOCK = 512


def _open_ended(block1: bytes) -> bytes:
    data = bytearray(block1)
    data[L.REDO_HEADER_NEXT_SCN : L.REDO_HEADER_NEXT_SCN + 8] = b"\xff" * 8
    data[L.BLOCK_CHECKSUM_OFFSET : L.BLOCK_CHECKSUM_OFFSET + 2] = compute_checksum(data)
    return bytes(data)


def _reader(fixtures: Path, online: Path, archive: Path) -> ThreadReader:
    dictionary = free23_untracked_dictionary()  # following logs, not the DDL
    core = ThreadCore(
        dictionary, CoreOptions(thread=1, wanted=TableFilter(("OLR_TEST.*",)))
    )
    catalog = LogCatalog([archive], patterns="*.dbf", online=[online])
    return ThreadReader(1, catalog, core, start_scn=None, follow=True)


def _write_blocks(target: Path, source: bytes, upto: int, header: bytes) -> None:
    data = bytearray(len(source))
    data[: upto * BLOCK] = source[: upto * BLOCK]
    data[BLOCK : 2 * BLOCK] = header
    target.write_bytes(bytes(data))


def test_follows_growth_then_switch(redo_fixtures: Path, tmp_path: Path) -> None:
    log15 = (redo_fixtures / "free23-insert" / "arch1_15_1224959854.dbf").read_bytes()
    header = _open_ended(log15[BLOCK : 2 * BLOCK])
    online, archive = tmp_path / "redo01.log", tmp_path / "arch"
    archive.mkdir()
    _write_blocks(online, log15, 200, header)
    reader = _reader(redo_fixtures, online, archive)

    first = reader.read(100_000)
    assert first.caught_up and first.records > 0 and not first.commits
    seen = first.records
    _write_blocks(online, log15, 400, header)
    second = reader.read(100_000)
    assert second.records > 0 and second.caught_up
    seen += second.records
    _write_blocks(online, log15, len(log15) // BLOCK, header)
    third = reader.read(100_000)
    seen += third.records
    assert [str(t.xid) for t in third.commits + second.commits] == ["10.12.572"]
    assert third.caught_up, "still current: no next log yet"

    # Log switch: the header gets its next SCN; the archived copy of 15 and log 16 appear.
    online.write_bytes(log15)
    shutil.copy(redo_fixtures / "free23-insert" / "arch1_16_1224959854.dbf", archive)
    after = reader.read(100_000)
    assert reader.current_log is not None and reader.current_log.sequence == 16
    assert not after.commits, "the commit was delivered once, not again after the switch"
    assert seen == 1154, "every record of log 15 read exactly once"


def test_reused_online_log_without_archive_is_a_gap(redo_fixtures: Path, tmp_path: Path) -> None:
    log15 = (redo_fixtures / "free23-insert" / "arch1_15_1224959854.dbf").read_bytes()
    log16 = (redo_fixtures / "free23-insert" / "arch1_16_1224959854.dbf").read_bytes()
    online, archive = tmp_path / "redo01.log", tmp_path / "arch"
    archive.mkdir()
    _write_blocks(online, log15, 100, _open_ended(log15[BLOCK : 2 * BLOCK]))
    reader = _reader(redo_fixtures, online, archive)
    assert reader.read(100_000).caught_up
    online.write_bytes(log16)  # the group was reused for sequence 16: 15's tail is lost
    held = reader.read(100_000)  # the reader holds at the gap and says why
    assert not held.commits and not held.caught_up
    fault = reader.fault
    assert isinstance(fault, MissingLog)
    assert fault.where["sequence"] == 15 and fault.where["thread"] == 1
    reader.read(100_000)
    assert reader.fault is fault or str(reader.fault) == str(fault), "still held, same reason"
