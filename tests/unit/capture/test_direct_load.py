"""A direct-path load into a captured table is never passed over silently: the real
19.1 record (a loaded block of 9 rows) stops capture with the table named, or, when
configured to warn, is counted."""

from __future__ import annotations

from pathlib import Path

import pytest
from drcapture.catalog import LogCatalog
from drcapture.dictionary.model import ColumnDef, Dictionary, IotDef, TableDef
from drcapture.filtering import TableFilter
from drcapture.native_txn import CoreOptions, ThreadCore
from drcapture.redo.ops.direct import COLB_DATA_NTAB, COLB_HEADER, COLB_ITC, COLB_ITL_ENTRY
from drcapture.synth.writer import write_records
from drcapture.thread_reader import DirectLoadGap, ThreadReader

RECORD = "oracdc-records/Op19_1_Test/000_dataBlockLe8k26ai_baColb.bin"


def _reader(fixtures: Path, tmp: Path, include: str, mode: str,
            record: bytes | None = None) -> ThreadReader:
    data = record if record is not None else (fixtures / RECORD).read_bytes()
    log = write_records(tmp / "direct.arc", [data], "getLinux19c")
    table = TableDef(
        obj=75656,
        owner="APP",
        name="LOADED",
        data_obj=75656,
        columns=(ColumnDef(col_no=1, seg_col=1, name="C1", type_code=1),),
    )
    core = ThreadCore(
        Dictionary(tables={75656: table}),
        CoreOptions(thread=1, wanted=TableFilter((include,)), on_direct_load=mode),
    )
    return ThreadReader(1, LogCatalog(files=[log]), core, start_scn=None, follow=False)


def test_direct_load_into_captured_table_stops(redo_fixtures: Path, tmp_path: Path) -> None:
    reader = _reader(redo_fixtures, tmp_path, "APP.*", "stop")
    with pytest.raises(DirectLoadGap) as caught:
        reader.read(100)
    assert caught.value.where["table"] == "APP.LOADED"
    assert caught.value.where["rows"] == 9


def test_direct_load_can_be_counted_instead(redo_fixtures: Path, tmp_path: Path) -> None:
    reader = _reader(redo_fixtures, tmp_path, "APP.*", "warn")
    assert reader.read(100).finished
    assert reader.direct_load_rows == 9


def _two_table_block(fixtures: Path) -> bytes:
    """The real loaded block with its data header claiming two tables (a basic-compressed
    block's layout, which the reader does not know): the parser refuses the block."""
    data = bytearray((fixtures / RECORD).read_bytes())
    header = data.index(bytes.fromhex("01000000882701000b8c3200"))  # the block image
    itc = int.from_bytes(data[header + COLB_ITC : header + COLB_ITC + 2], "little")
    at = header + ((COLB_HEADER + itc * COLB_ITL_ENTRY + 7) & ~7)
    data[at + COLB_DATA_NTAB] = 2
    return bytes(data)


def test_a_loaded_block_the_reader_refuses_still_stops_capture(
        redo_fixtures: Path, tmp_path: Path) -> None:
    reader = _reader(redo_fixtures, tmp_path, "APP.*", "stop", _two_table_block(redo_fixtures))
    with pytest.raises(DirectLoadGap) as caught:
        reader.read(100)
    assert caught.value.where["table"] == "APP.LOADED"
    assert caught.value.where["rows"] == "unknown"
    assert "more than one table" in caught.value.where["block"]


def test_direct_load_into_other_tables_is_ignored(redo_fixtures: Path, tmp_path: Path) -> None:
    reader = _reader(redo_fixtures, tmp_path, "HR.*", "stop")
    assert reader.read(100).finished
    assert reader.direct_load_rows == 0


def test_direct_load_of_a_captured_iots_index_block_stops(redo_fixtures: Path,
                                                         tmp_path: Path) -> None:
    """An IOT's rows are index leaf rows: a direct-loaded index block of a captured IOT
    (fixture Op19_1_IdxObj16334300_Test, block of object 16334300) is a gap too."""
    record = "oracdc-records/Op19_1_IdxObj16334300_Test/000_test_baColb.bin"
    log = write_records(tmp_path / "idx.arc", [(redo_fixtures / record).read_bytes()],
                        "getLinux19c")
    iot = TableDef(obj=16334299, owner="APP", name="IOT",
                   columns=(ColumnDef(col_no=1, seg_col=1, name="K", type_code=2),),
                   pk=("K",), iot=IotDef(index_obj=16334300))
    dictionary = Dictionary(tables={iot.obj: iot})
    dictionary.add_iot_segments()
    for include, stops in (("APP.*", True), ("HR.*", False)):
        core = ThreadCore(dictionary, CoreOptions(thread=1, wanted=TableFilter((include,)),
                                                  on_direct_load="stop"))
        reader = ThreadReader(1, LogCatalog(files=[log]), core, start_scn=None, follow=False)
        if stops:
            with pytest.raises(DirectLoadGap) as caught:
                reader.read(100)
            assert caught.value.where["table"] == "APP.IOT"
            assert caught.value.where["rows"] == "unknown"
        else:
            assert reader.read(100).finished
