"""Seed corpora for the core's fuzz targets (services/capture/core/fuzz), from real redo.

* ``walk``: small logs (the oracdc records wrapped at every block size, a few random
  writer workloads), each behind the target's five control bytes (flags, resume);
* ``record``: every oracdc record;
* ``values``: the value bytes of the writer's property-test tables, behind a pick byte;
* ``ops``: every oracdc record, and the records of small writer workloads (multi-row
  operations, a partial rollback, LOBs with pages, an IOT, a compressed table), behind the
  byte that picks their layout.

Run from the repository root with the project's venv:
``.venv/bin/python services/capture/core/tools/fuzz_seeds.py``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from drcapture.dictionary.model import OracleType as T
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.records import iter_raw_records
from drcapture.synth.workload import (
    Col,
    Commit,
    Delete,
    Insert,
    MultiDelete,
    MultiInsert,
    RollbackTo,
    Savepoint,
    Step,
    Supplemental,
    Table,
    Update,
    Workload,
    row,
)
from drcapture.synth.workload_build import build_workload
from drcapture.synth.writer import wrap_records
from drcapture.synth.writer_records import PLATFORMS, Platform

ROOT = Path(__file__).resolve().parents[4]
CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus"
ORACDC = ROOT.parent / "shared" / "fixtures" / "redo" / "oracdc-records"


def _put(target: str, data: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


HEAP = Table("APP", "HEAP", 90000, (Col("ID", T.NUMBER), Col("V", T.VARCHAR2, 40)), pk=("ID",))
DOCS = Table("APP", "DOCS", 90010, (Col("ID", T.NUMBER), Col("TXT", T.CLOB), Col("BIN", T.BLOB)),
             pk=("ID",))
IOT = Table("APP", "IOT", 90020, (Col("K", T.NUMBER), Col("A", T.VARCHAR2, 30),
                                  Col("B", T.NUMBER)), pk=("K",), iot_index=90021)
PACKED = Table("APP", "PACKED", 90030, (Col("ID", T.NUMBER), Col("V", T.VARCHAR2, 20)),
               pk=("ID",), supplemental=Supplemental.MINIMAL, compressed=True)
STEPS = (
    Step(1, "a", MultiInsert("HEAP", (row(ID="1", V="a"), row(ID="2", V="b")))),
    Step(1, "a", Savepoint("s")),
    Step(1, "a", Update("HEAP", row(ID="1"), row(V="c"))),
    Step(1, "a", RollbackTo("s")),
    Step(1, "a", MultiDelete("HEAP", (row(ID="2"),))),
    Step(1, "a", Insert("DOCS", row(ID="1", TXT="x" * 9000, BIN="AB" * 40))),
    Step(1, "a", Insert("IOT", row(K="1", A="a", B="2"))),
    Step(1, "a", Update("IOT", row(K="1"), row(A="b"))),
    Step(1, "a", Delete("IOT", row(K="1"))),
    Step(1, "a", Insert("PACKED", row(ID="1", V="v"))),
    Step(1, "a", Commit()),
    Step(1, "b", Update("PACKED", row(ID="1"), row(V="w"))),
    Step(1, "b", Commit()),
)


def _pick(platform: Platform) -> int:
    """The ops target's first byte for a layout."""
    return (1 if platform.order.value == ">" else 0) | (2 if platform.wide_vectors else 0)


def _writer_records() -> None:
    for platform in PLATFORMS.values():
        built = build_workload(Workload(tables=(HEAP, DOCS, IOT, PACKED), steps=STEPS,
                                        platform=platform))
        for log in built.logs:
            for raw in iter_raw_records(RedoFile(BytesSource(log.data))):
                _put("ops", bytes([_pick(platform)]) + raw.data)


def main() -> None:
    groups: dict[str, list[bytes]] = {}
    for entry in json.loads((ORACDC / "index.json").read_text()):
        data = (ORACDC / entry["file"]).read_bytes()
        groups.setdefault(entry["layout"], []).append(data)
        _put("record", data)
        _put("ops", bytes([_pick(PLATFORMS[entry["layout"]])]) + data)
    for layout, records in groups.items():
        for size in (512, 1024, 4096):
            chunks = [records[i : i + 4] for i in range(0, min(len(records), 24), 4)]
            for chunk in chunks:
                log = wrap_records(chunk, layout, block_size=size)
                for flags in (0, 1, 2, 3):
                    _put("walk", bytes([flags, 0, 0, 0, 0]) + log)
    for number in (b"\x80", b"\xc1\x02", b"\x3e\x64\x66", b"\xff\x65"):
        _put("values", b"\x06" + number)
    for stamp in (bytes.fromhex("7878010101010100000000899c"), bytes.fromhex("7877061e0c1e1f")):
        _put("values", b"\x03" + stamp)
    _writer_records()


if __name__ == "__main__":
    main()
