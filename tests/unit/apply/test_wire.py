"""The fast transaction reader agrees with drcommon.serde on everything it reads, and
hands everything else to serde (None)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from drapply.wire import decode_chunk, decode_transaction
from drcommon import serde
from drcommon.model import (
    ColumnInfo,
    InvalidText,
    LobWrite,
    LobWrites,
    NotLogged,
    Operation,
    RowChange,
    SourcePosition,
    TransactionInfo,
    TransactionMessage,
    Unsupported,
    ValueChunk,
    ValueRef,
)
from hypothesis import given
from hypothesis import strategies as st

INFO = TransactionInfo(
    xid="1.2.3",
    commit_scn=99,
    commit_ts=datetime(2024, 5, 1, 8, tzinfo=UTC),
    thread=2,
    commit_rba="0x1.2.3",
    changes_total=3,
    schemas=("HR",),
)
POSITION = SourcePosition(db_id=1, db_name="ORCL", thread=2, sequence=7, rba="0x7.10.4", scn=98)

refs = st.builds(
    ValueRef, id=st.text(min_size=1, max_size=4), length=st.integers(0, 10**9),
    chunks=st.integers(1, 10**4), sha256=st.just("ab" * 32),
    form=st.sampled_from([None, "json"]),
)  # fmt: skip
values = st.one_of(
    st.none(),
    st.text(),
    refs,
    st.builds(InvalidText, hex=st.text("0123456789ABCDEF"), charset=st.sampled_from(["AL32UTF8"])),
    st.builds(Unsupported, oracle_type=st.sampled_from(["BLOB", "XMLTYPE"])),
    st.builds(NotLogged, oracle_type=st.sampled_from(["BLOB", "CLOB"]),
              reason=st.text(max_size=20)),
    st.builds(LobWrites, oracle_type=st.sampled_from(["BLOB", "CLOB"]),
              writes=st.lists(st.builds(LobWrite, offset=st.integers(0, 10**9),
                                        data=st.one_of(st.text(max_size=10), refs)),
                              max_size=3).map(tuple),
              length=st.one_of(st.none(), st.integers(0, 10**9))),
)
images = st.one_of(st.none(), st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=5))


def message(*changes: RowChange) -> TransactionMessage:
    return TransactionMessage(schema_name="HR", tx=INFO, changes_in_schema=len(changes),
                              chunk=1, last=False, changes=changes)  # fmt: skip


@given(
    st.lists(
        st.builds(
            RowChange,
            op=st.sampled_from(list(Operation)),
            owner=st.just("HR"),
            table=st.text(min_size=1, max_size=10),
            obj=st.one_of(st.none(), st.integers(0, 2**31)),
            pk=st.lists(st.text(min_size=1, max_size=5), max_size=2).map(tuple),
            before=images,
            after=images,
            columns=st.dictionaries(
                st.text(min_size=1, max_size=8),
                st.builds(
                    ColumnInfo,
                    type=st.sampled_from(["NUMBER", "DATE", "RAW"]),
                    scale=st.one_of(st.none(), st.integers(0, 9)),
                ),
                max_size=3,
            ),
            ddl=st.one_of(st.none(), st.text(max_size=20)),
            position=st.one_of(st.none(), st.just(POSITION)),
            row_id=st.one_of(st.none(), st.text(max_size=18)),
            undecoded=st.one_of(st.none(), st.text(max_size=30)),
        ),
        max_size=4,
    )
)
def test_fast_reader_equals_serde(changes: list[RowChange]) -> None:
    data = serde.encode(message(*changes))
    fast = decode_transaction(data)
    assert fast is not None
    assert fast == serde.decode(data) == message(*changes)
    assert serde.encode(fast) == data


def _doc(**change: object) -> bytes:
    base = orjson.loads(serde.encode(message(RowChange(op=Operation.INSERT, owner="HR", table="T",
                                                       after={"A": "1"}))))  # fmt: skip
    base["changes"][0].update(change)
    return orjson.dumps(base)


def test_anything_unusual_goes_to_serde() -> None:
    assert decode_transaction(_doc()) is not None
    assert decode_transaction(_doc(after={"A": 1})) is None  # a number, not an exact string
    assert decode_transaction(_doc(surprise=True)) is None
    assert decode_transaction(_doc(op="merge")) is None
    assert decode_transaction(_doc(columns={"A": {"type": "NUMBER", "bogus": 1}})) is None
    assert decode_transaction(_doc(position={"scn": "x"})) is None
    assert decode_transaction(b"{not json") is None
    assert decode_transaction(orjson.dumps({"v": 2, "kind": "tx", "changes": []})) is None
    watermark = orjson.dumps({"v": 1, "kind": "watermark", "schema": "HR", "scn": 5,
                              "emitted_at": "2024-01-01T00:00:00+00:00"})  # fmt: skip
    assert decode_transaction(watermark) is None


@pytest.mark.parametrize(
    "columns",
    [
        {},
        {"columns": ColumnInfo(type="NUMBER")},
        # JSON text inside names and values that a byte-level cut would trip over
        {"A}}": ColumnInfo(type="NUMBER"), "B": ColumnInfo(type="DATE")},
        {'q"}}': ColumnInfo(type="RAW", length=2)},
        {"A": ColumnInfo(type="VARCHAR2", charset="}}")},
    ],
)
def test_awkward_column_maps_read_fast_and_the_same(columns: dict[str, ColumnInfo]) -> None:
    image = {name: "1" for name in columns} | {"columns": "x"}
    change = RowChange(op=Operation.INSERT, owner="HR", table="T", after=image, columns=columns)
    data = serde.encode(message(change, change))
    fast = decode_transaction(data)
    assert fast is not None
    assert fast == serde.decode(data) == message(change, change)


def test_changes_with_the_same_column_types_share_one_map() -> None:
    columns = {"A": ColumnInfo(type="NUMBER"), "B": ColumnInfo(type="VARCHAR2", length=9)}
    changes = [
        RowChange(op=Operation.INSERT, owner="HR", table="T", after={"A": str(i)}, columns=columns)
        for i in range(3)
    ]
    fast = decode_transaction(serde.encode(message(*changes)))
    assert fast is not None
    maps = {id(c.columns) for c in fast.changes}
    assert len(maps) == 1 and fast.changes[0].columns == columns
    again = decode_transaction(serde.encode(message(*changes)))
    assert again is not None and again.changes[0].columns is fast.changes[0].columns
    hash(fast.changes[0].columns)  # usable as a cache key


def test_an_image_column_named_columns_with_an_object_value_reads_the_same() -> None:
    value = InvalidText(hex="FF", charset="AL32UTF8")
    change = RowChange(op=Operation.INSERT, owner="HR", table="T", after={"columns": value},
                       columns={"columns": ColumnInfo(type="VARCHAR2")})  # fmt: skip
    data = serde.encode(message(change))
    fast = decode_transaction(data)
    assert fast is None or fast == serde.decode(data)


def test_value_chunks_read_fast_and_the_same() -> None:
    chunk = ValueChunk(schema_name="HR", xid="1.2.3", commit_scn=5, id="0", seq=2, last=True,
                       data='汉字 "q" \\ \x01')  # fmt: skip
    data = serde.encode(chunk)
    assert decode_chunk(data) == serde.decode(data) == chunk
    assert decode_chunk(b"{not json") is None
    assert decode_chunk(data.replace(b'"seq":2', b'"seq":-1')) is None  # serde names it
