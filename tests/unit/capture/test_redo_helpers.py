"""Shared helpers for the redo tests: fixture paths, raw-record loading, feeding."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drcapture.dictionary.model import Dictionary
from drcapture.redo.binary import BIG, LITTLE
from drcapture.redo.blocks import FileSource, RedoFile
from drcapture.redo.ops.dispatch import OpCounters, ParsedRecord, decode_record
from drcapture.redo.reader import iter_records
from drcapture.redo.records import RawRecord, Rba, RecordLayout, parse_record
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "redo"
FREE23 = FIXTURES / "free23-insert"
ORACDC = FIXTURES / "oracdc-records"
FREE23_LOGS = (FREE23 / "arch1_15_1224959854.dbf", FREE23 / "arch1_16_1224959854.dbf")


@dataclass(frozen=True)
class IndexedRecord:
    """One oracdc record with its index.json facts."""

    file: str
    scn: int
    rba: Rba
    layout: str
    data: bytes

    @property
    def folder(self) -> str:
        return self.file.split("/")[0]

    @property
    def number(self) -> int:
        return int(self.file.split("/")[1][:3])

    def record_layout(self) -> RecordLayout:
        return RecordLayout(BIG if self.layout == "getAix19c" else LITTLE,
                            wide_vectors=self.layout != "getLinux11g")

    def parsed(self, counters: OpCounters | None = None) -> ParsedRecord:
        raw = RawRecord(self.rba, self.data)
        return decode_record(parse_record(raw, self.record_layout()), counters)


def oracdc_index() -> list[IndexedRecord]:
    entries: list[dict[str, Any]] = json.loads((ORACDC / "index.json").read_text())
    return [IndexedRecord(file=e["file"], scn=int(e["scn"], 16), rba=Rba.parse(e["rba"]),
                          layout=e["layout"], data=(ORACDC / e["file"]).read_bytes())
            for e in entries]


def folder_records(folder: str, numbers: range | None = None) -> list[IndexedRecord]:
    return [r for r in oracdc_index()
            if r.folder == folder and (numbers is None or r.number in numbers)]


def file_records(path: Path) -> Iterator[ParsedRecord]:
    return iter_records(RedoFile(FileSource(path)))


def hex_assembler(include_unknown: bool = True) -> TransactionAssembler:
    """An assembler without a dictionary: every object reported as OBJ# n, values hex."""

    def never(raw: bytes | None, column: object, charsets: object) -> None:
        raise AssertionError("no column should be decoded without a dictionary")

    return TransactionAssembler(
        Dictionary(), AssemblerOptions(thread=1, include_unknown=include_unknown,
                                       decoder=never))


def free23_untracked_dictionary() -> Dictionary:
    """The free23 checkpoint's dictionary without its SYS dictionary tables and object
    high mark: what the Python decoder (the test oracle, which keeps no dictionary
    versions) decodes with, so the core and it see the same objects. The core's own
    handling of the dictionary tables is tested in native/test_txn_system.py."""
    from drcapture.dictionary.olr import load_olr_checkpoint_file

    dictionary = load_olr_checkpoint_file(FREE23 / "olr-checkpoint-2266634.json")
    dictionary.system_tables = {}
    dictionary.max_obj = 0
    return dictionary
