"""A stream's value chunks: reassembled (spilled to a file when large) and handed to the
record that refers to them; every way the chunks can be wrong is a BadRecord that names
the record, the value and the chunk."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from drapply.errors import BadRecord
from drapply.values import Spill, ValueAssembler
from drcommon.chunking import Cutter, externalize
from drcommon.model import (
    Operation,
    RowChange,
    TransactionInfo,
    TransactionMessage,
    ValueChunk,
)

INFO = TransactionInfo(
    xid="1.2.3", commit_scn=50, commit_ts=datetime(2024, 1, 1, tzinfo=UTC), thread=1,
    commit_rba="0x1", changes_total=1, schemas=("HR",),
)  # fmt: skip
DOC = "汉字 and text " * 300
BIN = "00FF" * 500


def _tx(size: int = 64) -> tuple[TransactionMessage, list[ValueChunk]]:
    cutter = Cutter(size, 10_000)
    change = RowChange(op=Operation.INSERT, owner="HR", table="DOCS", pk=("ID",),
                       after={"ID": "1", "DOC": DOC, "BIN": BIN})  # fmt: skip
    moved = externalize(change, 100, cutter)
    assert moved.after is not None
    chunks = [
        chunk for name in ("DOC", "BIN")
        for chunk in cutter.chunks(moved.after[name], schema="HR", xid=INFO.xid,  # type: ignore[arg-type]
                                   commit_scn=INFO.commit_scn)
    ]  # fmt: skip
    message = TransactionMessage(schema_name="HR", tx=INFO, changes_in_schema=1,
                                 changes=(moved,))  # fmt: skip
    return message, chunks


def _feed(assembler: ValueAssembler, chunks: list[ValueChunk], start: int = 10) -> int:
    for offset, chunk in enumerate(chunks, start):
        assembler.chunk(offset, chunk)
    return start + len(chunks)


def test_chunks_come_back_attached_to_their_record_with_its_span() -> None:
    message, chunks = _tx()
    assembler = ValueAssembler("t.ORCL.HR", 0, Spill(memory_bytes=1000))
    offset = _feed(assembler, chunks)
    assert assembler.pending
    first, values = assembler.transaction(offset, message)
    assert first == 10 and not assembler.pending
    assert values is not None and set(values.values) == {"0", "1"}
    refs = [message.changes[0].after[c] for c in ("DOC", "BIN")]  # type: ignore[index]
    assert [values.lookup(r) for r in refs] == [DOC, BIN]  # type: ignore[arg-type]
    assert values.values["0"].file._rolled  # type: ignore[attr-defined]  # spilled to disk
    again = list(values.chunks(refs[0], schema="HR", xid=INFO.xid, commit_scn=50))  # type: ignore[arg-type]
    assert again == chunks[: len(again)]  # parking writes the very same chunks
    # A record without references, and nothing pending, has no values.
    plain = message.model_copy(update={"changes": ()})
    assert assembler.transaction(offset + 1, plain) == (offset + 1, None)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda c: c[:3] + c[4:], "value 0: chunk 4 out of sequence"),
        (lambda c: [c[0], c[2], c[1], *c[3:]], "out of sequence"),
        (lambda c: c[1:], "value 0: chunk 1 arrived without chunk 0"),
        (lambda c: [*c[:5], c[5].model_copy(update={"data": c[5].data[::-1]}), *c[6:]],
         "SHA-256 differs"),
        (lambda c: [*c[:2], c[2].model_copy(update={"xid": "9.9.9"}), *c[3:]],
         "chunk of transaction 9.9.9"),
    ],
)  # fmt: skip
def test_damaged_chunks_are_bad_records(damage: object, match: str) -> None:
    message, chunks = _tx()
    assembler = ValueAssembler("t.ORCL.HR", 0)
    with pytest.raises(BadRecord, match=match) as caught:
        offset = _feed(assembler, damage(chunks))  # type: ignore[operator]
        assembler.transaction(offset, message)
    assert "topic=t.ORCL.HR" in str(caught.value) and "offset=" in str(caught.value)


def test_missing_and_unreferenced_chunks_are_bad_records() -> None:
    message, chunks = _tx()
    count_doc = sum(1 for c in chunks if c.id == "0")
    assembler = ValueAssembler("t.ORCL.HR", 0)
    offset = _feed(assembler, chunks[: count_doc - 1])  # the record comes before DOC's last
    with pytest.raises(BadRecord, match=f"value 0: chunks from {count_doc - 1} on are missing"):
        assembler.transaction(offset, message)
    assembler.reset()
    offset = _feed(assembler, chunks[:count_doc])  # BIN's chunks never came
    with pytest.raises(BadRecord, match="value 1: no chunks before the record"):
        assembler.transaction(offset, message)
    assembler.reset()
    offset = _feed(assembler, chunks)
    plain = message.model_copy(update={"changes": ()})
    with pytest.raises(BadRecord, match="value chunks no change refers to: 0, 1"):
        assembler.transaction(offset, plain)
    assert not assembler.pending  # what a bad record leaves is forgotten
    offset = _feed(assembler, chunks[:2])
    with pytest.raises(BadRecord, match="a watermark record between value chunks"):
        assembler.other(offset, "watermark")
    assembler.reset()  # the stream stops; resuming seeks, which forgets the half-read value
    _feed(assembler, chunks[:2], start=40)
    assert assembler.pending
    assembler.reset()
    assert not assembler.pending


def test_a_value_whose_chunks_came_twice_is_refused() -> None:
    _message, chunks = _tx()
    doc = [c for c in chunks if c.id == "0"]
    assembler = ValueAssembler("t.ORCL.HR", 0)
    offset = _feed(assembler, doc)
    with pytest.raises(BadRecord, match="value 0: chunks of it came twice"):
        _feed(assembler, doc, start=offset)
