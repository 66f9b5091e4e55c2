"""Operator renderers: inspect, dump, decode over the real free23 logs."""

from __future__ import annotations

import json

from drcapture.dictionary.olr import load_olr_checkpoint_file
from drcapture.redo.blocks import FileSource, RedoFile
from drcapture.redo.render import decode_dicts, dump_lines, inspect_file, inspect_lines
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler

from tests.unit.capture.test_redo_helpers import FREE23, FREE23_LOGS, file_records


def test_inspect() -> None:
    facts = inspect_file(RedoFile(FileSource(FREE23_LOGS[0])))
    assert facts["sequence"] == 15 and facts["thread"] == 1
    assert facts["first_scn"] == 0x229606 and facts["next_scn"] == 0x229A45
    assert facts["endian"] == "little" and facts["block_size"] == 512
    lines = inspect_lines(RedoFile(FileSource(FREE23_LOGS[1])))
    assert any(line.split() == ["sequence", "16"] for line in lines)
    json.dumps(facts)


def test_dump_shows_the_insert_record() -> None:
    lines = list(dump_lines(file_records(FREE23_LOGS[0])))
    at = lines.index(next(x for x in lines if "RBA: 0x00000f.00000244.0168" in x))
    block = lines[at:lines.index("", at)]
    assert block[1].startswith("SCN: 0x0000000000229a3b SUBSCN: 1")
    assert any("OP:5.2" in x for x in block) and any("OP:11.2" in x for x in block)
    assert any(x.startswith("  begin xid=10.12.572 (0A000C003C020000)") for x in block)
    assert any("KDO op 11.2" in x and "1:68656c6c6f20776f726c64" in x for x in block)


def test_decode() -> None:
    dictionary = load_olr_checkpoint_file(FREE23 / "olr-checkpoint-2266634.json")
    asm = TransactionAssembler(dictionary, AssemblerOptions(
        thread=1, wanted=lambda owner, _table: owner == "OLR_TEST"))
    txns = [t for p in FREE23_LOGS for r in file_records(p) for t in asm.feed(r)]
    rows = list(decode_dicts(txns))
    assert rows == [{
        "xid": "10.12.572", "xid_hex": "0A000C003C020000", "commit_scn": 2267707,
        "commit_ts": "2026-03-07T01:44:40+00:00", "owner": "OLR_TEST", "table": "TEST_CDC",
        "op": "insert", "before": None, "after": {"ID": "1", "NAME": "hello world"},
        "ddl": None, "ddl_command": None, "rba": "0x00000f.00000244.0168",
        "row_id": "AAARwWAAYAAAAAOAAA",
    }]
    json.dumps(rows)
