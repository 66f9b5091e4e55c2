"""Cutting large values into chunks and rebuilding them: any value and any chunk size
round-trip; a missing, repeated, reordered, damaged or foreign chunk is refused with
the value and the chunk named, never rebuilt into a shorter value."""

from __future__ import annotations

import hashlib
from io import BytesIO

import orjson
import pytest
from drcommon import serde
from drcommon.chunking import (
    ChunkError,
    Cutter,
    ValueBuilder,
    externalize,
    join,
    pieces,
    resolve,
    utf8_cut,
    value_refs,
)
from drcommon.model import (
    InvalidText,
    LobWrite,
    LobWrites,
    Operation,
    RowChange,
    Unsupported,
    ValueChunk,
    ValueRef,
)
from hypothesis import given
from hypothesis import strategies as st

# Text with every UTF-8 width and the characters JSON escapes (controls, quotes, "\").
texts = st.text(
    alphabet=st.one_of(
        st.sampled_from(list('a\x01\n"\\é汉😀')),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=400,
)


@given(texts, st.integers(4, 64), st.integers(8, 200))
def test_pieces_rebuild_the_text_and_respect_both_bounds(
    text: str, max_bytes: int, json_budget: int
) -> None:
    found, length, digest = pieces(text, max_bytes, json_budget)
    assert "".join(found) == text
    assert all(len(p.encode()) <= max_bytes for p in found)
    assert all(len(orjson.dumps(p)) <= json_budget for p in found)
    data = text.encode()
    assert (length, digest) == (len(data), hashlib.sha256(data).hexdigest())
    assert found and (found == [""] or "" not in found)


def test_cuts_never_split_a_character() -> None:
    data = "汉😀é".encode() * 10
    for size in range(4, 12):
        for piece in utf8_cut(data, size):
            piece.decode("utf-8")  # raises if a sequence was split
    with pytest.raises(ValueError):
        utf8_cut(data, 3)


def _chunks(text: str, size: int) -> tuple[ValueRef, list[ValueChunk]]:
    cutter = Cutter(size, 10 * size + 16)
    ref = cutter.cut(text)
    return ref, cutter.chunks(ref, schema="HR", xid="1.2.3", commit_scn=7)


@given(texts, st.integers(4, 50))
def test_any_value_and_chunk_size_round_trip(text: str, size: int) -> None:
    ref, chunks = _chunks(text, size)
    assert ref.chunks == len(chunks) and [c.seq for c in chunks] == list(range(len(chunks)))
    assert [c.last for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert join(ref, chunks) == text
    decoded = [serde.decode(serde.encode(c)) for c in chunks]  # the wire keeps them exact
    assert join(ref, decoded) == text  # type: ignore[arg-type]


TEXT = "Zhang Wei 王芳 😀 " * 20


def test_a_missing_chunk_is_refused() -> None:
    ref, chunks = _chunks(TEXT, 16)
    with pytest.raises(ChunkError, match=r"value 0: chunk 3 out of sequence \(chunk 2 expected"):
        join(ref, chunks[:2] + chunks[3:])
    with pytest.raises(ChunkError, match="chunks from 4 on are missing"):
        join(ref, chunks[:4])  # the last one (and more) never came
    with pytest.raises(ChunkError, match="without chunk 0"):
        join(ref, chunks[1:])


def test_reordered_repeated_and_foreign_chunks_are_refused() -> None:
    ref, chunks = _chunks(TEXT, 16)
    with pytest.raises(ChunkError, match="out of sequence"):
        join(ref, [chunks[0], chunks[2], chunks[1], *chunks[3:]])
    with pytest.raises(ChunkError, match="out of sequence"):
        join(ref, [chunks[0], chunks[1], chunks[1], *chunks[2:]])
    with pytest.raises(ChunkError, match="after its last chunk"):
        join(ref, [*chunks, chunks[-1].model_copy(update={"seq": len(chunks)})])
    other = chunks[1].model_copy(update={"id": "9"})
    with pytest.raises(ChunkError, match=r"value 0 of 1\.2\.3 is incomplete"):
        join(ref, [chunks[0], other, *chunks[2:]])
    foreign = chunks[1].model_copy(update={"xid": "4.5.6"})
    with pytest.raises(ChunkError, match="incomplete"):
        join(ref, [chunks[0], foreign, *chunks[2:]])


def test_damage_is_found_by_length_digest_and_count() -> None:
    ref, chunks = _chunks(TEXT, 16)
    flipped = chunks[2].model_copy(update={"data": chunks[2].data[::-1]})  # same length
    with pytest.raises(ChunkError, match="SHA-256 differs"):
        join(ref, [*chunks[:2], flipped, *chunks[3:]])
    shorter = chunks[2].model_copy(update={"data": chunks[2].data[:-1]})
    with pytest.raises(ChunkError, match="bytes where the reference says"):
        join(ref, [*chunks[:2], shorter, *chunks[3:]])
    with pytest.raises(ChunkError, match="chunks where the reference counts"):
        join(ref.model_copy(update={"chunks": ref.chunks + 1}), chunks)


def test_a_builder_writes_to_its_sink_and_keeps_the_piece_sizes() -> None:
    ref, chunks = _chunks(TEXT, 16)
    sink = BytesIO()
    builder = ValueBuilder(chunks[0], sink)
    for chunk in chunks[1:]:
        builder.add(chunk)
    builder.check(ref)
    assert sink.getvalue() == TEXT.encode()
    assert builder.sizes == [len(c.data.encode()) for c in chunks]


def _change() -> RowChange:
    return RowChange(
        op=Operation.UPDATE, owner="HR", table="DOCS", pk=("ID",),
        before={"ID": "1", "OLD": "b" * 300},
        after={
            "SMALL": "x", "NULL": None, "DOC": "汉" * 200, "HEX": "AB" * 200,
            "BAD": InvalidText(hex="FF" * 300, charset="AL32UTF8"),
            "RAWISH": Unsupported(oracle_type="XMLTYPE", hex="00" * 300),
            "LOB": LobWrites(oracle_type="CLOB", writes=(
                LobWrite(offset=0, data="y" * 500), LobWrite(offset=9, data="short"),
            ), length=12),
        },
    )  # fmt: skip


def test_externalize_moves_long_values_and_resolve_brings_them_back() -> None:
    change = _change()
    cutter = Cutter(64, 1000)
    moved = externalize(change, 256, cutter)
    refs = list(value_refs(moved))
    assert [r.id for r in refs] == ["0", "1", "2", "3", "4", "5"]  # OLD, DOC, HEX, BAD, ...
    assert moved.after is not None and moved.before is not None
    assert moved.after["SMALL"] == "x" and moved.after["NULL"] is None
    assert isinstance(moved.after["DOC"], ValueRef)  # 200 characters, 600 bytes
    assert isinstance(moved.after["BAD"], ValueRef) and moved.after["BAD"].form == "json"
    lob = moved.after["LOB"]
    assert isinstance(lob, LobWrites) and isinstance(lob.writes[0].data, ValueRef)
    assert lob.writes[1].data == "short"
    assert len(serde.encode(moved.model_copy())) < 2000  # what stays in the change is small

    def lookup(ref: ValueRef) -> str:
        return join(ref, cutter.chunks(ref, schema="HR", xid="x", commit_scn=1))

    assert resolve(moved, lookup) == change
    assert externalize(change, 10_000, cutter) is change  # nothing long: the same object
    assert resolve(change, lookup) is change


def test_references_read_back_through_serde() -> None:
    moved = externalize(_change(), 256, Cutter(64, 1000))
    data = serde.encode(moved.model_copy())
    assert RowChange.model_validate(orjson.loads(data)) == moved


def test_headers_say_where_a_transaction_starts() -> None:
    _ref, chunks = _chunks(TEXT, 16)
    first = serde.headers_for(chunks[0], start=True)
    assert (
        dict(first)["kind"], dict(first)["xid"], dict(first)["commit_scn"], dict(first)["start"]
    ) == (b"value_chunk", b"1.2.3", b"7", b"1")
    assert serde.starts_transaction(first)
    assert not serde.starts_transaction(serde.headers_for(chunks[1], start=False))
    assert serde.starts_transaction([("v", b"1"), ("kind", b"tx")])  # written before chunking
    assert not serde.starts_transaction([("kind", b"tx"), ("start", b"0")])
    assert not serde.starts_transaction([("kind", b"watermark")])
